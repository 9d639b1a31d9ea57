// auto.wgsl — the TrivialAugment / RandAugment ops on the pixels: the
// sample's stages at one grid point and Equalize's LUT from the histogram
// that augment_stats builds. Rust twin: src/cpu/auto.rs.
//
// TrivialAugment / RandAugment on top of G (`geometric_pixel`): stage n is
// the image after the sample's first n auto ops on the output grid, each
// computed from stage n − 1 at the pixel, its 3×3 neighbours (Sharpness)
// or the geometry stage's taps. With at most MAX_AUTO_OPS = 2 ops the
// stages are written out (`auto_stage1`, `auto_stage2`): WGSL has no
// recursion. The reductions (`augment_stats`) sit in `means` after the
// synthetic coefficients, STATS_PER_OP words per op (see `stats_at`).

fn auto_op_of(p: SampleParams, i: u32) -> u32 {
    return (p.auto_ops >> (8u * i)) & 0xffu;
}

fn auto_op_count(p: SampleParams) -> u32 {
    if (p.flags & FLAG_AUTO) == 0u {
        return 0u;
    }
    var n = 0u;
    while n < MAX_AUTO_OPS && auto_op_of(p, n) != AUTO_OP_NONE {
        n += 1u;
    }
    return n;
}

// Index of the sample's first geometry op (MAX_AUTO_OPS when none).
fn first_geometry_op(p: SampleParams) -> u32 {
    let n = auto_op_count(p);
    for (var i = 0u; i < n; i++) {
        if auto_op_is_geometry(auto_op_of(p, i)) {
            return i;
        }
    }
    return MAX_AUTO_OPS;
}

fn auto_op_reduces(op: u32) -> bool {
    return op == AUTO_OP_CONTRAST || op == AUTO_OP_AUTOCONTRAST || op == AUTO_OP_EQUALIZE;
}

// Index in `means` of the reductions of op i of batch slot `slot`.
fn stats_at(slot: u32, i: u32) -> u32 {
    let coefficients = step_args.batch_size * (1u + policy.synth_components);
    return coefficients + (slot * MAX_AUTO_OPS + i) * STATS_PER_OP;
}

// torchvision's `to_dtype(float → uint8, scale=True)`: trunc(v · f32(255.999)).
fn equalize_quantise(v: f32) -> u32 {
    return u32(v * bitcast<f32>(EQUALIZE_SCALE_BITS));
}

// A pointwise or reduction op at index i on one pixel (identity for the
// geometry ops and Sharpness). f = 1 + m; torchvision's 1 − f is exactly −m.
fn auto_point_op(p: SampleParams, i: u32, v_in: vec3<f32>) -> vec3<f32> {
    var v = v_in;
    let op = auto_op_of(p, i);
    let m = p.auto_magnitudes[i];
    let f = 1.0 + m;
    let rest = -m;
    let channels = policy.channels;
    let at = stats_at(p.slot, i);
    if op == AUTO_OP_BRIGHTNESS {
        for (var c = 0u; c < channels; c++) {
            v[c] = clamp01(f * v[c]);
        }
    } else if op == AUTO_OP_COLOR && channels == 3u {
        let gray = grayscale(v);
        for (var c = 0u; c < 3u; c++) {
            v[c] = clamp01(f * v[c] + rest * gray);
        }
    } else if op == AUTO_OP_CONTRAST {
        let mean = means[at];
        for (var c = 0u; c < channels; c++) {
            v[c] = clamp01(f * v[c] + rest * mean);
        }
    } else if op == AUTO_OP_POSTERIZE {
        let levels = f32(1u << u32(m));
        for (var c = 0u; c < channels; c++) {
            v[c] = clamp(floor(v[c] * levels), 0.0, levels - 1.0) * (1.0 / levels);
        }
    } else if op == AUTO_OP_SOLARIZE {
        for (var c = 0u; c < channels; c++) {
            if v[c] >= m {
                v[c] = 1.0 - v[c];
            }
        }
    } else if op == AUTO_OP_AUTOCONTRAST {
        for (var c = 0u; c < channels; c++) {
            var lo = means[at + c];
            let hi = means[at + 3u + c];
            var scale = hi - lo;
            if hi == lo {
                lo = 0.0;
                scale = 1.0;
            }
            v[c] = clamp01((v[c] - lo) / scale);
        }
    } else if op == AUTO_OP_EQUALIZE {
        for (var c = 0u; c < channels; c++) {
            let q = equalize_quantise(v[c]);
            v[c] = means[at + c * 256u + q] * bitcast<f32>(INV_255_BITS);
        }
    }
    return v;
}

