//! Any image-classification parquet as Hugging Face `datasets` writes it:
//! an image column of `{bytes, path}` structs and an integer label column.
//! This module reads the encoded images and labels (nothing is decoded
//! here); `crate::sources` decodes them like a folder's files.
//!
//! Columns: the given names, else the image column is the one the file's
//! `huggingface` metadata types as `Image`, else the only struct column with
//! a binary `bytes` field; the label column is the one typed `ClassLabel`,
//! else `label`, else `labels`, else the only integer column. Class names
//! come from the `ClassLabel` feature's `names` when the metadata has them.
//!
//! Rejects (naming the file and row): not parquet (a panic inside the parquet
//! crate on malformed input is caught), missing or ambiguous columns, a null
//! image, a null, negative or non-integer label, shards disagreeing on
//! columns or class names, more than [`MAX_ROWS`] rows. The module doc of
//! `hf_parquet` states the parquet crate's limits on crafted files.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::Field;
use parquet::schema::types::Type;

use crate::error::{DataError, Result};

/// Most rows one shard may claim.
pub const MAX_ROWS: i64 = 10_000_000;

/// Column names chosen by the user (`--image-column`, `--label-column`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Columns {
    pub image: Option<String>,
    pub label: Option<String>,
}

/// The encoded images and labels of some shards.
#[derive(Clone, Debug, Default)]
pub struct RawImages {
    /// Encoded image bytes and where each came from (`file#row`).
    pub images: Vec<(Vec<u8>, String)>,
    pub labels: Vec<i64>,
    pub image_column: String,
    pub label_column: String,
    /// From the `ClassLabel` metadata, when present.
    pub class_names: Option<Vec<String>>,
}

fn fmt_err(path: &Path, p: impl Into<String>) -> DataError {
    DataError::format(path, p)
}

/// Reads every row of `paths` (one split).
pub fn read_raw(paths: &[PathBuf], cols: &Columns) -> Result<RawImages> {
    if paths.is_empty() {
        return Err(DataError::InvalidArgument("no parquet shards given".into()));
    }
    let mut out: Option<RawImages> = None;
    for p in paths {
        let file = std::fs::File::open(p).map_err(|e| DataError::io(p, e))?;
        let shard = read_shard(file, p, cols)?;
        match &mut out {
            None => out = Some(shard),
            Some(acc) => {
                if (&acc.image_column, &acc.label_column)
                    != (&shard.image_column, &shard.label_column)
                {
                    return Err(fmt_err(
                        p,
                        format!(
                            "columns {:?}/{:?} differ from {:?}/{:?} in {}",
                            shard.image_column,
                            shard.label_column,
                            acc.image_column,
                            acc.label_column,
                            paths[0].display()
                        ),
                    ));
                }
                if shard.class_names.is_some() && shard.class_names != acc.class_names {
                    return Err(fmt_err(
                        p,
                        format!("class names differ from {}'s", paths[0].display()),
                    ));
                }
                acc.images.extend(shard.images);
                acc.labels.extend(shard.labels);
            }
        }
    }
    Ok(out.expect("at least one shard"))
}

/// The `huggingface` key-value metadata's `info.features`, if any.
fn hf_features(
    reader: &SerializedFileReader<impl parquet::file::reader::ChunkReader + 'static>,
) -> Option<serde_json::Map<String, serde_json::Value>> {
    let kv = reader.metadata().file_metadata().key_value_metadata()?;
    let value = kv.iter().find(|k| k.key == "huggingface")?.value.as_ref()?;
    let json: serde_json::Value = serde_json::from_str(value).ok()?;
    json.get("info")?.get("features")?.as_object().cloned()
}

fn is_image_struct(t: &Type) -> bool {
    t.is_group()
        && t.get_fields()
            .iter()
            .any(|f| f.name() == "bytes" && f.is_primitive())
}

fn is_integer(t: &Type) -> bool {
    use parquet::basic::Type as P;
    t.is_primitive() && matches!(t.get_physical_type(), P::INT32 | P::INT64)
}

