//! The epoch shuffle without a permutation array: a keyed bijection of
//! [0, n) built from a balanced Feistel network on the smallest 4^k ≥ n,
//! with cycle-walking back into range. Round keys come from Philox, so the
//! shuffle is a pure function of (seed, epoch, position) on every backend.

use crate::draws::{slot, words};

/// Feistel rounds; six make the permutation look random for this use.
pub const ROUNDS: u32 = 6;

/// Half-width in bits of the Feistel domain for `n` elements: the smallest k
/// with 4^k ≥ n (at least 1).
#[inline]
pub fn half_bits(n: u32) -> u32 {
    let mut k = 1;
    while k < 16 && (1u64 << (2 * k)) < u64::from(n) {
        k += 1;
    }
    k
}

/// The per-epoch Feistel round keys.
pub fn round_keys(key: [u32; 2], epoch: u32) -> [u32; ROUNDS as usize] {
    let a = words(key, 0, epoch, slot::SHUFFLE, 0);
    let b = words(key, 1, epoch, slot::SHUFFLE, 0);
    [a[0], a[1], a[2], a[3], b[0], b[1]]
}

/// Round function: a cheap integer mix of the right half with the round key
/// (Murmur3's finaliser), masked to the half width.
#[inline]
fn round_function(right: u32, round_key: u32) -> u32 {
    let mut h = right ^ round_key;
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^ (h >> 16)
}

#[inline]
fn feistel(x: u32, bits: u32, keys: &[u32; ROUNDS as usize]) -> u32 {
    let mask = (1u32 << bits) - 1;
    let mut left = x >> bits;
    let mut right = x & mask;
    for &k in keys {
        let next = left ^ (round_function(right, k) & mask);
        left = right;
        right = next;
    }
    (left << bits) | right
}

/// Where epoch position `position` (< n) reads from: a bijection of [0, n).
#[inline]
pub fn shuffled_position(position: u32, n: u32, keys: &[u32; ROUNDS as usize]) -> u32 {
    debug_assert!(position < n);
    if n <= 1 {
        return 0;
    }
    let bits = half_bits(n);
    let mut x = position;
    loop {
        x = feistel(x, bits, keys);
        if x < n {
            return x;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::philox::seed_key;

    #[test]
    fn is_a_permutation_for_awkward_sizes() {
        let keys = round_keys(seed_key(11), 3);
        for n in [1u32, 2, 3, 5, 7, 16, 17, 63, 64, 65, 1000, 4099, 50_000] {
            let mut seen = vec![false; n as usize];
            for p in 0..n {
                let s = shuffled_position(p, n, &keys);
                assert!(s < n);
                assert!(!seen[s as usize], "n = {n}: {s} hit twice");
                seen[s as usize] = true;
            }
        }
    }

    #[test]
    fn epochs_and_seeds_shuffle_differently() {
        let n = 1000;
        let order = |seed, epoch| {
            let keys = round_keys(seed_key(seed), epoch);
            (0..n)
                .map(|p| shuffled_position(p, n, &keys))
                .collect::<Vec<_>>()
        };
        assert_ne!(order(1, 0), order(1, 1));
        assert_ne!(order(1, 0), order(2, 0));
        assert_eq!(order(1, 0), order(1, 0));
        let identity: Vec<u32> = (0..n).collect();
        assert_ne!(order(1, 0), identity);
    }

    #[test]
    fn half_bits_covers_n() {
        for n in [1u32, 2, 4, 5, 16, 17, 1 << 20, u32::MAX] {
            let k = half_bits(n);
            assert!((1u64 << (2 * k)) >= u64::from(n), "n = {n}");
        }
    }
}
