//! The wgpu backend: `kernels/wgsl/augment.wgsl` on any Vulkan, Metal or
//! DX12 adapter (a hardware GPU first, else a CPU adapter such as Mesa's
//! lavapipe; never the OpenGL fallback).
//!
//! The dataset (u8 packed four to a word, split over up to three storage
//! bindings), labels, index list and per-image gray means — and, for a
//! policy with synthetic samples, the class index and PCA model
//! ([`SynthTables`], appended to the same binding) — are uploaded once by
//! [`WgpuBackend::new`]. A step ([`run`](DeviceBackend::run)) sends only its
//! [`StepArgs`] — as immediates where the device has them, else as one
//! 32-byte uniform write — and records three dispatches in one compute pass:
//! parameters (which also writes the synthetic coefficients after the
//! contrast means), contrast reduction (only when the policy has contrast),
//! pixels. Outputs stay in device buffers; [`read_back`](DeviceBackend::read_back) is the
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
//! Tests: `cargo test --test wgpu_parity --test wgpu_layout`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use ::wgpu as wg;
use bytemuck::{Pod, Zeroable};
use wg::util::DeviceExt;

use crate::backend::{
    Backend, BackendInfo, BackendKind, DeviceBackend, HostImages, Inspect, Plan, Step,
};
use crate::dataset::Dataset;
use crate::error::Error;
use crate::kernel_args::{
    DTYPE_F32, KernelPolicy, MixLabel, OP_CONTRAST, SampleParams, StepArgs, entry,
};
use crate::policy::Policy;
use crate::synthetic::SynthTables;

/// The kernel source, embedded.
pub const SHADER_SOURCE: &str = include_str!("../../kernels/wgsl/augment.wgsl");

/// Dataset bindings the shader declares (`data0`…`data2`).
pub const DATA_BINDINGS: usize = 3;

/// Storage buffers one pipeline binds: meta, data chunks, params, labels,
/// means, output.
const STORAGE_BINDINGS: u32 = 1 + DATA_BINDINGS as u32 + 4;

const PARAMS_WORKGROUP: u32 = 64;
const PIXEL_WORKGROUP: u32 = 256;

/// Where the resident data lives, for the kernels (mirrored in the WGSL as
/// `Resident`; uploaded once).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct Resident {
    pub images: u32,
    /// C·H·W.
    pub image_elems: u32,
    /// Word offsets in the meta buffer (the subset starts at 0).
    pub labels_at: u32,
    pub means_at: u32,
    /// u32 words per dataset chunk binding.
    pub chunk_words: u32,
    pub chunks: u32,
    /// Classes with an image in the subset (synthetic samples).
    pub synth_present: u32,
    /// Word offsets in the meta buffer of the synthetic tables (0 when the
    /// policy has none): present classes, class offsets, class members, and
    /// the PCA model as f32 bits (means, basis, sigmas, class gray means).
    pub synth_present_at: u32,
    pub synth_offsets_at: u32,
    pub synth_members_at: u32,
    pub synth_means_at: u32,
    pub synth_basis_at: u32,
    pub synth_sigmas_at: u32,
    pub synth_gray_at: u32,
    pub _pad: [u32; 2],
}

/// Appends the synthetic tables to the meta words and records where each
/// starts.
fn append_synth_tables(meta: &mut Vec<u32>, tables: &SynthTables, resident: &mut Resident) {
    let mut put = |words: &[u32]| {
        let at = meta.len() as u32;
        meta.extend_from_slice(words);
        at
    };
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<u32>>();
    resident.synth_present = tables.present_classes.len() as u32;
    resident.synth_present_at = put(&tables.present_classes);
    resident.synth_offsets_at = put(&tables.class_offsets);
    resident.synth_members_at = put(&tables.class_members);
    resident.synth_means_at = put(&bits(&tables.means));
    resident.synth_basis_at = put(&bits(&tables.basis));
    resident.synth_sigmas_at = put(&bits(&tables.sigmas));
    resident.synth_gray_at = put(&bits(&tables.class_gray_means));
}

/// The WGSL source with the step-arguments declaration filled in.
pub fn shader_source(immediates: bool) -> String {
    let decl = if immediates {
        "var<immediate> step_args: StepArgs;"
    } else {
        "@group(0) @binding(10) var<uniform> step_args: StepArgs;"
    };
    SHADER_SOURCE.replace("//@STEP_ARGS", decl)
}

/// How to find the adapter and what to enable.
#[derive(Clone, Debug, Default)]
pub struct WgpuOptions {
    /// Take the first adapter whose name contains this (case-insensitive).
    /// When `None`, the `AUGKIT_WGPU_ADAPTER` environment variable is used
    /// the same way if set; otherwise a hardware GPU first, then any other.
    pub adapter: Option<String>,
    /// Cap on the bytes of one resident binding (a dataset chunk; the index
    /// list, labels, gray means and synthetic model) and of one output
    /// window of the images, below the device's
    /// `max_storage_buffer_binding_size` (tests force the chunked and split
    /// paths and the too-large errors).
    pub max_binding_bytes: Option<u64>,
    /// Send step arguments as a uniform write even where immediates exist.
    pub force_uniform_step_args: bool,
    /// Record GPU timestamps around each pass where the device supports it.
    pub timestamps: bool,
}

