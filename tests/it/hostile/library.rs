//! Hostile arguments to the public library API (categories 3 and 4 of issue 8): shapes
//! whose `rows × cols` overflows, ranges and sizes near `usize::MAX`, invalid schedules
//! and domains, indices out of range. Each call must return a typed error (or `None`),
//! never panic, never read out of bounds.

use std::panic::{AssertUnwindSafe, catch_unwind};

use nabla::Error;
use nabla::autodiff::{Tape, Tensor};
use nabla::eval::{EvalOptions, Operator, Points, evaluate};
use nabla::field::FnField;
use nabla::io::ImageGrid;
use nabla::pinn::{
    Activation, Adam, AdamConfig, DomainConfig, Mlp, Schedule, sample_box, sample_faces,
};

/// Runs `f`, failing the test (instead of aborting it) if it panics.
fn no_panic<R>(what: &str, f: impl FnOnce() -> R) -> R {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| panic!("{what} panicked"))
}

/// 2³² · 2³² = 2⁶⁴ wraps to 0 in usize arithmetic.
const HALF: usize = 1 << 32;

// ---------------------------------------------------------------------------------------
// Category 3: shapes whose element count overflows.

#[test]
fn var_from_slice_rejects_a_shape_whose_size_wraps_to_zero() {
    let tape = Tape::new();
    let x = no_panic("var_from_slice", || tape.var_from_slice(HALF, HALF, &[]));
    assert!(matches!(x.value(), Err(Error::DataLength { .. })), "{x:?}");
    assert!(matches!(tape.check(), Err(Error::DataLength { .. })));
}

#[test]
fn constant_from_slice_rejects_a_shape_whose_size_wraps_to_the_data_length() {
    let tape = Tape::new();
    // (2⁶³ + 1) · 2 = 2⁶⁴ + 2 wraps to 2, the data's length.
    let x = no_panic("constant_from_slice", || {
        tape.constant_from_slice((1 << 63) + 1, 2, &[1.0, 2.0])
    });
    assert!(x.value().is_err());
}

#[test]
fn from_col_major_rejects_a_shape_whose_size_wraps() {
    assert_eq!(Tensor::from_col_major(HALF, HALF, vec![]), None);
    assert_eq!(Tensor::from_col_major(usize::MAX, 2, vec![0.0; 0]), None);
    // (2⁶⁴ − 1) · 2 wraps to 2⁶⁴ − 2; with one element more it is 2⁶⁴ + … : also rejected.
    assert_eq!(Tensor::from_col_major((1 << 63) + 1, 2, vec![0.0; 2]), None);
}

#[test]
fn from_row_major_rejects_a_shape_whose_size_wraps() {
    let t = no_panic("from_row_major", || {
        Tensor::from_row_major((1 << 63) + 1, 2, &[1.0, 2.0])
    });
    assert_eq!(t, None);
    // Zero dimensions are fine.
    assert_eq!(
        Tensor::from_row_major(0, 5, &[]).map(|t| t.shape()),
        Some((0, 5))
    );
}

#[test]
fn tape_full_rejects_a_shape_whose_size_wraps() {
    let tape = Tape::new();
    let x = no_panic("Tape::full", || tape.full(HALF, HALF, 1.0));
    assert!(x.value().is_err());
    let y = no_panic("Tape::full", || tape.full(usize::MAX, usize::MAX, 0.0));
    assert!(y.value().is_err());
}

#[test]
fn tensor_try_full_rejects_an_overflowing_shape() {
    assert!(matches!(
        Tensor::try_full(usize::MAX, 2, 0.0),
        Err(Error::DataLength { .. })
    ));
    assert!(Tensor::try_full(HALF, HALF, 0.0).is_err());
    assert_eq!(
        Tensor::try_full(2, 3, 1.5).unwrap(),
        Tensor::full(2, 3, 1.5)
    );
}

