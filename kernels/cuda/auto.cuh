// auto.cuh — the TrivialAugment / RandAugment ops on the pixels: the
// sample's chain of stages, each stage at one grid point, and the
// reductions (Contrast mean, AutoContrast min/max, Equalize LUT) that
// augment_stats runs over a stage. Rust twin: src/cpu/auto.rs. Included by
// augment.cu, after pixel.cuh.
//
// A sample's ops become at most two stages on the W×H grid (identity ops
// vanish, a second geometry op is already folded into auto_affine):
// pointwise (statistics of a reduction op included), sharpness (3×3 over
// the stage before) or the geometry stage (resampling the stage before
// through auto_affine, auto_fill outside). The first stage reads G, the
// existing geometry. With two stages, augment_stats writes the first
// stage's image out and the second reads it there, so no pass nests one
// neighbourhood of taps in another (nesting spilled: docs/PERFORMANCE.md,
// "Kernel shape decisions"); the values are the same as the CPU's literal
// per-pixel chain.

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
/// than linearly with the inlined copies in a kernel (docs/PERFORMANCE.md,
/// "Kernel shape decisions").
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
    // The first tap (and, bilinear, the fractions): one BilinearTaps serves
    // all three tap patterns.
    BilinearTaps b = {x, y, 0.0f, 0.0f};
    if (geometry) {
        const float* a = c.p->auto_affine;
        const float px = (float)x + 0.5f;
        const float py = (float)y + 0.5f;
        const float sx = a[0] * px + a[1] * py + a[2];
        const float sy = a[3] * px + a[4] * py + a[5];
        if (bilinear) {
            b = bilinear_taps(sx, sy);
            taps = 4u;
        } else {
            b.x0 = ak_f2i(floorf(sx));
            b.y0 = ak_f2i(floorf(sy));
        }
    } else if (sharpen) {
        b.x0 = x - 1;
        b.y0 = y - 1;
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
            tx = b.x0 + (i32)(tap % 3u);
            ty = b.y0 + (i32)(tap / 3u);
            weight = tap == 4u ? 5.0f / 13.0f : 1.0f / 13.0f;
        } else if (bilinear) {
            weight = bilinear_tap(b, tap, &tx, &ty);
        } else {
            tx = b.x0;
            ty = b.y0;
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
