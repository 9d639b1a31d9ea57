//! `augkit-data`: the data sets the augkit harness trains on, as u8 planar-CHW
//! [`ImageSet`]s — CIFAR-10 (binary batches or `.tar.gz`), MNIST and
//! Fashion-MNIST (IDX, plain or `.gz`), the Hugging Face parquet exports of
//! those, and the procedural `synthetic-shapes` set — plus stratified subsets
//! and a verified downloader; and the user's own sets named `folder:PATH`,
//! `npz:PATH` or `parquet:PATH` ([`sources`]), decoded once into a verified
//! cache with their provenance. Nothing here depends on tch.
//!
//! [`load`] is the entry point: `load("cifar10", dir)` returns (train, test).
//! Every reader rejects malformed input with a [`DataError`] naming the file.

pub mod cache;
pub mod cifar;
pub mod debian;
pub mod decode;
pub mod download;
mod error;
pub mod folder;
pub mod hf_parquet;
pub mod idx;
mod image_set;
pub mod npz;
pub mod parquet_images;
mod provenance;
mod rng;
#[cfg(test)]
mod robustness;
pub mod sources;
pub mod split;
pub mod subset;
pub mod synthetic;
#[cfg(test)]
mod testutil;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use download::download;
pub use error::{DataError, FolderProblem, NpzProblem, Result};
pub use image_set::ImageSet;
pub use provenance::SourceProvenance;
pub use sources::{LoadedSource, SOURCE_PREFIXES, Source, SourceOptions, load_source};
pub use subset::{Limit, stratified_subset};

/// Names [`load`] accepts.
pub const DATASETS: [&str; 4] = ["cifar10", "fashion-mnist", "mnist", "synthetic-shapes"];

/// `synthetic-shapes` as [`load`] makes it: 3×32×32, like CIFAR-10.
pub const SYNTHETIC_SHAPE: (u32, u32, u32) = (3, 32, 32);
/// Images per class in `load("synthetic-shapes")`'s (train, test).
pub const SYNTHETIC_PER_CLASS: (usize, usize) = (500, 100);
/// Seeds of `load("synthetic-shapes")`'s (train, test).
pub const SYNTHETIC_SEEDS: (u64, u64) = (0x5EED_0001, 0x5EED_0002);

/// Loads (train, test) for `name` from `dir` (or the folder named for it
/// below `dir`); [`load_described`] also says where they came from.
///
/// Searches [`candidate_dirs`] — `dir`, the folders below it named for the
/// data set ([`folder_names`]), and for Fashion-MNIST Debian's
/// `/usr/share/datasets/fashion-mnist` — one folder at a time, and takes
/// the first that holds a whole copy: the official unpacked files
/// (CIFAR-10 batches, IDX files), Hugging Face parquet shards
/// (`train-*.parquet` and `test-*.parquet` side by side), or for CIFAR-10
/// the `cifar-10-binary.tar.gz` archive. Files of two folders are never
/// merged, and folders named for other data sets are never opened, so a
/// foreign or broken file there cannot stop the search. `synthetic-shapes`
/// is generated and ignores `dir`. When nothing is found the error lists the
/// files expected and suggests `augkit download NAME`.
pub fn load(name: &str, dir: &Path) -> Result<(ImageSet, ImageSet)> {
    load_in(name, dir, true)
}

/// [`load`], also saying in words where the files were read from (the
/// folder and format, or Debian's package line), for the log and the
/// result: e.g. `Hugging Face parquet in data/mnist (1 train + 1 test shards)`.
pub fn load_described(name: &str, dir: &Path) -> Result<(ImageSet, ImageSet, String)> {
    load_described_in(name, dir, true)
}

fn load_described_in(name: &str, dir: &Path, system: bool) -> Result<(ImageSet, ImageSet, String)> {
    let found = locate(name, dir, system)?;
    let source = found.as_ref().map(Found::describe).unwrap_or_default();
    let (train, test) = read_found(name, dir, found)?;
    Ok((train, test, source))
}

