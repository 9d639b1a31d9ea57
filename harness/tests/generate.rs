//! The learned generators on a CI-sized configuration (seconds each, on
//! generated 1×28×28 shapes): the fit's loss falls; the same seed gives the
//! same weights and the same pool, bit for bit; a killed fit resumes to the
//! same weights; a class-conditional sample of class k is classified as k by
//! a classifier trained on the real subset far above chance; the cache hits,
//! misses and refits what is damaged; bad configurations get typed errors
//! before any training.
//! Run: `cargo test -p augkit-harness --test generate -- --nocapture`.

use augkit_data::{ImageSet, synthetic};
use augkit_harness::generate::fit::{FitOptions, fit_loop, model_bytes};
use augkit_harness::generate::pool::{
    GeneratedPool, PoolRequest, build, decode_npz, encode_npz, obtain, pca_pool, pool_images,
};
use augkit_harness::generate::{
    CvaeConfig, DdpmConfig, GenData, GeneratorConfig, GeneratorError, MAX_POOL_IMAGES,
};
use tch::{Device, Kind, Tensor, nn};

/// libtorch's generator and thread count are process-wide: one fit at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    let guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    tch::set_num_threads(1);
    guard
}

fn shapes(per_class: usize, seed: u64) -> ImageSet {
    synthetic::generate(1, 28, 28, per_class, seed).unwrap()
}

fn small_cvae(epochs: u32) -> GeneratorConfig {
    GeneratorConfig::Cvae(CvaeConfig {
        epochs,
        batch_size: 32,
        lr: 2e-3,
        latent: 8,
        width: 16,
        hidden: 128,
        ..CvaeConfig::default()
    })
}

fn request<'a>(
    root: &'a std::path::Path,
    train: &'a ImageSet,
    subset: &'a [u32],
    config: GeneratorConfig,
) -> PoolRequest<'a> {
    PoolRequest {
        root,
        dataset: "synthetic-shapes-28",
        train,
        subset,
        seed: 3,
        config,
        size: 0.5,
        device: Device::Cpu,
        verbose: false,
    }
}

fn all(set: &ImageSet) -> Vec<u32> {
    (0..set.len() as u32).collect()
}

#[test]
fn cvae_the_same_seed_gives_the_same_weights_and_pool() {
    let _g = serial();
    let train = shapes(30, 1);
    let subset = all(&train);
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let first = obtain(&request(a.path(), &train, &subset, small_cvae(6))).unwrap();
    let second = obtain(&request(b.path(), &train, &subset, small_cvae(6))).unwrap();
    assert!(!first.cost.cached && !second.cost.cached);
    assert_eq!(first.len(), 150);
    assert_eq!(first.pixels.len(), 150 * 28 * 28);
    // Class-balanced: 15 of each of the 10 classes.
    for k in 0..10 {
        assert_eq!(first.labels.iter().filter(|&&l| l == k).count(), 15);
    }
    assert_eq!(first.labels, second.labels);
    assert!(
        first.pixels == second.pixels,
        "two fits with seed 3 gave different pools"
    );
    let model =
        |d: &std::path::Path| std::fs::read(d.join(&first.cost.dir).join("model.ot")).unwrap();
    assert_eq!(model(a.path()), model(b.path()), "different weights");
    assert_eq!(fit_losses(a.path(), &first).len(), 6);
    // Another seed gives another pool.
    let mut other = request(b.path(), &train, &subset, small_cvae(6));
    other.seed = 4;
    assert!(obtain(&other).unwrap().pixels != first.pixels);
    // The preview grid is a PNG.
    let png = std::fs::read(a.path().join(&first.cost.preview)).unwrap();
    assert!(png.starts_with(b"\x89PNG"));
}

