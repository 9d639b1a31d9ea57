// augment.wgsl — the fused augmentation passes on wgpu (WGSL, 32-bit only).
//
// Transcribes, line for line, `src/philox.rs`, `src/draws.rs`,
// `src/shuffle.rs`, `src/params.rs` (parameters pass) and
// `src/cpu/augment.rs` (contrast reduction and pixel pass), `src/cpu/auto.rs`
// (the auto ops: reductions and chain). Definition:
// `docs/SEMANTICS.md`. Host side: `src/wgpu/mod.rs` (`augkit::wgpu`).
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
// `//@STEP_ARGS` below with one or the other.
//
// Tests:  cargo test --test wgpu_parity --test wgpu_layout
// Bench:  cargo bench -- wgpu

// ---------------------------------------------------------------- layouts
// Mirrors of `src/kernel_args.rs` (checked by tests/wgpu_layout.rs).

struct KernelPolicy {
    mean: vec4<f32>,
    std_dev: vec4<f32>,  // Rust `std` (a reserved word in WGSL)
    channels: u32,
    height: u32,
    width: u32,
    crop_mode: u32,
    crop_p: f32,
    crop_padding: u32,
    resized_area_lo: f32,
    resized_area_hi: f32,
    resized_log_ratio_lo: f32,
    resized_log_ratio_hi: f32,
    resized_ratio_lo: f32,
    resized_ratio_hi: f32,
    hflip_p: f32,
    vflip_p: f32,
    affine_on: u32,
    affine_p: f32,
    degrees_lo: f32,
    translate_x: f32,
    translate_y: f32,
    translate_whole: u32,
    scale_lo: f32,
    scale_hi: f32,
    interpolation: u32,
    fill: f32,
    jitter_ops: u32,
    jitter_p: f32,
    brightness_lo: f32,
    brightness_hi: f32,
    contrast_lo: f32,
    contrast_hi: f32,
    saturation_lo: f32,
    saturation_hi: f32,
    hue_lo: f32,
    hue_hi: f32,
    contrast_mean: u32,
    mix_mode: u32,
    mix_ops: u32,
    mix_p: f32,
    switch_p: f32,
    mixup_alpha: f32,
    cutmix_alpha: f32,
    correct_lambda: u32,
    out_dtype: u32,
    out_layout: u32,
    degrees_hi: f32,
    synth_mode: u32,
    synth_p: f32,
    synth_class_choice: u32,
    synth_components: u32,
    num_classes: u32,
    crop_interpolation: u32,
    auto_mode: u32,
    auto_num_ops: u32,
    auto_num_bins: u32,
    auto_magnitude_bin: u32,
    auto_interpolation: u32,
    auto_fill: f32,
    auto_shear_max: f32,
    auto_translate_max_x: f32,
    auto_translate_max_y: f32,
    auto_rotate_max: f32,
    auto_enhance_max: f32,
    auto_posterize_range: f32,
    erase_p: f32,
    erase_area_lo: f32,
    erase_area_hi: f32,
    erase_log_ratio_lo: f32,
    erase_log_ratio_hi: f32,
    erase_mode: u32,
    erase_value: f32,
    erase_count_lo: u32,
    erase_count_hi: u32,
    pool_first: u32,
    pool_len: u32,
    _pad_pool0: u32,
    _pad_pool1: u32,
}

struct StepArgs {
    seed_lo: u32,
    seed_hi: u32,
    epoch: u32,
    first_position: u32,
    batch_size: u32,
    subset_len: u32,
    // The pixel dispatch's output window (0, 0 for the first or only one):
    // its first unit, and the global output word bound at `out_words[0]`.
    out_first: u32,
    out_base: u32,
}

struct SampleParams {
    dataset_index: u32,
    label_a: u32,
    label_b: u32,
    partner: u32,
    flags: u32,
    colour_order: u32,
    lambda: f32,
    hue: f32,
    brightness: f32,
    contrast: f32,
    saturation: f32,
    synth_partner: u32,
    inverse_affine: array<f32, 6>,
    synth_t: f32,
    slot: u32,
    window: vec4<i32>,
    cut_box: vec4<u32>,
    auto_ops: u32,
    erase_count: u32,
    // Rust `_pad0: [u32; 2]`.
    _pad0: vec2<u32>,
    auto_magnitudes: vec4<f32>,
    auto_affine: array<f32, 6>,
    // Rust `_pad1: [u32; 2]`.
    _pad1: vec2<u32>,
    erase_boxes: array<vec4<u32>, 4>,
}

