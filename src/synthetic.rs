//! The synthetic-data model: per class, the mean image and the top principal
//! components with their standard deviations, fitted once per training set
//! with the Gram-matrix trick (a class has far fewer images than pixels).
//! A synthetic sample of class c is `clamp(mean_c + Σ_j σ_j·z_j·u_j, 0, 1)`
//! with z ~ N(0, 1) (`docs/SEMANTICS.md` §9).

use std::time::Instant;

use faer::{Mat, Side};

use crate::dataset::{Dataset, ImageShape};
use crate::error::Error;

/// One class's model, in [0, 1] pixel units, planar CHW like the dataset.
#[derive(Clone, Debug, PartialEq)]
pub struct ClassModel {
    /// Training images of the class in the subset.
    pub count: u32,
    pub mean: Vec<f32>,
    /// Unit-norm principal directions, largest variance first (k × C·H·W).
    pub components: Vec<Vec<f32>>,
    /// Standard deviation of the training images along each component.
    pub sigmas: Vec<f32>,
    /// Total variance of the class (sum over all pixels, per image).
    pub total_variance: f64,
    /// The share of it the kept components explain.
    pub kept_fraction: f64,
}

impl ClassModel {
    /// The mean plus the projection onto the kept components.
    pub fn reconstruct(&self, image: &[f32]) -> Vec<f32> {
        let mut out = self.mean.clone();
        for u in &self.components {
            let coefficient: f64 = image
                .iter()
                .zip(&self.mean)
                .zip(u)
                .map(|((&x, &m), &u)| f64::from(x - m) * f64::from(u))
                .sum();
            for (o, &u) in out.iter_mut().zip(u) {
                *o += (coefficient * f64::from(u)) as f32;
            }
        }
        out
    }

    /// Mean squared reconstruction error (summed over pixels, per training
    /// image) that the dropped variance predicts: (1 − kept)·total·(n−1)/n.
    pub fn predicted_residual(&self) -> f64 {
        if self.count == 0 {
            return 0.0;
        }
        let n = f64::from(self.count);
        (1.0 - self.kept_fraction) * self.total_variance * (n - 1.0) / n
    }
}

/// The fitted model for every class.
#[derive(Clone, Debug)]
pub struct SyntheticModel {
    pub shape: ImageShape,
    pub classes: Vec<ClassModel>,
    /// Components per class, padded: the largest k over the classes.
    pub max_components: u32,
    pub fit_seconds: f64,
}

/// Largest per-class tables `synthetic.mode = "pca"` may build: a mean and
/// `components` directions of C·H·W f32 values for every class up to
/// `num_classes`, with images or not (the kernels index them by label).
pub const MAX_SYNTH_TABLE_BYTES: u64 = 1 << 30;

/// Refuses, before anything is allocated, a PCA model whose tables would
/// exceed [`MAX_SYNTH_TABLE_BYTES`].
fn check_table_size(classes: u32, components: u32, shape: ImageShape) -> Result<(), Error> {
    let values = u64::from(classes) * (u64::from(components) + 1) * shape.elements() as u64;
    let bytes = values.saturating_mul(4);
    if bytes > MAX_SYNTH_TABLE_BYTES {
        return Err(Error::Dataset(format!(
            "synthetic mode \"pca\" needs {bytes} bytes of per-class tables (num_classes {classes} \
             × (components {components} + 1) × {} values × 4 bytes), over the limit of \
             {MAX_SYNTH_TABLE_BYTES} (MAX_SYNTH_TABLE_BYTES); num_classes counts classes without \
             images too: pass the real number of classes, or fewer components",
            shape.elements()
        )));
    }
    Ok(())
}

