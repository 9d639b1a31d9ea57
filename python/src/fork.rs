//! Surviving `fork()`: a forked child (every `DataLoader` worker under
//! Linux's default start method) inherits the engine's memory but not its
//! threads. The CPU backend's parallel loops therefore run in a rayon pool
//! of this process's own, built again in a child; a GPU backend (wgpu, CUDA)
//! cannot cross a fork at all, so its use in a child is a clear error, and
//! its handles are leaked there rather than torn down against threads that
//! do not exist.

use std::sync::{Arc, Mutex};

use rayon::{ThreadPool, ThreadPoolBuilder};

use crate::backend::BindError;

/// The id of the calling process (changes in a forked child).
pub fn pid() -> u32 {
    std::process::id()
}

/// This process's pool and the process it belongs to. A pool inherited
/// from a parent is leaked, never dropped: its threads are the parent's, and
/// its locks may have been held at the fork.
static POOL: Mutex<Option<(u32, Arc<ThreadPool>)>> = Mutex::new(None);

fn pool() -> Result<Arc<ThreadPool>, BindError> {
    let mut slot = POOL.lock().unwrap_or_else(|e| e.into_inner());
    let me = pid();
    match slot.take() {
        Some((owner, pool)) if owner == me => {
            *slot = Some((owner, Arc::clone(&pool)));
            return Ok(pool);
        }
        Some(inherited) => std::mem::forget(inherited),
        None => {}
    }
    // The default size follows RAYON_NUM_THREADS, else the cores, as
    // rayon's global pool would.
    let pool = ThreadPoolBuilder::new()
        .thread_name(|i| format!("augkit-cpu-{i}"))
        .build()
        .map_err(|e| BindError::Runtime(format!("could not start the CPU thread pool: {e}")))?;
    let pool = Arc::new(pool);
    *slot = Some((me, Arc::clone(&pool)));
    Ok(pool)
}

/// Runs `f` with this process's pool as rayon's current pool, so the
/// library's parallel loops never wait on a parent's threads.
pub fn in_pool<R: Send>(f: impl FnOnce() -> R + Send) -> Result<R, BindError> {
    Ok(pool()?.install(f))
}

/// The error for a GPU engine used in a process forked from the one that
/// opened it.
pub fn gpu_after_fork(kind: &str, opened_in: u32) -> BindError {
    BindError::Runtime(format!(
        "this Augmenter's {kind} backend was opened in process {opened_in} and this is a forked \
         child (pid {}): a GPU device does not survive fork(). Create the Augmenter in the worker \
         (a DataLoader's worker_init_fn, or the dataset's first __getitem__) with \
         DataLoader(..., multiprocessing_context=\"spawn\") (or \"forkserver\"), or use \
         backend=\"cpu\", which works in forked workers",
        pid()
    ))
}
