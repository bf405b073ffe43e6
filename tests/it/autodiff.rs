//! The autodiff core: the seed article's examples (exact), dot-product tests of every op
//! (first and second order), third derivatives against closed forms and num-dual, and
//! every error path.

use approx::assert_relative_eq;
use nabla::Error;
use nabla::autodiff::{GradOptions, Tape, Tensor, Var, grad, grad_batched};
use num_dual::DualNum;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub(crate) fn vals(v: Var<'_>) -> Vec<f64> {
    v.value().unwrap().into_vec()
}

// ---- the seed article, asserted with == -----------------------------------------------

#[test]
fn seed_sin_first_and_second_derivative_at_zero_are_exact() {
    let tape = Tape::new();
    let x = tape.var(Tensor::zeros(1, 1));
    let sinx = x.sin();
    let dsinx = grad(&[sinx], &[x], &[], GradOptions::create_graph()).unwrap()[0];
    assert_eq!((dsinx.item().unwrap() - 0f64.cos()).abs(), 0.0);
    let ddsinx = grad(&[dsinx], &[x], &[], GradOptions::default()).unwrap()[0];
    assert_eq!((ddsinx.item().unwrap() - (-0f64.sin())).abs(), 0.0);
}

#[test]
fn seed_sin_derivatives_over_linspace_are_exact() {
    let tape = Tape::new();
    let xs = Tensor::linspace(0.0, 1.0, 1001);
    let x = tape.var(xs.clone());
    let ones = tape.full(1001, 1, 1.0);
    let d = grad(&[x.sin()], &[x], &[ones], GradOptions::create_graph()).unwrap()[0];
    let dd = grad(&[d], &[x], &[ones], GradOptions::default()).unwrap()[0];
    let (d, dd) = (vals(d), vals(dd));
    for (i, &xi) in xs.as_slice().iter().enumerate() {
        assert_eq!(d[i], xi.cos(), "sin' at x = {xi}");
        assert_eq!(dd[i], -xi.sin(), "sin'' at x = {xi}");
    }
}

#[test]
fn seed_partials_of_product_at_1_2_are_5_and_8() {
    // f = (x + y)(y + 3); ∂f/∂x = y + 3 = 5, ∂f/∂y = 2y + x + 3 = 8 at (1, 2).
    let tape = Tape::new();
    let x = tape.var(Tensor::ones(1, 1));
    let y = tape.var(Tensor::full(1, 1, 2.0));
    let f = (x + y) * (y + 3.0);
    let dx = grad(&[f], &[x], &[], GradOptions::create_graph()).unwrap()[0];
    assert_eq!(dx.item().unwrap(), 5.0);
    let dy = grad(&[f], &[y], &[], GradOptions::default()).unwrap()[0];
    assert_eq!(dy.item().unwrap(), 8.0);
}

#[test]
fn seed_grad_of_dot_and_div_grad_are_exact() {
    // f = x·x, x = ones(3): ∇f = 2x, ∇·∇f = 6 — with v = ones(3) (valid here because
    // the Hessian 2I is diagonal) and with v = eye(3) through batched cotangents.
    let tape = Tape::new();
    let x = tape.var(Tensor::ones(3, 1));
    let f = (x * x).sum();
    let g = grad(&[f], &[x], &[], GradOptions::create_graph()).unwrap()[0];
    assert_eq!(vals(g), vec![2.0, 2.0, 2.0]);

    let ones = tape.full(3, 1, 1.0);
    let jv = grad(&[g], &[x], &[ones], GradOptions::retain_graph()).unwrap()[0];
    assert_eq!(jv.sum().item().unwrap(), 6.0);

    let eye: Vec<Vec<Var>> = (0..3)
        .map(|i| vec![tape.constant(Tensor::one_hot(3, 1, i, 0))])
        .collect();
    let rows = grad_batched(&[g], &[x], &eye, GradOptions::default()).unwrap();
    let diag: Vec<f64> = (0..3)
        .map(|i| rows[i][0].value().unwrap()[(i, 0)])
        .collect();
    assert_eq!(diag, vec![2.0, 2.0, 2.0]);
    assert_eq!(diag.iter().sum::<f64>(), 6.0);
}