/// A fit killed in its third epoch resumes from the checkpoint after the
/// second and ends with the uninterrupted fit's weights, bit for bit.
#[test]
fn a_killed_fit_resumes_to_the_same_weights() {
    let _g = serial();
    let train = shapes(10, 2);
    let subset = all(&train);
    let data = GenData::from_u8(
        &train.pixels,
        &train.labels,
        &subset,
        1,
        28,
        28,
        10,
        Device::Cpu,
    );
    let config = small_cvae(4);
    let GeneratorConfig::Cvae(c) = &config else {
        unreachable!()
    };
    let fit = |dir: &std::path::Path, fail_after: Option<usize>| {
        tch::manual_seed(9);
        let mut vs = nn::VarStore::new(Device::Cpu);
        let fitted = build(&vs.root(), &config, &data);
        let augkit_harness::generate::Fitted::Cvae(m) = &fitted else {
            unreachable!()
        };
        let mut calls = 0usize;
        let opts = FitOptions {
            epochs: c.epochs,
            batch_size: c.batch_size,
            lr: c.lr,
            seed: 9,
            checkpoint: Some(dir),
            verbose: false,
        };
        let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            fit_loop(&mut vs, &data, opts, |x, y| {
                calls += 1;
                if fail_after.is_some_and(|n| calls > n) {
                    panic!("killed");
                }
                m.loss(x, y, c.beta)
            })
        }));
        (ran.ok().map(Result::unwrap), model_bytes(&vs).unwrap())
    };
    let (whole, straight) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (log, expected) = fit(straight.path(), None);
    assert_eq!(log.unwrap().resumed_from_epoch, None);
    // 100 images in batches of 32: 4 batches an epoch; die in the third.
    let (killed, _) = fit(whole.path(), Some(9));
    assert!(killed.is_none());
    assert!(whole.path().join("fit-state.json").is_file());
    let (log, resumed) = fit(whole.path(), None);
    let log = log.unwrap();
    assert_eq!(log.resumed_from_epoch, Some(2));
    assert_eq!(log.losses.len(), 4);
    assert!(resumed == expected, "the resumed fit's weights differ");
    assert!(!whole.path().join("fit-state.json").exists());

    // A damaged checkpoint is discarded: the fit restarts, to the same end.
    let (killed, _) = fit(whole.path(), Some(9));
    assert!(killed.is_none());
    let ckpt = whole.path().join("fit-model.ot");
    let mut bytes = std::fs::read(&ckpt).unwrap();
    bytes.truncate(bytes.len() / 2);
    std::fs::write(&ckpt, bytes).unwrap();
    let (log, restarted) = fit(whole.path(), None);
    assert_eq!(log.unwrap().resumed_from_epoch, None);
    assert!(restarted == expected);
}

