//! Tests of `folder:` reading: folders the tests build themselves (PNG,
//! JPEG, WebP, BMP, GIF, grayscale and colour, odd sizes, corrupt and
//! non-image files, nested splits) checked against known pixel patterns,
//! and every bad-input case by its error.

use std::path::{Path, PathBuf};

use image::{DynamicImage, GrayImage, ImageFormat, RgbImage, RgbaImage};

use super::*;
use crate::testutil::TempDir;

fn none(_: u64, _: u64) {}

/// A w×h RGB gradient whose pixel (x, y) is (17x + 3y + seed, 5y + 2seed, 200 − x − y).
pub(crate) fn gradient(w: u32, h: u32, seed: u8) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([
            (17 * x + 3 * y + seed as u32) as u8,
            (5 * y + 2 * seed as u32) as u8,
            (200 - x - y) as u8,
        ])
    })
}

/// `img` as planar CHW.
pub(crate) fn planar_rgb(img: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    for c in 0..3 {
        out.extend(img.pixels().map(|p| p.0[c]));
    }
    out
}

pub(crate) fn save(path: &Path, img: DynamicImage, format: ImageFormat) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    img.save_with_format(path, format).unwrap();
}

fn opts(size: u32) -> FolderOptions {
    FolderOptions {
        image_size: Some(ImageSize::square(size)),
        ..FolderOptions::default()
    }
}

fn problem(r: Result<(ImageSet, ImageSet, Provenance)>) -> FolderProblem {
    match r {
        Err(DataError::Folder { problem, .. }) => problem,
        Err(e) => panic!("not a folder error: {e}"),
        Ok(_) => panic!("accepted"),
    }
}

/// `train/` + `test/`, every format, colour and grayscale, nested folders,
/// odd sizes, a non-image file: exact pixels where the format is lossless.
#[test]
fn reads_split_folders_of_every_format() {
    let tmp = TempDir::new("folder-split");
    let root = tmp.path();
    let g0 = gradient(8, 8, 0);
    let g1 = gradient(8, 8, 9);
    save(
        &root.join("train/cat/a.png"),
        g0.clone().into(),
        ImageFormat::Png,
    );
    save(
        &root.join("train/cat/deep/nested/b.webp"),
        g1.clone().into(),
        ImageFormat::WebP,
    );
    save(
        &root.join("train/cat/c.bmp"),
        g1.clone().into(),
        ImageFormat::Bmp,
    );
    let gray = GrayImage::from_fn(8, 8, |x, y| image::Luma([(x * 30 + y) as u8]));
    save(
        &root.join("train/dog/g.PNG"),
        gray.clone().into(),
        ImageFormat::Png,
    );
    // A flat colour survives JPEG, GIF and any resize nearly unchanged.
    let flat = RgbImage::from_pixel(13, 7, image::Rgb([200, 40, 90]));
    save(
        &root.join("train/dog/flat.jpg"),
        flat.clone().into(),
        ImageFormat::Jpeg,
    );
    save(
        &root.join("test/cat/t.gif"),
        flat.clone().into(),
        ImageFormat::Gif,
    );
    save(
        &root.join("test/dog/t.png"),
        g0.clone().into(),
        ImageFormat::Png,
    );
    std::fs::write(root.join("train/dog/notes.txt"), "not an image").unwrap();
    std::fs::write(root.join("train/dog/.DS_Store"), "hidden").unwrap();

    let (train, test, prov) = read(root, &opts(8), &none).unwrap();
    assert_eq!(train.class_names, vec!["cat", "dog"]);
    assert_eq!((train.channels, train.height, train.width), (3, 8, 8));
    assert_eq!(train.labels, vec![0, 0, 0, 1, 1]);
    // Sorted by path within a class: a.png, c.bmp, deep/nested/b.webp.
    assert_eq!(train.image(0), &planar_rgb(&g0)[..]);
    assert_eq!(train.image(1), &planar_rgb(&g1)[..]);
    assert_eq!(train.image(2), &planar_rgb(&g1)[..]);
    // Grayscale in a colour set: replicated to three channels.
    let g: Vec<u8> = gray.as_raw().clone();
    assert_eq!(train.image(4), &[g.clone(), g.clone(), g][..].concat()[..]);
    // The 13×7 JPEG: shorter side 7 → 8 (upscaled), centre crop, colour kept.
    for (c, want) in [200, 40, 90].into_iter().enumerate() {
        for &v in &train.image(3)[c * 64..(c + 1) * 64] {
            assert!((i32::from(v) - want).abs() <= 3, "jpeg {v} vs {want}");
        }
    }
    assert_eq!(test.labels, vec![0, 1]);
    assert_eq!(test.image(1), &planar_rgb(&g0)[..]);
    for (c, want) in [200, 40, 90].into_iter().enumerate() {
        let v = test.image(0)[c * 64];
        assert!((i32::from(v) - want).abs() <= 8, "gif {v} vs {want}");
    }
    assert_eq!(prov.split, "train/ and test/ folders");
    assert_eq!(
        (prov.upscaled, prov.gray_to_rgb, prov.non_image_files),
        (2, 1, 1)
    );
    assert_eq!(
        (prov.train_per_class.clone(), prov.test_per_class.clone()),
        (vec![3, 2], vec![1, 1])
    );
    assert_eq!(prov.skipped_count, 0);
}

