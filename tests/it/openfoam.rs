//! OpenFOAM case directories read natively (`nabla::io::read_openfoam`), on the cases of
//! `tests/data/openfoam_cases/` (made by its `make.sh` with OpenFOAM v1912): every format,
//! decomposed cases, the patches' conditions and values, polyhedra written for VTK, fields
//! written back; and the unhappy paths, each a typed error naming the file.

use std::path::{Path, PathBuf};

use nabla::Error;
use nabla::io::{
    Cells, FieldToWrite, Layout, Mesh, OpenFoamOptions, TimeSelection, openfoam_times, read_mesh,
    read_openfoam, read_openfoam_with, select_openfoam_times, write_openfoam_field, write_vtu,
};

// vtkio reads no .vtu with polyhedra (their `faces` arrays): VTK's own reader checks those.

fn case(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/openfoam_cases")
        .join(name)
}

/// A copy of a test case in a temporary directory, to break.
fn copy(name: &str) -> (tempfile::TempDir, PathBuf) {
    fn rec(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            let t = to.join(e.file_name());
            if e.file_type().unwrap().is_dir() {
                rec(&e.path(), &t);
            } else {
                std::fs::copy(e.path(), &t).unwrap();
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join(name);
    rec(&case(name), &root);
    (dir, root)
}

/// Replaces the first `from` in a text file by `to`.
fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{} lacks {from:?}", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

/// The error of reading `root` at `time`, checked to be about `file` and to say `needle`;
/// returns its message.
fn fails(root: &Path, time: &str, fields: Option<&[&str]>, file: &Path, needle: &str) -> String {
    let err = read_openfoam(root, time, fields).expect_err("the read must fail");
    let text = err.to_string();
    let path = match &err {
        Error::Io { path, .. } | Error::Input { path, .. } => path.clone(),
        other => panic!("expected Error::Io or Error::Input, got {other:?}"),
    };
    assert_eq!(path, file, "{text}");
    assert!(text.contains(needle), "message lacks `{needle}`: {text}");
    text
}

/// The line an `Error::Input` names.
fn line_of(root: &Path, time: &str) -> Option<usize> {
    match read_openfoam(root, time, None) {
        Err(Error::Input { line, .. }) => line,
        other => panic!("expected Error::Input, got {other:?}"),
    }
}

fn cell_faces(cells: &Cells, c: usize) -> Vec<Vec<u64>> {
    // VTK's outward face tables (VTK 9).
    const HEX: [&[usize]; 6] = [
        &[0, 4, 7, 3],
        &[1, 2, 6, 5],
        &[0, 1, 5, 4],
        &[3, 7, 6, 2],
        &[0, 3, 2, 1],
        &[4, 5, 6, 7],
    ];
    const WEDGE: [&[usize]; 5] = [
        &[0, 2, 1],
        &[3, 4, 5],
        &[0, 1, 4, 3],
        &[1, 2, 5, 4],
        &[2, 0, 3, 5],
    ];
    const PYR: [&[usize]; 5] = [
        &[0, 3, 2, 1],
        &[0, 1, 4],
        &[1, 2, 4],
        &[2, 3, 4],
        &[3, 0, 4],
    ];
    const TET: [&[usize]; 4] = [&[0, 1, 3], &[1, 2, 3], &[2, 0, 3], &[0, 2, 1]];
    let start = if c == 0 {
        0
    } else {
        cells.offsets[c - 1] as usize
    };
    let v = &cells.connectivity[start..cells.offsets[c] as usize];
    let table: &[&[usize]] = match cells.types[c] {
        12 => &HEX,
        13 => &WEDGE,
        14 => &PYR,
        10 => &TET,
        42 => {
            return cells
                .polyhedron_faces(c)
                .expect("a polyhedron has faces")
                .into_iter()
                .map(|f| f.to_vec())
                .collect();
        }
        t => panic!("unexpected cell type {t}"),
    };
    table
        .iter()
        .map(|f| f.iter().map(|&i| v[i]).collect())
        .collect()
}

/// The volume of each cell from its outward faces (divergence theorem over triangle fans):
/// positive for every cell exactly when the faces are outward.
fn volumes(mesh: &Mesh) -> Vec<f64> {
    let cells = mesh.cells.as_ref().unwrap();
    (0..cells.len())
        .map(|c| {
            let faces = cell_faces(cells, c);
            let p = |i: u64| mesh.points[i as usize];
            let mut v = 0.0;
            for f in &faces {
                let a = p(f[0]);
                for k in 1..f.len() - 1 {
                    let (b, d) = (p(f[k]), p(f[k + 1]));
                    let cross = [
                        b[1] * d[2] - b[2] * d[1],
                        b[2] * d[0] - b[0] * d[2],
                        b[0] * d[1] - b[1] * d[0],
                    ];
                    v += a[0] * cross[0] + a[1] * cross[1] + a[2] * cross[2];
                }
            }
            v / 6.0
        })
        .collect()
}

/// The sorted point set of each cell.
fn point_sets(cells: &Cells) -> Vec<Vec<u64>> {
    let mut start = 0;
    cells
        .offsets
        .iter()
        .map(|&end| {
            let mut s = cells.connectivity[start..end as usize].to_vec();
            start = end as usize;
            s.sort_unstable();
            s.dedup();
            s
        })
        .collect()
}

/// What VTK's own reader finds in a .vtu (tests/vtk_polyhedra.py); `None` where python3's
/// vtk is missing (outside CI).
fn vtk_cells(path: &Path) -> Option<serde_json::Value> {
    let out = super::io::run_vtk_python("vtk_polyhedra.py", &[path.as_os_str()], "VTK's reader")?;
    Some(serde_json::from_slice(&out.stdout).unwrap())
}

/// The cells of `mesh` are those of foamToVTK's `.vtu` (which vtkio cannot read: it has
/// polyhedra): types, point sets, and the volumes VTK computes (foamToVTK v1912 writes
/// wedges in VTK 8's order, which VTK 9 gives a negative volume: compared without sign).
fn same_cells_as_foam_to_vtk(mesh: &Mesh, vtu: &Path) {
    let Some(theirs) = vtk_cells(vtu) else { return };
    let cells = mesh.cells.as_ref().unwrap();
    let types: Vec<u64> = theirs["types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_u64().unwrap())
        .collect();
    assert_eq!(
        types,
        cells.types.iter().map(|&t| t as u64).collect::<Vec<_>>()
    );
    let sets: Vec<Vec<u64>> = theirs["point_sets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            s.as_array()
                .unwrap()
                .iter()
                .map(|p| p.as_u64().unwrap())
                .collect()
        })
        .collect();
    assert_eq!(sets, point_sets(cells));
    for (c, (v, ours)) in theirs["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .zip(volumes(mesh))
        .enumerate()
    {
        let v = v.as_f64().unwrap().abs();
        assert!(
            (v - ours).abs() < 1e-6 * ours,
            "cell {c}: VTK {v}, ours {ours}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Happy paths.

#[test]
fn cavity_ascii_has_the_mesh_the_fields_and_the_patches() {
    let mesh = read_openfoam(&case("cavity"), "0.01", None).unwrap();
    assert_eq!(mesh.points.len(), 882);
    let cells = mesh.cells.as_ref().unwrap();
    assert_eq!(cells.len(), 400);
    assert!(cells.types.iter().all(|&t| t == 12), "all hexahedra");
    assert!(cells.faces.is_empty() && cells.face_offsets.is_empty());
    // Every vol field of the time, by name; phi (a surface field) is not one.
    let names: Vec<&str> = mesh.cell_data.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["C", "U", "grad(U)", "p"]);
    let comps: Vec<usize> = mesh.cell_data.iter().map(|a| a.components).collect();
    assert_eq!(comps, [3, 3, 9, 1]);
    // 0.01/U, first cell: (0.0002133 -0.000317516 0).
    assert_eq!(
        &mesh.cell_array("U").unwrap().values[..3],
        &[0.0002133, -0.000317516, 0.0]
    );
    // frontAndBack is empty: the case is 2-D, the patch is no boundary.
    let names: Vec<&str> = mesh.patches.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["movingWall", "fixedWalls"]);
    let wall = &mesh.patches[0];
    assert_eq!(wall.faces.len(), 20);
    assert!(wall.faces.types.iter().all(|&t| t == 7));
    assert_eq!(wall.condition("U"), Some("fixedValue"));
    assert_eq!(wall.condition("p"), Some("zeroGradient"));
    assert_eq!(wall.condition("C"), Some("calculated"));
    let u = wall.face_array("U").unwrap();
    assert_eq!(
        u.values,
        [1.0, 0.0, 0.0].repeat(20),
        "uniform (1 0 0) expanded"
    );
    assert!(wall.face_array("p").is_none(), "zeroGradient has no value");
    assert_eq!(mesh.patches[1].faces.len(), 60);
    assert_eq!(mesh.patches[1].condition("U"), Some("noSlip"));
    // Patch faces lie on the wall y = 0.1, in the mesh's point numbering.
    for &p in &wall.faces.connectivity {
        assert_eq!(mesh.points[p as usize][1], 0.1);
    }
    // Cell centres of the parallelepipeds are the means of their points (to round-off):
    // C from writeCellCentres.
    let c = &mesh.cell_array("C").unwrap().values;
    for (i, m) in mesh.cell_centroids().iter().enumerate() {
        for d in 0..3 {
            assert!((m[d] - c[3 * i + d]).abs() < 1e-6, "cell {i}: {m:?}");
        }
    }
    assert!(volumes(&mesh).iter().all(|&v| v > 0.0), "outward faces");
}

#[test]
fn cell_centres_of_every_shape_are_openfoams() {
    // io::geometry's centres (primitives by VTK's face tables, polyhedra by their face
    // stream) against OpenFOAM's writeCellCentres (C, written with 6 digits).
    for (name, time) in [("cavity", "0.01"), ("mixed", "0"), ("dual", "0")] {
        let mesh = read_openfoam(&case(name), time, Some(&["C"])).unwrap();
        let c = &mesh.cell_array("C").unwrap().values;
        for (i, m) in nabla::io::geometry::cell_centres(&mesh).iter().enumerate() {
            for d in 0..3 {
                let foam = c[3 * i + d];
                assert!(
                    (m[d] - foam).abs() <= 5e-6 * foam.abs().max(1e-2),
                    "{name} cell {i}: {m:?} vs OpenFOAM's {:?}",
                    &c[3 * i..3 * i + 3]
                );
            }
        }
    }
}

#[test]
fn cavity_cells_and_values_match_foam_to_vtk() {
    let ours = read_openfoam(&case("cavity"), "0.01", None).unwrap();
    let vtk = read_mesh(&case("cavity/VTK/cavity_2/internal.vtu")).unwrap();
    assert_eq!(ours.num_cells(), vtk.num_cells());
    assert_eq!(ours.points.len(), vtk.points.len());
    for (a, b) in ours.points.iter().zip(&vtk.points) {
        for d in 0..3 {
            assert!(
                (a[d] - b[d]).abs() <= 1e-7 * a[d].abs().max(1e-3),
                "{a:?} {b:?}"
            );
        }
    }
    assert_eq!(
        point_sets(ours.cells.as_ref().unwrap()),
        point_sets(vtk.cells.as_ref().unwrap())
    );
    for name in ["p", "U", "grad(U)", "C"] {
        let a = ours.cell_array(name).unwrap();
        let b = vtk.cell_array(name).unwrap();
        assert_eq!(a.components, b.components, "{name}");
        for (x, y) in a.values.iter().zip(&b.values) {
            // foamToVTK writes Float32.
            assert!(
                (x - y).abs() <= 1e-6 * x.abs().max(1e-30),
                "{name}: {x} {y}"
            );
        }
    }
}

#[test]
fn binary_and_gzipped_cases_read_bit_for_bit_as_the_ascii_one() {
    for time in ["0", "0.005", "0.01"] {
        let ascii = read_openfoam(&case("cavity"), time, None).unwrap();
        let binary = read_openfoam(&case("cavity_binary"), time, None).unwrap();
        let gz = read_openfoam(&case("cavity_gz"), time, None).unwrap();
        assert!(ascii == binary, "binary differs at {time}");
        assert!(ascii == gz, "gzipped differs at {time}");
    }
}

#[test]
fn decomposed_case_reassembles_bit_for_bit_as_the_reconstructed_one() {
    for time in ["0", "0.005", "0.01"] {
        // grad(U)'s extrapolatedCalculated patches are evaluated anew by decomposePar (the
        // values in the files differ): compared below without them.
        let fields: &[&str] = match time {
            "0" => &["S", "T", "U", "k", "p"],
            "0.005" => &["U", "p"],
            _ => &["C", "U", "p"],
        };
        let whole = read_openfoam(&case("cavity"), time, Some(fields)).unwrap();
        let parts = read_openfoam(&case("cavity_decomposed"), time, Some(fields)).unwrap();
        assert!(whole == parts, "decomposed differs at {time}");
    }
    let whole = read_openfoam(&case("cavity"), "0.01", Some(&["grad(U)"])).unwrap();
    let parts = read_openfoam(&case("cavity_decomposed"), "0.01", Some(&["grad(U)"])).unwrap();
    assert_eq!(whole.cell_data, parts.cell_data);
    // Forced either way.
    let opts = OpenFoamOptions {
        fields: Some(&["U"]),
        layout: Layout::Decomposed,
    };
    let d = read_openfoam_with(&case("cavity_decomposed"), "latest", &opts).unwrap();
    assert_eq!(d.num_cells(), 400);
    let opts = OpenFoamOptions {
        fields: None,
        layout: Layout::Reconstructed,
    };
    let err = read_openfoam_with(&case("cavity_decomposed"), "0.01", &opts).unwrap_err();
    assert!(
        err.to_string().contains("no time directory `0.01`"),
        "{err}"
    );
}

#[test]
fn times_are_sorted_by_value_with_latest_all_and_lists() {
    let want = vec![
        ("0".to_string(), 0.0),
        ("0.005".to_string(), 0.005),
        ("0.01".to_string(), 0.01),
    ];
    assert_eq!(openfoam_times(&case("cavity")).unwrap(), want);
    // A decomposed case: the times of processor0.
    assert_eq!(openfoam_times(&case("cavity_decomposed")).unwrap(), want);
    let sel = |s: TimeSelection| select_openfoam_times(&case("cavity"), &s).unwrap();
    assert_eq!(sel(TimeSelection::Latest), want[2..]);
    assert_eq!(sel(TimeSelection::All), want);
    // By name or by value.
    assert_eq!(
        sel(TimeSelection::List(vec!["0.010".into(), "0".into()])),
        vec![want[2].clone(), want[0].clone()]
    );
    let latest = read_openfoam(&case("cavity"), "latest", None).unwrap();
    assert!(latest == read_openfoam(&case("cavity"), "0.01", None).unwrap());
    let err =
        select_openfoam_times(&case("cavity"), &TimeSelection::List(vec!["7".into()])).unwrap_err();
    assert!(err.to_string().contains("0, 0.005, 0.01"), "{err}");
}

#[test]
fn symm_tensor_field_expands_to_nine_components_with_its_patch_values() {
    let mesh = read_openfoam(&case("cavity"), "0", Some(&["S"])).unwrap();
    let s = mesh.cell_array("S").unwrap();
    assert_eq!(s.components, 9);
    // make_fields.py: cell c = (i j 0.5c i+j -c 0.25ij), i = c % 20, j = c / 20.
    let c = 47;
    let (i, j) = ((c % 20) as f64, (c / 20) as f64);
    let (xx, xy, xz, yy, yz, zz) = (i, j, 0.5 * c as f64, i + j, -(c as f64), 0.25 * i * j);
    assert_eq!(
        &s.values[9 * c..9 * c + 9],
        &[xx, xy, xz, xy, yy, yz, xz, yz, zz]
    );
    let wall = &mesh.patches[0];
    let v = &wall.face_array("S").unwrap().values;
    // Face k: (k k+1 k+2 k+3 k+4 k+5), nonuniform.
    let k = 3.0;
    assert_eq!(
        &v[27..36],
        &[
            k,
            k + 1.0,
            k + 2.0,
            k + 1.0,
            k + 3.0,
            k + 4.0,
            k + 2.0,
            k + 4.0,
            k + 5.0
        ]
    );
    let fixed = mesh.patches[1].face_array("S").unwrap();
    assert_eq!(
        &fixed.values[..9],
        &[1.0, 2.0, 3.0, 2.0, 4.0, 5.0, 3.0, 5.0, 6.0]
    );
}

#[test]
fn includes_variables_groups_and_regular_expressions_find_each_patch() {
    let mesh = read_openfoam(&case("cavity"), "0", Some(&["T", "k", "U"])).unwrap();
    // T: #include "include/initialConditions" (Tinit 300), internalField uniform $Tinit.
    let t = mesh.cell_array("T").unwrap();
    assert!(t.values.len() == 400 && t.values.iter().all(|&v| v == 300.0));
    let (moving, fixed) = (&mesh.patches[0], &mesh.patches[1]);
    // movingWall by name (beats the group wall): fixedValue uniform $Twall = 310.
    assert_eq!(moving.condition("T"), Some("fixedValue"));
    assert_eq!(moving.face_array("T").unwrap().values, vec![310.0; 20]);
    // fixedWalls by its group wall: zeroGradient, no value.
    assert_eq!(fixed.condition("T"), Some("zeroGradient"));
    assert!(fixed.face_array("T").is_none());
    // k: ".*" then "(movingWall|fixedWalls)": the last pattern that matches wins.
    for p in [moving, fixed] {
        assert_eq!(p.condition("k"), Some("fixedValue"));
        assert!(p.face_array("k").unwrap().values.iter().all(|&v| v == 0.25));
    }
    // Every field's condition is listed, with or without a value.
    assert_eq!(fixed.conditions.len(), 3);
    assert_eq!(fixed.condition("U"), Some("noSlip"));
    assert!(fixed.face_array("U").is_none(), "0/U's noSlip has no value");
}

#[test]
fn mixed_cells_are_vtk_primitives_or_polyhedra_with_outward_faces() {
    let mesh = read_openfoam(&case("mixed"), "0", None).unwrap();
    let cells = mesh.cells.as_ref().unwrap();
    // make_fields.py: 4 hexahedra, a polyhedron of 9 faces, 6 + 1 pyramids, 2 prisms, 10 tets.
    let count = |t: u8| cells.types.iter().filter(|&&x| x == t).count();
    assert_eq!(
        [count(12), count(42), count(14), count(13), count(10)],
        [4, 1, 7, 2, 10]
    );
    let poly = cells.types.iter().position(|&t| t == 42).unwrap();
    assert_eq!(cells.polyhedron_faces(poly).unwrap().len(), 9);
    assert_eq!(point_sets(cells)[poly].len(), 13);
    // The volumes from our outward faces are OpenFOAM's (writeCellVolumes), all positive.
    let v = &mesh.cell_array("V").unwrap().values;
    for (c, (ours, foam)) in volumes(&mesh).iter().zip(v).enumerate() {
        assert!(
            (ours - foam).abs() < 1e-5 * foam,
            "cell {c}: {ours} vs {foam}"
        );
    }
    // The same cells as foamToVTK.
    same_cells_as_foam_to_vtk(&mesh, &case("mixed/VTK/mixed_0/internal.vtu"));
    // Patches: inlet (x = -1, 4 quads), outlet (x = 4: 2 triangles), walls.
    let names: Vec<&str> = mesh.patches.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["inlet", "outlet", "walls"]);
    assert_eq!(mesh.patches[0].faces.len(), 4);
    assert_eq!(mesh.patches[1].faces.len(), 2);
    assert_eq!(mesh.patches[2].condition("C"), Some("calculated"));
}

#[test]
fn poly_dual_mesh_keeps_inner_hexahedra_and_polyhedra_filling_the_cube() {
    let mesh = read_openfoam(&case("dual"), "0", None).unwrap();
    let cells = mesh.cells.as_ref().unwrap();
    assert_eq!(cells.types.iter().filter(|&&t| t == 12).count(), 16);
    same_cells_as_foam_to_vtk(&mesh, &case("dual/VTK/dual_0/internal.vtu"));
    let v = volumes(&mesh);
    assert!(v.iter().all(|&x| x > 0.0), "{v:?}");
    let total: f64 = v.iter().sum();
    assert!((total - 1.0).abs() < 1e-12, "the unit cube: {total}");
}

#[test]
fn polyhedra_written_as_vtu_read_back_in_vtk_with_their_faces_and_volumes() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["mixed", "dual"] {
        let mesh = read_openfoam(&case(name), "0", None).unwrap();
        let path = dir.path().join(format!("{name}.vtu"));
        write_vtu(&path, &mesh, &[]).unwrap();
        let cells = mesh.cells.as_ref().unwrap();
        let Some(out) = super::io::run_vtk_python(
            "vtk_polyhedra.py",
            &[path.as_os_str()],
            "VTK's reader of polyhedra",
        ) else {
            return;
        };
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(json["cells"], cells.len());
        let types: Vec<u64> = cells.types.iter().map(|&t| t as u64).collect();
        let got: Vec<u64> = json["types"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_u64().unwrap())
            .collect();
        assert_eq!(got, types);
        let faces: Vec<u64> = (0..cells.len())
            .map(|c| cell_faces(cells, c).len() as u64)
            .collect();
        let got: Vec<u64> = json["faces"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_u64().unwrap())
            .collect();
        assert_eq!(got, faces, "{name}: faces per cell as VTK reads them");
        for (c, (v, ours)) in json["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .zip(volumes(&mesh))
            .enumerate()
        {
            let v = v.as_f64().unwrap();
            assert!(
                (v - ours).abs() < 1e-9,
                "{name} cell {c}: VTK {v}, ours {ours}"
            );
        }
    }
}

#[test]
fn fields_written_back_read_back_exactly() {
    let (_tmp, root) = copy("cavity");
    let mesh = read_openfoam(&root, "0.01", Some(&["U", "p"])).unwrap();
    let u = mesh.cell_array("U").unwrap();
    let walls: Vec<Vec<f64>> = mesh
        .patches
        .iter()
        .map(|p| (0..3 * p.faces.len()).map(|i| i as f64 / 7.0).collect())
        .collect();
    let patches: Vec<(&str, &[f64])> = mesh
        .patches
        .iter()
        .zip(&walls)
        .map(|(p, v)| (p.name.as_str(), v.as_slice()))
        .collect();
    let doubled: Vec<f64> = u.values.iter().map(|v| v * 2.0 + 1e-17).collect();
    let field = FieldToWrite {
        name: "U_nabla",
        components: 3,
        cells: &doubled,
        patches: &patches,
        dimensions: [0.0, 1.0, -1.0, 0.0, 0.0, 0.0, 0.0],
    };
    let path = write_openfoam_field(&root, "0.01", &field).unwrap();
    assert_eq!(path, root.join("0.01/U_nabla"));
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("class       volVectorField;"));
    assert!(text.contains("dimensions      [0 1 -1 0 0 0 0];"));
    assert!(text.contains("frontAndBack\n    {\n        type            empty;"));
    let back = read_openfoam(&root, "0.01", Some(&["U_nabla"])).unwrap();
    assert_eq!(back.cell_array("U_nabla").unwrap().values, doubled);
    for (p, v) in back.patches.iter().zip(&walls) {
        assert_eq!(p.condition("U_nabla"), Some("calculated"));
        assert_eq!(&p.face_array("U_nabla").unwrap().values, v);
    }
    // A symmetric tensor into a new time directory; it reads back as 9 components.
    let n = mesh.num_cells();
    let s: Vec<f64> = (0..6 * n).map(|i| i as f64 * 0.1).collect();
    let walls6: Vec<Vec<f64>> = mesh
        .patches
        .iter()
        .map(|p| vec![0.5; 6 * p.faces.len()])
        .collect();
    let patches6: Vec<(&str, &[f64])> = mesh
        .patches
        .iter()
        .zip(&walls6)
        .map(|(p, v)| (p.name.as_str(), v.as_slice()))
        .collect();
    let field = FieldToWrite {
        name: "S_nabla",
        components: 6,
        cells: &s,
        patches: &patches6,
        ..Default::default()
    };
    write_openfoam_field(&root, "0.02", &field).unwrap();
    let back = read_openfoam(&root, "0.02", Some(&["S_nabla"])).unwrap();
    let got = &back.cell_array("S_nabla").unwrap().values;
    let x = |i: usize| s[i];
    assert_eq!(
        &got[9..18],
        &[x(6), x(7), x(8), x(7), x(9), x(10), x(8), x(10), x(11)]
    );
    // A second write replaces the file.
    write_openfoam_field(&root, "0.02", &field).unwrap();
}

#[test]
fn write_back_refuses_wrong_counts_missing_patches_links_and_decomposed_cases() {
    let (_tmp, root) = copy("cavity");
    let cells = vec![1.0; 400];
    let walls = [1.0; 20];
    let fixed = [1.0; 60];
    let good: [(&str, &[f64]); 2] = [("movingWall", &walls), ("fixedWalls", &fixed)];
    let field = |cells: &'static [f64], patches| FieldToWrite {
        name: "q",
        components: 1,
        cells,
        patches,
        ..Default::default()
    };
    let cells: &'static [f64] = Box::leak(cells.into_boxed_slice());
    let msg = |f: &FieldToWrite| {
        write_openfoam_field(&root, "0.01", f)
            .unwrap_err()
            .to_string()
    };
    assert!(msg(&field(&cells[..399], &good)).contains("399 cell values; expected 400"));
    assert!(msg(&field(cells, &good[..1])).contains("no values for patch fixedWalls"));
    let bad: [(&str, &[f64]); 3] = [good[0], good[1], ("nowhere", &walls)];
    assert!(msg(&field(cells, &bad)).contains("no patch `nowhere`"));
    let short: [(&str, &[f64]); 2] = [("movingWall", &walls[..19]), good[1]];
    assert!(msg(&field(cells, &short)).contains("patch movingWall: 19 values; expected 20"));
    let nan = Box::leak(vec![f64::NAN; 400].into_boxed_slice());
    assert!(msg(&field(nan, &good)).contains("expected finite numbers"));
    assert!(
        msg(&FieldToWrite {
            components: 2,
            ..field(cells, &good)
        })
        .contains("2 components")
    );
    assert!(
        msg(&FieldToWrite {
            name: "../x",
            ..field(cells, &good)
        })
        .contains("not a field name")
    );
    // A symlinked target is refused, its target untouched.
    let outside = root.join("outside");
    std::fs::write(&outside, "keep").unwrap();
    std::os::unix::fs::symlink(&outside, root.join("0.01/q")).unwrap();
    assert!(msg(&field(cells, &good)).contains("symbolic link"));
    assert_eq!(std::fs::read_to_string(&outside).unwrap(), "keep");
    // A gzipped copy OpenFOAM would read instead.
    std::fs::write(root.join("0.005/q.gz"), "x").unwrap();
    let err = write_openfoam_field(&root, "0.005", &field(cells, &good)).unwrap_err();
    assert!(err.to_string().contains("remove it first"), "{err}");
    // A decomposed case.
    let err =
        write_openfoam_field(&case("cavity_decomposed"), "0.01", &field(cells, &good)).unwrap_err();
    assert!(err.to_string().contains("reconstructPar"), "{err}");
}

// ---------------------------------------------------------------------------------------
// Unhappy paths: a typed error naming the file (and the line where there is one).

#[test]
fn a_truncated_list_is_an_error_at_its_file() {
    let (_tmp, root) = copy("cavity");
    let points = root.join("constant/polyMesh/points");
    let text = std::fs::read_to_string(&points).unwrap();
    std::fs::write(&points, &text[..text.len() / 2]).unwrap();
    fails(&root, "0", None, &points, "truncated");
    // Binary, cut inside the raw bytes.
    let (_tmp, root) = copy("cavity_binary");
    let owner = root.join("constant/polyMesh/owner");
    let bytes = std::fs::read(&owner).unwrap();
    std::fs::write(&owner, &bytes[..bytes.len() - 900]).unwrap();
    fails(&root, "0", None, &owner, "truncated");
}

#[test]
fn a_count_that_disagrees_with_the_list_is_an_error_at_its_line() {
    // The list says more than it has: the count does not fit in the file.
    let (_tmp, root) = copy("cavity");
    let owner = root.join("constant/polyMesh/owner");
    edit(&owner, "\n1640\n(", "\n1642\n(");
    fails(&root, "0", None, &owner, "expected 1640");
    // The list has more than it says.
    let (_tmp, root) = copy("cavity");
    let points = root.join("constant/polyMesh/points");
    edit(&points, "\n882\n(", "\n881\n(");
    let text = fails(&root, "0", None, &points, "more entries than its count");
    assert!(
        text.contains(":902:"),
        "the line of the extra entry: {text}"
    );
    // A field with fewer values than cells.
    let (_tmp, root) = copy("cavity");
    let p = root.join("0.01/p");
    let text = std::fs::read_to_string(&p).unwrap();
    let first = text
        .lines()
        .skip_while(|l| *l != "(")
        .nth(1)
        .unwrap()
        .to_string();
    edit(&p, &format!("\n400\n(\n{first}\n"), "\n399\n(\n");
    fails(&root, "0.01", Some(&["p"]), &p, "399 values; expected 400");
    // A patch value with the wrong count.
    let (_tmp, root) = copy("cavity");
    let s = root.join("0/S");
    edit(&s, "\n20\n(\n(0 1 2 3 4 5)\n", "\n19\n(\n");
    fails(&root, "0", Some(&["S"]), &s, "19 values; expected 20");
}

#[test]
fn a_binary_file_read_as_ascii_and_the_reverse_are_errors() {
    let (_tmp, root) = copy("cavity_binary");
    let points = root.join("constant/polyMesh/points");
    let mut bytes = std::fs::read(&points).unwrap();
    let at = bytes.windows(6).position(|w| w == b"binary").unwrap();
    bytes.splice(at..at + 6, b"ascii ".iter().copied());
    std::fs::write(&points, bytes).unwrap();
    fails(&root, "0", None, &points, "binary file read as ASCII");

    let (_tmp, root) = copy("cavity");
    let owner = root.join("constant/polyMesh/owner");
    edit(&owner, "format      ascii;", "format      binary;");
    fails(&root, "0", None, &owner, "binary");
    // A field too.
    let (_tmp, root) = copy("cavity");
    let u = root.join("0.01/U");
    edit(&u, "format      ascii;", "format      binary;");
    fails(&root, "0.01", Some(&["U"]), &u, "binary");
}

#[test]
fn binary_files_with_64_bit_labels_and_32_bit_scalars_read() {
    // Rewrite the binary owner with 64-bit labels, the binary points with 32-bit scalars.
    let (_tmp, root) = copy("cavity_binary");
    let widen = |name: &str, from: usize, to: usize, arch: &str| {
        let path = root.join("constant/polyMesh").join(name);
        let bytes = std::fs::read(&path).unwrap();
        let open = bytes.windows(2).position(|w| w == b"\n(").unwrap() + 2;
        let head = String::from_utf8(bytes[..open].to_vec()).unwrap();
        let n: usize = head[..open - 2]
            .rsplit('\n')
            .next()
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let count = if name == "points" { 3 * n } else { n };
        let raw = &bytes[open..open + from * count];
        let mut out = head.replace("label=32;scalar=64", arch).into_bytes();
        for c in raw.chunks_exact(from) {
            match (from, to) {
                (4, 8) => {
                    out.extend((i32::from_le_bytes(c.try_into().unwrap()) as i64).to_le_bytes())
                }
                (8, 4) => {
                    out.extend((f64::from_le_bytes(c.try_into().unwrap()) as f32).to_le_bytes())
                }
                _ => unreachable!(),
            }
        }
        out.extend_from_slice(&bytes[open + from * count..]);
        std::fs::write(&path, out).unwrap();
    };
    widen("owner", 4, 8, "label=64;scalar=64");
    widen("points", 8, 4, "label=32;scalar=32");
    let got = read_openfoam(&root, "0.01", Some(&["p"])).unwrap();
    let want = read_openfoam(&case("cavity"), "0.01", Some(&["p"])).unwrap();
    assert_eq!(got.cells, want.cells);
    for (a, b) in got.points.iter().zip(&want.points) {
        for d in 0..3 {
            assert_eq!(a[d], b[d] as f32 as f64);
        }
    }
}

#[test]
fn a_missing_time_field_owner_or_patch_entry_is_an_error_naming_it() {
    let root = case("cavity");
    let text = fails(&root, "7", None, &root, "no time directory `7`");
    assert!(text.contains("0, 0.005, 0.01"), "{text}");
    let text = fails(
        &root,
        "0.01",
        Some(&["nope"]),
        &root.join("0.01/nope"),
        "no such field",
    );
    assert!(
        text.contains("C, U, grad(U), p"),
        "lists the fields there: {text}"
    );

    let (_tmp, root) = copy("cavity");
    let owner = root.join("constant/polyMesh/owner");
    std::fs::remove_file(&owner).unwrap();
    fails(&root, "0", None, &owner, "no such file");

    let (_tmp, root) = copy("cavity");
    let u = root.join("0.01/U");
    edit(&u, "    fixedWalls\n", "    someOtherWalls\n");
    fails(
        &root,
        "0.01",
        Some(&["U"]),
        &u,
        "no entry for patch `fixedWalls`",
    );
}

#[test]
fn a_missing_processor_or_addressing_is_an_error_naming_it() {
    let (_tmp, root) = copy("cavity_decomposed");
    std::fs::remove_dir_all(root.join("processor1")).unwrap();
    let text = fails(
        &root,
        "0.01",
        None,
        &root.join("processor1"),
        "no processor1/",
    );
    assert!(text.contains("numberOfSubdomains 2"), "{text}");

    let (_tmp, root) = copy("cavity_decomposed");
    let file = root.join("processor0/constant/polyMesh/cellProcAddressing");
    std::fs::remove_file(&file).unwrap();
    fails(
        &root,
        "0.01",
        None,
        &file,
        "no cellProcAddressing in processor0",
    );

    let (_tmp, root) = copy("cavity_decomposed");
    std::fs::remove_dir_all(root.join("processor1/0.01")).unwrap();
    fails(
        &root,
        "0.01",
        None,
        &root.join("processor1/0.01"),
        "processor1 has no time",
    );
}

#[test]
fn faces_out_of_range_and_cells_with_too_few_faces_are_errors() {
    let (_tmp, root) = copy("cavity");
    let faces = root.join("constant/polyMesh/faces");
    edit(&faces, "4(1 22 463 442)", "4(1 22 99999 442)");
    let text = fails(&root, "0", None, &faces, "99999");
    assert!(text.contains("expected a label in 0..881"), "{text}");
    assert!(line_of(&root, "0").is_some());

    // Cell 0 loses three of its six faces to cell 1.
    let (_tmp, root) = copy("cavity");
    let owner = root.join("constant/polyMesh/owner");
    let text = std::fs::read_to_string(&owner).unwrap();
    let mut changed = 0;
    let lines: Vec<String> = text
        .lines()
        .map(|l| {
            if l == "0" && changed < 3 {
                changed += 1;
                "1".to_string()
            } else {
                l.to_string()
            }
        })
        .collect();
    std::fs::write(&owner, lines.join("\n")).unwrap();
    fails(&root, "0", None, &owner, "cell 0 has 3 faces");

    // A face of two points.
    let (_tmp, root) = copy("cavity");
    let faces = root.join("constant/polyMesh/faces");
    edit(&faces, "4(1 22 463 442)", "2(1 22)");
    fails(&root, "0", None, &faces, "face 0 has 2 points");
}

#[test]
fn nan_in_a_field_is_an_error_at_its_entry() {
    let (_tmp, root) = copy("cavity");
    let p = root.join("0.01/p");
    let text = std::fs::read_to_string(&p).unwrap();
    let first = text
        .lines()
        .skip_while(|l| *l != "(")
        .nth(1)
        .unwrap()
        .to_string();
    edit(&p, &format!("(\n{first}\n"), "(\nnan\n");
    let text = fails(&root, "0.01", Some(&["p"]), &p, "expected finite numbers");
    assert!(text.contains("value 0"), "{text}");
    assert!(text.contains("/p:21:"), "the line of internalField: {text}");
}

#[test]
fn a_fifo_or_a_link_to_dev_zero_is_refused_not_read() {
    let (_tmp, root) = copy("cavity");
    let points = root.join("constant/polyMesh/points");
    std::fs::remove_file(&points).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &points).unwrap();
    fails(&root, "0", None, &points, "a device");
    std::fs::remove_file(&points).unwrap();
    let status = std::process::Command::new("mkfifo")
        .arg(&points)
        .status()
        .unwrap();
    assert!(status.success());
    fails(&root, "0", None, &points, "FIFO");
    // A field too.
    let p = root.join("0.01/p");
    std::fs::remove_file(&p).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &p).unwrap();
    std::fs::remove_file(&points).unwrap();
    std::fs::copy(case("cavity/constant/polyMesh/points"), &points).unwrap();
    fails(&root, "0.01", Some(&["p"]), &p, "a device");
}

