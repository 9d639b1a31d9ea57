//! The `#[repr(C)]` structs every backend shares with its kernels. Their
//! layouts are mirrored in `kernels/wgsl/abi.wgsl` and
//! `kernels/cuda/abi.cuh`; tests check the mirrors member by member.

use bytemuck::{Pod, Zeroable};

/// The policy flattened for the kernels: uploaded once per run, read by the
/// parameters and pixel passes. Built only by [`crate::Policy::compile`],
/// which has validated every field. All enums are small integers (see the
/// constants beside each field).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
pub struct KernelPolicy {
    /// Per-channel mean (unused channels 0).
    pub mean: [f32; 4],
    /// Per-channel standard deviation (unused channels 1).
    pub std: [f32; 4],
    pub channels: u32,
    pub height: u32,
    pub width: u32,
    /// `CROP_*`.
    pub crop_mode: u32,
    pub crop_p: f32,
    pub crop_padding: u32,
    pub resized_area_lo: f32,
    pub resized_area_hi: f32,
    pub resized_log_ratio_lo: f32,
    pub resized_log_ratio_hi: f32,
    pub resized_ratio_lo: f32,
    pub resized_ratio_hi: f32,
    pub hflip_p: f32,
    pub vflip_p: f32,
    /// 1 when the affine op is on.
    pub affine_on: u32,
    pub affine_p: f32,
    /// Rotation angle range in degrees, counter-clockwise positive.
    pub degrees_lo: f32,
    pub translate_x: f32,
    pub translate_y: f32,
    /// 1: whole pixels (rounded, ties to even); 0: continuous.
    pub translate_whole: u32,
    pub scale_lo: f32,
    pub scale_hi: f32,
    /// `INTERP_*`.
    pub interpolation: u32,
    pub fill: f32,
    /// `OP_*` bits of the jitter ops that are on (0: jitter off).
    pub jitter_ops: u32,
    pub jitter_p: f32,
    pub brightness_lo: f32,
    pub brightness_hi: f32,
    pub contrast_lo: f32,
    pub contrast_hi: f32,
    pub saturation_lo: f32,
    pub saturation_hi: f32,
    pub hue_lo: f32,
    pub hue_hi: f32,
    /// `CONTRAST_MEAN_*`.
    pub contrast_mean: u32,
    /// `MIX_MODE_*`.
    pub mix_mode: u32,
    /// Bit 0: mixup on; bit 1: cutmix on.
    pub mix_ops: u32,
    pub mix_p: f32,
    pub switch_p: f32,
    pub mixup_alpha: f32,
    pub cutmix_alpha: f32,
    pub correct_lambda: u32,
    /// `DTYPE_*`.
    pub out_dtype: u32,
    /// `LAYOUT_*`.
    pub out_layout: u32,
    pub degrees_hi: f32,
    /// `SYNTH_*` (0: off).
    pub synth_mode: u32,
    /// Probability that a sample is synthetic.
    pub synth_p: f32,
    /// `SYNTH_CLASS_*`: how a PCA sample's class is chosen.
    pub synth_class_choice: u32,
    /// Components per class in the uploaded model (the largest k; set by the
    /// plan after fitting).
    pub synth_components: u32,
    /// Classes in the dataset (set by the plan).
    pub num_classes: u32,
    /// `INTERP_*` of the resized crop's resize (the affine keeps `interpolation`).
    pub crop_interpolation: u32,
    /// `AUTO_*`: TrivialAugment / RandAugment (0: off).
    pub auto_mode: u32,
    /// Auto ops per sample (TrivialAugment 1; RandAugment `num_ops`, at most `MAX_AUTO_OPS`).
    pub auto_num_ops: u32,
    /// `num_magnitude_bins`.
    pub auto_num_bins: u32,
    /// RandAugment's `magnitude` (a bin); TrivialAugment draws a bin per sample.
    pub auto_magnitude_bin: u32,
    /// `INTERP_NEAREST` or `INTERP_BILINEAR`, for the auto geometry ops.
    pub auto_interpolation: u32,
    /// Fill of the auto geometry ops, in [0, 1] pixel units.
    pub auto_fill: f32,
    /// Tops of the magnitude ranges (`linspace(0, max, bins)`): shear,
    /// translation in pixels (x, y), rotation in degrees, and the enhance ops
    /// (brightness, colour, contrast, sharpness).
    pub auto_shear_max: f32,
    pub auto_translate_max_x: f32,
    pub auto_translate_max_y: f32,
    pub auto_rotate_max: f32,
    pub auto_enhance_max: f32,
    /// Posterize bits = 8 − round(bin / ((bins − 1) / range)).
    pub auto_posterize_range: f32,
    /// Random erasing: probability per sample.
    pub erase_p: f32,
    /// Box area as a fraction of the image.
    pub erase_area_lo: f32,
    pub erase_area_hi: f32,
    /// ln of the box aspect-ratio range.
    pub erase_log_ratio_lo: f32,
    pub erase_log_ratio_hi: f32,
    /// `ERASE_*` (0: off).
    pub erase_mode: u32,
    /// `ERASE_CONST`: the value written, in output units (after normalisation).
    pub erase_value: f32,
    /// Boxes per erased sample, drawn uniformly in [lo, hi].
    pub erase_count_lo: u32,
    pub erase_count_hi: u32,
    /// `SYNTH_POOL`: resident index of the first pool image (the number of
    /// real images; set by the plan).
    pub pool_first: u32,
    /// `SYNTH_POOL`: pool images after `pool_first` (set by the plan).
    pub pool_len: u32,
    pub _pad_pool: [u32; 2],
}

