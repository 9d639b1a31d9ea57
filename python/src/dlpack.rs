//! Borrowing a Python array's memory through DLPack (`__dlpack__`, via the
//! dlpark crate): its address, device, element type and shape, checked
//! before anything is read or written. The import holds the producer's
//! reference to the storage until the view is dropped.

use std::ffi::c_void;

use dlpark::DlpackFlags;
use dlpark::ffi::{DLDataType, DLDataTypeCode, DLDevice, DLDeviceType};
use dlpark::python::{DlpackStream, ImportedDlpack, StreamArg, from_dlpack};
use pyo3::prelude::*;

use crate::backend::BindError;

/// Element types this crate reads or writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Elem {
    U8,
    I32,
    I64,
    F32,
    F16,
    Bf16,
    Other(u8, u8),
}

impl Elem {
    pub fn name(self) -> String {
        match self {
            Elem::U8 => "uint8".into(),
            Elem::I32 => "int32".into(),
            Elem::I64 => "int64".into(),
            Elem::F32 => "float32".into(),
            Elem::F16 => "float16".into(),
            Elem::Bf16 => "bfloat16".into(),
            Elem::Other(code, bits) => format!("DLPack type code {code} with {bits} bits"),
        }
    }

    fn of(dtype: DLDataType) -> Elem {
        if dtype.lanes != 1 {
            return Elem::Other(dtype.code.0, dtype.bits);
        }
        match (dtype.code, dtype.bits) {
            (DLDataTypeCode::UINT, 8) => Elem::U8,
            (DLDataTypeCode::INT, 32) => Elem::I32,
            (DLDataTypeCode::INT, 64) => Elem::I64,
            (DLDataTypeCode::FLOAT, 32) => Elem::F32,
            (DLDataTypeCode::FLOAT, 16) => Elem::F16,
            (DLDataTypeCode::BFLOAT, 16) => Elem::Bf16,
            (code, bits) => Elem::Other(code.0, bits),
        }
    }
}

/// Where the memory lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    Cpu,
    Cuda(i32),
    Other(u32),
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Place::Cpu => write!(f, "cpu"),
            Place::Cuda(i) => write!(f, "cuda:{i}"),
            Place::Other(t) => write!(f, "DLPack device type {t}"),
        }
    }
}

/// A checked, compact (row-major contiguous) view of an imported array.
pub struct View {
    /// Address of the first element (byte offset applied).
    pub address: usize,
    pub place: Place,
    pub elem: Elem,
    pub shape: Vec<i64>,
    pub len: usize,
    _import: ImportedDlpack,
}

/// The consumer stream for CUDA imports: the stream our kernels run on
/// (torch's current stream), so the producer orders its pending work on the
/// array before ours.
struct CudaStream(u64);

// SAFETY: the value is the caller's live CUDA stream (torch's current
// stream), valid for the `__dlpack__` call, passed per the CUDA convention.
unsafe impl DlpackStream for CudaStream {
    fn as_python_arg(&self, _py: Python<'_>, device: DLDevice) -> PyResult<StreamArg> {
        if device.device_type == DLDeviceType::CUDA {
            Ok(dlpark::python::consumer::stream::cuda(
                self.0 as *mut c_void,
            ))
        } else {
            Ok(dlpark::python::consumer::stream::none())
        }
    }

    unsafe fn wait_for_producer(&self, _device: DLDevice, producer: *mut c_void) -> PyResult<bool> {
        // Same stream: already ordered. Otherwise decline, and the importer
        // falls back to `__dlpack__(stream=…)`, where the producer orders it.
        Ok(producer as u64 == self.0)
    }
}

/// Whether `strides` (in elements; `None`: compact by the DLPack rule) lay
/// `shape` out row-major with no gaps. As torch's `is_contiguous`, the
/// stride of a dimension of size 1 is not looked at: it never moves the
/// address (numpy's `a[:, None]` and torch's `permute` give such dimensions
/// any stride).
fn row_major(shape: &[i64], strides: Option<&[i64]>) -> Result<bool, String> {
    if let Some((axis, &size)) = shape.iter().enumerate().find(|&(_, &s)| s < 0) {
        return Err(format!("dimension {axis} has negative size {size}"));
    }
    let Some(strides) = strides else {
        return Ok(true);
    };
    if strides.len() != shape.len() {
        return Err(format!(
            "{} strides for {} dimensions",
            strides.len(),
            shape.len()
        ));
    }
    if shape.contains(&0) {
        return Ok(true);
    }
    let mut expected: i128 = 1;
    for (&size, &stride) in shape.iter().zip(strides).rev() {
        if size != 1 && i128::from(stride) != expected {
            return Ok(false);
        }
        expected *= i128::from(size);
    }
    Ok(true)
}

