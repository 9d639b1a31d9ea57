//! Per-epoch checkpoints of a run, for resuming it after an interruption
//! (Ctrl-C, kill, crash) at the next epoch with nothing lost.
//!
//! A checkpoint directory holds, after epoch `e`:
//! - `model-e<e>.ot`: the `VarStore` (every variable, BatchNorm running
//!   statistics included), in libtorch's archive format;
//! - `optimizer-e<e>.ot`: the optimiser's moments/buffers and step count
//!   ([`crate::optim::Optimizer::to_bytes`]);
//! - `checkpoint.json`: [`CheckpointState`] — epochs done, the two file
//!   names with the SHA-256 of each, a digest of the run's configuration,
//!   curves so far and the clocks' totals, and a SHA-256 of all that —
//!   written atomically **last**: it is the commit point, so a kill while
//!   the tensors are being written leaves the previous checkpoint intact.
//!   Older tensor files are removed after the commit.
//!
//! Before a resume loads anything, [`verify`] checks the whole checkpoint:
//! the state's own digest (an edited curve or count), that it belongs to
//! this run (same configuration, fewer epochs than the run has, its own
//! `model-e<E>.ot` / `optimizer-e<E>.ot` in its own directory) and each
//! tensor file's digest (a flipped bit, an overwritten block). Whatever
//! fails, the resume discards the checkpoint with a warning and trains the
//! run from the start: a checkpoint only saves time.
//!
//! Every file is written under a temporary name (`.NAME.tmp.PID`), synced
//! and renamed, never rewritten in place. The tensors are serialised into
//! memory first and written by Rust: libtorch's own file writer throws from
//! a destructor when the disk fills ("unexpected pos"), which aborts the
//! process — in memory it cannot fail that way, and a failed write comes
//! back as a [`CheckpointError`] with the partial file removed.
//!
//! Nothing else needs saving: augkit's step is a pure function of
//! (seed, epoch, position), and libtorch's generator is reseeded at the start
//! of every epoch ([`crate::train::epoch_seed`]).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tch::{Tensor, nn};

use crate::archive::tensors_to_bytes;
use crate::config::TrainConfig;
use crate::optim::Optimizer;
use crate::read_limits::{FileKind, read_bytes, read_text};
use crate::result::{EpochRecord, write_json_atomic};

/// The commit file's name.
pub const STATE_FILE: &str = "checkpoint.json";

/// Test hook: when set, the checkpoint writer fails the way a full disk
/// (`enospc`) or a failing device (`eio`) would, after writing half of a
/// tensor file. Used by the tests where a small tmpfs cannot be mounted.
pub const FAULT_ENV: &str = "AUGKIT_FAULT_CHECKPOINT_WRITE";

/// What `checkpoint.json` records.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct CheckpointState {
    /// Epochs completed; training resumes at this (0-based) epoch.
    pub epochs_done: u32,
    /// File names (in the same directory) of the model and optimiser state.
    pub model_file: String,
    pub optimizer_file: String,
    /// SHA-256 (hex) of each tensor file's bytes, filled in by [`save`].
    pub model_sha256: String,
    pub optimizer_sha256: String,
    /// [`run_digest`] of the run that wrote it.
    pub run_sha256: String,
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
    /// SHA-256 of this state's compact JSON with this field empty, filled
    /// in by [`save`]: an edited `checkpoint.json` no longer matches it.
    pub state_sha256: String,
}

impl CheckpointState {
    /// The digest `state_sha256` holds for the rest of the state.
    fn own_digest(&self) -> String {
        let mut unsigned = self.clone();
        unsigned.state_sha256 = String::new();
        // Serialising plain numbers and strings cannot fail.
        sha256_hex(&serde_json::to_vec(&unsigned).unwrap_or_default())
    }
}

/// SHA-256 of `bytes`, as lower-case hex.
fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Digest of what makes a run's training what it is: its configuration
/// without where files live or go, how it is displayed, its thread count,
/// device, backend choice and evaluation batch size (none of which changes
/// what the next epoch computes). A checkpoint of another run — another
/// cell's, or this cell's under other flags — does not match it.
pub fn run_digest(config: &TrainConfig) -> String {
    let mut identity = config.clone();
    identity.data_dir = Default::default();
    identity.policy_file = None;
    identity.out = None;
    identity.quiet = false;
    identity.threads = None;
    identity.device = Default::default();
    identity.backend = Default::default();
    identity.eval_batch_size = 0;
    sha256_hex(&serde_json::to_vec(&identity).unwrap_or_default())
}

