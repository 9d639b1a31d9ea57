// augkit CUDA kernels: the four passes of one augmentation step (the pixel
// pass in three output dtypes), one translation unit.
//
// What it computes (definition: docs/SEMANTICS.md). Each header it includes
// transcribes, line for line, the Rust file of the same name: abi.cuh ↔
// src/kernel_args.rs, philox.cuh ↔ src/philox.rs, draws.cuh ↔ src/draws.rs,
// shuffle.cuh ↔ src/shuffle.rs, params.cuh ↔ src/params.rs, pixel.cuh ↔
// src/cpu/pixel.rs, auto.cuh ↔ src/cpu/auto.rs; this file keeps the
// composition (src/cpu/augment.rs `augmented_pixel`, `erase`), the mix, the
// store and the entry points. The header list, in include order, is
// kernels/cuda/sources.rs (NVRTC, the disk cache's digest, the host build).
//
// The passes:
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
// Bench:  cargo bench --bench cuda                (on a GPU; skips without one)

#include "prelude.cuh"
#include "abi.cuh"
#include "philox.cuh"
#include "draws.cuh"
#include "shuffle.cuh"
#include "params.cuh"
#include "pixel.cuh"
#include "auto.cuh"

// ---------------------------------------------------------------------------
// Parameters pass.

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
// The fused chain of one pixel: geometry, auto ops, colour, erasing.

AK_FN Rgb augmented_pixel(const KernelPolicy& k, const Source& src, const SampleParams& p,
                          AutoArgs a, u32 slot, float mean, u32 x, u32 y) {
    return colour(k, p, mean, auto_pixel(k, src, p, a, slot, x, y), false);
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
// Auto-op statistics: one block of AK_STATS_THREADS per sample (reduce_stage
// in auto.cuh).

// Two blocks per SM: lets ptxas use up to 128 registers (its own choice
// spilled: docs/PERFORMANCE.md, "Kernel shape decisions").
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
    // resized crop, three inlined copies spill registers, and one site in a
    // loop spills too (docs/PERFORMANCE.md, "Kernel shape decisions").
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
