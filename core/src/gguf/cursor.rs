//! Bounds-checked little-endian reads over the file bytes.
//!
//! Every read is told what it reads, as a closure so that the description is only formatted
//! when the read fails: the token array alone makes hundreds of thousands of reads.

use super::GgufError;

pub(super) struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Self {
        Cursor { bytes, pos: 0 }
    }

    pub(super) fn pos(&self) -> u64 {
        self.pos as u64
    }

    fn remaining(&self) -> u64 {
        (self.bytes.len() - self.pos) as u64
    }

    /// Up to `n` bytes from the position, fewer at the end of the file, without reading them.
    pub(super) fn peek_prefix(&self, n: usize) -> &'a [u8] {
        let end = self.bytes.len().min(self.pos.saturating_add(n));
        &self.bytes[self.pos..end]
    }

    pub(super) fn take(
        &mut self,
        n: u64,
        what: impl Fn() -> String,
    ) -> Result<&'a [u8], GgufError> {
        if n > self.remaining() {
            return Err(GgufError::Truncated {
                what: what(),
                offset: self.pos(),
                needed: n,
                available: self.remaining(),
            });
        }
        // n <= remaining, which is a usize, so the cast is lossless.
        let start = self.pos;
        self.pos += n as usize;
        Ok(&self.bytes[start..self.pos])
    }

    fn array<const N: usize>(&mut self, what: impl Fn() -> String) -> Result<[u8; N], GgufError> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N as u64, what)?);
        Ok(out)
    }

    pub(super) fn u8(&mut self, what: impl Fn() -> String) -> Result<u8, GgufError> {
        Ok(self.array::<1>(what)?[0])
    }

    pub(super) fn u16(&mut self, what: impl Fn() -> String) -> Result<u16, GgufError> {
        self.array(what).map(u16::from_le_bytes)
    }

    pub(super) fn u32(&mut self, what: impl Fn() -> String) -> Result<u32, GgufError> {
        self.array(what).map(u32::from_le_bytes)
    }

    pub(super) fn u64(&mut self, what: impl Fn() -> String) -> Result<u64, GgufError> {
        self.array(what).map(u64::from_le_bytes)
    }

    /// Reads a u64 count of items that take at least `min_item_bytes` each, and rejects it
    /// unless that many items fit in the rest of the file. Callers may then allocate for it.
    pub(super) fn count(
        &mut self,
        min_item_bytes: u64,
        what: impl Fn() -> String,
    ) -> Result<u64, GgufError> {
        let offset = self.pos();
        let count = self.u64(&what)?;
        let available = self.remaining();
        if count > available / min_item_bytes.max(1) {
            return Err(GgufError::CountTooLarge {
                what: what(),
                offset,
                count,
                available,
            });
        }
        Ok(count)
    }

    /// Reads a GGUF string: a u64 byte length, then that many bytes of UTF-8.
    pub(super) fn string(&mut self, what: impl Fn() -> String) -> Result<&'a str, GgufError> {
        let len = self.count(1, || format!("length of {}", what()))?;
        let offset = self.pos();
        let bytes = self.take(len, &what)?;
        std::str::from_utf8(bytes).map_err(|_| GgufError::InvalidUtf8 {
            what: what(),
            offset,
        })
    }
}
