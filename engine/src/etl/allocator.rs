//! How a batch process running the ETL tells the allocator to keep freed memory.
//!
//! The pipeline frees and allocates hundreds of megabytes from step to step (the validated
//! chunks, then the sorted columns, then the derived ones). By default mimalloc returns freed
//! memory to the OS within 10 ms, so the next step's allocations fault in fresh pages, which the
//! kernel must zero: on a VM that zeroing was a third of the run's CPU time (`make bench`).
//! Kept, the memory is reused. Only for a process that exits after the run (the `etl` commands,
//! the benchmark): the web server keeps mimalloc's default and gives memory back.

/// `mi_option_purge_delay` in mimalloc's `mi_option_t` (mimalloc.h; not exported by
/// `libmimalloc-sys`).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Keeps memory freed by this process for its own reuse, never returning it to the OS. Has no
/// effect unless mimalloc is the global allocator.
pub fn keep_freed_memory() {
    // SAFETY: sets one of mimalloc's documented options (`-1`: never purge); options may be
    // changed at any time and are read atomically.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
}
