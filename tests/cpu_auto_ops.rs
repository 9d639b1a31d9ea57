//! TrivialAugment-Wide / RandAugment on the CPU reference against
//! docs/SEMANTICS.md §10: the params pass (op and bin frequencies, signs,
//! torchvision's magnitude tables bit for bit, the folded geometry map) and
//! each op's pixels on known images.
//! Run: `cargo test -p augkit --test cpu_auto_ops`.

mod support;

use std::sync::Arc;

use augkit::cpu::{self, CpuBackend};
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

// --- pixels on known images ------------------------------------------------

/// Renders the first `batch` samples of `text` with every sample's auto ops
/// replaced by `ops` (id, signed magnitude): (output in [0, 1] with mean 0
/// and std 1, the parameters used).
fn render_ops(
    text: &str,
    data: &Arc<Dataset>,
    batch: u32,
    ops: &[(u32, f32)],
) -> (Vec<f32>, Vec<SampleParams>, KernelPolicy) {
    let plan = augkit::Plan::whole_dataset(&Policy::from_toml_str(text).unwrap(), 5, data.clone())
        .unwrap();
    let k = *plan.kernel();
    let mut params = params_of(text, data, batch, 0);
    for p in &mut params {
        p.auto_ops = u32::MAX;
        p.auto_magnitudes = [0.0; 4];
        p.auto_affine = AUTO_IDENTITY_MAP;
        for (i, &(op, m)) in ops.iter().enumerate() {
            p.auto_ops = (p.auto_ops & !(0xff << (8 * i))) | (op << (8 * i));
            p.auto_magnitudes[i] = m;
            if auto_op_moves_pixels(op) {
                p.auto_affine = compose_affine(p.auto_affine, auto_op_map(&k, op, m));
            }
        }
    }
    let means = cpu::step_contrast_means(&k, data, &params);
    let mut out = vec![f32::NAN; params.len() * data.shape().elements()];
    cpu::render(&k, data, &params, &means, &mut out);
    (out, params, k)
}

/// Pixel (c, y, x) of image `index` in [0, 1].
fn source(data: &Dataset, index: u32, c: usize, y: usize, x: usize) -> f32 {
    let s = data.shape();
    f32::from(data.image(index as usize)[(c * s.height as usize + y) * s.width as usize + x])
        / 255.0
}

fn close(a: f32, b: f32, what: &str) {
    assert!((a - b).abs() <= 1e-6, "{what}: {a} vs {b}");
}

#[test]
fn pointwise_ops_follow_their_definitions() {
    let data = random_dataset(3, 7, 5, 16, 10, 7);
    let (h, w) = (7usize, 5usize);
    let gray = |r: f32, g: f32, b: f32| 0.2989 * r + 0.587 * g + 0.114 * b;
    let cases: [(u32, f32); 7] = [
        (AUTO_OP_IDENTITY, 0.0),
        (AUTO_OP_BRIGHTNESS, 0.5),
        (AUTO_OP_BRIGHTNESS, -0.3),
        (AUTO_OP_COLOR, 0.8),
        (AUTO_OP_POSTERIZE, 3.0),
        (AUTO_OP_SOLARIZE, 0.5),
        (AUTO_OP_COLOR, -1.0),
    ];
    for (op, m) in cases {
        let (out, params, _) = render_ops("[trivial_augment]\n", &data, 4, &[(op, m)]);
        for (i, p) in params.iter().enumerate() {
            for y in 0..h {
                for x in 0..w {
                    let v = |c| source(&data, p.dataset_index, c, y, x);
                    let g = gray(v(0), v(1), v(2));
                    for c in 0..3 {
                        let s = v(c);
                        let expected = match op {
                            AUTO_OP_BRIGHTNESS => ((1.0 + m) * s).clamp(0.0, 1.0),
                            AUTO_OP_COLOR => ((1.0 + m) * s - m * g).clamp(0.0, 1.0),
                            AUTO_OP_POSTERIZE => (s * 8.0).floor().min(7.0) / 8.0,
                            AUTO_OP_SOLARIZE if s >= m => 1.0 - s,
                            _ => s,
                        };
                        let got = out[((i * 3 + c) * h + y) * w + x];
                        close(got, expected, &format!("op {op} m {m} ({c}, {y}, {x})"));
                    }
                }
            }
        }
    }
}

