//! The technique policy directory: where `augkit experiment --policy-dir`
//! and `augkit preview --policies-dir` look by default, and how both list it.
//!
//! One rule for both: `harness/policies` under the working directory when
//! it is there (the checkout you run in, with your edits), else the
//! `harness/policies` of the source tree the binary was built from.

use std::path::{Path, PathBuf};

/// The default policy directory (see the module comment).
pub fn default_dir() -> PathBuf {
    let local = PathBuf::from("harness/policies");
    if local.is_dir() {
        local
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("policies")
    }
}

/// Every `*.toml` in `dir` as `(stem, path)`, sorted by path.
pub fn list(dir: &Path) -> std::io::Result<Vec<(String, PathBuf)>> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    found.sort();
    Ok(found
        .into_iter()
        .map(|path| {
            let stem = path
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            (stem, path)
        })
        .collect())
}
