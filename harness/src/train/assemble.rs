//! The result of a run, assembled from what it measured: test figures,
//! timing distributions, memory, each with the method that produced it.

use tch::Device;

use super::{Run, Tally, provenance};
use crate::metrics;
use crate::result::*;

impl Run {
    /// The result JSON from what the run measured.
    pub(super) fn into_result(self, tally: Tally) -> RunResult {
        let Run {
            config,
            ctx,
            device,
            test,
            num_classes,
            class_names,
            data_summary,
            fixed,
            selection,
            model_summary,
            rss_before,
            curve_set,
            memory,
            ..
        } = self;
        let (test_figures, inference) = match tally.final_eval {
            Some((predictions, wall)) => {
                let confusion = metrics::confusion_matrix(&test.labels, &predictions, num_classes);
                let figures = metrics::classification(confusion, &class_names);
                let inference = Inference {
                    method: "model in eval mode under no_grad, forward + argmax over the whole normalised test set \
                             (already on the device) in batches of eval_batch_size; wall clock from a device sync \
                             before the first batch to a device sync after the last; copying predictions back \
                             to the host not included"
                        .into(),
                    samples: test.len() as u64,
                    batch_size: config.eval_batch_size,
                    wall_s: wall,
                    samples_per_s: test.len() as f64 / wall.max(f64::MIN_POSITIVE),
                };
                let test = TestFigures {
                    figures,
                    method: "predictions (argmax of the logits) of the final model on every test image, no \
                             augmentation, normalised as the policy's output stage; confusion[true][predicted]; \
                             per-class precision/recall/F1 with 0 where undefined; macro F1 = unweighted mean of \
                             the per-class F1"
                        .into(),
                };
                (Some(test), Some(inference))
            }
            None => (None, None),
        };

        let aug_total: f64 = tally.aug_times.iter().sum();
        let model_total: f64 = tally.model_times.iter().sum();
        let timing = Timing {
            method: "per step, three readings of one synchronised clock: before the batch is produced, after it \
                     is (augmentation: tensor allocation, the backend's augment_into into the tensor's storage, \
                     layout/dtype view, label tensors, upload to the model's device), and after forward + loss + \
                     backward + optimiser step + reading the loss value (model). The step time runs from before \
                     the learning-rate update to after the accuracy bookkeeping, so it is ≥ augmentation + model. \
                     Fixed costs are timed once each, outside the steps."
                .into(),
            clock: match device {
                Device::Cpu => "std::time::Instant (monotonic); on CPU libtorch ops and the CPU backend return \
                                only when their work is done, so no extra synchronisation is needed"
                    .into(),
                _ => "augmentation and model time per step from CUDA events on the legacy default stream \
                      (cuEventElapsedTime between marks before the batch, after it, and after the model's \
                      step); the step time and fixed costs from std::time::Instant after \
                      tch::Cuda::synchronize at every reading"
                    .into(),
            },
            steps: tally.global_step,
            samples: tally.samples,
            train_wall_s: tally.train_wall_s,
            total_wall_s: tally.wall_before_s + ctx.started.elapsed().as_secs_f64(),
            augmentation: Distribution::of(&tally.aug_times),
            model: Distribution::of(&tally.model_times),
            step: Distribution::of(&tally.step_times),
            augmentation_share: aug_total / (aug_total + model_total).max(f64::MIN_POSITIVE),
            fixed,
            epoch_eval_s: tally.epoch_eval_s,
        };
        let mut augmentation = memory.augmentation;
        augmentation.total_bytes = augmentation.dataset_bytes
            + augmentation.backend_bytes.unwrap_or(0)
            + augmentation.first_batch_bytes.unwrap_or(0);
        augmentation.method = "dataset_bytes counted (augkit's copy of the training split: pixels, u32 \
            labels, f32 grey means, u32 subset indices); backend_bytes and first_batch_bytes measured \
            as growth of VmRSS across the backend's construction and across the first batch (batch \
            tensors excluded), each reading taken after glibc's malloc_trim(0) so freed memory does \
            not count; on a GPU backend the data set and pool live on the device and these are host \
            figures only"
            .into();
        let memory = Memory {
            method: if memory.peak_is_per_run {
                "host: VmRSS and VmHWM from /proc/self/status, in bytes; the high-water mark is reset \
                 at the run's start (malloc_trim(0), then \"5\" written to /proc/self/clear_refs), so \
                 peak_host_rss_bytes is this run's own peak: what the process held at its start \
                 (host_rss_at_start_bytes) plus the most the run added"
                    .into()
            } else {
                "host: VmHWM (peak resident set size of the process since it started: the reset via \
                 /proc/self/clear_refs failed) and VmRSS from /proc/self/status, in bytes"
                    .into()
            },
            peak_host_rss_bytes: crate::memory::peak_rss_bytes(),
            host_rss_before_training_bytes: rss_before,
            peak_is_per_run: memory.peak_is_per_run,
            host_rss_at_start_bytes: memory.rss_at_start,
            augmentation: Some(augmentation),
            peak_device_bytes: tally.peak_device,
            device_note: match device {
                Device::Cpu => "null on CPU: the model's memory is host memory, counted in peak_host_rss_bytes".into(),
                _ => "device-wide memory in use (cuMemGetInfo: total − free) sampled after every training \
                      step, largest value: includes libtorch's caching-allocator reserve, augkit's resident \
                      dataset and any other process on the GPU (tch exposes no allocator statistics)"
                    .into(),
            },
        };
        let status = if tally.failure.is_some() {
            Status::Failed
        } else {
            Status::Completed
        };
        RunResult {
            schema_version: SCHEMA_VERSION,
            status,
            error: tally.failure,
            provenance: provenance(&ctx, device, selection),
            config,
            data: data_summary,
            model: model_summary,
            test: test_figures,
            timing,
            memory,
            inference,
            curves: tally.curves,
            curve_test_set: curve_set.map(|c| c.summary),
            resumed_from_epoch: tally.resumed_from_epoch,
        }
    }
}
