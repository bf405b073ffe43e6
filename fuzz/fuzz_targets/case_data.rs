//! case.toml with data: `nabla::case::check` on a case directory holding the input as
//! `case.toml` beside a CSV file `d.csv` (27 samples of `u`, `p` and the vector `g`) and a
//! mesh `m.vtu` (a tetrahedron with `p`, `U`), so that data fields, `[field.compare]`,
//! carried arrays, `[output]`, constants and definitions are all reached. As in
//! `case_check`, inputs that ask for more than 4096 lattice or random points are skipped.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use nabla::case::config::{CaseFile, PointsSpec};

const MAX_POINTS: usize = 4096;
const TET: &[u8] = include_bytes!("../seeds/read_vtu_inline/ascii.vtu");

/// 27 samples on a 3 × 3 × 3 lattice: u = x, p = x·y, g = (1, 0, 0).
fn csv() -> String {
    let mut s = String::from("x,y,z,u,p,g:0,g:1,g:2\n");
    for k in 0..27 {
        let (x, y, z) = (k % 3, (k / 3) % 3, k / 9);
        s.push_str(&format!("{x},{y},{z},{x},{},1,0,0\n", x * y));
    }
    s
}

fuzz_target!(|data: &[u8]| {
    common::print_only_panic_hook();
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(spec) = toml::from_str::<CaseFile>(text) {
        let n = match &spec.points {
            PointsSpec::Lattice { counts, .. } => counts
                .iter()
                .try_fold(1usize, |a, &c| a.checked_mul(c))
                .unwrap_or(usize::MAX),
            PointsSpec::Random { count, .. } => *count,
            _ => 0,
        };
        if n > MAX_POINTS {
            return;
        }
    }
    use std::sync::Once;
    static FILES: Once = Once::new();
    FILES.call_once(|| {
        common::scratch_file("d.csv", csv().as_bytes());
        common::scratch_file("m.vtu", TET);
    });
    common::scratch_file("case.toml", data);
    if let Err(e) = nabla::case::check(&common::scratch_dir()) {
        let _ = e.to_string();
    }
});
