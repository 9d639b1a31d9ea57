//! The CPU pixel pass of a whole step, one pass per image: rayon tiles the
//! batch by mix pairs (i, B−1−i), so each sample is rendered once into the
//! thread's scratch (`scratch.rs`) and its mix partner is read from there;
//! a partner outside the pair (only with hand-made parameters) is rendered
//! into a third image. Then per output element: the cutmix paste or mixup
//! blend, normalisation, dtype conversion, NCHW or NHWC — the same f32
//! operations as `augment::render_sample_per_pixel` (the slow twin), which
//! the tests compare bit for bit.
//! Tests: `cargo test -p augkit --lib cpu::fused_tests`; bench:
//! `cargo bench --bench augment -- cpu/`.

use rayon::prelude::*;

use super::augment::OutElem;
use super::pixel::Source;
use super::scratch::Scratch;
use super::simd::{Isa, dispatch};
use crate::kernel_args::*;

/// An output dtype as whole samples are written: f32 straight into the
/// caller's memory, narrower types converted from an f32 sample.
pub trait OutSample: OutElem {
    /// The caller's memory itself, when it already holds f32.
    fn as_f32(out: &mut [Self]) -> Option<&mut [f32]>;
    /// `from_f32` of every value (`src` and `dst` have the same length).
    fn convert(dst: &mut [Self], src: &[f32]);
}

impl OutSample for f32 {
    fn as_f32(out: &mut [Self]) -> Option<&mut [f32]> {
        Some(out)
    }
    fn convert(dst: &mut [Self], src: &[f32]) {
        dst.copy_from_slice(src);
    }
}

impl OutSample for half::f16 {
    fn as_f32(_: &mut [Self]) -> Option<&mut [f32]> {
        None
    }
    fn convert(dst: &mut [Self], src: &[f32]) {
        // half's slice conversion uses F16C where present; it rounds like
        // `from_f32` (to nearest, ties to even).
        half::slice::HalfFloatSliceExt::convert_from_f32_slice(dst, src);
    }
}

impl OutSample for half::bf16 {
    fn as_f32(_: &mut [Self]) -> Option<&mut [f32]> {
        None
    }
    fn convert(dst: &mut [Self], src: &[f32]) {
        for (d, &s) in dst.iter_mut().zip(src) {
            *d = half::bf16::from_f32(s);
        }
    }
}

/// Renders a step into `out` (B samples of C·H·W in the policy's layout).
/// With `means`, contrast blends with the given per-sample means (as the
/// parity tests render another backend's); without, each sample's mean is
/// taken from its scratch image at its place in the colour order.
pub fn render_step<T: OutSample>(
    k: &KernelPolicy,
    src: &Source<'_>,
    params: &[SampleParams],
    means: Option<&[f32]>,
    out: &mut [T],
) {
    render_step_at(Isa::detect(), k, src, params, means, out);
}

/// [`render_step`] at a given instruction-set level (tests run each).
pub fn render_step_at<T: OutSample>(
    isa: Isa,
    k: &KernelPolicy,
    src: &Source<'_>,
    params: &[SampleParams],
    means: Option<&[f32]>,
    out: &mut [T],
) {
    let e = src.shape.elements();
    let batch = params.len();
    assert_eq!(out.len(), batch * e, "output length is B·C·H·W");
    let pairs = batch / 2;
    let (low, rest) = out.split_at_mut(pairs * e);
    let (middle, high) = rest.split_at_mut((batch - 2 * pairs) * e);
    low.par_chunks_mut(e)
        .zip(high.par_chunks_mut(e).rev())
        .enumerate()
        .for_each_init(
            || Scratch::lease(k),
            |scratch, (i, (a, b))| {
                let j = batch - 1 - i;
                render_pair(isa, k, src, params, means, [i, j], a, b, scratch);
            },
        );
    if !middle.is_empty() {
        let mut scratch = Scratch::lease(k);
        let (i, none) = (pairs, &mut [] as &mut [T]);
        render_pair(
            isa,
            k,
            src,
            params,
            means,
            [i, i],
            middle,
            none,
            &mut scratch,
        );
    }
}

