//! Model shapes: forward and backward on 28×28×1 and 32×32×3 inputs, odd
//! batch sizes, every parameter gets a gradient; initialisation as PyTorch's
//! (bounds and spread per layer, and the simple CNN bit for bit against the
//! torch venv's PyTorch).
//! Run: `cargo test -p augkit-harness --test models`.

use std::path::Path;

use augkit_harness::models::{self, InputShape, ModelKind};
use tch::nn::{self, OptimizerConfig};
use tch::{Device, Kind, Tensor};

/// libtorch's generator is global and tests run in parallel threads: every
/// seeded build holds this lock.
static SEEDED: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn forward_backward(kind: ModelKind, channels: i64, side: i64, batch: i64, classes: i64) {
    let _seeded = SEEDED.lock().unwrap_or_else(|e| e.into_inner());
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

// --- initialisation: PyTorch's, measured on the created tensors ---------------

fn built(kind: ModelKind, channels: i64, side: i64, seed: i64) -> nn::VarStore {
    let _seeded = SEEDED.lock().unwrap_or_else(|e| e.into_inner());
    tch::manual_seed(seed);
    let vs = nn::VarStore::new(Device::Cpu);
    let shape = InputShape {
        channels,
        height: side,
        width: side,
    };
    models::build(&vs.root(), kind, shape, 10).unwrap();
    vs
}

fn values(t: &Tensor) -> Vec<f32> {
    Vec::try_from(&t.flatten(0, -1)).unwrap()
}

/// Largest |x| and the standard deviation of `xs`.
fn spread(xs: &[f32]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().map(|&x| f64::from(x)).sum::<f64>() / n;
    let var = xs
        .iter()
        .map(|&x| (f64::from(x) - mean).powi(2))
        .sum::<f64>()
        / n;
    let max = xs.iter().map(|x| f64::from(x.abs())).fold(0.0, f64::max);
    (max, var.sqrt())
}

/// `nn.Conv2d` / `nn.Linear` defaults: weight and bias U(±1/√fan_in) — so
/// every value within the bound, the largest near it, std = bound/√3.
#[test]
fn simple_cnn_has_pytorch_default_init() {
    let vs = built(ModelKind::SimpleCnn, 1, 28, 11);
    let vars = vs.variables();
    for (layer, fan_in) in [
        ("conv1", 9i64),
        ("conv2", 32 * 9),
        ("fc1", 64 * 12 * 12),
        ("fc2", 128),
    ] {
        let bound = 1.0 / (fan_in as f64).sqrt();
        for part in ["weight", "bias"] {
            let xs = values(&vars[&format!("{layer}.{part}")]);
            let (max, std) = spread(&xs);
            assert!(
                max <= bound,
                "{layer}.{part}: |x| up to {max}, bound {bound}"
            );
            // A uniform sample of n values reaches within bound·(1 − 5/n).
            let near = bound * (1.0 - 5.0 / xs.len() as f64).max(0.5);
            assert!(
                max >= near,
                "{layer}.{part}: |x| only up to {max}, bound {bound}"
            );
            if xs.len() >= 256 {
                let want = bound / 3f64.sqrt();
                let rel = (std / want - 1.0).abs();
                assert!(rel < 0.1, "{layer}.{part}: std {std}, U(±b) has {want}");
            }
        }
    }
}

/// torchvision's resnet18: convolutions N(0, 2/fan_out), BatchNorm γ = 1,
/// β = 0 (running mean 0, var 1), the linear layer U(±1/√512).
#[test]
fn resnet18_has_torchvision_init() {
    let vs = built(ModelKind::Resnet18, 3, 32, 5);
    let mut convs = 0;
    let mut norms = 0;
    for (name, t) in vs.variables() {
        let size = t.size();
        let xs = values(&t);
        if name.ends_with(".weight") && size.len() == 4 {
            let fan_out = size[0] * size[2] * size[3];
            let want = (2.0 / fan_out as f64).sqrt();
            let (_, std) = spread(&xs);
            // The smallest (the stem, 1,728 values) estimates std within ≈ 2 %.
            assert!(
                (std / want - 1.0).abs() < 0.08,
                "{name}: std {std}, want {want}"
            );
            convs += 1;
        } else if name.contains("bn.") || name.contains("bn1.") || name.contains("bn2.") {
            let want = if name.ends_with(".weight") || name.ends_with(".running_var") {
                1.0
            } else {
                0.0
            };
            assert!(xs.iter().all(|&x| x == want), "{name}: not all {want}");
            norms += 1;
        } else if name.starts_with("fc.") {
            let bound = 1.0 / 512f64.sqrt();
            let (max, _) = spread(&xs);
            let near = bound * (1.0 - 5.0 / xs.len() as f64).max(0.5);
            assert!(max <= bound && max >= near, "{name}: |x| up to {max}");
        }
    }
    // 1 stem + 16 block + 3 shortcut convolutions; 20 norms × (γ, β, mean, var).
    assert_eq!(convs, 20);
    assert!(norms >= 40, "{norms} BatchNorm tensors checked");
}

/// The torch venv's Python (`AUGKIT_TORCH_VENV`, default `~/.cache/augkit/venv`).
fn torch_python() -> Option<std::path::PathBuf> {
    let venv = std::env::var_os("AUGKIT_TORCH_VENV")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/augkit/venv")))?;
    let python = venv.join("bin/python");
    python.is_file().then_some(python)
}

/// With the same `manual_seed`, the simple CNN's initial weights equal those
/// of the same model written in PyTorch (scripts/pytorch), bit for bit.
#[test]
fn simple_cnn_init_equals_pytorch() {
    let Some(python) = torch_python() else {
        let reason = "no torch venv (run scripts/setup-torch or set AUGKIT_TORCH_VENV)";
        assert!(
            std::env::var("AUGKIT_REQUIRE_TORCH").as_deref() != Ok("1"),
            "AUGKIT_REQUIRE_TORCH=1 but {reason}"
        );
        eprintln!("skipped simple_cnn_init_equals_pytorch: {reason}");
        return;
    };
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/pytorch/check_against_pytorch.py");
    for (seed, channels, side) in [(0i64, 1i64, 28i64), (7, 3, 32)] {
        let vs = built(ModelKind::SimpleCnn, channels, side, seed);
        let vars = vs.variables();
        let mut bytes = Vec::new();
        for layer in ["conv1", "conv2", "fc1", "fc2"] {
            for part in ["weight", "bias"] {
                for x in values(&vars[&format!("{layer}.{part}")]) {
                    bytes.extend_from_slice(&x.to_le_bytes());
                }
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("init.f32");
        std::fs::write(&file, &bytes).unwrap();
        let out = std::process::Command::new(&python)
            .arg(&script)
            .arg("--init-check")
            .arg(&file)
            .args(["--seed", &seed.to_string()])
            .args(["--shape", &format!("{channels},{side},{side}")])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "seed {seed}: {text}");
        assert_eq!(text.matches("init-check: ").count(), 8, "{text}");
        assert!(!text.contains("DIFFERENT"), "{text}");
    }
}
