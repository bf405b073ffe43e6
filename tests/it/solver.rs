//! Derivatives of what the solver computed (#18): cell values at OpenFOAM's cell centres plus
//! the patch values, read from OpenFOAM case directories, against known answers — the shipped
//! coarse cases of `cases/openfoam_known_answer` hold an analytic velocity at the cell
//! centres and patch face centres, with OpenFOAM's own Gauss-linear `grad(U)` of it.

use std::path::{Path, PathBuf};

use nabla::field::data::{Location, holds_values, mesh_samples};
use nabla::io::{Cells, Mesh, Patch, PointArray, geometry, read_mesh, read_openfoam};

use crate::cases::{nabla, stderr, stdout};

fn known_answer(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("cases/openfoam_known_answer")
        .join(name)
}

/// The field of `field.py`: OpenFOAM's gradient (∇U)ᵢⱼ = ∂uⱼ/∂xᵢ, row-major.
fn exact_grad(p: [f64; 3]) -> [f64; 9] {
    let [x, y, z] = p;
    let (a, b, ez) = (4.0 * x + 1.0, 3.0 * y - 0.5, (0.5 * z).exp());
    let (c, d) = (3.0 * x - 2.0 * z + 0.3, 5.0 * y + 0.5);
    let (ex, s, f) = ((-0.7 * x).exp(), 2.0 * y + 3.0 * z, 4.0 * y - x);
    [
        4.0 * a.cos() * b.cos() * ez,
        -3.0 * c.sin() * d.sin(),
        -0.7 * ex * s.sin() + 0.5 * f.sin(),
        -3.0 * a.sin() * b.sin() * ez,
        5.0 * c.cos() * d.cos(),
        2.0 * ex * s.cos() - 2.0 * f.sin(),
        0.5 * a.sin() * b.cos() * ez,
        2.0 * c.sin() * d.sin(),
        3.0 * ex * s.cos(),
    ]
}

fn rel_l2(got: &[f64], exact: &[f64]) -> f64 {
    let e: f64 = got.iter().zip(exact).map(|(g, x)| (g - x) * (g - x)).sum();
    let r: f64 = exact.iter().map(|x| x * x).sum();
    (e / r).sqrt()
}

/// A case file for the known-answer case `name` (the template make.sh uses).
fn case_for(name: &str, degree: usize, at: &str) -> tempfile::TempDir {
    let template =
        std::fs::read_to_string(known_answer("nabla_case.toml")).expect("the template is shipped");
    let text = template
        .replace("../../../{case}", &known_answer(name).display().to_string())
        .replace("{case}", name)
        .replace("{degree}", &degree.to_string())
        .replace("{at}", at);
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("case.toml"), text).unwrap();
    tmp
}

/// The relative L2 error of `array` in a run's summary: (all, interior, boundary).
fn summary_error(text: &str, array: &str) -> [f64; 3] {
    let line = text
        .lines()
        .find(|l| l.starts_with(&format!("relative L2 error of {array} at")))
        .unwrap_or_else(|| panic!("no relative L2 error of {array} in\n{text}"));
    let nums: Vec<f64> = line
        .split([' ', ',', ')', '('])
        .filter_map(|w| w.parse().ok())
        .collect();
    // "at t = 0: E (interior I, within one cell of the boundary B)"
    let n = nums.len();
    [nums[n - 3], nums[n - 2], nums[n - 1]]
}

#[test]
fn cell_and_face_centres_are_openfoams() {
    for name in ["skewed_hex_1", "tets_1", "channel_1"] {
        let mesh = read_openfoam(&known_answer(name), "0", Some(&["C"])).unwrap();
        let c = mesh.cell_array("C").expect("0/C: writeCellCentres");
        let ours = geometry::cell_centres(&mesh);
        let worst = ours
            .iter()
            .enumerate()
            .map(|(i, p)| {
                (0..3)
                    .map(|d| (p[d] - c.values[3 * i + d]).abs())
                    .fold(0.0, f64::max)
            })
            .fold(0.0, f64::max);
        // OpenFOAM wrote 12 significant digits of coordinates of order 1.
        assert!(worst < 1e-10, "{name}: cell centres off by {worst}");
        for patch in &mesh.patches {
            let fc = patch.face_array("C").expect("patch face centres in 0/C");
            for f in 0..patch.faces.len() {
                let start = if f == 0 {
                    0
                } else {
                    patch.faces.offsets[f - 1] as usize
                };
                let face = &patch.faces.connectivity[start..patch.faces.offsets[f] as usize];
                let (centre, _) = geometry::face_centre(&mesh.points, face);
                for d in 0..3 {
                    assert!((centre[d] - fc.values[3 * f + d]).abs() < 1e-10, "{name}");
                }
            }
        }
        if name == "skewed_hex_1" {
            // The mean of a skewed hexahedron's points is not where its value lives.
            let mean = mesh.cell_centroids();
            let off = mean
                .iter()
                .zip(&ours)
                .map(|(m, o)| (0..3).map(|d| (m[d] - o[d]).abs()).fold(0.0, f64::max))
                .fold(0.0, f64::max);
            assert!(off > 1e-4, "the mean of the points is off by only {off}");
        }
    }
}

