//! The epochs of a run: each optimiser step, the evaluation after an epoch
//! and the checkpoint that follows it.

use std::path::Path;

use tch::{Device, Tensor};

use super::{EpochSums, Run, SyncClock, Tally, accuracy, epoch_seed, mixed_cross_entropy, step_at};
use crate::checkpoint::{self, CheckpointState};
use crate::models::Model;
use crate::result::EpochRecord;
use crate::schedule::learning_rate;

/// Predictions for all of `images` in batches, and the synchronised wall time
/// of the forward passes (argmax included, copying the predictions back not).
/// libtorch errors come back as `Err` (the fallible `f_` calls), not panics.
fn predict(
    model: &Model,
    images: &Tensor,
    batch_size: u32,
    clock: SyncClock,
) -> anyhow::Result<(Vec<u32>, f64)> {
    let n = images.size()[0];
    anyhow::ensure!(n > 0, "the test set is empty: nothing to evaluate");
    tch::no_grad(|| {
        let start = clock.now();
        let mut chunks = Vec::new();
        let mut first = 0;
        while first < n {
            let len = i64::from(batch_size).min(n - first);
            chunks.push(
                model
                    .forward_t(&images.f_narrow(0, first, len)?, false)
                    .f_argmax(-1, false)?,
            );
            first += len;
        }
        let wall = clock.now().duration_since(start).as_secs_f64();
        let all = Tensor::f_cat(&chunks, 0)?.f_to_device(Device::Cpu)?;
        let predictions: Vec<i64> = Vec::try_from(&all)?;
        Ok((predictions.into_iter().map(|p| p as u32).collect(), wall))
    })
}

/// Host bytes of a batch's tensors (0 for those on a GPU).
fn batch_host_bytes(batch: &crate::source::Batch) -> u64 {
    [&batch.images, &batch.label_a, &batch.label_b, &batch.lambda]
        .iter()
        .filter(|t| t.device() == Device::Cpu)
        .map(|t| (t.numel() * t.kind().elt_size_in_bytes()) as u64)
        .sum()
}

impl Run {
    pub(super) fn train_epochs(
        &mut self,
        tally: &mut Tally,
        checkpoint_dir: Option<&Path>,
    ) -> anyhow::Result<()> {
        for epoch in tally.first_epoch..self.config.epochs {
            tch::manual_seed(epoch_seed(self.config.seed, epoch));
            if self.device.is_cuda() {
                tch::Cuda::manual_seed_all(epoch_seed(self.config.seed, epoch) as u64);
            }
            // Under a step budget the last epoch stops where the budget ends.
            let budget_left = self.total_steps.saturating_sub(tally.global_step);
            let steps_now = u64::from(self.steps).min(budget_left) as u32;
            self.progress.start_epoch(epoch + 1, u64::from(steps_now));
            let epoch_start = self.clock.now();
            let mut sums = EpochSums {
                lr: self.config.lr,
                ..EpochSums::default()
            };
            for index in 0..steps_now {
                if let Some(failure) = self.step(tally, &mut sums, epoch, index)? {
                    tally.failure = Some(failure);
                    self.progress.abandon();
                    return Ok(());
                }
            }
            let wall_s = self.clock.now().duration_since(epoch_start).as_secs_f64();
            tally.train_wall_s += wall_s;

            let last = epoch + 1 == self.config.epochs;
            let test_accuracy = self.evaluate(tally, epoch, last)?;
            let record = EpochRecord {
                epoch: epoch + 1,
                lr: sums.lr,
                train_loss: sums.loss_sum / sums.seen.max(1) as f64,
                train_accuracy: sums.correct as f64 / sums.seen.max(1) as f64,
                test_accuracy,
                wall_s,
                augmentation_s: sums.augmentation_s,
                model_s: sums.model_s,
            };
            self.progress.finish_epoch(&record);
            tally.curves.push(record);
            if let Some(dir) = checkpoint_dir
                && !last
                && let Err(e) = self.checkpoint(dir, tally, epoch)
            {
                if matches!(e, checkpoint::CheckpointError::DiskFull { .. }) {
                    self.progress.abandon();
                    return Err(anyhow::Error::new(e).context(format!(
                        "checkpointing after epoch {} into {}",
                        epoch + 1,
                        dir.display()
                    )));
                }
                tally.failure = Some(format!(
                    "the checkpoint after epoch {} could not be written ({e}); stopping this run \
                     (its partial files were removed)",
                    epoch + 1
                ));
                self.progress.abandon();
                return Ok(());
            }
        }
        Ok(())
    }

