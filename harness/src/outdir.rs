//! Output directories: checked for writability before any data is loaded
//! or anything is trained, the experiment directory's locks, and the
//! start-up clean-up of what killed runs left behind.
//!
//! Locks are advisory `flock`s (std's `File::try_lock`): the kernel releases
//! them when the process exits or dies, so a `kill -9` never leaves a stale
//! one. Each lock file holds its holder's pid, for the error another process
//! gets. Two levels, because the shards of one matrix may share a directory
//! (each trains its own cells):
//! - `DIR/.augkit-K-of-N.lock` (`0-of-1` unsharded), for a whole run: a
//!   second process for the same share of the same directory is refused;
//! - `DIR/cells/<id>/.augkit.lock`, while a cell is trained or cleaned up:
//!   two processes never write into one cell, whatever their shards.
//!
//! `cargo test -p augkit-harness --test faults` exercises all of it.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// A cell directory's lock file.
pub const CELL_LOCK_FILE: &str = ".augkit.lock";

/// The run lock file of share `index` of `count`.
pub fn run_lock_file(index: u32, count: u32) -> String {
    format!(".augkit-{index}-of-{count}.lock")
}

/// Why an output location cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// The OS error is in the message and not a `source` as well, so that
    /// a report of the whole chain (`{:#}`) does not say it twice.
    #[error("{flag} {}: cannot write there ({error}); nothing was loaded or trained", path.display())]
    NotWritable {
        flag: &'static str,
        path: PathBuf,
        error: std::io::Error,
    },
    #[error(
        "{}: another augkit experiment (pid {holder}) is running in this directory; wait for it \
         to finish or stop it, then re-run (it resumes)",
        dir.display()
    )]
    Locked { dir: PathBuf, holder: String },
}

/// Bytes the probe writes unless told otherwise: more than a preview,
/// bench JSON or chart of ordinary size.
pub const PROBE_BYTES: u64 = 64 << 10;

/// Test hook: a decimal byte count; the probe then fails as a full disk
/// would when it writes more than that. Used by the tests where a small
/// tmpfs cannot be mounted.
pub const FAULT_FREE_ENV: &str = "AUGKIT_FAULT_DISK_FREE_BYTES";

/// [`ensure_writable_file_of`] with a [`PROBE_BYTES`] probe.
pub fn ensure_writable_file(flag: &'static str, path: &Path) -> Result<(), OutputError> {
    ensure_writable_file_of(flag, path, PROBE_BYTES)
}

/// Checks that a file of `bytes` bytes can be created at `path`: refuses a
/// path that ends in a separator (`newdir/` names a directory, and the
/// final rename would fail with "Not a directory") or names an existing
/// directory, makes the parent directories, then writes `bytes` bytes into
/// a probe file next to it, syncs and removes it. Catches a read-only file
/// system, `/proc/...`, a path through a regular file and a disk without
/// room for the file, before any work is done.
pub fn ensure_writable_file_of(
    flag: &'static str,
    path: &Path,
    bytes: u64,
) -> Result<(), OutputError> {
    let not_writable = |error| OutputError::NotWritable {
        flag,
        path: path.to_path_buf(),
        error,
    };
    let ends_in_separator = path
        .as_os_str()
        .as_encoded_bytes()
        .last()
        .is_some_and(|&b| std::path::is_separator(char::from(b)));
    if ends_in_separator || path.file_name().is_none() {
        return Err(not_writable(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "this names a directory, not a file; give a file path such as DIR/result.json",
        )));
    }
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
    probe(dir, bytes).map_err(not_writable)
}

/// Checks that files can be created in the directory `dir` (made if missing).
pub fn ensure_writable_dir(flag: &'static str, dir: &Path) -> Result<(), OutputError> {
    probe(dir, PROBE_BYTES).map_err(|error| OutputError::NotWritable {
        flag,
        path: dir.to_path_buf(),
        error,
    })
}

fn probe(dir: &Path, bytes: u64) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(format!(".augkit-probe.tmp.{}", std::process::id()));
    let free = std::env::var(FAULT_FREE_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok());
    let result = (|| {
        let mut file = File::create(&path)?;
        let block = [0u8; 1 << 16];
        let mut left = bytes;
        while left > 0 {
            let n = left.min(block.len() as u64);
            if free.is_some_and(|free| bytes - left + n > free) {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::StorageFull,
                    format!("No space left on device (injected by {FAULT_FREE_ENV})"),
                ));
            }
            file.write_all(&block[..n as usize])?;
            left -= n;
        }
        file.sync_all()
    })();
    let _ = std::fs::remove_file(&path);
    result
}

/// An exclusive lock on a file; released on drop (and by the kernel when
/// the process ends, however it ends).
#[derive(Debug)]
pub struct FileLock {
    _file: File,
}

