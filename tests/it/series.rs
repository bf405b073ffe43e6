//! foamToVTK's layout as input (`.vtm` with its boundary patches, `.vtm.series`, `.pvd`),
//! cases over a series of times (`TimeValue`, the solver's times), and the time
//! derivatives `ddt` and `DDt`.

use std::path::{Path, PathBuf};

use nabla::Error;
use nabla::io::{Mesh, read_mesh, read_series};

/// foamToVTK's export of the icoFoam cavity at t = 0, 0.1, 0.2, 0.3 (`make.sh` beside it).
fn cavity() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/foamtovtk/cavity")
}

/// A copy of the cavity export in a fresh temporary folder (`…/VTK`), to spoil.
fn cavity_copy() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().join("VTK");
    copy_dir(&cavity(), &to);
    (dir, to)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// Replaces `from` by `to` in the file `path` (which must contain it).
fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{} lacks {from}", path.display());
    std::fs::write(path, text.replace(from, to)).unwrap();
}

/// Asserts an `Error::Input` about `path` whose message contains every needle.
fn assert_input_error(err: Error, path: &Path, needles: &[&str]) {
    let text = err.to_string();
    match &err {
        Error::Input { path: p, .. } => assert_eq!(p, path, "{text}"),
        other => panic!(
            "expected Error::Input about {}, got {other:?}",
            path.display()
        ),
    }
    for n in needles {
        assert!(text.contains(n), "message lacks `{n}`: {text}");
    }
}

fn vtm_check(file: &Path) -> Option<serde_json::Value> {
    let out = super::io::run_vtk_python(
        "vtm_check.py",
        &[file.as_os_str()],
        "VTK's multiblock reader",
    )?;
    Some(serde_json::from_slice(&out.stdout).expect("vtm_check.py prints JSON"))
}

fn floats(v: &serde_json::Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

// ---------------------------------------------------------------------------------------
// The .vtm reader

#[test]
fn vtm_reads_the_internal_mesh_and_patches_as_vtk_does() {
    let file = cavity().join("cavity_20.vtm");
    let mesh = read_mesh(&file).unwrap();
    // The internal mesh alone is what read_mesh gives of internal.vtu.
    let internal = read_mesh(&cavity().join("cavity_20/internal.vtu")).unwrap();
    assert_eq!(mesh.points, internal.points);
    assert_eq!(mesh.cells, internal.cells);
    assert_eq!(mesh.point_data, internal.point_data);
    assert_eq!(mesh.cell_data, internal.cell_data);
    let names: Vec<&str> = mesh.patches.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["movingWall", "fixedWalls"]);
    assert!(mesh.patches.iter().all(|p| p.conditions.is_empty()));

    let Some(vtk) = vtm_check(&file) else { return };
    assert_eq!(vtk["time"].as_f64().unwrap(), 0.1f32 as f64);
    let blocks = vtk["blocks"].as_array().unwrap();
    assert_eq!(blocks.len(), 3);
    assert_eq!(blocks[0]["path"][0], "internal");
    assert_eq!(blocks[0]["points"], mesh.points.len());
    assert_eq!(blocks[0]["cells"], mesh.num_cells());
    for a in &mesh.cell_data {
        assert_eq!(
            floats(&blocks[0]["cell_arrays"][&a.name]),
            a.values,
            "{}",
            a.name
        );
    }
    for a in &mesh.point_data {
        assert_eq!(
            floats(&blocks[0]["point_arrays"][&a.name]),
            a.values,
            "{}",
            a.name
        );
    }
    for (patch, block) in mesh.patches.iter().zip(&blocks[1..]) {
        assert_eq!(block["path"][0], "boundary");
        assert_eq!(block["path"][1], patch.name.as_str());
        assert_eq!(block["cells"], patch.faces.len());
        // Each face, by the internal mesh's points, is VTK's face, corner by corner.
        let mut start = 0;
        for (f, &end) in patch.faces.offsets.iter().enumerate() {
            let ours: Vec<Vec<f64>> = patch.faces.connectivity[start..end as usize]
                .iter()
                .map(|&p| mesh.points[p as usize].to_vec())
                .collect();
            let theirs: Vec<Vec<f64>> = block["faces"][f]
                .as_array()
                .unwrap()
                .iter()
                .map(floats)
                .collect();
            assert_eq!(ours, theirs, "face {f} of {}", patch.name);
            start = end as usize;
        }
        assert_eq!(patch.face_data.len(), 2);
        for a in &patch.face_data {
            assert_eq!(floats(&block["cell_arrays"][&a.name]), a.values);
            assert_eq!(a.values.len(), a.components * patch.faces.len());
        }
    }
    // The lid moves at U = (1, 0, 0): the solver's value on every face of movingWall.
    let lid = mesh.patches[0].face_array("U").unwrap();
    assert!(lid.values.chunks(3).all(|u| u == [1.0, 0.0, 0.0]));
}

