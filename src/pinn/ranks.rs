//! The loss's chunks shared over ranks, and the one reduction every rank count uses.
//!
//! [`PinnLoss`](super::PinnLoss) cuts its points into one global list of chunks and adds
//! the chunks' results in list order. Over N ranks, rank r computes only its contiguous
//! share of that list ([`Ranks::share`]), packs each chunk's result into a slot of
//! `4 + P` values (a valid flag, the three sums of squares, the P gradient entries), pads
//! its share to the same number of slots as every other rank, and gathers every rank's
//! slots. The shares are contiguous and held in rank order, so the valid slots of the
//! gathered buffer are the global list in order, and every rank adds them with
//! [`add_in_order`] exactly as one rank adds its own chunks: the sums are the same
//! floating-point operations on the same values in the same order, hence bit-identical
//! for any number of ranks. An allreduce would move only P values, but it adds in an
//! order MPI chooses, equal to one rank's only to round-off.

use std::ops::Range;

use crate::error::{Error, Result};
use crate::parallel::Ranks;

/// One chunk's part of the loss: its sums of squares (PDE, continuity, boundary) and its
/// contribution to the parameter gradient (empty when no gradient was asked for).
pub(super) struct ChunkOut {
    pub(super) sums: [f64; 3],
    pub(super) grad: Vec<f64>,
}

/// The chunks' sums of squares and gradients added chunk after chunk, in the order given,
/// into `params` gradient entries. The one reduction of the loss, for one rank and many:
/// sharing it is what makes them bit-identical.
pub(super) fn add_in_order<'a>(
    parts: impl IntoIterator<Item = (&'a [f64], &'a [f64])>,
    params: usize,
) -> ([f64; 3], Vec<f64>) {
    let mut sums = [0.0; 3];
    let mut grad = vec![0.0; params];
    for (s, g) in parts {
        for (a, b) in sums.iter_mut().zip(s) {
            *a += b;
        }
        for (a, b) in grad.iter_mut().zip(g) {
            *a += b;
        }
    }
    (sums, grad)
}

/// Values of one packed chunk: valid flag, three sums, `params` gradient entries.
fn slot_len(params: usize) -> usize {
    4 + params
}

/// `outs` packed into `slots` slots of [`slot_len`] values each: the chunks first (flag
/// 1), then zero slots (flag 0) up to `slots`, so that every rank sends as many values.
fn pack(outs: &[ChunkOut], slots: usize, params: usize) -> Vec<f64> {
    let mut buf = vec![0.0; slots * slot_len(params)];
    for (slot, o) in buf.chunks_exact_mut(slot_len(params)).zip(outs) {
        slot[0] = 1.0;
        slot[1..4].copy_from_slice(&o.sums);
        slot[4..4 + o.grad.len()].copy_from_slice(&o.grad);
    }
    buf
}

/// The valid slots of a gathered buffer, in buffer order, as (sums, gradient).
fn valid_slots(gathered: &[f64], params: usize) -> impl Iterator<Item = (&[f64], &[f64])> {
    gathered
        .chunks_exact(slot_len(params))
        .filter(|slot| slot[0] == 1.0)
        .map(|slot| (&slot[1..4], &slot[4..]))
}

/// The sums and gradient of all `chunks` over `ranks` (collective: every rank calls it
/// with the same `chunks` and `params`): this rank runs `compute` on its share of the
/// chunk indices only (results in share order), then the ranks agree and gather.
///
/// A rank whose `compute` fails still takes part in both collectives, so no rank waits
/// for another; the error returned on every rank is that of the lowest failing rank,
/// which holds the earliest failing chunk of the global list, as one rank would report
/// (other ranks get [`Error::OtherRank`]).
///
/// # Errors
/// As described; [`Error::Ranks`] if the gathered chunks are not `chunks` (internal).
pub(super) fn gather_sums(
    ranks: &Ranks,
    chunks: usize,
    params: usize,
    compute: impl FnOnce(Range<usize>) -> Result<Vec<ChunkOut>>,
) -> Result<([f64; 3], Vec<f64>)> {
    let slots = chunks.div_ceil(ranks.size().max(1));
    let local = injected_failure(ranks)
        .and_then(|()| compute(ranks.share(chunks)))
        .map(|outs| pack(&outs, slots, params));
    let packed = ranks.agree(local)?;
    let gathered = ranks.all_gather(&packed)?;
    let found = valid_slots(&gathered, params).count();
    if found != chunks {
        return Err(Error::Ranks {
            rank: ranks.rank(),
            size: ranks.size(),
            message: format!("internal: gathered {found} chunks of the loss, expected {chunks}"),
        });
    }
    Ok(add_in_order(valid_slots(&gathered, params), params))
}

