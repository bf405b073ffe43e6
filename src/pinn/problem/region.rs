//! Conditions on a region given by an expression of the inputs: `"x^2 + y^2 < 0.25"` (a
//! volume: points drawn in the domain and kept where the comparison holds) or
//! `"x^2 + y^2 = 0.25"` (a surface: points of the domain moved onto it by Newton's method
//! along the gradient of `lhs − rhs`, computed exactly on a tape).

use crate::autodiff::{self, GradOptions, Tape};
use crate::error::{Error, Result};
use crate::field::expr::{Bound, Definitions, Expr};
use crate::pinn::sampling::{Sampler, sample_in};

/// How a region compares `f = lhs − rhs` with 0.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Relation {
    /// `f = 0`: a surface.
    Equal,
    /// `f < 0` (or `≤`, the same for drawn points).
    Below,
    /// `f > 0` (or `≥`).
    Above,
}

/// A parsed region: `f = lhs − rhs` of the inputs, and how it compares with 0.
pub(super) struct Region {
    pub f: Bound,
    pub relation: Relation,
    /// The setting and the text, for errors.
    key: String,
    text: String,
}

/// The most candidate points drawn to find a region's points.
const MAX_CANDIDATES: usize = 1 << 22;

/// Newton steps onto a surface.
const NEWTON_STEPS: usize = 60;

/// Parses `text` (`"<lhs> <op> <rhs>"` with `op` one of `=`, `<`, `<=`, `>`, `>=`) over
/// the `inputs`, the constants and the definitions; errors against the setting `key`.
pub(super) fn parse(
    key: &str,
    text: &str,
    inputs: &[String],
    constants: &[(String, f64)],
    definitions: &Definitions,
) -> Result<Region> {
    let bad = |m: String| Error::config(key, format!("'{text}': {m}"));
    let Some(at) = text.find(['<', '>', '=']) else {
        return Err(bad(
            "expected a comparison of two expressions of the inputs, such as \
             \"x^2 + y^2 < 0.25\" (inside) or \"x^2 + y^2 = 0.25\" (on the surface)"
                .into(),
        ));
    };
    let rest = &text[at..];
    let (relation, len) = if rest.starts_with("<=") {
        (Relation::Below, 2)
    } else if rest.starts_with(">=") {
        (Relation::Above, 2)
    } else if rest.starts_with('<') {
        (Relation::Below, 1)
    } else if rest.starts_with('>') {
        (Relation::Above, 1)
    } else {
        (Relation::Equal, 1)
    };
    let (lhs, rhs) = (&text[..at], &text[at + len..]);
    let names: Vec<&str> = inputs.iter().map(String::as_str).collect();
    let c: Vec<(&str, f64)> = constants.iter().map(|(n, v)| (n.as_str(), *v)).collect();
    // One expression, so that an error's column counts from the start of the text.
    let src = format!("({lhs}) - ({rhs})");
    let shift = |col: usize| -> usize {
        // Columns in `src` past "(" map to the text; past ") - (" to the right side.
        let left = lhs.chars().count();
        if col <= left + 1 {
            col.saturating_sub(1).max(1)
        } else {
            (col + len).saturating_sub(6).max(1)
        }
    };
    let caret = |col: usize, m: &str| -> Error {
        let pad = " ".repeat(col.saturating_sub(1));
        bad(format!("column {col}: {m}\n{text}\n{pad}^ {m}"))
    };
    if lhs.trim().is_empty() || rhs.trim().is_empty() {
        return Err(bad(
            "expected an expression on each side of the comparison".into()
        ));
    }
    if rhs.contains(['<', '>', '=']) {
        let col = at + len + rhs.find(['<', '>', '=']).unwrap_or(0) + 1;
        return Err(caret(col, "expected one comparison"));
    }
    let e = Expr::parse(&src).map_err(|e| caret(shift(e.column()), e.message()))?;
    let f = e
        .bind_defined(&names, &c, definitions)
        .map_err(|e| caret(shift(e.column()), e.message()))?;
    if f.constant_value().is_some() {
        return Err(bad(format!(
            "does not depend on the inputs ({}); expected a region of them",
            inputs.join(", ")
        )));
    }
    Ok(Region {
        f,
        relation,
        key: key.to_owned(),
        text: text.to_owned(),
    })
}

/// Picks `n` of `kept` evenly through the list, so that points drawn in order (a
/// Hammersley set's first coordinate grows with the index) stay spread over the region.
fn spread(kept: &[usize], n: usize) -> Vec<usize> {
    (0..n).map(|j| kept[j * kept.len() / n]).collect()
}

/// The columns `cols` at the rows `rows`.
fn rows(cols: &[Vec<f64>], rows: &[usize]) -> Vec<Vec<f64>> {
    cols.iter()
        .map(|c| rows.iter().map(|&i| c[i]).collect())
        .collect()
}

