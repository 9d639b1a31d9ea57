//! `augkit report DIR`: rebuilds an experiment's summary from its result
//! files alone (`DIR/cells/*/result.json`, plus `DIR/experiment.json` when it
//! is there) into `DIR/report.md`, `DIR/summary.csv`, `DIR/summary.json` and
//! the charts under `DIR/plots/` (see [`crate::plots`]). Every number in them
//! is computed here from the result files; `docs/HARNESS.md` documents each
//! column and the trade-off rule ([`RULE`]).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Serialize;
use serde_json::Value;

use crate::result::{RunResult, Status};

/// The technique every other one is compared with.
pub const BASELINE: &str = "none";

/// Added training time (percent of the baseline's) up to which a technique
/// counts as free: timing noise between runs is of this order.
pub const FREE_OVERHEAD_PCT: f64 = 1.0;

/// The best-trade-off rule, as the report states it.
pub const RULE: &str = "Best trade-off = among the techniques whose mean test accuracy is \
above the baseline's (`none`), the one with the largest accuracy gain per unit of added \
training time: gain in percentage points (pp) divided by the added mean training time in \
percent of the baseline's. A technique whose training time is at most 1 % above the \
baseline's (or below it) is free: free techniques rank before all others, by gain. Ties \
(within 1e-9) go to the larger gain, then the shorter training time, then the name. If no \
technique beats the baseline, the baseline is the best trade-off. Techniques that are both \
slower and less accurate than the baseline are named as such. The Pareto set holds every \
technique (baseline included) that no other technique beats on both mean training time \
(lower) and mean test accuracy (higher) at once.";

/// One finished cell of the matrix.
#[derive(Clone, Debug)]
pub struct Cell {
    /// The directory name under `cells/`.
    pub id: String,
    pub dataset: String,
    pub technique: String,
    pub seed: u64,
    pub result: RunResult,
}

/// What `DIR` holds, as far as the report is concerned.
#[derive(Debug)]
pub struct Experiment {
    pub dir: PathBuf,
    /// `experiment.json` as written, if present and readable.
    pub definition: Option<Value>,
    /// The loud notice that synthetic-shapes replaced missing data, if any.
    pub fallback_notice: Option<String>,
    /// Completed cells with test figures.
    pub cells: Vec<Cell>,
    /// `(cell id, why)` for result files left out (failed, unreadable).
    pub skipped: Vec<(String, String)>,
}

/// The technique of a result not listed in `experiment.json` or a cell
/// `config.json`: `config.technique` or a top-level `technique` where the
/// writer recorded one, else the policy file's stem, else `none` (no policy:
/// the identity).
pub fn technique_of(raw: &Value, result: &RunResult) -> String {
    for pointer in ["/config/technique", "/technique"] {
        if let Some(t) = raw.pointer(pointer).and_then(Value::as_str) {
            return t.to_string();
        }
    }
    match &result.config.policy_file {
        Some(p) => p
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| p.display().to_string()),
        None => BASELINE.to_string(),
    }
}

/// The loud notices of `experiment.json` (e.g. synthetic-shapes replacing a
/// missing data set): every string of `notices`, every data set's `notice`
/// (or `fallback_from`), and any other top-level key whose name contains
/// `fallback` with a non-empty value (`false`/`null`/empty mean none).
pub fn fallback_notice(definition: &Value) -> Option<String> {
    let map = definition.as_object()?;
    let mut notices: Vec<String> = Vec::new();
    let mut push = |n: String| {
        if !n.trim().is_empty() && !notices.contains(&n) {
            notices.push(n);
        }
    };
    for n in map
        .get("notices")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(s) = n.as_str() {
            push(s.to_string());
        }
    }
    for d in map
        .get("datasets")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(n) = d.get("notice").and_then(Value::as_str) {
            push(n.to_string());
        } else if let Some(from) = d.get("fallback_from").and_then(Value::as_str) {
            let name = d.get("name").and_then(Value::as_str).unwrap_or("?");
            push(format!("{name} replaced {from}"));
        }
    }
    for (key, value) in map {
        if !key.to_ascii_lowercase().contains("fallback") {
            continue;
        }
        match value {
            Value::Null | Value::Bool(false) => {}
            Value::Array(a) if a.is_empty() => {}
            Value::Object(o) if o.is_empty() => {}
            Value::String(s) => push(s.clone()),
            other => push(format!("{key}: {other}")),
        }
    }
    (!notices.is_empty()).then(|| notices.join("; "))
}

