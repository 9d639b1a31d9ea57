//! Holm–Bonferroni step-down adjustment of the p-values of one group's
//! comparisons with the baseline. A report tests seven to eleven techniques
//! against the same baseline; at α = 0.05 each, one false "significant" in
//! ten is expected by chance. Holm's adjustment keeps the chance of any
//! false "significant" in the group at α (the family-wise error rate) and,
//! unlike plain Bonferroni, loses little power: the smallest p is multiplied
//! by m, the next by m − 1, and so on, each kept at least as large as the one
//! before it (so the order of the p-values is kept) and at most 1.

/// The Holm-adjusted p-values of `p`, in the order given. Ties keep the
/// order given (which does not change the values).
pub fn holm(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]).then(a.cmp(&b)));
    let mut adjusted = vec![0.0; m];
    let mut running = 0.0f64;
    for (rank, &i) in order.iter().enumerate() {
        running = running.max(((m - rank) as f64 * p[i]).min(1.0));
        adjusted[i] = running;
    }
    adjusted
}

#[cfg(test)]
mod tests {
    use super::holm;

    #[test]
    fn matches_a_hand_computed_example() {
        // Sorted: 0.005 (×4 = 0.02), 0.01 (×3 = 0.03), 0.03 (×2 = 0.06),
        // 0.04 (×1 = 0.04, raised to the running 0.06).
        let adjusted = holm(&[0.01, 0.04, 0.03, 0.005]);
        let expected = [0.03, 0.06, 0.06, 0.02];
        for (a, e) in adjusted.iter().zip(expected) {
            assert!((a - e).abs() < 1e-12, "{adjusted:?} != {expected:?}");
        }
    }

    #[test]
    fn caps_at_one_and_leaves_a_single_test_alone() {
        assert_eq!(holm(&[0.3, 0.6]), vec![0.6, 0.6]);
        assert_eq!(holm(&[0.7, 0.9]), vec![1.0, 1.0]);
        assert_eq!(holm(&[0.042]), vec![0.042]);
        assert!(holm(&[]).is_empty());
    }

    #[test]
    fn a_raw_significance_can_be_lost() {
        // Three techniques at p = 0.02, 0.03, 0.04: each "significant" alone,
        // none after adjustment (0.06, 0.06, 0.06).
        let adjusted = holm(&[0.02, 0.03, 0.04]);
        assert!(adjusted.iter().all(|&a| a >= 0.05), "{adjusted:?}");
    }
}
