//! Tensor formats as GGUF stores them, with CPU reference dequantization.
//!
//! Block layouts follow the GGUF specification; every format that wick can compute with
//! implements `dequantize` here, and the GPU decoders are checked against it. `quantize` is a
//! simple reference quantizer for tests and tools, not a quality-tuned one.

mod float;
mod k_quants;
mod legacy;
mod nonlinear;

use bytemuck::Pod;
use thiserror::Error;

// Block structs are read straight from file bytes, and GGUF stores numbers little-endian.
const _: () = assert!(
    cfg!(target_endian = "little"),
    "wick reads GGUF blocks as little-endian"
);

/// A GGUF tensor type, by the numeric id GGUF files use. Retired ids are absent and rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(non_camel_case_types)]
pub enum GgmlType {
    F32,
    F16,
    Q4_0,
    Q4_1,
    Q5_0,
    Q5_1,
    Q8_0,
    Q8_1,
    Q2_K,
    Q3_K,
    Q4_K,
    Q5_K,
    Q6_K,
    Q8_K,
    IQ2_XXS,
    IQ2_XS,
    IQ3_XXS,
    IQ1_S,
    IQ4_NL,
    IQ3_S,
    IQ2_S,
    IQ4_XS,
    I8,
    I16,
    I32,
    I64,
    F64,
    IQ1_M,
    BF16,
    TQ1_0,
    TQ2_0,
    MXFP4,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum QuantError {
    #[error("unknown tensor type id {0}")]
    UnknownType(u32),
    #[error("tensor type {0} is not supported for computation")]
    Unsupported(GgmlType),
    #[error("{elems} elements is not a whole number of {ty} blocks of {block}")]
    PartialBlock {
        ty: GgmlType,
        elems: u64,
        block: u64,
    },
    #[error("{ty}: expected {expected} bytes, got {got}")]
    ByteCount {
        ty: GgmlType,
        expected: usize,
        got: usize,
    },
    #[error("{elems} elements of {ty} take more than u64::MAX bytes")]
    TooLarge { ty: GgmlType, elems: u64 },
}

impl GgmlType {
    /// Every type with its GGUF id, name, elements per block and bytes per block.
    const TABLE: [(GgmlType, u32, &'static str, u64, u64); 32] = [
        (GgmlType::F32, 0, "f32", 1, 4),
        (GgmlType::F16, 1, "f16", 1, 2),
        (GgmlType::Q4_0, 2, "q4_0", 32, 18),
        (GgmlType::Q4_1, 3, "q4_1", 32, 20),
        (GgmlType::Q5_0, 6, "q5_0", 32, 22),
        (GgmlType::Q5_1, 7, "q5_1", 32, 24),
        (GgmlType::Q8_0, 8, "q8_0", 32, 34),
        (GgmlType::Q8_1, 9, "q8_1", 32, 36),
        (GgmlType::Q2_K, 10, "q2_K", 256, 84),
        (GgmlType::Q3_K, 11, "q3_K", 256, 110),
        (GgmlType::Q4_K, 12, "q4_K", 256, 144),
        (GgmlType::Q5_K, 13, "q5_K", 256, 176),
        (GgmlType::Q6_K, 14, "q6_K", 256, 210),
        (GgmlType::Q8_K, 15, "q8_K", 256, 292),
        (GgmlType::IQ2_XXS, 16, "iq2_xxs", 256, 66),
        (GgmlType::IQ2_XS, 17, "iq2_xs", 256, 74),
        (GgmlType::IQ3_XXS, 18, "iq3_xxs", 256, 98),
        (GgmlType::IQ1_S, 19, "iq1_s", 256, 50),
        (GgmlType::IQ4_NL, 20, "iq4_nl", 32, 18),
        (GgmlType::IQ3_S, 21, "iq3_s", 256, 110),
        (GgmlType::IQ2_S, 22, "iq2_s", 256, 82),
        (GgmlType::IQ4_XS, 23, "iq4_xs", 256, 136),
        (GgmlType::I8, 24, "i8", 1, 1),
        (GgmlType::I16, 25, "i16", 1, 2),
        (GgmlType::I32, 26, "i32", 1, 4),
        (GgmlType::I64, 27, "i64", 1, 8),
        (GgmlType::F64, 28, "f64", 1, 8),
        (GgmlType::IQ1_M, 29, "iq1_m", 256, 56),
        (GgmlType::BF16, 30, "bf16", 1, 2),
        (GgmlType::TQ1_0, 34, "tq1_0", 256, 54),
        (GgmlType::TQ2_0, 35, "tq2_0", 256, 66),
        (GgmlType::MXFP4, 39, "mxfp4", 32, 17),
    ];

    fn row(self) -> &'static (GgmlType, u32, &'static str, u64, u64) {
        Self::TABLE
            .iter()
            .find(|r| r.0 == self)
            .expect("every variant has a table row")
    }

