//! `augkit report DIR`: rebuilds an experiment's summary from its result
//! files alone (`DIR/cells/*/result.json`, plus `DIR/experiment.json` when it
//! is there) into `DIR/report.md`, `DIR/summary.csv`, `DIR/summary.json`,
//! `DIR/recommended.toml` ([`recommend`]) and the charts under `DIR/plots/`. Every number in them is computed here from
//! the result files; `docs/HARNESS.md` documents each column, the statistics
//! and the trade-off rule ([`RULE`]). One file per job:
//! [`load`] reads (typed) and [`validate`] checks what it reads; [`stats`]
//! (mean, CI, paired t-test), [`holm`] (the multiple-comparison adjustment),
//! [`worth`] (real-image equivalents), [`cost`] (augmentation cost, equal
//! compute) and [`converged`] compute; [`summary`] aggregates into [`row`]s; [`rule`] judges;
//! [`markdown`], [`csv`] and [`charts`] write; [`cas`] adds the synthetic
//! pools' CAS and generator cost.

pub mod cas;
pub mod charts;
pub mod converged;
pub mod cost;
pub mod csv;
pub mod holm;
pub mod load;
pub mod markdown;
pub mod recommend;
pub mod row;
pub mod rule;
pub mod stats;
pub mod summary;
pub mod validate;
pub mod worth;

use std::path::{Path, PathBuf};

use anyhow::Context;

pub use charts::plot_stem;
pub use cost::FREE_OVERHEAD_PCT;
pub use load::{Cell, ExperimentDir, load, technique_of};
pub use row::{Row, Verdict};
pub use rule::{Conclusion, RULE, pareto_set, rank_tradeoffs};
pub use stats::{PairedTest, Stat};
pub use summary::{Summary, summarise};

use crate::atomic::write_atomic;

/// The technique every other one is compared with.
pub const BASELINE: &str = "none";

/// What `augkit report` wrote.
#[derive(Debug)]
pub struct Written {
    pub summary: Summary,
    pub files: Vec<PathBuf>,
}

/// `augkit report DIR`: reads the results, writes the summary files and charts.
/// Cells left out (unfinished, failed, invalid figures) are listed in the
/// report and returned in `summary.skipped`.
pub fn run(dir: &Path) -> anyhow::Result<Written> {
    let mut exp = load(dir)?;
    // CAS cells are not techniques: their own section, not the comparison.
    let cas_cells = cas::take_cas_cells(&mut exp);
    anyhow::ensure!(
        !exp.cells.is_empty(),
        "{}: no completed result under cells/*/result.json{}",
        dir.display(),
        if exp.skipped.is_empty() {
            String::new()
        } else {
            format!(" ({} left out: {})", exp.skipped.len(), exp.skipped[0].1)
        }
    );
    for (id, why) in &exp.skipped {
        eprintln!("augkit report: left out cells/{id}: {why}");
    }
    let summary = summarise(&exp);
    let mut files = charts::draw_all(dir, &summary)?;
    let recs = recommend::recommendations(&exp, &summary);
    let use_it = recommend::use_it_section(&recs);
    let mut outputs = vec![
        ("summary.json".to_string(), {
            let mut j = serde_json::to_vec_pretty(&summary)?;
            j.push(b'\n');
            j
        }),
        ("summary.csv".to_string(), csv::csv(&summary).into_bytes()),
        ("report.md".to_string(), {
            let mut md = markdown::markdown(&exp, &summary, &use_it);
            md += &cas::section(&cas_cells, &exp.cells);
            md.into_bytes()
        }),
    ];
    outputs.extend(
        recommend::files(&recs)
            .into_iter()
            .map(|(name, text)| (name, text.into_bytes())),
    );
    for (name, bytes) in outputs {
        let path = dir.join(&name);
        write_atomic(&path, &bytes).with_context(|| format!("writing {}", path.display()))?;
        files.push(path);
    }
    Ok(Written { summary, files })
}

/// `augkit recommend DIR`: the recommendation of every group, as
/// `recommended.toml` holds the first (computed afresh from the result files).
pub fn recommend_text(dir: &Path) -> anyhow::Result<String> {
    let exp = load(dir)?;
    anyhow::ensure!(
        !exp.cells.is_empty(),
        "{}: no completed result under cells/*/result.json",
        dir.display()
    );
    let summary = summarise(&exp);
    let recs = recommend::recommendations(&exp, &summary);
    anyhow::ensure!(
        !recs.is_empty(),
        "{}: no group has a technique besides `{BASELINE}`: nothing to recommend",
        dir.display()
    );
    Ok(recs
        .iter()
        .map(|r| r.toml.clone())
        .collect::<Vec<_>>()
        .join("\n"))
}
