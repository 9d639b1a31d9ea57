//! Launching the kernels: their names from the one table
//! (`kernel_args::entry`), their block sizes (`kernel_args::block`), and one argument builder that
//! keeps the kernel's parameter order in one list per kernel.

use std::ffi::{CString, c_void};
use std::marker::PhantomData;

use cudarc::driver::result as cu;
use cudarc::driver::sys;

use super::{AutoArgs, CudaBackend, SynthArgs, driver_error};
use crate::error::Error;
use crate::kernel_args::block::{CONTRAST_THREADS, PARAMS_THREADS, PIXELS_THREADS, STATS_THREADS};
use crate::kernel_args::{StepArgs, entry};
use crate::policy::DType;

/// The module's kernels, looked up once by their entry names.
pub(super) struct Functions {
    params: sys::CUfunction,
    stats: sys::CUfunction,
    contrast: sys::CUfunction,
    pixels_f32: sys::CUfunction,
    pixels_f16: sys::CUfunction,
    pixels_bf16: sys::CUfunction,
}

impl Functions {
    pub(super) fn load(module: sys::CUmodule) -> Result<Self, Error> {
        let function = |name: &str| {
            // SAFETY: the module is loaded; the name is one of its kernels.
            unsafe { cu::module::get_function(module, CString::new(name).expect("no NUL")) }
                .map_err(|e| driver_error("cuModuleGetFunction", e))
        };
        Ok(Self {
            params: function(entry::PARAMS)?,
            stats: function(entry::STATS)?,
            contrast: function(entry::CONTRAST)?,
            pixels_f32: function(entry::PIXELS_F32)?,
            pixels_f16: function(entry::PIXELS_F16)?,
            pixels_bf16: function(entry::PIXELS_BF16)?,
        })
    }

    fn pixels(&self, dtype: DType) -> sys::CUfunction {
        match dtype {
            DType::F32 => self.pixels_f32,
            DType::F16 => self.pixels_f16,
            DType::Bf16 => self.pixels_bf16,
        }
    }
}

/// A kernel's arguments in its parameter order, each by address as
/// `cuLaunchKernel` takes them; the borrows keep every value alive and in
/// place until the launch. No allocation (a step may be graph-captured).
struct KernelArgs<'a> {
    ptrs: [*mut c_void; 8],
    len: usize,
    _values: PhantomData<&'a mut ()>,
}

impl<'a> KernelArgs<'a> {
    fn new() -> Self {
        Self {
            ptrs: [std::ptr::null_mut(); 8],
            len: 0,
            _values: PhantomData,
        }
    }

    fn arg<T: Copy>(mut self, value: &'a mut T) -> Self {
        self.ptrs[self.len] = (value as *mut T).cast();
        self.len += 1;
        self
    }
}

/// Launches `function` (named `name` in errors) on a 1-D grid.
///
/// # Safety
/// `args` match the kernel's parameters in type and order, and every buffer
/// they point to holds what the kernel indexes for this grid.
unsafe fn launch(
    function: sys::CUfunction,
    name: &str,
    grid: u32,
    block: u32,
    stream: sys::CUstream,
    mut args: KernelArgs<'_>,
) -> Result<(), Error> {
    let len = args.len;
    // SAFETY: per the contract; the argument addresses are live for the call.
    unsafe {
        cu::launch_kernel(
            function,
            (grid, 1, 1),
            (block, 1, 1),
            0,
            stream,
            &mut args.ptrs[..len],
        )
    }
    .map_err(|e| match driver_error("cuLaunchKernel", e) {
        Error::Cuda { call, message } => Error::Cuda {
            call,
            message: format!("{name}: {message}"),
        },
        other => other,
    })
}

impl CudaBackend {
    /// The kernels' synthetic argument: resident tables and the coefficient
    /// scratch (all null without synthetic samples).
    fn synth_args(&self) -> SynthArgs {
        match &self.synth {
            None => SynthArgs::default(),
            Some(s) => SynthArgs {
                present: s.present.ptr,
                offsets: s.offsets.ptr,
                members: s.members.ptr,
                means: s.means.ptr,
                basis: s.basis.ptr,
                sigmas: s.sigmas.ptr,
                class_gray: s.class_gray.ptr,
                coefficients: self.coefficients.ptr,
                present_len: s.present_len,
                _pad: 0,
            },
        }
    }

    /// The kernels' auto-op argument: the statistics and first-stage scratch.
    fn auto_args(&self) -> AutoArgs {
        AutoArgs {
            stats: self.stats.ptr,
            stage: self.stage.as_ref().map(|b| b.ptr).unwrap_or_default(),
        }
    }

