// augment.wgsl — the fused augmentation passes on wgpu (WGSL, 32-bit only):
// the entry points, the composition of one output pixel (geometry, auto ops,
// colour, erasing, mix) and the narrow-dtype packing.
//
// One module, joined by `src/wgpu/shader.rs` from this file and one file
// per Rust twin, each transcribing it line for line: abi.wgsl ↔
// `src/kernel_args.rs`, philox.wgsl ↔ `src/philox.rs`, draws.wgsl ↔
// `src/draws.rs`, shuffle.wgsl ↔ `src/shuffle.rs`, params.wgsl ↔
// `src/params.rs`, pixel.wgsl ↔ `src/cpu/pixel.rs`, auto.wgsl ↔
// `src/cpu/auto.rs`; this file ↔ the composition in `src/cpu/augment.rs`.
// Definition: `docs/SEMANTICS.md`. Host side: `src/wgpu/mod.rs`
// (`augkit::wgpu`).
//
// Entry points and launch shapes (all grids are 2-D, flattened as
// `(workgroup_id.y · num_workgroups.x + workgroup_id.x)`, so no dimension
// passes the 65,535-workgroup cap):
//   augment_params    @workgroup_size(64):  one invocation per sample; writes
//                     `params[i]` (SampleParams), `mix_labels[i]` and the
//                     sample's K synthetic coefficients (σ_j·z_j, zeros
//                     unless it is a synthetic PCA sample) into `means`
//                     after the batch's contrast means.
//   augment_stats     @workgroup_size(256): one workgroup per sample with
//                     TrivialAugment / RandAugment ops: their reductions in
//                     op order (Contrast mean, AutoContrast min/max,
//                     Equalize histogram → LUT) into `means` after the
//                     synthetic coefficients; runs before augment_contrast,
//                     whose mean sees the auto ops' result.
//   augment_contrast  @workgroup_size(256): one workgroup per sample; exact
//                     mode reduces geometry + colour-until-contrast over the
//                     pixels; source mode reads the per-image gray mean (a
//                     synthetic sample's: its class mean's, or the blend of
//                     its two images').
//   augment_pixels_f32 @workgroup_size(256): one invocation per output
//                     pixel, writes its C channels (f32 bits in u32 words).
//   augment_pixels_f16, augment_pixels_bf16 @workgroup_size(256): one
//                     invocation per output u32 word = two f16/bf16 elements
//                     (low half first), round-to-nearest-even in integer
//                     arithmetic (no shader-f16 needed); one body
//                     (`pixels_packed`), the dtype read from the policy.
//   The names are the CUDA kernels' (`augkit::kernel_args::entry`).
//   Both pixel passes may run as several dispatches (output windows), when
//   the step's images exceed one storage binding: dispatch k binds an
//   aligned sub-range of the one images buffer as `out_words` and gets
//   `step_args.out_first` (its first unit: global pixel index `sample·H·W +
//   pixel` for f32, global output word for packed) and `step_args.out_base`
//   (the global word at `out_words[0]`); a write past the window's end
//   (`arrayLength(&out_words)`) belongs to a later dispatch and is skipped.
// Bindings (group 0): 0 policy (uniform KernelPolicy), 1 resident (uniform
// Resident: offsets and sizes), 2 resident_meta (read: subset, labels, gray
// means, synthetic tables), 3–5 data0..2 (read: the u8 dataset), 6 params,
// 7 mix_labels, 8 means (contrast means, then synthetic coefficients, then
// the auto-op reductions),
// 9 out_words (read_write; one output window of the images), 10 step_args
// (uniform at a dynamic offset, one StepArgs per output window, when not
// immediates).
// Synthetic texels (SEMANTICS.md §9) are computed in the sampling itself
// (`texel`), nearest and bilinear alike: PCA = clamp01(mean + Σ_j a_j·u_j),
// interpolate = (1 − t)·A + t·B.
// The step arguments arrive as immediates (`var<immediate>`) where the
// device offers them, else as a 32-byte uniform: the host replaces the line
// `//@STEP_ARGS` (in abi.wgsl) with one or the other.
//
// Tests:  cargo test --test wgpu_parity --test wgpu_layout
// Bench:  cargo bench -- wgpu

