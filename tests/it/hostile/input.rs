//! Hostile case.toml files: every rejection of a value names `case.toml:LINE:COL` (the
//! place of the value, or of its table when it was left to its default), messages escape
//! control characters and print numbers compactly, names that no VTK file could hold are
//! refused, values that are not finite are counted and warned about (`--strict` refuses
//! them), lattice values are exact at the points a reader of the `.vti` sees, and the
//! memory estimate is at or above the real peak.

use std::path::Path;

use super::{SMALL_CASE, assert_rejected, case_with, nabla_timed, snapshot};
use crate::io::vtkio_point_arrays;

/// `case.toml:LINE:COL` of the first `needle` in `text`, moved `offset` characters right.
fn at(text: &str, needle: &str, offset: usize) -> String {
    let start = text
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} in {text}"));
    let before = &text[..start];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().unwrap().chars().count() + 1 + offset;
    format!("case.toml:{line}:{col}")
}

/// Rejects `text` (run with `args`) with the position of `needle` (+ `offset`) and the
/// other needles.
fn rejected_at(text: &str, args: &[&str], needle: &str, offset: usize, more: &[&str]) -> String {
    let dir = case_with(text);
    let pos = at(text, needle, offset);
    let mut needles = vec![pos.as_str()];
    needles.extend_from_slice(more);
    assert_rejected(dir.path(), args, &needles)
}

const FIELD: &str = "\n[[field]]\nname = \"f\"\nvalue = \"x*y\"\n";

fn lattice(counts: &str, bounds: &str) -> String {
    format!("[points]\nkind = \"lattice\"\ncounts = {counts}\nbounds = {bounds}\n{FIELD}")
}

fn pinn_case(from: &str, to: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("cases/pinn_poisson/case.toml");
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{from}");
    text.replacen(from, to, 1)
}

/// No run of more than 20 digits in a message.
fn assert_compact(message: &str) {
    let longest = message
        .split(|c: char| !c.is_ascii_digit())
        .map(str::len)
        .max()
        .unwrap_or(0);
    assert!(longest <= 20, "a {longest}-digit number in:\n{message}");
}

// ---- category 10: every rejected value names its line and column ----

#[test]
fn a_zero_count_names_its_axis_and_place() {
    let t = lattice("[3, 0, 3]", "[[0, 1], [0, 1], [0, 1]]");
    rejected_at(
        &t,
        &[],
        "0, 3]",
        0,
        &["points.counts, axis 1", "at least 1 point"],
    );
}

#[test]
fn four_counts_are_refused_at_the_counts() {
    let t = lattice("[3, 3, 3, 3]", "[[0, 1], [0, 1], [0, 1], [0, 1]]");
    rejected_at(&t, &[], "[3, 3, 3, 3]", 0, &["expected 2 or 3 axes"]);
}

#[test]
fn counts_and_bounds_of_different_lengths_point_at_the_bounds() {
    let t = lattice("[3, 3, 3]", "[[0, 1], [0, 1]]");
    rejected_at(&t, &[], "[[0, 1], [0, 1]]", 0, &["3 counts but 2 bounds"]);
}

#[test]
fn reversed_bounds_point_at_their_axis() {
    let t = lattice("[3, 3, 3]", "[[0, 1], [1, 0], [0, 1]]");
    rejected_at(
        &t,
        &[],
        "[1, 0]",
        0,
        &["points.bounds, axis 1", "low < high"],
    );
}

#[test]
fn an_unknown_name_in_a_bound_points_into_the_string() {
    let t = lattice("[3, 3, 3]", "[[0, 1], [0, \"2*foo\"], [0, 1]]");
    rejected_at(&t, &[], "\"2*foo\"", 3, &["unknown variable 'foo'"]);
}

#[test]
fn an_infinite_bound_is_refused_where_it_is() {
    let t = lattice("[3, 3, 3]", "[[0, 1], [0, \"1/0\"], [0, 1]]");
    rejected_at(
        &t,
        &[],
        "\"1/0\"",
        0,
        &["points.bounds[1][1]", "inf", "finite"],
    );
}

#[test]
fn bounds_whose_difference_overflows_are_refused_compactly() {
    let t = lattice("[3, 3, 3]", "[[0, 1], [-1e308, 1e308], [0, 1]]");
    let m = rejected_at(
        &t,
        &[],
        "[-1e308",
        0,
        &["axis 1", "-1e308", "finite difference"],
    );
    assert_compact(&m);
}

#[test]
fn a_nan_time_is_refused_at_the_time() {
    let t = format!("times = [0.0, 0.5, nan]\n{SMALL_CASE}");
    rejected_at(&t, &[], "nan]", 0, &["time 2 is NaN", "finite"]);
}

