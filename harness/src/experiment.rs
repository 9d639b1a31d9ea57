//! `augkit experiment`: the matrix data set × technique × seed, one training
//! run per cell, resumable and shardable.
//!
//! Layout of `--out DIR` (read by `augkit report`):
//! - `DIR/experiment.json`: the matrix ([`Experiment`]): preset, data sets
//!   (with any fallback notice), techniques (their policies in full), seeds,
//!   the shared training settings and the list of cells;
//! - `DIR/cells/<cell-id>/config.json`: the cell's full configuration
//!   ([`CellConfig`]);
//! - `DIR/cells/<cell-id>/result.json`: the finished cell's `RunResult`,
//!   written atomically — its presence means "finished";
//! - `DIR/cells/<cell-id>/checkpoint.json`, `model-e<E>.ot`,
//!   `optimizer-e<E>.ot`: the in-progress checkpoint ([`crate::checkpoint`]),
//!   removed once the result is written.
//!
//! `<cell-id>` is `<dataset>-<technique>-s<seed>-<hash>`, `<hash>` the first
//! 12 hex digits of the SHA-256 of the canonical JSON (keys sorted, no
//! spaces) of the cell's configuration with its paths left out. Changing
//! anything that changes the training gives new cells; re-running with the
//! same flags skips finished cells and resumes unfinished ones.
//!
//! The matrix is data set × technique × seed × training-set size (the
//! `--train-per-class` / `--train-fraction` axis); cells of different sizes
//! differ by `config.train_limit`, so by their hash.
//!
//! Expect the `quick` preset (8 techniques × 3 seeds on real Fashion-MNIST,
//! simple CNN, 300 images per class, 12 epochs) to take ≈ 15–25 minutes on 2
//! CPU cores (docs/HARNESS.md, "Presets").

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use augkit_data::ImageSet;
use clap::{Args, ValueEnum};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::{DeviceChoice, OptimizerKind, TrainConfig, TrainLimit};
use crate::models::ModelKind;
use crate::result::{RunResult, Status, write_json_atomic};
use crate::schedule::Schedule;
use crate::source::BackendChoice;
use crate::train::{RunContext, TrainData};

/// Bumped whenever a field of `experiment.json` changes meaning.
/// 2: the training-set size became an axis (`training.train_limits`,
/// `cells[].train_limit`) and data sets record `source` and `sha256`;
/// version-1 files still read (one limit, no provenance).
pub const EXPERIMENT_SCHEMA_VERSION: u32 = 2;

/// The generated 1×28×28 shapes the `quick` preset falls back to.
pub const SYNTHETIC_28: &str = "synthetic-shapes-28";
/// Images per class of [`SYNTHETIC_28`] (train, test).
pub const SYNTHETIC_28_PER_CLASS: (usize, usize) = (500, 100);

/// The `quick` preset's techniques (docs/HARNESS.md, "Presets", says why).
pub const QUICK_TECHNIQUES: [&str; 8] = [
    "none", "crop", "flips", "vflip", "rotation", "mixup", "cutmix", "all",
];
/// The `quick` preset's training-set size (images per class) and epochs.
pub const QUICK_PER_CLASS: u32 = 300;
pub const QUICK_EPOCHS: u32 = 12;
/// The `limited-data` preset's axis, techniques and epochs.
pub const LIMITED_DATA_PER_CLASS: [u32; 3] = [50, 200, 1000];
pub const LIMITED_DATA_TECHNIQUES: [&str; 9] = [
    "none",
    "crop",
    "flips",
    "rotation",
    "mixup",
    "cutmix",
    "all",
    "trivialaugment",
    "randaugment",
];
pub const LIMITED_DATA_EPOCHS: u32 = 30;

/// How long `quick` waits for `augkit download` before falling back.
pub const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Preset {
    /// CPU-sized (scripts/run, ≤ 30 min on 2 cores with the build): real
    /// Fashion-MNIST (else generated 1×28×28 shapes, loudly), simple CNN,
    /// techniques none, crop, flips, vflip, rotation, mixup, cutmix, all;
    /// 300 images per class, 12 epochs, cosine schedule (the baseline
    /// converges), test accuracy every epoch, seeds 0, 1, 2.
    Quick,
    /// The limited-data sweep: Fashion-MNIST, simple CNN, 50, 200 and 1000
    /// images per class as a matrix axis, techniques none, crop, flips,
    /// rotation, mixup, cutmix, all, trivialaugment, randaugment; 30 epochs, cosine schedule, seeds 0, 1,
    /// 2. Sized for a GPU (hours on 2 CPU cores).
    LimitedData,
    /// The seed plan: CIFAR-10 + ResNet-18 and Fashion-MNIST + simple CNN,
    /// Adam 1e-3, batch 64, 50 epochs, wd 1e-4, 500 images per class,
    /// seeds 0, 1, 2.
    SeedPlan,
}

