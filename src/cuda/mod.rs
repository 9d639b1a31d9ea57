//! The CUDA backend: `kernels/cuda/augment.cu` and its headers compiled by
//! NVRTC at run time, the dataset uploaded once, two to four launches per
//! step on a caller-chosen stream, written straight into caller device
//! memory.
//!
//! Built on cudarc's driver and NVRTC bindings, loaded at run time: with no
//! `libcuda` / `libnvrtc` present every constructor returns a typed
//! [`Error`] (never a panic). One step launches `augment_params`, then
//! `augment_stats` (only when the policy has TrivialAugment / RandAugment:
//! the per-sample statistics of its reduction ops, in chain order), then
//! `augment_contrast` (only when the policy has contrast jitter), then
//! `augment_pixels_<dtype>`; the synthetic tables (class index, PCA model)
//! are uploaded once, `augment_params` writes the step's B × K synthetic
//! coefficients into scratch sized at construction, and every kernel gets
//! them as one by-value `SynthArgs`; nothing is allocated and nothing synchronises
//! inside [`CudaBackend::run_into`], so a step can be captured in
//! a CUDA graph. The kernels are compiled with `--fmad=false` (see
//! [`compile::options`]).
//!
//! # Writing into your own device memory on your own stream
//!
//! ```no_run
//! use std::sync::Arc;
//! use augkit::cuda::{CudaBackend, CudaOptions, DeviceOutputs};
//! use augkit::{Dataset, DType, ImageShape, MixLabel, Policy, Step};
//!
//! let shape = ImageShape::new(3, 32, 32)?;
//! let pixels = vec![0u8; 1000 * shape.elements()];
//! let dataset = Arc::new(Dataset::new(shape, pixels, vec![0; 1000], 10)?);
//! let policy = Policy::from_toml_str("horizontal_flip = 0.5\n[crop]\nkind = \"pad\"\npadding = 4\n")?;
//! let subset: Vec<u32> = (0..1000).collect();
//! // Stream 0 is the legacy default stream, which libtorch uses: our kernels
//! // are then ordered with its work. Pass a `CUstream` handle to use another.
//! let options = CudaOptions { device: 0, stream: 0, max_batch: 256 };
//! let mut backend = CudaBackend::new(&policy, 42, dataset, subset, &options)?;
//!
//! // Device memory you own, e.g. a contiguous CUDA tensor's `data_ptr()`
//! // (B·C·H·W elements of the policy's dtype) and B `MixLabel`s.
//! let (images_ptr, labels_ptr): (u64, u64) = (0x7f00_0000_0000, 0x7f00_1000_0000);
//! let step = Step { epoch: 0, first_position: 0, batch_size: 256 };
//! let outputs = DeviceOutputs {
//!     images: images_ptr,
//!     images_len: 256 * shape.elements(),
//!     dtype: DType::F32,
//!     labels: labels_ptr,
//!     labels_len: 256,
//! };
//! // SAFETY: both pointers are live device allocations of this device, at
//! // least as large as stated, not used by anything else until the stream
//! // has run the step.
//! unsafe { backend.run_into(step, outputs)? };
//! # let _ = MixLabel::default();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! One job per file: `sources.rs` (the embedded kernel sources, one header
//! list), `compile.rs` (NVRTC), `disk_cache.rs` (compiled images kept
//! between processes), `args.rs` (the CUDA-only kernel arguments),
//! `memory.rs` (allocations and caller-pointer checks), `launch.rs` (the
//! launches, one argument builder), `events.rs` (CUDA event timing),
//! `readback.rs`; this file opens the device and checks each step before
//! it launches.
//!
//! Tests: `cargo test --test cuda_backend` (no-driver errors, GPU parity
//! when a GPU is present), `cargo test --test cuda_nvrtc`,
//! `cargo test -p augkit-cuda-host`.

mod args;
#[doc(hidden)]
pub mod compile;
mod disk_cache;
pub mod events;
mod launch;
mod memory;
mod readback;
#[doc(hidden)]
pub mod sources;

use std::sync::Arc;

use cudarc::driver::result::{self as cu, DriverError};
use cudarc::driver::sys;

