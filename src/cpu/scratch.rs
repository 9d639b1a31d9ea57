//! One sample rendered once, whole, into a per-thread f32 scratch image
//! (planar C×H×W, values in [0, 1]): geometry, then the sample's colour ops
//! in its order over whole planes, the exact contrast mean taken from the
//! scratch at its place in that order. Per pixel the same f32 operations as
//! `augment::augmented_pixel` (the definition), so bit for bit its values;
//! replaces the separate contrast-mean walk over the geometry. Geometry:
//! whole-pixel rows (crop, flip) convert one source run as a slice; other
//! nearest and bilinear maps compute a row's taps 8 pixels at a time and
//! gather from the source image converted once per sample; synthetic and
//! resized-crop samples go through `augment::geometric_pixel` per pixel.
//! TrivialAugment / RandAugment samples then run their ops stage by stage
//! over the image (`auto_stages`).
//! Tests: `cargo test -p augkit --lib cpu::fused_tests`.

use std::cell::RefCell;

use super::augment::{Source, contrast_mean, geometric_pixel, resizes_crop};
use super::auto::{
    AutoStats, auto_op_count, auto_op_reduces, first_geometry_op, geometry_stage, point_op,
    reduce_stage, sharpen,
};
use super::colour;
use crate::kernel_args::*;
use crate::params::erased_value;
use crate::params::{auto_op_at, auto_op_moves_pixels};

/// A thread's reusable buffers: up to three sample images (own, partner, a
/// partner outside the tile), one row of taps, the converted source image
/// and one output sample for narrow dtypes. Nothing is allocated per sample.
pub struct Scratch {
    pub images: [Vec<f32>; 3],
    /// One row's tap offsets (four per pixel for bilinear, tap-major).
    offsets: Vec<u32>,
    /// One row's bilinear tap weights (tap-major) and window masses.
    weights: Vec<f32>,
    /// The source image in pixel units, each plane followed by its fill
    /// and padding values (what the nearest gather reads).
    units: Vec<f32>,
    pub out: Vec<f32>,
    /// A stage of a TrivialAugment / RandAugment sample (sized on first use).
    stage: Vec<f32>,
}

thread_local! {
    /// Scratch a thread keeps between rayon tasks and steps. rayon runs a
    /// task's init once per split of the batch, not once per thread, and a
    /// fresh scratch is several zeroed image-sized buffers: at 224×224 that
    /// was ~9,000 page faults and a 5× slower step (memory the allocator had
    /// just returned to the kernel).
    static SPARE: RefCell<Vec<Scratch>> = const { RefCell::new(Vec::new()) };
}

/// Scratches kept per thread: more than one can be leased at once when a
/// thread blocked in a join runs another task.
const SPARE_PER_THREAD: usize = 4;

/// A [`Scratch`] taken from this thread's spares (or new), returned on drop.
/// Its buffers hold the previous sample's values: every render writes what
/// it reads, as within one task.
pub struct Lease(Option<Scratch>);

impl std::ops::Deref for Lease {
    type Target = Scratch;
    fn deref(&self) -> &Scratch {
        self.0
            .as_ref()
            .expect("a lease holds its scratch until dropped")
    }
}

impl std::ops::DerefMut for Lease {
    fn deref_mut(&mut self) -> &mut Scratch {
        self.0
            .as_mut()
            .expect("a lease holds its scratch until dropped")
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(scratch) = self.0.take() {
            // `try_with`: a thread being torn down just frees it.
            let _ = SPARE.try_with(|spare| {
                let mut spare = spare.borrow_mut();
                if spare.len() < SPARE_PER_THREAD {
                    spare.push(scratch);
                }
            });
        }
    }
}

impl Scratch {
    /// This thread's spare scratch for `k`'s shape, or a new one. Spares of
    /// other shapes are freed: rayon's threads outlive every backend, so a
    /// thread keeps buffers only for the shape it last rendered.
    pub fn lease(k: &KernelPolicy) -> Lease {
        let reused = SPARE
            .try_with(|spare| {
                let mut spare = spare.borrow_mut();
                spare.retain(|s| s.fits(k));
                spare.pop()
            })
            .ok()
            .flatten();
        Lease(Some(reused.unwrap_or_else(|| Scratch::new(k))))
    }

    /// Whether the fixed-size buffers are the ones [`Scratch::new`] makes for `k`.
    fn fits(&self, k: &KernelPolicy) -> bool {
        let elements = (k.channels * k.height * k.width) as usize;
        self.images.iter().all(|i| i.len() == elements)
            && self.offsets.len() == 4 * k.width as usize
            && self.weights.len() == 5 * k.width as usize
            && self.units.len() == elements + 2 * k.channels as usize
    }

