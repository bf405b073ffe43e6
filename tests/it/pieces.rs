//! ParaView's parallel files, without MPI: pieces of a lattice, a cloud and a mesh written
//! as an MPI run writes them and merged by VTK's own readers (`tests/vtk_pieces.py`) into
//! exactly the single file; `.pvtu` / `.pvtp` files read back as the mesh of their pieces,
//! and the bad ones refused.

use std::path::Path;

use nabla::Error;
use nabla::io::{ImageGrid, PointArray, read_mesh, write_vti, write_vtp};

use crate::io::run_vtk_python;

#[test]
fn lattice_pieces_with_their_extents_merge_into_the_whole_lattice_in_vtk() {
    use nabla::io::{Precision, WriteOptions, write_pvti, write_vti_piece_with};
    let dir = tempfile::tempdir().unwrap();
    let whole = ImageGrid {
        origin: [0.5, -1.0, 2.0],
        spacing: [0.25, 0.5, 0.125],
        dims: [4, 3, 5],
    };
    let values: Vec<f64> = (0..whole.num_points())
        .map(|i| {
            let p = whole.point(i);
            10.0 * p[0] + p[1] * p[2]
        })
        .collect();
    let single = dir.path().join("u.vti");
    write_vti(&single, &whole, &[PointArray::new("f", 1, values.clone())]).unwrap();
    // Two slabs along z that share plane 2, as ParaView's pieces do: planes 0..=2, 2..=4.
    let plane = 4 * 3;
    let mut pieces = Vec::new();
    for (r, z0) in [0usize, 2].into_iter().enumerate() {
        let grid = ImageGrid {
            dims: [4, 3, 3],
            ..whole
        };
        let v = values[z0 * plane..(z0 + 3) * plane].to_vec();
        let name = format!("u_{r}.vti");
        let arrays = [PointArray::new("f", 1, v)];
        let opts = WriteOptions::default();
        write_vti_piece_with(&dir.path().join(&name), &grid, [0, 0, z0], &arrays, &opts).unwrap();
        pieces.push(([0, 0, z0], [4, 3, 3], name));
    }
    let parallel = dir.path().join("u.pvti");
    let arrays = [("f".to_string(), 1)];
    write_pvti(&parallel, &whole, &pieces, &arrays, Precision::Float64).unwrap();
    let text = std::fs::read_to_string(dir.path().join("u_1.vti")).unwrap();
    assert!(text.contains("WholeExtent=\"0 3 0 2 2 4\""), "{text}");
    let args = [single.as_os_str(), parallel.as_os_str()];
    if let Some(o) = run_vtk_python("vtk_pieces.py", &args, "the VTK pieces check") {
        let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(json["points"], 60);
        assert_eq!(json["arrays"], 1);
    }
    // A piece named outside the parallel file's folder is refused, and nothing written.
    let bad = [([0, 0, 0], [4, 3, 5], "../u_0.vti".to_string())];
    let err = write_pvti(
        &dir.path().join("v.pvti"),
        &whole,
        &bad,
        &arrays,
        Precision::Float64,
    );
    assert!(matches!(err, Err(Error::Io { .. })), "{err:?}");
    assert!(!dir.path().join("v.pvti").exists());
}

#[test]
fn cloud_pieces_merge_into_the_whole_cloud_in_vtk() {
    use nabla::io::{Precision, write_pvtp};
    let dir = tempfile::tempdir().unwrap();
    let pts: Vec<[f64; 3]> = (0..7).map(|i| [i as f64, (i * i) as f64, -0.5]).collect();
    let g: Vec<f64> = pts.iter().flat_map(|p| [p[0], p[1], 1.0]).collect();
    let single = dir.path().join("c.vtp");
    write_vtp(&single, &pts, &[PointArray::new("g", 3, g.clone())]).unwrap();
    let mut names = Vec::new();
    for (r, range) in [0..3, 3..7].into_iter().enumerate() {
        let name = format!("c_{r}.vtp");
        let arr = PointArray::new("g", 3, g[range.start * 3..range.end * 3].to_vec());
        write_vtp(&dir.path().join(&name), &pts[range], &[arr]).unwrap();
        names.push(name);
    }
    let parallel = dir.path().join("c.pvtp");
    write_pvtp(&parallel, &names, &[("g".into(), 3)], Precision::Float64).unwrap();
    let args = [single.as_os_str(), parallel.as_os_str()];
    if let Some(o) = run_vtk_python("vtk_pieces.py", &args, "the VTK pieces check") {
        let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(json["points"], 7);
    }
}