struct MixLabel {
    label_a: u32,
    label_b: u32,
    lambda: f32,
}

// Mirror of `augkit::wgpu::Resident`: where the resident data lives.
struct Resident {
    // Images in the dataset.
    images: u32,
    // C·H·W: bytes of one image.
    image_elems: u32,
    // Word offsets in `resident_meta` of the labels and of the gray means (f32 bits);
    // the subset starts at word 0.
    labels_at: u32,
    means_at: u32,
    // u32 words in each dataset chunk binding (the last may hold fewer).
    chunk_words: u32,
    chunks: u32,
    // The synthetic tables in `resident_meta` (word offsets; 0 when the
    // policy makes no synthetic samples): present classes (`synth_present`
    // of them), class offsets (classes + 1), class members, then the PCA
    // model as f32 bits: means (classes × D), basis (classes × K × D),
    // sigmas (classes × K), class gray means (classes).
    synth_present: u32,
    synth_present_at: u32,
    synth_offsets_at: u32,
    synth_members_at: u32,
    synth_means_at: u32,
    synth_basis_at: u32,
    synth_sigmas_at: u32,
    synth_gray_at: u32,
    // Rust `_pad: [u32; 2]`.
    _pad0: u32,
    _pad1: u32,
}

// ---------------------------------------------------------------- bindings

@group(0) @binding(0) var<uniform> policy: KernelPolicy;
@group(0) @binding(1) var<uniform> resident: Resident;
// [subset | labels | gray means as f32 bits | synthetic tables (see Resident)]
@group(0) @binding(2) var<storage, read> resident_meta: array<u32>;
// The u8 dataset, planar CHW, packed four bytes to a word (byte b of the
// stream is byte b & 3 of word b >> 2), split into up to three bindings.
@group(0) @binding(3) var<storage, read> data0: array<u32>;
@group(0) @binding(4) var<storage, read> data1: array<u32>;
@group(0) @binding(5) var<storage, read> data2: array<u32>;
@group(0) @binding(6) var<storage, read_write> params: array<SampleParams>;
@group(0) @binding(7) var<storage, read_write> mix_labels: array<MixLabel>;
// [contrast means (batch) | synthetic coefficients (batch × K) | auto-op
// reductions (batch × MAX_AUTO_OPS × STATS_PER_OP, with auto ops)]: one
// binding, so the shader stays within WebGPU's 8 storage buffers per stage.
@group(0) @binding(8) var<storage, read_write> means: array<f32>;
// The images, or the current pixel dispatch's window of them (see the header).
@group(0) @binding(9) var<storage, read_write> out_words: array<u32>;
//@STEP_ARGS

// ---------------------------------------------------------------- constants

// Pipeline-overridable: whether the policy uses a feature at all. The host
// builds each pipeline with its policy's values (`pipeline_constants` in
// src/wgpu/mod.rs), so a pipeline for a policy without the feature carries
// none of its code: lavapipe runs both sides of a branch under a lane mask,
// and a GPU still allocates registers for code it never takes. The
// defaults keep everything.
override HAS_AUTO: bool = true;
override HAS_ERASING: bool = true;
override HAS_RESIZED_CROP: bool = true;
override HAS_JITTER: bool = true;
override HAS_SYNTHETIC: bool = true;

const CROP_NONE: u32 = 0u;
const CROP_PAD: u32 = 1u;
const CROP_RESIZED: u32 = 2u;
const INTERP_NEAREST: u32 = 0u;
const INTERP_BILINEAR: u32 = 1u;
const INTERP_NEAREST_EXACT: u32 = 2u;
const OP_BRIGHTNESS: u32 = 0u;
const OP_CONTRAST: u32 = 1u;
const OP_SATURATION: u32 = 2u;
const OP_HUE: u32 = 3u;
const CONTRAST_MEAN_SOURCE: u32 = 1u;
const MIX_MODE_BATCH: u32 = 0u;
const MIX_MODE_PAIR: u32 = 1u;
const MIX_MIXUP: u32 = 1u;
const MIX_CUTMIX: u32 = 2u;
const DTYPE_F16: u32 = 1u;
const LAYOUT_NCHW: u32 = 0u;

