//! The runtime: a model's weights, activations and KV caches on the GPU, and its plans by bucket.
//! A step writes the batch description (tokens, positions, sequences, wanted outputs), replays the
//! bucket's plan in one submit, and reads back only the wanted logits (or, for greedy steps,
//! the tokens the GPU picked from them).

use std::collections::{HashMap, VecDeque};

use wick_core::generate::{BatchRow, Forward};
use wick_core::gguf::GgufFile;
use wick_core::graph::{Graph, Op, RopeParams, Rows};

use crate::plan::{Bucket, DispatchCount, Plan, Resources, attention_kernel};
use crate::profile::{Profile, Profiler};
use crate::{BackendError, Gpu, GpuWeight, Pipelines};
use wick_shaders::{ATTENTION_COOP_ROWS, ATTENTION_MAX_HEAD_DIM};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RuntimeConfig {
    /// Most tokens in one step (the prefill chunk); a power of two.
    pub max_batch: u32,
    /// Sequences with their own KV cache, and so the most outputs per step.
    pub max_seqs: u32,
    /// Positions per sequence in the KV cache.
    pub ctx: u32,
}

/// Positions per sequence the KV caches hold for a context of `ctx`: a multiple of
/// [`ATTENTION_COOP_ROWS`], so cooperative-matrix prefill attention, which reads whole blocks of
/// keys, never reads past a sequence's cache.
pub fn cache_ctx(ctx: u32) -> u32 {
    ctx.next_multiple_of(ATTENTION_COOP_ROWS)
}

pub struct Runtime {
    pub gpu: Gpu,
    pub cfg: RuntimeConfig,
    graph: Graph,
    pipelines: Pipelines,
    weights: Vec<GpuWeight>,
    activations: Vec<wgpu::Buffer>,
    tensor_buffer: Vec<usize>,
    kv: Vec<(wgpu::Buffer, wgpu::Buffer)>,
    step: wgpu::Buffer,
    attn_partials: wgpu::Buffer,
    moe_groups: wgpu::Buffer,
    q8: wgpu::Buffer,
    /// matvec_add_norm's 8-bit copy of its output (bar the norm's 1 / rms), and its shares of the
    /// norm's mean square per block of its rows and batch row.
    q8_normed: wgpu::Buffer,
    norm_parts: wgpu::Buffer,
    rope_tables: Vec<(RopeParams, f32, wgpu::Buffer)>,
    staging: wgpu::Buffer,
    argmax_partials: wgpu::Buffer,
    /// Greedy steps' tokens, one per output row, and two readbacks of them, so that one step's
    /// tokens are read while the next step runs.
    tokens: wgpu::Buffer,
    token_staging: [wgpu::Buffer; 2],
    /// Greedy steps submitted and not read yet: readback, output rows, submission.
    in_flight: VecDeque<(usize, usize, wgpu::SubmissionIndex)>,
    /// The readback the next greedy step copies its tokens to.
    next_staging: usize,
    /// Output rows of the last step submitted if it was greedy (the picks that
    /// [`BatchRow::PICKED`] rows may take), else 0.
    picks: usize,
    plans: HashMap<Bucket, Plan>,
    n_vocab: u64,
    cpu: CpuTime,
    profiler: Option<Profiler>,
    /// The command buffer of a step encoded while the GPU ran the previous one, and the bucket,
    /// output count and token readback it was encoded for: decode steps repeat their shape, so
    /// encoding the next one before waiting hides the CPU's encoding time behind the GPU's work.
    ahead: Option<(Bucket, usize, usize, wgpu::CommandBuffer)>,
}

/// CPU time spent preparing, encoding and submitting steps (not waiting for the GPU).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CpuTime {
    pub steps: u64,
    pub busy: std::time::Duration,
}

const STEP_HEADER_WORDS: usize = 4;
const ROW_WORDS: usize = 4;

