//! Classification figures from predictions: accuracy, confusion matrix,
//! per-class precision/recall/F1 and macro F1.

use serde::{Deserialize, Serialize};

/// Test-set classification figures.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Classification {
    pub samples: u64,
    pub accuracy: f64,
    /// Unweighted mean of the per-class F1 scores over all classes.
    pub macro_f1: f64,
    pub per_class: Vec<ClassFigures>,
    /// `confusion[true][predicted]` counts.
    pub confusion: Vec<Vec<u64>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassFigures {
    pub class: u32,
    pub name: String,
    /// Test samples of this class.
    pub support: u64,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

/// Counts a confusion matrix. Labels and predictions must be `< num_classes`.
pub fn confusion_matrix(labels: &[u32], predictions: &[u32], num_classes: u32) -> Vec<Vec<u64>> {
    assert_eq!(labels.len(), predictions.len(), "one prediction per label");
    let n = num_classes as usize;
    let mut matrix = vec![vec![0u64; n]; n];
    for (&t, &p) in labels.iter().zip(predictions) {
        matrix[t as usize][p as usize] += 1;
    }
    matrix
}

/// Figures from a confusion matrix. A class with no predictions has
/// precision 0, one with no samples recall 0, and F1 is 0 where precision +
/// recall is 0 (scikit-learn's `zero_division=0`).
pub fn classification(confusion: Vec<Vec<u64>>, class_names: &[String]) -> Classification {
    let n = confusion.len();
    let samples: u64 = confusion.iter().flatten().sum();
    let correct: u64 = (0..n).map(|i| confusion[i][i]).sum();
    let per_class: Vec<ClassFigures> = (0..n)
        .map(|c| {
            let tp = confusion[c][c] as f64;
            let support: u64 = confusion[c].iter().sum();
            let predicted: u64 = confusion.iter().map(|row| row[c]).sum();
            let precision = ratio(tp, predicted as f64);
            let recall = ratio(tp, support as f64);
            ClassFigures {
                class: c as u32,
                name: class_names.get(c).cloned().unwrap_or_else(|| c.to_string()),
                support,
                precision,
                recall,
                f1: ratio(2.0 * precision * recall, precision + recall),
            }
        })
        .collect();
    let macro_f1 = if n == 0 {
        0.0
    } else {
        per_class.iter().map(|c| c.f1).sum::<f64>() / n as f64
    };
    Classification {
        samples,
        accuracy: ratio(correct as f64, samples as f64),
        macro_f1,
        per_class,
        confusion,
    }
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_a_hand_computed_example() {
        // truth:      0 0 0 1 1 2
        // predicted:  0 0 1 1 2 2
        let m = confusion_matrix(&[0, 0, 0, 1, 1, 2], &[0, 0, 1, 1, 2, 2], 3);
        assert_eq!(m, vec![vec![2, 1, 0], vec![0, 1, 1], vec![0, 0, 1]]);
        let c = classification(m, &["a".into(), "b".into(), "c".into()]);
        assert_eq!(c.samples, 6);
        assert!((c.accuracy - 4.0 / 6.0).abs() < 1e-12);
        // class 0: p = 1, r = 2/3, f1 = 0.8; class 1: p = 1/2, r = 1/2, f1 = 0.5;
        // class 2: p = 1/2, r = 1, f1 = 2/3.
        let f1: Vec<f64> = c.per_class.iter().map(|k| k.f1).collect();
        for (got, want) in f1.iter().zip([0.8, 0.5, 2.0 / 3.0]) {
            assert!((got - want).abs() < 1e-12, "{f1:?}");
        }
        assert!((c.macro_f1 - (0.8 + 0.5 + 2.0 / 3.0) / 3.0).abs() < 1e-12);
        assert_eq!(c.per_class[1].name, "b");
        assert_eq!(c.per_class[2].support, 1);
    }

    #[test]
    fn absent_class_scores_zero_not_nan() {
        let c = classification(confusion_matrix(&[0, 0], &[0, 0], 2), &[]);
        assert_eq!(c.accuracy, 1.0);
        assert_eq!(c.per_class[1].f1, 0.0);
        assert_eq!(c.per_class[1].name, "1");
        assert_eq!(c.macro_f1, 0.5);
    }
}
