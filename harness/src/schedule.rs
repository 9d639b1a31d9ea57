//! Learning-rate schedules as pure functions of the step (`--schedule`).

use serde::{Deserialize, Serialize};

/// The learning-rate schedule. Every schedule is evaluated per optimiser step
/// (not per epoch), so a warm-up of a fraction of an epoch works.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Schedule {
    /// `lr` throughout.
    #[default]
    Constant,
    /// Linear warm-up from 0 to `lr` over the warm-up steps, then linear decay
    /// to 0 at the last step.
    Linear,
    /// Linear warm-up (if any), then cosine annealing from `lr` to 0.
    Cosine,
}

/// The learning rate for optimiser step `step` (0-based) of `total_steps`,
/// with `warmup_steps` of linear warm-up (ignored by [`Schedule::Constant`]).
///
/// Warm-up step `s` uses `lr·(s+1)/warmup_steps`, so the first step is never
/// taken with a zero rate; after warm-up, progress `p` runs from 0 at the
/// first post-warm-up step towards 1 at the last step.
pub fn learning_rate(
    schedule: Schedule,
    base_lr: f64,
    step: u64,
    total_steps: u64,
    warmup_steps: u64,
) -> f64 {
    if schedule == Schedule::Constant {
        return base_lr;
    }
    let warmup_steps = warmup_steps.min(total_steps);
    if step < warmup_steps {
        return base_lr * (step + 1) as f64 / warmup_steps as f64;
    }
    let decay_steps = total_steps.saturating_sub(warmup_steps).max(1);
    let progress = ((step - warmup_steps) as f64 / decay_steps as f64).clamp(0.0, 1.0);
    match schedule {
        Schedule::Constant => base_lr,
        Schedule::Linear => base_lr * (1.0 - progress),
        Schedule::Cosine => base_lr * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_ignores_warmup() {
        for step in [0, 5, 99] {
            assert_eq!(learning_rate(Schedule::Constant, 0.1, step, 100, 10), 0.1);
        }
    }

    #[test]
    fn linear_warms_up_then_decays_to_zero() {
        let lr = |s| learning_rate(Schedule::Linear, 1.0, s, 110, 10);
        assert!((lr(0) - 0.1).abs() < 1e-12);
        assert!((lr(9) - 1.0).abs() < 1e-12);
        assert!((lr(10) - 1.0).abs() < 1e-12);
        assert!((lr(60) - 0.5).abs() < 1e-12);
        assert!(lr(109) > 0.0 && lr(109) < 0.011);
        assert!(lr(110) == 0.0);
    }

    #[test]
    fn cosine_is_monotone_after_warmup() {
        let lrs: Vec<f64> = (0..50)
            .map(|s| learning_rate(Schedule::Cosine, 2.0, s, 50, 0))
            .collect();
        assert!((lrs[0] - 2.0).abs() < 1e-12);
        assert!(lrs.windows(2).all(|w| w[1] <= w[0]));
        assert!((learning_rate(Schedule::Cosine, 2.0, 25, 50, 0) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn warmup_longer_than_the_run_is_clamped() {
        assert!((learning_rate(Schedule::Cosine, 1.0, 4, 5, 100) - 1.0).abs() < 1e-12);
    }
}