impl Runtime {
    /// Uploads the graph's weights from `file` (calling `progress(done, total)` in bytes) and
    /// allocates activations and KV caches for `cfg`.
    pub fn new(
        gpu: Gpu,
        file: &GgufFile,
        graph: Graph,
        cfg: RuntimeConfig,
        mut progress: impl FnMut(u64, u64),
    ) -> Result<Runtime, BackendError> {
        if !cfg.max_batch.is_power_of_two()
            || cfg.max_seqs == 0
            || cfg.max_seqs > cfg.max_batch
            || cfg.ctx == 0
        {
            return Err(BackendError::Unsupported(format!(
                "invalid runtime configuration {cfg:?}"
            )));
        }
        for op in &graph.ops {
            if let Op::Attention { params, .. } = op
                && (params.head_dim % 16 != 0 || params.head_dim > ATTENTION_MAX_HEAD_DIM)
            {
                return Err(BackendError::Unsupported(format!(
                    "attention head dimension {} (the kernels take multiples of 16 up to {})",
                    params.head_dim, ATTENTION_MAX_HEAD_DIM
                )));
            }
        }
        let infos: Vec<Vec<_>> = graph
            .weights
            .iter()
            .map(|w| {
                w.names
                    .iter()
                    .map(|name| {
                        file.tensor(name).ok_or_else(|| {
                            BackendError::Unsupported(format!("missing tensor {name}"))
                        })
                    })
                    .collect::<Result<_, _>>()
            })
            .collect::<Result<_, _>>()?;
        let total: u64 = infos.iter().flatten().map(|t| t.n_bytes).sum();
        let mut done = 0;
        let mut weights = Vec::with_capacity(graph.weights.len());
        for (desc, infos) in graph.weights.iter().zip(&infos) {
            weights.push(GpuWeight::upload(&gpu, desc, infos, |t| {
                file.tensor_data(t)
            })?);
            done += infos.iter().map(|t| t.n_bytes).sum::<u64>();
            progress(done, total);
        }

        // Plans run the output rows' ops on the outputs' bucket, a power of two that may
        // exceed max_seqs (3 sequences run 4 rows).
        let out_rows = cfg.max_seqs.next_power_of_two();
        let rows_of = |r: Rows| {
            u64::from(if r == Rows::Batch {
                cfg.max_batch
            } else {
                out_rows
            })
        };
        let sizes: Vec<u64> = graph
            .tensors
            .iter()
            .map(|t| rows_of(t.rows) * t.cols * 4)
            .collect();
        let (tensor_buffer, buffer_sizes) = plan_buffers(&graph, &sizes);
        let mut activations = Vec::with_capacity(buffer_sizes.len());
        for (i, &size) in buffer_sizes.iter().enumerate() {
            if size > gpu.max_part_bytes() {
                return Err(BackendError::TooLarge {
                    what: format!("activation buffer {i}"),
                    bytes: size,
                    limit: gpu.max_part_bytes(),
                });
            }
            activations.push(gpu.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(&format!("activation {i}")),
                size,
                usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            }));
        }

        let mut kv = Vec::with_capacity(graph.kv.len());
        for (layer, shape) in graph.kv.iter().enumerate() {
            let bytes = u64::from(cfg.max_seqs)
                * u64::from(shape.n_kv_heads)
                * u64::from(cache_ctx(cfg.ctx))
                * u64::from(shape.head_dim)
                * 2;
            if bytes > gpu.max_part_bytes() {
                return Err(BackendError::TooLarge {
                    what: format!(
                        "the KV cache of layer {layer} ({} sequences x {} positions)",
                        cfg.max_seqs, cfg.ctx
                    ),
                    bytes,
                    limit: gpu.max_part_bytes(),
                });
            }
            let make = |name: &str| {
                gpu.device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some(&format!("{name} cache {layer}")),
                    size: bytes,
                    usage: wgpu::BufferUsages::STORAGE,
                    mapped_at_creation: false,
                })
            };
            kv.push((make("k"), make("v")));
        }

        let step = gpu.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("step"),
            size: ((STEP_HEADER_WORDS + ROW_WORDS * cfg.max_batch as usize) * 4) as u64,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        // Attention partials: (head_dim + 2) floats per row, head and split, for the larger of a
        // full batch and a decode bucket with their splits.
        let decode_rows = wick_shaders::MATVEC_MAX_ROWS.min(cfg.max_batch);
        let partial_floats = graph
            .ops
            .iter()
            .filter_map(|op| match op {
                Op::Attention { params, .. } => Some(
                    [cfg.max_batch, decode_rows]
                        .into_iter()
                        .map(|rows| {
                            u64::from(
                                rows * attention_kernel(
                                    &gpu.caps,
                                    rows,
                                    params,
                                    cache_ctx(cfg.ctx),
                                )
                                .splits,
                            ) * u64::from(params.n_heads)
                                * u64::from(params.head_dim + 2)
                        })
                        .max()
                        .unwrap_or(0),
                ),
                _ => None,
            })
            .max()
            .unwrap_or(1);
        let partial_bytes = partial_floats * 4;
        if partial_bytes > gpu.max_part_bytes() {
            return Err(BackendError::TooLarge {
                what: "attention partials".into(),
                bytes: partial_bytes,
                limit: gpu.max_part_bytes(),
            });
        }
        let attn_partials = gpu.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("attention partials"),
            size: partial_bytes,
            usage: wgpu::BufferUsages::STORAGE,
            mapped_at_creation: false,
        });
        // x of a decode matvec quantized to 8 bits: the largest such input of a full decode
        // bucket (per-pair expert inputs hold a row of k per routed pair).
        let q8_bytes = graph
            .ops
            .iter()
            .filter_map(|op| match *op {
                Op::MatMul { w, x, .. } | Op::ExpertMatMul { w, x, .. } => Some((w, x)),
                _ => None,
            })
            .filter(|&(w, _)| wick_shaders::matvec_takes_q8(weights[w].ty))
            .map(|(w, x)| {
                let k = weights[w].cols;
                u64::from(decode_rows) * (graph.tensors[x].cols / k) * wick_shaders::q8_row_bytes(k)
            })
            .max()
            .unwrap_or(16);
        let q8 = gpu.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("x quantized to 8 bits"),
            size: q8_bytes,
            usage: wgpu::BufferUsages::STORAGE,
            mapped_at_creation: false,
        });
        // Four f32 per 32-element block of the widest add_rms_norm (matvec_add_norm's shares).
        let norm_cols = graph
            .ops
            .iter()
            .filter_map(|op| match *op {
                Op::AddRmsNorm { out, .. } => Some(graph.tensors[out].cols),
                _ => None,
            })
            .max()
            .unwrap_or(32);
        let q8_normed = gpu.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("normed x quantized to 8 bits"),
            size: u64::from(decode_rows) * wick_shaders::q8_row_bytes(norm_cols),
            usage: wgpu::BufferUsages::STORAGE,
            mapped_at_creation: false,
        });
        let norm_parts = gpu.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("norm shares"),
            size: 16 * norm_cols.div_ceil(32),
            usage: wgpu::BufferUsages::STORAGE,
            mapped_at_creation: false,
        });
        // Expert groups of a prefill chunk: a count and up to a row per expert.
        let experts = graph
            .ops
            .iter()
            .filter_map(|op| match op {
                Op::Route { logits, .. } => Some(graph.tensors[*logits].cols),
                _ => None,
            })
            .max()
            .unwrap_or(1);
        let moe_groups = gpu.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("expert groups"),
            size: experts * (u64::from(cfg.max_batch) + 1) * 4,
            usage: wgpu::BufferUsages::STORAGE,
            mapped_at_creation: false,
        });
        // One frequency table per distinct RoPE (q and k of a layer share theirs).
        let mut rope_tables: Vec<(RopeParams, f32, wgpu::Buffer)> = Vec::new();
        for op in &graph.ops {
            if let Op::RopeStore { params, .. } | Op::NormRopeStore { params, .. } = op {
                let key = RopeParams {
                    n_heads: 0,
                    ..*params
                };
                if !rope_tables.iter().any(|(q, _, _)| *q == key) {
                    let (freqs, mscale) = key.frequencies();
                    let buffer = crate::weights::storage_from_bytes(
                        &gpu,
                        "rope frequencies",
                        bytemuck::cast_slice(&freqs),
                    );
                    rope_tables.push((key, mscale, buffer));
                }
            }
        }
        let n_vocab = graph.tensors[graph.logits].cols;
        let staging = gpu.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("logits readback"),
            size: u64::from(cfg.max_seqs) * n_vocab * 4,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let argmax_partials = gpu.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("argmax partials"),
            size: u64::from(out_rows) * u64::from(wick_shaders::argmax_chunks(n_vocab as u32)) * 8,
            usage: wgpu::BufferUsages::STORAGE,
            mapped_at_creation: false,
        });
        let tokens = gpu.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("greedy tokens"),
            size: u64::from(out_rows) * 4,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let token_staging = [0, 1].map(|_| {
            gpu.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("greedy tokens readback"),
                size: u64::from(cfg.max_seqs) * 4,
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            })
        });
        gpu.wait()?;
        Ok(Runtime {
            gpu,
            cfg,
            graph,
            pipelines: Pipelines::default(),
            weights,
            activations,
            tensor_buffer,
            kv,
            step,
            attn_partials,
            moe_groups,
            q8,
            q8_normed,
            norm_parts,
            rope_tables,
            staging,
            argmax_partials,
            tokens,
            token_staging,
            in_flight: VecDeque::new(),
            next_staging: 0,
            picks: 0,
            plans: HashMap::new(),
            n_vocab,
            cpu: CpuTime::default(),
            profiler: None,
            ahead: None,
        })
    }

    pub fn n_vocab(&self) -> u64 {
        self.n_vocab
    }

    /// Bytes of every buffer the runtime allocated on the GPU: those made at load, and those of
    /// the plans compiled so far (their parameters and outputs of their own).
    pub fn allocated_bytes(&self) -> u64 {
        let weights = self.weights.iter().flat_map(|w| &w.parts);
        weights.map(|p| p.buffer.size()).sum::<u64>()
            + self.activations.iter().map(wgpu::Buffer::size).sum::<u64>()
            + self
                .kv
                .iter()
                .map(|(k, v)| k.size() + v.size())
                .sum::<u64>()
            + self.step.size()
            + self.attn_partials.size()
            + self.moe_groups.size()
            + self.q8.size()
            + self.q8_normed.size()
            + self.norm_parts.size()
            + self.staging.size()
            + self.argmax_partials.size()
            + self.tokens.size()
            + self.token_staging.iter().map(|b| b.size()).sum::<u64>()
            + self.plans.values().map(Plan::bytes).sum::<u64>()
    }

    /// Bytes a decode step of one token reads from memory at `depth` cached positions: every
    /// weight but the embedding table (one row of it) and unrouted experts (k of each layer's
    /// experts are read), and the keys and values of each layer (f16), all layers over the
    /// whole depth.
    pub fn decode_bytes(&self, depth: u64) -> u64 {
        let mut used = vec![false; self.weights.len()];
        let mut bytes = 0;
        for op in &self.graph.ops {
            let ws = match *op {
                Op::MatMul { w, .. } => [Some(w), None],
                Op::ExpertMatMul { w, route, .. } => {
                    let t = &self.weights[w];
                    let k = self.graph.tensors[route].cols / 2;
                    let size: u64 = t.parts.iter().map(|p| p.buffer.size()).sum();
                    bytes += size / t.experts * k;
                    continue;
                }
                Op::RmsNorm { weight, .. } | Op::AddRmsNorm { weight, .. } => [Some(weight), None],
                Op::NormRopeStore { q_norm, k_norm, .. } => [Some(q_norm), Some(k_norm)],
                Op::AddBias { bias, .. } => [Some(bias), None],
                Op::Embed { table, .. } => {
                    let t = &self.weights[table];
                    bytes += t
                        .parts
                        .first()
                        .map_or(0, |p| p.buffer.size() / p.rows.max(1));
                    continue;
                }
                _ => continue,
            };
            for w in ws.into_iter().flatten() {
                if !std::mem::replace(&mut used[w], true) {
                    bytes += self.weights[w]
                        .parts
                        .iter()
                        .map(|p| p.buffer.size())
                        .sum::<u64>();
                }
            }
        }
        let kv_per_position: u64 = self
            .graph
            .kv
            .iter()
            .map(|s| 2 * u64::from(s.n_kv_heads) * u64::from(s.head_dim) * 2)
            .sum();
        bytes + kv_per_position * depth
    }

    /// Times every dispatch of the following steps on the GPU (each step then waits for the GPU).
    pub fn enable_profiling(&mut self) -> Result<(), BackendError> {
        self.ahead = None;
        self.profiler = Some(Profiler::new(&self.gpu)?);
        Ok(())
    }

    /// Times each dispatch of the plan of a step of `rows` rows (the last at `last_pos`, as
    /// [`Runtime::dispatches`]) alone, in `reps` steps of a pass per dispatch, into the profile
    /// (each timed by its pass). The dispatches write what they would in a step: run it once
    /// the step's results are no longer needed. Without profiling enabled it does nothing.
    pub fn time_alone(
        &mut self,
        rows: usize,
        last_pos: u32,
        outputs: usize,
        greedy: bool,
        reps: u32,
    ) -> Result<(), BackendError> {
        let key = Bucket::of(rows, last_pos, outputs, greedy);
        self.plan(key);
        match self.profiler.as_mut() {
            Some(p) => p.time_alone(&self.gpu, &self.plans[&key], reps),
            None => Ok(()),
        }
    }

    /// GPU time per kernel variant since profiling began or the last call, largest first.
    pub fn take_profile(&mut self) -> Profile {
        self.profiler
            .as_mut()
            .map(Profiler::take)
            .unwrap_or_default()
    }

    /// CPU time of the steps run so far, and resets the count.
    pub fn take_cpu_time(&mut self) -> CpuTime {
        std::mem::take(&mut self.cpu)
    }

    /// Dispatches per step for a batch of `rows` tokens, the last at position `last_pos`, and
    /// `outputs` output rows, greedy ([`Forward::forward_greedy`]) or not.
    pub fn dispatches(
        &mut self,
        rows: usize,
        last_pos: u32,
        outputs: usize,
        greedy: bool,
    ) -> DispatchCount {
        self.plan(Bucket::of(rows, last_pos, outputs, greedy))
            .count()
    }

    fn plan(&mut self, key: Bucket) -> &Plan {
        if !self.plans.contains_key(&key) {
            let res = Resources {
                weights: &self.weights,
                activations: &self.activations,
                tensor_buffer: &self.tensor_buffer,
                kv: &self.kv,
                step: &self.step,
                attn_partials: &self.attn_partials,
                moe_groups: &self.moe_groups,
                q8: &self.q8,
                q8_normed: &self.q8_normed,
                norm_parts: &self.norm_parts,
                rope_tables: &self.rope_tables,
                ctx: cache_ctx(self.cfg.ctx),
                argmax_partials: &self.argmax_partials,
                tokens: &self.tokens,
            };
            let plan = Plan::compile(&self.gpu, &mut self.pipelines, &self.graph, &res, key);
            self.plans.insert(key, plan);
        }
        &self.plans[&key]
    }
}

