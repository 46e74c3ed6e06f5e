//! The tokenizer on small vocabularies written here: files without one, unsupported models and
//! pre-tokenizers, malformed vocabularies, and the behaviours a tiny vocabulary can pin down.

use wick_core::gguf::{GgufFile, Value};
use wick_core::tokenizer::{Tokenizer, TokenizerError};

/// A GGUF image with the given metadata and no tensors.
fn gguf(entries: &[(&str, Value)]) -> GgufFile {
    let mut out = b"GGUF".to_vec();
    out.extend_from_slice(&3u32.to_le_bytes());
    out.extend_from_slice(&0u64.to_le_bytes());
    out.extend_from_slice(&(entries.len() as u64).to_le_bytes());
    for (key, value) in entries {
        put_str(&mut out, key);
        out.extend_from_slice(&type_id(value).to_le_bytes());
        put_value(&mut out, value);
    }
    GgufFile::from_bytes(out).unwrap_or_else(|e| panic!("{e}"))
}

fn type_id(value: &Value) -> u32 {
    match value {
        Value::U32(_) => 4,
        Value::I32(_) => 5,
        Value::F32(_) => 6,
        Value::Bool(_) => 7,
        Value::String(_) => 8,
        Value::Array(_) => 9,
        other => panic!("the test writer has no {}", other.type_name()),
    }
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u64).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn put_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::U32(v) => out.extend_from_slice(&v.to_le_bytes()),
        Value::I32(v) => out.extend_from_slice(&v.to_le_bytes()),
        Value::F32(v) => out.extend_from_slice(&v.to_le_bytes()),
        Value::Bool(v) => out.push(u8::from(*v)),
        Value::String(s) => put_str(out, s),
        Value::Array(items) => {
            let elem = items.first().map_or(4, type_id);
            out.extend_from_slice(&elem.to_le_bytes());
            out.extend_from_slice(&(items.len() as u64).to_le_bytes());
            for item in items {
                put_value(out, item);
            }
        }
        other => panic!("the test writer has no {}", other.type_name()),
    }
}

fn string(s: &str) -> Value {
    Value::String(s.to_owned())
}

fn strings(items: &[&str]) -> Value {
    Value::Array(items.iter().map(|s| string(s)).collect())
}

fn build(entries: &[(&str, Value)]) -> Result<Option<Tokenizer>, TokenizerError> {
    Tokenizer::from_gguf(gguf(entries).metadata())
}

/// A SentencePiece vocabulary: `<unk>`, `<s>`, `</s>`, the 256 byte tokens, then `extra` as
/// normal tokens scored so that later ones merge first.
fn spm(extra: &[&str], more: &[(&str, Value)]) -> Tokenizer {
    let mut tokens = vec!["<unk>".to_owned(), "<s>".to_owned(), "</s>".to_owned()];
    let mut types = vec![2, 3, 3];
    tokens.extend((0..=255u8).map(|b| format!("<0x{b:02X}>")));
    types.extend([6; 256]);
    tokens.extend(extra.iter().map(|s| (*s).to_owned()));
    types.extend(extra.iter().map(|_| 1));
    let scores = (0..tokens.len()).map(|i| Value::F32(i as f32)).collect();
    let mut entries = vec![
        ("tokenizer.ggml.model", string("llama")),
        (
            "tokenizer.ggml.tokens",
            Value::Array(tokens.into_iter().map(Value::String).collect()),
        ),
        ("tokenizer.ggml.scores", Value::Array(scores)),
        (
            "tokenizer.ggml.token_type",
            Value::Array(types.into_iter().map(Value::I32).collect()),
        ),
    ];
    entries.extend(more.iter().cloned());
    build(&entries).unwrap().unwrap()
}

#[test]
fn no_vocabulary_gives_none() {
    assert!(build(&[]).unwrap().is_none());
    for model in ["none", "no_vocab"] {
        let entries = [("tokenizer.ggml.model", string(model))];
        assert!(build(&entries).unwrap().is_none(), "{model}");
    }
}

#[test]
fn unsupported_model_is_named() {
    let entries = [("tokenizer.ggml.model", string("bert"))];
    let err = build(&entries).err().unwrap();
    assert!(
        matches!(&err, TokenizerError::UnsupportedModel { model } if model == "bert"),
        "{err:?}"
    );
    assert!(err.to_string().contains("\"bert\""), "{err}");
}

#[test]
fn unsupported_pre_tokenizer_is_named() {
    let entries = [
        ("tokenizer.ggml.model", string("gpt2")),
        ("tokenizer.ggml.pre", string("deepseek-llm")),
        ("tokenizer.ggml.tokens", strings(&["a", "b", "ab"])),
        ("tokenizer.ggml.merges", strings(&["a b"])),
    ];
    let err = build(&entries).err().unwrap();
    assert!(
        matches!(&err, TokenizerError::UnsupportedPreTokenizer { pre } if pre == "deepseek-llm"),
        "{err:?}"
    );
    assert!(err.to_string().contains("tokenizer.ggml.pre"), "{err}");
}

