//! L-BFGS: known minima (a convex quadratic, Rosenbrock in 2-D and extended to 20-D), the
//! stopping statuses, bit-identical runs and resumes from a serialised state, and the
//! unhappy paths (bad settings, a loss that is not finite, a gradient of the wrong length,
//! an empty point, a memory that no longer fits).

use nabla::Error;
use nabla::pinn::{Lbfgs, LbfgsConfig, LbfgsConvergence, LbfgsStatus, LbfgsStep};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

type Loss = Box<dyn FnMut(&[f64]) -> nabla::Result<(f64, Vec<f64>)>>;

/// Steps until a status other than `Continue` or `max` steps; every step's outcome.
fn run(lbfgs: &mut Lbfgs, x: &mut [f64], f: &mut Loss, max: usize) -> Vec<LbfgsStep> {
    let mut steps = Vec::new();
    for _ in 0..max {
        let s = lbfgs.step(x, f).unwrap();
        steps.push(s);
        if s.status != LbfgsStatus::Continue {
            break;
        }
    }
    steps
}

/// Stops on the gradient only.
fn strict(tolerance_grad: f64) -> LbfgsConfig {
    LbfgsConfig {
        tolerance_grad,
        tolerance_change: 0.0,
        ..LbfgsConfig::default()
    }
}

/// `f(x) = ½ (x − c)ᵀ A (x − c)`, `∇f = A (x − c)`, with `A = B Bᵀ + I` (symmetric,
/// eigenvalues ≥ 1) and `B`, `c` drawn from a seeded generator.
fn quadratic(n: usize, seed: u64) -> (Loss, Vec<f64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let b: Vec<Vec<f64>> = (0..n)
        .map(|_| (0..n).map(|_| rng.random_range(-1.0..1.0)).collect())
        .collect();
    let mut a = vec![vec![0.0; n]; n];
    for i in 0..n {
        for j in 0..n {
            a[i][j] = (0..n).map(|k| b[i][k] * b[j][k]).sum::<f64>() + f64::from(i == j);
        }
    }
    let c: Vec<f64> = (0..n).map(|_| rng.random_range(-2.0..2.0)).collect();
    let centre = c.clone();
    let f = move |x: &[f64]| {
        let r: Vec<f64> = x.iter().zip(&c).map(|(x, c)| x - c).collect();
        let g: Vec<f64> = a
            .iter()
            .map(|row| row.iter().zip(&r).map(|(a, r)| a * r).sum())
            .collect();
        let value = 0.5 * r.iter().zip(&g).map(|(r, g)| r * g).sum::<f64>();
        Ok((value, g))
    };
    (Box::new(f), centre)
}

/// Extended Rosenbrock (Moré, Garbow & Hillstrom 1981, no. 21) in `n` (even) variables:
/// `Σ_pairs 100 (x₂ − x₁²)² + (1 − x₁)²`, minimal (0) at all ones;
/// `∂/∂x₁ = −400 x₁ (x₂ − x₁²) − 2 (1 − x₁)`, `∂/∂x₂ = 200 (x₂ − x₁²)`.
fn rosenbrock() -> Loss {
    Box::new(|x: &[f64]| {
        let mut value = 0.0;
        let mut g = vec![0.0; x.len()];
        for i in (0..x.len()).step_by(2) {
            let (a, b) = (x[i], x[i + 1]);
            let (u, v) = (b - a * a, 1.0 - a);
            value += 100.0 * u * u + v * v;
            g[i] = -400.0 * a * u - 2.0 * v;
            g[i + 1] = 200.0 * u;
        }
        Ok((value, g))
    })
}

/// The standard start (−1.2, 1) for the first pair, then (−1.2 + 0.1 k, 1 + 0.05 k) for
/// pair k, so that the pairs do not all take the very same path.
fn rosenbrock_start(n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| {
            let k = (i / 2) as f64;
            if i % 2 == 0 {
                -1.2 + 0.1 * k
            } else {
                1.0 + 0.05 * k
            }
        })
        .collect()
}

fn max_err(x: &[f64], to: &[f64]) -> f64 {
    x.iter()
        .zip(to)
        .fold(0.0, |m: f64, (a, b)| m.max((a - b).abs()))
}

fn bits(x: &[f64]) -> Vec<u64> {
    x.iter().map(|v| v.to_bits()).collect()
}

