//! The one-pass, vectorised pixel pass (`pairs.rs`, `scratch.rs`,
//! `colour.rs`) against its slow twin `augment::render_sample_per_pixel`,
//! bit for bit: every technique alone and all together, synthetic samples,
//! both layouts, every dtype, 1 and 3 channels, odd and larger sizes,
//! batches 1, 7 and 65, each instruction-set level, means given and taken in
//! the pass, and mix partners outside the pair.
//! Run: `cargo test -p augkit --lib cpu::fused_tests`.

use std::sync::Arc;

use super::augment::{self, OutElem};
use super::pairs::{OutSample, render_step_at};
use super::pixel::Source;
use super::simd::Isa;
use super::{
    plan_source, step_contrast_means_from, step_params, step_source, step_synth_coefficients,
};
use crate::kernel_args::{SampleParams, flags};
use crate::policy::Output;
use crate::{DType, Dataset, ImageShape, Layout, Plan, Policy, Step};

fn random_dataset(channels: u32, height: u32, width: u32, n: usize, seed: u64) -> Arc<Dataset> {
    let shape = ImageShape::new(channels, height, width).unwrap();
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move || {
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        s.wrapping_mul(0x2545_F491_4F6C_DD1D)
    };
    let pixels = (0..n * shape.elements())
        .map(|_| (next() >> 40) as u8)
        .collect();
    let labels = (0..n).map(|_| (next() % 10) as u32).collect();
    Arc::new(Dataset::new(shape, pixels, labels, 10).unwrap())
}

/// Each technique alone and everything together.
fn policies() -> Vec<(&'static str, &'static str)> {
    const ALL: &str = "horizontal_flip = 0.5\nvertical_flip = 0.2\n\
        [crop]\nkind = \"pad\"\npadding = 3\n\
        [affine]\np = 0.7\ndegrees = 15.0\ntranslate = [0.1, 0.1]\nscale = [0.9, 1.1]\nfill = 0.25\n\
        [color_jitter]\nbrightness = 0.4\ncontrast = 0.4\nsaturation = 0.4\nhue = 0.1\n\
        [mix]\nmixup_alpha = 0.4\ncutmix_alpha = 1.0\nprob = 0.9\n";
    vec![
        ("identity", ""),
        ("crop_pad", "[crop]\nkind = \"pad\"\npadding = 4\n"),
        (
            "crop_flip",
            "horizontal_flip = 0.5\n[crop]\nkind = \"pad\"\npadding = 4\n",
        ),
        (
            "crop_resized",
            "[crop]\nkind = \"resized\"\nscale = [0.2, 1.0]\n",
        ),
        (
            "crop_resized_bilinear",
            "[crop]\nkind = \"resized\"\ninterpolation = \"bilinear\"\n",
        ),
        (
            "crop_resized_nearest_exact_flip",
            "horizontal_flip = 0.5\n[crop]\nkind = \"resized\"\ninterpolation = \"nearest_exact\"\n",
        ),
        (
            "crop_resized_affine_bilinear",
            "[crop]\nkind = \"resized\"\nscale = [0.3, 1.0]\n\
             [affine]\ndegrees = 15.0\ntranslate = [0.1, 0.1]\ninterpolation = \"bilinear\"\nfill = 0.5\n\
             [color_jitter]\ncontrast = 0.4\n",
        ),
        ("vflip", "vertical_flip = 0.5\n"),
        (
            "affine",
            "[affine]\ndegrees = 30.0\ntranslate = [0.1, 0.2]\nscale = [0.8, 1.2]\nfill = 0.25\n",
        ),
        (
            "affine_bilinear",
            "[affine]\ndegrees = 15.0\ntranslate = [0.1, 0.1]\ntranslate_mode = \"continuous\"\ninterpolation = \"bilinear\"\nfill = 0.5\n",
        ),
        ("brightness", "[color_jitter]\nbrightness = 0.4\n"),
        ("contrast", "[color_jitter]\ncontrast = 0.4\n"),
        (
            "contrast_source",
            "[color_jitter]\ncontrast = 0.4\nbrightness = 0.3\ncontrast_mean = \"source\"\n",
        ),
        ("saturation", "[color_jitter]\nsaturation = 0.9\n"),
        ("hue", "[color_jitter]\nhue = 0.5\n"),
        (
            "jitter",
            "[color_jitter]\np = 0.8\nbrightness = 0.4\ncontrast = 0.4\nsaturation = 0.4\nhue = 0.1\n",
        ),
        ("mixup", "[mix]\nmixup_alpha = 0.4\n"),
        ("cutmix", "[mix]\ncutmix_alpha = 1.0\n"),
        (
            "mix_pair",
            "[mix]\nmixup_alpha = 0.8\ncutmix_alpha = 1.0\nmode = \"pair\"\nprob = 0.7\n",
        ),
        (
            "synthetic_pca",
            "[synthetic]\nfraction = 0.5\ncomponents = 3\n",
        ),
        (
            "synthetic_interpolate",
            "[synthetic]\nmode = \"interpolate\"\nfraction = 0.5\n[color_jitter]\ncontrast = 0.4\n",
        ),
        ("all", ALL),
        ("trivial_augment", "[trivial_augment]\n"),
        (
            "trivial_augment_bilinear",
            "[trivial_augment]\nwide = false\ninterpolation = \"bilinear\"\nfill = 0.25\n",
        ),
        (
            "rand_augment",
            "[rand_augment]\nnum_ops = 2\nmagnitude = 20\nfill = 0.5\n[color_jitter]\ncontrast = 0.4\n",
        ),
        (
            "all_trivial_augment",
            "horizontal_flip = 0.5\n[crop]\nkind = \"pad\"\npadding = 3\n[trivial_augment]\n\
             [color_jitter]\nbrightness = 0.4\ncontrast = 0.4\nsaturation = 0.4\nhue = 0.1\n\
             [mix]\nmixup_alpha = 0.4\ncutmix_alpha = 1.0\nprob = 0.9\n",
        ),
        (
            "erasing_const",
            "[erasing]\np = 0.8\nvalue = 0.5\ncount = [1, 3]\n[color_jitter]\ncontrast = 0.4\n",
        ),
        (
            "erasing_channel_cutmix",
            "[erasing]\np = 0.9\nmode = \"channel\"\ncount = 3\nscale = [0.1, 0.5]\n[mix]\ncutmix_alpha = 1.0\n",
        ),
        (
            "erasing_pixel_mixup",
            "[erasing]\np = 0.9\nmode = \"pixel\"\n[mix]\nmixup_alpha = 0.4\n",
        ),
    ]
}