#[test]
fn mesh_pieces_sharing_their_border_points_merge_into_the_whole_mesh_in_vtk() {
    use nabla::io::{Cells, Mesh, Precision, write_pvtu, write_vtu};
    let dir = tempfile::tempdir().unwrap();
    // A strip of three quads over 8 points; cell data "c"; point array "g".
    let pts: Vec<[f64; 3]> = (0..8)
        .map(|i| [(i / 2) as f64, (i % 2) as f64, 0.0])
        .collect();
    let quad = |k: u64| [2 * k, 2 * k + 2, 2 * k + 3, 2 * k + 1];
    let cells = |ks: &[u64], map: &dyn Fn(u64) -> u64| Cells {
        connectivity: ks.iter().flat_map(|&k| quad(k).map(map)).collect(),
        offsets: (1..=ks.len() as u64).map(|c| 4 * c).collect(),
        types: vec![9; ks.len()],
        ..Default::default()
    };
    let cell = |ks: &[u64]| PointArray::new("c", 1, ks.iter().map(|&k| k as f64 + 0.5).collect());
    let g = |at: &[usize]| PointArray::new("g", 1, at.iter().map(|&i| (i * i) as f64).collect());
    let whole = Mesh {
        points: pts.clone(),
        cells: Some(cells(&[0, 1, 2], &|p| p)),
        point_data: Vec::new(),
        cell_data: vec![cell(&[0, 1, 2])],
        patches: Vec::new(),
    };
    let single = dir.path().join("m.vtu");
    write_vtu(&single, &whole, &[g(&(0..8).collect::<Vec<_>>())]).unwrap();
    // Piece 0: cell 0 (points 0..4); piece 1: cells 1 and 2 (points 2..8, renumbered, the
    // border points 2 and 3 also in piece 0).
    let mut names = Vec::new();
    for (r, (ks, at)) in [
        (vec![0], vec![0, 1, 2, 3]),
        (vec![1, 2], vec![2, 3, 4, 5, 6, 7]),
    ]
    .into_iter()
    .enumerate()
    {
        let first = at[0] as u64;
        let piece = Mesh {
            points: at.iter().map(|&i| pts[i]).collect(),
            cells: Some(cells(&ks, &|p| p - first)),
            point_data: Vec::new(),
            cell_data: vec![cell(&ks)],
            patches: Vec::new(),
        };
        let name = format!("m_{r}.vtu");
        write_vtu(&dir.path().join(&name), &piece, &[g(&at)]).unwrap();
        names.push(name);
    }
    let parallel = dir.path().join("m.pvtu");
    let (p, c) = (vec![("g".into(), 1)], vec![("c".into(), 1)]);
    write_pvtu(&parallel, &names, &p, &c, Precision::Float64).unwrap();
    let text = std::fs::read_to_string(&parallel).unwrap();
    assert!(
        text.contains("<PCellData>") && text.contains("PUnstructuredGrid"),
        "{text}"
    );
    let args = [single.as_os_str(), parallel.as_os_str()];
    if let Some(o) = run_vtk_python("vtk_pieces.py", &args, "the VTK pieces check") {
        let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(
            (json["points"].as_u64(), json["cells"].as_u64()),
            (Some(8), Some(3))
        );
    }
    // A piece named outside the folder, or a wrong extension, is refused; nothing written.
    let bad = dir.path().join("n.pvtu");
    let err = write_pvtu(&bad, &["../x.vtu".into()], &p, &c, Precision::Float64);
    assert!(matches!(err, Err(Error::Io { .. })), "{err:?}");
    let err = write_pvtu(
        &dir.path().join("n.pvtp"),
        &names,
        &p,
        &c,
        Precision::Float64,
    );
    assert!(matches!(err, Err(Error::Io { .. })), "{err:?}");
    assert!(!bad.exists() && !dir.path().join("n.pvtp").exists());
}

