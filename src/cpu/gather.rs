//! A sample's whole geometric image, row by row: the fast twin of
//! `pixel::geometric_pixel` (bit for bit its values), for `scratch.rs`.
//! Whole-pixel rows (crop, flip) convert one source run as a slice; other
//! nearest and bilinear maps compute a row's taps at once (the loops
//! vectorise) and gather from the source image converted once per sample;
//! synthetic and resized-crop samples go through `pixel::geometric_pixel`
//! per pixel. Tests: `cargo test -p augkit --lib cpu::fused_tests`.

use super::pixel::{Source, geometric_pixel, resizes_crop};
use crate::kernel_args::*;

/// Offsets of the nearest gather past a source plane's pixels: a tap
/// outside the window (fill) and a tap inside it but outside the image (crop
/// padding, 0), as `plane + TAP_*`.
const TAP_FILL: u32 = 0;
const TAP_PADDING: u32 = 1;

/// The sample's geometric image (`pixel::geometric_pixel` at every pixel).
#[inline(always)]
pub(super) fn geometry(
    k: &KernelPolicy,
    src: &Source<'_>,
    p: &SampleParams,
    image: &mut [f32],
    taps: Taps<'_>,
) {
    let Taps {
        offsets,
        weights,
        units,
    } = taps;
    let (w, h, channels) = (k.width as usize, k.height as usize, k.channels as usize);
    let plane = w * h;
    if p.flags & flags::SYNTHETIC != 0 || resizes_crop(k, p) {
        for y in 0..h {
            for x in 0..w {
                let v = geometric_pixel(k, src, p, x as u32, y as u32);
                for (c, &v) in v.iter().enumerate().take(channels) {
                    image[c * plane + y * w + x] = v;
                }
            }
        }
        return;
    }
    let elements = src.shape.elements();
    let pixels = &src.pixels[p.dataset_index as usize * elements..][..elements];
    let step = whole_pixel_step(p).filter(|_| k.interpolation == INTERP_NEAREST);
    if step.is_none() {
        // Convert the whole source image once, then gather f32 values.
        for c in 0..channels {
            let from = &pixels[c * plane..][..plane];
            let to = &mut units[c * (plane + 2)..][..plane + 2];
            convert_run(&mut to[..plane], from.iter());
            to[plane + TAP_FILL as usize] = k.fill;
            to[plane + TAP_PADDING as usize] = 0.0;
        }
    }
    if k.interpolation != INTERP_NEAREST {
        for y in 0..h {
            bilinear_row_taps(k, p, y as u32, offsets, weights);
            for c in 0..channels {
                let from = &units[c * (plane + 2)..][..plane + 2];
                let row = &mut image[c * plane + y * w..][..w];
                bilinear_row(from, offsets, weights, k.fill, row);
            }
        }
        return;
    }
    let offsets = &mut offsets[..w];
    for y in 0..h {
        match step {
            Some(step) => whole_pixel_offsets(k, p, step, y as u32, offsets),
            None => nearest_offsets(k, p, y as u32, offsets),
        }
        let Some(step) = step else {
            for c in 0..channels {
                let from = &units[c * (plane + 2)..][..plane + 2];
                gather(from, offsets, &mut image[c * plane + y * w..][..w]);
            }
            continue;
        };
        // With a whole-pixel map the taps inside the image are one run of a
        // source row, forwards or backwards: convert it as a slice.
        let run_at = |o: &u32| (*o as usize) < plane;
        let run = offsets
            .iter()
            .position(run_at)
            .zip(offsets.iter().rposition(run_at));
        for c in 0..channels {
            let source = &pixels[c * plane..][..plane];
            let row = &mut image[c * plane + y * w..][..w];
            let Some((x0, last)) = run else {
                edge(offsets, plane, k.fill, row);
                continue;
            };
            let x1 = last + 1;
            edge(&offsets[..x0], plane, k.fill, &mut row[..x0]);
            edge(&offsets[x1..], plane, k.fill, &mut row[x1..]);
            let (a, b) = (offsets[x0] as usize, offsets[last] as usize);
            let row = &mut row[x0..x1];
            if step > 0 {
                convert_run(row, source[a..=b].iter());
            } else {
                convert_run(row, source[b..=a].iter().rev());
            }
        }
    }
}