fn read_shard<R: parquet::file::reader::ChunkReader + 'static>(
    chunk: R,
    origin: &Path,
    cols: &Columns,
) -> Result<RawImages> {
    let guard = |what: &str| {
        fmt_err(
            origin,
            format!("parquet decoder panicked on malformed input ({what})"),
        )
    };
    let reader = catch_unwind(AssertUnwindSafe(|| SerializedFileReader::new(chunk)))
        .map_err(|_| guard("footer"))?
        .map_err(|e| fmt_err(origin, format!("not a readable parquet file: {e}")))?;
    let features = hf_features(&reader);
    let typed = |ty: &str| -> Vec<String> {
        features
            .iter()
            .flatten()
            .filter(|(_, v)| v.get("_type").and_then(|t| t.as_str()) == Some(ty))
            .map(|(k, _)| k.clone())
            .collect()
    };
    let schema = reader.metadata().file_metadata().schema();
    let fields = schema.get_fields();
    let names = || {
        fields
            .iter()
            .map(|f| f.name())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let find = |n: &str| fields.iter().find(|f| f.name() == n);
    let image_column = match &cols.image {
        Some(n) => match find(n) {
            Some(t) if is_image_struct(t) => n.clone(),
            Some(_) => {
                return Err(fmt_err(
                    origin,
                    format!("column {n:?} is not a struct with a `bytes` field"),
                ));
            }
            None => {
                return Err(fmt_err(
                    origin,
                    format!("no column {n:?} (columns: {})", names()),
                ));
            }
        },
        None => {
            let hinted: Vec<String> = typed("Image")
                .into_iter()
                .filter(|n| find(n).is_some_and(|t| is_image_struct(t)))
                .collect();
            let structs: Vec<String> = fields
                .iter()
                .filter(|f| is_image_struct(f))
                .map(|f| f.name().to_string())
                .collect();
            match (hinted.as_slice(), structs.as_slice()) {
                ([one], _) | ([], [one]) => one.clone(),
                ([], []) => {
                    return Err(fmt_err(
                        origin,
                        format!(
                            "no image column (a struct with a `bytes` field; columns: {})",
                            names()
                        ),
                    ));
                }
                _ => {
                    return Err(fmt_err(
                        origin,
                        format!(
                            "several image columns ({}): choose one with --image-column",
                            structs.join(", ")
                        ),
                    ));
                }
            }
        }
    };
    let label_column = match &cols.label {
        Some(n) => match find(n) {
            Some(t) if is_integer(t) => n.clone(),
            Some(_) => return Err(fmt_err(origin, format!("column {n:?} is not an integer"))),
            None => {
                return Err(fmt_err(
                    origin,
                    format!("no column {n:?} (columns: {})", names()),
                ));
            }
        },
        None => {
            let ints: Vec<String> = fields
                .iter()
                .filter(|f| is_integer(f))
                .map(|f| f.name().to_string())
                .collect();
            let class_label: Vec<String> = typed("ClassLabel")
                .into_iter()
                .filter(|n| ints.contains(n))
                .collect();
            if let [one] = class_label.as_slice() {
                one.clone()
            } else if let Some(n) = ["label", "labels"]
                .into_iter()
                .find(|n| ints.iter().any(|i| i == n))
            {
                n.to_string()
            } else if let [one] = ints.as_slice() {
                one.clone()
            } else {
                return Err(fmt_err(
                    origin,
                    format!(
                        "no label column found (integer columns: [{}]): choose one with --label-column",
                        ints.join(", ")
                    ),
                ));
            }
        }
    };
    let class_names = features.as_ref().and_then(|f| {
        let names = f.get(&label_column)?.get("names")?.as_array()?;
        names
            .iter()
            .map(|n| n.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
    });
    let meta = reader.metadata();
    let rows: i64 = meta.row_groups().iter().map(|g| g.num_rows().max(0)).sum();
    if rows > MAX_ROWS || meta.file_metadata().num_rows() > MAX_ROWS {
        return Err(fmt_err(
            origin,
            format!("{rows} rows, more than the {MAX_ROWS} accepted"),
        ));
    }
    let mut out = RawImages {
        image_column,
        label_column,
        class_names,
        ..RawImages::default()
    };
    let mut iter = catch_unwind(AssertUnwindSafe(|| reader.get_row_iter(None)))
        .map_err(|_| guard("row reader"))?
        .map_err(|e| fmt_err(origin, format!("parquet: {e}")))?;
    for i in 0.. {
        let next = catch_unwind(AssertUnwindSafe(|| iter.next())).map_err(|_| guard("rows"))?;
        let Some(row) = next else { break };
        let row = row.map_err(|e| fmt_err(origin, format!("row {i}: parquet: {e}")))?;
        let row_err = |p: String| fmt_err(origin, format!("row {i}: {p}"));
        let mut bytes = None;
        let mut label = None;
        for (name, field) in row.get_column_iter() {
            if *name == out.image_column {
                if let Field::Group(g) = field {
                    for (n, f) in g.get_column_iter() {
                        if n == "bytes"
                            && let Field::Bytes(b) = f
                        {
                            bytes = Some(b.data().to_vec());
                        }
                    }
                }
            } else if *name == out.label_column {
                label = match field {
                    Field::Long(v) => Some(*v),
                    Field::Int(v) => Some(i64::from(*v)),
                    Field::Short(v) => Some(i64::from(*v)),
                    Field::Byte(v) => Some(i64::from(*v)),
                    Field::UInt(v) => Some(i64::from(*v)),
                    Field::UShort(v) => Some(i64::from(*v)),
                    Field::UByte(v) => Some(i64::from(*v)),
                    Field::ULong(v) => i64::try_from(*v).ok(),
                    _ => None,
                };
            }
        }
        let bytes =
            bytes.ok_or_else(|| row_err(format!("no image bytes in {:?}", out.image_column)))?;
        let label = label.ok_or_else(|| {
            row_err(format!(
                "null or non-integer label in {:?}",
                out.label_column
            ))
        })?;
        if label < 0 {
            return Err(row_err(format!(
                "label {label} is negative (an unlabelled split?)"
            )));
        }
        out.images
            .push((bytes, format!("{}#row{i}", origin.display())));
        out.labels.push(label);
    }
    Ok(out)
}
