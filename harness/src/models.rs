//! The two models the harness trains, written with `tch::nn` in the style of
//! tch-rs's `examples/cifar`.
//!
//! - [`resnet18`]: ResNet-18 in its CIFAR form — a 3×3 stride-1 stem with no
//!   max-pool, BatchNorm after every convolution, four stages of two basic
//!   blocks ([2, 2, 2, 2]) with 64-128-256-512 channels (stages 2–4 halve the
//!   resolution), global average pooling and one linear layer. 11.2 M
//!   parameters for 10 classes. On CIFAR-10 with crop + flip it reaches
//!   ≈ 93–95 % in 50 epochs on a GPU; on 2 CPU threads one batch of 64 costs
//!   ≈ 0.95 s, so CPU runs must use small subsets.
//! - [`simple_cnn`]: the Keras MNIST CNN, for (Fashion-)MNIST-sized inputs —
//!   conv 3×3 → 32 (valid) · ReLU · conv 3×3 → 64 (valid) · ReLU ·
//!   max-pool 2 · dropout 0.25 · flatten · linear → 128 · ReLU · dropout 0.5 ·
//!   linear → classes. 1.2 M parameters at 28×28×1; ≈ 91–92 % on
//!   Fashion-MNIST without augmentation.
//!
//! Both take NCHW f32 input (any strides: the permuted view of an NHWC batch
//! too) and return logits [N, classes].
//!
//! Initialisation is PyTorch's, not tch's defaults (tch draws weights with the
//! ReLU gain, a bound √6× wider than `nn.Conv2d`'s, zeroes conv biases and
//! draws BatchNorm γ from U(0, 1)), so a run starts where the same model
//! written in PyTorch starts:
//! - the simple CNN uses `nn.Conv2d` / `nn.Linear`'s `reset_parameters`:
//!   weight `kaiming_uniform_(a=√5)`, i.e. U(±1/√fan_in), then bias
//!   U(±1/√fan_in), drawn layer by layer in that order — with the same
//!   `manual_seed` the weights equal PyTorch's bit for bit;
//! - ResNet-18 follows torchvision's `resnet18`: every convolution
//!   `kaiming_normal_(mode="fan_out", nonlinearity="relu")`, i.e.
//!   N(0, 2/fan_out); BatchNorm γ = 1, β = 0, momentum 0.1, ε = 1e-5; the
//!   final linear layer with `nn.Linear`'s default.
//!
//! `cargo test -p augkit-harness --test models` measures each layer's bounds
//! and spread, and compares the simple CNN with PyTorch's (torch venv).

use serde::{Deserialize, Serialize};
use tch::Tensor;
use tch::nn::{self, ModuleT};

/// Which model to train (`--model`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum ModelKind {
    #[value(name = "resnet18")]
    #[serde(rename = "resnet18")]
    Resnet18,
    SimpleCnn,
}

impl ModelKind {
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Resnet18 => "resnet18",
            ModelKind::SimpleCnn => "simple-cnn",
        }
    }
}

/// Input shape a model is built for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InputShape {
    pub channels: i64,
    pub height: i64,
    pub width: i64,
}

/// A built model: the module and what it was built for.
pub struct Model {
    pub kind: ModelKind,
    pub net: Box<dyn ModuleT>,
    pub num_classes: i64,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("kind", &self.kind)
            .field("num_classes", &self.num_classes)
            .finish_non_exhaustive()
    }
}

impl Model {
    pub fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        self.net.forward_t(xs, train)
    }
}

/// Why a model cannot be built for an input.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("model {model} needs images of at least {min}×{min} pixels, got {height}×{width}")]
    TooSmall {
        model: &'static str,
        min: i64,
        height: i64,
        width: i64,
    },
    #[error(
        "model {model} needs at least 2 classes and 1 channel, got {classes} classes and {channels} channels"
    )]
    Degenerate {
        model: &'static str,
        classes: i64,
        channels: i64,
    },
}

/// Builds `kind` under `vs` for inputs of `shape` and `num_classes` outputs.
pub fn build(
    vs: &nn::Path,
    kind: ModelKind,
    shape: InputShape,
    num_classes: i64,
) -> Result<Model, ModelError> {
    if num_classes < 2 || shape.channels < 1 {
        return Err(ModelError::Degenerate {
            model: kind.name(),
            classes: num_classes,
            channels: shape.channels,
        });
    }
    let net: Box<dyn ModuleT> = match kind {
        ModelKind::Resnet18 => {
            // Three stride-2 stages: 8×8 → 1×1 still works; below that the
            // last stage sees nothing.
            check_min(kind, shape, 8)?;
            Box::new(resnet18(vs, shape.channels, num_classes))
        }
        ModelKind::SimpleCnn => {
            // Two valid 3×3 convolutions and a 2×2 pool.
            check_min(kind, shape, 6)?;
            Box::new(simple_cnn(vs, shape, num_classes))
        }
    };
    Ok(Model {
        kind,
        net,
        num_classes,
    })
}

