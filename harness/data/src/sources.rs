//! User-supplied data sets named `folder:PATH`, `npz:PATH` or `parquet:PATH`:
//! parsing the name, loading through the right reader with the decoded-set
//! cache ([`crate::cache`]), and the provenance of what was loaded.
//!
//! Folders and parquet files are decoded once per input (file list, sizes,
//! modification times) and options, then read from the cache; `.npz` files
//! already hold u8 pixels and are read directly. A set without a test split
//! (a single tree, one parquet file, an `.npz` without `test_images`) is split
//! by the seeded stratified test fraction.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::UNIX_EPOCH;

use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::cache::{self, Lookup};
use crate::decode::{self, Converted, DEFAULT_MAX_PIXELS, ImageSize};
use crate::error::{DataError, FolderProblem, Result};
use crate::folder::{self, FolderOptions, ProgressFn, hex};
use crate::hf_parquet::find_hf_shards;
use crate::image_set::ImageSet;
use crate::npz::{self, NpzLimits};
use crate::parquet_images::{self, Columns, RawImages};
use crate::provenance::{MAX_LISTED, Provenance};
use crate::split::stratified_split;

/// The prefixes that name a user-supplied data set.
pub const SOURCE_PREFIXES: [&str; 3] = ["folder:", "npz:", "parquet:"];

/// A user-supplied data set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    Folder(PathBuf),
    Npz(PathBuf),
    Parquet(PathBuf),
}

impl Source {
    /// `Some` when `name` starts with one of [`SOURCE_PREFIXES`]; an empty path is an error.
    pub fn parse(name: &str) -> Option<Result<Source>> {
        let (kind, path) = name.split_once(':')?;
        let make: fn(PathBuf) -> Source = match kind {
            "folder" => Source::Folder,
            "npz" => Source::Npz,
            "parquet" => Source::Parquet,
            _ => return None,
        };
        Some(if path.is_empty() {
            Err(DataError::InvalidArgument(format!(
                "data set {name:?}: no path after {kind}:"
            )))
        } else {
            Ok(make(PathBuf::from(path)))
        })
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Source::Folder(_) => "folder",
            Source::Npz(_) => "npz",
            Source::Parquet(_) => "parquet",
        }
    }

    pub fn path(&self) -> &Path {
        match self {
            Source::Folder(p) | Source::Npz(p) | Source::Parquet(p) => p,
        }
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.kind(), self.path().display())
    }
}

/// How a user-supplied set is converted (the `--image-size`,
/// `--test-fraction`, `--skip-bad-images`, `--image-column`,
/// `--label-column` flags).
#[derive(Clone, Debug, PartialEq)]
pub struct SourceOptions {
    pub image_size: Option<ImageSize>,
    pub test_fraction: f64,
    pub split_seed: u64,
    pub skip_bad_images: bool,
    pub columns: Columns,
    pub max_pixels: u64,
}

impl Default for SourceOptions {
    fn default() -> Self {
        SourceOptions {
            image_size: None,
            test_fraction: 0.2,
            split_seed: 0,
            skip_bad_images: false,
            columns: Columns::default(),
            max_pixels: DEFAULT_MAX_PIXELS,
        }
    }
}

impl SourceOptions {
    /// Every option that changes the decoded set, as one line (part of the cache key).
    fn key(&self) -> String {
        format!(
            "size={:?} test_fraction={} seed={} skip_bad={} image_column={:?} label_column={:?} \
             max_pixels={} decode=v1",
            self.image_size.map(|s| s.to_string()),
            self.test_fraction,
            self.split_seed,
            self.skip_bad_images,
            self.columns.image,
            self.columns.label,
            self.max_pixels
        )
    }

    fn folder(&self) -> FolderOptions {
        FolderOptions {
            image_size: self.image_size,
            test_fraction: self.test_fraction,
            split_seed: self.split_seed,
            skip_bad_images: self.skip_bad_images,
            max_pixels: self.max_pixels,
        }
    }
}

/// (train, test) and where they came from.
#[derive(Clone, Debug)]
pub struct Loaded {
    pub train: ImageSet,
    pub test: ImageSet,
    pub provenance: Provenance,
}

