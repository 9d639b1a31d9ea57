//! What augmentation costs, per backend × technique × batch size × image
//! shape, beside each backend's floor for the same bytes (CPU: a plain
//! u8 → f32 normalise; wgpu: a device buffer copy; CUDA: `benches/cuda.rs`,
//! a device-to-device copy). Reports images/s and bytes/s, and prints each
//! cell's ratio to its floor. Device timings wait for the device.
//!
//! Run: `cargo bench --bench augment` (everything), `cargo bench -- cpu/`
//! or `-- wgpu/32x32x3` (a filter). `cargo bench -- --test` runs each cell
//! once, leaving out cells above 10 M output elements to keep CI short.

use std::hint::black_box;
use std::time::Duration;

use augkit::measure::{self, BATCHES, Measurement};
use augkit::{Backend, HostImages, ImageShape, MixLabel, Step};
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
        "{:>4} {:>11} b{:<5} {:>9}: {:>10.0} images/s {:>8.2} GB/s  {ratio}",
        m.backend,
        format!("{}x{}x{}", m.shape[1], m.shape[2], m.shape[0]),
        m.batch,
        m.technique,
        m.images_per_s,
        m.bytes_per_s / 1e9
    );
}

fn configure(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    batch: u32,
) {
    group.throughput(Throughput::Elements(u64::from(batch)));
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(2));
}

fn cpu(c: &mut Criterion) {
    let repeats = if testing() { 1 } else { 9 };
    for (shape, batch) in cells() {
        let name = format!("cpu/{}/b{batch}", shape_name(shape));
        if !wanted(&name) {
            continue;
        }
        let data = measure::bench_dataset(shape, 512);
        let mut group = c.benchmark_group(&name);
        configure(&mut group, batch);
        let step = Step {
            epoch: 0,
            first_position: 0,
            batch_size: batch,
        };
        let mut out = vec![0f32; batch as usize * shape.elements()];
        let mut labels = vec![MixLabel::default(); batch as usize];
        for (technique, policy) in measure::techniques(shape.channels) {
            match measure::measure_cpu(technique, &policy, &data, batch, repeats) {
                Ok(m) => report(&m),
                Err(e) => {
                    println!("{name}/{technique}: {e}");
                    continue;
                }
            }
            let subset = measure::bench_subset(data.len(), batch);
            let mut backend =
                augkit::cpu::CpuBackend::new(&policy, 1, data.clone(), subset).unwrap();
            group.bench_function(BenchmarkId::from_parameter(technique), |b| {
                b.iter(|| {
                    backend
                        .augment_into(step, HostImages::F32(black_box(&mut out)), &mut labels)
                        .unwrap()
                })
            });
        }
        group.finish();
    }
}

fn wgpu(c: &mut Criterion) {
    use augkit::wgpu_backend::{WgpuBackend, WgpuOptions};
    let repeats = if testing() { 1 } else { 5 };
    let mut announced = false;
    for (shape, batch) in cells() {
        let name = format!("wgpu/{}/b{batch}", shape_name(shape));
        if !wanted(&name) {
            continue;
        }
        let data = measure::bench_dataset(shape, 512);
        let mut group = c.benchmark_group(&name);
        configure(&mut group, batch);
        let step = Step {
            epoch: 0,
            first_position: 0,
            batch_size: batch,
        };
        for (technique, policy) in measure::techniques(shape.channels) {
            let subset = measure::bench_subset(data.len(), batch);
            let mut backend =
                match WgpuBackend::new(&policy, 1, data.clone(), subset, &WgpuOptions::default()) {
                    Ok(b) => b,
                    Err(augkit::Error::Unavailable(why)) => {
                        println!("wgpu: no device ({why}); skipping the wgpu benches");
                        return;
                    }
                    Err(e) => {
                        println!("{name}/{technique}: skipped: {e}");
                        continue;
                    }
                };
            if !announced {
                println!("wgpu adapter: {}", backend.adapter());
                announced = true;
            }
            match measure::measure_wgpu(technique, &policy, &data, batch, repeats) {
                Ok(m) => report(&m),
                Err(e) => println!("{name}/{technique}: {e}"),
            }
            group.bench_function(BenchmarkId::from_parameter(technique), |b| {
                b.iter(|| {
                    backend.run(step).unwrap();
                    backend.wait().unwrap();
                })
            });
        }
        group.finish();
    }
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    cpu(&mut c);
    wgpu(&mut c);
    c.final_summary();
}
