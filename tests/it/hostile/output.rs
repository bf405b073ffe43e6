//! Categories 1 (earlier results lost), 2 (writing outside the case) and 9 (silently wrong
//! resumes): the output set of a run is staged inside the case and switched into place in
//! one step, so a failure or a `kill -9` at any moment leaves the earlier results
//! byte-identical; nothing is written through a symlink; a resume with other settings is
//! refused.

use std::path::Path;
use std::time::Instant;

use rand::{Rng, SeedableRng};

use super::{Snapshot, assert_rejected, case_with, nabla_timed, snapshot};

/// A run that must succeed.
fn ok(dir: &Path, args: &[&str]) -> String {
    let out = nabla_timed(dir, args, 120);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "nabla failed:\n{err}");
    assert!(!err.contains("panicked"), "{err}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The entries of the case directory (not recursive) other than `case.toml` and `VTK`,
/// and the hidden entries of `VTK/`: what a run must never leave behind.
fn strays(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        if name != "case.toml" && name != "VTK" {
            out.push(name);
        }
    }
    if let Ok(rd) = std::fs::read_dir(dir.join("VTK")) {
        for e in rd {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                out.push(format!("VTK/{name}"));
            }
        }
    }
    out.sort();
    out
}

/// The physics-informed Poisson case of `cases/`, with `iterations` steps.
fn pinn_case(iterations: usize) -> tempfile::TempDir {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/cases/pinn_poisson/case.toml"
    ))
    .unwrap();
    let text = text.replace("iterations = 6000", &format!("iterations = {iterations}"));
    case_with(&text)
}

/// Replaces `from` by `to` in the case's `case.toml`.
fn edit(dir: &Path, from: &str, to: &str) {
    let path = dir.join("case.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{from} not in case.toml");
    std::fs::write(&path, text.replace(from, to)).unwrap();
}

/// A series of `times` times on a `n`³ lattice, whose values depend on `version`.
fn series(n: usize, times: usize, version: usize) -> String {
    let times: Vec<String> = (0..times).map(|t| t.to_string()).collect();
    format!(
        "times = [{}]\n[points]\nkind = \"lattice\"\ncounts = [{n}, {n}, {n}]\n\
         bounds = [[0, 1], [0, 1], [0, 1]]\n[[field]]\nname = \"f\"\n\
         value = \"sin(x*y + t) + {version}\"\noperators = [\"grad\", \"lap\"]\n\
         [output]\nname = \"f\"\n",
        times.join(", ")
    )
}

#[test]
fn kill_9_at_random_moments_leaves_the_earlier_results_or_the_complete_new_ones() {
    const KILLS: usize = 12;
    let tmp = case_with(&series(40, 12, 0));
    let dir = tmp.path();
    let t0 = Instant::now();
    ok(dir, &[]);
    let mut full = t0.elapsed();
    // A file of the user's, which every run must keep.
    std::fs::write(dir.join("VTK/notes.txt"), "mine").unwrap();
    let mut before = snapshot(dir);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(8);
    let (mut kept, mut switched, mut in_staging) = (0, 0, 0);
    let mut moments = Vec::new();
    for k in 1..=KILLS {
        std::fs::write(dir.join("case.toml"), series(40, 12, k)).unwrap();
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_nabla"))
            .arg(dir)
            .arg("--quiet")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let at = full.mul_f64(rng.random_range(0.0..1.1));
        std::thread::sleep(at);
        child.kill().unwrap(); // SIGKILL
        let status = child.wait().unwrap();
        moments.push(at.as_millis());
        let after = snapshot(dir);
        let staging = strays(dir).iter().any(|s| s.starts_with(".nabla-staging-"));
        in_staging += usize::from(staging);
        let vtk = |s: &Snapshot| -> Snapshot {
            s.iter()
                .filter(|(p, _)| p.starts_with("VTK"))
                .map(|(p, v)| (p.clone(), v.clone()))
                .collect()
        };
        let old = vtk(&after) == vtk(&before);
        // The next run completes, and leaves no stray file. Its time scales the next kill.
        let t0 = Instant::now();
        ok(dir, &[]);
        full = t0.elapsed();
        assert_eq!(
            strays(dir),
            Vec::<String>::new(),
            "after kill {k} at {at:?}"
        );
        let now = snapshot(dir);
        assert_eq!(
            now.get(Path::new("VTK/notes.txt")),
            before.get(Path::new("VTK/notes.txt"))
        );
        if old {
            kept += 1;
        } else {
            // Killed after the switch (or it finished): the complete new set, exactly as
            // the completed run writes it; never a mixture.
            assert_eq!(
                vtk(&after),
                vtk(&now),
                "kill {k} at {at:?} ({status}) left VTK/ neither as before nor as the new run \
                 writes it"
            );
            switched += 1;
        }
        before = now;
    }
    eprintln!(
        "kill test: a full run takes {full:?} (the last); {KILLS} kills at {moments:?} ms: {kept} left \
         the earlier results, {switched} the new ones, {in_staging} with a staging folder"
    );
    assert!(kept >= 2, "too few kills before the switch: {kept}");
}

