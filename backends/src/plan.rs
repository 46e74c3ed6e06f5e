//! A plan: the dispatches of one graph for one shape bucket, with parameters and bind groups
//! built ahead, so a step only writes the batch description and replays them in one pass.

use std::cell::OnceCell;
use std::collections::{HashMap, HashSet};

use wick_core::graph::{AttentionParams, Glu, Graph, Op, RopeParams, Rows, TensorId, WeightId};
use wick_shaders::{
    ATTENTION_COOP_GROUPS, ATTENTION_COOP_MAX_HEAD_DIM, ATTENTION_COOP_ROWS,
    ATTENTION_DECODE_GROUPS, ATTENTION_DECODE_MAX_SPLITS, ATTENTION_DECODE_SPLITS,
    ATTENTION_DIRECT, ATTENTION_DIRECT_Q8, ATTENTION_PREFILL_ROWS, ATTENTION_PREFILL_SPLITS,
    ATTENTION_SHALLOW_POSITIONS, Binding, CoopSize, Family, MATVEC_MAX_ROWS, NormModes, Variant,
    WG, argmax_chunks, attention_combine_dims, attention_combine_groups, attention_groups,
    attention_head_dim, matvec_family, matvec_takes_q8,
};

use crate::pipelines::{PARAMS_BYTES, Pipelines};
use crate::{Capabilities, Gpu, GpuWeight};

/// Most workgroups in one dispatch dimension.
const MAX_GROUPS: u32 = 65535;

/// Most bytes of the outputs one plan keeps in buffers of its own ([`own_outputs`]): llama 8B's
/// v projections take 30 MiB of it in 512-row chunks; a file whose gate and up differ in format
/// would otherwise add n_ff floats per row per layer.
const OWN_OUTPUT_BYTES: u64 = 64 << 20;

/// Buffers a plan binds, owned by the runtime.
pub struct Resources<'a> {
    pub weights: &'a [GpuWeight],
    pub activations: &'a [wgpu::Buffer],
    /// Activation buffer index of each graph tensor.
    pub tensor_buffer: &'a [usize],
    pub kv: &'a [(wgpu::Buffer, wgpu::Buffer)],
    pub step: &'a wgpu::Buffer,
    /// Attention's split partials, shared by every layer.
    pub attn_partials: &'a wgpu::Buffer,
    /// A prefill chunk's routed rows grouped by expert, shared by every MoE layer.
    pub moe_groups: &'a wgpu::Buffer,
    /// x of a decode matvec quantized to 8 bits, for the kernels that take it so.
    pub q8: &'a wgpu::Buffer,
    /// matvec_add_norm's 8-bit copy of its output (bar the norm's 1 / rms) and its shares of
    /// the norm's mean square, which the matvecs after it read.
    pub q8_normed: &'a wgpu::Buffer,
    pub norm_parts: &'a wgpu::Buffer,
    /// Each distinct RoPE's per-pair frequencies and cos/sin factor.
    pub rope_tables: &'a [(RopeParams, f32, wgpu::Buffer)],
    /// Positions per sequence in the KV caches.
    pub ctx: u32,
    /// Greedy steps' per-chunk bests and their tokens, one per output row.
    pub argmax_partials: &'a wgpu::Buffer,
    pub tokens: &'a wgpu::Buffer,
}

/// An attention op's kernel, its workgroups and its split-K factor.
pub struct AttentionLaunch {
    pub family: Family,
    pub groups: (u32, u32),
    pub splits: u32,
}

/// The attention kernel of a bucket of `rows` query rows: decode buckets split each row's
/// positions among enough workgroups to fill the GPU (more splits where the heads give few
/// workgroups); prefill chunks give a workgroup a tile of rows and a share of their positions,
/// on 16x16 cooperative matrices where the adapter has them, the head fits them and the caches
/// hold whole blocks of keys (`ctx` positions per sequence).
pub fn attention_kernel(
    caps: &Capabilities,
    rows: u32,
    p: &AttentionParams,
    ctx: u32,
) -> AttentionLaunch {
    let dim = attention_head_dim(p.head_dim);
    if rows <= MATVEC_MAX_ROWS {
        let splits = (ATTENTION_DECODE_GROUPS / attention_groups(p.n_heads, p.n_kv_heads, 1))
            .clamp(ATTENTION_DECODE_SPLITS, ATTENTION_DECODE_MAX_SPLITS);
        AttentionLaunch {
            family: Family::Attention(dim),
            groups: (attention_groups(p.n_heads, p.n_kv_heads, splits), rows),
            splits,
        }
    } else if caps.coop == Some(CoopSize::Sixteen)
        && p.head_dim <= ATTENTION_COOP_MAX_HEAD_DIM
        && p.head_dim.is_multiple_of(16)
        && ctx.is_multiple_of(ATTENTION_COOP_ROWS)
    {
        let tiles = rows.div_ceil(ATTENTION_COOP_ROWS);
        let splits =
            (ATTENTION_COOP_GROUPS / (p.n_heads * tiles)).clamp(1, ATTENTION_PREFILL_SPLITS);
        AttentionLaunch {
            family: Family::AttentionPrefillCoop(dim),
            groups: (p.n_heads * splits, tiles),
            splits,
        }
    } else {
        AttentionLaunch {
            family: Family::AttentionPrefill(dim),
            groups: (
                p.n_heads * ATTENTION_PREFILL_SPLITS,
                rows.div_ceil(ATTENTION_PREFILL_ROWS),
            ),
            splits: ATTENTION_PREFILL_SPLITS,
        }
    }
}

struct Dispatch {
    pipeline: wgpu::ComputePipeline,
    bind_group: wgpu::BindGroup,
    groups: (u32, u32),
    /// The kernel variant, for profiles.
    label: String,
    /// Weight bytes the dispatch reads (matrix products), for bandwidth in profiles.
    weight_bytes: u64,
    /// Whether wgpu puts a pipeline barrier before it (see [`barriers`]).
    barrier: bool,
}

/// A step's dispatches, and how many of them wait behind a pipeline barrier (the others may
/// run beside the dispatch before them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DispatchCount {
    pub dispatches: usize,
    pub barriers: usize,
}

pub struct Plan {
    dispatches: Vec<Dispatch>,
    /// The buffers the plan made (its parameters, matvec_rope's stand-ins, outputs of its
    /// own), kept alive for the bind groups that point into them.
    buffers: Vec<wgpu::Buffer>,
}

/// One dispatch before its bind group exists.
struct Pending<'a> {
    family: Family,
    entry: usize,
    params: [u32; 8],
    buffers: Vec<wgpu::BufferBinding<'a>>,
    groups: (u32, u32),
    /// Weight bytes read (matrix products), for profiles.
    weight_bytes: u64,
    /// A decode matvec reading the 8-bit copy matvec_add_norm wrote (its variant scales by the
    /// norm, reading `res.norm_parts` at its last binding).
    normed_x: bool,
}

/// The glu kernel's entry point, and matvec_glu's parameter, for `kind` (the order of
/// `glu_act.wgsl`'s constants).
fn glu_code(kind: Glu) -> u32 {
    match kind {
        Glu::Gelu => 0,
        Glu::Silu => 1,
        Glu::SiluOai => 2,
    }
}

