//! Hostile input, as an attacker would try it: every case asserts the exit status, the
//! message (file, line and column where they apply), that nothing panicked, and that the
//! case directory is byte-identical afterwards (every file hashed, symlinks and folders
//! included).
//!
//! One submodule per category of the hardening work; the helpers below are shared.

#![allow(dead_code)]

mod fuzz;
mod input;
mod library;
mod output;
mod resources;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// What is on disk under `dir`: each path (relative) with its kind and, for files, the
/// bytes; for symlinks, the target.
pub(crate) type Snapshot = BTreeMap<PathBuf, String>;

/// Snapshot of `dir`, recursively; symlinks are recorded, not followed.
pub(crate) fn snapshot(dir: &Path) -> Snapshot {
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn walk(root: &Path, dir: &Path, out: &mut Snapshot) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in rd {
        let entry = entry.unwrap();
        let path = entry.path();
        let rel = path.strip_prefix(root).unwrap().to_path_buf();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        let ft = meta.file_type();
        if ft.is_symlink() {
            let target = std::fs::read_link(&path).unwrap();
            out.insert(rel, format!("symlink -> {}", target.display()));
        } else if ft.is_dir() {
            out.insert(rel, "dir".into());
            walk(root, &path, out);
        } else if ft.is_file() {
            let bytes = std::fs::read(&path).unwrap();
            out.insert(
                rel,
                format!("file {} bytes, hash {:016x}", bytes.len(), fnv(&bytes)),
            );
        } else {
            out.insert(rel, "special".into());
        }
    }
}

/// FNV-1a, 64 bits: enough to tell files apart in a test.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    })
}

/// Runs the real binary on `dir` with `args` (and `--quiet`), with a time limit of
/// `seconds`: a hang is a failure, not a stuck test.
pub(crate) fn nabla_timed(dir: &Path, args: &[&str], seconds: u64) -> Output {
    nabla_env(dir, args, &[], seconds)
}

/// [`nabla_timed`] with extra environment variables.
pub(crate) fn nabla_env(dir: &Path, args: &[&str], env: &[(&str, &str)], seconds: u64) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_nabla"));
    cmd.arg(dir)
        .arg("--quiet")
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("the binary runs");
    let start = std::time::Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if start.elapsed().as_secs() >= seconds {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "nabla {} {args:?} with {env:?} did not finish within {seconds} s (a hang); \
                 stderr:\n{}",
                dir.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Runs a hostile case: exit status 1, one `error: ` message containing every needle, no
/// panic text, and `dir` byte-identical to before. Returns the message.
pub(crate) fn assert_rejected(dir: &Path, args: &[&str], needles: &[&str]) -> String {
    let before = snapshot(dir);
    let out = nabla_timed(dir, args, 60);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(1),
        "expected exit status 1; stdout:\n{}\nstderr:\n{err}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(err.starts_with("error: "), "{err}");
    assert!(!err.contains("panicked"), "panic text on stderr:\n{err}");
    assert!(
        !err.contains("RUST_BACKTRACE"),
        "backtrace hint on stderr:\n{err}"
    );
    for n in needles {
        assert!(err.contains(n), "expected {n:?} in:\n{err}");
    }
    assert_eq!(snapshot(dir), before, "the case directory changed:\n{err}");
    err
}

/// A temporary case directory holding `case.toml` with `text`.
pub(crate) fn case_with(text: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("case.toml"), text).unwrap();
    tmp
}

/// A small valid case: 27 lattice points, one field with two operators.
pub(crate) const SMALL_CASE: &str = "[points]\nkind = \"lattice\"\ncounts = [3, 3, 3]\n\
bounds = [[0, 1], [0, 1], [0, 1]]\n\n[[field]]\nname = \"f\"\nvalue = \"x*y\"\n\
operators = [\"grad\", \"lap\"]\n";
