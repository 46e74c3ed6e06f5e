//! Continuous batching over KV-cache slots: every step decodes one token for each generating
//! request and fills the rest of the batch with prompt tokens, so a new request joins without
//! waiting for others to finish. A slot keeps the tokens of its cache after its request ends; a
//! later request that starts with them reuses them and only processes the rest.

use std::collections::VecDeque;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

use crate::generate::{BatchRow, Forward};
use crate::sampling::{Sampler, SamplingParams};

/// Where a request's events go. Implemented by the server over a channel to the HTTP response.
pub trait Sink: Send {
    /// Delivers an event; false when the receiver is gone, which ends the request.
    fn send(&mut self, event: Event) -> bool;
    /// Whether the receiver is gone (the client disconnected).
    fn is_closed(&self) -> bool;
}

pub struct Request {
    /// Prompt tokens; not empty.
    pub prompt: Vec<u32>,
    /// Most tokens to generate.
    pub max_tokens: usize,
    pub sampling: SamplingParams,
    pub sink: Box<dyn Sink>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// The request has a slot: `cached` of its prompt tokens were already in the slot's cache.
    Started {
        cached: usize,
    },
    Token(u32),
    Finished(Finish),
    /// The request could not run; nothing more follows.
    Failed(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Finish {
    /// The model ended its turn (an end-of-generation token, not sent as a token).
    Stop,
    /// `max_tokens` generated, or the context is full.
    Length,
}

/// Runs requests on `model` in `slots` sequences of `ctx` positions each.
pub struct Scheduler<F: Forward> {
    model: F,
    ctx: usize,
    slots: Vec<Slot>,
    queue: VecDeque<Request>,
    is_eog: Box<dyn Fn(u32) -> bool + Send>,
    /// Counts admissions, to find the least recently used free slot.
    clock: u64,
    /// The greedy step submitted and not read back yet, while the next one runs.
    flight: Option<Flight>,
}

/// A greedy step in flight: its rows (tokens resolved), output rows and their slots.
struct Flight {
    rows: Vec<BatchRow>,
    outputs: Vec<usize>,
    owners: Vec<usize>,
}

#[derive(Default)]
struct Slot {
    /// Tokens whose keys and values are in this slot's cache, from position 0.
    cached: Vec<u32>,
    last_used: u64,
    active: Option<Active>,
}

struct Active {
    prompt: Vec<u32>,
    max_tokens: usize,
    sampler: Sampler,
    sink: Box<dyn Sink>,
    generated: usize,
    /// The sampled token not yet in the cache, once the prompt is done.
    next: Option<u32>,
}

impl<F: Forward> Scheduler<F>
where
    F::Error: std::fmt::Display,
{
    pub fn new(
        model: F,
        slots: usize,
        ctx: usize,
        is_eog: impl Fn(u32) -> bool + Send + 'static,
    ) -> Self {
        Scheduler {
            model,
            ctx,
            slots: (0..slots).map(|_| Slot::default()).collect(),
            queue: VecDeque::new(),
            is_eog: Box::new(is_eog),
            clock: 0,
            flight: None,
        }
    }

    /// Serves requests from `requests` until the channel closes and all work is done.
    pub fn run(mut self, requests: Receiver<Request>) {
        let mut open = true;
        while open || self.busy() {
            if !self.busy() {
                match requests.recv() {
                    Ok(r) => self.submit(r),
                    Err(_) => open = false,
                }
            }
            loop {
                match requests.recv_timeout(Duration::ZERO) {
                    Ok(r) => self.submit(r),
                    Err(RecvTimeoutError::Timeout) => break,
                    Err(RecvTimeoutError::Disconnected) => {
                        open = false;
                        break;
                    }
                }
            }
            self.step();
        }
    }

    /// Queues a request; it starts at the next step with a free slot.
    pub fn submit(&mut self, request: Request) {
        self.queue.push_back(request);
    }

    /// Whether any request is queued or running, or a step is still to be read.
    pub fn busy(&self) -> bool {
        !self.queue.is_empty()
            || self.flight.is_some()
            || self.slots.iter().any(|s| s.active.is_some())
    }

    /// The model, for what it reports between steps (timings, profiles).
    pub fn model(&mut self) -> &mut F {
        &mut self.model
    }

    /// The tokens in each slot's cache.
    pub fn cached(&self) -> Vec<&[u32]> {
        self.slots.iter().map(|s| s.cached.as_slice()).collect()
    }

    /// Admits queued requests, drops those whose clients left, and runs one batch. A batch of
    /// greedy requests without penalties or biases needs no logits: the model picks, and while
    /// the CPU reads one step's tokens the next step runs, its rows taking their tokens from the
    /// model's picks ([`Scheduler::follow`]).
    pub fn step(&mut self) {
        self.queue.retain(|r| !r.sink.is_closed());
        for slot in &mut self.slots {
            if slot.active.as_ref().is_some_and(|a| a.sink.is_closed()) {
                slot.active = None;
            }
        }
        let flight = match self.flight.take() {
            Some(f) => f,
            None => {
                self.admit();
                let (rows, outputs, owners) = self.batch();
                if rows.is_empty() {
                    return;
                }
                let greedy = owners.iter().all(|&i| {
                    self.slots[i]
                        .active
                        .as_ref()
                        .is_some_and(|a| a.sampler.is_greedy())
                });
                if !greedy {
                    match self.model.forward(&rows, &outputs) {
                        Ok(logits) => {
                            let tokens = self.sample(&owners, logits);
                            self.advance(&rows, &owners, &tokens);
                        }
                        Err(e) => self.fail(&e.to_string()),
                    }
                    return;
                }
                if let Err(e) = self.model.submit_greedy(&rows, &outputs) {
                    self.fail(&e.to_string());
                    return;
                }
                Flight {
                    rows,
                    outputs,
                    owners,
                }
            }
        };
        let next = self.follow(&flight);
        let tokens = self.model.finish_greedy();
        let (next, tokens) = match (next, tokens) {
            (Ok(next), Ok(tokens)) => (next, tokens),
            (next, tokens) => {
                if let Ok(Some(_)) = next {
                    let _ = self.model.finish_greedy();
                }
                let e = next.err().or(tokens.err()).expect("one of them failed");
                self.fail(&e.to_string());
                return;
            }
        };
        self.advance(&flight.rows, &flight.owners, &tokens);
        self.flight = next.map(|mut f| {
            for r in &mut f.rows {
                if r.token & BatchRow::PICKED != 0 {
                    r.token = tokens[(r.token & !BatchRow::PICKED) as usize];
                }
            }
            f
        });
    }

    /// Submits the step after `flight` where it is known without `flight`'s tokens: nothing is
    /// queued and every running request generates in `flight`. Each row takes the token its
    /// request's output row in `flight` picks, at the next position; requests that end by
    /// length at `flight` get none (one that ends by an end-of-generation token wastes a row,
    /// whose cache entry lies past what its slot records).
    fn follow(&mut self, flight: &Flight) -> Result<Option<Flight>, F::Error> {
        let running = self.slots.iter().filter(|s| s.active.is_some()).count();
        let generating = flight
            .owners
            .iter()
            .filter(|&&i| self.slots[i].active.is_some())
            .count();
        if !self.queue.is_empty() || generating < running {
            return Ok(None);
        }
        let mut next = Flight {
            rows: Vec::new(),
            outputs: Vec::new(),
            owners: Vec::new(),
        };
        for (j, (&o, &i)) in flight.outputs.iter().zip(&flight.owners).enumerate() {
            let Some(a) = self.slots[i].active.as_ref() else {
                continue;
            };
            let pos = flight.rows[o].pos + 1;
            if a.generated + 1 >= a.max_tokens || pos as usize >= self.ctx {
                continue;
            }
            next.outputs.push(next.rows.len());
            next.owners.push(i);
            next.rows.push(BatchRow {
                token: BatchRow::PICKED | j as u32,
                pos,
                seq: i as u32,
            });
        }
        if next.rows.is_empty() {
            return Ok(None);
        }
        self.model.submit_greedy(&next.rows, &next.outputs)?;
        Ok(Some(next))
    }

    /// Each output row's token from its logits, by its request's sampler.
    fn sample(&mut self, owners: &[usize], mut logits: Vec<f32>) -> Vec<u32> {
        if owners.is_empty() {
            return Vec::new();
        }
        let n_vocab = logits.len() / owners.len();
        owners
            .iter()
            .zip(logits.chunks_mut(n_vocab))
            .map(|(&i, logits)| {
                self.slots[i]
                    .active
                    .as_mut()
                    .expect("an output row belongs to an active slot")
                    .sampler
                    .sample(logits)
            })
            .collect()
    }

    fn admit(&mut self) {
        while let Some(mut req) = self.queue.pop_front() {
            if req.prompt.is_empty() || req.prompt.len() >= self.ctx {
                req.sink.send(Event::Failed(format!(
                    "the prompt has {} tokens; it must have 1 to {}",
                    req.prompt.len(),
                    self.ctx - 1
                )));
                continue;
            }
            // The free slot sharing the longest prefix; among equals the least recently used,
            // so other cached prefixes live longer.
            let best = self
                .slots
                .iter()
                .enumerate()
                .filter(|(_, s)| s.active.is_none())
                .max_by_key(|(_, s)| {
                    (
                        common_prefix(&s.cached, &req.prompt),
                        u64::MAX - s.last_used,
                    )
                })
                .map(|(i, _)| i);
            let Some(i) = best else {
                self.queue.push_front(req);
                return;
            };
            // At least one prompt token runs, for the logits of the first generated token.
            let reuse = common_prefix(&self.slots[i].cached, &req.prompt).min(req.prompt.len() - 1);
            self.clock += 1;
            let slot = &mut self.slots[i];
            slot.cached.truncate(reuse);
            slot.last_used = self.clock;
            if req.sink.send(Event::Started { cached: reuse }) {
                slot.active = Some(Active {
                    sampler: Sampler::new(req.sampling),
                    prompt: req.prompt,
                    max_tokens: req.max_tokens,
                    sink: req.sink,
                    generated: 0,
                    next: None,
                });
            }
        }
    }

    /// One row per generating slot, then prompt tokens up to the batch size. Returns the rows,
    /// the rows whose logits are wanted and the slot of each wanted row.
    fn batch(&self) -> (Vec<BatchRow>, Vec<usize>, Vec<usize>) {
        let mut rows = Vec::new();
        let mut outputs = Vec::new();
        let mut owners = Vec::new();
        for (i, slot) in self.slots.iter().enumerate() {
            if let Some(token) = slot.active.as_ref().and_then(|a| a.next) {
                outputs.push(rows.len());
                owners.push(i);
                rows.push(BatchRow {
                    token,
                    pos: slot.cached.len() as u32,
                    seq: i as u32,
                });
            }
        }
        for (i, slot) in self.slots.iter().enumerate() {
            let Some(a) = slot.active.as_ref().filter(|a| a.next.is_none()) else {
                continue;
            };
            let room = self.model.max_batch() - rows.len();
            if room == 0 {
                break;
            }
            let start = slot.cached.len();
            let end = a.prompt.len().min(start + room);
            for (pos, &token) in a.prompt.iter().enumerate().take(end).skip(start) {
                rows.push(BatchRow {
                    token,
                    pos: pos as u32,
                    seq: i as u32,
                });
            }
            if end == a.prompt.len() {
                outputs.push(rows.len() - 1);
                owners.push(i);
            }
        }
        (rows, outputs, owners)
    }

    /// Records a step's rows in their slots' caches and hands out its tokens. Rows of slots
    /// whose requests ended while the step ran (a step submitted ahead) are dropped.
    fn advance(&mut self, rows: &[BatchRow], owners: &[usize], tokens: &[u32]) {
        for r in rows {
            let slot = &mut self.slots[r.seq as usize];
            if slot.active.is_some() {
                slot.cached.push(r.token);
            }
        }
        for (&i, &token) in owners.iter().zip(tokens) {
            let slot = &mut self.slots[i];
            let Some(a) = slot.active.as_mut() else {
                continue;
            };
            let finish = if (self.is_eog)(token) {
                Some(Finish::Stop)
            } else if !a.sink.send(Event::Token(token)) {
                slot.active = None;
                continue;
            } else {
                a.generated += 1;
                a.next = Some(token);
                // The token just sent goes into the cache at the next step, at this position.
                let full = slot.cached.len() >= self.ctx;
                (a.generated >= a.max_tokens || full).then_some(Finish::Length)
            };
            if let Some(f) = finish {
                a.sink.send(Event::Finished(f));
                slot.active = None;
            }
        }
    }

    /// A failed step leaves the caches in an unknown state: every running request fails and
    /// every cache is forgotten.
    fn fail(&mut self, message: &str) {
        for slot in &mut self.slots {
            if let Some(mut a) = slot.active.take() {
                a.sink.send(Event::Failed(message.to_string()));
            }
            slot.cached.clear();
        }
    }
}

fn common_prefix(a: &[u32], b: &[u32]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    const VOCAB: usize = 16;
    const EOG: u32 = 15;

    /// A stand-in model with a real KV cache's semantics: a row stores its token at its position
    /// and its logits depend on every token of its sequence up to that position. Reading a
    /// position nobody wrote panics, so a wrong prefix reuse shows.
    struct Mock {
        kv: Vec<Vec<Option<u32>>>,
        max_batch: usize,
        rows_run: usize,
        fail: bool,
        /// Steps with output rows, and those of them submitted greedy.
        output_steps: usize,
        greedy_steps: usize,
        /// Greedy steps' tokens not read yet, and the picks of the last step submitted (none
        /// after a step with logits).
        in_flight: VecDeque<Vec<u32>>,
        picks: Vec<u32>,
        /// Greedy steps submitted while another was in flight.
        overlapped: usize,
    }

    impl Mock {
        fn new(seqs: usize, ctx: usize, max_batch: usize) -> Self {
            Mock {
                kv: vec![vec![None; ctx]; seqs],
                max_batch,
                rows_run: 0,
                fail: false,
                output_steps: 0,
                greedy_steps: 0,
                in_flight: VecDeque::new(),
                picks: Vec::new(),
                overlapped: 0,
            }
        }
    }

    impl Forward for Mock {
        type Error = String;

        fn forward(&mut self, rows: &[BatchRow], outputs: &[usize]) -> Result<Vec<f32>, String> {
            if self.fail {
                return Err("device lost".into());
            }
            assert!(rows.len() <= self.max_batch);
            assert!(rows.iter().all(|r| r.token & BatchRow::PICKED == 0));
            self.picks.clear();
            self.rows_run += rows.len();
            self.output_steps += usize::from(!outputs.is_empty());
            for r in rows {
                self.kv[r.seq as usize][r.pos as usize] = Some(r.token);
            }
            let mut logits = Vec::new();
            for &o in outputs {
                let r = rows[o];
                let mut h: u64 = 1469598103934665603;
                for p in 0..=r.pos as usize {
                    let t = self.kv[r.seq as usize][p].expect("read an unwritten cache position");
                    h = (h ^ u64::from(t)).wrapping_mul(1099511628211);
                }
                // EOG is held back a little, so generations have some length.
                logits.extend((0..VOCAB as u64).map(|v| {
                    let x =
                        (h ^ v.wrapping_mul(0x9e3779b97f4a7c15)).wrapping_mul(0xff51afd7ed558ccd);
                    let bias = if v == u64::from(EOG) { -0.3 } else { 0.0 };
                    (x >> 40) as f32 / (1u64 << 24) as f32 + bias
                }));
            }
            Ok(logits)
        }

        fn submit_greedy(&mut self, rows: &[BatchRow], outputs: &[usize]) -> Result<(), String> {
            assert!(
                self.in_flight.len() < 2,
                "at most two greedy steps in flight"
            );
            self.overlapped += self.in_flight.len();
            let rows: Vec<BatchRow> = rows
                .iter()
                .map(|r| match r.token & BatchRow::PICKED {
                    0 => *r,
                    _ => BatchRow {
                        token: self.picks[(r.token & !BatchRow::PICKED) as usize],
                        ..*r
                    },
                })
                .collect();
            let logits = self.forward(&rows, outputs)?;
            self.greedy_steps += usize::from(!outputs.is_empty());
            self.picks = logits
                .chunks(VOCAB)
                .map(|l| crate::sampling::argmax(l) as u32)
                .collect();
            self.in_flight.push_back(self.picks.clone());
            Ok(())
        }

        fn finish_greedy(&mut self) -> Result<Vec<u32>, String> {
            Ok(self.in_flight.pop_front().expect("a greedy step in flight"))
        }

        fn max_batch(&self) -> usize {
            self.max_batch
        }
    }

    #[derive(Clone, Default)]
    struct Recorder {
        events: Arc<Mutex<Vec<Event>>>,
        /// Closes after this many tokens, like a client that disconnects.
        close_after: Option<usize>,
    }

    impl Recorder {
        fn tokens(&self) -> Vec<u32> {
            let events = self.events.lock().unwrap();
            events
                .iter()
                .filter_map(|e| match e {
                    Event::Token(t) => Some(*t),
                    _ => None,
                })
                .collect()
        }

        fn last(&self) -> Event {
            self.events
                .lock()
                .unwrap()
                .last()
                .cloned()
                .expect("an event")
        }

        fn cached(&self) -> usize {
            match self.events.lock().unwrap().first() {
                Some(Event::Started { cached }) => *cached,
                e => panic!("first event {e:?}"),
            }
        }
    }

    impl Sink for Recorder {
        fn send(&mut self, event: Event) -> bool {
            self.events.lock().unwrap().push(event);
            !self.is_closed()
        }

        fn is_closed(&self) -> bool {
            self.close_after.is_some_and(|n| self.tokens().len() >= n)
        }
    }

    fn request(prompt: Vec<u32>, max_tokens: usize) -> (Request, Recorder) {
        let rec = Recorder::default();
        let req = Request {
            prompt,
            max_tokens,
            sampling: SamplingParams::greedy(),
            sink: Box::new(rec.clone()),
        };
        (req, rec)
    }

    fn scheduler(slots: usize, ctx: usize, max_batch: usize) -> Scheduler<Mock> {
        Scheduler::new(Mock::new(slots, ctx, max_batch), slots, ctx, |t| t == EOG)
    }

    fn drain(s: &mut Scheduler<Mock>) {
        for _ in 0..10_000 {
            if !s.busy() {
                return;
            }
            s.step();
        }
        panic!("the scheduler did not finish");
    }

    fn prompt(seed: u32, len: usize) -> Vec<u32> {
        (0..len as u32).map(|i| (seed * 7 + i * 3) % 14).collect()
    }

    /// Greedy requests let the model pick their tokens; a step with a sampled request's output
    /// row reads logits for all, and the greedy request's tokens do not change.
    #[test]
    fn greedy_requests_let_the_model_pick() {
        let mut s = scheduler(2, 64, 8);
        let (a, ra) = request(prompt(1, 5), 12);
        s.submit(a);
        drain(&mut s);
        let alone = ra.tokens();
        let m = s.model();
        assert!(m.output_steps > 0);
        assert_eq!(m.greedy_steps, m.output_steps, "every step greedy");

        let mut s = scheduler(2, 64, 8);
        let (a, ra) = request(prompt(1, 5), 12);
        let (mut b, rb) = request(prompt(2, 5), 12);
        b.sampling = SamplingParams {
            seed: 3,
            ..Default::default()
        };
        s.submit(a);
        s.submit(b);
        drain(&mut s);
        assert_eq!(ra.tokens(), alone);
        assert!(matches!(rb.last(), Event::Finished(_)), "{:?}", rb.last());
        let m = s.model();
        assert!(
            m.greedy_steps < m.output_steps,
            "steps with a sampled row read logits"
        );
    }

    /// While the CPU reads a greedy step's tokens the next step runs, its rows taking the
    /// model's picks. The tokens are those of the same requests run with logits (a zero bias
    /// keeps them off the greedy path), with requests ending by an end-of-generation token, by
    /// length, by the end of the context and by a closed client, and one waiting for a slot.
    #[test]
    fn greedy_steps_run_ahead_and_pick_the_same() {
        let run = |logits: bool| {
            // Token 13 ends generations here, so some end by it.
            let mut s = Scheduler::new(Mock::new(2, 40, 8), 2, 40, |t| t == 13);
            let recs: Vec<Recorder> = (0..5u32)
                .map(|i| {
                    let (mut req, mut rec) =
                        request(prompt(i, 4 + 3 * i as usize), 6 + 6 * i as usize);
                    if logits {
                        req.sampling.logit_bias = vec![(0, 0.0)];
                    }
                    if i == 2 {
                        rec.close_after = Some(3);
                        req.sink = Box::new(rec.clone());
                    }
                    s.submit(req);
                    rec
                })
                .collect();
            drain(&mut s);
            // What each slot records is what its cache holds.
            for (i, cached) in s.cached().iter().enumerate() {
                let held: Vec<Option<u32>> = s.model.kv[i][..cached.len()].to_vec();
                let want: Vec<Option<u32>> = cached.iter().map(|&t| Some(t)).collect();
                assert_eq!(held, want, "slot {i}");
            }
            let got: Vec<(Vec<u32>, Event)> = recs.iter().map(|r| (r.tokens(), r.last())).collect();
            (got, s.model.overlapped)
        };
        let (ahead, overlapped) = run(false);
        let (with_logits, none) = run(true);
        assert_eq!(ahead, with_logits);
        assert!(overlapped > 0);
        assert_eq!(none, 0);
        for end in [Finish::Stop, Finish::Length] {
            assert!(
                ahead.iter().any(|(_, e)| *e == Event::Finished(end)),
                "{ahead:?}"
            );
        }
        assert_eq!(ahead[2].0.len(), 3);
    }

    #[test]
    fn batched_requests_generate_what_each_generates_alone() {
        let prompts: Vec<Vec<u32>> = (0..5).map(|i| prompt(i, 5 + 9 * i as usize)).collect();
        let alone: Vec<Vec<u32>> = prompts
            .iter()
            .map(|p| {
                let mut s = scheduler(1, 128, 8);
                let (req, rec) = request(p.clone(), 20);
                s.submit(req);
                drain(&mut s);
                rec.tokens()
            })
            .collect();
        assert!(alone.iter().any(|t| t.len() > 3));
        // Four slots for five requests and a batch smaller than the longest prompt: prompts are
        // split over steps that also decode, and the fifth request waits for a slot.
        let mut s = scheduler(4, 128, 8);
        let recs: Vec<Recorder> = prompts
            .iter()
            .map(|p| {
                let (req, rec) = request(p.clone(), 20);
                s.submit(req);
                rec
            })
            .collect();
        drain(&mut s);
        for (rec, want) in recs.iter().zip(&alone) {
            assert_eq!(&rec.tokens(), want);
            assert!(matches!(rec.last(), Event::Finished(_)));
        }
    }

    #[test]
    fn a_shared_prefix_is_processed_once() {
        let mut s = scheduler(2, 256, 16);
        let system = prompt(3, 100);
        let (req, first) = request(system.clone(), 4);
        s.submit(req);
        drain(&mut s);
        assert_eq!(first.cached(), 0);
        assert!(first.tokens().len() > 1);
        assert_eq!(s.model.rows_run, 100 + first.tokens().len() - 1);

        // The same prompt again: only its last token runs.
        let before = s.model.rows_run;
        let (req, again) = request(system.clone(), 4);
        s.submit(req);
        drain(&mut s);
        assert_eq!(again.cached(), 99);
        assert_eq!(again.tokens(), first.tokens());
        assert_eq!(s.model.rows_run - before, 1 + again.tokens().len() - 1);

        // The conversation goes on: the previous answer plus a new turn.
        let mut next = system.clone();
        next.extend(again.tokens());
        next.extend([1, 2, 3]);
        let before = s.model.rows_run;
        let (req, turn) = request(next.clone(), 4);
        s.submit(req);
        drain(&mut s);
        let reused = 100 + again.tokens().len() - 1;
        assert_eq!(turn.cached(), reused);
        assert_eq!(
            s.model.rows_run - before,
            next.len() - reused + turn.tokens().len() - 1
        );

        // And it matches a cold run of the same prompt.
        let mut cold = scheduler(1, 256, 16);
        let (req, fresh) = request(next, 4);
        cold.submit(req);
        drain(&mut cold);
        assert_eq!(fresh.tokens(), turn.tokens());
    }

    #[test]
    fn a_closed_client_frees_its_slot_for_the_queue() {
        let mut s = scheduler(1, 128, 8);
        let (mut req, gone) = request(prompt(1, 6), 50);
        let gone = Recorder {
            close_after: Some(2),
            ..gone
        };
        req.sink = Box::new(gone.clone());
        s.submit(req);
        let (req, waiting) = request(prompt(2, 6), 3);
        s.submit(req);
        drain(&mut s);
        assert_eq!(gone.tokens().len(), 2);
        assert!(!matches!(gone.last(), Event::Finished(_)));
        assert_eq!(waiting.tokens().len(), 3);
        assert_eq!(waiting.last(), Event::Finished(Finish::Length));
    }

    #[test]
    fn generation_stops_at_the_end_of_the_context() {
        let mut s = scheduler(1, 12, 8);
        let (req, rec) = request(prompt(4, 10), 100);
        s.submit(req);
        drain(&mut s);
        // Positions 10 and 11 take the first two generated tokens; the third has no room.
        assert_eq!(rec.tokens().len(), 3);
        assert_eq!(rec.last(), Event::Finished(Finish::Length));
    }

    #[test]
    fn bad_prompts_and_failed_steps_are_reported() {
        let mut s = scheduler(1, 12, 8);
        let (req, long) = request(prompt(4, 12), 1);
        s.submit(req);
        let (req, empty) = request(Vec::new(), 1);
        s.submit(req);
        drain(&mut s);
        assert!(matches!(long.last(), Event::Failed(m) if m.contains("12 tokens")));
        assert!(matches!(empty.last(), Event::Failed(_)));

        s.model.fail = true;
        let (req, rec) = request(prompt(4, 5), 4);
        s.submit(req);
        drain(&mut s);
        assert_eq!(rec.last(), Event::Failed("device lost".into()));
        assert!(s.cached().iter().all(|c| c.is_empty()));
    }
}
