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
//! differ by `config.train_limit`, so by their hash.
//!
//! Expect the `quick` preset (8 techniques × 3 seeds on real Fashion-MNIST,
//! simple CNN, 300 images per class, 12 epochs) to take ≈ 15–25 minutes on 2
//! CPU cores (docs/HARNESS.md, "Presets").

//!
//! The pieces: flags and presets in `args.rs`, the files' types in
//! `schema.rs`, the matrix in `plan.rs`, ids in `cell_id.rs`, `--shard` in
//! `shard.rs`, data sets and the fallback in `datasets.rs`, one cell in
//! `cell.rs`; the run over this shard's cells and the command here.

mod args;
mod cell;
mod cell_id;
mod datasets;
mod plan;
mod schema;
mod shard;

use std::time::Instant;

use anyhow::Context;
use augkit_data::ImageSet;

pub use args::{
    ExperimentArgs, LIMITED_DATA_EPOCHS, LIMITED_DATA_PER_CLASS, LIMITED_DATA_TECHNIQUES, Preset,
    QUICK_EPOCHS, QUICK_PER_CLASS, QUICK_TECHNIQUES,
};
pub use cell::{CellOutcome, read_status, run_cell};
pub use cell_id::{canonical_json, cell_id, hashed_config};
pub use datasets::{DOWNLOAD_TIMEOUT, SYNTHETIC_28, SYNTHETIC_28_PER_CLASS, load_dataset};
pub use plan::{default_model, plan, techniques};
pub use schema::{
    CellConfig, CellEntry, DatasetEntry, EXPERIMENT_SCHEMA_VERSION, Experiment, Technique, Training,
};
pub use shard::Shard;

use crate::result::{Status, write_json_atomic};
use cell::disk_full;
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
    let (experiment, cells) = plan(args)?;
    write_json_atomic(&args.out.join("experiment.json"), &experiment)
        .with_context(|| format!("writing {}", args.out.join("experiment.json").display()))?;

    let mine: Vec<&CellConfig> = cells
        .iter()
        .enumerate()
        .filter(|&(i, _)| shard.takes(i))
        .map(|(_, c)| c)
        .collect();
    let done = |c: &CellConfig| read_status(&cells_dir.join(&c.id));
    let pending = mine.iter().filter(|c| done(c).is_none()).count();
    eprintln!(
        "augkit experiment: {} cells in the matrix, {} in shard {}/{}, {} to run, into {}",
        cells.len(),
        mine.len(),
        shard.index,
        shard.count,
        pending,
        args.out.display()
    );
    if !experiment.notices.is_empty() {
        loud(&experiment.notices);
    }

    let mut loaded: Option<(String, (ImageSet, ImageSet), f64)> = None;
    let mut outcomes = Vec::new();
    for (n, cell) in mine.iter().enumerate() {
        let cell_dir = cells_dir.join(&cell.id);
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
        if loaded
            .as_ref()
            .is_none_or(|(name, _, _)| name != &cell.dataset)
        {
            let t = Instant::now();
            match load_dataset(&cell.dataset, &args.data_dir) {
                Ok(data) => loaded = Some((cell.dataset.clone(), data, t.elapsed().as_secs_f64())),
                Err(e) => {
                    let message = format!("{e:#}");
                    eprintln!("error: cell {}: {message}", cell.id);
                    outcomes.push((cell.id.clone(), CellOutcome::Error(message)));
                    continue;
                }
            }
        }
        let (_, data, load_s) = loaded.as_ref().expect("loaded above");
        // Another process (a run with other --shard numbers) may be training
        // this cell: leave it to that one.
        let _cell_lock = match std::fs::create_dir_all(&cell_dir)
            .and_then(|()| crate::outdir::lock_cell(&cell_dir))
        {
            Ok(Ok(lock)) => lock,
            Ok(Err(holder)) => {
                let message = format!(
                    "another augkit process (pid {holder}) is training this cell; left to it"
                );
                eprintln!("error: cell {}: {message}", cell.id);
                outcomes.push((cell.id.clone(), CellOutcome::Error(message)));
                continue;
            }
            Err(e) => {
                let e = anyhow::Error::new(e).context(format!("locking {}", cell_dir.display()));
                if disk_full(&e) {
                    return Err(e);
                }
                eprintln!("error: cell {}: {e:#}", cell.id);
                outcomes.push((cell.id.clone(), CellOutcome::Error(format!("{e:#}"))));
                continue;
            }
        };
        if let Some(status) = done(cell) {
            // Finished by another process since the count above.
            outcomes.push((cell.id.clone(), CellOutcome::Skipped(status)));
            continue;
        }
        // A libtorch error inside a tch call that panics fails this cell,
        // not the matrix.
        let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            run_cell(&cell_dir, cell, data, *load_s, command_line.clone())
        }))
        .unwrap_or_else(|panic| {
            let what = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("a panic");
            Err(anyhow::anyhow!("the cell's training panicked: {what}"))
        });
        if let Err(e) = &ran
            && disk_full(e)
        {
            let left = mine.len() - n - 1;
            anyhow::bail!(
                "cell {}: {e:#}; stopping the experiment ({left} later cell(s) of this shard not \
                 started; finished cells and committed checkpoints are kept, so a re-run resumes)",
                cell.id
            );
        }
        match ran {
            Ok(result) => {
                let accuracy = result.test.as_ref().map_or("-".into(), |t| {
                    format!("{:.2}%", 100.0 * t.figures.accuracy)
                });
                eprintln!(
                    "cell {}: {:?}, test accuracy {accuracy}, {:.1} s{}",
                    cell.id,
                    result.status,
                    result.timing.total_wall_s,
                    result
                        .resumed_from_epoch
                        .map_or(String::new(), |e| format!(" (resumed after epoch {e})"))
                );
                outcomes.push((cell.id.clone(), CellOutcome::Ran(result.status)));
            }
            Err(e) => {
                let message = format!("{e:#}");
                eprintln!("error: cell {}: {message}", cell.id);
                outcomes.push((cell.id.clone(), CellOutcome::Error(message)));
            }
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
