//! The CUDA backend: typed errors where CUDA is missing (runs everywhere),
//! and parity with the CPU reference on a real GPU.
//!
//! GPU tests skip with a printed reason when there is no driver, device or
//! NVRTC, and fail instead under `AUGKIT_REQUIRE_GPU=1` (scripts/gpu-check
//! sets it). They compare, on fresh random inputs, every technique alone
//! and together, all dtypes and layouts, batch 1/7/65, 1 and 3 channels,
//! square and non-square images:
//! - parameters: integers identical, floats within 1e-4 + 1e-5·|ref| (the
//!   GPU's logf/expf/sqrtf differ from glibc's by an ulp; boundary cases are
//!   excused and counted, see tests/support);
//! - synthetic coefficients (σ_j·z_j): within 1e-5 + 1e-5·|ref| of the
//!   CPU's for the GPU's parameters;
//! - contrast means: within 1e-5 of the CPU's mean over the GPU's parameters
//!   and coefficients;
//! - pixels: the CPU renders the GPU's parameters, synthetic coefficients
//!   and means (`cpu::render_from` of `cpu::plan_source`); f32 within
//!   1e-5 + 1e-5·|ref| (kernels are built with --fmad=false), f16/bf16
//!   within one unit of their rounding.
//!
//! Run: `cargo test --test cuda_backend -- --nocapture`.

mod support;

use std::sync::Arc;

use augkit::cuda::{CudaBackend, CudaOptions, DeviceOutputs, compile};
use augkit::kernel_args::flags;
use augkit::policy::{ClassChoice, SynthMode, Synthetic};
use augkit::{
    Backend, DType, Dataset, DeviceBackend, Error, HostImages, Inspect, Layout, MixLabel, Plan,
    Policy, Step, cpu,
};
use support::{
    compare_params, compare_pixels, dtype_rtol, policy_matrix, random_dataset, random_subset,
    with_output,
};

fn require_gpu() -> bool {
    std::env::var("AUGKIT_REQUIRE_GPU").is_ok_and(|v| v == "1")
}

/// Loads NVRTC from the torch venv when it is not on the loader path.
fn find_nvrtc() {
    let mut candidates = Vec::new();
    if let Some(p) = std::env::var_os("AUGKIT_NVRTC_LIB") {
        candidates.push(std::path::PathBuf::from(p));
    }
    let mut venvs = vec![std::path::PathBuf::from("/opt/torch/.venv")];
    if let Some(home) = std::env::var_os("HOME") {
        venvs.insert(0, std::path::PathBuf::from(home).join(".cache/augkit/venv"));
    }
    for venv in venvs {
        if let Ok(entries) = std::fs::read_dir(venv.join("lib")) {
            for python in entries.flatten() {
                candidates.push(python.path().join("site-packages/nvidia/cu13/lib"));
            }
        }
    }
    if compile::ensure_nvrtc().is_ok() {
        return;
    }
    for dir in candidates {
        if dir.exists() && compile::use_nvrtc_from(&dir).is_ok() {
            return;
        }
    }
}

fn small_dataset() -> (Arc<Dataset>, Vec<u32>) {
    let data = random_dataset(3, 8, 8, 16, 4, 1);
    (data, (0..16).collect())
}

/// Constructing the backend never panics; without libcuda it is the typed
/// `NoCudaDriver` error.
#[test]
fn construction_without_cuda_is_a_typed_error() {
    let (data, subset) = small_dataset();
    let result = std::panic::catch_unwind(|| {
        CudaBackend::new(
            &Policy::identity(),
            1,
            data.clone(),
            subset.clone(),
            &CudaOptions::default(),
        )
        .map(|_| ())
    });
    let result = result.expect("constructing the CUDA backend panicked");
    if augkit::cuda::driver_present() {
        match result {
            Ok(()) => println!("libcuda present and a device works: constructed"),
            Err(
                e @ (Error::NoCudaDevice(_) | Error::NoNvrtc(_) | Error::UnsupportedArch { .. }),
            ) => {
                println!("libcuda present; typed error: {e}")
            }
            Err(e) => panic!("unexpected error kind: {e:?}"),
        }
    } else {
        let err = result.expect_err("no libcuda, yet construction succeeded");
        assert!(matches!(err, Error::NoCudaDriver(_)), "{err:?}");
        println!("no libcuda: {err}");
    }
}

