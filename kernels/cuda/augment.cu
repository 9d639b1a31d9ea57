// augkit CUDA kernels: the three passes of one augmentation step.
//
// What it computes (definition: docs/SEMANTICS.md; reference: src/params.rs,
// src/cpu/augment.rs, which this file transcribes line for line):
//   augment_params      (policy, step) → SampleParams + MixLabel per sample:
//                       Feistel shuffle → dataset index, synthetic source
//                       (coin, PCA class or interpolation partner and t),
//                       crop / flips / affine composed into one inverse map,
//                       jitter factors and order, mix partner (label_b from
//                       the partner's source), λ, cutmix box; and the
//                       sample's K synthetic coefficients σ_j·z_j (zeros
//                       unless it is a synthetic PCA sample).
//                       TrivialAugment / RandAugment: op ids, signed
//                       magnitudes (torch's fused linspace tables) and the
//                       geometry ops composed into auto_affine.
//   augment_stats       per sample, in chain order, the statistics of its
//                       reduction auto ops (Contrast mean, AutoContrast
//                       min/max, Equalize LUT) over the image as it stands
//                       before each; with two auto stages, also the first
//                       stage's image (so no pass nests two tap loops).
//   augment_contrast    per-sample mean grayscale of the image as it stands
//                       when contrast runs (exact mode) or the scaled source
//                       mean (source mode: a synthetic sample's is its class
//                       mean's, or the blend of its two images'); 0 where
//                       the sample has no contrast.
//   augment_pixels_{f32,f16,bf16}
//                       fused pixel pass: gather through the inverse affine
//                       (nearest / bilinear, window fill, crop padding 0;
//                       a resized crop's box resized as torchvision's resize
//                       under the affine's taps, `sample_resized_crop`),
//                       the auto ops (second stage reading the first),
//                       colour ops in the sample's order, random erasing, mixup blend or
//                       cutmix paste, normalise, convert, write NCHW or NHWC.
// Synthetic samples (SEMANTICS.md §9) are generated where the geometry reads
// texels, nearest and bilinear alike (`geometric_pixel` picks a texel source
// per sample): PCA = clamp01(μ_c + Σ_j a_j·u_j), j ascending, coefficients
// read from global memory; interpolate = (1 − t)·A + t·B. The tables are
// uploaded once; every kernel takes them, with the B × K coefficient
// scratch, as one by-value SynthArgs (null pointers without synthetic).
//
// Launch shapes (src/cuda/mod.rs):
//   augment_params      grid ceil(B / 128), block 128: one thread per sample.
//   augment_stats       grid B, block 256 (AK_STATS_THREADS, a power of two):
//                       one block per sample; shared f64 sums, min/max and
//                       3 × 256 histogram bins (shared-memory atomics).
//   augment_contrast    grid B, block 256 (AK_CONTRAST_THREADS, a power of
//                       two): one block per sample, f64 partial sums reduced
//                       in shared memory.
//   augment_pixels_*    grid ceil(B·H·W / 256), block 256: one thread per
//                       output pixel (all channels); consecutive threads write
//                       consecutive pixels, so NCHW stores coalesce per plane
//                       and NHWC stores cover one contiguous span.
//
// Compiled by NVRTC at run time (src/cuda/compile.rs, with --fmad=false so
// the results equal the CPU reference up to the device's libm), and by g++
// for host emulation (tests/cuda-host, -ffp-contract=off). Needs no CUDA
// headers: prelude.cuh brings our own half / bfloat16.
//
// Tests:  cargo test -p augkit-cuda-host          (host emulation vs CPU;
//                                                  `synthetic` / `auto`
//                                                  filter those cases)
//         cargo test --test cuda_nvrtc            (NVRTC sm_80 / sm_90, ptxas -v)
//         cargo test --test cuda_backend          (real GPU parity; skips without one)
#include "prelude.cuh"

// ---------------------------------------------------------------------------
// Shared structs: mirror src/kernel_args.rs member for member (checked by
// tests/cuda-host/tests/layout.rs with offsetof / offset_of!).

struct KernelPolicy {
    float mean[4];
    float std_[4];
    u32 channels;
    u32 height;
    u32 width;
    u32 crop_mode;
    float crop_p;
    u32 crop_padding;
    float resized_area_lo;
    float resized_area_hi;
    float resized_log_ratio_lo;
    float resized_log_ratio_hi;
    float resized_ratio_lo;
    float resized_ratio_hi;
    float hflip_p;
    float vflip_p;
    u32 affine_on;
    float affine_p;
    float degrees_lo;
    float translate_x;
    float translate_y;
    u32 translate_whole;
    float scale_lo;
    float scale_hi;
    u32 interpolation;
    float fill;
    u32 jitter_ops;
    float jitter_p;
    float brightness_lo;
    float brightness_hi;
    float contrast_lo;
    float contrast_hi;
    float saturation_lo;
    float saturation_hi;
    float hue_lo;
    float hue_hi;
    u32 contrast_mean;
    u32 mix_mode;
    u32 mix_ops;
    float mix_p;
    float switch_p;
    float mixup_alpha;
    float cutmix_alpha;
    u32 correct_lambda;
    u32 out_dtype;
    u32 out_layout;
    float degrees_hi;
    u32 synth_mode;
    float synth_p;
    u32 synth_class_choice;
    u32 synth_components;
    u32 num_classes;
    u32 crop_interpolation;
    u32 auto_mode;
    u32 auto_num_ops;
    u32 auto_num_bins;
    u32 auto_magnitude_bin;
    u32 auto_interpolation;
    float auto_fill;
    float auto_shear_max;
    float auto_translate_max_x;
    float auto_translate_max_y;
    float auto_rotate_max;
    float auto_enhance_max;
    float auto_posterize_range;
    float erase_p;
    float erase_area_lo;
    float erase_area_hi;
    float erase_log_ratio_lo;
    float erase_log_ratio_hi;
    u32 erase_mode;
    float erase_value;
    u32 erase_count_lo;
    u32 erase_count_hi;
    u32 pool_first;
    u32 pool_len;
    u32 _pad_pool[2];
};

struct StepArgs {
    u32 seed_lo;
    u32 seed_hi;
    u32 epoch;
    u32 first_position;
    u32 batch_size;
    u32 subset_len;
    // The output window (wgpu's split pixel dispatches); CUDA writes one
    // window, so both are 0 here.
    u32 out_first;
    u32 out_base;
};

#define AK_MAX_ERASE_BOXES 4u
#define AK_AUTO_OP_NONE 255u

struct SampleParams {
    u32 dataset_index;
    u32 label_a;
    u32 label_b;
    u32 partner;
    u32 flags;
    u32 colour_order;
    float lambda;
    float hue;
    float brightness;
    float contrast;
    float saturation;
    u32 synth_partner;
    float inverse_affine[6];
    float synth_t;
    u32 slot;
    i32 window[4];
    u32 cut_box[4];
    u32 auto_ops;
    u32 erase_count;
    u32 _pad0[2];
    float auto_magnitudes[4];
    float auto_affine[6];
    u32 _pad1[2];
    u32 erase_boxes[AK_MAX_ERASE_BOXES][4];
};

struct MixLabel {
    u32 label_a;
    u32 label_b;
    float lambda;
};

/// The synthetic tables (src/synthetic.rs `SynthTables`, uploaded once) and
/// the step's coefficient scratch, passed by value to every kernel. Mirrors
/// `augkit::cuda::SynthArgs` (device addresses as u64 there). All null when
/// the policy makes no synthetic samples.
struct SynthArgs {
    const u32* present;      // classes with an image in the subset, ascending
    const u32* offsets;      // classes + 1 offsets into `members`
    const u32* members;      // subset images grouped by class, ascending
    const float* means;      // classes × D class means (PCA)
    const float* basis;      // classes × K × D unit directions (PCA)
    const float* sigmas;     // classes × K standard deviations (PCA)
    const float* class_gray; // classes: gray mean of each class mean (PCA)
    float* coefficients;     // B × K: σ_j·z_j per sample (written by augment_params)
    u32 present_len;
    u32 _pad;
};

#define AK_CROP_NONE 0u
#define AK_CROP_PAD 1u
#define AK_CROP_RESIZED 2u
#define AK_INTERP_NEAREST 0u
#define AK_INTERP_BILINEAR 1u
#define AK_INTERP_NEAREST_EXACT 2u
#define AK_OP_BRIGHTNESS 0u
#define AK_OP_CONTRAST 1u
#define AK_OP_SATURATION 2u
#define AK_OP_HUE 3u
#define AK_CONTRAST_MEAN_SOURCE 1u
#define AK_MIX_MODE_BATCH 0u
#define AK_MIX_MODE_PAIR 1u
#define AK_MIX_MIXUP 1u
#define AK_MIX_CUTMIX 2u
#define AK_LAYOUT_NCHW 0u

#define AK_FLAG_HFLIP (1u << 0)
#define AK_FLAG_VFLIP (1u << 1)
#define AK_FLAG_CROPPED (1u << 2)
#define AK_FLAG_AFFINE (1u << 3)
#define AK_FLAG_JITTER (1u << 4)
#define AK_FLAG_MIXED (1u << 5)
#define AK_FLAG_CUTMIX (1u << 6)
#define AK_FLAG_SYNTHETIC (1u << 7)
#define AK_FLAG_ERASED (1u << 9)
#define AK_FLAG_POOL (1u << 10)

#define AK_ERASE_OFF 0u
#define AK_ERASE_CHANNEL 2u
#define AK_ERASE_PIXEL 3u
#define AK_ERASE_TOP_SUB 64u
#define AK_ERASE_LEFT_SUB 128u
#define AK_FLAG_AUTO (1u << 8)

#define AK_SYNTH_OFF 0u
#define AK_SYNTH_PCA 1u
#define AK_SYNTH_INTERPOLATE 2u
#define AK_SYNTH_POOL 3u
#define AK_SYNTH_CLASS_UNIFORM 1u

// TrivialAugment / RandAugment (the auto ops).
#define AK_AUTO_OFF 0u
#define AK_AUTO_TRIVIAL 1u
#define AK_AUTO_RAND 2u
#define AK_MAX_AUTO_OPS 2u
#define AK_AUTO_OP_IDENTITY 0u
#define AK_AUTO_OP_SHEAR_X 1u
#define AK_AUTO_OP_SHEAR_Y 2u
#define AK_AUTO_OP_TRANSLATE_X 3u
#define AK_AUTO_OP_TRANSLATE_Y 4u
#define AK_AUTO_OP_ROTATE 5u
#define AK_AUTO_OP_BRIGHTNESS 6u
#define AK_AUTO_OP_COLOR 7u
#define AK_AUTO_OP_CONTRAST 8u
#define AK_AUTO_OP_SHARPNESS 9u
#define AK_AUTO_OP_POSTERIZE 10u
#define AK_AUTO_OP_SOLARIZE 11u
#define AK_AUTO_OP_AUTOCONTRAST 12u
#define AK_AUTO_OP_EQUALIZE 13u
#define AK_AUTO_OP_COUNT 14u

