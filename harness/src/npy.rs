//! NumPy `.npy` files (format version 1.0), written and read back without a
//! dependency: a magic string, a little-endian header length, a Python dict
//! literal `{'descr': …, 'fortran_order': False, 'shape': (…), }` padded with
//! spaces to a multiple of 64 bytes and ending in `\n`, then the raw
//! C-order data.

/// The magic bytes every `.npy` file starts with.
pub const MAGIC: &[u8] = b"\x93NUMPY";

/// A parsed `.npy` file.
#[derive(Clone, Debug, PartialEq)]
pub struct Npy {
    /// The dtype string, e.g. `<f4`, `<f2`, `<u2`, `<u4`.
    pub descr: String,
    pub shape: Vec<usize>,
    /// The raw data bytes (C order).
    pub data: Vec<u8>,
}

/// Bytes of one element of a `descr` this module writes.
pub fn element_size(descr: &str) -> Option<usize> {
    match descr {
        "<f4" | "<u4" | "<i4" => Some(4),
        "<f2" | "<u2" => Some(2),
        "<f8" | "<u8" | "<i8" => Some(8),
        "|u1" => Some(1),
        _ => None,
    }
}

/// A `.npy` file's bytes: version 1.0 header, then `data` as given.
pub fn encode(descr: &str, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    let shape_text = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let mut header =
        format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_text}, }}");
    // magic (6) + version (2) + length (2) + header + '\n' ≡ 0 mod 64.
    let unpadded = MAGIC.len() + 4 + header.len() + 1;
    header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + data.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

/// Little-endian bytes of `u32`s.
pub fn u32_bytes(values: &[u32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Little-endian bytes of `f32`s.
pub fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Little-endian bytes of `u16`s (f16 or bf16 bit patterns).
pub fn u16_bytes(values: &[u16]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Parses a `.npy` file (versions 1.0–3.0, C order, little-endian types).
pub fn decode(bytes: &[u8]) -> Result<Npy, String> {
    if !bytes.starts_with(MAGIC) || bytes.len() < 10 {
        return Err("not a .npy file (magic)".into());
    }
    let major = bytes[6];
    let (len, start) = match major {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        _ => return Err(format!("unsupported .npy version {major}")),
    };
    let header = bytes
        .get(start..start + len)
        .ok_or("truncated header")
        .map(|h| String::from_utf8_lossy(h).into_owned())?;
    let field = |key: &str| -> Result<String, String> {
        let at = header
            .find(&format!("'{key}':"))
            .ok_or(format!("no '{key}' in header {header:?}"))?;
        Ok(header[at + key.len() + 3..].trim_start().to_string())
    };
    let descr_rest = field("descr")?;
    let descr = descr_rest
        .strip_prefix('\'')
        .and_then(|r| r.split('\'').next())
        .ok_or("bad descr")?
        .to_string();
    if !field("fortran_order")?.starts_with("False") {
        return Err("Fortran order is not supported".into());
    }
    let shape_rest = field("shape")?;
    let inner = shape_rest
        .strip_prefix('(')
        .and_then(|r| r.split(')').next())
        .ok_or("bad shape")?;
    let shape = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<usize>().map_err(|e| format!("shape {s:?}: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    let data = bytes[start + len..].to_vec();
    if let Some(size) = element_size(&descr) {
        let expected = shape.iter().product::<usize>() * size;
        if data.len() != expected {
            return Err(format!(
                "{} data bytes for shape {shape:?} of {descr} ({expected} expected)",
                data.len()
            ));
        }
    }
    Ok(Npy { descr, shape, data })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_aligned_and_round_trips() {
        for shape in [vec![7usize], vec![2, 3, 5, 4], vec![0]] {
            let n: usize = shape.iter().product();
            let data = f32_bytes(&(0..n).map(|i| i as f32).collect::<Vec<_>>());
            let bytes = encode("<f4", &shape, &data);
            let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
            assert_eq!((10 + header_len) % 64, 0);
            assert_eq!(bytes[9 + header_len], b'\n');
            let back = decode(&bytes).unwrap();
            assert_eq!(
                (back.descr.as_str(), back.shape, back.data),
                ("<f4", shape, data)
            );
        }
        assert!(decode(b"nope").is_err());
    }
}
