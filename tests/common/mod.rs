//! Helpers shared by the test crates (`it`, and `mpi` with the feature `mpi`): temporary
//! copies of the shipped cases, the binary run on them, and VTK's own readers from Python.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The shipped case `name`.
pub(crate) fn case_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("cases")
        .join(name)
}

/// A temporary copy of a shipped case (without any VTK output), in a folder of the same
/// name, so that output files get the case's name.
pub(crate) struct CaseCopy {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
}

impl CaseCopy {
    pub(crate) fn path(&self) -> &Path {
        &self.dir
    }
}

pub(crate) fn copy_case(name: &str) -> CaseCopy {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(name);
    std::fs::create_dir(&dir).unwrap();
    for entry in std::fs::read_dir(case_dir(name)).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), dir.join(entry.file_name())).unwrap();
        }
    }
    CaseCopy { _tmp: tmp, dir }
}

/// The release binary on the case `dir`, quiet, with `extra` arguments.
pub(crate) fn nabla(dir: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nabla"))
        .arg(dir)
        .arg("--quiet")
        .args(extra)
        .output()
        .expect("the binary runs")
}

pub(crate) fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub(crate) fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs the Python script `tests/<script>` with `args` and returns its output; `None`
/// (after a notice) when python3 or its vtk module is missing (the script exits with 2
/// then), unless CI=true, where that fails the test. `what` names the check in messages.
pub(crate) fn run_vtk_python(
    script: &str,
    args: &[&std::ffi::OsStr],
    what: &str,
) -> Option<std::process::Output> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(script);
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let missing = |why: String| {
        assert!(
            !ci,
            "CI=true but {what} cannot run: {why}. Install it with `pip install vtk numpy`."
        );
        eprintln!("notice: skipping {what}: {why}");
        None
    };
    let output = match std::process::Command::new("python3")
        .arg(&path)
        .args(args)
        .output()
    {
        Ok(o) => o,
        Err(e) => return missing(format!("python3 does not run ({e})")),
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    if output.status.code() == Some(2) {
        return missing(stderr.trim().to_string());
    }
    assert!(
        output.status.success(),
        "{script} failed: {}\n{stderr}",
        output.status
    );
    Some(output)
}

/// A temporary case folder named `name` holding only `case_toml`.
pub(crate) fn case_named(name: &str, case_toml: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(name);
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("case.toml"), case_toml).unwrap();
    (tmp, dir)
}
