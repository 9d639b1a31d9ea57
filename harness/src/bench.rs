//! `augkit bench`: the augmentation bench matrix of `cargo bench`
//! (`augkit-measure`) from the harness binary, as JSON — so it runs where
//! there is no cargo (the `scripts/gpu-check` bundle) — and, with `--step`,
//! the augmentation share of a training step at batch 64 for ResNet-18 and
//! the simple CNN per backend.
//!
//! Everything that can be wrong is checked before the first measurement:
//! backend, technique and device names, the shapes and batch sizes against
//! the memory bounds below, and that `--out` and `--chart` can be written —
//! so a bad flag never costs a whole bench.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use serde::Serialize;
use tch::{Device, Kind, Tensor, nn, nn::OptimizerConfig};

use augkit::{BackendKind, ImageShape};
use augkit_measure::{self as measure, Measurement};

use crate::models::{self, InputShape, ModelKind};
use crate::read_limits::{FileKind, read_text};

/// Images in the generated data set each shape is measured on.
pub const BENCH_IMAGES: usize = 512;
/// Most bytes that data set may take (`--shapes`): 512 images of at most
/// 2,097,152 values each, e.g. 836×836×3 or 1448×1448×1.
pub const MAX_BENCH_DATASET_BYTES: u64 = 1 << 30;
/// Most bytes of one measured batch, as f32 (`--batches` × shape): the
/// largest default cell, 4096 × 224×224×3, is 2.5 GB.
pub const MAX_BENCH_BATCH_BYTES: u64 = 4 << 30;
/// Most timed repeats per cell (`--repeats`).
pub const MAX_BENCH_REPEATS: usize = 1000;

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Backends to measure: cpu, wgpu, cuda (those that cannot start are
    /// reported and skipped).
    #[arg(long, value_delimiter = ',', default_value = "cpu,wgpu,cuda")]
    pub backends: Vec<String>,
    /// Techniques (of `augkit_measure::techniques`); default all.
    #[arg(long, value_delimiter = ',')]
    pub techniques: Vec<String>,
    /// Image shapes as HxWxC.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "28x28x1,32x32x3,224x224x3"
    )]
    pub shapes: Vec<String>,
    #[arg(long, value_delimiter = ',', default_value = "64,256,1024,4096")]
    pub batches: Vec<u32>,
    /// Timed repeats per cell (median), after one warm-up.
    #[arg(long, default_value_t = 5)]
    pub repeats: usize,
    /// Also time a training step (ResNet-18 on 32×32×3, simple CNN on
    /// 28×28×1, batch 64) and report the augmentation share per backend.
    #[arg(long)]
    pub step: bool,
    /// Where the model runs for --step: cpu or cuda.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Write the JSON here (default: stdout).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Also draw throughput vs batch size per backend and shape (technique
    /// `full`) as `<DIR>/throughput.{svg,png}`.
    #[arg(long)]
    pub chart: Option<PathBuf>,
    /// Measure nothing: draw the --chart from these earlier `augkit bench`
    /// JSON files (their measurements merged).
    #[arg(long, requires = "chart", num_args = 1..)]
    pub chart_from: Vec<PathBuf>,
}

#[derive(Debug, Serialize)]
pub struct BenchReport {
    pub measurements: Vec<Measurement>,
    /// Cells that could not run, with the reason.
    pub skipped: Vec<String>,
    pub steps: Vec<StepShare>,
    pub method: &'static str,
}

/// One training step split into augmentation and model time.
#[derive(Debug, Serialize)]
pub struct StepShare {
    pub model: &'static str,
    pub backend: String,
    pub technique: String,
    pub batch: u32,
    pub augmentation_s: f64,
    pub model_s: f64,
    pub augmentation_share: f64,
}

fn measure_on(backend: BackendKind, job: &measure::Job<'_>) -> Result<Measurement, augkit::Error> {
    match backend {
        BackendKind::Cpu => measure::measure_cpu(job),
        BackendKind::Wgpu => measure::measure_wgpu(job),
        BackendKind::Cuda => measure::measure_cuda(job),
    }
}

fn parse_shape(text: &str) -> anyhow::Result<ImageShape> {
    let parts: Vec<u32> = text
        .split('x')
        .map(str::parse)
        .collect::<Result<_, _>>()
        .with_context(|| format!("shape {text:?} is not HxWxC"))?;
    anyhow::ensure!(parts.len() == 3, "shape {text:?} is not HxWxC");
    Ok(ImageShape::new(parts[2], parts[0], parts[1])?)
}

/// Draws the throughput chart into `dir` from measurements.
fn draw_chart(dir: &std::path::Path, measurements: &[Measurement]) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for file in crate::plots::render(dir, "throughput", &throughput_chart(measurements))? {
        eprintln!("chart: {}", file.display());
    }
    Ok(())
}

