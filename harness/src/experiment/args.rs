//! `augkit experiment`'s flags and presets: what the command line says,
//! before any default is applied (`plan.rs` applies them).

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use serde::{Deserialize, Serialize};

use crate::config::{DeviceChoice, OptimizerKind};
use crate::models::ModelKind;
use crate::schedule::Schedule;
use crate::source::BackendChoice;

/// The `quick` preset's techniques (docs/HARNESS.md, "Presets", says why).
pub const QUICK_TECHNIQUES: [&str; 11] = [
    "none",
    "crop",
    "flips",
    "vflip",
    "rotation",
    "jitter",
    "mixup",
    "cutmix",
    QUICK_SYNTHETIC,
    "trivialaugment",
    "all",
];
/// The quick preset's synthetic-data technique: `synthetic.toml` (the
/// per-class PCA pool), named for what it is.
pub const QUICK_SYNTHETIC: &str = "synthetic-pca";
/// The quick preset's baseline-only training-set sizes (multiples of
/// `QUICK_PER_CLASS`) and the test images its curves are read on.
pub const QUICK_BASELINE_SIZES: [f64; 3] = [0.5, 2.0, 4.0];
pub const QUICK_EVAL_SUBSET: u32 = 2000;
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

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Preset {
    /// CPU-sized (scripts/run): real Fashion-MNIST (else generated 1×28×28
    /// shapes, loudly), simple CNN, techniques none, crop, flips, vflip,
    /// rotation, jitter, mixup, cutmix, synthetic-pca, trivialaugment, all;
    /// 300 images per class, 12 epochs' worth of optimiser steps, cosine
    /// schedule (the baseline converges), the baseline also at ½×, 2× and 4×
    /// the size with the same steps, curves every epoch on 2000 test images,
    /// seeds 0, 1, 2.
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
    /// synthetic-shapes (3×32×32), synthetic-shapes-28 (1×28×28), or your
    /// own: folder:PATH, npz:PATH, parquet:PATH.
    #[arg(long, value_delimiter = ',')]
    pub datasets: Vec<String>,
    #[command(flatten)]
    pub data_source: crate::data_source_args::DataSourceArgs,
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
    /// Where technique policies are (default: harness/policies, see
    /// docs/HARNESS.md, "Policy directory").
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
    /// Read the per-epoch curves off a fixed stratified subset of N test
    /// images (the whole test set after the last epoch); `augkit train
    /// --eval-subset`. The quick preset: 2000.
    #[arg(long)]
    pub eval_subset: Option<u32>,
    /// Baseline-only training-set sizes, as multiples of each
    /// --train-per-class size (e.g. 0.5,2,4): the `none` technique also runs
    /// at these sizes, every cell with the same optimiser-step budget as the
    /// main size's (`--epochs` epochs of it), so data varies and compute does
    /// not. The quick preset: 0.5,2,4.
    #[arg(long, value_delimiter = ',')]
    pub baseline_sizes: Vec<f64>,
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
