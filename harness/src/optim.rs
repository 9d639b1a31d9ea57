//! Adam and SGD written over the `VarStore`'s tensors, so their state (the
//! moments, the momentum buffers, the step count) can be saved in a
//! checkpoint and restored — tch 0.24's `nn::Optimizer` keeps its state
//! inside libtorch with no way to read it out.
//!
//! The updates are libtorch's own (`torch/csrc/api/src/optim/{adam,sgd}.cpp`),
//! op for op, so a run trains as it did with `nn::Adam` / `nn::Sgd`:
//!
//! - Adam, coupled L2 (`Adam(weight_decay=…)`): `g ← g + wd·p`;
//!   `m ← β1·m + (1−β1)·g`; `v ← β2·v + (1−β2)·g²`;
//!   `p ← p − lr/(1−β1^t) · m / (√v/√(1−β2^t) + ε)`.
//! - SGD: `g ← g + wd·p`; `b ← g` at the first step, else
//!   `b ← μ·b + g` (dampening 0); `p ← p − lr·b` (no Nesterov).
//!
//! `cargo test -p augkit-harness --lib optim` compares both with tch's for
//! several steps.

use std::path::Path;

use tch::{Tensor, nn};

use crate::config::OptimizerKind;

/// Adam's β1, β2 and ε (PyTorch's defaults).
pub const ADAM_BETAS: (f64, f64) = (0.9, 0.999);
pub const ADAM_EPS: f64 = 1e-8;

/// An optimiser over a var store's trainable tensors whose state can be
/// saved and loaded.
pub struct Optimizer {
    kind: OptimizerKind,
    params: Vec<Tensor>,
    lr: f64,
    weight_decay: f64,
    momentum: f64,
    /// Steps taken (Adam's `t`; SGD: whether the buffers are initialised).
    step: u64,
    /// Adam: first moments; SGD: momentum buffers.
    first: Vec<Tensor>,
    /// Adam: second moments (empty for SGD).
    second: Vec<Tensor>,
}

impl Optimizer {
    /// An optimiser over `vs`'s trainable variables (in creation order).
    pub fn new(
        kind: OptimizerKind,
        vs: &nn::VarStore,
        lr: f64,
        weight_decay: f64,
        momentum: f64,
    ) -> Self {
        let params = vs.trainable_variables();
        let zeros = |ps: &[Tensor]| ps.iter().map(Tensor::zeros_like).collect::<Vec<_>>();
        let first = zeros(&params);
        let second = match kind {
            OptimizerKind::Adam => zeros(&params),
            OptimizerKind::Sgd => Vec::new(),
        };
        Self {
            kind,
            params,
            lr,
            weight_decay,
            momentum,
            step: 0,
            first,
            second,
        }
    }

    pub fn set_lr(&mut self, lr: f64) {
        self.lr = lr;
    }

    /// Steps taken so far.
    pub fn steps(&self) -> u64 {
        self.step
    }

    /// Zeroes the gradients, back-propagates `loss` and takes one step.
    pub fn backward_step(&mut self, loss: &Tensor) {
        for p in &mut self.params {
            p.zero_grad();
        }
        loss.backward();
        self.step();
    }

    /// One update from the gradients as they stand.
    pub fn step(&mut self) {
        let _guard = tch::no_grad_guard();
        self.step += 1;
        let t = self.step as f64;
        for (i, p) in self.params.iter_mut().enumerate() {
            let grad = p.grad();
            if !grad.defined() {
                continue;
            }
            let grad = if self.weight_decay != 0.0 {
                grad.g_add(&(&*p * self.weight_decay))
            } else {
                grad
            };
            match self.kind {
                OptimizerKind::Adam => {
                    let (b1, b2) = ADAM_BETAS;
                    let bias1 = 1.0 - b1.powf(t);
                    let bias2 = 1.0 - b2.powf(t);
                    let m = &mut self.first[i];
                    let _ = m.g_mul_scalar_(b1).g_add_(&(&grad * (1.0 - b1)));
                    let v = &mut self.second[i];
                    let _ = v.g_mul_scalar_(b2).g_add_(&(&grad * &grad * (1.0 - b2)));
                    let denom = (v.sqrt() / bias2.sqrt()) + ADAM_EPS;
                    let step_size = self.lr / bias1;
                    let _ = p.g_add_(&(m.g_div(&denom) * (-step_size)));
                }
                OptimizerKind::Sgd => {
                    let buf = &mut self.first[i];
                    if self.momentum != 0.0 {
                        if self.step == 1 {
                            buf.copy_(&grad);
                        } else {
                            let _ = buf.g_mul_scalar_(self.momentum).g_add_(&grad);
                        }
                        let _ = p.g_add_(&(&*buf * (-self.lr)));
                    } else {
                        let _ = p.g_add_(&(&grad * (-self.lr)));
                    }
                }
            }
        }
    }