#define AK_PARAMS_THREADS 128
#define AK_STATS_THREADS 256
#define AK_CONTRAST_THREADS 256
#define AK_PIXELS_THREADS 256

// ---------------------------------------------------------------------------
// Philox4x32-10 (src/philox.rs) and draws (src/draws.rs).

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

struct Words {
    u32 w[4];
};

struct Key {
    u32 lo;
    u32 hi;
};

AK_FN Words philox4x32_10(Words c, Key key) {
    const u32 m0 = 0xD2511F53u;
    const u32 m1 = 0xCD9E8D57u;
    u32 k0 = key.lo;
    u32 k1 = key.hi;
#pragma unroll
    for (int r = 0; r < 10; ++r) {
        if (r > 0) {
            k0 += 0x9E3779B9u;
            k1 += 0xBB67AE85u;
        }
        const u32 hi0 = __umulhi(m0, c.w[0]);
        const u32 lo0 = m0 * c.w[0];
        const u32 hi1 = __umulhi(m1, c.w[2]);
        const u32 lo1 = m1 * c.w[2];
        Words n;
        n.w[0] = hi1 ^ c.w[1] ^ k0;
        n.w[1] = lo1;
        n.w[2] = hi0 ^ c.w[3] ^ k1;
        n.w[3] = lo0;
        c = n;
    }
    return c;
}

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

// ---------------------------------------------------------------------------
// Epoch shuffle (src/shuffle.rs): Feistel on 4^k ≥ n with cycle-walking.

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

// ---------------------------------------------------------------------------
// Parameters pass (src/params.rs).

struct StepContext {
    const KernelPolicy* policy;
    StepArgs step;
    Key key;
    ShuffleKeys shuffle_keys;
    const u32* subset;
    const u32* labels;
    SynthArgs synth;
};

AK_FN u32 dataset_index(const StepContext& ctx, u32 i) {
    const u32 position = ctx.step.first_position + i;
    const u32 shuffled = shuffled_position(position, ctx.step.subset_len, ctx.shuffle_keys);
    return ctx.subset[shuffled];
}

/// Where the sample at batch slot i comes from (src/params.rs `SampleSource`).
struct SampleSource {
    u32 dataset_index;
    u32 label;
    bool synthetic;
    u32 synth_partner;
    float synth_t;
    /// Drawn from the synthetic pool (dataset_index is past the real set).
    bool pool;
};

/// The synthetic pool draw (src/params.rs `pool_draw`, SEMANTICS.md §9a): a
/// coin of probability synth_p, then a uniform pool index; the resident
/// index of the pool image, or ~0 when the source stays the data set's.
AK_FN u32 pool_draw(const KernelPolicy& k, Key key, u32 position, u32 epoch) {
    if (k.pool_len == 0u) return ~0u;
    const Words w = words(key, position, epoch, AK_SLOT_SYNTHETIC_POOL, 0u);
    if (!coin(k.synth_p, w.w[0])) return ~0u;
    return k.pool_first +
           bounded(k.pool_len, words(key, position, epoch, AK_SLOT_SYNTHETIC_POOL, 1u));
}

/// The shuffled subset image, or a synthetic sample (SEMANTICS.md §9) or a
/// pool image (§9a) drawn in its place.
AK_FN SampleSource sample_source(const StepContext& ctx, u32 i) {
    const KernelPolicy& k = *ctx.policy;
    const u32 index = dataset_index(ctx, i);
    const u32 label = ctx.labels[index];
    SampleSource s = {index, label, false, index, 0.0f, false};
    if (k.synth_mode == AK_SYNTH_POOL) {
        const u32 drawn = pool_draw(k, ctx.key, ctx.step.first_position + i, ctx.step.epoch);
        if (drawn != ~0u) {
            s.dataset_index = drawn;
            s.synth_partner = drawn;
            s.label = ctx.labels[drawn];
            s.pool = true;
        }
        return s;
    }
    if (k.synth_mode == AK_SYNTH_OFF) return s;
    const u32 position = ctx.step.first_position + i;
    const u32 epoch = ctx.step.epoch;
    const Words w = words(ctx.key, position, epoch, AK_SLOT_SYNTHETIC, 0u);
    if (!coin(k.synth_p, w.w[0])) return s;
    s.synthetic = true;
    if (k.synth_mode == AK_SYNTH_PCA) {
        const Words class_words = words(ctx.key, position, epoch, AK_SLOT_SYNTHETIC_CLASS, 0u);
        if (k.synth_class_choice == AK_SYNTH_CLASS_UNIFORM) {
            s.label = ctx.synth.present[bounded(ctx.synth.present_len, class_words)];
        } else {
            const u32 at = bounded(ctx.step.subset_len, class_words);
            s.label = ctx.labels[ctx.subset[at]];
        }
    } else {
        const u32 first = ctx.synth.offsets[label];
        const u32 count = ctx.synth.offsets[label + 1u] - first;
        const u32 pick =
            bounded(count, words(ctx.key, position, epoch, AK_SLOT_SYNTHETIC_PARTNER, 0u));
        s.synth_partner = ctx.synth.members[first + pick];
        s.synth_t = unit(w.w[2]);
    }
    return s;
}

/// Writes σ_j·z_j of a synthetic PCA sample (zeros otherwise) for each of
/// the K components, to coefficients[slot·K + j] (src/params.rs
/// `synth_coefficients`).
AK_FN void write_synth_coefficients(const StepContext& ctx, const SampleParams& p) {
    const KernelPolicy& k = *ctx.policy;
    const u32 n = k.synth_components;
    if (n == 0u) return;
    const bool pca = k.synth_mode == AK_SYNTH_PCA && (p.flags & AK_FLAG_SYNTHETIC) != 0u;
    const u32 position = ctx.step.first_position + p.slot;
    float* out = ctx.synth.coefficients + (u64)p.slot * n;
    Words w = {{0u, 0u, 0u, 0u}};
    for (u32 j = 0; j < n; ++j) {
        float a = 0.0f;
        if (pca) {
            float z;
            if ((j & 1u) == 0u) {
                w = words(ctx.key, position, ctx.step.epoch, AK_SLOT_SYNTHETIC_Z, j / 2u);
                z = normal(w.w[0], w.w[1]);
            } else {
                z = normal(w.w[2], w.w[3]);
            }
            a = ctx.synth.sigmas[(u64)p.label_a * n + j] * z;
        }
        out[j] = a;
    }
}

struct CropBox {
    i32 left;
    i32 top;
    i32 width;
    i32 height;
};

/// torchvision RandomResizedCrop.get_params: ten tries, then the fallback.
AK_FN CropBox resized_crop_box(const KernelPolicy& k, Key key, u32 position, u32 epoch) {
    const i32 width = (i32)k.width;
    const i32 height = (i32)k.height;
    const float area = (float)(k.width * k.height);
    for (u32 t = 0; t < 10u; ++t) {
        const Words d = words(key, position, epoch, AK_SLOT_RESIZED_CROP, t);
        const float target_area = area * uniform(k.resized_area_lo, k.resized_area_hi, d.w[0]);
        const float aspect =
            expf(uniform(k.resized_log_ratio_lo, k.resized_log_ratio_hi, d.w[1]));
        const i32 cw = ak_f2i(rintf(sqrtf(target_area * aspect)));
        const i32 ch = ak_f2i(rintf(sqrtf(target_area / aspect)));
        if (0 < cw && cw <= width && 0 < ch && ch <= height) {
            const u32 top = bounded((u32)(height - ch + 1),
                                    words(key, position, epoch, AK_SLOT_RESIZED_CROP_TOP, t));
            const u32 left = bounded((u32)(width - cw + 1),
                                     words(key, position, epoch, AK_SLOT_RESIZED_CROP_LEFT, t));
            CropBox b = {(i32)left, (i32)top, cw, ch};
            return b;
        }
    }
    const float in_ratio = (float)k.width / (float)k.height;
    i32 cw = width;
    i32 ch = height;
    if (in_ratio < k.resized_ratio_lo) {
        ch = ak_f2i(rintf((float)width / k.resized_ratio_lo));
    } else if (in_ratio > k.resized_ratio_hi) {
        cw = ak_f2i(rintf((float)height * k.resized_ratio_hi));
    }
    cw = cw < 1 ? 1 : (cw > width ? width : cw);
    ch = ch < 1 ? 1 : (ch > height ? height : ch);
    CropBox b = {(width - cw) / 2, (height - ch) / 2, cw, ch};
    return b;
}

/// Crop, flips and affine, composed into one inverse map plus the window.
AK_FN void geometry(const KernelPolicy& k, Key key, u32 position, u32 epoch, SampleParams& p) {
    const float w = (float)k.width;
    const float h = (float)k.height;
    const Words coins = words(key, position, epoch, AK_SLOT_GEOMETRY_COINS, 0u);

    i32 window[4] = {0, 0, (i32)k.width, (i32)k.height};
    float origin_x = 0.0f, origin_y = 0.0f;
    if (k.crop_mode != AK_CROP_NONE && coin(k.crop_p, coins.w[0])) {
        p.flags |= AK_FLAG_CROPPED;
        if (k.crop_mode == AK_CROP_PAD) {
            const u32 positions = 2u * k.crop_padding + 1u;
            const i32 ox = (i32)bounded(positions, words(key, position, epoch, AK_SLOT_CROP_X, 0u));
            const i32 oy = (i32)bounded(positions, words(key, position, epoch, AK_SLOT_CROP_Y, 0u));
            const i32 x0 = ox - (i32)k.crop_padding;
            const i32 y0 = oy - (i32)k.crop_padding;
            window[0] = x0;
            window[1] = y0;
            window[2] = x0 + (i32)k.width;
            window[3] = y0 + (i32)k.height;
            origin_x = (float)x0;
            origin_y = (float)y0;
        } else {
            // The pixel pass resizes the box: the map stops at crop space.
            const CropBox b = resized_crop_box(k, key, position, epoch);
            window[0] = b.left;
            window[1] = b.top;
            window[2] = b.left + b.width;
            window[3] = b.top + b.height;
        }
    }

    const bool hflip = coin(k.hflip_p, coins.w[1]);
    const bool vflip = coin(k.vflip_p, coins.w[2]);
    if (hflip) p.flags |= AK_FLAG_HFLIP;
    if (vflip) p.flags |= AK_FLAG_VFLIP;

    // Affine (inverse): q = C + (1/s)·R(θ)·(o − C − t).
    float cs = 1.0f, sn = 0.0f, tx = 0.0f, ty = 0.0f;
    if (k.affine_on != 0u && coin(k.affine_p, coins.w[3])) {
        p.flags |= AK_FLAG_AFFINE;
        const Words a = words(key, position, epoch, AK_SLOT_AFFINE, 0u);
        const float angle = uniform(k.degrees_lo, k.degrees_hi, a.w[0]);
        const float max_dx = k.translate_x * w;
        const float max_dy = k.translate_y * h;
        tx = uniform(-max_dx, max_dx, a.w[1]);
        ty = uniform(-max_dy, max_dy, a.w[2]);
        if (k.translate_whole != 0u) {
            tx = rintf(tx);
            ty = rintf(ty);
        }
        const float scale = uniform(k.scale_lo, k.scale_hi, a.w[3]);
        const float theta = angle * (3.14159265358979323846f / 180.0f);
        float sin_theta, cos_theta;
        ak_sincosf_small(theta, &sin_theta, &cos_theta);
        cs = cos_theta / scale;
        sn = sin_theta / scale;
    }
    const float cx = 0.5f * w;
    const float cy = 0.5f * h;
    const float ux = cx + tx;
    const float uy = cy + ty;
    const float qx0 = cx - (cs * ux - sn * uy);
    const float qy0 = cy - (sn * ux + cs * uy);
    float m[6] = {cs, -sn, qx0, sn, cs, qy0};

    if (hflip) {
        m[0] = -m[0];
        m[1] = -m[1];
        m[2] = w - m[2];
    }
    if (vflip) {
        m[3] = -m[3];
        m[4] = -m[4];
        m[5] = h - m[5];
    }
    p.inverse_affine[0] = m[0];
    p.inverse_affine[1] = m[1];
    p.inverse_affine[2] = origin_x + m[2];
    p.inverse_affine[3] = m[3];
    p.inverse_affine[4] = m[4];
    p.inverse_affine[5] = origin_y + m[5];
    p.window[0] = window[0];
    p.window[1] = window[1];
    p.window[2] = window[2];
    p.window[3] = window[3];
}