fn flat_id(wg: vec3<u32>, nwg: vec3<u32>, lid: u32, size: u32) -> u32 {
    return (wg.y * nwg.x + wg.x) * size + lid;
}

@compute @workgroup_size(PARAMS_WORKGROUP)
fn augment_params(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let i = flat_id(wg, nwg, lid, PARAMS_WORKGROUP);
    if i >= step_args.batch_size {
        return;
    }
    let ctx = step_context();
    let position = ctx.first_position + i;
    let source = sample_source(ctx, i);
    var p = SampleParams();
    p.dataset_index = source.dataset_index;
    p.label_a = source.label;
    p.label_b = source.label;
    p.partner = i;
    p.slot = i;
    p.synth_partner = source.synth_partner;
    p.synth_t = source.synth_t;
    if source.synthetic {
        p.flags |= FLAG_SYNTHETIC;
    }
    if source.pool {
        p.flags |= FLAG_POOL;
    }
    p.lambda = 1.0;
    p.brightness = 1.0;
    p.contrast = 1.0;
    p.saturation = 1.0;
    p.hue = 0.0;
    // No auto op, and the identity map before them.
    p.auto_ops = 0xffffffffu;
    p.auto_affine = array<f32, 6>(1.0, 0.0, 0.0, 0.0, 1.0, 0.0);
    geometry(ctx.key, position, ctx.epoch, &p);
    auto_params(ctx.key, position, ctx.epoch, &p);
    jitter(ctx.key, position, ctx.epoch, &p);
    erasing(ctx.key, position, ctx.epoch, &p);
    mix_params(ctx, i, &p);
    params[i] = p;
    mix_labels[i] = MixLabel(p.label_a, p.label_b, p.lambda);
    write_synth_coefficients(ctx, p);
}

var<workgroup> partial_lo: array<vec3<f32>, STATS_WORKGROUP>;
var<workgroup> partial_hi: array<vec3<f32>, STATS_WORKGROUP>;
var<workgroup> histogram: array<atomic<u32>, 768>;

