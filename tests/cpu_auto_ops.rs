//! TrivialAugment-Wide / RandAugment on the CPU reference against
//! docs/SEMANTICS.md §10: the params pass (op and bin frequencies, signs,
//! torchvision's magnitude tables bit for bit, the folded geometry map) and
//! each op's pixels on known images.
//! Run: `cargo test -p augkit --test cpu_auto_ops`.

mod support;

use std::sync::Arc;

use augkit::cpu::CpuBackend;
use augkit::internals::kernel_args::*;
use augkit::internals::params::{
    AUTO_IDENTITY_MAP, auto_magnitude, auto_op_at, auto_op_map, auto_op_moves_pixels,
    auto_op_signed, compose_affine,
};
use augkit::{Backend, Dataset, ImageShape, Policy, SampleParams, Step};
use support::random_dataset;

const RGB32: ImageShape = ImageShape {
    channels: 3,
    height: 32,
    width: 32,
};

fn params_of(text: &str, data: &Arc<Dataset>, batch: u32, epoch: u32) -> Vec<SampleParams> {
    let policy = Policy::from_toml_str(text).unwrap();
    let subset: Vec<u32> = (0..data.len() as u32).collect();
    let mut backend = CpuBackend::new(&policy, 11, data.clone(), subset).unwrap();
    backend
        .sample_params(Step {
            epoch,
            first_position: 0,
            batch_size: batch,
        })
        .unwrap()
}

fn kernel(text: &str, shape: ImageShape) -> KernelPolicy {
    Policy::from_toml_str(text).unwrap().compile(shape).unwrap()
}

/// tests/data/auto_magnitudes.txt: torchvision's tables as f32 bits,
/// written by python/tests/auto_magnitude_tables.py (and checked against
/// torch by python/tests/test_torchvision_auto_ops.py).
#[test]
fn auto_magnitude_tables_equal_torchvisions() {
    let text = include_str!("data/auto_magnitudes.txt");
    let mut checked = 0;
    for line in text.lines() {
        let mut fields = line.split_whitespace();
        let name = fields.next().unwrap();
        let bins: u32 = fields.next().unwrap().parse().unwrap();
        let expected: Vec<u32> = fields
            .map(|v| u32::from_str_radix(v, 16).unwrap())
            .collect();
        assert_eq!(expected.len(), bins as usize, "{name} {bins}");
        let (wide, width, op) = match name {
            "shear_wide" => (true, 32, AUTO_OP_SHEAR_X),
            "translate_wide" => (true, 32, AUTO_OP_TRANSLATE_X),
            "rotate_wide" => (true, 32, AUTO_OP_ROTATE),
            "enhance_wide" => (true, 32, AUTO_OP_BRIGHTNESS),
            "shear_rand" => (false, 32, AUTO_OP_SHEAR_Y),
            "translate_rand_w32" => (false, 32, AUTO_OP_TRANSLATE_X),
            "translate_rand_w17" => (false, 17, AUTO_OP_TRANSLATE_Y),
            "rotate_rand" => (false, 32, AUTO_OP_ROTATE),
            "enhance_rand" => (false, 32, AUTO_OP_SHARPNESS),
            "solarize" => (true, 32, AUTO_OP_SOLARIZE),
            "posterize_6" => (true, 32, AUTO_OP_POSTERIZE),
            "posterize_4" => (false, 32, AUTO_OP_POSTERIZE),
            other => panic!("unknown table {other}"),
        };
        let shape = ImageShape::new(3, width, width).unwrap();
        let k = kernel(
            &format!("[trivial_augment]\nwide = {wide}\nnum_magnitude_bins = {bins}\n"),
            shape,
        );
        for (bin, &bits) in expected.iter().enumerate() {
            let got = auto_magnitude(&k, op, bin as u32);
            assert_eq!(
                got.to_bits(),
                bits,
                "{name}, {bins} bins, bin {bin}: augkit {got}, torch {}",
                f32::from_bits(bits)
            );
        }
        checked += 1;
    }
    assert_eq!(checked, 48, "every table of the file was checked");
    // The same ops share a table: colour and contrast use the enhance range.
    let k = kernel("[trivial_augment]\n", RGB32);
    for op in [AUTO_OP_COLOR, AUTO_OP_CONTRAST, AUTO_OP_SHARPNESS] {
        assert_eq!(
            auto_magnitude(&k, op, 17),
            auto_magnitude(&k, AUTO_OP_BRIGHTNESS, 17)
        );
    }
    for op in [AUTO_OP_IDENTITY, AUTO_OP_AUTOCONTRAST, AUTO_OP_EQUALIZE] {
        assert_eq!(auto_magnitude(&k, op, 30), 0.0);
    }
}

