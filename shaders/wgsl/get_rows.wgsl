// Embedding lookup from a quantized table: y[r, :] = scale * dequant(table[token_r]). The table
// may be split in parts; this dispatch handles the tokens that fall in [first, first + count).
// A row's token `PICKED | j` is the token the previous greedy step picked for its output row j
// (`picks`, written by argmax), so a step can be submitted before that one is read back.
struct Params {
    k: u32,          // row width
    first: u32,      // first table row held by this part
    count: u32,      // table rows held by this part
    row_bytes: u32,
    rows: u32,       // batch rows (the bucket)
    y_stride: u32,
    scale: f32,
    pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> weights: array<u32>;
@group(0) @binding(2) var<storage, read> step: Step;
@group(0) @binding(3) var<storage, read_write> y: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> picks: array<u32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
    let r = wid.x;
    if r >= p.rows {
        return;
    }
    var token = step.rows[r].token;
    if (token & PICKED) != 0u {
        token = picks[token & ~PICKED];
    }
    if token < p.first || token >= p.first + p.count {
        return;
    }
    let row_byte = (token - p.first) * p.row_bytes;
    for (var e = tid; e < p.k / 4u; e += WG) {
        y[(r * p.y_stride) / 4u + e] = p.scale * load_row4(row_byte, e / 8u, e % 8u);
    }
}
