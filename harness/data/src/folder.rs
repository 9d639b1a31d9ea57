//! `folder:PATH` — a folder of images, one sub-folder per class (torchvision's
//! `ImageFolder` and Hugging Face's `imagefolder` convention), decoded in
//! parallel into fixed-size u8 planar images ([`crate::decode`] says how).
//!
//! Layout: `PATH/train/<class>/…` with `PATH/test/<class>/…` (or, without
//! `test/`, `PATH/val/<class>/…`); otherwise one tree — `PATH/<class>/…`, or
//! `PATH/train/<class>/…` alone — split into train and test by a seeded,
//! stratified test fraction (per class `round(f·n)` images, at least one and
//! at most n − 1, go to test). Images anywhere below a class folder belong to
//! it; symbolic links are followed. Class names are the folder names, sorted
//! (byte order), and label k is the k-th name.
//!
//! Decisions, each counted in the [`Provenance`]: files whose extension is
//! not jpg/jpeg/png/webp/bmp/gif are ignored (files at the top of a tree and
//! hidden entries, `.name`, too); images smaller than the size are upscaled;
//! grayscale is kept as one channel only when every image is grayscale,
//! otherwise replicated to RGB; alpha is composited on black; more than
//! 1,000 classes is allowed (noted). Errors: unreadable or corrupt images
//! (all listed by count, the first few by path; `skip_bad_images` skips and
//! records them instead), an image over the pixel limit, an empty class
//! folder, fewer than two classes, different classes in train and test, a
//! class with one image when splitting, a symbolic-link loop, an unreadable
//! directory.
//!
//! Size: the given one; without it, the images' common size when every image
//! has the same size and it is at most 128×128, else 64×64 (stated).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::UNIX_EPOCH;

use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::decode::{self, Converted, DEFAULT_MAX_PIXELS, ImageSize};
use crate::error::{DataError, FolderProblem, Result};
use crate::image_set::ImageSet;
use crate::provenance::{MAX_LISTED, Provenance};
use crate::split::stratified_split;

/// Extensions read as images (case-insensitive).
pub const IMAGE_EXTENSIONS: [&str; 6] = ["jpg", "jpeg", "png", "webp", "bmp", "gif"];
/// Paths a bad-images error lists (the count is always complete).
const LISTED_BAD: usize = 5;
/// Above this many classes a note says so (still allowed).
const MANY_CLASSES: usize = 1000;
/// Largest common size kept when no size is given.
const MAX_NATIVE_SIDE: u32 = 128;
/// The size used when none is given and the images differ (or are large).
pub const FALLBACK_SIZE: u32 = 64;

/// How a folder is read.
#[derive(Clone, Debug, PartialEq)]
pub struct FolderOptions {
    /// Target size; `None`: see the module documentation.
    pub image_size: Option<ImageSize>,
    /// Test share of each class when the folder has no test split; in (0, 1).
    pub test_fraction: f64,
    /// Seed of that split.
    pub split_seed: u64,
    /// Skip (and record) unreadable or corrupt images instead of failing.
    pub skip_bad_images: bool,
    /// Decompression-bomb limit, pixels per image.
    pub max_pixels: u64,
}

impl Default for FolderOptions {
    fn default() -> Self {
        FolderOptions {
            image_size: None,
            test_fraction: 0.2,
            split_seed: 0,
            skip_bad_images: false,
            max_pixels: DEFAULT_MAX_PIXELS,
        }
    }
}

/// Progress callback: (images done, images in all). Called from worker threads.
pub type ProgressFn<'a> = &'a (dyn Fn(u64, u64) + Sync);

/// One image file found by the scan.
#[derive(Clone, Debug)]
pub struct FileEntry {
    pub class: u32,
    pub path: PathBuf,
    pub size: u64,
    pub mtime_ns: i128,
}

/// The files of a folder, split, before decoding.
#[derive(Clone, Debug)]
pub struct Scan {
    pub root: PathBuf,
    pub class_names: Vec<String>,
    pub train: Vec<FileEntry>,
    pub test: Vec<FileEntry>,
    /// How train and test were found, in words.
    pub split: String,
    pub non_image_files: usize,
    pub notes: Vec<String>,
}

