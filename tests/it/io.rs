//! VTK input and output: OpenFOAM meshes, round trips, error paths, and VTK's own readers.

use std::path::{Path, PathBuf};

use approx::assert_abs_diff_eq;
use nabla::Error;
use nabla::io::{
    Cells, ImageGrid, Mesh, PointArray, read_mesh, write_pvd, write_vti, write_vtp, write_vtu,
};
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use vtkio::model::{Attribute, DataSet, Piece};

pub(crate) use crate::common::run_vtk_python;

fn openfoam(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/openfoam")
        .join(name)
}

/// Names of the entries of a directory, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Asserts that `err` is an `Error::Io` (`io = true`) or `Error::Input` about `path`, that its
/// message names the file and contains `needle`.
fn assert_error(err: Error, io: bool, path: &Path, needle: &str) {
    let text = err.to_string();
    match &err {
        Error::Io { path: p, .. } if io => assert_eq!(p, path, "{text}"),
        Error::Input { path: p, .. } if !io => assert_eq!(p, path, "{text}"),
        other => panic!(
            "expected Error::{} about {}, got {other:?}",
            if io { "Io" } else { "Input" },
            path.display()
        ),
    }
    assert!(
        text.contains(&path.display().to_string()),
        "message does not name the file: {text}"
    );
    assert!(text.contains(needle), "message lacks `{needle}`: {text}");
}

/// Point arrays of an XML file, read back with vtkio's own importer: (name, components,
/// values).
pub(crate) fn vtkio_point_arrays(path: &Path) -> Vec<(String, usize, Vec<f64>)> {
    let vtk = vtkio::Vtk::import(path).expect("vtkio reads what nabla wrote");
    let attributes = match vtk.data {
        DataSet::ImageData { pieces, .. } => inline(pieces).data,
        DataSet::PolyData { pieces, .. } => inline(pieces).data,
        DataSet::UnstructuredGrid { pieces, .. } => inline(pieces).data,
        other => panic!("unexpected data set {other:?}"),
    };
    // Cell arrays are the input mesh's, carried through (checked where that is tested).
    attributes
        .point
        .into_iter()
        .map(|a| match a {
            Attribute::DataArray(a) => {
                let comps = a.num_comp();
                // The validity mask is Int8, as VTK's resampling filters write it.
                let values = if a.name == "vtkValidPointMask" {
                    a.data.cast_into::<f64>().expect("the mask is numeric")
                } else {
                    a.data.into_vec::<f64>().expect("arrays are Float64")
                };
                (a.name, comps, values)
            }
            Attribute::Field { .. } => panic!("unexpected field data"),
        })
        .collect()
}

fn inline<P>(mut pieces: Vec<Piece<P>>) -> P {
    assert_eq!(pieces.len(), 1);
    match pieces.remove(0) {
        Piece::Inline(p) => *p,
        _ => panic!("expected an inline piece"),
    }
}

fn random_points(n: usize, seed: u64) -> Vec<[f64; 3]> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| std::array::from_fn(|_| rng.random_range(-1.0..1.0)))
        .collect()
}

/// A scalar, a vector and a tensor with names that need care (parentheses, XML specials),
/// and values that do not survive f32.
fn sample_arrays(points: &[[f64; 3]]) -> Vec<PointArray> {
    let p = |f: fn(&[f64; 3]) -> Vec<f64>| points.iter().flat_map(f).collect::<Vec<f64>>();
    vec![
        PointArray::new("f", 1, p(|x| vec![x[0] * x[1] + 1.0 / 3.0])),
        PointArray::new(
            "grad(U)",
            3,
            p(|x| vec![x[0].sin(), x[1].exp(), 1e-300 * x[2]]),
        ),
        PointArray::new(
            "curl(U) <&\"'>",
            9,
            p(|x| (0..9).map(|k| x[k % 3] * k as f64 + 0.1).collect()),
        ),
    ]
}

fn assert_arrays_exact(got: &[(String, usize, Vec<f64>)], want: &[PointArray]) {
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(want) {
        assert_eq!(g.0, w.name);
        assert_eq!(g.1, w.components, "components of {}", w.name);
        // Bitwise equality: Float64 round trips exactly.
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&g.2), bits(&w.values), "values of {}", w.name);
    }
}

// ---------------------------------------------------------------------------------------
// OpenFOAM's foamToVTK output

