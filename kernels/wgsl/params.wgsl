// params.wgsl — one sample's parameters (the augment_params pass): its source
// (shuffled index or synthetic draw), crop / flips / affine composed into one
// inverse map, jitter factors and order, random-erasing boxes, mix partner,
// λ and cutmix box, and the auto ops with their magnitudes (with the
// error-free float helpers torch's linspace tables need). Rust twin:
// src/params.rs.

struct StepContext {
    key: vec2<u32>,
    epoch: u32,
    first_position: u32,
    batch_size: u32,
    subset_len: u32,
    shuffle_keys: array<u32, 6>,
}

fn step_context() -> StepContext {
    let key = vec2<u32>(step_args.seed_lo, step_args.seed_hi);
    let a = words(key, 0u, step_args.epoch, SLOT_SHUFFLE, 0u);
    let b = words(key, 1u, step_args.epoch, SLOT_SHUFFLE, 0u);
    return StepContext(
        key,
        step_args.epoch,
        step_args.first_position,
        step_args.batch_size,
        step_args.subset_len,
        array<u32, 6>(a.x, a.y, a.z, a.w, b.x, b.y),
    );
}

fn label_of(image: u32) -> u32 {
    return resident_meta[resident.labels_at + image];
}

fn dataset_index(ctx: StepContext, i: u32) -> u32 {
    let position = ctx.first_position + i;
    let shuffled = shuffled_position(position, ctx.subset_len, ctx.shuffle_keys);
    return resident_meta[shuffled];
}

// Where the sample at batch slot i comes from (`params.rs` `SampleSource`).
struct SampleSource {
    dataset_index: u32,
    label: u32,
    synthetic: bool,
    synth_partner: u32,
    synth_t: f32,
    // Drawn from the synthetic pool (dataset_index is past the real set).
    pool: bool,
}

// The synthetic pool draw (`params.rs` `pool_draw`, SEMANTICS.md §9a): a
// coin of probability synth_p, then a uniform pool index; the resident index
// of the pool image, or 0xffffffff when the source stays the data set's.
fn pool_draw(key: vec2<u32>, position: u32, epoch: u32) -> u32 {
    if policy.pool_len == 0u {
        return 0xffffffffu;
    }
    let w = words(key, position, epoch, SLOT_SYNTHETIC_POOL, 0u);
    if !coin(policy.synth_p, w.x) {
        return 0xffffffffu;
    }
    return policy.pool_first + bounded(policy.pool_len, words(key, position, epoch, SLOT_SYNTHETIC_POOL, 1u));
}

// The shuffled subset image, or a synthetic sample (SEMANTICS.md §9) or a
// pool image (§9a) drawn in its place.
fn sample_source(ctx: StepContext, i: u32) -> SampleSource {
    let image = dataset_index(ctx, i);
    let label = label_of(image);
    var s = SampleSource(image, label, false, image, 0.0, false);
    if policy.synth_mode == SYNTH_POOL {
        let drawn = pool_draw(ctx.key, ctx.first_position + i, ctx.epoch);
        if drawn != 0xffffffffu {
            s.dataset_index = drawn;
            s.synth_partner = drawn;
            s.label = label_of(drawn);
            s.pool = true;
        }
        return s;
    }
    if policy.synth_mode == SYNTH_OFF {
        return s;
    }
    let position = ctx.first_position + i;
    let w = words(ctx.key, position, ctx.epoch, SLOT_SYNTHETIC, 0u);
    if !coin(policy.synth_p, w.x) {
        return s;
    }
    s.synthetic = true;
    if policy.synth_mode == SYNTH_PCA {
        let class_words = words(ctx.key, position, ctx.epoch, SLOT_SYNTHETIC_CLASS, 0u);
        if policy.synth_class_choice == SYNTH_CLASS_UNIFORM {
            let at = bounded(resident.synth_present, class_words);
            s.label = resident_meta[resident.synth_present_at + at];
        } else {
            let at = bounded(ctx.subset_len, class_words);
            s.label = label_of(resident_meta[at]);
        }
    } else {
        let first = resident_meta[resident.synth_offsets_at + label];
        let count = resident_meta[resident.synth_offsets_at + label + 1u] - first;
        let pick = bounded(count, words(ctx.key, position, ctx.epoch, SLOT_SYNTHETIC_PARTNER, 0u));
        s.synth_partner = resident_meta[resident.synth_members_at + first + pick];
        s.synth_t = unit(w.z);
    }
    return s;
}

