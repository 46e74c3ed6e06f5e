//! Length checks and unsupported types in the quant API.

use wick_core::quant::{GgmlType, QuantError};

const SUPPORTED: [GgmlType; 16] = [
    GgmlType::F32,
    GgmlType::F16,
    GgmlType::BF16,
    GgmlType::Q4_0,
    GgmlType::Q4_1,
    GgmlType::Q5_0,
    GgmlType::Q5_1,
    GgmlType::Q8_0,
    GgmlType::Q4_K,
    GgmlType::Q5_K,
    GgmlType::Q6_K,
    GgmlType::Q2_K,
    GgmlType::Q3_K,
    GgmlType::IQ4_NL,
    GgmlType::IQ4_XS,
    GgmlType::MXFP4,
];

/// Every GGUF id the type table knows.
fn all_types() -> Vec<GgmlType> {
    (0..64)
        .filter_map(|id| GgmlType::from_id(id).ok())
        .collect()
}

#[test]
fn supported_set_is_exactly_the_implemented_formats() {
    let all = all_types();
    assert_eq!(all.len(), 32);
    for ty in all {
        assert_eq!(ty.is_supported(), SUPPORTED.contains(&ty), "{ty}");
    }
}

#[test]
fn unsupported_types_are_rejected_before_length_checks() {
    for ty in all_types().into_iter().filter(|t| !t.is_supported()) {
        let err = Err(QuantError::Unsupported(ty));
        // 3 elements are never whole blocks of a quantized type: the type error comes first.
        assert_eq!(ty.dequantize(&[0; 5], &mut [0.0; 3]), err, "{ty}");
        assert_eq!(ty.dequantize_to_vec(&[0; 5], 3).map(|_| ()), err, "{ty}");
        assert_eq!(ty.quantize(&[0.0; 3]).map(|_| ()), err, "{ty}");
    }
}

#[test]
fn partial_block_is_rejected() {
    for ty in SUPPORTED.into_iter().filter(|t| t.block_elems() > 1) {
        let block = ty.block_elems();
        let n = block as usize + 1;
        let err = Err(QuantError::PartialBlock {
            ty,
            elems: n as u64,
            block,
        });
        let bytes = vec![0u8; 2 * ty.block_bytes() as usize];
        assert_eq!(ty.dequantize(&bytes, &mut vec![0.0; n]), err, "{ty}");
        assert_eq!(ty.dequantize_to_vec(&bytes, n).map(|_| ()), err, "{ty}");
        assert_eq!(ty.quantize(&vec![0.0; n]).map(|_| ()), err, "{ty}");
    }
}

#[test]
fn wrong_byte_count_is_rejected() {
    for ty in SUPPORTED {
        let n = 2 * ty.block_elems() as usize;
        let expected = 2 * ty.block_bytes() as usize;
        for got in [0, expected - 1, expected + 1, 3 * expected] {
            let err = Err(QuantError::ByteCount { ty, expected, got });
            let bytes = vec![0u8; got];
            assert_eq!(
                ty.dequantize(&bytes, &mut vec![0.0; n]),
                err,
                "{ty} with {got} bytes"
            );
            assert_eq!(
                ty.dequantize_to_vec(&bytes, n).map(|_| ()),
                err,
                "{ty} with {got} bytes"
            );
        }
    }
}

#[test]
fn empty_input_is_fine() {
    for ty in SUPPORTED {
        assert_eq!(ty.dequantize(&[], &mut []), Ok(()));
        assert_eq!(ty.dequantize_to_vec(&[], 0), Ok(vec![]));
        assert_eq!(ty.quantize(&[]), Ok(vec![]));
    }
}

#[test]
fn errors_describe_the_problem() {
    let partial = GgmlType::Q4_K.dequantize(&[], &mut [0.0; 100]).unwrap_err();
    assert_eq!(
        partial.to_string(),
        "100 elements is not a whole number of q4_K blocks of 256"
    );
    let bytes = GgmlType::Q8_0
        .dequantize(&[0; 33], &mut [0.0; 32])
        .unwrap_err();
    assert_eq!(bytes.to_string(), "q8_0: expected 34 bytes, got 33");
    let unsupported = GgmlType::IQ2_XXS.quantize(&[]).unwrap_err();
    assert_eq!(
        unsupported.to_string(),
        "tensor type iq2_xxs is not supported for computation"
    );
}