#[test]
fn trivial_augment_draws_ops_bins_and_signs_uniformly() {
    let data = random_dataset(3, 8, 8, 64, 10, 1);
    let k = kernel("[trivial_augment]\n", ImageShape::new(3, 8, 8).unwrap());
    let mut ops = [0u32; AUTO_OP_COUNT as usize];
    let mut negative = [0u32; 2];
    let mut samples = 0u32;
    for epoch in 0..200 {
        for p in params_of("[trivial_augment]\n", &data, 64, epoch) {
            assert_ne!(p.flags & flags::AUTO, 0);
            let op = auto_op_at(p.auto_ops, 0);
            assert!(op < AUTO_OP_COUNT);
            assert_eq!(p.auto_ops >> 8, 0x00ff_ffff, "one op, then AUTO_OP_NONE");
            ops[op as usize] += 1;
            let m = p.auto_magnitudes[0];
            // The magnitude is a table entry of its op, signed only if the op is.
            let found = (0..31).any(|b| auto_magnitude(&k, op, b) == m.abs());
            assert!(found, "op {op} magnitude {m} is not in its table");
            if auto_op_signed(op) && m != 0.0 {
                negative[usize::from(m < 0.0)] += 1;
            } else if !auto_op_signed(op) {
                assert!(m.is_sign_positive(), "unsigned op {op} got {m}");
            }
            assert_eq!(p.auto_magnitudes[1..], [0.0; 3]);
            samples += 1;
        }
    }
    // Each count within 5 standard deviations of n/14.
    let expected = f64::from(samples) / 14.0;
    let sd = (expected * (13.0 / 14.0)).sqrt();
    for (op, &n) in ops.iter().enumerate() {
        assert!(
            (f64::from(n) - expected).abs() < 5.0 * sd,
            "op {op}: {n} of {samples} (expected {expected:.0} ± {sd:.0})"
        );
    }
    let signed = f64::from(negative[0] + negative[1]);
    assert!(
        (f64::from(negative[1]) - signed / 2.0).abs() < 5.0 * (signed / 4.0).sqrt(),
        "signs {negative:?}"
    );
}

#[test]
fn rand_augment_runs_num_ops_ops_at_the_fixed_bin() {
    let data = random_dataset(3, 8, 8, 64, 10, 2);
    let text = "[rand_augment]\nnum_ops = 2\nmagnitude = 9\n";
    let k = kernel(text, ImageShape::new(3, 8, 8).unwrap());
    let mut pairs = std::collections::HashSet::new();
    for epoch in 0..20 {
        for p in params_of(text, &data, 64, epoch) {
            assert_eq!(p.auto_ops >> 16, 0xffff, "two ops, then AUTO_OP_NONE");
            for i in 0..2 {
                let op = auto_op_at(p.auto_ops, i);
                assert!(op < AUTO_OP_COUNT);
                let m = p.auto_magnitudes[i as usize];
                assert_eq!(m.abs(), auto_magnitude(&k, op, 9), "op {op}");
            }
            pairs.insert(p.auto_ops & 0xffff);
        }
    }
    assert!(
        pairs.len() > 150,
        "only {} of 196 op pairs seen",
        pairs.len()
    );
    let one = "[rand_augment]\nnum_ops = 1\n";
    for p in params_of(one, &data, 64, 0) {
        assert_eq!(p.auto_ops >> 8, 0x00ff_ffff);
    }
}