#[test]
fn unsupported_directives_and_unknown_variables_say_so() {
    let (_tmp, root) = copy("cavity");
    let u = root.join("0/U");
    edit(
        &u,
        "internalField   uniform (0 0 0);",
        "#calc \"1+1\"\ninternalField   uniform (0 0 0);",
    );
    fails(&root, "0", Some(&["U"]), &u, "#calc is not supported");
    let (_tmp, root) = copy("cavity");
    let u = root.join("0/U");
    edit(&u, "uniform (0 0 0);", "uniform $nowhere;");
    fails(&root, "0", Some(&["U"]), &u, "$nowhere: no such entry");
}

/// The gzip bomb runs in a child process with a small input limit (the environment
/// variable is read by every read, so it is not set in this process).
#[test]
fn a_gzip_bomb_stops_at_the_input_limit() {
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new(exe)
        .args([
            "--ignored",
            "--exact",
            "openfoam::gzip_bomb_child",
            "--nocapture",
        ])
        .env("NABLA_MAX_INPUT_BYTES", "8388608")
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("1 passed"), "{text}");
}

#[test]
#[ignore = "run by a_gzip_bomb_stops_at_the_input_limit with NABLA_MAX_INPUT_BYTES set"]
fn gzip_bomb_child() {
    use std::io::Write;
    assert_eq!(nabla::io::max_input_bytes(), 8 << 20);
    let (_tmp, root) = copy("cavity_gz");
    // 64 MiB of zeros, gzipped to about 64 KiB.
    let path = root.join("constant/polyMesh/points.gz");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..64 {
        gz.write_all(&zeros).unwrap();
    }
    std::fs::write(&path, gz.finish().unwrap()).unwrap();
    let text = fails(
        &root,
        "0",
        None,
        &path,
        "inflates to more than the input limit",
    );
    assert!(text.contains("8388608"), "{text}");
}

