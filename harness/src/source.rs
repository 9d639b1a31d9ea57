//! Where training batches come from: an augkit backend writing straight into
//! a libtorch tensor's memory.
//!
//! `--backend auto|cuda|wgpu|cpu` picks the backend. Every backend is seen by
//! the training loop as a [`BatchSource`]; backends that deliver into host
//! memory (the CPU reference, and wgpu, which reads its output back) go
//! through [`HostSource`], which allocates the batch tensor with libtorch and
//! has the backend fill its storage in place ([`augment_into_tensor`]). The
//! CUDA backend plugs in as another `BatchSource` that writes into a CUDA
//! tensor's storage the same way (planned: `DeviceSource`).

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

use augkit::{
    Backend, BackendInfo, BackendKind, DType, HostImages, Layout, MixLabel, Policy, Step,
};

/// `--backend`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum BackendChoice {
    /// The fastest backend available for the device (today always `cpu`).
    #[default]
    Auto,
    /// The CUDA kernels writing into a CUDA tensor (not wired in yet).
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
    /// (`plan.synth.fit_seconds`), when the policy makes synthetic samples.
    fn synthetic_fit_seconds(&self) -> Option<f64> {
        None
    }
}

/// Why a backend cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("--backend {0} is not available in this build yet; use --backend cpu (or auto)")]
    NotBuilt(&'static str),
    #[error(transparent)]
    Augkit(#[from] augkit::Error),
}

/// Opens the backend `choice` asks for. Returns the source and a note on
/// the choice (recorded in the result's provenance).
pub fn open(
    choice: BackendChoice,
    device: Device,
    policy: &Policy,
    seed: u64,
    dataset: Arc<augkit::Dataset>,
    subset: Vec<u32>,
) -> Result<(Box<dyn BatchSource>, String), SourceError> {
    match choice {
        BackendChoice::Cpu | BackendChoice::Auto => {
            let note = if choice == BackendChoice::Cpu {
                "cpu requested".to_string()
            } else {
                "auto chose cpu: the CUDA backend is not wired into the harness yet, and wgpu reads \
                 its output back through the host (use --backend wgpu to measure it)"
                    .to_string()
            };
            let backend = augkit::cpu::CpuBackend::new(policy, seed, dataset, subset)?;
            Ok((Box::new(HostSource::new(backend, policy, device)), note))
        }
        BackendChoice::Wgpu => {
            let options = augkit::wgpu_backend::WgpuOptions::default();
            let backend =
                augkit::wgpu_backend::WgpuBackend::new(policy, seed, dataset, subset, &options)?;
            let note =
                "wgpu requested; its output is read back into the CPU tensor's storage".to_string();
            Ok((Box::new(HostSource::new(backend, policy, device)), note))
        }
        BackendChoice::Cuda => Err(SourceError::NotBuilt("cuda")),
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
    pub fn new(backend: B, policy: &Policy, device: Device) -> Self {
        let shape = backend.plan().dataset.shape();
        Self {
            backend,
            dtype: policy.output.dtype,
            layout: policy.output.layout,
            shape,
            device,
        }
    }

    pub fn backend(&self) -> &B {
        &self.backend
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
        self.backend.plan().synth.as_ref().map(|s| s.fit_seconds)
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

/// The backend kind's name as the CLI spells it.
pub fn kind_name(kind: BackendKind) -> &'static str {
    match kind {
        BackendKind::Cpu => "cpu",
        BackendKind::Wgpu => "wgpu",
        BackendKind::Cuda => "cuda",
    }
}