#[test]
fn matmul_on_wrapped_shapes_is_an_error_not_an_out_of_bounds_read() {
    // Before: both shapes were accepted with no data, and gemm read 2⁶³ columns of
    // nothing (SIGSEGV).
    let tape = Tape::new();
    let a = tape.var_from_slice(2, 1 << 63, &[]);
    let b = tape.var_from_slice(1 << 63, 2, &[]);
    let c = no_panic("matmul", || a.matmul(b));
    assert!(c.value().is_err());
    assert!(tape.check().is_err());
}

#[test]
fn matmul_whose_product_overflows_is_an_error() {
    // (usize::MAX × 0) · (0 × usize::MAX): empty operands, a product of 2¹²⁸ elements.
    let tape = Tape::new();
    let a = tape.var_from_slice(usize::MAX, 0, &[]);
    let b = tape.var_from_slice(0, usize::MAX, &[]);
    assert!(a.value().is_ok() && b.value().is_ok());
    let c = no_panic("matmul", || a.matmul(b));
    assert!(
        matches!(c.value(), Err(Error::Operator { .. })),
        "{:?}",
        c.value()
    );
}

#[test]
fn empty_matmul_with_huge_inner_dimension_is_zeros() {
    // (0 × usize::MAX) · (usize::MAX × 0) = 0 × 0, and (1 × 0) · (0 × 2) = zeros.
    let tape = Tape::new();
    let a = tape.var_from_slice(0, usize::MAX, &[]);
    let b = tape.var_from_slice(usize::MAX, 0, &[]);
    let c = no_panic("matmul", || a.matmul(b));
    assert_eq!(c.shape(), (0, 0));
    let d = tape
        .var_from_slice(1, 0, &[])
        .matmul(tape.var_from_slice(0, 2, &[]));
    assert_eq!(d.value().unwrap().as_slice(), &[0.0, 0.0]);
}

#[test]
fn expand_to_a_shape_that_cannot_exist_is_an_error() {
    let tape = Tape::new();
    let s = tape.var(Tensor::scalar(1.0));
    let e = no_panic("expand", || s.expand(usize::MAX, usize::MAX));
    assert!(matches!(e.value(), Err(Error::Operator { .. })));
    let e = no_panic("expand", || {
        tape.var(Tensor::scalar(1.0)).expand(1, usize::MAX)
    });
    assert!(e.value().is_err());
}

#[test]
fn sum_rows_of_an_empty_but_very_wide_tensor_is_an_error() {
    // 0 × usize::MAX holds nothing, but its column sums would be usize::MAX values.
    let tape = Tape::new();
    let x = tape.var_from_slice(0, usize::MAX, &[]);
    let s = no_panic("sum_rows", || x.sum_rows());
    assert!(s.value().is_err());
}

// ---------------------------------------------------------------------------------------
// Category 4: panics instead of errors.

#[test]
fn column_range_near_usize_max_is_an_error() {
    let tape = Tape::new();
    let x = tape.var(Tensor::zeros(2, 3));
    let c = no_panic("cols_range", || x.cols_range(usize::MAX, 2));
    assert!(matches!(c.value(), Err(Error::ColumnRange { .. })));
    let tape = Tape::new();
    let x = tape.var(Tensor::zeros(2, 3));
    let c = no_panic("cols_range", || x.cols_range(2, usize::MAX));
    assert!(matches!(c.value(), Err(Error::ColumnRange { .. })));
    let tape = Tape::new();
    let c = no_panic("col", || tape.var(Tensor::zeros(2, 3)).col(usize::MAX));
    assert!(matches!(c.value(), Err(Error::ColumnRange { .. })));
}

#[test]
fn padding_near_usize_max_is_an_error() {
    let tape = Tape::new();
    let x = tape.var(Tensor::zeros(1, 1));
    let p = no_panic("pad_cols", || x.pad_cols(usize::MAX, 1));
    assert!(matches!(p.value(), Err(Error::ColumnRange { .. })));
    let tape = Tape::new();
    let x = tape.var(Tensor::zeros(2, 1));
    let p = no_panic("pad_cols", || x.pad_cols(0, usize::MAX));
    assert!(p.value().is_err());
}

