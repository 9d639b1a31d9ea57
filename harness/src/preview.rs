//! `augkit preview` (a PNG grid of augmented samples, one row per technique)
//! and `augkit dump` (one augmented batch as `.npy` files plus the per-sample
//! parameters as JSON, to check other libraries against augkit). Both run the
//! CPU reference backend (`augkit::cpu::CpuBackend`) over the whole training
//! split of the data set, step `(epoch, first position 0, batch N)`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use augkit::cpu::CpuBackend;
use augkit::{Backend, DType, HostImages, Layout, MixLabel, Policy, SampleParams, Step};
use plotters::prelude::*;
use serde_json::json;

use crate::atomic::write_atomic;
use crate::npy;
use crate::plots::{FONT, encode_png, register_font};

/// Most samples (columns) `augkit preview` draws per technique.
pub const MAX_PREVIEW_SAMPLES: u32 = 64;
/// Most pixels of the preview grid (192 MB as RGB): large images make
/// each cell large, so the grid is checked once the data's shape is known.
pub const MAX_PREVIEW_PIXELS: u64 = 64 << 20;

/// Refuses `--samples` outside 1 to [`MAX_PREVIEW_SAMPLES`], before
/// anything is loaded.
pub fn check_samples(samples: u32) -> anyhow::Result<()> {
    anyhow::ensure!(
        (1..=MAX_PREVIEW_SAMPLES).contains(&samples),
        "--samples {samples}: expected 1 to {MAX_PREVIEW_SAMPLES} (columns of the preview grid)"
    );
    Ok(())
}

/// The `(name, policy)` pairs to preview: every `--policy FILE` (named by
/// its stem), then every `--techniques NAME` (`<dir>/NAME.toml`; `none`
/// without a file is the identity). With neither: every `.toml` in `dir`,
/// `none` first, then by name.
pub fn resolve_policies(
    files: &[PathBuf],
    techniques: &[String],
    dir: &Path,
) -> anyhow::Result<Vec<(String, Policy)>> {
    let mut out = Vec::new();
    let mut names: Vec<String> = techniques.to_vec();
    if files.is_empty() && techniques.is_empty() {
        names = crate::policies::list(dir)
            .with_context(|| format!("listing policies in {}", dir.display()))?
            .into_iter()
            .map(|(stem, _)| stem)
            .collect();
        names.sort_by_key(|n| (n != "none", n.clone()));
    }
    for file in files {
        let policy =
            Policy::from_file(file).with_context(|| format!("--policy {}", file.display()))?;
        let name = file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| file.display().to_string());
        out.push((name, policy));
    }
    for name in names {
        let path = dir.join(format!("{name}.toml"));
        let policy = if !path.exists() && name == "none" {
            Policy::identity()
        } else {
            Policy::from_file(&path)
                .with_context(|| format!("technique {name}: {}", path.display()))?
        };
        out.push((name, policy));
    }
    if files.is_empty() && techniques.is_empty() {
        // A pool policy needs a fitted generator's pool; preview has none.
        out.retain(|(name, policy)| {
            let keep = !crate::generate::cas::needs_pool(policy);
            if !keep {
                eprintln!("augkit preview: leaving out {name} (its synthetic pool comes from a generator an experiment fits)");
            }
            keep
        });
    }
    anyhow::ensure!(!out.is_empty(), "no policy to preview");
    Ok(out)
}

/// Loads the training split as the backend holds it, with its class names.
fn training_set(
    dataset: &str,
    data_dir: &Path,
    options: &augkit_data::SourceOptions,
) -> anyhow::Result<(Arc<augkit::Dataset>, Vec<String>)> {
    let train = crate::data::load_with(dataset, data_dir, Some(options))?.train;
    let names = crate::data::class_names(&train);
    Ok((Arc::new(crate::data::to_augkit_dataset(train)?), names))
}

fn whole(dataset: &augkit::Dataset) -> Vec<u32> {
    (0..dataset.len() as u32).collect()
}

/// Images per class the preview fits a synthetic (PCA) model on: enough to
/// show what the model generates, and quick to fit even in a debug build.
pub const PREVIEW_SYNTH_PER_CLASS: usize = 100;

/// The first `per_class` images of each class, in dataset order.
pub fn first_per_class(dataset: &augkit::Dataset, per_class: usize) -> Vec<u32> {
    let mut taken = vec![0usize; dataset.num_classes() as usize];
    (0..dataset.len() as u32)
        .filter(|&i| {
            let n = &mut taken[dataset.labels()[i as usize] as usize];
            *n += 1;
            *n <= per_class
        })
        .collect()
}

