//! Expressions wherever a number is natural: constants from earlier constants, and
//! `[definitions]` (named sub-expressions) written out where they are used, in the case
//! files, in the physics-informed configuration and in the expression API.

use std::path::{Path, PathBuf};

use nabla::field::expr::{DefinitionError, Definitions, Expr, ExprField, MAX_WRITTEN_OUT};

use crate::cases::{nabla, stderr};
use crate::io::vtkio_point_arrays;
use crate::usability::case_named;

fn case_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("cases")
        .join(name)
}

/// `src` with every name of `defs` replaced by its own expansion in parentheses: the
/// long-hand expression a definition stands for.
fn expand(src: &str, defs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    let chars: Vec<char> = src.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_alphabetic() || chars[i] == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            match defs.iter().find(|(n, _)| *n == word) {
                Some((_, d)) => out.push_str(&format!("({})", expand(d, defs))),
                None => out.push_str(&word),
            }
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// Runs `case_toml` in a folder named `name` and fails with stderr unless it succeeds;
/// returns the bytes of every file written to `VTK/`, by name.
fn run_ok(name: &str, case_toml: &str) -> Vec<(String, Vec<u8>)> {
    run_in(name, case_toml).2
}

/// [`run_ok`], keeping the case folder.
fn run_in(name: &str, case_toml: &str) -> (tempfile::TempDir, PathBuf, Vec<(String, Vec<u8>)>) {
    let (tmp, dir) = case_named(name, case_toml);
    let out = nabla(&dir, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir.join("VTK"))
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    files.sort();
    (tmp, dir, files)
}

/// Runs a bad case: exit status 1, an `error:` line holding every needle, no output.
fn fails(case_toml: &str, needles: &[&str]) -> String {
    let (_tmp, dir) = case_named("bad", case_toml);
    let out = nabla(&dir, &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "expected a failure: {err}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    for n in needles {
        assert!(err.contains(n), "expected {n:?} in:\n{err}");
    }
    assert!(!dir.join("VTK").exists(), "output left behind");
    err
}

const POINTS: &str = "[points]\nkind = \"lattice\"\ncounts = [4, 4]\nbounds = [[0, 1], [0, 1]]\n";

// ---- a case written with definitions ---------------------------------------------------

#[test]
fn lamb_oseen_with_definitions_writes_the_long_hand_results_bit_for_bit() {
    let shipped = std::fs::read_to_string(case_dir("lamb_oseen").join("case.toml")).unwrap();
    // The shipped definitions, in the order of the file (not the order of use).
    let defs = [
        ("g", "A*(1 - E)/r2"),
        ("E", "exp(-r2/rc2)"),
        ("rc2", "rc0^2 + 4*nu*t"),
        ("r2", "x^2 + y^2"),
    ];
    for (n, d) in defs {
        assert!(
            shipped.contains(&format!("{n} = \"{d}\"")),
            "the shipped case defines {n} = {d}"
        );
    }
    // The same case long-hand: no [definitions], every name written out.
    let head = &shipped[..shipped.find("\n[definitions]").unwrap()];
    let (u, v) = (expand("-y*g", &defs), expand("x*g", &defs));
    let curl = expand("Gamma/(pi*rc2)*E", &defs);
    let q = expand("A^2*(1 - E)*(2*r2*E/rc2 - 1 + E)/r2^2", &defs);
    assert_eq!(
        curl,
        "Gamma/(pi*(rc0^2 + 4*nu*t))*(exp(-(x^2 + y^2)/(rc0^2 + 4*nu*t)))"
    );
    let long = format!(
        "{head}\n[[field]]\nname = \"U\"\nvalue = [\"{u}\", \"{v}\"]\n\
         operators = [\"curl\", \"div\", \"Q\"]\n\n[field.exact]\ncurl = \"{curl}\"\n\
         div = \"0\"\nQ = \"{q}\"\n"
    );
    assert!(!long.contains("\n[definitions]") && q.matches("x^2 + y^2").count() == 5);
    let short = run_ok("lamb_oseen", &shipped);
    let long = run_ok("lamb_oseen", &long);
    assert_eq!(short.len(), 3, "two times and a .pvd");
    for ((na, a), (nb, b)) in short.iter().zip(&long) {
        assert_eq!(na, nb);
        assert!(
            a == b,
            "{na} differs between the short and the long-hand case"
        );
    }
    // And the numbers are right: the vorticity and Q against their closed forms.
    let (_tmp, dir) = case_named("lamb_oseen", &shipped);
    let out = nabla(&dir, &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    for row in ["curl(U)", "Q(U)"] {
        let line = stdout.lines().find(|l| l.starts_with(row)).unwrap();
        let max: f64 = line.split_whitespace().nth(2).unwrap().parse().unwrap();
        assert!(max < 1e-9, "{line}");
    }
    let arrays = vtkio_point_arrays(&dir.join("VTK").join("lamb_oseen_1.vti"));
    let e = arrays.iter().find(|a| a.0 == "error(curl(U))").unwrap();
    assert!(e.2.iter().all(|v| v.abs() < 1e-12));
}

#[test]
fn constants_are_expressions_of_the_constants_above_them() {
    // Re = 20, nu = 1/Re, rc2 = 0.04 + 4 nu: the field is their value, exactly.
    let (_tmp, dir, _) = run_in(
        "c",
        &format!(
            "{POINTS}[constants]\nRe = 20\nnu = \"1/Re\"\nrc2 = \"0.04 + 4*nu\"\n\
             half = \"rc2/2\"\n\n[[field]]\nname = \"f\"\nvalue = \"rc2 + 0*x\"\n\
             [field.exact]\nvalue = \"0.24\"\n\n[mms]\nvelocity = \"U\"\npressure = \"p\"\n\
             nu = \"nu\"\n\n[[field]]\nname = \"U\"\nvalue = [\"half\", \"0\"]\n\n\
             [[field]]\nname = \"p\"\nvalue = \"0\"\n"
        ),
    );
    let arrays = vtkio_point_arrays(&dir.join("VTK").join("c.vti"));
    let f = &arrays.iter().find(|a| a.0 == "f").unwrap().2;
    assert!(f.iter().all(|&v| v == 0.04 + 4.0 * (1.0 / 20.0)), "{f:?}");
    let u = arrays.iter().find(|a| a.0 == "U").unwrap();
    assert_eq!(u.2[0], (0.04 + 4.0 * (1.0 / 20.0)) / 2.0);
}

#[test]
fn times_are_numbers_or_expressions_of_the_constants() {
    let (_tmp, dir, files) = run_in(
        "s",
        &format!(
            "times = [0, \"T/2\", \"T\"]\n{POINTS}[constants]\nT = \"2*pi\"\n\
             [[field]]\nname = \"f\"\nvalue = \"t + 0*x\"\n"
        ),
    );
    assert_eq!(files.len(), 4, "three times and a .pvd");
    let pi = std::f64::consts::PI;
    for (k, t) in [0.0, 2.0 * pi / 2.0, 2.0 * pi].into_iter().enumerate() {
        let arrays = vtkio_point_arrays(&dir.join("VTK").join(format!("s_{k}.vti")));
        assert!(arrays[0].2.iter().all(|&v| v == t), "time {k}");
    }
    fails(
        &format!("times = [0, \"1/zero\"]\n{POINTS}[constants]\nzero = 0\n"),
        &["case.toml:1:13", "times[1]", "`1/zero` is inf"],
    );
    fails(
        &format!("times = [0, \"T\"]\n{POINTS}"),
        &["case.toml:1:14", "unknown variable 'T'"],
    );
}

// ---- errors at their line and column ---------------------------------------------------

#[test]
fn a_circle_of_definitions_is_reported_where_it_closes() {
    let field = "[[field]]\nname = \"f\"\nvalue = \"a\"\n";
    // Line 7 is `b = "2*a"`; its `a` (column 8 of the line) closes a -> b -> a.
    let err = fails(
        &format!("{POINTS}[definitions]\na = \"x + b\"\nb = \"2*a\"\n{field}"),
        &[
            "case.toml:7:8",
            "definitions.b",
            "a -> b -> a",
            "cannot use itself",
        ],
    );
    assert!(err.contains("2*a\n  ^"), "caret under the name: {err}");
    fails(
        &format!("{POINTS}[definitions]\nr = \"sqrt(x^2 + r)\"\n{field}"),
        &["case.toml:6:17", "definitions.r", "'r' uses itself"],
    );
    // A longer circle, written in any order, among good definitions.
    fails(
        &format!(
            "{POINTS}[definitions]\nok = \"x\"\nc = \"a*ok\"\na = \"b + 1\"\nb = \"c - 1\"\n{field}"
        ),
        &["definitions.", "c -> a -> b -> c"],
    );
}

#[test]
fn unknown_names_in_definitions_and_constants_are_pointed_at() {
    let field = "[[field]]\nname = \"f\"\nvalue = \"r2\"\n";
    fails(
        &format!("{POINTS}[constants]\nk = 2\n[definitions]\nr2 = \"x^2 + q*y^2\"\n{field}"),
        &[
            "case.toml:8:13",
            "definitions.r2",
            "unknown variable 'q'",
            "x, y, z, t, k, pi",
        ],
    );
    // A constant that uses one defined below it, one never defined, itself, a
    // definition, and one whose value is not finite.
    fails(
        &format!("{POINTS}[constants]\nnu = \"1/Re\"\nRe = 20\n"),
        &[
            "case.toml:6:9",
            "constants.nu",
            "'Re' is defined below, on line 7",
        ],
    );
    fails(
        &format!("{POINTS}[constants]\nRe = 20\nnu = \"1/Rey\"\n"),
        &[
            "case.toml:7:9",
            "constants.nu",
            "unknown variable 'Rey'; valid names are: Re, pi",
        ],
    );
    fails(
        &format!("{POINTS}[constants]\nk = \"k + 1\"\n"),
        &["case.toml:6:6", "'k' uses itself"],
    );
    fails(
        &format!("{POINTS}[constants]\nk = \"2*r\"\n[definitions]\nr = \"x\"\n"),
        &["case.toml:6:8", "'r' is a definition"],
    );
    fails(
        &format!("{POINTS}[constants]\nzero = 0\ninf = \"1/zero\"\n"),
        &[
            "case.toml:7:7",
            "constants.inf",
            "`1/zero` is inf",
            "finite",
        ],
    );
    // A definition where a number is needed.
    fails(
        "[points]\nkind = \"lattice\"\ncounts = [4, 4]\nbounds = [[0, \"L\"], [0, 1]]\n\
         [definitions]\nL = \"2*x\"\n[[field]]\nname = \"f\"\nvalue = \"L\"\n",
        &[
            "case.toml:4:16",
            "points.bounds[0][1]",
            "'L' is a definition",
        ],
    );
    // Names that cannot be defined.
    fails(
        &format!("{POINTS}[constants]\nk = 2\n[definitions]\nk = \"x\"\n"),
        &["case.toml:8:5", "definitions.k", "taken by a constant"],
    );
    fails(
        &format!("{POINTS}[definitions]\nt = \"x\"\n"),
        &["case.toml:6:5", "definitions.t", "coordinate or the time"],
    );
    fails(
        &format!("{POINTS}[constants]\nsin = 1\n"),
        &["case.toml:6:7", "constants", "'sin' cannot name a constant"],
    );
}

#[test]
fn a_definition_using_a_coordinate_the_points_lack_is_named_in_the_field() {
    // z in a 2-D case: the field's use of `r2` is pointed at, quoting the definition.
    fails(
        &format!(
            "{POINTS}[definitions]\nr2 = \"x^2 + z^2\"\n[[field]]\nname = \"f\"\nvalue = \"1 + r2\"\n"
        ),
        &[
            "case.toml:9:14",
            "in the definition r2 = \"x^2 + z^2\", column 7: unknown variable 'z'",
        ],
    );
}

// ---- the physics-informed table ----------------------------------------------------

/// The `[pinn]` table of a case file.
fn pinn_table(case_toml: &str) -> nabla::pinn::PinnConfig {
    let t: toml::Table = toml::from_str(case_toml).unwrap();
    t["pinn"].clone().try_into().unwrap()
}

#[test]
fn the_pinn_viscosity_is_an_expression_of_its_constants() {
    let shipped = std::fs::read_to_string(case_dir("pinn_kovasznay").join("case.toml")).unwrap();
    assert!(
        shipped.contains("nu = \"1/Re\""),
        "the shipped case says nu = 1/Re"
    );
    let cfg = pinn_table(&shipped);
    assert_eq!(cfg.nu().unwrap(), Some(0.05));
    assert_eq!(
        pinn_table(&shipped.replace("nu = \"1/Re\"", "nu = 0.05"))
            .nu()
            .unwrap(),
        Some(0.05),
        "numbers stay accepted"
    );
    // A name that is not a constant, and a viscosity that is not positive, at their line.
    let line = 1 + shipped[..shipped.find("nu = \"1/Re\"").unwrap()]
        .matches('\n')
        .count();
    for (bad, needles) in [
        ("\"1/Rey\"", vec!["pinn.pde.nu", "unknown variable 'Rey'"]),
        ("\"-1/Re\"", vec!["pinn.pde.nu", "must be positive"]),
    ] {
        fails(
            &shipped.replace("nu = \"1/Re\"", &format!("nu = {bad}")),
            &[&[format!("case.toml:{line}:6").as_str()], &needles[..]].concat(),
        );
    }
}

#[test]
fn pinn_definitions_are_written_out_in_boundary_values_and_the_exact_solution() {
    let shipped = std::fs::read_to_string(case_dir("pinn_kovasznay").join("case.toml")).unwrap();
    // The shipped case says the exact velocity once, as definitions; long-hand, each
    // use is the definition's text.
    let defs = [
        ("u", "1 - e*cos(2*pi*y)"),
        ("v", "lambda/(2*pi)*e*sin(2*pi*y)"),
        ("e", "exp(lambda*x)"),
    ];
    let (u, v) = (expand("u", &defs), expand("v", &defs));
    let start = shipped.find("definitions = [").unwrap();
    let end = shipped[start..].find("\n]\n").unwrap() + start + 3;
    let long = format!("{}{}", &shipped[..start], &shipped[end..])
        .replace(
            "boundary = [\"u\", \"v\"]",
            &format!("boundary = [\"{u}\", \"{v}\"]"),
        )
        .replace(
            "exact = [\"u\", \"v\",",
            &format!("exact = [\"{u}\", \"{v}\","),
        );
    assert!(long.contains(
        "\"(1 - (exp(lambda*x))*cos(2*pi*y))\", \"(lambda/(2*pi)*(exp(lambda*x))*sin(2*pi*y))\""
    ));
    let (short, long) = (pinn_table(&shipped), pinn_table(&long));
    assert!(long.definitions.is_empty() && short.definitions.len() == 3);
    let (a, b) = (short.problem().unwrap(), long.problem().unwrap());
    assert_eq!(
        a.exact.unwrap().bound(),
        b.exact.unwrap().bound(),
        "the same trees once written out"
    );
    // A circle among them, reported at the [name, expression] pair that closes it.
    let circle = shipped.replace("\"exp(lambda*x)\"", "\"exp(lambda*v)\"");
    // u uses e, e uses v, v uses e: the circle closes at v's use of e.
    let line = 1 + circle[..circle.find("[\"v\", ").unwrap()]
        .matches('\n')
        .count();
    fails(
        &circle,
        &[
            &format!("case.toml:{line}:5"),
            "pinn.definitions.1",
            "in a circle",
            "e -> v -> e",
        ],
    );
}

// ---- the expression API ----------------------------------------------------------------

#[test]
fn definitions_are_written_out_with_exact_derivatives() {
    use nabla::eval::{EvalOptions, Operator, Points, evaluate};
    let defs = Definitions::new(
        &[("s", "r2*w"), ("r2", "x^2 + y^2"), ("w", "exp(-t*r2)")],
        &[],
    )
    .unwrap();
    assert_eq!(defs.names().collect::<Vec<_>>(), ["r2", "w", "s"]);
    let f = ExprField::with_definitions(&["s + y"], 2, 0.5, &[], &defs).unwrap();
    let long = ExprField::new(&["((x^2 + y^2)*(exp(-t*(x^2 + y^2)))) + y"], 2, 0.5, &[]).unwrap();
    assert_eq!(f.bound(), long.bound(), "the same tree once written out");
    let pts = Points::from_rows(2, &[[0.3, -0.7, 0.0], [1.1, 0.2, 0.0]]).unwrap();
    let ops = [Operator::Grad, Operator::Lap];
    let a = evaluate(&f, &pts, &ops, &EvalOptions::default()).unwrap();
    let b = evaluate(&long, &pts, &ops, &EvalOptions::default()).unwrap();
    assert_eq!(a, b);
    // f = s(r²) + y with s = r² e^(−r²/2): ∂f/∂x = 2x (1 − r²/2) e^(−r²/2).
    let (x, y) = (0.3f64, -0.7f64);
    let r2 = x * x + y * y;
    let dfdx = 2.0 * x * (1.0 - r2 / 2.0) * (-r2 / 2.0).exp();
    assert!((a[0].values[0] - dfdx).abs() < 1e-14);
}

#[test]
fn definition_errors_carry_the_index_and_column() {
    let e = Definitions::new(&[("a", "b"), ("b", "a")], &[]).unwrap_err();
    assert!(
        matches!(
            e,
            DefinitionError::Cycle {
                index: 1,
                column: 1,
                ..
            }
        ),
        "{e}"
    );
    let e = Definitions::new(&[("a", "x +")], &[]).unwrap_err();
    assert!(matches!(e, DefinitionError::Expr { index: 0, .. }), "{e}");
    let e = Definitions::new(&[("ok", "x"), ("pi", "x")], &[]).unwrap_err();
    assert!(matches!(e, DefinitionError::Name { index: 1, .. }), "{e}");
    let e = Definitions::new(&[("a", "x"), ("a", "y")], &[]).unwrap_err();
    assert!(e.to_string().contains("given twice"), "{e}");
    // A field naming a constant like a definition.
    let defs = Definitions::new(&[("k", "x")], &[]).unwrap();
    assert!(ExprField::with_definitions(&["k"], 2, 0.0, &[("k", 1.0)], &defs).is_err());
}

#[test]
fn definitions_that_double_at_every_level_are_refused_not_expanded() {
    // d0 = x, d1 = d0*d0, …: d40 would be 2^40 operations written out.
    let names: Vec<String> = (0..=40).map(|i| format!("d{i}")).collect();
    let mut defs = vec![(names[0].clone(), "x".to_string())];
    for i in 1..=40 {
        defs.push((names[i].clone(), format!("{0}*{0}", names[i - 1])));
    }
    let e = Definitions::new(&defs, &[]).unwrap_err();
    assert!(
        e.to_string()
            .contains(&format!("more than {MAX_WRITTEN_OUT} operations")),
        "{e}"
    );
    // Depth: a chain of definitions each nesting 400 levels, 1200 once written out.
    let deep = |inner: &str| format!("{}{inner}{}", "(1+".repeat(400), ")".repeat(400));
    let defs = [("a", deep("x")), ("b", deep("a")), ("c", deep("b"))];
    let e = Definitions::new(&defs, &[]).unwrap_err();
    assert!(e.to_string().contains("levels deep"), "{e}");
    // Within the limits the names a parsed expression uses are listed with columns.
    let e = Expr::parse("r2 + sin(k*x)").unwrap();
    assert_eq!(
        e.names(),
        [
            ("r2".to_string(), 1),
            ("k".to_string(), 10),
            ("x".to_string(), 12)
        ]
    );
}
