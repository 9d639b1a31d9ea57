//! Fuzzes the IDX readers (after optional gunzip): images and labels parse
//! consistently with their headers or are rejected, never a panic.
#![no_main]
use std::path::Path;

use augkit_data::idx::{gunzip_if_gz, parse_idx_images, parse_idx_labels};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(plain) = gunzip_if_gz(data.to_vec(), Path::new("fuzz")) else {
        return;
    };
    if let Ok(img) = parse_idx_images(&plain, Path::new("fuzz")) {
        assert_eq!(
            plain.len(),
            16 + img.count * img.rows as usize * img.cols as usize
        );
    }
    if let Ok(lab) = parse_idx_labels(&plain, Path::new("fuzz"), 10) {
        assert_eq!(plain.len(), 8 + lab.len());
    }
});
