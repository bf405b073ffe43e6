//! Decomposed cases: `processor0/` … `processorN-1/`, each with its own polyMesh and time
//! directories, reassembled into the whole mesh with decomposePar's addressing
//! (in each processor's `constant/polyMesh`):
//!
//! - `pointProcAddressing`: the whole mesh's point of each local point;
//! - `faceProcAddressing`: for each local face, the whole mesh's face **plus one**, negative
//!   where the local face is the whole face turned over (the local cell is the whole face's
//!   neighbour: a face between two processors, seen from the neighbour's side);
//! - `cellProcAddressing`: the whole mesh's cell of each local cell;
//! - `boundaryProcAddressing`: the whole mesh's patch of each local patch (-1 for processor
//!   patches).
//!
//! The whole mesh is rebuilt face by face from the processor that owns each face (positive
//! addressing), so it is the mesh decomposePar cut, bit for bit; fields are scattered into
//! it by the same addressing.

use std::path::Path;

use super::fields::{Field, PatchField, read_field};
use super::files::Budget;
use super::polymesh::{BoundaryPatch, PolyMesh, mesh_dirs, read_labels, read_polymesh};
use super::{assemble, field_names, processor_dir, times};
use crate::io::Mesh;
use crate::{Error, Result};

/// One processor's mesh and addressing.
struct Piece {
    mesh: PolyMesh,
    points: Vec<usize>,
    /// Signed, offset by one, as in the file.
    faces: Vec<i64>,
    cells: Vec<usize>,
    patches: Vec<i64>,
}

/// The number of processor directories, checked to be `processor0` … `processorN-1`.
fn count_processors(case_dir: &Path) -> Result<usize> {
    let entries = std::fs::read_dir(case_dir).map_err(|e| Error::Io {
        path: case_dir.into(),
        message: format!("cannot list the case directory: {e}"),
    })?;
    let mut found = Vec::new();
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(k) = name.strip_prefix("processor")
            && let Ok(k) = k.parse::<usize>()
            && e.path().is_dir()
        {
            found.push(k);
        } else if name.starts_with("processors") && e.path().is_dir() {
            return Err(Error::Io {
                path: e.path(),
                message: "a collated decomposition (processorsN/) is not supported; expected \
                          processor0/ … processorN-1/ (decomposePar -fileHandler uncollated)"
                    .into(),
            });
        }
    }
    found.sort_unstable();
    let n = found.last().map_or(0, |&k| k + 1);
    // decomposeParDict, where it says how many there should be.
    let wanted = std::fs::read_to_string(case_dir.join("system").join("decomposeParDict"))
        .ok()
        .and_then(|text| {
            let i = text.find("numberOfSubdomains")?;
            let rest = &text[i + "numberOfSubdomains".len()..];
            rest.split(';').next()?.trim().parse::<usize>().ok()
        });
    let n = n.max(wanted.unwrap_or(0));
    if let Some(k) = (0..n).find(|k| found.binary_search(k).is_err()) {
        let have: Vec<String> = found.iter().map(|k| format!("processor{k}")).collect();
        return Err(Error::Io {
            path: processor_dir(case_dir, k),
            message: format!(
                "the decomposed case has no processor{k}/ (found {}{}); expected processor0/ … \
                 processor{}/",
                if have.is_empty() {
                    "none".to_string()
                } else {
                    have.join(", ")
                },
                wanted.map_or(String::new(), |w| format!(
                    "; system/decomposeParDict says numberOfSubdomains {w}"
                )),
                n - 1
            ),
        });
    }
    if n == 0 {
        return Err(Error::Io {
            path: case_dir.into(),
            message: "no processor0/ directory; expected a decomposed case".into(),
        });
    }
    Ok(n)
}