#[test]
fn auto_affine_folds_the_geometry_ops() {
    let data = random_dataset(3, 9, 13, 64, 10, 3);
    let shape = data.shape();
    let text = "[rand_augment]\nnum_ops = 2\nmagnitude = 20\n";
    let k = kernel(text, shape);
    let (mut folded_two, mut identity) = (0, 0);
    for epoch in 0..10 {
        for p in params_of(text, &data, 64, epoch) {
            let mut expected = AUTO_IDENTITY_MAP;
            let mut moves = 0;
            for i in 0..2 {
                let op = auto_op_at(p.auto_ops, i);
                if auto_op_moves_pixels(op) {
                    moves += 1;
                    expected = compose_affine(
                        expected,
                        auto_op_map(&k, op, p.auto_magnitudes[i as usize]),
                    );
                }
            }
            assert_eq!(p.auto_affine, expected);
            folded_two += usize::from(moves == 2);
            if moves == 0 {
                assert_eq!(p.auto_affine, AUTO_IDENTITY_MAP);
                identity += 1;
            }
        }
    }
    assert!(folded_two > 0 && identity > 0);
    // The maps themselves (SEMANTICS.md §10): about the top-left corner for
    // shears, whole pixels for translations, about the centre for rotation.
    let apply =
        |m: [f32; 6], x: f32, y: f32| (m[0] * x + m[1] * y + m[2], m[3] * x + m[4] * y + m[5]);
    assert_eq!(
        apply(auto_op_map(&k, AUTO_OP_SHEAR_X, 0.5), 1.0, 2.0),
        (2.0, 2.0)
    );
    assert_eq!(
        apply(auto_op_map(&k, AUTO_OP_SHEAR_Y, 0.5), 2.0, 1.0),
        (2.0, 2.0)
    );
    assert_eq!(
        apply(auto_op_map(&k, AUTO_OP_TRANSLATE_X, -3.7), 1.0, 2.0),
        (4.0, 2.0)
    );
    assert_eq!(
        apply(auto_op_map(&k, AUTO_OP_TRANSLATE_Y, 2.9), 1.0, 2.0),
        (1.0, 0.0)
    );
    let (cx, cy) = (6.5, 4.5);
    let (x, y) = apply(auto_op_map(&k, AUTO_OP_ROTATE, 90.0), cx + 1.0, cy);
    assert!(
        (x - cx).abs() < 1e-5 && (y - (cy + 1.0)).abs() < 1e-5,
        "({x}, {y})"
    );
}

#[test]
fn auto_ops_leave_the_other_parameters_unchanged() {
    let data = random_dataset(3, 8, 8, 64, 10, 4);
    let base = "horizontal_flip = 0.5\n[crop]\nkind = \"pad\"\npadding = 2\n\
                [color_jitter]\nbrightness = 0.3\ncontrast = 0.3\n\
                [mix]\nmixup_alpha = 0.4\ncutmix_alpha = 1.0\n";
    let plain = params_of(base, &data, 64, 3);
    for extra in ["[trivial_augment]\n", "[rand_augment]\n"] {
        let with = params_of(&format!("{base}{extra}"), &data, 64, 3);
        for (a, b) in plain.iter().zip(&with) {
            let mut b = *b;
            assert_eq!(b.flags & !flags::AUTO, a.flags);
            b.flags = a.flags;
            b.auto_ops = a.auto_ops;
            b.auto_magnitudes = a.auto_magnitudes;
            b.auto_affine = a.auto_affine;
            assert_eq!(*a, b, "{extra}");
        }
    }
    for p in &plain {
        assert_eq!(p.flags & flags::AUTO, 0);
        assert_eq!(p.auto_ops, u32::MAX);
        assert_eq!(p.auto_affine, AUTO_IDENTITY_MAP);
    }
}
