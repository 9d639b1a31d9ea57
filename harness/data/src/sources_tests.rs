//! Tests of `load_source`: the decoded-set cache (hit, invalidation when a
//! file changes or an option differs, a damaged cache file), parquet sets
//! (column detection, class names from the metadata, shards, a single file
//! split, bad rows) and `.npz` sets (split, resize).

use image::{DynamicImage, ImageFormat};

use super::*;
use crate::error::NpzProblem;
use crate::folder::tests::{gradient, planar_rgb, save};
use crate::testutil::{NpzArray, TempDir, hf_parquet_with, write_npz};

fn none(_: u64, _: u64) {}

fn png(img: DynamicImage) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, ImageFormat::Png).unwrap();
    out.into_inner()
}

fn sized(s: u32) -> SourceOptions {
    SourceOptions {
        image_size: Some(ImageSize::square(s)),
        ..SourceOptions::default()
    }
}

#[test]
fn parses_source_names() {
    assert_eq!(
        Source::parse("folder:/a/b").unwrap().unwrap(),
        Source::Folder("/a/b".into())
    );
    assert_eq!(
        Source::parse("npz:x.npz").unwrap().unwrap().to_string(),
        "npz:x.npz"
    );
    assert!(Source::parse("parquet:").unwrap().is_err());
    assert!(Source::parse("cifar10").is_none());
    assert!(Source::parse("http://x").is_none());
}

/// The first load decodes and writes the cache; the second reads it (same
/// sets, `from_cache`); touching a file or changing an option decodes again;
/// a damaged cache file is noticed and replaced.
#[test]
fn cache_hits_and_is_invalidated_by_changes() {
    let tmp = TempDir::new("src-cache");
    let root = tmp.path().join("imgs");
    let cache = tmp.path().join("cache");
    for class in ["a", "b"] {
        for i in 0..3 {
            save(
                &root.join(format!("{class}/{i}.png")),
                gradient(6, 6, i).into(),
                ImageFormat::Png,
            );
        }
    }
    let src = Source::Folder(root.clone());
    let o = sized(6);
    let first = load_source(&src, &o, Some(&cache), &none).unwrap();
    assert!(!first.provenance.from_cache);
    assert_eq!(std::fs::read_dir(&cache).unwrap().count(), 1);
    let second = load_source(&src, &o, Some(&cache), &none).unwrap();
    assert!(second.provenance.from_cache);
    assert_eq!((&second.train, &second.test), (&first.train, &first.test));
    assert_eq!(
        second.provenance.content_digest,
        first.provenance.content_digest
    );
    assert_eq!(
        second.provenance.input_digest,
        first.provenance.input_digest
    );
    assert_eq!(
        second.provenance.source,
        format!("folder:{}", root.display())
    );

    // Another size is another cache entry.
    let other = load_source(&src, &sized(4), Some(&cache), &none).unwrap();
    assert!(!other.provenance.from_cache);
    assert_eq!(other.train.height, 4);

    // A changed file (new content, size and time) misses.
    std::thread::sleep(std::time::Duration::from_millis(20));
    save(
        &root.join("a/0.png"),
        gradient(6, 6, 77).into(),
        ImageFormat::Png,
    );
    let third = load_source(&src, &o, Some(&cache), &none).unwrap();
    assert!(!third.provenance.from_cache);
    assert_ne!(third.provenance.input_digest, first.provenance.input_digest);
    assert_ne!(
        third.provenance.content_digest,
        first.provenance.content_digest
    );
    let changed = planar_rgb(&gradient(6, 6, 77));
    let images: Vec<&[u8]> = (0..third.train.len())
        .map(|i| third.train.image(i))
        .chain((0..third.test.len()).map(|i| third.test.image(i)))
        .collect();
    assert!(images.contains(&&changed[..]));

    // A damaged cache file: decoded again, noted, and rewritten.
    let path = cache::cache_path(&cache, "folder", &third.provenance.input_digest);
    let mut bytes = std::fs::read(&path).unwrap();
    let n = bytes.len();
    bytes[n - 1] ^= 0xff;
    std::fs::write(&path, bytes).unwrap();
    let again = load_source(&src, &o, Some(&cache), &none).unwrap();
    assert!(!again.provenance.from_cache);
    assert!(
        again
            .provenance
            .notes
            .iter()
            .any(|n| n.contains("failed its check")),
        "{:?}",
        again.provenance.notes
    );
    assert!(
        load_source(&src, &o, Some(&cache), &none)
            .unwrap()
            .provenance
            .from_cache
    );
}