/// Every image grayscale: one channel; class names sorted byte-wise; `val/`
/// when there is no `test/`; alpha composited on black.
#[test]
fn grayscale_sets_stay_one_channel_and_val_is_a_test_split() {
    let tmp = TempDir::new("folder-gray");
    let root = tmp.path();
    for (i, class) in ["b_zebra", "a_ant", "C"].into_iter().enumerate() {
        let img = GrayImage::from_pixel(6, 6, image::Luma([i as u8 * 50]));
        save(
            &root.join(format!("train/{class}/x.png")),
            img.clone().into(),
            ImageFormat::Png,
        );
        save(
            &root.join(format!("val/{class}/y.png")),
            img.into(),
            ImageFormat::Png,
        );
    }
    let la = image::GrayAlphaImage::from_pixel(6, 6, image::LumaA([200, 128]));
    save(&root.join("train/C/alpha.png"), la.into(), ImageFormat::Png);
    let (train, test, prov) = read(root, &opts(6), &none).unwrap();
    assert_eq!(train.class_names, vec!["C", "a_ant", "b_zebra"]);
    assert_eq!(train.channels, 1);
    assert_eq!(train.labels, vec![0, 0, 1, 2]);
    // C's images sort as alpha.png, x.png; "C" was third in creation (value 100).
    assert!(train.image(0).iter().all(|&v| v == 100)); // 200·128/255 rounded
    assert!(train.image(1).iter().all(|&v| v == 100));
    assert!(train.image(2).iter().all(|&v| v == 50));
    assert_eq!(test.len(), 3);
    assert_eq!(prov.split, "train/ and val/ folders");
    assert_eq!((prov.alpha_composited, prov.gray_to_rgb), (1, 0));
}

/// One tree split by the seeded stratified fraction; a different seed gives
/// another split; the size defaults to the common size.
#[test]
fn single_tree_is_split_by_class_with_a_seed() {
    let tmp = TempDir::new("folder-tree");
    let root = tmp.path();
    for class in ["x", "y"] {
        for i in 0..10 {
            save(
                &root.join(format!("{class}/{i:02}.png")),
                gradient(5, 4, i).into(),
                ImageFormat::Png,
            );
        }
    }
    let o = FolderOptions {
        test_fraction: 0.3,
        ..FolderOptions::default()
    };
    let (train, test, prov) = read(root, &o, &none).unwrap();
    assert_eq!((train.height, train.width), (4, 5));
    assert_eq!(prov.image_size_reason, "every image's own size");
    assert_eq!(
        (train.class_counts(), test.class_counts()),
        (vec![7, 7], vec![3, 3])
    );
    assert!(
        prov.split.contains("test fraction 0.3 (seed 0)"),
        "{}",
        prov.split
    );
    let again = read(root, &o, &none).unwrap();
    assert_eq!(again.1, test);
    let other = (1..10).any(|s| {
        let o = FolderOptions {
            split_seed: s,
            ..o.clone()
        };
        read(root, &o, &none).unwrap().1.pixels != test.pixels
    });
    assert!(other);
    // Differently sized images and no size given: the 64×64 default.
    save(
        &root.join("y/big.png"),
        gradient(9, 9, 1).into(),
        ImageFormat::Png,
    );
    let (train, _, prov) = read(root, &FolderOptions::default(), &none).unwrap();
    assert_eq!(
        (train.height, prov.image_size_reason.as_str()),
        (64, "default: the images differ in size")
    );
}

