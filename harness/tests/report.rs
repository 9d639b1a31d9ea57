//! `augkit report`: an experiment directory built from one real tiny run's
//! result JSON (varied per cell), reported by the real binary; every number
//! of `report.md`, `summary.csv` and `summary.json` is read back and checked
//! against the result files, the rule's choice, the Pareto set, the fallback
//! notice and the charts (PNG decodes, SVG has text).
//! Run: `cargo test -p augkit-harness --test report`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::{Value, json};

fn augkit(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_augkit"))
        .args(args)
        .env_clear()
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// One real result JSON (a 2-epoch run on 40 generated images), made once.
fn template() -> &'static Value {
    static T: OnceLock<Value> = OnceLock::new();
    T.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("r.json");
        let (ok, err) = augkit(&[
            "train",
            "--dataset",
            "synthetic-shapes",
            "--model",
            "simple-cnn",
            "--epochs",
            "2",
            "--train-per-class",
            "4",
            "--batch-size",
            "8",
            "--eval-batch-size",
            "500",
            "--threads",
            "1",
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(ok, "{err}");
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap()
    })
}

/// `(dataset, technique, seed, accuracy, macro F1, train s, aug/step s, model/step s, rss MiB)`.
type Spec = (
    &'static str,
    &'static str,
    u64,
    f64,
    f64,
    f64,
    f64,
    f64,
    u64,
);

fn cell(spec: Spec) -> Value {
    let (dataset, technique, seed, acc, f1, train, aug, model, rss) = spec;
    let mut v = template().clone();
    v["config"]["dataset"] = json!(dataset);
    v["config"]["seed"] = json!(seed);
    // A stem unlike the technique: the report must take the technique from
    // experiment.json's cells or the cell's config.json, as the experiment writes them.
    v["config"]["policy_file"] = json!(format!("/elsewhere/{technique}-v2.toml"));
    v["test"]["accuracy"] = json!(acc);
    v["test"]["macro_f1"] = json!(f1);
    let t = &mut v["timing"];
    t["train_wall_s"] = json!(train);
    let steps = 50.0;
    t["steps"] = json!(50);
    t["augmentation"]["mean_s"] = json!(aug);
    t["augmentation"]["total_s"] = json!(aug * steps);
    t["model"]["mean_s"] = json!(model);
    t["model"]["total_s"] = json!(model * steps);
    t["step"]["total_s"] = json!((aug + model) * steps * 1.01);
    t["step"]["mean_s"] = json!((aug + model) * 1.01);
    v["memory"]["peak_host_rss_bytes"] = json!(rss * 1024 * 1024);
    v["inference"]["samples_per_s"] = json!(1000.0 + 10.0 * seed as f64 + acc);
    v["curves"] = json!([
        {"epoch": 1, "lr": 1e-3, "train_loss": 1.0, "train_accuracy": 0.5,
         "test_accuracy": acc - 0.1, "wall_s": train / 2.0, "augmentation_s": 0.1, "model_s": 0.2},
        {"epoch": 2, "lr": 1e-3, "train_loss": 0.5, "train_accuracy": 0.7,
         "test_accuracy": acc, "wall_s": train / 2.0, "augmentation_s": 0.1, "model_s": 0.2},
    ]);
    v
}

fn specs() -> Vec<Spec> {
    let mut s = Vec::new();
    for seed in 0..3u64 {
        let d = seed as f64 * 0.004; // seed-to-seed spread
        // synthetic-shapes: flips is free (+2 pp, +0.5 % time) → best;
        // crop +5 pp for +10 %; cutmix +6 pp for +30 %; mixup slower and worse.
        s.push((
            "synthetic-shapes",
            "none",
            seed,
            0.80 + d,
            0.79 + d,
            100.0 + d,
            0.002,
            0.02,
            800,
        ));
        s.push((
            "synthetic-shapes",
            "flips",
            seed,
            0.82 + d,
            0.81 + d,
            100.5 + d,
            0.0021,
            0.02,
            801,
        ));
        s.push((
            "synthetic-shapes",
            "crop",
            seed,
            0.85 + d,
            0.84 + d,
            110.0 + d,
            0.004,
            0.02,
            805,
        ));
        s.push((
            "synthetic-shapes",
            "cutmix",
            seed,
            0.86 + d,
            0.85 + d,
            130.0 + d,
            0.01,
            0.02,
            810,
        ));
        s.push((
            "synthetic-shapes",
            "mixup",
            seed,
            0.78 + d,
            0.77 + d,
            120.0 + d,
            0.008,
            0.02,
            809,
        ));
        // mnist: jitter +5 pp for +2 % (2.5 pp/%) beats crop +10 pp for +20 % (0.5 pp/%).
        s.push((
            "mnist",
            "none",
            seed,
            0.50 + d,
            0.49,
            50.0,
            0.001,
            0.01,
            500,
        ));
        s.push((
            "mnist",
            "crop",
            seed,
            0.60 + d,
            0.59,
            60.0,
            0.002,
            0.01,
            500,
        ));
        s.push((
            "mnist",
            "jitter",
            seed,
            0.55 + d,
            0.54,
            51.0,
            0.0015,
            0.01,
            500,
        ));
    }
    s
}