/// Why a checkpoint could not be written.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// The file system is full (or over quota): no later cell can
    /// checkpoint either, so an experiment stops.
    #[error("{}: the disk is full ({error}); free space and re-run to resume", path.display())]
    DiskFull {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{}: {error}", path.display())]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    /// libtorch could not serialise the tensors.
    #[error("serialising {what}: {error}")]
    Serialise {
        what: &'static str,
        error: tch::TchError,
    },
}

impl CheckpointError {
    fn io(path: &Path, error: std::io::Error) -> Self {
        let path = path.to_path_buf();
        if is_disk_full(&error) {
            CheckpointError::DiskFull { path, error }
        } else {
            CheckpointError::Io { path, error }
        }
    }
}

/// ENOSPC or EDQUOT.
pub fn is_disk_full(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
    )
}

/// Saves a checkpoint after `state.epochs_done` epochs (the file names are
/// filled in here) and removes the previous one's tensor files. On error
/// nothing of this checkpoint remains; the previous one stays committed.
pub fn save(
    dir: &Path,
    mut state: CheckpointState,
    vs: &nn::VarStore,
    optimizer: &Optimizer,
) -> Result<(), CheckpointError> {
    std::fs::create_dir_all(dir).map_err(|e| CheckpointError::io(dir, e))?;
    let e = state.epochs_done;
    state.model_file = format!("model-e{e}.ot");
    state.optimizer_file = format!("optimizer-e{e}.ot");
    let model = model_bytes(vs)?;
    let optimizer = optimizer
        .to_bytes()
        .map_err(|error| CheckpointError::Serialise {
            what: "the optimiser state",
            error,
        })?;
    state.model_sha256 = sha256_hex(&model);
    state.optimizer_sha256 = sha256_hex(&optimizer);
    state.state_sha256 = state.own_digest();
    let model_path = dir.join(&state.model_file);
    let optimizer_path = dir.join(&state.optimizer_file);
    let written = write_file_atomic(&model_path, &model)
        .and_then(|()| write_file_atomic(&optimizer_path, &optimizer))
        .and_then(|()| {
            write_json_atomic(&dir.join(STATE_FILE), &state)
                .map_err(|e| CheckpointError::io(&dir.join(STATE_FILE), e))
        });
    if let Err(e) = written {
        // Not committed: this checkpoint's tensor files are orphans unless
        // the committed checkpoint names them.
        let committed = load(dir).ok().flatten();
        if committed.is_none_or(|s| s.model_file != state.model_file) {
            let _ = std::fs::remove_file(&model_path);
            let _ = std::fs::remove_file(&optimizer_path);
        }
        return Err(e);
    }
    remove_stale(dir, Some(&state)).map_err(|e| CheckpointError::io(dir, e))?;
    Ok(())
}

/// The var store's variables (sorted by name) in libtorch's archive format.
fn model_bytes(vs: &nn::VarStore) -> Result<Vec<u8>, CheckpointError> {
    let mut named: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    named.sort_by(|a, b| a.0.cmp(&b.0));
    tensors_to_bytes(&named).map_err(|error| CheckpointError::Serialise {
        what: "the model",
        error,
    })
}

/// Writes `bytes` to `path` atomically ([`crate::atomic`]); under the
/// [`FAULT_ENV`] test hook it fails half-way as a full disk or a failing
/// device would.
pub fn write_file_atomic(path: &Path, bytes: &[u8]) -> Result<(), CheckpointError> {
    crate::atomic::write_atomic_failing(path, bytes, injected_fault())
        .map_err(|e| CheckpointError::io(path, e))
}

fn injected_fault() -> Option<std::io::Error> {
    match std::env::var(FAULT_ENV).ok()?.as_str() {
        "enospc" => Some(std::io::Error::new(
            std::io::ErrorKind::StorageFull,
            format!("No space left on device (injected by {FAULT_ENV})"),
        )),
        "eio" => Some(std::io::Error::other(format!(
            "Input/output error (injected by {FAULT_ENV})"
        ))),
        _ => None,
    }
}

