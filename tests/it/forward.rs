//! Forward mode: JVPs of every op against the VJPs (dot-product tests), second-order jets
//! against JVPs of JVPs and reverse-over-reverse, everything against num-dual, the seed's
//! identities exactly, reverse mode over jets, and the error paths.

use approx::assert_relative_eq;
use nabla::Error;
use nabla::autodiff::{GradOptions, SecondOrder, Tape, Tensor, Var, grad, jets, jvp};
use num_dual::{Dual2_64, DualNum, HyperDual64};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::autodiff::{all_ops, dot, random, randoms, vals};

/// `Σₖ ⟨aₖ, bₖ⟩` over lists of variables and tensors.
fn dots(a: &[Var<'_>], b: &[Tensor]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(a, b)| dot(&vals(*a), b.as_slice()))
        .sum()
}

#[test]
fn every_op_jvp_passes_the_dot_product_test_against_its_vjp() {
    // ⟨J·v, w⟩ by forward mode = ⟨v, Jᵀ·w⟩ by reverse mode, to round-off, and the
    // second order: ⟨w, D²f[v, v]⟩ by forward-over-forward = by reverse-over-reverse.
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    for c in all_ops() {
        let xs: Vec<Tensor> = randoms(&mut rng, &c.shapes, 0.3, 1.2);
        let v: Vec<Tensor> = randoms(&mut rng, &c.shapes, -1.0, 1.0);
        let tape = Tape::new();
        let x: Vec<Var> = xs.iter().map(|t| tape.var(t.clone())).collect();
        let y = (c.f)(&x);
        let w = random(&mut rng, y.shape(), -1.0, 1.0);
        let vt: Vec<Var> = v.iter().map(|t| tape.constant(t.clone())).collect();

        let jv = jvp(&[y], &x, std::slice::from_ref(&vt)).unwrap()[0][0];
        let forward = dot(&vals(jv), w.as_slice());
        let wv = tape.constant(w.clone());
        let jtw = grad(&[y], &x, &[wv], GradOptions::create_graph().allow_unused()).unwrap();
        let reverse = dots(&jtw, &v);
        assert_relative_eq!(forward, reverse, epsilon = 1e-13, max_relative = 1e-12);

        let jjv = jvp(&[jv], &x, std::slice::from_ref(&vt)).unwrap()[0][0];
        let forward2 = dot(&vals(jjv), w.as_slice());
        let s = jtw
            .iter()
            .zip(&vt)
            .map(|(g, v)| (*g * *v).sum())
            .reduce(|a, b| a + b)
            .unwrap();
        let h = grad(&[s], &x, &[], GradOptions::default().allow_unused()).unwrap();
        let reverse2 = dots(&h, &v);
        assert_relative_eq!(forward2, reverse2, epsilon = 1e-12, max_relative = 1e-11);
        println!(
            "{:<28} jvp {forward:+.15e}  second {forward2:+.15e}",
            c.name
        );
    }
}

#[test]
fn every_op_second_order_jet_equals_the_jvp_of_its_jvp() {
    // The jets' own second-order rules (curvature terms, not the tangent rules) against
    // forward-over-forward: entry (a, b) of the Hessian jet is D²f[1ₐ, 1_b], and the
    // Laplacian jet is the sum of the diagonal ones.
    let mut rng = ChaCha8Rng::seed_from_u64(12);
    for c in all_ops() {
        let xs: Vec<Tensor> = randoms(&mut rng, &c.shapes, 0.3, 1.2);
        let tape = Tape::new();
        let x: Vec<Var> = xs.iter().map(|t| tape.var(t.clone())).collect();
        let y = (c.f)(&x);
        let d = x.len();
        let dir = |k: usize| -> Vec<Var> {
            x.iter()
                .enumerate()
                .map(|(i, xi)| {
                    let (r, cc) = xi.shape();
                    tape.full(r, cc, if i == k { 1.0 } else { 0.0 })
                })
                .collect()
        };
        let first = jvp(&[y], &x, &(0..d).map(dir).collect::<Vec<_>>()).unwrap();
        let hj = &jets(&[y], &x, SecondOrder::Hessian).unwrap()[0];
        let lj = &jets(&[y], &x, SecondOrder::Laplacian).unwrap()[0];
        let dj = &jets(&[y], &x, SecondOrder::Diagonal).unwrap()[0];
        let mut lap = vec![0.0; y.rows() * y.cols()];
        for a in 0..d {
            assert_eq!(
                vals(hj.grad[a]),
                vals(first[a][0]),
                "{} tangent {a}",
                c.name
            );
            for b in 0..d {
                let fof = vals(jvp(&[first[a][0]], &x, &[dir(b)]).unwrap()[0][0]);
                let jet = vals(hj.second[a * d + b]);
                for (p, (&j, &f)) in jet.iter().zip(&fof).enumerate() {
                    assert_relative_eq!(j, f, epsilon = 1e-13, max_relative = 1e-12);
                    if a == b {
                        lap[p] += f;
                        assert_relative_eq!(
                            vals(dj.second[a])[p],
                            f,
                            epsilon = 1e-13,
                            max_relative = 1e-12
                        );
                    }
                }
            }
        }
        for (&j, &l) in vals(lj.second[0]).iter().zip(&lap) {
            assert_relative_eq!(j, l, epsilon = 1e-12, max_relative = 1e-12);
        }
    }
}

fn f_dual<D: DualNum<Primitive = f64> + Copy>(x: D, y: D, z: D) -> D {
    (x * y).exp() * (y + z).sin()
        + z.atan2(x) * (x * x + y * y + 1.0).sqrt()
        + (z * z + 1.0).ln() / y.cosh()
        + (x * z).tanh() * y.powi(3)
        + x.powf(2.5)
        - x.recip() * z.sinh()
        + (y / z).cos() * x.tan()
}

fn f_tape<'t>(x: Var<'t>, y: Var<'t>, z: Var<'t>) -> Var<'t> {
    (x * y).exp() * (y + z).sin()
        + z.atan2(x) * (x * x + y * y + 1.0).sqrt()
        + (z * z + 1.0).ln() / y.cosh()
        + (x * z).tanh() * y.powi(3)
        + x.powf(2.5)
        - x.recip() * z.sinh()
        + (y / z).cos() * x.tan()
}

