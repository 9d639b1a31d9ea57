//! `.npz` image sets (NumPy's `np.savez` / `np.savez_compressed`): `images`
//! uint8 `[N, C, H, W]`, `[N, H, W, C]` or `[N, H, W]`, `labels` of any
//! integer dtype, and optionally `test_images` / `test_labels` (both or
//! neither) and `class_names` (strings). The same reader serves `npz:PATH`
//! data sets and synthetic pool files.
//!
//! Layout rule: a 3-D array is grayscale `[N, H, W]`. A 4-D array
//! `[N, a, b, c]` is NCHW when `a` is 1 or 3, otherwise NHWC when `c` is 1 or
//! 3, otherwise rejected. When both `a` and `c` are 1 or 3 (images 1 or 3
//! pixels wide in one layout) the array is read as NCHW, PyTorch's layout;
//! a caller that knows the shape it needs checks it with [`NpzSet::expect_shape`].
//!
//! Every size comes from the `.npy` headers and is checked against
//! [`NpzLimits`] before anything is allocated; the data must then be exactly
//! as long as the header says (zip checksums are verified). Labels must be
//! ≥ 0 and below the number of classes: the given one, the number of
//! `class_names`, or else the largest label + 1 (at most [`MAX_CLASSES`]).

use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use npyz::{DType, NpyHeader, TypeChar};

use crate::error::{DataError, NpzProblem, Result};
use crate::image_set::ImageSet;

/// Largest number of classes inferred from labels alone.
pub const MAX_CLASSES: u64 = 100_000;
/// Largest `.npy` header accepted (NumPy writes ~128 bytes).
const MAX_HEADER_BYTES: usize = 64 << 10;
/// Largest `class_names` array accepted, in bytes.
const MAX_NAMES_BYTES: u64 = 16 << 20;

/// What [`read`] accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NpzLimits {
    /// Most bytes of image data (training and test together) the file may
    /// declare; default 4 GiB.
    pub max_image_bytes: u64,
    /// The number of classes labels must lie below; `None`: from
    /// `class_names` or the largest label.
    pub num_classes: Option<u32>,
}

impl Default for NpzLimits {
    fn default() -> Self {
        NpzLimits {
            max_image_bytes: 4 << 30,
            num_classes: None,
        }
    }
}

/// How the image array was laid out in the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    Nchw,
    Nhwc,
    /// 3-D, one channel.
    Nhw,
}

/// The sets read from one `.npz` file.
#[derive(Clone, Debug)]
pub struct NpzSet {
    pub path: PathBuf,
    pub train: ImageSet,
    pub test: Option<ImageSet>,
    /// Layout of `images` as stored (`test_images` may differ).
    pub layout: Layout,
}

impl NpzSet {
    /// Checks that the images are `c`×`h`×`w` (e.g. a pool for a known data
    /// set); the error names the file and the array.
    pub fn expect_shape(&self, c: u32, h: u32, w: u32) -> Result<()> {
        let sets = std::iter::once(("images", &self.train))
            .chain(self.test.as_ref().map(|t| ("test_images", t)));
        for (array, set) in sets {
            let found = (set.channels, set.height, set.width);
            if found != (c, h, w) {
                return Err(npz_err(
                    &self.path,
                    Some(array),
                    NpzProblem::WrongImageShape {
                        found,
                        expected: (c, h, w),
                    },
                ));
            }
        }
        Ok(())
    }
}

fn npz_err(path: &Path, array: Option<&str>, problem: NpzProblem) -> DataError {
    DataError::Npz {
        path: path.to_path_buf(),
        array: array.map(str::to_string),
        problem,
    }
}

/// Reads `path` (see the module documentation for what it must hold).
pub fn read(path: &Path, limits: &NpzLimits) -> Result<NpzSet> {
    let file = File::open(path).map_err(|e| DataError::io(path, e))?;
    read_from(BufReader::new(file), path, limits)
}

