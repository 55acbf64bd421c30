//! Memory settings for a process that runs the ETL as a batch and exits (the `etl` commands, the
//! benchmark); the web server keeps the defaults.
//!
//! The pipeline frees and allocates hundreds of megabytes from step to step. Two defaults made
//! that slow (`make bench`, on a VM whose page cache is full, as any machine's soon is):
//! - mimalloc returns freed memory to the OS within 10 ms, so the next step's allocations fault
//!   in fresh pages, which the kernel must zero: a third of the run's CPU time;
//! - transparent huge pages: a first touch zeroes a whole 2 MiB page, and finding one means
//!   compacting memory first. With them the system time of a 10M-row run was 3.6–4.0 s against
//!   1.4–1.6 s without.

/// `mi_option_purge_delay` in mimalloc's `mi_option_t` (mimalloc.h; not exported by
/// `libmimalloc-sys`).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Keeps the memory this process frees for its own reuse, and leaves huge pages off. Has no
/// allocator effect unless mimalloc is the global allocator.
pub fn prepare_batch_process() {
    // SAFETY: sets one of mimalloc's documented options (`-1`: never purge); options may be
    // changed at any time and are read atomically.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
    // SAFETY: PR_SET_THP_DISABLE takes plain integers and only sets a flag of this process.
    // A failure (an old kernel) leaves huge pages as they were: only slower.
    let _ = unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
}
