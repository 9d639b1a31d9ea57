//! The wgpu backend against the CPU reference, on whatever adapter wgpu finds
//! (lavapipe on CI): the shared matrices of `tests/support/parity.rs`, and
//! what only wgpu has (chunked datasets, split output windows, per-step
//! upload, timestamps). Parameters: integers identical, floats within
//! `PARAM_ATOL + PARAM_RTOL·|ref|`; synthetic coefficients within
//! `COEFF_ATOL + COEFF_RTOL·|ref|`. Pixels: the CPU `render_from` of the
//! *wgpu-produced* parameters, synthetic coefficients and contrast means
//! against the wgpu pixels,
//! within `atol + rtol·|ref|` (plus the output dtype's rounding); an element
//! may differ only where its nearest-neighbour sample point lies within 1e-3
//! px of a tap boundary (counted and printed).
//!
//! Without an adapter the tests print why and pass, unless
//! `AUGKIT_REQUIRE_GPU=1` or `AUGKIT_REQUIRE_ADAPTER=1` (scripts/test), where they fail.
//!
//! Run: `cargo test --release --test wgpu_parity -- --nocapture`.

mod support;

use std::sync::Arc;

use augkit::cpu::{self, CpuBackend};
use augkit::internals::kernel_args::{StepArgs, flags};
use augkit::policy::{ClassChoice, SynthMode};
use augkit::wgpu::{WgpuBackend, WgpuOptions};
use augkit::{
    Backend, DType, Dataset, DeviceBackend, Error, HostImages, Inspect, Layout, MixLabel, Policy,
    Step,
};
use support::parity::{
    self, Case, Images, Observed, Tolerances, check_step, synthetic, synthetic_data,
};
use support::{compare_params, compare_pixels, dtype_rtol, random_dataset};

/// Parameter floats: Philox words and integer fields are exact; the floats
/// pass through the device's `cos`/`sin`/`log`/`exp`/`sqrt`, which Vulkan
/// allows a few ulp (or 2^-11 absolute for cos/sin) from libm's.
const PARAM_ATOL: f32 = 1e-5;
const PARAM_RTOL: f32 = 1e-5;
/// Pixels (normalised values, |v| ≲ 3): f32 rounding differences of the
/// same arithmetic (contractions into fma, division) only.
const PIXEL_ATOL: f32 = 1e-5;
const PIXEL_RTOL: f32 = 1e-5;
/// Contrast means: the device sums in f32 by a workgroup tree, the CPU in f64.
const MEAN_ATOL: f32 = 1e-5;
/// Synthetic coefficients σ_j·z_j: z is Box–Muller through the device's
/// `log`/`sqrt`/`cos`, as the parameter floats are.
const COEFF_ATOL: f32 = 1e-5;
const COEFF_RTOL: f32 = 1e-5;

const WGPU: Tolerances = Tolerances {
    param_atol: PARAM_ATOL,
    param_rtol: PARAM_RTOL,
    coeff_atol: COEFF_ATOL,
    coeff_rtol: COEFF_RTOL,
    mean_atol: MEAN_ATOL,
    pixels: |dtype| (PIXEL_ATOL, PIXEL_RTOL + dtype_rtol(dtype)),
};

/// An adapter is required under `AUGKIT_REQUIRE_GPU=1`, and under
/// `AUGKIT_REQUIRE_ADAPTER=1` (set by `scripts/test`, which installs lavapipe).
fn require_gpu() -> bool {
    ["AUGKIT_REQUIRE_GPU", "AUGKIT_REQUIRE_ADAPTER"]
        .iter()
        .any(|v| std::env::var(v).is_ok_and(|v| v == "1"))
}

/// The backend, or `None` (with the reason printed) when no adapter exists.
fn backend(
    policy: &Policy,
    seed: u64,
    dataset: Arc<Dataset>,
    subset: Vec<u32>,
    options: &WgpuOptions,
) -> Option<WgpuBackend> {
    match WgpuBackend::new(policy, seed, dataset, subset, options) {
        Ok(b) => Some(b),
        Err(Error::Unavailable(why)) => {
            assert!(
                !require_gpu(),
                "an adapter is required (AUGKIT_REQUIRE_GPU/ADAPTER=1) but: {why}"
            );
            eprintln!("skipping wgpu test: {why}");
            None
        }
        Err(e) => panic!("wgpu backend: {e}"),
    }
}

