//! augkit-measure: the bench matrix and timing helpers shared by `cargo bench`
//! (`benches/augment.rs`, `benches/cuda.rs`) and `augkit bench`: what each technique costs per
//! backend, batch size and image shape, beside the floor for the same bytes.
//! Device timings always wait for the device before the clock stops.

use std::sync::Arc;
use std::time::Instant;

pub mod cuda_buffers;

use augkit::cpu::CpuBackend;
use augkit::{Backend, BackendKind, DeviceBackend, HostImages, Step};
use augkit::{Dataset, ImageShape, MixLabel, Policy, SyntheticPool};

/// Batch sizes of the matrix.
pub const BATCHES: [u32; 4] = [64, 256, 1024, 4096];

/// Image shapes of the matrix: Fashion-MNIST, CIFAR-10 and ImageNet-sized.
pub fn shapes() -> [ImageShape; 3] {
    [
        ImageShape {
            channels: 1,
            height: 28,
            width: 28,
        },
        ImageShape {
            channels: 3,
            height: 32,
            width: 32,
        },
        ImageShape {
            channels: 3,
            height: 224,
            width: 224,
        },
    ]
}

/// The techniques, from `benches/pipelines/technique_*.toml` (embedded, so
/// the `augkit` binary needs no files): each alone, crop + flip (pipeline A),
/// then the full pipeline (pipeline E with rotation and translation), then
/// crop + flip + TrivialAugment-Wide and + RandAugment(2, 9), then crop +
/// flip drawing half its sources from the synthetic pool.
/// Normalised with per-channel statistics.
pub fn techniques(channels: u32) -> Vec<(&'static str, Policy)> {
    let norm = if channels == 3 {
        "[output]\nmean = [0.4914, 0.4822, 0.4465]\nstd = [0.2470, 0.2435, 0.2616]\n"
    } else {
        "[output]\nmean = [0.2860]\nstd = [0.3530]\n"
    };
    let with = |body: &str| {
        Policy::from_toml_str(&format!("{body}\n{norm}")).expect("bench policies are valid")
    };
    [
        (
            "identity",
            include_str!("../../benches/pipelines/technique_identity.toml"),
        ),
        (
            "crop",
            include_str!("../../benches/pipelines/technique_crop.toml"),
        ),
        (
            "flip",
            include_str!("../../benches/pipelines/technique_flip.toml"),
        ),
        (
            "crop_flip",
            include_str!("../../benches/pipelines/technique_crop_flip.toml"),
        ),
        (
            "affine",
            include_str!("../../benches/pipelines/technique_affine.toml"),
        ),
        (
            "jitter",
            include_str!("../../benches/pipelines/technique_jitter.toml"),
        ),
        (
            "mixup",
            include_str!("../../benches/pipelines/technique_mixup.toml"),
        ),
        (
            "cutmix",
            include_str!("../../benches/pipelines/technique_cutmix.toml"),
        ),
        (
            "synthetic",
            include_str!("../../benches/pipelines/technique_synthetic.toml"),
        ),
        (
            "erasing",
            include_str!("../../benches/pipelines/technique_erasing.toml"),
        ),
        (
            "full",
            include_str!("../../benches/pipelines/technique_full.toml"),
        ),
        (
            "trivialaugment",
            include_str!("../../benches/pipelines/technique_trivialaugment.toml"),
        ),
        (
            "randaugment",
            include_str!("../../benches/pipelines/technique_randaugment.toml"),
        ),
        (
            "pool",
            include_str!("../../benches/pipelines/technique_pool.toml"),
        ),
    ]
    .into_iter()
    .map(|(name, body)| (name, with(body)))
    .collect()
}

/// A seeded random dataset of `n` images (xorshift bytes, ten classes),
/// carrying a synthetic pool of `max(n / 2, 1)` more (for the `pool`
/// technique; the others never read it). Half, so the 224×224 set of 512
/// stays within one 128 MiB wgpu binding as it did without a pool.
pub fn bench_dataset(shape: ImageShape, n: usize) -> Arc<Dataset> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut bytes = |count: usize| -> Vec<u8> {
        (0..count)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect()
    };
    let pixels = bytes(n * shape.elements());
    let labels = (0..n as u32).map(|i| i % 10).collect();
    let pool_n = (n / 2).max(1);
    let pool_pixels = bytes(pool_n * shape.elements());
    let pool_labels = (0..pool_n as u32).map(|i| (i * 7) % 10).collect();
    let pool =
        SyntheticPool::new(shape, pool_pixels, pool_labels, 10).expect("bench pool is valid");
    let data = Dataset::new(shape, pixels, labels, 10)
        .and_then(|d| d.with_pool(pool))
        .expect("bench dataset is valid");
    Arc::new(data)
}

