//! What a run writes: planar vectors and tensors as ParaView expects them (checked with
//! VTK's own Stream Tracer and Glyph), `[output]` precision, compression and array
//! selection (every combination read back by VTK's readers), and `--output DIR`.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::io::{run_vtk_python, vtk_check};

/// A temporary case folder named `name` holding `case_toml` (and `cavity.vtu`, OpenFOAM's
/// cavity mesh, for cases on a mesh).
fn case_with(name: &str, case_toml: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(name);
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("case.toml"), case_toml).unwrap();
    let mesh = Path::new(env!("CARGO_MANIFEST_DIR")).join("cases/mms_navier_stokes/cavity.vtu");
    std::fs::copy(mesh, dir.join("cavity.vtu")).unwrap();
    (tmp, dir)
}

use crate::cases::nabla;

fn ok(dir: &Path, extra: &[&str]) -> String {
    let out = nabla(dir, extra);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "nabla failed: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

fn fails(dir: &Path, extra: &[&str], needles: &[&str]) -> String {
    let out = nabla(dir, extra);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "expected a failure:\n{err}");
    assert!(
        err.starts_with("error: ") && !err.contains("panicked"),
        "{err}"
    );
    for n in needles {
        assert!(err.contains(n), "expected {n:?} in:\n{err}");
    }
    err
}