/// A parity case's backend, with the default options.
fn for_case(case: &Case) -> Option<WgpuBackend> {
    backend(
        &case.policy,
        case.seed,
        case.dataset.clone(),
        case.subset.clone(),
        &WgpuOptions::default(),
    )
}

fn output_policy(p: &Policy, channels: u32, dtype: DType, layout: Layout) -> Policy {
    support::with_output(p.clone(), channels, dtype, layout)
}

parity_tests!("wgpu", WGPU, for_case;
    policy_matrix_matches_cpu => parity::techniques_rotating,
    all_techniques_every_format => parity::all_every_format,
    synthetic_matches_cpu => parity::synthetic_rotating,
    pool_matches_cpu => parity::pool_rotating,
    erasing_matches_cpu => parity::erasing_every_format,
);

/// The Backend trait path (augment_into, sample_params) equals run + read_back.
#[test]
fn backend_trait_matches_cpu_backend_labels() {
    let dataset = random_dataset(3, 28, 28, 64, 10, 5);
    let policy = output_policy(&support::all_policy(), 3, DType::F32, Layout::Nchw);
    let subset: Vec<u32> = (0..64).collect();
    let Some(mut gpu) = backend(
        &policy,
        9,
        dataset.clone(),
        subset.clone(),
        &WgpuOptions::default(),
    ) else {
        return;
    };
    println!("adapter: {}", gpu.info().device);
    let mut cpu = CpuBackend::new(&policy, 9, dataset, subset).unwrap();
    let step = Step {
        epoch: 3,
        first_position: 10,
        batch_size: 33,
    };
    let params = gpu.sample_params(step).unwrap();
    let reference = cpu.sample_params(step).unwrap();
    let args = gpu.plan().step_args(step).unwrap();
    compare_params(
        gpu.plan(),
        args,
        &reference,
        &params,
        PARAM_ATOL,
        PARAM_RTOL,
    )
    .assert_ok("trait sample_params");
    let n = gpu.plan().image_elements(step);
    let mut a = vec![0f32; n];
    let mut la = vec![MixLabel::default(); 33];
    gpu.augment_into(step, HostImages::F32(&mut a), &mut la)
        .unwrap();
    let mut b = vec![0f32; n];
    let mut lb = vec![MixLabel::default(); 33];
    gpu.run(step).unwrap();
    gpu.read_back(&mut HostImages::F32(&mut b), &mut lb)
        .unwrap();
    assert_eq!(la, lb);
    assert!(
        a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()),
        "reruns differ"
    );
    assert_eq!(la, cpu::labels_of(&params));
    // Wrong buffers are refused before anything runs.
    let mut short = vec![0f32; n - 1];
    assert!(matches!(
        gpu.augment_into(step, HostImages::F32(&mut short), &mut la),
        Err(Error::BufferSize { .. })
    ));
}

/// A step sends only its StepArgs: no image, label, parameter or synthetic
/// coefficient bytes (the synthetic model is uploaded once, at construction).
/// These steps' images fit one binding, so one pixel dispatch; a split step
/// also sends each further window's offsets (`split_output_matches_cpu`).
#[test]
fn per_step_upload_is_only_step_args() {
    let dataset = random_dataset(3, 32, 32, 100, 10, 1);
    let all = output_policy(&support::all_policy(), 3, DType::F32, Layout::Nchw);
    let mut pca = all.clone();
    pca.synthetic = Some(synthetic(SynthMode::Pca, ClassChoice::Training));
    let mut interpolate = all.clone();
    interpolate.synthetic = Some(synthetic(SynthMode::Interpolate, ClassChoice::Training));
    for (policy, force_uniform) in [
        (&all, false),
        (&all, true),
        (&pca, false),
        (&pca, true),
        (&interpolate, false),
    ] {
        let options = WgpuOptions {
            force_uniform_step_args: force_uniform,
            ..WgpuOptions::default()
        };
        let Some(mut gpu) = backend(policy, 1, dataset.clone(), (0..100).collect(), &options)
        else {
            return;
        };
        let immediates = gpu.device().immediates();
        for s in 0..5 {
            gpu.run(Step {
                epoch: s,
                first_position: 8 * s,
                batch_size: 16 + s,
            })
            .unwrap();
            assert_eq!(gpu.step_upload_bytes(), size_of::<StepArgs>() as u64);
        }
        gpu.wait().unwrap();
        assert_eq!(
            gpu.total_step_upload_bytes(),
            5 * size_of::<StepArgs>() as u64
        );
        println!(
            "synthetic={:?} force_uniform={force_uniform}: immediates={immediates}, {} bytes \
             per step",
            policy.synthetic.as_ref().map(|s| s.mode),
            gpu.step_upload_bytes()
        );
        if force_uniform {
            assert!(!immediates);
        }
    }
}

