//! `nabla::io::read_mesh` on a `.vtu` file, then the mesh's derived quantities.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    common::print_only_panic_hook();
    let path = common::scratch_file("input.vtu", data);
    match nabla::io::read_mesh(&path) {
        Err(e) => {
            let _ = e.to_string();
        }
        Ok(mesh) => {
            let _ = (
                mesh.points.len(),
                mesh.num_cells(),
                mesh.bounds(),
                mesh.cell_centroids(),
            );
        }
    }
});
