//! A generated pool, fitted once and cached: `obtain` fits the generator on
//! the training subset (or loads it), samples a class-balanced pool of
//! `round(size × subset)` images, writes it with a preview grid, and returns
//! it with its cost — the fit and sampling seconds as first measured, which
//! every technique and CAS cell that uses the pool is charged, cached or not.
//!
//! Cache layout, inside the experiment directory:
//! `generators/<kind>-<key>/` where `<key>` is the first 12 hex digits of the
//! SHA-256 of the canonical JSON of (schema, data set, the subset's indices
//! and pixels, seed, generator config):
//! - `model.ot` (libtorch archive) and `fit.json` (the fit's log, seconds,
//!   the model's SHA-256) — `fit.json` written last, so its presence means
//!   the fit finished;
//! - `pool-n<N>.npz` (`images` uint8 `[N, C, H, W]`, `labels` int64 `[N]`:
//!   the pool-file format `[synthetic] source = "file"` reads),
//!   `pool-n<N>.png` (the preview) and `pool-n<N>.json` (sampling seconds,
//!   the pool's SHA-256) — the JSON last.
//!
//! Every file is written atomically and checked against its digest when read
//! back; a damaged one is refitted or resampled, with a warning.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use augkit_data::ImageSet;
use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor, nn};

use super::fit::{FitLog, FitOptions, fit_loop, model_bytes, read_verified, sha256_hex};
use super::{Fitted, GenData, GeneratorConfig, GeneratorError, MAX_POOL_IMAGES, balanced_labels};

/// Bumped when the cache's meaning changes (old entries are then refitted).
pub const CACHE_SCHEMA: u32 = 1;

/// What to obtain.
pub struct PoolRequest<'a> {
    /// The experiment directory (`generators/` goes under it).
    pub root: &'a Path,
    /// The data set's name (part of the key).
    pub dataset: &'a str,
    pub train: &'a ImageSet,
    /// The cell's training subset (indices into `train`).
    pub subset: &'a [u32],
    pub seed: u64,
    pub config: GeneratorConfig,
    /// Pool size as a multiple of the subset's size.
    pub size: f64,
    pub device: Device,
    pub verbose: bool,
}

/// What a technique is charged for its generator, and where its files are.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GeneratorCost {
    /// `cvae`, `ddpm` or `pca`.
    pub generator: String,
    /// Fitting, as first measured (every user of the cache is charged it).
    pub fit_s: f64,
    /// Sampling the pool, as first measured.
    pub sample_s: f64,
    pub pool_images: u64,
    /// Whether this run found the fit (and pool) in the cache.
    pub cached: bool,
    /// The cache directory, relative to the experiment directory.
    pub dir: String,
    /// The preview grid, relative to the experiment directory.
    pub preview: String,
    /// The fit's last epoch's mean loss (none for PCA).
    pub final_loss: Option<f64>,
}

impl GeneratorCost {
    pub fn total_s(&self) -> f64 {
        self.fit_s + self.sample_s
    }
}

/// A pool in memory: planar CHW u8 images and their labels.
#[derive(Clone, Debug)]
pub struct GeneratedPool {
    pub pixels: Vec<u8>,
    pub labels: Vec<u32>,
    pub channels: u32,
    pub height: u32,
    pub width: u32,
    pub num_classes: u32,
    pub cost: GeneratorCost,
}