    pub fn new(k: &KernelPolicy) -> Self {
        let elements = (k.channels * k.height * k.width) as usize;
        let image = || vec![0.0f32; elements];
        Self {
            images: [image(), image(), image()],
            offsets: vec![0; 4 * k.width as usize],
            weights: vec![0.0; 5 * k.width as usize],
            units: vec![0.0; elements + 2 * k.channels as usize],
            out: Vec::new(),
            stage: Vec::new(),
        }
    }

    /// Renders sample `p` into image slot `slot`; with `mean` given, contrast
    /// blends with it instead of the mean it would compute.
    #[inline(always)]
    pub fn render(
        &mut self,
        slot: usize,
        k: &KernelPolicy,
        src: &Source<'_>,
        p: &SampleParams,
        mean: Option<f32>,
    ) {
        let image = &mut self.images[slot];
        let taps = Taps {
            offsets: &mut self.offsets,
            weights: &mut self.weights,
            units: &mut self.units,
        };
        geometry(k, src, p, image, taps);
        if p.flags & flags::AUTO != 0 {
            auto_stages(k, p, image, &mut self.stage);
        }
        colour_chain(k, src, p, mean, image);
        erase(k, src, p, image);
    }
}

/// A TrivialAugment / RandAugment sample's auto ops over its geometric
/// image, one stage (op) at a time over the whole image: per pixel the
/// `auto::stage_value` of the definition, from the same functions on the
/// same values (`spare` holds a stage while the next one is written).
fn auto_stages(k: &KernelPolicy, p: &SampleParams, image: &mut [f32], spare: &mut Vec<f32>) {
    let (w, h, channels) = (k.width as usize, k.height as usize, k.channels as usize);
    let plane = w * h;
    let image = &mut image[..channels * plane];
    let read = |img: &[f32], x: i32, y: i32| {
        let mut v = [0.0f32; 3];
        for (c, v) in v.iter_mut().enumerate().take(channels) {
            *v = img[c * plane + y as usize * w + x as usize];
        }
        v
    };
    let write = |img: &mut [f32], x: usize, y: usize, v: [f32; 3]| {
        for (c, &v) in v.iter().enumerate().take(channels) {
            img[c * plane + y * w + x] = v;
        }
    };
    let first = first_geometry_op(p);
    let mut stats = AutoStats::default();
    for i in 0..auto_op_count(p) {
        let op = auto_op_at(p.auto_ops, i as u32);
        let m = p.auto_magnitudes[i];
        if auto_op_moves_pixels(op) {
            if i != first {
                continue; // folded into `auto_affine`
            }
            spare.resize(image.len(), 0.0);
            for y in 0..h {
                for x in 0..w {
                    let v = geometry_stage(k, p, x as i32, y as i32, |tx, ty| read(image, tx, ty));
                    write(spare, x, y, v);
                }
            }
            image.copy_from_slice(&spare[..image.len()]);
        } else if op == AUTO_OP_SHARPNESS {
            if w <= 2 || h <= 2 {
                continue;
            }
            spare.resize(image.len(), 0.0);
            spare[..image.len()].copy_from_slice(image);
            for y in 1..h - 1 {
                for x in 1..w - 1 {
                    let (xi, yi) = (x as i32, y as i32);
                    let centre = read(image, xi, yi);
                    let v = sharpen(k, m, centre, |dx, dy| read(image, xi + dx, yi + dy));
                    write(spare, x, y, v);
                }
            }
            image.copy_from_slice(&spare[..image.len()]);
        } else {
            if auto_op_reduces(op) {
                reduce_stage(k, op, i, &mut stats, |x, y| read(image, x, y));
            }
            for y in 0..h {
                for x in 0..w {
                    let v = point_op(k, op, m, &stats, i, read(image, x as i32, y as i32));
                    write(image, x, y, v);
                }
            }
        }
    }
}

/// Offsets of the nearest gather past a source plane's pixels: a tap
/// outside the window (fill) and a tap inside it but outside the image (crop
/// padding, 0), as `plane + TAP_*`.
const TAP_FILL: u32 = 0;
const TAP_PADDING: u32 = 1;

/// The sample's geometric image (`augment::geometric_pixel` at every pixel).
#[inline(always)]
fn geometry(
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
/// pixels (rows then read one source row at that step), else `None`: the
/// test of `augment::whole_pixel_row`.
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
/// term is a multiple of ½ below 2^22 (the argument of
/// `augment::whole_pixel_row`), so no float is converted per pixel.
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
struct Taps<'a> {
    offsets: &'a mut [u32],
    weights: &'a mut [f32],
    units: &'a mut [f32],
}

