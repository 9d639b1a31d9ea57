//! `augkit report`: experiment directories built from one real tiny run's
//! result JSON (varied per cell), reported by the real binary. Checked:
//! every number of `report.md`, `summary.csv` and `summary.json` against
//! the result files (means, 95 % intervals and paired t-tests recomputed
//! here with closed forms); the rule ranks by measured augmentation cost
//! (shuffling the wall times changes no conclusion); significance decides
//! better/worse; the not-converged flag; the accuracy at the baseline's
//! compute; grouping by training-set size and its chart; data provenance
//! and the fallback notice; invalid figures left out with file and field;
//! the charts (PNG decodes, SVG has text).
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

/// One cell to write.
#[derive(Clone, Debug)]
struct Spec {
    dataset: &'static str,
    technique: &'static str,
    seed: u64,
    accuracy: f64,
    macro_f1: f64,
    /// `timing.train_wall_s` (information only: the rule must not use it).
    train_s: f64,
    aug_per_step: f64,
    model_per_step: f64,
    /// `timing.fixed.synthetic_fit_s`.
    fixed_s: Option<f64>,
    rss_mib: u64,
    /// Test accuracy still rising at the end (not converged).
    rising: bool,
    /// `config.json`'s `config.train_limit` and the result's `data.train_used`.
    train_limit: Option<(Value, u64)>,
}

const STEPS: f64 = 50.0;
const EPOCHS: usize = 5;

fn cell(s: &Spec) -> Value {
    let mut v = template().clone();
    v["config"]["dataset"] = json!(s.dataset);
    v["config"]["seed"] = json!(s.seed);
    // A stem unlike the technique: the report must take the technique from
    // experiment.json's cells or the cell's config.json, as the experiment writes them.
    v["config"]["policy_file"] = json!(format!("/elsewhere/{}-v2.toml", s.technique));
    v["test"]["accuracy"] = json!(s.accuracy);
    v["test"]["macro_f1"] = json!(s.macro_f1);
    if let Some((_, used)) = &s.train_limit {
        v["data"]["train_used"] = json!(used);
    }
    let t = &mut v["timing"];
    t["train_wall_s"] = json!(s.train_s);
    t["total_wall_s"] = json!(s.train_s + 3.0);
    t["steps"] = json!(STEPS as u64);
    t["augmentation"]["mean_s"] = json!(s.aug_per_step);
    t["augmentation"]["total_s"] = json!(s.aug_per_step * STEPS);
    t["model"]["mean_s"] = json!(s.model_per_step);
    t["model"]["total_s"] = json!(s.model_per_step * STEPS);
    t["step"]["total_s"] = json!((s.aug_per_step + s.model_per_step) * STEPS * 1.01);
    t["step"]["mean_s"] = json!((s.aug_per_step + s.model_per_step) * 1.01);
    t["fixed"]["synthetic_fit_s"] = json!(s.fixed_s);
    v["memory"]["peak_host_rss_bytes"] = json!(s.rss_mib * 1024 * 1024);
    v["inference"]["samples_per_s"] = json!(1000.0 + 10.0 * s.seed as f64 + s.accuracy);
    let per_epoch = STEPS / EPOCHS as f64;
    let curve: [f64; EPOCHS] = if s.rising {
        [-0.2, -0.15, -0.1, -0.05, 0.0]
    } else {
        [-0.2, -0.05, -0.01, 0.0, 0.0]
    };
    v["curves"] = curve
        .iter()
        .enumerate()
        .map(|(i, d)| {
            json!({"epoch": i + 1, "lr": 1e-3, "train_loss": 1.0 / (i + 1) as f64,
                   "train_accuracy": 0.5, "test_accuracy": s.accuracy + d,
                   "wall_s": s.train_s / EPOCHS as f64,
                   "augmentation_s": s.aug_per_step * per_epoch,
                   "model_s": s.model_per_step * per_epoch})
        })
        .collect();
    v
}

/// Per-seed noise of a technique's accuracy around its mean gain.
fn jitter(amplitude: f64, seed: u64) -> f64 {
    amplitude * [1.0, -1.0, 0.5][seed as usize % 3]
}

#[allow(clippy::too_many_arguments)]
fn spec(
    dataset: &'static str,
    technique: &'static str,
    seed: u64,
    accuracy: f64,
    train_s: f64,
    aug_per_step: f64,
    model_per_step: f64,
    rss_mib: u64,
) -> Spec {
    Spec {
        dataset,
        technique,
        seed,
        accuracy,
        macro_f1: accuracy - 0.01,
        train_s,
        aug_per_step,
        model_per_step,
        fixed_s: None,
        rss_mib,
        rising: false,
        train_limit: None,
    }
}