// Index in `means` of coefficient j of batch slot `slot` (after the batch's
// contrast means).
fn coefficient_at(slot: u32, j: u32) -> u32 {
    return step_args.batch_size + slot * policy.synth_components + j;
}

// σ_j·z_j of a synthetic PCA sample (zeros otherwise), for every component.
fn write_synth_coefficients(ctx: StepContext, p: SampleParams) {
    let k = policy.synth_components;
    let pca = policy.synth_mode == SYNTH_PCA && (p.flags & FLAG_SYNTHETIC) != 0u;
    let position = ctx.first_position + p.slot;
    var w = vec4<u32>(0u);
    for (var j = 0u; j < k; j++) {
        var a = 0.0;
        if pca {
            var z = 0.0;
            if j % 2u == 0u {
                w = words(ctx.key, position, ctx.epoch, SLOT_SYNTHETIC_Z, j / 2u);
                z = normal(w.x, w.y);
            } else {
                z = normal(w.z, w.w);
            }
            a = bitcast<f32>(resident_meta[resident.synth_sigmas_at + p.label_a * k + j]) * z;
        }
        means[coefficient_at(p.slot, j)] = a;
    }
}

fn geometry(key: vec2<u32>, position: u32, epoch: u32, p: ptr<function, SampleParams>) {
    let w = f32(policy.width);
    let h = f32(policy.height);
    let coins = words(key, position, epoch, SLOT_GEOMETRY_COINS, 0u);

    var window = vec4<i32>(0, 0, i32(policy.width), i32(policy.height));
    var origin_x = 0.0;
    var origin_y = 0.0;
    if policy.crop_mode != CROP_NONE && coin(policy.crop_p, coins.x) {
        (*p).flags |= FLAG_CROPPED;
        if policy.crop_mode == CROP_PAD {
            let positions = 2u * policy.crop_padding + 1u;
            let ox = i32(bounded(positions, words(key, position, epoch, SLOT_CROP_X, 0u)));
            let oy = i32(bounded(positions, words(key, position, epoch, SLOT_CROP_Y, 0u)));
            let x0 = ox - i32(policy.crop_padding);
            let y0 = oy - i32(policy.crop_padding);
            window = vec4<i32>(x0, y0, x0 + i32(policy.width), y0 + i32(policy.height));
            origin_x = f32(x0);
            origin_y = f32(y0);
        } else {
            // The pixel pass resizes the box: the map stops at crop space.
            let b = resized_crop_box(key, position, epoch);
            window = vec4<i32>(b.x, b.y, b.x + b.z, b.y + b.w);
        }
    }

    let hflip = coin(policy.hflip_p, coins.y);
    let vflip = coin(policy.vflip_p, coins.z);
    if hflip {
        (*p).flags |= FLAG_HFLIP;
    }
    if vflip {
        (*p).flags |= FLAG_VFLIP;
    }

    var cs = 1.0;
    var sn = 0.0;
    var tx = 0.0;
    var ty = 0.0;
    if policy.affine_on != 0u && coin(policy.affine_p, coins.w) {
        (*p).flags |= FLAG_AFFINE;
        let a = words(key, position, epoch, SLOT_AFFINE, 0u);
        let angle = uniform_draw(policy.degrees_lo, policy.degrees_hi, a.x);
        let max_dx = policy.translate_x * w;
        let max_dy = policy.translate_y * h;
        tx = uniform_draw(-max_dx, max_dx, a.y);
        ty = uniform_draw(-max_dy, max_dy, a.z);
        if policy.translate_whole != 0u {
            tx = round(tx);
            ty = round(ty);
        }
        let scale = uniform_draw(policy.scale_lo, policy.scale_hi, a.w);
        let theta = angle * bitcast<f32>(DEG_TO_RAD_BITS);
        cs = cos(theta) / scale;
        sn = sin(theta) / scale;
    }
    let cx = 0.5 * w;
    let cy = 0.5 * h;
    let ux = cx + tx;
    let uy = cy + ty;
    let qx0 = cx - (cs * ux - sn * uy);
    let qy0 = cy - (sn * ux + cs * uy);
    var m = array<f32, 6>(cs, -sn, qx0, sn, cs, qy0);

    if hflip {
        m = array<f32, 6>(-m[0], -m[1], w - m[2], m[3], m[4], m[5]);
    }
    if vflip {
        m = array<f32, 6>(m[0], m[1], m[2], -m[3], -m[4], h - m[5]);
    }
    m = array<f32, 6>(m[0], m[1], origin_x + m[2], m[3], m[4], origin_y + m[5]);
    (*p).inverse_affine = m;
    (*p).window = window;
}

