//! The report's statistics over seeds: mean ± sample standard deviation, the
//! 95 % confidence interval of a mean (Student t), and the paired t-test of a
//! technique against the baseline on the seeds both ran (the same seed means
//! the same initialisation and data order, so the per-seed differences
//! cancel most of the seed-to-seed spread). The t distribution is `statrs`'.

use serde::Serialize;
use statrs::distribution::{ContinuousCDF, StudentsT};

/// Significance level of every test the report makes.
pub const ALPHA: f64 = 0.05;

/// Confidence level of every interval the report gives.
pub const CONFIDENCE: f64 = 0.95;

/// The test the report runs, as it names it.
pub const PAIRED_TEST: &str = "paired t-test (two-sided; n − 1 degrees of freedom)";

/// Mean and standard deviation over seeds (sample standard deviation, n − 1
/// in the denominator; 0 for a single run).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Stat {
    pub mean: f64,
    pub std: f64,
    pub n: usize,
}

impl Stat {
    pub fn of(values: &[f64]) -> Self {
        let n = values.len();
        if n == 0 {
            return Self {
                mean: f64::NAN,
                std: f64::NAN,
                n,
            };
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        let std = if n < 2 {
            0.0
        } else {
            (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
        };
        Self { mean, std, n }
    }

    /// The two-sided [`CONFIDENCE`] interval of the mean, `mean ± t·s/√n`
    /// with `t` the Student t quantile at n − 1 degrees of freedom; `None`
    /// below 2 values (no spread to estimate).
    pub fn ci95(&self) -> Option<[f64; 2]> {
        let half = t_quantile(self.n)? * self.std / (self.n as f64).sqrt();
        Some([self.mean - half, self.mean + half])
    }
}

/// The two-sided [`CONFIDENCE`] quantile of Student's t for `n` values
/// (n − 1 degrees of freedom), `None` for n < 2.
pub fn t_quantile(n: usize) -> Option<f64> {
    let t = students_t(n)?;
    Some(t.inverse_cdf(1.0 - (1.0 - CONFIDENCE) / 2.0))
}

fn students_t(n: usize) -> Option<StudentsT> {
    if n < 2 {
        return None;
    }
    StudentsT::new(0.0, 1.0, (n - 1) as f64).ok()
}

/// A paired comparison of a technique with the baseline on the seeds both ran.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PairedTest {
    /// [`PAIRED_TEST`].
    pub test: String,
    /// The seeds paired (those both the technique and the baseline ran).
    pub seeds: Vec<u64>,
    /// Mean of the per-seed differences technique − baseline.
    pub mean_difference: f64,
    /// Sample standard deviation of those differences.
    pub std_difference: f64,
    /// [`CONFIDENCE`] interval of the mean difference.
    pub ci95: [f64; 2],
    /// t = mean / (std / √n); ±∞ when every difference is the same non-zero number.
    pub t: f64,
    pub degrees_of_freedom: f64,
    /// Two-sided p-value.
    pub p_value: f64,
    /// `p_value` after the Holm–Bonferroni adjustment over every technique
    /// tested against the same baseline in the same group
    /// ([`super::holm`]); equal to `p_value` until the group is adjusted.
    pub p_adjusted: f64,
}

impl PairedTest {
    /// Adjusted `p < α`: significance is judged on the adjusted p-value.
    pub fn significant(&self) -> bool {
        self.p_adjusted < ALPHA
    }
}

/// The paired t-test on `(seed, technique value, baseline value)` triples;
/// `None` below 2 pairs (no test is possible).
pub fn paired_t_test(pairs: &[(u64, f64, f64)]) -> Option<PairedTest> {
    let n = pairs.len();
    let t_dist = students_t(n)?;
    let diffs: Vec<f64> = pairs.iter().map(|&(_, a, b)| a - b).collect();
    let d = Stat::of(&diffs);
    let se = d.std / (n as f64).sqrt();
    // Identical differences leave no spread: a non-zero one is certain
    // (t = ±∞, p = 0), a zero one shows nothing (t = 0, p = 1). A spread
    // below rounding of the values themselves counts as none.
    let scale = pairs
        .iter()
        .map(|&(_, a, b)| a.abs().max(b.abs()))
        .fold(0.0, f64::max);
    let (t, p) = if se <= 1e-12 * scale.max(f64::MIN_POSITIVE) {
        if d.mean.abs() <= 1e-12 * scale {
            (0.0, 1.0)
        } else {
            (d.mean.signum() * f64::INFINITY, 0.0)
        }
    } else {
        let t = d.mean / se;
        (t, (2.0 * (1.0 - t_dist.cdf(t.abs()))).clamp(0.0, 1.0))
    };
    let half = t_quantile(n)? * se;
    Some(PairedTest {
        test: PAIRED_TEST.to_string(),
        seeds: pairs.iter().map(|p| p.0).collect(),
        mean_difference: d.mean,
        std_difference: d.std,
        ci95: [d.mean - half, d.mean + half],
        t,
        degrees_of_freedom: (n - 1) as f64,
        p_value: p,
        p_adjusted: p,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) {
        assert!((a - b).abs() <= tol, "{a} vs {b}");
    }

    #[test]
    fn stat_uses_sample_std() {
        let s = Stat::of(&[1.0, 2.0, 3.0]);
        assert_eq!((s.mean, s.std, s.n), (2.0, 1.0, 3));
        assert_eq!(Stat::of(&[5.0]).std, 0.0);
        assert_eq!(Stat::of(&[5.0]).ci95(), None);
    }

    #[test]
    fn t_quantiles_match_closed_forms_and_tables() {
        // 1 degree of freedom (Cauchy): tan(π/2 · 0.95).
        close(
            t_quantile(2).unwrap(),
            (std::f64::consts::FRAC_PI_2 * 0.95).tan(),
            1e-9,
        );
        // 2 degrees of freedom: F(t) = ½ + t / (2√(t² + 2)), so the 0.975
        // quantile solves t² = 2·0.95² / (1 − 0.95²).
        close(
            t_quantile(3).unwrap(),
            (2.0 * 0.9025 / (1.0 - 0.9025f64)).sqrt(),
            1e-9,
        );
        // Printed tables: df 4 → 2.776, df 9 → 2.262, df 29 → 2.045.
        close(t_quantile(5).unwrap(), 2.776, 5e-4);
        close(t_quantile(10).unwrap(), 2.262, 5e-4);
        close(t_quantile(30).unwrap(), 2.045, 5e-4);
    }

    #[test]
    fn ci95_by_hand() {
        // [1, 2, 3]: mean 2, s = 1, n = 3, t(0.975, 2) = √(1.805 / 0.0975) = 4.30265.
        let [lo, hi] = Stat::of(&[1.0, 2.0, 3.0]).ci95().unwrap();
        let half = (2.0 * 0.9025 / (1.0 - 0.9025f64)).sqrt() / 3f64.sqrt();
        close(lo, 2.0 - half, 1e-9);
        close(hi, 2.0 + half, 1e-9);
        close(half, 2.484138, 1e-6);
    }

    #[test]
    fn paired_t_test_by_hand() {
        // Differences 0.01, 0.02, 0.03: mean 0.02, s = 0.01, t = 2√3 = 3.4641,
        // 2 df: two-sided p = 1 − t/√(t² + 2) = 1 − √(12/14) = 0.074180.
        let pairs = [(0, 0.81, 0.80), (1, 0.82, 0.80), (2, 0.83, 0.80)];
        let r = paired_t_test(&pairs).unwrap();
        close(r.mean_difference, 0.02, 1e-12);
        close(r.std_difference, 0.01, 1e-12);
        close(r.t, 2.0 * 3f64.sqrt(), 1e-9);
        close(r.p_value, 1.0 - (12.0f64 / 14.0).sqrt(), 1e-9);
        close(r.p_value, 0.074180, 1e-6);
        assert!(!r.significant());
        assert_eq!(r.seeds, vec![0, 1, 2]);
        assert_eq!(r.degrees_of_freedom, 2.0);
        // 1 df (two seeds): differences 0.03 and 0.01, t = 0.02 / (0.01√2 / √2) = 2,
        // p = 1 − (2/π)·atan(2) = 0.295167.
        let r = paired_t_test(&[(0, 0.83, 0.80), (1, 0.81, 0.80)]).unwrap();
        close(r.t, 2.0, 1e-9);
        close(
            r.p_value,
            1.0 - 2.0 / std::f64::consts::PI * 2f64.atan(),
            1e-9,
        );
        // A negative difference is as significant as a positive one.
        let flipped: Vec<_> = pairs.iter().map(|&(s, a, b)| (s, b, a)).collect();
        let r2 = paired_t_test(&flipped).unwrap();
        close(r2.t, -2.0 * 3f64.sqrt(), 1e-9);
        close(r2.p_value, 0.074180, 1e-6);
    }

    #[test]
    fn paired_t_test_large_sample_is_significant() {
        // Ten seeds, differences 0.01 ± small noise: clearly significant.
        let pairs: Vec<_> = (0..10u64)
            .map(|s| (s, 0.80 + 0.01 + 0.001 * (s as f64 - 4.5), 0.80))
            .collect();
        let r = paired_t_test(&pairs).unwrap();
        // s_d = 0.001 · std(0..10) = 0.001 · 3.02765; t = 0.01 / (s_d/√10).
        close(
            r.t,
            0.01 / (0.001 * (82.5f64 / 9.0).sqrt() / 10f64.sqrt()),
            1e-6,
        );
        // t = 10.4447 at 9 df: p ≈ 2.49e-6.
        assert!(
            r.significant() && (r.p_value - 2.488e-6).abs() < 1e-8,
            "{r:?}"
        );
    }

    #[test]
    fn paired_t_test_edge_cases() {
        assert_eq!(paired_t_test(&[(0, 0.9, 0.8)]), None);
        assert_eq!(paired_t_test(&[]), None);
        let same = paired_t_test(&[(0, 0.9, 0.8), (1, 0.95, 0.85)]).unwrap();
        assert_eq!((same.t, same.p_value), (f64::INFINITY, 0.0));
        let none = paired_t_test(&[(0, 0.8, 0.8), (1, 0.85, 0.85)]).unwrap();
        assert_eq!((none.t, none.p_value), (0.0, 1.0));
    }
}