/// The files of the one-cell case of the fuzz target `read_openfoam` (a copy of its table).
const FUZZ_FILES: [&str; 6] = [
    "constant/polyMesh/points",
    "constant/polyMesh/faces",
    "constant/polyMesh/owner",
    "constant/polyMesh/neighbour",
    "constant/polyMesh/boundary",
    "0/U",
];

/// The seeds of the fuzz target `read_openfoam` on stable: each is the first byte (which
/// file) and that file of a one-cell case whose other files are the seeds' own. Each seed is
/// a valid file and reads; bytes changed in each give a result or an error, never a panic.
#[test]
fn fuzz_seeds_of_read_openfoam_give_results_or_errors() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/read_openfoam");
    let mut seeds: Vec<(u8, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| {
            let bytes = std::fs::read(e.unwrap().path()).unwrap();
            (bytes[0], bytes[1..].to_vec())
        })
        .collect();
    seeds.sort();
    let base: Vec<Vec<u8>> = (0..6u8)
        .map(|i| seeds.iter().find(|(k, _)| *k == i).unwrap().1.clone())
        .collect();
    let run = |which: u8, data: &[u8]| -> nabla::Result<Mesh> {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        for (i, name) in FUZZ_FILES.iter().enumerate() {
            let path = root.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            let which = which as usize % 7;
            if which == 6 && i == 5 {
                use std::io::Write;
                let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                gz.write_all(data).unwrap();
                std::fs::write(root.join("0/U.gz"), gz.finish().unwrap()).unwrap();
            } else if i == which {
                std::fs::write(&path, data).unwrap();
            } else {
                std::fs::write(&path, &base[i]).unwrap();
            }
        }
        read_openfoam(root, "0", None)
    };
    for (which, data) in &seeds {
        let mesh = run(*which, data).unwrap_or_else(|e| panic!("seed {which}: {e}"));
        assert_eq!(mesh.num_cells(), 1);
        assert_eq!(mesh.cells.as_ref().unwrap().types, [12]);
        // Every third byte changed, one at a time, in the small seeds.
        if data.len() < 400 {
            for i in (0..data.len()).step_by(3) {
                for b in [b'(', b'9', 0u8] {
                    let mut d = data.clone();
                    d[i] = b;
                    if let Err(e) = run(*which, &d) {
                        let _ = e.to_string();
                    }
                }
            }
        }
    }
}