#[test]
fn solver_values_give_derivatives_beyond_openfoams_own_gradient() {
    for name in ["skewed_hex_1", "tets_1", "channel_1"] {
        // OpenFOAM's Gauss-linear gradient at its cell centres against the exact one.
        let mesh = read_openfoam(&known_answer(name), "0", Some(&["C", "grad(U)"])).unwrap();
        let centres = mesh.cell_array("C").unwrap();
        let exact: Vec<f64> = centres
            .values
            .chunks(3)
            .flat_map(|p| exact_grad([p[0], p[1], p[2]]))
            .collect();
        let openfoam = rel_l2(&mesh.cell_array("grad(U)").unwrap().values, &exact);
        let mut errors = Vec::new();
        for degree in [2, 3] {
            let case = case_for(name, degree, "cells");
            let out = nabla(case.path(), &[]);
            assert!(out.status.success(), "{name}: {}", stderr(&out));
            let text = stdout(&out);
            assert!(text.contains("boundary values at face centres"), "{text}");
            let [all, interior, boundary] = summary_error(&text, "grad(U)");
            // The summary's figure is the one of the written arrays, checked here.
            let written = read_mesh(&case.path().join(format!("VTK/{name}.vtu"))).unwrap();
            let g = written
                .cell_array("grad(U)")
                .expect("results are cell data");
            assert_eq!(g.values.len(), exact.len());
            let ours = rel_l2(&g.values, &exact);
            assert!(
                (ours - all).abs() <= 1e-3 * all,
                "{name}: {ours} against {all}"
            );
            assert!(interior > 0.0 && boundary > 0.0);
            let lap = summary_error(&text, "lap(U)")[0];
            errors.push((degree, all, lap));
        }
        // The Goals of #18 at the coarse level: p = 3 at most 1/5 of OpenFOAM's error, p = 2
        // below it; Laplacians that mean something (measured 0.02-0.07 at p = 3).
        let (_, e2, lap2) = errors[0];
        let (_, e3, lap3) = errors[1];
        assert!(
            e3 <= openfoam / 5.0,
            "{name}: p = 3 {e3}, OpenFOAM {openfoam}"
        );
        assert!(e2 < openfoam, "{name}: p = 2 {e2}, OpenFOAM {openfoam}");
        assert!(
            lap3 < 0.1 && lap2 < 0.15,
            "{name}: Laplacians {lap2}, {lap3}"
        );
    }
}

