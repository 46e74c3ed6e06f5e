//! wick's WGSL kernels. Each kernel family is one file under `wgsl/`; a [`Variant`] picks the
//! family, the weight format it decodes and the optional features it uses, and [`Variant::source`]
//! assembles the module from the family file and the shared pieces it needs. Block sizes come from
//! [`GgmlType`], never retyped in WGSL. The decode matvec of the formats that dominate real models
//! (q4_K, q5_K, q6_K, q8_0, q5_0 (which Gemma 3 270M files use), and f32 for MoE routers) is a kernel of its own per format
//! (`wgsl/matvec/`), which loads whole words of its blocks; the others use the generic
//! `matvec.wgsl` over the shared decoders. The q4_K and q6_K kernels take x quantized to 8 bits
//! (`quantize_q8.wgsl`, or the kernel that made x) and use integer dot products. Those kernels
//! also run over a feed-forward's stacked gate and up rows and write the gated activation
//! (matvec_glu), where the matvec after it takes its input as f32, and over a layer's q, k and v
//! rows, rotating them and storing k and v in the KV cache (matvec_rope). A matvec whose output
//! joins the residual stream can do the add and the RMS norm after it (matvec_add_norm) where
//! only q4_K and q6_K matvecs read that norm: it leaves out the norm's 1 / rms, which they apply
//! to their sums (their normed-x variants), so no norm dispatch runs between them.

use wick_core::quant::GgmlType;

/// Workgroup size of every kernel (`WG` in the WGSL).
pub const WG: u32 = 64;
/// Threads that share a weight row pair in a format's own matvec kernel (see [`Family::lanes`]).
pub const LANES: u32 = 32;
/// Fewest weight rows that take [`Family::MatvecTall`].
pub const MATVEC_TALL_ROWS: u64 = 16384;
/// Threads per row pair of [`Family::MatvecTall`].
pub const MATVEC_TALL_LANES: u32 = 16;
/// Most batch rows the matvec kernel handles; larger batches use matmul.
pub const MATVEC_MAX_ROWS: u32 = 4;
/// Rows of x one matmul workgroup covers.
pub const MATMUL_TILE_ROWS: u32 = 32;
/// Largest head dimension the attention kernels handle (decode attention also needs a multiple
/// of 16).
pub const ATTENTION_MAX_HEAD_DIM: u32 = 256;
/// Batch rows one prefill attention workgroup covers (two vec4 lanes in the WGSL).
pub const ATTENTION_PREFILL_ROWS: u32 = 8;
/// Fewest workgroups that share one row's attention in decode steps (split-K).
pub const ATTENTION_DECODE_SPLITS: u32 = 64;
/// Most decode splits: `attention_combine`'s MAX_SPLITS.
pub const ATTENTION_DECODE_MAX_SPLITS: u32 = 256;
/// Workgroups a decode row's attention should have: models with few KV heads get more splits
/// (one KV head and 64 splits left most of an H200 idle at depth; llama8b and qwen3moe12, 8
/// workgroups per split, decoded 3% and 5% faster at depth 16384 in 128 splits than in 64).
pub const ATTENTION_DECODE_GROUPS: u32 = 1024;
/// Decode steps whose rows see at most this many positions run attention in one split per KV
/// head that writes its normalised output itself, with no `attention_combine` (llama8b decoded
/// 6% faster over positions 0..128 so on the H200, 25% slower over 512..640).
pub const ATTENTION_SHALLOW_POSITIONS: u32 = 128;
/// Bits of decode attention's split count: one split writing its output (shallow steps) and,
/// with it, the output's 8-bit copy.
pub const ATTENTION_DIRECT: u32 = 1 << 16;
pub const ATTENTION_DIRECT_Q8: u32 = 1 << 17;
/// Threads that share a position's score in decode attention (`LANES` in its WGSL).
pub const ATTENTION_KEY_LANES: u32 = 4;
/// Query heads one decode attention workgroup takes (the lanes of a vec4).
pub const ATTENTION_HEADS_PER_GROUP: u32 = 4;

/// Workgroups of a decode attention dispatch per row: one per split, KV head and chunk of up to
/// [`ATTENTION_HEADS_PER_GROUP`] of the query heads that share it.
pub fn attention_groups(n_heads: u32, n_kv_heads: u32, splits: u32) -> u32 {
    let chunks = (n_heads / n_kv_heads).div_ceil(ATTENTION_HEADS_PER_GROUP);
    n_kv_heads * chunks * splits
}
/// Logits one `argmax` workgroup searches (one load per thread of 256).
pub const ARGMAX_CHUNK: u32 = 256;

/// Partial `argmax` workgroups per row of `n` logits.
pub fn argmax_chunks(n: u32) -> u32 {
    n.div_ceil(ARGMAX_CHUNK)
}

/// Dimensions of a head one `attention_combine` workgroup merges in a bucket of `rows`: in
/// decode buckets, whose heads have many splits, a block of the 8-bit copy; in prefill chunks
/// (few splits, many rows) the whole head.
pub fn attention_combine_dims(rows: u32, head_dim: u32) -> u32 {
    if rows <= MATVEC_MAX_ROWS {
        32
    } else {
        head_dim
    }
}

/// Workgroups of an `attention_combine` dispatch per row, for `dims` per workgroup.
pub fn attention_combine_groups(n_heads: u32, head_dim: u32, dims: u32) -> u32 {
    n_heads * head_dim.div_ceil(dims)
}
/// Head dims the attention kernels are compiled for as a constant (the common ones: others read
/// it from their parameters).
pub const ATTENTION_HEAD_DIMS: [u32; 3] = [64, 128, 256];

/// The head dim an attention kernel of `head_dim` is compiled for ([`Family::Attention`]).
pub fn attention_head_dim(head_dim: u32) -> Option<u32> {
    ATTENTION_HEAD_DIMS.contains(&head_dim).then_some(head_dim)
}

