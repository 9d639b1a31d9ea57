//! The CPU backend: the reference every other backend is checked against,
//! and what runs where there is no GPU. Parallel over samples with rayon;
//! writes straight into the caller's slice.
//!
//! The API is [`CpuBackend`]; the step functions and the `augment`, `pairs`
//! and `simd` modules are hidden: the reference's intermediate results,
//! public only for the project's parity and semantics tests.

#[doc(hidden)]
pub mod augment;
#[doc(hidden)]
pub mod auto;
mod colour;
#[cfg(test)]
mod fused_tests;
mod gather;
#[doc(hidden)]
pub mod pairs;
#[doc(hidden)]
pub mod pixel;
mod scratch;
#[doc(hidden)]
pub mod simd;

use std::sync::Arc;

use rayon::prelude::*;

use crate::backend::{Backend, BackendInfo, BackendKind, HostImages, Plan, Step};
use crate::dataset::Dataset;
use crate::error::Error;
use crate::kernel_args::{KernelPolicy, MixLabel, SampleParams, StepArgs};
use crate::params::{StepContext, sample_params, synth_coefficients};
use crate::policy::Policy;
use augment::contrast_mean;
use pairs::OutSample;
use pixel::Source;

pub struct CpuBackend {
    plan: Plan,
}

impl CpuBackend {
    pub fn new(
        policy: &Policy,
        seed: u64,
        dataset: Arc<Dataset>,
        subset: Vec<u32>,
    ) -> Result<Self, Error> {
        Ok(Self::from_plan(Plan::new(policy, seed, dataset, subset)?))
    }

    pub fn from_plan(plan: Plan) -> Self {
        Self { plan }
    }
}

/// The parameters pass for a whole step (the reference for the kernels').
#[doc(hidden)]
pub fn step_params(plan: &Plan, args: StepArgs) -> Vec<SampleParams> {
    let ctx = step_context(plan, args);
    (0..args.batch_size)
        .into_par_iter()
        .map(|i| sample_params(&ctx, i))
        .collect()
}

fn step_context(plan: &Plan, args: StepArgs) -> StepContext<'_> {
    StepContext::new(
        &plan.kernel,
        args,
        &plan.subset,
        plan.dataset.labels(),
        plan.synth.as_deref(),
    )
}

/// The synthetic PCA coefficients σ_j·z_j of a step's samples,
/// `synth_components` per sample (empty when the model has none).
#[doc(hidden)]
pub fn step_synth_coefficients(plan: &Plan, args: StepArgs, params: &[SampleParams]) -> Vec<f32> {
    let k = plan.kernel.synth_components as usize;
    let mut out = vec![0.0f32; k * params.len()];
    if k > 0 {
        let ctx = step_context(plan, args);
        out.par_chunks_mut(k)
            .zip(params.par_iter())
            .for_each(|(row, p)| synth_coefficients(&ctx, p, row));
    }
    out
}

/// What the pixel passes read for a plan's step: the dataset, the synthetic
/// model, and the step's coefficients.
#[doc(hidden)]
pub fn plan_source<'a>(plan: &'a Plan, coefficients: &'a [f32]) -> Source<'a> {
    Source {
        synth: plan.synth.as_deref(),
        coefficients,
        ..source(&plan.dataset)
    }
}

/// The contrast reduction pass for a step: one mean per sample.
#[doc(hidden)]
pub fn step_contrast_means(
    kernel: &KernelPolicy,
    dataset: &Dataset,
    params: &[SampleParams],
) -> Vec<f32> {
    step_contrast_means_from(kernel, &source(dataset), params)
}

/// [`step_contrast_means`] for any source (synthetic samples included).
#[doc(hidden)]
pub fn step_contrast_means_from(
    kernel: &KernelPolicy,
    src: &Source<'_>,
    params: &[SampleParams],
) -> Vec<f32> {
    params
        .par_iter()
        .map(|p| contrast_mean(kernel, src, p))
        .collect()
}

/// The auto-op reductions of a step (TrivialAugment / RandAugment), one
/// [`auto::AutoStats`] per sample: what a backend's reduction pass must
/// reproduce.
#[doc(hidden)]
pub fn step_auto_stats(
    kernel: &KernelPolicy,
    src: &Source<'_>,
    params: &[SampleParams],
) -> Vec<auto::AutoStats> {
    params
        .par_iter()
        .map(|p| auto::auto_stats(kernel, src, p))
        .collect()
}

fn source(dataset: &Dataset) -> Source<'_> {
    Source {
        shape: dataset.shape(),
        pixels: dataset.pixels(),
        gray_means: dataset.gray_means(),
        synth: None,
        coefficients: &[],
        step: StepArgs::default(),
    }
}

/// [`plan_source`] for step `args`: what the pixel pass of that step reads
/// (random erasing draws its values from the step's key and positions).
#[doc(hidden)]
pub fn step_source<'a>(plan: &'a Plan, args: StepArgs, coefficients: &'a [f32]) -> Source<'a> {
    Source {
        step: args,
        ..plan_source(plan, coefficients)
    }
}

/// The pixel pass: renders a step from given parameters and contrast means
/// (also used by the parity tests to render another backend's parameters).
#[doc(hidden)]
pub fn render<T: OutSample>(
    kernel: &KernelPolicy,
    dataset: &Dataset,
    params: &[SampleParams],
    means: &[f32],
    out: &mut [T],
) {
    render_from(kernel, &source(dataset), params, means, out);
}

/// [`render`] for any source (synthetic samples included).
#[doc(hidden)]
pub fn render_from<T: OutSample>(
    kernel: &KernelPolicy,
    src: &Source<'_>,
    params: &[SampleParams],
    means: &[f32],
    out: &mut [T],
) {
    pairs::render_step(kernel, src, params, Some(means), out);
}

/// Labels as the step writes them.
#[doc(hidden)]
pub fn labels_of(params: &[SampleParams]) -> Vec<MixLabel> {
    params
        .iter()
        .map(|p| MixLabel {
            label_a: p.label_a,
            label_b: p.label_b,
            lambda: p.lambda,
        })
        .collect()
}

impl Backend for CpuBackend {
    fn info(&self) -> BackendInfo {
        BackendInfo {
            kind: BackendKind::Cpu,
            device: format!("CPU ({} rayon threads)", rayon::current_num_threads()),
        }
    }

    fn plan(&self) -> &Plan {
        &self.plan
    }

    fn sample_params(&mut self, step: Step) -> Result<Vec<SampleParams>, Error> {
        let args = self.plan.step_args(step)?;
        Ok(step_params(&self.plan, args))
    }

    fn augment_into(
        &mut self,
        step: Step,
        images: HostImages<'_>,
        labels: &mut [MixLabel],
    ) -> Result<(), Error> {
        let args = self.plan.check_outputs(step, &images, labels)?;
        let params = step_params(&self.plan, args);
        let coefficients = step_synth_coefficients(&self.plan, args, &params);
        let src = step_source(&self.plan, args, &coefficients);
        let k = &self.plan.kernel;
        // One pass per image: each contrast mean is taken while rendering.
        match images {
            HostImages::F32(out) => pairs::render_step(k, &src, &params, None, out),
            HostImages::F16(out) => pairs::render_step(k, &src, &params, None, out),
            HostImages::Bf16(out) => pairs::render_step(k, &src, &params, None, out),
        }
        labels.copy_from_slice(&labels_of(&params));
        Ok(())
    }
}