#[test]
fn stacking_columns_beyond_usize_is_an_error() {
    let tape = Tape::new();
    let x = tape.var_from_slice(0, usize::MAX, &[]);
    let s = no_panic("stack", || tape.stack(&[x, x]));
    assert!(s.value().is_err());
}

#[test]
fn tensor_accessors_out_of_range_return_none() {
    let t = Tensor::from_row_major(2, 2, &[1.0, 2.0, 3.0, 4.0]).unwrap();
    assert_eq!(t.get(0, 1), Some(2.0));
    assert_eq!(t[(1, 0)], 3.0);
    assert_eq!(no_panic("get", || t.get(2, 0)), None);
    assert_eq!(t.get(0, usize::MAX), None);
    assert_eq!(t.get(usize::MAX, usize::MAX), None);
    assert_eq!(t.get_col(1), Some(&[2.0, 4.0][..]));
    assert_eq!(no_panic("get_col", || t.get_col(usize::MAX)), None);
    assert!(Tensor::try_one_hot(2, 2, 2, 0).is_err());
    assert!(Tensor::try_one_hot(2, 2, 0, usize::MAX).is_err());
    assert_eq!(
        Tensor::try_one_hot(2, 1, 1, 0).unwrap().as_slice(),
        &[0.0, 1.0]
    );
}

#[test]
fn points_accessors_out_of_range_return_none() {
    let p = Points::from_rows(2, &[[1.0, 2.0, 0.0], [3.0, 4.0, 0.0]]).unwrap();
    assert_eq!(p.get_point(1), Some([3.0, 4.0, 0.0]));
    assert_eq!(no_panic("get_point", || p.get_point(2)), None);
    assert_eq!(p.get_point(usize::MAX), None);
    assert_eq!(p.get_col(1), Some(&[2.0, 4.0][..]));
    assert_eq!(no_panic("get_col", || p.get_col(2)), None);
}

#[test]
fn image_grid_with_a_zero_dimension_has_no_points() {
    let grid = ImageGrid {
        origin: [0.0; 3],
        spacing: [1.0; 3],
        dims: [0, 4, 1],
    };
    assert_eq!(no_panic("get_point", || grid.get_point(0)), None);
    let grid = ImageGrid {
        dims: [3, 0, 2],
        ..grid
    };
    assert_eq!(no_panic("get_point", || grid.get_point(1)), None);
    let grid = ImageGrid {
        dims: [2, 2, 2],
        ..grid
    };
    assert_eq!(grid.get_point(7), Some([1.0, 1.0, 1.0]));
    assert_eq!(grid.get_point(8), None);
    // A lattice too large to count: indices still map to points, without overflow.
    let grid = ImageGrid {
        dims: [usize::MAX, usize::MAX, 2],
        ..grid
    };
    assert_eq!(
        no_panic("get_point", || grid.get_point(5)),
        Some([5.0, 0.0, 0.0])
    );
}

#[test]
fn a_step_schedule_with_period_zero_is_an_error() {
    for s in [
        Schedule::Step {
            factor: 0.5,
            every: 0,
        },
        Schedule::Exponential {
            rate: 0.5,
            every: 0,
        },
    ] {
        let r = no_panic("Schedule::rate", || s.rate(0.1, 10, 100));
        assert!(matches!(r, Err(Error::Config { .. })), "{s:?}: {r:?}");
    }
    // A factor outside (0, 1] is refused as validate refuses it.
    assert!(
        Schedule::Step {
            factor: 2.0,
            every: 1
        }
        .rate(0.1, 3, 10)
        .is_err()
    );
}