/// Where a named IDX data set's files were found, and where they came from.
#[derive(Clone, Debug, PartialEq)]
pub struct IdxProvenance {
    /// The directory the files were read from.
    pub dir: PathBuf,
    /// Their origin in words ([`debian::describe_source`]), e.g. the Debian
    /// package and version, with whether Fashion-MNIST matches the official
    /// checksums.
    pub source: String,
    /// File stem → SHA-256 (hex) of its uncompressed content.
    pub sha256: BTreeMap<String, String>,
}

/// A named data set as [`load_with_provenance`] reads it.
pub struct LoadedSet {
    pub train: ImageSet,
    pub test: ImageSet,
    /// For IDX data sets (MNIST, Fashion-MNIST): hashed from the very bytes
    /// that were parsed. `None` for other layouts and generated sets.
    pub provenance: Option<IdxProvenance>,
    /// Where the files were read from, in words ([`load_described`]).
    pub described: String,
}

/// [`load`], also recording the provenance of IDX data sets: each file is
/// read once, and that one read is both hashed and parsed.
pub fn load_with_provenance(name: &str, dir: &Path) -> Result<LoadedSet> {
    let found = locate(name, dir, true)?;
    let described = found.as_ref().map(Found::describe).unwrap_or_default();
    match found {
        Some(Found::Idx(found)) => {
            let (train, test, sha256) = idx::read_idx_dir_hashed(&found, name, class_names(name))?;
            let source = idx_source(name, &found, &sha256);
            Ok(LoadedSet {
                train,
                test,
                provenance: Some(IdxProvenance {
                    dir: found,
                    source,
                    sha256,
                }),
                described,
            })
        }
        found => {
            let (train, test) = read_found(name, dir, found)?;
            Ok(LoadedSet {
                train,
                test,
                provenance: None,
                described,
            })
        }
    }
}

/// Whether [`load`] would find `name`'s files in `dir`: the same search,
/// without reading or decoding anything (generated sets are always there).
pub fn is_present(name: &str, dir: &Path) -> bool {
    name == "synthetic-shapes" || matches!(locate(name, dir, true), Ok(Some(_)))
}

/// The files [`load`] reads, once found.
enum Found {
    /// Generated, not read.
    Synthetic,
    CifarBatches(PathBuf),
    Idx(PathBuf),
    Parquet {
        train: Vec<PathBuf>,
        test: Vec<PathBuf>,
    },
    CifarArchive(PathBuf),
}

impl Found {
    /// Where the files are, in words.
    fn describe(&self) -> String {
        match self {
            Found::Synthetic => "generated by augkit-data (synthetic-shapes)".into(),
            Found::CifarBatches(d) => format!("CIFAR-10 binary batches in {}", d.display()),
            Found::Idx(d) => format!("IDX files: {}", debian::describe_source(d)),
            Found::Parquet { train, test } => format!(
                "Hugging Face parquet in {} ({} train + {} test shards)",
                train[0].parent().unwrap_or(Path::new(".")).display(),
                train.len(),
                test.len()
            ),
            Found::CifarArchive(archive) => format!("{}", archive.display()),
        }
    }
}

/// Finds `name`'s files: the one search behind [`load`] and [`is_present`].
/// `Ok(None)` when nothing is there.
fn locate(name: &str, dir: &Path, system: bool) -> Result<Option<Found>> {
    if name == "synthetic-shapes" {
        return Ok(Some(Found::Synthetic));
    }
    if !DATASETS.contains(&name) {
        return Err(DataError::UnknownDataset {
            name: name.into(),
            known: DATASETS.join(", "),
        });
    }
    for d in &search_dirs(name, dir, system) {
        match name {
            "cifar10" if cifar::batch_dir(d).is_some() => {
                return Ok(Some(Found::CifarBatches(d.clone())));
            }
            "fashion-mnist" | "mnist" if idx::idx_present(d) => {
                return Ok(Some(Found::Idx(d.clone())));
            }
            _ => {}
        }
        let train = hf_parquet::find_hf_shards_in(d, "train");
        let test = hf_parquet::find_hf_shards_in(d, "test");
        if !train.is_empty() && !test.is_empty() {
            return Ok(Some(Found::Parquet { train, test }));
        }
        if name == "cifar10" {
            let archive = d.join(cifar::CIFAR10_ARCHIVE);
            if archive.is_file() {
                return Ok(Some(Found::CifarArchive(archive)));
            }
        }
    }
    Ok(None)
}

