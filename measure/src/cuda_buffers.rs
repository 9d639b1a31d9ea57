//! The raw device buffers a CUDA bench step writes (images and labels) and
//! the copy floor reads, allocated in one place and freed on drop: used by
//! `measure_cuda` (`augkit bench`) and `benches/cuda.rs`.

use augkit::cuda::DeviceOutputs;
use augkit::{DType, MixLabel};
use cudarc::driver::result as cu;

/// A step's outputs in device memory, plus a second images-sized buffer
/// the copy floor copies from.
pub struct StepBuffers {
    pub outputs: DeviceOutputs,
    /// The copy floor's source (as many bytes as the images).
    pub copy_src: u64,
    /// Bytes of the images buffer.
    pub image_bytes: usize,
}

fn driver(e: cu::DriverError) -> augkit::Error {
    augkit::Error::Device(format!("cuMemAlloc: {e:?}"))
}

impl StepBuffers {
    /// Buffers for `batch` samples of `elements_per_sample` elements of
    /// `dtype`.
    ///
    /// # Safety
    /// A CUDA context is current (constructing a `CudaBackend` makes its
    /// primary context current), and stays so until the buffers drop.
    pub unsafe fn new(
        batch: u32,
        elements_per_sample: usize,
        dtype: DType,
    ) -> Result<Self, augkit::Error> {
        let elements = batch as usize * elements_per_sample;
        let image_bytes = elements * dtype.size_bytes();
        let label_bytes = batch as usize * size_of::<MixLabel>();
        // SAFETY: per the caller, a context is current.
        let (images, labels, copy_src) = unsafe {
            let images = cu::malloc_sync(image_bytes).map_err(driver)?;
            let labels = cu::malloc_sync(label_bytes).map_err(|e| {
                let _ = cu::free_sync(images);
                driver(e)
            })?;
            let copy_src = cu::malloc_sync(image_bytes).map_err(|e| {
                let _ = cu::free_sync(images);
                let _ = cu::free_sync(labels);
                driver(e)
            })?;
            (images, labels, copy_src)
        };
        Ok(Self {
            outputs: DeviceOutputs {
                images,
                images_len: elements,
                dtype,
                labels,
                labels_len: batch as usize,
            },
            copy_src,
            image_bytes,
        })
    }

    /// Queues the copy floor on `stream`: the images' bytes copied device to
    /// device (bytes read + written = 2 × `image_bytes`).
    ///
    /// # Safety
    /// `stream` is 0 or a live `CUstream` of the current context.
    pub unsafe fn copy_floor(&self, stream: u64) -> Result<(), augkit::Error> {
        // SAFETY: two live allocations of `image_bytes` each; per the caller
        // for the stream.
        unsafe {
            cu::memcpy_dtod_async(
                self.outputs.images,
                self.copy_src,
                self.image_bytes,
                stream as cudarc::driver::sys::CUstream,
            )
        }
        .map_err(|e| augkit::Error::Device(format!("cuMemcpyDtoDAsync: {e:?}")))
    }
}

impl Drop for StepBuffers {
    fn drop(&mut self) {
        // SAFETY: the allocations are ours; the owner has synchronised the
        // stream that used them (dropping while a kernel still writes them
        // is the caller's error, as with any device free).
        unsafe {
            let _ = cu::free_sync(self.outputs.images);
            let _ = cu::free_sync(self.outputs.labels);
            let _ = cu::free_sync(self.copy_src);
        }
    }
}
