//! Atomic file writes, the one helper every output of the harness goes
//! through (results, checkpoints' state, the report, charts, previews): a
//! temporary file in the same directory, flushed and synced, then renamed
//! over the target, so a reader sees the old file or the new one, never half.

use std::io::Write;
use std::path::Path;

use serde::Serialize;

/// Writes `bytes` to `path` atomically, creating its directory if needed.
/// The temporary file (`.NAME.tmp.PID`) is removed when anything fails.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomic_failing(path, bytes, None)
}

/// [`write_atomic`], except that with `fault` it writes half of `bytes` and
/// then fails with that error: the tests' stand-in for a disk that fills or
/// a device that fails mid-write (the checkpoint writer's fault hook).
pub fn write_atomic_failing(
    path: &Path,
    bytes: &[u8],
    fault: Option<std::io::Error>,
) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)?;
    let file_name = path.file_name().ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{} names no file", path.display()),
        )
    })?;
    let tmp = dir.join(format!(
        ".{}.tmp.{}",
        file_name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        if let Some(fault) = fault {
            file.write_all(&bytes[..bytes.len() / 2])?;
            return Err(fault);
        }
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Writes `value` as pretty JSON (with a final newline) to `path` atomically.
pub fn write_json_atomic<T: Serialize>(path: &Path, value: &T) -> std::io::Result<()> {
    let mut bytes = serde_json::to_vec_pretty(value)?;
    bytes.push(b'\n');
    write_atomic(path, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/result.json");
        write_json_atomic(&path, &serde_json::json!({"a": 1})).unwrap();
        write_json_atomic(&path, &serde_json::json!({"a": 2})).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&text).unwrap()["a"],
            2
        );
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn a_path_without_a_file_name_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = write_atomic(&dir.path().join(".."), b"x").unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    }
}
