//! The vocabulary as llama.cpp loads it (`llama_vocab::impl::load`): token texts, attributes,
//! the special-token roles and the bytes each token renders as.

use tokenizers::models::bpe::Vocab;

use crate::gguf::Metadata;

use super::TokenizerError;
use super::bpe::byte_level_byte;

pub(super) const TOKENS_KEY: &str = "tokenizer.ggml.tokens";
const TOKEN_TYPE_KEY: &str = "tokenizer.ggml.token_type";

/// Token attribute bits, derived from `tokenizer.ggml.token_type` as llama.cpp does. Unused and
/// undefined tokens get no bit: they are never special and render as nothing.
pub(super) mod attr {
    pub const UNKNOWN: u8 = 1;
    pub const NORMAL: u8 = 2;
    pub const CONTROL: u8 = 4;
    pub const USER_DEFINED: u8 = 8;
    pub const BYTE: u8 = 16;
}

/// Whether a vocabulary is SentencePiece-style (`llama`) or byte-level BPE (`gpt2`): it decides
/// the default special tokens and how normal tokens render.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Family {
    Spm,
    Bpe,
}

/// Token texts in id order. Empty texts are renamed `[EMPTY_<id>]` as llama.cpp does, so every
/// text is unique and non-empty.
pub(super) fn load_texts(meta: &Metadata) -> Result<Vec<String>, TokenizerError> {
    let texts = meta.get_str_array(TOKENS_KEY)?;
    if u32::try_from(texts.len()).is_err() {
        return Err(TokenizerError::TooManyTokens {
            n_tokens: texts.len(),
        });
    }
    Ok(texts
        .iter()
        .enumerate()
        .map(|(id, text)| {
            if text.is_empty() {
                format!("[EMPTY_{id}]")
            } else {
                (*text).to_owned()
            }
        })
        .collect())
}

/// Text to id, in the `tokenizers` crate's map type so the models can take it over. llama.cpp
/// aborts on duplicate texts; this reports them.
pub(super) fn index(texts: &[String]) -> Result<Vocab, TokenizerError> {
    let mut index = Vocab::with_capacity(texts.len());
    // `load_texts` checked that ids fit in u32.
    for (id, text) in (0u32..).zip(texts) {
        if let Some(first) = index.insert(text.clone(), id) {
            return Err(TokenizerError::DuplicateToken {
                text: text.clone(),
                first,
                second: id,
            });
        }
    }
    Ok(index)
}

/// Per-token attribute bits; all normal when the file has no token types.
pub(super) fn load_attrs(meta: &Metadata, n_tokens: usize) -> Result<Vec<u8>, TokenizerError> {
    if meta.get(TOKEN_TYPE_KEY).is_none() {
        return Ok(vec![attr::NORMAL; n_tokens]);
    }
    let types = meta.get_i32_array(TOKEN_TYPE_KEY)?;
    check_len(TOKEN_TYPE_KEY, types.len(), n_tokens)?;
    Ok(types[..n_tokens]
        .iter()
        .map(|t| match t {
            1 => attr::NORMAL,
            2 => attr::UNKNOWN,
            3 => attr::CONTROL,
            4 => attr::USER_DEFINED,
            6 => attr::BYTE,
            _ => 0,
        })
        .collect())
}

/// llama.cpp reads the first `n_tokens` entries of per-token arrays and rejects shorter ones.
pub(super) fn check_len(
    key: &'static str,
    len: usize,
    n_tokens: usize,
) -> Result<(), TokenizerError> {
    if len < n_tokens {
        return Err(TokenizerError::ShortArray { key, len, n_tokens });
    }
    Ok(())
}

/// BOS/EOS handling and the end-of-generation set.
pub(super) struct Roles {
    pub bos: Option<u32>,
    pub eos: Option<u32>,
    pub unk: Option<u32>,
    pub add_bos: bool,
    pub add_eos: bool,
    pub add_space_prefix: bool,
    /// Sorted ids.
    pub eog: Vec<u32>,
}

/// A role llama.cpp looks up by metadata key, or else by token text.
struct Role {
    keys: &'static [&'static str],
    texts: &'static [&'static str],
    /// fim_pad/rep/sep stop generation, so llama.cpp adds them to the EOG set.
    eog: bool,
}

