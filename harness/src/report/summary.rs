//! Aggregates the cells into one row per (data set, training-set size,
//! technique): accuracy statistics and the paired test against the baseline
//! of the same group, the measured augmentation cost, the equal-compute
//! accuracy, convergence, memory and throughput; then each group's
//! conclusion ([`super::rule`]).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use super::BASELINE;
use super::converged::{self, Convergence};
use super::cost::{self, Budget};
use super::holm::holm;
use super::load::{Cell, ExperimentDir};
use super::row::{Row, Verdict};
use super::rule::{self, Conclusion, RULE};
use super::stats::{Stat, paired_t_test};
use super::worth;
use crate::config::TrainLimit;
use crate::result::RunResult;

/// Bumped whenever a field of `summary.json` changes meaning or disappears.
pub const SUMMARY_SCHEMA_VERSION: u32 = 2;

/// Augmentation time per step of one technique with one backend.
#[derive(Clone, Debug, Serialize)]
pub struct BackendTiming {
    pub dataset: String,
    pub train_limit: String,
    pub technique: String,
    pub backend: String,
    pub augmentation_per_step_s: Stat,
}

/// Where a data set's files came from, as `experiment.json` records it.
#[derive(Clone, Debug, Serialize)]
pub struct DataProvenance {
    pub dataset: String,
    pub source: Option<String>,
    pub sha256: BTreeMap<String, String>,
    /// A `folder:`/`parquet:`/`npz:` set's provenance, one fact per line.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
}

/// Everything `summary.json` holds.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    pub schema_version: u32,
    pub generated_by: String,
    pub experiment_json: bool,
    pub fallback_notice: Option<String>,
    pub data_provenance: Vec<DataProvenance>,
    pub rule: String,
    pub cells: Vec<CellRef>,
    pub skipped: Vec<SkippedCell>,
    pub rows: Vec<Row>,
    pub backend_timing: Vec<BackendTiming>,
    pub conclusions: Vec<Conclusion>,
    /// The baseline's accuracy-vs-size curves the real-image equivalents
    /// were read from (one per group that has them).
    pub worth_curves: Vec<WorthCurve>,
}

#[derive(Clone, Debug, Serialize)]
pub struct CellRef {
    pub id: String,
    pub dataset: String,
    pub train_limit: String,
    pub technique: String,
    pub seed: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct SkippedCell {
    pub id: String,
    pub reason: String,
}

/// A training-set limit in words.
pub fn limit_label(limit: TrainLimit) -> String {
    match limit {
        TrainLimit::All => "all".to_string(),
        TrainLimit::PerClass(n) => format!("{n} per class"),
        TrainLimit::Fraction(f) => format!("fraction {f}"),
    }
}

fn sort_techniques(names: &mut [String]) {
    // Baseline first, then by name.
    names.sort_by_key(|n| (n != BASELINE, n.clone()));
}

/// Data sets in the order `experiment.json` lists them, then any others by name.
fn dataset_order(exp: &ExperimentDir) -> Vec<String> {
    let present: BTreeSet<&str> = exp.cells.iter().map(|c| c.dataset.as_str()).collect();
    let mut order: Vec<String> = exp
        .definition
        .iter()
        .flat_map(|d| d.datasets.iter())
        .map(|d| d.name.as_str())
        .filter(|d| present.contains(d))
        .map(str::to_string)
        .collect();
    order.dedup();
    for d in present {
        if !order.iter().any(|o| o == d) {
            order.push(d.to_string());
        }
    }
    order
}

/// The cells of one data set split by training-set limit, smallest
/// training set first.
fn groups<'a>(cells: &[&'a Cell]) -> Vec<(String, Vec<&'a Cell>)> {
    let mut by_label: BTreeMap<String, Vec<&Cell>> = BTreeMap::new();
    for c in cells {
        by_label
            .entry(limit_label(c.train_limit))
            .or_default()
            .push(c);
    }
    let mut out: Vec<(String, Vec<&Cell>)> = by_label.into_iter().collect();
    let size = |cells: &[&Cell]| {
        Stat::of(
            &cells
                .iter()
                .map(|c| c.result.data.train_used as f64)
                .collect::<Vec<_>>(),
        )
        .mean
    };
    out.sort_by(|a, b| size(&a.1).total_cmp(&size(&b.1)).then(a.0.cmp(&b.0)));
    out
}

fn backend_name(r: &RunResult) -> String {
    match serde_json::to_value(r.provenance.backend.chosen) {
        Ok(Value::String(s)) => s,
        _ => format!("{:?}", r.provenance.backend.chosen).to_lowercase(),
    }
}