/// [`read`] from any seekable reader; `path` names it in errors.
pub fn read_from<R: Read + Seek>(reader: R, path: &Path, limits: &NpzLimits) -> Result<NpzSet> {
    let mut zip = guarded(path, None, || zip::ZipArchive::new(reader))?
        .map_err(|e| npz_err(path, None, NpzProblem::NotNpz(e.to_string())))?;
    let present: Vec<String> = zip
        .file_names()
        .filter_map(|n| n.strip_suffix(".npy"))
        .map(str::to_string)
        .collect();
    let has = |a: &str| present.iter().any(|p| p == a);
    let missing = |a: &str| {
        npz_err(
            path,
            Some(a),
            NpzProblem::MissingArray {
                present: if present.is_empty() {
                    "no .npy arrays".into()
                } else {
                    present.join(", ")
                },
            },
        )
    };
    for a in ["images", "labels"] {
        if !has(a) {
            return Err(missing(a));
        }
    }
    match (has("test_images"), has("test_labels")) {
        (true, false) | (false, true) => {
            let (a, other) = if has("test_images") {
                ("test_images", "test_labels")
            } else {
                ("test_labels", "test_images")
            };
            return Err(npz_err(
                path,
                Some(a),
                NpzProblem::Unpaired {
                    other: other.into(),
                },
            ));
        }
        _ => {}
    }
    let mut budget = limits.max_image_bytes;
    let train = read_images(&mut zip, path, "images", &mut budget)?;
    let train_labels = read_labels(&mut zip, path, "labels", train.n)?;
    let test = if has("test_images") {
        let t = read_images(&mut zip, path, "test_images", &mut budget)?;
        if (t.c, t.h, t.w) != (train.c, train.h, train.w) {
            return Err(npz_err(
                path,
                Some("test_images"),
                NpzProblem::WrongImageShape {
                    found: (t.c, t.h, t.w),
                    expected: (train.c, train.h, train.w),
                },
            ));
        }
        let l = read_labels(&mut zip, path, "test_labels", t.n)?;
        Some((t, l))
    } else {
        None
    };
    let names = if has("class_names") {
        Some(read_names(&mut zip, path)?)
    } else {
        None
    };
    let (bound, from_data) = match (limits.num_classes, &names) {
        (Some(k), _) => (u64::from(k), false),
        (None, Some(n)) => (n.len() as u64, false),
        (None, None) => (MAX_CLASSES, true),
    };
    let mut sets = vec![("labels", &train_labels)];
    if let Some((_, l)) = &test {
        sets.push(("test_labels", l));
    }
    let mut max_label = 0u64;
    for (array, labels) in &sets {
        for (i, &l) in labels.iter().enumerate() {
            if l < 0 || l >= i128::from(bound) {
                return Err(npz_err(
                    path,
                    Some(array),
                    NpzProblem::LabelOutOfRange {
                        index: i as u64,
                        label: l,
                        bound,
                    },
                ));
            }
            max_label = max_label.max(l as u64);
        }
    }
    let num_classes = if from_data { max_label + 1 } else { bound } as u32;
    if let (Some(n), Some(k)) = (&names, limits.num_classes)
        && n.len() != k as usize
    {
        return Err(npz_err(
            path,
            Some("class_names"),
            NpzProblem::Shape {
                shape: vec![n.len() as u64],
                expected: format!("[{k}] (one name per class)"),
            },
        ));
    }
    let class_names = names.unwrap_or_default();
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "npz".into());
    let build = |imgs: Images, labels: Vec<i128>, suffix: &str| {
        ImageSet::new(
            format!("{stem}-{suffix}"),
            imgs.c,
            imgs.h,
            imgs.w,
            imgs.pixels,
            labels.into_iter().map(|l| l as u32).collect(),
            num_classes,
            class_names.clone(),
        )
    };
    let layout = train.layout;
    Ok(NpzSet {
        path: path.to_path_buf(),
        train: build(train, train_labels, "train")?,
        test: test.map(|(t, l)| build(t, l, "test")).transpose()?,
        layout,
    })
}