pub const SYNTH_OFF: u32 = 0;
pub const SYNTH_PCA: u32 = 1;
pub const SYNTH_INTERPOLATE: u32 = 2;
/// The source image is drawn from the synthetic pool appended to the dataset.
pub const SYNTH_POOL: u32 = 3;

pub const SYNTH_CLASS_TRAINING: u32 = 0;
pub const SYNTH_CLASS_UNIFORM: u32 = 1;
/// Most components a PCA model keeps per class.
pub const MAX_SYNTH_COMPONENTS: u32 = 32;

pub const CROP_NONE: u32 = 0;
pub const CROP_PAD: u32 = 1;
pub const CROP_RESIZED: u32 = 2;

pub const INTERP_NEAREST: u32 = 0;
pub const INTERP_BILINEAR: u32 = 1;
/// torchvision `NEAREST_EXACT`: source index floor((i + ½)·scale).
pub const INTERP_NEAREST_EXACT: u32 = 2;

pub const AUTO_OFF: u32 = 0;
pub const AUTO_TRIVIAL: u32 = 1;
pub const AUTO_RAND: u32 = 2;
/// Most auto ops one sample runs.
pub const MAX_AUTO_OPS: u32 = 2;

/// Auto op ids (`SampleParams::auto_ops`), in the order of torchvision's
/// `_AUGMENTATION_SPACE` (a uniform draw over `AUTO_OP_COUNT` picks one).
pub const AUTO_OP_IDENTITY: u32 = 0;
pub const AUTO_OP_SHEAR_X: u32 = 1;
pub const AUTO_OP_SHEAR_Y: u32 = 2;
pub const AUTO_OP_TRANSLATE_X: u32 = 3;
pub const AUTO_OP_TRANSLATE_Y: u32 = 4;
pub const AUTO_OP_ROTATE: u32 = 5;
pub const AUTO_OP_BRIGHTNESS: u32 = 6;
pub const AUTO_OP_COLOR: u32 = 7;
pub const AUTO_OP_CONTRAST: u32 = 8;
pub const AUTO_OP_SHARPNESS: u32 = 9;
pub const AUTO_OP_POSTERIZE: u32 = 10;
pub const AUTO_OP_SOLARIZE: u32 = 11;
pub const AUTO_OP_AUTOCONTRAST: u32 = 12;
pub const AUTO_OP_EQUALIZE: u32 = 13;
pub const AUTO_OP_COUNT: u32 = 14;
/// Past the sample's last op in `auto_ops`.
pub const AUTO_OP_NONE: u32 = 255;

pub const ERASE_OFF: u32 = 0;
/// The policy's value.
pub const ERASE_CONST: u32 = 1;
/// One standard normal per channel and box (timm `mode="rand"`).
pub const ERASE_CHANNEL: u32 = 2;
/// One standard normal per pixel and channel (timm `mode="pixel"`).
pub const ERASE_PIXEL: u32 = 3;
/// Most erasing boxes per sample.
pub const MAX_ERASE_BOXES: u32 = 4;

/// Colour op ids (as stored in `SampleParams::colour_order`) and their bits
/// in `KernelPolicy::jitter_ops` (`1 << id`).
pub const OP_BRIGHTNESS: u32 = 0;
pub const OP_CONTRAST: u32 = 1;
pub const OP_SATURATION: u32 = 2;
pub const OP_HUE: u32 = 3;

