//! The lists of a FoamFile: numbers and labels in both formats (ASCII `N ( … )` and
//! `N{value}`, binary `N(raw bytes)`), each count checked against the bytes left in the
//! file, or the size the caller expects, before anything is allocated.

use super::*;

impl<'a> Lexer<'a> {
    /// The head of a list: its announced size (none for an ASCII list without one) and
    /// whether it is written `N{value}` (all entries the same).
    fn list_head(&mut self, what: &str) -> Result<(usize, Option<usize>, bool)> {
        let (at, t) = self.next()?;
        match t {
            Tok::Num(n) => {
                let size: usize = n.parse().map_err(|_| {
                    self.err(
                        at,
                        format!("{what}: expected a list size (a count ≥ 0), found `{n}`"),
                    )
                })?;
                let (p, open) = self.next()?;
                match open {
                    Tok::Punct(b'(') => Ok((at, Some(size), false)),
                    Tok::Punct(b'{') => Ok((at, Some(size), true)),
                    other => Err(self.err(
                        p,
                        format!(
                            "{what}: expected `(` after the list size {size}, found {}",
                            other.describe()
                        ),
                    )),
                }
            }
            Tok::Punct(b'(') if !self.fmt.binary => Ok((at, None, false)),
            other => Err(self.err(
                at,
                format!(
                    "{what}: expected a list `N ( … )`, found {}",
                    other.describe()
                ),
            )),
        }
    }

    /// Checks an announced size against what the file can hold and what the caller
    /// expects, before anything is allocated. `min_bytes`: the fewest bytes one element
    /// takes in this format; `value_bytes`: the bytes one element takes in memory.
    fn check_size(
        &self,
        at: usize,
        size: usize,
        uniform: bool,
        expect: Option<usize>,
        (min_bytes, value_bytes): (usize, usize),
        what: &str,
    ) -> Result<()> {
        if let Some(e) = expect
            && size != e
        {
            return Err(self.err(
                at,
                format!("{what}: the list has {size} entries; expected {e}"),
            ));
        }
        let left = self.bytes().len().saturating_sub(self.pos);
        if !uniform && size.saturating_mul(min_bytes) > left.saturating_add(1) {
            let how = if self.fmt.binary {
                format!("{min_bytes} bytes each in a binary file; is it really binary?")
            } else {
                format!("at least {min_bytes} characters each")
            };
            return Err(self.err(
                at,
                format!(
                    "{what}: the list announces {size} entries ({how}) but only {left} bytes \
                     follow; the file is truncated or the count is wrong"
                ),
            ));
        }
        if (size as u64).saturating_mul(value_bytes as u64) > self.limit {
            return Err(self.err(
                at,
                format!(
                    "{what}: the list announces {size} entries, more than the input limit of \
                     {} bytes allows (NABLA_MAX_INPUT_BYTES raises it)",
                    self.limit
                ),
            ));
        }
        Ok(())
    }

