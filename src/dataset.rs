//! The resident dataset: u8 images, planar CHW, with their labels, validated
//! once, plus the per-image statistics some modes need. A synthetic pool, when
//! attached, is appended after the real images.

use crate::error::{Error, PoolError};
use crate::pool::SyntheticPool;

/// Most images (real plus pool) augkit indexes: keeps every index and
/// position sum inside u32.
pub const MAX_RESIDENT_IMAGES: usize = u32::MAX as usize / 2;

/// Channels × height × width of one image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct ImageShape {
    pub channels: u32,
    pub height: u32,
    pub width: u32,
}

/// Largest side accepted: keeps every pixel coordinate exact in f32 and
/// every window coordinate inside i32.
pub const MAX_SIDE: u32 = 1 << 14;

impl ImageShape {
    pub fn new(channels: u32, height: u32, width: u32) -> Result<Self, Error> {
        let shape = Self {
            channels,
            height,
            width,
        };
        shape.validate()?;
        Ok(shape)
    }

    pub fn validate(&self) -> Result<(), Error> {
        let reason = if self.channels != 1 && self.channels != 3 {
            Some("channels must be 1 or 3")
        } else if self.height == 0 || self.width == 0 {
            Some("height and width must be at least 1")
        } else if self.height > MAX_SIDE || self.width > MAX_SIDE {
            Some("height and width must be at most 16384")
        } else {
            None
        };
        match reason {
            Some(reason) => Err(Error::Shape {
                channels: self.channels,
                height: self.height,
                width: self.width,
                reason,
            }),
            None => Ok(()),
        }
    }

    pub fn pixels(&self) -> usize {
        self.height as usize * self.width as usize
    }

    /// Elements of one image (C·H·W).
    pub fn elements(&self) -> usize {
        self.channels as usize * self.pixels()
    }
}

/// Most classes a dataset may declare: per-class tables (the synthetic
/// modes' class index, the harness's classifier) grow with `num_classes`
/// whether or not a class has images, so a typo such as 2³² − 1 must fail
/// here rather than as a multi-gigabyte allocation.
pub const MAX_CLASSES: u32 = 1 << 20;

/// A labelled image set as every backend uploads it.
///
/// With a synthetic pool attached ([`with_pool`](Self::with_pool)) the
/// resident images are the real ones followed by the pool's:
/// [`len`](Self::len) counts the real images (what a subset may name),
/// [`pool_len`](Self::pool_len) the pool's, and [`pixels`](Self::pixels),
/// [`labels`](Self::labels) and [`gray_means`](Self::gray_means) cover both
/// (what the backends upload).
#[derive(Clone, Debug)]
pub struct Dataset {
    shape: ImageShape,
    pixels: Vec<u8>,
    labels: Vec<u32>,
    num_classes: u32,
    gray_means: Vec<f32>,
    /// Images past the real ones that came from a synthetic pool.
    pool_len: usize,
}

impl Dataset {
    /// `pixels` holds N images of `shape`, planar CHW; `labels` one per image,
    /// each below `num_classes`.
    pub fn new(
        shape: ImageShape,
        pixels: Vec<u8>,
        labels: Vec<u32>,
        num_classes: u32,
    ) -> Result<Self, Error> {
        shape.validate()?;
        let n = labels.len();
        if n == 0 {
            return Err(Error::Dataset("the dataset has no images".into()));
        }
        if n > MAX_RESIDENT_IMAGES {
            return Err(Error::Dataset(format!(
                "{n} images is more than augkit indexes"
            )));
        }
        if pixels.len() != n * shape.elements() {
            return Err(Error::Dataset(format!(
                "{} pixel bytes for {n} labels of {}×{}×{} images (expected {})",
                pixels.len(),
                shape.channels,
                shape.height,
                shape.width,
                n * shape.elements()
            )));
        }
        if num_classes == 0 || num_classes > MAX_CLASSES {
            return Err(Error::Dataset(format!(
                "num_classes = {num_classes} is outside [1, {MAX_CLASSES}] (MAX_CLASSES)"
            )));
        }
        if let Some((i, &l)) = labels.iter().enumerate().find(|&(_, &l)| l >= num_classes) {
            return Err(Error::Dataset(format!(
                "label {l} of image {i} is not below num_classes = {num_classes}"
            )));
        }
        let gray_means = pixels
            .chunks_exact(shape.elements())
            .map(|image| source_gray_mean(image, shape))
            .collect();
        Ok(Self {
            shape,
            pixels,
            labels,
            num_classes,
            gray_means,
            pool_len: 0,
        })
    }

