//! `augkit._native`: the extension module under the `augkit` Python package.
//! It only converts types — DLPack arrays in, checked raw memory out, and a
//! host batch's own memory out as a DLPack capsule (`pool.rs`) — and maps
//! the library's errors to Python exceptions (`ValueError`, `TypeError`,
//! `RuntimeError`); the sampling, sharding and tensor plumbing live in
//! `python/augkit/__init__.py`, every augkit call in `backend.rs`, the
//! user-data reader (`augkit-data`) in `images.rs`.

mod backend;
mod dlpack;
mod fork;
mod images;
mod pool;

use std::mem::ManuallyDrop;
use std::sync::{Arc, Mutex};

use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use backend::{BindError, Choice, HostOut, OutDType, PolicySource, StepSpec};
use dlpack::{Elem, Place, View};

/// Freed batches an engine keeps for reuse: two cover a training loop that
/// holds one batch while the next is made.
const IDLE_BLOCKS: usize = 2;

const POISONED: &str = "a previous step panicked; open a new Augmenter";

fn lock(m: &Mutex<backend::Engine>) -> PyResult<std::sync::MutexGuard<'_, backend::Engine>> {
    m.lock().map_err(|_| PyRuntimeError::new_err(POISONED))
}

fn py_err(e: BindError) -> PyErr {
    match e {
        BindError::Value(m) => PyValueError::new_err(m),
        BindError::Type(m) => PyTypeError::new_err(m),
        BindError::Runtime(m) => PyRuntimeError::new_err(m),
    }
}

fn dtype_name(d: OutDType) -> &'static str {
    match d {
        OutDType::F32 => "float32",
        OutDType::F16 => "float16",
        OutDType::Bf16 => "bfloat16",
    }
}

fn out_elem(d: OutDType) -> Elem {
    match d {
        OutDType::F32 => Elem::F32,
        OutDType::F16 => Elem::F16,
        OutDType::Bf16 => Elem::Bf16,
    }
}

fn out_bytes(d: OutDType) -> usize {
    match d {
        OutDType::F32 => 4,
        OutDType::F16 | OutDType::Bf16 => 2,
    }
}

fn dl_dtype(d: OutDType) -> dlpark::ffi::DLDataType {
    use dlpark::ffi::DLDataType;
    match d {
        OutDType::F32 => DLDataType::F32,
        OutDType::F16 => DLDataType::F16,
        OutDType::Bf16 => DLDataType::BF16,
    }
}

/// Reads a 1-D integer array (labels, subset indices) as u32.
fn read_indices(object: &Bound<'_, PyAny>, what: &str) -> Result<Vec<u32>, BindError> {
    let view = dlpack::import(object, what, None, false, Some((1, "integers")))?;
    view.expect_elem(what, &[Elem::I64, Elem::I32, Elem::U8])?;
    view.expect_place(what, Place::Cpu)?;
    if view.shape.len() != 1 {
        return Err(BindError::Value(format!(
            "{what} must be 1-D, got shape {:?}",
            view.shape
        )));
    }
    let n = view.len;
    let bad = |i: usize, v: i64| BindError::Value(format!("{what}[{i}] = {v} is not in 0..2^32"));
    // SAFETY: `view` is a compact CPU array of `n` elements of the checked
    // type, kept alive (and not written by us) while the slice is read.
    unsafe {
        match view.elem {
            Elem::U8 => Ok(std::slice::from_raw_parts(view.address as *const u8, n)
                .iter()
                .map(|&v| u32::from(v))
                .collect()),
            Elem::I32 => std::slice::from_raw_parts(view.address as *const i32, n)
                .iter()
                .enumerate()
                .map(|(i, &v)| u32::try_from(v).map_err(|_| bad(i, i64::from(v))))
                .collect(),
            _ => std::slice::from_raw_parts(view.address as *const i64, n)
                .iter()
                .enumerate()
                .map(|(i, &v)| u32::try_from(v).map_err(|_| bad(i, v)))
                .collect(),
        }
    }
}