#[test]
fn openfoam_cavity_xml_and_legacy_read_the_same_hexahedra() {
    for time in ["0", "0.5"] {
        let xml = read_mesh(&openfoam(&format!("cavity_t{time}.vtu"))).unwrap();
        let legacy = read_mesh(&openfoam(&format!("cavity_t{time}.vtk"))).unwrap();
        for mesh in [&xml, &legacy] {
            assert_eq!(mesh.points.len(), 882);
            assert_eq!(mesh.num_cells(), 400);
            let cells = mesh.cells.as_ref().unwrap();
            assert!(cells.types.iter().all(|&t| t == 12), "all hexahedra");
            assert_eq!(cells.connectivity.len(), 8 * 400);
            assert_eq!(cells.offsets.last(), Some(&3200));
            let b = mesh.bounds();
            // float32 coordinates: 0.1f32 = 0.100000001…
            for (d, hi) in [0.1, 0.1, 0.01].into_iter().enumerate() {
                assert_abs_diff_eq!(b[d][0], 0.0, epsilon = 1e-7);
                assert_abs_diff_eq!(b[d][1], hi, epsilon = 1e-7);
            }
        }
        // Both are float32 from the same mesh: identical points and cells.
        assert_eq!(xml.points, legacy.points);
        assert_eq!(xml.cells, legacy.cells);
    }
}

#[test]
fn openfoam_cavity_round_trips_through_write_vtu() {
    let dir = tempfile::tempdir().unwrap();
    let mesh = read_mesh(&openfoam("cavity_t0.5.vtu")).unwrap();
    let arrays = sample_arrays(&mesh.points);
    let out = dir.path().join("cavity.vtu");
    write_vtu(&out, &mesh, &arrays).unwrap();
    let back = read_mesh(&out).unwrap();
    assert_eq!(back.points, mesh.points, "points unchanged");
    assert_eq!(back.cells, mesh.cells, "cells unchanged");
    // The mesh's cell arrays (OpenFOAM's p and U) are carried through exactly; the point
    // arrays are the ones given, not the mesh's own.
    assert_eq!(mesh.cell_data.len(), 2);
    assert_eq!(back.cell_data, mesh.cell_data);
    assert_eq!(back.point_data, arrays);
    assert_arrays_exact(&vtkio_point_arrays(&out), &arrays);
    assert_eq!(
        listing(dir.path()),
        ["cavity.vtu"],
        "no temporary file left"
    );
}

