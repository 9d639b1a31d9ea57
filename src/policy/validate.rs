//! Policy validation: every field checked against the image shape, with a
//! typed error naming the field and the bad value, then flattened into the
//! [`KernelPolicy`] the kernels read.

use super::*;
use crate::ImageShape;
use crate::error::PolicyError;
use crate::kernel_args::*;

fn finite(field: &'static str, value: f32) -> Result<f32, PolicyError> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(PolicyError::NotFinite { field, value })
    }
}

fn probability(field: &'static str, value: f32) -> Result<f32, PolicyError> {
    finite(field, value)?;
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(PolicyError::OutOfRange {
            field,
            value,
            expected: "[0, 1]",
        })
    }
}

fn at_least(
    field: &'static str,
    value: f32,
    min: f32,
    expected: &'static str,
) -> Result<f32, PolicyError> {
    finite(field, value)?;
    if value >= min {
        Ok(value)
    } else {
        Err(PolicyError::OutOfRange {
            field,
            value,
            expected,
        })
    }
}

fn ordered(field: &'static str, range: [f32; 2]) -> Result<[f32; 2], PolicyError> {
    finite(field, range[0])?;
    finite(field, range[1])?;
    if range[0] <= range[1] {
        Ok(range)
    } else {
        Err(PolicyError::Inverted {
            field,
            lo: range[0],
            hi: range[1],
        })
    }
}

/// torchvision's factor range for brightness, contrast and saturation.
fn factor_range(field: &'static str, strength: Strength) -> Result<[f32; 2], PolicyError> {
    match strength {
        Strength::Amount(x) => {
            at_least(field, x, 0.0, "[0, ∞)")?;
            Ok([(1.0 - x).max(0.0), 1.0 + x])
        }
        Strength::Range(r) => {
            let r = ordered(field, r)?;
            at_least(field, r[0], 0.0, "[0, ∞)")?;
            Ok(r)
        }
    }
}

/// torchvision's hue range: within [−0.5, 0.5].
fn hue_range(strength: Strength) -> Result<[f32; 2], PolicyError> {
    let field = "color_jitter.hue";
    let r = match strength {
        Strength::Amount(h) => {
            at_least(field, h, 0.0, "[0, 0.5]")?;
            [-h, h]
        }
        Strength::Range(r) => ordered(field, r)?,
    };
    for v in r {
        if !(-0.5..=0.5).contains(&v) {
            return Err(PolicyError::OutOfRange {
                field,
                value: v,
                expected: "[-0.5, 0.5]",
            });
        }
    }
    Ok(r)
}

fn per_channel(
    field: &'static str,
    values: &[f32],
    channels: u32,
    default: f32,
) -> Result<[f32; 4], PolicyError> {
    let mut out = [default; 4];
    if values.is_empty() {
        return Ok(out);
    }
    if values.len() != channels as usize {
        return Err(PolicyError::ChannelCount {
            field,
            got: values.len(),
            expected: channels,
        });
    }
    for (o, &v) in out.iter_mut().zip(values) {
        *o = finite(field, v)?;
    }
    Ok(out)
}

