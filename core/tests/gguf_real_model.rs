//! The GGUF reader on the real default model, and on corrupted copies of it.
//!
//! Corrupted copies hold only the real bytes the reader looks at: everything before the tensor
//! data is copied and patched, and the file is then extended with `set_len`, which writes no
//! data, to the length the test needs. That keeps each copy to a few MB of writes.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use wick_core::gguf::{GgufError, GgufFile, Value};
use wick_core::quant::GgmlType;

fn model_path() -> PathBuf {
    wick_core::default_model::installed().unwrap_or_else(|e| panic!("{e}"))
}

/// The real model, parsed once and shared by the tests of this binary.
fn model() -> &'static GgufFile {
    static MODEL: OnceLock<GgufFile> = OnceLock::new();
    MODEL.get_or_init(|| GgufFile::open(&model_path()).unwrap_or_else(|e| panic!("{e}")))
}

/// The model's bytes before the tensor data: header, metadata, tensor infos and padding.
fn head() -> &'static [u8] {
    static HEAD: OnceLock<Vec<u8>> = OnceLock::new();
    HEAD.get_or_init(|| {
        let mut head = Vec::new();
        File::open(model_path())
            .unwrap()
            .take(model().data_offset())
            .read_to_end(&mut head)
            .unwrap();
        head
    })
}

/// Where `needle` first occurs in the head.
fn find(needle: &[u8]) -> u64 {
    head()
        .windows(needle.len())
        .position(|w| w == needle)
        .unwrap_or_else(|| panic!("{:?} not found", String::from_utf8_lossy(needle))) as u64
}

/// Where a GGUF string (u64 length, then bytes) holding `s` starts.
fn find_gguf_str(s: &str) -> u64 {
    let mut needle = (s.len() as u64).to_le_bytes().to_vec();
    needle.extend_from_slice(s.as_bytes());
    find(&needle)
}

/// A file in the temp dir, unique to this process and test, removed on drop.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A copy of the model cut to `len` bytes, with `patches` (offset, bytes) written over it.
fn corrupt_copy(name: &str, len: u64, patches: &[(u64, &[u8])]) -> TempFile {
    let mut bytes = head()[..len.min(head().len() as u64) as usize].to_vec();
    for &(offset, patch) in patches {
        bytes[offset as usize..offset as usize + patch.len()].copy_from_slice(patch);
    }
    let path =
        std::env::temp_dir().join(format!("wick-gguf-real-{}-{name}.gguf", std::process::id()));
    let mut file = File::create(&path).unwrap();
    file.write_all(&bytes).unwrap();
    file.set_len(len).unwrap();
    TempFile(path)
}

/// Opens a corrupt copy, expecting an error that names its path; returns the error.
fn open_err(copy: &TempFile) -> GgufError {
    match GgufFile::open(&copy.0) {
        Ok(_) => panic!("{} opened without error", copy.0.display()),
        Err(e) => {
            assert_eq!(e.path(), Some(copy.0.as_path()), "{e}");
            assert!(
                e.to_string().starts_with(&copy.0.display().to_string()),
                "{e}"
            );
            assert!(!e.to_string().contains('\n'), "{e}");
            e
        }
    }
}

fn patched(name: &str, offset: u64, patch: &[u8]) -> GgufError {
    open_err(&corrupt_copy(name, model().file_size(), &[(offset, patch)]))
}

#[test]
fn real_model_facts() {
    let f = model();
    assert_eq!(f.version(), 3);
    assert_eq!(f.tensors().len(), 236);
    assert_eq!(f.metadata().len(), 33);
    assert_eq!(f.alignment(), 32);
    assert_eq!(
        f.file_size(),
        std::fs::metadata(model_path()).unwrap().len()
    );

    let m = f.metadata();
    assert_eq!(m.get_str("general.architecture").unwrap(), "gemma3");
    assert_eq!(m.get_u32("gemma3.embedding_length").unwrap(), 640);
    m.require(&[
        "gemma3.block_count",
        "gemma3.attention.head_count",
        "tokenizer.ggml.model",
    ])
    .unwrap();
    assert!(
        m.get_f32("gemma3.attention.layer_norm_rms_epsilon")
            .unwrap()
            > 0.0
    );
    assert!(matches!(
        m.get("tokenizer.ggml.add_bos_token"),
        Some(Value::Bool(_))
    ));

    let tokens = m.get_str_array("tokenizer.ggml.tokens").unwrap();
    assert_eq!(tokens.len(), 262144);
    assert_eq!(
        m.get_f32_array("tokenizer.ggml.scores").unwrap().len(),
        262144
    );
    assert_eq!(
        m.get_i32_array("tokenizer.ggml.token_type").unwrap().len(),
        262144
    );

    let embd = f.tensor("token_embd.weight").unwrap();
    assert_eq!(embd.dims, [640, 262144]);
    assert_eq!(embd.ty, GgmlType::Q8_0);
    assert_eq!(embd.n_elems(), 640 * 262144);
    assert_eq!(embd.n_bytes, 640 * 262144 / 32 * 34);
    assert_eq!(f.tensor_data(embd).len() as u64, embd.n_bytes);

    for t in f.tensors() {
        assert_eq!(f.tensor_data(t).len() as u64, t.n_bytes, "{}", t.name);
        assert_eq!(t.offset % 32, 0, "{}", t.name);
        assert!(t.offset >= f.data_offset() && t.offset + t.n_bytes <= f.file_size());
    }
}

