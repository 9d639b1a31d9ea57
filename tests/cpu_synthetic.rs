//! Synthetic samples on the CPU reference: the PCA model's statistics come
//! out of the generator, interpolation is the stated convex combination,
//! and classes are chosen as the policy says (docs/SEMANTICS.md §9).

mod support;

use std::sync::Arc;

use augkit::cpu::{self, CpuBackend};
use augkit::internals::kernel_args::flags;
use augkit::{Backend, Dataset, HostImages, ImageShape, MixLabel, Plan, Policy, Step};

fn policy(text: &str) -> Policy {
    Policy::from_toml_str(text).unwrap()
}

/// Three classes of 8×8 gray images with a known rank-2 structure each,
/// kept away from 0 and 1 so clamping stays rare.
fn structured(per_class: usize, seed: u64) -> Arc<Dataset> {
    let shape = ImageShape::new(1, 8, 8).unwrap();
    let d = shape.elements();
    let mut rng = support::TestRng::new(seed);
    let mut r = move || (rng.next_u64() >> 11) as f32 / (1u64 << 53) as f32 - 0.5;
    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    for class in 0..3u32 {
        let base: Vec<f32> = (0..d)
            .map(|_| 0.3 + 0.15 * class as f32 + 0.05 * r())
            .collect();
        let basis: Vec<Vec<f32>> = (0..2).map(|_| (0..d).map(|_| r()).collect()).collect();
        for _ in 0..per_class {
            let a = [0.3 * r(), 0.15 * r()];
            for c in 0..d {
                let v = base[c] + a[0] * basis[0][c] + a[1] * basis[1][c];
                pixels.push((v.clamp(0.0, 1.0) * 255.0).round() as u8);
            }
            labels.push(class);
        }
    }
    Arc::new(Dataset::new(shape, pixels, labels, 3).unwrap())
}

fn run(
    pol: &Policy,
    data: &Arc<Dataset>,
    batch: u32,
    epoch: u32,
) -> (Vec<f32>, Vec<MixLabel>, Vec<augkit::SampleParams>) {
    let mut b = CpuBackend::new(pol, 21, data.clone(), (0..data.len() as u32).collect()).unwrap();
    let step = Step {
        epoch,
        first_position: 0,
        batch_size: batch,
    };
    let mut out = vec![0f32; batch as usize * data.shape().elements()];
    let mut labels = vec![MixLabel::default(); batch as usize];
    b.augment_into(step, HostImages::F32(&mut out), &mut labels)
        .unwrap();
    (out, labels, b.sample_params(step).unwrap())
}

#[test]
fn generated_samples_have_the_model_mean_and_component_variances() {
    let data = structured(100, 3);
    let pol = policy("[synthetic]\nfraction = 1.0\ncomponents = 4\nvariance_kept = 1.0\n");
    let plan = Plan::whole_dataset(&pol, 21, data.clone()).unwrap();
    let tables = plan.synth().cloned().unwrap();
    let k = tables.components as usize;
    assert!(k >= 2, "the model keeps the two real components, got {k}");
    let d = data.shape().elements();
    let model =
        augkit::internals::synthetic::fit(&data, &(0..300).collect::<Vec<_>>(), 4, 1.0).unwrap();
    // Many draws over several epochs: per class, the sample mean and the
    // variance of the projection on each component.
    let mut sums = vec![vec![0f64; d]; 3];
    let mut proj: Vec<Vec<Vec<f64>>> = vec![vec![Vec::new(); k]; 3];
    for epoch in 0..8 {
        let (out, labels, params) = run(&pol, &data, 300, epoch);
        for (i, l) in labels.iter().enumerate() {
            assert_ne!(params[i].flags & flags::SYNTHETIC, 0);
            let c = l.label_a as usize;
            let img = &out[i * d..(i + 1) * d];
            for (s, &v) in sums[c].iter_mut().zip(img) {
                *s += f64::from(v);
            }
            let class = &model.classes[c];
            for (j, u) in class.components.iter().enumerate() {
                let p: f64 = img
                    .iter()
                    .zip(&class.mean)
                    .zip(u)
                    .map(|((&x, &m), &u)| f64::from(x - m) * f64::from(u))
                    .sum();
                proj[c][j].push(p);
            }
        }
    }
    for c in 0..3 {
        let n = proj[c][0].len() as f64;
        assert!(n > 500.0, "class {c} drawn {n} times");
        let class = &model.classes[c];
        let mean_err = sums[c]
            .iter()
            .zip(&class.mean)
            .map(|(s, &m)| (s / n - f64::from(m)).abs())
            .fold(0.0, f64::max);
        // σ of a pixel is ≲ 0.1, so the mean of n draws is within 5σ/√n.
        assert!(
            mean_err < 0.5 / n.sqrt() + 2e-3,
            "class {c}: mean off by {mean_err}"
        );
        for (j, &sigma) in class.sigmas.iter().enumerate() {
            let p = &proj[c][j];
            let m = p.iter().sum::<f64>() / n;
            let var = p.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0);
            let expected = f64::from(sigma).powi(2);
            // Sampling error of a variance: √(2/n) relative; allow 5 of it.
            assert!(
                (var - expected).abs() <= 5.0 * (2.0 / n).sqrt() * expected + 1e-6,
                "class {c} component {j}: variance {var} vs σ² {expected}"
            );
        }
        println!("class {c}: {n} draws, mean |Δ| ≤ {mean_err:.2e}");
    }
}