/// A uint8 [N, C, H, W] CPU array: its dims and a copy of its bytes (empty
/// when N is 0: the library refuses an empty set with its own error).
fn read_images(object: &Bound<'_, PyAny>, what: &str) -> Result<([i64; 4], Vec<u8>), BindError> {
    let view = dlpack::import(object, what, None, false, Some((4, "[N, C, H, W]")))?;
    view.expect_elem(what, &[Elem::U8])?;
    view.expect_place(what, Place::Cpu)?;
    let dims = match view.shape.as_slice() {
        &[n, c, h, w] => [n, c, h, w],
        other => {
            return Err(BindError::Value(format!(
                "{what} must be uint8 [N, C, H, W], got shape {other:?}"
            )));
        }
    };
    let pixels = if view.len == 0 {
        Vec::new()
    } else {
        // SAFETY: a compact CPU u8 array of `len` elements, kept alive by
        // `view` while it is copied (the one copy of the images).
        unsafe { std::slice::from_raw_parts(view.address as *const u8, view.len) }.to_vec()
    };
    Ok((dims, pixels))
}

/// An open backend with the dataset uploaded; one call per step.
#[pyclass(module = "augkit._native", name = "Engine")]
struct Engine {
    /// Dropped by hand: a GPU backend is leaked in a forked child (see
    /// `fork.rs`).
    inner: ManuallyDrop<Mutex<backend::Engine>>,
    meta: backend::Meta,
    /// Host memory for `run_new`'s batches, reused once torch frees them.
    pool: Arc<pool::Pool>,
    /// The process that opened the backend.
    opened_in: u32,
}

impl Drop for Engine {
    fn drop(&mut self) {
        if self.meta.kind == "cpu" || fork::pid() == self.opened_in {
            // SAFETY: dropped once, here; never used after.
            unsafe { ManuallyDrop::drop(&mut self.inner) };
        }
        // Else a GPU backend in a forked child: its device threads are the
        // parent's, and tearing it down could wait on them for ever.
    }
}

