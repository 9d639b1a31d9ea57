//! One cell: training it (resuming its checkpoint), writing its result,
//! and reading back whether a cell already finished.

use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use augkit_data::ImageSet;
use serde::Deserialize;

use super::schema::CellConfig;
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

/// Trains one cell in `cell_dir`, resuming its checkpoint if there is one;
/// writes `result.json` atomically and then removes the checkpoint.
pub fn run_cell(
    cell_dir: &Path,
    cell: &CellConfig,
    data: &(ImageSet, ImageSet),
    data_load_s: f64,
    command_line: Vec<String>,
) -> anyhow::Result<RunResult> {
    std::fs::create_dir_all(cell_dir)?;
    write_json_atomic(&cell_dir.join("config.json"), cell)?;
    let mut ctx = RunContext::now(command_line);
    let t = Instant::now();
    let (train, test) = (data.0.clone(), data.1.clone());
    let subset = crate::data::training_subset(&train, cell.config.train_limit, cell.seed)?;
    ctx.data_load_s = data_load_s + t.elapsed().as_secs_f64();
    // A generated pool (fitted or loaded from DIR/generators), attached or,
    // for a CAS cell, trained on alone.
    let root = cell_dir.parent().and_then(Path::parent).unwrap_or(cell_dir);
    let data = TrainData {
        train,
        test,
        subset,
    };
    let (mut config, data, ctx) = crate::generate::cells::prepare(root, cell, data, ctx)?;
    config.out = Some(cell_dir.join("result.json"));
    let result = crate::train::train_resumable(&config, data, ctx, Some(cell_dir))?;
    write_json_atomic(&cell_dir.join("result.json"), &result)
        .with_context(|| format!("writing {}", cell_dir.join("result.json").display()))?;
    crate::checkpoint::clear(cell_dir)?;
    Ok(result)
}

/// The status in `cell_dir/result.json`, if the cell finished.
pub fn read_status(cell_dir: &Path) -> Option<Status> {
    #[derive(Deserialize)]
    struct Head {
        status: Status,
    }
    let text = std::fs::read_to_string(cell_dir.join("result.json")).ok()?;
    serde_json::from_str::<Head>(&text).ok().map(|h| h.status)
}

/// Whether `e` comes from a full disk (a checkpoint or a result write).
pub(super) fn disk_full(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        matches!(
            cause.downcast_ref::<crate::checkpoint::CheckpointError>(),
            Some(crate::checkpoint::CheckpointError::DiskFull { .. })
        ) || cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(crate::checkpoint::is_disk_full)
    })
}