/// A dataset split over several bindings (limit forced small) gives the same
/// bits as the unsplit upload, and too large a dataset is a typed error.
#[test]
fn chunked_dataset_matches_unchunked() {
    // 1×13×21 = 273 bytes per image (not word aligned); 60 images = 16,380 B.
    let dataset = random_dataset(1, 13, 21, 60, 10, 4);
    let policy = output_policy(&support::all_policy(), 1, DType::F32, Layout::Nhwc);
    let subset: Vec<u32> = (0..60).collect();
    let Some(mut whole) = backend(
        &policy,
        3,
        dataset.clone(),
        subset.clone(),
        &WgpuOptions::default(),
    ) else {
        return;
    };
    assert_eq!(whole.dataset_chunks(), 1);
    let small = WgpuOptions {
        max_binding_bytes: Some(6000),
        ..WgpuOptions::default()
    };
    let mut chunked = backend(&policy, 3, dataset.clone(), subset.clone(), &small).unwrap();
    assert_eq!(chunked.dataset_chunks(), 3);
    let step = Step {
        epoch: 1,
        first_position: 0,
        batch_size: 60,
    };
    let n = whole.plan().image_elements(step);
    let (mut a, mut b) = (vec![0f32; n], vec![0f32; n]);
    let mut labels = vec![MixLabel::default(); 60];
    whole
        .augment_into(step, HostImages::F32(&mut a), &mut labels)
        .unwrap();
    chunked
        .augment_into(step, HostImages::F32(&mut b), &mut labels)
        .unwrap();
    assert!(
        a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()),
        "chunked pixels differ"
    );
    let mut totals = Observed::default();
    totals.add(&check_step("chunked 1×13×21", &mut chunked, step, &WGPU));
    totals.print("wgpu chunked");

    let tiny = WgpuOptions {
        max_binding_bytes: Some(4096),
        ..WgpuOptions::default()
    };
    match WgpuBackend::new(&policy, 3, dataset, subset, &tiny) {
        Err(Error::TooLarge { what, bytes, limit }) => {
            println!("refused as expected: {what}: {bytes} > {limit}");
        }
        Err(e) => panic!("expected TooLarge, got {e}"),
        Ok(_) => panic!("a 16 KB dataset cannot fit three 4 KB bindings"),
    }
}

/// A pool past the first dataset chunk: real images and pool images in
/// different bindings, read by index like any other (SEMANTICS.md §9a).
#[test]
fn pool_in_later_chunks_matches_cpu() {
    // 1×13×21 = 273 bytes per image; 30 real + 20 pool = 13,650 B in three
    // 6,000-byte bindings: every pool image lies in chunk 2 or 3.
    let (dataset, subset) = parity::pool_data(1, 13, 21, 30, 20, 77);
    let mut policy = output_policy(&support::all_policy(), 1, DType::F32, Layout::Nchw);
    policy.synthetic = Some(parity::pool_synthetic(0.7));
    let small = WgpuOptions {
        max_binding_bytes: Some(6000),
        ..WgpuOptions::default()
    };
    let Some(mut chunked) = backend(&policy, 5, dataset, subset, &small) else {
        return;
    };
    assert_eq!(chunked.dataset_chunks(), 3);
    let step = Step {
        epoch: 2,
        first_position: 0,
        batch_size: 24,
    };
    let seen = check_step("pool, chunked 1×13×21", &mut chunked, step, &WGPU);
    assert!(seen.synthetic > 0, "no pool sample");
    seen.print("wgpu pool chunked");
}