#[pymethods]
impl Engine {
    #[new]
    #[pyo3(signature = (policy_source, policy_text, images, labels, num_classes, seed, backend, cuda_device=None, subset=None, normalise=true, pool_images=None, pool_labels=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        policy_source: &str,
        policy_text: &str,
        images: &Bound<'_, PyAny>,
        labels: &Bound<'_, PyAny>,
        num_classes: u32,
        seed: u64,
        backend: &str,
        cuda_device: Option<usize>,
        subset: Option<&Bound<'_, PyAny>>,
        normalise: bool,
        pool_images: Option<&Bound<'_, PyAny>>,
        pool_labels: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let source = match policy_source {
            "toml" => PolicySource::Toml,
            "json" => PolicySource::Json,
            "file" => PolicySource::File,
            other => {
                return Err(PyValueError::new_err(format!(
                    "unknown policy source {other:?}"
                )));
            }
        };
        let choice = match backend {
            "auto" => Choice::Auto,
            "cpu" => Choice::Cpu,
            "wgpu" => Choice::Wgpu,
            "cuda" => Choice::Cuda,
            other => {
                return Err(PyValueError::new_err(format!(
                    "backend must be \"auto\", \"cpu\", \"wgpu\" or \"cuda\", got {other:?}"
                )));
            }
        };
        let policy = backend::parse_policy(source, policy_text).map_err(py_err)?;
        let (dims, pixels) = read_images(images, "images").map_err(py_err)?;
        let to_u32 = |v: i64, what: &str| {
            u32::try_from(v)
                .map_err(|_| PyValueError::new_err(format!("images: {what} = {v} is too large")))
        };
        let shape = (
            to_u32(dims[1], "C")?,
            to_u32(dims[2], "H")?,
            to_u32(dims[3], "W")?,
        );
        let labels = read_indices(labels, "labels").map_err(py_err)?;
        if labels.len() as i64 != dims[0] {
            return Err(PyValueError::new_err(format!(
                "{} labels for {} images",
                labels.len(),
                dims[0]
            )));
        }
        let pool = match (pool_images, pool_labels) {
            (None, None) => None,
            (Some(images), Some(labels)) => {
                let (pool_dims, pool_pixels) =
                    read_images(images, "synthetic_pool images").map_err(py_err)?;
                if pool_dims[1..] != dims[1..] {
                    return Err(PyValueError::new_err(format!(
                        "synthetic_pool images are [N, C, H, W] = {pool_dims:?} but the data set's \
                         images are {dims:?}: the pool must have the same channels, height and width"
                    )));
                }
                let pool_labels = read_indices(labels, "synthetic_pool labels").map_err(py_err)?;
                if pool_labels.len() as i64 != pool_dims[0] {
                    return Err(PyValueError::new_err(format!(
                        "synthetic_pool has {} labels for {} images",
                        pool_labels.len(),
                        pool_dims[0]
                    )));
                }
                Some((pool_pixels, pool_labels))
            }
            _ => {
                return Err(PyValueError::new_err(
                    "a synthetic pool needs both its images and its labels",
                ));
            }
        };
        let subset = subset
            .map(|s| read_indices(s, "subset"))
            .transpose()
            .map_err(py_err)?;
        let request = backend::Request {
            policy,
            seed,
            shape,
            pixels,
            labels,
            num_classes,
            subset,
            choice,
            cuda_device,
            normalise,
            pool,
        };
        let (engine, meta) = backend::open(request).map_err(py_err)?;
        Ok(Self {
            inner: ManuallyDrop::new(Mutex::new(engine)),
            meta,
            pool: pool::Pool::new(IDLE_BLOCKS),
            opened_in: fork::pid(),
        })
    }

    /// Samples per epoch (the subset's length).
    #[getter]
    fn epoch_len(&self) -> u32 {
        self.meta.epoch_len
    }

    /// (C, H, W) of one image.
    #[getter]
    fn image_shape(&self) -> (u32, u32, u32) {
        self.meta.shape
    }

    /// The output dtype's torch name: "float32", "float16" or "bfloat16".
    #[getter]
    fn dtype(&self) -> &'static str {
        dtype_name(self.meta.dtype)
    }

    /// "nchw" or "nhwc".
    #[getter]
    fn layout(&self) -> &'static str {
        if self.meta.nhwc { "nhwc" } else { "nchw" }
    }

    /// "cpu", "wgpu" or "cuda".
    #[getter]
    fn kind(&self) -> &'static str {
        self.meta.kind
    }

    #[getter]
    fn device(&self) -> String {
        self.meta.device.clone()
    }

    #[getter]
    fn note(&self) -> String {
        self.meta.note.clone()
    }

    #[getter]
    fn policy_toml(&self) -> String {
        self.meta.policy_toml.clone()
    }

    /// (mean, std) per channel, as the output stage uses them.
    #[getter]
    fn normalisation(&self) -> (Vec<f32>, Vec<f32>) {
        (self.meta.mean.clone(), self.meta.std.clone())
    }

    #[getter]
    fn label_smoothing(&self) -> f32 {
        self.meta.label_smoothing
    }

    /// Runs one step, writing `images` (the policy's dtype and layout,
    /// [B, C, H, W] or [B, H, W, C]) and `labels` (int32 [B, 3]: label_a,
    /// label_b, λ's f32 bits) in place. `stream`: the CUDA stream to launch
    /// on (torch's current stream) for the CUDA backend. Returns the address
    /// the images were written at and the stream used (None on the host).
    #[pyo3(signature = (epoch, first_position, batch_size, images, labels, stream=None))]
    #[allow(clippy::too_many_arguments)]
    fn run(
        &self,
        py: Python<'_>,
        epoch: u32,
        first_position: u32,
        batch_size: u32,
        images: &Bound<'_, PyAny>,
        labels: &Bound<'_, PyAny>,
        stream: Option<u64>,
    ) -> PyResult<(u64, Option<u64>)> {
        let step = StepSpec {
            epoch,
            first_position,
            batch_size,
        };
        let writes_device = self.meta.kind == "cuda";
        let dims = self.dims(batch_size);
        let device_stream = if writes_device {
            Some(stream.unwrap_or(0))
        } else {
            None
        };
        self.check_process()?;
        let out = dlpack::import(images, "out", device_stream, true, None).map_err(py_err)?;
        out.expect_elem("out", &[out_elem(self.meta.dtype)])
            .map_err(py_err)?;
        out.expect_shape("out", &dims).map_err(py_err)?;
        let raw = self.import_labels(labels, batch_size, device_stream)?;
        if writes_device {
            let Place::Cuda(index) = out.place else {
                return Err(PyValueError::new_err(format!(
                    "out is on {} but the CUDA backend writes CUDA tensors",
                    out.place
                )));
            };
            raw.expect_place("labels", Place::Cuda(index))
                .map_err(py_err)?;
            let dtype = self.meta.dtype;
            let stream = stream.unwrap_or(0);
            // The GIL stays held: the launches are asynchronous, and torch
            // orders its own work on the stream.
            let mut engine = lock(&self.inner)?;
            // SAFETY: both views are compact CUDA arrays of the checked sizes,
            // kept alive by `out` and `raw` until this returns; torch's caching
            // allocator does not reuse their memory before work queued on
            // `stream` (torch's current stream, which produced them) runs.
            unsafe {
                engine.run_device(
                    step,
                    out.address as u64,
                    out.len,
                    dtype,
                    raw.address as u64,
                    stream,
                )
            }
            .map_err(py_err)?;
            Ok((out.address as u64, Some(stream)))
        } else {
            out.expect_place("out", Place::Cpu).map_err(py_err)?;
            raw.expect_place("labels", Place::Cpu).map_err(py_err)?;
            check_aligned(&out).map_err(py_err)?;
            check_aligned(&raw).map_err(py_err)?;
            // SAFETY: both views are compact, aligned CPU arrays of the
            // checked dtypes and shapes, alive until this returns.
            unsafe { self.run_host_at(py, step, out.address, out.len, raw.address) }
                .map_err(py_err)?;
            Ok((out.address as u64, None))
        }
    }

    /// Runs one step of a host backend (CPU, wgpu) into memory of its own:
    /// returns a DLPack capsule of the images (the policy's dtype, [B, C, H,
    /// W] or [B, H, W, C]) and the address written; `labels` as in `run`.
    /// The memory comes from the engine's pool and goes back to it when the
    /// capsule's consumer frees the array — never sooner — so a returned
    /// tensor is never written again.
    fn run_new<'py>(
        &self,
        py: Python<'py>,
        epoch: u32,
        first_position: u32,
        batch_size: u32,
        labels: &Bound<'py, PyAny>,
    ) -> PyResult<(Bound<'py, PyAny>, u64)> {
        self.check_process()?;
        if self.meta.kind == "cuda" {
            return Err(PyValueError::new_err(
                "the CUDA backend writes CUDA tensors: pass out= a CUDA tensor",
            ));
        }
        let step = StepSpec {
            epoch,
            first_position,
            batch_size,
        };
        let dims = self.dims(batch_size);
        let elements = dims.iter().product::<i64>() as usize;
        let end = u64::from(first_position) + u64::from(batch_size);
        if elements == 0 || end > u64::from(self.meta.epoch_len) {
            // The library refuses the step (zero batch, or past the epoch's
            // end): its error, as `run`, before any memory is taken or the
            // labels (sized by the step) are looked at.
            // SAFETY: nothing is written for an empty step (see run_host_at).
            unsafe { self.run_host_at(py, step, 0, 0, 0) }.map_err(py_err)?;
            return Err(PyValueError::new_err("the step has no images"));
        }
        let raw = self.import_labels(labels, batch_size, None)?;
        raw.expect_place("labels", Place::Cpu).map_err(py_err)?;
        check_aligned(&raw).map_err(py_err)?;
        let bytes = elements * out_bytes(self.meta.dtype);
        let lease = self.pool.take(bytes).map_err(py_err)?;
        let address = lease.address();
        // SAFETY: the lease's block holds `elements` values of the policy's
        // dtype, aligned, and is ours alone until the capsule hands it on;
        // `raw` is a checked compact, aligned CPU int32 [B, 3] array.
        unsafe { self.run_host_at(py, step, address, elements, raw.address) }.map_err(py_err)?;
        drop(raw);
        let capsule =
            pool::into_capsule(py, lease, &dims, dl_dtype(self.meta.dtype)).map_err(py_err)?;
        Ok((capsule, address as u64))
    }

    /// Blocks of host memory the engine holds for reuse (returned batches
    /// that were freed), for tests.
    #[getter]
    fn idle_blocks(&self) -> usize {
        self.pool.idle()
    }

    /// The step's per-sample parameters: raw little-endian 4-byte words,
    /// `param_words` per sample (fields in `param_fields`).
    fn params<'py>(
        &self,
        py: Python<'py>,
        epoch: u32,
        first_position: u32,
        batch_size: u32,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let step = StepSpec {
            epoch,
            first_position,
            batch_size,
        };
        self.check_process()?;
        let mut engine = lock(&self.inner)?;
        let engine: &mut backend::Engine = &mut engine;
        let words = fork::in_pool(move || engine.params(step))
            .and_then(|r| r)
            .map_err(py_err)?;
        Ok(PyBytes::new(py, bytemuck::cast_slice(&words)))
    }
}

