//! Output windows: a step whose images exceed one storage binding is
//! written by several pixel dispatches, each binding an aligned sub-range of
//! the one images buffer.

use super::WgpuBackend;
use crate::error::Error;
use crate::kernel_args::DTYPE_F32;

/// One pixel dispatch's share of the images buffer.
#[derive(Clone, Copy, Debug)]
pub(super) struct Window {
    /// Its units (f32: global pixels `sample·H·W + pixel`; packed: output
    /// words), up to the capacity.
    pub(super) first_unit: u64,
    pub(super) end_unit: u64,
    /// Its binding of the images buffer, in bytes (the offset aligned down
    /// to `min_storage_buffer_offset_alignment`).
    pub(super) offset: u64,
    pub(super) size: u64,
}

impl WgpuBackend {
    /// Output element bytes on the device for `batch` samples.
    pub(super) fn image_bytes(&self, batch: u32) -> u64 {
        let elements = u64::from(batch) * u64::from(self.resident.image_elems);
        if self.plan.kernel.out_dtype == DTYPE_F32 {
            elements * 4
        } else {
            elements.div_ceil(2) * 4
        }
    }

    /// The pixel pass's output windows for `capacity` samples: each fits one
    /// storage binding (`image_binding`) once its start is aligned down to
    /// `min_storage_buffer_offset_alignment`; f32 windows hold whole samples,
    /// packed ones whole words.
    pub(super) fn windows(&self, capacity: u32) -> Result<Vec<Window>, Error> {
        let align = u64::from(self.gpu.limits.min_storage_buffer_offset_alignment).max(4);
        // Bytes a window's own words may fill: the aligned-down start costs
        // up to `align - 4` bytes of the binding.
        let room = (self.image_binding + 4).saturating_sub(align);
        let elems = u64::from(self.resident.image_elems);
        let cap = u64::from(capacity);
        let f32_out = self.plan.kernel.out_dtype == DTYPE_F32;
        let total_words = if f32_out {
            cap * elems
        } else {
            (cap * elems).div_ceil(2)
        };
        if total_words > u64::from(u32::MAX) {
            return Err(Error::TooLarge {
                what: "the step's images (u32 word addressing)",
                bytes: total_words * 4,
                limit: u64::from(u32::MAX) * 4,
            });
        }
        // (first word, end word, first unit, end unit) per window.
        let mut spans = Vec::new();
        if f32_out {
            let sample_bytes = elems * 4;
            let samples = room / sample_bytes;
            if samples == 0 {
                return Err(Error::TooLarge {
                    what: "one output image (a binding holds whole images)",
                    bytes: sample_bytes,
                    limit: room,
                });
            }
            let plane = self.plan.dataset.shape().pixels() as u64;
            for k in 0..cap.div_ceil(samples).max(1) {
                let s0 = k * samples;
                let s1 = cap.min(s0 + samples);
                spans.push((s0 * elems, s1 * elems, s0 * plane, s1 * plane));
            }
        } else {
            let words = room / 4;
            if words == 0 {
                return Err(Error::TooLarge {
                    what: "an output binding (below the offset alignment)",
                    bytes: align,
                    limit: self.image_binding,
                });
            }
            for k in 0..total_words.div_ceil(words).max(1) {
                let w0 = k * words;
                let w1 = total_words.min(w0 + words);
                spans.push((w0, w1, w0, w1));
            }
        }
        Ok(spans
            .into_iter()
            .map(|(w0, w1, first_unit, end_unit)| {
                let offset = w0 * 4 / align * align;
                Window {
                    first_unit,
                    end_unit,
                    offset,
                    size: (w1 * 4 - offset).max(4),
                }
            })
            .collect())
    }
}
