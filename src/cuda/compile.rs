//! NVRTC: `kernels/cuda/augment.cu` and its headers (embedded, listed in
//! [`sources`](super::sources)) compiled at run time, once per
//! process and architecture, to a cubin for the device (or to PTX for the
//! driver to JIT when the device is newer than sm_90: see [`NEWEST_OWN_ARCH`]).
//!
//! Raw NVRTC calls rather than cudarc's safe `compile_ptx`: that returns PTX
//! only and drops the log on success, and we want the cubin and ptxas's
//! `-v` report (registers, spills, stack), which `tests/cuda_nvrtc.rs` checks.

use std::ffi::{CStr, CString, c_char, c_int};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use cudarc::nvrtc::sys;

use crate::error::Error;

pub use super::sources::{HEADERS, SOURCE, SOURCE_NAME};

/// Every kernel the source defines, in launch order (the one table,
/// `kernel_args::entry`).
pub use crate::kernel_args::entry::ALL as KERNELS;

/// What NVRTC is asked to produce.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    /// Machine code for `sm_<n>` (n = 10·major + minor).
    Cubin(u32),
    /// PTX for `compute_<n>`, JIT-compiled by the driver.
    Ptx(u32),
}

impl Target {
    /// `sm_<n>` or `compute_<n>`.
    pub fn name(self) -> String {
        match self {
            Target::Cubin(n) => format!("sm_{n}"),
            Target::Ptx(n) => format!("compute_{n}"),
        }
    }

    pub fn arch_option(self) -> String {
        format!("--gpu-architecture={}", self.name())
    }
}

/// A compiled module image and NVRTC's log.
#[derive(Clone, Debug)]
pub struct Compiled {
    pub target: Target,
    /// The cubin, or the PTX text with its terminating NUL.
    pub image: Vec<u8>,
    /// NVRTC's program log (with ptxas's report when `-v` was asked for).
    pub log: String,
}

/// The options every augkit build uses. `--fmad=false`: no contraction of
/// `a·b + c`, so the kernels round exactly as the CPU reference (and the
/// host emulation, built with `-ffp-contract=off`) do; the passes are
/// memory-bound, so fused multiply-adds would buy nothing measurable.
pub fn options(target: Target) -> Vec<String> {
    vec![
        target.arch_option(),
        "--std=c++17".into(),
        "--fmad=false".into(),
        "--device-as-default-execution-space".into(),
    ]
}

/// Environment variable naming the directory (or the `libnvrtc.so.*` file)
/// to load NVRTC from when it is not on the loader's path.
pub const NVRTC_ENV: &str = "AUGKIT_NVRTC_LIB";

static NVRTC_LOADED: OnceLock<Result<(), String>> = OnceLock::new();

/// Makes sure libnvrtc can be loaded, without panicking: cudarc loads it by
/// bare name (LD_LIBRARY_PATH / rpath) and panics when it cannot. If that
/// fails and `AUGKIT_NVRTC_LIB` is set, loads `libnvrtc.so.13` and its
/// builtins from there first (the dynamic loader then resolves cudarc's bare
/// names to the already loaded libraries).
pub fn ensure_nvrtc() -> Result<(), Error> {
    NVRTC_LOADED
        .get_or_init(|| {
            // SAFETY: only tries to open the library.
            if unsafe { sys::is_culib_present() } {
                return Ok(());
            }
            match std::env::var_os(NVRTC_ENV) {
                Some(path) => load_nvrtc_from(Path::new(&path)),
                None => Err(format!(
                    "libnvrtc is not on the library path; set LD_LIBRARY_PATH or {NVRTC_ENV} \
                     to the directory holding libnvrtc.so.13 (pip: nvidia-cuda-nvrtc, \
                     site-packages/nvidia/cu13/lib)"
                )),
            }
        })
        .clone()
        .map_err(Error::NoNvrtc)
}

/// Loads NVRTC (and `libnvrtc-builtins`) from `path` (a directory, or the
/// library file) unless it is already loadable, and keeps it loaded for the
/// life of the process. Call before anything else in `augkit::cuda` to use
/// an NVRTC that is not on the loader's path (e.g. a pip wheel's).
pub fn use_nvrtc_from(path: &Path) -> Result<(), Error> {
    NVRTC_LOADED
        .get_or_init(|| {
            // SAFETY: only tries to open the library.
            if unsafe { sys::is_culib_present() } {
                Ok(())
            } else {
                load_nvrtc_from(path)
            }
        })
        .clone()
        .map_err(Error::NoNvrtc)
}