/// The technique `experiment.json` (its `cells[]`) or the cell's
/// `config.json` names for a cell id.
fn listed_technique(definition: Option<&Value>, cell_dir: &Path, id: &str) -> Option<String> {
    let from_definition = definition
        .and_then(|d| d.get("cells"))
        .and_then(Value::as_array)
        .and_then(|cells| {
            cells
                .iter()
                .find(|c| c.get("id").and_then(Value::as_str) == Some(id))
        })
        .and_then(|c| c.get("technique"))
        .and_then(Value::as_str)
        .map(str::to_string);
    from_definition.or_else(|| {
        let text = std::fs::read_to_string(cell_dir.join("config.json")).ok()?;
        let v: Value = serde_json::from_str(&text).ok()?;
        v.get("technique")
            .and_then(Value::as_str)
            .map(str::to_string)
    })
}

/// Reads `DIR/experiment.json` (optional) and every `DIR/cells/*/result.json`.
pub fn load(dir: &Path) -> anyhow::Result<Experiment> {
    let definition_path = dir.join("experiment.json");
    let definition = match std::fs::read_to_string(&definition_path) {
        Ok(text) => Some(
            serde_json::from_str::<Value>(&text)
                .with_context(|| format!("parsing {}", definition_path.display()))?,
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("reading {}", definition_path.display())),
    };
    let fallback = definition.as_ref().and_then(fallback_notice);
    let cells_dir = dir.join("cells");
    let mut entries: Vec<PathBuf> = match std::fs::read_dir(&cells_dir) {
        Ok(read) => read
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir())
            .collect(),
        Err(e) => {
            return Err(e).with_context(|| {
                format!(
                    "reading {} (an experiment directory holds cells/<cell-id>/result.json)",
                    cells_dir.display()
                )
            });
        }
    };
    entries.sort();
    let mut cells = Vec::new();
    let mut skipped = Vec::new();
    for cell_dir in entries {
        let id = cell_dir
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let path = cell_dir.join("result.json");
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                skipped.push((id, "no result.json (not finished)".into()));
                continue;
            }
            Err(e) => {
                skipped.push((id, format!("unreadable: {e}")));
                continue;
            }
        };
        let parsed = serde_json::from_str::<Value>(&text).and_then(|raw| {
            serde_json::from_value::<RunResult>(raw.clone()).map(|result| (raw, result))
        });
        let (raw, result) = match parsed {
            Ok(pair) => pair,
            Err(e) => {
                skipped.push((id, format!("not a result JSON: {e}")));
                continue;
            }
        };
        if result.status != Status::Completed || result.test.is_none() {
            let why = result
                .error
                .clone()
                .unwrap_or_else(|| "no test figures".into());
            skipped.push((id, format!("failed: {why}")));
            continue;
        }
        cells.push(Cell {
            technique: listed_technique(definition.as_ref(), &cell_dir, &id)
                .unwrap_or_else(|| technique_of(&raw, &result)),
            dataset: result.config.dataset.clone(),
            seed: result.config.seed,
            id,
            result,
        });
    }
    Ok(Experiment {
        dir: dir.to_path_buf(),
        definition,
        fallback_notice: fallback,
        cells,
        skipped,
    })
}

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
}

