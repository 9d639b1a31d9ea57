//! Every constant the Rust side shares with the kernels (enums, flag bits,
//! draw slots, shuffle rounds, block and workgroup sizes), under the name the kernels give it: `NAME` in WGSL,
//! `AK_NAME` in CUDA. `tests/wgpu_layout.rs` compares the WGSL `const`s
//! (read by naga) and `tests/cuda-host/tests/layout.rs` the CUDA `#define`s
//! (exported by the host emulation) with this table.

use augkit::internals::draws::{ERASE_LEFT_SUB, ERASE_TOP_SUB, GAMMA_ATTEMPTS, slot};
use augkit::internals::kernel_args::*;
use augkit::internals::shuffle::ROUNDS as SHUFFLE_ROUNDS;

/// (kernel name, Rust value).
pub fn shared() -> Vec<(&'static str, u32)> {
    vec![
        ("CROP_NONE", CROP_NONE),
        ("CROP_PAD", CROP_PAD),
        ("CROP_RESIZED", CROP_RESIZED),
        ("INTERP_NEAREST", INTERP_NEAREST),
        ("INTERP_BILINEAR", INTERP_BILINEAR),
        ("INTERP_NEAREST_EXACT", INTERP_NEAREST_EXACT),
        ("AUTO_OFF", AUTO_OFF),
        ("AUTO_TRIVIAL", AUTO_TRIVIAL),
        ("AUTO_RAND", AUTO_RAND),
        ("MAX_AUTO_OPS", MAX_AUTO_OPS),
        ("AUTO_OP_IDENTITY", AUTO_OP_IDENTITY),
        ("AUTO_OP_SHEAR_X", AUTO_OP_SHEAR_X),
        ("AUTO_OP_SHEAR_Y", AUTO_OP_SHEAR_Y),
        ("AUTO_OP_TRANSLATE_X", AUTO_OP_TRANSLATE_X),
        ("AUTO_OP_TRANSLATE_Y", AUTO_OP_TRANSLATE_Y),
        ("AUTO_OP_ROTATE", AUTO_OP_ROTATE),
        ("AUTO_OP_BRIGHTNESS", AUTO_OP_BRIGHTNESS),
        ("AUTO_OP_COLOR", AUTO_OP_COLOR),
        ("AUTO_OP_CONTRAST", AUTO_OP_CONTRAST),
        ("AUTO_OP_SHARPNESS", AUTO_OP_SHARPNESS),
        ("AUTO_OP_POSTERIZE", AUTO_OP_POSTERIZE),
        ("AUTO_OP_SOLARIZE", AUTO_OP_SOLARIZE),
        ("AUTO_OP_AUTOCONTRAST", AUTO_OP_AUTOCONTRAST),
        ("AUTO_OP_EQUALIZE", AUTO_OP_EQUALIZE),
        ("AUTO_OP_COUNT", AUTO_OP_COUNT),
        ("AUTO_OP_NONE", AUTO_OP_NONE),
        ("ERASE_OFF", ERASE_OFF),
        ("ERASE_CONST", ERASE_CONST),
        ("ERASE_CHANNEL", ERASE_CHANNEL),
        ("ERASE_PIXEL", ERASE_PIXEL),
        ("MAX_ERASE_BOXES", MAX_ERASE_BOXES),
        ("ERASE_TOP_SUB", ERASE_TOP_SUB),
        ("ERASE_LEFT_SUB", ERASE_LEFT_SUB),
        ("OP_BRIGHTNESS", OP_BRIGHTNESS),
        ("OP_CONTRAST", OP_CONTRAST),
        ("OP_SATURATION", OP_SATURATION),
        ("OP_HUE", OP_HUE),
        ("CONTRAST_MEAN_EXACT", CONTRAST_MEAN_EXACT),
        ("CONTRAST_MEAN_SOURCE", CONTRAST_MEAN_SOURCE),
        ("MIX_MODE_BATCH", MIX_MODE_BATCH),
        ("MIX_MODE_PAIR", MIX_MODE_PAIR),
        ("MIX_MODE_ELEM", MIX_MODE_ELEM),
        ("MIX_MIXUP", MIX_MIXUP),
        ("MIX_CUTMIX", MIX_CUTMIX),
        ("DTYPE_F32", DTYPE_F32),
        ("DTYPE_F16", DTYPE_F16),
        ("DTYPE_BF16", DTYPE_BF16),
        ("LAYOUT_NCHW", LAYOUT_NCHW),
        ("LAYOUT_NHWC", LAYOUT_NHWC),
        ("SYNTH_OFF", SYNTH_OFF),
        ("SYNTH_PCA", SYNTH_PCA),
        ("SYNTH_INTERPOLATE", SYNTH_INTERPOLATE),
        ("SYNTH_POOL", SYNTH_POOL),
        ("SYNTH_CLASS_TRAINING", SYNTH_CLASS_TRAINING),
        ("SYNTH_CLASS_UNIFORM", SYNTH_CLASS_UNIFORM),
        ("MAX_SYNTH_COMPONENTS", MAX_SYNTH_COMPONENTS),
        ("FLAG_HFLIP", flags::HFLIP),
        ("FLAG_VFLIP", flags::VFLIP),
        ("FLAG_CROPPED", flags::CROPPED),
        ("FLAG_AFFINE", flags::AFFINE),
        ("FLAG_JITTER", flags::JITTER),
        ("FLAG_MIXED", flags::MIXED),
        ("FLAG_CUTMIX", flags::CUTMIX),
        ("FLAG_SYNTHETIC", flags::SYNTHETIC),
        ("FLAG_AUTO", flags::AUTO),
        ("FLAG_ERASED", flags::ERASED),
        ("FLAG_POOL", flags::POOL),
        ("SLOT_SHUFFLE", slot::SHUFFLE),
        ("SLOT_GEOMETRY_COINS", slot::GEOMETRY_COINS),
        ("SLOT_CROP_X", slot::CROP_X),
        ("SLOT_CROP_Y", slot::CROP_Y),
        ("SLOT_RESIZED_CROP", slot::RESIZED_CROP),
        ("SLOT_RESIZED_CROP_TOP", slot::RESIZED_CROP_TOP),
        ("SLOT_RESIZED_CROP_LEFT", slot::RESIZED_CROP_LEFT),
        ("SLOT_AFFINE", slot::AFFINE),
        ("SLOT_JITTER", slot::JITTER),
        ("SLOT_JITTER_HUE", slot::JITTER_HUE),
        ("SLOT_JITTER_ORDER", slot::JITTER_ORDER),
        ("SLOT_MIX", slot::MIX),
        ("SLOT_BETA_MIXUP", slot::BETA_MIXUP),
        ("SLOT_BETA_CUTMIX", slot::BETA_CUTMIX),
        ("SLOT_CUTMIX_CENTRE_Y", slot::CUTMIX_CENTRE_Y),
        ("SLOT_CUTMIX_CENTRE_X", slot::CUTMIX_CENTRE_X),
        ("SLOT_SYNTHETIC", slot::SYNTHETIC),
        ("SLOT_SYNTHETIC_CLASS", slot::SYNTHETIC_CLASS),
        ("SLOT_SYNTHETIC_PARTNER", slot::SYNTHETIC_PARTNER),
        ("SLOT_SYNTHETIC_Z", slot::SYNTHETIC_Z),
        ("SLOT_ERASE", slot::ERASE),
        ("SLOT_ERASE_BOX", slot::ERASE_BOX),
        ("SLOT_ERASE_VALUE", slot::ERASE_VALUE),
        ("SLOT_AUTO_OP", slot::AUTO_OP),
        ("SLOT_AUTO_BIN", slot::AUTO_BIN),
        ("SLOT_AUTO_SIGN", slot::AUTO_SIGN),
        ("SLOT_SYNTHETIC_POOL", slot::SYNTHETIC_POOL),
        ("GAMMA_ATTEMPTS", GAMMA_ATTEMPTS),
        ("SHUFFLE_ROUNDS", SHUFFLE_ROUNDS),
        ("PARAMS_THREADS", block::PARAMS_THREADS),
        ("STATS_THREADS", block::STATS_THREADS),
        ("CONTRAST_THREADS", block::CONTRAST_THREADS),
        ("PIXELS_THREADS", block::PIXELS_THREADS),
        ("PARAMS_WORKGROUP", block::PARAMS_WORKGROUP),
        ("STATS_WORKGROUP", block::STATS_WORKGROUP),
        ("CONTRAST_WORKGROUP", block::CONTRAST_WORKGROUP),
        ("PIXELS_WORKGROUP", block::PIXELS_WORKGROUP),
    ]
}