/// One row of the preview: images as NCHW f32 and their labels.
pub struct PreviewRow {
    pub name: String,
    pub policy: Policy,
    pub images: Vec<f32>,
    pub labels: Vec<MixLabel>,
}

/// The policy as previewed: f32 NCHW output (same pixels as any dtype up to
/// rounding) and, for synthetic samples, fraction 1 so every sample is one
/// (their model is fitted on [`PREVIEW_SYNTH_PER_CLASS`] images per class);
/// random erasing with p = 1, so every sample shows its boxes.
pub fn preview_policy(policy: &Policy) -> Policy {
    let mut p = policy.clone();
    p.output.dtype = DType::F32;
    p.output.layout = Layout::Nchw;
    if let Some(s) = &mut p.synthetic {
        s.fraction = 1.0;
    }
    if let Some(e) = &mut p.erasing {
        e.p = 1.0;
    }
    p
}

/// Runs each policy over the same step.
pub fn preview_rows(
    dataset: &Arc<augkit::Dataset>,
    policies: &[(String, Policy)],
    samples: u32,
    seed: u64,
    epoch: u32,
) -> anyhow::Result<Vec<PreviewRow>> {
    anyhow::ensure!(
        samples >= 1 && samples as usize <= dataset.len(),
        "--samples {samples}: expected 1 to {} (the training split)",
        dataset.len()
    );
    let step = Step {
        epoch,
        first_position: 0,
        batch_size: samples,
    };
    policies
        .iter()
        .map(|(name, policy)| {
            let policy = preview_policy(policy);
            let subset = if policy.synthetic.is_some() {
                first_per_class(dataset, PREVIEW_SYNTH_PER_CLASS)
            } else {
                whole(dataset)
            };
            anyhow::ensure!(
                samples as usize <= subset.len(),
                "--samples {samples}: technique {name} previews {} images",
                subset.len()
            );
            let mut backend = CpuBackend::new(&policy, seed, dataset.clone(), subset)
                .with_context(|| format!("technique {name}"))?;
            let mut images = vec![0f32; step.batch_size as usize * dataset.shape().elements()];
            let mut labels = vec![MixLabel::default(); samples as usize];
            backend
                .augment_into(step, HostImages::F32(&mut images), &mut labels)
                .with_context(|| format!("technique {name}"))?;
            Ok(PreviewRow {
                name: name.clone(),
                policy,
                images,
                labels,
            })
        })
        .collect()
}

/// Pixel value in [0, 255] of a normalised output value `v` of channel `c`:
/// `round(clamp((v·std[c] + mean[c])·255, 0, 255))`.
pub fn denormalise(policy: &Policy, c: usize, v: f32) -> u8 {
    let mean = policy.output.mean.get(c).copied().unwrap_or(0.0);
    let std = policy.output.std.get(c).copied().unwrap_or(1.0);
    ((v * std + mean) * 255.0).clamp(0.0, 255.0).round() as u8
}

/// Geometry of the preview grid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GridLayout {
    pub scale: u32,
    pub label_width: u32,
    pub caption_height: u32,
    pub gap: u32,
    pub cell_width: u32,
    pub cell_height: u32,
    pub width: u32,
    pub height: u32,
}

impl GridLayout {
    /// Images upscaled (nearest) to about 96 pixels; a 150-pixel label column;
    /// a 28-pixel caption under each image (class; `+partner λ` when mixed); 4-pixel gaps.
    pub fn new(rows: u32, samples: u32, height: u32, width: u32) -> Self {
        let scale = (96 / height.max(width)).max(1);
        let (label_width, caption_height, gap) = (150, 28, 4);
        let cell_width = (width * scale).max(112);
        let cell_height = height * scale + caption_height;
        Self {
            scale,
            label_width,
            caption_height,
            gap,
            cell_width,
            cell_height,
            width: label_width + samples * (cell_width + gap) + gap,
            height: rows * (cell_height + gap) + gap,
        }
    }
}

