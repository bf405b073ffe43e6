//! Preprocessing of legacy `.vtk` files for vtkio's parser.
//!
//! VTK's legacy format allows a `FIELD FieldData n` block between the `DATASET` line and the
//! geometry (`POINTS`, …); VTK itself and OpenFOAM's `foamToVTK -legacy` write the time
//! value there. vtkio 0.7.0-rc2 expects `POINTS` right after `DATASET` and rejects such files,
//! so [`strip_dataset_field`] cuts that block out. nabla reads only points and cells, so
//! nothing it needs is lost.

use std::borrow::Cow;

/// A cursor over the bytes of a legacy file.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    /// The next line (without its `\n` or `\r\n`), and moves past it.
    fn line(&mut self) -> Option<&'a [u8]> {
        if self.pos >= self.bytes.len() {
            return None;
        }
        let rest = &self.bytes[self.pos..];
        let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
        self.pos += (end + 1).min(rest.len());
        let line = &rest[..end];
        Some(line.strip_suffix(b"\r").unwrap_or(line))
    }

    /// The next line that is not blank, split into whitespace-separated words.
    fn words(&mut self) -> Option<Vec<&'a str>> {
        loop {
            let line = self.line()?;
            let text = std::str::from_utf8(line).ok()?;
            let words: Vec<&str> = text.split_ascii_whitespace().collect();
            if !words.is_empty() {
                return Some(words);
            }
        }
    }

    /// Moves past ASCII whitespace.
    fn skip_space(&mut self) {
        while self
            .bytes
            .get(self.pos)
            .is_some_and(|b| b.is_ascii_whitespace())
        {
            self.pos += 1;
        }
    }

    /// Moves past `n` whitespace-separated ASCII words.
    fn skip_words(&mut self, n: usize) -> Option<()> {
        for _ in 0..n {
            self.skip_space();
            let start = self.pos;
            while self
                .bytes
                .get(self.pos)
                .is_some_and(|b| !b.is_ascii_whitespace())
            {
                self.pos += 1;
            }
            if self.pos == start {
                return None;
            }
        }
        Some(())
    }
}

/// Size in bytes of one value of a legacy data type, as VTK's legacy writer writes it.
fn type_size(name: &str) -> Option<usize> {
    Some(match name.to_ascii_lowercase().as_str() {
        "bit" | "char" | "unsigned_char" => 1,
        "short" | "unsigned_short" => 2,
        "int" | "unsigned_int" | "float" => 4,
        "long" | "unsigned_long" | "double" | "vtkidtype" | "vtktypeint64" | "vtktypeuint64" => 8,
        _ => return None,
    })
}

/// Moves past the arrays of a `FIELD name n` block whose header line has been read.
fn skip_field_arrays(cur: &mut Cursor, n: usize, binary: bool) -> Option<()> {
    for _ in 0..n {
        let words = cur.words()?;
        if words.len() != 4 {
            return None;
        }
        let comps: usize = words[1].parse().ok()?;
        let tuples: usize = words[2].parse().ok()?;
        let count = comps.checked_mul(tuples)?;
        if binary {
            let bytes = count.checked_mul(type_size(words[3])?)?;
            cur.pos = cur.pos.checked_add(bytes)?;
            if cur.pos > cur.bytes.len() {
                return None;
            }
        } else {
            cur.skip_words(count)?;
        }
        // VTK ends the data with a newline; an array may be followed by its METADATA block.
        let save = cur.pos;
        match cur.words() {
            Some(w) if w[0].eq_ignore_ascii_case("METADATA") => {
                // The block ends at the first blank line.
                while let Some(line) = cur.line() {
                    if line.iter().all(u8::is_ascii_whitespace) {
                        break;
                    }
                }
            }
            _ => cur.pos = save,
        }
    }
    Some(())
}

/// Returns the file without a `FIELD` block between its `DATASET` line and its geometry, or
/// the file unchanged where it has none (or where the block cannot be made out: vtkio's
/// parser then reports the error).
pub(crate) fn strip_dataset_field(bytes: &[u8]) -> Cow<'_, [u8]> {
    match field_block(bytes) {
        Some(r) => {
            let mut out = Vec::with_capacity(bytes.len() - r.len());
            out.extend_from_slice(&bytes[..r.start]);
            out.extend_from_slice(&bytes[r.end..]);
            Cow::Owned(out)
        }
        None => Cow::Borrowed(bytes),
    }
}

/// The byte range of the `FIELD` block between the `DATASET` line and the geometry (what
/// [`strip_dataset_field`] cuts out), if there is one.
pub(crate) fn field_block(bytes: &[u8]) -> Option<std::ops::Range<usize>> {
    let mut cur = Cursor { bytes, pos: 0 };
    // Header: version line, title, ASCII|BINARY.
    let (Some(_), Some(_), Some(format)) = (cur.line(), cur.line(), cur.words()) else {
        return None;
    };
    let binary = format[0].eq_ignore_ascii_case("BINARY");
    match cur.words() {
        Some(w) if w[0].eq_ignore_ascii_case("DATASET") => {}
        _ => return None,
    }
    let start = cur.pos;
    let n = match cur.words() {
        Some(w) if w.len() == 3 && w[0].eq_ignore_ascii_case("FIELD") => {
            match w[2].parse::<usize>() {
                Ok(n) => n,
                Err(_) => return None,
            }
        }
        _ => return None,
    };
    skip_field_arrays(&mut cur, n, binary)?;
    cur.skip_space();
    Some(start..cur.pos)
}