/// `augkit experiment` flags.
#[derive(Debug, Args)]
pub struct ExperimentArgs {
    /// The experiment directory (created; re-running resumes it).
    #[arg(long)]
    pub out: PathBuf,
    /// Defaults for everything below.
    #[arg(long, value_enum)]
    pub preset: Option<Preset>,
    /// Data sets, comma-separated: cifar10, fashion-mnist, mnist,
    /// synthetic-shapes (3×32×32), synthetic-shapes-28 (1×28×28).
    #[arg(long, value_delimiter = ',')]
    pub datasets: Vec<String>,
    /// Techniques (policy file stems in --policy-dir), comma-separated;
    /// default: every *.toml there.
    #[arg(long, value_delimiter = ',')]
    pub techniques: Vec<String>,
    /// An extra technique from any policy file: NAME=FILE (repeatable).
    #[arg(long = "technique", value_name = "NAME=FILE")]
    pub extra_techniques: Vec<String>,
    /// Seeds, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub seeds: Vec<u64>,
    /// Where technique policies are (default: harness/policies).
    #[arg(long)]
    pub policy_dir: Option<PathBuf>,
    /// Model for every data set (default: resnet18 for cifar10, else simple-cnn).
    #[arg(long, value_enum)]
    pub model: Option<ModelKind>,
    #[arg(long)]
    pub epochs: Option<u32>,
    #[arg(long)]
    pub batch_size: Option<u32>,
    #[arg(long)]
    pub lr: Option<f64>,
    #[arg(long)]
    pub weight_decay: Option<f64>,
    #[arg(long, value_enum)]
    pub optimizer: Option<OptimizerKind>,
    #[arg(long, value_enum)]
    pub schedule: Option<Schedule>,
    /// Training-set sizes, images per class, comma-separated: one value, or
    /// several for a matrix axis (e.g. 50,200,1000).
    #[arg(long, value_delimiter = ',', conflicts_with = "train_fraction")]
    pub train_per_class: Vec<u32>,
    /// Training-set sizes as fractions of each class, comma-separated (an
    /// axis like --train-per-class).
    #[arg(long, value_delimiter = ',')]
    pub train_fraction: Vec<f64>,
    /// Evaluate the test set every N epochs for the curves (0: only at the end).
    #[arg(long)]
    pub eval_every: Option<u32>,
    #[arg(long, value_enum, default_value_t = BackendChoice::Auto)]
    pub backend: BackendChoice,
    #[arg(long, value_enum, default_value_t = DeviceChoice::Cpu)]
    pub device: DeviceChoice,
    /// Directory holding the data sets (DIR or DIR/NAME).
    #[arg(long, default_value = "data")]
    pub data_dir: PathBuf,
    /// libtorch intra-op threads (not part of the cell id).
    #[arg(long)]
    pub threads: Option<u32>,
    /// Run only share K of N (0-based): cells whose index in the sorted
    /// matrix is K mod N. Default from SLURM_ARRAY_TASK_ID/COUNT when set.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,
    /// Plain per-epoch log lines instead of progress bars.
    #[arg(long)]
    pub quiet: bool,
}

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
    pub fallback_from: Option<String>,
    /// Why, in words (also in `notices`).
    pub notice: Option<String>,
    /// Where the files came from, e.g. `debian:dataset-fashion-mnist
    /// 0.0~git20200523.55506a9-1 (/usr/share/datasets/fashion-mnist); content
    /// matches the official Fashion-MNIST checksums`, or `generated …`.
    #[serde(default)]
    pub source: Option<String>,
    /// File → SHA-256 of its uncompressed content (IDX data sets).
    #[serde(default)]
    pub sha256: Option<BTreeMap<String, String>>,
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

/// `DIR/experiment.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Experiment {
    pub schema_version: u32,
    pub preset: Option<Preset>,
    pub datasets: Vec<DatasetEntry>,
    pub techniques: Vec<Technique>,
    pub seeds: Vec<u64>,
    pub training: Training,
    /// Loud notices (e.g. a data-set fallback) the report must repeat.
    pub notices: Vec<String>,
    /// Every cell, sorted by id (the order `--shard` counts in).
    pub cells: Vec<CellEntry>,
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