// One workgroup per sample: the auto ops' reductions in op order (each
// over the stage it sees, which reads the reductions before it from
// `means`): Contrast's mean grayscale, AutoContrast's per-channel min and
// max, Equalize's per-channel histogram → LUT (one invocation per channel
// scans it). Control flow stays workgroup-uniform around the barriers.
@compute @workgroup_size(STATS_WORKGROUP)
fn augment_stats(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let i = wg.y * nwg.x + wg.x;
    if i >= step_args.batch_size {
        return;
    }
    let p = params[i];
    let count = auto_op_count(p);
    let pixels = policy.height * policy.width;
    let channels = policy.channels;
    for (var k = 0u; k < MAX_AUTO_OPS; k++) {
        var op = AUTO_OP_NONE;
        if k < count {
            op = auto_op_of(p, k);
        }
        let needed = auto_op_reduces(op);
        for (var j = lid; j < 768u; j += STATS_WORKGROUP) {
            atomicStore(&histogram[j], 0u);
        }
        workgroupBarrier();
        var sum = 0.0;
        var lo = vec3<f32>(2.0);
        var hi = vec3<f32>(-1.0);
        let end = select(0u, pixels, needed);
        for (var px = lid; px < end; px += STATS_WORKGROUP) {
            let v = auto_stage(p, k, i32(px % policy.width), i32(px / policy.width));
            if op == AUTO_OP_CONTRAST {
                if channels == 3u {
                    sum += grayscale(v);
                } else {
                    sum += v.x;
                }
            } else if op == AUTO_OP_AUTOCONTRAST {
                lo = min(lo, v);
                hi = max(hi, v);
            } else {
                for (var c = 0u; c < channels; c++) {
                    atomicAdd(&histogram[c * 256u + equalize_quantise(v[c])], 1u);
                }
            }
        }
        partial_sums[lid] = sum;
        partial_lo[lid] = lo;
        partial_hi[lid] = hi;
        workgroupBarrier();
        for (var s = STATS_WORKGROUP / 2u; s > 0u; s >>= 1u) {
            if lid < s {
                partial_sums[lid] += partial_sums[lid + s];
                partial_lo[lid] = min(partial_lo[lid], partial_lo[lid + s]);
                partial_hi[lid] = max(partial_hi[lid], partial_hi[lid + s]);
            }
            workgroupBarrier();
        }
        let at = stats_at(p.slot, k);
        if needed && op == AUTO_OP_CONTRAST && lid == 0u {
            means[at] = partial_sums[0] / f32(pixels);
        } else if needed && op == AUTO_OP_AUTOCONTRAST && lid == 0u {
            for (var c = 0u; c < 3u; c++) {
                means[at + c] = partial_lo[0][c];
                means[at + 3u + c] = partial_hi[0][c];
            }
        } else if needed && op == AUTO_OP_EQUALIZE && lid < channels {
            equalize_lut(lid, pixels, at + lid * 256u);
        }
        // Stage k + 1 reads these.
        storageBarrier();
        workgroupBarrier();
    }
}

var<workgroup> partial_sums: array<f32, CONTRAST_WORKGROUP>;

// One workgroup per sample. Control flow stays workgroup-uniform around the
// barriers: every invocation runs the (possibly empty) pixel loop.
@compute @workgroup_size(CONTRAST_WORKGROUP)
fn augment_contrast(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let i = wg.y * nwg.x + wg.x;
    if i >= step_args.batch_size {
        return;
    }
    let p = params[i];
    let needed = needs_contrast_mean(p);
    let exact = needed && policy.contrast_mean != CONTRAST_MEAN_SOURCE;
    let pixels = policy.height * policy.width;
    var sum = 0.0;
    let end = select(0u, pixels, exact);
    for (var px = lid; px < end; px += CONTRAST_WORKGROUP) {
        let x = px % policy.width;
        let y = px / policy.width;
        let rgb = colour(p, 0.0, auto_pixel(p, x, y), true);
        var gray = rgb.x;
        if policy.channels == 3u {
            gray = grayscale(rgb);
        }
        sum += gray;
    }
    partial_sums[lid] = sum;
    workgroupBarrier();
    for (var s = CONTRAST_WORKGROUP / 2u; s > 0u; s >>= 1u) {
        if lid < s {
            partial_sums[lid] += partial_sums[lid + s];
        }
        workgroupBarrier();
    }
    if lid == 0u {
        var mean = 0.0;
        if exact {
            mean = partial_sums[0] / f32(pixels);
        } else if needed {
            mean = source_contrast_mean(p);
        }
        means[i] = mean;
    }
}

fn augmented_pixel(p: SampleParams, mean: f32, x: u32, y: u32) -> vec3<f32> {
    return erase(p, x, y, colour(p, mean, auto_pixel(p, x, y), false));
}

