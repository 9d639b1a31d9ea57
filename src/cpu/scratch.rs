//! One sample rendered once, whole, into a per-thread f32 scratch image
//! (planar C×H×W, values in [0, 1]): geometry, then the sample's colour ops
//! in its order over whole planes, the exact contrast mean taken from the
//! scratch at its place in that order. Per pixel the same f32 operations as
//! `augment::augmented_pixel` (the definition), so bit for bit its values;
//! replaces the separate contrast-mean walk over the geometry. Geometry:
//! whole-pixel rows (crop, flip) convert one source run as a slice; other
//! nearest and bilinear maps compute a row's taps 8 pixels at a time and
//! gather from the source image converted once per sample; synthetic and
//! resized-crop samples go through `pixel::geometric_pixel` per pixel.
//! TrivialAugment / RandAugment samples then run their ops stage by stage
//! over the image (`auto_stages`).
//! Tests: `cargo test -p augkit --lib cpu::fused_tests`.

use std::cell::RefCell;

use super::augment::contrast_mean;
use super::auto::{
    AutoStats, auto_op_count, auto_op_reduces, first_geometry_op, geometry_stage, point_op,
    reduce_stage, sharpen,
};
use super::colour;
use super::gather::{Taps, geometry};
use super::pixel::Source;
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
