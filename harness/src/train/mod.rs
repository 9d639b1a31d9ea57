//! The training loop: one augmented batch per step from a [`BatchSource`],
//! forward/backward/optimiser on a `tch` model, separate clocks for the
//! augmentation and the model, and a [`RunResult`] at the end.
//!
//! Expect, on 2 CPU threads: the simple CNN on 28×28×1 synthetic shapes
//! (200/class, 4 epochs) ≈ 95 % in ≈ 30 s; the simple CNN on Fashion-MNIST ≈ 91 %
//! after a few epochs; CIFAR ResNet-18 ≈ 0.95 s per batch of 64 — use a GPU or
//! a small `--train-per-class`.
//!
//! The loop lives in pieces: [`train_resumable`] and its one validation
//! (`check`) here, set-up and resume in `setup.rs`, the epochs, steps,
//! evaluation and checkpoints in `epochs.rs`, the result in `assemble.rs`.

mod assemble;
mod curve_set;
mod epochs;
mod setup;

pub use curve_set::EVAL_SUBSET_SEED;

use std::path::Path;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use augkit::Step;
use augkit_data::ImageSet;
use tch::nn;
use tch::{Device, Kind, Tensor};

use crate::config::{DeviceChoice, TrainConfig};
use crate::models::Model;
use crate::optim::Optimizer;
use crate::progress::Progress;
use crate::result::*;
use crate::source;

/// The data one run trains and tests on. The splits are shared, not
/// copied: an experiment's cells all hold the one loaded set.
pub struct TrainData {
    pub train: Arc<ImageSet>,
    pub test: Arc<ImageSet>,
    /// Indices into `train` that make up an epoch (the stratified subset).
    pub subset: Vec<u32>,
}

/// Facts about the run gathered before [`train`] was called.
#[derive(Clone, Debug)]
pub struct RunContext {
    pub command_line: Vec<String>,
    /// Time already spent reading the data and choosing the subset.
    pub data_load_s: f64,
    /// Where the data came from, in words ([`augkit_data::load_described`]).
    pub data_source: Option<String>,
    pub started: Instant,
    pub started_unix_s: u64,
    /// The synthetic pool to attach to the training set (`[synthetic] mode =
    /// "pool"`), built by the caller ([`crate::generate`]).
    pub pool: Option<crate::generate::pool::GeneratedPool>,
    /// The generator's cost, recorded in `timing.fixed.generator`.
    pub generator: Option<crate::generate::pool::GeneratorCost>,
}

impl RunContext {
    pub fn now(command_line: Vec<String>) -> Self {
        Self {
            command_line,
            data_load_s: 0.0,
            data_source: None,
            started: Instant::now(),
            started_unix_s: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            pool: None,
            generator: None,
        }
    }
}

/// Soft-label cross-entropy of a mixed batch:
/// `mean_i [ λ_i·CE(a_i) + (1−λ_i)·CE(b_i) ]`, where with label smoothing `s`
/// the target of label `y` is `s/C` off and `1 − s + s/C` on — i.e.
/// `CE(y) = (1−s)·(−log p_y) + s·mean_c(−log p_c)`.
pub fn mixed_cross_entropy(
    logits: &Tensor,
    label_a: &Tensor,
    label_b: &Tensor,
    lambda: &Tensor,
    smoothing: f64,
) -> Tensor {
    let log_p = logits.log_softmax(-1, Kind::Float);
    let nll_a = -log_p.gather(1, &label_a.unsqueeze(1), false).squeeze_dim(1);
    let nll_b = -log_p.gather(1, &label_b.unsqueeze(1), false).squeeze_dim(1);
    let mixed = &nll_b + lambda * (nll_a - &nll_b);
    if smoothing == 0.0 {
        return mixed.mean(Kind::Float);
    }
    let uniform = -log_p.mean_dim(-1, false, Kind::Float);
    (mixed * (1.0 - smoothing) + uniform * smoothing).mean(Kind::Float)
}

/// Wall clock that first waits for the device, so a reading marks the end of
/// all work issued before it (a no-op on CPU, where libtorch ops return
/// when done).
#[derive(Clone, Copy)]
struct SyncClock {
    device: Device,
}

impl SyncClock {
    fn now(self) -> Instant {
        if let Device::Cuda(index) = self.device {
            tch::Cuda::synchronize(index as i64);
        }
        Instant::now()
    }
}

