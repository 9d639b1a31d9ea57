//! The training loop every generator shares: Adam over shuffled mini-batches
//! of the subset, seeded per epoch (libtorch's generator is reseeded from
//! `(seed, epoch)` at the start of each epoch, as the classifier's loop does),
//! so that a fit resumed from its checkpoint at epoch `e` draws exactly what
//! the uninterrupted fit drew and ends with bit-identical weights on the CPU.
//!
//! The checkpoint (`fit-model.ot`, `fit-optimizer.ot`, then `fit-state.json`
//! naming both files' SHA-256) is written atomically; one whose files do not
//! match their digests is discarded with a warning and the fit restarts
//! from scratch (to the same result).

use std::path::Path;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor, nn};

use super::GenData;
use crate::config::OptimizerKind;
use crate::optim::Optimizer;

const STATE: &str = "fit-state.json";
const MODEL: &str = "fit-model.ot";
const OPTIMIZER: &str = "fit-optimizer.ot";

/// How to fit.
#[derive(Clone, Copy, Debug)]
pub struct FitOptions<'a> {
    pub epochs: u32,
    pub batch_size: u32,
    pub lr: f64,
    pub seed: u64,
    /// Where the checkpoint goes (none: no checkpoint, no resume).
    pub checkpoint: Option<&'a Path>,
    /// Print one line per epoch.
    pub verbose: bool,
}

/// What a fit did.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct FitLog {
    /// Mean training loss of each epoch.
    pub losses: Vec<f64>,
    /// The epoch a resumed fit started after.
    pub resumed_from_epoch: Option<u32>,
    /// Wall seconds of the fit, over all processes of a resumed fit.
    pub seconds: f64,
}

#[derive(Serialize, Deserialize)]
struct State {
    epochs_done: u32,
    losses: Vec<f64>,
    seconds: f64,
    model_sha256: String,
    optimizer_sha256: String,
}

/// Trains `vs` for `opts.epochs` epochs on `data`, `loss(x, y)` giving one
/// mini-batch's loss, resuming from (and checkpointing into)
/// `opts.checkpoint`. The caller seeds libtorch and builds the model first.
pub fn fit_loop(
    vs: &mut nn::VarStore,
    data: &GenData,
    opts: FitOptions,
    mut loss: impl FnMut(&Tensor, &Tensor) -> Tensor,
) -> anyhow::Result<FitLog> {
    let start = Instant::now();
    let mut optimizer = Optimizer::new(OptimizerKind::Adam, vs, opts.lr, 0.0, 0.0);
    let mut log = FitLog::default();
    let mut before = 0.0;
    let mut first_epoch = 0;
    if let Some(dir) = opts.checkpoint {
        // A failed load may have written into the model: keep its initial
        // weights to put back.
        let initial = model_bytes(vs)?;
        match load_checkpoint(dir, vs, &mut optimizer, opts.epochs) {
            Ok(Some(state)) => {
                first_epoch = state.epochs_done;
                log.losses = state.losses;
                log.resumed_from_epoch = Some(state.epochs_done);
                before = state.seconds;
            }
            Ok(None) => {}
            Err(e) => {
                eprintln!(
                    "warning: discarding the generator checkpoint in {} ({e:#}); fitting from the start",
                    dir.display()
                );
                clear_checkpoint(dir);
                vs.load_from_stream(std::io::Cursor::new(initial))?;
                optimizer = Optimizer::new(OptimizerKind::Adam, vs, opts.lr, 0.0, 0.0);
            }
        }
    }
    let n = data.len();
    let batch = i64::from(opts.batch_size);
    // Checkpoints every tenth of the fit: enough to resume, few writes.
    let every = (opts.epochs / 10).max(1);
    for epoch in first_epoch..opts.epochs {
        tch::manual_seed(crate::train::epoch_seed(opts.seed, epoch));
        let order = Tensor::randperm(n, (Kind::Int64, data.images.device()));
        let (mut sum, mut batches) = (0.0, 0);
        let mut first = 0;
        while first < n {
            let len = batch.min(n - first);
            // A single image would make a batch statistic degenerate.
            if len < 2 && first > 0 {
                break;
            }
            let idx = order.narrow(0, first, len);
            let x = data.images.index_select(0, &idx);
            let y = data.labels.index_select(0, &idx);
            let l = loss(&x, &y);
            optimizer.backward_step(&l);
            sum += l.double_value(&[]);
            batches += 1;
            first += len;
        }
        let mean = sum / f64::from(batches.max(1));
        anyhow::ensure!(
            mean.is_finite(),
            "the generator's loss is {mean} in epoch {}",
            epoch + 1
        );
        log.losses.push(mean);
        if opts.verbose {
            eprintln!(
                "generator: epoch {}/{} loss {mean:.4} ({:.1} s)",
                epoch + 1,
                opts.epochs,
                before + start.elapsed().as_secs_f64()
            );
        }
        let done = epoch + 1;
        if let Some(dir) = opts.checkpoint
            && done < opts.epochs
            && done % every == 0
        {
            save_checkpoint(
                dir,
                vs,
                &optimizer,
                done,
                &log.losses,
                before + start.elapsed().as_secs_f64(),
            )?;
        }
    }
    log.seconds = before + start.elapsed().as_secs_f64();
    if let Some(dir) = opts.checkpoint {
        clear_checkpoint(dir);
    }
    Ok(log)
}