#[test]
fn files_written_by_vtk_itself_read_the_same_cavity() {
    let reference = read_mesh(&openfoam("cavity_t0.vtu")).unwrap();
    let vtk = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/vtk");
    for name in [
        "appended_raw_zlib.vtu",
        "appended_b64_lz4.vtu",
        "vtk9_binary.vtk",
    ] {
        let mesh = read_mesh(&vtk.join(name)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(mesh, reference, "{name}");
    }
    let surface = read_mesh(&vtk.join("surface_appended_raw.vtp")).unwrap();
    assert_eq!(surface.points, reference.points);
    let cells = surface.cells.unwrap();
    assert_eq!(cells.len(), 880);
    assert!(cells.types.iter().all(|&t| t == 9), "quads");
}

#[test]
fn vtkio_panic_on_compressed_empty_poly_arrays_is_an_input_error() {
    // VTK writes empty Verts/Lines/Strips arrays; compressed, vtkio 0.7.0-rc2 panics on them
    // (capacity overflow); the block header check now refuses them before vtkio sees them.
    // read_mesh must turn that into an error, not a crash.
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/vtk/surface_inline_zlib.vtp");
    assert_error(
        read_mesh(&path).unwrap_err(),
        false,
        &path,
        "announces 0 blocks of 32768 bytes",
    );
}

#[test]
fn raw_appended_data_cut_short_is_an_input_error() {
    let dir = tempfile::tempdir().unwrap();
    let vtk = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/vtk");
    let bytes = std::fs::read(vtk.join("appended_raw_zlib.vtu")).unwrap();
    let path = dir.path().join("cut.vtu");
    for cut in (0..bytes.len()).step_by(97) {
        std::fs::write(&path, &bytes[..cut]).unwrap();
        assert_error(read_mesh(&path).unwrap_err(), false, &path, "");
    }
}

// ---------------------------------------------------------------------------------------
// Round trips

#[test]
fn vtp_round_trip_gives_one_vertex_per_point_and_exact_arrays() {
    let dir = tempfile::tempdir().unwrap();
    let points = random_points(257, 1);
    let arrays = sample_arrays(&points);
    let out = dir.path().join("cloud.vtp");
    write_vtp(&out, &points, &arrays).unwrap();
    let mesh = read_mesh(&out).unwrap();
    assert_eq!(mesh.points, points, "f64 points exactly");
    let cells = mesh.cells.unwrap();
    assert_eq!(cells.types, vec![1u8; 257], "vertex cells");
    assert_eq!(cells.connectivity, (0..257).collect::<Vec<u64>>());
    assert_eq!(cells.offsets, (1..=257).collect::<Vec<u64>>());
    assert_arrays_exact(&vtkio_point_arrays(&out), &arrays);
}

#[test]
fn vtu_round_trip_keeps_mixed_cells_exactly() {
    let dir = tempfile::tempdir().unwrap();
    // A tetrahedron, a wedge and a pyramid sharing points.
    let mesh = Mesh {
        points: random_points(9, 2),
        cells: Some(Cells {
            connectivity: vec![0, 1, 2, 3, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4],
            offsets: vec![4, 10, 15],
            types: vec![10, 13, 14],
            ..Default::default()
        }),
        ..Default::default()
    };
    let arrays = sample_arrays(&mesh.points);
    let out = dir.path().join("mixed.vtu");
    write_vtu(&out, &mesh, &arrays).unwrap();
    let back = read_mesh(&out).unwrap();
    assert_eq!((&back.points, &back.cells), (&mesh.points, &mesh.cells));
    assert_eq!(back.point_data, arrays);
    assert_arrays_exact(&vtkio_point_arrays(&out), &arrays);
}

#[test]
fn vtu_of_a_mesh_without_cells_gets_vertex_cells() {
    let dir = tempfile::tempdir().unwrap();
    let mesh = Mesh {
        points: random_points(5, 3),
        cells: None,
        ..Default::default()
    };
    let out = dir.path().join("bare.vtu");
    write_vtu(&out, &mesh, &[]).unwrap();
    let back = read_mesh(&out).unwrap();
    assert_eq!(back.points, mesh.points);
    assert_eq!(back.cells.unwrap().types, vec![1u8; 5]);
}

#[test]
fn vti_arrays_round_trip_in_x_fastest_order() {
    let dir = tempfile::tempdir().unwrap();
    let grid = ImageGrid {
        origin: [-1.0, 0.5, 2.0],
        spacing: [0.1, 1.0 / 3.0, 0.25],
        dims: [4, 3, 2],
    };
    assert_eq!(grid.num_points(), 24);
    // Point order: x fastest, then y, then z.
    assert_eq!(grid.point(1), [-0.9, 0.5, 2.0]);
    assert_eq!(grid.point(4), [-1.0, 0.5 + 1.0 / 3.0, 2.0]);
    assert_eq!(grid.point(12), [-1.0, 0.5, 2.25]);
    let points: Vec<[f64; 3]> = (0..24).map(|i| grid.point(i)).collect();
    let arrays = sample_arrays(&points);
    let out = dir.path().join("lattice.vti");
    write_vti(&out, &grid, &arrays).unwrap();
    assert_arrays_exact(&vtkio_point_arrays(&out), &arrays);
    // vtkio keeps origin and spacing as f32; the file must carry the f64 values.
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("Origin=\"-1.0 0.5 2.0\""), "{}", &text[..300]);
    assert!(
        text.contains("Spacing=\"0.1 0.3333333333333333 0.25\""),
        "{}",
        &text[..300]
    );
    assert!(text.contains("WholeExtent=\"0 3 0 2 0 1\""));
}

#[test]
fn vti_of_a_2d_lattice_has_one_layer() {
    let dir = tempfile::tempdir().unwrap();
    let grid = ImageGrid {
        origin: [0.0; 3],
        spacing: [1.0; 3],
        dims: [3, 2, 1],
    };
    let out = dir.path().join("flat.vti");
    let f = PointArray::new("f", 1, (0..6).map(f64::from).collect());
    write_vti(&out, &grid, std::slice::from_ref(&f)).unwrap();
    assert_arrays_exact(&vtkio_point_arrays(&out), &[f]);
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("WholeExtent=\"0 2 0 1 0 0\""));
}

#[test]
fn pvd_lists_time_steps_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("series.pvd");
    write_pvd(&out, &[(0.0, "u_0.vtu"), (0.5, "VTK/u & v_1.vtu")]).unwrap();
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("<VTKFile type=\"Collection\" version=\"0.1\">"));
    let first = text
        .find("<DataSet timestep=\"0.0\" part=\"0\" file=\"u_0.vtu\"/>")
        .expect("first entry");
    let second = text
        .find("<DataSet timestep=\"0.5\" part=\"0\" file=\"VTK/u &amp; v_1.vtu\"/>")
        .expect("second entry, escaped");
    assert!(first < second);
}

