//! Checkpoints: the network, the optimiser's state and the history, saved and loaded as
//! JSON.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::adam::Adam;
use super::config::PinnConfig;
use super::history::LossRecord;
use super::lbfgs::Lbfgs;
use super::mlp::Mlp;
use crate::error::{Error, Result};

/// What a checkpoint file holds: the network, the optimiser's state and the history, so
/// that a run resumes exactly where it stopped.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    /// The network's parameters.
    pub mlp: Mlp,
    /// Adam's moments and step count.
    pub adam: Adam,
    /// The loss history so far.
    pub history: Vec<LossRecord>,
    /// The unknowns of an equations problem (empty for the built-in kinds), in the order
    /// of their names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unknowns: Vec<f64>,
    /// L-BFGS's state, once the training has reached its L-BFGS phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lbfgs: Option<Lbfgs>,
    /// The collocation points added by residual-based refinement (`[pinn.points]
    /// refine`) so far, one column per input (empty without refinement): a resumed run
    /// trains on them as the uninterrupted one did.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refined: Vec<Vec<f64>>,
}

/// The file's form: the checkpoint and, written since the settings are compared on
/// resume, the `[pinn]` settings it was trained with.
#[derive(Serialize)]
struct StoredRef<'a> {
    mlp: &'a Mlp,
    adam: &'a Adam,
    history: &'a [LossRecord],
    #[serde(skip_serializing_if = "<[f64]>::is_empty")]
    unknowns: &'a [f64],
    #[serde(skip_serializing_if = "Option::is_none")]
    lbfgs: Option<&'a Lbfgs>,
    #[serde(skip_serializing_if = "no_points")]
    refined: &'a [Vec<f64>],
    #[serde(skip_serializing_if = "Option::is_none")]
    settings: Option<&'a PinnConfig>,
}

/// [`StoredRef`], read back; `settings` is absent from older checkpoints.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Stored {
    mlp: Mlp,
    adam: Adam,
    history: Vec<LossRecord>,
    #[serde(default)]
    unknowns: Vec<f64>,
    #[serde(default)]
    lbfgs: Option<Lbfgs>,
    #[serde(default)]
    refined: Vec<Vec<f64>>,
    #[serde(default)]
    settings: Option<serde_json::Value>,
}

impl Checkpoint {
    /// Writes the checkpoint as JSON, atomically (a temporary file renamed into place).
    ///
    /// # Errors
    /// [`Error::Config`] (setting `checkpoint`) naming the first number that is not finite
    /// (a parameter, a moment of Adam, a value of the history; JSON cannot hold it, so the
    /// file would not read back), and the optimiser's settings when they are not valid;
    /// nothing is written then. [`Error::Io`] if the file cannot be written.
    pub fn save(&self, path: &Path) -> Result<()> {
        self.save_with(path, None)
    }

    /// [`Checkpoint::save`], with the settings it was trained with.
    pub(super) fn save_with(&self, path: &Path, settings: Option<&PinnConfig>) -> Result<()> {
        StoredRef {
            mlp: &self.mlp,
            adam: &self.adam,
            history: &self.history,
            unknowns: &self.unknowns,
            lbfgs: self.lbfgs.as_ref(),
            refined: &self.refined,
            settings,
        }
        .write(path)
    }

    /// Reads a checkpoint written by [`Checkpoint::save`].
    ///
    /// # Errors
    /// [`Error::Io`] if the file cannot be read, is not a regular file (a FIFO, a device)
    /// or is larger than [`max_input_bytes`](crate::io::max_input_bytes);
    /// [`Error::Config`] if it is not a consistent checkpoint.
    pub fn load(path: &Path) -> Result<Checkpoint> {
        Ok(Checkpoint::load_with_settings(path)?.0)
    }

    /// [`Checkpoint::load`], with the settings saved with it (as JSON), if any.
    pub(super) fn load_with_settings(
        path: &Path,
    ) -> Result<(Checkpoint, Option<serde_json::Value>)> {
        // A regular file within the input limit: a FIFO would block, /dev/zero never ends.
        let bytes = crate::io::read::read_input(path)?;
        let s = String::from_utf8(bytes).map_err(|e| {
            Error::config(
                "checkpoint",
                format!(
                    "{} is not a checkpoint: not UTF-8 text ({e})",
                    path.display()
                ),
            )
        })?;
        let c: Stored = serde_json::from_str(&s).map_err(|e| {
            Error::config(
                "checkpoint",
                format!("{} is not a checkpoint: {e}", path.display()),
            )
        })?;
        Ok((
            Checkpoint {
                mlp: c.mlp,
                adam: c.adam,
                history: c.history,
                unknowns: c.unknowns,
                lbfgs: c.lbfgs,
                refined: if no_points(&c.refined) {
                    Vec::new()
                } else {
                    c.refined
                },
            },
            c.settings,
        ))
    }
}

/// Whether `cols` hold no point (no columns, or empty ones).
fn no_points(cols: &[Vec<f64>]) -> bool {
    cols.iter().all(Vec::is_empty)
}

/// Saves `mlp`, `adam`, `history` and the rest as a [`Checkpoint`] at `path`.
pub(super) fn save_checkpoint(
    path: &Path,
    mlp: &Mlp,
    adam: &Adam,
    history: &[LossRecord],
    unknowns: &[f64],
    lbfgs: Option<&Lbfgs>,
    refined: &[Vec<f64>],
) -> Result<()> {
    StoredRef {
        mlp,
        adam,
        history,
        unknowns,
        lbfgs,
        refined,
        settings: None,
    }
    .write(path)
}

impl StoredRef<'_> {
    /// Refuses a checkpoint that would not read back as it is: JSON has no NaN or
    /// infinity (serde_json writes `null`, which [`Checkpoint::load`] refuses), so every
    /// number is checked; the first that is not finite is named.
    fn check_finite(&self) -> Result<()> {
        let first = |v: &[f64]| v.iter().position(|x| !x.is_finite()).map(|k| (k, v[k]));
        let params = self.mlp.params();
        let [m, v] = self.adam.moments();
        let mut bad = [
            ("network parameter", first(&params)),
            ("Adam first moment", first(m)),
            ("Adam second moment", first(v)),
            ("unknown", first(self.unknowns)),
            ("refined point coordinate", first(&self.refined.concat())),
        ]
        .into_iter()
        .find_map(|(what, at)| at.map(|(k, x)| format!("{what} {k} is {x:?}")));
        if bad.is_none() {
            bad = self.history.iter().find_map(|r| {
                let l = &r.loss;
                let values = [
                    r.learning_rate,
                    l.total,
                    l.pde,
                    l.continuity,
                    l.boundary,
                    r.seconds,
                ];
                first(&values).map(|(k, x)| {
                    let name = [
                        "learning_rate",
                        "loss",
                        "pde",
                        "continuity",
                        "boundary",
                        "seconds",
                    ][k];
                    format!("the history's {name} at iteration {} is {x:?}", r.iteration)
                })
            });
        }
        match bad {
            None => self.adam.config().validate(),
            Some(what) => Err(Error::config(
                "checkpoint",
                format!(
                    "{what}; a checkpoint holds finite numbers only (JSON has no NaN or \
                     infinity, so it would not read back); nothing is written"
                ),
            )),
        }
    }

    fn write(&self, path: &Path) -> Result<()> {
        self.check_finite()?;
        let json = serde_json::to_string(self).map_err(|e| Error::Io {
            path: path.to_path_buf(),
            message: format!("cannot encode the checkpoint: {e}"),
        })?;
        crate::io::write_atomically(path, json.as_bytes())
    }
}
