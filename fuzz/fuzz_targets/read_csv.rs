//! `nabla::io::read_csv` on a `.csv` file, then the mesh's derived quantities.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = common::scratch_file("input.csv", data);
    match nabla::io::read_csv(&path) {
        Err(e) => {
            let _ = e.to_string();
        }
        Ok((mesh, dim)) => {
            let _ = (dim, mesh.points.len(), mesh.bounds(), mesh.point_data.len());
        }
    }
});
