//! Host-emulated CUDA kernels vs the CPU reference, on fresh random inputs:
//! every technique alone and together, every dtype and layout, awkward sizes.
//!
//! Parameters: integers identical, floats within 1e-4 + 1e-5·|ref| (the
//! kernels' small-argument sin/cos is within ~1 ulp of libm's; the affine's
//! offset column cancels terms of the image's size, so its error is absolute,
//! in pixels: 1e-4 px moves no sample point noticeably). Synthetic
//! coefficients (σ_j·z_j, from the emulated parameters' classes) within
//! 1e-5 + 1e-5·|ref|. Contrast means within 1e-6. Pixels: the CPU renders
//! the *emulated* parameters, synthetic coefficients and means
//! (`cpu::render_from` of `cpu::plan_source`); f32 within 1e-6 + 1e-6·|ref|,
//! f16/bf16 within one unit of their rounding. Max errors are printed
//! (`-- --nocapture`).
//!
//! Run: `cargo test -p augkit-cuda-host --test parity -- --nocapture`.

#[path = "../../support/mod.rs"]
mod support;

use std::sync::Arc;

use augkit::kernel_args::flags;
use augkit::policy::{ClassChoice, SynthMode, Synthetic};
use augkit::{DType, Dataset, Layout, Plan, Policy, Step, cpu};
use augkit_cuda_host as emu;
use support::{
    compare_params, compare_pixels, dtype_rtol, policy_matrix, random_dataset, random_subset,
    with_output,
};

const PARAM_ATOL: f32 = 1e-4;
const PARAM_RTOL: f32 = 1e-5;
const MEAN_ATOL: f32 = 1e-6;
const COEFF_ATOL: f32 = 1e-5;
const COEFF_RTOL: f32 = 1e-5;
const F32_ATOL: f32 = 1e-6;
const F32_RTOL: f32 = 1e-6;

struct Case<'a> {
    name: &'a str,
    policy: Policy,
    data: Arc<Dataset>,
    subset: Vec<u32>,
    step: Step,
    dtype: DType,
    layout: Layout,
    seed: u64,
}

/// What one case observed, for the summary line.
#[derive(Default)]
struct Observed {
    param_error: f32,
    coeff_error: f32,
    mean_error: f32,
    pixel_error: f32,
    bit_mismatches: usize,
    synthetic: usize,
}

fn check(case: Case<'_>) -> Observed {
    let channels = case.data.shape().channels;
    let policy = with_output(case.policy, channels, case.dtype, case.layout);
    let plan = Plan::new(&policy, case.seed, case.data.clone(), case.subset).unwrap();
    let args = plan.step_args(case.step).unwrap();
    let what = format!(
        "{} {}x{}x{} B={} {:?} {:?}",
        case.name,
        channels,
        case.data.shape().height,
        case.data.shape().width,
        case.step.batch_size,
        case.dtype,
        case.layout
    );

    // Parameters pass (and the synthetic coefficients it writes).
    let synth = plan.synth.as_deref();
    let reference = cpu::step_params(&plan, args);
    let (params, labels, coefficients) = emu::params(
        &plan.kernel,
        args,
        &plan.subset,
        plan.dataset.labels(),
        synth,
    );
    let report = compare_params(&plan, args, &reference, &params, PARAM_ATOL, PARAM_RTOL);
    report.assert_ok(&format!("{what}: params"));
    assert_eq!(labels, cpu::labels_of(&params), "{what}: labels");
    let cpu_coefficients = cpu::step_synth_coefficients(&plan, args, &params);
    assert_eq!(coefficients.len(), cpu_coefficients.len(), "{what}");
    let mut coeff_error = 0.0f32;
    for (j, (r, o)) in cpu_coefficients.iter().zip(&coefficients).enumerate() {
        let err = (r - o).abs();
        assert!(
            err <= COEFF_ATOL + COEFF_RTOL * r.abs(),
            "{what}: synthetic coefficient {j} (sample {}): expected {r}, got {o}",
            j / plan.kernel.synth_components as usize
        );
        coeff_error = coeff_error.max(err);
    }
    let src = cpu::plan_source(&plan, &coefficients);

    // Contrast reduction, on the emulated parameters and coefficients.
    let cpu_means = cpu::step_contrast_means_from(&plan.kernel, &src, &params);
    let means = emu::contrast_means(
        &plan.kernel,
        args,
        &plan.dataset,
        synth,
        &coefficients,
        &params,
    );
    let mut mean_error = 0.0f32;
    for (i, (r, o)) in cpu_means.iter().zip(&means).enumerate() {
        let err = (r - o).abs();
        assert!(
            err <= MEAN_ATOL,
            "{what}: contrast mean {i}: expected {r}, got {o}"
        );
        mean_error = mean_error.max(err);
    }

    // Pixel pass, on the emulated parameters, coefficients and means.
    let (values, bits) = emu::pixels(
        &plan.kernel,
        args,
        &plan.dataset,
        synth,
        &coefficients,
        &params,
        &means,
        case.dtype,
    );
    let n = values.len();
    let (expected, expected_bits): (Vec<f32>, Vec<u16>) = match case.dtype {
        DType::F32 => {
            let mut out = vec![0f32; n];
            cpu::render_from(&plan.kernel, &src, &params, &means, &mut out);
            (out, Vec::new())
        }
        DType::F16 => {
            let mut out = vec![half::f16::ZERO; n];
            cpu::render_from(&plan.kernel, &src, &params, &means, &mut out);
            (
                out.iter().map(|v| v.to_f32()).collect(),
                out.iter().map(|v| v.to_bits()).collect(),
            )
        }
        DType::Bf16 => {
            let mut out = vec![half::bf16::ZERO; n];
            cpu::render_from(&plan.kernel, &src, &params, &means, &mut out);
            (
                out.iter().map(|v| v.to_f32()).collect(),
                out.iter().map(|v| v.to_bits()).collect(),
            )
        }
    };
    let (atol, rtol) = match case.dtype {
        DType::F32 => (F32_ATOL, F32_RTOL),
        other => (F32_ATOL, dtype_rtol(other)),
    };
    let pixels = compare_pixels(&plan.kernel, &params, &expected, &values, atol, rtol);
    pixels.assert_ok(&format!("{what}: pixels"));
    let bit_mismatches = if case.dtype == DType::F32 {
        expected
            .iter()
            .zip(&values)
            .filter(|(a, b)| a.to_bits() != b.to_bits())
            .count()
    } else {
        expected_bits
            .iter()
            .zip(&bits)
            .filter(|(a, b)| a != b)
            .count()
    };
    Observed {
        param_error: report.max_float_error,
        coeff_error,
        mean_error,
        pixel_error: pixels.max_abs_error,
        bit_mismatches,
        synthetic: params
            .iter()
            .filter(|p| p.flags & flags::SYNTHETIC != 0)
            .count(),
    }
}