/// The index-th (0..24) permutation of the four colour ops, lexicographic,
/// packed 8 bits per op, first op in the low byte. The remaining ops live in
/// nibbles of one register (no local array).
AK_FN u32 permutation_of_four(u32 index) {
    u32 remaining = 0x3210u;
    u32 len = 4;
    u32 rest = index;
    u32 packed = 0;
    u32 radix = 6;
#pragma unroll
    for (u32 out = 0; out < 4u; ++out) {
        const u32 pick = rest / radix;
        rest %= radix;
        packed |= ((remaining >> (4u * pick)) & 0xfu) << (8u * out);
        const u32 low = remaining & ((1u << (4u * pick)) - 1u);
        const u32 high = remaining >> (4u * (pick + 1u));
        remaining = low | (high << (4u * pick));
        len -= 1u;
        if (len > 0u) radix /= len;
    }
    return packed;
}

/// Colour jitter: the coin, the factors of the ops that are on, the order.
AK_FN void jitter(const KernelPolicy& k, Key key, u32 position, u32 epoch, SampleParams& p) {
    if (k.jitter_ops == 0u) return;
    const Words j = words(key, position, epoch, AK_SLOT_JITTER, 0u);
    if (!coin(k.jitter_p, j.w[0])) return;
    p.flags |= AK_FLAG_JITTER;
    if (k.jitter_ops & (1u << AK_OP_BRIGHTNESS))
        p.brightness = uniform(k.brightness_lo, k.brightness_hi, j.w[1]);
    if (k.jitter_ops & (1u << AK_OP_CONTRAST))
        p.contrast = uniform(k.contrast_lo, k.contrast_hi, j.w[2]);
    if (k.jitter_ops & (1u << AK_OP_SATURATION))
        p.saturation = uniform(k.saturation_lo, k.saturation_hi, j.w[3]);
    if (k.jitter_ops & (1u << AK_OP_HUE)) {
        const Words hw = words(key, position, epoch, AK_SLOT_JITTER_HUE, 0u);
        p.hue = uniform(k.hue_lo, k.hue_hi, hw.w[0]);
    }
    const u32 order = bounded(24u, words(key, position, epoch, AK_SLOT_JITTER_ORDER, 0u));
    p.colour_order = permutation_of_four(order);
}

// ---------------------------------------------------------------------------
// Auto ops, parameters (TrivialAugment-Wide / RandAugment; src/params.rs).

/// torch.linspace(start, end, steps)[i] in f32, torch's formula: the first
/// half counts up from start, the second half down from end.
/// Each half is one fused multiply-add (ATen's vectorised CPU kernel), so
/// the tables equal torch's; fmaf is fused whatever --fmad says.
AK_FN float linspace_at(float start, float end, u32 steps, u32 i) {
    const float step = (end - start) / (float)(steps - 1u);
    return i < steps / 2u ? fmaf(step, (float)i, start) : fmaf(-step, (float)(steps - 1u - i), end);
}

AK_FN bool auto_op_is_geometry(u32 op) {
    return op >= AK_AUTO_OP_SHEAR_X && op <= AK_AUTO_OP_ROTATE;
}

/// Whether torchvision negates the op's magnitude with probability ½.
AK_FN bool auto_op_is_signed(u32 op) {
    return op >= AK_AUTO_OP_SHEAR_X && op <= AK_AUTO_OP_SHARPNESS;
}

/// The op's magnitude for bin `bin`, unsigned (0 for ops without one).
AK_FN float auto_magnitude(const KernelPolicy& k, u32 op, u32 bin) {
    const u32 bins = k.auto_num_bins;
    switch (op) {
        case AK_AUTO_OP_SHEAR_X:
        case AK_AUTO_OP_SHEAR_Y: return linspace_at(0.0f, k.auto_shear_max, bins, bin);
        case AK_AUTO_OP_TRANSLATE_X: return linspace_at(0.0f, k.auto_translate_max_x, bins, bin);
        case AK_AUTO_OP_TRANSLATE_Y: return linspace_at(0.0f, k.auto_translate_max_y, bins, bin);
        case AK_AUTO_OP_ROTATE: return linspace_at(0.0f, k.auto_rotate_max, bins, bin);
        case AK_AUTO_OP_BRIGHTNESS:
        case AK_AUTO_OP_COLOR:
        case AK_AUTO_OP_CONTRAST:
        case AK_AUTO_OP_SHARPNESS: return linspace_at(0.0f, k.auto_enhance_max, bins, bin);
        case AK_AUTO_OP_POSTERIZE: {
            // The divisor is a Python float, rounded to f32 by the tensor op.
            const float divisor = (float)((double)(bins - 1u) / (double)k.auto_posterize_range);
            return rintf(8.0f - (float)bin / divisor);
        }
        case AK_AUTO_OP_SOLARIZE: return linspace_at(1.0f, 0.0f, bins, bin);
        default: return 0.0f;
    }
}

/// m ← m ∘ a (a applied first), both 2×3 maps of pixel coordinates.
AK_FN void compose_after(float m[6], const float a[6]) {
    const float r0 = m[0] * a[0] + m[1] * a[3];
    const float r1 = m[0] * a[1] + m[1] * a[4];
    const float r2 = m[0] * a[2] + m[1] * a[5] + m[2];
    const float r3 = m[3] * a[0] + m[4] * a[3];
    const float r4 = m[3] * a[1] + m[4] * a[4];
    const float r5 = m[3] * a[2] + m[4] * a[5] + m[5];
    m[0] = r0;
    m[1] = r1;
    m[2] = r2;
    m[3] = r3;
    m[4] = r4;
    m[5] = r5;
}

/// The inverse map of one geometry op with signed magnitude m: output pixel
/// coordinates → coordinates in the image before the op.
AK_FN void auto_geometry_map(const KernelPolicy& k, u32 op, float m, float a[6]) {
    a[0] = 1.0f;
    a[1] = 0.0f;
    a[2] = 0.0f;
    a[3] = 0.0f;
    a[4] = 1.0f;
    a[5] = 0.0f;
    if (op == AK_AUTO_OP_SHEAR_X) {
        a[1] = m;
    } else if (op == AK_AUTO_OP_SHEAR_Y) {
        a[3] = m;
    } else if (op == AK_AUTO_OP_TRANSLATE_X) {
        a[2] = -(float)ak_f2i(m);
    } else if (op == AK_AUTO_OP_TRANSLATE_Y) {
        a[5] = -(float)ak_f2i(m);
    } else {
        const float theta = m * (3.14159265358979323846f / 180.0f);
        float s, c;
        ak_sincosf_small(theta, &s, &c);
        const float cx = 0.5f * (float)k.width;
        const float cy = 0.5f * (float)k.height;
        a[0] = c;
        a[1] = -s;
        a[2] = cx - (c * cx - s * cy);
        a[3] = s;
        a[4] = c;
        a[5] = cy - (s * cx + c * cy);
    }
}

/// The sample's auto ops: ids, signed magnitudes and the composed map of
/// its geometry ops.
AK_FN void auto_ops(const KernelPolicy& k, Key key, u32 position, u32 epoch, SampleParams& p) {
    if (k.auto_mode == AK_AUTO_OFF) return;
    p.flags |= AK_FLAG_AUTO;
    u32 ids = 0xffffffffu;
    for (u32 op_index = 0; op_index < k.auto_num_ops && op_index < AK_MAX_AUTO_OPS; ++op_index) {
        const u32 op = bounded(AK_AUTO_OP_COUNT, words(key, position, epoch, AK_SLOT_AUTO_OP, op_index));
        ids = (ids & ~(0xffu << (8u * op_index))) | (op << (8u * op_index));
        const u32 bin = k.auto_mode == AK_AUTO_TRIVIAL
                            ? bounded(k.auto_num_bins, words(key, position, epoch, AK_SLOT_AUTO_BIN, op_index))
                            : k.auto_magnitude_bin;
        float m = auto_magnitude(k, op, bin);
        if (auto_op_is_signed(op)) {
            const Words s = words(key, position, epoch, AK_SLOT_AUTO_SIGN, op_index);
            if (unit(s.w[0]) < 0.5f) m = -m;
        }
        p.auto_magnitudes[op_index] = m;
        if (auto_op_is_geometry(op)) {
            float a[6];
            auto_geometry_map(k, op, m, a);
            compose_after(p.auto_affine, a);
        }
    }
    p.auto_ops = ids;
}

/// timm rand_bbox + cutmix_bbox_and_lam; returns the corrected λ.
AK_FN float cutmix_box(const KernelPolicy& k, Key key, u32 owner, u32 epoch, float lambda,
                       u32 cut_box[4]) {
    const i32 h = (i32)k.height;
    const i32 w = (i32)k.width;
    const float ratio = sqrtf(1.0f - lambda);
    const i32 cut_h = ak_f2i((float)k.height * ratio);
    const i32 cut_w = ak_f2i((float)k.width * ratio);
    const i32 cy = (i32)bounded(k.height, words(key, owner, epoch, AK_SLOT_CUTMIX_CENTRE_Y, 0u));
    const i32 cx = (i32)bounded(k.width, words(key, owner, epoch, AK_SLOT_CUTMIX_CENTRE_X, 0u));
    i32 y0 = cy - cut_h / 2;
    i32 y1 = cy + cut_h / 2;
    i32 x0 = cx - cut_w / 2;
    i32 x1 = cx + cut_w / 2;
    y0 = y0 < 0 ? 0 : (y0 > h ? h : y0);
    y1 = y1 < 0 ? 0 : (y1 > h ? h : y1);
    x0 = x0 < 0 ? 0 : (x0 > w ? w : x0);
    x1 = x1 < 0 ? 0 : (x1 > w ? w : x1);
    const float area = (float)((y1 - y0) * (x1 - x0));
    cut_box[0] = (u32)x0;
    cut_box[1] = (u32)y0;
    cut_box[2] = (u32)x1;
    cut_box[3] = (u32)y1;
    return 1.0f - area / (float)(k.height * k.width);
}

