// KV-cache reads for adapters without SHADER_F16: halves packed in u32, unpacked to f32.
@group(0) @binding(3) var<storage, read> k_cache: array<u32>;
@group(0) @binding(4) var<storage, read> v_cache: array<u32>;

fn load_k2(i: u32) -> vec2<f32> {
    return unpack2x16float(k_cache[i]);
}

fn load_v2(i: u32) -> vec2<f32> {
    return unpack2x16float(v_cache[i]);
}
