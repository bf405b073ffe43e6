//! `nabla::io::read_openfoam` on a one-cell case whose file number `data[0] % 7` (points,
//! faces, owner, neighbour, boundary, 0/U, 0/U.gz's inflated text) is the rest of the input;
//! then the mesh's derived quantities. Its seeds are replayed on stable by
//! `tests/it/openfoam.rs` (`fuzz_seeds_of_read_openfoam_give_results_or_errors`).
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

/// The files of a one-cell case: a unit cube.
const FILES: [(&str, &str); 6] = [
    ("constant/polyMesh/points", "FoamFile { format ascii; class vectorField; }\n8\n((0 0 0) (1 0 0) (1 1 0) (0 1 0) (0 0 1) (1 0 1) (1 1 1) (0 1 1))\n"),
    ("constant/polyMesh/faces", "FoamFile { format ascii; class faceList; }\n6\n(4(0 4 7 3) 4(1 2 6 5) 4(0 1 5 4) 4(3 7 6 2) 4(0 3 2 1) 4(4 5 6 7))\n"),
    ("constant/polyMesh/owner", "FoamFile { format ascii; class labelList; }\n6(0 0 0 0 0 0)\n"),
    ("constant/polyMesh/neighbour", "FoamFile { format ascii; class labelList; }\n0()\n"),
    ("constant/polyMesh/boundary", "FoamFile { format ascii; class polyBoundaryMesh; }\n2\n(\nwalls { type wall; inGroups List<word> 1(wall); nFaces 4; startFace 0; }\nends { type empty; nFaces 2; startFace 4; }\n)\n"),
    ("0/U", "FoamFile { format ascii; class volVectorField; }\ndimensions [0 1 -1 0 0 0 0];\ninternalField nonuniform List<vector> 1((1 2 3));\nboundaryField { \".*\" { type fixedValue; value uniform (0 0 0); } }\n"),
];

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let root = common::scratch_dir().join("case");
    let _ = std::fs::remove_dir_all(&root);
    for (i, (name, text)) in FILES.iter().enumerate() {
        let path = root.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let which = which as usize % 7;
        if i == which || (which == 6 && i == 5) {
            if which == 6 {
                use std::io::Write;
                let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                gz.write_all(rest).unwrap();
                std::fs::write(root.join("0/U.gz"), gz.finish().unwrap()).unwrap();
            } else {
                std::fs::write(&path, rest).unwrap();
            }
        } else {
            std::fs::write(&path, text).unwrap();
        }
    }
    match nabla::io::read_openfoam(&root, "0", None) {
        Err(e) => {
            let _ = e.to_string();
        }
        Ok(mesh) => {
            let _ = (mesh.points.len(), mesh.num_cells(), mesh.bounds(), mesh.cell_centroids());
            if let Some(cells) = &mesh.cells {
                for c in 0..cells.len() {
                    let _ = cells.polyhedron_faces(c);
                }
            }
        }
    }
});