/// One technique on one data set, over its seeds.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub dataset: String,
    pub technique: String,
    pub seeds: Vec<u64>,
    /// Test accuracy as a fraction in [0, 1].
    pub accuracy: Stat,
    pub macro_f1: Stat,
    /// Mean accuracy minus the baseline's mean (fraction; `None` without a baseline).
    pub accuracy_change: Option<f64>,
    pub macro_f1_change: Option<f64>,
    /// `timing.train_wall_s`: the training epochs' wall time.
    pub train_time_s: Stat,
    /// Mean training time minus the baseline's, in percent of the baseline's.
    pub added_train_time_pct: Option<f64>,
    /// `timing.augmentation.mean_s` (seconds per step).
    pub augmentation_per_step_s: Stat,
    /// `timing.augmentation.total_s / timing.step.total_s` (fraction of the step).
    pub augmentation_share_of_step: Stat,
    /// `timing.model.mean_s` (seconds per step).
    pub model_per_step_s: Stat,
    /// Largest `memory.peak_host_rss_bytes` over the seeds.
    pub peak_host_rss_bytes: Option<u64>,
    /// Largest `memory.peak_device_bytes` over the seeds (null on CPU).
    pub peak_device_bytes: Option<u64>,
    /// `inference.samples_per_s`.
    pub inference_samples_per_s: Stat,
    /// `provenance.backend.chosen` of the runs.
    pub backends: Vec<String>,
    /// Mean test accuracy per epoch over the seeds that evaluated it: `[epoch, accuracy]`.
    pub test_accuracy_curve: Vec<[f64; 2]>,
    pub pareto: bool,
}

/// Augmentation time per step of one technique with one backend on one data set.
#[derive(Clone, Debug, Serialize)]
pub struct BackendTiming {
    pub dataset: String,
    pub technique: String,
    pub backend: String,
    pub augmentation_per_step_s: Stat,
}

/// The generated conclusion for one data set.
#[derive(Clone, Debug, Serialize)]
pub struct Conclusion {
    pub dataset: String,
    /// The best trade-off by [`RULE`] (the baseline when nothing beats it).
    pub best: Option<String>,
    /// Gain (pp) per added training time (%), `None` for free or baseline.
    pub best_efficiency: Option<f64>,
    pub most_accurate: Option<String>,
    pub pareto: Vec<String>,
    pub slower_and_worse: Vec<String>,
    pub text: String,
}

/// Everything `summary.json` holds.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    pub schema_version: u32,
    pub generated_by: String,
    pub experiment_json: bool,
    pub fallback_notice: Option<String>,
    pub rule: String,
    pub cells: Vec<CellRef>,
    pub skipped: Vec<SkippedCell>,
    pub rows: Vec<Row>,
    pub backend_timing: Vec<BackendTiming>,
    pub conclusions: Vec<Conclusion>,
}