/// The line (from 1) of byte `offset` in `bytes`.
pub(crate) fn line_of(bytes: &[u8], offset: usize) -> usize {
    let end = offset.min(bytes.len());
    bytes[..end].iter().filter(|&&b| b == b'\n').count() + 1
}

/// Checks the counts of the section lines of a legacy file (`POINTS n`, `CELLS n size`,
/// `POINT_DATA n`, …) against the size of the file: each announced value takes at least one
/// byte (its type's size in a binary file), so a count the file cannot hold is refused
/// before vtkio reads on. Returns the line and what is wrong.
pub(crate) fn check_counts(bytes: &[u8]) -> Result<(), (usize, String)> {
    let len = bytes.len() as u64;
    let binary = {
        let mut cur = Cursor { bytes, pos: 0 };
        let _ = (cur.line(), cur.line());
        cur.words()
            .is_some_and(|w| w[0].eq_ignore_ascii_case("BINARY"))
    };
    let mut cur = Cursor { bytes, pos: 0 };
    let mut number = 0usize;
    while let Some(line) = cur.line() {
        number += 1;
        // Only short lines of ASCII words are section lines.
        if line.len() > 200 || !line.first().is_some_and(u8::is_ascii_uppercase) {
            continue;
        }
        let Ok(text) = std::str::from_utf8(line) else {
            continue;
        };
        let words: Vec<&str> = text.split_ascii_whitespace().collect();
        let Some(&key) = words.first() else {
            continue;
        };
        // (index of the count, values per count, index of the type name)
        let (count_at, per, type_at) = match key {
            "POINTS" => (1, 3, Some(2)),
            "CELLS" | "POLYGONS" | "LINES" | "VERTICES" | "TRIANGLE_STRIPS" => (2, 1, None),
            "CELL_TYPES" | "POINT_DATA" | "CELL_DATA" => (1, 1, None),
            "OFFSETS" | "CONNECTIVITY" => (1, 1, Some(2)),
            _ => continue,
        };
        // `CELLS n size`: both the cells and the entries must fit (each cell takes one entry
        // at least).
        let Some(count) = words
            .get(1..=count_at)
            .and_then(|w| w.iter().map(|w| w.parse::<u64>().ok()).max().flatten())
        else {
            continue; // vtkio reports the malformed line
        };
        let size = match (binary, type_at.and_then(|t| words.get(t))) {
            (false, _) => 1,
            (true, Some(t)) => type_size(t).unwrap_or(1) as u64,
            (true, None) => 4,
        };
        let need = count.saturating_mul(per).saturating_mul(size);
        if need > len {
            return Err((
                number,
                format!(
                    "`{}` announces {count} values, but the whole file has {len} bytes",
                    words[..=count_at].join(" ")
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::strip_dataset_field;

    #[test]
    fn ascii_field_block_before_points_is_cut_out() {
        let input = b"# vtk DataFile Version 2.0\nt\nASCII\nDATASET POLYDATA\n\
FIELD FieldData 2\nTimeValue 1 1 float\n0.5\nother 2 2 double\n1 2\n3 4\n\
POINTS 1 float\n0 0 0\n";
        let out = strip_dataset_field(input);
        assert_eq!(
            &*out,
            &b"# vtk DataFile Version 2.0\nt\nASCII\nDATASET POLYDATA\nPOINTS 1 float\n0 0 0\n"[..]
        );
    }

    #[test]
    fn binary_field_block_skips_the_bytes_of_each_array() {
        // The binary value contains a newline byte and the word POINTS, which must not stop
        // the skip.
        let mut input = b"# vtk DataFile Version 2.0\nt\nBINARY\nDATASET POLYDATA\n\
FIELD FieldData 1\nTimeValue 2 1 float\n"
            .to_vec();
        input.extend_from_slice(b"\nPOI");
        input.extend_from_slice(b"NTS\n");
        input.extend_from_slice(b"POINTS 0 float\n");
        let out = strip_dataset_field(&input);
        assert_eq!(
            &*out,
            &b"# vtk DataFile Version 2.0\nt\nBINARY\nDATASET POLYDATA\nPOINTS 0 float\n"[..]
        );
    }

    #[test]
    fn files_without_a_field_block_or_with_a_broken_one_are_unchanged() {
        let plain = b"# vtk DataFile Version 2.0\nt\nASCII\nDATASET POLYDATA\nPOINTS 0 float\n";
        assert!(matches!(
            strip_dataset_field(plain),
            std::borrow::Cow::Borrowed(_)
        ));
        let truncated = b"# vtk DataFile Version 2.0\nt\nBINARY\nDATASET POLYDATA\n\
FIELD FieldData 1\nTimeValue 1 1000 float\n0";
        assert_eq!(&*strip_dataset_field(truncated), &truncated[..]);
        assert_eq!(&*strip_dataset_field(b""), &b""[..]);
    }
}
