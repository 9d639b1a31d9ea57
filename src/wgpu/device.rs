//! Opening the device: adapter discovery (a hardware GPU first, else a CPU
//! adapter such as lavapipe; never the OpenGL fallback), the limits and
//! features the backend asks for, and waiting for submitted work.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use ::wgpu as wg;

use crate::error::Error;

use super::STORAGE_BINDINGS;
use crate::kernel_args::StepArgs;

/// How to find the adapter and what to enable.
#[derive(Clone, Debug, Default)]
pub struct WgpuOptions {
    /// Take the first adapter whose name contains this (case-insensitive).
    /// When `None`, the `AUGKIT_WGPU_ADAPTER` environment variable is used
    /// the same way if set; otherwise a hardware GPU first, then any other.
    pub adapter: Option<String>,
    /// Cap on the bytes of one resident binding (a dataset chunk; the index
    /// list, labels, gray means and synthetic model) and of one output
    /// window of the images, below the device's
    /// `max_storage_buffer_binding_size` (tests force the chunked and split
    /// paths and the too-large errors).
    pub max_binding_bytes: Option<u64>,
    /// Send step arguments as a uniform write even where immediates exist.
    pub force_uniform_step_args: bool,
    /// Record GPU timestamps around each pass where the device supports it.
    pub timestamps: bool,
}

/// The adapter as found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdapterReport {
    pub name: String,
    /// `DiscreteGpu`, `IntegratedGpu`, `Cpu`, …
    pub device_type: String,
    pub backend: String,
    pub driver: String,
}

impl std::fmt::Display for AdapterReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}, {}, {})",
            self.name, self.device_type, self.backend, self.driver
        )
    }
}

/// Device setup, separate from the work: adapter, device, queue, and the
/// error and device-lost sinks.
pub struct WgpuDevice {
    pub device: wg::Device,
    pub queue: wg::Queue,
    pub limits: wg::Limits,
    pub features: wg::Features,
    report: AdapterReport,
    errors: Arc<Mutex<Vec<String>>>,
    lost: Arc<AtomicBool>,
    lost_reason: Arc<Mutex<String>>,
}

fn device_rank(t: wg::DeviceType) -> u32 {
    match t {
        wg::DeviceType::DiscreteGpu => 0,
        wg::DeviceType::IntegratedGpu => 1,
        wg::DeviceType::VirtualGpu => 2,
        wg::DeviceType::Cpu => 3,
        wg::DeviceType::Other => 4,
    }
}

impl WgpuDevice {
    /// Finds an adapter (Vulkan, Metal or DX12 only) and opens a device with
    /// the adapter's own limits.
    pub fn new(options: &WgpuOptions) -> Result<Self, Error> {
        runtime_dir::ensure();
        let backends = wg::Backends::VULKAN | wg::Backends::METAL | wg::Backends::DX12;
        let instance = wg::Instance::new(wg::InstanceDescriptor {
            backends,
            ..wg::InstanceDescriptor::new_without_display_handle()
        });
        let adapters = pollster::block_on(instance.enumerate_adapters(backends));
        let wanted = options
            .adapter
            .clone()
            .or_else(|| std::env::var("AUGKIT_WGPU_ADAPTER").ok())
            .filter(|s| !s.is_empty());
        let found: Vec<String> = adapters
            .iter()
            .map(|a| {
                let i = a.get_info();
                format!("{} ({:?}, {:?})", i.name, i.device_type, i.backend)
            })
            .collect();
        let adapter = match &wanted {
            Some(name) => {
                let needle = name.to_lowercase();
                adapters
                    .into_iter()
                    .find(|a| a.get_info().name.to_lowercase().contains(&needle))
                    .ok_or_else(|| {
                        Error::Unavailable(format!(
                            "no Vulkan/Metal/DX12 adapter named like {name:?}; found {found:?}"
                        ))
                    })?
            }
            None => adapters
                .into_iter()
                .filter(|a| a.get_info().backend != wg::Backend::Gl)
                .min_by_key(|a| device_rank(a.get_info().device_type))
                .ok_or_else(|| {
                    Error::Unavailable(
                        "no Vulkan, Metal or DX12 adapter (on Linux without a GPU, install \
                         Mesa's lavapipe: apt-get install mesa-vulkan-drivers)"
                            .into(),
                    )
                })?,
        };
        let info = adapter.get_info();
        let report = AdapterReport {
            name: info.name.clone(),
            device_type: format!("{:?}", info.device_type),
            backend: format!("{:?}", info.backend),
            driver: format!("{} {}", info.driver, info.driver_info),
        };
        let limits = adapter.limits();
        if limits.max_storage_buffers_per_shader_stage < STORAGE_BINDINGS {
            return Err(Error::Unavailable(format!(
                "adapter {report} allows {} storage buffers per stage; augkit binds {STORAGE_BINDINGS}",
                limits.max_storage_buffers_per_shader_stage
            )));
        }
        let offered = adapter.features();
        let mut features = wg::Features::empty();
        if !options.force_uniform_step_args
            && offered.contains(wg::Features::IMMEDIATES)
            && limits.max_immediate_size >= size_of::<StepArgs>() as u32
        {
            features |= wg::Features::IMMEDIATES;
        }
        if options.timestamps && offered.contains(wg::Features::TIMESTAMP_QUERY) {
            features |= wg::Features::TIMESTAMP_QUERY;
            if offered.contains(wg::Features::TIMESTAMP_QUERY_INSIDE_PASSES) {
                features |= wg::Features::TIMESTAMP_QUERY_INSIDE_PASSES;
            }
        }
        let (device, queue) = pollster::block_on(adapter.request_device(&wg::DeviceDescriptor {
            label: Some("augkit"),
            required_features: features,
            required_limits: limits.clone(),
            experimental_features: wg::ExperimentalFeatures::disabled(),
            memory_hints: wg::MemoryHints::Performance,
            trace: wg::Trace::Off,
        }))
        .map_err(|e| Error::Unavailable(format!("adapter {report}: request_device: {e}")))?;

        let errors = Arc::new(Mutex::new(Vec::new()));
        let sink = errors.clone();
        device.on_uncaptured_error(Arc::new(move |e: wg::Error| {
            sink.lock().unwrap().push(e.to_string());
        }));
        let lost = Arc::new(AtomicBool::new(false));
        let lost_reason = Arc::new(Mutex::new(String::new()));
        let (flag, why) = (lost.clone(), lost_reason.clone());
        device.set_device_lost_callback(move |reason, message| {
            flag.store(true, Ordering::SeqCst);
            *why.lock().unwrap() = format!("{reason:?}: {message}");
        });
        Ok(Self {
            device,
            queue,
            limits,
            features,
            report,
            errors,
            lost,
            lost_reason,
        })
    }

