//! augkit-harness: trains image classifiers with `tch` on batches that an
//! augkit backend writes straight into libtorch tensors, and measures
//! accuracy, time (augmentation and model apart), memory and throughput.
//!
//! The `augkit` binary ([`cli`]) is a thin layer over these modules:
//! - [`config`]: a run's configuration and its validation,
//! - [`data`]: loading through `augkit-data`, subsets, test tensors,
//! - [`source`]: backend selection and batches written in place,
//! - [`models`], [`optim`]: ResNet-18 (CIFAR form), the simple CNN, and
//!   their optimisers with state that checkpoints,
//! - [`schedule`]: learning-rate schedules as pure functions,
//! - [`train`]: the loop, the soft-label loss, the clocks,
//! - [`metrics`], [`memory`], [`cuda_timing`], [`result`]: the figures and
//!   the result JSON,
//! - [`progress`]: progress bars or plain log lines,
//! - [`checkpoint`], [`outdir`]: checkpoints, output checks, the experiment lock,
//! - [`archive`]: named tensors in libtorch's archive format, in memory,
//! - [`experiment`], [`policies`]: `augkit experiment` (the matrix, its
//!   files, shards) and the technique policy directory,
//! - [`report`], [`plots`]: `augkit report` (summary files and charts),
//! - [`atomic`]: the one atomic-write helper every output goes through,
//! - [`read_limits`]: the size cap of every file read back, by kind,
//! - [`preview`], [`npy`]: `augkit preview` and `augkit dump`,
//! - [`bench`]: `augkit bench`,
//! - [`generate`]: learned generators (cVAE, DDPM), their cached pools, CAS.
//!
//! Build with `source scripts/setup-torch` first (libtorch from the PyTorch
//! 2.11.0 wheel); the binary then runs with no environment set.

pub mod archive;
pub mod atomic;
pub mod bench;
pub mod checkpoint;
pub mod cli;
pub mod config;
pub mod cuda_timing;
pub mod data;
pub mod data_source_args;
pub mod experiment;
pub mod generate;
pub mod memory;
pub mod metrics;
pub mod models;
pub mod npy;
pub mod optim;
pub mod outdir;
pub mod plots;
pub mod policies;
pub mod preview;
pub mod progress;
pub mod read_limits;
pub mod report;
pub mod result;
pub mod schedule;
pub mod source;
pub mod train;

pub use config::TrainConfig;
pub use result::RunResult;
pub use train::{RunContext, TrainData, train};
