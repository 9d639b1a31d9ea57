//! Run options of `augkit train`, each on tiny runs (generated 1×28×28
//! shapes, 1 libtorch thread):
//! - `--steps N`: a run stops after exactly N optimiser steps (the last epoch
//!   partial), its schedule spans the N steps, a budget of whole epochs equals
//!   the same run given in epochs, and a run resumed from its checkpoint
//!   equals the uninterrupted one;
//! - `--eval-subset N`: the curve reads a fixed stratified test subset, the
//!   same for every seed, and training is unchanged by it.
//!
//! Run: `cargo test -p augkit-harness --test train_options`.

use augkit_data::synthetic;
use augkit_harness::config::TrainConfig;
use augkit_harness::models::ModelKind;
use augkit_harness::result::{RunResult, Status};
use augkit_harness::schedule::{Schedule, learning_rate};
use augkit_harness::train::{RunContext, TrainData, steps_per_epoch, train, train_resumable};

/// libtorch's generator and thread count are process-wide: one run at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// 50 training images: batches of 16 give 3 full steps and one of 2; 100
/// test images.
fn data() -> TrainData {
    let train = synthetic::generate(1, 28, 28, 5, 11).unwrap();
    let test = synthetic::generate(1, 28, 28, 10, 12).unwrap();
    let subset = (0..train.len() as u32).collect();
    TrainData {
        train: train.into(),
        test: test.into(),
        subset,
    }
}

fn config(steps: Option<u64>) -> TrainConfig {
    let mut c = TrainConfig::new("synthetic-shapes", ModelKind::SimpleCnn);
    c.policy = augkit::Policy::from_toml_str("horizontal_flip = 0.5\n").unwrap();
    c.epochs = 3;
    c.steps = steps;
    c.batch_size = 16;
    c.schedule = Schedule::Cosine;
    c.warmup_epochs = 0.5;
    c.threads = Some(1);
    c.quiet = true;
    c.seed = 3;
    c
}

fn losses(r: &RunResult) -> Vec<f64> {
    r.curves.iter().map(|c| c.train_loss).collect()
}

fn accuracy(r: &RunResult) -> f64 {
    r.test.as_ref().unwrap().figures.accuracy
}

#[test]
fn a_step_budget_stops_after_exactly_n_steps() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    assert_eq!(steps_per_epoch(50, 16), 4);
    let r = train(&config(Some(10)), data(), RunContext::now(vec![])).unwrap();
    assert_eq!(r.status, Status::Completed, "{:?}", r.error);
    assert_eq!(r.timing.steps, 10);
    assert_eq!(r.config.steps, Some(10));
    // 4 + 4 + 2 steps: three epochs, the last partial (2 steps of 16).
    assert_eq!(r.config.epochs, 3);
    assert_eq!(r.curves.len(), 3);
    assert_eq!(r.timing.samples, 50 + 50 + 32);
    assert!(r.curves.last().unwrap().test_accuracy.is_some());
    assert!(r.test.is_some());
    // The cosine schedule runs over the 10 steps: the last step's rate is
    // the schedule's at step 9 of 10 (warm-up: half an epoch = 2 steps).
    let last_lr = learning_rate(Schedule::Cosine, 1e-3, 9, 10, 2);
    assert_eq!(r.curves.last().unwrap().lr, last_lr);
    assert!(last_lr < 0.05e-3);
}

#[test]
fn a_budget_of_whole_epochs_is_the_same_run() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let by_epochs = train(&config(None), data(), RunContext::now(vec![])).unwrap();
    let by_steps = train(&config(Some(12)), data(), RunContext::now(vec![])).unwrap();
    assert_eq!(by_epochs.timing.steps, 12);
    assert_eq!(losses(&by_epochs), losses(&by_steps));
    assert_eq!(accuracy(&by_epochs), accuracy(&by_steps));
    // Without --steps the configuration is recorded as before.
    let json = serde_json::to_value(&by_epochs.config).unwrap();
    assert!(json.get("steps").is_none(), "{json}");
}

#[test]
fn a_resumed_budgeted_run_equals_an_uninterrupted_one() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let config = config(Some(10));
    let dir = tempfile::tempdir().unwrap();
    // Checkpoints are written after every epoch but the last and left in
    // place (the experiment removes them after writing the result), so a
    // second call resumes after epoch 2 and trains only the partial epoch 3:
    // an interruption during the last epoch.
    let whole =
        train_resumable(&config, data(), RunContext::now(vec![]), Some(dir.path())).unwrap();
    assert_eq!(whole.resumed_from_epoch, None);
    let resumed =
        train_resumable(&config, data(), RunContext::now(vec![]), Some(dir.path())).unwrap();
    assert_eq!(resumed.resumed_from_epoch, Some(2));
    assert_eq!(resumed.timing.steps, 10);
    assert_eq!(losses(&resumed), losses(&whole));
    assert_eq!(accuracy(&resumed), accuracy(&whole));
    let lrs = |r: &RunResult| r.curves.iter().map(|c| c.lr).collect::<Vec<_>>();
    assert_eq!(lrs(&resumed), lrs(&whole));
}

