// pixel.cuh — one pixel of a sample before its auto ops and mixing: the
// texel sources (dataset image, interpolation blend, PCA), the geometry
// through the inverse affine (nearest / bilinear, window fill, the resized
// crop's resize), and the colour-jitter ops in the sample's order. Rust twin:
// src/cpu/pixel.rs. Included by augment.cu, after params.cuh.

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

/// The four bilinear taps around a sampling point in pixel-corner
/// coordinates (CPU: `bilinear_taps`): tap t (0..4) is pixel
/// (x0 + (t & 1), y0 + (t >> 1)) with weight wx·wy (`bilinear_tap`).
struct BilinearTaps {
    i32 x0;
    i32 y0;
    float ax;
    float ay;
};

AK_FN BilinearTaps bilinear_taps(float sx, float sy) {
    const float fx = sx - 0.5f;
    const float fy = sy - 0.5f;
    const float x0f = floorf(fx);
    const float y0f = floorf(fy);
    const BilinearTaps b = {ak_f2i(x0f), ak_f2i(y0f), fx - x0f, fy - y0f};
    return b;
}

/// Tap `tap` of `b`: writes its pixel, returns its weight.
AK_FN float bilinear_tap(const BilinearTaps& b, u32 tap, i32* tx, i32* ty) {
    *tx = b.x0 + (i32)(tap & 1u);
    *ty = b.y0 + (i32)(tap >> 1);
    return ((tap & 1u) ? b.ax : (1.0f - b.ax)) * ((tap >> 1) ? b.ay : (1.0f - b.ay));
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
    const BilinearTaps b = bilinear_taps(cx, cy);
    float mask = 0.0f;
#pragma unroll
    for (u32 tap = 0; tap < 4u; ++tap) {
        i32 tx, ty;
        const float weight = bilinear_tap(b, tap, &tx, &ty);
        if (tx >= 0 && tx < w && ty >= 0 && ty < h) mask += weight;
    }
#pragma unroll
    for (u32 c = 0; c < 3u; ++c) {
        if (c >= k.channels) continue;
        float acc = 0.0f;
#pragma unroll 1
        for (u32 tap = 0; tap < 4u; ++tap) {
            i32 tx, ty;
            const float weight = bilinear_tap(b, tap, &tx, &ty);
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
    const BilinearTaps b = bilinear_taps(sx, sy);
    float mask = 0.0f;
#pragma unroll
    for (u32 tap = 0; tap < 4u; ++tap) {
        i32 tx, ty;
        const float weight = bilinear_tap(b, tap, &tx, &ty);
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
