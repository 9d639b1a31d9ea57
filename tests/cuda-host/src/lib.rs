//! Host emulation of `kernels/cuda/augment.cu` (test-only, never published).
//!
//! `build.rs` compiles the kernel source with g++ (C++20, `-ffp-contract=off`)
//! behind `src/shim.hpp`; `src/emu.cpp` holds launchers that run the whole
//! grid on the CPU as `src/cuda/mod.rs` launches it on a GPU. The tests in
//! `tests/` compare every pass with the CPU reference (`augkit::cpu`).
//!
//! Run: `cargo test -p augkit-cuda-host`.

mod backend;

pub use backend::EmuBackend;

use std::ffi::{CStr, c_char, c_void};

use augkit::cuda::{AutoArgs, SynthArgs};
use augkit::internals::kernel_args::{
    KernelPolicy, MixLabel, SYNTH_INTERPOLATE, SYNTH_PCA, SampleParams, StepArgs,
};
use augkit::internals::synthetic::SynthTables;
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
        synth: SynthArgs,
        params: *mut SampleParams,
        mix_labels: *mut MixLabel,
    );
    fn emu_augment_stats(
        policy: *const KernelPolicy,
        step: StepArgs,
        pixels: *const u8,
        synth: SynthArgs,
        params: *const SampleParams,
        auto_args: AutoArgs,
    );
    fn emu_auto_stats_bytes() -> u64;
    fn emu_augment_contrast(
        policy: *const KernelPolicy,
        step: StepArgs,
        pixels: *const u8,
        gray_means: *const f32,
        synth: SynthArgs,
        params: *const SampleParams,
        auto_args: AutoArgs,
        means: *mut f32,
    );
    fn emu_augment_pixels(
        policy: *const KernelPolicy,
        step: StepArgs,
        pixels: *const u8,
        synth: SynthArgs,
        params: *const SampleParams,
        auto_args: AutoArgs,
        means: *const f32,
        dtype: u32,
        out: *mut c_void,
    );
    fn emu_float2half_rn(f: f32) -> u16;
    fn emu_float2bfloat16_rn(f: f32) -> u16;
    fn emu_sincosf_small(x: f32, s: *mut f32, c: *mut f32);
    fn emu_layout(which: u32) -> *const FieldOffset;
    fn emu_constants() -> *const FieldOffset;
}

/// The kernels' synthetic argument over host memory: the tables (when the
/// policy has them) and the step's coefficients (B × K). The pointers are
/// only valid while `tables` and `coefficients` are borrowed.
fn synth_args(tables: Option<&SynthTables>, coefficients: *const f32) -> SynthArgs {
    let Some(t) = tables else {
        return SynthArgs::default();
    };
    let at = |v: &[u32]| v.as_ptr() as u64;
    let at_f = |v: &[f32]| v.as_ptr() as u64;
    SynthArgs {
        present: at(&t.present_classes),
        offsets: at(&t.class_offsets),
        members: at(&t.class_members),
        means: at_f(&t.means),
        basis: at_f(&t.basis),
        sigmas: at_f(&t.sigmas),
        class_gray: at_f(&t.class_gray_means),
        coefficients: coefficients as u64,
        present_len: t.present_classes.len() as u32,
        _pad: 0,
    }
}

/// The parameters pass: `augment_params` over the whole batch. Returns the
/// parameters, the mix labels and the synthetic coefficients (B × K, K =
/// `kernel.synth_components`).
pub fn params(
    kernel: &KernelPolicy,
    args: StepArgs,
    subset: &[u32],
    labels: &[u32],
    synth: Option<&SynthTables>,
) -> (Vec<SampleParams>, Vec<MixLabel>, Vec<f32>) {
    assert_eq!(args.subset_len as usize, subset.len());
    // Tables exist for the modes generated on the device (PCA,
    // interpolation); a pool is read from the resident images.
    let generated = kernel.synth_mode == SYNTH_PCA || kernel.synth_mode == SYNTH_INTERPOLATE;
    assert_eq!(synth.is_some(), generated, "synthetic tables");
    let b = args.batch_size as usize;
    let mut params = vec![SampleParams::default(); b];
    let mut mix = vec![MixLabel::default(); b];
    let mut coefficients = vec![f32::NAN; b * kernel.synth_components as usize];
    let synth = synth_args(synth, coefficients.as_mut_ptr());
    // SAFETY: the kernel reads `subset[..subset_len]`, `labels[index]` for
    // indices from the subset (validated by `Plan`) or the pool (below
    // `pool_first + pool_len`, set by `Plan`), the synthetic tables
    // (borrowed for the call), and writes `b` elements and b × K coefficients.
    unsafe {
        emu_augment_params(
            kernel,
            args,
            subset.as_ptr(),
            labels.as_ptr(),
            synth,
            params.as_mut_ptr(),
            mix.as_mut_ptr(),
        )
    };
    (params, mix, coefficients)
}

/// u32 words of one sample's auto-op statistics (`AutoStats` in augment.cu).
pub fn auto_stats_words() -> usize {
    // SAFETY: pure function.
    let bytes = unsafe { emu_auto_stats_bytes() } as usize;
    assert_eq!(bytes % 4, 0);
    bytes / 4
}

/// What `augment_stats` writes for a step: per sample
/// [`auto_stats_words`] words of statistics (zero where the sample has no
/// reduction op) and, when the policy runs two auto ops per sample, the
/// first stage's image (C·H·W f32; empty otherwise).
pub struct AutoScratch {
    pub stats: Vec<u32>,
    pub stage: Vec<f32>,
}

