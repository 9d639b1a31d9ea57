//! Fuzzes reading CIFAR-10 from a `.tar.gz` byte stream (gzip, tar, entry
//! paths, batch parsing), never a panic.
#![no_main]
use std::path::Path;

use augkit_data::cifar::read_cifar10_archive_from;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((train, test)) = read_cifar10_archive_from(data, Path::new("fuzz.tar.gz"), None) {
        train.validate().unwrap();
        test.validate().unwrap();
    }
});