/// The roles llama.cpp detects by text when the metadata does not name them. A token found this
/// way becomes a control token, which changes how it is parsed and rendered.
const ROLES: &[Role] = &[
    Role {
        keys: &["tokenizer.ggml.eot_token_id"],
        texts: &[
            "<|eot_id|>",
            "<|im_end|>",
            "<|end|>",
            "<end_of_turn>",
            "<|endoftext|>",
            "<|end_of_text|>",
            "<EOT>",
            "_<EOT>",
            "[EOT]",
            "<｜end▁of▁sentence｜>",
            "<end_of_utterance>",
        ],
        eog: true,
    },
    Role {
        keys: &["tokenizer.ggml.eom_token_id"],
        texts: &["<|eom_id|>"],
        eog: true,
    },
    Role {
        keys: &[
            "tokenizer.ggml.fim_pre_token_id",
            "tokenizer.ggml.prefix_token_id",
        ],
        texts: &[
            "<|fim_prefix|>",
            "<fim-prefix>",
            "<fim_prefix>",
            "<｜fim▁begin｜>",
            "<PRE>",
            "▁<PRE>",
            "<|code_prefix|>",
            "<|prefix|>",
        ],
        eog: false,
    },
    Role {
        keys: &[
            "tokenizer.ggml.fim_suf_token_id",
            "tokenizer.ggml.suffix_token_id",
        ],
        texts: &[
            "<|fim_suffix|>",
            "<fim-suffix>",
            "<fim_suffix>",
            "<｜fim▁hole｜>",
            "<SUF>",
            "▁<SUF>",
            "<|code_suffix|>",
            "<|suffix|>",
        ],
        eog: false,
    },
    Role {
        keys: &[
            "tokenizer.ggml.fim_mid_token_id",
            "tokenizer.ggml.middle_token_id",
        ],
        texts: &[
            "<|fim_middle|>",
            "<fim-middle>",
            "<fim_middle>",
            "<｜fim▁end｜>",
            "<MID>",
            "▁<MID>",
            "<|code_middle|>",
            "<|middle|>",
        ],
        eog: false,
    },
    Role {
        keys: &["tokenizer.ggml.fim_pad_token_id"],
        texts: &["<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"],
        eog: true,
    },
    Role {
        keys: &["tokenizer.ggml.fim_rep_token_id"],
        texts: &[
            "<|fim_repo|>",
            "<|repo_name|>",
            "<fim-repo>",
            "<REPO>",
            "<reponame>",
        ],
        eog: true,
    },
    Role {
        keys: &["tokenizer.ggml.fim_sep_token_id"],
        texts: &["<|file_sep|>"],
        eog: true,
    },
];

/// Texts that end generation wherever they are in the vocabulary; they become control tokens.
const EOG_TEXTS: &[&str] = &[
    "<|eot_id|>",
    "<|im_end|>",
    "<|end|>",
    "<|return|>",
    "<|call|>",
    "<|flush|>",
    "<|calls|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "</s>",
    "<|eom_id|>",
    "<EOT>",
    "_<EOT>",
    "[EOT]",
    "[EOS]",
    "<|end_of_text|>",
    "<end_of_utterance>",
    "<eos>",
    "<turn|>",
    "<|tool_response>",
    "<｜end▁of▁sentence｜>",
    "[e~[",
];