/// Reads a decomposed case at `time` as one mesh.
pub(super) fn read(
    case_dir: &Path,
    time: &str,
    fields: Option<&[&str]>,
    budget: &Budget,
) -> Result<Mesh> {
    let n = count_processors(case_dir)?;
    let proc0 = processor_dir(case_dir, 0);
    let times0 = times::times_in(&proc0)?;
    let (name, _) = times::find_time(&times0, time)
        .ok_or_else(|| times::missing_time(&proc0, &times0, time))?
        .clone();
    let mut pieces = Vec::with_capacity(n);
    for k in 0..n {
        let root = processor_dir(case_dir, k);
        if !root.join(&name).is_dir() {
            return Err(Error::Io {
                path: root.join(&name),
                message: format!(
                    "processor{k} has no time directory {name} (processor0 has it); expected \
                     every processor to have the same times"
                ),
            });
        }
        let (dir, points_dir) = mesh_dirs(&root, &name);
        let mesh = read_polymesh(&dir, &points_dir, budget)?;
        let addressing = |file: &str, expect: usize, lo: i64| -> Result<Vec<i64>> {
            if super::files::locate(&dir.join(file)).is_none() {
                return Err(Error::Io {
                    path: dir.join(file),
                    message: format!(
                        "no {file} in processor{k}; expected decomposePar's addressing \
                         (pointProcAddressing, faceProcAddressing, cellProcAddressing, \
                         boundaryProcAddressing) to reassemble the mesh"
                    ),
                });
            }
            read_labels(&dir, file, Some(expect), (lo, i64::MAX), budget)
        };
        let points = addressing("pointProcAddressing", mesh.points.len(), 0)?;
        let faces = addressing("faceProcAddressing", mesh.n_faces(), i64::MIN + 1)?;
        if let Some(i) = faces.iter().position(|&f| f == 0) {
            return Err(Error::Input {
                path: dir.join("faceProcAddressing"),
                line: None,
                column: None,
                message: format!(
                    "entry {i} is 0; expected the whole mesh's face plus one, signed (never 0)"
                ),
            });
        }
        let cells = addressing("cellProcAddressing", mesh.n_cells, 0)?;
        let patches = addressing("boundaryProcAddressing", mesh.patches.len(), -1)?;
        pieces.push(Piece {
            mesh,
            points: points.into_iter().map(|p| p as usize).collect(),
            faces,
            cells: cells.into_iter().map(|c| c as usize).collect(),
            patches,
        });
    }
    let whole = whole_mesh(case_dir, &pieces)?;

    let time0 = proc0.join(&name);
    let names = field_names(&time0, fields)?;
    let mut out = Vec::with_capacity(names.len());
    for f in &names {
        let mut parts = Vec::with_capacity(n);
        for (k, piece) in pieces.iter().enumerate() {
            let path = processor_dir(case_dir, k).join(&name).join(f);
            parts.push(read_field(
                &path,
                f,
                piece.mesh.n_cells,
                &piece.mesh.patches,
                budget,
            )?);
        }
        out.push(whole_field(case_dir, &name, f, &pieces, &parts, &whole)?);
    }
    Ok(assemble(whole, out))
}

/// An error about the decomposition as a whole.
fn inconsistent(case_dir: &Path, message: String) -> Error {
    Error::Input {
        path: case_dir.into(),
        line: None,
        column: None,
        message: format!("the processors' addressing does not fit together: {message}"),
    }
}

