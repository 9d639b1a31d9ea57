//! The report's judgement: which techniques are significantly better or
//! worse than the baseline, the best trade-off between accuracy gained and
//! augmentation cost added ([`RULE`]), and the Pareto set, with the
//! conclusion in words.

use serde::Serialize;

use super::BASELINE;
use super::cost::FREE_OVERHEAD_PCT;
use super::row::{Row, Verdict};
use super::stats::ALPHA;

/// The best-trade-off rule, as the report states it.
pub const RULE: &str = "Cost = a technique's augmentation time summed over its training steps \
(measured apart from the model) plus its technique-specific fixed costs (the synthetic-sample \
fit); added cost = its mean cost minus the baseline's (`none`), in percent of the baseline's mean \
total training-step time. Whole wall time is shown but not used: the model's compute is the same \
in every cell, and wall time on a shared machine is mostly noise. A technique is significantly \
better (worse) than the baseline when a paired t-test on the test accuracies of the seeds both ran \
(the same seed: the same initialisation and data order; two-sided), its p-value adjusted by \
Holm–Bonferroni over all the techniques tested against the same baseline in the same group (data \
set and training-set size), gives adjusted p < 0.05 with a mean difference above (below) zero; \
otherwise there is no significant difference; with fewer than 2 paired seeds no test is possible \
and the technique is called neither. Best trade-off = among the \
significantly better techniques, the one with the largest accuracy gain (pp) per added cost (%). A \
technique whose added cost is at most 1 % (or below zero) is free: free techniques rank before all \
others, by gain. Ties (within 1e-9) go to the larger gain, then the lower cost, then the name. If \
no technique is significantly better, the baseline is the best trade-off; if no technique could be \
tested, none is named. The Pareto set holds every technique (baseline included) that no other \
technique beats on both mean cost (lower) and mean test accuracy (higher) at once.";

/// The generated conclusion for one data set at one training-set size.
#[derive(Clone, Debug, Serialize)]
pub struct Conclusion {
    pub dataset: String,
    /// The training-set limit (`all`, `50 per class`, `fraction 0.1`).
    pub train_limit: String,
    /// The best trade-off by [`RULE`] (the baseline when nothing is
    /// significantly better; `None` without a baseline or without any test).
    pub best: Option<String>,
    /// Gain (pp) per added cost (%), `None` for free or baseline.
    pub best_efficiency: Option<f64>,
    pub most_accurate: Option<String>,
    pub better: Vec<String>,
    pub worse: Vec<String>,
    pub no_significant_difference: Vec<String>,
    pub not_tested: Vec<String>,
    /// Significantly worse and costlier (beyond the free margin) than the baseline.
    pub slower_and_worse: Vec<String>,
    pub not_converged: Vec<String>,
    pub pareto: Vec<String>,
    pub text: String,
}

/// `true` for each point `(cost, value)` that no other point beats on both
/// (cost ≤, value ≥, one of them strictly).
pub fn pareto_set(points: &[(f64, f64)]) -> Vec<bool> {
    points
        .iter()
        .map(|&(c, v)| {
            !points
                .iter()
                .any(|&(c2, v2)| c2 <= c && v2 >= v && (c2 < c || v2 > v))
        })
        .collect()
}

/// A candidate of the rule: `(technique, gain_pp, added_cost_pct, free)`.
pub type Candidate = (String, f64, f64, bool);

/// The significantly better techniques ranked by [`RULE`], best first.
pub fn rank_tradeoffs(rows: &[Row]) -> Vec<Candidate> {
    let mut candidates: Vec<Candidate> = rows
        .iter()
        .filter(|r| r.verdict == Verdict::Better)
        .filter_map(|r| {
            let gain = 100.0 * r.accuracy_change?;
            let added = r.added_cost_pct?;
            Some((r.technique.clone(), gain, added, added <= FREE_OVERHEAD_PCT))
        })
        .collect();
    // Efficiency rounded to 1e-9 so that near-equal ratios tie (a total order).
    let eff = |c: &Candidate| {
        if c.3 {
            f64::INFINITY
        } else {
            (c.1 / c.2 * 1e9).round()
        }
    };
    candidates.sort_by(|a, b| {
        eff(b)
            .total_cmp(&eff(a))
            .then_with(|| b.1.total_cmp(&a.1))
            .then_with(|| a.2.total_cmp(&b.2))
            .then_with(|| a.0.cmp(&b.0))
    });
    candidates
}

