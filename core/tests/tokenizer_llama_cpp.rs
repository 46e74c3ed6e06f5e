//! The tokenizer against llama.cpp on four real vocabularies: the default model (Gemma 3,
//! SentencePiece) and llama.cpp's test vocabularies for Llama 2 (SentencePiece), Llama 3 and
//! Qwen2 (byte-level BPE). `scripts/tokenizer_reference.py` wrote the expected ids and text into
//! `tests/data/tokenizer/<vocab>.json` with llama-cpp-python.
//!
//! The default model is `$WICK_MODEL` or the pip-installed copy in `~/.cache`; the test
//! vocabularies are in `$WICK_VOCAB_DIR` or `target/vocab`, where `scripts/fetch-vocabs.sh`
//! puts them.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Deserialize;
use wick_core::gguf::GgufFile;
use wick_core::tokenizer::Tokenizer;

#[derive(Deserialize)]
struct Reference {
    n_vocab: usize,
    bos: i64,
    eos: i64,
    add_bos: bool,
    add_eos: bool,
    eog: Vec<u32>,
    cases: Vec<Case>,
    special: Vec<SpecialCase>,
}

#[derive(Deserialize)]
struct Case {
    text: String,
    ids: Vec<u32>,
    decoded: String,
}

#[derive(Deserialize)]
struct SpecialCase {
    text: String,
    add_special: bool,
    ids: Vec<u32>,
    decoded: String,
}

fn model_path() -> PathBuf {
    wick_core::default_model::installed().unwrap_or_else(|e| panic!("{e}"))
}

fn vocab_path(name: &str) -> PathBuf {
    let dir = match std::env::var_os("WICK_VOCAB_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target/vocab")),
    };
    let path = dir.join(format!("ggml-vocab-{name}.gguf"));
    assert!(
        path.is_file(),
        "llama.cpp's test vocabulary is missing at {}: run `scripts/fetch-vocabs.sh` (or \
         `scripts/fetch-vocabs.sh DIR` with WICK_VOCAB_DIR=DIR)",
        path.display()
    );
    path
}

fn load(path: &Path) -> Tokenizer {
    let file = GgufFile::open(path).unwrap_or_else(|e| panic!("{e}"));
    let start = Instant::now();
    let tokenizer = Tokenizer::from_gguf(file.metadata())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .unwrap_or_else(|| panic!("{} has no vocabulary", path.display()));
    eprintln!(
        "{}: built a {}-token tokenizer in {:?}",
        path.display(),
        tokenizer.vocab_size(),
        start.elapsed()
    );
    tokenizer
}

fn reference(name: &str) -> Reference {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/data/tokenizer/");
    let json = std::fs::read_to_string(format!("{path}{name}.json"))
        .unwrap_or_else(|e| panic!("{path}{name}.json: {e}"));
    serde_json::from_str(&json).unwrap_or_else(|e| panic!("{name}.json: {e}"))
}

/// Decodes `ids` one at a time as a CLI would print them.
fn stream(tokenizer: &Tokenizer, ids: &[u32]) -> String {
    let mut decoder = tokenizer.stream_decoder();
    let mut text: String = ids.iter().map(|&id| decoder.push(id)).collect();
    text.push_str(&decoder.flush());
    text
}

/// llama.cpp's null token is -1.
fn token(id: i64) -> Option<u32> {
    u32::try_from(id).ok()
}

/// Compares every reference case and fails with the list of mismatches.
fn check(name: &str, tokenizer: &Tokenizer) {
    let reference = reference(name);
    let mut failures = Vec::new();

    assert_eq!(
        tokenizer.vocab_size(),
        reference.n_vocab,
        "{name}: vocab size"
    );
    assert_eq!(tokenizer.bos_id(), token(reference.bos), "{name}: BOS");
    assert_eq!(tokenizer.eos_id(), token(reference.eos), "{name}: EOS");
    assert_eq!(tokenizer.adds_bos(), reference.add_bos, "{name}: add_bos");
    assert_eq!(tokenizer.adds_eos(), reference.add_eos, "{name}: add_eos");
    assert_eq!(tokenizer.eog_ids(), reference.eog, "{name}: EOG set");
    for &id in &reference.eog {
        assert!(tokenizer.is_eog(id), "{name}: {id} is EOG");
    }

    let mut ids_match = 0;
    for case in &reference.cases {
        match tokenizer.encode(&case.text, true) {
            Ok(ids) if ids == case.ids => ids_match += 1,
            Ok(ids) => failures.push(format!(
                "encode({:?}): {ids:?}, llama.cpp {:?}",
                case.text, case.ids
            )),
            Err(e) => failures.push(format!("encode({:?}): {e}", case.text)),
        }
        let decoded = tokenizer.decode(&case.ids);
        if decoded != case.decoded {
            failures.push(format!(
                "decode({:?}): {decoded:?}, llama.cpp {:?}",
                case.ids, case.decoded
            ));
        }
        let streamed = stream(tokenizer, &case.ids);
        if streamed != decoded {
            failures.push(format!(
                "stream({:?}): {streamed:?}, decode {decoded:?}",
                case.ids
            ));
        }
    }
    for case in &reference.special {
        let ids = tokenizer.encode_with_special(&case.text, case.add_special);
        if !matches!(&ids, Ok(ids) if *ids == case.ids) {
            failures.push(format!(
                "encode_with_special({:?}, {}): {ids:?}, llama.cpp {:?}",
                case.text, case.add_special, case.ids
            ));
        }
        let decoded = tokenizer.decode(&case.ids);
        if decoded != case.decoded {
            failures.push(format!(
                "decode({:?}): {decoded:?}, llama.cpp {:?}",
                case.ids, case.decoded
            ));
        }
    }
    eprintln!(
        "{name}: {ids_match}/{} strings tokenize as llama.cpp does, {} special cases",
        reference.cases.len(),
        reference.special.len()
    );
    assert!(
        failures.is_empty(),
        "{name}: {} mismatches with llama.cpp:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn gemma3_default_model() {
    let tokenizer = load(&model_path());
    check("gemma3", &tokenizer);
}

#[test]
fn llama_spm() {
    let tokenizer = load(&vocab_path("llama-spm"));
    check("llama-spm", &tokenizer);

    // Llama 2 has no token for the crab, so it is four byte tokens; the decoder prints nothing
    // until the last one completes the character.
    let ids = tokenizer.encode("🦀", false).unwrap();
    assert_eq!(ids.len(), 5, "▁ and four bytes: {ids:?}");
    let mut decoder = tokenizer.stream_decoder();
    let pushed: Vec<String> = ids.iter().map(|&id| decoder.push(id)).collect();
    assert_eq!(pushed, [" ", "", "", "", "🦀"]);
    assert_eq!(decoder.flush(), "");

    // A truncated character is held back, then flushed as U+FFFD, as decode renders it.
    let truncated = &ids[..3];
    assert_eq!(stream(&tokenizer, truncated), " \u{FFFD}");
    assert_eq!(tokenizer.decode(truncated), " \u{FFFD}");
}

#[test]
fn llama_bpe() {
    check("llama-bpe", &load(&vocab_path("llama-bpe")));
}

#[test]
fn qwen2() {
    check("qwen2", &load(&vocab_path("qwen2")));
}
