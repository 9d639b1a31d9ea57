//! TrivialAugment-Wide / RandAugment ops, CPU reference: the per-sample
//! reductions (`auto_stats`, in op order) and the value of the auto chain at
//! one output pixel (`auto_pixel`), on top of the geometry G
//! (`pixel::geometric_pixel`). Definition: `docs/SEMANTICS.md` §10; the
//! kernels transcribe these functions. Stage k is the image after the
//! sample's first k ops, on the output grid; a pixel of stage k is computed
//! from stage k − 1 (at the pixel, its 3×3 neighbours for sharpness, or the
//! geometry stage's taps), so the definition is literal and per pixel.
//! Tests: `cargo test -p augkit --test cpu_auto_ops`.

use super::pixel::{Source, bilinear_taps, geometric_pixel, grayscale};
use crate::kernel_args::*;
use crate::params::{auto_op_at, auto_op_moves_pixels};

const OPS: usize = MAX_AUTO_OPS as usize;

/// One sample's auto-op reductions, per op index (unused entries keep
/// their defaults).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AutoStats {
    /// Contrast: the mean grayscale of the image it sees.
    pub mean: [f32; OPS],
    /// AutoContrast: per-channel minimum and maximum.
    pub lo: [[f32; 3]; OPS],
    pub hi: [[f32; 3]; OPS],
    /// Equalize: per-channel lookup table (the identity where torchvision's
    /// step is 0).
    pub lut: [[[u8; 256]; 3]; OPS],
}

impl Default for AutoStats {
    fn default() -> Self {
        let identity: [u8; 256] = std::array::from_fn(|i| i as u8);
        Self {
            mean: [0.0; OPS],
            lo: [[0.0; 3]; OPS],
            hi: [[0.0; 3]; OPS],
            lut: [[identity; 3]; OPS],
        }
    }
}

/// How many auto ops the sample runs (0 without the `AUTO` flag).
#[inline]
pub fn auto_op_count(p: &SampleParams) -> usize {
    if p.flags & flags::AUTO == 0 {
        return 0;
    }
    (0..MAX_AUTO_OPS)
        .take_while(|&i| auto_op_at(p.auto_ops, i) != AUTO_OP_NONE)
        .count()
}

/// Index of the sample's first geometry op (`OPS` when none).
#[inline]
pub fn first_geometry_op(p: &SampleParams) -> usize {
    (0..auto_op_count(p))
        .find(|&i| auto_op_moves_pixels(auto_op_at(p.auto_ops, i as u32)))
        .unwrap_or(OPS)
}

/// Whether op `op` needs a per-image reduction.
#[inline]
pub fn auto_op_reduces(op: u32) -> bool {
    matches!(
        op,
        AUTO_OP_CONTRAST | AUTO_OP_AUTOCONTRAST | AUTO_OP_EQUALIZE
    )
}

/// torchvision's Equalize quantisation `to_dtype(float → uint8, scale=True)`:
/// `trunc(v · f32(255 + 1 − 0.001))`.
#[inline(always)]
pub fn equalize_quantise(v: f32) -> u8 {
    const SCALE: f32 = (255.0f64 + 1.0 - 1e-3) as f32;
    (v * SCALE) as u8
}

/// torchvision `equalize_image`'s LUT from one channel's histogram of
/// `pixels` values: the identity when its step is 0.
pub fn equalize_lut(hist: &[u32; 256], pixels: u32) -> [u8; 256] {
    let mut lut: [u8; 256] = std::array::from_fn(|i| i as u8);
    // argmax of the cumulative histogram: its first maximum, the last
    // non-empty bin.
    let last = hist.iter().rposition(|&n| n > 0).unwrap_or(0);
    let step = (pixels - hist[last]) / 255;
    if step == 0 {
        return lut;
    }
    let mut cum = 0u32;
    lut[0] = 0;
    for i in 0..255 {
        cum += hist[i];
        lut[i + 1] = ((cum + step / 2) / step).min(255) as u8;
    }
    lut
}