impl Scan {
    /// SHA-256 of the file lists (path relative to the root, size, mtime)
    /// and `extra` (the conversion options): the decoded-set cache key.
    pub fn digest(&self, extra: &str) -> String {
        let mut h = Sha256::new();
        h.update(b"augkit folder scan v1\n");
        h.update(extra.as_bytes());
        for (split, files) in [("train", &self.train), ("test", &self.test)] {
            for f in files {
                let rel = f.path.strip_prefix(&self.root).unwrap_or(&f.path);
                h.update(
                    format!(
                        "\n{split}\t{}\t{}\t{}\t{}",
                        f.class,
                        rel.display(),
                        f.size,
                        f.mtime_ns
                    )
                    .as_bytes(),
                );
            }
        }
        hex(&h.finalize())
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn err(path: &Path, problem: FolderProblem) -> DataError {
    DataError::Folder {
        path: path.to_path_buf(),
        problem,
    }
}

/// Reads the folder at `root`: (train, test, provenance).
pub fn read(
    root: &Path,
    opts: &FolderOptions,
    progress: ProgressFn,
) -> Result<(ImageSet, ImageSet, Provenance)> {
    let scan = scan(root, opts)?;
    decode_scan(&scan, opts, progress)
}

/// Finds the classes and files and splits them (nothing decoded).
pub fn scan(root: &Path, opts: &FolderOptions) -> Result<Scan> {
    if !(opts.test_fraction > 0.0 && opts.test_fraction < 1.0) {
        return Err(err(
            root,
            FolderProblem::BadTestFraction(opts.test_fraction),
        ));
    }
    if !root.is_dir() {
        return Err(err(root, FolderProblem::NotADirectory));
    }
    let train_dir = root.join("train");
    let test_dir = ["test", "val"]
        .into_iter()
        .map(|n| (n, root.join(n)))
        .find(|(_, p)| p.is_dir());
    let mut notes = Vec::new();
    let mut scan = if train_dir.is_dir()
        && let Some((test_name, test_dir)) = test_dir
    {
        if test_name == "test" && root.join("val").is_dir() {
            notes.push("val/ ignored: test/ is the test split".into());
        }
        let tr = scan_tree(&train_dir)?;
        let te = scan_tree(&test_dir)?;
        if tr.classes != te.classes {
            let only =
                |a: &[String], b: &[String]| a.iter().filter(|c| !b.contains(c)).cloned().collect();
            return Err(err(
                root,
                FolderProblem::ClassSetsDiffer {
                    test_dir: format!("{test_name}/"),
                    only_train: only(&tr.classes, &te.classes),
                    only_test: only(&te.classes, &tr.classes),
                },
            ));
        }
        for (split, t) in [("train", &tr), (test_name, &te)] {
            check_classes(root, t, split)?;
        }
        Scan {
            root: root.to_path_buf(),
            class_names: tr.classes,
            train: tr.files.into_iter().flatten().collect(),
            test: te.files.into_iter().flatten().collect(),
            split: format!("train/ and {test_name}/ folders"),
            non_image_files: tr.non_image + te.non_image,
            notes,
        }
    } else {
        let (tree, name) = if train_dir.is_dir() {
            (train_dir, "train/")
        } else {
            (root.to_path_buf(), "one tree")
        };
        let t = scan_tree(&tree)?;
        check_classes(root, &t, "all images")?;
        let (train, test) =
            split(&t, opts.test_fraction, opts.split_seed).map_err(|p| err(root, p))?;
        Scan {
            root: root.to_path_buf(),
            class_names: t.classes,
            train,
            test,
            split: format!(
                "{name} split by class: test fraction {} (seed {})",
                opts.test_fraction, opts.split_seed
            ),
            non_image_files: t.non_image,
            notes,
        }
    };
    if scan.class_names.len() > MANY_CLASSES {
        scan.notes.push(format!(
            "{} classes (more than {MANY_CLASSES}; allowed)",
            scan.class_names.len()
        ));
    }
    Ok(scan)
}

struct Tree {
    classes: Vec<String>,
    /// Files of each class, sorted by path.
    files: Vec<Vec<FileEntry>>,
    non_image: usize,
}

fn check_classes(root: &Path, t: &Tree, split: &str) -> Result<()> {
    if t.classes.len() < 2 {
        return Err(err(
            root,
            FolderProblem::TooFewClasses {
                found: t.classes.len(),
            },
        ));
    }
    if let Some(i) = t.files.iter().position(Vec::is_empty) {
        return Err(err(
            root,
            FolderProblem::EmptyClass {
                class: t.classes[i].clone(),
                split: split.into(),
            },
        ));
    }
    Ok(())
}

fn hidden(p: &Path) -> bool {
    p.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with('.'))
}

fn is_image_name(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

fn scan_tree(tree: &Path) -> Result<Tree> {
    let unreadable = |dir: &Path, e: std::io::Error| {
        err(
            tree,
            FolderProblem::UnreadableDir {
                dir: dir.to_path_buf(),
                message: e.to_string(),
            },
        )
    };
    let mut class_dirs = Vec::new();
    let mut non_image = 0;
    let rd = std::fs::read_dir(tree).map_err(|e| unreadable(tree, e))?;
    for entry in rd {
        let entry = entry.map_err(|e| unreadable(tree, e))?;
        let p = entry.path();
        if hidden(&p) {
            continue;
        }
        if p.is_dir() {
            let name = entry.file_name().to_string_lossy().into_owned();
            class_dirs.push((name, p));
        } else {
            // Files beside the class folders belong to no class.
            non_image += 1;
        }
    }
    class_dirs.sort();
    let mut files = Vec::with_capacity(class_dirs.len());
    for (class, (_, dir)) in class_dirs.iter().enumerate() {
        let mut list = Vec::new();
        let walk = walkdir::WalkDir::new(dir)
            .follow_links(true)
            .min_depth(1)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| !hidden(e.path()));
        for entry in walk {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    if let Some(target) = e.loop_ancestor() {
                        return Err(err(
                            tree,
                            FolderProblem::SymlinkLoop {
                                link: e.path().unwrap_or(dir).to_path_buf(),
                                target: target.to_path_buf(),
                            },
                        ));
                    }
                    let at = e.path().unwrap_or(dir).to_path_buf();
                    // A dangling link to an image: a bad image, not a bad tree.
                    if at.is_symlink() && !at.exists() && is_image_name(&at) {
                        list.push(FileEntry {
                            class: class as u32,
                            path: at,
                            size: 0,
                            mtime_ns: 0,
                        });
                        continue;
                    }
                    let io = e
                        .into_io_error()
                        .unwrap_or_else(|| std::io::Error::other("walk failed"));
                    return Err(unreadable(&at, io));
                }
            };
            if entry.file_type().is_dir() {
                continue;
            }
            if !is_image_name(entry.path()) {
                non_image += 1;
                continue;
            }
            let meta = entry
                .metadata()
                .map_err(|e| unreadable(entry.path(), e.into()))?;
            let mtime_ns = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos() as i128);
            list.push(FileEntry {
                class: class as u32,
                path: entry.into_path(),
                size: meta.len(),
                mtime_ns,
            });
        }
        list.sort_by(|a, b| a.path.cmp(&b.path));
        files.push(list);
    }
    Ok(Tree {
        classes: class_dirs.into_iter().map(|(n, _)| n).collect(),
        files,
        non_image,
    })
}