fn summarise(label: &str, observed: &[Observed]) {
    let max = |f: fn(&Observed) -> f32| observed.iter().map(f).fold(0.0f32, f32::max);
    println!(
        "{label}: {} cases ({} synthetic samples); max |Δ| params {:.3e}, synthetic coefficients \
         {:.3e}, contrast means {:.3e}, pixels {:.3e}; {} elements not bit-identical",
        observed.len(),
        observed.iter().map(|o| o.synthetic).sum::<usize>(),
        max(|o| o.param_error),
        max(|o| o.coeff_error),
        max(|o| o.mean_error),
        max(|o| o.pixel_error),
        observed.iter().map(|o| o.bit_mismatches).sum::<usize>()
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
fn every_technique_alone_and_together() {
    let mut observed = Vec::new();
    for (p, (name, policy)) in policy_matrix().into_iter().enumerate() {
        for (s, &(c, h, w)) in SHAPES.iter().enumerate() {
            let seed = 1000 + (p * 7 + s) as u64;
            let data = random_dataset(c, h, w, 90, 10, seed);
            let subset = random_subset(90, 80, seed);
            let batch = [1u32, 7, 65][(p + s) % 3];
            let (dtype, layout) = FORMATS[(p + 2 * s) % FORMATS.len()];
            observed.push(check(Case {
                name,
                policy: policy.clone(),
                data,
                subset,
                step: Step {
                    epoch: (p % 3) as u32,
                    first_position: (s as u32 * 5) % 15,
                    batch_size: batch,
                },
                dtype,
                layout,
                seed: seed * 0x9e37_79b9,
            }));
        }
    }
    summarise("every technique", &observed);
}

#[test]
fn all_dtypes_and_layouts() {
    let mut observed = Vec::new();
    for name in [
        "all",
        "affine_bilinear_continuous",
        "jitter",
        "crop_resized_bilinear",
    ] {
        let policy = policy_matrix()
            .into_iter()
            .find(|(n, _)| *n == name)
            .unwrap()
            .1;
        for &(c, h, w) in &SHAPES[..2] {
            for &(dtype, layout) in &FORMATS {
                let data = random_dataset(c, h, w, 30, 5, 77 + u64::from(c));
                observed.push(check(Case {
                    name,
                    policy: policy.clone(),
                    subset: (0..30).collect(),
                    data,
                    step: Step {
                        epoch: 3,
                        first_position: 4,
                        batch_size: 7,
                    },
                    dtype,
                    layout,
                    seed: 0xdead_beef_0000_0001,
                }));
            }
        }
    }
    summarise("dtypes and layouts", &observed);
}

#[test]
fn odd_sizes() {
    let mut observed = Vec::new();
    let policy = support::all_policy();
    for (c, h, w) in [(3, 1, 1), (1, 1, 5), (3, 17, 23), (1, 31, 9), (3, 33, 16)] {
        for batch in [1u32, 7, 65] {
            let data = random_dataset(c, h, w, 70, 3, u64::from(h * 100 + w));
            observed.push(check(Case {
                name: "all",
                policy: policy.clone(),
                subset: random_subset(70, 66, 5),
                data,
                step: Step {
                    epoch: batch,
                    first_position: 66 - batch,
                    batch_size: batch,
                },
                dtype: DType::F32,
                layout: if batch == 7 {
                    Layout::Nhwc
                } else {
                    Layout::Nchw
                },
                seed: u64::from(batch) << 40 | 12345,
            }));
        }
    }
    summarise("odd sizes", &observed);
}

#[test]
fn many_steps_and_seeds_of_the_all_policy() {
    let mut observed = Vec::new();
    let data = random_dataset(3, 32, 32, 200, 10, 4242);
    for seed in [0u64, 1, u64::MAX, 0x0123_4567_89ab_cdef] {
        for epoch in 0..3 {
            for first in [0u32, 64, 128] {
                observed.push(check(Case {
                    name: "all",
                    policy: support::all_policy(),
                    subset: random_subset(200, 192, seed),
                    data: data.clone(),
                    step: Step {
                        epoch,
                        first_position: first,
                        batch_size: 64,
                    },
                    dtype: DType::F32,
                    layout: Layout::Nchw,
                    seed,
                }));
            }
        }
    }
    summarise("all policy, many steps", &observed);
}

// ---------------------------------------------------------------- synthetic samples

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

/// Random images of 5 classes; the subset leaves class 2 out, so "present
/// classes" differs from "all classes" (uniform class choice must skip it).
fn synthetic_data(c: u32, h: u32, w: u32, seed: u64) -> (Arc<Dataset>, Vec<u32>) {
    let dataset = random_dataset(c, h, w, 120, 5, seed);
    let subset = random_subset(120, 120, seed)
        .into_iter()
        .filter(|&i| dataset.labels()[i as usize] != 2)
        .collect();
    (dataset, subset)
}

/// Synthetic PCA (training and uniform class choice) and interpolation,
/// alone and with every technique (nearest; bilinear crop with the `source`
/// contrast mean), 1 and 3 channels, non-square, f32/f16/bf16 in both
/// layouts: params, coefficients, contrast means and pixels against the CPU.
#[test]
fn synthetic_matches_cpu() {
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
        ("alone", Policy::from_toml_str("").unwrap()),
        ("all", support::all_policy()),
        ("bilinear+source", bilinear_source),
    ];
    let shapes = [(1, 13, 21), (3, 9, 11), (3, 12, 12), (1, 7, 5)];
    let batches = [33u32, 65, 7];
    let mut observed = Vec::new();
    let mut n = 0;
    for (mode_name, mode, class_choice) in modes {
        for (base_name, base) in &bases {
            for (dtype, layout) in FORMATS {
                let (c, h, w) = shapes[n % shapes.len()];
                let batch = batches[n % batches.len()];
                let (data, subset) = synthetic_data(c, h, w, 300 + n as u64);
                let mut policy = base.clone();
                policy.synthetic = Some(synthetic(mode, class_choice));
                for step in [
                    Step {
                        epoch: 0,
                        first_position: 5,
                        batch_size: batch,
                    },
                    Step {
                        epoch: 3,
                        first_position: 60,
                        batch_size: 1,
                    },
                ] {
                    let name = format!("{mode_name} {base_name}");
                    let seen = check(Case {
                        name: &name,
                        policy: policy.clone(),
                        data: data.clone(),
                        subset: subset.clone(),
                        step,
                        dtype,
                        layout,
                        seed: 11 + n as u64,
                    });
                    if step.batch_size > 1 {
                        assert!(
                            seen.synthetic > 0,
                            "{name} step {step:?}: no synthetic sample"
                        );
                    }
                    observed.push(seen);
                }
                n += 1;
            }
        }
    }
    summarise("synthetic", &observed);
}

/// Uniform class choice never picks the class missing from the subset, and
/// the coefficients of a PCA step are nonzero exactly for synthetic samples
/// of classes that kept components.
#[test]
fn synthetic_uniform_skips_missing_classes() {
    let (data, subset) = synthetic_data(3, 9, 11, 5);
    let mut policy = Policy::from_toml_str("").unwrap();
    policy.synthetic = Some(synthetic(SynthMode::Pca, ClassChoice::Uniform));
    let plan = Plan::new(&policy, 3, data, subset).unwrap();
    let k = plan.kernel.synth_components as usize;
    assert!(k > 0, "PCA kept no component");
    let args = plan
        .step_args(Step {
            epoch: 1,
            first_position: 0,
            batch_size: plan.subset.len() as u32,
        })
        .unwrap();
    let (params, _, coefficients) = emu::params(
        &plan.kernel,
        args,
        &plan.subset,
        plan.dataset.labels(),
        plan.synth.as_deref(),
    );
    let mut classes = std::collections::BTreeSet::new();
    for (i, p) in params.iter().enumerate() {
        let row = &coefficients[i * k..(i + 1) * k];
        if p.flags & flags::SYNTHETIC != 0 {
            assert_ne!(p.label_a, 2, "sample {i}: class 2 has no subset image");
            classes.insert(p.label_a);
            assert!(
                row.iter().any(|&a| a != 0.0),
                "sample {i}: zero coefficients"
            );
        } else {
            assert!(row.iter().all(|&a| a == 0.0), "sample {i}: {row:?}");
        }
    }
    assert_eq!(classes.len(), 4, "present classes drawn: {classes:?}");
}
