//! A trained network of space and time written as a time series: at each time of the
//! case's `times`, the network evaluated at the points' coordinates and that time.

use crate::autodiff::{Tape, Var};
use crate::field::Field;
use crate::pinn::Mlp;

/// Some outputs of a network whose input `time` is the time, evaluated at the time `t`:
/// the points' first `space` coordinates are its other inputs, in order; coordinates
/// beyond those (the y of a line of points for a network of `(x, t)`) are not inputs, and
/// the derivatives along them are 0.
pub(super) struct AtTime<'a> {
    pub(super) mlp: &'a Mlp,
    pub(super) comps: Vec<usize>,
    pub(super) time: usize,
    pub(super) space: usize,
    pub(super) t: f64,
}

impl Field for AtTime<'_> {
    fn components(&self) -> usize {
        self.comps.len()
    }

    fn eval<'t>(&self, tape: &'t Tape, x: &[Var<'t>]) -> Vec<Var<'t>> {
        let n = x.first().map_or(1, Var::rows);
        let mut space = x.iter().take(self.space).copied();
        let inputs: Vec<Var<'t>> = (0..=self.space)
            .map(|k| {
                if k == self.time {
                    tape.full(n, 1, self.t)
                } else {
                    // `network::check` makes sure the points have at least `space`
                    // coordinates.
                    space.next().unwrap_or_else(|| tape.full(n, 1, f64::NAN))
                }
            })
            .collect();
        let all = self.mlp.eval(tape, &inputs);
        self.comps.iter().map(|&c| all[c]).collect()
    }
}