impl GeneratedPool {
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

#[derive(Serialize, Deserialize)]
struct FitRecord {
    schema: u32,
    config: GeneratorConfig,
    dataset: String,
    seed: u64,
    subset_len: u64,
    log: FitLog,
    model_file: String,
    model_sha256: String,
    device: String,
    torch_threads: i32,
}

#[derive(Serialize, Deserialize)]
struct PoolRecord {
    schema: u32,
    images: u64,
    shape: [u32; 3],
    sample_s: f64,
    pool_file: String,
    pool_sha256: String,
    preview_file: String,
    model_sha256: String,
}

/// The number of images a pool of `size` × `subset_len` holds, checked.
pub fn pool_images(size: f64, subset_len: usize) -> Result<u64, GeneratorError> {
    super::positive_real("synthetic.size", size)?;
    let n = (size * subset_len as f64).round();
    if n < 1.0 {
        return Err(GeneratorError::EmptyPool(size));
    }
    if n > MAX_POOL_IMAGES as f64 {
        return Err(GeneratorError::PoolTooLarge {
            requested: n as u64,
            limit: MAX_POOL_IMAGES,
        });
    }
    Ok(n as u64)
}

/// The cache directory of a request: `generators/<kind>-<12 hex>`.
pub fn cache_dir(req: &PoolRequest) -> PathBuf {
    let e = (req.train.channels * req.train.height * req.train.width) as usize;
    let mut subset_pixels = sha2::Sha256::default();
    for &i in req.subset {
        use sha2::Digest;
        subset_pixels.update(&req.train.pixels[i as usize * e..(i as usize + 1) * e]);
        subset_pixels.update(req.train.labels[i as usize].to_le_bytes());
    }
    let subset_pixels: String = {
        use sha2::Digest;
        subset_pixels
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    let key = serde_json::json!({
        "schema": CACHE_SCHEMA,
        "dataset": req.dataset,
        "subset": req.subset,
        "subset_content_sha256": subset_pixels,
        "seed": req.seed,
        "config": req.config,
    });
    let digest = sha256_hex(crate::experiment::canonical_json(&key).as_bytes());
    req.root
        .join("generators")
        .join(format!("{}-{}", req.config.name(), &digest[..12]))
}

/// The pool the request describes: from the cache when it is there and
/// intact, else fitted (resuming a killed fit) and sampled, then cached.
pub fn obtain(req: &PoolRequest) -> anyhow::Result<GeneratedPool> {
    req.config.validate()?;
    let (c, h, w) = (req.train.channels, req.train.height, req.train.width);
    req.config
        .check_data(c, h, w, req.train.num_classes, req.subset.len())?;
    let n = pool_images(req.size, req.subset.len())?;
    let dir = cache_dir(req);
    let relative = |p: &Path| {
        p.strip_prefix(req.root)
            .unwrap_or(p)
            .to_string_lossy()
            .into_owned()
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;

    let fit_record = read_fit_record(&dir);
    let pool_json = dir.join(format!("pool-n{n}.json"));
    if let Some(record) = &fit_record
        && let Some((pool, sample_s)) = read_pool(&dir, &pool_json, record, req.train)
    {
        return Ok(GeneratedPool {
            cost: GeneratorCost {
                generator: req.config.name().into(),
                fit_s: record.log.seconds,
                sample_s,
                pool_images: n,
                cached: true,
                dir: relative(&dir),
                preview: relative(&dir.join(format!("pool-n{n}.png"))),
                final_loss: record.log.losses.last().copied(),
            },
            ..pool
        });
    }

    // Fit, or load the cached fit.
    let data = GenData::from_u8(
        &req.train.pixels,
        &req.train.labels,
        req.subset,
        c,
        h,
        w,
        req.train.num_classes,
        req.device,
    );
    let mut vs = nn::VarStore::new(req.device);
    let mut cached = false;
    tch::manual_seed(req.seed as i64);
    let mut fitted = build(&vs.root(), &req.config, &data);
    let record = match fit_record.and_then(|r| load_model(&dir, &r, &mut vs).then_some(r)) {
        Some(record) => {
            cached = true;
            record
        }
        None => {
            let log = fit_generator(
                &mut vs,
                &fitted,
                &req.config,
                &data,
                req.seed,
                &dir,
                req.verbose,
            )?;
            let bytes = model_bytes(&vs)?;
            crate::atomic::write_atomic(&dir.join("model.ot"), &bytes)?;
            let record = FitRecord {
                schema: CACHE_SCHEMA,
                config: req.config.clone(),
                dataset: req.dataset.into(),
                seed: req.seed,
                subset_len: req.subset.len() as u64,
                log,
                model_file: "model.ot".into(),
                model_sha256: sha256_hex(&bytes),
                device: format!("{:?}", req.device),
                torch_threads: tch::get_num_threads(),
            };
            crate::atomic::write_json_atomic(&dir.join("fit.json"), &record)?;
            record
        }
    };

    // Sample.
    let present = present_classes(req.train, req.subset);
    let labels = balanced_labels(n as usize, &present);
    let t = Instant::now();
    fitted.prepare(&req.config, &data);
    let images = fitted.sample(&labels, sample_seed(req.seed));
    let sample_s = t.elapsed().as_secs_f64();
    let pixels: Vec<u8> = Vec::try_from(&images.flatten(0, -1))?;
    let pool = GeneratedPool {
        pixels,
        labels,
        channels: c,
        height: h,
        width: w,
        num_classes: req.train.num_classes,
        cost: GeneratorCost {
            generator: req.config.name().into(),
            ..GeneratorCost::default()
        },
    };
    let pool_file = format!("pool-n{n}.npz");
    let preview_file = format!("pool-n{n}.png");
    let npz = encode_npz(&pool)?;
    crate::atomic::write_atomic(&dir.join(&pool_file), &npz)?;
    super::grid::write_preview(&dir.join(&preview_file), req.train, req.subset, &pool)?;
    crate::atomic::write_json_atomic(
        &pool_json,
        &PoolRecord {
            schema: CACHE_SCHEMA,
            images: n,
            shape: [c, h, w],
            sample_s,
            pool_file,
            pool_sha256: sha256_hex(&npz),
            preview_file: preview_file.clone(),
            model_sha256: record.model_sha256.clone(),
        },
    )?;
    Ok(GeneratedPool {
        cost: GeneratorCost {
            generator: req.config.name().into(),
            fit_s: record.log.seconds,
            sample_s,
            pool_images: n,
            cached,
            dir: relative(&dir),
            preview: relative(&dir.join(preview_file)),
            final_loss: record.log.losses.last().copied(),
        },
        ..pool
    })
}

/// The seed of the pool's draws (apart from the fit's).
fn sample_seed(seed: u64) -> u64 {
    crate::train::epoch_seed(seed ^ 0x5eed_9001, u32::MAX) as u64
}

/// The classes the subset holds, in order.
pub fn present_classes(train: &ImageSet, subset: &[u32]) -> Vec<u32> {
    let mut seen = vec![false; train.num_classes as usize];
    for &i in subset {
        seen[train.labels[i as usize] as usize] = true;
    }
    (0..train.num_classes)
        .filter(|&k| seen[k as usize])
        .collect()
}

/// The model of `config`, built (and initialised) under `vs`.
pub fn build(vs: &nn::Path, config: &GeneratorConfig, data: &GenData) -> Fitted {
    match config {
        GeneratorConfig::Cvae(c) => Fitted::Cvae(super::cvae::Cvae::new(vs, c, data)),
        GeneratorConfig::Ddpm(c) => Fitted::Ddpm(Box::new(super::ddpm::Ddpm::new(vs, c, data))),
    }
}

/// Fits `fitted` (built under `vs`) on `data`, checkpointing into `dir`.
pub fn fit_generator(
    vs: &mut nn::VarStore,
    fitted: &Fitted,
    config: &GeneratorConfig,
    data: &GenData,
    seed: u64,
    dir: &Path,
    verbose: bool,
) -> anyhow::Result<FitLog> {
    let (epochs, batch_size, lr) = match config {
        GeneratorConfig::Cvae(c) => (c.epochs, c.batch_size, c.lr),
        GeneratorConfig::Ddpm(c) => (c.epochs, c.batch_size, c.lr),
    };
    let opts = FitOptions {
        epochs,
        batch_size,
        lr,
        seed,
        checkpoint: Some(dir),
        verbose,
    };
    match (fitted, config) {
        (Fitted::Cvae(m), GeneratorConfig::Cvae(c)) => {
            fit_loop(vs, data, opts, |x, y| m.loss(x, y, c.beta))
        }
        (Fitted::Ddpm(m), _) => fit_loop(vs, data, opts, |x, y| m.loss(x, y)),
        _ => anyhow::bail!("the generator does not match its configuration"),
    }
}

fn read_fit_record(dir: &Path) -> Option<FitRecord> {
    let path = dir.join("fit.json");
    let text = std::fs::read_to_string(&path).ok()?;
    match serde_json::from_str::<FitRecord>(&text) {
        Ok(r) if r.schema == CACHE_SCHEMA => Some(r),
        Ok(_) => None,
        Err(e) => {
            eprintln!(
                "warning: {} cannot be read ({e}); refitting the generator",
                path.display()
            );
            None
        }
    }
}

/// Loads the cached model into `vs` if its file matches its digest.
fn load_model(dir: &Path, record: &FitRecord, vs: &mut nn::VarStore) -> bool {
    let path = dir.join(&record.model_file);
    let loaded = read_verified(&path, &record.model_sha256)
        .and_then(|bytes| Ok(vs.load_from_stream(std::io::Cursor::new(bytes))?));
    match loaded {
        Ok(()) => true,
        Err(e) => {
            eprintln!("warning: the cached generator is damaged ({e:#}); refitting it");
            let _ = std::fs::remove_file(dir.join("fit.json"));
            false
        }
    }
}

/// The cached pool and its sampling seconds, if intact and made by the
/// cached model.
fn read_pool(
    dir: &Path,
    json: &Path,
    fit: &FitRecord,
    train: &ImageSet,
) -> Option<(GeneratedPool, f64)> {
    let text = std::fs::read_to_string(json).ok()?;
    let attempt = || -> anyhow::Result<(GeneratedPool, f64)> {
        let record: PoolRecord = serde_json::from_str(&text)?;
        anyhow::ensure!(
            record.schema == CACHE_SCHEMA && record.model_sha256 == fit.model_sha256,
            "made by another fit"
        );
        let bytes = read_verified(&dir.join(&record.pool_file), &record.pool_sha256)?;
        let pool = decode_npz(&bytes, train.num_classes)?;
        anyhow::ensure!(
            [pool.channels, pool.height, pool.width] == [train.channels, train.height, train.width]
                && pool.len() as u64 == record.images,
            "the pool's shape does not match its record"
        );
        Ok((pool, record.sample_s))
    };
    match attempt() {
        Ok(found) => Some(found),
        Err(e) => {
            eprintln!(
                "warning: the cached pool {} is unusable ({e:#}); sampling it again",
                json.display()
            );
            let _ = std::fs::remove_file(json);
            None
        }
    }
}

/// The pool as an `.npz` (stored, uncompressed): `images` `|u1`
/// `[N, C, H, W]`, `labels` `<i8` `[N]`.
pub fn encode_npz(pool: &GeneratedPool) -> anyhow::Result<Vec<u8>> {
    use std::io::Write;
    let n = pool.len();
    let shape = [
        n,
        pool.channels as usize,
        pool.height as usize,
        pool.width as usize,
    ];
    let labels: Vec<u8> = pool
        .labels
        .iter()
        .flat_map(|&l| i64::from(l).to_le_bytes())
        .collect();
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::FileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .large_file(pool.pixels.len() > u32::MAX as usize / 2);
    zip.start_file("images.npy", options)?;
    zip.write_all(&crate::npy::encode("|u1", &shape, &pool.pixels))?;
    zip.start_file("labels.npy", options)?;
    zip.write_all(&crate::npy::encode("<i8", &[n], &labels))?;
    Ok(zip.finish()?.into_inner())
}

/// Reads what [`encode_npz`] wrote (NCHW uint8 images, int64 labels below
/// `num_classes`).
pub fn decode_npz(bytes: &[u8], num_classes: u32) -> anyhow::Result<GeneratedPool> {
    use std::io::Read;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes))?;
    let mut member = |name: &str| -> anyhow::Result<crate::npy::Npy> {
        let mut file = zip.by_name(name)?;
        let mut data = Vec::new();
        file.read_to_end(&mut data)?;
        crate::npy::decode(&data).map_err(|e| anyhow::anyhow!("{name}: {e}"))
    };
    let images = member("images.npy")?;
    let labels = member("labels.npy")?;
    anyhow::ensure!(
        images.descr == "|u1" && images.shape.len() == 4,
        "images.npy is {} {:?}, not uint8 [N, C, H, W]",
        images.descr,
        images.shape
    );
    anyhow::ensure!(
        labels.descr == "<i8" && labels.shape == [images.shape[0]],
        "labels.npy is {} {:?}, not int64 [{}]",
        labels.descr,
        labels.shape,
        images.shape[0]
    );
    let labels: Vec<u32> = labels
        .data
        .chunks_exact(8)
        .map(|b| i64::from_le_bytes(b.try_into().expect("8 bytes")))
        .map(|l| {
            u32::try_from(l)
                .ok()
                .filter(|&l| l < num_classes)
                .ok_or_else(|| anyhow::anyhow!("label {l} outside 0..{num_classes}"))
        })
        .collect::<anyhow::Result<_>>()?;
    Ok(GeneratedPool {
        pixels: images.data,
        labels,
        channels: images.shape[1] as u32,
        height: images.shape[2] as u32,
        width: images.shape[3] as u32,
        num_classes,
        cost: GeneratorCost::default(),
    })
}

/// The classical baseline's pool: the per-class PCA model of
/// `augkit::synthetic` (what `[synthetic] mode = "pca"` draws from on the
/// device), sampled on the host as `clamp(mean_c + Σ_j σ_j·z_j·u_j, 0, 1)`,
/// class-balanced, `n` images. Returns the pool with its fit and sampling
/// seconds (charged as a generator's are).
pub fn pca_pool(
    train: &ImageSet,
    subset: &[u32],
    seed: u64,
    n: u64,
    components: u32,
    variance_kept: f32,
) -> anyhow::Result<GeneratedPool> {
    let (c, h, w) = (train.channels, train.height, train.width);
    let e = (c * h * w) as usize;
    let mut pixels = Vec::with_capacity(subset.len() * e);
    let mut labels = Vec::with_capacity(subset.len());
    for &i in subset {
        pixels.extend_from_slice(&train.pixels[i as usize * e..(i as usize + 1) * e]);
        labels.push(train.labels[i as usize]);
    }
    let shape = augkit::ImageShape::new(c, h, w)?;
    let dataset = augkit::Dataset::new(shape, pixels, labels, train.num_classes)?;
    let all: Vec<u32> = (0..subset.len() as u32).collect();
    let t = Instant::now();
    // The library's own PCA fit, the one the device draws from.
    let model = augkit::internals::synthetic::fit(&dataset, &all, components, variance_kept)?;
    let fit_s = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let present = present_classes(train, subset);
    let labels = balanced_labels(n as usize, &present);
    tch::manual_seed(sample_seed(seed) as i64);
    let k = model.max_components.max(1) as i64;
    let z = Tensor::randn([n as i64, k], (Kind::Float, Device::Cpu));
    let z: Vec<f32> = Vec::try_from(&z.flatten(0, -1))?;
    let mut out = vec![0u8; n as usize * e];
    for (i, &label) in labels.iter().enumerate() {
        let class = &model.classes[label as usize];
        let mut image: Vec<f32> = class.mean.clone();
        for (j, (u, &sigma)) in class.components.iter().zip(&class.sigmas).enumerate() {
            let coefficient = sigma * z[i * k as usize + j];
            for (p, &u) in image.iter_mut().zip(u) {
                *p += coefficient * u;
            }
        }
        for (o, p) in out[i * e..(i + 1) * e].iter_mut().zip(&image) {
            *o = (p.clamp(0.0, 1.0) * 255.0).round() as u8;
        }
    }
    let sample_s = t.elapsed().as_secs_f64();
    Ok(GeneratedPool {
        pixels: out,
        labels,
        channels: c,
        height: h,
        width: w,
        num_classes: train.num_classes,
        cost: GeneratorCost {
            generator: "pca".into(),
            fit_s,
            sample_s,
            pool_images: n,
            cached: false,
            dir: String::new(),
            preview: String::new(),
            final_loss: None,
        },
    })
}
