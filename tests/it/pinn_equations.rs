//! Equations problems in the case file: `[pinn.pde] kind = "equations"`, conditions on
//! faces, data files, unknowns; trained from the settings alone.

use nabla::Error;
use nabla::pinn::{PinnConfig, TrainOptions, train};

/// A heat problem u_t = k u_xx on [0, 1] × [0, T], u(x, 0) = sin(πx), u(0) = u(1) = 0:
/// u = exp(−kπ²t) sin(πx).
fn heat(extra: &str, iterations: usize) -> String {
    format!(
        r#"
constants = [["k", "0.1"]]
exact = ["exp(-k*pi^2*t)*sin(pi*x)"]
{extra}
[pde]
kind = "equations"
inputs = ["x", "t"]
outputs = ["u"]
equations = ["d(u, t) - k*d(u, x, x)"]

[[conditions]]
on = "t = 0"
values = {{ u = "sin(pi*x)" }}
points = 64

[[conditions]]
on = ["x = 0", "x = 1"]
values = {{ u = "0" }}
points = 32

[network]
hidden = [16, 16]
seed = 3

[domain]
min = [0.0, 0.0]
max = [1.0, 1.0]

[points]
interior = 256
sampler = "hammersley"
seed = 1

[optimizer]
learning_rate = 5e-3
iterations = {iterations}

[validation]
points = 2000
"#
    )
}

fn quiet() -> TrainOptions {
    TrainOptions {
        quiet: true,
        ..Default::default()
    }
}

fn resuming() -> TrainOptions {
    TrainOptions {
        resume: true,
        ..quiet()
    }
}