/// The var store's variables (sorted by name) in libtorch's archive format.
pub fn model_bytes(vs: &nn::VarStore) -> anyhow::Result<Vec<u8>> {
    let mut named: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    named.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(crate::archive::tensors_to_bytes(&named)?)
}

/// Lower-case hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Reads `path` and checks it against `digest`.
pub fn read_verified(path: &Path, digest: &str) -> anyhow::Result<Vec<u8>> {
    let bytes = std::fs::read(path)?;
    let got = sha256_hex(&bytes);
    anyhow::ensure!(
        got == digest,
        "{}: SHA-256 {got} does not match the recorded {digest} (damaged or cut short)",
        path.display()
    );
    Ok(bytes)
}

fn save_checkpoint(
    dir: &Path,
    vs: &nn::VarStore,
    optimizer: &Optimizer,
    epochs_done: u32,
    losses: &[f64],
    seconds: f64,
) -> anyhow::Result<()> {
    let model = model_bytes(vs)?;
    let opt = optimizer.to_bytes()?;
    crate::atomic::write_atomic(&dir.join(MODEL), &model)?;
    crate::atomic::write_atomic(&dir.join(OPTIMIZER), &opt)?;
    let state = State {
        epochs_done,
        losses: losses.to_vec(),
        seconds,
        model_sha256: sha256_hex(&model),
        optimizer_sha256: sha256_hex(&opt),
    };
    crate::atomic::write_json_atomic(&dir.join(STATE), &state)?;
    Ok(())
}

/// The committed checkpoint, restored into `vs` and `optimizer`
/// (`Ok(None)`: there is none; `Err`: there is one that cannot be used).
fn load_checkpoint(
    dir: &Path,
    vs: &mut nn::VarStore,
    optimizer: &mut Optimizer,
    epochs: u32,
) -> anyhow::Result<Option<State>> {
    let text = match std::fs::read_to_string(dir.join(STATE)) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let state: State = serde_json::from_str(&text)?;
    anyhow::ensure!(
        state.epochs_done < epochs && state.losses.len() == state.epochs_done as usize,
        "the checkpoint after epoch {} does not fit a {epochs}-epoch fit",
        state.epochs_done
    );
    // Both files checked before either is loaded.
    let model = read_verified(&dir.join(MODEL), &state.model_sha256)?;
    read_verified(&dir.join(OPTIMIZER), &state.optimizer_sha256)?;
    vs.load_from_stream(std::io::Cursor::new(model))?;
    optimizer.load(&dir.join(OPTIMIZER))?;
    anyhow::ensure!(
        optimizer.steps() > 0,
        "the optimiser state has taken no steps"
    );
    eprintln!(
        "generator: resuming the fit after epoch {} from {}",
        state.epochs_done,
        dir.display()
    );
    Ok(Some(state))
}

fn clear_checkpoint(dir: &Path) {
    for name in [STATE, MODEL, OPTIMIZER] {
        let _ = std::fs::remove_file(dir.join(name));
    }
}
