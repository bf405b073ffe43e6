//! Preprocessing of XML VTK files with raw appended data, for vtkio's parser.
//!
//! ParaView's "Save Data" and VTK's XML writers default to *appended raw* data: the arrays'
//! bytes follow `<AppendedData encoding="raw">_` unencoded, and each `DataArray` points into
//! them with `offset="…"`. vtkio 0.7.0-rc2 reads only base64 appended data (its raw support
//! sits behind a cargo feature the published crate does not define), so
//! [`raw_appended_to_base64`] re-encodes the block as base64, in the layout vtkio decodes,
//! and rewrites the offsets.
//!
//! [`check_compressed_sizes`] reads the block headers of every compressed array (inline or
//! appended, base64) and refuses a file whose arrays would inflate to more than a limit,
//! before vtkio allocates and inflates them.

use std::borrow::Cow;
use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// The byte range of the value of attribute `name` in the start tag `tag` (quoted with `"`
/// or `'`).
fn attribute_range(tag: &str, name: &str) -> Option<std::ops::Range<usize>> {
    let mut from = 0;
    while let Some(i) = tag[from..].find(name) {
        let at = from + i;
        from = at + name.len();
        let before = tag[..at].chars().next_back();
        let after_name = &tag[from..];
        let rest = after_name.trim_start();
        if before.is_some_and(char::is_whitespace) && rest.starts_with('=') {
            let value = rest[1..].trim_start();
            let quote = value.chars().next()?;
            if quote == '"' || quote == '\'' {
                let start = tag.len() - value.len() + 1;
                let end = start + value[1..].find(quote)?;
                return Some(start..end);
            }
        }
    }
    None
}

/// The value of attribute `name` in the start tag `tag`.
fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    attribute_range(tag, name).map(|r| &tag[r])
}

/// Reads one header integer (`UInt32` or `UInt64`, in the file's byte order) at `pos`.
fn header_num(raw: &[u8], pos: usize, size: usize, big_endian: bool) -> Option<usize> {
    let bytes = raw.get(pos..pos.checked_add(size)?)?;
    let mut b = [0u8; 8];
    if big_endian {
        b[8 - size..].copy_from_slice(bytes);
        usize::try_from(u64::from_be_bytes(b)).ok()
    } else {
        b[..size].copy_from_slice(bytes);
        usize::try_from(u64::from_le_bytes(b)).ok()
    }
}

