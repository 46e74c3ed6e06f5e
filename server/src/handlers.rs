//! The endpoints: health, models, chat completions and text completions, streamed as server-sent
//! events or returned whole.

use std::convert::Infallible;
use std::sync::Arc;

use actix_web::web::{self, Bytes, BytesMut};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio::sync::mpsc::UnboundedReceiver;
use wick_core::scheduler::Event;
use wick_core::tokenizer::Tokenizer;

use crate::api::{ChatRequest, Common, CompletionRequest};
use crate::chat::output::{Delta, OutputParser};
use crate::chat::template::ChatTemplate;
use crate::engine::Engine;
use crate::error::ApiError;
use crate::generation::Generation;

/// Request bodies larger than this are refused (413); a 128k-token conversation is ~1 MB.
pub const BODY_LIMIT: usize = 32 << 20;

pub struct AppState {
    pub engine: Engine,
    pub tokenizer: Arc<Tokenizer>,
    pub template: ChatTemplate,
    pub model_id: String,
    pub ctx: usize,
    pub n_vocab: usize,
    pub api_key: Option<String>,
    /// Unix time the server started, as the model's `created`.
    pub created: u64,
}

impl AppState {
    fn check_model(&self, model: Option<&str>) -> Result<(), ApiError> {
        match model {
            Some(m) if m != self.model_id => Err(ApiError::unknown_model(m, &self.model_id)),
            _ => Ok(()),
        }
    }

    /// Tokens of a rendered prompt. Templates usually write the BOS text themselves, and the
    /// tokenizer adds BOS too: one is dropped.
    fn tokenize(&self, text: &str) -> Result<Vec<u32>, ApiError> {
        let mut tokens = self
            .tokenizer
            .encode_with_special(text, true)
            .map_err(|e| ApiError::bad_request(format!("tokenizing the prompt: {e}")))?;
        let bos = self.tokenizer.bos_id();
        if tokens.len() >= 2 && bos.is_some() && tokens[0] == tokens[1] && Some(tokens[0]) == bos {
            tokens.remove(0);
        }
        Ok(tokens)
    }
}

pub async fn health() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

pub async fn models(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "object": "list",
        "data": [{
            "id": state.model_id,
            "object": "model",
            "created": state.created,
            "owned_by": "wick",
            "meta": {"n_ctx": state.ctx, "n_vocab": state.n_vocab},
        }],
    }))
}

pub async fn not_found(req: HttpRequest) -> HttpResponse {
    ApiError::not_found(req.path()).error_response()
}

async fn read_json<T: DeserializeOwned>(mut payload: web::Payload) -> Result<T, ApiError> {
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::bad_request(format!("reading the body: {e}")))?;
        if body.len() + chunk.len() > BODY_LIMIT {
            return Err(ApiError::too_large(BODY_LIMIT));
        }
        body.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("the body is not a valid request: {e}")))
}

pub async fn chat_completions(
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let req: ChatRequest = read_json(payload).await?;
    state.check_model(req.model.as_deref())?;
    let messages = req
        .messages
        .ok_or_else(|| ApiError::bad_param("messages", "missing"))?;
    if messages.is_empty() {
        return Err(ApiError::bad_param("messages", "empty"));
    }
    let tools = req.tools.filter(|t| !t.is_empty());
    if let Some(tools) = &tools {
        check_tools(tools)?;
    }
    // "none" keeps the tools out of the prompt and their syntax out of the parser.
    let tools = tools.filter(|_| req.tool_choice.as_ref().and_then(Value::as_str) != Some("none"));
    let text = state
        .template
        .render(&messages, tools.as_deref(), true)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let prompt = state.tokenize(&text)?;
    let parser = OutputParser::new(
        state.template.tool_format(),
        tools.is_some(),
        state.template.starts_in_reasoning(&text),
    );
    respond(state, prompt, req.common, Shape::Chat, Some(parser)).await
}

fn check_tools(tools: &[Value]) -> Result<(), ApiError> {
    for (i, tool) in tools.iter().enumerate() {
        let name = tool
            .get("function")
            .and_then(|f| f.get("name"))
            .and_then(Value::as_str);
        if name.is_none_or(str::is_empty) {
            return Err(ApiError::bad_param(
                &format!("tools[{i}]"),
                "expected {\"type\": \"function\", \"function\": {\"name\": ...}}",
            ));
        }
    }
    Ok(())
}

