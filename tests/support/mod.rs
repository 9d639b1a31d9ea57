//! Shared test support for every backend's parity tests: seeded random
//! datasets, the policy matrix (each technique alone, and all together) and
//! comparisons that report max |Δ|, count faults and count the cases
//! excused as float-decided boundary cases (see `docs/SEMANTICS.md` §8).
#![allow(dead_code)]

pub mod parity;

use std::sync::Arc;

use augkit::internals::draws::{self, slot, uniform, words};
use augkit::internals::kernel_args::{
    CROP_RESIZED, INTERP_NEAREST, KernelPolicy, SampleParams, StepArgs, flags,
};
use augkit::{Dataset, ImageShape, Plan, Policy};

/// SplitMix64: a small seeded generator for test inputs.
pub struct TestRng(u64);

impl TestRng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// `n` images of uniformly random bytes with random labels below `classes`.
pub fn random_dataset(
    channels: u32,
    height: u32,
    width: u32,
    n: usize,
    classes: u32,
    seed: u64,
) -> Arc<Dataset> {
    let shape = ImageShape::new(channels, height, width).unwrap();
    let mut rng = TestRng::new(seed);
    let pixels = (0..n * shape.elements())
        .map(|_| rng.next_u64() as u8)
        .collect();
    let labels = (0..n)
        .map(|_| rng.below(u64::from(classes)) as u32)
        .collect();
    Arc::new(Dataset::new(shape, pixels, labels, classes).unwrap())
}

/// A random subset (index list) of `len` distinct images of a dataset of `n`.
pub fn random_subset(n: usize, len: usize, seed: u64) -> Vec<u32> {
    let mut all: Vec<u32> = (0..n as u32).collect();
    let mut rng = TestRng::new(seed ^ 0x5151);
    for i in (1..all.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        all.swap(i, j);
    }
    all.truncate(len);
    all
}

