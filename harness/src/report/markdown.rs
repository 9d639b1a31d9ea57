//! `report.md`: the fallback banner and data provenance, the cells left out,
//! then per data set and training-set size an accuracy table (with the
//! statistics), a cost table, the conclusion and the charts; the rule and
//! the definitions at the end.

use std::fmt::Write as _;

use super::BASELINE;
use super::charts::plot_stem;
use super::load::ExperimentDir;
use super::row::{Row, Verdict};
use super::rule::{RULE, p_text};
use super::summary::Summary;

const MIB: f64 = 1024.0 * 1024.0;

/// How the statistics, the convergence flag and the equal-compute column
/// are defined, as the report prints them.
pub const DEFINITIONS: &str = "**Statistics.** Accuracy is the mean ± sample standard deviation \
(n − 1) over the seeds, with its 95 % confidence interval mean ± t·s/√n (Student t, n − 1 degrees \
of freedom; none for one seed). Each technique is compared with the baseline by a paired t-test \
(two-sided) on the per-seed differences of test accuracy over the seeds both ran — the same seed \
means the same initialisation and data order — giving the Δ confidence interval and the p-value. \
Within one group (data set and training-set size) the p-values of all the techniques tested \
against the baseline are adjusted by Holm–Bonferroni (sorted ascending, the k-th smallest of m is \
multiplied by m − k + 1, each kept at least as large as the one before and at most 1), so that the \
chance of any false \"significant\" in the group stays at 5 %; a difference is called significant \
when the adjusted p < 0.05, and the table shows both. With fewer than 2 paired seeds no test is \
possible and the verdict is *not tested*.\n\n\
**Worth in real images** (after Geiping et al. 2023, \"How much data are augmentations worth?\"). \
Where the experiment also ran the baseline at other training-set sizes with the same number of \
optimiser steps (so that data, not compute, varies), the baseline's mean accuracy against the size \
is made non-decreasing (isotonic regression) and interpolated linearly in log(size) between the \
measured sizes; a technique's mean accuracy is placed on that curve and reported as a multiple of \
its own training-set size (\"2×\": it does what twice as many real images do without it). There is \
no extrapolation: beyond the measured sizes it says \"> 4×\" or \"< 0.5×\". The interval is the \
technique's 95 % confidence interval of its mean accuracy pushed through the same curve.\n\n\
**Converged.** A run is still improving (not converged) when the best test accuracy of its last \
fifth of epochs (the last ⌈E/5⌉ of E) exceeds the best of the earlier epochs by more than 0.5 pp; \
converged otherwise; unknown when either part has no evaluated epoch. A row is *no* when any seed \
is still improving (those seeds are listed).\n\n\
**Accuracy at the baseline's compute.** The baseline's training compute = its epochs × its mean \
model time per epoch + its mean augmentation cost. A technique's epochs are charged that same \
model time plus its own measured augmentation time of the epoch, mean over its seeds (and its \
fixed costs up front); the column gives the mean test accuracy at the last evaluated epoch within \
the budget (1 % slack), and that epoch.";

fn pct(v: f64) -> String {
    format!("{:.2}", 100.0 * v)
}

fn verdict_text(v: Verdict) -> &'static str {
    match v {
        Verdict::Baseline => "baseline",
        Verdict::Better => "better",
        Verdict::Worse => "worse",
        Verdict::NoSignificantDifference => "no significant difference",
        Verdict::NotTested => "not tested",
    }
}