    pub fn adapter(&self) -> &AdapterReport {
        &self.report
    }

    /// Whether step arguments go as immediates (else a uniform write).
    pub fn immediates(&self) -> bool {
        self.features.contains(wg::Features::IMMEDIATES)
    }

    /// Device lost, or an error wgpu reported outside an error scope.
    pub fn check(&self) -> Result<(), Error> {
        if self.lost.load(Ordering::SeqCst) {
            return Err(Error::Device(format!(
                "device lost: {}",
                self.lost_reason.lock().unwrap()
            )));
        }
        let mut errors = self.errors.lock().unwrap();
        if !errors.is_empty() {
            let all = errors.join("; ");
            errors.clear();
            return Err(Error::Device(all));
        }
        Ok(())
    }

    /// Blocks until all submitted work is done.
    pub fn wait(&self) -> Result<(), Error> {
        self.device
            .poll(wg::PollType::wait_indefinitely())
            .map_err(|e| Error::Device(format!("poll: {e}")))?;
        self.check()
    }
}

/// Mesa's Vulkan drivers (lavapipe included) print "error: XDG_RUNTIME_DIR
/// is invalid or not set in the environment." on stderr when the variable is
/// unset or names no private directory — nothing is wrong for compute, but a
/// user reads "error". Where it is unset or unusable, this points it at a
/// private (0700) directory of this user's, before the first instance.
#[cfg(unix)]
mod runtime_dir {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    use std::path::Path;
    use std::sync::Once;

    /// A directory Mesa accepts: ours, a real directory, no access for others.
    fn usable(path: &Path, uid: u32) -> bool {
        std::fs::symlink_metadata(path)
            .is_ok_and(|m| m.is_dir() && m.uid() == uid && m.permissions().mode() & 0o077 == 0)
    }

    pub fn ensure() {
        static ONCE: Once = Once::new();
        ONCE.call_once(|| {
            let Ok(uid) = std::fs::metadata("/proc/self").map(|m| m.uid()) else {
                return;
            };
            if std::env::var_os("XDG_RUNTIME_DIR").is_some_and(|d| usable(Path::new(&d), uid)) {
                return;
            }
            let dir = std::env::temp_dir().join(format!("augkit-runtime-{uid}"));
            // An existing one is used only if it is ours and private (another
            // user may have made it first, to read what goes there).
            let _ = std::fs::DirBuilder::new().mode(0o700).create(&dir);
            if usable(&dir, uid) {
                // SAFETY: set once, before this process's first wgpu instance;
                // glibc's setenv keeps the old environment readable, so a
                // thread reading the environment meanwhile sees the old or the
                // new value, never freed memory.
                unsafe { std::env::set_var("XDG_RUNTIME_DIR", &dir) };
            }
        });
    }
}

#[cfg(not(unix))]
mod runtime_dir {
    pub fn ensure() {}
}
