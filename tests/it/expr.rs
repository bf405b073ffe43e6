//! Formula expressions: grammar, functions, errors, derivatives through the tape, fields.

use approx::assert_relative_eq;
use nabla::Error;
use nabla::autodiff::{GradOptions, Tape, Tensor, Var, grad};
use nabla::field::Field;
use nabla::field::expr::{Expr, ExprError, ExprField, ExprFieldError, MAX_DEPTH, function_names};
use proptest::prelude::*;

const NAMES: [&str; 5] = ["x", "y", "z", "t", "nu"];

/// Value of `src` with x = `x` (and y = 0.5, z = −0.25, t = 2, nu = 0.1).
fn val(src: &str, x: f64) -> f64 {
    Expr::parse(src)
        .unwrap_or_else(|e| panic!("{src}: {e}"))
        .bind(&NAMES)
        .unwrap_or_else(|e| panic!("{src}: {e}"))
        .eval_f64(&[x, 0.5, -0.25, 2.0, 0.1])
}

fn parse_err(src: &str) -> ExprError {
    match Expr::parse(src) {
        Ok(_) => panic!("{src:?} parsed, expected an error"),
        Err(e) => e,
    }
}

fn bind_err(src: &str) -> ExprError {
    match Expr::parse(src).unwrap().bind(&NAMES) {
        Ok(_) => panic!("{src:?} bound, expected an error"),
        Err(e) => e,
    }
}

// ---------------------------------------------------------------------------------------
// Grammar

#[test]
fn expr_precedence_and_associativity() {
    let x = 3.0;
    assert_eq!(val("-x^2", x), -9.0); // −(x²), not (−x)²
    assert_eq!(val("2^3^2", x), 512.0); // 2^(3^2) = 2⁹
    assert_eq!(val("(2^3)^2", x), 64.0);
    assert_eq!(val("2*3^2", x), 18.0);
    assert_eq!(val("-2^2", x), -4.0);
    assert_eq!(val("(-2)^2", x), 4.0);
    assert_eq!(val("x^-1", x), 3.0f64.powi(-1));
    assert_eq!(val("2^-x", x), 2.0f64.powf(-3.0));
    assert_eq!(val("2^-2^2", x), 2.0f64.powi(-4)); // 2^(−(2²))
    assert_eq!(val("1-2-3", x), -4.0);
    assert_eq!(val("8/4/2", x), 1.0);
    assert_eq!(val("2+3*4", x), 14.0);
    assert_eq!(val("(2+3)*4", x), 20.0);
    assert_eq!(val("2*-3", x), -6.0);
    assert_eq!(val("--x", x), 3.0);
    assert_eq!(val("+x - -x", x), 6.0);
    assert_eq!(val("-x*2", x), -6.0);
    assert_eq!(val("x/2*4", x), 6.0); // (x/2)*4, left to right
    assert_eq!(val("x - 1 + 1", x), 3.0);
    assert_eq!(val("pow(2, 3)^2", x), 64.0);
}

#[test]
fn expr_number_syntaxes() {
    for (src, v) in [
        ("2", 2.0),
        (".5", 0.5),
        ("2.", 2.0),
        ("1.5e-3", 1.5e-3),
        ("1E5", 1e5),
        ("1e+2", 100.0),
        ("2.e1", 20.0),
        ("007", 7.0),
        ("0.000", 0.0),
        ("  7\t", 7.0),
    ] {
        assert_eq!(val(src, 0.0), v, "{src}");
    }
    // A number directly followed by a name is not a product.
    assert!(Expr::parse("2x").is_err());
}

#[test]
fn expr_whitespace_anywhere() {
    assert_eq!(
        val(" atan2 ( y ,\n x )  ^ 2 ", 1.0),
        0.5f64.atan2(1.0).powi(2)
    );
    assert_eq!(val("\u{2003}x\u{a0}*\u{a0}2", 1.5), 3.0);
}

