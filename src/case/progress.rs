//! The progress bar of a run: hidden for quick runs and with `--quiet`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress bar that appears only once the work has taken more than a second.
pub(super) struct Bar {
    bar: ProgressBar,
    start: Instant,
    shown: AtomicBool,
    quiet: bool,
}

impl Bar {
    pub(super) fn new(quiet: bool, total: u64) -> Self {
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden());
        if let Ok(style) = ProgressStyle::with_template(
            "{bar:40} {percent:>3}% {human_pos}/{human_len} points  eta {eta}",
        ) {
            bar.set_style(style);
        }
        Bar {
            bar,
            start: Instant::now(),
            shown: AtomicBool::new(false),
            quiet,
        }
    }

    /// Changes the total, once the amount of work is known.
    pub(super) fn set_total(&self, total: u64) {
        self.bar.set_length(total);
    }

    pub(super) fn inc(&self, k: usize) {
        if !self.quiet
            && self.start.elapsed() > Duration::from_secs(1)
            && !self.shown.swap(true, Ordering::Relaxed)
        {
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
        }
        self.bar.inc(k as u64);
    }

    pub(super) fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