#[test]
fn no_times_at_all_is_refused_at_the_list() {
    let t = format!("times = []\n{SMALL_CASE}");
    rejected_at(&t, &[], "[]", 0, &["times", "non-empty"]);
}

#[test]
fn a_nan_constant_is_refused_at_load() {
    let t = format!("[constants]\nnu = nan\n\n{SMALL_CASE}");
    rejected_at(&t, &[], "nan", 0, &["constants.nu", "NaN", "finite"]);
}

#[test]
fn an_infinite_constant_is_refused_at_load() {
    let t = format!("[constants]\nbig = -inf\n\n{SMALL_CASE}");
    rejected_at(&t, &[], "-inf", 0, &["constants.big", "-inf", "finite"]);
}

#[test]
fn random_points_without_points_are_refused_at_the_count() {
    let t = format!("[points]\nkind = \"random\"\ncount = 0\nbounds = [[0, 1], [0, 1]]\n{FIELD}");
    rejected_at(&t, &[], "0\nbounds", 0, &["points.count", "at least 1"]);
}

#[test]
fn random_bounds_with_a_nan_are_refused_at_their_axis() {
    let t = format!("[points]\nkind = \"random\"\ncount = 5\nbounds = [[0, 1], [nan, 1]]\n{FIELD}");
    rejected_at(
        &t,
        &[],
        "nan, 1]",
        0,
        &["points.bounds[1][0]", "NaN", "finite"],
    );
}

#[test]
fn a_listed_point_of_another_dimension_is_refused_at_the_point() {
    let t = format!("[points]\nkind = \"list\"\npoints = [[0, 0, 0], [1, 1], [2, 2, 2]]\n{FIELD}");
    rejected_at(&t, &[], "[1, 1]", 0, &["point 1 has 2 coordinates"]);
}

#[test]
fn a_listed_point_with_an_infinity_is_refused_at_the_point() {
    let t = format!("[points]\nkind = \"list\"\npoints = [[0, 0], [inf, 1]]\n{FIELD}");
    rejected_at(&t, &[], "[inf, 1]", 0, &["point 1", "finite"]);
}

#[test]
fn an_output_name_with_a_folder_is_refused_at_the_name() {
    let t = format!("{SMALL_CASE}\n[output]\nname = \"sub/f\"\n");
    rejected_at(
        &t,
        &[],
        "\"sub/f\"",
        0,
        &["output.name 'sub/f'", "plain file name"],
    );
}

#[test]
fn an_overlong_output_name_is_refused_at_the_name() {
    let t = format!("{SMALL_CASE}\n[output]\nname = \"{}\"\n", "n".repeat(300));
    rejected_at(&t, &[], "\"nnn", 0, &["output.name", "300 bytes", "200"]);
}

#[test]
fn a_field_without_a_name_is_refused_at_the_name() {
    let t = format!("{SMALL_CASE}\n[[field]]\nname = \"  \"\nvalue = \"x\"\n");
    rejected_at(&t, &[], "\"  \"", 0, &["non-empty name"]);
}

#[test]
fn a_field_defined_twice_is_refused_at_the_second_name() {
    let t = format!("{SMALL_CASE}\n[[field]]\nname = \"f\"\nvalue = \"x\"\n");
    let second = t.rfind("name = \"f\"").unwrap();
    let dir = case_with(&t);
    let line = t[..second].matches('\n').count() + 1;
    let m = assert_rejected(
        dir.path(),
        &[],
        &[&format!("case.toml:{line}:8"), "defined twice"],
    );
    assert!(m.contains("field 'f'"), "{m}");
}

#[test]
fn mms_with_a_missing_velocity_is_refused_at_the_name() {
    let t = format!(
        "{SMALL_CASE}\n[[field]]\nname = \"p\"\nvalue = \"x\"\n\n[mms]\nvelocity = \"U\"\npressure = \"p\"\nnu = 0.1\n"
    );
    rejected_at(&t, &[], "\"U\"", 0, &["mms.velocity: no field named 'U'"]);
}

#[test]
fn mms_with_a_two_component_velocity_in_3d_is_refused_at_its_table() {
    let t = format!(
        "{SMALL_CASE}\n[[field]]\nname = \"U\"\nvalue = [\"x\", \"y\"]\n\n[mms]\nvelocity = \"f\"\npressure = \"f\"\nnu = 0.1\n"
    );
    rejected_at(
        &t,
        &[],
        "[mms]",
        0,
        &["mms: needs a velocity with 3 components"],
    );
}