/// The setting and message of the error a case file's `[pinn]` table is refused with
/// (by the parser or when its problem is built); shared by the PINN tests.
pub(crate) fn config_error(toml: &str) -> (String, String) {
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

#[test]
fn heat_equation_trains_from_the_settings_alone() {
    let cfg = PinnConfig::from_toml(&heat("", 1500)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let r = train(&cfg, &quiet(), dir.path()).unwrap();
    let first = r.history[0].loss.total;
    assert!(
        r.final_loss.total < first / 100.0,
        "{first} → {}",
        r.final_loss.total
    );
    assert_eq!(r.errors.len(), 1);
    assert!(
        r.errors[0].relative_l2 < 0.05,
        "error {}",
        r.errors[0].relative_l2
    );
    for f in ["checkpoint.json", "loss.csv", "loss.png", "loss.svg"] {
        assert!(dir.path().join(f).is_file(), "{f}");
    }
}

#[test]
fn training_is_bit_identical_for_any_thread_count_and_resumes_exactly() {
    let cfg = PinnConfig::from_toml(&heat("", 40)).unwrap();
    let run = |k: usize| {
        let dir = tempfile::tempdir().unwrap();
        rayon::ThreadPoolBuilder::new()
            .num_threads(k)
            .build()
            .unwrap()
            .install(|| train(&cfg, &quiet(), dir.path()).unwrap())
    };
    let (a, b) = (run(1), run(2));
    assert_eq!(a.mlp, b.mlp);
    let losses = |r: &nabla::pinn::TrainReport| -> Vec<u64> {
        r.history.iter().map(|h| h.loss.total.to_bits()).collect()
    };
    assert_eq!(losses(&a), losses(&b));
    // Stopped at 20 steps and resumed: the same network.
    let dir = tempfile::tempdir().unwrap();
    let mut half = cfg.clone();
    half.optimizer.iterations = 20;
    train(&half, &quiet(), dir.path()).unwrap();
    let resumed = train(&cfg, &resuming(), dir.path()).unwrap();
    assert_eq!(resumed.mlp, a.mlp);
}

#[test]
fn an_unknown_coefficient_is_identified_from_data() {
    // Data of the heat solution with k = 0.1; the equation's k starts at 0.3.
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("x,t,u\n");
    for i in 0..20 {
        for j in 0..10 {
            let (x, t) = ((i as f64 + 0.5) / 20.0, j as f64 / 10.0);
            let u =
                (-0.1 * std::f64::consts::PI.powi(2) * t).exp() * (std::f64::consts::PI * x).sin();
            csv.push_str(&format!("{x},{t},{u}\n"));
        }
    }
    std::fs::write(dir.path().join("samples.csv"), csv).unwrap();
    let toml = heat("", 2500)
        .replace(r#"constants = [["k", "0.1"]]"#, "")
        .replace("exp(-k*pi^2*t)", "exp(-0.1*pi^2*t)")
        .replace(
            "[network]",
            "[unknowns]\nk = 0.3\n\n[[data]]\nfile = \"samples.csv\"\n\n[network]",
        );
    let mut cfg = PinnConfig::from_toml(&toml).unwrap();
    cfg.dir = dir.path().to_path_buf();
    let out = tempfile::tempdir().unwrap();
    let r = train(&cfg, &quiet(), out.path()).unwrap();
    assert_eq!(r.unknowns.len(), 1);
    let (name, k) = &r.unknowns[0];
    assert_eq!(name, "k");
    assert!((k - 0.1).abs() < 0.005, "k = {k}");
    // The history carries the unknown, starting from the guess.
    assert_eq!(r.history[0].unknowns, [0.3]);
    let csv = std::fs::read_to_string(out.path().join("loss.csv")).unwrap();
    assert!(csv.lines().next().unwrap().ends_with(",seconds,k"), "{csv}");
    // The checkpoint holds it.
    let c = nabla::pinn::Checkpoint::load(&out.path().join("checkpoint.json")).unwrap();
    assert_eq!(c.unknowns, [*k]);
}

#[test]
fn a_one_dimensional_problem_trains() {
    // u'' = −π² sin(πx) on [0, 1], u(0) = u(1) = 0: u = sin(πx), a network of one input.
    let toml = r#"
exact = ["sin(pi*x)"]
[pde]
kind = "equations"
inputs = ["x"]
outputs = ["u"]
equations = ["d(u, x, x) + pi^2*sin(pi*x)"]
[[conditions]]
on = ["x = 0", "x = 1"]
values = { u = "0" }
points = 2
[network]
hidden = [16]
seed = 1
[domain]
min = [0.0]
max = [1.0]
[points]
interior = 64
sampler = "sobol"
[optimizer]
learning_rate = 1e-2
iterations = 1500
[validation]
points = 500
"#;
    let cfg = PinnConfig::from_toml(toml).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let r = train(&cfg, &quiet(), dir.path()).unwrap();
    assert!(
        r.errors[0].relative_l2 < 0.02,
        "{}",
        r.errors[0].relative_l2
    );
}

#[test]
fn a_neumann_condition_uses_the_outward_normal() {
    // u'' = 0 on [0, 1], u(0) = 1, outward u' at x = 1 is 2: u = 1 + 2x. A sign error
    // would give 1 − 2x.
    let toml = r#"
exact = ["1 + 2*x"]
[pde]
kind = "equations"
inputs = ["x"]
outputs = ["u"]
equations = ["d(u, x, x)"]
[[conditions]]
on = "x = 0"
values = { u = "1" }
points = 1
[[conditions]]
on = "x = 1"
normal = { u = "2" }
points = 1
[network]
hidden = [8]
seed = 2
[domain]
min = [0.0]
max = [1.0]
[points]
interior = 32
[optimizer]
learning_rate = 1e-2
iterations = 1500
[validation]
points = 100
"#;
    let cfg = PinnConfig::from_toml(toml).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let r = train(&cfg, &quiet(), dir.path()).unwrap();
    assert!(
        r.errors[0].relative_l2 < 0.01,
        "{}",
        r.errors[0].relative_l2
    );
}

#[test]
fn equations_settings_are_checked_with_the_setting_named() {
    let h = heat("", 10);
    let cases: Vec<(String, &str, &str)> = vec![
        (
            h.replace("d(u, t) - k", "d(q, t) - k"),
            "pde.equations.0",
            "'q' is not an output",
        ),
        (
            h.replace("d(u, t) - k", "d(u, y) - k"),
            "pde.equations.0",
            "'y' is not an input",
        ),
        (
            h.replace("on = \"t = 0\"", "on = \"t = 2\""),
            "conditions.0.on",
            "not a face of the domain",
        ),
        (
            h.replace("on = \"t = 0\"", "on = \"s = 0\""),
            "conditions.0.on",
            "'s' is not an input",
        ),
        (
            h.replace("on = \"t = 0\"", "on = \"t 0\""),
            "conditions.0.on",
            "expected a face",
        ),
        (
            h.replace("values = { u = \"sin(pi*x)\" }", "values = { w = \"0\" }"),
            "conditions.0.values.w",
            "not an output",
        ),
        (
            h.replace("values = { u = \"sin(pi*x)\" }", ""),
            "conditions.0",
            "says nothing",
        ),
        (
            h.replace(
                "values = { u = \"sin(pi*x)\" }",
                "values = { u = \"sin(pi*\" }",
            ),
            "conditions.0.values.u",
            "column",
        ),
        (
            h.replace("[network]", "[unknowns]\nk2 = 1.0\n[network]"),
            "unknowns",
            "without measurements",
        ),
        (
            h.replace("outputs = [\"u\"]", "outputs = [\"x\"]"),
            "pde.outputs.0",
            "given twice",
        ),
        (
            h.replace("outputs = [\"u\"]", "outputs = [\"k\"]"),
            "pde.outputs.0",
            "given twice",
        ),
        (
            h.replace("max = [1.0, 1.0]", "max = [1.0]"),
            "domain",
            "one value per input",
        ),
        (
            h.replace("[network]", "boundary = [\"0\"]\n[network]"),
            "",
            "",
        ),
        (
            h.replace("interior = 256", "interior = 256\nboundary = 10"),
            "points.boundary",
            "built-in kinds",
        ),
        (
            h.replace("sampler = \"hammersley\"", "sampler = \"halton\""),
            "toml",
            "unknown variant",
        ),
        (
            h.replace("[validation]", "[validation]\nreference = \"burgers\""),
            "validation.reference",
            "not both",
        ),
        (
            h.replace(
                "exact = [\"exp(-k*pi^2*t)*sin(pi*x)\"]",
                "exact = [\"exp(-k*pi^2*s)\"]",
            ),
            "exact.0",
            "unknown",
        ),
        (
            h.replace("equations = [\"d(u, t) - k*d(u, x, x)\"]", "equations = []"),
            "pde",
            "needs inputs, outputs and equations",
        ),
    ];
    for (toml, want_setting, want) in cases {
        if want_setting.is_empty() {
            // `boundary` is a top-level key: it must come before the tables.
            continue;
        }
        let (setting, message) = config_error(&toml);
        assert!(
            setting.starts_with(want_setting),
            "{setting}: {message} (wanted {want_setting})"
        );
        assert!(
            message.contains(want),
            "{setting}: {message} (wanted {want})"
        );
    }
    let with_boundary = format!("boundary = [\"0\"]\n{h}");
    let (setting, message) = config_error(&with_boundary);
    assert_eq!(setting, "boundary", "{message}");
    // A built-in kind refuses the equations' settings.
    let poisson = r#"
boundary = ["0"]
[pde]
kind = "poisson"
source = "1"
[[conditions]]
on = "x = 0"
values = { u = "0" }
points = 4
[network]
hidden = [4]
[domain]
min = [0.0, 0.0]
max = [1.0, 1.0]
[points]
interior = 4
boundary = 4
[optimizer]
learning_rate = 1e-3
iterations = 1
"#;
    let (setting, message) = config_error(poisson);
    assert_eq!(setting, "conditions", "{message}");
    let resampling = poisson
        .replace(
            "[[conditions]]\non = \"x = 0\"\nvalues = { u = \"0\" }\npoints = 4\n",
            "",
        )
        .replace("boundary = 4\n", "boundary = 4\nresample_every = 5\n");
    let (setting, message) = config_error(&resampling);
    assert_eq!(setting, "points.resample_every", "{message}");
}

#[test]
fn data_files_are_checked_with_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let bad = [
        ("x,u\n0.1,1\n", 1, "no column 't'"),
        ("x,t,v\n0.1,0.2,1\n", 1, "no output column"),
        ("x,t,u\n0.1,0.2,1\n0.3,abc,2\n", 3, "not a finite number"),
        ("x,t,u\n0.1,0.2,nan\n", 2, "not a finite number"),
        ("x,t,u\n0.1,0.2\n", 2, ""),
    ];
    for (text, line, want) in bad {
        std::fs::write(dir.path().join("d.csv"), text).unwrap();
        let toml = heat("", 10)
            .replace(
                "[network]",
                "[unknowns]\nk2 = 1.0\n[[data]]\nfile = \"d.csv\"\n[network]",
            )
            .replace("d(u, t) - k*", "d(u, t) - k2*");
        let mut cfg = PinnConfig::from_toml(&toml).unwrap();
        cfg.dir = dir.path().to_path_buf();
        match cfg.problem().err().expect("refused") {
            Error::Input {
                path,
                line: l,
                message,
                ..
            } => {
                assert!(path.ends_with("d.csv"));
                assert_eq!(l, Some(line), "{text:?}: {message}");
                assert!(message.contains(want), "{message}");
            }
            e => panic!("{text:?}: {e}"),
        }
    }
    // A missing file and a directory are I/O errors naming the path.
    let toml = heat("", 10).replace("[network]", "[[data]]\nfile = \"missing.csv\"\n[network]");
    let mut cfg = PinnConfig::from_toml(&toml).unwrap();
    cfg.dir = dir.path().to_path_buf();
    assert!(matches!(cfg.problem(), Err(Error::Io { .. })));
}

#[test]
fn lbfgs_after_adam_lowers_the_loss_and_resumes_exactly() {
    let lbfgs = "\n[lbfgs]\nsteps = 60\n";
    let adam_only = PinnConfig::from_toml(&heat("", 200)).unwrap();
    let both = PinnConfig::from_toml(&format!("{}{lbfgs}", heat("", 200))).unwrap();
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let ra = train(&adam_only, &quiet(), a.path()).unwrap();
    let rb = train(&both, &quiet(), b.path()).unwrap();
    let out = rb.lbfgs.expect("an L-BFGS phase");
    assert!(out.iterations > 0 && out.evaluations >= out.iterations);
    // The history goes on after Adam's 200 records, one per L-BFGS iteration.
    assert_eq!(rb.history.len(), 200 + out.iterations as usize);
    assert_eq!(rb.history[200].iteration, 200);
    assert_eq!(rb.history[200].loss.total, ra.final_loss.total);
    assert!(
        rb.final_loss.total < ra.final_loss.total / 5.0,
        "Adam {} vs Adam + L-BFGS {}",
        ra.final_loss.total,
        rb.final_loss.total
    );
    let c = nabla::pinn::Checkpoint::load(&b.path().join("checkpoint.json")).unwrap();
    assert_eq!(
        c.lbfgs.as_ref().map(|l| l.iterations()),
        Some(out.iterations)
    );
    // Stopped after 25 L-BFGS iterations and resumed: the same network, bit for bit.
    let c_dir = tempfile::tempdir().unwrap();
    let part = PinnConfig::from_toml(&format!("{}\n[lbfgs]\nsteps = 25\n", heat("", 200))).unwrap();
    train(&part, &quiet(), c_dir.path()).unwrap();
    let resumed = train(&both, &resuming(), c_dir.path()).unwrap();
    assert_eq!(resumed.mlp, rb.mlp);
    assert_eq!(resumed.history.len(), rb.history.len());
    // Bad settings are refused before training.
    let bad = PinnConfig::from_toml(&format!("{}\n[lbfgs]\nmemory = 0\n", heat("", 10))).unwrap();
    assert!(matches!(bad.problem(), Err(Error::Config { .. })));
}

#[test]
fn reference_samples_are_data_made_by_code_and_checked() {
    let burgers = |data: &str| {
        format!(
            r#"
constants = [["nu_true", "0.01/pi"]]
[pde]
kind = "equations"
inputs = ["x", "t"]
outputs = ["u"]
equations = ["d(u, t) + u*d(u, x) - nu*d(u, x, x)"]
[unknowns]
nu = 0.05
{data}
[network]
hidden = [8]
[domain]
min = [-1.0, 0.0]
max = [1.0, 1.0]
[points]
interior = 64
[optimizer]
learning_rate = 1e-3
iterations = 2
"#
        )
    };
    let good = "[[data]]\nreference = \"burgers\"\nnu = \"nu_true\"\npoints = 50\nseed = 3\n";
    let cfg = PinnConfig::from_toml(&burgers(good)).unwrap();
    let p = cfg.problem().unwrap();
    let e = p.loss.equations().unwrap();
    let data = e
        .loss
        .terms()
        .iter()
        .find(|t| t.name().starts_with("data"))
        .unwrap();
    assert_eq!(data.len(), 50);
    assert!(data.name().contains("Burgers"), "{}", data.name());
    // The samples are the reference's values at their points, inside the domain.
    let nu = 0.01 / std::f64::consts::PI;
    let (x, t) = (&data.points()[0], &data.points()[1]);
    for i in 0..data.len() {
        assert!((-1.0..=1.0).contains(&x[i]) && (0.0..=1.0).contains(&t[i]));
        let u = nabla::pinn::burgers_cole_hopf(x[i], t[i], nu).unwrap();
        assert_eq!(data.data()[0][i], u, "point {i}");
    }
    for (bad, setting, want) in [
        (
            "[[data]]\nreference = \"burgers\"\npoints = 50\n",
            "data.0.nu",
            "missing",
        ),
        (
            "[[data]]\nreference = \"heat\"\nnu = \"1\"\npoints = 5\n",
            "data.0.reference",
            "unknown reference",
        ),
        (
            "[[data]]\nreference = \"burgers\"\nnu = \"nu_true\"\npoints = 0\n",
            "data.0.points",
            "",
        ),
        (
            "[[data]]\nfile = \"a.csv\"\nnu = \"1\"\n",
            "data.0",
            "belong to a reference",
        ),
        ("[[data]]\npoints = 5\n", "data.0", "either file"),
        (
            "[[data]]\nreference = \"burgers\"\nnu = \"nu_x\"\npoints = 5\n",
            "data.0.nu",
            "unknown",
        ),
    ] {
        let (s, m) = config_error(&burgers(bad));
        assert!(s.starts_with(setting), "{s}: {m}");
        assert!(m.contains(want), "{s}: {m}");
    }
}

#[test]
fn collocation_points_are_drawn_afresh_every_k_steps_and_resume_exactly() {
    let fixed = PinnConfig::from_toml(&heat("", 40)).unwrap();
    let toml = heat("", 40).replace("seed = 1\n", "seed = 1\nresample_every = 10\n");
    let moving = PinnConfig::from_toml(&toml).unwrap();
    assert_eq!(moving.points.resample_every, 10);
    let run = |cfg: &PinnConfig| {
        let dir = tempfile::tempdir().unwrap();
        train(cfg, &quiet(), dir.path()).unwrap()
    };
    let (a, b) = (run(&fixed), run(&moving));
    let losses = |r: &nabla::pinn::TrainReport| -> Vec<f64> {
        r.history.iter().map(|h| h.loss.total).collect()
    };
    let (la, lb) = (losses(&a), losses(&b));
    // The first ten steps train on the same points; from step 10 on, on new ones.
    assert_eq!(la[..10], lb[..10]);
    assert_ne!(la[10], lb[10]);
    // The same again, and resumed at step 25 (inside the third set): the same network.
    assert_eq!(run(&moving).mlp, b.mlp);
    let dir = tempfile::tempdir().unwrap();
    let mut part = moving.clone();
    part.optimizer.iterations = 25;
    train(&part, &quiet(), dir.path()).unwrap();
    let resumed = train(&moving, &resuming(), dir.path()).unwrap();
    assert_eq!(resumed.mlp, b.mlp);
    // Only the equations' points are drawn anew; the conditions keep theirs.
    let e = moving.problem().unwrap();
    let eq = e.loss.equations().unwrap();
    let drawn = eq.resampled(1).unwrap();
    assert_ne!(drawn.loss.terms()[0].points(), eq.loss.terms()[0].points());
    assert_eq!(drawn.loss.terms()[1].points(), eq.loss.terms()[1].points());
}

#[test]
fn review_findings_stay_fixed() {
    // A definition using an input the expression does not name.
    let defs = heat("definitions = [[\"g\", \"sin(pi*x)\"]]", 5)
        .replace("values = { u = \"sin(pi*x)\" }", "values = { u = \"g\" }");
    PinnConfig::from_toml(&defs).unwrap().problem().unwrap();
    // A face left without points is an error, not a silently dropped condition.
    let one = heat("", 5).replace("points = 32", "points = 1");
    let (s, m) = config_error(&one);
    assert_eq!(s, "conditions.1.points", "{m}");
    // An unknown used only in a condition's values is used.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("d.csv"), "x,t,u\n0.5,0.5,0.1\n").unwrap();
    let in_values = heat("", 5)
        .replace(
            "values = { u = \"sin(pi*x)\" }",
            "values = { u = \"a*sin(pi*x)\" }",
        )
        .replace(
            "[network]",
            "[unknowns]\na = 1.0\n[[data]]\nfile = \"d.csv\"\n[network]",
        );
    let mut cfg = PinnConfig::from_toml(&in_values).unwrap();
    cfg.dir = dir.path().to_path_buf();
    cfg.problem().unwrap();
    // After an L-BFGS phase, a resume keeps its state on disk, and more Adam steps are
    // refused.
    let with = format!("{}\n[lbfgs]\nsteps = 5\n", heat("", 20));
    let cfg = PinnConfig::from_toml(&with).unwrap();
    let out = tempfile::tempdir().unwrap();
    train(&cfg, &quiet(), out.path()).unwrap();
    let resume = resuming();
    train(&cfg, &resume, out.path()).unwrap();
    let c = nabla::pinn::Checkpoint::load(&out.path().join("checkpoint.json")).unwrap();
    assert!(c.lbfgs.is_some());
    let mut more = cfg.clone();
    more.optimizer.iterations = 30;
    let e = train(&more, &resume, out.path()).unwrap_err().to_string();
    assert!(e.contains("cannot resume") && e.contains("L-BFGS"), "{e}");
    // A changed L-BFGS memory is named on resume; more steps are not.
    let mut memory = cfg.clone();
    memory.lbfgs.as_mut().unwrap().memory = 20;
    let e = train(&memory, &resume, out.path()).unwrap_err().to_string();
    assert!(e.contains("lbfgs.memory"), "{e}");
    let mut steps = cfg.clone();
    steps.lbfgs.as_mut().unwrap().steps = 8;
    train(&steps, &resume, out.path()).unwrap();
}

#[test]
fn a_residual_of_the_wrong_shape_is_an_error() {
    use nabla::pinn::{Activation, FnResidual, Loss, Mlp, Term};
    let row = FnResidual::new(vec![], |at| {
        let o = at.outputs[0];
        Ok(vec![o.tape().stack(&[o, o])])
    });
    let pts = vec![vec![0.1, 0.2, 0.3], vec![0.0, 0.5, 1.0]];
    let loss = Loss::new(2, 1, vec![Term::new("row", pts, row).unwrap()]).unwrap();
    let net = Mlp::new(2, &[4], 1, Activation::Tanh, 1).unwrap();
    let e = loss.value(&net, &[]).unwrap_err().to_string();
    assert!(e.contains("shape"), "{e}");
}
