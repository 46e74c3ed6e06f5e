//! wick's OpenAI-compatible HTTP server: `/v1/chat/completions`, `/v1/completions`,
//! `/v1/models` and `/health`, over one engine thread that decodes every request's slot in one
//! batched step per token.

mod api;
pub mod chat;
mod engine;
mod error;
mod generation;
mod handlers;

use std::net::IpAddr;
use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::{Next, from_fn};
use actix_web::{App, HttpServer, web};
use subtle::ConstantTimeEq;
use wick_core::generate::Forward;
use wick_core::tokenizer::Tokenizer;

use crate::chat::template::ChatTemplate;
use crate::engine::Engine;
use crate::error::ApiError;
use crate::handlers::AppState;

pub use crate::chat::template::TemplateError;

pub struct ServeConfig {
    pub host: String,
    pub port: u16,
    /// Required as `Authorization: Bearer KEY` on every `/v1/*` call when set.
    pub api_key: Option<String>,
    /// The model's name in `/v1/models` and in requests.
    pub model_id: String,
    /// Sequences decoded together; more requests queue.
    pub parallel: usize,
    /// Positions in each sequence's KV cache.
    pub ctx: usize,
}

/// What the server runs: the model and how to talk to it.
pub struct ServedModel<F> {
    pub forward: F,
    pub tokenizer: Tokenizer,
    pub template: ChatTemplate,
}

/// Serves until the process is stopped. `on_listening` gets the bound address (port 0 binds an
/// ephemeral port).
pub fn serve<F>(
    model: ServedModel<F>,
    cfg: ServeConfig,
    on_listening: impl FnOnce(std::net::SocketAddr),
) -> std::io::Result<()>
where
    F: Forward + Send + 'static,
    F::Error: std::fmt::Display,
{
    let loopback =
        cfg.host == "localhost" || cfg.host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if !loopback && cfg.api_key.is_none() {
        tracing::warn!(
            "listening on {} without --api-key: anyone who can reach this address can use the \
             model",
            cfg.host
        );
    }
    let tokenizer = Arc::new(model.tokenizer);
    let eog = tokenizer.clone();
    let engine = Engine::start(model.forward, cfg.parallel, cfg.ctx, move |t| eog.is_eog(t))?;
    let state = web::Data::new(AppState {
        engine,
        n_vocab: tokenizer.vocab_size(),
        tokenizer,
        template: model.template,
        model_id: cfg.model_id,
        ctx: cfg.ctx,
        api_key: cfg.api_key,
        created: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    });
    actix_web::rt::System::new().block_on(async move {
        let server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .wrap(from_fn(authorize))
                .wrap(from_fn(log))
                .route("/health", web::get().to(handlers::health))
                .route("/v1/models", web::get().to(handlers::models))
                .route(
                    "/v1/chat/completions",
                    web::post().to(handlers::chat_completions),
                )
                .route("/v1/completions", web::post().to(handlers::completions))
                .default_service(web::to(handlers::not_found))
        })
        .workers(2)
        .bind((cfg.host.as_str(), cfg.port))?;
        if let Some(&addr) = server.addrs().first() {
            on_listening(addr);
        }
        server.run().await
    })
}

/// With an API key, every `/v1/*` call must carry it.
async fn authorize(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let key = req
        .app_data::<web::Data<AppState>>()
        .and_then(|s| s.api_key.clone());
    if let Some(key) = key
        && req.path().starts_with("/v1/")
    {
        let given = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if !bool::from(given.as_bytes().ct_eq(key.as_bytes())) {
            return Err(ApiError::unauthorized().into());
        }
    }
    next.call(req).await
}

/// One log line per request. Generations log their own line when they end (with token counts),
/// so only their failures before generating are logged here.
async fn log(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let start = std::time::Instant::now();
    let line = format!("{} {}", req.method(), req.path());
    let generates = req.path().ends_with("completions");
    let res = next.call(req).await;
    let (status, error) = match &res {
        Ok(r) => (r.status(), r.response().error().map(|e| e.to_string())),
        Err(e) => (e.as_response_error().status_code(), Some(e.to_string())),
    };
    if !(generates && status.is_success()) {
        let ms = start.elapsed().as_secs_f64() * 1e3;
        if status.is_success() {
            tracing::info!("{line} {} {ms:.1} ms", status.as_u16());
        } else {
            let why = error.unwrap_or_default();
            tracing::warn!("{line} {} {ms:.1} ms: {why}", status.as_u16());
        }
    }
    res
}