#[test]
fn vtm_refuses_what_is_not_foamtovtks_layout() {
    let (_dir, vtk) = cavity_copy();
    let vtm = vtk.join("cavity_20.vtm");
    let original = std::fs::read_to_string(&vtm).unwrap();
    let spoil = |from: &str, to: &str, needles: &[&str]| {
        std::fs::write(&vtm, &original).unwrap();
        edit(&vtm, from, to);
        let err = read_mesh(&vtm).unwrap_err();
        assert_input_error(err, &vtm, needles);
    };
    let internal = "file='cavity_20/internal.vtu'";
    let moving = "file='cavity_20/boundary/movingWall.vtp'";
    spoil(
        internal,
        "file='../VTK/cavity_20/internal.vtu'",
        &["`..`", ":5"],
    );
    spoil(internal, "file='/etc/passwd'", &["absolute"]);
    spoil(
        internal,
        "file='cavity_20/nothing.vtu'",
        &["cannot be opened"],
    );
    spoil(
        internal,
        "file='cavity_20/boundary/movingWall.vtp'",
        &["expected a .vtu"],
    );
    spoil(
        moving,
        "file='cavity_20/boundary/fixedWalls.vtp'",
        &["listed twice"],
    );
    spoil(
        "name='internal'",
        "name='cells'",
        &["<DataSet name=\"cells\"> is not read"],
    );
    spoil(
        "name='boundary'",
        "name='lagrangian'",
        &["<Block name=\"lagrangian\">"],
    );
    spoil(
        "<DataSet name='movingWall'",
        "<Block name='x'/><DataSet name='movingWall'",
        &["<Block> in the `boundary` block"],
    );
    spoil(
        "vtkMultiBlockDataSet'",
        "Collection'",
        &["vtkMultiBlockDataSet"],
    );
    spoil("</vtkMultiBlockDataSet>", "", &["malformed XML"]);
    // A symbolic link inside the folder that leads out of it.
    std::fs::write(&vtm, &original).unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::fs::copy(
        vtk.join("cavity_20/internal.vtu"),
        outside.path().join("internal.vtu"),
    )
    .unwrap();
    std::fs::remove_file(vtk.join("cavity_20/internal.vtu")).unwrap();
    std::os::unix::fs::symlink(outside.path(), vtk.join("cavity_20/out")).unwrap();
    edit(&vtm, internal, "file='cavity_20/out/internal.vtu'");
    assert_input_error(
        read_mesh(&vtm).unwrap_err(),
        &vtm,
        &["outside this file's folder"],
    );
}

#[test]
fn vtm_patch_point_not_in_the_mesh_is_an_error_naming_the_patch_file() {
    let (_dir, vtk) = cavity_copy();
    // The patch of another mesh: the points of time 0's lid moved by editing the .vtm to
    // point the internal block at a mesh of different points.
    let vtm = vtk.join("cavity_20.vtm");
    let other = Mesh {
        points: vec![[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]],
        ..Mesh::default()
    };
    nabla::io::write_vtu(&vtk.join("cavity_20/internal.vtu"), &other, &[]).unwrap();
    let err = read_mesh(&vtm).unwrap_err();
    let patch = vtk
        .join("cavity_20/boundary/movingWall.vtp")
        .canonicalize()
        .unwrap();
    assert_input_error(
        err,
        &patch,
        &["patch `movingWall`", "is no point of the internal mesh"],
    );
}