#[test]
fn a_step_schedule_past_i32_max_steps_decays_not_grows() {
    let s = Schedule::Step {
        factor: 0.5,
        every: 1,
    };
    // Before: (k / every) as i32 wrapped to −1 and the rate doubled.
    let r = s.rate(0.1, usize::MAX, usize::MAX).unwrap();
    assert!((0.0..=0.1).contains(&r), "{r}");
    let r = s.rate(0.1, 1 << 32, usize::MAX).unwrap();
    assert!((0.0..=0.1).contains(&r), "{r}");
}

fn domain(min: &[f64], max: &[f64]) -> DomainConfig {
    DomainConfig {
        min: min.to_vec(),
        max: max.to_vec(),
    }
}

#[test]
fn sampling_an_invalid_domain_is_an_error() {
    let bad = [
        domain(&[0.0, 1.0], &[1.0, 1.0]),            // min = max
        domain(&[1.0, 0.0], &[0.0, 1.0]),            // min > max
        domain(&[0.0, 0.0, 0.0], &[1.0, 1.0]),       // 3 and 2 coordinates
        domain(&[0.0], &[1.0]),                      // 1-D
        domain(&[], &[]),                            // no coordinates
        domain(&[0.0, f64::NAN], &[1.0, 1.0]),       // NaN
        domain(&[-f64::MAX, 0.0], &[f64::MAX, 1.0]), // side length overflows
        // Faces of 1e-200 × 1e-200: a boundary measure that underflows to 0.
        domain(&[0.0, 0.0, 0.0], &[1e-200, 1e-200, 1e-200]),
    ];
    for d in &bad {
        for (what, r) in [
            (
                "sample_box",
                no_panic("sample_box", || sample_box(d, 10, 1)),
            ),
            (
                "sample_faces",
                no_panic("sample_faces", || sample_faces(d, 10, 1)),
            ),
        ] {
            assert!(
                matches!(r, Err(Error::Config { ref setting, .. }) if setting == "domain"),
                "{what} {d:?}: {r:?}"
            );
        }
    }
}

#[test]
fn sampling_zero_or_too_many_points_is_an_error() {
    let d = domain(&[0.0, 0.0], &[1.0, 1.0]);
    for n in [0, usize::MAX, 1 << 62] {
        assert!(no_panic("sample_box", || sample_box(&d, n, 1)).is_err());
        assert!(no_panic("sample_faces", || sample_faces(&d, n, 1)).is_err());
    }
    assert_eq!(sample_box(&d, 3, 1).unwrap().len(), 3);
}

#[test]
fn a_hidden_width_of_usize_max_is_an_error() {
    for hidden in [
        vec![usize::MAX],
        vec![1 << 62],
        vec![4, usize::MAX / 2, 4],
        vec![HALF, HALF],
    ] {
        let r = no_panic("Mlp::new", || Mlp::new(2, &hidden, 1, Activation::Tanh, 0));
        assert!(
            matches!(r, Err(Error::Config { ref setting, .. }) if setting == "network.hidden"),
            "{hidden:?}: {:?}",
            r.map(|m| m.num_params())
        );
    }
    let r = no_panic("Mlp::new", || {
        Mlp::new(2, &[4], usize::MAX, Activation::Tanh, 0)
    });
    assert!(r.is_err());
}

#[test]
fn adam_with_hostile_sizes_and_state_is_an_error() {
    assert!(no_panic("Adam::new", || Adam::new(AdamConfig::new(0.1), usize::MAX)).is_err());
    let cfg = serde_json::to_value(AdamConfig::new(0.1)).unwrap();
    // Moments of different lengths (a hand-edited checkpoint).
    let mut adam: Adam = serde_json::from_value(
        serde_json::json!({"config": cfg, "m": [0.0, 0.0], "v": [0.0], "t": 0}),
    )
    .unwrap();
    let mut p = [0.0, 0.0];
    let r = no_panic("Adam::step", || adam.step(&mut p, &[1.0, 1.0], 0.1));
    assert!(matches!(r, Err(Error::Config { .. })), "{r:?}");
    // A step count at its limit.
    let mut adam: Adam = serde_json::from_value(
        serde_json::json!({"config": cfg, "m": [0.0], "v": [0.0], "t": u64::MAX}),
    )
    .unwrap();
    let mut p = [0.0];
    let r = no_panic("Adam::step", || adam.step(&mut p, &[1.0], 0.1));
    assert!(r.is_err(), "{r:?} {p:?}");
    assert_eq!(p, [0.0]);
}

