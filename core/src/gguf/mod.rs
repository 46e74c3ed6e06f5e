//! A reader for GGUF files, versions 2 and 3, over a memory map.
//!
//! The layout (all little-endian): the magic `GGUF`, a u32 version, a u64 tensor count, a u64
//! metadata entry count, the metadata entries (key string, u32 value type, value), the tensor
//! infos (name string, u32 dimension count, u64 dimensions, u32 type id, u64 data offset),
//! then padding to `general.alignment` (default 32) and the tensor data.
//!
//! Files come from outside, so everything read is checked before it is trusted: a corrupt or
//! truncated file gives a [`GgufError`] naming the key or tensor and the byte offset, never a
//! panic, and no count read from the file is allocated for before the bytes it implies are
//! known to be there.

mod cursor;
mod error;
mod metadata;
mod tensor;
mod value;

use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::ops::Deref;
use std::path::Path;

use memmap2::Mmap;

use cursor::Cursor;
pub use error::GgufError;
pub use metadata::Metadata;
pub use tensor::TensorInfo;
pub use value::Value;

const MAGIC: &[u8; 4] = b"GGUF";

/// Used when the file has no `general.alignment`.
pub const DEFAULT_ALIGNMENT: u32 = 32;

/// The smallest metadata entry: an empty key's length, the value type and a one-byte value.
const MIN_ENTRY_BYTES: u64 = 8 + 4 + 1;

/// Infos reserve at most this many slots up front; see `value::MAX_RESERVE` for why.
const MAX_RESERVE: u64 = 1 << 16;

/// A parsed GGUF file, holding its bytes so tensor data can be borrowed from it.
pub struct GgufFile {
    bytes: Bytes,
    version: u32,
    metadata: Metadata,
    tensors: Vec<TensorInfo>,
    by_name: HashMap<String, usize>,
    alignment: u32,
    data_offset: u64,
}

enum Bytes {
    Mapped(Mmap),
    Owned(Vec<u8>),
}

impl Deref for Bytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Mapped(m) => m,
            Bytes::Owned(v) => v,
        }
    }
}

impl GgufFile {
    /// Maps and parses the file; every error carries the path.
    pub fn open(path: &Path) -> Result<Self, GgufError> {
        let io_error = |error| GgufError::Io {
            path: path.to_owned(),
            error,
        };
        let file = File::open(path).map_err(io_error)?;
        // SAFETY: the map is read-only and private to this process. Another process truncating
        // or rewriting the file while it is mapped would change the bytes under us (or fault on
        // access); like every mmap-based model loader, wick requires model files to stay put
        // while they are in use.
        let map = unsafe { Mmap::map(&file) }.map_err(io_error)?;
        Self::parse(Bytes::Mapped(map)).map_err(|error| GgufError::InFile {
            path: path.to_owned(),
            error: Box::new(error),
        })
    }

    /// Parses a GGUF image held in memory, as `open` parses a mapped file.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, GgufError> {
        Self::parse(Bytes::Owned(bytes))
    }

    fn parse(bytes: Bytes) -> Result<Self, GgufError> {
        let mut cur = Cursor::new(&bytes);
        let version = read_header(&mut cur)?;

        let tensor_count = cur.count(tensor::MIN_INFO_BYTES, || "tensor count".to_owned())?;
        let entry_count = cur.count(MIN_ENTRY_BYTES, || "metadata entry count".to_owned())?;

        // Counts are bounded by the file size above, so they fit in usize.
        let mut metadata = Metadata::with_capacity(entry_count.min(MAX_RESERVE) as usize);
        for index in 0..entry_count {
            let at = cur.pos();
            let key = cur.string(|| format!("key of metadata entry #{index}"))?;
            let value = value::read_typed_value(&mut cur, key)?;
            metadata
                .insert(key.to_owned(), value)
                .map_err(|key| GgufError::DuplicateKey { key, offset: at })?;
        }

        let alignment = match metadata.opt_u32("general.alignment")? {
            None => DEFAULT_ALIGNMENT,
            Some(a) if a.is_power_of_two() => a,
            Some(value) => return Err(GgufError::InvalidAlignment { value }),
        };

        let mut tensors = Vec::with_capacity(tensor_count.min(MAX_RESERVE) as usize);
        let mut by_name = HashMap::with_capacity(tensors.capacity());
        for index in 0..tensor_count {
            let at = cur.pos();
            let info = tensor::read_info(&mut cur, index)?;
            if by_name.contains_key(&info.name) {
                return Err(GgufError::DuplicateTensor {
                    tensor: info.name,
                    offset: at,
                });
            }
            by_name.insert(info.name.clone(), tensors.len());
            tensors.push(info);
        }

        // The data section starts at the first aligned offset after the infos. The position is
        // at most the file size, so rounding it up cannot overflow.
        let data_offset = cur.pos().next_multiple_of(u64::from(alignment));
        let file_size = bytes.len() as u64;
        for info in &mut tensors {
            tensor::place(info, data_offset, u64::from(alignment), file_size)?;
        }

        Ok(GgufFile {
            bytes,
            version,
            metadata,
            tensors,
            by_name,
            alignment,
            data_offset,
        })
    }

    pub fn version(&self) -> u32 {
        self.version
    }

    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// Tensor infos in file order.
    pub fn tensors(&self) -> &[TensorInfo] {
        &self.tensors
    }

    pub fn tensor(&self, name: &str) -> Option<&TensorInfo> {
        self.by_name.get(name).map(|&i| &self.tensors[i])
    }

    /// The tensor's `n_bytes` bytes of data.
    ///
    /// # Panics
    /// If `t` is not an info of this file and lies outside it.
    pub fn tensor_data(&self, t: &TensorInfo) -> &[u8] {
        // Infos of this file were checked to lie inside it, so these casts are lossless.
        &self.bytes[t.offset as usize..(t.offset + t.n_bytes) as usize]
    }

    pub fn file_size(&self) -> u64 {
        self.bytes.len() as u64
    }

    /// The alignment of tensor data in bytes: `general.alignment`, or 32.
    pub fn alignment(&self) -> u32 {
        self.alignment
    }

    /// The absolute byte offset where the data section starts.
    pub fn data_offset(&self) -> u64 {
        self.data_offset
    }
}

impl fmt::Debug for GgufFile {
    /// A summary: the metadata alone can hold hundreds of thousands of values.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GgufFile")
            .field("version", &self.version)
            .field("metadata_entries", &self.metadata.len())
            .field("tensors", &self.tensors.len())
            .field("alignment", &self.alignment)
            .field("data_offset", &self.data_offset)
            .field("file_size", &self.file_size())
            .finish()
    }
}

/// Checks the magic and returns the version, which must be 2 or 3.
fn read_header(cur: &mut Cursor<'_>) -> Result<u32, GgufError> {
    let magic = cur.peek_prefix(MAGIC.len());
    if !MAGIC.starts_with(magic) {
        return Err(GgufError::BadMagic {
            found: magic.escape_ascii().to_string(),
        });
    }
    cur.take(MAGIC.len() as u64, || "magic".to_owned())?;
    let version = cur.u32(|| "version".to_owned())?;
    match version {
        2 | 3 => Ok(version),
        // Big-endian files store the version byte-swapped; their low bytes are then zero.
        v if matches!(v.swap_bytes(), 2 | 3) => Err(GgufError::BigEndian {
            version: v.swap_bytes(),
        }),
        v => Err(GgufError::UnsupportedVersion { version: v }),
    }
}