/// Loads `src`; decoded sets are cached in `cache_dir` when one is given.
pub fn load_source(
    src: &Source,
    opts: &SourceOptions,
    cache_dir: Option<&Path>,
    progress: ProgressFn,
) -> Result<Loaded> {
    let mut loaded = match src {
        Source::Folder(root) => {
            let scan = folder::scan(root, &opts.folder())?;
            let digest = scan.digest(&opts.key());
            cached(src, &digest, cache_dir, || {
                folder::decode_scan(&scan, &opts.folder(), progress)
            })?
        }
        Source::Parquet(path) => {
            let (train, test) = parquet_shards(path)?;
            let digest = files_digest(
                train.iter().chain(test.iter().flatten()),
                &format!("parquet test={}\n{}", test.is_some(), opts.key()),
            )?;
            cached(src, &digest, cache_dir, || {
                read_parquet(path, &train, test.as_deref(), opts, progress)
            })?
        }
        Source::Npz(path) => {
            let digest = files_digest([path], &opts.key())?;
            let (train, test, mut prov) = read_npz(path, opts)?;
            prov.input_digest = digest;
            prov.content_digest = cache::content_digest(&train, &test);
            Loaded {
                train,
                test,
                provenance: prov,
            }
        }
    };
    loaded.provenance.source = src.to_string();
    Ok(loaded)
}

/// The cache around a decoder: hit, or decode and store (a store that fails
/// is noted, not fatal: the set itself is fine).
fn cached(
    src: &Source,
    digest: &str,
    cache_dir: Option<&Path>,
    decode: impl FnOnce() -> Result<(ImageSet, ImageSet, Provenance)>,
) -> Result<Loaded> {
    let path = cache_dir.map(|d| cache::cache_path(d, src.kind(), digest));
    let mut note = None;
    if let Some(p) = &path {
        match cache::load(p) {
            Lookup::Hit(hit) => {
                let (train, test, provenance) = *hit;
                if provenance.input_digest == digest {
                    return Ok(Loaded {
                        train,
                        test,
                        provenance,
                    });
                }
                note = Some(format!(
                    "cache file {} was for other input; decoded again",
                    p.display()
                ));
            }
            Lookup::Miss => {}
            Lookup::Corrupt(why) => {
                note = Some(format!(
                    "cache file {} failed its check ({why}); decoded again",
                    p.display()
                ));
            }
        }
    }
    let (train, test, mut prov) = decode()?;
    prov.input_digest = digest.to_string();
    prov.content_digest = cache::content_digest(&train, &test);
    prov.source = src.to_string();
    prov.notes.extend(note);
    if let Some(p) = &path
        && let Err(e) = cache::store(p, &train, &test, &prov)
    {
        prov.notes.push(format!("decoded set not cached: {e}"));
    }
    Ok(Loaded {
        train,
        test,
        provenance: prov,
    })
}

/// SHA-256 of the files' paths, sizes and modification times and `extra`.
fn files_digest<'a>(files: impl IntoIterator<Item = &'a PathBuf>, extra: &str) -> Result<String> {
    let mut h = Sha256::new();
    h.update(extra.as_bytes());
    for f in files {
        let meta = std::fs::metadata(f).map_err(|e| DataError::io(f, e))?;
        let mtime = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        let abs = std::fs::canonicalize(f).unwrap_or_else(|_| f.clone());
        h.update(format!("\n{}\t{}\t{mtime}", abs.display(), meta.len()).as_bytes());
    }
    Ok(hex(&h.finalize()))
}

/// Train shards and, when there are any, test shards (`test-*`, else
/// `validation-*`, else `val-*`): `path` is one file (no test split) or a
/// directory searched like the named data sets' parquet exports.
fn parquet_shards(path: &Path) -> Result<(Vec<PathBuf>, Option<Vec<PathBuf>>)> {
    if path.is_file() {
        return Ok((vec![path.to_path_buf()], None));
    }
    if !path.is_dir() {
        return Err(DataError::io(
            path,
            std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or directory"),
        ));
    }
    let train = find_hf_shards(path, "train");
    if train.is_empty() {
        return Err(DataError::format(
            path,
            "no train-*.parquet (or train.parquet) here or one directory down",
        ));
    }
    let test = ["test", "validation", "val"]
        .into_iter()
        .map(|s| find_hf_shards(path, s))
        .find(|v| !v.is_empty());
    Ok((train, test))
}

