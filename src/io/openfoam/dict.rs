//! OpenFOAM dictionaries: entries and sub-dictionaries (the `FoamFile` header is in
//! `header.rs`), the typed
//! lists of field files (`List<vector> N ( … )`), `#include` and `$variable`.
//!
//! Supported directives, as far as the tutorials need them: `#include "file"` (relative to
//! the including file), `#includeIfPresent`, `#includeEtc "caseDicts/setConstraintTypes"`
//! (built in: a case read without OpenFOAM installed still works; other files from
//! `$WM_PROJECT_DIR/etc`), `#inputMode` (ignored: entries merge), `#remove`. Variables:
//! `$name` and `${name}` looked up in the enclosing dictionaries, innermost first.
//! `#codeStream`, `#calc`, `#eval`, `#if`, scoped variables (`$a.b`, `$:a`, `$../a`) and
//! the rest are refused with an error that names them (expand the file with
//! `foamDictionary -expand` first).

use std::path::{Path, PathBuf};
use std::rc::Rc;

use super::files::{Budget, read_foam_file};
pub(crate) use super::header::{Header, components, header};
use super::lexer::{Lexer, Src, Tok};
use crate::{Error, Result};

/// Where an entry was read: its file and byte.
#[derive(Debug, Clone)]
pub(crate) struct Loc {
    /// The file.
    pub src: Rc<Src>,
    /// The entry's first byte.
    pub pos: usize,
}

impl Loc {
    /// An error at this entry.
    pub fn error(&self, message: impl Into<String>) -> Error {
        self.src.error_at(self.pos, message)
    }
}

/// A dictionary key: a word, or a quoted regular expression.
#[derive(Debug, Clone)]
pub(crate) enum Key {
    /// A plain keyword (or a patch group name).
    Word(String),
    /// A quoted key: a regular expression matched against the whole name.
    Pattern(String, regex::Regex),
}

impl Key {
    /// The key as written.
    pub fn text(&self) -> &str {
        match self {
            Key::Word(w) | Key::Pattern(w, _) => w,
        }
    }
}

/// One item of an entry's value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Item {
    /// A word.
    Word(String),
    /// A quoted string.
    Str(String),
    /// A number as written.
    Num(String),
    /// Punctuation.
    Punct(u8),
    /// A typed list of numbers, `List<T> N ( … )`: `k` components per element, flattened.
    Scalars {
        /// The element type as written (`scalar`, `vector`, …).
        ty: String,
        /// Components per element.
        k: usize,
        /// The values.
        values: Vec<f64>,
    },
    /// A typed list of labels, `List<label> N ( … )`.
    Labels(Vec<i64>),
}

/// An entry's value.
#[derive(Debug, Clone)]
pub(crate) enum Value {
    /// A sub-dictionary.
    Dict(Dict),
    /// The items up to the `;`.
    Stream(Vec<Item>),
}

/// A dictionary entry.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// Its key.
    pub key: Key,
    /// Its value.
    pub value: Value,
    /// Where it was read.
    pub loc: Loc,
}

/// A dictionary: its entries in order (a later entry of the same key replaced the earlier
/// one in place; sub-dictionaries of the same key merged).
#[derive(Debug, Clone, Default)]
pub(crate) struct Dict {
    /// The entries.
    pub entries: Vec<Entry>,
}

impl Dict {
    /// The entry of the plain key `name`.
    pub fn get(&self, name: &str) -> Option<&Entry> {
        self.entries
            .iter()
            .find(|e| matches!(&e.key, Key::Word(w) if w == name))
    }

    /// The items of the plain key `name`, if it is a stream.
    pub fn stream(&self, name: &str) -> Option<(&[Item], &Loc)> {
        self.get(name).and_then(|e| match &e.value {
            Value::Stream(items) => Some((items.as_slice(), &e.loc)),
            Value::Dict(_) => None,
        })
    }

    /// The single word (or string) of the stream `name`.
    pub fn word(&self, name: &str) -> Option<&str> {
        match self.stream(name)?.0 {
            [Item::Word(w)] | [Item::Str(w)] => Some(w),
            _ => None,
        }
    }