const FLAG_HFLIP: u32 = 1u;
const FLAG_VFLIP: u32 = 2u;
const FLAG_CROPPED: u32 = 4u;
const FLAG_AFFINE: u32 = 8u;
const FLAG_JITTER: u32 = 16u;
const FLAG_MIXED: u32 = 32u;
const FLAG_CUTMIX: u32 = 64u;
const FLAG_SYNTHETIC: u32 = 128u;
const FLAG_ERASED: u32 = 512u;
const FLAG_POOL: u32 = 1024u;

const ERASE_OFF: u32 = 0u;
const ERASE_CHANNEL: u32 = 2u;
const ERASE_PIXEL: u32 = 3u;
const MAX_ERASE_BOXES: u32 = 4u;
const ERASE_TOP_SUB: u32 = 64u;
const ERASE_LEFT_SUB: u32 = 128u;

const AUTO_OFF: u32 = 0u;
const AUTO_TRIVIAL: u32 = 1u;
const MAX_AUTO_OPS: u32 = 2u;
const AUTO_OP_SHEAR_X: u32 = 1u;
const AUTO_OP_SHEAR_Y: u32 = 2u;
const AUTO_OP_TRANSLATE_X: u32 = 3u;
const AUTO_OP_TRANSLATE_Y: u32 = 4u;
const AUTO_OP_ROTATE: u32 = 5u;
const AUTO_OP_BRIGHTNESS: u32 = 6u;
const AUTO_OP_COLOR: u32 = 7u;
const AUTO_OP_CONTRAST: u32 = 8u;
const AUTO_OP_SHARPNESS: u32 = 9u;
const AUTO_OP_POSTERIZE: u32 = 10u;
const AUTO_OP_SOLARIZE: u32 = 11u;
const AUTO_OP_AUTOCONTRAST: u32 = 12u;
const AUTO_OP_EQUALIZE: u32 = 13u;
const AUTO_OP_COUNT: u32 = 14u;
const AUTO_OP_NONE: u32 = 255u;
const FLAG_AUTO: u32 = 256u;
// Words of `means` per auto op of a sample for its reduction (see
// `stats_at`): a Contrast mean (word 0), AutoContrast's per-channel min and
// max (words 0–2, 3–5), or Equalize's lookup tables (256 entries per
// channel, as floats: arbitrary bit patterns in an f32 binding may not
// survive).
const STATS_PER_OP: u32 = 768u;

const SYNTH_OFF: u32 = 0u;
const SYNTH_PCA: u32 = 1u;
const SYNTH_INTERPOLATE: u32 = 2u;
const SYNTH_POOL: u32 = 3u;
const SYNTH_CLASS_UNIFORM: u32 = 1u;

const SLOT_SHUFFLE: u32 = 1u;
const SLOT_GEOMETRY_COINS: u32 = 2u;
const SLOT_CROP_X: u32 = 3u;
const SLOT_CROP_Y: u32 = 4u;
const SLOT_RESIZED_CROP: u32 = 5u;
const SLOT_RESIZED_CROP_TOP: u32 = 6u;
const SLOT_RESIZED_CROP_LEFT: u32 = 7u;
const SLOT_AFFINE: u32 = 8u;
const SLOT_JITTER: u32 = 9u;
const SLOT_JITTER_HUE: u32 = 10u;
const SLOT_JITTER_ORDER: u32 = 11u;
const SLOT_MIX: u32 = 12u;
const SLOT_BETA_MIXUP: u32 = 13u;
const SLOT_BETA_CUTMIX: u32 = 14u;
const SLOT_CUTMIX_CENTRE_Y: u32 = 15u;
const SLOT_CUTMIX_CENTRE_X: u32 = 16u;
const SLOT_SYNTHETIC: u32 = 17u;
const SLOT_SYNTHETIC_CLASS: u32 = 18u;
const SLOT_SYNTHETIC_PARTNER: u32 = 19u;
const SLOT_SYNTHETIC_Z: u32 = 20u;
const SLOT_ERASE: u32 = 21u;
const SLOT_ERASE_BOX: u32 = 22u;
const SLOT_ERASE_VALUE: u32 = 23u;
const SLOT_AUTO_OP: u32 = 24u;
const SLOT_AUTO_BIN: u32 = 25u;
const SLOT_AUTO_SIGN: u32 = 26u;
const SLOT_SYNTHETIC_POOL: u32 = 27u;
const GAMMA_ATTEMPTS: u32 = 16u;
const SHUFFLE_ROUNDS: u32 = 6u;

