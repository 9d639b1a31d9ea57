//! What augmentation costs, per backend, technique and batch size, beside
//! the floor for the same bytes (a plain u8 → f32 normalise on the CPU).
//! Run: `cargo bench --bench augment` (all), `cargo bench -- cpu` (CPU only).
//! Reports images/s; the ratio to the floor is printed after each group.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use augkit::cpu::CpuBackend;
use augkit::{Backend, Dataset, HostImages, ImageShape, MixLabel, Policy, Step};
use criterion::{BenchmarkId, Criterion, Throughput};

const CIFAR_MEAN: [f32; 3] = [0.4914, 0.4822, 0.4465];
const CIFAR_STD: [f32; 3] = [0.2470, 0.2435, 0.2616];

fn dataset(shape: ImageShape, n: usize) -> Arc<Dataset> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let pixels = (0..n * shape.elements())
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    let labels = (0..n as u32).map(|i| i % 10).collect();
    Arc::new(Dataset::new(shape, pixels, labels, 10).unwrap())
}

/// The techniques benchmarked: each alone, then the full pipeline.
pub fn techniques() -> Vec<(&'static str, Policy)> {
    let norm = "[output]\nmean = [0.4914, 0.4822, 0.4465]\nstd = [0.2470, 0.2435, 0.2616]\n";
    let with = |body: &str| Policy::from_toml_str(&format!("{body}\n{norm}")).unwrap();
    vec![
        ("identity", with("")),
        ("crop", with("[crop]\nkind = \"pad\"\npadding = 4")),
        ("flip", with("horizontal_flip = 0.5")),
        (
            "affine",
            with("[affine]\ndegrees = 15.0\ntranslate = [0.1, 0.1]"),
        ),
        (
            "jitter",
            with("[color_jitter]\nbrightness = 0.4\ncontrast = 0.4\nsaturation = 0.4\nhue = 0.1"),
        ),
        ("mixup", with("[mix]\nmixup_alpha = 1.0")),
        ("cutmix", with("[mix]\ncutmix_alpha = 1.0")),
        (
            "full",
            with(
                "horizontal_flip = 0.5\n[crop]\nkind = \"pad\"\npadding = 4\n[affine]\ndegrees = 15.0\ntranslate = [0.1, 0.1]\n[color_jitter]\nbrightness = 0.4\ncontrast = 0.4\nsaturation = 0.4\nhue = 0.1\n[mix]\ncutmix_alpha = 1.0",
            ),
        ),
    ]
}

/// The floor: u8 → f32 normalise of the same batch (gathered by index).
fn normalise_floor(data: &Dataset, indices: &[u32], out: &mut [f32]) {
    use rayon::prelude::*;
    let e = data.shape().elements();
    let plane = data.shape().pixels();
    out.par_chunks_mut(e)
        .zip(indices.par_iter())
        .for_each(|(chunk, &i)| {
            for (j, (o, &v)) in chunk.iter_mut().zip(data.image(i as usize)).enumerate() {
                let c = j / plane;
                *o = (f32::from(v) / 255.0 - CIFAR_MEAN[c]) / CIFAR_STD[c];
            }
        });
}

/// Whether a bench filter given on the command line selects `name` (the
/// extra timings printed beside criterion's follow its filter too).
fn wanted(name: &str) -> bool {
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str()))
}

fn median_time(mut f: impl FnMut(), runs: usize) -> Duration {
    f();
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    times[runs / 2]
}

fn cpu(c: &mut Criterion) {
    let shape = ImageShape::new(3, 32, 32).unwrap();
    let data = dataset(shape, 4096);
    let testing = std::env::args().any(|a| a == "--test");
    for batch in [64u32, 1024] {
        let group_name = format!("cpu/32x32x3/b{batch}");
        if !wanted(&group_name) {
            continue;
        }
        let mut group = c.benchmark_group(group_name);
        group.throughput(Throughput::Elements(u64::from(batch)));
        let step = Step {
            epoch: 0,
            first_position: 0,
            batch_size: batch,
        };
        let mut out = vec![0f32; batch as usize * shape.elements()];
        let mut labels = vec![MixLabel::default(); batch as usize];
        let indices: Vec<u32> = (0..batch).collect();
        group.bench_function("floor_normalise", |b| {
            b.iter(|| normalise_floor(&data, &indices, black_box(&mut out)))
        });
        let floor = median_time(
            || normalise_floor(&data, &indices, &mut out),
            if testing { 1 } else { 15 },
        );
        for (name, policy) in techniques() {
            let mut backend =
                CpuBackend::new(&policy, 1, data.clone(), (0..4096).collect()).unwrap();
            group.bench_function(BenchmarkId::from_parameter(name), |b| {
                b.iter(|| {
                    backend
                        .augment_into(step, HostImages::F32(black_box(&mut out)), &mut labels)
                        .unwrap()
                })
            });
            let t = median_time(
                || {
                    backend
                        .augment_into(step, HostImages::F32(&mut out), &mut labels)
                        .unwrap()
                },
                if testing { 1 } else { 15 },
            );
            println!(
                "cpu b{batch} {name:>9}: {:>10.0} images/s, {:.2}× the normalise floor",
                f64::from(batch) / t.as_secs_f64(),
                t.as_secs_f64() / floor.as_secs_f64()
            );
        }
        group.finish();
    }
}

/// The wgpu backend on whatever adapter is present (lavapipe on a machine
/// without a GPU). Each timing waits for the device before the clock stops.
fn wgpu(c: &mut Criterion) {
    use augkit::wgpu_backend::{WgpuBackend, WgpuOptions};
    let shape = ImageShape::new(3, 32, 32).unwrap();
    let data = dataset(shape, 4096);
    let testing = std::env::args().any(|a| a == "--test");
    let options = WgpuOptions::default();
    for batch in [64u32, 1024] {
        let step = Step {
            epoch: 0,
            first_position: 0,
            batch_size: batch,
        };
        let group_name = format!("wgpu/32x32x3/b{batch}");
        if !wanted(&group_name) {
            continue;
        }
        let mut group = c.benchmark_group(group_name);
        group.throughput(Throughput::Elements(u64::from(batch)));
        if testing {
            group.sample_size(10);
        }
        for (name, policy) in techniques() {
            let mut backend =
                match WgpuBackend::new(&policy, 1, data.clone(), (0..4096).collect(), &options) {
                    Ok(b) => b,
                    Err(e) => {
                        println!("wgpu: no device ({e}); skipping the wgpu benches");
                        return;
                    }
                };
            if name == "identity" {
                println!("wgpu adapter: {}", backend.adapter());
            }
            let mut run = || {
                backend.run(step).unwrap();
                backend.wait().unwrap();
            };
            let t = median_time(&mut run, if testing { 1 } else { 9 });
            group.bench_function(BenchmarkId::from_parameter(name), |b| b.iter(&mut run));
            println!(
                "wgpu b{batch} {name:>9}: {:>10.0} images/s",
                f64::from(batch) / t.as_secs_f64()
            );
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
