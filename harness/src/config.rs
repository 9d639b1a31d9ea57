//! A training run's full configuration: what the CLI flags become, what the
//! result JSON records under `config`, and what [`TrainConfig::validate`]
//! checks. Where flags become a configuration (`augkit train`'s
//! `TrainArgs::to_config`, the experiment's plan) it runs before any data is
//! read; every run is then validated once more, with the data's
//! normalisation filled in, by `train::check` before anything is built.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::models::ModelKind;
use crate::schedule::Schedule;
use crate::source::BackendChoice;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum OptimizerKind {
    /// Adam (β = 0.9, 0.999, ε = 1e-8) with coupled L2 weight decay, as
    /// PyTorch's `Adam(weight_decay=…)`.
    #[default]
    Adam,
    /// SGD with momentum (`--momentum`, default 0.9), no Nesterov, coupled L2.
    Sgd,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum DeviceChoice {
    /// The model runs on the CPU through libtorch.
    #[default]
    Cpu,
    /// The model runs on CUDA device 0 (error if libtorch sees none).
    Cuda,
}

/// How much of the training split one epoch uses.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrainLimit {
    /// The whole training split.
    All,
    /// At most this many images of each class (stratified, seeded).
    PerClass(u32),
    /// This fraction of each class, in (0, 1] (stratified, seeded).
    Fraction(f64),
}

/// Everything that defines a training run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TrainConfig {
    pub dataset: String,
    pub data_dir: PathBuf,
    /// How a `folder:`, `parquet:` or `npz:` data set is converted (absent
    /// for the named data sets, so their records and cell ids are unchanged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_options: Option<augkit_data::SourceOptions>,
    pub model: ModelKind,
    /// Where the policy came from (`None`: the identity policy).
    pub policy_file: Option<PathBuf>,
    /// The policy as parsed (recorded in full).
    pub policy: augkit::Policy,
    pub epochs: u32,
    /// A fixed budget of optimiser steps (`--steps`): the run stops after
    /// exactly this many, the last epoch possibly partial, and `epochs`
    /// becomes the number of epochs that takes (recorded in the result's
    /// config). `None`: `epochs` whole epochs. Absent from the JSON when
    /// `None`, so configurations (and cell ids) from before it are unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<u64>,
    pub batch_size: u32,
    pub lr: f64,
    pub weight_decay: f64,
    pub optimizer: OptimizerKind,
    pub momentum: f64,
    pub schedule: Schedule,
    /// Warm-up length in epochs for the linear and cosine schedules.
    pub warmup_epochs: f64,
    pub train_limit: TrainLimit,
    pub seed: u64,
    pub backend: BackendChoice,
    pub device: DeviceChoice,
    /// Batch size for test-set evaluation and inference timing.
    pub eval_batch_size: u32,
    /// Evaluate the test set every this many epochs for the curves (0: only
    /// at the end). The last epoch is always evaluated.
    pub eval_every: u32,
    /// Evaluate the per-epoch curve on a fixed stratified subset of this
    /// many test images (`--eval-subset`; chosen with
    /// [`crate::train::EVAL_SUBSET_SEED`], not the training seed, so every
    /// run on a data set uses the same images); the whole test set is still
    /// evaluated after the last epoch. `None`: the curve uses the whole test
    /// set. Absent from the JSON when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eval_subset: Option<u32>,
    /// libtorch intra-op threads (`None`: libtorch's default).
    pub threads: Option<u32>,
    pub out: Option<PathBuf>,
    pub quiet: bool,
}

impl TrainConfig {
    /// The defaults of `augkit train` for a data set and model.
    pub fn new(dataset: impl Into<String>, model: ModelKind) -> Self {
        Self {
            dataset: dataset.into(),
            data_dir: PathBuf::from("data"),
            data_options: None,
            model,
            policy_file: None,
            policy: augkit::Policy::identity(),
            epochs: 50,
            steps: None,
            batch_size: 64,
            lr: 1e-3,
            weight_decay: 1e-4,
            optimizer: OptimizerKind::Adam,
            momentum: 0.9,
            schedule: Schedule::Constant,
            warmup_epochs: 1.0,
            train_limit: TrainLimit::All,
            seed: 0,
            backend: BackendChoice::Auto,
            device: DeviceChoice::Cpu,
            eval_batch_size: 256,
            eval_every: 1,
            eval_subset: None,
            threads: None,
            out: None,
            quiet: false,
        }
    }

