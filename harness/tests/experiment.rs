//! `augkit experiment` through the real binary, on a tiny matrix (every
//! technique in harness/policies, generated 1×28×28 shapes, 10–20 images per
//! class, 1 libtorch thread): a run killed with SIGKILL part-way resumes with
//! nothing lost and nothing recomputed, and shards together run every cell
//! exactly once with the results of one unsharded run; a second process on
//! the same directory is refused while the first holds its lock.
//! Run: `cargo test -p augkit-harness --test experiment` (≈ 1–2 min).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;

fn policy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("policies")
}

/// Cells per data set × seed: one per technique, plus a CAS cell for each
/// technique with a synthetic pool.
fn technique_count() -> usize {
    std::fs::read_dir(policy_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .map(|p| {
            let policy = augkit::Policy::from_file(&p).unwrap();
            1 + usize::from(augkit_harness::generate::cas::pool_spec(&policy).is_some())
        })
        .sum()
}

fn command(out: &Path, extra: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_augkit"));
    c.args(["experiment", "--out"])
        .arg(out)
        .arg("--policy-dir")
        .arg(policy_dir())
        .args([
            "--datasets",
            "synthetic-shapes-28",
            "--batch-size",
            "32",
            "--threads",
            "1",
            "--quiet",
        ])
        .args(extra)
        .env_remove("SLURM_ARRAY_TASK_ID")
        .env_remove("SLURM_ARRAY_TASK_COUNT")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    c
}

fn run_ok(mut c: Command) {
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "augkit experiment failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn cell_dirs(out: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = match std::fs::read_dir(out.join("cells")) {
        Ok(rd) => rd.map(|e| e.unwrap().path()).collect(),
        Err(_) => Vec::new(),
    };
    dirs.sort();
    dirs
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn name(dir: &Path) -> String {
    dir.file_name().unwrap().to_string_lossy().into_owned()
}

/// Finished cells: id → (result.json bytes, mtime).
fn finished(out: &Path) -> BTreeMap<String, (Vec<u8>, SystemTime)> {
    cell_dirs(out)
        .into_iter()
        .filter_map(|d| {
            let r = d.join("result.json");
            let bytes = std::fs::read(&r).ok()?;
            let mtime = std::fs::metadata(&r).ok()?.modified().ok()?;
            Some((name(&d), (bytes, mtime)))
        })
        .collect()
}

#[test]
fn killed_run_resumes_without_recomputing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("exp");
    let flags = [
        "--train-per-class",
        "20",
        "--epochs",
        "4",
        "--eval-every",
        "0",
    ];
    let mut child = command(&out, &flags).spawn().unwrap();

    // Wait until two cells are finished and a third has a checkpoint but no
    // result, then SIGKILL the process.
    let start = Instant::now();
    let interrupted = loop {
        assert!(
            start.elapsed() < Duration::from_secs(240),
            "no interruptible state within 240 s"
        );
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the run ended ({status}) before it could be interrupted");
        }
        let done = finished(&out).len();
        let in_progress = cell_dirs(&out)
            .into_iter()
            .find(|d| d.join("checkpoint.json").exists() && !d.join("result.json").exists());
        if let (true, Some(cell)) = (done >= 2, in_progress) {
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            break cell;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let before = finished(&out);
    assert!(before.len() >= 2);
    // The kill may have landed after the cell finished; it must then be in
    // `before` and is left alone like the others.
    let was_unfinished = !before.contains_key(&name(&interrupted));
    let checkpoint = read_json(&interrupted.join("checkpoint.json"));
    let epochs_done = checkpoint["epochs_done"].as_u64().unwrap();
    assert!((1..4).contains(&epochs_done), "{checkpoint}");

    run_ok(command(&out, &flags));

    let after = finished(&out);
    assert_eq!(after.len(), technique_count(), "every cell finished");
    for (id, (bytes, mtime)) in &before {
        assert_eq!(&after[id].0, bytes, "{id}: result.json rewritten");
        assert_eq!(&after[id].1, mtime, "{id}: result.json touched");
    }
    for d in cell_dirs(&out) {
        let r = read_json(&d.join("result.json"));
        assert_eq!(r["status"], "completed", "{}", d.display());
        assert_eq!(r["curves"].as_array().unwrap().len(), 4);
        assert!(d.join("config.json").exists());
        assert!(
            !d.join("checkpoint.json").exists(),
            "checkpoint left in {}",
            d.display()
        );
    }
    let resumed = read_json(&interrupted.join("result.json"));
    if was_unfinished {
        assert!(
            resumed["resumed_from_epoch"].as_u64().unwrap() >= epochs_done,
            "{}",
            resumed["resumed_from_epoch"]
        );

        // Resuming loses nothing: the same cell run without interruption
        // gives the same losses and test accuracy.
        let technique = read_json(&interrupted.join("config.json"))["technique"]
            .as_str()
            .unwrap()
            .to_string();
        // A CAS cell comes with its technique.
        let technique = technique
            .strip_prefix(augkit_harness::generate::cas::CAS_PREFIX)
            .map_or(technique.clone(), str::to_string);
        let fresh_out = dir.path().join("fresh");
        run_ok(command(
            &fresh_out,
            &[&flags[..], &["--techniques", &technique]].concat(),
        ));
        let fresh_dir = fresh_out.join("cells").join(name(&interrupted));
        let fresh = read_json(&fresh_dir.join("result.json"));
        assert_eq!(fresh["resumed_from_epoch"], Value::Null);
        let losses = |r: &Value| -> Vec<Value> {
            r["curves"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["train_loss"].clone())
                .collect()
        };
        assert_eq!(losses(&resumed), losses(&fresh), "resumed run differs");
        assert_eq!(resumed["test"]["accuracy"], fresh["test"]["accuracy"]);
    }
}

#[test]
fn shards_together_equal_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let flags = ["--train-per-class", "10", "--epochs", "1", "--seeds", "0,1"];
    let whole = dir.path().join("whole");
    run_ok(command(&whole, &flags));
    let expected = technique_count() * 2;
    let whole_cells: Vec<String> = cell_dirs(&whole).iter().map(|d| name(d)).collect();
    assert_eq!(whole_cells.len(), expected);

    let merged = dir.path().join("merged");
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for k in 0..3 {
        let shard_out = dir.path().join(format!("shard{k}"));
        let shard = format!("{k}/3");
        run_ok(command(
            &shard_out,
            &[&flags[..], &["--shard", &shard]].concat(),
        ));
        // Merge by copying.
        for d in cell_dirs(&shard_out) {
            assert!(d.join("result.json").exists());
            *seen.entry(name(&d)).or_default() += 1;
            let target = merged.join("cells").join(name(&d));
            std::fs::create_dir_all(&target).unwrap();
            for f in std::fs::read_dir(&d).unwrap() {
                let f = f.unwrap().path();
                std::fs::copy(&f, target.join(f.file_name().unwrap())).unwrap();
            }
        }
        assert_eq!(
            read_json(&shard_out.join("experiment.json")),
            read_json(&whole.join("experiment.json")),
            "shard {k} describes another matrix"
        );
    }
    assert!(seen.values().all(|&n| n == 1), "a cell ran twice: {seen:?}");
    let merged_cells: Vec<String> = cell_dirs(&merged).iter().map(|d| name(d)).collect();
    assert_eq!(merged_cells, whole_cells);
    let listed: Vec<String> = read_json(&whole.join("experiment.json"))["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(listed, whole_cells);
    for id in &whole_cells {
        let a = read_json(&whole.join("cells").join(id).join("result.json"));
        let b = read_json(&merged.join("cells").join(id).join("result.json"));
        assert_eq!(a["test"]["accuracy"], b["test"]["accuracy"], "{id}");
        let config = |r: &Value| {
            let mut c = r["config"].clone();
            c.as_object_mut().unwrap().remove("out");
            c
        };
        assert_eq!(config(&a), config(&b), "{id}");
    }
}

/// A second `augkit experiment` on a directory another
/// one is running in is refused, naming the holder's pid, and touches
/// nothing; after a SIGKILL of the first (the kernel drops its lock) the
/// second runs, resumes, and every cell equals an uninterrupted run's.
#[test]
fn second_process_is_refused_then_resumes_after_kill() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("exp");
    let flags = [
        "--techniques",
        "none,crop",
        "--train-per-class",
        "20",
        "--epochs",
        "4",
        "--eval-every",
        "0",
    ];
    let mut first = command(&out, &flags).spawn().unwrap();
    let start = Instant::now();
    while !cell_dirs(&out)
        .iter()
        .any(|d| d.join("checkpoint.json").exists())
    {
        assert!(
            start.elapsed() < Duration::from_secs(240),
            "no checkpoint within 240 s"
        );
        if let Some(status) = first.try_wait().unwrap() {
            panic!("the first run ended ({status}) before it could be interrupted");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let refused = command(&out, &flags).output().unwrap();
    assert_eq!(refused.status.code(), Some(1));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains(&format!("another augkit experiment (pid {})", first.id())),
        "{err}"
    );
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();

    run_ok(command(&out, &flags));
    let fresh = dir.path().join("fresh");
    run_ok(command(&fresh, &flags));
    let ids: Vec<String> = cell_dirs(&out).iter().map(|d| name(d)).collect();
    assert_eq!(ids.len(), 2);
    assert_eq!(
        ids,
        cell_dirs(&fresh)
            .iter()
            .map(|d| name(d))
            .collect::<Vec<_>>()
    );
    let mut resumed = 0;
    for id in &ids {
        let a = read_json(&out.join("cells").join(id).join("result.json"));
        let b = read_json(&fresh.join("cells").join(id).join("result.json"));
        assert_eq!(a["status"], "completed", "{id}");
        let curve = |r: &Value, key: &str| -> Vec<Value> {
            r["curves"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c[key].clone())
                .collect()
        };
        assert_eq!(curve(&a, "train_loss"), curve(&b, "train_loss"), "{id}");
        assert_eq!(a["test"]["accuracy"], b["test"]["accuracy"], "{id}");
        assert_eq!(b["resumed_from_epoch"], Value::Null);
        resumed += usize::from(!a["resumed_from_epoch"].is_null());
    }
    assert!(resumed >= 1, "no cell was resumed");
}

/// Repeated matrix entries are used once, so the cells
/// are distinct and two shards never train the same one.
#[test]
fn repeated_entries_make_one_cell_and_shards_stay_disjoint() {
    let dir = tempfile::tempdir().unwrap();
    let flags = [
        "--datasets",
        "synthetic-shapes-28,synthetic-shapes-28",
        "--techniques",
        "none",
        "--seeds",
        "0,0",
        "--train-per-class",
        "5",
        "--epochs",
        "1",
    ];
    let mut ran = Vec::new();
    for k in 0..2 {
        let out = dir.path().join(format!("shard{k}"));
        let shard = format!("{k}/2");
        run_ok(command(&out, &[&flags[..], &["--shard", &shard]].concat()));
        let plan = read_json(&out.join("experiment.json"));
        assert_eq!(plan["cells"].as_array().unwrap().len(), 1, "{plan}");
        assert_eq!(plan["seeds"], serde_json::json!([0]));
        assert_eq!(plan["datasets"].as_array().unwrap().len(), 1);
        ran.extend(cell_dirs(&out).iter().map(|d| name(d)));
    }
    assert_eq!(ran.len(), 1, "{ran:?}");
}

/// The lock is per share: two shards of one matrix may run at once in one
/// shared directory (as the SLURM example does), and together finish it.
#[test]
fn two_shards_share_one_directory_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("shared");
    let flags = [
        "--techniques",
        "none,crop,flips",
        "--train-per-class",
        "5",
        "--epochs",
        "1",
    ];
    let shards: Vec<_> = (0..2)
        .map(|k| {
            let shard = format!("{k}/2");
            command(&out, &[&flags[..], &["--shard", &shard]].concat())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in shards {
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    assert_eq!(finished(&out).len(), 3);
}