/// The adapter as found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdapterReport {
    pub name: String,
    /// `DiscreteGpu`, `IntegratedGpu`, `Cpu`, …
    pub device_type: String,
    pub backend: String,
    pub driver: String,
}

impl std::fmt::Display for AdapterReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}, {}, {})",
            self.name, self.device_type, self.backend, self.driver
        )
    }
}

/// Device setup, separate from the work: adapter, device, queue, and the
/// error and device-lost sinks.
pub struct WgpuDevice {
    pub device: wg::Device,
    pub queue: wg::Queue,
    pub limits: wg::Limits,
    pub features: wg::Features,
    report: AdapterReport,
    errors: Arc<Mutex<Vec<String>>>,
    lost: Arc<AtomicBool>,
    lost_reason: Arc<Mutex<String>>,
}

fn device_rank(t: wg::DeviceType) -> u32 {
    match t {
        wg::DeviceType::DiscreteGpu => 0,
        wg::DeviceType::IntegratedGpu => 1,
        wg::DeviceType::VirtualGpu => 2,
        wg::DeviceType::Cpu => 3,
        wg::DeviceType::Other => 4,
    }
}

impl WgpuDevice {
    /// Finds an adapter (Vulkan, Metal or DX12 only) and opens a device with
    /// the adapter's own limits.
    pub fn new(options: &WgpuOptions) -> Result<Self, Error> {
        let backends = wg::Backends::VULKAN | wg::Backends::METAL | wg::Backends::DX12;
        let instance = wg::Instance::new(wg::InstanceDescriptor {
            backends,
            ..wg::InstanceDescriptor::new_without_display_handle()
        });
        let adapters = pollster::block_on(instance.enumerate_adapters(backends));
        let wanted = options
            .adapter
            .clone()
            .or_else(|| std::env::var("AUGKIT_WGPU_ADAPTER").ok())
            .filter(|s| !s.is_empty());
        let found: Vec<String> = adapters
            .iter()
            .map(|a| {
                let i = a.get_info();
                format!("{} ({:?}, {:?})", i.name, i.device_type, i.backend)
            })
            .collect();
        let adapter = match &wanted {
            Some(name) => {
                let needle = name.to_lowercase();
                adapters
                    .into_iter()
                    .find(|a| a.get_info().name.to_lowercase().contains(&needle))
                    .ok_or_else(|| {
                        Error::Unavailable(format!(
                            "no Vulkan/Metal/DX12 adapter named like {name:?}; found {found:?}"
                        ))
                    })?
            }
            None => adapters
                .into_iter()
                .filter(|a| a.get_info().backend != wg::Backend::Gl)
                .min_by_key(|a| device_rank(a.get_info().device_type))
                .ok_or_else(|| {
                    Error::Unavailable(
                        "no Vulkan, Metal or DX12 adapter (on Linux without a GPU, install \
                         Mesa's lavapipe: apt-get install mesa-vulkan-drivers)"
                            .into(),
                    )
                })?,
        };
        let info = adapter.get_info();
        let report = AdapterReport {
            name: info.name.clone(),
            device_type: format!("{:?}", info.device_type),
            backend: format!("{:?}", info.backend),
            driver: format!("{} {}", info.driver, info.driver_info),
        };
        let limits = adapter.limits();
        if limits.max_storage_buffers_per_shader_stage < STORAGE_BINDINGS {
            return Err(Error::Unavailable(format!(
                "adapter {report} allows {} storage buffers per stage; augkit binds {STORAGE_BINDINGS}",
                limits.max_storage_buffers_per_shader_stage
            )));
        }
        let offered = adapter.features();
        let mut features = wg::Features::empty();
        if !options.force_uniform_step_args
            && offered.contains(wg::Features::IMMEDIATES)
            && limits.max_immediate_size >= size_of::<StepArgs>() as u32
        {
            features |= wg::Features::IMMEDIATES;
        }
        if options.timestamps && offered.contains(wg::Features::TIMESTAMP_QUERY) {
            features |= wg::Features::TIMESTAMP_QUERY;
            if offered.contains(wg::Features::TIMESTAMP_QUERY_INSIDE_PASSES) {
                features |= wg::Features::TIMESTAMP_QUERY_INSIDE_PASSES;
            }
        }
        let (device, queue) = pollster::block_on(adapter.request_device(&wg::DeviceDescriptor {
            label: Some("augkit"),
            required_features: features,
            required_limits: limits.clone(),
            experimental_features: wg::ExperimentalFeatures::disabled(),
            memory_hints: wg::MemoryHints::Performance,
            trace: wg::Trace::Off,
        }))
        .map_err(|e| Error::Unavailable(format!("adapter {report}: request_device: {e}")))?;

        let errors = Arc::new(Mutex::new(Vec::new()));
        let sink = errors.clone();
        device.on_uncaptured_error(Arc::new(move |e: wg::Error| {
            sink.lock().unwrap().push(e.to_string());
        }));
        let lost = Arc::new(AtomicBool::new(false));
        let lost_reason = Arc::new(Mutex::new(String::new()));
        let (flag, why) = (lost.clone(), lost_reason.clone());
        device.set_device_lost_callback(move |reason, message| {
            flag.store(true, Ordering::SeqCst);
            *why.lock().unwrap() = format!("{reason:?}: {message}");
        });
        Ok(Self {
            device,
            queue,
            limits,
            features,
            report,
            errors,
            lost,
            lost_reason,
        })
    }