#[test]
fn an_infinite_mms_viscosity_is_refused_at_the_value() {
    let t = format!(
        "{SMALL_CASE}\n[[field]]\nname = \"U\"\nvalue = [\"x\", \"y\", \"z\"]\n\n[mms]\nvelocity = \"U\"\npressure = \"f\"\nnu = \"1/0\"\n"
    );
    rejected_at(&t, &[], "\"1/0\"", 0, &["mms.nu", "inf", "finite"]);
}

#[test]
fn a_nan_learning_rate_is_refused_at_the_value_not_as_a_divergence() {
    let t = pinn_case("learning_rate = 5e-3", "learning_rate = nan");
    let m = rejected_at(&t, &[], "nan", 0, &["pinn.optimizer.learning_rate", "NaN"]);
    assert!(!m.contains("lower the learning rate"), "{m}");
}

#[test]
fn zero_iterations_are_refused_at_the_value() {
    let t = pinn_case("iterations = 6000", "iterations = 0");
    rejected_at(&t, &[], "0\nschedule", 0, &["pinn.optimizer.iterations"]);
}

#[test]
fn a_zero_width_is_refused_at_the_widths() {
    let t = pinn_case("hidden = [32, 32]", "hidden = [32, 0]");
    rejected_at(&t, &[], "[32, 0]", 0, &["pinn.network.hidden", "width 0"]);
}

#[test]
fn a_zero_chunk_size_is_refused_at_the_value() {
    let t = pinn_case("seed = 2", "seed = 2\nchunk_size = 0");
    rejected_at(&t, &[], "chunk_size = 0", 13, &["pinn.points.chunk_size"]);
}

#[test]
fn a_nan_loss_weight_is_refused_at_the_value_before_training() {
    let t = pinn_case("boundary = 10.0", "boundary = nan");
    let m = rejected_at(&t, &[], "nan", 0, &["pinn.weights.boundary", "NaN"]);
    assert!(!m.contains("lower the learning rate"), "{m}");
}

#[test]
fn a_nan_network_constant_is_refused_before_training() {
    let t = pinn_case("[pinn]\n", "[pinn]\nconstants = [[\"k\", \"0/0\"]]\n");
    let m = rejected_at(
        &t,
        &[],
        "[[\"k\"",
        0,
        &["pinn.constants.k", "NaN", "finite"],
    );
    assert!(!m.contains("lower the learning rate"), "{m}");
}

#[test]
fn a_huge_network_domain_is_reported_with_compact_numbers_and_a_place() {
    let t = pinn_case("min = [0.0, 0.0]", "min = [-1e308, 0.0]\n# moved");
    let dir = case_with(&t);
    let m = assert_rejected(dir.path(), &[], &["pinn.domain", "case.toml:"]);
    assert_compact(&m);
}

#[test]
fn a_wrong_network_operator_is_refused_at_the_operators() {
    let t = pinn_case("operators = [\"grad\", \"lap\"]", "operators = [\"curl\"]");
    rejected_at(&t, &[], "[\"curl\"]", 0, &["pinn_output.operators", "curl"]);
}

// ---- category 8 and 10: names no VTK file can hold, messages that stay plain text ----

#[test]
fn an_escape_sequence_in_the_output_name_is_refused_and_not_echoed() {
    let t = format!("{SMALL_CASE}\n[output]\nname = \"red\\u001b[31mtext\"\n");
    let m = rejected_at(&t, &[], "\"red", 0, &["output.name", "\\u{1b}"]);
    assert!(
        !m.contains('\u{1b}'),
        "a raw escape character on stderr: {m:?}"
    );
}

#[test]
fn a_control_character_in_a_field_name_is_refused_at_the_name() {
    let t = format!("{SMALL_CASE}\n[[field]]\nname = \"g\\u0001\"\nvalue = \"x\"\n");
    let m = rejected_at(&t, &[], "\"g\\u0001\"", 0, &["field name", "\\u{1}", "VTK"]);
    assert!(!m.contains('\u{1}'), "{m:?}");
}

#[test]
fn a_noncharacter_in_a_field_name_is_refused_at_the_name() {
    let t = format!("{SMALL_CASE}\n[[field]]\nname = \"g\\uFFFF\"\nvalue = \"x\"\n");
    rejected_at(&t, &[], "\"g\\uFFFF\"", 0, &["field name", "\\u{ffff}"]);
}

#[test]
fn a_control_character_in_an_expression_is_escaped_in_the_message() {
    let t = format!("{SMALL_CASE}\n[[field]]\nname = \"g\"\nvalue = \"x\\u0007 + 1\"\n");
    let dir = case_with(&t);
    let m = assert_rejected(dir.path(), &[], &["case.toml:", "field 'g'", "\\u{7}"]);
    assert!(
        !m.contains('\u{7}'),
        "a raw bell character on stderr: {m:?}"
    );
}

// ---- category 7: values that are not finite ----