/// num-dual's value, gradient and Hessian of `f_dual` at `p`.
fn num_dual_reference(p: [f64; 3]) -> ([f64; 3], [[f64; 3]; 3]) {
    let at = |a: usize, t: Dual2_64| {
        let mut v = p.map(Dual2_64::from_re);
        v[a] = t;
        f_dual(v[0], v[1], v[2])
    };
    let mut g = [0.0; 3];
    let mut h = [[0.0; 3]; 3];
    for a in 0..3 {
        let (_, d1, d2) = num_dual::second_derivative(|t| at(a, t), p[a]);
        g[a] = d1;
        h[a][a] = d2;
        for b in a + 1..3 {
            let (_, _, _, dab) = num_dual::second_partial_derivative(
                |(s, t): (HyperDual64, HyperDual64)| {
                    let mut v = p.map(HyperDual64::from_re);
                    v[a] = s;
                    v[b] = t;
                    f_dual(v[0], v[1], v[2])
                },
                (p[a], p[b]),
            );
            h[a][b] = dab;
            h[b][a] = dab;
        }
    }
    (g, h)
}

#[test]
fn jets_jvps_and_forward_over_reverse_match_num_dual() {
    let pts = [[0.7, -0.4, 1.3], [1.1, 0.9, -0.6], [0.35, 1.7, 0.8]];
    let tape = Tape::new();
    let x: Vec<Var> = (0..3)
        .map(|k| tape.var(Tensor::column(pts.iter().map(|p| p[k]).collect())))
        .collect();
    let f = f_tape(x[0], x[1], x[2]);
    let lap = &jets(&[f], &x, SecondOrder::Laplacian).unwrap()[0];
    let hes = &jets(&[f], &x, SecondOrder::Hessian).unwrap()[0];
    // Forward-over-reverse: the gradient recorded, then three JVPs of it.
    let ones = tape.full(3, 1, 1.0);
    let g = grad(&[f], &x, &[ones], GradOptions::create_graph()).unwrap();
    let zero = tape.full(3, 1, 0.0);
    let e: Vec<Vec<Var>> = (0..3)
        .map(|b| (0..3).map(|k| if k == b { ones } else { zero }).collect())
        .collect();
    let for_h = jvp(&g, &x, &e).unwrap();
    for (p, &pt) in pts.iter().enumerate() {
        let (rg, rh) = num_dual_reference(pt);
        let mut trace = 0.0;
        for a in 0..3 {
            assert_relative_eq!(vals(lap.grad[a])[p], rg[a], max_relative = 1e-13);
            assert_relative_eq!(vals(g[a])[p], rg[a], max_relative = 1e-13);
            trace += rh[a][a];
            for b in 0..3 {
                assert_relative_eq!(
                    vals(hes.second[a * 3 + b])[p],
                    rh[a][b],
                    max_relative = 1e-12,
                    epsilon = 1e-13
                );
                assert_relative_eq!(
                    vals(for_h[b][a])[p],
                    rh[a][b],
                    max_relative = 1e-12,
                    epsilon = 1e-13
                );
            }
        }
        assert_relative_eq!(vals(lap.second[0])[p], trace, max_relative = 1e-12);
    }
}