// ---------------------------------------------------------------------------------------
// Series listings

#[test]
fn vtm_series_lists_the_solvers_times_and_reads_the_first() {
    let series = read_series(&cavity().join("cavity.vtm.series")).unwrap();
    let times: Vec<f64> = series.iter().map(|s| s.0).collect();
    assert_eq!(times, [0.0, 0.1, 0.2, 0.3]);
    for ((_, f), i) in series.iter().zip([0, 20, 40, 60]) {
        assert_eq!(
            f,
            &cavity()
                .join(format!("cavity_{i}.vtm"))
                .canonicalize()
                .unwrap()
        );
    }
    let first = read_mesh(&cavity().join("cavity.vtm.series")).unwrap();
    assert_eq!(first, read_mesh(&cavity().join("cavity_0.vtm")).unwrap());
}

#[test]
fn pvd_lists_its_times_sorted() {
    let (_dir, vtk) = cavity_copy();
    let pvd = vtk.join("cavity.pvd");
    // Written in another order than the times': listed sorted, as ParaView shows them.
    nabla::io::write_pvd(
        &pvd,
        &[
            (0.2, "cavity_40.vtm"),
            (0.0, "cavity_0.vtm"),
            (0.1, "cavity_20/internal.vtu"),
        ],
    )
    .unwrap();
    let series = read_series(&pvd).unwrap();
    let times: Vec<f64> = series.iter().map(|s| s.0).collect();
    assert_eq!(times, [0.0, 0.1, 0.2]);
    assert!(series[1].1.ends_with("cavity_20/internal.vtu"));
    assert_eq!(
        read_mesh(&pvd).unwrap(),
        read_mesh(&vtk.join("cavity_0.vtm")).unwrap()
    );
}

#[test]
fn series_refuses_duplicate_times_missing_files_and_bad_listings() {
    let (_dir, vtk) = cavity_copy();
    let series = vtk.join("cavity.vtm.series");
    let original = std::fs::read_to_string(&series).unwrap();
    let spoil = |from: &str, to: &str, needles: &[&str]| {
        std::fs::write(&series, &original).unwrap();
        edit(&series, from, to);
        assert_input_error(read_series(&series).unwrap_err(), &series, needles);
        // read_mesh of the series lists it first, with the same error.
        assert_input_error(read_mesh(&series).unwrap_err(), &series, needles);
    };
    spoil(
        "\"time\" : 0.2",
        "\"time\" : 0.1",
        &["time 0.1 is listed twice"],
    );
    spoil(
        "cavity_40.vtm",
        "cavity_41.vtm",
        &["`cavity_41.vtm` cannot be opened"],
    );
    spoil("cavity_40.vtm", "../cavity_40.vtm", &["`..`"]);
    spoil("cavity_40.vtm", "cavity_40", &["not a regular file"]);
    spoil("cavity_40.vtm", "cavity.vtm.series", &["a series itself"]);
    spoil("\"1.0\"", "\"2.0\"", &["expected \"1.0\""]);
    spoil(
        "\"time\" : 0.2",
        "\"time\" : \"0.2\"",
        &["line 6", "expected a file series"],
    );
    spoil("\"files\"", "\"names\"", &["expected a file series"]);
    let all = &original[original.find('[').unwrap()..=original.rfind(']').unwrap()];
    spoil(all, "[]", &["lists 0 files"]);

    let pvd = vtk.join("cavity.pvd");
    let write = |body: &str| {
        std::fs::write(
            &pvd,
            format!(
                "<?xml version=\"1.0\"?>\n<VTKFile type=\"Collection\" version=\"0.1\">\n\
                 <Collection>\n{body}\n</Collection>\n</VTKFile>\n"
            ),
        )
        .unwrap();
        read_series(&pvd).unwrap_err()
    };
    let err = write(
        "<DataSet timestep=\"0\" file=\"cavity_0.vtm\"/>\n<DataSet timestep=\"x\" file=\"cavity_20.vtm\"/>",
    );
    assert_input_error(err, &pvd, &[":5", "timestep=\"x\" is not a number"]);
    let err = write("<DataSet timestep=\"0\" part=\"1\" file=\"cavity_0.vtm\"/>");
    assert_input_error(err, &pvd, &["part other than 0"]);
    let err = write("<DataSet timestep=\"0\"/>");
    assert_input_error(err, &pvd, &["without file"]);
    let err = write("<DataSet timestep=\"inf\" file=\"cavity_0.vtm\"/>");
    assert_input_error(err, &pvd, &["expected a finite number"]);
    let err = write("<DataSet timestep=\"0\" file=\"cavity_0.vtm\">");
    assert_input_error(err, &pvd, &["malformed XML"]);
}

