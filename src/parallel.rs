//! Ranks: the processes of one run. Without the `mpi` feature (or outside `mpirun`)
//! there is one rank and every method is a no-op on local values; with it, under
//! `mpirun -np N`, the N processes share the points of a case (see the README, "Over MPI ranks").
//!
//! The case runner has one path for both: it asks [`Ranks::share`] for its part of the
//! work, and meets the other ranks only at a few fixed points, each a call of
//! [`Ranks::agree`] (did every rank succeed?), [`Ranks::broadcast`] or
//! [`Ranks::all_gather`]. Between those points a rank works alone, so a rank that fails
//! cannot leave the others waiting: it still arrives at the next meeting point, with its
//! error.
//!
//! ```
//! use nabla::parallel::Ranks;
//! let one = Ranks::single();
//! assert_eq!((one.rank(), one.size()), (0, 1));
//! // 10 units over 3 ranks: 3, 3 and 4, contiguous.
//! assert_eq!(Ranks::share_of(10, 3, 1), 3..6);
//! assert_eq!(one.agree(Ok::<_, nabla::Error>(7)).unwrap(), 7);
//! ```

use std::ops::Range;

use crate::error::{Error, Result};

/// The ranks of a run, and this process's place among them.
pub struct Ranks {
    rank: usize,
    size: usize,
    /// All ranks; `None` for a single rank without MPI.
    #[cfg(feature = "mpi")]
    world: Option<mpi::topology::SimpleCommunicator>,
    /// MPI itself, finalized when dropped (after `world`, declared above it).
    #[cfg(feature = "mpi")]
    _universe: Option<mpi::environment::Universe>,
}

impl std::fmt::Debug for Ranks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Ranks {{ rank: {}, size: {} }}", self.rank, self.size)
    }
}

impl Ranks {
    /// One rank, no MPI: every collective is the identity.
    pub fn single() -> Ranks {
        Ranks {
            rank: 0,
            size: 1,
            #[cfg(feature = "mpi")]
            world: None,
            #[cfg(feature = "mpi")]
            _universe: None,
        }
    }

    /// The ranks of this run: MPI's world when the process was started by an MPI launcher
    /// (`mpirun`, `srun`: it sets `OMPI_COMM_WORLD_SIZE`, `PMI_SIZE` or `PMIX_RANK`) and
    /// the binary was built with the `mpi` feature; one rank otherwise. Starting MPI
    /// without a launcher (a "singleton") is avoided on purpose: it is slow and needs a
    /// daemon on some installations.
    ///
    /// # Errors
    /// [`Error::Ranks`] when MPI cannot be started (or was started already).
    pub fn from_env() -> Result<Ranks> {
        #[cfg(feature = "mpi")]
        if launched_by_mpi() {
            return Ranks::mpi();
        }
        Ok(Ranks::single())
    }

