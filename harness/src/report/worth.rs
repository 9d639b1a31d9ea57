//! What a technique is worth in real images, after Geiping et al. (2023),
//! "How much data are augmentations worth?": the baseline's test accuracy as
//! a function of the training-set size at one fixed number of optimiser
//! steps (so that data, not compute, varies), and each technique's accuracy
//! placed on that curve — "flips at 300 images per class do what 390 real
//! images per class would".
//!
//! The curve is the baseline's mean accuracy per measured size, made
//! non-decreasing by isotonic regression (pool-adjacent-violators: more real
//! data is assumed never to hurt, and seed noise must not make the inverse
//! ambiguous), interpolated linearly in log(size) between measured sizes and
//! never extrapolated: an accuracy below the smallest size's is "< smallest",
//! above the largest's "> largest". The interval is the technique's 95 %
//! confidence interval of its mean accuracy pushed through the same
//! (monotone) curve.

use serde::Serialize;

/// The baseline's accuracy against training-set size at one step budget.
#[derive(Clone, Debug, PartialEq)]
pub struct Curve {
    /// Training images, strictly increasing.
    sizes: Vec<f64>,
    /// Accuracy at each size, non-decreasing.
    accuracies: Vec<f64>,
}

/// Where an accuracy falls on a [`Curve`], in training images.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", content = "images", rename_all = "snake_case")]
pub enum Place {
    /// Below the accuracy at the smallest measured size (that size).
    Below(f64),
    /// Reached at this many training images.
    At(f64),
    /// Above the accuracy at the largest measured size (that size).
    Above(f64),
}

impl Curve {
    /// The curve through `(training images, mean accuracy)` points; points of
    /// the same size are averaged. `None` with fewer than two distinct sizes
    /// or a non-finite value.
    pub fn new(points: &[(f64, f64)]) -> Option<Self> {
        if points
            .iter()
            .any(|&(s, a)| !s.is_finite() || s <= 0.0 || !a.is_finite())
        {
            return None;
        }
        let mut sorted = points.to_vec();
        sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
        // Blocks of (size, sum of accuracies, count); same sizes merged first,
        // then adjacent violators pooled (weights = points in the block).
        let mut sizes: Vec<f64> = Vec::new();
        let mut blocks: Vec<(f64, f64, usize)> = Vec::new();
        for (s, a) in sorted {
            if sizes.last() == Some(&s) {
                let b = blocks.last_mut()?;
                b.1 += a;
                b.2 += 1;
            } else {
                sizes.push(s);
                blocks.push((a, a, 1));
            }
        }
        if sizes.len() < 2 {
            return None;
        }
        let means: Vec<(f64, usize)> = blocks.iter().map(|b| (b.1 / b.2 as f64, b.2)).collect();
        // Pool adjacent violators over the per-size means; each pooled block
        // remembers how many sizes it covers.
        let mut pooled: Vec<(f64, usize, usize)> = Vec::new(); // (mean, weight, sizes covered)
        for (m, w) in means {
            pooled.push((m, w, 1));
            while pooled.len() > 1 {
                let (m2, w2, k2) = pooled[pooled.len() - 1];
                let (m1, w1, k1) = pooled[pooled.len() - 2];
                if m1 <= m2 {
                    break;
                }
                pooled.pop();
                let w = w1 + w2;
                *pooled.last_mut()? = ((m1 * w1 as f64 + m2 * w2 as f64) / w as f64, w, k1 + k2);
            }
        }
        let accuracies: Vec<f64> = pooled
            .iter()
            .flat_map(|&(m, _, k)| std::iter::repeat_n(m, k))
            .collect();
        Some(Self { sizes, accuracies })
    }

    /// The smallest and largest measured sizes.
    pub fn range(&self) -> (f64, f64) {
        (self.sizes[0], self.sizes[self.sizes.len() - 1])
    }

    /// The fitted (monotone) points, `(size, accuracy)`.
    pub fn points(&self) -> Vec<(f64, f64)> {
        self.sizes
            .iter()
            .copied()
            .zip(self.accuracies.iter().copied())
            .collect()
    }

    /// The smallest training-set size at which the curve reaches `accuracy`.
    pub fn place(&self, accuracy: f64) -> Place {
        let (lo, hi) = self.range();
        let last = self.accuracies.len() - 1;
        if accuracy > self.accuracies[last] {
            return Place::Above(hi);
        }
        if accuracy < self.accuracies[0] {
            return Place::Below(lo);
        }
        let i = self
            .accuracies
            .iter()
            .position(|&a| a >= accuracy)
            .unwrap_or(last);
        if i == 0 {
            return Place::At(lo);
        }
        let (a0, a1) = (self.accuracies[i - 1], self.accuracies[i]);
        let (l0, l1) = (self.sizes[i - 1].ln(), self.sizes[i].ln());
        let t = (accuracy - a0) / (a1 - a0);
        Place::At((l0 + t * (l1 - l0)).exp())
    }
}