/// Mixup / cutmix (timm Mixup): partner B−1−i, λ ~ Beta(α, α), the box.
AK_FN void mix(const StepContext& ctx, u32 i, SampleParams& p) {
    const KernelPolicy& k = *ctx.policy;
    if (k.mix_ops == 0u) return;
    const u32 batch = ctx.step.batch_size;
    const u32 partner = batch - 1u - i;
    u32 owner = ctx.step.first_position;
    if (k.mix_mode == AK_MIX_MODE_PAIR) {
        owner += i < partner ? i : partner;
    } else if (k.mix_mode != AK_MIX_MODE_BATCH) {
        owner += i;
    }
    const u32 epoch = ctx.step.epoch;
    const Key key = ctx.key;
    const Words c = words(key, owner, epoch, AK_SLOT_MIX, 0u);
    if (!coin(k.mix_p, c.w[0])) return;
    bool cutmix;
    if (k.mix_ops == AK_MIX_CUTMIX) {
        cutmix = true;
    } else if (k.mix_ops == AK_MIX_MIXUP) {
        cutmix = false;
    } else {
        cutmix = coin(k.switch_p, c.w[1]);
    }
    p.flags |= AK_FLAG_MIXED;
    p.partner = partner;
    p.label_b = sample_source(ctx, partner).label;
    if (cutmix) {
        p.flags |= AK_FLAG_CUTMIX;
        const float lambda = beta_variate(k.cutmix_alpha, key, owner, epoch, AK_SLOT_BETA_CUTMIX);
        const float corrected = cutmix_box(k, key, owner, epoch, lambda, p.cut_box);
        p.lambda = k.correct_lambda != 0u ? corrected : lambda;
    } else {
        p.lambda = beta_variate(k.mixup_alpha, key, owner, epoch, AK_SLOT_BETA_MIXUP);
    }
}

/// Random erasing (params.rs `erasing`): coin, count, up to 10 attempts per
/// box; boxes placed in order. The store index is unrolled (constant), so
/// the params stay in registers.
AK_FN void erasing(const KernelPolicy& k, Key key, u32 position, u32 epoch, SampleParams& p) {
    if (k.erase_mode == AK_ERASE_OFF) return;
    const Words e = words(key, position, epoch, AK_SLOT_ERASE, 0u);
    if (!coin(k.erase_p, e.w[0])) return;
    const u32 lo = k.erase_count_lo, hi = k.erase_count_hi;
    const u32 count =
        lo == hi ? lo : lo + bounded(hi - lo + 1u, words(key, position, epoch, AK_SLOT_ERASE, 1u));
    const i32 w = (i32)k.width, h = (i32)k.height;
    const float area = (float)(k.width * k.height);
    u32 placed = 0u;
#pragma unroll
    for (u32 b = 0; b < AK_MAX_ERASE_BOXES; ++b) {
        if (b >= count) break;
        for (u32 t = 0; t < 10u; ++t) {
            const u32 sub = b * 16u + t;
            const Words d = words(key, position, epoch, AK_SLOT_ERASE_BOX, sub);
            const float target =
                uniform(k.erase_area_lo, k.erase_area_hi, d.w[0]) * area / (float)count;
            const float aspect = expf(uniform(k.erase_log_ratio_lo, k.erase_log_ratio_hi, d.w[1]));
            const i32 bh = ak_f2i(rintf(sqrtf(target * aspect)));
            const i32 bw = ak_f2i(rintf(sqrtf(target / aspect)));
            if (bw < w && bh < h) {
                const u32 top = bounded((u32)(h - bh + 1),
                                        words(key, position, epoch, AK_SLOT_ERASE_BOX, AK_ERASE_TOP_SUB + sub));
                const u32 left = bounded((u32)(w - bw + 1),
                                         words(key, position, epoch, AK_SLOT_ERASE_BOX, AK_ERASE_LEFT_SUB + sub));
#pragma unroll
                for (u32 q = 0; q < AK_MAX_ERASE_BOXES; ++q) {
                    if (q == placed) {
                        p.erase_boxes[q][0] = left;
                        p.erase_boxes[q][1] = top;
                        p.erase_boxes[q][2] = left + (u32)bw;
                        p.erase_boxes[q][3] = top + (u32)bh;
                    }
                }
                placed += 1u;
                break;
            }
        }
    }
    p.erase_count = placed;
    if (placed > 0u) p.flags |= AK_FLAG_ERASED;
}

/// Parameters of the sample at batch slot i (< batch size).
AK_FN SampleParams sample_params(const StepContext& ctx, u32 i) {
    const KernelPolicy& k = *ctx.policy;
    const u32 position = ctx.step.first_position + i;
    const u32 epoch = ctx.step.epoch;
    const SampleSource source = sample_source(ctx, i);

    SampleParams p;
    p.dataset_index = source.dataset_index;
    p.label_a = source.label;
    p.label_b = source.label;
    p.partner = i;
    p.flags = (source.synthetic ? AK_FLAG_SYNTHETIC : 0u) | (source.pool ? AK_FLAG_POOL : 0u);
    p.colour_order = 0u;
    p.lambda = 1.0f;
    p.hue = 0.0f;
    p.brightness = 1.0f;
    p.contrast = 1.0f;
    p.saturation = 1.0f;
    p.synth_partner = source.synth_partner;
#pragma unroll
    for (int j = 0; j < 6; ++j) p.inverse_affine[j] = 0.0f;
    p.synth_t = source.synth_t;
    p.slot = i;
#pragma unroll
    for (int j = 0; j < 4; ++j) {
        p.window[j] = 0;
        p.cut_box[j] = 0u;
        p.auto_magnitudes[j] = 0.0f;
    }
    // No auto op, and the identity map before them.
    p.auto_ops = 0xffffffffu;
    p.erase_count = 0u;
    p._pad0[0] = p._pad0[1] = p._pad1[0] = p._pad1[1] = 0u;
    p.auto_affine[0] = 1.0f;
    p.auto_affine[1] = 0.0f;
    p.auto_affine[2] = 0.0f;
    p.auto_affine[3] = 0.0f;
    p.auto_affine[4] = 1.0f;
    p.auto_affine[5] = 0.0f;
    for (u32 b = 0; b < AK_MAX_ERASE_BOXES; ++b) {
#pragma unroll
        for (int j = 0; j < 4; ++j) p.erase_boxes[b][j] = 0u;
    }

    geometry(k, ctx.key, position, epoch, p);
    jitter(k, ctx.key, position, epoch, p);
    auto_ops(k, ctx.key, position, epoch, p);
    erasing(k, ctx.key, position, epoch, p);
    mix(ctx, i, p);
    return p;
}

extern "C" __global__ void __launch_bounds__(AK_PARAMS_THREADS)
    augment_params(const KernelPolicy* __restrict__ policy, StepArgs step,
                   const u32* __restrict__ subset, const u32* __restrict__ labels,
                   SynthArgs synth, SampleParams* __restrict__ params,
                   MixLabel* __restrict__ mix_labels) {
    const u32 i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= step.batch_size) return;
    StepContext ctx;
    ctx.policy = policy;
    ctx.step = step;
    ctx.key.lo = step.seed_lo;
    ctx.key.hi = step.seed_hi;
    ctx.shuffle_keys = round_keys(ctx.key, step.epoch);
    ctx.subset = subset;
    ctx.labels = labels;
    ctx.synth = synth;
    const SampleParams p = sample_params(ctx, i);
    params[i] = p;
    MixLabel l;
    l.label_a = p.label_a;
    l.label_b = p.label_b;
    l.lambda = p.lambda;
    mix_labels[i] = l;
    write_synth_coefficients(ctx, p);
}

// ---------------------------------------------------------------------------
// Pixel functions (src/cpu/augment.rs).

struct Rgb {
    float v[3];
};

AK_FN float clamp01(float v) {
    if (v < 0.0f) v = 0.0f;
    if (v > 1.0f) v = 1.0f;
    return v;
}

/// The resident dataset (u8, planar CHW), the synthetic tables and the
/// step's synthetic coefficients.
struct Source {
    const u8* pixels;
    SynthArgs synth;
};

// Texel sources (SEMANTICS.md §9): what the geometry reads at byte offset
// o = (c·H + y)·W + x of the sample's CHW source image. `geometric_pixel`
// picks one per sample and runs the sampling specialised on it, so each
// path keeps only its own state in registers.

// The table pointers stay the kernel's parameters (constant bank, no
// registers); a sample carries only u32 offsets into them.

/// A dataset image (u8).
struct ImageTexels {
    const u8* pixels;
    u32 image;
    u32 elements;
    AK_FN_MEMBER float at(u32 o) const {
        return (float)pixels[(u64)image * elements + o] / 255.0f;
    }
};

/// Interpolate: (1 − t)·A + t·B of two dataset images.
struct BlendTexels {
    const u8* pixels;
    u32 a;
    u32 b;
    u32 elements;
    float t;
    AK_FN_MEMBER float at(u32 o) const {
        const float va = (float)pixels[(u64)a * elements + o] / 255.0f;
        const float vb = (float)pixels[(u64)b * elements + o] / 255.0f;
        return (1.0f - t) * va + t * vb;
    }
};

/// PCA: clamp01(μ_c[o] + Σ_j a_j·u_j[o]), j ascending; the K coefficients
/// are read from global memory (no per-thread array: no local memory). The
/// host keeps classes × K × D below 2^32 (u32 offsets).
struct PcaTexels {
    const float* means;
    const float* basis;
    const float* coefficients;
    u32 mean_at;   // class · D
    u32 basis_at;  // class · K · D
    u32 coeff_at;  // slot · K
    u32 components;
    u32 elements;
    AK_FN_MEMBER float at(u32 o) const {
        float v = means[mean_at + o];
        u32 u = basis_at + o;
        for (u32 j = 0; j < components; ++j, u += elements) v += coefficients[coeff_at + j] * basis[u];
        return clamp01(v);
    }
};

/// The mean grayscale of the sample's source image (`source` contrast mode).
AK_FN float source_gray_mean(const KernelPolicy& k, const Source& s, const float* gray_means,
                             const SampleParams& p) {
    if ((p.flags & AK_FLAG_SYNTHETIC) == 0u) return gray_means[p.dataset_index];
    if (k.synth_mode == AK_SYNTH_INTERPOLATE) {
        const float a = gray_means[p.dataset_index];
        const float b = gray_means[p.synth_partner];
        return (1.0f - p.synth_t) * a + p.synth_t * b;
    }
    return s.synth.class_gray[p.label_a];
}