/// The whole mesh from the pieces.
fn whole_mesh(case_dir: &Path, pieces: &[Piece]) -> Result<PolyMesh> {
    let n_points = pieces
        .iter()
        .flat_map(|p| p.points.iter())
        .max()
        .map_or(0, |&p| p + 1);
    let n_faces = pieces
        .iter()
        .flat_map(|p| p.faces.iter())
        .map(|&f| f.unsigned_abs() as usize)
        .max()
        .unwrap_or(0);
    let n_cells = pieces
        .iter()
        .flat_map(|p| p.cells.iter())
        .max()
        .map_or(0, |&c| c + 1);
    let n_patches = pieces
        .iter()
        .flat_map(|p| p.patches.iter())
        .max()
        .map_or(0, |&q| (q + 1).max(0) as usize);
    // The whole mesh has no more of anything than the pieces together: checked before
    // anything of that size is allocated.
    let sum = |f: &dyn Fn(&Piece) -> usize| pieces.iter().map(f).sum::<usize>();
    if n_points > sum(&|p| p.points.len())
        || n_faces > sum(&|p| p.faces.len())
        || n_cells > sum(&|p| p.cells.len())
        || n_patches > sum(&|p| p.patches.len())
    {
        return Err(inconsistent(
            case_dir,
            "the addressing names more points, faces, cells or patches than the processors \
             have"
                .into(),
        ));
    }

    let mut points = vec![[f64::NAN; 3]; n_points];
    let mut have_point = vec![false; n_points];
    for (k, p) in pieces.iter().enumerate() {
        for (i, &g) in p.points.iter().enumerate() {
            let x = p.mesh.points[i];
            if have_point[g] && points[g].map(f64::to_bits) != x.map(f64::to_bits) {
                return Err(inconsistent(
                    case_dir,
                    format!(
                        "point {g} is at {:?} in one processor and at {x:?} in processor{k}",
                        points[g]
                    ),
                ));
            }
            points[g] = x;
            have_point[g] = true;
        }
    }
    if let Some(g) = have_point.iter().position(|&h| !h) {
        return Err(inconsistent(
            case_dir,
            format!("no processor has point {g}"),
        ));
    }

    // Each whole face from the processor that owns it: (piece, local face).
    let mut source: Vec<Option<(usize, usize)>> = vec![None; n_faces];
    let mut owner = vec![usize::MAX; n_faces];
    let mut neighbour = vec![usize::MAX; n_faces];
    for (k, p) in pieces.iter().enumerate() {
        let n_internal = p.mesh.neighbour.len();
        for (f, &s) in p.faces.iter().enumerate() {
            let g = s.unsigned_abs() as usize - 1;
            let own = p.cells[p.mesh.owner[f]];
            if s > 0 {
                if source[g].is_some() {
                    return Err(inconsistent(
                        case_dir,
                        format!("face {g} is owned by two processors (the second is processor{k})"),
                    ));
                }
                source[g] = Some((k, f));
                owner[g] = own;
                if f < n_internal {
                    neighbour[g] = p.cells[p.mesh.neighbour[f]];
                }
            } else {
                neighbour[g] = own;
            }
        }
    }
    if let Some(g) = source.iter().position(Option::is_none) {
        return Err(inconsistent(
            case_dir,
            format!("no processor owns face {g}"),
        ));
    }
    let n_internal = neighbour.iter().take_while(|&&c| c != usize::MAX).count();
    if let Some(g) = neighbour[n_internal..]
        .iter()
        .position(|&c| c != usize::MAX)
    {
        return Err(inconsistent(
            case_dir,
            format!(
                "face {} has a neighbour but follows boundary face {n_internal}; expected the \
                 internal faces first",
                n_internal + g
            ),
        ));
    }
    neighbour.truncate(n_internal);
    let mut face_ends = Vec::with_capacity(n_faces);
    let mut face_points = Vec::new();
    for s in &source {
        let (k, f) = s.expect("internal: every face has a source");
        let p = &pieces[k];
        face_points.extend(p.mesh.face(f).iter().map(|&v| p.points[v]));
        face_ends.push(face_points.len());
    }

    // The whole mesh's patches: names and types from the processors, faces from the
    // addressing of the patches' faces.
    let mut patches: Vec<Option<BoundaryPatch>> = vec![None; n_patches];
    let mut first = vec![usize::MAX; n_patches];
    let mut size = vec![0usize; n_patches];
    for (k, p) in pieces.iter().enumerate() {
        for (i, lp) in p.mesh.patches.iter().enumerate() {
            let q = p.patches[i];
            if q < 0 {
                continue;
            }
            let q = q as usize;
            match &patches[q] {
                None => patches[q] = Some(lp.clone()),
                Some(known) if known.name != lp.name || known.kind != lp.kind => {
                    return Err(inconsistent(
                        case_dir,
                        format!(
                            "patch {q} is {} ({}) in one processor and {} ({}) in processor{k}",
                            known.name, known.kind, lp.name, lp.kind
                        ),
                    ));
                }
                Some(_) => {}
            }
            for f in lp.start..lp.start + lp.size {
                let g = p.faces[f].unsigned_abs() as usize - 1;
                first[q] = first[q].min(g);
            }
            size[q] += lp.size;
        }
    }
    let mut start = n_internal;
    let mut out = Vec::with_capacity(n_patches);
    for (q, patch) in patches.into_iter().enumerate() {
        let mut patch = patch.ok_or_else(|| {
            inconsistent(
                case_dir,
                format!("no processor has patch {q} of the whole mesh"),
            )
        })?;
        if size[q] > 0 && first[q] != start {
            return Err(inconsistent(
                case_dir,
                format!(
                    "patch {} starts at face {}; expected {start} (after the patches before it)",
                    patch.name, first[q]
                ),
            ));
        }
        patch.start = start;
        patch.size = size[q];
        start += size[q];
        out.push(patch);
    }
    if start != n_faces {
        return Err(inconsistent(
            case_dir,
            format!("the patches end at face {start} of {n_faces}"),
        ));
    }
    let mut cell_seen = vec![false; n_cells];
    for p in pieces {
        for &c in &p.cells {
            cell_seen[c] = true;
        }
    }
    if let Some(c) = cell_seen.iter().position(|&s| !s) {
        return Err(inconsistent(case_dir, format!("no processor has cell {c}")));
    }
    Ok(PolyMesh {
        points,
        face_ends,
        face_points,
        owner,
        neighbour,
        n_cells,
        patches: out,
    })
}