/// A backend for the GPU tests, or None (printed) when there is no GPU.
fn gpu_backend(
    policy: &Policy,
    seed: u64,
    data: Arc<Dataset>,
    subset: Vec<u32>,
) -> Option<CudaBackend> {
    find_nvrtc();
    match CudaBackend::new(
        policy,
        seed,
        data,
        subset,
        &CudaOptions {
            max_batch: 65,
            ..CudaOptions::default()
        },
    ) {
        Ok(b) => Some(b),
        Err(e @ (Error::NoCudaDriver(_) | Error::NoCudaDevice(_) | Error::NoNvrtc(_))) => {
            assert!(!require_gpu(), "AUGKIT_REQUIRE_GPU=1 but: {e}");
            println!("SKIPPED: no GPU ({e})");
            None
        }
        Err(e) => panic!("CUDA backend failed: {e}"),
    }
}

#[derive(Default)]
struct Observed {
    param_error: f32,
    coeff_error: f32,
    mean_error: f32,
    pixel_error: f32,
    excused: usize,
    synthetic: usize,
}

/// One GPU step against the CPU reference. None when there is no GPU.
#[allow(clippy::too_many_arguments)]
fn check(
    name: &str,
    policy: Policy,
    data: Arc<Dataset>,
    subset: Vec<u32>,
    step: Step,
    dtype: DType,
    layout: Layout,
    seed: u64,
) -> Option<Observed> {
    let channels = data.shape().channels;
    let policy = with_output(policy, channels, dtype, layout);
    let mut backend = gpu_backend(&policy, seed, data.clone(), subset.clone())?;
    let plan = Plan::new(&policy, seed, data.clone(), subset).unwrap();
    let args = plan.step_args(step).unwrap();
    let shape = data.shape();
    let what = format!(
        "{name} {}x{}x{} B={} {dtype:?} {layout:?}",
        shape.channels, shape.height, shape.width, step.batch_size
    );
    let n = plan.image_elements(step);
    let mut labels = vec![MixLabel::default(); step.batch_size as usize];
    let values: Vec<f32> = match dtype {
        DType::F32 => {
            let mut out = vec![f32::NAN; n];
            backend
                .augment_into(step, HostImages::F32(&mut out), &mut labels)
                .unwrap();
            out
        }
        DType::F16 => {
            let mut out = vec![half::f16::NAN; n];
            backend
                .augment_into(step, HostImages::F16(&mut out), &mut labels)
                .unwrap();
            out.iter().map(|v| v.to_f32()).collect()
        }
        DType::Bf16 => {
            let mut out = vec![half::bf16::NAN; n];
            backend
                .augment_into(step, HostImages::Bf16(&mut out), &mut labels)
                .unwrap();
            out.iter().map(|v| v.to_f32()).collect()
        }
    };
    let params = backend.last_params().unwrap();
    let means = backend.last_contrast_means().unwrap();
    let reference = cpu::step_params(&plan, args);
    let report = compare_params(&plan, args, &reference, &params, 1e-4, 1e-5);
    report.assert_ok(&format!("{what}: params"));
    assert_eq!(labels, cpu::labels_of(&params), "{what}: labels");
    let coefficients = backend.last_synth_coefficients().unwrap();
    let cpu_coefficients = cpu::step_synth_coefficients(&plan, args, &params);
    assert_eq!(coefficients.len(), cpu_coefficients.len(), "{what}");
    let mut coeff_error = 0f32;
    for (j, (r, g)) in cpu_coefficients.iter().zip(&coefficients).enumerate() {
        let err = (r - g).abs();
        assert!(
            err <= 1e-5 + 1e-5 * r.abs(),
            "{what}: synthetic coefficient {j}: expected {r}, got {g}"
        );
        coeff_error = coeff_error.max(err);
    }
    let src = cpu::plan_source(&plan, &coefficients);
    let cpu_means = cpu::step_contrast_means_from(&plan.kernel, &src, &params);
    let mut mean_error = 0f32;
    for (i, (r, g)) in cpu_means.iter().zip(&means).enumerate() {
        let err = (r - g).abs();
        assert!(
            err <= 1e-5,
            "{what}: contrast mean {i}: expected {r}, got {g}"
        );
        mean_error = mean_error.max(err);
    }
    let expected: Vec<f32> = match dtype {
        DType::F32 => {
            let mut out = vec![0f32; n];
            cpu::render_from(&plan.kernel, &src, &params, &means, &mut out);
            out
        }
        DType::F16 => {
            let mut out = vec![half::f16::ZERO; n];
            cpu::render_from(&plan.kernel, &src, &params, &means, &mut out);
            out.iter().map(|v| v.to_f32()).collect()
        }
        DType::Bf16 => {
            let mut out = vec![half::bf16::ZERO; n];
            cpu::render_from(&plan.kernel, &src, &params, &means, &mut out);
            out.iter().map(|v| v.to_f32()).collect()
        }
    };
    let rtol = if dtype == DType::F32 {
        1e-5
    } else {
        dtype_rtol(dtype)
    };
    let pixels = compare_pixels(&plan.kernel, &params, &expected, &values, 1e-5, rtol);
    pixels.assert_ok(&format!("{what}: pixels"));
    Some(Observed {
        param_error: report.max_float_error,
        coeff_error,
        mean_error,
        pixel_error: pixels.max_abs_error,
        excused: report.excused + pixels.excused,
        synthetic: params
            .iter()
            .filter(|p| p.flags & flags::SYNTHETIC != 0)
            .count(),
    })
}

