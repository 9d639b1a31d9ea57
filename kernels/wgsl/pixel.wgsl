// pixel.wgsl — one pixel of a sample before its auto ops and mixing: the
// texel sources (dataset bytes, interpolation blend, PCA), the geometry
// through the inverse affine (nearest / bilinear, window fill, the resized
// crop's resize), and the colour-jitter ops in the sample's order. Rust twin:
// src/cpu/pixel.rs.

// Byte `offset` (within one image) of dataset image `image`, in [0, 1].
fn dataset_byte(image: u32, offset: u32) -> f32 {
    let b = image * resident.image_elems + offset;
    let word = b >> 2u;
    let chunk = word / resident.chunk_words;
    let at = word - chunk * resident.chunk_words;
    var v = 0u;
    switch chunk {
        case 0u: {
            v = data0[at];
        }
        case 1u: {
            v = data1[at];
        }
        default: {
            v = data2[at];
        }
    }
    return f32((v >> ((b & 3u) * 8u)) & 0xffu) / 255.0;
}

// Channel c of source pixel (x, y) of the sample's image: a dataset image,
// or the synthetic image it stands for (SEMANTICS.md §9).
fn texel(p: SampleParams, c: u32, x: i32, y: i32) -> f32 {
    let offset = (c * policy.height + u32(y)) * policy.width + u32(x);
    if !HAS_SYNTHETIC || (p.flags & FLAG_SYNTHETIC) == 0u {
        return dataset_byte(p.dataset_index, offset);
    }
    if policy.synth_mode == SYNTH_INTERPOLATE {
        let a = dataset_byte(p.dataset_index, offset);
        let b = dataset_byte(p.synth_partner, offset);
        return (1.0 - p.synth_t) * a + p.synth_t * b;
    }
    let d = resident.image_elems;
    let k = policy.synth_components;
    let cls = p.label_a;
    var v = bitcast<f32>(resident_meta[resident.synth_means_at + cls * d + offset]);
    for (var j = 0u; j < k; j++) {
        let u = bitcast<f32>(resident_meta[resident.synth_basis_at + (cls * k + j) * d + offset]);
        v += means[coefficient_at(p.slot, j)] * u;
    }
    return clamp01(v);
}

// The mean grayscale of the sample's source image (`source` contrast mode).
fn source_gray_mean(p: SampleParams) -> f32 {
    let gray = resident.means_at;
    if !HAS_SYNTHETIC || (p.flags & FLAG_SYNTHETIC) == 0u {
        return bitcast<f32>(resident_meta[gray + p.dataset_index]);
    }
    if policy.synth_mode == SYNTH_INTERPOLATE {
        let a = bitcast<f32>(resident_meta[gray + p.dataset_index]);
        let b = bitcast<f32>(resident_meta[gray + p.synth_partner]);
        return (1.0 - p.synth_t) * a + p.synth_t * b;
    }
    return bitcast<f32>(resident_meta[resident.synth_gray_at + p.label_a]);
}

fn sample_point(p: SampleParams, x: u32, y: u32) -> vec2<f32> {
    let m = p.inverse_affine;
    let px = f32(x) + 0.5;
    let py = f32(y) + 0.5;
    return vec2<f32>(m[0] * px + m[1] * py + m[2], m[3] * px + m[4] * py + m[5]);
}

// The four bilinear taps around sampling point s in pixel-corner
// coordinates (align_corners = False; CPU: `bilinear_taps`), in its order:
// tap t is pixel (x[t], y[t]) with weight w[t].
struct BilinearTaps {
    x: array<i32, 4>,
    y: array<i32, 4>,
    w: array<f32, 4>,
}

fn bilinear_taps(s: vec2<f32>) -> BilinearTaps {
    let fx = s.x - 0.5;
    let fy = s.y - 0.5;
    let x0f = floor(fx);
    let y0f = floor(fy);
    let ax = fx - x0f;
    let ay = fy - y0f;
    let x0 = i32(x0f);
    let y0 = i32(y0f);
    return BilinearTaps(
        array<i32, 4>(x0, x0 + 1, x0, x0 + 1),
        array<i32, 4>(y0, y0, y0 + 1, y0 + 1),
        array<f32, 4>((1.0 - ax) * (1.0 - ay), ax * (1.0 - ay), (1.0 - ax) * ay, ax * ay),
    );
}