    /// Starts MPI (threads: funneled; only the main thread calls MPI, rayon's threads
    /// never do) and returns the world's ranks.
    ///
    /// # Errors
    /// [`Error::Ranks`] when MPI cannot be started (or was started already).
    #[cfg(feature = "mpi")]
    pub fn mpi() -> Result<Ranks> {
        use mpi::traits::Communicator;
        let (universe, _) =
            mpi::initialize_with_threading(mpi::Threading::Funneled).ok_or_else(|| {
                Error::Ranks {
                    rank: 0,
                    size: 1,
                    message: "cannot start MPI: it was started already".into(),
                }
            })?;
        let world = universe.world();
        let (rank, size) = (world.rank() as usize, world.size() as usize);
        if size > 1 {
            // A panic on one rank (a bug: user input gives typed errors) would leave the
            // others waiting at their next meeting point for ever: after the message, end
            // every rank's process (MPI_Abort), as mpirun reports.
            // (A panic the mesh reader catches, inside vtkio on a malformed file, is input
            // and passes, whichever of the two hooks was installed first.)
            let report = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                report(info);
                if !crate::io::read::panics_are_caught() {
                    mpi::topology::SimpleCommunicator::world().abort(70);
                }
            }));
        }
        Ok(Ranks {
            rank,
            size,
            world: Some(world),
            _universe: Some(universe),
        })
    }

    /// This process's rank, 0 to `size() - 1`.
    pub fn rank(&self) -> usize {
        self.rank
    }

    /// The number of ranks.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Whether this is rank 0, which writes the files that list the pieces, switches the
    /// output into place and prints the summary.
    pub fn is_root(&self) -> bool {
        self.rank == 0
    }

    /// The contiguous share of `units` work units (points, chunks, lattice planes) that
    /// `rank` of `size` ranks gets: shares differ by at most one unit, and ranks hold them
    /// in rank order.
    pub fn share_of(units: usize, size: usize, rank: usize) -> Range<usize> {
        let size = size.max(1) as u128;
        let at = |r: usize| (units as u128 * r as u128 / size) as usize;
        at(rank)..at(rank + 1)
    }

    /// This rank's share of `units` (see [`Ranks::share_of`]).
    pub fn share(&self, units: usize) -> Range<usize> {
        Ranks::share_of(units, self.size, self.rank)
    }

    /// Every rank's `local` result, agreed collectively (all ranks must call it at the same
    /// point): when every rank succeeded, this rank's value; otherwise an error on every
    /// rank. The lowest failing rank gets its own error back, to report; every other rank
    /// gets [`Error::OtherRank`] naming that rank (not to be reported again).
    ///
    /// An error agreed already (inside a collective step, such as a training's) is agreed
    /// again unchanged: a rank holding [`Error::OtherRank`] votes for the rank it names,
    /// so that rank keeps its own error to report, rather than the lowest rank, which
    /// holds only the notice, and nobody reporting it.
    ///
    /// # Errors
    /// As described: the lowest failing rank's own error, or [`Error::OtherRank`].
    pub fn agree<T>(&self, local: Result<T>) -> Result<T> {
        let vote = match &local {
            Ok(_) => None,
            Err(Error::OtherRank { rank, .. }) => Some(*rank),
            Err(_) => Some(self.rank),
        };
        match self.first_failure(vote) {
            None => local,
            Some(r) if r == self.rank => local,
            Some(r) => Err(Error::OtherRank {
                rank: r,
                size: self.size,
            }),
        }
    }

    /// The lowest rank any rank voted for as failed (collective), or `None` when none did.
    fn first_failure(&self, vote: Option<usize>) -> Option<usize> {
        // A vote out of range (never given) counts as this rank's own failure.
        let mine = vote.map_or(self.size, |r| if r < self.size { r } else { self.rank });
        #[cfg(feature = "mpi")]
        if let Some(world) = &self.world {
            use mpi::collective::SystemOperation;
            use mpi::traits::CommunicatorCollectives;
            let mut first = 0u64;
            world.all_reduce_into(&(mine as u64), &mut first, SystemOperation::min());
            return (first < self.size as u64).then_some(first as usize);
        }
        (mine < self.size).then_some(mine)
    }

    /// Rank 0's `bytes`, on every rank (collective; other ranks' `bytes` are ignored).
    pub fn broadcast(&self, bytes: Vec<u8>) -> Vec<u8> {
        #[cfg(feature = "mpi")]
        if let Some(world) = &self.world {
            use mpi::traits::{Communicator, Root};
            let root = world.process_at_rank(0);
            let mut len = bytes.len() as u64;
            root.broadcast_into(&mut len);
            let mut buf = if self.is_root() {
                bytes
            } else {
                vec![0u8; len as usize]
            };
            root.broadcast_into(&mut buf[..]);
            return buf;
        }
        bytes
    }

    /// Every rank but the first sends `values` to the rank before it, and every rank but
    /// the last returns what the rank after it sent (collective; empty on the last rank
    /// and with one rank). The lattice's pieces pass on the plane they share this way.
    ///
    /// # Errors
    /// [`Error::Ranks`] on every rank when a rank was sent a number of values other than
    /// the `expect` it was told (internal).
    pub fn pass_down(&self, values: &[f64], expect: usize) -> Result<Vec<f64>> {
        #[cfg(feature = "mpi")]
        if let Some(world) = &self.world {
            use mpi::point_to_point::{Destination, Source, send_receive_into};
            use mpi::traits::Communicator;
            let (r, last) = (self.rank as i32, self.size as i32 - 1);
            let exchange = |send: &[f64], recv: &mut [f64]| match (r > 0, r < last) {
                (true, true) => {
                    let (to, from) = (world.process_at_rank(r - 1), world.process_at_rank(r + 1));
                    send_receive_into(send, &to, recv, &from);
                }
                (true, false) => world.process_at_rank(r - 1).send(send),
                (false, true) => {
                    world.process_at_rank(r + 1).receive_into(recv);
                }
                (false, false) => {}
            };
            let mut len = [0.0];
            exchange(&[values.len() as f64], &mut len[..]);
            let sent = if r < last { len[0] as usize } else { 0 };
            let want = if r < last { expect } else { 0 };
            let checked = if sent == want {
                Ok(())
            } else {
                Err(Error::Ranks {
                    rank: self.rank,
                    size: self.size,
                    message: format!(
                        "internal: the next rank passed on {sent} values; expected {want}"
                    ),
                })
            };
            self.agree(checked)?;
            let mut recv = vec![0.0; want];
            exchange(values, &mut recv[..]);
            return Ok(recv);
        }
        let _ = (values, expect);
        Ok(Vec::new())
    }

    /// Every rank's `values`, rank after rank, on every rank (collective). Every rank must
    /// send the same number of values.
    ///
    /// # Errors
    /// [`Error::Ranks`] when the ranks send different numbers of values.
    pub fn all_gather(&self, values: &[f64]) -> Result<Vec<f64>> {
        #[cfg(feature = "mpi")]
        if let Some(world) = &self.world {
            use mpi::collective::SystemOperation;
            use mpi::traits::CommunicatorCollectives;
            let n = values.len() as u64;
            let (mut lo, mut hi) = (0u64, 0u64);
            world.all_reduce_into(&n, &mut lo, SystemOperation::min());
            world.all_reduce_into(&n, &mut hi, SystemOperation::max());
            if lo != hi {
                return Err(Error::Ranks {
                    rank: self.rank,
                    size: self.size,
                    message: format!(
                        "internal: the ranks gathered between {lo} and {hi} values; expected \
                         the same number on every rank"
                    ),
                });
            }
            let mut all = vec![0.0; values.len() * self.size];
            world.all_gather_into(values, &mut all[..]);
            return Ok(all);
        }
        Ok(values.to_vec())
    }
}