impl FileLock {
    /// Takes the lock on `path` (created if missing) without waiting:
    /// `Ok(Err(holder))` when another process holds it (its pid, as it wrote
    /// it, or `unknown`).
    pub fn try_acquire(path: &Path) -> std::io::Result<Result<Self, String>> {
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                return Ok(Err(if holder.is_empty() {
                    "unknown".into()
                } else {
                    holder.to_string()
                }));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(e),
        }
        file.set_len(0)?;
        file.rewind()?;
        file.write_all(std::process::id().to_string().as_bytes())?;
        file.sync_all()?;
        Ok(Ok(Self { _file: file }))
    }
}

/// The run lock of one share of an experiment directory (see the module
/// comment), created with the directory if missing.
pub fn lock_run(
    flag: &'static str,
    dir: &Path,
    index: u32,
    count: u32,
) -> Result<FileLock, OutputError> {
    let not_writable = |error| OutputError::NotWritable {
        flag,
        path: dir.to_path_buf(),
        error,
    };
    std::fs::create_dir_all(dir).map_err(not_writable)?;
    FileLock::try_acquire(&dir.join(run_lock_file(index, count)))
        .map_err(not_writable)?
        .map_err(|holder| OutputError::Locked {
            dir: dir.to_path_buf(),
            holder,
        })
}

/// The lock of one cell directory (which must exist).
pub fn lock_cell(cell_dir: &Path) -> std::io::Result<Result<FileLock, String>> {
    FileLock::try_acquire(&cell_dir.join(CELL_LOCK_FILE))
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

/// Removes what killed runs left in an experiment directory, touching
/// only files augkit itself names: `.NAME.tmp.PID` files of a process that
/// no longer runs at the top; and in each cell whose lock it can take (so
/// that no other process is writing there) every temporary file, and the
/// checkpoint files no live checkpoint needs — all of them in a cell with a
/// `result.json`, those `checkpoint.json` does not name otherwise.
pub fn clean_stale(dir: &Path) -> std::io::Result<Cleaned> {
    let mut cleaned = Cleaned::default();
    let mut remove = |path: PathBuf| {
        let bytes = std::fs::metadata(&path).map_or(0, |m| m.len());
        if std::fs::remove_file(&path).is_ok() {
            cleaned.files += 1;
            cleaned.bytes += bytes;
        }
    };
    // Every shard writes experiment.json: only a dead writer's file is stale.
    for name in file_names(dir)? {
        if is_stale_temporary(&name) && writer_is_dead(&name) {
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
        let Ok(_lock) = lock_cell(&cell)? else {
            continue; // another process is working in this cell
        };
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

/// Whether the process whose pid ends a temporary file's name has ended.
/// Where `/proc` is missing this cannot be told: false.
fn writer_is_dead(name: &str) -> bool {
    let pid = name.rsplit('.').next().unwrap_or_default();
    Path::new("/proc/self").exists() && !Path::new("/proc").join(pid).exists()
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
            ..CheckpointState::default()
        }
    }

    /// An unfinished cell keeps the tensor files its checkpoint names and
    /// loses older ones; a cell with neither result nor checkpoint loses
    /// its tensor files; a cell another process holds is not touched; a
    /// second lock on a run or a cell is refused with the holder's pid.
    #[test]
    fn clean_up_keeps_the_live_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let _run = lock_run("--out", dir.path(), 0, 1).unwrap();
        let e = lock_run("--out", dir.path(), 0, 1).unwrap_err().to_string();
        let pid = format!("(pid {})", std::process::id());
        assert!(e.contains(&pid), "{e}");
        let _other_share = lock_run("--out", dir.path(), 1, 2).unwrap();
        let cells = dir.path().join("cells");
        let (a, b, c) = (cells.join("a"), cells.join("b"), cells.join("c"));
        for d in [&a, &b, &c] {
            std::fs::create_dir_all(d).unwrap();
        }
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
        std::fs::write(c.join("model-e3.ot"), b"x").unwrap();
        let held = lock_cell(&c).unwrap().unwrap();
        assert_eq!(
            lock_cell(&c).unwrap().unwrap_err(),
            std::process::id().to_string()
        );
        let cleaned = clean_stale(dir.path()).unwrap();
        assert_eq!(cleaned, Cleaned { files: 4, bytes: 4 });
        let names = |d: &Path| {
            let mut v: Vec<String> = std::fs::read_dir(d)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n != CELL_LOCK_FILE)
                .collect();
            v.sort();
            v
        };
        assert_eq!(
            names(&a),
            ["checkpoint.json", "model-e2.ot", "optimizer-e2.ot"]
        );
        assert_eq!(names(&b), Vec::<String>::new());
        assert_eq!(names(&c), ["model-e3.ot"]);
        drop(held);
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
