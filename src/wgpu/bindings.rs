//! The shader's bindings (group 0), named once: the bind-group layout and
//! every bind group are built from [`SLOTS`], and `tests/wgpu_layout.rs`
//! checks the table against the WGSL's `@binding` declarations (naga).

use ::wgpu as wg;

use super::{DATA_BINDINGS, Outputs, WgpuBackend, align_up, auto_stats_words};
use crate::error::Error;
use crate::kernel_args::{MixLabel, SampleParams, StepArgs};

/// How the shader reads a binding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlotKind {
    Uniform,
    /// A uniform at a dynamic offset (one `StepArgs` per output window).
    DynamicUniform,
    StorageRead,
    StorageReadWrite,
}

/// One binding of group 0: the WGSL variable's name, its number, its kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    pub name: &'static str,
    pub binding: u32,
    pub kind: SlotKind,
}

const fn slot(name: &'static str, binding: u32, kind: SlotKind) -> Slot {
    Slot {
        name,
        binding,
        kind,
    }
}

pub(super) const POLICY: Slot = slot("policy", 0, SlotKind::Uniform);
pub(super) const RESIDENT: Slot = slot("resident", 1, SlotKind::Uniform);
/// Subset, labels, gray means and synthetic tables.
pub(super) const META: Slot = slot("resident_meta", 2, SlotKind::StorageRead);
/// The u8 dataset, four to a word, in up to three chunks.
pub(super) const DATA: [Slot; DATA_BINDINGS] = [
    slot("data0", 3, SlotKind::StorageRead),
    slot("data1", 4, SlotKind::StorageRead),
    slot("data2", 5, SlotKind::StorageRead),
];
pub(super) const PARAMS: Slot = slot("params", 6, SlotKind::StorageReadWrite);
pub(super) const MIX_LABELS: Slot = slot("mix_labels", 7, SlotKind::StorageReadWrite);
/// Contrast means, then the synthetic coefficients, then the auto-op
/// reductions.
pub(super) const MEANS: Slot = slot("means", 8, SlotKind::StorageReadWrite);
/// One output window of the images.
pub(super) const OUT_WORDS: Slot = slot("out_words", 9, SlotKind::StorageReadWrite);
/// Only when the device has no immediates.
pub(super) const STEP_ARGS: Slot = slot("step_args", 10, SlotKind::DynamicUniform);

/// Every binding, in binding order.
pub const SLOTS: [Slot; 11] = [
    POLICY, RESIDENT, META, DATA[0], DATA[1], DATA[2], PARAMS, MIX_LABELS, MEANS, OUT_WORDS,
    STEP_ARGS,
];

/// The layout of [`SLOTS`] (the step arguments only without immediates).
/// One layout for every entry point, so the immediates set once per pass
/// survive pipeline switches.
pub(super) fn layout_entries(immediates: bool) -> Vec<wg::BindGroupLayoutEntry> {
    SLOTS
        .iter()
        .filter(|s| !(immediates && s.binding == STEP_ARGS.binding))
        .map(|s| {
            let (ty, has_dynamic_offset, min_binding_size) = match s.kind {
                SlotKind::Uniform => (wg::BufferBindingType::Uniform, false, None),
                SlotKind::DynamicUniform => (
                    wg::BufferBindingType::Uniform,
                    true,
                    wg::BufferSize::new(size_of::<StepArgs>() as u64),
                ),
                SlotKind::StorageRead => (
                    wg::BufferBindingType::Storage { read_only: true },
                    false,
                    None,
                ),
                SlotKind::StorageReadWrite => (
                    wg::BufferBindingType::Storage { read_only: false },
                    false,
                    None,
                ),
            };
            wg::BindGroupLayoutEntry {
                binding: s.binding,
                visibility: wg::ShaderStages::COMPUTE,
                ty: wg::BindingType::Buffer {
                    ty,
                    has_dynamic_offset,
                    min_binding_size,
                },
                count: None,
            }
        })
        .collect()
}

