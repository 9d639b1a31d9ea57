//! `--baseline-sizes`: the baseline (`none`) also at other training-set
//! sizes, each cell with the main size's optimiser-step budget, so that the
//! report can read a technique's worth in real images off the baseline's
//! accuracy-vs-size curve at equal compute (Geiping et al. 2023, "How much
//! data are augmentations worth?").

use crate::train::steps_per_epoch;

/// The technique that runs at the baseline sizes.
pub const BASELINE_TECHNIQUE: &str = "none";

/// Classes of a data set whose sizes the plan must count before loading it
/// (every data set the harness names has ten); `None`: unknown.
pub fn class_count(dataset: &str) -> Option<u32> {
    match dataset {
        "cifar10" | "fashion-mnist" | "mnist" => Some(10),
        d if d.starts_with("synthetic-shapes") => Some(10),
        _ => None,
    }
}

/// Training images per class a data set has, where the plan knows it
/// without loading it (the generated sets).
pub fn available_per_class(dataset: &str) -> Option<u32> {
    dataset
        .starts_with("synthetic-shapes")
        .then_some(super::SYNTHETIC_28_PER_CLASS.0 as u32)
}

/// Optimiser steps of `epochs` epochs over `per_class` images of each of
/// `classes` classes in batches of `batch` (the training loop's count).
pub fn step_budget(per_class: u32, classes: u32, batch: u32, epochs: u32) -> u64 {
    u64::from(steps_per_epoch(per_class.saturating_mul(classes), batch)) * u64::from(epochs)
}

/// The warm-up, in epochs of a `per_class`-sized cell, that lasts as many
/// steps as `warmup_epochs` epochs of a `main_per_class`-sized one: the
/// schedule is the same function of the step in every cell.
pub fn equal_warmup(
    warmup_epochs: f64,
    main_per_class: u32,
    per_class: u32,
    classes: u32,
    batch: u32,
) -> f64 {
    let main = steps_per_epoch(main_per_class.saturating_mul(classes), batch);
    let this = steps_per_epoch(per_class.saturating_mul(classes), batch).max(1);
    warmup_epochs * f64::from(main) / f64::from(this)
}

/// `round(f · per_class)` for each factor, at least 1, without the main size
/// and without repeats (first kept), in the order given.
pub fn sizes(per_class: u32, factors: &[f64]) -> anyhow::Result<Vec<u32>> {
    let mut out = Vec::new();
    for &f in factors {
        anyhow::ensure!(
            f.is_finite() && f > 0.0 && f <= 1000.0,
            "--baseline-sizes {f}: expected a multiple of the training-set size in (0, 1000]"
        );
        let n = (f * f64::from(per_class)).round().max(1.0) as u32;
        if n != per_class && !out.contains(&n) {
            out.push(n);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_round_and_skip_the_main_one() {
        assert_eq!(
            sizes(300, &[0.5, 2.0, 4.0, 1.0, 2.0]).unwrap(),
            vec![150, 600, 1200]
        );
        assert_eq!(sizes(3, &[0.1]).unwrap(), vec![1]);
        assert!(sizes(300, &[0.0]).is_err() && sizes(300, &[f64::NAN]).is_err());
    }

    /// Every size's warm-up is as many steps as the main size's.
    #[test]
    fn warmup_is_equal_in_steps() {
        for n in [150u32, 600, 1200, 7] {
            let w = equal_warmup(1.0, 300, n, 10, 64);
            let steps = (w * f64::from(steps_per_epoch(n * 10, 64))).round();
            assert_eq!(steps, f64::from(steps_per_epoch(3000, 64)), "{n}");
        }
        assert_eq!(step_budget(300, 10, 64, 12), 47 * 12);
    }
}
