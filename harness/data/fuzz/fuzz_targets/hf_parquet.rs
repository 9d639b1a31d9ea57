//! Fuzzes the Hugging Face parquet reader (parquet decoding, schema checks,
//! embedded PNGs, labels) for both layouts, never a panic.
#![no_main]
use std::path::Path;

use augkit_data::hf_parquet::{HF_CIFAR10, HF_FASHION_MNIST, read_hf_parquet_bytes};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // augkit-data turns panics inside the parquet crate (it has known ones on
    // malformed input) into errors, but libfuzzer-sys's panic hook would abort
    // even on those. Stay quiet when the panic comes from parquet's code; any
    // other panic still reaches the hook and aborts.
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let bt = std::backtrace::Backtrace::force_capture().to_string();
            if !bt.contains("parquet::") {
                prev(info);
            }
        }));
    });
    for spec in [HF_CIFAR10, HF_FASHION_MNIST] {
        if let Ok(set) = read_hf_parquet_bytes(data.to_vec(), Path::new("fuzz.parquet"), &spec) {
            set.validate().unwrap();
        }
    }
});