#[test]
fn pca_labels_follow_the_class_choice() {
    // Class 0 has 3× the images of classes 1 and 2.
    let shape = ImageShape::new(1, 4, 4).unwrap();
    let labels: Vec<u32> = (0..250)
        .map(|i| {
            if i < 150 {
                0
            } else if i < 200 {
                1
            } else {
                2
            }
        })
        .collect();
    let mut rng = support::TestRng::new(5);
    let pixels = (0..250 * 16).map(|_| rng.next_u64() as u8).collect();
    let data = Arc::new(Dataset::new(shape, pixels, labels, 4).unwrap());
    let count = |text: &str| {
        let mut counts = [0usize; 4];
        for epoch in 0..8 {
            for l in run(&policy(text), &data, 250, epoch).1 {
                counts[l.label_a as usize] += 1;
            }
        }
        counts
    };
    let training = count("[synthetic]\nfraction = 1.0\n");
    let uniform = count("[synthetic]\nfraction = 1.0\nclass_choice = \"uniform\"\n");
    assert_eq!(
        training[3] + uniform[3],
        0,
        "class 3 has no images and is never generated"
    );
    let share = |c: [usize; 4], k: usize| c[k] as f64 / 2000.0;
    assert!((share(training, 0) - 0.6).abs() < 0.05, "{training:?}");
    for k in 0..3 {
        assert!((share(uniform, k) - 1.0 / 3.0).abs() < 0.05, "{uniform:?}");
    }
}

#[test]
fn interpolated_samples_are_convex_combinations_within_a_class() {
    let data = support::random_dataset(3, 6, 5, 120, 4, 17);
    let pol = policy("[synthetic]\nmode = \"interpolate\"\nfraction = 0.5\n");
    let (out, labels, params) = run(&pol, &data, 120, 2);
    let e = data.shape().elements();
    let mut synthetic = 0;
    for (i, p) in params.iter().enumerate() {
        let a = data.image(p.dataset_index as usize);
        if p.flags & flags::SYNTHETIC == 0 {
            assert!(
                out[i * e..(i + 1) * e]
                    .iter()
                    .zip(a)
                    .all(|(&o, &v)| o == f32::from(v) / 255.0)
            );
            continue;
        }
        synthetic += 1;
        assert_eq!(data.labels()[p.synth_partner as usize], p.label_a);
        assert_eq!(labels[i].label_a, data.labels()[p.dataset_index as usize]);
        assert!((0.0..1.0).contains(&p.synth_t));
        let b = data.image(p.synth_partner as usize);
        for j in 0..e {
            let expected = (1.0 - p.synth_t) * (f32::from(a[j]) / 255.0)
                + p.synth_t * (f32::from(b[j]) / 255.0);
            assert_eq!(out[i * e + j], expected);
        }
    }
    assert!(
        (40..=80).contains(&synthetic),
        "{synthetic} of 120 synthetic at fraction 0.5"
    );
}

#[test]
fn synthetic_samples_go_through_the_whole_pipeline() {
    let data = structured(40, 9);
    let all = "horizontal_flip = 0.5\n[crop]\nkind = \"pad\"\npadding = 2\n[color_jitter]\nbrightness = 0.3\ncontrast = 0.3\n[mix]\ncutmix_alpha = 1.0\nmixup_alpha = 0.4\n";
    let pol = policy(&format!(
        "{all}[synthetic]\nfraction = 0.5\ncomponents = 3\n"
    ));
    let plan = Plan::whole_dataset(&pol, 4, data.clone()).unwrap();
    let args = plan
        .step_args(Step {
            epoch: 1,
            first_position: 0,
            batch_size: 64,
        })
        .unwrap();
    let params = cpu::step_params(&plan, args);
    let coefficients = cpu::step_synth_coefficients(&plan, args, &params);
    assert_eq!(
        coefficients.len(),
        64 * plan.kernel().synth_components as usize
    );
    let src = cpu::plan_source(&plan, &coefficients);
    let means = cpu::step_contrast_means_from(plan.kernel(), &src, &params);
    let mut out = vec![0f32; 64 * 64];
    cpu::render_from(plan.kernel(), &src, &params, &means, &mut out);
    assert!(out.iter().all(|v| v.is_finite()));
    // Turning synthesis on leaves the other techniques' draws unchanged.
    let plain = Plan::whole_dataset(&policy(all), 4, data).unwrap();
    let plain_params = cpu::step_params(
        &plain,
        plain
            .step_args(Step {
                epoch: 1,
                first_position: 0,
                batch_size: 64,
            })
            .unwrap(),
    );
    for (a, b) in params.iter().zip(&plain_params) {
        assert_eq!(a.inverse_affine, b.inverse_affine);
        assert_eq!(a.brightness, b.brightness);
        assert_eq!(a.cut_box, b.cut_box);
        assert_eq!(a.dataset_index, b.dataset_index);
    }
    assert!(params.iter().any(|p| p.flags & flags::SYNTHETIC != 0));
    assert!(plan.synth().unwrap().fit_seconds > 0.0);
}

#[test]
fn synthetic_policy_fields_are_validated() {
    let shape = ImageShape::new(3, 8, 8).unwrap();
    for (text, field) in [
        ("[synthetic]\nfraction = 1.5", "synthetic.fraction"),
        ("[synthetic]\ncomponents = 0", "synthetic.components"),
        ("[synthetic]\ncomponents = 33", "synthetic.components"),
        (
            "[synthetic]\nvariance_kept = 0.0",
            "synthetic.variance_kept",
        ),
        (
            "[synthetic]\nvariance_kept = nan",
            "synthetic.variance_kept",
        ),
    ] {
        let err = policy(text).compile(shape).unwrap_err();
        assert!(err.to_string().contains(field), "{text}: {err}");
    }
    assert!(Policy::from_toml_str("[synthetic]\nmode = \"gan\"").is_err());
}