#[test]
fn written_files_are_readable_by_others_not_private_like_temporary_files() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let new = dir.path().join("new.vtp");
    write_vtp(&new, &random_points(2, 13), &[]).unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&new), 0o644);
    // Replacing a file keeps its permissions.
    let old = dir.path().join("old.pvd");
    std::fs::write(&old, "x").unwrap();
    std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o640)).unwrap();
    write_pvd(&old, &[(0.0, "new.vtp")]).unwrap();
    assert_eq!(mode(&old), 0o640);
}

#[test]
fn writing_over_an_existing_file_replaces_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cloud.vtp");
    std::fs::write(&out, "old").unwrap();
    write_vtp(&out, &random_points(3, 4), &[]).unwrap();
    assert_eq!(read_mesh(&out).unwrap().points.len(), 3);
    assert_eq!(listing(dir.path()), ["cloud.vtp"]);
}

// ---------------------------------------------------------------------------------------
// Legacy ASCII files

#[test]
fn legacy_ascii_unstructured_grid_with_field_block_reads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("quad.vtk");
    std::fs::write(
        &path,
        "# vtk DataFile Version 2.0\nquad and triangle\nASCII\nDATASET UNSTRUCTURED_GRID\n\
FIELD FieldData 2\nTimeValue 1 1 double\n0.25\nnames 2 2 float\n1 2\n3 4\n\
POINTS 5 double\n0 0 0 1 0 0 1 1 0 0 1 0 0.5 1.5 0\n\
CELLS 2 9\n4 0 1 2 3\n3 3 2 4\nCELL_TYPES 2\n9\n5\n\
POINT_DATA 5\nSCALARS p float 1\nLOOKUP_TABLE default\n1 2 3 4 5\n",
    )
    .unwrap();
    let mesh = read_mesh(&path).unwrap();
    assert_eq!(mesh.points[4], [0.5, 1.5, 0.0]);
    assert_eq!(
        mesh.cells,
        Some(Cells {
            connectivity: vec![0, 1, 2, 3, 3, 2, 4],
            offsets: vec![4, 7],
            types: vec![9, 5],
            ..Default::default()
        })
    );
}

#[test]
fn legacy_version_5_offsets_lose_their_leading_zero() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v5.vtk");
    std::fs::write(
        &path,
        "# vtk DataFile Version 5.1\ntet\nASCII\nDATASET UNSTRUCTURED_GRID\n\
POINTS 4 float\n0 0 0 1 0 0 0 1 0 0 0 1\n\
CELLS 2 4\nOFFSETS vtktypeint64\n0 4\nCONNECTIVITY vtktypeint64\n0 1 2 3\n\
CELL_TYPES 1\n10\n",
    )
    .unwrap();
    let cells = read_mesh(&path).unwrap().cells.unwrap();
    assert_eq!(cells.offsets, vec![4]);
    assert_eq!(cells.connectivity, vec![0, 1, 2, 3]);
    assert_eq!(cells.types, vec![10]);
}

#[test]
fn legacy_ascii_polydata_cells_are_typed_as_vtk_types_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("poly.vtk");
    std::fs::write(
        &path,
        "# vtk DataFile Version 3.0\npoly\nASCII\nDATASET POLYDATA\n\
POINTS 5 float\n0 0 0 1 0 0 1 1 0 0 1 0 2 2 0\n\
POLYGONS 2 9\n3 0 1 2\n4 0 1 2 3\n\
LINES 1 4\n3 0 1 4\n",
    )
    .unwrap();
    let cells = read_mesh(&path).unwrap().cells.unwrap();
    // Lines before polys; a 3-point line is a poly-line (4); polys: triangle 5, quad 9.
    assert_eq!(cells.types, vec![4, 5, 9]);
    assert_eq!(cells.offsets, vec![3, 6, 10]);
    assert_eq!(cells.connectivity, vec![0, 1, 4, 0, 1, 2, 0, 1, 2, 3]);
}

// ---------------------------------------------------------------------------------------
// Read errors

#[test]
fn read_missing_file_is_an_io_error_naming_it() {
    let path = Path::new("/nonexistent/dir/mesh.vtu");
    assert_error(read_mesh(path).unwrap_err(), true, path, "cannot read");
}

