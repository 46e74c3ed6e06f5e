//! The GGUF reader on small files built here: round trips of every value type, layout and
//! alignment, the metadata accessors, and one test per kind of corruption.

use std::path::PathBuf;

use wick_core::gguf::{GgufError, GgufFile, Value};
use wick_core::quant::{GgmlType, QuantError};

/// A test-only GGUF writer: just enough of the format to build files for the reader, plus raw
/// entry points for writing what a valid writer never would.
struct Builder {
    version: u32,
    alignment: u64,
    kv_count: u64,
    kvs: Vec<u8>,
    tensor_count: u64,
    infos: Vec<u8>,
    data: Vec<u8>,
}

impl Builder {
    fn new(version: u32) -> Self {
        Builder {
            version,
            alignment: 32,
            kv_count: 0,
            kvs: Vec::new(),
            tensor_count: 0,
            infos: Vec::new(),
            data: Vec::new(),
        }
    }

    /// Sets `general.alignment` and lays the data out by it.
    fn aligned(mut self, alignment: u32) -> Self {
        self.alignment = alignment.into();
        self.kv("general.alignment", &Value::U32(alignment))
    }

    fn kv(self, key: &str, value: &Value) -> Self {
        let mut entry = Vec::new();
        put_str(&mut entry, key.as_bytes());
        put_u32(&mut entry, type_id(value));
        put_value(&mut entry, value);
        self.kv_raw(&entry)
    }

    /// One metadata entry given as its encoded bytes.
    fn kv_raw(mut self, entry: &[u8]) -> Self {
        self.kv_count += 1;
        self.kvs.extend_from_slice(entry);
        self
    }

    /// A tensor whose data is appended, padded to the alignment.
    fn tensor(mut self, name: &str, dims: &[u64], ty: GgmlType, data: &[u8]) -> Self {
        pad(&mut self.data, self.alignment);
        let offset = self.data.len() as u64;
        let mut b = self.tensor_raw(name.as_bytes(), dims, ty.id(), offset);
        b.data.extend_from_slice(data);
        b
    }

    /// A tensor info with any fields; no data is added for it.
    fn tensor_raw(mut self, name: &[u8], dims: &[u64], type_id: u32, offset: u64) -> Self {
        put_str(&mut self.infos, name);
        put_u32(&mut self.infos, dims.len() as u32);
        for &d in dims {
            put_u64(&mut self.infos, d);
        }
        put_u32(&mut self.infos, type_id);
        put_u64(&mut self.infos, offset);
        self.tensor_count += 1;
        self
    }

    fn build(&self) -> Vec<u8> {
        let mut out = b"GGUF".to_vec();
        put_u32(&mut out, self.version);
        put_u64(&mut out, self.tensor_count);
        put_u64(&mut out, self.kv_count);
        out.extend_from_slice(&self.kvs);
        out.extend_from_slice(&self.infos);
        pad(&mut out, self.alignment);
        out.extend_from_slice(&self.data);
        out
    }

    fn parse(&self) -> Result<GgufFile, GgufError> {
        GgufFile::from_bytes(self.build())
    }
}

/// Zero-fills `buf` up to a multiple of `alignment`.
fn pad(buf: &mut Vec<u8>, alignment: u64) {
    buf.resize((buf.len() as u64).next_multiple_of(alignment) as usize, 0);
}

fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_str(out: &mut Vec<u8>, s: &[u8]) {
    put_u64(out, s.len() as u64);
    out.extend_from_slice(s);
}

fn type_id(v: &Value) -> u32 {
    match v {
        Value::U8(_) => 0,
        Value::I8(_) => 1,
        Value::U16(_) => 2,
        Value::I16(_) => 3,
        Value::U32(_) => 4,
        Value::I32(_) => 5,
        Value::F32(_) => 6,
        Value::Bool(_) => 7,
        Value::String(_) => 8,
        Value::Array(_) => 9,
        Value::U64(_) => 10,
        Value::I64(_) => 11,
        Value::F64(_) => 12,
    }
}

