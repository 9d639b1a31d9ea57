//! IDX reader (the MNIST / Fashion-MNIST format): `*-idx3-ubyte` image files
//! (magic 0x00000803, dims N, rows, cols, then N×rows×cols u8) and
//! `*-idx1-ubyte` label files (magic 0x00000801, dim N, then N u8), plain or
//! gzip-compressed (detected by the gzip magic, whatever the file name).
//!
//! Rejects: a wrong magic (including other element types or dimension counts),
//! zero rows or columns, a length that differs from the header's by even one
//! byte, image and label counts that differ, labels not below the class
//! count, corrupt gzip, and decompressed sizes above 1 GiB.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{DataError, Result};
use crate::image_set::ImageSet;

/// Magic of an idx3-ubyte (u8, three dimensions) file.
pub const IDX_IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic of an idx1-ubyte (u8, one dimension) file.
pub const IDX_LABELS_MAGIC: u32 = 0x0000_0801;
/// Fashion-MNIST's class names, in label order.
pub const FASHION_MNIST_CLASSES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];
/// MNIST's class names (the digits).
pub const MNIST_CLASSES: [&str; 10] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
/// The four files of MNIST and Fashion-MNIST (same names for both), without `.gz`:
/// train images, train labels, test images, test labels.
pub const IDX_FILES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

const MAX_DECOMPRESSED: u64 = 1 << 30;

/// Decoded idx3-ubyte contents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdxImages {
    pub count: usize,
    pub rows: u32,
    pub cols: u32,
    /// count×rows×cols u8, row-major.
    pub pixels: Vec<u8>,
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn check_magic(bytes: &[u8], want: u32, origin: &Path, what: &str) -> Result<()> {
    if bytes.len() < 4 {
        return Err(DataError::format(
            origin,
            format!("{} bytes: too short for an IDX header", bytes.len()),
        ));
    }
    let magic = be32(bytes, 0);
    if magic != want {
        return Err(DataError::format(
            origin,
            format!("magic 0x{magic:08x}, expected 0x{want:08x} ({what})"),
        ));
    }
    Ok(())
}

/// Parses an idx3-ubyte image file's (decompressed) bytes.
pub fn parse_idx_images(bytes: &[u8], origin: &Path) -> Result<IdxImages> {
    check_magic(bytes, IDX_IMAGES_MAGIC, origin, "idx3-ubyte images")?;
    if bytes.len() < 16 {
        return Err(DataError::format(origin, "truncated idx3 header"));
    }
    let (count, rows, cols) = (be32(bytes, 4), be32(bytes, 8), be32(bytes, 12));
    if rows == 0 || cols == 0 {
        return Err(DataError::format(
            origin,
            format!("image size {rows}×{cols}"),
        ));
    }
    // u32³ can overflow u64: an overflowing header can never match the length.
    let body = (count as u64)
        .checked_mul(rows as u64)
        .and_then(|v| v.checked_mul(cols as u64));
    let have = (bytes.len() - 16) as u64;
    if body != Some(have) {
        let body = body.map_or("more than 2^64".to_string(), |b| b.to_string());
        return Err(DataError::format(
            origin,
            format!(
                "header says {count} images of {rows}×{cols} ({body} bytes) but {have} bytes follow"
            ),
        ));
    }
    Ok(IdxImages {
        count: count as usize,
        rows,
        cols,
        pixels: bytes[16..].to_vec(),
    })
}

/// Parses an idx1-ubyte label file's (decompressed) bytes; every label must be below `num_classes`.
pub fn parse_idx_labels(bytes: &[u8], origin: &Path, num_classes: u32) -> Result<Vec<u32>> {
    check_magic(bytes, IDX_LABELS_MAGIC, origin, "idx1-ubyte labels")?;
    if bytes.len() < 8 {
        return Err(DataError::format(origin, "truncated idx1 header"));
    }
    let count = be32(bytes, 4) as u64;
    let have = (bytes.len() - 8) as u64;
    if count != have {
        return Err(DataError::format(
            origin,
            format!("header says {count} labels but {have} bytes follow"),
        ));
    }
    bytes[8..]
        .iter()
        .enumerate()
        .map(|(i, &l)| {
            if (l as u32) < num_classes {
                Ok(l as u32)
            } else {
                Err(DataError::format(
                    origin,
                    format!("label {l} of item {i} is not below {num_classes}"),
                ))
            }
        })
        .collect()
}

/// Reads a file, gunzipping it if it starts with the gzip magic.
pub fn read_maybe_gz(path: &Path) -> Result<Vec<u8>> {
    let raw = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    gunzip_if_gz(raw, path)
}

/// Gunzips `raw` if it starts with the gzip magic (at most 1 GiB out), else returns it as is.
pub fn gunzip_if_gz(raw: Vec<u8>, origin: &Path) -> Result<Vec<u8>> {
    if raw.len() < 2 || raw[..2] != [0x1f, 0x8b] {
        return Ok(raw);
    }
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(&raw[..])
        .take(MAX_DECOMPRESSED + 1)
        .read_to_end(&mut out)
        .map_err(|e| DataError::format(origin, format!("bad gzip data: {e}")))?;
    if out.len() as u64 > MAX_DECOMPRESSED {
        return Err(DataError::format(origin, "decompresses to more than 1 GiB"));
    }
    Ok(out)
}