#[test]
fn read_unknown_extension_is_an_io_error_listing_the_known_ones() {
    for name in ["mesh.stl", "mesh", "mesh.vti"] {
        let path = openfoam(name);
        assert_error(read_mesh(&path).unwrap_err(), true, &path, ".vtk");
    }
}

#[test]
fn read_truncated_files_is_an_input_error_never_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["cavity_t0.vtu", "cavity_t0.vtk"] {
        let bytes = std::fs::read(openfoam(name)).unwrap();
        let path = dir.path().join(name);
        // Cut everywhere in the first 600 bytes (headers, tags), then every 211 bytes, and
        // just before the end.
        let cuts = (0..600)
            .chain((600..bytes.len()).step_by(211))
            .chain(bytes.len() - 40..bytes.len() - 1);
        for cut in cuts {
            std::fs::write(&path, &bytes[..cut]).unwrap();
            match read_mesh(&path) {
                Err(e) => assert_error(e, false, &path, ""),
                // A cut inside the trailing cell or point data section of a legacy file
                // still leaves a complete mesh.
                Ok(mesh) => {
                    assert!(
                        name.ends_with(".vtk"),
                        "truncated XML at {cut} read as a mesh"
                    );
                    assert_eq!((mesh.points.len(), mesh.num_cells()), (882, 400));
                }
            }
        }
    }
}

#[test]
fn read_random_bytes_is_an_input_error_never_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let vtu = std::fs::read(openfoam("cavity_t0.vtu")).unwrap();
    for i in 0..60 {
        let ext = ["vtk", "vtu", "vtp"][i % 3];
        let path = dir.path().join(format!("random{i}.{ext}"));
        let mut bytes = vec![0u8; rng.random_range(0..4000)];
        rng.fill_bytes(&mut bytes);
        if i % 2 == 1 {
            // Valid headers followed by garbage reach deeper into the parsers.
            let head: &[u8] = match ext {
                "vtk" => b"# vtk DataFile Version 2.0\nx\nBINARY\nDATASET UNSTRUCTURED_GRID\nPOINTS 882 float\n",
                _ => &vtu[..1200 + i * 7],
            };
            bytes.splice(0..0, head.iter().copied());
        }
        std::fs::write(&path, &bytes).unwrap();
        assert_error(read_mesh(&path).unwrap_err(), false, &path, "");
    }
}

#[test]
fn read_xml_with_counts_that_disagree_with_its_data_is_an_input_error() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(openfoam("cavity_t0.vtu")).unwrap();
    // The points block starts with the base64 of its UInt64 byte count (882 × 3 × 4).
    for (from, to, needle) in [
        ("NumberOfPoints='882'", "NumberOfPoints='883'", "Points"),
        ("NumberOfCells='400'", "NumberOfCells='399'", "types"),
        ("WCkAAAAAAAAA", "@@@@", "Base64"),
        ("WCkAAAAAAAAAAAAAAAAA", "WCkAAAAAAAAA", "Points"),
    ] {
        let path = dir.path().join("corrupt.vtu");
        let corrupt = text.replacen(from, to, 1);
        assert_ne!(corrupt, text);
        std::fs::write(&path, corrupt).unwrap();
        assert_error(read_mesh(&path).unwrap_err(), false, &path, needle);
    }
}

#[test]
fn read_file_without_points_is_an_input_error() {
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("image.vtk");
    std::fs::write(
        &image,
        "# vtk DataFile Version 2.0\nimage\nASCII\nDATASET STRUCTURED_POINTS\n\
DIMENSIONS 2 2 1\nORIGIN 0 0 0\nSPACING 1 1 1\n",
    )
    .unwrap();
    assert_error(
        read_mesh(&image).unwrap_err(),
        false,
        &image,
        "no point list",
    );

    let empty = dir.path().join("empty.vtu");
    std::fs::write(
        &empty,
        "<?xml version=\"1.0\"?>\n<VTKFile type=\"UnstructuredGrid\" version=\"1.0\" \
byte_order=\"LittleEndian\" header_type=\"UInt64\"><UnstructuredGrid>\
<Piece NumberOfPoints=\"0\" NumberOfCells=\"0\"></Piece></UnstructuredGrid></VTKFile>",
    )
    .unwrap();
    let err = read_mesh(&empty).unwrap_err();
    assert_error(err, false, &empty, "");
}