impl Forward for Runtime {
    type Error = BackendError;

    fn max_batch(&self) -> usize {
        self.cfg.max_batch as usize
    }

    fn forward(&mut self, rows: &[BatchRow], outputs: &[usize]) -> Result<Vec<f32>, BackendError> {
        self.submit_step(rows, outputs, false)?;
        if outputs.is_empty() {
            return Ok(Vec::new());
        }
        self.gpu
            .read(&self.staging, outputs.len() as u64 * self.n_vocab * 4)
    }

    /// Submits a plan that ends with the output rows' tokens picked on the GPU (argmax), copied
    /// to the readback `finish_greedy` maps.
    fn submit_greedy(&mut self, rows: &[BatchRow], outputs: &[usize]) -> Result<(), BackendError> {
        if self.in_flight.len() == self.token_staging.len() {
            return Err(BackendError::InFlight("two already; finish one first"));
        }
        let staging = self.next_staging;
        let submission = self.submit_step(rows, outputs, true)?;
        self.in_flight
            .push_back((staging, outputs.len(), submission));
        Ok(())
    }

    /// Reads back only the tokens, once their step has run.
    fn finish_greedy(&mut self) -> Result<Vec<u32>, BackendError> {
        let (staging, outputs, submission) = self
            .in_flight
            .pop_front()
            .ok_or(BackendError::InFlight("none to finish"))?;
        if outputs == 0 {
            return Ok(Vec::new());
        }
        self.gpu.read_after(
            &self.token_staging[staging],
            outputs as u64 * 4,
            Some(submission),
        )
    }
}