    /// Adds an entry, replacing one of the same key (merging two sub-dictionaries).
    fn insert(&mut self, entry: Entry) {
        let same = self
            .entries
            .iter()
            .position(|e| e.key.text() == entry.key.text());
        match same {
            Some(i) => match (&mut self.entries[i].value, entry.value) {
                (Value::Dict(old), Value::Dict(new)) => {
                    for e in new.entries {
                        old.insert(e);
                    }
                }
                (slot, value) => {
                    *slot = value;
                    self.entries[i].loc = entry.loc;
                }
            },
            None => self.entries.push(entry),
        }
    }
}

/// Reads dictionaries, following includes.
pub(crate) struct Parser<'b> {
    /// The budget of bytes all files of this read may take.
    pub budget: &'b Budget,
    /// The dictionaries being read, outermost first (for `$variable`).
    scopes: Vec<Dict>,
    /// How deep in `#include`s we are.
    depth: usize,
}

/// The built-in copy of `etc/caseDicts/setConstraintTypes` (OpenFOAM v1912), for cases read
/// where OpenFOAM is not installed.
const SET_CONSTRAINT_TYPES: &str = "
cyclic { type cyclic; }
cyclicAMI { type cyclicAMI; }
cyclicACMI { type cyclicACMI; value $internalField; }
cyclicSlip { type cyclicSlip; }
empty { type empty; }
nonuniformTransformCyclic { type nonuniformTransformCyclic; }
processor { type processor; value $internalField; }
processorCyclic { type processorCyclic; value $internalField; }
symmetryPlane { type symmetryPlane; }
symmetry { type symmetry; }
wedge { type wedge; }
overset { type overset; }
";

impl<'b> Parser<'b> {
    /// A parser drawing on `budget`.
    pub fn new(budget: &'b Budget) -> Self {
        Parser {
            budget,
            scopes: Vec::new(),
            depth: 0,
        }
    }

    /// Reads a whole file (after its header) as a dictionary.
    pub fn file(&mut self, src: Rc<Src>, lx: &mut Lexer) -> Result<Dict> {
        self.scopes.push(Dict::default());
        let r = self.entries(&src, lx, false);
        let dict = self.scopes.pop().expect("internal: the file's scope");
        r.map(|()| dict)
    }

    /// Reads a sub-dictionary `{ … }` at the lexer (the entries of `boundary`).
    pub fn sub_dict(&mut self, src: &Rc<Src>, lx: &mut Lexer, context: &str) -> Result<Dict> {
        lx.expect_punct(b'{', context)?;
        self.scopes.push(Dict::default());
        let r = self.entries(src, lx, true);
        let dict = self
            .scopes
            .pop()
            .expect("internal: the sub-dictionary's scope");
        r.map(|()| dict)
    }

    /// Reads entries into the innermost scope until `}` (`nested`) or the end of the file.
    fn entries(&mut self, src: &Rc<Src>, lx: &mut Lexer, nested: bool) -> Result<()> {
        loop {
            let (at, t) = lx.next()?;
            let loc = Loc {
                src: src.clone(),
                pos: at,
            };
            let key = match t {
                Tok::Eof if !nested => return Ok(()),
                Tok::Eof => {
                    return Err(lx.err(
                        at,
                        "the file ends inside a dictionary; expected `}` (truncated?)",
                    ));
                }
                Tok::Punct(b'}') if nested => return Ok(()),
                Tok::Punct(b';') => continue,
                Tok::Word(w) => Key::Word(w.to_string()),
                Tok::Str(s) => {
                    let re = regex::Regex::new(&format!("^(?:{s})$")).map_err(|e| {
                        lx.err(
                            at,
                            format!("the key \"{s}\" is not a regular expression: {e}"),
                        )
                    })?;
                    Key::Pattern(s, re)
                }
                Tok::Directive(d) => {
                    self.directive(src, lx, at, d)?;
                    continue;
                }
                Tok::Var(v) => {
                    let value = self.lookup(v).ok_or_else(|| {
                        lx.err(
                            at,
                            format!("${v}: no such entry in the enclosing dictionaries"),
                        )
                    })?;
                    match value {
                        Value::Dict(d) => {
                            for e in d.entries {
                                self.scope().insert(e);
                            }
                        }
                        Value::Stream(_) => {
                            return Err(lx.err(
                                at,
                                format!("${v} names a value, not a dictionary; expected a keyword"),
                            ));
                        }
                    }
                    if let (_, Tok::Punct(b';')) = lx.peek()? {
                        lx.next()?;
                    }
                    continue;
                }
                other => {
                    return Err(lx.err(
                        at,
                        format!("expected a keyword, found {}", other.describe()),
                    ));
                }
            };
            let value = if let (_, Tok::Punct(b'{')) = lx.peek()? {
                lx.next()?;
                self.scopes.push(Dict::default());
                let r = self.entries(src, lx, true);
                let d = self
                    .scopes
                    .pop()
                    .expect("internal: the sub-dictionary's scope");
                r?;
                Value::Dict(d)
            } else {
                Value::Stream(self.stream(lx, key.text())?)
            };
            self.scope().insert(Entry { key, value, loc });
        }
    }