/// Fits the per-class model to the subset of `dataset`, keeping per class
/// the fewest components (at most `components`) that explain
/// `variance_kept` of its variance. Classes with fewer than two images, or
/// with no variance (constant images), keep no components.
pub fn fit(
    dataset: &Dataset,
    subset: &[u32],
    components: u32,
    variance_kept: f32,
) -> Result<SyntheticModel, Error> {
    if !(variance_kept > 0.0 && variance_kept <= 1.0) {
        return Err(Error::Dataset(format!(
            "synthetic variance_kept = {variance_kept} is outside (0, 1]"
        )));
    }
    check_table_size(dataset.num_classes(), components, dataset.shape())?;
    let start = Instant::now();
    let shape = dataset.shape();
    let d = shape.elements();
    let mut members: Vec<Vec<u32>> = vec![Vec::new(); dataset.num_classes() as usize];
    for &i in subset {
        members[dataset.labels()[i as usize] as usize].push(i);
    }
    let classes: Vec<ClassModel> = members
        .iter()
        .map(|idx| {
            fit_class(
                dataset,
                idx,
                d,
                components as usize,
                f64::from(variance_kept),
            )
        })
        .collect();
    let max_components = classes
        .iter()
        .map(|c| c.components.len() as u32)
        .max()
        .unwrap_or(0);
    Ok(SyntheticModel {
        shape,
        classes,
        max_components,
        fit_seconds: start.elapsed().as_secs_f64(),
    })
}