/// Batch rows of one [`Family::AttentionPrefillCoop`] workgroup, a multiple of its blocks of keys.
pub const ATTENTION_COOP_ROWS: u32 = 64;
/// Largest head dimension [`Family::AttentionPrefillCoop`] handles (its sums stay in registers).
pub const ATTENTION_COOP_MAX_HEAD_DIM: u32 = 128;
/// Most workgroups that share a tile of rows' attention in prefill chunks (all of them for
/// [`Family::AttentionPrefill`]).
pub const ATTENTION_PREFILL_SPLITS: u32 = 8;
/// Workgroups a [`Family::AttentionPrefillCoop`] dispatch should have: splits up to
/// [`ATTENTION_PREFILL_SPLITS`] where heads and tiles give fewer (llama8b's 512-token prompts,
/// 256 heads and tiles, ran 4% faster at depth 16384 on the H200 in 1 split than in 2).
pub const ATTENTION_COOP_GROUPS: u32 = 256;

/// Weight formats the GPU kernels decode.
pub const WEIGHT_FORMATS: [GgmlType; 16] = [
    GgmlType::F32,
    GgmlType::F16,
    GgmlType::BF16,
    GgmlType::Q8_0,
    GgmlType::Q4_0,
    GgmlType::Q4_1,
    GgmlType::Q5_0,
    GgmlType::Q5_1,
    GgmlType::Q4_K,
    GgmlType::Q5_K,
    GgmlType::Q6_K,
    GgmlType::Q2_K,
    GgmlType::Q3_K,
    GgmlType::IQ4_NL,
    GgmlType::IQ4_XS,
    GgmlType::MXFP4,
];

/// Side of the square cooperative matrices a kernel multiplies: 8 for Metal's simdgroup
/// matrices, 16 for Vulkan's (NVIDIA's tensor cores take f16 16x16x16).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CoopSize {
    Eight,
    Sixteen,
}

impl CoopSize {
    pub fn side(self) -> u32 {
        match self {
            CoopSize::Eight => 8,
            CoopSize::Sixteen => 16,
        }
    }

    /// The shared memory a workgroup of the kernels on matrices of this side may take: 48 KB
    /// (Vulkan on NVIDIA, where 16x16 runs) or 32 KB (Metal's threadgroup memory, for 8x8). The
    /// other kernels keep to WebGPU's default of 16 KB.
    pub fn workgroup_storage(self) -> u32 {
        match self {
            CoopSize::Eight => 32 << 10,
            CoopSize::Sixteen => 48 << 10,
        }
    }
}

/// What an add_rms_norm variant does besides sum = a + b and its norm, fixed when it compiles:
/// a branch on a parameter would stop the driver from keeping the row's loads in flight together.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct NormModes {
    /// a holds each row's routed experts' outputs, summed with the route's weights.
    pub experts: bool,
    /// Row g adds and norms the step's out_row of g.
    pub gather: bool,
    /// a is RMS-normed first, with a weight of its own (not with `experts`: a is one or the
    /// other).
    pub pre: bool,
}

