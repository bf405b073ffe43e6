//! Case directories: read `case.toml`, build the points, evaluate the fields and their
//! operators, compare with exact answers, write VTK for ParaView, summarise.
//!
//! A case is a directory holding `case.toml` (schema in [`config`]; [`run()`] takes the
//! directory or the path of its `case.toml`); results go to its `VTK/` folder (or the
//! folder of [`RunOptions::output`]): `.vti` for a lattice, `.vtp` for a random cloud,
//! `.vtu` keeping the cells of an input mesh, one file per time and a `.pvd` collection
//! for a series. 2-D vectors and tensors are written in 3-D (z = 0), as ParaView expects
//! planar data (`arrays`).
//! Everything is checked before anything is written; the run's files are written into a
//! staging folder inside the case and switched into place in one step, so that a run
//! that fails or is killed part-way leaves `VTK/` as it was (see the README, "After a
//! failure or a kill").
//!
//! [`run()`] goes through the stages in order, one file each:
//! 1. `load`: read and parse `case.toml`; its errors give line and column; `constants`
//!    evaluates the constants in the order of the file and checks the definitions;
//! 2. `points`: the lattice, random points, mesh, CSV file or list of points, and the
//!    output format they decide;
//! 3. `data`: the data file and the fields reconstructed from its arrays, built once;
//! 4. `mms`: the manufactured-solution source terms, if asked for;
//! 5. `fields` (with `network`): build every field and check it, and the names of all
//!    arrays, once before any output exists;
//! 6. `run`: train the network if there is one, evaluate every field at every time
//!    (with the `progress` bar), and write the VTK files into the staging folder that
//!    `output` switches into place as `VTK/` in one step;
//! 7. `summary`: the rows with the errors against the exact answers, and the table.
//!
//! Every rejection of a value from `case.toml` names its line and column (the value's,
//! or its table's when the value was left to its default); names that end up in files
//! are checked when the case is read (`names`), so every file written is one VTK reads.
//! Values that are not finite are counted per array, with the first point where one
//! occurs, in the summary's warnings, and so is a training whose loss did not fall by
//! the case's `min_loss_reduction`; with [`RunOptions::strict`] either is an error and
//! nothing is written. Lattice values are computed at `origin + k·spacing`, the points
//! every reader of the `.vti` file sees. The memory a run needs is estimated from the
//! arrays it asks for before anything runs, and the points are refused when it does not
//! fit.

mod arrays;
mod compare;
pub mod config;
mod constants;
mod data;
mod fields;
mod finite;
mod folders;
mod load;
mod memory;
mod mms;
mod names;
mod network;
mod output;
mod pieces;
mod points;
mod progress;
mod run;
mod series;
mod spacetime;
mod summary;
mod valid;

use std::path::Path;
use std::time::Instant;

use crate::error::Result;
use crate::parallel::Ranks;

pub use load::escape_controls as clean_message;
pub use run::RunOptions;
pub use summary::{Row, Summary};

/// Runs the case in directory `dir` (or of the case file `dir`, such as
/// `cases/x/case.toml`, whose folder is the case directory). See the module docs.
///
/// # Errors
/// [`Error::Io`](crate::error::Error::Io) for a missing or unreadable `case.toml` or
/// mesh and for output that cannot be written; [`Error::Input`](crate::error::Error::Input)
/// naming `case.toml` with line and column for TOML syntax errors, unknown keys, bad
/// expressions, operators that do not fit a field, wrong numbers of exact expressions,
/// and a point set too large for memory. Nothing is left in `VTK/` after an error.
pub fn run(dir: &Path, opts: &RunOptions) -> Result<Summary> {
    run_on(dir, opts, &Ranks::single())
}