    /// Checks every number (see the module comment for where it runs).
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |flag: &'static str, value: String, expected: &'static str| {
            Err(ConfigError::Invalid {
                flag,
                value,
                expected,
            })
        };
        if self.epochs == 0 {
            return bad("--epochs", self.epochs.to_string(), "at least 1");
        }
        if let Some(steps) = self.steps
            && !(1..=crate::train::MAX_TOTAL_STEPS).contains(&steps)
        {
            return bad(
                "--steps",
                steps.to_string(),
                "1 to 1000000 (every step's timings are kept and checkpointed)",
            );
        }
        if self.batch_size < 2 {
            return bad(
                "--batch-size",
                self.batch_size.to_string(),
                "at least 2 (BatchNorm needs 2 samples)",
            );
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad("--lr", self.lr.to_string(), "a finite number > 0");
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return bad(
                "--weight-decay",
                self.weight_decay.to_string(),
                "a finite number ≥ 0",
            );
        }
        if !(self.momentum.is_finite() && (0.0..1.0).contains(&self.momentum)) {
            return bad("--momentum", self.momentum.to_string(), "in [0, 1)");
        }
        if !(self.warmup_epochs.is_finite() && self.warmup_epochs >= 0.0) {
            return bad(
                "--warmup-epochs",
                self.warmup_epochs.to_string(),
                "a finite number ≥ 0",
            );
        }
        match self.train_limit {
            TrainLimit::PerClass(0) => return bad("--train-per-class", "0".into(), "at least 1"),
            TrainLimit::Fraction(f) if !(f.is_finite() && f > 0.0 && f <= 1.0) => {
                return bad("--train-fraction", f.to_string(), "in (0, 1]");
            }
            _ => {}
        }
        if self.eval_subset == Some(0) {
            return bad("--eval-subset", "0".into(), "at least 1");
        }
        if self.eval_batch_size == 0 {
            return bad("--eval-batch-size", "0".into(), "at least 1");
        }
        if self.epochs > MAX_EPOCHS {
            return bad(
                "--epochs",
                self.epochs.to_string(),
                "at most 10000 (every epoch's curve and step timings are kept and checkpointed)",
            );
        }
        if let Some(threads) = self.threads {
            let limit = max_threads();
            if threads == 0 || threads > limit {
                return Err(ConfigError::Threads { threads, limit });
            }
        }
        check_output_range(&self.policy.output)?;
        let smoothing = self.label_smoothing();
        if !(smoothing.is_finite() && (0.0..1.0).contains(&smoothing)) {
            return Err(ConfigError::Policy(format!(
                "mix.label_smoothing is {smoothing}, outside [0, 1)"
            )));
        }
        if let Some(out) = &self.out
            && out.is_dir()
        {
            return bad(
                "--out",
                out.display().to_string(),
                "a file path, not a directory",
            );
        }
        Ok(())
    }

    /// The policy's label smoothing (0 without a `[mix]` table).
    pub fn label_smoothing(&self) -> f64 {
        self.policy
            .mix
            .as_ref()
            .map_or(0.0, |m| f64::from(m.label_smoothing))
    }
}

/// Most epochs a run may have (the step budget in
/// [`crate::train::MAX_TOTAL_STEPS`] may bind first).
pub const MAX_EPOCHS: u32 = 10_000;

/// `--threads` may be at most this many times the cores the machine has.
pub const THREADS_PER_CORE: u32 = 4;

/// Largest normalised value (in magnitude) a policy's `[output]` may
/// produce from a pixel in [0, 1]: real normalisations stay within ±10; far
/// beyond this the model's first layers overflow and the loss becomes NaN.
pub const MAX_NORMALISED: f64 = 1e6;

/// The most libtorch threads `--threads` accepts here.
pub fn max_threads() -> u32 {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
    cores.saturating_mul(THREADS_PER_CORE)
}