#[test]
fn read_cells_past_the_points_is_an_input_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.vtk");
    std::fs::write(
        &path,
        "# vtk DataFile Version 2.0\nbad\nASCII\nDATASET UNSTRUCTURED_GRID\n\
POINTS 3 float\n0 0 0 1 0 0 0 1 0\nCELLS 1 4\n3 0 1 7\nCELL_TYPES 1\n5\n",
    )
    .unwrap();
    assert_error(read_mesh(&path).unwrap_err(), false, &path, "point 7");
}

// ---------------------------------------------------------------------------------------
// Write errors: each names the file and leaves nothing on disk.

#[test]
fn write_with_mismatched_array_length_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let points = random_points(4, 6);
    let bad = [PointArray::new("grad(U)", 3, vec![0.0; 11])];
    let vtp = dir.path().join("cloud.vtp");
    assert_error(
        write_vtp(&vtp, &points, &bad).unwrap_err(),
        true,
        &vtp,
        "array `grad(U)` has 11 values; expected 3 components × 4 points = 12",
    );
    let vti = dir.path().join("grid.vti");
    let grid = ImageGrid {
        origin: [0.0; 3],
        spacing: [1.0; 3],
        dims: [2, 2, 1],
    };
    assert_error(
        write_vti(&vti, &grid, &bad).unwrap_err(),
        true,
        &vti,
        "3 components × 4 points",
    );
    let vtu = dir.path().join("mesh.vtu");
    let mesh = Mesh {
        points,
        cells: None,
        ..Default::default()
    };
    assert_error(
        write_vtu(&vtu, &mesh, &bad).unwrap_err(),
        true,
        &vtu,
        "11 values",
    );
    assert!(listing(dir.path()).is_empty(), "{:?}", listing(dir.path()));
}

#[test]
fn write_with_bad_arrays_or_lattice_is_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let points = random_points(2, 7);
    let vtp = dir.path().join("c.vtp");
    let cases: [(Vec<PointArray>, &str); 3] = [
        (vec![PointArray::new("", 1, vec![0.0; 2])], "empty name"),
        (
            vec![
                PointArray::new("f", 1, vec![0.0; 2]),
                PointArray::new("f", 1, vec![0.0; 2]),
            ],
            "named `f`",
        ),
        (
            vec![PointArray::new("f", 0, vec![])],
            "at least 1 component",
        ),
    ];
    for (arrays, needle) in cases {
        assert_error(
            write_vtp(&vtp, &points, &arrays).unwrap_err(),
            true,
            &vtp,
            needle,
        );
    }
    let vti = dir.path().join("g.vti");
    for grid in [
        ImageGrid {
            origin: [0.0; 3],
            spacing: [1.0; 3],
            dims: [2, 0, 1],
        },
        ImageGrid {
            origin: [0.0; 3],
            spacing: [1.0, -1.0, 1.0],
            dims: [2, 2, 1],
        },
        ImageGrid {
            origin: [f64::NAN, 0.0, 0.0],
            spacing: [1.0; 3],
            dims: [2, 2, 1],
        },
    ] {
        assert_error(
            write_vti(&vti, &grid, &[]).unwrap_err(),
            true,
            &vti,
            "expected",
        );
    }
    assert!(listing(dir.path()).is_empty());
}

#[test]
fn write_with_wrong_extension_is_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let wrong = dir.path().join("cloud.vtu");
    assert_error(
        write_vtp(&wrong, &[], &[]).unwrap_err(),
        true,
        &wrong,
        ".vtp",
    );
    let pvd = dir.path().join("series.xml");
    assert_error(
        write_pvd::<&str>(&pvd, &[]).unwrap_err(),
        true,
        &pvd,
        ".pvd",
    );
    assert!(listing(dir.path()).is_empty());
}