#[derive(Clone, Debug, Serialize)]
pub struct CellRef {
    pub id: String,
    pub dataset: String,
    pub technique: String,
    pub seed: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct SkippedCell {
    pub id: String,
    pub reason: String,
}

fn sort_techniques(names: &mut [String]) {
    // Baseline first, then by name.
    names.sort_by_key(|n| (n != BASELINE, n.clone()));
}

/// Data sets in the order `experiment.json` lists them, then any others by name.
fn dataset_order(exp: &Experiment) -> Vec<String> {
    let present: BTreeSet<&str> = exp.cells.iter().map(|c| c.dataset.as_str()).collect();
    let mut order: Vec<String> = exp
        .definition
        .as_ref()
        .and_then(|d| d.get("datasets"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|d| d.as_str().or_else(|| d.get("name").and_then(Value::as_str)))
                .filter(|d| present.contains(d))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    for d in present {
        if !order.iter().any(|o| o == d) {
            order.push(d.to_string());
        }
    }
    order
}

/// Aggregates the cells into rows, backend timings and conclusions.
pub fn summarise(exp: &Experiment) -> Summary {
    let mut rows = Vec::new();
    let mut conclusions = Vec::new();
    let mut backend_timing = Vec::new();
    for dataset in dataset_order(exp) {
        let cells: Vec<&Cell> = exp.cells.iter().filter(|c| c.dataset == dataset).collect();
        let mut techniques: Vec<String> = cells
            .iter()
            .map(|c| c.technique.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        sort_techniques(&mut techniques);
        let mut ds_rows: Vec<Row> = techniques
            .iter()
            .map(|t| {
                let runs: Vec<&Cell> = cells
                    .iter()
                    .copied()
                    .filter(|c| &c.technique == t)
                    .collect();
                row_of(&dataset, t, &runs)
            })
            .collect();
        let baseline = ds_rows
            .iter()
            .find(|r| r.technique == BASELINE)
            .map(|r| (r.accuracy.mean, r.macro_f1.mean, r.train_time_s.mean));
        if let Some((acc, f1, time)) = baseline {
            for r in &mut ds_rows {
                r.accuracy_change = Some(r.accuracy.mean - acc);
                r.macro_f1_change = Some(r.macro_f1.mean - f1);
                r.added_train_time_pct = Some(100.0 * (r.train_time_s.mean - time) / time);
            }
        }
        let pareto = pareto_set(
            &ds_rows
                .iter()
                .map(|r| (r.train_time_s.mean, r.accuracy.mean))
                .collect::<Vec<_>>(),
        );
        for (r, p) in ds_rows.iter_mut().zip(&pareto) {
            r.pareto = *p;
        }
        for t in &techniques {
            let mut by_backend: BTreeMap<String, Vec<f64>> = BTreeMap::new();
            for c in cells.iter().filter(|c| &c.technique == t) {
                by_backend
                    .entry(backend_name(&c.result))
                    .or_default()
                    .push(c.result.timing.augmentation.mean_s);
            }
            for (backend, values) in by_backend {
                backend_timing.push(BackendTiming {
                    dataset: dataset.clone(),
                    technique: t.clone(),
                    backend,
                    augmentation_per_step_s: Stat::of(&values),
                });
            }
        }
        conclusions.push(conclude(&dataset, &ds_rows));
        rows.extend(ds_rows);
    }
    Summary {
        schema_version: 1,
        generated_by: format!("augkit report {}", env!("CARGO_PKG_VERSION")),
        experiment_json: exp.definition.is_some(),
        fallback_notice: exp.fallback_notice.clone(),
        rule: RULE.to_string(),
        cells: exp
            .cells
            .iter()
            .map(|c| CellRef {
                id: c.id.clone(),
                dataset: c.dataset.clone(),
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
    }
}

fn backend_name(r: &RunResult) -> String {
    match serde_json::to_value(r.provenance.backend.chosen) {
        Ok(Value::String(s)) => s,
        _ => format!("{:?}", r.provenance.backend.chosen).to_lowercase(),
    }
}

fn row_of(dataset: &str, technique: &str, runs: &[&Cell]) -> Row {
    let of = |f: &dyn Fn(&RunResult) -> f64| -> Stat {
        Stat::of(&runs.iter().map(|c| f(&c.result)).collect::<Vec<_>>())
    };
    let test = |r: &RunResult| r.test.as_ref().map(|t| t.figures.clone());
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
    Row {
        dataset: dataset.to_string(),
        technique: technique.to_string(),
        seeds,
        accuracy: of(&|r| test(r).map_or(f64::NAN, |t| t.accuracy)),
        macro_f1: of(&|r| test(r).map_or(f64::NAN, |t| t.macro_f1)),
        accuracy_change: None,
        macro_f1_change: None,
        train_time_s: of(&|r| r.timing.train_wall_s),
        added_train_time_pct: None,
        augmentation_per_step_s: of(&|r| r.timing.augmentation.mean_s),
        augmentation_share_of_step: of(&|r| {
            share(r.timing.augmentation.total_s, r.timing.step.total_s)
        }),
        model_per_step_s: of(&|r| r.timing.model.mean_s),
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
    }
}

fn share(part: f64, whole: f64) -> f64 {
    if whole > 0.0 { part / whole } else { 0.0 }
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

/// Candidates ranked by [`RULE`]: `(technique, gain_pp, added_pct, free)`,
/// best first.
pub fn rank_tradeoffs(rows: &[Row]) -> Vec<(String, f64, f64, bool)> {
    let mut candidates: Vec<(String, f64, f64, bool)> = rows
        .iter()
        .filter(|r| r.technique != BASELINE)
        .filter_map(|r| {
            let gain = 100.0 * r.accuracy_change?;
            let added = r.added_train_time_pct?;
            (gain > 0.0).then(|| (r.technique.clone(), gain, added, added <= FREE_OVERHEAD_PCT))
        })
        .collect();
    // Efficiency rounded to 1e-9 so that near-equal ratios tie (a total order).
    let eff = |c: &(String, f64, f64, bool)| {
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

fn conclude(dataset: &str, rows: &[Row]) -> Conclusion {
    let pareto: Vec<String> = rows
        .iter()
        .filter(|r| r.pareto)
        .map(|r| r.technique.clone())
        .collect();
    let most_accurate = rows
        .iter()
        .max_by(|a, b| {
            a.accuracy
                .mean
                .total_cmp(&b.accuracy.mean)
                .then_with(|| b.train_time_s.mean.total_cmp(&a.train_time_s.mean))
        })
        .map(|r| r.technique.clone());
    let mut text = String::new();
    let Some(base) = rows.iter().find(|r| r.technique == BASELINE) else {
        text += &format!(
            "No `{BASELINE}` (baseline) results for {dataset}: no gains or trade-off can be computed."
        );
        if let Some(m) = &most_accurate {
            text += &format!(" Most accurate: `{m}`.");
        }
        return Conclusion {
            dataset: dataset.to_string(),
            best: None,
            best_efficiency: None,
            most_accurate,
            pareto,
            slower_and_worse: vec![],
            text,
        };
    };
    let slower_and_worse: Vec<String> = rows
        .iter()
        .filter(|r| r.technique != BASELINE)
        .filter(|r| {
            r.accuracy.mean < base.accuracy.mean && r.train_time_s.mean > base.train_time_s.mean
        })
        .map(|r| r.technique.clone())
        .collect();
    let ranked = rank_tradeoffs(rows);
    let (best, best_efficiency) = match ranked.first() {
        None => {
            text += &format!(
                "No technique beat the baseline's mean test accuracy ({:.2} %): the best trade-off is `{BASELINE}`.",
                100.0 * base.accuracy.mean
            );
            (Some(BASELINE.to_string()), None)
        }
        Some((name, gain, added, free)) => {
            if *free {
                text += &format!(
                    "Best trade-off: `{name}`, +{gain:.2} pp test accuracy over `{BASELINE}` at no added training time ({added:+.1} %, within the {FREE_OVERHEAD_PCT} % free margin)."
                );
                (Some(name.clone()), None)
            } else {
                let eff = gain / added;
                text += &format!(
                    "Best trade-off: `{name}`, +{gain:.2} pp test accuracy over `{BASELINE}` for {added:+.1} % training time ({eff:.3} pp per % of added time)."
                );
                (Some(name.clone()), Some(eff))
            }
        }
    };
    if let Some(m) = &most_accurate
        && Some(m) != best.as_ref()
    {
        let r = rows.iter().find(|r| &r.technique == m).expect("row exists");
        text += &format!(
            " Most accurate: `{m}` ({:.2} %, {:+.1} % training time).",
            100.0 * r.accuracy.mean,
            r.added_train_time_pct.unwrap_or(0.0)
        );
    }
    if !slower_and_worse.is_empty() {
        text += &format!(
            " Slower and less accurate than the baseline: {}.",
            quoted(&slower_and_worse)
        );
    }
    text += &format!(
        " Pareto set (accuracy vs training time): {}.",
        quoted(&pareto)
    );
    Conclusion {
        dataset: dataset.to_string(),
        best,
        best_efficiency,
        most_accurate,
        pareto,
        slower_and_worse,
        text,
    }
}

fn quoted(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Writes `bytes` to `path` atomically (temporary file in the same
/// directory, synced, renamed).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp.{}", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Column headers of `summary.csv` (numbers at full precision).
pub const CSV_HEADER: &str = "dataset,technique,runs,seeds,accuracy_mean,accuracy_std,\
macro_f1_mean,macro_f1_std,accuracy_change,macro_f1_change,train_time_s_mean,train_time_s_std,\
added_train_time_pct,augmentation_per_step_s_mean,augmentation_per_step_s_std,\
augmentation_share_of_step_mean,model_per_step_s_mean,model_per_step_s_std,\
peak_host_rss_bytes,peak_device_bytes,inference_samples_per_s_mean,\
inference_samples_per_s_std,backends,pareto";

/// `summary.csv`.
pub fn csv(summary: &Summary) -> String {
    let opt = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    let optu = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_default();
    let mut s = String::from(CSV_HEADER);
    s.push('\n');
    for r in &summary.rows {
        let seeds: Vec<String> = r.seeds.iter().map(u64::to_string).collect();
        let _ = writeln!(
            s,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            r.dataset,
            r.technique,
            r.seeds.len(),
            seeds.join(" "),
            r.accuracy.mean,
            r.accuracy.std,
            r.macro_f1.mean,
            r.macro_f1.std,
            opt(r.accuracy_change),
            opt(r.macro_f1_change),
            r.train_time_s.mean,
            r.train_time_s.std,
            opt(r.added_train_time_pct),
            r.augmentation_per_step_s.mean,
            r.augmentation_per_step_s.std,
            r.augmentation_share_of_step.mean,
            r.model_per_step_s.mean,
            r.model_per_step_s.std,
            optu(r.peak_host_rss_bytes),
            optu(r.peak_device_bytes),
            r.inference_samples_per_s.mean,
            r.inference_samples_per_s.std,
            r.backends.join(" "),
            r.pareto
        );
    }
    s
}

const MIB: f64 = 1024.0 * 1024.0;

/// The chart files of a data set, relative to the experiment directory.
pub fn plot_stem(dataset: &str, kind: &str) -> String {
    format!("plots/{dataset}-{kind}")
}

/// `report.md`.
pub fn markdown(exp: &Experiment, summary: &Summary) -> String {
    let mut s = String::from("# augkit experiment report\n\n");
    if let Some(notice) = &summary.fallback_notice {
        let _ = writeln!(
            s,
            "> **⚠ DATA FALLBACK — THESE ARE NOT THE REQUESTED DATA SETS.** {notice}\n>\n\
             > The figures below were measured on generated `synthetic-shapes` images in place of \
             the missing data and say nothing about accuracy on the real data.\n"
        );
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
    s += "Columns: test accuracy and macro F1 as mean ± sample standard deviation over the seeds; \
          Δ against the `none` baseline's mean (accuracy in percentage points); training time = \
          the training epochs' wall time; augmentation and model time are means per step, and the \
          augmentation share is augmentation time / whole step time; peak RSS is the largest over \
          the seeds; inference in test images per second. ★ = in the Pareto set.\n\n";
    for c in &summary.conclusions {
        let ds = &c.dataset;
        let _ = writeln!(s, "## {ds}\n");
        s += "| technique | seeds | accuracy (%) | Δ acc (pp) | macro F1 | Δ F1 | training time (s) | Δ time (%) | aug / step (ms) | aug share (%) | model / step (ms) | peak RSS (MiB) | inference (img/s) | Pareto |\n";
        s += "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
        for r in summary.rows.iter().filter(|r| &r.dataset == ds) {
            let dash = || "—".to_string();
            // The baseline's own Δ columns show a dash, not +0.
            let delta = |d: Option<f64>| d.filter(|_| r.technique != BASELINE);
            let _ = writeln!(
                s,
                "| {} | {} | {:.2} ± {:.2} | {} | {:.4} ± {:.4} | {} | {:.2} ± {:.2} | {} | {:.3} | {:.1} | {:.3} | {} | {:.1} | {} |",
                r.technique,
                r.seeds.len(),
                100.0 * r.accuracy.mean,
                100.0 * r.accuracy.std,
                delta(r.accuracy_change).map_or_else(dash, |d| format!("{:+.2}", 100.0 * d)),
                r.macro_f1.mean,
                r.macro_f1.std,
                delta(r.macro_f1_change).map_or_else(dash, |d| format!("{d:+.4}")),
                r.train_time_s.mean,
                r.train_time_s.std,
                delta(r.added_train_time_pct).map_or_else(dash, |d| format!("{d:+.1}")),
                1e3 * r.augmentation_per_step_s.mean,
                100.0 * r.augmentation_share_of_step.mean,
                1e3 * r.model_per_step_s.mean,
                r.peak_host_rss_bytes
                    .map_or_else(dash, |b| format!("{:.0}", b as f64 / MIB)),
                r.inference_samples_per_s.mean,
                if r.pareto { "★" } else { "" }
            );
        }
        let _ = writeln!(s, "\n**Conclusion.** {}\n", c.text);
        for (kind, title) in [
            ("curves", "Test accuracy per epoch"),
            (
                "tradeoff",
                "Accuracy gain vs added training time, Pareto front",
            ),
            (
                "aug-time",
                "Augmentation time per step by technique and backend",
            ),
        ] {
            let stem = plot_stem(ds, kind);
            let _ = writeln!(s, "![{title} — {ds}]({stem}.png) ([SVG]({stem}.svg))\n");
        }
    }
    let _ = writeln!(s, "## The rule\n\n{RULE}\n");
    s
}

/// What `augkit report` wrote.
#[derive(Debug)]
pub struct Written {
    pub summary: Summary,
    pub files: Vec<PathBuf>,
}

/// `augkit report DIR`: reads the results, writes the summary files and charts.
pub fn run(dir: &Path) -> anyhow::Result<Written> {
    let exp = load(dir)?;
    anyhow::ensure!(
        !exp.cells.is_empty(),
        "{}: no completed result under cells/*/result.json{}",
        dir.display(),
        if exp.skipped.is_empty() {
            String::new()
        } else {
            format!(" ({} left out: {})", exp.skipped.len(), exp.skipped[0].1)
        }
    );
    let summary = summarise(&exp);
    let mut files = crate::plots::draw_all(dir, &exp, &summary)?;
    let outputs = [
        ("summary.json", {
            let mut j = serde_json::to_vec_pretty(&summary)?;
            j.push(b'\n');
            j
        }),
        ("summary.csv", csv(&summary).into_bytes()),
        ("report.md", markdown(&exp, &summary).into_bytes()),
    ];
    for (name, bytes) in outputs {
        let path = dir.join(name);
        write_atomic(&path, &bytes).with_context(|| format!("writing {}", path.display()))?;
        files.push(path);
    }
    Ok(Written { summary, files })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_uses_sample_std() {
        let s = Stat::of(&[1.0, 2.0, 3.0]);
        assert_eq!((s.mean, s.std, s.n), (2.0, 1.0, 3));
        assert_eq!(Stat::of(&[5.0]).std, 0.0);
    }

    #[test]
    fn pareto_keeps_undominated() {
        // (cost, value)
        let p = pareto_set(&[(1.0, 0.5), (2.0, 0.7), (2.5, 0.6), (1.0, 0.5), (3.0, 0.9)]);
        assert_eq!(p, vec![true, true, false, true, true]);
    }

    fn row(technique: &str, acc: f64, time: f64) -> Row {
        let st = |v: f64| Stat::of(&[v]);
        Row {
            dataset: "d".into(),
            technique: technique.into(),
            seeds: vec![0],
            accuracy: st(acc),
            macro_f1: st(acc),
            accuracy_change: None,
            macro_f1_change: None,
            train_time_s: st(time),
            added_train_time_pct: None,
            augmentation_per_step_s: st(0.0),
            augmentation_share_of_step: st(0.0),
            model_per_step_s: st(0.0),
            peak_host_rss_bytes: None,
            peak_device_bytes: None,
            inference_samples_per_s: st(0.0),
            backends: vec![],
            test_accuracy_curve: vec![],
            pareto: false,
        }
    }

    fn with_baseline(mut rows: Vec<Row>) -> Vec<Row> {
        let (acc, time) = (rows[0].accuracy.mean, rows[0].train_time_s.mean);
        for r in &mut rows {
            r.accuracy_change = Some(r.accuracy.mean - acc);
            r.added_train_time_pct = Some(100.0 * (r.train_time_s.mean - time) / time);
        }
        rows
    }

    #[test]
    fn rule_breaks_ties_by_gain_then_time_then_name() {
        // b and c: 2 pp for 10 % and 4 pp for 20 % (0.2 pp/% each) → c (larger gain).
        let rows = with_baseline(vec![
            row("none", 0.50, 100.0),
            row("b", 0.52, 110.0),
            row("c", 0.54, 120.0),
        ]);
        assert_eq!(rank_tradeoffs(&rows)[0].0, "c");
        // Equal gain and time → by name.
        let rows = with_baseline(vec![
            row("none", 0.50, 100.0),
            row("y", 0.52, 110.0),
            row("x", 0.52, 110.0),
        ]);
        assert_eq!(rank_tradeoffs(&rows)[0].0, "x");
        // Free (≤ 1 % slower) beats any paid one, whatever the ratio.
        let rows = with_baseline(vec![
            row("none", 0.50, 100.0),
            row("free", 0.501, 100.9),
            row("paid", 0.60, 101.5),
        ]);
        assert_eq!(rank_tradeoffs(&rows)[0].0, "free");
    }

    #[test]
    fn nothing_better_than_the_baseline_keeps_it() {
        let rows = with_baseline(vec![
            row("none", 0.50, 100.0),
            row("slow", 0.45, 150.0),
            row("fast", 0.49, 90.0),
        ]);
        let c = conclude("d", &rows);
        assert_eq!(c.best.as_deref(), Some(BASELINE));
        assert_eq!(c.slower_and_worse, vec!["slow".to_string()]);
        assert!(
            c.text.contains("No technique beat the baseline"),
            "{}",
            c.text
        );
    }

    #[test]
    fn fallback_notice_found() {
        let v = serde_json::json!({"notices": ["fashion-mnist missing: synthetic-shapes-28 used"],
            "datasets": [{"name": "synthetic-shapes-28", "fallback_from": "fashion-mnist",
                          "notice": "fashion-mnist missing: synthetic-shapes-28 used"}]});
        assert_eq!(
            fallback_notice(&v).unwrap(),
            "fashion-mnist missing: synthetic-shapes-28 used"
        );
        let v = serde_json::json!({"notices": [], "datasets": [{"name": "mnist", "fallback_from": null, "notice": null}]});
        assert_eq!(fallback_notice(&v), None);
        let v = serde_json::json!({"preset": "x", "fallback": "cifar10 missing: synthetic-shapes used"});
        assert!(fallback_notice(&v).unwrap().contains("cifar10 missing"));
        let v = serde_json::json!({"fallback_notice": null, "data_fallback": false});
        assert_eq!(fallback_notice(&v), None);
        let v = serde_json::json!({"fallback": {"requested": "mnist", "used": "synthetic-shapes"}});
        assert!(fallback_notice(&v).unwrap().contains("synthetic-shapes"));
    }
}
