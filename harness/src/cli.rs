//! `augkit` command line. Subcommands are thin: each parses flags into a
//! library call. `docs/HARNESS.md` lists every flag.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use crate::config::{DeviceChoice, OptimizerKind, TrainConfig, TrainLimit};
use crate::data_source_args::DataSourceArgs;
use crate::models::ModelKind;
use crate::result::{RunResult, Status};
use crate::schedule::Schedule;
use crate::source::BackendChoice;
use crate::train::{RunContext, TrainData};

#[derive(Debug, Parser)]
#[command(
    name = "augkit",
    version,
    about = "Train and measure image classifiers with augkit augmentation"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train one model on one data set with one policy and write a result JSON.
    Train(TrainArgs),
    /// Download a data set's files (verified) into --data-dir.
    Download(DownloadArgs),
    /// Run the matrix data set × technique × seed into a resumable directory.
    Experiment(crate::experiment::ExperimentArgs),
    /// Summarise an experiment directory into report.md, summary.csv/json,
    /// recommended.toml and charts.
    Report(ReportArgs),
    /// Print an experiment's recommended policy (as `report` writes it to
    /// recommended.toml), with its evidence in comments.
    Recommend(ReportArgs),
    /// Write a PNG grid of augmented samples, one row per technique.
    Preview(PreviewArgs),
    /// Write one augmented batch as .npy files plus per-sample parameters.
    Dump(DumpArgs),
    /// Fit a class-conditional generator (cVAE, DDPM) on a training subset and
    /// write its pool (.npz), preview grid and timings.
    Generate(crate::generate::cli::GenerateArgs),
    /// Time augmentation per backend × technique × batch × shape (JSON), and
    /// with --step its share of a training step.
    Bench(crate::bench::BenchArgs),
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// cifar10 | fashion-mnist | mnist | synthetic-shapes, or your own:
    /// folder:PATH | npz:PATH | parquet:PATH
    #[arg(long)]
    pub dataset: String,
    /// Directory holding the data set's files (or a NAME subdirectory), and
    /// the decoded-set cache of folder:/parquet: sets (DIR/augkit-cache).
    #[arg(long, default_value = "data")]
    pub data_dir: PathBuf,
    #[command(flatten)]
    pub data_source: DataSourceArgs,
    #[arg(long, value_enum)]
    pub model: ModelKind,
    /// Augmentation policy (.toml or .json); without it only normalisation (identity policy).
    #[arg(long)]
    pub policy: Option<PathBuf>,
    #[arg(long, default_value_t = 50)]
    pub epochs: u32,
    /// Stop after exactly N optimiser steps (the last epoch possibly partial);
    /// replaces --epochs, schedules run over the N steps.
    #[arg(long)]
    pub steps: Option<u64>,
    #[arg(long, default_value_t = 64)]
    pub batch_size: u32,
    /// Base learning rate.
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    /// Coupled L2 weight decay (PyTorch's `weight_decay`).
    #[arg(long, default_value_t = 1e-4)]
    pub weight_decay: f64,
    #[arg(long, value_enum, default_value_t = OptimizerKind::Adam)]
    pub optimizer: OptimizerKind,
    /// SGD momentum (ignored by Adam).
    #[arg(long, default_value_t = 0.9)]
    pub momentum: f64,
    #[arg(long, value_enum, default_value_t = Schedule::Constant)]
    pub schedule: Schedule,
    /// Linear warm-up length in epochs for the linear and cosine schedules.
    #[arg(long, default_value_t = 1.0)]
    pub warmup_epochs: f64,
    /// Train on N images of each class (stratified, seeded).
    #[arg(long, conflicts_with = "train_fraction")]
    pub train_per_class: Option<u32>,
    /// Train on this fraction of each class, in (0, 1] (stratified, seeded).
    #[arg(long)]
    pub train_fraction: Option<f64>,
    /// Seeds libtorch (initialisation, dropout), the subset and augkit.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[arg(long, value_enum, default_value_t = BackendChoice::Auto)]
    pub backend: BackendChoice,
    /// Where the model runs.
    #[arg(long, value_enum, default_value_t = DeviceChoice::Cpu)]
    pub device: DeviceChoice,
    /// Test-set batch size (evaluation and inference timing).
    #[arg(long, default_value_t = 256)]
    pub eval_batch_size: u32,
    /// Evaluate the test set every N epochs for the curves (0: only after the last).
    #[arg(long, default_value_t = 1)]
    pub eval_every: u32,
    /// Evaluate the per-epoch curve on a fixed stratified subset of N test
    /// images (the same for every seed); the whole test set after the last epoch.
    #[arg(long)]
    pub eval_subset: Option<u32>,
    /// libtorch intra-op threads (default: libtorch's choice).
    #[arg(long)]
    pub threads: Option<u32>,
    /// Result JSON, written atomically.
    #[arg(long, default_value = "result.json")]
    pub out: PathBuf,
    /// Plain per-epoch log lines instead of progress bars.
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct DownloadArgs {
    /// cifar10 | fashion-mnist | mnist
    pub dataset: String,
    #[arg(long, default_value = "data")]
    pub data_dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Experiment directory (experiment.json, cells/<cell-id>/result.json).
    pub dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct PreviewArgs {
    /// cifar10 | fashion-mnist | mnist | synthetic-shapes, or your own:
    /// folder:PATH | npz:PATH | parquet:PATH
    #[arg(long)]
    pub dataset: String,
    #[arg(long, default_value = "data")]
    pub data_dir: PathBuf,
    #[command(flatten)]
    pub data_source: DataSourceArgs,
    /// Policy files, one row each (named by the file stem).
    #[arg(long, num_args = 1..)]
    pub policy: Vec<PathBuf>,
    /// Technique names, one row each: NAME.toml in --policies-dir.
    #[arg(long, value_delimiter = ',', num_args = 1..)]
    pub techniques: Vec<String>,
    /// Where --techniques finds NAME.toml (default: harness/policies).
    #[arg(long)]
    pub policies_dir: Option<PathBuf>,
    /// Output PNG.
    #[arg(long)]
    pub out: PathBuf,
    /// Samples (columns) per technique.
    #[arg(long, default_value_t = 8)]
    pub samples: u32,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[arg(long, default_value_t = 0)]
    pub epoch: u32,
}

#[derive(Debug, Args)]
pub struct DumpArgs {
    /// cifar10 | fashion-mnist | mnist | synthetic-shapes, or your own:
    /// folder:PATH | npz:PATH | parquet:PATH
    #[arg(long)]
    pub dataset: String,
    #[arg(long, default_value = "data")]
    pub data_dir: PathBuf,
    #[command(flatten)]
    pub data_source: DataSourceArgs,
    /// Augmentation policy (.toml or .json); its dtype and layout are kept.
    #[arg(long)]
    pub policy: PathBuf,
    /// Output directory.
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long, default_value_t = 16)]
    pub batch: u32,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[arg(long, default_value_t = 0)]
    pub epoch: u32,
}

