//! `constant/polyMesh`: points, faces, owner, neighbour and boundary, read and checked.

use std::path::{Path, PathBuf};
use std::rc::Rc;

use super::dict::{Dict, Item, Parser, header};
use super::files::{Budget, read_foam_file};
use super::lexer::{Lexer, Src, Tok};
use crate::{Error, Result};

/// A boundary patch of `boundary`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BoundaryPatch {
    /// Its name.
    pub name: String,
    /// Its `type` (`wall`, `patch`, `empty`, `processor`, …).
    pub kind: String,
    /// Its groups (`inGroups`), with its type where that is a constraint type.
    pub groups: Vec<String>,
    /// Its first face.
    pub start: usize,
    /// Its number of faces.
    pub size: usize,
}

impl BoundaryPatch {
    /// Whether the patch is a boundary of the domain: not `empty` (the missing direction of
    /// a 2-D case) and not a processor patch of a decomposed case.
    pub fn is_boundary(&self) -> bool {
        !matches!(
            self.kind.as_str(),
            "empty" | "processor" | "processorCyclic"
        )
    }
}

/// A polyMesh as OpenFOAM stores it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PolyMesh {
    /// The points.
    pub points: Vec<[f64; 3]>,
    /// The end of each face in `face_points`.
    pub face_ends: Vec<usize>,
    /// The points of all faces, one face after the other.
    pub face_points: Vec<usize>,
    /// The cell that owns each face (the face's normal points out of it).
    pub owner: Vec<usize>,
    /// The other cell of each internal face (the first `neighbour.len()` faces).
    pub neighbour: Vec<usize>,
    /// The number of cells.
    pub n_cells: usize,
    /// The boundary patches, in order, covering the faces after the internal ones.
    pub patches: Vec<BoundaryPatch>,
}

impl PolyMesh {
    /// The points of face `f`.
    pub fn face(&self, f: usize) -> &[usize] {
        let start = if f == 0 { 0 } else { self.face_ends[f - 1] };
        &self.face_points[start..self.face_ends[f]]
    }

    /// Number of faces.
    pub fn n_faces(&self) -> usize {
        self.face_ends.len()
    }
}

/// The constraint types OpenFOAM adds to a patch's groups.
const CONSTRAINT_TYPES: [&str; 12] = [
    "cyclic",
    "cyclicAMI",
    "cyclicACMI",
    "cyclicSlip",
    "empty",
    "nonuniformTransformCyclic",
    "processor",
    "processorCyclic",
    "symmetryPlane",
    "symmetry",
    "wedge",
    "overset",
];

/// Reads a file of the polyMesh and its header; `Lexer` positioned after the header.
fn open(dir: &Path, name: &str, budget: &Budget) -> Result<(Src, String)> {
    let src = read_foam_file(&dir.join(name), budget)?;
    let class = {
        let mut lx = Lexer::new(&src, budget.left());
        header(&mut lx)?.class
    };
    Ok((src, class))
}

/// Runs `f` over a lexer past the header of `src`, then checks nothing but comments follow.
fn body<T>(src: &Src, budget: &Budget, f: impl FnOnce(&mut Lexer) -> Result<T>) -> Result<T> {
    let mut lx = Lexer::new(src, budget.left());
    header(&mut lx)?;
    let out = f(&mut lx)?;
    let (at, t) = lx.next()?;
    if t != Tok::Eof {
        return Err(lx.err(
            at,
            format!(
                "expected the end of the file after the list, found {}",
                t.describe()
            ),
        ));
    }
    Ok(out)
}

/// Reads the labels of a polyMesh file (`owner`, `neighbour`, the `*ProcAddressing` files).
pub(crate) fn read_labels(
    dir: &Path,
    name: &str,
    expect: Option<usize>,
    range: (i64, i64),
    budget: &Budget,
) -> Result<Vec<i64>> {
    let (src, _) = open(dir, name, budget)?;
    body(&src, budget, |lx| lx.label_list(expect, range, name))
}

/// Converts checked non-negative labels.
fn indices(v: Vec<i64>) -> Vec<usize> {
    v.into_iter().map(|x| x as usize).collect()
}