fn row_of(dataset: &str, train_limit: &str, technique: &str, runs: &[&Cell]) -> Row {
    let of = |f: &dyn Fn(&RunResult) -> f64| -> Stat {
        Stat::of(&runs.iter().map(|c| f(&c.result)).collect::<Vec<_>>())
    };
    let accuracy_of = |r: &RunResult| r.test.as_ref().map_or(f64::NAN, |t| t.figures.accuracy);
    let mut epochs: BTreeMap<u32, Vec<f64>> = BTreeMap::new();
    for c in runs {
        for e in &c.result.curves {
            if let Some(a) = e.test_accuracy {
                epochs.entry(e.epoch).or_default().push(a);
            }
        }
    }
    let mut seeds: Vec<u64> = runs.iter().map(|c| c.seed).collect();
    seeds.sort_unstable();
    let mut not_converged_seeds = Vec::new();
    let mut convergence_unknown_seeds = Vec::new();
    for c in runs {
        match converged::of(&c.result.curves) {
            Convergence::Converged => {}
            Convergence::StillImproving => not_converged_seeds.push(c.seed),
            Convergence::Unknown => convergence_unknown_seeds.push(c.seed),
        }
    }
    not_converged_seeds.sort_unstable();
    convergence_unknown_seeds.sort_unstable();
    let converged = if !not_converged_seeds.is_empty() {
        Some(false)
    } else if convergence_unknown_seeds.is_empty() {
        Some(true)
    } else {
        None
    };
    let accuracy = of(&accuracy_of);
    Row {
        dataset: dataset.to_string(),
        train_limit: train_limit.to_string(),
        train_images: of(&|r| r.data.train_used as f64),
        steps: of(&|r| r.timing.steps as f64),
        technique: technique.to_string(),
        seeds,
        accuracy,
        accuracy_ci95: accuracy.ci95(),
        macro_f1: of(&|r| r.test.as_ref().map_or(f64::NAN, |t| t.figures.macro_f1)),
        accuracy_change: None,
        macro_f1_change: None,
        paired: None,
        verdict: Verdict::NotTested,
        augmentation_cost_s: of(&cost::augmentation_cost_s),
        fixed_cost_s: of(&cost::fixed_s),
        added_cost_pct: None,
        train_time_s: of(&|r| r.timing.train_wall_s),
        added_train_time_pct: None,
        augmentation_per_step_s: of(&|r| r.timing.augmentation.mean_s),
        augmentation_share_of_step: of(&|r| r.timing.augmentation.total_s / r.timing.step.total_s),
        model_per_step_s: of(&|r| r.timing.model.mean_s),
        accuracy_at_baseline_compute: None,
        epoch_at_baseline_compute: None,
        converged,
        not_converged_seeds,
        convergence_unknown_seeds,
        peak_host_rss_bytes: runs
            .iter()
            .filter_map(|c| c.result.memory.peak_host_rss_bytes)
            .max(),
        peak_device_bytes: runs
            .iter()
            .filter_map(|c| c.result.memory.peak_device_bytes)
            .max(),
        inference_samples_per_s: of(&|r| {
            r.inference.as_ref().map_or(f64::NAN, |i| i.samples_per_s)
        }),
        backends: runs
            .iter()
            .map(|c| backend_name(&c.result))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect(),
        test_accuracy_curve: epochs
            .into_iter()
            .map(|(e, v)| [f64::from(e), Stat::of(&v).mean])
            .collect(),
        pareto: false,
        real_image_equivalent: None,
    }
}