/// The checkpoint in `dir`, if one was committed (read within
/// [`FileKind::Checkpoint`]'s cap; not yet [`verify`]-ed).
pub fn load(dir: &Path) -> anyhow::Result<Option<CheckpointState>> {
    let path = dir.join(STATE_FILE);
    let text = match read_text(&path, FileKind::Checkpoint) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(anyhow::anyhow!("{}: {e}", path.display())),
    };
    let state: CheckpointState =
        serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok(Some(state))
}

/// Checks that the checkpoint `state` in `dir` is whole and belongs to the
/// run of `config` (see the module comment); `Err` says what is wrong.
pub fn verify(dir: &Path, state: &CheckpointState, config: &TrainConfig) -> Result<(), String> {
    let path = dir.join(STATE_FILE);
    let at = path.display();
    if state.state_sha256 != state.own_digest() {
        return Err(format!(
            "{at} does not match its own digest (edited or damaged)"
        ));
    }
    if state.run_sha256 != run_digest(config) {
        return Err(format!(
            "{at} was written by a run with another configuration"
        ));
    }
    let e = state.epochs_done;
    if e == 0 || e >= config.epochs {
        return Err(format!(
            "{at}: a checkpoint after epoch {e} does not fit a {}-epoch run",
            config.epochs
        ));
    }
    let (model, optimizer) = (format!("model-e{e}.ot"), format!("optimizer-e{e}.ot"));
    if state.model_file != model || state.optimizer_file != optimizer {
        return Err(format!(
            "{at} names {:?} and {:?}, not this directory's {model} and {optimizer}",
            state.model_file, state.optimizer_file
        ));
    }
    let steps = state.global_step;
    let epochs_ok =
        state.curves.len() == e as usize && state.curves.iter().zip(1..).all(|(c, i)| c.epoch == i);
    let clocks_ok = [
        &state.augmentation_times_s,
        &state.model_times_s,
        &state.step_times_s,
    ]
    .iter()
    .all(|t| t.len() as u64 == steps);
    if !epochs_ok || !clocks_ok {
        return Err(format!(
            "{at}: its curves or clock readings do not match {e} epochs of {steps} steps"
        ));
    }
    for (file, want) in [
        (&state.model_file, &state.model_sha256),
        (&state.optimizer_file, &state.optimizer_sha256),
    ] {
        let path = dir.join(file);
        let bytes = read_bytes(&path, FileKind::CheckpointTensors)
            .map_err(|err| format!("{}: {err}", path.display()))?;
        if sha256_hex(&bytes) != *want {
            return Err(format!(
                "{}: its SHA-256 does not match the one in {STATE_FILE} (damaged)",
                path.display()
            ));
        }
    }
    Ok(())
}

/// Removes the checkpoint files from `dir` (after the result is written).
pub fn clear(dir: &Path) -> std::io::Result<()> {
    let _ = std::fs::remove_file(dir.join(STATE_FILE));
    remove_stale(dir, None)
}

/// Whether `name` is a tensor file this module writes.
pub fn is_tensor_file(name: &str) -> bool {
    (name.starts_with("model-e") || name.starts_with("optimizer-e")) && name.ends_with(".ot")
}

/// Removes tensor files (and leftovers of interrupted writes) that `keep`
/// does not name.
pub fn remove_stale(dir: &Path, keep: Option<&CheckpointState>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        let kept = keep.is_some_and(|s| name == s.model_file || name == s.optimizer_file);
        if is_tensor_file(&name) && !kept {
            let _ = std::fs::remove_file(dir.join(&name));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The state's own digest survives a write and a read: every f64 reads
    /// back to the bits written (serde_json's `float_roundtrip`), so a
    /// resume never discards an intact checkpoint.
    #[test]
    fn state_digest_survives_a_round_trip() {
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 11) as f64 / (1u64 << 53) as f64 * 10f64.powi((x % 9) as i32 - 6)
        };
        let times: Vec<f64> = (0..20_000).map(|_| next()).collect();
        let mut state = CheckpointState {
            epochs_done: 1,
            augmentation_times_s: times.clone(),
            model_times_s: times.clone(),
            step_times_s: times,
            train_wall_s: next(),
            ..CheckpointState::default()
        };
        state.state_sha256 = state.own_digest();
        let text = serde_json::to_string_pretty(&state).unwrap();
        let back: CheckpointState = serde_json::from_str(&text).unwrap();
        assert_eq!(back.state_sha256, back.own_digest());
    }
}