/// Returns the file with its raw appended data re-encoded as base64, or unchanged when it has
/// none. An error says what in the raw block is inconsistent.
pub(crate) fn raw_appended_to_base64(bytes: &[u8]) -> Result<Cow<'_, [u8]>, String> {
    let Some(tag_start) = find(bytes, b"<AppendedData") else {
        return Ok(Cow::Borrowed(bytes));
    };
    let head = std::str::from_utf8(&bytes[..tag_start])
        .map_err(|_| "the XML before <AppendedData> is not UTF-8".to_string())?;
    let tag_end =
        tag_start + find(&bytes[tag_start..], b">").ok_or("unterminated <AppendedData> tag")?;
    let tag = std::str::from_utf8(&bytes[tag_start..tag_end])
        .map_err(|_| "the <AppendedData> tag is not UTF-8".to_string())?;
    if attribute(tag, "encoding") != Some("raw") {
        return Ok(Cow::Borrowed(bytes));
    }
    // The data starts after the underscore that follows the tag.
    let underscore = tag_end
        + find(&bytes[tag_end..], b"_").ok_or("no `_` marks the start of the appended data")?;
    let raw = &bytes[underscore + 1..];

    let file_tag_start = head.find("<VTKFile").ok_or("no <VTKFile> element")?;
    let file_tag = &head[file_tag_start..];
    let file_tag = &file_tag[..file_tag.find('>').ok_or("unterminated <VTKFile> tag")?];
    let size = match attribute(file_tag, "header_type") {
        None | Some("UInt32") => 4,
        Some("UInt64") => 8,
        Some(other) => return Err(format!("header_type {other}; expected UInt32 or UInt64")),
    };
    let big_endian = attribute(file_tag, "byte_order") == Some("BigEndian");
    let compressed = attribute(file_tag, "compressor").is_some_and(|c| !c.is_empty());

    // Every array's start, from the `offset` attributes of the DataArray tags.
    let mut starts = BTreeMap::new();
    let mut tags = head;
    while let Some(i) = tags.find("<DataArray") {
        tags = &tags[i + 1..];
        let tag = &tags[..tags.find('>').ok_or("unterminated <DataArray> tag")?];
        if let Some(off) = attribute(tag, "offset") {
            let off: usize = off
                .parse()
                .map_err(|_| format!("DataArray offset `{off}` is not a number"))?;
            starts.insert(off, 0usize);
        }
    }

    // Re-encode each array: vtkio decodes base64(header + data) for uncompressed arrays, and
    // base64(header) followed by base64(compressed blocks) for compressed ones.
    let mut encoded = String::new();
    for (&start, new_start) in starts.iter_mut() {
        *new_start = encoded.len();
        let bad = || format!("the appended array at offset {start} runs past the end of the file");
        let (header_len, data_len) = if compressed {
            let blocks = header_num(raw, start, size, big_endian).ok_or_else(bad)?;
            let header_len = blocks
                .checked_add(3)
                .and_then(|n| n.checked_mul(size))
                .ok_or_else(bad)?;
            let mut data_len = 0usize;
            for b in 0..blocks {
                let at = start + size * (3 + b);
                let n = header_num(raw, at, size, big_endian).ok_or_else(bad)?;
                data_len = data_len.checked_add(n).ok_or_else(bad)?;
            }
            (header_len, data_len)
        } else {
            (
                size,
                header_num(raw, start, size, big_endian).ok_or_else(bad)?,
            )
        };
        let header_end = start.checked_add(header_len).ok_or_else(bad)?;
        let end = header_end.checked_add(data_len).ok_or_else(bad)?;
        if end > raw.len() {
            return Err(bad());
        }
        if compressed {
            STANDARD.encode_string(&raw[start..header_end], &mut encoded);
            STANDARD.encode_string(&raw[header_end..end], &mut encoded);
        } else {
            STANDARD.encode_string(&raw[start..end], &mut encoded);
        }
    }

    // The head with the offsets rewritten.
    let mut out = String::with_capacity(head.len() + encoded.len() + 64);
    let mut rest = head;
    while let Some(i) = rest.find("<DataArray") {
        let tag_len = rest[i..].find('>').expect("internal: tags checked above");
        let tag = &rest[i..i + tag_len];
        out.push_str(&rest[..i]);
        match attribute_range(tag, "offset") {
            Some(r) => {
                let old: usize = tag[r.clone()].parse().expect("internal: parsed above");
                out.push_str(&tag[..r.start]);
                out.push_str(&starts[&old].to_string());
                out.push_str(&tag[r.end..]);
            }
            None => out.push_str(tag),
        }
        rest = &rest[i + tag_len..];
    }
    out.push_str(rest);
    out.push_str("<AppendedData encoding=\"base64\">\n_");
    out.push_str(&encoded);
    out.push_str("\n</AppendedData>\n</VTKFile>\n");
    Ok(Cow::Owned(out.into_bytes()))
}

/// Base64 characters that encode `n` bytes (with padding).
fn b64_len(n: usize) -> Option<usize> {
    n.checked_add(2).map(|k| k / 3)?.checked_mul(4)
}

/// Decodes the first `n` bytes that the base64 text `text` encodes, if it holds them.
fn b64_prefix(text: &[u8], n: usize) -> Option<Vec<u8>> {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let chars = text.get(..b64_len(n)?)?;
    let bytes = LENIENT.decode(chars).ok()?;
    (bytes.len() >= n).then_some(bytes)
}

