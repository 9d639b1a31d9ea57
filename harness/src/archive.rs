//! Named tensors to and from libtorch's archive format in memory, for the
//! checkpoint writer ([`crate::checkpoint`]) and the optimiser's state
//! ([`crate::optim`]): serialising in memory lets Rust write the file, so a
//! full disk is an error, not an abort inside libtorch's file writer.

use std::io::Write;
use std::sync::{Arc, Mutex};

use tch::Tensor;

/// Named tensors in libtorch's archive format (what `Tensor::save_multi`
/// writes to a file and `Tensor::load_multi` / `VarStore::load` read).
pub fn tensors_to_bytes(named: &[(String, Tensor)]) -> Result<Vec<u8>, tch::TchError> {
    let buffer = SharedBuffer::default();
    Tensor::save_multi_to_stream(named, buffer.clone())?;
    let bytes = std::mem::take(&mut *buffer.0.lock().unwrap_or_else(|e| e.into_inner()));
    Ok(bytes)
}

/// A `Write + 'static` into memory (tch boxes the stream it is given).
#[derive(Clone, Default)]
struct SharedBuffer(Arc<Mutex<Vec<u8>>>);

impl Write for SharedBuffer {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
