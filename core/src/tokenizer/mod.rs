//! The tokenizer a GGUF file describes in its `tokenizer.*` metadata, matching llama.cpp's
//! `llama_tokenize` and `llama_token_to_piece` id for id and byte for byte.
//!
//! Two vocabulary kinds are supported: `llama` (SentencePiece-style, as in Gemma and Llama 2)
//! and `gpt2` (byte-level BPE, as in Llama 3 and Qwen2/3) with the pre-tokenizers
//! `llama-bpe`, `qwen2`, `gpt-2` and `default`. The merging itself runs on the `tokenizers`
//! crate; special-token handling, BOS/EOS and rendering follow llama.cpp's `llama-vocab.cpp`.
//!
//! Known differences from llama.cpp, none of which shows in the tested vocabularies' reference
//! strings:
//! - Pre-tokenizer regexes classify characters by Unicode 16 (the `regex` crate's tables),
//!   llama.cpp by its older tables, so characters new in Unicode 16 can split differently.
//! - In SentencePiece vocabularies llama.cpp breaks ties between equally scored merges by
//!   position in the text; here they are ordered by token id (see `spm::merges`).
//! - Where llama.cpp picks an arbitrary token among several with a role's text (say both
//!   `<|im_end|>` and `<|endoftext|>` for end-of-turn), the lowest id is taken.
//! - The per-model token attributes llama.cpp sets by `general.name` (right-stripping spaces
//!   after Phi-3's special tokens, left-stripping before BERT masks) are not applied.

mod bpe;
mod error;
mod partition;
mod spm;
mod stream;
mod vocab;

use crate::gguf::Metadata;

pub use error::TokenizerError;
pub use stream::StreamDecoder;

use bpe::{Bpe, PreTokenizer};
use partition::{Fragment, Specials};
use spm::Spm;
use vocab::{Family, Pieces, Roles};

const MODEL_KEY: &str = "tokenizer.ggml.model";

/// A GGUF file's tokenizer. Immutable once built, so it can be shared between threads.
pub struct Tokenizer {
    model: Model,
    n_tokens: usize,
    roles: Roles,
    specials: Specials,
    pieces: Pieces,
}

/// Boxed because the `tokenizers` models are large and differ in size.
enum Model {
    Spm(Box<Spm>),
    Bpe(Box<Bpe>),
}

impl Tokenizer {
    /// Builds the tokenizer from `tokenizer.*` metadata.
    ///
    /// Returns `Ok(None)` when `tokenizer.ggml.model` is absent, `none` or `no_vocab`: a file
    /// without a vocabulary, which llama.cpp accepts. Errors name the key or value at fault,
    /// including an unsupported model or pre-tokenizer.
    pub fn from_gguf(meta: &Metadata) -> Result<Option<Tokenizer>, TokenizerError> {
        let (family, pre) = match meta.opt_str(MODEL_KEY)? {
            None | Some("none" | "no_vocab") => return Ok(None),
            Some("llama") => (Family::Spm, None),
            Some("gpt2") => (Family::Bpe, Some(PreTokenizer::from_metadata(meta)?)),
            Some(other) => {
                return Err(TokenizerError::UnsupportedModel {
                    model: other.to_owned(),
                });
            }
        };
        let texts = vocab::load_texts(meta)?;
        let index = vocab::index(&texts)?;
        let mut attrs = vocab::load_attrs(meta, texts.len())?;
        let llama3_defaults = pre.as_ref().is_some_and(|p| p.add_bos_default);
        let roles = Roles::load(meta, family, llama3_defaults, &index, &mut attrs)?;
        let pieces = Pieces::new(&texts, &attrs, family)?;
        let specials = Specials::new(&texts, &attrs);
        let model = match pre {
            None => Model::Spm(Box::new(Spm::new(meta, &texts, index, roles.unk)?)),
            Some(pre) => Model::Bpe(Box::new(Bpe::new(meta, index, &pre)?)),
        };
        Ok(Some(Tokenizer {
            model,
            n_tokens: texts.len(),
            roles,
            specials,
            pieces,
        }))
    }