impl Engine {
    /// Refuses a GPU backend in a process forked from the one that opened
    /// it; the CPU backend runs there in a thread pool of the child's own.
    fn check_process(&self) -> PyResult<()> {
        if self.meta.kind != "cpu" && fork::pid() != self.opened_in {
            return Err(py_err(fork::gpu_after_fork(self.meta.kind, self.opened_in)));
        }
        Ok(())
    }

    /// The images' array shape for `batch_size` samples, in the policy's layout.
    fn dims(&self, batch_size: u32) -> [i64; 4] {
        let (c, h, w) = self.meta.shape;
        let (b, c, h, w) = (
            i64::from(batch_size),
            i64::from(c),
            i64::from(h),
            i64::from(w),
        );
        if self.meta.nhwc {
            [b, h, w, c]
        } else {
            [b, c, h, w]
        }
    }

    /// The step's label array (int32 [B, 3]), checked.
    fn import_labels(
        &self,
        labels: &Bound<'_, PyAny>,
        batch_size: u32,
        stream: Option<u64>,
    ) -> PyResult<View> {
        let raw = dlpack::import(labels, "labels", stream, true, None).map_err(py_err)?;
        raw.expect_elem("labels", &[Elem::I32]).map_err(py_err)?;
        raw.expect_shape("labels", &[i64::from(batch_size), 3])
            .map_err(py_err)?;
        Ok(raw)
    }

