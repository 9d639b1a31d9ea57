//! Compiled module images kept on disk between processes, so that only the
//! first process on a machine pays NVRTC's compile (one to two minutes for
//! sm_90 on the 2-core CI machine); every later one reads the image from
//! disk. An entry is named by a SHA-256 over the key material its
//! caller hands over (`compile.rs`: everything that decides the image —
//! source, headers, options, target, NVRTC version), written
//! atomically and checked against its own digest when read: a damaged,
//! truncated or foreign file is ignored and compiled again, never loaded.

use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// Environment variable naming the cache directory; `off` (or empty)
/// turns the disk cache off.
pub const CACHE_ENV: &str = "AUGKIT_CUDA_CACHE";

const MAGIC: &[u8; 8] = b"augkit1\n";

/// The cache directory, from `AUGKIT_CUDA_CACHE`, else
/// `$XDG_CACHE_HOME/augkit/cuda`, else `$HOME/.cache/augkit/cuda`; `None`
/// when turned off or when none of them is set.
pub fn dir() -> Option<PathBuf> {
    dir_from(
        std::env::var_os(CACHE_ENV),
        std::env::var_os("XDG_CACHE_HOME"),
        std::env::var_os("HOME"),
    )
}

fn dir_from(
    own: Option<OsString>,
    xdg: Option<OsString>,
    home: Option<OsString>,
) -> Option<PathBuf> {
    let set = |v: Option<OsString>| v.filter(|v| !v.is_empty());
    if let Some(own) = own {
        return (!own.is_empty() && own != "off").then(|| PathBuf::from(own));
    }
    if let Some(xdg) = set(xdg) {
        return Some(Path::new(&xdg).join("augkit").join("cuda"));
    }
    set(home).map(|home| Path::new(&home).join(".cache").join("augkit").join("cuda"))
}

/// The entry's file name for an image of `kind` (`sm_90`, `compute_90`)
/// decided by `inputs` (the caller's key material: sources, options,
/// target, compiler version), each hashed with a terminating NUL.
pub fn file_name(kind: &str, inputs: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for input in inputs {
        h.update(input);
        h.update(b"\0");
    }
    let digest = h.finalize();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("augment-{kind}-{}.bin", &hex[..32])
}

/// The image stored at `path`, if the file is a whole, intact entry.
pub fn load(path: &Path) -> Option<Vec<u8>> {
    let bytes = fs::read(path).ok()?;
    let rest = bytes.strip_prefix(MAGIC.as_slice())?;
    if rest.len() <= 32 {
        return None;
    }
    let (digest, image) = rest.split_at(32);
    (Sha256::digest(image).as_slice() == digest).then(|| image.to_vec())
}

/// Writes `image` to `path` atomically (a temporary file in the same
/// directory, then a rename), creating the directory.
pub fn store(path: &Path, image: &[u8]) -> io::Result<()> {
    let parent = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(parent)?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("entry");
    let temp = parent.join(format!(".{name}.{}.tmp", std::process::id()));
    let mut bytes = Vec::with_capacity(MAGIC.len() + 32 + image.len());
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&Sha256::digest(image));
    bytes.extend_from_slice(image);
    let written = fs::write(&temp, &bytes).and_then(|()| fs::rename(&temp, path));
    if written.is_err() {
        let _ = fs::remove_file(&temp);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("augkit-disk-cache-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn an_entry_round_trips_and_a_damaged_one_is_refused() {
        let dir = temp_dir("round-trip");
        let path = dir
            .join("nested")
            .join(file_name("sm_90", &[b"source", b"options"]));
        let image: Vec<u8> = (0..4096u32).map(|i| (i * 7 % 251) as u8).collect();
        store(&path, &image).unwrap();
        assert_eq!(load(&path).as_deref(), Some(image.as_slice()));
        let whole = fs::read(&path).unwrap();

        let mut flipped = whole.clone();
        flipped[whole.len() / 2] ^= 1;
        fs::write(&path, &flipped).unwrap();
        assert_eq!(load(&path), None, "a flipped byte");
        fs::write(&path, &whole[..whole.len() - 1]).unwrap();
        assert_eq!(load(&path), None, "truncated");
        fs::write(&path, &whole[..MAGIC.len() + 32]).unwrap();
        assert_eq!(load(&path), None, "no image");
        let mut foreign = whole.clone();
        foreign[0] = b'A';
        fs::write(&path, &foreign).unwrap();
        assert_eq!(load(&path), None, "another format");
        assert_eq!(load(&dir.join("missing")), None);
        // Only the entry is left: no temporary file.
        let names: Vec<_> = fs::read_dir(path.parent().unwrap()).unwrap().collect();
        assert_eq!(names.len(), 1);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_failed_store_is_an_error_and_leaves_nothing() {
        let dir = temp_dir("blocked");
        fs::create_dir_all(&dir).unwrap();
        // The entry's name is taken by a directory: the rename fails.
        let path = dir.join("entry.bin");
        fs::create_dir_all(path.join("occupied")).unwrap();
        assert!(store(&path, b"image").is_err());
        let names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![OsString::from("entry.bin")]);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_directory_follows_the_environment() {
        let os = |s: &str| Some(OsString::from(s));
        assert_eq!(
            dir_from(os("/c"), os("/x"), os("/h")),
            Some(PathBuf::from("/c"))
        );
        assert_eq!(dir_from(os("off"), os("/x"), os("/h")), None);
        assert_eq!(dir_from(os(""), os("/x"), os("/h")), None);
        assert_eq!(
            dir_from(None, os("/x"), os("/h")),
            Some(PathBuf::from("/x/augkit/cuda"))
        );
        assert_eq!(
            dir_from(None, os(""), os("/h")),
            Some(PathBuf::from("/h/.cache/augkit/cuda"))
        );
        assert_eq!(dir_from(None, None, None), None);
    }
}
