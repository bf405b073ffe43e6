//! MPI ranks (feature `mpi`): the real binary under `mpirun -np N` on temporary copies of
//! cases; the pieces merged by VTK's own parallel readers (`tests/vtk_pieces.py`) must hold
//! the plain run's values bit for bit, and a rank that fails must leave the earlier
//! results as they were. `mpirun` runs with `--allow-run-as-root --oversubscribe`, as CI
//! runs as root on two cores.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::cases::{CaseCopy, copy_case, nabla, stderr, stdout};
use crate::io::run_vtk_python;
use crate::usability::case_named;

/// Runs the binary on `dir` under `mpirun -np ranks`, with `env` set; `None` (after a
/// notice) when `mpirun` is missing, unless CI=true, where that fails the test.
fn mpirun(ranks: usize, dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Option<Output> {
    let mut cmd = Command::new("mpirun");
    cmd.args(["--allow-run-as-root", "--oversubscribe", "-np"])
        .arg(ranks.to_string())
        .arg(env!("CARGO_BIN_EXE_nabla"))
        .arg(dir)
        .arg("--quiet")
        .args(extra)
        .envs(env.iter().copied());
    match cmd.output() {
        Ok(o) => Some(o),
        Err(e) => {
            let ci = std::env::var("CI").is_ok_and(|v| v == "true");
            assert!(!ci, "CI=true but mpirun does not run: {e}");
            eprintln!("notice: skipping an MPI test: mpirun does not run ({e})");
            None
        }
    }
}

/// Every file under `dir` (recursively) with its bytes, sorted by path.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let bytes = std::fs::read(&p).unwrap();
                out.push((p, bytes));
            }
        }
    }
    out.sort();
    out
}

/// The rows of a summary table: array, components, max error and RMS error.
fn table(out: &Output) -> Vec<String> {
    stdout(out)
        .lines()
        .filter(|l| l.split_whitespace().count() == 6 && !l.starts_with("array"))
        .map(|l| l.split_whitespace().take(4).collect::<Vec<_>>().join(" "))
        .collect()
}

/// Asserts that VTK's reader of `parallel` merges its pieces into exactly `single`.
fn assert_same_data(single: &Path, parallel: &Path) {
    let args = [single.as_os_str(), parallel.as_os_str()];
    if let Some(o) = run_vtk_python("vtk_pieces.py", &args, "the VTK pieces check") {
        let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert!(json["arrays"].as_u64().unwrap() > 0, "{json}");
    }
}

