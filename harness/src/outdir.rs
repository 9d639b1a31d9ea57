//! Output directories: checked for writability before any data is loaded
//! or anything is trained, the experiment directory's exclusive lock, and
//! the start-up clean-up of what killed runs left behind.
//!
//! The lock is an advisory `flock` on `DIR/.augkit.lock` (std's
//! `File::try_lock`), held for the whole run: the kernel releases it when
//! the process exits or dies, so a `kill -9` never leaves a stale lock. The
//! file holds the holder's pid, for the error a second process gets.
//! `cargo test -p augkit-harness --test faults` exercises all of it.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// The lock file's name inside an experiment directory.
pub const LOCK_FILE: &str = ".augkit.lock";

/// Why an output location cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("{flag} {}: cannot write there ({source}); nothing was loaded or trained", path.display())]
    NotWritable {
        flag: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{}: another augkit experiment (pid {holder}) is running in this directory; wait for it \
         to finish or stop it, then re-run (it resumes)",
        dir.display()
    )]
    Locked { dir: PathBuf, holder: String },
}

/// Checks that the file `path` can be created: makes its parent
/// directories, then writes, syncs and removes a probe file next to it.
/// Catches a read-only file system, `/proc/...`, a path through a regular
/// file and (mostly) a full disk, before any work is done.
pub fn ensure_writable_file(flag: &'static str, path: &Path) -> Result<(), OutputError> {
    let not_writable = |source| OutputError::NotWritable {
        flag,
        path: path.to_path_buf(),
        source,
    };
    if path.is_dir() {
        return Err(not_writable(std::io::Error::new(
            std::io::ErrorKind::IsADirectory,
            "a directory, not a file path",
        )));
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    probe(dir).map_err(not_writable)
}

/// Checks that files can be created in the directory `dir` (made if missing).
pub fn ensure_writable_dir(flag: &'static str, dir: &Path) -> Result<(), OutputError> {
    probe(dir).map_err(|source| OutputError::NotWritable {
        flag,
        path: dir.to_path_buf(),
        source,
    })
}

fn probe(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(format!(".augkit-probe.tmp.{}", std::process::id()));
    let result = (|| {
        let mut file = File::create(&path)?;
        file.write_all(&[0u8; 4096])?;
        file.sync_all()
    })();
    let _ = std::fs::remove_file(&path);
    result
}

/// The exclusive lock on an experiment directory; released on drop (and by
/// the kernel when the process ends, however it ends).
#[derive(Debug)]
pub struct DirLock {
    _file: File,
}

impl DirLock {
    /// Takes the lock on `dir` (created if missing) without waiting.
    pub fn acquire(flag: &'static str, dir: &Path) -> Result<Self, OutputError> {
        let path = dir.join(LOCK_FILE);
        let not_writable = |source| OutputError::NotWritable {
            flag,
            path: dir.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(not_writable)?;
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(not_writable)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                return Err(OutputError::Locked {
                    dir: dir.to_path_buf(),
                    holder: if holder.is_empty() {
                        "unknown".into()
                    } else {
                        holder.to_string()
                    },
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(not_writable(e)),
        }
        let pid = std::process::id().to_string();
        file.set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| file.write_all(pid.as_bytes()))
            .and_then(|()| file.sync_all())
            .map_err(not_writable)?;
        Ok(Self { _file: file })
    }
}

/// What [`clean_stale`] removed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Cleaned {
    pub files: usize,
    pub bytes: u64,
}

/// Names of the files an experiment writes through a temporary
/// `.NAME.tmp.PID` (besides the tensor files).
const WRITTEN: [&str; 4] = [
    "experiment.json",
    "config.json",
    "result.json",
    crate::checkpoint::STATE_FILE,
];

/// Whether `name` is `.NAME.tmp.PID` for a file augkit writes.
pub fn is_stale_temporary(name: &str) -> bool {
    let Some(rest) = name.strip_prefix('.') else {
        return false;
    };
    let Some((base, pid)) = rest.rsplit_once(".tmp.") else {
        return false;
    };
    !pid.is_empty()
        && pid.bytes().all(|b| b.is_ascii_digit())
        && (WRITTEN.contains(&base) || crate::checkpoint::is_tensor_file(base))
}

/// Removes, from an experiment directory whose lock the caller holds
/// (so no other augkit process is writing there): temporary files of
/// interrupted writes, and checkpoint files no live checkpoint needs — all
/// of them in a cell with a `result.json`, those `checkpoint.json` does not
/// name otherwise. Only files augkit itself names are touched.
pub fn clean_stale(dir: &Path, _lock: &DirLock) -> std::io::Result<Cleaned> {
    let mut cleaned = Cleaned::default();
    let mut remove = |path: PathBuf| {
        let bytes = std::fs::metadata(&path).map_or(0, |m| m.len());
        if std::fs::remove_file(&path).is_ok() {
            cleaned.files += 1;
            cleaned.bytes += bytes;
        }
    };
    for name in file_names(dir)? {
        if is_stale_temporary(&name) {
            remove(dir.join(name));
        }
    }
    let cells = dir.join("cells");
    if !cells.is_dir() {
        return Ok(cleaned);
    }
    for entry in std::fs::read_dir(&cells)? {
        let cell = entry?.path();
        if !cell.is_dir() {
            continue;
        }
        let finished = cell.join("result.json").is_file();
        let live = if finished {
            Ok(None)
        } else {
            crate::checkpoint::load(&cell)
        };
        for name in file_names(&cell)? {
            let orphan = crate::checkpoint::is_tensor_file(&name)
                && match &live {
                    Ok(None) => true,
                    Ok(Some(s)) => name != s.model_file && name != s.optimizer_file,
                    // An unreadable checkpoint.json is left for the resume
                    // to judge (and discard).
                    Err(_) => false,
                };
            if is_stale_temporary(&name) || orphan {
                remove(cell.join(&name));
            }
        }
        if finished && cell.join(crate::checkpoint::STATE_FILE).is_file() {
            remove(cell.join(crate::checkpoint::STATE_FILE));
        }
    }
    Ok(cleaned)
}

fn file_names(dir: &Path) -> std::io::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::CheckpointState;

    fn state(epochs_done: u32) -> CheckpointState {
        CheckpointState {
            epochs_done,
            model_file: format!("model-e{epochs_done}.ot"),
            optimizer_file: format!("optimizer-e{epochs_done}.ot"),
            curves: Vec::new(),
            augmentation_times_s: Vec::new(),
            model_times_s: Vec::new(),
            step_times_s: Vec::new(),
            train_wall_s: 0.0,
            epoch_eval_s: 0.0,
            samples: 0,
            global_step: 0,
            total_wall_s: 0.0,
        }
    }

    /// An unfinished cell keeps the tensor files its checkpoint names and
    /// loses older ones; a cell with neither result nor checkpoint loses
    /// its tensor files; a second lock on the directory is refused.
    #[test]
    fn clean_up_keeps_the_live_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let lock = DirLock::acquire("--out", dir.path()).unwrap();
        let e = DirLock::acquire("--out", dir.path())
            .unwrap_err()
            .to_string();
        assert!(e.contains(&format!("(pid {})", std::process::id())), "{e}");
        let (a, b) = (dir.path().join("cells/a"), dir.path().join("cells/b"));
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        crate::result::write_json_atomic(&a.join("checkpoint.json"), &state(2)).unwrap();
        for f in [
            "model-e1.ot",
            "optimizer-e1.ot",
            "model-e2.ot",
            "optimizer-e2.ot",
            ".checkpoint.json.tmp.5",
        ] {
            std::fs::write(a.join(f), b"x").unwrap();
        }
        std::fs::write(b.join("model-e3.ot"), b"x").unwrap();
        let cleaned = clean_stale(dir.path(), &lock).unwrap();
        assert_eq!(cleaned, Cleaned { files: 4, bytes: 4 });
        let mut left: Vec<String> = std::fs::read_dir(&a)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["checkpoint.json", "model-e2.ot", "optimizer-e2.ot"]);
        assert_eq!(std::fs::read_dir(&b).unwrap().count(), 0);
    }

    #[test]
    fn stale_temporaries_are_only_ours() {
        assert!(is_stale_temporary(".result.json.tmp.4242"));
        assert!(is_stale_temporary(".model-e3.ot.tmp.17"));
        assert!(is_stale_temporary(".checkpoint.json.tmp.1"));
        assert!(!is_stale_temporary(".result.json.tmp."));
        assert!(!is_stale_temporary(".notes.txt.tmp.12"));
        assert!(!is_stale_temporary("result.json"));
        assert!(!is_stale_temporary(".result.json.tmp.12x"));
    }
}
