//! What the report's charts show, built from the summary and drawn by
//! [`crate::plots`]. Per data set and training-set size: `curves` (mean test
//! accuracy per epoch per technique), `tradeoff` (accuracy gain vs added
//! augmentation cost, Pareto front), `aug-time` (augmentation time per step
//! by technique and backend), and `worth` where the baseline's size curve at
//! equal steps was measured (the techniques placed on it); per data set with more than one training-set
//! size: `limited-data` (each technique's accuracy gain vs the training-set
//! size).

use std::path::{Path, PathBuf};

use super::BASELINE;
use super::summary::Summary;
use super::worth::Place;
use crate::plots::{Chart, render};

fn slug(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

fn has_sizes(summary: &Summary, dataset: &str) -> bool {
    summary
        .conclusions
        .iter()
        .filter(|c| c.dataset == dataset)
        .count()
        > 1
}

/// A chart's file stem, relative to the experiment directory: the training
/// limit is part of it only when the data set has more than one.
pub fn plot_stem(summary: &Summary, dataset: &str, train_limit: &str, kind: &str) -> String {
    if has_sizes(summary, dataset) {
        format!("plots/{dataset}-{}-{kind}", slug(train_limit))
    } else {
        format!("plots/{dataset}-{kind}")
    }
}

/// The stem of a data set's accuracy-gain-vs-training-set-size chart.
pub fn limited_data_stem(dataset: &str) -> String {
    format!("plots/{dataset}-limited-data")
}

/// Every chart of the report: `(stem, chart)`.
pub fn charts(summary: &Summary) -> Vec<(String, Chart)> {
    let mut out = Vec::new();
    for c in &summary.conclusions {
        let ds = &c.dataset;
        let rows: Vec<_> = summary
            .rows
            .iter()
            .filter(|r| &r.dataset == ds && r.train_limit == c.train_limit)
            .collect();
        let stem = |kind: &str| plot_stem(summary, ds, &c.train_limit, kind);
        let label = if has_sizes(summary, ds) {
            format!("{ds} ({})", c.train_limit)
        } else {
            ds.clone()
        };
        out.push((
            stem("curves"),
            Chart::Curves {
                title: format!("{label}: test accuracy per epoch (mean over seeds)"),
                lines: rows
                    .iter()
                    .map(|r| (r.technique.clone(), r.test_accuracy_curve.clone()))
                    .collect(),
            },
        ));
        let has_baseline = rows.iter().any(|r| r.technique == BASELINE);
        let tradeoff = if has_baseline {
            Chart::Tradeoff {
                title: format!("{label}: accuracy gain vs added augmentation cost"),
                x_desc: format!("added augmentation cost vs {BASELINE} (% of its step time)"),
                y_desc: format!("test accuracy gain vs {BASELINE} (pp)"),
                points: rows
                    .iter()
                    .map(|r| {
                        (
                            r.technique.clone(),
                            r.added_cost_pct.unwrap_or(0.0),
                            100.0 * r.accuracy_change.unwrap_or(0.0),
                            r.pareto,
                        )
                    })
                    .collect(),
            }
        } else {
            Chart::Tradeoff {
                title: format!("{label}: accuracy vs augmentation cost (no baseline)"),
                x_desc: "augmentation cost (s)".into(),
                y_desc: "test accuracy (%)".into(),
                points: rows
                    .iter()
                    .map(|r| {
                        (
                            r.technique.clone(),
                            r.augmentation_cost_s.mean,
                            100.0 * r.accuracy.mean,
                            r.pareto,
                        )
                    })
                    .collect(),
            }
        };
        out.push((stem("tradeoff"), tradeoff));
        out.push((
            stem("aug-time"),
            Chart::Bars {
                title: format!("{label}: augmentation time per step"),
                y_desc: "augmentation time per step (ms)".into(),
                bars: summary
                    .backend_timing
                    .iter()
                    .filter(|b| &b.dataset == ds && b.train_limit == c.train_limit)
                    .map(|b| {
                        (
                            b.technique.clone(),
                            b.backend.clone(),
                            1e3 * b.augmentation_per_step_s.mean,
                        )
                    })
                    .collect(),
            },
        ));
    }
    for w in &summary.worth_curves {
        let placed = summary
            .rows
            .iter()
            .filter(|r| r.dataset == w.dataset && r.train_limit == w.train_limit)
            .filter_map(|r| {
                let e = r.real_image_equivalent.as_ref()?;
                let images = match e.estimate {
                    Place::Below(s) | Place::At(s) | Place::Above(s) => s,
                };
                Some((
                    format!("{} ({})", r.technique, e.text),
                    images,
                    r.accuracy.mean,
                ))
            })
            .collect();
        out.push((
            plot_stem(summary, &w.dataset, &w.train_limit, "worth"),
            Chart::Worth {
                title: format!(
                    "{} ({}): worth in real images at {:.0} steps",
                    w.dataset, w.train_limit, w.steps
                ),
                measured: w.measured.clone(),
                fitted: w.fitted.clone(),
                placed,
            },
        ));
    }
    let mut datasets: Vec<&String> = summary.conclusions.iter().map(|c| &c.dataset).collect();
    datasets.dedup();
    for ds in datasets {
        if !has_sizes(summary, ds) {
            continue;
        }
        let mut techniques: Vec<&String> = summary
            .rows
            .iter()
            .filter(|r| &r.dataset == ds && r.technique != BASELINE)
            .map(|r| &r.technique)
            .collect();
        techniques.sort();
        techniques.dedup();
        let lines = techniques
            .into_iter()
            .map(|t| {
                let mut line: Vec<[f64; 2]> = summary
                    .rows
                    .iter()
                    .filter(|r| &r.dataset == ds && &r.technique == t)
                    .filter_map(|r| Some([r.train_images.mean, 100.0 * r.accuracy_change?]))
                    .collect();
                line.sort_by(|a, b| a[0].total_cmp(&b[0]));
                (t.clone(), line)
            })
            .filter(|(_, line)| !line.is_empty())
            .collect();
        out.push((
            limited_data_stem(ds),
            Chart::Gain {
                title: format!("{ds}: accuracy gain vs training-set size (mean over seeds)"),
                lines,
            },
        ));
    }
    out
}

/// Draws every chart of the report into `dir/plots/`.
pub fn draw_all(dir: &Path, summary: &Summary) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for (stem, chart) in charts(summary) {
        files.extend(render(dir, &stem, &chart)?);
    }
    Ok(files)
}
