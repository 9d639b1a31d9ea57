//! A user's own image folder through the real binary: `augkit experiment
//! --datasets folder:DIR --techniques none,flips,crop --seeds 0,1 --epochs 2`
//! on a folder built here (grayscale PNGs, two classes, 12 images each), then
//! `augkit report`; the provenance reaches every result, `experiment.json`
//! and the report, the decoded set is cached once and reused by every cell,
//! and `augkit train` / `preview` take the same names and flags. Seconds.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

fn augkit() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_augkit"));
    c.env_remove("SLURM_ARRAY_TASK_ID")
        .env_remove("SLURM_ARRAY_TASK_COUNT")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

fn run_ok(c: &mut Command) -> String {
    let out = c.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "augkit failed:\n{err}");
    err
}

/// Two classes of 12 grayscale 14×10 PNGs: class 0 bright on the left, class 1 on the right.
fn build_folder(root: &Path) {
    for (c, class) in ["left", "right"].into_iter().enumerate() {
        let dir = root.join(class);
        std::fs::create_dir_all(&dir).unwrap();
        for i in 0..12u32 {
            let (w, h) = (14u32, 10u32);
            let mut px = Vec::new();
            for y in 0..h {
                for x in 0..w {
                    let bright = if c == 0 { x < w / 2 } else { x >= w / 2 };
                    px.push(if bright { 200 + (i + y) as u8 % 50 } else { 20 });
                }
            }
            let mut png = Vec::new();
            {
                let mut e = png::Encoder::new(&mut png, w, h);
                e.set_color(png::ColorType::Grayscale);
                e.set_depth(png::BitDepth::Eight);
                e.write_header().unwrap().write_image_data(&px).unwrap();
            }
            std::fs::write(dir.join(format!("{i:02}.png")), png).unwrap();
        }
    }
    std::fs::write(root.join("left/README.txt"), "not an image").unwrap();
}

fn json(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn results(out: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(out.join("cells"))
        .unwrap()
        .map(|e| e.unwrap().path().join("result.json"))
        .filter(|p| p.is_file())
        .collect();
    v.sort();
    v
}

#[test]
fn experiment_on_an_image_folder_end_to_end() {
    let tmp = tempfile::tempdir().unwrap();
    let images = tmp.path().join("my images");
    build_folder(&images);
    let data_dir = tmp.path().join("data");
    let out = tmp.path().join("run");
    let name = format!("folder:{}", images.display());
    let policies = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
    let experiment = |extra: &[&str]| {
        let mut c = augkit();
        c.arg("experiment")
            .arg("--out")
            .arg(&out)
            .arg("--policy-dir")
            .arg(&policies)
            .arg("--data-dir")
            .arg(&data_dir)
            .args(["--datasets", &name])
            .args(["--techniques", "none,flips,crop", "--seeds", "0,1"])
            .args([
                "--epochs",
                "2",
                "--batch-size",
                "8",
                "--threads",
                "1",
                "--quiet",
            ])
            .args(["--image-size", "12", "--test-fraction", "0.25"])
            .args(extra);
        c
    };
    let log = run_ok(&mut experiment(&[]));
    assert!(log.contains("simple CNN"), "{log}");

    // One decoded set in the cache, shared by all six cells.
    let cached: Vec<_> = std::fs::read_dir(data_dir.join("augkit-cache"))
        .unwrap()
        .collect();
    assert_eq!(cached.len(), 1);
    let cells = results(&out);
    assert_eq!(cells.len(), 6);
    let mut digests = Vec::new();
    for r in &cells {
        let v = json(r);
        assert_eq!(v["status"], "completed", "{r:?}");
        let src = &v["data"]["provenance"];
        assert_eq!(src["source"], name.as_str());
        assert_eq!(src["class_names"], serde_json::json!(["left", "right"]));
        assert_eq!(src["train_per_class"], serde_json::json!([9, 9]));
        assert_eq!(src["test_per_class"], serde_json::json!([3, 3]));
        assert_eq!(src["non_image_files"], 1);
        assert_eq!(v["data"]["channels"], 1);
        assert_eq!(v["data"]["height"], 12);
        assert_eq!(v["config"]["data_options"]["image_size"]["height"], 12);
        digests.push(src["content_digest"].as_str().unwrap().to_string());
    }
    digests.dedup();
    assert_eq!(
        digests.len(),
        1,
        "every cell trained on the same decoded set"
    );
    let exp = json(&out.join("experiment.json"));
    let entry = &exp["datasets"][0];
    assert_eq!(entry["name"], name.as_str());
    assert_eq!(entry["model"], "simple-cnn");
    assert_eq!(entry["provenance"]["content_digest"], digests[0].as_str());

    // Re-running skips every finished cell.
    let log = run_ok(&mut experiment(&[]));
    assert!(!log.contains("epoch 1/2"), "{log}");

    let mut c = augkit();
    c.args(["report"]).arg(&out);
    run_ok(&mut c);
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    for want in [
        name.as_str(),
        "left 9/3, right 9/3",
        "1 non-image files ignored",
        "content digest",
    ] {
        assert!(report.contains(want), "report.md lacks {want:?}:\n{report}");
    }
    // The answer as a policy file, for this data set, loadable as it stands.
    let recommended = std::fs::read_to_string(out.join("recommended.toml")).unwrap();
    assert!(recommended.contains(name.as_str()), "{recommended}");
    augkit::Policy::from_file(out.join("recommended.toml")).unwrap();
}

#[test]
fn train_and_preview_take_the_same_names_and_flags() {
    let tmp = tempfile::tempdir().unwrap();
    let images = tmp.path().join("imgs");
    build_folder(&images);
    let name = format!("folder:{}", images.display());
    let data_dir = tmp.path().join("data");
    let result = tmp.path().join("result.json");
    let mut c = augkit();
    c.args(["train", "--dataset", &name, "--model", "simple-cnn"])
        .arg("--data-dir")
        .arg(&data_dir)
        .args([
            "--epochs",
            "1",
            "--batch-size",
            "8",
            "--threads",
            "1",
            "--quiet",
        ])
        .args(["--image-size", "8x10", "--out"])
        .arg(&result);
    run_ok(&mut c);
    let v = json(&result);
    assert_eq!(
        (v["data"]["height"].as_u64(), v["data"]["width"].as_u64()),
        (Some(8), Some(10))
    );
    assert_eq!(v["data"]["provenance"]["image_size_reason"], "as given");

    let png = tmp.path().join("grid.png");
    let mut c = augkit();
    c.args([
        "preview",
        "--dataset",
        &name,
        "--techniques",
        "flips",
        "--samples",
        "2",
    ])
    .arg("--policies-dir")
    .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("policies"))
    .arg("--data-dir")
    .arg(&data_dir)
    .args(["--image-size", "8x10", "--out"])
    .arg(&png);
    run_ok(&mut c);
    assert!(png.is_file());

    // A bad folder fails before training, naming the problem.
    std::fs::write(images.join("right/broken.png"), b"\x89PNG broken").unwrap();
    let mut c = augkit();
    c.args([
        "train",
        "--dataset",
        &name,
        "--model",
        "simple-cnn",
        "--epochs",
        "1",
    ])
    .arg("--data-dir")
    .arg(&data_dir)
    .arg("--out")
    .arg(&result);
    let out = c.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("1 unreadable or corrupt image") && err.contains("broken.png"),
        "{err}"
    );
}
