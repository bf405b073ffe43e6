//! What a physics-informed case writes and reports about its trained network: a network
//! of space and time as a time series (`times` of the case on points of the network's
//! other inputs, one file per time and a `.pvd`), and errors of outputs fixed only up to a
//! constant.

use std::path::Path;

use nabla::case::{RunOptions, run};
use nabla::io::read_mesh;
use nabla::pinn::{Checkpoint, PinnConfig, TrainOptions, relative_l2, train};

/// The heat problem u_t = k u_xx of `pinn_equations`, trained briefly, written at `times`
/// on `points`.
fn heat_case(dir: &Path, points: &str, times: &str) {
    std::fs::write(
        dir.join("case.toml"),
        format!(
            r#"
{times}
{points}

[pinn_output]
operators = ["grad", "lap"]

[pinn]
constants = [["k", "0.1"]]
exact = ["exp(-k*pi^2*t)*sin(pi*x)"]

[pinn.pde]
kind = "equations"
inputs = ["x", "t"]
outputs = ["u"]
equations = ["d(u, t) - k*d(u, x, x)"]

[[pinn.conditions]]
on = "t = 0"
values = {{ u = "sin(pi*x)" }}
points = 32

[[pinn.conditions]]
on = ["x = 0", "x = 1"]
values = {{ u = "0" }}
points = 16

[pinn.network]
hidden = [8]
seed = 3

[pinn.domain]
min = [0.0, 0.0]
max = [1.0, 1.0]

[pinn.points]
interior = 64
seed = 1

[pinn.optimizer]
learning_rate = 5e-3
iterations = 30
"#
        ),
    )
    .unwrap();
}

fn quiet() -> RunOptions {
    RunOptions {
        quiet: true,
        ..Default::default()
    }
}

fn input_error(dir: &Path) -> String {
    match run(dir, &quiet()) {
        Err(e @ nabla::Error::Input { .. }) => e.to_string(),
        other => panic!("expected an input error, got {other:?}"),
    }
}

#[test]
fn a_network_of_space_and_time_is_written_at_each_time() {
    let dir = tempfile::tempdir().unwrap();
    // Random points in (x, y): y is not an input of the network of (x, t).
    let cloud = "[points]\nkind = \"random\"\ncount = 40\nbounds = [[0, 1], [0, 1]]\nseed = 5";
    heat_case(dir.path(), cloud, "times = [0.0, 0.25, 1.0]");
    let summary = run(dir.path(), &quiet()).unwrap();
    let vtk = dir.path().join("VTK");
    let pvd = std::fs::read_to_string(vtk.join(format!("{}.pvd", summary.name))).unwrap();
    for t in ["timestep=\"0.0\"", "timestep=\"0.25\"", "timestep=\"1.0\""] {
        assert!(pvd.contains(t), "{pvd}");
    }
    let mlp = Checkpoint::load(&vtk.join("checkpoint.json")).unwrap().mlp;
    for (k, t) in [0.0, 0.25, 1.0].into_iter().enumerate() {
        let mesh = read_mesh(&vtk.join(format!("{}_{k}.vtp", summary.name))).unwrap();
        let xs: Vec<f64> = mesh.points.iter().map(|p| p[0]).collect();
        let n = xs.len();
        let want = mlp.predict(&[xs.clone(), vec![t; n]]).unwrap();
        let u = &mesh.point_array("u").unwrap().values;
        assert_eq!(u, &want[0], "u at t = {t}");
        // ∂u/∂x against central differences of the network; ∂u/∂y is exactly 0.
        let h = 1e-5;
        let plus: Vec<f64> = xs.iter().map(|x| x + h).collect();
        let minus: Vec<f64> = xs.iter().map(|x| x - h).collect();
        let up = mlp.predict(&[plus, vec![t; n]]).unwrap();
        let um = mlp.predict(&[minus, vec![t; n]]).unwrap();
        let grad = &mesh.point_array("grad(u)").unwrap().values;
        for i in 0..n {
            let fd = (up[0][i] - um[0][i]) / (2.0 * h);
            assert!((grad[3 * i] - fd).abs() < 1e-7, "{} vs {fd}", grad[3 * i]);
            assert_eq!(grad[3 * i + 1], 0.0);
        }
    }
    assert!(
        summary
            .rows
            .iter()
            .any(|r| r.array == "lap(u)" && r.time == 0.25)
    );
}