/// Draws the grid as RGB pixels: rows = techniques, columns = samples, the
/// technique's name on the left and each sample's class under it (`a/b λ`
/// when mixed).
pub fn grid_rgb(
    rows: &[PreviewRow],
    shape: augkit::ImageShape,
    class_names: &[String],
) -> anyhow::Result<(Vec<u8>, GridLayout)> {
    let samples = rows.first().map_or(0, |r| r.labels.len()) as u32;
    let (c, h, w) = (shape.channels as usize, shape.height, shape.width);
    let g = GridLayout::new(rows.len() as u32, samples, h, w);
    let mut rgb = vec![255u8; g.width as usize * g.height as usize * 3];
    let plane = (h * w) as usize;
    for (r, row) in rows.iter().enumerate() {
        let top = g.gap + r as u32 * (g.cell_height + g.gap);
        for s in 0..samples {
            let left = g.label_width + g.gap + s * (g.cell_width + g.gap);
            let image = &row.images[s as usize * c * plane..(s as usize + 1) * c * plane];
            for y in 0..h * g.scale {
                for x in 0..w * g.scale {
                    let src = ((y / g.scale) * w + x / g.scale) as usize;
                    let px: [u8; 3] = std::array::from_fn(|k| {
                        let ch = if c == 1 { 0 } else { k.min(c - 1) };
                        denormalise(&row.policy, ch, image[ch * plane + src])
                    });
                    let at = (((top + y) * g.width + left + x) * 3) as usize;
                    rgb[at..at + 3].copy_from_slice(&px);
                }
            }
        }
    }
    register_font();
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (g.width, g.height)).into_drawing_area();
        let name = |l: u32| {
            class_names
                .get(l as usize)
                .cloned()
                .unwrap_or_else(|| l.to_string())
        };
        for (r, row) in rows.iter().enumerate() {
            let top = (g.gap + r as u32 * (g.cell_height + g.gap)) as i32;
            let label_style = (FONT, 18).into_font().color(&BLACK);
            root.draw(&Text::new(
                row.name.clone(),
                (8, top + (g.cell_height / 2) as i32 - 9),
                label_style,
            ))
            .map_err(|e| anyhow::anyhow!("drawing labels: {e}"))?;
            for (s, l) in row.labels.iter().enumerate() {
                let left = (g.label_width + g.gap + s as u32 * (g.cell_width + g.gap)) as i32;
                let mut lines = vec![name(l.label_a)];
                if l.lambda < 1.0 && l.label_a != l.label_b {
                    lines.push(format!("+{} {:.2}", name(l.label_b), l.lambda));
                }
                for (k, text) in lines.into_iter().enumerate() {
                    root.draw(&Text::new(
                        text,
                        (left, top + (h * g.scale) as i32 + 2 + 13 * k as i32),
                        (FONT, 11).into_font().color(&BLACK),
                    ))
                    .map_err(|e| anyhow::anyhow!("drawing captions: {e}"))?;
                }
            }
        }
        root.present()
            .map_err(|e| anyhow::anyhow!("drawing labels: {e}"))?;
    }
    Ok((rgb, g))
}

/// `augkit preview`: writes the grid PNG to `out`; returns its size.
#[allow(clippy::too_many_arguments)]
pub fn run_preview(
    dataset: &str,
    data_dir: &Path,
    options: &augkit_data::SourceOptions,
    policies: &[(String, Policy)],
    samples: u32,
    seed: u64,
    epoch: u32,
    out: &Path,
) -> anyhow::Result<(u32, u32)> {
    check_samples(samples)?;
    let (data, class_names) = training_set(dataset, data_dir, options)?;
    let shape = data.shape();
    let g = GridLayout::new(policies.len() as u32, samples, shape.height, shape.width);
    let pixels = u64::from(g.width) * u64::from(g.height);
    anyhow::ensure!(
        pixels <= MAX_PREVIEW_PIXELS,
        "the preview grid of {} technique(s) × {samples} samples of {}×{} images would be          {}×{} pixels; at most {MAX_PREVIEW_PIXELS} pixels (fewer --samples or techniques)",
        policies.len(),
        shape.height,
        shape.width,
        g.width,
        g.height
    );
    let rows = preview_rows(&data, policies, samples, seed, epoch)?;
    let (rgb, g) = grid_rgb(&rows, data.shape(), &class_names)?;
    let png = encode_png(&rgb, g.width, g.height)?;
    write_atomic(out, &png).with_context(|| format!("writing {}", out.display()))?;
    Ok((g.width, g.height))
}

