//! Times one augmentation policy on a random 32×32×3 u8 dataset, for
//! `scripts/bench-peers` (augkit against torchvision, kornia, albumentations
//! and timm).
//!
//! ```text
//! cargo run --release --example peer_pipelines -- \
//!     --policy benches/pipelines/e.toml --batch 1024 --repeats 20 --json
//! ```
//!
//! Each timed call is one `Backend::augment_into` of a whole batch (f32 NCHW
//! out, normalised, labels written) into preallocated host memory; the batch
//! walks through the epoch so every call reads different images. Warm-up
//! calls first, then `--repeats` timed calls; the figure is the median.
//! Threads: rayon's global pool (set `RAYON_NUM_THREADS`).
//!
//! Prints one JSON object per line with `--json`:
//! `{"backend":"cpu","pipeline":"e","batch":1024,"images_per_s":…,"threads":2,…}`.

use std::sync::Arc;
use std::time::Instant;

use augkit::wgpu::{WgpuBackend, WgpuOptions};
use augkit::{Backend, Dataset, HostImages, ImageShape, MixLabel, Policy, Step, cpu::CpuBackend};

struct Args {
    policy: String,
    batch: usize,
    repeats: usize,
    warmup: usize,
    images: usize,
    backend: String,
    seed: u64,
    json: bool,
}

fn usage() -> ! {
    eprintln!(
        "usage: peer_pipelines --policy FILE [--batch N] [--repeats R] [--warmup W] \
         [--images N] [--backend cpu|wgpu] [--seed S] [--json]"
    );
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut a = Args {
        policy: String::new(),
        batch: 1024,
        repeats: 10,
        warmup: 3,
        images: 8192,
        backend: "cpu".into(),
        seed: 0,
        json: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| usage());
        match flag.as_str() {
            "--policy" => a.policy = value(),
            "--batch" => a.batch = value().parse().unwrap_or_else(|_| usage()),
            "--repeats" => a.repeats = value().parse().unwrap_or_else(|_| usage()),
            "--warmup" => a.warmup = value().parse().unwrap_or_else(|_| usage()),
            "--images" => a.images = value().parse().unwrap_or_else(|_| usage()),
            "--backend" => a.backend = value(),
            "--seed" => a.seed = value().parse().unwrap_or_else(|_| usage()),
            "--json" => a.json = true,
            _ => usage(),
        }
    }
    if a.policy.is_empty() || a.batch == 0 || a.repeats == 0 {
        usage()
    }
    // At least 4096 images, and a whole number of batches so that every
    // step's `first_position + batch` stays inside the epoch.
    a.images = a.images.max(4096).max(a.batch).div_ceil(a.batch) * a.batch;
    a
}

/// A random dataset: xorshift64* bytes, labels mod 10.
fn random_dataset(n: usize, seed: u64) -> Dataset {
    let shape = ImageShape::new(3, 32, 32).expect("valid shape");
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move || {
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        s.wrapping_mul(0x2545_F491_4F6C_DD1D)
    };
    let mut pixels = Vec::with_capacity(n * shape.elements());
    while pixels.len() < n * shape.elements() {
        pixels.extend_from_slice(&next().to_le_bytes());
    }
    pixels.truncate(n * shape.elements());
    let labels = (0..n).map(|_| (next() % 10) as u32).collect();
    Dataset::new(shape, pixels, labels, 10).expect("valid dataset")
}

fn main() {
    let args = parse_args();
    let policy = Policy::from_file(&args.policy).unwrap_or_else(|e| {
        eprintln!("peer_pipelines: {e}");
        std::process::exit(1)
    });
    let name = std::path::Path::new(&args.policy)
        .file_stem()
        .map_or_else(|| args.policy.clone(), |s| s.to_string_lossy().into_owned());
    let data = Arc::new(random_dataset(args.images, args.seed));
    let subset: Vec<u32> = (0..args.images as u32).collect();
    let (mut backend, device): (Box<dyn Backend>, String) = match args.backend.as_str() {
        "cpu" => {
            let b = CpuBackend::new(&policy, 42, data, subset).expect("cpu backend");
            let d = b.info().device;
            (Box::new(b), d)
        }
        "wgpu" => {
            let b = WgpuBackend::new(&policy, 42, data, subset, &WgpuOptions::default())
                .unwrap_or_else(|e| {
                    eprintln!("peer_pipelines: no wgpu backend: {e}");
                    std::process::exit(3)
                });
            let d = b.info().device;
            (Box::new(b), d)
        }
        _ => usage(),
    };

    let per_image = 3 * 32 * 32;
    let mut out = vec![0f32; args.batch * per_image];
    let mut labels = vec![MixLabel::default(); args.batch];
    let steps_per_epoch = args.images / args.batch;
    let mut call = 0usize;
    let mut run = |out: &mut [f32], labels: &mut [MixLabel]| {
        let step = Step {
            epoch: (call / steps_per_epoch) as u32,
            first_position: ((call % steps_per_epoch) * args.batch) as u32,
            batch_size: args.batch as u32,
        };
        call += 1;
        let t = Instant::now();
        backend
            .augment_into(step, HostImages::F32(out), labels)
            .expect("augment_into");
        t.elapsed().as_secs_f64()
    };
    for _ in 0..args.warmup {
        run(&mut out, &mut labels);
    }
    let mut times: Vec<f64> = (0..args.repeats)
        .map(|_| run(&mut out, &mut labels))
        .collect();
    times.sort_by(|a, b| a.total_cmp(b));
    let median = if times.len() % 2 == 1 {
        times[times.len() / 2]
    } else {
        0.5 * (times[times.len() / 2 - 1] + times[times.len() / 2])
    };
    let ips = args.batch as f64 / median;
    // Keep the output alive so nothing is optimised away.
    let checksum: f64 = out.iter().step_by(997).map(|&v| v as f64).sum();
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "backend": args.backend,
                "pipeline": name,
                "batch": args.batch,
                "images_per_s": ips,
                "threads": rayon::current_num_threads(),
                "median_s": median,
                "min_s": times[0],
                "repeats": args.repeats,
                "warmup": args.warmup,
                "dataset_images": args.images,
                "device": device,
                "checksum": checksum,
            })
        );
    } else {
        println!(
            "{name} {} batch {}: {:.0} images/s (median {:.3} ms of {} calls, {} threads, {device})",
            args.backend,
            args.batch,
            ips,
            median * 1e3,
            args.repeats,
            rayon::current_num_threads()
        );
    }
}
