//! The one error type of `augkit-data`: every variant names the file (or URL,
//! or data set) and says what was wrong with it.

use std::path::PathBuf;

/// Result alias used throughout the crate.
pub type Result<T, E = DataError> = std::result::Result<T, E>;

/// What went wrong while reading, checking, generating or downloading a data set.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The file could not be opened, read or written. The OS error is in
    /// the message and not a `source` as well, so that a report of the
    /// whole chain (`{:#}`) does not say it twice.
    #[error("{}: {error}", path.display())]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    /// The file was read but its contents are not what the format requires.
    #[error("{}: {problem}", path.display())]
    Format { path: PathBuf, problem: String },
    /// An `ImageSet` was built from inconsistent parts.
    #[error("image set {name:?}: {problem}")]
    InvalidSet { name: String, problem: String },
    /// A parameter (generator size, subset limit, …) is out of range.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// `load` or `download` was given a name it does not know.
    #[error("unknown data set {name:?} (known: {known})")]
    UnknownDataset { name: String, known: String },
    /// The files of a data set are not in the directory.
    #[error(
        "data set {name:?}: no usable files in {}; expected {expected}; run `augkit download {name}` to fetch them",
        dir.display()
    )]
    MissingFiles {
        name: String,
        dir: PathBuf,
        expected: String,
    },
    /// An HTTP transfer failed or was cut off.
    #[error("download {url}: {problem}")]
    Download { url: String, problem: String },
    /// An `.npz` archive (or one of its arrays) is unusable: the file and,
    /// where one is at fault, the array are named.
    #[error("{}: {}{problem}", path.display(), array.as_ref().map(|a| format!("array {a:?}: ")).unwrap_or_default())]
    Npz {
        path: PathBuf,
        array: Option<String>,
        problem: NpzProblem,
    },
    /// An image folder (`folder:PATH`) or its images are unusable.
    #[error("{}: {problem}", path.display())]
    Folder {
        path: PathBuf,
        problem: FolderProblem,
    },
    /// A downloaded file's digest differs from the known one.
    #[error("{url}: {algorithm} checksum mismatch: expected {expected}, got {actual}")]
    Checksum {
        url: String,
        algorithm: &'static str,
        expected: String,
        actual: String,
    },
}

impl DataError {
    pub(crate) fn io(path: impl Into<PathBuf>, error: std::io::Error) -> Self {
        DataError::Io {
            path: path.into(),
            error,
        }
    }

    pub(crate) fn format(path: impl Into<PathBuf>, problem: impl Into<String>) -> Self {
        DataError::Format {
            path: path.into(),
            problem: problem.into(),
        }
    }
}

/// What is wrong with an `.npz` file ([`DataError::Npz`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NpzProblem {
    /// Not a zip archive, or its directory is damaged (e.g. cut off).
    #[error("not an .npz (zip) archive: {0}")]
    NotNpz(String),
    /// The array's data ends early or fails its checksum.
    #[error("truncated or corrupt: {0}")]
    Truncated(String),
    /// A required array is absent.
    #[error("missing (the file holds: {present})")]
    MissingArray { present: String },
    /// `test_images` without `test_labels` or the reverse.
    #[error("present without {other:?}")]
    Unpaired { other: String },
    /// The `.npy` header cannot be parsed.
    #[error("bad .npy header: {0}")]
    BadHeader(String),
    /// Fortran-ordered arrays are not read (save with `np.ascontiguousarray`).
    #[error("stored in Fortran order; save a C-ordered array (np.ascontiguousarray)")]
    FortranOrder,
    /// The element type is not the one required.
    #[error("dtype {found}, expected {expected}")]
    Dtype {
        found: String,
        expected: &'static str,
    },
    /// The array's shape is not one the reader accepts.
    #[error("shape {shape:?}, expected {expected}")]
    Shape { shape: Vec<u64>, expected: String },
    /// No images.
    #[error("holds zero images")]
    Empty,
    /// The header declares more data than the stated limit (checked before allocating).
    #[error("{bytes} bytes declared, more than the limit of {limit} bytes")]
    TooLarge { bytes: u64, limit: u64 },
    /// Labels and images differ in number.
    #[error("{labels} labels for {images} images")]
    LengthMismatch { images: u64, labels: u64 },
    /// A label is negative or not below the number of classes.
    #[error("label {label} of image {index} is not in 0..{bound}")]
    LabelOutOfRange { index: u64, label: i128, bound: u64 },
    /// The array holds more bytes than its header declares.
    #[error("data continues past the end its header declares")]
    TrailingData,
    /// The images are not of the shape the caller needs (`NpzSet::expect_shape`).
    #[error("images are {found:?} (C, H, W), expected {expected:?}")]
    WrongImageShape {
        found: (u32, u32, u32),
        expected: (u32, u32, u32),
    },
}

/// What is wrong with an image folder ([`DataError::Folder`]).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FolderProblem {
    /// The path is not a directory.
    #[error("not a directory")]
    NotADirectory,
    /// A directory could not be listed.
    #[error("cannot read directory {}: {message}", dir.display())]
    UnreadableDir { dir: PathBuf, message: String },
    /// A symbolic link points back to one of its ancestors.
    #[error("symbolic link loop: {} points back to {}", link.display(), target.display())]
    SymlinkLoop { link: PathBuf, target: PathBuf },
    /// A class folder holds no image file.
    #[error("class folder {class:?} holds no images ({split})")]
    EmptyClass { class: String, split: String },
    /// Classification needs at least two classes.
    #[error("{found} class folder(s) found; at least two are needed (one sub-folder per class)")]
    TooFewClasses { found: usize },
    /// `train/` and `test/` (or `val/`) name different classes.
    #[error("train and {test_dir} hold different classes: only in train: [{}]; only in {test_dir}: [{}]", only_train.join(", "), only_test.join(", "))]
    ClassSetsDiffer {
        test_dir: String,
        only_train: Vec<String>,
        only_test: Vec<String>,
    },
    /// Images that could not be read or decoded (without `--skip-bad-images`).
    #[error("{count} unreadable or corrupt image(s) (pass --skip-bad-images to skip them): {}", first.join("; "))]
    BadImages { count: usize, first: Vec<String> },
    /// A stratified split needs two images of every class.
    #[error(
        "class {class:?} has {images} image(s); splitting off a test set needs at least 2 per class"
    )]
    ClassTooSmall { class: String, images: usize },
    /// `--test-fraction` outside (0, 1).
    #[error("test fraction {0} is not in (0, 1)")]
    BadTestFraction(f64),
}
