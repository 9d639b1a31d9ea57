//! Learned class-conditional generators (tch) for synthetic training data as
//! researchers mean it: a model fitted on the cell's training subset only,
//! sampled into a pool of uint8 images that the augmentation backend draws
//! from (`[synthetic] mode = "pool"`), and scored by the classification
//! accuracy score (CAS: a classifier trained on the pool alone, tested on the
//! real test set; Ravuri & Vinyals 2019).
//!
//! - [`cvae`]: a class-conditional convolutional VAE, the default (CPU-sized);
//! - [`ddpm`]: a small class-conditional DDPM (compact U-Net, optional
//!   classifier-free guidance) with a few-step DDIM sampler (GPU-sized);
//! - [`fit`]: the seeded, resumable training loop both share;
//! - [`pool`]: fit-or-load, sampling, the cache in the experiment directory,
//!   and the PCA pool (the classical baseline's CAS);
//! - [`cas`]: what a policy's pool is, the CAS cell's training set;
//! - [`cells`]: the CAS cells of a matrix and a cell's pool before training;
//! - [`attach`]: the pool beside the training set (`augkit::Dataset::with_pool`);
//! - [`grid`]: the preview PNG (one row per class, real beside generated).
//!
//! Every configuration is checked ([`GeneratorConfig::validate`]) before any
//! training, with a typed [`GeneratorError`].

pub mod attach;
pub mod cas;
pub mod cells;
pub mod cli;
pub mod cvae;
pub mod ddpm;
pub mod fit;
pub mod grid;
pub mod pool;

use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

pub use cvae::{CvaeConfig, CvaeSampler};
pub use ddpm::DdpmConfig;

/// What a generator's configuration or input got wrong, found before any
/// training.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum GeneratorError {
    #[error("generator config: {field} = {value} must be positive")]
    NonPositive { field: &'static str, value: String },
    #[error("generator config: {field} = {value} is outside {range}")]
    OutOfRange {
        field: &'static str,
        value: String,
        range: &'static str,
    },
    #[error("generator: the training subset has {0} image(s); at least 2 are needed")]
    TooFewImages(usize),
    #[error("generator: {0} class(es); a class-conditional generator needs at least 2")]
    TooFewClasses(u32),
    #[error("generator: a pool of {requested} images is asked for; at most {limit} are allowed")]
    PoolTooLarge { requested: u64, limit: u64 },
    #[error("generator: a pool size of {0} × the subset gives no images")]
    EmptyPool(f64),
    #[error("generator: images of {channels}×{height}×{width} are not supported ({why})")]
    Shape {
        channels: u32,
        height: u32,
        width: u32,
        why: &'static str,
    },
}

/// The most images a generated pool may hold (the same bound as a pool
/// file: 2^24 images keeps indices exact in f32 and the pool in memory).
pub const MAX_POOL_IMAGES: u64 = 1 << 24;

/// A generator and its settings. Part of the cache key, so any change
/// refits.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum GeneratorConfig {
    Cvae(CvaeConfig),
    Ddpm(DdpmConfig),
}

impl GeneratorConfig {
    /// The documented configuration of `source` (`cvae` or `ddpm`).
    pub fn for_source(source: &str) -> Option<Self> {
        match source {
            "cvae" => Some(Self::Cvae(CvaeConfig::default())),
            "ddpm" => Some(Self::Ddpm(DdpmConfig::default())),
            _ => None,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Self::Cvae(_) => "cvae",
            Self::Ddpm(_) => "ddpm",
        }
    }

    /// Checks every field; called before any training.
    pub fn validate(&self) -> Result<(), GeneratorError> {
        match self {
            Self::Cvae(c) => c.validate(),
            Self::Ddpm(c) => c.validate(),
        }
    }

    /// Checks that images of this shape and class count can be modelled.
    pub fn check_data(
        &self,
        channels: u32,
        height: u32,
        width: u32,
        num_classes: u32,
        images: usize,
    ) -> Result<(), GeneratorError> {
        if num_classes < 2 {
            return Err(GeneratorError::TooFewClasses(num_classes));
        }
        if images < 2 {
            return Err(GeneratorError::TooFewImages(images));
        }
        let shape_error = |why| GeneratorError::Shape {
            channels,
            height,
            width,
            why,
        };
        if !(1..=4).contains(&channels) {
            return Err(shape_error("1 to 4 channels"));
        }
        if height < 8 || width < 8 || height > 256 || width > 256 {
            return Err(shape_error("height and width from 8 to 256"));
        }
        Ok(())
    }
}

/// A positive count, else [`GeneratorError::NonPositive`].
pub(crate) fn positive(field: &'static str, value: u32) -> Result<(), GeneratorError> {
    if value == 0 {
        return Err(GeneratorError::NonPositive {
            field,
            value: value.to_string(),
        });
    }
    Ok(())
}

