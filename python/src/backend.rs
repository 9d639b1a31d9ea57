//! Every call this crate makes into the `augkit` library, behind the crate's
//! own small types (`Request`, `Engine`, `HostOut`, `BindError`), so that a
//! change in the library's API is adapted here and nowhere else.
//!
//! Library items used: `Policy::{from_toml_str, from_json_str, from_file,
//! to_toml_string}`, `Policy::output.{mean, std, dtype, layout}`,
//! `Policy::mix.label_smoothing`,
//! `DType`, `Layout`, `ImageShape::{new, pixels}`, `Dataset::{new, with_pool}`,
//! `SyntheticPool::new`, `MAX_POOL_BYTES`, `policy::{SynthMode, PoolSource}`, `Step`,
//! `HostImages`, `MixLabel`, `SampleParams`, `Backend::{info, epoch_len,
//! sample_params, augment_into}`, `BackendInfo::{kind, device}`, `BackendKind`,
//! `cpu::CpuBackend::new`,
//! `wgpu::{WgpuBackend::new, WgpuOptions::default}`,
//! `cuda::{CudaBackend::new, CudaOptions, DeviceOutputs,
//! CudaBackend::{reserve, set_stream, run_into}}`, and `Error`'s
//! variants (to choose the Python exception), `PolicyError`.

use std::sync::Arc;

use augkit::{Backend, DType, HostImages, Layout, MixLabel, Policy, Step};

/// What went wrong, sorted by the Python exception it becomes.
#[derive(Debug)]
pub enum BindError {
    /// A bad policy, shape, step or argument value: `ValueError`.
    Value(String),
    /// A wrong dtype, layout or memory kind: `TypeError`.
    Type(String),
    /// The device or backend failed: `RuntimeError`.
    Runtime(String),
}

impl From<augkit::Error> for BindError {
    fn from(e: augkit::Error) -> Self {
        use augkit::Error as E;
        let message = e.to_string();
        match e {
            E::Policy(_)
            | E::Shape { .. }
            | E::Dataset(_)
            | E::SubsetIndex { .. }
            | E::EmptySubset
            | E::ZeroBatch
            | E::StepOutOfRange { .. }
            | E::BufferSize { .. }
            | E::Pool(_)
            | E::NoPool => BindError::Value(message),
            E::DType { .. } => BindError::Type(message),
            _ => BindError::Runtime(message),
        }
    }
}

impl From<augkit::PolicyError> for BindError {
    fn from(e: augkit::PolicyError) -> Self {
        BindError::Value(e.to_string())
    }
}

/// Where the policy text comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicySource {
    Toml,
    Json,
    /// A `.toml` or `.json` file; the text is its path.
    File,
}

pub fn parse_policy(source: PolicySource, text: &str) -> Result<Policy, BindError> {
    Ok(match source {
        PolicySource::Toml => Policy::from_toml_str(text)?,
        PolicySource::Json => Policy::from_json_str(text)?,
        PolicySource::File => Policy::from_file(text)?,
    })
}

/// The backend asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Choice {
    /// CUDA when a CUDA device was named and the backend starts there, else CPU.
    Auto,
    Cpu,
    Wgpu,
    Cuda,
}

/// Output element type, as the policy's `output.dtype` says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutDType {
    F32,
    F16,
    Bf16,
}

/// Everything needed to open an engine.
pub struct Request {
    pub policy: Policy,
    pub seed: u64,
    /// (channels, height, width).
    pub shape: (u32, u32, u32),
    /// N images, planar CHW.
    pub pixels: Vec<u8>,
    pub labels: Vec<u32>,
    pub num_classes: u32,
    /// Dataset indices making up an epoch; `None`: every image.
    pub subset: Option<Vec<u32>>,
    pub choice: Choice,
    /// CUDA device ordinal the outputs live on, if any.
    pub cuda_device: Option<usize>,
    /// Fill in the subset's per-channel mean and std when the policy sets
    /// neither (as the harness does).
    pub normalise: bool,
    /// A synthetic pool given by the caller.
    pub pool: Option<PoolArrays>,
}

/// A synthetic pool's images (planar CHW, the dataset's shape) and labels.
pub type PoolArrays = (Vec<u8>, Vec<u32>);

/// What the Python layer needs to know about an open engine.
#[derive(Clone, Debug)]
pub struct Meta {
    pub epoch_len: u32,
    pub shape: (u32, u32, u32),
    pub dtype: OutDType,
    /// True for NHWC output.
    pub nhwc: bool,
    /// "cpu", "wgpu" or "cuda".
    pub kind: &'static str,
    /// The device or adapter as the backend found it.
    pub device: String,
    /// Why this backend (for `backend="auto"`).
    pub note: String,
    /// The policy as it runs (normalisation filled in), as TOML.
    pub policy_toml: String,
    /// The output normalisation actually used, per channel.
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
    /// The policy's `mix.label_smoothing` (0 without mixing).
    pub label_smoothing: f32,
}