    /// The raw bytes of a binary list of `n` elements of `size` bytes, and its `)`.
    fn raw(&mut self, at: usize, n: usize, size: usize, what: &str) -> Result<&'a [u8]> {
        let len = n.saturating_mul(size);
        let start = self.pos;
        let b = self.bytes();
        let Some(raw) = b.get(start..start.saturating_add(len)) else {
            return Err(self.err(
                at,
                format!(
                    "{what}: the binary list of {n} entries needs {len} bytes but the file ends \
                     after {} (truncated, or not a binary file?)",
                    b.len() - start
                ),
            ));
        };
        self.pos = start + len;
        if b.get(self.pos) != Some(&b')') {
            return Err(self.err(
                self.pos,
                format!(
                    "{what}: expected `)` after the {len} bytes of a binary list of {n} entries \
                     (is the file really binary, with the label and scalar sizes of its header's \
                     arch?)"
                ),
            ));
        }
        self.pos += 1;
        Ok(raw)
    }

    /// A list of elements of `k` scalars each (`k = 1`: bare numbers; `k > 1`:
    /// `(a b c)` tuples), flattened. `expect`: the number of elements the caller needs.
    /// Non-finite values are refused where `finite` is set.
    pub fn scalar_list(
        &mut self,
        k: usize,
        expect: Option<usize>,
        finite: bool,
        what: &str,
    ) -> Result<Vec<f64>> {
        let (at, size, uniform) = self.list_head(what)?;
        let fmt = self.fmt;
        let min_bytes = if fmt.binary {
            k * fmt.scalar
        } else if k == 1 {
            2
        } else {
            2 * k + 1
        };
        if let Some(n) = size {
            self.check_size(at, n, uniform, expect, (min_bytes, 8 * k), what)?;
        }
        let check = |lx: &Self, pos: usize, i: usize, v: f64| -> Result<()> {
            if finite && !v.is_finite() {
                Err(lx.err(
                    pos,
                    format!("{what}: entry {i} has the value {v}; expected finite numbers"),
                ))
            } else {
                Ok(())
            }
        };
        if fmt.binary && !uniform {
            let n = size.expect("internal: binary lists have a size");
            let raw = self.raw(at, n, k * fmt.scalar, what)?;
            let out: Vec<f64> = if fmt.scalar == 8 {
                raw.chunks_exact(8)
                    .map(|c| f64::from_le_bytes(c.try_into().expect("internal: 8 bytes")))
                    .collect()
            } else {
                raw.chunks_exact(4)
                    .map(|c| f32::from_le_bytes(c.try_into().expect("internal: 4 bytes")) as f64)
                    .collect()
            };
            if let Some(j) = out.iter().position(|v| finite && !v.is_finite()) {
                check(self, at, j / k, out[j])?;
            }
            return Ok(out);
        }
        let ctx = |i: usize| move || format!("{what}: entry {i}");
        let element = |lx: &mut Self, i: usize, out: &mut Vec<f64>| -> Result<()> {
            if k == 1 {
                let (p, v) = lx.scalar(&ctx(i))?;
                check(lx, p, i, v)?;
                out.push(v);
            } else {
                lx.expect_punct(b'(', &ctx(i)())?;
                for _ in 0..k {
                    let (p, v) = lx.scalar(&ctx(i))?;
                    check(lx, p, i, v)?;
                    out.push(v);
                }
                lx.expect_punct(b')', &format!("{} ({k} components)", ctx(i)()))?;
            }
            Ok(())
        };
        let mut out = Vec::with_capacity(size.unwrap_or(0).saturating_mul(k));
        match size {
            Some(n) if uniform => {
                element(self, 0, &mut out)?;
                self.expect_punct(b'}', &format!("{what}: a uniform list {n}{{…}}"))?;
                let one = out.clone();
                out.clear();
                for _ in 0..n {
                    out.extend_from_slice(&one);
                }
            }
            Some(n) => {
                for i in 0..n {
                    element(self, i, &mut out)?;
                }
                let (p, t) = self.next()?;
                if t != Tok::Punct(b')') {
                    return Err(self.err(
                        p,
                        format!(
                            "{what}: expected `)` after the {n} entries the list announces, \
                             found {} (the list has more entries than its count)",
                            t.describe()
                        ),
                    ));
                }
            }
            None => {
                let mut i = 0;
                loop {
                    if let (_, Tok::Punct(b')')) = self.peek()? {
                        self.next()?;
                        break;
                    }
                    element(self, i, &mut out)?;
                    i += 1;
                }
                if let Some(e) = expect
                    && i != e
                {
                    return Err(self.err(
                        at,
                        format!("{what}: the list has {i} entries; expected {e}"),
                    ));
                }
            }
        }
        Ok(out)
    }

    /// A list of labels, each in `range` (checked, with the entry's position).
    pub fn label_list(
        &mut self,
        expect: Option<usize>,
        range: (i64, i64),
        what: &str,
    ) -> Result<Vec<i64>> {
        let (at, size, uniform) = self.list_head(what)?;
        let fmt = self.fmt;
        let min_bytes = if fmt.binary { fmt.label } else { 2 };
        if let Some(n) = size {
            self.check_size(at, n, uniform, expect, (min_bytes, 8), what)?;
        }
        let (lo, hi) = range;
        let check = |lx: &Self, pos: usize, i: usize, v: i64| -> Result<()> {
            if v < lo || v >= hi {
                Err(lx.err(
                    pos,
                    format!(
                        "{what}: entry {i} is {v}; expected a label in {lo}..{}",
                        hi.saturating_sub(1)
                    ),
                ))
            } else {
                Ok(())
            }
        };
        if fmt.binary && !uniform {
            let n = size.expect("internal: binary lists have a size");
            let raw = self.raw(at, n, fmt.label, what)?;
            let out: Vec<i64> = if fmt.label == 8 {
                raw.chunks_exact(8)
                    .map(|c| i64::from_le_bytes(c.try_into().expect("internal: 8 bytes")))
                    .collect()
            } else {
                raw.chunks_exact(4)
                    .map(|c| i32::from_le_bytes(c.try_into().expect("internal: 4 bytes")) as i64)
                    .collect()
            };
            if let Some(j) = out.iter().position(|&v| v < lo || v >= hi) {
                check(self, at, j, out[j])?;
            }
            return Ok(out);
        }
        let mut out = Vec::with_capacity(size.unwrap_or(0));
        let ctx = |i: usize| move || format!("{what}: entry {i}");
        match size {
            Some(n) if uniform => {
                let (p, v) = self.label(&ctx(0))?;
                check(self, p, 0, v)?;
                self.expect_punct(b'}', &format!("{what}: a uniform list {n}{{…}}"))?;
                out.resize(n, v);
            }
            Some(n) => {
                for i in 0..n {
                    let (p, v) = self.label(&ctx(i))?;
                    check(self, p, i, v)?;
                    out.push(v);
                }
                let (p, t) = self.next()?;
                if t != Tok::Punct(b')') {
                    return Err(self.err(
                        p,
                        format!(
                            "{what}: expected `)` after the {n} entries the list announces, \
                             found {} (the list has more entries than its count)",
                            t.describe()
                        ),
                    ));
                }
            }
            None => {
                loop {
                    if let (_, Tok::Punct(b')')) = self.peek()? {
                        self.next()?;
                        break;
                    }
                    let i = out.len();
                    let (p, v) = self.label(&ctx(i))?;
                    check(self, p, i, v)?;
                    out.push(v);
                }
                if let Some(e) = expect
                    && out.len() != e
                {
                    return Err(self.err(
                        at,
                        format!("{what}: the list has {} entries; expected {e}", out.len()),
                    ));
                }
            }
        }
        Ok(out)
    }

    /// A list of lists of labels (`faceList`: `N ( 4(a b c d) … )`), each label in
    /// `range`: the end of each sublist in the flat list, and the flat list.
    pub fn label_lists(&mut self, range: (i64, i64), what: &str) -> Result<(Vec<usize>, Vec<i64>)> {
        let (at, size, uniform) = self.list_head(what)?;
        if uniform {
            return Err(self.err(
                at,
                format!("{what}: a uniform list N{{…}} of faces; expected one entry per face"),
            ));
        }
        // The shortest face, `3(a b c)`: 8 characters, or `3(` + 3 labels + `)` in binary.
        let min_bytes = if self.fmt.binary {
            3 + 3 * self.fmt.label
        } else {
            8
        };
        if let Some(n) = size {
            self.check_size(at, n, false, None, (min_bytes, 8 + 3 * 8), what)?;
        }
        let mut ends = Vec::with_capacity(size.unwrap_or(0));
        let mut flat = Vec::with_capacity(size.unwrap_or(0).saturating_mul(4));
        let mut i = 0;
        loop {
            if size.is_some_and(|n| i == n) {
                let (p, t) = self.next()?;
                if t != Tok::Punct(b')') {
                    return Err(self.err(
                        p,
                        format!(
                            "{what}: expected `)` after the {i} entries the list announces, \
                             found {} (the list has more entries than its count)",
                            t.describe()
                        ),
                    ));
                }
                break;
            }
            if size.is_none()
                && let (_, Tok::Punct(b')')) = self.peek()?
            {
                self.next()?;
                break;
            }
            let sub = self.label_list(None, range, &format!("{what}: entry {i}"))?;
            flat.extend_from_slice(&sub);
            ends.push(flat.len());
            i += 1;
        }
        Ok((ends, flat))
    }
}