/// The fit's mean loss per epoch, from the cache's `fit.json`.
fn fit_losses(root: &std::path::Path, pool: &GeneratedPool) -> Vec<f64> {
    let fit: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join(&pool.cost.dir).join("fit.json")).unwrap(),
    )
    .unwrap();
    fit["log"]["losses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

/// On 1,000 real Fashion-MNIST images (100 per class): the cVAE's loss falls,
/// and a small classifier trained on those real images labels class-k
/// samples as k far above chance (10 %).
#[test]
fn cvae_loss_falls_and_its_samples_are_recognised_as_their_class() {
    let dir = std::path::Path::new(augkit_data::debian::INSTALLED_DIR);
    if !dir.is_dir() {
        eprintln!(
            "skipped: real Fashion-MNIST ({}) is absent (apt-get install dataset-fashion-mnist)",
            dir.display()
        );
        return;
    }
    let _g = serial();
    let (all_train, _) = augkit_data::load("fashion-mnist", dir).unwrap();
    let subset =
        augkit_data::stratified_subset(&all_train.labels, 10, augkit_data::Limit::PerClass(100), 0)
            .unwrap();
    let e = 28 * 28;
    let mut pixels = Vec::with_capacity(subset.len() * e);
    let mut labels = Vec::with_capacity(subset.len());
    for &i in &subset {
        pixels.extend_from_slice(&all_train.pixels[i as usize * e..(i as usize + 1) * e]);
        labels.push(all_train.labels[i as usize]);
    }
    let train = ImageSet::new("fashion-mnist-1000", 1, 28, 28, pixels, labels, 10, vec![]).unwrap();
    let subset = all(&train);
    let tmp = tempfile::tempdir().unwrap();
    let mut req = request(tmp.path(), &train, &subset, small_cvae(8));
    req.dataset = "fashion-mnist";
    req.size = 0.5;
    let pool = obtain(&req).unwrap();
    let losses = fit_losses(tmp.path(), &pool);
    println!("cvae losses per epoch: {losses:?}");
    assert!(
        losses[7] < 0.8 * losses[0],
        "the loss did not fall: {losses:?}"
    );
    let rate = classify_rate(&train, &pool);
    println!(
        "cVAE (8 epochs on 1,000 Fashion-MNIST images): {:.1} % of {} samples classified as \
         their class by a CNN trained on the real images (chance 10 %)",
        100.0 * rate,
        pool.len()
    );
    assert!(rate > 0.6, "only {:.1} % recognised", 100.0 * rate);
}

/// Trains the simple CNN on `train` (8 epochs) and returns the share of
/// `pool` it labels with the pool's labels.
fn classify_rate(train: &ImageSet, pool: &GeneratedPool) -> f64 {
    tch::manual_seed(0);
    let to_x = |pixels: &[u8], n: usize| {
        Tensor::from_slice(pixels)
            .view([n as i64, 1, 28, 28])
            .to_kind(Kind::Float)
            / 255.0
    };
    let labels =
        |ls: &[u32]| Tensor::from_slice(&ls.iter().map(|&l| i64::from(l)).collect::<Vec<_>>());
    let (x, y) = (to_x(&train.pixels, train.len()), labels(&train.labels));
    let vs = nn::VarStore::new(Device::Cpu);
    let net = augkit_harness::models::build(
        &vs.root(),
        augkit_harness::models::ModelKind::SimpleCnn,
        augkit_harness::models::InputShape {
            channels: 1,
            height: 28,
            width: 28,
        },
        10,
    )
    .unwrap();
    let mut opt = augkit_harness::optim::Optimizer::new(
        augkit_harness::config::OptimizerKind::Adam,
        &vs,
        2e-3,
        0.0,
        0.0,
    );
    let n = train.len() as i64;
    for _ in 0..8 {
        let order = Tensor::randperm(n, (Kind::Int64, Device::Cpu));
        for first in (0..n).step_by(50) {
            let idx = order.narrow(0, first, 50.min(n - first));
            let logits = net.forward_t(&x.index_select(0, &idx), true);
            let loss = logits.cross_entropy_for_logits(&y.index_select(0, &idx));
            opt.backward_step(&loss);
        }
    }
    let real_acc = net
        .forward_t(&x, false)
        .argmax(-1, false)
        .eq_tensor(&y)
        .to_kind(Kind::Float)
        .mean(Kind::Float)
        .double_value(&[]);
    println!(
        "classifier accuracy on its own training images: {:.1} %",
        100.0 * real_acc
    );
    let (gx, gy) = (to_x(&pool.pixels, pool.len()), labels(&pool.labels));
    net.forward_t(&gx, false)
        .argmax(-1, false)
        .eq_tensor(&gy)
        .to_kind(Kind::Float)
        .mean(Kind::Float)
        .double_value(&[])
}

#[test]
fn ddpm_tiny_trains_samples_and_repeats() {
    let _g = serial();
    let train = shapes(8, 6);
    let subset = all(&train);
    let config = GeneratorConfig::Ddpm(DdpmConfig::tiny());
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let t = std::time::Instant::now();
    let first = obtain(&request(a.path(), &train, &subset, config.clone())).unwrap();
    println!(
        "tiny DDPM: fit {:.2} s, sample {} images {:.2} s (wall {:.1} s)",
        first.cost.fit_s,
        first.len(),
        first.cost.sample_s,
        t.elapsed().as_secs_f64()
    );
    let second = obtain(&request(b.path(), &train, &subset, config)).unwrap();
    assert_eq!(first.len(), 40);
    assert!(
        first.pixels == second.pixels,
        "the same seed gave another pool"
    );
    let fit: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(a.path().join(&first.cost.dir).join("fit.json")).unwrap(),
    )
    .unwrap();
    let losses: Vec<f64> = fit["log"]["losses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    println!("ddpm losses per epoch: {losses:?}");
    assert!(losses.last().unwrap() < &losses[0], "{losses:?}");
    // Not a constant image: the sampler produced structure.
    let distinct: std::collections::BTreeSet<u8> = first.pixels.iter().copied().collect();
    assert!(distinct.len() > 16);
}

#[test]
fn the_cache_hits_misses_and_refits_what_is_damaged() {
    let _g = serial();
    let train = shapes(10, 7);
    let subset = all(&train);
    let dir = tempfile::tempdir().unwrap();
    let req = request(dir.path(), &train, &subset, small_cvae(2));
    let fresh = obtain(&req).unwrap();
    assert!(!fresh.cost.cached);
    let hit = obtain(&req).unwrap();
    assert!(hit.cost.cached);
    assert_eq!(hit.pixels, fresh.pixels);
    // The cost charged on a hit is the first fit's.
    assert_eq!(hit.cost.fit_s, fresh.cost.fit_s);
    assert_eq!(hit.cost.sample_s, fresh.cost.sample_s);

    // Another pool size: the fit is reused, the pool sampled anew.
    let mut bigger = request(dir.path(), &train, &subset, small_cvae(2));
    bigger.size = 1.0;
    let b = obtain(&bigger).unwrap();
    assert!(b.cost.cached && b.len() == 100);

    let cache = dir.path().join(&fresh.cost.dir);
    // A damaged pool is resampled (same bytes: same model, same seed).
    let npz = cache.join("pool-n50.npz");
    let mut bytes = std::fs::read(&npz).unwrap();
    let last = bytes.len() - 100;
    bytes[last] ^= 0xff;
    std::fs::write(&npz, &bytes).unwrap();
    let again = obtain(&req).unwrap();
    assert_eq!(again.pixels, fresh.pixels);
    // A damaged model is refitted (same bytes: same seed).
    std::fs::write(cache.join("model.ot"), b"not a model").unwrap();
    std::fs::remove_file(cache.join("pool-n50.json")).unwrap();
    let refit = obtain(&req).unwrap();
    assert!(!refit.cost.cached);
    assert_eq!(refit.pixels, fresh.pixels);
    // Another configuration is another cache entry.
    let other = obtain(&request(dir.path(), &train, &subset, small_cvae(3))).unwrap();
    assert_ne!(other.cost.dir, fresh.cost.dir);
}

#[test]
fn pool_files_round_trip_and_bad_ones_are_refused() {
    // Serial like every test here: libtorch's generator and thread pool are
    // process-wide, and the DDPM's repeat check needs them to itself.
    let _g = serial();
    let train = shapes(3, 8);
    let pool = pca_pool(&train, &all(&train), 1, 12, 4, 0.95).unwrap();
    assert_eq!(pool.len(), 12);
    let bytes = encode_npz(&pool).unwrap();
    let back = decode_npz(&bytes, 10).unwrap();
    assert_eq!(
        (back.pixels, back.labels),
        (pool.pixels.clone(), pool.labels.clone())
    );
    // Labels beyond the classes, and a cut-short file.
    assert!(decode_npz(&bytes, 2).is_err());
    assert!(decode_npz(&bytes[..bytes.len() / 2], 10).is_err());
}

#[test]
fn bad_generator_configs_are_typed_errors_before_training() {
    // Serial like every test here: libtorch's generator and thread pool are
    // process-wide, and the DDPM's repeat check needs them to itself.
    let _g = serial();
    let nonpositive = |c: GeneratorConfig, field: &str| match c.validate() {
        Err(GeneratorError::NonPositive { field: f, .. }) => assert_eq!(f, field),
        other => panic!("{field}: {other:?}"),
    };
    let cvae = CvaeConfig::default();
    nonpositive(
        GeneratorConfig::Cvae(CvaeConfig {
            epochs: 0,
            ..cvae.clone()
        }),
        "cvae.epochs",
    );
    nonpositive(
        GeneratorConfig::Cvae(CvaeConfig {
            latent: 0,
            ..cvae.clone()
        }),
        "cvae.latent",
    );
    nonpositive(
        GeneratorConfig::Cvae(CvaeConfig {
            lr: -1.0,
            ..cvae.clone()
        }),
        "cvae.lr",
    );
    nonpositive(
        GeneratorConfig::Cvae(CvaeConfig {
            beta: f64::NAN,
            ..cvae
        }),
        "cvae.beta",
    );
    let ddpm = DdpmConfig::default();
    nonpositive(
        GeneratorConfig::Ddpm(DdpmConfig {
            sample_steps: 0,
            ..ddpm.clone()
        }),
        "ddpm.sample_steps",
    );
    nonpositive(
        GeneratorConfig::Ddpm(DdpmConfig {
            timesteps: 0,
            ..ddpm.clone()
        }),
        "ddpm.timesteps",
    );
    nonpositive(
        GeneratorConfig::Ddpm(DdpmConfig {
            batch_size: 0,
            ..ddpm.clone()
        }),
        "ddpm.batch_size",
    );
    let out_of_range = |c: DdpmConfig, field: &str| match GeneratorConfig::Ddpm(c).validate() {
        Err(GeneratorError::OutOfRange { field: f, .. }) => assert_eq!(f, field),
        other => panic!("{field}: {other:?}"),
    };
    out_of_range(
        DdpmConfig {
            sample_steps: 2000,
            ..ddpm.clone()
        },
        "ddpm.sample_steps",
    );
    out_of_range(
        DdpmConfig {
            width: 12,
            ..ddpm.clone()
        },
        "ddpm.width",
    );
    out_of_range(
        DdpmConfig {
            cond_drop: 1.0,
            ..ddpm.clone()
        },
        "ddpm.cond_drop",
    );
    assert!(GeneratorConfig::Ddpm(ddpm).validate().is_ok());
    assert!(
        GeneratorConfig::Cvae(CvaeConfig::default())
            .validate()
            .is_ok()
    );

    // Pool sizes.
    assert!(matches!(
        pool_images(0.0, 100),
        Err(GeneratorError::NonPositive {
            field: "synthetic.size",
            ..
        })
    ));
    assert!(matches!(
        pool_images(-2.0, 100),
        Err(GeneratorError::NonPositive { .. })
    ));
    assert!(matches!(
        pool_images(0.001, 100),
        Err(GeneratorError::EmptyPool(_))
    ));
    assert!(matches!(
        pool_images(1e9, 100),
        Err(GeneratorError::PoolTooLarge {
            limit: MAX_POOL_IMAGES,
            ..
        })
    ));
    assert_eq!(pool_images(1.5, 100), Ok(150));

    // obtain() refuses before fitting (no cache directory is written).
    let train = shapes(2, 9);
    let subset = all(&train);
    let dir = tempfile::tempdir().unwrap();
    let mut req = request(
        dir.path(),
        &train,
        &subset,
        GeneratorConfig::Cvae(CvaeConfig {
            epochs: 0,
            ..CvaeConfig::default()
        }),
    );
    let err = obtain(&req).unwrap_err();
    assert!(matches!(
        err.downcast_ref::<GeneratorError>(),
        Some(GeneratorError::NonPositive {
            field: "cvae.epochs",
            ..
        })
    ));
    req.config = small_cvae(1);
    req.size = 0.0;
    assert!(obtain(&req).is_err());
    let one = [0u32];
    req.subset = &one;
    req.size = 1.0;
    assert!(matches!(
        obtain(&req).unwrap_err().downcast_ref::<GeneratorError>(),
        Some(GeneratorError::TooFewImages(1))
    ));
    assert!(!dir.path().join("generators").exists());
}

/// The shipped generator techniques name their pools as documented.
#[test]
fn shipped_generator_policies_name_their_pools() {
    // Serial like every test here: libtorch's generator and thread pool are
    // process-wide, and the DDPM's repeat check needs them to itself.
    let _g = serial();
    use augkit_harness::generate::cas::{PoolSource, needs_pool, pool_spec};
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
    for (file, kind) in [
        ("synthetic-cvae.toml", "cvae"),
        ("gpu/synthetic-ddpm.toml", "ddpm"),
    ] {
        let policy = augkit::Policy::from_file(dir.join(file)).unwrap();
        let spec = pool_spec(&policy).unwrap();
        assert!(needs_pool(&policy), "{file}");
        assert_eq!(spec.size, 1.0, "{file}");
        match spec.source {
            PoolSource::Generator(c) => assert_eq!(c.name(), kind),
            other => panic!("{file}: {other:?}"),
        }
    }
    // The PCA technique has a CAS pool but needs none attached.
    let pca = augkit::Policy::from_file(dir.join("synthetic.toml")).unwrap();
    assert!(pool_spec(&pca).is_some() && !needs_pool(&pca));
    let none = augkit::Policy::from_file(dir.join("none.toml")).unwrap();
    assert!(pool_spec(&none).is_none());
}