impl NormModes {
    /// Every valid combination, for tests and ahead-of-time validation.
    pub fn all() -> impl Iterator<Item = NormModes> {
        (0..8u8)
            .map(|m| NormModes {
                experts: m & 1 != 0,
                gather: m & 2 != 0,
                pre: m & 4 != 0,
            })
            .filter(|m| !(m.experts && m.pre))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    /// Quantized matrix-vector product for decode batches (up to [`MATVEC_MAX_ROWS`] rows).
    Matvec(GgmlType),
    /// Matvec over a weight of at least [`MATVEC_TALL_ROWS`] rows ([`matvec_family`] picks it):
    /// [`MATVEC_TALL_LANES`] threads per row pair in workgroups of 128, so each workgroup takes
    /// 16 rows (q4_K only: the H200 ran llama8b's 28672x4096 gate and up in 25.9 us against 29.0
    /// with 32 lanes; on shorter weights so few workgroups lose).
    MatvecTall(GgmlType),
    /// Matvec over a feed-forward's stacked gate and up rows that writes act(gate) * up, the
    /// activation selected by its parameters (formats with a matvec kernel of their own).
    MatvecGlu(GgmlType),
    /// Matvec over a layer's q, k and v rows (or some of them) that rotates q and k (normal
    /// RoPE) and stores k and v in the KV cache, as rope_store would after it (formats with a
    /// matvec kernel of their own).
    MatvecRope(GgmlType),
    /// Matvec whose output is added to the residual stream and RMS-normed for the matvecs after
    /// it (add_rms_norm's work), all but the norm's 1 / rms, which those matvecs apply to their
    /// sums ([`Variant::normed_x`]): [`LANES`] threads per row pair in workgroups of 512, so
    /// each workgroup takes one 32-row block of the 8-bit copy (formats with a matvec kernel of
    /// their own, but f32; the H200 ran llama8b's decode at 278 tokens/s so, 256 with 16 lanes).
    MatvecAddNorm(GgmlType),
    /// Quantized matrix-matrix product for prefill chunks.
    Matmul(GgmlType),
    /// Matmul on cooperative matrices of the given side (f16 inputs, f32 sums), for adapters
    /// with EXPERIMENTAL_COOPERATIVE_MATRIX, SHADER_F16 and subgroups of 32.
    MatmulCoop(GgmlType, CoopSize),
    /// Matvec over each decode row's routed experts.
    MatvecId(GgmlType),
    /// x rows quantized to 8 bits for the matvec kernels that take them so
    /// ([`matvec_takes_q8`]).
    QuantizeQ8,
    /// Matmul over each expert's routed rows of a prefill chunk (after [`Family::MoeGroup`]).
    MatmulId(GgmlType),
    /// MatmulId on cooperative matrices of the given side (as [`Family::MatmulCoop`]).
    MatmulIdCoop(GgmlType, CoopSize),
    /// Mixture-of-experts routing: softmax and top-k of router logits.
    Route,
    /// A prefill chunk's routed rows grouped by expert.
    MoeGroup,
    /// The routed experts' outputs weighted and summed.
    MoeSum,
    /// Rows scaled by the sigmoid of a per-row gate.
    SigmoidMul,
    /// Each routed pair's expert bias added in place.
    ExpertBias,
    /// Embedding lookup from a quantized table, with scaling.
    GetRows(GgmlType),
    RmsNorm,
    /// A residual add and the RMS norm of its result.
    AddRmsNorm(NormModes),
    /// RoPE of q in place and of k into the KV cache, with v stored beside it.
    RopeStore,
    /// Per-head RMS norm (QK-norm), RoPE of q in place and of k into the KV cache, with v
    /// stored beside it.
    NormRopeStore,
    /// Split-K attention partials over the KV cache. The attention families take their head
    /// dim as a constant where it is one of [`ATTENTION_HEAD_DIMS`] (`Some`), so their loops
    /// over a head unroll, and from their parameters otherwise (`None`).
    Attention(Option<u32>),
    /// Attention of a prefill chunk, a tile of rows per workgroup (no splits).
    AttentionPrefill(Option<u32>),
    /// AttentionPrefill on 16x16 cooperative matrices, for head dims up to
    /// [`ATTENTION_COOP_MAX_HEAD_DIM`] and caches whose ctx is a multiple of
    /// [`ATTENTION_COOP_ROWS`].
    AttentionPrefillCoop(Option<u32>),
    /// Merges attention's split partials into the output.
    AttentionCombine,
    /// GeGLU (`geglu`), SwiGLU (`swiglu`) and gpt-oss's clamped SwiGLU (`swiglu_oai`) entry
    /// points.
    Glu,
    Add,
    GatherRows,
    /// The most likely token of each logits row: `partial` per chunk of columns, then `merge`.
    Argmax,
}

/// How a kernel binds a resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Binding {
    Uniform,
    Read,
    ReadWrite,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Variant {
    pub family: Family,
    /// Reductions with subgroup operations (needs the SUBGROUP feature).
    pub subgroups: bool,
    /// A decode matvec reading the 8-bit copy that [`Family::MatvecAddNorm`] wrote: it scales
    /// its sums by the norm's 1 / rms from that kernel's shares (an extra binding after the
    /// family's).
    pub normed_x: bool,
}

const COMMON: &str = include_str!("../wgsl/common.wgsl");
const REDUCE_WG: &str = include_str!("../wgsl/reduce_wg.wgsl");
const REDUCE_SG: &str = include_str!("../wgsl/reduce_sg.wgsl");
const BYTES: &str = include_str!("../wgsl/quant/bytes.wgsl");
const K_SCALES: &str = include_str!("../wgsl/quant/k_scales.wgsl");
const KVALUES: &str = include_str!("../wgsl/quant/kvalues.wgsl");
const MATVEC_HEAD: &str = include_str!("../wgsl/matvec/head.wgsl");
const MATVEC_WORDS: &str = include_str!("../wgsl/matvec/words.wgsl");
const MATVEC_FOUR_LANES: &str = include_str!("../wgsl/matvec/four_lanes.wgsl");
const MATVEC_PLAIN: &str = include_str!("../wgsl/matvec/plain.wgsl");
const MATVEC_EXPERTS: &str = include_str!("../wgsl/matvec/experts.wgsl");
const MATVEC_GLU: &str = include_str!("../wgsl/matvec/glu.wgsl");
const MATVEC_ROPE: &str = include_str!("../wgsl/matvec/rope.wgsl");
const MATVEC_ADD_NORM: &str = include_str!("../wgsl/matvec/add_norm.wgsl");
const MATVEC_X_NORMED: &str = include_str!("../wgsl/matvec/x_normed.wgsl");
const MATVEC_X_UNSCALED: &str = include_str!("../wgsl/matvec/x_unscaled.wgsl");
const MATVEC_IN_ORDER: &str = include_str!("../wgsl/matvec/in_order.wgsl");
const ROPE_ROTATION: &str = include_str!("../wgsl/rope_rotation.wgsl");
const GLU_ACT: &str = include_str!("../wgsl/glu_act.wgsl");
const EXPERT_OUT: &str = include_str!("../wgsl/expert_out.wgsl");
const COOP_ROWS: &str = include_str!("../wgsl/coop/rows.wgsl");
const COOP_EXPERTS: &str = include_str!("../wgsl/coop/experts.wgsl");
const MATMUL_ID_HEAD: &str = include_str!("../wgsl/matmul_id_head.wgsl");
const MATVEC_X_F32: &str = include_str!("../wgsl/matvec/x_f32.wgsl");
const MATVEC_X_Q8: &str = include_str!("../wgsl/matvec/x_q8.wgsl");
const Q8_LAYOUT: &str = include_str!("../wgsl/q8_layout.wgsl");
const Q8_WRITE: &str = include_str!("../wgsl/q8_write.wgsl");
const MATMUL_TILE: &str = include_str!("../wgsl/matmul_tile.wgsl");
const PRODUCT_HEAD: &str = include_str!("../wgsl/product_head.wgsl");
const ATTENTION_HEAD: &str = include_str!("../wgsl/attention_head.wgsl");
const ROPE_HEAD: &str = include_str!("../wgsl/rope_head.wgsl");

fn decoder(ty: GgmlType) -> &'static str {
    match ty {
        GgmlType::F32 => include_str!("../wgsl/quant/f32.wgsl"),
        GgmlType::F16 => include_str!("../wgsl/quant/f16.wgsl"),
        GgmlType::BF16 => include_str!("../wgsl/quant/bf16.wgsl"),
        GgmlType::Q8_0 => include_str!("../wgsl/quant/q8_0.wgsl"),
        GgmlType::Q4_0 => include_str!("../wgsl/quant/q4_0.wgsl"),
        GgmlType::Q4_1 => include_str!("../wgsl/quant/q4_1.wgsl"),
        GgmlType::Q5_0 => include_str!("../wgsl/quant/q5_0.wgsl"),
        GgmlType::Q5_1 => include_str!("../wgsl/quant/q5_1.wgsl"),
        GgmlType::Q4_K => include_str!("../wgsl/quant/q4_K.wgsl"),
        GgmlType::Q5_K => include_str!("../wgsl/quant/q5_K.wgsl"),
        GgmlType::Q6_K => include_str!("../wgsl/quant/q6_K.wgsl"),
        GgmlType::Q2_K => include_str!("../wgsl/quant/q2_K.wgsl"),
        GgmlType::Q3_K => include_str!("../wgsl/quant/q3_K.wgsl"),
        GgmlType::IQ4_NL => include_str!("../wgsl/quant/iq4_nl.wgsl"),
        GgmlType::IQ4_XS => include_str!("../wgsl/quant/iq4_xs.wgsl"),
        GgmlType::MXFP4 => include_str!("../wgsl/quant/mxfp4.wgsl"),
        other => panic!("no GPU decoder for {other}: check Family::supports first"),
    }
}

