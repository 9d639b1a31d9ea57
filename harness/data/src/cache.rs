//! The decoded-set cache: a (train, test) pair of u8 image sets and their
//! provenance in one file, so a folder or parquet set is decoded once per
//! experiment and every cell and later run reuses it.
//!
//! File: `AUGKITDS` (8 bytes), format version (u32 LE), header length (u64
//! LE), a JSON header (shapes, classes, provenance, SHA-256 of the payload),
//! then the payload: train pixels, train labels (u32 LE), test pixels, test
//! labels. The name carries the input digest (file list with sizes and
//! modification times, plus the conversion options), so a changed input or
//! option misses. Written to a temporary file and renamed (atomic); on
//! reading, the length and the payload's SHA-256 are checked, and a file that
//! fails is reported as [`Lookup::Corrupt`] (the caller decodes again and
//! overwrites it).

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{DataError, Result};
use crate::folder::hex;
use crate::image_set::ImageSet;
use crate::provenance::Provenance;

const MAGIC: &[u8; 8] = b"AUGKITDS";
const VERSION: u32 = 1;
/// Largest JSON header read back.
const MAX_HEADER: u64 = 64 << 20;

/// The cache file for `input_digest` in `dir`.
pub fn cache_path(dir: &Path, kind: &str, input_digest: &str) -> PathBuf {
    dir.join(format!(
        "{kind}-{}.augkit-set",
        &input_digest[..input_digest.len().min(32)]
    ))
}

#[derive(Serialize, Deserialize)]
struct Shape {
    name: String,
    n: usize,
    channels: u32,
    height: u32,
    width: u32,
}

#[derive(Serialize, Deserialize)]
struct Header {
    train: Shape,
    test: Shape,
    num_classes: u32,
    class_names: Vec<String>,
    provenance: Provenance,
    payload_sha256: String,
}

/// What a lookup found.
#[derive(Debug)]
pub enum Lookup {
    Hit(Box<(ImageSet, ImageSet, Provenance)>),
    Miss,
    /// The file exists but fails its checks (the reason in words).
    Corrupt(String),
}

fn shape(s: &ImageSet) -> Shape {
    Shape {
        name: s.name.clone(),
        n: s.len(),
        channels: s.channels,
        height: s.height,
        width: s.width,
    }
}

fn labels_le(s: &ImageSet) -> Vec<u8> {
    s.labels.iter().flat_map(|l| l.to_le_bytes()).collect()
}

/// SHA-256 (hex) of the payload as stored.
pub fn content_digest(train: &ImageSet, test: &ImageSet) -> String {
    let mut h = Sha256::new();
    for s in [train, test] {
        h.update(&s.pixels);
        h.update(labels_le(s));
    }
    hex(&h.finalize())
}

/// Writes the pair atomically; `prov.content_digest` should already be set.
pub fn store(path: &Path, train: &ImageSet, test: &ImageSet, prov: &Provenance) -> Result<()> {
    let io = |e| DataError::io(path, e);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let header = Header {
        train: shape(train),
        test: shape(test),
        num_classes: train.num_classes,
        class_names: train.class_names.clone(),
        provenance: Provenance {
            from_cache: false,
            ..prov.clone()
        },
        payload_sha256: content_digest(train, test),
    };
    let json = serde_json::to_vec(&header).map_err(|e| DataError::format(path, e.to_string()))?;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
        f.write_all(MAGIC)?;
        f.write_all(&VERSION.to_le_bytes())?;
        f.write_all(&(json.len() as u64).to_le_bytes())?;
        f.write_all(&json)?;
        for s in [train, test] {
            f.write_all(&s.pixels)?;
            f.write_all(&labels_le(s))?;
        }
        f.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io(e)
    })
}

/// Reads and verifies the pair at `path`.
pub fn load(path: &Path) -> Lookup {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Lookup::Miss,
        Err(e) => return Lookup::Corrupt(format!("cannot read: {e}")),
    };
    match parse(&bytes) {
        Ok(v) => Lookup::Hit(Box::new(v)),
        Err(e) => Lookup::Corrupt(e),
    }
}