/// Taps outside the image of a whole-pixel row: fill or padding.
#[inline(always)]
fn edge(offsets: &[u32], plane: usize, fill: f32, row: &mut [f32]) {
    for (o, &at) in row.iter_mut().zip(offsets) {
        *o = if at as usize == plane + TAP_FILL as usize {
            fill
        } else {
            0.0
        };
    }
}

/// The column step (±1) of a map that only flips and shifts by whole
/// pixels (rows then read one source row at that step), else `None`.
#[inline(always)]
fn whole_pixel_step(p: &SampleParams) -> Option<i32> {
    let m = &p.inverse_affine;
    let half_steps = |v: f32| (v * 2.0).fract() == 0.0 && v.abs() < 4_194_304.0;
    let whole = m[1] == 0.0
        && m[3] == 0.0
        && m[0].abs() == 1.0
        && m[4].abs() == 1.0
        && half_steps(m[2])
        && half_steps(m[5]);
    whole.then_some(m[0] as i32)
}

/// `byte / 255` of a run of source bytes.
#[inline(always)]
fn convert_run<'a>(row: &mut [f32], bytes: impl Iterator<Item = &'a u8>) {
    for (o, &b) in row.iter_mut().zip(bytes) {
        *o = f32::from(b) / 255.0;
    }
}

/// For each pixel of row `y`: the offset in a source plane of its nearest
/// tap, or `plane + TAP_*`. The map is `sample_point`'s, term for term.
#[inline(always)]
fn nearest_offsets(k: &KernelPolicy, p: &SampleParams, y: u32, offsets: &mut [u32]) {
    let m = &p.inverse_affine;
    let py = y as f32 + 0.5;
    let (yx, yy) = (m[1] * py, m[4] * py);
    for (x, o) in (0i32..).zip(offsets.iter_mut()) {
        let px = x as f32 + 0.5;
        let tx = tap(m[0] * px + yx + m[2]);
        let ty = tap(m[3] * px + yy + m[5]);
        *o = classify(k, p, tx, ty);
    }
}

/// [`nearest_offsets`] for a whole-pixel map (`step` = m[0] = ±1, no
/// rotation): the taps are `tx0 + step·x` on row `ty`, exactly, since every
/// term is a multiple of ½ below 2^22 (so the f32 sums of the map are
/// exact), and no float is converted per pixel.
#[inline(always)]
fn whole_pixel_offsets(k: &KernelPolicy, p: &SampleParams, step: i32, y: u32, offsets: &mut [u32]) {
    let m = &p.inverse_affine;
    let ty = tap(m[4] * (y as f32 + 0.5) + m[5]);
    let tx0 = tap(m[0] * 0.5 + m[2]);
    for (x, o) in (0i32..).zip(offsets.iter_mut()) {
        *o = classify(k, p, tx0 + step * x, ty);
    }
}

/// `v.floor() as i32` wherever the result can matter. The cast saturates
/// and maps NaN to 0, which does not vectorise; here NaN still gives 0 and
/// anything beyond ±2^30 is clamped to ±2^30 — still outside every window
/// (padding ≤ 2^20, sides ≤ 2^14), as the saturated value was.
#[inline(always)]
fn tap(v: f32) -> i32 {
    const LIMIT: f32 = 1_073_741_824.0;
    let f = v.floor();
    let f = if f.is_nan() { 0.0 } else { f };
    let f = f.clamp(-LIMIT, LIMIT);
    // SAFETY: `f` is an integer value in [−2^30, 2^30], not NaN or ±∞.
    unsafe { f.to_int_unchecked::<i32>() }
}

/// The offset of tap (tx, ty) in a source plane, or `plane + TAP_*`.
#[inline(always)]
fn classify(k: &KernelPolicy, p: &SampleParams, tx: i32, ty: i32) -> u32 {
    let [wx0, wy0, wx1, wy1] = p.window;
    let (w, h) = (k.width as i32, k.height as i32);
    let plane = (k.width * k.height) as i32;
    let in_window = (tx >= wx0) & (tx < wx1) & (ty >= wy0) & (ty < wy1);
    let in_image = (tx >= 0) & (tx < w) & (ty >= 0) & (ty < h);
    let at = ty.wrapping_mul(w).wrapping_add(tx);
    let at = if !in_window {
        plane + TAP_FILL as i32
    } else if in_image {
        at
    } else {
        plane + TAP_PADDING as i32
    };
    at as u32
}