#[test]
fn ones_cotangent_gives_hessian_row_sums_not_the_trace_for_mixed_partials() {
    // f(x) = x0·x1 + x0² + sin x2 at x = (1, 2, 0.5): H = [[2, 1, 0], [1, 0, 0], [0, 0, −sin x2]].
    // trace H = 2 − sin 0.5; J·1 summed = sum of all entries = 4 − sin 0.5.
    let tape = Tape::new();
    // x as a 1 × 3 row, so its components are columns.
    let xr = tape.var(Tensor::row(vec![1.0, 2.0, 0.5]));
    let (a, b, c) = (xr.col(0), xr.col(1), xr.col(2));
    let f = a * b + a.powi(2) + c.sin();
    let g = grad(&[f], &[xr], &[], GradOptions::create_graph()).unwrap()[0];
    let ones = tape.full(1, 3, 1.0);
    let wrong = grad(&[g], &[xr], &[ones], GradOptions::retain_graph()).unwrap()[0]
        .sum()
        .item()
        .unwrap();
    let eye: Vec<Vec<Var>> = (0..3)
        .map(|j| vec![tape.constant(Tensor::one_hot(1, 3, 0, j))])
        .collect();
    let rows = grad_batched(&[g], &[xr], &eye, GradOptions::default()).unwrap();
    let trace: f64 = (0..3).map(|j| rows[j][0].value().unwrap()[(0, j)]).sum();
    assert_eq!(trace, 2.0 - 0.5f64.sin());
    assert_eq!(wrong, 2.0 + 1.0 + 1.0 - 0.5f64.sin());
    assert_ne!(trace, wrong);
}

#[test]
fn dense_jacobian_of_a_batch_agrees_with_the_ones_cotangent_on_diagonal_jacobians() {
    // y = sin(x) over N points: J is diagonal, so J·1 and diag(J·I) agree exactly.
    let n = 17;
    let tape = Tape::new();
    let x = tape.var(Tensor::linspace(0.0, 1.0, n));
    let y = x.sin();
    let ones = tape.full(n, 1, 1.0);
    let j1 = vals(grad(&[y], &[x], &[ones], GradOptions::retain_graph()).unwrap()[0]);
    let eye: Vec<Vec<Var>> = (0..n)
        .map(|i| vec![tape.constant(Tensor::one_hot(n, 1, i, 0))])
        .collect();
    let rows = grad_batched(&[y], &[x], &eye, GradOptions::default()).unwrap();
    for i in 0..n {
        let row = vals(rows[i][0]);
        for (k, &v) in row.iter().enumerate() {
            assert_eq!(v, if k == i { j1[i] } else { 0.0 });
        }
    }
}

// ---- dot-product tests of every op ------------------------------------------------------

pub(crate) type OpFn = Box<dyn for<'t> Fn(&[Var<'t>]) -> Var<'t>>;

pub(crate) struct OpCase {
    pub(crate) name: &'static str,
    pub(crate) shapes: Vec<(usize, usize)>,
    pub(crate) f: OpFn,
}

fn case(
    name: &'static str,
    shapes: &[(usize, usize)],
    f: impl for<'t> Fn(&[Var<'t>]) -> Var<'t> + 'static,
) -> OpCase {
    OpCase {
        name,
        shapes: shapes.to_vec(),
        f: Box::new(f),
    }
}