#[test]
fn write_vtu_with_inconsistent_cells_is_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.vtu");
    let points = random_points(4, 8);
    let cases = [
        (vec![0, 1, 2, 9], vec![4], vec![10], "point 9"),
        (vec![0, 1, 2, 3], vec![3], vec![10], "last cell offset"),
        (
            vec![0, 1, 2, 3],
            vec![4],
            vec![10, 10],
            "one offset per cell",
        ),
        (
            vec![0, 1, 2, 3],
            vec![4],
            vec![200],
            "unknown VTK cell type 200",
        ),
    ];
    for (connectivity, offsets, types, needle) in cases {
        let mesh = Mesh {
            points: points.clone(),
            cells: Some(Cells {
                connectivity,
                offsets,
                types,
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_error(write_vtu(&out, &mesh, &[]).unwrap_err(), true, &out, needle);
    }
    assert!(listing(dir.path()).is_empty());
}

#[test]
fn write_into_missing_directory_is_an_io_error_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("missing/cloud.vtp");
    assert_error(
        write_vtp(&out, &random_points(2, 9), &[]).unwrap_err(),
        true,
        &out,
        "temporary file",
    );
    assert!(listing(dir.path()).is_empty());
}

#[test]
fn write_failing_at_the_rename_removes_the_temporary_file() {
    // The target is a non-empty directory: the temporary file is written, the rename fails.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("taken.vtp");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("keep"), "x").unwrap();
    assert_error(
        write_vtp(&out, &random_points(2, 10), &[]).unwrap_err(),
        true,
        &out,
        "into place",
    );
    assert_eq!(listing(dir.path()), ["taken.vtp"]);
    assert_eq!(listing(&out), ["keep"]);
}

#[test]
fn write_into_read_only_directory_is_an_io_error_and_leaves_nothing() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let ro = dir.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
    let out = ro.join("cloud.vtp");
    let result = write_vtp(&out, &random_points(2, 11), &[]);
    // root ignores permissions; the check is meaningful only for other users.
    if std::fs::File::create(ro.join("probe")).is_ok() {
        std::fs::remove_file(ro.join("probe")).unwrap();
        eprintln!("notice: running as a user that can write read-only directories");
        std::fs::remove_file(&out).unwrap();
    } else {
        assert_error(result.unwrap_err(), true, &out, "");
    }
    assert!(listing(&ro).is_empty());
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn write_pvd_rejects_absolute_names_and_non_finite_times() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s.pvd");
    assert_error(
        write_pvd(&out, &[(0.0, "/abs/u.vtu")]).unwrap_err(),
        true,
        &out,
        "relative",
    );
    assert_error(
        write_pvd(&out, &[(0.0, "")]).unwrap_err(),
        true,
        &out,
        "relative",
    );
    assert_error(
        write_pvd(&out, &[(f64::NAN, "u.vtu")]).unwrap_err(),
        true,
        &out,
        "finite",
    );
    assert!(listing(dir.path()).is_empty());
}

// ---------------------------------------------------------------------------------------
// The independent reader: VTK's own XML readers (those of ParaView), from Python.

/// Runs `tests/vtk_check.py` on `files` (see [`run_vtk_python`]).
pub(crate) fn vtk_check(files: &[&Path]) -> Option<serde_json::Value> {
    let args: Vec<&std::ffi::OsStr> = files.iter().map(|f| f.as_os_str()).collect();
    let output = run_vtk_python("vtk_check.py", &args, "the VTK reader check")?;
    Some(serde_json::from_slice(&output.stdout).expect("vtk_check.py prints JSON"))
}

/// Checks the arrays VTK read: names, components, Float64, and every value exactly.
fn assert_vtk_arrays(summary: &serde_json::Value, want: &[PointArray]) {
    let arrays = summary["arrays"].as_object().expect("arrays");
    assert_eq!(arrays.len(), want.len(), "{arrays:?}");
    for w in want {
        let a = &arrays[&w.name];
        assert_eq!(a["components"], w.components, "components of {}", w.name);
        assert_eq!(a["type"], "double");
        let values: Vec<f64> = a["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert_eq!(
            a["tuples"],
            w.values.len() / w.components,
            "tuples of {}",
            w.name
        );
        if w.values.len() <= 4096 {
            assert_eq!(values, w.values, "values of {}", w.name);
        } else {
            // vtk_check.py prints the first and the last 64 values of large arrays.
            let n = w.values.len();
            let want: Vec<f64> = w.values[..64]
                .iter()
                .chain(&w.values[n - 64..])
                .copied()
                .collect();
            assert_eq!(values, want, "first and last values of {}", w.name);
        }
    }
}