/// Checks the block headers of the compressed arrays of an XML VTK file whose binary data
/// is base64 (raw appended data already re-encoded by [`raw_appended_to_base64`]): every
/// header must be readable, announce no more blocks than the file holds, and the arrays
/// together must inflate to at most `limit` bytes. Runs before vtkio, which allocates what
/// the headers announce and inflates every block. Files without a compressor pass
/// unchecked.
pub(crate) fn check_compressed_sizes(bytes: &[u8], limit: u64) -> Result<(), String> {
    let appended_at = find(bytes, b"<AppendedData");
    let head = &bytes[..appended_at.unwrap_or(bytes.len())];
    let Some(file_at) = find(head, b"<VTKFile") else {
        return Ok(());
    };
    let file_end = file_at + find(&head[file_at..], b">").ok_or("unterminated <VTKFile> tag")?;
    let file_tag = String::from_utf8_lossy(&head[file_at..file_end]);
    if attribute(&file_tag, "compressor").is_none_or(str::is_empty) {
        return Ok(());
    }
    let size = match attribute(&file_tag, "header_type") {
        None | Some("UInt32") => 4,
        Some("UInt64") => 8,
        Some(other) => return Err(format!("header_type {other}; expected UInt32 or UInt64")),
    };
    let big_endian = attribute(&file_tag, "byte_order") == Some("BigEndian");
    // The base64 text of the appended block, after its `_`.
    let appended = appended_at.and_then(|at| {
        let rest = &bytes[at..];
        let u = find(rest, b"_")?;
        Some(&rest[u + 1..])
    });

    let mut total: u64 = 0;
    let mut from = 0;
    while let Some(i) = find(&head[from..], b"<DataArray") {
        let at = from + i;
        let end = at + find(&head[at..], b">").ok_or("unterminated <DataArray> tag")?;
        from = end;
        let tag = String::from_utf8_lossy(&head[at..end]);
        let name = attribute(&tag, "Name").unwrap_or("(unnamed)").to_string();
        let text: &[u8] = match attribute(&tag, "format") {
            Some("binary") => {
                if tag.ends_with('/') {
                    continue;
                }
                let content = &head[end + 1..];
                let stop = find(content, b"<").unwrap_or(content.len());
                content[..stop].trim_ascii()
            }
            Some("appended") => {
                let (Some(data), Some(off)) = (appended, attribute(&tag, "offset")) else {
                    continue; // vtkio reports the missing block or offset
                };
                let off: usize = off
                    .parse()
                    .map_err(|_| format!("DataArray `{name}`: offset `{off}` is not a number"))?;
                data.get(off..).unwrap_or(&[])
            }
            _ => continue,
        };
        let bad = |what: &str| format!("compressed DataArray `{name}`: {what}");
        let nb = b64_prefix(text, size)
            .and_then(|h| header_num(&h, 0, size, big_endian))
            .ok_or_else(|| bad("the block header is missing or not base64"))?;
        let header_len = nb
            .checked_add(3)
            .and_then(|n| n.checked_mul(size))
            .filter(|&n| b64_len(n).is_some_and(|c| c <= text.len()))
            .ok_or_else(|| {
                bad(&format!(
                    "the header announces {nb} blocks, more than the file holds"
                ))
            })?;
        let header =
            b64_prefix(text, header_len).ok_or_else(|| bad("the block header is not base64"))?;
        let num = |k: usize| header_num(&header, k * size, size, big_endian).unwrap_or(0);
        let (nu, np) = (num(1), num(2));
        // vtkio allocates nu × (nb − 1) + np bytes.
        let inflated = match nb.checked_sub(1) {
            Some(full) => (nu as u64)
                .checked_mul(full as u64)
                .and_then(|n| n.checked_add(np as u64)),
            None if nu == 0 && np == 0 => Some(0),
            None => None,
        }
        .ok_or_else(|| {
            bad(&format!(
                "the header announces {nb} blocks of {nu} bytes (last {np}), which vtkio cannot read"
            ))
        })?;
        if nb > 0 && nu == 0 {
            return Err(bad("the header announces blocks of 0 bytes"));
        }
        total = total.saturating_add(inflated);
        if total > limit {
            return Err(bad(&format!(
                "its blocks inflate to {inflated} bytes, which brings the file's data past the \
                 limit of {limit} bytes (NABLA_MAX_INPUT_BYTES raises it)"
            )));
        }
        // No compressor inflates beyond its format's limit (deflate about 1032:1, lz4 about
        // 255:1): a header that declares more than that for the compressed bytes it
        // announces lies, and vtkio would allocate the declared size before finding out
        // (found by fuzzing: 822 MB asked for by a 991-byte lz4 file).
        let compressed = (0..nb).fold(0u64, |c, k| c.saturating_add(num(3 + k) as u64));
        let ratio = match attribute(&file_tag, "compressor") {
            Some("vtkZLibDataCompressor") => 1100,
            Some("vtkLZ4DataCompressor") => 260,
            _ => 10_000, // lzma, whose limit is far higher
        };
        if inflated > compressed.saturating_mul(ratio).saturating_add(1024) {
            return Err(bad(&format!(
                "the header declares {inflated} bytes from {compressed} compressed bytes, \
                 more than the compressor can produce"
            )));
        }
    }
    Ok(())
}