// ---------------------------------------------------------------------------------------
// Cases over a series

use nabla::eval::{EvalOptions, Operator, Points, evaluate};
use nabla::field::expr::ExprField;
use nabla::field::time::ddt_weights;
use nabla::io::{PointArray, write_pvd, write_vtu};
use rand::{Rng, SeedableRng};

/// The `TimeValue` field-data array of an XML file nabla wrote (uncompressed Float64).
fn time_value(file: &Path) -> Option<f64> {
    use base64::Engine;
    let text = std::fs::read_to_string(file).unwrap();
    let at = text.find("Name=\"TimeValue\"")?;
    let body = &text[at..];
    let start = body.find('>')? + 1;
    let end = body.find("</DataArray>")?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(body[start..end].trim())
        .unwrap();
    assert_eq!(u64::from_le_bytes(bytes[..8].try_into().unwrap()), 8);
    Some(f64::from_le_bytes(bytes[8..16].try_into().unwrap()))
}

/// The `(timestep, file)` entries of a `.pvd` nabla wrote.
fn pvd_entries(file: &Path) -> Vec<(f64, String)> {
    let text = std::fs::read_to_string(file).unwrap();
    text.split("<DataSet")
        .skip(1)
        .map(|d| {
            let attr = |k: &str| {
                let a = &d[d.find(&format!("{k}=\"")).unwrap() + k.len() + 2..];
                a[..a.find('"').unwrap()].to_string()
            };
            (attr("timestep").parse().unwrap(), attr("file"))
        })
        .collect()
}

fn array<'a>(arrays: &'a [(String, usize, Vec<f64>)], name: &str) -> &'a [f64] {
    &arrays
        .iter()
        .find(|a| a.0 == name)
        .unwrap_or_else(|| panic!("no array {name}"))
        .2
}

fn run(dir: &Path) -> String {
    let out = super::cases::nabla(dir, &[]);
    assert!(
        out.status.success(),
        "{}\n{}",
        super::cases::stdout(&out),
        super::cases::stderr(&out)
    );
    super::cases::stdout(&out)
}

fn fails(dir: &Path, needles: &[&str]) {
    let out = super::cases::nabla(dir, &[]);
    let err = super::cases::stderr(&out);
    assert!(!out.status.success(), "expected a failure: {err}");
    for n in needles {
        assert!(err.contains(n), "stderr lacks `{n}`: {err}");
    }
    assert!(!dir.join("VTK").exists(), "a failed run wrote VTK/");
}

