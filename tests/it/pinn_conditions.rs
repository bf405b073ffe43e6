//! Conditions of an equations problem beyond values on faces: the equations' own weights,
//! periodic pairs of faces, and regions given by an expression (inside a volume, on a
//! curved surface, with the surface's normal).

use approx::assert_relative_eq;
use nabla::Error;
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

fn config_error(toml: &str) -> (String, String) {
    let cfg = match PinnConfig::from_toml(toml) {
        Ok(c) => c,
        Err(Error::Config { setting, message }) => return (setting, message),
        Err(e) => panic!("{e}"),
    };
    match cfg.problem().err().expect("the problem should be refused") {
        Error::Config { setting, message } => (setting, message),
        e => panic!("{e}"),
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