pub async fn completions(
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let req: CompletionRequest = read_json(payload).await?;
    state.check_model(req.model.as_deref())?;
    let prompt = match req.prompt {
        Some(Value::String(s)) => state.tokenize(&s)?,
        Some(Value::Array(items)) if items.len() == 1 && items[0].is_string() => {
            state.tokenize(items[0].as_str().unwrap_or_default())?
        }
        Some(Value::Array(items)) if !items.is_empty() && items.iter().all(Value::is_u64) => items
            .iter()
            .map(|v| {
                v.as_u64()
                    .filter(|&t| t < state.n_vocab as u64)
                    .map(|t| t as u32)
                    .ok_or_else(|| {
                        ApiError::bad_param("prompt", format!("token {v} is not in the vocabulary"))
                    })
            })
            .collect::<Result<_, _>>()?,
        None => return Err(ApiError::bad_param("prompt", "missing")),
        Some(_) => {
            return Err(ApiError::bad_param(
                "prompt",
                "expected a string, an array of one string, or an array of token ids",
            ));
        }
    };
    respond(state, prompt, req.common, Shape::Completion, None).await
}

/// The two response shapes.
#[derive(Clone, Copy)]
enum Shape {
    Chat,
    Completion,
}

impl Shape {
    fn endpoint(self) -> &'static str {
        match self {
            Shape::Chat => "/v1/chat/completions",
            Shape::Completion => "/v1/completions",
        }
    }
}

/// What every chunk and response of one request carries.
struct Header {
    shape: Shape,
    id: String,
    created: u64,
    model: String,
}

impl Header {
    fn object(&self, stream: bool) -> &'static str {
        match (self.shape, stream) {
            (Shape::Chat, false) => "chat.completion",
            (Shape::Chat, true) => "chat.completion.chunk",
            (Shape::Completion, _) => "text_completion",
        }
    }

    fn wrap(&self, stream: bool, choices: Value) -> Value {
        json!({
            "id": self.id,
            "object": self.object(stream),
            "created": self.created,
            "model": self.model,
            "system_fingerprint": concat!("wick-", env!("CARGO_PKG_VERSION")),
            "choices": choices,
        })
    }
}

fn random_id(prefix: &str) -> String {
    use rand::Rng;
    let tail: String = rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(24)
        .map(char::from)
        .collect();
    format!("{prefix}{tail}")
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

async fn respond(
    state: web::Data<AppState>,
    prompt: Vec<u32>,
    common: Common,
    shape: Shape,
    parser: Option<OutputParser>,
) -> Result<HttpResponse, ApiError> {
    let sampling = common.sampling(state.n_vocab, state.tokenizer.eog_ids())?;
    let max_tokens = common.max_tokens()?;
    let stops = common.stops()?;
    if prompt.len() >= state.ctx {
        return Err(ApiError::context_exceeded(prompt.len(), state.ctx));
    }
    let generation = Generation::new(
        shape.endpoint(),
        state.tokenizer.clone(),
        prompt.len(),
        stops,
        parser,
    );
    let events = state.engine.submit(prompt, max_tokens, sampling)?;
    let header = Header {
        shape,
        id: random_id(match shape {
            Shape::Chat => "chatcmpl-",
            Shape::Completion => "cmpl-",
        }),
        created: unix_now(),
        model: state.model_id.clone(),
    };
    if common.stream {
        let stream = Stream {
            header,
            events,
            generation,
            include_usage: common.include_usage(),
            started: false,
            done: false,
            tool_calls: 0,
        };
        return Ok(HttpResponse::Ok()
            .content_type("text/event-stream")
            .insert_header(("Cache-Control", "no-cache"))
            .streaming(futures_util::stream::unfold(stream, Stream::next)));
    }
    let body = whole(header, events, generation).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(body))
}