AK_FN bool in_window(const SampleParams& p, i32 x, i32 y) {
    return x >= p.window[0] && x < p.window[2] && y >= p.window[1] && y < p.window[3];
}

/// a / b in f32, correctly rounded, for 1 ≤ a ≤ b ≤ 2^14 (a resize's
/// scale, as the CPU and aten divide; WGSL: `exact_ratio`). IEEE division
/// would call a slow-path subroutine (a stack frame in the contrast pass),
/// so the approximate quotient q = m·2^-s is moved by ulps until the exact
/// residual a·2^s − m·b (computed mod 2^32, it is small) is within half an
/// ulp, ties to even. NEAREST floors j·scale, so one ulp moves a tap.
AK_FN float exact_ratio(u32 a, u32 b) {
    float q = __fdividef((float)a, (float)b);
#pragma unroll 1
    for (int i = 0; i < 4; ++i) {
        const u32 bits = __float_as_uint(q);
        const u32 m = (bits & 0x7fffffu) | 0x800000u;
        const u32 s = 150u - ((bits >> 23) & 0xffu);
        const u32 scaled = s < 32u ? a << s : 0u;
        const i32 r2 = 2 * (i32)(scaled - m * b);
        const bool odd = (m & 1u) != 0u;
        // Below q the next float is half an ulp away when m = 2^23.
        const i32 low = m == 0x800000u ? 2 * r2 : r2;
        if (r2 > (i32)b || (r2 == (i32)b && odd)) {
            q = __uint_as_float(bits + 1u);
        } else if (low < -(i32)b || (low == -(i32)b && odd)) {
            q = __uint_as_float(bits - 1u);
        } else {
            break;
        }
    }
    return q;
}

/// One axis of the resized crop's resize (CPU: `ResizeAxis`).
struct ResizeAxis {
    i32 origin;
    i32 len;
    float scale;
};

AK_FN ResizeAxis resize_axis(i32 lo, i32 hi, u32 out) {
    ResizeAxis a = {lo, hi - lo, exact_ratio((u32)(hi - lo), out)};
    return a;
}

/// NEAREST ⌊j·scale⌋ or NEAREST_EXACT ⌊(j + ½)·scale⌋, clamped to the box.
AK_FN i32 resize_nearest(const ResizeAxis& a, i32 j, bool exact) {
    const i32 t = ak_f2i(floorf(((float)j + (exact ? 0.5f : 0.0f)) * a.scale));
    return a.origin + (t < a.len - 1 ? t : a.len - 1);
}

/// Channel c of the resized box's pixel (jx, jy) of crop space (CPU:
/// `resized_texel`): bilinear rows then columns as aten, skipping taps of
/// weight 0. One channel at a time keeps the register count within the
/// pixel pass's budget (the tap indices are recomputed per channel).
template <typename Texels>
AK_FN float resized_channel(const KernelPolicy& k, const Texels& tex, const ResizeAxis& ax,
                            const ResizeAxis& ay, u32 c, i32 jx, i32 jy) {
#define AK_AT(xx, yy) tex.at((c * k.height + (u32)(yy)) * k.width + (u32)(xx))
    if (k.crop_interpolation != AK_INTERP_BILINEAR) {
        const bool exact = k.crop_interpolation == AK_INTERP_NEAREST_EXACT;
        return AK_AT(resize_nearest(ax, jx, exact), resize_nearest(ay, jy, exact));
    }
    float s = fmaxf(((float)jx + 0.5f) * ax.scale - 0.5f, 0.0f);
    i32 x0 = ak_f2i(floorf(s));
    x0 = x0 < ax.len - 1 ? x0 : ax.len - 1;
    const float lx = fminf(fmaxf(s - (float)x0, 0.0f), 1.0f);
    const i32 x1 = ax.origin + (x0 < ax.len - 1 ? x0 + 1 : x0);
    x0 += ax.origin;
    s = fmaxf(((float)jy + 0.5f) * ay.scale - 0.5f, 0.0f);
    i32 y0 = ak_f2i(floorf(s));
    y0 = y0 < ay.len - 1 ? y0 : ay.len - 1;
    const float ly = fminf(fmaxf(s - (float)y0, 0.0f), 1.0f);
    const i32 y1 = ay.origin + (y0 < ay.len - 1 ? y0 + 1 : y0);
    y0 += ay.origin;
    float top = AK_AT(x0, y0);
    if (lx != 0.0f) top = (1.0f - lx) * top + lx * AK_AT(x1, y0);
    if (ly == 0.0f) return top;
    float bottom = AK_AT(x0, y1);
    if (lx != 0.0f) bottom = (1.0f - lx) * bottom + lx * AK_AT(x1, y1);
    return (1.0f - ly) * top + ly * bottom;
#undef AK_AT
}

/// A resized-crop sample (CPU: `resized_crop_pixel`): the affine's taps on
/// the crop-space grid (fill outside W×H), each the resized box's pixel;
/// per channel, the taps summed in the CPU's order.
template <typename Texels>
AK_FN Rgb sample_resized_crop(const KernelPolicy& k, const Texels& tex, const SampleParams& p,
                              float cx, float cy) {
    const ResizeAxis ax = resize_axis(p.window[0], p.window[2], k.width);
    const ResizeAxis ay = resize_axis(p.window[1], p.window[3], k.height);
    const i32 w = (i32)k.width;
    const i32 h = (i32)k.height;
    Rgb out = {{0.0f, 0.0f, 0.0f}};
    if (k.interpolation == AK_INTERP_NEAREST) {
        const i32 jx = ak_f2i(floorf(cx));
        const i32 jy = ak_f2i(floorf(cy));
        if (jx < 0 || jx >= w || jy < 0 || jy >= h) {
            Rgb filled = {{k.fill, k.fill, k.fill}};
            return filled;
        }
#pragma unroll
        for (u32 c = 0; c < 3u; ++c)
            if (c < k.channels) out.v[c] = resized_channel(k, tex, ax, ay, c, jx, jy);
        return out;
    }
    const float fx = cx - 0.5f;
    const float fy = cy - 0.5f;
    const float x0f = floorf(fx);
    const float y0f = floorf(fy);
    const float wx = fx - x0f;
    const float wy = fy - y0f;
    const i32 x0 = ak_f2i(x0f);
    const i32 y0 = ak_f2i(y0f);
    float mask = 0.0f;
#pragma unroll
    for (int tap = 0; tap < 4; ++tap) {
        const i32 tx = x0 + (tap & 1);
        const i32 ty = y0 + (tap >> 1);
        const float weight = ((tap & 1) ? wx : (1.0f - wx)) * ((tap >> 1) ? wy : (1.0f - wy));
        if (tx >= 0 && tx < w && ty >= 0 && ty < h) mask += weight;
    }
#pragma unroll
    for (u32 c = 0; c < 3u; ++c) {
        if (c >= k.channels) continue;
        float acc = 0.0f;
#pragma unroll 1
        for (int tap = 0; tap < 4; ++tap) {
            const i32 tx = x0 + (tap & 1);
            const i32 ty = y0 + (tap >> 1);
            const float weight =
                ((tap & 1) ? wx : (1.0f - wx)) * ((tap >> 1) ? wy : (1.0f - wy));
            if (tx < 0 || tx >= w || ty < 0 || ty >= h || weight == 0.0f) continue;
            acc += weight * resized_channel(k, tex, ax, ay, c, tx, ty);
        }
        out.v[c] = acc * mask + (1.0f - mask) * k.fill;
    }
    return out;
}

/// Geometry: the sample's pixel (x, y) before colour, per channel, in
/// [0, 1], sampling the texel source `tex`.
template <typename Texels>
AK_FN Rgb sample_geometry(const KernelPolicy& k, const Texels& tex, const SampleParams& p, u32 x,
                          u32 y) {
    const float* m = p.inverse_affine;
    const float px = (float)x + 0.5f;
    const float py = (float)y + 0.5f;
    const float sx = m[0] * px + m[1] * py + m[2];
    const float sy = m[3] * px + m[4] * py + m[5];
    if (k.crop_mode == AK_CROP_RESIZED && (p.flags & AK_FLAG_CROPPED) != 0u)
        return sample_resized_crop(k, tex, p, sx, sy);
    const u32 channels = k.channels;
    const i32 w = (i32)k.width;
    const i32 h = (i32)k.height;
    Rgb out = {{0.0f, 0.0f, 0.0f}};
    if (k.interpolation == AK_INTERP_NEAREST) {
        const i32 tx = ak_f2i(floorf(sx));
        const i32 ty = ak_f2i(floorf(sy));
        if (!in_window(p, tx, ty)) {
            Rgb filled = {{k.fill, k.fill, k.fill}};
            return filled;
        }
        if (tx >= 0 && tx < w && ty >= 0 && ty < h) {
#pragma unroll
            for (u32 c = 0; c < 3u; ++c)
                if (c < channels) out.v[c] = tex.at((c * k.height + (u32)ty) * k.width + (u32)tx);
        }
        return out;
    }
    // Bilinear over the window-extended image: value (zero outside), mask
    // (weight inside the window), then v·m + (1 − m)·fill.
    const float fx = sx - 0.5f;
    const float fy = sy - 0.5f;
    const float x0f = floorf(fx);
    const float y0f = floorf(fy);
    const float ax = fx - x0f;
    const float ay = fy - y0f;
    const i32 x0 = ak_f2i(x0f);
    const i32 y0 = ak_f2i(y0f);
    float mask = 0.0f;
#pragma unroll
    for (int tap = 0; tap < 4; ++tap) {
        const i32 tx = x0 + (tap & 1);
        const i32 ty = y0 + (tap >> 1);
        const float wx = (tap & 1) ? ax : (1.0f - ax);
        const float wy = (tap >> 1) ? ay : (1.0f - ay);
        const float weight = wx * wy;
        if (!in_window(p, tx, ty)) continue;
        mask += weight;
        if (tx >= 0 && tx < w && ty >= 0 && ty < h) {
#pragma unroll
            for (u32 c = 0; c < 3u; ++c)
                if (c < channels)
                    out.v[c] += weight * tex.at((c * k.height + (u32)ty) * k.width + (u32)tx);
        }
    }
#pragma unroll
    for (u32 c = 0; c < 3u; ++c)
        if (c < channels) out.v[c] = out.v[c] * mask + (1.0f - mask) * k.fill;
    return out;
}

/// Geometry of the sample's pixel (x, y) from its source: a dataset image,
/// or the synthetic image it stands for.
AK_FN Rgb geometric_pixel(const KernelPolicy& k, const Source& src, const SampleParams& p,
                          u32 x, u32 y) {
    const u32 d = k.channels * k.height * k.width;
    if ((p.flags & AK_FLAG_SYNTHETIC) == 0u) {
        const ImageTexels tex = {src.pixels, p.dataset_index, d};
        return sample_geometry(k, tex, p, x, y);
    }
    if (k.synth_mode == AK_SYNTH_INTERPOLATE) {
        const BlendTexels tex = {src.pixels, p.dataset_index, p.synth_partner, d, p.synth_t};
        return sample_geometry(k, tex, p, x, y);
    }
    const u32 n = k.synth_components;
    const PcaTexels tex = {src.synth.means, src.synth.basis, src.synth.coefficients,
                           p.label_a * d, p.label_a * n * d, p.slot * n, n, d};
    return sample_geometry(k, tex, p, x, y);
}

