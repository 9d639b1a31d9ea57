//! CIFAR-10 binary version reader: `data_batch_1.bin` … `data_batch_5.bin` and
//! `test_batch.bin` (records of 1 label byte + 3072 bytes: the R, G and B planes
//! of a 32×32 image, row-major, so already planar CHW), read from a directory or
//! straight from `cifar-10-binary.tar.gz`. Class names come from
//! `batches.meta.txt` when present, else the standard ten.
//!
//! Rejects: empty files, lengths that are not a multiple of 3073 (truncated
//! files), a record count other than the expected one when one is given
//! (the official files hold 10000), labels above 9, a malformed
//! `batches.meta.txt`, archive entries with absolute paths or `..`
//! components, duplicate or oversized archive entries, and missing files.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use crate::error::{DataError, Result};
use crate::image_set::ImageSet;

/// The standard class names, in label order.
pub const CIFAR10_CLASSES: [&str; 10] = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
];
/// Bytes per record: one label byte and 3×32×32 pixels.
pub const CIFAR10_RECORD_LEN: usize = 1 + 3 * 32 * 32;
/// Records in each official batch file.
pub const CIFAR10_RECORDS_PER_FILE: usize = 10_000;
/// The five training batches, in order.
pub const CIFAR10_TRAIN_FILES: [&str; 5] = [
    "data_batch_1.bin",
    "data_batch_2.bin",
    "data_batch_3.bin",
    "data_batch_4.bin",
    "data_batch_5.bin",
];
pub const CIFAR10_TEST_FILE: &str = "test_batch.bin";
pub const CIFAR10_META_FILE: &str = "batches.meta.txt";
/// The official archive's file name.
pub const CIFAR10_ARCHIVE: &str = "cifar-10-binary.tar.gz";
/// The folder the archive unpacks to.
pub const CIFAR10_DIR: &str = "cifar-10-batches-bin";

/// Largest archive entry we read into memory (an official batch is 30.7 MB).
const MAX_ENTRY_BYTES: u64 = 64 << 20;

/// Parses one batch file's bytes into (planar CHW pixels, labels).
/// `records` is the exact record count required, if any.
pub fn parse_cifar10_batch(
    bytes: &[u8],
    origin: &Path,
    records: Option<usize>,
) -> Result<(Vec<u8>, Vec<u32>)> {
    if bytes.is_empty() {
        return Err(DataError::format(origin, "empty CIFAR-10 batch file"));
    }
    if !bytes.len().is_multiple_of(CIFAR10_RECORD_LEN) {
        return Err(DataError::format(
            origin,
            format!(
                "length {} is not a multiple of the {CIFAR10_RECORD_LEN}-byte record (truncated?)",
                bytes.len()
            ),
        ));
    }
    let n = bytes.len() / CIFAR10_RECORD_LEN;
    if let Some(want) = records
        && n != want
    {
        return Err(DataError::format(
            origin,
            format!("{n} records, expected {want}"),
        ));
    }
    let mut pixels = Vec::with_capacity(n * (CIFAR10_RECORD_LEN - 1));
    let mut labels = Vec::with_capacity(n);
    for (i, rec) in bytes.chunks_exact(CIFAR10_RECORD_LEN).enumerate() {
        if rec[0] > 9 {
            return Err(DataError::format(
                origin,
                format!("record {i}: label {} is not in 0..=9", rec[0]),
            ));
        }
        labels.push(rec[0] as u32);
        pixels.extend_from_slice(&rec[1..]);
    }
    Ok((pixels, labels))
}

/// Parses `batches.meta.txt`: exactly ten non-empty lines (trailing blank lines allowed).
pub fn parse_cifar10_class_names(text: &[u8], origin: &Path) -> Result<Vec<String>> {
    let text = std::str::from_utf8(text)
        .map_err(|_| DataError::format(origin, "class-name file is not UTF-8"))?;
    let names: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    if names.len() != 10 {
        return Err(DataError::format(
            origin,
            format!("{} class names, expected 10", names.len()),
        ));
    }
    Ok(names)
}

