//! Model shapes: forward and backward on 28×28×1 and 32×32×3 inputs, odd
//! batch sizes, every parameter gets a gradient.
//! Run: `cargo test -p augkit-harness --test models`.

use augkit_harness::models::{self, InputShape, ModelKind};
use tch::nn::{self, OptimizerConfig};
use tch::{Device, Kind, Tensor};

fn forward_backward(kind: ModelKind, channels: i64, side: i64, batch: i64, classes: i64) {
    tch::manual_seed(3);
    let vs = nn::VarStore::new(Device::Cpu);
    let shape = InputShape {
        channels,
        height: side,
        width: side,
    };
    let model = models::build(&vs.root(), kind, shape, classes).unwrap();
    let xs = Tensor::randn([batch, channels, side, side], (Kind::Float, Device::Cpu));
    let logits = model.forward_t(&xs, true);
    assert_eq!(
        logits.size(),
        vec![batch, classes],
        "{kind:?} on {channels}×{side}×{side}"
    );
    let labels = Tensor::from_slice(&(0..batch).map(|i| i % classes).collect::<Vec<i64>>());
    let loss = logits.cross_entropy_for_logits(&labels);
    let mut opt = nn::Sgd::default().build(&vs, 0.01).unwrap();
    opt.zero_grad();
    loss.backward();
    for (name, var) in vs
        .variables()
        .into_iter()
        .filter(|(_, v)| v.requires_grad())
    {
        let grad = var.grad();
        assert!(grad.defined(), "{kind:?}: {name} got no gradient");
        assert!(
            bool::try_from(grad.isfinite().all()).unwrap(),
            "{kind:?}: {name} has a non-finite gradient"
        );
    }
    let eval = tch::no_grad(|| model.forward_t(&xs, false));
    assert_eq!(eval.size(), vec![batch, classes]);
}

#[test]
fn simple_cnn_shapes() {
    forward_backward(ModelKind::SimpleCnn, 1, 28, 5, 10);
    forward_backward(ModelKind::SimpleCnn, 3, 32, 3, 7);
}

#[test]
fn resnet18_shapes() {
    forward_backward(ModelKind::Resnet18, 3, 32, 3, 10);
    forward_backward(ModelKind::Resnet18, 1, 28, 2, 10);
}

#[test]
fn resnet18_has_the_cifar_parameter_count() {
    let vs = nn::VarStore::new(Device::Cpu);
    let shape = InputShape {
        channels: 3,
        height: 32,
        width: 32,
    };
    models::build(&vs.root(), ModelKind::Resnet18, shape, 10).unwrap();
    // torchvision-style CIFAR ResNet-18: 11,173,962 trainable parameters.
    assert_eq!(models::parameter_count(&vs), 11_173_962);
}

#[test]
fn refuses_inputs_too_small() {
    let vs = nn::VarStore::new(Device::Cpu);
    let tiny = InputShape {
        channels: 1,
        height: 4,
        width: 28,
    };
    let e = models::build(&vs.root(), ModelKind::SimpleCnn, tiny, 10)
        .unwrap_err()
        .to_string();
    assert!(e.contains("4×28"), "{e}");
}
