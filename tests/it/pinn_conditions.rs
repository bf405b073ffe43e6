//! Conditions of an equations problem beyond values on faces: the equations' own weights,
//! periodic pairs of faces, and regions given by an expression (inside a volume, on a
//! curved surface, with the surface's normal).

use crate::pinn_equations::config_error;
use approx::assert_relative_eq;
use nabla::pinn::{Activation, Loss, Mlp, Objective, PinnConfig, TrainOptions, train};

/// A 2-D problem over (x, y) ∈ [−1, 1]² with the given equations and conditions.
fn problem(equations: &str, extra: &str) -> String {
    format!(
        r#"
[pde]
kind = "equations"
inputs = ["x", "y"]
outputs = ["u"]
equations = {equations}

{extra}

[network]
hidden = [8]
seed = 3

[domain]
min = [-1.0, -1.0]
max = [1.0, 1.0]

[points]
interior = 50
sampler = "hammersley"
seed = 1

[optimizer]
learning_rate = 1e-3
iterations = 10
"#
    )
}

fn loss_of(toml: &str) -> Loss {
    let cfg = PinnConfig::from_toml(toml).unwrap();
    match cfg.problem().unwrap().loss {
        Objective::Equations(e) => e.loss,
        Objective::Builtin(_) => panic!("not an equations problem"),
    }
}

fn net() -> Mlp {
    Mlp::new(2, &[8], 1, Activation::Tanh, 3).unwrap()
}

/// The mean over the points of `f(u, x, y)²`.
fn mean_sq(cols: &[Vec<f64>], f: impl Fn(f64, f64, f64) -> f64) -> f64 {
    let u = net().predict(cols).unwrap().remove(0);
    let n = u.len();
    (0..n)
        .map(|i| f(u[i], cols[0][i], cols[1][i]).powi(2))
        .sum::<f64>()
        / n as f64
}