/// The main matrix. synthetic-shapes: `flips` +2 pp at +0.45 % added cost
/// (free) → best; `crop` +5 pp for +9 %; `cutmix` +6 pp for +36 % and still
/// rising; `mixup` significantly worse and costlier; `rotate` +0.3 pp with
/// a 1 pp spread (no significant difference) and the shortest wall time, so
/// that the old wall-time rule would have named it. mnist: `jitter` +5 pp
/// for +4.5 % beats `crop` +10 pp for +27 % (its PCA fit counted).
fn specs() -> Vec<Spec> {
    let mut s = Vec::new();
    for seed in 0..3u64 {
        let d = seed as f64 * 0.004; // seed-to-seed spread, shared by the pair
        let shapes = |t, gain: f64, amp: f64, train_s: f64, aug: f64, rss| {
            spec(
                "synthetic-shapes",
                t,
                seed,
                0.80 + d + gain + jitter(amp, seed),
                train_s + d,
                aug,
                0.02,
                rss,
            )
        };
        s.push(shapes("none", 0.0, 0.0, 100.0, 0.002, 800));
        s.push(shapes("flips", 0.02, 0.001, 130.0, 0.0021, 801));
        s.push(shapes("crop", 0.05, 0.002, 110.0, 0.004, 805));
        let mut cutmix = shapes("cutmix", 0.06, 0.003, 130.0, 0.01, 810);
        cutmix.rising = true;
        s.push(cutmix);
        s.push(shapes("mixup", -0.02, 0.002, 120.0, 0.008, 809));
        s.push(shapes("rotate", 0.003, 0.01, 70.0, 0.003, 802));
        let mnist = |t, gain: f64, amp: f64, train_s: f64, aug: f64| {
            spec(
                "mnist",
                t,
                seed,
                0.50 + d + gain + jitter(amp, seed),
                train_s,
                aug,
                0.01,
                500,
            )
        };
        s.push(mnist("none", 0.0, 0.0, 50.0, 0.001));
        let mut crop = mnist("crop", 0.10, 0.003, 45.0, 0.003);
        crop.fixed_s = Some(0.05);
        s.push(crop);
        s.push(mnist("jitter", 0.05, 0.002, 80.0, 0.0015));
    }
    s
}

fn cell_id(i: usize, spec: &Spec) -> String {
    format!(
        "{}-{}-s{}-{:04x}",
        spec.dataset, spec.technique, spec.seed, i
    )
}

