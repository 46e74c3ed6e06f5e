//! The one error type of the tokenizer.

use thiserror::Error;

use crate::gguf::GgufError;

#[derive(Debug, Error)]
pub enum TokenizerError {
    /// A `tokenizer.*` key is missing or has the wrong type.
    #[error(transparent)]
    Metadata(#[from] GgufError),

    #[error(
        "unsupported tokenizer model {model:?} (tokenizer.ggml.model): wick supports \"llama\" \
         (SentencePiece) and \"gpt2\" (byte-level BPE)"
    )]
    UnsupportedModel { model: String },

    #[error(
        "unsupported pre-tokenizer {pre:?} (tokenizer.ggml.pre) for a gpt2 vocabulary: wick \
         supports llama-bpe (llama3), qwen2, gpt-2 and default, with their llama.cpp aliases"
    )]
    UnsupportedPreTokenizer { pre: String },

    #[error("{key} has {len} entries, fewer than the {n_tokens} of tokenizer.ggml.tokens")]
    ShortArray {
        key: &'static str,
        len: usize,
        n_tokens: usize,
    },

    #[error("tokenizer.ggml.tokens holds {text:?} twice, at ids {first} and {second}")]
    DuplicateToken {
        text: String,
        first: u32,
        second: u32,
    },

    #[error("token {id} {text:?} is typed as a byte token but is not of the form <0xXX>")]
    BadByteToken { id: u32, text: String },

    #[error("tokenizer.ggml.tokens has {n_tokens} entries, more than token ids can number")]
    TooManyTokens { n_tokens: usize },

    /// The metadata asks for a BOS or EOS token to be added but names none in the vocabulary.
    #[error("the vocabulary adds a {role} token but has none")]
    MissingSpecialToken { role: &'static str },

    /// The `tokenizers` crate refused the vocabulary or failed on a text.
    #[error("{context}: {message}")]
    Backend {
        context: &'static str,
        message: String,
    },
}

impl TokenizerError {
    pub(super) fn backend(context: &'static str) -> impl FnOnce(tokenizers::Error) -> Self {
        move |e| TokenizerError::Backend {
            context,
            message: e.to_string(),
        }
    }
}