// ---- the seed article, exactly, in forward mode ----------------------------------------

#[test]
fn seed_identities_are_exact_with_jets() {
    let tape = Tape::new();
    let xs = Tensor::linspace(0.0, 1.0, 1001);
    let x = tape.var(xs.clone());
    let j = &jets(&[x.sin()], &[x], SecondOrder::Diagonal).unwrap()[0];
    for (i, &xi) in xs.as_slice().iter().enumerate() {
        assert_eq!(vals(j.grad[0])[i], xi.cos());
        assert_eq!(vals(j.second[0])[i], -xi.sin());
    }

    let tape = Tape::new();
    let x = tape.var(Tensor::scalar(1.0));
    let y = tape.var(Tensor::scalar(2.0));
    let j = &jets(&[(x + y) * (y + 3.0)], &[x, y], SecondOrder::None).unwrap()[0];
    assert_eq!(j.grad[0].item().unwrap(), 5.0);
    assert_eq!(j.grad[1].item().unwrap(), 8.0);
    assert!(j.second.is_empty());

    // ∇·∇(x·x) = 6 at x = (1, 1, 1): the forward Laplacian of Σ xₖ².
    let tape = Tape::new();
    let x: Vec<Var> = (0..3).map(|_| tape.var(Tensor::scalar(1.0))).collect();
    let f = x[0] * x[0] + x[1] * x[1] + x[2] * x[2];
    let j = &jets(&[f], &x, SecondOrder::Laplacian).unwrap()[0];
    assert_eq!(j.second[0].item().unwrap(), 6.0);
}

#[test]
fn reverse_mode_over_a_forward_laplacian_gives_parameter_gradients() {
    // u = tanh(x·w₀ + y·w₁) (a one-neuron network); d/dw of Σ Δu through the jets equals
    // the same gradient through reverse-over-reverse.
    let tape = Tape::new();
    let x = tape.var(Tensor::column(vec![0.3, -0.8, 1.2]));
    let y = tape.var(Tensor::column(vec![0.5, 0.1, -0.7]));
    let w = tape.var(Tensor::from_col_major(2, 1, vec![0.9, -1.3]).unwrap());
    let h = tape.stack(&[x, y]).matmul(w).tanh();
    let jet = &jets(&[h], &[x, y], SecondOrder::Laplacian).unwrap()[0];
    let by_jets = grad(
        &[jet.second[0].sum()],
        &[w],
        &[],
        GradOptions::retain_graph(),
    )
    .unwrap()[0];

    let ones = tape.full(3, 1, 1.0);
    let g = grad(&[h], &[x, y], &[ones], GradOptions::create_graph()).unwrap();
    let hxx = grad(&[g[0]], &[x], &[ones], GradOptions::create_graph()).unwrap()[0];
    let hyy = grad(&[g[1]], &[y], &[ones], GradOptions::create_graph()).unwrap()[0];
    let lap = hxx + hyy;
    for (a, b) in vals(jet.second[0]).iter().zip(vals(lap)) {
        assert_relative_eq!(*a, b, max_relative = 1e-14, epsilon = 1e-15);
    }
    let by_reverse = grad(&[lap.sum()], &[w], &[], GradOptions::default()).unwrap()[0];
    for (a, b) in vals(by_jets).iter().zip(vals(by_reverse)) {
        assert_relative_eq!(*a, b, max_relative = 1e-13);
    }
}