/// A failure injected on one rank inside the training, for the test that a failing rank
/// does not leave the others waiting: with the `mpi` feature and more than one rank, the
/// rank named by the environment variable `NABLA_FAIL_RANK_IN_TRAINING` fails its share
/// of the loss's chunks at every step (a documented test hook, like `NABLA_FAIL_RANK`).
fn injected_failure(ranks: &Ranks) -> Result<()> {
    if cfg!(feature = "mpi")
        && let Ok(v) = std::env::var("NABLA_FAIL_RANK_IN_TRAINING")
        && v.trim().parse::<usize>() == Ok(ranks.rank())
    {
        return Err(Error::Ranks {
            rank: ranks.rank(),
            size: ranks.size(),
            message: "failure injected by NABLA_FAIL_RANK_IN_TRAINING (a test hook)".into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Chunk results with values of very different magnitudes, so that any other order
    /// of addition would round differently.
    fn outs(n: usize, params: usize) -> Vec<ChunkOut> {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let e = (x % 40) as i32 - 20;
            (x as f64 / u64::MAX as f64 - 0.3) * 10f64.powi(e)
        };
        (0..n)
            .map(|_| ChunkOut {
                sums: [next(), next(), next()],
                grad: (0..params).map(|_| next()).collect(),
            })
            .collect()
    }

    /// What `gather_sums` does on `size` ranks, with the all_gather simulated by
    /// concatenating the ranks' packed buffers in rank order.
    fn simulated(all: &[ChunkOut], size: usize, params: usize) -> ([f64; 3], Vec<f64>) {
        let slots = all.len().div_ceil(size);
        let gathered: Vec<f64> = (0..size)
            .flat_map(|r| pack(&all[Ranks::share_of(all.len(), size, r)], slots, params))
            .collect();
        assert_eq!(valid_slots(&gathered, params).count(), all.len());
        add_in_order(valid_slots(&gathered, params), params)
    }

    fn bits(s: &([f64; 3], Vec<f64>)) -> Vec<u64> {
        s.0.iter().chain(&s.1).map(|v| v.to_bits()).collect()
    }

    #[test]
    fn any_number_of_ranks_adds_the_chunks_bit_identically_to_one() {
        for params in [0, 1, 7] {
            for n in [0, 1, 2, 3, 5, 8, 13] {
                let all = outs(n, params);
                let one = add_in_order(all.iter().map(|o| (&o.sums[..], &o.grad[..])), params);
                for size in 1..=4 {
                    let many = simulated(&all, size, params);
                    assert_eq!(bits(&many), bits(&one), "{n} chunks, {size} ranks");
                }
            }
        }
    }

    #[test]
    fn another_order_would_round_differently() {
        // The check above can fail: the same chunks added in reverse order differ.
        let all = outs(13, 7);
        let fwd = add_in_order(all.iter().map(|o| (&o.sums[..], &o.grad[..])), 7);
        let rev = add_in_order(all.iter().rev().map(|o| (&o.sums[..], &o.grad[..])), 7);
        assert_ne!(bits(&fwd), bits(&rev));
    }

    #[test]
    fn one_rank_gathers_its_own_chunks() {
        let all = outs(5, 3);
        let one = add_in_order(all.iter().map(|o| (&o.sums[..], &o.grad[..])), 3);
        let got = gather_sums(&Ranks::single(), 5, 3, |r| {
            assert_eq!(r, 0..5);
            Ok(outs(5, 3))
        })
        .unwrap();
        assert_eq!(bits(&got), bits(&one));
        let err = gather_sums(&Ranks::single(), 5, 3, |_| {
            Err(Error::config("x", "failed chunk"))
        });
        assert!(matches!(err, Err(Error::Config { .. })));
    }
}
