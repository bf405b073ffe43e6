//! The general physics-informed loss: residuals of expressions and closures over terms,
//! against the built-in Poisson and Navier–Stokes losses, with coefficients and data.

use approx::assert_relative_eq;
use nabla::eval::Points;
use nabla::field::FnField;
use nabla::pinn::{
    Activation, Derivative, ExprResidual, FnResidual, LossWeights, Mlp, Names, PinnLoss, Term,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn columns(dim: usize, n: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..dim)
        .map(|_| (0..n).map(|_| rng.random_range(-1.0..1.0)).collect())
        .collect()
}

fn net(dim: usize, out: usize, seed: u64) -> Mlp {
    let mut net = Mlp::new(dim, &[8, 8], out, Activation::Tanh, seed).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(seed + 100);
    let p: Vec<f64> = (0..net.num_params())
        .map(|_| rng.random_range(-0.8..0.8))
        .collect();
    net.set_params(&p).unwrap();
    net
}

fn assert_same(a: f64, b: f64, ga: &[f64], gb: &[f64]) {
    assert_relative_eq!(a, b, max_relative = 1e-13);
    assert_eq!(ga.len(), gb.len());
    let scale = gb.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    for (x, y) in ga.iter().zip(gb) {
        assert!((x - y).abs() <= 1e-12 * scale, "{x} vs {y}");
    }
}

#[test]
fn poisson_from_equations_is_the_built_in_loss() {
    let (inner, wall) = (columns(2, 23, 1), columns(2, 9, 2));
    let f = FnField::new(1, |x| vec![x[0].sin() * x[1].exp()]);
    let g = FnField::new(1, |x| vec![x[0] * x[1]]);
    let w = LossWeights {
        pde: 1.0,
        continuity: 0.0,
        boundary: 3.0,
    };
    let points = |c: &Vec<Vec<f64>>| Points::from_columns(c.clone()).unwrap();
    let builtin = PinnLoss::poisson(&f, points(&inner), points(&wall), &g, w)
        .unwrap()
        .with_chunk_size(7)
        .unwrap();
    let names = Names::new(&["x", "y"], &["u"]);
    let pde = ExprResidual::new(&["-lap(u) - sin(x)*exp(y)"], &names, None).unwrap();
    let bc = ExprResidual::condition("bc", &[(0, "x*y")], None, &names, None).unwrap();
    let loss = nabla::pinn::Loss::new(
        2,
        1,
        vec![
            Term::new("pde", inner, pde).unwrap(),
            Term::new("boundary", wall, bc)
                .unwrap()
                .with_weight(3.0)
                .unwrap(),
        ],
    )
    .unwrap()
    .with_chunk_size(5)
    .unwrap();
    let n = net(2, 1, 3);
    let (a, ga) = builtin.value_and_grad(&n).unwrap();
    let (b, gb) = loss.value_and_grad(&n, &[]).unwrap();
    assert_relative_eq!(a.pde, b.terms[0], max_relative = 1e-13);
    assert_relative_eq!(a.boundary, b.terms[1], max_relative = 1e-13);
    assert_same(a.total, b.total, &ga, &gb);
}

