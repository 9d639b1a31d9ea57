//! Every validation error path: each bad field gives a typed error naming
//! the field and the bad value, before anything runs.

use std::sync::Arc;

use augkit::internals::kernel_args::{INTERP_BILINEAR, INTERP_NEAREST, INTERP_NEAREST_EXACT};
use augkit::{Dataset, Error, ImageShape, Policy, PolicyError, cpu::CpuBackend};

const RGB: ImageShape = ImageShape {
    channels: 3,
    height: 32,
    width: 32,
};

fn compile(text: &str) -> Result<augkit::internals::kernel_args::KernelPolicy, PolicyError> {
    Policy::from_toml_str(text)?.compile(RGB)
}

/// Asserts that `text` is rejected and the message names `field` and `value`.
fn rejects(text: &str, field: &str, value: &str) -> PolicyError {
    let err = compile(text).expect_err(text);
    let msg = err.to_string();
    assert!(
        msg.contains(field),
        "{text:?}: message {msg:?} does not name {field:?}"
    );
    assert!(
        msg.contains(value),
        "{text:?}: message {msg:?} does not show {value:?}"
    );
    err
}

#[test]
fn probabilities_must_be_in_the_unit_interval() {
    let cases = [
        ("horizontal_flip = 1.5", "horizontal_flip", "1.5"),
        ("vertical_flip = -0.1", "vertical_flip", "-0.1"),
        (
            "[crop]\nkind = \"pad\"\npadding = 4\np = 2.0",
            "crop.p",
            "2",
        ),
        ("[affine]\np = -1.0", "affine.p", "-1"),
        (
            "[color_jitter]\np = 1.01\nbrightness = 0.1",
            "color_jitter.p",
            "1.01",
        ),
        ("[mix]\nmixup_alpha = 1.0\nprob = 3.0", "mix.prob", "3"),
        (
            "[mix]\nmixup_alpha = 1.0\nswitch_prob = -0.5",
            "mix.switch_prob",
            "-0.5",
        ),
        (
            "[mix]\nmixup_alpha = 1.0\nlabel_smoothing = 1.5",
            "mix.label_smoothing",
            "1.5",
        ),
    ];
    for (text, field, value) in cases {
        assert!(matches!(
            rejects(text, field, value),
            PolicyError::OutOfRange { .. }
        ));
    }
}

#[test]
fn non_finite_numbers_are_rejected() {
    let cases = [
        ("horizontal_flip = nan", "horizontal_flip"),
        ("[affine]\ndegrees = inf", "affine.degrees"),
        ("[affine]\nscale = [0.5, nan]", "affine.scale"),
        (
            "[color_jitter]\nbrightness = nan",
            "color_jitter.brightness",
        ),
        ("[output]\nmean = [0.5, nan, 0.5]", "output.mean"),
        ("[affine]\nfill = -inf", "affine.fill"),
    ];
    for (text, field) in cases {
        let err = compile(text).expect_err(text);
        assert!(
            matches!(err, PolicyError::NotFinite { .. }),
            "{text}: {err}"
        );
        assert!(err.to_string().contains(field), "{err}");
    }
}

#[test]
fn ranges_must_not_be_inverted() {
    let cases = [
        ("[affine]\nscale = [1.2, 0.8]", "affine.scale"),
        ("[affine]\ndegrees = [10.0, -10.0]", "affine.degrees"),
        (
            "[crop]\nkind = \"resized\"\nscale = [0.9, 0.1]",
            "crop.scale",
        ),
        (
            "[crop]\nkind = \"resized\"\nratio = [2.0, 0.5]",
            "crop.ratio",
        ),
        (
            "[color_jitter]\ncontrast = [1.5, 0.5]",
            "color_jitter.contrast",
        ),
        ("[color_jitter]\nhue = [0.2, -0.2]", "color_jitter.hue"),
    ];
    for (text, field) in cases {
        let err = compile(text).expect_err(text);
        assert!(matches!(err, PolicyError::Inverted { .. }), "{text}: {err}");
        assert!(err.to_string().contains(field), "{err}");
    }
}