// [left, top, width, height] in source pixels.
fn resized_crop_box(key: vec2<u32>, position: u32, epoch: u32) -> vec4<i32> {
    let width = i32(policy.width);
    let height = i32(policy.height);
    let area = f32(policy.width * policy.height);
    for (var t = 0u; t < 10u; t++) {
        let d = words(key, position, epoch, SLOT_RESIZED_CROP, t);
        let target_area = area * uniform_draw(policy.resized_area_lo, policy.resized_area_hi, d.x);
        let aspect = exp(uniform_draw(policy.resized_log_ratio_lo, policy.resized_log_ratio_hi, d.y));
        let cw = i32(round(sqrt(target_area * aspect)));
        let ch = i32(round(sqrt(target_area / aspect)));
        if 0 < cw && cw <= width && 0 < ch && ch <= height {
            let top = bounded(u32(height - ch + 1), words(key, position, epoch, SLOT_RESIZED_CROP_TOP, t));
            let left = bounded(u32(width - cw + 1), words(key, position, epoch, SLOT_RESIZED_CROP_LEFT, t));
            return vec4<i32>(i32(left), i32(top), cw, ch);
        }
    }
    let in_ratio = f32(policy.width) / f32(policy.height);
    var cw = width;
    var ch = height;
    if in_ratio < policy.resized_ratio_lo {
        ch = i32(round(f32(width) / policy.resized_ratio_lo));
    } else if in_ratio > policy.resized_ratio_hi {
        cw = i32(round(f32(height) * policy.resized_ratio_hi));
    }
    cw = clamp(cw, 1, width);
    ch = clamp(ch, 1, height);
    return vec4<i32>((width - cw) / 2, (height - ch) / 2, cw, ch);
}

// Random erasing (params.rs `erasing`): coin, count, up to 10 attempts per box.
fn erasing(key: vec2<u32>, position: u32, epoch: u32, p: ptr<function, SampleParams>) {
    if policy.erase_mode == ERASE_OFF {
        return;
    }
    let e = words(key, position, epoch, SLOT_ERASE, 0u);
    if !coin(policy.erase_p, e.x) {
        return;
    }
    let lo = policy.erase_count_lo;
    let hi = policy.erase_count_hi;
    var count = lo;
    if lo != hi {
        count = lo + bounded(hi - lo + 1u, words(key, position, epoch, SLOT_ERASE, 1u));
    }
    let w = i32(policy.width);
    let h = i32(policy.height);
    let area = f32(policy.width * policy.height);
    var placed = 0u;
    for (var b = 0u; b < count; b++) {
        for (var t = 0u; t < 10u; t++) {
            let sub = b * 16u + t;
            let d = words(key, position, epoch, SLOT_ERASE_BOX, sub);
            let target_area = uniform_draw(policy.erase_area_lo, policy.erase_area_hi, d.x) * area / f32(count);
            let aspect = exp(uniform_draw(policy.erase_log_ratio_lo, policy.erase_log_ratio_hi, d.y));
            let bh = i32(round(sqrt(target_area * aspect)));
            let bw = i32(round(sqrt(target_area / aspect)));
            if bw < w && bh < h {
                let top = bounded(u32(h - bh + 1), words(key, position, epoch, SLOT_ERASE_BOX, ERASE_TOP_SUB + sub));
                let left = bounded(u32(w - bw + 1), words(key, position, epoch, SLOT_ERASE_BOX, ERASE_LEFT_SUB + sub));
                (*p).erase_boxes[placed] = vec4<u32>(left, top, left + u32(bw), top + u32(bh));
                placed += 1u;
                break;
            }
        }
    }
    (*p).erase_count = placed;
    if placed > 0u {
        (*p).flags |= FLAG_ERASED;
    }
}

