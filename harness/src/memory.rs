//! Host memory figures from `/proc/self/status`, and device memory in use
//! from the CUDA driver; and the reset that makes a peak one run's own when
//! several runs share a process (the cells of an experiment).

/// Device memory in use on the current CUDA context's device (total − free,
/// from `cuMemGetInfo`): libtorch's caching allocator's reserve included,
/// and other processes' use of the same GPU. `None` without a driver or a
/// current context.
pub fn device_used_bytes() -> Option<u64> {
    if !augkit::cuda::driver_present() {
        return None;
    }
    let (free, total) = cudarc::driver::result::mem_get_info().ok()?;
    Some((total - free) as u64)
}

/// Starts a new peak for the run about to begin: hands the heap memory that
/// earlier runs freed back to the system (glibc's `malloc_trim(0)`, so it no
/// longer counts as resident), then resets the kernel's high-water mark
/// `VmHWM` to the current resident size (writing `5` to
/// `/proc/self/clear_refs`, Linux ≥ 4.0). From here [`peak_rss_bytes`] is the
/// peak of what follows. Returns whether the high-water mark was reset.
pub fn reset_peak() -> bool {
    release_free_heap();
    std::fs::write("/proc/self/clear_refs", b"5").is_ok()
}

/// Returns freed heap pages to the system (glibc), so that the resident
/// size counts live memory only. A no-op elsewhere.
pub fn release_free_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        unsafe extern "C" {
            fn malloc_trim(pad: usize) -> i32;
        }
        // SAFETY: malloc_trim only releases free memory of glibc's own
        // arenas; it takes no pointers and is thread-safe.
        unsafe {
            malloc_trim(0);
        }
    }
}

/// Resident size after [`release_free_heap`]: live memory only, the baseline
/// for measuring what a piece of set-up adds.
pub fn live_rss_bytes() -> Option<u64> {
    release_free_heap();
    current_rss_bytes()
}

/// Peak resident set size of this process so far (`VmHWM`), in bytes.
/// `None` where `/proc` is not available (not Linux).
pub fn peak_rss_bytes() -> Option<u64> {
    status_field_kib("VmHWM:").map(|kib| kib * 1024)
}

/// Current resident set size (`VmRSS`), in bytes.
pub fn current_rss_bytes() -> Option<u64> {
    status_field_kib("VmRSS:").map(|kib| kib * 1024)
}

fn status_field_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_kib(&status, field)
}

/// Parses `Field:   1234 kB` out of a `/proc/<pid>/status` text.
pub fn parse_kib(status: &str, field: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with(field))?;
    let mut words = line[field.len()..].split_whitespace();
    let value = words.next()?.parse().ok()?;
    (words.next() == Some("kB")).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status_lines() {
        let text = "Name:\taugkit\nVmHWM:\t  123456 kB\nVmRSS:\t   1000 kB\n";
        assert_eq!(parse_kib(text, "VmHWM:"), Some(123456));
        assert_eq!(parse_kib(text, "VmRSS:"), Some(1000));
        assert_eq!(parse_kib(text, "VmSwap:"), None);
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn peak_is_at_least_current() {
        // One snapshot: other test threads allocate between two reads of
        // `/proc/self/status`, so a later `VmRSS` can exceed an earlier
        // `VmHWM`; within one read the kernel reports the high-water mark
        // as at least the resident size it prints beside it.
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let peak = parse_kib(&status, "VmHWM:").unwrap();
        let now = parse_kib(&status, "VmRSS:").unwrap();
        assert!(peak >= now && now > 0, "VmHWM {peak} kB < VmRSS {now} kB");
        assert!(peak_rss_bytes().unwrap() > 0 && current_rss_bytes().unwrap() > 0);
    }

    /// After a reset the high-water mark is the resident size, not the
    /// process's earlier peak (here: 64 MiB touched and freed before it).
    #[test]
    #[cfg(target_os = "linux")]
    fn reset_forgets_an_earlier_peak() {
        let big = vec![1u8; 64 << 20];
        let touched: u64 = big.iter().step_by(4096).map(|&b| u64::from(b)).sum();
        assert!(touched > 0);
        drop(big);
        let before = peak_rss_bytes().unwrap();
        assert!(reset_peak(), "/proc/self/clear_refs not writable");
        let after = peak_rss_bytes().unwrap();
        // Other test threads may allocate meanwhile, but not 64 MiB.
        assert!(after + (48 << 20) < before, "{after} vs {before}");
    }
}