pub(crate) fn compile(policy: &Policy, shape: ImageShape) -> Result<KernelPolicy, PolicyError> {
    let ImageShape {
        channels,
        height,
        width,
    } = shape;
    let mut k = KernelPolicy {
        channels,
        height,
        width,
        ..KernelPolicy::default()
    };

    // Output.
    k.mean = per_channel("output.mean", &policy.output.mean, channels, 0.0)?;
    k.std = per_channel("output.std", &policy.output.std, channels, 1.0)?;
    for &s in &k.std[..channels as usize] {
        if s <= 0.0 {
            return Err(PolicyError::OutOfRange {
                field: "output.std",
                value: s,
                expected: "(0, ∞)",
            });
        }
    }
    k.out_dtype = match policy.output.dtype {
        DType::F32 => DTYPE_F32,
        DType::F16 => DTYPE_F16,
        DType::Bf16 => DTYPE_BF16,
    };
    k.out_layout = match policy.output.layout {
        Layout::Nchw => LAYOUT_NCHW,
        Layout::Nhwc => LAYOUT_NHWC,
    };

    // Crop.
    match &policy.crop {
        None => k.crop_mode = CROP_NONE,
        Some(Crop::Pad { padding, p }) => {
            k.crop_mode = CROP_PAD;
            k.crop_p = probability("crop.p", *p)?;
            // Offsets span 2p+1 positions: keep that and the window in i32.
            if *padding > 1 << 20 {
                return Err(PolicyError::DoesNotFit {
                    field: "crop.padding",
                    value: *padding,
                    height,
                    width,
                    reason: "padding must be at most 2^20 pixels",
                });
            }
            k.crop_padding = *padding;
        }
        Some(Crop::Resized {
            scale,
            ratio,
            interpolation,
            p,
        }) => {
            k.crop_mode = CROP_RESIZED;
            k.crop_p = probability("crop.p", *p)?;
            let scale = ordered("crop.scale", *scale)?;
            if scale[0] <= 0.0 || scale[1] > 1.0 {
                return Err(PolicyError::OutOfRange {
                    field: "crop.scale",
                    value: if scale[0] <= 0.0 { scale[0] } else { scale[1] },
                    expected: "(0, 1]",
                });
            }
            let ratio = ordered("crop.ratio", *ratio)?;
            if ratio[0] <= 0.0 {
                return Err(PolicyError::OutOfRange {
                    field: "crop.ratio",
                    value: ratio[0],
                    expected: "(0, ∞)",
                });
            }
            k.resized_area_lo = scale[0];
            k.resized_area_hi = scale[1];
            k.resized_ratio_lo = ratio[0];
            k.resized_ratio_hi = ratio[1];
            k.resized_log_ratio_lo = ratio[0].ln();
            k.resized_log_ratio_hi = ratio[1].ln();
            k.crop_interpolation = interpolation_code(*interpolation);
        }
    }

    // Flips.
    k.hflip_p = probability("horizontal_flip", policy.horizontal_flip)?;
    k.vflip_p = probability("vertical_flip", policy.vertical_flip)?;

    // Affine.
    if let Some(a) = &policy.affine {
        k.affine_on = 1;
        k.affine_p = probability("affine.p", a.p)?;
        let [lo, hi] = match a.degrees {
            Degrees::Amount(d) => {
                at_least("affine.degrees", d, 0.0, "[0, 180]")?;
                [-d, d]
            }
            Degrees::Range(r) => ordered("affine.degrees", r)?,
        };
        for v in [lo, hi] {
            if !(-180.0..=180.0).contains(&v) {
                return Err(PolicyError::OutOfRange {
                    field: "affine.degrees",
                    value: v,
                    expected: "[-180, 180]",
                });
            }
        }
        k.degrees_lo = lo;
        k.degrees_hi = hi;
        for (field, v) in [
            ("affine.translate", a.translate[0]),
            ("affine.translate", a.translate[1]),
        ] {
            at_least(field, v, 0.0, "[0, 1]")?;
            if v > 1.0 {
                return Err(PolicyError::OutOfRange {
                    field,
                    value: v,
                    expected: "[0, 1]",
                });
            }
        }
        k.translate_x = a.translate[0];
        k.translate_y = a.translate[1];
        k.translate_whole = u32::from(a.translate_mode == TranslateMode::WholePixels);
        let scale = ordered("affine.scale", a.scale)?;
        if scale[0] <= 0.0 {
            return Err(PolicyError::OutOfRange {
                field: "affine.scale",
                value: scale[0],
                expected: "(0, ∞)",
            });
        }
        k.scale_lo = scale[0];
        k.scale_hi = scale[1];
        k.fill = probability_like_pixel("affine.fill", a.fill)?;
        // The affine samples a continuous map (torchvision's grid_sample),
        // where NEAREST_EXACT, a resize's index rule, has no meaning.
        if a.interpolation == Interpolation::NearestExact {
            return Err(PolicyError::NotSupported {
                field: "affine.interpolation",
                value: "nearest_exact",
                reason: "only a resize (crop.kind = \"resized\") has it; use nearest or bilinear",
            });
        }
        k.interpolation = interpolation_code(a.interpolation);
    }

    // Colour jitter.
    if let Some(j) = &policy.color_jitter {
        k.jitter_p = probability("color_jitter.p", j.p)?;
        let mut ops = 0;
        if let Some(b) = j.brightness {
            [k.brightness_lo, k.brightness_hi] = factor_range("color_jitter.brightness", b)?;
            ops |= 1 << OP_BRIGHTNESS;
        }
        if let Some(c) = j.contrast {
            [k.contrast_lo, k.contrast_hi] = factor_range("color_jitter.contrast", c)?;
            ops |= 1 << OP_CONTRAST;
        }
        if let Some(s) = j.saturation {
            [k.saturation_lo, k.saturation_hi] = factor_range("color_jitter.saturation", s)?;
            ops |= 1 << OP_SATURATION;
        }
        if let Some(h) = j.hue {
            [k.hue_lo, k.hue_hi] = hue_range(h)?;
            ops |= 1 << OP_HUE;
        }
        k.jitter_ops = ops;
        k.contrast_mean = match j.contrast_mean {
            ContrastMean::Exact => CONTRAST_MEAN_EXACT,
            ContrastMean::Source => CONTRAST_MEAN_SOURCE,
        };
    }

    // Mixup / cutmix.
    if let Some(m) = &policy.mix {
        let mixup = at_least("mix.mixup_alpha", m.mixup_alpha, 0.0, "[0, ∞) (0 = off)")?;
        let cutmix = at_least("mix.cutmix_alpha", m.cutmix_alpha, 0.0, "[0, ∞) (0 = off)")?;
        if mixup == 0.0 && cutmix == 0.0 {
            return Err(PolicyError::OutOfRange {
                field: "mix.mixup_alpha",
                value: 0.0,
                expected: "(0, ∞) for mixup_alpha or cutmix_alpha when [mix] is present",
            });
        }
        // Beta(α, α) draws for α below this underflow to exact 0 / 1 in f32.
        for (field, alpha) in [("mix.mixup_alpha", mixup), ("mix.cutmix_alpha", cutmix)] {
            if alpha != 0.0 && !(0.01..=1000.0).contains(&alpha) {
                return Err(PolicyError::OutOfRange {
                    field,
                    value: alpha,
                    expected: "[0.01, 1000] (or 0 = off)",
                });
            }
        }
        k.mixup_alpha = mixup;
        k.cutmix_alpha = cutmix;
        k.mix_ops = (u32::from(mixup > 0.0) * MIX_MIXUP) | (u32::from(cutmix > 0.0) * MIX_CUTMIX);
        k.mix_p = probability("mix.prob", m.prob)?;
        k.switch_p = probability("mix.switch_prob", m.switch_prob)?;
        k.mix_mode = match m.mode {
            MixMode::Batch => MIX_MODE_BATCH,
            MixMode::Pair => MIX_MODE_PAIR,
            MixMode::Elem => MIX_MODE_ELEM,
        };
        k.correct_lambda = u32::from(m.correct_lambda);
        probability("mix.label_smoothing", m.label_smoothing)?;
    }

    // Synthetic samples.
    if let Some(s) = &policy.synthetic {
        k.synth_mode = match s.mode {
            SynthMode::Pca => SYNTH_PCA,
            SynthMode::Interpolate => SYNTH_INTERPOLATE,
            SynthMode::Pool => SYNTH_POOL,
        };
        k.synth_p = probability("synthetic.fraction", s.fraction)?;
        pool_fields(s)?;
        if s.components == 0 || s.components > MAX_SYNTH_COMPONENTS {
            return Err(PolicyError::CountOutOfRange {
                field: "synthetic.components",
                value: u64::from(s.components),
                expected: "[1, 32]",
            });
        }
        finite("synthetic.variance_kept", s.variance_kept)?;
        if !(s.variance_kept > 0.0 && s.variance_kept <= 1.0) {
            return Err(PolicyError::OutOfRange {
                field: "synthetic.variance_kept",
                value: s.variance_kept,
                expected: "(0, 1]",
            });
        }
        k.synth_class_choice = match s.class_choice {
            ClassChoice::Training => SYNTH_CLASS_TRAINING,
            ClassChoice::Uniform => SYNTH_CLASS_UNIFORM,
        };
    }

    auto_augment(policy, &mut k)?;
    if let Some(e) = &policy.erasing {
        erasing(e, &mut k)?;
    }
    output_range(policy, &k)?;
    Ok(k)
}