#[test]
fn the_equations_term_is_the_weighted_sum_of_their_mean_squares() {
    let cond = "[[conditions]]\non = \"x = -1\"\nvalues = { u = \"0\" }\npoints = 8";
    // Two equations without weights: each counts fully, Σ mean(rᵢ²).
    let loss = loss_of(&problem(r#"["u - x", "u + 2*y"]"#, cond));
    let pts = loss.terms()[0].points().to_vec();
    let a = mean_sq(&pts, |u, x, _| u - x);
    let b = mean_sq(&pts, |u, _, y| u + 2.0 * y);
    let got = loss.value(&net(), &[]).unwrap().terms[0];
    assert_relative_eq!(got, a + b, max_relative = 1e-13);
    // Weights 3 and 0.5: 3·mean(r₁²) + 0.5·mean(r₂²).
    let weighted = problem(
        r#"["u - x", "u + 2*y"]
weights = [3.0, 0.5]"#,
        cond,
    );
    let got = loss_of(&weighted).value(&net(), &[]).unwrap().terms[0];
    assert_relative_eq!(got, 3.0 * a + 0.5 * b, max_relative = 1e-13);
    // A weight of 0 removes its equation.
    let zero = problem(
        r#"["u - x", "u + 2*y"]
weights = [0.0, 1.0]"#,
        cond,
    );
    let got = loss_of(&zero).value(&net(), &[]).unwrap().terms[0];
    assert_relative_eq!(got, b, max_relative = 1e-13);
}

const WALL: &str = "[[conditions]]\non = \"x = -1\"\nvalues = { u = \"0\" }\npoints = 8";

#[test]
fn a_periodic_condition_pairs_points_of_opposite_faces() {
    let toml = problem(
        r#"["u"]"#,
        "[[conditions]]\non = [\"x = 1\", \"x = -1\"]\nperiodic = [\"u\", \"d(u, x)\"]\npoints = 40\nweight = 2.0",
    );
    let loss = loss_of(&toml);
    let t = &loss.terms()[1];
    assert_eq!(t.name(), "condition 0 (periodic: x = -1 and x = 1)");
    assert_eq!(t.weight(), 2.0);
    let (p, q) = (t.points(), t.partners());
    assert_eq!(p[0].len(), 40);
    assert!(p[0].iter().all(|&x| x == -1.0) && q[0].iter().all(|&x| x == 1.0));
    assert_eq!(p[1], q[1]);
    assert!(p[1].iter().all(|y| (-1.0..=1.0).contains(y)));
    // The term is the mean over pairs and both components of the differences' squares;
    // the slope's by central differences (error O(h²) ≈ 1e-10 relative).
    let n = net();
    let u = |x: f64, ys: &[f64]| {
        n.predict(&[vec![x; ys.len()], ys.to_vec()])
            .unwrap()
            .remove(0)
    };
    let h = 1e-5;
    let du = |x: f64, ys: &[f64]| -> Vec<f64> {
        let (a, b) = (u(x + h, ys), u(x - h, ys));
        a.iter().zip(&b).map(|(a, b)| (a - b) / (2.0 * h)).collect()
    };
    let (ul, ur, dl, dr) = (
        u(-1.0, &p[1]),
        u(1.0, &p[1]),
        du(-1.0, &p[1]),
        du(1.0, &p[1]),
    );
    let want = (0..40)
        .map(|i| (ul[i] - ur[i]).powi(2) + (dl[i] - dr[i]).powi(2))
        .sum::<f64>()
        / 80.0;
    let got = loss.value(&n, &[]).unwrap().terms[1];
    assert_relative_eq!(got, want, max_relative = 1e-8);
    assert!(got > 1e-6, "an untrained network is not periodic: {got}");
}

#[test]
fn a_region_inside_takes_points_where_the_comparison_holds() {
    for (region, inside) in [
        ("x^2 + y^2 < 0.25", true),
        ("0.25 <= x^2 + y^2", false),
        ("r2 > R^2", false),
    ] {
        let toml = problem(
            r#"["u"]"#,
            &format!(
                "[[conditions]]\nregion = \"{region}\"\nvalues = {{ u = \"x*y\" }}\npoints = 64\n"
            ),
        )
        .replace(
            "[pde]",
            "definitions = [[\"r2\", \"x^2 + y^2\"]]\nconstants = [[\"R\", \"0.5\"]]\n[pde]",
        );
        let loss = loss_of(&toml);
        let t = &loss.terms()[1];
        let p = t.points();
        assert_eq!(p[0].len(), 64, "{region}");
        let mut quadrants = [0; 4];
        for i in 0..64 {
            let r2 = p[0][i] * p[0][i] + p[1][i] * p[1][i];
            assert_eq!(r2 <= 0.25, inside, "{region}: ({}, {})", p[0][i], p[1][i]);
            quadrants[usize::from(p[0][i] > 0.0) + 2 * usize::from(p[1][i] > 0.0)] += 1;
        }
        // Spread over the region, not bunched where the sampler starts.
        assert!(quadrants.iter().all(|&q| q >= 8), "{region}: {quadrants:?}");
        let want = mean_sq(p, |u, x, y| u - x * y);
        assert_relative_eq!(
            loss.value(&net(), &[]).unwrap().terms[1],
            want,
            max_relative = 1e-13
        );
    }
}

#[test]
fn a_surface_region_puts_points_on_it_with_its_normal() {
    let toml = problem(
        r#"["u"]"#,
        "[[conditions]]\nregion = \"x^2 + y^2 = 0.25\"\nvalues = { u = \"1\" }\nnormal = { u = \"x\" }\npoints = 50\n",
    );
    let loss = loss_of(&toml);
    let (v, nt) = (&loss.terms()[1], &loss.terms()[2]);
    let p = v.points();
    assert_eq!(p[0].len(), 50);
    assert_eq!(p, nt.points());
    let mut angles: Vec<f64> = (0..50).map(|i| p[1][i].atan2(p[0][i])).collect();
    for i in 0..50 {
        let r = (p[0][i] * p[0][i] + p[1][i] * p[1][i]).sqrt();
        assert!((r - 0.5).abs() < 1e-12, "r = {r}");
        // The normal: the unit gradient of x² + y² − 0.25, outward.
        let nd = nt.data();
        assert_relative_eq!(nd[0][i], p[0][i] / r, epsilon = 1e-14);
        assert_relative_eq!(nd[1][i], p[1][i] / r, epsilon = 1e-14);
    }
    // All round the circle: no gap wider than a quarter turn.
    angles.sort_by(f64::total_cmp);
    let gaps = angles.windows(2).map(|w| w[1] - w[0]).fold(0.0, f64::max);
    let wrap = angles[0] + std::f64::consts::TAU - angles[49];
    assert!(
        gaps.max(wrap) < std::f64::consts::FRAC_PI_2,
        "gap {gaps}, {wrap}"
    );
    // The normal condition's term: mean((n·∇u − x)²), ∇u by central differences.
    let n = net();
    let h = 1e-5;
    let at = |dx: f64, dy: f64| {
        let c: Vec<Vec<f64>> = vec![
            p[0].iter().map(|x| x + dx).collect(),
            p[1].iter().map(|y| y + dy).collect(),
        ];
        n.predict(&c).unwrap().remove(0)
    };
    let (xp, xm, yp, ym) = (at(h, 0.0), at(-h, 0.0), at(0.0, h), at(0.0, -h));
    let want = (0..50)
        .map(|i| {
            let r = 0.5;
            let dn = (xp[i] - xm[i]) / (2.0 * h) * p[0][i] / r
                + (yp[i] - ym[i]) / (2.0 * h) * p[1][i] / r;
            (dn - p[0][i]).powi(2)
        })
        .sum::<f64>()
        / 50.0;
    assert_relative_eq!(
        loss.value(&n, &[]).unwrap().terms[2],
        want,
        max_relative = 1e-7
    );
}

#[test]
fn conditions_refuse_what_does_not_make_sense() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "on = \"x = -1\"\nregion = \"x < 0\"\nvalues = { u = \"0\" }",
            "conditions.0",
            "both",
        ),
        ("values = { u = \"0\" }", "conditions.0", "nowhere"),
        (
            "on = [\"x = -1\", \"x = 1\", \"y = 1\"]\nperiodic = [\"u\"]",
            "conditions.0.on",
            "3 faces",
        ),
        (
            "on = [\"x = -1\", \"y = 1\"]\nperiodic = [\"u\"]",
            "conditions.0.on",
            "not opposite",
        ),
        (
            "on = [\"x = -1\", \"x = 1\"]\nperiodic = [\"u\"]\nvalues = { u = \"0\" }",
            "conditions.0.periodic",
            "of their own",
        ),
        (
            "region = \"x < 0\"\nperiodic = [\"u\"]",
            "conditions.0.periodic",
            "not a region",
        ),
        (
            "on = [\"x = -1\", \"x = 1\"]\nperiodic = [\"u\", \"d(q, x)\"]",
            "conditions.0.periodic.1",
            "'q' is not an output",
        ),
        (
            "region = \"x < 0\"\nnormal = { u = \"0\" }",
            "conditions.0.normal",
            "a volume",
        ),
        (
            "region = \"x^2 + y^2 < -1\"\nvalues = { u = \"0\" }",
            "conditions.0.region",
            "is the region empty",
        ),
        (
            "region = \"x^2 + y^2 = 9\"\nvalues = { u = \"0\" }",
            "conditions.0.region",
            "landed on the surface",
        ),
        (
            "region = \"x + 1\"\nvalues = { u = \"0\" }",
            "conditions.0.region",
            "expected a comparison",
        ),
        (
            "region = \"x < y < 1\"\nvalues = { u = \"0\" }",
            "conditions.0.region",
            "column 7: expected one comparison",
        ),
        (
            "region = \"x < q\"\nvalues = { u = \"0\" }",
            "conditions.0.region",
            "column 5",
        ),
        (
            "region = \"1 < 2\"\nvalues = { u = \"0\" }",
            "conditions.0.region",
            "does not depend on the inputs",
        ),
        (
            "region = \"= 1\"\nvalues = { u = \"0\" }",
            "conditions.0.region",
            "each side",
        ),
        (
            "on = \"x = 0\"\nvalues = { u = \"0\" }",
            "conditions.0.on",
            "region = \\\"x = 0\\\"",
        ),
        (
            "region = \"y = 0\"\nnormal = { u = \"0\" }\nequations = [\"d(u, z)\"]",
            "conditions.0.equations.0",
            "'z' is not an input",
        ),
    ];
    let zero = problem(
        r#"["u"]"#,
        "[[conditions]]\nregion = \"x < 0\"\nvalues = { u = \"0\" }\npoints = 0\n",
    );
    assert_eq!(
        config_error(&zero),
        ("conditions.0.points".into(), "must be at least 1".into())
    );
    for (cond, setting, says) in cases {
        let toml = problem(
            r#"["u"]"#,
            &format!("{WALL}\n\n[[conditions]]\n{cond}\npoints = 16\n"),
        )
        .replace("conditions.0", "conditions.1");
        let (s, m) = config_error(&toml);
        let setting = setting.replace("conditions.0", "conditions.1");
        assert_eq!(s, setting, "{cond}: {m}");
        let says = says.replace("\\\"", "\"");
        assert!(m.contains(&says), "{cond}: {m}");
    }
}

