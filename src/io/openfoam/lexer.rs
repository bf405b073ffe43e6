//! The FoamFile tokenizer and its lists: words, numbers, strings, punctuation, comments,
//! and the lists of numbers and labels in both formats (ASCII `N ( … )` and `N{value}`,
//! binary `N(raw bytes)`).
//!
//! Every count a list announces is checked against the bytes left in the file (binary: the
//! exact size; ASCII: the fewest characters its elements can take) or against the size the
//! caller expects, before anything is allocated.

use std::path::PathBuf;

use crate::{Error, Result};

mod lists;

/// One file's text (inflated where it was gzipped), with its path for messages.
#[derive(Debug)]
pub(crate) struct Src {
    /// The file as found (`U`, or `U.gz`).
    pub path: PathBuf,
    /// Its bytes, inflated.
    pub bytes: Vec<u8>,
}

impl Src {
    /// The 1-based line of byte `pos`.
    pub fn line_of(&self, pos: usize) -> usize {
        let end = pos.min(self.bytes.len());
        1 + self.bytes[..end].iter().filter(|&&b| b == b'\n').count()
    }

    /// An [`Error::Input`] at byte `pos` of this file.
    pub fn error_at(&self, pos: usize, message: impl Into<String>) -> Error {
        Error::Input {
            path: self.path.clone(),
            line: Some(self.line_of(pos)),
            column: None,
            message: message.into(),
        }
    }

    /// An [`Error::Input`] about this file, without a line.
    pub fn error(&self, message: impl Into<String>) -> Error {
        Error::Input {
            path: self.path.clone(),
            line: None,
            column: None,
            message: message.into(),
        }
    }
}

/// How the lists of a file are stored (its header's `format` and `arch`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Format {
    /// `format binary;`: contiguous lists are raw bytes.
    pub binary: bool,
    /// Bytes of a label (4 or 8: `label=32` or `label=64`).
    pub label: usize,
    /// Bytes of a scalar (8, or 4 for `scalar=32`).
    pub scalar: usize,
}

impl Default for Format {
    fn default() -> Self {
        Format {
            binary: false,
            label: 4,
            scalar: 8,
        }
    }
}

/// A token.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok<'a> {
    /// `( ) { } [ ] ;` and other single characters.
    Punct(u8),
    /// A word: `uniform`, `List<scalar>`, `grad(U)`.
    Word(&'a str),
    /// A quoted string, unescaped.
    Str(String),
    /// A number as written.
    Num(&'a str),
    /// `#include` and the other directives, without the `#`.
    Directive(&'a str),
    /// `$name` or `${name}`, without the `$`.
    Var(&'a str),
    /// A verbatim block `#{ … #}` (code of a coded condition).
    Verbatim,
    /// The end of the file.
    Eof,
}

impl Tok<'_> {
    /// How the token reads in a message.
    pub fn describe(&self) -> String {
        match self {
            Tok::Punct(c) => format!("`{}`", *c as char),
            Tok::Word(w) => format!("the word `{w}`"),
            Tok::Str(s) => format!("the string \"{s}\""),
            Tok::Num(n) => format!("the number {n}"),
            Tok::Directive(d) => format!("the directive #{d}"),
            Tok::Var(v) => format!("the variable ${v}"),
            Tok::Verbatim => "a verbatim block #{ … #}".into(),
            Tok::Eof => "the end of the file".into(),
        }
    }
}

/// Whether `c` may be part of a word (OpenFOAM's `word::valid`, less the brackets and
/// parentheses, which are handled by depth).
fn word_char(c: u8) -> bool {
    !c.is_ascii_whitespace()
        && !matches!(
            c,
            b'"' | b'\'' | b'/' | b';' | b'{' | b'}' | b'[' | b']' | b'(' | b')'
        )
}

/// Whether `c` may be part of a number as written (`-1.5e-05`, `nan`).
fn number_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'.' | b'+' | b'-' | b'_')
}

/// The tokenizer over one file.
pub(crate) struct Lexer<'a> {
    /// The file.
    pub src: &'a Src,
    /// The next byte to read.
    pub pos: usize,
    /// How its lists are stored.
    pub fmt: Format,
    /// The most bytes the lists of this file may still allocate (what is left of
    /// [`max_input_bytes`](crate::io::max_input_bytes)).
    pub limit: u64,
}

impl<'a> Lexer<'a> {
    /// A lexer at the start of `src`, reading ASCII until a header says otherwise.
    pub fn new(src: &'a Src, limit: u64) -> Self {
        Lexer {
            src,
            pos: 0,
            fmt: Format::default(),
            limit,
        }
    }

