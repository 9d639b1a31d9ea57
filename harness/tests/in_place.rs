//! The CPU backend writes a libtorch tensor's own storage: same pointer
//! before and after, values equal to the library writing into a Vec.
//! Run: `cargo test -p augkit-harness --test in_place`.

use std::sync::Arc;

use augkit::cpu::CpuBackend;
use augkit::{Backend, Dataset, HostImages, ImageShape, Layout, MixLabel, Policy, Step};
use augkit_harness::source::{augment_into_tensor, batch_dims, kind_of};
use tch::{Device, Tensor};

const POLICY: &str = r#"
horizontal_flip = 0.5
vertical_flip = 0.3
[crop]
kind = "pad"
padding = 2
[color_jitter]
brightness = 0.4
contrast = 0.4
[mix]
mixup_alpha = 0.4
[output]
mean = [0.5, 0.4, 0.3]
std = [0.2, 0.25, 0.3]
"#;

/// 11 seeded images of 3×5×7 (non-square, odd sizes), 4 classes.
fn dataset() -> Arc<Dataset> {
    let shape = ImageShape::new(3, 5, 7).unwrap();
    let n = 11;
    let mut state = 0x1234_5678u32;
    let pixels = (0..n * shape.elements())
        .map(|_| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (state >> 24) as u8
        })
        .collect();
    let labels = (0..n as u32).map(|i| i % 4).collect();
    Arc::new(Dataset::new(shape, pixels, labels, 4).unwrap())
}

fn policy(dtype: &str, layout: &str) -> Policy {
    let text = POLICY.replace(
        "[output]",
        &format!("[output]\ndtype = \"{dtype}\"\nlayout = \"{layout}\""),
    );
    Policy::from_toml_str(&text).unwrap()
}

fn check(dtype: &str, layout: &str) {
    let policy = policy(dtype, layout);
    let data = dataset();
    let subset: Vec<u32> = (0..11).collect();
    let mut into_tensor = CpuBackend::new(&policy, 99, data.clone(), subset.clone()).unwrap();
    let mut into_vec = CpuBackend::new(&policy, 99, data.clone(), subset).unwrap();
    // An awkward batch: 7 samples from position 3 of epoch 2.
    let step = Step {
        epoch: 2,
        first_position: 3,
        batch_size: 7,
    };
    let dims = batch_dims(data.shape(), policy.output.layout, step.batch_size);
    let mut tensor = Tensor::empty(dims, (kind_of(policy.output.dtype), Device::Cpu));
    let before = tensor.data_ptr();
    let mut labels = vec![MixLabel::default(); 7];
    augment_into_tensor(&mut into_tensor, step, &mut tensor, &mut labels).unwrap();
    assert_eq!(tensor.data_ptr(), before, "the storage moved");
    assert_eq!(tensor.size(), dims.to_vec());

    let elements = 7 * data.shape().elements();
    let mut expected_labels = vec![MixLabel::default(); 7];
    let got: Vec<f32> = Vec::try_from(&tensor.to_kind(tch::Kind::Float).flatten(0, -1)).unwrap();
    let expected: Vec<f32> = match policy.output.dtype {
        augkit::DType::F32 => {
            let mut v = vec![0f32; elements];
            into_vec
                .augment_into(step, HostImages::F32(&mut v), &mut expected_labels)
                .unwrap();
            v
        }
        augkit::DType::F16 => {
            let mut v = vec![half::f16::ZERO; elements];
            into_vec
                .augment_into(step, HostImages::F16(&mut v), &mut expected_labels)
                .unwrap();
            v.iter().map(|x| x.to_f32()).collect()
        }
        augkit::DType::Bf16 => {
            let mut v = vec![half::bf16::ZERO; elements];
            into_vec
                .augment_into(step, HostImages::Bf16(&mut v), &mut expected_labels)
                .unwrap();
            v.iter().map(|x| x.to_f32()).collect()
        }
    };
    assert_eq!(labels, expected_labels);
    let mismatches: Vec<usize> = (0..elements)
        .filter(|&i| got[i].to_bits() != expected[i].to_bits())
        .collect();
    assert!(
        mismatches.is_empty(),
        "{dtype}/{layout}: {} mismatches, first at {} (tensor {}, vec {})",
        mismatches.len(),
        mismatches[0],
        got[mismatches[0]],
        expected[mismatches[0]]
    );
    // Not all zeros: the backend really wrote something.
    assert!(got.iter().any(|&x| x != 0.0));
    if policy.output.layout == Layout::Nhwc {
        assert_eq!(tensor.size()[3], 3);
    }
}

#[test]
fn cpu_backend_fills_f32_nchw_tensor_in_place() {
    check("f32", "nchw");
}

#[test]
fn cpu_backend_fills_f32_nhwc_tensor_in_place() {
    check("f32", "nhwc");
}

#[test]
fn cpu_backend_fills_f16_and_bf16_tensors_in_place() {
    check("f16", "nchw");
    check("bf16", "nhwc");
}

#[test]
fn refuses_tensors_that_do_not_fit() {
    let policy = policy("f32", "nchw");
    let data = dataset();
    let mut backend = CpuBackend::new(&policy, 1, data, (0..11).collect()).unwrap();
    let step = Step {
        epoch: 0,
        first_position: 0,
        batch_size: 4,
    };
    let mut labels = vec![MixLabel::default(); 4];
    let wrong_kind = Tensor::empty([4, 3, 5, 7], (tch::Kind::Half, Device::Cpu));
    let wrong_size = Tensor::empty([3, 3, 5, 7], (tch::Kind::Float, Device::Cpu));
    let strided = Tensor::empty([4, 3, 7, 5], (tch::Kind::Float, Device::Cpu)).transpose(2, 3);
    for (mut t, what) in [
        (wrong_kind, "Half"),
        (wrong_size, "elements"),
        (strided, "contiguous"),
    ] {
        let e = augment_into_tensor(&mut backend, step, &mut t, &mut labels)
            .unwrap_err()
            .to_string();
        assert!(e.contains(what), "{e}");
    }
}