#[test]
fn evaluate_with_a_huge_chunk_size_works() {
    let f = FnField::new(1, |x| vec![x[0] * x[0] + x[1]]);
    let pts = Points::from_rows(2, &[[1.0, 2.0, 0.0], [3.0, -1.0, 0.0], [0.5, 0.0, 0.0]]).unwrap();
    let ops = [Operator::Value, Operator::Grad, Operator::Lap];
    let expect = evaluate(&f, &pts, &ops, &EvalOptions::default()).unwrap();
    for chunk_size in [1 << 63, usize::MAX, (1 << 63) + 1] {
        let opts = EvalOptions {
            chunk_size,
            ..EvalOptions::default()
        };
        let got = no_panic("evaluate", || evaluate(&f, &pts, &ops, &opts));
        assert_eq!(got.unwrap(), expect, "chunk size {chunk_size}");
    }
}

#[test]
fn operator_components_that_overflow_are_an_error() {
    assert!(matches!(
        Operator::Grad.components(usize::MAX, 3),
        Err(Error::Operator { .. })
    ));
    assert!(Operator::Jacobian.components(1 << 63, 2).is_err());
    assert_eq!(Operator::Grad.components(3, 3).unwrap(), 9);
}

/// A small Poisson problem in 2-D, with `network` and `domain` tables given.
fn pinn_toml(hidden: &str, min: &str, max: &str) -> String {
    format!(
        r#"boundary = ["0"]

[network]
hidden = {hidden}

[pde]
kind = "poisson"
source = "1"

[domain]
min = {min}
max = {max}

[points]
interior = 10
boundary = 10

[optimizer]
learning_rate = 1e-3
iterations = 10
"#
    )
}

#[test]
fn pinn_problem_with_a_huge_hidden_width_is_an_error() {
    // i64::MAX, the largest width TOML can write: 2 × (2⁶³ − 1) weights overflow usize.
    for hidden in ["[9223372036854775807]", "[8, 4611686018427387904]"] {
        let cfg =
            nabla::pinn::PinnConfig::from_toml(&pinn_toml(hidden, "[0.0, 0.0]", "[1.0, 1.0]"))
                .unwrap();
        let r = no_panic("PinnConfig::problem", || cfg.problem());
        assert!(
            matches!(r, Err(Error::Config { ref setting, .. }) if setting == "network.hidden"),
            "{hidden}: {:?}",
            r.err()
        );
    }
}

#[test]
fn pinn_problem_whose_boundary_measure_underflows_is_an_error() {
    let toml = pinn_toml("[4]", "[0.0, 0.0, 0.0]", "[1e-200, 1e-200, 1e-200]");
    let cfg = nabla::pinn::PinnConfig::from_toml(&toml).unwrap();
    let r = no_panic("PinnConfig::problem", || cfg.problem());
    assert!(
        matches!(r, Err(Error::Config { ref setting, .. }) if setting == "domain"),
        "{:?}",
        r.err()
    );
}

#[test]
fn linspace_of_more_values_than_fit_is_an_error() {
    assert!(
        no_panic("try_linspace", || Tensor::try_linspace(
            0.0,
            1.0,
            usize::MAX
        ))
        .is_err()
    );
    assert_eq!(
        Tensor::try_linspace(0.0, 1.0, 3).unwrap(),
        Tensor::linspace(0.0, 1.0, 3)
    );
    assert_eq!(Tensor::linspace(0.0, 1.0, 3).as_slice(), &[0.0, 0.5, 1.0]);
}

