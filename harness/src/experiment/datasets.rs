//! The experiment's data sets: the generated 1×28×28 shapes the `quick`
//! preset falls back to, loading a data set by its experiment name, and
//! the bounded `augkit download` attempt behind the fallback.

use std::path::Path;
use std::time::Duration;

use augkit_data::ImageSet;

/// The generated 1×28×28 shapes the `quick` preset falls back to.
pub const SYNTHETIC_28: &str = "synthetic-shapes-28";
/// Images per class of [`SYNTHETIC_28`] (train, test).
pub const SYNTHETIC_28_PER_CLASS: (usize, usize) = (500, 100);

/// How long `quick` waits for `augkit download` before falling back.
pub const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(20);

/// Loads (train, test) of an experiment data set name.
pub fn load_dataset(name: &str, data_dir: &Path) -> anyhow::Result<(ImageSet, ImageSet)> {
    if name == SYNTHETIC_28 {
        let (seed_train, seed_test) = augkit_data::SYNTHETIC_SEEDS;
        let mut train =
            augkit_data::synthetic::generate(1, 28, 28, SYNTHETIC_28_PER_CLASS.0, seed_train)?;
        let mut test =
            augkit_data::synthetic::generate(1, 28, 28, SYNTHETIC_28_PER_CLASS.1, seed_test)?;
        train.name = format!("{SYNTHETIC_28}-train");
        test.name = format!("{SYNTHETIC_28}-test");
        return Ok((train, test));
    }
    crate::data::load(name, data_dir)
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

/// Whether `name`'s files are in `dir` (generated sets always are).
pub(super) fn dataset_present(name: &str, dir: &Path) -> bool {
    name.starts_with("synthetic-shapes") || augkit_data::load(name, dir).is_ok()
}