impl Roles {
    /// Reads the special ids and flags, and marks the tokens llama.cpp recognises by text as
    /// control tokens in `attrs`.
    pub(super) fn load(
        meta: &Metadata,
        family: Family,
        llama3_defaults: bool,
        index: &Vocab,
        attrs: &mut [u8],
    ) -> Result<Roles, TokenizerError> {
        let n_tokens = attrs.len();
        let (bos, eos, unk) = match family {
            Family::Spm => (Some(1), Some(2), Some(0)),
            Family::Bpe => (Some(11), Some(11), None),
        };
        let id = |key, default: Option<u32>| -> Result<Option<u32>, TokenizerError> {
            // Like llama.cpp, an id outside the vocabulary is ignored, and so is a default.
            let default = default.filter(|&d| (d as usize) < n_tokens);
            Ok(match meta.opt_u32(key)? {
                Some(id) if (id as usize) < n_tokens => Some(id),
                _ => default,
            })
        };
        let bos = id("tokenizer.ggml.bos_token_id", bos)?;
        let eos = id("tokenizer.ggml.eos_token_id", eos)?;
        let unk = id("tokenizer.ggml.unknown_token_id", unk)?;

        let flag = |key, default| -> Result<bool, TokenizerError> {
            Ok(meta.opt_bool(key)?.unwrap_or(default))
        };
        let add_bos = flag(
            "tokenizer.ggml.add_bos_token",
            family == Family::Spm || llama3_defaults,
        )?;
        let add_eos = flag("tokenizer.ggml.add_eos_token", false)?;
        let add_space_prefix = flag("tokenizer.ggml.add_space_prefix", family == Family::Spm)?;

        let mut eog = Vec::new();
        for role in ROLES {
            let mut found = None;
            for key in role.keys {
                found = id(key, found)?;
            }
            if found.is_none() {
                // llama.cpp takes whichever match its hash map yields first; the lowest id is
                // the deterministic choice.
                found = role
                    .texts
                    .iter()
                    .filter_map(|&t| index.get(t).copied())
                    .min();
                if let Some(id) = found {
                    attrs[id as usize] |= attr::CONTROL;
                }
            }
            if let (true, Some(id)) = (role.eog, found) {
                eog.push(id);
            }
        }
        for text in EOG_TEXTS {
            if let Some(&id) = index.get(*text) {
                attrs[id as usize] |= attr::CONTROL;
                eog.push(id);
            }
        }
        eog.extend(eos);
        eog.sort_unstable();
        eog.dedup();

        Ok(Roles {
            bos,
            eos,
            unk,
            add_bos,
            add_eos,
            add_space_prefix,
            eog,
        })
    }
}

/// The bytes each token renders as: llama.cpp's `token_to_piece(id, lstrip = 0, special =
/// false)`, all concatenated, with an offset table.
pub(super) struct Pieces {
    bytes: Vec<u8>,
    /// `n_tokens + 1` offsets into `bytes`.
    ends: Vec<usize>,
}

impl Pieces {
    pub(super) fn new(
        texts: &[String],
        attrs: &[u8],
        family: Family,
    ) -> Result<Pieces, TokenizerError> {
        let mut bytes = Vec::with_capacity(texts.iter().map(String::len).sum());
        let mut ends = Vec::with_capacity(texts.len() + 1);
        ends.push(0);
        for (id, (text, &a)) in (0u32..).zip(texts.iter().zip(attrs)) {
            if a & (attr::CONTROL | attr::UNKNOWN) != 0 {
                // Control and unknown tokens render as nothing unless asked for specials.
            } else if a & attr::USER_DEFINED != 0 {
                bytes.extend_from_slice(text.as_bytes());
            } else if a & attr::NORMAL != 0 {
                match family {
                    Family::Spm => bytes.extend_from_slice(text.replace('▁', " ").as_bytes()),
                    Family::Bpe => push_byte_level(text, &mut bytes),
                }
            } else if a & attr::BYTE != 0 {
                bytes.push(
                    parse_byte_token(text).ok_or_else(|| TokenizerError::BadByteToken {
                        id,
                        text: text.clone(),
                    })?,
                );
            }
            ends.push(bytes.len());
        }
        Ok(Pieces { bytes, ends })
    }

    /// The rendered bytes of `id`; empty for ids outside the vocabulary.
    pub(super) fn get(&self, id: u32) -> &[u8] {
        let id = id as usize;
        match (self.ends.get(id), self.ends.get(id + 1)) {
            (Some(&start), Some(&end)) => &self.bytes[start..end],
            _ => &[],
        }
    }
}

/// Undoes GPT-2's byte-to-character mapping. A character outside the mapping renders as
/// llama.cpp renders it, `[UNK_BYTE_0x<utf8 hex><token text>]`.
fn push_byte_level(text: &str, out: &mut Vec<u8>) {
    for c in text.chars() {
        match byte_level_byte(c) {
            Some(b) => out.push(b),
            None => {
                out.extend_from_slice(b"[UNK_BYTE_0x");
                let mut utf8 = [0; 4];
                for b in c.encode_utf8(&mut utf8).bytes() {
                    out.extend_from_slice(format!("{b:02x}").as_bytes());
                }
                out.extend_from_slice(text.as_bytes());
                out.push(b']');
            }
        }
    }
}

/// The byte of a `<0xXX>` token.
pub(super) fn parse_byte_token(text: &str) -> Option<u8> {
    let hex = text.strip_prefix("<0x")?.strip_suffix('>')?;
    if hex.len() != 2 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u8::from_str_radix(hex, 16).ok()
}
