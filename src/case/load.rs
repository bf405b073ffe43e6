//! Reading `case.toml`: the parsed case, its name and times, and errors that point to a
//! line and column of the file.

use std::ops::Range;
use std::path::{Path, PathBuf};

use super::config::{CaseFile, Expressions, Number};
use crate::error::{Error, Result};
use crate::field::expr::{Expr, ExprField, ExprFieldError};

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
}

/// Reads and parses `dir/case.toml`.
pub(super) fn case(dir: &Path) -> Result<Case> {
    let file = dir.join("case.toml");
    let text = std::fs::read_to_string(&file).map_err(|e| Error::Io {
        path: file.clone(),
        message: format!("cannot read the case file: {e}"),
    })?;
    let input = Input {
        file,
        text,
        constants: Vec::new(),
    };
    let spec: CaseFile = toml::from_str(&input.text).map_err(|e| {
        let message = e.message().trim().to_string();
        match e.span() {
            Some(span) => input.error_at(&span, None, message),
            None => input.error(message),
        }
    })?;
    let name = match &spec.output.name {
        Some(n) => n.clone(),
        None => dir
            .canonicalize()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "case".into()),
    };
    let constants = spec
        .constants
        .iter()
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    Ok(Case {
        dir: dir.to_path_buf(),
        name,
        spec,
        input: Input { constants, ..input },
    })
}

impl Case {
    /// The times to evaluate at: `times`, or just `t = 0`.
    pub(super) fn times(&self) -> Result<Vec<f64>> {
        let times = self.spec.times.clone().unwrap_or_else(|| vec![0.0]);
        if times.is_empty() || times.iter().any(|t| !t.is_finite()) {
            return Err(self
                .input
                .error("times: expected a non-empty list of finite numbers".into()));
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
            message,
        }
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
            message,
        }
    }

    /// A setting of the `[pinn]` table that cannot be used, as an error about case.toml.
    pub(super) fn pinn_error(&self, e: Error) -> Error {
        match e {
            Error::Config { setting, message } => self.error(format!("pinn.{setting}: {message}")),
            other => other,
        }
    }

    fn constants(&self) -> Vec<(&str, f64)> {
        self.constants
            .iter()
            .map(|(k, v)| (k.as_str(), *v))
            .collect()
    }

    /// A number, or a constant expression such as `"2*pi"`.
    pub(super) fn number(&self, n: &Number, what: &str) -> Result<f64> {
        match n {
            Number::Value(v) => Ok(*v),
            Number::Expr(s) => {
                let e = Expr::parse(s)
                    .and_then(|e| e.bind_with(&[], &self.constants()))
                    .map_err(|e| self.error(format!("{what}: {}\n{}", e.message(), e.caret())))?;
                Ok(e.eval_f64(&[]))
            }
        }
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
        ExprField::new(&texts, dim, t, &self.constants()).map_err(|e| match &e {
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
        })
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}