/// A Hugging Face style parquet directory: the image column found by its
/// metadata type, class names from `ClassLabel`, train and test shards.
#[test]
fn parquet_directory_with_metadata_and_shards() {
    let tmp = TempDir::new("src-parquet");
    let dir = tmp.path().join("pets");
    std::fs::create_dir_all(dir.join("data")).unwrap();
    let imgs: Vec<_> = (0..4).map(|i| gradient(5, 5, i * 3)).collect();
    let rows: Vec<(Option<Vec<u8>>, Option<i64>)> = imgs
        .iter()
        .enumerate()
        .map(|(i, g)| (Some(png(g.clone().into())), Some(i as i64 % 3)))
        .collect();
    let meta = r#"{"info": {"features": {"picture": {"_type": "Image"},
        "breed": {"_type": "ClassLabel", "names": ["beagle", "pug", "corgi"]}}}}"#;
    std::fs::write(
        dir.join("data/train-00000-of-00001.parquet"),
        hf_parquet_with("picture", "breed", &rows[..3], Some(meta.into())),
    )
    .unwrap();
    std::fs::write(
        dir.join("data/test-00000-of-00001.parquet"),
        hf_parquet_with("picture", "breed", &rows[3..], Some(meta.into())),
    )
    .unwrap();
    let src = Source::Parquet(dir.clone());
    let l = load_source(&src, &SourceOptions::default(), None, &none).unwrap();
    assert_eq!(l.train.class_names, vec!["beagle", "pug", "corgi"]);
    assert_eq!((l.train.len(), l.test.len()), (3, 1));
    assert_eq!((l.train.height, l.train.channels), (5, 3));
    assert_eq!(l.train.labels, vec![0, 1, 2]);
    for (i, g) in imgs.iter().take(3).enumerate() {
        assert_eq!(l.train.image(i), &planar_rgb(g)[..]);
    }
    assert_eq!(l.test.image(0), &planar_rgb(&imgs[3])[..]);
    assert!(
        l.provenance.split.contains("\"picture\""),
        "{}",
        l.provenance.split
    );

    // Column names given by the user must exist.
    let o = SourceOptions {
        columns: Columns {
            image: Some("img".into()),
            label: None,
        },
        ..SourceOptions::default()
    };
    let e = load_source(&src, &o, None, &none).unwrap_err().to_string();
    assert!(e.contains("no column \"img\""), "{e}");
}

/// One parquet file, no metadata: columns `image`/`label` detected, classes
/// numbered, split by the fraction; bad rows by their error.
#[test]
fn single_parquet_file_is_split_and_bad_rows_rejected() {
    let tmp = TempDir::new("src-parquet1");
    let rows: Vec<(Option<Vec<u8>>, Option<i64>)> = (0..8)
        .map(|i| (Some(png(gradient(4, 4, i).into())), Some(i as i64 % 2)))
        .collect();
    let f = tmp.path().join("one.parquet");
    std::fs::write(&f, hf_parquet_with("image", "label", &rows, None)).unwrap();
    let o = SourceOptions {
        test_fraction: 0.25,
        ..SourceOptions::default()
    };
    let l = load_source(&Source::Parquet(f.clone()), &o, None, &none).unwrap();
    assert_eq!(l.train.class_names, vec!["0", "1"]);
    assert_eq!(
        (l.train.class_counts(), l.test.class_counts()),
        (vec![3, 3], vec![1, 1])
    );

    let write = |rows: &[(Option<Vec<u8>>, Option<i64>)], label: &str| {
        std::fs::write(&f, hf_parquet_with("image", label, rows, None)).unwrap();
        load_source(&Source::Parquet(f.clone()), &o, None, &none)
            .unwrap_err()
            .to_string()
    };
    let mut bad = rows.clone();
    bad[2].1 = Some(-1);
    assert!(write(&bad, "label").contains("label -1 is negative"));
    bad[2] = (Some(b"garbage".to_vec()), Some(0));
    let e = write(&bad, "label");
    assert!(
        e.contains("1 unreadable or corrupt") && e.contains("#row2"),
        "{e}"
    );
    // Any single integer column is the label; a named one must exist.
    std::fs::write(&f, hf_parquet_with("image", "target", &rows, None)).unwrap();
    let l = load_source(&Source::Parquet(f.clone()), &o, None, &none).unwrap();
    assert_eq!(l.train.len() + l.test.len(), 8);
    let named = SourceOptions {
        columns: Columns {
            image: None,
            label: Some("nope".into()),
        },
        ..o.clone()
    };
    let e = load_source(&Source::Parquet(f.clone()), &named, None, &none)
        .unwrap_err()
        .to_string();
    assert!(e.contains("no column \"nope\""), "{e}");
    std::fs::write(&f, b"PAR1 not really").unwrap();
    let e = load_source(&Source::Parquet(f.clone()), &o, None, &none)
        .unwrap_err()
        .to_string();
    assert!(e.contains("one.parquet"), "{e}");
}

/// `.npz` through `load_source`: split when it has no test arrays, resized
/// when a size is given, its errors passed through.
#[test]
fn npz_sources_split_and_resize() {
    let tmp = TempDir::new("src-npz");
    let p = tmp.path().join("arr.npz");
    let labels: Vec<u8> = (0..10).map(|i| i % 2).collect();
    std::fs::write(
        &p,
        write_npz(
            &[
                NpzArray::new("images", "|u1", &[10, 4, 4], vec![77; 160]),
                NpzArray::new("labels", "|u1", &[10], labels),
            ],
            true,
        ),
    )
    .unwrap();
    let src = Source::Npz(p.clone());
    let l = load_source(&src, &SourceOptions::default(), None, &none).unwrap();
    assert_eq!((l.train.len(), l.test.len(), l.train.channels), (8, 2, 1));
    assert_eq!(l.train.class_names, vec!["0", "1"]);
    assert!(!l.provenance.content_digest.is_empty());
    let l = load_source(&src, &sized(8), None, &none).unwrap();
    assert_eq!((l.train.height, l.provenance.upscaled), (8, 10));
    assert!(l.train.pixels.iter().all(|&v| v == 77));
    std::fs::write(&p, b"nope").unwrap();
    assert!(matches!(
        load_source(&src, &SourceOptions::default(), None, &none),
        Err(DataError::Npz {
            problem: NpzProblem::NotNpz(_),
            ..
        })
    ));
}
