//! Fields: differentiable functions of the coordinates, written against the tape.

use crate::autodiff::{Tape, Var};

pub mod data;
pub mod expr;
pub mod time;

/// A field `u: Rᵈ → Rᵐ` (d = 2 or 3 coordinates, m components), evaluated on a batch of
/// points as tape operations so that operators can differentiate it.
///
/// `eval` receives the coordinates as columns — `x[0]` holds the x coordinate of every
/// point of the batch (`N × 1`), `x[1]` the y coordinate, and so on — and returns the
/// `m` components, each `N × 1` (a `1 × 1` constant is broadcast to the batch).
/// Rust closures `Fn(&[Var]) -> Vec<Var>` are fields through [`FnField`]; parsed
/// expressions and neural networks implement the same trait.
pub trait Field: Sync {
    /// Number of components m (1 for a scalar field, d for a velocity field).
    fn components(&self) -> usize;

    /// The field's components at the batch of points `x` (one column per coordinate).
    fn eval<'t>(&self, tape: &'t Tape, x: &[Var<'t>]) -> Vec<Var<'t>>;

    /// The time derivative `∂u/∂t` of each component at the batch of points `x`, recorded
    /// on `tape` like [`Field::eval`]'s values (so it can be differentiated in space
    /// again); `None` for a field that does not know how it changes in time (the default:
    /// a closure, a network). Formula fields give the exact derivative in `t`; the data
    /// fields of a series a local polynomial in time.
    fn eval_ddt<'t>(&self, _tape: &'t Tape, _x: &[Var<'t>]) -> Option<Vec<Var<'t>>> {
        None
    }
}

/// A field given as a Rust closure.
///
/// ```
/// use nabla::field::{Field, FnField};
/// // The Taylor–Green vortex.
/// let u = FnField::new(3, |x| {
///     let (sx, cx) = (x[0].sin(), x[0].cos());
///     let (sy, cy) = (x[1].sin(), x[1].cos());
///     let cz = x[2].cos();
///     vec![sx * cy * cz, -(cx * sy * cz), x[0] * 0.0]
/// });
/// assert_eq!(u.components(), 3);
/// ```
pub struct FnField<F> {
    components: usize,
    f: F,
}

impl<F> FnField<F>
where
    F: for<'t> Fn(&[Var<'t>]) -> Vec<Var<'t>> + Sync,
{
    /// A field with `components` components computed by `f`.
    pub fn new(components: usize, f: F) -> Self {
        FnField { components, f }
    }
}

impl<F> Field for FnField<F>
where
    F: for<'t> Fn(&[Var<'t>]) -> Vec<Var<'t>> + Sync,
{
    fn components(&self) -> usize {
        self.components
    }

    fn eval<'t>(&self, _tape: &'t Tape, x: &[Var<'t>]) -> Vec<Var<'t>> {
        (self.f)(x)
    }
}