    pub fn from_id(id: u32) -> Result<Self, QuantError> {
        Self::TABLE
            .iter()
            .find(|r| r.1 == id)
            .map(|r| r.0)
            .ok_or(QuantError::UnknownType(id))
    }

    pub fn id(self) -> u32 {
        self.row().1
    }

    /// The name as GGUF tools spell it, e.g. `q4_K`.
    pub fn name(self) -> &'static str {
        self.row().2
    }

    pub fn block_elems(self) -> u64 {
        self.row().3
    }

    pub fn block_bytes(self) -> u64 {
        self.row().4
    }

    /// Bytes taken by `elems` elements, or an error if they do not fill whole blocks.
    pub fn bytes_for(self, elems: u64) -> Result<u64, QuantError> {
        let block = self.block_elems();
        if !elems.is_multiple_of(block) {
            return Err(QuantError::PartialBlock {
                ty: self,
                elems,
                block,
            });
        }
        // Element counts come from files, so the size is checked rather than trusted.
        (elems / block)
            .checked_mul(self.block_bytes())
            .ok_or(QuantError::TooLarge { ty: self, elems })
    }
}

impl std::fmt::Display for GgmlType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One storage block of a tensor format: `ELEMS` values in `size_of::<Self>()` bytes.
trait Block: Pod {
    const ELEMS: usize;

    /// Writes the block's `ELEMS` values to `out`, which is exactly that long.
    fn decode(&self, out: &mut [f32]);

    /// Quantizes exactly `ELEMS` values into one block.
    fn encode(values: &[f32]) -> Self;
}

/// Whole-tensor conversion for one block type; lengths are checked before these are called.
#[derive(Clone, Copy)]
struct Codec {
    decode: fn(&[u8], &mut [f32]),
    encode: fn(&[f32], &mut Vec<u8>),
}

impl Codec {
    fn of<B: Block>() -> Self {
        Codec {
            decode: decode_all::<B>,
            encode: encode_all::<B>,
        }
    }
}

fn decode_all<B: Block>(bytes: &[u8], out: &mut [f32]) {
    for (raw, dst) in bytes
        .chunks_exact(size_of::<B>())
        .zip(out.chunks_exact_mut(B::ELEMS))
    {
        // Tensor data in a mapped file has no alignment guarantee, so read each block by copy.
        bytemuck::pod_read_unaligned::<B>(raw).decode(dst);
    }
}

fn encode_all<B: Block>(values: &[f32], bytes: &mut Vec<u8>) {
    for chunk in values.chunks_exact(B::ELEMS) {
        bytes.extend_from_slice(bytemuck::bytes_of(&B::encode(chunk)));
    }
}