#[test]
fn case_over_foamtovtk_series_writes_each_time_with_its_data_and_time() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&cavity(), &dir.path().join("foam"));
    std::fs::write(
        dir.path().join("case.toml"),
        "[points]\nkind = \"mesh\"\nfile = \"foam/cavity.vtm.series\"\n\n[output]\nname = \"cav\"\n\n\
         [[field]]\nname = \"U\"\ndata = \"U\"\noperators = [\"curl\", \"advection\", \"ddt\", \"DDt\"]\n",
    )
    .unwrap();
    let stdout = run(dir.path());
    assert!(
        stdout.contains("times t = 0, 0.1, 0.2, 0.3 of the series"),
        "{stdout}"
    );
    let vtk = dir.path().join("VTK");
    let entries = pvd_entries(&vtk.join("cav.pvd"));
    assert_eq!(
        entries,
        [0.0, 0.1, 0.2, 0.3]
            .iter()
            .enumerate()
            .map(|(k, &t)| (t, format!("cav_{k}.vtu")))
            .collect::<Vec<_>>()
    );
    for (k, (t, name)) in entries.iter().enumerate() {
        let file = vtk.join(name);
        assert_eq!(time_value(&file), Some(*t), "{name}");
        // The input arrays carried are this time's, point and cell data alike.
        let input = read_mesh(&cavity().join(format!("cavity_{}.vtm", 20 * k))).unwrap();
        let written = super::io::vtkio_point_arrays(&file);
        assert_eq!(
            array(&written, "U (input)"),
            input.point_array("U").unwrap().values
        );
        let back = read_mesh(&file).unwrap();
        assert_eq!(
            back.cell_array("U").unwrap().values,
            input.cell_array("U").unwrap().values
        );
        // DDt = ddt + (U·∇)U.
        let (adv, ddt, material) = (
            array(&written, "advection(U)"),
            array(&written, "ddt(U)"),
            array(&written, "DDt(U)"),
        );
        for i in 0..ddt.len() {
            assert!((material[i] - (ddt[i] + adv[i])).abs() <= 1e-12 * (1.0 + adv[i].abs()));
        }
    }
    // The reconstruction is linear in the values over stencils that depend on the points
    // alone, so ddt(U) at t = 0.1 is the central difference of the reconstructed U at
    // t = 0 and 0.2 (weights ∓5 of the quadratic through three equally spaced times).
    let at = |k: usize, name: &str| {
        let arrays = super::io::vtkio_point_arrays(&vtk.join(format!("cav_{k}.vtu")));
        array(&arrays, name).to_vec()
    };
    let (u0, u2, ddt1) = (at(0, "U"), at(2, "U"), at(1, "ddt(U)"));
    let scale = u2.iter().fold(0.0f64, |m, v| m.max(v.abs())) / 0.2;
    let worst = (0..ddt1.len())
        .map(|i| (ddt1[i] - (u2[i] - u0[i]) / 0.2).abs())
        .fold(0.0, f64::max);
    assert!(
        worst <= 1e-12 * scale,
        "ddt(U) at t = 0.1 off by {worst:e} (scale {scale:e})"
    );
    assert!(ddt1.iter().any(|&v| v.abs() > 1e-3 * scale));
    // VTK reads the series with its times.
    if let Some(out) = super::io::vtk_check(&[&vtk.join("cav.pvd")]) {
        let sets = out.as_object().unwrap().values().next().unwrap()["datasets"].clone();
        let steps: Vec<f64> = sets
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["timestep"].as_f64().unwrap())
            .collect();
        assert_eq!(steps, [0.0, 0.1, 0.2, 0.3]);
    }
}

/// Writes a series of `.vtu` point clouds at `times` with the vector `u(x, t)` and a
/// `.pvd` listing them (in reverse order, which the reader sorts); returns the points.
fn write_series(dir: &Path, times: &[f64], u: impl Fn([f64; 3], f64) -> [f64; 3]) -> Vec<[f64; 3]> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    let points: Vec<[f64; 3]> = (0..300)
        .map(|_| [rng.random(), rng.random(), rng.random()])
        .collect();
    let mut entries = Vec::new();
    for (k, &t) in times.iter().enumerate().rev() {
        let values: Vec<f64> = points.iter().flat_map(|&p| u(p, t)).collect();
        let mesh = Mesh {
            points: points.clone(),
            ..Mesh::default()
        };
        let name = format!("data_{k}.vtu");
        write_vtu(&dir.join(&name), &mesh, &[PointArray::new("U", 3, values)]).unwrap();
        entries.push((t, name));
    }
    write_pvd(&dir.join("data.pvd"), &entries).unwrap();
    points
}

