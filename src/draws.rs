//! Turning Philox words into the draws the parameters need, identically on
//! every backend: uniform floats, unbiased bounded integers, coins, normals,
//! Gamma and Beta variates. Each technique owns fixed draw slots (`slot`), so
//! switching one technique on never moves another's draws.
//!
//! The exact definitions are in `docs/SEMANTICS.md` §2; the WGSL and CUDA
//! kernels transcribe these functions line for line.

use crate::philox::philox4x32_10;

/// Draw slots: the third counter word. Never renumber a slot: that changes
/// every result drawn with it.
pub mod slot {
    /// Feistel round keys of the epoch shuffle (`[round, epoch, SHUFFLE, 0]`).
    pub const SHUFFLE: u32 = 1;
    /// Coins: crop applied, horizontal flip, vertical flip, affine applied.
    pub const GEOMETRY_COINS: u32 = 2;
    pub const CROP_X: u32 = 3;
    pub const CROP_Y: u32 = 4;
    /// Random-resized-crop try `t` (sub-draw = t): area fraction, log-ratio.
    pub const RESIZED_CROP: u32 = 5;
    pub const RESIZED_CROP_TOP: u32 = 6;
    pub const RESIZED_CROP_LEFT: u32 = 7;
    /// Angle, translation x, translation y, scale.
    pub const AFFINE: u32 = 8;
    /// Coin, brightness, contrast, saturation.
    pub const JITTER: u32 = 9;
    /// Hue.
    pub const JITTER_HUE: u32 = 10;
    pub const JITTER_ORDER: u32 = 11;
    /// Coins: mix applied, cutmix chosen over mixup.
    pub const MIX: u32 = 12;
    /// Gamma variates for mixup's Beta (sub-draw = variate · 16 + attempt).
    pub const BETA_MIXUP: u32 = 13;
    /// Gamma variates for cutmix's Beta (sub-draw = variate · 16 + attempt).
    pub const BETA_CUTMIX: u32 = 14;
    pub const CUTMIX_CENTRE_Y: u32 = 15;
    pub const CUTMIX_CENTRE_X: u32 = 16;
    /// Coin (w0) and interpolation weight (w2).
    pub const SYNTHETIC: u32 = 17;
    /// Bounded draw of the class (or of a subset position for it).
    pub const SYNTHETIC_CLASS: u32 = 18;
    /// Bounded draw of the interpolation partner within the class.
    pub const SYNTHETIC_PARTNER: u32 = 19;
    /// Sub-draw j/2: normals z_j (words 0–1 for even j, 2–3 for odd j).
    pub const SYNTHETIC_Z: u32 = 20;
    /// Random erasing: coin (w0), box count (w1).
    pub const ERASE: u32 = 21;
    /// Erasing box attempt (sub-draw = box · 16 + attempt).
    pub const ERASE_BOX: u32 = 22;
    /// Erasing values (normals; see SEMANTICS.md).
    pub const ERASE_VALUE: u32 = 23;
    /// Auto op k's id (sub-draw = k).
    pub const AUTO_OP: u32 = 24;
    /// TrivialAugment's magnitude bin for op k (sub-draw = k).
    pub const AUTO_BIN: u32 = 25;
    /// Auto op k's sign (sub-draw = k, word 0).
    pub const AUTO_SIGN: u32 = 26;
    /// Synthetic pool: the coin (sub-draw 0, word 0) and the bounded draw
    /// of the pool image (sub-draw 1).
    pub const SYNTHETIC_POOL: u32 = 27;
}

/// Sub-draw offsets of slot `ERASE_BOX`: box b, attempt t draws its area
/// and aspect at sub `b·16 + t`, its top at `ERASE_TOP_SUB + b·16 + t` and
/// its left at `ERASE_LEFT_SUB + b·16 + t` (each a `bounded` draw).
pub const ERASE_TOP_SUB: u32 = 64;
pub const ERASE_LEFT_SUB: u32 = 128;

/// Attempts of the Marsaglia–Tsang loop before it gives up (see SEMANTICS.md).
pub const GAMMA_ATTEMPTS: u32 = 16;

/// One Philox block for what `(owner, epoch, slot, sub)` names.
#[inline]
pub fn words(key: [u32; 2], owner: u32, epoch: u32, slot: u32, sub: u32) -> [u32; 4] {
    philox4x32_10([owner, epoch, slot, sub], key)
}

/// Uniform on [0, 1): the top 24 bits, exact in f32.
#[inline]
pub fn unit(word: u32) -> f32 {
    (word >> 8) as f32 * (1.0 / 16_777_216.0)
}

/// Uniform on (0, 1], for logarithms.
#[inline]
pub fn unit_open_closed(word: u32) -> f32 {
    ((word >> 8) + 1) as f32 * (1.0 / 16_777_216.0)
}

/// Uniform on [lo, hi).
#[inline]
pub fn uniform(lo: f32, hi: f32, word: u32) -> f32 {
    lo + (hi - lo) * unit(word)
}

/// True with probability `p`: `p = 1` always, `p = 0` never.
#[inline]
pub fn coin(p: f32, word: u32) -> bool {
    unit(word) < p
}

