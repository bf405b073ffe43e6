//! [`Number`]: a setting that is a number or a constant expression.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use super::{Expr, ExprError};

/// A number, or a constant expression (`"2*pi"`, `"1/Re"`) evaluated with named
/// constants. In TOML a number is written as a number, an expression as a string.
///
/// ```
/// use nabla::field::expr::Number;
/// assert_eq!(Number::Value(0.5).value(&[]).unwrap(), 0.5);
/// assert_eq!(Number::Expr("1/Re".into()).value(&[("Re", 20.0)]).unwrap(), 0.05);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum Number {
    /// A literal.
    Value(f64),
    /// An expression.
    Expr(String),
}

impl Number {
    /// The value, with `constants` for the names an expression uses. It may be infinite
    /// or NaN (`"1/0"`): callers say what they accept.
    ///
    /// # Errors
    /// An expression that does not parse or uses a name that is not a constant or `pi`.
    pub fn value(&self, constants: &[(&str, f64)]) -> Result<f64, ExprError> {
        match self {
            Number::Value(v) => Ok(*v),
            Number::Expr(s) => Ok(Expr::parse(s)?.bind_with(&[], constants)?.eval_f64(&[])),
        }
    }
}

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Number;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number or a constant expression in quotes")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Number, E> {
                Ok(Number::Value(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Number, E> {
                Ok(Number::Value(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Number, E> {
                Ok(Number::Value(v as f64))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Number, E> {
                Ok(Number::Expr(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

impl Serialize for Number {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Number::Value(v) => s.serialize_f64(*v),
            Number::Expr(e) => s.serialize_str(e),
        }
    }
}
