//! The lexer: the expression's characters into tokens that carry their columns.

use super::ExprError;

/// A token's kind; a number carries its value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Tok {
    Num(f64),
    Ident,
    Plus,
    Minus,
    Star,
    Slash,
    Caret,
    LParen,
    RParen,
    Comma,
    End,
}

/// A token and where it stands in the expression.
#[derive(Clone, Copy, Debug)]
pub(super) struct Token {
    pub(super) tok: Tok,
    /// 1-based column of the first character.
    pub(super) col: usize,
    /// Length in characters.
    pub(super) len: usize,
}

/// The tokens of `src` (whose characters are `chars`), ending with [`Tok::End`].
pub(super) fn lex(src: &str, chars: &[char]) -> Result<Vec<Token>, ExprError> {
    let mut toks = Vec::new();
    let mut i = 0;
    let digits = |mut i: usize| {
        while i < chars.len() && chars[i].is_ascii_digit() {
            i += 1;
        }
        i
    };
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        let tok = match c {
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            '+' => Tok::Plus,
            '-' => Tok::Minus,
            '*' => Tok::Star,
            '/' => Tok::Slash,
            '^' => Tok::Caret,
            '(' => Tok::LParen,
            ')' => Tok::RParen,
            ',' => Tok::Comma,
            c if ident_start(c) => {
                while i < chars.len() && ident_char(chars[i]) {
                    i += 1;
                }
                toks.push(Token {
                    tok: Tok::Ident,
                    col: start + 1,
                    len: i - start,
                });
                continue;
            }
            c if c.is_ascii_digit()
                || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) =>
            {
                i = digits(i);
                if chars.get(i) == Some(&'.') {
                    i = digits(i + 1);
                }
                if matches!(chars.get(i), Some('e' | 'E')) {
                    let mut j = i + 1;
                    if matches!(chars.get(j), Some('+' | '-')) {
                        j += 1;
                    }
                    if !chars.get(j).is_some_and(char::is_ascii_digit) {
                        let text: String = chars[start..j].iter().collect();
                        let msg = format!(
                            "malformed number '{text}': expected digits after the exponent"
                        );
                        return Err(ExprError::new(src, start + 1, msg));
                    }
                    i = digits(j);
                }
                if chars.get(i) == Some(&'.') {
                    while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                        i += 1;
                    }
                    let text: String = chars[start..i].iter().collect();
                    let msg = format!("malformed number '{text}': a number has at most one '.'");
                    return Err(ExprError::new(src, start + 1, msg));
                }
                let text: String = chars[start..i].iter().collect();
                let v: f64 = text
                    .parse()
                    .expect("internal: lexed number is valid f64 syntax");
                if v.is_infinite() {
                    let msg = format!("number '{text}' is too large for a 64-bit float");
                    return Err(ExprError::new(src, start + 1, msg));
                }
                toks.push(Token {
                    tok: Tok::Num(v),
                    col: start + 1,
                    len: i - start,
                });
                continue;
            }
            c => {
                let msg = format!("unexpected character '{c}'");
                return Err(ExprError::new(src, start + 1, msg));
            }
        };
        i += 1;
        toks.push(Token {
            tok,
            col: start + 1,
            len: 1,
        });
    }
    toks.push(Token {
        tok: Tok::End,
        col: chars.len() + 1,
        len: 0,
    });
    Ok(toks)
}

/// Whether `c` may start a name.
fn ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

/// Whether `c` may stand in a name after its first character.
fn ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Whether all of `name` lexes as one name (identifier).
pub(super) fn is_ident(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(ident_start) && chars.all(ident_char)
}