/// Writes the strip of three quads of the test above as two pieces and their `.pvtu`
/// into `dir`; returns the whole mesh (with its point array "g").
fn strip_in_pieces(dir: &Path) -> nabla::io::Mesh {
    use nabla::io::{Cells, Mesh, Precision, write_pvtu, write_vtu};
    let pts: Vec<[f64; 3]> = (0..8)
        .map(|i| [(i / 2) as f64, (i % 2) as f64, 0.0])
        .collect();
    let quads = |ks: &[u64], first: u64| Cells {
        connectivity: ks
            .iter()
            .flat_map(|&k| [2 * k, 2 * k + 2, 2 * k + 3, 2 * k + 1].map(|p| p - first))
            .collect(),
        offsets: (1..=ks.len() as u64).map(|c| 4 * c).collect(),
        types: vec![9; ks.len()],
        ..Default::default()
    };
    let g = |at: &[usize]| PointArray::new("g", 1, at.iter().map(|&i| (i * i) as f64).collect());
    let mut names = Vec::new();
    let mut whole = Mesh {
        points: Vec::new(),
        cells: Some(quads(&[], 0)),
        point_data: vec![g(&[])],
        cell_data: Vec::new(),
        patches: Vec::new(),
    };
    for (r, (ks, at)) in [
        (vec![0], vec![0, 1, 2, 3]),
        (vec![1, 2], vec![2, 3, 4, 5, 6, 7]),
    ]
    .into_iter()
    .enumerate()
    {
        let piece = Mesh {
            points: at.iter().map(|&i| pts[i]).collect(),
            cells: Some(quads(&ks, at[0] as u64)),
            point_data: Vec::new(),
            cell_data: Vec::new(),
            patches: Vec::new(),
        };
        let name = format!("m_{r}.vtu");
        write_vtu(&dir.join(&name), &piece, &[g(&at)]).unwrap();
        names.push(name);
        // The merged mesh: the pieces one after the other.
        let c = piece.cells.as_ref().unwrap();
        let (base, shift) = (whole.points.len() as u64, 4 * whole.num_cells() as u64);
        let all = whole.cells.as_mut().unwrap();
        all.connectivity
            .extend(c.connectivity.iter().map(|p| p + base));
        all.offsets.extend(c.offsets.iter().map(|o| o + shift));
        all.types.extend(&c.types);
        whole.points.extend(&piece.points);
        whole.point_data[0].values.extend(g(&at).values);
    }
    let p = vec![("g".to_string(), 1)];
    write_pvtu(&dir.join("m.pvtu"), &names, &p, &[], Precision::Float64).unwrap();
    whole
}

#[test]
fn a_pvtu_file_is_read_as_the_mesh_of_its_pieces() {
    let dir = tempfile::tempdir().unwrap();
    let whole = strip_in_pieces(dir.path());
    let got = read_mesh(&dir.path().join("m.pvtu")).unwrap();
    assert_eq!(got.points, whole.points);
    assert_eq!(got.cells, whole.cells);
    assert_eq!(got.point_data, whole.point_data);
    assert_eq!(
        got.points.len(),
        10,
        "the border points 2 and 3 are in both pieces"
    );
}

#[test]
fn a_pvtu_file_with_bad_pieces_is_refused_naming_the_file_and_what_was_expected() {
    let dir = tempfile::tempdir().unwrap();
    strip_in_pieces(dir.path());
    let text = std::fs::read_to_string(dir.path().join("m.pvtu")).unwrap();
    let cases = [
        ("m_0.vtu\"/>", "../m_0.vtu\"/>", "in the same folder"),
        ("m_1.vtu", "m_0.vtu", "listed twice"),
        ("m_1.vtu", "gone.vtu", "gone.vtu"),
        ("m_1.vtu", "m.pvtu", "in the same folder"),
        ("m_1.vtu", "/etc/passwd", "in the same folder"),
    ];
    for (from, to, expected) in cases {
        let bad = dir.path().join("bad.pvtu");
        std::fs::write(&bad, text.replacen(from, to, 1)).unwrap();
        let err = read_mesh(&bad).unwrap_err().to_string();
        assert!(err.contains(expected), "{from} -> {to}: {err}");
        assert!(
            err.contains("bad.pvtu") || err.contains("gone.vtu"),
            "{err}"
        );
    }
    // A piece whose arrays differ from the first piece's.
    let other = dir.path().join("o.vtu");
    let m = read_mesh(&dir.path().join("m_1.vtu")).unwrap();
    nabla::io::write_vtu(&other, &m, &[PointArray::new("h", 1, vec![0.0; 6])]).unwrap();
    let bad = dir.path().join("bad.pvtu");
    std::fs::write(&bad, text.replacen("m_1.vtu", "o.vtu", 1)).unwrap();
    let err = read_mesh(&bad).unwrap_err().to_string();
    assert!(err.contains("piece 1 has the point arrays"), "{err}");
    // No pieces at all (vtkio's own check).
    let start = text.find("<Piece").unwrap();
    let end = text.rfind("/>").unwrap() + 2;
    std::fs::write(&bad, format!("{}{}", &text[..start], &text[end..])).unwrap();
    let err = read_mesh(&bad).unwrap_err().to_string();
    assert!(err.contains("bad.pvtu") && err.contains("Piece"), "{err}");
    // A piece that is a FIFO is refused, not read.
    #[cfg(unix)]
    {
        let fifo = dir.path().join("f.vtu");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if made.is_ok_and(|s| s.success()) {
            std::fs::write(&bad, text.replacen("m_1.vtu", "f.vtu", 1)).unwrap();
            let err = read_mesh(&bad).unwrap_err().to_string();
            assert!(err.contains("expected a regular file"), "{err}");
        }
    }
}

