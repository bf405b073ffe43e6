//! The expression parser: parse, bind (variables, constants, none), evaluate in f64 and on
//! the tape, and format the errors (their carets count columns in characters).
#![no_main]

use libfuzzer_sys::fuzz_target;
use nabla::autodiff::{Tape, Tensor};
use nabla::field::expr::{Expr, ExprField};

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    match Expr::parse(src) {
        Err(e) => {
            let _ = (e.caret(), e.to_string(), e.column());
        }
        Ok(e) => {
            for names in [&["x", "y", "z"][..], &[]] {
                match e.bind_with(names, &[("t", 0.5), ("nu", 1e-2)]) {
                    Err(err) => {
                        let _ = (err.caret(), err.to_string());
                    }
                    Ok(b) => {
                        let v = b.eval_f64(&[0.25, -1.5, 3.0][..names.len()]);
                        let tape = Tape::new();
                        let vars: Vec<_> = (0..names.len())
                            .map(|i| tape.var(Tensor::column(vec![0.25 * i as f64, -1.5])))
                            .collect();
                        let _ = (v, b.eval(&tape, &vars).value());
                    }
                }
            }
        }
    }
    // As a case file gives it: one component per line, over x, y with a constant.
    let comps: Vec<&str> = src.lines().take(3).collect();
    if let Err(e) = ExprField::new(&comps, 2, 0.0, &[("nu", 1e-2)]) {
        let _ = e.to_string();
    }
});