/// The activation and output of the glu op after matmul `at` where one decode matvec can do
/// both (matvec_glu): the matmul's weight stacks the gate rows on the up rows in one part, of a
/// format with its own matvec kernel, and the glu, reading its two halves, is its only reader.
fn glu_after(graph: &Graph, at: usize, res: &Resources, rows: u32) -> Option<(Glu, TensorId)> {
    let Op::MatMul { w, out, .. } = graph.ops[at] else {
        return None;
    };
    let Some(&Op::Glu {
        kind,
        gate,
        up,
        out: y,
    }) = graph.ops.get(at + 1)
    else {
        return None;
    };
    let w = &res.weights[w];
    let half = graph.tensors[gate].cols;
    let read_later = read_from(graph, at + 2, |t| graph.storage(t).0 == out);
    (rows <= MATVEC_MAX_ROWS
        && Family::MatvecGlu(w.ty).supports()
        && w.parts.len() == 1
        && graph.storage(gate) == (out, 0)
        && graph.storage(up) == (out, half)
        && 2 * half == graph.tensors[out].cols
        && !read_later)
        .then_some((kind, y))
}

/// The add_rms_norm op after matmul `at` where its decode matvec can do the add and the norm
/// (matvec_add_norm) but the norm's 1 / rms, which the matvecs reading the norm's output then
/// apply (normed x): the matmul's one weight part, of a format matvec_add_norm has, makes one of
/// the norm's two inputs, which nothing else reads; the norm's rows are whole 8-bit blocks; and
/// only the matmuls right after it read its output, each as the 8-bit copy its decode matvec
/// takes.
fn add_norm_after(graph: &Graph, at: usize, res: &Resources, rows: u32) -> Option<AddNorm> {
    let Op::MatMul { w, out: made, .. } = graph.ops[at] else {
        return None;
    };
    let Some(&Op::AddRmsNorm {
        a,
        b,
        weight,
        eps,
        sum,
        out,
    }) = graph.ops.get(at + 1)
    else {
        return None;
    };
    // The residual: the input the matmul did not make.
    let residual = if b == made { a } else { b };
    let w = &res.weights[w];
    let cols = graph.tensors[out].cols;
    let readers = graph.ops[at + 2..]
        .iter()
        .take_while(|op| matches!(op, Op::MatMul { x, .. } if *x == out))
        .count();
    let fits = |op: &Op| match *op {
        Op::MatMul { w, .. } => {
            let w = &res.weights[w];
            matvec_takes_q8(w.ty) && w.cols == cols
        }
        _ => false,
    };
    (rows <= MATVEC_MAX_ROWS
        && Family::MatvecAddNorm(w.ty).supports()
        && w.parts.len() == 1
        && (a == made) != (b == made)
        && cols.is_multiple_of(32)
        && graph.tensors[made].cols == cols
        && !read_from(graph, at + 2, |t| graph.storage(t).0 == made)
        && readers > 0
        && graph.ops[at + 2..at + 2 + readers].iter().all(fits)
        && !read_from(graph, at + 2 + readers, |t| {
            graph.storage(t).0 == graph.storage(out).0
        }))
    .then_some(AddNorm {
        residual,
        weight,
        eps,
        sum,
        out,
    })
}

/// What a matvec_add_norm dispatch does besides its product (see [`add_norm_after`]): sum =
/// residual + the product, normed by `weight` and `eps` into out's 8-bit copy, bar the 1 / rms.
struct AddNorm {
    residual: TensorId,
    weight: WeightId,
    eps: f32,
    sum: TensorId,
    out: TensorId,
}

/// Whether an op from index `from` on reads a tensor for which `read` holds: a fusion that
/// leaves a tensor unwritten, or never makes it, needs nothing later to read it.
fn read_from(graph: &Graph, from: usize, read: impl Fn(TensorId) -> bool) -> bool {
    graph.ops[from..]
        .iter()
        .any(|op| Graph::uses(op).0.into_iter().any(&read))
}

/// Whether the add_rms_norm op after moe_sum op `at` can sum the routed experts' outputs itself:
/// it takes the sum as its first input, nothing else reads it, and the outputs are whole rows of
/// their experts' columns.
fn moe_sum_into_norm(graph: &Graph, at: usize) -> bool {
    let Op::MoeSum { y, route, out } = graph.ops[at] else {
        return false;
    };
    let Some(&Op::AddRmsNorm { a, b, .. }) = graph.ops.get(at + 1) else {
        return false;
    };
    let k = graph.tensors[route].cols / 2;
    let read_later = read_from(graph, at + 2, |t| graph.storage(t).0 == out);
    a == out
        && b != out
        && graph.storage(y) == (y, 0)
        && graph.tensors[y].cols == k * graph.tensors[out].cols
        && !read_later
}

/// Whether the add_rms_norm op after rms_norm op `at` can norm its first input itself: the
/// rms_norm is a whole-row one whose output is that input, and nothing else reads it.
fn norm_into_add_norm(graph: &Graph, at: usize) -> bool {
    let Op::RmsNorm { x, group, out, .. } = graph.ops[at] else {
        return false;
    };
    let Some(&Op::AddRmsNorm { a, b, .. }) = graph.ops.get(at + 1) else {
        return false;
    };
    let read_later = read_from(graph, at + 2, |t| graph.storage(t).0 == out);
    a == out
        && b != out
        && group == graph.tensors[x].cols
        && graph.storage(x) == (x, 0)
        && !read_later
}

/// The output norm after add op `at` where one add_rms_norm can do the add, the pick of the
/// output rows and the norm (its rows read through the step's out_row): the gather of the sum
/// and a whole-row norm of that follow, and nothing else reads the sum or the picked rows. The
/// picked rows' tensor (which then holds the picked sums), and the norm's weight, eps and
/// output.
fn gathered_norm(graph: &Graph, at: usize) -> Option<(TensorId, WeightId, f32, TensorId)> {
    let Op::Add { out: sum, .. } = graph.ops[at] else {
        return None;
    };
    let Some(&Op::GatherOutputs { x, out: picked }) = graph.ops.get(at + 1) else {
        return None;
    };
    let Some(&Op::RmsNorm {
        x: normed,
        weight,
        group,
        eps,
        out,
    }) = graph.ops.get(at + 2)
    else {
        return None;
    };
    let sum_later = read_from(graph, at + 2, |t| graph.storage(t).0 == sum);
    let picked_later = read_from(graph, at + 3, |t| graph.storage(t).0 == picked);
    (x == sum
        && normed == picked
        && group == graph.tensors[picked].cols
        && !sum_later
        && !picked_later)
        .then_some((picked, weight, eps, out))
}

/// What one add_rms_norm dispatch does besides sum = a + b and its norm: a sums routed
/// experts' outputs (the route tensor), rows come through the step's out_row (`gather`), a is
/// normed first (weight and eps).
#[derive(Default)]
struct AddNormModes {
    route: Option<TensorId>,
    gather: bool,
    pre: Option<(WeightId, f32)>,
}