fn ns_pair(dim: usize) -> (PinnLoss, nabla::pinn::Loss) {
    let (inner, wall) = (columns(dim, 40, 3), columns(dim, 14, 4));
    let g = FnField::new(dim, move |x| {
        let mut v = vec![x[1].sin(), x[0].cos()];
        if dim == 3 {
            v.push(x[2] * x[0]);
        }
        v
    });
    let w = LossWeights {
        pde: 1.0,
        continuity: 2.0,
        boundary: 5.0,
    };
    let points = |c: &Vec<Vec<f64>>| Points::from_columns(c.clone()).unwrap();
    let builtin = PinnLoss::navier_stokes(0.05, points(&inner), points(&wall), &g, w)
        .unwrap()
        .with_chunk_size(16)
        .unwrap();
    let (ins, outs): (&[&str], &[&str]) = if dim == 2 {
        (&["x", "y"], &["u", "v", "p"])
    } else {
        (&["x", "y", "z"], &["u", "v", "w", "p"])
    };
    let mut names = Names::new(ins, outs);
    names.constants.push(("nu".into(), 0.05));
    let momentum: Vec<String> = (0..dim)
        .map(|i| {
            let adv: Vec<String> = (0..dim)
                .map(|j| format!("{}*d({}, {})", outs[j], outs[i], ins[j]))
                .collect();
            format!(
                "{} + d(p, {}) - nu*lap({})",
                adv.join(" + "),
                ins[i],
                outs[i]
            )
        })
        .collect();
    let div: Vec<String> = (0..dim)
        .map(|i| format!("d({}, {})", outs[i], ins[i]))
        .collect();
    let values: Vec<(usize, String)> = if dim == 2 {
        vec![(0, "sin(y)".into()), (1, "cos(x)".into())]
    } else {
        vec![
            (0, "sin(y)".into()),
            (1, "cos(x)".into()),
            (2, "z*x".into()),
        ]
    };
    let loss = nabla::pinn::Loss::new(
        dim,
        dim + 1,
        vec![
            Term::new(
                "momentum",
                inner.clone(),
                ExprResidual::new(&momentum, &names, None).unwrap(),
            )
            .unwrap(),
            Term::new(
                "continuity",
                inner,
                ExprResidual::new(&[div.join(" + ")], &names, None).unwrap(),
            )
            .unwrap()
            .with_weight(2.0)
            .unwrap(),
            Term::new(
                "wall",
                wall,
                ExprResidual::condition("bc", &values, None, &names, None).unwrap(),
            )
            .unwrap()
            .with_weight(5.0)
            .unwrap(),
        ],
    )
    .unwrap()
    .with_chunk_size(16)
    .unwrap();
    (builtin, loss)
}

#[test]
fn navier_stokes_from_equations_is_the_built_in_loss() {
    for dim in [2, 3] {
        let (builtin, loss) = ns_pair(dim);
        let n = net(dim, dim + 1, 5);
        let (a, ga) = builtin.value_and_grad(&n).unwrap();
        let (b, gb) = loss.value_and_grad(&n, &[]).unwrap();
        assert_relative_eq!(a.pde, b.terms[0], max_relative = 1e-13);
        assert_relative_eq!(a.continuity, b.terms[1], max_relative = 1e-13);
        assert_relative_eq!(a.boundary, b.terms[2], max_relative = 1e-13);
        assert_same(a.total, b.total, &ga, &gb);
    }
}

#[test]
fn the_loss_is_bit_identical_for_any_thread_count() {
    let (_, loss) = ns_pair(2);
    assert_same_bits_on_threads(&loss, &net(2, 3, 9));
}

/// The loss, each term's value and the gradient on 2 and 3 threads are those of 1, bit
/// for bit.
fn assert_same_bits_on_threads(loss: &nabla::pinn::Loss, n: &Mlp) {
    let bits = |k: usize| {
        let (l, g) = rayon::ThreadPoolBuilder::new()
            .num_threads(k)
            .build()
            .unwrap()
            .install(|| loss.value_and_grad(n, &[]).unwrap());
        let mut b: Vec<u64> = g.iter().map(|v| v.to_bits()).collect();
        b.push(l.total.to_bits());
        b.extend(l.terms.iter().map(|v| v.to_bits()));
        b
    };
    let one = bits(1);
    assert_eq!(one, bits(2));
    assert_eq!(one, bits(3));
}

/// Central differences of the loss in every parameter and coefficient.
fn fd_error(loss: &nabla::pinn::Loss, n: &Mlp, coefs: &[f64]) -> f64 {
    let (_, g) = loss.value_and_grad(n, coefs).unwrap();
    let p = n.params();
    let np = p.len();
    let h = 1e-6;
    let mut err = 0.0f64;
    let mut norm = 0.0f64;
    for k in 0..np + coefs.len() {
        let at = |s: f64| {
            let mut m = n.clone();
            let mut c = coefs.to_vec();
            if k < np {
                let mut q = p.clone();
                q[k] += s;
                m.set_params(&q).unwrap();
            } else {
                c[k - np] += s;
            }
            loss.value(&m, &c).unwrap().total
        };
        let fd = (at(h) - at(-h)) / (2.0 * h);
        err = err.max((fd - g[k]).abs());
        norm = norm.max(g[k].abs());
    }
    err / norm
}