fn check_min(kind: ModelKind, shape: InputShape, min: i64) -> Result<(), ModelError> {
    if shape.height < min || shape.width < min {
        return Err(ModelError::TooSmall {
            model: kind.name(),
            min,
            height: shape.height,
            width: shape.width,
        });
    }
    Ok(())
}

// --- PyTorch's initialisation -----------------------------------------------

/// `fan_in` of a weight [out, in, k…] as PyTorch computes it: in × Πk.
fn fan_in(weight: &Tensor) -> i64 {
    weight.size().iter().skip(1).product()
}

/// `fan_out` of a weight [out, in, k…]: out × Πk.
fn fan_out(weight: &Tensor) -> i64 {
    let dims = weight.size();
    dims[0] * dims.iter().skip(2).product::<i64>()
}

/// `reset_parameters` of `nn.Conv2d` / `nn.Linear`: the weight from
/// `kaiming_uniform_(a=√5)` — gain √(2/(1+5)), bound √3·gain/√fan_in =
/// 1/√fan_in — then the bias from U(±1/√fan_in), in that order.
fn torch_default_init(weight: &Tensor, bias: Option<&Tensor>) {
    let bound = 1.0 / (fan_in(weight) as f64).sqrt();
    tch::no_grad(|| {
        let _ = weight.shallow_clone().uniform_(-bound, bound);
        if let Some(bias) = bias {
            let _ = bias.shallow_clone().uniform_(-bound, bound);
        }
    });
}

/// torchvision ResNet's `kaiming_normal_(mode="fan_out",
/// nonlinearity="relu")`: N(0, (√2/√fan_out)²).
fn kaiming_normal_fan_out(weight: &Tensor) {
    let std = 2f64.sqrt() / (fan_out(weight) as f64).sqrt();
    tch::no_grad(|| {
        let _ = weight.shallow_clone().normal_(0.0, std);
    });
}

/// Layers are created with constant (zero) tensors, so that no random draw
/// happens in tch's order (bias before weight); the init functions above then
/// draw in PyTorch's.
const ZERO: nn::Init = nn::Init::Const(0.0);

fn conv_config(stride: i64, padding: i64, bias: bool) -> nn::ConvConfig {
    nn::ConvConfig {
        stride,
        padding,
        bias,
        ws_init: ZERO,
        bs_init: ZERO,
        ..Default::default()
    }
}

/// `nn.Linear(c_in, c_out)` initialised as PyTorch does.
fn torch_linear(vs: nn::Path, c_in: i64, c_out: i64) -> nn::Linear {
    let config = nn::LinearConfig {
        ws_init: ZERO,
        bs_init: Some(ZERO),
        bias: true,
    };
    let linear = nn::linear(vs, c_in, c_out, config);
    torch_default_init(&linear.ws, linear.bs.as_ref());
    linear
}

/// `nn.Conv2d(c_in, c_out, k)` (valid, stride 1, with bias) initialised as
/// PyTorch does.
fn torch_conv(vs: nn::Path, c_in: i64, c_out: i64, k: i64) -> nn::Conv2D {
    let conv = nn::conv2d(vs, c_in, c_out, k, conv_config(1, 0, true));
    torch_default_init(&conv.ws, conv.bs.as_ref());
    conv
}

/// `nn.BatchNorm2d(c)`: γ = 1, β = 0, momentum 0.1, ε = 1e-5 (tch's
/// default draws γ from U(0, 1)).
fn torch_batch_norm(vs: nn::Path, c: i64) -> nn::BatchNorm {
    let config = nn::BatchNormConfig {
        momentum: 0.1,
        eps: 1e-5,
        ws_init: nn::Init::Const(1.0),
        bs_init: nn::Init::Const(0.0),
        ..Default::default()
    };
    nn::batch_norm2d(vs, c, config)
}

// --- simple CNN -------------------------------------------------------------