/// The matvec kernel of its own that a weight format has (`wgsl/matvec/<type>.wgsl`), instead of
/// the generic `matvec.wgsl` over the shared decoders.
pub fn matvec_kernel(ty: GgmlType) -> Option<&'static str> {
    match ty {
        GgmlType::F32 => Some(include_str!("../wgsl/matvec/f32.wgsl")),
        GgmlType::Q4_K => Some(include_str!("../wgsl/matvec/q4_K.wgsl")),
        GgmlType::Q5_K => Some(include_str!("../wgsl/matvec/q5_K.wgsl")),
        GgmlType::Q6_K => Some(include_str!("../wgsl/matvec/q6_K.wgsl")),
        GgmlType::Q8_0 => Some(include_str!("../wgsl/matvec/q8_0.wgsl")),
        GgmlType::Q5_0 => Some(include_str!("../wgsl/matvec/q5_0.wgsl")),
        _ => None,
    }
}

/// The decode matvec family for a weight part of `rows` rows of `ty`.
pub fn matvec_family(ty: GgmlType, rows: u64) -> Family {
    let tall = Family::MatvecTall(ty);
    if rows >= MATVEC_TALL_ROWS && tall.supports() {
        tall
    } else {
        Family::Matvec(ty)
    }
}

/// Whether the matvec and matvec_id kernels of `ty` take x quantized to 8 bits (by
/// [`Family::QuantizeQ8`], laid out as `wgsl/q8_layout.wgsl` says) for integer dot products.
pub fn matvec_takes_q8(ty: GgmlType) -> bool {
    matches!(ty, GgmlType::Q4_K | GgmlType::Q6_K)
}

/// Bytes of one row of `k` elements quantized to 8 bits (`q8_stride` in `q8_layout.wgsl`).
pub fn q8_row_bytes(k: u64) -> u64 {
    16 * (k / 16 + k.div_ceil(64))
}

/// The values one row of `k` elements quantized to 8 bits stands for (each code times its
/// block's d), from the row's [`q8_row_bytes`] bytes: the CPU side of the layout, for tests and
/// benches.
pub fn q8_row_values(row: &[u8], k: usize) -> Vec<f32> {
    (0..k)
        .map(|j| {
            let at = k + 8 * (j / 32);
            let d = f32::from_le_bytes(row[at..at + 4].try_into().expect("4 bytes"));
            d * f32::from(row[j] as i8)
        })
        .collect()
}

/// Elements and bytes of the blocks a kernel walks: float formats are seen as 32-element blocks.
fn kernel_block(ty: GgmlType) -> (u64, u64) {
    if ty.block_elems() == 1 {
        (32, 32 * ty.block_bytes())
    } else {
        (ty.block_elems(), ty.block_bytes())
    }
}

impl Family {
    /// Whether this family has a kernel for its weight format.
    pub fn supports(self) -> bool {
        match self {
            Family::Matvec(ty)
            | Family::Matmul(ty)
            | Family::MatmulCoop(ty, _)
            | Family::GetRows(ty)
            | Family::MatvecId(ty)
            | Family::MatmulId(ty)
            | Family::MatmulIdCoop(ty, _) => WEIGHT_FORMATS.contains(&ty),
            Family::MatvecGlu(ty) | Family::MatvecRope(ty) => matvec_kernel(ty).is_some(),
            Family::MatvecTall(ty) => ty == GgmlType::Q4_K,
            Family::MatvecAddNorm(ty) => ty != GgmlType::F32 && matvec_kernel(ty).is_some(),
            _ => true,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Family::Matvec(_) => "matvec",
            Family::MatvecTall(_) => "matvec_tall",
            Family::MatvecGlu(_) => "matvec_glu",
            Family::MatvecRope(_) => "matvec_rope",
            Family::MatvecAddNorm(_) => "matvec_add_norm",
            Family::Matmul(_) => "matmul",
            Family::MatmulCoop(_, CoopSize::Eight) => "matmul_coop8",
            Family::MatmulCoop(_, CoopSize::Sixteen) => "matmul_coop16",
            Family::GetRows(_) => "get_rows",
            Family::MatvecId(_) => "matvec_id",
            Family::MatmulId(_) => "matmul_id",
            Family::MatmulIdCoop(_, CoopSize::Eight) => "matmul_id_coop8",
            Family::MatmulIdCoop(_, CoopSize::Sixteen) => "matmul_id_coop16",
            Family::QuantizeQ8 => "quantize_q8",
            Family::Route => "route",
            Family::MoeGroup => "moe_group",
            Family::MoeSum => "moe_sum",
            Family::SigmoidMul => "sigmoid_mul",
            Family::ExpertBias => "expert_bias",
            Family::RmsNorm => "rms_norm",
            Family::AddRmsNorm(_) => "add_rms_norm",
            Family::RopeStore => "rope_store",
            Family::NormRopeStore => "norm_rope_store",
            Family::Attention(_) => "attention",
            Family::AttentionPrefill(_) => "attention_prefill",
            Family::AttentionPrefillCoop(_) => "attention_prefill_coop16",
            Family::AttentionCombine => "attention_combine",
            Family::Glu => "glu",
            Family::Add => "add",
            Family::GatherRows => "gather_rows",
            Family::Argmax => "argmax",
        }
    }