fn jitter(key: vec2<u32>, position: u32, epoch: u32, p: ptr<function, SampleParams>) {
    if policy.jitter_ops == 0u {
        return;
    }
    let j = words(key, position, epoch, SLOT_JITTER, 0u);
    if !coin(policy.jitter_p, j.x) {
        return;
    }
    (*p).flags |= FLAG_JITTER;
    if (policy.jitter_ops & (1u << OP_BRIGHTNESS)) != 0u {
        (*p).brightness = uniform_draw(policy.brightness_lo, policy.brightness_hi, j.y);
    }
    if (policy.jitter_ops & (1u << OP_CONTRAST)) != 0u {
        (*p).contrast = uniform_draw(policy.contrast_lo, policy.contrast_hi, j.z);
    }
    if (policy.jitter_ops & (1u << OP_SATURATION)) != 0u {
        (*p).saturation = uniform_draw(policy.saturation_lo, policy.saturation_hi, j.w);
    }
    if (policy.jitter_ops & (1u << OP_HUE)) != 0u {
        let hw = words(key, position, epoch, SLOT_JITTER_HUE, 0u);
        (*p).hue = uniform_draw(policy.hue_lo, policy.hue_hi, hw.x);
    }
    let order = bounded(24u, words(key, position, epoch, SLOT_JITTER_ORDER, 0u));
    (*p).colour_order = permutation_of_four(order);
}

fn permutation_of_four(index: u32) -> u32 {
    var remaining = array<u32, 4>(0u, 1u, 2u, 3u);
    var len = 4u;
    var rest = index;
    var packed = 0u;
    var radix = 6u;
    for (var o = 0u; o < 4u; o++) {
        let pick = rest / radix;
        rest = rest % radix;
        packed |= remaining[pick] << (8u * o);
        for (var j = pick; j + 1u < len; j++) {
            remaining[j] = remaining[j + 1u];
        }
        len -= 1u;
        if len > 0u {
            radix /= len;
        }
    }
    return packed;
}

fn mix_params(ctx: StepContext, i: u32, p: ptr<function, SampleParams>) {
    if policy.mix_ops == 0u {
        return;
    }
    let batch = ctx.batch_size;
    let partner = batch - 1u - i;
    var owner = ctx.first_position + i;
    if policy.mix_mode == MIX_MODE_BATCH {
        owner = ctx.first_position;
    } else if policy.mix_mode == MIX_MODE_PAIR {
        owner = ctx.first_position + min(i, partner);
    }
    let epoch = ctx.epoch;
    let key = ctx.key;
    let c = words(key, owner, epoch, SLOT_MIX, 0u);
    if !coin(policy.mix_p, c.x) {
        return;
    }
    var cutmix = false;
    if policy.mix_ops == MIX_CUTMIX {
        cutmix = true;
    } else if policy.mix_ops == MIX_MIXUP {
        cutmix = false;
    } else {
        cutmix = coin(policy.switch_p, c.y);
    }
    (*p).flags |= FLAG_MIXED;
    (*p).partner = partner;
    (*p).label_b = sample_source(ctx, partner).label;
    if cutmix {
        (*p).flags |= FLAG_CUTMIX;
        let lambda = beta(policy.cutmix_alpha, key, owner, epoch, SLOT_BETA_CUTMIX);
        // cutmix_box: [x0, y0, x1, y1] and the corrected λ.
        let hh = i32(policy.height);
        let ww = i32(policy.width);
        let ratio = sqrt(1.0 - lambda);
        let cut_h = i32(f32(policy.height) * ratio);
        let cut_w = i32(f32(policy.width) * ratio);
        let cy = i32(bounded(policy.height, words(key, owner, epoch, SLOT_CUTMIX_CENTRE_Y, 0u)));
        let cx = i32(bounded(policy.width, words(key, owner, epoch, SLOT_CUTMIX_CENTRE_X, 0u)));
        let y0 = clamp(cy - cut_h / 2, 0, hh);
        let y1 = clamp(cy + cut_h / 2, 0, hh);
        let x0 = clamp(cx - cut_w / 2, 0, ww);
        let x1 = clamp(cx + cut_w / 2, 0, ww);
        let area = f32((y1 - y0) * (x1 - x0));
        let corrected = 1.0 - area / f32(policy.height * policy.width);
        (*p).cut_box = vec4<u32>(u32(x0), u32(y0), u32(x1), u32(y1));
        if policy.correct_lambda != 0u {
            (*p).lambda = corrected;
        } else {
            (*p).lambda = lambda;
        }
    } else {
        (*p).lambda = beta(policy.mixup_alpha, key, owner, epoch, SLOT_BETA_MIXUP);
    }
}