/// Seeded stratified split of one tree ([`crate::split`]).
fn split(
    t: &Tree,
    fraction: f64,
    seed: u64,
) -> std::result::Result<(Vec<FileEntry>, Vec<FileEntry>), FolderProblem> {
    let all: Vec<&FileEntry> = t.files.iter().flatten().collect();
    let labels: Vec<u32> = all.iter().map(|f| f.class).collect();
    let (train, test) = stratified_split(&labels, &t.classes, fraction, seed)?;
    let pick = |idx: Vec<usize>| idx.into_iter().map(|i| all[i].clone()).collect();
    Ok((pick(train), pick(test)))
}

/// The target size when none is given (see the module documentation).
fn choose_size(scan: &Scan, opts: &FolderOptions) -> (ImageSize, String) {
    if let Some(s) = opts.image_size {
        return (s, "as given".into());
    }
    let dims: Vec<Option<(u32, u32)>> = scan
        .train
        .par_iter()
        .chain(scan.test.par_iter())
        .map(|f| {
            image::ImageReader::open(&f.path)
                .ok()?
                .with_guessed_format()
                .ok()?
                .into_dimensions()
                .ok()
        })
        .collect();
    common_size(dims.into_iter().flatten())
}

/// The common size of `dims` (width, height) if there is one no larger than
/// 128×128, else the 64×64 fallback; with the reason in words.
pub(crate) fn common_size(mut dims: impl Iterator<Item = (u32, u32)>) -> (ImageSize, String) {
    let fallback = ImageSize::square(FALLBACK_SIZE);
    let Some(first) = dims.next() else {
        return (fallback, "default (no readable image)".into());
    };
    if dims.all(|d| d == first) {
        let (w, h) = first;
        if w <= MAX_NATIVE_SIDE && h <= MAX_NATIVE_SIDE {
            return (
                ImageSize {
                    height: h,
                    width: w,
                },
                "every image's own size".into(),
            );
        }
        return (
            fallback,
            format!(
                "default: the images are {h}×{w}, larger than {MAX_NATIVE_SIDE}×{MAX_NATIVE_SIDE}"
            ),
        );
    }
    (fallback, "default: the images differ in size".into())
}