impl Region {
    /// `n` points of the region in the box `[lo, hi]`, drawn with `sampler` and `seed`:
    /// as many candidates as it takes (up to [`MAX_CANDIDATES`]), `n` of those that
    /// qualify taken evenly through them.
    ///
    /// # Errors
    /// [`Error::Config`] (the region's setting) when too few candidates qualify: the region is
    /// empty, outside the domain, or too thin to draw from.
    pub(super) fn sample(
        &self,
        lo: &[f64],
        hi: &[f64],
        n: usize,
        sampler: Sampler,
        seed: u64,
    ) -> Result<Vec<Vec<f64>>> {
        let mut m = n.saturating_mul(4).max(256);
        loop {
            let m_now = m.min(MAX_CANDIDATES);
            let cand = sample_in(lo, hi, m_now, sampler, seed)?;
            let (cols, kept) = match self.relation {
                Relation::Equal => self.project(cand, lo, hi)?,
                r => {
                    let mut at = vec![0.0; lo.len()];
                    let kept: Vec<usize> = (0..m_now)
                        .filter(|&i| {
                            for (a, c) in at.iter_mut().zip(&cand) {
                                *a = c[i];
                            }
                            let v = self.f.eval_f64(&at);
                            if r == Relation::Below {
                                v <= 0.0
                            } else {
                                v >= 0.0
                            }
                        })
                        .collect();
                    (cand, kept)
                }
            };
            if kept.len() >= n {
                return Ok(rows(&cols, &spread(&kept, n)));
            }
            // None of 65 536 (the region is under 1/65 536 of the domain, or empty): no
            // point in drawing millions more.
            if m_now == MAX_CANDIDATES || (kept.is_empty() && m_now >= 1 << 16) {
                let what = if self.relation == Relation::Equal {
                    "landed on the surface inside the domain"
                } else {
                    "fell inside the region"
                };
                return Err(Error::config(
                    &self.key,
                    format!(
                        "'{}': {} of {m_now} points drawn in the domain {what}, and \
                         {n} are asked for; is the region empty, outside the domain, or too \
                         small to draw from?",
                        self.text,
                        kept.len()
                    ),
                ));
            }
            // Enough for n at the rate seen, with a margin.
            let rate = (kept.len().max(1) as f64) / m_now as f64;
            m = ((n as f64 / rate) * 1.5).ceil().min(MAX_CANDIDATES as f64) as usize;
            m = m.max(m_now.saturating_mul(2));
        }
    }

    /// The candidates moved onto `f = 0` by Newton steps along `∇f` (the minimum-norm
    /// step), and which converged inside the box: their last step under 1e-9 of the box's
    /// size, which Newton's quadratic convergence leaves at round-off from the surface
    /// where it is smooth.
    fn project(
        &self,
        mut cols: Vec<Vec<f64>>,
        lo: &[f64],
        hi: &[f64],
    ) -> Result<(Vec<Vec<f64>>, Vec<usize>)> {
        let size = lo
            .iter()
            .zip(hi)
            .map(|(a, b)| (b - a) * (b - a))
            .sum::<f64>()
            .sqrt();
        let m = cols[0].len();
        let mut done = vec![false; m];
        let mut failed = vec![false; m];
        for _ in 0..NEWTON_STEPS {
            let (f, g) = self.value_and_grad(&cols)?;
            let mut moving = false;
            for i in 0..m {
                if done[i] || failed[i] {
                    continue;
                }
                let g2: f64 = g.iter().map(|c| c[i] * c[i]).sum();
                if !(f[i].is_finite() && g2.is_finite()) || g2 == 0.0 {
                    failed[i] = true;
                    continue;
                }
                let step = f[i] / g2;
                for (c, gc) in cols.iter_mut().zip(&g) {
                    c[i] -= step * gc[i];
                }
                // Quadratic convergence: after a step this small the next is negligible.
                if step.abs() * g2.sqrt() <= 1e-9 * size {
                    done[i] = true;
                } else {
                    moving = true;
                }
            }
            if !moving {
                break;
            }
        }
        let kept = (0..m)
            .filter(|&i| {
                done[i]
                    && cols
                        .iter()
                        .zip(lo.iter().zip(hi))
                        .all(|(c, (a, b))| c[i] >= *a && c[i] <= *b)
            })
            .collect();
        Ok((cols, kept))
    }

    /// `f` and its gradient at the points `cols`, exactly (reverse mode on a tape).
    pub(super) fn value_and_grad(&self, cols: &[Vec<f64>]) -> Result<(Vec<f64>, Vec<Vec<f64>>)> {
        let m = cols[0].len();
        let tape = Tape::new();
        let x: Vec<_> = cols.iter().map(|c| tape.var_from_slice(m, 1, c)).collect();
        let f = self.f.eval(&tape, &x);
        let f = f + tape.full(m, 1, 0.0);
        let ones = tape.full(m, 1, 1.0);
        let g = autodiff::grad(&[f], &x, &[ones], GradOptions::default().allow_unused())?;
        let fv = f.with_values(|_, _, v| v.to_vec())?;
        let gv = g
            .iter()
            .map(|v| {
                v.with_values(|r, c, vals| {
                    if r * c == m {
                        vals.to_vec()
                    } else {
                        vec![vals.first().copied().unwrap_or(0.0); m]
                    }
                })
            })
            .collect::<Result<_>>()?;
        Ok((fv, gv))
    }

    /// The unit normal `∇f / |∇f|` over the inputs `over` at the points `cols`, one
    /// column per input of `over`: it points to where `lhs − rhs` grows.
    ///
    /// # Errors
    /// [`Error::Config`] (the region's setting) at a point where that gradient vanishes.
    pub(super) fn normals(&self, cols: &[Vec<f64>], over: &[usize]) -> Result<Vec<Vec<f64>>> {
        let (_, g) = self.value_and_grad(cols)?;
        let m = cols[0].len();
        let mut n: Vec<Vec<f64>> = over.iter().map(|&k| g[k].clone()).collect();
        for i in 0..m {
            let len = n.iter().map(|c| c[i] * c[i]).sum::<f64>().sqrt();
            if !(len.is_finite() && len > 0.0) {
                let at: Vec<f64> = cols.iter().map(|c| c[i]).collect();
                return Err(Error::config(
                    &self.key,
                    format!(
                        "the region has no normal at {at:?} (its expression's gradient over \
                         the inputs other than t is {len}); a normal condition needs a surface \
                         that varies in space"
                    ),
                ));
            }
            for c in n.iter_mut() {
                c[i] /= len;
            }
        }
        Ok(n)
    }
}
