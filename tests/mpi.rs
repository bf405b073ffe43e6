//! MPI ranks (feature `mpi`): the real binary under `mpirun -np N` on temporary copies of
//! cases; the pieces merged by VTK's own parallel readers (`tests/vtk_pieces.py`) must hold
//! the plain run's values bit for bit, and a rank that fails must leave the earlier
//! results as they were. `mpirun` runs with `--allow-run-as-root --oversubscribe`, as CI
//! runs as root on two cores.

// A test crate of its own, so that the MPI stage of CI builds only these tests with the
// feature, not every integration test again.
#![cfg(feature = "mpi")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

#[path = "common/mod.rs"]
mod common;

use common::{CaseCopy, case_named, copy_case, nabla, run_vtk_python, stderr, stdout};

/// Runs the binary on `dir` under `mpirun -np ranks`, with `env` set, and fails the test
/// if the ranks hang (5 minutes); `None` (after a notice) when `mpirun` is missing, unless
/// CI=true, where that fails the test.
fn mpirun(ranks: usize, dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Option<Output> {
    // Under `timeout`: a rank left waiting in a collective would hang the test otherwise.
    let mut cmd = Command::new("timeout");
    cmd.args([
        "300",
        "mpirun",
        "--allow-run-as-root",
        "--oversubscribe",
        "-np",
    ])
    .arg(ranks.to_string())
    .arg(env!("CARGO_BIN_EXE_nabla"))
    .arg(dir)
    .arg("--quiet")
    .args(extra)
    .envs(env.iter().copied());
    let out = match cmd.output() {
        Ok(o) => o,
        Err(e) => {
            let ci = std::env::var("CI").is_ok_and(|v| v == "true");
            assert!(!ci, "CI=true but timeout/mpirun does not run: {e}");
            eprintln!("notice: skipping an MPI test: timeout/mpirun does not run ({e})");
            return None;
        }
    };
    assert_ne!(
        out.status.code(),
        Some(124),
        "the ranks hung: {}",
        stderr(&out)
    );
    Some(out)
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

/// The lattice `NAME.vti` written on `ranks` ranks in `got` against the plain run's in
/// `plain`: one rank writes the plain file, byte for byte; more write a piece per rank and a
/// `.pvti` holding the plain run's values.
fn lattice_as_plain(plain: &Path, got: &Path, name: &str, ranks: usize) {
    let single = plain.join(format!("{name}.vti"));
    if ranks == 1 {
        assert_eq!(
            std::fs::read(&single).unwrap(),
            std::fs::read(got.join(format!("{name}.vti"))).unwrap()
        );
        return;
    }
    for r in 0..ranks {
        assert!(got.join(format!("{name}_{r}.vti")).is_file());
    }
    assert_same_data(&single, &got.join(format!("{name}.pvti")));
}

/// Runs the binary on `dir` over `ranks` with `args` and `env`, which must fail: the
/// error printed once (`once` appears once on stderr), by the rank `by` names ("rank 1
/// of 3"), nothing on stdout, and every file under `dir` as it was. Returns stderr;
/// `None` when mpirun is missing (outside CI).
fn fails_once(
    ranks: usize,
    dir: &Path,
    args: &[&str],
    env: &[(&str, &str)],
    once: &str,
    by: &str,
) -> Option<String> {
    let before = snapshot(dir);
    let o = mpirun(ranks, dir, args, env)?;
    assert!(!o.status.success());
    let err = stderr(&o);
    assert_eq!(err.matches(once).count(), 1, "{err}");
    assert!(err.contains(by), "{err}");
    assert!(stdout(&o).is_empty(), "{}", stdout(&o));
    assert_eq!(snapshot(dir), before, "{err}");
    Some(err)
}

/// A case run plainly and under `mpirun -np ranks`, each in its own copy of the same
/// files; the temporary folders live as long as this.
struct Both {
    _dirs: (tempfile::TempDir, tempfile::TempDir),
    /// The split run's case folder.
    split: PathBuf,
    /// What the plain run and the split run printed.
    out: Output,
    o: Output,
}

/// Runs case `name` (its `case.toml` and `files`) plainly and over `ranks` with `args`;
/// both must succeed, print the same summary table, and the pieces merged by VTK's reader
/// must equal the plain file `VTK/name.ext` (`ext` the plain extension). `None` when
/// mpirun is missing (outside CI).
fn both(
    name: &str,
    case: &str,
    files: &[(&str, &[u8])],
    ranks: usize,
    args: &[&str],
    ext: &str,
) -> Option<Both> {
    let (a, plain) = case_named(name, case);
    let (b, split) = case_named(name, case);
    for dir in [&plain, &split] {
        for (file, bytes) in files {
            std::fs::write(dir.join(file), bytes).unwrap();
        }
    }
    let out = nabla(&plain, args);
    assert!(out.status.success(), "{name}: {}", stderr(&out));
    let o = mpirun(ranks, &split, args, &[])?;
    assert!(
        o.status.success(),
        "{name} on {ranks} ranks: {}",
        stderr(&o)
    );
    assert_eq!(table(&o), table(&out), "{name}");
    assert_same_data(
        &plain.join("VTK").join(format!("{name}.{ext}")),
        &split.join("VTK").join(format!("{name}.p{ext}")),
    );
    Some(Both {
        _dirs: (a, b),
        split,
        out,
        o,
    })
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
            lattice_as_plain(&vtk, &got, &format!("taylor_green_{k}"), ranks);
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
    both("cloud", CLOUD, &[], 3, &["--chunk-size", "100"], "vtp");
}

#[test]
fn a_failure_on_rank_1_leaves_the_previous_results_and_no_pieces() {
    let case = copy_case("taylor_green");
    let Some(o) = mpirun(2, case.path(), &[], &[]) else {
        return;
    };
    assert!(o.status.success(), "{}", stderr(&o));
    // Reported once, by the rank that failed, naming it; byte-identical: no piece of the
    // 3-rank run (taylor_green_0_2.vti would be new), no staging folder.
    let env = [("NABLA_FAIL_RANK", "1")];
    fails_once(3, case.path(), &[], &env, "NABLA_FAIL_RANK", "rank 1 of 3");
}

/// The summary's relative L2 differences from compared arrays (the other lines after the
/// table differ by design: files written, memory, ranks, evaluations at shared points).
fn notes(out: &Output) -> Vec<String> {
    lines_with(out, "relative L2 difference")
}

/// The lines of the summary that hold `text`.
fn lines_with(out: &Output, text: &str) -> Vec<String> {
    stdout(out)
        .lines()
        .filter(|l| l.contains(text))
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_mesh_with_data_fields_and_comparisons_on_1_2_and_3_ranks_equals_the_plain_run() {
    // OpenFOAM's cavity: U reconstructed from the solver's data, compared with OpenFOAM's
    // own grad(U), vorticity and Q; the cells split over the ranks, the pieces share the
    // points on their borders.
    let plain = copy_case("openfoam_cavity_data");
    let out = nabla(plain.path(), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let single = plain.path().join("VTK").join("openfoam_cavity_data.vtu");
    assert_eq!(notes(&out).len(), 3, "{}", stdout(&out));
    for ranks in [1, 2, 3] {
        let case = copy_case("openfoam_cavity_data");
        let Some(o) = mpirun(ranks, case.path(), &[], &[]) else {
            return;
        };
        assert!(o.status.success(), "{ranks} ranks: {}", stderr(&o));
        assert_eq!(table(&o), table(&out), "{ranks} ranks");
        assert_eq!(notes(&o), notes(&out), "{ranks} ranks");
        let got = case.path().join("VTK");
        if ranks == 1 {
            let other = got.join("openfoam_cavity_data.vtu");
            assert_eq!(
                std::fs::read(&single).unwrap(),
                std::fs::read(other).unwrap()
            );
            continue;
        }
        for r in 0..ranks {
            assert!(got.join(format!("openfoam_cavity_data_{r}.vtu")).is_file());
        }
        assert_same_data(&single, &got.join("openfoam_cavity_data.pvtu"));
        if ranks == 3 {
            read_back(&got);
        }
    }
}

/// The pieces of the cavity's 3-rank run as the input of another case: its data field,
/// reconstructed from the merged pieces' cell values (each cell once, in the same order; the
/// pieces' border points, twice, are evaluated alike), gives the very curl the pieces hold.
fn read_back(vtk: &Path) {
    let case = "[points]\nkind = \"mesh\"\nfile = \"VTK/openfoam_cavity_data.pvtu\"\n\n\
                [reconstruction]\ndegree = 2\n\n[[field]]\nname = \"V\"\n\
                data = \"U\"\noperators = [\"curl\"]\n\n\
                [field.compare]\ncurl = \"curl(U)\"\n";
    let (_t, dir) = case_named("again", case);
    std::fs::create_dir(dir.join("VTK")).unwrap();
    for e in std::fs::read_dir(vtk).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, dir.join("VTK").join(p.file_name().unwrap())).unwrap();
    }
    let out = nabla(&dir, &["--output", dir.join("out").to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let row = table(&out).into_iter().find(|r| r.starts_with("curl(V)"));
    assert_eq!(
        row.as_deref(),
        Some("curl(V) 3 0.000e0 0.000e0"),
        "{}",
        stdout(&out)
    );
}

/// Two tetrahedra and a point no cell uses, in a legacy VTK file.
const TETS: &str = "# vtk DataFile Version 3.0\ntwo tetrahedra\nASCII\n\
                    DATASET UNSTRUCTURED_GRID\nPOINTS 6 double\n0 0 0\n1 0 0\n0 1 0\n\
                    0 0 1\n1 1 1\n5 5 5\nCELLS 2 10\n4 0 1 2 3\n4 1 2 3 4\n\
                    CELL_TYPES 2\n10\n10\n";

const TETS_CASE: &str = "[points]\nkind = \"mesh\"\nfile = \"tets.vtk\"\n\n\
                         [[field]]\nname = \"f\"\nvalue = \"x*y + z^3\"\n\
                         operators = [\"grad\", \"lap\"]\n\n[field.exact]\nlap = \"6*z\"\n";

#[test]
fn a_mesh_with_a_lone_point_splits_over_2_ranks_and_is_refused_for_more_ranks_than_cells() {
    let files = [("tets.vtk", TETS.as_bytes())];
    let Some(b) = both("tets", TETS_CASE, &files, 2, &[], "vtu") else {
        return;
    };
    let split = &b.split;
    // 3 ranks for 2 cells: refused once, before anything is written; the results stay.
    let once = "expected at least one per rank";
    if let Some(err) = fails_once(3, split, &[], &[], once, "rank 0 of 3") {
        assert!(err.contains("2 cells"), "{err}");
    }
}

/// The airFoil2D case: a C-mesh of 10 720 cells whose reconstruction stencils (rings of
/// mesh neighbours) cross the borders of the pieces.
const AIRFOIL_CASE: &str = "[points]\nkind = \"mesh\"\nfile = \"airFoil2D_simpleFoam.vtu\"\n\n\
                            [[field]]\nname = \"U\"\ndata = \"U\"\n\
                            operators = [\"grad\", \"curl\", \"Q\"]\n\n\
                            [field.compare]\ngrad = \"grad(U)\"\ncurl = \"vorticity\"\n";

#[test]
fn a_solved_aerofoil_on_3_ranks_equals_the_plain_run() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/openfoam/airFoil2D_simpleFoam.vtu");
    if !data.is_file() {
        let ci = std::env::var("CI").as_deref() == Ok("true");
        assert!(!ci, "{} is missing", data.display());
        eprintln!("skipped: {} is missing", data.display());
        return;
    }
    let bytes = std::fs::read(&data).unwrap();
    let files = [("airFoil2D_simpleFoam.vtu", &bytes[..])];
    if let Some(b) = both("aerofoil", AIRFOIL_CASE, &files, 3, &[], "vtu") {
        assert_eq!(notes(&b.o), notes(&b.out));
    }
}

/// Measured values at 400 scattered points (a CSV file) with their exact gradient as
/// another column: a data field reconstructed at the file's own points, compared with
/// that column.
fn measured_csv() -> String {
    use rand::{Rng, SeedableRng};
    let mut csv = String::from("x,y,f,g:0,g:1\n");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(99);
    for _ in 0..400 {
        let (x, y): (f64, f64) = (rng.random(), rng.random());
        let f = x * x * y + (3.0 * y).sin();
        let g = [2.0 * x * y, x * x + 3.0 * (3.0 * y).cos()];
        csv += &format!("{x:?},{y:?},{f:?},{:?},{:?}\n", g[0], g[1]);
    }
    csv
}

const CSV_CASE: &str = "[points]\nkind = \"csv\"\nfile = \"measured.csv\"\n\n\
                        [[field]]\nname = \"f\"\ndata = \"f\"\noperators = [\"grad\", \"lap\"]\n\n\
                        [field.compare]\ngrad = \"g\"\n";

#[test]
fn measured_points_with_a_compared_column_on_3_ranks_equal_the_plain_run() {
    let csv = measured_csv();
    let files = [("measured.csv", csv.as_bytes())];
    let args = ["--chunk-size", "64"];
    if let Some(b) = both("measured", CSV_CASE, &files, 3, &args, "vtp") {
        assert_eq!(notes(&b.out).len(), 1, "{}", stdout(&b.out));
        assert_eq!(notes(&b.o), notes(&b.out));
    }
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
    lines_with(out, "relative L2 error")
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
        lattice_as_plain(&vtk, &got, "pinn_poisson", ranks);
    }
}

#[test]
fn a_failure_on_rank_1_after_a_shared_training_writes_nothing() {
    let case = short_pinn();
    // Neither rank 0's training files nor any piece: no VTK/, no staging folder.
    let env = [("NABLA_FAIL_RANK", "1")];
    fails_once(2, case.path(), &[], &env, "NABLA_FAIL_RANK", "rank 1 of 2");
    // Rank 0 failing alone after the training (as when it cannot write loss.csv) stops
    // the others before they meet to pass on the lattice's planes.
    let env = [("NABLA_FAIL_RANK", "0@train")];
    fails_once(3, case.path(), &[], &env, "NABLA_FAIL_RANK", "rank 0 of 3");
}

#[test]
fn a_failure_on_rank_1_inside_a_shared_training_stops_every_rank() {
    let case = short_pinn();
    let env = [("NABLA_FAIL_RANK_IN_TRAINING", "1")];
    let once = "NABLA_FAIL_RANK_IN_TRAINING";
    fails_once(3, case.path(), &[], &env, once, "rank 1 of 3");
}

/// A lattice whose field is not a number above y = 0.5: with `--strict` the ranks whose
/// planes lie there fail while evaluating, the others do not.
const HALF_NAN: &str = "[points]\nkind = \"lattice\"\ncounts = [5, 30]\n\
                        bounds = [[0, 1], [0, 1]]\n\n[[field]]\nname = \"f\"\n\
                        value = \"sqrt(0.5 - y)\"\noperators = [\"grad\"]\n";

#[test]
fn non_finite_values_on_some_ranks_are_counted_over_all_and_strict_writes_nothing() {
    let (_t, dir) = case_named("half", HALF_NAN);
    // Without --strict the run completes, the non-finite values counted over all ranks
    // once, from the first one at its global index (the plain run's summary).
    let plain = nabla(&dir, &["--output", dir.join("plain").to_str().unwrap()]);
    assert!(plain.status.success(), "{}", stderr(&plain));
    let Some(o) = mpirun(3, &dir, &[], &[]) else {
        return;
    };
    assert!(o.status.success(), "{}", stderr(&o));
    let warned = |out: &Output| {
        stdout(out)
            .lines()
            .chain(stderr(out).lines())
            .filter(|l| l.contains("not finite"))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    assert!(!warned(&plain).is_empty(), "{}", stdout(&plain));
    assert_eq!(warned(&o), warned(&plain));
    let before = snapshot(&dir);
    // With --strict the values that are not finite (on ranks 1 and 2, from y = 0.34)
    // are counted over all ranks: the error is the plain run's, printed once.
    let strict = nabla(&dir, &["--strict"]);
    assert!(!strict.status.success());
    let plain_err = stderr(&strict);
    assert!(plain_err.contains("75 of 150 values"), "{plain_err}");
    let Some(o) = mpirun(3, &dir, &["--strict"], &[]) else {
        return;
    };
    assert!(!o.status.success());
    let err = stderr(&o);
    assert_eq!(err.matches("--strict").count(), 1, "{err}");
    let message = |e: &str| {
        e.lines()
            .next()
            .unwrap_or("")
            .split("--strict")
            .nth(1)
            .map(str::to_owned)
    };
    assert_eq!(message(&err), message(&plain_err), "{err}");
    assert!(err.contains("rank 0 of 3"), "{err}");
    assert_eq!(snapshot(&dir), before);
    // A rank that fails while evaluating (the test hook, at the first time) stops every
    // rank at the next meeting point (the plane passed on): no hang, the error once.
    let env = [("NABLA_FAIL_RANK", "1@evaluate")];
    fails_once(3, &dir, &[], &env, "NABLA_FAIL_RANK", "rank 1 of 3");
    // A rank that fails to write its piece of the only time takes its error to the
    // agreement after the run; of a series' first time, to the next time's.
    let env = [("NABLA_FAIL_RANK", "1@stage")];
    fails_once(3, &dir, &[], &env, "NABLA_FAIL_RANK", "rank 1 of 3");
    let series = copy_case("taylor_green");
    fails_once(
        3,
        series.path(),
        &[],
        &env,
        "NABLA_FAIL_RANK",
        "rank 1 of 3",
    );
}

/// `TETS` without its lone point, with a third cell of no points (a polyvertex of none)
/// at the end.
fn tets_and_an_empty_cell() -> String {
    TETS.replace("POINTS 6 double", "POINTS 5 double")
        .replace("5 5 5\n", "")
        .replace("CELLS 2 10\n", "CELLS 3 11\n")
        .replace("4 1 2 3 4\n", "4 1 2 3 4\n0\n")
        .replace("CELL_TYPES 2\n10\n10\n", "CELL_TYPES 3\n10\n10\n2\n")
}

/// Points without cells (legacy POLYDATA with POINTS only), and a field that is not a
/// number for x > 0.5.
const LONE_POINTS: &str = "# vtk DataFile Version 3.0\npoints\nASCII\nDATASET POLYDATA\n\
                           POINTS 7 double\n0.9 0 0\n0.1 0 0\n0.2 1 0\n0.7 1 1\n0.3 2 0\n\
                           0.4 0 2\n0.6 1 2\n";

#[test]
fn meshes_without_cells_or_with_an_empty_cell_and_their_non_finite_values_over_ranks() {
    let case_of = |file: &str, value: &str| {
        format!(
            "[points]\nkind = \"mesh\"\nfile = \"{file}\"\n\n[[field]]\nname = \"f\"\n\
             value = \"{value}\"\noperators = [\"grad\"]\n"
        )
    };
    let case = |file: &str| case_of(file, "sqrt(0.5 - x)*y");
    let warned = |out: &Output| {
        stderr(out)
            .lines()
            .filter(|l| l.contains("not finite"))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    // No cells: cut by points, 3 ranks; the first value that is not a number is the
    // plain run's (point 0, on rank 0: its x = 0.9), also from pieces of a mesh. With the
    // cells of TETS swapped, rank 0 owns points 1 to 4 and rank 1 points 0 and 5: the
    // field is not a number at 0, 4 and 5, and the first is point 0, on rank 1.
    let swapped = TETS.replace("4 0 1 2 3\n4 1 2 3 4\n", "4 1 2 3 4\n4 0 1 2 3\n");
    let both_ends = "sqrt((x + y + z - 0.5)*(2 - x - y - z))";
    for (file, text, ranks, value) in [
        ("p.vtk", LONE_POINTS, 3, "sqrt(0.5 - x)*y"),
        ("t.vtk", TETS, 2, "sqrt(0.5 - x)*y"),
        ("t.vtk", swapped.as_str(), 2, both_ends),
    ] {
        let files = [(file, text.as_bytes())];
        let Some(b) = both("m", &case_of(file, value), &files, ranks, &[], "vtu") else {
            return;
        };
        assert!(!warned(&b.out).is_empty(), "{file}: {}", stderr(&b.out));
        assert_eq!(warned(&b.o), warned(&b.out), "{file}");
    }
    // A rank whose cells use no points is refused once, before anything is written.
    let (_c, dir) = case_named("m", &case("t.vtk"));
    std::fs::write(dir.join("t.vtk"), tets_and_an_empty_cell()).unwrap();
    let out = nabla(&dir, &["--output", dir.join("one").to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    fails_once(3, &dir, &[], &[], "use no points", "rank 2 of 3");
}

/// `text` (a loss.csv) without its `seconds` column, wherever it stands.
fn csv_without_seconds(text: &str) -> String {
    let header: Vec<&str> = text.lines().next().unwrap_or("").split(',').collect();
    let Some(k) = header.iter().position(|h| *h == "seconds") else {
        return text.to_owned();
    };
    text.lines()
        .map(|l| {
            l.split(',')
                .enumerate()
                .filter(|&(i, _)| i != k)
                .map(|(_, f)| f)
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn an_equations_problem_with_an_unknown_and_lbfgs_on_2_ranks_equals_the_plain_run() {
    let short = || {
        let case = copy_case("pinn_burgers_inverse");
        let toml = case.path().join("case.toml");
        let text = std::fs::read_to_string(&toml).unwrap();
        assert!(text.contains("iterations = 5000") && text.contains("steps = 15000"));
        let text = text
            .replace("iterations = 5000", "iterations = 30")
            .replace("steps = 15000", "steps = 5");
        std::fs::write(&toml, text).unwrap();
        case
    };
    let plain = short();
    let out = nabla(plain.path(), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let read = |dir: &Path, f: &str| std::fs::read_to_string(dir.join("VTK").join(f)).unwrap();
    let (csv, ckpt) = (
        read(plain.path(), "loss.csv"),
        read(plain.path(), "checkpoint.json"),
    );
    assert_eq!(csv.lines().count(), 1 + 30 + 5, "{csv}");
    let unknown = lines_with(&out, "unknown log_nu");
    assert_eq!(unknown.len(), 1, "{}", stdout(&out));
    let case = short();
    let Some(o) = mpirun(2, case.path(), &[], &[]) else {
        return;
    };
    assert!(o.status.success(), "{}", stderr(&o));
    // The same loss and unknown at every Adam step and L-BFGS iteration, the same
    // network, optimiser states and unknown.
    assert_eq!(
        csv_without_seconds(&read(case.path(), "loss.csv")),
        csv_without_seconds(&csv)
    );
    assert_eq!(
        without_seconds(&read(case.path(), "checkpoint.json")),
        without_seconds(&ckpt)
    );
    assert_eq!(lines_with(&o, "unknown log_nu"), unknown);
}
