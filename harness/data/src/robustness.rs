//! Property tests: every reader, fed mutated or truncated versions of valid
//! files, returns an error or a result consistent with an independent check —
//! never a panic. (The `fuzz/` targets run the same entry points for longer.)

use std::path::Path;

use proptest::prelude::*;

use crate::cifar::{CIFAR10_RECORD_LEN, parse_cifar10_batch, read_cifar10_archive_from};
use crate::hf_parquet::{HF_CIFAR10, HF_FASHION_MNIST, decode_png, read_hf_parquet_bytes};
use crate::idx::{gunzip_if_gz, parse_idx_images, parse_idx_labels};
use crate::subset::{Limit, stratified_subset};
use crate::testutil::{
    cifar_batch, cifar_tar_gz, encode_png, gz, hf_parquet, idx_images, idx_labels,
};

/// A mutation: overwrite bytes at positions (taken modulo the length), then truncate.
#[derive(Clone, Debug)]
struct Mutation {
    writes: Vec<(usize, u8)>,
    cut: Option<usize>,
}

fn mutation() -> impl Strategy<Value = Mutation> {
    (
        prop::collection::vec((any::<usize>(), any::<u8>()), 0..6),
        prop::option::weighted(0.4, any::<usize>()),
    )
        .prop_map(|(writes, cut)| Mutation { writes, cut })
}

fn apply(m: &Mutation, mut b: Vec<u8>) -> Vec<u8> {
    if !b.is_empty() {
        for &(at, v) in &m.writes {
            let n = b.len();
            b[at % n] = v;
        }
    }
    if let Some(c) = m.cut {
        b.truncate(c % (b.len() + 1));
    }
    b
}

