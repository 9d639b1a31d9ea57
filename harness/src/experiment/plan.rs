//! Planning: the matrix the flags describe — presets and defaults applied,
//! techniques read, data sets checked (with the `quick` fallback), every
//! cell's configuration validated and its id computed — before anything
//! is trained.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::Context;

use super::args::{
    ExperimentArgs, LIMITED_DATA_EPOCHS, LIMITED_DATA_PER_CLASS, LIMITED_DATA_TECHNIQUES, Preset,
    QUICK_EPOCHS, QUICK_PER_CLASS, QUICK_TECHNIQUES,
};
use super::cell_id::{cell_id, slug};
use super::datasets::{
    DOWNLOAD_TIMEOUT, SYNTHETIC_28, dataset_present, download_with_timeout, loud,
};
use super::schema::{
    CellConfig, CellEntry, DatasetEntry, EXPERIMENT_SCHEMA_VERSION, Experiment, Technique, Training,
};
use crate::config::{OptimizerKind, TrainConfig, TrainLimit};
use crate::models::ModelKind;
use crate::schedule::Schedule;

/// Reads the techniques: `names` from `dir` (every `*.toml` there when
/// empty, sorted) plus `NAME=FILE` extras.
pub fn techniques(
    dir: &Path,
    names: &[String],
    extras: &[String],
) -> anyhow::Result<Vec<Technique>> {
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    if names.is_empty() {
        files = crate::policies::list(dir)
            .with_context(|| format!("--policy-dir {}", dir.display()))?;
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
    let policy_dir = args
        .policy_dir
        .clone()
        .unwrap_or_else(crate::policies::default_dir);
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
        // Files on disk get their provenance when they are read (`run`).
        if entry.name.starts_with("synthetic-shapes") {
            entry.source = Some(format!("generated by augkit-data ({})", entry.name));
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
        training: Some(training),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        args: ExperimentArgs,
    }

    fn args(extra: &[&str]) -> ExperimentArgs {
        use clap::Parser;
        let base = ["x", "--out", "/nonexistent", "--datasets", SYNTHETIC_28];
        let dir = crate::policies::default_dir();
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
            experiment.training.as_ref().unwrap().train_limits,
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
        assert_eq!(
            back.training.unwrap().limits(),
            vec![TrainLimit::PerClass(5)]
        );
        assert_eq!(back.cells[0].train_limit, None);
    }

    #[test]
    fn quick_preset_has_seeds_and_every_epoch() {
        let (experiment, cells) = plan(&args(&["--preset", "quick"])).unwrap();
        assert_eq!(experiment.seeds, vec![0, 1, 2]);
        assert_eq!(experiment.training.as_ref().unwrap().eval_every, 1);
        assert_eq!(experiment.training.as_ref().unwrap().epochs, QUICK_EPOCHS);
        assert_eq!(cells.len(), QUICK_TECHNIQUES.len() * 3);
        let limited = plan(&args(&["--preset", "limited-data"])).unwrap().1;
        assert_eq!(
            limited.len(),
            LIMITED_DATA_TECHNIQUES.len() * 3 * LIMITED_DATA_PER_CLASS.len()
        );
    }
}