/// The parquet spec of a named data set (`name` is one of [`DATASETS`]).
fn parquet_spec(name: &str) -> hf_parquet::HfSpec {
    match name {
        "cifar10" => hf_parquet::HF_CIFAR10,
        "fashion-mnist" => hf_parquet::HF_FASHION_MNIST,
        _ => hf_parquet::HF_MNIST,
    }
}

fn class_names(name: &str) -> &'static [&'static str] {
    parquet_spec(name).class_names
}

/// [`load`], with or without the system directories (Debian's).
fn load_in(name: &str, dir: &Path, system: bool) -> Result<(ImageSet, ImageSet)> {
    let found = locate(name, dir, system)?;
    read_found(name, dir, found)
}

/// Reads what [`locate`] found; `None` is the error listing the files expected.
fn read_found(name: &str, dir: &Path, found: Option<Found>) -> Result<(ImageSet, ImageSet)> {
    let Some(found) = found else {
        let expected = if name == "cifar10" {
            cifar::expected_files()
        } else {
            idx::idx_expected_files()
        };
        return Err(DataError::MissingFiles {
            name: name.into(),
            dir: dir.to_path_buf(),
            expected,
        });
    };
    match found {
        Found::Synthetic => {
            let (c, h, w) = SYNTHETIC_SHAPE;
            let mut train = synthetic::generate(c, h, w, SYNTHETIC_PER_CLASS.0, SYNTHETIC_SEEDS.0)?;
            let mut test = synthetic::generate(c, h, w, SYNTHETIC_PER_CLASS.1, SYNTHETIC_SEEDS.1)?;
            train.name = "synthetic-shapes-train".into();
            test.name = "synthetic-shapes-test".into();
            Ok((train, test))
        }
        Found::CifarBatches(d) => {
            cifar::read_cifar10_dir(&d, Some(cifar::CIFAR10_RECORDS_PER_FILE))
        }
        Found::Idx(d) => idx::read_idx_dir(&d, name, class_names(name)),
        Found::Parquet { train, test } => {
            let spec = parquet_spec(name);
            let tr = hf_parquet::read_hf_parquet(&train, &spec, &format!("{name}-train"))?;
            let te = hf_parquet::read_hf_parquet(&test, &spec, &format!("{name}-test"))?;
            if (tr.height, tr.width) != (te.height, te.width) {
                return Err(DataError::format(
                    &test[0],
                    format!(
                        "test images are {}×{}, training images {}×{}",
                        te.height, te.width, tr.height, tr.width
                    ),
                ));
            }
            Ok((tr, te))
        }
        Found::CifarArchive(archive) => {
            cifar::read_cifar10_archive(&archive, Some(cifar::CIFAR10_RECORDS_PER_FILE))
        }
    }
}

/// The folder names below `--data-dir` that hold `name`'s files: ours, the
/// spellings other tools use (`fashion_mnist`, `cifar-10`), and the folder
/// of a Hugging Face export (`plain_text` for `uoft-cs/cifar10`). A folder
/// with another data set's name is never searched.
pub fn folder_names(name: &str) -> &'static [&'static str] {
    match name {
        "cifar10" => &["cifar10", "cifar-10", "plain_text"],
        "fashion-mnist" => &["fashion-mnist", "fashion_mnist"],
        "mnist" => &["mnist"],
        _ => &[],
    }
}