// Random erasing of the sample's own pixel (augment.rs `erase`,
// params.rs `erased_value`): the last box containing (x, y) wins; its value
// v (output units) becomes mean_c + std_c·v in pixel units.
fn erase(p: SampleParams, x: u32, y: u32, rgb_in: vec3<f32>) -> vec3<f32> {
    var rgb = rgb_in;
    if !HAS_ERASING || (p.flags & FLAG_ERASED) == 0u {
        return rgb;
    }
    var boxes = p.erase_boxes;
    var found = false;
    var b = min(p.erase_count, MAX_ERASE_BOXES);
    while b > 0u {
        b -= 1u;
        let r = boxes[b];
        if x >= r.x && x < r.z && y >= r.y && y < r.w {
            found = true;
            break;
        }
    }
    if !found {
        return rgb;
    }
    let key = vec2<u32>(step_args.seed_lo, step_args.seed_hi);
    let position = step_args.first_position + p.slot;
    for (var c = 0u; c < policy.channels; c++) {
        var v = policy.erase_value;
        if policy.erase_mode == ERASE_CHANNEL || policy.erase_mode == ERASE_PIXEL {
            var sub = 2u * b + c / 2u;
            if policy.erase_mode == ERASE_PIXEL {
                sub = 2u * (y * policy.width + x) + c / 2u;
            }
            let w = words(key, position, step_args.epoch, SLOT_ERASE_VALUE, sub);
            if c % 2u == 0u {
                v = normal(w.x, w.y);
            } else {
                v = normal(w.z, w.w);
            }
        }
        rgb[c] = policy.mean[c] + policy.std_dev[c] * v;
    }
    return rgb;
}

// Output pixel (x, y) of sample i, mixed and normalised (channels past C unused).
fn output_pixel(i: u32, x: u32, y: u32) -> vec3<f32> {
    let p = params[i];
    let partner = params[p.partner];
    let partner_mean = means[p.partner];
    let mixed = (p.flags & FLAG_MIXED) != 0u;
    let cutmix = (p.flags & FLAG_CUTMIX) != 0u;
    let in_box = cutmix && x >= p.cut_box.x && x < p.cut_box.z && y >= p.cut_box.y && y < p.cut_box.w;
    // The pixel's own sample (or the partner's, in the cutmix box), then the
    // partner's when mixup blends them: one call site, so the fused chain is
    // inlined once.
    let blends = !in_box && mixed && !cutmix;
    var own = vec3<f32>(0.0);
    var other = vec3<f32>(0.0);
    for (var s = 0u; s < select(1u, 2u, blends); s++) {
        var q = p;
        var q_mean = means[i];
        if in_box || s == 1u {
            q = partner;
            q_mean = partner_mean;
        }
        let v = augmented_pixel(q, q_mean, x, y);
        if s == 0u {
            own = v;
        } else {
            other = v;
        }
    }
    var value = own;
    if blends {
        for (var c = 0u; c < policy.channels; c++) {
            value[c] = own[c] * p.lambda + other[c] * (1.0 - p.lambda);
        }
    }
    var acc = vec3<f32>(0.0);
    for (var c = 0u; c < policy.channels; c++) {
        acc[c] = (value[c] - policy.mean[c]) / policy.std_dev[c];
    }
    return acc;
}

fn element_index(i: u32, pixel: u32, c: u32) -> u32 {
    let plane = policy.height * policy.width;
    let base = i * resident.image_elems;
    if policy.out_layout == LAYOUT_NCHW {
        return base + c * plane + pixel;
    }
    return base + pixel * policy.channels + c;
}

@compute @workgroup_size(PIXELS_WORKGROUP)
fn augment_pixels_f32(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let g = step_args.out_first + flat_id(wg, nwg, lid, PIXELS_WORKGROUP);
    let plane = policy.height * policy.width;
    if g >= step_args.batch_size * plane {
        return;
    }
    let i = g / plane;
    // A window holds whole samples: sample i lies in it, or past its end.
    if (i + 1u) * resident.image_elems - step_args.out_base > arrayLength(&out_words) {
        return;
    }
    let pixel = g % plane;
    let v = output_pixel(i, pixel % policy.width, pixel / policy.width);
    for (var c = 0u; c < policy.channels; c++) {
        out_words[element_index(i, pixel, c) - step_args.out_base] = bitcast<u32>(v[c]);
    }
}