#[test]
fn a_network_of_space_and_time_needs_times_or_the_points_of_all_its_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let lattice =
        "[points]\nkind = \"lattice\"\ncounts = [4, 4, 4]\nbounds = [[0, 1], [0, 1], [0, 1]]";
    let three = |toml: String| {
        toml.replace(r#"inputs = ["x", "t"]"#, r#"inputs = ["x", "y", "t"]"#)
            .replace("min = [0.0, 0.0]", "min = [0.0, 0.0, 0.0]")
            .replace("max = [1.0, 1.0]", "max = [1.0, 1.0, 1.0]")
    };
    // (x, y, t) on 2-D points without times: the hint says what to add.
    let plane = "[points]\nkind = \"lattice\"\ncounts = [4, 4]\nbounds = [[0, 1], [0, 1]]";
    heat_case(dir.path(), plane, "");
    let toml = std::fs::read_to_string(dir.path().join("case.toml")).unwrap();
    std::fs::write(dir.path().join("case.toml"), three(toml)).unwrap();
    let e = input_error(dir.path());
    assert!(
        e.contains("pinn.domain is 3-D but the points are 2-D") && e.contains("times = [...]"),
        "{e}"
    );
    // A network of (x, t) on 3-D points with times is fine (y and z are not inputs), but a
    // network of (x, y, t) needs the points' x and y: 1-D points are not made, so check 4-D.
    heat_case(dir.path(), lattice, "times = [0.5]");
    let toml = std::fs::read_to_string(dir.path().join("case.toml")).unwrap();
    let four = toml
        .replace(
            r#"inputs = ["x", "t"]"#,
            r#"inputs = ["x", "y", "z", "w", "t"]"#,
        )
        .replace("min = [0.0, 0.0]", "min = [0.0, 0.0, 0.0, 0.0, 0.0]")
        .replace("max = [1.0, 1.0]", "max = [1.0, 1.0, 1.0, 1.0, 1.0]");
    std::fs::write(dir.path().join("case.toml"), four).unwrap();
    let e = input_error(dir.path());
    assert!(
        e.contains("other than t are 4-D but the points are 3-D"),
        "{e}"
    );
}

/// A network for (u, p) of x and y trained briefly on u = sin(πx)sin(πy) with p = 7 + x
/// known only through ∂p/∂x = 1: p is fixed up to a constant.
fn pressure_toml(listed: &str) -> String {
    format!(
        r#"
exact = ["sin(pi*x)*sin(pi*y)", "7 + x"]
[pde]
kind = "equations"
inputs = ["x", "y"]
outputs = ["u", "p"]
equations = ["-lap(u) - 2*pi^2*sin(pi*x)*sin(pi*y)", "d(p, x) - 1", "d(p, y)"]
[[conditions]]
on = ["x = 0", "x = 1", "y = 0", "y = 1"]
values = {{ u = "0" }}
points = 64
[network]
hidden = [8]
seed = 1
[domain]
min = [0.0, 0.0]
max = [1.0, 1.0]
[points]
interior = 64
seed = 2
[optimizer]
learning_rate = 1e-2
iterations = 200
[validation]
points = 500
{listed}
"#
    )
}

#[test]
fn an_output_fixed_up_to_a_constant_is_compared_without_its_mean() {
    let quiet = TrainOptions {
        quiet: true,
        ..Default::default()
    };
    let cfg = PinnConfig::from_toml(&pressure_toml("up_to_constant = [\"p\"]")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let centred = train(&cfg, &quiet, dir.path()).unwrap();
    let plain = PinnConfig::from_toml(&pressure_toml("")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let raw = train(&plain, &quiet, dir.path()).unwrap();
    // The same training; only p's error changes: without its mean it is small, with it
    // the network's p (which nothing anchors at 7) is far off.
    assert_eq!(centred.errors[0], raw.errors[0]);
    let (pc, pr) = (centred.errors[1].relative_l2, raw.errors[1].relative_l2);
    assert!(pc < 0.2 && pr > 0.5, "centred {pc}, raw {pr}");
    assert!((relative_l2(&[1.0, 2.0], &[11.0, 12.0], true)).abs() < 1e-15);
    let bad = PinnConfig::from_toml(&pressure_toml("up_to_constant = [\"q\"]")).unwrap();
    let e = bad.problem().err().unwrap().to_string();
    assert!(
        e.contains("validation.up_to_constant") && e.contains("'q' is not an output"),
        "{e}"
    );
}
