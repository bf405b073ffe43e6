//! `nabla::pinn::Checkpoint::load` on a JSON file; a checkpoint that loads is used as a
//! resumed run would use it (parameters, one Adam step, the history as CSV).
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use nabla::pinn::Checkpoint;

fuzz_target!(|data: &[u8]| {
    let path = common::scratch_file("checkpoint.json", data);
    match Checkpoint::load(&path) {
        Err(e) => {
            let _ = e.to_string();
        }
        Ok(c) => {
            let mut p = c.mlp.params();
            let g = vec![0.5; p.len()];
            let mut adam = c.adam.clone();
            let _ = adam.step(&mut p, &g, 1e-3);
            let _ = c.mlp.clone().set_params(&p);
            let _ = nabla::pinn::history_csv(&c.history);
        }
    }
});