/// torchvision rgb_to_grayscale weights, in its evaluation order.
AK_FN float grayscale(const Rgb& rgb) {
    return 0.2989f * rgb.v[0] + 0.587f * rgb.v[1] + 0.114f * rgb.v[2];
}

AK_FN float blend(float v, float other, float factor) {
    return clamp01(factor * v + (1.0f - factor) * other);
}

/// torchvision _rgb2hsv → hue shift → _hsv2rgb, on one pixel.
AK_FN Rgb adjust_hue(const Rgb& rgb, float hue) {
    const float r = rgb.v[0], g = rgb.v[1], b = rgb.v[2];
    const float maxc = fmaxf(fmaxf(r, g), b);
    const float minc = fminf(fminf(r, g), b);
    const bool eqc = maxc == minc;
    const float cr = maxc - minc;
    const float s = cr / (eqc ? 1.0f : maxc);
    const float crd = eqc ? 1.0f : cr;
    const float rc = (maxc - r) / crd;
    const float gc = (maxc - g) / crd;
    const float bc = (maxc - b) / crd;
    float hh;
    if (maxc == r) {
        hh = bc - gc;
    } else if (maxc == g) {
        hh = 2.0f + rc - bc;
    } else {
        hh = 4.0f + gc - rc;
    }
    hh = hh / 6.0f + 1.0f;
    hh = hh - truncf(hh);  // torch.fmod(·, 1) of a positive number
    hh = hh + hue;
    hh = hh - floorf(hh);  // Python-style % 1.0
    const float v = maxc;
    const float h6 = hh * 6.0f;
    const float i = floorf(h6);
    const float f = h6 - i;
    const float p = clamp01(v * (1.0f - s));
    const float q = clamp01(v * (1.0f - s * f));
    const float t = clamp01(v * (1.0f - s * (1.0f - f)));
    i32 sector = ak_f2i(i) % 6;
    if (sector < 0) sector += 6;
    Rgb out;
    switch (sector) {
        case 0: out.v[0] = v; out.v[1] = t; out.v[2] = p; break;
        case 1: out.v[0] = q; out.v[1] = v; out.v[2] = p; break;
        case 2: out.v[0] = p; out.v[1] = v; out.v[2] = t; break;
        case 3: out.v[0] = p; out.v[1] = q; out.v[2] = v; break;
        case 4: out.v[0] = t; out.v[1] = p; out.v[2] = v; break;
        default: out.v[0] = v; out.v[1] = p; out.v[2] = q; break;
    }
    return out;
}

/// Runs the sample's colour ops in its order. With until_contrast, stops
/// before contrast (what the exact contrast mean averages).
AK_FN Rgb colour(const KernelPolicy& k, const SampleParams& p, float contrast_mean, Rgb rgb,
                 bool until_contrast) {
    if ((p.flags & AK_FLAG_JITTER) == 0u) return rgb;
    const u32 channels = k.channels;
#pragma unroll
    for (u32 slot = 0; slot < 4u; ++slot) {
        const u32 op = (p.colour_order >> (8u * slot)) & 0xffu;
        if ((k.jitter_ops & (1u << op)) == 0u) continue;
        if (op == AK_OP_BRIGHTNESS) {
#pragma unroll
            for (u32 c = 0; c < 3u; ++c)
                if (c < channels) rgb.v[c] = clamp01(p.brightness * rgb.v[c]);
        } else if (op == AK_OP_CONTRAST) {
            if (until_contrast) return rgb;
#pragma unroll
            for (u32 c = 0; c < 3u; ++c)
                if (c < channels) rgb.v[c] = blend(rgb.v[c], contrast_mean, p.contrast);
        } else if (op == AK_OP_SATURATION && channels == 3u) {
            const float gray = grayscale(rgb);
#pragma unroll
            for (u32 c = 0; c < 3u; ++c) rgb.v[c] = blend(rgb.v[c], gray, p.saturation);
        } else if (op == AK_OP_HUE && channels == 3u) {
            rgb = adjust_hue(rgb, p.hue);
        }
    }
    return rgb;
}

AK_FN bool needs_contrast_mean(const KernelPolicy& k, const SampleParams& p) {
    return (p.flags & AK_FLAG_JITTER) != 0u && (k.jitter_ops & (1u << AK_OP_CONTRAST)) != 0u;
}

// ---------------------------------------------------------------------------
// Auto ops, pixels (TrivialAugment-Wide / RandAugment; src/cpu/auto.rs).
//
// A sample's ops become at most two stages on the W×H grid (identity ops
// vanish, a second geometry op is already folded into auto_affine):
// pointwise (statistics of a reduction op included), sharpness (3×3 over
// the stage before) or the geometry stage (resampling the stage before
// through auto_affine, auto_fill outside). The first stage reads G, the
// existing geometry. With two stages, augment_stats writes the first
// stage's image out and the second reads it there, so no pass nests one
// neighbourhood of taps in another (that nesting cost ~100 registers and
// spilled); the values are the same as the CPU's literal per-pixel chain.

/// One reduction op's statistics, of the image as it stands before the op
/// (written by augment_stats, read by the later passes).
#define AK_AUTO_LUT_WORDS 192u
struct AutoStat {
    float mean;   // Contrast: mean grayscale
    float lo[3];  // AutoContrast: per-channel minimum
    float hi[3];  // and maximum
    u32 _pad;
    u32 lut[AK_AUTO_LUT_WORDS];  // Equalize: byte c·256 + level, 4 per word
};

/// A sample's statistics, one slot per op index.
struct AutoStats {
    AutoStat op[AK_MAX_AUTO_OPS];
};

/// The sample's stages: op ids and magnitudes, and the op index each came
/// from (its statistics slot).
struct AutoChain {
    u32 count;
    u32 op0, op1;
    u32 index0, index1;
    float m0, m1;
};

/// The sample's chain; empty when the sample has no auto ops (flag AUTO
/// clear).
AK_FN AutoChain auto_chain(const SampleParams& p) {
    AutoChain ch = {0u, AK_AUTO_OP_NONE, AK_AUTO_OP_NONE, 0u, 0u, 0.0f, 0.0f};
    if ((p.flags & AK_FLAG_AUTO) == 0u) return ch;
    bool geometry = false;
#pragma unroll
    for (u32 j = 0; j < AK_MAX_AUTO_OPS; ++j) {
        const u32 op = (p.auto_ops >> (8u * j)) & 0xffu;
        if (op >= AK_AUTO_OP_COUNT || op == AK_AUTO_OP_IDENTITY) continue;
        if (auto_op_is_geometry(op)) {
            if (geometry) continue;
            geometry = true;
        }
        if (ch.count == 0u) {
            ch.op0 = op;
            ch.index0 = j;
            ch.m0 = p.auto_magnitudes[j];
        } else {
            ch.op1 = op;
            ch.index1 = j;
            ch.m1 = p.auto_magnitudes[j];
        }
        ch.count += 1u;
    }
    return ch;
}

AK_FN bool auto_op_is_reduction(u32 op) {
    return op == AK_AUTO_OP_CONTRAST || op == AK_AUTO_OP_AUTOCONTRAST ||
           op == AK_AUTO_OP_EQUALIZE;
}

/// The auto-op arguments every pass after the parameters gets by value:
/// B statistics and, for samples with two stages, the image after the
/// first stage (B × C·H·W f32, written by augment_stats; null when the
/// policy runs one op per sample). Mirrors `augkit::cuda::AutoArgs`.
struct AutoArgs {
    AutoStats* stats;
    float* stage;
};

/// Everything the chain reads for one sample.
struct AutoCtx {
    const KernelPolicy* k;
    const Source* src;
    const SampleParams* p;
    const AutoStat* stats;  // the sample's AutoStats::op
    const float* stage;     // the sample's first-stage image (C planes)
    AutoChain ch;
};

/// torchvision's float `to_dtype(uint8, scale=True)` level of v:
/// trunc(v · f32(255 + 1 − 0.001)), saturated to [0, 255] as Rust's `as u8`.
AK_FN u32 equalize_level(float v) {
    const i32 q = ak_f2i(v * (float)(255.0 + 1.0 - 1e-3));
    return q < 0 ? 0u : (q > 255 ? 255u : (u32)q);
}

AK_FN u32 lut_byte(const AutoStat& s, u32 c, u32 level) {
    const u32 at = c * 256u + level;
    return (s.lut[at >> 2] >> (8u * (at & 3u))) & 0xffu;
}

/// One pointwise auto op (m its signed magnitude, s its statistics).
AK_FN Rgb auto_pointwise(const KernelPolicy& k, u32 op, float m, const AutoStat& s, Rgb rgb) {
    const u32 channels = k.channels;
    // f = 1 + m; torchvision's blend weight 1 − f comes from Python floats
    // (f64), which gives exactly −m.
    const float f = 1.0f + m;
    const float rest = -m;
    if (op == AK_AUTO_OP_BRIGHTNESS) {
#pragma unroll
        for (u32 c = 0; c < 3u; ++c)
            if (c < channels) rgb.v[c] = clamp01(f * rgb.v[c]);
    } else if (op == AK_AUTO_OP_COLOR) {
        if (channels == 3u) {
            const float gray = grayscale(rgb);
#pragma unroll
            for (u32 c = 0; c < 3u; ++c) rgb.v[c] = clamp01(f * rgb.v[c] + rest * gray);
        }
    } else if (op == AK_AUTO_OP_CONTRAST) {
        const float mean = s.mean;
#pragma unroll
        for (u32 c = 0; c < 3u; ++c)
            if (c < channels) rgb.v[c] = clamp01(f * rgb.v[c] + rest * mean);
    } else if (op == AK_AUTO_OP_POSTERIZE) {
        const float levels = (float)(1u << (u32)ak_f2i(m));
#pragma unroll
        for (u32 c = 0; c < 3u; ++c) {
            if (c < channels) {
                float q = floorf(rgb.v[c] * levels);
                q = q < 0.0f ? 0.0f : (q > levels - 1.0f ? levels - 1.0f : q);
                rgb.v[c] = q * (1.0f / levels);
            }
        }
    } else if (op == AK_AUTO_OP_SOLARIZE) {
#pragma unroll
        for (u32 c = 0; c < 3u; ++c)
            if (c < channels && rgb.v[c] >= m) rgb.v[c] = 1.0f - rgb.v[c];
    } else if (op == AK_AUTO_OP_AUTOCONTRAST) {
#pragma unroll
        for (u32 c = 0; c < 3u; ++c) {
            if (c < channels) {
                const float lo = s.lo[c];
                const float hi = s.hi[c];
                const bool flat = hi == lo;
                rgb.v[c] = clamp01((rgb.v[c] - (flat ? 0.0f : lo)) / (flat ? 1.0f : hi - lo));
            }
        }
    } else if (op == AK_AUTO_OP_EQUALIZE) {
#pragma unroll
        for (u32 c = 0; c < 3u; ++c)
            if (c < channels)
                rgb.v[c] = (float)lut_byte(s, c, equalize_level(rgb.v[c])) * (1.0f / 255.0f);
    }
    return rgb;
}

