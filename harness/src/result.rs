//! The JSON a training run writes (`--out`): every figure with a `method`
//! saying how it was measured. `docs/HARNESS.md` documents each field.

use serde::{Deserialize, Serialize};

use crate::config::TrainConfig;
use crate::metrics::Classification;

/// Bumped whenever a field changes meaning or disappears.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Every epoch ran and the test set was evaluated.
    Completed,
    /// The run stopped early; `error` says why (e.g. a non-finite loss).
    Failed,
}

/// Everything one `augkit train` run measured.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunResult {
    pub schema_version: u32,
    pub status: Status,
    pub error: Option<String>,
    pub provenance: Provenance,
    pub config: TrainConfig,
    pub data: DataSummary,
    pub model: ModelSummary,
    /// Test-set figures after the last epoch (`None` when the run failed).
    pub test: Option<TestFigures>,
    pub timing: Timing,
    pub memory: Memory,
    pub inference: Option<Inference>,
    /// One record per completed epoch.
    pub curves: Vec<EpochRecord>,
    /// The test images `curves[].test_accuracy` was measured on, when the
    /// run had `--eval-subset`; absent: the whole test set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub curve_test_set: Option<CurveTestSet>,
    /// When the run was resumed from a checkpoint: the epochs it had
    /// completed then (the latest resume). `None` for an uninterrupted run.
    #[serde(default)]
    pub resumed_from_epoch: Option<u32>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Provenance {
    pub augkit_version: String,
    /// `git rev-parse HEAD` of the source tree the binary was built from,
    /// if that tree is still there at run time.
    pub git_commit: Option<String>,
    pub git_dirty: Option<bool>,
    /// PyTorch version of the libtorch linked in (from its `version.py`).
    pub torch_version: String,
    pub tch_version: String,
    /// Where the model ran: `cpu` or `cuda:N (name)`.
    pub device: String,
    /// libtorch intra-op threads during the run.
    pub torch_threads: i32,
    pub backend: BackendSelection,
    pub command_line: Vec<String>,
    /// Seconds since the Unix epoch when the run started.
    pub started_unix_s: u64,
    pub hostname: Option<String>,
}

/// Which augmentation backend ran, and why.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BackendSelection {
    pub requested: String,
    pub chosen: augkit::BackendKind,
    /// The backend's own description of its device or adapter.
    pub device: String,
    pub note: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DataSummary {
    pub dataset: String,
    pub channels: u32,
    pub height: u32,
    pub width: u32,
    pub num_classes: u32,
    pub class_names: Vec<String>,
    /// Images in the loaded training split.
    pub train_available: u64,
    /// Images in the (possibly limited) training subset, i.e. per epoch.
    pub train_used: u64,
    /// Training-subset images per class.
    pub train_per_class: Vec<u64>,
    pub test_samples: u64,
    /// Where the files were read from (folder or package and format), as
    /// the log said it; `None` for data handed in by a caller.
    #[serde(default)]
    pub source: Option<String>,
    pub method: String,
    /// Where a `folder:`/`parquet:`/`npz:` data set came from and what was
    /// done to it (absent for the named data sets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<augkit_data::SourceProvenance>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ModelSummary {
    pub kind: crate::models::ModelKind,
    pub parameters: i64,
    pub description: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TestFigures {
    #[serde(flatten)]
    pub figures: Classification,
    pub method: String,
}

/// Summary of one per-step quantity, in seconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Distribution {
    pub total_s: f64,
    pub mean_s: f64,
    pub median_s: f64,
    pub p05_s: f64,
    pub p95_s: f64,
    pub min_s: f64,
    pub max_s: f64,
}

