//! The loss plot a person can read: `log₁₀` of every loss term against the step, with
//! labelled decades, a legend and a title, drawn as PNG and as SVG with a font shipped
//! inside the crate (so it needs no font on the machine that draws it).

use std::path::Path;
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::coord::types::{RangedCoordf64, RangedCoordi64};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{FontStyle, register_font};

use super::history::LossRecord;
use crate::error::{Error, Result};

/// DejaVu Sans (Bitstream Vera licence, DejaVu changes in the public domain; see
/// `assets/fonts/LICENSE-DejaVu.txt`), cut down to Latin-1, super- and subscripts and a
/// few signs, 40 kB.
static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-subset.ttf");

/// The family name the font is registered under: plotters' sans-serif, which the SVG
/// also names, so that viewers draw it with their own sans-serif font.
const FAMILY: &str = "sans-serif";

/// Pixels of the PNG and user units of the SVG.
const SIZE: (u32, u32) = (900, 560);

/// One curve: a column of the history, its legend name and colour.
struct Term {
    name: &'static str,
    value: fn(&LossRecord) -> f64,
    color: RGBColor,
}

/// The terms, in legend (and drawing) order.
static TERMS: [Term; 4] = [
    Term {
        name: "total (weighted sum)",
        value: |r| r.loss.total,
        color: RGBColor(0, 0, 0),
    },
    Term {
        name: "PDE",
        value: |r| r.loss.pde,
        color: RGBColor(31, 119, 180),
    },
    Term {
        name: "continuity",
        value: |r| r.loss.continuity,
        color: RGBColor(44, 160, 44),
    },
    Term {
        name: "boundary",
        value: |r| r.loss.boundary,
        color: RGBColor(214, 39, 40),
    },
];

/// Plots the loss history twice, as the PNG `png` and the SVG `svg`: `log₁₀` of the
/// total loss and of each term that has a positive value against the step, the y axis
/// labelled at every power of ten (`10⁻³`), the x axis in steps, a legend naming the
/// terms and the title `title: training loss`. Values that are zero, negative or not
/// finite cannot sit on a log axis: they leave a gap in their curve, and the legend
/// counts them; a term that never has a positive value (Poisson's continuity) is left
/// out. An empty history gives the axes with a note instead of curves.
///
/// Each file is drawn in memory, written to a temporary file beside it and renamed: a
/// failure leaves neither a partial plot nor a temporary file.
///
/// # Errors
/// [`Error::Io`] naming the file that cannot be drawn, encoded or written.
pub fn plot_history(history: &[LossRecord], title: &str, png: &Path, svg: &Path) -> Result<()> {
    let err = |path: &Path, message: String| Error::Io {
        path: path.to_path_buf(),
        message: format!("cannot draw the loss plot: {message}"),
    };
    let bytes = render_png(history, title).map_err(|m| err(png, m))?;
    crate::io::write_atomically(png, &bytes)?;
    let text = render_svg(history, title).map_err(|m| err(svg, m))?;
    crate::io::write_atomically(svg, text.as_bytes())
}

/// The plot as PNG bytes.
fn render_png(history: &[LossRecord], title: &str) -> std::result::Result<Vec<u8>, String> {
    let mut rgb = vec![0u8; SIZE.0 as usize * SIZE.1 as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, SIZE).into_drawing_area();
        draw(&root, history, title)?;
        root.present().map_err(|e| e.to_string())?;
    }
    let mut bytes = Vec::new();
    let mut enc = png::Encoder::new(&mut bytes, SIZE.0, SIZE.1);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    enc.write_header()
        .and_then(|mut w| w.write_image_data(&rgb))
        .map_err(|e| format!("cannot encode it as PNG: {e}"))?;
    Ok(bytes)
}

/// The plot as an SVG document.
fn render_svg(history: &[LossRecord], title: &str) -> std::result::Result<String, String> {
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, SIZE).into_drawing_area();
        draw(&root, history, title)?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(text)
}

/// Registers the shipped font with plotters, once per process.
fn register() -> std::result::Result<(), String> {
    static DONE: OnceLock<bool> = OnceLock::new();
    let ok = *DONE.get_or_init(|| register_font(FAMILY, FontStyle::Normal, FONT).is_ok());
    if ok {
        Ok(())
    } else {
        Err("internal: the shipped font does not parse".into())
    }
}

/// `10` with `k` as a superscript: `10⁻³`, `10⁰`, `10²`.
pub(crate) fn decade_label(k: i32) -> String {
    const DIGITS: [char; 10] = ['⁰', '¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹'];
    let mut s = String::from("10");
    if k < 0 {
        s.push('⁻');
    }
    for d in k.unsigned_abs().to_string().bytes() {
        s.push(DIGITS[(d - b'0') as usize]);
    }
    s
}

