//! `synthetic-shapes`: a procedural, seeded, learnable ten-class image set for
//! runs where no real data is at hand. Each image shows one shape — the class
//! — at a random position and size, in a random foreground colour on a random
//! background colour (always at least 0.35 apart in luminance), plus uniform
//! pixel noise. Position, size, colours and noise are drawn the same way for
//! every class, so only the shape tells the classes apart.
//!
//! Image `k` is drawn from its own stream of the seed, so a set is identical
//! for the same arguments on every machine. Rejects channel counts other than
//! 1 or 3, sizes below 8×8 and `per_class == 0`.

use crate::error::{DataError, Result};
use crate::image_set::ImageSet;
use crate::rng::SplitMix64;

/// Class names in label order.
pub const SHAPE_CLASSES: [&str; 10] = [
    "circle",
    "square",
    "triangle",
    "cross",
    "horizontal-stripes",
    "vertical-stripes",
    "checkerboard",
    "ring",
    "diagonal-line",
    "dot-grid",
];
/// Smallest side `generate` accepts.
pub const MIN_SIDE: u32 = 8;

/// Everything random about one image except its class.
#[derive(Clone, Copy, Debug)]
struct Params {
    cx: f32,
    cy: f32,
    r: f32,
    fg: [f32; 3],
    bg: [f32; 3],
    noise: f32,
    flip: bool,
    phase: f32,
}

fn luma(c: &[f32; 3]) -> f32 {
    0.2989 * c[0] + 0.587 * c[1] + 0.114 * c[2]
}

fn draw_params(g: &mut SplitMix64, channels: u32, h: u32, w: u32) -> Params {
    let m = h.min(w) as f32;
    let r = g.range(0.22 * m, 0.42 * m).max(3.0);
    let cx = g.range(r.min(w as f32 / 2.0), (w as f32 - r).max(w as f32 / 2.0));
    let cy = g.range(r.min(h as f32 / 2.0), (h as f32 - r).max(h as f32 / 2.0));
    let colour = |g: &mut SplitMix64| {
        if channels == 1 {
            let v = g.unit();
            [v, v, v]
        } else {
            [g.unit(), g.unit(), g.unit()]
        }
    };
    let bg = colour(g);
    let mut fg = colour(g);
    for _ in 0..8 {
        if (luma(&fg) - luma(&bg)).abs() >= 0.35 {
            break;
        }
        fg = colour(g);
    }
    if (luma(&fg) - luma(&bg)).abs() < 0.35 {
        // Fall back to a far grey: guarantees the contrast.
        let v = if luma(&bg) < 0.5 { 1.0 } else { 0.0 };
        fg = [v, v, v];
    }
    Params {
        cx,
        cy,
        r,
        fg,
        bg,
        noise: g.range(0.0, 0.08),
        flip: g.unit() < 0.5,
        phase: g.unit(),
    }
}

/// Whether pixel centre (x, y) is foreground for `class`.
fn inside(class: u32, p: &Params, x: f32, y: f32) -> bool {
    let (dx, dy, r) = (x - p.cx, y - p.cy, p.r);
    let in_box = dx.abs() <= r && dy.abs() <= r;
    let thick = (r * 0.22).max(0.75);
    // Period of stripes/checks/dots: at least 2 px so a band is resolvable.
    let band = (r / 3.0).max(1.0);
    let parity = |t: f32| ((t + r) / band + p.phase).floor() as i64 % 2 == 0;
    match class {
        0 => dx * dx + dy * dy <= r * r,
        1 => dx.abs() <= 0.8 * r && dy.abs() <= 0.8 * r,
        2 => {
            let t = (dy + r) / (2.0 * r);
            (0.0..=1.0).contains(&t) && dx.abs() <= t * r
        }
        3 => (dx.abs() <= thick && dy.abs() <= r) || (dy.abs() <= thick && dx.abs() <= r),
        4 => in_box && parity(dy),
        5 => in_box && parity(dx),
        6 => in_box && (parity(dx) ^ parity(dy)),
        7 => {
            let d2 = dx * dx + dy * dy;
            let inner = (0.55 * r).min(r - 1.0);
            d2 <= r * r && d2 >= inner * inner
        }
        8 => {
            let s = if p.flip { -1.0 } else { 1.0 };
            in_box && (dx - s * dy).abs() <= thick * std::f32::consts::SQRT_2
        }
        9 => {
            let g = (r * 0.66).max(3.0);
            let (mx, my) = (
                (dx + r).rem_euclid(g) - g / 2.0,
                (dy + r).rem_euclid(g) - g / 2.0,
            );
            let dot = (g * 0.3).max(0.75);
            in_box && mx * mx + my * my <= dot * dot
        }
        _ => unreachable!("class {class}"),
    }
}