#[test]
fn pvtu_pieces_with_a_repeated_array_name_are_refused() {
    // Two arrays named "a" (1 and 3 components), in either order: they cannot be paired.
    // (Our writer refuses a repeated name, so the second is renamed in the file.)
    let dir = tempfile::tempdir().unwrap();
    let pts: Vec<[f64; 3]> = (0..4).map(|i| [i as f64, 0.0, 0.0]).collect();
    let a1 = PointArray::new("a", 1, vec![0.0; 4]);
    let b3 = PointArray::new("b", 3, vec![0.0; 12]);
    let a3 = PointArray::new("a", 3, vec![0.0; 12]);
    let b1 = PointArray::new("b", 1, vec![0.0; 4]);
    for (name, arrays) in [("p0.vtp", [a1, b3]), ("p1.vtp", [a3, b1])] {
        let path = dir.path().join(name);
        write_vtp(&path, &pts, &arrays).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.matches("Name=\"b\"").count(), 1, "{text}");
        std::fs::write(&path, text.replace("Name=\"b\"", "Name=\"a\"")).unwrap();
        assert_eq!(read_mesh(&path).unwrap().point_data.len(), 2);
    }
    let names = vec!["p0.vtp".to_string(), "p1.vtp".to_string()];
    let parallel = dir.path().join("m.pvtp");
    nabla::io::write_pvtp(&parallel, &names, &[], nabla::io::Precision::Float64).unwrap();
    let err = read_mesh(&parallel).unwrap_err().to_string();
    assert!(err.contains("two point arrays named `a`"), "{err}");
}

#[test]
fn a_mesh_with_an_empty_cell_list_is_written_as_vertices_vtk_reads() {
    use nabla::io::{Cells, Mesh, Precision, write_pvtu, write_vtu};
    // Legacy POLYDATA with POINTS only reads as an empty list of cells; VTK reads no
    // UnstructuredGrid piece of zero cells, so the points become vertices.
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("p.vtk");
    std::fs::write(
        &input,
        "# vtk DataFile Version 3.0\np\nASCII\nDATASET POLYDATA\nPOINTS 3 double\n0 0 0\n1 0 0\n0 2 0\n",
    )
    .unwrap();
    let mesh = read_mesh(&input).unwrap();
    assert_eq!(mesh.cells.as_ref().map(Cells::len), Some(0));
    let single = dir.path().join("m.vtu");
    write_vtu(
        &single,
        &mesh,
        &[PointArray::new("g", 1, vec![1.0, 2.0, 3.0])],
    )
    .unwrap();
    let back: Mesh = read_mesh(&single).unwrap();
    assert_eq!(
        back.cells.as_ref().map(|c| c.types.clone()),
        Some(vec![1; 3])
    );
    // VTK reads it (through a parallel file of this one piece, compared with itself).
    let parallel = dir.path().join("m.pvtu");
    let arrays = [("g".to_string(), 1)];
    write_pvtu(
        &parallel,
        &["m.vtu".into()],
        &arrays,
        &[],
        Precision::Float64,
    )
    .unwrap();
    let args = [single.as_os_str(), parallel.as_os_str()];
    if let Some(o) = run_vtk_python("vtk_pieces.py", &args, "the VTK pieces check") {
        let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(
            (json["points"].as_u64(), json["cells"].as_u64()),
            (Some(3), Some(3))
        );
    }
}