/// One term as drawn: its runs of consecutive plottable points `(step, log₁₀ value)`,
/// and how many of its values were skipped (zero, negative or not finite).
struct Curve {
    term: &'static Term,
    runs: Vec<Vec<(i64, f64)>>,
    skipped: usize,
}

impl Curve {
    /// The curve of `term` over `history`.
    fn new(term: &'static Term, history: &[LossRecord]) -> Curve {
        let (mut runs, mut run, mut skipped) = (Vec::new(), Vec::new(), 0);
        for r in history {
            let v = (term.value)(r);
            if v > 0.0 && v.is_finite() {
                run.push((step(r), v.log10()));
            } else {
                skipped += 1;
                if !run.is_empty() {
                    runs.push(std::mem::take(&mut run));
                }
            }
        }
        if !run.is_empty() {
            runs.push(run);
        }
        let span = history
            .iter()
            .map(step)
            .max()
            .unwrap_or(0)
            .saturating_add(1);
        Curve {
            term,
            runs: runs.into_iter().map(|r| thin(r, span)).collect(),
            skipped,
        }
    }

    /// The legend's name of the term, with the count of its values not drawn.
    fn label(&self) -> String {
        if self.skipped == 0 {
            self.term.name.to_owned()
        } else {
            format!(
                "{} ({} steps not drawn: 0 or not finite)",
                self.term.name, self.skipped
            )
        }
    }
}

/// The step of a record as an x coordinate (a history read from a file may hold any
/// number; beyond `i64::MAX` it is drawn at `i64::MAX`).
fn step(r: &LossRecord) -> i64 {
    i64::try_from(r.iteration).unwrap_or(i64::MAX)
}

/// Columns of steps that [`thin`] keeps two points of: more than the plot's width in
/// pixels, so that thinning changes no pixel's extent.
const COLUMNS: usize = 1024;

/// `run` with at most its lowest and highest point (in step order) per column of
/// `span / COLUMNS` steps, when it has more than `2 · COLUMNS` points: the curve's
/// envelope, drawn pixel for pixel as before, in a bounded SVG (20 000 steps of a
/// Kovasznay run would otherwise write 80 000 points).
fn thin(run: Vec<(i64, f64)>, span: i64) -> Vec<(i64, f64)> {
    if run.len() <= 2 * COLUMNS {
        return run;
    }
    let column = |p: &(i64, f64)| i128::from(p.0) * COLUMNS as i128 / i128::from(span.max(1));
    let mut out: Vec<(i64, f64)> = Vec::with_capacity(2 * COLUMNS + 2);
    for chunk in run.chunk_by(|a, b| column(a) == column(b)) {
        let lowest = chunk.iter().min_by(|a, b| a.1.total_cmp(&b.1));
        let highest = chunk.iter().max_by(|a, b| a.1.total_cmp(&b.1));
        let (Some(&lo), Some(&hi)) = (lowest, highest) else {
            continue;
        };
        if lo.0 == hi.0 {
            out.push(lo);
        } else {
            out.extend(if lo.0 < hi.0 { [lo, hi] } else { [hi, lo] });
        }
    }
    out
}