    fn scope(&mut self) -> &mut Dict {
        self.scopes.last_mut().expect("internal: a scope")
    }

    /// `$name` in the enclosing dictionaries, innermost first.
    fn lookup(&self, name: &str) -> Option<Value> {
        self.scopes
            .iter()
            .rev()
            .find_map(|d| d.get(name))
            .map(|e| e.value.clone())
    }

    /// The items of an entry up to its `;`.
    fn stream(&mut self, lx: &mut Lexer, key: &str) -> Result<Vec<Item>> {
        let mut items = Vec::new();
        let mut depth = 0usize;
        loop {
            let (at, t) = lx.next()?;
            match t {
                Tok::Punct(b';') if depth == 0 => return Ok(items),
                Tok::Eof => {
                    return Err(lx.err(
                        at,
                        format!("entry {key}: the file ends before its `;` (truncated?)"),
                    ));
                }
                Tok::Punct(b'}') if depth == 0 => {
                    return Err(lx.err(at, format!("entry {key}: expected `;` before `}}`")));
                }
                Tok::Punct(c) => {
                    match c {
                        b'(' | b'[' | b'{' => depth += 1,
                        b')' | b']' | b'}' => depth = depth.saturating_sub(1),
                        _ => {}
                    }
                    items.push(Item::Punct(c));
                }
                Tok::Word(w) => {
                    if let Some(ty) = w.strip_prefix("List<").and_then(|r| r.strip_suffix('>')) {
                        items.push(Item::Word(w.to_string()));
                        let what = format!("entry {key}: {w}");
                        if let Some(k) = components(ty) {
                            let values = lx.scalar_list(k, None, false, &what)?;
                            items.push(Item::Scalars {
                                ty: ty.to_string(),
                                k,
                                values,
                            });
                        } else if ty == "label" {
                            let values = lx.label_list(None, (i64::MIN, i64::MAX), &what)?;
                            items.push(Item::Labels(values));
                        } else if lx.fmt.binary && ty != "word" && ty != "string" {
                            return Err(lx.err(
                                at,
                                format!(
                                    "entry {key}: a binary {w} cannot be read; expected \
                                     List<scalar>, List<vector>, List<symmTensor>, \
                                     List<tensor> or List<label>"
                                ),
                            ));
                        }
                        continue;
                    }
                    items.push(Item::Word(w.to_string()));
                }
                Tok::Str(s) => items.push(Item::Str(s)),
                Tok::Num(n) => items.push(Item::Num(n.to_string())),
                Tok::Var(v) => match self.lookup(v) {
                    Some(Value::Stream(s)) => items.extend(s),
                    Some(Value::Dict(_)) => {
                        return Err(lx.err(
                            at,
                            format!("entry {key}: ${v} is a dictionary; expected a value"),
                        ));
                    }
                    None => {
                        let scoped = v.contains(['.', ':', '/']);
                        return Err(lx.err(
                            at,
                            if scoped {
                                format!(
                                    "entry {key}: the scoped variable ${v} is not supported; \
                                     expected $name of an enclosing dictionary (expand the file \
                                     with foamDictionary -expand)"
                                )
                            } else {
                                format!(
                                    "entry {key}: ${v}: no such entry in the enclosing \
                                     dictionaries"
                                )
                            },
                        ));
                    }
                },
                Tok::Directive(d) => {
                    return Err(lx.err(
                        at,
                        format!(
                            "entry {key}: the directive #{d} inside a value is not supported \
                             (expand the file with foamDictionary -expand)"
                        ),
                    ));
                }
                Tok::Verbatim => items.push(Item::Word("#{…#}".into())),
            }
        }
    }

