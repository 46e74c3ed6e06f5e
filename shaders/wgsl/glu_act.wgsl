// The gated activations y = act(gate) * up of the glu kernel and of the matvec that ends with it
// (`matvec/glu.wgsl`).
const GELU: u32 = 0u;
const SILU: u32 = 1u;
const SILU_OAI: u32 = 2u;

// GELU, tanh approximation (as Gemma and llama.cpp use it).
fn gelu(x: f32) -> f32 {
    let c = 0.7978845608028654;
    let t = tanh(clamp(c * (x + 0.044715 * x * x * x), -15.0, 15.0));
    return 0.5 * x * (1.0 + t);
}

fn silu(x: f32) -> f32 {
    return x / (1.0 + exp(-x));
}

// act(g) * u; gpt-oss's variant clamps the gate above and up on both sides at 7, takes a
// sigmoid of 1.702 * gate and offsets up by 1.
fn glu_value(kind: u32, g: f32, u: f32) -> f32 {
    switch kind {
        case GELU: {
            return gelu(g) * u;
        }
        case SILU: {
            return silu(g) * u;
        }
        default: {
            let gc = min(g, 7.0);
            let uc = clamp(u, -7.0, 7.0);
            return gc / (1.0 + exp(-1.702 * gc)) * (uc + 1.0);
        }
    }
}