/// True if `dir` (or `dir/cifar-10-batches-bin`) holds all six batch files, or
/// `dir` holds the archive.
pub fn cifar10_present(dir: &Path) -> bool {
    batch_dir(dir).is_some() || dir.join(CIFAR10_ARCHIVE).is_file()
}

/// The directory holding all six batch files: `dir` or `dir/cifar-10-batches-bin`.
pub(crate) fn batch_dir(dir: &Path) -> Option<PathBuf> {
    [dir.to_path_buf(), dir.join(CIFAR10_DIR)]
        .into_iter()
        .find(|d| {
            CIFAR10_TRAIN_FILES
                .iter()
                .chain([&CIFAR10_TEST_FILE])
                .all(|f| d.join(f).is_file())
        })
}

/// Reads (train, test) from unpacked batch files in `dir` or `dir/cifar-10-batches-bin`.
pub fn read_cifar10_dir(
    dir: &Path,
    records_per_file: Option<usize>,
) -> Result<(ImageSet, ImageSet)> {
    let Some(d) = batch_dir(dir) else {
        return Err(DataError::MissingFiles {
            name: "cifar10".into(),
            dir: dir.to_path_buf(),
            expected: expected_files(),
        });
    };
    let read = |name: &str| -> Result<Vec<u8>> {
        let p = d.join(name);
        std::fs::read(&p).map_err(|e| DataError::io(p, e))
    };
    let mut files = HashMap::new();
    for f in CIFAR10_TRAIN_FILES.iter().chain([&CIFAR10_TEST_FILE]) {
        files.insert(f.to_string(), read(f)?);
    }
    let meta_path = d.join(CIFAR10_META_FILE);
    let meta = if meta_path.is_file() {
        Some(read(CIFAR10_META_FILE)?)
    } else {
        None
    };
    assemble(&d, &files, meta.as_deref(), records_per_file)
}

/// Reads (train, test) straight from `cifar-10-binary.tar.gz` (no extraction to disk).
pub fn read_cifar10_archive(
    archive: &Path,
    records_per_file: Option<usize>,
) -> Result<(ImageSet, ImageSet)> {
    let file = std::fs::File::open(archive).map_err(|e| DataError::io(archive, e))?;
    read_cifar10_archive_from(std::io::BufReader::new(file), archive, records_per_file)
}

/// Like [`read_cifar10_archive`], from any reader of the `.tar.gz` bytes
/// (`origin` names it in errors).
pub fn read_cifar10_archive_from(
    reader: impl Read,
    origin: &Path,
    records_per_file: Option<usize>,
) -> Result<(ImageSet, ImageSet)> {
    let io = |e: std::io::Error| DataError::format(origin, format!("bad tar.gz: {e}"));
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(reader));
    let wanted: Vec<&str> = CIFAR10_TRAIN_FILES
        .iter()
        .copied()
        .chain([CIFAR10_TEST_FILE, CIFAR10_META_FILE])
        .collect();
    let mut files: HashMap<String, Vec<u8>> = HashMap::new();
    for entry in tar.entries().map_err(io)? {
        let entry = entry.map_err(io)?;
        let path = entry.path().map_err(io)?.into_owned();
        check_entry_path(&path, origin)?;
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if !entry.header().entry_type().is_file() || !wanted.contains(&name) {
            continue;
        }
        if entry.size() > MAX_ENTRY_BYTES {
            return Err(DataError::format(
                origin,
                format!(
                    "entry {} is {} bytes, too large",
                    path.display(),
                    entry.size()
                ),
            ));
        }
        let mut buf = Vec::with_capacity(entry.size() as usize);
        entry
            .take(MAX_ENTRY_BYTES)
            .read_to_end(&mut buf)
            .map_err(io)?;
        if files.insert(name.to_string(), buf).is_some() {
            return Err(DataError::format(
                origin,
                format!("archive holds {name} twice"),
            ));
        }
    }
    let missing: Vec<&str> = wanted[..6]
        .iter()
        .copied()
        .filter(|f| !files.contains_key(*f))
        .collect();
    if !missing.is_empty() {
        return Err(DataError::format(
            origin,
            format!("archive lacks {}", missing.join(", ")),
        ));
    }
    let meta = files.remove(CIFAR10_META_FILE);
    assemble(
        &origin.join(CIFAR10_DIR),
        &files,
        meta.as_deref(),
        records_per_file,
    )
}

