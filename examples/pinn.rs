//! Trains the network a PINN configuration describes and prints the errors.
//!
//! `cargo run --release --example pinn -- tests/fixtures/pinn/poisson.toml out/poisson [iterations]`

use std::path::Path;

use nabla::pinn::{PinnConfig, TrainOptions, train};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, config, out, rest @ ..] = args.as_slice() else {
        return Err("usage: pinn CONFIG.toml OUT_DIR [ITERATIONS]".into());
    };
    let text = std::fs::read_to_string(config)?;
    let mut cfg = PinnConfig::from_toml(&text)?;
    if let Some(n) = rest.first() {
        cfg.optimizer.iterations = n.parse()?;
    }
    let report = train(&cfg, &TrainOptions::default(), Path::new(out))?;
    let last = report.final_loss;
    println!(
        "trained {} iterations in {:.1} s; loss {:.3e} (pde {:.3e}, continuity {:.3e}, boundary {:.3e})",
        report.history.len(),
        report.seconds,
        last.total,
        last.pde,
        last.continuity,
        last.boundary
    );
    for e in &report.errors {
        println!("relative L2 error of {}: {:.3e}", e.name, e.relative_l2);
    }
    Ok(())
}