fn fit_class(
    dataset: &Dataset,
    idx: &[u32],
    d: usize,
    max_k: usize,
    variance_kept: f64,
) -> ClassModel {
    let n = idx.len();
    let mut mean = vec![0f64; d];
    for &i in idx {
        for (m, &v) in mean.iter_mut().zip(dataset.image(i as usize)) {
            *m += f64::from(v) / 255.0;
        }
    }
    for m in &mut mean {
        *m /= n.max(1) as f64;
    }
    let mean32: Vec<f32> = mean.iter().map(|&m| m as f32).collect();
    let empty = |total| ClassModel {
        count: n as u32,
        mean: mean32.clone(),
        components: Vec::new(),
        sigmas: Vec::new(),
        total_variance: total,
        kept_fraction: 1.0,
    };
    if n < 2 {
        return empty(0.0);
    }
    // Centred images as rows; the Gram matrix X·Xᵀ is n × n.
    let x = Mat::<f64>::from_fn(n, d, |r, c| {
        f64::from(dataset.image(idx[r] as usize)[c]) / 255.0 - mean[c]
    });
    let gram = &x * x.transpose();
    let total: f64 = (0..n).map(|i| gram[(i, i)]).sum::<f64>();
    let total_variance = total / (n - 1) as f64;
    if total <= 0.0 {
        return empty(0.0);
    }
    let Ok(eigen) = gram.self_adjoint_eigen(Side::Lower) else {
        return empty(total_variance);
    };
    let values = eigen.S();
    let vectors = eigen.U();
    // Eigenvalues come in ascending order; drop the numerically zero ones.
    let largest = values[n - 1];
    let mut kept = 0.0;
    let mut components = Vec::new();
    let mut sigmas = Vec::new();
    for j in (0..n).rev() {
        let lambda = values[j];
        if components.len() >= max_k || kept / total >= variance_kept || lambda <= largest * 1e-12 {
            break;
        }
        // u = Xᵀ v / √λ has unit norm.
        let scale = 1.0 / lambda.sqrt();
        let u: Vec<f32> = (0..d)
            .map(|c| ((0..n).map(|r| x[(r, c)] * vectors[(r, j)]).sum::<f64>() * scale) as f32)
            .collect();
        components.push(u);
        sigmas.push((lambda / (n - 1) as f64).sqrt() as f32);
        kept += lambda;
    }
    ClassModel {
        count: n as u32,
        mean: mean32,
        components,
        sigmas,
        total_variance,
        kept_fraction: kept / total,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Images of a known low-rank structure: mean + Σ_{j<rank} a_j·b_j + noise.
    fn low_rank(n: usize, rank: usize, noise: f32, seed: u64) -> (Dataset, Vec<f32>) {
        let shape = ImageShape::new(1, 8, 8).unwrap();
        let d = shape.elements();
        let mut state = seed;
        let mut rand = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 33) as f32) / (1u64 << 31) as f32 - 0.5
        };
        let basis: Vec<Vec<f32>> = (0..rank)
            .map(|_| (0..d).map(|_| rand()).collect())
            .collect();
        let base: Vec<f32> = (0..d).map(|_| 0.5 + 0.1 * rand()).collect();
        let mut pixels = Vec::with_capacity(n * d);
        for _ in 0..n {
            let a: Vec<f32> = (0..rank).map(|j| rand() * 0.6 / (j + 1) as f32).collect();
            for c in 0..d {
                let v =
                    base[c] + (0..rank).map(|j| a[j] * basis[j][c]).sum::<f32>() + noise * rand();
                pixels.push((v.clamp(0.0, 1.0) * 255.0).round() as u8);
            }
        }
        (Dataset::new(shape, pixels, vec![0; n], 1).unwrap(), base)
    }

    #[test]
    fn reconstruction_error_is_what_the_kept_variance_predicts() {
        let (data, _) = low_rank(200, 3, 0.02, 7);
        let subset: Vec<u32> = (0..200).collect();
        for k in [1u32, 2, 3, 6] {
            let model = fit(&data, &subset, k, 1.0).unwrap();
            let class = &model.classes[0];
            assert_eq!(class.components.len(), k as usize);
            let mut residual = 0.0f64;
            for &i in &subset {
                let image: Vec<f32> = data
                    .image(i as usize)
                    .iter()
                    .map(|&v| f32::from(v) / 255.0)
                    .collect();
                let r = class.reconstruct(&image);
                residual += image
                    .iter()
                    .zip(&r)
                    .map(|(a, b)| f64::from(a - b).powi(2))
                    .sum::<f64>();
            }
            residual /= subset.len() as f64;
            let predicted = class.predicted_residual();
            assert!(
                (residual - predicted).abs() <= 1e-3 * class.total_variance + 1e-4 * predicted,
                "k = {k}: residual {residual} vs predicted {predicted}"
            );
        }
        // Three components explain nearly all of a rank-3 class.
        let model = fit(&data, &subset, 8, 0.99).unwrap();
        assert!(model.classes[0].components.len() <= 4);
        assert!(model.classes[0].kept_fraction >= 0.99);
    }

    #[test]
    fn components_are_orthonormal_and_sigmas_descend() {
        let (data, _) = low_rank(60, 4, 0.05, 9);
        let model = fit(&data, &(0..60).collect::<Vec<_>>(), 5, 1.0).unwrap();
        let c = &model.classes[0];
        for (a, ua) in c.components.iter().enumerate() {
            for (b, ub) in c.components.iter().enumerate() {
                let dot: f64 = ua
                    .iter()
                    .zip(ub)
                    .map(|(x, y)| f64::from(*x) * f64::from(*y))
                    .sum();
                let expected = if a == b { 1.0 } else { 0.0 };
                assert!((dot - expected).abs() < 1e-4, "u{a}·u{b} = {dot}");
            }
        }
        assert!(c.sigmas.windows(2).all(|w| w[0] >= w[1]));
    }

    #[test]
    fn degenerate_classes_keep_the_mean_only() {
        let shape = ImageShape::new(3, 4, 4).unwrap();
        let e = shape.elements();
        // Class 0: one image; class 1: three identical images; class 2: none.
        let mut pixels = vec![10u8; e];
        pixels.extend(std::iter::repeat_n(200u8, 3 * e));
        let data = Dataset::new(shape, pixels, vec![0, 1, 1, 1], 3).unwrap();
        let model = fit(&data, &[0, 1, 2, 3], 4, 0.9).unwrap();
        assert_eq!(model.max_components, 0);
        assert!(model.classes.iter().all(|c| c.components.is_empty()));
        assert!((model.classes[1].mean[0] - 200.0 / 255.0).abs() < 1e-6);
        assert_eq!(model.classes[2].count, 0);
        assert!(fit(&data, &[0], 4, 0.0).is_err());
    }
}

