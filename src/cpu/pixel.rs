//! One pixel of a sample before its auto ops, CPU reference: the texel
//! sources (a dataset image, an interpolation blend, a PCA sample), the
//! geometry through the sample's inverse affine (nearest or bilinear, fill
//! outside the window, zero in crop padding; a resized crop's box resized
//! as torchvision's `resize` under the affine's taps) and the colour-jitter
//! ops in the sample's order. Definition: `docs/SEMANTICS.md` §4–§6, §9.
//! Kernel twins: `kernels/cuda/pixel.cuh`, `kernels/wgsl/pixel.wgsl`.
//! Tests: `cargo test --test cpu_semantics`.

use crate::dataset::ImageShape;
use crate::kernel_args::*;
use crate::synthetic::SynthTables;

/// The resident dataset as the pixel pass reads it.
#[derive(Clone, Copy)]
pub struct Source<'a> {
    pub shape: ImageShape,
    pub pixels: &'a [u8],
    /// Per-image mean grayscale in [0, 1] (the `source` contrast mode).
    pub gray_means: &'a [f32],
    /// The synthetic model and class index, when the policy has one.
    pub synth: Option<&'a SynthTables>,
    /// The step's synthetic coefficients, `synth_components` per sample.
    pub coefficients: &'a [f32],
    /// The step (seed, epoch, first position): the key and owner of the
    /// erasing values drawn per pixel (`params::erased_value`).
    pub step: StepArgs,
}

impl Source<'_> {
    #[inline(always)]
    fn byte(&self, image: u32, offset: usize) -> f32 {
        f32::from(self.pixels[image as usize * self.shape.elements() + offset]) / 255.0
    }

    /// Channel `c` of source pixel (x, y) of the sample's image: a dataset
    /// image, or the synthetic image it stands for (SEMANTICS.md §9).
    #[inline(always)]
    fn texel(&self, k: &KernelPolicy, p: &SampleParams, c: usize, x: i32, y: i32) -> f32 {
        let s = self.shape;
        let offset = (c * s.height as usize + y as usize) * s.width as usize + x as usize;
        if p.flags & flags::SYNTHETIC == 0 {
            return self.byte(p.dataset_index, offset);
        }
        if k.synth_mode == SYNTH_INTERPOLATE {
            let a = self.byte(p.dataset_index, offset);
            let b = self.byte(p.synth_partner, offset);
            return (1.0 - p.synth_t) * a + p.synth_t * b;
        }
        let tables = self
            .synth
            .expect("synthetic samples need the synthetic tables");
        let d = s.elements();
        let n = k.synth_components as usize;
        let class = p.label_a as usize;
        let coefficients = &self.coefficients[p.slot as usize * n..(p.slot as usize + 1) * n];
        let mut v = tables.means[class * d + offset];
        for (j, &a) in coefficients.iter().enumerate() {
            v += a * tables.basis[(class * n + j) * d + offset];
        }
        clamp01(v)
    }

    /// The mean grayscale of the sample's source image (`source` contrast mode).
    #[inline]
    pub(super) fn gray_mean(&self, k: &KernelPolicy, p: &SampleParams) -> f32 {
        if p.flags & flags::SYNTHETIC == 0 {
            return self.gray_means[p.dataset_index as usize];
        }
        if k.synth_mode == SYNTH_INTERPOLATE {
            let a = self.gray_means[p.dataset_index as usize];
            let b = self.gray_means[p.synth_partner as usize];
            return (1.0 - p.synth_t) * a + p.synth_t * b;
        }
        self.synth
            .expect("synthetic samples need the synthetic tables")
            .class_gray_means[p.label_a as usize]
    }
}

/// Where output pixel (x, y) samples the source: the inverse affine at the
/// pixel centre.
#[inline(always)]
pub fn sample_point(p: &SampleParams, x: u32, y: u32) -> (f32, f32) {
    let m = &p.inverse_affine;
    let px = x as f32 + 0.5;
    let py = y as f32 + 0.5;
    (m[0] * px + m[1] * py + m[2], m[3] * px + m[4] * py + m[5])
}

