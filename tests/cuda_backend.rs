//! The CUDA backend: typed errors where CUDA is missing (runs everywhere),
//! and parity with the CPU reference on a real GPU.
//!
//! GPU tests skip with a printed reason when there is no driver, device or
//! NVRTC, and fail instead under `AUGKIT_REQUIRE_GPU=1` (scripts/gpu-check
//! sets it). They run the shared matrices of `tests/support/parity.rs`: on
//! fresh random inputs, every technique alone and together, all dtypes and
//! layouts, batch 1/7/65, 1 and 3 channels, square and non-square images:
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
use augkit::{
    Backend, DType, Dataset, DeviceBackend, Error, HostImages, Layout, MixLabel, Policy, Step,
};
use support::parity::{self, Case, Tolerances};
use support::{dtype_rtol, random_dataset, with_output};

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

const GPU: Tolerances = Tolerances {
    param_atol: 1e-4,
    param_rtol: 1e-5,
    coeff_atol: 1e-5,
    coeff_rtol: 1e-5,
    mean_atol: 1e-5,
    pixels: |dtype| match dtype {
        DType::F32 => (1e-5, 1e-5),
        other => (1e-5, dtype_rtol(other)),
    },
};

fn for_case(case: &Case) -> Option<CudaBackend> {
    gpu_backend(
        &case.policy,
        case.seed,
        case.dataset.clone(),
        case.subset.clone(),
    )
}

parity_tests!("cuda", GPU, for_case;
    gpu_parity_every_technique_dtype_layout_and_size => parity::techniques_by_shape_and_format,
    gpu_parity_synthetic => parity::synthetic_every_format_larger,
    gpu_parity_pool => parity::pool_every_format,
    gpu_parity_auto_ops_by_shape => parity::auto_ops_by_shape,
    gpu_parity_auto_ops_every_format => parity::auto_ops_every_format,
);

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