/// A matmul whose matvec_rope dispatch does a rope_store's work: its rows up to q_end are q's,
/// up to k_end k's, the rest v's; the layer and the RoPE.
struct RopeFusion {
    q_end: u32,
    k_end: u32,
    layer: usize,
    params: RopeParams,
}

/// The matmuls (by op index) whose matvec_rope dispatches do the work of a rope_store op, and
/// those rope_store ops (added to `done`). In a decode bucket, for normal (not NeoX) RoPE: q, k and v are views, in
/// that order, of the outputs of the matmuls right before the rope_store, each matmul of x rows
/// of its columns and one part of a format with its own matvec kernel; after it nothing reads
/// those outputs but q (k and v then never reach them, only the cache).
fn rope_fusions(
    graph: &Graph,
    res: &Resources,
    rows: u32,
    done: &mut HashSet<usize>,
) -> HashMap<usize, RopeFusion> {
    let mut matmuls = HashMap::new();
    if rows > MATVEC_MAX_ROWS {
        return matmuls;
    }
    for (j, op) in graph.ops.iter().enumerate() {
        let Op::RopeStore {
            layer,
            q,
            k,
            v,
            params,
        } = *op
        else {
            continue;
        };
        if params.neox || params.head_dim > 0xffff || params.n_rot > 0xffff {
            continue;
        }
        let views = [q, k, v];
        // The matmuls right before, each holding some of q, k and v.
        let mut group = Vec::new();
        for at in (0..j).rev() {
            match graph.ops[at] {
                Op::MatMul { w, x, out } if views.iter().any(|&t| graph.storage(t).0 == out) => {
                    group.push((at, w, x, out));
                }
                _ => break,
            }
        }
        let held = |t: TensorId| group.iter().any(|g| g.3 == graph.storage(t).0);
        let read_later = read_from(graph, j + 1, |t| t != q && held(t));
        if !views.iter().all(|&t| held(t)) || read_later {
            continue;
        }
        let mut fusions = Vec::new();
        for &(at, w, x, out) in &group {
            let w = &res.weights[w];
            // This output's views of q, k and v in order, from its first column to its last.
            let mut ends = [0u64; 3];
            let mut next = 0;
            for (i, &t) in views.iter().enumerate() {
                let (of, offset) = graph.storage(t);
                if of == out {
                    if offset != next {
                        break;
                    }
                    next += graph.tensors[t].cols;
                }
                ends[i] = next;
            }
            if !Family::MatvecRope(w.ty).supports()
                || w.parts.len() != 1
                || graph.row_stride(x) != w.cols
                || next != graph.tensors[out].cols
                || ends[2] != next
                || ends[1] > 0xffff
            {
                break;
            }
            fusions.push((
                at,
                RopeFusion {
                    q_end: ends[0] as u32,
                    k_end: ends[1] as u32,
                    layer,
                    params,
                },
            ));
        }
        if fusions.len() == group.len() {
            matmuls.extend(fusions);
            done.insert(j);
        }
    }
    matmuls
}

/// Outputs that a plan gives buffers of its own: those of a matmul right after another matmul
/// of the same x (a layer's v projection after its q/k one, their formats differing). Its
/// dispatch then binds nothing the pass used before read-write and reads only what the one
/// before it read, so wgpu puts no barrier between them and the GPU may run them side by side
/// ([`barriers`]): in decode steps it saves a launch and a wait, in prompts the second
/// product's workgroups fill the SMs that the first one's last wave leaves idle. Each buffer
/// holds the bucket's rows of that output (2 MiB for llama 8B's v in a 512-row chunk), in op
/// order up to [`OWN_OUTPUT_BYTES`], and is made when a dispatch first binds it: a decode step's
/// matvec_rope writes v to the KV cache and never binds its output.
fn own_outputs(
    graph: &Graph,
    rows_of: impl Fn(TensorId) -> u32,
) -> HashMap<TensorId, (u64, OnceCell<wgpu::Buffer>)> {
    let mut own = HashMap::new();
    let mut bytes = 0;
    for pair in graph.ops.windows(2) {
        let [Op::MatMul { x: a, .. }, Op::MatMul { x, out, .. }] = *pair else {
            continue;
        };
        let size = u64::from(rows_of(out)) * graph.row_stride(out) * 4;
        if a == x && out != graph.logits && bytes + size <= OWN_OUTPUT_BYTES {
            bytes += size;
            own.insert(out, (size, OnceCell::new()));
        }
    }
    own
}

/// The kernel variant, and for a matrix product its weight's shape (output features x columns:
/// the weight families' first two parameter words are the columns and the features), so a
/// profile tells the projections apart.
fn dispatch_label(p: &Pending, subgroups: bool) -> String {
    let variant = Variant::new(p.family, subgroups).with_normed_x(p.normed_x);
    if p.weight_bytes > 0 {
        format!("{variant} {}x{}", p.params[1], p.params[0])
    } else {
        variant.to_string()
    }
}

/// The frequency table and cos/sin factor of RoPE `p` (tables are shared across head counts).
fn rope_table<'a>(res: &Resources<'a>, p: RopeParams) -> (f32, &'a wgpu::Buffer) {
    let (_, mscale, freqs) = res
        .rope_tables
        .iter()
        .find(|(q, _, _)| *q == RopeParams { n_heads: 0, ..p })
        .expect("the runtime makes a table for every RoPE of the graph");
    (*mscale, freqs)
}

/// A binding of all of `buffer`.
fn whole(buffer: &wgpu::Buffer) -> wgpu::BufferBinding<'_> {
    buffer.as_entire_buffer_binding()
}

/// Workgroups for `n` independent items of `per_group` each, folded into two dimensions.
pub fn fold(n: u64, per_group: u64) -> (u32, u32) {
    let groups = n.div_ceil(per_group).max(1);
    if groups <= u64::from(MAX_GROUPS) {
        (groups as u32, 1)
    } else {
        (MAX_GROUPS, groups.div_ceil(u64::from(MAX_GROUPS)) as u32)
    }
}

/// Workgroups of a glu dispatch over `rows` rows of `cols` outputs, a thread taking 4 of them:
/// with the 8-bit copy, of the rows laid end to end; without, of one row, a workgroup row per
/// row (no division by the width for each element: prompts' glu ran at a third of the
/// bandwidth so).
pub fn glu_groups(rows: u32, cols: u32, q8: bool) -> (u32, u32) {
    if q8 {
        fold(u64::from(rows * cols / 4), u64::from(WG))
    } else {
        (cols.div_ceil(4 * WG), rows)
    }
}

/// A plan's shape: batch rows and output rows (powers of two), whether it ends with the output
/// rows' greedy tokens, and whether its rows see at most [`ATTENTION_SHALLOW_POSITIONS`]
/// positions (decode attention then writes its output from one split).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Bucket {
    pub rows: u32,
    pub outputs: u32,
    pub greedy: bool,
    pub shallow: bool,
}

impl Bucket {
    /// The bucket of a step of `rows` tokens, the last at position `last_pos`, and `outputs`
    /// output rows, greedy or not.
    pub fn of(rows: usize, last_pos: u32, outputs: usize, greedy: bool) -> Bucket {
        Bucket {
            rows: rows.max(1).next_power_of_two() as u32,
            outputs: outputs.max(1).next_power_of_two() as u32,
            greedy: greedy && outputs > 0,
            shallow: rows <= MATVEC_MAX_ROWS as usize && last_pos < ATTENTION_SHALLOW_POSITIONS,
        }
    }
}