// ---------------------------------------------------------------------------------------
// Issue 21: forward mode with an input listed twice agrees with reverse mode.

/// The values of `v`, for comparing.
fn vals(v: nabla::autodiff::Var<'_>) -> Vec<f64> {
    v.value().unwrap().as_slice().to_vec()
}

#[test]
fn jvp_with_an_input_listed_twice_sums_its_tangents_as_reverse_mode_does() {
    use nabla::autodiff::{GradOptions, grad, jvp};
    let tape = Tape::new();
    let x = tape.var(Tensor::column(vec![1.0, 2.0]));
    let y = tape.var(Tensor::column(vec![3.0, 4.0]));
    let f = x * x * y; // ∂f/∂x = 2xy, ∂f/∂y = x²
    // Reverse mode gives each listing the whole derivative: ∂f/∂x twice.
    let ones = tape.full(2, 1, 1.0);
    let g = grad(&[f], &[x, x, y], &[ones], GradOptions::default()).unwrap();
    assert_eq!(vals(g[0]), [6.0, 16.0]);
    assert_eq!(vals(g[1]), [6.0, 16.0]);
    // J·v for v = (a, b, c) on (x, x, y) is ∂f/∂x·(a + b) + ∂f/∂y·c.
    let a = tape.constant(Tensor::column(vec![1.0, 1.0]));
    let b = tape.constant(Tensor::column(vec![2.0, -1.0]));
    let zero = tape.full(2, 1, 0.0);
    let t = no_panic("jvp", || {
        jvp(&[f], &[x, x, y], &[vec![a, b, zero], vec![zero, b, ones]])
    })
    .unwrap();
    // Direction 0: 2xy·(1 + 2, 1 − 1) = (6·3, 16·0); before the fix the second tangent
    // was dropped: (6, 16).
    assert_eq!(vals(t[0][0]), [18.0, 0.0]);
    // Direction 1: 2xy·(2, −1) + x² = (12 + 1, −16 + 4).
    assert_eq!(vals(t[1][0]), [13.0, -12.0]);
}

#[test]
fn jets_with_an_input_listed_twice_agree_with_reverse_mode() {
    use nabla::autodiff::{SecondOrder, jets};
    let tape = Tape::new();
    let x = tape.var(Tensor::column(vec![0.5, 1.5]));
    let y = tape.var(Tensor::column(vec![2.0, -1.0]));
    let f = x * x * y + x.sin(); // f_x = 2xy + cos x, f_xx = 2y − sin x, f_xy = 2x
    let inputs = [x, y, x];
    let reverse = nabla::operators::hessian(f, &inputs).unwrap();
    let grads = nabla::operators::grad(f, &inputs, true).unwrap();
    let fwd = no_panic("jets", || jets(&[f], &inputs, SecondOrder::Hessian)).unwrap();
    let j = &fwd[0];
    for k in 0..3 {
        assert_eq!(vals(j.grad[k]), vals(grads[k]), "gradient entry {k}");
        for l in 0..3 {
            let (fw, rv) = (vals(j.second[3 * k + l]), vals(reverse[k][l]));
            for (p, q) in fw.iter().zip(&rv) {
                assert!(
                    (p - q).abs() < 1e-12,
                    "Hessian ({k}, {l}): {fw:?} vs {rv:?}"
                );
            }
        }
    }
    // Hand-checked at the first point: f_x = 2·0.5·2 + cos 0.5, f_xx = 4 − sin 0.5.
    assert!((vals(j.grad[2])[0] - (2.0 + 0.5f64.cos())).abs() < 1e-15);
    assert!((vals(j.second[8])[0] - (4.0 - 0.5f64.sin())).abs() < 1e-14);
    // The Laplacian over the listings is the trace: f_xx + f_yy + f_xx.
    let lap = jets(&[f], &inputs, SecondOrder::Laplacian).unwrap();
    let trace: Vec<f64> = (0..2)
        .map(|p| (0..3).map(|k| vals(reverse[k][k])[p]).sum())
        .collect();
    for (p, q) in vals(lap[0].second[0]).iter().zip(&trace) {
        assert!((p - q).abs() < 1e-12, "{p} vs {q}");
    }
}