/// Name prefixes of kernel constants that mirror a Rust one: a kernel
/// constant with one of them must be in [`shared`] (so a constant added on
/// one side only fails).
pub const SHARED_PREFIXES: [&str; 24] = [
    "AUTO_",
    "ERASE_",
    "MAX_AUTO_",
    "MAX_ERASE_",
    "CROP_",
    "INTERP_",
    "OP_",
    "CONTRAST_MEAN_",
    "MIX_",
    "DTYPE_",
    "LAYOUT_",
    "SYNTH_",
    "FLAG_",
    "SLOT_",
    "GAMMA_ATTEMPTS",
    "SHUFFLE_ROUNDS",
    "PARAMS_THREADS",
    "STATS_THREADS",
    "CONTRAST_THREADS",
    "PIXELS_THREADS",
    "PARAMS_WORKGROUP",
    "STATS_WORKGROUP",
    "CONTRAST_WORKGROUP",
    "PIXELS_WORKGROUP",
];

/// Compares a kernel's constants (name without `AK_`, value) with
/// [`shared`]: every kernel constant of a shared prefix is in the table with
/// the same value. Returns how many were compared.
pub fn check_kernel_constants(kernel: &str, found: &[(String, u64)]) -> usize {
    let table = shared();
    let mut compared = 0;
    let mut faults = Vec::new();
    for (name, value) in found {
        if !SHARED_PREFIXES.iter().any(|p| name.starts_with(p)) {
            continue;
        }
        match table.iter().find(|(n, _)| n == name) {
            Some(&(_, rust)) if u64::from(rust) == *value => compared += 1,
            Some(&(_, rust)) => faults.push(format!("{name}: {kernel} {value}, Rust {rust}")),
            None => faults.push(format!("{name} = {value} in {kernel} has no Rust twin")),
        }
    }
    assert!(faults.is_empty(), "{kernel} constants: {faults:#?}");
    println!("{kernel}: {compared} constants equal to Rust's");
    compared
}