const DATA_CASE: &str = "[points]\nkind = \"mesh\"\nfile = \"data.pvd\"\n\n\
    [reconstruction]\ndegree = 2\n\n[[field]]\nname = \"U\"\ndata = \"U\"\n\
    operators = [\"ddt\", \"DDt\"]\n";

/// f(x) = (x², xy, 1 + z), a quadratic the degree-2 reconstruction reproduces exactly.
fn f(p: [f64; 3]) -> [f64; 3] {
    [p[0] * p[0], p[0] * p[1], 1.0 + p[2]]
}

#[test]
fn ddt_of_data_quadratic_in_time_is_exact_with_three_uneven_times() {
    // u = f(x) g(t), g = 1 + 2t − 3t²: ∂u/∂t = f(x)(2 − 6t), exactly from the quadratic
    // through three times, at every one of them (one-sided at the first and last).
    let times = [0.0, 0.3, 1.0];
    let g = |t: f64| 1.0 + 2.0 * t - 3.0 * t * t;
    let dir = tempfile::tempdir().unwrap();
    let points = write_series(dir.path(), &times, |p, t| f(p).map(|v| v * g(t)));
    std::fs::write(dir.path().join("case.toml"), DATA_CASE).unwrap();
    run(dir.path());
    let mut worst: f64 = 0.0;
    for (k, &t) in times.iter().enumerate() {
        let file = dir.path().join(format!(
            "VTK/{}_{k}.vtu",
            dir.path().file_name().unwrap().to_str().unwrap()
        ));
        assert_eq!(time_value(&file), Some(t));
        let arrays = super::io::vtkio_point_arrays(&file);
        let (ddt, ddt_full) = (array(&arrays, "ddt(U)"), array(&arrays, "DDt(U)"));
        for (i, &p) in points.iter().enumerate() {
            let fp = f(p);
            let gt = g(t);
            // J of f: [[2x, 0, 0], [y, x, 0], [0, 0, 1]]; (u·∇)u = g² J f.
            let jf = [2.0 * p[0] * fp[0], p[1] * fp[0] + p[0] * fp[1], fp[2]];
            for c in 0..3 {
                let want = fp[c] * (2.0 - 6.0 * t);
                worst = worst.max((ddt[3 * i + c] - want).abs());
                let material = want + gt * gt * jf[c];
                worst = worst.max((ddt_full[3 * i + c] - material).abs());
            }
        }
    }
    eprintln!("ddt and DDt of data quadratic in time (3 uneven times): largest error {worst:e}");
    assert!(worst < 1e-10, "largest error {worst:e}");
}

#[test]
fn ddt_of_data_linear_in_time_is_exact_with_two_times() {
    let times = [0.5, 2.0];
    let dir = tempfile::tempdir().unwrap();
    let points = write_series(dir.path(), &times, |p, t| f(p).map(|v| v * (3.0 - 4.0 * t)));
    std::fs::write(dir.path().join("case.toml"), DATA_CASE).unwrap();
    run(dir.path());
    let name = dir
        .path()
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    for k in 0..2 {
        let arrays = super::io::vtkio_point_arrays(&dir.path().join(format!("VTK/{name}_{k}.vtu")));
        let ddt = array(&arrays, "ddt(U)");
        for (i, &p) in points.iter().enumerate() {
            for c in 0..3 {
                let want = -4.0 * f(p)[c];
                assert!(
                    (ddt[3 * i + c] - want).abs() < 1e-10,
                    "{} vs {want}",
                    ddt[3 * i + c]
                );
            }
        }
    }
}