// f32 constants as Rust has them (bit patterns, so no decimal rounding):
// core::f32::consts::TAU and PI / 180.0 evaluated in f32.
const TAU_BITS: u32 = 0x40c90fdbu;
const DEG_TO_RAD_BITS: u32 = 0x3c8efa35u;
// (1.0f64 / 255.0) as f32 (torchvision's uint8 → float scale), and the
// sharpness kernel's taps (1.0f64 / 13.0) as f32 and (5.0f64 / 13.0) as f32.
const INV_255_BITS: u32 = 0x3b808081u;
// (255.0f64 + 1.0 - 1e-3) as f32: Equalize's quantisation scale.
const EQUALIZE_SCALE_BITS: u32 = 0x437fffbeu;
const SHARPNESS_SIDE_BITS: u32 = 0x3d9d89d9u;
const SHARPNESS_MIDDLE_BITS: u32 = 0x3ec4ec4fu;

// ---------------------------------------------------------------- philox.rs

const PHILOX_M0: u32 = 0xD2511F53u;
const PHILOX_M1: u32 = 0xCD9E8D57u;
const PHILOX_W0: u32 = 0x9E3779B9u;
const PHILOX_W1: u32 = 0xBB67AE85u;

// (high, low) words of the 64-bit product, by a 16-bit split.
fn mul_hi_lo(a: u32, b: u32) -> vec2<u32> {
    let a_lo = a & 0xffffu;
    let a_hi = a >> 16u;
    let b_lo = b & 0xffffu;
    let b_hi = b >> 16u;
    let ll = a_lo * b_lo;
    let lh = a_lo * b_hi;
    let hl = a_hi * b_lo;
    let hh = a_hi * b_hi;
    let mid = (ll >> 16u) + (lh & 0xffffu) + (hl & 0xffffu);
    let hi = hh + (lh >> 16u) + (hl >> 16u) + (mid >> 16u);
    return vec2<u32>(hi, a * b);
}

fn philox4x32_10(counter: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
    var c = counter;
    var k = key;
    for (var r = 0u; r < 10u; r++) {
        if r > 0u {
            k = vec2<u32>(k.x + PHILOX_W0, k.y + PHILOX_W1);
        }
        let p0 = mul_hi_lo(PHILOX_M0, c.x);
        let p1 = mul_hi_lo(PHILOX_M1, c.z);
        c = vec4<u32>(p1.x ^ c.y ^ k.x, p1.y, p0.x ^ c.w ^ k.y, p0.y);
    }
    return c;
}

// ---------------------------------------------------------------- draws.rs

fn words(key: vec2<u32>, owner: u32, epoch: u32, slot: u32, sub: u32) -> vec4<u32> {
    return philox4x32_10(vec4<u32>(owner, epoch, slot, sub), key);
}

fn unit(word: u32) -> f32 {
    return f32(word >> 8u) * (1.0 / 16777216.0);
}

fn unit_open_closed(word: u32) -> f32 {
    return f32((word >> 8u) + 1u) * (1.0 / 16777216.0);
}

fn uniform_draw(lo: f32, hi: f32, word: u32) -> f32 {
    return lo + (hi - lo) * unit(word);
}

fn coin(p: f32, word: u32) -> bool {
    return unit(word) < p;
}

// Lemire's multiply-shift with rejection, one attempt per word.
fn bounded(n: u32, w: vec4<u32>) -> u32 {
    let threshold = (0u - n) % n;
    var result = 0u;
    for (var i = 0u; i < 4u; i++) {
        let m = mul_hi_lo(w[i], n);
        result = m.x;
        if m.y >= threshold {
            return result;
        }
    }
    return result;
}

// Box–Muller, cosine branch.
fn normal(w0: u32, w1: u32) -> f32 {
    let radius = sqrt(-2.0 * log(unit_open_closed(w0)));
    return radius * cos(bitcast<f32>(TAU_BITS) * unit(w1));
}