    /// Runs a host backend's step into `images_len` elements of the policy's
    /// dtype at `images_at` and `step.batch_size` label rows at `labels_at`.
    ///
    /// # Safety
    /// Unless `images_len` is 0 (then nothing is written or read), both are
    /// aligned host memory of exactly those sizes, alive for the call and
    /// written by nothing else in this process meanwhile.
    unsafe fn run_host_at(
        &self,
        py: Python<'_>,
        step: StepSpec,
        images_at: usize,
        images_len: usize,
        labels_at: usize,
    ) -> Result<(), BindError> {
        let rows = step.batch_size as usize;
        let dtype = self.meta.dtype;
        let inner = &self.inner;
        // The kernels run without the GIL: other Python threads (a
        // training loop's data-loader workers, say) keep running.
        // The mutex is taken and released inside, without the GIL: a
        // thread blocked on it while holding the GIL would deadlock.
        py.detach(move || {
            let mut engine = inner
                .lock()
                .map_err(|_| BindError::Runtime(POISONED.into()))?;
            if images_len == 0 || rows == 0 {
                // Nothing to write (the library refuses the step); an
                // empty array's address may be dangling, so not used.
                return engine.run_host(step, HostOut::F32(&mut []), &mut []);
            }
            // SAFETY: the caller's contract (see above).
            let (images, labels) = unsafe {
                let images = match dtype {
                    OutDType::F32 => HostOut::F32(std::slice::from_raw_parts_mut(
                        images_at as *mut f32,
                        images_len,
                    )),
                    OutDType::F16 => HostOut::F16(std::slice::from_raw_parts_mut(
                        images_at as *mut half::f16,
                        images_len,
                    )),
                    OutDType::Bf16 => HostOut::Bf16(std::slice::from_raw_parts_mut(
                        images_at as *mut half::bf16,
                        images_len,
                    )),
                };
                let labels = std::slice::from_raw_parts_mut(labels_at as *mut [u32; 3], rows);
                (images, labels)
            };
            let engine: &mut backend::Engine = &mut engine;
            fork::in_pool(move || engine.run_host(step, images, labels))?
        })
    }
}