fn put_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::U8(x) => out.push(*x),
        Value::I8(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::U16(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::I16(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::U32(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::I32(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::U64(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::I64(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::F32(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::F64(x) => out.extend_from_slice(&x.to_le_bytes()),
        Value::Bool(x) => out.push(u8::from(*x)),
        Value::String(s) => put_str(out, s.as_bytes()),
        Value::Array(items) => {
            // An empty array still needs an element type; u8 reads back the same.
            put_u32(out, items.first().map_or(0, type_id));
            put_u64(out, items.len() as u64);
            for item in items {
                put_value(out, item);
            }
        }
    }
}

fn s(v: &str) -> Value {
    Value::String(v.to_owned())
}

fn err(b: &Builder) -> GgufError {
    match b.parse() {
        Ok(_) => panic!("expected an error"),
        Err(e) => e,
    }
}

/// One value of every type, extremes included, in an order that is not sorted.
fn every_type() -> Vec<(&'static str, Value)> {
    vec![
        ("z.u8", Value::U8(u8::MAX)),
        ("a.i8", Value::I8(i8::MIN)),
        ("m.u16", Value::U16(u16::MAX)),
        ("b.i16", Value::I16(i16::MIN)),
        ("y.u32", Value::U32(u32::MAX)),
        ("c.i32", Value::I32(i32::MIN)),
        ("x.u64", Value::U64(u64::MAX)),
        ("d.i64", Value::I64(i64::MIN)),
        ("w.f32", Value::F32(-1.5e-7)),
        ("e.f64", Value::F64(std::f64::consts::PI)),
        ("v.true", Value::Bool(true)),
        ("f.false", Value::Bool(false)),
        ("u.string", s("héllo ✓ \n\"quoted\"")),
        ("g.empty_string", s("")),
        ("t.empty_array", Value::Array(vec![])),
        (
            "h.f32_array",
            Value::Array(vec![Value::F32(0.5), Value::F32(-2.0)]),
        ),
    ]
}

#[test]
fn every_value_type_round_trips_in_file_order() {
    for version in [2, 3] {
        let kvs = every_type();
        let mut b = Builder::new(version);
        for (k, v) in &kvs {
            b = b.kv(k, v);
        }
        let f = b.parse().unwrap();
        assert_eq!(f.version(), version);
        assert_eq!(f.metadata().len(), kvs.len());
        let read: Vec<(&str, &Value)> = f.metadata().iter().collect();
        let expected: Vec<(&str, &Value)> = kvs.iter().map(|(k, v)| (*k, v)).collect();
        assert_eq!(read, expected);
        for (k, v) in &kvs {
            assert_eq!(f.metadata().get(k), Some(v));
        }
        assert!(f.tensors().is_empty());
    }
}

#[test]
fn nested_arrays_round_trip() {
    let nested = Value::Array(vec![
        Value::Array(vec![s("a"), s("bc")]),
        Value::Array(vec![]),
        Value::Array(vec![s("")]),
    ]);
    let deep = Value::Array(vec![Value::Array(vec![Value::Array(vec![
        Value::I64(-1),
        Value::I64(2),
    ])])]);
    let f = Builder::new(3)
        .kv("nested", &nested)
        .kv("deep", &deep)
        .parse()
        .unwrap();
    assert_eq!(f.metadata().get("nested"), Some(&nested));
    assert_eq!(f.metadata().get("deep"), Some(&deep));
}

#[test]
fn arrays_nested_past_the_limit_are_rejected() {
    // 64 levels of one-element arrays: each level is an array header of 12 bytes.
    let mut v = Value::U8(1);
    for _ in 0..64 {
        v = Value::Array(vec![v]);
    }
    let e = err(&Builder::new(3).kv("bomb", &v));
    assert!(
        matches!(e.kind(), GgufError::ArrayTooDeep { key, .. } if key == "bomb"),
        "{e}"
    );
}

#[test]
fn tensors_are_placed_at_the_default_alignment_of_32() {
    let a: Vec<u8> = (0..4 * 3).map(|i| i as u8).collect();
    let q8: Vec<u8> = (0..34 * 2).map(|i| (i * 7) as u8).collect();
    let f = Builder::new(3)
        .kv("general.architecture", &s("test"))
        .tensor("a", &[3], GgmlType::F32, &a)
        .tensor("blk.0.q8", &[32, 2], GgmlType::Q8_0, &q8)
        .parse()
        .unwrap();
    assert_eq!(f.alignment(), 32);
    assert_eq!(f.data_offset() % 32, 0);
    assert_eq!(f.tensors().len(), 2);

    let ta = f.tensor("a").unwrap();
    assert_eq!(
        (ta.dims.as_slice(), ta.ty, ta.n_bytes, ta.n_elems()),
        (&[3][..], GgmlType::F32, 12, 3)
    );
    assert_eq!(ta.offset, f.data_offset());
    assert_eq!(f.tensor_data(ta), &a[..]);

    let tq = f.tensor("blk.0.q8").unwrap();
    assert_eq!(
        (tq.dims.as_slice(), tq.ty, tq.n_bytes, tq.n_elems()),
        (&[32, 2][..], GgmlType::Q8_0, 68, 64)
    );
    assert_eq!(tq.offset, f.data_offset() + 32);
    assert_eq!(f.tensor_data(tq), &q8[..]);
    assert_eq!(f.file_size(), tq.offset + 68);
    assert!(f.tensor("missing").is_none());
}

#[test]
fn general_alignment_moves_the_data_section_and_tensors() {
    for alignment in [1u32, 8, 64, 4096] {
        let data = [7u8; 6];
        let f = Builder::new(3)
            .aligned(alignment)
            .tensor("first", &[3], GgmlType::F16, &data)
            .tensor("second", &[6], GgmlType::I8, &data)
            .parse()
            .unwrap();
        assert_eq!(f.alignment(), alignment);
        let align = u64::from(alignment);
        assert_eq!(f.data_offset() % align, 0);
        for t in f.tensors() {
            assert_eq!((t.offset - f.data_offset()) % align, 0, "{}", t.name);
            assert_eq!(f.tensor_data(t), &data[..]);
        }
    }
}

#[test]
fn alignment_must_be_a_nonzero_power_of_two_u32() {
    for bad in [0u32, 3, 48] {
        let e = err(&Builder::new(3).kv("general.alignment", &Value::U32(bad)));
        assert!(
            matches!(e, GgufError::InvalidAlignment { value } if value == bad),
            "{e}"
        );
    }
    let e = err(&Builder::new(3).kv("general.alignment", &s("32")));
    assert!(
        matches!(&e, GgufError::WrongType { key, .. } if key == "general.alignment"),
        "{e}"
    );
}

#[test]
fn tensor_offsets_must_be_aligned() {
    let e = err(&Builder::new(3).tensor_raw(b"w", &[1], GgmlType::F32.id(), 4));
    assert!(
        matches!(&e, GgufError::MisalignedTensor { tensor, offset: 4, alignment: 32 } if tensor == "w"),
        "{e}"
    );
}

#[test]
fn tensor_data_must_lie_inside_the_file() {
    let b = Builder::new(3)
        .tensor("ok", &[8], GgmlType::F32, &[0; 32])
        .tensor_raw(b"past_end", &[8], GgmlType::F32.id(), 32);
    let e = err(&b);
    assert!(
        matches!(&e, GgufError::TensorOutOfBounds { tensor, offset: 32, n_bytes: 32, .. } if tensor == "past_end"),
        "{e}"
    );
    // An offset so large that adding the data section start overflows u64.
    let e = err(&Builder::new(3).tensor_raw(b"wraps", &[1], GgmlType::F32.id(), u64::MAX - 31));
    assert!(
        matches!(&e, GgufError::TensorOutOfBounds { tensor, .. } if tensor == "wraps"),
        "{e}"
    );
}

#[test]
fn tensor_dims_are_checked() {
    let f32 = GgmlType::F32.id();
    let e = err(&Builder::new(3).tensor_raw(b"scalar", &[], f32, 0));
    assert!(
        matches!(&e, GgufError::InvalidDimCount { tensor, n_dims: 0, .. } if tensor == "scalar"),
        "{e}"
    );

    let e = err(&Builder::new(3).tensor_raw(b"5d", &[1; 5], f32, 0));
    assert!(
        matches!(&e, GgufError::InvalidDimCount { tensor, n_dims: 5, .. } if tensor == "5d"),
        "{e}"
    );

    let e = err(&Builder::new(3).tensor_raw(b"huge", &[1 << 32, 1 << 32], f32, 0));
    assert!(
        matches!(&e, GgufError::ElementCountOverflow { tensor, dims, .. } if tensor == "huge" && dims == &[1 << 32, 1 << 32]),
        "{e}"
    );

    let e = err(&Builder::new(3).tensor_raw(b"partial", &[100, 2], GgmlType::Q4_K.id(), 0));
    assert!(
        matches!(
            &e,
            GgufError::TensorSize { tensor, ty: GgmlType::Q4_K, error: QuantError::PartialBlock { elems: 200, block: 256, .. }, .. }
                if tensor == "partial"
        ),
        "{e}"
    );

    // 2^62 f64 elements fit in u64, their 2^65 bytes do not.
    let e = err(&Builder::new(3).tensor_raw(
        b"bytes_overflow",
        &[1 << 31, 1 << 31],
        GgmlType::F64.id(),
        0,
    ));
    assert!(
        matches!(&e, GgufError::TensorSize { tensor, error: QuantError::TooLarge { .. }, .. } if tensor == "bytes_overflow"),
        "{e}"
    );
}

#[test]
fn unknown_tensor_type_ids_are_rejected() {
    for id in [4u32, 5, 31, 200, u32::MAX] {
        let e = err(&Builder::new(3).tensor_raw(b"t", &[32], id, 0));
        assert!(
            matches!(&e, GgufError::UnknownTensorType { tensor, id: got, .. } if tensor == "t" && *got == id),
            "{e}"
        );
    }
}

#[test]
fn duplicate_names_are_rejected() {
    let e = err(&Builder::new(3)
        .tensor("dup", &[1], GgmlType::F32, &[0; 4])
        .tensor("dup", &[1], GgmlType::F32, &[0; 4]));
    assert!(
        matches!(&e, GgufError::DuplicateTensor { tensor, .. } if tensor == "dup"),
        "{e}"
    );

    let e = err(&Builder::new(3)
        .kv("k", &Value::U8(1))
        .kv("k", &Value::U8(2)));
    // The second entry follows the header (24 bytes) and the first: key "k", type, one byte.
    let second = 24 + (8 + 1) + 4 + 1;
    assert!(
        matches!(&e, GgufError::DuplicateKey { key, offset } if key == "k" && *offset == second),
        "{e}"
    );
}

#[test]
fn invalid_utf8_is_rejected_with_its_offset() {
    let mut entry = Vec::new();
    put_str(&mut entry, b"bad\xff");
    put_u32(&mut entry, 0);
    entry.push(0);
    let e = err(&Builder::new(3).kv_raw(&entry));
    assert!(
        matches!(&e, GgufError::InvalidUtf8 { offset: 32, .. }),
        "{e}"
    );

    let mut entry = Vec::new();
    put_str(&mut entry, b"key");
    put_u32(&mut entry, 8);
    put_str(&mut entry, b"\xc3\x28");
    let e = err(&Builder::new(3).kv_raw(&entry));
    assert!(
        matches!(&e, GgufError::InvalidUtf8 { what, .. } if what.contains("\"key\"")),
        "{e}"
    );

    let e = err(&Builder::new(3).tensor_raw(b"\xe2\x82", &[1], 0, 0));
    assert!(
        matches!(&e, GgufError::InvalidUtf8 { what, .. } if what.contains("tensor #0")),
        "{e}"
    );
}

#[test]
fn unknown_value_types_and_bad_bools_are_rejected() {
    let mut entry = Vec::new();
    put_str(&mut entry, b"odd");
    put_u32(&mut entry, 13);
    let e = err(&Builder::new(3).kv_raw(&entry));
    assert!(
        matches!(&e, GgufError::UnknownValueType { key, id: 13, offset: 35 } if key == "odd"),
        "{e}"
    );

    // An array whose element type is unknown.
    let mut entry = Vec::new();
    put_str(&mut entry, b"arr");
    put_u32(&mut entry, 9);
    put_u32(&mut entry, 99);
    put_u64(&mut entry, 0);
    let e = err(&Builder::new(3).kv_raw(&entry));
    assert!(
        matches!(&e, GgufError::UnknownValueType { key, id: 99, .. } if key == "arr"),
        "{e}"
    );

    let mut entry = Vec::new();
    put_str(&mut entry, b"flag");
    put_u32(&mut entry, 7);
    entry.push(2);
    let e = err(&Builder::new(3).kv_raw(&entry));
    assert!(
        matches!(&e, GgufError::InvalidBool { key, value: 2, .. } if key == "flag"),
        "{e}"
    );
}

#[test]
fn only_versions_2_and_3_are_read() {
    for version in [0u32, 1, 4, 99, u32::MAX] {
        let e = err(&Builder::new(version));
        assert!(
            matches!(e, GgufError::UnsupportedVersion { version: v } if v == version),
            "{e}"
        );
    }
    let e = err(&Builder::new(3u32.swap_bytes()));
    assert!(matches!(e, GgufError::BigEndian { version: 3 }), "{e}");
}

#[test]
fn absurd_counts_are_rejected_before_allocating() {
    let huge = 1u64 << 60;
    let mut bytes = Builder::new(3).build();
    bytes[8..16].copy_from_slice(&huge.to_le_bytes());
    let e = GgufFile::from_bytes(bytes.clone()).unwrap_err();
    assert!(
        matches!(&e, GgufError::CountTooLarge { offset: 8, count, .. } if *count == huge),
        "{e}"
    );

    bytes[8..16].copy_from_slice(&0u64.to_le_bytes());
    bytes[16..24].copy_from_slice(&huge.to_le_bytes());
    let e = GgufFile::from_bytes(bytes).unwrap_err();
    assert!(
        matches!(&e, GgufError::CountTooLarge { offset: 16, count, .. } if *count == huge),
        "{e}"
    );

    let mut entry = Vec::new();
    put_u64(&mut entry, huge);
    // Room for the entry count to pass: the huge length is then the first thing wrong.
    entry.extend_from_slice(&[0; 16]);
    let e = err(&Builder::new(3).kv_raw(&entry));
    assert!(
        matches!(&e, GgufError::CountTooLarge { offset: 24, what, .. } if what.contains("key of metadata entry #0")),
        "{e}"
    );

    for elem_type in [0u32, 8, 9, 12] {
        let mut entry = Vec::new();
        put_str(&mut entry, b"arr");
        put_u32(&mut entry, 9);
        put_u32(&mut entry, elem_type);
        put_u64(&mut entry, huge);
        let e = err(&Builder::new(3).kv_raw(&entry));
        assert!(
            matches!(&e, GgufError::CountTooLarge { offset: 43, what, .. } if what.contains("\"arr\"")),
            "{e}"
        );
    }

    // A string value whose length is a few bytes more than what is left.
    let mut entry = Vec::new();
    put_str(&mut entry, b"str");
    put_u32(&mut entry, 8);
    put_u64(&mut entry, 5);
    entry.extend_from_slice(b"abc");
    let mut bytes = Builder::new(3).kv_raw(&entry).build();
    // Drop the padding the builder puts before the (empty) data section.
    bytes.truncate(24 + entry.len());
    let e = GgufFile::from_bytes(bytes).unwrap_err();
    assert!(
        matches!(
            &e,
            GgufError::CountTooLarge {
                count: 5,
                available: 3,
                ..
            }
        ),
        "{e}"
    );
}

/// A file using every feature, ending in tensor data so that every strict prefix is short.
fn full_file() -> Vec<u8> {
    let mut b = Builder::new(3).aligned(64);
    for (k, v) in every_type() {
        b = b.kv(k, &v);
    }
    b.kv("nested", &Value::Array(vec![Value::Array(vec![s("x")])]))
        .tensor("a", &[4], GgmlType::F32, &[1; 16])
        .tensor("b", &[32, 1], GgmlType::Q4_0, &[2; 18])
        .build()
}

#[test]
fn every_prefix_of_a_file_is_an_error() {
    let bytes = full_file();
    assert!(GgufFile::from_bytes(bytes.clone()).is_ok());
    for len in 0..bytes.len() {
        let e = GgufFile::from_bytes(bytes[..len].to_vec()).unwrap_err();
        assert!(
            matches!(
                e,
                GgufError::Truncated { .. }
                    | GgufError::CountTooLarge { .. }
                    | GgufError::TensorOutOfBounds { .. }
            ),
            "prefix of {len} bytes: {e}"
        );
        assert!(!e.to_string().contains('\n'), "{e}");
    }
}

#[test]
fn random_corruption_never_panics() {
    let bytes = full_file();
    // xorshift64: deterministic, so a failure reproduces.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..5000 {
        let mut corrupt = bytes.clone();
        for _ in 0..1 + next() % 4 {
            let i = (next() % corrupt.len() as u64) as usize;
            corrupt[i] = next() as u8;
        }
        if let Ok(f) = GgufFile::from_bytes(corrupt) {
            for t in f.tensors() {
                assert_eq!(f.tensor_data(t).len() as u64, t.n_bytes);
            }
        }
    }
}

#[test]
fn metadata_accessors_convert_and_name_the_key() {
    let f = Builder::new(3)
        .kv("u8", &Value::U8(7))
        .kv("i64", &Value::I64(1 << 20))
        .kv("neg", &Value::I32(-1))
        .kv("big", &Value::U64(1 << 40))
        .kv("f64", &Value::F64(0.25))
        .kv("f32", &Value::F32(1e-6))
        .kv("flag", &Value::Bool(true))
        .kv("name", &s("gemma3"))
        .parse()
        .unwrap();
    let m = f.metadata();
    assert_eq!(m.get_u32("u8").unwrap(), 7);
    assert_eq!(m.get_u32("i64").unwrap(), 1 << 20);
    assert_eq!(m.get_f32("f64").unwrap(), 0.25);
    assert_eq!(m.get_f32("f32").unwrap(), 1e-6);
    assert_eq!(m.get_f32("u8").unwrap(), 7.0);
    assert!(m.get_bool("flag").unwrap());
    assert_eq!(m.get_str("name").unwrap(), "gemma3");

    for key in ["neg", "big"] {
        let e = m.get_u32(key).unwrap_err();
        assert!(
            matches!(&e, GgufError::OutOfRange { key: k, target: "u32", .. } if k == key),
            "{e}"
        );
    }
    let e = m.get_str("u8").unwrap_err();
    assert!(
        matches!(&e, GgufError::WrongType { key, expected: "string", found: "u8" } if key == "u8"),
        "{e}"
    );
    assert!(matches!(
        m.get_u32("name").unwrap_err(),
        GgufError::WrongType {
            found: "string",
            ..
        }
    ));
    assert!(matches!(
        m.get_f32("flag").unwrap_err(),
        GgufError::WrongType { found: "bool", .. }
    ));
    assert!(matches!(
        m.get_bool("u8").unwrap_err(),
        GgufError::WrongType {
            expected: "bool",
            ..
        }
    ));
    assert!(matches!(
        m.get_array("u8").unwrap_err(),
        GgufError::WrongType {
            expected: "array",
            ..
        }
    ));
    let e = m.get_u32("absent").unwrap_err();
    assert!(
        matches!(&e, GgufError::MissingKey { key } if key == "absent"),
        "{e}"
    );
    assert!(e.to_string().contains("absent"));

    assert_eq!(m.opt_u32("absent").unwrap(), None);
    assert_eq!(m.opt_u32("u8").unwrap(), Some(7));
    assert_eq!(m.opt_str("absent").unwrap(), None);
    assert_eq!(m.opt_str("name").unwrap(), Some("gemma3"));
    assert_eq!(m.opt_f32("absent").unwrap(), None);
    assert_eq!(m.opt_f32("f64").unwrap(), Some(0.25));
    assert_eq!(m.opt_bool("absent").unwrap(), None);
    assert_eq!(m.opt_bool("flag").unwrap(), Some(true));
    assert!(matches!(
        m.opt_u32("name").unwrap_err(),
        GgufError::WrongType { .. }
    ));
    assert!(matches!(
        m.opt_str("u8").unwrap_err(),
        GgufError::WrongType { .. }
    ));
    assert!(matches!(
        m.opt_f32("name").unwrap_err(),
        GgufError::WrongType { .. }
    ));
    assert!(matches!(
        m.opt_bool("name").unwrap_err(),
        GgufError::WrongType { .. }
    ));
}

#[test]
fn require_lists_every_missing_key() {
    let f = Builder::new(3)
        .kv("present", &Value::U8(1))
        .parse()
        .unwrap();
    let m = f.metadata();
    m.require(&["present"]).unwrap();
    let e = m
        .require(&["a.missing", "present", "b.missing"])
        .unwrap_err();
    assert!(
        matches!(&e, GgufError::MissingKeys { keys } if keys == &["a.missing", "b.missing"]),
        "{e}"
    );
    assert_eq!(e.to_string(), "missing metadata keys: a.missing, b.missing");
}

#[test]
fn array_accessors_convert_elements_and_name_the_index() {
    let f = Builder::new(3)
        .kv("strs", &Value::Array(vec![s("a"), s("b")]))
        .kv(
            "ints",
            &Value::Array(vec![Value::U32(1), Value::U32(u32::MAX)]),
        )
        .kv("small", &Value::Array(vec![Value::I16(-3), Value::I16(4)]))
        .kv(
            "floats",
            &Value::Array(vec![Value::F32(0.5), Value::F32(1.5)]),
        )
        .parse()
        .unwrap();
    let m = f.metadata();
    assert_eq!(m.get_str_array("strs").unwrap(), ["a", "b"]);
    assert_eq!(m.get_i32_array("small").unwrap(), [-3, 4]);
    assert_eq!(m.get_f32_array("floats").unwrap(), [0.5, 1.5]);
    assert_eq!(m.get_f32_array("small").unwrap(), [-3.0, 4.0]);
    assert_eq!(m.get_array("strs").unwrap().len(), 2);

    let e = m.get_i32_array("ints").unwrap_err();
    assert!(
        matches!(&e, GgufError::OutOfRange { key, target: "i32", .. } if key == "ints[1]"),
        "{e}"
    );
    let e = m.get_str_array("ints").unwrap_err();
    assert!(
        matches!(&e, GgufError::WrongType { key, expected: "string", found: "u32" } if key == "ints[0]"),
        "{e}"
    );
    assert!(matches!(
        m.get_f32_array("strs").unwrap_err(),
        GgufError::WrongType { .. }
    ));
    assert!(matches!(
        m.get_str_array("nope").unwrap_err(),
        GgufError::MissingKey { .. }
    ));
}

#[test]
fn names_with_newlines_keep_messages_on_one_line() {
    let e = err(&Builder::new(3).tensor_raw(b"evil\nname", &[1], 200, 0));
    let msg = e.to_string();
    assert!(!msg.contains('\n') && msg.contains("evil\\nname"), "{msg}");
}

/// A path in the temp dir, unique to this process and test, removed on drop.
struct TempPath(PathBuf);

impl TempPath {
    fn new(name: &str) -> Self {
        TempPath(
            std::env::temp_dir().join(format!("wick-gguf-reader-{}-{name}", std::process::id())),
        )
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn open_reads_a_file_and_errors_name_the_path() {
    let ok = TempPath::new("ok.gguf");
    std::fs::write(&ok.0, full_file()).unwrap();
    let f = GgufFile::open(&ok.0).unwrap();
    assert_eq!(f.tensors().len(), 2);
    assert_eq!(f.file_size(), full_file().len() as u64);

    let text = TempPath::new("notes.txt");
    std::fs::write(&text.0, "just some text, not a model\n").unwrap();
    let e = GgufFile::open(&text.0).unwrap_err();
    assert!(
        matches!(e.kind(), GgufError::BadMagic { found } if found == "just"),
        "{e}"
    );
    assert_eq!(e.path(), Some(text.0.as_path()));
    let msg = e.to_string();
    assert!(msg.starts_with(&format!("{}: ", text.0.display())), "{msg}");
    assert!(msg.contains("not a GGUF file"), "{msg}");

    let empty = TempPath::new("empty.gguf");
    std::fs::write(&empty.0, b"").unwrap();
    let e = GgufFile::open(&empty.0).unwrap_err();
    assert!(
        matches!(e.kind(), GgufError::Truncated { offset: 0, .. }),
        "{e}"
    );

    let short = TempPath::new("short.bin");
    std::fs::write(&short.0, b"\x00\x01").unwrap();
    let e = GgufFile::open(&short.0).unwrap_err();
    assert!(
        matches!(e.kind(), GgufError::BadMagic { found } if found == "\\x00\\x01"),
        "{e}"
    );

    let missing = TempPath::new("does-not-exist.gguf");
    let e = GgufFile::open(&missing.0).unwrap_err();
    assert!(
        matches!(&e, GgufError::Io { path, .. } if path == &missing.0),
        "{e}"
    );
    assert!(e.to_string().contains("does-not-exist.gguf"), "{e}");
}
