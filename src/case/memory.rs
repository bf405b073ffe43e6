//! How much memory a run needs at its peak, estimated from the arrays the case asks for,
//! and the refusal of runs that cannot fit.

use super::config::{DataRef, PointsSpec};
use super::load::Case;
use crate::error::Result;
use crate::eval::Operator;

/// Copies of every output array alive at the peak of a run, measured: the arrays of
/// one time as evaluated and their copy in the writer's model (the file's text is written
/// batch by batch, never held whole), with the allocator's slack and a margin (with 3
/// copies the estimate was 1.20 times the measured peak of a lattice case with every
/// operator, and 1.07 times that of a 10⁶-cell OpenFOAM case).
const COPIES_AT_PEAK: u64 = 4;

/// Bytes per point besides the arrays: coordinates (as columns and as rows), the
/// evaluator's per-chunk tapes averaged over the points, and the allocator's slack.
const FIXED_PER_POINT: u64 = 96;

/// Bytes a run over `n` points of dimension `d` needs at its peak, from the arrays the
/// case asks for: every field's value, operators, error arrays against exact answers or
/// compared arrays, the `[mms]` source terms, the network's fields, and `carried` values
/// per point from the input file, and the coordinates of points that are not a lattice.
/// Measured against real peaks (see the tests); the
/// estimate is meant to be at or above them, never far below.
pub(super) fn estimate_bytes(case: &Case, n: usize, d: usize, carried: usize) -> u128 {
    let comps = |op: Operator, m: usize| op.components(m, d).unwrap_or(d * d * d) as u64;
    // Points that are not a lattice are written as an array of coordinates too.
    let coordinates = if matches!(case.spec.points, PointsSpec::Lattice { .. }) {
        0
    } else {
        3
    };
    let mut per_point: u64 = (carried + coordinates) as u64;
    let field_comps = |f: &super::config::FieldSpec| match (&f.value, &f.data) {
        (Some(v), _) => v.get_ref().0.len(),
        (None, Some(r)) => match r.get_ref() {
            DataRef::Many(v) => v.len(),
            DataRef::One(_) => d,
        },
        _ => 1,
    };
    for f in &case.spec.fields {
        let m = field_comps(f);
        let mut ops = vec![Operator::Value];
        ops.extend(f.operators.iter().copied());
        ops.extend(f.exact.keys().copied());
        ops.extend(f.compare.keys().copied());
        if let Some(mms) = &case.spec.mms {
            if mms.velocity == f.name {
                ops.extend([Operator::Advection, Operator::Lap, Operator::Div]);
            }
            if mms.pressure == f.name {
                ops.push(Operator::Grad);
            }
        }
        ops.sort_by_key(|o| o.name());
        ops.dedup();
        per_point += ops.iter().map(|&o| comps(o, m)).sum::<u64>();
        per_point += f
            .exact
            .keys()
            .chain(f.compare.keys())
            .map(|&o| comps(o, m))
            .sum::<u64>();
    }
    if let Some(mms) = &case.spec.mms {
        let errors = mms.exact_momentum.as_ref().map_or(0, |_| d)
            + mms.exact_continuity.as_ref().map_or(0, |_| 1);
        per_point += (d + 1 + errors) as u64;
    }
    if let Some(cfg) = &case.spec.pinn {
        let out = &case.spec.pinn_output;
        let equations = matches!(cfg.pde, crate::pinn::PdeConfig::Equations { .. });
        let m = if equations {
            cfg.outputs()
        } else if cfg.outputs() > 1 {
            d
        } else {
            1
        };
        per_point += (2 * m) as u64 + out.operators.iter().map(|&o| comps(o, m)).sum::<u64>();
        if cfg.outputs() > 1 && !equations {
            per_point += 1 + out
                .pressure_operators
                .iter()
                .map(|&o| comps(o, 1))
                .sum::<u64>();
        }
    }
    (n as u128) * u128::from(FIXED_PER_POINT + 8 * COPIES_AT_PEAK * per_point)
}

/// Values a network's tapes hold at their peak, per point of a chunk and per unit of
/// layer width: the layer's forward values, the jets' tangents and second-order entries
/// (or reverse mode's recorded passes, for the output operators) and the backward pass
/// over them; measured on deep narrow networks (see the tests), with room to spare.
const NETWORK_VALUES_PER_WIDTH: u128 = 96;