    /// The dataset with `pool` appended after its real images (one upload,
    /// the same chunking, so a pool image is read like any other). The
    /// pool's shape and class count must equal the dataset's; a dataset
    /// takes one pool.
    pub fn with_pool(mut self, pool: SyntheticPool) -> Result<Self, Error> {
        if self.pool_len > 0 {
            return Err(PoolError::AlreadyAttached.into());
        }
        let dims = |s: ImageShape| (s.channels, s.height, s.width);
        if pool.shape() != self.shape {
            return Err(PoolError::ShapeMismatch {
                pool: dims(pool.shape()),
                dataset: dims(self.shape),
            }
            .into());
        }
        if pool.num_classes() != self.num_classes {
            return Err(PoolError::ClassCountMismatch {
                pool: pool.num_classes(),
                dataset: self.num_classes,
            }
            .into());
        }
        let real = self.labels.len();
        if real + pool.len() > MAX_RESIDENT_IMAGES {
            return Err(PoolError::TooManyResident {
                real,
                pool: pool.len(),
                limit: MAX_RESIDENT_IMAGES,
            }
            .into());
        }
        let shape = self.shape;
        let pool_len = pool.len();
        let (pixels, labels) = pool.into_parts();
        self.gray_means.extend(
            pixels
                .chunks_exact(shape.elements())
                .map(|image| source_gray_mean(image, shape)),
        );
        self.pixels.extend_from_slice(&pixels);
        self.labels.extend_from_slice(&labels);
        self.pool_len = pool_len;
        Ok(self)
    }

