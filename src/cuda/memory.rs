//! Device memory, in one place for its unsafe lifetimes: allocations freed
//! on drop (while the backend's context is current), the synthetic tables
//! and scratch the kernels read, and the checks on caller device pointers.

use std::ffi::c_void;

use cudarc::driver::result as cu;
use cudarc::driver::sys;

use super::driver_error;
use crate::error::Error;
use crate::kernel_args::{AUTO_OFF, KernelPolicy};
use crate::synthetic::SynthTables;

/// One device allocation, freed on drop (the context is current then: see
/// `CudaBackend::drop`).
pub(super) struct DeviceBuffer {
    pub(super) ptr: sys::CUdeviceptr,
    pub(super) bytes: usize,
}

impl DeviceBuffer {
    pub(super) fn alloc(what: &'static str, bytes: usize) -> Result<Self, Error> {
        // SAFETY: the backend's context is current (bound by the caller).
        let ptr = unsafe { cu::malloc_sync(bytes.max(4)) }.map_err(|e| match e.0 {
            sys::cudaError_enum::CUDA_ERROR_OUT_OF_MEMORY => Error::OutOfDeviceMemory {
                what,
                bytes: bytes as u64,
            },
            _ => driver_error("cuMemAlloc", e),
        })?;
        Ok(Self { ptr, bytes })
    }

    pub(super) fn upload<T>(what: &'static str, data: &[T]) -> Result<Self, Error> {
        let buffer = Self::alloc(what, size_of_val(data))?;
        if !data.is_empty() {
            // SAFETY: the buffer holds `size_of_val(data)` bytes; synchronous copy.
            unsafe { cu::memcpy_htod_sync(buffer.ptr, data) }
                .map_err(|e| driver_error("cuMemcpyHtoD", e))?;
        }
        Ok(buffer)
    }
}

impl Drop for DeviceBuffer {
    fn drop(&mut self) {
        if self.ptr == 0 {
            return;
        }
        // SAFETY: allocated by cuMemAlloc in the (current) context; freed once.
        let _ = unsafe { cu::free_sync(self.ptr) };
    }
}

/// The synthetic tables on the device (uploaded once).
pub(super) struct SynthBuffers {
    pub(super) present: DeviceBuffer,
    pub(super) offsets: DeviceBuffer,
    pub(super) members: DeviceBuffer,
    pub(super) means: DeviceBuffer,
    pub(super) basis: DeviceBuffer,
    pub(super) sigmas: DeviceBuffer,
    pub(super) class_gray: DeviceBuffer,
    pub(super) present_len: u32,
}

impl SynthBuffers {
    pub(super) fn upload(tables: &SynthTables) -> Result<Self, Error> {
        // The kernels index the model with u32 offsets.
        let largest = tables.basis.len().max(tables.means.len()) as u64;
        if largest > u64::from(u32::MAX) {
            return Err(Error::TooLarge {
                what: "the synthetic PCA model (classes × K × C·H·W floats, indexed in u32)",
                bytes: largest * 4,
                limit: u64::from(u32::MAX) * 4,
            });
        }
        Ok(Self {
            present: DeviceBuffer::upload("synthetic present classes", &tables.present_classes)?,
            offsets: DeviceBuffer::upload("synthetic class offsets", &tables.class_offsets)?,
            members: DeviceBuffer::upload("synthetic class members", &tables.class_members)?,
            means: DeviceBuffer::upload("synthetic class means", &tables.means)?,
            basis: DeviceBuffer::upload("synthetic basis", &tables.basis)?,
            sigmas: DeviceBuffer::upload("synthetic sigmas", &tables.sigmas)?,
            class_gray: DeviceBuffer::upload(
                "synthetic class gray means",
                &tables.class_gray_means,
            )?,
            present_len: tables.present_classes.len() as u32,
        })
    }
}

/// Bytes of one sample's auto-op statistics: `AutoStats` of abi.cuh
/// (two op slots of a mean, per-channel min/max and a 3 × 256-byte
/// Equalize LUT; checked against the kernel by tests/cuda-host).
pub const AUTO_STATS_BYTES: usize = 1600;

