//! Byte-level BPE (`tokenizer.ggml.model = gpt2`): the text is split by the regexes that
//! `tokenizer.ggml.pre` names, each piece is mapped byte by byte to GPT-2's printable
//! characters, and `tokenizer.ggml.merges` are applied by rank, as llama.cpp's
//! `llm_tokenizer_bpe_session` does.

use std::collections::HashSet;

use tokenizers::models::bpe::{BPE, Vocab};
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::{SplitDelimiterBehavior, Tokenizer};

use crate::gguf::Metadata;

use super::TokenizerError;

const PRE_KEY: &str = "tokenizer.ggml.pre";
const MERGES_KEY: &str = "tokenizer.ggml.merges";

/// The pre-tokenizer regexes of llama.cpp's `llm_tokenizer_bpe`. llama.cpp runs most of them
/// through hand-written matchers that behave as these regexes do under a backtracking engine,
/// which fancy-regex is.
const LLAMA3: &str = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
const QWEN2: &str = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
const GPT2: &str = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)";
/// Applied one after another, each splitting the pieces of the one before.
const DEFAULT: &[&str] = &[r"[\p{P}\$\+<=>\^~\|]+", GPT2, r"\p{N}+", r"[0-9][0-9][0-9]"];

/// How a `tokenizer.ggml.pre` name tokenizes.
pub(super) struct PreTokenizer {
    regexes: &'static [&'static str],
    /// Llama 3 style: a piece that is a whole token is taken as is, without merging.
    ignore_merges: bool,
    /// Llama 3 style vocabularies add BOS unless the metadata says otherwise.
    pub add_bos_default: bool,
}

impl PreTokenizer {
    /// The names llama.cpp maps to its LLAMA3, QWEN2, GPT2 and DEFAULT pre-tokenizers.
    pub(super) fn from_metadata(meta: &Metadata) -> Result<PreTokenizer, TokenizerError> {
        let (regexes, llama3): (&'static [&'static str], bool) =
            match meta.opt_str(PRE_KEY)?.unwrap_or("") {
                // llama.cpp warns about a missing name and falls back to the default.
                "" | "default" => (DEFAULT, false),
                "llama3" | "llama-v3" | "llama-bpe" | "falcon3" | "falcon-h1" | "pixtral"
                | "midm-2.0" | "lfm2" | "jina-v5-nano" => (&[LLAMA3], true),
                "qwen2" | "deepseek-r1-qwen" | "kormo" | "f2llmv2" | "megrez" => (&[QWEN2], false),
                "gpt-2" | "phi-2" | "jina-es" | "jina-de" | "gigachat" | "jina-v2-es"
                | "jina-v2-de" | "a.x-4.0" | "mellum" | "modern-bert" | "jina-v1-en"
                | "jina-v2-code" | "roberta-bpe" | "exaone4" => (&[GPT2], false),
                other => {
                    return Err(TokenizerError::UnsupportedPreTokenizer {
                        pre: other.to_owned(),
                    });
                }
            };
        Ok(PreTokenizer {
            regexes,
            ignore_merges: llama3,
            add_bos_default: llama3,
        })
    }
}

pub(super) struct Bpe {
    tokenizer: Tokenizer,
}

impl Bpe {
    pub(super) fn new(
        meta: &Metadata,
        index: Vocab,
        pre: &PreTokenizer,
    ) -> Result<Bpe, TokenizerError> {
        let merges = load_merges(meta, &index)?;
        let model = BPE::builder()
            .vocab_and_merges(index, merges)
            .ignore_merges(pre.ignore_merges)
            .build()
            .map_err(TokenizerError::backend("building the BPE model"))?;

        let mut steps = Vec::with_capacity(pre.regexes.len() + 1);
        for regex in pre.regexes {
            let split = Split::new(
                SplitPattern::Regex((*regex).to_owned()),
                SplitDelimiterBehavior::Isolated,
                false,
            )
            .map_err(TokenizerError::backend("compiling a pre-tokenizer regex"))?;
            steps.push(PreTokenizerWrapper::Split(split));
        }
        // The regexes already split the text; this step only maps bytes to characters.
        steps.push(PreTokenizerWrapper::ByteLevel(ByteLevel::new(
            false, false, false,
        )));

        let mut tokenizer = Tokenizer::new(model);
        tokenizer.with_pre_tokenizer(Some(Sequence::new(steps)));
        Ok(Bpe { tokenizer })
    }

    /// Appends the ids of a text that holds no special token.
    pub(super) fn encode(&self, text: &str, out: &mut Vec<u32>) -> Result<(), TokenizerError> {
        let encoding = self
            .tokenizer
            .encode_fast(text, false)
            .map_err(TokenizerError::backend("tokenizing"))?;
        out.extend_from_slice(encoding.get_ids());
        Ok(())
    }
}

/// `tokenizer.ggml.merges` as `(left, right)` pairs in rank order.
///
/// llama.cpp splits each entry at the first space after its first byte and keeps the first rank
/// of a repeated pair. It also keeps merges whose parts or result are not tokens, which can
/// never produce a token; the `tokenizers` crate rejects them, so they are dropped here.
fn load_merges(meta: &Metadata, index: &Vocab) -> Result<Vec<(String, String)>, TokenizerError> {
    let entries = meta.get_str_array(MERGES_KEY)?;
    let mut seen = HashSet::with_capacity(entries.len());
    let mut merges = Vec::with_capacity(entries.len());
    for entry in entries {
        let Some(space) = entry.bytes().skip(1).position(|b| b == b' ') else {
            continue;
        };
        let (left, right) = (&entry[..space + 1], &entry[space + 2..]);
        if !index.contains_key(left)
            || !index.contains_key(right)
            || !index.contains_key(format!("{left}{right}").as_str())
            || !seen.insert((left, right))
        {
            continue;
        }
        merges.push((left.to_owned(), right.to_owned()));
    }
    Ok(merges)
}

/// GPT-2 maps the bytes `!`..=`~`, `¡`..=`¬` and `®`..=`ÿ` to the characters of the same code,
/// and the other 68 bytes, in order, to U+0100 onwards.
pub(super) fn byte_level_byte(c: char) -> Option<u8> {
    match u32::from(c) {
        code @ (0x21..=0x7E | 0xA1..=0xAC | 0xAE..=0xFF) => Some(code as u8),
        // The unprintable bytes: 0x00..=0x20, 0x7F..=0xA0, then 0xAD.
        code @ 0x100..=0x120 => Some((code - 0x100) as u8),
        code @ 0x121..=0x142 => Some((code - 0x121 + 0x7F) as u8),
        0x143 => Some(0xAD),
        _ => None,
    }
}