#[test]
fn lbfgs_quadratic_10d_reaches_the_exact_minimiser() {
    let (mut f, c) = quadratic(10, 7);
    let mut lbfgs = Lbfgs::new(strict(1e-12)).unwrap();
    let mut x = vec![0.0; 10];
    let steps = run(&mut lbfgs, &mut x, &mut f, 100);
    assert_eq!(
        steps.last().unwrap().status,
        LbfgsStatus::Converged(LbfgsConvergence::Gradient)
    );
    // |x − c| ≤ |A⁻¹| |g| ≤ |g| since A's eigenvalues are ≥ 1.
    assert!(max_err(&x, &c) < 1e-10, "{}", max_err(&x, &c));
    // Measured: 34 iterations, 37 evaluations (A's eigenvalues span 1.01 to 10.2; with
    // Wolfe steps rather than exact ones L-BFGS has no finite termination on a quadratic,
    // and SciPy's L-BFGS-B with 10 pairs takes 34 iterations, 37 evaluations too).
    assert!(
        lbfgs.iterations() <= 40,
        "{} iterations",
        lbfgs.iterations()
    );
    assert!(
        lbfgs.evaluations() <= 45,
        "{} evaluations",
        lbfgs.evaluations()
    );
    // Every step decreased the loss, and the step counts add up.
    assert!(steps.windows(2).all(|w| w[1].value < w[0].value));
    let total: usize = steps.iter().map(|s| s.evaluations).sum();
    assert_eq!(total as u64, lbfgs.evaluations());
    assert_eq!(steps.len() as u64, lbfgs.iterations());
}

#[test]
fn lbfgs_rosenbrock_2d_from_the_standard_start() {
    let mut f = rosenbrock();
    let mut lbfgs = Lbfgs::new(strict(1e-10)).unwrap();
    let mut x = vec![-1.2, 1.0];
    let steps = run(&mut lbfgs, &mut x, &mut f, 100);
    assert_eq!(
        steps.last().unwrap().status,
        LbfgsStatus::Converged(LbfgsConvergence::Gradient)
    );
    assert!(max_err(&x, &[1.0, 1.0]) < 1e-8, "{x:?}");
    // Measured: 39 iterations, 48 evaluations (SciPy's L-BFGS-B: 39 and 47).
    assert!(
        lbfgs.iterations() <= 45,
        "{} iterations",
        lbfgs.iterations()
    );
}

#[test]
fn lbfgs_extended_rosenbrock_20d() {
    let mut f = rosenbrock();
    let mut lbfgs = Lbfgs::new(strict(1e-9)).unwrap();
    let mut x = rosenbrock_start(20);
    let steps = run(&mut lbfgs, &mut x, &mut f, 1000);
    assert_eq!(
        steps.last().unwrap().status,
        LbfgsStatus::Converged(LbfgsConvergence::Gradient)
    );
    assert!(max_err(&x, &[1.0; 20]) < 1e-8, "{x:?}");
    // Measured: 273 iterations, 305 evaluations with 10 pairs for 20 unknowns (SciPy's
    // L-BFGS-B: 157 on this start; over 12 random starts in [−2, 2]²⁰ both average about
    // 240).
    assert!(
        lbfgs.iterations() <= 300,
        "{} iterations",
        lbfgs.iterations()
    );
}

#[test]
fn lbfgs_stops_on_the_change_of_the_loss_and_stays_converged_on_the_gradient() {
    // A loose change tolerance stops long before the gradient is small.
    let (mut f, _) = quadratic(10, 7);
    let config = LbfgsConfig {
        tolerance_change: 1e-3,
        ..LbfgsConfig::default()
    };
    let mut lbfgs = Lbfgs::new(config).unwrap();
    let mut x = vec![0.0; 10];
    let steps = run(&mut lbfgs, &mut x, &mut f, 100);
    let last = steps.last().unwrap();
    assert_eq!(
        last.status,
        LbfgsStatus::Converged(LbfgsConvergence::Change)
    );
    assert!(steps.len() < 20 && last.value > 1e-12, "{steps:?}");

    // Once the gradient is small, a further step neither evaluates nor moves.
    let mut lbfgs = Lbfgs::new(strict(1e-12)).unwrap();
    let mut x = vec![0.0; 10];
    let last = *run(&mut lbfgs, &mut x, &mut f, 100).last().unwrap();
    assert_eq!(
        last.status,
        LbfgsStatus::Converged(LbfgsConvergence::Gradient)
    );
    let before = bits(&x);
    let again = lbfgs.step(&mut x, &mut f).unwrap();
    assert_eq!(bits(&x), before);
    assert_eq!(again.status, last.status);
    assert_eq!((again.evaluations, again.step_length), (0, 0.0));
    assert_eq!(again.value.to_bits(), last.value.to_bits());
}