/// Refuses a view whose address does not suit its element type (a
/// misaligned slice would be undefined behaviour, not just slow).
fn check_aligned(view: &View) -> Result<(), BindError> {
    if view.len == 0 {
        return Ok(());
    }
    let align = match view.elem {
        Elem::I64 => 8,
        Elem::F32 | Elem::I32 => 4,
        Elem::F16 | Elem::Bf16 => 2,
        _ => 1,
    };
    if !view.address.is_multiple_of(align) {
        return Err(BindError::Value(format!(
            "the {} array's data is not {align}-byte aligned",
            view.elem.name()
        )));
    }
    Ok(())
}

/// Per-channel (mean, std) in [0, 1] units of uint8 [N, C, H, W] `images`
/// (restricted to `subset` when given), as the harness normalises.
#[pyfunction]
#[pyo3(signature = (images, subset=None))]
fn channel_statistics(
    images: &Bound<'_, PyAny>,
    subset: Option<&Bound<'_, PyAny>>,
) -> PyResult<(Vec<f32>, Vec<f32>)> {
    let view =
        dlpack::import(images, "images", None, false, Some((4, "[N, C, H, W]"))).map_err(py_err)?;
    view.expect_elem("images", &[Elem::U8]).map_err(py_err)?;
    view.expect_place("images", Place::Cpu).map_err(py_err)?;
    let &[n, c, h, w] = view.shape.as_slice() else {
        return Err(PyValueError::new_err(format!(
            "images must be uint8 [N, C, H, W], got shape {:?}",
            view.shape
        )));
    };
    let subset = match subset {
        Some(s) => read_indices(s, "subset").map_err(py_err)?,
        None => (0..n as u32).collect(),
    };
    if let Some(&bad) = subset.iter().find(|&&i| i64::from(i) >= n) {
        return Err(PyValueError::new_err(format!(
            "subset index {bad} is out of range for {n} images"
        )));
    }
    if view.len == 0 {
        return Err(PyValueError::new_err("images is empty"));
    }
    // SAFETY: a compact CPU u8 array of `len` elements, alive with `view`.
    let pixels = unsafe { std::slice::from_raw_parts(view.address as *const u8, view.len) };
    let to_py = |e: augkit::Error| py_err(e.into());
    let shape = augkit::ImageShape::new(c as u32, h as u32, w as u32).map_err(to_py)?;
    let stats = augkit::channel_statistics(pixels, shape, &subset).map_err(to_py)?;
    Ok((stats.mean, stats.std))
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Engine>()?;
    m.add_function(wrap_pyfunction!(channel_statistics, m)?)?;
    m.add_function(wrap_pyfunction!(images::load_images, m)?)?;
    m.add("param_words", backend::PARAM_WORDS)?;
    m.add("param_fields", backend::param_fields())?;
    Ok(())
}