/// The image a stage reads at grid point (x, y) (inside the image): G, or
/// the sample's materialised first stage.
template <bool FROM_STAGE>
AK_FN Rgb auto_input(const AutoCtx& c, i32 x, i32 y) {
    if constexpr (FROM_STAGE) {
        const u32 plane = c.k->width * c.k->height;
        const u32 at = (u32)y * c.k->width + (u32)x;
        Rgb v = {{0.0f, 0.0f, 0.0f}};
#pragma unroll
        for (u32 ch = 0; ch < 3u; ++ch)
            if (ch < c.k->channels) v.v[ch] = c.stage[ch * plane + at];
        return v;
    } else {
        return geometric_pixel(*c.k, *c.src, *c.p, (u32)x, (u32)y);
    }
}

/// Stage `stage` (0 or 1) of the chain at grid point (x, y), reading its
/// input (the stage before) at the taps it needs: the pixel (pointwise),
/// its 3×3 neighbourhood (sharpness) or the geometry stage's taps.
///
/// `auto_input` has one call site here: for the first stage it is the whole
/// geometry, inlined for every texel source, and NVRTC's time grows faster
/// than linearly with the inlined copies in a kernel (31 copies of the
/// geometry across the passes took 270 s for sm_90 and 20 min for
/// compute_121 on the 2-core CI machine).
template <bool FROM_STAGE>
AK_FN Rgb auto_stage(const AutoCtx& c, u32 stage, i32 x, i32 y) {
    const u32 op = stage == 0u ? c.ch.op0 : c.ch.op1;
    const float m = stage == 0u ? c.ch.m0 : c.ch.m1;
    const u32 index = stage == 0u ? c.ch.index0 : c.ch.index1;
    const KernelPolicy& k = *c.k;
    const i32 w = (i32)k.width;
    const i32 h = (i32)k.height;
    const bool geometry = auto_op_is_geometry(op);
    const bool bilinear = geometry && k.auto_interpolation == AK_INTERP_BILINEAR;
    // Sharpness blends interior pixels only (torchvision leaves the border,
    // and images with a side ≤ 2, as they are).
    const bool sharpen = op == AK_AUTO_OP_SHARPNESS && w > 2 && h > 2 && x > 0 && y > 0 &&
                         x < w - 1 && y < h - 1;
    u32 taps = 1u;
    i32 bx = x, by = y;
    float ax = 0.0f, ay = 0.0f;
    if (geometry) {
        const float* a = c.p->auto_affine;
        const float px = (float)x + 0.5f;
        const float py = (float)y + 0.5f;
        const float sx = a[0] * px + a[1] * py + a[2];
        const float sy = a[3] * px + a[4] * py + a[5];
        if (bilinear) {
            const float fx = sx - 0.5f;
            const float fy = sy - 0.5f;
            const float x0f = floorf(fx);
            const float y0f = floorf(fy);
            ax = fx - x0f;
            ay = fy - y0f;
            bx = ak_f2i(x0f);
            by = ak_f2i(y0f);
            taps = 4u;
        } else {
            bx = ak_f2i(floorf(sx));
            by = ak_f2i(floorf(sy));
        }
    } else if (sharpen) {
        bx = x - 1;
        by = y - 1;
        taps = 9u;
    }
    // One read site: the taps in torchvision's order (the blur sums its 3×3
    // row by row, as the CPU reference); sharpness keeps tap 4, the centre.
    Rgb acc = {{0.0f, 0.0f, 0.0f}};
    Rgb centre = {{0.0f, 0.0f, 0.0f}};
    float mask = 0.0f;
#pragma unroll 1
    for (u32 tap = 0; tap < taps; ++tap) {
        i32 tx, ty;
        float weight;
        if (sharpen) {
            tx = bx + (i32)(tap % 3u);
            ty = by + (i32)(tap / 3u);
            weight = tap == 4u ? 5.0f / 13.0f : 1.0f / 13.0f;
        } else if (bilinear) {
            tx = bx + (i32)(tap & 1u);
            ty = by + (i32)(tap >> 1);
            const float wx = (tap & 1u) ? ax : (1.0f - ax);
            const float wy = (tap >> 1) ? ay : (1.0f - ay);
            weight = wx * wy;
        } else {
            tx = bx;
            ty = by;
            weight = 1.0f;
        }
        if (tx < 0 || tx >= w || ty < 0 || ty >= h) continue;
        const Rgb v = auto_input<FROM_STAGE>(c, tx, ty);
        if (sharpen && tap == 4u) centre = v;
#pragma unroll
        for (u32 ch = 0; ch < 3u; ++ch) acc.v[ch] += weight * v.v[ch];
        mask += weight;
    }
    if (geometry) {
        const float fill = k.auto_fill;
        if (!bilinear) {
            if (mask == 0.0f) {
                Rgb filled = {{fill, fill, fill}};
                return filled;
            }
            return acc;
        }
#pragma unroll
        for (u32 ch = 0; ch < 3u; ++ch) acc.v[ch] = acc.v[ch] * mask + (1.0f - mask) * fill;
        return acc;
    }
    if (op == AK_AUTO_OP_SHARPNESS) {
        if (!sharpen) return acc;
        const float rest = -m;  // torchvision's 1 − f, f = 1 + m
#pragma unroll
        for (u32 ch = 0; ch < 3u; ++ch)
            acc.v[ch] = clamp01(centre.v[ch] + rest * (acc.v[ch] - centre.v[ch]));
        return acc;
    }
    return auto_pointwise(k, op, m, c.stats[index], acc);
}

AK_FN AutoCtx auto_ctx(const KernelPolicy& k, const Source& src, const SampleParams& p,
                       AutoArgs a, u32 slot, AutoChain ch) {
    const float* stage =
        a.stage != nullptr ? a.stage + (u64)slot * k.channels * k.height * k.width : nullptr;
    const AutoCtx c = {&k, &src, &p, a.stats[slot].op, stage, ch};
    return c;
}

/// The sample's pixel (x, y) after geometry and the auto ops, before jitter
/// (the sample in batch slot `slot`).
AK_FN Rgb auto_pixel(const KernelPolicy& k, const Source& src, const SampleParams& p,
                     AutoArgs a, u32 slot, u32 x, u32 y) {
    // One call site of the geometry for both "no auto op" cases (each site
    // is another inlined copy; see auto_stage).
    const AutoChain ch = auto_chain(p);
    if (ch.count == 0u) return geometric_pixel(k, src, p, x, y);
    const AutoCtx c = auto_ctx(k, src, p, a, slot, ch);
    if (c.ch.count == 1u) return auto_stage<false>(c, 0u, (i32)x, (i32)y);
    return auto_stage<true>(c, 1u, (i32)x, (i32)y);
}

AK_FN Rgb augmented_pixel(const KernelPolicy& k, const Source& src, const SampleParams& p,
                          AutoArgs a, u32 slot, float mean, u32 x, u32 y) {
    return colour(k, p, mean, auto_pixel(k, src, p, a, slot, x, y), false);
}

// ---------------------------------------------------------------------------
// Auto-op statistics: one block of AK_STATS_THREADS per sample. For each of
// the sample's reduction ops in chain order, a reduction over the W×H image
// as it stands before the op; a sample with two stages also gets its first
// stage written out (so no pass nests one neighbourhood stage in another).

/// Equalize's LUT of one channel from its histogram (torchvision's float
/// path, PIL's step; the identity when the step is 0): written as bytes
/// c·256 + level of `out`.
AK_FN void equalize_lut(const u32* hist, u32 pixels, u32 c, AutoStat* out) {
    u32 last = 255u;
    while (last > 0u && hist[last] == 0u) --last;
    const u32 step = (pixels - hist[last]) / 255u;
    u32 cum = 0u;
    u32 word = 0u;
    for (u32 level = 0; level < 256u; ++level) {
        u32 v = level;
        if (step != 0u) {
            v = level == 0u ? 0u : (cum + step / 2u) / step;
            if (v > 255u) v = 255u;
        }
        cum += hist[level];
        word |= v << (8u * (level & 3u));
        if ((level & 3u) == 3u) {
            out->lut[(c * 256u + level) >> 2] = word;
            word = 0u;
        }
    }
}

/// The statistics of the reduction op `op` over the image `FROM_STAGE`
/// names (G or the first stage), into `s`. Called by every thread of the
/// block (it has barriers).
template <bool FROM_STAGE>
AK_FN void reduce_stage(const AutoCtx& c, u32 op, AutoStat* s, double* sums, float (*lows)[AK_STATS_THREADS],
                        float (*highs)[AK_STATS_THREADS], u32 (*hist)[256]) {
    const KernelPolicy& k = *c.k;
    const u32 plane = k.width * k.height;
    const u32 tid = threadIdx.x;
    for (u32 j = tid; j < 3u * 256u; j += blockDim.x) hist[j >> 8][j & 255u] = 0u;
    __syncthreads();
    double sum = 0.0;
    Rgb lo = {{3.0e38f, 3.0e38f, 3.0e38f}};
    Rgb hi = {{-3.0e38f, -3.0e38f, -3.0e38f}};
    for (u32 pixel = tid; pixel < plane; pixel += blockDim.x) {
        const u32 y = pixel / k.width;
        const u32 x = pixel - y * k.width;
        const Rgb rgb = auto_input<FROM_STAGE>(c, (i32)x, (i32)y);
        if (op == AK_AUTO_OP_CONTRAST) {
            sum += (double)(k.channels == 3u ? grayscale(rgb) : rgb.v[0]);
        } else {
#pragma unroll
            for (u32 ch = 0; ch < 3u; ++ch) {
                if (ch < k.channels) {
                    lo.v[ch] = fminf(lo.v[ch], rgb.v[ch]);
                    hi.v[ch] = fmaxf(hi.v[ch], rgb.v[ch]);
                    if (op == AK_AUTO_OP_EQUALIZE)
                        atomicAdd(&hist[ch][equalize_level(rgb.v[ch])], 1u);
                }
            }
        }
    }
    sums[tid] = sum;
#pragma unroll
    for (u32 ch = 0; ch < 3u; ++ch) {
        lows[ch][tid] = lo.v[ch];
        highs[ch][tid] = hi.v[ch];
    }
    __syncthreads();
    for (u32 stride = blockDim.x / 2u; stride > 0u; stride >>= 1) {
        if (tid < stride) {
            sums[tid] += sums[tid + stride];
#pragma unroll
            for (u32 ch = 0; ch < 3u; ++ch) {
                lows[ch][tid] = fminf(lows[ch][tid], lows[ch][tid + stride]);
                highs[ch][tid] = fmaxf(highs[ch][tid], highs[ch][tid + stride]);
            }
        }
        __syncthreads();
    }
    if (tid == 0u) {
        s->mean = (float)(sums[0] / (double)plane);
#pragma unroll
        for (u32 ch = 0; ch < 3u; ++ch) {
            s->lo[ch] = lows[ch][0];
            s->hi[ch] = highs[ch][0];
        }
    }
    if (op == AK_AUTO_OP_EQUALIZE && tid < k.channels) equalize_lut(hist[tid], plane, tid, s);
    // Later stages read these statistics (the barrier orders the block's
    // global writes before its later reads).
    __syncthreads();
}

