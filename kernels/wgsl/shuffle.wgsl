// shuffle.wgsl — the epoch shuffle: a keyed Feistel permutation on 4^k ≥ n
// with cycle-walking, so no permutation is stored. Rust twin:
// src/shuffle.rs.

fn half_bits(n: u32) -> u32 {
    var k = 1u;
    while k < 16u && (1u << (2u * k)) < n {
        k += 1u;
    }
    return k;
}

fn round_function(right: u32, round_key: u32) -> u32 {
    var h = right ^ round_key;
    h ^= h >> 16u;
    h = h * 0x85ebca6bu;
    h ^= h >> 13u;
    h = h * 0xc2b2ae35u;
    return h ^ (h >> 16u);
}

fn feistel(x: u32, bits: u32, keys: array<u32, 6>) -> u32 {
    let mask = (1u << bits) - 1u;
    var left = x >> bits;
    var right = x & mask;
    for (var r = 0u; r < SHUFFLE_ROUNDS; r++) {
        let next = left ^ (round_function(right, keys[r]) & mask);
        left = right;
        right = next;
    }
    return (left << bits) | right;
}

fn shuffled_position(position: u32, n: u32, keys: array<u32, 6>) -> u32 {
    if n <= 1u {
        return 0u;
    }
    let bits = half_bits(n);
    var x = position;
    loop {
        x = feistel(x, bits, keys);
        if x < n {
            break;
        }
    }
    return x;
}