    pub fn adapter(&self) -> &AdapterReport {
        &self.report
    }

    /// Whether step arguments go as immediates (else a uniform write).
    pub fn immediates(&self) -> bool {
        self.features.contains(wg::Features::IMMEDIATES)
    }

    /// Device lost, or an error wgpu reported outside an error scope.
    pub fn check(&self) -> Result<(), Error> {
        if self.lost.load(Ordering::SeqCst) {
            return Err(Error::Device(format!(
                "device lost: {}",
                self.lost_reason.lock().unwrap()
            )));
        }
        let mut errors = self.errors.lock().unwrap();
        if !errors.is_empty() {
            let all = errors.join("; ");
            errors.clear();
            return Err(Error::Device(all));
        }
        Ok(())
    }

    /// Blocks until all submitted work is done.
    pub fn wait(&self) -> Result<(), Error> {
        self.device
            .poll(wg::PollType::wait_indefinitely())
            .map_err(|e| Error::Device(format!("poll: {e}")))?;
        self.check()
    }
}

/// GPU time of each pass of the last step, in nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PassTimings {
    pub params_ns: Option<f64>,
    pub contrast_ns: Option<f64>,
    pub pixel_ns: Option<f64>,
    pub total_ns: f64,
}

struct Timestamps {
    set: wg::QuerySet,
    resolve: wg::Buffer,
    staging: wg::Buffer,
    inside_passes: bool,
    period_ns: f32,
}

const TIMESTAMP_COUNT: u32 = 4;