    /// One optimiser step. `Ok(Some(why))` when the loss was not finite.
    fn step(
        &mut self,
        tally: &mut Tally,
        sums: &mut EpochSums,
        epoch: u32,
        index: u32,
    ) -> anyhow::Result<Option<String>> {
        let clock = self.clock;
        let step_start = clock.now();
        let lr = learning_rate(
            self.config.schedule,
            self.config.lr,
            tally.global_step,
            self.total_steps,
            self.warmup_steps,
        );
        sums.lr = lr;
        self.optimizer.set_lr(lr);
        let step = step_at(epoch, index, self.epoch_len, self.config.batch_size);

        // The first batch of this process's run: what it leaves resident
        // beyond the batch tensor is the augmentation's scratch. Read outside
        // the augmentation and model clocks (the step clock includes it).
        let live_before = if self.memory.first_batch_pending {
            crate::memory::live_rss_bytes()
        } else {
            None
        };
        let t0 = clock.now();
        let events = self.events.as_ref();
        let mark = |i| events.map(|e| e.record(i));
        mark(0);
        let batch = self.source.batch(step)?;
        mark(1);
        let mut t1 = clock.now();
        if std::mem::take(&mut self.memory.first_batch_pending) {
            let batch_bytes = batch_host_bytes(&batch);
            self.memory.augmentation.first_batch_bytes = crate::memory::live_rss_bytes()
                .zip(live_before)
                .map(|(after, before)| after.saturating_sub(before).saturating_sub(batch_bytes));
            t1 = clock.now();
        }
        let logits = self.model.forward_t(&batch.images, true);
        let loss = mixed_cross_entropy(
            &logits,
            &batch.label_a,
            &batch.label_b,
            &batch.lambda,
            self.smoothing,
        );
        self.optimizer.backward_step(&loss);
        let loss_value = loss.double_value(&[]);
        mark(2);
        let t2 = clock.now();
        if self.device.is_cuda()
            && let Some(used) = crate::memory::device_used_bytes()
        {
            tally.peak_device = Some(tally.peak_device.map_or(used, |p| p.max(used)));
        }

        if !loss_value.is_finite() {
            return Ok(Some(format!(
                "the training loss became {loss_value} at epoch {} step {} (global step {}, lr {lr:e}); \
                 stopping: {}",
                epoch + 1,
                index + 1,
                tally.global_step,
                self.non_finite_cause(&batch.images, tally.global_step)
            )));
        }
        let predictions: Vec<i64> =
            Vec::try_from(&logits.detach().argmax(-1, false).to_device(Device::Cpu))?;
        sums.correct += predictions
            .iter()
            .zip(&batch.labels)
            .filter(|&(&p, l)| {
                p as u32
                    == if l.lambda >= 0.5 {
                        l.label_a
                    } else {
                        l.label_b
                    }
            })
            .count() as u64;
        let b = u64::from(step.batch_size);
        sums.seen += b;
        tally.samples += b;
        sums.loss_sum += loss_value * b as f64;
        tally.global_step += 1;
        let (aug, model_s) = events.and_then(|e| e.split()).unwrap_or((
            t1.duration_since(t0).as_secs_f64(),
            t2.duration_since(t1).as_secs_f64(),
        ));
        sums.augmentation_s += aug;
        sums.model_s += model_s;
        tally.aug_times.push(aug);
        tally.model_times.push(model_s);
        tally
            .step_times
            .push(clock.now().duration_since(step_start).as_secs_f64());
        self.progress.step(
            sums.loss_sum / sums.seen as f64,
            sums.correct as f64 / sums.seen as f64,
        );
        Ok(None)
    }