/// Writes the cells (`config.json` + `result.json` each), a failed and an
/// unfinished cell, and `experiment.json` when given (its `cells` filled in).
fn write_experiment(dir: &Path, specs: &[Spec], definition: Option<Value>) {
    for (i, spec) in specs.iter().enumerate() {
        let id = cell_id(i, spec);
        let cell_dir = dir.join("cells").join(&id);
        std::fs::create_dir_all(&cell_dir).unwrap();
        let mut config = json!({"id": id, "dataset": spec.dataset,
                                "technique": spec.technique, "seed": spec.seed});
        if let Some((limit, _)) = &spec.train_limit {
            config["config"] = json!({"train_limit": limit});
        }
        std::fs::write(cell_dir.join("config.json"), config.to_string()).unwrap();
        let result = serde_json::to_string_pretty(&cell(spec)).unwrap();
        std::fs::write(cell_dir.join("result.json"), result).unwrap();
    }
    // A failed cell and an unfinished one are left out, and said so.
    let mut failed = cell(&spec("mnist", "none", 9, 0.1, 1.0, 0.001, 0.01, 1));
    failed["status"] = json!("failed");
    failed["test"] = Value::Null;
    failed["error"] = json!("non-finite loss at epoch 1");
    let path = dir.join("cells/mnist-none-s9-dead/result.json");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, failed.to_string()).unwrap();
    std::fs::create_dir_all(dir.join("cells/mnist-crop-s9-running")).unwrap();
    if let Some(mut d) = definition {
        d["cells"] = specs
            .iter()
            .enumerate()
            .map(|(i, s)| {
                json!({"id": cell_id(i, s), "dataset": s.dataset,
                       "technique": s.technique, "seed": s.seed})
            })
            .collect();
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

/// t(0.975) at 2 degrees of freedom, from its closed form
/// F(t) = ½ + t / (2√(t² + 2)): t² = 2·0.95² / (1 − 0.95²).
fn t975_df2() -> f64 {
    (2.0 * 0.9025 / (1.0 - 0.9025f64)).sqrt()
}

/// Two-sided p of t at 2 degrees of freedom: 1 − |t| / √(t² + 2).
fn p_df2(t: f64) -> f64 {
    1.0 - t.abs() / (t * t + 2.0).sqrt()
}

type Figures = BTreeMap<&'static str, f64>;

fn get_all(runs: &[Value], g: &dyn Fn(&Value) -> f64) -> Vec<f64> {
    runs.iter().map(g).collect()
}

/// Figures recomputed straight from the result files (3 seeds per row),
/// keyed by (dataset, technique).
fn expected(dir: &Path) -> BTreeMap<(String, String), Figures> {
    let mut groups: BTreeMap<(String, String), Vec<Value>> = BTreeMap::new();
    for entry in std::fs::read_dir(dir.join("cells")).unwrap() {
        let cell_dir = entry.unwrap().path();
        let Ok(text) = std::fs::read_to_string(cell_dir.join("result.json")) else {
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
    let f = |v: &Value, p: &str| v.pointer(p).unwrap().as_f64().unwrap();
    let cost = |v: &Value| {
        f(v, "/timing/augmentation/total_s")
            + v["timing"]["fixed"]["synthetic_fit_s"]
                .as_f64()
                .unwrap_or(0.0)
    };
    let mut out = BTreeMap::new();
    for (key, runs) in &groups {
        let get = |g: &dyn Fn(&Value) -> f64| runs.iter().map(g).collect::<Vec<f64>>();
        let mut m = Figures::new();
        let (a, sa) = mean_std(&get(&|v| f(v, "/test/accuracy")));
        let half = t975_df2() * sa / 3f64.sqrt();
        let (f1, sf) = mean_std(&get(&|v| f(v, "/test/macro_f1")));
        let (t, st) = mean_std(&get(&|v| f(v, "/timing/train_wall_s")));
        let (c, _) = mean_std(&get(&cost));
        let (fixed, _) = mean_std(&get(&|v| {
            v["timing"]["fixed"]["synthetic_fit_s"]
                .as_f64()
                .unwrap_or(0.0)
        }));
        let (aug, _) = mean_std(&get(&|v| f(v, "/timing/augmentation/mean_s")));
        let (share, _) = mean_std(&get(&|v| {
            f(v, "/timing/augmentation/total_s") / f(v, "/timing/step/total_s")
        }));
        let (step, _) = mean_std(&get(&|v| f(v, "/timing/step/total_s")));
        let (model, _) = mean_std(&get(&|v| f(v, "/timing/model/mean_s")));
        let (inf, _) = mean_std(&get(&|v| f(v, "/inference/samples_per_s")));
        let rss = get(&|v| f(v, "/memory/peak_host_rss_bytes"))
            .into_iter()
            .fold(0.0, f64::max);
        for (k, x) in [
            ("acc", a),
            ("acc_std", sa),
            ("ci_lo", a - half),
            ("ci_hi", a + half),
            ("f1", f1),
            ("f1_std", sf),
            ("time", t),
            ("time_std", st),
            ("cost", c),
            ("fixed", fixed),
            ("aug", aug),
            ("share", share),
            ("step", step),
            ("model", model),
            ("inf", inf),
            ("rss", rss),
            ("seeds", runs.len() as f64),
        ] {
            m.insert(k, x);
        }
        out.insert(key.clone(), m);
    }
    // Paired differences with the baseline, seed by seed, and the budget.
    for ((ds, t), runs) in &groups {
        let base_runs = &groups[&(ds.clone(), "none".to_string())];
        let base = out[&(ds.clone(), "none".to_string())].clone();
        let by_seed = |runs: &[Value]| -> BTreeMap<u64, f64> {
            runs.iter()
                .map(|v| {
                    (
                        v["config"]["seed"].as_u64().unwrap(),
                        f(v, "/test/accuracy"),
                    )
                })
                .collect()
        };
        let (mine, theirs) = (by_seed(runs), by_seed(base_runs));
        let diffs: Vec<f64> = mine.iter().map(|(s, a)| a - theirs[s]).collect();
        let (dm, ds_) = mean_std(&diffs);
        let tt = dm / (ds_ / 3f64.sqrt());
        // Accuracy at the baseline's compute: each epoch costs the baseline's
        // mean model time per epoch plus the technique's mean augmentation
        // time of that epoch (its fixed cost up front).
        let model_pe = mean_std(
            &base_runs
                .iter()
                .map(|v| f(v, "/timing/model/total_s") / EPOCHS as f64)
                .collect::<Vec<_>>(),
        )
        .0;
        let budget = EPOCHS as f64 * model_pe + base["cost"];
        let mut spent = out[&(ds.clone(), t.clone())]["fixed"];
        let mut reached = (f64::NAN, f64::NAN);
        for k in 0..EPOCHS {
            let at = |v: &Value, key: &str| v["curves"][k][key].as_f64().unwrap();
            spent += model_pe + mean_std(&get_all(runs, &|v| at(v, "augmentation_s"))).0;
            if spent > budget * 1.01 {
                break;
            }
            reached = (
                (k + 1) as f64,
                mean_std(&get_all(runs, &|v| at(v, "test_accuracy"))).0,
            );
        }
        let m = out.get_mut(&(ds.clone(), t.clone())).unwrap();
        m.insert("dacc", m["acc"] - base["acc"]);
        m.insert("df1", m["f1"] - base["f1"]);
        m.insert("dtime", 100.0 * (m["time"] - base["time"]) / base["time"]);
        m.insert("dcost", 100.0 * (m["cost"] - base["cost"]) / base["step"]);
        m.insert("dmean", dm);
        m.insert("d_lo", dm - t975_df2() * ds_ / 3f64.sqrt());
        m.insert("d_hi", dm + t975_df2() * ds_ / 3f64.sqrt());
        m.insert("p", p_df2(tt));
        m.insert("at_budget", reached.1);
        m.insert("at_epoch", reached.0);
    }
    // Holm–Bonferroni within each data set (one training-set size here):
    // the k-th smallest of m p-values times (m − k + 1), kept non-decreasing
    // in that order and at most 1.
    let datasets: Vec<String> = groups.keys().map(|(d, _)| d.clone()).collect();
    for ds in datasets {
        let mut tested: Vec<(f64, String)> = out
            .iter()
            .filter(|((d, t), _)| *d == ds && t != "none")
            .map(|((_, t), m)| (m["p"], t.clone()))
            .collect();
        tested.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let m = tested.len();
        let mut running = 0.0f64;
        for (k, (p, t)) in tested.iter().enumerate() {
            running = running.max((p * (m - k) as f64).min(1.0));
            out.get_mut(&(ds.clone(), t.clone()))
                .unwrap()
                .insert("p_holm", running);
        }
    }
    out
}

/// Checks a displayed number: `shown` must be `value` rounded to `decimals`.
fn check(what: &str, shown: &str, value: f64, decimals: i32) {
    let parsed: f64 = shown
        .trim()
        .trim_start_matches('+')
        .replace('−', "-")
        .parse()
        .unwrap_or_else(|e| panic!("{what}: {shown:?}: {e}"));
    let tol = 0.5 * 10f64.powi(-decimals) + 1e-9 * value.abs().max(1.0);
    assert!(
        (parsed - value).abs() <= tol,
        "{what}: report shows {shown}, result files give {value}"
    );
}

fn split2<'a>(cell: &'a str, sep: &str) -> (&'a str, &'a str) {
    let mut parts = cell.split(sep);
    (parts.next().unwrap(), parts.next().unwrap())
}

fn summary_of(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap()
}

fn definition(notice: &str) -> Value {
    json!({
        "schema_version": 1,
        "preset": "quick",
        "datasets": [
            {"name": "synthetic-shapes", "model": "simple-cnn", "fallback_from": "cifar10", "notice": notice},
            {"name": "mnist", "model": "simple-cnn", "fallback_from": null, "notice": null,
             "source": "the official mirror",
             "sha256": {"train-images-idx3-ubyte": "ba7f", "t10k-labels-idx1-ubyte": "3f1c"}},
        ],
        "seeds": [0, 1, 2],
        "notices": [notice],
    })
}

#[test]
fn report_numbers_come_from_the_result_files() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("exp");
    let notice = "cifar10 not found in data/: synthetic-shapes used instead";
    write_experiment(&dir, &specs(), Some(definition(notice)));
    let (ok, err) = augkit(&["report", dir.to_str().unwrap()]);
    assert!(ok, "{err}");
    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    let expected = expected(&dir);

    // The fallback notice, loudly, before anything else; then the provenance.
    let head: String = md.lines().take(4).collect::<Vec<_>>().join("\n");
    assert!(
        head.contains("DATA FALLBACK") && head.contains(notice),
        "{head}"
    );
    assert!(
        md.contains("`mnist`: source the official mirror. SHA-256: `t10k-labels-idx1-ubyte` `3f1c`, `train-images-idx3-ubyte` `ba7f`."),
        "{md}"
    );
    assert!(
        md.contains("mnist-none-s9-dead") && md.contains("non-finite loss"),
        "{md}"
    );
    assert!(md.contains("mnist-crop-s9-running"), "{md}");

    // Every row of both tables against the result files.
    let mut dataset = String::new();
    let mut table = "";
    let (mut acc_rows, mut cost_rows) = (0, 0);
    for line in md.lines() {
        if let Some(d) = line.strip_prefix("## ") {
            dataset = d.to_string();
            continue;
        }
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() < 3 || cells[1].starts_with("---") {
            continue;
        }
        if cells[1] == "technique" {
            table = if cells[2] == "seeds" {
                "accuracy"
            } else {
                "cost"
            };
            continue;
        }
        let e = &expected[&(dataset.clone(), cells[1].to_string())];
        let what = |c: &str| format!("{dataset}/{}/{c}", cells[1]);
        let baseline = cells[1] == "none";
        if table == "accuracy" {
            assert_eq!(cells.len(), 17, "{line}");
            check(&what("seeds"), cells[2], e["seeds"], 0);
            let (a, sa) = split2(cells[3], "±");
            check(&what("acc"), a, 100.0 * e["acc"], 2);
            check(&what("acc std"), sa, 100.0 * e["acc_std"], 2);
            let (lo, hi) = split2(cells[4], "–");
            check(&what("ci lo"), lo, 100.0 * e["ci_lo"], 2);
            check(&what("ci hi"), hi, 100.0 * e["ci_hi"], 2);
            let (f, sf) = split2(cells[11], "±");
            check(&what("f1"), f, e["f1"], 4);
            check(&what("f1 std"), sf, e["f1_std"], 4);
            // No size curve in this matrix: no real-image equivalent.
            assert_eq!(cells[10], "—", "{}", what("worth"));
            let (at, epoch) = split2(cells[13], "(epoch");
            check(&what("at budget"), at, 100.0 * e["at_budget"], 2);
            check(
                &what("at epoch"),
                epoch.trim_end_matches(')'),
                e["at_epoch"],
                1,
            );
            if baseline {
                assert_eq!(
                    (cells[5], cells[6], cells[7], cells[8], cells[9]),
                    ("—", "—", "—", "—", "baseline")
                );
            } else {
                check(&what("Δacc"), cells[5], 100.0 * e["dacc"], 2);
                let (lo, hi) = split2(cells[6], " – ");
                check(&what("Δ lo"), lo, 100.0 * e["d_lo"], 2);
                check(&what("Δ hi"), hi, 100.0 * e["d_hi"], 2);
                if cells[7] == "< 0.0001" {
                    assert!(e["p"] < 1e-4, "{}", what("p"));
                } else {
                    check(&what("p"), cells[7], e["p"], 4);
                }
                if cells[8] == "< 0.0001" {
                    assert!(e["p_holm"] < 1e-4, "{}", what("p Holm"));
                } else {
                    check(&what("p Holm"), cells[8], e["p_holm"], 4);
                }
                let verdict = if e["p_holm"] >= 0.05 {
                    "no significant difference"
                } else if e["dmean"] > 0.0 {
                    "better"
                } else {
                    "worse"
                };
                assert_eq!(cells[9], verdict, "{}", what("verdict"));
                check(&what("ΔF1"), cells[12], e["df1"], 4);
            }
            let converged = if dataset == "synthetic-shapes" && cells[1] == "cutmix" {
                "no (seeds 0, 1, 2)"
            } else {
                "yes"
            };
            assert_eq!(cells[14], converged, "{}", what("converged"));
            acc_rows += 1;
        } else {
            assert_eq!(cells.len(), 13, "{line}");
            if baseline {
                assert_eq!(cells[2], "—");
                assert_eq!(cells[9], "—");
            } else {
                check(&what("Δcost"), cells[2], e["dcost"], 2);
                check(&what("Δtime"), cells[9], e["dtime"], 1);
            }
            check(&what("cost"), cells[3], e["cost"], 3);
            check(&what("fixed"), cells[4], e["fixed"], 3);
            check(&what("aug"), cells[5], 1e3 * e["aug"], 3);
            check(&what("share"), cells[6], 100.0 * e["share"], 1);
            check(&what("model"), cells[7], 1e3 * e["model"], 3);
            let (t, st) = split2(cells[8], "±");
            check(&what("time"), t, e["time"], 2);
            check(&what("time std"), st, e["time_std"], 2);
            check(&what("rss"), cells[10], e["rss"] / 1048576.0, 0);
            check(&what("inference"), cells[11], e["inf"], 1);
            cost_rows += 1;
        }
    }
    assert_eq!(
        (acc_rows, cost_rows),
        (expected.len(), expected.len()),
        "{md}"
    );

    // The rule's choice, significance, slower-and-worse, the Pareto sets.
    let summary = summary_of(&dir);
    let conclusions = summary["conclusions"].as_array().unwrap();
    let by_ds = |d: &str| conclusions.iter().find(|c| c["dataset"] == d).unwrap();
    let shapes = by_ds("synthetic-shapes");
    assert_eq!(shapes["best"], "flips");
    assert_eq!(shapes["best_efficiency"], Value::Null);
    assert_eq!(shapes["most_accurate"], "cutmix");
    assert_eq!(shapes["better"], json!(["crop", "cutmix", "flips"]));
    assert_eq!(shapes["worse"], json!(["mixup"]));
    assert_eq!(shapes["no_significant_difference"], json!(["rotate"]));
    assert_eq!(shapes["slower_and_worse"], json!(["mixup"]));
    assert_eq!(shapes["not_converged"], json!(["cutmix"]));
    assert_eq!(shapes["pareto"], json!(["none", "crop", "cutmix", "flips"]));
    let mnist = by_ds("mnist");
    assert_eq!(mnist["best"], "jitter");
    let j = &expected[&("mnist".to_string(), "jitter".to_string())];
    check(
        "mnist efficiency",
        &mnist["best_efficiency"].to_string(),
        100.0 * j["dacc"] / j["dcost"],
        9,
    );
    assert!(md.contains("Best trade-off: `flips`"), "{md}");
    assert!(md.contains("Best trade-off: `jitter`"), "{md}");
    assert!(md.contains("No significant difference: `rotate`"), "{md}");
    assert!(
        md.contains("Significantly less accurate and costlier than the baseline: `mixup`"),
        "{md}"
    );
    assert!(md.contains("Not converged"), "{md}");
    assert!(
        md.contains("paired t-test") && md.contains("α = 0.05"),
        "{md}"
    );
    assert!(
        md.contains("## The rule") && md.contains("## Definitions"),
        "{md}"
    );
    assert!(!md.contains("NaN") && !md.contains("inf %"), "{md}");
    // Data sets in experiment.json's order.
    assert!(md.find("## synthetic-shapes").unwrap() < md.find("## mnist").unwrap());

    // summary.csv and summary.json at full precision.
    let csv = std::fs::read_to_string(dir.join("summary.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("no column {name}"))
    };
    let mut csv_rows = 0;
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f.len(), header.len(), "{line}");
        let e = &expected[&(f[0].to_string(), f[3].to_string())];
        let mut pairs = vec![
            ("accuracy_mean", "acc"),
            ("accuracy_std", "acc_std"),
            ("accuracy_ci95_low", "ci_lo"),
            ("accuracy_ci95_high", "ci_hi"),
            ("macro_f1_mean", "f1"),
            ("train_time_s_mean", "time"),
            ("augmentation_cost_s_mean", "cost"),
            ("added_cost_pct", "dcost"),
            ("augmentation_per_step_s_mean", "aug"),
            ("augmentation_share_of_step_mean", "share"),
            ("model_per_step_s_mean", "model"),
            ("inference_samples_per_s_mean", "inf"),
            ("peak_host_rss_bytes", "rss"),
            ("accuracy_at_baseline_compute_mean", "at_budget"),
        ];
        if f[3] != "none" {
            pairs.extend([
                ("paired_mean_difference", "dmean"),
                ("paired_p_value", "p"),
                ("paired_p_holm", "p_holm"),
            ]);
        }
        for (name, key) in pairs {
            let v: f64 = f[col(name)].parse().unwrap();
            assert!(
                (v - e[key]).abs() <= 1e-9 * e[key].abs().max(1.0),
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
        if row["technique"] != "none" {
            assert_eq!(row["paired"]["seeds"], json!([0, 1, 2]));
            assert!(
                row["paired"]["test"]
                    .as_str()
                    .unwrap()
                    .contains("paired t-test")
            );
        }
    }
    assert_eq!(summary["fallback_notice"], notice);
    assert_eq!(summary["data_provenance"][0]["dataset"], "mnist");

    // The charts: every linked file exists; PNGs decode at the chart size.
    let links: Vec<PathBuf> = md
        .split("](")
        .skip(1)
        .filter_map(|s| s.split(')').next())
        .filter(|s| s.starts_with("plots/"))
        .map(|s| dir.join(s))
        .collect();
    assert_eq!(links.len(), 2 * 3 * 2, "{links:?}");
    check_charts(&links);
    let svg = std::fs::read_to_string(dir.join("plots/mnist-curves.svg")).unwrap();
    assert!(svg.contains("jitter") && svg.contains("crop"));
    keep_for_the_reader(&dir, "report.md");
}

/// Plots for the reader to look at: `AUGKIT_REPORT_KEEP=DIR` copies them
/// and the report (as `name`) there.
fn keep_for_the_reader(dir: &Path, name: &str) {
    if let Some(keep) = std::env::var_os("AUGKIT_REPORT_KEEP") {
        let keep = PathBuf::from(keep);
        std::fs::create_dir_all(&keep).unwrap();
        for e in std::fs::read_dir(dir.join("plots")).unwrap() {
            let p = e.unwrap().path();
            std::fs::copy(&p, keep.join(p.file_name().unwrap())).unwrap();
        }
        std::fs::copy(dir.join("report.md"), keep.join(name)).unwrap();
    }
}

fn check_charts(links: &[PathBuf]) {
    for path in links {
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
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
}

/// The acceptance test of the cost rule: the wall times (whole training,
/// whole run, per epoch) shuffled among the cells change no conclusion and
/// no cost, only the information columns.
#[test]
fn shuffled_wall_times_change_no_conclusion() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    let b = tmp.path().join("b");
    let specs = specs();
    let mut shuffled = specs.clone();
    // Reverse the wall times: the baseline becomes the slowest cell and
    // `mixup` the fastest — the old wall-time rule would now have named
    // `mixup` or `rotate` cheaper than free.
    let walls: Vec<f64> = specs.iter().map(|s| s.train_s).rev().collect();
    for (s, w) in shuffled.iter_mut().zip(walls) {
        s.train_s = w;
    }
    assert!(
        shuffled
            .iter()
            .zip(&specs)
            .any(|(x, y)| x.train_s != y.train_s)
    );
    write_experiment(&a, &specs, Some(definition("n")));
    write_experiment(&b, &shuffled, Some(definition("n")));
    for d in [&a, &b] {
        let (ok, err) = augkit(&["report", d.to_str().unwrap()]);
        assert!(ok, "{err}");
    }
    let (sa, sb) = (summary_of(&a), summary_of(&b));
    assert_eq!(sa["conclusions"], sb["conclusions"]);
    for (ra, rb) in sa["rows"]
        .as_array()
        .unwrap()
        .iter()
        .zip(sb["rows"].as_array().unwrap())
    {
        for key in [
            "added_cost_pct",
            "pareto",
            "verdict",
            "accuracy_at_baseline_compute",
        ] {
            assert_eq!(ra[key], rb[key], "{key}");
        }
    }
    // The information column did change.
    assert_ne!(sa["rows"][0]["train_time_s"], sb["rows"][0]["train_time_s"]);
}

#[test]
fn one_seed_gives_no_test_and_no_verdict() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let specs: Vec<Spec> = specs().into_iter().filter(|s| s.seed == 0).collect();
    write_experiment(dir, &specs, None);
    let (ok, err) = augkit(&["report", dir.to_str().unwrap()]);
    assert!(ok, "{err}");
    let summary = summary_of(dir);
    for c in summary["conclusions"].as_array().unwrap() {
        assert_eq!(c["best"], Value::Null, "{c}");
        assert_eq!(c["better"], json!([]));
    }
    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(md.contains("no test is possible"), "{md}");
    assert!(md.contains("no best trade-off is named"), "{md}");
    assert!(md.contains("| not tested |"), "{md}");
}

/// Limited data: cells of one data set at two training-set sizes (taken
/// from each cell's config.json) form two groups, each compared with its
/// own baseline, and a chart of the gain against the size.
#[test]
fn limited_data_rows_group_by_training_set_size() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut specs = Vec::new();
    for (per_class, used, gain) in [(50u64, 500u64, 0.01), (10, 100, 0.08)] {
        for seed in 0..3u64 {
            for (t, g) in [("none", 0.0), ("crop", gain)] {
                let mut s = spec(
                    "fashion",
                    t,
                    seed,
                    0.7 + 0.01 * seed as f64 + g + if g > 0.0 { jitter(0.002, seed) } else { 0.0 },
                    10.0,
                    0.001,
                    0.01,
                    100,
                );
                s.train_limit = Some((json!({"per_class": per_class}), used));
                specs.push(s);
            }
        }
    }
    write_experiment(dir, &specs, None);
    let (ok, err) = augkit(&["report", dir.to_str().unwrap()]);
    assert!(ok, "{err}");
    let summary = summary_of(dir);
    let rows = summary["rows"].as_array().unwrap();
    let fashion: Vec<&Value> = rows.iter().filter(|r| r["dataset"] == "fashion").collect();
    let labels: Vec<(&str, &str, f64)> = fashion
        .iter()
        .map(|r| {
            (
                r["train_limit"].as_str().unwrap(),
                r["technique"].as_str().unwrap(),
                r["train_images"]["mean"].as_f64().unwrap(),
            )
        })
        .collect();
    // Smallest training set first, baseline first within a group.
    assert_eq!(
        labels,
        vec![
            ("10 per class", "none", 100.0),
            ("10 per class", "crop", 100.0),
            ("50 per class", "none", 500.0),
            ("50 per class", "crop", 500.0),
        ]
    );
    let gain = |i: usize| fashion[i]["accuracy_change"].as_f64().unwrap();
    let mean_jitter = (0..3).map(|s| jitter(0.002, s)).sum::<f64>() / 3.0;
    assert!(
        (gain(1) - (0.08 + mean_jitter)).abs() < 1e-12,
        "{}",
        gain(1)
    );
    assert!(
        (gain(3) - (0.01 + mean_jitter)).abs() < 1e-12,
        "{}",
        gain(3)
    );
    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(
        md.contains("### fashion, training set 10 per class (100 images)"),
        "{md}"
    );
    assert!(
        md.contains("### fashion, training set 50 per class (500 images)"),
        "{md}"
    );
    assert!(md.find("10 per class").unwrap() < md.find("50 per class").unwrap());
    let links: Vec<PathBuf> = md
        .split("](")
        .skip(1)
        .filter_map(|s| s.split(')').next())
        .filter(|s| s.starts_with("plots/"))
        .map(|s| dir.join(s))
        .collect();
    // Per group: curves, trade-off, aug-time and (equal steps at both sizes:
    // the baseline's size curve exists) worth; plus the limited-data chart.
    assert_eq!(links.len(), (2 * 4 + 1) * 2, "{links:?}");
    check_charts(&links);
    let svg = std::fs::read_to_string(dir.join("plots/fashion-limited-data.svg")).unwrap();
    assert!(
        svg.contains("crop") && svg.contains("training images"),
        "{svg:.300}"
    );
    assert!(dir.join("plots/fashion-10-per-class-curves.png").exists());
    keep_for_the_reader(dir, "report-limited-data.md");
}

