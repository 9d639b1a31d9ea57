//! Host emulation of `kernels/cuda/augment.cu` (test-only, never published).
//!
//! `build.rs` compiles the kernel source with g++ (C++20, `-ffp-contract=off`)
//! behind `src/shim.hpp`; `src/emu.cpp` holds launchers that run the whole
//! grid on the CPU as `src/cuda/mod.rs` launches it on a GPU. The tests in
//! `tests/` compare every pass with the CPU reference (`augkit::cpu`).
//!
//! Run: `cargo test -p augkit-cuda-host`.

use std::ffi::{CStr, c_char, c_void};

use augkit::kernel_args::{KernelPolicy, MixLabel, SampleParams, StepArgs};
use augkit::{DType, Dataset};

#[repr(C)]
struct FieldOffset {
    name: *const c_char,
    offset: usize,
}

unsafe extern "C" {
    fn emu_augment_params(
        policy: *const KernelPolicy,
        step: StepArgs,
        subset: *const u32,
        labels: *const u32,
        params: *mut SampleParams,
        mix_labels: *mut MixLabel,
    );
    fn emu_augment_contrast(
        policy: *const KernelPolicy,
        step: StepArgs,
        pixels: *const u8,
        gray_means: *const f32,
        params: *const SampleParams,
        means: *mut f32,
    );
    fn emu_augment_pixels(
        policy: *const KernelPolicy,
        step: StepArgs,
        pixels: *const u8,
        params: *const SampleParams,
        means: *const f32,
        dtype: u32,
        out: *mut c_void,
    );
    fn emu_float2half_rn(f: f32) -> u16;
    fn emu_float2bfloat16_rn(f: f32) -> u16;
    fn emu_sincosf_small(x: f32, s: *mut f32, c: *mut f32);
    fn emu_layout(which: u32) -> *const FieldOffset;
}

/// The parameters pass: `augment_params` over the whole batch.
pub fn params(
    kernel: &KernelPolicy,
    args: StepArgs,
    subset: &[u32],
    labels: &[u32],
) -> (Vec<SampleParams>, Vec<MixLabel>) {
    assert_eq!(args.subset_len as usize, subset.len());
    let b = args.batch_size as usize;
    let mut params = vec![SampleParams::default(); b];
    let mut mix = vec![MixLabel::default(); b];
    // SAFETY: the kernel reads `subset[..subset_len]` and `labels[index]` for
    // indices from the subset (validated by `Plan`), and writes `b` elements.
    unsafe {
        emu_augment_params(
            kernel,
            args,
            subset.as_ptr(),
            labels.as_ptr(),
            params.as_mut_ptr(),
            mix.as_mut_ptr(),
        )
    };
    (params, mix)
}

/// The contrast reduction: one mean per sample.
pub fn contrast_means(
    kernel: &KernelPolicy,
    args: StepArgs,
    dataset: &Dataset,
    params: &[SampleParams],
) -> Vec<f32> {
    assert_eq!(params.len(), args.batch_size as usize);
    let mut means = vec![f32::NAN; params.len()];
    // SAFETY: reads images named by `params` (dataset indices in range), writes `b` means.
    unsafe {
        emu_augment_contrast(
            kernel,
            args,
            dataset.pixels().as_ptr(),
            dataset.gray_means().as_ptr(),
            params.as_ptr(),
            means.as_mut_ptr(),
        )
    };
    means
}

/// The fused pixel pass in `dtype`, as f32 values (f16/bf16 widened), plus
/// the raw 16-bit patterns for the half types.
pub fn pixels(
    kernel: &KernelPolicy,
    args: StepArgs,
    dataset: &Dataset,
    params: &[SampleParams],
    means: &[f32],
    dtype: DType,
) -> (Vec<f32>, Vec<u16>) {
    assert_eq!(params.len(), args.batch_size as usize);
    assert_eq!(means.len(), params.len());
    let n = params.len() * dataset.shape().elements();
    let run = |code: u32, out: *mut c_void| {
        // SAFETY: `out` holds B·C·H·W elements of the dtype `code` names.
        unsafe {
            emu_augment_pixels(
                kernel,
                args,
                dataset.pixels().as_ptr(),
                params.as_ptr(),
                means.as_ptr(),
                code,
                out,
            )
        }
    };
    match dtype {
        DType::F32 => {
            let mut out = vec![f32::NAN; n];
            run(0, out.as_mut_ptr().cast());
            (out, Vec::new())
        }
        DType::F16 => {
            let mut bits = vec![0xffffu16; n];
            run(1, bits.as_mut_ptr().cast());
            let values = bits
                .iter()
                .map(|&b| half::f16::from_bits(b).to_f32())
                .collect();
            (values, bits)
        }
        DType::Bf16 => {
            let mut bits = vec![0xffffu16; n];
            run(2, bits.as_mut_ptr().cast());
            let values = bits
                .iter()
                .map(|&b| half::bf16::from_bits(b).to_f32())
                .collect();
            (values, bits)
        }
    }
}

/// The prelude's f32 → f16 conversion.
pub fn float2half_rn(f: f32) -> u16 {
    // SAFETY: pure function.
    unsafe { emu_float2half_rn(f) }
}

/// The prelude's f32 → bf16 conversion.
pub fn float2bfloat16_rn(f: f32) -> u16 {
    // SAFETY: pure function.
    unsafe { emu_float2bfloat16_rn(f) }
}

/// The prelude's small-argument (sin, cos).
pub fn sincosf_small(x: f32) -> (f32, f32) {
    let (mut s, mut c) = (0.0, 0.0);
    // SAFETY: writes two floats.
    unsafe { emu_sincosf_small(x, &mut s, &mut c) };
    (s, c)
}

/// The C++ field table of a struct: 0 KernelPolicy, 1 StepArgs,
/// 2 SampleParams, 3 MixLabel; the last entry is `("(size)", sizeof)`.
pub fn layout(which: u32) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    // SAFETY: emu_layout returns a static table ending with a null name.
    unsafe {
        let mut entry = emu_layout(which);
        while !(*entry).name.is_null() {
            let name = CStr::from_ptr((*entry).name).to_string_lossy().into_owned();
            out.push((name, (*entry).offset));
            entry = entry.add(1);
        }
    }
    out
}