use crate::backend::{
    Backend, BackendInfo, BackendKind, DeviceBackend, HostImages, Inspect, Plan, Step,
};
use crate::dataset::Dataset;
use crate::error::Error;
use crate::kernel_args::{AUTO_OFF, MixLabel, OP_CONTRAST, SampleParams};
use crate::policy::{DType, Policy};
#[doc(hidden)]
#[doc(hidden)]
pub use args::{AutoArgs, SynthArgs};
use launch::Functions;
pub use memory::AUTO_STATS_BYTES;
use memory::{
    DeviceBuffer, SynthBuffers, check_pointer, coefficient_buffer, stage_buffer, stats_buffer,
};

/// Where and how the backend runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CudaOptions {
    /// CUDA device ordinal; the backend uses its primary context (as the
    /// CUDA runtime and libtorch do).
    pub device: usize,
    /// `CUstream` handle the steps are launched on; 0 is the legacy default
    /// stream (libtorch's default).
    pub stream: u64,
    /// Batch size the per-step scratch is sized for at construction; a
    /// larger step reallocates once (the only allocation after construction).
    pub max_batch: u32,
}

impl Default for CudaOptions {
    fn default() -> Self {
        Self {
            device: 0,
            stream: 0,
            max_batch: 256,
        }
    }
}

/// Caller device memory for one step's outputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceOutputs {
    /// Device address of B·C·H·W elements of `dtype`, in the policy's layout.
    pub images: u64,
    /// Elements the images buffer holds.
    pub images_len: usize,
    pub dtype: DType,
    /// Device address of B [`MixLabel`]s (12 bytes each, 4-byte aligned).
    pub labels: u64,
    /// `MixLabel`s the labels buffer holds.
    pub labels_len: usize,
}

/// `libcuda` can be opened (without panicking if it cannot).
pub fn driver_present() -> bool {
    // SAFETY: only tries to open the library.
    unsafe { sys::is_culib_present() }
}

fn driver_error(call: &'static str, e: DriverError) -> Error {
    use sys::cudaError_enum as E;
    let message = e
        .error_string()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|_| format!("{:?}", e.0));
    match e.0 {
        E::CUDA_ERROR_NO_DEVICE | E::CUDA_ERROR_INVALID_DEVICE => {
            Error::NoCudaDevice(format!("{call}: {message}"))
        }
        E::CUDA_ERROR_OUT_OF_MEMORY => Error::OutOfDeviceMemory {
            what: call,
            bytes: 0,
        },
        _ => Error::Cuda { call, message },
    }
}

/// The CUDA backend. See the module docs.
pub struct CudaBackend {
    plan: Plan,
    device_name: String,
    compute_capability: (i32, i32),
    ordinal: usize,
    cu_device: sys::CUdevice,
    context: sys::CUcontext,
    stream: sys::CUstream,
    module: sys::CUmodule,
    functions: Functions,
    contrast_on: bool,
    /// The policy has auto ops (the statistics pass runs).
    stats_on: bool,
    // Resident, uploaded once.
    policy: DeviceBuffer,
    subset: DeviceBuffer,
    labels: DeviceBuffer,
    pixels: DeviceBuffer,
    gray_means: DeviceBuffer,
    // Per-step scratch, sized for `capacity` samples.
    params: DeviceBuffer,
    means: DeviceBuffer,
    /// B auto-op statistics (`memory::AUTO_STATS_BYTES` each).
    stats: DeviceBuffer,
    /// B first-stage images (f32 × C·H·W each) with two auto ops per sample.
    stage: Option<DeviceBuffer>,
    /// B × K synthetic coefficients (4 bytes when K = 0).
    coefficients: DeviceBuffer,
    capacity: u32,
    // The synthetic tables, when the policy makes synthetic samples.
    synth: Option<SynthBuffers>,
    // Own outputs for `augment_into` (host copies), grown on demand.
    own_images: Option<DeviceBuffer>,
    own_labels: Option<DeviceBuffer>,
    last_batch: u32,
    /// The last step, when it ran into the own outputs (what `read_back` reads).
    last_own_step: Option<Step>,
}

// SAFETY: the raw handles are plain driver handles; every method binds the
// backend's context to the calling thread before using them, and `&mut self`
// keeps one thread at a time.
unsafe impl Send for CudaBackend {}