#[test]
fn a_surface_in_time_alone_has_no_normal() {
    let toml = problem(
        r#"["d(u, t)"]"#,
        "[[conditions]]\nregion = \"t^2 = 0.25\"\nnormal = { u = \"0\" }\npoints = 8\n",
    )
    .replace(r#"inputs = ["x", "y"]"#, r#"inputs = ["x", "t"]"#);
    let (s, m) = config_error(&toml);
    assert_eq!(s, "conditions.0.region");
    assert!(
        m.contains("has no normal") && m.contains("varies in space"),
        "{m}"
    );
}

#[test]
fn a_periodic_problem_trains_to_its_exact_solution() {
    // Advection-diffusion u_t + u_x = 0.05 u_xx on [0, 2π) periodic, u(x, 0) = sin x:
    // u = exp(−0.05 t) sin(x − t). Without the periodic pair the ends of x are free
    // (measured: 2.6e-2 after the same training); with it 1.2e-3.
    let toml = r#"
exact = ["exp(-0.05*t)*sin(x - t)"]
[pde]
kind = "equations"
inputs = ["x", "t"]
outputs = ["u"]
equations = ["d(u, t) + d(u, x) - 0.05*d(u, x, x)"]

[[conditions]]
on = "t = 0"
values = { u = "sin(x)" }
points = 64

[[conditions]]
on = ["x = 0", "x = 2*pi"]
periodic = ["u", "d(u, x)"]
points = 32

[network]
hidden = [16, 16]
seed = 2

[domain]
min = [0.0, 0.0]
max = [6.283185307179586, 1.0]

[points]
interior = 400
sampler = "hammersley"

[optimizer]
learning_rate = 1e-2
iterations = 1500

[lbfgs]
steps = 400

[validation]
points = 2000
"#;
    let cfg = PinnConfig::from_toml(toml).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let quiet = TrainOptions {
        quiet: true,
        ..Default::default()
    };
    let out = train(&cfg, &quiet, dir.path()).unwrap();
    let err = out.errors[0].relative_l2;
    assert!(err < 5e-3, "relative L2 {err}");
}

#[test]
fn partners_must_match_their_points() {
    use nabla::pinn::{ExprResidual, Names, Term};
    let names = Names::new(&["x", "t"], &["u"]);
    let r = || ExprResidual::new(&["u"], &names, None).unwrap();
    let pts = || vec![vec![-1.0; 3], vec![0.0, 0.5, 1.0]];
    let term = || Term::new("p", pts(), r()).unwrap();
    for (partners, says) in [
        (vec![], "0 columns for points of 2 coordinates"),
        (vec![vec![1.0; 3]], "1 columns for points of 2 coordinates"),
        (
            vec![vec![1.0; 3], vec![0.0; 2]],
            "column 1 has 2 values, expected 3",
        ),
        (
            vec![vec![1.0; 3], vec![0.0, f64::NAN, 1.0]],
            "column 1 holds NaN at point 1",
        ),
    ] {
        let e = term()
            .with_partners(partners)
            .err()
            .expect("refused")
            .to_string();
        assert!(e.contains("p.partners") && e.contains(says), "{e}");
    }
    // A term with partners cannot take new points, which would leave them unpaired.
    let paired = term().with_partners(pts()).unwrap();
    let loss = Loss::new(2, 1, vec![paired]).unwrap();
    let e = loss
        .with_points(0, pts())
        .err()
        .expect("refused")
        .to_string();
    assert!(e.contains("partners"), "{e}");
}