fn parse(bytes: &[u8]) -> std::result::Result<(ImageSet, ImageSet, Provenance), String> {
    if bytes.len() < 20 || &bytes[..8] != MAGIC {
        return Err("not a decoded-set cache file".into());
    }
    let version = u32::from_le_bytes(bytes[8..12].try_into().unwrap());
    if version != VERSION {
        return Err(format!("format version {version}, expected {VERSION}"));
    }
    let hlen = u64::from_le_bytes(bytes[12..20].try_into().unwrap());
    if hlen > MAX_HEADER || 20 + hlen > bytes.len() as u64 {
        return Err("header length out of range".into());
    }
    let body = &bytes[20 + hlen as usize..];
    let header: Header =
        serde_json::from_slice(&bytes[20..20 + hlen as usize]).map_err(|e| e.to_string())?;
    let sizes = [&header.train, &header.test].map(|s| {
        (s.channels as u64 * s.height as u64 * s.width as u64)
            .checked_mul(s.n as u64)
            .and_then(|px| px.checked_add(4 * s.n as u64))
    });
    let (Some(a), Some(b)) = (sizes[0], sizes[1]) else {
        return Err("sizes overflow".into());
    };
    if a.checked_add(b) != Some(body.len() as u64) {
        return Err(format!(
            "payload is {} bytes, the header says {}",
            body.len(),
            a.saturating_add(b)
        ));
    }
    let digest = hex(&Sha256::digest(body));
    if digest != header.payload_sha256 {
        return Err("payload SHA-256 differs from the header's".into());
    }
    let mut at = 0usize;
    let mut take = |s: &Shape| -> std::result::Result<ImageSet, String> {
        let px = s.channels as usize * s.height as usize * s.width as usize * s.n;
        let pixels = body[at..at + px].to_vec();
        at += px;
        let labels = body[at..at + 4 * s.n]
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        at += 4 * s.n;
        ImageSet::new(
            s.name.clone(),
            s.channels,
            s.height,
            s.width,
            pixels,
            labels,
            header.num_classes,
            header.class_names.clone(),
        )
        .map_err(|e| e.to_string())
    };
    let train = take(&header.train)?;
    let test = take(&header.test)?;
    let mut prov = header.provenance;
    prov.from_cache = true;
    Ok((train, test, prov))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TempDir;

    fn pair() -> (ImageSet, ImageSet) {
        let names = vec!["a".to_string(), "b".to_string()];
        (
            ImageSet::new(
                "x-train",
                1,
                2,
                2,
                (0..12).collect(),
                vec![0, 1, 1],
                2,
                names.clone(),
            )
            .unwrap(),
            ImageSet::new("x-test", 1, 2, 2, vec![9; 4], vec![0], 2, names).unwrap(),
        )
    }

    #[test]
    fn round_trips_and_rejects_damage() {
        let tmp = TempDir::new("cache");
        let p = cache_path(tmp.path(), "folder", &"ab".repeat(32));
        assert!(matches!(load(&p), Lookup::Miss));
        let (train, test) = pair();
        let prov = Provenance {
            source: "folder:x".into(),
            ..Provenance::default()
        };
        store(&p, &train, &test, &prov).unwrap();
        let Lookup::Hit(hit) = load(&p) else {
            panic!("no hit")
        };
        assert_eq!((&hit.0, &hit.1), (&train, &test));
        assert!(hit.2.from_cache && hit.2.source == "folder:x");
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1);

        let good = std::fs::read(&p).unwrap();
        let mut flipped = good.clone();
        *flipped.last_mut().unwrap() ^= 1;
        std::fs::write(&p, &flipped).unwrap();
        let Lookup::Corrupt(why) = load(&p) else {
            panic!("accepted a damaged file")
        };
        assert!(why.contains("SHA-256"), "{why}");
        std::fs::write(&p, &good[..good.len() - 3]).unwrap();
        let Lookup::Corrupt(why) = load(&p) else {
            panic!("accepted a cut file")
        };
        assert!(why.contains("payload is"), "{why}");
        std::fs::write(&p, b"AUGKITDS").unwrap();
        assert!(matches!(load(&p), Lookup::Corrupt(_)));
    }
}
