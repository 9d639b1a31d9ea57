//! What a technique costs, measured so that it holds on a noisy machine: its
//! augmentation time summed over the training steps (timed apart from the
//! model, `timing.augmentation.total_s`) plus its technique-specific fixed
//! costs (`timing.fixed.synthetic_fit_s`, the per-class PCA fit). The model's
//! compute is the same work in every cell, so whole wall times, which on a
//! shared machine mostly measure the neighbours, do not enter it.
//!
//! Also the budget view: the test accuracy each run had reached once it had
//! spent the baseline's training compute, counting every epoch as the
//! baseline's mean model time per epoch plus the run's own measured
//! augmentation time of that epoch.

use crate::result::RunResult;

/// Added cost (percent of the baseline's step time) up to which a technique
/// counts as free; also the slack allowed on the equal-compute budget.
pub const FREE_OVERHEAD_PCT: f64 = 1.0;

/// Technique-specific fixed costs of a run, in seconds.
pub fn fixed_s(r: &RunResult) -> f64 {
    r.timing.fixed.synthetic_fit_s.unwrap_or(0.0)
}

/// A run's augmentation cost: augmentation time over all steps + fixed costs.
pub fn augmentation_cost_s(r: &RunResult) -> f64 {
    r.timing.augmentation.total_s + fixed_s(r)
}

/// The baseline's training compute, the budget of the equal-compute view.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Budget {
    /// Mean model time per epoch over the baseline's runs (seconds).
    pub model_per_epoch_s: f64,
    /// Mean of (epochs × model time per epoch + augmentation cost) over the
    /// baseline's runs (seconds).
    pub total_s: f64,
}

impl Budget {
    /// From the baseline's runs; `None` without any run with epochs.
    pub fn of(baseline: &[&RunResult]) -> Option<Self> {
        let runs: Vec<&&RunResult> = baseline.iter().filter(|r| !r.curves.is_empty()).collect();
        if runs.is_empty() {
            return None;
        }
        let n = runs.len() as f64;
        let model_per_epoch_s = runs
            .iter()
            .map(|r| r.curves.iter().map(|e| e.model_s).sum::<f64>() / r.curves.len() as f64)
            .sum::<f64>()
            / n;
        let total_s = runs
            .iter()
            .map(|r| {
                r.curves.len() as f64 * model_per_epoch_s
                    + r.curves.iter().map(|e| e.augmentation_s).sum::<f64>()
                    + fixed_s(r)
            })
            .sum::<f64>()
            / n;
        Some(Self {
            model_per_epoch_s,
            total_s,
        })
    }

    /// `(epoch, test accuracy)` of the last evaluated epoch of `r` whose
    /// cumulative compute stays within the budget (plus the free margin);
    /// `None` when no evaluated epoch does.
    pub fn reached(&self, r: &RunResult) -> Option<(u32, f64)> {
        let limit = self.total_s * (1.0 + FREE_OVERHEAD_PCT / 100.0);
        let mut spent = fixed_s(r);
        let mut reached = None;
        for e in &r.curves {
            spent += self.model_per_epoch_s + e.augmentation_s;
            if spent > limit {
                break;
            }
            if let Some(a) = e.test_accuracy {
                reached = Some((e.epoch, a));
            }
        }
        reached
    }
}