/// Fills the comparisons of every row with the group's baseline.
fn compare_with_baseline(rows: &mut [Row], runs: &[Vec<&Cell>]) {
    let Some(b) = rows.iter().position(|r| r.technique == BASELINE) else {
        return;
    };
    let base = rows[b].clone();
    let base_acc: BTreeMap<u64, f64> = runs[b]
        .iter()
        .filter_map(|c| Some((c.seed, c.result.test.as_ref()?.figures.accuracy)))
        .collect();
    let base_step_s = Stat::of(
        &runs[b]
            .iter()
            .map(|c| c.result.timing.step.total_s)
            .collect::<Vec<_>>(),
    )
    .mean;
    let budget = Budget::of(&runs[b].iter().map(|c| &c.result).collect::<Vec<_>>());
    for (r, cells) in rows.iter_mut().zip(runs) {
        r.accuracy_change = Some(r.accuracy.mean - base.accuracy.mean);
        r.macro_f1_change = Some(r.macro_f1.mean - base.macro_f1.mean);
        r.added_cost_pct = Some(
            100.0 * (r.augmentation_cost_s.mean - base.augmentation_cost_s.mean) / base_step_s,
        );
        r.added_train_time_pct =
            Some(100.0 * (r.train_time_s.mean - base.train_time_s.mean) / base.train_time_s.mean);
        if let Some((epoch, accuracies)) =
            budget.and_then(|b| b.reached(&cells.iter().map(|c| &c.result).collect::<Vec<_>>()))
        {
            r.accuracy_at_baseline_compute = Some(Stat::of(&accuracies));
            r.epoch_at_baseline_compute = Some(epoch);
        }
        if r.technique == BASELINE {
            r.verdict = Verdict::Baseline;
            continue;
        }
        let mut pairs: Vec<(u64, f64, f64)> = cells
            .iter()
            .filter_map(|c| {
                let a = c.result.test.as_ref()?.figures.accuracy;
                Some((c.seed, a, *base_acc.get(&c.seed)?))
            })
            .collect();
        pairs.sort_by_key(|p| p.0);
        r.paired = paired_t_test(&pairs);
    }
    // Holm–Bonferroni over every technique of the group that could be tested.
    let tested: Vec<usize> = (0..rows.len())
        .filter(|&i| rows[i].paired.is_some())
        .collect();
    let raw: Vec<f64> = tested
        .iter()
        .filter_map(|&i| rows[i].paired.as_ref().map(|p| p.p_value))
        .collect();
    for (&i, adjusted) in tested.iter().zip(holm(&raw)) {
        if let Some(p) = rows[i].paired.as_mut() {
            p.p_adjusted = adjusted;
        }
    }
    for r in rows.iter_mut().filter(|r| r.technique != BASELINE) {
        r.verdict = match &r.paired {
            None => Verdict::NotTested,
            Some(p) if p.significant() && p.mean_difference > 0.0 => Verdict::Better,
            Some(p) if p.significant() && p.mean_difference < 0.0 => Verdict::Worse,
            Some(_) => Verdict::NoSignificantDifference,
        };
    }
}

/// The baseline's accuracy-vs-size curve of one group: the baseline rows of
/// the same data set whose step budget equals the group's (within 1 %), so
/// that only the data varies along it.
#[derive(Clone, Debug, Serialize)]
pub struct WorthCurve {
    pub dataset: String,
    pub train_limit: String,
    /// The group's training images (mean) and optimiser steps (mean).
    pub own_images: f64,
    pub steps: f64,
    /// Measured `[training images, mean accuracy]` of the baseline.
    pub measured: Vec<[f64; 2]>,
    /// The monotone curve through them (what equivalents are read from).
    pub fitted: Vec<[f64; 2]>,
}

/// Fills each row's real-image equivalent where its group's baseline curve
/// exists, and returns the curves.
fn place_on_size_curves(rows: &mut [Row]) -> Vec<WorthCurve> {
    let baselines: Vec<(String, f64, f64, f64)> = rows
        .iter()
        .filter(|r| r.technique == BASELINE && r.accuracy.mean.is_finite())
        .map(|r| {
            (
                r.dataset.clone(),
                r.train_images.mean,
                r.steps.mean,
                r.accuracy.mean,
            )
        })
        .collect();
    let mut groups: Vec<(String, String, f64, f64)> = rows
        .iter()
        .filter(|r| r.technique == BASELINE)
        .map(|r| {
            (
                r.dataset.clone(),
                r.train_limit.clone(),
                r.train_images.mean,
                r.steps.mean,
            )
        })
        .collect();
    groups.dedup();
    let mut curves = Vec::new();
    for (dataset, limit, own, steps) in groups {
        let group_rows = || {
            rows.iter()
                .filter(|r| r.dataset == dataset && r.train_limit == limit)
        };
        if group_rows().all(|r| r.technique == BASELINE) {
            continue;
        }
        let measured: Vec<(f64, f64)> = baselines
            .iter()
            .filter(|b| b.0 == dataset && (b.2 - steps).abs() <= 0.01 * steps.max(1.0))
            .map(|b| (b.1, b.3))
            .collect();
        let Some(curve) = worth::Curve::new(&measured) else {
            continue;
        };
        for r in rows
            .iter_mut()
            .filter(|r| r.dataset == dataset && r.train_limit == limit && r.technique != BASELINE)
        {
            if r.accuracy.mean.is_finite() {
                r.real_image_equivalent = Some(worth::equivalent(
                    &curve,
                    r.train_images.mean,
                    r.accuracy.mean,
                    r.accuracy_ci95,
                ));
            }
        }
        let mut measured: Vec<[f64; 2]> = measured.iter().map(|&(s, a)| [s, a]).collect();
        measured.sort_by(|a, b| a[0].total_cmp(&b[0]));
        curves.push(WorthCurve {
            dataset,
            train_limit: limit,
            own_images: own,
            steps,
            measured,
            fitted: curve.points().into_iter().map(|(s, a)| [s, a]).collect(),
        });
    }
    curves
}