#[test]
fn values_outside_their_domain_are_rejected() {
    let cases = [
        ("[affine]\ndegrees = -5.0", "affine.degrees", "-5"),
        (
            "[affine]\ndegrees = [-190.0, 0.0]",
            "affine.degrees",
            "-190",
        ),
        (
            "[affine]\ntranslate = [-0.1, 0.0]",
            "affine.translate",
            "-0.1",
        ),
        (
            "[affine]\ntranslate = [0.0, 1.5]",
            "affine.translate",
            "1.5",
        ),
        ("[affine]\nscale = [0.0, 1.0]", "affine.scale", "0"),
        ("[affine]\nfill = 2.0", "affine.fill", "2"),
        (
            "[crop]\nkind = \"resized\"\nscale = [0.0, 1.0]",
            "crop.scale",
            "0",
        ),
        (
            "[crop]\nkind = \"resized\"\nscale = [0.5, 1.5]",
            "crop.scale",
            "1.5",
        ),
        (
            "[crop]\nkind = \"resized\"\nratio = [-1.0, 1.0]",
            "crop.ratio",
            "-1",
        ),
        (
            "[color_jitter]\nbrightness = -0.4",
            "color_jitter.brightness",
            "-0.4",
        ),
        (
            "[color_jitter]\nsaturation = [-0.5, 1.0]",
            "color_jitter.saturation",
            "-0.5",
        ),
        ("[color_jitter]\nhue = 0.6", "color_jitter.hue", "0.6"),
        ("[color_jitter]\nhue = -0.1", "color_jitter.hue", "-0.1"),
        (
            "[color_jitter]\nhue = [-0.7, 0.0]",
            "color_jitter.hue",
            "-0.7",
        ),
        ("[mix]\nmixup_alpha = -1.0", "mix.mixup_alpha", "-1"),
        ("[mix]\ncutmix_alpha = -0.5", "mix.cutmix_alpha", "-0.5"),
        (
            "[mix]\nmixup_alpha = 0.0\ncutmix_alpha = 0.0",
            "mix.mixup_alpha",
            "0",
        ),
        ("[mix]\nmixup_alpha = 0.001", "mix.mixup_alpha", "0.001"),
        ("[mix]\ncutmix_alpha = 5000.0", "mix.cutmix_alpha", "5000"),
        ("[output]\nstd = [0.2, 0.0, 0.2]", "output.std", "0"),
        ("[output]\nstd = [0.2, -1.0, 0.2]", "output.std", "-1"),
    ];
    for (text, field, value) in cases {
        assert!(matches!(
            rejects(text, field, value),
            PolicyError::OutOfRange { .. }
        ));
    }
}

#[test]
fn padding_that_cannot_fit_is_rejected() {
    let err = rejects(
        "[crop]\nkind = \"pad\"\npadding = 2000000",
        "crop.padding",
        "2000000",
    );
    assert!(matches!(err, PolicyError::DoesNotFit { .. }));
}

#[test]
fn normalisation_needs_one_value_per_channel() {
    let err = rejects("[output]\nmean = [0.5, 0.5]", "output.mean", "2 values");
    assert!(matches!(
        err,
        PolicyError::ChannelCount {
            got: 2,
            expected: 3,
            ..
        }
    ));
    let gray = ImageShape { channels: 1, ..RGB };
    let err = Policy::from_toml_str("[output]\nstd = [0.2, 0.2, 0.2]")
        .unwrap()
        .compile(gray)
        .unwrap_err();
    assert!(matches!(
        err,
        PolicyError::ChannelCount {
            got: 3,
            expected: 1,
            ..
        }
    ));
}

#[test]
fn malformed_policy_files_are_parse_errors() {
    for text in [
        "horizontal_flip = ",
        "colour_jitter = 1",
        "[crop]\nkind = \"zoom\"",
        "[affine]\nrotation = 5",
    ] {
        let err = Policy::from_toml_str(text).unwrap_err();
        assert!(matches!(err, PolicyError::Parse { .. }), "{text}: {err}");
    }
    assert!(matches!(
        Policy::from_json_str("{\"horizontal_flip\": \"x\"}"),
        Err(PolicyError::Parse { .. })
    ));
    let missing = Policy::from_file("/nonexistent/policy.toml").unwrap_err();
    assert!(missing.to_string().contains("/nonexistent/policy.toml"));
}