impl TrainArgs {
    /// The run configuration, with the policy file read and every number
    /// checked (nothing loaded or built yet).
    pub fn to_config(&self) -> anyhow::Result<TrainConfig> {
        let policy = match &self.policy {
            Some(path) => augkit::Policy::from_file(path)
                .with_context(|| format!("--policy {}", path.display()))?,
            None => augkit::Policy::identity(),
        };
        let train_limit = match (self.train_per_class, self.train_fraction) {
            (Some(n), None) => TrainLimit::PerClass(n),
            (None, Some(f)) => TrainLimit::Fraction(f),
            (None, None) => TrainLimit::All,
            (Some(_), Some(_)) => {
                anyhow::bail!("--train-per-class and --train-fraction exclude each other")
            }
        };
        let config = TrainConfig {
            dataset: self.dataset.clone(),
            data_dir: self.data_dir.clone(),
            data_options: self.data_source.options_for(&self.dataset),
            model: self.model,
            policy_file: self.policy.clone(),
            policy,
            epochs: self.epochs,
            steps: self.steps,
            batch_size: self.batch_size,
            lr: self.lr,
            weight_decay: self.weight_decay,
            optimizer: self.optimizer,
            momentum: self.momentum,
            schedule: self.schedule,
            warmup_epochs: self.warmup_epochs,
            train_limit,
            seed: self.seed,
            backend: self.backend,
            device: self.device,
            eval_batch_size: self.eval_batch_size,
            eval_every: self.eval_every,
            eval_subset: self.eval_subset,
            threads: self.threads,
            out: Some(self.out.clone()),
            quiet: self.quiet,
        };
        config.validate()?;
        Ok(config)
    }
}

