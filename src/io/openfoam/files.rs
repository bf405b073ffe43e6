//! Finding and reading the files of a case: `NAME` or `NAME.gz`, regular files only, all
//! the files of one read together within [`max_input_bytes`] (inflated sizes counted).

use std::cell::Cell;
use std::io::Read;
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use super::dict::{Header, header};
use super::lexer::{Lexer, Src};
use crate::io::max_input_bytes;
use crate::io::read::read_input_within;
use crate::{Error, Result};

/// The bytes the files of one read may still take (inflated), shared by all its files.
#[derive(Debug)]
pub(crate) struct Budget {
    left: Cell<u64>,
}

impl Budget {
    /// A budget of [`max_input_bytes`].
    pub fn new() -> Self {
        Budget {
            left: Cell::new(max_input_bytes()),
        }
    }

    /// The bytes left.
    pub fn left(&self) -> u64 {
        self.left.get()
    }

    /// Takes `n` bytes off.
    fn take(&self, n: u64) {
        self.left.set(self.left.get().saturating_sub(n));
    }
}

/// `path` with `.gz` appended.
pub(crate) fn gz_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".gz");
    PathBuf::from(s)
}

/// Whether something is at `path` (a broken link too), without following links.
pub(crate) fn present(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}

/// The file `path`, or `path.gz` where only that exists (OpenFOAM's `writeCompression on`);
/// `None` when neither does.
pub(crate) fn locate(path: &Path) -> Option<PathBuf> {
    if present(path) {
        return Some(path.to_path_buf());
    }
    let gz = gz_path(path);
    present(&gz).then_some(gz)
}

/// Reads `path` (or `path.gz`, inflated) within what is left of `budget`, refusing what is
/// not a regular file.
pub(crate) fn read_foam_file(path: &Path, budget: &Budget) -> Result<Src> {
    let Some(found) = locate(path) else {
        return Err(Error::Io {
            path: path.into(),
            message: "no such file (nor a gzipped one, NAME.gz)".into(),
        });
    };
    let raw = read_input_within(&found, budget.left())?;
    let bytes = if found != path {
        inflate(&found, &raw, budget.left())?
    } else {
        raw
    };
    budget.take(bytes.len() as u64);
    Ok(Src { path: found, bytes })
}

/// Inflates a gzipped file, stopping past `limit` bytes (a small file cannot inflate to
/// gigabytes).
fn inflate(path: &Path, raw: &[u8], limit: u64) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    MultiGzDecoder::new(raw)
        .take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| Error::Input {
            path: path.into(),
            line: None,
            column: None,
            message: format!("not a valid gzip file: {e}"),
        })?;
    if out.len() as u64 > limit {
        return Err(Error::Input {
            path: path.into(),
            line: None,
            column: None,
            message: format!(
                "the file inflates to more than the input limit of {limit} bytes \
                 (NABLA_MAX_INPUT_BYTES raises it)"
            ),
        });
    }
    Ok(out)
}

/// The header of the file at `path` (or `path.gz`), from its first bytes only: the
/// class of a field without reading its values.
pub(crate) fn peek_header(path: &Path) -> Result<Header> {
    const PREFIX: u64 = 16 << 10;
    let Some(found) = locate(path) else {
        return Err(Error::Io {
            path: path.into(),
            message: "no such file".into(),
        });
    };
    let meta = std::fs::metadata(&found).map_err(|e| Error::Io {
        path: found.clone(),
        message: format!("cannot read the file: {e}"),
    })?;
    if !meta.is_file() {
        // read_input_within says what it is.
        read_input_within(&found, 0)?;
    }
    let file = std::fs::File::open(&found).map_err(|e| Error::Io {
        path: found.clone(),
        message: format!("cannot read the file: {e}"),
    })?;
    let mut bytes = Vec::new();
    let res = if found != path {
        MultiGzDecoder::new(file)
            .take(PREFIX)
            .read_to_end(&mut bytes)
    } else {
        file.take(PREFIX).read_to_end(&mut bytes)
    };
    res.map_err(|e| Error::Input {
        path: found.clone(),
        line: None,
        column: None,
        message: format!("cannot read the header: {e}"),
    })?;
    let src = Src { path: found, bytes };
    let mut lx = Lexer::new(&src, 0);
    header(&mut lx)
}