/// `--shard K/N`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let (k, n) = text
            .split_once('/')
            .ok_or_else(|| anyhow::anyhow!("--shard is {text}; expected K/N, e.g. 0/4"))?;
        let (index, count): (u32, u32) = (
            k.trim()
                .parse()
                .with_context(|| format!("--shard {text}"))?,
            n.trim()
                .parse()
                .with_context(|| format!("--shard {text}"))?,
        );
        anyhow::ensure!(
            count >= 1 && index < count,
            "--shard is {text}; expected 0 ≤ K < N"
        );
        Ok(Self { index, count })
    }

    /// From `SLURM_ARRAY_TASK_ID`, `SLURM_ARRAY_TASK_COUNT` (and
    /// `SLURM_ARRAY_TASK_MIN`, so arrays numbered from 1 work) when set.
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> anyhow::Result<Option<Self>> {
        let (Some(id), Some(count)) = (get("SLURM_ARRAY_TASK_ID"), get("SLURM_ARRAY_TASK_COUNT"))
        else {
            return Ok(None);
        };
        let id: u32 = id.parse().context("SLURM_ARRAY_TASK_ID")?;
        let count: u32 = count.parse().context("SLURM_ARRAY_TASK_COUNT")?;
        let min: u32 = get("SLURM_ARRAY_TASK_MIN")
            .map(|m| m.parse())
            .transpose()
            .context("SLURM_ARRAY_TASK_MIN")?
            .unwrap_or(0);
        Self::parse(&format!("{}/{count}", id.saturating_sub(min))).map(Some)
    }

    pub fn takes(self, position: usize) -> bool {
        position % self.count as usize == self.index as usize
    }
}

/// JSON with object keys sorted at every level and no whitespace.
pub fn canonical_json(value: &serde_json::Value) -> String {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let body: Vec<String> = keys
                .into_iter()
                .map(|k| {
                    format!(
                        "{}:{}",
                        serde_json::to_string(k).expect("a string"),
                        canonical_json(&map[k])
                    )
                })
                .collect();
            format!("{{{}}}", body.join(","))
        }
        Value::Array(items) => {
            let body: Vec<String> = items.iter().map(canonical_json).collect();
            format!("[{}]", body.join(","))
        }
        other => serde_json::to_string(other).expect("a JSON scalar"),
    }
}

