//! Setting a run up: the data summary, the backend, the model and the
//! optimiser, seeded as documented; and resuming it from a checkpoint.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use tch::nn;

use super::{
    Run, RunContext, SyncClock, Tally, TrainData, check, device_name, policy_plan, resolve_device,
    steps_per_epoch,
};
use crate::checkpoint;
use crate::config::TrainConfig;
use crate::models::{self, InputShape, Model};
use crate::optim::Optimizer;
use crate::progress::Progress;
use crate::result::*;
use crate::source;

impl Run {
    pub(super) fn set_up(
        config: &TrainConfig,
        data: TrainData,
        ctx: RunContext,
    ) -> anyhow::Result<Self> {
        // This run's peak starts here, whatever ran before it in the process.
        let mut memory = super::MemoryProbe {
            peak_is_per_run: crate::memory::reset_peak(),
            rss_at_start: crate::memory::current_rss_bytes(),
            first_batch_pending: true,
            ..Default::default()
        };
        let TrainData {
            train,
            test,
            subset,
        } = data;
        let (config, shape) = check(config, &train, &test, &subset)?;
        if let Some(threads) = config.threads {
            tch::set_num_threads(threads as i32);
        }
        let device = resolve_device(config.device)?;
        let clock = SyncClock { device };

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
            source: ctx.data_source.clone(),
            method: "counted from the loaded splits; the training subset is augkit-data's stratified_subset \
                     (seeded with --seed) and every epoch visits it in a new augkit shuffle order"
                .into(),
            provenance: None,
        };
        let mut ctx = ctx;
        let pool = ctx.pool.take();
        let mut fixed = FixedCosts {
            data_load_s: ctx.data_load_s,
            generator: ctx.generator.clone(),
            ..Default::default()
        };

        // Reproducibility: libtorch's generator (init, dropout) and augkit's seed.
        tch::manual_seed(config.seed as i64);
        if device.is_cuda() {
            tch::Cuda::manual_seed_all(config.seed);
        }

        let t = Instant::now();
        let num_classes = train.num_classes;
        // Counted, not measured: augkit's copy of the split (moved, or copied
        // from a shared set) is made before the backend's growth is read;
        // labels (u32) and grey means (f32) are 8 bytes an image.
        memory.augmentation.dataset_bytes =
            (train.pixels.len() + 8 * train.labels.len() + 4 * subset.len()) as u64;
        let train_name = train.name.clone();
        let dataset = crate::data::to_augkit_dataset(train)?;
        let dataset = Arc::new(match pool {
            Some(pool) => crate::generate::attach::with_pool(dataset, pool)?,
            None => dataset,
        });
        fixed.dataset_upload_s = t.elapsed().as_secs_f64();

        let live_before_backend = crate::memory::live_rss_bytes();
        let t = Instant::now();
        let plan = policy_plan(&config, &train_name, dataset, subset)?;
        let (source, note) = source::open(config.backend, device, plan).with_context(|| {
            format!("opening the {} augmentation backend", config.backend.name())
        })?;
        fixed.backend_construction_s = t.elapsed().as_secs_f64();
        memory.augmentation.backend_bytes = crate::memory::live_rss_bytes()
            .zip(live_before_backend)
            .map(|(after, before)| after.saturating_sub(before));
        let info = source.info();
        let selection = BackendSelection {
            requested: config.backend.name().into(),
            chosen: info.kind,
            device: info.device.clone(),
            note,
        };

        let t = clock.now();
        let (vs, model, optimizer) = build_model(&config, device, shape, num_classes)?;
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
        let curve_set = match config.eval_subset {
            Some(n) => super::curve_set::CurveSet::choose(&test, &test_images, n)?,
            None => None,
        };
        fixed.test_set_upload_s = clock.now().duration_since(t).as_secs_f64();

        let epoch_len = source.epoch_len();
        let steps = steps_per_epoch(epoch_len, config.batch_size);
        let total_steps = config
            .steps
            .unwrap_or(u64::from(steps) * u64::from(config.epochs));
        let warmup_steps = (config.warmup_epochs * f64::from(steps)).round() as u64;
        let smoothing = config.label_smoothing();

        let progress = Progress::new(config.quiet, config.epochs);
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
        if let Some(source) = &ctx.data_source {
            progress.log(&format!("data: {source}"));
        }

