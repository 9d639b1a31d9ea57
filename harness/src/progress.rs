//! Per-epoch progress: an indicatif bar (loss, accuracy, ETA) on a terminal,
//! or one plain log line per epoch with `--quiet`.

use indicatif::{ProgressBar, ProgressStyle};

use crate::result::EpochRecord;

pub struct Progress {
    quiet: bool,
    epochs: u32,
    bar: Option<ProgressBar>,
}

impl Progress {
    pub fn new(quiet: bool, epochs: u32) -> Self {
        Self {
            quiet,
            epochs,
            bar: None,
        }
    }

    /// A plain log line (through the bar when one is drawn).
    pub fn log(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }

    pub fn start_epoch(&mut self, epoch: u32, steps: u64) {
        if self.quiet {
            return;
        }
        let bar = ProgressBar::new(steps);
        let style = ProgressStyle::with_template(
            "epoch {prefix} [{bar:30.cyan/blue}] {pos}/{len} {msg} [{elapsed_precise} < {eta_precise}]",
        )
        .expect("a valid template")
        .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix(format!("{epoch}/{}", self.epochs));
        self.bar = Some(bar);
    }

    /// After each step: running mean loss and accuracy of the epoch so far.
    pub fn step(&self, loss: f64, accuracy: f64) {
        if let Some(bar) = &self.bar {
            bar.set_message(format!("loss {loss:.4} acc {:.2}%", 100.0 * accuracy));
            bar.inc(1);
        }
    }

    pub fn finish_epoch(&mut self, record: &EpochRecord) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        let test = record
            .test_accuracy
            .map_or(String::new(), |a| format!(" test acc {:.2}%", 100.0 * a));
        eprintln!(
            "epoch {}/{}: loss {:.4} train acc {:.2}%{test} lr {:.3e} ({:.1} s: aug {:.2} s, model {:.2} s)",
            record.epoch,
            self.epochs,
            record.train_loss,
            100.0 * record.train_accuracy,
            record.lr,
            record.wall_s,
            record.augmentation_s,
            record.model_s,
        );
    }

    pub fn abandon(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.abandon();
        }
    }
}