impl GgmlType {
    fn codec(self) -> Option<Codec> {
        use half::{bf16, f16};
        Some(match self {
            GgmlType::F32 => Codec::of::<f32>(),
            GgmlType::F16 => Codec::of::<f16>(),
            GgmlType::BF16 => Codec::of::<bf16>(),
            GgmlType::Q4_0 => Codec::of::<legacy::BlockQ4_0>(),
            GgmlType::Q4_1 => Codec::of::<legacy::BlockQ4_1>(),
            GgmlType::Q5_0 => Codec::of::<legacy::BlockQ5_0>(),
            GgmlType::Q5_1 => Codec::of::<legacy::BlockQ5_1>(),
            GgmlType::Q8_0 => Codec::of::<legacy::BlockQ8_0>(),
            GgmlType::Q2_K => Codec::of::<k_quants::BlockQ2K>(),
            GgmlType::Q3_K => Codec::of::<k_quants::BlockQ3K>(),
            GgmlType::Q4_K => Codec::of::<k_quants::BlockQ4K>(),
            GgmlType::Q5_K => Codec::of::<k_quants::BlockQ5K>(),
            GgmlType::Q6_K => Codec::of::<k_quants::BlockQ6K>(),
            GgmlType::IQ4_NL => Codec::of::<nonlinear::BlockIq4Nl>(),
            GgmlType::IQ4_XS => Codec::of::<nonlinear::BlockIq4Xs>(),
            GgmlType::MXFP4 => Codec::of::<nonlinear::BlockMxfp4>(),
            _ => return None,
        })
    }

    /// Whether `dequantize` and `quantize` handle this type.
    pub fn is_supported(self) -> bool {
        self.codec().is_some()
    }

    /// The codec for `elems` values stored in `bytes` bytes, or why they cannot be converted.
    fn checked_codec(self, elems: usize, bytes: usize) -> Result<Codec, QuantError> {
        let codec = self.codec().ok_or(QuantError::Unsupported(self))?;
        let expected = self.bytes_for(elems as u64)?;
        if expected != bytes as u64 {
            let expected = usize::try_from(expected).unwrap_or(usize::MAX);
            return Err(QuantError::ByteCount {
                ty: self,
                expected,
                got: bytes,
            });
        }
        Ok(codec)
    }

    /// Decodes `bytes`, raw blocks of this type in GGUF layout, into `out.len()` values.
    ///
    /// `out.len()` must be a whole number of blocks and `bytes` exactly their size; `bytes` need
    /// not be aligned.
    pub fn dequantize(self, bytes: &[u8], out: &mut [f32]) -> Result<(), QuantError> {
        let codec = self.checked_codec(out.len(), bytes.len())?;
        (codec.decode)(bytes, out);
        Ok(())
    }

    /// Like [`GgmlType::dequantize`], into a new vector of `n` values.
    pub fn dequantize_to_vec(self, bytes: &[u8], n: usize) -> Result<Vec<f32>, QuantError> {
        let codec = self.checked_codec(n, bytes.len())?;
        let mut out = vec![0.0; n];
        (codec.decode)(bytes, &mut out);
        Ok(out)
    }

    /// Encodes `values` (a whole number of blocks) as raw blocks of this type.
    ///
    /// Floats, legacy formats and MXFP4 give the bytes ggml's reference quantizers give (round
    /// to nearest; a scale beyond the f16 range becomes infinite there too). K-quants use a
    /// simple quantizer that rounds scales up so nothing clips: each value lands within half a
    /// step of its sub-block, and finite input always gives finite output. IQ4_NL and IQ4_XS
    /// use a simple one too: the extreme value maps to the table's end and the rest to their
    /// nearest entries (see `nonlinear.rs`). The error bound tested for each format is listed in
    /// `core/tests/quant_roundtrip.rs`.
    pub fn quantize(self, values: &[f32]) -> Result<Vec<u8>, QuantError> {
        let codec = self.codec().ok_or(QuantError::Unsupported(self))?;
        let len = self.bytes_for(values.len() as u64)?;
        let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
        (codec.encode)(values, &mut bytes);
        Ok(bytes)
    }
}
