//! Choosing the next token from logits: logit biases and repetition penalties, then greedy, or
//! temperature with top-k, top-p and min-p filtering from a seeded generator so runs repeat.

use std::collections::HashMap;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

#[derive(Clone, Debug, PartialEq)]
pub struct SamplingParams {
    /// 0 picks the most likely token.
    pub temperature: f32,
    /// Keep the k most likely tokens (0: all).
    pub top_k: usize,
    /// Keep the smallest set of tokens whose probability reaches p (1: all).
    pub top_p: f32,
    /// Drop tokens less likely than min_p times the most likely one (0: none).
    pub min_p: f32,
    pub seed: u64,
    /// Subtracted once from the logit of every token generated so far (OpenAI's meaning).
    pub presence_penalty: f32,
    /// Subtracted from a token's logit once per time it was generated so far.
    pub frequency_penalty: f32,
    /// Added to the logits of these tokens before anything else.
    pub logit_bias: Vec<(u32, f32)>,
}

impl Default for SamplingParams {
    /// llama.cpp's defaults.
    fn default() -> Self {
        SamplingParams {
            temperature: 0.8,
            top_k: 40,
            top_p: 0.95,
            min_p: 0.05,
            seed: 0,
            presence_penalty: 0.0,
            frequency_penalty: 0.0,
            logit_bias: Vec::new(),
        }
    }
}

impl SamplingParams {
    /// Whether picks are the most likely token of the unmodified logits: greedy, with no
    /// penalties or biases.
    pub fn is_greedy(&self) -> bool {
        (self.temperature <= 0.0 || self.top_k == 1)
            && self.presence_penalty == 0.0
            && self.frequency_penalty == 0.0
            && self.logit_bias.is_empty()
    }

    /// Always the most likely token.
    pub fn greedy() -> Self {
        SamplingParams {
            temperature: 0.0,
            ..Default::default()
        }
    }
}

pub struct Sampler {
    params: SamplingParams,
    rng: StdRng,
    /// How often each token was picked, for the penalties.
    counts: HashMap<u32, u32>,
}

/// The largest of `values` (NaN aside; -inf for none), by lanes of 16 so that it vectorizes: a
/// loop comparing each value with the best so far took 150 us over a 262144-token vocabulary.
fn max_of(values: &[f32]) -> f32 {
    let chunks = values.chunks_exact(16);
    let tail = chunks
        .remainder()
        .iter()
        .fold(f32::NEG_INFINITY, |a, &b| a.max(b));
    let mut lanes = [f32::NEG_INFINITY; 16];
    for c in chunks {
        for (m, &v) in lanes.iter_mut().zip(c) {
            *m = m.max(v);
        }
    }
    lanes.iter().fold(tail, |a, &b| a.max(b))
}

/// Logits per chunk when [`candidates`] looks for the largest.
const CANDIDATE_CHUNK: usize = 64;

/// (index, logit) of every token that can be among the `top_k` largest (all tokens for 0):
/// those at or above the top_k-th largest chunk maximum, of which there are at least top_k, so
/// the top_k largest are among them. Collecting and partially sorting the whole vocabulary took
/// 750 us per token at 262144 tokens.
fn candidates(logits: &[f32], top_k: usize) -> Vec<(usize, f32)> {
    let n_chunks = logits.len().div_ceil(CANDIDATE_CHUNK);
    if top_k == 0 || top_k >= n_chunks {
        return logits.iter().copied().enumerate().collect();
    }
    let maxima: Vec<f32> = logits.chunks(CANDIDATE_CHUNK).map(max_of).collect();
    let mut sorted = maxima.clone();
    let (_, &mut floor, _) = sorted.select_nth_unstable_by(top_k - 1, |a, b| b.total_cmp(a));
    let mut cand = Vec::new();
    for (c, &m) in maxima.iter().enumerate() {
        if m >= floor {
            let at = c * CANDIDATE_CHUNK;
            let chunk = &logits[at..(at + CANDIDATE_CHUNK).min(logits.len())];
            cand.extend(
                chunk
                    .iter()
                    .enumerate()
                    .filter(|&(_, &v)| v >= floor)
                    .map(|(i, &v)| (at + i, v)),
            );
        }
    }
    cand
}