fn load_nvrtc_from(path: &Path) -> Result<(), String> {
    let dir: PathBuf = if path.is_dir() {
        path.to_path_buf()
    } else {
        path.parent().map(Path::to_path_buf).unwrap_or_default()
    };
    let library = |prefix: &str| -> Option<PathBuf> {
        let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(prefix) && !n.contains(".alt."))
            })
            .collect();
        found.sort();
        found.into_iter().next()
    };
    // Builtins first: libnvrtc opens them by soname when it compiles.
    for prefix in ["libnvrtc-builtins.so.", "libnvrtc.so."] {
        let file = library(prefix)
            .ok_or_else(|| format!("no {prefix}* in {} ({NVRTC_ENV})", dir.display()))?;
        // SAFETY: loading NVRTC runs no initialisers with preconditions;
        // the handle is leaked so the library stays loaded.
        let lib = unsafe { libloading::Library::new(&file) }
            .map_err(|e| format!("cannot load {}: {e}", file.display()))?;
        std::mem::forget(lib);
    }
    // SAFETY: only tries to open the library (now resolved by soname).
    if unsafe { sys::is_culib_present() } {
        Ok(())
    } else {
        Err(format!(
            "loaded NVRTC from {} but cudarc still cannot open it by name",
            dir.display()
        ))
    }
}

fn nvrtc_message(result: sys::nvrtcResult) -> String {
    // SAFETY: NVRTC returns a static NUL-terminated string.
    unsafe {
        let s = sys::nvrtcGetErrorString(result);
        if s.is_null() {
            format!("{result:?}")
        } else {
            CStr::from_ptr(s).to_string_lossy().into_owned()
        }
    }
}

/// The `sm_<n>` values this NVRTC compiles for.
pub fn supported_archs() -> Result<Vec<u32>, Error> {
    ensure_nvrtc()?;
    let mut count: c_int = 0;
    // SAFETY: NVRTC is loaded; writes one int, then `count` ints.
    unsafe {
        let r = sys::nvrtcGetNumSupportedArchs(&mut count);
        if r != sys::nvrtcResult::NVRTC_SUCCESS {
            return Err(Error::NoNvrtc(nvrtc_message(r)));
        }
        let mut archs = vec![0 as c_int; count.max(0) as usize];
        let r = sys::nvrtcGetSupportedArchs(archs.as_mut_ptr());
        if r != sys::nvrtcResult::NVRTC_SUCCESS {
            return Err(Error::NoNvrtc(nvrtc_message(r)));
        }
        Ok(archs.into_iter().map(|a| a as u32).collect())
    }
}

/// NVRTC's version (major, minor).
pub fn nvrtc_version() -> Result<(i32, i32), Error> {
    ensure_nvrtc()?;
    let (mut major, mut minor) = (0, 0);
    // SAFETY: NVRTC is loaded; writes two ints.
    let r = unsafe { sys::nvrtcVersion(&mut major, &mut minor) };
    if r != sys::nvrtcResult::NVRTC_SUCCESS {
        return Err(Error::NoNvrtc(nvrtc_message(r)));
    }
    Ok((major, minor))
}

