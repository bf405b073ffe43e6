//! Reading `case.toml`: the parsed case, its name and times, and errors that point to a
//! line and column of the file.

use std::ops::Range;
use std::path::{Path, PathBuf};

use super::config::{CaseFile, Expressions, Number};
use crate::error::{Error, Result};
use crate::field::expr::{Definitions, Expr, ExprField, ExprFieldError};

/// A read case.
pub(super) struct Case {
    /// The case directory.
    pub(super) dir: PathBuf,
    /// The output base name: `output.name`, else the directory's name.
    pub(super) name: String,
    /// What `case.toml` says.
    pub(super) spec: CaseFile,
    /// `case.toml` itself, for expressions and messages.
    pub(super) input: Input,
}

/// The text of `case.toml` and its constants: turns expressions into numbers and fields,
/// and problems into errors with the line and column they come from.
pub(super) struct Input {
    /// Path of `case.toml`, for messages.
    file: PathBuf,
    text: String,
    constants: Vec<(String, f64)>,
    definitions: Definitions,
}

/// The case directory and its case file, from what the user named: a directory (its
/// `case.toml`) or a file (the case file itself, whose folder is the case directory).
fn locate(path: &Path) -> (PathBuf, PathBuf) {
    if path.is_file() {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        (dir, path.to_path_buf())
    } else {
        (path.to_path_buf(), path.join("case.toml"))
    }
}

/// Reads and parses the case at `path`: a case directory holding `case.toml`, or the
/// path of the case file itself (`cases/x/case.toml`).
pub(super) fn case(path: &Path) -> Result<Case> {
    let (dir, file) = locate(path);
    let dir = dir.as_path();
    // A regular file within the input limit, as every input read whole.
    let bytes = crate::io::read::read_input(&file).map_err(|e| match e {
        Error::Io { path, message } => Error::Io {
            path,
            message: format!("cannot read the case file: {message}"),
        },
        other => other,
    })?;
    let text = String::from_utf8(bytes).map_err(|e| Error::Io {
        path: file.clone(),
        message: format!("cannot read the case file: stream did not contain valid UTF-8 ({e})"),
    })?;
    let input = Input {
        file,
        text,
        constants: Vec::new(),
        definitions: Definitions::default(),
    };
    let mut spec: CaseFile = toml::from_str(&input.text).map_err(|e| {
        let message = e.message().trim().to_string();
        match e.span() {
            Some(span) => input.error_at(&span, None, message),
            None => input.error(message),
        }
    })?;
    if let Some(p) = spec.pinn.as_mut() {
        // Data files of a physics-informed problem are named relative to the case.
        p.dir = dir.to_path_buf();
    }
    let constants = super::constants::constants(&input, &spec)?;
    let definitions = super::constants::definitions(&input, &spec, &constants)?;
    super::names::check(&input, &spec)?;
    let name = match &spec.output.name {
        Some(n) => n.clone(),
        None => dir
            .canonicalize()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "case".into()),
    };
    Ok(Case {
        dir: dir.to_path_buf(),
        name,
        spec,
        input: Input {
            constants,
            definitions,
            ..input
        },
    })
}

impl Case {
    /// The times to evaluate at: `times` (numbers or constant expressions), or just
    /// `t = 0`.
    pub(super) fn times(&self) -> Result<Vec<f64>> {
        let given = match &self.spec.times {
            Some(t) => t.as_slice(),
            None => &[Number::Value(0.0)],
        };
        if given.is_empty() {
            return Err(self.input.error_key(
                "times",
                "times: expected a non-empty list of finite numbers".into(),
            ));
        }
        let mut times = Vec::with_capacity(given.len());
        for (k, n) in given.iter().enumerate() {
            let t = match n {
                Number::Value(v) => *v,
                Number::Expr(_) => self.input.number(n, &format!("times.{k}"))?,
            };
            if !t.is_finite() {
                return Err(self.input.error_key(
                    &format!("times.{k}"),
                    format!(
                        "times: time {k} is {t:?}; expected a non-empty list of finite numbers"
                    ),
                ));
            }
            times.push(t);
        }
        Ok(times)
    }
}

impl Input {
    /// An error about `case.toml` as a whole.
    pub(super) fn error(&self, message: String) -> Error {
        Error::Input {
            path: self.file.clone(),
            line: None,
            column: None,
            message: escape_controls(&message),
        }
    }

    /// An error about the value at `path` in case.toml: dot-separated keys, with array
    /// indices as numbers (`points.bounds.1`, `field.0.name`, `pinn.optimizer.lr`). It
    /// points at the value, or at the nearest enclosing value the file has (a setting
    /// left to its default is reported at its table).
    pub(super) fn error_key(&self, path: &str, message: String) -> Error {
        match self.span_of(path) {
            Some(span) => self.error_at(&span, None, message),
            None => self.error(message),
        }
    }