/// A finite positive real, else [`GeneratorError::NonPositive`].
pub(crate) fn positive_real(field: &'static str, value: f64) -> Result<(), GeneratorError> {
    if !(value.is_finite() && value > 0.0) {
        return Err(GeneratorError::NonPositive {
            field,
            value: value.to_string(),
        });
    }
    Ok(())
}

/// Training data as a generator sees it: images in [0, 1], NCHW f32, and
/// labels (i64), on `device`.
pub struct GenData {
    pub images: Tensor,
    pub labels: Tensor,
    pub num_classes: i64,
    pub channels: i64,
    pub height: i64,
    pub width: i64,
}

impl GenData {
    /// The images of `subset` (planar CHW u8 in `pixels`).
    #[allow(clippy::too_many_arguments)]
    pub fn from_u8(
        pixels: &[u8],
        labels: &[u32],
        subset: &[u32],
        channels: u32,
        height: u32,
        width: u32,
        num_classes: u32,
        device: Device,
    ) -> Self {
        let e = (channels * height * width) as usize;
        let mut bytes = Vec::with_capacity(subset.len() * e);
        let mut ys = Vec::with_capacity(subset.len());
        for &i in subset {
            bytes.extend_from_slice(&pixels[i as usize * e..(i as usize + 1) * e]);
            ys.push(i64::from(labels[i as usize]));
        }
        let images = Tensor::from_slice(&bytes)
            .view([
                subset.len() as i64,
                i64::from(channels),
                i64::from(height),
                i64::from(width),
            ])
            .to_kind(Kind::Float)
            / 255.0;
        Self {
            images: images.to_device(device),
            labels: Tensor::from_slice(&ys).to_device(device),
            num_classes: i64::from(num_classes),
            channels: i64::from(channels),
            height: i64::from(height),
            width: i64::from(width),
        }
    }

    pub fn len(&self) -> i64 {
        self.images.size()[0]
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A fitted generator, ready to sample.
#[allow(clippy::large_enum_variant)] // One per fit; the size does not matter.
pub enum Fitted {
    Cvae(cvae::Cvae),
    Ddpm(Box<ddpm::Ddpm>),
}

impl Fitted {
    /// What sampling needs from the training data after the fit (the
    /// cVAE's per-class latent Gaussians).
    pub fn prepare(&mut self, config: &GeneratorConfig, data: &GenData) {
        if let (Self::Cvae(m), GeneratorConfig::Cvae(c)) = (self, config)
            && c.sampler == cvae::CvaeSampler::ClassLatent
        {
            m.fit_latent(data);
        }
    }

    /// Images of the given classes as u8 NCHW (on the CPU), drawn from
    /// libtorch's generator seeded with `seed`.
    pub fn sample(&self, labels: &[u32], seed: u64) -> Tensor {
        tch::manual_seed(seed as i64);
        let _guard = tch::no_grad_guard();
        let mut parts = Vec::new();
        for chunk in labels.chunks(SAMPLE_CHUNK) {
            let ys: Vec<i64> = chunk.iter().map(|&l| i64::from(l)).collect();
            let x = match self {
                Self::Cvae(m) => m.sample(&ys),
                Self::Ddpm(m) => m.sample(&ys),
            };
            parts.push(to_u8(&x));
        }
        Tensor::cat(&parts, 0)
    }
}

/// Images per sampling forward pass (bounds memory).
const SAMPLE_CHUNK: usize = 500;

/// [0, 1] floats to u8 (round half to even, as `torch.round`), on the CPU.
pub fn to_u8(x: &Tensor) -> Tensor {
    (x.clamp(0.0, 1.0) * 255.0)
        .round()
        .to_kind(Kind::Uint8)
        .to_device(Device::Cpu)
}

/// Pads NCHW images at the bottom and right to multiples of `m` (the
/// networks halve the size twice).
pub(crate) fn pad_to(x: &Tensor, height: i64, width: i64, m: i64) -> Tensor {
    let (ph, pw) = (padded(height, m) - height, padded(width, m) - width);
    if ph == 0 && pw == 0 {
        x.shallow_clone()
    } else {
        x.constant_pad_nd([0, pw, 0, ph])
    }
}

/// `n` rounded up to a multiple of `m`.
pub(crate) fn padded(n: i64, m: i64) -> i64 {
    (n + m - 1) / m * m
}

/// The labels of a class-balanced pool of `n` images over `classes`
/// (cycled, so the counts differ by at most one).
pub fn balanced_labels(n: usize, classes: &[u32]) -> Vec<u32> {
    (0..n).map(|i| classes[i % classes.len()]).collect()
}
