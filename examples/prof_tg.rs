use nabla::eval::{EvalOptions, Operator, Points, evaluate};
use nabla::field::FnField;
fn main() {
    let k = 100;
    let h = 0.0628;
    let mut cols = vec![Vec::new(); 3];
    for iz in 0..k {
        for iy in 0..k {
            for ix in 0..k {
                cols[0].push(ix as f64 * h);
                cols[1].push(iy as f64 * h);
                cols[2].push(iz as f64 * h);
            }
        }
    }
    let pts = Points::from_columns(cols).unwrap();
    let tg = FnField::new(3, |x| {
        let cz = x[2].cos();
        vec![
            x[0].sin() * x[1].cos() * cz,
            -(x[0].cos() * x[1].sin() * cz),
            x[0] * 0.0,
        ]
    });
    let full = std::env::args().nth(1).is_some();
    let ops: &[Operator] = if full {
        &[
            Operator::Jacobian,
            Operator::Div,
            Operator::Curl,
            Operator::Q,
            Operator::Lap,
            Operator::Lambda2,
        ]
    } else {
        &[
            Operator::Jacobian,
            Operator::Div,
            Operator::Curl,
            Operator::Q,
        ]
    };
    for _ in 0..10 {
        std::hint::black_box(evaluate(&tg, &pts, ops, &EvalOptions::default()).unwrap());
    }
}
