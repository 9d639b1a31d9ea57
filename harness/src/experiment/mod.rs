//! `augkit experiment`: the matrix data set × technique × seed, one training
//! run per cell, resumable and shardable.
//!
//! Layout of `--out DIR` (read by `augkit report`):
//! - `DIR/experiment.json`: the matrix ([`Experiment`]): preset, data sets
//!   (with any fallback notice), techniques (their policies in full), seeds,
//!   the shared training settings and the list of cells;
//! - `DIR/cells/<cell-id>/config.json`: the cell's full configuration
//!   ([`CellConfig`]);
//! - `DIR/cells/<cell-id>/result.json`: the finished cell's `RunResult`,
//!   written atomically — its presence means "finished";
//! - `DIR/cells/<cell-id>/checkpoint.json`, `model-e<E>.ot`,
//!   `optimizer-e<E>.ot`: the in-progress checkpoint ([`crate::checkpoint`]),
//!   removed once the result is written.
//!
//! `<cell-id>` is `<dataset>-<technique>-s<seed>-<hash>` ([`cell_id`]).
//! Changing anything that changes the training gives new cells; re-running
//! with the same flags skips finished cells and resumes unfinished ones.
//!
//! The matrix is data set × technique × seed × training-set size (the
//! `--train-per-class` / `--train-fraction` axis); cells of different sizes
//! differ by `config.train_limit`, so by their hash. `--baseline-sizes` adds
//! baseline-only cells at multiples of each size, all at one step budget
//! (`baseline_sizes.rs`).
//!
//! The `quick` preset (11 techniques × 3 seeds on real Fashion-MNIST, simple
//! CNN, 300 images per class, 12 epochs' worth of steps, plus the baseline at
//! ½×, 2× and 4× the size): docs/HARNESS.md, "Presets", sizes it.
//!
//! The pieces: flags and presets in `args.rs`, the files' types in
//! `schema.rs`, the matrix in `plan.rs`, ids in `cell_id.rs`, `--shard` in
//! `shard.rs`, data sets and the fallback in `datasets.rs`, one cell in
//! `cell.rs`; the run over this shard's cells and the command here.

mod args;
mod baseline_sizes;
mod cell;
mod cell_id;
mod datasets;
mod plan;
mod schema;
mod shard;

use std::collections::BTreeMap;

use anyhow::Context;

pub use args::{
    ExperimentArgs, LIMITED_DATA_EPOCHS, LIMITED_DATA_PER_CLASS, LIMITED_DATA_TECHNIQUES, Preset,
    QUICK_BASELINE_SIZES, QUICK_EPOCHS, QUICK_EVAL_SUBSET, QUICK_PER_CLASS, QUICK_SYNTHETIC,
    QUICK_TECHNIQUES,
};
pub use baseline_sizes::BASELINE_TECHNIQUE;
pub use cell::{CellOutcome, read_status, run_cell};
pub use cell_id::{canonical_json, cell_id, hashed_config};
pub use datasets::{
    DOWNLOAD_TIMEOUT, SYNTHETIC_28, SYNTHETIC_28_PER_CLASS, SharedData, load_dataset, prepare,
};
pub use plan::{default_model, plan, techniques};
pub use schema::{
    CellConfig, CellEntry, DatasetEntry, EXPERIMENT_SCHEMA_VERSION, Experiment, Technique, Training,
};
pub use shard::Shard;

use crate::result::{Status, write_json_atomic};
use datasets::loud;