/// `SampleParams` with named fields, for `params.json`.
pub fn params_json(p: &SampleParams) -> serde_json::Value {
    json!({
        "dataset_index": p.dataset_index,
        "label_a": p.label_a,
        "label_b": p.label_b,
        "partner": p.partner,
        "flags": p.flags,
        "colour_order": p.colour_order,
        "lambda": p.lambda,
        "hue": p.hue,
        "brightness": p.brightness,
        "contrast": p.contrast,
        "saturation": p.saturation,
        "synth_partner": p.synth_partner,
        "inverse_affine": p.inverse_affine,
        "synth_t": p.synth_t,
        "slot": p.slot,
        "window": p.window,
        "cut_box": p.cut_box,
        "auto_ops": p.auto_ops,
        "auto_op_names": auto_op_names(p),
        "auto_magnitudes": p.auto_magnitudes,
        "auto_affine": p.auto_affine,
        "erase_count": p.erase_count,
        "erase_boxes": p.erase_boxes,
    })
}

/// torchvision's names of the sample's auto ops, in the order they run.
fn auto_op_names(p: &SampleParams) -> Vec<&'static str> {
    const NAMES: [&str; 14] = [
        "Identity",
        "ShearX",
        "ShearY",
        "TranslateX",
        "TranslateY",
        "Rotate",
        "Brightness",
        "Color",
        "Contrast",
        "Sharpness",
        "Posterize",
        "Solarize",
        "AutoContrast",
        "Equalize",
    ];
    if p.flags & augkit::internals::kernel_args::flags::AUTO == 0 {
        return Vec::new();
    }
    (0..4)
        .map(|i| (p.auto_ops >> (8 * i)) & 0xff)
        .take_while(|&op| (op as usize) < NAMES.len())
        .map(|op| NAMES[op as usize])
        .collect()
}

/// One batch as the library writes it, in the policy's dtype.
pub enum Batch {
    F32(Vec<f32>),
    F16(Vec<half::f16>),
    Bf16(Vec<half::bf16>),
}

/// Runs the CPU reference for one step of `policy` over the whole dataset.
pub fn reference_batch(
    policy: &Policy,
    seed: u64,
    dataset: &Arc<augkit::Dataset>,
    step: Step,
) -> anyhow::Result<(Batch, Vec<MixLabel>, Vec<SampleParams>)> {
    let mut backend = CpuBackend::new(policy, seed, dataset.clone(), whole(dataset))?;
    let n = step.batch_size as usize * dataset.shape().elements();
    let mut labels = vec![MixLabel::default(); step.batch_size as usize];
    let batch = match policy.output.dtype {
        DType::F32 => {
            let mut v = vec![0f32; n];
            backend.augment_into(step, HostImages::F32(&mut v), &mut labels)?;
            Batch::F32(v)
        }
        DType::F16 => {
            let mut v = vec![half::f16::ZERO; n];
            backend.augment_into(step, HostImages::F16(&mut v), &mut labels)?;
            Batch::F16(v)
        }
        DType::Bf16 => {
            let mut v = vec![half::bf16::ZERO; n];
            backend.augment_into(step, HostImages::Bf16(&mut v), &mut labels)?;
            Batch::Bf16(v)
        }
    };
    let params = backend.sample_params(step)?;
    Ok((batch, labels, params))
}

/// The `.npy` dtype string and bytes of a batch: f32 `<f4`, f16 `<f2`, bf16
/// `<u2` (raw bits: numpy has no bfloat16; `(bits.astype('<u4') << 16).view('<f4')`
/// gives the values).
pub fn batch_npy(batch: &Batch) -> (&'static str, Vec<u8>) {
    match batch {
        Batch::F32(v) => ("<f4", npy::f32_bytes(v)),
        Batch::F16(v) => (
            "<f2",
            npy::u16_bytes(&v.iter().map(|x| x.to_bits()).collect::<Vec<_>>()),
        ),
        Batch::Bf16(v) => (
            "<u2",
            npy::u16_bytes(&v.iter().map(|x| x.to_bits()).collect::<Vec<_>>()),
        ),
    }
}