#[test]
fn compare_at_cell_centres_uses_the_solvers_cell_arrays_and_splits_the_boundary() {
    let name = "skewed_hex_1";
    let tmp = tempfile::tempdir().unwrap();
    let text = format!(
        "[points]\nkind = \"mesh\"\nfile = \"{}\"\ntime = \"0\"\nat = \"cells\"\n\
         [reconstruction]\ndegree = 3\n[[field]]\nname = \"U\"\ndata = \"U\"\n\
         operators = [\"grad\"]\n[field.compare]\ngrad = \"grad(U)\"\n",
        known_answer(name).display()
    );
    std::fs::write(tmp.path().join("case.toml"), &text).unwrap();
    let out = nabla(tmp.path(), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let summary = stdout(&out);
    let line = summary
        .lines()
        .find(|l| l.starts_with("relative L2 difference of grad(U) from the input's grad(U)"))
        .unwrap_or_else(|| panic!("{summary}"));
    assert!(
        line.contains("(interior ") && line.contains("within one cell of the boundary"),
        "{line}"
    );
    // OpenFOAM's own error is 0.0375 here, ours 0.0026: the difference is OpenFOAM's.
    let d: f64 = line
        .split(": ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap();
    assert!(d > 0.02 && d < 0.06, "{line}");
    // A name the data file does not have as a cell array: the cell arrays are listed.
    std::fs::write(
        tmp.path().join("case.toml"),
        text.replace("grad = \"grad(U)\"", "grad = \"gradU\""),
    )
    .unwrap();
    let out = nabla(tmp.path(), &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("no cell array 'gradU'") && err.contains("grad(U)"),
        "{err}"
    );
}

#[test]
fn sample_choices_are_refused_where_the_data_has_no_such_samples() {
    let name = "tets_1";
    let tmp = tempfile::tempdir().unwrap();
    let text = format!(
        "[points]\nkind = \"mesh\"\nfile = \"{}\"\ntime = \"0\"\n\
         [reconstruction]\nsamples = \"points\"\n[[field]]\nname = \"U\"\ndata = \"U\"\n\
         operators = [\"grad\"]\n",
        known_answer(name).display()
    );
    std::fs::write(tmp.path().join("case.toml"), &text).unwrap();
    let out = nabla(tmp.path(), &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("samples = \"points\"") && err.contains("cell data"),
        "{err}"
    );
    assert!(!tmp.path().join("VTK").exists());
    // A time the case does not have names the ones it has.
    std::fs::write(
        tmp.path().join("case.toml"),
        text.replace("time = \"0\"", "time = \"7\""),
    )
    .unwrap();
    let out = nabla(tmp.path(), &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains('7'), "{}", stderr(&out));
}

/// One unit cube cell (value 1) with a patch on each of its six faces.
fn cube_with_patches(patches: &[(&str, Option<&str>, Option<f64>)]) -> Mesh {
    let points = (0..8)
        .map(|i| [(i & 1) as f64, (i >> 1 & 1) as f64, (i >> 2) as f64])
        .collect();
    let faces: [[u64; 4]; 6] = [
        [0, 2, 3, 1],
        [4, 5, 7, 6],
        [0, 1, 5, 4],
        [2, 6, 7, 3],
        [0, 4, 6, 2],
        [1, 3, 7, 5],
    ];
    let mut mesh = Mesh {
        points,
        cells: Some(Cells {
            connectivity: vec![0, 1, 3, 2, 4, 5, 7, 6],
            offsets: vec![8],
            types: vec![12],
            ..Cells::default()
        }),
        cell_data: vec![PointArray::new("T", 1, vec![1.0])],
        ..Mesh::default()
    };
    for (k, (name, condition, value)) in patches.iter().enumerate() {
        mesh.patches.push(Patch {
            name: name.to_string(),
            faces: Cells {
                connectivity: faces[k].to_vec(),
                offsets: vec![4],
                types: vec![7],
                ..Cells::default()
            },
            face_data: value
                .map(|v| vec![PointArray::new("T", 1, vec![v])])
                .unwrap_or_default(),
            conditions: condition
                .map(|c| vec![("T".to_string(), c.to_string())])
                .unwrap_or_default(),
        });
    }
    mesh
}

#[test]
fn patches_give_the_values_the_solver_holds_and_nothing_else() {
    let mesh = cube_with_patches(&[
        ("fixed", Some("fixedValue"), Some(1.0)), // a fixed value equal to the cell's: kept
        ("copied", Some("zeroGradient"), Some(1.0)), // the cell's value copied: left out
        ("uniform", None, Some(1.0)),             // unknown condition, one value: kept
        ("unknown_value", None, Some(5.0)),       // unknown condition, a value: kept
        ("wall", Some("noSlip"), None),           // noSlip without a value: zero
        ("nothing", Some("fixedValue"), None),    // no value given: nothing
    ]);
    let s = mesh_samples(&mesh, &["T"], Location::Cells).unwrap();
    assert_eq!(s.cells, 1);
    assert_eq!(s.values, [1.0, 1.0, 1.0, 5.0, 0.0]);
    // Samples at the cell centre and at the centres of the kept faces.
    assert_eq!(
        s.points,
        [
            [0.5, 0.5, 0.5],
            [0.5, 0.5, 0.0],
            [0.5, 0.0, 0.5],
            [0.5, 1.0, 0.5],
            [0.0, 0.5, 0.5]
        ]
    );
    let used: Vec<usize> = s.patches.iter().map(|p| p.used).collect();
    assert_eq!(used, [1, 0, 1, 1, 1, 0], "{:?}", s.patches);
    assert!(
        s.patches[1].why.contains("zeroGradient"),
        "{:?}",
        s.patches[1]
    );
    assert_eq!(holds_values("symmetryPlane"), Some(false));
    assert_eq!(holds_values("movingWallVelocity"), Some(true));
    assert_eq!(holds_values("somethingNew"), None);
    // A missing array lists what there is.
    let err = mesh_samples(&mesh, &["U"], Location::Cells)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no array named 'U'") && err.contains("T (1, cell data)"),
        "{err}"
    );
    // A patch with the wrong number of face values is an error naming it.
    let mut bad = cube_with_patches(&[("short", None, Some(2.0))]);
    bad.patches[0].face_data[0].values.push(3.0);
    let err = mesh_samples(&bad, &["T"], Location::Cells)
        .unwrap_err()
        .to_string();
    assert!(err.contains("patch 'short'"), "{err}");
    // Faces that name points the mesh does not have.
    let mut bad = cube_with_patches(&[("out", None, Some(2.0))]);
    bad.patches[0].faces.connectivity[0] = 99;
    let err = mesh_samples(&bad, &["T"], Location::Cells)
        .unwrap_err()
        .to_string();
    assert!(err.contains("patch 'out'"), "{err}");
}

#[test]
fn a_patch_that_copies_its_cells_values_is_left_out_when_its_condition_is_unknown() {
    // Two cells along x with 1 and 2; the bottom patch (z = 0) holds the cells' values
    // exactly: a zero-gradient copy, as foamToVTK writes it for an outlet.
    let points: Vec<[f64; 3]> = (0..12)
        .map(|i| [(i % 3) as f64, (i / 3 % 2) as f64, (i / 6) as f64])
        .collect();
    let mut mesh = Mesh {
        points,
        cells: Some(Cells {
            connectivity: vec![0, 1, 4, 3, 6, 7, 10, 9, 1, 2, 5, 4, 7, 8, 11, 10],
            offsets: vec![8, 16],
            types: vec![12, 12],
            ..Cells::default()
        }),
        cell_data: vec![PointArray::new("T", 1, vec![1.0, 2.0])],
        ..Mesh::default()
    };
    mesh.patches.push(Patch {
        name: "outlet".into(),
        faces: Cells {
            connectivity: vec![0, 3, 4, 1, 1, 4, 5, 2],
            offsets: vec![4, 8],
            types: vec![7, 7],
            ..Cells::default()
        },
        face_data: vec![PointArray::new("T", 1, vec![1.0, 2.0])],
        conditions: Vec::new(),
    });
    let s = mesh_samples(&mesh, &["T"], Location::Cells).unwrap();
    assert_eq!(s.values, [1.0, 2.0], "{:?}", s.patches);
    assert!(s.patches[0].why.contains("copy"), "{:?}", s.patches[0]);
    // The same values under a condition that holds values are the solver's: kept.
    mesh.patches[0].conditions = vec![("T".into(), "fixedValue".into())];
    let s = mesh_samples(&mesh, &["T"], Location::Cells).unwrap();
    assert_eq!(s.values, [1.0, 2.0, 1.0, 2.0]);
    // And values that differ from the cells' are kept without a condition.
    mesh.patches[0].conditions.clear();
    mesh.patches[0].face_data[0].values = vec![0.5, 2.0];
    let s = mesh_samples(&mesh, &["T"], Location::Cells).unwrap();
    assert_eq!(s.values, [1.0, 2.0, 0.5, 2.0]);
}

#[test]
fn a_time_of_an_openfoam_case_is_the_time_of_the_results() {
    // The cavity (icoFoam) with times 0, 0.005 and 0.01; 0.01 holds OpenFOAM's grad(U).
    let cavity = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/openfoam_cases/cavity");
    let tmp = tempfile::tempdir().unwrap();
    let text = format!(
        "[points]\nkind = \"mesh\"\nfile = \"{}\"\nat = \"cells\"\n[[field]]\nname = \"U\"\n\
         data = \"U\"\noperators = [\"grad\"]\n[field.compare]\ngrad = \"grad(U)\"\n",
        cavity.display()
    );
    std::fs::write(tmp.path().join("case.toml"), &text).unwrap();
    let out = nabla(tmp.path(), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let summary = stdout(&out);
    // The latest time by default, named in the summary and stored in the file.
    assert!(
        summary.contains("relative L2 difference of grad(U) from the input's grad(U) at t = 0.01:"),
        "{summary}"
    );
    // The lid and the walls are sampled: the moving wall's values, noSlip's zeros.
    assert!(
        summary.contains("movingWall 20") && summary.contains("fixedWalls 60 (noSlip: zeros)"),
        "{summary}"
    );
    let file = tmp.path().join(format!(
        "VTK/{}.vtu",
        tmp.path().file_name().unwrap().to_string_lossy()
    ));
    let xml = std::fs::read_to_string(&file).unwrap();
    assert!(
        xml.contains("TimeValue"),
        "no TimeValue in {}",
        file.display()
    );
    // An earlier time by name; one without grad(U) is refused naming the cell arrays.
    std::fs::write(
        tmp.path().join("case.toml"),
        text.replace("at = \"cells\"", "at = \"cells\"\ntime = \"0.005\""),
    )
    .unwrap();
    let out = nabla(tmp.path(), &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no cell array 'grad(U)'"),
        "{}",
        stderr(&out)
    );
}