fn render(
    class: u32,
    p: &Params,
    channels: u32,
    h: u32,
    w: u32,
    g: &mut SplitMix64,
    out: &mut Vec<u8>,
) {
    let plane = (h * w) as usize;
    let start = out.len();
    out.resize(start + plane * channels as usize, 0);
    for y in 0..h {
        for x in 0..w {
            let fg = inside(class, p, x as f32 + 0.5, y as f32 + 0.5);
            let col = if fg { &p.fg } else { &p.bg };
            for c in 0..channels as usize {
                let v = col[c] + p.noise * (2.0 * g.unit() - 1.0);
                out[start + c * plane + (y * w + x) as usize] =
                    (v.clamp(0.0, 1.0) * 255.0).round() as u8;
            }
        }
    }
}

/// Generates `10 × per_class` images of `channels`×`height`×`width`; image `k`
/// has label `k % 10`. Deterministic for a given seed and arguments.
pub fn generate(
    channels: u32,
    height: u32,
    width: u32,
    per_class: usize,
    seed: u64,
) -> Result<ImageSet> {
    if !matches!(channels, 1 | 3) {
        return Err(DataError::InvalidArgument(format!(
            "synthetic-shapes: channels must be 1 or 3, got {channels}"
        )));
    }
    if height < MIN_SIDE || width < MIN_SIDE {
        return Err(DataError::InvalidArgument(format!(
            "synthetic-shapes: image size {height}×{width} is below {MIN_SIDE}×{MIN_SIDE}"
        )));
    }
    if per_class == 0 {
        return Err(DataError::InvalidArgument(
            "synthetic-shapes: per_class is 0".into(),
        ));
    }
    let n = per_class * SHAPE_CLASSES.len();
    let mut pixels = Vec::with_capacity(n * (channels * height * width) as usize);
    let mut labels = Vec::with_capacity(n);
    for k in 0..n {
        let class = (k % SHAPE_CLASSES.len()) as u32;
        let mut g = SplitMix64::stream(seed, k as u64);
        let p = draw_params(&mut g, channels, height, width);
        render(class, &p, channels, height, width, &mut g, &mut pixels);
        labels.push(class);
    }
    ImageSet::new(
        "synthetic-shapes",
        channels,
        height,
        width,
        pixels,
        labels,
        SHAPE_CLASSES.len() as u32,
        SHAPE_CLASSES.iter().map(|s| s.to_string()).collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_for_a_seed() {
        let a = generate(3, 17, 23, 3, 42).unwrap();
        let b = generate(3, 17, 23, 3, 42).unwrap();
        let c = generate(3, 17, 23, 3, 43).unwrap();
        assert_eq!(a, b);
        assert_ne!(a.pixels, c.pixels);
        assert_eq!(a.len(), 30);
        assert_eq!(a.class_counts(), vec![3; 10]);
        // A longer set starts with the shorter one's first ten images.
        let d = generate(3, 17, 23, 5, 42).unwrap();
        assert_eq!(
            &d.pixels[..10 * a.image_len()],
            &a.pixels[..10 * a.image_len()]
        );
    }

    #[test]
    fn sizes_and_channels() {
        for (c, h, w) in [(1, 8, 8), (3, 8, 8), (1, 28, 28), (3, 32, 32), (3, 9, 65)] {
            let s = generate(c, h, w, 1, 7).unwrap();
            assert_eq!((s.channels, s.height, s.width, s.len()), (c, h, w, 10));
            s.validate().unwrap();
        }
        assert!(generate(2, 8, 8, 1, 0).is_err());
        assert!(generate(3, 7, 8, 1, 0).is_err());
        assert!(generate(3, 8, 8, 0, 0).is_err());
    }

    /// With everything but the class held fixed, every pair of classes draws a
    /// different foreground mask: the label is in the shape, not in the colour.
    #[test]
    fn classes_differ_in_shape() {
        for (h, w, seed) in [(32, 32, 1), (28, 28, 2), (8, 8, 3), (12, 20, 4)] {
            let mut g = SplitMix64::new(seed);
            let p = draw_params(&mut g, 3, h, w);
            let masks: Vec<Vec<bool>> = (0..10)
                .map(|c| {
                    (0..h * w)
                        .map(|i| inside(c, &p, (i % w) as f32 + 0.5, (i / w) as f32 + 0.5))
                        .collect()
                })
                .collect();
            for (a, ma) in masks.iter().enumerate() {
                assert!(ma.iter().any(|&b| b), "class {a} empty at {h}×{w}");
                for (b, mb) in masks.iter().enumerate().skip(a + 1) {
                    let diff = ma.iter().zip(mb).filter(|(x, y)| x != y).count();
                    assert!(
                        diff >= 2,
                        "classes {a} and {b} differ in {diff} px at {h}×{w}"
                    );
                }
            }
        }
    }

    #[test]
    fn foreground_contrasts_with_background() {
        let mut g = SplitMix64::new(9);
        for _ in 0..1000 {
            let p = draw_params(&mut g, 3, 32, 32);
            assert!((luma(&p.fg) - luma(&p.bg)).abs() >= 0.35);
        }
    }
}
