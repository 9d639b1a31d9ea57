//! The report's row: one technique on one data set at one training-set
//! size, over its seeds, and its verdict against the baseline. Its own file
//! so that the aggregation ([`super::summary`]) and the judgement
//! ([`super::rule`]) both read it without importing each other.

use serde::Serialize;

use super::stats::{PairedTest, Stat};
use super::worth::Equivalent;

/// How a technique compares with the baseline of its group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The row is the baseline.
    Baseline,
    /// Holm-adjusted paired t-test p < α, mean difference > 0.
    Better,
    /// Holm-adjusted paired t-test p < α, mean difference < 0.
    Worse,
    NoSignificantDifference,
    /// Fewer than 2 seeds paired with the baseline, or no baseline.
    NotTested,
}

/// One technique on one data set at one training-set size, over its seeds.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub dataset: String,
    /// The training-set limit of the group, in words (`all`, `50 per class`).
    pub train_limit: String,
    /// `data.train_used`: training images per epoch.
    pub train_images: Stat,
    /// `timing.steps`: optimiser steps of the run.
    pub steps: Stat,
    pub technique: String,
    pub seeds: Vec<u64>,
    /// Test accuracy as a fraction in [0, 1].
    pub accuracy: Stat,
    /// 95 % confidence interval of the mean accuracy (Student t; `None` for one seed).
    pub accuracy_ci95: Option<[f64; 2]>,
    pub macro_f1: Stat,
    /// Mean accuracy minus the baseline's mean (fraction; `None` without a baseline).
    pub accuracy_change: Option<f64>,
    pub macro_f1_change: Option<f64>,
    /// The paired t-test against the baseline (`None`: baseline, or no test
    /// possible), with its Holm-adjusted p-value.
    pub paired: Option<PairedTest>,
    pub verdict: Verdict,
    /// Augmentation time over all steps + technique-specific fixed costs (s).
    pub augmentation_cost_s: Stat,
    /// `timing.fixed.synthetic_fit_s` plus `timing.fixed.generator`'s fit and
    /// sampling seconds (0 when absent).
    pub fixed_cost_s: Stat,
    /// Mean cost minus the baseline's mean cost, in percent of the
    /// baseline's mean `timing.step.total_s`.
    pub added_cost_pct: Option<f64>,
    /// `timing.train_wall_s`: the training epochs' wall time (information only).
    pub train_time_s: Stat,
    /// Mean training time minus the baseline's, in percent of the baseline's.
    pub added_train_time_pct: Option<f64>,
    /// `timing.augmentation.mean_s` (seconds per step).
    pub augmentation_per_step_s: Stat,
    /// `timing.augmentation.total_s / timing.step.total_s` (fraction of the step).
    pub augmentation_share_of_step: Stat,
    /// `timing.model.mean_s` (seconds per step).
    pub model_per_step_s: Stat,
    /// Test accuracy at the last epoch reached within the baseline's
    /// training compute ([`Budget`]), over the seeds that evaluated it.
    pub accuracy_at_baseline_compute: Option<Stat>,
    /// That epoch.
    pub epoch_at_baseline_compute: Option<u32>,
    /// `Some(true)`: every seed converged; `Some(false)`: some seed still
    /// improving; `None`: unknown for every seed that is not still improving.
    pub converged: Option<bool>,
    /// Seeds still improving at the last epoch.
    pub not_converged_seeds: Vec<u64>,
    /// Seeds whose convergence cannot be told (too few evaluated epochs).
    pub convergence_unknown_seeds: Vec<u64>,
    /// Largest `memory.peak_host_rss_bytes` over the seeds.
    pub peak_host_rss_bytes: Option<u64>,
    /// Largest `memory.peak_device_bytes` over the seeds (null on CPU).
    pub peak_device_bytes: Option<u64>,
    /// `inference.samples_per_s`.
    pub inference_samples_per_s: Stat,
    /// `provenance.backend.chosen` of the runs.
    pub backends: Vec<String>,
    /// Mean test accuracy per epoch over the seeds that evaluated it: `[epoch, accuracy]`.
    pub test_accuracy_curve: Vec<[f64; 2]>,
    pub pareto: bool,
    /// What the row's accuracy is worth in real training images on the
    /// baseline's size curve at the same step budget ([`super::worth`]);
    /// `None` where no such curve was measured.
    pub real_image_equivalent: Option<Equivalent>,
}
