//! Colour jitter over whole planes of one sample's f32 scratch image:
//! brightness, contrast, saturation, a branchless hue, and the grayscale sum
//! the exact contrast mean takes. Each loop does per pixel exactly the f32
//! operations of `pixel::colour` in the same order (so the result is bit
//! for bit the per-pixel definition), written without branches so that the
//! compiler can put pixels in SIMD lanes (`simd.rs` compiles them for AVX2).
//! Tests: `cargo test -p augkit --lib cpu::fused_tests`.

use super::pixel::{hsv_terms, hsv2rgb_terms};

/// `clamp(x · f)` on every value of the planes.
#[inline(always)]
pub fn brightness(planes: &mut [f32], factor: f32) {
    for v in planes.iter_mut() {
        *v = (factor * *v).clamp(0.0, 1.0);
    }
}

/// The blend with a constant mean on every value of the planes.
#[inline(always)]
pub fn contrast(planes: &mut [f32], factor: f32, mean: f32) {
    // (1 − f)·mean is the same value for every pixel: computing it once
    // changes nothing in the result.
    let other = (1.0 - factor) * mean;
    for v in planes.iter_mut() {
        *v = (factor * *v + other).clamp(0.0, 1.0);
    }
}

/// torchvision `rgb_to_grayscale`, as `pixel::grayscale` evaluates it.
#[inline(always)]
fn gray(r: f32, g: f32, b: f32) -> f32 {
    0.2989 * r + 0.587 * g + 0.114 * b
}

/// The blend of every pixel with its own grayscale.
#[inline(always)]
pub fn saturation(r: &mut [f32], g: &mut [f32], b: &mut [f32], factor: f32) {
    let keep = 1.0 - factor;
    for ((r, g), b) in r.iter_mut().zip(g.iter_mut()).zip(b.iter_mut()) {
        let y = keep * gray(*r, *g, *b);
        *r = (factor * *r + y).clamp(0.0, 1.0);
        *g = (factor * *g + y).clamp(0.0, 1.0);
        *b = (factor * *b + y).clamp(0.0, 1.0);
    }
}

/// `pixel::adjust_hue` on every pixel, with selects in place of its
/// branches (every arm is computed; the chosen one is the same value).
#[inline(always)]
pub fn hue(r: &mut [f32], g: &mut [f32], b: &mut [f32], shift: f32) {
    for ((r, g), b) in r.iter_mut().zip(g.iter_mut()).zip(b.iter_mut()) {
        [*r, *g, *b] = hue_pixel(*r, *g, *b, shift);
    }
}

#[inline(always)]
fn hue_pixel(r: f32, g: f32, b: f32, shift: f32) -> [f32; 3] {
    let [maxc, s, rc, gc, bc] = hsv_terms(r, g, b);
    let h_r = bc - gc;
    let h_g = 2.0 + rc - bc;
    let h_b = 4.0 + gc - rc;
    let h = if maxc == r {
        h_r
    } else if maxc == g {
        h_g
    } else {
        h_b
    };
    let v = maxc;
    let [i, p, q, t] = hsv2rgb_terms(h, shift, v, s);
    // The sector `(i as i32).rem_euclid(6)`: h lies in [0, 1] (or is NaN
    // for a NaN shift), so i is 0..=6 or NaN, and sectors 1..=5 are exactly
    // the float values 1..=5; everything else (0, 6, NaN) is sector 0.
    let pick = |a: f32, b: f32, c: f32, d: f32, e: f32, f: f32| {
        let mut out = a;
        out = if i == 5.0 { f } else { out };
        out = if i == 4.0 { e } else { out };
        out = if i == 3.0 { d } else { out };
        out = if i == 2.0 { c } else { out };
        if i == 1.0 { b } else { out }
    };
    [
        pick(v, q, p, p, t, v),
        pick(t, v, v, q, p, p),
        pick(p, p, t, v, v, q),
    ]
}

/// The sum, in pixel order and in f64, of each pixel's grayscale (three
/// channels) or value (one channel): what the exact contrast mean divides.
#[inline(always)]
pub fn gray_sum(r: &[f32], gb: Option<(&[f32], &[f32])>) -> f64 {
    const CHUNK: usize = 64;
    let mut sum = 0.0f64;
    match gb {
        None => {
            for &v in r {
                sum += f64::from(v);
            }
        }
        Some((g, b)) => {
            // Grayscale in vector-friendly chunks; the f64 sum stays in order.
            let mut grays = [0.0f32; CHUNK];
            for ((r, g), b) in r.chunks(CHUNK).zip(g.chunks(CHUNK)).zip(b.chunks(CHUNK)) {
                let grays = &mut grays[..r.len()];
                for (((o, &r), &g), &b) in grays.iter_mut().zip(r).zip(g).zip(b) {
                    *o = gray(r, g, b);
                }
                for &v in grays.iter() {
                    sum += f64::from(v);
                }
            }
        }
    }
    sum
}