fn quoted(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn names(rows: &[Row], keep: impl Fn(&Row) -> bool) -> Vec<String> {
    rows.iter()
        .filter(|r| keep(r))
        .map(|r| r.technique.clone())
        .collect()
}

/// `` `crop` (+5.00 pp, p = 0.003) `` for each technique of `list`.
fn with_evidence(rows: &[Row], list: &[String]) -> String {
    list.iter()
        .filter_map(|n| rows.iter().find(|r| &r.technique == n))
        .map(|r| {
            let gain = 100.0 * r.accuracy_change.unwrap_or(f64::NAN);
            match &r.paired {
                Some(p) => format!(
                    "`{}` ({gain:+.2} pp, adjusted p = {}{})",
                    r.technique,
                    p_text(p.p_adjusted),
                    r.real_image_equivalent
                        .as_ref()
                        .map(|e| format!(", worth {} real images", e.text))
                        .unwrap_or_default()
                ),
                None => format!("`{}` ({gain:+.2} pp)", r.technique),
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A p-value as the report prints it.
pub fn p_text(p: f64) -> String {
    if p < 1e-4 {
        "< 0.0001".to_string()
    } else {
        format!("{p:.4}")
    }
}

/// The conclusion of one group's rows (baseline first when present).
pub fn conclude(dataset: &str, train_limit: &str, rows: &[Row]) -> Conclusion {
    let pareto = names(rows, |r| r.pareto);
    let not_converged = names(rows, |r| r.converged == Some(false));
    let most_accurate = rows
        .iter()
        .max_by(|a, b| {
            a.accuracy.mean.total_cmp(&b.accuracy.mean).then_with(|| {
                b.augmentation_cost_s
                    .mean
                    .total_cmp(&a.augmentation_cost_s.mean)
            })
        })
        .map(|r| r.technique.clone());
    let mut c = Conclusion {
        dataset: dataset.to_string(),
        train_limit: train_limit.to_string(),
        best: None,
        best_efficiency: None,
        most_accurate: most_accurate.clone(),
        better: names(rows, |r| r.verdict == Verdict::Better),
        worse: names(rows, |r| r.verdict == Verdict::Worse),
        no_significant_difference: names(rows, |r| r.verdict == Verdict::NoSignificantDifference),
        not_tested: names(rows, |r| r.verdict == Verdict::NotTested),
        slower_and_worse: names(rows, |r| {
            r.verdict == Verdict::Worse && r.added_cost_pct.is_some_and(|a| a > FREE_OVERHEAD_PCT)
        }),
        not_converged,
        pareto,
        text: String::new(),
    };
    let convergence_note = if c.not_converged.is_empty() {
        String::new()
    } else {
        format!(
            " Not converged (the best test accuracy of the last fifth of the epochs is more than 0.5 pp above the earlier best): {}.",
            quoted(&c.not_converged)
        )
    };
    let mut text = String::new();
    let Some(base) = rows.iter().find(|r| r.technique == BASELINE) else {
        text += &format!(
            "No `{BASELINE}` (baseline) results for {dataset}: no gains, tests or trade-off can be computed."
        );
        if let Some(m) = &most_accurate {
            text += &format!(" Most accurate: `{m}`.");
        }
        text += &convergence_note;
        c.text = text;
        return c;
    };
    let others = rows.len().saturating_sub(1);
    text += &format!(
        "Each technique is compared with `{BASELINE}` by a paired t-test on the test accuracies of the seeds both ran (two-sided, α = {ALPHA}), its p-value adjusted by Holm–Bonferroni over the {} technique(s) tested in this group.",
        rows.iter().filter(|r| r.paired.is_some()).count()
    );
    if !c.better.is_empty() {
        text += &format!(" Significantly better: {}.", with_evidence(rows, &c.better));
    }
    if !c.worse.is_empty() {
        text += &format!(" Significantly worse: {}.", with_evidence(rows, &c.worse));
    }
    if !c.no_significant_difference.is_empty() {
        text += &format!(
            " No significant difference: {}.",
            with_evidence(rows, &c.no_significant_difference)
        );
    }
    if !c.not_tested.is_empty() {
        text += &format!(
            " Not tested (fewer than 2 seeds paired with the baseline, so no test is possible): {}.",
            quoted(&c.not_tested)
        );
    }
    let ranked = rank_tradeoffs(rows);
    match ranked.first() {
        None if others > 0 && c.not_tested.len() == others => {
            text += " No technique can be called better or worse, so no best trade-off is named.";
        }
        None => {
            text += &format!(
                " No technique was significantly better than the baseline ({:.2} %): the best trade-off is `{BASELINE}`.",
                100.0 * base.accuracy.mean
            );
            c.best = Some(BASELINE.to_string());
        }
        Some((name, gain, added, free)) => {
            if *free {
                text += &format!(
                    " Best trade-off: `{name}`, +{gain:.2} pp test accuracy over `{BASELINE}` at no added cost ({added:+.2} % of the baseline's step time, within the {FREE_OVERHEAD_PCT} % free margin)."
                );
            } else {
                let eff = gain / added;
                text += &format!(
                    " Best trade-off: `{name}`, +{gain:.2} pp test accuracy over `{BASELINE}` for {added:+.2} % added augmentation cost ({eff:.3} pp per %)."
                );
                c.best_efficiency = Some(eff);
            }
            c.best = Some(name.clone());
        }
    }
    if let Some(m) = &most_accurate
        && Some(m) != c.best.as_ref()
    {
        let r = rows.iter().find(|r| &r.technique == m).expect("row exists");
        let standing = match r.verdict {
            Verdict::Better => "",
            Verdict::Baseline => "",
            _ => ", not significantly better than the baseline",
        };
        text += &format!(
            " Most accurate by the mean: `{m}` ({:.2} %, {:+.2} % added cost{standing}).",
            100.0 * r.accuracy.mean,
            r.added_cost_pct.unwrap_or(0.0)
        );
    }
    if !c.slower_and_worse.is_empty() {
        text += &format!(
            " Significantly less accurate and costlier than the baseline: {}.",
            quoted(&c.slower_and_worse)
        );
    }
    text += &format!(
        " Pareto set (mean accuracy vs mean augmentation cost): {}.",
        quoted(&c.pareto)
    );
    text += &convergence_note;
    c.text = text;
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::stats::{Stat, paired_t_test};

    #[test]
    fn pareto_keeps_undominated() {
        // (cost, value)
        let p = pareto_set(&[(1.0, 0.5), (2.0, 0.7), (2.5, 0.6), (1.0, 0.5), (3.0, 0.9)]);
        assert_eq!(p, vec![true, true, false, true, true]);
    }

    /// A row with mean accuracy `acc`, `added` % cost and a verdict.
    fn row(technique: &str, acc: f64, added: f64, verdict: Verdict) -> Row {
        let st = |v: f64| Stat::of(&[v, v]);
        let paired = (verdict != Verdict::Baseline && verdict != Verdict::NotTested).then(|| {
            let p = if matches!(verdict, Verdict::Better | Verdict::Worse) {
                0.01
            } else {
                0.5
            };
            let mut t = paired_t_test(&[(0, acc, 0.5), (1, acc + 0.01, 0.5)]).unwrap();
            t.p_value = p;
            t.p_adjusted = p;
            t
        });
        Row {
            dataset: "d".into(),
            train_limit: "all".into(),
            train_images: st(100.0),
            steps: st(10.0),
            technique: technique.into(),
            seeds: vec![0, 1],
            accuracy: st(acc),
            accuracy_ci95: None,
            macro_f1: st(acc),
            accuracy_change: Some(acc - 0.5),
            macro_f1_change: Some(acc - 0.5),
            paired,
            verdict,
            augmentation_cost_s: st(1.0 + added),
            fixed_cost_s: st(0.0),
            added_cost_pct: Some(added),
            train_time_s: st(100.0),
            added_train_time_pct: Some(0.0),
            augmentation_per_step_s: st(0.0),
            augmentation_share_of_step: st(0.0),
            model_per_step_s: st(0.0),
            accuracy_at_baseline_compute: None,
            epoch_at_baseline_compute: None,
            converged: Some(true),
            not_converged_seeds: vec![],
            convergence_unknown_seeds: vec![],
            peak_host_rss_bytes: None,
            peak_device_bytes: None,
            inference_samples_per_s: st(0.0),
            backends: vec![],
            test_accuracy_curve: vec![],
            pareto: false,
            real_image_equivalent: None,
        }
    }

    fn base() -> Row {
        row("none", 0.50, 0.0, Verdict::Baseline)
    }

    #[test]
    fn rule_breaks_ties_by_gain_then_cost_then_name() {
        use Verdict::Better;
        // b and c: 2 pp for 10 % and 4 pp for 20 % (0.2 pp/% each) → c (larger gain).
        let rows = vec![
            base(),
            row("b", 0.52, 10.0, Better),
            row("c", 0.54, 20.0, Better),
        ];
        assert_eq!(rank_tradeoffs(&rows)[0].0, "c");
        // Equal gain and cost → by name.
        let rows = vec![
            base(),
            row("y", 0.52, 10.0, Better),
            row("x", 0.52, 10.0, Better),
        ];
        assert_eq!(rank_tradeoffs(&rows)[0].0, "x");
        // Free (≤ 1 % added cost) beats any paid one, whatever the ratio.
        let rows = vec![
            base(),
            row("free", 0.501, 0.9, Better),
            row("paid", 0.60, 1.5, Better),
        ];
        assert_eq!(rank_tradeoffs(&rows)[0].0, "free");
    }

    #[test]
    fn only_significant_gains_compete() {
        // `big` has the larger mean gain for less cost but no significant difference.
        let rows = vec![
            base(),
            row("big", 0.60, 2.0, Verdict::NoSignificantDifference),
            row("sure", 0.52, 10.0, Verdict::Better),
        ];
        let c = conclude("d", "all", &rows);
        assert_eq!(c.best.as_deref(), Some("sure"));
        assert_eq!(c.no_significant_difference, vec!["big".to_string()]);
        assert!(
            c.text.contains("No significant difference: `big`"),
            "{}",
            c.text
        );
        assert!(c.text.contains("not significantly better"), "{}", c.text);
    }

    #[test]
    fn nothing_significantly_better_keeps_the_baseline() {
        let rows = vec![
            base(),
            row("slow", 0.45, 50.0, Verdict::Worse),
            row("cheap", 0.49, 0.2, Verdict::Worse),
            row("same", 0.51, 3.0, Verdict::NoSignificantDifference),
        ];
        let c = conclude("d", "all", &rows);
        assert_eq!(c.best.as_deref(), Some(BASELINE));
        assert_eq!(c.slower_and_worse, vec!["slow".to_string()]);
        assert_eq!(c.worse, vec!["slow".to_string(), "cheap".to_string()]);
        assert!(
            c.text.contains("No technique was significantly better"),
            "{}",
            c.text
        );
        assert!(c.text.contains("α = 0.05"), "{}", c.text);
    }

    #[test]
    fn one_seed_means_no_test_and_no_best() {
        let rows = vec![base(), row("a", 0.60, 1.0, Verdict::NotTested)];
        let c = conclude("d", "all", &rows);
        assert_eq!(c.best, None);
        assert_eq!(c.not_tested, vec!["a".to_string()]);
        assert!(c.text.contains("no test is possible"), "{}", c.text);
        assert!(c.text.contains("no best trade-off"), "{}", c.text);
    }

    #[test]
    fn not_converged_is_named() {
        let mut r = row("a", 0.60, 1.0, Verdict::Better);
        r.converged = Some(false);
        r.not_converged_seeds = vec![1];
        let c = conclude("d", "all", &[base(), r]);
        assert_eq!(c.not_converged, vec!["a".to_string()]);
        assert!(c.text.contains("Not converged"), "{}", c.text);
    }
}