impl Distribution {
    pub fn of(samples: &[f64]) -> Self {
        if samples.is_empty() {
            return Self::default();
        }
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        let quantile = |q: f64| sorted[((sorted.len() - 1) as f64 * q).round() as usize];
        let total: f64 = samples.iter().sum();
        Self {
            total_s: total,
            mean_s: total / samples.len() as f64,
            median_s: quantile(0.5),
            p05_s: quantile(0.05),
            p95_s: quantile(0.95),
            min_s: sorted[0],
            max_s: sorted[sorted.len() - 1],
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Timing {
    pub method: String,
    pub clock: String,
    /// Optimiser steps run.
    pub steps: u64,
    /// Training samples processed (sum of batch sizes).
    pub samples: u64,
    /// Wall time of all training epochs, evaluation between epochs excluded.
    pub train_wall_s: f64,
    /// Wall time of the whole run, from start to result (everything included).
    pub total_wall_s: f64,
    /// Producing each batch: augmentation into the input tensor plus labels.
    pub augmentation: Distribution,
    /// Forward + loss + backward + optimiser step (+ reading the loss).
    pub model: Distribution,
    /// One whole step, bookkeeping included: ≥ augmentation + model.
    pub step: Distribution,
    /// augmentation.total_s / (augmentation.total_s + model.total_s).
    pub augmentation_share: f64,
    pub fixed: FixedCosts,
    /// Test-set evaluations between epochs (for the curves), in total.
    pub epoch_eval_s: f64,
}

/// One-off costs, kept apart from the per-step figures.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct FixedCosts {
    /// Reading/generating the data set and choosing the subset.
    pub data_load_s: f64,
    /// Building `augkit::Dataset` (the training set as the backend holds it).
    pub dataset_upload_s: f64,
    /// Constructing the augmentation backend (policy compile, device setup).
    pub backend_construction_s: f64,
    /// Building the model and optimiser.
    pub model_construction_s: f64,
    /// Normalising the test set and moving it to the device.
    pub test_set_upload_s: f64,
    /// Fitting the synthetic-sample model (the per-class PCA) when the
    /// policy has `[synthetic]`; not part of `backend_construction_s`.
    #[serde(default)]
    pub synthetic_fit_s: Option<f64>,
    /// The learned generator (or PCA / file pool) the cell's synthetic pool
    /// came from, with its fit and sampling time as first measured: charged
    /// to every cell that uses the pool, whether this run fitted it or found
    /// it cached (`crate::generate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generator: Option<crate::generate::pool::GeneratorCost>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Memory {
    pub method: String,
    /// Peak resident set size (`VmHWM`) at the end of the run, counted from
    /// the run's start when `peak_is_per_run` (earlier runs in the same
    /// process excluded), else over the process's life.
    pub peak_host_rss_bytes: Option<u64>,
    /// Resident set size just before the first training step.
    pub host_rss_before_training_bytes: Option<u64>,
    /// Whether the high-water mark was reset at the run's start (false in
    /// results written before the reset existed).
    #[serde(default)]
    pub peak_is_per_run: bool,
    /// Resident set size at the run's start, after the reset: what the
    /// process held before this run (libraries, an experiment's loaded data).
    #[serde(default)]
    pub host_rss_at_start_bytes: Option<u64>,
    /// augkit's own resident memory, apart from libtorch's.
    #[serde(default)]
    pub augmentation: Option<AugmentationMemory>,
    /// Peak device allocator memory; `None` on CPU (see `device_note`).
    pub peak_device_bytes: Option<u64>,
    pub device_note: String,
}

/// The fixed stratified test subset the per-epoch curve was evaluated on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CurveTestSet {
    /// Images in the subset (of `data.test_samples`).
    pub images: u64,
    pub per_class: Vec<u64>,
    /// The subset's seed: a constant, not the run's seed.
    pub seed: u64,
    /// SHA-256 of the sorted test indices (u32 little-endian): equal in
    /// every run whose curve used the same images.
    pub indices_sha256: String,
    pub method: String,
}

/// What the augmentation itself keeps resident, apart from libtorch's
/// tensors (the batch tensor, the model, the test set).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AugmentationMemory {
    pub method: String,
    /// The training set as augkit holds it: pixels, labels, the per-image
    /// grey means, and the subset's indices (counted, not measured).
    pub dataset_bytes: u64,
    /// Resident growth while the backend was built: the compiled policy,
    /// the synthetic pool and its fit, device set-up (measured).
    pub backend_bytes: Option<u64>,
    /// Resident growth over the first batch beyond the batch tensor itself:
    /// per-thread scratch and lazily built state (measured; 0 when an earlier
    /// run in the process left them in place).
    pub first_batch_bytes: Option<u64>,
    /// The sum of the three (measured parts counted as 0 when unknown).
    pub total_bytes: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Inference {
    pub method: String,
    pub samples: u64,
    pub batch_size: u32,
    pub wall_s: f64,
    pub samples_per_s: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EpochRecord {
    /// 1-based.
    pub epoch: u32,
    /// Learning rate of the epoch's last step.
    pub lr: f64,
    /// Mean training loss over the epoch's steps (soft-label loss).
    pub train_loss: f64,
    /// Training accuracy against each sample's dominant label (λ ≥ ½ → a).
    pub train_accuracy: f64,
    /// Test accuracy after this epoch, where evaluated (`--eval-every`), on
    /// the curve's test images (`RunResult::curve_test_set`).
    pub test_accuracy: Option<f64>,
    pub wall_s: f64,
    pub augmentation_s: f64,
    pub model_s: f64,
}

/// Results are written atomically by the harness's one helper.
pub use crate::atomic::write_json_atomic;

/// More bytes than the `result.json` of a run of `epochs` epochs on one of
/// the harness's 10-class data sets takes (≈ 10 KB plus ≈ 300 bytes per
/// epoch): what `augkit train` checks `--out` can take before it loads
/// anything, so a nearly full disk refuses the run instead of losing it.
pub fn size_bound(epochs: u32) -> u64 {
    (64 << 10) + 512 * u64::from(epochs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distribution_summarises() {
        let d = Distribution::of(&[3.0, 1.0, 2.0, 4.0, 5.0]);
        assert_eq!(
            (d.total_s, d.mean_s, d.median_s, d.min_s, d.max_s),
            (15.0, 3.0, 3.0, 1.0, 5.0)
        );
        assert_eq!(Distribution::of(&[]), Distribution::default());
    }
}