#[test]
fn expr_every_function_matches_std() {
    type F = fn(f64) -> f64;
    let one: [(&str, F); 11] = [
        ("sqrt", f64::sqrt),
        ("exp", f64::exp),
        ("ln", f64::ln),
        ("log", f64::ln),
        ("sin", f64::sin),
        ("cos", f64::cos),
        ("tan", f64::tan),
        ("tanh", f64::tanh),
        ("sinh", f64::sinh),
        ("cosh", f64::cosh),
        ("abs", f64::abs),
    ];
    for x in [0.3, 1.7, 2.5, -0.8, 0.0] {
        for (name, f) in one {
            let got = val(&format!("{name}(x)"), x);
            let want = f(x);
            assert!(
                got == want || (got.is_nan() && want.is_nan()),
                "{name}({x}) = {got}, std {want}"
            );
        }
        assert_eq!(val("atan2(x, y)", x), x.atan2(0.5));
        assert_eq!(val("atan2(y, x)", x), 0.5f64.atan2(x));
        assert_eq!(val("pow(y, x)", x), 0.5f64.powf(x));
        assert_eq!(val("pow(x, 3)", x), x.powi(3));
        assert_eq!(val("x^2.5", x.abs()), x.abs().powf(2.5));
    }
    assert_eq!(val("pi", 0.0), std::f64::consts::PI);
    // Every function named in the list parses with its arity.
    for name in function_names().split(", ") {
        let args = if name == "atan2" || name == "pow" {
            "x, y"
        } else {
            "x"
        };
        assert!(Expr::parse(&format!("{name}({args})")).is_ok(), "{name}");
    }
    assert_eq!(function_names().split(", ").count(), 13);
}

#[test]
fn expr_constants_are_folded() {
    let b = Expr::parse("2*pi + sin(0) - 2^3^2")
        .unwrap()
        .bind(&[])
        .unwrap();
    assert_eq!(
        b.constant_value(),
        Some(2.0 * std::f64::consts::PI + 0.0f64.sin() - 512.0)
    );
    let b = Expr::parse("exp(-2*nu*t)")
        .unwrap()
        .bind_with(&["x"], &[("nu", 0.5), ("t", 1.0)])
        .unwrap();
    assert_eq!(b.constant_value(), Some((-1.0f64).exp()));
    assert!(!b.uses(0));
    // x * (1+2+3+4): the constant is folded and applied as one scalar op, so the tape
    // holds only the leaf x and the product.
    let tape = Tape::new();
    let x = tape.var(Tensor::column(vec![1.0, 2.0]));
    let b = Expr::parse("x * (1+2+3+4) ").unwrap().bind(&["x"]).unwrap();
    assert!(b.uses(0));
    let before = tape.len();
    let y = b.eval(&tape, &[x]);
    assert_eq!(tape.len(), before + 1);
    assert_eq!(y.value().unwrap().as_slice(), &[10.0, 20.0]);
    // A name in `names` shadows `pi`; a constant does not shadow a name.
    let b = Expr::parse("pi").unwrap().bind(&["pi"]).unwrap();
    assert_eq!(b.eval_f64(&[3.0]), 3.0);
    let b = Expr::parse("x")
        .unwrap()
        .bind_with(&["x"], &[("x", 9.0)])
        .unwrap();
    assert_eq!(b.eval_f64(&[3.0]), 3.0);
}

// ---------------------------------------------------------------------------------------
// Errors: message and column

#[test]
fn expr_error_messages_and_columns() {
    let fns = function_names();
    let cases: Vec<(&str, usize, String)> = vec![
        (
            "1 + sine(x)",
            5,
            format!("unknown function 'sine'; valid functions are: {fns}"),
        ),
        ("atan2(y)", 1, "atan2 takes 2 arguments, got 1".into()),
        ("2*sin(x, y)", 3, "sin takes 1 argument, got 2".into()),
        ("pow()", 1, "pow takes 2 arguments, got 0".into()),
        (
            "sin(x +",
            8,
            "unexpected end of expression; expected a number, a name or '('".into(),
        ),
        (
            "(x + 1",
            7,
            "expected ')' to close '(' at column 1, found end of expression".into(),
        ),
        (
            "((x + 1)",
            9,
            "expected ')' to close '(' at column 1, found end of expression".into(),
        ),
        (
            "sin(x y)",
            7,
            "expected ',' or ')' to close '(' at column 4, found 'y'".into(),
        ),
        (
            "cos(x",
            6,
            "expected ',' or ')' to close '(' at column 4, found end of expression".into(),
        ),
        ("x + 1)", 6, "unmatched ')' without an opening '('".into()),
        (
            "x 2",
            3,
            "expected an operator or end of expression, found number '2'; write '*' for a product"
                .into(),
        ),
        (
            "2x",
            2,
            "expected an operator or end of expression, found 'x'; write '*' for a product".into(),
        ),
        (
            "x , y",
            3,
            "expected an operator or end of expression, found ','".into(),
        ),
        (
            "",
            1,
            "empty expression; expected a number, a name or '('".into(),
        ),
        (
            "   ",
            1,
            "empty expression; expected a number, a name or '('".into(),
        ),
        (
            "1.2.3",
            1,
            "malformed number '1.2.3': a number has at most one '.'".into(),
        ),
        (
            "x + 1e",
            5,
            "malformed number '1e': expected digits after the exponent".into(),
        ),
        (
            "1e+",
            1,
            "malformed number '1e+': expected digits after the exponent".into(),
        ),
        (
            "1e999",
            1,
            "number '1e999' is too large for a 64-bit float".into(),
        ),
        ("x $ 2", 3, "unexpected character '$'".into()),
        (
            "x ** 2",
            4,
            "expected a number, a name or '(', found '*'; use '^' for powers".into(),
        ),
        (
            "x * )",
            5,
            "expected a number, a name or '(', found ')'".into(),
        ),
        (
            "sin(x,)",
            7,
            "expected a number, a name or '(', found ')'".into(),
        ),
        (".", 1, "unexpected character '.'".into()),
        // Columns count characters, not bytes: each em space is 3 bytes in UTF-8.
        ("x +\u{2003}\u{2003}$", 6, "unexpected character '$'".into()),
        ("é", 1, "unexpected character 'é'".into()),
    ];
    for (src, col, msg) in cases {
        let e = parse_err(src);
        assert_eq!((e.column(), e.message()), (col, msg.as_str()), "{src:?}");
        assert_eq!(e.expression(), src);
        assert_eq!(e.to_string(), format!("column {col}: {msg}"));
    }
}

