//! Fuzzes PNG decoding to planar CHW (1 and 3 channels), never a panic.
#![no_main]
use std::path::Path;

use augkit_data::hf_parquet::decode_png;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for channels in [1, 3] {
        if let Ok((h, w, px)) = decode_png(data, channels, Path::new("fuzz.png")) {
            assert_eq!(px.len(), channels as usize * h as usize * w as usize);
        }
    }
});
