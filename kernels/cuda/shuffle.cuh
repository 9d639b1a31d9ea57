// shuffle.cuh — the epoch shuffle: a keyed Feistel permutation on 4^k ≥ n
// with cycle-walking, so no permutation is stored. Rust twin:
// src/shuffle.rs. Included by augment.cu, after draws.cuh.

#define AK_SHUFFLE_ROUNDS 6

struct ShuffleKeys {
    u32 k[AK_SHUFFLE_ROUNDS];
};

AK_FN u32 half_bits(u32 n) {
    u32 k = 1;
    while (k < 16u && ((u64)1 << (2u * k)) < (u64)n) ++k;
    return k;
}

AK_FN ShuffleKeys round_keys(Key key, u32 epoch) {
    const Words a = words(key, 0u, epoch, AK_SLOT_SHUFFLE, 0u);
    const Words b = words(key, 1u, epoch, AK_SLOT_SHUFFLE, 0u);
    ShuffleKeys s;
    s.k[0] = a.w[0];
    s.k[1] = a.w[1];
    s.k[2] = a.w[2];
    s.k[3] = a.w[3];
    s.k[4] = b.w[0];
    s.k[5] = b.w[1];
    return s;
}

AK_FN u32 round_function(u32 right, u32 round_key) {
    u32 h = right ^ round_key;
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    return h ^ (h >> 16);
}

AK_FN u32 feistel(u32 x, u32 bits, const ShuffleKeys& keys) {
    const u32 mask = (1u << bits) - 1u;
    u32 left = x >> bits;
    u32 right = x & mask;
#pragma unroll
    for (int r = 0; r < AK_SHUFFLE_ROUNDS; ++r) {
        const u32 next = left ^ (round_function(right, keys.k[r]) & mask);
        left = right;
        right = next;
    }
    return (left << bits) | right;
}

AK_FN u32 shuffled_position(u32 position, u32 n, const ShuffleKeys& keys) {
    if (n <= 1u) return 0u;
    const u32 bits = half_bits(n);
    u32 x = position;
    for (;;) {
        x = feistel(x, bits, keys);
        if (x < n) return x;
    }
}