/// The values VTK read for array `name` of the file summary `file`.
fn values(file: &Value, name: &str) -> Vec<f64> {
    let a = &file["arrays"][name];
    assert!(a.is_object(), "no array {name} in {:?}", file["arrays"]);
    a["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

/// The names of the arrays of a file summary.
fn names(file: &Value) -> Vec<String> {
    let mut n: Vec<String> = file["arrays"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    n.sort();
    n
}

const PLANAR: &str = r#"
[points]
kind = "lattice"
counts = [21, 31]
bounds = [[0, 1], [0, 2]]

# A solid-body rotation about (0.5, 1): streamlines are circles.
[[field]]
name = "U"
value = ["1 - y", "x - 0.5"]
operators = ["grad", "jacobian", "curl", "advection"]

[field.exact]
value = ["1 - y", "x - 0.5"]

[[field]]
name = "p"
value = "x*y"
operators = ["grad", "hessian"]
"#;

#[test]
fn planar_vectors_and_tensors_are_written_in_3d_for_paraview() {
    let (_tmp, dir) = case_with("planar", PLANAR);
    let summary = ok(&dir, &[]);
    // The summary keeps the computed shapes.
    assert!(summary.contains("\nU                2 "), "{summary}");
    let vti = dir.join("VTK/planar.vti");
    let Some(json) = vtk_check(&[&vti]) else {
        return;
    };
    let file = &json[vti.to_str().unwrap()];
    let comps = |name: &str| file["arrays"][name]["components"].as_u64().unwrap();
    for (name, c) in [
        ("U", 3),
        ("error(U)", 3),
        ("grad(U)", 9),
        ("jacobian(U)", 9),
        ("curl(U)", 1),
        ("advection(U)", 3),
        ("p", 1),
        ("grad(p)", 3),
        ("hessian(p)", 9),
    ] {
        assert_eq!(comps(name), c, "components of {name}");
    }
    // Point 1 of the lattice is (x, y) = (0.05, 0): U = (1 - y, x - 0.5) = (1, -0.45),
    // (∇U)ᵢⱼ = ∂uⱼ/∂xᵢ = [[0, 1], [-1, 0]], J = its transpose, (U·∇)U = (u·0 + v·(-1),
    // u·1 + v·0) = (0.45, 1), ∇p = (y, x) = (0, 0.05), H p = [[0, 1], [1, 0]].
    let at = |name: &str, k: usize| {
        values(file, name)[k * comps(name) as usize..][..comps(name) as usize].to_vec()
    };
    assert_eq!(at("U", 1), [1.0, -0.45, 0.0]);
    assert_eq!(at("error(U)", 1), [0.0; 3]);
    assert_eq!(at("grad(U)", 1), [0., 1., 0., -1., 0., 0., 0., 0., 0.]);
    assert_eq!(at("jacobian(U)", 1), [0., -1., 0., 1., 0., 0., 0., 0., 0.]);
    assert_eq!(at("advection(U)", 1), [0.45, 1.0, 0.0]);
    assert_eq!(at("grad(p)", 1), [0.0, 0.05, 0.0]);
    assert_eq!(at("hessian(p)", 1), [0., 1., 0., 1., 0., 0., 0., 0., 0.]);

    // VTK's Stream Tracer and Glyph, on the active vectors, as ParaView runs them.
    let out = run_vtk_python(
        "vtk_planar.py",
        &[vti.as_os_str(), "U".as_ref()],
        "the VTK stream tracer check",
    )
    .expect("vtk_check ran, so vtk_planar.py runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("ERR|") && !stderr.contains("WARN|"),
        "{stderr}"
    );
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["vectors_components"], 3);
    assert_eq!(
        r["file_active_vectors"], "U",
        "the file marks U as its vectors"
    );
    assert_eq!(r["active_vectors"], "U");
    assert!(r["stream_points"].as_u64().unwrap() > 100, "{r}");
    assert!(r["stream_lines"].as_u64().unwrap() >= 10, "{r}");
    assert!(r["glyph_points"].as_u64().unwrap() > 0, "{r}");
    assert_eq!(r["glyph_oriented"], true, "{r}");
    assert_eq!(r["errors"], serde_json::json!([]), "{r}");
}

#[test]
fn planar_clouds_are_written_in_3d_too() {
    let toml = PLANAR.replace(
        "kind = \"lattice\"\ncounts = [21, 31]",
        "kind = \"random\"\ncount = 400\nseed = 3",
    );
    let (_tmp, dir) = case_with("cloud", &toml);
    ok(&dir, &[]);
    let vtp = dir.join("VTK/cloud.vtp");
    let Some(json) = vtk_check(&[&vtp]) else {
        return;
    };
    let file = &json[vtp.to_str().unwrap()];
    assert_eq!(file["arrays"]["U"]["components"], 3);
    assert_eq!(file["arrays"]["hessian(p)"]["components"], 9);
    let u = values(file, "U");
    assert!(u.chunks(3).all(|c| c[2] == 0.0 && c[0] != 0.0), "{u:?}");
}

/// A case of each geometry (a 64 × 64 lattice, whose arrays are whole multiples of VTK's
/// 32 KiB compression blocks; a random 3-D cloud; OpenFOAM's cavity mesh with its cells)
/// with `[output]` settings `extra`.
fn geometries(extra: &str) -> [(&'static str, String); 3] {
    let field = "\n[[field]]\nname = \"U\"\nvalue = [\"sin(3*x)*y\", \"x - 0.5*y\"]\n\
                 operators = [\"grad\", \"curl\"]\n";
    let field3 = "\n[[field]]\nname = \"U\"\nvalue = [\"sin(3*x)*y\", \"x*z\", \"exp(y)\"]\n\
                  operators = [\"grad\", \"curl\", \"Q\"]\n";
    [
        (
            "lattice.vti",
            format!(
                "[points]\nkind = \"lattice\"\ncounts = [64, 64]\nbounds = [[0, 1], [0, 2]]\n\
                 {field}\n[output]\nname = \"lattice\"\n{extra}"
            ),
        ),
        (
            "cloud.vtp",
            format!(
                "[points]\nkind = \"random\"\ncount = 3000\nbounds = [[0, 1], [0, 1], [0, 1]]\n\
                 {field3}\n[output]\nname = \"cloud\"\n{extra}"
            ),
        ),
        (
            "mesh.vtu",
            format!(
                "[points]\nkind = \"mesh\"\nfile = \"cavity.vtu\"\n{field3}\n[output]\n\
                 name = \"mesh\"\n{extra}"
            ),
        ),
    ]
}

#[test]
fn every_precision_and_compression_reads_back_in_vtk() {
    let mut reference: Vec<(Value, u64)> = Vec::new();
    for precision in ["float64", "float32"] {
        for compression in ["none", "lz4", "zlib"] {
            let extra = format!("precision = \"{precision}\"\ncompression = \"{compression}\"\n");
            for (k, (file, toml)) in geometries(&extra).into_iter().enumerate() {
                let (_tmp, dir) = case_with("c", &toml);
                ok(&dir, &[]);
                let path = dir.join("VTK").join(file);
                let size = std::fs::metadata(&path).unwrap().len();
                let Some(json) = vtk_check(&[&path]) else {
                    return;
                };
                let got = json[path.to_str().unwrap()].clone();
                let what = format!("{file}, {precision}, {compression}");
                if reference.len() <= k {
                    // float64 without compression: what every other setting must give.
                    reference.push((got, size));
                    continue;
                }
                let (want, plain_size) = &reference[k];
                assert_eq!(names(&got), names(want), "{what}");
                assert_eq!(got["points"], want["points"], "{what}");
                assert_eq!(got["cells"], want["cells"], "{what}");
                assert_eq!(got["cell_types"], want["cell_types"], "{what}");
                assert_eq!(got["last_point"], want["last_point"], "{what}: f64 points");
                let ty = if precision == "float32" {
                    "float"
                } else {
                    "double"
                };
                for name in names(want) {
                    assert_eq!(got["arrays"][&name]["type"], ty, "{what}: {name}");
                    let (g, w) = (values(&got, &name), values(want, &name));
                    let w: Vec<f64> = match precision {
                        "float32" => w.iter().map(|&v| v as f32 as f64).collect(),
                        _ => w,
                    };
                    assert_eq!(g, w, "{what}: values of {name}");
                }
                // Random doubles hardly compress; halved precision halves the size.
                let limit = if precision == "float32" {
                    plain_size * 3 / 4
                } else {
                    *plain_size
                };
                assert!(size < limit, "{what}: {size} vs {plain_size} bytes");
            }
        }
    }
}

#[test]
fn output_arrays_selects_what_is_written() {
    let toml = format!("{PLANAR}\n[output]\narrays = [\"grad(p)\", \"U\", \"error(U)\"]\n");
    let (_tmp, dir) = case_with("some", &toml);
    let summary = ok(&dir, &[]);
    // Everything is still computed and summarised.
    assert!(summary.contains("hessian(p)"), "{summary}");
    let vti = dir.join("VTK/some.vti");
    let arrays = crate::io::vtkio_point_arrays(&vti);
    let got: Vec<&str> = arrays.iter().map(|a| a.0.as_str()).collect();
    assert_eq!(got, ["U", "error(U)", "grad(p)"], "in the run's order");
    assert_eq!(arrays[0].1, 3, "still planar vectors in 3-D");

    // Input arrays carried from a mesh can be chosen too (here OpenFOAM's p is carried
    // beside the computed p as `p (input)`).
    let toml = "[points]\nkind = \"mesh\"\nfile = \"cavity.vtu\"\n\n[[field]]\nname = \"p\"\n\
                value = \"x\"\n\n[output]\narrays = [\"p (input)\", \"p\"]\n";
    let (_tmp, dir) = case_with("mesh", toml);
    ok(&dir, &[]);
    let arrays = crate::io::vtkio_point_arrays(&dir.join("VTK/mesh.vtu"));
    let got: Vec<&str> = arrays.iter().map(|a| a.0.as_str()).collect();
    assert_eq!(got, ["p", "p (input)"]);
}

#[test]
fn bad_output_settings_name_the_line_and_what_exists() {
    let cases = [
        (
            "arrays = [\"U\", \"vorticity(U)\"]",
            vec![
                "case.toml:",
                "vorticity(U)",
                "expected one of: U, error(U), grad(U), jacobian(U), curl(U), advection(U), p, \
                 grad(p), hessian(p)",
            ],
        ),
        ("arrays = []", vec!["output.arrays is empty", "grad(U)"]),
        (
            "precision = \"float16\"",
            vec!["float16", "float32", "float64"],
        ),
        (
            "compression = \"gzip\"",
            vec!["gzip", "none", "lz4", "zlib"],
        ),
        ("arrays = \"U\"", vec!["expected a sequence"]),
    ];
    for (setting, needles) in cases {
        let toml = format!("{PLANAR}\n[output]\n{setting}\n");
        let (_tmp, dir) = case_with("bad", &toml);
        let err = fails(&dir, &[], &needles);
        // The line of the setting: PLANAR's lines, the blank line and `[output]`.
        let line = PLANAR.lines().count() + 3;
        assert!(
            err.contains(&format!("case.toml:{line}:")),
            "{setting}: {err}"
        );
        assert!(!dir.join("VTK").exists(), "{setting}: output written");
    }
}

#[test]
fn output_option_writes_the_run_into_another_folder_as_one_switch() {
    let (tmp, dir) = case_with("planar", PLANAR);
    let out = tmp.path().join("results");
    let out_arg = out.to_str().unwrap();
    let summary = ok(&dir, &["--output", out_arg]);
    assert!(
        summary.contains(&format!("wrote {out_arg}/planar.vti")),
        "{summary}"
    );
    assert!(out.join("planar.vti").is_file());
    assert!(!dir.join("VTK").exists(), "nothing in the case's VTK/");
    // A file of the user's in the folder is kept; nothing of the run is left beside it.
    std::fs::write(out.join("notes.txt"), "mine").unwrap();
    ok(&dir, &["-o", out_arg]);
    let mut entries: Vec<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    entries.sort();
    assert_eq!(entries, ["planar", "results"], "no staging folder left");
    assert_eq!(
        std::fs::read_to_string(out.join("notes.txt")).unwrap(),
        "mine"
    );

    // A run that fails leaves the folder as it was.
    let before = std::fs::read(out.join("planar.vti")).unwrap();
    std::fs::write(
        dir.join("case.toml"),
        PLANAR.replace("\"x*y\"", "\"x*y/(x - x)\""),
    )
    .unwrap();
    fails(&dir, &["--output", out_arg, "--strict"], &["not finite"]);
    assert_eq!(std::fs::read(out.join("planar.vti")).unwrap(), before);
    let entries = std::fs::read_dir(tmp.path()).unwrap().count();
    assert_eq!(entries, 2, "no staging folder left after a failure");

    // Refused: the case directory itself (it would be replaced), a folder that holds it,
    // a folder in a folder that does not exist, a path without a folder name, a symlink.
    std::fs::write(dir.join("case.toml"), PLANAR).unwrap();
    let parent = tmp.path().to_str().unwrap();
    let missing = format!("{parent}/no/such");
    let dotdot = format!("{out_arg}/..");
    let link = tmp.path().join("link");
    std::os::unix::fs::symlink(&out, &link).unwrap();
    for (arg, needle) in [
        (dir.to_str().unwrap(), "holds it"),
        (parent, "holds it"),
        (missing.as_str(), "does not exist"),
        (dotdot.as_str(), "folder name"),
        (link.to_str().unwrap(), "symbolic link"),
    ] {
        fails(&dir, &["--output", arg], &[needle]);
    }
    assert!(dir.join("case.toml").is_file() && !dir.join("VTK").exists());
    assert_eq!(std::fs::read(out.join("planar.vti")).unwrap(), before);
}

#[test]
fn compressed_float32_files_keep_names_that_need_escaping() {
    use nabla::io::{Compression, Precision, WriteOptions, write_vtp_with};
    let dir = tempfile::tempdir().unwrap();
    let points: Vec<[f64; 3]> = (0..5000).map(|i| [i as f64, 0.5, -1.0 / 3.0]).collect();
    let name = "a > b & <c> \"d\" 'e'";
    let written: Vec<f64> = (0..5000).map(|i| (i as f64).sqrt()).collect();
    let arrays = [nabla::io::PointArray::new(name, 1, written.clone())];
    let opts = WriteOptions {
        precision: Precision::Float32,
        compression: Compression::Lz4,
        ..WriteOptions::default()
    };
    let path = dir.path().join("names.vtp");
    write_vtp_with(&path, &points, &arrays, &opts).unwrap();
    let Some(json) = vtk_check(&[&path]) else {
        return;
    };
    let file = &json[path.to_str().unwrap()];
    assert_eq!(names(file), [name]);
    assert_eq!(file["arrays"][name]["type"], "float");
    let want: Vec<f64> = written[..64]
        .iter()
        .chain(&written[5000 - 64..])
        .map(|&v| v as f32 as f64)
        .collect();
    assert_eq!(values(file, name), want);
    assert_eq!(
        file["last_point"],
        serde_json::json!([4999.0, 0.5, -1.0 / 3.0])
    );
}
