//! Where training batches come from: an augkit backend writing straight into
//! a libtorch tensor's memory.
//!
//! `--backend auto|cuda|wgpu|cpu` picks the backend. Every backend is seen by
//! the training loop as a [`BatchSource`]; backends that deliver into host
//! memory (the CPU reference, and wgpu, which reads its output back) go
//! through [`HostSource`], which allocates the batch tensor with libtorch and
//! has the backend fill its storage in place ([`augment_into_tensor`]). The
//! CUDA backend is a [`DeviceSource`]: its kernels write straight into a CUDA
//! tensor's storage on libtorch's stream (the legacy default stream), with
//! the dataset resident on the GPU — no image byte crosses per step.

use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

use augkit::{Backend, BackendInfo, DType, HostImages, Layout, MixLabel, Plan, Step};

/// `--backend`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum BackendChoice {
    /// `cuda` when the model runs on a CUDA device and the CUDA backend
    /// starts there, else `cpu` (the choice and why go into the result).
    #[default]
    Auto,
    /// The CUDA kernels writing into the CUDA batch tensor (needs `--device cuda`).
    Cuda,
    /// The WGSL kernels on a wgpu adapter (`AUGKIT_WGPU_ADAPTER` picks one),
    /// read back into the CPU tensor.
    Wgpu,
    /// The CPU reference, writing into the CPU tensor.
    Cpu,
}

impl BackendChoice {
    pub fn name(self) -> &'static str {
        match self {
            BackendChoice::Auto => "auto",
            BackendChoice::Cuda => "cuda",
            BackendChoice::Wgpu => "wgpu",
            BackendChoice::Cpu => "cpu",
        }
    }
}

/// One training batch, ready for the model.
pub struct Batch {
    /// NCHW f32 on the model's device (possibly a permuted NHWC view).
    pub images: Tensor,
    /// `label_a`, `label_b` (i64) and `lambda` (f32), each [B], on the device.
    pub label_a: Tensor,
    pub label_b: Tensor,
    pub lambda: Tensor,
    /// The labels as the backend wrote them.
    pub labels: Vec<MixLabel>,
}

/// A producer of augmented batches for the training loop.
pub trait BatchSource {
    fn info(&self) -> BackendInfo;
    /// Samples per epoch.
    fn epoch_len(&self) -> u32;
    /// Produces `step`'s batch on the model's device. Returns once the batch
    /// is complete (host backends) or enqueued in stream order before the
    /// model's work (device backends).
    fn batch(&mut self, step: Step) -> anyhow::Result<Batch>;
    /// Seconds the backend spent fitting the synthetic-sample model
    /// (`Plan::synth_fit_seconds`), when the policy makes synthetic samples.
    fn synthetic_fit_seconds(&self) -> Option<f64> {
        None
    }
}

/// Why a backend cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("--backend cuda writes into CUDA tensors: it needs --device cuda")]
    NeedsCudaDevice,
    #[error(transparent)]
    Augkit(#[from] augkit::Error),
}

/// Opens the backend `choice` asks for on `plan` (the policy compiled for
/// the data set, the seed and the subset: built once, by the caller).
/// Returns the source and a note on the choice (recorded in the result's
/// provenance).
pub fn open(
    choice: BackendChoice,
    device: Device,
    plan: Plan,
) -> Result<(Box<dyn BatchSource>, String), SourceError> {
    let cuda_index = match device {
        Device::Cuda(index) => Some(index),
        _ => None,
    };
    let mut auto_note = "auto chose cpu: the model runs on the CPU (wgpu would read its output \
                         back through the host; use --backend wgpu to measure it)"
        .to_string();
    if choice == BackendChoice::Auto
        && let Some(index) = cuda_index
    {
        match DeviceSource::new(index, plan.clone()) {
            Ok(source) => {
                let note = format!("auto chose cuda: the model runs on cuda:{index}");
                return Ok((Box::new(source), note));
            }
            Err(e) => auto_note = format!("auto chose cpu: the CUDA backend did not start ({e})"),
        }
    }
    match choice {
        BackendChoice::Cpu | BackendChoice::Auto => {
            let note = if choice == BackendChoice::Cpu {
                "cpu requested".to_string()
            } else {
                auto_note
            };
            let backend = augkit::cpu::CpuBackend::from_plan(plan);
            Ok((Box::new(HostSource::new(backend, device)), note))
        }
        BackendChoice::Wgpu => {
            let options = augkit::wgpu::WgpuOptions::default();
            let gpu = augkit::wgpu::WgpuDevice::new(&options)?;
            let backend = augkit::wgpu::WgpuBackend::from_plan(plan, gpu, &options)?;
            let note =
                "wgpu requested; its output is read back into the CPU tensor's storage".to_string();
            Ok((Box::new(HostSource::new(backend, device)), note))
        }
        BackendChoice::Cuda => {
            let Some(index) = cuda_index else {
                return Err(SourceError::NeedsCudaDevice);
            };
            let source = DeviceSource::new(index, plan)?;
            Ok((
                Box::new(source),
                format!("cuda requested (device cuda:{index})"),
            ))
        }
    }
}

