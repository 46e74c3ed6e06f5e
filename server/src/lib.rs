//! The OpenAI-compatible HTTP server. It has no endpoints yet; `wick serve` arrives with its own issue.