/// Builds an `ImageSet` (1 channel) from an image/label pair of decoded IDX bytes.
pub fn idx_pair_from_bytes(
    name: &str,
    images: &[u8],
    images_origin: &Path,
    labels: &[u8],
    labels_origin: &Path,
    num_classes: u32,
    class_names: Vec<String>,
) -> Result<ImageSet> {
    let img = parse_idx_images(images, images_origin)?;
    let lab = parse_idx_labels(labels, labels_origin, num_classes)?;
    if img.count != lab.len() {
        return Err(DataError::format(
            labels_origin,
            format!(
                "{} labels but {} has {} images",
                lab.len(),
                images_origin.display(),
                img.count
            ),
        ));
    }
    ImageSet::new(
        name,
        1,
        img.rows,
        img.cols,
        img.pixels,
        lab,
        num_classes,
        class_names,
    )
}

/// Reads an image file and a label file (each plain or `.gz`) into one set.
pub fn read_idx_pair(
    name: &str,
    images: &Path,
    labels: &Path,
    num_classes: u32,
    class_names: Vec<String>,
) -> Result<ImageSet> {
    idx_pair_from_bytes(
        name,
        &read_maybe_gz(images)?,
        images,
        &read_maybe_gz(labels)?,
        labels,
        num_classes,
        class_names,
    )
}

/// Finds `stem` in `dir` as `stem`, `stem.gz`, or with MNIST's alternative
/// `-idx3-ubyte` → `.idx3-ubyte` spelling.
pub fn find_idx_file(dir: &Path, stem: &str) -> Option<PathBuf> {
    let dotted = stem.replacen("-idx", ".idx", 1);
    [
        stem.to_string(),
        format!("{stem}.gz"),
        dotted.clone(),
        format!("{dotted}.gz"),
    ]
    .into_iter()
    .map(|f| dir.join(f))
    .find(|p| p.is_file())
}

/// Reads (train, test) for MNIST-layout data in `dir` (`fashion` picks the class names).
pub fn read_idx_dir(dir: &Path, name: &str, class_names: &[&str]) -> Result<(ImageSet, ImageSet)> {
    let files = read_idx_files(dir, name)?;
    idx_sets(&files, name, class_names)
}

/// [`read_idx_dir`], also returning each file's SHA-256 (hex, of its
/// uncompressed content, keyed by its stem in [`IDX_FILES`]), computed from
/// the bytes that were parsed: the files are read once.
pub fn read_idx_dir_hashed(
    dir: &Path,
    name: &str,
    class_names: &[&str],
) -> Result<(ImageSet, ImageSet, BTreeMap<String, String>)> {
    let files = read_idx_files(dir, name)?;
    let digests = IDX_FILES
        .iter()
        .zip(&files)
        .map(|(stem, (_, bytes))| (stem.to_string(), format!("{:x}", Sha256::digest(bytes))))
        .collect();
    let (train, test) = idx_sets(&files, name, class_names)?;
    Ok((train, test, digests))
}

/// The four [`IDX_FILES`] of `dir`: each path and its uncompressed bytes.
fn read_idx_files(dir: &Path, name: &str) -> Result<Vec<(PathBuf, Vec<u8>)>> {
    let found: Vec<Option<PathBuf>> = IDX_FILES.iter().map(|f| find_idx_file(dir, f)).collect();
    if found.iter().any(Option::is_none) {
        return Err(DataError::MissingFiles {
            name: name.into(),
            dir: dir.to_path_buf(),
            expected: idx_expected_files(),
        });
    }
    found
        .into_iter()
        .flatten()
        .map(|p| read_maybe_gz(&p).map(|bytes| (p, bytes)))
        .collect()
}

/// (train, test) from the four files [`read_idx_files`] returns.
fn idx_sets(
    files: &[(PathBuf, Vec<u8>)],
    name: &str,
    class_names: &[&str],
) -> Result<(ImageSet, ImageSet)> {
    let names: Vec<String> = class_names.iter().map(|s| s.to_string()).collect();
    let n = names.len() as u32;
    let pair = |set: String, images: &(PathBuf, Vec<u8>), labels: &(PathBuf, Vec<u8>), names| {
        idx_pair_from_bytes(&set, &images.1, &images.0, &labels.1, &labels.0, n, names)
    };
    let train = pair(format!("{name}-train"), &files[0], &files[1], names.clone())?;
    let test = pair(format!("{name}-test"), &files[2], &files[3], names)?;
    if (train.height, train.width) != (test.height, test.width) {
        return Err(DataError::format(
            &files[2].0,
            format!(
                "test images are {}×{} but training images are {}×{}",
                test.height, test.width, train.height, train.width
            ),
        ));
    }
    Ok((train, test))
}