/// `recommended.toml`: the best trade-off's policy as it ran, with its
/// evidence, and `augkit recommend` prints the same; with nothing
/// significantly better the file says no augmentation is recommended.
#[test]
fn recommended_policy_carries_its_evidence() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("exp");
    write_experiment(&dir, &specs(), None);
    let (ok, err) = augkit(&["report", dir.to_str().unwrap()]);
    assert!(ok, "{err}");
    let text = std::fs::read_to_string(dir.join("recommended.toml")).unwrap();
    // Two data sets (no experiment.json: mnist first, by name):
    // recommended.toml is the first group's, and each group has its own file.
    assert!(text.contains("for mnist"), "{text}");
    assert!(
        text.contains("best trade-off") && text.contains("`jitter`"),
        "{text}"
    );
    assert!(text.contains("Holm-adjusted p"), "{text}");
    assert!(text.contains("added augmentation cost"), "{text}");
    let shapes =
        std::fs::read_to_string(dir.join("recommended-synthetic-shapes-4-per-class.toml")).unwrap();
    assert!(shapes.contains("`flips`"), "{shapes}");
    assert!(dir.join("recommended-mnist-4-per-class.toml").exists());
    // The policy parses, and it is the one the cell ran (normalisation filled in).
    let policy = augkit::Policy::from_file(dir.join("recommended.toml")).unwrap();
    let ran: augkit::Policy =
        serde_json::from_value(template()["config"]["policy"].clone()).unwrap();
    assert_eq!(policy, ran);
    assert!(!policy.output.mean.is_empty());
    let out = Command::new(env!("CARGO_BIN_EXE_augkit"))
        .args(["recommend", dir.to_str().unwrap()])
        .env_clear()
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with(&text));
    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(
        md.contains("## Use it") && md.contains("Policy::from_file"),
        "{md}"
    );

    // Nothing significantly better: the file says so instead of pretending.
    let flat = tmp.path().join("flat");
    let specs: Vec<Spec> = (0..3u64)
        .flat_map(|seed| {
            [("none", 0.0), ("crop", 0.001)].map(|(t, g)| {
                spec(
                    "mnist",
                    t,
                    seed,
                    0.7 + g + jitter(0.01, seed + 1 + (g > 0.0) as u64),
                    10.0,
                    0.001,
                    0.01,
                    100,
                )
            })
        })
        .collect();
    write_experiment(&flat, &specs, None);
    let (ok, err) = augkit(&["report", flat.to_str().unwrap()]);
    assert!(ok, "{err}");
    let text = std::fs::read_to_string(flat.join("recommended.toml")).unwrap();
    assert!(text.contains("NO AUGMENTATION IS RECOMMENDED"), "{text}");
    // One group only: no per-group files.
    let per_group = std::fs::read_dir(&flat)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("recommended-")
        })
        .count();
    assert_eq!(per_group, 0);
}

