//! `augkit preview` and `augkit dump` through the real binary, on the
//! generated synthetic-shapes set: the grid PNG decodes at the expected size
//! and its `none` row holds the original pixels; the `.npy` files parse with
//! the expected dtypes and shapes (and load in numpy when the torch venv has
//! it) and equal the CPU reference's output for the same seed, bit for bit.
//! Run: `cargo test -p augkit-harness --test preview_dump`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use augkit::cpu::CpuBackend;
use augkit::{Backend, HostImages, MixLabel, Policy, Step};
use augkit_harness::npy;
use augkit_harness::preview::GridLayout;

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

fn policies_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("policies")
}

fn shapes() -> Arc<augkit::Dataset> {
    let (train, _) = augkit_data::load("synthetic-shapes", Path::new("unused")).unwrap();
    Arc::new(augkit_harness::data::to_augkit_dataset(train).unwrap())
}

#[test]
fn preview_grid_has_one_row_per_technique() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("grid.png");
    let (ok, err) = augkit(&[
        "preview",
        "--dataset",
        "synthetic-shapes",
        "--techniques",
        "none,mixup,synthetic",
        "--policies-dir",
        policies_dir().to_str().unwrap(),
        "--samples",
        "5",
        "--seed",
        "7",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&out).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut rgb = vec![0u8; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut rgb).unwrap();
    let g = GridLayout::new(3, 5, 32, 32);
    assert_eq!((info.width, info.height), (g.width, g.height));
    assert_eq!(info.color_type, png::ColorType::Rgb);

    // Row 0 is `none` (identity policy, mean 0, std 1): its pixels are the
    // dataset's, de-normalised back to [0, 255] exactly.
    let data = shapes();
    let policy = Policy::identity();
    let mut backend =
        CpuBackend::new(&policy, 7, data.clone(), (0..data.len() as u32).collect()).unwrap();
    let step = Step {
        epoch: 0,
        first_position: 0,
        batch_size: 5,
    };
    let params = backend.sample_params(step).unwrap();
    for (s, p) in params.iter().enumerate() {
        let image = data.image(p.dataset_index as usize);
        for (x, y) in [(0u32, 0u32), (31, 0), (5, 17), (31, 31)] {
            let gx = g.label_width + g.gap + s as u32 * (g.cell_width + g.gap) + x * g.scale;
            let gy = g.gap + y * g.scale;
            let at = ((gy * g.width + gx) * 3) as usize;
            let expected: Vec<u8> = (0..3)
                .map(|c| image[c * 1024 + (y * 32 + x) as usize])
                .collect();
            assert_eq!(
                &rgb[at..at + 3],
                &expected[..],
                "sample {s} pixel ({x}, {y})"
            );
        }
    }
}

fn write_policy(dir: &Path, dtype: &str, layout: &str) -> PathBuf {
    let path = dir.join(format!("p-{dtype}-{layout}.toml"));
    std::fs::write(
        &path,
        format!(
            "horizontal_flip = 0.5\n[crop]\nkind = \"pad\"\npadding = 4\n\
             [color_jitter]\nbrightness = 0.4\ncontrast = 0.4\n\
             [mix]\nmixup_alpha = 0.2\ncutmix_alpha = 1.0\nswitch_prob = 0.5\n\
             [output]\nmean = [0.5, 0.45, 0.4]\nstd = [0.25, 0.24, 0.26]\n\
             dtype = \"{dtype}\"\nlayout = \"{layout}\"\n"
        ),
    )
    .unwrap();
    path
}