    fn weight(self) -> Option<GgmlType> {
        match self {
            Family::Matvec(ty)
            | Family::MatvecTall(ty)
            | Family::MatvecGlu(ty)
            | Family::MatvecRope(ty)
            | Family::MatvecAddNorm(ty)
            | Family::Matmul(ty)
            | Family::MatmulCoop(ty, _)
            | Family::GetRows(ty)
            | Family::MatvecId(ty)
            | Family::MatmulId(ty)
            | Family::MatmulIdCoop(ty, _) => Some(ty),
            _ => None,
        }
    }

    fn body(self) -> &'static str {
        match self {
            Family::Matvec(ty) => matvec_kernel(ty).unwrap_or(include_str!("../wgsl/matvec.wgsl")),
            Family::MatvecTall(ty)
            | Family::MatvecGlu(ty)
            | Family::MatvecRope(ty)
            | Family::MatvecAddNorm(ty) => matvec_kernel(ty).expect(
                "matvec_tall, matvec_glu, matvec_rope and matvec_add_norm exist for formats with \
                 their own matvec",
            ),
            Family::Matmul(_) => include_str!("../wgsl/matmul.wgsl"),
            Family::MatmulCoop(..) | Family::MatmulIdCoop(..) => {
                include_str!("../wgsl/matmul_coop.wgsl")
            }
            Family::GetRows(_) => include_str!("../wgsl/get_rows.wgsl"),
            Family::MatvecId(ty) => {
                matvec_kernel(ty).unwrap_or(include_str!("../wgsl/matvec_id.wgsl"))
            }
            Family::MatmulId(_) => include_str!("../wgsl/matmul_id.wgsl"),
            Family::QuantizeQ8 => include_str!("../wgsl/quantize_q8.wgsl"),
            Family::Route => include_str!("../wgsl/route.wgsl"),
            Family::MoeGroup => include_str!("../wgsl/moe_group.wgsl"),
            Family::MoeSum => include_str!("../wgsl/moe_sum.wgsl"),
            Family::SigmoidMul => include_str!("../wgsl/sigmoid_mul.wgsl"),
            Family::ExpertBias => include_str!("../wgsl/expert_bias.wgsl"),
            Family::RmsNorm => include_str!("../wgsl/rms_norm.wgsl"),
            Family::AddRmsNorm(_) => include_str!("../wgsl/add_rms_norm.wgsl"),
            Family::RopeStore => include_str!("../wgsl/rope_store.wgsl"),
            Family::NormRopeStore => include_str!("../wgsl/norm_rope_store.wgsl"),
            Family::Attention(_) => include_str!("../wgsl/attention.wgsl"),
            Family::AttentionPrefill(_) => include_str!("../wgsl/attention_prefill.wgsl"),
            Family::AttentionPrefillCoop(_) => {
                include_str!("../wgsl/attention_prefill_coop.wgsl")
            }
            Family::AttentionCombine => include_str!("../wgsl/attention_combine.wgsl"),
            Family::Glu => include_str!("../wgsl/glu.wgsl"),
            Family::Add => include_str!("../wgsl/add.wgsl"),
            Family::GatherRows => include_str!("../wgsl/gather_rows.wgsl"),
            Family::Argmax => include_str!("../wgsl/argmax.wgsl"),
        }
    }

    /// Whether the kernel reduces across the workgroup (and so has a subgroup variant).
    pub fn reduces(self) -> bool {
        matches!(
            self,
            Family::Matvec(_)
                | Family::MatvecTall(_)
                | Family::MatvecGlu(_)
                | Family::MatvecRope(_)
                | Family::MatvecAddNorm(_)
                | Family::MatvecId(_)
                | Family::RmsNorm
                | Family::AddRmsNorm(_)
                | Family::NormRopeStore
                | Family::Attention(_)
                | Family::AttentionPrefill(_)
                | Family::AttentionCombine
                | Family::Route
        )
    }

    /// The output features and batch rows one workgroup of a matmul covers (its dispatch is
    /// the part's features by the bucket's rows in such tiles).
    pub fn matmul_tile(self) -> Option<(u32, u32)> {
        match self {
            Family::Matmul(_) | Family::MatmulId(_) => Some((WG, MATMUL_TILE_ROWS)),
            Family::MatmulCoop(_, size) | Family::MatmulIdCoop(_, size) => {
                Some((8 * size.side(), 8 * size.side()))
            }
            _ => None,
        }
    }

    /// Whether the kernel needs SUBGROUP, SHADER_F16 and EXPERIMENTAL_COOPERATIVE_MATRIX.
    pub fn cooperative(self) -> bool {
        self.coop_size().is_some()
    }

    /// The side of the cooperative matrices the kernel multiplies.
    pub fn coop_size(self) -> Option<CoopSize> {
        match self {
            Family::MatmulCoop(_, size) | Family::MatmulIdCoop(_, size) => Some(size),
            Family::AttentionPrefillCoop(_) => Some(CoopSize::Sixteen),
            _ => None,
        }
    }

    /// Whether the kernel can also write its output quantized to 8 bits (its last binding), for
    /// a matvec that takes it so ([`matvec_takes_q8`]).
    pub fn writes_q8(self) -> bool {
        matches!(
            self,
            Family::QuantizeQ8
                | Family::RmsNorm
                | Family::AddRmsNorm(_)
                | Family::AttentionCombine
                | Family::Glu
                | Family::MatvecAddNorm(_)
                | Family::Attention(_)
        )
    }

    /// Whether the family has a [`Variant::normed_x`] variant: the decode matvecs that take
    /// the rows in order and x quantized to 8 bits.
    pub fn takes_normed_x(self) -> bool {
        match self {
            Family::Matvec(ty)
            | Family::MatvecTall(ty)
            | Family::MatvecGlu(ty)
            | Family::MatvecRope(ty) => matvec_takes_q8(ty) && matvec_kernel(ty).is_some(),
            _ => false,
        }
    }

    /// Threads per workgroup (`WG` in its WGSL): [`WG`], but 256 for the norms, whose decode
    /// row is one workgroup bound by the loads its threads keep in flight, and for decode
    /// attention (a shallow step's few workgroups read their V rows in fewer rounds), two row pairs'
    /// lanes for the matvec kernels with more lanes than [`LANES`] (f32's), 128 for
    /// [`Family::MatvecTall`] and 512 for [`Family::MatvecAddNorm`] (32 rows).
    pub fn workgroup_size(self) -> u32 {
        match self {
            Family::RmsNorm | Family::AddRmsNorm(_) => 256,
            Family::MatvecAddNorm(_) => 512,
            Family::MatvecTall(_) => 128,
            // A tile's V rows in a few rounds: WG / (head_dim / 2) groups of positions.
            Family::Attention(_) => 256,
            // Two row pairs, as at 32 lanes.
            _ if self.lanes() != LANES => 2 * self.lanes(),
            // Sixteen subgroups of 32.
            Family::MatmulCoop(..) | Family::MatmulIdCoop(..) => 512,
            Family::AttentionPrefillCoop(_) => 128,
            // Eight threads per dimension share a head's splits.
            Family::AttentionCombine => 256,
            // A chunk's columns in one load per thread.
            Family::Argmax => 256,
            _ => WG,
        }
    }

    /// Threads that share a weight row pair in a format's own matvec kernel (`LANES` in its
    /// WGSL): [`LANES`], but 128 (in workgroups of 256, still four rows each) for f32, whose
    /// weights are MoE routers of a few hundred rows: more threads per row, fewer steps along it
    /// (the H200 ran a 128x2048 router in 4.8 us against 7.7 with 32 lanes, mvlab),
    /// [`MATVEC_TALL_LANES`] for [`Family::MatvecTall`], and for decode attention the threads
    /// sharing a position's score, [`ATTENTION_KEY_LANES`].
    pub fn lanes(self) -> u32 {
        match self {
            Family::MatvecTall(_) => MATVEC_TALL_LANES,
            Family::Attention(_) => ATTENTION_KEY_LANES,
            Family::Matvec(GgmlType::F32)
            | Family::MatvecGlu(GgmlType::F32)
            | Family::MatvecRope(GgmlType::F32)
            | Family::MatvecId(GgmlType::F32) => 128,
            _ => LANES,
        }
    }

    /// Weight rows one workgroup of a matvec family covers: in the generic kernel 32 of its
    /// [`WG`] threads share a row; in a format's own kernel each [`Family::lanes`] threads share
    /// two rows.
    pub fn matvec_rows(self) -> u32 {
        match self.weight() {
            Some(ty) if matvec_kernel(ty).is_some() => self.workgroup_size() / self.lanes() * 2,
            _ => 2,
        }
    }

    /// Entry points of the module.
    pub fn entry_points(self) -> &'static [&'static str] {
        match self {
            Family::Glu => &["geglu", "swiglu", "swiglu_oai"],
            Family::Argmax => &["partial", "merge"],
            _ => &["main"],
        }
    }

    /// The bindings of group 0, by binding index.
    pub fn bindings(self) -> &'static [Binding] {
        use Binding::*;
        match self {
            Family::Matvec(_)
            | Family::MatvecTall(_)
            | Family::MatvecGlu(_)
            | Family::Matmul(_)
            | Family::MatmulCoop(..) => &[Uniform, Read, Read, ReadWrite],
            Family::GetRows(_) => &[Uniform, Read, Read, ReadWrite, Read],
            Family::MatvecRope(_) => &[
                Uniform, Read, Read, ReadWrite, Read, Read, ReadWrite, ReadWrite,
            ],
            Family::MatvecAddNorm(_) => &[
                Uniform, Read, Read, ReadWrite, Read, Read, ReadWrite, ReadWrite,
            ],
            Family::MatvecId(_) | Family::MatmulId(_) | Family::MatmulIdCoop(..) => {
                &[Uniform, Read, Read, Read, ReadWrite]
            }
            Family::Route | Family::MoeGroup | Family::QuantizeQ8 => &[Uniform, Read, ReadWrite],
            Family::MoeSum | Family::SigmoidMul | Family::ExpertBias => {
                &[Uniform, Read, Read, ReadWrite]
            }
            Family::RmsNorm => &[Uniform, Read, Read, ReadWrite, ReadWrite],
            Family::AddRmsNorm(_) => &[
                Uniform, Read, Read, Read, ReadWrite, ReadWrite, ReadWrite, Read, Read, Read,
            ],
            Family::RopeStore => &[
                Uniform, Read, Read, ReadWrite, ReadWrite, ReadWrite, ReadWrite, ReadWrite,
            ],
            Family::NormRopeStore => &[
                Uniform, Read, Read, ReadWrite, ReadWrite, ReadWrite, ReadWrite, ReadWrite, Read,
                Read,
            ],
            Family::Attention(_) => &[
                Uniform, Read, Read, Read, Read, ReadWrite, ReadWrite, ReadWrite,
            ],
            Family::AttentionPrefill(_) | Family::AttentionPrefillCoop(_) => {
                &[Uniform, Read, Read, Read, Read, ReadWrite]
            }
            Family::AttentionCombine => &[Uniform, Read, Read, Read, ReadWrite, ReadWrite],
            Family::Glu => &[Uniform, Read, Read, ReadWrite, ReadWrite],
            Family::Add => &[Uniform, Read, Read, ReadWrite],
            Family::GatherRows => &[Uniform, Read, Read, ReadWrite],
            Family::Argmax => &[Uniform, Read, ReadWrite, ReadWrite],
        }
    }
}