fn cell_id(i: usize, spec: &Spec) -> String {
    format!("{}-{}-s{}-{:04x}", spec.0, spec.1, spec.2, i)
}

/// The cells as experiment.json lists them.
fn cell_list() -> Value {
    specs()
        .iter()
        .enumerate()
        .map(|(i, s)| json!({"id": cell_id(i, s), "dataset": s.0, "technique": s.1, "seed": s.2}))
        .collect()
}

fn write_experiment(dir: &Path, definition: Option<Value>) {
    for (i, spec) in specs().into_iter().enumerate() {
        let cell_dir = dir.join("cells").join(cell_id(i, &spec));
        std::fs::create_dir_all(&cell_dir).unwrap();
        let config = json!({"id": cell_id(i, &spec), "dataset": spec.0, "technique": spec.1, "seed": spec.2});
        std::fs::write(cell_dir.join("config.json"), config.to_string()).unwrap();
        let result = serde_json::to_string_pretty(&cell(spec)).unwrap();
        std::fs::write(cell_dir.join("result.json"), result).unwrap();
    }
    // A failed cell and an unfinished one are left out, and said so.
    let mut failed = cell(("mnist", "none", 9, 0.1, 0.1, 1.0, 0.001, 0.01, 1));
    failed["status"] = json!("failed");
    failed["test"] = Value::Null;
    failed["error"] = json!("non-finite loss at epoch 1");
    let path = dir.join("cells/mnist-none-s9-dead/result.json");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, failed.to_string()).unwrap();
    std::fs::create_dir_all(dir.join("cells/mnist-crop-s9-running")).unwrap();
    if let Some(d) = definition {
        std::fs::write(dir.join("experiment.json"), d.to_string()).unwrap();
    }
}

fn mean_std(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let std = if v.len() < 2 {
        0.0
    } else {
        (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
    };
    (mean, std)
}

/// Figures recomputed straight from the result files, keyed by (dataset, technique).
fn expected(dir: &Path) -> BTreeMap<(String, String), BTreeMap<&'static str, f64>> {
    let mut groups: BTreeMap<(String, String), Vec<Value>> = BTreeMap::new();
    for entry in std::fs::read_dir(dir.join("cells")).unwrap() {
        let cell_dir = entry.unwrap().path();
        let path = cell_dir.join("result.json");
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let v: Value = serde_json::from_str(&text).unwrap();
        if v["status"] != "completed" {
            continue;
        }
        let config: Value =
            serde_json::from_str(&std::fs::read_to_string(cell_dir.join("config.json")).unwrap())
                .unwrap();
        let technique = config["technique"].as_str().unwrap().to_string();
        let dataset = v["config"]["dataset"].as_str().unwrap().to_string();
        groups.entry((dataset, technique)).or_default().push(v);
    }
    let mut out = BTreeMap::new();
    for (key, runs) in &groups {
        let get = |f: &dyn Fn(&Value) -> f64| runs.iter().map(f).collect::<Vec<f64>>();
        let mut m = BTreeMap::new();
        let (a, sa) = mean_std(&get(&|v| v["test"]["accuracy"].as_f64().unwrap()));
        let (f, sf) = mean_std(&get(&|v| v["test"]["macro_f1"].as_f64().unwrap()));
        let (t, st) = mean_std(&get(&|v| v["timing"]["train_wall_s"].as_f64().unwrap()));
        let (aug, _) = mean_std(&get(&|v| {
            v["timing"]["augmentation"]["mean_s"].as_f64().unwrap()
        }));
        let (share, _) = mean_std(&get(&|v| {
            v["timing"]["augmentation"]["total_s"].as_f64().unwrap()
                / v["timing"]["step"]["total_s"].as_f64().unwrap()
        }));
        let (model, _) = mean_std(&get(&|v| v["timing"]["model"]["mean_s"].as_f64().unwrap()));
        let (inf, _) = mean_std(&get(&|v| v["inference"]["samples_per_s"].as_f64().unwrap()));
        let rss = get(&|v| v["memory"]["peak_host_rss_bytes"].as_f64().unwrap())
            .into_iter()
            .fold(0.0, f64::max);
        for (k, x) in [
            ("acc", a),
            ("acc_std", sa),
            ("f1", f),
            ("f1_std", sf),
            ("time", t),
            ("time_std", st),
            ("aug", aug),
            ("share", share),
            ("model", model),
            ("inf", inf),
            ("rss", rss),
            ("seeds", runs.len() as f64),
        ] {
            m.insert(k, x);
        }
        out.insert(key.clone(), m);
    }
    let keys: Vec<_> = out.keys().cloned().collect();
    for (ds, t) in keys {
        let base = out[&(ds.clone(), "none".to_string())].clone();
        let m = out.get_mut(&(ds, t)).unwrap();
        m.insert("dacc", m["acc"] - base["acc"]);
        m.insert("df1", m["f1"] - base["f1"]);
        m.insert("dtime", 100.0 * (m["time"] - base["time"]) / base["time"]);
    }
    out
}