impl CudaBackend {
    /// Validates the run, opens the device per `options`, uploads the
    /// dataset (`CudaOptions::default()`: device 0, the legacy default stream).
    pub fn new(
        policy: &Policy,
        seed: u64,
        dataset: Arc<Dataset>,
        subset: Vec<u32>,
        options: &CudaOptions,
    ) -> Result<Self, Error> {
        let plan = Plan::new(policy, seed, dataset, subset)?;
        Self::from_plan(plan, options)
    }

    /// Builds on an already validated run.
    pub fn from_plan(plan: Plan, options: &CudaOptions) -> Result<Self, Error> {
        if !driver_present() {
            return Err(Error::NoCudaDriver(
                "libcuda.so is not on the library path (no NVIDIA driver installed?)".into(),
            ));
        }
        cu::init().map_err(|e| driver_error("cuInit", e))?;
        let count = cu::device::get_count().map_err(|e| driver_error("cuDeviceGetCount", e))?;
        if options.device >= count.max(0) as usize {
            return Err(Error::NoCudaDevice(format!(
                "device {} requested, {count} present",
                options.device
            )));
        }
        let cu_device =
            cu::device::get(options.device as i32).map_err(|e| driver_error("cuDeviceGet", e))?;
        let device_name =
            cu::device::get_name(cu_device).map_err(|e| driver_error("cuDeviceGetName", e))?;
        // SAFETY: valid device handle.
        let attribute = |a| unsafe { cu::device::get_attribute(cu_device, a) };
        let major =
            attribute(sys::CUdevice_attribute::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR)
                .map_err(|e| driver_error("cuDeviceGetAttribute", e))?;
        let minor =
            attribute(sys::CUdevice_attribute::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR)
                .map_err(|e| driver_error("cuDeviceGetAttribute", e))?;
        let compiled = compile::for_device(major, minor)?;

        // SAFETY: valid device; the retained context is released in Drop.
        let context = unsafe { cu::primary_ctx::retain(cu_device) }
            .map_err(|e| driver_error("cuDevicePrimaryCtxRetain", e))?;
        // From here on, failures release the context through `Partial`.
        let partial = Partial {
            cu_device,
            module: std::ptr::null_mut(),
        };
        // SAFETY: the context was just retained.
        unsafe { cu::ctx::set_current(context) }.map_err(|e| driver_error("cuCtxSetCurrent", e))?;
        // SAFETY: a cubin, or PTX with its NUL, produced by NVRTC.
        let module = unsafe { cu::module::load_data(compiled.image.as_ptr().cast()) }.map_err(
            |e| match e.0 {
                sys::cudaError_enum::CUDA_ERROR_NO_BINARY_FOR_GPU
                | sys::cudaError_enum::CUDA_ERROR_INVALID_PTX
                | sys::cudaError_enum::CUDA_ERROR_UNSUPPORTED_PTX_VERSION
                | sys::cudaError_enum::CUDA_ERROR_INVALID_IMAGE => Error::UnsupportedArch {
                    major,
                    minor,
                    reason: format!(
                        "the driver rejected the {:?} image: {}",
                        compiled.target,
                        driver_error("cuModuleLoadData", e)
                    ),
                },
                _ => driver_error("cuModuleLoadData", e),
            },
        )?;
        let mut partial = partial;
        partial.module = module;
        let functions = Functions::load(module)?;

        let dataset = &plan.dataset;
        let capacity = options.max_batch.max(1);
        let policy = DeviceBuffer::upload("policy", std::slice::from_ref(&plan.kernel))?;
        let subset = DeviceBuffer::upload("subset", &plan.subset)?;
        let labels = DeviceBuffer::upload("labels", dataset.labels())?;
        let pixels = DeviceBuffer::upload("dataset pixels", dataset.pixels())?;
        let gray_means = DeviceBuffer::upload("gray means", dataset.gray_means())?;
        let params = DeviceBuffer::alloc(
            "sample params",
            capacity as usize * size_of::<SampleParams>(),
        )?;
        let means = DeviceBuffer::upload("contrast means", &vec![0f32; capacity as usize])?;
        let coefficients = coefficient_buffer(plan.kernel.synth_components, capacity)?;
        let synth = plan
            .synth
            .as_deref()
            .map(SynthBuffers::upload)
            .transpose()?;
        let contrast_on = plan.kernel.jitter_ops & (1 << OP_CONTRAST) != 0;
        let stats_on = plan.kernel.auto_mode != AUTO_OFF;
        let stats = stats_buffer(stats_on, capacity)?;
        let stage = stage_buffer(&plan.kernel, capacity)?;
        std::mem::forget(partial);
        Ok(Self {
            plan,
            device_name,
            compute_capability: (major, minor),
            ordinal: options.device,
            cu_device,
            context,
            stream: options.stream as sys::CUstream,
            module,
            functions,
            contrast_on,
            stats_on,
            policy,
            subset,
            labels,
            pixels,
            gray_means,
            params,
            means,
            stats,
            stage,
            coefficients,
            capacity,
            synth,
            own_images: None,
            own_labels: None,
            last_batch: 0,
            last_own_step: None,
        })
    }