fn read_parquet(
    path: &Path,
    train_shards: &[PathBuf],
    test_shards: Option<&[PathBuf]>,
    opts: &SourceOptions,
    progress: ProgressFn,
) -> Result<(ImageSet, ImageSet, Provenance)> {
    let train = parquet_images::read_raw(train_shards, &opts.columns)?;
    let test = test_shards
        .map(|s| parquet_images::read_raw(s, &opts.columns))
        .transpose()?;
    if let Some(t) = &test
        && t.class_names.is_some()
        && train.class_names.is_some()
        && t.class_names != train.class_names
    {
        return Err(DataError::format(
            path,
            "the test shards' class names differ from the train shards'",
        ));
    }
    let class_names = match &train.class_names {
        Some(n) => n.clone(),
        None => {
            let max = train
                .labels
                .iter()
                .chain(test.iter().flat_map(|t| t.labels.iter()))
                .max()
                .copied()
                .unwrap_or(0);
            if max >= crate::npz::MAX_CLASSES as i64 {
                return Err(DataError::format(
                    path,
                    format!(
                        "label {max}: more classes than the {} accepted",
                        crate::npz::MAX_CLASSES
                    ),
                ));
            }
            (0..=max).map(|c| c.to_string()).collect()
        }
    };
    let k = class_names.len() as i64;
    for raw in std::iter::once(&train).chain(test.iter()) {
        if let Some((i, l)) = raw.labels.iter().enumerate().find(|(_, l)| **l >= k) {
            return Err(DataError::format(
                &raw.images[i].1,
                format!("label {l} is not below the {k} classes named in the metadata"),
            ));
        }
    }
    let mut prov = Provenance {
        split: match test_shards {
            Some(s) => format!(
                "train and test shards ({} + {} files; columns {:?}, {:?})",
                train_shards.len(),
                s.len(),
                train.image_column,
                train.label_column
            ),
            None => format!(
                "one parquet split by class: test fraction {} (seed {}); columns {:?}, {:?}",
                opts.test_fraction, opts.split_seed, train.image_column, train.label_column
            ),
        },
        class_names: class_names.clone(),
        ..Provenance::default()
    };
    if class_names.len() > 1000 {
        prov.notes.push(format!(
            "{} classes (more than 1000; allowed)",
            class_names.len()
        ));
    }
    let (size, reason) = match opts.image_size {
        Some(s) => (s, "as given".to_string()),
        None => {
            let all: Vec<&(Vec<u8>, String)> = train
                .images
                .iter()
                .chain(test.iter().flat_map(|t| t.images.iter()))
                .collect();
            let dims: Vec<Option<(u32, u32)>> = all
                .par_iter()
                .map(|(b, _)| decode::dimensions(b).ok())
                .collect();
            folder::common_size(dims.into_iter().flatten())
        }
    };
    prov.image_size = Some(size);
    prov.image_size_reason = reason;
    let total = (train.images.len() + test.as_ref().map_or(0, |t| t.images.len())) as u64;
    let done = AtomicU64::new(0);
    let decode_all = |raw: &RawImages| -> Vec<std::result::Result<Converted, String>> {
        raw.images
            .par_iter()
            .map(|(b, _)| {
                let r = decode::decode_convert(b, size, opts.max_pixels);
                progress(done.fetch_add(1, Ordering::Relaxed) + 1, total);
                r
            })
            .collect()
    };
    let mut results = vec![(&train, decode_all(&train))];
    if let Some(t) = &test {
        results.push((t, decode_all(t)));
    }
    let mut bad = Vec::new();
    for (raw, res) in &results {
        for ((_, origin), r) in raw.images.iter().zip(res) {
            if let Err(e) = r {
                bad.push(format!("{origin}: {e}"));
            }
        }
    }
    if !bad.is_empty() && !opts.skip_bad_images {
        return Err(DataError::Folder {
            path: path.to_path_buf(),
            problem: FolderProblem::BadImages {
                count: bad.len(),
                first: bad.iter().take(5).cloned().collect(),
            },
        });
    }
    prov.skipped_count = bad.len();
    prov.skipped = bad.into_iter().take(MAX_LISTED).collect();
    let ok = |raw: &RawImages, res: Vec<std::result::Result<Converted, String>>| {
        raw.labels
            .iter()
            .zip(res)
            .filter_map(|(&l, r)| r.ok().map(|c| (l as u32, c)))
            .collect::<Vec<_>>()
    };
    let mut it = results.into_iter();
    let (raw_train, res_train) = it.next().expect("train");
    let train_items = ok(raw_train, res_train);
    let (train_items, test_items) = match it.next() {
        Some((raw_test, res_test)) => (train_items, ok(raw_test, res_test)),
        None => {
            let labels: Vec<u32> = train_items.iter().map(|(l, _)| *l).collect();
            let (tr, te) =
                stratified_split(&labels, &class_names, opts.test_fraction, opts.split_seed)
                    .map_err(|p| DataError::Folder {
                        path: path.to_path_buf(),
                        problem: p,
                    })?;
            let mut slots: Vec<Option<(u32, Converted)>> =
                train_items.into_iter().map(Some).collect();
            let mut take = |idx: Vec<usize>| -> Vec<(u32, Converted)> {
                idx.into_iter().filter_map(|i| slots[i].take()).collect()
            };
            let a = take(tr);
            let b = take(te);
            (a, b)
        }
    };
    let name = path
        .file_stem()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "parquet".into());
    let splits = [("train", train_items), ("test", test_items)];
    let ([train_set, test_set], channels) =
        folder::assemble(&splits, &class_names, size, &name, &mut prov, false).map_err(|p| {
            DataError::Folder {
                path: path.to_path_buf(),
                problem: p,
            }
        })?;
    prov.channels = channels;
    prov.train_per_class = train_set.class_counts();
    prov.test_per_class = test_set.class_counts();
    Ok((train_set, test_set, prov))
}

