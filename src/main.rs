//! The `nabla` command: run a case directory and print its summary.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use nabla::Error;
use nabla::case::{RunOptions, clean_message, run_on};
use nabla::parallel::Ranks;

/// Exact differential operators (grad, div, curl, Laplacian, Hessian, Q, λ2, …) of fields on
/// point clouds and meshes, by batched reverse-mode automatic differentiation.
///
/// Runs the case in CASE_DIR: reads CASE_DIR/case.toml, evaluates its fields and their
/// operators at every point, compares with the exact answers the case gives, writes VTK
/// files for ParaView to CASE_DIR/VTK/ (or --output DIR) and prints a summary table.
/// CASE_DIR may also be the path of the case file itself (cases/NAME/case.toml).
#[derive(Parser, Debug)]
#[command(version, about, long_about)]
struct Cli {
    /// The case directory (holding case.toml), e.g. cases/taylor_green, or the path of its
    /// case.toml.
    case_dir: PathBuf,
    /// Number of threads, at most 1024 (default: all cores; RAYON_NUM_THREADS also works).
    #[arg(short = 'j', long)]
    threads: Option<usize>,
    /// Points per chunk: each chunk gets its own tape (a few thousand keeps it in cache).
    #[arg(long, default_value_t = 2048)]
    chunk_size: usize,
    /// No progress bar.
    #[arg(short, long)]
    quiet: bool,
    /// Physics-informed cases: continue training from CASE_DIR/VTK/checkpoint.json (or
    /// DIR/checkpoint.json with --output DIR), up to the configured number of iterations.
    #[arg(long, conflicts_with = "evaluate_only")]
    resume: bool,
    /// Physics-informed cases: no training; evaluate the network saved in
    /// CASE_DIR/VTK/checkpoint.json (or DIR/checkpoint.json with --output DIR) and write its
    /// fields.
    #[arg(long)]
    evaluate_only: bool,
    /// Every warning is an error, and nothing is written: a value that is not finite (NaN or
    /// infinite) in an output array, or a training whose final loss did not fall below its
    /// first by the case's pinn.min_loss_reduction (default 10). Without it such values are
    /// written and counted in the summary, and both are warned about on stderr.
    #[arg(long)]
    strict: bool,
    /// Write the results to DIR instead of CASE_DIR/VTK/. DIR is replaced as a whole when
    /// the run completes, as VTK/ is (files of the old DIR that the run does not write are
    /// kept); the run stages its files in a hidden folder beside DIR.
    #[arg(short, long, value_name = "DIR")]
    output: Option<PathBuf>,
}

/// The most threads `--threads` (or `RAYON_NUM_THREADS`) may ask for: starting each costs
/// time and memory, and far more threads than cores only slow a run down.
const MAX_THREADS: usize = 1024;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Under `mpirun` (with the `mpi` feature) every rank runs this; otherwise one rank.
    let ranks = match Ranks::from_env() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {}", clean_message(&e.to_string()));
            return ExitCode::FAILURE;
        }
    };
    let threads = cli.threads.or_else(|| shared_cores(&ranks));
    if cli.threads.is_none()
        && let Some(t) = std::env::var("RAYON_NUM_THREADS")
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .filter(|&t| t > MAX_THREADS)
    {
        eprintln!("error: RAYON_NUM_THREADS={t} is more than the limit of {MAX_THREADS}");
        return ExitCode::FAILURE;
    }
    if let Some(t) = threads {
        if t == 0 {
            eprintln!("error: --threads must be at least 1");
            return ExitCode::FAILURE;
        }
        if t > MAX_THREADS {
            eprintln!("error: --threads {t} is more than the limit of {MAX_THREADS}");
            return ExitCode::FAILURE;
        }
        if let Err(e) = rayon::ThreadPoolBuilder::new()
            .num_threads(t)
            .build_global()
        {
            eprintln!("error: cannot start {t} threads: {e}");
            return ExitCode::FAILURE;
        }
    }
    if cli.chunk_size == 0 {
        eprintln!("error: --chunk-size must be at least 1");
        return ExitCode::FAILURE;
    }
    let opts = RunOptions {
        quiet: cli.quiet,
        chunk_size: cli.chunk_size,
        resume: cli.resume,
        evaluate_only: cli.evaluate_only,
        strict: cli.strict,
        output: cli.output,
    };
    match run_on(&cli.case_dir, &opts, &ranks) {
        Ok(summary) => {
            if ranks.is_root() {
                // The summary holds text from the case (its description, file names):
                // control characters are escaped, as in every message.
                print!("{}", clean_message(&summary.to_string()));
                for w in summary.warnings() {
                    eprintln!("warning: {}", clean_message(&w));
                }
            }
            ExitCode::SUCCESS
        }
        // The rank that failed first reports it; the others stay quiet.
        Err(Error::OtherRank { .. }) => ExitCode::FAILURE,
        Err(e) => {
            // An error about the ranks names its rank already.
            let who = if ranks.size() > 1 && !matches!(e, Error::Ranks { .. }) {
                format!(" (rank {} of {})", ranks.rank(), ranks.size())
            } else {
                String::new()
            };
            eprintln!("error{who}: {}", clean_message(&e.to_string()));
            ExitCode::FAILURE
        }
    }
}

/// With several ranks on this machine and no thread count given (`--threads`,
/// `RAYON_NUM_THREADS`), the cores shared among them, so that ranks × threads = cores.
fn shared_cores(ranks: &Ranks) -> Option<usize> {
    if ranks.size() == 1 || std::env::var_os("RAYON_NUM_THREADS").is_some() {
        return None;
    }
    let local = nabla::parallel::local_ranks()?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    Some((cores / local).max(1))
}
