//! One cell: taking its lock, training it (resuming its checkpoint),
//! writing its result, and reading back whether a cell already finished.

use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use serde::Deserialize;

use super::datasets::SharedData;
use super::schema::CellConfig;
use crate::read_limits::{FileKind, read_text};
use crate::result::{RunResult, Status, write_json_atomic};
use crate::train::{RunContext, TrainData};

/// How one cell went in this invocation.
#[derive(Clone, Debug, PartialEq)]
pub enum CellOutcome {
    /// `result.json` was already there.
    Skipped(Status),
    /// Trained now (from scratch or resumed).
    Ran(Status),
    /// Could not run (the error).
    Error(String),
}

/// Trains one cell in `cell_dir` on the shared `data`, resuming its
/// checkpoint if there is one; writes `result.json` atomically and then
/// removes the checkpoint.
pub fn run_cell(
    cell_dir: &Path,
    cell: &CellConfig,
    data: &SharedData,
    command_line: Vec<String>,
) -> anyhow::Result<RunResult> {
    std::fs::create_dir_all(cell_dir)?;
    write_json_atomic(&cell_dir.join("config.json"), cell)?;
    let mut ctx = RunContext::now(command_line);
    let t = Instant::now();
    let subset = crate::data::training_subset(&data.train, cell.config.train_limit, cell.seed)?;
    ctx.data_load_s = data.load_s + t.elapsed().as_secs_f64();
    ctx.data_source = Some(data.source.clone());
    let provenance = data.provenance.clone();
    // A generated pool (fitted or loaded from DIR/generators), attached or,
    // for a CAS cell, trained on alone.
    let root = cell_dir.parent().and_then(Path::parent).unwrap_or(cell_dir);
    let data = TrainData {
        train: data.train.clone(),
        test: data.test.clone(),
        subset,
    };
    let (mut config, data, ctx) = crate::generate::cells::prepare(root, cell, data, ctx)?;
    config.out = Some(cell_dir.join("result.json"));
    let mut result = crate::train::train_resumable(&config, data, ctx, Some(cell_dir))?;
    result.data.provenance = provenance;
    write_json_atomic(&cell_dir.join("result.json"), &result)
        .with_context(|| format!("writing {}", cell_dir.join("result.json").display()))?;
    crate::checkpoint::clear(cell_dir)?;
    Ok(result)
}

/// Locks `cell_dir` and trains the cell unless another process holds it or
/// finished it meanwhile. A libtorch error inside a tch call that panics
/// fails this cell, not the matrix; only a full disk comes back as `Err`
/// (the experiment stops: every later cell would fail the same way).
pub(super) fn lock_and_run(
    cell_dir: &Path,
    cell: &CellConfig,
    data: &SharedData,
    command_line: Vec<String>,
) -> anyhow::Result<CellOutcome> {
    let error = |message: String| {
        eprintln!("error: cell {}: {message}", cell.id);
        Ok(CellOutcome::Error(message))
    };
    // Another process (a run with other --shard numbers) may be training
    // this cell: leave it to that one.
    let _cell_lock =
        match std::fs::create_dir_all(cell_dir).and_then(|()| crate::outdir::lock_cell(cell_dir)) {
            Ok(Ok(lock)) => lock,
            Ok(Err(holder)) => {
                return error(format!(
                    "another augkit process (pid {holder}) is training this cell; left to it"
                ));
            }
            Err(e) => {
                let e = anyhow::Error::new(e).context(format!("locking {}", cell_dir.display()));
                if disk_full(&e) {
                    return Err(e);
                }
                return error(format!("{e:#}"));
            }
        };
    if let Some(status) = read_status(cell_dir) {
        // Finished by another process since this one counted.
        return Ok(CellOutcome::Skipped(status));
    }
    let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run_cell(cell_dir, cell, data, command_line)
    }))
    .unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("a panic");
        Err(anyhow::anyhow!("the cell's training panicked: {what}"))
    });
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
            Ok(CellOutcome::Ran(result.status))
        }
        Err(e) if disk_full(&e) => Err(e),
        Err(e) => error(format!("{e:#}")),
    }
}

/// The status in `cell_dir/result.json`, if the cell finished.
pub fn read_status(cell_dir: &Path) -> Option<Status> {
    #[derive(Deserialize)]
    struct Head {
        status: Status,
    }
    // Bounded: an endless file is no result, and the cell trains again.
    let text = read_text(&cell_dir.join("result.json"), FileKind::Result).ok()?;
    serde_json::from_str::<Head>(&text).ok().map(|h| h.status)
}

/// Whether `e` comes from a full disk (a checkpoint or a result write).
fn disk_full(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        matches!(
            cause.downcast_ref::<crate::checkpoint::CheckpointError>(),
            Some(crate::checkpoint::CheckpointError::DiskFull { .. })
        ) || cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(crate::checkpoint::is_disk_full)
    })
}
