//! The loss history: one record per step, written as CSV and plotted to a PNG.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::loss::LossTerms;
use crate::error::{Error, Result};

/// One row of the loss history.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct LossRecord {
    /// Iteration (from 0): the loss of the parameters before step `iteration`.
    pub iteration: usize,
    /// The learning rate of that step.
    pub learning_rate: f64,
    /// The loss and its terms.
    pub loss: LossTerms,
    /// Seconds since the (possibly resumed) run started.
    pub seconds: f64,
}

/// The loss history as CSV: `iteration,learning_rate,loss,pde,continuity,boundary,seconds`.
pub fn history_csv(history: &[LossRecord]) -> String {
    let mut s = String::from("iteration,learning_rate,loss,pde,continuity,boundary,seconds\n");
    for r in history {
        s.push_str(&format!(
            "{},{:e},{:e},{:e},{:e},{:e},{:.3}\n",
            r.iteration,
            r.learning_rate,
            r.loss.total,
            r.loss.pde,
            r.loss.continuity,
            r.loss.boundary,
            r.seconds
        ));
    }
    s
}

/// Plots the loss history to a PNG: `log₁₀` of the total loss (black) and of the PDE
/// (blue), continuity (green) and boundary (red) terms against the iteration, with a grey
/// line at every power of ten. The plot carries no text (axis labels need fonts, which
/// the bitmap backend does not bring).
///
/// # Errors
/// [`Error::Io`] if the image cannot be written.
pub fn plot_history(history: &[LossRecord], path: &Path) -> Result<()> {
    // Drawn in memory, encoded into a temporary file created exclusively next to `path`
    // (never through a symlink) and renamed, so that a failure leaves neither a partial
    // plot nor the temporary file.
    const SIZE: (u32, u32) = (800, 500);
    let mut rgb = vec![0u8; SIZE.0 as usize * SIZE.1 as usize * 3];
    draw_history(history, path, &mut rgb, SIZE)?;
    let mut png_bytes = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut png_bytes, SIZE.0, SIZE.1);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        enc.write_header()
            .and_then(|mut w| w.write_image_data(&rgb))
            .map_err(|e| Error::Io {
                path: path.to_path_buf(),
                message: format!("cannot encode the plot as PNG: {e}"),
            })?;
    }
    crate::io::write_atomically(path, &png_bytes)
}

/// Draws the plot into `rgb`, an RGB buffer of `size` pixels.
fn draw_history(
    history: &[LossRecord],
    path: &Path,
    rgb: &mut [u8],
    size: (u32, u32),
) -> Result<()> {
    use plotters::prelude::*;
    let err = |e: String| Error::Io {
        path: path.to_path_buf(),
        message: e,
    };
    type Term = fn(&LossRecord) -> f64;
    let series: [(Term, RGBColor); 4] = [
        (|r| r.loss.pde, BLUE),
        (|r| r.loss.continuity, GREEN),
        (|r| r.loss.boundary, RED),
        (|r| r.loss.total, BLACK),
    ];
    let logs = |f: fn(&LossRecord) -> f64| -> Vec<(f64, f64)> {
        history
            .iter()
            .filter(|r| f(r) > 0.0 && f(r).is_finite())
            .map(|r| (r.iteration as f64, f(r).log10()))
            .collect()
    };
    let all: Vec<(f64, f64)> = series.iter().flat_map(|(f, _)| logs(*f)).collect();
    let (lo, hi) = all
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
            (a.min(p.1), b.max(p.1))
        });
    let (lo, hi) = if lo.is_finite() {
        (lo.floor(), hi.ceil().max(lo.floor() + 1.0))
    } else {
        (0.0, 1.0)
    };
    let xmax = history.last().map_or(1, |r| r.iteration.max(1)) as f64;
    let root = BitMapBackend::with_buffer(rgb, size).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
    let mut chart = ChartBuilder::on(&root)
        .margin(20)
        .build_cartesian_2d(0.0..xmax, lo..hi)
        .map_err(|e| err(e.to_string()))?;
    let grey = RGBColor(200, 200, 200);
    let mut decade = lo;
    while decade <= hi {
        chart
            .draw_series(LineSeries::new([(0.0, decade), (xmax, decade)], grey))
            .map_err(|e| err(e.to_string()))?;
        decade += 1.0;
    }
    chart
        .draw_series(LineSeries::new(
            [(0.0, lo), (xmax, lo), (xmax, hi), (0.0, hi), (0.0, lo)],
            BLACK,
        ))
        .map_err(|e| err(e.to_string()))?;
    for (f, color) in series {
        chart
            .draw_series(LineSeries::new(logs(f), color.stroke_width(2)))
            .map_err(|e| err(e.to_string()))?;
    }
    root.present().map_err(|e| err(e.to_string()))?;
    Ok(())
}
