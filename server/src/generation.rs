//! One request's generated tokens turned into what the client sees: text decoded as it comes,
//! cut at the first stop string, and split by the output parser into content, reasoning and
//! tool calls; plus the counts for `usage`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use wick_core::scheduler::{Event, Finish};
use wick_core::tokenizer::{StreamDecoder, Tokenizer};

use crate::chat::output::{Delta, OutputParser};
use crate::error::ApiError;

/// Logs its request's line when dropped: finished, failed, or abandoned by the client.
pub struct Generation {
    endpoint: &'static str,
    error: Option<String>,
    decoder: StreamDecoder<Arc<Tokenizer>>,
    stops: StopMatcher,
    /// Chat completions parse the output; text completions pass it through.
    parser: Option<OutputParser>,
    pub prompt_tokens: usize,
    pub cached_tokens: usize,
    pub completion_tokens: usize,
    tool_calls: usize,
    /// `finish_reason` once generation is over.
    pub finish: Option<&'static str>,
    start: Instant,
    first_token: Option<Duration>,
}

impl Generation {
    pub fn new(
        endpoint: &'static str,
        tokenizer: Arc<Tokenizer>,
        prompt_tokens: usize,
        stops: Vec<String>,
        parser: Option<OutputParser>,
    ) -> Self {
        Generation {
            endpoint,
            error: None,
            decoder: StreamDecoder::new(tokenizer),
            stops: StopMatcher::new(stops),
            parser,
            prompt_tokens,
            cached_tokens: 0,
            completion_tokens: 0,
            tool_calls: 0,
            finish: None,
            start: Instant::now(),
            first_token: None,
        }
    }

    /// Takes the engine's next event (`None`: the engine dropped the request) and returns what
    /// to send now.
    pub fn handle(&mut self, event: Option<Event>) -> Result<Vec<Delta>, ApiError> {
        let mut out = Vec::new();
        let mut ended = None;
        match event {
            Some(Event::Started { cached }) => self.cached_tokens = cached,
            Some(Event::Token(t)) => {
                self.completion_tokens += 1;
                self.first_token.get_or_insert(self.start.elapsed());
                let text = self.decoder.push(t);
                let (text, hit) = self.stops.push(&text);
                self.parse(&text, &mut out);
                if hit {
                    ended = Some("stop");
                }
            }
            Some(Event::Finished(f)) => {
                let text = self.decoder.flush();
                let (mut text, hit) = self.stops.push(&text);
                if !hit {
                    text.push_str(&self.stops.flush());
                }
                self.parse(&text, &mut out);
                ended = Some(match f {
                    Finish::Length if !hit => "length",
                    _ => "stop",
                });
            }
            Some(Event::Failed(message)) => return Err(self.failed(message)),
            None => return Err(self.failed("the engine dropped the request".into())),
        }
        if ended.is_some()
            && let Some(p) = &mut self.parser
        {
            out.extend(p.finish());
        }
        self.tool_calls += out
            .iter()
            .filter(|d| matches!(d, Delta::ToolCall { .. }))
            .count();
        if let Some(reason) = ended {
            self.finish = Some(if self.tool_calls > 0 {
                "tool_calls"
            } else {
                reason
            });
        }
        Ok(out)
    }

    fn failed(&mut self, message: String) -> ApiError {
        self.error = Some(message.clone());
        ApiError::internal(message)
    }

    fn parse(&mut self, text: &str, out: &mut Vec<Delta>) {
        if text.is_empty() {
            return;
        }
        match &mut self.parser {
            Some(p) => out.extend(p.push(text)),
            None => out.push(Delta::Content(text.to_string())),
        }
    }

    pub fn usage(&self) -> serde_json::Value {
        serde_json::json!({
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
            "prompt_tokens_details": {"cached_tokens": self.cached_tokens},
        })
    }

