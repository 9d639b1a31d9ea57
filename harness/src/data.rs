//! The harness's side of the data: loading through `augkit-data` (named
//! data sets, and `folder:` / `parquet:` / `npz:` ones with their decoded-set
//! cache and provenance), the stratified training subset, and the
//! tensors/datasets built from them.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use anyhow::Context;
use augkit_data::{ImageSet, Limit, Source, SourceOptions, SourceProvenance};
use indicatif::{ProgressBar, ProgressStyle};
use tch::{Device, Tensor};

use crate::config::{TrainConfig, TrainLimit};
use crate::models::ModelKind;

/// The decoded-set cache of user-supplied data sets: `<data dir>/augkit-cache`.
pub const CACHE_SUBDIR: &str = "augkit-cache";

/// Where the decoded sets of `--data-dir DIR` are cached.
pub fn cache_dir(data_dir: &Path) -> PathBuf {
    data_dir.join(CACHE_SUBDIR)
}

/// A loaded data set; `provenance` is there for user-supplied sets.
#[derive(Debug)]
pub struct LoadedData {
    pub train: ImageSet,
    pub test: ImageSet,
    pub provenance: Option<SourceProvenance>,
    /// Where the files were read from, in words (the log and `data.source_description`).
    pub source: String,
}

/// Loads (train, test) of `name` from `dir`. A missing data set fails with
/// `augkit-data`'s message, which lists the expected files and suggests
/// `augkit download NAME`. `folder:`/`parquet:`/`npz:` names load with the
/// default options ([`load_with`] takes others).
pub fn load(name: &str, dir: &Path) -> anyhow::Result<(ImageSet, ImageSet)> {
    let l = load_with(name, dir, None)?;
    Ok((l.train, l.test))
}

/// The data set a run's configuration names, with its conversion options.
pub fn load_config(config: &TrainConfig) -> anyhow::Result<LoadedData> {
    load_with(
        &config.dataset,
        &config.data_dir,
        config.data_options.as_ref(),
    )
}

/// [`load`] with the options of a user-supplied set (ignored for named
/// sets); decoded sets are cached under [`cache_dir`]`(dir)`, and decoding
/// draws a progress bar on a terminal.
pub fn load_with(
    name: &str,
    dir: &Path,
    options: Option<&SourceOptions>,
) -> anyhow::Result<LoadedData> {
    let (train, test, source, provenance) = match Source::parse(name) {
        Some(src) => {
            let src = src?;
            let opts = options.cloned().unwrap_or_default();
            let bar: OnceLock<ProgressBar> = OnceLock::new();
            let progress = |done: u64, total: u64| {
                let b = bar.get_or_init(|| {
                    let b = ProgressBar::new(total);
                    b.set_style(
                        ProgressStyle::with_template(
                            "decoding {prefix} [{bar:30.cyan/blue}] {pos}/{len} [{elapsed_precise} < {eta_precise}]",
                        )
                        .expect("a valid template")
                        .progress_chars("=> "),
                    );
                    b.set_prefix(src.to_string());
                    b
                });
                b.set_position(done);
            };
            let loaded = augkit_data::load_source(&src, &opts, Some(&cache_dir(dir)), &progress)
                .with_context(|| format!("data set {name}"))?;
            if let Some(b) = bar.get() {
                b.finish_and_clear();
            }
            (loaded.train, loaded.test, None, Some(loaded.provenance))
        }
        None => {
            let (train, test, source) = augkit_data::load_described(name, dir)?;
            (train, test, Some(source), None)
        }
    };
    check_splits(name, &train, &test)?;
    let source = match (source, &provenance) {
        (Some(s), _) => s,
        (None, Some(p)) => p.source.clone(),
        (None, None) => name.to_string(),
    };
    Ok(LoadedData {
        train,
        test,
        provenance,
        source,
    })
}

/// The model a data set gets unless one is named, and why: the simple CNN
/// for grayscale images of at most 64×64, ResNet-18 (CIFAR form) otherwise.
pub fn model_for(set: &ImageSet) -> (ModelKind, String) {
    if set.channels == 1 && set.height <= 64 && set.width <= 64 {
        (
            ModelKind::SimpleCnn,
            format!(
                "simple CNN: grayscale {}×{} images (at most 64×64)",
                set.height, set.width
            ),
        )
    } else {
        (
            ModelKind::Resnet18,
            format!(
                "ResNet-18: {}-channel {}×{} images (the simple CNN is for grayscale up to 64×64)",
                set.channels, set.height, set.width
            ),
        )
    }
}

/// [`load`], with the provenance of IDX data sets hashed from the bytes
/// that were parsed (each file is read once).
pub fn load_with_provenance(name: &str, dir: &Path) -> anyhow::Result<augkit_data::LoadedSet> {
    let loaded = augkit_data::load_with_provenance(name, dir)?;
    check_splits(name, &loaded.train, &loaded.test)?;
    Ok(loaded)
}

/// [`load`], also saying where the files were read from.
pub fn load_with_source(name: &str, dir: &Path) -> anyhow::Result<(ImageSet, ImageSet, String)> {
    let (train, test, source) = augkit_data::load_described(name, dir)?;
    check_splits(name, &train, &test)?;
    Ok((train, test, source))
}