impl Runtime {
    /// Checks and writes the batch description, then submits the bucket's plan (encoded ahead
    /// where the last step's shape repeats) and encodes the next step's.
    fn submit_step(
        &mut self,
        rows: &[BatchRow],
        outputs: &[usize],
        greedy: bool,
    ) -> Result<wgpu::SubmissionIndex, BackendError> {
        let cfg = self.cfg;
        if rows.is_empty()
            || rows.len() > cfg.max_batch as usize
            || outputs.len() > cfg.max_seqs as usize
        {
            return Err(BackendError::BatchTooLarge {
                rows: rows.len(),
                outputs: outputs.len(),
                max_rows: cfg.max_batch,
                max_outputs: cfg.max_seqs,
            });
        }
        let start = std::time::Instant::now();
        let last_pos = rows.iter().map(|r| r.pos).max().unwrap_or(0);
        let key = Bucket::of(rows.len(), last_pos, outputs.len(), greedy);
        let mut words = vec![0u32; STEP_HEADER_WORDS + ROW_WORDS * key.rows as usize];
        words[0] = rows.len() as u32;
        words[1] = outputs.len() as u32;
        for (i, r) in rows.iter().enumerate() {
            let bad = |what: String| Err(BackendError::BadRow { row: i, what });
            let pick = r.token & !BatchRow::PICKED;
            if r.token & BatchRow::PICKED != 0 && pick as usize >= self.picks {
                return bad(format!(
                    "takes the pick of output row {pick}, but the step before picked {}",
                    self.picks
                ));
            }
            if r.token & BatchRow::PICKED == 0 && u64::from(r.token) >= self.n_vocab {
                return bad(format!(
                    "token {} is outside the vocabulary of {}",
                    r.token, self.n_vocab
                ));
            }
            if r.pos >= cfg.ctx {
                return bad(format!(
                    "position {} is past the context of {}",
                    r.pos, cfg.ctx
                ));
            }
            if r.seq >= cfg.max_seqs {
                return bad(format!(
                    "sequence {} is past the {} sequences",
                    r.seq, cfg.max_seqs
                ));
            }
            let w = &mut words[STEP_HEADER_WORDS + ROW_WORDS * i..][..ROW_WORDS];
            w[0] = r.token;
            w[1] = r.pos;
            w[2] = r.seq;
        }
        for (i, &o) in outputs.iter().enumerate() {
            if o >= rows.len() {
                return Err(BackendError::BadRow {
                    row: o,
                    what: "output row is not in the batch".into(),
                });
            }
            words[STEP_HEADER_WORDS + ROW_WORDS * i + 3] = o as u32;
        }
        self.gpu
            .queue
            .write_buffer(&self.step, 0, bytemuck::cast_slice(&words));

        let staging = self.next_staging;
        let commands = match self.ahead.take() {
            Some((k, n, s, commands)) if k == key && n == outputs.len() && s == staging => commands,
            _ => self.encode(key, outputs.len(), staging),
        };
        let submission = self.gpu.queue.submit([commands]);
        if key.greedy {
            self.next_staging = (staging + 1) % self.token_staging.len();
        }
        self.picks = if key.greedy { outputs.len() } else { 0 };
        self.cpu.steps += 1;
        self.cpu.busy += start.elapsed();
        if let Some(p) = self.profiler.as_mut() {
            if p.queries(&self.plans[&key]).is_some() {
                p.collect(&self.gpu, &self.plans[&key])?;
            }
        } else {
            let start = std::time::Instant::now();
            let staging = self.next_staging;
            let commands = self.encode(key, outputs.len(), staging);
            self.ahead = Some((key, outputs.len(), staging, commands));
            self.cpu.busy += start.elapsed();
        }
        Ok(submission)
    }

