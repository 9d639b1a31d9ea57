//! A small class-conditional DDPM (Ho et al. 2020) with a compact U-Net,
//! classifier-free guidance (Ho & Salimans 2022) and a deterministic
//! few-step DDIM sampler (Song et al. 2021). Meant for a GPU; the CPU runs
//! it at a reduced size ([`DdpmConfig::tiny`]) for the tests.
//!
//! Noise schedule: cosine (Nichol & Dhariwal 2021), ᾱ(t) = f(t)/f(0) with
//! f(t) = cos²(((t/T) + 0.008)/1.008 · π/2), β clipped at 0.999.
//! Training: x₀ in [−1, 1], t uniform over 0..T, ε ~ N(0, I),
//! loss ‖ε − ε_θ(√ᾱ_t x₀ + √(1−ᾱ_t) ε, t, y)‖² (mean); the class is
//! replaced by the null class with probability `cond_drop`.
//! Sampling: `sample_steps` DDIM steps (η = 0) on evenly spaced timesteps,
//! ε = (1+w)·ε(y) − w·ε(∅) with guidance w, x̂₀ clipped to [−1, 1].
//!
//! U-Net (width w, sides padded to multiples of 4): conv3×3 → res(w) →
//! down(2w) → res(2w) → down(2w) → res(2w) → up(2w) ‖ skip → res(2w) →
//! up(w) ‖ skip → res(w) → GroupNorm · SiLU · conv3×3 (C). Each res block:
//! GroupNorm · SiLU · conv3×3 · + (time ⊕ class embedding) · GroupNorm ·
//! SiLU · conv3×3, plus a 1×1 shortcut when the width changes.

use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Reduction, Tensor, nn};

use super::{GenData, GeneratorError, pad_to, positive, positive_real};

/// The DDPM's settings (part of the cache key).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DdpmConfig {
    pub epochs: u32,
    pub batch_size: u32,
    pub lr: f64,
    /// Channels of the first U-Net level (a multiple of 8).
    pub width: u32,
    /// Diffusion steps T of the training schedule.
    pub timesteps: u32,
    /// DDIM steps when sampling (at most `timesteps`).
    pub sample_steps: u32,
    /// Classifier-free guidance weight w (0: none).
    pub guidance: f64,
    /// Probability of training a batch element with the null class.
    pub cond_drop: f64,
}

impl Default for DdpmConfig {
    /// The documented, GPU-sized configuration.
    fn default() -> Self {
        Self {
            epochs: 40,
            batch_size: 128,
            lr: 2e-4,
            width: 64,
            timesteps: 1000,
            sample_steps: 25,
            guidance: 1.0,
            cond_drop: 0.1,
        }
    }
}

impl DdpmConfig {
    /// A reduced size that trains and samples in seconds on a CPU (tests).
    pub fn tiny() -> Self {
        Self {
            epochs: 4,
            batch_size: 32,
            lr: 2e-3,
            width: 8,
            timesteps: 100,
            sample_steps: 5,
            guidance: 1.0,
            cond_drop: 0.1,
        }
    }

    pub fn validate(&self) -> Result<(), GeneratorError> {
        positive("ddpm.epochs", self.epochs)?;
        positive("ddpm.batch_size", self.batch_size)?;
        positive("ddpm.width", self.width)?;
        positive("ddpm.timesteps", self.timesteps)?;
        positive("ddpm.sample_steps", self.sample_steps)?;
        positive_real("ddpm.lr", self.lr)?;
        let range = |field, value: String, range| {
            Err(GeneratorError::OutOfRange {
                field,
                value,
                range,
            })
        };
        if self.batch_size < 2 {
            return range("ddpm.batch_size", self.batch_size.to_string(), "[2, ∞)");
        }
        if !self.width.is_multiple_of(8) {
            return range(
                "ddpm.width",
                self.width.to_string(),
                "multiples of 8 (GroupNorm groups)",
            );
        }
        if self.sample_steps > self.timesteps {
            return range(
                "ddpm.sample_steps",
                self.sample_steps.to_string(),
                "[1, timesteps]",
            );
        }
        if !(self.guidance.is_finite() && self.guidance >= 0.0) {
            return range("ddpm.guidance", self.guidance.to_string(), "[0, ∞)");
        }
        if !(0.0..1.0).contains(&self.cond_drop) {
            return range("ddpm.cond_drop", self.cond_drop.to_string(), "[0, 1)");
        }
        Ok(())
    }
}

/// ᾱ_t for t = 0..T−1 (cosine schedule).
pub fn alpha_bar(timesteps: u32) -> Vec<f64> {
    let t_max = f64::from(timesteps);
    let f = |t: f64| {
        (((t / t_max) + 0.008) / 1.008 * std::f64::consts::FRAC_PI_2)
            .cos()
            .powi(2)
    };
    let mut out = Vec::with_capacity(timesteps as usize);
    let mut prod = 1.0;
    for t in 0..timesteps {
        let beta = (1.0 - f(f64::from(t + 1)) / f(f64::from(t))).min(0.999);
        prod *= 1.0 - beta;
        out.push(prod);
    }
    out
}

