//! The synthetic pool on the CPU reference (docs/SEMANTICS.md §9a): the draw's
//! rate and range, the pool image read through the same augmentation, the
//! pool label carried into mixing, other techniques' draws untouched, and
//! every bad pool or pool policy refused with a typed error.

mod support;

use std::sync::Arc;

use augkit::cpu::CpuBackend;
use augkit::internals::kernel_args::{SampleParams, flags};
use augkit::{
    Backend, Dataset, Error, HostImages, ImageShape, MixLabel, Plan, Policy, PolicyError,
    PoolError, Step, SyntheticPool,
};

const SHAPE: ImageShape = ImageShape {
    channels: 3,
    height: 8,
    width: 8,
};
const REAL: usize = 40;
const POOL: usize = 13;
const CLASSES: u32 = 5;

fn policy(text: &str) -> Policy {
    Policy::from_toml_str(text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn pool_policy(fraction: f32, rest: &str) -> Policy {
    policy(&format!(
        "{rest}\n[synthetic]\nmode = \"pool\"\nfraction = {fraction}\n"
    ))
}

fn random_pool(n: usize, seed: u64) -> SyntheticPool {
    let mut rng = support::TestRng::new(seed);
    let pixels = (0..n * SHAPE.elements())
        .map(|_| rng.next_u64() as u8)
        .collect();
    let labels = (0..n)
        .map(|_| rng.below(u64::from(CLASSES)) as u32)
        .collect();
    SyntheticPool::new(SHAPE, pixels, labels, CLASSES).unwrap()
}

fn data_with_pool(seed: u64) -> (Arc<Dataset>, SyntheticPool) {
    let real = support::random_dataset(3, 8, 8, REAL, CLASSES, seed);
    let pool = random_pool(POOL, seed ^ 0xabc);
    let data = (*real).clone().with_pool(pool.clone()).unwrap();
    (Arc::new(data), pool)
}

fn backend(pol: &Policy, data: &Arc<Dataset>) -> CpuBackend {
    CpuBackend::new(pol, 77, data.clone(), (0..data.len() as u32).collect()).unwrap()
}

fn params(pol: &Policy, data: &Arc<Dataset>, epoch: u32, batch: u32) -> Vec<SampleParams> {
    backend(pol, data)
        .sample_params(Step {
            epoch,
            first_position: 0,
            batch_size: batch,
        })
        .unwrap()
}

fn augment(pol: &Policy, data: &Arc<Dataset>, batch: u32) -> (Vec<f32>, Vec<MixLabel>) {
    let mut b = backend(pol, data);
    let mut out = vec![0f32; batch as usize * SHAPE.elements()];
    let mut labels = vec![MixLabel::default(); batch as usize];
    let step = Step {
        epoch: 0,
        first_position: 0,
        batch_size: batch,
    };
    b.augment_into(step, HostImages::F32(&mut out), &mut labels)
        .unwrap();
    (out, labels)
}

#[test]
fn the_pool_is_appended_after_the_real_images() {
    let (data, pool) = data_with_pool(1);
    assert_eq!(data.len(), REAL);
    assert_eq!(data.pool_len(), POOL);
    assert_eq!(data.resident_len(), REAL + POOL);
    assert_eq!(
        data.image(REAL + 3),
        &pool.pixels()[3 * SHAPE.elements()..][..SHAPE.elements()]
    );
    assert_eq!(&data.labels()[REAL..], pool.labels());
    assert_eq!(data.gray_means().len(), REAL + POOL);
}

#[test]
fn the_draw_has_the_stated_rate_and_stays_in_the_pool() {
    let (data, pool) = data_with_pool(2);
    let pol = pool_policy(0.3, "");
    let mut drawn = 0usize;
    let mut hits = [0usize; POOL];
    let mut total = 0usize;
    for epoch in 0..40 {
        for p in params(&pol, &data, epoch, REAL as u32) {
            total += 1;
            let from_pool = p.flags & flags::POOL != 0;
            assert_eq!(from_pool, p.dataset_index as usize >= REAL, "{p:?}");
            assert_eq!(
                p.flags & flags::SYNTHETIC,
                0,
                "a pool sample is not generated"
            );
            assert_eq!(p.synth_partner, p.dataset_index);
            assert_eq!(p.label_a, data.labels()[p.dataset_index as usize]);
            if from_pool {
                let j = p.dataset_index as usize - REAL;
                assert!(j < POOL);
                assert_eq!(p.label_a, pool.labels()[j]);
                hits[j] += 1;
                drawn += 1;
            }
        }
    }
    let rate = drawn as f64 / total as f64;
    // 1,600 samples: σ of the rate ≈ 0.011.
    assert!((rate - 0.3).abs() < 0.05, "pool rate {rate}");
    // Uniform over the pool: each of 13 images expects ≈ 37 draws.
    let expected = drawn as f64 / POOL as f64;
    for (j, &h) in hits.iter().enumerate() {
        assert!(
            (h as f64 - expected).abs() < 0.6 * expected,
            "pool image {j}: {h} draws, expected ≈ {expected:.0}"
        );
    }
}

#[test]
fn fraction_zero_never_draws_and_one_always_does() {
    let (data, _) = data_with_pool(3);
    for p in params(&pool_policy(0.0, ""), &data, 0, REAL as u32) {
        assert_eq!(p.flags & flags::POOL, 0);
        assert!((p.dataset_index as usize) < REAL);
    }
    for p in params(&pool_policy(1.0, ""), &data, 0, REAL as u32) {
        assert_ne!(p.flags & flags::POOL, 0);
        assert!((p.dataset_index as usize) >= REAL);
    }
}

#[test]
fn the_pool_draw_moves_no_other_draw() {
    // Every technique's parameters are those of the same policy without the
    // pool: the draw has its own slot, so only the source changes.
    let (data, _) = data_with_pool(4);
    let rest = "horizontal_flip = 0.5\n[crop]\nkind = \"pad\"\npadding = 2\n\
                [color_jitter]\nbrightness = 0.4\nhue = 0.1\n[erasing]\np = 0.5\n";
    let with = params(&pool_policy(0.5, rest), &data, 5, 32);
    let without = params(&policy(rest), &data, 5, 32);
    let mut moved = 0;
    for (a, b) in with.iter().zip(&without) {
        if a.flags & flags::POOL != 0 {
            moved += 1;
        } else {
            assert_eq!(a.dataset_index, b.dataset_index);
        }
        let mut a = *a;
        a.flags &= !flags::POOL;
        a.dataset_index = b.dataset_index;
        a.synth_partner = b.synth_partner;
        a.label_a = b.label_a;
        a.label_b = b.label_b;
        assert_eq!(a, *b);
    }
    assert!(moved > 0 && moved < 32, "{moved} of 32 drew from the pool");
}

#[test]
fn a_pool_image_goes_through_the_same_augmentation() {
    // Always from the pool, always flipped: the output is the flipped pool
    // image in [0, 1] (identity normalisation).
    let (data, pool) = data_with_pool(5);
    let pol = pool_policy(1.0, "horizontal_flip = 1.0");
    let batch = 16;
    let (out, labels) = augment(&pol, &data, batch);
    let ps = params(&pol, &data, 0, batch);
    let (w, h) = (SHAPE.width as usize, SHAPE.height as usize);
    for (i, p) in ps.iter().enumerate() {
        let j = p.dataset_index as usize - REAL;
        let src = &pool.pixels()[j * SHAPE.elements()..][..SHAPE.elements()];
        assert_eq!(labels[i].label_a, pool.labels()[j]);
        for c in 0..3 {
            for y in 0..h {
                for x in 0..w {
                    let got = out[i * SHAPE.elements() + (c * h + y) * w + x];
                    let want = f32::from(src[(c * h + y) * w + (w - 1 - x)]) / 255.0;
                    assert_eq!(got, want, "sample {i} c{c} ({x}, {y})");
                }
            }
        }
    }
}

#[test]
fn a_pool_partner_brings_its_own_label_and_pixels() {
    let (data, _) = data_with_pool(6);
    let pol = pool_policy(0.5, "[mix]\nmixup_alpha = 1.0\nprob = 1.0\nmode = \"elem\"");
    let batch = 24u32;
    let ps = params(&pol, &data, 0, batch);
    let (out, labels) = augment(&pol, &data, batch);
    let mut pool_partners = 0;
    for (i, p) in ps.iter().enumerate() {
        let partner = &ps[batch as usize - 1 - i];
        assert_eq!(p.partner as usize, batch as usize - 1 - i);
        assert_eq!(p.label_b, partner.label_a, "sample {i}");
        assert_eq!(labels[i].label_b, partner.label_a);
        if partner.flags & flags::POOL != 0 {
            pool_partners += 1;
            // The mixed pixel is λ·own + (1 − λ)·partner's pool pixel.
            let e = SHAPE.elements();
            let a = f32::from(data.image(p.dataset_index as usize)[0]) / 255.0;
            let b = f32::from(data.image(partner.dataset_index as usize)[0]) / 255.0;
            let want = p.lambda * a + (1.0 - p.lambda) * b;
            assert!((out[i * e] - want).abs() < 1e-5, "sample {i}");
        }
    }
    assert!(pool_partners > 0);
}

#[test]
fn a_pool_policy_without_a_pool_is_refused() {
    let real = support::random_dataset(3, 8, 8, REAL, CLASSES, 7);
    let err = Plan::whole_dataset(&pool_policy(0.5, ""), 1, real).unwrap_err();
    assert!(matches!(err, Error::NoPool), "{err}");
    assert!(err.to_string().contains("synthetic pool"), "{err}");
}

#[test]
fn a_subset_cannot_name_a_pool_image() {
    let (data, _) = data_with_pool(8);
    let err = Plan::new(&pool_policy(0.5, ""), 1, data, vec![0, REAL as u32]).unwrap_err();
    assert!(
        matches!(err, Error::SubsetIndex { index, len: REAL, .. } if index == REAL as u32),
        "{err}"
    );
}

fn pool_err<T: std::fmt::Debug>(r: Result<T, Error>) -> PoolError {
    match r {
        Err(Error::Pool(e)) => e,
        other => panic!("expected a pool error, got {other:?}"),
    }
}

#[test]
fn a_pool_that_does_not_fit_the_dataset_is_refused() {
    let real = support::random_dataset(3, 8, 8, REAL, CLASSES, 9);
    let gray = ImageShape::new(1, 8, 8).unwrap();
    let small = ImageShape::new(3, 4, 8).unwrap();
    for (shape, pool_shape) in [(gray, (1, 8, 8)), (small, (3, 4, 8))] {
        let pool = SyntheticPool::new(shape, vec![0; shape.elements()], vec![0], CLASSES).unwrap();
        assert_eq!(
            pool_err((*real).clone().with_pool(pool)),
            PoolError::ShapeMismatch {
                pool: pool_shape,
                dataset: (3, 8, 8)
            }
        );
    }
    let pool = SyntheticPool::new(SHAPE, vec![0; SHAPE.elements()], vec![0], CLASSES + 1).unwrap();
    assert_eq!(
        pool_err((*real).clone().with_pool(pool)),
        PoolError::ClassCountMismatch {
            pool: CLASSES + 1,
            dataset: CLASSES
        }
    );
    let (data, pool) = data_with_pool(10);
    assert_eq!(
        pool_err((*data).clone().with_pool(pool)),
        PoolError::AlreadyAttached
    );
}

#[test]
fn bad_pools_are_refused_naming_the_problem() {
    let e = SHAPE.elements();
    assert_eq!(
        pool_err(SyntheticPool::new(SHAPE, vec![], vec![], CLASSES)),
        PoolError::Empty
    );
    // Labels and images of different lengths.
    assert!(matches!(
        pool_err(SyntheticPool::new(
            SHAPE,
            vec![0; 3 * e],
            vec![0, 1],
            CLASSES
        )),
        PoolError::Length { images: 2, .. }
    ));
    assert!(matches!(
        pool_err(SyntheticPool::new(
            SHAPE,
            vec![0; 2 * e],
            vec![0, CLASSES],
            CLASSES
        )),
        PoolError::LabelOutOfRange { index: 1, .. }
    ));
    assert!(matches!(
        pool_err(SyntheticPool::new(
            SHAPE,
            vec![],
            vec![0; augkit::MAX_POOL_IMAGES + 1],
            CLASSES
        )),
        PoolError::TooManyImages { .. }
    ));
}

fn rejects(text: &str, field: &str) -> PolicyError {
    let err = Policy::from_toml_str(text)
        .and_then(|p| p.compile(SHAPE))
        .expect_err(text);
    assert!(err.to_string().contains(field), "{text:?}: {err}");
    err
}

#[test]
fn pool_policies_are_validated() {
    let ok = [
        "[synthetic]\nmode = \"pool\"\nfraction = 0.5",
        "[synthetic]\nmode = \"pool\"\nsource = \"cvae\"\nsize = 2.0",
        "[synthetic]\nmode = \"pool\"\nsource = \"ddpm\"\nfraction = 1.0",
        "[synthetic]\nmode = \"pool\"\nsource = \"file\"\npath = \"pool.npz\"",
    ];
    for text in ok {
        let k = policy(text).compile(SHAPE).unwrap();
        assert_eq!(k.synth_mode, augkit::internals::kernel_args::SYNTH_POOL);
    }
    let pool = "[synthetic]\nmode = \"pool\"\n";
    assert!(matches!(
        rejects(&format!("{pool}fraction = 1.5"), "synthetic.fraction"),
        PolicyError::OutOfRange { .. }
    ));
    assert!(matches!(
        rejects(&format!("{pool}fraction = -0.1"), "synthetic.fraction"),
        PolicyError::OutOfRange { .. }
    ));
    for size in ["0.0", "-1.0", "65.0"] {
        assert!(matches!(
            rejects(
                &format!("{pool}source = \"cvae\"\nsize = {size}"),
                "synthetic.size"
            ),
            PolicyError::OutOfRange { .. }
        ));
    }
    assert!(matches!(
        rejects(&format!("{pool}size = nan"), "synthetic.size"),
        PolicyError::NotFinite { .. }
    ));
    assert!(matches!(
        rejects(&format!("{pool}source = \"file\""), "synthetic.path"),
        PolicyError::Missing { .. }
    ));
    assert!(matches!(
        rejects(
            &format!("{pool}source = \"file\"\npath = \"\""),
            "synthetic.path"
        ),
        PolicyError::Missing { .. }
    ));
    assert!(matches!(
        rejects(
            &format!("{pool}source = \"file\"\npath = \"a.npz\"\nsize = 2.0"),
            "synthetic.size"
        ),
        PolicyError::Unexpected { .. }
    ));
    for source in ["cvae", "ddpm"] {
        assert!(matches!(
            rejects(
                &format!("{pool}source = \"{source}\"\npath = \"a.npz\""),
                "synthetic.path"
            ),
            PolicyError::Unexpected { .. }
        ));
    }
    assert!(matches!(
        rejects(
            "[synthetic]\nmode = \"pca\"\nsource = \"cvae\"",
            "synthetic.source"
        ),
        PolicyError::Unexpected { .. }
    ));
    assert!(matches!(
        rejects(
            "[synthetic]\nmode = \"interpolate\"\nsize = 2.0",
            "synthetic.size"
        ),
        PolicyError::Unexpected { .. }
    ));
    // An unknown source is a parse error naming the variants.
    let err = Policy::from_toml_str("[synthetic]\nmode = \"pool\"\nsource = \"gan\"").unwrap_err();
    assert!(err.to_string().contains("cvae"), "{err}");
}

#[test]
fn a_pool_policy_round_trips_through_toml() {
    let text =
        "[synthetic]\nmode = \"pool\"\nsource = \"file\"\npath = \"pools/a.npz\"\nfraction = 0.7";
    let p = policy(text);
    assert_eq!(Policy::from_toml_str(&p.to_toml_string()).unwrap(), p);
    // A policy without pool fields serialises as before (no new keys).
    let old = policy("[synthetic]\nmode = \"pca\"");
    assert!(!old.to_toml_string().contains("source"));
}