/// Aggregates the cells into rows, backend timings and conclusions.
pub fn summarise(exp: &ExperimentDir) -> Summary {
    let mut rows = Vec::new();
    let mut conclusions = Vec::new();
    let mut backend_timing = Vec::new();
    for dataset in dataset_order(exp) {
        let ds_cells: Vec<&Cell> = exp.cells.iter().filter(|c| c.dataset == dataset).collect();
        for (limit, cells) in groups(&ds_cells) {
            let mut techniques: Vec<String> = cells
                .iter()
                .map(|c| c.technique.clone())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            sort_techniques(&mut techniques);
            let runs: Vec<Vec<&Cell>> = techniques
                .iter()
                .map(|t| {
                    cells
                        .iter()
                        .copied()
                        .filter(|c| &c.technique == t)
                        .collect()
                })
                .collect();
            let mut group_rows: Vec<Row> = techniques
                .iter()
                .zip(&runs)
                .map(|(t, r)| row_of(&dataset, &limit, t, r))
                .collect();
            compare_with_baseline(&mut group_rows, &runs);
            let pareto = rule::pareto_set(
                &group_rows
                    .iter()
                    .map(|r| (r.augmentation_cost_s.mean, r.accuracy.mean))
                    .collect::<Vec<_>>(),
            );
            for (r, p) in group_rows.iter_mut().zip(&pareto) {
                r.pareto = *p;
            }
            for (t, cells) in techniques.iter().zip(&runs) {
                let mut by_backend: BTreeMap<String, Vec<f64>> = BTreeMap::new();
                for c in cells {
                    by_backend
                        .entry(backend_name(&c.result))
                        .or_default()
                        .push(c.result.timing.augmentation.mean_s);
                }
                for (backend, values) in by_backend {
                    backend_timing.push(BackendTiming {
                        dataset: dataset.clone(),
                        train_limit: limit.clone(),
                        technique: t.clone(),
                        backend,
                        augmentation_per_step_s: Stat::of(&values),
                    });
                }
            }
            rows.extend(group_rows);
        }
    }
    // Equivalents need every size's baseline, so they come after all groups;
    // the conclusions read them.
    let worth_curves = place_on_size_curves(&mut rows);
    for dataset in dataset_order(exp) {
        let mut limits: Vec<String> = Vec::new();
        for r in rows.iter().filter(|r| r.dataset == dataset) {
            if !limits.contains(&r.train_limit) {
                limits.push(r.train_limit.clone());
            }
        }
        for limit in limits {
            let group_rows: Vec<Row> = rows
                .iter()
                .filter(|r| r.dataset == dataset && r.train_limit == limit)
                .cloned()
                .collect();
            conclusions.push(rule::conclude(&dataset, &limit, &group_rows));
        }
    }
    let data_provenance = exp
        .definition
        .iter()
        .flat_map(|d| d.datasets.iter())
        .filter(|d| d.source.is_some() || d.sha256.as_ref().is_some_and(|s| !s.is_empty()))
        .map(|d| DataProvenance {
            dataset: d.name.clone(),
            source: d.source.clone(),
            sha256: d.sha256.clone().unwrap_or_default(),
            details: d.provenance.as_ref().map(|p| p.lines()).unwrap_or_default(),
        })
        .collect();
    Summary {
        schema_version: SUMMARY_SCHEMA_VERSION,
        generated_by: format!("augkit report {}", env!("CARGO_PKG_VERSION")),
        experiment_json: exp.definition.is_some(),
        fallback_notice: exp.fallback_notice.clone(),
        data_provenance,
        rule: RULE.to_string(),
        cells: exp
            .cells
            .iter()
            .map(|c| CellRef {
                id: c.id.clone(),
                dataset: c.dataset.clone(),
                train_limit: limit_label(c.train_limit),
                technique: c.technique.clone(),
                seed: c.seed,
            })
            .collect(),
        skipped: exp
            .skipped
            .iter()
            .map(|(id, reason)| SkippedCell {
                id: id.clone(),
                reason: reason.clone(),
            })
            .collect(),
        rows,
        backend_timing,
        conclusions,
        worth_curves,
    }
}
