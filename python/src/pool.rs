//! Host memory for batches returned as new tensors. Each batch's block is
//! handed to torch as a DLPack capsule whose deleter gives the block back to
//! its engine's pool, so a later batch writes into it only after torch — and
//! every view, export or autograd graph that held the tensor — has let it go.
//! Why: a fresh 12 MB allocation per batch is fresh pages from the kernel
//! (glibc maps large blocks anew), and page-faulting them costs as much as
//! the step itself on 2 cores; a block from the pool is already mapped.

use std::alloc::Layout;
use std::ffi::c_void;
use std::ptr::NonNull;
use std::sync::{Arc, Mutex, MutexGuard};

use dlpark::ffi::{DLDataType, DLDevice, DLManagedTensor};
use dlpark::metadata::Dynamic;
use pyo3::prelude::*;

use crate::backend::BindError;

/// Cache-line alignment, as torch's own CPU allocator gives.
const ALIGN: usize = 64;

/// One heap block of `bytes` bytes, `ALIGN`-aligned.
struct Block {
    ptr: NonNull<u8>,
    bytes: usize,
}

// SAFETY: a plain heap allocation with a single owner at a time (the pool's
// list or one lease); nothing in it is tied to the allocating thread.
unsafe impl Send for Block {}

impl Block {
    fn new(bytes: usize) -> Result<Self, BindError> {
        let layout = Self::layout(bytes)?;
        // SAFETY: `layout` has a non-zero size (checked in `layout`).
        let ptr = unsafe { std::alloc::alloc(layout) };
        let ptr = NonNull::new(ptr).ok_or_else(|| {
            BindError::Runtime(format!("could not allocate {bytes} bytes for a batch"))
        })?;
        Ok(Self { ptr, bytes })
    }

    fn layout(bytes: usize) -> Result<Layout, BindError> {
        if bytes == 0 {
            return Err(BindError::Value(
                "a batch of zero bytes has no memory".into(),
            ));
        }
        Layout::from_size_align(bytes, ALIGN)
            .map_err(|_| BindError::Value(format!("a batch of {bytes} bytes is too large")))
    }
}

impl Drop for Block {
    fn drop(&mut self) {
        // SAFETY: allocated in `Block::new` with this very layout.
        unsafe {
            std::alloc::dealloc(
                self.ptr.as_ptr(),
                Layout::from_size_align_unchecked(self.bytes, ALIGN),
            )
        };
    }
}

/// An engine's free blocks: at most `keep` are held; the oldest goes first.
pub struct Pool {
    free: Mutex<Vec<Block>>,
    keep: usize,
}

impl Pool {
    pub fn new(keep: usize) -> Arc<Self> {
        Arc::new(Self {
            free: Mutex::new(Vec::new()),
            keep,
        })
    }

    /// A poisoned list is still a list of valid blocks: a panic elsewhere
    /// must not leak memory or stop the deleters.
    fn free(&self) -> MutexGuard<'_, Vec<Block>> {
        self.free.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A free block of exactly `bytes` if there is one, else a new one.
    pub fn take(self: &Arc<Self>, bytes: usize) -> Result<Lease, BindError> {
        let reused = {
            let mut free = self.free();
            let found = free.iter().rposition(|b| b.bytes == bytes);
            found.map(|i| free.remove(i))
        };
        let block = match reused {
            Some(block) => block,
            None => Block::new(bytes)?,
        };
        Ok(Lease {
            block: Some(block),
            pool: Arc::clone(self),
        })
    }

    fn give_back(&self, block: Block) {
        let mut free = self.free();
        if self.keep == 0 {
            return;
        }
        if free.len() >= self.keep {
            free.remove(0);
        }
        free.push(block);
    }

    /// Blocks held for reuse now.
    pub fn idle(&self) -> usize {
        self.free().len()
    }
}

/// A block lent to one batch; dropping it returns the block to its pool.
pub struct Lease {
    block: Option<Block>,
    pool: Arc<Pool>,
}

impl Lease {
    pub fn address(&self) -> usize {
        self.block.as_ref().map_or(0, |b| b.ptr.as_ptr() as usize)
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(block) = self.block.take() {
            self.pool.give_back(block);
        }
    }
}

/// Hands `lease` to Python as a legacy DLPack capsule of a compact CPU
/// array of `shape` and `dtype` (what `torch.from_dlpack` takes); the
/// capsule's consumer owns the lease from then on.
pub fn into_capsule<'py>(
    py: Python<'py>,
    lease: Lease,
    shape: &[i64],
    dtype: DLDataType,
) -> Result<Bound<'py, PyAny>, BindError> {
    let address = lease.address();
    let mut tensor = Dynamic::compact(shape.to_vec())
        .initialize_as::<DLManagedTensor>(Box::new(lease))
        .map_err(|e| BindError::Runtime(format!("DLPack export failed: {e}")))?;
    tensor
        .set_data(address as *mut c_void)
        .set_dtype(dtype)
        .set_device(DLDevice::CPU);
    // SAFETY: the data pointer is the lease's block, owned by the tensor's
    // context (the boxed lease) until its deleter runs; shape and compact
    // strides live in the managed allocation; the block holds exactly
    // `shape`'s elements of `dtype` (the caller sized it) and is writable.
    let managed = unsafe { tensor.finish() };
    managed
        .into_pyobject(py)
        .map_err(|e| BindError::Runtime(format!("DLPack export failed: {e}")))
}