/// For each pixel of row `y`, its four bilinear taps as
/// `augment::bilinear_taps` computes and orders them (here a row at a time,
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

/// The sample's colour ops in its order over the whole image.
#[inline(always)]
fn colour_chain(
    k: &KernelPolicy,
    src: &Source<'_>,
    p: &SampleParams,
    given: Option<f32>,
    image: &mut [f32],
) {
    if p.flags & flags::JITTER == 0 {
        return;
    }
    let channels = k.channels as usize;
    let plane = (k.width * k.height) as usize;
    let image = &mut image[..channels * plane];
    for slot in 0..4 {
        let op = (p.colour_order >> (8 * slot)) & 0xff;
        if k.jitter_ops & (1 << op) == 0 {
            continue;
        }
        match op {
            OP_BRIGHTNESS => colour::brightness(image, p.brightness),
            OP_CONTRAST => {
                let mean = given.unwrap_or_else(|| {
                    if k.contrast_mean == CONTRAST_MEAN_SOURCE {
                        contrast_mean(k, src, p)
                    } else {
                        exact_mean(k, image)
                    }
                });
                colour::contrast(image, p.contrast, mean);
            }
            OP_SATURATION if channels == 3 => {
                let (r, gb) = image.split_at_mut(plane);
                let (g, b) = gb.split_at_mut(plane);
                colour::saturation(r, g, b, p.saturation);
            }
            OP_HUE if channels == 3 => {
                let (r, gb) = image.split_at_mut(plane);
                let (g, b) = gb.split_at_mut(plane);
                colour::hue(r, g, b, p.hue);
            }
            _ => {}
        }
    }
}

/// Random erasing over the whole image, box by box in order (a later box
/// overwrites an earlier one, as `params::erased_value`'s last box wins):
/// per element the same `mean_c + std_c·v` as `augment::erase`.
#[inline(always)]
fn erase(k: &KernelPolicy, src: &Source<'_>, p: &SampleParams, image: &mut [f32]) {
    if p.flags & flags::ERASED == 0 {
        return;
    }
    let (w, plane) = (k.width as usize, (k.width * k.height) as usize);
    let n = p.erase_count.min(MAX_ERASE_BOXES) as usize;
    for [x0, y0, x1, y1] in p.erase_boxes[..n].iter().copied() {
        for c in 0..k.channels as usize {
            let (mean, std) = (k.mean[c], k.std[c]);
            for y in y0..y1 {
                let row = &mut image[c * plane + y as usize * w..][..w];
                for x in x0..x1 {
                    // `erased_value` resolves overlaps: the last box wins.
                    if let Some(v) = erased_value(k, &src.step, p, c as u32, x, y) {
                        row[x as usize] = mean + std * v;
                    }
                }
            }
        }
    }
}

/// `augment::contrast_mean`'s exact mode from the image as it stands.
#[inline(always)]
fn exact_mean(k: &KernelPolicy, image: &[f32]) -> f32 {
    let plane = (k.width * k.height) as usize;
    let sum = if k.channels == 3 {
        let (r, gb) = image.split_at(plane);
        let (g, b) = gb.split_at(plane);
        colour::gray_sum(r, Some((g, b)))
    } else {
        colour::gray_sum(&image[..plane], None)
    };
    (sum / f64::from(k.height * k.width)) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(channels: u32, height: u32, width: u32) -> KernelPolicy {
        KernelPolicy {
            channels,
            height,
            width,
            ..KernelPolicy::default()
        }
    }

    #[test]
    fn a_dropped_lease_is_reused_for_the_same_shape_only() {
        let k = shape(3, 9, 11);
        let first = Scratch::lease(&k);
        let at = first.images[0].as_ptr();
        drop(first);
        let again = Scratch::lease(&k);
        assert_eq!(again.images[0].as_ptr(), at, "the spare was not reused");
        // Held at once: the second is a new one.
        let other = Scratch::lease(&k);
        assert_ne!(other.images[0].as_ptr(), at);
        drop((again, other));
        // Same element count, other width: not a fit, and leasing it frees
        // the spares of the old shape.
        let wide = Scratch::lease(&shape(3, 11, 9));
        assert!(wide.fits(&shape(3, 11, 9)) && !wide.fits(&k));
        assert_eq!(SPARE.with(|s| s.borrow().len()), 0);
        drop(wide);
        let spares = SPARE.with(|s| s.borrow().iter().map(|s| s.fits(&k)).collect::<Vec<_>>());
        assert_eq!(spares, [false]);
    }
}