/// Everything `augkit experiment` does. Returns each cell of this shard
/// with its outcome.
pub fn run(
    args: &ExperimentArgs,
    command_line: Vec<String>,
) -> anyhow::Result<Vec<(String, CellOutcome)>> {
    let shard = Shard::from_flag_or_env(args.shard.as_deref())?;
    // Before anything is loaded: this share of the directory is ours alone
    // (shards may share it), it is writable, and what killed runs left in
    // it is gone.
    let _run_lock = crate::outdir::lock_run("--out", &args.out, shard.index, shard.count)?;
    let cells_dir = args.out.join("cells");
    crate::outdir::ensure_writable_dir("--out", &cells_dir)?;
    let cleaned = crate::outdir::clean_stale(&args.out)
        .with_context(|| format!("cleaning up {}", args.out.display()))?;
    if cleaned.files > 0 {
        eprintln!(
            "augkit experiment: removed {} file(s), {:.1} MiB, left by interrupted runs in {}",
            cleaned.files,
            cleaned.bytes as f64 / (1024.0 * 1024.0),
            args.out.display()
        );
    }
    let (mut experiment, cells) = plan(args)?;
    let mine: Vec<&CellConfig> = cells
        .iter()
        .enumerate()
        .filter(|&(i, _)| shard.takes(i))
        .map(|(_, c)| c)
        .collect();
    let done = |c: &CellConfig| read_status(&cells_dir.join(&c.id));
    let pending: Vec<&CellConfig> = mine.iter().copied().filter(|c| done(c).is_none()).collect();

    // Each data set is read once, here: loaded (and shared by its cells)
    // when a pending cell trains on it, else only hashed; the provenance
    // comes from that one read and goes into experiment.json.
    let mut data: BTreeMap<String, Result<SharedData, String>> = BTreeMap::new();
    let mut cells_left: BTreeMap<&str, usize> = BTreeMap::new();
    for cell in &pending {
        *cells_left.entry(cell.dataset.as_str()).or_default() += 1;
    }
    for entry in &mut experiment.datasets {
        let needed = cells_left.contains_key(entry.name.as_str());
        if let Some(loaded) = datasets::prepare(
            entry,
            &args.data_dir,
            args.data_source.options_for(&entry.name).as_ref(),
            needed,
        ) {
            data.insert(entry.name.clone(), loaded);
        }
    }
    write_json_atomic(&args.out.join("experiment.json"), &experiment)
        .with_context(|| format!("writing {}", args.out.join("experiment.json").display()))?;
    eprintln!(
        "augkit experiment: {} cells in the matrix, {} in shard {}/{}, {} to run, into {}",
        cells.len(),
        mine.len(),
        shard.index,
        shard.count,
        pending.len(),
        args.out.display()
    );
    if !experiment.notices.is_empty() {
        loud(&experiment.notices);
    }

    let mut outcomes = Vec::new();
    for (n, cell) in mine.iter().enumerate() {
        if let Some(status) = done(cell) {
            outcomes.push((cell.id.clone(), CellOutcome::Skipped(status)));
            continue;
        }
        eprintln!(
            "[{}/{}] cell {} ({} × {} × seed {})",
            n + 1,
            mine.len(),
            cell.id,
            cell.dataset,
            cell.technique,
            cell.seed
        );
        if !data.contains_key(&cell.dataset) {
            // Not pending when counted (its result has gone since): read now.
            let mut entry = experiment
                .datasets
                .iter()
                .find(|d| d.name == cell.dataset)
                .cloned()
                .expect("every cell's data set is in the matrix");
            let loaded = datasets::prepare(
                &mut entry,
                &args.data_dir,
                args.data_source.options_for(&cell.dataset).as_ref(),
                true,
            );
            data.insert(cell.dataset.clone(), loaded.expect("prepared when needed"));
        }
        let outcome = match &data[&cell.dataset] {
            Ok(shared) => cell::lock_and_run(
                &cells_dir.join(&cell.id),
                cell,
                shared,
                command_line.clone(),
            )
            .map_err(|e| {
                let left = mine.len() - n - 1;
                anyhow::anyhow!(
                    "cell {}: {e:#}; stopping the experiment ({left} later cell(s) of this \
                             shard not started; finished cells and committed checkpoints are \
                             kept, so a re-run resumes)",
                    cell.id
                )
            })?,
            Err(message) => {
                eprintln!("error: cell {}: {message}", cell.id);
                CellOutcome::Error(message.clone())
            }
        };
        outcomes.push((cell.id.clone(), outcome));
        // The last cell of a data set lets its images go.
        let left = cells_left.entry(cell.dataset.as_str()).or_default();
        *left = left.saturating_sub(1);
        if *left == 0 {
            data.remove(&cell.dataset);
        }
    }
    Ok(outcomes)
}

/// `augkit experiment`: runs, then prints one line per cell. Exit status 0
/// when every cell of this shard finished with `completed`.
pub fn main(args: &ExperimentArgs) -> anyhow::Result<std::process::ExitCode> {
    let outcomes = run(args, std::env::args().collect())?;
    let mut ok = true;
    let (mut skipped, mut ran) = (0, 0);
    for (id, outcome) in &outcomes {
        match outcome {
            CellOutcome::Skipped(Status::Completed) => skipped += 1,
            CellOutcome::Ran(Status::Completed) => ran += 1,
            CellOutcome::Skipped(Status::Failed) | CellOutcome::Ran(Status::Failed) => {
                ok = false;
                eprintln!("cell {id}: failed (see its result.json)");
            }
            CellOutcome::Error(e) => {
                ok = false;
                eprintln!("cell {id}: error: {e}");
            }
        }
    }
    eprintln!(
        "augkit experiment: {ran} cells trained, {skipped} already finished, {} not completed; results in {}",
        outcomes.len() - ran - skipped,
        args.out.join("cells").display()
    );
    Ok(if ok {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    })
}
