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

//! # What is public
//!
//! The documented surface is what a trainer needs: [`Policy`] and the types
//! in [`policy`], [`Dataset`] / [`ImageShape`], [`Step`], [`HostImages`],
//! [`MixLabel`], [`SyntheticPool`], [`SampleParams`] (for inspection), the [`Backend`],
//! [`DeviceBackend`] and [`Inspect`] traits, [`BackendInfo`] /
//! [`BackendKind`], [`Error`] / [`PolicyError`] / [`PoolError`], [`Plan`] (an opaque,
//! validated run description with read accessors) and the three backends
//! with their options ([`cpu`], `wgpu`, `cuda`), and [`read_file_bounded`] (the
//! size-capped file reader behind [`Policy::from_file`], shared with the
//! harness). Everything else — the
//! kernel ABI, the draw slots, Philox, the shuffle, the parameter
//! computation, the synthetic tables — is an implementation detail, reachable
//! only through the hidden `augkit::internals` module for the project's own tests
//! and bench crate (`docs/ARCHITECTURE.md`, "Public API").

mod backend;
mod bounded_read;
pub mod cpu;
#[cfg(feature = "cuda")]
pub mod cuda;
mod dataset;
mod draws;
mod error;
mod kernel_args;
mod params;
mod philox;
pub mod policy;
mod pool;
mod shuffle;
mod synthetic;
#[cfg(feature = "wgpu")]
pub mod wgpu;

pub use backend::{
    Backend, BackendInfo, BackendKind, DeviceBackend, HostImages, Inspect, Plan, Step,
};
pub use bounded_read::read_file_bounded;
pub use dataset::{ChannelStatistics, Dataset, ImageShape, MAX_CLASSES, channel_statistics};
pub use error::{Error, PolicyError, PoolError};
pub use kernel_args::{MixLabel, SampleParams};
pub use policy::{DType, Layout, Policy};
pub use pool::{MAX_POOL_BYTES, MAX_POOL_IMAGES, SyntheticPool};

/// Not API: the kernel ABI and the pieces of the computation that the
/// project's own tests (layout, constants, parity, semantics), the host
/// emulation of the CUDA source and the bench crate check or drive directly.
/// No stability promise; a user of the crate never needs these.
#[doc(hidden)]
pub mod internals {
    /// How the device backends (and the CUDA host emulation) implement
    /// `Backend::augment_into`.
    pub use crate::backend::augment_into_on_device;
    /// The `#[repr(C)]` structs the kernels read, the shared constants and
    /// the kernel entry names.
    pub mod kernel_args {
        pub use crate::kernel_args::*;
    }
    /// The per-sample random draws and their slots.
    pub mod draws {
        pub use crate::draws::*;
    }
    /// The counter-based RNG.
    pub mod philox {
        pub use crate::philox::*;
    }
    /// The per-epoch shuffle.
    pub mod shuffle {
        pub use crate::shuffle::*;
    }
    /// The CPU computation of [`SampleParams`](crate::SampleParams).
    pub mod params {
        pub use crate::params::*;
    }
    /// The synthetic-sample models and the tables the kernels read.
    pub mod synthetic {
        pub use crate::synthetic::*;
    }
}
