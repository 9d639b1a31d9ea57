//! Reads an experiment directory for the report: `experiment.json`
//! (optional) as the experiment's own type, [`crate::experiment::Experiment`]
//! (its serde defaults let older files read), and every
//! `cells/<id>/result.json` as a typed [`RunResult`], each checked by
//! [`super::validate`]. Cells that did not finish, failed, or hold figures
//! that make no sense are left out with the reason.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;
use serde_json::Value;

use super::BASELINE;
use crate::config::TrainLimit;
use crate::experiment::Experiment;
use crate::read_limits::{FileKind, read_text};
use crate::result::{RunResult, Status};

/// Parses `experiment.json`'s text; `file` names it in errors.
pub fn parse_definition(text: &str, file: &Path) -> anyhow::Result<Experiment> {
    serde_json::from_str(text).with_context(|| format!("parsing {}", file.display()))
}

/// What a cell's `config.json` tells the report (every field optional).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CellConfigView {
    technique: Option<String>,
    config: Option<ConfigView>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ConfigView {
    train_limit: Option<TrainLimit>,
}

/// One finished cell of the matrix.
#[derive(Clone, Debug)]
pub struct Cell {
    /// The directory name under `cells/`.
    pub id: String,
    pub dataset: String,
    pub technique: String,
    pub seed: u64,
    /// The training-set limit: the cell's `config.json` `config.train_limit`,
    /// else the result's `config.train_limit`.
    pub train_limit: TrainLimit,
    pub result: RunResult,
}

/// What `DIR` holds, as far as the report is concerned.
#[derive(Debug)]
pub struct ExperimentDir {
    pub dir: PathBuf,
    /// `experiment.json`, if present.
    pub definition: Option<Experiment>,
    /// The loud notice that synthetic-shapes replaced missing data, if any.
    pub fallback_notice: Option<String>,
    /// Completed cells with valid figures.
    pub cells: Vec<Cell>,
    /// `(cell id, why)` for result files left out (unfinished, failed,
    /// unreadable, or with figures that make no sense).
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

fn read_cell_config(cell_dir: &Path) -> CellConfigView {
    read_text(&cell_dir.join("config.json"), FileKind::CellConfig)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default()
}

/// One cell's `result.json`: the cell, or why it is left out.
fn read_cell(definition: Option<&Experiment>, cell_dir: &Path, id: &str) -> Result<Cell, String> {
    let path = cell_dir.join("result.json");
    let file = format!("cells/{id}/result.json");
    let text = match read_text(&path, FileKind::Result) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err("no result.json (not finished)".into());
        }
        Err(e) => return Err(format!("{file}: unreadable: {e}")),
    };
    let (raw, result) = serde_json::from_str::<Value>(&text)
        .and_then(|raw| {
            serde_json::from_value::<RunResult>(raw.clone()).map(|result| (raw, result))
        })
        .map_err(|e| format!("{file}: not a result JSON: {e}"))?;
    if result.status != Status::Completed {
        let why = result
            .error
            .clone()
            .unwrap_or_else(|| "no reason given".into());
        return Err(format!("failed: {why}"));
    }
    let problems = super::validate::check(&result);
    if !problems.is_empty() {
        let list: Vec<String> = problems.iter().map(ToString::to_string).collect();
        return Err(format!("{file}: {}", list.join("; ")));
    }
    let cell_config = read_cell_config(cell_dir);
    let listed = definition
        .and_then(|d| d.cells.iter().find(|c| c.id == id))
        .map(|c| c.technique.clone());
    Ok(Cell {
        technique: listed
            .or(cell_config.technique)
            .unwrap_or_else(|| technique_of(&raw, &result)),
        dataset: result.config.dataset.clone(),
        seed: result.config.seed,
        train_limit: cell_config
            .config
            .and_then(|c| c.train_limit)
            .unwrap_or(result.config.train_limit),
        id: id.to_string(),
        result,
    })
}

/// Reads `DIR/experiment.json` (optional) and every `DIR/cells/*/result.json`.
pub fn load(dir: &Path) -> anyhow::Result<ExperimentDir> {
    let definition_path = dir.join("experiment.json");
    let definition = match read_text(&definition_path, FileKind::Experiment) {
        Ok(text) => Some(parse_definition(&text, &definition_path)?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("reading {}", definition_path.display())),
    };
    let fallback_notice = definition.as_ref().and_then(Experiment::fallback_notice);
    let cells_dir = dir.join("cells");
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&cells_dir)
        .with_context(|| {
            format!(
                "reading {} (an experiment directory holds cells/<cell-id>/result.json)",
                cells_dir.display()
            )
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    entries.sort();
    let mut cells = Vec::new();
    let mut skipped = Vec::new();
    for cell_dir in entries {
        let id = cell_dir
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        match read_cell(definition.as_ref(), &cell_dir, &id) {
            Ok(cell) => cells.push(cell),
            Err(why) => skipped.push((id, why)),
        }
    }
    Ok(ExperimentDir {
        dir: dir.to_path_buf(),
        definition,
        fallback_notice,
        cells,
        skipped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: Value) -> Experiment {
        parse_definition(&v.to_string(), Path::new("experiment.json")).unwrap()
    }

    #[test]
    fn fallback_notice_found() {
        let v = serde_json::json!({"notices": ["fashion-mnist missing: synthetic-shapes-28 used"],
            "datasets": [{"name": "synthetic-shapes-28", "model": "simple-cnn", "fallback_from": "fashion-mnist",
                          "notice": "fashion-mnist missing: synthetic-shapes-28 used"}]});
        assert_eq!(
            parse(v).fallback_notice().unwrap(),
            "fashion-mnist missing: synthetic-shapes-28 used"
        );
        let v = serde_json::json!({"notices": [], "datasets": [{"name": "mnist", "model": "simple-cnn", "fallback_from": null, "notice": null}]});
        assert_eq!(parse(v).fallback_notice(), None);
    }

    #[test]
    fn provenance_reads() {
        let d = parse(serde_json::json!({"datasets": [
            {"name": "mnist", "model": "simple-cnn"},
            {"name": "fashion-mnist", "model": "simple-cnn", "source": "debian package",
             "sha256": {"train-images-idx3-ubyte": "ab12"}, "something_new": 3}
        ]}));
        assert_eq!(d.datasets[0].name, "mnist");
        assert_eq!(d.datasets[1].source.as_deref(), Some("debian package"));
        assert_eq!(
            d.datasets[1].sha256.as_ref().unwrap()["train-images-idx3-ubyte"],
            "ab12"
        );
        assert_eq!(d.datasets[0].sha256, None);
    }

    #[test]
    fn a_malformed_definition_names_the_file() {
        let err =
            parse_definition("{\"datasets\": 3}", Path::new("x/experiment.json")).unwrap_err();
        assert!(format!("{err:#}").contains("x/experiment.json"), "{err:#}");
    }
}
