//! One sample rendered once, whole, into a per-thread f32 scratch image
//! (planar C×H×W, values in [0, 1]): geometry, then the sample's colour ops
//! in its order over whole planes, the exact contrast mean taken from the
//! scratch at its place in that order. Per pixel the same f32 operations as
//! `augment::augmented_pixel` (the definition), so bit for bit its values;
//! replaces the separate contrast-mean walk over the geometry.
//! Tests: `cargo test -p augkit --lib cpu::fused_tests`.

use super::augment::{Source, contrast_mean, geometric_pixel};
use super::colour;
use crate::kernel_args::*;

/// A thread's reusable buffers: up to three sample images (own, partner, a
/// partner outside the tile), one row of gather offsets and one output
/// sample for narrow dtypes. Nothing is allocated per sample.
pub struct Scratch {
    pub images: [Vec<f32>; 3],
    offsets: Vec<i32>,
    pub out: Vec<f32>,
}

impl Scratch {
    pub fn new(k: &KernelPolicy) -> Self {
        let elements = (k.channels * k.height * k.width) as usize;
        let image = || vec![0.0f32; elements];
        Self {
            images: [image(), image(), image()],
            offsets: vec![0; k.width as usize],
            out: Vec::new(),
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
        geometry(k, src, p, image, &mut self.offsets);
        colour_chain(k, src, p, mean, image);
    }
}

/// Source offset codes of the nearest gather: a tap outside the window
/// (fill) and a tap inside it but outside the image (crop padding, 0).
const TAP_FILL: i32 = -1;
const TAP_PADDING: i32 = -2;

/// The sample's geometric image (`augment::geometric_pixel` at every pixel).
#[inline(always)]
fn geometry(
    k: &KernelPolicy,
    src: &Source<'_>,
    p: &SampleParams,
    image: &mut [f32],
    offsets: &mut [i32],
) {
    let (w, h, channels) = (k.width as usize, k.height as usize, k.channels as usize);
    let plane = w * h;
    if k.interpolation != INTERP_NEAREST || p.flags & flags::SYNTHETIC != 0 {
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
    let step = whole_pixel_step(p);
    for y in 0..h {
        nearest_offsets(k, p, y as u32, offsets);
        // With a whole-pixel map the taps inside the image are one run of a
        // source row, forwards or backwards: convert it as a slice.
        let run = step.and_then(|step| {
            let first = offsets.iter().position(|&o| o >= 0)?;
            let last = offsets.iter().rposition(|&o| o >= 0)?;
            Some((step, first, last + 1))
        });
        for c in 0..channels {
            let source = &pixels[c * plane..][..plane];
            let row = &mut image[c * plane + y * w..][..w];
            match run {
                Some((step, x0, x1)) => {
                    gather(source, &offsets[..x0], k.fill, &mut row[..x0]);
                    gather(source, &offsets[x1..], k.fill, &mut row[x1..]);
                    let (a, b) = (offsets[x0] as usize, offsets[x1 - 1] as usize);
                    let row = &mut row[x0..x1];
                    if step > 0 {
                        convert_run(row, source[a..=b].iter());
                    } else {
                        convert_run(row, source[b..=a].iter().rev());
                    }
                }
                None => gather(source, offsets, k.fill, row),
            }
        }
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
/// tap, or a `TAP_*` code. The map is `sample_point`'s, term for term.
#[inline(always)]
fn nearest_offsets(k: &KernelPolicy, p: &SampleParams, y: u32, offsets: &mut [i32]) {
    let m = &p.inverse_affine;
    let py = y as f32 + 0.5;
    let (yx, yy) = (m[1] * py, m[4] * py);
    let [wx0, wy0, wx1, wy1] = p.window;
    let (w, h) = (k.width as i32, k.height as i32);
    for (x, o) in (0i32..).zip(offsets.iter_mut()) {
        let px = x as f32 + 0.5;
        let tx = (m[0] * px + yx + m[2]).floor() as i32;
        let ty = (m[3] * px + yy + m[5]).floor() as i32;
        let in_window = (tx >= wx0) & (tx < wx1) & (ty >= wy0) & (ty < wy1);
        let in_image = (tx >= 0) & (tx < w) & (ty >= 0) & (ty < h);
        let at = ty.wrapping_mul(w).wrapping_add(tx);
        *o = if !in_window {
            TAP_FILL
        } else if in_image {
            at
        } else {
            TAP_PADDING
        };
    }
}

/// Every byte's value in pixel units, exactly as `byte / 255` computes it
/// (a load instead of a division per gathered value).
static UNIT_BYTES: std::sync::LazyLock<[f32; 256]> =
    std::sync::LazyLock::new(|| std::array::from_fn(|b| f32::from(b as u8) / 255.0));

/// One row of one channel from the offsets: `byte / 255`, fill or 0.
#[inline(always)]
fn gather(source: &[u8], offsets: &[i32], fill: f32, row: &mut [f32]) {
    let units: &[f32; 256] = &UNIT_BYTES;
    for (o, &at) in row.iter_mut().zip(offsets) {
        let v = units[usize::from(source[at.max(0) as usize])];
        let v = if at == TAP_FILL { fill } else { v };
        *o = if at == TAP_PADDING { 0.0 } else { v };
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
