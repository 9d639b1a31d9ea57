//! The C++ mirrors in kernels/cuda/abi.cuh have the Rust structs' layout:
//! every field at the same offset, the same sizes (g++ `offsetof` vs Rust
//! `offset_of!`). NVRTC uses the same natural alignment rules for these
//! all-4-byte members. And the kernel's shared constants equal Rust's.

#[path = "../../support/constants.rs"]
mod constants;

use std::mem::{offset_of, size_of};

use augkit::cuda::{AutoArgs, SynthArgs};
use augkit::internals::kernel_args::{KernelPolicy, MixLabel, SampleParams, StepArgs};
use augkit_cuda_host::layout;

macro_rules! rust_fields {
    ($t:ty; $($f:ident),* $(,)?) => {
        vec![$((stringify!($f).to_string(), offset_of!($t, $f)),)* ("(size)".to_string(), size_of::<$t>())]
    };
}

fn check(which: u32, name: &str, mut rust: Vec<(String, usize)>) {
    let cpp = layout(which);
    // The C++ `std` member is `std_` (a member named `std` confuses host C++).
    for (n, _) in rust.iter_mut() {
        if n == "std" {
            *n = "std_".into();
        }
    }
    assert_eq!(
        cpp, rust,
        "{name}: C++ (left) and Rust (right) layouts differ"
    );
    println!(
        "{name}: {} fields, {} bytes, identical",
        rust.len() - 1,
        rust.last().unwrap().1
    );
}

#[test]
fn struct_layouts_match() {
    check(
        0,
        "KernelPolicy",
        rust_fields!(KernelPolicy; mean, std, channels, height, width, crop_mode, crop_p, crop_padding,
            resized_area_lo, resized_area_hi, resized_log_ratio_lo, resized_log_ratio_hi,
            resized_ratio_lo, resized_ratio_hi, hflip_p, vflip_p, affine_on, affine_p, degrees_lo,
            translate_x, translate_y, translate_whole, scale_lo, scale_hi, interpolation, fill,
            jitter_ops, jitter_p, brightness_lo, brightness_hi, contrast_lo, contrast_hi,
            saturation_lo, saturation_hi, hue_lo, hue_hi, contrast_mean, mix_mode, mix_ops, mix_p,
            switch_p, mixup_alpha, cutmix_alpha, correct_lambda, out_dtype, out_layout, degrees_hi, synth_mode, synth_p, synth_class_choice,
            synth_components, num_classes, crop_interpolation, auto_mode, auto_num_ops, auto_num_bins, auto_magnitude_bin, auto_interpolation, auto_fill, auto_shear_max, auto_translate_max_x, auto_translate_max_y, auto_rotate_max, auto_enhance_max, auto_posterize_range, erase_p, erase_area_lo, erase_area_hi, erase_log_ratio_lo, erase_log_ratio_hi, erase_mode, erase_value, erase_count_lo, erase_count_hi,
            pool_first, pool_len, _pad_pool),
    );
    check(
        1,
        "StepArgs",
        rust_fields!(StepArgs; seed_lo, seed_hi, epoch, first_position, batch_size, subset_len,
            out_first, out_base),
    );
    check(
        2,
        "SampleParams",
        rust_fields!(SampleParams; dataset_index, label_a, label_b, partner, flags, colour_order, lambda,
            hue, brightness, contrast, saturation, synth_partner, inverse_affine, synth_t, slot,
            window, cut_box, auto_ops, erase_count, _pad0, auto_magnitudes, auto_affine, _pad1, erase_boxes),
    );
    check(
        3,
        "MixLabel",
        rust_fields!(MixLabel; label_a, label_b, lambda),
    );
    check(
        4,
        "SynthArgs",
        rust_fields!(SynthArgs; present, offsets, members, means, basis, sigmas, class_gray,
            coefficients, present_len, _pad),
    );
    check(5, "AutoArgs", rust_fields!(AutoArgs; stats, stage));
}

/// Every enum, flag and draw-slot `#define` of augment.cu that the host
/// emulation exports equals its Rust twin (`tests/support/constants.rs`).
#[test]
fn kernel_constants_match_rust() {
    let compared = constants::check_kernel_constants("augment.cu", &augkit_cuda_host::constants());
    assert!(compared >= 40, "only {compared} CUDA constants compared");
}

/// The CUDA backend sizes the auto-op statistics scratch as the kernel's
/// `AutoStats`.
#[test]
fn auto_stats_size_matches_the_kernel() {
    assert_eq!(
        augkit_cuda_host::auto_stats_words() * 4,
        augkit::cuda::AUTO_STATS_BYTES
    );
}