pub(crate) fn all_ops() -> Vec<OpCase> {
    let s = (4, 3);
    vec![
        case("add", &[s, s], |v| v[0] + v[1]),
        case("sub", &[s, s], |v| v[0] - v[1]),
        case("mul", &[s, s], |v| v[0] * v[1]),
        case("div", &[s, s], |v| v[0] / v[1]),
        case("pow", &[s, s], |v| v[0].pow(v[1])),
        case("atan2", &[s, s], |v| v[0].atan2(v[1])),
        case("mul broadcast row × column", &[(4, 1), (1, 3)], |v| {
            v[0] * v[1]
        }),
        case("div broadcast scalar", &[s, (1, 1)], |v| v[0] / v[1]),
        case("sub broadcast column", &[(1, 1), (4, 1)], |v| v[0] - v[1]),
        case("self product x·x", &[s], |v| v[0] * v[0]),
        case("neg", &[s], |v| -v[0]),
        case("add scalar", &[s], |v| v[0] + 2.5),
        case("scalar minus", &[s], |v| 2.5 - v[0]),
        case("scale", &[s], |v| v[0] * 3.0),
        case("scalar divided", &[s], |v| 3.0 / v[0]),
        case("divided by scalar", &[s], |v| v[0] / 3.0),
        case("powi 3", &[s], |v| v[0].powi(3)),
        case("powi -2", &[s], |v| v[0].powi(-2)),
        case("powf 2.5", &[s], |v| v[0].powf(2.5)),
        case("sqrt", &[s], |v| v[0].sqrt()),
        case("exp", &[s], |v| v[0].exp()),
        case("ln", &[s], |v| v[0].ln()),
        case("sin", &[s], |v| v[0].sin()),
        case("cos", &[s], |v| v[0].cos()),
        case("tan", &[s], |v| v[0].tan()),
        case("tanh", &[s], |v| v[0].tanh()),
        case("sinh", &[s], |v| v[0].sinh()),
        case("cosh", &[s], |v| v[0].cosh()),
        case("abs", &[s], |v| (v[0] - 0.75).abs()),
        case("recip", &[s], |v| v[0].recip()),
        case("softplus", &[s], |v| (v[0] - 0.75).softplus()),
        case("sigmoid", &[s], |v| (v[0] - 0.75).sigmoid()),
        case("times a ones cotangent", &[s], |v| {
            v[0].sin() * v[0].tape().full(4, 3, 1.0)
        }),
        case("sum_rows", &[s], |v| (v[0] * v[0]).sum_rows()),
        case("sum_cols", &[s], |v| (v[0] * v[0]).sum_cols()),
        case("mean_rows", &[s], |v| v[0].sin().mean_rows()),
        case("mean_cols", &[s], |v| v[0].sin().mean_cols()),
        case("sum", &[s], |v| v[0].exp().sum()),
        case("mean", &[s], |v| v[0].exp().mean()),
        case("expand", &[(1, 3)], |v| v[0].sin().expand(4, 3)),
        case("col", &[s], |v| v[0].col(1).sin()),
        case("cols_range", &[s], |v| {
            v[0].cols_range(1, 2) * v[0].cols_range(0, 2)
        }),
        case("pad_cols", &[(4, 2)], |v| v[0].sin().pad_cols(1, 4)),
        case("stack", &[(4, 1), (4, 2)], |v| {
            v[0].tape().stack(&[v[0].sin(), v[1] * v[1], v[0]])
        }),
        case("matmul", &[(4, 3), (3, 2)], |v| v[0].matmul(v[1]).tanh()),
        case("matmul aᵀ", &[(3, 4), (3, 2)], |v| {
            v[0].matmul_t(v[1], true, false).sin()
        }),
        case("matmul bᵀ", &[(4, 3), (2, 3)], |v| {
            v[0].matmul_t(v[1], false, true).sin()
        }),
        case("matmul aᵀbᵀ", &[(3, 4), (2, 3)], |v| {
            v[0].matmul_t(v[1], true, true).sin()
        }),
    ]
}

pub(crate) fn random(rng: &mut ChaCha8Rng, (r, c): (usize, usize), lo: f64, hi: f64) -> Tensor {
    Tensor::from_col_major(r, c, (0..r * c).map(|_| rng.random_range(lo..hi)).collect()).unwrap()
}

/// One random tensor per shape, values uniform in `lo..hi`.
pub(crate) fn randoms(
    rng: &mut ChaCha8Rng,
    shapes: &[(usize, usize)],
    lo: f64,
    hi: f64,
) -> Vec<Tensor> {
    shapes.iter().map(|&s| random(rng, s, lo, hi)).collect()
}

pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn shifted(xs: &[Tensor], dirs: &[Tensor], h: f64) -> Vec<Tensor> {
    xs.iter()
        .zip(dirs)
        .map(|(x, d)| {
            let v = x
                .as_slice()
                .iter()
                .zip(d.as_slice())
                .map(|(a, b)| a + h * b)
                .collect();
            Tensor::from_col_major(x.rows(), x.cols(), v).unwrap()
        })
        .collect()
}

/// ⟨u, f(x)⟩ evaluated on a fresh tape.
fn project(c: &OpCase, xs: &[Tensor], u: &Tensor) -> f64 {
    let tape = Tape::new();
    let vars: Vec<Var> = xs.iter().map(|x| tape.var(x.clone())).collect();
    dot(&vals((c.f)(&vars)), u.as_slice())
}