/// Everything `augkit train` does with the configuration [`TrainArgs::to_config`]
/// made: check the device and `--out`, load, train, write the result.
/// Returns the result (also when the run failed; it is written either way).
pub fn run_train(config: &TrainConfig, command_line: Vec<String>) -> anyhow::Result<RunResult> {
    let mut ctx = RunContext::now(command_line);
    // Refuse an unusable device before spending time on the data.
    crate::train::resolve_device(config.device)?;
    if config.backend == BackendChoice::Cuda && config.device == DeviceChoice::Cpu {
        return Err(crate::source::SourceError::NeedsCudaDevice.into());
    }
    // …and a result path that cannot take the result, so the run is not
    // lost at the end.
    if let Some(out) = &config.out {
        let bytes = crate::result::size_bound(config.epochs);
        crate::outdir::ensure_writable_file_of("--out", out, bytes)?;
    }
    let t = Instant::now();
    let crate::data::LoadedData {
        train,
        test,
        provenance,
        source,
    } = crate::data::load_config(config)?;
    if let Some(p) = &provenance {
        for line in p.lines() {
            eprintln!("{}: {line}", config.dataset);
        }
    }
    let subset = crate::data::training_subset(&train, config.train_limit, config.seed)?;
    ctx.data_load_s = t.elapsed().as_secs_f64();
    ctx.data_source = Some(source);
    let mut result = crate::train::train(
        config,
        TrainData {
            train: train.into(),
            test: test.into(),
            subset,
        },
        ctx,
    )?;
    result.data.provenance = provenance;
    if let Some(out) = &config.out {
        crate::result::write_json_atomic(out, &result)
            .with_context(|| format!("writing {}", out.display()))?;
    }
    Ok(result)
}

fn summary(result: &RunResult) -> String {
    let t = &result.timing;
    let mut s = String::new();
    if let Some(test) = &result.test {
        s += &format!(
            "test accuracy {:.2}%, macro F1 {:.4}; ",
            100.0 * test.figures.accuracy,
            test.figures.macro_f1
        );
    }
    s += &format!(
        "training {:.1} s over {} steps (augmentation {:.2} s = {:.1}%, model {:.2} s)",
        t.train_wall_s,
        t.steps,
        t.augmentation.total_s,
        100.0 * t.augmentation_share,
        t.model.total_s
    );
    if let Some(rss) = result.memory.peak_host_rss_bytes {
        s += &format!(", peak RSS {:.0} MiB", rss as f64 / (1024.0 * 1024.0));
    }
    s
}

