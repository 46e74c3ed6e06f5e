//! Request bodies of the OpenAI API as far as wick uses them, and their checks. Fields wick does
//! not use are ignored, as OpenAI's clients expect of compatible servers.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::Value;
use wick_core::sampling::SamplingParams;

use crate::error::ApiError;

#[derive(Deserialize)]
pub struct ChatRequest {
    pub model: Option<String>,
    pub messages: Option<Vec<Value>>,
    pub tools: Option<Vec<Value>>,
    pub tool_choice: Option<Value>,
    #[serde(flatten)]
    pub common: Common,
}

#[derive(Deserialize)]
pub struct CompletionRequest {
    pub model: Option<String>,
    pub prompt: Option<Value>,
    #[serde(flatten)]
    pub common: Common,
}

/// Streaming and sampling fields shared by both endpoints.
#[derive(Deserialize, Default)]
pub struct Common {
    #[serde(default)]
    pub stream: bool,
    pub stream_options: Option<StreamOptions>,
    pub max_tokens: Option<i64>,
    pub max_completion_tokens: Option<i64>,
    pub temperature: Option<f32>,
    pub top_p: Option<f32>,
    pub top_k: Option<i64>,
    pub min_p: Option<f32>,
    pub seed: Option<i64>,
    pub presence_penalty: Option<f32>,
    pub frequency_penalty: Option<f32>,
    pub logit_bias: Option<HashMap<String, f32>>,
    pub stop: Option<Stop>,
    pub n: Option<i64>,
    /// llama-server's extension for benchmarks: generate past end-of-generation tokens.
    #[serde(default)]
    pub ignore_eos: bool,
}

#[derive(Deserialize, Default)]
pub struct StreamOptions {
    #[serde(default)]
    pub include_usage: bool,
}

#[derive(Deserialize)]
#[serde(untagged)]
pub enum Stop {
    One(String),
    Many(Vec<String>),
}

fn in_range(param: &str, v: Option<f32>, lo: f32, hi: f32) -> Result<(), ApiError> {
    match v {
        Some(x) if !(lo..=hi).contains(&x) => Err(ApiError::bad_param(
            param,
            format!("{x} is out of range; it must be between {lo} and {hi}"),
        )),
        _ => Ok(()),
    }
}

impl Common {
    /// Sampling parameters, with llama.cpp's defaults for fields not given and a random seed
    /// when none is. `eog`: the end-of-generation tokens, banned by `ignore_eos`.
    pub fn sampling(&self, n_vocab: usize, eog: &[u32]) -> Result<SamplingParams, ApiError> {
        in_range("temperature", self.temperature, 0.0, 2.0)?;
        in_range("top_p", self.top_p, 0.0, 1.0)?;
        in_range("min_p", self.min_p, 0.0, 1.0)?;
        in_range("presence_penalty", self.presence_penalty, -2.0, 2.0)?;
        in_range("frequency_penalty", self.frequency_penalty, -2.0, 2.0)?;
        if let Some(n) = self.n
            && n != 1
        {
            return Err(ApiError::bad_param(
                "n",
                format!("{n} choices asked; wick makes 1"),
            ));
        }
        let top_k = match self.top_k {
            Some(k) if k < 0 => {
                return Err(ApiError::bad_param("top_k", format!("{k} is negative")));
            }
            Some(k) => k as usize,
            None => SamplingParams::default().top_k,
        };
        let mut logit_bias = Vec::new();
        for (key, &bias) in self.logit_bias.iter().flatten() {
            let token = key
                .parse::<u32>()
                .ok()
                .filter(|&t| (t as usize) < n_vocab)
                .ok_or_else(|| {
                    ApiError::bad_param(
                        "logit_bias",
                        format!("`{key}` is not a token id below {n_vocab}"),
                    )
                })?;
            in_range("logit_bias", Some(bias), -100.0, 100.0)?;
            logit_bias.push((token, bias));
        }
        if self.ignore_eos {
            logit_bias.extend(eog.iter().map(|&t| (t, f32::NEG_INFINITY)));
        }
        logit_bias.sort_by_key(|&(t, _)| t);
        let d = SamplingParams::default();
        Ok(SamplingParams {
            temperature: self.temperature.unwrap_or(d.temperature),
            top_k,
            // top_p 0 would keep nothing; like OpenAI, it means the single most likely token.
            top_p: self.top_p.map_or(d.top_p, |p| p.max(f32::MIN_POSITIVE)),
            min_p: self.min_p.unwrap_or(d.min_p),
            seed: self.seed.map_or_else(rand::random, |s| s as u64),
            presence_penalty: self.presence_penalty.unwrap_or(0.0),
            frequency_penalty: self.frequency_penalty.unwrap_or(0.0),
            logit_bias,
        })
    }

    /// Most tokens to generate: `max_completion_tokens`, else `max_tokens`, else no limit but
    /// the context.
    pub fn max_tokens(&self) -> Result<usize, ApiError> {
        let (param, v) = match (self.max_completion_tokens, self.max_tokens) {
            (Some(v), _) => ("max_completion_tokens", v),
            (None, Some(v)) => ("max_tokens", v),
            (None, None) => return Ok(usize::MAX),
        };
        if v < 1 {
            return Err(ApiError::bad_param(
                param,
                format!("{v}; it must be at least 1"),
            ));
        }
        Ok(v as usize)
    }

    pub fn stops(&self) -> Result<Vec<String>, ApiError> {
        let stops = match &self.stop {
            None => Vec::new(),
            Some(Stop::One(s)) => vec![s.clone()],
            Some(Stop::Many(v)) => v.clone(),
        };
        if stops.iter().any(String::is_empty) {
            return Err(ApiError::bad_param("stop", "a stop string is empty"));
        }
        Ok(stops)
    }

    pub fn include_usage(&self) -> bool {
        self.stream_options
            .as_ref()
            .is_some_and(|o| o.include_usage)
    }
}
