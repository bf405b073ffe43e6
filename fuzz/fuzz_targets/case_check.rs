//! case.toml → checked plan, without running it: `nabla::case::check` on a case directory
//! holding only the input as `case.toml` (no mesh, CSV or data file). Inputs that parse
//! and ask for more than 4096 lattice or random points are skipped: building millions of
//! points is real work, not a bug (the sizes are checked by the points stage).
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use nabla::case::config::{CaseFile, PointsSpec};

const MAX_POINTS: usize = 4096;

fuzz_target!(|data: &[u8]| {
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
    common::scratch_file("case.toml", data);
    if let Err(e) = nabla::case::check(&common::scratch_dir()) {
        let _ = e.to_string();
    }
});