impl Plan {
    /// Compiles `graph` for steps of `bucket`; a greedy plan ends with each output row's most
    /// likely token in `res.tokens`.
    pub fn compile(
        gpu: &Gpu,
        pipelines: &mut Pipelines,
        graph: &Graph,
        res: &Resources,
        bucket: Bucket,
    ) -> Plan {
        let Bucket {
            rows,
            outputs,
            greedy,
            shallow,
        } = bucket;
        let stride = |t: TensorId| graph.row_stride(t) as u32;
        let rows_of = |t: TensorId| match graph.tensors[t].rows {
            Rows::Batch => rows,
            Rows::Outputs => outputs,
        };
        let own = own_outputs(graph, rows_of);
        // A view binds its tensor's buffer from its first column.
        let act = |t: TensorId| {
            let (of, offset) = graph.storage(t);
            let buffer = match own.get(&of) {
                Some((size, buffer)) => buffer.get_or_init(|| {
                    gpu.device.create_buffer(&wgpu::BufferDescriptor {
                        label: Some("matmul output of its own"),
                        size: *size,
                        usage: wgpu::BufferUsages::STORAGE,
                        mapped_at_creation: false,
                    })
                }),
                None => &res.activations[res.tensor_buffer[t]],
            };
            wgpu::BufferBinding {
                buffer,
                offset: offset * 4,
                size: None,
            }
        };
        let cols = |t: TensorId| graph.tensors[t].cols as u32;
        let mut pending: Vec<Pending> = Vec::new();
        // Inputs of decode matvecs that take x quantized to 8 bits, with their row length: the
        // op that makes one writes it quantized too where it can.
        let mut wants_q8: HashMap<TensorId, u32> = HashMap::new();
        for op in &graph.ops {
            if let Op::MatMul { w, x, .. } | Op::ExpertMatMul { w, x, .. } = *op
                && rows_of(x) <= MATVEC_MAX_ROWS
                && matvec_takes_q8(res.weights[w].ty)
            {
                wants_q8.insert(x, res.weights[w].cols as u32);
            }
        }
        let wanted = |t: TensorId| wants_q8.get(&t).copied();
        // The tensor (and row length) whose 8-bit quantization `res.q8` holds, written by the op
        // that made it or by a quantize_q8 dispatch, and whether matvec_add_norm wrote it (its
        // readers scale by the norm). It stays valid until the next such write or a write to
        // the tensor (an in-place op's).
        let mut q8_of: Option<(TensorId, u32, bool)> = None;
        let quantize = |x: TensorId, k: u32| {
            // Per-pair expert inputs are whole rows of k side by side.
            let n = rows_of(x) * cols(x) / k;
            let x_stride = if cols(x) == k { stride(x) } else { k };
            Pending {
                family: Family::QuantizeQ8,
                entry: 0,
                params: [k, n, x_stride, 0, 0, 0, 0, 0],
                buffers: vec![act(x), whole(res.q8)],
                groups: fold(u64::from(n) * u64::from(k / 32), u64::from(WG)),
                weight_bytes: 0,
                normed_x: false,
            }
        };
        // An add_rms_norm dispatch over `rows` rows: a (as `modes` says) plus b into sum, normed
        // by `weight` into out (and its 8-bit copy for rows of `q8`). Bindings a mode does not
        // use are never read: the norm weight fills them.
        let add_rms_norm = |a: TensorId,
                            b: TensorId,
                            sum: TensorId,
                            out: TensorId,
                            (weight, eps): (WeightId, f32),
                            rows: u32,
                            q8: Option<u32>,
                            modes: AddNormModes| {
            let weight_of = |w: WeightId| whole(&res.weights[w].parts[0].buffer);
            let norm_weight = weight_of(weight);
            Pending {
                family: Family::AddRmsNorm(NormModes {
                    experts: modes.route.is_some(),
                    gather: modes.gather,
                    pre: modes.pre.is_some(),
                }),
                entry: 0,
                params: [
                    cols(out),
                    rows,
                    eps.to_bits(),
                    u32::from(q8.is_some()),
                    modes.route.map_or(0, |r| cols(r) / 2),
                    modes.pre.map_or(0.0, |(_, e)| e).to_bits(),
                    0,
                    0,
                ],
                buffers: vec![
                    norm_weight.clone(),
                    act(a),
                    act(b),
                    act(sum),
                    act(out),
                    whole(res.q8),
                    modes.route.map_or(norm_weight.clone(), act),
                    whole(res.step),
                    modes.pre.map_or(norm_weight, |(w, _)| weight_of(w)),
                ],
                groups: fold(u64::from(rows), 1),
                weight_bytes: 0,
                normed_x: false,
            }
        };
        // Ops (by index) an earlier dispatch already did: a glu after its matvec_glu, the
        // rope_store ops of the matmuls run as matvec_rope, the pick of the output rows and the
        // output norm after the add that does them.
        let mut done = HashSet::new();
        let rope_matmuls = rope_fusions(graph, res, rows, &mut done);
        // Two stand-ins per matvec_rope dispatch, bound in place of the outputs it does not
        // write (q, the K cache, the V cache): buffers no other dispatch binds, so where a
        // layer's q and k and its v projection are two dispatches (their weights' formats
        // differ), the second one binds nothing the pass used before read-write, wgpu puts no
        // barrier before it, and the GPU may run it beside the first.
        let stand_ins: HashMap<usize, [wgpu::Buffer; 2]> = rope_matmuls
            .keys()
            .map(|&at| {
                let stand_in = || {
                    gpu.device.create_buffer(&wgpu::BufferDescriptor {
                        label: Some("matvec_rope stand-in"),
                        size: 16,
                        usage: wgpu::BufferUsages::STORAGE,
                        mapped_at_creation: false,
                    })
                };
                (at, [stand_in(), stand_in()])
            })
            .collect();
        // The add_rms_norm op (by index) that sums the routed experts' outputs itself (moe_sum
        // skipped), with those outputs and the route.
        let mut fused_moe: Option<(usize, TensorId, TensorId)> = None;
        // The add_rms_norm op (by index) that norms its first input itself (the rms_norm before
        // it skipped), with that norm's input, weight and eps.
        let mut fused_pre: Option<(usize, TensorId, WeightId, f32)> = None;
        for (at, op) in graph.ops.iter().enumerate() {
            // An op done by an earlier dispatch wrote what that dispatch said it wrote.
            if done.contains(&at) {
                continue;
            }
            if q8_of.is_some_and(|(t, ..)| Graph::uses(op).1.contains(&t)) {
                q8_of = None;
            }
            match *op {
                Op::Embed { table, scale, out } => {
                    let w = &res.weights[table];
                    for part in &w.parts {
                        pending.push(Pending {
                            family: Family::GetRows(w.ty),
                            entry: 0,
                            params: [
                                w.cols as u32,
                                part.first_row as u32,
                                part.rows as u32,
                                wick_shaders::row_bytes(w.ty, w.cols) as u32,
                                rows,
                                cols(out),
                                scale.to_bits(),
                                0,
                            ],
                            buffers: vec![
                                whole(&part.buffer),
                                whole(res.step),
                                act(out),
                                whole(res.tokens),
                            ],
                            groups: (rows, 1),
                            weight_bytes: 0,
                            normed_x: false,
                        });
                    }
                }
                Op::RmsNorm {
                    x,
                    weight,
                    group,
                    eps,
                    out,
                } => {
                    if norm_into_add_norm(graph, at) {
                        fused_pre = Some((at + 1, x, weight, eps));
                        continue;
                    }
                    let groups = u64::from(rows_of(x)) * u64::from(cols(x)) / group;
                    let q8 = wanted(out).filter(|&k| u64::from(k) == group);
                    pending.push(Pending {
                        family: Family::RmsNorm,
                        entry: 0,
                        params: [
                            group as u32,
                            groups as u32,
                            eps.to_bits(),
                            u32::from(q8.is_some()),
                            0,
                            0,
                            0,
                            0,
                        ],
                        buffers: vec![
                            whole(&res.weights[weight].parts[0].buffer),
                            act(x),
                            act(out),
                            whole(res.q8),
                        ],
                        groups: fold(groups, 1),
                        weight_bytes: 0,
                        normed_x: false,
                    });
                    q8_of = q8.map(|k| (out, k, false));
                }
                Op::AddRmsNorm {
                    a,
                    b,
                    weight,
                    eps,
                    sum,
                    out,
                } => {
                    let q8 = wanted(out).filter(|&k| k == cols(a));
                    let mut modes = AddNormModes::default();
                    let mut a_in = a;
                    if let Some((i, y, route)) = fused_moe
                        && i == at
                    {
                        (a_in, modes.route) = (y, Some(route));
                    }
                    if let Some((i, x, w, e)) = fused_pre
                        && i == at
                    {
                        (a_in, modes.pre) = (x, Some((w, e)));
                    }
                    pending.push(add_rms_norm(
                        a_in,
                        b,
                        sum,
                        out,
                        (weight, eps),
                        rows_of(a),
                        q8,
                        modes,
                    ));
                    q8_of = q8.map(|k| (out, k, false));
                }
                Op::MatMul { w, x, out } => {
                    let w = &res.weights[w];
                    let r = rows_of(x);
                    let q8 = r <= MATVEC_MAX_ROWS && matvec_takes_q8(w.ty);
                    if q8 && q8_of.map(|(t, k, _)| (t, k)) != Some((x, w.cols as u32)) {
                        q8_of = Some((x, w.cols as u32, false));
                        pending.push(quantize(x, w.cols as u32));
                    }
                    let normed_x = q8 && q8_of.is_some_and(|(.., normed)| normed);
                    let x_in = match (q8, normed_x) {
                        (false, _) => act(x),
                        (true, false) => whole(res.q8),
                        (true, true) => whole(res.q8_normed),
                    };
                    // A matvec reading x normed scales its own sums only.
                    if let Some(n) = add_norm_after(graph, at, res, r).filter(|_| !normed_x) {
                        let part = &w.parts[0];
                        let family = Family::MatvecAddNorm(w.ty);
                        pending.push(Pending {
                            family,
                            entry: 0,
                            params: [
                                w.cols as u32,
                                part.rows as u32,
                                wick_shaders::row_bytes(w.ty, w.cols) as u32,
                                r,
                                cols(x),
                                stride(n.sum),
                                stride(n.residual),
                                n.eps.to_bits(),
                            ],
                            buffers: vec![
                                whole(&part.buffer),
                                x_in,
                                act(n.sum),
                                act(n.residual),
                                whole(&res.weights[n.weight].parts[0].buffer),
                                whole(res.q8_normed),
                                whole(res.norm_parts),
                            ],
                            groups: fold(part.rows, u64::from(family.matvec_rows())),
                            weight_bytes: part.buffer.size(),
                            normed_x: false,
                        });
                        done.insert(at + 1);
                        q8_of = Some((n.out, cols(n.out), true));
                        continue;
                    }
                    if let Some(f) = rope_matmuls.get(&at) {
                        let part = &w.parts[0];
                        let (mscale, freqs) = rope_table(res, f.params);
                        let rows = part.rows as u32;
                        let (kc, vc) = &res.kv[f.layer];
                        // q, the K cache and the V cache, or a stand-in for each it does not
                        // write (it writes at least one).
                        let mut spare = stand_ins[&at].iter();
                        let [y, kc, vc] = [
                            (f.q_end > 0).then(|| act(out)),
                            (f.k_end > f.q_end).then(|| whole(kc)),
                            (rows > f.k_end).then(|| whole(vc)),
                        ]
                        .map(|b| b.unwrap_or_else(|| whole(spare.next().expect("two stand-ins"))));
                        pending.push(Pending {
                            family: Family::MatvecRope(w.ty),
                            entry: 0,
                            params: [
                                w.cols as u32,
                                part.rows as u32,
                                wick_shaders::row_bytes(w.ty, w.cols) as u32,
                                r,
                                f.q_end | f.k_end << 16,
                                f.params.head_dim | f.params.n_rot << 16,
                                mscale.to_bits(),
                                res.ctx,
                            ],
                            buffers: vec![
                                whole(&part.buffer),
                                x_in.clone(),
                                y,
                                whole(res.step),
                                whole(freqs),
                                kc,
                                vc,
                            ],
                            groups: fold(
                                part.rows,
                                u64::from(Family::MatvecRope(w.ty).matvec_rows()),
                            ),
                            weight_bytes: part.buffer.size(),
                            normed_x,
                        });
                        continue;
                    }
                    if let Some((kind, y)) =
                        glu_after(graph, at, res, rows_of(x)).filter(|&(_, y)| wanted(y).is_none())
                    {
                        let part = &w.parts[0];
                        pending.push(Pending {
                            family: Family::MatvecGlu(w.ty),
                            entry: 0,
                            params: [
                                w.cols as u32,
                                part.rows as u32,
                                wick_shaders::row_bytes(w.ty, w.cols) as u32,
                                glu_code(kind),
                                r,
                                cols(x),
                                stride(y),
                                0,
                            ],
                            buffers: vec![whole(&part.buffer), x_in.clone(), act(y)],
                            groups: fold(
                                part.rows,
                                u64::from(Family::MatvecGlu(w.ty).matvec_rows()),
                            ),
                            weight_bytes: part.buffer.size(),
                            normed_x,
                        });
                        done.insert(at + 1);
                        continue;
                    }
                    for part in &w.parts {
                        let (family, groups) = if r <= MATVEC_MAX_ROWS {
                            let family = matvec_family(w.ty, part.rows);
                            (family, fold(part.rows, u64::from(family.matvec_rows())))
                        } else {
                            let family = match gpu.caps.coop {
                                Some(size) => Family::MatmulCoop(w.ty, size),
                                None => Family::Matmul(w.ty),
                            };
                            let (features, rows) = family.matmul_tile().expect("a matmul");
                            let groups = (
                                part.rows.div_ceil(u64::from(features)) as u32,
                                r.div_ceil(rows),
                            );
                            (family, groups)
                        };
                        pending.push(Pending {
                            family,
                            entry: 0,
                            params: [
                                w.cols as u32,
                                part.rows as u32,
                                wick_shaders::row_bytes(w.ty, w.cols) as u32,
                                part.first_row as u32,
                                r,
                                cols(x),
                                cols(out),
                                0,
                            ],
                            buffers: vec![whole(&part.buffer), x_in.clone(), act(out)],
                            groups,
                            weight_bytes: part.buffer.size(),
                            normed_x,
                        });
                    }
                }
                Op::AddBias { x, bias, out } => {
                    let n = rows_of(x) * cols(x);
                    pending.push(Pending {
                        family: Family::Add,
                        entry: 0,
                        params: [n, cols(x), 0, 0, 0, 0, 0, 0],
                        buffers: vec![act(x), whole(&res.weights[bias].parts[0].buffer), act(out)],
                        groups: fold(u64::from(n), u64::from(WG)),
                        weight_bytes: 0,
                        normed_x: false,
                    });
                }
                Op::Add { a, b, out } => {
                    if let Some((picked, weight, eps, y)) = gathered_norm(graph, at) {
                        let q8 = wanted(y).filter(|&k| k == cols(a));
                        let modes = AddNormModes {
                            gather: true,
                            ..AddNormModes::default()
                        };
                        pending.push(add_rms_norm(
                            a,
                            b,
                            picked,
                            y,
                            (weight, eps),
                            outputs,
                            q8,
                            modes,
                        ));
                        q8_of = q8.map(|k| (y, k, false));
                        done.extend([at + 1, at + 2]);
                        continue;
                    }
                    let n = rows_of(a) * cols(a);
                    pending.push(Pending {
                        family: Family::Add,
                        entry: 0,
                        params: [n, n, 0, 0, 0, 0, 0, 0],
                        buffers: vec![act(a), act(b), act(out)],
                        groups: fold(u64::from(n), u64::from(WG)),
                        weight_bytes: 0,
                        normed_x: false,
                    });
                }
                Op::RopeStore {
                    layer,
                    q,
                    k,
                    v,
                    params: p,
                } => {
                    let n_kv = graph.kv[layer].n_kv_heads;
                    // A thread per pair of q and per cache word (two dims) of k and v.
                    let per_row = p.n_heads * (p.n_rot / 2) + n_kv * (p.head_dim / 2);
                    let (mscale, freqs) = rope_table(res, p);
                    let (kc, vc) = &res.kv[layer];
                    pending.push(Pending {
                        family: Family::RopeStore,
                        entry: 0,
                        params: [
                            p.n_heads,
                            n_kv,
                            p.head_dim | p.n_rot << 16 | u32::from(p.neox) << 31,
                            mscale.to_bits(),
                            res.ctx,
                            stride(q),
                            stride(k),
                            stride(v),
                        ],
                        buffers: vec![
                            whole(res.step),
                            whole(freqs),
                            act(q),
                            act(k),
                            act(v),
                            whole(kc),
                            whole(vc),
                        ],
                        groups: fold(u64::from(rows_of(q)) * u64::from(per_row), u64::from(WG)),
                        weight_bytes: 0,
                        normed_x: false,
                    });
                }
                Op::NormRopeStore {
                    layer,
                    q,
                    k,
                    v,
                    q_norm,
                    k_norm,
                    eps,
                    params: p,
                } => {
                    let n_kv = graph.kv[layer].n_kv_heads;
                    let (mscale, freqs) = rope_table(res, p);
                    let (kc, vc) = &res.kv[layer];
                    let weight = |w: WeightId| whole(&res.weights[w].parts[0].buffer);
                    pending.push(Pending {
                        family: Family::NormRopeStore,
                        entry: 0,
                        params: [
                            p.n_heads | n_kv << 16,
                            p.head_dim | p.n_rot << 16 | u32::from(p.neox) << 31,
                            mscale.to_bits(),
                            eps.to_bits(),
                            res.ctx,
                            stride(q),
                            stride(k),
                            stride(v),
                        ],
                        buffers: vec![
                            whole(res.step),
                            whole(freqs),
                            act(q),
                            act(k),
                            act(v),
                            whole(kc),
                            whole(vc),
                            weight(q_norm),
                            weight(k_norm),
                        ],
                        // A workgroup per head of q and of k in each row.
                        groups: fold(u64::from(rows_of(q)) * u64::from(p.n_heads + n_kv), 1),
                        weight_bytes: 0,
                        normed_x: false,
                    });
                }
                Op::Attention { q, params: p, out } => {
                    let (kc, vc) = &res.kv[p.layer];
                    let AttentionLaunch {
                        family,
                        mut groups,
                        splits,
                    } = attention_kernel(&gpu.caps, rows_of(q), &p, res.ctx);
                    let q8 = wanted(out).filter(|&k| k == cols(out) && p.head_dim % 32 == 0);
                    let decode = matches!(family, Family::Attention(_));
                    // Shallow decode steps (one split per KV head) and cooperative prefill
                    // chunks in one split write the output themselves, with no merge after.
                    let direct = p.sinks.is_none()
                        && stride(out) == p.n_heads * p.head_dim
                        && if decode {
                            shallow
                        } else {
                            matches!(family, Family::AttentionPrefillCoop(_))
                                && splits == 1
                                && q8.is_none()
                        };
                    let mut buffers = vec![
                        whole(res.step),
                        act(q),
                        whole(kc),
                        whole(vc),
                        // The prefill kernels write their output where the partials would go.
                        if direct && !decode {
                            act(out)
                        } else {
                            whole(res.attn_partials)
                        },
                    ];
                    if decode {
                        buffers.extend([act(out), whole(res.q8)]);
                    }
                    let split_word = match (direct, decode) {
                        (true, true) => {
                            groups.0 = attention_groups(p.n_heads, p.n_kv_heads, 1);
                            1 | ATTENTION_DIRECT | q8.map_or(0, |_| ATTENTION_DIRECT_Q8)
                        }
                        (true, false) => 1 | ATTENTION_DIRECT,
                        (false, _) => splits,
                    };
                    pending.push(Pending {
                        family,
                        entry: 0,
                        params: [
                            p.n_heads,
                            p.n_kv_heads,
                            p.head_dim,
                            res.ctx,
                            p.window,
                            p.scale.to_bits(),
                            stride(q),
                            split_word,
                        ],
                        buffers,
                        groups,
                        weight_bytes: 0,
                        normed_x: false,
                    });
                    q8_of = q8.map(|k| (out, k, false));
                    if direct {
                        continue;
                    }
                    let dims = attention_combine_dims(rows_of(q), p.head_dim);
                    pending.push(Pending {
                        family: Family::AttentionCombine,
                        entry: 0,
                        params: [
                            p.n_heads,
                            p.head_dim,
                            splits,
                            cols(out),
                            u32::from(p.sinks.is_some()),
                            u32::from(q8.is_some()),
                            dims,
                            0,
                        ],
                        // Without sinks the binding is unused; any buffer fills it.
                        buffers: vec![
                            whole(res.step),
                            whole(res.attn_partials),
                            whole(
                                p.sinks
                                    .map_or(res.step, |w| &res.weights[w].parts[0].buffer),
                            ),
                            act(out),
                            whole(res.q8),
                        ],
                        groups: (
                            attention_combine_groups(p.n_heads, p.head_dim, dims),
                            rows_of(q),
                        ),
                        weight_bytes: 0,
                        normed_x: false,
                    });
                }
                Op::Glu {
                    kind,
                    gate,
                    up,
                    out,
                } => {
                    let c = cols(out);
                    let n = rows_of(out) * c;
                    let q8 = wanted(out).filter(|&k| c % k == 0);
                    pending.push(Pending {
                        family: Family::Glu,
                        entry: glu_code(kind) as usize,
                        params: [n, c, stride(gate), stride(up), q8.unwrap_or(0), 0, 0, 0],
                        buffers: vec![act(gate), act(up), act(out), whole(res.q8)],
                        groups: glu_groups(rows_of(out), c, q8.is_some()),
                        weight_bytes: 0,
                        normed_x: false,
                    });
                    q8_of = q8.map(|k| (out, k, false));
                }
                Op::Route {
                    logits,
                    k,
                    norm,
                    out,
                } => {
                    let r = rows_of(logits);
                    pending.push(Pending {
                        family: Family::Route,
                        entry: 0,
                        params: [cols(logits), k, u32::from(norm), r, 0, 0, 0, 0],
                        buffers: vec![act(logits), act(out)],
                        groups: fold(u64::from(r), 1),
                        weight_bytes: 0,
                        normed_x: false,
                    });
                    if r > MATVEC_MAX_ROWS {
                        pending.push(Pending {
                            family: Family::MoeGroup,
                            entry: 0,
                            params: [k, r, 0, 0, 0, 0, 0, 0],
                            buffers: vec![act(out), whole(res.moe_groups)],
                            groups: (cols(logits), 1),
                            weight_bytes: 0,
                            normed_x: false,
                        });
                    }
                }
                Op::ExpertMatMul {
                    w,
                    bias,
                    x,
                    route,
                    out,
                } => {
                    // Features of each matrix the weight stacks per expert (gate and up).
                    let split =
                        (graph.weights[w].rows / graph.weights[w].names.len() as u64) as u32;
                    let w = &res.weights[w];
                    let (r, k) = (rows_of(x), cols(route) / 2);
                    let q8 = r <= MATVEC_MAX_ROWS && matvec_takes_q8(w.ty);
                    if q8 && q8_of.map(|(t, k, _)| (t, k)) != Some((x, w.cols as u32)) {
                        q8_of = Some((x, w.cols as u32, false));
                        pending.push(quantize(x, w.cols as u32));
                    }
                    for part in &w.parts {
                        let experts = part.rows / w.rows;
                        let first_expert = (part.first_row / w.rows) as u32;
                        let row_bytes = wick_shaders::row_bytes(w.ty, w.cols) as u32;
                        pending.push(if r <= MATVEC_MAX_ROWS {
                            // At most one matrix per routed pair is read.
                            let read = experts.min(u64::from(r * k));
                            Pending {
                                family: Family::MatvecId(w.ty),
                                entry: 0,
                                params: [
                                    w.cols as u32,
                                    w.rows as u32,
                                    row_bytes,
                                    // Both below MAX_EXPERTS (512).
                                    first_expert | (experts as u32) << 16,
                                    1,
                                    cols(x),
                                    k,
                                    split,
                                ],
                                buffers: vec![
                                    whole(&part.buffer),
                                    if q8 { whole(res.q8) } else { act(x) },
                                    act(route),
                                    act(out),
                                ],
                                groups: (
                                    w.rows
                                        .div_ceil(u64::from(Family::MatvecId(w.ty).matvec_rows()))
                                        as u32,
                                    r * k,
                                ),
                                weight_bytes: part.buffer.size() / experts * read,
                                normed_x: false,
                            }
                        } else {
                            let family = match gpu.caps.coop {
                                Some(size) => Family::MatmulIdCoop(w.ty, size),
                                None => Family::MatmulId(w.ty),
                            };
                            let (features, tile_rows) = family.matmul_tile().expect("a matmul");
                            Pending {
                                family,
                                entry: 0,
                                params: [
                                    w.cols as u32,
                                    w.rows as u32,
                                    row_bytes,
                                    k,
                                    cols(x),
                                    first_expert,
                                    split,
                                    r,
                                ],
                                buffers: vec![
                                    whole(&part.buffer),
                                    act(x),
                                    whole(res.moe_groups),
                                    act(out),
                                ],
                                groups: (
                                    w.rows.div_ceil(u64::from(features)) as u32,
                                    experts as u32 * r.div_ceil(tile_rows),
                                ),
                                weight_bytes: part.buffer.size(),
                                normed_x: false,
                            }
                        });
                    }
                    if let Some(b) = bias {
                        let n = r * cols(out);
                        pending.push(Pending {
                            family: Family::ExpertBias,
                            entry: 0,
                            params: [w.rows as u32, k, n, 0, 0, 0, 0, 0],
                            buffers: vec![
                                act(route),
                                whole(&res.weights[b].parts[0].buffer),
                                act(out),
                            ],
                            groups: fold(u64::from(n), u64::from(WG)),
                            weight_bytes: 0,
                            normed_x: false,
                        });
                    }
                }
                Op::MoeSum { y, route, out } => {
                    if moe_sum_into_norm(graph, at) {
                        fused_moe = Some((at + 1, y, route));
                        continue;
                    }
                    let n = rows_of(out) * cols(out);
                    pending.push(Pending {
                        family: Family::MoeSum,
                        entry: 0,
                        params: [cols(out), cols(route) / 2, n, 0, 0, 0, 0, 0],
                        buffers: vec![act(y), act(route), act(out)],
                        groups: fold(u64::from(n), u64::from(WG)),
                        weight_bytes: 0,
                        normed_x: false,
                    });
                }
                Op::SigmoidMul { x, gate, out } => {
                    let n = rows_of(x) * cols(x);
                    pending.push(Pending {
                        family: Family::SigmoidMul,
                        entry: 0,
                        params: [cols(x), n, 0, 0, 0, 0, 0, 0],
                        buffers: vec![act(x), act(gate), act(out)],
                        groups: fold(u64::from(n), u64::from(WG)),
                        weight_bytes: 0,
                        normed_x: false,
                    });
                }
                Op::GatherOutputs { x, out } => {
                    let n = u64::from(outputs) * u64::from(cols(x));
                    pending.push(Pending {
                        family: Family::GatherRows,
                        entry: 0,
                        params: [cols(x), outputs, 0, 0, 0, 0, 0, 0],
                        buffers: vec![whole(res.step), act(x), act(out)],
                        groups: fold(n, u64::from(WG)),
                        weight_bytes: 0,
                        normed_x: false,
                    });
                }
            }
        }
        if greedy {
            let n = cols(graph.logits);
            let chunks = argmax_chunks(n);
            for (entry, groups) in [(0, (chunks, outputs)), (1, (1, outputs))] {
                pending.push(Pending {
                    family: Family::Argmax,
                    entry,
                    params: [n, stride(graph.logits), chunks, 0, 0, 0, 0, 0],
                    buffers: vec![
                        act(graph.logits),
                        whole(res.argmax_partials),
                        whole(res.tokens),
                    ],
                    groups,
                    weight_bytes: 0,
                    normed_x: false,
                });
            }
        }
        let mut plan = Self::finish(gpu, pipelines, pending, res.norm_parts);
        plan.buffers.extend(stand_ins.into_values().flatten());
        plan.buffers.extend(
            own.into_values()
                .filter_map(|(_, buffer)| buffer.into_inner()),
        );
        plan
    }