/// Runs `f`, turning a panic inside the zip or npy crates into an error.
fn guarded<T>(path: &Path, array: Option<&str>, f: impl FnOnce() -> T) -> Result<T> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|_| {
        npz_err(
            path,
            array,
            NpzProblem::BadHeader("the decoder panicked on malformed input".into()),
        )
    })
}

/// An open array: its header, and the reader positioned at its data.
fn open_array<'a, R: Read + Seek>(
    zip: &'a mut zip::ZipArchive<R>,
    path: &Path,
    array: &str,
) -> Result<(NpyHeader, zip::read::ZipFile<'a>)> {
    let name = format!("{array}.npy");
    let mut file = guarded(path, Some(array), || zip.by_name(&name))?
        .map_err(|e| npz_err(path, Some(array), NpzProblem::NotNpz(e.to_string())))?;
    let bad = |p: String| npz_err(path, Some(array), NpzProblem::BadHeader(p));
    // Read the preamble ourselves so a header length is bounded before npyz
    // allocates it: magic (6), version (2), length (2 or 4).
    let mut pre = vec![0u8; 10];
    read_exact(&mut file, &mut pre, path, array)?;
    if &pre[..6] != b"\x93NUMPY" {
        return Err(bad("no NPY magic".into()));
    }
    let len = match pre[6] {
        1 => u16::from_le_bytes([pre[8], pre[9]]) as usize,
        2 | 3 => {
            let mut more = [0u8; 2];
            read_exact(&mut file, &mut more, path, array)?;
            pre.extend_from_slice(&more);
            u32::from_le_bytes([pre[8], pre[9], more[0], more[1]]) as usize
        }
        v => return Err(bad(format!("unknown NPY version {v}"))),
    };
    if len > MAX_HEADER_BYTES {
        return Err(bad(format!(
            "header of {len} bytes, limit {MAX_HEADER_BYTES}"
        )));
    }
    let start = pre.len();
    pre.resize(start + len, 0);
    read_exact(&mut file, &mut pre[start..], path, array)?;
    let header = guarded(path, Some(array), || NpyHeader::from_reader(&pre[..]))?
        .map_err(|e| bad(e.to_string()))?;
    if header.order() == npyz::Order::Fortran {
        return Err(npz_err(path, Some(array), NpzProblem::FortranOrder));
    }
    Ok((header, file))
}

fn read_exact(r: &mut impl Read, buf: &mut [u8], path: &Path, array: &str) -> Result<()> {
    r.read_exact(buf)
        .map_err(|e| npz_err(path, Some(array), NpzProblem::Truncated(e.to_string())))
}

/// Reads exactly `n` data bytes and checks that nothing follows (which also
/// lets the zip reader verify the entry's CRC).
fn read_data(r: &mut impl Read, n: usize, path: &Path, array: &str) -> Result<Vec<u8>> {
    let mut buf = vec![0u8; n];
    read_exact(r, &mut buf, path, array)?;
    let mut extra = [0u8; 1];
    match r.read(&mut extra) {
        Ok(0) => Ok(buf),
        Ok(_) => Err(npz_err(path, Some(array), NpzProblem::TrailingData)),
        Err(e) => Err(npz_err(
            path,
            Some(array),
            NpzProblem::Truncated(e.to_string()),
        )),
    }
}

fn checked_product(shape: &[u64]) -> Option<u64> {
    shape.iter().try_fold(1u64, |a, &d| a.checked_mul(d))
}

fn plain_int(dtype: &DType) -> Option<(TypeChar, usize, npyz::Endianness)> {
    match dtype {
        DType::Plain(ts) => Some((ts.type_char(), ts.num_bytes()?, ts.endianness())),
        _ => None,
    }
}

struct Images {
    n: u64,
    c: u32,
    h: u32,
    w: u32,
    layout: Layout,
    /// Planar N×C×H×W.
    pixels: Vec<u8>,
}

