//! Reading a whole file with a size cap: at most `limit + 1` bytes are ever
//! read, so a huge file, a FIFO or `/dev/zero` under a trusted name costs
//! `limit` bytes of memory and an error, never the machine. The policy
//! loader ([`crate::Policy::from_file`]) and every file the `augkit` harness
//! reads back (results, configurations, checkpoints, bench JSON) use it.

use std::io::Read;
use std::path::Path;

/// The contents of `path` if it holds at most `limit` bytes. A longer
/// file is an error of kind [`std::io::ErrorKind::FileTooLarge`] whose
/// message says `larger than {limit} bytes`; callers add what the file is
/// and why the cap is what it is.
pub fn read_file_bounded(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(std::io::Error::new(
            std::io::ErrorKind::FileTooLarge,
            format!("larger than {limit} bytes"),
        ));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_up_to_the_limit_and_refuses_more() {
        let dir = std::env::temp_dir().join(format!("augkit-bounded-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("ten");
        std::fs::write(&path, b"0123456789").unwrap();
        assert_eq!(read_file_bounded(&path, 10).unwrap(), b"0123456789");
        let e = read_file_bounded(&path, 9).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::FileTooLarge);
        assert!(e.to_string().contains("larger than 9 bytes"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
        if Path::new("/dev/zero").exists() {
            let e = read_file_bounded(Path::new("/dev/zero"), 1 << 16).unwrap_err();
            assert_eq!(e.kind(), std::io::ErrorKind::FileTooLarge);
        }
    }
}