impl WgpuBackend {
    pub(super) fn ensure_capacity(&mut self, batch: u32) -> Result<(), Error> {
        if self.outputs.as_ref().is_some_and(|o| o.capacity >= batch) {
            return Ok(());
        }
        let capacity = batch.max(self.outputs.as_ref().map_or(0, |o| o.capacity));
        let windows = self.windows(capacity)?;
        let device = &self.gpu.device;
        let limits = &self.gpu.limits;
        let limit = limits.max_storage_buffer_binding_size;
        let image_bytes = self.image_bytes(capacity);
        let params_bytes = u64::from(capacity) * size_of::<SampleParams>() as u64;
        let label_bytes = u64::from(capacity) * size_of::<MixLabel>() as u64;
        // Contrast means, then `synth_components` coefficients per sample,
        // then the auto-op reductions.
        let per_sample =
            1 + u64::from(self.plan.kernel.synth_components) + auto_stats_words(&self.plan.kernel);
        let means_bytes = u64::from(capacity) * per_sample * 4;
        // The images are bound a window at a time (see `windows`); the
        // per-sample buffers are read across the batch (a mixed sample reads
        // its partner's parameters and mean), so each is one binding.
        for (what, bytes) in [
            ("the step's parameters", params_bytes),
            (
                "the step's contrast means, synthetic coefficients and auto-op reductions",
                means_bytes,
            ),
        ] {
            if bytes > limit {
                return Err(Error::TooLarge { what, bytes, limit });
            }
        }
        let staging_bytes = align_up(image_bytes.max(params_bytes).max(means_bytes), 256)
            + align_up(label_bytes, 256);
        if staging_bytes > limits.max_buffer_size {
            return Err(Error::TooLarge {
                what: "the step's images and labels (one buffer)",
                bytes: staging_bytes,
                limit: limits.max_buffer_size,
            });
        }
        let storage = |label: &str, size: u64| {
            device.create_buffer(&wg::BufferDescriptor {
                label: Some(label),
                size: align_up(size.max(16), 16),
                usage: wg::BufferUsages::STORAGE | wg::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            })
        };
        let params = storage("augkit params", params_bytes);
        let labels = storage("augkit mix labels", label_bytes);
        let means = storage(
            "augkit contrast means, synthetic coefficients, auto-op reductions",
            means_bytes,
        );
        let images = storage("augkit images", image_bytes);
        let staging = device.create_buffer(&wg::BufferDescriptor {
            label: Some("augkit staging"),
            size: staging_bytes,
            usage: wg::BufferUsages::MAP_READ | wg::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let step_stride = align_up(
            size_of::<StepArgs>() as u64,
            u64::from(limits.min_uniform_buffer_offset_alignment),
        );
        let step_buf = (!self.immediates).then(|| {
            device.create_buffer(&wg::BufferDescriptor {
                label: Some("augkit step args (one per output window)"),
                size: step_stride * windows.len() as u64,
                usage: wg::BufferUsages::UNIFORM | wg::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            })
        });
        fn whole(b: &wg::Buffer) -> wg::BindingResource<'_> {
            b.as_entire_binding()
        }
        let bind_groups = windows
            .iter()
            .map(|w| {
                let mut entries = vec![
                    wg::BindGroupEntry {
                        binding: POLICY.binding,
                        resource: whole(&self.policy_buf),
                    },
                    wg::BindGroupEntry {
                        binding: RESIDENT.binding,
                        resource: whole(&self.resident_buf),
                    },
                    wg::BindGroupEntry {
                        binding: META.binding,
                        resource: whole(&self.meta_buf),
                    },
                ];
                for (i, b) in self.data_bufs.iter().enumerate() {
                    entries.push(wg::BindGroupEntry {
                        binding: DATA[i].binding,
                        resource: whole(b),
                    });
                }
                for (slot, b) in [(PARAMS, &params), (MIX_LABELS, &labels), (MEANS, &means)] {
                    entries.push(wg::BindGroupEntry {
                        binding: slot.binding,
                        resource: whole(b),
                    });
                }
                entries.push(wg::BindGroupEntry {
                    binding: OUT_WORDS.binding,
                    resource: wg::BindingResource::Buffer(wg::BufferBinding {
                        buffer: &images,
                        offset: w.offset,
                        size: wg::BufferSize::new(w.size),
                    }),
                });
                if let Some(s) = &step_buf {
                    entries.push(wg::BindGroupEntry {
                        binding: STEP_ARGS.binding,
                        resource: wg::BindingResource::Buffer(wg::BufferBinding {
                            buffer: s,
                            offset: 0,
                            size: wg::BufferSize::new(size_of::<StepArgs>() as u64),
                        }),
                    });
                }
                device.create_bind_group(&wg::BindGroupDescriptor {
                    label: Some("augkit"),
                    layout: &self.layout,
                    entries: &entries,
                })
            })
            .collect();
        self.outputs = Some(Outputs {
            capacity,
            params,
            labels,
            means,
            images,
            staging,
            step_buf,
            step_stride,
            windows,
            bind_groups,
        });
        Ok(())
    }
}