/// A timing, not a check: `NABLA_OPENFOAM_CASE=DIR cargo test --release --test it
/// openfoam::read_time -- --ignored --nocapture` reads the latest time of DIR and prints how
/// long the reading took (the README's figures).
#[test]
#[ignore = "a timing of the case named by NABLA_OPENFOAM_CASE"]
fn read_time_of_a_case() {
    let Some(dir) = std::env::var_os("NABLA_OPENFOAM_CASE") else {
        return;
    };
    let dir = PathBuf::from(dir);
    for _ in 0..3 {
        let t = std::time::Instant::now();
        let mesh = read_openfoam(&dir, "latest", None).unwrap();
        let read = t.elapsed();
        let t = std::time::Instant::now();
        let centres = nabla::io::geometry::cell_centres(&mesh);
        eprintln!(
            "{}: {} points, {} cells, {} arrays: read in {:.3} s (cell centres {:.3} s)",
            dir.display(),
            mesh.points.len(),
            mesh.num_cells(),
            mesh.cell_data.len(),
            read.as_secs_f64(),
            t.elapsed().as_secs_f64(),
        );
        assert_eq!(centres.len(), mesh.num_cells());
    }
}

/// Runs the binary on `case_dir`; returns (success, stdout + stderr).
fn run_nabla(case_dir: &Path) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_nabla"))
        .arg(case_dir)
        .arg("--quiet")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn results_go_back_into_the_case_on_request_as_fields_openfoam_reads() {
    let (_tmp, root) = copy("cavity");
    let nabla_case = root.parent().unwrap().join("derivs");
    std::fs::create_dir(&nabla_case).unwrap();
    let toml = |extra: &str| {
        format!(
            "[points]\nkind = \"mesh\"\nfile = \"../cavity\"\ntime = \"0.01\"\nat = \"cells\"\n\n\
             [[field]]\nname = \"U\"\ndata = \"U\"\noperators = [\"grad\", \"Q\"]\n\n[output]\n{extra}"
        )
    };
    std::fs::write(nabla_case.join("case.toml"), toml("openfoam = true\n")).unwrap();
    let (ok, text) = run_nabla(&nabla_case);
    assert!(ok, "{text}");
    let time = root.join("0.01");
    for f in ["grad(U)_nabla", "Q(U)_nabla"] {
        assert!(time.join(f).is_file(), "{f} missing: {text}");
        assert!(text.contains(f), "the summary names {f}: {text}");
    }
    // The arrays read from the case (p, OpenFOAM's grad(U)) are not written back as copies;
    // the reconstructed U, a computed array, is.
    assert!(time.join("U_nabla").is_file());
    assert!(!time.join("p_nabla").exists());
    let names: Vec<String> = std::fs::read_dir(&time)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.contains("input")), "{names:?}");
    // Read back by nabla's OpenFOAM reader: the cell values are those of the VTK file.
    let mesh = read_openfoam(&root, "0.01", Some(&["Q(U)_nabla"])).unwrap();
    let back = mesh
        .cell_data
        .iter()
        .find(|a| a.name == "Q(U)_nabla")
        .expect("the field reads back");
    let vtu = read_mesh(&nabla_case.join("VTK/derivs.vtu")).unwrap();
    let written = vtu.cell_data.iter().find(|a| a.name == "Q(U)").unwrap();
    assert_eq!(back.values.len(), written.values.len());
    for (a, b) in back.values.iter().zip(&written.values) {
        assert!((a - b).abs() <= 1e-12 * b.abs().max(1.0), "{a} vs {b}");
    }
    // Asked for points that are not an OpenFOAM case's cells: refused before anything runs.
    let at_points = toml("openfoam = true\n").replace("at = \"cells\"", "at = \"points\"");
    std::fs::write(nabla_case.join("case.toml"), at_points).unwrap();
    let (ok, text) = run_nabla(&nabla_case);
    assert!(!ok && text.contains("output.openfoam"), "{text}");
    // A symbolic link where a field goes is refused, not followed.
    std::fs::remove_file(time.join("Q(U)_nabla")).unwrap();
    let target = root.parent().unwrap().join("elsewhere");
    std::fs::write(&target, "keep").unwrap();
    std::os::unix::fs::symlink(&target, time.join("Q(U)_nabla")).unwrap();
    std::fs::write(nabla_case.join("case.toml"), toml("openfoam = true\n")).unwrap();
    let vtk_before = std::fs::read(nabla_case.join("VTK/derivs.vtu")).unwrap();
    std::fs::write(
        nabla_case.join("case.toml"),
        toml("openfoam = true\n").replace("\"Q\"]", "\"Q\", \"lap\"]"),
    )
    .unwrap();
    let (ok, text) = run_nabla(&nabla_case);
    assert!(!ok && text.contains("symbolic link"), "{text}");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");
    // Refused before the run: the earlier results are as they were.
    assert_eq!(
        std::fs::read(nabla_case.join("VTK/derivs.vtu")).unwrap(),
        vtk_before
    );
}