/// [`run()`] over the ranks of an MPI run (every rank calls it): each rank evaluates a
/// contiguous share of the points (of a mesh: of its cells) and writes its piece
/// (`NAME_r.vti` with its extent, `NAME_r.vtp` or `NAME_r.vtu`) into rank 0's staging
/// folder; rank 0 writes the `.pvti` / `.pvtp` / `.pvtu` that lists them (and the `.pvd` of a series) and switches the folder into place only when
/// every rank succeeded. The summary is reduced over the ranks, the same on every rank.
/// A physics-informed network is trained by all ranks together, each computing a share
/// of the loss's chunks per step, to the same network as one rank's, bit for bit; rank 0
/// writes the training's files. With [`Ranks::single`] this is [`run()`] exactly.
///
/// # Errors
/// Those of [`run()`], on the lowest rank that failed; every other rank gets
/// [`Error::OtherRank`](crate::Error::OtherRank) naming it. [`Error::Ranks`](crate::Error::Ranks)
/// for fewer lattice planes, mesh cells or chunks of a cloud than ranks (every rank gets
/// a piece).
pub fn run_on(dir: &Path, opts: &RunOptions, ranks: &Ranks) -> Result<Summary> {
    let start = Instant::now();
    let prepared = ranks.agree(prepare(dir, opts, ranks))?;
    let (case, piece, times, source, data, near, series, input_warnings) = prepared;
    // Checked in `prepare` already; agreed anyway, so that no rank leaves alone.
    let mms = ranks.agree(mms::Mms::new(&case, piece.points.dim(), times[0]))?;
    let inputs = run::Inputs {
        geometry: &piece.geometry,
        points: &piece.points,
        carried: &piece.carried,
        source: source.as_ref(),
        data: &data,
        series: series.as_ref(),
        owned: piece.owned,
        total: piece.total,
        start: piece.start,
        global: piece.global.as_deref(),
        near: near.as_deref(),
        slabs: piece
            .lattice
            .clone()
            .map(|s| (s.clone(), s.pieces[ranks.rank()].0)),
    };
    let done = run::execute(&case, &inputs, &times, mms.as_ref(), opts, ranks)?;
    let rows = done.rows;
    let dim = piece.points.dim();
    let estimate = memory::estimate_bytes(
        &case,
        piece.points.len(),
        dim,
        carried_values(&piece.carried),
    ) + extra_bytes(&case, opts, source.as_ref());
    let mut notes = done.notes;
    if let Some(s) = &series {
        notes.insert(0, s.note());
    }
    notes.push(format!(
        "peak memory estimated before the run: {:.1} MiB{}",
        estimate as f64 / 2f64.powi(20),
        if ranks.size() > 1 { " per rank" } else { "" }
    ));
    if ranks.size() > 1 {
        notes.push(format!(
            "{} ranks, {} thread(s) on rank 0; times are the slowest rank's",
            ranks.size(),
            rayon::current_num_threads()
        ));
    }
    Ok(Summary {
        name: case.name,
        description: case.spec.description,
        points: piece.total,
        rows,
        files: done.files,
        notes,
        run_warnings: input_warnings.into_iter().chain(done.warnings).collect(),
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// What a run needs before it evaluates anything: the case, this rank's piece of the
/// points, the times, the data file and its fields, all checked (stages 1 to 5).
type Prepared = (
    load::Case,
    pieces::Piece,
    Vec<f64>,
    Option<data::Source>,
    Vec<data::Built>,
    Option<Vec<bool>>,
    Option<series::Series>,
    Vec<String>,
);

/// Stages 1 to 5 on this rank (no collectives: every rank does the same, alone).
fn prepare(dir: &Path, opts: &RunOptions, ranks: &Ranks) -> Result<Prepared> {
    let case = load::case(dir)?;
    let (geometry, points, carried, read) = points::points(&case)?;
    let series = series::series(&case)?;
    let times = match (&series, data::openfoam_time(&case)?) {
        (Some(s), _) => s.times(),
        // One time of an OpenFOAM case directory: the results are at its time.
        (None, Some(t)) if case.spec.times.is_none() => vec![t],
        (None, _) => case.times()?,
    };
    if series.is_some() && ranks.size() > 1 {
        return Err(crate::Error::Ranks {
            rank: ranks.rank(),
            size: ranks.size(),
            message: "a case over a series of data files runs in one process (not yet over \
                      MPI ranks)"
                .into(),
        });
    }
    let source = data::source(&case, read)?;
    let data = data::build(&case, source.as_ref())?;
    mms::Mms::new(&case, points.dim(), times[0])?;
    let ddt = match &series {
        Some(s) => s
            .ddt_unavailable()
            .map_or(fields::DataDdt::Checked, fields::DataDdt::Unavailable),
        None => fields::DataDdt::Unavailable(
            "the data file holds one time; ddt of data needs a series of times (a \
             .vtm.series or .pvd file)"
                .into(),
        ),
    };
    let names = fields::check(
        &case,
        points.dim(),
        times[0],
        &data,
        &ddt,
        source.as_ref(),
        points.len(),
    )?;
    arrays::check_selection(&case, &names, carried_if(&case, &carried))?;
    memory::check_total_memory(
        &case,
        points.len(),
        points.dim(),
        carried_values(&carried),
        extra_bytes(&case, opts, source.as_ref()),
    )?;
    // Checked whole, before the points are cut into pieces: the same on every rank.
    let warnings = finite::check_carried(&case, &geometry, &points, &carried, &names, opts.strict)?;
    // The boundary flags only serve errors and differences (a face list of the whole mesh:
    // seconds on 10⁶ cells), so they are made only when the case has some.
    let errors = case.spec.pinn.is_some()
        || case
            .spec
            .mms
            .as_ref()
            .is_some_and(|m| m.exact_momentum.is_some() || m.exact_continuity.is_some())
        || case
            .spec
            .fields
            .iter()
            .any(|f| !f.exact.is_empty() || !f.compare.is_empty());
    let near = if errors {
        points::near_boundary(&geometry)
    } else {
        None
    };
    let piece = pieces::piece(&case, geometry, points, carried, ranks, opts.chunk_size)?;
    // The flags of this rank's points (a piece's border is no boundary of the mesh).
    let near = near.map(|n| match &piece.global {
        Some(g) => g.iter().map(|&i| n[i]).collect(),
        None => n[piece.start..piece.start + piece.points.len()].to_vec(),
    });
    let mut source = source;
    if let Some(src) = source.as_mut()
        && ranks.size() > 1
        && src.points == piece.total
    {
        // The fields are built; what is left of the data file is compared, point by point.
        for a in &mut src.mesh.point_data {
            *a = piece.share_of(a);
        }
    }
    Ok((case, piece, times, source, data, near, series, warnings))
}

/// Checks the case in directory `dir` (or of the case file `dir`) as [`run()`] does before it computes anything (stages
/// 1 to 5: `case.toml`, the points, the data, the MMS terms, every field and its names),
/// without training, evaluating or writing; returns the number of points.
///
/// # Errors
/// Those of [`run()`] that come before any output.
pub fn check(dir: &Path) -> Result<usize> {
    let (_, piece, ..) = prepare(dir, &RunOptions::default(), &Ranks::single())?;
    Ok(piece.total)
}

/// Values per point of the input arrays `carried`.
fn carried_values(carried: &[crate::io::PointArray]) -> usize {
    carried.iter().map(|a| a.components).sum()
}

/// The memory a run needs beside its arrays: the network's tapes and the data fields'
/// samples (see [`memory::extra_bytes`]).
fn extra_bytes(case: &load::Case, opts: &RunOptions, source: Option<&data::Source>) -> u128 {
    let data = source.map(|s| {
        let values = s.mesh.point_data.iter().chain(&s.mesh.cell_data);
        (s.points, values.map(|a| a.components).sum())
    });
    memory::extra_bytes(case, opts.chunk_size, rayon::current_num_threads(), data)
}

/// The input arrays the output carries: none when `[data] carry = false`.
fn carried_if<'a>(
    case: &load::Case,
    carried: &'a [crate::io::PointArray],
) -> &'a [crate::io::PointArray] {
    if case.spec.data.as_ref().and_then(|d| d.carry) == Some(false) {
        &[]
    } else {
        carried
    }
}
