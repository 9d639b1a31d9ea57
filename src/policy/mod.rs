//! The augmentation policy: every technique with its probability and ranges,
//! following torchvision v2 and timm (see `docs/SEMANTICS.md`). Users write it
//! as TOML or JSON; [`Policy::compile`] validates every field against the
//! image shape and flattens it into the `KernelPolicy` all backends read.

use serde::{Deserialize, Serialize};
use std::path::Path;

use crate::ImageShape;
use crate::error::PolicyError;
use crate::kernel_args::KernelPolicy;

/// Largest policy file [`Policy::from_file`] reads.
pub const MAX_POLICY_FILE_BYTES: u64 = 1 << 20;
/// Most entries a per-channel array (`output.mean`, `output.std`) may hold.
pub const MAX_POLICY_CHANNELS: usize = 16;
/// Largest magnitude a policy may make the output reach: a normalised pixel
/// `(x − mean) / std` for `x` in [0, 1], or an erased element. Real
/// normalisations stay within ±10; far beyond this a model's first layers
/// overflow and the loss is NaN whatever the learning rate. An f16 output
/// is held to its own largest finite value, 65504.
pub const MAX_OUTPUT_MAGNITUDE: f32 = 1e6;

mod validate;

/// One augmentation policy. Every technique is off unless present.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    pub crop: Option<Crop>,
    /// Probability of a horizontal flip (per sample).
    pub horizontal_flip: f32,
    /// Probability of a vertical flip (per sample).
    pub vertical_flip: f32,
    pub affine: Option<Affine>,
    pub color_jitter: Option<ColorJitter>,
    pub mix: Option<Mix>,
    pub synthetic: Option<Synthetic>,
    /// torchvision `TrivialAugmentWide` (one auto op per sample).
    pub trivial_augment: Option<TrivialAugment>,
    /// torchvision `RandAugment` (`num_ops` auto ops per sample).
    pub rand_augment: Option<RandAugment>,
    pub erasing: Option<Erasing>,
    pub output: Output,
}

/// torchvision `TrivialAugmentWide`: per sample one op uniform over the 14
/// ops, a magnitude bin uniform over `num_magnitude_bins`, a random sign.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrivialAugment {
    /// true: `TrivialAugmentWide`'s ranges; false: `RandAugment`'s ranges
    /// (the TrivialAugment paper's "RA" space as torchvision implements it).
    pub wide: bool,
    pub num_magnitude_bins: u32,
    /// Resampling of the geometry ops (torchvision's default: nearest).
    pub interpolation: Interpolation,
    /// Value (in [0, 1] pixel units) for pixels the geometry ops map from
    /// outside the image.
    pub fill: f32,
}

impl Default for TrivialAugment {
    fn default() -> Self {
        Self {
            wide: true,
            num_magnitude_bins: 31,
            interpolation: Interpolation::Nearest,
            fill: 0.0,
        }
    }
}

/// torchvision `RandAugment`: per sample `num_ops` ops, each uniform over
/// the 14 ops, all at the fixed bin `magnitude`, each with a random sign.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RandAugment {
    pub num_ops: u32,
    /// A bin index below `num_magnitude_bins`.
    pub magnitude: u32,
    pub num_magnitude_bins: u32,
    pub interpolation: Interpolation,
    pub fill: f32,
}

impl Default for RandAugment {
    fn default() -> Self {
        Self {
            num_ops: 2,
            magnitude: 9,
            num_magnitude_bins: 31,
            interpolation: Interpolation::Nearest,
            fill: 0.0,
        }
    }
}

/// Random erasing (timm `RandomErasing`, torchvision `RandomErasing`): up to
/// [`MAX_ERASE_BOXES`](crate::kernel_args::MAX_ERASE_BOXES) boxes per sample
/// written with a value in output (normalised) units, per sample before mix.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Erasing {
    /// Probability that a sample is erased (timm and torchvision: 0.5).
    pub p: f32,
    /// Erased area as a fraction of the image area, per sample (split over
    /// its boxes as timm does).
    pub scale: [f32; 2],
    /// Aspect ratio (height / width) range, drawn log-uniformly.
    pub ratio: [f32; 2],
    pub mode: EraseMode,
    /// `mode = "const"`: the value written, in output units.
    pub value: f32,
    /// Boxes per erased sample: `n` or `[min, max]` (uniform).
    pub count: EraseCount,
}

