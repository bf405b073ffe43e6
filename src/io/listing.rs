//! What the files that list other files have in common (`.vtm`, `.pvd`, `.vtm.series`): a
//! small XML tree of their elements, and the check that a listed name stays inside the
//! listing's folder.

use std::path::{Component, Path, PathBuf};

use quick_xml::events::{BytesStart, Event};

use super::legacy::line_of;
use crate::{Error, Result};

/// The most elements a listing may hold, and the deepest nesting: more than any
/// foamToVTK or ParaView listing has, few enough that a small file cannot make the reader
/// build a huge tree or recurse deeply.
const MAX_ELEMENTS: usize = 1 << 16;
const MAX_DEPTH: usize = 32;

/// One XML element: its name, attributes (unescaped), line in the file and children
/// (text is dropped: none of the listings keeps anything in it that we need).
#[derive(Debug)]
pub(super) struct Element {
    pub(super) name: String,
    pub(super) attributes: Vec<(String, String)>,
    pub(super) line: usize,
    pub(super) children: Vec<Element>,
}

impl Element {
    /// The attribute `key`, if the element has it.
    pub(super) fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// An [`Error::Input`] about `path`, at `line` where known.
pub(super) fn input_error(path: &Path, line: Option<usize>, message: String) -> Error {
    Error::Input {
        path: path.into(),
        line,
        column: None,
        message,
    }
}

/// The root element of the XML document `bytes`, read from `path` (for errors).
pub(super) fn parse_xml(path: &Path, bytes: &[u8]) -> Result<Element> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let line = line_of(bytes, e.valid_up_to());
        input_error(
            path,
            Some(line),
            "the file is not UTF-8 text; expected XML".into(),
        )
    })?;
    let mut reader = quick_xml::Reader::from_str(text);
    let mut stack: Vec<Element> = Vec::new();
    let mut count = 0usize;
    let mut root = None;
    loop {
        let at = reader.buffer_position() as usize;
        let event = reader.read_event().map_err(|e| {
            let line = line_of(bytes, reader.error_position() as usize);
            input_error(path, Some(line), format!("malformed XML: {e}"))
        })?;
        let line = line_of(
            bytes,
            at + leading_space(&text.as_bytes()[at.min(text.len())..]),
        );
        let start = |e: &BytesStart<'_>| -> Result<Element> {
            let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
            let mut attributes = Vec::new();
            for a in e.attributes() {
                let a = a.map_err(|e| {
                    input_error(path, Some(line), format!("malformed XML attribute: {e}"))
                })?;
                let key = String::from_utf8_lossy(a.key.as_ref()).into_owned();
                let value = a.unescape_value().map_err(|e| {
                    input_error(path, Some(line), format!("malformed XML attribute: {e}"))
                })?;
                attributes.push((key, value.into_owned()));
            }
            Ok(Element {
                name,
                attributes,
                line,
                children: Vec::new(),
            })
        };
        let done = match event {
            Event::Start(_) | Event::Empty(_) if root.is_some() => {
                return Err(input_error(
                    path,
                    Some(line),
                    "an element after the root element; expected one root element".into(),
                ));
            }
            Event::Start(e) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(input_error(
                        path,
                        Some(line),
                        format!("elements nested deeper than {MAX_DEPTH}; expected a flat listing"),
                    ));
                }
                stack.push(start(&e)?);
                None
            }
            Event::Empty(e) => Some(start(&e)?),
            Event::End(_) => stack.pop(),
            Event::Eof => {
                if let Some(open) = stack.last() {
                    return Err(input_error(
                        path,
                        Some(line),
                        format!(
                            "the file ends inside <{}> (opened at line {}); expected its end tag",
                            open.name, open.line
                        ),
                    ));
                }
                break;
            }
            _ => None,
        };
        if let Some(element) = done {
            count += 1;
            if count > MAX_ELEMENTS {
                return Err(input_error(
                    path,
                    Some(line),
                    format!("more than {MAX_ELEMENTS} elements; expected a short listing"),
                ));
            }
            match stack.last_mut() {
                Some(parent) => parent.children.push(element),
                None => root = Some(element),
            }
        }
    }
    root.ok_or_else(|| input_error(path, None, "the file has no XML element".into()))
}

/// The number of whitespace bytes at the start of `rest` (so that an element's line is
/// the line of its `<`, not of the line break before it).
fn leading_space(rest: &[u8]) -> usize {
    rest.iter().take_while(|b| b.is_ascii_whitespace()).count()
}

/// The file `name` listed in a file of the folder `folder`, checked to stay inside that
/// folder: a relative path (`cavity_20/internal.vtu`) without `..`, not absolute, and whose
/// real location (symbolic links followed) is inside the real `folder`. Returns the real
/// path of the file, or what is wrong.
pub(super) fn confined(folder: &Path, name: &str) -> std::result::Result<PathBuf, String> {
    let relative = Path::new(name);
    let plain = !name.is_empty()
        && !name.contains(['\\', '\0'])
        && relative
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if !plain {
        return Err(format!(
            "`{name}` is not a relative path inside this file's folder (no `..`, no absolute \
             path); expected a file beside this one or in a folder below it"
        ));
    }
    let base = folder
        .canonicalize()
        .map_err(|e| format!("cannot resolve the folder {}: {e}", folder.display()))?;
    let target = folder.join(relative);
    let real = target
        .canonicalize()
        .map_err(|e| format!("the listed file `{name}` cannot be opened: {e}"))?;
    if !real.starts_with(&base) {
        return Err(format!(
            "the listed file `{name}` leads outside this file's folder (through a symbolic \
             link, to {}); expected a file inside it",
            real.display()
        ));
    }
    Ok(real)
}