fn read_npz(path: &Path, opts: &SourceOptions) -> Result<(ImageSet, ImageSet, Provenance)> {
    let set = npz::read(path, &NpzLimits::default())?;
    let mut class_names = set.train.class_names.clone();
    if class_names.is_empty() {
        class_names = (0..set.train.num_classes).map(|c| c.to_string()).collect();
    }
    let mut prov = Provenance {
        class_names: class_names.clone(),
        ..Provenance::default()
    };
    let (mut train, mut test) = match set.test {
        Some(test) => {
            prov.split = "the file's test_images / test_labels".into();
            (set.train, test)
        }
        None => {
            let (tr, te) = stratified_split(
                &set.train.labels,
                &class_names,
                opts.test_fraction,
                opts.split_seed,
            )
            .map_err(|p| DataError::Folder {
                path: path.to_path_buf(),
                problem: p,
            })?;
            let to32 = |v: Vec<usize>| v.into_iter().map(|i| i as u32).collect::<Vec<_>>();
            prov.split = format!(
                "split by class: test fraction {} (seed {})",
                opts.test_fraction, opts.split_seed
            );
            (set.train.select(&to32(tr))?, set.train.select(&to32(te))?)
        }
    };
    for s in [&mut train, &mut test] {
        s.class_names = class_names.clone();
    }
    let native = ImageSize {
        height: train.height,
        width: train.width,
    };
    let size = opts.image_size.unwrap_or(native);
    prov.image_size = Some(size);
    if size == native {
        prov.image_size_reason = if opts.image_size.is_some() {
            "as given (the file's size)".into()
        } else {
            "the file's size".into()
        };
    } else {
        prov.image_size_reason =
            format!("as given (resized from {}×{})", native.height, native.width);
        for s in [&mut train, &mut test] {
            let (resized, upscaled) = resize_set(s, size);
            prov.upscaled += upscaled;
            *s = resized;
        }
    }
    prov.channels = train.channels;
    prov.train_per_class = train.class_counts();
    prov.test_per_class = test.class_counts();
    Ok((train, test, prov))
}

/// Resizes every image of `set` with the same conversion as decoded images;
/// returns the new set and how many were upscaled.
fn resize_set(set: &ImageSet, size: ImageSize) -> (ImageSet, usize) {
    let (c, h, w) = (set.channels as usize, set.height, set.width);
    let plane = (h * w) as usize;
    let converted: Vec<Converted> = (0..set.len())
        .into_par_iter()
        .map(|i| {
            let img = set.image(i);
            let interleaved: Vec<u8> = (0..plane)
                .flat_map(|p| (0..c).map(move |ch| img[ch * plane + p]))
                .collect();
            let dynamic = if c == 1 {
                image::DynamicImage::ImageLuma8(
                    image::GrayImage::from_raw(w, h, interleaved).expect("sized buffer"),
                )
            } else {
                image::DynamicImage::ImageRgb8(
                    image::RgbImage::from_raw(w, h, interleaved).expect("sized buffer"),
                )
            };
            decode::convert(&dynamic, size)
        })
        .collect();
    let upscaled = converted.iter().filter(|c| c.upscaled).count();
    let pixels = converted.into_iter().flat_map(|c| c.pixels).collect();
    let out = ImageSet {
        name: set.name.clone(),
        channels: set.channels,
        height: size.height,
        width: size.width,
        pixels,
        labels: set.labels.clone(),
        num_classes: set.num_classes,
        class_names: set.class_names.clone(),
    };
    (out, upscaled)
}

#[cfg(test)]
#[path = "sources_tests.rs"]
mod tests;
