//! Read-back: the device→host copies of the backend's own outputs and the
//! inspection of a step's intermediate results (each waits for the stream).

use cudarc::driver::result as cu;

use super::{CudaBackend, driver_error};
use crate::backend::{HostImages, Inspect};
use crate::error::Error;
use crate::kernel_args::{MixLabel, SampleParams};

impl CudaBackend {
    /// Copies the last own-buffer step's outputs to host memory (waits for
    /// the stream).
    pub(super) fn copy_own_outputs(
        &mut self,
        images: &mut HostImages<'_>,
        labels: &mut [MixLabel],
    ) -> Result<(), Error> {
        let step = self.last_own_step.ok_or_else(|| {
            Error::Device(
                "nothing to read back: no step ran into the backend's own buffers \
                 (DeviceBackend::run)"
                    .into(),
            )
        })?;
        self.plan.check_outputs(step, images, labels)?;
        self.bind()?;
        let images_ptr = self.own_images.as_ref().map(|b| b.ptr).unwrap_or_default();
        let labels_ptr = self.own_labels.as_ref().map(|b| b.ptr).unwrap_or_default();
        // SAFETY: the own buffers hold the step's outputs once the stream has
        // run (`check_outputs` matched the host slices to that step); the
        // copies are ordered after the launches on the same stream and the
        // stream is synchronised before the host slices are used.
        unsafe {
            let copy = match images {
                HostImages::F32(out) => cu::memcpy_dtoh_async(out, images_ptr, self.stream),
                HostImages::F16(out) => cu::memcpy_dtoh_async(out, images_ptr, self.stream),
                HostImages::Bf16(out) => cu::memcpy_dtoh_async(out, images_ptr, self.stream),
            };
            copy.map_err(|e| driver_error("cuMemcpyDtoHAsync", e))?;
            cu::memcpy_dtoh_async(labels, labels_ptr, self.stream)
                .map_err(|e| driver_error("cuMemcpyDtoHAsync", e))?;
        }
        self.wait_stream()
    }

    /// `n` f32 of a scratch buffer, read back (waits for the stream).
    pub(super) fn read_scratch_f32(&self, ptr: u64, n: usize) -> Result<Vec<f32>, Error> {
        self.wait_stream()?;
        let mut out = vec![0f32; n];
        if n > 0 {
            // SAFETY: the scratch holds `capacity` ≥ `last_batch` samples'
            // entries (`n` is within them); the stream is idle.
            unsafe { cu::memcpy_dtoh_sync(&mut out, ptr) }
                .map_err(|e| driver_error("cuMemcpyDtoH", e))?;
        }
        Ok(out)
    }
}

impl Inspect for CudaBackend {
    fn last_params(&self) -> Result<Vec<SampleParams>, Error> {
        self.wait_stream()?;
        let mut params = vec![SampleParams::default(); self.last_batch as usize];
        // SAFETY: the scratch holds at least `last_batch` entries; the stream is idle.
        unsafe { cu::memcpy_dtoh_sync(&mut params, self.params.ptr) }
            .map_err(|e| driver_error("cuMemcpyDtoH", e))?;
        Ok(params)
    }

    fn last_contrast_means(&self) -> Result<Vec<f32>, Error> {
        let b = self.last_batch as usize;
        if !self.contrast_on {
            return Ok(vec![0.0; b]);
        }
        self.read_scratch_f32(self.means.ptr, b)
    }

    fn last_synth_coefficients(&self) -> Result<Vec<f32>, Error> {
        let n = self.last_batch as usize * self.plan.kernel.synth_components as usize;
        self.read_scratch_f32(self.coefficients.ptr, n)
    }
}
