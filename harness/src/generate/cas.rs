//! What a technique's synthetic pool is, and the CAS cell's training set.
//!
//! A technique has a pool when its policy's `[synthetic]` says so: `mode =
//! "pca"` (the classical baseline, which the device samples per batch; for
//! its CAS the same per-class PCA model is sampled into a pool of 1× the
//! subset) or `mode = "pool"` with `source = "cvae" | "ddpm"` (a learned
//! generator, [`super::pool::obtain`]) or `"file"` (an `.npz`). The CAS cell
//! of such a technique (`cas-<technique>`) trains the same classifier with
//! the same schedule on the pool alone, with no augmentation, and tests it
//! on the real test set: the classification accuracy score.

use std::path::{Path, PathBuf};

use augkit::policy::{PoolSource as PolicySource, Synthetic};
use augkit_data::ImageSet;
use tch::Device;

use super::GeneratorConfig;
use super::pool::{GeneratedPool, GeneratorCost, PoolRequest, obtain, pca_pool, pool_images};

/// The technique-name prefix of CAS cells (`cas-<technique>`).
pub const CAS_PREFIX: &str = "cas-";

/// Where a pool comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum PoolSource {
    /// The per-class PCA model (`mode = "pca"`).
    Pca { components: u32, variance_kept: f32 },
    /// A learned generator.
    Generator(GeneratorConfig),
    /// A pool file (`.npz`).
    File(PathBuf),
}

/// A technique's pool: its source and its size (a multiple of the subset).
#[derive(Clone, Debug, PartialEq)]
pub struct PoolSpec {
    pub source: PoolSource,
    pub size: f64,
}

/// The pool `policy` draws from, if any (`mode = "interpolate"` has none).
pub fn pool_spec(policy: &augkit::Policy) -> Option<PoolSpec> {
    let s: &Synthetic = policy.synthetic.as_ref()?;
    match s.mode {
        augkit::policy::SynthMode::Pca => Some(PoolSpec {
            source: PoolSource::Pca {
                components: s.components,
                variance_kept: s.variance_kept,
            },
            size: 1.0,
        }),
        augkit::policy::SynthMode::Interpolate => None,
        augkit::policy::SynthMode::Pool => {
            let source = match s.source? {
                PolicySource::Cvae => {
                    PoolSource::Generator(GeneratorConfig::Cvae(Default::default()))
                }
                PolicySource::Ddpm => {
                    PoolSource::Generator(GeneratorConfig::Ddpm(Default::default()))
                }
                PolicySource::File => PoolSource::File(s.path.clone()?),
            };
            Some(PoolSpec {
                source,
                size: f64::from(s.pool_size()),
            })
        }
    }
}

/// The learned generator `policy`'s pool comes from, if any.
pub fn generator_of(policy: &augkit::Policy) -> Option<GeneratorConfig> {
    match pool_spec(policy)?.source {
        PoolSource::Generator(config) => Some(config),
        _ => None,
    }
}

/// Whether `policy` uses a pool the harness must build (a generator or a
/// file), i.e. the training set needs it attached.
pub fn needs_pool(policy: &augkit::Policy) -> bool {
    pool_spec(policy).is_some_and(|s| !matches!(s.source, PoolSource::Pca { .. }))
}

/// Everything [`make_pool`] needs besides the spec.
pub struct PoolContext<'a> {
    pub root: &'a Path,
    pub dataset: &'a str,
    pub train: &'a ImageSet,
    pub subset: &'a [u32],
    pub seed: u64,
    pub device: Device,
    pub verbose: bool,
}

/// The pool of `spec` for a cell (fitted or loaded; PCA refitted, it is
/// cheap, with its preview written beside the generators' caches).
pub fn make_pool(ctx: &PoolContext, spec: &PoolSpec) -> anyhow::Result<GeneratedPool> {
    match &spec.source {
        PoolSource::Generator(config) => obtain(&PoolRequest {
            root: ctx.root,
            dataset: ctx.dataset,
            train: ctx.train,
            subset: ctx.subset,
            seed: ctx.seed,
            config: config.clone(),
            size: spec.size,
            device: ctx.device,
            verbose: ctx.verbose,
        }),
        PoolSource::Pca {
            components,
            variance_kept,
        } => {
            let n = pool_images(spec.size, ctx.subset.len())?;
            let mut pool = pca_pool(
                ctx.train,
                ctx.subset,
                ctx.seed,
                n,
                *components,
                *variance_kept,
            )?;
            let key = super::fit::sha256_hex(
                format!(
                    "{}|{:?}|{}|{components}|{variance_kept}",
                    ctx.dataset, ctx.subset, ctx.seed
                )
                .as_bytes(),
            );
            let relative = format!("generators/pca-{}/pool-n{n}.png", &key[..12]);
            super::grid::write_preview(&ctx.root.join(&relative), ctx.train, ctx.subset, &pool)?;
            pool.cost.preview = relative;
            Ok(pool)
        }
        PoolSource::File(path) => file_pool(path, ctx.train),
    }
}

/// A pool read from an `.npz` file (`augkit_data::npz`, which checks the
/// dtype, layout, lengths and label range), of the data set's shape.
pub fn file_pool(path: &Path, train: &ImageSet) -> anyhow::Result<GeneratedPool> {
    let limits = augkit_data::npz::NpzLimits {
        num_classes: Some(train.num_classes),
        ..Default::default()
    };
    let set = augkit_data::npz::read(path, &limits)?;
    set.expect_shape(train.channels, train.height, train.width)?;
    let pool = set.train;
    Ok(GeneratedPool {
        cost: GeneratorCost {
            generator: "file".into(),
            pool_images: pool.len() as u64,
            ..GeneratorCost::default()
        },
        pixels: pool.pixels,
        labels: pool.labels,
        channels: pool.channels,
        height: pool.height,
        width: pool.width,
        num_classes: train.num_classes,
    })
}

/// The pool as a training set (the CAS cell trains on all of it), named
/// `<train>-<generator>-pool`, with the real set's class names.
pub fn pool_image_set(pool: &GeneratedPool, train: &ImageSet) -> anyhow::Result<ImageSet> {
    Ok(ImageSet::new(
        format!("{}-{}-pool", train.name, pool.cost.generator),
        pool.channels,
        pool.height,
        pool.width,
        pool.pixels.clone(),
        pool.labels.clone(),
        pool.num_classes,
        train.class_names.clone(),
    )?)
}
