//! `recommended.toml`: the study's answer as a policy file. For each group
//! (data set and training-set size) the policy of the technique the rule
//! ([`super::RULE`]) names as the best trade-off, exactly as it ran — its
//! normalisation filled in from the training subset as `augkit train` does —
//! with the evidence in comments. When no augmentation was significantly
//! better, the file is the baseline's policy (no augmentation) and says so;
//! when nothing could be tested, it says that no recommendation is possible.

use std::fmt::Write as _;

use super::BASELINE;
use super::load::ExperimentDir;
use super::row::Row;
use super::rule::{Conclusion, p_text};
use super::summary::Summary;

/// The file `augkit report` writes for the first group with techniques.
pub const FILE: &str = "recommended.toml";

/// One group's recommendation.
#[derive(Clone, Debug)]
pub struct Recommendation {
    pub dataset: String,
    pub train_limit: String,
    /// The technique whose policy the file holds (`none` when no
    /// augmentation is supported by the evidence).
    pub technique: String,
    /// Whether the evidence supports an augmentation at all.
    pub supported: bool,
    /// The file's text: comments, then the policy as TOML.
    pub toml: String,
}

fn slug(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

/// The file name of a group's recommendation when the experiment has several groups.
pub fn group_file(dataset: &str, train_limit: &str) -> String {
    format!("recommended-{}-{}.toml", slug(dataset), slug(train_limit))
}

fn evidence(r: &Row) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(d) = r.accuracy_change {
        let mut l = format!(
            "test accuracy {:.2} % ({:+.2} pp against `{BASELINE}`",
            100.0 * r.accuracy.mean,
            100.0 * d
        );
        if let Some(p) = &r.paired {
            let _ = write!(
                l,
                ", 95 % CI of the difference {:+.2} … {:+.2} pp, paired t-test p = {}, Holm-adjusted p = {}",
                100.0 * p.ci95[0],
                100.0 * p.ci95[1],
                p_text(p.p_value),
                p_text(p.p_adjusted)
            );
        }
        l.push_str(&format!(") over seeds {:?}", r.seeds));
        lines.push(l);
    }
    if let Some(e) = &r.real_image_equivalent {
        lines.push(format!(
            "worth {} its {:.0} real training images{} (the baseline's size curve at the same steps)",
            e.text,
            e.own_images,
            e.interval_text
                .as_ref()
                .map(|i| format!(", 95 % CI {i}"))
                .unwrap_or_default()
        ));
    }
    if let Some(c) = r.added_cost_pct {
        lines.push(format!(
            "added augmentation cost {c:+.2} % of the baseline's training-step time ({:.3} ms per step)",
            1e3 * r.augmentation_per_step_s.mean
        ));
    }
    lines
}