/// An epoch of `len` positions over a dataset of `n` images (indices repeat
/// when `len > n`, so large batches need no large dataset).
pub fn bench_subset(n: usize, len: u32) -> Vec<u32> {
    (0..len).map(|i| i % n as u32).collect()
}

/// Median wall time of `f` over `repeats` runs after one warm-up run.
pub fn median_seconds(repeats: usize, mut f: impl FnMut()) -> f64 {
    f();
    let mut times: Vec<f64> = (0..repeats.max(1))
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// The CPU floor: gather the same images by index and normalise u8 → f32,
/// in parallel over samples — the least any augmentation must do.
pub fn normalise_floor(
    dataset: &Dataset,
    indices: &[u32],
    mean: &[f32; 4],
    std: &[f32; 4],
    out: &mut [f32],
) {
    use rayon::prelude::*;
    let e = dataset.shape().elements();
    let plane = dataset.shape().pixels();
    out.par_chunks_mut(e)
        .zip(indices.par_iter())
        .for_each(|(chunk, &i)| {
            let image = dataset.image(i as usize);
            for (c, (o, px)) in chunk.chunks_mut(plane).zip(image.chunks(plane)).enumerate() {
                for (o, &v) in o.iter_mut().zip(px) {
                    *o = (f32::from(v) / 255.0 - mean[c]) / std[c];
                }
            }
        });
}

/// One cell of the matrix, as `augkit bench` writes it (JSON).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Measurement {
    pub backend: String,
    pub device: String,
    pub technique: String,
    /// [channels, height, width].
    pub shape: [u32; 3],
    pub batch: u32,
    pub repeats: usize,
    pub median_s: f64,
    pub images_per_s: f64,
    /// u8 bytes read plus f32 bytes written, per second.
    pub bytes_per_s: f64,
    /// The backend's floor for the same bytes, and this cell's time over it.
    pub floor_median_s: Option<f64>,
    pub ratio_to_floor: Option<f64>,
}

/// What a measurement is of.
pub struct Cell<'a> {
    pub backend: &'a str,
    pub device: &'a str,
    pub technique: &'a str,
    pub shape: ImageShape,
    pub batch: u32,
    pub repeats: usize,
}

impl Measurement {
    pub fn new(cell: Cell<'_>, median_s: f64, floor_median_s: Option<f64>) -> Self {
        let bytes = f64::from(cell.batch) * cell.shape.elements() as f64 * 5.0;
        Self {
            backend: cell.backend.into(),
            device: cell.device.into(),
            technique: cell.technique.into(),
            shape: [cell.shape.channels, cell.shape.height, cell.shape.width],
            batch: cell.batch,
            repeats: cell.repeats,
            median_s,
            images_per_s: f64::from(cell.batch) / median_s,
            bytes_per_s: bytes / median_s,
            floor_median_s,
            ratio_to_floor: floor_median_s.map(|f| median_s / f),
        }
    }
}

/// One cell to measure: a technique's policy on a dataset at a batch size.
pub struct Job<'a> {
    pub technique: &'a str,
    pub policy: &'a Policy,
    pub dataset: &'a Arc<Dataset>,
    pub batch: u32,
    /// Timed runs (the median is reported), after one warm-up.
    pub repeats: usize,
}

impl Job<'_> {
    /// The epoch the cell steps through.
    pub fn subset(&self) -> Vec<u32> {
        bench_subset(self.dataset.len(), self.batch)
    }

    /// The step the cell times.
    pub fn step(&self) -> Step {
        Step {
            epoch: 0,
            first_position: 0,
            batch_size: self.batch,
        }
    }

    /// Elements one step writes.
    pub fn output_elements(&self) -> usize {
        self.batch as usize * self.dataset.shape().elements()
    }

    fn measured(
        &self,
        backend: BackendKind,
        device: &str,
        median_s: f64,
        floor: Option<f64>,
    ) -> Measurement {
        Measurement::new(
            Cell {
                backend: backend.name(),
                device,
                technique: self.technique,
                shape: self.dataset.shape(),
                batch: self.batch,
                repeats: self.repeats,
            },
            median_s,
            floor,
        )
    }
}

/// [`median_seconds`] of a step that can fail: the first error is returned.
pub fn median_seconds_checked(
    repeats: usize,
    mut f: impl FnMut() -> Result<(), augkit::Error>,
) -> Result<f64, augkit::Error> {
    let mut result = Ok(());
    let median = median_seconds(repeats, || {
        if result.is_ok() {
            result = f();
        }
    });
    result.map(|()| median)
}

