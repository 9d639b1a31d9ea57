//! CUDA events on the legacy default stream (the one libtorch and augkit's
//! CUDA backend work on), marking the augmentation / model split of a
//! training step on a GPU by the device's own clock
//! ([`augkit::cuda::events::Event`]).

use augkit::cuda::events::Event;

/// Three events: before the batch, after it, after the model's step.
pub struct StepEvents {
    events: [Event; 3],
}

impl StepEvents {
    /// `None` without a CUDA driver or a current context (libtorch makes its
    /// device's primary context current once it has run CUDA work).
    pub fn new() -> Option<Self> {
        let events = [Event::new().ok()?, Event::new().ok()?, Event::new().ok()?];
        Some(Self { events })
    }

    /// Records mark `i` (0, 1 or 2) on the legacy default stream.
    pub fn record(&self, i: usize) {
        // SAFETY: stream 0 is the legacy default stream of the current context.
        let _ = unsafe { self.events[i].record(0) };
    }

    /// Seconds from mark 0 to 1 and from 1 to 2, once mark 2 has completed.
    pub fn split(&self) -> Option<(f64, f64)> {
        let [a, b, c] = &self.events;
        let second = c.seconds_since(b).ok()?;
        let first = b.seconds_since(a).ok()?;
        Some((first, second))
    }
}
