//! `ImageSet`: N images of one size, u8, planar CHW, with labels in `0..num_classes`.
//! The validating constructor rejects wrong pixel counts, label/image count
//! mismatches, labels out of range, zero sizes and class-name count mismatches.

use crate::error::{DataError, Result};

/// A labelled set of same-sized u8 images stored N×C×H×W (planar CHW per image).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageSet {
    pub name: String,
    pub channels: u32,
    pub height: u32,
    pub width: u32,
    /// N×C×H×W, planar CHW u8.
    pub pixels: Vec<u8>,
    pub labels: Vec<u32>,
    pub num_classes: u32,
    /// Empty, or exactly `num_classes` names.
    pub class_names: Vec<String>,
}

impl ImageSet {
    /// Builds a set and checks that its parts agree.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        name: impl Into<String>,
        channels: u32,
        height: u32,
        width: u32,
        pixels: Vec<u8>,
        labels: Vec<u32>,
        num_classes: u32,
        class_names: Vec<String>,
    ) -> Result<Self> {
        let set = ImageSet {
            name: name.into(),
            channels,
            height,
            width,
            pixels,
            labels,
            num_classes,
            class_names,
        };
        set.validate()?;
        Ok(set)
    }

    /// Checks the invariants `new` establishes (useful after editing the public fields).
    pub fn validate(&self) -> Result<()> {
        let bad = |problem: String| {
            Err(DataError::InvalidSet {
                name: self.name.clone(),
                problem,
            })
        };
        if !matches!(self.channels, 1 | 3) {
            return bad(format!("channels must be 1 or 3, got {}", self.channels));
        }
        if self.height == 0 || self.width == 0 {
            return bad(format!("empty image size {}×{}", self.height, self.width));
        }
        if self.num_classes == 0 {
            return bad("num_classes is 0".into());
        }
        let per = self.image_len();
        let expected = per.checked_mul(self.labels.len());
        if expected != Some(self.pixels.len()) {
            return bad(format!(
                "{} pixel bytes for {} labels of {}×{}×{} images",
                self.pixels.len(),
                self.labels.len(),
                self.channels,
                self.height,
                self.width
            ));
        }
        if let Some((i, l)) = self
            .labels
            .iter()
            .enumerate()
            .find(|(_, l)| **l >= self.num_classes)
        {
            return bad(format!(
                "label {l} of image {i} is not below num_classes {}",
                self.num_classes
            ));
        }
        if !self.class_names.is_empty() && self.class_names.len() != self.num_classes as usize {
            return bad(format!(
                "{} class names for {} classes",
                self.class_names.len(),
                self.num_classes
            ));
        }
        Ok(())
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Bytes per image: C×H×W.
    pub fn image_len(&self) -> usize {
        self.channels as usize * self.height as usize * self.width as usize
    }

    /// Image `i` as planar CHW bytes. Panics if `i >= len()`.
    pub fn image(&self, i: usize) -> &[u8] {
        let n = self.image_len();
        &self.pixels[i * n..(i + 1) * n]
    }

    /// Number of images of each class.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.num_classes as usize];
        for &l in &self.labels {
            counts[l as usize] += 1;
        }
        counts
    }

    /// A new set holding the images at `indices` (in that order), e.g. a stratified subset.
    pub fn select(&self, indices: &[u32]) -> Result<ImageSet> {
        let n = self.image_len();
        let mut pixels = Vec::with_capacity(indices.len() * n);
        let mut labels = Vec::with_capacity(indices.len());
        for &i in indices {
            let i = i as usize;
            if i >= self.len() {
                return Err(DataError::InvalidArgument(format!(
                    "index {i} out of range for {:?} with {} images",
                    self.name,
                    self.len()
                )));
            }
            pixels.extend_from_slice(self.image(i));
            labels.push(self.labels[i]);
        }
        Ok(ImageSet {
            pixels,
            labels,
            ..self.clone_header()
        })
    }

    fn clone_header(&self) -> ImageSet {
        ImageSet {
            name: self.name.clone(),
            channels: self.channels,
            height: self.height,
            width: self.width,
            pixels: Vec::new(),
            labels: Vec::new(),
            num_classes: self.num_classes,
            class_names: self.class_names.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_validates_parts() {
        let ok = ImageSet::new("t", 1, 2, 3, vec![0; 12], vec![0, 1], 2, vec![]).unwrap();
        assert_eq!(ok.len(), 2);
        assert_eq!(ok.image(1).len(), 6);
        assert_eq!(ok.class_counts(), vec![1, 1]);
        assert!(ImageSet::new("t", 1, 2, 3, vec![0; 11], vec![0, 1], 2, vec![]).is_err());
        assert!(ImageSet::new("t", 1, 2, 3, vec![0; 12], vec![0, 2], 2, vec![]).is_err());
        assert!(ImageSet::new("t", 2, 2, 3, vec![0; 24], vec![0, 1], 2, vec![]).is_err());
        assert!(ImageSet::new("t", 1, 0, 3, vec![], vec![], 2, vec![]).is_err());
        assert!(ImageSet::new("t", 1, 2, 3, vec![0; 12], vec![0, 1], 2, vec!["a".into()]).is_err());
    }

    #[test]
    fn select_copies_images_in_order() {
        let set = ImageSet::new(
            "t",
            1,
            1,
            2,
            vec![1, 2, 3, 4, 5, 6],
            vec![0, 1, 0],
            2,
            vec![],
        )
        .unwrap();
        let sub = set.select(&[2, 0]).unwrap();
        assert_eq!(sub.pixels, vec![5, 6, 1, 2]);
        assert_eq!(sub.labels, vec![0, 0]);
        assert!(set.select(&[3]).is_err());
    }
}