/// Refuses absolute paths and `..` components in archive entries.
fn check_entry_path(path: &Path, origin: &Path) -> Result<()> {
    for c in path.components() {
        match c {
            Component::Normal(_) | Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                return Err(DataError::format(
                    origin,
                    format!("refusing archive entry with unsafe path {:?}", path),
                ));
            }
        }
    }
    Ok(())
}

fn assemble(
    base: &Path,
    files: &HashMap<String, Vec<u8>>,
    meta: Option<&[u8]>,
    records: Option<usize>,
) -> Result<(ImageSet, ImageSet)> {
    let class_names = match meta {
        Some(m) => parse_cifar10_class_names(m, &base.join(CIFAR10_META_FILE))?,
        None => CIFAR10_CLASSES.iter().map(|s| s.to_string()).collect(),
    };
    let mut train_px = Vec::new();
    let mut train_lb = Vec::new();
    for f in CIFAR10_TRAIN_FILES {
        let (p, l) = parse_cifar10_batch(&files[f], &base.join(f), records)?;
        train_px.extend_from_slice(&p);
        train_lb.extend_from_slice(&l);
    }
    let (test_px, test_lb) = parse_cifar10_batch(
        &files[CIFAR10_TEST_FILE],
        &base.join(CIFAR10_TEST_FILE),
        records,
    )?;
    let train = ImageSet::new(
        "cifar10-train",
        3,
        32,
        32,
        train_px,
        train_lb,
        10,
        class_names.clone(),
    )?;
    let test = ImageSet::new("cifar10-test", 3, 32, 32, test_px, test_lb, 10, class_names)?;
    Ok((train, test))
}