#[test]
fn vtk_reads_what_nabla_writes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let grid = ImageGrid {
        origin: [-1.0, 0.5, 2.0],
        spacing: [0.1, 1.0 / 3.0, 0.25],
        dims: [4, 3, 2],
    };
    let lattice: Vec<[f64; 3]> = (0..grid.num_points()).map(|i| grid.point(i)).collect();
    let grid_arrays = sample_arrays(&lattice);
    write_vti(&d.join("lattice.vti"), &grid, &grid_arrays).unwrap();

    let cloud = random_points(50, 12);
    let cloud_arrays = sample_arrays(&cloud);
    write_vtp(&d.join("cloud.vtp"), &cloud, &cloud_arrays).unwrap();

    let mesh = read_mesh(&openfoam("cavity_t0.vtk")).unwrap();
    let mesh_arrays = sample_arrays(&mesh.points);
    write_vtu(&d.join("cavity_0.vtu"), &mesh, &mesh_arrays).unwrap();
    write_vtu(&d.join("cavity_1.vtu"), &mesh, &mesh_arrays[..1]).unwrap();
    write_pvd(
        &d.join("cavity.pvd"),
        &[(0.0, "cavity_0.vtu"), (0.5, "cavity_1.vtu")],
    )
    .unwrap();

    let files = ["lattice.vti", "cloud.vtp", "cavity_0.vtu", "cavity.pvd"].map(|f| d.join(f));
    let Some(json) = vtk_check(&files.each_ref().map(PathBuf::as_path)) else {
        return;
    };
    let get = |f: &PathBuf| &json[f.to_str().unwrap()];

    let vti = get(&files[0]);
    assert_eq!(vti["type"], "vtkImageData");
    assert_eq!(vti["dims"], serde_json::json!([4, 3, 2]));
    assert_eq!(vti["origin"], serde_json::json!(grid.origin));
    assert_eq!(
        vti["spacing"],
        serde_json::json!(grid.spacing),
        "f64 spacing"
    );
    assert_eq!(vti["points"], 24);
    // VTK computes lattice points with its own rounding.
    let last = vti["last_point"].as_array().unwrap();
    for (d, x) in grid.point(23).into_iter().enumerate() {
        assert_abs_diff_eq!(last[d].as_f64().unwrap(), x, epsilon = 1e-12);
    }
    assert_vtk_arrays(vti, &grid_arrays);

    let vtp = get(&files[1]);
    assert_eq!(vtp["type"], "vtkPolyData");
    assert_eq!(
        (vtp["points"].clone(), vtp["cells"].clone()),
        (50.into(), 50.into())
    );
    assert_eq!(vtp["cell_types"][0], 1, "vertex cells");
    assert_eq!(vtp["last_point"], serde_json::json!(cloud[49]));
    assert_vtk_arrays(vtp, &cloud_arrays);

    let vtu = get(&files[2]);
    assert_eq!(vtu["type"], "vtkUnstructuredGrid");
    assert_eq!(
        (vtu["points"].clone(), vtu["cells"].clone()),
        (882.into(), 400.into())
    );
    assert_eq!(
        vtu["cell_types"],
        serde_json::json!(vec![12; 16]),
        "hexahedra"
    );
    assert_eq!(vtu["first_point"], serde_json::json!(mesh.points[0]));
    assert_vtk_arrays(vtu, &mesh_arrays);

    let pvd = get(&files[3]);
    assert_eq!(pvd["type"], "Collection");
    let steps = pvd["datasets"].as_array().unwrap();
    assert_eq!(steps.len(), 2);
    assert_eq!(
        (steps[0]["timestep"].clone(), steps[1]["timestep"].clone()),
        (0.0.into(), 0.5.into())
    );
    assert_eq!(steps[1]["file"], "cavity_1.vtu");
    assert_eq!(steps[1]["data"]["cells"], 400);
    assert_vtk_arrays(&steps[1]["data"], &mesh_arrays[..1]);
}

// ---------------------------------------------------------------------------------------
// ParaView's parallel files: pieces written one per rank, merged by VTK's own readers.

#[test]
fn array_names_with_markup_read_back_and_control_characters_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let pts = [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]];
    let path = dir.path().join("n.vtp");
    let name = "a<b>&\"c\" 'd' µ";
    write_vtp(&path, &pts, &[PointArray::new(name, 1, vec![1.0, 2.0])]).unwrap();
    let back = read_mesh(&path).unwrap();
    assert_eq!(back.point_data[0].name, name);
    assert_eq!(back.point_data[0].values, [1.0, 2.0]);
    for bad in ["a\tb", "a\nb", "a\u{1}b", "a\u{fffe}"] {
        let err = write_vtp(&path, &pts, &[PointArray::new(bad, 1, vec![1.0, 2.0])]);
        assert!(
            matches!(&err, Err(Error::Io { message, .. }) if message.contains("control character")),
            "{bad:?}: {err:?}"
        );
    }
    // The file of the good name is still there, unchanged.
    assert_eq!(read_mesh(&path).unwrap().point_data[0].name, name);
}
