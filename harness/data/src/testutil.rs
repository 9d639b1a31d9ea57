//! Test helpers: a self-removing temp dir and writers for every format we read.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::rng::SplitMix64;

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!("augkit-data-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `n` CIFAR-10 records with seeded labels (0..=9) and pixels.
pub fn cifar_batch(n: usize, seed: u64) -> Vec<u8> {
    let mut g = SplitMix64::stream(seed, 77);
    let mut out = Vec::with_capacity(n * 3073);
    for _ in 0..n {
        out.push(g.below(10) as u8);
        out.extend((0..3072).map(|_| g.next_u64() as u8));
    }
    out
}

/// A `.tar.gz` of (path, bytes) entries; paths are written raw (so `../x` and `/x` are possible).
pub fn cifar_tar_gz(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut b = tar::Builder::new(gz);
    for (path, data) in entries {
        let mut h = tar::Header::new_old();
        let name = &mut h.as_old_mut().name;
        name[..path.len()].copy_from_slice(path.as_bytes());
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        h.set_cksum();
        b.append(&h, &data[..]).unwrap();
    }
    b.into_inner().unwrap().finish().unwrap()
}

pub fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

pub fn idx_images(n: u32, rows: u32, cols: u32, px: &[u8]) -> Vec<u8> {
    let mut v = vec![0, 0, 8, 3];
    for d in [n, rows, cols] {
        v.extend_from_slice(&d.to_be_bytes());
    }
    v.extend_from_slice(px);
    v
}

pub fn idx_labels(labels: &[u8]) -> Vec<u8> {
    let mut v = vec![0, 0, 8, 1];
    v.extend_from_slice(&(labels.len() as u32).to_be_bytes());
    v.extend_from_slice(labels);
    v
}

/// Encodes interleaved 8-bit samples as a PNG.
pub fn encode_png(w: u32, h: u32, color: png::ColorType, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut e = png::Encoder::new(&mut out, w, h);
        e.set_color(color);
        e.set_depth(png::BitDepth::Eight);
        let mut wr = e.write_header().unwrap();
        wr.write_image_data(data).unwrap();
    }
    out
}

/// A parquet file in Hugging Face's image layout: `{col}: struct{bytes, path}`, `label: int64`
/// (both nullable, as `datasets` writes them), snappy-compressed.
pub fn hf_parquet(col: &str, rows: &[(Option<Vec<u8>>, Option<i64>)]) -> Vec<u8> {
    use parquet::basic::Compression;
    use parquet::data_type::ByteArray;
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;

    let schema = format!(
        "message schema {{ optional group {col} {{ optional binary bytes; optional binary path (STRING); }} optional int64 label; }}"
    );
    let schema = Arc::new(parquet::schema::parser::parse_message_type(&schema).unwrap());
    let props = Arc::new(
        WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .build(),
    );
    let mut out = Vec::new();
    let mut w = SerializedFileWriter::new(&mut out, schema, props).unwrap();
    let mut rg = w.next_row_group().unwrap();
    let mut col_idx = 0;
    while let Some(mut c) = rg.next_column().unwrap() {
        match col_idx {
            0 | 1 => {
                // img.bytes / img.path: def 2 = present, 0 = whole struct null.
                let mut vals = Vec::new();
                let mut defs = Vec::new();
                for (i, (b, _)) in rows.iter().enumerate() {
                    match b {
                        Some(b) => {
                            defs.push(2);
                            vals.push(if col_idx == 0 {
                                ByteArray::from(b.clone())
                            } else {
                                ByteArray::from(format!("{i}.png").as_str())
                            });
                        }
                        None => defs.push(0),
                    }
                }
                c.typed::<parquet::data_type::ByteArrayType>()
                    .write_batch(&vals, Some(&defs), None)
                    .unwrap();
            }
            _ => {
                let vals: Vec<i64> = rows.iter().filter_map(|r| r.1).collect();
                let defs: Vec<i16> = rows.iter().map(|r| r.1.is_some() as i16).collect();
                c.typed::<parquet::data_type::Int64Type>()
                    .write_batch(&vals, Some(&defs), None)
                    .unwrap();
            }
        }
        c.close().unwrap();
        col_idx += 1;
    }
    rg.close().unwrap();
    w.close().unwrap();
    out
}

/// One array of a test `.npz`: a NumPy dtype string, a shape and raw data
/// bytes (which need not match the shape, to build bad files).
pub struct NpzArray {
    pub name: String,
    pub descr: String,
    pub shape: Vec<u64>,
    pub data: Vec<u8>,
}

impl NpzArray {
    pub fn new(name: &str, descr: &str, shape: &[u64], data: Vec<u8>) -> Self {
        NpzArray {
            name: name.into(),
            descr: descr.into(),
            shape: shape.to_vec(),
            data,
        }
    }

    /// A `<U{max}` string array, as `np.array(["a", "bc"])` saves it.
    pub fn names(name: &str, names: &[&str]) -> Self {
        let width = names.iter().map(|n| n.chars().count()).max().unwrap_or(1);
        let mut data = Vec::new();
        for n in names {
            let mut chars: Vec<u32> = n.chars().map(|c| c as u32).collect();
            chars.resize(width, 0);
            data.extend(chars.iter().flat_map(|c| c.to_le_bytes()));
        }
        NpzArray::new(name, &format!("<U{width}"), &[names.len() as u64], data)
    }

    /// The `.npy` bytes: version 1.0 header padded to 64 bytes, then the data.
    pub fn npy(&self) -> Vec<u8> {
        let dims: Vec<String> = self.shape.iter().map(|d| d.to_string()).collect();
        let shape = match dims.len() {
            1 => format!("({},)", dims[0]),
            _ => format!("({})", dims.join(", ")),
        };
        let mut dict = format!(
            "{{'descr': '{}', 'fortran_order': False, 'shape': {shape}, }}",
            self.descr
        );
        while (10 + dict.len() + 1) % 64 != 0 {
            dict.push(' ');
        }
        dict.push('\n');
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
        out.extend_from_slice(dict.as_bytes());
        out.extend_from_slice(&self.data);
        out
    }
}

/// An `.npz` (zip of `NAME.npy`), stored or deflated like `np.savez[_compressed]`.
pub fn write_npz(arrays: &[NpzArray], compressed: bool) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let method = if compressed {
        zip::CompressionMethod::Deflated
    } else {
        zip::CompressionMethod::Stored
    };
    let opts = zip::write::FileOptions::default().compression_method(method);
    for a in arrays {
        zip.start_file(format!("{}.npy", a.name), opts).unwrap();
        zip.write_all(&a.npy()).unwrap();
    }
    zip.finish().unwrap().into_inner()
}