/// The four bilinear taps (pixel, weight) around a sampling point in
/// pixel-corner coordinates (align_corners = False), in a fixed order.
#[inline(always)]
pub fn bilinear_taps(sx: f32, sy: f32) -> [(i32, i32, f32); 4] {
    let fx = sx - 0.5;
    let fy = sy - 0.5;
    let x0f = fx.floor();
    let y0f = fy.floor();
    let ax = fx - x0f;
    let ay = fy - y0f;
    let x0 = x0f as i32;
    let y0 = y0f as i32;
    [
        (x0, y0, (1.0 - ax) * (1.0 - ay)),
        (x0 + 1, y0, ax * (1.0 - ay)),
        (x0, y0 + 1, (1.0 - ax) * ay),
        (x0 + 1, y0 + 1, ax * ay),
    ]
}

#[inline(always)]
fn in_window(p: &SampleParams, x: i32, y: i32) -> bool {
    x >= p.window[0] && x < p.window[2] && y >= p.window[1] && y < p.window[3]
}

/// Whether the sample is resized-cropped: its map ends in crop space and
/// the pixel pass resizes the window's box to W×H (SEMANTICS.md §4).
#[inline(always)]
pub fn resizes_crop(k: &KernelPolicy, p: &SampleParams) -> bool {
    k.crop_mode == CROP_RESIZED && p.flags & flags::CROPPED != 0
}

/// One axis of the resized crop's resize, torchvision `resize` (aten's
/// upsample kernels, `align_corners = False`) of a box of `len` source
/// pixels starting at `origin` to the output side.
#[derive(Clone, Copy)]
pub struct ResizeAxis {
    pub origin: i32,
    pub len: i32,
    /// `len / out` in f32, correctly rounded (as aten computes it).
    pub scale: f32,
}

impl ResizeAxis {
    /// The box [lo, hi) resized to `out` pixels.
    #[inline(always)]
    pub fn new(lo: i32, hi: i32, out: u32) -> Self {
        let len = hi - lo;
        Self {
            origin: lo,
            len,
            scale: len as f32 / out as f32,
        }
    }

    /// `NEAREST` (⌊j·scale⌋) or `NEAREST_EXACT` (⌊(j + ½)·scale⌋), clamped
    /// to the box: the source pixel of crop-space pixel j.
    #[inline(always)]
    pub fn nearest(&self, j: i32, exact: bool) -> i32 {
        let offset = if exact { 0.5 } else { 0.0 };
        let t = ((j as f32 + offset) * self.scale).floor() as i32;
        self.origin + t.min(self.len - 1)
    }

    /// Bilinear: the two source pixels of crop-space pixel j and the weight
    /// of the second, from s = max((j + ½)·scale − ½, 0); the upper tap is
    /// clamped to the box's last pixel.
    #[inline(always)]
    pub fn linear(&self, j: i32) -> (i32, i32, f32) {
        let s = ((j as f32 + 0.5) * self.scale - 0.5).max(0.0);
        let i0 = (s.floor() as i32).min(self.len - 1);
        let lambda = (s - i0 as f32).clamp(0.0, 1.0);
        let i1 = if i0 < self.len - 1 { i0 + 1 } else { i0 };
        (self.origin + i0, self.origin + i1, lambda)
    }
}

/// The resized box's pixel (jx, jy) of crop space (inside W×H), per
/// channel: torchvision's resize with `crop_interpolation`. Bilinear rows
/// then columns, as aten; a tap of weight 0 is skipped (it adds +0).
#[inline(always)]
fn resized_texel(
    k: &KernelPolicy,
    src: &Source<'_>,
    p: &SampleParams,
    axes: &[ResizeAxis; 2],
    jx: i32,
    jy: i32,
) -> [f32; 3] {
    let channels = k.channels as usize;
    let mut out = [0.0f32; 3];
    if k.crop_interpolation != INTERP_BILINEAR {
        let exact = k.crop_interpolation == INTERP_NEAREST_EXACT;
        let (sx, sy) = (axes[0].nearest(jx, exact), axes[1].nearest(jy, exact));
        for (c, o) in out.iter_mut().enumerate().take(channels) {
            *o = src.texel(k, p, c, sx, sy);
        }
        return out;
    }
    let (x0, x1, lx) = axes[0].linear(jx);
    let (y0, y1, ly) = axes[1].linear(jy);
    let row = |c: usize, y: i32| {
        let a = src.texel(k, p, c, x0, y);
        if lx == 0.0 {
            a
        } else {
            (1.0 - lx) * a + lx * src.texel(k, p, c, x1, y)
        }
    };
    for (c, o) in out.iter_mut().enumerate().take(channels) {
        let top = row(c, y0);
        *o = if ly == 0.0 {
            top
        } else {
            (1.0 - ly) * top + ly * row(c, y1)
        };
    }
    out
}

