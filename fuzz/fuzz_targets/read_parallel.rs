//! `nabla::io::read_mesh` on a parallel file (`.pvtu`, then the same bytes as `.pvtp`)
//! in a folder that also holds valid pieces `p0.vtu`, `p1.vtu` (a tetrahedron) and
//! `s0.vtp`, `s1.vtp` (a triangle), so that inputs that name them reach the merge.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

const TET: &[u8] = include_bytes!("../seeds/read_vtu_inline/ascii.vtu");
const TRIANGLE: &[u8] = include_bytes!("../seeds/read_vtu_inline/poly.vtu");

fuzz_target!(|data: &[u8]| {
    use std::sync::Once;
    static PIECES: Once = Once::new();
    PIECES.call_once(|| {
        common::scratch_file("p0.vtu", TET);
        common::scratch_file("p1.vtu", TET);
        common::scratch_file("s0.vtp", TRIANGLE);
        common::scratch_file("s1.vtp", TRIANGLE);
    });
    common::read_mesh_target("input.pvtu", data);
    common::read_mesh_target("input.pvtp", data);
});