/// Index of the largest value; the first one on ties, as llama.cpp's greedy sampler. NaN never
/// wins (0 when every value is NaN), as on the GPU (`argmax.wgsl`).
pub fn argmax(logits: &[f32]) -> usize {
    // The largest value, then the first chunk holding it.
    let max = max_of(logits);
    logits
        .chunks(16)
        .enumerate()
        .find(|(_, c)| c.iter().fold(false, |a, &v| a | (v == max)))
        .map_or(0, |(k, c)| {
            k * 16 + c.iter().position(|&v| v == max).unwrap_or(0)
        })
}

impl Sampler {
    pub fn new(params: SamplingParams) -> Self {
        Sampler {
            rng: StdRng::seed_from_u64(params.seed),
            params,
            counts: HashMap::new(),
        }
    }

    /// Picks a token from `logits`, which the biases and penalties modify in place, and counts
    /// it for the penalties of the following picks.
    pub fn sample(&mut self, logits: &mut [f32]) -> u32 {
        self.adjust(logits);
        let token = self.pick(logits);
        *self.counts.entry(token).or_default() += 1;
        token
    }

    /// Whether [`Sampler::sample`] would pick the most likely token of unmodified logits, so a
    /// model can pick it itself ([`crate::generate::Forward::forward_greedy`]).
    pub fn is_greedy(&self) -> bool {
        self.params.is_greedy()
    }

    fn pick(&mut self, logits: &[f32]) -> u32 {
        let p = &self.params;
        if p.temperature <= 0.0 || p.top_k == 1 {
            return argmax(logits) as u32;
        }
        let mut cand = candidates(logits, p.top_k);
        let k = if p.top_k == 0 {
            cand.len()
        } else {
            p.top_k.min(cand.len())
        };
        if k < cand.len() {
            cand.select_nth_unstable_by(k - 1, |a, b| b.1.total_cmp(&a.1));
            cand.truncate(k);
        }
        cand.sort_by(|a, b| b.1.total_cmp(&a.1));
        let max = cand[0].1;
        let mut probs: Vec<f32> = cand
            .iter()
            .map(|c| ((c.1 - max) / p.temperature).exp())
            .collect();
        let sum: f32 = probs.iter().sum();
        probs.iter_mut().for_each(|x| *x /= sum);
        let mut keep = probs.len();
        if p.top_p < 1.0 {
            let mut acc = 0.0;
            for (i, &x) in probs.iter().enumerate() {
                acc += x;
                if acc >= p.top_p {
                    keep = i + 1;
                    break;
                }
            }
        }
        // Probabilities are sorted, so min-p keeps a prefix; the first token always stays.
        let floor = p.min_p * probs[0];
        keep = keep.min(probs.iter().take_while(|&&x| x >= floor).count().max(1));
        let total: f32 = probs[..keep].iter().sum();
        let mut r = self.rng.random::<f32>() * total;
        for (i, &x) in probs[..keep].iter().enumerate() {
            if r < x {
                return cand[i].0 as u32;
            }
            r -= x;
        }
        cand[keep - 1].0 as u32
    }

