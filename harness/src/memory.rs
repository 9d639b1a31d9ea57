//! Host memory figures from `/proc/self/status`, and device memory in use
//! from the CUDA driver.

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
}