/// The synthetic model and class index flattened for the kernels: uploaded
/// once, read by the parameters and pixel passes.
#[derive(Clone, Debug, Default)]
pub struct SynthTables {
    /// Components per class (k padded to the largest; zero rows beyond a
    /// class's own k, with σ = 0).
    pub components: u32,
    /// classes × C·H·W: the class means (PCA).
    pub means: Vec<f32>,
    /// classes × k × C·H·W: the unit principal directions (PCA).
    pub basis: Vec<f32>,
    /// classes × k: the standard deviations along them (PCA).
    pub sigmas: Vec<f32>,
    /// Per class, the mean grayscale of its mean image (the `source`
    /// contrast mean of a PCA sample).
    pub class_gray_means: Vec<f32>,
    /// Classes with at least one image in the subset, ascending.
    pub present_classes: Vec<u32>,
    /// classes + 1 offsets into `class_members`.
    pub class_offsets: Vec<u32>,
    /// Subset images (dataset indices) grouped by class, ascending within a class.
    pub class_members: Vec<u32>,
    /// Seconds the PCA fit took (0 for `interpolate`).
    pub fit_seconds: f64,
}

impl SynthTables {
    /// Builds the class index and, for PCA, fits the model.
    pub fn build(
        dataset: &Dataset,
        subset: &[u32],
        pca: Option<(u32, f32)>,
    ) -> Result<Self, Error> {
        if let Some((components, _)) = pca {
            check_table_size(dataset.num_classes(), components, dataset.shape())?;
        }
        let classes = dataset.num_classes() as usize;
        let mut members: Vec<Vec<u32>> = vec![Vec::new(); classes];
        for &i in subset {
            members[dataset.labels()[i as usize] as usize].push(i);
        }
        for m in &mut members {
            m.sort_unstable();
        }
        let mut tables = SynthTables {
            present_classes: (0..classes as u32)
                .filter(|&c| !members[c as usize].is_empty())
                .collect(),
            ..Self::default()
        };
        tables.class_offsets.push(0);
        for m in &members {
            tables.class_members.extend_from_slice(m);
            tables.class_offsets.push(tables.class_members.len() as u32);
        }
        if let Some((components, variance_kept)) = pca {
            let model = fit(dataset, subset, components, variance_kept)?;
            let k = model.max_components as usize;
            let d = dataset.shape().elements();
            let plane = dataset.shape().pixels();
            tables.components = k as u32;
            tables.fit_seconds = model.fit_seconds;
            tables.basis = vec![0.0; classes * k * d];
            tables.sigmas = vec![0.0; classes * k];
            for (c, class) in model.classes.iter().enumerate() {
                tables.means.extend_from_slice(&class.mean);
                for (j, (u, &s)) in class.components.iter().zip(&class.sigmas).enumerate() {
                    tables.basis[(c * k + j) * d..(c * k + j + 1) * d].copy_from_slice(u);
                    tables.sigmas[c * k + j] = s;
                }
                let gray = if dataset.shape().channels == 3 {
                    (0..plane)
                        .map(|p| {
                            0.2989 * f64::from(class.mean[p])
                                + 0.587 * f64::from(class.mean[plane + p])
                                + 0.114 * f64::from(class.mean[2 * plane + p])
                        })
                        .sum::<f64>()
                } else {
                    class.mean.iter().map(|&v| f64::from(v)).sum::<f64>()
                };
                tables.class_gray_means.push((gray / plane as f64) as f32);
            }
        }
        Ok(tables)
    }
}