fn read_images<R: Read + Seek>(
    zip: &mut zip::ZipArchive<R>,
    path: &Path,
    array: &str,
    budget: &mut u64,
) -> Result<Images> {
    let (header, mut file) = open_array(zip, path, array)?;
    let err = |p| npz_err(path, Some(array), p);
    let dtype = header.dtype();
    match plain_int(&dtype) {
        Some((TypeChar::Uint, 1, _)) => {}
        _ => {
            return Err(err(NpzProblem::Dtype {
                found: dtype.descr(),
                expected: "uint8 ('|u1')",
            }));
        }
    }
    let shape = header.shape().to_vec();
    let shape_err = || {
        err(NpzProblem::Shape {
            shape: shape.clone(),
            expected: "[N, C, H, W], [N, H, W, C] with C 1 or 3, or [N, H, W]".into(),
        })
    };
    let (layout, n, c, h, w) = match shape[..] {
        [n, h, w] => (Layout::Nhw, n, 1, h, w),
        [n, a, h, w] if a == 1 || a == 3 => (Layout::Nchw, n, a, h, w),
        [n, h, w, c] if c == 1 || c == 3 => (Layout::Nhwc, n, c, h, w),
        _ => return Err(shape_err()),
    };
    let bytes = checked_product(&shape).ok_or_else(|| {
        err(NpzProblem::TooLarge {
            bytes: u64::MAX,
            limit: *budget,
        })
    })?;
    if bytes > *budget {
        return Err(err(NpzProblem::TooLarge {
            bytes,
            limit: *budget,
        }));
    }
    if n == 0 {
        return Err(err(NpzProblem::Empty));
    }
    if h == 0 || w == 0 || h > u64::from(u32::MAX) || w > u64::from(u32::MAX) {
        return Err(shape_err());
    }
    *budget -= bytes;
    let raw = read_data(&mut file, bytes as usize, path, array)?;
    let (c, h, w) = (c as u32, h as u32, w as u32);
    let pixels = match layout {
        Layout::Nchw | Layout::Nhw => raw,
        Layout::Nhwc => nhwc_to_nchw(&raw, c as usize, (h * w) as usize),
    };
    Ok(Images {
        n,
        c,
        h,
        w,
        layout,
        pixels,
    })
}

fn nhwc_to_nchw(raw: &[u8], c: usize, plane: usize) -> Vec<u8> {
    let per = c * plane;
    let mut out = vec![0u8; raw.len()];
    for (src, dst) in raw.chunks_exact(per).zip(out.chunks_exact_mut(per)) {
        for p in 0..plane {
            for ch in 0..c {
                dst[ch * plane + p] = src[p * c + ch];
            }
        }
    }
    out
}

/// Labels as i128 (so every integer dtype, signed or not, fits), `n` of them.
fn read_labels<R: Read + Seek>(
    zip: &mut zip::ZipArchive<R>,
    path: &Path,
    array: &str,
    n: u64,
) -> Result<Vec<i128>> {
    let (header, mut file) = open_array(zip, path, array)?;
    let err = |p| npz_err(path, Some(array), p);
    let dtype = header.dtype();
    let (kind, size, endian) = match plain_int(&dtype) {
        Some((k @ (TypeChar::Int | TypeChar::Uint), s @ (1 | 2 | 4 | 8), e)) => (k, s, e),
        _ => {
            return Err(err(NpzProblem::Dtype {
                found: dtype.descr(),
                expected: "an integer dtype",
            }));
        }
    };
    let count = match header.shape() {
        [k] | [k, 1] => *k,
        s => {
            return Err(err(NpzProblem::Shape {
                shape: s.to_vec(),
                expected: "[N] (or [N, 1])".into(),
            }));
        }
    };
    if count != n {
        return Err(err(NpzProblem::LengthMismatch {
            images: n,
            labels: count,
        }));
    }
    // count == n, and n images of at least one byte each fit the budget.
    let raw = read_data(&mut file, n as usize * size, path, array)?;
    let big = endian == npyz::Endianness::Big;
    Ok(raw
        .chunks_exact(size)
        .map(|b| {
            let mut le = [0u8; 16];
            for (i, &x) in b.iter().enumerate() {
                le[if big { size - 1 - i } else { i }] = x;
            }
            let negative = kind == TypeChar::Int && le[size - 1] & 0x80 != 0;
            if negative {
                le[size..].fill(0xff);
            }
            i128::from_le_bytes(le)
        })
        .collect())
}

