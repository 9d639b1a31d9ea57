//! The experiment's data sets: each read once per process and shared by
//! its cells, its provenance hashed from the bytes that were read; the
//! generated 1×28×28 shapes the `quick` preset falls back to; and the
//! bounded `augkit download` attempt behind the fallback.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use augkit_data::ImageSet;

use super::schema::DatasetEntry;

/// The generated 1×28×28 shapes the `quick` preset falls back to.
pub const SYNTHETIC_28: &str = "synthetic-shapes-28";
/// Images per class of [`SYNTHETIC_28`] (train, test).
pub const SYNTHETIC_28_PER_CLASS: (usize, usize) = (500, 100);

/// How long `quick` waits for `augkit download` before falling back.
pub const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(20);

/// A data set as this process's cells share it: loaded once, never copied
/// per cell.
pub struct SharedData {
    pub train: Arc<ImageSet>,
    pub test: Arc<ImageSet>,
    /// Seconds the one load took (each cell records it as its data load).
    pub load_s: f64,
}

/// Loads (train, test) of an experiment data set name, with the provenance
/// of IDX files hashed from the bytes that were parsed.
pub fn load_dataset(name: &str, data_dir: &Path) -> anyhow::Result<augkit_data::LoadedSet> {
    if name == SYNTHETIC_28 {
        let (seed_train, seed_test) = augkit_data::SYNTHETIC_SEEDS;
        let mut train =
            augkit_data::synthetic::generate(1, 28, 28, SYNTHETIC_28_PER_CLASS.0, seed_train)?;
        let mut test =
            augkit_data::synthetic::generate(1, 28, 28, SYNTHETIC_28_PER_CLASS.1, seed_test)?;
        train.name = format!("{SYNTHETIC_28}-train");
        test.name = format!("{SYNTHETIC_28}-test");
        return Ok(augkit_data::LoadedSet {
            train,
            test,
            provenance: None,
        });
    }
    crate::data::load_with_provenance(name, data_dir)
}

/// Readies `entry`'s data set for this process: loads it when `needed` (a
/// cell of this shard will train on it), else reads its files only to hash
/// them. Either way the files are read once, and what was read fills in
/// `entry.source` and `entry.sha256` (IDX data sets). `None` when not needed;
/// a load error comes back as its message, for the cells to report.
pub fn prepare(
    entry: &mut DatasetEntry,
    data_dir: &Path,
    needed: bool,
) -> Option<Result<SharedData, String>> {
    if !needed {
        if let Some((_, source, sha256)) = augkit_data::idx_provenance(&entry.name, data_dir) {
            entry.source = Some(source);
            entry.sha256 = Some(sha256);
        }
        return None;
    }
    let t = Instant::now();
    Some(match load_dataset(&entry.name, data_dir) {
        Ok(loaded) => {
            if let Some(p) = loaded.provenance {
                entry.source = Some(p.source);
                entry.sha256 = Some(p.sha256);
            }
            Ok(SharedData {
                train: Arc::new(loaded.train),
                test: Arc::new(loaded.test),
                load_s: t.elapsed().as_secs_f64(),
            })
        }
        Err(e) => Err(format!("{e:#}")),
    })
}

/// Runs `augkit download NAME` with a time limit (the thread is abandoned
/// when it runs over).
pub(super) fn download_with_timeout(
    name: &str,
    data_dir: &Path,
    timeout: Duration,
) -> anyhow::Result<()> {
    let (tx, rx) = std::sync::mpsc::channel();
    let (name_owned, dir) = (name.to_string(), data_dir.to_path_buf());
    std::thread::spawn(move || {
        let _ = tx.send(augkit_data::download(&name_owned, &dir, None).map(|_| ()));
    });
    match rx.recv_timeout(timeout) {
        Ok(result) => Ok(result?),
        Err(_) => anyhow::bail!("no answer within {} s", timeout.as_secs()),
    }
}

pub(super) fn loud(lines: &[String]) {
    let bar = "!".repeat(78);
    eprintln!("\n{bar}");
    for line in lines {
        eprintln!("!!! {line}");
    }
    eprintln!("{bar}\n");
}

/// Whether `name`'s files are in `dir` (generated sets always are): the
/// search `load` makes, without reading a file.
pub(super) fn dataset_present(name: &str, dir: &Path) -> bool {
    name.starts_with("synthetic-shapes") || augkit_data::is_present(name, dir)
}