fn policy(body: &str, channels: u32, dtype: DType, layout: Layout) -> Policy {
    let mut p = Policy::from_toml_str(body).unwrap_or_else(|e| panic!("{e}\n{body}"));
    let (mean, std) = if channels == 3 {
        (vec![0.4914, 0.4822, 0.4465], vec![0.2470, 0.2435, 0.2616])
    } else {
        (vec![0.2860], vec![0.3530])
    };
    p.output = Output {
        mean,
        std,
        dtype,
        layout,
    };
    p
}

/// The slow twin's rendering of a step.
fn slow<T: OutElem + Default>(
    plan: &Plan,
    src: &Source<'_>,
    params: &[SampleParams],
    means: &[f32],
) -> Vec<T> {
    let e = src.shape.elements();
    let mut out = vec![T::default(); params.len() * e];
    for (i, chunk) in out.chunks_mut(e).enumerate() {
        augment::render_sample_per_pixel(&plan.kernel, src, params, means, i, chunk);
    }
    out
}

/// Bit patterns of rendered values (f32, f16 or bf16).
trait Bits: OutSample + Default {
    fn bits(self) -> u32;
}
impl Bits for f32 {
    fn bits(self) -> u32 {
        self.to_bits()
    }
}
impl Bits for half::f16 {
    fn bits(self) -> u32 {
        u32::from(self.to_bits())
    }
}
impl Bits for half::bf16 {
    fn bits(self) -> u32 {
        u32::from(self.to_bits())
    }
}

/// Renders `params` every way the fast path can and compares each with the
/// slow twin; returns how many renderings were compared.
fn check<T: Bits>(what: &str, plan: &Plan, src: &Source<'_>, params: &[SampleParams]) -> usize {
    let means = step_contrast_means_from(&plan.kernel, src, params);
    let expected: Vec<T> = slow(plan, src, params, &means);
    let mut compared = 0;
    for isa in Isa::available() {
        for given in [Some(means.as_slice()), None] {
            let mut fast = vec![T::default(); expected.len()];
            render_step_at(isa, &plan.kernel, src, params, given, &mut fast);
            let faults: Vec<usize> = (0..fast.len())
                .filter(|&j| fast[j].bits() != expected[j].bits())
                .collect();
            assert!(
                faults.is_empty(),
                "{what} {isa:?} means {}: {} of {} values differ, first at {:?}: {:#x} vs {:#x}",
                if given.is_some() {
                    "given"
                } else {
                    "in the pass"
                },
                faults.len(),
                fast.len(),
                faults.first(),
                fast[faults[0]].bits(),
                expected[faults[0]].bits(),
            );
            compared += 1;
        }
    }
    compared
}

fn run_case<T: Bits>(
    name: &str,
    body: &str,
    (c, h, w): (u32, u32, u32),
    batch: u32,
    dtype: DType,
    layout: Layout,
) {
    let data = random_dataset(c, h, w, 80, u64::from(c * 1000 + h * 10 + w));
    let plan = Plan::whole_dataset(&policy(body, c, dtype, layout), 13, data).unwrap();
    let step = Step {
        epoch: 1,
        first_position: 3,
        batch_size: batch,
    };
    let args = plan.step_args(step).unwrap();
    let params = step_params(&plan, args);
    let coefficients = step_synth_coefficients(&plan, args, &params);
    let src = step_source(&plan, args, &coefficients);
    let what = format!("{name} {c}×{h}×{w} b{batch} {dtype:?} {layout:?}");
    assert!(check::<T>(&what, &plan, &src, &params) >= 2);
}

