//! The crate's one error type.

use std::path::PathBuf;

/// `(rows, cols)` of a tensor, for error messages.
pub type Shape = (usize, usize);

/// Everything that can go wrong in nabla. Each variant carries what went wrong and where.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Two operands of an op whose shapes do not broadcast or multiply.
    #[error("{op}: shapes {lhs:?} and {rhs:?} do not fit together")]
    ShapeMismatch {
        /// The op that was recorded.
        op: &'static str,
        /// Shape of the left operand.
        lhs: Shape,
        /// Shape of the right operand.
        rhs: Shape,
    },
    /// A column range outside a tensor.
    #[error("{op}: columns {start}..{end} are outside a tensor of shape {shape:?}")]
    ColumnRange {
        /// The op that was recorded.
        op: &'static str,
        /// First column asked for.
        start: usize,
        /// One past the last column asked for.
        end: usize,
        /// Shape of the tensor.
        shape: Shape,
    },
    /// A tensor was built from data whose length does not match its shape.
    #[error("tensor data of length {len} does not fill a {rows} x {cols} tensor")]
    DataLength {
        /// Rows asked for.
        rows: usize,
        /// Columns asked for.
        cols: usize,
        /// Length of the data given.
        len: usize,
    },
    /// `grad` was called with a number of cotangents different from the number of outputs.
    #[error("grad: {outputs} outputs but {grad_outputs} cotangents")]
    CotangentCount {
        /// Number of outputs.
        outputs: usize,
        /// Number of cotangents.
        grad_outputs: usize,
    },
    /// A cotangent whose shape differs from its output's.
    #[error("grad: cotangent {index} has shape {got:?}, its output has shape {expected:?}")]
    CotangentShape {
        /// Index of the output.
        index: usize,
        /// The output's shape.
        expected: Shape,
        /// The cotangent's shape.
        got: Shape,
    },
    /// A cotangent was omitted for an output with more than one element.
    #[error(
        "grad: output {index} has shape {shape:?}; a cotangent may be omitted only for outputs with one element"
    )]
    MissingCotangent {
        /// Index of the output.
        index: usize,
        /// The output's shape.
        shape: Shape,
    },
    /// An input the outputs do not depend on, without `allow_unused`.
    #[error(
        "grad: input {index} is not used to compute the outputs (set allow_unused to get zeros)"
    )]
    UnusedInput {
        /// Index of the input.
        index: usize,
    },
    /// A backward pass through a part of the graph that an earlier pass freed.
    #[error(
        "grad: trying to differentiate through a graph that an earlier grad call freed (pass retain_graph = true to the first call)"
    )]
    GraphFreed,
    /// A variable from another tape.
    #[error("{op}: a variable belongs to another tape")]
    ForeignVar {
        /// Where the foreign variable was used.
        op: &'static str,
    },
    /// An operator asked of a field whose shape does not fit it.
    #[error("{op}: {message}")]
    Operator {
        /// Name of the operator, e.g. `curl`.
        op: String,
        /// What does not fit.
        message: String,
    },
    /// Bad point data (empty, non-finite, wrong dimension).
    #[error("points: {0}")]
    Points(String),
    /// Bad sample data for a field from data (non-finite values, counts that do not fit,
    /// too few samples for the reconstruction).
    #[error("data: {0}")]
    Data(String),
    /// Reading or writing a file failed.
    #[error("{}: {message}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// Another MPI rank failed first; that rank reports its error (see
    /// [`Ranks::agree`](crate::parallel::Ranks::agree)). Nothing was written.
    #[error("rank {rank} of {size} failed (it reports its error); nothing was written")]
    OtherRank {
        /// The lowest rank that failed.
        rank: usize,
        /// The number of ranks.
        size: usize,
    },
    /// Something about the ranks of an MPI run itself: MPI cannot start, or the ranks do
    /// not fit the case.
    #[error("rank {rank} of {size}: {message}")]
    Ranks {
        /// The rank that found it.
        rank: usize,
        /// The number of ranks.
        size: usize,
        /// What went wrong and what was expected.
        message: String,
    },
    /// Bad input in a file, with a position where one is known.
    #[error("{}{}: {message}", path.display(), location(*line, *column))]
    Input {
        /// The file.
        path: PathBuf,
        /// 1-based line, if known.
        line: Option<usize>,
        /// 1-based column, if known.
        column: Option<usize>,
        /// What went wrong and what was expected.
        message: String,
    },
    /// A configuration value that cannot be used (a network, an optimiser, a training
    /// setup): names the setting and says what is allowed.
    #[error("config: {setting}: {message}")]
    Config {
        /// The setting, e.g. `network.hidden` or `optimizer.learning_rate`.
        setting: String,
        /// What is wrong and what is allowed.
        message: String,
    },
}

impl Error {
    /// An [`Error::Config`] for `setting`.
    pub fn config(setting: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Config {
            setting: setting.into(),
            message: message.into(),
        }
    }
}

fn location(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(":{l}:{c}"),
        (Some(l), None) => format!(":{l}"),
        _ => String::new(),
    }
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