/// Imports `object` (anything with `__dlpack__`, or a DLPack capsule).
/// `stream`: the CUDA stream the data will be used on, if any. `rank`: the
/// number of dimensions the caller needs, checked before the layout so that
/// a wrong shape is named as such.
pub fn import(
    object: &Bound<'_, PyAny>,
    what: &str,
    stream: Option<u64>,
    writable: bool,
    rank: Option<(usize, &str)>,
) -> Result<View, BindError> {
    if !object.hasattr("__dlpack__").unwrap_or(false)
        && object
            .get_type()
            .name()
            .map(|n| n.to_string())
            .unwrap_or_default()
            != "PyCapsule"
    {
        return Err(BindError::Type(format!(
            "{what} must be a torch tensor or another array with __dlpack__ (numpy, CuPy, JAX), got {}",
            type_name(object)
        )));
    }
    let stream_arg = stream.map(CudaStream);
    let imported = from_dlpack(
        object.as_borrowed(),
        stream_arg.as_ref().map(|s| s as &dyn DlpackStream),
        None,
    )
    .map_err(|e| BindError::Type(format!("{what}: DLPack import failed: {e}")))?;
    if writable && imported.flags().contains(DlpackFlags::READ_ONLY) {
        return Err(BindError::Type(format!("{what} is read-only")));
    }
    let tensor = imported
        .validate()
        .map_err(|e| BindError::Value(format!("{what}: invalid DLPack tensor: {e}")))?;
    let device = tensor.device();
    let place = match device.device_type {
        DLDeviceType::CPU => Place::Cpu,
        DLDeviceType::CUDA => Place::Cuda(device.device_id),
        other => Place::Other(other.0),
    };
    let elem = Elem::of(tensor.dtype());
    let shape = tensor.shape().to_vec();
    let len = tensor.num_elements();
    if let Some((want, layout)) = rank
        && shape.len() != want
    {
        return Err(BindError::Value(format!(
            "{what} must be {want}-D {layout}, got {}-D shape {shape:?}",
            shape.len()
        )));
    }
    let compact = row_major(&shape, tensor.strides())
        .map_err(|e| BindError::Value(format!("{what}: invalid DLPack strides: {e}")))?;
    if !compact && len > 1 {
        return Err(BindError::Type(format!(
            "{what} must be contiguous (row-major, no gaps); call .contiguous() first"
        )));
    }
    // SAFETY: only computes the address; nothing is read here.
    let address = unsafe { tensor.offset_bytes_ptr() }
        .map_err(|e| BindError::Value(format!("{what}: invalid DLPack data pointer: {e}")))?
        as usize;
    if address == 0 && len > 0 {
        return Err(BindError::Value(format!("{what} has no storage")));
    }
    Ok(View {
        address,
        place,
        elem,
        shape,
        len,
        _import: imported,
    })
}

fn type_name(object: &Bound<'_, PyAny>) -> String {
    object
        .get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "an unknown type".into())
}

impl View {
    /// Refuses a view whose element type is not `want`.
    pub fn expect_elem(&self, what: &str, want: &[Elem]) -> Result<(), BindError> {
        if want.contains(&self.elem) {
            return Ok(());
        }
        let names: Vec<String> = want.iter().map(|e| e.name()).collect();
        Err(BindError::Type(format!(
            "{what} must hold {}, got {}",
            names.join(" or "),
            self.elem.name()
        )))
    }

    /// Refuses a view whose shape is not `want`.
    pub fn expect_shape(&self, what: &str, want: &[i64]) -> Result<(), BindError> {
        if self.shape == want {
            return Ok(());
        }
        Err(BindError::Value(format!(
            "{what} has shape {:?} but the step needs {:?}",
            self.shape, want
        )))
    }

    /// Refuses a view that is not on `place`.
    pub fn expect_place(&self, what: &str, place: Place) -> Result<(), BindError> {
        if self.place == place {
            return Ok(());
        }
        Err(BindError::Value(format!(
            "{what} is on {} but this backend writes {place}",
            self.place
        )))
    }
}
