//! Who this process is, in the records other processes read: which server runs a scheduled
//! tick, which one holds the pipeline lock.

/// `process 1234 on board-a`: the process id and the host's name.
pub fn this_process() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let host = host.trim();
    if host.is_empty() {
        format!("process {}", std::process::id())
    } else {
        format!("process {} on {host}", std::process::id())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_the_process_id() {
        let me = super::this_process();
        assert!(
            me.starts_with(&format!("process {}", std::process::id())),
            "{me}"
        );
    }
}
