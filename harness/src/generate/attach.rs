//! Attaches a generated pool to the training set as the augmentation
//! backend holds it (`augkit::Dataset::with_pool`), so that `[synthetic]
//! mode = "pool"` draws its source images from it.

use super::pool::GeneratedPool;

/// `dataset` with `pool` beside it (shape and classes checked by augkit).
pub fn with_pool(dataset: augkit::Dataset, pool: GeneratedPool) -> anyhow::Result<augkit::Dataset> {
    let _ = pool;
    anyhow::bail!(
        "this build of augkit has no synthetic pool (augkit::SyntheticPool); cannot attach {} images",
        dataset.len()
    )
}