    /// Writes every dispatch's parameters into one uniform buffer and builds the bind groups
    /// (binding `norm_parts` last where a dispatch reads x normed).
    fn finish(
        gpu: &Gpu,
        pipelines: &mut Pipelines,
        pending: Vec<Pending>,
        norm_parts: &wgpu::Buffer,
    ) -> Plan {
        let slot = PARAMS_BYTES.max(gpu.caps.uniform_align);
        let mut arena = vec![0u8; (slot as usize) * pending.len().max(1)];
        for (i, p) in pending.iter().enumerate() {
            let at = i * slot as usize;
            arena[at..at + PARAMS_BYTES as usize].copy_from_slice(bytemuck::cast_slice(&p.params));
        }
        let params = wgpu::util::DeviceExt::create_buffer_init(
            &gpu.device,
            &wgpu::util::BufferInitDescriptor {
                label: Some("plan params"),
                contents: &arena,
                usage: wgpu::BufferUsages::UNIFORM,
            },
        );
        let mut uses = Vec::with_capacity(pending.len());
        let mut dispatches: Vec<Dispatch> =
            pending
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    let kernel = pipelines.get(gpu, p.family, p.normed_x);
                    let mut entries = vec![wgpu::BindGroupEntry {
                        binding: 0,
                        resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                            buffer: &params,
                            offset: i as u64 * slot,
                            size: std::num::NonZeroU64::new(PARAMS_BYTES),
                        }),
                    }];
                    let norm = p.normed_x.then(|| whole(norm_parts));
                    entries.extend(p.buffers.iter().cloned().chain(norm).enumerate().map(
                        |(j, b)| wgpu::BindGroupEntry {
                            binding: j as u32 + 1,
                            resource: wgpu::BindingResource::Buffer(b),
                        },
                    ));
                    let bind_group = gpu.device.create_bind_group(&wgpu::BindGroupDescriptor {
                        label: Some(p.family.name()),
                        layout: &kernel.layout,
                        entries: &entries,
                    });
                    uses.push(
                        entries
                            .iter()
                            .zip(&kernel.bindings)
                            .map(|(e, &kind)| match &e.resource {
                                wgpu::BindingResource::Buffer(b) => (b.buffer.clone(), kind),
                                _ => unreachable!("wick binds only buffers"),
                            })
                            .collect(),
                    );
                    Dispatch {
                        pipeline: kernel.pipelines[p.entry].clone(),
                        bind_group,
                        groups: p.groups,
                        label: dispatch_label(p, gpu.caps.subgroups),
                        weight_bytes: p.weight_bytes,
                        barrier: false,
                    }
                })
                .collect();
        for (d, barrier) in dispatches.iter_mut().zip(barriers(&uses)) {
            d.barrier = barrier;
        }
        Plan {
            dispatches,
            buffers: vec![params],
        }
    }

    /// Records every dispatch in one compute pass; with `timestamps`, writes a GPU timestamp
    /// before and after dispatch i at queries 2i and 2i + 1.
    pub fn encode(&self, encoder: &mut wgpu::CommandEncoder, timestamps: Option<&wgpu::QuerySet>) {
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("step"),
            timestamp_writes: None,
        });
        for (i, d) in self.dispatches.iter().enumerate() {
            if let Some(q) = timestamps {
                pass.write_timestamp(q, 2 * i as u32);
            }
            pass.set_pipeline(&d.pipeline);
            pass.set_bind_group(0, &d.bind_group, &[]);
            pass.dispatch_workgroups(d.groups.0, d.groups.1, 1);
            if let Some(q) = timestamps {
                pass.write_timestamp(q, 2 * i as u32 + 1);
            }
        }
    }

    /// Records the plan's dispatches in step order, each in a compute pass of its own whose
    /// start and end write timestamps 2i and 2i + 1 of `queries` (dispatch i).
    pub fn encode_passes(&self, encoder: &mut wgpu::CommandEncoder, queries: &wgpu::QuerySet) {
        for (i, d) in self.dispatches.iter().enumerate() {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("alone"),
                timestamp_writes: Some(wgpu::ComputePassTimestampWrites {
                    query_set: queries,
                    beginning_of_pass_write_index: Some(2 * i as u32),
                    end_of_pass_write_index: Some(2 * i as u32 + 1),
                }),
            });
            pass.set_pipeline(&d.pipeline);
            pass.set_bind_group(0, &d.bind_group, &[]);
            pass.dispatch_workgroups(d.groups.0, d.groups.1, 1);
        }
    }

    /// Each dispatch's kernel variant and the weight bytes it reads.
    pub fn labels(&self) -> impl Iterator<Item = (&str, u64)> {
        self.dispatches
            .iter()
            .map(|d| (d.label.as_str(), d.weight_bytes))
    }

    pub fn len(&self) -> usize {
        self.dispatches.len()
    }

    /// Bytes of the buffers the plan made.
    pub fn bytes(&self) -> u64 {
        self.buffers.iter().map(wgpu::Buffer::size).sum()
    }

    pub fn count(&self) -> DispatchCount {
        DispatchCount {
            dispatches: self.dispatches.len(),
            barriers: self.dispatches.iter().filter(|d| d.barrier).count(),
        }
    }
}