/// A 32×32 image with a few levels per channel (and one constant channel).
fn levels_image(levels: [&[u8]; 3]) -> Arc<Dataset> {
    let shape = ImageShape::new(3, 32, 32).unwrap();
    let mut pixels = Vec::new();
    for l in levels {
        pixels.extend((0..1024).map(|i| l[i % l.len()]));
    }
    Arc::new(Dataset::new(shape, pixels, vec![0], 1).unwrap())
}

#[test]
fn autocontrast_stretches_each_channel_and_equalize_spreads_the_histogram() {
    let data = levels_image([&[10, 200], &[50, 60, 70], &[90]]);
    let (out, _, _) = render_ops(
        "[trivial_augment]\n",
        &data,
        1,
        &[(AUTO_OP_AUTOCONTRAST, 0.0)],
    );
    let plane = |c: usize| &out[c * 1024..(c + 1) * 1024];
    let set = |c| {
        let mut v: Vec<u32> = plane(c).iter().map(|v| v.to_bits()).collect();
        v.sort();
        v.dedup();
        v.into_iter().map(f32::from_bits).collect::<Vec<_>>()
    };
    assert_eq!(set(0), vec![0.0, 1.0]);
    let middle = set(1);
    assert_eq!((middle.len(), middle[0], middle[2]), (3, 0.0, 1.0));
    close(middle[1], 0.5, "autocontrast middle level");
    assert_eq!(
        set(2),
        vec![90.0 / 255.0],
        "a constant channel is unchanged"
    );
    // Equalize: two equal halves → step = 512 div 255 = 2; level 10 maps to
    // 0, level 200 to min(255, (512 + 1) div 2) = 255.
    let (out, _, _) = render_ops("[trivial_augment]\n", &data, 1, &[(AUTO_OP_EQUALIZE, 0.0)]);
    let one = 255.0 * (1.0f64 / 255.0) as f32;
    assert!(out[..1024].iter().all(|&v| v == 0.0 || v == one));
    assert_eq!(out[0], 0.0);
    assert_eq!(out[1], one);
    // A constant channel has step 0: unchanged (quantised to u8 / 255).
    assert!(
        out[2048..]
            .iter()
            .all(|&v| v == 90.0 * (1.0f64 / 255.0) as f32)
    );
}

#[test]
fn sharpness_keeps_borders_constant_images_and_tiny_images() {
    let data = random_dataset(1, 6, 7, 8, 10, 9);
    let m = 0.7;
    let (out, params, _) = render_ops("[trivial_augment]\n", &data, 2, &[(AUTO_OP_SHARPNESS, m)]);
    let (h, w) = (6usize, 7usize);
    for (i, p) in params.iter().enumerate() {
        for y in 0..h {
            for x in 0..w {
                let s = |dy: i32, dx: i32| {
                    source(
                        &data,
                        p.dataset_index,
                        0,
                        (y as i32 + dy) as usize,
                        (x as i32 + dx) as usize,
                    )
                };
                let got = out[(i * h + y) * w + x];
                if y == 0 || x == 0 || y == h - 1 || x == w - 1 {
                    assert_eq!(got, s(0, 0), "border ({y}, {x})");
                    continue;
                }
                let mut blur = 0.0;
                for dy in -1..=1 {
                    for dx in -1..=1 {
                        let weight = if dx == 0 && dy == 0 { 5.0 } else { 1.0 };
                        blur += weight / 13.0 * s(dy, dx);
                    }
                }
                let expected = (s(0, 0) - m * (blur - s(0, 0))).clamp(0.0, 1.0);
                close(got, expected, &format!("({y}, {x})"));
            }
        }
    }
    let flat = levels_image([&[77], &[77], &[77]]);
    let (out, _, _) = render_ops(
        "[trivial_augment]\n",
        &flat,
        1,
        &[(AUTO_OP_SHARPNESS, -0.9)],
    );
    assert!(out.iter().all(|&v| (v - 77.0 / 255.0).abs() < 1e-6));
    let tiny = random_dataset(3, 5, 2, 4, 10, 3);
    let (out, params, _) = render_ops("[trivial_augment]\n", &tiny, 1, &[(AUTO_OP_SHARPNESS, 0.9)]);
    for (j, &v) in out.iter().enumerate() {
        let (c, y, x) = (j / 10, (j / 2) % 5, j % 2);
        assert_eq!(v, source(&tiny, params[0].dataset_index, c, y, x));
    }
}

