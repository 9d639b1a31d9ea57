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