/// The CUDA backend feeding a model on the same GPU: each step's kernels
/// write the batch straight into a CUDA tensor's storage and the labels into
/// a second one, on the legacy default stream that libtorch works on, so the
/// model's work is ordered after them with no copy and no host round trip
/// for the images.
pub struct DeviceSource {
    backend: augkit::cuda::CudaBackend,
    dtype: DType,
    layout: Layout,
    shape: augkit::ImageShape,
    device: Device,
}

impl DeviceSource {
    pub fn new(index: usize, plan: Plan) -> Result<Self, SourceError> {
        let shape = plan.dataset().shape();
        let output = plan.policy().output.clone();
        let options = augkit::cuda::CudaOptions {
            device: index,
            // libtorch's default: the legacy default stream.
            stream: 0,
            ..augkit::cuda::CudaOptions::default()
        };
        let backend = augkit::cuda::CudaBackend::from_plan(plan, &options)?;
        Ok(Self {
            backend,
            dtype: output.dtype,
            layout: output.layout,
            shape,
            device: Device::Cuda(index),
        })
    }
}

impl BatchSource for DeviceSource {
    fn info(&self) -> BackendInfo {
        self.backend.info()
    }

    fn epoch_len(&self) -> u32 {
        self.backend.epoch_len()
    }

    fn synthetic_fit_seconds(&self) -> Option<f64> {
        self.backend.plan().synth_fit_seconds()
    }

    fn batch(&mut self, step: Step) -> anyhow::Result<Batch> {
        self.backend.reserve(step.batch_size)?;
        let images = Tensor::empty(
            batch_dims(self.shape, self.layout, step.batch_size),
            (kind_of(self.dtype), self.device),
        );
        // One MixLabel (u32, u32, f32 bits) per row.
        let raw_labels = Tensor::empty([i64::from(step.batch_size), 3], (Kind::Int, self.device));
        let outputs = augkit::cuda::DeviceOutputs {
            images: images.data_ptr() as u64,
            images_len: images.numel(),
            dtype: self.dtype,
            labels: raw_labels.data_ptr() as u64,
            labels_len: step.batch_size as usize,
        };
        // SAFETY: both tensors are fresh, contiguous allocations on this
        // backend's device, of exactly the sizes stated, owned here until the
        // stream (libtorch's legacy default stream) has run the step; the
        // backend checks the sizes and that the pointers are device memory.
        unsafe { self.backend.run_into(step, outputs)? };
        // The training loop reads the labels on the host for its running
        // accuracy (it already waits for the logits each step).
        let host: Vec<i32> = Vec::try_from(&raw_labels.to_device(Device::Cpu).view([-1]))?;
        let labels = host
            .chunks_exact(3)
            .map(|l| MixLabel {
                label_a: l[0] as u32,
                label_b: l[1] as u32,
                lambda: f32::from_bits(l[2] as u32),
            })
            .collect();
        let label_a = raw_labels.select(1, 0).to_kind(Kind::Int64);
        let label_b = raw_labels.select(1, 1).to_kind(Kind::Int64);
        let lambda = raw_labels.select(1, 2).contiguous().view_dtype(Kind::Float);
        Ok(Batch {
            images: nchw_f32(images, self.layout),
            label_a,
            label_b,
            lambda,
            labels,
        })
    }
}

/// A backend that writes host memory, feeding a model on any device: the
/// batch is written into a CPU tensor's own storage, then (for CUDA) copied.
pub struct HostSource<B> {
    backend: B,
    dtype: DType,
    layout: Layout,
    shape: augkit::ImageShape,
    device: Device,
}

impl<B: Backend> HostSource<B> {
    pub fn new(backend: B, device: Device) -> Self {
        let plan = backend.plan();
        let shape = plan.dataset().shape();
        let (dtype, layout) = (plan.policy().output.dtype, plan.policy().output.layout);
        Self {
            backend,
            dtype,
            layout,
            shape,
            device,
        }
    }
}

impl<B: Backend> BatchSource for HostSource<B> {
    fn info(&self) -> BackendInfo {
        self.backend.info()
    }

    fn epoch_len(&self) -> u32 {
        self.backend.epoch_len()
    }

    fn synthetic_fit_seconds(&self) -> Option<f64> {
        self.backend.plan().synth_fit_seconds()
    }

