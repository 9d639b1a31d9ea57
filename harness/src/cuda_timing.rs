//! CUDA events on the legacy default stream (the one libtorch and augkit's
//! CUDA backend work on), marking the augmentation / model split of a
//! training step on a GPU by the device's own clock.

use cudarc::driver::result as cu;
use cudarc::driver::sys;

/// Three events: before the batch, after it, after the model's step.
pub struct StepEvents {
    events: [sys::CUevent; 3],
}

impl StepEvents {
    /// `None` without a CUDA driver or a current context (libtorch makes its
    /// device's primary context current once it has run CUDA work).
    pub fn new() -> Option<Self> {
        if !augkit::cuda::driver_present() {
            return None;
        }
        let flags = sys::CUevent_flags::CU_EVENT_DEFAULT;
        let a = cu::event::create(flags).ok()?;
        let b = cu::event::create(flags).ok()?;
        let c = cu::event::create(flags).ok()?;
        Some(Self { events: [a, b, c] })
    }

    /// Records mark `i` (0, 1 or 2) on the legacy default stream.
    pub fn record(&self, i: usize) {
        // SAFETY: a live event of the current context; the null stream is
        // the legacy default stream.
        let _ = unsafe { cu::event::record(self.events[i], std::ptr::null_mut()) };
    }

    /// Seconds from mark 0 to 1 and from 1 to 2, once mark 2 has completed.
    pub fn split(&self) -> Option<(f64, f64)> {
        // SAFETY: live events, recorded above; `synchronize` waits for the last.
        unsafe {
            cu::event::synchronize(self.events[2]).ok()?;
            let first = cu::event::elapsed(self.events[0], self.events[1]).ok()?;
            let second = cu::event::elapsed(self.events[1], self.events[2]).ok()?;
            Some((f64::from(first) * 1e-3, f64::from(second) * 1e-3))
        }
    }
}

impl Drop for StepEvents {
    fn drop(&mut self) {
        for e in self.events {
            // SAFETY: each event was created by `new` and is destroyed once.
            let _ = unsafe { cu::event::destroy(e) };
        }
    }
}
