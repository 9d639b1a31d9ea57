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
//! Both take NCHW f32 input (any strides) and return logits [N, classes].

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

// --- simple CNN -------------------------------------------------------------

/// conv32 · conv64 · pool · dropout 0.25 · fc128 · dropout 0.5 · fc(classes).
pub fn simple_cnn(vs: &nn::Path, shape: InputShape, num_classes: i64) -> impl ModuleT + use<> {
    let conv1 = nn::conv2d(vs / "conv1", shape.channels, 32, 3, Default::default());
    let conv2 = nn::conv2d(vs / "conv2", 32, 64, 3, Default::default());
    let flat = 64 * ((shape.height - 4) / 2) * ((shape.width - 4) / 2);
    let fc1 = nn::linear(vs / "fc1", flat, 128, Default::default());
    let fc2 = nn::linear(vs / "fc2", 128, num_classes, Default::default());
    nn::func_t(move |xs, train| {
        xs.apply(&conv1)
            .relu()
            .apply(&conv2)
            .relu()
            .max_pool2d_default(2)
            .dropout(0.25, train)
            .flat_view()
            .apply(&fc1)
            .relu()
            .dropout(0.5, train)
            .apply(&fc2)
    })
}

// --- ResNet-18 (CIFAR form) -------------------------------------------------

fn conv3x3(vs: nn::Path, c_in: i64, c_out: i64, stride: i64) -> nn::Conv2D {
    let config = nn::ConvConfig {
        stride,
        padding: 1,
        bias: false,
        ..Default::default()
    };
    nn::conv2d(vs, c_in, c_out, 3, config)
}

fn conv1x1(vs: nn::Path, c_in: i64, c_out: i64, stride: i64) -> nn::Conv2D {
    let config = nn::ConvConfig {
        stride,
        bias: false,
        ..Default::default()
    };
    nn::conv2d(vs, c_in, c_out, 1, config)
}

/// Basic block: conv3×3-BN-ReLU-conv3×3-BN, plus the identity (or a
/// 1×1 conv + BN projection when the stride or width changes), then ReLU.
fn basic_block(vs: nn::Path, c_in: i64, c_out: i64, stride: i64) -> impl ModuleT + use<> {
    let conv1 = conv3x3(&vs / "conv1", c_in, c_out, stride);
    let bn1 = nn::batch_norm2d(&vs / "bn1", c_out, Default::default());
    let conv2 = conv3x3(&vs / "conv2", c_out, c_out, 1);
    let bn2 = nn::batch_norm2d(&vs / "bn2", c_out, Default::default());
    let shortcut = (stride != 1 || c_in != c_out).then(|| {
        (
            conv1x1(&vs / "shortcut" / "conv", c_in, c_out, stride),
            nn::batch_norm2d(&vs / "shortcut" / "bn", c_out, Default::default()),
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
    let stem_bn = nn::batch_norm2d(vs / "stem" / "bn", 64, Default::default());
    let layers = nn::seq_t()
        .add(stage(vs / "layer1", 64, 64, 1, 2))
        .add(stage(vs / "layer2", 64, 128, 2, 2))
        .add(stage(vs / "layer3", 128, 256, 2, 2))
        .add(stage(vs / "layer4", 256, 512, 2, 2));
    let fc = nn::linear(vs / "fc", 512, num_classes, Default::default());
    nn::func_t(move |xs, train| {
        xs.apply(&stem)
            .apply_t(&stem_bn, train)
            .relu()
            .apply_t(&layers, train)
            .adaptive_avg_pool2d([1, 1])
            .flat_view()
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
