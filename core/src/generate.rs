//! The generation loop: prompt processing in batched chunks, then one token per step, over any
//! [`Forward`] implementation (the GPU runtime, or a reference in tests).

use std::time::{Duration, Instant};

use crate::sampling::Sampler;

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
    /// Most rows one step takes.
    fn max_batch(&self) -> usize;
}

#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct GenStats {
    pub prompt_tokens: usize,
    pub prompt_time: Duration,
    pub generated: usize,
    pub gen_time: Duration,
}

impl GenStats {
    pub fn prompt_tps(&self) -> f64 {
        self.prompt_tokens as f64 / self.prompt_time.as_secs_f64().max(1e-9)
    }

    pub fn gen_tps(&self) -> f64 {
        self.generated as f64 / self.gen_time.as_secs_f64().max(1e-9)
    }
}

/// Processes `prompt` on sequence `seq` in chunks of the model's batch size, returning the logits
/// after its last token.
pub fn prefill<F: Forward>(model: &mut F, prompt: &[u32], seq: u32) -> Result<Vec<f32>, F::Error> {
    let chunk = model.max_batch();
    let mut logits = Vec::new();
    for (c, tokens) in prompt.chunks(chunk).enumerate() {
        let rows: Vec<BatchRow> = tokens
            .iter()
            .enumerate()
            .map(|(i, &token)| BatchRow {
                token,
                pos: (c * chunk + i) as u32,
                seq,
            })
            .collect();
        let last = (c + 1) * chunk >= prompt.len();
        let outputs: &[usize] = if last { &[rows.len() - 1] } else { &[] };
        logits = model.forward(&rows, outputs)?;
    }
    Ok(logits)
}

/// Generates up to `n` tokens after `prompt` on sequence `seq`, calling `on_token` with each; stops
/// early at an end-of-generation token (not passed on) or when `on_token` returns false.
pub fn generate<F: Forward>(
    model: &mut F,
    prompt: &[u32],
    n: usize,
    seq: u32,
    sampler: &mut Sampler,
    is_eog: impl Fn(u32) -> bool,
    mut on_token: impl FnMut(u32) -> bool,
) -> Result<GenStats, F::Error> {
    let mut stats = GenStats {
        prompt_tokens: prompt.len(),
        ..Default::default()
    };
    if prompt.is_empty() || n == 0 {
        return Ok(stats);
    }
    let start = Instant::now();
    let mut logits = prefill(model, prompt, seq)?;
    stats.prompt_time = start.elapsed();
    let start = Instant::now();
    let mut pos = prompt.len() as u32;
    loop {
        let token = sampler.sample(&mut logits);
        if is_eog(token) {
            break;
        }
        stats.generated += 1;
        if !on_token(token) || stats.generated == n {
            break;
        }
        logits = model.forward(&[BatchRow { token, pos, seq }], &[0])?;
        pos += 1;
    }
    stats.gen_time = start.elapsed();
    Ok(stats)
}
