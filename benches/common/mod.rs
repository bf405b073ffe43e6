//! Shared bench helpers: a ratio of our time to a reference measured in the same run.

#![allow(dead_code)]

use std::time::{Duration, Instant};

/// Runs `ours` and `reference` alternately `reps` times, prints the best time of each and
/// the ratio ours / reference, and returns the ratio.
pub fn ratio(
    name: &str,
    points: usize,
    reps: usize,
    mut ours: impl FnMut(),
    mut reference: impl FnMut(),
) -> f64 {
    let mut best = [Duration::MAX; 2];
    for _ in 0..reps {
        let t = Instant::now();
        ours();
        best[0] = best[0].min(t.elapsed());
        let t = Instant::now();
        reference();
        best[1] = best[1].min(t.elapsed());
    }
    let r = best[0].as_secs_f64() / best[1].as_secs_f64();
    println!(
        "RATIO {name}: ours {:.4} s ({:.3e} points/s), reference {:.4} s ({:.3e} points/s), ratio {r:.2}",
        best[0].as_secs_f64(),
        points as f64 / best[0].as_secs_f64(),
        best[1].as_secs_f64(),
        points as f64 / best[1].as_secs_f64(),
    );
    r
}

/// Runs `f` on a rayon pool with `threads` threads.
pub fn on_threads<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("thread pool")
        .install(f)
}