/// The per-row tap buffers of [`Scratch`], lent to [`geometry`].
pub(super) struct Taps<'a> {
    pub offsets: &'a mut [u32],
    pub weights: &'a mut [f32],
    pub units: &'a mut [f32],
}

/// For each pixel of row `y`, its four bilinear taps as
/// `pixel::bilinear_taps` computes and orders them (here a row at a time,
/// so the loop vectorises): offsets (`plane + TAP_PADDING`,
/// a 0, for a tap outside the image or the window), weights, and the
/// window mass (the sum, in tap order, of the weights of taps inside the
/// window). Tap t of pixel x is at `t·w + x`; the masses at `4·w + x`.
#[inline(always)]
fn bilinear_row_taps(
    k: &KernelPolicy,
    p: &SampleParams,
    y: u32,
    offsets: &mut [u32],
    weights: &mut [f32],
) {
    let w = k.width as usize;
    let m = &p.inverse_affine;
    let py = y as f32 + 0.5;
    let (yx, yy) = (m[1] * py, m[4] * py);
    let padding = k.width * k.height + TAP_PADDING;
    let (o, wt) = (&mut offsets[..4 * w], &mut weights[..5 * w]);
    let (o0, o) = o.split_at_mut(w);
    let (o1, o) = o.split_at_mut(w);
    let (o2, o3) = o.split_at_mut(w);
    let (w0, wt) = wt.split_at_mut(w);
    let (w1, wt) = wt.split_at_mut(w);
    let (w2, wt) = wt.split_at_mut(w);
    let (w3, mass) = wt.split_at_mut(w);
    for x in 0..w {
        let px = x as i32 as f32 + 0.5;
        let fx = (m[0] * px + yx + m[2]) - 0.5;
        let fy = (m[3] * px + yy + m[5]) - 0.5;
        let (x0f, y0f) = (fx.floor(), fy.floor());
        let (ax, ay) = (fx - x0f, fy - y0f);
        let (x0, y0) = (tap(fx), tap(fy));
        let weight = [
            (1.0 - ax) * (1.0 - ay),
            ax * (1.0 - ay),
            (1.0 - ax) * ay,
            ax * ay,
        ];
        let at = [(x0, y0), (x0 + 1, y0), (x0, y0 + 1), (x0 + 1, y0 + 1)];
        let mut total = 0.0f32;
        let mut code = [0u32; 4];
        for t in 0..4 {
            let (tx, ty) = at[t];
            let c = classify(k, p, tx, ty);
            let in_window = c != k.width * k.height + TAP_FILL;
            total += if in_window { weight[t] } else { 0.0 };
            code[t] = if in_window { c } else { padding };
        }
        (o0[x], o1[x], o2[x], o3[x]) = (code[0], code[1], code[2], code[3]);
        (w0[x], w1[x], w2[x], w3[x]) = (weight[0], weight[1], weight[2], weight[3]);
        mass[x] = total;
    }
}

/// One row of one channel from its bilinear taps: the weighted sum in tap
/// order (a skipped tap adds +0, which changes no sum of non-negative
/// terms), then torchvision's `v·m + (1 − m)·fill`.
#[inline(always)]
fn bilinear_row(units: &[f32], offsets: &[u32], weights: &[f32], fill: f32, row: &mut [f32]) {
    let w = row.len();
    let last = units.len() - 1;
    let texel = |o: u32| units[(o as usize).min(last)];
    let (o, wt) = (&offsets[..4 * w], &weights[..5 * w]);
    for (x, out) in row.iter_mut().enumerate() {
        let mut v = 0.0f32;
        v += wt[x] * texel(o[x]);
        v += wt[w + x] * texel(o[w + x]);
        v += wt[2 * w + x] * texel(o[2 * w + x]);
        v += wt[3 * w + x] * texel(o[3 * w + x]);
        let mass = wt[4 * w + x];
        *out = v * mass + (1.0 - mass) * fill;
    }
}

/// One row of one channel: the values at the offsets in a converted plane
/// (pixels, fill, padding). The clamp keeps every read in bounds without a
/// branch (offsets never exceed it), so the loop can use vector gathers.
#[inline(always)]
fn gather(units: &[f32], offsets: &[u32], row: &mut [f32]) {
    let last = units.len() - 1;
    for (o, &at) in row.iter_mut().zip(offsets) {
        *o = units[(at as usize).min(last)];
    }
}
