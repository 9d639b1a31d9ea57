//! The training loop: one augmented batch per step from a [`BatchSource`],
//! forward/backward/optimiser on a `tch` model, separate clocks for the
//! augmentation and the model, and a [`RunResult`] at the end.
//!
//! Expect, on 2 CPU threads: the simple CNN on 28×28×1 synthetic shapes
//! (200/class, 4 epochs) ≈ 95 % in ≈ 30 s; the simple CNN on Fashion-MNIST ≈ 91 %
//! after a few epochs; CIFAR ResNet-18 ≈ 0.95 s per batch of 64 — use a GPU or
//! a small `--train-per-class`.

use std::path::Path;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use augkit::Step;
use augkit_data::ImageSet;
use tch::nn;
use tch::{Device, Kind, Tensor};

use crate::checkpoint::{self, CheckpointState};
use crate::config::{DeviceChoice, TrainConfig};
use crate::metrics;
use crate::models::{self, InputShape, Model};
use crate::optim::Optimizer;
use crate::progress::Progress;
use crate::result::*;
use crate::schedule::learning_rate;
use crate::source;

/// The data one run trains and tests on.
pub struct TrainData {
    pub train: ImageSet,
    pub test: ImageSet,
    /// Indices into `train` that make up an epoch (the stratified subset).
    pub subset: Vec<u32>,
}

/// Facts about the run gathered before [`train`] was called.
#[derive(Clone, Debug)]
pub struct RunContext {
    pub command_line: Vec<String>,
    /// Time already spent reading the data and choosing the subset.
    pub data_load_s: f64,
    pub started: Instant,
    pub started_unix_s: u64,
}

impl RunContext {
    pub fn now(command_line: Vec<String>) -> Self {
        Self {
            command_line,
            data_load_s: 0.0,
            started: Instant::now(),
            started_unix_s: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        }
    }
}

/// Soft-label cross-entropy of a mixed batch:
/// `mean_i [ λ_i·CE(a_i) + (1−λ_i)·CE(b_i) ]`, where with label smoothing `s`
/// the target of label `y` is `s/C` off and `1 − s + s/C` on — i.e.
/// `CE(y) = (1−s)·(−log p_y) + s·mean_c(−log p_c)`.
pub fn mixed_cross_entropy(
    logits: &Tensor,
    label_a: &Tensor,
    label_b: &Tensor,
    lambda: &Tensor,
    smoothing: f64,
) -> Tensor {
    let log_p = logits.log_softmax(-1, Kind::Float);
    let nll_a = -log_p.gather(1, &label_a.unsqueeze(1), false).squeeze_dim(1);
    let nll_b = -log_p.gather(1, &label_b.unsqueeze(1), false).squeeze_dim(1);
    let mixed = &nll_b + lambda * (nll_a - &nll_b);
    if smoothing == 0.0 {
        return mixed.mean(Kind::Float);
    }
    let uniform = -log_p.mean_dim(-1, false, Kind::Float);
    (mixed * (1.0 - smoothing) + uniform * smoothing).mean(Kind::Float)
}

/// Wall clock that first waits for the device, so a reading marks the end of
/// all work issued before it (a no-op on CPU, where libtorch ops return
/// when done).
#[derive(Clone, Copy)]
struct SyncClock {
    device: Device,
}

impl SyncClock {
    fn now(self) -> Instant {
        if let Device::Cuda(index) = self.device {
            tch::Cuda::synchronize(index as i64);
        }
        Instant::now()
    }
}

/// The libtorch device for `choice`, or why it cannot be used.
pub fn resolve_device(choice: DeviceChoice) -> anyhow::Result<Device> {
    match choice {
        DeviceChoice::Cpu => Ok(Device::Cpu),
        DeviceChoice::Cuda => {
            anyhow::ensure!(
                tch::Cuda::is_available(),
                "--device cuda: libtorch sees no CUDA device (device count {}); use --device cpu",
                tch::Cuda::device_count()
            );
            Ok(Device::Cuda(0))
        }
    }
}