/// Worth in real images: the baseline at 150, 300, 600 and 1,200 images
/// with the same number of steps, techniques at 300. A technique exactly on
/// the curve at 600 is worth "2×"; one above the largest size's accuracy
/// "> 4×", one below the smallest "< 0.5×"; no extrapolation. A baseline at
/// another step budget is not on the curve.
#[test]
fn real_image_equivalents_read_off_the_baseline_size_curve() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut specs = Vec::new();
    for seed in 0..3u64 {
        let d = 0.004 * seed as f64;
        for (per_class, acc) in [(15u64, 0.80), (30, 0.85), (60, 0.88), (120, 0.90)] {
            let mut s = spec("fashion", "none", seed, acc + d, 10.0, 0.001, 0.01, 100);
            s.train_limit = Some((json!({"per_class": per_class}), 10 * per_class));
            specs.push(s);
        }
        for (t, acc) in [("flips", 0.88), ("cutmix", 0.95), ("rotate", 0.75)] {
            let mut s = spec("fashion", t, seed, acc + d, 10.0, 0.001, 0.01, 100);
            s.train_limit = Some((json!({"per_class": 30}), 300));
            specs.push(s);
        }
    }
    write_experiment(dir, &specs, None);
    // A fifth baseline size at twice the steps would flatten the curve if it
    // were used: it must not be.
    for seed in 0..3u64 {
        let id = format!("fashion-none-steps2x-s{seed}");
        let cell_dir = dir.join("cells").join(&id);
        std::fs::create_dir_all(&cell_dir).unwrap();
        let mut s = spec("fashion", "none", seed, 0.99, 10.0, 0.001, 0.01, 100);
        s.train_limit = Some((json!({"per_class": 240}), 2400));
        let mut v = cell(&s);
        v["timing"]["steps"] = json!(2 * STEPS as u64);
        let config = json!({"id": id, "dataset": "fashion", "technique": "none", "seed": seed,
                            "config": {"train_limit": {"per_class": 240}}});
        std::fs::write(cell_dir.join("config.json"), config.to_string()).unwrap();
        std::fs::write(cell_dir.join("result.json"), v.to_string()).unwrap();
    }
    let (ok, err) = augkit(&["report", dir.to_str().unwrap()]);
    assert!(ok, "{err}");
    let summary = summary_of(dir);
    let row = |t: &str| {
        summary["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["technique"] == t && r["train_limit"] == "30 per class")
            .unwrap()
            .clone()
    };
    assert_eq!(row("flips")["real_image_equivalent"]["text"], "2×");
    assert_eq!(
        row("flips")["real_image_equivalent"]["estimate"],
        json!({"kind": "at", "images": row("flips")["real_image_equivalent"]["estimate"]["images"]})
    );
    let images = row("flips")["real_image_equivalent"]["estimate"]["images"]
        .as_f64()
        .unwrap();
    assert!((images - 600.0).abs() < 1e-6, "{images}");
    assert_eq!(row("cutmix")["real_image_equivalent"]["text"], "> 4×");
    assert_eq!(row("rotate")["real_image_equivalent"]["text"], "< 0.5×");
    assert_eq!(row("none")["real_image_equivalent"], Value::Null);
    let curves = summary["worth_curves"].as_array().unwrap();
    assert_eq!(curves.len(), 1, "{curves:?}");
    assert_eq!(curves[0]["measured"].as_array().unwrap().len(), 4);
    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(
        md.contains("| flips | 3 |") && md.contains("| 2× ("),
        "{md}"
    );
    assert!(md.contains("worth 2× real images"), "{md}");
    assert!(md.contains("Worth in real images"), "{md}");
    let links: Vec<PathBuf> = md
        .split("](")
        .skip(1)
        .filter_map(|s| s.split(')').next())
        .filter(|s| s.contains("worth"))
        .map(|s| dir.join(s))
        .collect();
    assert_eq!(links.len(), 2, "{links:?}");
    check_charts(&links);
    let svg = std::fs::read_to_string(dir.join("plots/fashion-30-per-class-worth.svg")).unwrap();
    assert!(svg.contains("flips (2×)"), "{svg:.300}");
    keep_for_the_reader(dir, "report-worth.md");
}