/// Checks a displayed number: `shown` must be `value` rounded to `decimals`.
fn check(what: &str, shown: &str, value: f64, decimals: i32) {
    let parsed: f64 = shown
        .trim()
        .trim_start_matches('+')
        .parse()
        .unwrap_or_else(|e| panic!("{what}: {shown:?}: {e}"));
    let tol = 0.5 * 10f64.powi(-decimals) + 1e-9 * value.abs().max(1.0);
    assert!(
        (parsed - value).abs() <= tol,
        "{what}: report shows {shown}, result files give {value}"
    );
}

fn split_pm(cell: &str) -> (&str, &str) {
    let mut parts = cell.split('±');
    (parts.next().unwrap(), parts.next().unwrap())
}

#[test]
fn report_numbers_come_from_the_result_files() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("exp");
    let notice = "cifar10 not found in data/: synthetic-shapes used instead";
    // experiment.json as `augkit experiment` writes it (the fields the report reads).
    write_experiment(
        &dir,
        Some(json!({
            "schema_version": 1,
            "preset": "quick",
            "datasets": [
                {"name": "synthetic-shapes", "model": "simple-cnn", "fallback_from": "cifar10", "notice": notice},
                {"name": "mnist", "model": "simple-cnn", "fallback_from": null, "notice": null},
            ],
            "seeds": [0, 1, 2],
            "notices": [notice],
            "cells": cell_list(),
        })),
    );
    let (ok, err) = augkit(&["report", dir.to_str().unwrap()]);
    assert!(ok, "{err}");
    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    let expected = expected(&dir);

    // The fallback notice, loudly, before anything else.
    let head: String = md.lines().take(4).collect::<Vec<_>>().join("\n");
    assert!(
        head.contains("DATA FALLBACK") && head.contains(notice),
        "{head}"
    );
    assert!(
        md.contains("mnist-none-s9-dead") && md.contains("non-finite loss"),
        "{md}"
    );
    assert!(md.contains("mnist-crop-s9-running"), "{md}");

    // Every table row against the result files.
    let mut dataset = String::new();
    let mut rows = 0;
    for line in md.lines() {
        if let Some(d) = line.strip_prefix("## ") {
            dataset = d.to_string();
            continue;
        }
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() < 16 || cells[1] == "technique" || cells[1].starts_with("---") {
            continue;
        }
        let e = &expected[&(dataset.clone(), cells[1].to_string())];
        let what = |c: &str| format!("{dataset}/{}/{c}", cells[1]);
        check(&what("seeds"), cells[2], e["seeds"], 0);
        let (a, sa) = split_pm(cells[3]);
        check(&what("acc"), a, 100.0 * e["acc"], 2);
        check(&what("acc std"), sa, 100.0 * e["acc_std"], 2);
        if cells[1] == "none" {
            assert_eq!(cells[4], "—");
        } else {
            check(&what("Δacc"), cells[4], 100.0 * e["dacc"], 2);
            check(&what("ΔF1"), cells[6], e["df1"], 4);
            check(&what("Δtime"), cells[8], e["dtime"], 1);
        }
        let (f, sf) = split_pm(cells[5]);
        check(&what("f1"), f, e["f1"], 4);
        check(&what("f1 std"), sf, e["f1_std"], 4);
        let (t, st) = split_pm(cells[7]);
        check(&what("time"), t, e["time"], 2);
        check(&what("time std"), st, e["time_std"], 2);
        check(&what("aug"), cells[9], 1e3 * e["aug"], 3);
        check(&what("share"), cells[10], 100.0 * e["share"], 1);
        check(&what("model"), cells[11], 1e3 * e["model"], 3);
        check(&what("rss"), cells[12], e["rss"] / 1048576.0, 0);
        check(&what("inference"), cells[13], e["inf"], 1);
        rows += 1;
    }
    assert_eq!(rows, expected.len(), "{md}");

    // The rule's choice, the slower-and-worse technique, the Pareto sets.
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    let conclusions = summary["conclusions"].as_array().unwrap();
    let by_ds = |d: &str| conclusions.iter().find(|c| c["dataset"] == d).unwrap();
    let shapes = by_ds("synthetic-shapes");
    assert_eq!(shapes["best"], "flips");
    assert_eq!(shapes["most_accurate"], "cutmix");
    assert_eq!(shapes["slower_and_worse"], json!(["mixup"]));
    assert_eq!(shapes["pareto"], json!(["none", "crop", "cutmix", "flips"]));
    let mnist = by_ds("mnist");
    assert_eq!(mnist["best"], "jitter");
    check(
        "mnist efficiency",
        &mnist["best_efficiency"].to_string(),
        2.5,
        6,
    );
    assert!(md.contains("Best trade-off: `flips`"), "{md}");
    assert!(md.contains("Best trade-off: `jitter`"), "{md}");
    assert!(
        md.contains("Slower and less accurate than the baseline: `mixup`"),
        "{md}"
    );
    assert!(md.contains("## The rule"), "{md}");
    // Data sets in experiment.json's order.
    assert!(md.find("## synthetic-shapes").unwrap() < md.find("## mnist").unwrap());

    // summary.csv and summary.json at full precision.
    let csv = std::fs::read_to_string(dir.join("summary.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let mut csv_rows = 0;
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        let e = &expected[&(f[0].to_string(), f[1].to_string())];
        for (name, key) in [
            ("accuracy_mean", "acc"),
            ("accuracy_std", "acc_std"),
            ("macro_f1_mean", "f1"),
            ("train_time_s_mean", "time"),
            ("augmentation_per_step_s_mean", "aug"),
            ("augmentation_share_of_step_mean", "share"),
            ("model_per_step_s_mean", "model"),
            ("inference_samples_per_s_mean", "inf"),
            ("peak_host_rss_bytes", "rss"),
        ] {
            let v: f64 = f[col(name)].parse().unwrap();
            assert!(
                (v - e[key]).abs() <= 1e-12 * e[key].abs().max(1.0),
                "{name}: {v} vs {}",
                e[key]
            );
        }
        csv_rows += 1;
    }
    assert_eq!(csv_rows, expected.len());
    for row in summary["rows"].as_array().unwrap() {
        let e = &expected[&(
            row["dataset"].as_str().unwrap().to_string(),
            row["technique"].as_str().unwrap().to_string(),
        )];
        let v = row["accuracy"]["mean"].as_f64().unwrap();
        assert!((v - e["acc"]).abs() < 1e-12);
        let v = row["accuracy_change"].as_f64().unwrap();
        assert!((v - e["dacc"]).abs() < 1e-12);
    }
    assert_eq!(summary["fallback_notice"], notice);

    // The charts: every linked file exists; PNGs decode at the chart size.
    let links: Vec<PathBuf> = md
        .split("](")
        .skip(1)
        .filter_map(|s| s.split(')').next())
        .filter(|s| s.starts_with("plots/"))
        .map(|s| dir.join(s))
        .collect();
    assert_eq!(links.len(), 2 * 3 * 2, "{links:?}");
    for path in links {
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if path.extension().unwrap() == "png" {
            let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
            let reader = decoder.read_info().unwrap();
            let info = reader.info();
            assert_eq!((info.width, info.height), augkit_harness::plots::CHART_SIZE);
        } else {
            let text = String::from_utf8(bytes).unwrap();
            assert!(
                text.contains("<svg") && text.contains("<text"),
                "{}",
                path.display()
            );
        }
    }
    let svg = std::fs::read_to_string(dir.join("plots/mnist-curves.svg")).unwrap();
    assert!(svg.contains("jitter") && svg.contains("crop"));
    // Plots for the reader to look at: AUGKIT_REPORT_KEEP=DIR copies them.
    if let Some(keep) = std::env::var_os("AUGKIT_REPORT_KEEP") {
        let keep = PathBuf::from(keep);
        std::fs::create_dir_all(&keep).unwrap();
        for e in std::fs::read_dir(dir.join("plots")).unwrap() {
            let p = e.unwrap().path();
            std::fs::copy(&p, keep.join(p.file_name().unwrap())).unwrap();
        }
        std::fs::copy(dir.join("report.md"), keep.join("report.md")).unwrap();
    }
}

#[test]
fn report_without_experiment_json_infers_the_matrix() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_experiment(dir, None);
    let (ok, err) = augkit(&["report", dir.to_str().unwrap()]);
    assert!(ok, "{err}");
    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(!md.contains("DATA FALLBACK"));
    assert!(md.contains("no `experiment.json`"), "{md}");
    // Without an order from experiment.json, data sets come by name.
    assert!(md.find("## mnist").unwrap() < md.find("## synthetic-shapes").unwrap());
}

#[test]
fn report_of_an_empty_directory_fails_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    let (ok, err) = augkit(&["report", tmp.path().to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains("cells"), "{err}");
}
