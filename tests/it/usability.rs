//! The small things a new user meets first: the command line takes a case file as well
//! as its folder, a line of points, a case with nothing to compute, the summary's time
//! column, and the README's first commands.

use std::path::Path;
use std::process::Command;

use nabla::case::{RunOptions, run};

use crate::cases::{nabla, stderr};
pub(crate) use crate::common::case_named;
use crate::io::vtkio_point_arrays;

const LINE: &str = "[points]\nkind = \"lattice\"\ncounts = [11, 1]\nbounds = [[0, 1], [0, 0]]\n\n\
                    [[field]]\nname = \"f\"\nvalue = \"x^3\"\noperators = [\"grad\", \"lap\"]\n\n\
                    [field.exact]\nlap = \"6*x\"\n";

#[test]
fn the_path_of_case_toml_runs_like_its_folder() {
    let (_tmp, dir) = case_named("line", LINE);
    let out = nabla(&dir.join("case.toml"), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    // The output goes to the case folder, named after it, as for the folder itself.
    assert!(dir.join("VTK").join("line.vti").is_file());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("case line:"), "{stdout}");
    // A relative path to a case file in the current folder works too.
    let out = Command::new(env!("CARGO_BIN_EXE_nabla"))
        .current_dir(&dir)
        .args(["case.toml", "--quiet"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("case line:"));
}

#[test]
fn a_one_axis_lattice_says_how_to_write_a_line_of_points() {
    let (_tmp, dir) = case_named(
        "one",
        "[points]\nkind = \"lattice\"\ncounts = [11]\nbounds = [[0, 1]]\n\n\
         [[field]]\nname = \"f\"\nvalue = \"x\"\n",
    );
    let out = nabla(&dir, &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("case.toml:3:10"), "{err}");
    assert!(err.contains("expected 2 or 3 axes, got 1"), "{err}");
    assert!(err.contains("counts = [N, 1]"), "{err}");
    assert!(!dir.join("VTK").exists());
}

#[test]
fn a_line_of_points_is_a_lattice_with_one_point_across() {
    // What the message of a 1-axis lattice says to write: 11 points on [0, 1] × {0}.
    let (_tmp, dir) = case_named("line", LINE);
    let out = nabla(&dir, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let arrays = vtkio_point_arrays(&dir.join("VTK").join("line.vti"));
    let get = |n: &str| arrays.iter().find(|a| a.0 == n).unwrap().clone();
    let (f, (_, c, grad), lap) = (get("f").2, get("grad(f)"), get("lap(f)").2);
    assert_eq!(f.len(), 11);
    for i in 0..11 {
        let x = i as f64 * 0.1;
        // f = x³, ∂f/∂x = 3x², ∂f/∂y = 0, ∇²f = 6x.
        assert_eq!(f[i], x.powi(3));
        assert_eq!(grad[c * i], 3.0 * x.powi(2));
        assert_eq!(grad[c * i + 1], 0.0);
        assert_eq!(lap[i], 6.0 * x);
    }
}

#[test]
fn a_case_with_no_fields_is_an_error_not_an_empty_file() {
    let (_tmp, dir) = case_named(
        "empty",
        "[points]\nkind = \"lattice\"\ncounts = [4, 4]\nbounds = [[0, 1], [0, 1]]\n",
    );
    let out = nabla(&dir, &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("case.toml"), "{err}");
    assert!(err.contains("nothing to compute"), "{err}");
    assert!(err.contains("[[field]]"), "{err}");
    assert!(
        !dir.join("VTK").exists(),
        "no output for a case without fields"
    );
}

#[test]
fn every_summary_row_reports_its_own_time() {
    // Two fields of very different costs. A field's operators share their derivative
    // passes, so the field is timed once, on its first row, and its other rows say they
    // are included there — no number is repeated on rows it was not measured for.
    let (_tmp, dir) = case_named(
        "timed",
        "[points]\nkind = \"random\"\ncount = 20000\nbounds = [[0, 1], [0, 1], [0, 1]]\n\n\
         [[field]]\nname = \"f\"\nvalue = \"sin(x*y)*exp(z)\"\n\
         operators = [\"grad\", \"lap\", \"hessian\"]\n\n\
         [[field]]\nname = \"g\"\nvalue = \"x*y\"\noperators = [\"grad\"]\n",
    );
    let opts = RunOptions {
        quiet: true,
        ..RunOptions::default()
    };
    let summary = run(&dir, &opts).unwrap();
    let names: Vec<&str> = summary.rows.iter().map(|r| r.array.as_str()).collect();
    assert_eq!(
        names,
        ["f", "grad(f)", "lap(f)", "hessian(f)", "g", "grad(g)"]
    );
    let secs: Vec<Option<f64>> = summary.rows.iter().map(|r| r.seconds).collect();
    let (f, g) = (secs[0].unwrap(), secs[4].unwrap());
    assert!(f > 0.0 && g > 0.0 && f != g, "{secs:?}");
    assert!([1, 2, 3, 5].iter().all(|&i| secs[i].is_none()), "{secs:?}");
    // The run's wall time covers every field's time.
    assert!(f + g <= summary.seconds, "{secs:?}");
    let table = summary.to_string();
    assert!(table.contains("share their derivative passes"), "{table}");
}

#[test]
fn readme_starts_with_the_two_commands_and_says_how_to_install() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let mut lines = readme.lines();
    assert_eq!(lines.next(), Some("# nabla"));
    assert_eq!(lines.next(), Some(""));
    assert_eq!(lines.next(), Some("```sh"));
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("cargo run --release -- cases/taylor_green")
    );
    assert!(lines.next().unwrap().starts_with("cargo test --release"));
    assert!(readme.contains("cargo install --path ."), "no install line");
    assert!(
        readme
            .lines()
            .any(|l| l.trim_start().starts_with("nabla cases/")),
        "no `nabla cases/NAME` line"
    );
}