/// Nonsense in a result file leaves that cell out with the file and the
/// field named (in report.md and on stderr); the report never prints NaN or
/// inf and draws no trade-off from it.
#[test]
fn invalid_figures_are_left_out_with_file_and_field() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let specs: Vec<Spec> = specs()
        .into_iter()
        .filter(|s| s.dataset == "mnist")
        .collect();
    write_experiment(dir, &specs, None);
    let edit = |i: usize, f: &dyn Fn(&mut Value)| {
        let path = dir
            .join("cells")
            .join(cell_id(i, &specs[i]))
            .join("result.json");
        let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        f(&mut v);
        std::fs::write(&path, v.to_string()).unwrap();
        format!("cells/{}/result.json", cell_id(i, &specs[i]))
    };
    // Every baseline cell broken in another way: no baseline is left.
    let idx = |t: &str, seed: u64| {
        specs
            .iter()
            .position(|s| s.technique == t && s.seed == seed)
            .unwrap()
    };
    let bad = [
        (idx("none", 0), "timing.train_wall_s", json!(0.0)),
        (idx("none", 1), "test.accuracy", json!(1e308)),
        (idx("none", 2), "timing.augmentation.total_s", json!(-1.0)),
        (idx("jitter", 0), "curves[1].test_accuracy", json!(1.5)),
    ];
    let mut files = Vec::new();
    for (i, field, value) in &bad {
        let value = value.clone();
        let pointer = match *field {
            "timing.train_wall_s" => "/timing/train_wall_s",
            "test.accuracy" => "/test/accuracy",
            "timing.augmentation.total_s" => "/timing/augmentation/total_s",
            _ => "/curves/1/test_accuracy",
        };
        files.push(edit(*i, &|v| {
            *v.pointer_mut(pointer).unwrap() = value.clone()
        }));
    }
    let (ok, err) = augkit(&["report", dir.to_str().unwrap()]);
    assert!(ok, "{err}");
    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    for ((_, field, _), file) in bad.iter().zip(&files) {
        let listed = md
            .lines()
            .find(|l| l.contains(file.as_str()))
            .unwrap_or_else(|| panic!("{file} not listed: {md}"));
        assert!(listed.contains(&format!("field `{field}`")), "{listed}");
        assert!(err.contains(file.as_str()) && err.contains(field), "{err}");
    }
    assert!(!md.contains("NaN") && !md.contains("inf %"), "{md}");
    let summary = summary_of(dir);
    let c = &summary["conclusions"][0];
    assert_eq!(c["best"], Value::Null, "{c}");
    assert!(
        c["text"]
            .as_str()
            .unwrap()
            .contains("No `none` (baseline) results")
    );
    // The jitter row keeps its two valid seeds.
    let jitter_row = summary["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["technique"] == "jitter")
        .unwrap();
    assert_eq!(jitter_row["seeds"], json!([1, 2]));
}

#[test]
fn a_malformed_experiment_json_names_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_experiment(dir, &specs()[..3], None);
    std::fs::write(dir.join("experiment.json"), r#"{"datasets": 7}"#).unwrap();
    let (ok, err) = augkit(&["report", dir.to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains("experiment.json"), "{err}");
}

#[test]
fn report_without_experiment_json_infers_the_matrix() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_experiment(dir, &specs(), None);
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
