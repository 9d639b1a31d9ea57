//! CUDA events: GPU time between two points of a stream, by the device's
//! own clock. One RAII type for the bench (`augkit-measure`'s CUDA cells,
//! `benches/cuda.rs`) and the harness's training-step split.

use cudarc::driver::result as cu;
use cudarc::driver::sys;

use super::{driver_error, driver_present};
use crate::error::Error;

/// One CUDA event of the current context, destroyed on drop.
pub struct Event(sys::CUevent);

impl Event {
    /// Needs a current context (a backend's, or libtorch's once it ran CUDA
    /// work); without a driver it is [`Error::NoCudaDriver`], not a panic.
    pub fn new() -> Result<Self, Error> {
        if !driver_present() {
            return Err(Error::NoCudaDriver(
                "libcuda.so is not on the library path".into(),
            ));
        }
        cu::event::create(sys::CUevent_flags::CU_EVENT_DEFAULT)
            .map(Self)
            .map_err(|e| driver_error("cuEventCreate", e))
    }

    /// Records the event on `stream` (0: the legacy default stream).
    ///
    /// # Safety
    /// `stream` is 0 or a live `CUstream` of the event's context.
    pub unsafe fn record(&self, stream: u64) -> Result<(), Error> {
        // SAFETY: a live event; the stream per the contract.
        unsafe { cu::event::record(self.0, stream as sys::CUstream) }
            .map_err(|e| driver_error("cuEventRecord", e))
    }

    /// Seconds from `start` to this event, once this one has completed
    /// (waits for it).
    pub fn seconds_since(&self, start: &Event) -> Result<f64, Error> {
        // SAFETY: live events; `synchronize` waits for this one, which was
        // recorded after `start` on the same stream.
        unsafe {
            cu::event::synchronize(self.0).map_err(|e| driver_error("cuEventSynchronize", e))?;
            let ms = cu::event::elapsed(start.0, self.0)
                .map_err(|e| driver_error("cuEventElapsedTime", e))?;
            Ok(f64::from(ms) * 1e-3)
        }
    }
}

impl Drop for Event {
    fn drop(&mut self) {
        // SAFETY: created by `new`, destroyed once; a pending event is
        // released by the driver when it completes.
        let _ = unsafe { cu::event::destroy(self.0) };
    }
}

/// Seconds per call of `f`, over `iters` calls between two events on
/// `stream` (synchronised before the clock is read).
///
/// # Safety
/// `stream` is 0 or a live `CUstream` of the current context, and `f` only
/// queues work that is valid on it.
pub unsafe fn time_per_call(
    stream: u64,
    iters: u32,
    mut f: impl FnMut() -> Result<(), Error>,
) -> Result<f64, Error> {
    let (start, end) = (Event::new()?, Event::new()?);
    // SAFETY: per the contract.
    unsafe { start.record(stream)? };
    for _ in 0..iters {
        f()?;
    }
    // SAFETY: per the contract.
    unsafe { end.record(stream)? };
    Ok(end.seconds_since(&start)? / f64::from(iters.max(1)))
}