#[test]
fn ddt_weights_converge_at_second_order_on_uneven_times() {
    // g = sin(3t) on times t_i = h (i + 0.3 sin i) over [0, 1]: the largest error of ∂/∂t
    // (interior and one-sided ends) falls as h² (one-sided: also h², with a larger constant).
    let error = |n: usize| {
        let h = 1.0 / n as f64;
        let times: Vec<f64> = (0..=n)
            .map(|i| h * (i as f64 + 0.3 * (i as f64).sin()))
            .collect();
        (0..times.len())
            .map(|k| {
                let w = ddt_weights(&times, k).unwrap();
                let d: f64 = w.iter().map(|&(j, w)| w * (3.0 * times[j]).sin()).sum();
                (d - 3.0 * (3.0 * times[k]).cos()).abs()
            })
            .fold(0.0, f64::max)
    };
    let (e1, e2, e3) = (error(20), error(40), error(80));
    let (o1, o2) = ((e1 / e2).log2(), (e2 / e3).log2());
    eprintln!(
        "ddt of sin(3t), uneven times: errors {e1:.2e} {e2:.2e} {e3:.2e}, orders {o1:.2} {o2:.2}"
    );
    assert!(o1 > 1.8 && o2 > 1.8, "orders {o1} {o2}");
    // Two times: first order, exact for a line.
    let w = ddt_weights(&[1.0, 1.5], 1).unwrap();
    assert_eq!(w, [(0, -2.0), (1, 2.0)]);
    // The unhappy paths.
    for (times, k, needle) in [
        (&[1.0][..], 0, "two times or more"),
        (&[0.0, 1.0, 1.0][..], 0, "not increasing"),
        (&[0.0, 2.0, 1.0][..], 0, "not increasing"),
        (&[0.0, f64::NAN][..], 0, "finite"),
        (&[0.0, 1.0][..], 2, "index 2"),
    ] {
        let e = ddt_weights(times, k).unwrap_err().to_string();
        assert!(e.contains(needle), "{e}");
    }
}

#[test]
fn ddt_and_ddt_material_of_formulas_are_exact() {
    // u = (sin x · e^{−2t}, cos y · t², x z t): ∂u/∂t = (−2 sin x e^{−2t}, 2t cos y, x z),
    // by forward mode in t; DDt = ∂u/∂t + J u with J = [[cos x e, 0, 0], [0, −sin y t², 0],
    // [z t, 0, x t]].
    let t = 0.7;
    let u = ExprField::new(&["sin(x)*exp(-2*t)", "cos(y)*t^2", "x*z*t"], 3, t, &[]).unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
    let rows: Vec<[f64; 3]> = (0..500)
        .map(|_| {
            [
                rng.random_range(-2.0..2.0),
                rng.random_range(-2.0..2.0),
                rng.random_range(-2.0..2.0),
            ]
        })
        .collect();
    let pts = Points::from_rows(3, &rows).unwrap();
    let out = evaluate(
        &u,
        &pts,
        &[Operator::Ddt, Operator::DDt],
        &EvalOptions::default(),
    )
    .unwrap();
    assert_eq!(out[0].name, "ddt(U)");
    assert_eq!(out[1].name, "DDt(U)");
    let e = (-2.0 * t).exp();
    for (i, p) in rows.iter().enumerate() {
        let (x, y, z) = (p[0], p[1], p[2]);
        let val = [x.sin() * e, y.cos() * t * t, x * z * t];
        let dt = [-2.0 * x.sin() * e, 2.0 * t * y.cos(), x * z];
        let adv = [
            x.cos() * e * val[0],
            -y.sin() * t * t * val[1],
            z * t * val[0] + x * t * val[2],
        ];
        for c in 0..3 {
            approx::assert_relative_eq!(
                out[0].values[3 * i + c],
                dt[c],
                max_relative = 1e-14,
                epsilon = 1e-15
            );
            approx::assert_relative_eq!(
                out[1].values[3 * i + c],
                dt[c] + adv[c],
                max_relative = 1e-13,
                epsilon = 1e-14
            );
        }
    }
    // A closure does not know its time dependence: a typed error, not a panic.
    let closure = nabla::field::FnField::new(3, |x| x.to_vec());
    let e = evaluate(&closure, &pts, &[Operator::Ddt], &EvalOptions::default()).unwrap_err();
    assert!(
        e.to_string().contains("does not know its time derivative"),
        "{e}"
    );
}