/// Waits for the whole generation and returns the response body.
async fn whole(
    header: Header,
    mut events: UnboundedReceiver<Event>,
    mut generation: Generation,
) -> Result<Bytes, ApiError> {
    let mut content = String::new();
    let mut reasoning = String::new();
    let mut tool_calls = Vec::new();
    while generation.finish.is_none() {
        for d in generation.handle(events.recv().await)? {
            match d {
                Delta::Content(t) => content.push_str(&t),
                Delta::Reasoning(t) => reasoning.push_str(&t),
                Delta::ToolCall { name, arguments } => tool_calls.push(json!({
                    "id": random_id("call_"),
                    "type": "function",
                    "function": {"name": name, "arguments": arguments},
                })),
            }
        }
    }
    let finish = generation.finish;
    let choice = match header.shape {
        Shape::Chat => {
            let mut message = json!({"role": "assistant", "content": content});
            if !tool_calls.is_empty() {
                message["tool_calls"] = json!(tool_calls);
                if content.is_empty() {
                    message["content"] = Value::Null;
                }
            }
            if !reasoning.is_empty() {
                message["reasoning_content"] = json!(reasoning);
            }
            json!({"index": 0, "message": message, "finish_reason": finish, "logprobs": null})
        }
        Shape::Completion => {
            json!({"index": 0, "text": content, "finish_reason": finish, "logprobs": null})
        }
    };
    let mut body = header.wrap(false, json!([choice]));
    body["usage"] = generation.usage();
    Ok(Bytes::from(body.to_string()))
}

/// A streamed response: server-sent events, one chunk per delta, ending with `[DONE]`.
struct Stream {
    header: Header,
    events: UnboundedReceiver<Event>,
    generation: Generation,
    include_usage: bool,
    started: bool,
    done: bool,
    tool_calls: usize,
}

fn event(data: &Value) -> String {
    format!("data: {data}\n\n")
}

impl Stream {
    async fn next(mut self) -> Option<(Result<Bytes, Infallible>, Self)> {
        if self.done {
            return None;
        }
        let mut out = String::new();
        if !self.started {
            self.started = true;
            if let Shape::Chat = self.header.shape {
                let delta = json!({"role": "assistant", "content": ""});
                out.push_str(&event(&self.chunk(delta, None)));
                return Some((Ok(Bytes::from(out)), self));
            }
        }
        while out.is_empty() && !self.done {
            let ev = self.events.recv().await;
            match self.generation.handle(ev) {
                Err(e) => {
                    out.push_str(&event(&e.body()));
                    out.push_str("data: [DONE]\n\n");
                    self.done = true;
                }
                Ok(deltas) => {
                    for d in deltas {
                        let delta = self.delta(d);
                        out.push_str(&event(&self.chunk(delta, None)));
                    }
                    if let Some(finish) = self.generation.finish {
                        self.finish(finish, &mut out);
                    }
                }
            }
        }
        Some((Ok(Bytes::from(out)), self))
    }

    fn delta(&mut self, d: Delta) -> Value {
        match (self.header.shape, d) {
            (Shape::Completion, Delta::Content(t)) => json!(t),
            (Shape::Chat, Delta::Content(t)) => json!({"content": t}),
            (Shape::Chat, Delta::Reasoning(t)) => json!({"reasoning_content": t}),
            (Shape::Chat, Delta::ToolCall { name, arguments }) => {
                self.tool_calls += 1;
                json!({"tool_calls": [{
                    "index": self.tool_calls - 1,
                    "id": random_id("call_"),
                    "type": "function",
                    "function": {"name": name, "arguments": arguments},
                }]})
            }
            // Text completions have no parser, so only content comes.
            (Shape::Completion, _) => json!(""),
        }
    }

    fn chunk(&self, delta: Value, finish: Option<&str>) -> Value {
        let choice = match self.header.shape {
            Shape::Chat => {
                json!({"index": 0, "delta": delta, "finish_reason": finish, "logprobs": null})
            }
            Shape::Completion => {
                json!({"index": 0, "text": delta, "finish_reason": finish, "logprobs": null})
            }
        };
        self.header.wrap(true, json!([choice]))
    }

    fn finish(&mut self, finish: &str, out: &mut String) {
        let empty = match self.header.shape {
            Shape::Chat => json!({}),
            Shape::Completion => json!(""),
        };
        let mut last = self.chunk(empty, Some(finish));
        last["usage"] = self.generation.usage();
        out.push_str(&event(&last));
        if self.include_usage {
            let mut usage = self.header.wrap(true, json!([]));
            usage["usage"] = self.generation.usage();
            out.push_str(&event(&usage));
        }
        out.push_str("data: [DONE]\n\n");
        self.done = true;
    }
}