    /// An error at byte `pos`.
    pub fn err(&self, pos: usize, message: impl Into<String>) -> Error {
        self.src.error_at(pos, message)
    }

    fn bytes(&self) -> &'a [u8] {
        &self.src.bytes
    }

    /// Skips white space and comments.
    fn skip(&mut self) -> Result<()> {
        let b = self.bytes();
        loop {
            while self.pos < b.len() && b[self.pos].is_ascii_whitespace() {
                self.pos += 1;
            }
            if b.get(self.pos) == Some(&b'/') {
                match b.get(self.pos + 1) {
                    Some(b'/') => {
                        while self.pos < b.len() && b[self.pos] != b'\n' {
                            self.pos += 1;
                        }
                        continue;
                    }
                    Some(b'*') => {
                        let start = self.pos;
                        let rest = &b[self.pos + 2..];
                        match rest.windows(2).position(|w| w == b"*/") {
                            Some(k) => self.pos += 2 + k + 2,
                            None => {
                                return Err(self.err(
                                    start,
                                    "a comment /* … is not closed; expected */ before the end of \
                                     the file",
                                ));
                            }
                        }
                        continue;
                    }
                    _ => {}
                }
            }
            return Ok(());
        }
    }

    /// The next token and the byte where it starts.
    pub fn next(&mut self) -> Result<(usize, Tok<'a>)> {
        self.skip()?;
        let b = self.bytes();
        let start = self.pos;
        let Some(&c) = b.get(start) else {
            return Ok((start, Tok::Eof));
        };
        let text = |lx: &Self, from: usize, to: usize| -> Result<&'a str> {
            std::str::from_utf8(&lx.bytes()[from..to]).map_err(|_| {
                lx.err(
                    from,
                    "bytes that are not text; expected a word (a binary file read as ASCII?)",
                )
            })
        };
        let num_start = c.is_ascii_digit()
            || (matches!(c, b'-' | b'+' | b'.')
                && b.get(start + 1)
                    .is_some_and(|&d| d.is_ascii_digit() || d == b'.'));
        if num_start {
            let mut end = start + 1;
            while end < b.len() && number_char(b[end]) {
                end += 1;
            }
            self.pos = end;
            return Ok((start, Tok::Num(text(self, start, end)?)));
        }
        match c {
            b'"' => {
                let mut s = Vec::new();
                let mut i = start + 1;
                loop {
                    match b.get(i) {
                        None => {
                            return Err(self.err(
                                start,
                                "a string is not closed; expected \" before the end of the file",
                            ));
                        }
                        Some(b'"') => break,
                        Some(b'\\') if i + 1 < b.len() => {
                            s.push(b[i + 1]);
                            i += 2;
                        }
                        Some(&d) => {
                            s.push(d);
                            i += 1;
                        }
                    }
                }
                self.pos = i + 1;
                let s = String::from_utf8(s)
                    .map_err(|_| self.err(start, "a string that is not UTF-8 text"))?;
                Ok((start, Tok::Str(s)))
            }
            b'#' => {
                if b.get(start + 1) == Some(&b'{') {
                    match b[start + 2..].windows(2).position(|w| w == b"#}") {
                        Some(k) => {
                            self.pos = start + 2 + k + 2;
                            return Ok((start, Tok::Verbatim));
                        }
                        None => {
                            return Err(self.err(
                                start,
                                "a verbatim block #{ is not closed; expected #} before the end \
                                 of the file",
                            ));
                        }
                    }
                }
                let mut end = start + 1;
                while end < b.len() && word_char(b[end]) {
                    end += 1;
                }
                self.pos = end;
                Ok((start, Tok::Directive(text(self, start + 1, end)?)))
            }
            b'$' => {
                if b.get(start + 1) == Some(&b'{') {
                    let Some(k) = b[start + 2..].iter().position(|&d| d == b'}') else {
                        return Err(self.err(start, "a variable ${ is not closed; expected }"));
                    };
                    self.pos = start + 2 + k + 1;
                    return Ok((start, Tok::Var(text(self, start + 2, start + 2 + k)?)));
                }
                let mut end = start + 1;
                while end < b.len() && word_char(b[end]) {
                    end += 1;
                }
                self.pos = end;
                Ok((start, Tok::Var(text(self, start + 1, end)?)))
            }
            c if word_char(c) && c.is_ascii_graphic() => {
                // A word; parentheses inside it (`grad(U)`, `div(phi,U)`) stay in it while
                // they are balanced.
                let mut end = start;
                let mut depth = 0usize;
                while end < b.len() {
                    let d = b[end];
                    if d == b'(' {
                        depth += 1;
                    } else if d == b')' {
                        if depth == 0 {
                            break;
                        }
                        depth -= 1;
                    } else if !word_char(d) {
                        break;
                    }
                    end += 1;
                }
                self.pos = end;
                Ok((start, Tok::Word(text(self, start, end)?)))
            }
            c if c.is_ascii() && !c.is_ascii_control() => {
                self.pos = start + 1;
                Ok((start, Tok::Punct(c)))
            }
            c => Err(self.err(
                start,
                format!(
                    "byte 0x{c:02x} is not text; expected a word, a number or punctuation (a \
                     binary file read as ASCII, or not an OpenFOAM file?)"
                ),
            )),
        }
    }

    /// The next token without taking it.
    pub fn peek(&mut self) -> Result<(usize, Tok<'a>)> {
        let here = self.pos;
        let t = self.next();
        self.pos = here;
        t
    }

    /// The error for a file that ends inside a list.
    fn truncated(&self, at: usize, context: &str) -> Error {
        self.err(
            at,
            format!("{context}: the file ends inside the list; expected more entries (truncated?)"),
        )
    }

    /// Takes the punctuation `c`, or fails saying what was expected.
    pub fn expect_punct(&mut self, c: u8, context: &str) -> Result<usize> {
        let (at, t) = self.next()?;
        if t == Tok::Punct(c) {
            Ok(at)
        } else {
            let hint = if t == Tok::Eof { " (truncated?)" } else { "" };
            Err(self.err(
                at,
                format!(
                    "{context}: expected `{}`, found {}{hint}",
                    c as char,
                    t.describe()
                ),
            ))
        }
    }

    /// A number token as an f64 (`nan` and `inf` too: the caller checks finiteness).
    fn scalar(&mut self, context: &dyn Fn() -> String) -> Result<(usize, f64)> {
        // The common case, a plain number, without building a token.
        self.skip()?;
        let b = self.bytes();
        let start = self.pos;
        let mut end = start;
        while end < b.len() && matches!(b[end], b'0'..=b'9' | b'.' | b'-' | b'+' | b'e' | b'E') {
            end += 1;
        }
        if end > start
            && b.get(end).is_none_or(|&c| !number_char(c))
            && let Ok(text) = std::str::from_utf8(&b[start..end])
            && let Ok(v) = text.parse::<f64>()
        {
            self.pos = end;
            return Ok((start, v));
        }
        let (at, t) = self.next()?;
        let text = match t {
            Tok::Num(n) => n,
            Tok::Word(w) => w,
            Tok::Eof => return Err(self.truncated(at, &context())),
            other => {
                return Err(self.err(
                    at,
                    format!(
                        "{}: expected a number, found {}",
                        context(),
                        other.describe()
                    ),
                ));
            }
        };
        let v = parse_scalar(text).ok_or_else(|| {
            self.err(
                at,
                format!("{}: expected a number, found `{text}`", context()),
            )
        })?;
        Ok((at, v))
    }

    /// A label token as an i64.
    fn label(&mut self, context: &dyn Fn() -> String) -> Result<(usize, i64)> {
        // The common case, digits then a separator, without building a token.
        self.skip()?;
        let b = self.bytes();
        let start = self.pos;
        let mut end = start;
        let mut v: i64 = 0;
        while end < b.len() && b[end].is_ascii_digit() && end - start < 18 {
            v = v * 10 + i64::from(b[end] - b'0');
            end += 1;
        }
        if end > start && b.get(end).is_none_or(|&c| !number_char(c)) {
            self.pos = end;
            return Ok((start, v));
        }
        let (at, t) = self.next()?;
        match t {
            Tok::Num(n) => n.parse::<i64>().map(|v| (at, v)).map_err(|_| {
                self.err(
                    at,
                    format!("{}: expected an integer label, found `{n}`", context()),
                )
            }),
            Tok::Eof => Err(self.truncated(at, &context())),
            other => Err(self.err(
                at,
                format!(
                    "{}: expected an integer label, found {}",
                    context(),
                    other.describe()
                ),
            )),
        }
    }
}

/// A number as OpenFOAM writes it (`1e-05`, `-0`, `nan`, `inf`).
pub(crate) fn parse_scalar(text: &str) -> Option<f64> {
    match text.to_ascii_lowercase().as_str() {
        "nan" | "-nan" | "+nan" => Some(f64::NAN),
        "inf" | "+inf" | "infinity" => Some(f64::INFINITY),
        "-inf" | "-infinity" => Some(f64::NEG_INFINITY),
        _ => {
            let b = text.as_bytes();
            // Rust also reads `infinity` spelled otherwise and `NaN`: only numbers here.
            if b.iter()
                .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'+' | b'-' | b'e' | b'E'))
            {
                text.parse().ok()
            } else {
                None
            }
        }
    }
}