fn seeds_text(seeds: &[u64]) -> String {
    seeds
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn converged_text(r: &Row) -> String {
    match r.converged {
        Some(true) => "yes".into(),
        Some(false) => format!("no (seeds {})", seeds_text(&r.not_converged_seeds)),
        None => "unknown".into(),
    }
}

fn accuracy_table(s: &mut String, rows: &[&Row]) {
    *s += "| technique | seeds | accuracy (%) | 95 % CI (%) | Δ acc (pp) | Δ 95 % CI (pp) | p (paired t) | p (Holm) | verdict | worth in real images (95 % CI) | macro F1 | Δ F1 | acc at baseline compute (%) | converged | Pareto |\n";
    *s += "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
    for r in rows {
        let dash = || "—".to_string();
        // The baseline's own Δ columns show a dash, not +0.
        let delta = |d: Option<f64>| d.filter(|_| r.technique != BASELINE);
        let _ = writeln!(
            s,
            "| {} | {} | {} ± {} | {} | {} | {} | {} | {} | {} | {} | {:.4} ± {:.4} | {} | {} | {} | {} |",
            r.technique,
            r.seeds.len(),
            pct(r.accuracy.mean),
            pct(r.accuracy.std),
            r.accuracy_ci95
                .map_or_else(dash, |[lo, hi]| format!("{} – {}", pct(lo), pct(hi))),
            delta(r.accuracy_change).map_or_else(dash, |d| format!("{:+.2}", 100.0 * d)),
            r.paired.as_ref().map_or_else(dash, |p| format!(
                "{:+.2} – {:+.2}",
                100.0 * p.ci95[0],
                100.0 * p.ci95[1]
            )),
            r.paired.as_ref().map_or_else(dash, |p| p_text(p.p_value)),
            r.paired
                .as_ref()
                .map_or_else(dash, |p| p_text(p.p_adjusted)),
            verdict_text(r.verdict),
            r.real_image_equivalent
                .as_ref()
                .map_or_else(dash, |e| match &e.interval_text {
                    Some(i) => format!("{} ({i})", e.text),
                    None => e.text.clone(),
                }),
            r.macro_f1.mean,
            r.macro_f1.std,
            delta(r.macro_f1_change).map_or_else(dash, |d| format!("{d:+.4}")),
            r.accuracy_at_baseline_compute
                .as_ref()
                .zip(r.epoch_at_baseline_compute)
                .map_or_else(dash, |(a, e)| format!("{} (epoch {e})", pct(a.mean))),
            converged_text(r),
            if r.pareto { "★" } else { "" }
        );
    }
}

fn cost_table(s: &mut String, rows: &[&Row]) {
    *s += "| technique | added cost (%) | aug cost (s) | fixed (s) | aug / step (ms) | aug share (%) | model / step (ms) | training time (s) | Δ time (%) | peak RSS (MiB) | inference (img/s) |\n";
    *s += "|---|---|---|---|---|---|---|---|---|---|---|\n";
    for r in rows {
        let dash = || "—".to_string();
        let delta = |d: Option<f64>| d.filter(|_| r.technique != BASELINE);
        let _ = writeln!(
            s,
            "| {} | {} | {:.3} | {:.3} | {:.3} | {:.1} | {:.3} | {:.2} ± {:.2} | {} | {} | {:.1} |",
            r.technique,
            delta(r.added_cost_pct).map_or_else(dash, |d| format!("{d:+.2}")),
            r.augmentation_cost_s.mean,
            r.fixed_cost_s.mean,
            1e3 * r.augmentation_per_step_s.mean,
            100.0 * r.augmentation_share_of_step.mean,
            1e3 * r.model_per_step_s.mean,
            r.train_time_s.mean,
            r.train_time_s.std,
            delta(r.added_train_time_pct).map_or_else(dash, |d| format!("{d:+.1}")),
            r.peak_host_rss_bytes
                .map_or_else(dash, |b| format!("{:.0}", b as f64 / MIB)),
            r.inference_samples_per_s.mean,
        );
    }
}

/// `report.md`; `use_it` is the recommendation's section
/// ([`super::recommend::use_it_section`]), placed before the rule.
pub fn markdown(exp: &ExperimentDir, summary: &Summary, use_it: &str) -> String {
    let mut s = String::from("# augkit experiment report\n\n");
    if let Some(notice) = &summary.fallback_notice {
        let _ = writeln!(
            s,
            "> **⚠ DATA FALLBACK — THESE ARE NOT THE REQUESTED DATA SETS.** {notice}\n>\n\
             > The figures below were measured on generated `synthetic-shapes` images in place of \
             the missing data and say nothing about accuracy on the real data.\n"
        );
    }
    if !summary.data_provenance.is_empty() {
        s += "Data provenance (from `experiment.json`):\n\n";
        for d in &summary.data_provenance {
            let _ = write!(s, "- `{}`:", d.dataset);
            if let Some(src) = &d.source {
                let _ = write!(s, " source {src}.");
            }
            if !d.sha256.is_empty() {
                let list: Vec<String> = d
                    .sha256
                    .iter()
                    .map(|(file, hex)| {
                        if file.is_empty() {
                            format!("`{hex}`")
                        } else {
                            format!("`{file}` `{hex}`")
                        }
                    })
                    .collect();
                let _ = write!(s, " SHA-256: {}.", list.join(", "));
            }
            s.push('\n');
            for line in &d.details {
                let _ = writeln!(s, "  - {line}");
            }
        }
        s.push('\n');
    }
    let _ = writeln!(
        s,
        "Rebuilt by `augkit report` from {} result file(s) under `{}/cells/` ({}). \
         Every number here is computed from those files; `summary.csv` and `summary.json` hold \
         them at full precision.\n",
        exp.cells.len(),
        exp.dir.display(),
        if summary.experiment_json {
            "`experiment.json` read"
        } else {
            "no `experiment.json`: the matrix is inferred from the results"
        }
    );
    if !summary.skipped.is_empty() {
        s += "Left out:\n\n";
        for k in &summary.skipped {
            let _ = writeln!(s, "- `{}`: {}", k.id, k.reason);
        }
        s.push('\n');
    }
    s += "Columns: accuracy as mean ± sample standard deviation over the seeds with its 95 % \
          confidence interval; Δ against the `none` baseline of the same training-set size \
          (percentage points) with the paired t-test's 95 % interval, its p-value raw and \
          Holm-adjusted, and the verdict at α = 0.05 on the adjusted p; the real-image \
          equivalent where the baseline's size curve was measured; accuracy reached within the baseline's training compute; whether \
          every seed converged. Cost: added cost = the technique's augmentation time over all \
          steps plus its fixed costs, minus the baseline's, in % of the baseline's total step \
          time (the trade-off rule uses it); training time is the training epochs' wall time, \
          shown for information only; augmentation and model time are means per step, the \
          augmentation share is augmentation time / whole step time; peak RSS the largest over \
          the seeds; inference in test images per second. ★ = in the Pareto set.\n\n";
    let mut last_dataset = None;
    for c in &summary.conclusions {
        let ds = &c.dataset;
        let groups_of_ds = summary
            .conclusions
            .iter()
            .filter(|o| &o.dataset == ds)
            .count();
        if last_dataset != Some(ds) {
            let _ = writeln!(s, "## {ds}\n");
            last_dataset = Some(ds);
        }
        let rows: Vec<&Row> = summary
            .rows
            .iter()
            .filter(|r| &r.dataset == ds && r.train_limit == c.train_limit)
            .collect();
        let images = rows.first().map_or(0.0, |r| r.train_images.mean);
        if groups_of_ds > 1 {
            let _ = writeln!(
                s,
                "### {ds}, training set {} ({images:.0} images)\n",
                c.train_limit
            );
        } else {
            let _ = writeln!(
                s,
                "Training set: {} ({images:.0} images per epoch).\n",
                c.train_limit
            );
        }
        accuracy_table(&mut s, &rows);
        s.push('\n');
        cost_table(&mut s, &rows);
        let _ = writeln!(s, "\n**Conclusion.** {}\n", c.text);
        for (kind, title) in [
            ("curves", "Test accuracy per epoch"),
            (
                "tradeoff",
                "Accuracy gain vs added augmentation cost, Pareto front",
            ),
            (
                "aug-time",
                "Augmentation time per step by technique and backend",
            ),
        ] {
            let stem = plot_stem(summary, ds, &c.train_limit, kind);
            let _ = writeln!(s, "![{title} — {ds}]({stem}.png) ([SVG]({stem}.svg))\n");
        }
        let last_of_ds = summary
            .conclusions
            .iter()
            .rposition(|o| &o.dataset == ds)
            .is_some_and(|i| std::ptr::eq(&summary.conclusions[i], c));
        if summary
            .worth_curves
            .iter()
            .any(|w| &w.dataset == ds && w.train_limit == c.train_limit)
        {
            let stem = plot_stem(summary, ds, &c.train_limit, "worth");
            let _ = writeln!(
                s,
                "![Worth in real images: the baseline's accuracy vs training-set size at equal steps, with the techniques placed on it — {ds}]({stem}.png) ([SVG]({stem}.svg))\n"
            );
        }
        if groups_of_ds > 1 && last_of_ds {
            let stem = super::charts::limited_data_stem(ds);
            let _ = writeln!(
                s,
                "![Accuracy gain vs training-set size — {ds}]({stem}.png) ([SVG]({stem}.svg))\n"
            );
        }
    }
    s += use_it;
    let _ = writeln!(
        s,
        "## The rule\n\n{RULE}\n\n## Definitions\n\n{DEFINITIONS}\n"
    );
    s
}
