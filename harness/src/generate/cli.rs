//! `augkit generate`: fits a generator on a data set's training subset and
//! writes its pool (`.npz`, the pool-file format), preview grid and
//! timings into `--out` (the same cache layout an experiment uses, so a
//! second run with the same flags loads instead of fitting). Also the
//! generators' benchmark: it prints the fit and sampling seconds.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::pool::{PoolRequest, obtain};
use super::{CvaeConfig, DdpmConfig, GeneratorConfig};
use crate::config::{DeviceChoice, TrainLimit};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum GeneratorKind {
    /// Class-conditional convolutional VAE (CPU-sized).
    Cvae,
    /// Class-conditional DDPM with a DDIM sampler (GPU-sized).
    Ddpm,
    /// The DDPM at its CPU test size (seconds).
    DdpmTiny,
}

/// `augkit generate` flags.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// cifar10 | fashion-mnist | mnist | synthetic-shapes-28
    #[arg(long)]
    pub dataset: String,
    #[arg(long, default_value = "data")]
    pub data_dir: PathBuf,
    #[arg(long, value_enum, default_value_t = GeneratorKind::Cvae)]
    pub generator: GeneratorKind,
    /// Fit on N images of each class (stratified, seeded; default: all).
    #[arg(long)]
    pub train_per_class: Option<u32>,
    /// Pool size as a multiple of the subset.
    #[arg(long, default_value_t = 1.0)]
    pub size: f64,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Override the configuration's epochs.
    #[arg(long)]
    pub epochs: Option<u32>,
    #[arg(long, value_enum, default_value_t = DeviceChoice::Cpu)]
    pub device: DeviceChoice,
    /// libtorch intra-op threads.
    #[arg(long)]
    pub threads: Option<u32>,
    /// Directory for `generators/<kind>-<key>/` (created).
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long)]
    pub quiet: bool,
}

/// Runs `augkit generate`; prints the cost as JSON.
pub fn main(args: &GenerateArgs) -> anyhow::Result<()> {
    let mut config = match args.generator {
        GeneratorKind::Cvae => GeneratorConfig::Cvae(CvaeConfig::default()),
        GeneratorKind::Ddpm => GeneratorConfig::Ddpm(DdpmConfig::default()),
        GeneratorKind::DdpmTiny => GeneratorConfig::Ddpm(DdpmConfig::tiny()),
    };
    if let Some(e) = args.epochs {
        match &mut config {
            GeneratorConfig::Cvae(c) => c.epochs = e,
            GeneratorConfig::Ddpm(c) => c.epochs = e,
        }
    }
    config.validate()?;
    if let Some(t) = args.threads {
        tch::set_num_threads(t as i32);
    }
    let device = crate::train::resolve_device(args.device)?;
    let train = crate::experiment::load_dataset(&args.dataset, &args.data_dir)?.train;
    let limit = args
        .train_per_class
        .map_or(TrainLimit::All, TrainLimit::PerClass);
    let subset = crate::data::training_subset(&train, limit, args.seed)?;
    let pool = obtain(&PoolRequest {
        root: &args.out,
        dataset: &args.dataset,
        train: &train,
        subset: &subset,
        seed: args.seed,
        config,
        size: args.size,
        device,
        verbose: !args.quiet,
    })?;
    let c = &pool.cost;
    eprintln!(
        "augkit generate: {} on {} images of {}: fit {:.1} s, sampling {} images {:.1} s{} ({} torch threads); pool and preview in {}",
        c.generator,
        subset.len(),
        args.dataset,
        c.fit_s,
        c.pool_images,
        c.sample_s,
        if c.cached { ", from the cache" } else { "" },
        tch::get_num_threads(),
        args.out.join(&c.dir).display()
    );
    println!("{}", serde_json::to_string(c)?);
    Ok(())
}