        let rss_before = crate::memory::current_rss_bytes();
        let events = if device.is_cuda() {
            crate::cuda_timing::StepEvents::new()
        } else {
            None
        };
        Ok(Self {
            config,
            ctx,
            device,
            shape,
            clock,
            test,
            num_classes,
            class_names,
            data_summary,
            fixed,
            source,
            selection,
            vs,
            model,
            optimizer,
            model_summary,
            test_images,
            curve_set,
            epoch_len,
            steps,
            total_steps,
            warmup_steps,
            smoothing,
            progress,
            rss_before,
            memory,
            events,
        })
    }

    /// Restores the checkpoint in `dir`, if there is one. One that cannot be
    /// read back or fails [`checkpoint::verify`] (a file cut short, a
    /// flipped bit, an edited `checkpoint.json`, another run's checkpoint)
    /// is discarded with a warning, and the run starts from scratch: a
    /// checkpoint only saves time, so losing it loses nothing else.
    pub(super) fn resume(&mut self, dir: &Path, tally: &mut Tally) -> anyhow::Result<()> {
        let state = match checkpoint::load(dir) {
            Ok(Some(state)) => state,
            Ok(None) => return Ok(()),
            Err(e) => return self.discard_checkpoint(dir, &format!("{e:#}")),
        };
        if let Err(why) = checkpoint::verify(dir, &state, &self.config) {
            return self.discard_checkpoint(dir, &why);
        }
        let model_path = dir.join(&state.model_file);
        if let Err(e) = self.vs.load(&model_path) {
            return self.discard_checkpoint(dir, &format!("{}: {e}", model_path.display()));
        }
        if let Err(e) = self.optimizer.load(&dir.join(&state.optimizer_file)) {
            return self.discard_checkpoint(dir, &format!("{e:#}"));
        }
        if self.optimizer.steps() != state.global_step {
            let why = format!(
                "the optimiser state has {} steps but the checkpoint {}",
                self.optimizer.steps(),
                state.global_step
            );
            return self.discard_checkpoint(dir, &why);
        }
        tally.first_epoch = state.epochs_done;
        tally.resumed_from_epoch = Some(state.epochs_done);
        tally.curves = state.curves;
        tally.aug_times = state.augmentation_times_s;
        tally.model_times = state.model_times_s;
        tally.step_times = state.step_times_s;
        tally.train_wall_s = state.train_wall_s;
        tally.epoch_eval_s = state.epoch_eval_s;
        tally.samples = state.samples;
        tally.global_step = state.global_step;
        tally.wall_before_s = state.total_wall_s;
        self.progress.log(&format!(
            "resuming from the checkpoint after epoch {} in {}",
            tally.first_epoch,
            dir.display()
        ));
        Ok(())
    }

    /// Removes an unreadable checkpoint and rebuilds the model and optimiser
    /// as a fresh run has them (a failed load may have written into them).
    fn discard_checkpoint(&mut self, dir: &Path, why: &str) -> anyhow::Result<()> {
        self.progress.log(&format!(
            "warning: discarding the checkpoint in {} ({why}); training this run from the start",
            dir.display()
        ));
        checkpoint::clear(dir)
            .with_context(|| format!("removing the checkpoint in {}", dir.display()))?;
        tch::manual_seed(self.config.seed as i64);
        let (vs, model, optimizer) =
            build_model(&self.config, self.device, self.shape, self.num_classes)?;
        self.model = model;
        self.optimizer = optimizer;
        self.vs = vs;
        Ok(())
    }
}

/// The model, its `VarStore` and optimiser as a fresh run has them: the one
/// place they are built (set-up, and again when an unreadable checkpoint
/// may have written into them). libtorch's generator is seeded by the
/// caller, so both builds draw the same initial weights.
fn build_model(
    config: &TrainConfig,
    device: tch::Device,
    shape: augkit::ImageShape,
    num_classes: u32,
) -> anyhow::Result<(nn::VarStore, Model, Optimizer)> {
    let vs = nn::VarStore::new(device);
    let input = InputShape {
        channels: i64::from(shape.channels),
        height: i64::from(shape.height),
        width: i64::from(shape.width),
    };
    let model = models::build(&vs.root(), config.model, input, i64::from(num_classes))?;
    let optimizer = Optimizer::new(
        config.optimizer,
        &vs,
        config.lr,
        config.weight_decay,
        config.momentum,
    );
    Ok((vs, model, optimizer))
}
