//! Attaches a generated pool to the training set as the augmentation
//! backend holds it (`augkit::Dataset::with_pool`), so that `[synthetic]
//! mode = "pool"` draws its source images from it.

use super::pool::GeneratedPool;

/// `dataset` with `pool` beside it (shape and classes checked by augkit).
pub fn with_pool(dataset: augkit::Dataset, pool: GeneratedPool) -> anyhow::Result<augkit::Dataset> {
    let shape = augkit::ImageShape::new(pool.channels, pool.height, pool.width)?;
    let pool = augkit::SyntheticPool::new(shape, pool.pixels, pool.labels, pool.num_classes)?;
    Ok(dataset.with_pool(pool)?)
}