/// Checks that the policy's output normalisation `(x − mean) / std` keeps
/// every pixel `x ∈ [0, 1]` finite in its dtype and within
/// [`MAX_NORMALISED`] (std 1e-45, mean 1e38, f16 overflow: each would give a
/// NaN loss that no learning rate can fix).
pub fn check_output_range(output: &augkit::policy::Output) -> Result<(), ConfigError> {
    let (dtype, dtype_max) = match output.dtype {
        augkit::policy::DType::F32 => ("f32", f64::from(f32::MAX)),
        augkit::policy::DType::F16 => ("f16", f64::from(half::f16::MAX)),
        augkit::policy::DType::Bf16 => ("bf16", f64::from(half::bf16::MAX)),
    };
    let channels = output.mean.len().max(output.std.len()).max(1);
    for c in 0..channels {
        let mean = f64::from(output.mean.get(c).copied().unwrap_or(0.0));
        let std = f64::from(output.std.get(c).copied().unwrap_or(1.0));
        if !(mean.is_finite() && std.is_finite() && std > 0.0) {
            // The policy's own validation names these.
            continue;
        }
        // f32 arithmetic as the kernels do it: 1/std can overflow on its own.
        let largest = [0.0f64, 1.0]
            .iter()
            .map(|x| ((x - mean) as f32 / std as f32).abs())
            .fold(0.0f32, f32::max);
        let largest = f64::from(largest);
        if !largest.is_finite() || largest > dtype_max || largest > MAX_NORMALISED {
            let limit = dtype_max.min(MAX_NORMALISED);
            return Err(ConfigError::Normalisation {
                channel: c,
                mean,
                std,
                largest,
                dtype,
                limit,
            });
        }
    }
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "--threads is {threads}; expected 1 to {limit} ({THREADS_PER_CORE} per core of this machine)"
    )]
    Threads { threads: u32, limit: u32 },
    #[error(
        "invalid policy: output channel {channel} (mean {mean:e}, std {std:e}) normalises pixel \
         values to up to ±{largest:e}, beyond ±{limit:e} for a {dtype} output; the loss would be \
         NaN whatever the learning rate — use a mean in [0, 1] and a std of about 0.1–1"
    )]
    Normalisation {
        channel: usize,
        mean: f64,
        std: f64,
        largest: f64,
        dtype: &'static str,
        limit: f64,
    },
    #[error("{flag} is {value}; expected {expected}")]
    Invalid {
        flag: &'static str,
        value: String,
        expected: &'static str,
    },
    #[error("invalid policy: {0}")]
    Policy(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_match_the_issue() {
        let c = TrainConfig::new("cifar10", ModelKind::Resnet18);
        c.validate().unwrap();
        assert_eq!(
            (c.epochs, c.batch_size, c.lr, c.weight_decay),
            (50, 64, 1e-3, 1e-4)
        );
        assert_eq!(c.optimizer, OptimizerKind::Adam);
    }

    #[test]
    fn rejects_bad_numbers_naming_the_flag() {
        let base = TrainConfig::new("mnist", ModelKind::SimpleCnn);
        let cases: Vec<(TrainConfig, &str)> = vec![
            (
                TrainConfig {
                    epochs: 0,
                    ..base.clone()
                },
                "--epochs",
            ),
            (
                TrainConfig {
                    batch_size: 1,
                    ..base.clone()
                },
                "--batch-size",
            ),
            (
                TrainConfig {
                    lr: f64::NAN,
                    ..base.clone()
                },
                "--lr",
            ),
            (
                TrainConfig {
                    lr: -1.0,
                    ..base.clone()
                },
                "--lr",
            ),
            (
                TrainConfig {
                    weight_decay: -1e-4,
                    ..base.clone()
                },
                "--weight-decay",
            ),
            (
                TrainConfig {
                    momentum: 1.0,
                    ..base.clone()
                },
                "--momentum",
            ),
            (
                TrainConfig {
                    train_limit: TrainLimit::Fraction(1.5),
                    ..base.clone()
                },
                "--train-fraction",
            ),
            (
                TrainConfig {
                    train_limit: TrainLimit::PerClass(0),
                    ..base.clone()
                },
                "--train-per-class",
            ),
            (
                TrainConfig {
                    steps: Some(0),
                    ..base.clone()
                },
                "--steps",
            ),
            (
                TrainConfig {
                    steps: Some(crate::train::MAX_TOTAL_STEPS + 1),
                    ..base.clone()
                },
                "--steps",
            ),
        ];
        for (config, flag) in cases {
            let e = config.validate().unwrap_err().to_string();
            assert!(e.starts_with(flag), "{e}");
        }
    }
}