#[test]
fn expr_bind_errors_list_valid_names() {
    let e = bind_err("sin(x) + w*2");
    assert_eq!(e.column(), 10);
    assert_eq!(
        e.message(),
        "unknown variable 'w'; valid names are: x, y, z, t, nu, pi"
    );
    let e = bind_err("x + sin");
    assert_eq!(
        (e.column(), e.message()),
        (5, "'sin' is a function; call it as sin(...)")
    );
    let e = Expr::parse("a*b")
        .unwrap()
        .bind_with(&["x", "y"], &[("a", 1.0), ("k", 2.0)])
        .unwrap_err();
    assert_eq!(
        (e.column(), e.message()),
        (3, "unknown variable 'b'; valid names are: x, y, a, k, pi")
    );
    let e = Expr::parse("q").unwrap().bind(&["pi"]).unwrap_err();
    assert_eq!(e.message(), "unknown variable 'q'; valid names are: pi");
}

#[test]
fn expr_caret_display() {
    let e = parse_err("sin(x +");
    assert_eq!(
        e.caret(),
        "sin(x +\n       ^ unexpected end of expression; expected a number, a name or '('"
    );
    let e = bind_err("x +\ttheta");
    assert_eq!(
        e.caret(),
        "x + theta\n    ^ unknown variable 'theta'; valid names are: x, y, z, t, nu, pi"
    );
}

#[test]
fn expr_deep_nesting_is_an_error_not_a_stack_overflow() {
    let n = 5000;
    let src = format!("{}x{}", "(".repeat(n), ")".repeat(n));
    assert!(parse_err(&src).message().contains("nested too deeply"));
    let src = format!("{}x", "-".repeat(n));
    assert!(parse_err(&src).message().contains("nested too deeply"));
    let src = format!("x{}", "+x".repeat(n));
    assert!(parse_err(&src).message().contains("nested too deeply"));
    let src = format!("x{}", "^x".repeat(n));
    assert!(parse_err(&src).message().contains("nested too deeply"));
    // Within the limit: fine.
    let k = MAX_DEPTH / 2;
    let src = format!("{}x{}", "(".repeat(k), ")".repeat(k));
    assert_eq!(val(&src, 4.0), 4.0);
    let src = format!("x{}", "+x".repeat(100));
    assert_eq!(val(&src, 1.0), 101.0);
}

// ---------------------------------------------------------------------------------------
// Derivatives through the tape

/// `(f, ∂f/∂x, ∂f/∂y)` of a bound expression of x, y on a column of points.
fn tape_grad(src: &str, xs: &[f64], ys: &[f64]) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let b = Expr::parse(src).unwrap().bind(&["x", "y"]).unwrap();
    let tape = Tape::new();
    let x = tape.var(Tensor::column(xs.to_vec()));
    let y = tape.var(Tensor::column(ys.to_vec()));
    let f = b.eval(&tape, &[x, y]);
    let ones = tape.full(xs.len(), 1, 1.0);
    let g = grad(
        &[f],
        &[x, y],
        &[ones],
        GradOptions::default().allow_unused(),
    )
    .unwrap();
    let col = |v: Var| v.value().unwrap().as_slice().to_vec();
    (col(f), col(g[0]), col(g[1]))
}

