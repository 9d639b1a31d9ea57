//! Where a user-supplied data set came from and what was done to it: the
//! record `folder:`, `parquet:` and `npz:` sets carry into result files and
//! reports (and store in the decoded-set cache).

use serde::{Deserialize, Serialize};

use crate::decode::ImageSize;

/// How many listed paths a provenance keeps (the counts are always complete).
pub const MAX_LISTED: usize = 100;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// The data set as named: `folder:PATH`, `parquet:PATH`, `npz:PATH`.
    pub source: String,
    /// SHA-256 (hex) of the input files' list with sizes and modification
    /// times plus the conversion options: the cache key.
    pub input_digest: String,
    /// SHA-256 (hex) of the decoded pixels and labels.
    pub content_digest: String,
    /// How train and test were found (`train/ + test/`, a seeded split, …).
    pub split: String,
    /// Size of every image after conversion, and why that size.
    pub image_size: Option<ImageSize>,
    pub image_size_reason: String,
    pub channels: u32,
    pub class_names: Vec<String>,
    pub train_per_class: Vec<usize>,
    pub test_per_class: Vec<usize>,
    /// Files that are not images (by extension), ignored.
    pub non_image_files: usize,
    /// Bad images skipped (`--skip-bad-images`): count and the first paths with reasons.
    pub skipped_count: usize,
    pub skipped: Vec<String>,
    /// Images smaller than the target on some side, upscaled.
    pub upscaled: usize,
    /// Grayscale images replicated to RGB because others are in colour.
    pub gray_to_rgb: usize,
    /// Images with alpha, composited on black.
    pub alpha_composited: usize,
    /// Images with more than 8 bits per sample, scaled to 8.
    pub deep_to_8bit: usize,
    /// Anything else a reader decided (e.g. many classes, `val/` used as test).
    pub notes: Vec<String>,
    /// Whether this load came from the decoded-set cache.
    #[serde(default)]
    pub from_cache: bool,
}

impl Provenance {
    /// One line per fact, for reports and logs.
    pub fn lines(&self) -> Vec<String> {
        let mut out = vec![format!(
            "source {}; {}; {} classes; {} training and {} test images",
            self.source,
            self.split,
            self.class_names.len(),
            self.train_per_class.iter().sum::<usize>(),
            self.test_per_class.iter().sum::<usize>()
        )];
        if let Some(s) = self.image_size {
            out.push(format!(
                "images {}×{}×{} ({})",
                self.channels, s.height, s.width, self.image_size_reason
            ));
        }
        let per_class: Vec<String> = self
            .class_names
            .iter()
            .enumerate()
            .map(|(i, n)| {
                format!(
                    "{n} {}/{}",
                    self.train_per_class.get(i).unwrap_or(&0),
                    self.test_per_class.get(i).unwrap_or(&0)
                )
            })
            .collect();
        const SHOWN: usize = 20;
        let more = per_class.len().saturating_sub(SHOWN);
        out.push(format!(
            "per class (train/test): {}{}",
            per_class[..per_class.len().min(SHOWN)].join(", "),
            if more > 0 {
                format!(", … and {more} more")
            } else {
                String::new()
            }
        ));
        out.push(format!(
            "conversions: {} upscaled, {} grayscale→RGB, {} alpha composited on black, {} >8-bit to 8-bit; \
             {} non-image files ignored; {} bad images skipped",
            self.upscaled,
            self.gray_to_rgb,
            self.alpha_composited,
            self.deep_to_8bit,
            self.non_image_files,
            self.skipped_count
        ));
        out.extend(self.skipped.iter().map(|s| format!("skipped: {s}")));
        out.extend(self.notes.iter().cloned());
        out.push(format!(
            "input digest {}, content digest {}{}",
            short(&self.input_digest),
            short(&self.content_digest),
            if self.from_cache {
                " (decoded set read from the cache)"
            } else {
                ""
            }
        ));
        out
    }
}

fn short(d: &str) -> &str {
    &d[..d.len().min(16)]
}
