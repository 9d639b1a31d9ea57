//! The dataset normalisation helper: per-channel mean and standard deviation
//! (population) of a subset's u8 images in [0, 1] pixel units, summed in f64
//! in the same order as the harness's `channel_statistics`, so a Python run
//! normalises bit for bit as `augkit train` does. A zero deviation becomes 1.

pub fn channel_statistics(
    pixels: &[u8],
    channels: usize,
    plane: usize,
    subset: &[u32],
) -> (Vec<f32>, Vec<f32>) {
    let image_len = channels * plane;
    let mut sum = vec![0f64; channels];
    let mut sum_sq = vec![0f64; channels];
    for &i in subset {
        let image = &pixels[i as usize * image_len..(i as usize + 1) * image_len];
        for c in 0..channels {
            for &p in &image[c * plane..(c + 1) * plane] {
                let v = f64::from(p) / 255.0;
                sum[c] += v;
                sum_sq[c] += v * v;
            }
        }
    }
    let n = (subset.len() * plane).max(1) as f64;
    let mean: Vec<f64> = sum.iter().map(|s| s / n).collect();
    let std = sum_sq
        .iter()
        .zip(&mean)
        .map(|(sq, m)| {
            let sd = (sq / n - m * m).max(0.0).sqrt();
            if sd > 1e-6 { sd as f32 } else { 1.0 }
        })
        .collect();
    (mean.into_iter().map(|m| m as f32).collect(), std)
}