fn in_window(p: SampleParams, x: i32, y: i32) -> bool {
    return x >= p.window.x && x < p.window.z && y >= p.window.y && y < p.window.w;
}

// a / b in f32, correctly rounded, for 1 ≤ a ≤ b ≤ 2^14 (a resize's scale,
// as the CPU and aten divide): WGSL's `/` may be 2.5 ulp off, and NEAREST
// floors j·scale, so one ulp moves a tap. The quotient q = m·2^-s is moved
// by ulps until the exact residual a·2^s − m·b (computed mod 2^32, it is
// small) is within half an ulp (ties to even).
fn exact_ratio(a: u32, b: u32) -> f32 {
    var q = f32(a) / f32(b);
    for (var i = 0; i < 4; i++) {
        let bits = bitcast<u32>(q);
        let m = (bits & 0x7fffffu) | 0x800000u;
        let s = 150u - ((bits >> 23u) & 0xffu);
        let scaled = select(0u, a << (s & 31u), s < 32u);
        let r2 = 2 * bitcast<i32>(scaled - m * b);
        let odd = (m & 1u) == 1u;
        // Below q the next float is half an ulp away when m = 2^23.
        let low = select(r2, 2 * r2, m == 0x800000u);
        if r2 > i32(b) || (r2 == i32(b) && odd) {
            q = bitcast<f32>(bits + 1u);
        } else if low < -i32(b) || (low == -i32(b) && odd) {
            q = bitcast<f32>(bits - 1u);
        } else {
            break;
        }
    }
    return q;
}

// One axis of the resized crop's resize (CPU: `ResizeAxis`): the box's
// origin and length, and the scale length / out.
struct ResizeAxis {
    origin: i32,
    len: i32,
    scale: f32,
}

fn resize_axis(lo: i32, hi: i32, out: u32) -> ResizeAxis {
    return ResizeAxis(lo, hi - lo, exact_ratio(u32(hi - lo), out));
}

// NEAREST ⌊j·scale⌋ or NEAREST_EXACT ⌊(j + ½)·scale⌋, clamped to the box.
fn resize_nearest(a: ResizeAxis, j: i32, exact: bool) -> i32 {
    let t = i32(floor((f32(j) + select(0.0, 0.5, exact)) * a.scale));
    return a.origin + min(t, a.len - 1);
}

// Bilinear: (first tap, second tap, weight of the second) as aten.
struct LinearTaps {
    i0: i32,
    i1: i32,
    lambda: f32,
}

fn resize_linear(a: ResizeAxis, j: i32) -> LinearTaps {
    let s = max((f32(j) + 0.5) * a.scale - 0.5, 0.0);
    let i0 = min(i32(floor(s)), a.len - 1);
    let lambda = clamp(s - f32(i0), 0.0, 1.0);
    let i1 = select(i0, i0 + 1, i0 < a.len - 1);
    return LinearTaps(a.origin + i0, a.origin + i1, lambda);
}

// The resized box's pixel (jx, jy) of crop space (CPU: `resized_texel`).
fn resized_texel(p: SampleParams, ax: ResizeAxis, ay: ResizeAxis, jx: i32, jy: i32) -> vec3<f32> {
    var out = vec3<f32>(0.0);
    let channels = policy.channels;
    if policy.crop_interpolation != INTERP_BILINEAR {
        let exact = policy.crop_interpolation == INTERP_NEAREST_EXACT;
        let sx = resize_nearest(ax, jx, exact);
        let sy = resize_nearest(ay, jy, exact);
        for (var c = 0u; c < channels; c++) {
            out[c] = texel(p, c, sx, sy);
        }
        return out;
    }
    let tx = resize_linear(ax, jx);
    let ty = resize_linear(ay, jy);
    for (var c = 0u; c < channels; c++) {
        var top = texel(p, c, tx.i0, ty.i0);
        if tx.lambda != 0.0 {
            top = (1.0 - tx.lambda) * top + tx.lambda * texel(p, c, tx.i1, ty.i0);
        }
        var v = top;
        if ty.lambda != 0.0 {
            var bottom = texel(p, c, tx.i0, ty.i1);
            if tx.lambda != 0.0 {
                bottom = (1.0 - tx.lambda) * bottom + tx.lambda * texel(p, c, tx.i1, ty.i1);
            }
            v = (1.0 - ty.lambda) * top + ty.lambda * bottom;
        }
        out[c] = v;
    }
    return out;
}