    /// The parameters pass: one thread per sample (batch ≤ capacity).
    pub(super) fn launch_params(&self, args: StepArgs, labels: u64) -> Result<(), Error> {
        let (mut step_args, mut synth) = (args, self.synth_args());
        let (mut policy, mut subset, mut dataset_labels) =
            (self.policy.ptr, self.subset.ptr, self.labels.ptr);
        let (mut params, mut mix_labels) = (self.params.ptr, labels);
        let a = KernelArgs::new()
            .arg(&mut policy)
            .arg(&mut step_args)
            .arg(&mut subset)
            .arg(&mut dataset_labels)
            .arg(&mut synth)
            .arg(&mut params)
            .arg(&mut mix_labels);
        let grid = args.batch_size.div_ceil(PARAMS_THREADS);
        // SAFETY: the order above is `augment_params`'s; every buffer holds
        // what the kernel indexes (the subset, labels and synthetic tables
        // since upload, the scratch — params and B × K coefficients —
        // `capacity` ≥ batch samples, `labels` B entries).
        unsafe {
            launch(
                self.functions.params,
                entry::PARAMS,
                grid,
                PARAMS_THREADS,
                self.stream,
                a,
            )
        }
    }

    /// The launches of one step (shapes already checked).
    pub(super) fn launch_step(
        &mut self,
        args: StepArgs,
        images: u64,
        dtype: DType,
        labels: u64,
    ) -> Result<(), Error> {
        let k = &self.plan.kernel;
        let batch = args.batch_size;
        let pixels_total = u64::from(batch) * u64::from(k.height) * u64::from(k.width);
        if pixels_total > u64::from(u32::MAX) {
            return Err(Error::TooLarge {
                what: "one step's pixels (B·H·W, indexed in u32)",
                bytes: pixels_total,
                limit: u64::from(u32::MAX),
            });
        }
        let (mut step_args, mut synth) = (args, self.synth_args());
        let (mut policy, mut params, mut pixels) =
            (self.policy.ptr, self.params.ptr, self.pixels.ptr);
        let (mut gray_means, mut means, mut out) = (self.gray_means.ptr, self.means.ptr, images);
        let mut auto = self.auto_args();

        self.launch_params(args, labels)?;

        // Auto-op statistics: one block per sample (static shared memory).
        if self.stats_on {
            let a = KernelArgs::new()
                .arg(&mut policy)
                .arg(&mut step_args)
                .arg(&mut pixels)
                .arg(&mut synth)
                .arg(&mut params)
                .arg(&mut auto);
            // SAFETY: the order above is `augment_stats`'s; buffers as for
            // the parameters pass, the auto scratch `capacity` ≥ batch
            // samples' statistics and (two ops per sample) first stages.
            unsafe {
                launch(
                    self.functions.stats,
                    entry::STATS,
                    batch,
                    STATS_THREADS,
                    self.stream,
                    a,
                )?;
            }
        }

        // Contrast means: one block per sample (static shared memory).
        if self.contrast_on {
            let a = KernelArgs::new()
                .arg(&mut policy)
                .arg(&mut step_args)
                .arg(&mut pixels)
                .arg(&mut gray_means)
                .arg(&mut synth)
                .arg(&mut params)
                .arg(&mut auto)
                .arg(&mut means);
            // SAFETY: the order above is `augment_contrast`'s; buffers as
            // for the statistics pass, `means` `capacity` ≥ batch entries.
            unsafe {
                launch(
                    self.functions.contrast,
                    entry::CONTRAST,
                    batch,
                    CONTRAST_THREADS,
                    self.stream,
                    a,
                )?;
            }
        }

        // Pixels: one thread per output pixel, all channels.
        let grid = (pixels_total as u32).div_ceil(PIXELS_THREADS);
        let a = KernelArgs::new()
            .arg(&mut policy)
            .arg(&mut step_args)
            .arg(&mut pixels)
            .arg(&mut synth)
            .arg(&mut params)
            .arg(&mut auto)
            .arg(&mut means)
            .arg(&mut out);
        // SAFETY: the order above is `augment_pixels_*`'s; `out` holds
        // B·C·H·W elements of `dtype` (checked by the caller).
        unsafe {
            launch(
                self.functions.pixels(dtype),
                entry::pixels(self.plan.kernel.out_dtype),
                grid,
                PIXELS_THREADS,
                self.stream,
                a,
            )?;
        }
        self.last_batch = batch;
        Ok(())
    }
}
