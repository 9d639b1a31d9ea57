//! Read-back: the one device→host copy of a step's outputs (map → poll →
//! check, in one place), and the inspection of its intermediate results.

use std::sync::{Arc, Mutex};

use ::wgpu as wg;

use super::{WgpuBackend, align_up, auto_stats_words};
use crate::backend::{HostImages, Inspect, Step};
use crate::error::Error;
use crate::kernel_args::{MixLabel, OP_CONTRAST, SampleParams};

impl WgpuBackend {
    /// Copies `regions` (source buffer, source offset, byte length) into the
    /// staging buffer at 256-byte aligned offsets, maps it, hands each
    /// region's bytes to `f`.
    pub(super) fn read_regions(
        &self,
        regions: &[(&wg::Buffer, u64, u64)],
        mut f: impl FnMut(usize, &[u8]),
    ) -> Result<(), Error> {
        let outputs = self
            .outputs
            .as_ref()
            .ok_or_else(|| Error::Device("nothing to read back: no step has run".into()))?;
        let mut encoder = self
            .gpu
            .device
            .create_command_encoder(&wg::CommandEncoderDescriptor {
                label: Some("augkit read back"),
            });
        let mut offsets = Vec::with_capacity(regions.len());
        let mut at = 0u64;
        for &(src, from, bytes) in regions {
            offsets.push(at);
            encoder.copy_buffer_to_buffer(src, from, &outputs.staging, at, bytes);
            at = align_up(at + bytes, 256);
        }
        self.gpu.queue.submit([encoder.finish()]);
        let slice = outputs.staging.slice(0..at.max(256));
        let mapped = Arc::new(Mutex::new(None));
        let done = mapped.clone();
        slice.map_async(wg::MapMode::Read, move |r| {
            *done.lock().unwrap() = Some(r);
        });
        self.gpu.wait()?;
        match mapped.lock().unwrap().take() {
            Some(Ok(())) => {}
            Some(Err(e)) => return Err(Error::Device(format!("map for read back: {e}"))),
            None => return Err(Error::Device("read back never mapped".into())),
        }
        {
            let view = slice
                .get_mapped_range()
                .map_err(|e| Error::Device(format!("mapped range: {e}")))?;
            for (i, (&(_, _, bytes), &offset)) in regions.iter().zip(&offsets).enumerate() {
                f(i, &view[offset as usize..(offset + bytes) as usize]);
            }
        }
        outputs.staging.unmap();
        Ok(())
    }

    pub(super) fn last_step(&self, need_pixels: bool) -> Result<Step, Error> {
        match self.last {
            Some((step, params_only)) if !(need_pixels && params_only) => Ok(step),
            _ => Err(Error::Device(
                "nothing to read back: run a step first (DeviceBackend::run)".into(),
            )),
        }
    }

    /// The last step's images and labels into caller memory.
    pub(super) fn read_outputs(
        &mut self,
        images: &mut HostImages<'_>,
        labels: &mut [MixLabel],
    ) -> Result<(), Error> {
        let step = self.last_step(true)?;
        self.plan.check_outputs(step, images, labels)?;
        let outputs = self.outputs.as_ref().expect("a step ran");
        let image_bytes = self.image_bytes(step.batch_size);
        let label_bytes = u64::from(step.batch_size) * size_of::<MixLabel>() as u64;
        let (images_buf, labels_buf) = (&outputs.images, &outputs.labels);
        self.read_regions(
            &[(images_buf, 0, image_bytes), (labels_buf, 0, label_bytes)],
            |region, bytes| {
                if region == 1 {
                    for (l, b) in labels.iter_mut().zip(bytes.chunks_exact(12)) {
                        *l = bytemuck::pod_read_unaligned(b);
                    }
                    return;
                }
                match images {
                    HostImages::F32(out) => {
                        for (o, b) in out.iter_mut().zip(bytes.chunks_exact(4)) {
                            *o = f32::from_le_bytes(b.try_into().unwrap());
                        }
                    }
                    HostImages::F16(out) => {
                        for (o, b) in out.iter_mut().zip(bytes.chunks_exact(2)) {
                            *o = half::f16::from_bits(u16::from_le_bytes([b[0], b[1]]));
                        }
                    }
                    HostImages::Bf16(out) => {
                        for (o, b) in out.iter_mut().zip(bytes.chunks_exact(2)) {
                            *o = half::bf16::from_bits(u16::from_le_bytes([b[0], b[1]]));
                        }
                    }
                }
            },
        )
    }
}