fn device_name(device: Device) -> String {
    match device {
        Device::Cpu => "cpu".into(),
        Device::Cuda(i) => format!("cuda:{i}"),
        other => format!("{other:?}"),
    }
}

/// The torch version baked in by build.rs from libtorch's `version.py`.
pub fn torch_version() -> &'static str {
    option_env!("AUGKIT_TORCH_VERSION").unwrap_or("unknown")
}

fn git(args: &[&str]) -> Option<String> {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn provenance(
    config: &TrainConfig,
    ctx: &RunContext,
    device: Device,
    backend: BackendSelection,
) -> Provenance {
    let git_commit = git(&["rev-parse", "HEAD"]);
    let git_dirty = git_commit
        .as_ref()
        .and_then(|_| git(&["status", "--porcelain", "--untracked-files=no"]))
        .map(|s| !s.is_empty());
    let _ = config;
    Provenance {
        augkit_version: env!("CARGO_PKG_VERSION").to_string(),
        git_commit,
        git_dirty,
        torch_version: torch_version().to_string(),
        tch_version: "0.24.0".to_string(),
        device: device_name(device),
        torch_threads: tch::get_num_threads(),
        backend,
        command_line: ctx.command_line.clone(),
        started_unix_s: ctx.started_unix_s,
        hostname: std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .map(|s| s.trim().to_string()),
    }
}

/// Steps per epoch: full batches, plus the remainder as a smaller last batch
/// unless it is a single sample (BatchNorm cannot train on one).
pub fn steps_per_epoch(epoch_len: u32, batch_size: u32) -> u32 {
    let full = epoch_len / batch_size;
    let rest = epoch_len % batch_size;
    full + u32::from(rest >= 2)
}

fn step_at(epoch: u32, index: u32, epoch_len: u32, batch_size: u32) -> Step {
    let first_position = index * batch_size;
    Step {
        epoch,
        first_position,
        batch_size: batch_size.min(epoch_len - first_position),
    }
}

/// Predictions for all of `images` in batches, and the synchronised wall time
/// of the forward passes (argmax included, copying the predictions back not).
fn predict(model: &Model, images: &Tensor, batch_size: u32, clock: SyncClock) -> (Vec<u32>, f64) {
    let n = images.size()[0];
    tch::no_grad(|| {
        let start = clock.now();
        let mut chunks = Vec::new();
        let mut first = 0;
        while first < n {
            let len = i64::from(batch_size).min(n - first);
            chunks.push(
                model
                    .forward_t(&images.narrow(0, first, len), false)
                    .argmax(-1, false),
            );
            first += len;
        }
        let wall = clock.now().duration_since(start).as_secs_f64();
        let all = Tensor::cat(&chunks, 0).to_device(Device::Cpu);
        let predictions: Vec<i64> = Vec::try_from(&all).expect("i64 predictions");
        (predictions.into_iter().map(|p| p as u32).collect(), wall)
    })
}

fn accuracy(predictions: &[u32], labels: &[u32]) -> f64 {
    let correct = predictions
        .iter()
        .zip(labels)
        .filter(|(p, l)| p == l)
        .count();
    correct as f64 / labels.len().max(1) as f64
}

/// The libtorch seed of epoch `epoch` (0-based): libtorch's generator
/// (dropout) is reseeded at the start of every epoch, so a run resumed at
/// epoch `e` draws what the uninterrupted run drew.
pub fn epoch_seed(seed: u64, epoch: u32) -> i64 {
    // splitmix64 of (seed, epoch), kept non-negative for manual_seed.
    let mut z = seed ^ (u64::from(epoch) + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    ((z ^ (z >> 31)) >> 1) as i64
}

/// Trains and tests one model as `config` says, on `data`. Configuration,
/// policy, device and backend errors come back as `Err` before the first
/// step; a run that starts always returns `Ok`, with `status: failed` and the
/// error recorded when it had to stop (a non-finite loss).
pub fn train(config: &TrainConfig, data: TrainData, ctx: RunContext) -> anyhow::Result<RunResult> {
    train_resumable(config, data, ctx, None)
}

/// [`train`], checkpointing into `checkpoint_dir` after every epoch but the
/// last (model, optimiser state, curves, clocks; see [`crate::checkpoint`])
/// and, when that directory already holds a checkpoint, resuming from it at
/// the next epoch. The result then records `resumed_from_epoch`.
pub fn train_resumable(
    config: &TrainConfig,
    data: TrainData,
    ctx: RunContext,
    checkpoint_dir: Option<&Path>,
) -> anyhow::Result<RunResult> {
    let config = &crate::data::with_dataset_normalisation(config, &data.train, &data.subset);
    config.validate()?;
    if let Some(threads) = config.threads {
        tch::set_num_threads(threads as i32);
    }
    let device = resolve_device(config.device)?;
    let clock = SyncClock { device };
    let TrainData {
        train,
        test,
        subset,
    } = data;
    let shape = crate::data::image_shape(&train)?;
    let policy_name = config.policy_file.as_ref().map_or_else(
        || "the identity policy".to_string(),
        |p| p.display().to_string(),
    );
    config
        .policy
        .compile(shape)
        .with_context(|| format!("policy {policy_name} does not fit {} images", train.name))?;
    anyhow::ensure!(
        subset.len() >= 2,
        "the training subset has {} image(s); at least 2 are needed",
        subset.len()
    );

    let class_names = crate::data::class_names(&train);
    let mut per_class = vec![0u64; train.num_classes as usize];
    for &i in &subset {
        per_class[train.labels[i as usize] as usize] += 1;
    }
    let data_summary = DataSummary {
        dataset: config.dataset.clone(),
        channels: train.channels,
        height: train.height,
        width: train.width,
        num_classes: train.num_classes,
        class_names: class_names.clone(),
        train_available: train.len() as u64,
        train_used: subset.len() as u64,
        train_per_class: per_class,
        test_samples: test.len() as u64,
        method: "counted from the loaded splits; the training subset is augkit-data's stratified_subset \
                 (seeded with --seed) and every epoch visits it in a new augkit shuffle order"
            .into(),
    };
    let mut fixed = FixedCosts {
        data_load_s: ctx.data_load_s,
        ..Default::default()
    };

    // Reproducibility: libtorch's generator (init, dropout) and augkit's seed.
    tch::manual_seed(config.seed as i64);
    if device.is_cuda() {
        tch::Cuda::manual_seed_all(config.seed);
    }

    let t = Instant::now();
    let num_classes = train.num_classes;
    let dataset = Arc::new(crate::data::to_augkit_dataset(train)?);
    fixed.dataset_upload_s = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let (mut source, note) = source::open(
        config.backend,
        device,
        &config.policy,
        config.seed,
        dataset,
        subset,
    )
    .with_context(|| format!("opening the {} augmentation backend", config.backend.name()))?;
    fixed.backend_construction_s = t.elapsed().as_secs_f64();
    let info = source.info();
    let selection = BackendSelection {
        requested: config.backend.name().into(),
        chosen: info.kind,
        device: info.device.clone(),
        note,
    };

    let t = clock.now();
    let vs = nn::VarStore::new(device);
    let input = InputShape {
        channels: i64::from(shape.channels),
        height: i64::from(shape.height),
        width: i64::from(shape.width),
    };
    let model = models::build(&vs.root(), config.model, input, i64::from(num_classes))?;
    let mut vs = vs;
    let mut optimizer = Optimizer::new(
        config.optimizer,
        &vs,
        config.lr,
        config.weight_decay,
        config.momentum,
    );
    fixed.model_construction_s = clock.now().duration_since(t).as_secs_f64();
    let model_summary = ModelSummary {
        kind: config.model,
        parameters: models::parameter_count(&vs),
        description: match config.model {
            models::ModelKind::Resnet18 => "ResNet-18, CIFAR form: 3×3 stem, no max-pool, BatchNorm, [2,2,2,2] basic blocks, 64-128-256-512, global average pool, linear".into(),
            models::ModelKind::SimpleCnn => "conv3×3 32 (valid) · ReLU · conv3×3 64 (valid) · ReLU · max-pool 2 · dropout 0.25 · fc 128 · ReLU · dropout 0.5 · fc classes".into(),
        },
    };

    fixed.synthetic_fit_s = source.synthetic_fit_seconds();
    if let Some(fit) = fixed.synthetic_fit_s {
        fixed.backend_construction_s = (fixed.backend_construction_s - fit).max(0.0);
    }

    let t = clock.now();
    let test_images = crate::data::test_tensor(&test, &config.policy.output, device);
    fixed.test_set_upload_s = clock.now().duration_since(t).as_secs_f64();

    let epoch_len = source.epoch_len();
    let steps = steps_per_epoch(epoch_len, config.batch_size);
    let total_steps = u64::from(steps) * u64::from(config.epochs);
    let warmup_steps = (config.warmup_epochs * f64::from(steps)).round() as u64;
    let smoothing = config.label_smoothing();

    let mut progress = Progress::new(config.quiet, config.epochs);
    progress.log(&format!(
        "augkit train: {} on {} ({} of {} training images, {}×{}×{}, {} classes), backend {} [{}], device {}, {} steps/epoch",
        config.model.name(),
        config.dataset,
        data_summary.train_used,
        data_summary.train_available,
        shape.channels,
        shape.height,
        shape.width,
        num_classes,
        info.kind.name(),
        selection.note,
        device_name(device),
        steps
    ));

    let rss_before = crate::memory::current_rss_bytes();
    let on_cuda = matches!(device, Device::Cuda(_));
    let mut peak_device: Option<u64> = None;
    // On a GPU the augmentation / model split is read from CUDA events.
    let events = if on_cuda {
        crate::cuda_timing::StepEvents::new()
    } else {
        None
    };
    let mut aug_times = Vec::with_capacity(total_steps as usize);
    let mut model_times = Vec::with_capacity(total_steps as usize);
    let mut step_times = Vec::with_capacity(total_steps as usize);
    let mut curves = Vec::with_capacity(config.epochs as usize);
    let mut failure: Option<String> = None;
    let mut train_wall_s = 0.0;
    let mut epoch_eval_s = 0.0;
    let mut final_eval: Option<(Vec<u32>, f64)> = None;
    let mut samples = 0u64;
    let mut global_step = 0u64;
    let mut wall_before_s = 0.0;
    let mut resumed_from_epoch = None;
    let mut first_epoch = 0;
    if let Some(dir) = checkpoint_dir
        && let Some(state) = checkpoint::load(dir)?
    {
        anyhow::ensure!(
            state.epochs_done < config.epochs,
            "{}: checkpoint after epoch {} does not fit a {}-epoch run",
            dir.display(),
            state.epochs_done,
            config.epochs
        );
        vs.load(dir.join(&state.model_file))
            .with_context(|| format!("loading {}", dir.join(&state.model_file).display()))?;
        optimizer.load(&dir.join(&state.optimizer_file))?;
        anyhow::ensure!(
            optimizer.steps() == state.global_step,
            "{}: the optimiser state has {} steps but the checkpoint {}",
            dir.display(),
            optimizer.steps(),
            state.global_step
        );
        first_epoch = state.epochs_done;
        resumed_from_epoch = Some(state.epochs_done);
        curves = state.curves;
        aug_times = state.augmentation_times_s;
        model_times = state.model_times_s;
        step_times = state.step_times_s;
        train_wall_s = state.train_wall_s;
        epoch_eval_s = state.epoch_eval_s;
        samples = state.samples;
        global_step = state.global_step;
        wall_before_s = state.total_wall_s;
        progress.log(&format!(
            "resuming from the checkpoint after epoch {first_epoch} in {}",
            dir.display()
        ));
    }

    'epochs: for epoch in first_epoch..config.epochs {
        tch::manual_seed(epoch_seed(config.seed, epoch));
        if device.is_cuda() {
            tch::Cuda::manual_seed_all(epoch_seed(config.seed, epoch) as u64);
        }
        progress.start_epoch(epoch + 1, u64::from(steps));
        let epoch_start = clock.now();
        let (mut loss_sum, mut correct, mut seen) = (0.0f64, 0u64, 0u64);
        let (mut epoch_aug, mut epoch_model) = (0.0, 0.0);
        let mut lr = config.lr;
        for index in 0..steps {
            let step_start = clock.now();
            lr = learning_rate(
                config.schedule,
                config.lr,
                global_step,
                total_steps,
                warmup_steps,
            );
            optimizer.set_lr(lr);
            let step = step_at(epoch, index, epoch_len, config.batch_size);

            let t0 = clock.now();
            let mark = |i| events.as_ref().map(|e| e.record(i));
            mark(0);
            let batch = source.batch(step)?;
            mark(1);
            let t1 = clock.now();
            let logits = model.forward_t(&batch.images, true);
            let loss = mixed_cross_entropy(
                &logits,
                &batch.label_a,
                &batch.label_b,
                &batch.lambda,
                smoothing,
            );
            optimizer.backward_step(&loss);
            let loss_value = loss.double_value(&[]);
            mark(2);
            let t2 = clock.now();
            if on_cuda && let Some(used) = crate::memory::device_used_bytes() {
                peak_device = Some(peak_device.map_or(used, |p| p.max(used)));
            }

            if !loss_value.is_finite() {
                failure = Some(format!(
                    "the training loss became {loss_value} at epoch {} step {} (global step {global_step}, lr {lr:e}); \
                     stopping (try a lower --lr)",
                    epoch + 1,
                    index + 1
                ));
                progress.abandon();
                break 'epochs;
            }
            let predictions: Vec<i64> =
                Vec::try_from(&logits.detach().argmax(-1, false).to_device(Device::Cpu))?;
            correct += predictions
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
            seen += b;
            samples += b;
            loss_sum += loss_value * b as f64;
            global_step += 1;
            let (aug, model_s) = events.as_ref().and_then(|e| e.split()).unwrap_or((
                t1.duration_since(t0).as_secs_f64(),
                t2.duration_since(t1).as_secs_f64(),
            ));
            epoch_aug += aug;
            epoch_model += model_s;
            aug_times.push(aug);
            model_times.push(model_s);
            step_times.push(clock.now().duration_since(step_start).as_secs_f64());
            progress.step(loss_sum / seen as f64, correct as f64 / seen as f64);
        }
        let wall_s = clock.now().duration_since(epoch_start).as_secs_f64();
        train_wall_s += wall_s;

        let last = epoch + 1 == config.epochs;
        let test_accuracy = if last {
            let (predictions, wall) = predict(&model, &test_images, config.eval_batch_size, clock);
            let a = accuracy(&predictions, &test.labels);
            final_eval = Some((predictions, wall));
            Some(a)
        } else if config.eval_every > 0 && (epoch + 1) % config.eval_every == 0 {
            let (predictions, wall) = predict(&model, &test_images, config.eval_batch_size, clock);
            epoch_eval_s += wall;
            Some(accuracy(&predictions, &test.labels))
        } else {
            None
        };
        let record = EpochRecord {
            epoch: epoch + 1,
            lr,
            train_loss: loss_sum / seen.max(1) as f64,
            train_accuracy: correct as f64 / seen.max(1) as f64,
            test_accuracy,
            wall_s,
            augmentation_s: epoch_aug,
            model_s: epoch_model,
        };
        progress.finish_epoch(&record);
        curves.push(record);
        if let Some(dir) = checkpoint_dir
            && !last
        {
            let state = CheckpointState {
                epochs_done: epoch + 1,
                model_file: String::new(),
                optimizer_file: String::new(),
                curves: curves.clone(),
                augmentation_times_s: aug_times.clone(),
                model_times_s: model_times.clone(),
                step_times_s: step_times.clone(),
                train_wall_s,
                epoch_eval_s,
                samples,
                global_step,
                total_wall_s: wall_before_s + ctx.started.elapsed().as_secs_f64(),
            };
            checkpoint::save(dir, state, &vs, &optimizer)
                .with_context(|| format!("checkpointing into {}", dir.display()))?;
        }
    }

    let (test_figures, inference) = match final_eval {
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

    let aug_total: f64 = aug_times.iter().sum();
    let model_total: f64 = model_times.iter().sum();
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
        steps: global_step,
        samples,
        train_wall_s,
        total_wall_s: wall_before_s + ctx.started.elapsed().as_secs_f64(),
        augmentation: Distribution::of(&aug_times),
        model: Distribution::of(&model_times),
        step: Distribution::of(&step_times),
        augmentation_share: aug_total / (aug_total + model_total).max(f64::MIN_POSITIVE),
        fixed,
        epoch_eval_s,
    };
    let memory = Memory {
        method: "host: VmHWM (peak resident set size) and VmRSS from /proc/self/status, in bytes".into(),
        peak_host_rss_bytes: crate::memory::peak_rss_bytes(),
        host_rss_before_training_bytes: rss_before,
        peak_device_bytes: peak_device,
        device_note: match device {
            Device::Cpu => "null on CPU: the model's memory is host memory, counted in peak_host_rss_bytes".into(),
            _ => "device-wide memory in use (cuMemGetInfo: total − free) sampled after every training \
                  step, largest value: includes libtorch's caching-allocator reserve, augkit's resident \
                  dataset and any other process on the GPU (tch exposes no allocator statistics)"
                .into(),
        },
    };
    let status = if failure.is_some() {
        Status::Failed
    } else {
        Status::Completed
    };
    Ok(RunResult {
        schema_version: SCHEMA_VERSION,
        status,
        error: failure,
        provenance: provenance(config, &ctx, device, selection),
        config: config.clone(),
        data: data_summary,
        model: model_summary,
        test: test_figures,
        timing,
        memory,
        inference,
        curves,
        resumed_from_epoch,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_keep_the_remainder_unless_single() {
        assert_eq!(steps_per_epoch(128, 64), 2);
        assert_eq!(steps_per_epoch(130, 64), 3);
        assert_eq!(steps_per_epoch(129, 64), 2);
        assert_eq!(steps_per_epoch(7, 64), 1);
        let last = step_at(0, 2, 130, 64);
        assert_eq!((last.first_position, last.batch_size), (128, 2));
    }

    /// The loss equals the explicit soft-target cross-entropy
    /// `−Σ_c t_c log p_c` with `t = λ·onehot_s(a) + (1−λ)·onehot_s(b)`.
    #[test]
    fn mixed_cross_entropy_matches_explicit_soft_targets() {
        tch::manual_seed(7);
        let (n, c) = (7i64, 5i64);
        let logits = Tensor::randn([n, c], (Kind::Float, Device::Cpu)) * 3.0;
        let a = [0i64, 1, 2, 3, 4, 0, 1];
        let b = [4i64, 3, 2, 1, 0, 0, 2];
        let lam = [1.0f32, 0.0, 0.5, 0.3, 0.9, 0.25, 0.75];
        for s in [0.0f64, 0.1, 0.3] {
            let off = s / c as f64;
            let on = 1.0 - s + off;
            let logp: Vec<f32> =
                Vec::try_from(&logits.log_softmax(-1, Kind::Float).flatten(0, 1)).unwrap();
            let mut expected = 0.0f64;
            for i in 0..n as usize {
                for k in 0..c as usize {
                    let t_a = if a[i] as usize == k { on } else { off };
                    let t_b = if b[i] as usize == k { on } else { off };
                    let t = f64::from(lam[i]) * t_a + (1.0 - f64::from(lam[i])) * t_b;
                    expected -= t * f64::from(logp[i * c as usize + k]);
                }
            }
            expected /= n as f64;
            let got = mixed_cross_entropy(
                &logits,
                &Tensor::from_slice(&a),
                &Tensor::from_slice(&b),
                &Tensor::from_slice(&lam),
                s,
            )
            .double_value(&[]);
            assert!(
                (got - expected).abs() <= 1e-5 + 1e-5 * expected.abs(),
                "s={s}: {got} vs {expected}"
            );
        }
    }
}