fn summarise(label: &str, observed: &[Observed]) {
    let max = |f: fn(&Observed) -> f32| observed.iter().map(f).fold(0.0f32, f32::max);
    println!(
        "{label}: {} GPU cases ({} synthetic samples); max |Δ| params {:.3e}, synthetic \
         coefficients {:.3e}, contrast means {:.3e}, pixels {:.3e}; {} excused boundary cases",
        observed.len(),
        observed.iter().map(|o| o.synthetic).sum::<usize>(),
        max(|o| o.param_error),
        max(|o| o.coeff_error),
        max(|o| o.mean_error),
        max(|o| o.pixel_error),
        observed.iter().map(|o| o.excused).sum::<usize>()
    );
}

const SHAPES: [(u32, u32, u32); 3] = [(3, 32, 32), (1, 28, 28), (3, 24, 40)];
const FORMATS: [(DType, Layout); 6] = [
    (DType::F32, Layout::Nchw),
    (DType::F16, Layout::Nhwc),
    (DType::Bf16, Layout::Nchw),
    (DType::F32, Layout::Nhwc),
    (DType::F16, Layout::Nchw),
    (DType::Bf16, Layout::Nhwc),
];

#[test]
fn gpu_parity_every_technique_dtype_layout_and_size() {
    let mut observed = Vec::new();
    for (p, (name, policy)) in policy_matrix().into_iter().enumerate() {
        for (s, &(c, h, w)) in SHAPES.iter().enumerate() {
            for (f, &(dtype, layout)) in FORMATS.iter().enumerate() {
                let seed = 1000 + (p * 31 + s * 7 + f) as u64;
                let data = random_dataset(c, h, w, 90, 10, seed);
                let subset = random_subset(90, 80, seed);
                let batch = [1u32, 7, 65][(p + s + f) % 3];
                let step = Step {
                    epoch: (p % 3) as u32,
                    first_position: (s as u32 * 5) % 15,
                    batch_size: batch,
                };
                match check(
                    name,
                    policy.clone(),
                    data,
                    subset,
                    step,
                    dtype,
                    layout,
                    seed * 0x9e37_79b9,
                ) {
                    Some(o) => observed.push(o),
                    None => return,
                }
            }
        }
    }
    summarise("GPU parity", &observed);
}

/// A synthetic section: 60 % of samples synthetic, at most 5 components.
fn synthetic(mode: SynthMode, class_choice: ClassChoice) -> Synthetic {
    Synthetic {
        mode,
        fraction: 0.6,
        components: 5,
        variance_kept: 0.95,
        class_choice,
    }
}

/// Synthetic PCA (training and uniform class choice; the subset leaves class
/// 2 out) and interpolation, alone, with every technique, and with a
/// bilinear crop and the `source` contrast mean; 1 and 3 channels,
/// non-square, every dtype and layout.
#[test]
fn gpu_parity_synthetic() {
    let modes = [
        ("pca", SynthMode::Pca, ClassChoice::Training),
        ("pca_uniform", SynthMode::Pca, ClassChoice::Uniform),
        ("interpolate", SynthMode::Interpolate, ClassChoice::Training),
    ];
    let bilinear_source = Policy::from_toml_str(
        "horizontal_flip = 0.5\n\
         [crop]\nkind = \"resized\"\ninterpolation = \"bilinear\"\n\
         [color_jitter]\nbrightness = 0.4\ncontrast = 0.4\nsaturation = 0.3\n\
         contrast_mean = \"source\"\n\
         [mix]\nmixup_alpha = 0.4\ncutmix_alpha = 1.0\nprob = 0.9\n",
    )
    .unwrap();
    let bases = [
        ("alone", Policy::identity()),
        ("all", support::all_policy()),
        ("bilinear+source", bilinear_source),
    ];
    let shapes = [(1, 13, 21), (3, 9, 11), (3, 24, 40), (1, 28, 28)];
    let mut observed = Vec::new();
    let mut n = 0;
    for (mode_name, mode, class_choice) in modes {
        for (base_name, base) in &bases {
            for &(dtype, layout) in &FORMATS {
                let (c, h, w) = shapes[n % shapes.len()];
                let data = random_dataset(c, h, w, 120, 5, 300 + n as u64);
                let subset: Vec<u32> = random_subset(120, 120, 300 + n as u64)
                    .into_iter()
                    .filter(|&i| data.labels()[i as usize] != 2)
                    .collect();
                let mut policy = base.clone();
                policy.synthetic = Some(synthetic(mode, class_choice));
                let batch = [33u32, 65, 7][n % 3];
                let step = Step {
                    epoch: (n % 4) as u32,
                    first_position: 5,
                    batch_size: batch,
                };
                let name = format!("{mode_name} {base_name}");
                match check(
                    &name,
                    policy,
                    data,
                    subset,
                    step,
                    dtype,
                    layout,
                    11 + n as u64,
                ) {
                    Some(o) => {
                        assert!(o.synthetic > 0, "{name}: no synthetic sample");
                        observed.push(o);
                    }
                    None => return,
                }
                n += 1;
            }
        }
    }
    summarise("GPU parity, synthetic", &observed);
}

