//! A model as a graph of operations over activation tensors, built by an architecture and
//! compiled by a backend into a plan. Shapes are symbolic in the batch: every activation has
//! either one row per batch token or one row per wanted output, so one graph serves every shape
//! bucket, and a decode step of several sequences is the same graph as a prefill chunk.

/// An activation tensor: f32, row-major.
pub type TensorId = usize;
/// A weight: a GGUF tensor, referenced by index into [`Graph::weights`].
pub type WeightId = usize;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rows {
    /// One row per token of the batch.
    Batch,
    /// One row per sequence whose next-token logits are wanted.
    Outputs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TensorDesc {
    pub rows: Rows,
    pub cols: u64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct WeightDesc {
    /// The GGUF tensor name.
    pub name: String,
    /// Rows (output features) and columns (input features), of each expert's matrix when
    /// `experts` > 1 (the matrices are stored one after another).
    pub rows: u64,
    pub cols: u64,
    /// Experts stacked in the tensor; 1 for a plain weight.
    pub experts: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Glu {
    /// gelu(gate) * up (tanh approximation).
    Gelu,
    /// silu(gate) * up.
    Silu,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RopeParams {
    pub n_heads: u32,
    pub head_dim: u32,
    pub n_rot: u32,
    pub neox: bool,
    pub freq_base: f32,
    pub freq_scale: f32,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AttentionParams {
    pub layer: usize,
    pub n_heads: u32,
    pub n_kv_heads: u32,
    pub head_dim: u32,
    /// Multiplies q before the dot products.
    pub scale: f32,
    /// Sliding window in positions; 0 means the whole context.
    pub window: u32,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    /// out = scale * table[token] for each batch row.
    Embed {
        table: WeightId,
        scale: f32,
        out: TensorId,
    },
    /// RMS normalisation over groups of `group` columns, times a weight of that length.
    RmsNorm {
        x: TensorId,
        weight: WeightId,
        group: u64,
        eps: f32,
        out: TensorId,
    },
    /// out = x W^T, W quantized as stored.
    MatMul {
        w: WeightId,
        x: TensorId,
        out: TensorId,
    },
    /// out = x + bias, the bias repeated on every row.
    AddBias {
        x: TensorId,
        bias: WeightId,
        out: TensorId,
    },
    /// In-place rotary embedding at each row's position.
    Rope { x: TensorId, params: RopeParams },
    /// Stores k and v rows in this layer's KV cache at each row's (sequence, position).
    KvStore {
        layer: usize,
        k: TensorId,
        v: TensorId,
    },
    /// Causal attention of q over this layer's KV cache.
    Attention {
        q: TensorId,
        params: AttentionParams,
        out: TensorId,
    },
    Glu {
        kind: Glu,
        gate: TensorId,
        up: TensorId,
        out: TensorId,
    },
    Add {
        a: TensorId,
        b: TensorId,
        out: TensorId,
    },
    /// Picks the batch rows whose logits are wanted.
    GatherOutputs { x: TensorId, out: TensorId },
    /// Mixture-of-experts routing of each row from its router logits (one per expert): softmax,
    /// the `k` most probable experts, their probabilities as weights (renormalised to sum 1 when
    /// `norm`). `out` holds `k` expert ids (u32 bits) then the `k` weights.
    Route {
        logits: TensorId,
        k: u32,
        norm: bool,
        out: TensorId,
    },
    /// out[r, j] = x[r] W[e]^T for each of row r's `k` routed experts e = route[r, j]; `x` has
    /// one input per row (shared by the k slots) or one per slot (`k` times the columns).
    ExpertMatMul {
        w: WeightId,
        x: TensorId,
        route: TensorId,
        out: TensorId,
    },
    /// out[r] = sum over j of route weight[r, j] * y[r, j]: the experts' outputs combined.
    MoeSum {
        y: TensorId,
        route: TensorId,
        out: TensorId,
    },
    /// out[r] = x[r] * sigmoid(gate[r]), `gate` having one column.
    SigmoidMul {
        x: TensorId,
        gate: TensorId,
        out: TensorId,
    },
}

/// Shape of one layer's KV cache per sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KvShape {
    pub n_kv_heads: u32,
    pub head_dim: u32,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Graph {
    pub tensors: Vec<TensorDesc>,
    pub weights: Vec<WeightDesc>,
    pub ops: Vec<Op>,
    /// One entry per layer.
    pub kv: Vec<KvShape>,
    /// The logits tensor (Outputs rows, vocabulary columns).
    pub logits: TensorId,
}

impl Graph {
    pub fn tensor(&mut self, rows: Rows, cols: u64) -> TensorId {
        self.tensors.push(TensorDesc { rows, cols });
        self.tensors.len() - 1
    }

    /// The id of a weight of `experts` stacked `rows` x `cols` matrices, adding it on first use
    /// so a tied table is uploaded once.
    pub fn weight(&mut self, name: &str, experts: u64, rows: u64, cols: u64) -> WeightId {
        if let Some(i) = self.weights.iter().position(|w| w.name == name) {
            return i;
        }
        self.weights.push(WeightDesc {
            name: name.to_string(),
            rows,
            cols,
            experts,
        });
        self.weights.len() - 1
    }

    /// Ops in order with the tensors each reads and writes, for lifetime analysis.
    pub fn uses(op: &Op) -> (Vec<TensorId>, Vec<TensorId>) {
        match *op {
            Op::Embed { out, .. } => (vec![], vec![out]),
            Op::RmsNorm { x, out, .. }
            | Op::MatMul { x, out, .. }
            | Op::AddBias { x, out, .. }
            | Op::GatherOutputs { x, out } => (vec![x], vec![out]),
            Op::Rope { x, .. } => (vec![x], vec![x]),
            Op::KvStore { k, v, .. } => (vec![k, v], vec![]),
            Op::Attention { q, out, .. } => (vec![q], vec![out]),
            Op::Glu { gate, up, out, .. } => (vec![gate, up], vec![out]),
            Op::Add { a, b, out } => (vec![a, b], vec![out]),
            Op::Route { logits, out, .. } => (vec![logits], vec![out]),
            Op::ExpertMatMul { x, route, out, .. } => (vec![x, route], vec![out]),
            Op::MoeSum { y, route, out } => (vec![y, route], vec![out]),
            Op::SigmoidMul { x, gate, out } => (vec![x, gate], vec![out]),
        }
    }
}