    /// Byte range of the value at `path` (see [`Input::error_key`]), or of its nearest
    /// ancestor present in the file.
    pub(super) fn span_of(&self, path: &str) -> Option<Range<usize>> {
        let doc = toml::de::DeTable::parse(&self.text).ok()?;
        let mut best: Option<Range<usize>> = None;
        let (mut table, mut array) = (Some(doc.get_ref()), None::<&toml::de::DeArray<'_>>);
        for part in path.split('.').filter(|p| !p.is_empty()) {
            let next = match (table, array, part.parse::<usize>()) {
                (_, Some(a), Ok(i)) => a.get(i),
                (Some(t), _, _) => t.iter().find(|(k, _)| k.get_ref() == part).map(|(_, v)| v),
                _ => None,
            };
            let Some(v) = next else { break };
            best = Some(v.span());
            table = v.get_ref().as_table();
            array = v.get_ref().as_array();
        }
        best
    }

    /// An error at the start of `span`, moved `column_in_string` characters right (to
    /// the place in an expression string).
    pub(super) fn error_at(
        &self,
        span: &Range<usize>,
        column_in_string: Option<usize>,
        message: String,
    ) -> Error {
        let (line, column) = line_col(&self.text, span.start);
        Error::Input {
            path: self.file.clone(),
            line: Some(line),
            column: Some(column + column_in_string.unwrap_or(0)),
            message: escape_controls(&message),
        }
    }

    /// A setting of the `[pinn]` table that cannot be used, as an error about case.toml.
    pub(super) fn pinn_error(&self, e: Error) -> Error {
        match e {
            Error::Config { setting, message } => self.error_key(
                &format!("pinn.{setting}"),
                format!("pinn.{setting}: {message}"),
            ),
            other => other,
        }
    }

    fn constants(&self) -> Vec<(&str, f64)> {
        self.constants
            .iter()
            .map(|(k, v)| (k.as_str(), *v))
            .collect()
    }

    /// A number, or a constant expression such as `"2*pi"`, at the key path `what`
    /// (see [`Input::error_key`]); it must be finite.
    pub(super) fn number(&self, n: &Number, what: &str) -> Result<f64> {
        self.number_with(n, what, &self.constants())
    }

    /// [`Input::number`] with the given constants.
    pub(super) fn number_with(
        &self,
        n: &Number,
        what: &str,
        constants: &[(&str, f64)],
    ) -> Result<f64> {
        let label = label(what);
        if let Number::Expr(src) = n
            && let Ok(e) = Expr::parse(src)
            && let Some((name, col)) = e
                .names()
                .into_iter()
                .find(|(name, _)| self.definitions.names().any(|d| d == name))
        {
            let message = format!(
                "{label}: '{name}' is a definition (of x, y, z and t); a number here can use \
                 only numbers and constants"
            );
            return Err(match self.span_of(what) {
                Some(span) => self.error_at(&span, Some(col), message),
                None => self.error(message),
            });
        }
        let v = n.value(constants).map_err(|e| {
            let message = format!("{label}: {}\n{}", e.message(), e.caret());
            match self.span_of(what) {
                Some(span) => self.error_at(&span, Some(e.column()), message),
                None => self.error(message),
            }
        })?;
        if !v.is_finite() {
            let shown = match n {
                Number::Expr(s) => format!("`{s}` is {v:?}"),
                Number::Value(_) => format!("the value is {v:?}"),
            };
            return Err(self.error_key(what, format!("{label}: {shown}; expected a finite number")));
        }
        Ok(v)
    }

    /// The 1-based line of a byte offset of the file.
    pub(super) fn line_of(&self, offset: usize) -> usize {
        line_col(&self.text, offset).0
    }

    /// An expression field, with errors pointing into case.toml.
    pub(super) fn expr_field(
        &self,
        what: &str,
        exprs: &toml::Spanned<Expressions>,
        dim: usize,
        t: f64,
    ) -> Result<ExprField> {
        let sources = &exprs.get_ref().0;
        let texts: Vec<&str> = sources.iter().map(|s| s.text.as_str()).collect();
        ExprField::with_definitions(&texts, dim, t, &self.constants(), &self.definitions).map_err(
            |e| match &e {
                ExprFieldError::Component { index, error } => {
                    let span = sources[*index].span.clone().unwrap_or_else(|| exprs.span());
                    self.error_at(
                        &span,
                        Some(error.column()),
                        format!(
                            "{what}, component {index}: {}\n{}",
                            error.message(),
                            error.caret()
                        ),
                    )
                }
                _ => self.error_at(&exprs.span(), None, format!("{what}: {e}")),
            },
        )
    }
}

/// A key path as people write it: `points.bounds[1][0]` for `points.bounds.1.0`.
pub(super) fn label(path: &str) -> String {
    let mut out = String::new();
    for part in path.split('.') {
        if part.parse::<usize>().is_ok() {
            out.push_str(&format!("[{part}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(part);
        }
    }
    out
}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// `message` made safe and short for a terminal: control characters (other than line
/// breaks) written as escapes, so that a name or expression from the file cannot drive
/// the terminal, and numbers of more than 20 digits (`1e308` printed in full) written
/// compactly (`1e308`).
pub fn escape_controls(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let chars: Vec<char> = message.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            let run: String = chars[start..i].iter().collect();
            let digits = run.chars().filter(char::is_ascii_digit).count();
            match run.parse::<f64>() {
                Ok(v) if digits > 20 => out.push_str(&format!("{v:e}")),
                _ => out.push_str(&run),
            }
            continue;
        }
        if c.is_control() && c != '\n' {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
        i += 1;
    }
    out
}
