//! Decoding generated tokens one at a time.

use std::ops::Deref;

use super::Tokenizer;

/// Turns token ids into text as they are generated, returning only text that is complete.
///
/// A character can be split over several tokens: SentencePiece byte-fallback tokens carry one
/// byte each, and byte-level BPE tokens can end inside a character. The decoder holds back a
/// trailing incomplete UTF-8 sequence until the bytes that complete it arrive, so everything
/// [`push`](Self::push) returns followed by [`flush`](Self::flush) equals
/// [`Tokenizer::decode`] of the same ids.
///
/// `T` is how the tokenizer is held: a reference, or an `Arc` where the decoder must own it (a
/// server response that outlives its handler).
pub struct StreamDecoder<T: Deref<Target = Tokenizer>> {
    tokenizer: T,
    pending: Vec<u8>,
}

impl<T: Deref<Target = Tokenizer>> StreamDecoder<T> {
    pub fn new(tokenizer: T) -> Self {
        StreamDecoder {
            tokenizer,
            pending: Vec::new(),
        }
    }

    /// Adds a token and returns the text it completes, possibly empty. Bytes that can never
    /// form a character come out as U+FFFD, as in [`Tokenizer::decode`].
    pub fn push(&mut self, id: u32) -> String {
        self.pending.extend_from_slice(self.tokenizer.piece(id));
        let mut out = String::new();
        loop {
            match std::str::from_utf8(&self.pending) {
                Ok(text) => {
                    out.push_str(text);
                    self.pending.clear();
                    return out;
                }
                Err(e) => {
                    let valid = e.valid_up_to();
                    out.push_str(&String::from_utf8_lossy(&self.pending[..valid]));
                    match e.error_len() {
                        Some(invalid) => {
                            out.push(char::REPLACEMENT_CHARACTER);
                            self.pending.drain(..valid + invalid);
                        }
                        // The bytes end inside a character that may still be completed.
                        None => {
                            self.pending.drain(..valid);
                            return out;
                        }
                    }
                }
            }
        }
    }

    /// Returns what is held back, an unfinished character as U+FFFD, and empties the decoder.
    pub fn flush(&mut self) -> String {
        let out = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        out
    }
}
