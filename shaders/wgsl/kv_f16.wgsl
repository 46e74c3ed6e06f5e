// KV-cache reads with SHADER_F16: the same bytes viewed as vec2<f16>.

@group(0) @binding(3) var<storage, read> k_cache: array<vec2<f16>>;
@group(0) @binding(4) var<storage, read> v_cache: array<vec2<f16>>;

fn load_k2(i: u32) -> vec2<f32> {
    return vec2<f32>(k_cache[i]);
}

fn load_v2(i: u32) -> vec2<f32> {
    return vec2<f32>(v_cache[i]);
}
