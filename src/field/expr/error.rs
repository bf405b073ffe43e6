//! The errors: [`ExprError`] (parse, bind) and [`ExprFieldError`] (building a field).

/// A parse or bind error: where in the expression (a 1-based column, counted in
/// characters) and what was expected there.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: {message}")]
pub struct ExprError {
    expression: String,
    column: usize,
    message: String,
}

impl ExprError {
    pub(super) fn new(expression: &str, column: usize, message: impl Into<String>) -> Self {
        ExprError {
            expression: expression.to_owned(),
            column,
            message: message.into(),
        }
    }

    /// 1-based column, in characters, of the place the error points at. One past the
    /// last character for errors at the end of the expression.
    pub fn column(&self) -> usize {
        self.column
    }

    /// What went wrong and what was expected, without the position.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The expression the error is about.
    pub fn expression(&self) -> &str {
        &self.expression
    }

    /// Two lines: the expression, and a caret under the error's column followed by the
    /// message. Tabs and line breaks of the expression are shown as spaces so that the
    /// caret lines up.
    ///
    /// ```
    /// let err = nabla::field::expr::Expr::parse("1 + sine(x)").unwrap_err();
    /// assert_eq!(err.caret().lines().nth(1).unwrap().find('^'), Some(4));
    /// ```
    pub fn caret(&self) -> String {
        let line: String = self
            .expression
            .chars()
            .map(|c| if c.is_whitespace() { ' ' } else { c })
            .collect();
        let pad = " ".repeat(self.column.saturating_sub(1));
        format!("{line}\n{pad}^ {}", self.message)
    }
}

/// Why an [`ExprField`](super::ExprField) could not be built.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ExprFieldError {
    /// A component failed to parse or bind.
    #[error("component {index} \"{}\": {error}", .error.expression())]
    Component {
        /// Index of the component, from 0.
        index: usize,
        /// The parse or bind error.
        error: ExprError,
    },
    /// A constant whose name cannot be used.
    #[error("constant '{name}': {reason}")]
    Constant {
        /// The constant's name.
        name: String,
        /// Why it cannot be used.
        reason: String,
    },
    /// A number of coordinates other than 1, 2 or 3.
    #[error("an expression field needs 1, 2 or 3 coordinates, got {0}")]
    Dimension(usize),
    /// No component expressions.
    #[error("an expression field needs at least one component")]
    Empty,
}

impl ExprFieldError {
    /// The caret display of the failing component's [`ExprError`], if that is the error.
    pub fn caret(&self) -> Option<String> {
        match self {
            ExprFieldError::Component { error, .. } => Some(error.caret()),
            _ => None,
        }
    }
}