#[test]
fn policies_round_trip_through_toml_and_json_files() {
    let text = "horizontal_flip = 0.5\n[crop]\nkind = \"pad\"\npadding = 4\n[affine]\ndegrees = 10.0\n[color_jitter]\nhue = 0.1\n[mix]\ncutmix_alpha = 1.0\n[output]\nmean = [0.5, 0.5, 0.5]\nstd = [0.25, 0.25, 0.25]\ndtype = \"bf16\"\nlayout = \"nhwc\"\n";
    let policy = Policy::from_toml_str(text).unwrap();
    assert_eq!(
        Policy::from_toml_str(&policy.to_toml_string()).unwrap(),
        policy
    );
    let dir = std::env::temp_dir().join(format!("augkit-policy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let json = dir.join("p.json");
    std::fs::write(&json, serde_json::to_string(&policy).unwrap()).unwrap();
    assert_eq!(Policy::from_file(&json).unwrap(), policy);
    let toml = dir.join("p.toml");
    std::fs::write(&toml, text).unwrap();
    assert_eq!(Policy::from_file(&toml).unwrap(), policy);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn bad_shapes_datasets_and_subsets_are_typed_errors() {
    assert!(matches!(
        ImageShape::new(2, 8, 8),
        Err(Error::Shape { channels: 2, .. })
    ));
    assert!(matches!(
        ImageShape::new(3, 0, 8),
        Err(Error::Shape { height: 0, .. })
    ));
    assert!(matches!(
        ImageShape::new(1, 8, 20000),
        Err(Error::Shape { width: 20000, .. })
    ));
    let shape = ImageShape::new(1, 2, 2).unwrap();
    let e = |r: Result<Dataset, Error>| r.unwrap_err().to_string();
    assert!(e(Dataset::new(shape, vec![0; 7], vec![0, 1], 2)).contains("7 pixel bytes"));
    assert!(e(Dataset::new(shape, vec![0; 8], vec![0, 2], 2)).contains("label 2 of image 1"));
    assert!(e(Dataset::new(shape, vec![], vec![], 2)).contains("no images"));
    assert!(e(Dataset::new(shape, vec![0; 4], vec![0], 0)).contains("num_classes"));
    let data = Arc::new(Dataset::new(shape, vec![0; 8], vec![0, 1], 2).unwrap());
    let p = Policy::identity();
    assert!(matches!(
        CpuBackend::new(&p, 0, data.clone(), vec![]),
        Err(Error::EmptySubset)
    ));
    assert!(matches!(
        CpuBackend::new(&p, 0, data.clone(), vec![0, 5]),
        Err(Error::SubsetIndex {
            position: 1,
            index: 5,
            len: 2
        })
    ));
    let bad_policy = Policy::from_toml_str("horizontal_flip = 2.0").unwrap();
    assert!(matches!(
        CpuBackend::new(&bad_policy, 0, data, vec![0]),
        Err(Error::Policy(_))
    ));
}

#[test]
fn auto_augment_fields_are_validated() {
    let cases = [
        (
            "[trivial_augment]\nnum_magnitude_bins = 1",
            "trivial_augment.num_magnitude_bins",
            "1",
        ),
        (
            "[trivial_augment]\nfill = 1.5",
            "trivial_augment.fill",
            "1.5",
        ),
        ("[rand_augment]\nnum_ops = 3", "rand_augment.num_ops", "3"),
        ("[rand_augment]\nnum_ops = 0", "rand_augment.num_ops", "0"),
        (
            "[rand_augment]\nmagnitude = 31",
            "rand_augment.magnitude",
            "31",
        ),
        (
            "[rand_augment]\nnum_magnitude_bins = 0",
            "rand_augment.num_magnitude_bins",
            "0",
        ),
        ("[rand_augment]\nfill = -0.5", "rand_augment.fill", "-0.5"),
    ];
    for (text, field, value) in cases {
        let err = rejects(text, field, value);
        assert!(
            matches!(
                err,
                PolicyError::OutOfRange { .. } | PolicyError::CountOutOfRange { .. }
            ),
            "{err:?}"
        );
    }
    let err = rejects("[rand_augment]\nfill = nan", "rand_augment.fill", "NaN");
    assert!(matches!(err, PolicyError::NotFinite { .. }), "{err:?}");
    let both = "[trivial_augment]\n[rand_augment]\n";
    let err = rejects(both, "trivial_augment", "rand_augment");
    assert!(matches!(err, PolicyError::Conflict { .. }), "{err:?}");
    assert!(compile("[rand_augment]\nnum_magnitude_bins = 10\nmagnitude = 9").is_ok());
    assert!(compile("[trivial_augment]\nwide = false\ninterpolation = \"bilinear\"").is_ok());
}

#[test]
fn auto_augment_compiles_torchvisions_ranges() {
    let k = compile("[trivial_augment]").unwrap();
    assert_eq!(
        (
            k.auto_mode,
            k.auto_num_ops,
            k.auto_num_bins,
            k.auto_interpolation
        ),
        (1, 1, 31, 0)
    );
    assert_eq!(
        [
            k.auto_shear_max,
            k.auto_translate_max_x,
            k.auto_rotate_max,
            k.auto_enhance_max
        ],
        [0.99, 32.0, 135.0, 0.99]
    );
    assert_eq!(k.auto_posterize_range, 6.0);
    let k = compile("[rand_augment]").unwrap();
    assert_eq!(
        (k.auto_mode, k.auto_num_ops, k.auto_magnitude_bin),
        (2, 2, 9)
    );
    // Python: 150.0 / 331.0 * 32 = 14.501510574018127, then float32.
    assert_eq!(k.auto_translate_max_x, 14.501510574018127f64 as f32);
    assert_eq!(
        [
            k.auto_shear_max,
            k.auto_rotate_max,
            k.auto_enhance_max,
            k.auto_posterize_range
        ],
        [0.3, 30.0, 0.9, 4.0]
    );
    assert_eq!(compile("").unwrap().auto_mode, 0);
}

#[test]
fn erasing_fields_are_validated() {
    let out_of_range = [
        ("[erasing]\np = 1.5", "erasing.p", "1.5"),
        ("[erasing]\nscale = [0.0, 0.3]", "erasing.scale", "0"),
        ("[erasing]\nscale = [0.1, 1.5]", "erasing.scale", "1.5"),
        ("[erasing]\nratio = [-1.0, 2.0]", "erasing.ratio", "-1"),
        ("[erasing]\ncount = 0", "erasing.count", "0"),
        ("[erasing]\ncount = [1, 5]", "erasing.count", "5"),
        (
            "[erasing]\nmode = \"pixel\"\nvalue = 1.0",
            "erasing.value",
            "1",
        ),
    ];
    for (text, field, value) in out_of_range {
        assert!(
            matches!(
                rejects(text, field, value),
                PolicyError::OutOfRange { .. } | PolicyError::CountOutOfRange { .. }
            ),
            "{text}"
        );
    }
    for (text, field) in [
        ("[erasing]\nscale = [0.3, 0.1]", "erasing.scale"),
        ("[erasing]\nratio = [2.0, 0.5]", "erasing.ratio"),
        ("[erasing]\ncount = [3, 2]", "erasing.count"),
    ] {
        let err = compile(text).expect_err(text);
        assert!(matches!(err, PolicyError::Inverted { .. }), "{text}: {err}");
        assert!(err.to_string().contains(field), "{err}");
    }
    let err = compile("[erasing]\nvalue = nan").expect_err("nan value");
    assert!(matches!(err, PolicyError::NotFinite { .. }), "{err}");
    assert!(
        compile("[erasing]\nmode = \"rand\"").is_err(),
        "unknown mode"
    );
    // Defaults: timm / torchvision's p, torchvision's scale and ratio.
    let k = compile("[erasing]").unwrap();
    assert_eq!(k.erase_p, 0.5);
    assert_eq!([k.erase_area_lo, k.erase_area_hi], [0.02, 0.33]);
    assert_eq!(k.erase_log_ratio_lo, 0.3f32.ln());
    assert_eq!([k.erase_count_lo, k.erase_count_hi], [1, 1]);
    assert_eq!(
        compile("[erasing]\nmode = \"channel\"\ncount = [2, 4]")
            .map(|k| (k.erase_mode, k.erase_count_hi))
            .unwrap(),
        (2, 4)
    );
}

#[test]
fn nearest_exact_is_a_resize_rule_and_the_affine_rejects_it() {
    let err = rejects(
        "[affine]\ndegrees = 10.0\ninterpolation = \"nearest_exact\"",
        "affine.interpolation",
        "nearest_exact",
    );
    assert!(matches!(err, PolicyError::NotSupported { .. }), "{err}");
    let k = compile("[crop]\nkind = \"resized\"\ninterpolation = \"nearest_exact\"").unwrap();
    assert_eq!(k.crop_interpolation, INTERP_NEAREST_EXACT);
    assert_eq!(k.interpolation, INTERP_NEAREST);
    for section in ["trivial_augment", "rand_augment"] {
        let err = rejects(
            &format!("[{section}]\ninterpolation = \"nearest_exact\""),
            &format!("{section}.interpolation"),
            "nearest_exact",
        );
        assert!(matches!(err, PolicyError::NotSupported { .. }), "{err}");
    }
}

#[test]
fn the_resized_crop_keeps_its_own_interpolation() {
    // torchvision's RandomResizedCrop default: bilinear.
    let k = compile("[crop]\nkind = \"resized\"").unwrap();
    assert_eq!(k.crop_interpolation, INTERP_BILINEAR);
    assert_eq!(k.interpolation, INTERP_NEAREST, "no affine: nearest");
    let k = compile(
        "[crop]\nkind = \"resized\"\ninterpolation = \"nearest\"\n\
         [affine]\ndegrees = 5.0\ninterpolation = \"bilinear\"",
    )
    .unwrap();
    assert_eq!(k.crop_interpolation, INTERP_NEAREST);
    assert_eq!(k.interpolation, INTERP_BILINEAR);
    assert!(
        Policy::from_toml_str("[crop]\nkind = \"resized\"\ninterpolation = \"bicubic\"").is_err()
    );
}

#[test]
fn counts_are_printed_as_the_integers_written() {
    // Through f32, 4294967295 printed as 4294967300.
    let err = rejects(
        "[rand_augment]\nnum_ops = 4294967295",
        "rand_augment.num_ops",
        "4294967295",
    );
    assert!(
        matches!(
            err,
            PolicyError::CountOutOfRange {
                value: 4_294_967_295,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(!err.to_string().contains("4294967300"), "{err}");
    rejects(
        "[rand_augment]\nnum_magnitude_bins = 16777217",
        "rand_augment.num_magnitude_bins",
        "16777217",
    );
    rejects(
        "[erasing]\ncount = 4294967295",
        "erasing.count",
        "4294967295",
    );
}

/// Every value a policy can write must be finite in its output dtype and
/// within `MAX_OUTPUT_MAGNITUDE`: normalised pixels and erased elements.
#[test]
fn values_the_policy_writes_must_fit_the_output_dtype() {
    let output_range = |text: &str, field: &str| {
        let err = compile(text).expect_err(text);
        assert!(
            matches!(err, PolicyError::OutputRange { .. }),
            "{text}: {err:?}"
        );
        let msg = err.to_string();
        assert!(msg.contains(&format!("`{field}`")), "{text}: {msg}");
        msg
    };
    // An erasing constant that no output can hold sensibly (it "completed"
    // at loss 4.7e28), and one that overflows f16.
    let msg = output_range("[erasing]\nvalue = 1e30", "erasing.value");
    assert!(msg.contains("1e30") && msg.contains("f32"), "{msg}");
    let msg = output_range(
        "[erasing]\nvalue = 70000.0\n[output]\ndtype = \"f16\"",
        "erasing.value",
    );
    assert!(msg.contains("6.5504e4") && msg.contains("f16"), "{msg}");
    // Normalisations that overflow f16 (std 1e-5 gave ±inf) or anything.
    let msg = output_range(
        "[output]\nstd = [1e-5, 1e-5, 1e-5]\ndtype = \"f16\"",
        "output",
    );
    assert!(msg.contains("channel 0") && msg.contains("f16"), "{msg}");
    output_range("[output]\nstd = [1.0, 1.0, 1e-45]", "output");
    output_range(
        "[output]\nmean = [0.0, 1e38, 0.0]\ndtype = \"bf16\"",
        "output",
    );
    // Random erasing writes N(0, 1) draws (up to ±6.7) through the std.
    output_range(
        "[erasing]\nmode = \"pixel\"\n[output]\nstd = [1e38, 1.0, 1.0]",
        "erasing.mode",
    );
    // What real policies use passes, f16 included, up to the limits.
    for ok in [
        "[erasing]\nvalue = 3.0\n[output]\ndtype = \"f16\"\nmean = [0.5, 0.5, 0.5]\nstd = [0.25, 0.25, 0.25]",
        "[erasing]\nvalue = 65504.0\n[output]\ndtype = \"f16\"",
        "[erasing]\nvalue = -1e6",
        "[erasing]\nmode = \"channel\"\n[output]\ndtype = \"f16\"\nstd = [0.01, 0.01, 0.01]",
        "[output]\nstd = [1e-5, 1.0, 1.0]",
    ] {
        compile(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
    }
    assert_eq!(augkit::policy::MAX_OUTPUT_MAGNITUDE, 1e6);
}

#[test]
fn num_classes_is_bounded_before_anything_is_allocated() {
    let shape = ImageShape::new(1, 2, 2).unwrap();
    for classes in [u32::MAX, augkit::MAX_CLASSES + 1] {
        let err = Dataset::new(shape, vec![0; 4], vec![0], classes).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, Error::Dataset(_)), "{err:?}");
        assert!(
            msg.contains(&classes.to_string()) && msg.contains("MAX_CLASSES"),
            "{msg}"
        );
    }
    Dataset::new(shape, vec![0; 4], vec![0], augkit::MAX_CLASSES).unwrap();
}

#[test]
fn synthetic_tables_are_bounded_before_they_are_built() {
    // 16 images of 1×8×8 and 10^6 classes asked 2.3 GB of per-class tables.
    let shape = ImageShape::new(1, 8, 8).unwrap();
    let labels: Vec<u32> = (0..16).map(|i| i % 4).collect();
    let data = Arc::new(Dataset::new(shape, vec![7; 16 * 64], labels.clone(), 1_000_000).unwrap());
    let policy = Policy::from_toml_str("[synthetic]\nmode = \"pca\"\ncomponents = 8").unwrap();
    let Err(err) = CpuBackend::new(&policy, 0, data, (0..16).collect()) else {
        panic!("10^6 classes of PCA tables were built");
    };
    let msg = err.to_string();
    assert!(matches!(err, Error::Dataset(_)), "{err:?}");
    assert!(
        msg.contains("num_classes 1000000") && msg.contains("MAX_SYNTH_TABLE_BYTES"),
        "{msg}"
    );
    // The interpolate mode keeps only a class index, and few classes fit.
    let data = Arc::new(Dataset::new(shape, vec![7; 16 * 64], labels.clone(), 1_000_000).unwrap());
    let interpolate = Policy::from_toml_str("[synthetic]\nmode = \"interpolate\"").unwrap();
    CpuBackend::new(&interpolate, 0, data, (0..16).collect()).unwrap();
    let data = Arc::new(Dataset::new(shape, vec![7; 16 * 64], labels, 4).unwrap());
    CpuBackend::new(&policy, 0, data, (0..16).collect()).unwrap();
}
