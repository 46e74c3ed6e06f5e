//! The engine thread: owns the model and runs the scheduler; handlers submit requests and read
//! events from a channel.

use std::sync::mpsc;

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use wick_core::generate::Forward;
use wick_core::sampling::SamplingParams;
use wick_core::scheduler::{Event, Request, Scheduler, Sink};

use crate::error::ApiError;

pub struct Engine {
    requests: mpsc::Sender<Request>,
}

struct ChannelSink(UnboundedSender<Event>);

impl Sink for ChannelSink {
    fn send(&mut self, event: Event) -> bool {
        self.0.send(event).is_ok()
    }

    fn is_closed(&self) -> bool {
        self.0.is_closed()
    }
}

impl Engine {
    /// Starts the engine thread with `slots` sequences of `ctx` positions.
    pub fn start<F>(
        model: F,
        slots: usize,
        ctx: usize,
        is_eog: impl Fn(u32) -> bool + Send + 'static,
    ) -> std::io::Result<Engine>
    where
        F: Forward + Send + 'static,
        F::Error: std::fmt::Display,
    {
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("wick-engine".into())
            .spawn(move || Scheduler::new(model, slots, ctx, is_eog).run(rx))?;
        Ok(Engine { requests: tx })
    }

    /// Queues a generation; its events arrive on the returned channel. Dropping the channel
    /// cancels the request and frees its slot.
    pub fn submit(
        &self,
        prompt: Vec<u32>,
        max_tokens: usize,
        sampling: SamplingParams,
    ) -> Result<UnboundedReceiver<Event>, ApiError> {
        let (tx, rx) = unbounded_channel();
        self.requests
            .send(Request {
                prompt,
                max_tokens,
                sampling,
                sink: Box::new(ChannelSink(tx)),
            })
            .map_err(|_| ApiError::internal("the engine thread has stopped"))?;
        Ok(rx)
    }
}