fn groups(channels: i64) -> i64 {
    8.min(channels)
}

struct ResBlock {
    norm1: nn::GroupNorm,
    conv1: nn::Conv2D,
    emb: nn::Linear,
    norm2: nn::GroupNorm,
    conv2: nn::Conv2D,
    skip: Option<nn::Conv2D>,
}

impl ResBlock {
    fn new(vs: nn::Path, c_in: i64, c_out: i64, emb_dim: i64) -> Self {
        let same = nn::ConvConfig {
            padding: 1,
            ..Default::default()
        };
        Self {
            norm1: nn::group_norm(&vs / "norm1", groups(c_in), c_in, Default::default()),
            conv1: nn::conv2d(&vs / "conv1", c_in, c_out, 3, same),
            emb: nn::linear(&vs / "emb", emb_dim, c_out, Default::default()),
            norm2: nn::group_norm(&vs / "norm2", groups(c_out), c_out, Default::default()),
            conv2: nn::conv2d(&vs / "conv2", c_out, c_out, 3, same),
            skip: (c_in != c_out)
                .then(|| nn::conv2d(&vs / "skip", c_in, c_out, 1, Default::default())),
        }
    }

    fn forward(&self, x: &Tensor, emb: &Tensor) -> Tensor {
        let h = x.apply(&self.norm1).silu().apply(&self.conv1);
        let h = h + emb.apply(&self.emb).unsqueeze(-1).unsqueeze(-1);
        let h = h.apply(&self.norm2).silu().apply(&self.conv2);
        match &self.skip {
            Some(s) => h + x.apply(s),
            None => h + x,
        }
    }
}

/// The fitted DDPM: the U-Net and its schedule.
pub struct Ddpm {
    conv_in: nn::Conv2D,
    res1: ResBlock,
    down1: nn::Conv2D,
    res2: ResBlock,
    down2: nn::Conv2D,
    mid: ResBlock,
    up2: nn::Conv2D,
    res_up2: ResBlock,
    up1: nn::Conv2D,
    res_up1: ResBlock,
    norm_out: nn::GroupNorm,
    conv_out: nn::Conv2D,
    time1: nn::Linear,
    time2: nn::Linear,
    class_emb: nn::Embedding,
    emb_dim: i64,
    classes: i64,
    channels: i64,
    height: i64,
    width: i64,
    alpha_bar: Vec<f64>,
    config: DdpmConfig,
    device: Device,
}

impl Ddpm {
    pub fn new(vs: &nn::Path, c: &DdpmConfig, data: &GenData) -> Self {
        let w = i64::from(c.width);
        let emb_dim = 4 * w;
        let same = nn::ConvConfig {
            padding: 1,
            ..Default::default()
        };
        let down = nn::ConvConfig {
            stride: 2,
            padding: 1,
            ..Default::default()
        };
        Self {
            conv_in: nn::conv2d(vs / "conv_in", data.channels, w, 3, same),
            res1: ResBlock::new(vs / "res1", w, w, emb_dim),
            down1: nn::conv2d(vs / "down1", w, 2 * w, 3, down),
            res2: ResBlock::new(vs / "res2", 2 * w, 2 * w, emb_dim),
            down2: nn::conv2d(vs / "down2", 2 * w, 2 * w, 3, down),
            mid: ResBlock::new(vs / "mid", 2 * w, 2 * w, emb_dim),
            up2: nn::conv2d(vs / "up2", 2 * w, 2 * w, 3, same),
            res_up2: ResBlock::new(vs / "res_up2", 4 * w, 2 * w, emb_dim),
            up1: nn::conv2d(vs / "up1", 2 * w, w, 3, same),
            res_up1: ResBlock::new(vs / "res_up1", 2 * w, w, emb_dim),
            norm_out: nn::group_norm(vs / "norm_out", groups(w), w, Default::default()),
            conv_out: nn::conv2d(vs / "conv_out", w, data.channels, 3, same),
            time1: nn::linear(vs / "time1", w, emb_dim, Default::default()),
            time2: nn::linear(vs / "time2", emb_dim, emb_dim, Default::default()),
            // Index `classes` is the null class of classifier-free guidance.
            class_emb: nn::embedding(
                vs / "class_emb",
                data.num_classes + 1,
                emb_dim,
                Default::default(),
            ),
            emb_dim,
            classes: data.num_classes,
            channels: data.channels,
            height: data.height,
            width: data.width,
            alpha_bar: alpha_bar(c.timesteps),
            config: c.clone(),
            device: vs.device(),
        }
    }