/// The directories [`load`] searches for `name`, in order: `dir`, then
/// `dir/F` and `dir/F/G` for `F`, `G` in [`folder_names`] (a Hugging Face
/// export downloaded into `dir/mnist` sits in `dir/mnist/mnist`), and for
/// Fashion-MNIST Debian's package directory. Only those that exist.
pub fn candidate_dirs(name: &str, dir: &Path) -> Vec<PathBuf> {
    search_dirs(name, dir, true)
}

fn search_dirs(name: &str, dir: &Path, system: bool) -> Vec<PathBuf> {
    let mut dirs = vec![dir.to_path_buf()];
    for f in folder_names(name) {
        dirs.push(dir.join(f));
        dirs.extend(folder_names(name).iter().map(|g| dir.join(f).join(g)));
    }
    if system && name == "fashion-mnist" {
        dirs.push(PathBuf::from(debian::INSTALLED_DIR));
    }
    let mut unique: Vec<PathBuf> = Vec::new();
    for d in dirs {
        if d.is_dir() && !unique.contains(&d) {
            unique.push(d);
        }
    }
    unique
}

/// Where [`load`] finds the IDX files of `name` (MNIST, Fashion-MNIST):
/// the directory, its origin in words ([`debian::describe_source`]) and the
/// SHA-256 of each file's uncompressed content. `None` for other layouts.
/// Reads every file once to hash it; [`load_with_provenance`] hashes the
/// bytes it parses instead.
pub fn idx_provenance(
    name: &str,
    dir: &Path,
) -> Option<(PathBuf, String, BTreeMap<String, String>)> {
    if !matches!(name, "fashion-mnist" | "mnist") {
        return None;
    }
    let Ok(Some(Found::Idx(found))) = locate(name, dir, true) else {
        return None;
    };
    let digests = debian::idx_digests(&found)?;
    let source = idx_source(name, &found, &digests);
    Some((found, source, digests))
}

