//! The CPU backend: the reference every other backend is checked against,
//! and what runs where there is no GPU. Parallel over samples with rayon;
//! writes straight into the caller's slice.

pub mod augment;

use std::sync::Arc;

use rayon::prelude::*;

use crate::backend::{Backend, BackendInfo, BackendKind, HostImages, Plan, Step};
use crate::dataset::Dataset;
use crate::error::Error;
use crate::kernel_args::{KernelPolicy, MixLabel, SampleParams, StepArgs};
use crate::params::{StepContext, sample_params};
use crate::policy::Policy;
use augment::{OutElem, RowScratch, Source, contrast_mean_rows, render_sample};

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
pub fn step_params(plan: &Plan, args: StepArgs) -> Vec<SampleParams> {
    let ctx = StepContext::new(&plan.kernel, args, &plan.subset, plan.dataset.labels());
    (0..args.batch_size)
        .into_par_iter()
        .map(|i| sample_params(&ctx, i))
        .collect()
}

/// The contrast reduction pass for a step: one mean per sample.
pub fn step_contrast_means(
    kernel: &KernelPolicy,
    dataset: &Dataset,
    params: &[SampleParams],
) -> Vec<f32> {
    let src = source(dataset);
    params
        .par_iter()
        .map_init(
            || RowScratch::new(kernel.width),
            |scratch, p| contrast_mean_rows(kernel, &src, p, scratch),
        )
        .collect()
}

fn source(dataset: &Dataset) -> Source<'_> {
    Source {
        shape: dataset.shape(),
        pixels: dataset.pixels(),
        gray_means: dataset.gray_means(),
    }
}

/// The pixel pass: renders a step from given parameters (also used by the
/// parity tests to render another backend's parameters).
pub fn render<T: OutElem>(
    kernel: &KernelPolicy,
    dataset: &Dataset,
    params: &[SampleParams],
    means: &[f32],
    out: &mut [T],
) {
    let src = source(dataset);
    let per_sample = dataset.shape().elements();
    out.par_chunks_mut(per_sample).enumerate().for_each_init(
        || RowScratch::new(kernel.width),
        |scratch, (i, chunk)| render_sample(kernel, &src, params, means, i, chunk, scratch),
    );
}

/// Labels as the step writes them.
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
        let means = step_contrast_means(&self.plan.kernel, &self.plan.dataset, &params);
        let k = &self.plan.kernel;
        let d = &self.plan.dataset;
        match images {
            HostImages::F32(out) => render(k, d, &params, &means, out),
            HostImages::F16(out) => render(k, d, &params, &means, out),
            HostImages::Bf16(out) => render(k, d, &params, &means, out),
        }
        labels.copy_from_slice(&labels_of(&params));
        Ok(())
    }
}