// ---------------------------------------------------------------------------------------
// Issue 21: the parallel and collection writers check their arguments as the single-file
// writers do.

#[test]
fn parallel_and_collection_writers_refuse_what_vtk_cannot_parse() {
    use nabla::io::{Precision, write_pvd, write_pvti, write_pvtp, write_pvtu};
    let dir = tempfile::tempdir().unwrap();
    let (pvti, pvtp, pvtu, pvd) = (
        dir.path().join("a.pvti"),
        dir.path().join("a.pvtp"),
        dir.path().join("a.pvtu"),
        dir.path().join("a.pvd"),
    );
    let whole = ImageGrid {
        origin: [0.0; 3],
        spacing: [1.0; 3],
        dims: [4, 4, 4],
    };
    let piece = |start: [usize; 3], dims: [usize; 3], name: &str| (start, dims, name.to_string());
    let ok_piece = vec![piece([0; 3], [4, 4, 4], "a_0.vti")];
    let arrays = |name: &str, c: usize| vec![(name.to_string(), c)];
    let f64p = Precision::Float64;
    let is_io = |r: nabla::Result<()>, what: &str| {
        assert!(matches!(r, Err(Error::Io { .. })), "{what}: {r:?}");
    };
    // Names, components: the same checks for the three parallel files.
    for (name, c, what) in [
        ("a\u{1b}[31m", 1, "a control character"),
        ("a\tb", 1, "a tab"),
        ("", 1, "an empty name"),
        ("p", 0, "0 components"),
        ("p", usize::MAX, "usize::MAX components"),
        (
            "p",
            i32::MAX as usize + 1,
            "more components than an int holds",
        ),
    ] {
        let a = arrays(name, c);
        is_io(
            no_panic("write_pvti", || {
                write_pvti(&pvti, &whole, &ok_piece, &a, f64p)
            }),
            what,
        );
        is_io(
            no_panic("write_pvtp", || {
                write_pvtp(&pvtp, &["a_0.vtp".into()], &a, f64p)
            }),
            what,
        );
        is_io(
            no_panic("write_pvtu", || {
                write_pvtu(&pvtu, &["a_0.vtu".into()], &a, &[], f64p)
            }),
            what,
        );
        is_io(
            no_panic("write_pvtu", || {
                write_pvtu(&pvtu, &["a_0.vtu".into()], &[], &a, f64p)
            }),
            &format!("{what} (cell array)"),
        );
    }
    let twice = vec![("p".to_string(), 1), ("p".to_string(), 3)];
    is_io(
        write_pvtp(&pvtp, &["a_0.vtp".into()], &twice, f64p),
        "two names",
    );
    // Piece names with control characters.
    is_io(
        write_pvtp(&pvtp, &["a\u{7}.vtp".into()], &arrays("p", 1), f64p),
        "piece name",
    );
    is_io(
        write_pvti(
            &pvti,
            &whole,
            &[piece([0; 3], [4; 3], "a\n.vti")],
            &[],
            f64p,
        ),
        "piece name",
    );
    // Extents VTK cannot hold.
    for (w, pieces, what) in [
        (
            [0, 4, 4],
            ok_piece.clone(),
            "a lattice with no points along x",
        ),
        (
            [usize::MAX, 4, 4],
            vec![piece([0; 3], [usize::MAX, 4, 4], "a_0.vti")],
            "usize::MAX points",
        ),
        (
            [4, 4, 4],
            vec![piece([0; 3], [0, 4, 4], "a_0.vti")],
            "an empty piece",
        ),
        (
            [4, 4, 4],
            vec![piece([usize::MAX, 0, 0], [4, 4, 4], "a_0.vti")],
            "a piece at usize::MAX",
        ),
        (
            [4, 4, 4],
            vec![piece([2, 0, 0], [4, 4, 4], "a_0.vti")],
            "a piece outside",
        ),
    ] {
        let g = ImageGrid { dims: w, ..whole };
        is_io(
            no_panic("write_pvti", || write_pvti(&pvti, &g, &pieces, &[], f64p)),
            what,
        );
    }
    let bad_grid = ImageGrid {
        spacing: [f64::NAN, 1.0, 1.0],
        ..whole
    };
    is_io(
        write_pvti(&pvti, &bad_grid, &ok_piece, &[], f64p),
        "NaN spacing",
    );
    // A collection entry with a control character.
    is_io(
        no_panic("write_pvd", || write_pvd(&pvd, &[(0.0, "u\u{1b}.vtu")])),
        "pvd name",
    );
    // Nothing was left on disk; the valid calls still work.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    write_pvti(&pvti, &whole, &ok_piece, &arrays("p", 3), f64p).unwrap();
    write_pvtp(&pvtp, &["a_0.vtp".into()], &arrays("p", 9), f64p).unwrap();
    write_pvtu(
        &pvtu,
        &["a_0.vtu".into()],
        &arrays("p", 1),
        &arrays("p", 1),
        f64p,
    )
    .unwrap();
    write_pvd(&pvd, &[(0.0, "a_0.vtu")]).unwrap();
}