fn config() -> ProptestConfig {
    ProptestConfig {
        // More cases for a stress run: AUGKIT_PROPTEST_CASES=20000 cargo test -p augkit-data robustness
        cases: std::env::var("AUGKIT_PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(96),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn cifar_batch_mutations(m in mutation()) {
        let bytes = apply(&m, cifar_batch(3, 11));
        match parse_cifar10_batch(&bytes, Path::new("b"), None) {
            Ok((px, lb)) => {
                prop_assert!(bytes.len().is_multiple_of(CIFAR10_RECORD_LEN));
                prop_assert_eq!(px.len(), lb.len() * 3072);
                for (i, rec) in bytes.chunks_exact(CIFAR10_RECORD_LEN).enumerate() {
                    prop_assert_eq!(lb[i], rec[0] as u32);
                    prop_assert!(rec[0] <= 9);
                    prop_assert_eq!(&px[i * 3072..(i + 1) * 3072], &rec[1..]);
                }
            }
            Err(_) => prop_assert!(
                bytes.is_empty()
                    || !bytes.len().is_multiple_of(CIFAR10_RECORD_LEN)
                    || bytes.chunks(CIFAR10_RECORD_LEN).any(|r| r[0] > 9)
            ),
        }
    }

    #[test]
    fn cifar_archive_mutations(m in mutation()) {
        let entries: Vec<(String, Vec<u8>)> = crate::cifar::CIFAR10_TRAIN_FILES
            .iter()
            .chain([&crate::cifar::CIFAR10_TEST_FILE])
            .map(|f| (format!("cifar-10-batches-bin/{f}"), cifar_batch(1, f.len() as u64)))
            .collect();
        let bytes = apply(&m, cifar_tar_gz(&entries));
        if let Ok((train, test)) = read_cifar10_archive_from(&bytes[..], Path::new("a.tgz"), None) {
            train.validate().unwrap();
            test.validate().unwrap();
        }
    }

    #[test]
    fn idx_mutations(m in mutation(), zipped in any::<bool>()) {
        let px: Vec<u8> = (0..3 * 5 * 4).map(|i| i as u8).collect();
        let img = idx_images(3, 5, 4, &px);
        let lab = idx_labels(&[1, 2, 9]);
        for raw in [img, lab] {
            let raw = if zipped { gz(&raw) } else { raw };
            let bytes = apply(&m, raw);
            let Ok(plain) = gunzip_if_gz(bytes, Path::new("f")) else { continue };
            if let Ok(i) = parse_idx_images(&plain, Path::new("f")) {
                prop_assert_eq!(&plain[..4], &[0u8, 0, 8, 3][..]);
                prop_assert_eq!(i.pixels.len(), i.count * i.rows as usize * i.cols as usize);
                prop_assert_eq!(plain.len(), 16 + i.pixels.len());
            }
            if let Ok(l) = parse_idx_labels(&plain, Path::new("f"), 10) {
                prop_assert_eq!(plain.len(), 8 + l.len());
                prop_assert!(l.iter().all(|&x| x < 10));
            }
        }
    }

    #[test]
    fn png_mutations(m in mutation()) {
        let data: Vec<u8> = (0..6 * 7 * 3).map(|i| (i * 5) as u8).collect();
        let bytes = apply(&m, encode_png(6, 7, png::ColorType::Rgb, &data));
        if let Ok((h, w, px)) = decode_png(&bytes, 3, Path::new("p")) {
            prop_assert_eq!(px.len(), 3 * h as usize * w as usize);
        }
    }

    #[test]
    fn parquet_mutations(m in mutation(), gray in any::<bool>()) {
        let (col, spec, png) = if gray {
            ("image", HF_FASHION_MNIST, encode_png(4, 4, png::ColorType::Grayscale, &[3; 16]))
        } else {
            ("img", HF_CIFAR10, encode_png(4, 4, png::ColorType::Rgb, &[3; 48]))
        };
        let file = hf_parquet(col, &[(Some(png.clone()), Some(1)), (Some(png), Some(9))]);
        if let Ok(set) = read_hf_parquet_bytes(apply(&m, file), Path::new("q"), &spec) {
            set.validate().unwrap();
        }
    }

    #[test]
    fn subset_properties(
        labels in prop::collection::vec(0u32..6, 0..200),
        n in 0usize..8,
        f in -0.2f64..1.3,
        seed in any::<u64>(),
    ) {
        for limit in [Limit::PerClass(n), Limit::Fraction(f)] {
            let got = stratified_subset(&labels, 6, limit, seed);
            let again = stratified_subset(&labels, 6, limit, seed);
            prop_assert_eq!(got.is_ok(), again.is_ok());
            if let (Ok(a), Ok(b)) = (got, again) {
                prop_assert_eq!(&a, &b);
                prop_assert!(a.windows(2).all(|w| w[0] < w[1]));
                let mut counts = [0usize; 6];
                for &i in &a {
                    counts[labels[i as usize] as usize] += 1;
                }
                if let Limit::PerClass(n) = limit {
                    prop_assert!(counts.iter().all(|&c| c == n));
                }
            }
        }
    }
}

/// Writes small valid seed inputs for the fuzz targets:
/// `AUGKIT_FUZZ_SEEDS=harness/data/fuzz/corpus cargo test -p augkit-data write_fuzz_seeds -- --ignored`
#[test]
#[ignore = "writes files; run by hand before fuzzing"]
fn write_fuzz_seeds() {
    let Some(root) = std::env::var_os("AUGKIT_FUZZ_SEEDS") else {
        eprintln!("AUGKIT_FUZZ_SEEDS not set; nothing written");
        return;
    };
    let root = std::path::PathBuf::from(root);
    let put = |target: &str, name: &str, bytes: Vec<u8>| {
        let d = root.join(target);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join(name), bytes).unwrap();
    };
    put("cifar_batch", "two", cifar_batch(2, 1));
    let entries: Vec<(String, Vec<u8>)> = crate::cifar::CIFAR10_TRAIN_FILES
        .iter()
        .chain([&crate::cifar::CIFAR10_TEST_FILE])
        .map(|f| (format!("cifar-10-batches-bin/{f}"), cifar_batch(1, 2)))
        .collect();
    put("cifar_archive", "one-each", cifar_tar_gz(&entries));
    let img = idx_images(2, 3, 4, &[7; 24]);
    put("idx", "images", img.clone());
    put("idx", "images-gz", gz(&img));
    put("idx", "labels", idx_labels(&[1, 9]));
    let rgb = encode_png(3, 2, png::ColorType::Rgb, &[9; 18]);
    let gray = encode_png(3, 2, png::ColorType::Grayscale, &[9; 6]);
    put("png", "rgb", rgb.clone());
    put("png", "gray", gray.clone());
    put(
        "hf_parquet",
        "cifar",
        hf_parquet("img", &[(Some(rgb), Some(3))]),
    );
    put(
        "hf_parquet",
        "fashion",
        hf_parquet("image", &[(Some(gray), Some(9))]),
    );
}