/// The largest magnitude among `values`; NaN counts as infinite.
fn largest_magnitude(values: impl IntoIterator<Item = f32>) -> f32 {
    values.into_iter().fold(0.0f32, |a, v| {
        if v.is_nan() {
            f32::INFINITY
        } else {
            a.max(v.abs())
        }
    })
}

/// Largest |N(0, 1)| draw the random erasing modes write: Box–Muller from a
/// 32-bit uniform in (0, 1] has a radius of at most √(−2 ln 2⁻³²) ≈ 6.66.
const NORMAL_DRAW_MAX: f32 = 6.7;

/// Checks every value the policy can write into the output — normalised
/// pixels (every stage before the output keeps pixels, fills included, in
/// [0, 1]) and erased elements — against the output dtype's largest finite
/// value and [`MAX_OUTPUT_MAGNITUDE`], in f32 as the kernels compute them.
fn output_range(policy: &Policy, k: &KernelPolicy) -> Result<(), PolicyError> {
    let (dtype, dtype_max) = match policy.output.dtype {
        DType::F32 => ("f32", f32::MAX),
        DType::F16 => ("f16", half::f16::MAX.to_f32()),
        DType::Bf16 => ("bf16", half::bf16::MAX.to_f32()),
    };
    let limit = dtype_max.min(MAX_OUTPUT_MAGNITUDE);
    let erased: Option<(&'static str, &'static str, Vec<f32>)> =
        policy.erasing.as_ref().map(|e| match e.mode {
            EraseMode::Const => (
                "erasing.value",
                "an erased element is this value in output units; keep it near the normalised \
                 pixels (about ±3)",
                vec![e.value],
            ),
            EraseMode::Channel | EraseMode::Pixel => (
                "erasing.mode",
                "random erasing writes N(0, 1) draws up to ±6.7 through this std",
                vec![-NORMAL_DRAW_MAX, NORMAL_DRAW_MAX],
            ),
        });
    for c in 0..k.channels as usize {
        let (mean, std) = (k.mean[c], k.std[c]);
        let refuse = |field, reason, largest| PolicyError::OutputRange {
            field,
            channel: c as u32,
            largest,
            dtype,
            limit,
            reason,
        };
        let largest = largest_magnitude([0.0f32, 1.0].map(|x| (x - mean) / std));
        if largest > limit {
            return Err(refuse(
                "output",
                "(x − mean) / std of a pixel x in [0, 1]; use a mean in [0, 1] and a std of \
                 about 0.1–1",
                largest,
            ));
        }
        if let Some((field, reason, values)) = &erased {
            // The kernels write an erased value v as the pixel mean + std·v,
            // which the output stage normalises back.
            let largest =
                largest_magnitude(values.iter().map(|&v| ((mean + std * v) - mean) / std));
            if largest > limit {
                return Err(refuse(*field, *reason, largest));
            }
        }
    }
    Ok(())
}