// f32 → IEEE binary16 bits, round to nearest even (the `half` crate's
// software conversion).
fn f16_bits(value: f32) -> u32 {
    let x = bitcast<u32>(value);
    let sgn = x & 0x80000000u;
    let e = x & 0x7f800000u;
    let man = x & 0x007fffffu;
    let half_sign = sgn >> 16u;
    if e == 0x7f800000u {
        var nan_bit = 0u;
        if man != 0u {
            nan_bit = 0x0200u;
        }
        return half_sign | 0x7c00u | nan_bit | (man >> 13u);
    }
    let half_exp = i32(e >> 23u) - 127 + 15;
    if half_exp >= 0x1f {
        return half_sign | 0x7c00u;
    }
    if half_exp <= 0 {
        if 14 - half_exp > 24 {
            return half_sign;
        }
        let man2 = man | 0x00800000u;
        var half_man = man2 >> u32(14 - half_exp);
        let round_bit = 1u << u32(13 - half_exp);
        if (man2 & round_bit) != 0u && (man2 & (3u * round_bit - 1u)) != 0u {
            half_man += 1u;
        }
        return half_sign | half_man;
    }
    let bits = half_sign | (u32(half_exp) << 10u) | (man >> 13u);
    let round_bit = 0x00001000u;
    if (man & round_bit) != 0u && (man & (3u * round_bit - 1u)) != 0u {
        return bits + 1u;
    }
    return bits;
}

// f32 → bfloat16 bits, round to nearest even; NaN stays NaN.
fn bf16_bits(value: f32) -> u32 {
    let x = bitcast<u32>(value);
    if (x & 0x7fffffffu) > 0x7f800000u {
        return (x >> 16u) | 0x0040u;
    }
    let round_bit = 0x00008000u;
    if (x & round_bit) != 0u && (x & (3u * round_bit - 1u)) != 0u {
        return (x >> 16u) + 1u;
    }
    return x >> 16u;
}

fn narrow(value: f32) -> u32 {
    if policy.out_dtype == DTYPE_F16 {
        return f16_bits(value);
    }
    return bf16_bits(value);
}

// (sample, pixel, channel) of output element e.
fn element_site(e: u32) -> vec3<u32> {
    let elems = resident.image_elems;
    let plane = policy.height * policy.width;
    let i = e / elems;
    let r = e % elems;
    if policy.out_layout == LAYOUT_NCHW {
        return vec3<u32>(i, r % plane, r / plane);
    }
    return vec3<u32>(i, r / policy.channels, r % policy.channels);
}

@compute @workgroup_size(PIXELS_WORKGROUP)
fn augment_pixels_f16(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    pixels_packed(wg, nwg, lid);
}

@compute @workgroup_size(PIXELS_WORKGROUP)
fn augment_pixels_bf16(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    pixels_packed(wg, nwg, lid);
}

// Two f16/bf16 output elements per invocation (see the header).
fn pixels_packed(wg: vec3<u32>, nwg: vec3<u32>, lid: u32) {
    let word = step_args.out_first + flat_id(wg, nwg, lid, PIXELS_WORKGROUP);
    let total = step_args.batch_size * resident.image_elems;
    let e0 = 2u * word;
    if e0 >= total || word - step_args.out_base >= arrayLength(&out_words) {
        return;
    }
    // The word's one or two pixels through one call site of `output_pixel`
    // (inlined once), the second computed only when it is another pixel.
    var bits = 0u;
    var v = vec3<f32>(0.0);
    var last = vec2<u32>(0xffffffffu);
    for (var h = 0u; h < 2u; h++) {
        if e0 + h >= total {
            break;
        }
        let site = element_site(e0 + h);
        if site.x != last.x || site.y != last.y {
            v = output_pixel(site.x, site.y % policy.width, site.y / policy.width);
            last = site.xy;
        }
        bits |= narrow(v[site.z]) << (16u * h);
    }
    out_words[word - step_args.out_base] = bits;
}
