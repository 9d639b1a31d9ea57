//! The composition of one output sample, CPU reference: the pixel
//! (`pixel.rs`) through the auto ops (`auto.rs`) and colour, random erasing,
//! mixup blend or cutmix paste with the partner, normalisation, dtype
//! conversion, NCHW or NHWC; and the contrast mean it needs. The literal,
//! per-pixel definition: the slow twin of the CPU backend's one-pass
//! `pairs.rs` / `scratch.rs`. Definition: `docs/SEMANTICS.md` §4–§7, §11.
//! Kernel twin: `kernels/cuda/augment.cu`, `kernels/wgsl/augment.wgsl`.
//! Tests: `cargo test --test cpu_semantics`, `cargo test -p augkit --lib
//! cpu::fused_tests`; bench: `cargo bench -- cpu`.

use super::auto::{AutoStats, auto_pixel, auto_stats};
use super::pixel::{Source, clamp01, colour, grayscale, needs_contrast_mean};
use crate::kernel_args::*;

/// One output element type.
pub trait OutElem: Copy + Send + Sync {
    fn from_f32(v: f32) -> Self;
}
impl OutElem for f32 {
    #[inline(always)]
    fn from_f32(v: f32) -> Self {
        v
    }
}
impl OutElem for half::f16 {
    #[inline(always)]
    fn from_f32(v: f32) -> Self {
        half::f16::from_f32(v)
    }
}
impl OutElem for half::bf16 {
    #[inline(always)]
    fn from_f32(v: f32) -> Self {
        half::bf16::from_f32(v)
    }
}

/// The mean contrast blends with, for one sample (0 when it has none).
/// Exact: mean grayscale of the image as it stands when contrast runs.
/// Source: the source image's mean grayscale, times brightness when that ran
/// first, clamped.
pub fn contrast_mean(k: &KernelPolicy, src: &Source<'_>, p: &SampleParams) -> f32 {
    if !needs_contrast_mean(k, p) {
        return 0.0;
    }
    if k.contrast_mean == CONTRAST_MEAN_SOURCE {
        let mut mean = src.gray_mean(k, p);
        for slot in 0..4 {
            match (p.colour_order >> (8 * slot)) & 0xff {
                OP_CONTRAST => break,
                OP_BRIGHTNESS if k.jitter_ops & (1 << OP_BRIGHTNESS) != 0 => {
                    mean = clamp01(p.brightness * mean)
                }
                _ => {}
            }
        }
        return mean;
    }
    let stats = auto_stats(k, src, p);
    let mut sum = 0.0f64;
    for y in 0..k.height {
        for x in 0..k.width {
            let rgb = colour(k, p, 0.0, auto_pixel(k, src, p, &stats, x, y), true);
            let gray = if k.channels == 3 {
                grayscale(rgb)
            } else {
                rgb[0]
            };
            sum += f64::from(gray);
        }
    }
    (sum / f64::from(k.height * k.width)) as f32
}

/// The sample's own augmented pixel (geometry, auto ops, then colour), in
/// [0, 1]; `stats` are the sample's [`auto_stats`].
#[inline(always)]
pub fn augmented_pixel(
    k: &KernelPolicy,
    src: &Source<'_>,
    p: &SampleParams,
    stats: &AutoStats,
    mean: f32,
    x: u32,
    y: u32,
) -> [f32; 3] {
    let rgb = colour(k, p, mean, auto_pixel(k, src, p, stats, x, y), false);
    erase(k, src, p, x, y, rgb)
}

/// Random erasing of the sample's own pixel (SEMANTICS.md §11): an erased
/// value v (output units) becomes `mean_c + std_c·v` in pixel units, so the
/// mix and normalisation that follow see it as timm's erased tensor.
#[inline(always)]
pub fn erase(
    k: &KernelPolicy,
    src: &Source<'_>,
    p: &SampleParams,
    x: u32,
    y: u32,
    mut rgb: [f32; 3],
) -> [f32; 3] {
    if p.flags & flags::ERASED == 0 {
        return rgb;
    }
    for (c, v) in rgb.iter_mut().enumerate().take(k.channels as usize) {
        if let Some(e) = crate::params::erased_value(k, &src.step, p, c as u32, x, y) {
            *v = k.mean[c] + k.std[c] * e;
        }
    }
    rgb
}

/// Writes output sample `i` (one C·H·W chunk of the batch, in the policy's
/// layout) pixel by pixel through [`augmented_pixel`]: the literal definition,
/// kept as the slow twin of the one-pass `super::pairs::render_step` (tests
/// check they agree bit for bit).
pub fn render_sample_per_pixel<T: OutElem>(
    k: &KernelPolicy,
    src: &Source<'_>,
    params: &[SampleParams],
    means: &[f32],
    i: usize,
    out: &mut [T],
) {
    let p = &params[i];
    let partner = &params[p.partner as usize];
    let partner_mean = means[p.partner as usize];
    let stats = auto_stats(k, src, p);
    let partner_stats = auto_stats(k, src, partner);
    let mixed = p.flags & flags::MIXED != 0;
    let cutmix = p.flags & flags::CUTMIX != 0;
    let channels = k.channels as usize;
    let w = k.width as usize;
    let plane = w * k.height as usize;
    for y in 0..k.height {
        for x in 0..k.width {
            let in_box = cutmix
                && x >= p.cut_box[0]
                && x < p.cut_box[2]
                && y >= p.cut_box[1]
                && y < p.cut_box[3];
            let value = if in_box {
                augmented_pixel(k, src, partner, &partner_stats, partner_mean, x, y)
            } else {
                let own = augmented_pixel(k, src, p, &stats, means[i], x, y);
                if mixed && !cutmix {
                    let other =
                        augmented_pixel(k, src, partner, &partner_stats, partner_mean, x, y);
                    let mut v = [0.0f32; 3];
                    for c in 0..channels {
                        v[c] = own[c] * p.lambda + other[c] * (1.0 - p.lambda);
                    }
                    v
                } else {
                    own
                }
            };
            let pixel = y as usize * w + x as usize;
            for (c, &v) in value.iter().enumerate().take(channels) {
                store(k, out, c, pixel, plane, (v - k.mean[c]) / k.std[c]);
            }
        }
    }
}

#[inline(always)]
fn store<T: OutElem>(
    k: &KernelPolicy,
    out: &mut [T],
    c: usize,
    pixel: usize,
    plane: usize,
    v: f32,
) {
    let at = if k.out_layout == LAYOUT_NCHW {
        c * plane + pixel
    } else {
        pixel * k.channels as usize + c
    };
    out[at] = T::from_f32(v);
}
