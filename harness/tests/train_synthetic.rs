//! Acceptance: a CI-sized CPU run of the simple CNN on 28×28×1 synthetic
//! shapes reaches ≥ 85 % test accuracy, with sane timing figures; a run whose
//! loss blows up stops with the error recorded.
//! Run: `cargo test -p augkit-harness --test train_synthetic -- --nocapture`.

use augkit_data::synthetic;
use augkit_harness::config::{OptimizerKind, TrainConfig};
use augkit_harness::models::ModelKind;
use augkit_harness::result::Status;
use augkit_harness::{RunContext, TrainData, train};

/// libtorch's generator and thread count are process-wide: one run at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn data(per_class_train: usize, per_class_test: usize) -> TrainData {
    let train = synthetic::generate(1, 28, 28, per_class_train, 11).unwrap();
    let test = synthetic::generate(1, 28, 28, per_class_test, 12).unwrap();
    let subset = (0..train.len() as u32).collect();
    TrainData {
        train: train.into(),
        test: test.into(),
        subset,
    }
}

fn config() -> TrainConfig {
    let mut c = TrainConfig::new("synthetic-shapes", ModelKind::SimpleCnn);
    c.policy = augkit::Policy::from_toml_str(
        "horizontal_flip = 0.5\n[crop]\nkind = \"pad\"\npadding = 2\n[output]\nmean = [0.5]\nstd = [0.25]\n",
    )
    .unwrap();
    c.epochs = 8;
    c.threads = Some(1);
    c.lr = 2e-3;
    c.batch_size = 32;
    c.eval_every = 0;
    c.quiet = true;
    c.seed = 5;
    c
}

#[test]
fn simple_cnn_learns_synthetic_shapes() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let config = config();
    let result = train(&config, data(100, 50), RunContext::now(vec!["test".into()])).unwrap();
    assert_eq!(result.status, Status::Completed, "{:?}", result.error);
    let test = result.test.as_ref().unwrap();
    eprintln!(
        "accuracy {:.4}, macro F1 {:.4}, train {:.1} s, aug {:.3} s, model {:.3} s, steps {}",
        test.figures.accuracy,
        test.figures.macro_f1,
        result.timing.train_wall_s,
        result.timing.augmentation.total_s,
        result.timing.model.total_s,
        result.timing.steps
    );
    assert!(
        test.figures.accuracy >= 0.85,
        "test accuracy {}",
        test.figures.accuracy
    );
    assert_eq!(test.figures.samples, 500);
    assert_eq!(test.figures.confusion.len(), 10);
    assert_eq!(test.figures.per_class[0].name, "circle");

    let t = &result.timing;
    assert_eq!(
        t.steps,
        8 * 32,
        "1000 images in batches of 32: 31 full + 1 of 8"
    );
    assert_eq!(t.samples, 8 * 1000);
    assert!(t.augmentation.total_s > 0.0 && t.model.total_s > 0.0);
    assert!(t.augmentation.min_s > 0.0 && t.model.min_s > 0.0);
    assert!(t.augmentation.total_s + t.model.total_s <= t.step.total_s);
    assert!(t.step.total_s <= t.train_wall_s && t.train_wall_s <= t.total_wall_s);
    assert!(t.augmentation_share > 0.0 && t.augmentation_share < 1.0);
    assert_eq!(result.curves.len(), 8);
    assert!(result.curves[7].train_loss < result.curves[0].train_loss);
    assert!(result.curves[7].test_accuracy.is_some() && result.curves[0].test_accuracy.is_none());
    assert!(result.memory.peak_host_rss_bytes.unwrap() > 0);
    assert!(result.memory.peak_device_bytes.is_none());
    let inference = result.inference.as_ref().unwrap();
    assert!(inference.wall_s > 0.0 && inference.samples_per_s > 0.0);
    assert_eq!(
        result.provenance.torch_version.split('+').next(),
        Some("2.11.0")
    );
    // The JSON round-trips and names a method for every figure group.
    let json = serde_json::to_value(&result).unwrap();
    for group in ["timing", "memory", "inference", "test", "data"] {
        assert!(
            json[group]["method"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{group}"
        );
    }
}

