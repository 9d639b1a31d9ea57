//! `summary.csv`: one line per row of the summary, every number at full
//! precision (`summary.json` is the summary itself, serialised).

use std::fmt::Write as _;

use super::summary::Summary;
use super::worth::Place;

/// Column headers of `summary.csv`.
pub const CSV_HEADER: &str = "dataset,train_limit,train_images,technique,runs,seeds,\
accuracy_mean,accuracy_std,accuracy_ci95_low,accuracy_ci95_high,accuracy_change,\
paired_test,paired_seeds,paired_mean_difference,paired_ci95_low,paired_ci95_high,paired_t,\
paired_p_value,paired_p_holm,verdict,real_image_multiple,real_image_equivalent,real_image_interval,macro_f1_mean,macro_f1_std,macro_f1_change,augmentation_cost_s_mean,\
fixed_cost_s_mean,added_cost_pct,accuracy_at_baseline_compute_mean,\
epoch_at_baseline_compute,converged,not_converged_seeds,train_time_s_mean,\
train_time_s_std,added_train_time_pct,augmentation_per_step_s_mean,\
augmentation_per_step_s_std,augmentation_share_of_step_mean,model_per_step_s_mean,\
model_per_step_s_std,peak_host_rss_bytes,peak_device_bytes,inference_samples_per_s_mean,\
inference_samples_per_s_std,backends,pareto";

/// `summary.csv` (fields never hold commas: lists are space-separated).
pub fn csv(summary: &Summary) -> String {
    let opt = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    let optu = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_default();
    let join = |v: &[u64]| v.iter().map(u64::to_string).collect::<Vec<_>>().join(" ");
    let mut s = String::from(CSV_HEADER);
    s.push('\n');
    for r in &summary.rows {
        let p = r.paired.as_ref();
        let fields: Vec<String> = vec![
            r.dataset.clone(),
            r.train_limit.clone(),
            r.train_images.mean.to_string(),
            r.technique.clone(),
            r.seeds.len().to_string(),
            join(&r.seeds),
            r.accuracy.mean.to_string(),
            r.accuracy.std.to_string(),
            opt(r.accuracy_ci95.map(|c| c[0])),
            opt(r.accuracy_ci95.map(|c| c[1])),
            opt(r.accuracy_change),
            p.map(|p| p.test.clone()).unwrap_or_default(),
            p.map(|p| join(&p.seeds)).unwrap_or_default(),
            opt(p.map(|p| p.mean_difference)),
            opt(p.map(|p| p.ci95[0])),
            opt(p.map(|p| p.ci95[1])),
            opt(p.map(|p| p.t)),
            opt(p.map(|p| p.p_value)),
            opt(p.map(|p| p.p_adjusted)),
            serde_json::to_value(r.verdict)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            opt(r
                .real_image_equivalent
                .as_ref()
                .and_then(|e| match e.estimate {
                    Place::At(images) => Some(images / e.own_images),
                    _ => None,
                })),
            r.real_image_equivalent
                .as_ref()
                .map(|e| e.text.clone())
                .unwrap_or_default(),
            r.real_image_equivalent
                .as_ref()
                .and_then(|e| e.interval_text.clone())
                .unwrap_or_default(),
            r.macro_f1.mean.to_string(),
            r.macro_f1.std.to_string(),
            opt(r.macro_f1_change),
            r.augmentation_cost_s.mean.to_string(),
            r.fixed_cost_s.mean.to_string(),
            opt(r.added_cost_pct),
            opt(r.accuracy_at_baseline_compute.map(|s| s.mean)),
            optu(r.epoch_at_baseline_compute.map(u64::from)),
            r.converged.map(|c| c.to_string()).unwrap_or_default(),
            join(&r.not_converged_seeds),
            r.train_time_s.mean.to_string(),
            r.train_time_s.std.to_string(),
            opt(r.added_train_time_pct),
            r.augmentation_per_step_s.mean.to_string(),
            r.augmentation_per_step_s.std.to_string(),
            r.augmentation_share_of_step.mean.to_string(),
            r.model_per_step_s.mean.to_string(),
            r.model_per_step_s.std.to_string(),
            optu(r.peak_host_rss_bytes),
            optu(r.peak_device_bytes),
            r.inference_samples_per_s.mean.to_string(),
            r.inference_samples_per_s.std.to_string(),
            r.backends.join(" "),
            r.pareto.to_string(),
        ];
        let _ = writeln!(s, "{}", fields.join(","));
    }
    s
}
