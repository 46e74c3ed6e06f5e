//! Splitting text around special tokens, as llama.cpp's `tokenizer_st_partition` does: each
//! special token in turn, longest text first, is cut out of the text that is still plain.
//! Control and unknown tokens are cut out only when special tokens are parsed; user-defined
//! tokens always are.

use std::collections::HashMap;

use super::vocab::attr;

/// A piece of the text: plain text for the model, or a special token taken as is.
pub(super) enum Fragment<'a> {
    Text(&'a str),
    Token(u32),
}

struct Special {
    text: Box<str>,
    id: u32,
    /// Control or unknown: cut out only when parsing special tokens.
    control: bool,
}

pub(super) struct Specials {
    /// In llama.cpp's order: longest text first (ties, which it leaves unordered, by id).
    tokens: Vec<Special>,
    /// Text to index in `tokens`, to find which special tokens a text holds.
    by_text: HashMap<Box<str>, usize>,
    /// The distinct text lengths, ascending.
    lengths: Vec<usize>,
    /// Bytes a special token starts with.
    first_bytes: [bool; 256],
}

impl Specials {
    pub(super) fn new(texts: &[String], attrs: &[u8]) -> Specials {
        let mut tokens: Vec<Special> = (0u32..)
            .zip(texts.iter().zip(attrs))
            .filter(|(_, (_, a))| **a & (attr::CONTROL | attr::USER_DEFINED | attr::UNKNOWN) != 0)
            .map(|(id, (text, a))| Special {
                text: text.as_str().into(),
                id,
                control: a & (attr::CONTROL | attr::UNKNOWN) != 0,
            })
            .collect();
        tokens.sort_by(|a, b| b.text.len().cmp(&a.text.len()).then(a.id.cmp(&b.id)));
        let by_text = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| (t.text.clone(), i))
            .collect();
        let mut lengths: Vec<usize> = tokens.iter().map(|t| t.text.len()).collect();
        lengths.sort_unstable();
        lengths.dedup();
        let mut first_bytes = [false; 256];
        for t in &tokens {
            // Texts are never empty: the vocabulary renames empty ones.
            if let Some(&b) = t.text.as_bytes().first() {
                first_bytes[usize::from(b)] = true;
            }
        }
        Specials {
            tokens,
            by_text,
            lengths,
            first_bytes,
        }
    }

    /// The text as plain fragments and special tokens, in order; empty for an empty text.
    pub(super) fn split<'a>(&self, text: &'a str, parse_special: bool) -> Vec<Fragment<'a>> {
        let mut fragments = Vec::new();
        if !text.is_empty() {
            fragments.push(Fragment::Text(text));
        }
        for i in self.present(text) {
            let token = &self.tokens[i];
            if token.control && !parse_special {
                continue;
            }
            let mut next = Vec::with_capacity(fragments.len() + 2);
            for fragment in fragments {
                let Fragment::Text(mut rest) = fragment else {
                    next.push(fragment);
                    continue;
                };
                while let Some(at) = rest.find(&*token.text) {
                    if at > 0 {
                        next.push(Fragment::Text(&rest[..at]));
                    }
                    next.push(Fragment::Token(token.id));
                    rest = &rest[at + token.text.len()..];
                }
                if !rest.is_empty() {
                    next.push(Fragment::Text(rest));
                }
            }
            fragments = next;
        }
        fragments
    }

    /// Indices in `tokens`, in order, of the special tokens that occur in `text`. Cutting out
    /// only these keeps the cost to the text's length rather than its length times the number
    /// of special tokens (thousands in Gemma).
    fn present(&self, text: &str) -> Vec<usize> {
        let bytes = text.as_bytes();
        let mut found = Vec::new();
        for (start, &b) in bytes.iter().enumerate() {
            if !self.first_bytes[usize::from(b)] {
                continue;
            }
            for &len in &self.lengths {
                let Some(candidate) = text.get(start..start + len) else {
                    if start + len > bytes.len() {
                        break;
                    }
                    continue;
                };
                if let Some(&i) = self.by_text.get(candidate) {
                    found.push(i);
                }
            }
        }
        found.sort_unstable();
        found.dedup();
        found
    }
}
