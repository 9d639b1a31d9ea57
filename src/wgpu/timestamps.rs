//! GPU time per pass from timestamp queries, where the adapter has them
//! (`TIMESTAMP_QUERY`, and `TIMESTAMP_QUERY_INSIDE_PASSES` for per-pass
//! times).

use std::sync::{Arc, Mutex};

use ::wgpu as wg;

use super::{WgpuBackend, WgpuDevice};
use crate::error::Error;

/// GPU time of each pass of the last step, in nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PassTimings {
    pub params_ns: Option<f64>,
    /// The per-sample reductions between the parameters and the pixels:
    /// `augment_stats` (auto ops) and `augment_contrast`, whichever run.
    pub contrast_ns: Option<f64>,
    pub pixel_ns: Option<f64>,
    pub total_ns: f64,
}

pub(super) struct Timestamps {
    pub(super) set: wg::QuerySet,
    pub(super) resolve: wg::Buffer,
    pub(super) staging: wg::Buffer,
    pub(super) inside_passes: bool,
    pub(super) period_ns: f32,
}

pub(super) const TIMESTAMP_COUNT: u32 = 4;

impl Timestamps {
    /// The query set and its buffers when `requested` and the adapter has
    /// timestamp queries; else `None` and why.
    pub(super) fn new(gpu: &WgpuDevice, requested: bool) -> (Option<Self>, String) {
        if !requested {
            (
                None,
                "timestamps not requested (WgpuOptions::timestamps)".to_string(),
            )
        } else if !gpu.features.contains(wg::Features::TIMESTAMP_QUERY) {
            (
                None,
                format!("adapter {} offers no TIMESTAMP_QUERY", gpu.adapter()),
            )
        } else {
            let bytes = u64::from(TIMESTAMP_COUNT) * 8;
            (
                Some(Self {
                    set: gpu.device.create_query_set(&wg::QuerySetDescriptor {
                        label: Some("augkit timestamps"),
                        ty: wg::QueryType::Timestamp,
                        count: TIMESTAMP_COUNT,
                    }),
                    resolve: gpu.device.create_buffer(&wg::BufferDescriptor {
                        label: Some("augkit timestamp resolve"),
                        size: bytes,
                        usage: wg::BufferUsages::QUERY_RESOLVE | wg::BufferUsages::COPY_SRC,
                        mapped_at_creation: false,
                    }),
                    staging: gpu.device.create_buffer(&wg::BufferDescriptor {
                        label: Some("augkit timestamp staging"),
                        size: bytes,
                        usage: wg::BufferUsages::MAP_READ | wg::BufferUsages::COPY_DST,
                        mapped_at_creation: false,
                    }),
                    inside_passes: gpu
                        .features
                        .contains(wg::Features::TIMESTAMP_QUERY_INSIDE_PASSES),
                    period_ns: gpu.queue.get_timestamp_period(),
                }),
                String::new(),
            )
        }
    }
}

impl WgpuBackend {
    /// Why [`last_timings`](Self::last_timings) gives `None`, if it does.
    pub fn timestamp_support(&self) -> Result<(), String> {
        match self.timestamps {
            Some(_) => Ok(()),
            None => Err(self.timestamp_reason.clone()),
        }
    }

    /// GPU time per pass of the last step (waits for it). `None` when the
    /// device has no timestamp queries or they were not requested (see
    /// [`timestamp_support`](Self::timestamp_support)). Without
    /// `TIMESTAMP_QUERY_INSIDE_PASSES` only the total is known.
    pub fn last_timings(&self) -> Result<Option<PassTimings>, Error> {
        let Some(t) = &self.timestamps else {
            return Ok(None);
        };
        let (_, params_only) = self
            .last
            .ok_or_else(|| Error::Device("no step has run".into()))?;
        let slice = t.staging.slice(..);
        let mapped = Arc::new(Mutex::new(None));
        let done = mapped.clone();
        slice.map_async(wg::MapMode::Read, move |r| {
            *done.lock().unwrap() = Some(r);
        });
        self.gpu.wait()?;
        if !matches!(mapped.lock().unwrap().take(), Some(Ok(()))) {
            return Err(Error::Device("timestamp read back failed".into()));
        }
        let ticks: Vec<u64> = {
            let view = slice
                .get_mapped_range()
                .map_err(|e| Error::Device(format!("mapped range: {e}")))?;
            view.chunks_exact(8)
                .map(|b| u64::from_le_bytes(b.try_into().unwrap()))
                .collect()
        };
        t.staging.unmap();
        let ns =
            |a: usize, b: usize| ticks[b].wrapping_sub(ticks[a]) as f64 * f64::from(t.period_ns);
        let last = TIMESTAMP_COUNT as usize - 1;
        Ok(Some(if t.inside_passes {
            PassTimings {
                params_ns: Some(ns(0, 1)),
                contrast_ns: Some(ns(1, 2)),
                pixel_ns: (!params_only).then(|| ns(2, 3)),
                total_ns: ns(0, last),
            }
        } else {
            PassTimings {
                params_ns: None,
                contrast_ns: None,
                pixel_ns: None,
                total_ns: ns(0, last),
            }
        }))
    }
}