fn read(path: &Path) -> npy::Npy {
    npy::decode(&std::fs::read(path).unwrap()).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn dump_writes_the_reference_batch_as_npy() {
    let tmp = tempfile::tempdir().unwrap();
    let data = shapes();
    let (batch, seed, epoch) = (7u32, 11u64, 3u32);
    let python = dirs_python();
    for (dtype, layout) in [("f32", "nchw"), ("f16", "nhwc"), ("bf16", "nchw")] {
        let policy_path = write_policy(tmp.path(), dtype, layout);
        let out = tmp.path().join(format!("dump-{dtype}-{layout}"));
        let (ok, err) = augkit(&[
            "dump",
            "--dataset",
            "synthetic-shapes",
            "--policy",
            policy_path.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--batch",
            &batch.to_string(),
            "--seed",
            &seed.to_string(),
            "--epoch",
            &epoch.to_string(),
        ]);
        assert!(ok, "{err}");

        // The library's output for the same seed and step.
        let policy = Policy::from_file(&policy_path).unwrap();
        let mut backend = CpuBackend::new(
            &policy,
            seed,
            data.clone(),
            (0..data.len() as u32).collect(),
        )
        .unwrap();
        let step = Step {
            epoch,
            first_position: 0,
            batch_size: batch,
        };
        let n = batch as usize * 3 * 32 * 32;
        let mut labels = vec![MixLabel::default(); batch as usize];
        let expected_bytes: Vec<u8> = match dtype {
            "f32" => {
                let mut v = vec![0f32; n];
                backend
                    .augment_into(step, HostImages::F32(&mut v), &mut labels)
                    .unwrap();
                v.iter().flat_map(|x| x.to_le_bytes()).collect()
            }
            "f16" => {
                let mut v = vec![half::f16::ZERO; n];
                backend
                    .augment_into(step, HostImages::F16(&mut v), &mut labels)
                    .unwrap();
                v.iter().flat_map(|x| x.to_bits().to_le_bytes()).collect()
            }
            _ => {
                let mut v = vec![half::bf16::ZERO; n];
                backend
                    .augment_into(step, HostImages::Bf16(&mut v), &mut labels)
                    .unwrap();
                v.iter().flat_map(|x| x.to_bits().to_le_bytes()).collect()
            }
        };
        let params = backend.sample_params(step).unwrap();

        let images = read(&out.join("images.npy"));
        let descr = match dtype {
            "f32" => "<f4",
            "f16" => "<f2",
            _ => "<u2",
        };
        let shape = if layout == "nchw" {
            vec![7, 3, 32, 32]
        } else {
            vec![7, 32, 32, 3]
        };
        assert_eq!(
            (images.descr.as_str(), &images.shape),
            (descr, &shape),
            "{dtype} {layout}"
        );
        assert!(
            images.data == expected_bytes,
            "{dtype} {layout}: images differ from the library's"
        );
        let la = read(&out.join("label_a.npy"));
        let lb = read(&out.join("label_b.npy"));
        let lambda = read(&out.join("lambda.npy"));
        assert_eq!((la.descr.as_str(), &la.shape), ("<u4", &vec![7]));
        assert_eq!((lb.descr.as_str(), &lb.shape), ("<u4", &vec![7]));
        assert_eq!((lambda.descr.as_str(), &lambda.shape), ("<f4", &vec![7]));
        assert_eq!(
            la.data,
            npy::u32_bytes(&labels.iter().map(|l| l.label_a).collect::<Vec<_>>())
        );
        assert_eq!(
            lb.data,
            npy::u32_bytes(&labels.iter().map(|l| l.label_b).collect::<Vec<_>>())
        );
        assert_eq!(
            lambda.data,
            npy::f32_bytes(&labels.iter().map(|l| l.lambda).collect::<Vec<_>>())
        );
        assert!(labels.iter().any(|l| l.lambda < 1.0), "the policy mixes");

        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("params.json")).unwrap())
                .unwrap();
        let samples = json["samples"].as_array().unwrap();
        assert_eq!(samples.len(), 7);
        for (s, p) in samples.iter().zip(&params) {
            assert_eq!(s["dataset_index"], p.dataset_index);
            assert_eq!(s["lambda"].as_f64().unwrap() as f32, p.lambda);
            assert_eq!(s["cut_box"], serde_json::json!(p.cut_box));
            assert_eq!(s["window"], serde_json::json!(p.window));
            assert_eq!(s["erase_count"], p.erase_count);
            assert_eq!(s["erase_boxes"], serde_json::json!(p.erase_boxes));
        }
        assert_eq!(json["images"]["dtype"], dtype);
        assert_eq!(json["images"]["layout"], layout);
        let readme = std::fs::read_to_string(out.join("README.txt")).unwrap();
        if dtype == "bf16" {
            assert!(readme.contains("raw bf16 bit patterns"), "{readme}");
        }

        // numpy itself, where the torch venv has it.
        match &python {
            Some(py) => {
                let script = format!(
                    "import numpy as np\n\
                     d = {dir:?}\n\
                     a = np.load(d + '/images.npy'); print(a.dtype.str, a.shape)\n\
                     for f in ['label_a', 'label_b', 'lambda']:\n    b = np.load(d + '/' + f + '.npy'); print(b.dtype.str, b.shape)\n",
                    dir = out.to_str().unwrap()
                );
                let o = Command::new(py).arg("-c").arg(script).output().unwrap();
                assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
                let text = String::from_utf8_lossy(&o.stdout).into_owned();
                let dims = shape
                    .iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join(", ");
                assert_eq!(
                    text,
                    format!("{descr} ({dims})\n<u4 (7,)\n<u4 (7,)\n<f4 (7,)\n"),
                    "numpy's view of {dtype} {layout}"
                );
            }
            None => eprintln!(
                "skipped the numpy check: no python3 with numpy in ~/.cache/augkit/venv (run scripts/setup-torch)"
            ),
        }
    }
}