/// Corrupt files fail by default, listing paths and the count; with
/// `skip_bad_images` they are skipped and recorded.
#[test]
fn bad_images_fail_or_are_skipped_and_recorded() {
    let tmp = TempDir::new("folder-bad");
    let root = tmp.path();
    for class in ["a", "b"] {
        for i in 0..3 {
            save(
                &root.join(format!("train/{class}/{i}.png")),
                gradient(4, 4, i).into(),
                ImageFormat::Png,
            );
        }
        save(
            &root.join(format!("test/{class}/t.png")),
            gradient(4, 4, 7).into(),
            ImageFormat::Png,
        );
    }
    let png = std::fs::read(root.join("train/a/0.png")).unwrap();
    std::fs::write(root.join("train/a/cut.png"), &png[..png.len() / 2]).unwrap();
    std::fs::write(root.join("train/b/fake.jpg"), b"this is text").unwrap();
    let FolderProblem::BadImages { count, first } = problem(read(root, &opts(4), &none)) else {
        panic!("wrong problem")
    };
    assert_eq!(count, 2);
    assert!(
        first[0].contains("cut.png") && first[1].contains("fake.jpg"),
        "{first:?}"
    );
    let o = FolderOptions {
        skip_bad_images: true,
        ..opts(4)
    };
    let (train, _, prov) = read(root, &o, &none).unwrap();
    assert_eq!(train.len(), 6);
    assert_eq!(prov.skipped_count, 2);
    assert!(
        prov.skipped[1].contains("not a recognised image format"),
        "{:?}",
        prov.skipped
    );
    // Skipping every image of a class leaves it empty: an error, not a silent hole.
    for i in 0..3 {
        std::fs::write(root.join(format!("train/b/{i}.png")), b"x").unwrap();
    }
    assert!(matches!(
        problem(read(root, &o, &none)),
        FolderProblem::EmptyClass { .. }
    ));
}

/// A PNG whose header claims 100,000 × 100,000 pixels (and holds no data):
/// refused from the header, before decoding.
#[test]
fn decompression_bomb_is_refused_from_the_header() {
    let tmp = TempDir::new("folder-bomb");
    let root = tmp.path();
    for class in ["a", "b"] {
        save(
            &root.join(format!("train/{class}/ok.png")),
            gradient(4, 4, 0).into(),
            ImageFormat::Png,
        );
        save(
            &root.join(format!("test/{class}/ok.png")),
            gradient(4, 4, 0).into(),
            ImageFormat::Png,
        );
    }
    std::fs::write(
        root.join("train/a/bomb.png"),
        png_header_only(100_000, 100_000),
    )
    .unwrap();
    let FolderProblem::BadImages { count, first } = problem(read(root, &opts(4), &none)) else {
        panic!()
    };
    assert_eq!(count, 1);
    assert!(
        first[0].contains("10000000000 pixels, more than the limit of 100000000"),
        "{first:?}"
    );
    // The limit is an option.
    let o = FolderOptions {
        max_pixels: 15,
        ..opts(4)
    };
    let FolderProblem::BadImages { count, .. } = problem(read(root, &o, &none)) else {
        panic!()
    };
    assert_eq!(count, 5);
}

/// Signature + IHDR (8-bit RGB) + a tiny IDAT + IEND: a valid header whose
/// data is a few bytes (decoding it would need 30 GB).
fn png_header_only(w: u32, h: u32) -> Vec<u8> {
    let chunk = |kind: &[u8], data: &[u8]| {
        let mut c = (data.len() as u32).to_be_bytes().to_vec();
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(data);
        c.extend_from_slice(kind);
        c.extend_from_slice(data);
        c.extend_from_slice(&crc.sum().to_be_bytes());
        c
    };
    let mut ihdr = w.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    out.extend(chunk(b"IHDR", &ihdr));
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut z, &[0; 4096]).unwrap();
    out.extend(chunk(b"IDAT", &z.finish().unwrap()));
    out.extend(chunk(b"IEND", &[]));
    out
}

/// Each malformed layout by its error.
#[test]
fn malformed_layouts_are_rejected_by_their_problem() {
    let tmp = TempDir::new("folder-layout");
    let root = tmp.path();
    let img = |p: PathBuf| save(&p, gradient(4, 4, 0).into(), ImageFormat::Png);
    let o = opts(4);

    assert_eq!(
        problem(read(&root.join("missing"), &o, &none)),
        FolderProblem::NotADirectory
    );
    // One class only.
    img(root.join("one/only/a.png"));
    img(root.join("one/only/b.png"));
    assert_eq!(
        problem(read(&root.join("one"), &o, &none)),
        FolderProblem::TooFewClasses { found: 1 }
    );
    // An empty class folder (only a non-image file in it).
    img(root.join("empty/a/1.png"));
    img(root.join("empty/a/2.png"));
    std::fs::create_dir_all(root.join("empty/b")).unwrap();
    std::fs::write(root.join("empty/b/readme.md"), "x").unwrap();
    assert!(matches!(
        problem(read(&root.join("empty"), &o, &none)),
        FolderProblem::EmptyClass { class, .. } if class == "b"
    ));
    // A class of one image cannot be split.
    img(root.join("single/a/1.png"));
    img(root.join("single/a/2.png"));
    img(root.join("single/b/1.png"));
    assert_eq!(
        problem(read(&root.join("single"), &o, &none)),
        FolderProblem::ClassTooSmall {
            class: "b".into(),
            images: 1
        }
    );
    // Different class sets in train and test.
    for p in [
        "diff/train/a/1.png",
        "diff/train/b/1.png",
        "diff/test/a/1.png",
        "diff/test/c/1.png",
    ] {
        img(root.join(p));
    }
    assert_eq!(
        problem(read(&root.join("diff"), &o, &none)),
        FolderProblem::ClassSetsDiffer {
            test_dir: "test/".into(),
            only_train: vec!["b".into()],
            only_test: vec!["c".into()]
        }
    );
    // A bad test fraction.
    let f = FolderOptions {
        test_fraction: 1.0,
        ..o.clone()
    };
    assert_eq!(
        problem(read(&root.join("single"), &f, &none)),
        FolderProblem::BadTestFraction(1.0)
    );
}