/// Tape nodes per layer of a network at the peak, and the bytes of each beside its
/// values (the node, its op and shape, the allocator's slack).
const NETWORK_NODES_PER_LAYER: u128 = 96;
const NODE_BYTES: u128 = 256;

/// Copies of a data file's samples held while data fields exist: the file as read, the
/// fields' samples and their grid of bins (or k-d tree).
const DATA_COPIES: u128 = 3;

/// Bytes a run needs besides the per-point arrays of [`estimate_bytes`]: the tapes of a
/// physics-informed network, one per chunk evaluated at once (`threads`, chunks of the
/// training's `chunk_size` or the evaluation's `eval_chunk` points, whichever is larger),
/// with every chunk's gradient gathered at each step; and the samples of the data fields
/// (`data`: the data file's points and values per point), held for the whole run.
pub(super) fn extra_bytes(
    case: &Case,
    eval_chunk: usize,
    threads: usize,
    data: Option<(usize, usize)>,
) -> u128 {
    let mut bytes = 0u128;
    if let Some(cfg) = &case.spec.pinn {
        let hidden = &cfg.network.hidden;
        let widths: u128 = hidden.iter().map(|&w| w as u128).sum::<u128>() + cfg.outputs() as u128;
        let layers = hidden.len() as u128 + 1;
        let chunk = cfg.points.chunk_size.max(eval_chunk) as u128;
        let per_chunk = chunk * widths * NETWORK_VALUES_PER_WIDTH * 8
            + layers * NETWORK_NODES_PER_LAYER * NODE_BYTES;
        // Parameters: weights and biases of each layer, from the input dimension on.
        let mut params = 0u128;
        let mut fan_in = cfg.dim() as u128;
        for &w in hidden.iter().chain(std::iter::once(&cfg.outputs())) {
            params += (fan_in + 1) * w as u128;
            fan_in = w as u128;
        }
        let points = (cfg.points.interior + cfg.points.boundary) as u128;
        let chunks = points.div_ceil(cfg.points.chunk_size.max(1) as u128);
        // Each chunk's gradient, gathered at every step, and Adam's state.
        bytes += threads as u128 * per_chunk + (chunks + 8) * params * 8;
    }
    if let Some((samples, values)) = data {
        bytes += DATA_COPIES * samples as u128 * (24 + 8 * values as u128);
    }
    bytes
}

/// Refuses a run whose network or data fields, with the arrays over `n` points of
/// dimension `d` and `carried` input values per point, cannot fit in memory; the error
/// points at the network's widths when the network alone is too large.
pub(super) fn check_total_memory(
    case: &Case,
    n: usize,
    d: usize,
    carried: usize,
    extra: u128,
) -> Result<()> {
    let arrays = estimate_bytes(case, n, d, carried);
    let available = u128::from(available_memory());
    if arrays + extra <= available {
        return Ok(());
    }
    let gib = |b: u128| b as f64 / 2f64.powi(30);
    let (key, what) = if case.spec.pinn.is_some() && extra > available {
        (
            "pinn.network.hidden",
            "pinn.network.hidden: the network is too large for memory: its tapes (a chunk of \
             points × the sum of the layer widths, per thread) with the rest of the run",
        )
    } else {
        (
            "points",
            "points: the run's arrays with the network's tapes and the data fields' samples",
        )
    };
    Err(case.input.error_key(
        key,
        format!(
            "{what} need about {:.1} GiB, but only {:.1} GiB of memory is available",
            gib(arrays + extra),
            gib(available)
        ),
    ))
}

/// Refuses point sets whose run cannot fit in memory (see [`estimate_bytes`]).
pub(super) fn check_memory(n: usize, d: usize, carried: usize, case: &Case) -> Result<()> {
    let bytes = estimate_bytes(case, n, d, carried);
    let available = available_memory();
    if bytes > u128::from(available) {
        return Err(case.input.error_key(
            "points",
            format!(
                "points: {n} points need about {:.1} GiB for their arrays, but only {:.1} GiB \
                 of memory is available",
                bytes as f64 / 2f64.powi(30),
                available as f64 / 2f64.powi(30)
            ),
        ));
    }
    Ok(())
}

/// Bytes of memory available, from /proc/meminfo (16 GiB where that cannot be read).
fn available_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemAvailable:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(16 << 30, |kb| kb * 1024)
}
