//! Profiling helper: times the 3-D Navier–Stokes training step of `benches/pinn.rs`.
//! `cargo run --release --example prof_pinn -- [steps] [chunk]`

use std::time::Instant;

use nabla::eval::Points;
use nabla::field::FnField;
use nabla::pinn::{Activation, LossWeights, Mlp, PinnLoss};
use rand::{Rng, SeedableRng};

fn main() {
    if std::env::var("COUNT").is_ok() {
        count_nodes();
        return;
    }
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|s| s.parse().unwrap())
        .collect();
    let steps = args.first().copied().unwrap_or(3);
    let chunk = args.get(1).copied().unwrap_or(256);
    let n = 16_384;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let pts = Points::from_columns(
        (0..3)
            .map(|_| (0..n).map(|_| rng.random_range(-1.0..1.0)).collect())
            .collect(),
    )
    .unwrap();
    let bnd = Points::from_rows(3, &[[0.0; 3]]).unwrap();
    let g = FnField::new(3, |x| vec![x[0], x[1], x[2]]);
    let w = LossWeights {
        boundary: 0.0,
        ..LossWeights::default()
    };
    let loss = PinnLoss::navier_stokes(0.01, pts, bnd, &g, w)
        .unwrap()
        .with_chunk_size(chunk)
        .unwrap();
    let net = Mlp::new(3, &[64, 64, 64], 4, Activation::Tanh, 1).unwrap();
    for _ in 0..steps {
        let t = Instant::now();
        let (l, _) = loss.value_and_grad(&net).unwrap();
        println!(
            "step {:.3} s, loss {:e}",
            t.elapsed().as_secs_f64(),
            l.total
        );
    }
}

/// Prints how many nodes each stage of one chunk records.
#[allow(dead_code)]
pub fn count_nodes() {
    use nabla::autodiff::{GradOptions, Tape, Tensor, grad};
    let net = Mlp::new(3, &[64, 64, 64], 4, Activation::Tanh, 1).unwrap();
    let tape = Tape::new();
    let vars = net.on_tape(&tape, true);
    let x: Vec<_> = (0..3)
        .map(|k| tape.var(Tensor::column(vec![0.1 * k as f64; 8])))
        .collect();
    let out = vars.forward(&x);
    println!("forward: {}", tape.len());
    let r = nabla::pinn::navier_stokes_residuals(&out, &x, 0.01).unwrap();
    println!("residuals: {}", tape.len());
    let l = r
        .iter()
        .map(|&v| (v * v).sum())
        .reduce(|a, b| a + b)
        .unwrap();
    let _ = grad(&[l], &vars.params(), &[], GradOptions::default()).unwrap();
    println!("param grad: {}", tape.len());
}
