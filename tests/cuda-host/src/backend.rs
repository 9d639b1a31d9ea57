//! The host emulation as a backend: the same passes (parameters, auto-op
//! statistics, contrast means, pixels), in the order the
//! CUDA backend launches them, behind [`DeviceBackend`] and [`Inspect`], so
//! the one parity body (`tests/support/parity.rs`) runs on it as on a GPU.

use std::sync::Arc;

use augkit::{
    Backend, BackendInfo, BackendKind, Dataset, DeviceBackend, Error, HostImages, Inspect,
    MixLabel, Plan, Policy, SampleParams, Step,
};

/// What the last step computed.
struct Last {
    step: Step,
    params: Vec<SampleParams>,
    labels: Vec<MixLabel>,
    coefficients: Vec<f32>,
    means: Vec<f32>,
    /// Output bits: f32 bits, or the f16/bf16 patterns.
    bits: Vec<u32>,
    pixels: bool,
}

/// `kernels/cuda/augment.cu` under g++, run on the host.
pub struct EmuBackend {
    plan: Plan,
    last: Option<Last>,
}

impl EmuBackend {
    pub fn new(
        policy: &Policy,
        seed: u64,
        dataset: Arc<Dataset>,
        subset: Vec<u32>,
    ) -> Result<Self, Error> {
        let plan = Plan::new(policy, seed, dataset, subset)?;
        Ok(Self { plan, last: None })
    }

    fn step(&mut self, step: Step, pixels: bool) -> Result<(), Error> {
        let args = self.plan.step_args(step)?;
        let plan = &self.plan;
        let synth = plan.synth().map(|s| &**s);
        let (params, labels, coefficients) = crate::params(
            plan.kernel(),
            args,
            plan.subset(),
            plan.dataset().labels(),
            synth,
        );
        let (means, bits) = if pixels {
            let auto = crate::auto_stats(
                plan.kernel(),
                args,
                plan.dataset(),
                synth,
                &coefficients,
                &params,
            );
            let means = crate::contrast_means(
                plan.kernel(),
                args,
                plan.dataset(),
                synth,
                &coefficients,
                &params,
                &auto,
            );
            let (values, bits) = crate::pixels(
                plan.kernel(),
                args,
                plan.dataset(),
                synth,
                &coefficients,
                &params,
                &auto,
                &means,
                plan.dtype(),
            );
            let bits = if bits.is_empty() {
                values.iter().map(|v| v.to_bits()).collect()
            } else {
                bits.into_iter().map(u32::from).collect()
            };
            (means, bits)
        } else {
            (Vec::new(), Vec::new())
        };
        self.last = Some(Last {
            step,
            params,
            labels,
            coefficients,
            means,
            bits,
            pixels,
        });
        Ok(())
    }

    fn last(&self, pixels: bool) -> Result<&Last, Error> {
        self.last
            .as_ref()
            .filter(|l| l.pixels || !pixels)
            .ok_or_else(|| Error::Device("no step has run (DeviceBackend::run)".into()))
    }
}

impl Backend for EmuBackend {
    fn info(&self) -> BackendInfo {
        BackendInfo {
            kind: BackendKind::Cuda,
            device: "host emulation (g++)".into(),
        }
    }

    fn plan(&self) -> &Plan {
        &self.plan
    }

    fn sample_params(&mut self, step: Step) -> Result<Vec<SampleParams>, Error> {
        self.step(step, false)?;
        self.last_params()
    }

    fn augment_into(
        &mut self,
        step: Step,
        images: HostImages<'_>,
        labels: &mut [MixLabel],
    ) -> Result<(), Error> {
        augkit::internals::augment_into_on_device(self, step, images, labels)
    }
}

impl DeviceBackend for EmuBackend {
    fn run(&mut self, step: Step) -> Result<(), Error> {
        self.step(step, true)
    }

    fn wait(&self) -> Result<(), Error> {
        Ok(())
    }

    fn read_back(
        &mut self,
        images: &mut HostImages<'_>,
        labels: &mut [MixLabel],
    ) -> Result<(), Error> {
        let last = self.last(true)?;
        self.plan.check_outputs(last.step, images, labels)?;
        labels.copy_from_slice(&last.labels);
        match images {
            HostImages::F32(out) => {
                for (o, &b) in out.iter_mut().zip(&last.bits) {
                    *o = f32::from_bits(b);
                }
            }
            HostImages::F16(out) => {
                for (o, &b) in out.iter_mut().zip(&last.bits) {
                    *o = half::f16::from_bits(b as u16);
                }
            }
            HostImages::Bf16(out) => {
                for (o, &b) in out.iter_mut().zip(&last.bits) {
                    *o = half::bf16::from_bits(b as u16);
                }
            }
        }
        Ok(())
    }
}

impl Inspect for EmuBackend {
    fn last_params(&self) -> Result<Vec<SampleParams>, Error> {
        Ok(self.last(false)?.params.clone())
    }

    fn last_contrast_means(&self) -> Result<Vec<f32>, Error> {
        Ok(self.last(true)?.means.clone())
    }

    fn last_synth_coefficients(&self) -> Result<Vec<f32>, Error> {
        Ok(self.last(false)?.coefficients.clone())
    }
}