/// Draws the whole plot on `root`.
fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    history: &[LossRecord],
    title: &str,
) -> std::result::Result<(), String> {
    register()?;
    let e = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    root.fill(&WHITE).map_err(e)?;
    let curves: Vec<Curve> = TERMS
        .iter()
        .map(|t| Curve::new(t, history))
        .filter(|c| !c.runs.is_empty())
        .collect();
    let ys = curves
        .iter()
        .flat_map(|c| c.runs.iter().flatten().map(|p| p.1));
    let (lo, hi) = ys.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), y| {
        (a.min(y), b.max(y))
    });
    // Whole decades around the data, at least one.
    let (lo, hi) = if lo.is_finite() {
        (lo.floor(), hi.ceil().max(lo.floor() + 1.0))
    } else {
        (0.0, 1.0)
    };
    // Whole steps on the x axis (integer coordinates give integer labels).
    let first = history.iter().map(step).min().unwrap_or(0);
    let last = history.iter().map(step).max().unwrap_or(0);
    let (x0, x1) = (first.min(i64::MAX - 1), last.max(first.saturating_add(1)));
    // A label at every decade, or at every n-th when there are more than 12.
    let n = (hi - lo) as i64;
    let every = (n / 12 + 1).max(1);
    let decades: Vec<f64> = (0..=n)
        .filter(|k| k % every == 0)
        .map(|k| lo + k as f64)
        .collect();
    let caption = if title.is_empty() {
        "training loss".to_owned()
    } else {
        format!("{title}: training loss")
    };
    let mut chart = ChartBuilder::on(root)
        .caption(caption, (FAMILY, 26))
        .margin(16)
        .x_label_area_size(52)
        .y_label_area_size(78)
        .build_cartesian_2d(x0..x1, lo..hi)
        .map_err(e)?;
    let grey = RGBColor(215, 215, 215);
    // plotters' own y labels would fall between decades; they are drawn below instead.
    chart
        .configure_mesh()
        .bold_line_style(grey)
        .light_line_style(TRANSPARENT)
        .disable_y_mesh()
        .y_labels(0)
        .x_desc("step")
        .y_desc("loss (log scale)")
        .label_style((FAMILY, 17))
        .axis_desc_style((FAMILY, 19))
        .draw()
        .map_err(e)?;
    let label = TextStyle::from((FAMILY, 17).into_font())
        .color(&BLACK)
        .pos(Pos::new(HPos::Right, VPos::Center));
    for &k in &decades {
        chart
            .draw_series(LineSeries::new([(x0, k), (x1, k)], grey))
            .map_err(e)?;
        let (px, py) = chart.backend_coord(&(x0, k));
        root.draw(&PathElement::new([(px - 6, py), (px, py)], BLACK))
            .map_err(e)?;
        root.draw_text(&decade_label(k.round() as i32), &label, (px - 9, py))
            .map_err(e)?;
    }
    // Minor grid lines at 2…9 × 10ᵏ when the decades are few enough to show them.
    if hi - lo <= 8.0 {
        let faint = RGBColor(238, 238, 238);
        let mut k = lo;
        while k < hi {
            for m in 2..10 {
                let y = k + f64::from(m).log10();
                chart
                    .draw_series(LineSeries::new([(x0, y), (x1, y)], faint))
                    .map_err(e)?;
            }
            k += 1.0;
        }
    }
    // In legend order: the total first.
    for curve in &curves {
        let color = curve.term.color;
        let style = color.stroke_width(2);
        for (i, run) in curve.runs.iter().enumerate() {
            let series = if run.len() == 1 {
                chart.draw_series(std::iter::once(Circle::new(run[0], 3, color.filled())))
            } else {
                chart.draw_series(LineSeries::new(run.iter().copied(), style))
            }
            .map_err(e)?;
            if i == 0 {
                series.label(curve.label()).legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 24, y)], color.stroke_width(2))
                });
            }
        }
    }
    if curves.is_empty() {
        let note = if history.is_empty() {
            "no steps recorded"
        } else {
            "no positive finite loss to plot"
        };
        chart
            .draw_series(std::iter::once(Text::new(
                note,
                (x0, lo + 0.5),
                (FAMILY, 20).into_font().color(&BLACK),
            )))
            .map_err(e)?;
    } else {
        let labels: Vec<String> = curves.iter().map(Curve::label).collect();
        let position = legend_corner(&chart, &curves, &labels);
        chart
            .configure_series_labels()
            .position(position)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font((FAMILY, 17))
            .draw()
            .map_err(e)?;
    }
    Ok(())
}

/// The corner of the plot whose legend box (estimated from the labels' lengths) covers
/// the fewest points of the curves; the upper right on a tie.
fn legend_corner<DB: DrawingBackend>(
    chart: &ChartContext<'_, DB, Cartesian2d<RangedCoordi64, RangedCoordf64>>,
    curves: &[Curve],
    labels: &[String],
) -> SeriesLabelPosition {
    let ((left, top), (right, bottom)) = {
        let (x, y) = chart.plotting_area().get_pixel_range();
        ((x.start, y.start), (x.end, y.end))
    };
    let chars = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0) as i32;
    let (w, h) = (50 + 9 * chars, 12 + 22 * labels.len() as i32);
    let corners = [
        (SeriesLabelPosition::UpperRight, (right - w, top)),
        (SeriesLabelPosition::UpperLeft, (left, top)),
        (SeriesLabelPosition::LowerLeft, (left, bottom - h)),
        (SeriesLabelPosition::LowerRight, (right - w, bottom - h)),
    ];
    let covered = |(x0, y0): (i32, i32)| {
        curves
            .iter()
            .flat_map(|c| c.runs.iter().flatten())
            .map(|p| chart.backend_coord(p))
            .filter(|&(x, y)| (x0..x0 + w).contains(&x) && (y0..y0 + h).contains(&y))
            .count()
    };
    corners
        .into_iter()
        .min_by_key(|&(_, at)| covered(at))
        .map_or(SeriesLabelPosition::UpperRight, |(p, _)| p)
}