impl Default for Erasing {
    fn default() -> Self {
        Self {
            p: 0.5,
            scale: [0.02, 0.33],
            ratio: [0.3, 3.3],
            mode: EraseMode::Const,
            value: 0.0,
            count: EraseCount::Fixed(1),
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EraseMode {
    /// Every erased element is `value` (timm `mode="const"`).
    #[default]
    Const,
    /// One N(0, 1) per channel per box (timm `mode="rand"`).
    Channel,
    /// One N(0, 1) per element (timm `mode="pixel"`).
    Pixel,
}

/// A box count as timm takes it: `min_count = max_count = n`, or `[min, max]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum EraseCount {
    Fixed(u32),
    Range([u32; 2]),
}

/// Synthetic samples in place of real ones: from a generated pool (`mode =
/// "pool"`, what researchers mean by synthetic data), or made on the device
/// by the classical baselines (`"pca"`, `"interpolate"`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Synthetic {
    pub mode: SynthMode,
    /// Probability that a sample is synthetic (the expected share of a
    /// batch). Pool: the probability that the sample's source image is
    /// drawn from the pool instead of the data set.
    pub fraction: f32,
    /// PCA: at most this many components per class.
    pub components: u32,
    /// PCA: keep the fewest components explaining this share of a class's variance.
    pub variance_kept: f32,
    /// PCA: how a synthetic sample's class is chosen.
    pub class_choice: ClassChoice,
    /// Pool: where the pool comes from. Absent: the caller attaches it
    /// ([`Dataset::with_pool`](crate::Dataset::with_pool), Python's
    /// `synthetic_pool=`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<PoolSource>,
    /// Pool, `source = "file"`: an `.npz` with `images` (uint8 `[N, C, H, W]`
    /// or `[N, H, W, C]`) and `labels`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<std::path::PathBuf>,
    /// Pool, `source = "cvae" | "ddpm"`: pool size as a multiple of the real
    /// training subset (the generator samples this many; default 1,
    /// at most [`MAX_POOL_SIZE`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<f32>,
}

/// Largest `synthetic.size` (pool images per real training image).
pub const MAX_POOL_SIZE: f32 = 64.0;

impl Default for Synthetic {
    fn default() -> Self {
        Self {
            mode: SynthMode::Pca,
            fraction: 0.25,
            components: 8,
            variance_kept: 0.95,
            class_choice: ClassChoice::Training,
            source: None,
            path: None,
            size: None,
        }
    }
}

impl Synthetic {
    /// The pool size as a multiple of the real training subset (`size`, or
    /// 1 when absent).
    pub fn pool_size(&self) -> f32 {
        self.size.unwrap_or(1.0)
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SynthMode {
    /// mean_c + Σ_j σ_j·z_j·u_j from the per-class PCA model (a classical
    /// baseline).
    #[default]
    Pca,
    /// A random convex combination of two training images of one class (a
    /// classical baseline).
    Interpolate,
    /// An image drawn uniformly from a synthetic pool attached to the
    /// dataset, augmented like a real one.
    Pool,
}

/// Where a `mode = "pool"` pool comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PoolSource {
    /// The harness's class-conditional VAE, fitted on the training subset.
    Cvae,
    /// The harness's class-conditional DDPM, fitted on the training subset.
    Ddpm,
    /// An `.npz` file (`path`).
    File,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClassChoice {
    /// As often as the class occurs in the training subset.
    #[default]
    Training,
    /// Uniform over the classes present in the subset.
    Uniform,
}

/// Random crop back to the input size.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Crop {
    /// torchvision `RandomCrop(size = H×W, padding)`: zero-pad by `padding`
    /// on every side, then crop H×W at an offset uniform over 2p+1 positions.
    Pad {
        padding: u32,
        #[serde(default = "one")]
        p: f32,
    },
    /// torchvision `RandomResizedCrop(size = H×W, scale, ratio,
    /// interpolation)`: the box is resized to H×W as `F.resized_crop` does
    /// (bilinear by default, as torchvision).
    Resized {
        #[serde(default = "default_resized_scale")]
        scale: [f32; 2],
        #[serde(default = "default_resized_ratio")]
        ratio: [f32; 2],
        #[serde(default = "bilinear")]
        interpolation: Interpolation,
        #[serde(default = "one")]
        p: f32,
    },
}

/// torchvision `RandomAffine` restricted to rotation, translation and scale.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Affine {
    pub p: f32,
    /// Angle drawn from U(−d, d) for a number d, or U(lo, hi) for
    /// `[lo, hi]`; degrees, counter-clockwise positive.
    pub degrees: Degrees,
    /// Maximum translation as fractions of width and height.
    pub translate: [f32; 2],
    pub translate_mode: TranslateMode,
    /// Scale drawn from U(lo, hi).
    pub scale: [f32; 2],
    pub interpolation: Interpolation,
    /// Value (in [0, 1] pixel units, before normalisation) for pixels mapped
    /// from outside the image.
    pub fill: f32,
}

impl Default for Affine {
    fn default() -> Self {
        Self {
            p: 1.0,
            degrees: Degrees::Amount(0.0),
            translate: [0.0, 0.0],
            translate_mode: TranslateMode::WholePixels,
            scale: [1.0, 1.0],
            interpolation: Interpolation::Nearest,
            fill: 0.0,
        }
    }
}

/// A rotation range as torchvision takes it: `d` for [−d, d], or `[lo, hi]`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Degrees {
    Amount(f32),
    Range([f32; 2]),
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TranslateMode {
    /// torchvision: `round(U(−a·W, a·W))` whole pixels.
    #[default]
    WholePixels,
    Continuous,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Interpolation {
    /// torchvision `NEAREST`: in a resize, source index ⌊i·scale⌋.
    #[default]
    Nearest,
    Bilinear,
    /// torchvision `NEAREST_EXACT`: in a resize, source index
    /// ⌊(i + ½)·scale⌋. Only the resized crop takes it.
    NearestExact,
}

fn bilinear() -> Interpolation {
    Interpolation::Bilinear
}

/// A jitter strength as torchvision takes it: one number `x` for the range
/// [max(0, 1 − x), 1 + x] (hue: [−x, x]), or an explicit `[lo, hi]`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Strength {
    Amount(f32),
    Range([f32; 2]),
}

/// torchvision `ColorJitter`, with a new random order of its ops per sample.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ColorJitter {
    pub p: f32,
    pub brightness: Option<Strength>,
    pub contrast: Option<Strength>,
    pub saturation: Option<Strength>,
    pub hue: Option<Strength>,
    pub contrast_mean: ContrastMean,
}