// The high 12 significant bits of x (the rest, x − high, is exact in f32).
fn split_high(x: f32) -> f32 {
    return bitcast<f32>(bitcast<u32>(x) & 0xfffff000u);
}

// x + 0 with a zero the compiler cannot see (`Resident`'s padding, always
// 0): the error-free transformations below are exact only as written, and
// a shader compiler treating floats as associative (NIR folds
// (p + c) − p to c) would cancel their error terms.
fn opaque(x: f32) -> f32 {
    return x + bitcast<f32>(resident._pad0);
}

// a·b as p + e exactly (p = the rounded product; Dekker, mask splits).
fn two_product(a: f32, b: f32) -> vec2<f32> {
    let a_hi = split_high(a);
    let a_lo = opaque(a - a_hi);
    let b_hi = split_high(b);
    let b_lo = opaque(b - b_hi);
    let p = opaque(a * b);
    let e = (((opaque(a_hi * b_hi) - p) + a_hi * b_lo) + a_lo * b_hi) + a_lo * b_lo;
    return vec2<f32>(p, e);
}

// a / b correctly rounded (WGSL's division may be a reciprocal multiply,
// 2.5 ulp): the device quotient corrected by its exact residual.
fn exact_div(a: f32, b: f32) -> f32 {
    let q = a / b;
    let pe = two_product(q, b);
    let r = opaque(a - pe.x) - pe.y;
    return q + r / b;
}

// a·b + c with one rounding (WGSL's `fma` may be unfused): Dekker's exact
// product p + e (mask splits, so every partial product is exact whether or
// not the compiler contracts), then p + c by TwoSum and the error terms.
fn exact_fma(a: f32, b: f32, c: f32) -> f32 {
    let pe = two_product(a, b);
    let p = pe.x;
    let e = pe.y;
    let s = opaque(p + c);
    let bb = opaque(s - p);
    let t = (p - opaque(s - bb)) + (c - bb);
    return s + (t + e);
}

// torch.linspace(start, end, steps)[i] in f32 as ATen's vectorised CPU
// kernel computes it (`params.rs` `linspace`): fused multiply-adds, the
// second half counting back from `end`.
fn linspace_at(start: f32, end: f32, steps: u32, i: u32) -> f32 {
    let step = exact_div(end - start, f32(steps - 1u));
    if i < steps / 2u {
        return exact_fma(step, f32(i), start);
    }
    return exact_fma(-step, f32(steps - 1u - i), end);
}

// Whether torchvision negates the op's magnitude with probability ½.
fn auto_op_signed(op: u32) -> bool {
    return op >= AUTO_OP_SHEAR_X && op <= AUTO_OP_SHARPNESS;
}

fn auto_op_is_geometry(op: u32) -> bool {
    return op >= AUTO_OP_SHEAR_X && op <= AUTO_OP_ROTATE;
}