fn nonfinite_case(expr: &str) -> String {
    format!(
        "[points]\nkind = \"lattice\"\ncounts = [5, 3]\nbounds = [[0, 4], [0, 1]]\n\n[[field]]\nname = \"f\"\nvalue = \"{expr}\"\noperators = [\"grad\"]\n"
    )
}

#[test]
fn nan_values_are_counted_located_and_warned_about() {
    let dir = case_with(&nonfinite_case("sqrt(x - 2)"));
    let out = nabla_timed(dir.path(), &[], 60);
    let (so, se) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{se}");
    // x = 0, 1 are below 2 on each of the 3 rows: 6 NaN values of f; the first at point 0.
    for text in [&so, &se] {
        assert!(
            text.contains(
                "warning: f at t = 0.0: 6 of 15 values are not finite (NaN or infinite); the \
                 first is NaN at point 0, (x, y, z) = (0.0, 0.0, 0.0)"
            ),
            "{text}"
        );
        assert!(text.contains("warning: grad(f) at t = 0.0:"), "{text}");
    }
}

#[test]
fn strict_refuses_a_division_by_zero_and_writes_nothing() {
    let dir = case_with(&nonfinite_case("1/(x - x)"));
    let m = assert_rejected(
        dir.path(),
        &["--strict"],
        &["--strict", "f at t = 0.0", "not finite"],
    );
    assert!(m.contains("point 0"), "{m}");
    assert!(!dir.path().join("VTK").exists());
}

#[test]
fn strict_refuses_an_overflowing_exponential_at_its_first_point() {
    let dir = case_with(&nonfinite_case("exp(1000*x)"));
    // x = 0, 1, 2, 3, 4: exp(1000) already overflows, at point 1, (1, 0, 0).
    assert_rejected(
        dir.path(),
        &["--strict"],
        &[
            "the first is inf at point 1, (x, y, z) = (1.0, 0.0, 0.0)",
            "nothing is written",
        ],
    );
}

#[test]
fn strict_refuses_a_nan_exact_answer() {
    let t = format!(
        "{}\n[field.exact]\ngrad = [\"0/0\", \"x\"]\n",
        nonfinite_case("x*y")
    );
    let dir = case_with(&t);
    assert_rejected(dir.path(), &["--strict"], &["--strict", "grad(f)", "NaN"]);
}

#[test]
fn strict_lets_finite_runs_through() {
    let dir = case_with(SMALL_CASE);
    let out = nabla_timed(dir.path(), &["--strict"], 60);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!String::from_utf8_lossy(&out.stderr).contains("warning"));
}

// ---- category 11: exact through the file ----

/// The `Origin` and `Spacing` of a `.vti` file, as f64 (vtkio keeps them as f32).
fn origin_spacing(path: &Path) -> ([f64; 3], [f64; 3]) {
    let text = std::fs::read_to_string(path).unwrap();
    let attr = |name: &str| -> [f64; 3] {
        let key = format!(" {name}=\"");
        let a = text.find(&key).unwrap() + key.len();
        let b = a + text[a..].find('"').unwrap();
        let v: Vec<f64> = text[a..b]
            .split_whitespace()
            .map(|s| s.parse().unwrap())
            .collect();
        [v[0], v[1], v[2]]
    };
    (attr("Origin"), attr("Spacing"))
}

#[test]
fn seed_sin_is_exact_at_the_points_a_reader_of_the_file_sees() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("cases/seed_sin/case.toml");
    let dir = case_with(&std::fs::read_to_string(src).unwrap());
    let out = nabla_timed(dir.path(), &[], 60);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let name = dir
        .path()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let file = dir.path().join("VTK").join(format!("{name}.vti"));
    let (origin, spacing) = origin_spacing(&file);
    let arrays = vtkio_point_arrays(&file);
    let get = |n: &str| &arrays.iter().find(|a| a.0 == n).unwrap().2;
    let (f, grad, lap) = (get("f"), get("grad(f)"), get("lap(f)"));
    assert_eq!(f.len(), 1001);
    let mut moved = 0;
    for k in 0..1001 {
        // VTK's vtkImageData::GetPoint: origin + k·spacing.
        let x = origin[0] + k as f64 * spacing[0];
        moved += usize::from(x != if k == 1000 { 1.0 } else { k as f64 / 1000.0 });
        assert_eq!(f[k], x.sin(), "f at point {k}");
        assert_eq!(grad[3 * k], x.cos(), "grad(f) at point {k}");
        assert_eq!(lap[k], -x.sin(), "lap(f) at point {k}");
    }
    // The formula matters: linspace's points differ from VTK's at many of these.
    assert!(moved > 100, "{moved}");
    // VTK's own reader: its origin and spacing, its last point (vtkImageData::GetPoint),
    // and the values it reads are those at its points, bit for bit.
    if let Some(json) = crate::io::vtk_check(&[&file]) {
        let s = &json[file.to_str().unwrap()];
        let num = |v: &serde_json::Value| v.as_f64().unwrap();
        let (o, h) = (num(&s["origin"][0]), num(&s["spacing"][0]));
        assert_eq!((o, h), (origin[0], spacing[0]));
        let last = num(&s["last_point"][0]);
        assert_eq!(last, o + 1000.0 * h);
        let values = s["arrays"]["f"]["values"].as_array().unwrap();
        assert_eq!(values.len(), 1001);
        for (k, v) in values.iter().enumerate() {
            assert_eq!(
                num(v),
                (o + k as f64 * h).sin(),
                "f read by VTK at point {k}"
            );
        }
        assert_eq!(num(&values[1000]), last.sin());
    }
}

