//! What a technique costs, measured so that it holds on a noisy machine: its
//! augmentation time summed over the training steps (timed apart from the
//! model, `timing.augmentation.total_s`) plus its technique-specific fixed
//! costs (`timing.fixed.synthetic_fit_s`, the per-class PCA fit, and
//! `timing.fixed.generator`, a learned generator's fit and sampling). The model's
//! compute is the same work in every cell, so whole wall times, which on a
//! shared machine mostly measure the neighbours, do not enter it.
//!
//! Also the budget view: the test accuracy a technique had reached once it
//! had spent the baseline's training compute, counting every epoch as the
//! baseline's mean model time per epoch plus the technique's own measured
//! augmentation time of that epoch (mean over its seeds, so that timing
//! noise in one seed does not move the epoch).

use crate::result::RunResult;

/// Added cost (percent of the baseline's step time) up to which a technique
/// counts as free; also the slack allowed on the equal-compute budget.
pub const FREE_OVERHEAD_PCT: f64 = 1.0;

/// Technique-specific fixed costs of a run, in seconds.
pub fn fixed_s(r: &RunResult) -> f64 {
    r.timing.fixed.synthetic_fit_s.unwrap_or(0.0)
        + r.timing
            .fixed
            .generator
            .as_ref()
            .map_or(0.0, |g| g.total_s())
}

/// A run's augmentation cost: augmentation time over all steps + fixed costs.
pub fn augmentation_cost_s(r: &RunResult) -> f64 {
    r.timing.augmentation.total_s + fixed_s(r)
}

/// The mean over `runs` of the augmentation time spent by the end of each
/// epoch, fixed costs included: `[(epoch, seconds)]` for the epochs every
/// run reached.
fn mean_cumulative_augmentation(runs: &[&RunResult]) -> Vec<(u32, f64)> {
    let epochs = runs.iter().map(|r| r.curves.len()).min().unwrap_or(0);
    let n = runs.len() as f64;
    let mut spent = runs.iter().map(|r| fixed_s(r)).sum::<f64>() / n;
    (0..epochs)
        .map(|k| {
            spent += runs.iter().map(|r| r.curves[k].augmentation_s).sum::<f64>() / n;
            (runs[0].curves[k].epoch, spent)
        })
        .collect()
}

/// The baseline's training compute, the budget of the equal-compute view.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Budget {
    /// Mean model time per epoch over the baseline's runs (seconds).
    pub model_per_epoch_s: f64,
    /// Its epochs × that model time + its mean augmentation cost (seconds).
    pub total_s: f64,
}

impl Budget {
    /// From the baseline's runs; `None` without any run with epochs.
    pub fn of(baseline: &[&RunResult]) -> Option<Self> {
        let runs: Vec<&RunResult> = baseline
            .iter()
            .copied()
            .filter(|r| !r.curves.is_empty())
            .collect();
        if runs.is_empty() {
            return None;
        }
        let model_per_epoch_s = runs
            .iter()
            .map(|r| r.curves.iter().map(|e| e.model_s).sum::<f64>() / r.curves.len() as f64)
            .sum::<f64>()
            / runs.len() as f64;
        let cumulative = mean_cumulative_augmentation(&runs);
        let &(_, augmentation) = cumulative.last()?;
        Some(Self {
            model_per_epoch_s,
            total_s: cumulative.len() as f64 * model_per_epoch_s + augmentation,
        })
    }

    /// The last epoch a technique's runs reach within the budget (plus the
    /// free margin), each epoch charged the baseline's model time plus the
    /// runs' mean augmentation time of that epoch, and the test accuracies
    /// of the runs that evaluated it; `None` when no evaluated epoch fits.
    pub fn reached(&self, runs: &[&RunResult]) -> Option<(u32, Vec<f64>)> {
        if runs.is_empty() {
            return None;
        }
        let limit = self.total_s * (1.0 + FREE_OVERHEAD_PCT / 100.0);
        let mut reached = None;
        for (k, (epoch, augmentation)) in mean_cumulative_augmentation(runs).into_iter().enumerate()
        {
            if (k + 1) as f64 * self.model_per_epoch_s + augmentation > limit {
                break;
            }
            let accuracies: Vec<f64> = runs
                .iter()
                .filter_map(|r| r.curves[k].test_accuracy)
                .collect();
            if !accuracies.is_empty() {
                reached = Some((epoch, accuracies));
            }
        }
        reached
    }
}