/// The origin of IDX files in `found`, in words; for Fashion-MNIST also
/// whether `digests` are the official content.
fn idx_source(name: &str, found: &Path, digests: &BTreeMap<String, String>) -> String {
    let mut source = debian::describe_source(found);
    if name == "fashion-mnist" {
        let official = debian::FASHION_MNIST_SHA256
            .iter()
            .all(|(f, s)| digests.get(*f).map(String::as_str) == Some(*s));
        source.push_str(if official {
            "; content matches the official Fashion-MNIST checksums"
        } else {
            "; content DIFFERS from the official Fashion-MNIST"
        });
    }
    source
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{TempDir, encode_png, gz, hf_parquet, idx_images, idx_labels};

    #[test]
    fn missing_files_error_lists_them_and_suggests_download() {
        let tmp = TempDir::new("load-missing");
        for name in ["cifar10", "fashion-mnist", "mnist"] {
            let e = load_in(name, tmp.path(), false).unwrap_err().to_string();
            assert!(e.contains(&format!("augkit download {name}")), "{e}");
            assert!(
                e.contains("train-") || e.contains("data_batch_1.bin"),
                "{e}"
            );
        }
        assert!(
            load("cifar10", tmp.path())
                .unwrap_err()
                .to_string()
                .contains("cifar-10-binary.tar.gz")
        );
        assert!(matches!(
            load("imagenet", tmp.path()),
            Err(DataError::UnknownDataset { .. })
        ));
    }

    #[test]
    fn loads_idx_from_subdirectory_and_parquet() {
        let tmp = TempDir::new("load");
        let d = tmp.path().join("mnist");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(
            d.join("train-images-idx3-ubyte.gz"),
            gz(&idx_images(2, 3, 4, &[1; 24])),
        )
        .unwrap();
        std::fs::write(
            d.join("train-labels-idx1-ubyte.gz"),
            gz(&idx_labels(&[0, 7])),
        )
        .unwrap();
        std::fs::write(
            d.join("t10k-images-idx3-ubyte"),
            idx_images(1, 3, 4, &[2; 12]),
        )
        .unwrap();
        std::fs::write(d.join("t10k-labels-idx1-ubyte"), idx_labels(&[5])).unwrap();
        let (train, test) = load("mnist", tmp.path()).unwrap();
        assert_eq!(
            (train.len(), test.len(), train.class_names[7].as_str()),
            (2, 1, "7")
        );

        let f = tmp.path().join("fashion");
        std::fs::create_dir_all(f.join("fashion_mnist")).unwrap();
        let png = encode_png(5, 6, png::ColorType::Grayscale, &[9; 30]);
        let shard = hf_parquet(
            "image",
            &[(Some(png.clone()), Some(1)), (Some(png), Some(2))],
        );
        std::fs::write(f.join("fashion_mnist/train-00000-of-00001.parquet"), &shard).unwrap();
        let e = load_in("fashion-mnist", &f, false).unwrap_err().to_string();
        assert!(e.contains("augkit download fashion-mnist"), "{e}");
        std::fs::write(f.join("fashion_mnist/test-00000-of-00001.parquet"), &shard).unwrap();
        let (train, test) = load("fashion-mnist", &f).unwrap();
        assert_eq!(
            (train.len(), test.len(), train.height, train.width),
            (2, 2, 6, 5)
        );
        assert_eq!(train.name, "fashion-mnist-train");
    }

    /// With nothing in the directory, Fashion-MNIST comes from Debian's
    /// package where it is installed, and its provenance says so.
    #[test]
    fn finds_debian_fashion_mnist() {
        if !Path::new(debian::INSTALLED_DIR).is_dir() {
            eprintln!("skipped: {} is absent", debian::INSTALLED_DIR);
            return;
        }
        let tmp = TempDir::new("load-debian");
        let (train, test) = load("fashion-mnist", tmp.path()).unwrap();
        assert_eq!((train.len(), test.len()), (60_000, 10_000));
        let (dir, source, sha) = idx_provenance("fashion-mnist", tmp.path()).unwrap();
        assert_eq!(dir, Path::new(debian::INSTALLED_DIR));
        assert!(
            source.starts_with("debian:dataset-fashion-mnist "),
            "{source}"
        );
        assert!(
            source.ends_with("matches the official Fashion-MNIST checksums"),
            "{source}"
        );
        assert_eq!(sha.len(), 4);
        assert!(load_in("mnist", tmp.path(), true).is_err());
    }

    /// The presence check finds what `load` would read without decoding it
    /// (a corrupt file is "present"), and the provenance `load_with_provenance`
    /// hashes from the bytes it parses equals a separate read's.
    #[test]
    fn presence_and_provenance_follow_the_one_search() {
        let tmp = TempDir::new("load-provenance");
        assert!(!is_present("mnist", tmp.path()));
        assert!(is_present("synthetic-shapes", tmp.path()));
        let d = tmp.path().join("mnist");
        std::fs::create_dir_all(&d).unwrap();
        for (file, bytes) in [
            (
                "train-images-idx3-ubyte.gz",
                gz(&idx_images(2, 3, 4, &[1; 24])),
            ),
            ("train-labels-idx1-ubyte", idx_labels(&[0, 7])),
            ("t10k-images-idx3-ubyte", idx_images(1, 3, 4, &[2; 12])),
            ("t10k-labels-idx1-ubyte", idx_labels(&[5])),
        ] {
            std::fs::write(d.join(file), bytes).unwrap();
        }
        assert!(is_present("mnist", tmp.path()));
        let loaded = load_with_provenance("mnist", tmp.path()).unwrap();
        assert_eq!((loaded.train.len(), loaded.test.len()), (2, 1));
        let provenance = loaded.provenance.unwrap();
        let (dir, source, sha256) = idx_provenance("mnist", tmp.path()).unwrap();
        assert_eq!(
            provenance,
            IdxProvenance {
                dir,
                source,
                sha256
            }
        );
        assert_eq!(provenance.sha256.len(), 4);
        std::fs::write(d.join("t10k-labels-idx1-ubyte"), b"not idx").unwrap();
        assert!(is_present("mnist", tmp.path()));
        assert!(load_with_provenance("mnist", tmp.path()).is_err());
        let synthetic = load_with_provenance("synthetic-shapes", tmp.path()).unwrap();
        assert!(synthetic.provenance.is_none());
    }

    #[test]
    fn loads_synthetic_shapes() {
        let (train, test) = load("synthetic-shapes", Path::new("/nonexistent")).unwrap();
        assert_eq!((train.len(), test.len()), (5000, 1000));
        assert_eq!((train.channels, train.height, train.width), SYNTHETIC_SHAPE);
        assert_ne!(train.image(0), test.image(0));
    }

    /// Two Hugging Face exports side by side under their own folder names
    /// (issue #29, item 2): each data set reads its own folder only, never
    /// both merged, and says which folder it read.
    #[test]
    fn parquet_exports_of_other_sets_are_never_merged() {
        let tmp = TempDir::new("load-side-by-side");
        let shard = |rows: usize, value: u8| {
            let png = encode_png(28, 28, png::ColorType::Grayscale, &[value; 28 * 28]);
            let rows: Vec<_> = (0..rows)
                .map(|i| (Some(png.clone()), Some(i as i64)))
                .collect();
            hf_parquet("image", &rows)
        };
        for (folder, rows, value) in [("mnist", 2, 9), ("fashion_mnist", 3, 200)] {
            let d = tmp.path().join(folder);
            std::fs::create_dir_all(&d).unwrap();
            for split in ["train", "test"] {
                let file = d.join(format!("{split}-00000-of-00001.parquet"));
                std::fs::write(file, shard(rows, value)).unwrap();
            }
        }
        for (name, folder, rows, value) in [
            ("mnist", "mnist", 2, 9),
            ("fashion-mnist", "fashion_mnist", 3, 200),
        ] {
            let (train, test, source) = load_described_in(name, tmp.path(), false).unwrap();
            assert_eq!((train.len(), test.len()), (rows, rows), "{name}");
            assert!(train.pixels.iter().all(|&p| p == value), "{name}");
            let folder = tmp.path().join(folder);
            assert!(
                source.contains(&folder.display().to_string()),
                "{name}: {source}"
            );
        }
    }

    /// A foreign or malformed `train-*.parquet` in a folder named for
    /// another data set, and one in an unrelated folder, are not opened:
    /// Fashion-MNIST still comes from Debian's package (issue #29, item 2).
    #[test]
    fn foreign_parquet_below_the_data_dir_does_not_stop_the_search() {
        let tmp = TempDir::new("load-foreign");
        for folder in ["cifar10", "downloads"] {
            let d = tmp.path().join(folder);
            std::fs::create_dir_all(&d).unwrap();
            for split in ["train", "test"] {
                let file = d.join(format!("{split}-00000-of-00001.parquet"));
                std::fs::write(file, b"PAR1 not really parquet").unwrap();
            }
        }
        let e = load_in("fashion-mnist", tmp.path(), false).unwrap_err();
        assert!(matches!(e, DataError::MissingFiles { .. }), "{e}");
        if !Path::new(debian::INSTALLED_DIR).is_dir() {
            eprintln!("Debian part skipped: {} is absent", debian::INSTALLED_DIR);
            return;
        }
        let (train, test, source) = load_described("fashion-mnist", tmp.path()).unwrap();
        assert_eq!((train.len(), test.len()), (60_000, 10_000));
        assert!(source.contains("debian:dataset-fashion-mnist"), "{source}");
    }
}
