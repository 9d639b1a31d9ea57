// abi.wgsl — the shader's interface: mirrors of `src/kernel_args.rs`
// (KernelPolicy, StepArgs, SampleParams, MixLabel) and of
// `augkit::wgpu::Resident`, the bindings (`src/wgpu/bindings.rs`), the
// pipeline-overridable feature switches and the shared constants. Checked by
// tests/wgpu_layout.rs (naga's reflection, member by member) and the
// constants test (tests/support/constants.rs). Joined with the other files
// of kernels/wgsl into one module by src/wgpu/shader.rs.

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

// Invocations per workgroup of each pass (`kernel_args::block`).
const PARAMS_WORKGROUP: u32 = 64u;
const STATS_WORKGROUP: u32 = 256u;
const CONTRAST_WORKGROUP: u32 = 256u;
const PIXELS_WORKGROUP: u32 = 256u;

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
