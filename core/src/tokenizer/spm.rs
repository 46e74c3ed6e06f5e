//! SentencePiece-style vocabularies (`tokenizer.ggml.model = llama`): Gemma, Llama 2.
//!
//! llama.cpp's `llm_tokenizer_spm_session` replaces spaces with `▁`, starts from single
//! characters and repeatedly joins the adjacent pair whose concatenation is the
//! highest-scoring token (the leftmost on ties); characters left outside any token become
//! `<0xXX>` byte tokens. That is BPE whose merges are every split of a token into two tokens,
//! ranked by the token's score, with byte fallback, which is how the `tokenizers` crate runs it
//! here.

use tokenizers::Model;
use tokenizers::models::bpe::{BPE, Vocab};

use crate::gguf::Metadata;

use super::TokenizerError;
use super::vocab::check_len;

const SCORES_KEY: &str = "tokenizer.ggml.scores";

pub(super) struct Spm {
    model: BPE,
}

impl Spm {
    pub(super) fn new(
        meta: &Metadata,
        texts: &[String],
        index: Vocab,
        unk: Option<u32>,
    ) -> Result<Spm, TokenizerError> {
        let scores = if meta.get(SCORES_KEY).is_some() {
            let scores = meta.get_f32_array(SCORES_KEY)?;
            check_len(SCORES_KEY, scores.len(), texts.len())?;
            scores
        } else {
            vec![0.0; texts.len()]
        };
        let merges = merges(texts, &scores, &index);
        let mut builder = BPE::builder()
            .vocab_and_merges(index, merges)
            .byte_fallback(true)
            // The whole text is one word, so a word cache would rarely hit.
            .cache_capacity(0);
        if let Some(unk) = unk.and_then(|id| texts.get(id as usize)) {
            // Only reached when a byte token is missing, where llama.cpp would abort.
            builder = builder.unk_token(unk.clone());
        }
        let model = builder
            .build()
            .map_err(TokenizerError::backend("building the SentencePiece model"))?;
        Ok(Spm { model })
    }

    /// Appends the ids of a text that holds no special token; `space_prefix` puts a space
    /// before it, as llama.cpp's `add_space_prefix` does at the start and after special tokens.
    pub(super) fn encode(
        &self,
        text: &str,
        space_prefix: bool,
        out: &mut Vec<u32>,
    ) -> Result<(), TokenizerError> {
        let mut escaped = String::with_capacity(text.len() + 3);
        if space_prefix {
            escaped.push('▁');
        }
        escaped.extend(text.chars().map(|c| if c == ' ' { '▁' } else { c }));
        let tokens = self
            .model
            .tokenize(&escaped)
            .map_err(TokenizerError::backend("tokenizing"))?;
        out.extend(tokens.iter().map(|t| t.id));
        Ok(())
    }
}

/// Every split of a token into two tokens, best score first.
///
/// llama.cpp breaks score ties by position in the text, which ranks cannot express; tied merges
/// are ordered by token id and then split point. Scores tie only among control, user-defined and
/// byte tokens in the vocabularies tested, so this rarely matters.
fn merges(texts: &[String], scores: &[f32], index: &Vocab) -> Vec<(String, String)> {
    let mut ranked = Vec::new();
    for (id, text) in (0u32..).zip(texts) {
        for (split, _) in text.char_indices().skip(1) {
            if index.contains_key(&text[..split]) && index.contains_key(&text[split..]) {
                ranked.push((scores[id as usize], id, split));
            }
        }
    }
    ranked.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    ranked
        .into_iter()
        .map(|(_, id, split)| {
            let (left, right) = texts[id as usize].split_at(split);
            (left.to_owned(), right.to_owned())
        })
        .collect()
}