/// A pointwise or reduction op `op` (signed magnitude `m`, reductions
/// `stats` at op index `i`) on one pixel's channels. Geometry ops and
/// Sharpness are not pointwise (identity here).
#[inline(always)]
pub fn point_op(
    k: &KernelPolicy,
    op: u32,
    m: f32,
    stats: &AutoStats,
    i: usize,
    mut v: [f32; 3],
) -> [f32; 3] {
    let channels = k.channels as usize;
    // The enhance factor f = 1 + m; torchvision's blend weight 1 − f is
    // computed in f64 from Python floats, which gives exactly −m.
    let f = 1.0 + m;
    let rest = -m;
    match op {
        AUTO_OP_BRIGHTNESS => {
            for c in v.iter_mut().take(channels) {
                *c = (f * *c).clamp(0.0, 1.0);
            }
        }
        AUTO_OP_COLOR if channels == 3 => {
            let gray = grayscale(v);
            for c in v.iter_mut() {
                *c = (f * *c + rest * gray).clamp(0.0, 1.0);
            }
        }
        AUTO_OP_CONTRAST => {
            let mean = stats.mean[i];
            for c in v.iter_mut().take(channels) {
                *c = (f * *c + rest * mean).clamp(0.0, 1.0);
            }
        }
        AUTO_OP_POSTERIZE => {
            let levels = (1u32 << m as u32) as f32;
            for c in v.iter_mut().take(channels) {
                *c = (*c * levels).floor().clamp(0.0, levels - 1.0) * (1.0 / levels);
            }
        }
        AUTO_OP_SOLARIZE => {
            for c in v.iter_mut().take(channels) {
                if *c >= m {
                    *c = 1.0 - *c;
                }
            }
        }
        AUTO_OP_AUTOCONTRAST => {
            for (ch, c) in v.iter_mut().enumerate().take(channels) {
                let (lo, hi) = (stats.lo[i][ch], stats.hi[i][ch]);
                let (lo, scale) = if hi == lo { (0.0, 1.0) } else { (lo, hi - lo) };
                *c = ((*c - lo) / scale).clamp(0.0, 1.0);
            }
        }
        AUTO_OP_EQUALIZE => {
            for (ch, c) in v.iter_mut().enumerate().take(channels) {
                let q = equalize_quantise(*c);
                *c = f32::from(stats.lut[i][ch][usize::from(q)]) * (1.0f64 / 255.0) as f32;
            }
        }
        _ => {}
    }
    v
}

/// torchvision `adjust_sharpness` at one interior pixel: `centre` and its
/// 3×3 neighbourhood `at(dx, dy)` of the image it sees.
#[inline(always)]
pub fn sharpen(
    k: &KernelPolicy,
    m: f32,
    centre: [f32; 3],
    mut at: impl FnMut(i32, i32) -> [f32; 3],
) -> [f32; 3] {
    // The kernel [[1, 1, 1], [1, 5, 1], [1, 1, 1]] / 13 as float32 taps.
    const SIDE: f32 = (1.0f64 / 13.0) as f32;
    const MIDDLE: f32 = (5.0f64 / 13.0) as f32;
    let channels = k.channels as usize;
    let mut blur = [0.0f32; 3];
    for dy in -1..=1 {
        for dx in -1..=1 {
            let (weight, v) = if dx == 0 && dy == 0 {
                (MIDDLE, centre)
            } else {
                (SIDE, at(dx, dy))
            };
            for c in 0..channels {
                blur[c] += weight * v[c];
            }
        }
    }
    let rest = -m; // torchvision's 1 − f, f = 1 + m
    let mut out = centre;
    for c in 0..channels {
        out[c] = (centre[c] + rest * (blur[c] - centre[c])).clamp(0.0, 1.0);
    }
    out
}

/// Stage `n` (the image after the sample's first n auto ops) at output-grid
/// pixel (x, y), inside the image.
pub fn stage_value(
    k: &KernelPolicy,
    src: &Source<'_>,
    p: &SampleParams,
    stats: &AutoStats,
    n: usize,
    x: i32,
    y: i32,
) -> [f32; 3] {
    if n == 0 {
        return geometric_pixel(k, src, p, x as u32, y as u32);
    }
    let i = n - 1;
    let op = auto_op_at(p.auto_ops, i as u32);
    let m = p.auto_magnitudes[i];
    let before = |x: i32, y: i32| stage_value(k, src, p, stats, i, x, y);
    if auto_op_moves_pixels(op) {
        if first_geometry_op(p) == i {
            return geometry_stage(k, p, x, y, before);
        }
        // A later geometry op is folded into `auto_affine`.
        return before(x, y);
    }
    if op == AUTO_OP_SHARPNESS {
        let (w, h) = (k.width as i32, k.height as i32);
        let centre = before(x, y);
        if w <= 2 || h <= 2 || x == 0 || y == 0 || x == w - 1 || y == h - 1 {
            return centre;
        }
        return sharpen(k, m, centre, |dx, dy| before(x + dx, y + dy));
    }
    point_op(k, op, m, stats, i, before(x, y))
}