    /// Sinusoidal features of the timesteps `t` (i64), `dim` wide.
    fn time_features(&self, t: &Tensor, dim: i64) -> Tensor {
        let half = dim / 2;
        let freqs = (Tensor::arange(half, (Kind::Float, self.device))
            * (-(10_000f64.ln()) / half as f64))
            .exp();
        let args = t.to_kind(Kind::Float).unsqueeze(1) * freqs.unsqueeze(0);
        Tensor::cat(&[args.sin(), args.cos()], 1)
    }

    /// ε_θ(x_t, t, y) for padded NCHW `x`.
    fn eps(&self, x: &Tensor, t: &Tensor, y: &Tensor) -> Tensor {
        let w = self.emb_dim / 4;
        let emb = self
            .time_features(t, w)
            .apply(&self.time1)
            .silu()
            .apply(&self.time2)
            + y.apply(&self.class_emb);
        let emb = emb.silu();
        let h0 = x.apply(&self.conv_in);
        let h1 = self.res1.forward(&h0, &emb);
        let h2 = self.res2.forward(&h1.apply(&self.down1), &emb);
        let m = self.mid.forward(&h2.apply(&self.down2), &emb);
        let s2 = h2.size();
        let u2 = m
            .upsample_nearest2d([s2[2], s2[3]], None, None)
            .apply(&self.up2);
        let h = self.res_up2.forward(&Tensor::cat(&[u2, h2], 1), &emb);
        let s1 = h1.size();
        let u1 = h
            .upsample_nearest2d([s1[2], s1[3]], None, None)
            .apply(&self.up1);
        let h = self.res_up1.forward(&Tensor::cat(&[u1, h1], 1), &emb);
        h.apply(&self.norm_out).silu().apply(&self.conv_out)
    }

    fn schedule_at(&self, t: &Tensor) -> Tensor {
        Tensor::from_slice(&self.alpha_bar)
            .to_kind(Kind::Float)
            .to_device(self.device)
            .index_select(0, t)
            .view([-1, 1, 1, 1])
    }

    /// The noise-prediction loss of one mini-batch (x in [0, 1]).
    pub fn loss(&self, x: &Tensor, y: &Tensor) -> Tensor {
        let n = x.size()[0];
        let x0 = pad_to(&(x * 2.0 - 1.0), self.height, self.width, 4);
        let t = Tensor::randint(
            i64::from(self.config.timesteps),
            [n],
            (Kind::Int64, self.device),
        );
        let noise = x0.randn_like();
        let ab = self.schedule_at(&t);
        let xt = &ab.sqrt() * &x0 + (ab.ones_like() - &ab).sqrt() * &noise;
        let drop = Tensor::rand([n], (Kind::Float, self.device)).lt(self.config.cond_drop);
        let null = Tensor::full([n], self.classes, (Kind::Int64, self.device));
        let y = null.where_self(&drop, y);
        self.eps(&xt, &t, &y).mse_loss(&noise, Reduction::Mean)
    }

    /// Images in [0, 1] of classes `ys` by DDIM (η = 0) from x_T ~ N(0, I).
    pub fn sample(&self, ys: &[i64]) -> Tensor {
        let n = ys.len() as i64;
        let y = Tensor::from_slice(ys).to_device(self.device);
        let null = Tensor::full([n], self.classes, (Kind::Int64, self.device));
        let (hp, wp) = (super::padded(self.height, 4), super::padded(self.width, 4));
        let mut x = Tensor::randn([n, self.channels, hp, wp], (Kind::Float, self.device));
        let t_max = i64::from(self.config.timesteps);
        let steps = i64::from(self.config.sample_steps);
        // Evenly spaced, from T−1 down to 0.
        let times: Vec<i64> = (0..steps)
            .map(|i| (t_max - 1) - i * (t_max - 1) / steps.max(1))
            .collect();
        let w = self.config.guidance;
        for (i, &t) in times.iter().enumerate() {
            let tt = Tensor::full([n], t, (Kind::Int64, self.device));
            let mut eps = self.eps(&x, &tt, &y);
            if w > 0.0 {
                let uncond = self.eps(&x, &tt, &null);
                eps = &eps * (1.0 + w) - uncond * w;
            }
            let ab = self.alpha_bar[t as usize];
            let x0 = ((&x - &eps * (1.0 - ab).sqrt()) / ab.sqrt()).clamp(-1.0, 1.0);
            let ab_prev = times
                .get(i + 1)
                .map_or(1.0, |&p| self.alpha_bar[p as usize]);
            // ε recomputed from the clipped x̂₀ keeps the step consistent.
            let eps = (&x - &x0 * ab.sqrt()) / (1.0 - ab).sqrt();
            x = &x0 * ab_prev.sqrt() + eps * (1.0 - ab_prev).sqrt();
        }
        // The last step has ᾱ_prev = 1, so x is x̂₀ there.
        ((x + 1.0) / 2.0)
            .narrow(2, 0, self.height)
            .narrow(3, 0, self.width)
    }
}