/// Lower-case letters, digits and `-` only (other characters become `-`).
fn slug(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

/// The cell's configuration as hashed (paths, threads, quiet removed).
pub fn hashed_config(config: &TrainConfig) -> TrainConfig {
    TrainConfig {
        data_dir: PathBuf::new(),
        policy_file: None,
        out: None,
        threads: None,
        quiet: false,
        ..config.clone()
    }
}

/// `<dataset>-<technique>-s<seed>-<first 12 hex of sha256(canonical config)>`.
pub fn cell_id(technique: &str, config: &TrainConfig) -> String {
    let cell = CellConfig {
        id: String::new(),
        dataset: config.dataset.clone(),
        technique: technique.to_string(),
        seed: config.seed,
        config: hashed_config(config),
    };
    let value = serde_json::to_value(&cell).expect("a serialisable config");
    let digest = Sha256::digest(canonical_json(&value).as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-s{}-{}",
        slug(&config.dataset),
        slug(technique),
        config.seed,
        &hex[..12]
    )
}

/// The directory the shipped technique policies are in: `harness/policies`
/// under the working directory, else the source tree the binary was built from.
pub fn default_policy_dir() -> PathBuf {
    let local = PathBuf::from("harness/policies");
    if local.is_dir() {
        local
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("policies")
    }
}

/// Reads the techniques: `names` from `dir` (every `*.toml` there when
/// empty, sorted) plus `NAME=FILE` extras.
pub fn techniques(
    dir: &Path,
    names: &[String],
    extras: &[String],
) -> anyhow::Result<Vec<Technique>> {
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    if names.is_empty() {
        let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
            .with_context(|| format!("--policy-dir {}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        found.sort();
        for path in found {
            let stem = path
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            files.push((stem, path));
        }
    } else {
        for name in names {
            let path = dir.join(format!("{name}.toml"));
            anyhow::ensure!(
                path.is_file(),
                "--techniques {name}: no {} (add the file or pass --technique {name}=FILE)",
                path.display()
            );
            files.push((name.clone(), path));
        }
    }
    for extra in extras {
        let (name, file) = extra
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("--technique {extra}: expected NAME=FILE"))?;
        files.push((name.to_string(), PathBuf::from(file)));
    }
    anyhow::ensure!(
        !files.is_empty(),
        "no techniques: {} holds no *.toml",
        dir.display()
    );
    let mut seen = BTreeSet::new();
    files
        .into_iter()
        .map(|(name, path)| {
            anyhow::ensure!(seen.insert(slug(&name)), "technique {name} is given twice");
            let policy = augkit::Policy::from_file(&path)
                .with_context(|| format!("technique {name}: {}", path.display()))?;
            Ok(Technique {
                name,
                policy_file: path,
                policy,
            })
        })
        .collect()
}

/// The model a data set gets unless `--model` says otherwise.
pub fn default_model(dataset: &str) -> ModelKind {
    if dataset == "cifar10" {
        ModelKind::Resnet18
    } else {
        ModelKind::SimpleCnn
    }
}

/// Loads (train, test) of an experiment data set name.
pub fn load_dataset(name: &str, data_dir: &Path) -> anyhow::Result<(ImageSet, ImageSet)> {
    if name == SYNTHETIC_28 {
        let (seed_train, seed_test) = augkit_data::SYNTHETIC_SEEDS;
        let mut train =
            augkit_data::synthetic::generate(1, 28, 28, SYNTHETIC_28_PER_CLASS.0, seed_train)?;
        let mut test =
            augkit_data::synthetic::generate(1, 28, 28, SYNTHETIC_28_PER_CLASS.1, seed_test)?;
        train.name = format!("{SYNTHETIC_28}-train");
        test.name = format!("{SYNTHETIC_28}-test");
        return Ok((train, test));
    }
    crate::data::load(name, data_dir)
}

/// Runs `augkit download NAME` with a time limit (the thread is abandoned
/// when it runs over).
fn download_with_timeout(name: &str, data_dir: &Path, timeout: Duration) -> anyhow::Result<()> {
    let (tx, rx) = std::sync::mpsc::channel();
    let (name_owned, dir) = (name.to_string(), data_dir.to_path_buf());
    std::thread::spawn(move || {
        let _ = tx.send(augkit_data::download(&name_owned, &dir, None).map(|_| ()));
    });
    match rx.recv_timeout(timeout) {
        Ok(result) => Ok(result?),
        Err(_) => anyhow::bail!("no answer within {} s", timeout.as_secs()),
    }
}

fn loud(lines: &[String]) {
    let bar = "!".repeat(78);
    eprintln!("\n{bar}");
    for line in lines {
        eprintln!("!!! {line}");
    }
    eprintln!("{bar}\n");
}

/// The matrix the flags describe, with the data sets checked (and the
/// `quick` fallback applied).
pub fn plan(args: &ExperimentArgs) -> anyhow::Result<(Experiment, Vec<CellConfig>)> {
    let preset = args.preset;
    let seed_plan = preset == Some(Preset::SeedPlan);
    let quick = preset == Some(Preset::Quick);
    let limited = preset == Some(Preset::LimitedData);
    let datasets: Vec<String> = if !args.datasets.is_empty() {
        args.datasets.clone()
    } else if seed_plan {
        vec!["cifar10".into(), "fashion-mnist".into()]
    } else if quick || limited {
        vec!["fashion-mnist".into()]
    } else {
        anyhow::bail!("give --datasets or a --preset (quick, limited-data, seed-plan)")
    };
    let seeds = if !args.seeds.is_empty() {
        args.seeds.clone()
    } else if preset.is_some() {
        vec![0, 1, 2]
    } else {
        vec![0]
    };
    let (datasets, seeds) = (dedup("--datasets", datasets), dedup("--seeds", seeds));
    let mut train_limits: Vec<TrainLimit> = if !args.train_per_class.is_empty() {
        args.train_per_class
            .iter()
            .map(|&n| TrainLimit::PerClass(n))
            .collect()
    } else if !args.train_fraction.is_empty() {
        args.train_fraction
            .iter()
            .map(|&f| TrainLimit::Fraction(f))
            .collect()
    } else if seed_plan {
        vec![TrainLimit::PerClass(500)]
    } else if quick {
        vec![TrainLimit::PerClass(QUICK_PER_CLASS)]
    } else if limited {
        LIMITED_DATA_PER_CLASS
            .iter()
            .map(|&n| TrainLimit::PerClass(n))
            .collect()
    } else {
        vec![TrainLimit::All]
    };
    let mut seen_limits = Vec::new();
    train_limits.retain(|l| {
        let new = !seen_limits.contains(l);
        seen_limits.push(*l);
        new
    });
    let default_epochs = if quick {
        QUICK_EPOCHS
    } else if limited {
        LIMITED_DATA_EPOCHS
    } else {
        50
    };
    let training = Training {
        epochs: args.epochs.unwrap_or(default_epochs),
        batch_size: args.batch_size.unwrap_or(64),
        lr: args.lr.unwrap_or(1e-3),
        weight_decay: args.weight_decay.unwrap_or(1e-4),
        optimizer: args.optimizer.unwrap_or(OptimizerKind::Adam),
        // Annealing lets a short run settle: the presets' baselines converge.
        schedule: args.schedule.unwrap_or(if quick || limited {
            Schedule::Cosine
        } else {
            Schedule::Constant
        }),
        train_limit: train_limits[0],
        train_limits,
        eval_every: args.eval_every.unwrap_or(1),
        backend: args.backend,
        device: args.device,
    };
    let policy_dir = args.policy_dir.clone().unwrap_or_else(default_policy_dir);
    let preset_techniques: Vec<String> = match preset {
        _ if !args.techniques.is_empty() => args.techniques.clone(),
        Some(Preset::Quick) => QUICK_TECHNIQUES.iter().map(|t| t.to_string()).collect(),
        Some(Preset::LimitedData) => LIMITED_DATA_TECHNIQUES
            .iter()
            .map(|t| t.to_string())
            .collect(),
        _ => Vec::new(),
    };
    let techniques = techniques(&policy_dir, &preset_techniques, &args.extra_techniques)?;

    let mut notices = Vec::new();
    let mut entries = Vec::new();
    for name in &datasets {
        let known = augkit_data::DATASETS.contains(&name.as_str()) || name == SYNTHETIC_28;
        anyhow::ensure!(
            known,
            "--datasets {name}: unknown; expected one of {}, {SYNTHETIC_28}",
            augkit_data::DATASETS.join(", ")
        );
        let mut entry = DatasetEntry {
            name: name.clone(),
            model: args.model.unwrap_or_else(|| default_model(name)),
            fallback_from: None,
            notice: None,
            source: None,
            sha256: None,
        };
        if quick && name != SYNTHETIC_28 && !dataset_present(name, &args.data_dir) {
            eprintln!(
                "augkit experiment: {name} is not in {}; trying `augkit download {name}` (at most {} s)",
                args.data_dir.display(),
                DOWNLOAD_TIMEOUT.as_secs()
            );
            if let Err(e) = download_with_timeout(name, &args.data_dir, DOWNLOAD_TIMEOUT) {
                let notice = format!(
                    "DATA FALLBACK: {name} is not on disk and could not be downloaded ({e:#}); \
                     this experiment uses GENERATED {SYNTHETIC_28} (1×28×28 synthetic shapes) instead. \
                     Its accuracies say nothing about {name}. Put {name} in {} (augkit download {name}) \
                     and re-run into a new directory for real figures.",
                    args.data_dir.display()
                );
                loud(std::slice::from_ref(&notice));
                notices.push(notice.clone());
                entry.fallback_from = Some(name.clone());
                entry.notice = Some(notice);
                entry.name = SYNTHETIC_28.into();
            }
        }
        if entry.name.starts_with("synthetic-shapes") {
            entry.source = Some(format!("generated by augkit-data ({})", entry.name));
        } else if let Some((_, source, sha256)) =
            augkit_data::idx_provenance(&entry.name, &args.data_dir)
        {
            entry.source = Some(source);
            entry.sha256 = Some(sha256);
        }
        // A fallback can make two entries the same data set.
        if !entries.iter().any(|e: &DatasetEntry| e.name == entry.name) {
            entries.push(entry);
        }
    }

    let mut cells = Vec::new();
    for entry in &entries {
        for technique in &techniques {
            for (&seed, &train_limit) in seeds
                .iter()
                .flat_map(|s| training.train_limits.iter().map(move |l| (s, l)))
            {
                let config = TrainConfig {
                    dataset: entry.name.clone(),
                    data_dir: args.data_dir.clone(),
                    data_options: None,
                    model: entry.model,
                    policy_file: Some(technique.policy_file.clone()),
                    policy: technique.policy.clone(),
                    epochs: training.epochs,
                    batch_size: training.batch_size,
                    lr: training.lr,
                    weight_decay: training.weight_decay,
                    optimizer: training.optimizer,
                    schedule: training.schedule,
                    train_limit,
                    seed,
                    backend: training.backend,
                    device: training.device,
                    eval_every: training.eval_every,
                    threads: args.threads,
                    quiet: args.quiet,
                    out: None,
                    ..TrainConfig::new(entry.name.clone(), entry.model)
                };
                config
                    .validate()
                    .with_context(|| format!("{} × {}", entry.name, technique.name))?;
                cells.push(CellConfig {
                    id: cell_id(&technique.name, &config),
                    dataset: entry.name.clone(),
                    technique: technique.name.clone(),
                    seed,
                    config,
                });
            }
        }
    }
    cells.sort_by(|a, b| a.id.cmp(&b.id));
    // Shards count positions in this list: a repeated cell would be trained
    // by two shards.
    if let Some(pair) = cells.windows(2).find(|w| w[0].id == w[1].id) {
        anyhow::bail!("cell {} appears twice in the matrix", pair[0].id);
    }
    let experiment = Experiment {
        schema_version: EXPERIMENT_SCHEMA_VERSION,
        preset,
        datasets: entries,
        techniques,
        seeds,
        training,
        notices,
        cells: cells
            .iter()
            .map(|c| CellEntry {
                id: c.id.clone(),
                dataset: c.dataset.clone(),
                technique: c.technique.clone(),
                seed: c.seed,
                train_limit: Some(c.config.train_limit),
            })
            .collect(),
    };
    Ok((experiment, cells))
}

/// `values` with repeats removed (first occurrence kept), saying so: a
/// repeated data set or seed would give two cells with one id.
fn dedup<T: PartialEq + std::fmt::Display>(flag: &str, values: Vec<T>) -> Vec<T> {
    let mut kept: Vec<T> = Vec::with_capacity(values.len());
    for value in values {
        if kept.contains(&value) {
            eprintln!("augkit experiment: {flag} lists {value} more than once; using it once");
        } else {
            kept.push(value);
        }
    }
    kept
}

/// Whether `name`'s files are in `dir` (generated sets always are).
fn dataset_present(name: &str, dir: &Path) -> bool {
    name.starts_with("synthetic-shapes") || augkit_data::load(name, dir).is_ok()
}

/// How one cell went in this invocation.
#[derive(Clone, Debug, PartialEq)]
pub enum CellOutcome {
    /// `result.json` was already there.
    Skipped(Status),
    /// Trained now (from scratch or resumed).
    Ran(Status),
    /// Could not run (the error).
    Error(String),
}

/// Trains one cell in `cell_dir`, resuming its checkpoint if there is one;
/// writes `result.json` atomically and then removes the checkpoint.
pub fn run_cell(
    cell_dir: &Path,
    cell: &CellConfig,
    data: &(ImageSet, ImageSet),
    data_load_s: f64,
    command_line: Vec<String>,
) -> anyhow::Result<RunResult> {
    std::fs::create_dir_all(cell_dir)?;
    write_json_atomic(&cell_dir.join("config.json"), cell)?;
    let mut ctx = RunContext::now(command_line);
    let t = Instant::now();
    let (train, test) = (data.0.clone(), data.1.clone());
    let subset = crate::data::training_subset(&train, cell.config.train_limit, cell.seed)?;
    ctx.data_load_s = data_load_s + t.elapsed().as_secs_f64();
    let mut config = cell.config.clone();
    config.out = Some(cell_dir.join("result.json"));
    let result = crate::train::train_resumable(
        &config,
        TrainData {
            train,
            test,
            subset,
        },
        ctx,
        Some(cell_dir),
    )?;
    write_json_atomic(&cell_dir.join("result.json"), &result)
        .with_context(|| format!("writing {}", cell_dir.join("result.json").display()))?;
    crate::checkpoint::clear(cell_dir)?;
    Ok(result)
}

/// Everything `augkit experiment` does. Returns each cell of this shard
/// with its outcome.
pub fn run(
    args: &ExperimentArgs,
    command_line: Vec<String>,
) -> anyhow::Result<Vec<(String, CellOutcome)>> {
    let shard = match &args.shard {
        Some(text) => Shard::parse(text)?,
        None => Shard::from_env(|k| std::env::var(k).ok())?.unwrap_or(Shard::ALL),
    };
    // Before anything is loaded: this share of the directory is ours alone
    // (shards may share it), it is writable, and what killed runs left in
    // it is gone.
    let _run_lock = crate::outdir::lock_run("--out", &args.out, shard.index, shard.count)?;
    let cells_dir = args.out.join("cells");
    crate::outdir::ensure_writable_dir("--out", &cells_dir)?;
    let cleaned = crate::outdir::clean_stale(&args.out)
        .with_context(|| format!("cleaning up {}", args.out.display()))?;
    if cleaned.files > 0 {
        eprintln!(
            "augkit experiment: removed {} file(s), {:.1} MiB, left by interrupted runs in {}",
            cleaned.files,
            cleaned.bytes as f64 / (1024.0 * 1024.0),
            args.out.display()
        );
    }
    let (experiment, cells) = plan(args)?;
    write_json_atomic(&args.out.join("experiment.json"), &experiment)
        .with_context(|| format!("writing {}", args.out.join("experiment.json").display()))?;

    let mine: Vec<&CellConfig> = cells
        .iter()
        .enumerate()
        .filter(|&(i, _)| shard.takes(i))
        .map(|(_, c)| c)
        .collect();
    let done = |c: &CellConfig| read_status(&cells_dir.join(&c.id));
    let pending = mine.iter().filter(|c| done(c).is_none()).count();
    eprintln!(
        "augkit experiment: {} cells in the matrix, {} in shard {}/{}, {} to run, into {}",
        cells.len(),
        mine.len(),
        shard.index,
        shard.count,
        pending,
        args.out.display()
    );
    if !experiment.notices.is_empty() {
        loud(&experiment.notices);
    }

    let mut loaded: Option<(String, (ImageSet, ImageSet), f64)> = None;
    let mut outcomes = Vec::new();
    for (n, cell) in mine.iter().enumerate() {
        let cell_dir = cells_dir.join(&cell.id);
        if let Some(status) = done(cell) {
            outcomes.push((cell.id.clone(), CellOutcome::Skipped(status)));
            continue;
        }
        eprintln!(
            "[{}/{}] cell {} ({} × {} × seed {})",
            n + 1,
            mine.len(),
            cell.id,
            cell.dataset,
            cell.technique,
            cell.seed
        );
        if loaded
            .as_ref()
            .is_none_or(|(name, _, _)| name != &cell.dataset)
        {
            let t = Instant::now();
            match load_dataset(&cell.dataset, &args.data_dir) {
                Ok(data) => loaded = Some((cell.dataset.clone(), data, t.elapsed().as_secs_f64())),
                Err(e) => {
                    let message = format!("{e:#}");
                    eprintln!("error: cell {}: {message}", cell.id);
                    outcomes.push((cell.id.clone(), CellOutcome::Error(message)));
                    continue;
                }
            }
        }
        let (_, data, load_s) = loaded.as_ref().expect("loaded above");
        // Another process (a run with other --shard numbers) may be training
        // this cell: leave it to that one.
        let _cell_lock = match std::fs::create_dir_all(&cell_dir)
            .and_then(|()| crate::outdir::lock_cell(&cell_dir))
        {
            Ok(Ok(lock)) => lock,
            Ok(Err(holder)) => {
                let message = format!(
                    "another augkit process (pid {holder}) is training this cell; left to it"
                );
                eprintln!("error: cell {}: {message}", cell.id);
                outcomes.push((cell.id.clone(), CellOutcome::Error(message)));
                continue;
            }
            Err(e) => {
                let e = anyhow::Error::new(e).context(format!("locking {}", cell_dir.display()));
                if disk_full(&e) {
                    return Err(e);
                }
                eprintln!("error: cell {}: {e:#}", cell.id);
                outcomes.push((cell.id.clone(), CellOutcome::Error(format!("{e:#}"))));
                continue;
            }
        };
        if let Some(status) = done(cell) {
            // Finished by another process since the count above.
            outcomes.push((cell.id.clone(), CellOutcome::Skipped(status)));
            continue;
        }
        // A libtorch error inside a tch call that panics fails this cell,
        // not the matrix.
        let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            run_cell(&cell_dir, cell, data, *load_s, command_line.clone())
        }))
        .unwrap_or_else(|panic| {
            let what = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("a panic");
            Err(anyhow::anyhow!("the cell's training panicked: {what}"))
        });
        if let Err(e) = &ran
            && disk_full(e)
        {
            let left = mine.len() - n - 1;
            anyhow::bail!(
                "cell {}: {e:#}; stopping the experiment ({left} later cell(s) of this shard not \
                 started; finished cells and committed checkpoints are kept, so a re-run resumes)",
                cell.id
            );
        }
        match ran {
            Ok(result) => {
                let accuracy = result.test.as_ref().map_or("-".into(), |t| {
                    format!("{:.2}%", 100.0 * t.figures.accuracy)
                });
                eprintln!(
                    "cell {}: {:?}, test accuracy {accuracy}, {:.1} s{}",
                    cell.id,
                    result.status,
                    result.timing.total_wall_s,
                    result
                        .resumed_from_epoch
                        .map_or(String::new(), |e| format!(" (resumed after epoch {e})"))
                );
                outcomes.push((cell.id.clone(), CellOutcome::Ran(result.status)));
            }
            Err(e) => {
                let message = format!("{e:#}");
                eprintln!("error: cell {}: {message}", cell.id);
                outcomes.push((cell.id.clone(), CellOutcome::Error(message)));
            }
        }
    }
    Ok(outcomes)
}

