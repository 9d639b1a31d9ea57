// params.cuh — one sample's parameters (the augment_params pass): its source
// (shuffled index or synthetic draw), crop / flips / affine composed into one
// inverse map, jitter factors and order, the auto ops with their magnitudes,
// random-erasing boxes, mix partner, λ and cutmix box. Rust twin:
// src/params.rs. Included by augment.cu, after shuffle.cuh.

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