/// Images larger than one storage binding (`max_binding_bytes` forced to
/// 4 KB) are written by several pixel dispatches, each binding an aligned
/// window of the one images buffer: the same bits as the unsplit backend,
/// the CPU reference as everywhere else, and per step only the launch
/// arguments cross — the 32-byte StepArgs, plus each further window's
/// `out_first`/`out_base` (8 bytes as immediates, or another whole StepArgs
/// at its dynamic uniform offset).
#[test]
fn split_output_matches_cpu() {
    // 3×9×11 = 297 elements per image (odd: packed windows split samples
    // mid-word); 40 images = 11,880 B of dataset, three 4 KB chunks.
    let dataset = random_dataset(3, 9, 11, 40, 10, 12);
    let subset: Vec<u32> = (0..40).collect();
    let step = Step {
        epoch: 1,
        first_position: 3,
        batch_size: 37,
    };
    let mut totals = Observed::default();
    for (dtype, layout, force_uniform) in [
        (DType::F32, Layout::Nchw, false),
        (DType::F32, Layout::Nhwc, true),
        (DType::F16, Layout::Nchw, true),
        (DType::Bf16, Layout::Nhwc, false),
    ] {
        let policy = output_policy(&support::all_policy(), 3, dtype, layout);
        let Some(mut whole) = backend(
            &policy,
            9,
            dataset.clone(),
            subset.clone(),
            &WgpuOptions {
                force_uniform_step_args: force_uniform,
                ..WgpuOptions::default()
            },
        ) else {
            return;
        };
        let small = WgpuOptions {
            max_binding_bytes: Some(4096),
            force_uniform_step_args: force_uniform,
            ..WgpuOptions::default()
        };
        let mut split = backend(&policy, 9, dataset.clone(), subset.clone(), &small).unwrap();
        let label = format!("split {dtype:?} {layout:?} force_uniform={force_uniform}");
        totals.add(&check_step(&label, &mut split, step, &WGPU));
        let windows = u64::from(split.pixel_dispatches());
        let image_bytes = split.plan().image_elements(step) as u64
            * match dtype {
                DType::F32 => 4,
                _ => 2,
            };
        assert!(
            windows >= image_bytes.div_ceil(4096) && windows > 2,
            "{label}: {image_bytes} B of images in {windows} dispatches"
        );
        let args = size_of::<StepArgs>() as u64;
        let expected = if split.device().immediates() {
            args + (windows - 1) * 8
        } else {
            windows * args
        };
        assert_eq!(
            split.step_upload_bytes(),
            expected,
            "{label}: bytes per step"
        );
        println!(
            "{label}: {image_bytes} B of images in {windows} pixel dispatches, {} B sent",
            split.step_upload_bytes()
        );

        // Bit for bit the unsplit output.
        let n = whole.plan().image_elements(step);
        let mut labels = vec![MixLabel::default(); step.batch_size as usize];
        let mut split_labels = labels.clone();
        let mut a = Images::new(dtype, n);
        let mut b = Images::new(dtype, n);
        whole.augment_into(step, a.host(), &mut labels).unwrap();
        assert_eq!(whole.pixel_dispatches(), 1);
        split
            .augment_into(step, b.host(), &mut split_labels)
            .unwrap();
        assert!(
            a.to_f32()
                .iter()
                .zip(&b.to_f32())
                .all(|(x, y)| x.to_bits() == y.to_bits()),
            "{label}: split pixels differ"
        );
        assert_eq!(labels, split_labels, "{label}: labels");
    }
    totals.print("wgpu split output");
}

/// Timestamps per pass where the adapter has them; otherwise a reason.
#[test]
fn timestamps_per_pass_or_a_reason() {
    let dataset = random_dataset(3, 32, 32, 100, 10, 2);
    let policy = output_policy(&support::all_policy(), 3, DType::F32, Layout::Nchw);
    let options = WgpuOptions {
        timestamps: true,
        ..WgpuOptions::default()
    };
    let Some(mut gpu) = backend(&policy, 1, dataset, (0..100).collect(), &options) else {
        return;
    };
    gpu.run(Step {
        epoch: 0,
        first_position: 0,
        batch_size: 64,
    })
    .unwrap();
    gpu.wait().unwrap();
    match gpu.timestamp_support() {
        Ok(()) => {
            let t = gpu.last_timings().unwrap().expect("timestamps are on");
            println!("timings on {}: {t:?}", gpu.adapter());
            assert!(t.total_ns >= 0.0);
        }
        Err(why) => {
            println!("no timestamps on {}: {why}", gpu.adapter());
            assert!(gpu.last_timings().unwrap().is_none());
        }
    }
}

