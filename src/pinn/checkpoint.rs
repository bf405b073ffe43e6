//! Checkpoints: the network, the optimiser's state and the history, saved and loaded as
//! JSON.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::adam::Adam;
use super::config::PinnConfig;
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

/// The file's form: the checkpoint and, written since the settings are compared on
/// resume, the `[pinn]` settings it was trained with.
#[derive(Serialize)]
struct StoredRef<'a> {
    mlp: &'a Mlp,
    adam: &'a Adam,
    history: &'a [LossRecord],
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
    settings: Option<serde_json::Value>,
}

impl Checkpoint {
    /// Writes the checkpoint as JSON, atomically (a temporary file renamed into place).
    ///
    /// # Errors
    /// [`Error::Io`] if the file cannot be written.
    pub fn save(&self, path: &Path) -> Result<()> {
        self.save_with(path, None)
    }

    /// [`Checkpoint::save`], with the settings it was trained with.
    pub(super) fn save_with(&self, path: &Path, settings: Option<&PinnConfig>) -> Result<()> {
        StoredRef {
            mlp: &self.mlp,
            adam: &self.adam,
            history: &self.history,
            settings,
        }
        .write(path)
    }

    /// Reads a checkpoint written by [`Checkpoint::save`].
    ///
    /// # Errors
    /// [`Error::Io`] if the file cannot be read; [`Error::Config`] if it is not a
    /// consistent checkpoint.
    pub fn load(path: &Path) -> Result<Checkpoint> {
        Ok(Checkpoint::load_with_settings(path)?.0)
    }

    /// [`Checkpoint::load`], with the settings saved with it (as JSON), if any.
    pub(super) fn load_with_settings(
        path: &Path,
    ) -> Result<(Checkpoint, Option<serde_json::Value>)> {
        let s = std::fs::read_to_string(path).map_err(|e| io_error(path, e))?;
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
            },
            c.settings,
        ))
    }
}

/// Saves `mlp`, `adam` and `history` as a [`Checkpoint`] at `path`.
pub(super) fn save_checkpoint(
    path: &Path,
    mlp: &Mlp,
    adam: &Adam,
    history: &[LossRecord],
) -> Result<()> {
    StoredRef {
        mlp,
        adam,
        history,
        settings: None,
    }
    .write(path)
}

impl StoredRef<'_> {
    fn write(&self, path: &Path) -> Result<()> {
        let json = serde_json::to_string(self).map_err(|e| Error::Io {
            path: path.to_path_buf(),
            message: format!("cannot encode the checkpoint: {e}"),
        })?;
        crate::io::write_atomically(path, json.as_bytes())
    }
}