    /// Records a step of bucket `key` and its copy of `outputs` logit rows (or greedy tokens, to
    /// token readback `staging`) to a staging buffer.
    fn encode(&mut self, key: Bucket, outputs: usize, staging: usize) -> wgpu::CommandBuffer {
        self.plan(key);
        let logits = &self.activations[self.tensor_buffer[self.graph.logits]];
        let mut encoder = self
            .gpu
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("step"),
            });
        let plan = &self.plans[&key];
        let timestamps = self.profiler.as_ref().and_then(|p| p.queries(plan));
        plan.encode(&mut encoder, timestamps);
        if let (Some(p), Some(_)) = (&self.profiler, timestamps) {
            p.resolve(plan, &mut encoder);
        }
        if key.greedy {
            encoder.copy_buffer_to_buffer(
                &self.tokens,
                0,
                &self.token_staging[staging],
                0,
                outputs as u64 * 4,
            );
        } else if outputs > 0 {
            let logits_bytes = outputs as u64 * self.n_vocab * 4;
            encoder.copy_buffer_to_buffer(logits, 0, &self.staging, 0, logits_bytes);
        }
        encoder.finish()
    }
}

/// Assigns each tensor a buffer, reusing a buffer once every reader of its last tensor has run
/// (greedy best fit over lifetimes); a view lives in its tensor's buffer and keeps it alive. The
/// logits tensor keeps its buffer. Returns the buffer of each tensor and the size of each buffer.
fn plan_buffers(graph: &Graph, sizes: &[u64]) -> (Vec<usize>, Vec<u64>) {
    let uses = |op| {
        let (reads, writes) = Graph::uses(op);
        let base = |ts: Vec<usize>| ts.into_iter().map(|t| graph.storage(t).0).collect();
        (base(reads), base(writes))
    };
    let mut last_use = vec![0usize; graph.tensors.len()];
    for (i, op) in graph.ops.iter().enumerate() {
        let (reads, writes): (Vec<usize>, Vec<usize>) = uses(op);
        for t in reads.into_iter().chain(writes) {
            last_use[t] = i;
        }
    }
    last_use[graph.logits] = usize::MAX;
    let mut assigned = vec![usize::MAX; graph.tensors.len()];
    let mut buffer_sizes: Vec<u64> = Vec::new();
    let mut free: Vec<usize> = Vec::new();
    // A buffer is free again FUSED_OPS - 1 ops after its tensor's last use: a plan may run up
    // to FUSED_OPS ops as one dispatch (matvec_glu, add_rms_norm summing moe_sum's experts or
    // doing the output rows' pick and norm), which reads the first op's inputs while it writes
    // the last op's outputs.
    const FUSED_OPS: usize = 3;
    for (i, op) in graph.ops.iter().enumerate() {
        let (_, writes): (Vec<usize>, Vec<usize>) = uses(op);
        for &t in &writes {
            if assigned[t] != usize::MAX {
                continue;
            }
            let need = sizes[t];
            let best = free
                .iter()
                .enumerate()
                .filter(|&(_, &b)| buffer_sizes[b] >= need)
                .min_by_key(|&(_, &b)| buffer_sizes[b])
                .map(|(j, _)| j);
            assigned[t] = match best {
                Some(j) => free.swap_remove(j),
                None => {
                    buffer_sizes.push(need);
                    buffer_sizes.len() - 1
                }
            };
        }
        let Some(prev) = i.checked_sub(FUSED_OPS - 1) else {
            continue;
        };
        let (reads, writes): (Vec<usize>, Vec<usize>) = uses(&graph.ops[prev]);
        for t in reads.into_iter().chain(writes) {
            if last_use[t] == prev && !free.contains(&assigned[t]) {
                free.push(assigned[t]);
            }
        }
    }
    for t in 0..graph.tensors.len() {
        assigned[t] = assigned[graph.storage(t).0];
    }
    (assigned, buffer_sizes)
}

