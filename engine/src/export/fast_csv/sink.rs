//! The bytes gathered for the output.

use std::io::Write;

/// Bytes gathered before they are handed to the output (a pipe, a file, an HTTP body): few
/// large writes instead of many small ones.
pub(super) const OUT_BUFFER: usize = 1 << 20;

/// Gathers bytes and hands them to `out` in pieces of about [`OUT_BUFFER`].
pub(in crate::export) struct Sink<W: Write> {
    pub(in crate::export) buf: Vec<u8>,
    out: W,
}

impl<W: Write> Sink<W> {
    pub(in crate::export) fn new(out: W) -> Self {
        Sink {
            buf: Vec::with_capacity(OUT_BUFFER + 64 * 1024),
            out,
        }
    }

    /// Hands the gathered bytes over once there are enough of them.
    pub(super) fn maybe_flush(&mut self) -> std::io::Result<()> {
        if self.buf.len() >= OUT_BUFFER {
            self.out.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    /// Hands `bytes` over after what is gathered: a large piece directly, without a copy.
    pub(super) fn put(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        if bytes.len() < 64 * 1024 {
            self.buf.extend_from_slice(bytes);
            return self.maybe_flush();
        }
        if !self.buf.is_empty() {
            self.out.write_all(&self.buf)?;
            self.buf.clear();
        }
        self.out.write_all(bytes)
    }
}

impl<W: Write> Write for Sink<W> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        self.maybe_flush()?;
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if !self.buf.is_empty() {
            self.out.write_all(&self.buf)?;
            self.buf.clear();
        }
        self.out.flush()
    }
}