// Whether Sharpness leaves output pixel (x, y) as it is (border, or an
// image of side ≤ 2).
fn sharpness_keeps(x: i32, y: i32) -> bool {
    let w = i32(policy.width);
    let h = i32(policy.height);
    return w <= 2 || h <= 2 || x == 0 || y == 0 || x == w - 1 || y == h - 1;
}

// torchvision `adjust_sharpness` at an interior pixel from its 3×3
// neighbourhood (row-major, the centre at 4), float32 taps 1/13 and 5/13.
fn sharpen(m: f32, n: array<vec3<f32>, 9>) -> vec3<f32> {
    let side = bitcast<f32>(SHARPNESS_SIDE_BITS);
    let middle = bitcast<f32>(SHARPNESS_MIDDLE_BITS);
    let centre = n[4];
    var blur = vec3<f32>(0.0);
    for (var t = 0u; t < 9u; t++) {
        var weight = side;
        if t == 4u {
            weight = middle;
        }
        for (var c = 0u; c < policy.channels; c++) {
            blur[c] += weight * n[t][c];
        }
    }
    let rest = -m;
    var out = centre;
    for (var c = 0u; c < policy.channels; c++) {
        out[c] = clamp01(centre[c] + rest * (blur[c] - centre[c]));
    }
    return out;
}

// The geometry stage's taps at output pixel (x, y): in-image taps of the
// stage before the first geometry op, through `auto_affine`. Nearest: one
// tap (none outside: the fill); bilinear: up to four, with torchvision's
// fill mask.
struct AutoTaps {
    count: u32,
    x: array<i32, 4>,
    y: array<i32, 4>,
    weight: array<f32, 4>,
    mask: f32,
}

fn auto_taps(p: SampleParams, x: i32, y: i32) -> AutoTaps {
    let a = p.auto_affine;
    let px = f32(x) + 0.5;
    let py = f32(y) + 0.5;
    let jx = a[0] * px + a[1] * py + a[2];
    let jy = a[3] * px + a[4] * py + a[5];
    let w = i32(policy.width);
    let h = i32(policy.height);
    var taps = AutoTaps();
    if policy.auto_interpolation == INTERP_NEAREST {
        let tx = i32(floor(jx));
        let ty = i32(floor(jy));
        if tx >= 0 && tx < w && ty >= 0 && ty < h {
            taps.count = 1u;
            taps.x[0] = tx;
            taps.y[0] = ty;
            taps.weight[0] = 1.0;
        }
        return taps;
    }
    let all = bilinear_taps(vec2<f32>(jx, jy));
    for (var t = 0u; t < 4u; t++) {
        let tx = all.x[t];
        let ty = all.y[t];
        if tx >= 0 && tx < w && ty >= 0 && ty < h {
            taps.mask += all.w[t];
            taps.x[taps.count] = tx;
            taps.y[taps.count] = ty;
            taps.weight[taps.count] = all.w[t];
            taps.count += 1u;
        }
    }
    return taps;
}

// The geometry stage's value from the tap values `v` (what
// `_apply_grid_transform` does with a fill).
fn auto_geometry_value(taps: AutoTaps, v: array<vec3<f32>, 4>) -> vec3<f32> {
    let fill = policy.auto_fill;
    if policy.auto_interpolation == INTERP_NEAREST {
        if taps.count == 0u {
            return vec3<f32>(fill);
        }
        return v[0];
    }
    var out = vec3<f32>(0.0);
    for (var t = 0u; t < taps.count; t++) {
        for (var c = 0u; c < policy.channels; c++) {
            out[c] += taps.weight[t] * v[t][c];
        }
    }
    for (var c = 0u; c < policy.channels; c++) {
        out[c] = out[c] * taps.mask + (1.0 - taps.mask) * fill;
    }
    return out;
}

fn auto_stage0(p: SampleParams, x: i32, y: i32) -> vec3<f32> {
    return geometric_pixel(p, u32(x), u32(y));
}