#[test]
fn a_failure_while_switching_keeps_every_earlier_file() {
    let tmp = case_with(&series(4, 3, 0));
    let dir = tmp.path();
    ok(dir, &[]);
    // The next run has a fourth time, whose name a folder takes: it fails only at the
    // very end, after writing every other file. The old code had renamed f_0..f_2 over
    // the earlier ones by then and removed them in its clean-up.
    std::fs::write(dir.join("case.toml"), series(4, 4, 1)).unwrap();
    std::fs::create_dir(dir.join("VTK/f_3.vti")).unwrap();
    std::fs::write(dir.join("VTK/f_3.vti/inside"), "x").unwrap();
    assert_rejected(dir, &[], &["f_3.vti", "folder"]);
    assert_eq!(strays(dir), Vec::<String>::new());
}

#[test]
fn what_killed_runs_left_is_removed_at_the_next_start() {
    let tmp = case_with(&series(4, 2, 0));
    let dir = tmp.path();
    ok(dir, &[]);
    // A staging folder of a killed run, with a big file in it; the temporary files older
    // versions left in VTK/; a symlink among them (removed, not followed).
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("target"), "keep me").unwrap();
    let stale = dir.join(".nabla-staging-0123456789abcdef");
    std::fs::create_dir(&stale).unwrap();
    std::fs::write(stale.join("f_0.vti"), vec![b'x'; 1 << 20]).unwrap();
    std::fs::write(dir.join("VTK/.nabla-Xy12Zq.tmp"), "half").unwrap();
    std::fs::write(dir.join("VTK/.f_1.vti.partial.vti"), "half").unwrap();
    std::fs::write(dir.join("VTK/.loss.png.tmp.png"), "half").unwrap();
    std::os::unix::fs::symlink(
        outside.path().join("target"),
        dir.join("VTK/.f_0.vti.partial.vti"),
    )
    .unwrap();
    ok(dir, &[]);
    assert_eq!(strays(dir), Vec::<String>::new());
    assert_eq!(
        std::fs::read_to_string(outside.path().join("target")).unwrap(),
        "keep me"
    );

    // A kill between the two renames of a switch without RENAME_EXCHANGE: VTK/ is gone,
    // the previous one waits under its hidden name and is put back.
    let before = snapshot(&dir.join("VTK"));
    std::fs::rename(
        dir.join("VTK"),
        dir.join(".nabla-previous-00000000000000aa"),
    )
    .unwrap();
    std::fs::create_dir(dir.join(".nabla-staging-00000000000000bb")).unwrap();
    // A run rejected before it starts changes nothing…
    edit(dir, "name = \"f\"\nvalue", "name = \"f\"\nvalu");
    assert_rejected(dir, &[], &["case.toml"]);
    edit(dir, "name = \"f\"\nvalu", "name = \"f\"\nvalue");
    // …and the next run restores the previous folder before writing.
    ok(dir, &[]);
    assert_eq!(strays(dir), Vec::<String>::new());
    assert_eq!(snapshot(&dir.join("VTK")), before);
}