#[test]
fn formula_series_files_hold_their_times() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("case.toml"),
        "times = [0.5, 2]\n[points]\nkind = \"lattice\"\ncounts = [5, 4]\nbounds = [[0, 1], [0, 1]]\n\n\
         [output]\nname = \"f\"\n\n[[field]]\nname = \"u\"\nvalue = \"x*t^3\"\noperators = [\"ddt\"]\n\n\
         [field.exact]\nddt = \"3*x*t^2\"\n",
    )
    .unwrap();
    run(dir.path());
    let vtk = dir.path().join("VTK");
    assert_eq!(
        pvd_entries(&vtk.join("f.pvd")),
        [(0.5, "f_0.vti".to_string()), (2.0, "f_1.vti".to_string())]
    );
    for (k, t) in [0.5, 2.0].into_iter().enumerate() {
        let file = vtk.join(format!("f_{k}.vti"));
        assert_eq!(time_value(&file), Some(t));
        let arrays = super::io::vtkio_point_arrays(&file);
        assert!(
            array(&arrays, "error(ddt(u))")
                .iter()
                .all(|e| e.abs() <= 1e-15)
        );
    }
}

#[test]
fn series_cases_refuse_what_cannot_be_computed() {
    let case = |toml: &str| {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(&cavity(), &dir.path().join("foam"));
        std::fs::write(dir.path().join("case.toml"), toml).unwrap();
        dir
    };
    let field = "\n[[field]]\nname = \"U\"\ndata = \"U\"\noperators = [\"ddt\"]\n";
    let mesh = |file: &str| format!("[points]\nkind = \"mesh\"\nfile = \"{file}\"\n");
    // `times` with a single data file: every time would be the same data.
    let dir = case(&format!(
        "times = [0, 1]\n{}{field}",
        mesh("foam/cavity_20/internal.vtu")
    ));
    fails(dir.path(), &["case.toml:1", "holds one time", "a copy"]);
    // ddt of a single data file.
    let dir = case(&format!("{}{field}", mesh("foam/cavity_20.vtm")));
    fails(dir.path(), &["ddt and DDt", "needs a series"]);
    // A time the series does not have.
    let dir = case(&format!(
        "times = [0.1, 0.15]\n{}{field}",
        mesh("foam/cavity.vtm.series")
    ));
    fails(
        dir.path(),
        &["0.15 is not a time of the series", "0, 0.1, 0.2, 0.3"],
    );
    // A series of one time.
    let dir = case(&format!("{}{field}", mesh("foam/one.vtm.series")));
    std::fs::write(
        dir.path().join("foam/one.vtm.series"),
        r#"{"file-series-version": "1.0", "files": [{"name": "cavity_20.vtm", "time": 0.1}]}"#,
    )
    .unwrap();
    fails(dir.path(), &["has one time", "two or more"]);
    // A series whose meshes differ between times.
    let dir = case(&format!("{}{field}", mesh("foam/cavity.vtm.series")));
    let other = Mesh {
        points: vec![[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]],
        ..Mesh::default()
    };
    let internal = dir.path().join("foam/cavity_40/internal.vtu");
    write_vtu(&internal, &other, &[PointArray::new("U", 3, vec![0.0; 9])]).unwrap();
    std::fs::remove_dir_all(dir.path().join("foam/cavity_40/boundary")).unwrap();
    std::fs::write(
        dir.path().join("foam/cavity_40.vtm"),
        "<VTKFile type='vtkMultiBlockDataSet'><vtkMultiBlockDataSet>\
         <DataSet name='internal' file='cavity_40/internal.vtu'/></vtkMultiBlockDataSet></VTKFile>",
    )
    .unwrap();
    fails(
        dir.path(),
        &[
            "at t = 0.2",
            "3 points",
            "expected the same mesh at every time",
        ],
    );
    // A series with a missing file.
    let dir = case(&format!("{}{field}", mesh("foam/cavity.vtm.series")));
    std::fs::remove_file(dir.path().join("foam/cavity_60.vtm")).unwrap();
    fails(
        dir.path(),
        &["cavity.vtm.series", "`cavity_60.vtm` cannot be opened"],
    );
}