/// Unbiased integer in [0, n) by Lemire's multiply-shift with rejection, one
/// attempt per word. If all four are rejected (probability below (n/2³²)⁴)
/// the last attempt is kept.
#[inline]
pub fn bounded(n: u32, w: [u32; 4]) -> u32 {
    debug_assert!(n > 0);
    let threshold = n.wrapping_neg() % n;
    let mut result = 0;
    for word in w {
        let m = u64::from(word) * u64::from(n);
        result = (m >> 32) as u32;
        if (m as u32) >= threshold {
            return result;
        }
    }
    result
}

/// Standard normal from two words by Box–Muller (cosine branch).
#[inline]
pub fn normal(w0: u32, w1: u32) -> f32 {
    let radius = (-2.0 * unit_open_closed(w0).ln()).sqrt();
    radius * (core::f32::consts::TAU * unit(w1)).cos()
}

/// Gamma(alpha, 1) by Marsaglia–Tsang with at most [`GAMMA_ATTEMPTS`]
/// attempts; attempt `k` uses the block at sub-draw `variate · 16 + k`
/// (words 0–1: the normal, 2: the acceptance uniform, 3: the boost uniform
/// for alpha < 1). Gives `d` (the mode of the boosted law) if every attempt
/// is rejected.
pub fn gamma(alpha: f32, key: [u32; 2], owner: u32, epoch: u32, slot: u32, variate: u32) -> f32 {
    let boosted = alpha < 1.0;
    let a = if boosted { alpha + 1.0 } else { alpha };
    let d = a - 1.0 / 3.0;
    let c = 1.0 / (9.0 * d).sqrt();
    let mut value = d;
    let mut boost_word = 0;
    for attempt in 0..GAMMA_ATTEMPTS {
        let w = words(key, owner, epoch, slot, variate * 16 + attempt);
        boost_word = w[3];
        let x = normal(w[0], w[1]);
        let t = 1.0 + c * x;
        if t <= 0.0 {
            continue;
        }
        let v = t * t * t;
        let u = unit_open_closed(w[2]);
        if u.ln() < 0.5 * x * x + d - d * v + d * v.ln() {
            value = d * v;
            break;
        }
    }
    if boosted {
        value *= (unit_open_closed(boost_word).ln() / alpha).exp();
    }
    value
}

/// Beta(alpha, alpha) as X / (X + Y) with X, Y ~ Gamma(alpha) (variates 0 and 1).
/// 0.5 when both underflow to zero.
pub fn beta(alpha: f32, key: [u32; 2], owner: u32, epoch: u32, slot: u32) -> f32 {
    let x = gamma(alpha, key, owner, epoch, slot, 0);
    let y = gamma(alpha, key, owner, epoch, slot, 1);
    let sum = x + y;
    if sum > 0.0 { x / sum } else { 0.5 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::philox::seed_key;

    #[test]
    fn unit_covers_the_interval_ends() {
        assert_eq!(unit(0), 0.0);
        assert!(unit(u32::MAX) < 1.0);
        assert_eq!(unit_open_closed(u32::MAX), 1.0);
        assert!(unit_open_closed(0) > 0.0);
    }

    #[test]
    fn coin_extremes_are_certain() {
        for w in [0, 1, 12345, u32::MAX] {
            assert!(coin(1.0, w));
            assert!(!coin(0.0, w));
        }
    }

    #[test]
    fn bounded_is_in_range_and_hits_every_value() {
        let key = seed_key(7);
        for n in [1u32, 2, 3, 7, 9, 24, 1000] {
            let mut seen = vec![false; n as usize];
            for i in 0..(n * 40) {
                let v = bounded(n, words(key, i, 0, 99, 0));
                assert!(v < n);
                seen[v as usize] = true;
            }
            assert!(seen.iter().all(|&s| s), "n = {n}");
        }
    }

    #[test]
    fn bounded_rejects_the_biased_low_products() {
        // n = 3: threshold = 2^32 mod 3 = 1; a word whose low product is 0 is rejected.
        assert_eq!(bounded(3, [0, u32::MAX, 0, 0]), 2);
    }

    #[test]
    fn beta_has_the_right_mean_and_variance() {
        let key = seed_key(2024);
        for alpha in [0.2f32, 0.4, 1.0, 2.0] {
            let n = 20_000;
            let draws: Vec<f64> = (0..n)
                .map(|i| f64::from(beta(alpha, key, i, 3, slot::BETA_MIXUP)))
                .collect();
            let mean = draws.iter().sum::<f64>() / f64::from(n);
            let var = draws.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / f64::from(n);
            let a = f64::from(alpha);
            let expected_var = 1.0 / (4.0 * (2.0 * a + 1.0));
            assert!((mean - 0.5).abs() < 0.01, "alpha {alpha}: mean {mean}");
            assert!(
                (var - expected_var).abs() < 0.05 * expected_var + 0.002,
                "alpha {alpha}: var {var} vs {expected_var}"
            );
            assert!(draws.iter().all(|x| (0.0..=1.0).contains(x)));
        }
    }

    #[test]
    fn normal_has_unit_moments() {
        let key = seed_key(5);
        let n = 40_000u32;
        let z: Vec<f64> = (0..n)
            .map(|i| {
                let w = words(key, i, 0, 77, 0);
                f64::from(normal(w[0], w[1]))
            })
            .collect();
        let mean = z.iter().sum::<f64>() / f64::from(n);
        let var = z.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / f64::from(n);
        assert!(mean.abs() < 0.02, "{mean}");
        assert!((var - 1.0).abs() < 0.03, "{var}");
    }
}