impl Default for ColorJitter {
    fn default() -> Self {
        Self {
            p: 1.0,
            brightness: None,
            contrast: None,
            saturation: None,
            hue: None,
            contrast_mean: ContrastMean::Exact,
        }
    }
}

/// Which mean contrast blends with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContrastMean {
    /// torchvision: the mean grayscale of the image as it stands when
    /// contrast runs (one reduction pass per batch).
    #[default]
    Exact,
    /// The source image's mean grayscale, scaled by brightness when that ran
    /// first (no reduction pass; see SEMANTICS.md for the measured difference).
    Source,
}

/// timm `Mixup` / `CutMix`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Mix {
    /// Beta(α, α) for mixup; 0 turns mixup off.
    pub mixup_alpha: f32,
    /// Beta(α, α) for cutmix; 0 turns cutmix off.
    pub cutmix_alpha: f32,
    /// Probability that a sample (pair, batch) is mixed at all.
    pub prob: f32,
    /// Probability of cutmix when both are on.
    pub switch_prob: f32,
    pub mode: MixMode,
    /// Recompute λ from the clipped cutmix box.
    pub correct_lambda: bool,
    pub label_smoothing: f32,
}

impl Default for Mix {
    fn default() -> Self {
        Self {
            mixup_alpha: 0.0,
            cutmix_alpha: 0.0,
            prob: 1.0,
            switch_prob: 0.5,
            mode: MixMode::Elem,
            correct_lambda: true,
            label_smoothing: 0.0,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MixMode {
    /// One λ (and box) for the whole batch.
    Batch,
    /// One λ per pair (i, B−1−i).
    Pair,
    /// One λ per sample.
    #[default]
    Elem,
}

/// What the pixel pass writes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Output {
    /// Per-channel mean in [0, 1] pixel units; empty means 0.
    pub mean: Vec<f32>,
    /// Per-channel standard deviation; empty means 1.
    pub std: Vec<f32>,
    pub dtype: DType,
    pub layout: Layout,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DType {
    #[default]
    F32,
    F16,
    Bf16,
}

impl DType {
    pub fn size_bytes(self) -> usize {
        match self {
            DType::F32 => 4,
            DType::F16 | DType::Bf16 => 2,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    #[default]
    Nchw,
    Nhwc,
}

fn one() -> f32 {
    1.0
}
fn default_resized_scale() -> [f32; 2] {
    [0.08, 1.0]
}
fn default_resized_ratio() -> [f32; 2] {
    [3.0 / 4.0, 4.0 / 3.0]
}

impl Policy {
    /// The policy that only normalises (mean 0, std 1 unless set).
    pub fn identity() -> Self {
        Self::default()
    }

    pub fn from_toml_str(text: &str) -> Result<Self, PolicyError> {
        toml::from_str(text).map_err(|e| PolicyError::Parse {
            source_name: "TOML".into(),
            message: e.to_string(),
        })
    }

    pub fn from_json_str(text: &str) -> Result<Self, PolicyError> {
        serde_json::from_str(text).map_err(|e| PolicyError::Parse {
            source_name: "JSON".into(),
            message: e.to_string(),
        })
    }

    /// Reads a `.toml` or `.json` policy file of at most
    /// [`MAX_POLICY_FILE_BYTES`], through a bounded reader (so `/dev/zero`
    /// or a huge file cannot grow memory), with at most
    /// [`MAX_POLICY_CHANNELS`] entries in `output.mean` and `output.std`.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, PolicyError> {
        let path = path.as_ref();
        let parse_error = |message: String| PolicyError::Parse {
            source_name: path.display().to_string(),
            message,
        };
        let bytes = crate::read_file_bounded(path, MAX_POLICY_FILE_BYTES).map_err(|e| {
            if e.kind() == std::io::ErrorKind::FileTooLarge {
                parse_error(format!("{e}; a policy file is a few hundred bytes"))
            } else {
                parse_error(e.to_string())
            }
        })?;
        let text = String::from_utf8(bytes).map_err(|e| parse_error(e.to_string()))?;
        let parsed = if path.extension().is_some_and(|e| e == "json") {
            Self::from_json_str(&text)
        } else {
            Self::from_toml_str(&text)
        };
        let policy = parsed.map_err(|e| match e {
            PolicyError::Parse { message, .. } => parse_error(message),
            other => other,
        })?;
        for (field, values) in [
            ("output.mean", &policy.output.mean),
            ("output.std", &policy.output.std),
        ] {
            if values.len() > MAX_POLICY_CHANNELS {
                return Err(parse_error(format!(
                    "{field} has {} entries; at most {MAX_POLICY_CHANNELS} (one per channel)",
                    values.len()
                )));
            }
        }
        Ok(policy)
    }

    pub fn to_toml_string(&self) -> String {
        toml::to_string(self).expect("a policy always serialises")
    }

    /// Not API: validates every field for images of `shape` and flattens
    /// the policy into the struct the kernels read (a [`Plan`](crate::Plan)
    /// does this for a user).
    #[doc(hidden)]
    pub fn compile(&self, shape: ImageShape) -> Result<KernelPolicy, PolicyError> {
        validate::compile(self, shape)
    }
}