/// Whether `e` comes from a full disk (a checkpoint or a result write).
fn disk_full(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        matches!(
            cause.downcast_ref::<crate::checkpoint::CheckpointError>(),
            Some(crate::checkpoint::CheckpointError::DiskFull { .. })
        ) || cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(crate::checkpoint::is_disk_full)
    })
}

/// `augkit experiment`: runs, then prints one line per cell. Exit status 0
/// when every cell of this shard finished with `completed`.
pub fn main(args: &ExperimentArgs) -> anyhow::Result<std::process::ExitCode> {
    let outcomes = run(args, std::env::args().collect())?;
    let mut ok = true;
    let (mut skipped, mut ran) = (0, 0);
    for (id, outcome) in &outcomes {
        match outcome {
            CellOutcome::Skipped(Status::Completed) => skipped += 1,
            CellOutcome::Ran(Status::Completed) => ran += 1,
            CellOutcome::Skipped(Status::Failed) | CellOutcome::Ran(Status::Failed) => {
                ok = false;
                eprintln!("cell {id}: failed (see its result.json)");
            }
            CellOutcome::Error(e) => {
                ok = false;
                eprintln!("cell {id}: error: {e}");
            }
        }
    }
    eprintln!(
        "augkit experiment: {ran} cells trained, {skipped} already finished, {} not completed; results in {}",
        outcomes.len() - ran - skipped,
        args.out.join("cells").display()
    );
    Ok(if ok {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    })
}

