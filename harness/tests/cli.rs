//! The real `augkit` binary: errors before training, and one tiny run that
//! writes its result JSON. Run: `cargo test -p augkit-harness --test cli`.

use std::process::Command;

fn augkit(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_augkit"))
        .args(args)
        .env_clear() // the binary must run with no environment (rpaths)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn missing_data_names_files_and_download() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let (ok, err) = augkit(&[
        "train",
        "--dataset",
        "mnist",
        "--data-dir",
        d,
        "--model",
        "simple-cnn",
    ]);
    assert!(!ok);
    // (Fashion-MNIST would be found in Debian's package directory.)
    assert!(err.contains("augkit download mnist"), "{err}");
    assert!(
        err.contains("train-images-idx3-ubyte") || err.contains("parquet"),
        "{err}"
    );
}

#[test]
fn invalid_flags_fail_before_training() {
    let base = ["train", "--dataset", "synthetic-shapes"];
    for (extra, needle) in [
        (&["--model", "simple-cnn", "--epochs", "0"][..], "--epochs"),
        (
            &["--model", "simple-cnn", "--train-fraction", "2"][..],
            "--train-fraction",
        ),
        (
            &["--model", "simple-cnn", "--backend", "cuda"][..],
            "--backend cuda",
        ),
        (
            &[
                "--model",
                "simple-cnn",
                "--policy",
                "/nonexistent/policy.toml",
            ][..],
            "policy.toml",
        ),
        (&["--model", "vgg"][..], "vgg"),
    ] {
        let (ok, err) = augkit(&[&base[..], extra].concat());
        assert!(!ok, "{extra:?}");
        assert!(err.contains(needle), "{extra:?}: {err}");
    }
}

#[test]
fn tiny_run_writes_a_result() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.json");
    let (ok, err) = augkit(&[
        "train",
        "--dataset",
        "synthetic-shapes",
        "--model",
        "simple-cnn",
        "--epochs",
        "1",
        "--train-per-class",
        "6",
        "--batch-size",
        "16",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    assert!(err.contains("epoch 1/1"), "{err}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(json["status"], "completed");
    assert_eq!(json["data"]["train_used"], 60);
    assert_eq!(json["data"]["test_samples"], 1000);
    assert_eq!(json["provenance"]["backend"]["chosen"], "cpu");
    assert!(json["test"]["accuracy"].as_f64().is_some());
    assert!(json["config"]["policy"].is_object());
}

/// build.rs's link arguments: `libtorch_cuda.so` stays NEEDED (else CUDA is
/// silently unavailable) and the run path holds libtorch's directory.
#[test]
fn binary_keeps_torch_cuda_and_a_runpath() {
    let Ok(out) = Command::new("readelf")
        .args(["-d", env!("CARGO_BIN_EXE_augkit")])
        .output()
    else {
        eprintln!("skipped: readelf is not installed");
        return;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("torch/lib"), "no libtorch run path:\n{text}");
    let torch_lib = text
        .lines()
        .find(|l| l.contains("RUNPATH") || l.contains("RPATH"))
        .and_then(|l| l.split(['[', ':', ']']).find(|p| p.ends_with("torch/lib")))
        .map(std::path::PathBuf::from);
    if torch_lib.is_some_and(|d| d.join("libtorch_cuda.so").exists()) {
        assert!(
            text.contains("[libtorch_cuda.so]"),
            "libtorch_cuda.so was dropped:\n{text}"
        );
    }
}
