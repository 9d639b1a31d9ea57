//! Typed errors. Each names what was wrong and the value that was wrong, and
//! is returned before any kernel launches.

use thiserror::Error;

/// A policy field that cannot be used, or a policy file that cannot be read.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum PolicyError {
    #[error("cannot parse policy from {source_name}: {message}")]
    Parse {
        source_name: String,
        message: String,
    },
    #[error("policy field `{field}` is {value}, which is not a finite number")]
    NotFinite { field: &'static str, value: f32 },
    #[error("policy field `{field}` is {value}, outside {expected}")]
    OutOfRange {
        field: &'static str,
        value: f32,
        expected: &'static str,
    },
    /// A count (ops, bins, boxes, components) outside its range; the value
    /// is kept as the integer it was written as (an f32 would print
    /// 4294967295 as 4294967300).
    #[error("policy field `{field}` is {value}, outside {expected}")]
    CountOutOfRange {
        field: &'static str,
        value: u64,
        expected: &'static str,
    },
    /// A value the policy writes into the output (a normalised pixel, an
    /// erasing constant) that is not finite in the output dtype or beyond
    /// [`MAX_OUTPUT_MAGNITUDE`](crate::policy::MAX_OUTPUT_MAGNITUDE).
    #[error(
        "policy field `{field}` makes channel {channel} of the output reach ±{largest:e}, beyond \
         the ±{limit:e} a {dtype} output allows ({reason})"
    )]
    OutputRange {
        field: &'static str,
        channel: u32,
        largest: f32,
        dtype: &'static str,
        limit: f32,
        reason: &'static str,
    },
    #[error("policy field `{field}` is the inverted range [{lo}, {hi}]")]
    Inverted {
        field: &'static str,
        lo: f32,
        hi: f32,
    },
    #[error("policy field `{field}` has {got} values but the images have {expected} channels")]
    ChannelCount {
        field: &'static str,
        got: usize,
        expected: u32,
    },
    #[error("policy field `{field}` = {value} is not supported: {reason}")]
    NotSupported {
        field: &'static str,
        value: &'static str,
        reason: &'static str,
    },
    #[error("policy field `{field}` = {value} does not fit images of {height}×{width}: {reason}")]
    DoesNotFit {
        field: &'static str,
        value: u32,
        height: u32,
        width: u32,
        reason: &'static str,
    },
    #[error("policy sections `{field}` and `{other}` cannot both be present: {reason}")]
    Conflict {
        field: &'static str,
        other: &'static str,
        reason: &'static str,
    },
    #[error("policy field `{field}` is missing: {reason}")]
    Missing {
        field: &'static str,
        reason: &'static str,
    },
    #[error("policy field `{field}` must not be given: {reason}")]
    Unexpected {
        field: &'static str,
        reason: &'static str,
    },
}

/// A synthetic pool ([`SyntheticPool`](crate::SyntheticPool)) that cannot be
/// used, or that does not fit the dataset it is attached to.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum PoolError {
    #[error("the synthetic pool has no images")]
    Empty,
    #[error(
        "the synthetic pool holds {images} images, more than the limit of {limit} (MAX_POOL_IMAGES)"
    )]
    TooManyImages { images: usize, limit: usize },
    #[error(
        "the synthetic pool holds {bytes} pixel bytes, more than the limit of {limit} (MAX_POOL_BYTES)"
    )]
    TooManyBytes { bytes: u64, limit: u64 },
    #[error(
        "the synthetic pool has {pixels} pixel bytes for {images} labels of {channels}×{height}×{width} images (expected {expected})"
    )]
    Length {
        pixels: usize,
        images: usize,
        channels: u32,
        height: u32,
        width: u32,
        expected: usize,
    },
    #[error(
        "label {label} of synthetic pool image {index} is not below num_classes = {num_classes}"
    )]
    LabelOutOfRange {
        index: usize,
        label: u32,
        num_classes: u32,
    },
    #[error("the synthetic pool's num_classes must be at least 1")]
    NoClasses,
    #[error(
        "the synthetic pool's images are {pool:?} but the dataset's are {dataset:?} (channels, height, width)"
    )]
    ShapeMismatch {
        pool: (u32, u32, u32),
        dataset: (u32, u32, u32),
    },
    #[error("the synthetic pool has {pool} classes but the dataset has {dataset}")]
    ClassCountMismatch { pool: u32, dataset: u32 },
    #[error("the dataset already has a synthetic pool")]
    AlreadyAttached,
    #[error("{real} dataset images plus {pool} pool images is more than augkit indexes ({limit})")]
    TooManyResident {
        real: usize,
        pool: usize,
        limit: usize,
    },
}

/// Everything the library can refuse or fail at.
#[derive(Debug, Error)]
pub enum Error {
    #[error(transparent)]
    Policy(#[from] PolicyError),
    #[error("invalid image shape {channels}×{height}×{width}: {reason}")]
    Shape {
        channels: u32,
        height: u32,
        width: u32,
        reason: &'static str,
    },
    #[error("invalid dataset: {0}")]
    Dataset(String),
    #[error("invalid synthetic pool: {0}")]
    Pool(#[from] PoolError),
    #[error(
        "the policy has `synthetic.mode = \"pool\"` but the dataset has no synthetic pool (attach one with Dataset::with_pool)"
    )]
    NoPool,
    #[error(
        "subset index {index} at position {position} is out of range for a dataset of {len} images"
    )]
    SubsetIndex {
        position: usize,
        index: u32,
        len: usize,
    },
    #[error("the subset (index list) is empty")]
    EmptySubset,
    #[error("batch size must be at least 1")]
    ZeroBatch,
    #[error(
        "step covers epoch positions {first}..{end} but the epoch has only {epoch_len} samples"
    )]
    StepOutOfRange {
        first: u32,
        end: u64,
        epoch_len: u32,
    },
    #[error("{what} buffer holds {got} elements but the step needs {expected}")]
    BufferSize {
        what: &'static str,
        got: usize,
        expected: usize,
    },
    #[error("output dtype mismatch: the policy writes {expected:?} but the buffer holds {got:?}")]
    DType {
        expected: crate::DType,
        got: crate::DType,
    },
    #[error("backend unavailable: {0}")]
    Unavailable(String),
    #[error("device error: {0}")]
    Device(String),
    #[error("{what} needs {bytes} bytes but the device allows {limit}")]
    TooLarge {
        what: &'static str,
        bytes: u64,
        limit: u64,
    },
    #[error("the CUDA driver library (libcuda) cannot be loaded: {0}")]
    NoCudaDriver(String),
    #[error("no usable CUDA device: {0}")]
    NoCudaDevice(String),
    #[error("NVRTC (libnvrtc) cannot be loaded: {0}")]
    NoNvrtc(String),
    #[error("NVRTC failed to compile {source_name} for {arch} ({message}); log:\n{log}")]
    Nvrtc {
        source_name: &'static str,
        arch: String,
        message: String,
        log: String,
    },
    #[error("GPU compute capability {major}.{minor} is not supported: {reason}")]
    UnsupportedArch {
        major: i32,
        minor: i32,
        reason: String,
    },
    #[error("out of device memory allocating {bytes} bytes for {what}")]
    OutOfDeviceMemory { what: &'static str, bytes: u64 },
    #[error("device pointer for {what} ({ptr:#x}) is unusable: {reason}")]
    DevicePointer {
        what: &'static str,
        ptr: u64,
        reason: String,
    },
    #[error("CUDA {call} failed: {message}")]
    Cuda { call: &'static str, message: String },
}