// ---------------------------------------------------------------- synthetic samples

/// The synthetic model shares the meta binding: one too large for it is a
/// typed error; a small class index (interpolate) fits beside a chunked
/// dataset and matches the CPU.
#[test]
fn synthetic_model_too_large_for_a_binding() {
    // 3×9×11 = 297 bytes per image; 40 images = 11,880 B: two 8 KB chunks.
    let dataset = random_dataset(3, 9, 11, 40, 5, 8);
    let subset: Vec<u32> = (0..40).collect();
    let cap = WgpuOptions {
        max_binding_bytes: Some(8192),
        ..WgpuOptions::default()
    };
    let mut policy = output_policy(&support::all_policy(), 3, DType::F32, Layout::Nchw);
    policy.synthetic = Some(synthetic(SynthMode::Interpolate, ClassChoice::Training));
    let Some(mut gpu) = backend(&policy, 2, dataset.clone(), subset.clone(), &cap) else {
        return;
    };
    assert_eq!(gpu.dataset_chunks(), 2);
    let mut totals = Observed::default();
    let step = Step {
        epoch: 1,
        first_position: 0,
        batch_size: 40,
    };
    totals.add(&check_step("interpolate, chunked", &mut gpu, step, &WGPU));
    totals.print("wgpu synthetic, chunked");

    // PCA: 5 classes × (1 + k) × 297 f32 — over 8 KB for any k ≥ 1.
    policy.synthetic = Some(synthetic(SynthMode::Pca, ClassChoice::Training));
    match WgpuBackend::new(&policy, 2, dataset, subset, &cap) {
        Err(Error::TooLarge { what, bytes, limit }) => {
            assert!(what.contains("synthetic"), "{what}");
            println!("refused as expected: {what}: {bytes} > {limit}");
        }
        Err(e) => panic!("expected TooLarge, got {e}"),
        Ok(_) => panic!("the PCA model cannot fit one 8 KB binding"),
    }
}

/// End to end through the `Backend` trait, nothing shared: the wgpu
/// backend's images and labels against the CPU backend's (its own params and
/// coefficients). Pixels within `10·PIXEL_ATOL + PIXEL_RTOL·|ref|`: the
/// coefficients differ by up to `COEFF_ATOL`-ish and move a PCA texel by
/// Σ_j |Δa_j·u_j|; nearest-tap boundary cases are excused as elsewhere.
#[test]
fn synthetic_backend_trait_matches_cpu_backend() {
    let (dataset, subset) = synthetic_data(3, 9, 11, 41);
    for mode in [SynthMode::Pca, SynthMode::Interpolate] {
        let mut policy = output_policy(&support::all_policy(), 3, DType::F32, Layout::Nhwc);
        policy.synthetic = Some(synthetic(mode, ClassChoice::Uniform));
        let Some(mut gpu) = backend(
            &policy,
            4,
            dataset.clone(),
            subset.clone(),
            &WgpuOptions::default(),
        ) else {
            return;
        };
        let mut cpu = CpuBackend::new(&policy, 4, dataset.clone(), subset.clone()).unwrap();
        let step = Step {
            epoch: 2,
            first_position: 17,
            batch_size: 29,
        };
        let n = gpu.plan().image_elements(step);
        let (mut a, mut b) = (vec![0f32; n], vec![0f32; n]);
        let mut la = vec![MixLabel::default(); 29];
        let mut lb = vec![MixLabel::default(); 29];
        gpu.augment_into(step, HostImages::F32(&mut a), &mut la)
            .unwrap();
        cpu.augment_into(step, HostImages::F32(&mut b), &mut lb)
            .unwrap();
        let params = gpu.last_params().unwrap();
        for (i, (x, y)) in la.iter().zip(&lb).enumerate() {
            assert_eq!((x.label_a, x.label_b), (y.label_a, y.label_b), "label {i}");
            assert!(
                (x.lambda - y.lambda).abs() <= PARAM_ATOL + PARAM_RTOL * y.lambda.abs(),
                "lambda {i}: {} vs {}",
                x.lambda,
                y.lambda
            );
        }
        let report = compare_pixels(
            gpu.plan().kernel(),
            &params,
            &b,
            &a,
            10.0 * PIXEL_ATOL,
            PIXEL_RTOL,
        );
        report.assert_ok(&format!("{mode:?} end to end"));
        let synthetic = params
            .iter()
            .filter(|p| p.flags & flags::SYNTHETIC != 0)
            .count();
        assert!(synthetic > 0, "{mode:?}: no synthetic sample");
    }
}

