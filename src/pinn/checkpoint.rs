//! Checkpoints: the network, the optimiser's state and the history, saved and loaded as
//! JSON.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::adam::Adam;
use super::history::LossRecord;
use super::io_error;
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
}

impl Checkpoint {
    /// Writes the checkpoint as JSON, atomically (a temporary file renamed into place).
    ///
    /// # Errors
    /// [`Error::Io`] if the file cannot be written.
    pub fn save(&self, path: &Path) -> Result<()> {
        let json = serde_json::to_string(self).expect("internal: a checkpoint serialises");
        crate::io::write_atomically(path, json.as_bytes())
    }

    /// Reads a checkpoint written by [`Checkpoint::save`].
    ///
    /// # Errors
    /// [`Error::Io`] if the file cannot be read; [`Error::Config`] if it is not a
    /// consistent checkpoint.
    pub fn load(path: &Path) -> Result<Checkpoint> {
        let s = std::fs::read_to_string(path).map_err(|e| io_error(path, e))?;
        let c: Checkpoint = serde_json::from_str(&s).map_err(|e| {
            Error::config(
                "checkpoint",
                format!("{} is not a checkpoint: {e}", path.display()),
            )
        })?;
        Ok(c)
    }
}

/// Saves `mlp`, `adam` and `history` as a [`Checkpoint`] at `path`.
pub(super) fn save_checkpoint(
    path: &Path,
    mlp: &Mlp,
    adam: &Adam,
    history: &[LossRecord],
) -> Result<()> {
    Checkpoint {
        mlp: mlp.clone(),
        adam: adam.clone(),
        history: history.to_vec(),
    }
    .save(path)
}
