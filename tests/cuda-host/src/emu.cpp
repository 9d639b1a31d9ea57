// Host launchers for kernels/cuda/augment.cu: one C function per kernel, each
// running the whole grid the way src/cuda/mod.rs launches it, plus the
// struct layout tables for tests/layout.rs.
#include "shim.hpp"

#include <cstddef>
#include <mutex>
#include <thread>
#include <vector>

#include "augment.cu"

/// One emulated launch at a time: the barrier pointer and __shared__ arrays
/// are process-wide, and the test harness runs tests on several threads.
static std::mutex launch_mutex;

static void set_launch(unsigned grid, unsigned block) {
    gridDim = {grid, 1, 1};
    blockDim = {block, 1, 1};
}

/// Runs a kernel without barriers: every block, every thread, in order.
template <typename F>
static void run_grid(unsigned grid, unsigned block, F kernel) {
    std::lock_guard<std::mutex> lock(launch_mutex);
    set_launch(grid, block);
    for (unsigned b = 0; b < grid; ++b) {
        blockIdx = {b, 0, 0};
        for (unsigned t = 0; t < block; ++t) {
            threadIdx = {t, 0, 0};
            kernel();
        }
    }
}

/// Runs a kernel with __syncthreads: each block's threads as real threads.
template <typename F>
static void run_grid_with_barriers(unsigned grid, unsigned block, F kernel) {
    std::lock_guard<std::mutex> lock(launch_mutex);
    for (unsigned b = 0; b < grid; ++b) {
        std::barrier<> barrier((std::ptrdiff_t)block);
        emu_block_barrier = &barrier;
        std::vector<std::thread> threads;
        threads.reserve(block);
        for (unsigned t = 0; t < block; ++t) {
            threads.emplace_back([=, &kernel] {
                set_launch(grid, block);
                blockIdx = {b, 0, 0};
                threadIdx = {t, 0, 0};
                kernel();
            });
        }
        for (auto& th : threads) th.join();
        emu_block_barrier = nullptr;
    }
}

static unsigned blocks_for(unsigned long long n, unsigned block) {
    return (unsigned)((n + block - 1) / block);
}