#[test]
fn symlinks_planted_in_vtk_are_replaced_or_kept_never_followed() {
    let tmp = case_with(&series(4, 2, 0));
    let dir = tmp.path();
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().join("precious");
    std::fs::write(&target, "precious").unwrap();
    std::fs::create_dir(dir.join("VTK")).unwrap();
    // Under an output name, under temporary names of older versions, and a link of the
    // user's that has nothing to do with the run.
    for name in [
        "f_0.vti",
        "f.pvd",
        ".f_1.vti.partial.vti",
        ".loss.png.tmp.png",
        "mine",
    ] {
        std::os::unix::fs::symlink(&target, dir.join("VTK").join(name)).unwrap();
    }
    ok(dir, &[]);
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "precious");
    for name in ["f_0.vti", "f_1.vti", "f.pvd"] {
        let m = std::fs::symlink_metadata(dir.join("VTK").join(name)).unwrap();
        assert!(m.is_file(), "{name} is not a plain file");
    }
    // The folder keeps its permissions across the switch.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.join("VTK"), std::fs::Permissions::from_mode(0o750)).unwrap();
    ok(dir, &[]);
    let mode = std::fs::metadata(dir.join("VTK"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o750);
    let mine = std::fs::read_link(dir.join("VTK/mine")).unwrap();
    assert_eq!(mine, target, "the user's own link is kept as it was");
    assert_eq!(strays(dir), Vec::<String>::new());
}

#[test]
fn the_loss_plot_is_not_written_through_a_planted_temporary_name() {
    // The old plot_history drew into `.loss.png.tmp.png`, following a symlink there.
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().join("precious");
    std::fs::write(&target, "precious").unwrap();
    std::os::unix::fs::symlink(&target, dir.path().join(".loss.png.tmp.png")).unwrap();
    let history: Vec<nabla::pinn::LossRecord> = (0..5)
        .map(|k| nabla::pinn::LossRecord {
            iteration: k,
            learning_rate: 1e-3,
            loss: nabla::pinn::LossTerms {
                total: 1.0 / (k + 1) as f64,
                pde: 0.5,
                continuity: 0.0,
                boundary: 0.5,
            },
            seconds: 0.0,
            unknowns: Vec::new(),
        })
        .collect();
    let (png, svg) = (dir.path().join("loss.png"), dir.path().join("loss.svg"));
    nabla::pinn::plot_history(&history, "planted", &png, &svg).unwrap();
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "precious");
    let png = std::fs::read(dir.path().join("loss.png")).unwrap();
    assert_eq!(&png[1..4], b"PNG");
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 3, "{names:?}"); // the PNG, the SVG and the planted link
}

#[test]
fn a_vtk_folder_that_is_a_symlink_is_refused() {
    let tmp = case_with(super::SMALL_CASE);
    let dir = tmp.path();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("old.vti"), "old").unwrap();
    std::os::unix::fs::symlink(outside.path(), dir.join("VTK")).unwrap();
    let before = snapshot(outside.path());
    assert_rejected(dir, &[], &["VTK", "symbolic link"]);
    assert_eq!(
        snapshot(outside.path()),
        before,
        "nothing written through the link"
    );
    // A dangling link and a file named VTK are refused too.
    std::fs::remove_file(dir.join("VTK")).unwrap();
    std::os::unix::fs::symlink(outside.path().join("nowhere"), dir.join("VTK")).unwrap();
    assert_rejected(dir, &[], &["VTK", "symbolic link"]);
    assert!(!outside.path().join("nowhere").exists());
    std::fs::remove_file(dir.join("VTK")).unwrap();
    std::fs::write(dir.join("VTK"), "a file").unwrap();
    assert_rejected(
        dir,
        &[],
        &["VTK", "not a folder", "cannot create the output folder"],
    );
}

#[test]
fn a_second_run_on_a_case_being_written_stops() {
    let tmp = case_with(super::SMALL_CASE);
    let dir = tmp.path();
    ok(dir, &[]);
    let lock = std::fs::File::open(dir).unwrap();
    lock.lock().unwrap();
    assert_rejected(dir, &[], &["another nabla run"]);
    lock.unlock().unwrap();
    ok(dir, &[]);
}

#[test]
fn a_diverged_training_keeps_the_last_good_checkpoint_history_and_plot() {
    let tmp = pinn_case(5);
    let dir = tmp.path();
    ok(dir, &[]);
    // A learning rate that makes the network blow up after the first step; checkpoints
    // every step. The old code saved the diverged network over the good checkpoint and
    // left loss.csv and loss.png of the earlier run beside it.
    edit(
        dir,
        "learning_rate = 5e-3\niterations = 5",
        "learning_rate = 1e200\niterations = 3\ncheckpoint_every = 1",
    );
    assert_rejected(dir, &[], &["loss became"]);
    // --evaluate-only still evaluates the good network.
    let out = ok(dir, &["--evaluate-only"]);
    assert!(out.contains("no training"), "{out}");
}