/// Whether wgpu records a pipeline barrier before each dispatch of one compute pass, each
/// given as the buffers it binds. wgpu-core tracks each buffer's use through the pass and
/// skips a buffer's barrier only where it keeps the same read-only use; a buffer's first use in
/// the pass takes its barrier before the pass. On Vulkan a barrier waits for every dispatch
/// before it, and a dispatch without one may run beside them (wgpu's Metal encoders run
/// dispatches in order all the same).
#[expect(
    clippy::mutable_key_type,
    reason = "a wgpu::Buffer hashes by its id, which never changes"
)]
fn barriers(dispatches: &[Vec<(wgpu::Buffer, Binding)>]) -> Vec<bool> {
    let bit = |kind| match kind {
        Binding::Uniform => 1u8,
        Binding::Read => 2,
        Binding::ReadWrite => 4,
    };
    let mut last: HashMap<&wgpu::Buffer, u8> = HashMap::new();
    dispatches
        .iter()
        .map(|uses| {
            let mut now: HashMap<&wgpu::Buffer, u8> = HashMap::new();
            for (buffer, kind) in uses {
                *now.entry(buffer).or_default() |= bit(*kind);
            }
            let barrier = now.iter().any(|(buffer, &u)| {
                last.get(buffer)
                    .is_some_and(|&l| l != u || u & bit(Binding::ReadWrite) != 0)
            });
            last.extend(now);
            barrier
        })
        .collect()
}
