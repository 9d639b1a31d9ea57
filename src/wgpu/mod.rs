//! The wgpu backend: `kernels/wgsl/*.wgsl` (joined by `shader.rs`) on any Vulkan, Metal or
//! DX12 adapter (a hardware GPU first, else a CPU adapter such as Mesa's
//! lavapipe; never the OpenGL fallback).
//!
//! The dataset (u8 packed four to a word, split over up to three storage
//! bindings), labels, index list and per-image gray means — and, for a
//! policy with synthetic samples, the class index and PCA model
//! (`SynthTables`, appended to the same binding) — are uploaded once by
//! [`WgpuBackend::new`]. A step ([`run`](DeviceBackend::run)) sends only its
//! `StepArgs` — as immediates where the device has them, else as one
//! 32-byte uniform write — and records up to four dispatches in one compute
//! pass: parameters (which also writes the synthetic coefficients after the
//! contrast means), the auto-op reductions (only with TrivialAugment /
//! RandAugment; after the coefficients), contrast reduction (only when the
//! policy has contrast), pixels. Outputs stay in device buffers; [`read_back`](DeviceBackend::read_back) is the
//! only copy.
//!
//! A step whose images exceed one storage binding (128 MiB on lavapipe, e.g.
//! 256 images of 3×224×224 in f32; or [`WgpuOptions::max_binding_bytes`])
//! still writes one images buffer, but the pixel pass runs once per output
//! window: each dispatch binds an aligned sub-range of that buffer and gets
//! its first unit and base word in the StepArgs' last two words (8 more bytes
//! of immediates per further window, or one more 32-byte StepArgs at a
//! dynamic uniform offset). The per-sample buffers (parameters, mix labels,
//! contrast means and synthetic coefficients) stay one binding each — a
//! mixed sample reads its partner's — which bounds a step to about 1.2 M
//! samples at 128 MiB.
//!
//! ```no_run
//! use std::sync::Arc;
//! use augkit::wgpu::{WgpuBackend, WgpuOptions};
//! use augkit::{Dataset, DeviceBackend, HostImages, ImageShape, MixLabel, Policy, Step};
//!
//! let shape = ImageShape::new(3, 8, 8)?;
//! let pixels = vec![128u8; 4 * shape.elements()];
//! let dataset = Arc::new(Dataset::new(shape, pixels, vec![0, 1, 2, 3], 4)?);
//! let policy = Policy::from_toml_str("horizontal_flip = 0.5\n")?;
//! // Any adapter: `WgpuOptions { adapter: Some("llvmpipe".into()), .. }` names one.
//! let mut gpu = WgpuBackend::new(&policy, 42, dataset, vec![0, 1, 2, 3], &WgpuOptions::default())?;
//! println!("{}", gpu.adapter());
//! let step = Step { epoch: 0, first_position: 0, batch_size: 4 };
//! gpu.run(step)?; // submits; only the 32-byte StepArgs cross
//! gpu.wait()?; // a bench stops its clock after this
//! let mut images = vec![0f32; 4 * shape.elements()];
//! let mut labels = vec![MixLabel::default(); 4];
//! gpu.read_back(&mut HostImages::F32(&mut images), &mut labels)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! One job per file: `device.rs` (adapter and device), `resident.rs` (the
//! dataset packed into chunk bindings, the meta words and their offsets),
//! `shader.rs` (the joined WGSL module), `pipelines.rs` (one pipeline per
//! pass the policy uses), `bindings.rs` (the one binding table, the layout
//! and bind groups built from it, buffers grown with the batch),
//! `windows.rs` (output windows), `submit.rs` (one step's dispatches),
//! `timestamps.rs`, `readback.rs` (the device→host copies); this file
//! holds the backend and puts those together (`from_plan`).
//!
//! Tests: `cargo test --test wgpu_parity --test wgpu_layout`.

use std::sync::Arc;

use ::wgpu as wg;
use wg::util::DeviceExt;

use crate::backend::{
    Backend, BackendInfo, BackendKind, DeviceBackend, HostImages, Inspect, Plan, Step,
};
use crate::dataset::Dataset;
use crate::error::Error;
use crate::kernel_args::{
    AUTO_OFF, CROP_RESIZED, ERASE_OFF, KernelPolicy, MAX_AUTO_OPS, MixLabel, SYNTH_INTERPOLATE,
    SYNTH_PCA, SampleParams,
};
use crate::policy::Policy;

mod bindings;
mod device;
mod pipelines;
mod readback;
mod resident;
mod shader;
mod submit;
mod timestamps;
mod windows;

