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