/// Both splits hold images, of one shape.
fn check_splits(name: &str, train: &ImageSet, test: &ImageSet) -> anyhow::Result<()> {
    ensure_not_empty(name, train, test)?;
    anyhow::ensure!(
        (train.channels, train.height, train.width) == (test.channels, test.height, test.width),
        "data set {name}: training images are {}×{}×{} but test images are {}×{}×{}",
        train.channels,
        train.height,
        train.width,
        test.channels,
        test.height,
        test.width
    );
    Ok(())
}

/// A split that holds no image: nothing to train on or nothing to test.
#[derive(Debug, thiserror::Error)]
#[error(
    "data set {dataset}: the {split} split ({set}) holds no images; a run needs at least one \
     test image and two training images"
)]
pub struct EmptySplit {
    pub dataset: String,
    pub split: &'static str,
    pub set: String,
}

/// Rejects an empty training or test split (e.g. IDX files declaring 0
/// images), before anything is trained.
pub fn ensure_not_empty(
    dataset: &str,
    train: &ImageSet,
    test: &ImageSet,
) -> Result<(), EmptySplit> {
    for (split, set) in [("training", train), ("test", test)] {
        if set.is_empty() {
            return Err(EmptySplit {
                dataset: dataset.to_string(),
                split,
                set: set.name.clone(),
            });
        }
    }
    Ok(())
}

/// The training subset's indices (sorted), stratified and seeded.
pub fn training_subset(train: &ImageSet, limit: TrainLimit, seed: u64) -> anyhow::Result<Vec<u32>> {
    let limit = match limit {
        TrainLimit::All => return Ok((0..train.len() as u32).collect()),
        TrainLimit::PerClass(n) => Limit::PerClass(n as usize),
        TrainLimit::Fraction(f) => Limit::Fraction(f),
    };
    augkit_data::stratified_subset(&train.labels, train.num_classes, limit, seed)
        .with_context(|| format!("choosing the training subset of {}", train.name))
}

/// Class names, or the class numbers where the set has none.
pub fn class_names(set: &ImageSet) -> Vec<String> {
    if set.class_names.len() == set.num_classes as usize {
        set.class_names.clone()
    } else {
        (0..set.num_classes).map(|c| c.to_string()).collect()
    }
}

/// The shape of a set's images as augkit sees it.
pub fn image_shape(set: &ImageSet) -> anyhow::Result<augkit::ImageShape> {
    Ok(augkit::ImageShape::new(
        set.channels,
        set.height,
        set.width,
    )?)
}

/// The training split as the augkit backend holds it: the pixels are moved
/// when the caller held the only reference (`augkit train`), copied once
/// when others share the set (an experiment's cells).
pub fn to_augkit_dataset(set: impl Into<Arc<ImageSet>>) -> anyhow::Result<augkit::Dataset> {
    let set = set.into();
    let shape = image_shape(&set)?;
    let (pixels, labels, num_classes) = match Arc::try_unwrap(set) {
        Ok(set) => (set.pixels, set.labels, set.num_classes),
        Err(shared) => (
            shared.pixels.clone(),
            shared.labels.clone(),
            shared.num_classes,
        ),
    };
    Ok(augkit::Dataset::new(shape, pixels, labels, num_classes)?)
}

/// The test split as an NCHW f32 tensor on `device`, normalised exactly as the
/// policy's output stage does it (`(x/255 − mean[c]) / std[c]`) with no
/// augmentation.
pub fn test_tensor(set: &ImageSet, output: &augkit::policy::Output, device: Device) -> Tensor {
    let plane = (set.height * set.width) as usize;
    let channels = set.channels as usize;
    let mean: Vec<f32> = (0..channels)
        .map(|c| output.mean.get(c).copied().unwrap_or(0.0))
        .collect();
    let inv_std: Vec<f32> = (0..channels)
        .map(|c| 1.0 / output.std.get(c).copied().unwrap_or(1.0))
        .collect();
    let values: Vec<f32> = set
        .pixels
        .iter()
        .enumerate()
        .map(|(i, &p)| {
            let c = (i / plane) % channels;
            (f32::from(p) / 255.0 - mean[c]) * inv_std[c]
        })
        .collect();
    Tensor::from_slice(&values)
        .view([
            set.len() as i64,
            channels as i64,
            i64::from(set.height),
            i64::from(set.width),
        ])
        .to_device(device)
}

/// `config` with the policy's output normalisation filled in from the data
/// when the policy leaves it out (empty `mean` and `std`, as the technique
/// policies in `harness/policies` do): the per-channel mean and standard
/// deviation, in [0, 1] pixel units, of the training subset's images.
/// A policy that sets either keeps its own.
pub fn with_dataset_normalisation(
    config: &TrainConfig,
    train: &ImageSet,
    subset: &[u32],
) -> anyhow::Result<TrainConfig> {
    let mut config = config.clone();
    let output = &mut config.policy.output;
    if output.mean.is_empty() && output.std.is_empty() {
        let (mean, std) = channel_statistics(train, subset)?;
        output.mean = mean;
        output.std = std;
    }
    Ok(config)
}

/// Per-channel mean and standard deviation (population) of `subset`'s
/// images, in [0, 1] pixel units; a zero deviation becomes 1
/// (`augkit::channel_statistics`, which the Python package uses too).
pub fn channel_statistics(set: &ImageSet, subset: &[u32]) -> anyhow::Result<(Vec<f32>, Vec<f32>)> {
    let shape = augkit::ImageShape::new(set.channels, set.height, set.width)?;
    let s = augkit::channel_statistics(&set.pixels, shape, subset)?;
    Ok((s.mean, s.std))
}