/// The geometry stage: the image `read` (the stage before the first
/// geometry op) sampled through `auto_affine`, nearest or bilinear, with
/// the fill and its mask as torchvision's `_apply_grid_transform`.
#[inline(always)]
pub fn geometry_stage(
    k: &KernelPolicy,
    p: &SampleParams,
    x: i32,
    y: i32,
    mut read: impl FnMut(i32, i32) -> [f32; 3],
) -> [f32; 3] {
    let a = &p.auto_affine;
    let px = x as f32 + 0.5;
    let py = y as f32 + 0.5;
    let jx = a[0] * px + a[1] * py + a[2];
    let jy = a[3] * px + a[4] * py + a[5];
    let (w, h) = (k.width as i32, k.height as i32);
    let channels = k.channels as usize;
    let fill = k.auto_fill;
    let inside = |tx: i32, ty: i32| tx >= 0 && tx < w && ty >= 0 && ty < h;
    if k.auto_interpolation == INTERP_NEAREST {
        let (tx, ty) = (jx.floor() as i32, jy.floor() as i32);
        if !inside(tx, ty) {
            return [fill; 3];
        }
        return read(tx, ty);
    }
    let taps = bilinear_taps(jx, jy);
    let mut out = [0.0f32; 3];
    let mut mask = 0.0f32;
    for (tx, ty, weight) in taps {
        if !inside(tx, ty) {
            continue;
        }
        mask += weight;
        let v = read(tx, ty);
        for c in 0..channels {
            out[c] += weight * v[c];
        }
    }
    for o in out.iter_mut().take(channels) {
        *o = *o * mask + (1.0 - mask) * fill;
    }
    out
}

/// The sample's pixel after its auto ops (G itself when it has none).
#[inline]
pub fn auto_pixel(
    k: &KernelPolicy,
    src: &Source<'_>,
    p: &SampleParams,
    stats: &AutoStats,
    x: u32,
    y: u32,
) -> [f32; 3] {
    stage_value(k, src, p, stats, auto_op_count(p), x as i32, y as i32)
}

/// The sample's auto-op reductions, in op order: each over the whole
/// stage it sees (which uses the reductions before it).
pub fn auto_stats(k: &KernelPolicy, src: &Source<'_>, p: &SampleParams) -> AutoStats {
    let mut stats = AutoStats::default();
    for i in 0..auto_op_count(p) {
        let op = auto_op_at(p.auto_ops, i as u32);
        if auto_op_reduces(op) {
            let seen = stats;
            reduce_stage(k, op, i, &mut stats, |x, y| {
                stage_value(k, src, p, &seen, i, x, y)
            });
        }
    }
    stats
}

/// Reduction op `op` (index `i`) over a whole stage, its pixels given by
/// `value(x, y)`, visited in row-major order (the order of the f64 sum);
/// writes `stats`' entries for op `i`.
pub fn reduce_stage(
    k: &KernelPolicy,
    op: u32,
    i: usize,
    stats: &mut AutoStats,
    mut value: impl FnMut(i32, i32) -> [f32; 3],
) {
    let channels = k.channels as usize;
    let (w, h) = (k.width as i32, k.height as i32);
    let mut sum = 0.0f64;
    let (mut lo, mut hi) = ([0.0f32; 3], [0.0f32; 3]);
    lo[..channels].fill(f32::INFINITY);
    hi[..channels].fill(f32::NEG_INFINITY);
    let mut hist = [[0u32; 256]; 3];
    for y in 0..h {
        for x in 0..w {
            let v = value(x, y);
            match op {
                AUTO_OP_CONTRAST => {
                    sum += f64::from(if channels == 3 { grayscale(v) } else { v[0] });
                }
                AUTO_OP_AUTOCONTRAST => {
                    for c in 0..channels {
                        lo[c] = lo[c].min(v[c]);
                        hi[c] = hi[c].max(v[c]);
                    }
                }
                _ => {
                    for c in 0..channels {
                        hist[c][usize::from(equalize_quantise(v[c]))] += 1;
                    }
                }
            }
        }
    }
    match op {
        AUTO_OP_CONTRAST => stats.mean[i] = (sum / f64::from(k.height * k.width)) as f32,
        AUTO_OP_AUTOCONTRAST => {
            stats.lo[i] = lo;
            stats.hi[i] = hi;
        }
        _ => {
            for (lut, hist) in stats.lut[i].iter_mut().zip(&hist).take(channels) {
                *lut = equalize_lut(hist, k.height * k.width);
            }
        }
    }
}