#[test]
fn expr_derivatives_match_closed_forms() {
    type F = fn(f64, f64) -> f64;
    let cases: [(&str, F, F, F); 18] = [
        (
            "x^3*y",
            |x, y| x.powi(3) * y,
            |x, y| 3.0 * x * x * y,
            |x, _| x.powi(3),
        ),
        (
            "sqrt(x)",
            |x, _| x.sqrt(),
            |x, _| 0.5 / x.sqrt(),
            |_, _| 0.0,
        ),
        (
            "exp(2*x)",
            |x, _| (2.0 * x).exp(),
            |x, _| 2.0 * (2.0 * x).exp(),
            |_, _| 0.0,
        ),
        (
            "ln(x*y)",
            |x, y| (x * y).ln(),
            |x, _| 1.0 / x,
            |_, y| 1.0 / y,
        ),
        ("log(x)", |x, _| x.ln(), |x, _| 1.0 / x, |_, _| 0.0),
        (
            "sin(x)*cos(y)",
            |x, y| x.sin() * y.cos(),
            |x, y| x.cos() * y.cos(),
            |x, y| -x.sin() * y.sin(),
        ),
        (
            "tan(x)",
            |x, _| x.tan(),
            |x, _| 1.0 / x.cos().powi(2),
            |_, _| 0.0,
        ),
        (
            "tanh(x)",
            |x, _| x.tanh(),
            |x, _| 1.0 - x.tanh().powi(2),
            |_, _| 0.0,
        ),
        ("sinh(x)", |x, _| x.sinh(), |x, _| x.cosh(), |_, _| 0.0),
        ("cosh(x)", |x, _| x.cosh(), |x, _| x.sinh(), |_, _| 0.0),
        (
            "abs(x-1)",
            |x, _| (x - 1.0).abs(),
            |x, _| (x - 1.0).signum(),
            |_, _| 0.0,
        ),
        (
            "atan2(y, x)",
            |x, y| y.atan2(x),
            |x, y| -y / (x * x + y * y),
            |x, y| x / (x * x + y * y),
        ),
        (
            "x^y",
            |x, y| x.powf(y),
            |x, y| y * x.powf(y - 1.0),
            |x, y| x.powf(y) * x.ln(),
        ),
        (
            "pow(x, 0.5)",
            |x, _| x.sqrt(),
            |x, _| 0.5 / x.sqrt(),
            |_, _| 0.0,
        ),
        (
            "2^x",
            |x, _| 2f64.powf(x),
            |x, _| 2f64.powf(x) * 2f64.ln(),
            |_, _| 0.0,
        ),
        (
            "x^-2",
            |x, _| x.powi(-2),
            |x, _| -2.0 / x.powi(3),
            |_, _| 0.0,
        ),
        (
            "1/x - y/3",
            |x, y| 1.0 / x - y / 3.0,
            |x, _| -1.0 / (x * x),
            |_, _| -1.0 / 3.0,
        ),
        (
            "-(x+y)*(y+3)",
            |x, y| -(x + y) * (y + 3.0),
            |_, y| -(y + 3.0),
            |x, y| -(2.0 * y + x + 3.0),
        ),
    ];
    let xs = [0.3, 0.9, 1.7, 2.6];
    let ys = [0.4, 1.1, 0.7, 2.2];
    for (src, f, fx, fy) in cases {
        let (v, gx, gy) = tape_grad(src, &xs, &ys);
        for i in 0..xs.len() {
            let (x, y) = (xs[i], ys[i]);
            assert_relative_eq!(v[i], f(x, y), max_relative = 1e-14);
            assert_relative_eq!(gx[i], fx(x, y), max_relative = 1e-13, epsilon = 1e-15);
            assert_relative_eq!(gy[i], fy(x, y), max_relative = 1e-13, epsilon = 1e-15);
        }
    }
}