#[test]
fn jets_of_outputs_that_do_not_depend_on_the_inputs_are_zero() {
    let tape = Tape::new();
    let c = tape.constant(Tensor::column(vec![2.0, 3.0]));
    let x = tape.var(Tensor::column(vec![1.0, 1.0]));
    let k = tape.var(Tensor::column(vec![4.0, 5.0])); // a leaf that is not an input
    let j = jets(&[c, k * k, x * k], &[x], SecondOrder::Laplacian).unwrap();
    assert_eq!(vals(j[0].grad[0]), vec![0.0, 0.0]);
    assert_eq!(vals(j[1].grad[0]), vec![0.0, 0.0]);
    assert_eq!(vals(j[1].second[0]), vec![0.0, 0.0]);
    assert_eq!(vals(j[2].grad[0]), vec![4.0, 5.0]);
    assert_eq!(vals(j[2].second[0]), vec![0.0, 0.0]);
}

#[test]
fn jvp_errors_are_typed_not_panics() {
    let tape = Tape::new();
    let x = tape.var(Tensor::column(vec![1.0, 2.0]));
    let y = x.sin();
    let ones = tape.full(2, 1, 1.0);
    // A tangent list of the wrong length.
    let e = jvp(&[y], &[x], &[vec![ones, ones]]).unwrap_err();
    assert!(
        matches!(e, Error::Operator { ref op, .. } if op == "jvp"),
        "{e}"
    );
    assert!(e.to_string().contains("2 entries for 1 inputs"), "{e}");
    // A tangent of the wrong shape.
    let row = tape.full(1, 2, 1.0);
    let e = jvp(&[y], &[x], &[vec![row]]).unwrap_err();
    assert!(e.to_string().contains("shape (1, 2)"), "{e}");
    // A variable of another tape.
    let other = Tape::new();
    let z = other.var(Tensor::column(vec![1.0, 2.0]));
    assert!(matches!(
        jvp(&[y], &[z], &[vec![ones]]).unwrap_err(),
        Error::ForeignVar { .. }
    ));
    assert!(matches!(
        jets(&[y], &[z], SecondOrder::Laplacian).unwrap_err(),
        Error::ForeignVar { .. }
    ));
    // A tape that recorded a misuse reports it.
    let bad = x + tape.full(3, 1, 1.0);
    let e = jets(&[bad], &[x], SecondOrder::Laplacian).unwrap_err();
    assert!(matches!(e, Error::ShapeMismatch { .. }), "{e}");
    // Nothing to differentiate: empty results, no panic.
    let tape = Tape::new();
    let x = tape.var(Tensor::column(vec![1.0, 2.0]));
    let y = x.sin();
    assert!(jvp(&[], &[], &[]).unwrap().is_empty());
    assert!(jets(&[], &[], SecondOrder::Hessian).unwrap().is_empty());
    let none = jvp(&[y], &[], &[vec![]]).unwrap();
    assert_eq!(vals(none[0][0]), vec![0.0, 0.0]);
}

// ---- the evaluator's plans ---------------------------------------------------------------

use nabla::eval::{Array, Derivatives, EvalOptions, Operator, Points, evaluate, plan_costs};
use nabla::field::FnField;
use rand::Rng;

fn random_points(dim: usize, n: usize, seed: u64) -> Points {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Points::from_columns(
        (0..dim)
            .map(|_| (0..n).map(|_| rng.random_range(-2.0..2.0)).collect())
            .collect(),
    )
    .unwrap()
}

fn with_plan(
    field: &dyn nabla::field::Field,
    pts: &Points,
    ops: &[Operator],
    derivatives: Derivatives,
) -> Vec<Array> {
    let opts = EvalOptions {
        chunk_size: 97,
        derivatives,
        ..Default::default()
    };
    evaluate(field, pts, ops, &opts).unwrap()
}

/// Every plan's arrays against the reverse plan's, to round-off relative to the array's
/// largest value (λ2 and λci come from eigenvalues of the same Jacobian: no looser).
fn assert_plans_agree(field: &dyn nabla::field::Field, pts: &Points, ops: &[Operator]) {
    let reference = with_plan(field, pts, ops, Derivatives::Reverse);
    for plan in [
        Derivatives::Jets,
        Derivatives::ForwardOverReverse,
        Derivatives::Auto,
    ] {
        let got = with_plan(field, pts, ops, plan);
        for (a, r) in got.iter().zip(&reference) {
            assert_eq!(a.name, r.name);
            let scale = r.values.iter().fold(1.0f64, |s, v| s.max(v.abs()));
            for (p, (x, y)) in a.values.iter().zip(&r.values).enumerate() {
                assert!(
                    (x - y).abs() <= 1e-13 * scale,
                    "{plan:?} {} value {p}: {x} vs reverse {y}",
                    a.name
                );
            }
        }
    }
}

