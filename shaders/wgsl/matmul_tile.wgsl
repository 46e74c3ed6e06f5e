// Shared by matmul and matmul_id: the 32 rows of x a workgroup stages per 32-element chunk
// (MATMUL_TILE_ROWS; 8 vec4 each), and the products of a decoded weight vec4 with four of them.
// Accumulating through rows4 into vec4s indexed by constants keeps the 32 sums in registers.
const TILE_ROWS: u32 = MATMUL_TILE_ROWS;

var<workgroup> xs: array<array<vec4<f32>, 8>, TILE_ROWS>;

// The dot products of w with staged rows r..r+3 of chunk part q.
fn rows4(w: vec4<f32>, r: u32, q: u32) -> vec4<f32> {
    return vec4<f32>(dot(w, xs[r][q]), dot(w, xs[r + 1u][q]), dot(w, xs[r + 2u][q]),
                     dot(w, xs[r + 3u][q]));
}