#[test]
fn evaluate_only_refuses_a_diverged_checkpoint() {
    let tmp = pinn_case(3);
    let dir = tmp.path();
    ok(dir, &[]);
    // Weights of 1e200: finite in the file, but the network's Laplacian overflows.
    let path = dir.join("VTK/checkpoint.json");
    let mut ck: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    for layer in ck["mlp"]["layers"].as_array_mut().unwrap() {
        for w in layer["weights"].as_array_mut().unwrap() {
            *w = serde_json::json!(w.as_f64().unwrap() * 1e200);
        }
    }
    std::fs::write(&path, serde_json::to_string(&ck).unwrap()).unwrap();
    assert_rejected(dir, &["--evaluate-only"], &["checkpoint.json", "diverged"]);
}

#[test]
fn resume_refuses_a_changed_network_or_settings_and_says_what_differs() {
    let tmp = pinn_case(3);
    let dir = tmp.path();
    ok(dir, &[]);
    edit(dir, "iterations = 3", "iterations = 5");
    // 2 → 236 → 2 → 1 has the 1185 parameters of 2 → 32 → 32 → 1: the old code, which
    // compared the parameter count, resumed the old network.
    edit(dir, "hidden = [32, 32]", "hidden = [236, 2]");
    assert_rejected(
        dir,
        &["--resume"],
        &["cannot resume", "network.hidden", "[32,32]", "[236,2]"],
    );
    edit(dir, "hidden = [236, 2]", "hidden = [32, 32]");
    edit(dir, "learning_rate = 5e-3", "learning_rate = 1e-2");
    assert_rejected(
        dir,
        &["--resume"],
        &["optimizer.learning_rate", "0.005", "0.01"],
    );
    edit(dir, "learning_rate = 1e-2", "learning_rate = 5e-3");
    edit(dir, "source = \"2*pi^2*", "source = \"3*pi^2*");
    edit(dir, "seed = 2", "seed = 3");
    assert_rejected(dir, &["--resume"], &["pde.source", "points.seed"]);
    edit(dir, "source = \"3*pi^2*", "source = \"2*pi^2*");
    edit(dir, "seed = 3", "seed = 2");
    // The number of iterations may change: that is what a resume is for.
    let out = ok(dir, &["--resume"]);
    assert!(out.contains("trained"), "{out}");
    let csv = std::fs::read_to_string(dir.join("VTK/loss.csv")).unwrap();
    assert_eq!(csv.lines().count(), 6);
}

/// A disk that fills up while a file is written (here the file-size limit, `ulimit -f`,
/// with `SIGXFSZ` ignored, so that the write fails as on a full disk): the run stops with
/// the file's name and the system's reason, and leaves the earlier results byte-identical
/// and no temporary file. The limit falls inside an array large enough to be written in
/// batches while its next batch is encoded.
#[test]
fn a_full_disk_while_writing_keeps_the_earlier_results() {
    let case = |version: usize| {
        format!(
            "[points]\nkind = \"lattice\"\ncounts = [60, 60, 60]\nbounds = [[0, 1], [0, 1], [0, 1]]\n\
             [[field]]\nname = \"f\"\nvalue = \"sin(x*y) + {version}\"\noperators = [\"grad\"]\n\
             [output]\nname = \"f\"\n"
        )
    };
    let tmp = case_with(&case(0));
    let dir = tmp.path();
    ok(dir, &[]);
    let before = snapshot(dir);
    let size = std::fs::metadata(dir.join("VTK/f.vti")).unwrap().len();
    // grad(f): 216 000 × 3 values, 5.2 MB of bytes, 6.9 MB of text.
    assert!(size > 8_000_000, "{size}");
    std::fs::write(dir.join("case.toml"), case(1)).unwrap();
    let out = std::process::Command::new("bash")
        .args(["-c", "trap '' XFSZ; ulimit -f 5000; exec \"$0\" \"$@\""])
        .arg(env!("CARGO_BIN_EXE_nabla"))
        .arg(dir)
        .arg("--quiet")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        err.contains("f.vti") && err.contains("cannot write") && err.contains("too large"),
        "{err}"
    );
    std::fs::write(dir.join("case.toml"), case(0)).unwrap();
    assert_eq!(snapshot(dir), before);
    assert_eq!(strays(dir), Vec::<String>::new());
}
