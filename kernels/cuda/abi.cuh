// abi.cuh — the kernels' argument structs and shared constants: mirrors of
// `src/kernel_args.rs` (KernelPolicy, StepArgs, SampleParams, MixLabel, the
// enums and flags) and of `src/cuda/args.rs` (SynthArgs, AutoArgs), member
// for member. Checked by tests/cuda-host/tests/layout.rs (offsetof against
// offset_of!) and the constants test (tests/support/constants.rs).
// Included by augment.cu, after prelude.cuh.

struct KernelPolicy {
    float mean[4];
    float std_[4];
    u32 channels;
    u32 height;
    u32 width;
    u32 crop_mode;
    float crop_p;
    u32 crop_padding;
    float resized_area_lo;
    float resized_area_hi;
    float resized_log_ratio_lo;
    float resized_log_ratio_hi;
    float resized_ratio_lo;
    float resized_ratio_hi;
    float hflip_p;
    float vflip_p;
    u32 affine_on;
    float affine_p;
    float degrees_lo;
    float translate_x;
    float translate_y;
    u32 translate_whole;
    float scale_lo;
    float scale_hi;
    u32 interpolation;
    float fill;
    u32 jitter_ops;
    float jitter_p;
    float brightness_lo;
    float brightness_hi;
    float contrast_lo;
    float contrast_hi;
    float saturation_lo;
    float saturation_hi;
    float hue_lo;
    float hue_hi;
    u32 contrast_mean;
    u32 mix_mode;
    u32 mix_ops;
    float mix_p;
    float switch_p;
    float mixup_alpha;
    float cutmix_alpha;
    u32 correct_lambda;
    u32 out_dtype;
    u32 out_layout;
    float degrees_hi;
    u32 synth_mode;
    float synth_p;
    u32 synth_class_choice;
    u32 synth_components;
    u32 num_classes;
    u32 crop_interpolation;
    u32 auto_mode;
    u32 auto_num_ops;
    u32 auto_num_bins;
    u32 auto_magnitude_bin;
    u32 auto_interpolation;
    float auto_fill;
    float auto_shear_max;
    float auto_translate_max_x;
    float auto_translate_max_y;
    float auto_rotate_max;
    float auto_enhance_max;
    float auto_posterize_range;
    float erase_p;
    float erase_area_lo;
    float erase_area_hi;
    float erase_log_ratio_lo;
    float erase_log_ratio_hi;
    u32 erase_mode;
    float erase_value;
    u32 erase_count_lo;
    u32 erase_count_hi;
    u32 pool_first;
    u32 pool_len;
    u32 _pad_pool[2];
};

struct StepArgs {
    u32 seed_lo;
    u32 seed_hi;
    u32 epoch;
    u32 first_position;
    u32 batch_size;
    u32 subset_len;
    // The output window (wgpu's split pixel dispatches); CUDA writes one
    // window, so both are 0 here.
    u32 out_first;
    u32 out_base;
};

#define AK_MAX_ERASE_BOXES 4u
#define AK_AUTO_OP_NONE 255u

struct SampleParams {
    u32 dataset_index;
    u32 label_a;
    u32 label_b;
    u32 partner;
    u32 flags;
    u32 colour_order;
    float lambda;
    float hue;
    float brightness;
    float contrast;
    float saturation;
    u32 synth_partner;
    float inverse_affine[6];
    float synth_t;
    u32 slot;
    i32 window[4];
    u32 cut_box[4];
    u32 auto_ops;
    u32 erase_count;
    u32 _pad0[2];
    float auto_magnitudes[4];
    float auto_affine[6];
    u32 _pad1[2];
    u32 erase_boxes[AK_MAX_ERASE_BOXES][4];
};

struct MixLabel {
    u32 label_a;
    u32 label_b;
    float lambda;
};

/// The synthetic tables (src/synthetic.rs `SynthTables`, uploaded once) and
/// the step's coefficient scratch, passed by value to every kernel. Mirrors
/// `augkit::cuda::SynthArgs` (device addresses as u64 there). All null when
/// the policy makes no synthetic samples.
struct SynthArgs {
    const u32* present;      // classes with an image in the subset, ascending
    const u32* offsets;      // classes + 1 offsets into `members`
    const u32* members;      // subset images grouped by class, ascending
    const float* means;      // classes × D class means (PCA)
    const float* basis;      // classes × K × D unit directions (PCA)
    const float* sigmas;     // classes × K standard deviations (PCA)
    const float* class_gray; // classes: gray mean of each class mean (PCA)
    float* coefficients;     // B × K: σ_j·z_j per sample (written by augment_params)
    u32 present_len;
    u32 _pad;
};