fn policy(text: &str) -> Policy {
    Policy::from_toml_str(text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// Each technique alone, a few variants, and everything together. Valid for
/// 1- and 3-channel images (normalisation is left per-channel free).
pub fn policy_matrix() -> Vec<(&'static str, Policy)> {
    vec![
        ("identity", policy("")),
        ("crop_pad", policy("[crop]\nkind = \"pad\"\npadding = 4\n")),
        (
            "crop_resized",
            policy("[crop]\nkind = \"resized\"\nscale = [0.2, 1.0]\n"),
        ),
        (
            "crop_resized_bilinear",
            policy("[crop]\nkind = \"resized\"\ninterpolation = \"bilinear\"\n"),
        ),
        (
            "crop_resized_nearest",
            policy("[crop]\nkind = \"resized\"\nscale = [0.2, 1.0]\ninterpolation = \"nearest\"\n"),
        ),
        (
            "crop_resized_nearest_exact",
            policy(
                "[crop]\nkind = \"resized\"\nscale = [0.2, 1.0]\ninterpolation = \"nearest_exact\"\n",
            ),
        ),
        (
            "crop_resized_flips",
            policy(
                "horizontal_flip = 0.5\nvertical_flip = 0.5\n[crop]\nkind = \"resized\"\np = 0.8\n",
            ),
        ),
        (
            "crop_resized_affine",
            policy(
                "[crop]\nkind = \"resized\"\nscale = [0.3, 1.0]\n\
                 [affine]\ndegrees = 30.0\ntranslate = [0.1, 0.2]\nscale = [0.8, 1.2]\nfill = 0.25\n",
            ),
        ),
        (
            "crop_resized_nearest_affine_bilinear",
            policy(
                "[crop]\nkind = \"resized\"\ninterpolation = \"nearest\"\n\
                 [affine]\ndegrees = 15.0\ntranslate = [0.1, 0.1]\ntranslate_mode = \"continuous\"\ninterpolation = \"bilinear\"\nfill = 0.5\n",
            ),
        ),
        (
            "crop_resized_affine_bilinear",
            policy(
                "[crop]\nkind = \"resized\"\n\
                 [affine]\ndegrees = 15.0\ntranslate = [0.1, 0.1]\ntranslate_mode = \"continuous\"\ninterpolation = \"bilinear\"\nfill = 0.5\n",
            ),
        ),
        ("hflip", policy("horizontal_flip = 0.5\n")),
        ("vflip", policy("vertical_flip = 0.5\n")),
        (
            "affine",
            policy(
                "[affine]\ndegrees = 30.0\ntranslate = [0.1, 0.2]\nscale = [0.8, 1.2]\nfill = 0.25\n",
            ),
        ),
        (
            "affine_bilinear_continuous",
            policy(
                "[affine]\ndegrees = 15.0\ntranslate = [0.1, 0.1]\ntranslate_mode = \"continuous\"\ninterpolation = \"bilinear\"\nfill = 0.5\n",
            ),
        ),
        ("brightness", policy("[color_jitter]\nbrightness = 0.4\n")),
        ("contrast", policy("[color_jitter]\ncontrast = 0.4\n")),
        (
            "contrast_source",
            policy(
                "[color_jitter]\ncontrast = 0.4\nbrightness = 0.3\ncontrast_mean = \"source\"\n",
            ),
        ),
        ("saturation", policy("[color_jitter]\nsaturation = 0.4\n")),
        ("hue", policy("[color_jitter]\nhue = 0.1\n")),
        (
            "jitter",
            policy(
                "[color_jitter]\np = 0.8\nbrightness = 0.4\ncontrast = 0.4\nsaturation = 0.4\nhue = 0.1\n",
            ),
        ),
        ("mixup", policy("[mix]\nmixup_alpha = 0.4\n")),
        ("cutmix", policy("[mix]\ncutmix_alpha = 1.0\n")),
        (
            "mix_pair",
            policy("[mix]\nmixup_alpha = 0.8\ncutmix_alpha = 1.0\nmode = \"pair\"\nprob = 0.7\n"),
        ),
        (
            "mix_batch",
            policy("[mix]\nmixup_alpha = 0.8\ncutmix_alpha = 1.0\nmode = \"batch\"\n"),
        ),
        ("all", all_policy()),
        (
            "erasing_const",
            policy("[erasing]\np = 0.8\nvalue = 0.5\n[color_jitter]\ncontrast = 0.4\n"),
        ),
        (
            "erasing_channel_cutmix",
            policy(
                "[erasing]\np = 0.9\nmode = \"channel\"\ncount = 3\nscale = [0.1, 0.5]\n[mix]\ncutmix_alpha = 1.0\n",
            ),
        ),
        (
            "erasing_pixel_mixup",
            policy(
                "horizontal_flip = 0.5\n[erasing]\np = 0.9\nmode = \"pixel\"\ncount = [1, 3]\n[mix]\nmixup_alpha = 0.4\n",
            ),
        ),
        ("all_resized", all_resized_policy()),
    ]
}

/// Every technique at once with the resized crop (bilinear) instead of the
/// pad crop.
pub fn all_resized_policy() -> Policy {
    policy(
        "horizontal_flip = 0.5\nvertical_flip = 0.2\n\
         [crop]\nkind = \"resized\"\nscale = [0.2, 1.0]\n\
         [affine]\np = 0.7\ndegrees = 15.0\ntranslate = [0.1, 0.1]\nscale = [0.9, 1.1]\n\
         [color_jitter]\nbrightness = 0.4\ncontrast = 0.4\nsaturation = 0.4\nhue = 0.1\n\
         [mix]\nmixup_alpha = 0.4\ncutmix_alpha = 1.0\nprob = 0.9\n",
    )
}

/// Every technique at once (pad crop, flips, affine, jitter, mix).
pub fn all_policy() -> Policy {
    policy(ALL_TEXT)
}

const ALL_TEXT: &str = "horizontal_flip = 0.5\nvertical_flip = 0.2\n\
     [crop]\nkind = \"pad\"\npadding = 3\n\
     [affine]\np = 0.7\ndegrees = 15.0\ntranslate = [0.1, 0.1]\nscale = [0.9, 1.1]\n\
     [color_jitter]\nbrightness = 0.4\ncontrast = 0.4\nsaturation = 0.4\nhue = 0.1\n\
     [mix]\nmixup_alpha = 0.4\ncutmix_alpha = 1.0\nprob = 0.9\n";

/// TrivialAugment-Wide (nearest; bilinear with a fill) and RandAugment
/// (two ops), each alone and on top of [`all_policy`]: the auto ops'
/// matrix (kept apart from [`policy_matrix`] until every backend runs them).
pub fn auto_policy_matrix() -> Vec<(&'static str, Policy)> {
    let sections: [(&'static str, &'static str, &str); 3] = [
        ("trivial_wide", "trivial_wide+all", "[trivial_augment]\n"),
        (
            "trivial_wide_bilinear",
            "trivial_wide_bilinear+all",
            "[trivial_augment]\ninterpolation = \"bilinear\"\nfill = 0.3\n",
        ),
        (
            "rand_augment",
            "rand_augment+all",
            "[rand_augment]\nnum_ops = 2\nmagnitude = 9\n",
        ),
    ];
    let mut out = Vec::new();
    for (alone, with_all, section) in sections {
        out.push((alone, policy(section)));
        out.push((with_all, policy(&format!("{ALL_TEXT}{section}"))));
    }
    out
}

/// A policy with the normalisation and output format set.
pub fn with_output(
    mut p: Policy,
    channels: u32,
    dtype: augkit::DType,
    layout: augkit::Layout,
) -> Policy {
    let (mean, std) = if channels == 3 {
        (vec![0.4914, 0.4822, 0.4465], vec![0.2470, 0.2435, 0.2616])
    } else {
        (vec![0.2860], vec![0.3530])
    };
    p.output = augkit::policy::Output {
        mean,
        std,
        dtype,
        layout,
    };
    p
}

fn distance_to_half(v: f32) -> f32 {
    (v - v.floor() - 0.5).abs()
}

fn distance_to_integer(v: f32) -> f32 {
    let f = v - v.floor();
    f.min(1.0 - f)
}

/// For sample `i`, the smallest distance (in the units of the value) of any
/// float that decides a discrete choice to its rounding boundary: whole-pixel
/// translations, the random-resized-crop side lengths, the cutmix box sides.
/// Samples with a margin below [`BOUNDARY_EPS`] may differ across backends.
pub fn boundary_margin(plan: &Plan, args: StepArgs, params: &SampleParams, i: u32) -> f32 {
    let k = plan.kernel();
    let key = [args.seed_lo, args.seed_hi];
    let position = args.first_position + i;
    let mut margin = f32::INFINITY;
    if params.flags & flags::AFFINE != 0 && k.translate_whole != 0 {
        let a = words(key, position, args.epoch, slot::AFFINE, 0);
        let tx = uniform(
            -k.translate_x * k.width as f32,
            k.translate_x * k.width as f32,
            a[1],
        );
        let ty = uniform(
            -k.translate_y * k.height as f32,
            k.translate_y * k.height as f32,
            a[2],
        );
        margin = margin.min(distance_to_half(tx)).min(distance_to_half(ty));
    }
    if params.flags & flags::CROPPED != 0 && k.crop_mode == CROP_RESIZED {
        let area = (k.width * k.height) as f32;
        for t in 0..10 {
            let d = words(key, position, args.epoch, slot::RESIZED_CROP, t);
            let target = area * uniform(k.resized_area_lo, k.resized_area_hi, d[0]);
            let aspect = uniform(k.resized_log_ratio_lo, k.resized_log_ratio_hi, d[1]).exp();
            margin = margin
                .min(distance_to_half((target * aspect).sqrt()))
                .min(distance_to_half((target / aspect).sqrt()));
        }
    }
    if k.erase_mode != 0 {
        // Every attempt of every box that may have been tried (the count
        // is an integer draw, so the largest bounds them).
        let n = k.erase_count_hi;
        let area = (k.width * k.height) as f32;
        for count in k.erase_count_lo..=n {
            for sub in (0..count).flat_map(|b| (0..10).map(move |t| b * 16 + t)) {
                let d = words(key, position, args.epoch, slot::ERASE_BOX, sub);
                let target = uniform(k.erase_area_lo, k.erase_area_hi, d[0]) * area / count as f32;
                let aspect = uniform(k.erase_log_ratio_lo, k.erase_log_ratio_hi, d[1]).exp();
                margin = margin
                    .min(distance_to_half((target * aspect).sqrt()))
                    .min(distance_to_half((target / aspect).sqrt()));
            }
        }
    }
    if params.flags & flags::CUTMIX != 0 {
        let ratio = (1.0 - uncorrected_lambda(plan, args, i)).sqrt();
        margin = margin
            .min(distance_to_integer(k.height as f32 * ratio))
            .min(distance_to_integer(k.width as f32 * ratio));
    }
    margin
}

fn uncorrected_lambda(plan: &Plan, args: StepArgs, i: u32) -> f32 {
    let k = plan.kernel();
    let partner = args.batch_size - 1 - i;
    let owner = args.first_position
        + match k.mix_mode {
            augkit::internals::kernel_args::MIX_MODE_BATCH => 0,
            augkit::internals::kernel_args::MIX_MODE_PAIR => i.min(partner),
            _ => i,
        };
    draws::beta(
        k.cutmix_alpha,
        [args.seed_lo, args.seed_hi],
        owner,
        args.epoch,
        slot::BETA_CUTMIX,
    )
}

/// Float-decided choices closer than this to their boundary are excused.
pub const BOUNDARY_EPS: f32 = 1e-3;

#[derive(Debug, Default)]
pub struct ParamReport {
    pub samples: usize,
    pub max_float_error: f32,
    pub excused: usize,
    pub faults: Vec<String>,
}

impl ParamReport {
    pub fn assert_ok(&self, what: &str) {
        println!(
            "{what}: {} samples, max float |Δ| {:.3e}, {} excused as boundary cases",
            self.samples, self.max_float_error, self.excused
        );
        assert!(
            self.faults.is_empty(),
            "{what}: {} parameter faults, first: {:#?}",
            self.faults.len(),
            &self.faults[..self.faults.len().min(5)]
        );
    }
}

/// Integer fields identical; float fields within `atol + rtol·|ref|`;
/// a sample whose float-decided choices sit within [`BOUNDARY_EPS`] of their
/// boundary is excused (and counted) if it differs.
pub fn compare_params(
    plan: &Plan,
    args: StepArgs,
    reference: &[SampleParams],
    other: &[SampleParams],
    atol: f32,
    rtol: f32,
) -> ParamReport {
    let mut report = ParamReport {
        samples: reference.len(),
        ..ParamReport::default()
    };
    assert_eq!(reference.len(), other.len(), "parameter counts differ");
    for (i, (r, o)) in reference.iter().zip(other).enumerate() {
        let mut problems = Vec::new();
        let ints = [
            ("dataset_index", r.dataset_index, o.dataset_index),
            ("label_a", r.label_a, o.label_a),
            ("label_b", r.label_b, o.label_b),
            ("partner", r.partner, o.partner),
            ("flags", r.flags, o.flags),
            ("colour_order", r.colour_order, o.colour_order),
            ("slot", r.slot, o.slot),
            ("synth_partner", r.synth_partner, o.synth_partner),
            ("auto_ops", r.auto_ops, o.auto_ops),
        ];
        for (name, a, b) in ints {
            if a != b {
                problems.push(format!("{name}: {a} vs {b}"));
            }
        }
        if r.window != o.window {
            problems.push(format!("window: {:?} vs {:?}", r.window, o.window));
        }
        if r.cut_box != o.cut_box {
            problems.push(format!("cut_box: {:?} vs {:?}", r.cut_box, o.cut_box));
        }
        if (r.erase_count, r.erase_boxes) != (o.erase_count, o.erase_boxes) {
            problems.push(format!(
                "erase boxes: {} {:?} vs {} {:?}",
                r.erase_count, r.erase_boxes, o.erase_count, o.erase_boxes
            ));
        }
        let floats = [
            ("lambda", r.lambda, o.lambda),
            ("hue", r.hue, o.hue),
            ("brightness", r.brightness, o.brightness),
            ("contrast", r.contrast, o.contrast),
            ("saturation", r.saturation, o.saturation),
            ("synth_t", r.synth_t, o.synth_t),
        ]
        .into_iter()
        .chain((0..6).map(|j| ("inverse_affine", r.inverse_affine[j], o.inverse_affine[j])))
        .chain((0..6).map(|j| ("auto_affine", r.auto_affine[j], o.auto_affine[j])));
        // The magnitude tables are bit-identical on every backend (SEMANTICS.md §10).
        if r.auto_magnitudes.map(f32::to_bits) != o.auto_magnitudes.map(f32::to_bits) {
            problems.push(format!(
                "auto_magnitudes: {:?} vs {:?}",
                r.auto_magnitudes, o.auto_magnitudes
            ));
        }
        for (name, a, b) in floats {
            let err = (a - b).abs();
            // NaN never passes: `within` is false for it.
            let within = err <= atol + rtol * a.abs();
            if within {
                report.max_float_error = report.max_float_error.max(err);
            } else {
                problems.push(format!("{name}: {a} vs {b}"));
            }
        }
        if problems.is_empty() {
            continue;
        }
        if boundary_margin(plan, args, r, i as u32) < BOUNDARY_EPS {
            report.excused += 1;
        } else {
            report
                .faults
                .push(format!("sample {i}: {}", problems.join("; ")));
        }
    }
    report
}

#[derive(Debug, Default)]
pub struct PixelReport {
    pub elements: usize,
    pub max_abs_error: f32,
    pub excused: usize,
    pub faults: Vec<String>,
}

impl PixelReport {
    pub fn assert_ok(&self, what: &str) {
        println!(
            "{what}: {} elements, max |Δ| {:.3e}, {} excused at nearest-tap boundaries",
            self.elements, self.max_abs_error, self.excused
        );
        assert!(
            self.faults.is_empty(),
            "{what}: {} pixel faults, first: {:#?}",
            self.faults.len(),
            &self.faults[..self.faults.len().min(5)]
        );
    }
}

/// Whether output pixel (x, y) of `p` samples within [`BOUNDARY_EPS`] of a
/// nearest-neighbour tap boundary (where one ulp picks another pixel).
pub fn near_tap_boundary(k: &KernelPolicy, p: &SampleParams, x: u32, y: u32) -> bool {
    if k.interpolation != INTERP_NEAREST {
        return false;
    }
    let (sx, sy) = augkit::cpu::pixel::sample_point(p, x, y);
    distance_to_integer(sx) < BOUNDARY_EPS || distance_to_integer(sy) < BOUNDARY_EPS
}

/// Compares two renderings of the same params (as f32 values of the output
/// dtype), element by element, with `atol + rtol·|ref|`. An element is excused
/// when its sample's (or its partner's) sample point is near a tap boundary.
pub fn compare_pixels(
    k: &KernelPolicy,
    params: &[SampleParams],
    reference: &[f32],
    other: &[f32],
    atol: f32,
    rtol: f32,
) -> PixelReport {
    assert_eq!(reference.len(), other.len(), "output lengths differ");
    let (c, h, w) = (k.channels as usize, k.height as usize, k.width as usize);
    let per_sample = c * h * w;
    let mut report = PixelReport {
        elements: reference.len(),
        ..PixelReport::default()
    };
    for (idx, (&r, &o)) in reference.iter().zip(other).enumerate() {
        let err = (r - o).abs();
        if err <= atol + rtol * r.abs() || (r.is_nan() && o.is_nan()) {
            report.max_abs_error = report.max_abs_error.max(err);
            continue;
        }
        let i = idx / per_sample;
        let within = idx % per_sample;
        let (ch, pixel) = if k.out_layout == augkit::internals::kernel_args::LAYOUT_NCHW {
            (within / (h * w), within % (h * w))
        } else {
            (within % c, within / c)
        };
        let (x, y) = ((pixel % w) as u32, (pixel / w) as u32);
        let p = &params[i];
        let partner = &params[p.partner as usize];
        if near_tap_boundary(k, p, x, y) || near_tap_boundary(k, partner, x, y) {
            report.excused += 1;
        } else if report.faults.len() < 20 {
            report.faults.push(format!(
                "sample {i} channel {ch} (x {x}, y {y}): expected {r}, got {o}"
            ));
        } else {
            report.faults.push(String::new());
        }
    }
    report
}

/// The tolerance a dtype's rounding adds to an f32 comparison.
pub fn dtype_rtol(dtype: augkit::DType) -> f32 {
    match dtype {
        augkit::DType::F32 => 0.0,
        augkit::DType::F16 => 1.0 / 1024.0,
        augkit::DType::Bf16 => 1.0 / 128.0,
    }
}
