//! The Burgers reference by the Cole–Hopf transform: the Gauss–Hermite rule against
//! moments it integrates exactly, symmetry and boundary values, the initial value,
//! convergence in the node count, an independent trapezoid rule, the PDE by finite
//! differences, Basdevant et al.'s steepest slope, and every error.

use std::f64::consts::PI;

use approx::assert_relative_eq;
use nabla::Error;
use nabla::pinn::{
    BURGERS_NODES, MAX_HERMITE_NODES, burgers_cole_hopf, burgers_cole_hopf_batch,
    burgers_cole_hopf_dx, burgers_cole_hopf_nodes, gauss_hermite,
};

/// The viscosity of Raissi et al.'s benchmark.
const NU: f64 = 0.01 / PI;

fn config_error(e: Error) -> (String, String) {
    match e {
        Error::Config { setting, message } => (setting, message),
        other => panic!("expected a config error, got {other:?}"),
    }
}

/// `x` in `[−1, 1]`: a uniform grid, and the same grid shrunk 100 times about the shock.
fn xs() -> Vec<f64> {
    (0..=200)
        .map(|i| -1.0 + 2.0 * i as f64 / 200.0)
        .flat_map(|x| [x, 0.01 * x])
        .collect()
}

#[test]
fn gauss_hermite_integrates_polynomials_exactly() {
    // ∫ z²ᵏ e^(−z²) dz = Γ(k + ½) = (2k − 1)!!/2ᵏ · √π; odd moments vanish.
    for n in [1, 2, 5, 10, 40, BURGERS_NODES] {
        let r = gauss_hermite(n).unwrap();
        assert_eq!(r.nodes.len(), n);
        for i in 0..n {
            assert_eq!(r.nodes[i], -r.nodes[n - 1 - i]);
            assert_eq!(r.ln_weights[i], r.ln_weights[n - 1 - i]);
        }
        assert!(r.nodes.windows(2).all(|w| w[0] < w[1]));
        let mut gamma = PI.sqrt();
        for k in 0..n.min(10) {
            let m: f64 = r
                .nodes
                .iter()
                .zip(&r.ln_weights)
                .map(|(z, lw)| z.powi(2 * k as i32) * lw.exp())
                .sum();
            assert_relative_eq!(m, gamma, max_relative = 1e-13);
            gamma *= k as f64 + 0.5;
        }
    }
    // The two-point rule by hand: nodes ±1/√2, weights √π/2.
    let r = gauss_hermite(2).unwrap();
    assert_relative_eq!(r.nodes[1], 0.5f64.sqrt(), max_relative = 1e-15);
    assert_relative_eq!(r.ln_weights[0].exp(), PI.sqrt() / 2.0, max_relative = 1e-15);
    // The outer weights of a large rule are far below the smallest f64.
    assert!(gauss_hermite(640).unwrap().ln_weights[0] < -800.0);
}

#[test]
fn burgers_is_odd_and_at_rest_on_the_boundary() {
    for t in [0.0, 0.1, 0.5, 1.6037 / PI, 0.99, 1.0] {
        assert!(
            burgers_cole_hopf(0.0, t, NU).unwrap().abs() < 1e-15,
            "t = {t}"
        );
        for side in [-1.0, 1.0] {
            let u = burgers_cole_hopf(side, t, NU).unwrap();
            assert!(u.abs() < 1e-12, "t = {t}, x = {side}: {u}");
        }
        for x in [0.003, 0.2, 0.7] {
            let (a, b) = (
                burgers_cole_hopf(x, t, NU).unwrap(),
                burgers_cole_hopf(-x, t, NU).unwrap(),
            );
            assert!((a + b).abs() < 1e-14, "t = {t}, x = {x}");
        }
    }
}

#[test]
fn burgers_at_t_0_is_the_initial_value_exactly() {
    for x in xs() {
        assert_eq!(burgers_cole_hopf(x, 0.0, NU).unwrap(), -(PI * x).sin());
        assert_eq!(
            burgers_cole_hopf_dx(x, 0.0, NU).unwrap(),
            -PI * (PI * x).cos()
        );
    }
    // And the quadrature meets it continuously: at t = 10⁻⁸ the flow has barely moved.
    for x in [-0.7, 0.3] {
        let u = burgers_cole_hopf(x, 1e-8, NU).unwrap();
        assert!((u + (PI * x).sin()).abs() < 1e-7, "{x}: {u}");
    }
}

/// The largest difference over [`xs`] at time `t` between `nodes` and 640 nodes.
fn node_error(t: f64, nodes: usize) -> f64 {
    xs().into_iter()
        .map(|x| {
            let a = burgers_cole_hopf_nodes(x, t, NU, nodes).unwrap();
            (a - burgers_cole_hopf_nodes(x, t, NU, 640).unwrap()).abs()
        })
        .fold(0.0, f64::max)
}