pub(crate) fn expected_files() -> String {
    format!(
        "{CIFAR10_ARCHIVE}, or {} and {CIFAR10_TEST_FILE} (optionally inside {CIFAR10_DIR}/), \
         or Hugging Face parquet shards train-*.parquet and test-*.parquet",
        CIFAR10_TRAIN_FILES.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{TempDir, cifar_batch, cifar_tar_gz};

    #[test]
    fn parses_records_into_planar_chw() {
        let bytes = cifar_batch(3, 7);
        let (px, lb) = parse_cifar10_batch(&bytes, Path::new("b"), Some(3)).unwrap();
        assert_eq!(lb.len(), 3);
        assert_eq!(px.len(), 3 * 3072);
        for i in 0..3 {
            assert_eq!(lb[i] as u8, bytes[i * CIFAR10_RECORD_LEN]);
            assert_eq!(
                &px[i * 3072..(i + 1) * 3072],
                &bytes[i * CIFAR10_RECORD_LEN + 1..(i + 1) * CIFAR10_RECORD_LEN]
            );
        }
        assert!(parse_cifar10_batch(&bytes, Path::new("b"), Some(4)).is_err());
    }

    #[test]
    fn rejects_truncated_empty_and_bad_labels() {
        let bytes = cifar_batch(2, 1);
        let e = parse_cifar10_batch(&bytes[..bytes.len() - 1], Path::new("x.bin"), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("x.bin") && e.contains("multiple"), "{e}");
        assert!(parse_cifar10_batch(&[], Path::new("x"), None).is_err());
        let mut bad = bytes.clone();
        bad[CIFAR10_RECORD_LEN] = 10;
        let e = parse_cifar10_batch(&bad, Path::new("x"), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("record 1") && e.contains("label 10"), "{e}");
    }

    #[test]
    fn reads_directory_with_and_without_meta() {
        let tmp = TempDir::new("cifar-dir");
        let d = tmp.path().join(CIFAR10_DIR);
        std::fs::create_dir_all(&d).unwrap();
        for (k, f) in CIFAR10_TRAIN_FILES.iter().enumerate() {
            std::fs::write(d.join(f), cifar_batch(4, k as u64)).unwrap();
        }
        std::fs::write(d.join(CIFAR10_TEST_FILE), cifar_batch(3, 9)).unwrap();
        assert!(cifar10_present(tmp.path()));
        let (train, test) = read_cifar10_dir(tmp.path(), None).unwrap();
        assert_eq!((train.len(), test.len()), (20, 3));
        assert_eq!(train.class_names[0], "airplane");
        assert_eq!(train.image(4), &cifar_batch(4, 1)[1..CIFAR10_RECORD_LEN]);
        assert!(read_cifar10_dir(tmp.path(), Some(CIFAR10_RECORDS_PER_FILE)).is_err());

        let names: String = (0..10).map(|i| format!("c{i}\n")).collect::<String>() + "\n\n";
        std::fs::write(d.join(CIFAR10_META_FILE), names).unwrap();
        let (train, _) = read_cifar10_dir(&d, None).unwrap();
        assert_eq!(train.class_names[9], "c9");
        std::fs::write(d.join(CIFAR10_META_FILE), "a\nb\n").unwrap();
        assert!(read_cifar10_dir(&d, None).is_err());

        std::fs::remove_file(d.join("data_batch_3.bin")).unwrap();
        let e = read_cifar10_dir(tmp.path(), None).unwrap_err().to_string();
        assert!(e.contains("augkit download cifar10"), "{e}");
    }

    #[test]
    fn reads_archive_and_refuses_unsafe_entries() {
        let tmp = TempDir::new("cifar-tgz");
        let mut entries: Vec<(String, Vec<u8>)> = CIFAR10_TRAIN_FILES
            .iter()
            .enumerate()
            .map(|(k, f)| (format!("{CIFAR10_DIR}/{f}"), cifar_batch(2, k as u64)))
            .collect();
        entries.push((
            format!("{CIFAR10_DIR}/{CIFAR10_TEST_FILE}"),
            cifar_batch(2, 5),
        ));
        entries.push((format!("{CIFAR10_DIR}/readme.html"), b"hi".to_vec()));
        let p = tmp.path().join(CIFAR10_ARCHIVE);
        std::fs::write(&p, cifar_tar_gz(&entries)).unwrap();
        let (train, test) = read_cifar10_archive(&p, Some(2)).unwrap();
        assert_eq!((train.len(), test.len()), (10, 2));
        assert_eq!(test.image(1), &cifar_batch(2, 5)[CIFAR10_RECORD_LEN + 1..]);

        for bad in ["../evil", "/abs/evil"] {
            let mut e2 = entries.clone();
            e2.push((bad.to_string(), vec![1]));
            std::fs::write(&p, cifar_tar_gz(&e2)).unwrap();
            let e = read_cifar10_archive(&p, None).unwrap_err().to_string();
            assert!(e.contains("unsafe path"), "{e}");
        }
        let mut e3 = entries.clone();
        e3.remove(0);
        std::fs::write(&p, cifar_tar_gz(&e3)).unwrap();
        let e = read_cifar10_archive(&p, None).unwrap_err().to_string();
        assert!(e.contains("data_batch_1.bin"), "{e}");

        let good = cifar_tar_gz(&entries);
        std::fs::write(&p, &good[..good.len() / 2]).unwrap();
        assert!(read_cifar10_archive(&p, None).is_err());
    }
}