/// ⟨w, Jᵀu⟩: the first-order VJP contracted with w, evaluated on a fresh tape.
fn project_vjp(c: &OpCase, xs: &[Tensor], u: &Tensor, w: &[Tensor]) -> f64 {
    let tape = Tape::new();
    let vars: Vec<Var> = xs.iter().map(|x| tape.var(x.clone())).collect();
    let y = (c.f)(&vars);
    let g = grad(
        &[y],
        &vars,
        &[tape.constant(u.clone())],
        GradOptions::default().allow_unused(),
    )
    .unwrap();
    g.iter()
        .zip(w)
        .map(|(g, w)| dot(&vals(*g), w.as_slice()))
        .sum()
}

#[test]
fn every_op_passes_first_and_second_order_dot_product_tests() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let h = 1e-5;
    for c in all_ops() {
        let xs: Vec<Tensor> = randoms(&mut rng, &c.shapes, 0.3, 1.2);
        let dirs: Vec<Tensor> = randoms(&mut rng, &c.shapes, -1.0, 1.0);
        let w: Vec<Tensor> = randoms(&mut rng, &c.shapes, -1.0, 1.0);

        // First order: ⟨u, J v⟩ by central differences against ⟨Jᵀu, v⟩ by reverse mode.
        let tape = Tape::new();
        let vars: Vec<Var> = xs.iter().map(|x| tape.var(x.clone())).collect();
        let y = (c.f)(&vars);
        let u = random(&mut rng, y.shape(), -1.0, 1.0);
        let fd = (project(&c, &shifted(&xs, &dirs, h), &u)
            - project(&c, &shifted(&xs, &dirs, -h), &u))
            / (2.0 * h);
        let uv = tape.constant(u.clone());
        let g = grad(
            &[y],
            &vars,
            &[uv],
            GradOptions::create_graph().allow_unused(),
        )
        .unwrap();
        let ad: f64 = g
            .iter()
            .zip(&dirs)
            .map(|(g, d)| dot(&vals(*g), d.as_slice()))
            .sum();
        assert_relative_eq!(ad, fd, epsilon = 1e-8, max_relative = 1e-7);

        // Second order: the same test on x ↦ ⟨w, Jᵀ(x)u⟩, differentiated through the
        // recorded backward pass.
        let s = g
            .iter()
            .zip(&w)
            .map(|(g, w)| (*g * tape.constant(w.clone())).sum())
            .reduce(|a, b| a + b)
            .unwrap();
        let g2 = grad(&[s], &vars, &[], GradOptions::default().allow_unused()).unwrap();
        let ad2: f64 = g2
            .iter()
            .zip(&dirs)
            .map(|(g, d)| dot(&vals(*g), d.as_slice()))
            .sum();
        let fd2 = (project_vjp(&c, &shifted(&xs, &dirs, h), &u, &w)
            - project_vjp(&c, &shifted(&xs, &dirs, -h), &u, &w))
            / (2.0 * h);
        assert_relative_eq!(ad2, fd2, epsilon = 1e-7, max_relative = 1e-6);
        println!("{:<28} first {ad:+.12e}  second {ad2:+.12e}", c.name);
    }
}

// ---- third derivatives ------------------------------------------------------------------

/// d/dx applied `k` times to `f` at the points `xs`, with create_graph in between.
fn nth_derivative(xs: &[f64], k: usize, f: impl for<'t> Fn(Var<'t>) -> Var<'t>) -> Vec<Vec<f64>> {
    let tape = Tape::new();
    let n = xs.len();
    let x = tape.var(Tensor::column(xs.to_vec()));
    let ones = tape.full(n, 1, 1.0);
    let mut d = f(x);
    let mut out = vec![vals(d)];
    for _ in 0..k {
        d = grad(&[d], &[x], &[ones], GradOptions::create_graph()).unwrap()[0];
        out.push(vals(d));
    }
    out
}

#[test]
fn third_derivative_of_sin_is_minus_cos() {
    let xs: Vec<f64> = (0..50).map(|i| -3.0 + 0.13 * i as f64).collect();
    let d = nth_derivative(&xs, 3, |x| x.sin());
    for (i, &x) in xs.iter().enumerate() {
        // Exact: each VJP multiplies by the cotangent 1 and reuses the forward sin/cos.
        assert_eq!(d[1][i], x.cos());
        assert_eq!(d[2][i], -x.sin());
        assert_eq!(d[3][i], -x.cos());
    }
}