impl Variant {
    /// The variant of `family` for an adapter with the given features; flags a family doesn't
    /// use are dropped so each distinct module has one key.
    pub fn new(family: Family, subgroups: bool) -> Self {
        Variant {
            family,
            subgroups: subgroups && family.reduces(),
            normed_x: false,
        }
    }

    /// This variant reading x as [`Family::MatvecAddNorm`] left it, where the family has such
    /// a variant.
    pub fn with_normed_x(self, normed_x: bool) -> Self {
        Variant {
            normed_x: normed_x && self.family.takes_normed_x(),
            ..self
        }
    }

    /// The bindings of group 0, by binding index: the family's, and the norm's shares for
    /// [`Variant::normed_x`].
    pub fn bindings(&self) -> Vec<Binding> {
        let mut b = self.family.bindings().to_vec();
        if self.normed_x {
            b.push(Binding::Read);
        }
        b
    }

    /// Every variant wick can build, for tests and ahead-of-time validation.
    pub fn all() -> Vec<Variant> {
        let mut families = Vec::new();
        for ty in WEIGHT_FORMATS {
            families.extend([
                Family::Matvec(ty),
                Family::Matmul(ty),
                Family::MatmulCoop(ty, CoopSize::Eight),
                Family::MatmulCoop(ty, CoopSize::Sixteen),
                Family::GetRows(ty),
                Family::MatvecId(ty),
                Family::MatmulId(ty),
                Family::MatmulIdCoop(ty, CoopSize::Eight),
                Family::MatmulIdCoop(ty, CoopSize::Sixteen),
            ]);
            if Family::MatvecGlu(ty).supports() {
                families.extend([Family::MatvecGlu(ty), Family::MatvecRope(ty)]);
            }
            if Family::MatvecTall(ty).supports() {
                families.push(Family::MatvecTall(ty));
            }
            if Family::MatvecAddNorm(ty).supports() {
                families.push(Family::MatvecAddNorm(ty));
            }
        }
        families.extend([
            Family::QuantizeQ8,
            Family::RmsNorm,
            Family::RopeStore,
            Family::NormRopeStore,
            Family::AttentionCombine,
            Family::Glu,
            Family::Add,
            Family::GatherRows,
            Family::Argmax,
            Family::Route,
            Family::MoeGroup,
            Family::MoeSum,
            Family::SigmoidMul,
            Family::ExpertBias,
        ]);
        families.extend(NormModes::all().map(Family::AddRmsNorm));
        for dim in ATTENTION_HEAD_DIMS.map(Some).into_iter().chain([None]) {
            families.extend([Family::Attention(dim), Family::AttentionPrefill(dim)]);
            if dim.is_none_or(|d| d <= ATTENTION_COOP_MAX_HEAD_DIM) {
                families.push(Family::AttentionPrefillCoop(dim));
            }
        }
        let mut all = Vec::new();
        for family in families {
            for (subgroups, normed_x) in
                [(false, false), (true, false), (false, true), (true, true)]
            {
                let v = Variant::new(family, subgroups).with_normed_x(normed_x);
                if !all.contains(&v) {
                    all.push(v);
                }
            }
        }
        all
    }