pub const CONTRAST_MEAN_EXACT: u32 = 0;
pub const CONTRAST_MEAN_SOURCE: u32 = 1;

pub const MIX_MODE_BATCH: u32 = 0;
pub const MIX_MODE_PAIR: u32 = 1;
pub const MIX_MODE_ELEM: u32 = 2;

pub const MIX_MIXUP: u32 = 1;
pub const MIX_CUTMIX: u32 = 2;

pub const DTYPE_F32: u32 = 0;
pub const DTYPE_F16: u32 = 1;
pub const DTYPE_BF16: u32 = 2;

pub const LAYOUT_NCHW: u32 = 0;
pub const LAYOUT_NHWC: u32 = 1;

/// What changes from one step to the next: the only bytes a step sends to a
/// device (as immediates / a tiny uniform / kernel arguments).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct StepArgs {
    /// The run seed, low word first: the Philox key.
    pub seed_lo: u32,
    pub seed_hi: u32,
    pub epoch: u32,
    /// Epoch position of the batch's first sample.
    pub first_position: u32,
    pub batch_size: u32,
    /// Length of the subset (index list): the epoch length.
    pub subset_len: u32,
    /// The pixel dispatch's output window, when a step's images are written
    /// by several dispatches (wgpu, over storage-binding limits): its first
    /// unit (global pixel for f32, global output word for f16/bf16), and the
    /// global output word bound at the window's start. 0 for the first or
    /// only window; CUDA always writes one window.
    pub out_first: u32,
    pub out_base: u32,
}

/// The kernel entry points: one name per pass, the same in
/// `kernels/cuda/augment.cu` and `kernels/wgsl/augment.wgsl` (and the one
/// list NVRTC's report and the launchers use)
/// (`augment_pixels_<dtype>` by output dtype).
pub mod entry {
    use super::{DTYPE_BF16, DTYPE_F16};

    /// One thread per sample: [`SampleParams`](super::SampleParams), mix
    /// labels and synthetic coefficients.
    pub const PARAMS: &str = "augment_params";
    /// One block per sample: the TrivialAugment / RandAugment reductions
    /// in op order (Contrast mean, AutoContrast min/max, Equalize LUT; only
    /// with auto ops).
    pub const STATS: &str = "augment_stats";
    /// One block per sample: the contrast means (only with contrast jitter).
    pub const CONTRAST: &str = "augment_contrast";
    /// The fused pixel pass per output dtype.
    pub const PIXELS_F32: &str = "augment_pixels_f32";
    pub const PIXELS_F16: &str = "augment_pixels_f16";
    pub const PIXELS_BF16: &str = "augment_pixels_bf16";
    /// Every entry point, in the order both kernel sources define them.
    pub const ALL: [&str; 6] = [PARAMS, STATS, CONTRAST, PIXELS_F32, PIXELS_F16, PIXELS_BF16];

    /// The pixel pass writing `out_dtype` (a `DTYPE_*` code, as in
    /// `KernelPolicy::out_dtype`).
    pub fn pixels(out_dtype: u32) -> &'static str {
        match out_dtype {
            DTYPE_F16 => PIXELS_F16,
            DTYPE_BF16 => PIXELS_BF16,
            _ => PIXELS_F32,
        }
    }
}

/// Launch shapes shared with the kernels: threads per block of each CUDA
/// pass (`AK_*_THREADS` in `kernels/cuda/abi.cuh`) and invocations per
/// workgroup of each WGSL pass (`*_WORKGROUP` in `kernels/wgsl/abi.wgsl`).
/// The block-per-sample reductions need powers of two. Checked against both
/// kernels by the constants test (`tests/support/constants.rs`).
pub mod block {
    pub const PARAMS_THREADS: u32 = 128;
    pub const STATS_THREADS: u32 = 256;
    pub const CONTRAST_THREADS: u32 = 256;
    pub const PIXELS_THREADS: u32 = 256;
    pub const PARAMS_WORKGROUP: u32 = 64;
    pub const STATS_WORKGROUP: u32 = 256;
    pub const CONTRAST_WORKGROUP: u32 = 256;
    pub const PIXELS_WORKGROUP: u32 = 256;
}