#[test]
fn coefficients_and_data_are_differentiated_exactly() {
    // Space-time Burgers with an unknown viscosity, and a misfit against data columns.
    let mut names = Names::new(&["x", "t"], &["u"]);
    names.coefficients.push("nu".into());
    names.data.push("u_obs".into());
    let pde = ExprResidual::new(&["d(u, t) + u*d(u, x) - nu*d(u, x, x)"], &names, None).unwrap();
    let data = ExprResidual::new(&["u - u_obs"], &names, None).unwrap();
    let pts = columns(2, 30, 8);
    let obs: Vec<f64> = pts[0]
        .iter()
        .map(|x| -(std::f64::consts::PI * x).sin())
        .collect();
    let loss = nabla::pinn::Loss::new(
        2,
        1,
        vec![
            Term::new("pde", pts.clone(), pde).unwrap(),
            Term::new("data", pts, data)
                .unwrap()
                .with_data(vec![obs])
                .unwrap(),
        ],
    )
    .unwrap()
    .with_coefficients(1)
    .with_chunk_size(8)
    .unwrap();
    let n = net(2, 1, 4);
    let err = fd_error(&loss, &n, &[0.3]);
    assert!(
        err < 1e-7,
        "relative difference to central differences {err:e}"
    );
    // The coefficient's gradient is there and not zero.
    let (_, g) = loss.value_and_grad(&n, &[0.3]).unwrap();
    assert!(g[n.num_params()].abs() > 1e-6);
    // Wrong coefficient count and non-finite values are refused.
    assert!(loss.value(&n, &[]).is_err());
    assert!(loss.value(&n, &[f64::NAN]).is_err());
}

#[test]
fn closures_read_the_derivatives_they_ask_for() {
    // u_xx + u_tt with u = network: the closure and the expression agree bit for bit.
    let names = Names::new(&["x", "t"], &["u"]);
    let text = ExprResidual::new(&["d(u, x, x) + d(u, t, t) + d(u, x, t)"], &names, None).unwrap();
    let closure = FnResidual::new(
        vec![
            Derivative::second(0, 0, 0),
            Derivative::second(0, 1, 1),
            Derivative::second(0, 1, 0),
        ],
        |at| {
            Ok(vec![
                at.derivatives[0] + at.derivatives[1] + at.derivatives[2],
            ])
        },
    );
    let pts = columns(2, 20, 2);
    let a = nabla::pinn::Loss::new(2, 1, vec![Term::new("a", pts.clone(), text).unwrap()]).unwrap();
    let b = nabla::pinn::Loss::new(2, 1, vec![Term::new("b", pts, closure).unwrap()]).unwrap();
    let n = net(2, 1, 6);
    let (la, ga) = a.value_and_grad(&n, &[]).unwrap();
    let (lb, gb) = b.value_and_grad(&n, &[]).unwrap();
    assert_eq!(la.total, lb.total);
    assert_eq!(ga, gb);
    assert!(la.total > 0.0);
}

#[test]
fn equations_errors_name_the_column() {
    let names = Names::new(&["x", "t"], &["u"]);
    let cases = [
        ("d(q, x)", 1, "'q' is not an output"),
        ("u + d(u, y)", 5, "'y' is not an input"),
        ("d(u, x, x, x)", 1, "takes d(u, x) or d(u, x, y)"),
        ("d(u + 1, x)", 5, "expected ',' or ')'"),
        ("d(2, x)", 3, "expected a name"),
        ("u*nu", 3, "unknown"),
        ("lap()", 5, "expected a name"),
    ];
    for (src, col, want) in cases {
        let e = ExprResidual::new(&[src], &names, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains(want), "{src}: {e}");
        assert!(e.contains(&format!("column {col}:")), "{src}: {e}");
    }
    // lap over no spatial input.
    let only_t = Names::new(&["t"], &["u"]);
    assert!(ExprResidual::new(&["lap(u)"], &only_t, None).is_err());
}