#[test]
fn truncated_copies_name_what_is_cut() {
    let f = model();
    let data = f.data_offset();
    let tokens = find_gguf_str("tokenizer.ggml.tokens");
    let infos = find_gguf_str("output_norm.weight");
    let before_data = [
        // header: magic, version, counts
        0,
        2,
        4,
        6,
        8,
        12,
        16,
        20,
        // metadata: the first key, the token array, the small entries after the arrays
        24,
        30,
        tokens + 20,
        tokens + 100_000,
        tokens + 3_000_000,
        infos - 30,
        // tensor infos
        infos,
        infos + 5,
        infos + 40,
        data - 200,
    ];
    for cut in before_data {
        let e = open_err(&corrupt_copy("cut-head", cut, &[]));
        match e.kind() {
            GgufError::Truncated { offset, .. } | GgufError::CountTooLarge { offset, .. } => {
                assert!(*offset <= cut, "cut at {cut}: {e}")
            }
            _ => panic!("cut at {cut}: {e}"),
        }
        assert!(e.to_string().contains("truncated"), "{e}");
    }

    let size = f.file_size();
    for cut in [data, data + 1, data + 2560, size / 2, size - 1] {
        let e = open_err(&corrupt_copy("cut-data", cut, &[]));
        assert!(
            matches!(e.kind(), GgufError::TensorOutOfBounds { file_size, .. } if *file_size == cut),
            "cut at {cut}: {e}"
        );
    }
}

#[test]
fn bad_magic_copy_is_not_gguf() {
    let e = patched("magic", 0, b"GGML");
    assert!(
        matches!(e.kind(), GgufError::BadMagic { found } if found == "GGML"),
        "{e}"
    );
    assert!(e.to_string().contains("not a GGUF file"), "{e}");
}

#[test]
fn version_99_copy_is_unsupported() {
    let e = patched("version", 4, &99u32.to_le_bytes());
    assert!(
        matches!(e.kind(), GgufError::UnsupportedVersion { version: 99 }),
        "{e}"
    );
}

/// Where the type id of `tensor`, a 2-dimensional tensor, lies; its data offset follows it.
fn type_id_offset(tensor: &str) -> u64 {
    find_gguf_str(tensor) + 8 + tensor.len() as u64 + 4 + 2 * 8
}

#[test]
fn unknown_tensor_type_copy_names_the_tensor() {
    let at = type_id_offset("token_embd.weight");
    assert_eq!(head()[at as usize], GgmlType::Q8_0.id() as u8);
    let e = patched("type", at, &200u32.to_le_bytes());
    assert!(
        matches!(e.kind(), GgufError::UnknownTensorType { tensor, id: 200, offset } if tensor == "token_embd.weight" && *offset == at),
        "{e}"
    );
}

#[test]
fn tensor_offset_past_eof_copy_names_the_tensor() {
    let f = model();
    let past = (f.file_size() - f.data_offset()).next_multiple_of(32);
    let e = patched(
        "offset",
        type_id_offset("token_embd.weight") + 4,
        &past.to_le_bytes(),
    );
    assert!(
        matches!(e.kind(), GgufError::TensorOutOfBounds { tensor, offset, .. } if tensor == "token_embd.weight" && *offset == past),
        "{e}"
    );
}

#[test]
fn huge_counts_in_copies_are_rejected() {
    let huge = (1u64 << 60).to_le_bytes();
    let tokens = find_gguf_str("tokenizer.ggml.tokens");
    let tokens_len = tokens + 8 + 21 + 4 + 4;
    let cases = [
        ("tensor-count", 8, "tensor count"),
        ("kv-count", 16, "metadata entry count"),
        ("key-length", 24, "key of metadata entry #0"),
        ("array-length", tokens_len, "tokenizer.ggml.tokens"),
        ("token-length", tokens_len + 8, "tokenizer.ggml.tokens"),
    ];
    for (name, at, what_has) in cases {
        let e = patched(name, at, &huge);
        assert!(
            matches!(e.kind(), GgufError::CountTooLarge { what, offset, count, .. }
                if what.contains(what_has) && *offset == at && *count == 1 << 60),
            "{name}: {e}"
        );
    }
}

#[test]
fn text_and_missing_files_are_named() {
    let text = TempFile(
        std::env::temp_dir().join(format!("wick-gguf-real-{}-text.gguf", std::process::id())),
    );
    std::fs::write(&text.0, "# README\nThis is not a model.\n").unwrap();
    let e = open_err(&text);
    assert!(matches!(e.kind(), GgufError::BadMagic { .. }), "{e}");
    assert!(e.to_string().contains("not a GGUF file"), "{e}");

    let missing = Path::new("/nonexistent/wick/model.gguf");
    let e = GgufFile::open(missing).unwrap_err();
    assert!(
        matches!(&e, GgufError::Io { path, .. } if path == missing),
        "{e}"
    );
    assert!(
        e.to_string().starts_with("/nonexistent/wick/model.gguf: "),
        "{e}"
    );
}
