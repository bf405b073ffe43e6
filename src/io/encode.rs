//! How arrays are encoded in the XML files: the precision of their values, the compression
//! of every binary array, and which arrays ParaView takes as the active scalars, vectors
//! and tensors.

use std::collections::HashSet;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use rayon::prelude::*;
use serde::Deserialize;

use super::write::PointArray;
use crate::{Error, Result};

/// The precision of the values of written arrays. Point coordinates, lattice origins and
/// spacings are always written as `Float64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// `Float32`: half the size; each value rounded to the nearest `f32` (values beyond
    /// ±3.4·10³⁸ become infinite).
    Float32,
    /// `Float64`: every value exactly as computed (the default).
    #[default]
    Float64,
}

/// The compression of the binary arrays of a file (VTK's `compressor` attribute; ParaView
/// reads all three). Arrays are cut into blocks of 32 KiB compressed independently, as VTK
/// does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// No compression (the default): the fastest to write and to read.
    #[default]
    None,
    /// LZ4 (`vtkLZ4DataCompressor`): fast, moderate ratio.
    Lz4,
    /// zlib (`vtkZLibDataCompressor`, level 5 as VTK's default): slower, smaller.
    Zlib,
}

/// How the XML writers encode arrays; the default is `Float64`, uncompressed.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct WriteOptions {
    /// The precision of the values of point and cell arrays.
    pub precision: Precision,
    /// The compression of every binary array of the file.
    pub compression: Compression,
    /// The time of the data, written as the field-data array `TimeValue` (one `Float64`),
    /// as foamToVTK does: ParaView shows it as the data set's time. `None` writes none.
    pub time: Option<f64>,
}

/// The size of the uncompressed blocks of a compressed array, VTK's default.
const BLOCK: usize = 32 * 1024;

/// An `Error::Io` about `path`.
pub(super) fn io_error(path: &Path, message: impl Into<String>) -> Error {
    Error::Io {
        path: path.into(),
        message: message.into(),
    }
}

/// The most components an array may have: VTK's `NumberOfComponents` is an `int`.
pub(super) const MAX_COMPONENTS: usize = i32::MAX as usize;

/// Checks a text that goes into an XML attribute of a file (`what` says which): XML has no
/// escape for most control characters, and turns tabs and line breaks in attribute values
/// into spaces, so such a text would not read back, or would make a file VTK cannot parse.
pub(super) fn check_xml_text(path: &Path, what: &str, s: &str) -> Result<()> {
    if s.chars()
        .any(|c| c.is_control() || c == '\u{fffe}' || c == '\u{ffff}')
    {
        return Err(io_error(
            path,
            format!(
                "{what} {s:?} has a character XML cannot hold (a control character such as a \
                 tab or a line break); expected printable characters"
            ),
        ));
    }
    Ok(())
}

/// Checks the names and component counts of arrays given as (name, components): non-empty
/// distinct names that XML can hold, 1 to [`MAX_COMPONENTS`] components. Shared by the
/// single-file writers and the parallel files that list the arrays of their pieces.
pub(super) fn check_names<'a>(
    path: &Path,
    arrays: impl IntoIterator<Item = (&'a str, usize)>,
) -> Result<()> {
    let mut names = HashSet::new();
    for (name, components) in arrays {
        if name.is_empty() {
            return Err(io_error(
                path,
                "an array has an empty name; expected a name",
            ));
        }
        check_xml_text(path, "array name", name)?;
        if !names.insert(name) {
            return Err(io_error(
                path,
                format!("two arrays are named `{name}`; expected distinct names"),
            ));
        }
        if !(1..=MAX_COMPONENTS).contains(&components) {
            return Err(io_error(
                path,
                format!(
                    "array `{name}` has {components} components; expected at least 1 component \
                     and at most {MAX_COMPONENTS} (VTK's NumberOfComponents is an int)"
                ),
            ));
        }
    }
    Ok(())
}

/// Checks the arrays over `num_points` points or cells (`what`): non-empty distinct
/// names, 1 to [`MAX_COMPONENTS`] components, `components × num_points` values each.
pub(super) fn check_arrays(
    path: &Path,
    arrays: &[PointArray],
    num_points: usize,
    what: &str,
) -> Result<()> {
    check_names(path, arrays.iter().map(|a| (a.name.as_str(), a.components)))?;
    for a in arrays {
        let expected = a.components.checked_mul(num_points);
        if expected != Some(a.values.len()) {
            return Err(io_error(
                path,
                format!(
                    "array `{}` has {} values; expected {} components × {num_points} {what} = {}",
                    a.name,
                    a.values.len(),
                    a.components,
                    a.components.saturating_mul(num_points)
                ),
            ));
        }
    }
    Ok(())
}

/// `data` as VTK's compressed binary layout, base64-encoded: the header
/// `[blocks][block size][size of the last block, 0 if full][compressed size of each block]`
/// (`UInt64` each) and the compressed blocks, each part encoded on its own as VTK writes
/// them. Blocks are compressed in parallel.
pub(super) fn compressed_base64(data: &[u8], compression: Compression) -> String {
    let blocks: Vec<Vec<u8>> = data
        .par_chunks(BLOCK)
        .map(|block| match compression {
            Compression::Lz4 => lz4_flex::block::compress(block),
            Compression::Zlib | Compression::None => {
                use std::io::Write;
                let mut e = flate2::write::ZlibEncoder::new(
                    Vec::with_capacity(block.len() / 2),
                    flate2::Compression::new(5),
                );
                e.write_all(block)
                    .expect("internal: writing to a Vec cannot fail");
                e.finish().expect("internal: writing to a Vec cannot fail")
            }
        })
        .collect();
    let mut header = Vec::with_capacity(8 * (3 + blocks.len()));
    for n in [blocks.len(), BLOCK, data.len() % BLOCK]
        .into_iter()
        .chain(blocks.iter().map(Vec::len))
    {
        header.extend_from_slice(&(n as u64).to_le_bytes());
    }
    let body = blocks.concat();
    let mut out = BASE64.encode(&header);
    BASE64.encode_string(&body, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The header of a compressed array: (blocks, block size, last block size, sizes).
    fn header(encoded: &str, blocks: usize) -> Vec<u64> {
        let n = (3 + blocks) * 8;
        let len = n.div_ceil(3) * 4;
        let raw = BASE64.decode(&encoded[..len]).unwrap();
        raw.chunks(8)
            .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
            .collect()
    }

    #[test]
    fn an_array_of_whole_blocks_has_no_empty_last_block() {
        // vtkio writes 3 blocks, the last one empty, for 2 × 32 KiB; VTK reads that as 3
        // full blocks and fails. VTK's layout: 2 blocks, last-block size 0 (= full).
        let data = vec![7u8; 2 * BLOCK];
        for c in [Compression::Lz4, Compression::Zlib] {
            let h = header(&compressed_base64(&data, c), 2);
            assert_eq!(h[..3], [2, BLOCK as u64, 0], "{c:?}");
            assert!(h[3] > 0 && h[4] > 0 && h[3] < BLOCK as u64, "{c:?}: {h:?}");
        }
        // A partial last block is declared with its size.
        let h = header(&compressed_base64(&data[..BLOCK + 5], Compression::Lz4), 2);
        assert_eq!(h[..3], [2, BLOCK as u64, 5]);
        // An empty array has no blocks.
        let h = header(&compressed_base64(&[], Compression::Zlib), 0);
        assert_eq!(h, [0, BLOCK as u64, 0]);
    }
}