#[test]
fn expr_derivatives_are_exact_where_the_seed_says_so() {
    // d/dx sin = cos exactly, and ∂/∂x (x+y)(y+3) = 5, ∂/∂y = 8 at (1, 2).
    let xs = [0.1, 0.7, 2.3];
    let (_, gx, _) = tape_grad("sin(x)", &xs, &[0.0; 3]);
    for (g, x) in gx.iter().zip(xs) {
        assert_eq!(*g, x.cos());
    }
    let (_, gx, gy) = tape_grad("(x+y)*(y+3)", &[1.0], &[2.0]);
    assert_eq!((gx[0], gy[0]), (5.0, 8.0));
    // ∇·∇(x·x) = 2 through a second backward pass.
    let b = Expr::parse("x*x").unwrap().bind(&["x"]).unwrap();
    let tape = Tape::new();
    let x = tape.var(Tensor::column(vec![0.5, 3.0]));
    let f = b.eval(&tape, &[x]);
    let ones = tape.full(2, 1, 1.0);
    let g = grad(&[f], &[x], &[ones], GradOptions::create_graph()).unwrap()[0];
    let h = grad(&[g], &[x], &[ones], GradOptions::default()).unwrap()[0];
    assert_eq!(g.value().unwrap().as_slice(), &[1.0, 6.0]);
    assert_eq!(h.value().unwrap().as_slice(), &[2.0, 2.0]);
}

#[test]
fn expr_scalar_variables_broadcast_over_columns() {
    // f = x·exp(−t): x an N×1 column, t a 1×1 scalar. ∂f/∂t summed over the points.
    let b = Expr::parse("x*exp(-t)").unwrap().bind(&["x", "t"]).unwrap();
    let tape = Tape::new();
    let x = tape.var(Tensor::column(vec![1.0, 2.0, 3.0]));
    let t = tape.var(Tensor::scalar(0.5));
    let f = b.eval(&tape, &[x, t]);
    assert_eq!(f.shape(), (3, 1));
    let ones = tape.full(3, 1, 1.0);
    let g = grad(&[f], &[x, t], &[ones], GradOptions::default()).unwrap();
    assert_eq!(g[1].shape(), (1, 1));
    assert_relative_eq!(
        g[1].item().unwrap(),
        -6.0 * (-0.5f64).exp(),
        max_relative = 1e-15
    );
}

#[test]
fn expr_eval_with_too_few_vars_is_a_tape_error() {
    let b = Expr::parse("x + y").unwrap().bind(&["x", "y"]).unwrap();
    assert_eq!(b.num_vars(), 2);
    let tape = Tape::new();
    let x = tape.var(Tensor::scalar(1.0));
    let v = b.eval(&tape, &[x]);
    assert!(matches!(v.value(), Err(Error::Operator { .. })));
    assert!(tape.check().is_err());
}

#[test]
fn expr_tape_and_f64_agree_bit_for_bit() {
    // Every way a constant operand is applied on the tape (scalar ops on either side,
    // constant bases and angles), and a mixed expression.
    let srcs = [
        "2 - x",
        "x - 2",
        "2 / x",
        "x / 3",
        "2 + x",
        "x + 2",
        "3 * x",
        "x * 3",
        "2^x",
        "x^3",
        "x^0.5",
        "x^y",
        "atan2(1, x)",
        "atan2(x, 1)",
        "-x",
        "pow(2, y)",
        "sin(x)^2*exp(-y/3) + atan2(y, x)^-1 - pow(abs(x), y) + sqrt(x*x+y*y)/tanh(x)",
    ];
    let xs = [0.3, 1.2, 2.9];
    let ys = [-0.4, 0.8, 1.5];
    for src in srcs {
        let b = Expr::parse(src).unwrap().bind(&["x", "y"]).unwrap();
        let (v, _, _) = tape_grad(src, &xs, &ys);
        for i in 0..3 {
            assert_eq!(
                v[i].to_bits(),
                b.eval_f64(&[xs[i], ys[i]]).to_bits(),
                "{src} at {i}"
            );
        }
    }
    // And against plain Rust for the constant-operand forms.
    let b = |s: &str| {
        Expr::parse(s)
            .unwrap()
            .bind(&["x"])
            .unwrap()
            .eval_f64(&[0.7])
    };
    assert_eq!(b("2 - x"), 2.0 - 0.7);
    assert_eq!(b("x - 2"), 0.7 - 2.0);
    assert_eq!(b("2 / x"), 2.0 / 0.7);
    assert_eq!(b("x / 3"), 0.7 / 3.0);
    assert_eq!(b("atan2(1, x)"), 1.0f64.atan2(0.7));
}

// ---------------------------------------------------------------------------------------
// ExprField