#[test]
fn a_loss_refuses_what_does_not_fit() {
    let names = Names::new(&["x", "y"], &["u"]);
    let r = || ExprResidual::new(&["lap(u)"], &names, None).unwrap();
    // Points of the wrong dimension, no terms, bad weights and data, NaN coordinates.
    assert!(
        nabla::pinn::Loss::new(3, 1, vec![Term::new("a", columns(2, 4, 1), r()).unwrap()]).is_err()
    );
    assert!(nabla::pinn::Loss::new(2, 1, vec![]).is_err());
    assert!(
        Term::new("a", columns(2, 4, 1), r())
            .unwrap()
            .with_weight(-1.0)
            .is_err()
    );
    assert!(
        Term::new("a", columns(2, 4, 1), r())
            .unwrap()
            .with_data(vec![vec![1.0]])
            .is_err()
    );
    assert!(Term::new("a", vec![vec![f64::NAN], vec![0.0]], r()).is_err());
    assert!(Term::new("a", vec![], r()).is_err());
    // A residual asking for an output the network does not have.
    let two = Names::new(&["x", "y"], &["u", "v"]);
    let r2 = ExprResidual::new(&["d(v, x)"], &two, None).unwrap();
    assert!(
        nabla::pinn::Loss::new(2, 1, vec![Term::new("a", columns(2, 4, 1), r2).unwrap()]).is_err()
    );
    // A network of the wrong shape.
    let loss =
        nabla::pinn::Loss::new(2, 1, vec![Term::new("a", columns(2, 4, 1), r()).unwrap()]).unwrap();
    assert!(loss.value(&net(2, 2, 1), &[]).is_err());
    assert!(loss.clone().with_chunk_size(0).is_err());
}

#[test]
fn terms_on_the_same_points_share_a_pass_and_lose_nothing() {
    // Burgers and a data misfit on the same points (one pass of the network per chunk),
    // a condition on other points: each term's value and the gradient as when each term
    // is a loss of its own.
    let mut names = Names::new(&["x", "t"], &["u"]);
    names.data.push("u_obs".into());
    let pde = || ExprResidual::new(&["d(u, t) + u*d(u, x) - 0.01*d(u, x, x)"], &names, None);
    let fit = || ExprResidual::new(&["u - u_obs", "d(u, x)"], &names, None);
    let edge = || ExprResidual::new(&["u"], &names, None);
    let pts = columns(2, 37, 3);
    let obs: Vec<f64> = pts[0].iter().map(|x| x * x).collect();
    let other = columns(2, 11, 4);
    let terms = [
        Term::new("pde", pts.clone(), pde().unwrap())
            .unwrap()
            .with_weight(2.0)
            .unwrap(),
        Term::new("edge", other, edge().unwrap()).unwrap(),
        Term::new("fit", pts, fit().unwrap())
            .unwrap()
            .with_data(vec![obs])
            .unwrap()
            .with_weight(0.5)
            .unwrap(),
    ];
    let loss = |t: Vec<Term>| {
        nabla::pinn::Loss::new(2, 1, t)
            .unwrap()
            .with_chunk_size(8)
            .unwrap()
    };
    let n = net(2, 1, 5);
    let (all, g) = loss(terms.to_vec()).value_and_grad(&n, &[]).unwrap();
    let mut sum = vec![0.0; g.len()];
    let mut total = 0.0;
    for (k, t) in terms.iter().enumerate() {
        let (alone, gk) = loss(vec![t.clone()]).value_and_grad(&n, &[]).unwrap();
        total += alone.total;
        assert_relative_eq!(all.terms[k], alone.terms[0], max_relative = 1e-14);
        assert!(alone.terms[0] > 0.0);
        sum.iter_mut().zip(&gk).for_each(|(s, v)| *s += v);
    }
    assert_same(all.total, total, &g, &sum);
    // The shared pass, bit for bit on any number of threads.
    assert_same_bits_on_threads(&loss(terms.to_vec()), &n);
}