// ---- category 6: the memory estimate is honest ----

/// Peak resident set of a run of the binary, in bytes: from `/usr/bin/time -v` (the
/// kernel's maxrss of the child) where it exists, else polled from VmHWM in
/// /proc/<pid>/status while it runs.
fn peak_rss(dir: &Path) -> (u64, String) {
    let time = Path::new("/usr/bin/time");
    if time.exists() {
        let out = std::process::Command::new(time)
            .arg("-v")
            .arg(env!("CARGO_BIN_EXE_nabla"))
            .arg(dir)
            .args(["--quiet", "--threads", "1"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let err = String::from_utf8_lossy(&out.stderr);
        let kb: u64 = err
            .lines()
            .find_map(|l| {
                l.trim()
                    .strip_prefix("Maximum resident set size (kbytes): ")
            })
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no maximum resident set size in:\n{err}"));
        return (kb * 1024, String::from_utf8_lossy(&out.stdout).into_owned());
    }
    peak_rss_polled(dir)
}

/// Peak resident set (VmHWM) polled from /proc/<pid>/status while the run lasts.
fn peak_rss_polled(dir: &Path) -> (u64, String) {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_nabla"))
        .arg(dir)
        .args(["--quiet", "--threads", "1"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let status = format!("/proc/{}/status", child.id());
    let mut peak = 0u64;
    let start = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if let Ok(s) = std::fs::read_to_string(&status)
            && let Some(kb) = s
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
        {
            peak = peak.max(kb * 1024);
        }
        assert!(start.elapsed().as_secs() < 120, "the run did not finish");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    (peak, String::from_utf8_lossy(&out.stdout).into_owned())
}

fn estimate_mib(stdout: &str) -> f64 {
    let line = stdout
        .lines()
        .find(|l| l.starts_with("peak memory estimated before the run: "))
        .unwrap_or_else(|| panic!("no estimate in:\n{stdout}"));
    line.trim_start_matches("peak memory estimated before the run: ")
        .trim_end_matches(" MiB")
        .parse()
        .unwrap()
}

#[test]
fn the_memory_estimate_is_at_or_above_the_measured_peak() {
    let every = "\"grad\", \"jacobian\", \"div\", \"curl\", \"vorticity\", \"lap\", \
                 \"strain_rate\", \"rotation_rate\", \"Q\", \"Q_openfoam\", \"lambda2\", \
                 \"lambda_ci\", \"helicity\", \"enstrophy\", \"advection\"";
    let cases = [
        // Every operator, with exact answers.
        format!(
            "[points]\nkind = \"lattice\"\ncounts = [40, 40, 40]\nbounds = [[0, 1], [0, 1], [0, 1]]\n\n\
             [[field]]\nname = \"U\"\nvalue = [\"sin(x)*y\", \"cos(y)*z\", \"x*z\"]\noperators = [{every}]\n\
             [field.exact]\nvalue = [\"sin(x)*y\", \"cos(y)*z\", \"x*z\"]\nlap = [\"-sin(x)*y\", \"-cos(y)*z\", \"0\"]\n\n\
             [[field]]\nname = \"p\"\nvalue = \"x*y*z\"\noperators = [\"grad\", \"lap\", \"hessian\"]\n"
        ),
        // A random cloud (.vtp) of a scalar.
        "[points]\nkind = \"random\"\ncount = 150000\nbounds = [[0, 1], [0, 1], [0, 1]]\n\n\
         [[field]]\nname = \"f\"\nvalue = \"sin(x)*y\"\noperators = [\"grad\", \"hessian\"]\n\
         [field.exact]\nhessian = [\"-sin(x)*y\", \"cos(x)\", \"0\", \"cos(x)\", \"0\", \"0\", \"0\", \"0\", \"0\"]\n"
            .to_string(),
    ];
    for text in cases {
        let dir = case_with(&text);
        let (peak, stdout) = peak_rss(dir.path());
        let estimate = estimate_mib(&stdout) * 1048576.0;
        // The process itself (code, libraries, thread pool) needs a few MiB of its own.
        let base = 24.0 * 1048576.0;
        eprintln!(
            "peak {:.1} MiB, estimate {:.1} MiB",
            peak as f64 / 1048576.0,
            estimate / 1048576.0
        );
        assert!(
            peak as f64 <= estimate + base,
            "peak {:.1} MiB above the estimate {:.1} MiB:\n{text}",
            peak as f64 / 1048576.0,
            estimate / 1048576.0
        );
        assert!(
            estimate <= 3.0 * peak as f64,
            "estimate {:.1} MiB more than 3 times the peak {:.1} MiB",
            estimate / 1048576.0,
            peak as f64 / 1048576.0
        );
    }
}

#[test]
fn snapshot_helper_sees_no_change_after_a_refusal_in_a_populated_case() {
    // A case with earlier results: a refused configuration leaves them byte-identical.
    let dir = case_with(SMALL_CASE);
    let out = nabla_timed(dir.path(), &[], 60);
    assert!(out.status.success());
    let before = snapshot(dir.path());
    std::fs::write(
        dir.path().join("case.toml"),
        format!("times = [0, inf]\n{SMALL_CASE}"),
    )
    .unwrap();
    let mut expected = before.clone();
    expected.insert(
        "case.toml".into(),
        snapshot(dir.path())[Path::new("case.toml")].clone(),
    );
    assert_rejected(dir.path(), &[], &["case.toml:1:13", "time 1 is inf"]);
    assert_eq!(snapshot(dir.path()), expected);
}

#[test]
fn a_nan_network_source_is_named_before_training_not_as_a_divergence() {
    let t = pinn_case(
        "source = \"2*pi^2*sin(pi*x)*sin(pi*y)\"",
        "source = \"sqrt(x - 0.5)\"",
    );
    let m = rejected_at(
        &t,
        &[],
        "\"sqrt(x - 0.5)\"",
        0,
        &["pinn.pde.source", "NaN", "sample point", "finite"],
    );
    assert!(!m.contains("lower the learning rate"), "{m}");
}

#[test]
fn infinite_network_boundary_values_are_named_before_training() {
    let t = pinn_case(
        "boundary = [\"sin(pi*x)*sin(pi*y)\"]",
        "boundary = [\"1/(x*y)\"]",
    );
    let m = rejected_at(
        &t,
        &[],
        "[\"1/(x*y)\"]",
        0,
        &["pinn.boundary", "inf", "finite"],
    );
    assert!(!m.contains("lower the learning rate"), "{m}");
}

/// A case on the cavity mesh of `cases/openfoam_cavity_data` with `rest` after the points.
fn cavity_case(rest: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("cases/openfoam_cavity_data");
    std::fs::copy(
        src.join("cavity_t0.5.vtu"),
        dir.path().join("cavity_t0.5.vtu"),
    )
    .unwrap();
    let text = format!("[points]\nkind = \"mesh\"\nfile = \"cavity_t0.5.vtu\"\n\n{rest}");
    std::fs::write(dir.path().join("case.toml"), &text).unwrap();
    (dir, text)
}

#[test]
fn a_shared_reconstruction_degree_is_refused_at_the_setting() {
    let (dir, t) = cavity_case(
        "[reconstruction]\nneighbours = 30\ndegree = 9\n\n[[field]]\nname = \"p\"\ndata = \"p\"\n",
    );
    let pos = at(&t, "9\n", 0);
    assert_rejected(dir.path(), &[], &[&pos, "reconstruction.degree: 9"]);
}

#[test]
fn a_field_reconstruction_degree_is_refused_at_the_setting() {
    let (dir, t) = cavity_case(
        "[[field]]\nname = \"p\"\ndata = \"p\"\nreconstruction = { neighbours = 30, degree = 0 }\n",
    );
    let pos = at(&t, "0 }", 0);
    assert_rejected(dir.path(), &[], &[&pos, "reconstruction.degree: 0"]);
}

#[test]
fn two_arrays_of_one_name_point_at_the_later_field() {
    let t = format!("{SMALL_CASE}\n[[field]]\nname = \"grad(f)\"\nvalue = [\"x\", \"y\", \"z\"]\n");
    rejected_at(
        &t,
        &[],
        "\"grad(f)\"",
        0,
        &["two arrays would be named 'grad(f)'"],
    );
}

fn csv_case(header: &str, carry: bool) -> tempfile::TempDir {
    let data = if carry {
        ""
    } else {
        "\n[data]\nfile = \"m.csv\"\ncarry = false\n"
    };
    let dir = case_with(&format!(
        "[points]\nkind = \"csv\"\nfile = \"m.csv\"\n{data}\n[[field]]\nname = \"g\"\nvalue = \"x\"\n"
    ));
    std::fs::write(
        dir.path().join("m.csv"),
        format!("{header}\n0,0,0,1\n1,0,0,2\n0,1,0,3\n"),
    )
    .unwrap();
    dir
}

#[test]
fn a_carried_array_named_with_a_control_character_is_refused() {
    let dir = csv_case("x,y,z,a\u{1}b", true);
    let m = assert_rejected(dir.path(), &[], &["m.csv", "array 'a\\u{1}b'", "VTK"]);
    assert!(!m.contains('\u{1}'), "{m:?}");
}

#[test]
fn an_array_that_is_not_carried_may_have_any_name() {
    let dir = csv_case("x,y,z,a\u{1}b", false);
    let out = nabla_timed(dir.path(), &[], 60);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

// ---- issue 21: text from the case reaches the terminal escaped ----

#[test]
fn an_escape_character_in_the_description_is_not_printed_raw() {
    let t = format!("description = \"red\\u001b[31mtext\\u0007\"\n{SMALL_CASE}");
    let dir = case_with(&t);
    let out = nabla_timed(dir.path(), &[], 60);
    let so = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(so.contains("red\\u{1b}[31mtext\\u{7}"), "{so}");
    assert!(
        !so.contains('\u{1b}') && !so.contains('\u{7}'),
        "a raw control character on stdout: {so:?}"
    );
}

#[test]
fn a_network_constant_given_twice_is_refused_at_its_second_entry() {
    let t = pinn_case(
        "[pinn]\n",
        "[pinn]\nconstants = [[\"k\", \"1\"], [\"k\", \"2\"]]\n",
    );
    rejected_at(
        &t,
        &[],
        "[\"k\", \"2\"]",
        0,
        &["pinn.constants.1", "'k' is given twice", "constants.0"],
    );
}

// ---- issue 21: messages name the array at fault and the place in case.toml ----

#[test]
fn a_nan_exact_answer_is_reported_against_the_error_array_not_the_derivative() {
    let t = format!(
        "{}\n[field.exact]\ngrad = [\"0/0\", \"x\"]\n",
        nonfinite_case("x*y")
    );
    let dir = case_with(&t);
    let out = nabla_timed(dir.path(), &[], 60);
    let se = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{se}");
    // grad(f) = (y, x) is finite; its exact answer's first component is NaN everywhere.
    assert!(
        se.contains("warning: error(grad(f)) at t = 0.0: 15 of 30 values are not finite"),
        "{se}"
    );
    assert!(se.contains("grad(f) is finite there"), "{se}");
    let m = assert_rejected(dir.path(), &["--strict"], &["error(grad(f)) at t = 0.0"]);
    assert!(!m.contains(": grad(f) at t"), "{m}");
}

/// A CSV data case on a 3 × 3 × 3 lattice: `u = x` as data, and the array `g` (3
/// components, the gradient (1, 0, 0)) to compare `grad(u)` with, NaN at point `bad`.
fn compare_csv_case(bad: Option<usize>) -> tempfile::TempDir {
    let dir = case_with(
        "[points]\nkind = \"csv\"\nfile = \"d.csv\"\n\n[[field]]\nname = \"u\"\ndata = \"u\"\n\
         operators = [\"grad\"]\n\n[field.compare]\ngrad = \"g\"\n\n\
         [output]\narrays = [\"u\", \"grad(u)\", \"error(grad(u))\"]\n",
    );
    let mut csv = String::from("x,y,z,u,g:0,g:1,g:2\n");
    for k in 0..27 {
        let (x, y, z) = (k % 3, (k / 3) % 3, k / 9);
        let g0 = if bad == Some(k) { "nan" } else { "1" };
        csv.push_str(&format!("{x},{y},{z},{x},{g0},0,0\n"));
    }
    std::fs::write(dir.path().join("d.csv"), csv).unwrap();
    dir
}

#[test]
fn a_nan_in_a_compared_array_is_reported_against_the_error_array() {
    let dir = compare_csv_case(Some(4));
    let m = assert_rejected(
        dir.path(),
        &["--strict"],
        &[
            "error(grad(u)) at t = 0.0",
            "point 4",
            "grad(u) is finite there",
        ],
    );
    assert!(!m.contains(": grad(u) at t"), "{m}");
    // Without the NaN the comparison runs.
    let dir = compare_csv_case(None);
    let out = nabla_timed(dir.path(), &["--strict"], 60);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn compare_without_a_data_field_is_refused_at_its_line_saying_why() {
    let t = format!("{SMALL_CASE}\n[field.compare]\ngrad = \"grad(f)\"\n");
    rejected_at(
        &t,
        &[],
        "\"grad(f)\"",
        0,
        &["compare grad", "needs a data field", "no data field"],
    );
}

#[test]
fn compare_with_a_missing_array_is_refused_at_its_line() {
    let (dir, t) = cavity_case(
        "[[field]]\nname = \"U\"\ndata = \"U\"\noperators = [\"grad\"]\n\n\
         [field.compare]\ngrad = \"gradU_nowhere\"\n",
    );
    let pos = at(&t, "\"gradU_nowhere\"", 0);
    assert_rejected(
        dir.path(),
        &[],
        &[
            &pos,
            "no point array 'gradU_nowhere'",
            "its point arrays are: ",
        ],
    );
}

#[test]
fn compare_with_an_array_of_another_shape_is_refused_at_its_line() {
    let (dir, t) = cavity_case(
        "[[field]]\nname = \"U\"\ndata = \"U\"\noperators = [\"grad\"]\n\n\
         [field.compare]\ngrad = \"p\"\n",
    );
    let pos = at(&t, "\"p\"\n", 0);
    assert_rejected(dir.path(), &[], &[&pos, "expected the same shape"]);
}

// ---- issue 21: every value written is checked after its conversion to the file's precision ----

/// A CSV case whose points carry the column `a` with the values `a`.
fn carried_csv_case(a: [&str; 3], output: &str) -> tempfile::TempDir {
    let dir = case_with(&format!(
        "[points]\nkind = \"csv\"\nfile = \"m.csv\"\n\n[[field]]\nname = \"g\"\nvalue = \"x\"\n{output}"
    ));
    std::fs::write(
        dir.path().join("m.csv"),
        format!("x,y,z,a\n0,0,0,{}\n1,0,0,{}\n0,1,0,{}\n", a[0], a[1], a[2]),
    )
    .unwrap();
    dir
}

#[test]
fn a_carried_input_array_with_nan_is_warned_about_and_refused_by_strict() {
    let dir = carried_csv_case(["1", "nan", "nan"], "");
    let out = nabla_timed(dir.path(), &[], 60);
    let se = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{se}");
    assert!(
        se.contains(
            "warning: input array a (carried into the output): 2 of 3 values are not finite \
             (NaN or infinite); the first is NaN at point 1, (x, y, z) = (1.0, 0.0, 0.0)"
        ),
        "{se}"
    );
    assert_rejected(
        dir.path(),
        &["--strict"],
        &[
            "--strict",
            "input array a",
            "NaN at point 1",
            "nothing is written",
        ],
    );
    // Not carried (not among [output] arrays): nothing to warn about.
    let dir = carried_csv_case(["1", "nan", "nan"], "\n[output]\narrays = [\"g\"]\n");
    let out = nabla_timed(dir.path(), &["--strict"], 60);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn values_beyond_float32_are_counted_as_not_finite_when_written_as_float32() {
    let f32_case = |value: &str| {
        case_with(&format!(
            "[points]\nkind = \"lattice\"\ncounts = [3, 3]\nbounds = [[0, 2], [0, 1]]\n\n\
             [[field]]\nname = \"f\"\nvalue = \"{value}\"\n\n[output]\nprecision = \"float32\"\n"
        ))
    };
    // 1e39·x at x = 1: 1e39 is finite as an f64, infinite as an f32.
    let dir = f32_case("1e39*x");
    let out = nabla_timed(dir.path(), &[], 60);
    let se = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{se}");
    assert!(
        se.contains("f at t = 0.0: 6 of 9 values are not finite (NaN or infinite); the first is 1e39 (beyond"),
        "{se}"
    );
    assert_rejected(
        dir.path(),
        &["--strict"],
        &["--strict", "1e39", "float32", "point 1"],
    );
    // A value in range, and one that underflows to a subnormal or 0: rounding, no warning
    // (the README, "Hostile input").
    for value in ["1.5e38*x", "1e-50*x"] {
        let dir = f32_case(value);
        let out = nabla_timed(dir.path(), &["--strict"], 60);
        assert!(
            out.status.success(),
            "{value}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // The same input carried: its value 1e39 is refused as float32, written as float64.
    let dir = carried_csv_case(["1", "1e39", "2"], "\n[output]\nprecision = \"float32\"\n");
    assert_rejected(
        dir.path(),
        &["--strict"],
        &["input array a", "1e39", "float32"],
    );
    let dir = carried_csv_case(["1", "1e39", "2"], "");
    let out = nabla_timed(dir.path(), &["--strict"], 60);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
