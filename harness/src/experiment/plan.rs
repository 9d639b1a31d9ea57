//! Planning: the matrix the flags describe — presets and defaults applied,
//! techniques read, data sets checked (with the `quick` fallback), every
//! cell's configuration validated and its id computed — before anything
//! is trained.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::Context;

use super::args::{
    ExperimentArgs, LIMITED_DATA_EPOCHS, LIMITED_DATA_PER_CLASS, LIMITED_DATA_TECHNIQUES, Preset,
    QUICK_BASELINE_SIZES, QUICK_EPOCHS, QUICK_EVAL_SUBSET, QUICK_PER_CLASS, QUICK_SYNTHETIC,
    QUICK_TECHNIQUES,
};
use super::baseline_sizes::{self, BASELINE_TECHNIQUE};
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
            anyhow::ensure!(
                !crate::generate::cells::is_cas(&name),
                "technique {name}: names starting with {} are the CAS cells'",
                crate::generate::cas::CAS_PREFIX
            );
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
        eval_subset: args.eval_subset.or(quick.then_some(QUICK_EVAL_SUBSET)),
        baseline_sizes: if !args.baseline_sizes.is_empty() {
            args.baseline_sizes.clone()
        } else if quick {
            QUICK_BASELINE_SIZES.to_vec()
        } else {
            Vec::new()
        },
    };
    let policy_dir = args
        .policy_dir
        .clone()
        .unwrap_or_else(crate::policies::default_dir);
    let mut extras = args.extra_techniques.clone();
    let preset_techniques: Vec<String> = match preset {
        _ if !args.techniques.is_empty() => args.techniques.clone(),
        Some(Preset::Quick) => {
            // The PCA pool under a name that says so (synthetic.toml).
            let pca = policy_dir.join("synthetic.toml");
            extras.insert(0, format!("{QUICK_SYNTHETIC}={}", pca.display()));
            QUICK_TECHNIQUES
                .iter()
                .filter(|&&t| t != QUICK_SYNTHETIC)
                .map(|t| t.to_string())
                .collect()
        }
        Some(Preset::LimitedData) => LIMITED_DATA_TECHNIQUES
            .iter()
            .map(|t| t.to_string())
            .collect(),
        _ => Vec::new(),
    };
    let techniques = techniques(&policy_dir, &preset_techniques, &extras)?;

    let mut notices = Vec::new();
    let mut entries = Vec::new();
    for name in &datasets {
        let own = augkit_data::Source::parse(name).is_some();
        let known = augkit_data::DATASETS.contains(&name.as_str()) || name == SYNTHETIC_28 || own;
        anyhow::ensure!(
            known,
            "--datasets {name}: unknown; expected one of {}, {SYNTHETIC_28}, or folder:PATH, \
             npz:PATH, parquet:PATH",
            augkit_data::DATASETS.join(", ")
        );
        let mut entry = DatasetEntry {
            name: name.clone(),
            model: args.model.unwrap_or_else(|| default_model(name)),
            fallback_from: None,
            notice: None,
            source: None,
            sha256: None,
            provenance: None,
        };
        if own {
            // Decoded now (into the cache every cell then reads): the model
            // depends on the images, and the provenance goes into experiment.json.
            let loaded =
                crate::data::load_with(name, &args.data_dir, Some(&args.data_source.options()))?;
            let mut prov = loaded
                .provenance
                .expect("a user-supplied set has provenance");
            if args.model.is_none() {
                let (model, why) = crate::data::model_for(&loaded.train);
                eprintln!("augkit experiment: {name}: {why}");
                prov.notes
                    .push(format!("model chosen by the images: {why}"));
                entry.model = model;
            }
            entry.source = Some(prov.source.clone());
            entry.provenance = Some(prov);
        }
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

    let budgets = step_budgets(&training, &entries, &techniques)?;
    let mut cells = Vec::new();
    let mut push = |entry: &DatasetEntry,
                    technique: &Technique,
                    seed: u64,
                    train_limit: TrainLimit,
                    steps: Option<u64>,
                    warmup_epochs: f64|
     -> anyhow::Result<()> {
        let config = TrainConfig {
            dataset: entry.name.clone(),
            data_dir: args.data_dir.clone(),
            data_options: args.data_source.options_for(&entry.name),
            model: entry.model,
            policy_file: Some(technique.policy_file.clone()),
            policy: technique.policy.clone(),
            epochs: training.epochs,
            steps,
            batch_size: training.batch_size,
            lr: training.lr,
            weight_decay: training.weight_decay,
            optimizer: training.optimizer,
            schedule: training.schedule,
            warmup_epochs,
            train_limit,
            seed,
            backend: training.backend,
            device: training.device,
            eval_every: training.eval_every,
            eval_subset: training.eval_subset,
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
        Ok(())
    };
    let warmup = TrainConfig::new("", ModelKind::SimpleCnn).warmup_epochs;
    for entry in &entries {
        for technique in &techniques {
            for (&seed, &train_limit) in seeds
                .iter()
                .flat_map(|s| training.train_limits.iter().map(move |l| (s, l)))
            {
                let steps = budgets.iter().find(|b| b.0 == train_limit).map(|b| b.1);
                push(entry, technique, seed, train_limit, steps, warmup)?;
            }
        }
        // The baseline at the other sizes, with the main size's steps.
        let Some(none) = techniques.iter().find(|t| t.name == BASELINE_TECHNIQUE) else {
            continue;
        };
        let classes = baseline_sizes::class_count(&entry.name).unwrap_or(0);
        for &(limit, steps) in &budgets {
            let TrainLimit::PerClass(main) = limit else {
                continue;
            };
            for n in baseline_sizes::sizes(main, &training.baseline_sizes)? {
                if let Some(available) = baseline_sizes::available_per_class(&entry.name)
                    && n > available
                {
                    let notice = format!(
                        "--baseline-sizes: {} has {available} training images per class; the \
                         baseline at {n} per class ({}× {main}) is left out",
                        entry.name,
                        f64::from(n) / f64::from(main)
                    );
                    loud(std::slice::from_ref(&notice));
                    notices.push(notice);
                    continue;
                }
                let w = baseline_sizes::equal_warmup(warmup, main, n, classes, training.batch_size);
                for &seed in &seeds {
                    push(entry, none, seed, TrainLimit::PerClass(n), Some(steps), w)?;
                }
            }
        }
    }
    // Every technique with a synthetic pool gets its CAS cells.
    let cas = crate::generate::cells::cas_cells(&cells);
    cells.extend(cas);
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

/// With `--baseline-sizes`, each main training-set size's step budget
/// (`epochs` epochs of it), which every cell of that size and every baseline
/// cell derived from it runs; empty without. Needs per-class sizes, data sets
/// of known class count and the `none` technique.
fn step_budgets(
    training: &Training,
    entries: &[DatasetEntry],
    techniques: &[Technique],
) -> anyhow::Result<Vec<(TrainLimit, u64)>> {
    if training.baseline_sizes.is_empty() {
        return Ok(Vec::new());
    }
    anyhow::ensure!(
        techniques.iter().any(|t| t.name == BASELINE_TECHNIQUE),
        "--baseline-sizes runs the `{BASELINE_TECHNIQUE}` technique at other sizes; add it to \
         --techniques"
    );
    let mut classes = None;
    for entry in entries {
        let c = baseline_sizes::class_count(&entry.name).ok_or_else(|| {
            anyhow::anyhow!(
                "--baseline-sizes: the class count of {} is not known before loading it, so \
                 the step budget cannot be planned",
                entry.name
            )
        })?;
        anyhow::ensure!(
            classes.is_none_or(|k| k == c),
            "--baseline-sizes: the data sets have different class counts"
        );
        classes = Some(c);
    }
    let classes = classes.unwrap_or(0);
    training
        .train_limits
        .iter()
        .map(|&limit| match limit {
            TrainLimit::PerClass(n) => Ok((
                limit,
                baseline_sizes::step_budget(n, classes, training.batch_size, training.epochs),
            )),
            _ => anyhow::bail!(
                "--baseline-sizes needs the training-set size in images per class \
                 (--train-per-class)"
            ),
        })
        .collect()
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
        // 11 techniques × 3 seeds, the baseline at ½× (2× and 4× are more
        // than the generated set's 500 per class: left out, loudly), and the
        // PCA pool's CAS cell per seed.
        assert_eq!(cells.len(), QUICK_TECHNIQUES.len() * 3 + 3 + 3);
        assert_eq!(experiment.notices.len(), 2, "{:?}", experiment.notices);
        let limited = plan(&args(&["--preset", "limited-data"])).unwrap().1;
        assert_eq!(
            limited.len(),
            LIMITED_DATA_TECHNIQUES.len() * 3 * LIMITED_DATA_PER_CLASS.len()
        );
    }

    /// The quick preset: every technique, the baseline also at ½×, 2× and
    /// 4× the size, every cell with the same optimiser-step budget (12 epochs
    /// of the main size) and the same warm-up in steps, curves on 2000 test
    /// images.
    #[test]
    fn quick_preset_has_baseline_sizes_at_equal_steps() {
        use crate::train::steps_per_epoch;
        let (experiment, cells) =
            plan(&args(&["--preset", "quick", "--train-per-class", "100"])).unwrap();
        let training = experiment.training.as_ref().unwrap();
        assert_eq!(training.baseline_sizes, vec![0.5, 2.0, 4.0]);
        assert_eq!(training.eval_subset, Some(2000));
        let names: BTreeSet<&str> = experiment
            .techniques
            .iter()
            .map(|t| t.name.as_str())
            .collect();
        let expected: BTreeSet<&str> = QUICK_TECHNIQUES.into_iter().collect();
        assert_eq!(names, expected);
        let pca = experiment
            .techniques
            .iter()
            .find(|t| t.name == "synthetic-pca")
            .unwrap();
        assert!(pca.policy.synthetic.is_some() && pca.policy_file.ends_with("synthetic.toml"));
        // 1000 images in batches of 64: 16 steps an epoch, 12 epochs.
        let budget = 16 * 12;
        let main_warmup = steps_per_epoch(1000, 64);
        let mut sizes = BTreeSet::new();
        for cell in &cells {
            let c = &cell.config;
            assert_eq!(c.steps, Some(budget), "{}", cell.id);
            assert_eq!(c.eval_subset, Some(2000), "{}", cell.id);
            let TrainLimit::PerClass(n) = c.train_limit else {
                panic!()
            };
            let warmup = (c.warmup_epochs * f64::from(steps_per_epoch(n * 10, 64))).round();
            assert_eq!(warmup, f64::from(main_warmup), "{}", cell.id);
            if n != 100 {
                assert_eq!(cell.technique, "none", "{}", cell.id);
                sizes.insert(n);
            }
        }
        assert_eq!(sizes, BTreeSet::from([50, 200, 400]));
        // Techniques × seeds, the baseline at three more sizes, and the PCA
        // pool's CAS cell per seed.
        assert_eq!(cells.len(), QUICK_TECHNIQUES.len() * 3 + 3 * 3 + 3);
        assert_eq!(
            cells
                .iter()
                .filter(|c| c.technique == "cas-synthetic-pca")
                .count(),
            3
        );
        // Without the flag (and outside the preset) nothing changes.
        let plain = plan(&args(&["--techniques", "none", "--train-per-class", "100"]))
            .unwrap()
            .1;
        assert_eq!(plain.len(), 1);
        assert_eq!(
            (plain[0].config.steps, plain[0].config.eval_subset),
            (None, None)
        );
        // Sizes need the baseline and per-class sizes.
        let e = plan(&args(&["--techniques", "crop", "--baseline-sizes", "2"])).unwrap_err();
        assert!(e.to_string().contains("none"), "{e}");
        let e = plan(&args(&[
            "--techniques",
            "none",
            "--train-fraction",
            "0.1",
            "--baseline-sizes",
            "2",
        ]))
        .unwrap_err();
        assert!(e.to_string().contains("--train-per-class"), "{e}");
    }
}