/// `augkit dump`: writes `images.npy`, `label_a.npy`, `label_b.npy`,
/// `lambda.npy`, `params.json` and `README.txt` into `out`.
#[allow(clippy::too_many_arguments)]
pub fn run_dump(
    dataset: &str,
    data_dir: &Path,
    options: &augkit_data::SourceOptions,
    policy_file: &Path,
    out: &Path,
    batch: u32,
    seed: u64,
    epoch: u32,
) -> anyhow::Result<Vec<PathBuf>> {
    let mut policy = Policy::from_file(policy_file)
        .with_context(|| format!("--policy {}", policy_file.display()))?;
    let train = crate::data::load_with(dataset, data_dir, Some(options))?.train;
    // As `augkit train` does: a policy without output mean and std gets the
    // training data's per-channel statistics (here of the whole split).
    let normalisation = if policy.output.mean.is_empty() && policy.output.std.is_empty() {
        let all: Vec<u32> = (0..train.len() as u32).collect();
        let (mean, std) = crate::data::channel_statistics(&train, &all)?;
        policy.output.mean = mean;
        policy.output.std = std;
        "filled from the whole training split's per-channel mean and std (the policy sets \
         neither), as augkit train does"
    } else {
        "the policy's own output.mean and output.std"
    };
    let data = Arc::new(crate::data::to_augkit_dataset(train)?);
    anyhow::ensure!(
        batch >= 1 && batch as usize <= data.len(),
        "--batch {batch}: expected 1 to {} (the training split)",
        data.len()
    );
    let step = Step {
        epoch,
        first_position: 0,
        batch_size: batch,
    };
    let (images, labels, params) = reference_batch(&policy, seed, &data, step)?;
    let s = data.shape();
    let (b, c, h, w) = (
        batch as usize,
        s.channels as usize,
        s.height as usize,
        s.width as usize,
    );
    let shape = match policy.output.layout {
        Layout::Nchw => vec![b, c, h, w],
        Layout::Nhwc => vec![b, h, w, c],
    };
    let (descr, bytes) = batch_npy(&images);
    let dtype_name = match policy.output.dtype {
        DType::F32 => "f32",
        DType::F16 => "f16",
        DType::Bf16 => "bf16",
    };
    let layout_name = match policy.output.layout {
        Layout::Nchw => "nchw",
        Layout::Nhwc => "nhwc",
    };
    let note = match policy.output.dtype {
        DType::Bf16 => {
            "bf16 has no numpy dtype: images.npy holds the raw bf16 bit patterns as <u2; \
                        values = (np.load('images.npy').astype('<u4') << 16).view('<f4')"
        }
        _ => "images.npy holds the values in the policy's dtype",
    };
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("images.npy", npy::encode(descr, &shape, &bytes)),
        (
            "label_a.npy",
            npy::encode(
                "<u4",
                &[b],
                &npy::u32_bytes(&labels.iter().map(|l| l.label_a).collect::<Vec<_>>()),
            ),
        ),
        (
            "label_b.npy",
            npy::encode(
                "<u4",
                &[b],
                &npy::u32_bytes(&labels.iter().map(|l| l.label_b).collect::<Vec<_>>()),
            ),
        ),
        (
            "lambda.npy",
            npy::encode(
                "<f4",
                &[b],
                &npy::f32_bytes(&labels.iter().map(|l| l.lambda).collect::<Vec<_>>()),
            ),
        ),
        ("params.json", {
            let value = json!({
                "dataset": dataset,
                "policy_file": policy_file,
                "policy": policy,
                "normalisation": normalisation,
                "seed": seed,
                "step": step,
                "subset": "the whole training split, in order (index i = image i)",
                "backend": "cpu (augkit::cpu::CpuBackend, the reference)",
                "images": {
                    "file": "images.npy",
                    "dtype": dtype_name,
                    "npy_descr": descr,
                    "layout": layout_name,
                    "shape": shape,
                    "note": note,
                },
                "samples": params.iter().map(params_json).collect::<Vec<_>>(),
            });
            let mut v = serde_json::to_vec_pretty(&value)?;
            v.push(b'\n');
            v
        }),
        (
            "README.txt",
            format!(
                "One augmented batch written by `augkit dump` (augkit {}).\n\
                 data set {dataset}, policy {}, seed {seed}, epoch {epoch}, positions 0..{batch} \
                 of the whole training split (no subset), CPU reference backend.\n\n\
                 images.npy   {descr} {shape:?} ({layout_name}, {dtype_name}). {note}.\n\
                 label_a.npy  <u4 [{b}]  first label of each sample\n\
                 label_b.npy  <u4 [{b}]  mix partner's label (= label_a when unmixed)\n\
                 lambda.npy   <f4 [{b}]  weight of label_a: loss = λ·CE(a) + (1−λ)·CE(b)\n\
                 params.json  the per-sample SampleParams with named fields (docs/SEMANTICS.md)\n",
                env!("CARGO_PKG_VERSION"),
                policy_file.display()
            )
            .into_bytes(),
        ),
    ];
    let mut written = Vec::new();
    for (name, bytes) in files {
        let path = out.join(name);
        write_atomic(&path, &bytes).with_context(|| format!("writing {}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}