    /// The device's compute capability (its name is in [`Backend::info`]).
    pub fn compute_capability(&self) -> (i32, i32) {
        self.compute_capability
    }

    /// The `CUstream` steps are launched on (0: legacy default stream).
    pub fn stream(&self) -> u64 {
        self.stream as u64
    }

    /// Launches later steps on `stream`.
    ///
    /// # Safety
    /// `stream` is 0 or a live `CUstream` of this device's primary context
    /// that outlives its use by this backend.
    pub unsafe fn set_stream(&mut self, stream: u64) {
        self.stream = stream as sys::CUstream;
    }

    fn bind(&self) -> Result<(), Error> {
        // SAFETY: the context is retained for the backend's life.
        unsafe { cu::ctx::set_current(self.context) }
            .map_err(|e| driver_error("cuCtxSetCurrent", e))
    }

    /// Sizes the per-step scratch for batches up to `max_batch` (allocates
    /// only if larger than before; waits for the stream first).
    pub fn reserve(&mut self, max_batch: u32) -> Result<(), Error> {
        if max_batch <= self.capacity {
            return Ok(());
        }
        self.bind()?;
        self.wait_stream()?;
        self.params = DeviceBuffer::alloc(
            "sample params",
            max_batch as usize * size_of::<SampleParams>(),
        )?;
        self.means = DeviceBuffer::upload("contrast means", &vec![0f32; max_batch as usize])?;
        self.stats = stats_buffer(self.stats_on, max_batch)?;
        self.stage = stage_buffer(&self.plan.kernel, max_batch)?;
        self.coefficients = coefficient_buffer(self.plan.kernel.synth_components, max_batch)?;
        self.capacity = max_batch;
        Ok(())
    }

    /// Waits for everything launched on the backend's stream.
    fn wait_stream(&self) -> Result<(), Error> {
        self.bind()?;
        // SAFETY: the stream is live (see `set_stream`).
        unsafe { cu::stream::synchronize(self.stream) }
            .map_err(|e| driver_error("cuStreamSynchronize", e))
    }

    /// Runs one step into caller device memory, on the backend's stream:
    /// checks, then the launches (parameters, auto-op statistics with auto
    /// ops, contrast means with contrast jitter, pixels). Returns as soon as
    /// the launches are queued.
    ///
    /// # Safety
    /// `outputs.images` and `outputs.labels` are live device allocations of
    /// this device holding at least the stated elements, that nothing else
    /// reads or writes until the stream has run the step. (Null, misaligned,
    /// host, other-device and overrunning pointers are refused with
    /// [`Error::DevicePointer`]; lengths, dtype and step with the
    /// [`Plan::check_outputs`] errors.)
    pub unsafe fn run_into(&mut self, step: Step, outputs: DeviceOutputs) -> Result<(), Error> {
        // Check shapes.
        let args = self.plan.step_args(step)?;
        if outputs.dtype != self.plan.dtype() {
            return Err(Error::DType {
                expected: self.plan.dtype(),
                got: outputs.dtype,
            });
        }
        let expected = self.plan.image_elements(step);
        if outputs.images_len != expected {
            return Err(Error::BufferSize {
                what: "image",
                got: outputs.images_len,
                expected,
            });
        }
        if outputs.labels_len != step.batch_size as usize {
            return Err(Error::BufferSize {
                what: "label",
                got: outputs.labels_len,
                expected: step.batch_size as usize,
            });
        }
        self.bind()?;
        let size = outputs.dtype.size_bytes();
        check_pointer(
            self.ordinal,
            "images",
            outputs.images,
            expected * size,
            size as u64,
        )?;
        check_pointer(
            self.ordinal,
            "labels",
            outputs.labels,
            outputs.labels_len * size_of::<MixLabel>(),
            4,
        )?;
        self.reserve(step.batch_size)?;
        self.launch_step(args, outputs.images, outputs.dtype, outputs.labels)?;
        self.last_own_step = None;
        Ok(())
    }