/// Decodes the scanned files (in parallel) into (train, test, provenance).
pub fn decode_scan(
    scan: &Scan,
    opts: &FolderOptions,
    progress: ProgressFn,
) -> Result<(ImageSet, ImageSet, Provenance)> {
    let (size, reason) = choose_size(scan, opts);
    let total = (scan.train.len() + scan.test.len()) as u64;
    let done = AtomicU64::new(0);
    let decode_all = |files: &[FileEntry]| -> Vec<std::result::Result<Converted, String>> {
        files
            .par_iter()
            .map(|f| {
                let r = std::fs::read(&f.path)
                    .map_err(|e| format!("cannot read: {e}"))
                    .and_then(|b| decode::decode_convert(&b, size, opts.max_pixels));
                progress(done.fetch_add(1, Ordering::Relaxed) + 1, total);
                r
            })
            .collect()
    };
    let train = decode_all(&scan.train);
    let test = decode_all(&scan.test);
    let mut bad = Vec::new();
    for (files, results) in [(&scan.train, &train), (&scan.test, &test)] {
        for (f, r) in files.iter().zip(results) {
            if let Err(e) = r {
                bad.push(format!("{}: {e}", f.path.display()));
            }
        }
    }
    if !bad.is_empty() && !opts.skip_bad_images {
        return Err(err(
            &scan.root,
            FolderProblem::BadImages {
                count: bad.len(),
                first: bad.iter().take(LISTED_BAD).cloned().collect(),
            },
        ));
    }
    let splits = [
        ("train", collect_ok(&scan.train, train)),
        ("test", collect_ok(&scan.test, test)),
    ];
    let mut prov = Provenance {
        source: format!("folder:{}", scan.root.display()),
        split: scan.split.clone(),
        image_size: Some(size),
        image_size_reason: reason,
        class_names: scan.class_names.clone(),
        non_image_files: scan.non_image_files,
        skipped_count: bad.len(),
        skipped: bad.into_iter().take(MAX_LISTED).collect(),
        notes: scan.notes.clone(),
        ..Provenance::default()
    };
    let set_name = scan
        .root
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "folder".into());
    let (sets, channels) = assemble(&splits, &scan.class_names, size, &set_name, &mut prov, true)
        .map_err(|p| err(&scan.root, p))?;
    prov.channels = channels;
    let [train, test] = sets;
    prov.train_per_class = train.class_counts();
    prov.test_per_class = test.class_counts();
    Ok((train, test, prov))
}

fn collect_ok(
    files: &[FileEntry],
    results: Vec<std::result::Result<Converted, String>>,
) -> Vec<(u32, Converted)> {
    files
        .iter()
        .zip(results)
        .filter_map(|(f, r)| r.ok().map(|c| (f.class, c)))
        .collect()
}

/// Builds the two sets: one channel if every image is grayscale, else RGB.
/// Counts the conversions into `prov`. With `require_every_class`, a class
/// left without images (after skipping bad ones) is an error.
pub(crate) fn assemble(
    splits: &[(&str, Vec<(u32, Converted)>); 2],
    class_names: &[String],
    size: ImageSize,
    set_name: &str,
    prov: &mut Provenance,
    require_every_class: bool,
) -> std::result::Result<([ImageSet; 2], u32), FolderProblem> {
    let all = || splits.iter().flat_map(|(_, v)| v.iter().map(|(_, c)| c));
    let gray = all().all(|c| c.gray);
    let channels = if gray { 1 } else { 3 };
    prov.upscaled = all().filter(|c| c.upscaled).count();
    prov.alpha_composited = all().filter(|c| c.alpha).count();
    prov.deep_to_8bit = all().filter(|c| c.deep).count();
    prov.gray_to_rgb = if gray {
        0
    } else {
        all().filter(|c| c.gray).count()
    };
    let k = class_names.len() as u32;
    let mut out = Vec::new();
    for (split, items) in splits {
        let mut counts = vec![0usize; k as usize];
        let mut pixels =
            Vec::with_capacity(items.len() * (channels * size.height * size.width) as usize);
        let mut labels = Vec::with_capacity(items.len());
        for (class, c) in items {
            counts[*class as usize] += 1;
            if c.gray && !gray {
                pixels.extend_from_slice(&decode::gray_to_rgb(&c.pixels));
            } else {
                pixels.extend_from_slice(&c.pixels);
            }
            labels.push(*class);
        }
        if let Some(i) = counts.iter().position(|&n| n == 0)
            && require_every_class
        {
            return Err(FolderProblem::EmptyClass {
                class: class_names[i].clone(),
                split: format!("{split}, after skipping bad images"),
            });
        }
        let set = ImageSet::new(
            format!("{set_name}-{split}"),
            channels,
            size.height,
            size.width,
            pixels,
            labels,
            k,
            class_names.to_vec(),
        )
        .expect("assembled from checked parts");
        out.push(set);
    }
    let [train, test]: [ImageSet; 2] = out.try_into().expect("two splits");
    Ok(([train, test], channels))
}

#[cfg(test)]
#[path = "folder_tests.rs"]
pub(crate) mod tests;