/// Compiles the embedded source for `target` with [`options`] plus `extra`
/// (e.g. `--ptxas-options=-v`). Not cached: see [`for_device`].
pub fn compile(target: Target, extra: &[&str]) -> Result<Compiled, Error> {
    ensure_nvrtc()?;
    let arch = target.arch_option();
    let fail = |message: String, log: String| Error::Nvrtc {
        source_name: "kernels/cuda/augment.cu",
        arch: arch.clone(),
        message,
        log,
    };
    let source = CString::new(SOURCE).expect("the kernel source has no NUL");
    let cstring = |s: &str| CString::new(s).expect("the kernel headers have no NUL");
    let header_texts: Vec<CString> = HEADERS.iter().map(|(_, text)| cstring(text)).collect();
    let header_names: Vec<CString> = HEADERS.iter().map(|(name, _)| cstring(name)).collect();
    let headers: Vec<*const c_char> = header_texts.iter().map(|h| h.as_ptr()).collect();
    let include_names: Vec<*const c_char> = header_names.iter().map(|h| h.as_ptr()).collect();
    let source_name = cstring(SOURCE_NAME);
    let mut option_strings: Vec<CString> = options(target)
        .into_iter()
        .map(|o| CString::new(o).expect("options have no NUL"))
        .collect();
    option_strings.extend(extra.iter().map(|o| CString::new(*o).expect("no NUL")));
    let option_ptrs: Vec<*const c_char> = option_strings.iter().map(|o| o.as_ptr()).collect();

    let mut program: sys::nvrtcProgram = std::ptr::null_mut();
    // SAFETY: all strings outlive the program, which is destroyed below.
    unsafe {
        let r = sys::nvrtcCreateProgram(
            &mut program,
            source.as_ptr(),
            source_name.as_ptr(),
            headers.len() as c_int,
            headers.as_ptr(),
            include_names.as_ptr(),
        );
        if r != sys::nvrtcResult::NVRTC_SUCCESS {
            return Err(fail(nvrtc_message(r), String::new()));
        }
        let compiled =
            sys::nvrtcCompileProgram(program, option_ptrs.len() as c_int, option_ptrs.as_ptr());
        let log = program_log(program);
        let result = if compiled != sys::nvrtcResult::NVRTC_SUCCESS {
            Err(fail(nvrtc_message(compiled), log))
        } else {
            match program_image(program, target) {
                Ok(image) => Ok(Compiled { target, image, log }),
                Err(r) => Err(fail(nvrtc_message(r), log)),
            }
        };
        sys::nvrtcDestroyProgram(&mut program);
        result
    }
}

/// # Safety
/// `program` is a live NVRTC program.
unsafe fn program_log(program: sys::nvrtcProgram) -> String {
    let mut size = 0usize;
    // SAFETY: per the caller; the buffer has the size NVRTC reported.
    unsafe {
        if sys::nvrtcGetProgramLogSize(program, &mut size) != sys::nvrtcResult::NVRTC_SUCCESS {
            return String::new();
        }
        let mut buf = vec![0u8; size.max(1)];
        if sys::nvrtcGetProgramLog(program, buf.as_mut_ptr().cast())
            != sys::nvrtcResult::NVRTC_SUCCESS
        {
            return String::new();
        }
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        String::from_utf8_lossy(&buf[..end]).into_owned()
    }
}

/// # Safety
/// `program` is a live, successfully compiled NVRTC program.
unsafe fn program_image(
    program: sys::nvrtcProgram,
    target: Target,
) -> Result<Vec<u8>, sys::nvrtcResult> {
    let mut size = 0usize;
    // SAFETY: per the caller; the buffer has the size NVRTC reported.
    unsafe {
        let (r, image) = match target {
            Target::Cubin(_) => {
                let r = sys::nvrtcGetCUBINSize(program, &mut size);
                if r != sys::nvrtcResult::NVRTC_SUCCESS {
                    return Err(r);
                }
                let mut image = vec![0u8; size];
                (
                    sys::nvrtcGetCUBIN(program, image.as_mut_ptr().cast()),
                    image,
                )
            }
            Target::Ptx(_) => {
                let r = sys::nvrtcGetPTXSize(program, &mut size);
                if r != sys::nvrtcResult::NVRTC_SUCCESS {
                    return Err(r);
                }
                // The size includes the terminating NUL cuModuleLoadData needs.
                let mut image = vec![0u8; size];
                (sys::nvrtcGetPTX(program, image.as_mut_ptr().cast()), image)
            }
        };
        if r == sys::nvrtcResult::NVRTC_SUCCESS {
            Ok(image)
        } else {
            Err(r)
        }
    }
}

/// The newest architecture augkit compiles for itself; a newer device gets
/// PTX for it, which the driver compiles for the device (PTX is forward
/// compatible). NVRTC 13's NVVM is several times slower for compute_100 and
/// later on this source — on the 2-core CI machine (2026-12-06) PTX for
/// compute_121 took 628 s against 67 s for compute_90 (32 s against 6 s
/// before the auto ops) — and the passes are memory-bound, so a device
/// specific front end buys nothing that is worth that start-up.
pub const NEWEST_OWN_ARCH: u32 = 90;