dispatch! {
    /// Samples `slots[0]` and `slots[1]` (the same slot for the middle
    /// sample of an odd batch, with `out_b` empty) into their outputs.
    fn render_pair<T: OutSample>(
        k: &KernelPolicy,
        src: &Source<'_>,
        params: &[SampleParams],
        means: Option<&[f32]>,
        slots: [usize; 2],
        out_a: &mut [T],
        out_b: &mut [T],
        scratch: &mut Scratch,
    ) => render_pair_body
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn render_pair_body<T: OutSample>(
    k: &KernelPolicy,
    src: &Source<'_>,
    params: &[SampleParams],
    means: Option<&[f32]>,
    slots: [usize; 2],
    out_a: &mut [T],
    out_b: &mut [T],
    scratch: &mut Scratch,
) {
    let mean = |i: usize| means.map(|m| m[i]);
    let [a, b] = slots;
    scratch.render(0, k, src, &params[a], mean(a));
    if b != a {
        scratch.render(1, k, src, &params[b], mean(b));
    }
    for (me, other, out) in [(a, b, out_a), (b, a, out_b)] {
        if out.is_empty() {
            continue;
        }
        let p = &params[me];
        let partner = p.partner as usize;
        let mixes = p.flags & flags::MIXED != 0;
        let (own_slot, partner_slot) = if me == a { (0, 1) } else { (1, 0) };
        let partner_slot = if partner == me {
            own_slot
        } else if partner == other {
            partner_slot
        } else {
            if mixes {
                scratch.render(2, k, src, &params[partner], mean(partner));
            }
            2
        };
        let [i0, i1, i2] = &scratch.images;
        let pick = |s: usize| match s {
            0 => i0.as_slice(),
            1 => i1.as_slice(),
            _ => i2.as_slice(),
        };
        let (own, other) = (pick(own_slot), pick(partner_slot));
        match T::as_f32(out) {
            Some(out) => write_sample(k, p, own, other, out),
            None => {
                scratch.out.resize(out.len(), 0.0);
                let [i0, i1, i2] = &scratch.images;
                let pick = |s: usize| match s {
                    0 => i0.as_slice(),
                    1 => i1.as_slice(),
                    _ => i2.as_slice(),
                };
                let (own, other) = (pick(own_slot), pick(partner_slot));
                write_sample(k, p, own, other, &mut scratch.out);
                T::convert(out, &scratch.out);
            }
        }
    }
}

/// One output sample from its own and its partner's scratch images: the
/// cutmix paste or mixup blend, then `(v − mean) / std`, in the layout.
#[inline(always)]
fn write_sample(k: &KernelPolicy, p: &SampleParams, own: &[f32], other: &[f32], out: &mut [f32]) {
    let (w, h, channels) = (k.width as usize, k.height as usize, k.channels as usize);
    let plane = w * h;
    let mix = Mix {
        mixup: p.flags & flags::MIXED != 0 && p.flags & flags::CUTMIX == 0,
        lambda: p.lambda,
        box_x: [p.cut_box[0] as usize, p.cut_box[2] as usize],
    };
    let cutmix = p.flags & flags::CUTMIX != 0;
    let [_, by0, _, by1] = p.cut_box.map(|v| v as usize);
    for c in 0..channels {
        let (mean, std) = (k.mean[c], k.std[c]);
        for y in 0..h {
            let own = &own[c * plane + y * w..][..w];
            let other = &other[c * plane + y * w..][..w];
            let in_box = cutmix && y >= by0 && y < by1;
            if k.out_layout == LAYOUT_NCHW {
                let row = out[c * plane + y * w..][..w].iter_mut();
                mix.row(row, own, other, in_box, mean, std);
            } else {
                let row = out[y * w * channels..][..w * channels].iter_mut();
                mix.row(row.skip(c).step_by(channels), own, other, in_box, mean, std);
            }
        }
    }
}

/// How one sample's pixels combine with its partner's.
struct Mix {
    mixup: bool,
    lambda: f32,
    /// The cutmix box's columns [x0, x1).
    box_x: [usize; 2],
}

impl Mix {
    /// One row of one channel, normalised. Every pixel computes the blend
    /// and selects (no branch in the loop); the selected value is the
    /// definition's.
    #[inline(always)]
    fn row<'a>(
        &self,
        out: impl Iterator<Item = &'a mut f32>,
        own: &[f32],
        other: &[f32],
        in_box_row: bool,
        mean: f32,
        std: f32,
    ) {
        let (lambda, rest) = (self.lambda, 1.0 - self.lambda);
        let [x0, x1] = if in_box_row { self.box_x } else { [0, 0] };
        for (x, (o, (&a, &b))) in out.zip(own.iter().zip(other)).enumerate() {
            let v = if self.mixup { a * lambda + b * rest } else { a };
            let v = if x >= x0 && x < x1 { b } else { v };
            *o = (v - mean) / std;
        }
    }
}