#define AK_CROP_NONE 0u
#define AK_CROP_PAD 1u
#define AK_CROP_RESIZED 2u
#define AK_INTERP_NEAREST 0u
#define AK_INTERP_BILINEAR 1u
#define AK_INTERP_NEAREST_EXACT 2u
#define AK_OP_BRIGHTNESS 0u
#define AK_OP_CONTRAST 1u
#define AK_OP_SATURATION 2u
#define AK_OP_HUE 3u
#define AK_CONTRAST_MEAN_SOURCE 1u
#define AK_MIX_MODE_BATCH 0u
#define AK_MIX_MODE_PAIR 1u
#define AK_MIX_MIXUP 1u
#define AK_MIX_CUTMIX 2u
#define AK_LAYOUT_NCHW 0u

#define AK_FLAG_HFLIP (1u << 0)
#define AK_FLAG_VFLIP (1u << 1)
#define AK_FLAG_CROPPED (1u << 2)
#define AK_FLAG_AFFINE (1u << 3)
#define AK_FLAG_JITTER (1u << 4)
#define AK_FLAG_MIXED (1u << 5)
#define AK_FLAG_CUTMIX (1u << 6)
#define AK_FLAG_SYNTHETIC (1u << 7)
#define AK_FLAG_ERASED (1u << 9)
#define AK_FLAG_POOL (1u << 10)

#define AK_ERASE_OFF 0u
#define AK_ERASE_CHANNEL 2u
#define AK_ERASE_PIXEL 3u
#define AK_ERASE_TOP_SUB 64u
#define AK_ERASE_LEFT_SUB 128u
#define AK_FLAG_AUTO (1u << 8)

#define AK_SYNTH_OFF 0u
#define AK_SYNTH_PCA 1u
#define AK_SYNTH_INTERPOLATE 2u
#define AK_SYNTH_POOL 3u
#define AK_SYNTH_CLASS_UNIFORM 1u

// TrivialAugment / RandAugment (the auto ops).
#define AK_AUTO_OFF 0u
#define AK_AUTO_TRIVIAL 1u
#define AK_AUTO_RAND 2u
#define AK_MAX_AUTO_OPS 2u
#define AK_AUTO_OP_IDENTITY 0u
#define AK_AUTO_OP_SHEAR_X 1u
#define AK_AUTO_OP_SHEAR_Y 2u
#define AK_AUTO_OP_TRANSLATE_X 3u
#define AK_AUTO_OP_TRANSLATE_Y 4u
#define AK_AUTO_OP_ROTATE 5u
#define AK_AUTO_OP_BRIGHTNESS 6u
#define AK_AUTO_OP_COLOR 7u
#define AK_AUTO_OP_CONTRAST 8u
#define AK_AUTO_OP_SHARPNESS 9u
#define AK_AUTO_OP_POSTERIZE 10u
#define AK_AUTO_OP_SOLARIZE 11u
#define AK_AUTO_OP_AUTOCONTRAST 12u
#define AK_AUTO_OP_EQUALIZE 13u
#define AK_AUTO_OP_COUNT 14u

#define AK_PARAMS_THREADS 128
#define AK_STATS_THREADS 256
#define AK_CONTRAST_THREADS 256
#define AK_PIXELS_THREADS 256

/// One reduction op's statistics, of the image as it stands before the op
/// (written by augment_stats, read by the later passes).
#define AK_AUTO_LUT_WORDS 192u
struct AutoStat {
    float mean;   // Contrast: mean grayscale
    float lo[3];  // AutoContrast: per-channel minimum
    float hi[3];  // and maximum
    u32 _pad;
    u32 lut[AK_AUTO_LUT_WORDS];  // Equalize: byte c·256 + level, 4 per word
};

/// A sample's statistics, one slot per op index.
struct AutoStats {
    AutoStat op[AK_MAX_AUTO_OPS];
};
/// The auto-op arguments every pass after the parameters gets by value:
/// B statistics and, for samples with two stages, the image after the
/// first stage (B × C·H·W f32, written by augment_stats; null when the
/// policy runs one op per sample). Mirrors `augkit::cuda::AutoArgs`.
struct AutoArgs {
    AutoStats* stats;
    float* stage;
};
