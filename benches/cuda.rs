//! CUDA backend throughput: steps timed with CUDA events on the backend's
//! stream (synchronised before the clock stops), beside a device-to-device
//! copy of the same output bytes (the floor a memory-bound pass can reach).
//!
//! Run: `cargo bench --bench cuda` (on a GPU; prints why it skips otherwise;
//! `-- --test` runs one step per case). Results go in docs/PERFORMANCE.md.

use augkit::cuda::{CudaBackend, CudaOptions, DeviceOutputs, compile, events};
use augkit::{DType, DeviceBackend, ImageShape, Layout, MixLabel, Policy, Step};
use cudarc::driver::result as cu;

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

/// Milliseconds per iteration of `f` over `iters` on the legacy default
/// stream, timed with CUDA events.
fn time_ms(iters: u32, mut f: impl FnMut()) -> f64 {
    // SAFETY: stream 0 of the backend's current context; `f` queues only
    // work valid on it.
    let seconds = unsafe {
        events::time_per_call(0, iters, || {
            f();
            Ok(())
        })
    };
    seconds.unwrap() * 1e3
}

fn main() {
    let quick = std::env::args().any(|a| a == "--test");
    if !augkit::cuda::driver_present() {
        println!("cuda bench: SKIPPED (no libcuda)");
        return;
    }
    if let Ok(dir) = std::env::var("AUGKIT_NVRTC_LIB") {
        let _ = compile::use_nvrtc_from(std::path::Path::new(&dir));
    }
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
    println!(
        "{:<26} {:>6} {:>10} {:>12} {:>10} {:>10}",
        "case", "batch", "µs/step", "images/s", "GB/s", "copy GB/s"
    );
    for (name, c, h, w, n, batch, text, dtype, layout) in cases {
        let data = augkit_measure::bench_dataset(ImageShape::new(c, h, w).unwrap(), n);
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
        let elements = batch as usize * data.shape().elements();
        let out_bytes = elements * dtype.size_bytes();
        // SAFETY: the backend's context is current after construction.
        let (images, labels, copy_src) = unsafe {
            (
                cu::malloc_sync(out_bytes).unwrap(),
                cu::malloc_sync(batch as usize * size_of::<MixLabel>()).unwrap(),
                cu::malloc_sync(out_bytes).unwrap(),
            )
        };
        let outputs = DeviceOutputs {
            images,
            images_len: elements,
            dtype,
            labels,
            labels_len: batch as usize,
        };
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
            unsafe { backend.run_into(s, outputs) }.unwrap();
        };
        let (warmup, iters) = if quick { (1, 1) } else { (10, 100) };
        for _ in 0..warmup {
            step();
        }
        let ms = time_ms(iters, &mut step);
        let copy_ms = time_ms(iters, || {
            // SAFETY: two live allocations of `out_bytes`.
            unsafe { cu::memcpy_dtod_async(images, copy_src, out_bytes, std::ptr::null_mut()) }
                .unwrap();
        });
        // Bytes a step must move: u8 source read (twice when mixed) + output written.
        let moved = (batch as usize * data.shape().elements()) as f64 + out_bytes as f64;
        println!(
            "{name:<26} {batch:>6} {:>10.1} {:>12.0} {:>10.1} {:>10.1}",
            ms * 1e3,
            f64::from(batch) / (ms * 1e-3),
            moved / (ms * 1e-3) / 1e9,
            2.0 * out_bytes as f64 / (copy_ms * 1e-3) / 1e9,
        );
        // SAFETY: the stream is idle after the timed event synchronised.
        unsafe {
            backend.wait().unwrap();
            cu::free_sync(images).unwrap();
            cu::free_sync(labels).unwrap();
            cu::free_sync(copy_src).unwrap();
        }
    }
}
