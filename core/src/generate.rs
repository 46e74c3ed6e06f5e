//! What a model is to the generation code: a [`Forward`] step over a batch of rows from several
//! sequences (the GPU runtime, or a stand-in in tests), and prompt processing in chunks. The
//! generation loop itself is the scheduler's ([`crate::scheduler`]).

/// One token of a step: which sequence (KV-cache slot) it extends and at which position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchRow {
    pub token: u32,
    pub pos: u32,
    pub seq: u32,
}

impl BatchRow {
    /// A token not read back yet: `PICKED | j` is the token that output row `j` of the greedy
    /// step submitted just before picks, so a step can go in before the CPU has read the one it
    /// follows ([`Forward::submit_greedy`]).
    pub const PICKED: u32 = 1 << 31;
}

/// A model that runs one step over a batch of rows from several sequences.
pub trait Forward {
    type Error;
    /// Runs `rows` and returns the logits of the rows listed in `outputs`, one vocabulary-sized
    /// slice after another.
    fn forward(&mut self, rows: &[BatchRow], outputs: &[usize]) -> Result<Vec<f32>, Self::Error>;
    /// Submits `rows` without waiting for them; [`Forward::finish_greedy`] returns the most
    /// likely token of each row listed in `outputs` (the first on ties, as
    /// [`crate::sampling::argmax`]). Greedy steps finish in the order they were submitted, at
    /// most two at a time in flight, and a row may take its token from the picks of the step
    /// submitted just before ([`BatchRow::PICKED`]), so the next step runs while the CPU reads
    /// this one's tokens.
    fn submit_greedy(&mut self, rows: &[BatchRow], outputs: &[usize]) -> Result<(), Self::Error>;
    /// The tokens of the oldest greedy step not finished yet.
    fn finish_greedy(&mut self) -> Result<Vec<u32>, Self::Error>;
    /// A greedy step run to its end: [`Forward::submit_greedy`], then
    /// [`Forward::finish_greedy`].
    fn forward_greedy(
        &mut self,
        rows: &[BatchRow],
        outputs: &[usize],
    ) -> Result<Vec<u32>, Self::Error> {
        self.submit_greedy(rows, outputs)?;
        self.finish_greedy()
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