#[test]
fn every_policy_matches_the_slow_twin_in_f32() {
    for (name, body) in policies() {
        for shape in [(3, 7, 5), (1, 9, 4), (3, 16, 16), (3, 13, 32)] {
            for layout in [Layout::Nchw, Layout::Nhwc] {
                for batch in [1, 7, 65] {
                    run_case::<f32>(name, body, shape, batch, DType::F32, layout);
                }
            }
        }
    }
}

/// Larger, non-square images (a few thousand pixels, odd sides).
#[test]
fn larger_images_match_the_slow_twin() {
    for (name, body) in policies() {
        for shape in [(3, 40, 30), (1, 33, 17)] {
            run_case::<f32>(name, body, shape, 7, DType::F32, Layout::Nchw);
        }
    }
}

#[test]
fn narrow_dtypes_match_the_slow_twin() {
    for (name, body) in policies() {
        for shape in [(3, 9, 11), (1, 8, 8)] {
            for layout in [Layout::Nchw, Layout::Nhwc] {
                run_case::<half::f16>(name, body, shape, 7, DType::F16, layout);
                run_case::<half::bf16>(name, body, shape, 7, DType::Bf16, layout);
            }
        }
    }
}

/// Partners that are not the pair's other sample (parameters made by hand:
/// the parameters pass always pairs i with B−1−i) are rendered on their own.
#[test]
fn partners_outside_the_pair_match_the_slow_twin() {
    let data = random_dataset(3, 12, 10, 80, 5);
    for body in [
        "[mix]\nmixup_alpha = 0.4\n",
        "[mix]\ncutmix_alpha = 1.0\n[color_jitter]\ncontrast = 0.5\nhue = 0.2\n",
    ] {
        let plan = Plan::whole_dataset(&policy(body, 3, DType::F32, Layout::Nchw), 3, data.clone())
            .unwrap();
        let step = Step {
            epoch: 0,
            first_position: 0,
            batch_size: 9,
        };
        let mut params = step_params(&plan, plan.step_args(step).unwrap());
        let mut moved = 0;
        for (i, p) in params.iter_mut().enumerate() {
            p.partner = ((i + 3) % 9) as u32;
            moved += usize::from(p.flags & flags::MIXED != 0);
        }
        assert!(moved > 0, "some samples must mix");
        let src = plan_source(&plan, &[]);
        check::<f32>("partners outside the pair", &plan, &src, &params);
    }
}

/// Every ordered pair of auto ops (RandAugment's two-op chains), nearest
/// and bilinear, 1 and 3 channels: the stage-by-stage fast path against the
/// per-pixel definition, bit for bit.
#[test]
fn every_auto_op_pair_matches_the_slow_twin() {
    use crate::kernel_args::AUTO_OP_COUNT;
    use crate::params::{
        AUTO_IDENTITY_MAP, auto_magnitude, auto_op_map, auto_op_moves_pixels, auto_op_signed,
        compose_affine,
    };
    let n = AUTO_OP_COUNT;
    for (c, interpolation) in [(3, "nearest"), (1, "bilinear"), (3, "bilinear")] {
        let body = format!(
            "[rand_augment]\nnum_ops = 2\nmagnitude = 20\nfill = 0.3\ninterpolation = \"{interpolation}\"\n\
             [color_jitter]\ncontrast = 0.4\n"
        );
        let data = random_dataset(c, 11, 9, 200, 21);
        let plan =
            Plan::whole_dataset(&policy(&body, c, DType::F32, Layout::Nchw), 2, data).unwrap();
        let k = &plan.kernel;
        let step = Step {
            epoch: 0,
            first_position: 0,
            batch_size: n * n,
        };
        let args = plan.step_args(step).unwrap();
        let mut params = step_params(&plan, args);
        for (i, p) in params.iter_mut().enumerate() {
            let ops = [i as u32 / n, i as u32 % n];
            p.auto_ops = 0xffff_0000 | ops[0] | (ops[1] << 8);
            p.auto_affine = AUTO_IDENTITY_MAP;
            for (j, &op) in ops.iter().enumerate() {
                let mut m = auto_magnitude(k, op, 20);
                if auto_op_signed(op) && (i + j) % 2 == 1 {
                    m = -m;
                }
                p.auto_magnitudes[j] = m;
                if auto_op_moves_pixels(op) {
                    p.auto_affine = compose_affine(p.auto_affine, auto_op_map(k, op, m));
                }
            }
        }
        let src = plan_source(&plan, &[]);
        let what = format!("auto pairs {c} channel(s) {interpolation}");
        assert!(check::<f32>(&what, &plan, &src, &params) >= 2);
    }
}
