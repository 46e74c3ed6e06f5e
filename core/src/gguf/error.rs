//! The one error type of the GGUF reader.
//!
//! Every message is a single line that names what is wrong: the metadata key or tensor name
//! (quoted with Rust escapes, so a name holding a newline cannot break the line), the byte
//! offset in the file and the offending value. Display is self-contained, so no variant
//! reports a `source()`: printing the chain would only repeat the message.

use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::quant::{GgmlType, QuantError};

#[derive(Debug, Error)]
pub enum GgufError {
    #[error("{}: {error}", path.display())]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },

    /// Wraps every parse error of [`GgufFile::open`](super::GgufFile::open) with the path.
    #[error("{}: {error}", path.display())]
    InFile {
        path: PathBuf,
        error: Box<GgufError>,
    },

    /// `found` holds the first bytes, escaped as ASCII.
    #[error("not a GGUF file: it starts with \"{found}\", not \"GGUF\"")]
    BadMagic { found: String },

    #[error("unsupported GGUF version {version}: only versions 2 and 3 are supported")]
    UnsupportedVersion { version: u32 },

    #[error("big-endian GGUF (version {version} byte-swapped) is not supported")]
    BigEndian { version: u32 },

    #[error("truncated: {what} at byte {offset} needs {needed} bytes, only {available} remain")]
    Truncated {
        what: String,
        offset: u64,
        needed: u64,
        available: u64,
    },

    /// A count or length read from the file cannot fit in the bytes after it. This is checked
    /// before anything is allocated from the count.
    #[error(
        "{what} at byte {offset} is {count}, more than the {available} remaining bytes can hold \
         (corrupt or truncated file)"
    )]
    CountTooLarge {
        what: String,
        offset: u64,
        count: u64,
        available: u64,
    },

    #[error("{what} at byte {offset} is not valid UTF-8")]
    InvalidUtf8 { what: String, offset: u64 },

    #[error("metadata key {key:?}: unknown value type id {id} at byte {offset}")]
    UnknownValueType { key: String, offset: u64, id: u32 },

    #[error("metadata key {key:?}: bool at byte {offset} is {value}, neither 0 nor 1")]
    InvalidBool { key: String, offset: u64, value: u8 },

    #[error("metadata key {key:?}: arrays nested deeper than {max} levels at byte {offset}")]
    ArrayTooDeep { key: String, offset: u64, max: u32 },

    #[error("metadata key {key:?} at byte {offset} appears twice")]
    DuplicateKey { key: String, offset: u64 },

    #[error("general.alignment is {value}, not a nonzero power of two")]
    InvalidAlignment { value: u32 },

    #[error("tensor {tensor:?} at byte {offset} has {n_dims} dimensions, expected 1 to 4")]
    InvalidDimCount {
        tensor: String,
        offset: u64,
        n_dims: u32,
    },

    #[error("tensor {tensor:?} at byte {offset}: element count of dims {dims:?} overflows u64")]
    ElementCountOverflow {
        tensor: String,
        offset: u64,
        dims: Vec<u64>,
    },

    #[error("tensor {tensor:?} at byte {offset}: unknown tensor type id {id}")]
    UnknownTensorType {
        tensor: String,
        offset: u64,
        id: u32,
    },

    /// The element count does not fill whole blocks of the type, or its size overflows u64.
    #[error("tensor {tensor:?} at byte {offset} of type {ty}: {error}")]
    TensorSize {
        tensor: String,
        offset: u64,
        ty: GgmlType,
        error: QuantError,
    },

    #[error("tensor {tensor:?} at byte {offset} appears twice")]
    DuplicateTensor { tensor: String, offset: u64 },

    #[error(
        "tensor {tensor:?}: data offset {offset} is not a multiple of the alignment {alignment}"
    )]
    MisalignedTensor {
        tensor: String,
        offset: u64,
        alignment: u64,
    },

    #[error(
        "tensor {tensor:?}: {n_bytes} bytes at data offset {offset} (data starts at byte \
         {data_offset}) run past the end of the {file_size}-byte file"
    )]
    TensorOutOfBounds {
        tensor: String,
        offset: u64,
        n_bytes: u64,
        data_offset: u64,
        file_size: u64,
    },

    #[error("metadata key {key:?} is missing")]
    MissingKey { key: String },

    #[error("missing metadata keys: {}", keys.join(", "))]
    MissingKeys { keys: Vec<String> },

    #[error("metadata key {key:?} is {found}, expected {expected}")]
    WrongType {
        key: String,
        expected: &'static str,
        found: &'static str,
    },

    #[error("metadata key {key:?} is {value}, out of range for {target}")]
    OutOfRange {
        key: String,
        value: String,
        target: &'static str,
    },
}

impl GgufError {
    /// The error itself, without the path that [`GgufFile::open`](super::GgufFile::open) adds.
    pub fn kind(&self) -> &GgufError {
        match self {
            GgufError::InFile { error, .. } => error.kind(),
            other => other,
        }
    }

    /// The file the error is about, when it came from opening one.
    pub fn path(&self) -> Option<&Path> {
        match self {
            GgufError::Io { path, .. } | GgufError::InFile { path, .. } => Some(path),
            _ => None,
        }
    }
}