enum Inner {
    /// Writes host memory (CPU; wgpu reads its output back into it).
    Host(Box<dyn Backend + Send>),
    /// Writes device memory on a CUDA stream.
    Cuda(Box<augkit::cuda::CudaBackend>),
}

pub struct Engine {
    inner: Inner,
}

/// Caller host memory for one step's images.
pub enum HostOut<'a> {
    F32(&'a mut [f32]),
    F16(&'a mut [half::f16]),
    Bf16(&'a mut [half::bf16]),
}

/// One step: `batch_size` positions of `epoch` from `first_position` on.
#[derive(Clone, Copy, Debug)]
pub struct StepSpec {
    pub epoch: u32,
    pub first_position: u32,
    pub batch_size: u32,
}

fn step_of(s: StepSpec) -> Step {
    Step {
        epoch: s.epoch,
        first_position: s.first_position,
        batch_size: s.batch_size,
    }
}

/// Opens the backend `request.choice` asks for, with the dataset uploaded once.
pub fn open(request: Request) -> Result<(Engine, Meta), BindError> {
    let Request {
        mut policy,
        seed,
        shape: (c, h, w),
        pixels,
        labels,
        num_classes,
        subset,
        choice,
        cuda_device,
        normalise,
        pool,
    } = request;
    let shape = augkit::ImageShape::new(c, h, w)?;
    let n = labels.len();
    let subset = subset.unwrap_or_else(|| (0..n as u32).collect());
    if let Some((position, &index)) = subset.iter().enumerate().find(|&(_, &i)| i as usize >= n) {
        return Err(BindError::Value(format!(
            "subset index {index} at position {position} is out of range for {n} images"
        )));
    }
    // The dataset first: its own refusals (no images, num_classes) come
    // before the statistics' (an empty subset).
    let mut dataset = augkit::Dataset::new(shape, pixels, labels, num_classes)?;
    if normalise && policy.output.mean.is_empty() && policy.output.std.is_empty() {
        let stats = dataset.channel_statistics(&subset)?;
        policy.output.mean = stats.mean;
        policy.output.std = stats.std;
    }
    // The pool after the statistics: they are the real training subset's.
    if let Some((pool_pixels, pool_labels)) = pool_for(&policy, pool, shape, num_classes)? {
        let pool = augkit::SyntheticPool::new(shape, pool_pixels, pool_labels, num_classes)?;
        dataset = dataset.with_pool(pool)?;
    }
    let dataset = Arc::new(dataset);
    let mut note = String::new();
    let inner = match choice {
        Choice::Auto => match cuda_device {
            Some(device) => match open_cuda(&policy, seed, dataset.clone(), subset.clone(), device)
            {
                Ok(inner) => {
                    note = format!("auto chose cuda: the outputs live on cuda:{device}");
                    inner
                }
                Err(e) => {
                    note = format!(
                        "auto chose cpu: the CUDA backend did not start ({}); batches are copied to cuda:{device}",
                        message(&e)
                    );
                    open_cpu(&policy, seed, dataset, subset)?
                }
            },
            None => {
                note = "auto chose cpu: the outputs live on the CPU".into();
                open_cpu(&policy, seed, dataset, subset)?
            }
        },
        Choice::Cpu => open_cpu(&policy, seed, dataset, subset)?,
        Choice::Wgpu => {
            let options = augkit::wgpu::WgpuOptions::default();
            let backend = augkit::wgpu::WgpuBackend::new(&policy, seed, dataset, subset, &options)?;
            note = "wgpu: the output is read back into the CPU tensor's memory (one copy)".into();
            Inner::Host(Box::new(backend))
        }
        Choice::Cuda => {
            let device = cuda_device.ok_or_else(|| {
                BindError::Value(
                    "backend=\"cuda\" writes CUDA tensors: pass device=\"cuda[:N]\"".into(),
                )
            })?;
            open_cuda(&policy, seed, dataset, subset, device)?
        }
    };
    let (info, epoch_len) = match &inner {
        Inner::Host(b) => (b.info(), b.epoch_len()),
        Inner::Cuda(b) => (b.info(), b.epoch_len()),
    };
    if note.is_empty() {
        note = format!("{} requested", info.kind.name());
    }
    let meta = Meta {
        epoch_len,
        shape: (c, h, w),
        dtype: match policy.output.dtype {
            DType::F32 => OutDType::F32,
            DType::F16 => OutDType::F16,
            DType::Bf16 => OutDType::Bf16,
        },
        nhwc: policy.output.layout == Layout::Nhwc,
        kind: info.kind.name(),
        device: info.device,
        note,
        policy_toml: policy.to_toml_string(),
        mean: policy.output.mean.clone(),
        std: policy.output.std.clone(),
        label_smoothing: policy.mix.as_ref().map_or(0.0, |m| m.label_smoothing),
    };
    let engine = Engine { inner };
    Ok((engine, meta))
}

/// The pool to attach: the caller's, checked against what the policy's
/// `[synthetic]` section says the pool is.
fn pool_for(
    policy: &Policy,
    given: Option<PoolArrays>,
    shape: augkit::ImageShape,
    num_classes: u32,
) -> Result<Option<PoolArrays>, BindError> {
    use augkit::policy::{PoolSource, SynthMode};
    // A bad policy is named first (the plan validates it again).
    policy.compile(shape)?;
    let pool_mode = policy
        .synthetic
        .as_ref()
        .filter(|s| s.mode == SynthMode::Pool);
    let Some(s) = pool_mode else {
        return match given {
            Some(_) => Err(BindError::Value(
                "synthetic_pool was given but the policy has no `[synthetic] mode = \"pool\"` \
                 section to draw from it"
                    .into(),
            )),
            None => Ok(None),
        };
    };
    match (s.source, given) {
        (Some(PoolSource::File), Some(_)) => Err(BindError::Value(
            "the policy names a pool file (`synthetic.source = \"file\"`) and synthetic_pool \
             was given too: use one"
                .into(),
        )),
        (Some(PoolSource::File), None) => {
            let path = s.path.as_deref().unwrap_or(std::path::Path::new(""));
            read_pool_file(path, shape, num_classes).map(Some)
        }
        (Some(source @ (PoolSource::Cvae | PoolSource::Ddpm)), None) => {
            Err(BindError::Value(format!(
                "`synthetic.source = \"{}\"`: the Python package does not train generators; \
                 pass the generated pool as synthetic_pool=(images, labels) \
                 (the augkit harness fits and samples them)",
                if source == PoolSource::Cvae {
                    "cvae"
                } else {
                    "ddpm"
                }
            )))
        }
        (None, None) => Err(BindError::Value(
            "`synthetic.mode = \"pool\"` needs a pool: pass synthetic_pool=(images, labels) \
             or name a file (`source = \"file\"`, `path`)"
                .into(),
        )),
        (_, Some(pool)) => Ok(Some(pool)),
    }
}

/// A `source = "file"` pool: the `.npz` at `path` read by the harness's own
/// reader (`augkit_data::npz`, the same checks as `npz:PATH` data sets),
/// limited to [`augkit::MAX_POOL_BYTES`], its labels below `num_classes` and
/// its images of `shape` (NCHW or NHWC in the file). A test split in the
/// file is not used.
fn read_pool_file(
    path: &std::path::Path,
    shape: augkit::ImageShape,
    num_classes: u32,
) -> Result<PoolArrays, BindError> {
    use augkit_data::npz;
    let limits = npz::NpzLimits {
        max_image_bytes: augkit::MAX_POOL_BYTES,
        num_classes: Some(num_classes),
    };
    let problem = |e: augkit_data::DataError| {
        BindError::Value(format!("synthetic pool file (`synthetic.path`): {e}"))
    };
    let set = npz::read(path, &limits).map_err(problem)?;
    set.expect_shape(shape.channels, shape.height, shape.width)
        .map_err(problem)?;
    Ok((set.train.pixels, set.train.labels))
}

fn open_cpu(
    policy: &Policy,
    seed: u64,
    dataset: Arc<augkit::Dataset>,
    subset: Vec<u32>,
) -> Result<Inner, BindError> {
    // In this process's own pool (see fork.rs), as every later CPU call.
    let backend =
        crate::fork::in_pool(|| augkit::cpu::CpuBackend::new(policy, seed, dataset, subset))??;
    Ok(Inner::Host(Box::new(backend)))
}

fn open_cuda(
    policy: &Policy,
    seed: u64,
    dataset: Arc<augkit::Dataset>,
    subset: Vec<u32>,
    device: usize,
) -> Result<Inner, BindError> {
    let options = augkit::cuda::CudaOptions {
        device,
        ..augkit::cuda::CudaOptions::default()
    };
    let backend = augkit::cuda::CudaBackend::new(policy, seed, dataset, subset, &options)?;
    Ok(Inner::Cuda(Box::new(backend)))
}

pub fn message(e: &BindError) -> &str {
    match e {
        BindError::Value(m) | BindError::Type(m) | BindError::Runtime(m) => m,
    }
}

impl Engine {
    /// Runs one step into host memory: images, and one `[label_a, label_b,
    /// λ bits]` row per sample.
    pub fn run_host(
        &mut self,
        step: StepSpec,
        images: HostOut<'_>,
        labels: &mut [[u32; 3]],
    ) -> Result<(), BindError> {
        let Inner::Host(backend) = &mut self.inner else {
            return Err(BindError::Value(
                "the CUDA backend writes CUDA tensors, not host memory".into(),
            ));
        };
        let images = match images {
            HostOut::F32(s) => HostImages::F32(s),
            HostOut::F16(s) => HostImages::F16(s),
            HostOut::Bf16(s) => HostImages::Bf16(s),
        };
        let labels: &mut [MixLabel] = bytemuck::cast_slice_mut(labels);
        backend.augment_into(step_of(step), images, labels)?;
        Ok(())
    }

    /// Enqueues one step on `stream`, writing device memory.
    ///
    /// # Safety
    /// `images` holds `images_len` elements of `dtype` and `labels`
    /// `batch_size` rows of three 4-byte words, both device memory of this
    /// backend's device that stay alive until `stream` has run the step;
    /// `stream` is 0 or a live `CUstream` of that device's primary context.
    pub unsafe fn run_device(
        &mut self,
        step: StepSpec,
        images: u64,
        images_len: usize,
        dtype: OutDType,
        labels: u64,
        stream: u64,
    ) -> Result<(), BindError> {
        let Inner::Cuda(backend) = &mut self.inner else {
            return Err(BindError::Value(
                "a host backend writes CPU tensors, not CUDA memory".into(),
            ));
        };
        backend.reserve(step.batch_size)?;
        // SAFETY: the caller guarantees the stream (see above).
        unsafe { backend.set_stream(stream) };
        let outputs = augkit::cuda::DeviceOutputs {
            images,
            images_len,
            dtype: match dtype {
                OutDType::F32 => DType::F32,
                OutDType::F16 => DType::F16,
                OutDType::Bf16 => DType::Bf16,
            },
            labels,
            labels_len: step.batch_size as usize,
        };
        // SAFETY: the caller guarantees both buffers (see above); the backend
        // checks their sizes and that they are device memory.
        unsafe { backend.run_into(step_of(step), outputs)? };
        Ok(())
    }

    /// The step's per-sample parameters as raw 4-byte words, `PARAM_WORDS`
    /// per sample (see [`param_fields`]).
    pub fn params(&mut self, step: StepSpec) -> Result<Vec<u32>, BindError> {
        let params = match &mut self.inner {
            Inner::Host(b) => b.sample_params(step_of(step))?,
            Inner::Cuda(b) => b.sample_params(step_of(step))?,
        };
        Ok(bytemuck::cast_slice(&params).to_vec())
    }
}

/// 4-byte words per sample in [`Engine::params`].
pub const PARAM_WORDS: usize = size_of::<augkit::SampleParams>() / 4;

/// The parameter fields: (name, first word, words, kind "u32" | "i32" | "f32").
pub fn param_fields() -> Vec<(&'static str, usize, usize, &'static str)> {
    use std::mem::offset_of;
    type P = augkit::SampleParams;
    let w = |offset: usize| offset / 4;
    vec![
        ("dataset_index", w(offset_of!(P, dataset_index)), 1, "u32"),
        ("label_a", w(offset_of!(P, label_a)), 1, "u32"),
        ("label_b", w(offset_of!(P, label_b)), 1, "u32"),
        ("partner", w(offset_of!(P, partner)), 1, "u32"),
        ("flags", w(offset_of!(P, flags)), 1, "u32"),
        ("colour_order", w(offset_of!(P, colour_order)), 1, "u32"),
        ("lambda", w(offset_of!(P, lambda)), 1, "f32"),
        ("hue", w(offset_of!(P, hue)), 1, "f32"),
        ("brightness", w(offset_of!(P, brightness)), 1, "f32"),
        ("contrast", w(offset_of!(P, contrast)), 1, "f32"),
        ("saturation", w(offset_of!(P, saturation)), 1, "f32"),
        ("synth_partner", w(offset_of!(P, synth_partner)), 1, "u32"),
        ("inverse_affine", w(offset_of!(P, inverse_affine)), 6, "f32"),
        ("synth_t", w(offset_of!(P, synth_t)), 1, "f32"),
        ("slot", w(offset_of!(P, slot)), 1, "u32"),
        ("window", w(offset_of!(P, window)), 4, "i32"),
        ("cut_box", w(offset_of!(P, cut_box)), 4, "u32"),
        ("auto_ops", w(offset_of!(P, auto_ops)), 1, "u32"),
        ("erase_count", w(offset_of!(P, erase_count)), 1, "u32"),
        (
            "auto_magnitudes",
            w(offset_of!(P, auto_magnitudes)),
            4,
            "f32",
        ),
        ("auto_affine", w(offset_of!(P, auto_affine)), 6, "f32"),
        (
            "erase_boxes",
            w(offset_of!(P, erase_boxes)),
            4 * augkit::internals::kernel_args::MAX_ERASE_BOXES as usize,
            "u32",
        ),
    ]
}