#[test]
fn burgers_converges_in_the_node_count() {
    // Measured at t = 1 (BURGERS_NODES' docs): 48 nodes 5e-7, 64 nodes 2e-10, 80 nodes
    // 1e-13, 96 and more rounding. At t = 2: 128 nodes 7e-14, 160 rounding.
    let e = |t, n| node_error(t, n);
    let (e48, e64, e96) = (e(1.0, 48), e(1.0, 64), e(1.0, 96));
    assert!(
        e48 > 1e-8 && e64 < e48 / 100.0 && e64 > 1e-12,
        "{e48:e} {e64:e}"
    );
    assert!(e96 < 1e-14, "{e96:e}");
    let (e96, e128, e_ref) = (e(2.0, 96), e(2.0, 128), e(2.0, BURGERS_NODES));
    assert!(e96 > 1e-12 && e128 < 1e-12, "{e96:e} {e128:e}");
    assert!(e_ref < 1e-14, "{e_ref:e}");
    // The default is the one documented.
    for x in [0.0, 0.001, -0.4] {
        assert_eq!(
            burgers_cole_hopf(x, 1.0, NU).unwrap(),
            burgers_cole_hopf_nodes(x, 1.0, NU, BURGERS_NODES).unwrap()
        );
    }
}

/// The Cole–Hopf integrals by the trapezoid rule in η on `[−14c, 14c]`, `c = √(4νt)`,
/// with 40 001 points: a second path, with its own log-sum-exp. The kernel has fallen by
/// e^−196 at the ends, more than `f`'s range of e^±50 can make up for; the integrand is
/// smooth and the trapezoid rule on it converges spectrally.
fn trapezoid(x: f64, t: f64) -> f64 {
    let c = (4.0 * NU * t).sqrt();
    let m = 40_000;
    let h = 28.0 * c / m as f64;
    let e: Vec<(f64, f64)> = (0..=m)
        .map(|i| {
            let eta = -14.0 * c + i as f64 * h;
            let y = x - eta;
            let w = if i == 0 || i == m { 0.5f64.ln() } else { 0.0 };
            (
                w - eta * eta / (c * c) - (PI * y).cos() / (2.0 * PI * NU),
                (PI * y).sin(),
            )
        })
        .collect();
    let top = e.iter().map(|p| p.0).fold(f64::NEG_INFINITY, f64::max);
    let (num, den) = e.iter().fold((0.0, 0.0), |(n, d), &(l, s)| {
        let a = (l - top).exp();
        (n + a * s, d + a)
    });
    -num / den
}

#[test]
fn burgers_matches_a_trapezoid_rule_in_eta() {
    for t in [0.05, 0.3, 1.6037 / PI, 1.0] {
        for x in [-0.9, -0.5, -0.1, -0.01, 0.001, 0.004, 0.02, 0.6] {
            let (a, b) = (burgers_cole_hopf(x, t, NU).unwrap(), trapezoid(x, t));
            assert!((a - b).abs() < 1e-12, "x = {x}, t = {t}: {a} vs {b}");
        }
    }
}

#[test]
fn burgers_satisfies_the_pde_by_finite_differences() {
    // Central differences with h = 10⁻⁴: truncation h²/6·u‴ ≈ 2e-9·u‴, rounding
    // ε|u|/h ≈ 2e-12 for u_t, and for u_xx (a difference of the quadrature's exact u_x,
    // itself checked against differences below) ε|u_x|/h ≈ 1e-11. At smooth points u‴ is
    // O(10) to O(100), so the residual is ~1e-7 or below; a wrong sign or factor in the
    // solution gives O(1).
    let h = 1e-4;
    for (x, t) in [
        (-0.5, 0.5),
        (0.5, 0.25),
        (-0.8, 0.9),
        (0.3, 0.1),
        (0.25, 1.0),
    ] {
        let u = |x, t| burgers_cole_hopf(x, t, NU).unwrap();
        let ux = |x, t| burgers_cole_hopf_dx(x, t, NU).unwrap();
        let u_t = (u(x, t + h) - u(x, t - h)) / (2.0 * h);
        let u_xx = (ux(x + h, t) - ux(x - h, t)) / (2.0 * h);
        let r = u_t + u(x, t) * ux(x, t) - NU * u_xx;
        assert!(r.abs() < 1e-6, "x = {x}, t = {t}: residual {r:e}");
        // The second derivative of u itself, by a second difference, agrees.
        let h2 = 1e-3;
        let u_xx2 = (u(x + h2, t) - 2.0 * u(x, t) + u(x - h2, t)) / (h2 * h2);
        assert!(
            (u_xx - u_xx2).abs() < 1e-3 * (1.0 + u_xx.abs()),
            "{u_xx} {u_xx2}"
        );
    }
}