/// The torch venv's python, if it can import numpy.
fn dirs_python() -> Option<PathBuf> {
    let venv = std::env::var_os("AUGKIT_TORCH_VENV")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/augkit/venv")))?;
    let py = venv.join("bin/python3");
    let ok = Command::new(&py)
        .args(["-c", "import numpy"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    ok.then_some(py)
}

#[test]
fn dump_refuses_a_batch_larger_than_the_data() {
    let tmp = tempfile::tempdir().unwrap();
    let policy = write_policy(tmp.path(), "f32", "nchw");
    let (ok, err) = augkit(&[
        "dump",
        "--dataset",
        "synthetic-shapes",
        "--policy",
        policy.to_str().unwrap(),
        "--out",
        tmp.path().join("d").to_str().unwrap(),
        "--batch",
        "999999",
    ]);
    assert!(!ok);
    assert!(err.contains("--batch"), "{err}");
}

#[test]
fn dump_normalises_with_the_data_when_the_policy_does_not() {
    let tmp = tempfile::tempdir().unwrap();
    let policy_path = policies_dir().join("crop.toml");
    let out = tmp.path().join("d");
    let (ok, err) = augkit(&[
        "dump",
        "--dataset",
        "synthetic-shapes",
        "--policy",
        policy_path.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--batch",
        "3",
    ]);
    assert!(ok, "{err}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("params.json")).unwrap()).unwrap();
    assert!(json["normalisation"].as_str().unwrap().contains("filled"));
    // The same statistics as `augkit train` computes, and the same batch.
    let (train, _) = augkit_data::load("synthetic-shapes", Path::new("unused")).unwrap();
    let all: Vec<u32> = (0..train.len() as u32).collect();
    let (mean, std) = augkit_harness::data::channel_statistics(&train, &all).unwrap();
    let mut policy = Policy::from_file(&policy_path).unwrap();
    policy.output.mean = mean.clone();
    policy.output.std = std;
    let recorded: Vec<f32> =
        serde_json::from_value(json["policy"]["output"]["mean"].clone()).unwrap();
    assert_eq!(recorded, mean);
    let data = Arc::new(augkit_harness::data::to_augkit_dataset(train).unwrap());
    let mut backend = CpuBackend::new(&policy, 0, data.clone(), all).unwrap();
    let step = Step {
        epoch: 0,
        first_position: 0,
        batch_size: 3,
    };
    let mut images = vec![0f32; 3 * data.shape().elements()];
    let mut labels = vec![MixLabel::default(); 3];
    backend
        .augment_into(step, HostImages::F32(&mut images), &mut labels)
        .unwrap();
    assert_eq!(read(&out.join("images.npy")).data, npy::f32_bytes(&images));
}
