//! How arrays are encoded in the XML files: the precision of their values, the compression
//! of every binary array, and which arrays ParaView takes as the active scalars, vectors
//! and tensors.

use std::collections::HashSet;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use rayon::prelude::*;
use serde::Deserialize;
use vtkio::Vtk;
use vtkio::model::{Attribute, ByteOrder, DataArray, DataSet, ElementType, IOBuffer, Version};
use vtkio::xml::Compressor;

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WriteOptions {
    /// The precision of the values of point and cell arrays.
    pub precision: Precision,
    /// The compression of every binary array of the file.
    pub compression: Compression,
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

/// The arrays as VTK attributes over `n` points or cells (`what`), checked: non-empty
/// distinct names, `components × n` values each. The first array of 1, 3 and 9 components
/// is marked as the active scalars, vectors and tensors (what ParaView's filters such as
/// Glyph and Stream Tracer pick by default).
pub(super) fn attribute_list(
    path: &Path,
    arrays: &[PointArray],
    num_points: usize,
    what: &str,
    precision: Precision,
) -> Result<Vec<Attribute>> {
    let mut names = HashSet::new();
    let mut out = Vec::with_capacity(arrays.len());
    let (mut scalars, mut vectors, mut tensors) = (false, false, false);
    for a in arrays {
        if a.name.is_empty() {
            return Err(io_error(
                path,
                "an array has an empty name; expected a name",
            ));
        }
        if !names.insert(a.name.as_str()) {
            return Err(io_error(
                path,
                format!("two arrays are named `{}`; expected distinct names", a.name),
            ));
        }
        let expected = a.components.checked_mul(num_points);
        if a.components == 0 || expected != Some(a.values.len()) {
            return Err(io_error(
                path,
                format!(
                    "array `{}` has {} values; expected {} components × {num_points} {what}{}",
                    a.name,
                    a.values.len(),
                    a.components,
                    if a.components == 0 {
                        " with at least 1 component".to_string()
                    } else {
                        format!(" = {}", a.components.saturating_mul(num_points))
                    }
                ),
            ));
        }
        let components = u32::try_from(a.components)
            .map_err(|_| io_error(path, format!("array `{}` has too many components", a.name)))?;
        let first = |seen: &mut bool| !std::mem::replace(seen, true);
        let elem = match a.components {
            1 if first(&mut scalars) => ElementType::Scalars {
                num_comp: 1,
                lookup_table: None,
            },
            3 if first(&mut vectors) => ElementType::Vectors,
            9 if first(&mut tensors) => ElementType::Tensors,
            _ => ElementType::Generic(components),
        };
        let data = match precision {
            Precision::Float64 => IOBuffer::F64(a.values.clone()),
            Precision::Float32 => IOBuffer::F32(a.values.iter().map(|&v| v as f32).collect()),
        };
        out.push(Attribute::DataArray(DataArray {
            name: a.name.clone(),
            elem,
            data,
        }));
    }
    Ok(out)
}

/// Serializes a data set as binary XML (inline base64, little-endian, `UInt64` headers),
/// compressed as asked.
pub(super) fn xml_bytes(path: &Path, data: DataSet, compression: Compression) -> Result<Vec<u8>> {
    let vtk = Vtk {
        version: Version::new_xml(1, 0),
        byte_order: ByteOrder::LittleEndian,
        title: String::new(),
        file_path: None,
        data,
    };
    let fail = |e: &dyn std::fmt::Display| {
        io_error(path, format!("cannot encode the data set as VTK XML: {e}"))
    };
    // vtkio's own compression writes a wrong header for an array whose size is a multiple
    // of the block size (an empty last block, which VTK cannot read); arrays are
    // compressed here instead.
    let file = vtk
        .try_into_xml_format(Compressor::None, 0)
        .map_err(|e| fail(&e))?;
    let mut bytes = Vec::new();
    file.write(&mut bytes).map_err(|e| fail(&e))?;
    match compression {
        Compression::None => Ok(bytes),
        c => compress_arrays(path, bytes, c),
    }
}

/// Rewrites every inline binary `<DataArray>` of an uncompressed XML file (base64 of a
/// `UInt64` byte count and the bytes) as compressed blocks, and names the compressor in
/// the `<VTKFile>` element.
fn compress_arrays(path: &Path, bytes: Vec<u8>, compression: Compression) -> Result<Vec<u8>> {
    let fail = |what: &str| {
        io_error(
            path,
            format!("internal: cannot compress the arrays: {what}"),
        )
    };
    let text = String::from_utf8(bytes).map_err(|_| fail("the XML is not UTF-8"))?;
    let name = match compression {
        Compression::Lz4 => "vtkLZ4DataCompressor",
        Compression::Zlib => "vtkZLibDataCompressor",
        Compression::None => return Ok(text.into_bytes()),
    };
    let mut out = String::with_capacity(text.len() / 2);
    let start = text.find("<VTKFile ").ok_or_else(|| fail("no <VTKFile>"))?;
    let end = start
        + text[start..]
            .find('>')
            .ok_or_else(|| fail("no <VTKFile>"))?;
    let end = if text[..end].ends_with('/') {
        end - 1
    } else {
        end
    };
    out.push_str(&text[..end]);
    out.push_str(&format!(" compressor=\"{name}\""));
    let mut rest = &text[end..];
    // Attribute values are escaped (`>` as `&gt;`), so the first `>` closes the tag.
    while let Some(k) = rest.find("<DataArray ") {
        let close = k + rest[k..]
            .find('>')
            .ok_or_else(|| fail("an open <DataArray"))?;
        out.push_str(&rest[..=close]);
        rest = &rest[close + 1..];
        if out.ends_with("/>") {
            continue;
        }
        let stop = rest
            .find("</DataArray>")
            .ok_or_else(|| fail("an unclosed <DataArray>"))?;
        let raw = BASE64
            .decode(rest[..stop].trim())
            .map_err(|e| fail(&format!("base64: {e}")))?;
        let data = raw
            .get(8..)
            .ok_or_else(|| fail("an array without a header"))?;
        out.push_str(&compressed_base64(data, compression));
        rest = &rest[stop..];
    }
    out.push_str(rest);
    Ok(out.into_bytes())
}

/// `data` as VTK's compressed binary layout, base64-encoded: the header
/// `[blocks][block size][size of the last block, 0 if full][compressed size of each block]`
/// (`UInt64` each) and the compressed blocks, each part encoded on its own as VTK writes
/// them. Blocks are compressed in parallel.
fn compressed_base64(data: &[u8], compression: Compression) -> String {
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