    fn batch(&mut self, step: Step) -> anyhow::Result<Batch> {
        let mut images = Tensor::empty(
            batch_dims(self.shape, self.layout, step.batch_size),
            (kind_of(self.dtype), Device::Cpu),
        );
        let mut labels = vec![MixLabel::default(); step.batch_size as usize];
        augment_into_tensor(&mut self.backend, step, &mut images, &mut labels)?;
        let images = nchw_f32(images, self.layout).to_device(self.device);
        let (label_a, label_b, lambda) = label_tensors(&labels, self.device);
        Ok(Batch {
            images,
            label_a,
            label_b,
            lambda,
            labels,
        })
    }
}

/// Tensor dimensions of a batch in `layout`.
pub fn batch_dims(shape: augkit::ImageShape, layout: Layout, batch: u32) -> [i64; 4] {
    let (b, c, h, w) = (
        i64::from(batch),
        i64::from(shape.channels),
        i64::from(shape.height),
        i64::from(shape.width),
    );
    match layout {
        Layout::Nchw => [b, c, h, w],
        Layout::Nhwc => [b, h, w, c],
    }
}

/// The libtorch element kind of an augkit output dtype.
pub fn kind_of(dtype: DType) -> Kind {
    match dtype {
        DType::F32 => Kind::Float,
        DType::F16 => Kind::Half,
        DType::Bf16 => Kind::BFloat16,
    }
}

/// An NCHW f32 view of a batch tensor: NHWC is permuted (no copy), f16/bf16
/// are converted to f32 (a copy) since the models train in f32.
pub fn nchw_f32(images: Tensor, layout: Layout) -> Tensor {
    let images = match layout {
        Layout::Nchw => images,
        Layout::Nhwc => images.permute([0, 3, 1, 2]),
    };
    if images.kind() == Kind::Float {
        images
    } else {
        images.to_kind(Kind::Float)
    }
}

/// `(label_a, label_b, lambda)` tensors on `device`.
pub fn label_tensors(labels: &[MixLabel], device: Device) -> (Tensor, Tensor, Tensor) {
    let a: Vec<i64> = labels.iter().map(|l| i64::from(l.label_a)).collect();
    let b: Vec<i64> = labels.iter().map(|l| i64::from(l.label_b)).collect();
    let lambda: Vec<f32> = labels.iter().map(|l| l.lambda).collect();
    (
        Tensor::from_slice(&a).to_device(device),
        Tensor::from_slice(&b).to_device(device),
        Tensor::from_slice(&lambda).to_device(device),
    )
}

/// Has `backend` write `step`'s images into `tensor`'s own storage — no
/// staging buffer, no copy.
///
/// `tensor` must be a contiguous CPU tensor of the policy's dtype holding
/// exactly B·C·H·W elements (any 4-D shape in the policy's layout); anything
/// else is refused before the backend runs.
pub fn augment_into_tensor<B: Backend + ?Sized>(
    backend: &mut B,
    step: Step,
    tensor: &mut Tensor,
    labels: &mut [MixLabel],
) -> anyhow::Result<()> {
    let dtype = backend.plan().dtype();
    anyhow::ensure!(
        tensor.device() == Device::Cpu,
        "a host backend writes CPU tensors, got {:?}",
        tensor.device()
    );
    anyhow::ensure!(
        tensor.is_contiguous(),
        "the batch tensor must be contiguous"
    );
    anyhow::ensure!(
        tensor.kind() == kind_of(dtype),
        "the policy writes {dtype:?} but the tensor holds {:?}",
        tensor.kind()
    );
    let len = tensor.numel();
    let expected = backend.plan().image_elements(step);
    anyhow::ensure!(
        len == expected,
        "the tensor holds {len} elements but the step writes {expected}"
    );
    let ptr = tensor.data_ptr();
    anyhow::ensure!(!ptr.is_null() || len == 0, "the tensor has no storage");
    // SAFETY: the tensor is a contiguous CPU tensor of `len` elements of the
    // checked element type; `tensor` is borrowed mutably for the whole call,
    // so no other Rust reference reads or writes its storage meanwhile.
    let images = unsafe {
        match dtype {
            DType::F32 => HostImages::F32(std::slice::from_raw_parts_mut(ptr.cast::<f32>(), len)),
            DType::F16 => {
                HostImages::F16(std::slice::from_raw_parts_mut(ptr.cast::<half::f16>(), len))
            }
            DType::Bf16 => HostImages::Bf16(std::slice::from_raw_parts_mut(
                ptr.cast::<half::bf16>(),
                len,
            )),
        }
    };
    backend.augment_into(step, images, labels)?;
    Ok(())
}