#[cfg(unix)]
#[test]
fn symlink_loops_and_unreadable_directories_are_errors() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = TempDir::new("folder-links");
    let root = tmp.path();
    for p in [
        "loop/a/1.png",
        "loop/a/2.png",
        "loop/b/1.png",
        "loop/b/2.png",
    ] {
        save(&root.join(p), gradient(4, 4, 0).into(), ImageFormat::Png);
    }
    std::os::unix::fs::symlink(root.join("loop/a"), root.join("loop/a/again")).unwrap();
    assert!(matches!(
        problem(read(&root.join("loop"), &opts(4), &none)),
        FolderProblem::SymlinkLoop { .. }
    ));
    std::fs::remove_file(root.join("loop/a/again")).unwrap();
    // A followed link to another folder of images is read.
    std::os::unix::fs::symlink(root.join("loop/b"), root.join("loop/a/linked")).unwrap();
    let (train, test, _) = read(&root.join("loop"), &opts(4), &none).unwrap();
    assert_eq!(train.len() + test.len(), 6);
    std::fs::remove_file(root.join("loop/a/linked")).unwrap();

    let locked = root.join("loop/b");
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    let readable = std::fs::read_dir(&locked).is_ok();
    let result = read(&root.join("loop"), &opts(4), &none);
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
    if readable {
        eprintln!(
            "skipped the unreadable-directory case: permissions do not bind this user (root)"
        );
        return;
    }
    assert!(matches!(
        problem(result),
        FolderProblem::UnreadableDir { .. }
    ));
}

/// More than 1,000 classes are allowed, and noted.
#[test]
fn many_classes_are_allowed_and_noted() {
    let tmp = TempDir::new("folder-many");
    let root = tmp.path();
    let png = {
        let p = root.join("seed.png");
        save(
            &p,
            GrayImage::from_pixel(2, 2, image::Luma([1])).into(),
            ImageFormat::Png,
        );
        std::fs::read(&p).unwrap()
    };
    std::fs::remove_file(root.join("seed.png")).unwrap();
    for c in 0..1001 {
        for i in 0..2 {
            let d = root.join(format!("c{c:04}"));
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join(format!("{i}.png")), &png).unwrap();
        }
    }
    let (train, test, prov) = read(root, &FolderOptions::default(), &none).unwrap();
    assert_eq!(
        (train.num_classes, train.len(), test.len()),
        (1001, 1001, 1001)
    );
    assert!(
        prov.notes.iter().any(|n| n.contains("1001 classes")),
        "{:?}",
        prov.notes
    );
}

/// Mixed grayscale and colour: converted and counted; RGBA composited.
#[test]
fn mixed_colour_and_alpha_are_converted_and_counted() {
    let tmp = TempDir::new("folder-mixed");
    let root = tmp.path();
    let rgba = RgbaImage::from_pixel(3, 3, image::Rgba([255, 100, 0, 51]));
    save(
        &root.join("train/a/rgba.png"),
        rgba.into(),
        ImageFormat::Png,
    );
    save(
        &root.join("train/b/g.png"),
        GrayImage::from_pixel(3, 3, image::Luma([9])).into(),
        ImageFormat::Png,
    );
    save(
        &root.join("test/a/g.png"),
        GrayImage::from_pixel(3, 3, image::Luma([9])).into(),
        ImageFormat::Png,
    );
    save(
        &root.join("test/b/c.png"),
        gradient(3, 3, 0).into(),
        ImageFormat::Png,
    );
    let (train, _, prov) = read(root, &opts(3), &none).unwrap();
    assert_eq!(train.channels, 3);
    assert_eq!(&train.image(0)[..1], &[51]); // 255·51/255
    assert_eq!(train.image(0)[9], 20); // 100·51/255
    assert_eq!((prov.gray_to_rgb, prov.alpha_composited), (2, 1));
    assert!(prov.lines().iter().any(|l| l.contains("2 grayscale→RGB")));
}