    fn own_labels_buffer(&mut self, bytes: usize) -> Result<u64, Error> {
        if self.own_labels.as_ref().is_none_or(|b| b.bytes < bytes) {
            self.wait_stream()?;
            self.own_labels = Some(DeviceBuffer::alloc("output labels", bytes)?);
        }
        Ok(self.own_labels.as_ref().map(|b| b.ptr).unwrap_or_default())
    }

    /// Queues a step into the backend's own device buffers (grown on demand).
    fn run_own(&mut self, step: Step) -> Result<(), Error> {
        let args = self.plan.step_args(step)?;
        self.bind()?;
        self.reserve(step.batch_size)?;
        let dtype = self.plan.dtype();
        let bytes = self.plan.image_elements(step) * dtype.size_bytes();
        if self.own_images.as_ref().is_none_or(|b| b.bytes < bytes) {
            self.wait_stream()?;
            self.own_images = Some(DeviceBuffer::alloc("output images", bytes)?);
        }
        let labels_ptr =
            self.own_labels_buffer(step.batch_size as usize * size_of::<MixLabel>())?;
        let images_ptr = self.own_images.as_ref().map(|b| b.ptr).unwrap_or_default();
        self.launch_step(args, images_ptr, dtype, labels_ptr)?;
        self.last_own_step = Some(step);
        Ok(())
    }
}

/// Releases what `from_plan` acquired when it fails part-way.
struct Partial {
    cu_device: sys::CUdevice,
    module: sys::CUmodule,
}

impl Drop for Partial {
    fn drop(&mut self) {
        // SAFETY: the module (if any) was loaded in the retained context.
        unsafe {
            if !self.module.is_null() {
                let _ = cu::module::unload(self.module);
            }
            let _ = cu::primary_ctx::release(self.cu_device);
        }
    }
}

impl Drop for CudaBackend {
    fn drop(&mut self) {
        if self.bind().is_err() {
            return;
        }
        let _ = self.wait_stream();
        // Free the buffers while the context is current, then unload and
        // release the context.
        let empty = || DeviceBuffer { ptr: 0, bytes: 0 };
        for buffer in [
            std::mem::replace(&mut self.policy, empty()),
            std::mem::replace(&mut self.subset, empty()),
            std::mem::replace(&mut self.labels, empty()),
            std::mem::replace(&mut self.pixels, empty()),
            std::mem::replace(&mut self.gray_means, empty()),
            std::mem::replace(&mut self.params, empty()),
            std::mem::replace(&mut self.means, empty()),
            std::mem::replace(&mut self.stats, empty()),
            std::mem::replace(&mut self.coefficients, empty()),
        ] {
            drop(buffer);
        }
        self.synth = None;
        self.stage = None;
        self.own_images = None;
        self.own_labels = None;
        drop(Partial {
            cu_device: self.cu_device,
            module: self.module,
        });
    }
}

impl Backend for CudaBackend {
    fn info(&self) -> BackendInfo {
        BackendInfo {
            kind: BackendKind::Cuda,
            device: format!(
                "{} (sm_{}{})",
                self.device_name, self.compute_capability.0, self.compute_capability.1
            ),
        }
    }

    fn plan(&self) -> &Plan {
        &self.plan
    }

    fn sample_params(&mut self, step: Step) -> Result<Vec<SampleParams>, Error> {
        let args = self.plan.step_args(step)?;
        self.bind()?;
        self.reserve(step.batch_size)?;
        let labels = self.own_labels_buffer(step.batch_size as usize * size_of::<MixLabel>())?;
        self.launch_params(args, labels)?;
        self.last_batch = step.batch_size;
        self.last_own_step = None;
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

impl DeviceBackend for CudaBackend {
    fn run(&mut self, step: Step) -> Result<(), Error> {
        self.run_own(step)
    }

    fn wait(&self) -> Result<(), Error> {
        self.wait_stream()
    }

    fn read_back(
        &mut self,
        images: &mut HostImages<'_>,
        labels: &mut [MixLabel],
    ) -> Result<(), Error> {
        self.copy_own_outputs(images, labels)
    }
}