/// Reads the polyMesh in `dir` (`constant/polyMesh`, or a time's `polyMesh`), with its
/// points from `points_dir` where a moving mesh wrote them there.
pub(crate) fn read_polymesh(dir: &Path, points_dir: &Path, budget: &Budget) -> Result<PolyMesh> {
    let (src, _) = open(points_dir, "points", budget)?;
    let flat = body(&src, budget, |lx| lx.scalar_list(3, None, true, "points"))?;
    let points: Vec<[f64; 3]> = flat.chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect();
    drop(flat);
    let n_points = points.len() as i64;

    let (src, class) = open(dir, "faces", budget)?;
    let (face_ends, face_points) = body(&src, budget, |lx| {
        if class == "faceCompactList" {
            let offsets = lx.label_list(None, (0, i64::MAX), "faces (offsets)")?;
            let flat = lx.label_list(None, (0, n_points), "faces (point labels)")?;
            if offsets.first().is_some_and(|&o| o != 0)
                || offsets.windows(2).any(|w| w[1] < w[0])
                || offsets.last().is_some_and(|&o| o as usize != flat.len())
            {
                return Err(lx.err(
                    0,
                    format!(
                        "faces: the offsets of the compact face list are not 0, non-decreasing, \
                         ending at the {} point labels",
                        flat.len()
                    ),
                ));
            }
            let ends = offsets.iter().skip(1).map(|&o| o as usize).collect();
            Ok((ends, indices(flat)))
        } else {
            let (ends, flat) = lx.label_lists((0, n_points), "faces")?;
            Ok((ends, indices(flat)))
        }
    })?;
    let n_faces = face_ends.len();
    let mut start = 0;
    for (f, &end) in face_ends.iter().enumerate() {
        if end - start < 3 {
            return Err(src.error(format!(
                "face {f} has {} points; expected at least 3",
                end - start
            )));
        }
        start = end;
    }
    drop(src);

    let owner = indices(read_labels(
        dir,
        "owner",
        Some(n_faces),
        (0, n_faces.max(1) as i64),
        budget,
    )?);
    let neighbour = indices(read_labels(
        dir,
        "neighbour",
        None,
        (0, n_faces.max(1) as i64),
        budget,
    )?);
    let n_internal = neighbour.len();
    if n_internal > n_faces {
        return Err(Error::Input {
            path: dir.join("neighbour"),
            line: None,
            column: None,
            message: format!(
                "{n_internal} neighbours for {n_faces} faces; expected at most one per face"
            ),
        });
    }
    let n_cells = owner.iter().chain(&neighbour).max().map_or(0, |&c| c + 1);
    let patches = read_boundary(dir, n_internal, n_faces, budget)?;
    let mesh = PolyMesh {
        points,
        face_ends,
        face_points,
        owner,
        neighbour,
        n_cells,
        patches,
    };
    check_cells(&mesh, dir)?;
    Ok(mesh)
}

/// Every cell has at least 4 faces; an internal face's owner and neighbour differ.
fn check_cells(mesh: &PolyMesh, dir: &Path) -> Result<()> {
    let mut count = vec![0u32; mesh.n_cells];
    for &c in mesh.owner.iter().chain(&mesh.neighbour) {
        count[c] += 1;
    }
    if let Some((c, &k)) = count.iter().enumerate().find(|&(_, &k)| k < 4) {
        return Err(Error::Input {
            path: dir.join("owner"),
            line: None,
            column: None,
            message: format!(
                "cell {c} has {k} faces (in owner and neighbour); expected at least 4 for a \
                 closed cell"
            ),
        });
    }
    if let Some(f) = (0..mesh.neighbour.len()).find(|&f| mesh.owner[f] == mesh.neighbour[f]) {
        return Err(Error::Input {
            path: dir.join("neighbour"),
            line: None,
            column: None,
            message: format!(
                "internal face {f} has cell {} on both sides; expected two different cells",
                mesh.owner[f]
            ),
        });
    }
    Ok(())
}

