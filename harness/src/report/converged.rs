//! Whether a run had stopped improving by its last epoch. Definition: take
//! the test accuracies of the evaluated epochs; the *last fifth* is the last
//! ⌈E/5⌉ of the run's E epochs. The run is **still improving** (not
//! converged) when the best test accuracy in the last fifth exceeds the best
//! before it by more than [`MARGIN`] (0.5 pp); **converged** otherwise; and
//! **unknown** when either part has no evaluated epoch (e.g. 1 epoch, or
//! `--eval-every 0`).

use serde::Serialize;

use crate::result::EpochRecord;

/// Accuracy (fraction) by which the last fifth's best may exceed the
/// earlier best and the run still count as converged: 0.5 pp.
pub const MARGIN: f64 = 0.005;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Convergence {
    Converged,
    StillImproving,
    Unknown,
}

/// The convergence of one run from its per-epoch records.
pub fn of(curves: &[EpochRecord]) -> Convergence {
    let Some(epochs) = curves.iter().map(|e| e.epoch).max() else {
        return Convergence::Unknown;
    };
    let last_fifth = epochs.div_ceil(5);
    let split = epochs - last_fifth;
    let best = |keep: &dyn Fn(u32) -> bool| {
        curves
            .iter()
            .filter(|e| keep(e.epoch))
            .filter_map(|e| e.test_accuracy)
            .fold(None, |m: Option<f64>, a| Some(m.map_or(a, |m| m.max(a))))
    };
    match (best(&|e| e <= split), best(&|e| e > split)) {
        (Some(early), Some(late)) if late > early + MARGIN => Convergence::StillImproving,
        (Some(_), Some(_)) => Convergence::Converged,
        _ => Convergence::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn curve(accuracies: &[Option<f64>]) -> Vec<EpochRecord> {
        accuracies
            .iter()
            .enumerate()
            .map(|(i, &a)| EpochRecord {
                epoch: i as u32 + 1,
                lr: 1e-3,
                train_loss: 1.0,
                train_accuracy: 0.5,
                test_accuracy: a,
                wall_s: 1.0,
                augmentation_s: 0.1,
                model_s: 0.8,
            })
            .collect()
    }

    #[test]
    fn definition() {
        // 10 epochs: the last fifth is epochs 9–10.
        let plateau = [0.5, 0.7, 0.8, 0.85, 0.86, 0.87, 0.87, 0.872, 0.874, 0.876];
        let rising = [0.5, 0.6, 0.65, 0.7, 0.72, 0.74, 0.76, 0.78, 0.80, 0.82];
        let some = |v: &[f64]| v.iter().map(|&a| Some(a)).collect::<Vec<_>>();
        // Best late 0.876 vs best early 0.872: +0.4 pp ≤ 0.5 pp.
        assert_eq!(of(&curve(&some(&plateau))), Convergence::Converged);
        // Best late 0.82 vs 0.78: +4 pp.
        assert_eq!(of(&curve(&some(&rising))), Convergence::StillImproving);
        // Just over the margin: 0.806 vs 0.80 (+0.6 pp).
        let edge = [0.5, 0.7, 0.75, 0.78, 0.79, 0.80, 0.80, 0.80, 0.79, 0.806];
        assert_eq!(of(&curve(&some(&edge))), Convergence::StillImproving);
        // Just within it: 0.804 vs 0.80 (+0.4 pp).
        let mut within = edge;
        within[9] = 0.804;
        assert_eq!(of(&curve(&some(&within))), Convergence::Converged);
        // A fall at the end is converged (nothing still improving).
        assert_eq!(
            of(&curve(&some(&[0.5, 0.8, 0.9, 0.7]))),
            Convergence::Converged
        );
        // Only the last epoch evaluated, or one epoch: cannot tell.
        assert_eq!(
            of(&curve(&[None, None, None, None, Some(0.9)])),
            Convergence::Unknown
        );
        assert_eq!(of(&curve(&[Some(0.9)])), Convergence::Unknown);
        assert_eq!(of(&[]), Convergence::Unknown);
        // 4 epochs: the last fifth is epoch 4 alone.
        assert_eq!(
            of(&curve(&some(&[0.5, 0.6, 0.7, 0.8]))),
            Convergence::StillImproving
        );
    }
}