/// `source`, `path` and `size`: only a pool takes them, and each source
/// takes its own.
fn pool_fields(s: &Synthetic) -> Result<(), PolicyError> {
    if s.mode != SynthMode::Pool {
        for (field, given) in [
            ("synthetic.source", s.source.is_some()),
            ("synthetic.path", s.path.is_some()),
            ("synthetic.size", s.size.is_some()),
        ] {
            if given {
                return Err(PolicyError::Unexpected {
                    field,
                    reason: "only `mode = \"pool\"` takes a pool source, path or size",
                });
            }
        }
        return Ok(());
    }
    if let Some(size) = s.size {
        finite("synthetic.size", size)?;
        if !(size > 0.0 && size <= MAX_POOL_SIZE) {
            return Err(PolicyError::OutOfRange {
                field: "synthetic.size",
                value: size,
                expected: "(0, 64] (pool images per real training image)",
            });
        }
    }
    match s.source {
        Some(PoolSource::File) => {
            match &s.path {
                None => {
                    return Err(PolicyError::Missing {
                        field: "synthetic.path",
                        reason: "`source = \"file\"` reads its pool from an .npz file",
                    });
                }
                Some(p) if p.as_os_str().is_empty() => {
                    return Err(PolicyError::Missing {
                        field: "synthetic.path",
                        reason: "`source = \"file\"` needs a non-empty path",
                    });
                }
                Some(_) => {}
            }
            if s.size.is_some() {
                return Err(PolicyError::Unexpected {
                    field: "synthetic.size",
                    reason: "a file's pool is the file's images; `size` sizes a generator's pool",
                });
            }
        }
        Some(PoolSource::Cvae | PoolSource::Ddpm) | None => {
            if s.path.is_some() {
                return Err(PolicyError::Unexpected {
                    field: "synthetic.path",
                    reason: "only `source = \"file\"` reads a path; a generator's pool is sampled by the harness",
                });
            }
        }
    }
    Ok(())
}