// ---------------------------------------------------------------------------------------
// Issue 21: a checkpoint that JSON cannot hold is refused, not written with `null`.

#[test]
fn checkpoint_save_refuses_a_nan_parameter_instead_of_writing_null() {
    use nabla::pinn::{Checkpoint, LossRecord, LossTerms};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("checkpoint.json");
    let mut mlp = Mlp::new(2, &[3], 1, Activation::Tanh, 0).unwrap();
    let n = mlp.num_params();
    let adam = Adam::new(AdamConfig::new(1e-3), n).unwrap();
    let good = Checkpoint {
        mlp: mlp.clone(),
        adam: adam.clone(),
        history: Vec::new(),
        unknowns: Vec::new(),
        lbfgs: None,
        refined: Vec::new(),
    };
    let mut p = mlp.params();
    p[4] = f64::NAN;
    mlp.set_params(&p).unwrap();
    let bad = Checkpoint {
        mlp,
        adam: adam.clone(),
        history: Vec::new(),
        unknowns: Vec::new(),
        lbfgs: None,
        refined: Vec::new(),
    };
    let r = no_panic("Checkpoint::save", || bad.save(&path));
    match r {
        Err(Error::Config { setting, message }) => {
            assert_eq!(setting, "checkpoint");
            assert!(message.contains("network parameter 4 is NaN"), "{message}");
        }
        other => panic!("expected a Config error, got {other:?}"),
    }
    assert!(
        !path.exists(),
        "a checkpoint that cannot be read back was written"
    );
    // An infinite loss in the history: refused too.
    let loss = LossTerms {
        total: f64::INFINITY,
        pde: 1.0,
        continuity: 0.0,
        boundary: 1.0,
    };
    let history = vec![LossRecord {
        iteration: 0,
        learning_rate: 1e-3,
        loss,
        seconds: 0.0,
        unknowns: Vec::new(),
    }];
    let inf = Checkpoint {
        history,
        ..good.clone()
    };
    assert!(matches!(inf.save(&path), Err(Error::Config { .. })));
    assert!(!path.exists());
    // A finite checkpoint round-trips exactly.
    good.save(&path).unwrap();
    assert_eq!(Checkpoint::load(&path).unwrap(), good);
}