fn read_names<R: Read + Seek>(zip: &mut zip::ZipArchive<R>, path: &Path) -> Result<Vec<String>> {
    let array = "class_names";
    let (header, file) = open_array(zip, path, array)?;
    let err = |p| npz_err(path, Some(array), p);
    let dtype = header.dtype();
    let item = match plain_int(&dtype) {
        Some((TypeChar::UnicodeStr | TypeChar::ByteStr, s, _)) => s as u64,
        _ => {
            return Err(err(NpzProblem::Dtype {
                found: dtype.descr(),
                expected: "strings ('<U…' or '|S…')",
            }));
        }
    };
    let [k] = header.shape()[..] else {
        return Err(err(NpzProblem::Shape {
            shape: header.shape().to_vec(),
            expected: "[K]".into(),
        }));
    };
    let bytes = k.saturating_mul(item);
    if bytes > MAX_NAMES_BYTES || k > MAX_CLASSES {
        return Err(err(NpzProblem::TooLarge {
            bytes,
            limit: MAX_NAMES_BYTES,
        }));
    }
    npyz::NpyFile::with_header(header, file)
        .into_vec::<String>()
        .map_err(|e| err(NpzProblem::Truncated(e.to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{NpzArray, TempDir, write_npz};

    fn u8_array(name: &str, shape: &[u64], data: Vec<u8>) -> NpzArray {
        NpzArray::new(name, "|u1", shape, data)
    }

    fn labels(name: &str, l: &[i64]) -> NpzArray {
        NpzArray::new(
            name,
            "<i8",
            &[l.len() as u64],
            l.iter().flat_map(|v| v.to_le_bytes()).collect(),
        )
    }

    fn write(tmp: &TempDir, name: &str, arrays: &[NpzArray], compressed: bool) -> PathBuf {
        let p = tmp.path().join(name);
        std::fs::write(&p, write_npz(arrays, compressed)).unwrap();
        p
    }

    fn problem(r: Result<NpzSet>) -> (Option<String>, NpzProblem, String) {
        match r {
            Err(e @ DataError::Npz { .. }) => {
                let msg = e.to_string();
                let DataError::Npz { array, problem, .. } = e else {
                    unreachable!()
                };
                (array, problem, msg)
            }
            Err(e) => panic!("not an npz error: {e}"),
            Ok(_) => panic!("accepted"),
        }
    }

    /// 2 images of 3×2×2, value = 100·image + 10·channel + pixel.
    fn nchw() -> Vec<u8> {
        (0..2u8)
            .flat_map(|i| (0..3u8).flat_map(move |c| (0..4u8).map(move |p| 100 * i + 10 * c + p)))
            .collect()
    }

    fn to_nhwc(nchw: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for i in 0..2 {
            for p in 0..4 {
                for c in 0..3 {
                    out.push(nchw[i * 12 + c * 4 + p]);
                }
            }
        }
        out
    }

    #[test]
    fn reads_nchw_nhwc_and_gray_with_any_integer_labels() {
        let tmp = TempDir::new("npz");
        let want = nchw();
        for (layout, shape, data, compressed) in [
            (Layout::Nchw, [2, 3, 2, 2], want.clone(), false),
            (Layout::Nhwc, [2, 2, 2, 3], to_nhwc(&want), true),
        ] {
            let p = write(
                &tmp,
                "a.npz",
                &[u8_array("images", &shape, data), labels("labels", &[1, 0])],
                compressed,
            );
            let s = read(&p, &NpzLimits::default()).unwrap();
            assert_eq!(s.layout, layout);
            assert_eq!((s.train.channels, s.train.height, s.train.width), (3, 2, 2));
            assert_eq!(s.train.pixels, want);
            assert_eq!(
                (s.train.labels.clone(), s.train.num_classes),
                (vec![1, 0], 2)
            );
            assert!(s.test.is_none());
            assert_eq!(s.train.name, "a-train");
            s.expect_shape(3, 2, 2).unwrap();
            let (a, pr, _) = problem(s.expect_shape(1, 2, 2).map(|_| s.clone()));
            assert_eq!(a.as_deref(), Some("images"));
            assert!(matches!(pr, NpzProblem::WrongImageShape { .. }));
        }
        // Grayscale [N,H,W]; labels as big-endian uint16 and int8; test split; names.
        let gray: Vec<u8> = (0..12).collect();
        let p = write(
            &tmp,
            "g.npz",
            &[
                u8_array("images", &[2, 2, 3], gray.clone()),
                NpzArray::new("labels", ">u2", &[2], vec![0, 2, 0, 1]),
                u8_array("test_images", &[1, 1, 2, 3], vec![7; 6]),
                NpzArray::new("test_labels", "|i1", &[1, 1], vec![0]),
                NpzArray::names("class_names", &["cat", "dog", "emu"]),
            ],
            true,
        );
        let s = read(&p, &NpzLimits::default()).unwrap();
        assert_eq!(s.layout, Layout::Nhw);
        assert_eq!(s.train.pixels, gray);
        assert_eq!(s.train.labels, vec![2, 1]);
        assert_eq!(s.train.class_names, vec!["cat", "dog", "emu"]);
        let t = s.test.unwrap();
        assert_eq!((t.len(), t.channels, t.num_classes), (1, 1, 3));
    }

    /// [N, 3, H, 3] could be either layout: it is read as NCHW.
    #[test]
    fn ambiguous_layout_is_nchw() {
        let tmp = TempDir::new("npz-amb");
        let p = write(
            &tmp,
            "amb.npz",
            &[
                u8_array("images", &[1, 3, 4, 3], vec![0; 36]),
                labels("labels", &[0]),
            ],
            false,
        );
        let s = read(&p, &NpzLimits::default()).unwrap();
        assert_eq!(s.layout, Layout::Nchw);
        assert_eq!((s.train.channels, s.train.height, s.train.width), (3, 4, 3));
    }

    #[test]
    fn rejects_each_bad_file_by_its_problem() {
        let tmp = TempDir::new("npz-bad");
        let lim = NpzLimits::default();
        let good = || u8_array("images", &[2, 1, 2, 2], vec![1; 8]);
        let check = |name: &str, arrays: &[NpzArray], lim: &NpzLimits| {
            problem(read(&write(&tmp, name, arrays, false), lim))
        };

        // Not a zip at all, and a valid file cut short.
        let p = tmp.path().join("text.npz");
        std::fs::write(&p, b"hello, not a zip").unwrap();
        let (a, pr, msg) = problem(read(&p, &lim));
        assert!(a.is_none() && matches!(pr, NpzProblem::NotNpz(_)), "{msg}");
        assert!(msg.contains("text.npz"), "{msg}");
        let whole = write_npz(&[good(), labels("labels", &[0, 1])], false);
        for cut in [whole.len() - 30, whole.len() / 2] {
            std::fs::write(&p, &whole[..cut]).unwrap();
            let (_, pr, msg) = problem(read(&p, &lim));
            assert!(
                matches!(pr, NpzProblem::NotNpz(_) | NpzProblem::Truncated(_)),
                "{msg}"
            );
        }
        // A damaged data byte in a stored entry fails the CRC.
        let mut flipped = whole.clone();
        let at = flipped.windows(8).position(|w| w == [1; 8]).unwrap();
        flipped[at] = 9;
        std::fs::write(&p, &flipped).unwrap();
        let (a, pr, msg) = problem(read(&p, &lim));
        assert_eq!(a.as_deref(), Some("images"), "{msg}");
        assert!(matches!(pr, NpzProblem::Truncated(_)), "{msg}");

        let (a, pr, _) = check("m.npz", &[good()], &lim);
        assert_eq!(a.as_deref(), Some("labels"));
        assert!(matches!(pr, NpzProblem::MissingArray { .. }));
        let (a, pr, _) = check(
            "u.npz",
            &[
                good(),
                labels("labels", &[0, 1]),
                labels("test_labels", &[0]),
            ],
            &lim,
        );
        assert_eq!(a.as_deref(), Some("test_labels"));
        assert!(matches!(pr, NpzProblem::Unpaired { .. }));

        for (descr, size) in [("<f4", 4), ("<i2", 2), ("|i1", 1)] {
            let (a, pr, msg) = check(
                "f.npz",
                &[
                    NpzArray::new("images", descr, &[2, 1, 2, 2], vec![0; 8 * size]),
                    labels("labels", &[0, 1]),
                ],
                &lim,
            );
            assert_eq!(a.as_deref(), Some("images"));
            assert!(matches!(pr, NpzProblem::Dtype { .. }), "{msg}");
        }
        let (a, pr, _) = check(
            "fl.npz",
            &[good(), NpzArray::new("labels", "<f8", &[2], vec![0; 16])],
            &lim,
        );
        assert_eq!(a.as_deref(), Some("labels"));
        assert!(matches!(pr, NpzProblem::Dtype { .. }));

        let (_, pr, _) = check(
            "s.npz",
            &[
                u8_array("images", &[2, 2, 2, 2], vec![0; 16]),
                labels("labels", &[0, 1]),
            ],
            &lim,
        );
        assert!(matches!(pr, NpzProblem::Shape { .. }));
        let (_, pr, _) = check(
            "z.npz",
            &[
                u8_array("images", &[0, 1, 2, 2], vec![]),
                labels("labels", &[]),
            ],
            &lim,
        );
        assert_eq!(pr, NpzProblem::Empty);
        let (a, pr, _) = check("n.npz", &[good(), labels("labels", &[0, 1, 1])], &lim);
        assert_eq!(a.as_deref(), Some("labels"));
        assert_eq!(
            pr,
            NpzProblem::LengthMismatch {
                images: 2,
                labels: 3
            }
        );
        let (a, pr, _) = check("neg.npz", &[good(), labels("labels", &[0, -1])], &lim);
        assert_eq!(a.as_deref(), Some("labels"));
        assert!(matches!(pr, NpzProblem::LabelOutOfRange { label: -1, .. }));
        let k3 = NpzLimits {
            num_classes: Some(3),
            ..lim.clone()
        };
        let (_, pr, _) = check("big.npz", &[good(), labels("labels", &[0, 3])], &k3);
        assert_eq!(
            pr,
            NpzProblem::LabelOutOfRange {
                index: 1,
                label: 3,
                bound: 3
            }
        );
        assert_eq!(
            read(
                &write(&tmp, "ok3.npz", &[good(), labels("labels", &[0, 2])], false),
                &k3
            )
            .unwrap()
            .train
            .num_classes,
            3
        );
        // The limit is checked from the header: the data need not even be there.
        let small = NpzLimits {
            max_image_bytes: 7,
            ..lim.clone()
        };
        let (a, pr, _) = check("lim.npz", &[good(), labels("labels", &[0, 1])], &small);
        assert_eq!(a.as_deref(), Some("images"));
        assert_eq!(pr, NpzProblem::TooLarge { bytes: 8, limit: 7 });
        let huge = NpzArray::new("images", "|u1", &[1 << 40, 3, 1024, 1024], vec![]);
        let (_, pr, _) = check("huge.npz", &[huge, labels("labels", &[0])], &lim);
        assert!(matches!(pr, NpzProblem::TooLarge { .. }), "{pr:?}");
        // Header shorter than its data, and a test split of another size.
        let (_, pr, _) = check(
            "trail.npz",
            &[
                u8_array("images", &[1, 1, 2, 2], vec![1; 8]),
                labels("labels", &[0]),
            ],
            &lim,
        );
        assert_eq!(pr, NpzProblem::TrailingData);
        let (a, pr, _) = check(
            "ts.npz",
            &[
                good(),
                labels("labels", &[0, 1]),
                u8_array("test_images", &[1, 3, 2, 2], vec![0; 12]),
                labels("test_labels", &[0]),
            ],
            &lim,
        );
        assert_eq!(a.as_deref(), Some("test_images"));
        assert!(matches!(pr, NpzProblem::WrongImageShape { .. }));
    }
}
