//! What a model is to the generation code: a [`Forward`] step over a batch of rows from several
//! sequences (the GPU runtime, or a stand-in in tests), and prompt processing in chunks. The
//! generation loop itself is the scheduler's ([`crate::scheduler`]).

use crate::sampling::argmax_rows;

/// One token of a step: which sequence (KV-cache slot) it extends and at which position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchRow {
    pub token: u32,
    pub pos: u32,
    pub seq: u32,
}

/// A model that runs one step over a batch of rows from several sequences.
pub trait Forward {
    type Error;
    /// Runs `rows` and returns the logits of the rows listed in `outputs`, one vocabulary-sized
    /// slice after another.
    fn forward(&mut self, rows: &[BatchRow], outputs: &[usize]) -> Result<Vec<f32>, Self::Error>;
    /// Runs `rows` and returns the most likely token of each row listed in `outputs` (the first
    /// on ties, as [`crate::sampling::argmax`]). A model that picks them where it computed the
    /// logits overrides this and saves reading them back.
    fn forward_greedy(
        &mut self,
        rows: &[BatchRow],
        outputs: &[usize],
    ) -> Result<Vec<u32>, Self::Error> {
        let logits = self.forward(rows, outputs)?;
        Ok(argmax_rows(&logits, outputs.len()))
    }
    /// Most rows one step takes.
    fn max_batch(&self) -> usize;
}

/// Processes `prompt` on sequence `seq` at positions from `start`, in chunks of the model's
/// batch size, returning the logits after its last token.
pub fn prefill<F: Forward>(
    model: &mut F,
    prompt: &[u32],
    seq: u32,
    start: u32,
) -> Result<Vec<f32>, F::Error> {
    let chunk = model.max_batch();
    let mut logits = Vec::new();
    for (c, tokens) in prompt.chunks(chunk).enumerate() {
        let rows: Vec<BatchRow> = tokens
            .iter()
            .enumerate()
            .map(|(i, &token)| BatchRow {
                token,
                pos: start + (c * chunk + i) as u32,
                seq,
            })
            .collect();
        let last = (c + 1) * chunk >= prompt.len();
        let outputs: &[usize] = if last { &[rows.len() - 1] } else { &[] };
        logits = model.forward(&rows, outputs)?;
    }
    Ok(logits)
}