#[test]
fn geometry_ops_move_pixels_and_the_fill_goes_through_the_later_ops_only() {
    let data = random_dataset(1, 6, 9, 8, 10, 11);
    let (h, w) = (6usize, 9usize);
    let text = "[rand_augment]\nnum_ops = 2\nfill = 0.4\n";
    // Translate right by int(3.9) = 3 after brightening: the fill is not brightened.
    let (out, params, _) = render_ops(
        text,
        &data,
        2,
        &[(AUTO_OP_BRIGHTNESS, 0.5), (AUTO_OP_TRANSLATE_X, 3.9)],
    );
    for (i, p) in params.iter().enumerate() {
        for y in 0..h {
            for x in 0..w {
                let got = out[(i * h + y) * w + x];
                let expected = if x < 3 {
                    0.4
                } else {
                    (1.5 * source(&data, p.dataset_index, 0, y, x - 3)).min(1.0)
                };
                close(got, expected, &format!("pre ({y}, {x})"));
            }
        }
    }
    // Brightening after the translation brightens the fill too.
    let (out, _, _) = render_ops(
        text,
        &data,
        1,
        &[(AUTO_OP_TRANSLATE_X, -3.9), (AUTO_OP_BRIGHTNESS, 0.5)],
    );
    for y in 0..h {
        for x in w - 3..w {
            close(out[y * w + x], 0.6, "post fill");
        }
    }
    // ShearX by 0.5 about the top-left corner: row y reads x + 0.5·(y + ½) + ½.
    let (out, params, _) = render_ops(text, &data, 1, &[(AUTO_OP_SHEAR_X, 0.5)]);
    for y in 0..h {
        for x in 0..w {
            let sx = (x as f32 + 0.5 + 0.5 * (y as f32 + 0.5)).floor() as usize;
            let expected = if sx < w {
                source(&data, params[0].dataset_index, 0, y, sx)
            } else {
                0.4
            };
            assert_eq!(out[y * w + x], expected, "shear ({y}, {x})");
        }
    }
}

#[test]
fn rotation_by_90_degrees_matches_rot90_and_reductions_see_the_chain() {
    let data = random_dataset(3, 8, 8, 8, 10, 12);
    let (out, params, _) = render_ops("[trivial_augment]\n", &data, 1, &[(AUTO_OP_ROTATE, 90.0)]);
    // Counter-clockwise: output (y, x) = source (x, W − 1 − y).
    for c in 0..3 {
        for y in 0..8 {
            for x in 0..8 {
                let expected = source(&data, params[0].dataset_index, c, x, 7 - y);
                assert_eq!(out[(c * 8 + y) * 8 + x], expected);
            }
        }
    }
    // Solarize at threshold 0 inverts everything; the jitter's exact
    // contrast mean and a following Contrast op both see the inverted image.
    let text = "[rand_augment]\nnum_ops = 2\n[color_jitter]\ncontrast = [0.5, 0.5]\n";
    let (_, params, k) = render_ops(
        text,
        &data,
        3,
        &[(AUTO_OP_SOLARIZE, 0.0), (AUTO_OP_CONTRAST, 0.3)],
    );
    let plan = augkit::Plan::whole_dataset(&Policy::from_toml_str(text).unwrap(), 5, data.clone())
        .unwrap();
    let src = cpu::plan_source(&plan, &[]);
    let stats = cpu::step_auto_stats(&k, &src, &params);
    let means = cpu::step_contrast_means(&k, &data, &params);
    for (i, p) in params.iter().enumerate() {
        let mut sum = 0.0f64;
        for y in 0..8 {
            for x in 0..8 {
                let v = |c| 1.0 - source(&data, p.dataset_index, c, y, x);
                sum += f64::from(0.2989 * v(0) + 0.587 * v(1) + 0.114 * v(2));
            }
        }
        let inverted_mean = (sum / 64.0) as f32;
        close(stats[i].mean[1], inverted_mean, "Contrast op's mean");
        // The jitter's mean is over the Contrast op's result.
        let mut after = 0.0f64;
        for y in 0..8 {
            for x in 0..8 {
                let v = |c| {
                    let s = 1.0 - source(&data, p.dataset_index, c, y, x);
                    (1.3 * s - 0.3 * inverted_mean).clamp(0.0, 1.0)
                };
                after += f64::from(0.2989 * v(0) + 0.587 * v(1) + 0.114 * v(2));
            }
        }
        let expected = (after / 64.0) as f32;
        close(
            means[i],
            expected,
            "jitter contrast mean after the auto ops",
        );
    }
}