#[test]
fn every_operator_agrees_across_plans_on_taylor_green() {
    let tg = FnField::new(3, |x| {
        let (sx, cx) = (x[0].sin(), x[0].cos());
        let (sy, cy) = (x[1].sin(), x[1].cos());
        let cz = x[2].cos();
        vec![sx * cy * cz, -(cx * sy * cz), x[0] * 0.0]
    });
    let ops: Vec<Operator> = Operator::ALL
        .into_iter()
        .filter(|&o| o != Operator::Hessian && !o.in_time())
        .collect();
    assert_plans_agree(&tg, &random_points(3, 500, 1), &ops);
    // A 2-D vector field with mixed partials in every component.
    let v2 = FnField::new(2, |x| {
        vec![
            (x[0] * x[1]).sin() + x[1].powi(3),
            (x[0] - x[1] * x[1]).exp() * x[0].cos(),
        ]
    });
    assert_plans_agree(&v2, &random_points(2, 300, 2), &ops);
}

#[test]
fn scalar_hessian_and_laplacian_agree_across_plans_and_with_the_closed_form() {
    // f = sin(xy)·eᶻ + x²y³: mixed partials everywhere.
    let f = FnField::new(1, |x| {
        vec![(x[0] * x[1]).sin() * x[2].exp() + x[0] * x[0] * x[1].powi(3)]
    });
    let pts = random_points(3, 400, 3);
    let ops = [
        Operator::Value,
        Operator::Grad,
        Operator::Lap,
        Operator::Hessian,
    ];
    assert_plans_agree(&f, &pts, &ops);
    assert_plans_agree(&f, &pts, &[Operator::Lap]);
    for plan in Derivatives::PLANS {
        let out = with_plan(&f, &pts, &ops, plan);
        for p in 0..pts.len() {
            let [x, y, z] = pts.point(p);
            let (s, c, e) = ((x * y).sin(), (x * y).cos(), z.exp());
            let h = [
                [
                    -y * y * s * e + 2.0 * y.powi(3),
                    (c - x * y * s) * e + 6.0 * x * y * y,
                    y * c * e,
                ],
                [
                    (c - x * y * s) * e + 6.0 * x * y * y,
                    -x * x * s * e + 6.0 * x * x * y,
                    x * c * e,
                ],
                [y * c * e, x * c * e, s * e],
            ];
            for a in 0..3 {
                for b in 0..3 {
                    let got = out[3].values[p * 9 + a * 3 + b];
                    assert_relative_eq!(got, h[a][b], epsilon = 1e-11, max_relative = 1e-12);
                }
            }
            let lap = h[0][0] + h[1][1] + h[2][2];
            assert_relative_eq!(out[2].values[p], lap, epsilon = 1e-11, max_relative = 1e-12);
        }
    }
}

#[test]
fn the_seed_identity_div_grad_of_x_dot_x_is_exactly_six_in_every_plan() {
    let f = FnField::new(1, |x| vec![x[0] * x[0] + x[1] * x[1] + x[2] * x[2]]);
    let pts = random_points(3, 50, 4);
    for plan in Derivatives::PLANS {
        let out = with_plan(&f, &pts, &[Operator::Lap, Operator::Hessian], plan);
        assert!(out[0].values.iter().all(|&v| v == 6.0), "{plan:?}");
        for p in 0..pts.len() {
            for ab in 0..9 {
                let want = if ab % 4 == 0 { 2.0 } else { 0.0 };
                assert_eq!(out[1].values[p * 9 + ab], want, "{plan:?}");
            }
        }
    }
}

#[test]
fn auto_uses_the_plan_that_records_the_fewest_values() {
    let tg = FnField::new(3, |x| {
        vec![
            x[0].sin() * x[1].cos(),
            -(x[0].cos() * x[1].sin()),
            x[2].tanh(),
        ]
    });
    let pts = random_points(3, 300, 5);
    for ops in [
        vec![Operator::Jacobian],
        vec![Operator::Jacobian, Operator::Lap],
        vec![Operator::Q, Operator::Lap, Operator::Advection],
    ] {
        let costs = plan_costs(&tg, &pts, &ops, 97).unwrap();
        let (best, _) = costs
            .iter()
            .fold(None::<(Derivatives, usize)>, |b, &(p, c)| match b {
                Some((_, bc)) if bc <= c => b,
                _ => Some((p, c)),
            })
            .unwrap();
        println!("{ops:?}: {costs:?} → {best:?}");
        assert_eq!(
            with_plan(&tg, &pts, &ops, Derivatives::Auto),
            with_plan(&tg, &pts, &ops, best)
        );
        if ops.contains(&Operator::Lap) {
            // The forward Laplacian records less than reverse-over-reverse.
            let cost = |p| costs.iter().find(|c| c.0 == p).unwrap().1;
            assert!(
                cost(Derivatives::Jets) < cost(Derivatives::Reverse),
                "{costs:?}"
            );
        }
    }
}

