//! The seeded, stratified train/test split of a set that comes without a
//! test split: per class, `round(f·n)` images — at least one, at most n − 1 —
//! chosen by a seeded shuffle of the class's indices go to test.

use crate::error::FolderProblem;
use crate::rng::SplitMix64;

/// (train indices, test indices), each in increasing order. `class_names`
/// names a class that has fewer than two images in the error.
pub fn stratified_split(
    labels: &[u32],
    class_names: &[String],
    fraction: f64,
    seed: u64,
) -> Result<(Vec<usize>, Vec<usize>), FolderProblem> {
    if !(fraction > 0.0 && fraction < 1.0) {
        return Err(FolderProblem::BadTestFraction(fraction));
    }
    let k = class_names.len();
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); k];
    for (i, &l) in labels.iter().enumerate() {
        members[l as usize].push(i);
    }
    let mut to_test = vec![false; labels.len()];
    for (c, idx) in members.iter().enumerate() {
        let n = idx.len();
        if n == 0 {
            continue;
        }
        if n < 2 {
            return Err(FolderProblem::ClassTooSmall {
                class: class_names[c].clone(),
                images: n,
            });
        }
        let take = ((fraction * n as f64).round() as usize).clamp(1, n - 1);
        let mut order = idx.clone();
        SplitMix64::stream(seed, 0x5911 + c as u64).shuffle(&mut order);
        for &i in &order[..take] {
            to_test[i] = true;
        }
    }
    let (test, train): (Vec<usize>, Vec<usize>) = (0..labels.len()).partition(|&i| to_test[i]);
    Ok((train, test))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stratified_seeded_and_never_empty() {
        let names: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        let labels: Vec<u32> = [vec![0; 10], vec![1; 3], vec![2; 2]].concat();
        let (train, test) = stratified_split(&labels, &names, 0.2, 7).unwrap();
        let count = |v: &[usize], c| v.iter().filter(|&&i| labels[i] == c).count();
        assert_eq!([0, 1, 2].map(|c| count(&test, c)), [2, 1, 1]);
        assert_eq!([0, 1, 2].map(|c| count(&train, c)), [8, 2, 1]);
        assert_eq!(train.len() + test.len(), labels.len());
        assert_eq!(stratified_split(&labels, &names, 0.2, 7).unwrap().1, test);
        let other = (0..20)
            .map(|s| stratified_split(&labels, &names, 0.2, s).unwrap().1)
            .any(|t| t != test);
        assert!(other, "the seed changes the split");
        let e = stratified_split(&[0, 0, 1], &names[..2], 0.5, 0).unwrap_err();
        assert_eq!(
            e,
            FolderProblem::ClassTooSmall {
                class: "b".into(),
                images: 1
            }
        );
        for f in [0.0, 1.0, f64::NAN] {
            assert!(stratified_split(&labels, &names, f, 0).is_err());
        }
    }
}