    /// Tokenizes `text` as llama.cpp's `llama_tokenize(.., add_special, parse_special =
    /// false)`: special-token text such as `<start_of_turn>` is tokenized as plain text
    /// (user-defined tokens, like Gemma's runs of spaces, still match). `add_special` adds BOS
    /// and EOS as the file's `tokenizer.ggml.add_bos_token`/`add_eos_token` say, with
    /// llama.cpp's defaults when they are absent.
    pub fn encode(&self, text: &str, add_special: bool) -> Result<Vec<u32>, TokenizerError> {
        self.tokenize(text, add_special, false)
    }

    /// Like [`encode`](Self::encode), but special-token text in `text` becomes the special
    /// token (`parse_special = true`), as chat templates need.
    pub fn encode_with_special(
        &self,
        text: &str,
        add_special: bool,
    ) -> Result<Vec<u32>, TokenizerError> {
        self.tokenize(text, add_special, true)
    }

    fn tokenize(
        &self,
        text: &str,
        add_special: bool,
        parse_special: bool,
    ) -> Result<Vec<u32>, TokenizerError> {
        let mut out = Vec::new();
        if add_special && self.roles.add_bos {
            out.push(
                self.roles
                    .bos
                    .ok_or(TokenizerError::MissingSpecialToken { role: "BOS" })?,
            );
        }
        // SentencePiece puts a space before text that starts the input or follows a special
        // token, when the vocabulary asks for it (Llama 2 does, Gemma does not).
        let mut after_special = true;
        for fragment in self.specials.split(text, parse_special) {
            match fragment {
                Fragment::Token(id) => {
                    out.push(id);
                    after_special = true;
                }
                Fragment::Text(text) => {
                    match &self.model {
                        Model::Spm(spm) => {
                            let prefix = self.roles.add_space_prefix && after_special;
                            spm.encode(text, prefix, &mut out)?;
                        }
                        Model::Bpe(bpe) => bpe.encode(text, &mut out)?,
                    }
                    after_special = false;
                }
            }
        }
        if add_special && self.roles.add_eos {
            out.push(
                self.roles
                    .eos
                    .ok_or(TokenizerError::MissingSpecialToken { role: "EOS" })?,
            );
        }
        Ok(out)
    }

    /// The text of `ids`: llama.cpp's `llama_token_to_piece(id, lstrip = 0, special = false)`
    /// of each, concatenated. Control tokens (BOS, EOS, `<end_of_turn>`, ...) render as nothing;
    /// user-defined tokens render as their text. Unlike llama-cpp-python's `detokenize`, no
    /// leading space is dropped after BOS, and unlike `llama_detokenize`, spaces are not
    /// cleaned up around punctuation. Bytes that do not form UTF-8 become U+FFFD; ids outside
    /// the vocabulary render as nothing.
    pub fn decode(&self, ids: &[u32]) -> String {
        let mut bytes = Vec::new();
        for &id in ids {
            bytes.extend_from_slice(self.piece(id));
        }
        match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        }
    }

    /// A decoder that turns ids into text one at a time, for printing generated text.
    pub fn stream_decoder(&self) -> StreamDecoder<&Tokenizer> {
        StreamDecoder::new(self)
    }

    /// The bytes `id` renders as in [`decode`](Self::decode).
    fn piece(&self, id: u32) -> &[u8] {
        self.pieces.get(id)
    }

    pub fn bos_id(&self) -> Option<u32> {
        self.roles.bos
    }

    pub fn eos_id(&self) -> Option<u32> {
        self.roles.eos
    }

    /// The end-of-generation tokens, ascending: EOS, plus the tokens llama.cpp treats as ending
    /// a turn (`<end_of_turn>`, `<|eot_id|>`, `<|im_end|>`, ...).
    pub fn eog_ids(&self) -> &[u32] {
        &self.roles.eog
    }

    pub fn is_eog(&self, id: u32) -> bool {
        self.roles.eog.binary_search(&id).is_ok()
    }

    /// Whether `encode(.., add_special = true)` starts with BOS.
    pub fn adds_bos(&self) -> bool {
        self.roles.add_bos
    }

    /// Whether `encode(.., add_special = true)` ends with EOS.
    pub fn adds_eos(&self) -> bool {
        self.roles.add_eos
    }

    /// The number of tokens; ids run from 0 to `vocab_size() - 1`.
    pub fn vocab_size(&self) -> usize {
        self.n_tokens
    }
}
