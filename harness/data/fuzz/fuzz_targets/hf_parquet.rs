//! Fuzzes the Hugging Face parquet reader (parquet decoding, schema checks,
//! embedded PNGs, labels) for both layouts, never a panic.
#![no_main]
use std::path::Path;

use augkit_data::hf_parquet::{HF_CIFAR10, HF_FASHION_MNIST, read_hf_parquet_bytes};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for spec in [HF_CIFAR10, HF_FASHION_MNIST] {
        if let Ok(set) = read_hf_parquet_bytes(data.to_vec(), Path::new("fuzz.parquet"), &spec) {
            set.validate().unwrap();
        }
    }
});