#[doc(hidden)]
pub use bindings::{SLOTS, Slot, SlotKind};
pub use device::{AdapterReport, WgpuDevice, WgpuOptions};
use pipelines::Pipelines;
#[doc(hidden)]
pub use resident::Resident;
pub use shader::{SHADER_SOURCE, shader_source};
pub use timestamps::PassTimings;
use timestamps::Timestamps;
use windows::Window;

/// Dataset bindings the shader declares (`data0`…`data2`).
#[doc(hidden)]
pub const DATA_BINDINGS: usize = 3;

/// Storage buffers one pipeline binds: meta, data chunks, params, labels,
/// means, output.
const STORAGE_BINDINGS: u32 = 1 + DATA_BINDINGS as u32 + 4;

/// Words of the `means` binding per auto op of a sample for its reductions
/// (the shader's `STATS_PER_OP`): Equalize's three 256-entry tables.
#[doc(hidden)]
pub const STATS_PER_OP: u32 = 768;

/// `means` words per sample for the auto-op reductions (0 without auto ops).
fn auto_stats_words(kernel: &KernelPolicy) -> u64 {
    if kernel.auto_mode == AUTO_OFF {
        0
    } else {
        u64::from(MAX_AUTO_OPS * STATS_PER_OP)
    }
}

/// The shader's pipeline-overridable feature switches for a policy: a
/// feature the policy never uses is compiled out of every pipeline.
pub fn pipeline_constants(kernel: &KernelPolicy) -> [(&'static str, f64); 5] {
    let on = |used: bool| if used { 1.0 } else { 0.0 };
    [
        ("HAS_AUTO", on(kernel.auto_mode != AUTO_OFF)),
        ("HAS_ERASING", on(kernel.erase_mode != ERASE_OFF)),
        ("HAS_RESIZED_CROP", on(kernel.crop_mode == CROP_RESIZED)),
        ("HAS_JITTER", on(kernel.jitter_ops != 0)),
        // Generated on the device (PCA, interpolation); a pool sample is
        // read like a real one and needs none of it.
        (
            "HAS_SYNTHETIC",
            on(kernel.synth_mode == SYNTH_PCA || kernel.synth_mode == SYNTH_INTERPOLATE),
        ),
    ]
}

/// Device buffers that grow with the batch.
struct Outputs {
    capacity: u32,
    params: wg::Buffer,
    labels: wg::Buffer,
    means: wg::Buffer,
    images: wg::Buffer,
    staging: wg::Buffer,
    /// Without immediates: one StepArgs per window, `step_stride` apart.
    step_buf: Option<wg::Buffer>,
    step_stride: u64,
    /// Usually one: the whole images buffer.
    windows: Vec<Window>,
    /// One per window; the first also serves the parameters and contrast
    /// passes.
    bind_groups: Vec<wg::BindGroup>,
}

/// The fused augmentation on a wgpu device.
pub struct WgpuBackend {
    plan: Plan,
    gpu: WgpuDevice,
    layout: wg::BindGroupLayout,
    pipelines: Pipelines,
    policy_buf: wg::Buffer,
    resident_buf: wg::Buffer,
    meta_buf: wg::Buffer,
    data_bufs: Vec<wg::Buffer>,
    /// Step arguments as immediates (else a uniform with a dynamic offset).
    immediates: bool,
    /// Bytes of one images binding (`max_binding_bytes`, the device's
    /// binding and buffer limits): the pixel pass's output window.
    image_binding: u64,
    resident: Resident,
    outputs: Option<Outputs>,
    timestamps: Option<Timestamps>,
    timestamp_reason: String,
    last: Option<(Step, bool)>,
    step_upload_bytes: u64,
    total_upload_bytes: u64,
    pixel_dispatches: u32,
}

fn align_up(v: u64, a: u64) -> u64 {
    v.div_ceil(a) * a
}

/// Bytes of one storage binding: the device's binding and buffer limits,
/// or less per `WgpuOptions::max_binding_bytes`.
fn binding_bytes(gpu: &WgpuDevice, options: &WgpuOptions) -> Result<u64, Error> {
    let limits = &gpu.limits;
    let device_binding = limits.max_storage_buffer_binding_size;
    let binding = options
        .max_binding_bytes
        .map_or(device_binding, |b| b.min(device_binding))
        .min(limits.max_buffer_size);
    let chunk_words = binding / 4;
    if chunk_words == 0 {
        return Err(Error::TooLarge {
            what: "a dataset chunk binding",
            bytes: 4,
            limit: binding,
        });
    }
    Ok(binding)
}

impl WgpuBackend {
    /// Validates the run, opens a device per `options`, uploads the dataset.
    pub fn new(
        policy: &Policy,
        seed: u64,
        dataset: Arc<Dataset>,
        subset: Vec<u32>,
        options: &WgpuOptions,
    ) -> Result<Self, Error> {
        let plan = Plan::new(policy, seed, dataset, subset)?;
        let gpu = WgpuDevice::new(options)?;
        Self::from_plan(plan, gpu, options)
    }

    /// Builds on a device the caller opened.
    pub fn from_plan(plan: Plan, gpu: WgpuDevice, options: &WgpuOptions) -> Result<Self, Error> {
        let binding = binding_bytes(&gpu, options)?;
        let chunk_words = binding / 4;
        let device = &gpu.device;
        let (data_bufs, chunks) =
            resident::upload_dataset(device, plan.dataset.pixels(), chunk_words)?;
        let (meta, resident) = resident::resident_meta(&plan, chunk_words, chunks, binding)?;
        let meta_buf = device.create_buffer_init(&wg::util::BufferInitDescriptor {
            label: Some("augkit subset, labels, gray means"),
            contents: bytemuck::cast_slice(&meta),
            usage: wg::BufferUsages::STORAGE,
        });
        let policy_buf = device.create_buffer_init(&wg::util::BufferInitDescriptor {
            label: Some("augkit policy"),
            contents: bytemuck::bytes_of(&plan.kernel),
            usage: wg::BufferUsages::UNIFORM,
        });
        let resident_buf = device.create_buffer_init(&wg::util::BufferInitDescriptor {
            label: Some("augkit resident"),
            contents: bytemuck::bytes_of(&resident),
            usage: wg::BufferUsages::UNIFORM,
        });
        let immediates = gpu.immediates();
        let (layout, pipelines) = Pipelines::new(&gpu, &plan.kernel, immediates)?;
        let (timestamps, timestamp_reason) = Timestamps::new(&gpu, options.timestamps);

        let backend = Self {
            plan,
            gpu,
            layout,
            pipelines,
            policy_buf,
            resident_buf,
            meta_buf,
            data_bufs,
            immediates,
            image_binding: binding,
            resident,
            outputs: None,
            timestamps,
            timestamp_reason,
            last: None,
            step_upload_bytes: 0,
            total_upload_bytes: 0,
            pixel_dispatches: 0,
        };
        backend.gpu.check()?;
        Ok(backend)
    }

    pub fn device(&self) -> &WgpuDevice {
        &self.gpu
    }

    pub fn adapter(&self) -> &AdapterReport {
        self.gpu.adapter()
    }

    /// Dataset bindings in use (1 unless the dataset exceeds one binding).
    pub fn dataset_chunks(&self) -> u32 {
        self.resident.chunks
    }

    /// Host→device bytes the last [`run`](DeviceBackend::run) sent: the step
    /// arguments, as immediates or a uniform write (`size_of::<StepArgs>()`),
    /// and, when the images were written in several pixel dispatches (see
    /// [`pixel_dispatches`](Self::pixel_dispatches)), each further
    /// dispatch's output window: 8 bytes as immediates, another 32-byte
    /// StepArgs as a uniform write.
    pub fn step_upload_bytes(&self) -> u64 {
        self.step_upload_bytes
    }

    /// Pixel dispatches of the last [`run`](DeviceBackend::run): 1 unless its images
    /// exceed one storage binding (`max_storage_buffer_binding_size`, or
    /// [`WgpuOptions::max_binding_bytes`]), when each dispatch writes a
    /// window of them.
    pub fn pixel_dispatches(&self) -> u32 {
        self.pixel_dispatches
    }

    /// Host→device bytes sent by every step so far (the one-time uploads of
    /// construction excluded).
    pub fn total_step_upload_bytes(&self) -> u64 {
        self.total_upload_bytes
    }
}

impl Backend for WgpuBackend {
    fn info(&self) -> BackendInfo {
        BackendInfo {
            kind: BackendKind::Wgpu,
            device: self.gpu.adapter().to_string(),
        }
    }

    fn plan(&self) -> &Plan {
        &self.plan
    }

    fn sample_params(&mut self, step: Step) -> Result<Vec<SampleParams>, Error> {
        self.submit(step, true)?;
        self.last_params()
    }

    fn augment_into(
        &mut self,
        step: Step,
        images: HostImages<'_>,
        labels: &mut [MixLabel],
    ) -> Result<(), Error> {
        crate::backend::augment_into_on_device(self, step, images, labels)
    }
}

impl DeviceBackend for WgpuBackend {
    /// Only the step's `StepArgs` cross; the images, labels and parameters
    /// stay in device buffers until [`read_back`](DeviceBackend::read_back).
    fn run(&mut self, step: Step) -> Result<(), Error> {
        self.submit(step, false)
    }

    fn wait(&self) -> Result<(), Error> {
        self.gpu.wait()
    }

    fn read_back(
        &mut self,
        images: &mut HostImages<'_>,
        labels: &mut [MixLabel],
    ) -> Result<(), Error> {
        self.read_outputs(images, labels)
    }
}