/// The per-step auto-op statistics scratch, `capacity` samples (4 bytes
/// when the policy has no auto ops: the kernels never read it then).
pub(super) fn stats_buffer(auto_on: bool, capacity: u32) -> Result<DeviceBuffer, Error> {
    let bytes = if auto_on {
        AUTO_STATS_BYTES * capacity as usize
    } else {
        4
    };
    DeviceBuffer::alloc("auto-op statistics", bytes)
}

/// The per-step first-stage images of the auto ops (f32 × C·H·W per
/// sample), only when the policy runs two auto ops per sample.
pub(super) fn stage_buffer(k: &KernelPolicy, capacity: u32) -> Result<Option<DeviceBuffer>, Error> {
    if k.auto_mode == AUTO_OFF || k.auto_num_ops < 2 {
        return Ok(None);
    }
    let elements = k.channels as usize * k.height as usize * k.width as usize;
    DeviceBuffer::alloc("auto-op first stage", elements * capacity as usize * 4).map(Some)
}

/// The per-step B × K coefficient scratch (zeroed once).
pub(super) fn coefficient_buffer(components: u32, capacity: u32) -> Result<DeviceBuffer, Error> {
    let n = components as usize * capacity as usize;
    DeviceBuffer::upload("synthetic coefficients", &vec![0f32; n])
}

/// Checks that `[ptr, ptr + bytes)` is device memory of device
/// `ordinal` (the backend's context is current).
pub(super) fn check_pointer(
    ordinal: usize,
    what: &'static str,
    ptr: u64,
    bytes: usize,
    align: u64,
) -> Result<(), Error> {
    let backend_ordinal = ordinal;
    let bad = |reason: String| Error::DevicePointer { what, ptr, reason };
    if ptr == 0 {
        return Err(bad("null".into()));
    }
    if !ptr.is_multiple_of(align) {
        return Err(bad(format!("not aligned to {align} bytes")));
    }
    let attribute = |attr: sys::CUpointer_attribute, out: *mut c_void| {
        // SAFETY: `out` points to storage of the attribute's type.
        unsafe { sys::cuPointerGetAttribute(out, attr, ptr) }.result()
    };
    let mut memory_type: u32 = 0;
    attribute(
        sys::CUpointer_attribute::CU_POINTER_ATTRIBUTE_MEMORY_TYPE,
        (&mut memory_type as *mut u32).cast(),
    )
    .map_err(|e| {
        bad(format!(
            "not a CUDA allocation ({})",
            driver_error("cuPointerGetAttribute", e)
        ))
    })?;
    if memory_type != sys::CUmemorytype::CU_MEMORYTYPE_DEVICE as u32
        && memory_type != sys::CUmemorytype::CU_MEMORYTYPE_UNIFIED as u32
    {
        return Err(bad(format!(
            "memory type {memory_type} is not device memory"
        )));
    }
    let mut ordinal: i32 = -1;
    if attribute(
        sys::CUpointer_attribute::CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL,
        (&mut ordinal as *mut i32).cast(),
    )
    .is_ok()
        && ordinal >= 0
        && ordinal as usize != backend_ordinal
    {
        return Err(bad(format!(
            "belongs to device {ordinal}, the backend runs on device {backend_ordinal}"
        )));
    }
    let (mut start, mut size): (u64, usize) = (0, 0);
    if attribute(
        sys::CUpointer_attribute::CU_POINTER_ATTRIBUTE_RANGE_START_ADDR,
        (&mut start as *mut u64).cast(),
    )
    .is_ok()
        && attribute(
            sys::CUpointer_attribute::CU_POINTER_ATTRIBUTE_RANGE_SIZE,
            (&mut size as *mut usize).cast(),
        )
        .is_ok()
        && ptr + bytes as u64 > start + size as u64
    {
        return Err(bad(format!(
            "{bytes} bytes from it overrun its allocation [{start:#x}, +{size})"
        )));
    }
    Ok(())
}