// A resized-crop sample (CPU: `resized_crop_pixel`): the affine's taps on
// the crop-space grid (fill outside W×H), each the resized box's pixel.
fn resized_crop_pixel(p: SampleParams, x: u32, y: u32) -> vec3<f32> {
    let s = sample_point(p, x, y);
    let ax = resize_axis(p.window.x, p.window.z, policy.width);
    let ay = resize_axis(p.window.y, p.window.w, policy.height);
    let w = i32(policy.width);
    let h = i32(policy.height);
    if policy.interpolation == INTERP_NEAREST {
        let jx = i32(floor(s.x));
        let jy = i32(floor(s.y));
        if jx < 0 || jx >= w || jy < 0 || jy >= h {
            return vec3<f32>(policy.fill);
        }
        return resized_texel(p, ax, ay, jx, jy);
    }
    let taps = bilinear_taps(s);
    var acc = vec3<f32>(0.0);
    var mask = 0.0;
    for (var t = 0u; t < 4u; t++) {
        let tx = taps.x[t];
        let ty = taps.y[t];
        if tx < 0 || tx >= w || ty < 0 || ty >= h {
            continue;
        }
        mask += taps.w[t];
        if taps.w[t] == 0.0 {
            continue;
        }
        let v = resized_texel(p, ax, ay, tx, ty);
        for (var c = 0u; c < policy.channels; c++) {
            acc[c] += taps.w[t] * v[c];
        }
    }
    for (var c = 0u; c < policy.channels; c++) {
        acc[c] = acc[c] * mask + (1.0 - mask) * policy.fill;
    }
    return acc;
}

fn geometric_pixel(p: SampleParams, x: u32, y: u32) -> vec3<f32> {
    if HAS_RESIZED_CROP && policy.crop_mode == CROP_RESIZED && (p.flags & FLAG_CROPPED) != 0u {
        return resized_crop_pixel(p, x, y);
    }
    let s = sample_point(p, x, y);
    let channels = policy.channels;
    let w = i32(policy.width);
    let h = i32(policy.height);
    var acc = vec3<f32>(0.0);
    if policy.interpolation == INTERP_NEAREST {
        let tx = i32(floor(s.x));
        let ty = i32(floor(s.y));
        if !in_window(p, tx, ty) {
            return vec3<f32>(policy.fill);
        }
        if tx >= 0 && tx < w && ty >= 0 && ty < h {
            for (var c = 0u; c < channels; c++) {
                acc[c] = texel(p, c, tx, ty);
            }
        }
        return acc;
    }
    let taps = bilinear_taps(s);
    var mask = 0.0;
    for (var t = 0u; t < 4u; t++) {
        let tx = taps.x[t];
        let ty = taps.y[t];
        if !in_window(p, tx, ty) {
            continue;
        }
        mask += taps.w[t];
        if tx >= 0 && tx < w && ty >= 0 && ty < h {
            for (var c = 0u; c < channels; c++) {
                acc[c] += taps.w[t] * texel(p, c, tx, ty);
            }
        }
    }
    for (var c = 0u; c < channels; c++) {
        acc[c] = acc[c] * mask + (1.0 - mask) * policy.fill;
    }
    return acc;
}

fn clamp01(v: f32) -> f32 {
    return clamp(v, 0.0, 1.0);
}

fn grayscale(rgb: vec3<f32>) -> f32 {
    return 0.2989 * rgb.x + 0.587 * rgb.y + 0.114 * rgb.z;
}