    fn summary(&self) -> String {
        let total = self.start.elapsed();
        let ttft = self.first_token.unwrap_or(total);
        let gen_time = total.saturating_sub(ttft).as_secs_f64();
        format!(
            "prompt {} tokens ({} cached), {} generated, first token {:.0} ms, {:.1} tokens/s, {}",
            self.prompt_tokens,
            self.cached_tokens,
            self.completion_tokens,
            ttft.as_secs_f64() * 1e3,
            self.completion_tokens.saturating_sub(1) as f64 / gen_time.max(1e-9),
            self.finish.unwrap_or("unfinished"),
        )
    }
}

impl Drop for Generation {
    fn drop(&mut self) {
        let summary = self.summary();
        match (&self.error, self.finish) {
            (Some(e), _) => tracing::error!("POST {} failed: {e}; {summary}", self.endpoint),
            (None, None) => {
                tracing::info!("POST {} 200, client disconnected: {summary}", self.endpoint)
            }
            (None, Some(_)) => tracing::info!("POST {} 200: {summary}", self.endpoint),
        }
    }
}

/// Finds the first stop string in streamed text, holding back a tail that may be the start of
/// one until the next text decides it.
struct StopMatcher {
    stops: Vec<String>,
    held: String,
}

impl StopMatcher {
    fn new(stops: Vec<String>) -> Self {
        StopMatcher {
            stops,
            held: String::new(),
        }
    }

    /// Returns the text that can be released and whether a stop string was found (the text
    /// then ends before it, and everything after it is dropped).
    fn push(&mut self, text: &str) -> (String, bool) {
        self.held.push_str(text);
        let first = self
            .stops
            .iter()
            .filter_map(|s| self.held.find(s.as_str()))
            .min();
        if let Some(i) = first {
            let out = self.held[..i].to_string();
            self.held.clear();
            return (out, true);
        }
        let keep = self
            .stops
            .iter()
            .map(|s| longest_suffix_prefix(&self.held, s))
            .max()
            .unwrap_or(0);
        let out = self.held[..self.held.len() - keep].to_string();
        self.held.drain(..self.held.len() - keep);
        (out, false)
    }

    fn flush(&mut self) -> String {
        std::mem::take(&mut self.held)
    }
}

/// Length of the longest proper prefix of `stop` that `text` ends with (on a char boundary).
fn longest_suffix_prefix(text: &str, stop: &str) -> usize {
    (1..stop.len())
        .rev()
        .find(|&n| stop.is_char_boundary(n) && text.ends_with(&stop[..n]))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(stops: &[&str], pieces: &[&str]) -> (String, bool) {
        let mut m = StopMatcher::new(stops.iter().map(|s| s.to_string()).collect());
        let mut out = String::new();
        for p in pieces {
            let (text, hit) = m.push(p);
            out.push_str(&text);
            if hit {
                return (out, true);
            }
        }
        out.push_str(&m.flush());
        (out, false)
    }

    #[test]
    fn stop_strings_cut_the_text_even_across_pieces() {
        assert_eq!(
            run(&["END"], &["abc", "E", "N", "D", "x"]),
            ("abc".into(), true)
        );
        assert_eq!(run(&["END"], &["abcEN", "Dx"]), ("abc".into(), true));
        assert_eq!(run(&["END"], &["abcEN", "x"]), ("abcENx".into(), false));
        assert_eq!(
            run(&["\n\n", "###"], &["a\n", "b##", "#c"]),
            ("a\nb".into(), true)
        );
        assert_eq!(run(&[], &["a", "b"]), ("ab".into(), false));
        assert_eq!(run(&["é!"], &["café", "?"]), ("café?".into(), false));
    }

    #[test]
    fn held_text_is_released_once_it_cannot_start_a_stop() {
        let mut m = StopMatcher::new(vec!["STOP".into()]);
        assert_eq!(m.push("a ST"), ("a ".into(), false));
        assert_eq!(m.push("x"), ("STx".into(), false));
        assert_eq!(m.flush(), "");
    }
}
