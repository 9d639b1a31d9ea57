//! Fuzzes the CIFAR-10 batch parser: any input is rejected or parsed into
//! consistent pixels and labels, never a panic.
#![no_main]
use std::path::Path;

use augkit_data::cifar::{CIFAR10_RECORD_LEN, parse_cifar10_batch};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((px, lb)) = parse_cifar10_batch(data, Path::new("fuzz"), None) {
        assert_eq!(lb.len() * CIFAR10_RECORD_LEN, data.len());
        assert_eq!(px.len(), lb.len() * 3072);
        assert!(lb.iter().all(|&l| l <= 9));
    }
});