#[test]
fn third_derivative_of_tanh_matches_closed_form() {
    // t = tanh x: t′ = 1 − t², t″ = −2t(1 − t²), t‴ = −2(1 − t²)(1 − 3t²).
    let xs: Vec<f64> = (0..50).map(|i| -2.5 + 0.1 * i as f64).collect();
    let d = nth_derivative(&xs, 3, |x| x.tanh());
    for (i, &x) in xs.iter().enumerate() {
        let t = x.tanh();
        assert_relative_eq!(d[1][i], 1.0 - t * t, epsilon = 1e-15);
        assert_relative_eq!(d[2][i], -2.0 * t * (1.0 - t * t), epsilon = 1e-15);
        assert_relative_eq!(
            d[3][i],
            -2.0 * (1.0 - t * t) * (1.0 - 3.0 * t * t),
            epsilon = 1e-14
        );
        let (_, d1, d2, d3) = num_dual::third_derivative(|x| x.tanh(), x);
        assert_relative_eq!(d[3][i], d3, epsilon = 1e-14);
        assert_relative_eq!(d[2][i], d2, epsilon = 1e-15);
        assert_relative_eq!(d[1][i], d1, epsilon = 1e-15);
    }
}

#[test]
fn third_derivative_of_a_product_of_three_functions_matches_leibniz() {
    // (fgh)‴ with f = sin, g = exp, h = x²: expanded by Leibniz' rule below.
    let xs: Vec<f64> = (0..40).map(|i| -2.0 + 0.1 * i as f64).collect();
    let d = nth_derivative(&xs, 3, |x| x.sin() * x.exp() * x.powi(2));
    for (i, &x) in xs.iter().enumerate() {
        let f = [x.sin(), x.cos(), -x.sin(), -x.cos()];
        let g = [x.exp(); 4];
        let h = [x * x, 2.0 * x, 2.0, 0.0];
        // Σ over a + b + c = 3 of 3!/(a! b! c!) f⁽ᵃ⁾ g⁽ᵇ⁾ h⁽ᶜ⁾
        let mut exact = 0.0;
        for a in 0..=3 {
            for b in 0..=3 - a {
                let c = 3 - a - b;
                let fact = |n: usize| (1..=n).product::<usize>() as f64;
                exact += 6.0 / (fact(a) * fact(b) * fact(c)) * f[a] * g[b] * h[c];
            }
        }
        assert_relative_eq!(d[3][i], exact, epsilon = 1e-12, max_relative = 1e-13);
        let (_, _, _, d3) = num_dual::third_derivative(|x| x.sin() * x.exp() * x.powi(2), x);
        assert_relative_eq!(d[3][i], d3, epsilon = 1e-12, max_relative = 1e-13);
    }
}

#[test]
fn mixed_third_partial_matches_num_dual() {
    // ∂³/∂x∂y∂z of exp(xy)·sin(y + z)·atan2(z, x) against hyper-hyper-dual numbers.
    let tape = Tape::new();
    let (px, py, pz) = (0.7, -0.4, 1.3);
    let x = tape.var(Tensor::scalar(px));
    let y = tape.var(Tensor::scalar(py));
    let z = tape.var(Tensor::scalar(pz));
    let f = (x * y).exp() * (y + z).sin() * z.atan2(x);
    let fx = grad(&[f], &[x], &[], GradOptions::create_graph()).unwrap()[0];
    let fxy = grad(&[fx], &[y], &[], GradOptions::create_graph()).unwrap()[0];
    let fxyz = grad(&[fxy], &[z], &[], GradOptions::default()).unwrap()[0];
    let r = num_dual::third_partial_derivative(
        |(x, y, z)| (x * y).exp() * (y + z).sin() * z.atan2(x),
        (px, py, pz),
    );
    assert_relative_eq!(fx.item().unwrap(), r.1, max_relative = 1e-14);
    assert_relative_eq!(fxy.item().unwrap(), r.4, max_relative = 1e-14);
    assert_relative_eq!(fxyz.item().unwrap(), r.7, max_relative = 1e-13);
}

// ---- errors -----------------------------------------------------------------------------

#[test]
fn shape_mismatch_is_a_typed_error_not_a_panic() {
    let tape = Tape::new();
    let a = tape.var(Tensor::zeros(3, 2));
    let b = tape.var(Tensor::zeros(2, 3));
    let c = (a + b).sin() * 2.0; // the invalid value travels on
    let e = c.value().unwrap_err();
    assert_eq!(
        e,
        Error::ShapeMismatch {
            op: "add",
            lhs: (3, 2),
            rhs: (2, 3)
        }
    );
    assert_eq!(tape.check().unwrap_err(), e);
    assert_eq!(
        grad(&[a.sum()], &[a], &[], GradOptions::default()).unwrap_err(),
        e
    );
}