/// Geometry of a resized-crop sample, two stages as torchvision runs them:
/// the affine's taps on the crop-space grid (fill outside W×H, the
/// bilinear fill mask as §4), each tap's value the resized box's pixel.
/// Without an affine every tap lands on a pixel centre, so one crop-space
/// tap with weight 1 is read.
#[inline(always)]
fn resized_crop_pixel(
    k: &KernelPolicy,
    src: &Source<'_>,
    p: &SampleParams,
    x: u32,
    y: u32,
) -> [f32; 3] {
    let (cx, cy) = sample_point(p, x, y);
    let axes = [
        ResizeAxis::new(p.window[0], p.window[2], k.width),
        ResizeAxis::new(p.window[1], p.window[3], k.height),
    ];
    let channels = k.channels as usize;
    let (w, h) = (k.width as i32, k.height as i32);
    if k.interpolation == INTERP_NEAREST {
        let jx = cx.floor() as i32;
        let jy = cy.floor() as i32;
        if jx < 0 || jx >= w || jy < 0 || jy >= h {
            return [k.fill; 3];
        }
        return resized_texel(k, src, p, &axes, jx, jy);
    }
    let taps = bilinear_taps(cx, cy);
    let mut out = [0.0f32; 3];
    let mut mask = 0.0f32;
    for (tx, ty, weight) in taps {
        if tx < 0 || tx >= w || ty < 0 || ty >= h {
            continue;
        }
        mask += weight;
        if weight == 0.0 {
            continue;
        }
        let v = resized_texel(k, src, p, &axes, tx, ty);
        for c in 0..channels {
            out[c] += weight * v[c];
        }
    }
    for o in out.iter_mut().take(channels) {
        *o = *o * mask + (1.0 - mask) * k.fill;
    }
    out
}

/// Geometry: the sample's pixel (x, y) before colour, per channel, in [0, 1].
#[inline(always)]
pub fn geometric_pixel(
    k: &KernelPolicy,
    src: &Source<'_>,
    p: &SampleParams,
    x: u32,
    y: u32,
) -> [f32; 3] {
    if resizes_crop(k, p) {
        return resized_crop_pixel(k, src, p, x, y);
    }
    let (sx, sy) = sample_point(p, x, y);
    let channels = k.channels as usize;
    let w = k.width as i32;
    let h = k.height as i32;
    let mut out = [0.0f32; 3];
    if k.interpolation == INTERP_NEAREST {
        let tx = sx.floor() as i32;
        let ty = sy.floor() as i32;
        if !in_window(p, tx, ty) {
            return [k.fill; 3];
        }
        if tx >= 0 && tx < w && ty >= 0 && ty < h {
            for (c, o) in out.iter_mut().enumerate().take(channels) {
                *o = src.texel(k, p, c, tx, ty);
            }
        }
        return out;
    }
    // Bilinear over the window-extended image: value v (zero outside), mask m
    // (weight inside the window), then torchvision's v·m + (1 − m)·fill.
    let taps = bilinear_taps(sx, sy);
    let mut mask = 0.0f32;
    for (tx, ty, weight) in taps {
        if !in_window(p, tx, ty) {
            continue;
        }
        mask += weight;
        if tx >= 0 && tx < w && ty >= 0 && ty < h {
            for (c, o) in out.iter_mut().enumerate().take(channels) {
                *o += weight * src.texel(k, p, c, tx, ty);
            }
        }
    }
    for o in out.iter_mut().take(channels) {
        *o = *o * mask + (1.0 - mask) * k.fill;
    }
    out
}

#[inline(always)]
pub(super) fn clamp01(v: f32) -> f32 {
    v.clamp(0.0, 1.0)
}

/// torchvision `rgb_to_grayscale` weights, in its evaluation order.
#[inline(always)]
pub fn grayscale(rgb: [f32; 3]) -> f32 {
    0.2989 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]
}

#[inline(always)]
fn blend(v: f32, other: f32, factor: f32) -> f32 {
    clamp01(factor * v + (1.0 - factor) * other)
}

