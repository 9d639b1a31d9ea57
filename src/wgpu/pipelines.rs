//! The compute pipelines of one policy: the joined WGSL module compiled
//! with the policy's feature switches, one pipeline per pass the policy
//! uses, and the bind-group layout they share.

use ::wgpu as wg;

use super::{WgpuDevice, bindings, pipeline_constants, shader_source};
use crate::error::Error;
use crate::kernel_args::{AUTO_OFF, KernelPolicy, OP_CONTRAST, StepArgs, entry};

/// The entry points this policy needs (compiled once, at construction).
pub(super) struct Pipelines {
    pub(super) params: wg::ComputePipeline,
    /// Only when the policy has auto ops (TrivialAugment / RandAugment).
    pub(super) stats: Option<wg::ComputePipeline>,
    /// Only when the policy has contrast.
    pub(super) contrast: Option<wg::ComputePipeline>,
    /// `augment_pixels_<dtype>`, by output dtype.
    pub(super) pixel: wg::ComputePipeline,
}

impl Pipelines {
    /// The layout and the pipelines for `kernel` on `gpu`; a shader the
    /// device rejects is an error naming the adapter.
    pub(super) fn new(
        gpu: &WgpuDevice,
        kernel: &KernelPolicy,
        immediates: bool,
    ) -> Result<(wg::BindGroupLayout, Self), Error> {
        let device = &gpu.device;
        let entries = bindings::layout_entries(immediates);
        let layout = device.create_bind_group_layout(&wg::BindGroupLayoutDescriptor {
            label: Some("augkit"),
            entries: &entries,
        });
        let pipeline_layout = device.create_pipeline_layout(&wg::PipelineLayoutDescriptor {
            label: Some("augkit"),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: if immediates {
                size_of::<StepArgs>() as u32
            } else {
                0
            },
        });
        let scope = device.push_error_scope(wg::ErrorFilter::Validation);
        let module = device.create_shader_module(wg::ShaderModuleDescriptor {
            label: Some("augment.wgsl"),
            source: wg::ShaderSource::Wgsl(shader_source(immediates).into()),
        });
        let constants = pipeline_constants(kernel);
        let pipeline = |entry: &str| {
            device.create_compute_pipeline(&wg::ComputePipelineDescriptor {
                label: Some(entry),
                layout: Some(&pipeline_layout),
                module: &module,
                entry_point: Some(entry),
                compilation_options: wg::PipelineCompilationOptions {
                    constants: &constants,
                    ..Default::default()
                },
                cache: None,
            })
        };
        let pipelines = Pipelines {
            params: pipeline(entry::PARAMS),
            stats: (kernel.auto_mode != AUTO_OFF).then(|| pipeline(entry::STATS)),
            contrast: (kernel.jitter_ops & (1 << OP_CONTRAST) != 0)
                .then(|| pipeline(entry::CONTRAST)),
            pixel: pipeline(entry::pixels(kernel.out_dtype)),
        };
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(Error::Device(format!(
                "augment.wgsl on {}: {e}",
                gpu.adapter()
            )));
        }
        Ok((layout, pipelines))
    }
}