/// The status in `cell_dir/result.json`, if the cell finished.
pub fn read_status(cell_dir: &Path) -> Option<Status> {
    #[derive(Deserialize)]
    struct Head {
        status: Status,
    }
    let text = std::fs::read_to_string(cell_dir.join("result.json")).ok()?;
    serde_json::from_str::<Head>(&text).ok().map(|h| h.status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_and_parse() {
        assert_eq!(Shard::parse("1/3").unwrap(), Shard { index: 1, count: 3 });
        assert!(Shard::parse("3/3").is_err());
        assert!(Shard::parse("1").is_err());
        let shards: Vec<Shard> = (0..3).map(|k| Shard { index: k, count: 3 }).collect();
        for i in 0..20 {
            assert_eq!(shards.iter().filter(|s| s.takes(i)).count(), 1);
        }
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| pairs.iter().find(|p| p.0 == k).map(|p| p.1.to_string())
        };
        assert_eq!(Shard::from_env(env(&[])).unwrap(), None);
        assert_eq!(
            Shard::from_env(env(&[
                ("SLURM_ARRAY_TASK_ID", "3"),
                ("SLURM_ARRAY_TASK_COUNT", "4"),
                ("SLURM_ARRAY_TASK_MIN", "1")
            ]))
            .unwrap(),
            Some(Shard { index: 2, count: 4 })
        );
    }

    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        args: ExperimentArgs,
    }

    fn args(extra: &[&str]) -> ExperimentArgs {
        use clap::Parser;
        let base = ["x", "--out", "/nonexistent", "--datasets", SYNTHETIC_28];
        let dir = default_policy_dir();
        let dir = dir.to_str().unwrap();
        let all: Vec<&str> = base
            .iter()
            .copied()
            .chain(["--policy-dir", dir])
            .chain(extra.iter().copied())
            .collect();
        Cli::parse_from(all).args
    }

    /// `--train-per-class 5,10` is an axis: every (technique, seed) once per
    /// size, ids unique, each cell's size in its entry and its config.
    #[test]
    fn train_limits_are_a_matrix_axis() {
        let a = args(&[
            "--techniques",
            "none,vflip",
            "--seeds",
            "0,1",
            "--train-per-class",
            "5,10,5",
        ]);
        let (experiment, cells) = plan(&a).unwrap();
        assert_eq!(
            experiment.training.train_limits,
            vec![TrainLimit::PerClass(5), TrainLimit::PerClass(10)]
        );
        assert_eq!(cells.len(), 2 * 2 * 2);
        let ids: BTreeSet<&str> = cells.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids.len(), cells.len());
        for (entry, cell) in experiment.cells.iter().zip(&cells) {
            assert_eq!(entry.train_limit, Some(cell.config.train_limit));
        }
        let small = cells
            .iter()
            .filter(|c| c.config.train_limit == TrainLimit::PerClass(5))
            .count();
        assert_eq!(small, 4);
        assert_eq!(experiment.schema_version, 2);
        assert!(
            experiment.datasets[0]
                .source
                .as_deref()
                .unwrap()
                .starts_with("generated")
        );
        // A version-1 file (no axis, no provenance) still reads.
        let mut old = serde_json::to_value(&experiment).unwrap();
        old["training"]
            .as_object_mut()
            .unwrap()
            .remove("train_limits");
        old["datasets"][0].as_object_mut().unwrap().remove("source");
        for c in old["cells"].as_array_mut().unwrap() {
            c.as_object_mut().unwrap().remove("train_limit");
        }
        let back: Experiment = serde_json::from_value(old).unwrap();
        assert_eq!(back.training.limits(), vec![TrainLimit::PerClass(5)]);
        assert_eq!(back.cells[0].train_limit, None);
    }

    #[test]
    fn quick_preset_has_seeds_and_every_epoch() {
        let (experiment, cells) = plan(&args(&["--preset", "quick"])).unwrap();
        assert_eq!(experiment.seeds, vec![0, 1, 2]);
        assert_eq!(experiment.training.eval_every, 1);
        assert_eq!(experiment.training.epochs, QUICK_EPOCHS);
        assert_eq!(cells.len(), QUICK_TECHNIQUES.len() * 3);
        let limited = plan(&args(&["--preset", "limited-data"])).unwrap().1;
        assert_eq!(
            limited.len(),
            LIMITED_DATA_TECHNIQUES.len() * 3 * LIMITED_DATA_PER_CLASS.len()
        );
    }

    #[test]
    fn canonical_json_sorts_keys() {
        let v: serde_json::Value =
            serde_json::from_str(r#"{"b":[1,{"d":2,"c":1.5}],"a":"x"}"#).unwrap();
        assert_eq!(canonical_json(&v), r#"{"a":"x","b":[1,{"c":1.5,"d":2}]}"#);
    }

    #[test]
    fn cell_id_ignores_paths_and_follows_the_training() {
        let base = TrainConfig::new("fashion-mnist", ModelKind::SimpleCnn);
        let id = cell_id("crop", &base);
        assert!(id.starts_with("fashion-mnist-crop-s0-"), "{id}");
        assert_eq!(id.len(), "fashion-mnist-crop-s0-".len() + 12);
        let moved = TrainConfig {
            data_dir: "/elsewhere".into(),
            threads: Some(3),
            quiet: true,
            ..base.clone()
        };
        assert_eq!(cell_id("crop", &moved), id);
        let longer = TrainConfig {
            epochs: 51,
            ..base.clone()
        };
        assert_ne!(cell_id("crop", &longer), id);
        assert_ne!(
            cell_id("flips", &base),
            cell_id("crop", &base).replace("crop", "flips")
        );
    }
}