/// torchvision `_rgb2hsv`'s terms of pixel (r, g, b): the value `maxc`,
/// the saturation `s` and the distances `rc`, `gc`, `bc` from `maxc` over
/// the chroma (shared with the fast twin, `colour::hue`).
#[inline(always)]
pub(super) fn hsv_terms(r: f32, g: f32, b: f32) -> [f32; 5] {
    let maxc = r.max(g).max(b);
    let minc = r.min(g).min(b);
    let eqc = maxc == minc;
    let cr = maxc - minc;
    let s = cr / if eqc { 1.0 } else { maxc };
    let crd = if eqc { 1.0 } else { cr };
    let rc = (maxc - r) / crd;
    let gc = (maxc - g) / crd;
    let bc = (maxc - b) / crd;
    [maxc, s, rc, gc, bc]
}

/// The hue `h` (in sextants, before the ÷6) shifted by `shift` turns, and
/// `_hsv2rgb`'s sector `i` (a float) and `p`, `q`, `t` for value `v` and
/// saturation `s` (shared with the fast twin, `colour::hue`).
#[inline(always)]
pub(super) fn hsv2rgb_terms(h: f32, shift: f32, v: f32, s: f32) -> [f32; 4] {
    let h = h / 6.0 + 1.0;
    let h = h - h.trunc(); // torch.fmod(·, 1) of a positive number
    let h = h + shift;
    let h = h - h.floor(); // Python-style % 1.0
    let h6 = h * 6.0;
    let i = h6.floor();
    let f = h6 - i;
    let p = clamp01(v * (1.0 - s));
    let q = clamp01(v * (1.0 - s * f));
    let t = clamp01(v * (1.0 - s * (1.0 - f)));
    [i, p, q, t]
}

/// torchvision `_rgb2hsv` → hue shift → `_hsv2rgb`, on one pixel.
#[inline]
pub fn adjust_hue(rgb: [f32; 3], hue: f32) -> [f32; 3] {
    let [r, g, b] = rgb;
    let [maxc, s, rc, gc, bc] = hsv_terms(r, g, b);
    let h = if maxc == r {
        bc - gc
    } else if maxc == g {
        2.0 + rc - bc
    } else {
        4.0 + gc - rc
    };
    let v = maxc;
    let [i, p, q, t] = hsv2rgb_terms(h, hue, v, s);
    match (i as i32).rem_euclid(6) {
        0 => [v, t, p],
        1 => [q, v, p],
        2 => [p, v, t],
        3 => [p, q, v],
        4 => [t, p, v],
        _ => [v, p, q],
    }
}

/// Runs the sample's colour ops in its order. With `until_contrast`, stops
/// before contrast (what the exact contrast mean averages).
#[inline(always)]
pub fn colour(
    k: &KernelPolicy,
    p: &SampleParams,
    contrast_mean: f32,
    mut rgb: [f32; 3],
    until_contrast: bool,
) -> [f32; 3] {
    if p.flags & flags::JITTER == 0 {
        return rgb;
    }
    let channels = k.channels as usize;
    for slot in 0..4 {
        let op = (p.colour_order >> (8 * slot)) & 0xff;
        if k.jitter_ops & (1 << op) == 0 {
            continue;
        }
        match op {
            OP_BRIGHTNESS => {
                for v in rgb.iter_mut().take(channels) {
                    *v = clamp01(p.brightness * *v);
                }
            }
            OP_CONTRAST => {
                if until_contrast {
                    return rgb;
                }
                for v in rgb.iter_mut().take(channels) {
                    *v = blend(*v, contrast_mean, p.contrast);
                }
            }
            OP_SATURATION if channels == 3 => {
                let gray = grayscale(rgb);
                for v in rgb.iter_mut() {
                    *v = blend(*v, gray, p.saturation);
                }
            }
            OP_HUE if channels == 3 => rgb = adjust_hue(rgb, p.hue),
            _ => {}
        }
    }
    rgb
}

/// Whether the sample's pixels depend on a contrast mean.
#[inline]
pub fn needs_contrast_mean(k: &KernelPolicy, p: &SampleParams) -> bool {
    p.flags & flags::JITTER != 0 && k.jitter_ops & (1 << OP_CONTRAST) != 0
}