/// Times the CPU backend on one technique, beside the normalise floor.
pub fn measure_cpu(job: &Job<'_>) -> Result<Measurement, augkit::Error> {
    let subset = job.subset();
    let mut backend = CpuBackend::new(job.policy, 1, job.dataset.clone(), subset.clone())?;
    let mut out = vec![0f32; job.output_elements()];
    let mut labels = vec![MixLabel::default(); job.batch as usize];
    let median = median_seconds_checked(job.repeats, || {
        backend.augment_into(job.step(), HostImages::F32(&mut out), &mut labels)
    })?;
    let k = backend.plan().kernel();
    let floor = median_seconds(job.repeats, || {
        normalise_floor(job.dataset, &subset, &k.mean, &k.std, &mut out)
    });
    Ok(job.measured(
        BackendKind::Cpu,
        &backend.info().device,
        median,
        Some(floor),
    ))
}

/// Times the wgpu backend on one technique (run + wait), beside a device
/// buffer copy of the same output bytes.
pub fn measure_wgpu(job: &Job<'_>) -> Result<Measurement, augkit::Error> {
    use augkit::wgpu::{WgpuBackend, WgpuOptions};
    let options = WgpuOptions::default();
    let mut backend = WgpuBackend::new(job.policy, 1, job.dataset.clone(), job.subset(), &options)?;
    let median = median_seconds_checked(job.repeats, || {
        backend.run(job.step()).and_then(|()| backend.wait())
    })?;
    let bytes = job.output_elements() as u64 * job.policy.output.dtype.size_bytes() as u64;
    let floor = wgpu_copy_floor(backend.device(), bytes, job.repeats);
    Ok(job.measured(BackendKind::Wgpu, &backend.info().device, median, floor))
}

/// Median time of a device-side copy of `bytes` (None when the device
/// cannot hold the two buffers).
pub fn wgpu_copy_floor(gpu: &augkit::wgpu::WgpuDevice, bytes: u64, repeats: usize) -> Option<f64> {
    use ::wgpu as wg;
    let bytes = bytes.div_ceil(4) * 4;
    if bytes > gpu.limits.max_buffer_size {
        return None;
    }
    let make = |label| {
        gpu.device.create_buffer(&wg::BufferDescriptor {
            label: Some(label),
            size: bytes,
            usage: wg::BufferUsages::COPY_SRC | wg::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    };
    let (src, dst) = (make("floor-src"), make("floor-dst"));
    Some(median_seconds(repeats, || {
        let mut encoder = gpu
            .device
            .create_command_encoder(&wg::CommandEncoderDescriptor::default());
        encoder.copy_buffer_to_buffer(&src, 0, &dst, 0, bytes);
        gpu.queue.submit([encoder.finish()]);
        let _ = gpu.wait();
    }))
}

/// Times the CUDA backend on one technique: steps written into device
/// buffers on the backend's stream, timed with CUDA events (median over
/// `repeats` groups of 20 steps), beside a device-to-device copy of the same
/// output bytes timed the same way.
pub fn measure_cuda(job: &Job<'_>) -> Result<Measurement, augkit::Error> {
    use augkit::cuda::{CudaBackend, CudaOptions};
    let (policy, batch) = (job.policy, job.batch);
    let options = CudaOptions {
        max_batch: batch,
        ..CudaOptions::default()
    };
    let mut backend = CudaBackend::new(policy, 1, job.dataset.clone(), job.subset(), &options)?;
    // SAFETY: constructing the backend made its (primary) context current.
    let buffers = unsafe {
        cuda_buffers::StepBuffers::new(batch, job.dataset.shape().elements(), policy.output.dtype)
    }?;
    let outputs = buffers.outputs;
    let step = job.step();
    let stream = backend.stream();
    let timed = |f: &mut dyn FnMut() -> Result<(), augkit::Error>| -> Result<f64, augkit::Error> {
        const ITERS: u32 = 20;
        f()?;
        let mut groups = Vec::new();
        for _ in 0..job.repeats.max(1) {
            // SAFETY: the backend's live stream of its current context; `f`
            // queues only work valid on it.
            groups.push(unsafe { augkit::cuda::events::time_per_call(stream, ITERS, &mut *f) }?);
        }
        groups.sort_by(f64::total_cmp);
        Ok(groups[groups.len() / 2])
    };
    let median = timed(&mut || {
        // SAFETY: `outputs` are live device allocations of the stated sizes,
        // used by nothing else while the stream runs the step.
        unsafe { backend.run_into(step, outputs) }
    });
    let floor = timed(&mut || {
        // SAFETY: the backend's live stream of its current context.
        unsafe { buffers.copy_floor(stream) }
    });
    // The buffers drop after the stream is idle.
    let _ = backend.wait();
    Ok(job.measured(
        BackendKind::Cuda,
        &backend.info().device,
        median?,
        Some(floor?),
    ))
}
