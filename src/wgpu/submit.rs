//! One step recorded and submitted: the step arguments (immediates or a
//! uniform write, the only per-step upload), then the parameters, auto-op
//! reductions, contrast and pixel dispatches in one compute pass, one pixel
//! dispatch per output window.

use ::wgpu as wg;

use super::WgpuBackend;
use super::timestamps::TIMESTAMP_COUNT;
use crate::backend::Step;
use crate::error::Error;
use crate::kernel_args::block::{PARAMS_WORKGROUP, PIXELS_WORKGROUP};
use crate::kernel_args::{DTYPE_F32, StepArgs};

impl WgpuBackend {
    /// A 2-D grid of `groups` workgroups within the per-dimension cap.
    pub(super) fn grid(&self, groups: u32) -> Result<(u32, u32), Error> {
        let max = self.gpu.limits.max_compute_workgroups_per_dimension;
        if groups <= max {
            return Ok((groups, 1));
        }
        let y = groups.div_ceil(max);
        if y > max {
            return Err(Error::TooLarge {
                what: "the step's dispatch (workgroups)",
                bytes: u64::from(groups),
                limit: u64::from(max) * u64::from(max),
            });
        }
        Ok((max, y))
    }

    /// Records and submits one step (all passes, or the parameters pass
    /// only); returns without waiting. Sends only the step arguments: once,
    /// plus each further output window's `out_first`/`out_base` (8 bytes as
    /// immediates; a whole 32-byte StepArgs at its dynamic offset otherwise).
    pub(super) fn submit(&mut self, step: Step, params_only: bool) -> Result<(), Error> {
        let args = self.plan.step_args(step)?;
        self.gpu.check()?;
        self.ensure_capacity(args.batch_size)?;
        let batch = args.batch_size;
        let contrast = self.pipelines.contrast.as_ref().filter(|_| !params_only);
        let stats = self.pipelines.stats.as_ref().filter(|_| !params_only);
        let params_grid = self.grid(batch.div_ceil(PARAMS_WORKGROUP))?;
        let contrast_grid = self.grid(batch)?;
        let units = if self.plan.kernel.out_dtype == DTYPE_F32 {
            u64::from(batch) * self.plan.dataset.shape().pixels() as u64
        } else {
            (u64::from(batch) * u64::from(self.resident.image_elems)).div_ceil(2)
        };
        let outputs = self.outputs.as_ref().expect("capacity ensured");
        // (window, its StepArgs, its grid) for each pixel dispatch.
        let mut pixel_dispatches = Vec::new();
        for (k, w) in outputs.windows.iter().enumerate() {
            if w.first_unit >= units && k > 0 {
                break;
            }
            let groups = (units.min(w.end_unit) - w.first_unit.min(units))
                .div_ceil(u64::from(PIXELS_WORKGROUP));
            if groups > u64::from(u32::MAX) {
                return Err(Error::TooLarge {
                    what: "the step's dispatch (workgroups)",
                    bytes: groups,
                    limit: u64::from(u32::MAX),
                });
            }
            let mut window_args = args;
            window_args.out_first = w.first_unit as u32;
            window_args.out_base = (w.offset / 4) as u32;
            pixel_dispatches.push((k, window_args, self.grid(groups as u32)?));
        }

        let mut uploaded = 0u64;
        if let Some(buf) = &outputs.step_buf {
            let count = if params_only {
                1
            } else {
                pixel_dispatches.len()
            };
            for (k, window_args, _) in &pixel_dispatches[..count] {
                let at = *k as u64 * outputs.step_stride;
                self.gpu
                    .queue
                    .write_buffer(buf, at, bytemuck::bytes_of(window_args));
                uploaded += size_of::<StepArgs>() as u64;
            }
        }
        let dynamic = |k: usize| -> Vec<u32> {
            if outputs.step_buf.is_some() {
                vec![(k as u64 * outputs.step_stride) as u32]
            } else {
                Vec::new()
            }
        };
        let mut encoder = self
            .gpu
            .device
            .create_command_encoder(&wg::CommandEncoderDescriptor {
                label: Some("augkit step"),
            });
        let ts = self.timestamps.as_ref();
        {
            let mut pass = encoder.begin_compute_pass(&wg::ComputePassDescriptor {
                label: Some("augkit step"),
                timestamp_writes: ts.filter(|t| !t.inside_passes).map(|t| {
                    wg::ComputePassTimestampWrites {
                        query_set: &t.set,
                        beginning_of_pass_write_index: Some(0),
                        end_of_pass_write_index: Some(TIMESTAMP_COUNT - 1),
                    }
                }),
            });
            let stamp = |pass: &mut wg::ComputePass<'_>, index: u32| {
                if let Some(t) = ts.filter(|t| t.inside_passes) {
                    pass.write_timestamp(&t.set, index);
                }
            };
            // Window 0's StepArgs are the step's own (out_first = out_base = 0).
            let first_args = pixel_dispatches[0].1;
            pass.set_bind_group(0, &outputs.bind_groups[0], &dynamic(0));
            pass.set_pipeline(&self.pipelines.params);
            if self.immediates {
                // One layout for all pipelines: these survive the switches.
                pass.set_immediates(0, bytemuck::bytes_of(&first_args));
                uploaded += size_of::<StepArgs>() as u64;
            }
            stamp(&mut pass, 0);
            pass.dispatch_workgroups(params_grid.0, params_grid.1, 1);
            stamp(&mut pass, 1);
            // The auto-op reductions first: the contrast mean sees their result.
            if let Some(stats) = stats {
                pass.set_pipeline(stats);
                pass.dispatch_workgroups(contrast_grid.0, contrast_grid.1, 1);
            }
            if let Some(contrast) = contrast {
                pass.set_pipeline(contrast);
                pass.dispatch_workgroups(contrast_grid.0, contrast_grid.1, 1);
            }
            stamp(&mut pass, 2);
            if !params_only {
                pass.set_pipeline(&self.pipelines.pixel);
                for (k, window_args, grid) in &pixel_dispatches {
                    if *k > 0 {
                        pass.set_bind_group(0, &outputs.bind_groups[*k], &dynamic(*k));
                        if self.immediates {
                            // The window's two words, contiguous at the end of StepArgs.
                            let at = std::mem::offset_of!(StepArgs, out_first);
                            let window = &bytemuck::bytes_of(window_args)[at..];
                            pass.set_immediates(at as u32, window);
                            uploaded += window.len() as u64;
                        }
                    }
                    pass.dispatch_workgroups(grid.0, grid.1, 1);
                }
            }
            stamp(&mut pass, 3);
        }
        if let Some(t) = ts {
            encoder.resolve_query_set(&t.set, 0..TIMESTAMP_COUNT, &t.resolve, 0);
            encoder.copy_buffer_to_buffer(&t.resolve, 0, &t.staging, 0, None);
        }
        self.gpu.queue.submit([encoder.finish()]);
        self.step_upload_bytes = uploaded;
        self.total_upload_bytes += uploaded;
        self.pixel_dispatches = if params_only {
            0
        } else {
            pixel_dispatches.len() as u32
        };
        self.last = Some((step, params_only));
        Ok(())
    }
}
