//! What every backend offers, and the validated run description they share.

use std::sync::Arc;

use crate::dataset::Dataset;
use crate::error::Error;
use crate::kernel_args::{KernelPolicy, MixLabel, SampleParams, StepArgs};
use crate::policy::{DType, Policy, SynthMode};
use crate::synthetic::SynthTables;

/// One step: `batch_size` samples from epoch position `first_position` on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Step {
    pub epoch: u32,
    pub first_position: u32,
    pub batch_size: u32,
}

/// Caller memory for one step's images, in the policy's dtype.
pub enum HostImages<'a> {
    F32(&'a mut [f32]),
    F16(&'a mut [half::f16]),
    Bf16(&'a mut [half::bf16]),
}

impl HostImages<'_> {
    pub fn dtype(&self) -> DType {
        match self {
            HostImages::F32(_) => DType::F32,
            HostImages::F16(_) => DType::F16,
            HostImages::Bf16(_) => DType::Bf16,
        }
    }
    pub fn len(&self) -> usize {
        match self {
            HostImages::F32(s) => s.len(),
            HostImages::F16(s) => s.len(),
            HostImages::Bf16(s) => s.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackendKind {
    Cpu,
    Wgpu,
    Cuda,
}

impl BackendKind {
    /// Every kind, the always-present CPU reference first.
    pub const ALL: [BackendKind; 3] = [BackendKind::Cpu, BackendKind::Wgpu, BackendKind::Cuda];

    /// The kind's name as the CLI, the bench matrix and result files spell it.
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Cpu => "cpu",
            BackendKind::Wgpu => "wgpu",
            BackendKind::Cuda => "cuda",
        }
    }

    /// The kind [`name`](Self::name) spells, if any.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }
}

impl std::fmt::Display for BackendKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.name())
    }
}

/// Which backend runs, on what: the same shape from every backend's
/// [`Backend::info`].
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BackendInfo {
    pub kind: BackendKind,
    /// The device or adapter, as the backend found it.
    pub device: String,
}

/// A backend: built with the dataset uploaded once, then one call per step.
pub trait Backend {
    fn info(&self) -> BackendInfo;
    /// The run this backend executes.
    fn plan(&self) -> &Plan;
    /// Samples per epoch (the subset's length).
    fn epoch_len(&self) -> u32 {
        self.plan().subset.len() as u32
    }
    /// The parameters the step's samples get, read back for inspection.
    fn sample_params(&mut self, step: Step) -> Result<Vec<SampleParams>, Error>;
    /// Runs one step and writes the images and labels into caller memory.
    fn augment_into(
        &mut self,
        step: Step,
        images: HostImages<'_>,
        labels: &mut [MixLabel],
    ) -> Result<(), Error>;
}

/// What a backend that computes on a device offers beyond [`Backend`]: a
/// step queued into the backend's own device memory, a wait, and the one
/// device→host copy of the outputs. Caller device memory is backend
/// specific (`CudaBackend::run_into`).
pub trait DeviceBackend: Backend + Inspect {
    /// Queues one step into the backend's own device buffers; nothing is
    /// read back. Returns once the work is submitted.
    fn run(&mut self, step: Step) -> Result<(), Error>;
    /// Blocks until every queued step is done (a bench stops its clock after
    /// this).
    fn wait(&self) -> Result<(), Error>;
    /// Copies the last [`run`](Self::run)'s images and labels into caller
    /// memory (waits for the step).
    fn read_back(
        &mut self,
        images: &mut HostImages<'_>,
        labels: &mut [MixLabel],
    ) -> Result<(), Error>;
}

/// [`Backend::augment_into`] as every device backend does it: the caller's
/// buffers are checked before anything launches, then one
/// [`run`](DeviceBackend::run) and one [`read_back`](DeviceBackend::read_back).
pub fn augment_into_on_device<B: DeviceBackend + ?Sized>(
    backend: &mut B,
    step: Step,
    mut images: HostImages<'_>,
    labels: &mut [MixLabel],
) -> Result<(), Error> {
    backend.plan().check_outputs(step, &images, labels)?;
    backend.run(step)?;
    backend.read_back(&mut images, labels)
}

/// The last step's intermediate results, read back for tests and inspection
/// (each waits for the step): what the parity tests compare with the CPU
/// reference.
pub trait Inspect {
    /// The last step's [`SampleParams`], one per sample.
    fn last_params(&self) -> Result<Vec<SampleParams>, Error>;
    /// The last step's contrast means (0 for every sample when the policy
    /// has no contrast jitter).
    fn last_contrast_means(&self) -> Result<Vec<f32>, Error>;
    /// The last step's synthetic coefficients σ_j·z_j, `synth_components`
    /// per sample, sample-major (zeros for samples that are not synthetic
    /// PCA samples; empty when the model keeps no component), as the CPU
    /// reference's `cpu::step_synth_coefficients` gives them.
    fn last_synth_coefficients(&self) -> Result<Vec<f32>, Error>;
}

