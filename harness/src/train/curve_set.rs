//! The per-epoch curve's test images under `--eval-subset N`: a fixed
//! stratified subset of the test set, chosen with its own constant seed so
//! that every run on a data set (every seed, technique and training-set
//! size) reads its curve off the same images.

use anyhow::Context;
use augkit_data::{ImageSet, Limit};
use sha2::{Digest, Sha256};
use tch::Tensor;

use crate::result::CurveTestSet;

/// The seed of the curve's test subset: a constant, independent of `--seed`.
pub const EVAL_SUBSET_SEED: u64 = 0x00C0_FFEE_7E57;

/// The curve's test images, on the model's device, and their labels.
pub(super) struct CurveSet {
    pub indices: Vec<u32>,
    pub images: Tensor,
    pub labels: Vec<u32>,
    pub summary: CurveTestSet,
}

impl CurveSet {
    /// About `n` test images, each class in its test-set proportion
    /// (`round(n/len · count)`, at least one per class), or `None` when `n`
    /// covers the whole test set.
    pub fn choose(test: &ImageSet, test_images: &Tensor, n: u32) -> anyhow::Result<Option<Self>> {
        let len = test.len();
        if n as usize >= len {
            return Ok(None);
        }
        let fraction = f64::from(n) / len as f64;
        let indices = augkit_data::stratified_subset(
            &test.labels,
            test.num_classes,
            Limit::Fraction(fraction),
            EVAL_SUBSET_SEED,
        )
        .with_context(|| format!("choosing --eval-subset {n} of the {len} test images"))?;
        let labels: Vec<u32> = indices.iter().map(|&i| test.labels[i as usize]).collect();
        let mut per_class = vec![0u64; test.num_classes as usize];
        for &l in &labels {
            per_class[l as usize] += 1;
        }
        let mut hash = Sha256::new();
        for i in &indices {
            hash.update(i.to_le_bytes());
        }
        let indices_sha256 = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
        let rows: Vec<i64> = indices.iter().map(|&i| i64::from(i)).collect();
        let images = test_images.f_index_select(
            0,
            &Tensor::from_slice(&rows).to_device(test_images.device()),
        )?;
        let summary = CurveTestSet {
            images: indices.len() as u64,
            per_class,
            seed: EVAL_SUBSET_SEED,
            indices_sha256,
            method: format!(
                "--eval-subset {n}: augkit-data's stratified_subset of the test set with fraction \
                 {n}/{len} (each class round(fraction·count), at least 1) and the fixed seed \
                 {EVAL_SUBSET_SEED:#x}, the same in every run on this test set; curves[].test_accuracy \
                 after every epoch but the last is the accuracy on these images; after the last \
                 epoch it is the final whole-test-set predictions read at these images, and `test` \
                 holds the whole test set"
            ),
        };
        Ok(Some(Self {
            indices,
            images,
            labels,
            summary,
        }))
    }

    /// The accuracy on the subset of predictions made for the whole test set.
    pub fn accuracy_of_full(&self, predictions: &[u32]) -> f64 {
        let picked: Vec<u32> = self
            .indices
            .iter()
            .map(|&i| predictions[i as usize])
            .collect();
        super::accuracy(&picked, &self.labels)
    }
}