/// The recommendation of one group, from its rows and conclusion.
fn of_group(exp: &ExperimentDir, summary: &Summary, c: &Conclusion) -> Option<Recommendation> {
    let rows: Vec<&Row> = summary
        .rows
        .iter()
        .filter(|r| r.dataset == c.dataset && r.train_limit == c.train_limit)
        .collect();
    if rows.iter().all(|r| r.technique == BASELINE) {
        return None;
    }
    let (technique, supported) = match c.best.as_deref() {
        Some(b) if b != BASELINE => (b.to_string(), true),
        Some(_) => (BASELINE.to_string(), false),
        None => (BASELINE.to_string(), false),
    };
    // The policy as it ran: the lowest seed's (the normalisation comes from
    // that seed's training subset).
    let cell = exp
        .cells
        .iter()
        .filter(|cell| {
            cell.dataset == c.dataset
                && super::summary::limit_label(cell.train_limit) == c.train_limit
                && cell.technique == technique
        })
        .min_by_key(|cell| cell.seed)?;
    let policy = &cell.result.config.policy;
    let body = toml::to_string(policy).ok()?;
    let mut t = String::new();
    let _ = writeln!(
        t,
        "# augkit's recommended policy for {} ({}), written by `augkit report`.",
        c.dataset, c.train_limit
    );
    if supported {
        let _ = writeln!(
            t,
            "# The best trade-off by the report's rule (significant gain over `{BASELINE}` after\n# Holm–Bonferroni, then gain per added cost): `{technique}`."
        );
        if let Some(r) = rows.iter().find(|r| r.technique == technique) {
            for l in evidence(r) {
                let _ = writeln!(t, "# - {l}");
            }
        }
    } else if c.best.is_some() {
        let _ = writeln!(
            t,
            "# NO AUGMENTATION IS RECOMMENDED: no technique was significantly better than `{BASELINE}`\n# (paired t-test, Holm-adjusted p < 0.05) in this experiment. This file is the\n# baseline's policy as it ran: no augmentation, only the output normalisation."
        );
        if let Some(m) = c.most_accurate.as_deref().filter(|m| *m != BASELINE)
            && let Some(r) = rows.iter().find(|r| r.technique == m)
        {
            let _ = writeln!(
                t,
                "# Most accurate by the mean, but not significantly: `{m}`:"
            );
            for l in evidence(r) {
                let _ = writeln!(t, "# - {l}");
            }
        }
    } else {
        let _ = writeln!(
            t,
            "# NO RECOMMENDATION IS POSSIBLE: no technique could be tested against `{BASELINE}`\n# (fewer than 2 seeds paired with it). This file is the baseline's policy as it ran:\n# no augmentation. Run more seeds (`--seeds 0,1,2`) to get an answer."
        );
    }
    let _ = writeln!(
        t,
        "# Normalisation: seed {}'s training subset ({} images), as `augkit train` filled it in;\n# for your own full training set, recompute it (Python: augkit.channel_statistics).",
        cell.seed, cell.result.data.train_used
    );
    let _ = writeln!(
        t,
        "# Use it: `augkit train --policy {FILE} …`, Rust `augkit::Policy::from_file(\"{FILE}\")`,\n# Python `augkit.Augmenter(policy=\"{FILE}\", …)`.\n"
    );
    t.push_str(&body);
    Some(Recommendation {
        dataset: c.dataset.clone(),
        train_limit: c.train_limit.clone(),
        technique,
        supported,
        toml: t,
    })
}

/// Every group's recommendation, in the report's order.
pub fn recommendations(exp: &ExperimentDir, summary: &Summary) -> Vec<Recommendation> {
    summary
        .conclusions
        .iter()
        .filter_map(|c| of_group(exp, summary, c))
        .collect()
}

/// The files to write: `recommended.toml` for the first group with
/// techniques, and with several such groups one
/// `recommended-<dataset>-<limit>.toml` each as well.
pub fn files(recs: &[Recommendation]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(first) = recs.first() {
        out.push((FILE.to_string(), first.toml.clone()));
    }
    if recs.len() > 1 {
        for r in recs {
            out.push((group_file(&r.dataset, &r.train_limit), r.toml.clone()));
        }
    }
    out
}

/// The report's "Use it" section.
pub fn use_it_section(recs: &[Recommendation]) -> String {
    let Some(first) = recs.first() else {
        return String::new();
    };
    let mut s = String::from("## Use it\n\n");
    if first.supported {
        let _ = writeln!(
            s,
            "`{FILE}` holds the policy of `{}` for {} ({}), the best trade-off, exactly as it ran, with its evidence in comments.",
            first.technique, first.dataset, first.train_limit
        );
    } else {
        let _ = writeln!(
            s,
            "The evidence supports no augmentation for {} ({}): `{FILE}` is the baseline's policy (normalisation only) and says so.",
            first.dataset, first.train_limit
        );
    }
    if recs.len() > 1 {
        let _ = writeln!(
            s,
            "Each group also has its own file: {}.",
            recs.iter()
                .map(|r| format!("`{}`", group_file(&r.dataset, &r.train_limit)))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let _ = writeln!(
        s,
        "`augkit recommend DIR` prints it.\n\nRust:\n\n```rust\nlet policy = augkit::Policy::from_file(\"{FILE}\")?;\nlet mut backend = augkit::cpu::CpuBackend::new(&policy, seed, dataset, subset)?;\n```\n\nPython:\n\n```python\naug = augkit.Augmenter(policy=\"{FILE}\", images=train_u8, labels=train_labels,\n                       num_classes=num_classes, seed=0)\nfor x, y_a, y_b, lam in aug.epoch(epoch, batch_size=64):\n    loss = augkit.mixed_cross_entropy(model(x), y_a, y_b, lam)\n```\n"
    );
    s
}