#[test]
fn matmul_and_expand_and_column_errors() {
    let tape = Tape::new();
    let a = tape.var(Tensor::zeros(4, 3));
    assert!(matches!(
        a.matmul(a).value(),
        Err(Error::ShapeMismatch { op: "matmul", .. })
    ));
    let tape = Tape::new();
    let a = tape.var(Tensor::zeros(4, 3));
    assert!(matches!(
        a.expand(5, 3).value(),
        Err(Error::ShapeMismatch { op: "expand", .. })
    ));
    let tape = Tape::new();
    let a = tape.var(Tensor::zeros(4, 3));
    assert_eq!(
        a.cols_range(2, 2).value().unwrap_err(),
        Error::ColumnRange {
            op: "cols",
            start: 2,
            end: 4,
            shape: (4, 3)
        }
    );
    let tape = Tape::new();
    let a = tape.var(Tensor::zeros(4, 3));
    assert!(matches!(
        a.pad_cols(2, 3).value(),
        Err(Error::ColumnRange { op: "pad", .. })
    ));
    let tape = Tape::new();
    assert!(matches!(
        tape.stack(&[]).value(),
        Err(Error::ShapeMismatch { op: "stack", .. })
    ));
    let tape = Tape::new();
    let (a, b) = (tape.var(Tensor::zeros(4, 1)), tape.var(Tensor::zeros(3, 1)));
    assert!(matches!(
        tape.stack(&[a, b]).value(),
        Err(Error::ShapeMismatch { op: "stack", .. })
    ));
    let tape = Tape::new();
    assert_eq!(
        tape.var_from_slice(2, 2, &[1.0]).value().unwrap_err(),
        Error::DataLength {
            rows: 2,
            cols: 2,
            len: 1
        }
    );
    let tape = Tape::new();
    assert!(matches!(
        tape.var(Tensor::zeros(2, 1)).item(),
        Err(Error::Operator { .. })
    ));
}

#[test]
fn cotangent_errors() {
    let tape = Tape::new();
    let x = tape.var(Tensor::ones(3, 1));
    let y = x.sin();
    assert_eq!(
        grad(&[y], &[x], &[], GradOptions::retain_graph()).unwrap_err(),
        Error::MissingCotangent {
            index: 0,
            shape: (3, 1)
        }
    );
    let wrong = tape.full(1, 3, 1.0);
    assert_eq!(
        grad(&[y], &[x], &[wrong], GradOptions::retain_graph()).unwrap_err(),
        Error::CotangentShape {
            index: 0,
            expected: (3, 1),
            got: (1, 3)
        }
    );
    let ones = tape.full(3, 1, 1.0);
    assert_eq!(
        grad(&[y], &[x], &[ones, ones], GradOptions::retain_graph()).unwrap_err(),
        Error::CotangentCount {
            outputs: 1,
            grad_outputs: 2
        }
    );
}

#[test]
fn unused_input_is_an_error_unless_allowed() {
    let tape = Tape::new();
    let x = tape.var(Tensor::scalar(1.0));
    let z = tape.var(Tensor::full(2, 2, 1.0));
    let y = x.exp();
    assert_eq!(
        grad(&[y], &[x, z], &[], GradOptions::retain_graph()).unwrap_err(),
        Error::UnusedInput { index: 1 }
    );
    let g = grad(&[y], &[x, z], &[], GradOptions::default().allow_unused()).unwrap();
    assert_eq!(g[0].item().unwrap(), 1f64.exp());
    assert_eq!(vals(g[1]), vec![0.0; 4]);
}

#[test]
fn second_pass_through_a_freed_graph_is_an_error() {
    let tape = Tape::new();
    let x = tape.var(Tensor::scalar(0.3));
    let y = x.sin() * x;
    grad(&[y], &[x], &[], GradOptions::default()).unwrap();
    assert_eq!(
        grad(&[y], &[x], &[], GradOptions::default()).unwrap_err(),
        Error::GraphFreed
    );
    // With retain_graph the second pass works.
    let y2 = x.cos() * x;
    grad(&[y2], &[x], &[], GradOptions::retain_graph()).unwrap();
    assert!(grad(&[y2], &[x], &[], GradOptions::default()).is_ok());
}

