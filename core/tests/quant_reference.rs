//! wick's dequantization against the `gguf` Python package's, on the checked-in files that
//! `scripts/quant_reference.py` writes to `tests/data/quant/`.
//!
//! Matches are bit-exact: both sides widen f16 exactly and apply the same f32 multiplies and
//! adds in the same order, one rounding each, with no fused multiply-add. Where gguf has a
//! quantizer (floats, the legacy formats and MXFP4), wick's `quantize` must produce identical
//! bytes.

use std::path::PathBuf;

use wick_core::quant::GgmlType;

/// One reference file: raw blocks with their expected values, and quantizer inputs with their
/// expected blocks.
struct Reference {
    ty: GgmlType,
    raw: Vec<u8>,
    expected: Vec<f32>,
    inputs: Vec<f32>,
    packed: Vec<u8>,
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> &[u8] {
        assert!(self.0.len() >= n, "reference file is truncated");
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        head
    }

    fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.take(4).try_into().unwrap())
    }

    fn len(&mut self) -> usize {
        self.u32() as usize
    }

    fn f32s(&mut self, n: usize) -> Vec<f32> {
        self.take(4 * n)
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect()
    }
}

fn load(name: &str) -> Reference {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data/quant")
        .join(format!("{name}.bin"));
    let data = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run scripts/quant_reference.py)", path.display()));
    let mut r = Reader(&data);
    assert_eq!(r.take(4), b"WQR1", "{name}: bad magic");
    let ty = GgmlType::from_id(r.u32()).unwrap();
    assert_eq!(ty.name(), name);
    let (n, nbytes) = (r.len(), r.len());
    let raw = r.take(nbytes).to_vec();
    let expected = r.f32s(n);
    let (m, mbytes) = (r.len(), r.len());
    let inputs = r.f32s(m);
    let packed = r.take(mbytes).to_vec();
    assert!(r.0.is_empty(), "{name}: trailing bytes");
    Reference {
        ty,
        raw,
        expected,
        inputs,
        packed,
    }
}

fn assert_bits_eq(name: &str, got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "{name}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(
            g.to_bits(),
            w.to_bits(),
            "{name}[{i}]: got {g:e}, want {w:e}"
        );
    }
}

fn check(name: &str, quantizable: bool) {
    let r = load(name);
    assert!(r.ty.is_supported());
    assert!(
        r.expected.len() as u64 / r.ty.block_elems() >= 8,
        "{name}: too few blocks to be useful"
    );
    assert!(
        r.expected.iter().all(|v| !v.is_nan()),
        "{name}: reference has NaN"
    );

    let got = r.ty.dequantize_to_vec(&r.raw, r.expected.len()).unwrap();
    assert_bits_eq(name, &got, &r.expected);

    // Same bytes at an odd address: block structs must not be read in place.
    let mut shifted = vec![0u8; r.raw.len() + 1];
    shifted[1..].copy_from_slice(&r.raw);
    let mut out = vec![f32::NAN; r.expected.len()];
    r.ty.dequantize(&shifted[1..], &mut out).unwrap();
    assert_bits_eq(name, &out, &r.expected);

    assert_eq!(
        !r.inputs.is_empty(),
        quantizable,
        "{name}: quantizer reference presence"
    );
    if quantizable {
        let packed = r.ty.quantize(&r.inputs).unwrap();
        assert_eq!(packed.len(), r.packed.len(), "{name}: quantized length");
        let block = r.ty.block_bytes() as usize;
        for (b, (g, w)) in packed.chunks(block).zip(r.packed.chunks(block)).enumerate() {
            assert_eq!(g, w, "{name}: quantized block {b} differs from gguf's");
        }
    }
}

#[test]
fn f32_matches_gguf() {
    check("f32", true);
}

#[test]
fn f16_matches_gguf() {
    check("f16", true);
}

#[test]
fn bf16_matches_gguf() {
    check("bf16", true);
}

#[test]
fn q4_0_matches_gguf() {
    check("q4_0", true);
}

#[test]
fn q4_1_matches_gguf() {
    check("q4_1", true);
}

#[test]
fn q5_0_matches_gguf() {
    check("q5_0", true);
}

#[test]
fn q5_1_matches_gguf() {
    check("q5_1", true);
}

#[test]
fn q8_0_matches_gguf() {
    check("q8_0", true);
}

#[test]
fn q4_k_matches_gguf() {
    check("q4_K", false);
}

#[test]
fn q5_k_matches_gguf() {
    check("q5_K", false);
}

#[test]
fn q6_k_matches_gguf() {
    check("q6_K", false);
}

#[test]
fn q2_k_matches_gguf() {
    check("q2_K", false);
}

#[test]
fn q3_k_matches_gguf() {
    check("q3_K", false);
}

#[test]
fn iq4_nl_matches_gguf() {
    check("iq4_nl", false);
}

#[test]
fn iq4_xs_matches_gguf() {
    check("iq4_xs", false);
}

#[test]
fn mxfp4_matches_gguf() {
    check("mxfp4", true);
}