    fn adjust(&self, logits: &mut [f32]) {
        let p = &self.params;
        for &(t, bias) in &p.logit_bias {
            if let Some(l) = logits.get_mut(t as usize) {
                *l += bias;
            }
        }
        if p.presence_penalty != 0.0 || p.frequency_penalty != 0.0 {
            for (&t, &n) in &self.counts {
                if let Some(l) = logits.get_mut(t as usize) {
                    *l -= p.presence_penalty + p.frequency_penalty * n as f32;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greedy_takes_the_first_maximum() {
        let mut s = Sampler::new(SamplingParams::greedy());
        assert_eq!(s.sample(&mut [0.1, 3.0, -1.0, 3.0]), 1);
    }

    #[test]
    fn argmax_takes_the_first_maximum_and_skips_nan() {
        let mut l: Vec<f32> = (0..100).map(|i| (i % 17) as f32).collect();
        l[5] = f32::NAN;
        l[40] = 30.0;
        l[90] = 30.0;
        assert_eq!(argmax(&l), 40);
        l[3] = f32::NAN;
        l[98] = 31.0;
        assert_eq!(argmax(&l), 98, "in the tail past the last whole chunk");
        assert_eq!(argmax(&[f32::NAN, f32::NEG_INFINITY, f32::NEG_INFINITY]), 1);
        assert_eq!(argmax(&[f32::NAN; 40]), 0);
        assert_eq!(argmax(&[]), 0);
    }

    /// The candidates hold the same top k as the whole vocabulary, for k from 2 to past the
    /// number of chunks, with a vocabulary that ends mid-chunk and values repeated across chunks.
    #[test]
    fn candidates_hold_the_top_k() {
        let mut rng = StdRng::seed_from_u64(7);
        let logits: Vec<f32> = (0..5000)
            .map(|_| (rng.random_range(0..2000) as f32) * 0.01)
            .collect();
        let top = |mut c: Vec<(usize, f32)>, k: usize| {
            c.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            c.truncate(k);
            c
        };
        for k in [2, 40, 79, 100] {
            let cand = candidates(&logits, k);
            if k < 79 {
                assert!(
                    cand.len() < logits.len() / 4,
                    "k={k}: {} candidates",
                    cand.len()
                );
            }
            let all: Vec<(usize, f32)> = logits.iter().copied().enumerate().collect();
            assert_eq!(top(cand, k), top(all, k), "k={k}");
        }
    }

    #[test]
    fn top_k_one_is_greedy_at_any_temperature() {
        let mut s = Sampler::new(SamplingParams {
            temperature: 5.0,
            top_k: 1,
            top_p: 1.0,
            seed: 3,
            ..Default::default()
        });
        for _ in 0..20 {
            assert_eq!(s.sample(&mut [0.0, 1.0, 0.5]), 1);
        }
    }

    #[test]
    fn sampling_follows_the_distribution_and_repeats_with_a_seed() {
        let logits = [0.0f32, (3.0f32).ln(), f32::NEG_INFINITY];
        let params = SamplingParams {
            temperature: 1.0,
            top_k: 0,
            top_p: 1.0,
            min_p: 0.0,
            seed: 7,
            ..Default::default()
        };
        let draw = |n| {
            let mut s = Sampler::new(params.clone());
            (0..n)
                .map(|_| s.sample(&mut logits.clone()))
                .collect::<Vec<_>>()
        };
        let a = draw(4000);
        assert_eq!(a, draw(4000));
        let ones = a.iter().filter(|&&t| t == 1).count() as f32 / 4000.0;
        assert!(
            (ones - 0.75).abs() < 0.03,
            "token 1 drawn {ones} of the time, expected 0.75"
        );
        assert!(!a.contains(&2));
    }

    #[test]
    fn top_p_drops_the_tail() {
        let logits = [10.0f32, 9.0, -10.0, -10.0];
        let mut s = Sampler::new(SamplingParams {
            temperature: 1.0,
            top_k: 0,
            top_p: 0.5,
            min_p: 0.0,
            seed: 1,
            ..Default::default()
        });
        for _ in 0..200 {
            assert_eq!(s.sample(&mut logits.clone()), 0);
        }
    }

    #[test]
    fn min_p_drops_tokens_far_below_the_best() {
        // Probabilities 0.5, 0.45, 0.05: min_p 0.2 keeps the first two.
        let logits = [0.5f32.ln(), 0.45f32.ln(), 0.05f32.ln()];
        let mut s = Sampler::new(SamplingParams {
            temperature: 1.0,
            top_k: 0,
            top_p: 1.0,
            min_p: 0.2,
            seed: 5,
            ..Default::default()
        });
        let draws: Vec<u32> = (0..2000).map(|_| s.sample(&mut logits.clone())).collect();
        assert!(!draws.contains(&2));
        assert!(draws.contains(&0) && draws.contains(&1));
    }

    #[test]
    fn logit_bias_and_penalties_move_greedy_choices() {
        let mut s = Sampler::new(SamplingParams {
            logit_bias: vec![(0, -100.0), (7, 3.0)],
            ..SamplingParams::greedy()
        });
        assert_eq!(s.sample(&mut [5.0, 4.0, 1.0]), 1, "bias bans token 0");
        assert_eq!(s.sample(&mut [5.0, 4.0, 1.0, 0.0, 0.0, 0.0, 0.0, 3.0]), 7);

        let mut s = Sampler::new(SamplingParams {
            frequency_penalty: 1.0,
            presence_penalty: 0.5,
            ..SamplingParams::greedy()
        });
        let logits = [3.0f32, 1.0, 0.0];
        assert_eq!(s.sample(&mut logits.clone()), 0);
        // 3 - 0.5 - 1 = 1.5 still leads.
        assert_eq!(s.sample(&mut logits.clone()), 0);
        // 3 - 0.5 - 2 = 0.5 < 1.
        assert_eq!(s.sample(&mut logits.clone()), 1);
    }
}