#[test]
fn malformed_vocabularies_are_errors() {
    let dup = [
        ("tokenizer.ggml.model", string("llama")),
        ("tokenizer.ggml.tokens", strings(&["a", "b", "a"])),
    ];
    let err = build(&dup).err().unwrap();
    assert!(
        matches!(
            err,
            TokenizerError::DuplicateToken {
                first: 0,
                second: 2,
                ..
            }
        ),
        "{err:?}"
    );

    let byte = [
        ("tokenizer.ggml.model", string("llama")),
        ("tokenizer.ggml.tokens", strings(&["a", "<0xZZ>"])),
        (
            "tokenizer.ggml.token_type",
            Value::Array(vec![Value::I32(1), Value::I32(6)]),
        ),
    ];
    let err = build(&byte).err().unwrap();
    assert!(
        matches!(err, TokenizerError::BadByteToken { id: 1, .. }),
        "{err:?}"
    );

    let short = [
        ("tokenizer.ggml.model", string("llama")),
        ("tokenizer.ggml.tokens", strings(&["a", "b"])),
        ("tokenizer.ggml.scores", Value::Array(vec![Value::F32(0.0)])),
    ];
    let err = build(&short).err().unwrap();
    assert!(
        matches!(
            err,
            TokenizerError::ShortArray {
                len: 1,
                n_tokens: 2,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("tokenizer.ggml.scores"), "{err}");

    let wrong_type = [("tokenizer.ggml.model", Value::U32(1))];
    let err = build(&wrong_type).err().unwrap();
    assert!(err.to_string().contains("tokenizer.ggml.model"), "{err}");
}

#[test]
fn sentencepiece_merges_by_score_and_falls_back_to_bytes() {
    let tok = spm(&["▁", "a", "b", "ab", "▁ab", "c"], &[]);
    // ids: ▁ 259, a 260, b 261, ab 262, ▁ab 263, c 264.
    assert_eq!(tok.encode("ab", true).unwrap(), [1, 263]);
    assert_eq!(tok.encode("ab ab", false).unwrap(), [263, 263]);
    // é is not a token: its two UTF-8 bytes come out as byte tokens.
    assert_eq!(tok.encode("é", false).unwrap(), [259, 3 + 0xC3, 3 + 0xA9]);
    assert_eq!(tok.decode(&[1, 263, 263, 3 + 0xC3, 3 + 0xA9, 2]), " ab abé");
    assert_eq!(tok.eog_ids(), [2]);
    assert!(tok.is_eog(2) && !tok.is_eog(1));
}

#[test]
fn special_tokens_parse_only_when_asked() {
    let tok = spm(&["▁", "a"], &[]);
    // Without parsing, "<s>" is text: four bytes after the space prefix.
    assert_eq!(
        tok.encode("<s>", false).unwrap(),
        [259, 3 + b'<' as u32, 3 + b's' as u32, 3 + b'>' as u32]
    );
    // Parsed, it is BOS, and the text after it gets a space prefix.
    assert_eq!(
        tok.encode_with_special("<s>a", false).unwrap(),
        [1, 259, 260]
    );
}

#[test]
fn flags_from_metadata_override_defaults() {
    let tok = spm(
        &["▁", "a"],
        &[
            ("tokenizer.ggml.add_bos_token", Value::Bool(false)),
            ("tokenizer.ggml.add_eos_token", Value::Bool(true)),
            ("tokenizer.ggml.add_space_prefix", Value::Bool(false)),
        ],
    );
    assert_eq!(tok.encode("a", true).unwrap(), [260, 2]);
    assert_eq!(tok.encode("", true).unwrap(), [2]);
    assert_eq!(tok.encode("", false).unwrap(), [] as [u32; 0]);

    // An id outside the vocabulary is ignored, as llama.cpp does, leaving no BOS to add.
    let tok = spm(
        &["a"],
        &[("tokenizer.ggml.bos_token_id", Value::U32(1_000_000))],
    );
    assert_eq!(tok.bos_id(), Some(1), "the default stays");
    let entries = [
        ("tokenizer.ggml.model", string("gpt2")),
        ("tokenizer.ggml.pre", string("llama-bpe")),
        ("tokenizer.ggml.tokens", strings(&["a"])),
        ("tokenizer.ggml.merges", strings(&[])),
    ];
    let tok = build(&entries).unwrap().unwrap();
    assert_eq!(tok.bos_id(), None);
    let err = tok.encode("a", true).err().unwrap();
    assert!(
        matches!(err, TokenizerError::MissingSpecialToken { role: "BOS" }),
        "{err:?}"
    );
    assert_eq!(tok.encode("a", false).unwrap(), [0]);
}

#[test]
fn tokenizer_can_be_shared_between_threads() {
    fn shared<T: Send + Sync>() {}
    shared::<Tokenizer>();
}
