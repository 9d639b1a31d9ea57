//! The experiment's side of the generators: the CAS cells a matrix gains
//! (one `cas-<technique>` cell per data set × seed × size for every technique
//! with a pool) and what a cell needs before it trains — the pool fitted or
//! loaded, attached to a technique's training set, or made the whole
//! training set of a CAS cell — with the generator's cost recorded.

use std::path::Path;

use augkit_data::ImageSet;

use super::cas::{CAS_PREFIX, PoolContext, make_pool, needs_pool, pool_image_set, pool_spec};
use crate::config::TrainConfig;
use crate::experiment::{CellConfig, cell_id};
use crate::train::{RunContext, TrainData};

/// The CAS cells of `cells`: for each cell whose technique has a pool, the
/// same data set, seed, size, classifier and schedule, named
/// `cas-<technique>`, its configuration holding the technique's policy (so
/// that the pool, and the id, follow it).
pub fn cas_cells(cells: &[CellConfig]) -> Vec<CellConfig> {
    cells
        .iter()
        .filter(|c| !is_cas(&c.technique) && pool_spec(&c.config.policy).is_some())
        .map(|c| {
            let technique = format!("{CAS_PREFIX}{}", c.technique);
            CellConfig {
                id: cell_id(&technique, &c.config),
                technique,
                ..c.clone()
            }
        })
        .collect()
}

/// Whether a technique name is a CAS cell's.
pub fn is_cas(technique: &str) -> bool {
    technique.starts_with(CAS_PREFIX)
}

/// The configuration, data and context a cell trains with: unchanged for a
/// technique without a generated pool; the pool attached (and its cost
/// recorded) for one with; the pool alone as the training set, with no
/// augmentation, for a CAS cell. `root` is the experiment directory (the
/// generators' cache is under it).
pub fn prepare(
    root: &Path,
    cell: &CellConfig,
    data: TrainData,
    mut ctx: RunContext,
) -> anyhow::Result<(TrainConfig, TrainData, RunContext)> {
    let mut config = cell.config.clone();
    let cas = is_cas(&cell.technique);
    if !cas && !needs_pool(&config.policy) {
        return Ok((config, data, ctx));
    }
    let Some(spec) = pool_spec(&config.policy) else {
        anyhow::bail!(
            "{}: a CAS cell needs a technique with a synthetic pool",
            cell.id
        );
    };
    let device = crate::train::resolve_device(config.device)?;
    if let Some(threads) = config.threads {
        tch::set_num_threads(threads as i32);
    }
    let pool = make_pool(
        &PoolContext {
            root,
            dataset: &cell.dataset,
            train: &data.train,
            subset: &data.subset,
            seed: cell.seed,
            device,
            verbose: !config.quiet,
        },
        &spec,
    )?;
    ctx.generator = Some(pool.cost.clone());
    if !cas {
        ctx.pool = Some(pool);
        return Ok((config, data, ctx));
    }
    let train: ImageSet = pool_image_set(&pool, &data.train)?;
    config.policy = augkit::Policy {
        output: config.policy.output.clone(),
        ..augkit::Policy::default()
    };
    let subset = (0..train.len() as u32).collect();
    Ok((
        config,
        TrainData {
            train: train.into(),
            test: data.test,
            subset,
        },
        ctx,
    ))
}
