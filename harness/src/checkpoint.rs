//! Per-epoch checkpoints of a run, for resuming it after an interruption
//! (Ctrl-C, kill, crash) at the next epoch with nothing lost.
//!
//! A checkpoint directory holds, after epoch `e`:
//! - `model-e<e>.ot`: the `VarStore` (every variable, BatchNorm running
//!   statistics included), `VarStore::save`;
//! - `optimizer-e<e>.ot`: the optimiser's moments/buffers and step count
//!   ([`crate::optim::Optimizer::save`]);
//! - `checkpoint.json`: [`CheckpointState`] — epochs done, the two file
//!   names, curves so far and the clocks' totals — written atomically
//!   **last**: it is the commit point, so a kill while the tensors are being
//!   written leaves the previous checkpoint intact. Older tensor files are
//!   removed after the commit.
//!
//! Nothing else needs saving: augkit's step is a pure function of
//! (seed, epoch, position), and libtorch's generator is reseeded at the start
//! of every epoch ([`crate::train::epoch_seed`]).

use std::path::Path;

use serde::{Deserialize, Serialize};
use tch::nn;

use crate::optim::Optimizer;
use crate::result::{EpochRecord, write_json_atomic};

/// The commit file's name.
pub const STATE_FILE: &str = "checkpoint.json";

/// What `checkpoint.json` records.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CheckpointState {
    /// Epochs completed; training resumes at this (0-based) epoch.
    pub epochs_done: u32,
    /// File names (in the same directory) of the model and optimiser state.
    pub model_file: String,
    pub optimizer_file: String,
    pub curves: Vec<EpochRecord>,
    /// Every step's clock readings so far (the result's distributions).
    pub augmentation_times_s: Vec<f64>,
    pub model_times_s: Vec<f64>,
    pub step_times_s: Vec<f64>,
    pub train_wall_s: f64,
    pub epoch_eval_s: f64,
    pub samples: u64,
    pub global_step: u64,
    /// Wall time of the run so far, over all its processes.
    pub total_wall_s: f64,
}

/// Saves a checkpoint after `state.epochs_done` epochs (the file names are
/// filled in here) and removes the previous one's tensor files.
pub fn save(
    dir: &Path,
    mut state: CheckpointState,
    vs: &nn::VarStore,
    optimizer: &Optimizer,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let e = state.epochs_done;
    state.model_file = format!("model-e{e}.ot");
    state.optimizer_file = format!("optimizer-e{e}.ot");
    vs.save(dir.join(&state.model_file))?;
    optimizer.save(&dir.join(&state.optimizer_file))?;
    sync_file(&dir.join(&state.model_file))?;
    sync_file(&dir.join(&state.optimizer_file))?;
    write_json_atomic(&dir.join(STATE_FILE), &state)?;
    remove_stale(dir, Some(&state))?;
    Ok(())
}

/// The checkpoint in `dir`, if one was committed.
pub fn load(dir: &Path) -> anyhow::Result<Option<CheckpointState>> {
    let path = dir.join(STATE_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(anyhow::Error::new(e).context(format!("reading {}", path.display()))),
    };
    let state: CheckpointState =
        serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok(Some(state))
}

/// Removes the checkpoint files from `dir` (after the result is written).
pub fn clear(dir: &Path) -> std::io::Result<()> {
    let _ = std::fs::remove_file(dir.join(STATE_FILE));
    remove_stale(dir, None)
}

/// Removes tensor files (and leftovers of interrupted writes) that `keep`
/// does not name.
fn remove_stale(dir: &Path, keep: Option<&CheckpointState>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        let ours = (name.starts_with("model-e") || name.starts_with("optimizer-e"))
            && name.ends_with(".ot");
        let kept = keep.is_some_and(|s| name == s.model_file || name == s.optimizer_file);
        if ours && !kept {
            let _ = std::fs::remove_file(dir.join(&name));
        }
    }
    Ok(())
}

fn sync_file(path: &Path) -> std::io::Result<()> {
    std::fs::File::open(path)?.sync_all()
}