/// The auto ops (TrivialAugment-Wide nearest and bilinear, RandAugment with
/// two ops; alone and with every technique): the shared parity check of
/// each step, and the reduction pass's results (`augment_stats`) against
/// `cpu::step_auto_stats` of the same parameters — Contrast means within
/// `MEAN_ATOL`, AutoContrast's min/max within `PIXEL_ATOL` (exact
/// operations over pixels that may differ by that much), Equalize's tables
/// identical.
#[test]
fn auto_ops_match_cpu() {
    use augkit::cpu::auto::auto_op_count;
    use augkit::internals::kernel_args::{
        AUTO_OP_AUTOCONTRAST, AUTO_OP_CONTRAST, AUTO_OP_EQUALIZE, MAX_AUTO_OPS,
    };
    use augkit::wgpu::STATS_PER_OP;
    let mut total = Observed::default();
    let mut reductions = [0usize; 3];
    let mut mean_error = 0.0f32;
    let mut minmax_error = 0.0f32;
    for case in parity::auto_ops() {
        let Some(mut gpu) = for_case(&case) else {
            return;
        };
        for &step in &case.steps {
            let label = format!("{} {step:?}", case.name);
            total.add(&check_step(&label, &mut gpu, step, &WGPU));
            let plan = gpu.plan().clone();
            let params = gpu.last_params().unwrap();
            let coefficients = gpu.last_synth_coefficients().unwrap();
            let src = cpu::plan_source(&plan, &coefficients);
            let expected = cpu::step_auto_stats(plan.kernel(), &src, &params);
            let got = gpu.last_auto_stats().unwrap();
            let per_sample = (MAX_AUTO_OPS * STATS_PER_OP) as usize;
            assert_eq!(got.len(), params.len() * per_sample, "{label}: stats");
            let channels = plan.kernel().channels as usize;
            for (i, (p, e)) in params.iter().zip(&expected).enumerate() {
                for k in 0..auto_op_count(p) {
                    let at = i * per_sample + k * STATS_PER_OP as usize;
                    let w = &got[at..at + STATS_PER_OP as usize];
                    let what = format!("{label}: sample {i} op {k}");
                    match (p.auto_ops >> (8 * k)) & 0xff {
                        AUTO_OP_CONTRAST => {
                            let err = (w[0] - e.mean[k]).abs();
                            assert!(err <= MEAN_ATOL, "{what}: mean {} vs {}", w[0], e.mean[k]);
                            mean_error = mean_error.max(err);
                            reductions[0] += 1;
                        }
                        AUTO_OP_AUTOCONTRAST => {
                            // Exact operations over the stage before, whose
                            // pixels may differ by the pixel tolerance.
                            for c in 0..channels {
                                for (got, want) in [(w[c], e.lo[k][c]), (w[3 + c], e.hi[k][c])] {
                                    let err = (got - want).abs();
                                    assert!(err <= PIXEL_ATOL, "{what}: min/max {got} vs {want}");
                                    minmax_error = minmax_error.max(err);
                                }
                            }
                            reductions[1] += 1;
                        }
                        AUTO_OP_EQUALIZE => {
                            for c in 0..channels {
                                let lut: Vec<f32> =
                                    e.lut[k][c].iter().map(|&b| f32::from(b)).collect();
                                assert_eq!(&w[c * 256..(c + 1) * 256], &lut[..], "{what}: LUT {c}");
                            }
                            reductions[2] += 1;
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    total.print("wgpu auto_ops_match_cpu");
    println!(
        "auto reductions compared: {} contrast means (max |Δ| {mean_error:.3e}), {} autocontrast \
         (max |Δ| {minmax_error:.3e}), {} equalize (identical)",
        reductions[0], reductions[1], reductions[2]
    );
    assert!(
        reductions.iter().all(|&n| n > 0),
        "a reduction kind never ran: {reductions:?}"
    );
}