/// A row's real-image equivalent, as `summary.json` records it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Equivalent {
    /// The row's own training images (mean over its seeds).
    pub own_images: f64,
    /// Where its mean accuracy falls on the baseline's curve.
    pub estimate: Place,
    /// Where the ends of its 95 % confidence interval fall (`None` for one seed).
    pub interval: Option<[Place; 2]>,
    /// `estimate` in multiples of the own size: `1.3×`, `> 4×`, `< 0.5×`.
    pub text: String,
    /// The interval the same way: `1.1× – 1.6×`.
    pub interval_text: Option<String>,
}

/// A multiple as the report prints it: at most two decimals, no trailing zeros.
pub fn multiple_text(m: f64) -> String {
    let s = format!("{m:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s}×")
}

/// `place` in multiples of `own` images.
pub fn place_text(place: Place, own: f64) -> String {
    match place {
        Place::Below(s) => format!("< {}", multiple_text(s / own)),
        Place::At(s) => multiple_text(s / own),
        Place::Above(s) => format!("> {}", multiple_text(s / own)),
    }
}

/// The equivalent of a row with `own_images` training images, mean accuracy
/// `accuracy` and 95 % interval `ci95`, on `curve`.
pub fn equivalent(
    curve: &Curve,
    own_images: f64,
    accuracy: f64,
    ci95: Option<[f64; 2]>,
) -> Equivalent {
    let estimate = curve.place(accuracy);
    let interval = ci95.map(|[lo, hi]| [curve.place(lo), curve.place(hi)]);
    Equivalent {
        own_images,
        estimate,
        interval,
        text: place_text(estimate, own_images),
        interval_text: interval.map(|[lo, hi]| {
            format!(
                "{} – {}",
                place_text(lo, own_images),
                place_text(hi, own_images)
            )
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn curve() -> Curve {
        // 150, 300, 600, 1200 images: 0.80, 0.85, 0.88, 0.90.
        Curve::new(&[(600.0, 0.88), (150.0, 0.80), (300.0, 0.85), (1200.0, 0.90)]).unwrap()
    }

    #[test]
    fn a_point_on_the_curve_is_its_size() {
        let c = curve();
        assert_eq!(place_text(c.place(0.88), 300.0), "2×");
        assert_eq!(place_text(c.place(0.85), 300.0), "1×");
        assert_eq!(place_text(c.place(0.80), 300.0), "0.5×");
        assert_eq!(place_text(c.place(0.90), 300.0), "4×");
    }

    #[test]
    fn between_sizes_interpolates_in_log_size() {
        // Halfway in accuracy between 300 and 600 is √(300·600) ≈ 424.3 images.
        let Place::At(s) = curve().place(0.865) else {
            panic!("not placed")
        };
        assert!((s - (300.0f64 * 600.0).sqrt()).abs() < 1e-9, "{s}");
        assert_eq!(place_text(Place::At(s), 300.0), "1.41×");
    }

    #[test]
    fn outside_the_measured_range_is_a_bound_not_an_extrapolation() {
        let c = curve();
        assert_eq!(c.place(0.95), Place::Above(1200.0));
        assert_eq!(place_text(c.place(0.95), 300.0), "> 4×");
        assert_eq!(c.place(0.70), Place::Below(150.0));
        assert_eq!(place_text(c.place(0.70), 300.0), "< 0.5×");
    }

    #[test]
    fn a_dip_from_seed_noise_is_pooled_into_a_monotone_curve() {
        // 0.86 at 600 below 0.87 at 300: the two pool to 0.865.
        let c = Curve::new(&[(150.0, 0.80), (300.0, 0.87), (600.0, 0.86), (1200.0, 0.90)]).unwrap();
        let pts = c.points();
        assert!(
            (pts[1].1 - 0.865).abs() < 1e-12 && (pts[2].1 - 0.865).abs() < 1e-12,
            "{pts:?}"
        );
        // The smallest size reaching the flat part.
        let Place::At(s) = c.place(0.865) else {
            panic!("not placed")
        };
        assert!((s - 300.0).abs() < 1e-9, "{s}");
    }

    #[test]
    fn fewer_than_two_sizes_is_no_curve() {
        assert!(Curve::new(&[(300.0, 0.8), (300.0, 0.82)]).is_none());
        assert!(Curve::new(&[(300.0, f64::NAN), (600.0, 0.9)]).is_none());
    }

    #[test]
    fn the_interval_goes_through_the_curve() {
        let e = equivalent(&curve(), 300.0, 0.88, Some([0.85, 0.95]));
        assert_eq!(e.text, "2×");
        assert_eq!(e.interval_text.as_deref(), Some("1× – > 4×"));
    }
}