/// The target for a device of compute capability `major.minor`: its own
/// cubin when this NVRTC knows the arch and it is not newer than
/// [`NEWEST_OWN_ARCH`]; PTX for the newest arch up to that when the device
/// is newer; an error when this NVRTC cannot compile for it.
pub fn target_for(major: i32, minor: i32) -> Result<Target, Error> {
    let arch = (major * 10 + minor) as u32;
    let archs = supported_archs()?;
    let (Some(&oldest), Some(&newest)) = (archs.iter().min(), archs.iter().max()) else {
        return Err(Error::NoNvrtc(
            "NVRTC reports no supported architectures".into(),
        ));
    };
    let ptx_arch = archs
        .iter()
        .copied()
        .filter(|&a| a <= NEWEST_OWN_ARCH)
        .max()
        .unwrap_or(oldest);
    if arch > ptx_arch {
        Ok(Target::Ptx(ptx_arch))
    } else if archs.contains(&arch) {
        Ok(Target::Cubin(arch))
    } else {
        Err(Error::UnsupportedArch {
            major,
            minor,
            reason: format!("this NVRTC compiles for sm_{oldest}…sm_{newest}"),
        })
    }
}

type Cache = Mutex<Vec<(Target, Arc<Compiled>)>>;
static CACHE: OnceLock<Cache> = OnceLock::new();

/// The module image for a device of compute capability `major.minor`:
/// kept for the life of the process, and on disk between processes (see
/// [`disk_cache`](super::disk_cache): `AUGKIT_CUDA_CACHE`); compiled when
/// neither has it. An image from disk carries no NVRTC log.
pub fn for_device(major: i32, minor: i32) -> Result<Arc<Compiled>, Error> {
    let target = target_for(major, minor)?;
    let cache = CACHE.get_or_init(|| Mutex::new(Vec::new()));
    let mut entries = cache.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, compiled)) = entries.iter().find(|(t, _)| *t == target) {
        return Ok(compiled.clone());
    }
    let on_disk = match super::disk_cache::dir() {
        Some(dir) => Some(dir.join(cache_file_name(target, nvrtc_version()?))),
        None => None,
    };
    let compiled = match on_disk.as_deref().and_then(super::disk_cache::load) {
        Some(image) => Compiled {
            target,
            image,
            log: String::new(),
        },
        None => {
            let compiled = compile(target, &[])?;
            // A cache that cannot be written only costs the next process a
            // compile.
            if let Some(path) = &on_disk {
                let _ = super::disk_cache::store(path, &compiled.image);
            }
            compiled
        }
    };
    let compiled = Arc::new(compiled);
    entries.push((target, compiled.clone()));
    Ok(compiled)
}

/// The disk-cache entry of `target` built by NVRTC `nvrtc` (major, minor):
/// named by everything that decides the image (the source and every header
/// by name, the options, the target, NVRTC's version).
fn cache_file_name(target: Target, nvrtc: (i32, i32)) -> String {
    let options = options(target);
    let compiler = format!("{target:?} nvrtc {}.{}", nvrtc.0, nvrtc.1);
    let mut inputs: Vec<&[u8]> = vec![SOURCE.as_bytes()];
    for (name, text) in HEADERS {
        inputs.extend([name.as_bytes(), text.as_bytes()]);
    }
    inputs.extend(options.iter().map(|o| o.as_bytes()));
    inputs.push(compiler.as_bytes());
    super::disk_cache::file_name(&target.name(), &inputs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_names_differ_by_target_and_nvrtc() {
        let names = [
            cache_file_name(Target::Cubin(90), (13, 0)),
            cache_file_name(Target::Cubin(80), (13, 0)),
            cache_file_name(Target::Ptx(90), (13, 0)),
            cache_file_name(Target::Cubin(90), (13, 1)),
        ];
        for (i, a) in names.iter().enumerate() {
            for b in &names[i + 1..] {
                assert_ne!(a, b);
            }
        }
        assert!(names[0].starts_with("augment-sm_90-"), "{}", names[0]);
        assert!(names[2].starts_with("augment-compute_90-"), "{}", names[2]);
    }
}
