//! Makes the `augkit` binary (and tests) run with no environment set.
//!
//! tch links libtorch without an rpath, and the linker's `--as-needed` drops
//! `libtorch_cuda.so` because nothing references it by symbol — then CUDA is
//! silently unavailable at run time (DESIGN §4). torch-sys exports the library
//! directory as `DEP_TCH_LIBTORCH_LIB` (its `links = "tch"`); we bake it in as
//! an rpath, force-link `torch_cuda`, and add an rpath to the venv's
//! `nvidia/cu13/lib` (NVRTC and the CUDA runtime libraries libtorch needs).

use std::path::{Path, PathBuf};

fn main() {
    tch_version();
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") else {
        println!(
            "cargo:warning=DEP_TCH_LIBTORCH_LIB is not set; the binary gets no libtorch rpath"
        );
        return;
    };
    let lib = PathBuf::from(lib);
    println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
    if lib.join("libtorch_cuda.so").exists() {
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
        println!("cargo:rustc-link-arg=-L{}", lib.display());
        println!("cargo:rustc-link-arg=-ltorch_cuda");
        println!("cargo:rustc-link-arg=-ltorch");
        println!("cargo:rustc-link-arg=-Wl,--as-needed");
    }
    if let Some(cuda) = cuda_lib_dir(&lib) {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", cuda.display());
    }
    // `<torch>/version.py` says `__version__ = '2.11.0+cu130'`: recorded in
    // every result's provenance.
    let version_py = lib.parent().map(|torch| torch.join("version.py"));
    if let Some(text) = version_py
        .as_ref()
        .and_then(|p| std::fs::read_to_string(p).ok())
    {
        println!(
            "cargo:rerun-if-changed={}",
            version_py.as_ref().unwrap().display()
        );
        let version = text
            .lines()
            .find_map(|l| l.strip_prefix("__version__"))
            .and_then(|rest| rest.split(['\'', '"']).nth(1));
        if let Some(version) = version {
            println!("cargo:rustc-env=AUGKIT_TORCH_VERSION={version}");
        }
    }
}

/// `<site-packages>/nvidia/cu13/lib` next to `<site-packages>/torch/lib`.
fn cuda_lib_dir(torch_lib: &Path) -> Option<PathBuf> {
    let site_packages = torch_lib.parent()?.parent()?;
    let dir = site_packages.join("nvidia").join("cu13").join("lib");
    dir.is_dir().then_some(dir)
}

/// The tch version the harness is built with, from the workspace's
/// `Cargo.lock` (the resolved version, not the requirement): recorded in
/// every result's provenance.
fn tch_version() {
    let Some(lock) = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(|dir| PathBuf::from(dir).join("..").join("Cargo.lock"))
    else {
        return;
    };
    println!("cargo:rerun-if-changed={}", lock.display());
    let Ok(text) = std::fs::read_to_string(&lock) else {
        return;
    };
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line == "name = \"tch\""
            && let Some(version) = lines
                .next()
                .and_then(|l| l.strip_prefix("version = \""))
                .and_then(|v| v.strip_suffix('"'))
        {
            println!("cargo:rustc-env=AUGKIT_TCH_VERSION={version}");
            return;
        }
    }
}