fn blend(v: f32, other: f32, factor: f32) -> f32 {
    return clamp01(factor * v + (1.0 - factor) * other);
}

fn adjust_hue(rgb: vec3<f32>, hue: f32) -> vec3<f32> {
    let r = rgb.x;
    let g = rgb.y;
    let b = rgb.z;
    let maxc = max(max(r, g), b);
    let minc = min(min(r, g), b);
    let eqc = maxc == minc;
    let cr = maxc - minc;
    let s = cr / select(maxc, 1.0, eqc);
    let crd = select(cr, 1.0, eqc);
    let rc = (maxc - r) / crd;
    let gc = (maxc - g) / crd;
    let bc = (maxc - b) / crd;
    var h0 = 0.0;
    if maxc == r {
        h0 = bc - gc;
    } else if maxc == g {
        h0 = 2.0 + rc - bc;
    } else {
        h0 = 4.0 + gc - rc;
    }
    var h = h0 / 6.0 + 1.0;
    h = h - trunc(h);
    h = h + hue;
    h = h - floor(h);
    let v = maxc;
    let h6 = h * 6.0;
    let i = floor(h6);
    let f = h6 - i;
    let p = clamp01(v * (1.0 - s));
    let q = clamp01(v * (1.0 - s * f));
    let t = clamp01(v * (1.0 - s * (1.0 - f)));
    var sector = i32(i) % 6;
    if sector < 0 {
        sector += 6;
    }
    var res = vec3<f32>(v, p, q);
    switch sector {
        case 0: {
            res = vec3<f32>(v, t, p);
        }
        case 1: {
            res = vec3<f32>(q, v, p);
        }
        case 2: {
            res = vec3<f32>(p, v, t);
        }
        case 3: {
            res = vec3<f32>(p, q, v);
        }
        case 4: {
            res = vec3<f32>(t, p, v);
        }
        default: {}
    }
    return res;
}

fn colour(p: SampleParams, contrast_mean: f32, rgb_in: vec3<f32>, until_contrast: bool) -> vec3<f32> {
    var rgb = rgb_in;
    if !HAS_JITTER || (p.flags & FLAG_JITTER) == 0u {
        return rgb;
    }
    let channels = policy.channels;
    for (var slot = 0u; slot < 4u; slot++) {
        let op = (p.colour_order >> (8u * slot)) & 0xffu;
        if (policy.jitter_ops & (1u << op)) == 0u {
            continue;
        }
        if op == OP_BRIGHTNESS {
            for (var c = 0u; c < channels; c++) {
                rgb[c] = clamp01(p.brightness * rgb[c]);
            }
        } else if op == OP_CONTRAST {
            if until_contrast {
                return rgb;
            }
            for (var c = 0u; c < channels; c++) {
                rgb[c] = blend(rgb[c], contrast_mean, p.contrast);
            }
        } else if op == OP_SATURATION && channels == 3u {
            let gray = grayscale(rgb);
            for (var c = 0u; c < 3u; c++) {
                rgb[c] = blend(rgb[c], gray, p.saturation);
            }
        } else if op == OP_HUE && channels == 3u {
            rgb = adjust_hue(rgb, p.hue);
        }
    }
    return rgb;
}

fn needs_contrast_mean(p: SampleParams) -> bool {
    return (p.flags & FLAG_JITTER) != 0u && (policy.jitter_ops & (1u << OP_CONTRAST)) != 0u;
}

// Source mode: the source image's gray mean, times brightness if that ran first.
fn source_contrast_mean(p: SampleParams) -> f32 {
    var mean = source_gray_mean(p);
    for (var slot = 0u; slot < 4u; slot++) {
        let op = (p.colour_order >> (8u * slot)) & 0xffu;
        if op == OP_CONTRAST {
            break;
        }
        if op == OP_BRIGHTNESS && (policy.jitter_ops & (1u << OP_BRIGHTNESS)) != 0u {
            mean = clamp01(p.brightness * mean);
        }
    }
    return mean;
}
