//! A class-conditional convolutional VAE (Kingma & Welling 2014; Sohn et al.
//! 2015), the default generator: small enough to fit on a CPU.
//!
//! Encoder: conv4×4/2 (w) · ReLU · conv4×4/2 (2w) · ReLU · flatten ‖ one-hot
//! class · fc 256 · ReLU · (μ, log σ²) of a `latent`-dimensional Gaussian.
//! Decoder: z ‖ one-hot class · fc 256 · ReLU · fc (2w·H/4·W/4) · ReLU ‖
//! one-hot class as constant maps · deconv4×4/2 (w) · ReLU · deconv4×4/2 (C)
//! → Bernoulli logits per pixel.
//! Loss per image: BCE(x, decoder(z)) summed over pixels + β·KL(q(z|x,y) ‖
//! N(0, I)). A sample of class y is sigmoid(decoder(z, y)) with z drawn from
//! a Gaussian fitted, after training, to the posterior means of the subset's
//! class-y images ([`CvaeSampler::ClassLatent`], the default), or from the
//! prior N(0, I) ([`CvaeSampler::Prior`]).
//! Images whose sides are not multiples of 4 are zero-padded at the bottom
//! and right and cropped back.
//!
//! docs/HARNESS.md, "Learned generators", has the measured fit time.

use serde::{Deserialize, Serialize};
use tch::{Kind, Reduction, Tensor, nn};

use super::{GenData, GeneratorError, pad_to, padded, positive, positive_real};

/// The cVAE's settings (part of the cache key).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CvaeConfig {
    pub epochs: u32,
    pub batch_size: u32,
    pub lr: f64,
    /// Latent dimensions.
    pub latent: u32,
    /// Channels of the first convolution (the second has twice as many).
    pub width: u32,
    /// Units of the fully connected hidden layers.
    pub hidden: u32,
    /// Weight of the KL term (1: the ELBO; above 1, a β-VAE).
    pub beta: f64,
    /// Where a sample's latent code comes from.
    pub sampler: CvaeSampler,
}

/// How the cVAE draws latent codes when sampling.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CvaeSampler {
    /// z ~ N(0, I), the prior.
    Prior,
    /// z ~ N(m_k, S_k), a Gaussian fitted after training to the posterior
    /// means μ(x, k) of the subset's class-k images (ex-post density
    /// estimation, Ghosh et al. 2020): it covers where the decoder was
    /// trained, which the prior's holes do not.
    #[default]
    ClassLatent,
}

impl Default for CvaeConfig {
    fn default() -> Self {
        Self {
            epochs: 30,
            batch_size: 64,
            lr: 2e-3,
            latent: 16,
            width: 16,
            hidden: 256,
            beta: 1.0,
            sampler: CvaeSampler::ClassLatent,
        }
    }
}

impl CvaeConfig {
    pub fn validate(&self) -> Result<(), GeneratorError> {
        positive("cvae.epochs", self.epochs)?;
        positive("cvae.batch_size", self.batch_size)?;
        positive("cvae.latent", self.latent)?;
        positive("cvae.width", self.width)?;
        positive("cvae.hidden", self.hidden)?;
        positive_real("cvae.lr", self.lr)?;
        positive_real("cvae.beta", self.beta)?;
        if self.batch_size < 2 {
            return Err(GeneratorError::OutOfRange {
                field: "cvae.batch_size",
                value: self.batch_size.to_string(),
                range: "[2, ∞)",
            });
        }
        Ok(())
    }
}

/// The network, built under a var store.
pub struct Cvae {
    enc1: nn::Conv2D,
    enc2: nn::Conv2D,
    enc_fc: nn::Linear,
    mu: nn::Linear,
    logvar: nn::Linear,
    dec_fc1: nn::Linear,
    dec_fc2: nn::Linear,
    dec1: nn::ConvTranspose2D,
    dec2: nn::ConvTranspose2D,
    classes: i64,
    latent: i64,
    width: i64,
    height: i64,
    image_width: i64,
    device: tch::Device,
    /// Per class: the mean [K, L] and Cholesky factor [K, L, L] of the
    /// latent Gaussian ([`CvaeSampler::ClassLatent`], after [`Cvae::fit_latent`]).
    latent_gaussian: Option<(Tensor, Tensor)>,
}

impl Cvae {
    pub fn new(vs: &nn::Path, c: &CvaeConfig, data: &GenData) -> Self {
        let (w, hidden, latent) = (i64::from(c.width), i64::from(c.hidden), i64::from(c.latent));
        let k = data.num_classes;
        let (hp, wp) = (padded(data.height, 4), padded(data.width, 4));
        let flat = 2 * w * (hp / 4) * (wp / 4);
        let down = nn::ConvConfig {
            stride: 2,
            padding: 1,
            ..Default::default()
        };
        let up = nn::ConvTransposeConfig {
            stride: 2,
            padding: 1,
            ..Default::default()
        };
        Self {
            enc1: nn::conv2d(vs / "enc1", data.channels, w, 4, down),
            enc2: nn::conv2d(vs / "enc2", w, 2 * w, 4, down),
            enc_fc: nn::linear(vs / "enc_fc", flat + k, hidden, Default::default()),
            mu: nn::linear(vs / "mu", hidden, latent, Default::default()),
            logvar: nn::linear(vs / "logvar", hidden, latent, Default::default()),
            dec_fc1: nn::linear(vs / "dec_fc1", latent + k, hidden, Default::default()),
            dec_fc2: nn::linear(vs / "dec_fc2", hidden, flat, Default::default()),
            dec1: nn::conv_transpose2d(vs / "dec1", 2 * w + k, w, 4, up),
            dec2: nn::conv_transpose2d(vs / "dec2", w, data.channels, 4, up),
            classes: k,
            latent,
            width: w,
            height: data.height,
            image_width: data.width,
            device: vs.device(),
            latent_gaussian: None,
        }
    }

