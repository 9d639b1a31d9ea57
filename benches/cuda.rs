//! CUDA backend throughput through criterion: each case's step, and a
//! device-to-device copy of the same output bytes (the floor a memory-bound
//! pass can reach), timed with CUDA events on the backend's stream
//! (`iter_custom`; the end event is synchronised before the clock is read).
//! Throughput is bytes read + written, so criterion's GB/s for the step
//! reads beside the copy's.
//!
//! Run: `cargo bench --bench cuda` (on a GPU; prints why it skips otherwise;
//! `-- --test` runs each case once). Results go in docs/PERFORMANCE.md.

use std::time::Duration;

use augkit::cuda::{CudaBackend, CudaOptions, compile, events};
use augkit::{DType, DeviceBackend, ImageShape, Layout, Policy, Step};
use augkit_measure::cuda_buffers::StepBuffers;
use criterion::{Criterion, Throughput};

fn policy(text: &str, dtype: DType, layout: Layout) -> Policy {
    let mut p = Policy::from_toml_str(text).unwrap();
    p.output.dtype = dtype;
    p.output.layout = layout;
    p.output.mean = vec![0.485, 0.456, 0.406];
    p.output.std = vec![0.229, 0.224, 0.225];
    p
}

const CIFAR_ALL: &str = "horizontal_flip = 0.5\n[crop]\nkind = \"pad\"\npadding = 4\n\
    [color_jitter]\nbrightness = 0.4\ncontrast = 0.4\nsaturation = 0.4\nhue = 0.1\n\
    [mix]\nmixup_alpha = 0.8\ncutmix_alpha = 1.0\n";
const IMAGENET: &str = "horizontal_flip = 0.5\n[crop]\nkind = \"resized\"\ninterpolation = \"bilinear\"\n\
    [color_jitter]\nbrightness = 0.4\ncontrast = 0.4\nsaturation = 0.4\n";
const FLIP_CROP: &str = "horizontal_flip = 0.5\n[crop]\nkind = \"pad\"\npadding = 4\n";

/// The time of `iters` calls of `f` on `stream`, measured by CUDA events
/// (synchronised before it is read).
fn event_time(stream: u64, iters: u64, f: impl FnMut() -> Result<(), augkit::Error>) -> Duration {
    let iters = u32::try_from(iters).expect("criterion asks for fewer than 2^32 iterations");
    // SAFETY: the backend's live stream of its current context; `f` queues
    // only work valid on it.
    let per_call = unsafe { events::time_per_call(stream, iters, f) }.unwrap();
    Duration::from_secs_f64(per_call * f64::from(iters))
}

fn main() {
    if !augkit::cuda::driver_present() {
        println!("cuda bench: SKIPPED (no libcuda)");
        return;
    }
    if let Ok(dir) = std::env::var("AUGKIT_NVRTC_LIB") {
        let _ = compile::use_nvrtc_from(std::path::Path::new(&dir));
    }
    let mut c = Criterion::default().configure_from_args();
    let cases = [
        (
            "cifar all f32 nchw",
            3,
            32,
            32,
            4096,
            256,
            CIFAR_ALL,
            DType::F32,
            Layout::Nchw,
        ),
        (
            "cifar all bf16 nhwc",
            3,
            32,
            32,
            4096,
            256,
            CIFAR_ALL,
            DType::Bf16,
            Layout::Nhwc,
        ),
        (
            "cifar flip+crop f16",
            3,
            32,
            32,
            4096,
            1024,
            FLIP_CROP,
            DType::F16,
            Layout::Nchw,
        ),
        (
            "imagenet rrc+jitter bf16",
            3,
            224,
            224,
            512,
            256,
            IMAGENET,
            DType::Bf16,
            Layout::Nchw,
        ),
    ];
    for (name, c_, h, w, n, batch, text, dtype, layout) in cases {
        let data = augkit_measure::bench_dataset(ImageShape::new(c_, h, w).unwrap(), n);
        let subset: Vec<u32> = (0..n as u32).collect();
        let options = CudaOptions {
            max_batch: batch,
            ..CudaOptions::default()
        };
        let mut backend = match CudaBackend::new(
            &policy(text, dtype, layout),
            7,
            data.clone(),
            subset,
            &options,
        ) {
            Ok(b) => b,
            Err(e) => {
                println!("cuda bench: SKIPPED ({e})");
                return;
            }
        };
        let stream = backend.stream();
        // SAFETY: the backend's context is current after construction.
        let buffers = unsafe { StepBuffers::new(batch, data.shape().elements(), dtype) }.unwrap();
        let outputs = buffers.outputs;
        // Bytes a step must move: the u8 source read, the output written.
        let moved = (batch as usize * data.shape().elements() + buffers.image_bytes) as u64;
        let steps_per_epoch = n as u32 / batch;
        let mut k = 0u32;
        let mut step = || {
            let s = Step {
                epoch: k / steps_per_epoch,
                first_position: (k % steps_per_epoch) * batch,
                batch_size: batch,
            };
            k += 1;
            // SAFETY: live allocations of the stated sizes, used only here.
            unsafe { backend.run_into(s, outputs) }
        };
        let mut group = c.benchmark_group(format!("cuda/{name}"));
        group.sample_size(20);
        group.warm_up_time(Duration::from_millis(500));
        group.throughput(Throughput::Bytes(moved));
        group.bench_function("step", |b| {
            b.iter_custom(|iters| event_time(stream, iters, &mut step))
        });
        group.throughput(Throughput::Bytes(2 * buffers.image_bytes as u64));
        group.bench_function("copy floor", |b| {
            b.iter_custom(|iters| {
                // SAFETY: the backend's live stream of its current context.
                event_time(stream, iters, || unsafe { buffers.copy_floor(stream) })
            })
        });
        group.finish();
        // The buffers drop after the stream is idle.
        backend.wait().unwrap();
    }
    c.final_summary();
}
