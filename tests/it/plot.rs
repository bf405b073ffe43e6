//! The loss plot: text a person can read (title, decade labels, axis titles, legend) in
//! the PNG, drawn with the font shipped in the crate, the same plot as SVG that parses
//! as XML, and histories that cannot sit on a log axis.

use std::path::Path;

use nabla::pinn::{LossRecord, LossTerms, plot_history};

/// A history whose total falls from 10 to 10⁻³·⁵ over 200 steps, with a PDE, a
/// continuity and a boundary term below it (the boundary's 0.03 × 10⁻³·⁵ = 10⁻⁵·⁰²
/// is the smallest value).
fn falling() -> Vec<LossRecord> {
    (0..200)
        .map(|k| {
            let t = 10f64.powf(1.0 - 4.5 * k as f64 / 199.0);
            LossRecord {
                iteration: k,
                learning_rate: 1e-3,
                loss: LossTerms {
                    total: t,
                    pde: 0.5 * t,
                    continuity: 0.2 * t,
                    boundary: 0.03 * t,
                },
                seconds: k as f64 * 0.01,
                unknowns: Vec::new(),
            }
        })
        .collect()
}

/// One record with the given total, PDE, continuity and boundary losses.
fn record(iteration: usize, [total, pde, continuity, boundary]: [f64; 4]) -> LossRecord {
    LossRecord {
        iteration,
        learning_rate: 1e-3,
        loss: LossTerms {
            total,
            pde,
            continuity,
            boundary,
        },
        seconds: 0.0,
        unknowns: Vec::new(),
    }
}

/// The RGB pixels of a PNG, with its width and height.
fn decode(path: &Path) -> (Vec<u8>, usize, usize) {
    let dec = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = dec.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb);
    buf.truncate(info.buffer_size());
    (buf, info.width as usize, info.height as usize)
}

/// The most light-to-dark transitions along one row of the box `x0..x1 × y0..y1`: a
/// line of text crosses dark strokes many times, a grid line or a frame once or twice.
fn text_transitions(
    rgb: &[u8],
    w: usize,
    (x0, x1): (usize, usize),
    (y0, y1): (usize, usize),
) -> usize {
    let dark = |x: usize, y: usize| {
        let p = &rgb[3 * (y * w + x)..3 * (y * w + x) + 3];
        p.iter().map(|&c| c as u32).sum::<u32>() < 3 * 110
    };
    (y0..y1)
        .map(|y| {
            (x0 + 1..x1)
                .filter(|&x| dark(x, y) && !dark(x - 1, y))
                .count()
        })
        .max()
        .unwrap_or(0)
}

/// Plots `history` into a temporary folder; returns the folder, the PNG and the SVG text.
fn plot(history: &[LossRecord], title: &str) -> (tempfile::TempDir, std::path::PathBuf, String) {
    let dir = tempfile::tempdir().unwrap();
    let (png, svg) = (dir.path().join("loss.png"), dir.path().join("loss.svg"));
    plot_history(history, title, &png, &svg).unwrap();
    let text = std::fs::read_to_string(&svg).unwrap();
    (dir, png, text)
}