/// What the flags ask for, checked (see the module comment).
struct Checked {
    backends: Vec<BackendKind>,
    shapes: Vec<ImageShape>,
    device: Device,
}

fn check(args: &BenchArgs) -> anyhow::Result<Checked> {
    anyhow::ensure!(
        (1..=MAX_BENCH_REPEATS).contains(&args.repeats),
        "--repeats {}: expected 1 to {MAX_BENCH_REPEATS}",
        args.repeats
    );
    let backends = args
        .backends
        .iter()
        .map(|b| {
            BackendKind::from_name(b)
                .ok_or_else(|| anyhow::anyhow!("unknown backend {b:?} (cpu, wgpu, cuda)"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let known: Vec<&str> = measure::techniques(3).iter().map(|(t, _)| *t).collect();
    for t in &args.techniques {
        anyhow::ensure!(
            known.contains(&t.as_str()),
            "--techniques: unknown technique {t:?} (known: {})",
            known.join(", ")
        );
    }
    let shapes: Vec<ImageShape> = args
        .shapes
        .iter()
        .map(|s| parse_shape(s))
        .collect::<anyhow::Result<_>>()?;
    for (text, shape) in args.shapes.iter().zip(&shapes) {
        let bytes = BENCH_IMAGES as u64 * shape.elements() as u64;
        anyhow::ensure!(
            bytes <= MAX_BENCH_DATASET_BYTES,
            "--shapes {text}: the bench's {BENCH_IMAGES}-image data set would take {bytes} bytes;              at most {MAX_BENCH_DATASET_BYTES} (images of at most {} values)",
            MAX_BENCH_DATASET_BYTES / BENCH_IMAGES as u64
        );
        for &batch in &args.batches {
            let bytes = u64::from(batch) * shape.elements() as u64 * 4;
            anyhow::ensure!(
                batch >= 1 && bytes <= MAX_BENCH_BATCH_BYTES,
                "--batches {batch} on {text}: expected 1 to {} (a batch of f32 images may take at                  most {MAX_BENCH_BATCH_BYTES} bytes)",
                MAX_BENCH_BATCH_BYTES / (shape.elements() as u64 * 4)
            );
        }
    }
    let device = match args.device.as_str() {
        "cpu" => Device::Cpu,
        "cuda" => Device::Cuda(0),
        other => anyhow::bail!("unknown --device {other:?} (cpu, cuda)"),
    };
    // The model runs only with --step.
    anyhow::ensure!(
        !(args.step && device.is_cuda()) || tch::Cuda::is_available(),
        "--device cuda: libtorch sees no CUDA device"
    );
    if let Some(out) = &args.out {
        crate::outdir::ensure_writable_file("--out", out)?;
    }
    if let Some(dir) = &args.chart {
        crate::outdir::ensure_writable_dir("--chart", dir)?;
    }
    Ok(Checked {
        backends,
        shapes,
        device,
    })
}

pub fn run(args: &BenchArgs) -> anyhow::Result<BenchReport> {
    if let (false, Some(dir)) = (args.chart_from.is_empty(), &args.chart) {
        crate::outdir::ensure_writable_dir("--chart", dir)?;
        let mut measurements = Vec::new();
        for path in &args.chart_from {
            let text = read_text(path, FileKind::BenchJson)
                .with_context(|| format!("reading {}", path.display()))?;
            #[derive(serde::Deserialize)]
            struct Saved {
                measurements: Vec<Measurement>,
            }
            let saved: Saved = serde_json::from_str(&text)
                .with_context(|| format!("{} is not an `augkit bench` JSON", path.display()))?;
            measurements.extend(saved.measurements);
        }
        draw_chart(dir, &measurements)?;
        return Ok(BenchReport {
            measurements,
            skipped: Vec::new(),
            steps: Vec::new(),
            method: "charted from earlier runs",
        });
    }
    let Checked {
        backends,
        shapes,
        device,
    } = check(args)?;
    let mut report = BenchReport {
        measurements: Vec::new(),
        skipped: Vec::new(),
        steps: Vec::new(),
        method: "median wall time of one step over --repeats runs after one warm-up; device \
                 backends wait for the device before the clock stops; the floor is the \
                 backend's cost of the same bytes (CPU: gather + u8→f32 normalise; wgpu: a \
                 device buffer copy of the output bytes)",
    };
    for &shape in &shapes {
        let data = measure::bench_dataset(shape, BENCH_IMAGES);
        for (technique, policy) in measure::techniques(shape.channels) {
            if !args.techniques.is_empty() && !args.techniques.iter().any(|t| t == technique) {
                continue;
            }
            for &batch in &args.batches {
                let job = measure::Job {
                    technique,
                    policy: &policy,
                    dataset: &data,
                    batch,
                    repeats: args.repeats,
                };
                for &backend in &backends {
                    let result = measure_on(backend, &job);
                    match result {
                        Ok(m) => {
                            eprintln!(
                                "{backend:>4} {}x{}x{} b{batch:<5} {technique:>9}: {:>10.0} images/s, {:>9.2} µs/image{}",
                                shape.height,
                                shape.width,
                                shape.channels,
                                m.images_per_s,
                                1e6 / m.images_per_s,
                                m.ratio_to_floor
                                    .map_or(String::new(), |r| format!(", {r:.2}× the floor"))
                            );
                            report.measurements.push(m);
                        }
                        Err(e) => report.skipped.push(format!(
                            "{backend} {}x{}x{} b{batch} {technique}: {e}",
                            shape.height, shape.width, shape.channels
                        )),
                    }
                }
            }
        }
    }
    if args.step {
        for (model, shape) in [
            (ModelKind::Resnet18, ImageShape::new(3, 32, 32)?),
            (ModelKind::SimpleCnn, ImageShape::new(1, 28, 28)?),
        ] {
            let model_s = model_step_seconds(model, shape, 64, device, args.repeats)?;
            let data = measure::bench_dataset(shape, BENCH_IMAGES);
            for (technique, policy) in measure::techniques(shape.channels) {
                if technique != "full" && technique != "identity" {
                    continue;
                }
                let job = measure::Job {
                    technique,
                    policy: &policy,
                    dataset: &data,
                    batch: 64,
                    repeats: args.repeats,
                };
                for &backend in &backends {
                    let aug = measure_on(backend, &job);
                    match aug {
                        Ok(m) => report.steps.push(StepShare {
                            model: model.name(),
                            backend: backend.name().into(),
                            technique: technique.into(),
                            batch: 64,
                            augmentation_s: m.median_s,
                            model_s,
                            augmentation_share: m.median_s / (m.median_s + model_s),
                        }),
                        Err(e) => report
                            .skipped
                            .push(format!("step {backend} {technique}: {e}")),
                    }
                }
            }
        }
    }
    if let Some(dir) = &args.chart {
        draw_chart(dir, &report.measurements)?;
    }
    let json = serde_json::to_string_pretty(&report)?;
    match &args.out {
        Some(path) => crate::result::write_json_atomic(path, &report)
            .with_context(|| format!("writing {}", path.display()))?,
        None => println!("{json}"),
    }
    Ok(report)
}

/// Images/s against batch size, one line per backend and shape, for the
/// full pipeline (or the first technique measured when `full` was not).
pub fn throughput_chart(measurements: &[Measurement]) -> crate::plots::Chart {
    let technique = if measurements.iter().any(|m| m.technique == "full") {
        "full"
    } else {
        measurements
            .first()
            .map_or("full", |m| m.technique.as_str())
    };
    let mut lines: Vec<(String, Vec<[f64; 2]>)> = Vec::new();
    for m in measurements.iter().filter(|m| m.technique == technique) {
        let name = format!("{} {}x{}x{}", m.backend, m.shape[1], m.shape[2], m.shape[0]);
        let point = [f64::from(m.batch), m.images_per_s];
        match lines.iter_mut().find(|(n, _)| *n == name) {
            Some((_, points)) => points.push(point),
            None => lines.push((name, vec![point])),
        }
    }
    for (_, points) in &mut lines {
        points.sort_by(|a, b| a[0].total_cmp(&b[0]));
    }
    crate::plots::Chart::Throughput {
        title: format!("augmentation throughput ({technique})"),
        lines,
    }
}

/// Median seconds of one training step (forward, backward, Adam) at `batch`.
fn model_step_seconds(
    kind: ModelKind,
    shape: ImageShape,
    batch: i64,
    device: Device,
    repeats: usize,
) -> anyhow::Result<f64> {
    tch::manual_seed(0);
    let vs = nn::VarStore::new(device);
    let input = InputShape {
        channels: i64::from(shape.channels),
        height: i64::from(shape.height),
        width: i64::from(shape.width),
    };
    let net = models::build(&vs.root(), kind, input, 10)?;
    let mut opt = nn::Adam::default().build(&vs, 1e-3)?;
    let xs = Tensor::randn(
        [batch, input.channels, input.height, input.width],
        (Kind::Float, device),
    );
    let ys = Tensor::randint(10, [batch], (Kind::Int64, device));
    let sync = || {
        if let Device::Cuda(i) = device {
            tch::Cuda::synchronize(i as i64);
        }
    };
    let step = || {
        let loss = net.forward_t(&xs, true).cross_entropy_for_logits(&ys);
        opt.backward_step(&loss);
        sync();
    };
    Ok(measure::median_seconds(repeats, step))
}
