//! Checks every figure the report reads from a completed `result.json`
//! before it is used: accuracies and F1 within [0, 1], times finite and not
//! negative, a training run with steps, time and images. A result that fails
//! is left out of the report with the file and the field named (listed under
//! *Left out* and printed as a warning), so no "NaN %" and no trade-off drawn
//! from nonsense ever reaches the tables.

use crate::result::{Distribution, RunResult};

/// One figure that makes no sense.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("field `{field}` = {value}: expected {expected}")]
pub struct Invalid {
    /// JSON path of the field, e.g. `timing.train_wall_s` or `curves[3].test_accuracy`.
    pub field: String,
    pub value: String,
    pub expected: &'static str,
}

const FRACTION: &str = "a finite number within [0, 1]";
const SECONDS: &str = "a finite number of seconds ≥ 0";
const POSITIVE_SECONDS: &str = "a finite number of seconds > 0";

struct Checker(Vec<Invalid>);

impl Checker {
    fn fail(&mut self, field: impl Into<String>, value: impl ToString, expected: &'static str) {
        self.0.push(Invalid {
            field: field.into(),
            value: value.to_string(),
            expected,
        });
    }

    fn fraction(&mut self, field: impl Into<String>, v: f64) {
        if !(v.is_finite() && (0.0..=1.0).contains(&v)) {
            self.fail(field, v, FRACTION);
        }
    }

    fn seconds(&mut self, field: impl Into<String>, v: f64) {
        if !(v.is_finite() && v >= 0.0) {
            self.fail(field, v, SECONDS);
        }
    }

    fn positive_seconds(&mut self, field: impl Into<String>, v: f64) {
        if !(v.is_finite() && v > 0.0) {
            self.fail(field, v, POSITIVE_SECONDS);
        }
    }

    fn distribution(&mut self, field: &str, d: &Distribution) {
        for (name, v) in [
            ("total_s", d.total_s),
            ("mean_s", d.mean_s),
            ("median_s", d.median_s),
            ("p05_s", d.p05_s),
            ("p95_s", d.p95_s),
            ("min_s", d.min_s),
            ("max_s", d.max_s),
        ] {
            self.seconds(format!("{field}.{name}"), v);
        }
    }
}

/// Every problem with the figures of a completed result (empty: usable).
pub fn check(r: &RunResult) -> Vec<Invalid> {
    let mut c = Checker(Vec::new());
    match &r.test {
        None => c.fail("test", "null", "the test figures of a completed run"),
        Some(t) => {
            c.fraction("test.accuracy", t.figures.accuracy);
            c.fraction("test.macro_f1", t.figures.macro_f1);
            if t.figures.samples == 0 {
                c.fail("test.samples", 0, "at least 1 test image");
            }
        }
    }
    if r.data.train_used == 0 {
        c.fail("data.train_used", 0, "at least 1 training image");
    }
    let t = &r.timing;
    if t.steps == 0 {
        c.fail("timing.steps", 0, "at least 1 training step");
    }
    c.positive_seconds("timing.train_wall_s", t.train_wall_s);
    c.seconds("timing.total_wall_s", t.total_wall_s);
    c.seconds("timing.epoch_eval_s", t.epoch_eval_s);
    c.distribution("timing.augmentation", &t.augmentation);
    c.distribution("timing.model", &t.model);
    c.distribution("timing.step", &t.step);
    if t.step.total_s <= 0.0 {
        c.fail("timing.step.total_s", t.step.total_s, POSITIVE_SECONDS);
    }
    c.fraction("timing.augmentation_share", t.augmentation_share);
    let f = &t.fixed;
    for (name, v) in [
        ("data_load_s", f.data_load_s),
        ("dataset_upload_s", f.dataset_upload_s),
        ("backend_construction_s", f.backend_construction_s),
        ("model_construction_s", f.model_construction_s),
        ("test_set_upload_s", f.test_set_upload_s),
    ] {
        c.seconds(format!("timing.fixed.{name}"), v);
    }
    if let Some(v) = f.synthetic_fit_s {
        c.seconds("timing.fixed.synthetic_fit_s", v);
    }
    if let Some(g) = &f.generator {
        c.seconds("timing.fixed.generator.fit_s", g.fit_s);
        c.seconds("timing.fixed.generator.sample_s", g.sample_s);
    }
    if let Some(i) = &r.inference
        && !(i.samples_per_s.is_finite() && i.samples_per_s > 0.0)
    {
        c.fail(
            "inference.samples_per_s",
            i.samples_per_s,
            "a finite rate > 0",
        );
    }
    if r.curves.is_empty() {
        c.fail("curves", "[]", "one record per completed epoch");
    }
    let mut last_epoch = 0;
    for (k, e) in r.curves.iter().enumerate() {
        let at = |name: &str| format!("curves[{k}].{name}");
        if e.epoch <= last_epoch {
            c.fail(at("epoch"), e.epoch, "epochs numbered from 1, increasing");
        }
        last_epoch = e.epoch;
        if let Some(a) = e.test_accuracy {
            c.fraction(at("test_accuracy"), a);
        }
        c.fraction(at("train_accuracy"), e.train_accuracy);
        if !e.train_loss.is_finite() {
            c.fail(at("train_loss"), e.train_loss, "a finite loss");
        }
        c.seconds(at("wall_s"), e.wall_s);
        c.seconds(at("augmentation_s"), e.augmentation_s);
        c.seconds(at("model_s"), e.model_s);
    }
    c.0
}