// Marsaglia–Tsang with at most GAMMA_ATTEMPTS attempts.
fn gamma(alpha: f32, key: vec2<u32>, owner: u32, epoch: u32, slot: u32, variate: u32) -> f32 {
    let boosted = alpha < 1.0;
    var a = alpha;
    if boosted {
        a = alpha + 1.0;
    }
    let d = a - 1.0 / 3.0;
    let c = 1.0 / sqrt(9.0 * d);
    var value = d;
    var boost_word = 0u;
    for (var attempt = 0u; attempt < GAMMA_ATTEMPTS; attempt++) {
        let w = words(key, owner, epoch, slot, variate * 16u + attempt);
        boost_word = w.w;
        let x = normal(w.x, w.y);
        let t = 1.0 + c * x;
        if t <= 0.0 {
            continue;
        }
        let v = t * t * t;
        let u = unit_open_closed(w.z);
        if log(u) < 0.5 * x * x + d - d * v + d * log(v) {
            value = d * v;
            break;
        }
    }
    if boosted {
        value *= exp(log(unit_open_closed(boost_word)) / alpha);
    }
    return value;
}

fn beta(alpha: f32, key: vec2<u32>, owner: u32, epoch: u32, slot: u32) -> f32 {
    let x = gamma(alpha, key, owner, epoch, slot, 0u);
    let y = gamma(alpha, key, owner, epoch, slot, 1u);
    let sum = x + y;
    if sum > 0.0 {
        return x / sum;
    }
    return 0.5;
}

// ---------------------------------------------------------------- shuffle.rs

fn half_bits(n: u32) -> u32 {
    var k = 1u;
    while k < 16u && (1u << (2u * k)) < n {
        k += 1u;
    }
    return k;
}

fn round_function(right: u32, round_key: u32) -> u32 {
    var h = right ^ round_key;
    h ^= h >> 16u;
    h = h * 0x85ebca6bu;
    h ^= h >> 13u;
    h = h * 0xc2b2ae35u;
    return h ^ (h >> 16u);
}

fn feistel(x: u32, bits: u32, keys: array<u32, 6>) -> u32 {
    let mask = (1u << bits) - 1u;
    var left = x >> bits;
    var right = x & mask;
    for (var r = 0u; r < SHUFFLE_ROUNDS; r++) {
        let next = left ^ (round_function(right, keys[r]) & mask);
        left = right;
        right = next;
    }
    return (left << bits) | right;
}

fn shuffled_position(position: u32, n: u32, keys: array<u32, 6>) -> u32 {
    if n <= 1u {
        return 0u;
    }
    let bits = half_bits(n);
    var x = position;
    loop {
        x = feistel(x, bits, keys);
        if x < n {
            break;
        }
    }
    return x;
}

// ---------------------------------------------------------------- params.rs

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

fn flat_id(wg: vec3<u32>, nwg: vec3<u32>, lid: u32, size: u32) -> u32 {
    return (wg.y * nwg.x + wg.x) * size + lid;
}

