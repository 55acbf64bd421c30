//! Files as a run writes them: hashed while written (never read back for a checksum), handed to
//! the disk as they grow, copied and hashed side by side.

use std::fs;
use std::io::{Read, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// SHA-256 and size of a file, streamed.
pub fn sha256_file(path: &Path) -> std::io::Result<(String, u64)> {
    let mut file = fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok((hex::encode(hasher.finalize()), size))
}

/// A writer that hashes what goes through it: a stage's output checksummed as it is written,
/// never read back for it.
pub struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: std::io::Write> HashingWriter<W> {
    pub fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    /// The inner writer, and the SHA-256 and size of everything written.
    pub fn finish(self) -> (W, String, u64) {
        (self.inner, hex::encode(self.hasher.finalize()), self.bytes)
    }
}

impl<W: std::io::Write> std::io::Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// A file being written whose pages are handed to the disk as it grows (Linux's
/// `sync_file_range`, start only, no waiting): the `fsync` that ends a stage's output then finds
/// most of them written, where it waited for a whole file's pages while the cores sat idle
/// (about 25 ms per 70 MB file). Only a hint: durability still comes from that `fsync`.
pub struct WritebackFile {
    file: fs::File,
    written: u64,
    /// Bytes before this were handed to the disk already.
    started_to: u64,
}

/// Bytes written between two hand-overs.
const WRITEBACK_STEP: u64 = 8 << 20;

impl WritebackFile {
    pub fn new(file: fs::File) -> Self {
        WritebackFile {
            file,
            written: 0,
            started_to: 0,
        }
    }

    pub fn into_inner(self) -> fs::File {
        self.file
    }

    fn start_writeback(&mut self) {
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            let (from, len) = (
                self.started_to as i64,
                (self.written - self.started_to) as i64,
            );
            // SAFETY: the descriptor is the open file's, valid while `self.file` lives; the call
            // reads no memory of ours. Its result is ignored: it is a hint (the `fsync` decides).
            unsafe {
                libc::sync_file_range(
                    self.file.as_raw_fd(),
                    from,
                    len,
                    libc::SYNC_FILE_RANGE_WRITE,
                )
            };
        }
        self.started_to = self.written;
    }
}

impl std::io::Write for WritebackFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(buf)?;
        self.written += n as u64;
        if self.written - self.started_to >= WRITEBACK_STEP {
            self.start_writeback();
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// Copies `from` to a new file `to` and returns the SHA-256 and size of the bytes written. Each
/// block read is hashed while it is written and the next one read: hashing is the slowest part
/// (one core, a few hundred MB/s), so the copy hides behind it, where copying the file and then
/// reading the copy back to hash it took both times in turn. The checksum is the copy's: it is
/// computed on exactly the bytes written, even if the original changes meanwhile.
pub fn copy_and_hash(from: &Path, to: &Path) -> Result<(String, u64), CopyError> {
    const BLOCK: usize = 1 << 20;
    let mut src = fs::File::open(from).map_err(CopyError::Read)?;
    let mut dst = fs::File::create(to).map_err(CopyError::Write)?;
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    // A thread reads and writes blocks, this one hashes them; buffers go round between the two
    // (blocking channels: neither spins while the other works).
    let (full_tx, full_rx) = std::sync::mpsc::sync_channel::<(Vec<u8>, usize)>(BUFFERS);
    let (empty_tx, empty_rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(BUFFERS);
    for _ in 0..BUFFERS {
        // Cannot fail: the channel holds them all and its receiver is alive.
        let _ = empty_tx.send(vec![0u8; BLOCK]);
    }
    std::thread::scope(|scope| {
        let copier = scope.spawn(move || -> Result<(), CopyError> {
            while let Ok(mut block) = empty_rx.recv() {
                let filled = read_block(&mut src, &mut block).map_err(CopyError::Read)?;
                if filled == 0 {
                    break;
                }
                dst.write_all(&block[..filled]).map_err(CopyError::Write)?;
                if full_tx.send((block, filled)).is_err() {
                    break;
                }
            }
            dst.flush().map_err(CopyError::Write)
        });
        for (block, filled) in full_rx {
            hasher.update(&block[..filled]);
            size += filled as u64;
            // The copier may have finished: then the block is simply dropped.
            let _ = empty_tx.send(block);
        }
        copier
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })?;
    Ok((hex::encode(hasher.finalize()), size))
}

/// Blocks in flight between the copier and the hasher.
const BUFFERS: usize = 3;

/// Which side of [`copy_and_hash`] failed.
#[derive(Debug)]
pub enum CopyError {
    Read(std::io::Error),
    Write(std::io::Error),
}

/// Fills `buf` from `file` as far as it goes; the bytes read (less than its length only at the
/// end of the file).
fn read_block(file: &mut fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_and_hash_copies_every_byte_and_hashes_the_copy() {
        let dir = tempfile::tempdir().unwrap();
        // Blocks of 1 MiB: sizes around a block's end, and an empty file.
        for len in [0, 1, (1 << 20) - 1, 1 << 20, (1 << 20) + 1, 3 << 20] {
            let from = dir.path().join(format!("from_{len}"));
            let to = dir.path().join(format!("to_{len}"));
            let content: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            fs::write(&from, &content).unwrap();
            let (sha, size) = copy_and_hash(&from, &to).unwrap();
            assert_eq!(fs::read(&to).unwrap(), content, "{len}");
            assert_eq!((sha.clone(), size), sha256_file(&to).unwrap(), "{len}");
            assert_eq!(sha, sha256_hex(&content));
        }
        let missing = copy_and_hash(&dir.path().join("missing"), &dir.path().join("x"));
        assert!(matches!(missing, Err(CopyError::Read(_))));
    }
}