#[test]
fn expr_field_taylor_green_jacobian() {
    let nu = 0.01;
    let t = 1.5;
    let u = ExprField::new(
        &[
            "sin(x)*cos(y)*cos(z)*exp(-2*nu*t)",
            "-cos(x)*sin(y)*cos(z)*exp(-2*nu*t)",
            "0",
        ],
        3,
        t,
        &[("nu", nu)],
    )
    .unwrap();
    assert_eq!((u.components(), u.dim(), u.time()), (3, 3, t));
    let pts: [[f64; 3]; 4] = [
        [0.1, 0.2, 0.3],
        [1.0, -2.0, 0.5],
        [3.0, 0.7, -1.2],
        [-0.4, 2.2, 2.9],
    ];
    let tape = Tape::new();
    let x: Vec<Var> = (0..3)
        .map(|d| tape.var(Tensor::column(pts.iter().map(|p| p[d]).collect())))
        .collect();
    let comps = u.eval(&tape, &x);
    assert!(comps.iter().all(|c| c.shape() == (4, 1)));
    let ones = tape.full(4, 1, 1.0);
    let decay = (-2.0 * nu * t).exp();
    // Jacobian rows J[i][j] = ∂uᵢ/∂xⱼ, closed forms of the Taylor–Green vortex.
    let j0 = grad(&[comps[0]], &x, &[ones], GradOptions::retain_graph()).unwrap();
    let j1 = grad(&[comps[1]], &x, &[ones], GradOptions::retain_graph()).unwrap();
    for (k, p) in pts.iter().enumerate() {
        let (sx, cx) = p[0].sin_cos();
        let (sy, cy) = p[1].sin_cos();
        let (sz, cz) = p[2].sin_cos();
        let want0 = [cx * cy * cz, -sx * sy * cz, -sx * cy * sz].map(|v| v * decay);
        let want1 = [sx * sy * cz, -cx * cy * cz, cx * sy * sz].map(|v| v * decay);
        for d in 0..3 {
            assert_relative_eq!(
                j0[d].value().unwrap()[(k, 0)],
                want0[d],
                epsilon = 1e-15,
                max_relative = 1e-13
            );
            assert_relative_eq!(
                j1[d].value().unwrap()[(k, 0)],
                want1[d],
                epsilon = 1e-15,
                max_relative = 1e-13
            );
        }
        // Divergence-free: ∂u/∂x + ∂v/∂y = 0.
        let div = j0[0].value().unwrap()[(k, 0)] + j1[1].value().unwrap()[(k, 0)];
        assert!(div.abs() < 1e-15, "div = {div}");
        assert_eq!(comps[2].value().unwrap()[(k, 0)], 0.0);
        assert_eq!(u.eval_f64(p)[0], comps[0].value().unwrap()[(k, 0)]);
    }
    // The constant component is a column independent of x.
    let g2 = grad(
        &[comps[2]],
        &x,
        &[ones],
        GradOptions::default().allow_unused(),
    )
    .unwrap();
    assert!(
        g2.iter()
            .all(|g| g.value().unwrap().as_slice().iter().all(|&v| v == 0.0))
    );
}

#[test]
fn expr_field_2d_and_time() {
    let f = ExprField::new(&["x*y*exp(-t)"], 2, 0.0, &[]).unwrap();
    assert_eq!(f.eval_f64(&[2.0, 3.0]), vec![6.0]);
    let later = f.at_time(1.0);
    assert_eq!(later.time(), 1.0);
    assert_eq!(later.eval_f64(&[2.0, 3.0]), vec![6.0 * (-1.0f64).exp()]);
    assert_eq!(f.sources(), vec!["x*y*exp(-t)"]);
    assert_eq!(f.bound().len(), 1);
    // A 2-D field cannot use z, and says which names it has.
    let e = ExprField::new(&["x", "y*z"], 2, 0.0, &[("nu", 1.0)]).unwrap_err();
    let ExprFieldError::Component { index, error } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(*index, 1);
    assert_eq!(
        (error.column(), error.message()),
        (3, "unknown variable 'z'; valid names are: x, y, t, nu, pi")
    );
    assert_eq!(
        e.to_string(),
        "component 1 \"y*z\": column 3: unknown variable 'z'; valid names are: x, y, t, nu, pi"
    );
    assert!(
        e.caret()
            .unwrap()
            .starts_with("y*z\n  ^ unknown variable 'z'")
    );
}