impl WgpuBackend {
    /// The last step's auto-op reductions as the shader left them in the
    /// `means` binding: per sample, [`STATS_PER_OP`](super::STATS_PER_OP)
    /// words for each of its `MAX_AUTO_OPS` ops — a Contrast mean (word 0),
    /// AutoContrast's min and max per channel (words 0–2, 3–5), or
    /// Equalize's LUT (256 entries per channel). Empty without auto ops.
    /// Entries of ops that reduce nothing are unspecified.
    #[doc(hidden)]
    pub fn last_auto_stats(&self) -> Result<Vec<f32>, Error> {
        let step = self.last_step(true)?;
        let outputs = self.outputs.as_ref().expect("a step ran");
        let batch = u64::from(step.batch_size);
        let count = batch * auto_stats_words(&self.plan.kernel);
        let mut stats = vec![0.0; count as usize];
        if count == 0 {
            return Ok(stats);
        }
        // After the contrast means and the synthetic coefficients (the
        // shader's `stats_at`).
        let at = batch * (1 + u64::from(self.plan.kernel.synth_components)) * 4;
        self.read_regions(&[(&outputs.means, at, count * 4)], |_, b| {
            for (s, w) in stats.iter_mut().zip(b.chunks_exact(4)) {
                *s = f32::from_le_bytes(w.try_into().unwrap());
            }
        })?;
        Ok(stats)
    }
}

impl Inspect for WgpuBackend {
    fn last_params(&self) -> Result<Vec<SampleParams>, Error> {
        let step = self.last_step(false)?;
        let outputs = self.outputs.as_ref().expect("a step ran");
        let bytes = u64::from(step.batch_size) * size_of::<SampleParams>() as u64;
        let mut params = Vec::new();
        self.read_regions(&[(&outputs.params, 0, bytes)], |_, b| {
            params = b
                .chunks_exact(size_of::<SampleParams>())
                .map(bytemuck::pod_read_unaligned)
                .collect();
        })?;
        Ok(params)
    }

    fn last_contrast_means(&self) -> Result<Vec<f32>, Error> {
        let step = self.last_step(true)?;
        let outputs = self.outputs.as_ref().expect("a step ran");
        let mut means = vec![0.0; step.batch_size as usize];
        if self.plan.kernel.jitter_ops & (1 << OP_CONTRAST) == 0 {
            return Ok(means);
        }
        self.read_regions(
            &[(&outputs.means, 0, u64::from(step.batch_size) * 4)],
            |_, b| {
                for (m, w) in means.iter_mut().zip(b.chunks_exact(4)) {
                    *m = f32::from_le_bytes(w.try_into().unwrap());
                }
            },
        )?;
        Ok(means)
    }

    fn last_synth_coefficients(&self) -> Result<Vec<f32>, Error> {
        let step = self.last_step(false)?;
        let outputs = self.outputs.as_ref().expect("a step ran");
        let batch = u64::from(step.batch_size);
        let count = batch * u64::from(self.plan.kernel.synth_components);
        let mut coefficients = vec![0.0; count as usize];
        if count == 0 {
            return Ok(coefficients);
        }
        // They follow the step's contrast means (see the shader's `coefficient_at`).
        self.read_regions(&[(&outputs.means, batch * 4, count * 4)], |_, b| {
            for (a, w) in coefficients.iter_mut().zip(b.chunks_exact(4)) {
                *a = f32::from_le_bytes(w.try_into().unwrap());
            }
        })?;
        Ok(coefficients)
    }
}