/// The libtorch device for `choice`, or why it cannot be used.
pub fn resolve_device(choice: DeviceChoice) -> anyhow::Result<Device> {
    match choice {
        DeviceChoice::Cpu => Ok(Device::Cpu),
        DeviceChoice::Cuda => {
            anyhow::ensure!(
                tch::Cuda::is_available(),
                "--device cuda: libtorch sees no CUDA device (device count {}); use --device cpu",
                tch::Cuda::device_count()
            );
            Ok(Device::Cuda(0))
        }
    }
}

fn device_name(device: Device) -> String {
    match device {
        Device::Cpu => "cpu".into(),
        Device::Cuda(i) => format!("cuda:{i}"),
        other => format!("{other:?}"),
    }
}

/// The torch version baked in by build.rs from libtorch's `version.py`.
pub fn torch_version() -> &'static str {
    option_env!("AUGKIT_TORCH_VERSION").unwrap_or("unknown")
}

/// The tch version baked in by build.rs from `Cargo.lock`.
pub fn tch_version() -> &'static str {
    option_env!("AUGKIT_TCH_VERSION").unwrap_or("unknown")
}

fn git(args: &[&str]) -> Option<String> {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn provenance(ctx: &RunContext, device: Device, backend: BackendSelection) -> Provenance {
    let git_commit = git(&["rev-parse", "HEAD"]);
    let git_dirty = git_commit
        .as_ref()
        .and_then(|_| git(&["status", "--porcelain", "--untracked-files=no"]))
        .map(|s| !s.is_empty());
    Provenance {
        augkit_version: env!("CARGO_PKG_VERSION").to_string(),
        git_commit,
        git_dirty,
        torch_version: torch_version().to_string(),
        tch_version: tch_version().to_string(),
        device: device_name(device),
        torch_threads: tch::get_num_threads(),
        backend,
        command_line: ctx.command_line.clone(),
        started_unix_s: ctx.started_unix_s,
        hostname: std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .map(|s| s.trim().to_string()),
    }
}

/// Steps per epoch: full batches, plus the remainder as a smaller last batch
/// unless it is a single sample (BatchNorm cannot train on one).
pub fn steps_per_epoch(epoch_len: u32, batch_size: u32) -> u32 {
    let full = epoch_len / batch_size;
    let rest = epoch_len % batch_size;
    full + u32::from(rest >= 2)
}

fn step_at(epoch: u32, index: u32, epoch_len: u32, batch_size: u32) -> Step {
    let first_position = index * batch_size;
    Step {
        epoch,
        first_position,
        batch_size: batch_size.min(epoch_len - first_position),
    }
}

fn accuracy(predictions: &[u32], labels: &[u32]) -> f64 {
    let correct = predictions
        .iter()
        .zip(labels)
        .filter(|(p, l)| p == l)
        .count();
    correct as f64 / labels.len().max(1) as f64
}

/// The libtorch seed of epoch `epoch` (0-based): libtorch's generator
/// (dropout) is reseeded at the start of every epoch, so a run resumed at
/// epoch `e` draws what the uninterrupted run drew.
pub fn epoch_seed(seed: u64, epoch: u32) -> i64 {
    // splitmix64 of (seed, epoch), kept non-negative for manual_seed.
    let mut z = seed ^ (u64::from(epoch) + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    ((z ^ (z >> 31)) >> 1) as i64
}

/// Most optimiser steps one run may take: every step's three clock readings
/// are kept (and written into every checkpoint), so the budget bounds their
/// memory and the checkpoint's size (≈ 60 bytes of JSON per step).
pub const MAX_TOTAL_STEPS: u64 = 1_000_000;

/// Trains and tests one model as `config` says, on `data`. Configuration,
/// policy, device and backend errors come back as `Err` before the first
/// step; a run that starts always returns `Ok`, with `status: failed` and the
/// error recorded when it had to stop (a non-finite loss).
pub fn train(config: &TrainConfig, data: TrainData, ctx: RunContext) -> anyhow::Result<RunResult> {
    train_resumable(config, data, ctx, None)
}

/// [`train`], checkpointing into `checkpoint_dir` after every epoch but the
/// last (model, optimiser state, curves, clocks; see [`crate::checkpoint`])
/// and, when that directory already holds a checkpoint, resuming from it at
/// the next epoch. The result then records `resumed_from_epoch`.
///
/// A checkpoint that cannot be written fails the run (`status: failed`, the
/// reason in `error`), except on a full disk, which comes back as an `Err`
/// holding a [`crate::checkpoint::CheckpointError::DiskFull`] so that an
/// experiment can stop instead of failing every later cell the same way.
pub fn train_resumable(
    config: &TrainConfig,
    data: TrainData,
    ctx: RunContext,
    checkpoint_dir: Option<&Path>,
) -> anyhow::Result<RunResult> {
    let mut run = Run::set_up(config, data, ctx)?;
    let mut tally = Tally::with_capacity(run.total_steps as usize, run.config.epochs as usize);
    if let Some(dir) = checkpoint_dir {
        run.resume(dir, &mut tally)?;
    }
    run.train_epochs(&mut tally, checkpoint_dir)?;
    Ok(run.into_result(tally))
}

/// Everything checked before anything is built: the configuration (every
/// number, [`TrainConfig::validate`]) with the data's normalisation filled
/// in, the image shape, the splits and the step budget. The one place a
/// run is validated; the policy is compiled against the shape once, when
/// set-up builds the backend's [`augkit::Plan`] ([`policy_plan`]). With
/// `steps` set, the returned configuration's `epochs` is the number of
/// epochs the budget spans.
fn check(
    config: &TrainConfig,
    train: &ImageSet,
    test: &ImageSet,
    subset: &[u32],
) -> anyhow::Result<(TrainConfig, augkit::ImageShape)> {
    let config = crate::data::with_dataset_normalisation(config, train, subset)?;
    config.validate()?;
    crate::data::ensure_not_empty(&config.dataset, train, test)?;
    let shape = crate::data::image_shape(train)?;
    anyhow::ensure!(
        subset.len() >= 2,
        "the training subset has {} image(s); at least 2 are needed",
        subset.len()
    );
    let epoch_len = u32::try_from(subset.len()).unwrap_or(u32::MAX);
    let per_epoch = steps_per_epoch(epoch_len, config.batch_size);
    let mut config = config;
    if let Some(steps) = config.steps {
        // A step budget: as many epochs as it takes, the last possibly partial.
        let epochs = steps.div_ceil(u64::from(per_epoch.max(1)));
        anyhow::ensure!(
            epochs <= u64::from(crate::config::MAX_EPOCHS),
            "--steps {steps} at {per_epoch} steps per epoch is {epochs} epochs; at most {} are \
             allowed (every epoch's curve is kept and checkpointed)",
            crate::config::MAX_EPOCHS
        );
        config.epochs = epochs as u32;
        return Ok((config, shape));
    }
    let total_steps = u64::from(per_epoch) * u64::from(config.epochs);
    anyhow::ensure!(
        total_steps <= MAX_TOTAL_STEPS,
        "--epochs {} × {} steps per epoch is {total_steps} steps; at most {MAX_TOTAL_STEPS} are \
         allowed (every step's timings are kept and checkpointed)",
        config.epochs,
        per_epoch
    );
    Ok((config, shape))
}

/// The backend's plan: the policy compiled against the data set's shape
/// (the one compilation of a run), the seed and the subset. A policy that
/// does not fit the images is named with the data set.
fn policy_plan(
    config: &TrainConfig,
    set_name: &str,
    dataset: Arc<augkit::Dataset>,
    subset: Vec<u32>,
) -> anyhow::Result<augkit::Plan> {
    augkit::Plan::new(&config.policy, config.seed, dataset, subset).map_err(|e| match e {
        augkit::Error::Policy(e) => {
            let policy_name = config.policy_file.as_ref().map_or_else(
                || "the identity policy".to_string(),
                |p| p.display().to_string(),
            );
            anyhow::Error::new(e).context(format!(
                "policy {policy_name} does not fit {set_name} images"
            ))
        }
        other => anyhow::Error::new(other).context(format!(
            "opening the {} augmentation backend",
            config.backend.name()
        )),
    })
}

/// A run, set up: data, backend, model, optimiser, clocks.
struct Run {
    config: TrainConfig,
    ctx: RunContext,
    device: Device,
    /// The images' shape (what the model is built for).
    shape: augkit::ImageShape,
    clock: SyncClock,
    test: Arc<ImageSet>,
    num_classes: u32,
    class_names: Vec<String>,
    data_summary: DataSummary,
    fixed: FixedCosts,
    source: Box<dyn source::BatchSource>,
    selection: BackendSelection,
    vs: nn::VarStore,
    model: Model,
    optimizer: Optimizer,
    model_summary: ModelSummary,
    test_images: Tensor,
    /// The curve's fixed test subset (`--eval-subset`), if any.
    curve_set: Option<curve_set::CurveSet>,
    epoch_len: u32,
    steps: u32,
    total_steps: u64,
    warmup_steps: u64,
    smoothing: f64,
    progress: Progress,
    rss_before: Option<u64>,
    /// The per-run memory figures gathered during set-up and the first batch.
    memory: MemoryProbe,
    /// On a GPU the augmentation / model split is read from CUDA events.
    events: Option<crate::cuda_timing::StepEvents>,
}

/// What the run has measured so far: what a checkpoint saves and restores,
/// and what the result is assembled from.
#[derive(Default)]
struct Tally {
    aug_times: Vec<f64>,
    model_times: Vec<f64>,
    step_times: Vec<f64>,
    curves: Vec<EpochRecord>,
    failure: Option<String>,
    train_wall_s: f64,
    epoch_eval_s: f64,
    final_eval: Option<(Vec<u32>, f64)>,
    samples: u64,
    global_step: u64,
    /// Wall time spent by earlier processes of a resumed run.
    wall_before_s: f64,
    resumed_from_epoch: Option<u32>,
    first_epoch: u32,
    peak_device: Option<u64>,
}

impl Tally {
    fn with_capacity(steps: usize, epochs: usize) -> Self {
        Self {
            aug_times: Vec::with_capacity(steps),
            model_times: Vec::with_capacity(steps),
            step_times: Vec::with_capacity(steps),
            curves: Vec::with_capacity(epochs),
            ..Self::default()
        }
    }
}

/// Per-run memory: whether the peak was reset at the start, the resident
/// size then, and the augmentation's own bytes (`first_batch_bytes` filled
/// in by the first step this process runs).
#[derive(Default)]
struct MemoryProbe {
    peak_is_per_run: bool,
    rss_at_start: Option<u64>,
    augmentation: AugmentationMemory,
    first_batch_pending: bool,
}

/// One epoch's running sums.
#[derive(Default)]
struct EpochSums {
    loss_sum: f64,
    correct: u64,
    seen: u64,
    augmentation_s: f64,
    model_s: f64,
    lr: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_keep_the_remainder_unless_single() {
        assert_eq!(steps_per_epoch(128, 64), 2);
        assert_eq!(steps_per_epoch(130, 64), 3);
        assert_eq!(steps_per_epoch(129, 64), 2);
        assert_eq!(steps_per_epoch(7, 64), 1);
        let last = step_at(0, 2, 130, 64);
        assert_eq!((last.first_position, last.batch_size), (128, 2));
    }

    /// The loss equals the explicit soft-target cross-entropy
    /// `−Σ_c t_c log p_c` with `t = λ·onehot_s(a) + (1−λ)·onehot_s(b)`.
    #[test]
    fn mixed_cross_entropy_matches_explicit_soft_targets() {
        tch::manual_seed(7);
        let (n, c) = (7i64, 5i64);
        let logits = Tensor::randn([n, c], (Kind::Float, Device::Cpu)) * 3.0;
        let a = [0i64, 1, 2, 3, 4, 0, 1];
        let b = [4i64, 3, 2, 1, 0, 0, 2];
        let lam = [1.0f32, 0.0, 0.5, 0.3, 0.9, 0.25, 0.75];
        for s in [0.0f64, 0.1, 0.3] {
            let off = s / c as f64;
            let on = 1.0 - s + off;
            let logp: Vec<f32> =
                Vec::try_from(&logits.log_softmax(-1, Kind::Float).flatten(0, 1)).unwrap();
            let mut expected = 0.0f64;
            for i in 0..n as usize {
                for k in 0..c as usize {
                    let t_a = if a[i] as usize == k { on } else { off };
                    let t_b = if b[i] as usize == k { on } else { off };
                    let t = f64::from(lam[i]) * t_a + (1.0 - f64::from(lam[i])) * t_b;
                    expected -= t * f64::from(logp[i * c as usize + k]);
                }
            }
            expected /= n as f64;
            let got = mixed_cross_entropy(
                &logits,
                &Tensor::from_slice(&a),
                &Tensor::from_slice(&b),
                &Tensor::from_slice(&lam),
                s,
            )
            .double_value(&[]);
            assert!(
                (got - expected).abs() <= 1e-5 + 1e-5 * expected.abs(),
                "s={s}: {got} vs {expected}"
            );
        }
    }
}