#[test]
fn lbfgs_runs_are_bit_identical() {
    let once = || {
        let mut f = rosenbrock();
        let mut lbfgs = Lbfgs::new(LbfgsConfig::default()).unwrap();
        let mut x = rosenbrock_start(20);
        let steps = run(&mut lbfgs, &mut x, &mut f, 60);
        let outcomes: Vec<_> = steps
            .iter()
            .map(|s| (s.value.to_bits(), s.step_length.to_bits(), s.evaluations))
            .collect();
        (bits(&x), outcomes, serde_json::to_string(&lbfgs).unwrap())
    };
    let (a, b) = (once(), once());
    assert_eq!(a.1.len(), 60);
    assert_eq!(a, b);
}

#[test]
fn lbfgs_resumes_bit_for_bit_from_a_serialised_state() {
    let mut f = rosenbrock();
    let mut lbfgs = Lbfgs::new(LbfgsConfig::default()).unwrap();
    let mut x = rosenbrock_start(20);
    run(&mut lbfgs, &mut x, &mut f, 10);
    // A checkpoint: the state and the point, through JSON.
    let saved = serde_json::to_string(&(&lbfgs, &x)).unwrap();
    let (mut resumed, mut y): (Lbfgs, Vec<f64>) = serde_json::from_str(&saved).unwrap();
    assert_eq!(resumed, lbfgs);
    for _ in 0..30 {
        let a = lbfgs.step(&mut x, &mut f).unwrap();
        let b = resumed.step(&mut y, &mut f).unwrap();
        assert_eq!(a.value.to_bits(), b.value.to_bits());
        assert_eq!(a.step_length.to_bits(), b.step_length.to_bits());
        // The resumed run knows the point's loss: no extra evaluation.
        assert_eq!((a.evaluations, a.status), (b.evaluations, b.status));
        assert_eq!(bits(&x), bits(&y));
    }
    assert_eq!(resumed, lbfgs);
    assert_eq!(lbfgs.iterations(), 40);
}

fn config_setting(e: Error) -> String {
    match e {
        Error::Config { setting, .. } => setting,
        other => panic!("expected a config error, got {other}"),
    }
}

#[test]
fn lbfgs_rejects_bad_settings() {
    let d = LbfgsConfig::default();
    for (config, setting) in [
        (LbfgsConfig { memory: 0, ..d }, "lbfgs.memory"),
        (LbfgsConfig { max_evals: 0, ..d }, "lbfgs.max_evals"),
        (
            LbfgsConfig {
                tolerance_grad: -1e-9,
                ..d
            },
            "lbfgs.tolerance_grad",
        ),
        (
            LbfgsConfig {
                tolerance_change: f64::NAN,
                ..d
            },
            "lbfgs.tolerance_change",
        ),
        (
            LbfgsConfig {
                tolerance_change: f64::INFINITY,
                ..d
            },
            "lbfgs.tolerance_change",
        ),
    ] {
        assert_eq!(config_setting(Lbfgs::new(config).unwrap_err()), setting);
    }
    // Zero tolerances and zero steps are valid.
    Lbfgs::new(LbfgsConfig {
        steps: 0,
        ..strict(0.0)
    })
    .unwrap();
    // A case file's table: every key optional, an unknown key named.
    assert_eq!(toml::from_str::<LbfgsConfig>("").unwrap(), d);
    let e = toml::from_str::<LbfgsConfig>("memroy = 5").unwrap_err();
    assert!(e.to_string().contains("memroy"), "{e}");
    // A state read back with bad settings does not step.
    let mut state = serde_json::to_value(Lbfgs::new(d).unwrap()).unwrap();
    state["config"]["memory"] = 0.into();
    let mut bad: Lbfgs = serde_json::from_value(state).unwrap();
    let (mut f, _) = quadratic(2, 1);
    let e = bad.step(&mut [0.0, 0.0], &mut f).unwrap_err();
    assert_eq!(config_setting(e), "lbfgs.memory");
}

#[test]
fn lbfgs_loss_not_finite_at_the_start_is_an_error() {
    for (value, grad) in [(f64::NAN, 1.0), (f64::INFINITY, 1.0), (1.0, f64::NAN)] {
        let mut f: Loss = Box::new(move |_: &[f64]| Ok((value, vec![grad, 0.0])));
        let mut lbfgs = Lbfgs::new(LbfgsConfig::default()).unwrap();
        let mut x = [0.5, -0.5];
        let e = lbfgs.step(&mut x, &mut f).unwrap_err();
        assert!(e.to_string().contains("starting point"), "{e}");
        assert_eq!(config_setting(e), "lbfgs");
        assert_eq!(x, [0.5, -0.5]);
    }
}