// Two blocks per SM: lets ptxas use up to 128 registers (its own choice
// for this kernel spilled at 80).
extern "C" __global__ void __launch_bounds__(AK_STATS_THREADS, 2)
    augment_stats(const KernelPolicy* __restrict__ policy, StepArgs step,
                  const u8* __restrict__ pixels, SynthArgs synth,
                  const SampleParams* __restrict__ params, AutoArgs auto_args) {
    __shared__ double sums[AK_STATS_THREADS];
    __shared__ float lows[3][AK_STATS_THREADS];
    __shared__ float highs[3][AK_STATS_THREADS];
    __shared__ u32 hist[3][256];
    const KernelPolicy& k = *policy;
    const u32 i = blockIdx.x;
    // Every return and branch around a barrier is uniform across the block.
    if (i >= step.batch_size) return;
    const SampleParams p = params[i];
    if ((p.flags & AK_FLAG_AUTO) == 0u) return;
    const Source src = {pixels, synth};
    const AutoCtx c = auto_ctx(k, src, p, auto_args, i, auto_chain(p));
    if (c.ch.count == 0u) return;
    AutoStat* out = auto_args.stats[i].op;
    if (auto_op_is_reduction(c.ch.op0))
        reduce_stage<false>(c, c.ch.op0, out + c.ch.index0, sums, lows, highs, hist);
    if (c.ch.count < 2u) return;
    float* stage = auto_args.stage + (u64)i * k.channels * k.height * k.width;
    const u32 plane = k.width * k.height;
    for (u32 pixel = threadIdx.x; pixel < plane; pixel += blockDim.x) {
        const u32 y = pixel / k.width;
        const u32 x = pixel - y * k.width;
        const Rgb v = auto_stage<false>(c, 0u, (i32)x, (i32)y);
#pragma unroll
        for (u32 ch = 0; ch < 3u; ++ch)
            if (ch < k.channels) stage[ch * plane + pixel] = v.v[ch];
    }
    __syncthreads();
    if (auto_op_is_reduction(c.ch.op1))
        reduce_stage<true>(c, c.ch.op1, out + c.ch.index1, sums, lows, highs, hist);
}

/// Random erasing of the sample's own pixel (augment.rs `erase`, params.rs
/// `erased_value`): the last box containing (x, y) wins; its value v (output
/// units) becomes mean_c + std_c·v. Box indices are unrolled (registers).
AK_FN Rgb erase(const KernelPolicy& k, const StepArgs& step, const SampleParams& p, u32 x, u32 y,
                Rgb rgb) {
    if ((p.flags & AK_FLAG_ERASED) == 0u) return rgb;
    u32 found = AK_MAX_ERASE_BOXES;
#pragma unroll
    for (u32 b = 0; b < AK_MAX_ERASE_BOXES; ++b) {
        if (b < p.erase_count && x >= p.erase_boxes[b][0] && x < p.erase_boxes[b][2] &&
            y >= p.erase_boxes[b][1] && y < p.erase_boxes[b][3])
            found = b;
    }
    if (found == AK_MAX_ERASE_BOXES) return rgb;
    Key key;
    key.lo = step.seed_lo;
    key.hi = step.seed_hi;
    const u32 position = step.first_position + p.slot;
#pragma unroll
    for (u32 c = 0; c < 3u; ++c) {
        if (c < k.channels) {
            float v = k.erase_value;
            if (k.erase_mode == AK_ERASE_CHANNEL || k.erase_mode == AK_ERASE_PIXEL) {
                const u32 sub = k.erase_mode == AK_ERASE_PIXEL ? 2u * (y * k.width + x) + c / 2u
                                                               : 2u * found + c / 2u;
                const Words w = words(key, position, step.epoch, AK_SLOT_ERASE_VALUE, sub);
                v = (c % 2u == 0u) ? normal(w.w[0], w.w[1]) : normal(w.w[2], w.w[3]);
            }
            rgb.v[c] = k.mean[c] + k.std_[c] * v;
        }
    }
    return rgb;
}

/// The sample's own pixel as the mix sees it: augmented, then erased.
AK_FN Rgb erased_pixel(const KernelPolicy& k, const StepArgs& step, const Source& src,
                       const SampleParams& p, AutoArgs a, u32 slot, float mean, u32 x, u32 y) {
    return erase(k, step, p, x, y, augmented_pixel(k, src, p, a, slot, mean, x, y));
}

// ---------------------------------------------------------------------------
// Contrast reduction: one block of AK_CONTRAST_THREADS per sample.

extern "C" __global__ void __launch_bounds__(AK_CONTRAST_THREADS)
    augment_contrast(const KernelPolicy* __restrict__ policy, StepArgs step,
                     const u8* __restrict__ pixels, const float* __restrict__ gray_means,
                     SynthArgs synth, const SampleParams* __restrict__ params,
                     AutoArgs auto_args, float* __restrict__ means) {
    __shared__ double partial[AK_CONTRAST_THREADS];
    const KernelPolicy& k = *policy;
    const u32 i = blockIdx.x;
    // Every return before the barriers below is uniform across the block.
    if (i >= step.batch_size) return;
    const SampleParams p = params[i];
    if (!needs_contrast_mean(k, p)) {
        if (threadIdx.x == 0) means[i] = 0.0f;
        return;
    }
    const Source src = {pixels, synth};
    if (k.contrast_mean == AK_CONTRAST_MEAN_SOURCE) {
        if (threadIdx.x == 0) {
            float mean = source_gray_mean(k, src, gray_means, p);
            for (u32 slot = 0; slot < 4u; ++slot) {
                const u32 op = (p.colour_order >> (8u * slot)) & 0xffu;
                if (op == AK_OP_CONTRAST) break;
                if (op == AK_OP_BRIGHTNESS && (k.jitter_ops & (1u << AK_OP_BRIGHTNESS)) != 0u)
                    mean = clamp01(p.brightness * mean);
            }
            means[i] = mean;
        }
        return;
    }
    const u32 plane = k.width * k.height;
    double sum = 0.0;
    for (u32 pixel = threadIdx.x; pixel < plane; pixel += blockDim.x) {
        const u32 y = pixel / k.width;
        const u32 x = pixel - y * k.width;
        const Rgb rgb = colour(k, p, 0.0f, auto_pixel(k, src, p, auto_args, i, x, y), true);
        const float gray = k.channels == 3u ? grayscale(rgb) : rgb.v[0];
        sum += (double)gray;
    }
    partial[threadIdx.x] = sum;
    __syncthreads();
    for (u32 stride = blockDim.x / 2u; stride > 0u; stride >>= 1) {
        if (threadIdx.x < stride) partial[threadIdx.x] += partial[threadIdx.x + stride];
        __syncthreads();
    }
    if (threadIdx.x == 0) means[i] = (float)(partial[0] / (double)plane);
}

// ---------------------------------------------------------------------------
// Fused pixel pass: one thread per output pixel, all channels.

AK_FN void store(float* out, u64 at, float v) { out[at] = v; }
AK_FN void store(ak_half* out, u64 at, float v) { out[at] = ak_float2half_rn(v); }
AK_FN void store(ak_bfloat16* out, u64 at, float v) { out[at] = ak_float2bfloat16_rn(v); }

template <typename T>
static __device__ __forceinline__ void augment_pixels(const KernelPolicy* __restrict__ policy,
                                                      StepArgs step,
                                                      const u8* __restrict__ pixels,
                                                      const SynthArgs& synth,
                                                      const SampleParams* __restrict__ params,
                                                      AutoArgs auto_args,
                                                      const float* __restrict__ means,
                                                      T* __restrict__ out) {
    const KernelPolicy& k = *policy;
    const u32 plane = k.width * k.height;
    // The host checks that B·H·W fits in u32.
    const u32 t = blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= step.batch_size * plane) return;
    const u32 i = t / plane;
    const u32 pixel = t - i * plane;
    const u32 y = pixel / k.width;
    const u32 x = pixel - y * k.width;

    const Source src = {pixels, synth};
    const SampleParams p = params[i];
    const bool mixed = (p.flags & AK_FLAG_MIXED) != 0u;
    const bool cutmix = (p.flags & AK_FLAG_CUTMIX) != 0u;
    const bool in_box = cutmix && x >= p.cut_box[0] && x < p.cut_box[2] && y >= p.cut_box[1] &&
                        y < p.cut_box[3];
    // Two call sites of the fused chain, not three — the sample's own image
    // (the partner's in the cutmix box), then the partner's when mixup
    // blends — reading the parameters in place: with the auto ops and the
    // resized crop, three inlined copies spill registers. (One site in a
    // loop compiles faster, but ptxas then caps the pass at 64 registers and
    // spills 184 B.)
    const u32 first = in_box ? p.partner : i;
    Rgb value = erased_pixel(k, step, src, params[first], auto_args, first, means[first], x, y);
    if (!in_box && mixed && !cutmix) {
        const Rgb own = value;
        const Rgb other =
            erased_pixel(k, step, src, params[p.partner], auto_args, p.partner, means[p.partner], x, y);
#pragma unroll
        for (u32 c = 0; c < 3u; ++c)
            value.v[c] = own.v[c] * p.lambda + other.v[c] * (1.0f - p.lambda);
    }
    const u32 channels = k.channels;
    const u64 base = (u64)i * channels * plane;
#pragma unroll
    for (u32 c = 0; c < 3u; ++c) {
        if (c < channels) {
            const float normalised = (value.v[c] - k.mean[c]) / k.std_[c];
            const u64 at = k.out_layout == AK_LAYOUT_NCHW ? (u64)c * plane + pixel
                                                          : (u64)pixel * channels + c;
            store(out, base + at, normalised);
        }
    }
}

#define AK_PIXELS_KERNEL(NAME, T)                                                          \
    extern "C" __global__ void __launch_bounds__(AK_PIXELS_THREADS)                        \
        NAME(const KernelPolicy* __restrict__ policy, StepArgs step,                       \
             const u8* __restrict__ pixels, SynthArgs synth,                               \
             const SampleParams* __restrict__ params, AutoArgs auto_args,                  \
             const float* __restrict__ means, T* __restrict__ out) {                       \
        augment_pixels<T>(policy, step, pixels, synth, params, auto_args, means, out);     \
    }

AK_PIXELS_KERNEL(augment_pixels_f32, float)
AK_PIXELS_KERNEL(augment_pixels_f16, ak_half)
AK_PIXELS_KERNEL(augment_pixels_bf16, ak_bfloat16)