/// One pixel dispatch's share of the images buffer.
#[derive(Clone, Copy, Debug)]
struct Window {
    /// Its units (f32: global pixels `sample·H·W + pixel`; packed: output
    /// words), up to the capacity.
    first_unit: u64,
    end_unit: u64,
    /// Its binding of the images buffer, in bytes (the offset aligned down
    /// to `min_storage_buffer_offset_alignment`).
    offset: u64,
    size: u64,
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

/// The entry points this policy needs (compiled once, at construction).
struct Pipelines {
    params: wg::ComputePipeline,
    /// Only when the policy has contrast.
    contrast: Option<wg::ComputePipeline>,
    /// `augment_pixels_<dtype>`, by output dtype.
    pixel: wg::ComputePipeline,
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

fn storage_entry(binding: u32, read_only: bool) -> wg::BindGroupLayoutEntry {
    wg::BindGroupLayoutEntry {
        binding,
        visibility: wg::ShaderStages::COMPUTE,
        ty: wg::BindingType::Buffer {
            ty: wg::BufferBindingType::Storage { read_only },
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    }
}

fn uniform_entry(binding: u32) -> wg::BindGroupLayoutEntry {
    wg::BindGroupLayoutEntry {
        binding,
        visibility: wg::ShaderStages::COMPUTE,
        ty: wg::BindingType::Buffer {
            ty: wg::BufferBindingType::Uniform,
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    }
}

fn align_up(v: u64, a: u64) -> u64 {
    v.div_ceil(a) * a
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
        let device = &gpu.device;
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

        // Resident data: dataset words, then [subset | labels | gray means].
        let dataset = plan.dataset.clone();
        let pixels = dataset.pixels();
        if pixels.len() as u64 >= 1 << 32 {
            return Err(Error::TooLarge {
                what: "the dataset (u32 byte addressing)",
                bytes: pixels.len() as u64,
                limit: (1 << 32) - 1,
            });
        }
        let mut words = vec![0u32; pixels.len().div_ceil(4)];
        for (w, bytes) in words.iter_mut().zip(pixels.chunks(4)) {
            let mut b = [0u8; 4];
            b[..bytes.len()].copy_from_slice(bytes);
            *w = u32::from_le_bytes(b);
        }
        let chunks = (words.len() as u64).div_ceil(chunk_words);
        if chunks > DATA_BINDINGS as u64 {
            return Err(Error::TooLarge {
                what: "the dataset",
                bytes: pixels.len() as u64,
                limit: DATA_BINDINGS as u64 * chunk_words * 4,
            });
        }
        let mut data_bufs: Vec<wg::Buffer> = words
            .chunks(chunk_words as usize)
            .enumerate()
            .map(|(i, chunk)| {
                device.create_buffer_init(&wg::util::BufferInitDescriptor {
                    label: Some(&format!("augkit dataset chunk {i}")),
                    contents: bytemuck::cast_slice(chunk),
                    usage: wg::BufferUsages::STORAGE,
                })
            })
            .collect();
        while data_bufs.len() < DATA_BINDINGS {
            data_bufs.push(device.create_buffer(&wg::BufferDescriptor {
                label: Some("augkit dataset (unused binding)"),
                size: 16,
                usage: wg::BufferUsages::STORAGE,
                mapped_at_creation: false,
            }));
        }

        let subset_len = plan.subset.len() as u32;
        let labels = dataset.labels();
        let mut meta: Vec<u32> = Vec::with_capacity(plan.subset.len() + 2 * labels.len());
        meta.extend_from_slice(&plan.subset);
        meta.extend_from_slice(labels);
        meta.extend(dataset.gray_means().iter().map(|m| m.to_bits()));
        let mut resident = Resident {
            images: labels.len() as u32,
            image_elems: dataset.shape().elements() as u32,
            labels_at: subset_len,
            means_at: subset_len + labels.len() as u32,
            chunk_words: chunk_words.min(u64::from(u32::MAX)) as u32,
            chunks: chunks as u32,
            ..Resident::default()
        };
        // The synthetic tables ride in the same binding (no extra storage
        // buffer: the shader stays within WebGPU's 8 per stage).
        if let Some(tables) = &plan.synth {
            let words = tables.present_classes.len()
                + tables.class_offsets.len()
                + tables.class_members.len()
                + tables.means.len()
                + tables.basis.len()
                + tables.sigmas.len()
                + tables.class_gray_means.len();
            let bytes = (meta.len() + words) as u64 * 4;
            if bytes > binding {
                return Err(Error::TooLarge {
                    what: "the index list, labels, gray means and synthetic model",
                    bytes,
                    limit: binding,
                });
            }
            append_synth_tables(&mut meta, tables, &mut resident);
        }
        let meta_bytes = meta.len() as u64 * 4;
        if meta_bytes > binding {
            return Err(Error::TooLarge {
                what: "the index list, labels and gray means",
                bytes: meta_bytes,
                limit: binding,
            });
        }
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

        // One layout for every entry point, so the immediates set once per
        // pass survive pipeline switches.
        let mut entries = vec![uniform_entry(0), uniform_entry(1), storage_entry(2, true)];
        for b in 0..DATA_BINDINGS as u32 {
            entries.push(storage_entry(3 + b, true));
        }
        for b in 6..10 {
            entries.push(storage_entry(b, false));
        }
        if !immediates {
            // One StepArgs per output window, at a dynamic offset.
            entries.push(wg::BindGroupLayoutEntry {
                binding: 10,
                visibility: wg::ShaderStages::COMPUTE,
                ty: wg::BindingType::Buffer {
                    ty: wg::BufferBindingType::Uniform,
                    has_dynamic_offset: true,
                    min_binding_size: wg::BufferSize::new(size_of::<StepArgs>() as u64),
                },
                count: None,
            });
        }
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
        let pipeline = |entry: &str| {
            device.create_compute_pipeline(&wg::ComputePipelineDescriptor {
                label: Some(entry),
                layout: Some(&pipeline_layout),
                module: &module,
                entry_point: Some(entry),
                compilation_options: Default::default(),
                cache: None,
            })
        };
        let pipelines = Pipelines {
            params: pipeline(entry::PARAMS),
            contrast: (plan.kernel.jitter_ops & (1 << OP_CONTRAST) != 0)
                .then(|| pipeline(entry::CONTRAST)),
            pixel: pipeline(entry::pixels(plan.dtype())),
        };
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(Error::Device(format!(
                "augment.wgsl on {}: {e}",
                gpu.adapter()
            )));
        }

        let (timestamps, timestamp_reason) = if !options.timestamps {
            (
                None,
                "timestamps not requested (WgpuOptions::timestamps)".to_string(),
            )
        } else if !gpu.features.contains(wg::Features::TIMESTAMP_QUERY) {
            (
                None,
                format!("adapter {} offers no TIMESTAMP_QUERY", gpu.adapter()),
            )
        } else {
            let bytes = u64::from(TIMESTAMP_COUNT) * 8;
            (
                Some(Timestamps {
                    set: device.create_query_set(&wg::QuerySetDescriptor {
                        label: Some("augkit timestamps"),
                        ty: wg::QueryType::Timestamp,
                        count: TIMESTAMP_COUNT,
                    }),
                    resolve: device.create_buffer(&wg::BufferDescriptor {
                        label: Some("augkit timestamp resolve"),
                        size: bytes,
                        usage: wg::BufferUsages::QUERY_RESOLVE | wg::BufferUsages::COPY_SRC,
                        mapped_at_creation: false,
                    }),
                    staging: device.create_buffer(&wg::BufferDescriptor {
                        label: Some("augkit timestamp staging"),
                        size: bytes,
                        usage: wg::BufferUsages::MAP_READ | wg::BufferUsages::COPY_DST,
                        mapped_at_creation: false,
                    }),
                    inside_passes: gpu
                        .features
                        .contains(wg::Features::TIMESTAMP_QUERY_INSIDE_PASSES),
                    period_ns: gpu.queue.get_timestamp_period(),
                }),
                String::new(),
            )
        };

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

    /// Output element bytes on the device for `batch` samples.
    fn image_bytes(&self, batch: u32) -> u64 {
        let elements = u64::from(batch) * u64::from(self.resident.image_elems);
        if self.plan.kernel.out_dtype == DTYPE_F32 {
            elements * 4
        } else {
            elements.div_ceil(2) * 4
        }
    }

    /// The pixel pass's output windows for `capacity` samples: each fits one
    /// storage binding (`image_binding`) once its start is aligned down to
    /// `min_storage_buffer_offset_alignment`; f32 windows hold whole samples,
    /// packed ones whole words.
    fn windows(&self, capacity: u32) -> Result<Vec<Window>, Error> {
        let align = u64::from(self.gpu.limits.min_storage_buffer_offset_alignment).max(4);
        // Bytes a window's own words may fill: the aligned-down start costs
        // up to `align - 4` bytes of the binding.
        let room = (self.image_binding + 4).saturating_sub(align);
        let elems = u64::from(self.resident.image_elems);
        let cap = u64::from(capacity);
        let f32_out = self.plan.kernel.out_dtype == DTYPE_F32;
        let total_words = if f32_out {
            cap * elems
        } else {
            (cap * elems).div_ceil(2)
        };
        if total_words > u64::from(u32::MAX) {
            return Err(Error::TooLarge {
                what: "the step's images (u32 word addressing)",
                bytes: total_words * 4,
                limit: u64::from(u32::MAX) * 4,
            });
        }
        // (first word, end word, first unit, end unit) per window.
        let mut spans = Vec::new();
        if f32_out {
            let sample_bytes = elems * 4;
            let samples = room / sample_bytes;
            if samples == 0 {
                return Err(Error::TooLarge {
                    what: "one output image (a binding holds whole images)",
                    bytes: sample_bytes,
                    limit: room,
                });
            }
            let plane = self.plan.dataset.shape().pixels() as u64;
            for k in 0..cap.div_ceil(samples).max(1) {
                let s0 = k * samples;
                let s1 = cap.min(s0 + samples);
                spans.push((s0 * elems, s1 * elems, s0 * plane, s1 * plane));
            }
        } else {
            let words = room / 4;
            if words == 0 {
                return Err(Error::TooLarge {
                    what: "an output binding (below the offset alignment)",
                    bytes: align,
                    limit: self.image_binding,
                });
            }
            for k in 0..total_words.div_ceil(words).max(1) {
                let w0 = k * words;
                let w1 = total_words.min(w0 + words);
                spans.push((w0, w1, w0, w1));
            }
        }
        Ok(spans
            .into_iter()
            .map(|(w0, w1, first_unit, end_unit)| {
                let offset = w0 * 4 / align * align;
                Window {
                    first_unit,
                    end_unit,
                    offset,
                    size: (w1 * 4 - offset).max(4),
                }
            })
            .collect())
    }

    fn ensure_capacity(&mut self, batch: u32) -> Result<(), Error> {
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
        // Contrast means, then `synth_components` coefficients per sample.
        let means_bytes =
            u64::from(capacity) * (1 + u64::from(self.plan.kernel.synth_components)) * 4;
        // The images are bound a window at a time (see `windows`); the
        // per-sample buffers are read across the batch (a mixed sample reads
        // its partner's parameters and mean), so each is one binding.
        for (what, bytes) in [
            ("the step's parameters", params_bytes),
            (
                "the step's contrast means and synthetic coefficients",
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
        let means = storage("augkit contrast means, synthetic coefficients", means_bytes);
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
                        binding: 0,
                        resource: whole(&self.policy_buf),
                    },
                    wg::BindGroupEntry {
                        binding: 1,
                        resource: whole(&self.resident_buf),
                    },
                    wg::BindGroupEntry {
                        binding: 2,
                        resource: whole(&self.meta_buf),
                    },
                ];
                for (i, b) in self.data_bufs.iter().enumerate() {
                    entries.push(wg::BindGroupEntry {
                        binding: 3 + i as u32,
                        resource: whole(b),
                    });
                }
                for (binding, b) in [(6, &params), (7, &labels), (8, &means)] {
                    entries.push(wg::BindGroupEntry {
                        binding,
                        resource: whole(b),
                    });
                }
                entries.push(wg::BindGroupEntry {
                    binding: 9,
                    resource: wg::BindingResource::Buffer(wg::BufferBinding {
                        buffer: &images,
                        offset: w.offset,
                        size: wg::BufferSize::new(w.size),
                    }),
                });
                if let Some(s) = &step_buf {
                    entries.push(wg::BindGroupEntry {
                        binding: 10,
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

    /// A 2-D grid of `groups` workgroups within the per-dimension cap.
    fn grid(&self, groups: u32) -> Result<(u32, u32), Error> {
        let max = self.gpu.limits.max_compute_workgroups_per_dimension;
        if groups <= max {
            return Ok((groups, 1));
        }
        let y = groups.div_ceil(max);
        if y > max {
            return Err(Error::TooLarge {
                what: "the step's dispatch (workgroups)",
                bytes: u64::from(groups),
                limit: u64::from(max) * u64::from(max),
            });
        }
        Ok((max, y))
    }

    /// Records and submits one step (all passes, or the parameters pass
    /// only); returns without waiting. Sends only the step arguments: once,
    /// plus each further output window's `out_first`/`out_base` (8 bytes as
    /// immediates; a whole 32-byte StepArgs at its dynamic offset otherwise).
    fn submit(&mut self, step: Step, params_only: bool) -> Result<(), Error> {
        let args = self.plan.step_args(step)?;
        self.gpu.check()?;
        self.ensure_capacity(args.batch_size)?;
        let batch = args.batch_size;
        let contrast = self.pipelines.contrast.as_ref().filter(|_| !params_only);
        let params_grid = self.grid(batch.div_ceil(PARAMS_WORKGROUP))?;
        let contrast_grid = self.grid(batch)?;
        let units = if self.plan.kernel.out_dtype == DTYPE_F32 {
            u64::from(batch) * self.plan.dataset.shape().pixels() as u64
        } else {
            (u64::from(batch) * u64::from(self.resident.image_elems)).div_ceil(2)
        };
        let outputs = self.outputs.as_ref().expect("capacity ensured");
        // (window, its StepArgs, its grid) for each pixel dispatch.
        let mut pixel_dispatches = Vec::new();
        for (k, w) in outputs.windows.iter().enumerate() {
            if w.first_unit >= units && k > 0 {
                break;
            }
            let groups = (units.min(w.end_unit) - w.first_unit.min(units))
                .div_ceil(u64::from(PIXEL_WORKGROUP));
            if groups > u64::from(u32::MAX) {
                return Err(Error::TooLarge {
                    what: "the step's dispatch (workgroups)",
                    bytes: groups,
                    limit: u64::from(u32::MAX),
                });
            }
            let mut window_args = args;
            window_args.out_first = w.first_unit as u32;
            window_args.out_base = (w.offset / 4) as u32;
            pixel_dispatches.push((k, window_args, self.grid(groups as u32)?));
        }

        let mut uploaded = 0u64;
        if let Some(buf) = &outputs.step_buf {
            let count = if params_only {
                1
            } else {
                pixel_dispatches.len()
            };
            for (k, window_args, _) in &pixel_dispatches[..count] {
                let at = *k as u64 * outputs.step_stride;
                self.gpu
                    .queue
                    .write_buffer(buf, at, bytemuck::bytes_of(window_args));
                uploaded += size_of::<StepArgs>() as u64;
            }
        }
        let dynamic = |k: usize| -> Vec<u32> {
            if outputs.step_buf.is_some() {
                vec![(k as u64 * outputs.step_stride) as u32]
            } else {
                Vec::new()
            }
        };
        let mut encoder = self
            .gpu
            .device
            .create_command_encoder(&wg::CommandEncoderDescriptor {
                label: Some("augkit step"),
            });
        let ts = self.timestamps.as_ref();
        {
            let mut pass = encoder.begin_compute_pass(&wg::ComputePassDescriptor {
                label: Some("augkit step"),
                timestamp_writes: ts.filter(|t| !t.inside_passes).map(|t| {
                    wg::ComputePassTimestampWrites {
                        query_set: &t.set,
                        beginning_of_pass_write_index: Some(0),
                        end_of_pass_write_index: Some(TIMESTAMP_COUNT - 1),
                    }
                }),
            });
            let stamp = |pass: &mut wg::ComputePass<'_>, index: u32| {
                if let Some(t) = ts.filter(|t| t.inside_passes) {
                    pass.write_timestamp(&t.set, index);
                }
            };
            // Window 0's StepArgs are the step's own (out_first = out_base = 0).
            let first_args = pixel_dispatches[0].1;
            pass.set_bind_group(0, &outputs.bind_groups[0], &dynamic(0));
            pass.set_pipeline(&self.pipelines.params);
            if self.immediates {
                // One layout for all pipelines: these survive the switches.
                pass.set_immediates(0, bytemuck::bytes_of(&first_args));
                uploaded += size_of::<StepArgs>() as u64;
            }
            stamp(&mut pass, 0);
            pass.dispatch_workgroups(params_grid.0, params_grid.1, 1);
            stamp(&mut pass, 1);
            if let Some(contrast) = contrast {
                pass.set_pipeline(contrast);
                pass.dispatch_workgroups(contrast_grid.0, contrast_grid.1, 1);
            }
            stamp(&mut pass, 2);
            if !params_only {
                pass.set_pipeline(&self.pipelines.pixel);
                for (k, window_args, grid) in &pixel_dispatches {
                    if *k > 0 {
                        pass.set_bind_group(0, &outputs.bind_groups[*k], &dynamic(*k));
                        if self.immediates {
                            // The window's two words, contiguous at the end of StepArgs.
                            let at = std::mem::offset_of!(StepArgs, out_first);
                            let window = &bytemuck::bytes_of(window_args)[at..];
                            pass.set_immediates(at as u32, window);
                            uploaded += window.len() as u64;
                        }
                    }
                    pass.dispatch_workgroups(grid.0, grid.1, 1);
                }
            }
            stamp(&mut pass, 3);
        }
        if let Some(t) = ts {
            encoder.resolve_query_set(&t.set, 0..TIMESTAMP_COUNT, &t.resolve, 0);
            encoder.copy_buffer_to_buffer(&t.resolve, 0, &t.staging, 0, None);
        }
        self.gpu.queue.submit([encoder.finish()]);
        self.step_upload_bytes = uploaded;
        self.total_upload_bytes += uploaded;
        self.pixel_dispatches = if params_only {
            0
        } else {
            pixel_dispatches.len() as u32
        };
        self.last = Some((step, params_only));
        Ok(())
    }

    /// Copies `regions` (source buffer, source offset, byte length) into the
    /// staging buffer at 256-byte aligned offsets, maps it, hands each
    /// region's bytes to `f`.
    fn read_regions(
        &self,
        regions: &[(&wg::Buffer, u64, u64)],
        mut f: impl FnMut(usize, &[u8]),
    ) -> Result<(), Error> {
        let outputs = self
            .outputs
            .as_ref()
            .ok_or_else(|| Error::Device("nothing to read back: no step has run".into()))?;
        let mut encoder = self
            .gpu
            .device
            .create_command_encoder(&wg::CommandEncoderDescriptor {
                label: Some("augkit read back"),
            });
        let mut offsets = Vec::with_capacity(regions.len());
        let mut at = 0u64;
        for &(src, from, bytes) in regions {
            offsets.push(at);
            encoder.copy_buffer_to_buffer(src, from, &outputs.staging, at, bytes);
            at = align_up(at + bytes, 256);
        }
        self.gpu.queue.submit([encoder.finish()]);
        let slice = outputs.staging.slice(0..at.max(256));
        let mapped = Arc::new(Mutex::new(None));
        let done = mapped.clone();
        slice.map_async(wg::MapMode::Read, move |r| {
            *done.lock().unwrap() = Some(r);
        });
        self.gpu.wait()?;
        match mapped.lock().unwrap().take() {
            Some(Ok(())) => {}
            Some(Err(e)) => return Err(Error::Device(format!("map for read back: {e}"))),
            None => return Err(Error::Device("read back never mapped".into())),
        }
        {
            let view = slice
                .get_mapped_range()
                .map_err(|e| Error::Device(format!("mapped range: {e}")))?;
            for (i, (&(_, _, bytes), &offset)) in regions.iter().zip(&offsets).enumerate() {
                f(i, &view[offset as usize..(offset + bytes) as usize]);
            }
        }
        outputs.staging.unmap();
        Ok(())
    }

    fn last_step(&self, need_pixels: bool) -> Result<Step, Error> {
        match self.last {
            Some((step, params_only)) if !(need_pixels && params_only) => Ok(step),
            _ => Err(Error::Device(
                "nothing to read back: run a step first (DeviceBackend::run)".into(),
            )),
        }
    }

    /// Why [`last_timings`](Self::last_timings) gives `None`, if it does.
    pub fn timestamp_support(&self) -> Result<(), String> {
        match self.timestamps {
            Some(_) => Ok(()),
            None => Err(self.timestamp_reason.clone()),
        }
    }

    /// GPU time per pass of the last step (waits for it). `None` when the
    /// device has no timestamp queries or they were not requested (see
    /// [`timestamp_support`](Self::timestamp_support)). Without
    /// `TIMESTAMP_QUERY_INSIDE_PASSES` only the total is known.
    pub fn last_timings(&self) -> Result<Option<PassTimings>, Error> {
        let Some(t) = &self.timestamps else {
            return Ok(None);
        };
        let (_, params_only) = self
            .last
            .ok_or_else(|| Error::Device("no step has run".into()))?;
        let slice = t.staging.slice(..);
        let mapped = Arc::new(Mutex::new(None));
        let done = mapped.clone();
        slice.map_async(wg::MapMode::Read, move |r| {
            *done.lock().unwrap() = Some(r);
        });
        self.gpu.wait()?;
        if !matches!(mapped.lock().unwrap().take(), Some(Ok(()))) {
            return Err(Error::Device("timestamp read back failed".into()));
        }
        let ticks: Vec<u64> = {
            let view = slice
                .get_mapped_range()
                .map_err(|e| Error::Device(format!("mapped range: {e}")))?;
            view.chunks_exact(8)
                .map(|b| u64::from_le_bytes(b.try_into().unwrap()))
                .collect()
        };
        t.staging.unmap();
        let ns =
            |a: usize, b: usize| ticks[b].wrapping_sub(ticks[a]) as f64 * f64::from(t.period_ns);
        let last = TIMESTAMP_COUNT as usize - 1;
        Ok(Some(if t.inside_passes {
            PassTimings {
                params_ns: Some(ns(0, 1)),
                contrast_ns: Some(ns(1, 2)),
                pixel_ns: (!params_only).then(|| ns(2, 3)),
                total_ns: ns(0, last),
            }
        } else {
            PassTimings {
                params_ns: None,
                contrast_ns: None,
                pixel_ns: None,
                total_ns: ns(0, last),
            }
        }))
    }

    /// The compiled policy the kernels read.
    pub fn kernel_policy(&self) -> &KernelPolicy {
        &self.plan.kernel
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
        mut images: HostImages<'_>,
        labels: &mut [MixLabel],
    ) -> Result<(), Error> {
        self.plan.check_outputs(step, &images, labels)?;
        self.run(step)?;
        self.read_back(&mut images, labels)
    }
}

impl DeviceBackend for WgpuBackend {
    /// Only the step's [`StepArgs`] cross; the images, labels and parameters
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
        let step = self.last_step(true)?;
        self.plan.check_outputs(step, images, labels)?;
        let outputs = self.outputs.as_ref().expect("a step ran");
        let image_bytes = self.image_bytes(step.batch_size);
        let label_bytes = u64::from(step.batch_size) * size_of::<MixLabel>() as u64;
        let (images_buf, labels_buf) = (&outputs.images, &outputs.labels);
        self.read_regions(
            &[(images_buf, 0, image_bytes), (labels_buf, 0, label_bytes)],
            |region, bytes| {
                if region == 1 {
                    for (l, b) in labels.iter_mut().zip(bytes.chunks_exact(12)) {
                        *l = bytemuck::pod_read_unaligned(b);
                    }
                    return;
                }
                match images {
                    HostImages::F32(out) => {
                        for (o, b) in out.iter_mut().zip(bytes.chunks_exact(4)) {
                            *o = f32::from_le_bytes(b.try_into().unwrap());
                        }
                    }
                    HostImages::F16(out) => {
                        for (o, b) in out.iter_mut().zip(bytes.chunks_exact(2)) {
                            *o = half::f16::from_bits(u16::from_le_bytes([b[0], b[1]]));
                        }
                    }
                    HostImages::Bf16(out) => {
                        for (o, b) in out.iter_mut().zip(bytes.chunks_exact(2)) {
                            *o = half::bf16::from_bits(u16::from_le_bytes([b[0], b[1]]));
                        }
                    }
                }
            },
        )
    }
}

impl Inspect for WgpuBackend {
    fn last_params(&self) -> Result<Vec<SampleParams>, Error> {
        let step = self.last_step(false)?;
        let outputs = self.outputs.as_ref().expect("a step ran");
        let bytes = u64::from(step.batch_size) * size_of::<SampleParams>() as u64;
        let mut params = Vec::new();
        self.read_regions(&[(&outputs.params, 0, bytes)], |_, b| {
            params = b
                .chunks_exact(size_of::<SampleParams>())
                .map(bytemuck::pod_read_unaligned)
                .collect();
        })?;
        Ok(params)
    }

    fn last_contrast_means(&self) -> Result<Vec<f32>, Error> {
        let step = self.last_step(true)?;
        let outputs = self.outputs.as_ref().expect("a step ran");
        let mut means = vec![0.0; step.batch_size as usize];
        if self.plan.kernel.jitter_ops & (1 << OP_CONTRAST) == 0 {
            return Ok(means);
        }
        self.read_regions(
            &[(&outputs.means, 0, u64::from(step.batch_size) * 4)],
            |_, b| {
                for (m, w) in means.iter_mut().zip(b.chunks_exact(4)) {
                    *m = f32::from_le_bytes(w.try_into().unwrap());
                }
            },
        )?;
        Ok(means)
    }

    fn last_synth_coefficients(&self) -> Result<Vec<f32>, Error> {
        let step = self.last_step(false)?;
        let outputs = self.outputs.as_ref().expect("a step ran");
        let batch = u64::from(step.batch_size);
        let count = batch * u64::from(self.plan.kernel.synth_components);
        let mut coefficients = vec![0.0; count as usize];
        if count == 0 {
            return Ok(coefficients);
        }
        // They follow the step's contrast means (see the shader's `coefficient_at`).
        self.read_regions(&[(&outputs.means, batch * 4, count * 4)], |_, b| {
            for (a, w) in coefficients.iter_mut().zip(b.chunks_exact(4)) {
                *a = f32::from_le_bytes(w.try_into().unwrap());
            }
        })?;
        Ok(coefficients)
    }
}
