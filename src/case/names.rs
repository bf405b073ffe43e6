//! Names from `case.toml` that end up in files: the output name (file names, the `.pvd`
//! collection) and the field names (XML attributes of every array). Checked when the case
//! is read, with the line and column of the name, so that every file written is one VTK
//! can read: XML 1.0 has no place for control characters, not even escaped.

use super::config::CaseFile;
use super::load::Input;
use crate::error::Result;

/// Longest output name, in bytes: with the time index, the extension and the temporary
/// suffixes, a file name stays within the 255 bytes file systems allow.
const MAX_OUTPUT_NAME: usize = 200;

/// Longest field name, in bytes (array names add an operator around it).
const MAX_FIELD_NAME: usize = 200;

/// A character no XML 1.0 document can hold, not even escaped (control characters,
/// and the noncharacters U+FFFE and U+FFFF); C1 controls are refused too, as they would
/// drive a terminal.
pub(super) fn unwritable(c: char) -> bool {
    c.is_control() || c == '\u{fffe}' || c == '\u{ffff}'
}

/// Checks the output name and every field name.
pub(super) fn check(input: &Input, spec: &CaseFile) -> Result<()> {
    if let Some(name) = &spec.output.name {
        let bad = |why: &str| {
            input.error_key(
                "output.name",
                format!("output.name '{name}': {why}; expected a plain file name, without folders"),
            )
        };
        if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\\']) {
            return Err(bad("not a file name"));
        }
        if let Some(c) = name.chars().find(|&c| unwritable(c)) {
            return Err(bad(&format!("it holds the character {c:?}")));
        }
        if name.len() > MAX_OUTPUT_NAME {
            return Err(bad(&format!(
                "{} bytes is longer than the {MAX_OUTPUT_NAME} allowed",
                name.len()
            )));
        }
    }
    for (i, f) in spec.fields.iter().enumerate() {
        let at = |why: String| {
            input.error_key(
                &format!("field.{i}.name"),
                format!("field name '{}': {why}", f.name),
            )
        };
        if f.name.trim().is_empty() {
            return Err(at("a field needs a non-empty name".into()));
        }
        if let Some(c) = f.name.chars().find(|&c| unwritable(c)) {
            return Err(at(format!(
                "it holds the character {c:?}, which no VTK file can hold"
            )));
        }
        if f.name.len() > MAX_FIELD_NAME {
            return Err(at(format!(
                "{} bytes is longer than the {MAX_FIELD_NAME} allowed",
                f.name.len()
            )));
        }
    }
    Ok(())
}

/// Checks the names of the arrays carried from an input file (`file`) into the output:
/// a legacy `.vtk` or CSV header can hold characters no XML file can.
pub(super) fn check_carried(
    file: &std::path::Path,
    arrays: &[crate::io::PointArray],
) -> Result<()> {
    for a in arrays {
        if let Some(c) = a.name.chars().find(|&c| unwritable(c)) {
            return Err(crate::error::Error::Input {
                path: file.to_path_buf(),
                line: None,
                column: None,
                message: super::load::escape_controls(&format!(
                    "array '{}' holds the character {c:?}, which no VTK file can hold; rename it \
                     in the file",
                    a.name
                )),
            });
        }
    }
    Ok(())
}