#[test]
fn variables_of_two_tapes_do_not_mix() {
    let t1 = Tape::new();
    let t2 = Tape::new();
    let a = t1.var(Tensor::scalar(1.0));
    let b = t2.var(Tensor::scalar(1.0));
    assert_eq!(
        (a + b).value().unwrap_err(),
        Error::ForeignVar { op: "add" }
    );
    let t3 = Tape::new();
    let c = t3.var(Tensor::scalar(1.0));
    assert_eq!(
        grad(&[a], &[c], &[], GradOptions::default()).unwrap_err(),
        Error::ForeignVar { op: "grad" }
    );
}

#[test]
fn cleared_tape_reuses_buffers_and_forgets_errors() {
    let mut tape = Tape::new();
    {
        let a = tape.var(Tensor::zeros(3, 2));
        let _ = a + tape.var(Tensor::zeros(2, 3));
    }
    assert!(tape.check().is_err());
    tape.clear();
    assert!(tape.is_empty());
    assert!(tape.check().is_ok());
    let x = tape.var(Tensor::scalar(2.0));
    let g = grad(&[x * x], &[x], &[], GradOptions::default()).unwrap()[0];
    assert_eq!(g.item().unwrap(), 4.0);
}

#[test]
fn values_read_as_nalgebra_matrices_and_row_major_tensors() {
    let tape = Tape::new();
    let t = Tensor::from_row_major(2, 3, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
    assert_eq!(t[(0, 2)], 3.0);
    assert_eq!(t.col(1), &[2.0, 5.0]);
    let x = tape.var(t.clone());
    let m = (x * 2.0).matrix().unwrap();
    assert_eq!(m[(1, 0)], 8.0);
    assert_eq!(Tensor::from(m.clone()), Tensor::from_dmatrix(&m));
    assert!(Tensor::from_row_major(2, 2, &[1.0]).is_none());
}

#[test]
fn softplus_and_sigmoid_have_their_closed_form_derivatives_even_at_zero() {
    // softplus′ = σ, softplus″ = σ(1 − σ): at 0 these are 1/2 and 1/4 exactly.
    let xs = [-800.0, -3.0, 0.0, 2.5, 800.0];
    let d = nth_derivative(&xs, 2, |x| x.softplus());
    for (i, &x) in xs.iter().enumerate() {
        let s = 1.0 / (1.0 + f64::exp(-x));
        assert!(d[0][i].is_finite(), "softplus({x}) = {}", d[0][i]);
        assert_relative_eq!(
            d[0][i],
            if x > 700.0 { x } else { x.exp().ln_1p() },
            max_relative = 1e-15
        );
        assert_relative_eq!(d[1][i], s, max_relative = 1e-15);
        assert_relative_eq!(d[2][i], s * (1.0 - s), max_relative = 1e-14);
    }
    assert_eq!(d[1][2], 0.5);
    assert_eq!(d[2][2], 0.25);
}

#[test]
fn powi_derivatives_at_the_end_of_the_integer_range_do_not_overflow() {
    // d/dx x^n for n = i32::MIN: n − 1 does not fit an i32; the rule falls back to a real
    // exponent. At x = 1 every derivative is a falling factorial of n.
    let n = i32::MIN;
    let d = nth_derivative(&[1.0], 2, |x| x.powi(n));
    let nf = n as f64;
    assert_eq!(d[1][0], nf);
    assert_eq!(d[2][0], nf * (nf - 1.0));
}

#[test]
fn gradients_without_create_graph_never_require_grad() {
    // y = x + w: the cotangent passes through the sum unchanged. A recorded cotangent must
    // still come back detached when create_graph is off (PyTorch's semantics).
    let tape = Tape::new();
    let x = tape.var(Tensor::column(vec![1.0, 2.0]));
    let w = tape.var(Tensor::column(vec![3.0, 4.0]));
    let v = (w * w).sin(); // a cotangent that itself requires grad
    let g = grad(&[x + w], &[x], &[v], GradOptions::retain_graph()).unwrap()[0];
    assert!(!g.requires_grad());
    assert_eq!(vals(g), vals(v));
    let g = grad(&[x + w], &[x], &[v], GradOptions::create_graph()).unwrap()[0];
    assert!(
        g.requires_grad(),
        "with create_graph the result is differentiable"
    );
}