@compute @workgroup_size(64)
fn augment_params(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let i = flat_id(wg, nwg, lid, 64u);
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

// ---------------------------------------------------------------- augment.rs

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
    let fx = s.x - 0.5;
    let fy = s.y - 0.5;
    let x0f = floor(fx);
    let y0f = floor(fy);
    let wx = fx - x0f;
    let wy = fy - y0f;
    let x0 = i32(x0f);
    let y0 = i32(y0f);
    let tap_x = array<i32, 4>(x0, x0 + 1, x0, x0 + 1);
    let tap_y = array<i32, 4>(y0, y0, y0 + 1, y0 + 1);
    let tap_w = array<f32, 4>((1.0 - wx) * (1.0 - wy), wx * (1.0 - wy), (1.0 - wx) * wy, wx * wy);
    var acc = vec3<f32>(0.0);
    var mask = 0.0;
    for (var t = 0u; t < 4u; t++) {
        let tx = tap_x[t];
        let ty = tap_y[t];
        if tx < 0 || tx >= w || ty < 0 || ty >= h {
            continue;
        }
        mask += tap_w[t];
        if tap_w[t] == 0.0 {
            continue;
        }
        let v = resized_texel(p, ax, ay, tx, ty);
        for (var c = 0u; c < policy.channels; c++) {
            acc[c] += tap_w[t] * v[c];
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
    let fx = s.x - 0.5;
    let fy = s.y - 0.5;
    let x0f = floor(fx);
    let y0f = floor(fy);
    let ax = fx - x0f;
    let ay = fy - y0f;
    let x0 = i32(x0f);
    let y0 = i32(y0f);
    let tap_x = array<i32, 4>(x0, x0 + 1, x0, x0 + 1);
    let tap_y = array<i32, 4>(y0, y0, y0 + 1, y0 + 1);
    let tap_w = array<f32, 4>((1.0 - ax) * (1.0 - ay), ax * (1.0 - ay), (1.0 - ax) * ay, ax * ay);
    var mask = 0.0;
    for (var t = 0u; t < 4u; t++) {
        let tx = tap_x[t];
        let ty = tap_y[t];
        if !in_window(p, tx, ty) {
            continue;
        }
        mask += tap_w[t];
        if tx >= 0 && tx < w && ty >= 0 && ty < h {
            for (var c = 0u; c < channels; c++) {
                acc[c] += tap_w[t] * texel(p, c, tx, ty);
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

// ---------------------------------------------------------------- auto.rs
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
    let fx = jx - 0.5;
    let fy = jy - 0.5;
    let x0f = floor(fx);
    let y0f = floor(fy);
    let ax = fx - x0f;
    let ay = fy - y0f;
    let x0 = i32(x0f);
    let y0 = i32(y0f);
    let all_x = array<i32, 4>(x0, x0 + 1, x0, x0 + 1);
    let all_y = array<i32, 4>(y0, y0, y0 + 1, y0 + 1);
    let all_w = array<f32, 4>((1.0 - ax) * (1.0 - ay), ax * (1.0 - ay), (1.0 - ax) * ay, ax * ay);
    for (var t = 0u; t < 4u; t++) {
        let tx = all_x[t];
        let ty = all_y[t];
        if tx >= 0 && tx < w && ty >= 0 && ty < h {
            taps.mask += all_w[t];
            taps.x[taps.count] = tx;
            taps.y[taps.count] = ty;
            taps.weight[taps.count] = all_w[t];
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

var<workgroup> partial_lo: array<vec3<f32>, 256>;
var<workgroup> partial_hi: array<vec3<f32>, 256>;
var<workgroup> histogram: array<atomic<u32>, 768>;

// One workgroup per sample: the auto ops' reductions in op order (each
// over the stage it sees, which reads the reductions before it from
// `means`): Contrast's mean grayscale, AutoContrast's per-channel min and
// max, Equalize's per-channel histogram → LUT (one invocation per channel
// scans it). Control flow stays workgroup-uniform around the barriers.
@compute @workgroup_size(256)
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
        for (var j = lid; j < 768u; j += 256u) {
            atomicStore(&histogram[j], 0u);
        }
        workgroupBarrier();
        var sum = 0.0;
        var lo = vec3<f32>(2.0);
        var hi = vec3<f32>(-1.0);
        let end = select(0u, pixels, needed);
        for (var px = lid; px < end; px += 256u) {
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
        for (var s = 128u; s > 0u; s >>= 1u) {
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

var<workgroup> partial_sums: array<f32, 256>;

// One workgroup per sample. Control flow stays workgroup-uniform around the
// barriers: every invocation runs the (possibly empty) pixel loop.
@compute @workgroup_size(256)
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
    for (var px = lid; px < end; px += 256u) {
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
    for (var s = 128u; s > 0u; s >>= 1u) {
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

@compute @workgroup_size(256)
fn augment_pixels_f32(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let g = step_args.out_first + flat_id(wg, nwg, lid, 256u);
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

@compute @workgroup_size(256)
fn augment_pixels_f16(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    pixels_packed(wg, nwg, lid);
}

@compute @workgroup_size(256)
fn augment_pixels_bf16(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    pixels_packed(wg, nwg, lid);
}

// Two f16/bf16 output elements per invocation (see the header).
fn pixels_packed(wg: vec3<u32>, nwg: vec3<u32>, lid: u32) {
    let word = step_args.out_first + flat_id(wg, nwg, lid, 256u);
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