    /// The assembled WGSL module.
    pub fn source(&self) -> String {
        let mut src = String::new();
        if self.family.cooperative() {
            src.push_str("enable f16;\nenable wgpu_cooperative_matrix;\n\n");
        }
        let (wg, lanes) = (self.family.workgroup_size(), self.family.lanes());
        src.push_str(
            &COMMON
                .replace(
                    &format!("const WG: u32 = {WG}u;"),
                    &format!("const WG: u32 = {wg}u;"),
                )
                .replace(
                    &format!("const LANES: u32 = {LANES}u;"),
                    &format!("const LANES: u32 = {lanes}u;"),
                ),
        );
        if self.family.reduces() {
            src.push_str(if self.subgroups { REDUCE_SG } else { REDUCE_WG });
        }
        if let Family::Matvec(ty)
        | Family::MatvecTall(ty)
        | Family::MatvecGlu(ty)
        | Family::MatvecRope(ty)
        | Family::MatvecAddNorm(ty)
        | Family::MatvecId(ty) = self.family
            && matvec_kernel(ty).is_some()
        {
            // Own bindings and decoding; the parameters, x and y bindings and row addressing
            // come from the family's side.
            src.push_str(MATVEC_HEAD);
            src.push_str(match self.family {
                Family::Matvec(_) | Family::MatvecTall(_) => MATVEC_PLAIN,
                Family::MatvecGlu(_) => MATVEC_GLU,
                Family::MatvecRope(_) => MATVEC_ROPE,
                Family::MatvecAddNorm(_) => MATVEC_ADD_NORM,
                _ => MATVEC_EXPERTS,
            });
            if !matches!(self.family, Family::MatvecId(_) | Family::MatvecAddNorm(_)) {
                src.push_str(MATVEC_IN_ORDER);
                if self.normed_x {
                    let binding = self.family.bindings().len();
                    src.push_str(&format!(
                        "\n@group(0) @binding({binding}) var<storage, read> norm_parts: \
                         array<vec4<f32>>;\n"
                    ));
                    src.push_str(MATVEC_X_NORMED);
                } else {
                    src.push_str(MATVEC_X_UNSCALED);
                }
            }
            if matvec_takes_q8(ty) {
                // Kernels that also write an 8-bit copy get the layout below.
                if !self.family.writes_q8() {
                    src.push_str(Q8_LAYOUT);
                }
                src.push_str(MATVEC_X_Q8);
            } else {
                src.push_str(MATVEC_X_F32);
            }
            if matches!(ty, GgmlType::Q5_0 | GgmlType::Q6_K | GgmlType::Q8_0) {
                src.push_str(MATVEC_WORDS);
            }
            if matches!(ty, GgmlType::Q5_0 | GgmlType::Q8_0) {
                let (_, bytes) = kernel_block(ty);
                src.push_str(&format!("\nconst BLOCK_BYTES: u32 = {bytes}u;\n"));
                src.push_str(MATVEC_FOUR_LANES);
            }
        } else if let Some(ty) = self.family.weight() {
            let (elems, bytes) = kernel_block(ty);
            src.push_str(&format!(
                "\nconst BLOCK_ELEMS: u32 = {elems}u;\nconst BLOCK_BYTES: u32 = {bytes}u;\n\n"
            ));
            src.push_str(BYTES);
            if matches!(ty, GgmlType::Q4_K | GgmlType::Q5_K) {
                src.push_str(K_SCALES);
            }
            if matches!(ty, GgmlType::IQ4_NL | GgmlType::IQ4_XS | GgmlType::MXFP4) {
                src.push_str(KVALUES);
            }
            src.push_str(decoder(ty));
            if matches!(
                self.family,
                Family::Matvec(_) | Family::Matmul(_) | Family::MatmulCoop(..)
            ) {
                src.push_str(PRODUCT_HEAD);
            }
            if matches!(self.family, Family::MatmulId(_) | Family::MatmulIdCoop(..)) {
                src.push_str(MATMUL_ID_HEAD);
            }
            match self.family {
                Family::MatmulCoop(..) => src.push_str(COOP_ROWS),
                Family::MatmulIdCoop(..) => src.push_str(COOP_EXPERTS),
                _ => {}
            }
        }
        if let Family::Attention(dim)
        | Family::AttentionPrefill(dim)
        | Family::AttentionPrefillCoop(dim) = self.family
        {
            src.push_str(&format!("\nconst HEAD_DIM: u32 = {}u;\n", dim.unwrap_or(0)));
            src.push_str(ATTENTION_HEAD);
        }
        if matches!(self.family, Family::RopeStore | Family::NormRopeStore) {
            src.push_str(ROPE_HEAD);
        }
        if matches!(
            self.family,
            Family::RopeStore | Family::NormRopeStore | Family::MatvecRope(_)
        ) {
            src.push_str(ROPE_ROTATION);
        }
        if matches!(self.family, Family::Glu | Family::MatvecGlu(_)) {
            src.push_str(GLU_ACT);
        }
        if matches!(
            self.family,
            Family::MatvecId(_) | Family::MatmulId(_) | Family::MatmulIdCoop(..)
        ) {
            src.push_str(EXPERT_OUT);
        }
        if matches!(self.family, Family::Matmul(_) | Family::MatmulId(_)) {
            src.push_str(&format!(
                "\nconst MATMUL_TILE_ROWS: u32 = {MATMUL_TILE_ROWS}u;\n"
            ));
            src.push_str(MATMUL_TILE);
        }
        if let Some(size) = self.family.coop_size() {
            let n = size.side();
            src.push_str(&format!(
                "\nconst S: u32 = {n}u;\nalias TileA = coop_mat{n}x{n}<f16, A>;\n\
                 alias TileB = coop_mat{n}x{n}<f16, B>;\nalias TileC = coop_mat{n}x{n}<f32, C>;\n"
            ));
        }
        if self.family.writes_q8() {
            src.push_str(Q8_LAYOUT);
            src.push_str(Q8_WRITE);
        }
        if let Family::GetRows(_) = self.family {
            src.push_str(&format!(
                "\nconst PICKED: u32 = {}u;\n",
                wick_core::generate::BatchRow::PICKED
            ));
        }
        if let Family::AddRmsNorm(m) = self.family {
            src.push_str(&format!(
                "\nconst EXPERTS: bool = {};\nconst GATHER: bool = {};\nconst PRE: bool = {};\n",
                m.experts, m.gather, m.pre
            ));
        }
        if self.family == Family::Argmax {
            src.push_str(&format!("\nconst ARGMAX_CHUNK: u32 = {ARGMAX_CHUNK}u;\n"));
        }
        if self.family == Family::Route {
            src.push_str(&format!(
                "\nconst MAX_EXPERTS: u32 = {}u;\n",
                wick_core::arch::MAX_EXPERTS
            ));
        }
        src.push_str(self.family.body());
        src
    }
}

impl std::fmt::Display for Variant {
    /// The label: family, weight format and features, e.g. `matvec.q4_K.sg`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.family.name())?;
        if let Some(ty) = self.family.weight() {
            write!(f, ".{ty}")?;
        }
        if let Family::Attention(Some(dim))
        | Family::AttentionPrefill(Some(dim))
        | Family::AttentionPrefillCoop(Some(dim)) = self.family
        {
            write!(f, ".d{dim}")?;
        }
        if let Family::AddRmsNorm(m) = self.family {
            for (on, mode) in [(m.experts, "experts"), (m.gather, "gather"), (m.pre, "pre")] {
                if on {
                    write!(f, ".{mode}")?;
                }
            }
        }
        if self.normed_x {
            f.write_str(".normed")?;
        }
        if self.subgroups {
            f.write_str(".sg")?;
        }
        Ok(())
    }
}

/// Bytes per row of `cols` elements of `ty` as the kernels address them.
pub fn row_bytes(ty: GgmlType, cols: u64) -> u64 {
    let (elems, bytes) = kernel_block(ty);
    cols / elems * bytes
}