extern "C" {

void emu_augment_params(const KernelPolicy* policy, StepArgs step, const u32* subset,
                        const u32* labels, SynthArgs synth, SampleParams* params,
                        MixLabel* mix_labels) {
    run_grid(blocks_for(step.batch_size, AK_PARAMS_THREADS), AK_PARAMS_THREADS,
             [&] { augment_params(policy, step, subset, labels, synth, params, mix_labels); });
}

void emu_augment_stats(const KernelPolicy* policy, StepArgs step, const u8* pixels,
                       SynthArgs synth, const SampleParams* params, AutoArgs auto_args) {
    run_grid_with_barriers(step.batch_size, AK_STATS_THREADS,
                           [&] { augment_stats(policy, step, pixels, synth, params, auto_args); });
}

void emu_augment_contrast(const KernelPolicy* policy, StepArgs step, const u8* pixels,
                          const float* gray_means, SynthArgs synth, const SampleParams* params,
                          AutoArgs auto_args, float* means) {
    run_grid_with_barriers(step.batch_size, AK_CONTRAST_THREADS, [&] {
        augment_contrast(policy, step, pixels, gray_means, synth, params, auto_args, means);
    });
}

/// Bytes of one sample's auto-op statistics (the buffer's stride).
unsigned long long emu_auto_stats_bytes() { return sizeof(AutoStats); }

/// dtype: 0 f32, 1 f16, 2 bf16 (out is then u16 bits).
void emu_augment_pixels(const KernelPolicy* policy, StepArgs step, const u8* pixels,
                        SynthArgs synth, const SampleParams* params, AutoArgs auto_args,
                        const float* means, unsigned dtype, void* out) {
    const unsigned long long total =
        (unsigned long long)step.batch_size * policy->height * policy->width;
    const unsigned grid = blocks_for(total, AK_PIXELS_THREADS);
    if (dtype == 0) {
        run_grid(grid, AK_PIXELS_THREADS, [&] {
            augment_pixels_f32(policy, step, pixels, synth, params, auto_args, means, (float*)out);
        });
    } else if (dtype == 1) {
        run_grid(grid, AK_PIXELS_THREADS, [&] {
            augment_pixels_f16(policy, step, pixels, synth, params, auto_args, means, (ak_half*)out);
        });
    } else {
        run_grid(grid, AK_PIXELS_THREADS, [&] {
            augment_pixels_bf16(policy, step, pixels, synth, params, auto_args, means, (ak_bfloat16*)out);
        });
    }
}

unsigned short emu_float2half_rn(float f) { return ak_float2half_rn(f).bits; }
unsigned short emu_float2bfloat16_rn(float f) { return ak_float2bfloat16_rn(f).bits; }
void emu_sincosf_small(float x, float* s, float* c) { ak_sincosf_small(x, s, c); }

#define AK_FIELD(S, F) {#F, offsetof(S, F)}
struct FieldOffset {
    const char* name;
    size_t offset;
};

static const FieldOffset kernel_policy_fields[] = {
    AK_FIELD(KernelPolicy, mean), AK_FIELD(KernelPolicy, std_),
    AK_FIELD(KernelPolicy, channels), AK_FIELD(KernelPolicy, height),
    AK_FIELD(KernelPolicy, width), AK_FIELD(KernelPolicy, crop_mode),
    AK_FIELD(KernelPolicy, crop_p), AK_FIELD(KernelPolicy, crop_padding),
    AK_FIELD(KernelPolicy, resized_area_lo), AK_FIELD(KernelPolicy, resized_area_hi),
    AK_FIELD(KernelPolicy, resized_log_ratio_lo), AK_FIELD(KernelPolicy, resized_log_ratio_hi),
    AK_FIELD(KernelPolicy, resized_ratio_lo), AK_FIELD(KernelPolicy, resized_ratio_hi),
    AK_FIELD(KernelPolicy, hflip_p), AK_FIELD(KernelPolicy, vflip_p),
    AK_FIELD(KernelPolicy, affine_on), AK_FIELD(KernelPolicy, affine_p),
    AK_FIELD(KernelPolicy, degrees_lo), AK_FIELD(KernelPolicy, translate_x),
    AK_FIELD(KernelPolicy, translate_y), AK_FIELD(KernelPolicy, translate_whole),
    AK_FIELD(KernelPolicy, scale_lo), AK_FIELD(KernelPolicy, scale_hi),
    AK_FIELD(KernelPolicy, interpolation), AK_FIELD(KernelPolicy, fill),
    AK_FIELD(KernelPolicy, jitter_ops), AK_FIELD(KernelPolicy, jitter_p),
    AK_FIELD(KernelPolicy, brightness_lo), AK_FIELD(KernelPolicy, brightness_hi),
    AK_FIELD(KernelPolicy, contrast_lo), AK_FIELD(KernelPolicy, contrast_hi),
    AK_FIELD(KernelPolicy, saturation_lo), AK_FIELD(KernelPolicy, saturation_hi),
    AK_FIELD(KernelPolicy, hue_lo), AK_FIELD(KernelPolicy, hue_hi),
    AK_FIELD(KernelPolicy, contrast_mean), AK_FIELD(KernelPolicy, mix_mode),
    AK_FIELD(KernelPolicy, mix_ops), AK_FIELD(KernelPolicy, mix_p),
    AK_FIELD(KernelPolicy, switch_p), AK_FIELD(KernelPolicy, mixup_alpha),
    AK_FIELD(KernelPolicy, cutmix_alpha), AK_FIELD(KernelPolicy, correct_lambda),
    AK_FIELD(KernelPolicy, out_dtype), AK_FIELD(KernelPolicy, out_layout),
    AK_FIELD(KernelPolicy, degrees_hi), AK_FIELD(KernelPolicy, synth_mode),
    AK_FIELD(KernelPolicy, synth_p), AK_FIELD(KernelPolicy, synth_class_choice),
    AK_FIELD(KernelPolicy, synth_components), AK_FIELD(KernelPolicy, num_classes),
    AK_FIELD(KernelPolicy, crop_interpolation),
    AK_FIELD(KernelPolicy, auto_mode),
    AK_FIELD(KernelPolicy, auto_num_ops),
    AK_FIELD(KernelPolicy, auto_num_bins),
    AK_FIELD(KernelPolicy, auto_magnitude_bin),
    AK_FIELD(KernelPolicy, auto_interpolation),
    AK_FIELD(KernelPolicy, auto_fill),
    AK_FIELD(KernelPolicy, auto_shear_max),
    AK_FIELD(KernelPolicy, auto_translate_max_x),
    AK_FIELD(KernelPolicy, auto_translate_max_y),
    AK_FIELD(KernelPolicy, auto_rotate_max),
    AK_FIELD(KernelPolicy, auto_enhance_max),
    AK_FIELD(KernelPolicy, auto_posterize_range),
    AK_FIELD(KernelPolicy, erase_p),
    AK_FIELD(KernelPolicy, erase_area_lo),
    AK_FIELD(KernelPolicy, erase_area_hi),
    AK_FIELD(KernelPolicy, erase_log_ratio_lo),
    AK_FIELD(KernelPolicy, erase_log_ratio_hi),
    AK_FIELD(KernelPolicy, erase_mode),
    AK_FIELD(KernelPolicy, erase_value),
    AK_FIELD(KernelPolicy, erase_count_lo),
    AK_FIELD(KernelPolicy, erase_count_hi),
    AK_FIELD(KernelPolicy, pool_first),
    AK_FIELD(KernelPolicy, pool_len),
    AK_FIELD(KernelPolicy, _pad_pool),
    {"(size)", sizeof(KernelPolicy)},
    {nullptr, 0},
};

static const FieldOffset step_args_fields[] = {
    AK_FIELD(StepArgs, seed_lo), AK_FIELD(StepArgs, seed_hi), AK_FIELD(StepArgs, epoch),
    AK_FIELD(StepArgs, first_position), AK_FIELD(StepArgs, batch_size),
    AK_FIELD(StepArgs, subset_len), AK_FIELD(StepArgs, out_first),
    AK_FIELD(StepArgs, out_base),
    {"(size)", sizeof(StepArgs)},
    {nullptr, 0},
};

static const FieldOffset sample_params_fields[] = {
    AK_FIELD(SampleParams, dataset_index), AK_FIELD(SampleParams, label_a),
    AK_FIELD(SampleParams, label_b), AK_FIELD(SampleParams, partner),
    AK_FIELD(SampleParams, flags), AK_FIELD(SampleParams, colour_order),
    AK_FIELD(SampleParams, lambda), AK_FIELD(SampleParams, hue),
    AK_FIELD(SampleParams, brightness), AK_FIELD(SampleParams, contrast),
    AK_FIELD(SampleParams, saturation), AK_FIELD(SampleParams, synth_partner),
    AK_FIELD(SampleParams, inverse_affine), AK_FIELD(SampleParams, synth_t),
    AK_FIELD(SampleParams, slot),
    AK_FIELD(SampleParams, window), AK_FIELD(SampleParams, cut_box),
    AK_FIELD(SampleParams, auto_ops),
    AK_FIELD(SampleParams, erase_count),
    AK_FIELD(SampleParams, _pad0),
    AK_FIELD(SampleParams, auto_magnitudes),
    AK_FIELD(SampleParams, auto_affine),
    AK_FIELD(SampleParams, _pad1),
    AK_FIELD(SampleParams, erase_boxes),
    {"(size)", sizeof(SampleParams)},
    {nullptr, 0},
};

static const FieldOffset synth_args_fields[] = {
    AK_FIELD(SynthArgs, present), AK_FIELD(SynthArgs, offsets), AK_FIELD(SynthArgs, members),
    AK_FIELD(SynthArgs, means), AK_FIELD(SynthArgs, basis), AK_FIELD(SynthArgs, sigmas),
    AK_FIELD(SynthArgs, class_gray), AK_FIELD(SynthArgs, coefficients),
    AK_FIELD(SynthArgs, present_len), AK_FIELD(SynthArgs, _pad),
    {"(size)", sizeof(SynthArgs)},
    {nullptr, 0},
};

static const FieldOffset auto_args_fields[] = {
    AK_FIELD(AutoArgs, stats), AK_FIELD(AutoArgs, stage),
    {"(size)", sizeof(AutoArgs)},
    {nullptr, 0},
};

static const FieldOffset mix_label_fields[] = {
    AK_FIELD(MixLabel, label_a), AK_FIELD(MixLabel, label_b), AK_FIELD(MixLabel, lambda),
    {"(size)", sizeof(MixLabel)},
    {nullptr, 0},
};

// The kernel's enum, flag and draw-slot constants, by name without `AK_`
// (compared with Rust's by tests/layout.rs). The values come from augment.cu.
#define AK_CONST(N) {#N, (size_t)(AK_##N)}
static const FieldOffset kernel_constants[] = {
    AK_CONST(CROP_NONE), AK_CONST(CROP_PAD), AK_CONST(INTERP_NEAREST), AK_CONST(OP_BRIGHTNESS),
    AK_CONST(OP_CONTRAST), AK_CONST(OP_SATURATION), AK_CONST(OP_HUE),
    AK_CONST(CONTRAST_MEAN_SOURCE), AK_CONST(MIX_MODE_BATCH), AK_CONST(MIX_MODE_PAIR),
    AK_CONST(MIX_MIXUP), AK_CONST(MIX_CUTMIX), AK_CONST(LAYOUT_NCHW), AK_CONST(FLAG_HFLIP),
    AK_CONST(FLAG_VFLIP), AK_CONST(FLAG_CROPPED), AK_CONST(FLAG_AFFINE), AK_CONST(FLAG_JITTER),
    AK_CONST(FLAG_MIXED), AK_CONST(FLAG_CUTMIX), AK_CONST(FLAG_SYNTHETIC), AK_CONST(SYNTH_OFF),
    AK_CONST(SYNTH_PCA), AK_CONST(SYNTH_INTERPOLATE), AK_CONST(SYNTH_CLASS_UNIFORM),
    AK_CONST(SLOT_SHUFFLE), AK_CONST(SLOT_GEOMETRY_COINS), AK_CONST(SLOT_CROP_X),
    AK_CONST(SLOT_CROP_Y), AK_CONST(SLOT_RESIZED_CROP), AK_CONST(SLOT_RESIZED_CROP_TOP),
    AK_CONST(SLOT_RESIZED_CROP_LEFT), AK_CONST(SLOT_AFFINE), AK_CONST(SLOT_JITTER),
    AK_CONST(SLOT_JITTER_HUE), AK_CONST(SLOT_JITTER_ORDER), AK_CONST(SLOT_MIX),
    AK_CONST(SLOT_BETA_MIXUP), AK_CONST(SLOT_BETA_CUTMIX), AK_CONST(SLOT_CUTMIX_CENTRE_Y),
    AK_CONST(SLOT_CUTMIX_CENTRE_X), AK_CONST(SLOT_SYNTHETIC), AK_CONST(SLOT_SYNTHETIC_CLASS),
    AK_CONST(SLOT_SYNTHETIC_PARTNER), AK_CONST(SLOT_SYNTHETIC_Z), AK_CONST(GAMMA_ATTEMPTS),
    AK_CONST(MAX_ERASE_BOXES), AK_CONST(AUTO_OP_NONE),
    AK_CONST(FLAG_ERASED), AK_CONST(ERASE_OFF), AK_CONST(ERASE_CHANNEL), AK_CONST(ERASE_PIXEL),
    AK_CONST(ERASE_TOP_SUB), AK_CONST(ERASE_LEFT_SUB), AK_CONST(SLOT_ERASE),
    AK_CONST(SLOT_ERASE_BOX), AK_CONST(SLOT_ERASE_VALUE),
    AK_CONST(SYNTH_POOL), AK_CONST(FLAG_POOL), AK_CONST(SLOT_SYNTHETIC_POOL),
    AK_CONST(CROP_RESIZED), AK_CONST(INTERP_BILINEAR), AK_CONST(INTERP_NEAREST_EXACT),
    AK_CONST(FLAG_AUTO), AK_CONST(SLOT_AUTO_OP), AK_CONST(SLOT_AUTO_BIN), AK_CONST(SLOT_AUTO_SIGN),
    AK_CONST(AUTO_OFF), AK_CONST(AUTO_TRIVIAL), AK_CONST(AUTO_RAND), AK_CONST(MAX_AUTO_OPS),
    AK_CONST(AUTO_OP_IDENTITY), AK_CONST(AUTO_OP_SHEAR_X), AK_CONST(AUTO_OP_SHEAR_Y),
    AK_CONST(AUTO_OP_TRANSLATE_X), AK_CONST(AUTO_OP_TRANSLATE_Y), AK_CONST(AUTO_OP_ROTATE),
    AK_CONST(AUTO_OP_BRIGHTNESS), AK_CONST(AUTO_OP_COLOR), AK_CONST(AUTO_OP_CONTRAST),
    AK_CONST(AUTO_OP_SHARPNESS), AK_CONST(AUTO_OP_POSTERIZE), AK_CONST(AUTO_OP_SOLARIZE),
    AK_CONST(AUTO_OP_AUTOCONTRAST), AK_CONST(AUTO_OP_EQUALIZE), AK_CONST(AUTO_OP_COUNT),
    AK_CONST(SHUFFLE_ROUNDS), AK_CONST(PARAMS_THREADS), AK_CONST(STATS_THREADS),
    AK_CONST(CONTRAST_THREADS), AK_CONST(PIXELS_THREADS),
    {nullptr, 0},
};

const FieldOffset* emu_constants() { return kernel_constants; }

/// Field table of a struct (0 KernelPolicy, 1 StepArgs, 2 SampleParams,
/// 3 MixLabel, 4 SynthArgs, 5 AutoArgs), ending with ("(size)", sizeof) and a null name.
const FieldOffset* emu_layout(unsigned which) {
    switch (which) {
        case 0: return kernel_policy_fields;
        case 1: return step_args_fields;
        case 2: return sample_params_fields;
        case 4: return synth_args_fields;
        case 5: return auto_args_fields;
        default: return mix_label_fields;
    }
}

}  // extern "C"