#[cfg(test)]
mod tests {
    use wick_core::graph::{Graph, Op, Rows};

    use super::plan_buffers;

    /// Ops x -> a -> b -> c -> d -> e, each reading only the one before: an op's output never
    /// shares the buffer of an input of the two ops before it (the three may run as one
    /// dispatch), and buffers are reused once that is past.
    #[test]
    fn buffers_outlive_their_last_use_by_two_ops() {
        let mut g = Graph::default();
        let t: Vec<usize> = (0..6).map(|_| g.tensor(Rows::Batch, 8)).collect();
        g.ops.push(Op::Embed {
            table: 0,
            scale: 1.0,
            out: t[0],
        });
        for w in t.windows(2) {
            g.ops.push(Op::Add {
                a: w[0],
                b: w[0],
                out: w[1],
            });
        }
        g.logits = t[5];
        let (of, sizes) = plan_buffers(&g, &[32; 6]);
        // t1 = op(t0), t2 = op(t1), t3 = op(t2): t3's op may run with the two before, so t0
        // and t1 are still held.
        for earlier in &t[..3] {
            assert_ne!(of[t[3]], of[*earlier]);
        }
        assert_eq!(
            of[t[4]], of[t[0]],
            "t0's buffer is free three ops after its last read"
        );
        assert_eq!(sizes.len(), 4);
    }
}
