//! The synthetic pools' section of the report: the classification accuracy
//! score (CAS: the test accuracy of the same classifier and schedule trained
//! on the generated pool alone, tested on the real test set; Ravuri &
//! Vinyals 2019) of every pool beside the baseline's real-data accuracy, the
//! generator's cost and its preview grid; and the generator cost each
//! technique was charged (its fit and sampling seconds, in the technique's
//! fixed cost). CAS cells (`cas-<technique>`) are taken out of the
//! technique comparison: they are not augmentation techniques.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::load::{Cell, ExperimentDir};
use super::stats::Stat;
use super::summary::limit_label;
use crate::generate::cas::CAS_PREFIX;

/// Removes the CAS cells from `exp.cells` and returns them.
pub fn take_cas_cells(exp: &mut ExperimentDir) -> Vec<Cell> {
    let (cas, rest): (Vec<Cell>, Vec<Cell>) = std::mem::take(&mut exp.cells)
        .into_iter()
        .partition(|c| c.technique.starts_with(CAS_PREFIX));
    exp.cells = rest;
    cas
}

fn accuracy(c: &Cell) -> Option<f64> {
    c.result.test.as_ref().map(|t| 100.0 * t.figures.accuracy)
}

fn stat_text(s: &Stat) -> String {
    if s.n > 1 {
        format!("{:.2} ± {:.2} (n = {})", s.mean, s.std, s.n)
    } else {
        format!("{:.2} (n = {})", s.mean, s.n)
    }
}

/// One CAS row.
#[derive(Clone, Debug, serde::Serialize)]
pub struct CasRow {
    pub dataset: String,
    pub train_limit: String,
    /// The technique whose pool it is.
    pub technique: String,
    pub generator: String,
    pub pool_images: u64,
    /// CAS, percent.
    pub cas: Stat,
    /// The baseline's test accuracy on the real subset, percent.
    pub real: Option<Stat>,
    pub fit_s: Stat,
    pub sample_s: Stat,
    /// Preview grids, relative to the experiment directory.
    pub previews: Vec<String>,
}

/// The CAS rows, one per (data set, size, technique), sorted.
pub fn cas_rows(cas: &[Cell], others: &[Cell]) -> Vec<CasRow> {
    let mut groups: BTreeMap<(String, String, String), Vec<&Cell>> = BTreeMap::new();
    for c in cas {
        let technique = c.technique[CAS_PREFIX.len()..].to_string();
        groups
            .entry((c.dataset.clone(), limit_label(c.train_limit), technique))
            .or_default()
            .push(c);
    }
    groups
        .into_iter()
        .map(|((dataset, train_limit, technique), cells)| {
            let generator = |c: &&Cell| c.result.timing.fixed.generator.clone();
            let gens: Vec<_> = cells.iter().filter_map(generator).collect();
            let real: Vec<f64> = others
                .iter()
                .filter(|o| {
                    o.technique == super::BASELINE
                        && o.dataset == dataset
                        && limit_label(o.train_limit) == train_limit
                })
                .filter_map(accuracy)
                .collect();
            CasRow {
                generator: gens.first().map_or("-".into(), |g| g.generator.clone()),
                pool_images: gens.first().map_or(0, |g| g.pool_images),
                cas: Stat::of(&cells.iter().filter_map(|c| accuracy(c)).collect::<Vec<_>>()),
                real: (!real.is_empty()).then(|| Stat::of(&real)),
                fit_s: Stat::of(&gens.iter().map(|g| g.fit_s).collect::<Vec<_>>()),
                sample_s: Stat::of(&gens.iter().map(|g| g.sample_s).collect::<Vec<_>>()),
                previews: gens
                    .iter()
                    .map(|g| g.preview.clone())
                    .filter(|p| !p.is_empty())
                    .collect(),
                dataset,
                train_limit,
                technique,
            }
        })
        .collect()
}

/// The report's markdown section (empty when the experiment has no pools).
pub fn section(cas: &[Cell], others: &[Cell]) -> String {
    let rows = cas_rows(cas, others);
    let charged: Vec<&Cell> = others
        .iter()
        .filter(|c| c.result.timing.fixed.generator.is_some())
        .collect();
    if rows.is_empty() && charged.is_empty() {
        return String::new();
    }
    let mut s = String::from("\n## Synthetic pools: CAS and generator cost\n\n");
    s += "CAS (classification accuracy score) is the test accuracy of the same classifier, trained \
          with the same schedule on the synthetic pool alone (no augmentation, no real image), tested \
          on the real test set; *real* is the baseline (`none`) trained on the real subset. A pool \
          whose CAS is near *real* holds the classes' information; one far below it does not. The \
          generator was fitted on the cell's training subset only. `pca` is the per-class PCA model \
          of `[synthetic] mode = \"pca\"` (the classical baseline), sampled into a pool of 1× the \
          subset. Fit and sampling seconds are as first measured (the fit is cached per data set, \
          subset, seed and configuration, and every cell that uses it is charged it).\n\n";
    if !rows.is_empty() {
        s += "| data set | train size | pool of | generator | pool images | CAS (%) | real (%) | fit (s) | sampling (s) | preview |\n";
        s += "|---|---|---|---|---:|---|---|---:|---:|---|\n";
        for r in &rows {
            let preview = r
                .previews
                .first()
                .map_or("-".into(), |p| format!("[grid]({p})"));
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} | {:.1} | {:.2} | {} |",
                r.dataset,
                r.train_limit,
                r.technique,
                r.generator,
                r.pool_images,
                stat_text(&r.cas),
                r.real.as_ref().map_or("-".into(), stat_text),
                r.fit_s.mean,
                r.sample_s.mean,
                preview
            );
        }
        s += "\n";
    }
    if !charged.is_empty() {
        let mut groups: BTreeMap<(String, String, String), Vec<&Cell>> = BTreeMap::new();
        for c in charged {
            groups
                .entry((
                    c.dataset.clone(),
                    limit_label(c.train_limit),
                    c.technique.clone(),
                ))
                .or_default()
                .push(c);
        }
        s += "Generator cost charged to each technique (part of its fixed cost in the cost table):\n\n";
        s += "| data set | train size | technique | generator | fit (s) | sampling (s) | charged per run (s) | runs that fitted it |\n";
        s += "|---|---|---|---|---:|---:|---:|---:|\n";
        for ((dataset, limit, technique), cells) in groups {
            let gens: Vec<_> = cells
                .iter()
                .filter_map(|c| c.result.timing.fixed.generator.clone())
                .collect();
            let fit = Stat::of(&gens.iter().map(|g| g.fit_s).collect::<Vec<_>>());
            let sample = Stat::of(&gens.iter().map(|g| g.sample_s).collect::<Vec<_>>());
            let fitted = gens.iter().filter(|g| !g.cached).count();
            let _ = writeln!(
                s,
                "| {dataset} | {limit} | {technique} | {} | {:.1} | {:.2} | {:.1} | {fitted} of {} |",
                gens[0].generator,
                fit.mean,
                sample.mean,
                fit.mean + sample.mean,
                gens.len()
            );
        }
    }
    s
}