pub(crate) fn idx_present(dir: &Path) -> bool {
    IDX_FILES.iter().all(|f| find_idx_file(dir, f).is_some())
}

pub(crate) fn idx_expected_files() -> String {
    format!(
        "{} (each plain or .gz), or Hugging Face parquet shards train-*.parquet and test-*.parquet",
        IDX_FILES.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{TempDir, gz, idx_images, idx_labels};

    #[test]
    fn parses_images_and_labels() {
        let px: Vec<u8> = (0..2 * 3 * 5).map(|i| i as u8).collect();
        let img = parse_idx_images(&idx_images(2, 3, 5, &px), Path::new("i")).unwrap();
        assert_eq!((img.count, img.rows, img.cols), (2, 3, 5));
        assert_eq!(img.pixels, px);
        let lb = parse_idx_labels(&idx_labels(&[3, 9]), Path::new("l"), 10).unwrap();
        assert_eq!(lb, vec![3, 9]);
    }

    #[test]
    fn rejects_bad_magic_lengths_and_labels() {
        let px = vec![7u8; 2 * 4 * 4];
        let good = idx_images(2, 4, 4, &px);
        let o = Path::new("train-images-idx3-ubyte");
        let mut m = good.clone();
        m[3] = 0x01;
        let e = parse_idx_images(&m, o).unwrap_err().to_string();
        assert!(
            e.contains("train-images-idx3-ubyte") && e.contains("magic"),
            "{e}"
        );
        let mut m = good.clone();
        m[2] = 0x0D; // float element type
        assert!(parse_idx_images(&m, o).is_err());
        assert!(parse_idx_images(&good[..good.len() - 1], o).is_err());
        let mut long = good.clone();
        long.push(0);
        assert!(parse_idx_images(&long, o).is_err());
        assert!(parse_idx_images(&idx_images(0, 0, 4, &[]), o).is_err());
        assert!(parse_idx_images(&good[..10], o).is_err());
        // Dimensions whose product overflows u64 (found by the property test).
        let e = parse_idx_images(&idx_images(u32::MAX, u32::MAX, u32::MAX, &[]), o);
        assert!(e.unwrap_err().to_string().contains("2^64"));

        let l = idx_labels(&[1, 2, 3]);
        assert!(parse_idx_labels(&l[..l.len() - 1], o, 10).is_err());
        let e = parse_idx_labels(&idx_labels(&[1, 10]), o, 10)
            .unwrap_err()
            .to_string();
        assert!(e.contains("label 10"), "{e}");
        assert!(parse_idx_labels(&good, o, 10).is_err());
    }

    #[test]
    fn pair_counts_must_match() {
        let img = idx_images(2, 2, 2, &[0; 8]);
        let lab = idx_labels(&[0, 1, 2]);
        let e = idx_pair_from_bytes("x", &img, Path::new("i"), &lab, Path::new("l"), 10, vec![])
            .unwrap_err()
            .to_string();
        assert!(e.contains("3 labels") && e.contains("2 images"), "{e}");
    }

    #[test]
    fn reads_plain_and_gz_directory() {
        let tmp = TempDir::new("idx");
        let d = tmp.path();
        let train_px: Vec<u8> = (0..5 * 28 * 28).map(|i| (i * 7) as u8).collect();
        std::fs::write(
            d.join("train-images-idx3-ubyte.gz"),
            gz(&idx_images(5, 28, 28, &train_px)),
        )
        .unwrap();
        std::fs::write(
            d.join("train-labels-idx1-ubyte"),
            idx_labels(&[0, 1, 2, 3, 9]),
        )
        .unwrap();
        std::fs::write(
            d.join("t10k-images-idx3-ubyte.gz"),
            gz(&idx_images(1, 28, 28, &[5; 784])),
        )
        .unwrap();
        assert!(!idx_present(d));
        let e = read_idx_dir(d, "fashion-mnist", &FASHION_MNIST_CLASSES)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("t10k-labels-idx1-ubyte") && e.contains("augkit download fashion-mnist"),
            "{e}"
        );
        std::fs::write(d.join("t10k-labels-idx1-ubyte.gz"), gz(&idx_labels(&[4]))).unwrap();
        let (train, test) = read_idx_dir(d, "fashion-mnist", &FASHION_MNIST_CLASSES).unwrap();
        assert_eq!(
            (train.len(), test.len(), train.channels, train.height),
            (5, 1, 1, 28)
        );
        assert_eq!(train.pixels, train_px);
        assert_eq!(test.labels, vec![4]);
        assert_eq!(train.class_names[9], "Ankle boot");

        let bad = gz(&idx_images(5, 28, 28, &train_px));
        std::fs::write(d.join("train-images-idx3-ubyte.gz"), &bad[..bad.len() - 9]).unwrap();
        let e = read_idx_dir(d, "mnist", &MNIST_CLASSES)
            .unwrap_err()
            .to_string();
        assert!(e.contains("train-images-idx3-ubyte.gz"), "{e}");
    }
}
