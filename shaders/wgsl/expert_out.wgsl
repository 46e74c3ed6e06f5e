// Where feature i of routed pair a = r * n_used + j (batch row r, slot j) goes in the output of
// an expert product (matvec_id, matmul_id) over m features per expert. A weight that stacks
// several matrices of `split` features per expert (gate and up) keeps each matrix's outputs for
// a row's n_used slots together, so each matrix's outputs are whole columns; with one matrix
// (split = m) this is a * m + i.
fn expert_out(a: u32, i: u32, n_used: u32, m: u32, split: u32) -> u32 {
    let r = a / n_used;
    let j = a % n_used;
    return ((r * (m / split) + i / split) * n_used + j) * split + i % split;
}