impl AutoScratch {
    fn args(&self) -> AutoArgs {
        AutoArgs {
            stats: self.stats.as_ptr() as u64,
            stage: if self.stage.is_empty() {
                0
            } else {
                self.stage.as_ptr() as u64
            },
        }
    }
}

/// The auto-op statistics pass over the whole batch.
pub fn auto_stats(
    kernel: &KernelPolicy,
    args: StepArgs,
    dataset: &Dataset,
    synth: Option<&SynthTables>,
    coefficients: &[f32],
    params: &[SampleParams],
) -> AutoScratch {
    assert_eq!(params.len(), args.batch_size as usize);
    assert_eq!(
        coefficients.len(),
        params.len() * kernel.synth_components as usize
    );
    let synth = synth_args(synth, coefficients.as_ptr());
    let two_stages = kernel.auto_mode != 0 && kernel.auto_num_ops >= 2;
    let mut scratch = AutoScratch {
        stats: vec![0u32; params.len() * auto_stats_words()],
        stage: if two_stages {
            vec![f32::NAN; params.len() * dataset.shape().elements()]
        } else {
            Vec::new()
        },
    };
    // Written through: pointers from mutable borrows.
    let auto_args = AutoArgs {
        stats: scratch.stats.as_mut_ptr() as u64,
        stage: if scratch.stage.is_empty() {
            0
        } else {
            scratch.stage.as_mut_ptr() as u64
        },
    };
    // SAFETY: reads images named by `params` (dataset indices in range) and
    // the synthetic tables and coefficients (borrowed), writes the `b`
    // samples' statistics and first stages (sized above).
    unsafe {
        emu_augment_stats(
            kernel,
            args,
            dataset.pixels().as_ptr(),
            synth,
            params.as_ptr(),
            auto_args,
        )
    };
    scratch
}

/// The contrast reduction: one mean per sample (after the auto ops, whose
/// statistics and first stages `auto` holds).
pub fn contrast_means(
    kernel: &KernelPolicy,
    args: StepArgs,
    dataset: &Dataset,
    synth: Option<&SynthTables>,
    coefficients: &[f32],
    params: &[SampleParams],
    auto: &AutoScratch,
) -> Vec<f32> {
    assert_eq!(params.len(), args.batch_size as usize);
    assert_eq!(auto.stats.len(), params.len() * auto_stats_words());
    assert_eq!(
        coefficients.len(),
        params.len() * kernel.synth_components as usize
    );
    let synth = synth_args(synth, coefficients.as_ptr());
    let mut means = vec![f32::NAN; params.len()];
    // SAFETY: reads images named by `params` (dataset indices in range), the
    // synthetic tables and coefficients and the statistics (borrowed),
    // writes `b` means.
    unsafe {
        emu_augment_contrast(
            kernel,
            args,
            dataset.pixels().as_ptr(),
            dataset.gray_means().as_ptr(),
            synth,
            params.as_ptr(),
            auto.args(),
            means.as_mut_ptr(),
        )
    };
    means
}

/// The fused pixel pass in `dtype`, as f32 values (f16/bf16 widened), plus
/// the raw 16-bit patterns for the half types.
#[allow(clippy::too_many_arguments)]
pub fn pixels(
    kernel: &KernelPolicy,
    args: StepArgs,
    dataset: &Dataset,
    synth: Option<&SynthTables>,
    coefficients: &[f32],
    params: &[SampleParams],
    auto: &AutoScratch,
    means: &[f32],
    dtype: DType,
) -> (Vec<f32>, Vec<u16>) {
    assert_eq!(params.len(), args.batch_size as usize);
    assert_eq!(auto.stats.len(), params.len() * auto_stats_words());
    assert_eq!(means.len(), params.len());
    assert_eq!(
        coefficients.len(),
        params.len() * kernel.synth_components as usize
    );
    let synth = synth_args(synth, coefficients.as_ptr());
    let n = params.len() * dataset.shape().elements();
    let run = |code: u32, out: *mut c_void| {
        // SAFETY: `out` holds B·C·H·W elements of the dtype `code` names;
        // the synthetic tables and coefficients are borrowed for the call.
        unsafe {
            emu_augment_pixels(
                kernel,
                args,
                dataset.pixels().as_ptr(),
                synth,
                params.as_ptr(),
                auto.args(),
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

/// The kernel's shared constants (`AK_` names without the prefix) and
/// their values, as augment.cu defines them.
pub fn constants() -> Vec<(String, u64)> {
    // SAFETY: emu_constants returns a static table ending with a null name.
    unsafe { table(emu_constants()) }
        .into_iter()
        .map(|(n, v)| (n, v as u64))
        .collect()
}

/// Reads a static (name, value) table that ends with a null name.
///
/// # Safety
/// `entry` points to such a table.
unsafe fn table(mut entry: *const FieldOffset) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    // SAFETY: per the contract, every entry up to the null name is valid.
    unsafe {
        while !(*entry).name.is_null() {
            let name = CStr::from_ptr((*entry).name).to_string_lossy().into_owned();
            out.push((name, (*entry).offset));
            entry = entry.add(1);
        }
    }
    out
}

/// The C++ field table of a struct: 0 KernelPolicy, 1 StepArgs,
/// 2 SampleParams, 3 MixLabel, 4 SynthArgs, 5 AutoArgs; the last entry is `("(size)", sizeof)`.
pub fn layout(which: u32) -> Vec<(String, usize)> {
    // SAFETY: emu_layout returns a static table ending with a null name.
    unsafe { table(emu_layout(which)) }
}