    fn one_hot(&self, y: &Tensor) -> Tensor {
        y.one_hot(self.classes).to_kind(Kind::Float)
    }

    /// (μ, log σ²) of q(z | x, y).
    fn encode(&self, x: &Tensor, y: &Tensor) -> (Tensor, Tensor) {
        let x = pad_to(x, self.height, self.image_width, 4);
        let h = x
            .apply(&self.enc1)
            .relu()
            .apply(&self.enc2)
            .relu()
            .flatten(1, -1);
        let h = Tensor::cat(&[h, self.one_hot(y)], 1)
            .apply(&self.enc_fc)
            .relu();
        (h.apply(&self.mu), h.apply(&self.logvar))
    }

    /// Per-pixel Bernoulli logits, cropped to the image size.
    fn decode(&self, z: &Tensor, y: &Tensor) -> Tensor {
        let (hp, wp) = (padded(self.height, 4), padded(self.image_width, 4));
        let h = Tensor::cat(&[z.shallow_clone(), self.one_hot(y)], 1)
            .apply(&self.dec_fc1)
            .relu()
            .apply(&self.dec_fc2)
            .relu()
            .view([-1, 2 * self.width, hp / 4, wp / 4]);
        // The class again as constant feature maps: the decoder cannot
        // route around it through z.
        let maps = self
            .one_hot(y)
            .view([-1, self.classes, 1, 1])
            .expand([-1, -1, hp / 4, wp / 4], false);
        let out = Tensor::cat(&[h, maps], 1)
            .apply(&self.dec1)
            .relu()
            .apply(&self.dec2);
        out.narrow(2, 0, self.height).narrow(3, 0, self.image_width)
    }

    /// The negative ELBO per image (mean over the batch), β-weighted.
    pub fn loss(&self, x: &Tensor, y: &Tensor, beta: f64) -> Tensor {
        let (mu, logvar) = self.encode(x, y);
        let eps = mu.randn_like();
        let z = &mu + (&logvar * 0.5).exp() * eps;
        let logits = self.decode(&z, y);
        let n = x.size()[0] as f64;
        let recon =
            logits.binary_cross_entropy_with_logits::<Tensor>(x, None, None, Reduction::Sum);
        let kl = (logvar.exp() + mu.square() - 1.0 - &logvar).sum(Kind::Float) * 0.5;
        (recon + kl * beta) / n
    }

    /// Fits the per-class latent Gaussians of [`CvaeSampler::ClassLatent`]
    /// to the posterior means of `data`'s images (covariance shrunk by
    /// 1e-3·I, so that a class of one image still has one).
    pub fn fit_latent(&mut self, data: &GenData) {
        let _guard = tch::no_grad_guard();
        let n = data.len();
        let mut mus = Vec::new();
        let mut first = 0;
        while first < n {
            let len = 512.min(n - first);
            let x = data.images.narrow(0, first, len);
            let y = data.labels.narrow(0, first, len);
            mus.push(self.encode(&x, &y).0);
            first += len;
        }
        let mu = Tensor::cat(&mus, 0).to_kind(Kind::Double);
        let (k, l) = (self.classes, self.latent);
        let eye = Tensor::eye(l, (Kind::Double, self.device));
        let mut means = Vec::new();
        let mut chols = Vec::new();
        for class in 0..k {
            let idx = data.labels.eq(class).nonzero().squeeze_dim(1);
            let count = idx.size()[0];
            let (m, cov) = if count == 0 {
                (
                    Tensor::zeros([l], (Kind::Double, self.device)),
                    eye.shallow_clone(),
                )
            } else {
                let z = mu.index_select(0, &idx);
                let m = z.mean_dim(0, false, Kind::Double);
                let c = &z - &m;
                let cov = if count > 1 {
                    c.transpose(0, 1).matmul(&c) / (count - 1) as f64
                } else {
                    eye.zeros_like()
                };
                (m, cov + &eye * 1e-3)
            };
            means.push(m);
            chols.push(cov.linalg_cholesky(false));
        }
        self.latent_gaussian = Some((
            Tensor::stack(&means, 0).to_kind(Kind::Float),
            Tensor::stack(&chols, 0).to_kind(Kind::Float),
        ));
    }

    /// Images in [0, 1] of classes `ys`: z from the per-class latent
    /// Gaussian when [`Cvae::fit_latent`] ran, else from the prior N(0, I);
    /// drawn from libtorch's generator.
    pub fn sample(&self, ys: &[i64]) -> Tensor {
        let y = Tensor::from_slice(ys).to_device(self.device);
        let eps = Tensor::randn([ys.len() as i64, self.latent], (Kind::Float, self.device));
        let z = match &self.latent_gaussian {
            Some((means, chols)) => {
                means.index_select(0, &y)
                    + chols
                        .index_select(0, &y)
                        .matmul(&eps.unsqueeze(-1))
                        .squeeze_dim(-1)
            }
            None => eps,
        };
        self.decode(&z, &y).sigmoid()
    }
}