/// The magnitude ranges of torchvision's two augmentation spaces.
#[derive(Clone, Copy, PartialEq)]
enum AutoSpace {
    /// `TrivialAugmentWide._AUGMENTATION_SPACE`.
    Wide,
    /// `RandAugment._AUGMENTATION_SPACE`.
    Rand,
}

/// Field names for errors: bins, num_ops, magnitude, fill, interpolation.
const TRIVIAL_FIELDS: [&str; 5] = [
    "trivial_augment.num_magnitude_bins",
    "trivial_augment",
    "trivial_augment",
    "trivial_augment.fill",
    "trivial_augment.interpolation",
];
const RAND_FIELDS: [&str; 5] = [
    "rand_augment.num_magnitude_bins",
    "rand_augment.num_ops",
    "rand_augment.magnitude",
    "rand_augment.fill",
    "rand_augment.interpolation",
];

/// `[trivial_augment]` / `[rand_augment]` → the `auto_*` fields.
fn auto_augment(policy: &Policy, k: &mut KernelPolicy) -> Result<(), PolicyError> {
    let (mode, num_ops, bins, magnitude, interpolation, fill, space, names) =
        match (&policy.trivial_augment, &policy.rand_augment) {
            (None, None) => return Ok(()),
            (Some(_), Some(_)) => {
                return Err(PolicyError::Conflict {
                    field: "trivial_augment",
                    other: "rand_augment",
                    reason: "a sample runs one auto-augment policy; keep one of the two",
                });
            }
            (Some(t), None) => (
                AUTO_TRIVIAL,
                1,
                t.num_magnitude_bins,
                0,
                t.interpolation,
                t.fill,
                if t.wide {
                    AutoSpace::Wide
                } else {
                    AutoSpace::Rand
                },
                TRIVIAL_FIELDS,
            ),
            (None, Some(r)) => (
                AUTO_RAND,
                r.num_ops,
                r.num_magnitude_bins,
                r.magnitude,
                r.interpolation,
                r.fill,
                AutoSpace::Rand,
                RAND_FIELDS,
            ),
        };
    let [
        bins_field,
        num_ops_field,
        magnitude_field,
        fill_field,
        interpolation_field,
    ] = names;
    // linspace needs two points; beyond 2^16 bins the f32 bin index and
    // the magnitudes stop being distinct values.
    if !(2..=1 << 16).contains(&bins) {
        return Err(PolicyError::CountOutOfRange {
            field: bins_field,
            value: u64::from(bins),
            expected: "[2, 65536]",
        });
    }
    if !(1..=MAX_AUTO_OPS).contains(&num_ops) {
        return Err(PolicyError::CountOutOfRange {
            field: num_ops_field,
            value: u64::from(num_ops),
            expected: "[1, 2] (MAX_AUTO_OPS)",
        });
    }
    if magnitude >= bins {
        return Err(PolicyError::CountOutOfRange {
            field: magnitude_field,
            value: u64::from(magnitude),
            expected: "[0, num_magnitude_bins − 1] (a bin index)",
        });
    }
    k.auto_fill = probability_like_pixel(fill_field, fill)?;
    k.auto_mode = mode;
    k.auto_num_ops = num_ops;
    k.auto_num_bins = bins;
    k.auto_magnitude_bin = magnitude;
    k.auto_interpolation = match interpolation {
        Interpolation::Nearest => INTERP_NEAREST,
        Interpolation::Bilinear => INTERP_BILINEAR,
        // The auto geometry ops sample a continuous map, as the affine does.
        Interpolation::NearestExact => {
            return Err(PolicyError::NotSupported {
                field: interpolation_field,
                value: "nearest_exact",
                reason: "only a resize (crop.kind = \"resized\") has it; use nearest or bilinear",
            });
        }
    };
    // The tops of torchvision's linspace ranges, as float32 (torch.linspace
    // converts its Python-float end to the tensor's dtype).
    match space {
        AutoSpace::Wide => {
            k.auto_shear_max = 0.99;
            k.auto_translate_max_x = 32.0;
            k.auto_translate_max_y = 32.0;
            k.auto_rotate_max = 135.0;
            k.auto_enhance_max = 0.99;
            k.auto_posterize_range = 6.0;
        }
        AutoSpace::Rand => {
            k.auto_shear_max = 0.3;
            k.auto_translate_max_x = (150.0 / 331.0 * f64::from(k.width)) as f32;
            k.auto_translate_max_y = (150.0 / 331.0 * f64::from(k.height)) as f32;
            k.auto_rotate_max = 30.0;
            k.auto_enhance_max = 0.9;
            k.auto_posterize_range = 4.0;
        }
    }
    Ok(())
}

