//! Stratified limited subsets: the same number (or fraction) of images from
//! every class, chosen by a seeded shuffle of each class's indices. The result
//! depends only on (labels, num_classes, limit, seed); growing the limit only
//! adds images (the subset for n per class is contained in the one for n + 1).
//!
//! Rejects: a class with fewer than n images, n == 0, a fraction outside
//! (0, 1] (or NaN), labels not below `num_classes`, and `num_classes == 0`.

use crate::error::{DataError, Result};
use crate::rng::SplitMix64;

/// How many images to keep per class.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Limit {
    /// Exactly n images of every class.
    PerClass(usize),
    /// `round(f × count)` images of each class (at least one from a non-empty class), f in (0, 1].
    Fraction(f64),
}

/// Sorted indices into `labels` of a stratified subset. Seeded: the same
/// arguments always give the same list.
pub fn stratified_subset(
    labels: &[u32],
    num_classes: u32,
    limit: Limit,
    seed: u64,
) -> Result<Vec<u32>> {
    let bad = |m: String| Err(DataError::InvalidArgument(m));
    if num_classes == 0 {
        return bad("num_classes is 0".into());
    }
    match limit {
        Limit::PerClass(0) => return bad("Limit::PerClass(0) selects nothing".into()),
        Limit::Fraction(f) if !(f > 0.0 && f <= 1.0) => {
            return bad(format!("Limit::Fraction({f}) is not in (0, 1]"));
        }
        _ => {}
    }
    if labels.len() > u32::MAX as usize {
        return bad(format!("{} labels do not fit u32 indices", labels.len()));
    }
    let mut by_class: Vec<Vec<u32>> = vec![Vec::new(); num_classes as usize];
    for (i, &l) in labels.iter().enumerate() {
        match by_class.get_mut(l as usize) {
            Some(v) => v.push(i as u32),
            None => {
                return bad(format!(
                    "label {l} at index {i} is not below num_classes {num_classes}"
                ));
            }
        }
    }
    let mut out = Vec::new();
    for (c, mut idx) in by_class.into_iter().enumerate() {
        let take = match limit {
            Limit::PerClass(n) => {
                if idx.len() < n {
                    return bad(format!(
                        "class {c} has {} images, fewer than the {n} per class asked for",
                        idx.len()
                    ));
                }
                n
            }
            Limit::Fraction(f) => {
                let k = (f * idx.len() as f64).round() as usize;
                k.clamp(idx.len().min(1), idx.len())
            }
        };
        SplitMix64::stream(seed, c as u64).shuffle(&mut idx);
        out.extend_from_slice(&idx[..take]);
    }
    out.sort_unstable();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(n: usize, classes: u32) -> Vec<u32> {
        let mut g = SplitMix64::new(5);
        (0..n).map(|_| g.below(classes as u64) as u32).collect()
    }

    #[test]
    fn per_class_is_balanced_sorted_and_seeded() {
        let l = labels(1000, 10);
        let a = stratified_subset(&l, 10, Limit::PerClass(7), 1).unwrap();
        assert_eq!(a.len(), 70);
        assert!(a.windows(2).all(|w| w[0] < w[1]));
        let mut counts = [0; 10];
        for &i in &a {
            counts[l[i as usize] as usize] += 1;
        }
        assert_eq!(counts, [7; 10]);
        assert_eq!(a, stratified_subset(&l, 10, Limit::PerClass(7), 1).unwrap());
        assert_ne!(a, stratified_subset(&l, 10, Limit::PerClass(7), 2).unwrap());
        // Nested: a larger limit keeps every image of the smaller one.
        let b = stratified_subset(&l, 10, Limit::PerClass(9), 1).unwrap();
        assert!(a.iter().all(|i| b.binary_search(i).is_ok()));
    }

    #[test]
    fn fraction_rounds_per_class() {
        let l = labels(997, 7);
        let all = stratified_subset(&l, 7, Limit::Fraction(1.0), 3).unwrap();
        assert_eq!(all, (0..997).collect::<Vec<u32>>());
        let s = stratified_subset(&l, 7, Limit::Fraction(0.1), 3).unwrap();
        let mut counts = [0usize; 7];
        for &c in &l {
            counts[c as usize] += 1;
        }
        let want: usize = counts
            .iter()
            .map(|&n| ((n as f64 * 0.1).round() as usize).max(1))
            .sum();
        assert_eq!(s.len(), want);
        let tiny = stratified_subset(&[0, 1, 1], 2, Limit::Fraction(0.01), 0).unwrap();
        assert_eq!(tiny.len(), 2);
    }

    #[test]
    fn rejects_bad_limits_and_labels() {
        let l = vec![0, 0, 1];
        let e = stratified_subset(&l, 2, Limit::PerClass(2), 0)
            .unwrap_err()
            .to_string();
        assert!(e.contains("class 1 has 1"), "{e}");
        for f in [0.0, -0.5, 1.5, f64::NAN] {
            assert!(stratified_subset(&l, 2, Limit::Fraction(f), 0).is_err());
        }
        assert!(stratified_subset(&l, 2, Limit::PerClass(0), 0).is_err());
        assert!(stratified_subset(&[0, 2], 2, Limit::PerClass(1), 0).is_err());
        assert!(stratified_subset(&l, 0, Limit::PerClass(1), 0).is_err());
    }
}