    /// A directive at the level of entries.
    fn directive(&mut self, src: &Rc<Src>, lx: &mut Lexer, at: usize, d: &str) -> Result<()> {
        match d {
            "include" | "includeIfPresent" | "includeEtc" | "sinclude" => {
                let (p, t) = lx.next()?;
                let Tok::Str(name) = t else {
                    return Err(lx.err(
                        p,
                        format!(
                            "#{d}: expected a file name in quotes, found {}",
                            t.describe()
                        ),
                    ));
                };
                if self.depth >= 16 {
                    return Err(lx.err(at, format!("#{d} \"{name}\": includes nested too deep")));
                }
                let text = if d == "includeEtc" {
                    etc_file(&name, self.budget)?
                } else {
                    if name.contains('$') || name.starts_with('<') {
                        return Err(lx.err(
                            at,
                            format!(
                                "#{d} \"{name}\": variables and <case>-style paths in file names \
                                 are not supported; expected a path relative to this file"
                            ),
                        ));
                    }
                    let dir = src.path.parent().unwrap_or(Path::new("."));
                    let path = dir.join(&name);
                    let optional = d != "include";
                    match read_foam_file(&path, self.budget) {
                        Ok(s) => Some(s),
                        Err(_) if optional && !exists(&path) => None,
                        Err(e) => return Err(e),
                    }
                    .map(|s| (s.path, s.bytes))
                };
                let Some((path, bytes)) = text else {
                    if d == "includeEtc" {
                        return Err(lx.err(
                            at,
                            format!(
                                "#includeEtc \"{name}\": not found (built in: \
                                 caseDicts/setConstraintTypes; others from \
                                 $WM_PROJECT_DIR/etc)"
                            ),
                        ));
                    }
                    return Ok(());
                };
                let inc = Rc::new(Src { path, bytes });
                let mut ilx = Lexer::new(&inc, lx.limit);
                header(&mut ilx)?;
                self.depth += 1;
                let r = self.entries(&inc, &mut ilx, false);
                self.depth -= 1;
                r
            }
            "inputMode" => {
                lx.next()?;
                Ok(())
            }
            "remove" => {
                let (p, t) = lx.next()?;
                let names: Vec<String> = match t {
                    Tok::Word(w) => vec![w.to_string()],
                    Tok::Str(s) => vec![s],
                    Tok::Punct(b'(') => {
                        let mut v = Vec::new();
                        loop {
                            match lx.next()? {
                                (_, Tok::Punct(b')')) => break,
                                (_, Tok::Word(w)) => v.push(w.to_string()),
                                (_, Tok::Str(s)) => v.push(s),
                                (q, other) => {
                                    return Err(lx.err(
                                        q,
                                        format!(
                                            "#remove: expected keywords, found {}",
                                            other.describe()
                                        ),
                                    ));
                                }
                            }
                        }
                        v
                    }
                    other => {
                        return Err(lx.err(
                            p,
                            format!("#remove: expected a keyword, found {}", other.describe()),
                        ));
                    }
                };
                self.scope()
                    .entries
                    .retain(|e| !names.iter().any(|n| n == e.key.text()));
                Ok(())
            }
            other => Err(lx.err(
                at,
                format!(
                    "the directive #{other} is not supported (supported: #include, \
                     #includeIfPresent, #includeEtc, #inputMode, #remove); expand the file with \
                     foamDictionary -expand, or run the case once so that the solver writes it \
                     out"
                ),
            )),
        }
    }
}

fn exists(path: &Path) -> bool {
    path.exists() || {
        let mut gz = path.as_os_str().to_owned();
        gz.push(".gz");
        Path::new(&gz).exists()
    }
}

/// An `#includeEtc` file: OpenFOAM's own (under `$WM_PROJECT_DIR/etc`), or the built-in
/// setConstraintTypes where OpenFOAM is not installed.
fn etc_file(name: &str, budget: &Budget) -> Result<Option<(PathBuf, Vec<u8>)>> {
    if let Some(dir) = std::env::var_os("WM_PROJECT_DIR") {
        let path = PathBuf::from(dir).join("etc").join(name);
        if exists(&path) {
            let s = read_foam_file(&path, budget)?;
            return Ok(Some((s.path, s.bytes)));
        }
    }
    Ok((name == "caseDicts/setConstraintTypes").then(|| {
        (
            PathBuf::from("<built-in etc/caseDicts/setConstraintTypes>"),
            SET_CONSTRAINT_TYPES.as_bytes().to_vec(),
        )
    }))
}