#[test]
fn expr_field_construction_errors() {
    let e = ExprField::new(&["1", "2", "sin(x"], 3, 0.0, &[]).unwrap_err();
    assert!(
        matches!(&e, ExprFieldError::Component { index: 2, .. }),
        "{e:?}"
    );
    assert!(
        e.to_string()
            .starts_with("component 2 \"sin(x\": column 6: expected ',' or ')'"),
        "{e}"
    );
    assert_eq!(
        ExprField::new(&["x"], 4, 0.0, &[]).unwrap_err(),
        ExprFieldError::Dimension(4)
    );
    assert_eq!(
        ExprField::new::<&str>(&[], 3, 0.0, &[]).unwrap_err(),
        ExprFieldError::Empty
    );
    for bad in ["x", "t", "pi", "sin", "2a", "a-b", ""] {
        let e = ExprField::new(&["x"], 3, 0.0, &[(bad, 1.0)]).unwrap_err();
        assert!(
            matches!(&e, ExprFieldError::Constant { name, .. } if name == bad),
            "{bad}: {e:?}"
        );
        assert!(e.caret().is_none());
    }
    let e = ExprField::new(&["x"], 3, 0.0, &[("a", 1.0), ("a", 2.0)]).unwrap_err();
    assert_eq!(e.to_string(), "constant 'a': given twice");
}

#[test]
fn expr_field_wrong_column_count_is_a_tape_error() {
    let f = ExprField::new(&["x", "y"], 3, 0.0, &[]).unwrap();
    let tape = Tape::new();
    let x = tape.var(Tensor::column(vec![1.0, 2.0]));
    let out = f.eval(&tape, &[x, x]);
    assert_eq!(out.len(), 2);
    assert!(matches!(out[0].value(), Err(Error::Operator { .. })));
}

// ---------------------------------------------------------------------------------------
// Property tests

const TOKENS: [&str; 28] = [
    "x", "y", "t", "nu", "pi", "w", "sin", "atan2", "pow", "sqrt", "log", "2", ".5", "1e3", "1.",
    "3e", "+", "-", "*", "/", "^", "(", ")", ",", " ", ".", "1.2.", "é",
];

/// Parses, binds and evaluates `src` however it can; must never panic.
fn exercise(src: &str) {
    match Expr::parse(src) {
        Err(e) => {
            assert!(
                e.column() >= 1 && e.column() <= src.chars().count() + 1,
                "{src:?}: {e}"
            );
            assert!(!e.message().is_empty());
            let _ = e.caret();
        }
        Ok(expr) => match expr.bind(&["x", "y", "t", "nu"]) {
            Err(e) => {
                assert!(
                    e.column() >= 1 && e.column() <= src.chars().count(),
                    "{src:?}: {e}"
                );
                let _ = e.caret();
            }
            Ok(b) => {
                let v = b.eval_f64(&[0.3, -1.2, 2.0, 0.1]);
                let tape = Tape::new();
                let vars: Vec<Var> = [0.3, -1.2, 2.0, 0.1]
                    .iter()
                    .map(|&c| tape.var(Tensor::column(vec![c, c])))
                    .collect();
                let r = b.eval(&tape, &vars).expand(2, 1).value().unwrap();
                let same = |a: f64, b: f64| a == b || (a.is_nan() && b.is_nan());
                assert!(same(r[(0, 0)], v) && same(r[(1, 0)], v), "{src:?}");
            }
        },
    }
}

/// An expression tree for the round-trip property, with its own evaluator.
#[derive(Clone, Debug)]
enum T {
    Num(f64, u8),
    Var(usize),
    Neg(Box<T>),
    Bin(char, Box<T>, Box<T>),
    Call(&'static str, Vec<T>),
}

const ONE_ARG: [&str; 11] = [
    "sqrt", "exp", "ln", "log", "sin", "cos", "tan", "tanh", "sinh", "cosh", "abs",
];

impl T {
    fn print(&self) -> String {
        match self {
            // Several number syntaxes; all print the exact value.
            T::Num(v, 0) => format!("{v}"),
            T::Num(v, 1) => format!("{v:e}"),
            T::Num(v, 2) => format!("{v:E}"),
            T::Num(v, _) => format!("{v:?}"),
            T::Var(i) => ["x", "y", "z"][*i].to_string(),
            T::Neg(a) => format!("(-{})", a.print()),
            T::Bin(op, a, b) => format!("({} {op} {})", a.print(), b.print()),
            T::Call(f, args) => format!(
                "{f}({})",
                args.iter().map(T::print).collect::<Vec<_>>().join(", ")
            ),
        }
    }