#[test]
fn burgers_slope_matches_finite_differences() {
    let h = 1e-6;
    for (x, t) in [(-0.5, 0.5), (0.1, 0.2), (0.02, 1.0), (0.9, 0.7)] {
        let fd = (burgers_cole_hopf(x + h, t, NU).unwrap()
            - burgers_cole_hopf(x - h, t, NU).unwrap())
            / (2.0 * h);
        let ux = burgers_cole_hopf_dx(x, t, NU).unwrap();
        assert!(
            (fd - ux).abs() < 1e-6 * (1.0 + ux.abs()),
            "x = {x}, t = {t}: {fd} vs {ux}"
        );
    }
}

#[test]
fn burgers_steepest_slope_is_basdevants_152_00516() {
    // Basdevant et al. (1986), ν = 0.01/π: max over x of |∂u/∂x| at t = 1.6037/π is
    // 152.00516. The slope is even in x (u is odd): search a fine grid about x = 0.
    let t = 1.6037 / PI;
    let (mut best_x, mut best) = (f64::NAN, 0.0);
    for i in -2000..=2000 {
        let x = i as f64 * 5e-7;
        let s = burgers_cole_hopf_dx(x, t, NU).unwrap().abs();
        if s > best {
            (best_x, best) = (x, s);
        }
    }
    // Measured: 152.0051615760 at x = 0.
    assert_relative_eq!(best, 152.00516, max_relative = 1e-7);
    assert!(best_x.abs() < 1e-6, "{best_x}");
    // By central differences of u with h = 10⁻⁵ (truncation h²/6·|u‴| ≈ 1e-4 here,
    // where the shock is about 1/150 wide): the same to 1e-6.
    let h = 1e-5;
    let fd =
        (burgers_cole_hopf(-h, t, NU).unwrap() - burgers_cole_hopf(h, t, NU).unwrap()) / (2.0 * h);
    assert_relative_eq!(fd, 152.00516, max_relative = 1e-6);
    // A shift of the time moves it: the number pins the time scale too.
    let early = burgers_cole_hopf_dx(0.0, 1.5 / PI, NU).unwrap().abs();
    assert!((early - 152.00516).abs() > 1.0, "{early}");
}

#[test]
fn burgers_batch_is_pointwise() {
    let x = [-0.3, 0.0, 0.001, 0.8];
    let t = [0.0, 0.5, 1.0, 0.25];
    let b = burgers_cole_hopf_batch(&x, &t, NU).unwrap();
    for i in 0..4 {
        assert_eq!(b[i], burgers_cole_hopf(x[i], t[i], NU).unwrap());
    }
}

#[test]
fn burgers_errors() {
    let key = |r: Result<f64, Error>| config_error(r.unwrap_err()).0;
    assert_eq!(key(burgers_cole_hopf(0.5, -1e-9, NU)), "burgers.t");
    assert_eq!(key(burgers_cole_hopf(0.5, f64::NAN, NU)), "burgers.t");
    assert_eq!(key(burgers_cole_hopf(0.5, f64::INFINITY, NU)), "burgers.t");
    assert_eq!(key(burgers_cole_hopf(f64::NAN, 0.5, NU)), "burgers.x");
    assert_eq!(
        key(burgers_cole_hopf(f64::NEG_INFINITY, 0.5, NU)),
        "burgers.x"
    );
    assert_eq!(key(burgers_cole_hopf(0.5, 0.5, 0.0)), "burgers.nu");
    assert_eq!(key(burgers_cole_hopf(0.5, 0.5, -NU)), "burgers.nu");
    assert_eq!(key(burgers_cole_hopf(0.5, 0.5, f64::NAN)), "burgers.nu");
    // Scales beyond f64: 4νt overflows, or 1/(2πν) does.
    assert_eq!(key(burgers_cole_hopf(0.5, 1e300, 1e10)), "burgers.nu");
    assert_eq!(key(burgers_cole_hopf(0.5, 0.5, 1e-320)), "burgers.nu");
    assert_eq!(key(burgers_cole_hopf_dx(0.5, -1.0, NU)), "burgers.t");
    let (k, m) = config_error(burgers_cole_hopf_nodes(0.5, 0.5, NU, 0).unwrap_err());
    assert_eq!(k, "burgers.nodes");
    assert!(m.contains("got 0"), "{m}");
    assert_eq!(
        key(burgers_cole_hopf_nodes(0.5, 0.5, NU, MAX_HERMITE_NODES + 1)),
        "burgers.nodes"
    );
    assert_eq!(
        config_error(gauss_hermite(0).unwrap_err()).0,
        "burgers.nodes"
    );
    assert_eq!(
        config_error(burgers_cole_hopf_batch(&[0.1, 0.2], &[0.5], NU).unwrap_err()).0,
        "burgers.t"
    );
    assert_eq!(
        config_error(burgers_cole_hopf_batch(&[0.1, 0.2], &[0.5, -0.5], NU).unwrap_err()).0,
        "burgers.t"
    );
}