    /// The state (moments/buffers and the step count) in libtorch's archive
    /// format, serialised in memory (see [`crate::checkpoint`] for why).
    pub fn to_bytes(&self) -> Result<Vec<u8>, tch::TchError> {
        let mut named: Vec<(String, Tensor)> =
            vec![("step".into(), Tensor::f_from_slice(&[self.step as i64])?)];
        for (i, m) in self.first.iter().enumerate() {
            named.push((format!("first.{i}"), m.shallow_clone()));
        }
        for (i, v) in self.second.iter().enumerate() {
            named.push((format!("second.{i}"), v.shallow_clone()));
        }
        crate::archive::tensors_to_bytes(&named)
    }

    /// Writes [`Optimizer::to_bytes`] to `path` atomically.
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        crate::atomic::write_atomic(path, &self.to_bytes()?)?;
        Ok(())
    }

    /// Restores the state [`Optimizer::save`] wrote, checking every shape.
    pub fn load(&mut self, path: &Path) -> anyhow::Result<()> {
        let loaded = Tensor::load_multi(path)?;
        let device = self.params.first().map(Tensor::device);
        let mut step = None;
        let mut seen = 0usize;
        for (name, tensor) in loaded {
            if name == "step" {
                step = Some(tensor.f_int64_value(&[0])? as u64);
                continue;
            }
            let (group, index) = name
                .split_once('.')
                .ok_or_else(|| anyhow::anyhow!("{}: unexpected entry {name}", path.display()))?;
            let index: usize = index.parse()?;
            let slot = match group {
                "first" => self.first.get_mut(index),
                "second" => self.second.get_mut(index),
                _ => None,
            }
            .ok_or_else(|| anyhow::anyhow!("{}: unexpected entry {name}", path.display()))?;
            anyhow::ensure!(
                slot.size() == tensor.size(),
                "{}: {name} has shape {:?}, the model's {:?}",
                path.display(),
                tensor.size(),
                slot.size()
            );
            // Fallible calls: a damaged file is an error, not a panic.
            let tensor = match device {
                Some(d) => tensor.f_to_device(d)?,
                None => tensor,
            };
            tch::no_grad(|| slot.f_copy_(&tensor))?;
            seen += 1;
        }
        anyhow::ensure!(
            seen == self.first.len() + self.second.len(),
            "{}: holds {seen} state tensors, the optimiser has {}",
            path.display(),
            self.first.len() + self.second.len()
        );
        self.step = step.ok_or_else(|| anyhow::anyhow!("{}: no step count", path.display()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::nn::{Module, OptimizerConfig};
    use tch::{Device, Kind};

    fn model(vs: &nn::VarStore) -> nn::Sequential {
        let root = vs.root();
        nn::seq()
            .add(nn::linear(&root / "a", 7, 5, Default::default()))
            .add_fn(|x| x.tanh())
            .add(nn::linear(&root / "b", 5, 3, Default::default()))
    }

    /// Trains the same small model with ours and with tch's for `steps`
    /// steps (varying lr) and returns the largest |Δ| of any parameter.
    fn max_delta(kind: OptimizerKind, wd: f64, steps: usize) -> f64 {
        tch::manual_seed(3);
        let xs = Tensor::randn([11, 7], (Kind::Float, Device::Cpu));
        let ys = Tensor::randn([11, 3], (Kind::Float, Device::Cpu));
        let build = || {
            tch::manual_seed(5);
            let vs = nn::VarStore::new(Device::Cpu);
            let m = model(&vs);
            (vs, m)
        };
        let (vs_a, m_a) = build();
        let (mut vs_b, m_b) = build();
        // Tests run in parallel threads and libtorch's generator is global:
        // start both from the same weights whatever another test drew.
        vs_b.copy(&vs_a).unwrap();
        let mut ours = Optimizer::new(kind, &vs_a, 1e-2, wd, 0.9);
        let mut theirs = match kind {
            OptimizerKind::Adam => nn::Adam {
                wd,
                ..Default::default()
            }
            .build(&vs_b, 1e-2)
            .unwrap(),
            OptimizerKind::Sgd => nn::Sgd {
                momentum: 0.9,
                dampening: 0.0,
                wd,
                nesterov: false,
            }
            .build(&vs_b, 1e-2)
            .unwrap(),
        };
        for s in 0..steps {
            let lr = 1e-2 * (1.0 + s as f64) / steps as f64;
            ours.set_lr(lr);
            theirs.set_lr(lr);
            ours.backward_step(&(m_a.forward(&xs) - &ys).square().mean(Kind::Float));
            theirs.backward_step(&(m_b.forward(&xs) - &ys).square().mean(Kind::Float));
        }
        let (a, b) = (vs_a.variables(), vs_b.variables());
        a.iter()
            .map(|(name, t)| (t - &b[name]).abs().max().double_value(&[]))
            .fold(0.0, f64::max)
    }

    #[test]
    fn adam_matches_tch() {
        for wd in [0.0, 1e-2] {
            let d = max_delta(OptimizerKind::Adam, wd, 12);
            assert!(d <= 1e-6, "wd {wd}: max |Δ| {d}");
        }
    }

    #[test]
    fn sgd_matches_tch() {
        for wd in [0.0, 1e-2] {
            let d = max_delta(OptimizerKind::Sgd, wd, 12);
            assert!(d <= 1e-6, "wd {wd}: max |Δ| {d}");
        }
    }

    /// Saving after k steps and loading into a fresh optimiser continues
    /// exactly as the uninterrupted one.
    #[test]
    fn save_and_load_continue_exactly() {
        let dir = tempfile::tempdir().unwrap();
        tch::manual_seed(3);
        let xs = Tensor::randn([9, 7], (Kind::Float, Device::Cpu));
        let ys = Tensor::randn([9, 3], (Kind::Float, Device::Cpu));
        let loss = |m: &nn::Sequential| (m.forward(&xs) - &ys).square().mean(Kind::Float);
        for kind in [OptimizerKind::Adam, OptimizerKind::Sgd] {
            tch::manual_seed(5);
            let vs_a = nn::VarStore::new(Device::Cpu);
            let m_a = model(&vs_a);
            let mut a = Optimizer::new(kind, &vs_a, 1e-2, 1e-3, 0.9);
            for _ in 0..4 {
                a.backward_step(&loss(&m_a));
            }
            vs_a.save(dir.path().join("m.ot")).unwrap();
            a.save(&dir.path().join("o.ot")).unwrap();
            for _ in 0..3 {
                a.backward_step(&loss(&m_a));
            }

            tch::manual_seed(99);
            let mut vs_b = nn::VarStore::new(Device::Cpu);
            let m_b = model(&vs_b);
            let mut b = Optimizer::new(kind, &vs_b, 1e-2, 1e-3, 0.9);
            vs_b.load(dir.path().join("m.ot")).unwrap();
            b.load(&dir.path().join("o.ot")).unwrap();
            assert_eq!(b.steps(), 4);
            for _ in 0..3 {
                b.backward_step(&loss(&m_b));
            }
            let (va, vb) = (vs_a.variables(), vs_b.variables());
            for (name, t) in &va {
                assert!(t.equal(&vb[name]), "{kind:?} {name} differs after resume");
            }
        }
    }
}