#[test]
fn expression_network_and_data_fields_are_written_once_and_agree_in_every_plan() {
    // The jets path needs no second implementation of a field: expressions, networks and
    // data reconstructions go through it as recorded, and agree with reverse-over-reverse.
    use nabla::field::data::{DataField, Reconstruction};
    use nabla::field::expr::ExprField;
    use nabla::pinn::{Activation, Mlp};
    let ops: Vec<Operator> = Operator::ALL
        .into_iter()
        .filter(|&o| o != Operator::Hessian && !o.in_time())
        .collect();
    let pts = random_points(3, 200, 6);

    let expr = ExprField::new(
        &[
            "sin(x*y) + z^3/(1 + x^2)",
            "atan2(y, x + 3) * exp(-z^2)",
            "sqrt(x^2 + y^2 + 1) * cos(z)",
        ],
        3,
        0.5,
        &[],
    )
    .unwrap();
    assert_plans_agree(&expr, &pts, &ops);
    let scalar = ExprField::new(&["x^2 * tanh(y) + ln(2 + z) * y^3"], 3, 0.0, &[]).unwrap();
    assert_plans_agree(
        &scalar,
        &pts,
        &[Operator::Grad, Operator::Lap, Operator::Hessian],
    );

    let net = Mlp::new(3, &[12, 12], 3, Activation::Tanh, 9).unwrap();
    assert_plans_agree(&net, &pts, &ops);
    let net = Mlp::new(3, &[10], 1, Activation::Softplus, 10).unwrap();
    assert_plans_agree(
        &net,
        &pts,
        &[Operator::Grad, Operator::Lap, Operator::Hessian],
    );

    // A data field: samples of a smooth function, reconstructed by local polynomials.
    let samples: Vec<[f64; 3]> = (0..pts.len()).map(|i| pts.point(i)).collect();
    let values: Vec<f64> = samples
        .iter()
        .flat_map(|p| [(p[0] * p[1]).sin(), p[2] * p[0], (p[1] - p[2]).exp()])
        .collect();
    let data = DataField::new(&samples, 3, values, 3, &Reconstruction::default()).unwrap();
    let at = random_points(3, 150, 7);
    assert_plans_agree(&data, &at, &ops);
}

#[test]
fn auto_chooses_the_same_plan_for_every_chunk_size_and_thread_count() {
    // The choice is made once, from per-point counts: any chunk of at least 2 points and
    // any number of threads give bit-identical results.
    use nabla::pinn::{Activation, Mlp};
    let net = Mlp::new(3, &[8, 8], 3, Activation::Tanh, 3).unwrap();
    let pts = random_points(3, 700, 8);
    let ops = [Operator::Jacobian, Operator::Lap, Operator::Q];
    let run = |threads: usize, chunk_size: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let opts = EvalOptions {
                chunk_size,
                ..Default::default()
            };
            let out = evaluate(&net, &pts, &ops, &opts).unwrap();
            out.iter()
                .flat_map(|a| a.values.iter().map(|v| v.to_bits()))
                .collect::<Vec<u64>>()
        })
    };
    let reference = run(1, 256);
    for (threads, chunk) in [(2, 256), (2, 2), (1, 3), (2, 700), (3, 97)] {
        assert_eq!(
            run(threads, chunk),
            reference,
            "{threads} threads, chunk {chunk}"
        );
    }
    let costs = plan_costs(&net, &pts, &ops, 2).unwrap();
    let scaled = plan_costs(&net, &pts, &ops, 64).unwrap();
    for ((p, a), (q, b)) in costs.iter().zip(&scaled) {
        assert_eq!(p, q);
        assert_eq!(
            a * 32,
            *b,
            "{p:?}: per-point counts grow in proportion to the chunk"
        );
    }
}