/// Whether an MPI launcher started this process.
#[cfg(feature = "mpi")]
fn launched_by_mpi() -> bool {
    ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"]
        .iter()
        .any(|v| std::env::var_os(v).is_some())
}

/// How many ranks an MPI launcher started on this machine (`OMPI_COMM_WORLD_LOCAL_SIZE`,
/// `MPI_LOCALNRANKS`), if it says; used to share the cores among them.
pub fn local_ranks() -> Option<usize> {
    ["OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS"]
        .iter()
        .find_map(|v| std::env::var(v).ok()?.trim().parse().ok())
        .filter(|&n: &usize| n >= 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_cover_every_unit_once_and_differ_by_at_most_one() {
        for units in [0, 1, 2, 7, 64, 1000] {
            for size in 1..6 {
                let shares: Vec<_> = (0..size).map(|r| Ranks::share_of(units, size, r)).collect();
                assert_eq!(shares[0].start, 0);
                assert_eq!(shares[size - 1].end, units);
                for w in shares.windows(2) {
                    assert_eq!(w[0].end, w[1].start);
                }
                let lens: Vec<_> = shares.iter().map(|s| s.len()).collect();
                let (lo, hi) = (lens.iter().min().unwrap(), lens.iter().max().unwrap());
                assert!(hi - lo <= 1, "{units} over {size}: {lens:?}");
            }
        }
    }

    #[test]
    fn one_rank_agrees_with_itself() {
        let one = Ranks::single();
        assert!(one.is_root());
        assert_eq!(one.broadcast(b"stage".to_vec()), b"stage");
        assert_eq!(one.all_gather(&[1.0, 2.0]).unwrap(), vec![1.0, 2.0]);
        let err = one.agree::<()>(Err(Error::Ranks {
            rank: 0,
            size: 1,
            message: "x".into(),
        }));
        assert!(matches!(err, Err(Error::Ranks { .. })));
    }
}