#[test]
fn the_curve_reads_one_fixed_test_subset() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut with = config(None);
    with.eval_subset = Some(30);
    let a = train(&with, data(), RunContext::now(vec![])).unwrap();
    with.seed = 4;
    let b = train(&with, data(), RunContext::now(vec![])).unwrap();
    let plain = train(&config(None), data(), RunContext::now(vec![])).unwrap();

    let set = a.curve_test_set.as_ref().expect("the subset is recorded");
    assert_eq!(set.images, 30);
    assert_eq!(set.per_class, vec![3; 10]);
    assert_eq!(set.seed, augkit_harness::train::EVAL_SUBSET_SEED);
    // Another training seed, the same curve images.
    assert_eq!(b.curve_test_set.as_ref(), Some(set));
    // Every curve point is a count out of 30; the final figures cover all 100.
    for c in &a.curves {
        let k = c.test_accuracy.unwrap() * 30.0;
        assert!((k - k.round()).abs() < 1e-9, "{k}");
    }
    assert_eq!(a.test.as_ref().unwrap().figures.samples, 100);
    // Evaluating fewer images changes nothing in the training.
    assert_eq!(losses(&a), losses(&plain));
    assert_eq!(accuracy(&a), accuracy(&plain));
    assert!(a.timing.epoch_eval_s > 0.0);
    // Without the flag: no subset, and the JSON is as before.
    assert!(plain.curve_test_set.is_none());
    let json = serde_json::to_value(&plain).unwrap();
    assert!(json.get("curve_test_set").is_none());
    assert!(json["config"].get("eval_subset").is_none());
    // A subset as large as the test set is the test set.
    let mut whole = config(Some(4));
    whole.eval_subset = Some(100);
    let w = train(&whole, data(), RunContext::now(vec![])).unwrap();
    assert!(w.curve_test_set.is_none());
}

/// Each run's `peak_host_rss_bytes` is its own: a memory-hungry run (the
/// whole test set of 1,000 images evaluated in one batch: hundreds of MB of
/// activations) before a small one leaves the small one's peak where it is
/// when the small one runs first.
#[test]
#[cfg(target_os = "linux")]
fn a_small_run_after_a_hungry_one_reports_its_own_peak() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut small = config(Some(4));
    small.eval_batch_size = 16;
    let mut hungry = small.clone();
    hungry.eval_batch_size = 1000;
    let hungry_data = || {
        let mut d = data();
        d.test = synthetic::generate(1, 28, 28, 100, 12).unwrap().into();
        d
    };
    let peak = |r: &RunResult| r.memory.peak_host_rss_bytes.unwrap();
    let first = train(&small, data(), RunContext::now(vec![])).unwrap();
    let big = train(&hungry, hungry_data(), RunContext::now(vec![])).unwrap();
    let second = train(&small, data(), RunContext::now(vec![])).unwrap();
    let mib = |b: u64| b as f64 / f64::from(1 << 20);
    eprintln!(
        "peaks: small {:.0} MiB, hungry {:.0} MiB, small again {:.0} MiB",
        mib(peak(&first)),
        mib(peak(&big)),
        mib(peak(&second))
    );
    assert!(second.memory.peak_is_per_run);
    assert!(
        peak(&big) > peak(&first) + (200 << 20),
        "the hungry run is not hungry: {} vs {}",
        peak(&big),
        peak(&first)
    );
    assert!(
        peak(&second) < peak(&first) + (96 << 20),
        "the small run's peak carries the hungry run's: {} after {} (alone: {})",
        peak(&second),
        peak(&big),
        peak(&first)
    );
    // The augmentation's own bytes: the 50-image training set as augkit
    // holds it (784 pixels, a label and a grey mean each, its index).
    let aug = second.memory.augmentation.as_ref().unwrap();
    assert_eq!(aug.dataset_bytes, 50 * (784 + 8 + 4));
    assert!(aug.total_bytes >= aug.dataset_bytes);
    assert!(second.memory.host_rss_at_start_bytes.unwrap() <= peak(&second));
}