    /// The likely reason the loss stopped being finite, for the error.
    fn non_finite_cause(&self, images: &Tensor, finite_steps: u64) -> String {
        let output = &self.config.policy.output;
        let largest = images
            .f_abs()
            .and_then(|a| a.f_max())
            .and_then(|m| m.f_double_value(&[]))
            .unwrap_or(f64::NAN);
        let normalisation = format!(
            "output.mean {:?}, output.std {:?}, dtype {:?}",
            output.mean, output.std, output.dtype
        );
        if !largest.is_finite() {
            format!(
                "the augmented batch itself holds non-finite values: the policy's output \
                 normalisation ({normalisation}) overflows its dtype; fix the policy's [output]"
            )
        } else if finite_steps == 0 {
            format!(
                "the loss was not finite at the very first step, before the learning rate played \
                 any part; the inputs reach ±{largest:e} after normalisation ({normalisation}), \
                 which the model's arithmetic overflows; fix the policy's [output]"
            )
        } else {
            format!(
                "the training diverged after {finite_steps} finite steps; the inputs are at most \
                 ±{largest:e}, so the likely cause is the learning rate (try a lower --lr than {:e})",
                self.config.lr
            )
        }
    }

    /// The curve's test accuracy after `epoch`, where one is due (always
    /// after the last epoch, whose whole-test-set predictions are kept for
    /// the result). Under `--eval-subset` the curve reads the fixed subset.
    fn evaluate(
        &mut self,
        tally: &mut Tally,
        epoch: u32,
        last: bool,
    ) -> anyhow::Result<Option<f64>> {
        let eval_every = self.config.eval_every;
        let due = last || (eval_every > 0 && (epoch + 1).is_multiple_of(eval_every));
        if !due {
            return Ok(None);
        }
        if !last && let Some(curve) = &self.curve_set {
            let (predictions, wall) = predict(
                &self.model,
                &curve.images,
                self.config.eval_batch_size,
                self.clock,
            )?;
            tally.epoch_eval_s += wall;
            return Ok(Some(accuracy(&predictions, &curve.labels)));
        }
        let (predictions, wall) = predict(
            &self.model,
            &self.test_images,
            self.config.eval_batch_size,
            self.clock,
        )?;
        let a = match &self.curve_set {
            Some(curve) => curve.accuracy_of_full(&predictions),
            None => accuracy(&predictions, &self.test.labels),
        };
        if last {
            tally.final_eval = Some((predictions, wall));
        } else {
            tally.epoch_eval_s += wall;
        }
        Ok(Some(a))
    }

    fn checkpoint(
        &self,
        dir: &Path,
        tally: &Tally,
        epoch: u32,
    ) -> Result<(), checkpoint::CheckpointError> {
        let state = CheckpointState {
            epochs_done: epoch + 1,
            run_sha256: checkpoint::run_digest(&self.config),
            curves: tally.curves.clone(),
            augmentation_times_s: tally.aug_times.clone(),
            model_times_s: tally.model_times.clone(),
            step_times_s: tally.step_times.clone(),
            train_wall_s: tally.train_wall_s,
            epoch_eval_s: tally.epoch_eval_s,
            samples: tally.samples,
            global_step: tally.global_step,
            total_wall_s: tally.wall_before_s + self.ctx.started.elapsed().as_secs_f64(),
            ..CheckpointState::default()
        };
        checkpoint::save(dir, state, &self.vs, &self.optimizer)
    }
}
