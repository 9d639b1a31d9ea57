//! `augkit._native.load_images`: a user's image folder, `.npz` or parquet
//! through the harness's own reader and decoded-set cache (`augkit-data`),
//! returned as raw bytes for `augkit.load_images` to wrap in numpy arrays.

use std::path::PathBuf;

use augkit_data::parquet_images::Columns;
use augkit_data::{Source, SourceOptions};
use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyByteArray;

/// What Python receives: per split (pixels N×C×H×W, labels), then (C, H, W),
/// the class names and the provenance as JSON.
type Loaded<'py> = (
    Bound<'py, PyByteArray>,
    Vec<u32>,
    Bound<'py, PyByteArray>,
    Vec<u32>,
    (u32, u32, u32),
    Vec<String>,
    String,
);

/// Loads `source` (`folder:PATH`, `npz:PATH` or `parquet:PATH`).
#[pyfunction]
#[pyo3(signature = (source, image_size=None, test_fraction=0.2, skip_bad_images=false,
                    image_column=None, label_column=None, cache_dir=None))]
#[allow(clippy::too_many_arguments)]
pub fn load_images<'py>(
    py: Python<'py>,
    source: &str,
    image_size: Option<&str>,
    test_fraction: f64,
    skip_bad_images: bool,
    image_column: Option<String>,
    label_column: Option<String>,
    cache_dir: Option<PathBuf>,
) -> PyResult<Loaded<'py>> {
    let src = Source::parse(source)
        .ok_or_else(|| {
            PyValueError::new_err(format!(
                "{source:?}: name a data set as folder:PATH, npz:PATH or parquet:PATH"
            ))
        })?
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    let image_size = image_size
        .map(str::parse)
        .transpose()
        .map_err(PyValueError::new_err)?;
    let opts = SourceOptions {
        image_size,
        test_fraction,
        skip_bad_images,
        columns: Columns {
            image: image_column,
            label: label_column,
        },
        ..SourceOptions::default()
    };
    let loaded = py
        .detach(|| augkit_data::load_source(&src, &opts, cache_dir.as_deref(), &|_, _| {}))
        .map_err(|e| match e {
            augkit_data::DataError::Io { .. } => PyOSError::new_err(e.to_string()),
            _ => PyValueError::new_err(e.to_string()),
        })?;
    let prov = serde_json::to_string(&loaded.provenance).unwrap_or_default();
    let (tr, te) = (loaded.train, loaded.test);
    let names = if tr.class_names.is_empty() {
        (0..tr.num_classes).map(|c| c.to_string()).collect()
    } else {
        tr.class_names.clone()
    };
    Ok((
        PyByteArray::new(py, &tr.pixels),
        tr.labels,
        PyByteArray::new(py, &te.pixels),
        te.labels,
        (tr.channels, tr.height, tr.width),
        names,
        prov,
    ))
}
