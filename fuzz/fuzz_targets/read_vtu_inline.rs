//! `nabla::io::read_mesh` on a `.vtu` file, then the mesh's derived quantities.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| common::read_mesh_target("input.vtu", data));