#[test]
fn lbfgs_backs_off_from_nan_in_the_line_search() {
    // f = 50 (x − 1)² + (y + 2)², NaN (value or gradient) for x > 1.01. From (0.99, −1.5)
    // the gradient is (−1, 1): the first trial, x + d = (1.99, −2.5), is in the NaN region.
    for nan_in_value in [true, false] {
        let mut f: Loss = Box::new(move |p: &[f64]| {
            let (x, y) = (p[0], p[1]);
            let value = 50.0 * (x - 1.0).powi(2) + (y + 2.0).powi(2);
            let grad = vec![100.0 * (x - 1.0), 2.0 * (y + 2.0)];
            Ok(match (x > 1.01, nan_in_value) {
                (false, _) => (value, grad),
                (true, true) => (f64::NAN, grad),
                (true, false) => (value, vec![f64::NAN, grad[1]]),
            })
        });
        let mut lbfgs = Lbfgs::new(strict(1e-10)).unwrap();
        let mut x = vec![0.99, -1.5];
        let first = lbfgs.step(&mut x, &mut f).unwrap();
        assert_eq!(first.status, LbfgsStatus::Continue);
        assert!(first.evaluations > 2, "{first:?}");
        assert!(first.value < 0.255 && x[0] <= 1.01, "{first:?} {x:?}");
        let all = run(&mut lbfgs, &mut x, &mut f, 100);
        let last = *all.last().unwrap();
        assert_eq!(
            last.status,
            LbfgsStatus::Converged(LbfgsConvergence::Gradient)
        );
        assert!(max_err(&x, &[1.0, -2.0]) < 1e-10, "{x:?}");
    }
}

#[test]
fn lbfgs_failed_line_search_keeps_the_start() {
    // A loss that is finite only at the start: every trial is NaN.
    let start = [0.25, -0.75];
    let mut f: Loss = Box::new(move |p: &[f64]| {
        let value = if p == start { 1.0 } else { f64::NAN };
        Ok((value, vec![2.0 * p[0], 2.0 * p[1]]))
    });
    let mut lbfgs = Lbfgs::new(LbfgsConfig::default()).unwrap();
    let mut x = start;
    let s = lbfgs.step(&mut x, &mut f).unwrap();
    assert_eq!(s.status, LbfgsStatus::LineSearchFailed);
    assert_eq!((s.value, s.step_length, s.evaluations), (1.0, 0.0, 26));
    assert_eq!(bits(&x), bits(&start));
}

#[test]
fn lbfgs_failed_line_search_moves_to_the_lowest_point_found() {
    // f = x², with a gradient that claims a slope of 10⁶: no point decreases the loss by
    // the 10²·t·10⁶ the sufficient-decrease condition asks, yet points nearer 0 are lower.
    let mut f: Loss = Box::new(|p: &[f64]| Ok((p[0] * p[0], vec![1e6])));
    let mut lbfgs = Lbfgs::new(LbfgsConfig::default()).unwrap();
    let mut x = [1.0];
    let s = lbfgs.step(&mut x, &mut f).unwrap();
    assert_eq!(s.status, LbfgsStatus::LineSearchFailed);
    assert_eq!(s.evaluations, 26);
    assert!(s.value < 1e-3 && s.step_length > 0.0, "{s:?}");
    // The reported value is the loss at the point reached.
    assert_eq!(s.value, x[0] * x[0]);
}

#[test]
fn lbfgs_search_out_of_evaluations_takes_the_lowest_point_of_sufficient_decrease() {
    // f = −x₀ + x₁²: unbounded below, so no step meets the curvature condition and the
    // search extrapolates until its evaluations run out; it ends at the lowest point.
    let mut f: Loss = Box::new(|p: &[f64]| Ok((-p[0] + p[1] * p[1], vec![-1.0, 2.0 * p[1]])));
    let config = LbfgsConfig {
        max_evals: 5,
        ..LbfgsConfig::default()
    };
    let mut lbfgs = Lbfgs::new(config).unwrap();
    let mut x = [0.0, 0.0];
    let s = lbfgs.step(&mut x, &mut f).unwrap();
    assert_eq!(s.status, LbfgsStatus::Continue);
    assert_eq!(s.evaluations, 6);
    assert!(s.value < -100.0 && s.step_length > 100.0, "{s:?}");
    assert_eq!(s.value, f(&x).unwrap().0);
    let t = lbfgs.step(&mut x, &mut f).unwrap();
    assert!(t.value < s.value, "{t:?}");
}

