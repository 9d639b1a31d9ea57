//! The synthetic pool: generated images (a cVAE's, a DDPM's, a file's) with
//! their labels, validated once and appended after the real images of a
//! [`Dataset`](crate::Dataset), so a pool draw is an index past the real set
//! and every backend's pixel passes read it like any other image
//! (`docs/SEMANTICS.md`, "Synthetic pool").

use crate::dataset::ImageShape;
use crate::error::{Error, PoolError};

/// Most images a pool may hold (2²², about 4.2 million: 80× CIFAR-10's
/// training set, past the 1–10× of published practice).
pub const MAX_POOL_IMAGES: usize = 1 << 22;
/// Most pixel bytes a pool may hold (4 GiB).
pub const MAX_POOL_BYTES: u64 = 1 << 32;

/// Generated images, planar CHW u8 like [`Dataset`](crate::Dataset), with
/// one label per image.
#[derive(Clone, Debug)]
pub struct SyntheticPool {
    shape: ImageShape,
    pixels: Vec<u8>,
    labels: Vec<u32>,
    num_classes: u32,
}

impl SyntheticPool {
    /// `pixels` holds N images of `shape`, planar CHW; `labels` one per
    /// image, each below `num_classes`; 1 ≤ N ≤ [`MAX_POOL_IMAGES`] and at
    /// most [`MAX_POOL_BYTES`] of pixels.
    pub fn new(
        shape: ImageShape,
        pixels: Vec<u8>,
        labels: Vec<u32>,
        num_classes: u32,
    ) -> Result<Self, Error> {
        shape.validate()?;
        let n = labels.len();
        if n == 0 {
            return Err(PoolError::Empty.into());
        }
        if n > MAX_POOL_IMAGES {
            return Err(PoolError::TooManyImages {
                images: n,
                limit: MAX_POOL_IMAGES,
            }
            .into());
        }
        // The size the labels imply, checked before the pixels are looked at.
        let expected = n * shape.elements();
        if expected as u64 > MAX_POOL_BYTES {
            return Err(PoolError::TooManyBytes {
                bytes: expected as u64,
                limit: MAX_POOL_BYTES,
            }
            .into());
        }
        if pixels.len() != expected {
            return Err(PoolError::Length {
                pixels: pixels.len(),
                images: n,
                channels: shape.channels,
                height: shape.height,
                width: shape.width,
                expected,
            }
            .into());
        }
        if num_classes == 0 {
            return Err(PoolError::NoClasses.into());
        }
        if let Some((index, &label)) = labels.iter().enumerate().find(|&(_, &l)| l >= num_classes) {
            return Err(PoolError::LabelOutOfRange {
                index,
                label,
                num_classes,
            }
            .into());
        }
        Ok(Self {
            shape,
            pixels,
            labels,
            num_classes,
        })
    }

    pub fn shape(&self) -> ImageShape {
        self.shape
    }
    pub fn len(&self) -> usize {
        self.labels.len()
    }
    /// Always false: a pool has at least one image.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
    pub fn pixels(&self) -> &[u8] {
        &self.pixels
    }
    pub fn labels(&self) -> &[u32] {
        &self.labels
    }
    pub fn num_classes(&self) -> u32 {
        self.num_classes
    }

    pub(crate) fn into_parts(self) -> (Vec<u8>, Vec<u32>) {
        (self.pixels, self.labels)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape() -> ImageShape {
        ImageShape::new(1, 2, 2).unwrap()
    }

    fn pool_error(r: Result<SyntheticPool, Error>) -> PoolError {
        match r {
            Err(Error::Pool(e)) => e,
            other => panic!("expected a pool error, got {other:?}"),
        }
    }

    #[test]
    fn a_valid_pool_keeps_its_images_and_labels() {
        let pool = SyntheticPool::new(shape(), (0..8).collect(), vec![1, 0], 2).unwrap();
        assert_eq!(pool.len(), 2);
        assert_eq!(pool.labels(), &[1, 0]);
        assert_eq!(pool.pixels().len(), 8);
    }

    #[test]
    fn bad_pools_get_typed_errors() {
        assert_eq!(
            pool_error(SyntheticPool::new(shape(), vec![], vec![], 2)),
            PoolError::Empty
        );
        assert!(matches!(
            pool_error(SyntheticPool::new(shape(), vec![0; 7], vec![0, 1], 2)),
            PoolError::Length {
                pixels: 7,
                expected: 8,
                ..
            }
        ));
        assert_eq!(
            pool_error(SyntheticPool::new(shape(), vec![0; 8], vec![0, 2], 2)),
            PoolError::LabelOutOfRange {
                index: 1,
                label: 2,
                num_classes: 2
            }
        );
        assert_eq!(
            pool_error(SyntheticPool::new(shape(), vec![0; 8], vec![0, 0], 0)),
            PoolError::NoClasses
        );
        // The image-count limit is checked before the pixels are looked at.
        let labels = vec![0u32; MAX_POOL_IMAGES + 1];
        assert_eq!(
            pool_error(SyntheticPool::new(shape(), vec![], labels, 1)),
            PoolError::TooManyImages {
                images: MAX_POOL_IMAGES + 1,
                limit: MAX_POOL_IMAGES
            }
        );
        let big = ImageShape::new(3, 16384, 16384).unwrap();
        assert!(matches!(
            pool_error(SyntheticPool::new(big, vec![], vec![0; 6], 1)),
            PoolError::TooManyBytes {
                limit: MAX_POOL_BYTES,
                ..
            }
        ));
    }
}