    pub fn shape(&self) -> ImageShape {
        self.shape
    }
    /// Real images (the pool's are not counted: a subset names real images).
    pub fn len(&self) -> usize {
        self.labels.len() - self.pool_len
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Synthetic pool images appended after the real ones (0: no pool).
    pub fn pool_len(&self) -> usize {
        self.pool_len
    }
    /// Real plus pool images: what the backends upload.
    pub fn resident_len(&self) -> usize {
        self.labels.len()
    }
    /// Every resident image (real, then pool), planar CHW.
    pub fn pixels(&self) -> &[u8] {
        &self.pixels
    }
    /// Every resident image's label (real, then pool).
    pub fn labels(&self) -> &[u32] {
        &self.labels
    }
    pub fn num_classes(&self) -> u32 {
        self.num_classes
    }
    pub fn image(&self, index: usize) -> &[u8] {
        let e = self.shape.elements();
        &self.pixels[index * e..(index + 1) * e]
    }
    /// Per image, the mean grayscale in [0, 1] (the `source` contrast mode).
    pub fn gray_means(&self) -> &[f32] {
        &self.gray_means
    }

    /// [`channel_statistics`] of the images `subset` names (pool images
    /// included when it names them).
    pub fn channel_statistics(&self, subset: &[u32]) -> Result<ChannelStatistics, Error> {
        channel_statistics(&self.pixels, self.shape, subset)
    }
}

/// Per-channel mean and standard deviation of a set of images, in [0, 1]
/// pixel units: what `output.mean` / `output.std` normalise by.
#[derive(Clone, Debug, PartialEq)]
pub struct ChannelStatistics {
    pub mean: Vec<f32>,
    /// Population standard deviation; 1 where it is zero (a constant channel).
    pub std: Vec<f32>,
}

/// The dataset normalisation statistics of the images `subset` names in
/// `pixels` (N images of `shape`, planar CHW): sums in f64 in image, channel,
/// pixel order, so every caller (the harness, the Python package) normalises
/// bit for bit alike. An index past the images, or an empty subset (no
/// statistics to take), is an error.
pub fn channel_statistics(
    pixels: &[u8],
    shape: ImageShape,
    subset: &[u32],
) -> Result<ChannelStatistics, Error> {
    shape.validate()?;
    let image_len = shape.elements();
    let images = pixels.len() / image_len;
    if !pixels.len().is_multiple_of(image_len) {
        return Err(Error::Dataset(format!(
            "{} pixel bytes is not a whole number of {}×{}×{} images",
            pixels.len(),
            shape.channels,
            shape.height,
            shape.width
        )));
    }
    if subset.is_empty() {
        return Err(Error::EmptySubset);
    }
    if let Some(&i) = subset.iter().find(|&&i| i as usize >= images) {
        return Err(Error::Dataset(format!(
            "subset index {i} is past the {images} images"
        )));
    }
    let channels = shape.channels as usize;
    let plane = shape.pixels();
    let mut sum = vec![0f64; channels];
    let mut sum_sq = vec![0f64; channels];
    for &i in subset {
        let image = &pixels[i as usize * image_len..(i as usize + 1) * image_len];
        for c in 0..channels {
            for &p in &image[c * plane..(c + 1) * plane] {
                let v = f64::from(p) / 255.0;
                sum[c] += v;
                sum_sq[c] += v * v;
            }
        }
    }
    let n = (subset.len() * plane).max(1) as f64;
    let mean: Vec<f64> = sum.iter().map(|s| s / n).collect();
    let std = sum_sq
        .iter()
        .zip(&mean)
        .map(|(sq, m)| {
            let sd = (sq / n - m * m).max(0.0).sqrt();
            if sd > 1e-6 { sd as f32 } else { 1.0 }
        })
        .collect();
    Ok(ChannelStatistics {
        mean: mean.into_iter().map(|m| m as f32).collect(),
        std,
    })
}

/// Mean of 0.2989 R + 0.587 G + 0.114 B (or of the one channel), in [0, 1].
fn source_gray_mean(image: &[u8], shape: ImageShape) -> f32 {
    let n = shape.pixels();
    let sum: f64 = if shape.channels == 1 {
        image.iter().map(|&v| f64::from(v)).sum()
    } else {
        let (r, rest) = image.split_at(n);
        let (g, b) = rest.split_at(n);
        r.iter()
            .zip(g)
            .zip(b)
            .map(|((&r, &g), &b)| {
                0.2989 * f64::from(r) + 0.587 * f64::from(g) + 0.114 * f64::from(b)
            })
            .sum()
    };
    (sum / (255.0 * n as f64)) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_statistics_match_the_closed_form() {
        let shape = ImageShape::new(3, 1, 2).unwrap();
        // Image 0: channels [0, 255], [51, 51], [255, 255]; image 1 unused.
        let pixels = [0u8, 255, 51, 51, 255, 255, 7, 7, 7, 7, 7, 7];
        let s = channel_statistics(&pixels, shape, &[0]).unwrap();
        assert_eq!(s.mean, vec![0.5, 0.2, 1.0]);
        // Channel 0: population std of {0, 1} = 0.5; constant channels → 1.
        assert_eq!(s.std, vec![0.5, 1.0, 1.0]);
        let both = channel_statistics(&pixels, shape, &[0, 0]).unwrap();
        assert_eq!(both, s);
    }

    #[test]
    fn channel_statistics_reject_bad_input() {
        let shape = ImageShape::new(1, 2, 2).unwrap();
        let err = channel_statistics(&[0u8; 8], shape, &[2]).unwrap_err();
        assert!(err.to_string().contains("subset index 2"), "{err}");
        let err = channel_statistics(&[0u8; 7], shape, &[0]).unwrap_err();
        assert!(err.to_string().contains("whole number"), "{err}");
        let err = channel_statistics(&[0u8; 8], shape, &[]).unwrap_err();
        assert!(matches!(err, Error::EmptySubset), "{err}");
    }
}