/// Position of `needle` in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::{attribute, raw_appended_to_base64};

    #[test]
    fn attributes_are_found_with_either_quote_and_not_inside_other_names() {
        let tag = "<DataArray type='Int64' Name=\"offsets\" offset = '120'";
        assert_eq!(attribute(tag, "offset"), Some("120"));
        assert_eq!(attribute(tag, "Name"), Some("offsets"));
        assert_eq!(attribute(tag, "format"), None);
    }

    #[test]
    fn uncompressed_raw_arrays_become_one_base64_block_each() {
        let mut file =
            b"<VTKFile type=\"PolyData\" header_type=\"UInt32\" byte_order=\"LittleEndian\">\
<DataArray type=\"UInt8\" Name=\"a\" format=\"appended\" offset=\"0\"/>\
<DataArray type=\"UInt8\" Name=\"b\" format=\"appended\" offset=\"6\"/>\
<AppendedData encoding=\"raw\">\n   _"
                .to_vec();
        file.extend_from_slice(&[2, 0, 0, 0, b'<', b'_', 1, 0, 0, 0, b'>']);
        file.extend_from_slice(b"\n</AppendedData></VTKFile>");
        let out = raw_appended_to_base64(&file).unwrap();
        let text = std::str::from_utf8(&out).unwrap();
        // base64([2,0,0,0,'<','_']) = "AgAAADxf", then base64([1,0,0,0,'>']) = "AQAAAD4=".
        assert!(text.contains("offset=\"0\""), "{text}");
        assert!(text.contains("offset=\"8\""), "{text}");
        assert!(text.contains("<AppendedData encoding=\"base64\">\n_AgAAADxfAQAAAD4=\n"));
    }

    #[test]
    fn raw_arrays_past_the_end_are_an_error_and_base64_files_are_unchanged() {
        let file = b"<VTKFile header_type=\"UInt64\"><DataArray offset=\"0\"/>\
<AppendedData encoding=\"raw\">_\x40\x00\x00\x00\x00\x00\x00\x00abc</AppendedData>";
        assert!(
            raw_appended_to_base64(file)
                .unwrap_err()
                .contains("offset 0")
        );
        let b64 = b"<VTKFile><AppendedData encoding=\"base64\">_AAAA</AppendedData>";
        assert!(matches!(
            raw_appended_to_base64(b64),
            Ok(std::borrow::Cow::Borrowed(_))
        ));
    }
}