/// Parses the command line and runs the subcommand.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Train(args) => {
            let config = args.to_config()?;
            let result = run_train(&config, std::env::args().collect())?;
            let out = config
                .out
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            match result.status {
                Status::Completed => {
                    eprintln!("{}; result in {out}", summary(&result));
                    Ok(ExitCode::SUCCESS)
                }
                Status::Failed => {
                    eprintln!(
                        "error: {}; partial result in {out}",
                        result.error.as_deref().unwrap_or("the run failed")
                    );
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        Command::Experiment(args) => crate::experiment::main(&args),
        Command::Generate(args) => {
            crate::generate::cli::main(&args)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Download(args) => {
            let files = augkit_data::download(&args.dataset, &args.data_dir, None)?;
            for file in files {
                println!("{}", file.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Report(args) => {
            let written = crate::report::run(&args.dir)?;
            for c in &written.summary.conclusions {
                eprintln!("{} ({}): {}", c.dataset, c.train_limit, c.text);
            }
            for file in written.files {
                println!("{}", file.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Recommend(args) => {
            print!("{}", crate::report::recommend_text(&args.dir)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Preview(args) => {
            crate::preview::check_samples(args.samples)?;
            crate::outdir::ensure_writable_file("--out", &args.out)?;
            let dir = args
                .policies_dir
                .clone()
                .unwrap_or_else(crate::policies::default_dir);
            let policies = crate::preview::resolve_policies(&args.policy, &args.techniques, &dir)?;
            let (w, h) = crate::preview::run_preview(
                &args.dataset,
                &args.data_dir,
                &args.data_source.options(),
                &policies,
                args.samples,
                args.seed,
                args.epoch,
                &args.out,
            )?;
            eprintln!(
                "{} techniques × {} samples, {w}×{h} pixels",
                policies.len(),
                args.samples
            );
            println!("{}", args.out.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench(args) => {
            let report = crate::bench::run(&args)?;
            for skipped in &report.skipped {
                eprintln!("skipped: {skipped}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Dump(args) => {
            crate::outdir::ensure_writable_dir("--out", &args.out)?;
            let files = crate::preview::run_dump(
                &args.dataset,
                &args.data_dir,
                &args.data_source.options(),
                &args.policy,
                &args.out,
                args.batch,
                args.seed,
                args.epoch,
            )?;
            for file in files {
                println!("{}", file.display());
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("augkit").chain(args.iter().copied()))
    }

    #[test]
    fn defaults_follow_the_issue() {
        let Command::Train(args) = parse(&["train", "--dataset", "mnist", "--model", "simple-cnn"])
            .unwrap()
            .command
        else {
            panic!("not train")
        };
        let c = args.to_config().unwrap();
        assert_eq!(
            (c.epochs, c.batch_size, c.lr, c.weight_decay),
            (50, 64, 1e-3, 1e-4)
        );
        assert_eq!(
            (c.optimizer, c.schedule, c.backend),
            (OptimizerKind::Adam, Schedule::Constant, BackendChoice::Auto)
        );
        assert_eq!(c.train_limit, TrainLimit::All);
    }

    #[test]
    fn rejects_conflicting_and_unknown_flags() {
        let base = ["train", "--dataset", "mnist"];
        let with = |extra: &[&str]| parse(&[&base[..], &["--model", "simple-cnn"], extra].concat());
        assert!(with(&["--train-per-class", "5", "--train-fraction", "0.5"]).is_err());
        assert!(parse(&["train", "--dataset", "mnist", "--model", "vgg"]).is_err());
        assert!(with(&["--optimizer", "lion"]).is_err());
        assert!(
            with(&[
                "--schedule",
                "cosine",
                "--optimizer",
                "sgd",
                "--backend",
                "cpu"
            ])
            .is_ok()
        );
        let Command::Train(args) = with(&["--lr", "0"]).unwrap().command else {
            panic!()
        };
        assert!(args.to_config().unwrap_err().to_string().contains("--lr"));
    }

    #[test]
    fn bad_policy_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.toml");
        std::fs::write(&path, "horizontal_flip = 2.0\nnot_a_field = 1\n").unwrap();
        let p = path.to_str().unwrap();
        let Command::Train(args) = parse(&[
            "train",
            "--dataset",
            "mnist",
            "--model",
            "simple-cnn",
            "--policy",
            p,
        ])
        .unwrap()
        .command
        else {
            panic!()
        };
        let e = format!("{:#}", args.to_config().unwrap_err());
        assert!(e.contains("p.toml"), "{e}");
    }
}
