//! The CUDA-only by-value kernel arguments: the synthetic tables and the
//! auto-op scratch, mirrors of `SynthArgs` and `AutoArgs` in
//! `kernels/cuda/abi.cuh` (checked by `tests/cuda-host/tests/layout.rs`).

/// The synthetic tables and the step's coefficient scratch as every kernel
/// receives them (by value): mirrors `SynthArgs` in `kernels/cuda/abi.cuh`
/// (device addresses, 0 when the policy makes no synthetic samples; the host
/// emulation passes host addresses).
#[doc(hidden)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SynthArgs {
    /// u32 × present classes, ascending.
    pub present: u64,
    /// u32 × (classes + 1) offsets into `members`.
    pub offsets: u64,
    /// u32 subset images grouped by class.
    pub members: u64,
    /// f32 × classes × D.
    pub means: u64,
    /// f32 × classes × K × D.
    pub basis: u64,
    /// f32 × classes × K.
    pub sigmas: u64,
    /// f32 × classes.
    pub class_gray: u64,
    /// f32 × B × K, written by `augment_params`.
    pub coefficients: u64,
    pub present_len: u32,
    pub _pad: u32,
}

/// The auto-op scratch every pass after the parameters receives (by
/// value): mirrors `AutoArgs` in `kernels/cuda/abi.cuh` (device
/// addresses; the host emulation passes host addresses).
#[doc(hidden)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AutoArgs {
    /// B × `AUTO_STATS_BYTES` statistics.
    pub stats: u64,
    /// f32 × B × C·H·W: the first of two auto stages (0 when the policy
    /// runs one auto op per sample).
    pub stage: u64,
}