#[test]
fn same_seed_same_run() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut config = config();
    config.epochs = 1;
    config.threads = Some(1);
    let run = || train(&config, data(12, 3), RunContext::now(vec![])).unwrap();
    let (a, b) = (run(), run());
    assert_eq!(a.curves[0].train_loss, b.curves[0].train_loss);
    assert_eq!(
        a.test.unwrap().figures.confusion,
        b.test.unwrap().figures.confusion
    );
}

#[test]
fn exploding_loss_stops_the_run_and_is_recorded() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut config = config();
    config.optimizer = OptimizerKind::Sgd;
    config.lr = 1e12;
    config.epochs = 3;
    let result = train(&config, data(20, 2), RunContext::now(vec![])).unwrap();
    assert_eq!(result.status, Status::Failed);
    let error = result.error.as_deref().unwrap();
    assert!(error.contains("loss became"), "{error}");
    // Finite inputs and finite steps before: the learning rate is named.
    assert!(
        error.contains("diverged after") && error.contains("try a lower --lr"),
        "{error}"
    );
    assert!(result.test.is_none());
    let json = serde_json::to_value(&result).unwrap();
    assert_eq!(json["status"], "failed");
}

#[test]
fn wgpu_backend_trains_through_the_same_path() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if let Err(e) = augkit::wgpu::WgpuDevice::new(&Default::default()) {
        eprintln!("skipped: no wgpu adapter ({e})");
        return;
    }
    let mut config = config();
    config.backend = augkit_harness::source::BackendChoice::Wgpu;
    config.epochs = 1;
    let result = train(&config, data(10, 2), RunContext::now(vec![])).unwrap();
    assert_eq!(result.status, Status::Completed, "{:?}", result.error);
    assert_eq!(result.provenance.backend.chosen, augkit::BackendKind::Wgpu);
    assert!(result.timing.augmentation.min_s > 0.0);
}

/// `layout = "nhwc"` policies (issue #29, item 3): the batch reaches the
/// models as a permuted, non-contiguous NCHW view (f32) or a channels-last
/// copy (f16, bf16); both models train a step on it for every dtype and
/// channel count, as on NCHW batches.
#[test]
fn nhwc_batches_train_both_models_in_every_dtype() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    for channels in [1u32, 3] {
        for dtype in ["f32", "f16", "bf16"] {
            for model in [ModelKind::SimpleCnn, ModelKind::Resnet18] {
                let train_set = synthetic::generate(channels, 12, 12, 2, 11).unwrap();
                let test = synthetic::generate(channels, 12, 12, 1, 12).unwrap();
                let subset = (0..train_set.len() as u32).collect();
                let mut c = TrainConfig::new("synthetic-shapes", model);
                c.policy = augkit::Policy::from_toml_str(&format!(
                    "horizontal_flip = 0.5\n[output]\nlayout = \"nhwc\"\ndtype = \"{dtype}\"\n"
                ))
                .unwrap();
                c.epochs = 1;
                c.threads = Some(1);
                c.batch_size = 10;
                c.quiet = true;
                c.backend = augkit_harness::source::BackendChoice::Cpu;
                let what = format!("{} on {channels}×12×12 {dtype} NHWC", model.name());
                let data = TrainData {
                    train: train_set.into(),
                    test: test.into(),
                    subset,
                };
                let result = train(&c, data, RunContext::now(vec![]))
                    .unwrap_or_else(|e| panic!("{what}: {e:#}"));
                assert_eq!(
                    result.status,
                    Status::Completed,
                    "{what}: {:?}",
                    result.error
                );
                assert_eq!(result.timing.steps, 2, "{what}");
                assert!(result.curves[0].train_loss.is_finite(), "{what}");
            }
        }
    }
}