/// Reads `boundary`: `N ( name { type …; nFaces …; startFace …; } … )`, checked to cover
/// the faces after the `n_internal` internal ones, in order.
pub(crate) fn read_boundary(
    dir: &Path,
    n_internal: usize,
    n_faces: usize,
    budget: &Budget,
) -> Result<Vec<BoundaryPatch>> {
    let src = Rc::new(read_foam_file(&dir.join("boundary"), budget)?);
    let mut lx = Lexer::new(&src, budget.left());
    header(&mut lx)?;
    let mut parser = Parser::new(budget);
    let (at, t) = lx.next()?;
    let n = match t {
        Tok::Num(n) => n.parse::<usize>().ok(),
        _ => None,
    }
    .ok_or_else(|| {
        lx.err(
            at,
            format!(
                "boundary: expected the number of patches, found {}",
                t.describe()
            ),
        )
    })?;
    lx.expect_punct(b'(', "boundary: the list of patches")?;
    let mut patches: Vec<BoundaryPatch> = Vec::new();
    let mut next = n_internal;
    for i in 0..n {
        let (p, t) = lx.next()?;
        let name = match t {
            Tok::Word(w) => w.to_string(),
            Tok::Str(s) => s,
            other => {
                return Err(lx.err(
                    p,
                    format!(
                        "boundary: patch {i} of {n}: expected its name, found {}",
                        other.describe()
                    ),
                ));
            }
        };
        let dict = parser.sub_dict(&src, &mut lx, &format!("boundary: patch {name}"))?;
        let patch = patch_of(&dict, name, &lx, p)?;
        let end = patch.start.saturating_add(patch.size);
        if patch.start != next || end > n_faces {
            return Err(lx.err(
                p,
                format!(
                    "boundary: patch {} has faces {}..{}; expected it to start at face {next} \
                     (patches follow the {n_internal} internal faces and each other) and to end \
                     by face {n_faces}",
                    patch.name, patch.start, end
                ),
            ));
        }
        next = end;
        patches.push(patch);
    }
    lx.expect_punct(b')', &format!("boundary: after the {n} patches"))?;
    if next != n_faces {
        return Err(src.error(format!(
            "the patches end at face {next}, but the mesh has {n_faces} faces; expected the \
             patches to cover every face that has no neighbour"
        )));
    }
    Ok(patches)
}

/// One patch's entries.
fn patch_of(dict: &Dict, name: String, lx: &Lexer, at: usize) -> Result<BoundaryPatch> {
    let number = |key: &str| -> Result<usize> {
        match dict.stream(key).map(|(s, _)| s) {
            Some([Item::Num(n)]) => n.parse().ok(),
            _ => None,
        }
        .ok_or_else(|| {
            lx.err(
                at,
                format!("boundary: patch {name}: expected `{key} N;` with a count N ≥ 0"),
            )
        })
    };
    let kind = dict
        .word("type")
        .ok_or_else(|| lx.err(at, format!("boundary: patch {name}: expected `type TYPE;`")))?
        .to_string();
    let mut groups: Vec<String> = match dict.stream("inGroups") {
        Some((items, _)) => items
            .iter()
            .filter_map(|i| match i {
                Item::Word(w) if !w.starts_with("List<") => Some(w.clone()),
                Item::Str(s) => Some(s.clone()),
                _ => None,
            })
            .collect(),
        None => Vec::new(),
    };
    if CONSTRAINT_TYPES.contains(&kind.as_str()) && !groups.contains(&kind) {
        groups.push(kind.clone());
    }
    Ok(BoundaryPatch {
        start: number("startFace")?,
        size: number("nFaces")?,
        name,
        kind,
        groups,
    })
}

/// The polyMesh directory of a case at `time`: the time's own `polyMesh` where it has
/// `faces` (a mesh that changed), else `constant/polyMesh`; and where its points are (a
/// moving mesh writes only `points` into the time).
pub(crate) fn mesh_dirs(root: &Path, time: &str) -> (PathBuf, PathBuf) {
    let own = root.join(time).join("polyMesh");
    let constant = root.join("constant").join("polyMesh");
    let has = |d: &Path, f: &str| super::files::locate(&d.join(f)).is_some();
    let dir = if has(&own, "faces") {
        own.clone()
    } else {
        constant
    };
    let points = if has(&own, "points") {
        own
    } else {
        dir.clone()
    };
    (dir, points)
}