/// Caller device memory on a caller stream, and the pointer / shape checks.
#[test]
fn gpu_writes_into_caller_device_memory_on_a_caller_stream() {
    use cudarc::driver::result as cu;
    let data = random_dataset(3, 32, 32, 100, 10, 9);
    let subset: Vec<u32> = (0..100).collect();
    let policy = with_output(support::all_policy(), 3, DType::F16, Layout::Nhwc);
    let Some(mut backend) = gpu_backend(&policy, 5, data.clone(), subset.clone()) else {
        return;
    };
    let step = Step {
        epoch: 1,
        first_position: 30,
        batch_size: 64,
    };
    let n = 64 * data.shape().elements();
    // SAFETY: the backend's context is current on this thread after construction.
    let stream = cu::stream::create(cu::stream::StreamKind::NonBlocking).unwrap();
    let images = unsafe { cu::malloc_sync(n * 2) }.unwrap();
    let labels = unsafe { cu::malloc_sync(64 * size_of::<MixLabel>()) }.unwrap();
    let outputs = DeviceOutputs {
        images,
        images_len: n,
        dtype: DType::F16,
        labels,
        labels_len: 64,
    };
    // SAFETY: a live stream of the primary context; live allocations of the stated sizes.
    unsafe {
        backend.set_stream(stream as u64);
        backend.run_into(step, outputs).unwrap();
    }
    backend.wait().unwrap();
    let mut got = vec![half::f16::ZERO; n];
    let mut got_labels = vec![MixLabel::default(); 64];
    unsafe {
        cu::memcpy_dtoh_sync(&mut got, images).unwrap();
        cu::memcpy_dtoh_sync(&mut got_labels, labels).unwrap();
    }
    // Same step through the host path gives the same bits.
    let mut host = vec![half::f16::ZERO; n];
    let mut host_labels = vec![MixLabel::default(); 64];
    backend
        .augment_into(step, HostImages::F16(&mut host), &mut host_labels)
        .unwrap();
    assert_eq!(got_labels, host_labels);
    assert!(
        got.iter()
            .zip(&host)
            .all(|(a, b)| a.to_bits() == b.to_bits())
    );

    // Refusals: dtype, length, host pointer, overrun.
    let refuse = |backend: &mut CudaBackend, o: DeviceOutputs| {
        unsafe { backend.run_into(step, o) }.unwrap_err()
    };
    let e = refuse(
        &mut backend,
        DeviceOutputs {
            dtype: DType::F32,
            ..outputs
        },
    );
    assert!(matches!(e, Error::DType { .. }), "{e:?}");
    let e = refuse(
        &mut backend,
        DeviceOutputs {
            images_len: n - 1,
            ..outputs
        },
    );
    assert!(matches!(e, Error::BufferSize { .. }), "{e:?}");
    let e = refuse(
        &mut backend,
        DeviceOutputs {
            images: host.as_mut_ptr() as u64,
            ..outputs
        },
    );
    assert!(matches!(e, Error::DevicePointer { .. }), "{e:?}");
    let e = refuse(
        &mut backend,
        DeviceOutputs {
            images: images + 2,
            ..outputs
        },
    );
    assert!(matches!(e, Error::DevicePointer { .. }), "{e:?}");
    println!("caller memory on a caller stream: identical to the host path; refusals typed");
    unsafe {
        backend.set_stream(0);
        cu::free_sync(images).unwrap();
        cu::free_sync(labels).unwrap();
        cu::stream::destroy(stream).unwrap();
    }
}
