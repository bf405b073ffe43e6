//! The `FoamFile { … }` header at the start of every OpenFOAM file: its format (ASCII or
//! binary, label and scalar sizes) and class, and the component counts of field types.

use super::lexer::{Format, Lexer, Tok};
use crate::Result;

/// The header of a FoamFile.
#[derive(Debug, Clone)]
pub(crate) struct Header {
    /// `class` (`volVectorField`, `faceCompactList`, …); empty when there is none.
    pub class: String,
}

/// Reads the `FoamFile { … }` header at the start of a file and sets the lexer's format.
/// A file without one is ASCII with 32-bit labels and 64-bit scalars.
pub(crate) fn header(lx: &mut Lexer) -> Result<Header> {
    let (at, t) = lx.peek()?;
    if t != Tok::Word("FoamFile") {
        return Ok(Header {
            class: String::new(),
        });
    }
    lx.next()?;
    lx.expect_punct(b'{', "the FoamFile header")?;
    let mut class = String::new();
    let mut format = Format::default();
    loop {
        let (p, t) = lx.next()?;
        let key = match t {
            Tok::Punct(b'}') => break,
            Tok::Word(w) => w,
            other => {
                return Err(lx.err(
                    p,
                    format!(
                        "the FoamFile header: expected a keyword or `}}`, found {}",
                        other.describe()
                    ),
                ));
            }
        };
        let mut value = String::new();
        loop {
            let (q, t) = lx.next()?;
            match t {
                Tok::Punct(b';') => break,
                Tok::Word(w) | Tok::Num(w) => value.push_str(w),
                Tok::Str(s) => value.push_str(&s),
                other => {
                    return Err(lx.err(
                        q,
                        format!(
                            "the FoamFile header, entry {key}: expected a value and `;`, found {}",
                            other.describe()
                        ),
                    ));
                }
            }
        }
        match key {
            "format" => match value.as_str() {
                "ascii" => format.binary = false,
                "binary" => format.binary = true,
                other => {
                    return Err(lx.err(
                        p,
                        format!("the FoamFile header: format `{other}`; expected ascii or binary"),
                    ));
                }
            },
            "class" => class = value,
            "arch" => {
                for part in value.split(';') {
                    let part = part.trim();
                    if part == "MSB" {
                        return Err(lx.err(
                            p,
                            "the FoamFile header: arch MSB (big-endian binary) is not supported; \
                             expected LSB (convert with foamFormatConvert on this machine)",
                        ));
                    }
                    let bits = |v: &str| -> Result<usize> {
                        match v {
                            "32" => Ok(4),
                            "64" => Ok(8),
                            other => Err(lx.err(
                                p,
                                format!(
                                    "the FoamFile header: arch `{part}`: {other} bits; expected \
                                     32 or 64"
                                ),
                            )),
                        }
                    };
                    if let Some(v) = part.strip_prefix("label=") {
                        format.label = bits(v)?;
                    } else if let Some(v) = part.strip_prefix("scalar=") {
                        format.scalar = bits(v)?;
                    }
                }
            }
            _ => {}
        }
    }
    let _ = at;
    lx.fmt = format;
    Ok(Header { class })
}

/// The number of components of an OpenFOAM element type, for typed lists.
pub(crate) fn components(ty: &str) -> Option<usize> {
    match ty {
        "scalar" => Some(1),
        "vector" => Some(3),
        "symmTensor" => Some(6),
        "tensor" => Some(9),
        "sphericalTensor" => Some(1),
        _ => None,
    }
}