/// conv32 · conv64 · pool · dropout 0.25 · fc128 · dropout 0.5 · fc(classes).
pub fn simple_cnn(vs: &nn::Path, shape: InputShape, num_classes: i64) -> impl ModuleT + use<> {
    // Created (and drawn) in the order of the PyTorch module's layers.
    let conv1 = torch_conv(vs / "conv1", shape.channels, 32, 3);
    let conv2 = torch_conv(vs / "conv2", 32, 64, 3);
    let flat = 64 * ((shape.height - 4) / 2) * ((shape.width - 4) / 2);
    let fc1 = torch_linear(vs / "fc1", flat, 128);
    let fc2 = torch_linear(vs / "fc2", 128, num_classes);
    nn::func_t(move |xs, train| {
        xs.apply(&conv1)
            .relu()
            .apply(&conv2)
            .relu()
            .max_pool2d_default(2)
            .dropout(0.25, train)
            // Not `flat_view`: a channels-last batch (an `nhwc` policy)
            // leaves the activations non-contiguous, which `view` refuses.
            .flatten(1, -1)
            .apply(&fc1)
            .relu()
            .dropout(0.5, train)
            .apply(&fc2)
    })
}

// --- ResNet-18 (CIFAR form) -------------------------------------------------

/// Bias-free 3×3 convolution (padding 1), torchvision's ResNet init.
fn conv3x3(vs: nn::Path, c_in: i64, c_out: i64, stride: i64) -> nn::Conv2D {
    let conv = nn::conv2d(vs, c_in, c_out, 3, conv_config(stride, 1, false));
    kaiming_normal_fan_out(&conv.ws);
    conv
}

/// Bias-free 1×1 convolution (the projection shortcut), same init.
fn conv1x1(vs: nn::Path, c_in: i64, c_out: i64, stride: i64) -> nn::Conv2D {
    let conv = nn::conv2d(vs, c_in, c_out, 1, conv_config(stride, 0, false));
    kaiming_normal_fan_out(&conv.ws);
    conv
}

/// Basic block: conv3×3-BN-ReLU-conv3×3-BN, plus the identity (or a
/// 1×1 conv + BN projection when the stride or width changes), then ReLU.
fn basic_block(vs: nn::Path, c_in: i64, c_out: i64, stride: i64) -> impl ModuleT + use<> {
    let conv1 = conv3x3(&vs / "conv1", c_in, c_out, stride);
    let bn1 = torch_batch_norm(&vs / "bn1", c_out);
    let conv2 = conv3x3(&vs / "conv2", c_out, c_out, 1);
    let bn2 = torch_batch_norm(&vs / "bn2", c_out);
    let shortcut = (stride != 1 || c_in != c_out).then(|| {
        (
            conv1x1(&vs / "shortcut" / "conv", c_in, c_out, stride),
            torch_batch_norm(&vs / "shortcut" / "bn", c_out),
        )
    });
    nn::func_t(move |xs, train| {
        let ys = xs
            .apply(&conv1)
            .apply_t(&bn1, train)
            .relu()
            .apply(&conv2)
            .apply_t(&bn2, train);
        let identity = match &shortcut {
            Some((conv, bn)) => xs.apply(conv).apply_t(bn, train),
            None => xs.shallow_clone(),
        };
        (ys + identity).relu()
    })
}

fn stage(vs: nn::Path, c_in: i64, c_out: i64, stride: i64, blocks: usize) -> nn::SequentialT {
    let mut seq = nn::seq_t();
    for i in 0..blocks {
        let (c, s) = if i == 0 { (c_in, stride) } else { (c_out, 1) };
        seq = seq.add(basic_block(&vs / i, c, c_out, s));
    }
    seq
}

/// ResNet-18, CIFAR form: 3×3 stem (no max-pool), [2, 2, 2, 2] basic blocks.
pub fn resnet18(vs: &nn::Path, channels: i64, num_classes: i64) -> impl ModuleT + use<> {
    let stem = conv3x3(vs / "stem" / "conv", channels, 64, 1);
    let stem_bn = torch_batch_norm(vs / "stem" / "bn", 64);
    let layers = nn::seq_t()
        .add(stage(vs / "layer1", 64, 64, 1, 2))
        .add(stage(vs / "layer2", 64, 128, 2, 2))
        .add(stage(vs / "layer3", 128, 256, 2, 2))
        .add(stage(vs / "layer4", 256, 512, 2, 2));
    let fc = torch_linear(vs / "fc", 512, num_classes);
    nn::func_t(move |xs, train| {
        xs.apply(&stem)
            .apply_t(&stem_bn, train)
            .relu()
            .apply_t(&layers, train)
            .adaptive_avg_pool2d([1, 1])
            .flatten(1, -1)
            .apply(&fc)
    })
}

/// Number of trainable scalars in a var store.
pub fn parameter_count(vs: &nn::VarStore) -> i64 {
    vs.trainable_variables()
        .iter()
        .map(Tensor::numel)
        .map(|n| n as i64)
        .sum()
}
