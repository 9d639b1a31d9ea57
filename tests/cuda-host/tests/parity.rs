//! Host-emulated CUDA kernels vs the CPU reference, on fresh random inputs:
//! every technique alone and together, every dtype and layout, awkward sizes,
//! synthetic samples, TrivialAugment-Wide / RandAugment (with the
//! statistics pass checked on its own) — the shared matrices of `tests/support/parity.rs` on
//! [`EmuBackend`](augkit_cuda_host::EmuBackend).
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

use augkit::internals::kernel_args::{
    AUTO_OP_AUTOCONTRAST, AUTO_OP_CONTRAST, AUTO_OP_EQUALIZE, MAX_AUTO_OPS, flags,
};
use augkit::policy::{ClassChoice, SynthMode};
use augkit::{DType, Plan, Policy, Step, cpu};
use augkit_cuda_host::{self as emu, EmuBackend};
use support::dtype_rtol;
use support::parity::{self, Case, Tolerances, synthetic, synthetic_data};

const HOST: Tolerances = Tolerances {
    param_atol: 1e-4,
    param_rtol: 1e-5,
    coeff_atol: 1e-5,
    coeff_rtol: 1e-5,
    mean_atol: 1e-6,
    pixels: |dtype| match dtype {
        DType::F32 => (1e-6, 1e-6),
        other => (1e-6, dtype_rtol(other)),
    },
};

fn emulated(case: &Case) -> Option<EmuBackend> {
    Some(
        EmuBackend::new(
            &case.policy,
            case.seed,
            case.dataset.clone(),
            case.subset.clone(),
        )
        .unwrap(),
    )
}

parity_tests!("cuda-host", HOST, emulated;
    every_technique_alone_and_together => parity::techniques_by_shape,
    all_dtypes_and_layouts => parity::dtypes_and_layouts,
    odd_sizes => parity::odd_sizes,
    many_steps_and_seeds_of_the_all_policy => parity::many_steps_and_seeds,
    synthetic_matches_cpu => parity::synthetic_every_format,
    pool_matches_cpu => parity::pool_every_format,
    erasing_matches_cpu => parity::erasing_every_format,
    auto_ops_by_shape => parity::auto_ops_by_shape,
    auto_ops_every_format => parity::auto_ops_every_format,
);

/// The statistics pass itself against the CPU's reductions
/// (`cpu::step_auto_stats`) on the emulated parameters: Contrast means
/// within 1e-6, AutoContrast min/max and Equalize LUTs identical, for
/// every reduction op of every sample (the pixel parity above sees them
/// only through the pixels).
#[test]
fn auto_stats_match_cpu() {
    let words = emu::auto_stats_words();
    let slot_words = words / MAX_AUTO_OPS as usize;
    let mut reductions = 0;
    for case in parity::auto_ops_by_shape() {
        let plan = Plan::new(
            &case.policy,
            case.seed,
            case.dataset.clone(),
            case.subset.clone(),
        )
        .unwrap();
        let args = plan.step_args(case.steps[0]).unwrap();
        let synth = plan.synth().map(|s| &**s);
        let (params, _, coefficients) = emu::params(
            plan.kernel(),
            args,
            plan.subset(),
            plan.dataset().labels(),
            synth,
        );
        let scratch = emu::auto_stats(
            plan.kernel(),
            args,
            plan.dataset(),
            synth,
            &coefficients,
            &params,
        );
        let src = cpu::plan_source(&plan, &coefficients);
        let expected = cpu::step_auto_stats(plan.kernel(), &src, &params);
        let channels = plan.kernel().channels as usize;
        for (i, (p, e)) in params.iter().zip(&expected).enumerate() {
            if p.flags & flags::AUTO == 0 {
                continue;
            }
            for op_index in 0..MAX_AUTO_OPS as usize {
                let op = (p.auto_ops >> (8 * op_index)) & 0xff;
                let at = i * words + op_index * slot_words;
                let got = &scratch.stats[at..at + slot_words];
                let what = format!("{} sample {i} op {op_index} ({op})", case.name);
                match op {
                    AUTO_OP_CONTRAST => {
                        let mean = f32::from_bits(got[0]);
                        assert!(
                            (mean - e.mean[op_index]).abs() <= 1e-6,
                            "{what}: mean {mean} vs {}",
                            e.mean[op_index]
                        );
                    }
                    AUTO_OP_AUTOCONTRAST => {
                        for c in 0..channels {
                            assert_eq!(
                                f32::from_bits(got[1 + c]),
                                e.lo[op_index][c],
                                "{what}: min {c}"
                            );
                            assert_eq!(
                                f32::from_bits(got[4 + c]),
                                e.hi[op_index][c],
                                "{what}: max {c}"
                            );
                        }
                    }
                    AUTO_OP_EQUALIZE => {
                        let lut: &[u8] = bytemuck::cast_slice(&got[8..]);
                        for c in 0..channels {
                            assert_eq!(
                                &lut[c * 256..(c + 1) * 256],
                                &e.lut[op_index][c][..],
                                "{what}: LUT {c}"
                            );
                        }
                    }
                    _ => continue,
                }
                reductions += 1;
            }
        }
    }
    println!("auto-op statistics: {reductions} reductions identical to the CPU's");
    assert!(reductions > 50, "only {reductions} reductions compared");
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
    let k = plan.kernel().synth_components as usize;
    assert!(k > 0, "PCA kept no component");
    let args = plan
        .step_args(Step {
            epoch: 1,
            first_position: 0,
            batch_size: plan.subset().len() as u32,
        })
        .unwrap();
    let (params, _, coefficients) = emu::params(
        plan.kernel(),
        args,
        plan.subset(),
        plan.dataset().labels(),
        plan.synth().map(|s| &**s),
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
