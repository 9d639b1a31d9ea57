//! The size cap of every file the harness reads back, by kind, all read
//! through the library's one bounded reader ([`augkit::read_file_bounded`],
//! the one behind `Policy::from_file`): a file under a trusted name that
//! is huge or endless (a symlink to `/dev/zero`, a FIFO) costs at most its
//! cap in memory and comes back as an error naming the file and the cap.
//! Each cap is far above what augkit itself writes (docs/HARNESS.md, "What
//! can go wrong").

use std::path::Path;

/// What a file is, and so how large it may be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// `result.json` (curves of at most 10,000 epochs, a confusion matrix):
    /// tens of KB in practice.
    Result,
    /// A cell's `config.json` (the configuration and its policy).
    CellConfig,
    /// `experiment.json` (the matrix: one entry per cell).
    Experiment,
    /// `checkpoint.json` (every step's three clock readings, at most
    /// 1,000,000 steps: ≈ 60 MB at the most).
    Checkpoint,
    /// A checkpoint's `model-e<E>.ot` / `optimizer-e<E>.ot` (ResNet-18's
    /// Adam state is ≈ 90 MB).
    CheckpointTensors,
    /// An `augkit bench` JSON read by `--chart-from`.
    BenchJson,
}

impl FileKind {
    /// Largest file of this kind that is read, in bytes.
    pub const fn limit(self) -> u64 {
        match self {
            FileKind::Result => 16 << 20,
            FileKind::CellConfig => 4 << 20,
            FileKind::Experiment => 16 << 20,
            FileKind::Checkpoint => 128 << 20,
            FileKind::CheckpointTensors => 1 << 30,
            FileKind::BenchJson => 64 << 20,
        }
    }

    fn what(self) -> &'static str {
        match self {
            FileKind::Result => "a result.json",
            FileKind::CellConfig => "a cell's config.json",
            FileKind::Experiment => "an experiment.json",
            FileKind::Checkpoint => "a checkpoint.json",
            FileKind::CheckpointTensors => "a checkpoint's tensor file",
            FileKind::BenchJson => "an augkit bench JSON",
        }
    }
}

/// The bytes of `path`, at most `kind`'s cap. I/O errors keep their kind
/// (so `NotFound` can be told apart); a longer file is `FileTooLarge`.
pub fn read_bytes(path: &Path, kind: FileKind) -> std::io::Result<Vec<u8>> {
    augkit::read_file_bounded(path, kind.limit()).map_err(|e| {
        if e.kind() == std::io::ErrorKind::FileTooLarge {
            std::io::Error::new(
                e.kind(),
                format!(
                    "{e}, the cap for {} (not a file augkit wrote?)",
                    kind.what()
                ),
            )
        } else {
            e
        }
    })
}

/// [`read_bytes`] as UTF-8 text.
pub fn read_text(path: &Path, kind: FileKind) -> std::io::Result<String> {
    String::from_utf8(read_bytes(path, kind)?)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `/dev/zero` under every kind's name is refused at its cap (the
    /// smallest caps are read in full; the largest are checked by kind).
    #[test]
    fn endless_files_are_refused_at_the_cap() {
        for kind in [FileKind::CellConfig, FileKind::Result] {
            let e = read_text(Path::new("/dev/zero"), kind).unwrap_err();
            assert_eq!(e.kind(), std::io::ErrorKind::FileTooLarge);
            assert!(
                e.to_string()
                    .contains(&format!("larger than {} bytes", kind.limit())),
                "{e}"
            );
        }
        let e = read_text(Path::new("/nonexistent/result.json"), FileKind::Result).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
    }
}