// The unsigned magnitude of `op` at magnitude bin `bin` (torchvision's
// `_AUGMENTATION_SPACE`, scaled by the policy's maxima).
fn auto_magnitude(op: u32, bin: u32) -> f32 {
    let bins = policy.auto_num_bins;
    switch op {
        case 1u, 2u: {
            return linspace_at(0.0, policy.auto_shear_max, bins, bin);
        }
        case 3u: {
            return linspace_at(0.0, policy.auto_translate_max_x, bins, bin);
        }
        case 4u: {
            return linspace_at(0.0, policy.auto_translate_max_y, bins, bin);
        }
        case 5u: {
            return linspace_at(0.0, policy.auto_rotate_max, bins, bin);
        }
        case 6u, 7u, 8u, 9u: {
            return linspace_at(0.0, policy.auto_enhance_max, bins, bin);
        }
        case 10u: {
            // A correctly rounded f32 quotient is Rust's f64 quotient rounded to f32.
            let divisor = exact_div(f32(bins - 1u), policy.auto_posterize_range);
            return round(8.0 - exact_div(f32(bin), divisor));
        }
        case 11u: {
            return linspace_at(1.0, 0.0, bins, bin);
        }
        default: {
            return 0.0;
        }
    }
}

// a ∘ b of two inverse maps (output → source): q = a(b(o)).
fn compose_maps(a: array<f32, 6>, b: array<f32, 6>) -> array<f32, 6> {
    return array<f32, 6>(
        a[0] * b[0] + a[1] * b[3],
        a[0] * b[1] + a[1] * b[4],
        a[0] * b[2] + a[1] * b[5] + a[2],
        a[3] * b[0] + a[4] * b[3],
        a[3] * b[1] + a[4] * b[4],
        a[3] * b[2] + a[4] * b[5] + a[5],
    );
}

// The inverse map of one auto geometry op with signed magnitude m, in
// pixel-corner coordinates (torchvision's centres: shear about the top-left
// corner, rotation about the image centre).
fn auto_op_map(op: u32, m: f32) -> array<f32, 6> {
    switch op {
        case 1u: {
            return array<f32, 6>(1.0, m, 0.0, 0.0, 1.0, 0.0);
        }
        case 2u: {
            return array<f32, 6>(1.0, 0.0, 0.0, m, 1.0, 0.0);
        }
        case 3u: {
            return array<f32, 6>(1.0, 0.0, -trunc(m), 0.0, 1.0, 0.0);
        }
        case 4u: {
            return array<f32, 6>(1.0, 0.0, 0.0, 0.0, 1.0, -trunc(m));
        }
        default: {
            let theta = m * bitcast<f32>(DEG_TO_RAD_BITS);
            let cs = cos(theta);
            let sn = sin(theta);
            let cx = 0.5 * f32(policy.width);
            let cy = 0.5 * f32(policy.height);
            return array<f32, 6>(cs, -sn, cx - (cs * cx - sn * cy), sn, cs, cy - (sn * cx + cs * cy));
        }
    }
}

// TrivialAugment / RandAugment: the ops (ids packed in `auto_ops`), their
// signed magnitudes, and the geometry ops folded into `auto_affine`.
fn auto_params(key: vec2<u32>, position: u32, epoch: u32, p: ptr<function, SampleParams>) {
    if policy.auto_mode == AUTO_OFF {
        return;
    }
    (*p).flags |= FLAG_AUTO;
    var ops = 0xffffffffu;
    var magnitudes = vec4<f32>(0.0);
    var map = array<f32, 6>(1.0, 0.0, 0.0, 0.0, 1.0, 0.0);
    for (var k = 0u; k < policy.auto_num_ops; k++) {
        let op = bounded(AUTO_OP_COUNT, words(key, position, epoch, SLOT_AUTO_OP, k));
        var bin = policy.auto_magnitude_bin;
        if policy.auto_mode == AUTO_TRIVIAL {
            bin = bounded(policy.auto_num_bins, words(key, position, epoch, SLOT_AUTO_BIN, k));
        }
        var m = auto_magnitude(op, bin);
        if auto_op_signed(op) && unit(words(key, position, epoch, SLOT_AUTO_SIGN, k).x) < 0.5 {
            m = -m;
        }
        ops = (ops & ~(0xffu << (8u * k))) | (op << (8u * k));
        magnitudes[k] = m;
        if auto_op_is_geometry(op) {
            // This op's map runs on the earlier ops' output: source = earlier(this(o)).
            map = compose_maps(map, auto_op_map(op, m));
        }
    }
    (*p).auto_ops = ops;
    (*p).auto_magnitudes = magnitudes;
    (*p).auto_affine = map;
}