/// `[erasing]`: timm's `RandomErasing` arguments into the `erase_*` fields.
fn erasing(e: &Erasing, k: &mut KernelPolicy) -> Result<(), PolicyError> {
    k.erase_p = probability("erasing.p", e.p)?;
    let scale = ordered("erasing.scale", e.scale)?;
    for v in scale {
        if !(v > 0.0 && v <= 1.0) {
            return Err(PolicyError::OutOfRange {
                field: "erasing.scale",
                value: v,
                expected: "(0, 1]",
            });
        }
    }
    let ratio = ordered("erasing.ratio", e.ratio)?;
    if ratio[0] <= 0.0 {
        return Err(PolicyError::OutOfRange {
            field: "erasing.ratio",
            value: ratio[0],
            expected: "(0, ∞)",
        });
    }
    let value = finite("erasing.value", e.value)?;
    if e.mode != EraseMode::Const && value != 0.0 {
        return Err(PolicyError::OutOfRange {
            field: "erasing.value",
            value,
            expected: "0 (only mode = \"const\" writes a value)",
        });
    }
    let [lo, hi] = match e.count {
        EraseCount::Fixed(n) => [n, n],
        EraseCount::Range(r) => r,
    };
    for n in [lo, hi] {
        if !(1..=MAX_ERASE_BOXES).contains(&n) {
            return Err(PolicyError::CountOutOfRange {
                field: "erasing.count",
                value: u64::from(n),
                expected: "[1, 4] (MAX_ERASE_BOXES)",
            });
        }
    }
    if lo > hi {
        return Err(PolicyError::Inverted {
            field: "erasing.count",
            lo: lo as f32,
            hi: hi as f32,
        });
    }
    k.erase_area_lo = scale[0];
    k.erase_area_hi = scale[1];
    k.erase_log_ratio_lo = ratio[0].ln();
    k.erase_log_ratio_hi = ratio[1].ln();
    k.erase_mode = match e.mode {
        EraseMode::Const => ERASE_CONST,
        EraseMode::Channel => ERASE_CHANNEL,
        EraseMode::Pixel => ERASE_PIXEL,
    };
    k.erase_value = value;
    k.erase_count_lo = lo;
    k.erase_count_hi = hi;
    Ok(())
}

fn probability_like_pixel(field: &'static str, value: f32) -> Result<f32, PolicyError> {
    finite(field, value)?;
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(PolicyError::OutOfRange {
            field,
            value,
            expected: "[0, 1] (pixel units before normalisation)",
        })
    }
}

/// The `INTERP_*` code of an interpolation.
fn interpolation_code(i: Interpolation) -> u32 {
    match i {
        Interpolation::Nearest => INTERP_NEAREST,
        Interpolation::Bilinear => INTERP_BILINEAR,
        Interpolation::NearestExact => INTERP_NEAREST_EXACT,
    }
}
