//! The files an experiment directory holds, as types: `experiment.json`
//! ([`Experiment`], the one type the experiment writes and the report reads)
//! and `cells/<id>/config.json` ([`CellConfig`]). Fields added after version 1
//! carry serde defaults, so every older file still reads.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::args::Preset;
use crate::config::{DeviceChoice, OptimizerKind, TrainConfig, TrainLimit};
use crate::models::ModelKind;
use crate::schedule::Schedule;
use crate::source::BackendChoice;

/// Bumped whenever a field of `experiment.json` changes meaning.
/// 2: the training-set size became an axis (`training.train_limits`,
/// `cells[].train_limit`) and data sets record `source` and `sha256`;
/// version-1 files still read (one limit, no provenance).
pub const EXPERIMENT_SCHEMA_VERSION: u32 = 2;

/// One technique: a name and its policy.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Technique {
    pub name: String,
    pub policy_file: PathBuf,
    pub policy: augkit::Policy,
}

/// One data set of the matrix.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DatasetEntry {
    /// The name the cells use.
    pub name: String,
    pub model: ModelKind,
    /// The data set asked for, when this one replaced it.
    #[serde(default)]
    pub fallback_from: Option<String>,
    /// Why, in words (also in `notices`).
    #[serde(default)]
    pub notice: Option<String>,
    /// Where the files came from, e.g. `debian:dataset-fashion-mnist
    /// 0.0~git20200523.55506a9-1 (/usr/share/datasets/fashion-mnist); content
    /// matches the official Fashion-MNIST checksums`, or `generated …`.
    #[serde(default)]
    pub source: Option<String>,
    /// File → SHA-256 of its uncompressed content (IDX data sets).
    #[serde(default)]
    pub sha256: Option<BTreeMap<String, String>>,
    /// A `folder:`/`parquet:`/`npz:` set: what was read and what was done
    /// to it (classes, counts, conversions, digests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<augkit_data::SourceProvenance>,
}

/// Settings every cell shares.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Training {
    pub epochs: u32,
    pub batch_size: u32,
    pub lr: f64,
    pub weight_decay: f64,
    pub optimizer: OptimizerKind,
    pub schedule: Schedule,
    /// The first of `train_limits` (what version-1 files hold).
    pub train_limit: TrainLimit,
    /// The training-set sizes of the matrix axis (empty in version-1 files:
    /// read as `[train_limit]`).
    #[serde(default)]
    pub train_limits: Vec<TrainLimit>,
    pub eval_every: u32,
    pub backend: BackendChoice,
    pub device: DeviceChoice,
    /// `--eval-subset`: the curves' test images (absent: the whole test set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eval_subset: Option<u32>,
    /// `--baseline-sizes`: multiples of each main size at which the
    /// baseline also runs, every cell then with the main size's step budget
    /// (`cells[].train_limit` and each cell's `config.steps`). Absent: none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub baseline_sizes: Vec<f64>,
}

impl Training {
    /// The axis, for old and new files alike.
    pub fn limits(&self) -> Vec<TrainLimit> {
        if self.train_limits.is_empty() {
            vec![self.train_limit]
        } else {
            self.train_limits.clone()
        }
    }
}

/// A cell as `experiment.json` lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CellEntry {
    pub id: String,
    pub dataset: String,
    pub technique: String,
    pub seed: u64,
    /// The cell's training-set size (`None` in version-1 files: see
    /// `training.train_limit`).
    #[serde(default)]
    pub train_limit: Option<TrainLimit>,
}

/// `DIR/experiment.json`. Every part but the data sets may be absent from
/// a file (the report also reads partial, hand-made ones).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Experiment {
    #[serde(default = "version_1")]
    pub schema_version: u32,
    #[serde(default)]
    pub preset: Option<Preset>,
    #[serde(default)]
    pub datasets: Vec<DatasetEntry>,
    #[serde(default)]
    pub techniques: Vec<Technique>,
    #[serde(default)]
    pub seeds: Vec<u64>,
    /// Always written; `None` only in a file that leaves it out.
    #[serde(default)]
    pub training: Option<Training>,
    /// Loud notices (e.g. a data-set fallback) the report must repeat.
    #[serde(default)]
    pub notices: Vec<String>,
    /// Every cell, sorted by id (the order `--shard` counts in).
    #[serde(default)]
    pub cells: Vec<CellEntry>,
}

fn version_1() -> u32 {
    1
}

impl Experiment {
    /// The loud notices (e.g. generated shapes replacing a missing data
    /// set), once each: every string of `notices`, then every data set's
    /// `notice` (or, without one, its `fallback_from`).
    pub fn fallback_notice(&self) -> Option<String> {
        let mut notices: Vec<String> = Vec::new();
        let mut push = |n: String| {
            if !n.trim().is_empty() && !notices.contains(&n) {
                notices.push(n);
            }
        };
        for n in &self.notices {
            push(n.clone());
        }
        for d in &self.datasets {
            if let Some(n) = &d.notice {
                push(n.clone());
            } else if let Some(from) = &d.fallback_from {
                push(format!("{} replaced {from}", d.name));
            }
        }
        (!notices.is_empty()).then(|| notices.join("; "))
    }
}

/// `DIR/cells/<id>/config.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CellConfig {
    pub id: String,
    pub dataset: String,
    pub technique: String,
    pub seed: u64,
    /// The training configuration as hashed: paths (data dir, policy file,
    /// output), `threads` and `quiet` left out.
    pub config: TrainConfig,
}
