// The CUDA kernel sources, embedded: the translation unit and every header it
// includes, by the name it includes them under. One list for NVRTC
// (`compile.rs` hands the headers over by name), the disk cache's digest
// and the host-emulation build (`tests/cuda-host/build.rs` `include!`s this
// file, hence plain comments and no `use`).

/// The translation unit's name, as NVRTC and the logs call it.
pub const SOURCE_NAME: &str = "augment.cu";

/// The translation unit: the entry points, including every header below.
pub const SOURCE: &str = include_str!("../../kernels/cuda/augment.cu");

/// A header of `kernels/cuda` by name: (name, source).
macro_rules! header {
    ($name:literal) => {
        ($name, include_str!(concat!("../../kernels/cuda/", $name)))
    };
}

/// The headers `augment.cu` includes, in include order: (name, source).
/// Each but the prelude transcribes the Rust file of the same name.
pub const HEADERS: [(&str, &str); 8] = [
    header!("prelude.cuh"),
    header!("abi.cuh"),
    header!("philox.cuh"),
    header!("draws.cuh"),
    header!("shuffle.cuh"),
    header!("params.cuh"),
    header!("pixel.cuh"),
    header!("auto.cuh"),
];

#[cfg(test)]
mod tests {
    use super::*;

    /// The `#include "…"` lines of `text`, in order.
    fn includes(text: &str) -> Vec<&str> {
        text.lines()
            .filter_map(|l| l.trim().strip_prefix("#include \""))
            .filter_map(|l| l.strip_suffix('"'))
            .collect()
    }

    #[test]
    fn the_header_list_is_what_the_source_includes() {
        let names: Vec<&str> = HEADERS.iter().map(|(name, _)| *name).collect();
        assert_eq!(includes(SOURCE), names);
        for (name, text) in HEADERS {
            assert!(includes(text).is_empty(), "{name} includes another file");
        }
    }
}