#[test]
fn lbfgs_errors_of_the_loss_pass_through_and_leave_x() {
    let mut calls = 0;
    let mut f: Loss = Box::new(move |p: &[f64]| {
        calls += 1;
        if calls > 1 {
            return Err(Error::Data("the loss failed".into()));
        }
        Ok((p[0] * p[0], vec![2.0 * p[0]]))
    });
    let mut lbfgs = Lbfgs::new(LbfgsConfig::default()).unwrap();
    let mut x = [3.0];
    let e = lbfgs.step(&mut x, &mut f).unwrap_err();
    assert_eq!(e, Error::Data("the loss failed".into()));
    assert_eq!(x, [3.0]);
    assert_eq!(lbfgs.iterations(), 0);
}

#[test]
fn lbfgs_gradient_of_the_wrong_length_is_an_error() {
    // At the start.
    let mut f: Loss = Box::new(|p: &[f64]| Ok((p[0] * p[0], vec![2.0 * p[0]])));
    let mut lbfgs = Lbfgs::new(LbfgsConfig::default()).unwrap();
    let mut x = [1.0, 2.0];
    let e = lbfgs.step(&mut x, &mut f).unwrap_err();
    assert!(e.to_string().contains("length 1 for 2"), "{e}");
    assert_eq!(x, [1.0, 2.0]);
    // At a trial point of the line search.
    let start = [1.0, 2.0];
    let mut f: Loss = Box::new(move |p: &[f64]| {
        let g = if p == start {
            vec![2.0, 4.0]
        } else {
            vec![0.0; 3]
        };
        Ok((p[0] * p[0] + p[1] * p[1], g))
    });
    let mut lbfgs = Lbfgs::new(LbfgsConfig::default()).unwrap();
    let mut x = start;
    let e = lbfgs.step(&mut x, &mut f).unwrap_err();
    assert_eq!(config_setting(e), "lbfgs");
    assert_eq!(x, start);
}

#[test]
fn lbfgs_empty_point_has_converged() {
    let mut f: Loss = Box::new(|_: &[f64]| Ok((3.0, Vec::new())));
    let mut lbfgs = Lbfgs::new(LbfgsConfig::default()).unwrap();
    let s = lbfgs.step(&mut [], &mut f).unwrap();
    assert_eq!(s.status, LbfgsStatus::Converged(LbfgsConvergence::Gradient));
    assert_eq!((s.value, s.evaluations, s.step_length), (3.0, 1, 0.0));
}

#[test]
fn lbfgs_memory_that_no_longer_fits_falls_back_to_steepest_descent() {
    // Pairs with s·y < 0 (a tampered or foreign state) make −H g an ascent direction; the
    // step clears them and searches along −g.
    let (mut f, _) = quadratic(10, 3);
    let mut lbfgs = Lbfgs::new(LbfgsConfig::default()).unwrap();
    let mut x = vec![0.0; 10];
    let before = *run(&mut lbfgs, &mut x, &mut f, 5).last().unwrap();
    assert_eq!(before.status, LbfgsStatus::Continue);
    let mut state = serde_json::to_value(&lbfgs).unwrap();
    for pair in state["pairs"].as_array_mut().unwrap() {
        for s in pair["s"].as_array_mut().unwrap() {
            *s = (-s.as_f64().unwrap()).into();
        }
    }
    let mut tampered: Lbfgs = serde_json::from_value(state).unwrap();
    let s = tampered.step(&mut x, &mut f).unwrap();
    assert_eq!(s.status, LbfgsStatus::Continue);
    assert!(s.value < before.value, "{s:?} {before:?}");
}

#[test]
fn lbfgs_state_for_another_size_is_an_error() {
    let (mut f, _) = quadratic(10, 3);
    let mut lbfgs = Lbfgs::new(LbfgsConfig::default()).unwrap();
    let mut x = vec![0.0; 10];
    run(&mut lbfgs, &mut x, &mut f, 3);
    let (mut g, _) = quadratic(4, 3);
    let mut y = vec![0.0; 4];
    let e = lbfgs.step(&mut y, &mut g).unwrap_err();
    assert_eq!(config_setting(e), "lbfgs");
    assert_eq!(y, [0.0; 4]);
}