/// A field of the whole mesh from its pieces.
fn whole_field(
    case_dir: &Path,
    time: &str,
    name: &str,
    pieces: &[Piece],
    parts: &[Field],
    whole: &PolyMesh,
) -> Result<Field> {
    let k = parts[0].components;
    let mut cells = vec![0.0; whole.n_cells * k];
    for (piece, part) in pieces.iter().zip(parts) {
        for (i, &c) in piece.cells.iter().enumerate() {
            cells[c * k..(c + 1) * k].copy_from_slice(&part.cells[i * k..(i + 1) * k]);
        }
    }
    let mut patches: Vec<Option<PatchField>> = Vec::with_capacity(whole.patches.len());
    for (q, wp) in whole.patches.iter().enumerate() {
        if !wp.is_boundary() {
            patches.push(None);
            continue;
        }
        let mut kind: Option<String> = None;
        let mut values = vec![0.0; wp.size * k];
        let (mut some, mut faces_with, mut faces_without) = (false, 0usize, 0usize);
        for (piece, part) in pieces.iter().zip(parts) {
            let Some(i) = piece.patches.iter().position(|&g| g == q as i64) else {
                continue;
            };
            let lp = &piece.mesh.patches[i];
            let Some(pf) = &part.patches[i] else { continue };
            kind.get_or_insert_with(|| pf.kind.clone());
            match &pf.values {
                Some(v) => {
                    some = true;
                    for (j, f) in (lp.start..lp.start + lp.size).enumerate() {
                        let g = (piece.faces[f].unsigned_abs() as usize - 1)
                            .checked_sub(wp.start)
                            .filter(|&g| g < wp.size)
                            .ok_or_else(|| {
                                inconsistent(
                                    case_dir,
                                    format!("a face of patch {} lies outside it", wp.name),
                                )
                            })?;
                        values[g * k..(g + 1) * k].copy_from_slice(&v[j * k..(j + 1) * k]);
                    }
                    faces_with += lp.size;
                }
                None => faces_without += lp.size,
            }
        }
        if faces_with > 0 && faces_without > 0 {
            return Err(Error::Input {
                path: case_dir.join(time).join(name),
                line: None,
                column: None,
                message: format!(
                    "patch {} has a value in some processors and none in others",
                    wp.name
                ),
            });
        }
        patches.push(kind.map(|kind| PatchField {
            kind,
            values: (some && faces_without == 0).then_some(values),
        }));
    }
    Ok(Field {
        name: name.to_string(),
        components: k,
        cells,
        patches,
    })
}