/// `SampleParams::flags` bits.
pub mod flags {
    pub const HFLIP: u32 = 1 << 0;
    pub const VFLIP: u32 = 1 << 1;
    pub const CROPPED: u32 = 1 << 2;
    pub const AFFINE: u32 = 1 << 3;
    pub const JITTER: u32 = 1 << 4;
    pub const MIXED: u32 = 1 << 5;
    pub const CUTMIX: u32 = 1 << 6;
    /// Generated, not read from the dataset (see `KernelPolicy::synth_mode`).
    pub const SYNTHETIC: u32 = 1 << 7;
    /// Ran TrivialAugment / RandAugment ops (`SampleParams::auto_ops`).
    pub const AUTO: u32 = 1 << 8;
    /// Random erasing wrote `SampleParams::erase_count` boxes.
    pub const ERASED: u32 = 1 << 9;
    /// The source image was drawn from the synthetic pool
    /// (`SampleParams::dataset_index` ≥ `KernelPolicy::pool_first`).
    pub const POOL: u32 = 1 << 10;
}

/// Everything random about one output sample, drawn by the parameters pass.
/// A pure function of (policy, seed, epoch, position in epoch, batch slot);
/// tests read it back from every backend and compare.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
pub struct SampleParams {
    /// Image index in the resident dataset (past the real images for a
    /// pool sample: `pool_first` + the drawn pool index).
    pub dataset_index: u32,
    pub label_a: u32,
    /// The partner's label when mixed, else `label_a`.
    pub label_b: u32,
    /// Batch slot of the mix partner (B−1−i), or this sample's own slot.
    pub partner: u32,
    pub flags: u32,
    /// Colour op ids in the order they run, 8 bits each, first in the low
    /// byte; only ops whose bit is in `KernelPolicy::jitter_ops` run.
    pub colour_order: u32,
    /// Weight of this sample in the mix (1 when unmixed).
    pub lambda: f32,
    pub hue: f32,
    pub brightness: f32,
    pub contrast: f32,
    pub saturation: f32,
    /// Interpolated synthetic sample: the dataset index of the second image.
    pub synth_partner: u32,
    /// Output pixel centre (x + ½, y + ½) → source coordinates:
    /// `sx = m[0]·x + m[1]·y + m[2]`, `sy = m[3]·x + m[4]·y + m[5]`.
    /// A resized-crop sample (`CROPPED` with `CROP_RESIZED`) stops at crop
    /// space instead (the W×H resized box: flips and affine only); the pixel
    /// pass resizes the box named by `window` itself (SEMANTICS.md §4).
    pub inverse_affine: [f32; 6],
    /// Interpolated synthetic sample: the weight of `synth_partner`.
    pub synth_t: f32,
    /// This sample's batch slot (rows of the synthetic coefficients).
    pub slot: u32,
    /// Source-pixel window [x0, x1) × [y0, y1) that the affine op sees (the
    /// crop); a tap outside it takes the fill value, a tap inside it but
    /// outside the image is crop padding (0). For a resized-crop sample: the
    /// box that is resized to W×H (always inside the image).
    pub window: [i32; 4],
    /// Cutmix box [x0, x1) × [y0, y1) taken from the partner (empty if none).
    pub cut_box: [u32; 4],
    /// Auto op ids (`AUTO_OP_*`) in the order they run, 8 bits each, first
    /// in the low byte; `AUTO_OP_NONE` past the last.
    pub auto_ops: u32,
    /// Erasing boxes used (0: not erased).
    pub erase_count: u32,
    pub _pad0: [u32; 2],
    /// Each auto op's signed magnitude, as torchvision passes it to the op
    /// (posterize: the bits; translation: before truncation to pixels).
    pub auto_magnitudes: [f32; 4],
    /// Output pixel centre → coordinates in the image before the auto ops,
    /// as `inverse_affine` (the identity when no auto op moves pixels).
    pub auto_affine: [f32; 6],
    pub _pad1: [u32; 2],
    /// Erasing boxes [x0, x1) × [y0, y1) in output pixels.
    pub erase_boxes: [[u32; 4]; MAX_ERASE_BOXES as usize],
}

/// The label outputs of one sample: loss = λ·CE(a) + (1−λ)·CE(b).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
pub struct MixLabel {
    pub label_a: u32,
    pub label_b: u32,
    pub lambda: f32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_multiples_of_sixteen_bytes() {
        for (name, size) in [
            ("KernelPolicy", size_of::<KernelPolicy>()),
            ("StepArgs", size_of::<StepArgs>()),
            ("SampleParams", size_of::<SampleParams>()),
        ] {
            assert_eq!(size % 16, 0, "{name} is {size} bytes");
        }
        assert_eq!(size_of::<SampleParams>(), 240);
        assert_eq!(size_of::<KernelPolicy>(), 336);
        assert_eq!(size_of::<MixLabel>(), 12);
    }
}