/// The text content of every `<text>` element of an SVG document, which must parse as XML.
fn svg_texts(svg: &str) -> Vec<String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(svg);
    let (mut out, mut inside, mut root) = (Vec::new(), false, None);
    loop {
        match reader
            .read_event()
            .unwrap_or_else(|e| panic!("not XML: {e}\n{svg}"))
        {
            Event::Start(e) => {
                let name = String::from_utf8(e.name().as_ref().to_vec()).unwrap();
                root.get_or_insert(name.clone());
                inside = name == "text";
            }
            Event::Text(t) if inside => out.push(t.unescape().unwrap().trim().to_owned()),
            Event::End(_) => inside = false,
            Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(root.as_deref(), Some("svg"));
    out
}

#[test]
fn loss_png_has_a_title_decade_labels_axis_titles_and_a_legend() {
    let (_dir, png, _) = plot(&falling(), "pinn_poisson");
    let (rgb, w, h) = decode(&png);
    assert_eq!((w, h), (900, 560));
    // The title, centred at the top: a line of text, not a frame line.
    let title = text_transitions(&rgb, w, (250, 650), (0, 45));
    assert!(title >= 15, "title band: {title} transitions");
    // The decade labels in the left margin (and the rotated y-axis title).
    let left = text_transitions(&rgb, w, (0, 80), (60, 480));
    assert!(left >= 4, "left margin: {left} transitions");
    let labelled_rows = (60..480)
        .filter(|&y| text_transitions(&rgb, w, (0, 80), (y, y + 1)) >= 3)
        .count();
    assert!(
        labelled_rows >= 40,
        "{labelled_rows} rows of the left margin hold text"
    );
    // The step labels and the axis title under the plot.
    let bottom = text_transitions(&rgb, w, (100, 880), (h - 60, h));
    assert!(bottom >= 10, "bottom margin: {bottom} transitions");
    // The legend in the upper right: four names beside their line samples.
    let legend = text_transitions(&rgb, w, (560, 890), (50, 200));
    assert!(legend >= 8, "legend: {legend} transitions");
    // The curves' colours: PDE blue, boundary red.
    let has = |c: [u8; 3]| rgb.chunks(3).any(|p| p == c);
    assert!(has([31, 119, 180]) && has([214, 39, 40]));
}

#[test]
fn loss_svg_parses_and_names_the_terms_the_decades_and_the_case() {
    let (_dir, _, svg) = plot(&falling(), "pinn_kovasznay");
    let texts = svg_texts(&svg);
    for want in [
        "pinn_kovasznay: training loss",
        "total (weighted sum)",
        "PDE",
        "continuity",
        "boundary",
        "step",
        "loss (log scale)",
        // The data run from 10¹ down to 10⁻⁵·⁰²: every decade from 10⁻⁶ to 10¹.
        "10⁻⁶",
        "10⁻⁵",
        "10⁻³",
        "10⁰",
        "10¹",
        // Steps every 20.
        "0",
        "100",
        "180",
    ] {
        assert!(
            texts.iter().any(|t| t == want),
            "no text {want:?} in {texts:?}"
        );
    }
    assert!(
        !texts.iter().any(|t| t == "10²" || t == "10⁻⁷"),
        "{texts:?}"
    );
}

#[test]
fn decade_labels_are_powers_of_ten_with_superscripts() {
    let (_dir, _, svg) = plot(
        &[
            record(0, [1e-12, 2e-13, 0.0, 1e-14]),
            record(5, [3e2, 1.0, 0.0, 1.0]),
        ],
        "",
    );
    let texts = svg_texts(&svg);
    // 15 decades from 10⁻¹⁴ to 10³: a label at every second one.
    assert!(texts.iter().any(|t| t == "10⁻¹⁴"), "{texts:?}");
    assert!(texts.iter().any(|t| t == "10⁻¹²"), "{texts:?}");
    assert!(!texts.iter().any(|t| t == "10⁻¹³"), "{texts:?}");
    assert!(texts.iter().any(|t| t == "training loss"), "{texts:?}");
    // Poisson's continuity is 0 throughout: it is not in the legend.
    assert!(
        !texts.iter().any(|t| t.starts_with("continuity")),
        "{texts:?}"
    );
}

#[test]
fn loss_plot_of_nan_infinite_and_zero_losses_draws_the_rest_and_counts_the_gaps() {
    let nan = f64::NAN;
    let inf = f64::INFINITY;
    let history = [
        record(0, [1.0, 0.5, 0.0, 0.5]),
        record(1, [nan, nan, 0.0, 0.1]),
        record(2, [inf, 0.2, 0.0, -1.0]),
        record(3, [0.0, 0.0, 0.0, 0.0]),
        record(4, [0.1, 0.05, 0.0, 0.05]),
    ];
    let (_dir, png, svg) = plot(&history, "a <name> & more");
    let texts = svg_texts(&svg);
    assert!(
        texts.iter().any(|t| t == "a <name> & more: training loss"),
        "{texts:?}"
    );
    assert!(
        texts
            .iter()
            .any(|t| t == "total (weighted sum) (3 steps not drawn: 0 or not finite)"),
        "{texts:?}"
    );
    assert!(
        texts
            .iter()
            .any(|t| t == "PDE (2 steps not drawn: 0 or not finite)"),
        "{texts:?}"
    );
    assert_eq!(decode(&png).1, 900);
}

#[test]
fn loss_plot_of_one_step_or_none_or_nothing_positive_still_draws() {
    let (_d, png, svg) = plot(&[record(0, [2.0, 1.0, 0.0, 1.0])], "one");
    let texts = svg_texts(&svg);
    assert!(
        texts.iter().any(|t| t == "10⁰") && texts.iter().any(|t| t == "PDE"),
        "{texts:?}"
    );
    // The single step is a dot (the PDE term's blue).
    let (rgb, _, _) = decode(&png);
    assert!(rgb.chunks(3).any(|p| p == [31, 119, 180]));
    let (_d, _, svg) = plot(&[], "none");
    assert!(svg_texts(&svg).iter().any(|t| t == "no steps recorded"));
    let (_d, _, svg) = plot(&[record(0, [0.0; 4]), record(1, [f64::NAN; 4])], "zero");
    assert!(
        svg_texts(&svg)
            .iter()
            .any(|t| t == "no positive finite loss to plot")
    );
    // Steps far beyond any training (a hand-edited checkpoint's history).
    for last in [usize::MAX, i64::MAX as usize, 1 << 62] {
        let history = [record(0, [1.0; 4]), record(last, [0.5; 4])];
        let (_d, png, _) = plot(&history, "huge");
        assert_eq!(decode(&png).1, 900);
    }
}

#[test]
fn a_long_history_is_thinned_to_its_envelope_in_the_svg() {
    // 20 000 steps of a loss that falls from 1 to 10⁻⁴ with a spike to 10² at step 12 345
    // and a dip to 10⁻⁶ at step 17 000: the SVG holds far fewer points than the steps, and
    // its y range still reaches both.
    let history: Vec<LossRecord> = (0..20_000)
        .map(|k| {
            let mut t = 10f64.powf(-4.0 * k as f64 / 19_999.0);
            if k == 12_345 {
                t = 1e2;
            }
            if k == 17_000 {
                t = 1e-6;
            }
            record(k, [t, t, 0.0, 0.0])
        })
        .collect();
    let (_dir, _, svg) = plot(&history, "long");
    assert!(svg.len() < 200_000, "{} bytes", svg.len());
    let texts = svg_texts(&svg);
    assert!(
        texts.iter().any(|t| t == "10²") && texts.iter().any(|t| t == "10⁻⁶"),
        "{texts:?}"
    );
    // The polylines of the total and the PDE term: at most two points per column.
    let points: Vec<usize> = svg
        .lines()
        .filter(|l| l.starts_with("<polyline") && l.contains("stroke-width=\"2\""))
        .map(|l| {
            l.split("points=\"")
                .nth(1)
                .unwrap()
                .split_whitespace()
                .filter(|p| p.contains(','))
                .count()
        })
        .collect();
    assert!(
        points.iter().filter(|&&n| n > 1000).count() >= 2,
        "{points:?}"
    );
    assert!(points.iter().all(|&n| n <= 2 * 1024), "{points:?}");
}