#[test]
fn taylor_green_on_1_2_and_3_ranks_equals_the_plain_run() {
    let plain = copy_case("taylor_green");
    let out = nabla(plain.path(), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let vtk = plain.path().join("VTK");
    for ranks in [1, 2, 3] {
        let case = copy_case("taylor_green");
        let Some(o) = mpirun(ranks, case.path(), &[], &[]) else {
            return;
        };
        assert!(o.status.success(), "{ranks} ranks: {}", stderr(&o));
        // Rank 0 alone prints the summary, with the errors of all points.
        assert_eq!(stdout(&o).matches("case taylor_green:").count(), 1);
        assert_eq!(table(&o), table(&out), "{ranks} ranks");
        let got = case.path().join("VTK");
        for k in 0..3 {
            let single = vtk.join(format!("taylor_green_{k}.vti"));
            if ranks == 1 {
                // One rank writes the plain files, byte for byte.
                let other = got.join(format!("taylor_green_{k}.vti"));
                assert_eq!(
                    std::fs::read(&single).unwrap(),
                    std::fs::read(&other).unwrap()
                );
                continue;
            }
            for r in 0..ranks {
                assert!(got.join(format!("taylor_green_{k}_{r}.vti")).is_file());
            }
            assert_same_data(&single, &got.join(format!("taylor_green_{k}.pvti")));
        }
        let pvd = std::fs::read_to_string(got.join("taylor_green.pvd")).unwrap();
        let listed = if ranks == 1 { ".vti\"" } else { ".pvti\"" };
        assert_eq!(pvd.matches(listed).count(), 3, "{pvd}");
    }
}

/// A random cloud whose points do not fill the last chunk, over 3 ranks in chunks of 100.
const CLOUD: &str = "[points]\nkind = \"random\"\ncount = 1234\nseed = 7\n\
                     bounds = [[0, 1], [0, 2], [-1, 1]]\n\n\
                     [[field]]\nname = \"f\"\nvalue = \"sin(x)*y^2 + z^3\"\n\
                     operators = [\"grad\", \"lap\", \"hessian\"]\n\n\
                     [field.exact]\nlap = \"-sin(x)*y^2 + 2*sin(x) + 6*z\"\n";

#[test]
fn a_cloud_on_3_ranks_equals_the_plain_run() {
    let (_a, plain) = case_named("cloud", CLOUD);
    let (_b, split) = case_named("cloud", CLOUD);
    let out = nabla(&plain, &["--chunk-size", "100"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let Some(o) = mpirun(3, &split, &["--chunk-size", "100"], &[]) else {
        return;
    };
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(table(&o), table(&out));
    assert_same_data(
        &plain.join("VTK").join("cloud.vtp"),
        &split.join("VTK").join("cloud.pvtp"),
    );
}

#[test]
fn a_failure_on_rank_1_leaves_the_previous_results_and_no_pieces() {
    let case = copy_case("taylor_green");
    let Some(o) = mpirun(2, case.path(), &[], &[]) else {
        return;
    };
    assert!(o.status.success(), "{}", stderr(&o));
    let before = snapshot(case.path());
    let Some(o) = mpirun(3, case.path(), &[], &[("NABLA_FAIL_RANK", "1")]) else {
        return;
    };
    assert!(!o.status.success());
    let err = stderr(&o);
    // Reported once, by the rank that failed, naming it.
    assert_eq!(err.matches("NABLA_FAIL_RANK").count(), 1, "{err}");
    assert!(err.contains("rank 1 of 3"), "{err}");
    assert!(stdout(&o).is_empty(), "{}", stdout(&o));
    // Byte-identical: no piece of the 3-rank run (taylor_green_0_2.vti would be new), no
    // staging folder.
    assert_eq!(snapshot(case.path()), before);
}

#[test]
fn a_case_the_ranks_cannot_share_is_refused_once_before_anything_is_written() {
    let case = copy_case("openfoam_cavity_data");
    let Some(o) = mpirun(2, case.path(), &[], &[]) else {
        return;
    };
    assert!(!o.status.success());
    let err = stderr(&o);
    assert_eq!(err.matches("not shared over ranks yet").count(), 1, "{err}");
    assert!(!case.path().join("VTK").exists());
}

/// `pinn_poisson` trained for 40 Adam steps only, with a checkpoint every 10 (saved by
/// rank 0 at points where the ranks agree): a few seconds.
fn short_pinn() -> CaseCopy {
    let case = copy_case("pinn_poisson");
    let toml = case.path().join("case.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    assert!(text.contains("iterations = 6000"), "{text}");
    let short = text.replace(
        "iterations = 6000",
        "iterations = 40\ncheckpoint_every = 10",
    );
    std::fs::write(&toml, short).unwrap();
    case
}

/// `text` without the numbers of its `"seconds":` keys and `seconds` CSV column: the only
/// values of a training's files that are each run's own (wall-clock times).
fn without_seconds(text: &str) -> String {
    if let Some(header) = text.lines().next()
        && header.ends_with(",seconds")
    {
        return text
            .lines()
            .map(|l| l.rsplit_once(',').map_or(l, |(a, _)| a))
            .collect::<Vec<_>>()
            .join("\n");
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("\"seconds\":") {
        let (head, tail) = rest.split_at(at + "\"seconds\":".len());
        out.push_str(head);
        rest = tail.trim_start_matches(|c: char| c.is_ascii_digit() || "+-.eE".contains(c));
    }
    out.push_str(rest);
    out
}

/// The summary's lines about the training's errors.
fn error_lines(out: &Output) -> Vec<String> {
    stdout(out)
        .lines()
        .filter(|l| l.contains("relative L2 error"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_training_on_1_2_and_3_ranks_equals_the_plain_run_bit_for_bit() {
    let plain = short_pinn();
    let out = nabla(plain.path(), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let vtk = plain.path().join("VTK");
    let read = |dir: &Path, f: &str| std::fs::read_to_string(dir.join(f)).unwrap();
    let (csv, ckpt) = (read(&vtk, "loss.csv"), read(&vtk, "checkpoint.json"));
    assert_eq!(csv.lines().count(), 41, "{csv}");
    assert!(without_seconds(&ckpt).len() < ckpt.len());
    assert_eq!(error_lines(&out).len(), 1, "{}", stdout(&out));
    for ranks in [1, 2, 3] {
        let case = short_pinn();
        let Some(o) = mpirun(ranks, case.path(), &[], &[]) else {
            return;
        };
        assert!(o.status.success(), "{ranks} ranks: {}", stderr(&o));
        assert_eq!(stdout(&o).matches("case pinn_poisson:").count(), 1);
        let got = case.path().join("VTK");
        // The same loss at every step, the same network and optimiser state.
        assert_eq!(
            without_seconds(&read(&got, "loss.csv")),
            without_seconds(&csv),
            "{ranks} ranks"
        );
        assert_eq!(
            without_seconds(&read(&got, "checkpoint.json")),
            without_seconds(&ckpt),
            "{ranks} ranks"
        );
        assert_eq!(error_lines(&o), error_lines(&out), "{ranks} ranks");
        assert_eq!(table(&o), table(&out), "{ranks} ranks");
        for f in ["loss.png", "loss.svg"] {
            assert!(got.join(f).is_file(), "{ranks} ranks: {f}");
        }
        let single = vtk.join("pinn_poisson.vti");
        if ranks == 1 {
            let other = got.join("pinn_poisson.vti");
            assert_eq!(
                std::fs::read(&single).unwrap(),
                std::fs::read(&other).unwrap()
            );
            continue;
        }
        for r in 0..ranks {
            assert!(got.join(format!("pinn_poisson_{r}.vti")).is_file());
        }
        assert_same_data(&single, &got.join("pinn_poisson.pvti"));
    }
}

#[test]
fn a_failure_on_rank_1_after_a_shared_training_writes_nothing() {
    let case = short_pinn();
    let Some(o) = mpirun(2, case.path(), &[], &[("NABLA_FAIL_RANK", "1")]) else {
        return;
    };
    assert!(!o.status.success());
    let err = stderr(&o);
    assert_eq!(err.matches("NABLA_FAIL_RANK").count(), 1, "{err}");
    assert!(err.contains("rank 1 of 2"), "{err}");
    // Neither rank 0's training files nor any piece: no VTK/, no staging folder.
    let left: Vec<_> = std::fs::read_dir(case.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left.len(), 2, "{left:?}");
}

#[test]
fn a_failure_on_rank_1_inside_a_shared_training_stops_every_rank() {
    let case = short_pinn();
    // Under `timeout`: a rank left waiting in a collective would hang the test otherwise.
    let run = Command::new("timeout")
        .args([
            "120",
            "mpirun",
            "--allow-run-as-root",
            "--oversubscribe",
            "-np",
            "3",
        ])
        .arg(env!("CARGO_BIN_EXE_nabla"))
        .arg(case.path())
        .arg("--quiet")
        .env("NABLA_FAIL_RANK_IN_TRAINING", "1")
        .output();
    let o = match run {
        Ok(o) => o,
        Err(e) => {
            let ci = std::env::var("CI").is_ok_and(|v| v == "true");
            assert!(!ci, "CI=true but timeout/mpirun does not run: {e}");
            eprintln!("notice: skipping an MPI test: timeout/mpirun does not run ({e})");
            return;
        }
    };
    assert_ne!(o.status.code(), Some(124), "the ranks hung: {}", stderr(&o));
    assert!(!o.status.success());
    let err = stderr(&o);
    assert_eq!(
        err.matches("NABLA_FAIL_RANK_IN_TRAINING").count(),
        1,
        "{err}"
    );
    assert!(err.contains("rank 1 of 3"), "{err}");
    assert!(stdout(&o).is_empty(), "{}", stdout(&o));
    let left = std::fs::read_dir(case.path()).unwrap().count();
    assert_eq!(left, 2, "only case.toml and README.md");
}
