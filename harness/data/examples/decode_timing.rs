//! Where the time of decoding + converting one JPEG goes (not a test):
//! `cargo run --release -p augkit-data --example decode_timing -- FILE.jpg [SIZE]`.

use std::time::Instant;

use augkit_data::decode::{self, ImageSize};

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("a JPEG path");
    let size: u32 = args.next().map_or(64, |s| s.parse().expect("a size"));
    let bytes = std::fs::read(&path).expect("readable");
    let n = 300;
    let t = Instant::now();
    let mut img = None;
    for _ in 0..n {
        img = Some(decode::decode(&bytes, u64::MAX).expect("decodes"));
    }
    let dec = t.elapsed().as_secs_f64() / n as f64;
    let img = img.unwrap();
    let t = Instant::now();
    for _ in 0..n {
        std::hint::black_box(decode::convert(&img, ImageSize::square(size)));
    }
    let conv = t.elapsed().as_secs_f64() / n as f64;
    println!(
        "decode {:.3} ms, convert to {size} {:.3} ms",
        dec * 1e3,
        conv * 1e3
    );
}
