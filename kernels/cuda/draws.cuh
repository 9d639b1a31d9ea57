// draws.cuh — the draw slots and the distributions built on Philox words:
// uniform, coin, bounded (Lemire), normal (Box–Muller), gamma
// (Marsaglia–Tsang) and beta. Rust twin: src/draws.rs. Included by
// augment.cu, after philox.cuh.

#define AK_SLOT_SHUFFLE 1u
#define AK_SLOT_GEOMETRY_COINS 2u
#define AK_SLOT_CROP_X 3u
#define AK_SLOT_CROP_Y 4u
#define AK_SLOT_RESIZED_CROP 5u
#define AK_SLOT_RESIZED_CROP_TOP 6u
#define AK_SLOT_RESIZED_CROP_LEFT 7u
#define AK_SLOT_AFFINE 8u
#define AK_SLOT_JITTER 9u
#define AK_SLOT_JITTER_HUE 10u
#define AK_SLOT_JITTER_ORDER 11u
#define AK_SLOT_MIX 12u
#define AK_SLOT_BETA_MIXUP 13u
#define AK_SLOT_BETA_CUTMIX 14u
#define AK_SLOT_CUTMIX_CENTRE_Y 15u
#define AK_SLOT_CUTMIX_CENTRE_X 16u
#define AK_SLOT_SYNTHETIC 17u
#define AK_SLOT_SYNTHETIC_CLASS 18u
#define AK_SLOT_SYNTHETIC_PARTNER 19u
#define AK_SLOT_SYNTHETIC_Z 20u
#define AK_SLOT_ERASE 21u
#define AK_SLOT_ERASE_BOX 22u
#define AK_SLOT_ERASE_VALUE 23u
#define AK_SLOT_AUTO_OP 24u
#define AK_SLOT_AUTO_BIN 25u
#define AK_SLOT_AUTO_SIGN 26u
#define AK_SLOT_SYNTHETIC_POOL 27u
#define AK_GAMMA_ATTEMPTS 16u

AK_FN Words words(Key key, u32 owner, u32 epoch, u32 slot, u32 sub) {
    Words c;
    c.w[0] = owner;
    c.w[1] = epoch;
    c.w[2] = slot;
    c.w[3] = sub;
    return philox4x32_10(c, key);
}

AK_FN float unit(u32 word) { return (float)(word >> 8) * (1.0f / 16777216.0f); }

AK_FN float unit_open_closed(u32 word) {
    return (float)((word >> 8) + 1u) * (1.0f / 16777216.0f);
}

AK_FN float uniform(float lo, float hi, u32 word) { return lo + (hi - lo) * unit(word); }

AK_FN bool coin(float p, u32 word) { return unit(word) < p; }

/// Lemire's multiply-shift with rejection, one attempt per word.
AK_FN u32 bounded(u32 n, Words w) {
    const u32 threshold = (0u - n) % n;
    u32 result = 0;
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        const u64 m = (u64)w.w[i] * (u64)n;
        result = (u32)(m >> 32);
        if ((u32)m >= threshold) return result;
    }
    return result;
}

/// Box–Muller, cosine branch.
AK_FN float normal(u32 w0, u32 w1) {
    const float radius = sqrtf(-2.0f * logf(unit_open_closed(w0)));
    float s, c;
    ak_sincosf_small(6.28318530717958647692f * unit(w1), &s, &c);
    return radius * c;
}

/// Marsaglia–Tsang, at most AK_GAMMA_ATTEMPTS attempts.
AK_FN float gamma_variate(float alpha, Key key, u32 owner, u32 epoch, u32 slot, u32 variate) {
    const bool boosted = alpha < 1.0f;
    const float a = boosted ? alpha + 1.0f : alpha;
    const float d = a - 1.0f / 3.0f;
    const float c = 1.0f / sqrtf(9.0f * d);
    float value = d;
    u32 boost_word = 0;
    for (u32 attempt = 0; attempt < AK_GAMMA_ATTEMPTS; ++attempt) {
        const Words w = words(key, owner, epoch, slot, variate * 16u + attempt);
        boost_word = w.w[3];
        const float x = normal(w.w[0], w.w[1]);
        const float t = 1.0f + c * x;
        if (t <= 0.0f) continue;
        const float v = t * t * t;
        const float u = unit_open_closed(w.w[2]);
        if (logf(u) < 0.5f * x * x + d - d * v + d * logf(v)) {
            value = d * v;
            break;
        }
    }
    if (boosted) value *= expf(logf(unit_open_closed(boost_word)) / alpha);
    return value;
}

AK_FN float beta_variate(float alpha, Key key, u32 owner, u32 epoch, u32 slot) {
    const float x = gamma_variate(alpha, key, owner, epoch, slot, 0u);
    const float y = gamma_variate(alpha, key, owner, epoch, slot, 1u);
    const float sum = x + y;
    return sum > 0.0f ? x / sum : 0.5f;
}
