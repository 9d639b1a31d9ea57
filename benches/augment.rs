//! What augmentation costs, per backend × technique × batch size × image
//! shape, beside each backend's floor for the same bytes (CPU: a plain
//! u8 → f32 normalise; wgpu: a device buffer copy; CUDA: a device-to-device
//! copy). Reports images/s, µs per image and bytes/s, and each cell's
//! ratio to its floor. Device timings wait for the device; without a
//! device a backend's group prints why and is skipped. `benches/cuda.rs`
//! adds CUDA dtype and layout cases.
//!
//! Run: `cargo bench --bench augment` (everything), `cargo bench -- cpu/`
//! or `-- wgpu/32x32x3` (a filter). `cargo bench -- --test` runs each cell
//! once, leaving out cells above 10 M output elements to keep CI short.

use std::hint::black_box;
use std::time::Duration;

use augkit::{Backend, BackendKind, DeviceBackend, HostImages, ImageShape, MixLabel};
use augkit_measure::{self as measure, BATCHES, Measurement};
use criterion::{BenchmarkId, Criterion, Throughput};

fn testing() -> bool {
    std::env::args().any(|a| a == "--test")
}

/// Whether a bench filter given on the command line selects `name`.
fn wanted(name: &str) -> bool {
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str()))
}

fn shape_name(s: ImageShape) -> String {
    format!("{}x{}x{}", s.height, s.width, s.channels)
}

/// The cells a run covers: all of them, or in `--test` mode those small
/// enough to run once each within CI's budget.
fn cells() -> Vec<(ImageShape, u32)> {
    let mut cells = Vec::new();
    for shape in measure::shapes() {
        for batch in BATCHES {
            if testing() && batch as usize * shape.elements() > 10_000_000 {
                println!(
                    "{} b{batch}: left out in --test mode (over 10 M elements)",
                    shape_name(shape)
                );
                continue;
            }
            cells.push((shape, batch));
        }
    }
    cells
}

fn report(m: &Measurement) {
    let ratio = m
        .ratio_to_floor
        .map_or("no floor".to_string(), |r| format!("{r:.2}× the floor"));
    println!(
        "{:>4} {:>11} b{:<5} {:>9}: {:>10.0} images/s {:>9.2} µs/image {:>8.2} GB/s  {ratio}",
        m.backend,
        format!("{}x{}x{}", m.shape[1], m.shape[2], m.shape[0]),
        m.batch,
        m.technique,
        m.images_per_s,
        1e6 / m.images_per_s,
        m.bytes_per_s / 1e9
    );
}

/// Bytes one step moves at the least: the u8 source read and the f32
/// output written (the `bytes_per_s` of `augkit_measure::Measurement`), so
/// criterion's GB/s reads beside the floor's.
fn step_bytes(shape: ImageShape, batch: u32) -> u64 {
    u64::from(batch) * shape.elements() as u64 * (1 + 4)
}

fn configure(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    shape: ImageShape,
    batch: u32,
) {
    group.throughput(Throughput::Bytes(step_bytes(shape, batch)));
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(2));
}

/// A backend's step runner for criterion: one call = one synchronised step.
type Runner = Box<dyn FnMut()>;

/// One backend's share of the matrix: per cell, our median with its floor
/// ratio (printed) and criterion's own measurement.
fn backend_group(
    c: &mut Criterion,
    backend: BackendKind,
    repeats: usize,
    measure: fn(&measure::Job<'_>) -> Result<Measurement, augkit::Error>,
    runner: fn(&measure::Job<'_>) -> Result<Runner, augkit::Error>,
) {
    for (shape, batch) in cells() {
        let name = format!("{backend}/{}/b{batch}", shape_name(shape));
        if !wanted(&name) {
            continue;
        }
        let data = measure::bench_dataset(shape, 512);
        let mut group = c.benchmark_group(&name);
        configure(&mut group, shape, batch);
        for (technique, policy) in measure::techniques(shape.channels) {
            let job = measure::Job {
                technique,
                policy: &policy,
                dataset: &data,
                batch,
                repeats,
            };
            let mut run = match runner(&job) {
                Ok(run) => run,
                Err(augkit::Error::Unavailable(why)) => {
                    println!("{backend}: no device ({why}); skipping the {backend} benches");
                    return;
                }
                Err(e) => {
                    println!("{name}/{technique}: skipped: {e}");
                    continue;
                }
            };
            match measure(&job) {
                Ok(m) => report(&m),
                Err(e) => println!("{name}/{technique}: {e}"),
            }
            group.bench_function(BenchmarkId::from_parameter(technique), |b| b.iter(&mut run));
        }
        group.finish();
    }
}

fn cpu_runner(job: &measure::Job<'_>) -> Result<Runner, augkit::Error> {
    let mut backend =
        augkit::cpu::CpuBackend::new(job.policy, 1, job.dataset.clone(), job.subset())?;
    let step = job.step();
    let mut out = vec![0f32; job.output_elements()];
    let mut labels = vec![MixLabel::default(); job.batch as usize];
    Ok(Box::new(move || {
        backend
            .augment_into(step, HostImages::F32(black_box(&mut out)), &mut labels)
            .unwrap()
    }))
}

fn wgpu_runner(job: &measure::Job<'_>) -> Result<Runner, augkit::Error> {
    use augkit::wgpu::{WgpuBackend, WgpuOptions};
    let options = WgpuOptions::default();
    let mut backend = WgpuBackend::new(job.policy, 1, job.dataset.clone(), job.subset(), &options)?;
    static ANNOUNCED: std::sync::Once = std::sync::Once::new();
    ANNOUNCED.call_once(|| println!("wgpu adapter: {}", backend.info().device));
    let step = job.step();
    Ok(Box::new(move || {
        backend.run(step).unwrap();
        backend.wait().unwrap();
    }))
}

fn cuda_runner(job: &measure::Job<'_>) -> Result<Runner, augkit::Error> {
    use augkit::cuda::{CudaBackend, CudaOptions};
    if !augkit::cuda::driver_present() {
        return Err(augkit::Error::Unavailable(
            "no CUDA device (libcuda not found)".into(),
        ));
    }
    let options = CudaOptions {
        max_batch: job.batch,
        ..CudaOptions::default()
    };
    let mut backend = CudaBackend::new(job.policy, 1, job.dataset.clone(), job.subset(), &options)
        .map_err(|e| augkit::Error::Unavailable(e.to_string()))?;
    let step = job.step();
    let mut out = vec![0f32; job.output_elements()];
    let mut labels = vec![MixLabel::default(); job.batch as usize];
    // Through the Backend trait: kernels into the backend's own device
    // buffers, then the copy back; `measure_cuda` times the device-only step.
    Ok(Box::new(move || {
        backend
            .augment_into(step, HostImages::F32(black_box(&mut out)), &mut labels)
            .unwrap()
    }))
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let repeats = if testing() { 1 } else { 7 };
    backend_group(
        &mut c,
        BackendKind::Cpu,
        repeats,
        measure::measure_cpu,
        cpu_runner,
    );
    backend_group(
        &mut c,
        BackendKind::Wgpu,
        repeats,
        measure::measure_wgpu,
        wgpu_runner,
    );
    backend_group(
        &mut c,
        BackendKind::Cuda,
        repeats,
        measure::measure_cuda,
        cuda_runner,
    );
    c.final_summary();
}