    fn has_var(&self) -> bool {
        match self {
            T::Num(..) => false,
            T::Var(_) => true,
            T::Neg(a) => a.has_var(),
            T::Bin(_, a, b) => a.has_var() || b.has_var(),
            T::Call(_, args) => args.iter().any(T::has_var),
        }
    }

    /// The documented semantics: a constant integer exponent uses powi, any other powf.
    fn pow(a: f64, e: &T, ev: f64) -> f64 {
        if !e.has_var() && ev.fract() == 0.0 && ev.abs() <= i32::MAX as f64 {
            a.powi(ev as i32)
        } else {
            a.powf(ev)
        }
    }

    fn eval(&self, v: &[f64; 3]) -> f64 {
        match self {
            T::Num(x, _) => *x,
            T::Var(i) => v[*i],
            T::Neg(a) => -a.eval(v),
            T::Bin(op, a, b) => {
                let (x, y) = (a.eval(v), b.eval(v));
                match op {
                    '+' => x + y,
                    '-' => x - y,
                    '*' => x * y,
                    '/' => x / y,
                    _ => T::pow(x, b, y),
                }
            }
            T::Call("atan2", args) => args[0].eval(v).atan2(args[1].eval(v)),
            T::Call("pow", args) => T::pow(args[0].eval(v), &args[1], args[1].eval(v)),
            T::Call(f, args) => {
                let x = args[0].eval(v);
                match *f {
                    "sqrt" => x.sqrt(),
                    "exp" => x.exp(),
                    "ln" | "log" => x.ln(),
                    "sin" => x.sin(),
                    "cos" => x.cos(),
                    "tan" => x.tan(),
                    "tanh" => x.tanh(),
                    "sinh" => x.sinh(),
                    "cosh" => x.cosh(),
                    _ => x.abs(),
                }
            }
        }
    }
}

fn tree() -> impl Strategy<Value = T> {
    let num = prop_oneof![
        (0u32..20).prop_map(f64::from),
        (0.0f64..10.0),
        (1e-6f64..1e6),
        Just(0.5),
        Just(1.5e-3),
    ];
    let leaf = prop_oneof![
        (num, 0u8..4).prop_map(|(v, s)| T::Num(v, s)),
        (0usize..3).prop_map(T::Var)
    ];
    leaf.prop_recursive(6, 48, 3, |inner| {
        prop_oneof![
            inner.clone().prop_map(|a| T::Neg(Box::new(a))),
            (
                prop::sample::select(vec!['+', '-', '*', '/', '^']),
                inner.clone(),
                inner.clone()
            )
                .prop_map(|(op, a, b)| T::Bin(op, Box::new(a), Box::new(b))),
            (prop::sample::select(ONE_ARG.to_vec()), inner.clone())
                .prop_map(|(f, a)| T::Call(f, vec![a])),
            (
                prop::sample::select(vec!["atan2", "pow"]),
                inner.clone(),
                inner
            )
                .prop_map(|(f, a, b)| T::Call(f, vec![a, b])),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn expr_random_unicode_never_panics(src in "\\PC{0,40}") {
        exercise(&src);
    }

    #[test]
    fn expr_random_token_strings_never_panic(toks in prop::collection::vec(prop::sample::select(TOKENS.to_vec()), 0..24)) {
        exercise(&toks.concat());
        exercise(&toks.join(" "));
    }

    #[test]
    fn expr_printed_tree_parses_back_to_the_same_value(
        t in tree(),
        p in prop::array::uniform3(-3.0f64..3.0),
    ) {
        let src = t.print();
        let b = Expr::parse(&src).and_then(|e| e.bind(&["x", "y", "z"]));
        let b = match b {
            Ok(b) => b,
            Err(e) => return Err(TestCaseError::fail(e.caret())),
        };
        let want = t.eval(&p);
        let got = b.eval_f64(&p);
        let same = |a: f64, b: f64| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan());
        prop_assert!(same(got, want), "{src}: parsed {got}, tree {want}");
        // The tape computes the same numbers, on a column of two points.
        let tape = Tape::new();
        let vars: Vec<Var> = p.iter().map(|&c| tape.var(Tensor::column(vec![c, c]))).collect();
        let col = b.eval(&tape, &vars).expand(2, 1).value().unwrap();
        prop_assert!(same(col[(0, 0)], want) && same(col[(1, 0)], want),
            "{src}: tape {}, tree {want}", col[(0, 0)]);
    }
}