/// The validated description of a run: compiled policy, seed, dataset and
/// the index list. Every backend holds one and checks steps against it.
/// Opaque: built only by [`Plan::new`] / [`Plan::whole_dataset`], so a plan
/// is always valid; read through its accessors.
#[derive(Clone, Debug)]
pub struct Plan {
    pub(crate) policy: Policy,
    pub(crate) kernel: KernelPolicy,
    pub(crate) seed: u64,
    pub(crate) dataset: Arc<Dataset>,
    pub(crate) subset: Vec<u32>,
    /// The class index and fitted PCA model, when the policy makes
    /// synthetic samples (built once, here: its fit time is a fixed cost).
    pub(crate) synth: Option<Arc<SynthTables>>,
}

impl Plan {
    pub fn new(
        policy: &Policy,
        seed: u64,
        dataset: Arc<Dataset>,
        subset: Vec<u32>,
    ) -> Result<Self, Error> {
        let mut kernel = policy.compile(dataset.shape())?;
        kernel.num_classes = dataset.num_classes();
        if subset.is_empty() {
            return Err(Error::EmptySubset);
        }
        if let Some((position, &index)) = subset
            .iter()
            .enumerate()
            .find(|&(_, &i)| i as usize >= dataset.len())
        {
            return Err(Error::SubsetIndex {
                position,
                index,
                len: dataset.len(),
            });
        }
        let synth = match &policy.synthetic {
            None => None,
            Some(s) if s.mode == SynthMode::Pool => {
                if dataset.pool_len() == 0 {
                    return Err(Error::NoPool);
                }
                kernel.pool_first = dataset.len() as u32;
                kernel.pool_len = dataset.pool_len() as u32;
                None
            }
            Some(s) => {
                let pca = (s.mode == SynthMode::Pca).then_some((s.components, s.variance_kept));
                let tables = SynthTables::build(&dataset, &subset, pca)?;
                kernel.synth_components = tables.components;
                Some(Arc::new(tables))
            }
        };
        Ok(Self {
            policy: policy.clone(),
            kernel,
            seed,
            dataset,
            subset,
            synth,
        })
    }

    /// Every image of the dataset, in order.
    pub fn whole_dataset(policy: &Policy, seed: u64, dataset: Arc<Dataset>) -> Result<Self, Error> {
        let subset = (0..dataset.len() as u32).collect();
        Self::new(policy, seed, dataset, subset)
    }

    /// The policy the plan was validated from.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    pub fn dataset(&self) -> &Arc<Dataset> {
        &self.dataset
    }

    /// The dataset indices one epoch visits (shuffled per epoch).
    pub fn subset(&self) -> &[u32] {
        &self.subset
    }

    /// Seconds spent fitting the synthetic model, when the policy makes
    /// synthetic samples.
    pub fn synth_fit_seconds(&self) -> Option<f64> {
        self.synth.as_ref().map(|s| s.fit_seconds)
    }

    pub fn dtype(&self) -> DType {
        self.policy.output.dtype
    }

    /// Not API: the compiled policy the kernels read.
    #[doc(hidden)]
    pub fn kernel(&self) -> &KernelPolicy {
        &self.kernel
    }

    /// Not API: the synthetic tables the kernels read.
    #[doc(hidden)]
    pub fn synth(&self) -> Option<&Arc<SynthTables>> {
        self.synth.as_ref()
    }

    /// Not API: checks `step` and gives the launch arguments for it.
    #[doc(hidden)]
    pub fn step_args(&self, step: Step) -> Result<StepArgs, Error> {
        if step.batch_size == 0 {
            return Err(Error::ZeroBatch);
        }
        let end = u64::from(step.first_position) + u64::from(step.batch_size);
        let epoch_len = self.subset.len() as u32;
        if end > u64::from(epoch_len) {
            return Err(Error::StepOutOfRange {
                first: step.first_position,
                end,
                epoch_len,
            });
        }
        Ok(StepArgs {
            seed_lo: self.seed as u32,
            seed_hi: (self.seed >> 32) as u32,
            epoch: step.epoch,
            first_position: step.first_position,
            batch_size: step.batch_size,
            subset_len: epoch_len,
            out_first: 0,
            out_base: 0,
        })
    }

    /// Elements one step writes (B·C·H·W).
    pub fn image_elements(&self, step: Step) -> usize {
        step.batch_size as usize * self.dataset.shape().elements()
    }

    /// Not API: checks caller buffers for `step` before anything runs and
    /// gives the launch arguments.
    #[doc(hidden)]
    pub fn check_outputs(
        &self,
        step: Step,
        images: &HostImages<'_>,
        labels: &[MixLabel],
    ) -> Result<StepArgs, Error> {
        let args = self.step_args(step)?;
        if images.dtype() != self.dtype() {
            return Err(Error::DType {
                expected: self.dtype(),
                got: images.dtype(),
            });
        }
        let expected = self.image_elements(step);
        if images.len() != expected {
            return Err(Error::BufferSize {
                what: "image",
                got: images.len(),
                expected,
            });
        }
        if labels.len() != step.batch_size as usize {
            return Err(Error::BufferSize {
                what: "label",
                got: labels.len(),
                expected: step.batch_size as usize,
            });
        }
        Ok(args)
    }
}