// Where op i reads the stage before it for output pixel (x, y): the
// geometry stage's taps, Sharpness's 3×3 neighbourhood (row-major), or the
// pixel itself. Each stage reads the one before it from a single call site
// (a loop over these points), which keeps the inlined shader small.
struct AutoReads {
    count: u32,
    x: array<i32, 9>,
    y: array<i32, 9>,
    taps: AutoTaps,
}

fn auto_reads(p: SampleParams, i: u32, x: i32, y: i32) -> AutoReads {
    var r = AutoReads();
    let op = auto_op_of(p, i);
    if auto_op_is_geometry(op) && first_geometry_op(p) == i {
        r.taps = auto_taps(p, x, y);
        r.count = r.taps.count;
        for (var t = 0u; t < r.count; t++) {
            r.x[t] = r.taps.x[t];
            r.y[t] = r.taps.y[t];
        }
    } else if op == AUTO_OP_SHARPNESS && !sharpness_keeps(x, y) {
        r.count = 9u;
        for (var t = 0; t < 9; t++) {
            r.x[t] = x + t % 3 - 1;
            r.y[t] = y + t / 3 - 1;
        }
    } else {
        r.count = 1u;
        r.x[0] = x;
        r.y[0] = y;
    }
    return r;
}

// Op i at output pixel (x, y) from the values `v` of the stage before it at
// its reads `r`.
fn auto_apply(p: SampleParams, i: u32, x: i32, y: i32, r: AutoReads, v: array<vec3<f32>, 9>) -> vec3<f32> {
    let op = auto_op_of(p, i);
    if auto_op_is_geometry(op) {
        if first_geometry_op(p) != i {
            // Folded into the first geometry op's map.
            return v[0];
        }
        return auto_geometry_value(r.taps, array<vec3<f32>, 4>(v[0], v[1], v[2], v[3]));
    }
    if op == AUTO_OP_SHARPNESS {
        if r.count == 1u {
            return v[0];
        }
        return sharpen(p.auto_magnitudes[i], v);
    }
    return auto_point_op(p, i, v[0]);
}

// Stage 1: op 0 on stage 0.
fn auto_stage1(p: SampleParams, x: i32, y: i32) -> vec3<f32> {
    let r = auto_reads(p, 0u, x, y);
    var v = array<vec3<f32>, 9>();
    for (var t = 0u; t < r.count; t++) {
        v[t] = auto_stage0(p, r.x[t], r.y[t]);
    }
    return auto_apply(p, 0u, x, y, r, v);
}

// Stage 2: op 1 on stage 1.
fn auto_stage2(p: SampleParams, x: i32, y: i32) -> vec3<f32> {
    let r = auto_reads(p, 1u, x, y);
    var v = array<vec3<f32>, 9>();
    for (var t = 0u; t < r.count; t++) {
        v[t] = auto_stage1(p, r.x[t], r.y[t]);
    }
    return auto_apply(p, 1u, x, y, r, v);
}

// Stage n (≤ MAX_AUTO_OPS) at output pixel (x, y).
fn auto_stage(p: SampleParams, n: u32, x: i32, y: i32) -> vec3<f32> {
    if n == 0u {
        return auto_stage0(p, x, y);
    }
    if n == 1u {
        return auto_stage1(p, x, y);
    }
    return auto_stage2(p, x, y);
}

// The sample's pixel after its auto ops (G itself when it has none).
fn auto_pixel(p: SampleParams, x: u32, y: u32) -> vec3<f32> {
    if !HAS_AUTO {
        return geometric_pixel(p, x, y);
    }
    return auto_stage(p, auto_op_count(p), i32(x), i32(y));
}

// torchvision `equalize_image`'s LUT of one channel's histogram into
// `means[at..at + 256]` (as floats): the identity when its step is 0.
fn equalize_lut(c: u32, pixels: u32, at: u32) {
    var last = 0u;
    for (var b = 0u; b < 256u; b++) {
        if atomicLoad(&histogram[c * 256u + b]) > 0u {
            last = b;
        }
    }
    let step = (pixels - atomicLoad(&histogram[c * 256u + last])) / 255u;
    if step == 0u {
        for (var b = 0u; b < 256u; b++) {
            means[at + b] = f32(b);
        }
        return;
    }
    var cum = 0u;
    means[at] = 0.0;
    for (var b = 0u; b < 255u; b++) {
        cum += atomicLoad(&histogram[c * 256u + b]);
        means[at + b + 1u] = f32(min((cum + step / 2u) / step, 255u));
    }
}
