//! augkit: fused, per-sample image augmentation over device-resident batches.
//!
//! One function — random crop, flips, rotation/translation/scale, colour
//! jitter, mixup/cutmix, normalisation and dtype conversion, with per-sample
//! parameters drawn from a counter-based RNG — computed by three backends:
//! the CPU reference ([`cpu`]), WGSL kernels on wgpu, and CUDA kernels. The
//! exact definition is `docs/SEMANTICS.md`.
//!
//! ```
//! use std::sync::Arc;
//! use augkit::{cpu::CpuBackend, Backend, Dataset, HostImages, ImageShape, MixLabel, Policy, Step};
//!
//! let shape = ImageShape::new(3, 8, 8)?;
//! let pixels: Vec<u8> = (0..4 * shape.elements()).map(|i| (i * 37 % 256) as u8).collect();
//! let dataset = Arc::new(Dataset::new(shape, pixels, vec![0, 1, 2, 3], 4)?);
//! let policy = Policy::from_toml_str("horizontal_flip = 0.5\n[crop]\nkind = \"pad\"\npadding = 2\n")?;
//! let mut backend = CpuBackend::new(&policy, 42, dataset, vec![0, 1, 2, 3])?;
//! let step = Step { epoch: 0, first_position: 0, batch_size: 4 };
//! let mut images = vec![0f32; 4 * shape.elements()];
//! let mut labels = vec![MixLabel::default(); 4];
//! backend.augment_into(step, HostImages::F32(&mut images), &mut labels)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod backend;
pub mod cpu;
#[cfg(feature = "cuda")]
pub mod cuda;
pub mod dataset;
pub mod draws;
pub mod error;
pub mod kernel_args;
pub mod params;
pub mod philox;
pub mod policy;
pub mod shuffle;
pub mod synthetic;
#[cfg(feature = "wgpu")]
pub mod wgpu;

pub use backend::{
    Backend, BackendInfo, BackendKind, DeviceBackend, HostImages, Inspect, Plan, Step,
};
pub use dataset::{Dataset, ImageShape};
pub use error::{Error, PolicyError};
pub use kernel_args::{KernelPolicy, MixLabel, SampleParams, StepArgs};
pub use policy::{DType, Layout, Policy};
