//! Matvec kernel lab: times candidate WGSL matvec kernels beside the built-in ones, at several
//! matrix shapes and batch rows, and checks each result against an f64 reference computed from
//! the dequantized weights. It is how the per-format kernels in `shaders/wgsl/matvec/` were
//! chosen: one run on the GPU machine compares dozens of variants without rebuilding.
//!
//! ```sh
//! cargo build --release -p wick-benches --example mvlab
//! target/release/examples/mvlab base:q4_K base:q6_K my_q4k.wgsl@ty=q4_K,rpw=4,UNR=2
//! ```
//!
//! Each argument is `base:TY[@rpw=N,body=FILE,NAME=VALUE...]` (the kernel wick runs for format
//! TY, with FILE in place of the format's own kernel text (`shaders/wgsl/matvec/TY.wgsl`) and
//! any `const NAME: u32` of its whole module, `WG` and `LANES` included, set to VALUE) or
//! `FILE.wgsl@ty=TY,rpw=N[,q8=1][,NAME=VALUE...]`: FILE's text after `common.wgsl` and the
//! reduction file (subgroup or not, as the adapter allows), with its `const NAME: u32 = ...;`
//! lines set to VALUE, bound like the matvec family (params, weights, x, y; with `q8=1` x comes
//! quantized to 8 bits by quantize_q8, as wick's q4_K kernel takes it) and dispatched as
//! `fold(m, rpw)` workgroups.
//!
//! Prefill matmuls on cooperative matrices (where the adapter has them): `coop:TY` is wick's,
//! `FILE.wgsl@ty=TY,coop=1[,tile=N][,rtile=R][,NAME=VALUE...]` FILE in its place (after the same
//! enables, decoders and matrix types; NAME may also be `WG` or `S`), dispatched as tiles of N
//! output features by R rows (the kernel's own tile by default; R defaults to N). Their
//! reference rounds both operands to f16 as the kernel does. Use LAB_ROWS=512 for them.
//!
//! Weights are a 256-row quantized pattern repeated to m rows; timing cycles through copies of
//! them (LAB_COLD_MIB) in one pass, after a second and a half of warm-up, and prints the median
//! per dispatch with weight GB/s (and TFLOP/s), the NMSE against the reference and the worst
//! error over the kernel tests' bound (WRONG past an NMSE of 1e-10, 1e-8 against f16 operands,
//! or past the bound). Environment: LAB_SIZES (MxK list, default
//! 4096x4096,14336x4096,4096x14336,1024x4096), LAB_ROWS (batch rows, 1,4), LAB_COLD_MIB (256),
//! LAB_REPS (15).

use std::num::NonZeroU64;

use wick_backends::standalone::{self, Dispatch, Stopwatch};
use wick_backends::{Gpu, Kernel, fold};
use wick_core::quant::GgmlType;
use wick_shaders::{Binding, CoopSize, Family, Variant};

const COMMON: &str = include_str!("../../shaders/wgsl/common.wgsl");
const REDUCE_SG: &str = include_str!("../../shaders/wgsl/reduce_sg.wgsl");
const REDUCE_WG: &str = include_str!("../../shaders/wgsl/reduce_wg.wgsl");
const MATMUL_COOP: &str = include_str!("../../shaders/wgsl/matmul_coop.wgsl");

struct Spec {
    name: String,
    ty: GgmlType,
    rpw: u32,
    /// Takes x quantized to 8 bits (quantize_q8's layout) instead of f32.
    q8: bool,
    /// A matmul on cooperative matrices: the features and rows of its tile.
    tile: Option<(u32, u32)>,
    source: String,
}

/// The side of the cooperative matrices this adapter multiplies.
fn coop_size(gpu: &Gpu) -> CoopSize {
    gpu.caps
        .coop
        .expect("the adapter has no cooperative matrices wick can use")
}

fn parse_ty(s: &str) -> GgmlType {
    for ty in wick_shaders::WEIGHT_FORMATS {
        if ty.name() == s {
            return ty;
        }
    }
    panic!("unknown type {s}");
}

fn parse(spec: &str, gpu: &Gpu) -> Spec {
    if let Some(t) = spec.strip_prefix("base:") {
        let (t, opts) = t.split_once('@').unwrap_or((t, ""));
        let ty = parse_ty(t);
        let v = Variant::new(Family::Matvec(ty), gpu.caps.subgroups);
        let mut rpw = Family::Matvec(ty).matvec_rows();
        let mut consts = Vec::new();
        let mut source = v.source();
        for kv in opts.split(',').filter(|kv| !kv.is_empty()) {
            match kv.split_once('=').expect("NAME=VALUE") {
                ("rpw", v) => rpw = v.parse().unwrap(),
                ("body", file) => {
                    let body =
                        std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{file}: {e}"));
                    let own =
                        wick_shaders::matvec_kernel(ty).expect("a format with its own matvec");
                    source = source.replace(own, &body);
                }
                c => consts.push(c),
            }
        }
        return Spec {
            name: spec.to_string(),
            ty,
            rpw,
            q8: wick_shaders::matvec_takes_q8(ty),
            tile: None,
            source: set_consts(&source, &consts, spec),
        };
    }
    if let Some(t) = spec.strip_prefix("coop:") {
        let ty = parse_ty(t);
        let size = coop_size(gpu);
        return Spec {
            name: spec.to_string(),
            ty,
            rpw: 0,
            q8: false,
            tile: Family::MatmulCoop(ty, size).matmul_tile(),
            source: Variant::new(Family::MatmulCoop(ty, size), false).source(),
        };
    }
    let (file, opts) = spec.split_once('@').expect("FILE@opts");
    let mut body = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{file}: {e}"));
    let mut ty = None;
    let mut rpw = None;
    let mut q8 = false;
    let mut coop = false;
    let mut tile = None;
    let mut rtile = None;
    let mut consts = Vec::new();
    for kv in opts.split(',') {
        let (k, v) = kv.split_once('=').expect("NAME=VALUE");
        match k {
            "ty" => ty = Some(parse_ty(v)),
            "rpw" => rpw = Some(v.parse().unwrap()),
            "q8" => q8 = v == "1",
            "coop" => coop = v == "1",
            "tile" => tile = Some(v.parse().unwrap()),
            "rtile" => rtile = Some(v.parse().unwrap()),
            name => consts.push((name, v)),
        }
    }
    let ty = ty.expect("ty=");
    if coop {
        let size = coop_size(gpu);
        let base = Variant::new(Family::MatmulCoop(ty, size), false).source();
        return Spec {
            name: spec.to_string(),
            ty,
            rpw: 0,
            q8: false,
            tile: Family::MatmulCoop(ty, size)
                .matmul_tile()
                .map(|(features, rows)| match tile {
                    Some(t) => (t, rtile.unwrap_or(t)),
                    None => (features, rtile.unwrap_or(rows)),
                }),
            source: set_consts(&base.replace(MATMUL_COOP, &body), &consts, file),
        };
    }
    body = set_consts(&body, &consts, file);
    let mut source = String::from(COMMON);
    source.push_str(if gpu.caps.subgroups {
        REDUCE_SG
    } else {
        REDUCE_WG
    });
    source.push_str(&body);
    Spec {
        name: spec.to_string(),
        ty,
        rpw: rpw.expect("rpw="),
        q8,
        tile: None,
        source,
    }
}

/// `source` with each `const NAME: u32 = ...;` line of `consts` set to its value.
fn set_consts(source: &str, consts: &[(&str, &str)], file: &str) -> String {
    let mut out = source.to_string();
    for (name, v) in consts {
        let prefix = format!("const {name}: u32 = ");
        let mut found = false;
        out = out
            .lines()
            .map(|l| {
                if l.starts_with(&prefix) {
                    found = true;
                    format!("{prefix}{v}u;")
                } else {
                    l.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        assert!(found, "{file}: no const {name}");
    }
    out
}

fn build(gpu: &Gpu, label: &str, source: &str) -> Kernel {
    let entries: Vec<wgpu::BindGroupLayoutEntry> = Family::Matvec(GgmlType::Q4_K)
        .bindings()
        .iter()
        .enumerate()
        .map(|(i, b)| wgpu::BindGroupLayoutEntry {
            binding: i as u32,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Buffer {
                ty: match b {
                    Binding::Uniform => wgpu::BufferBindingType::Uniform,
                    Binding::Read => wgpu::BufferBindingType::Storage { read_only: true },
                    Binding::ReadWrite => wgpu::BufferBindingType::Storage { read_only: false },
                },
                has_dynamic_offset: false,
                min_binding_size: match b {
                    Binding::Uniform => NonZeroU64::new(32),
                    _ => None,
                },
            },
            count: None,
        })
        .collect();
    let device = &gpu.device;
    let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some(label),
        entries: &entries,
    });
    let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some(label),
        bind_group_layouts: &[Some(&layout)],
        immediate_size: 0,
    });
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some(label),
        source: wgpu::ShaderSource::Wgsl(source.into()),
    });
    let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(label),
        layout: Some(&pipeline_layout),
        module: &module,
        entry_point: Some("main"),
        compilation_options: Default::default(),
        cache: None,
    });
    Kernel {
        label: label.to_string(),
        layout,
        bindings: Family::Matvec(GgmlType::Q4_K).bindings().to_vec(),
        pipelines: vec![pipeline],
    }
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
}

/// Quantized weights of m x k (a 256-row pattern repeated) and their dequantized values.
struct Data {
    bytes: Vec<u8>,
    deq: Vec<f32>,
}

fn data(ty: GgmlType, m: usize, k: usize) -> Data {
    let base_rows = m.min(256);
    let mut rng = Rng(ty.id() as u64 * 7 + k as u64);
    let vals: Vec<f32> = (0..base_rows * k).map(|_| rng.next() * 0.05).collect();
    let q = ty.quantize(&vals).unwrap();
    let dq = ty.dequantize_to_vec(&q, base_rows * k).unwrap();
    let mut bytes = Vec::with_capacity(q.len() * m / base_rows + q.len());
    let mut deq = Vec::with_capacity(m * k);
    let rb = q.len() / base_rows;
    for i in 0..m {
        let r = i % base_rows;
        bytes.extend_from_slice(&q[r * rb..(r + 1) * rb]);
        deq.extend_from_slice(&dq[r * k..(r + 1) * k]);
    }
    Data { bytes, deq }
}

/// The values a buffer of `rows` rows of `k` quantized by quantize_q8 stands for.
fn q8_values(gpu: &Gpu, q8: &wgpu::Buffer, rows: usize, k: usize) -> Vec<f32> {
    let bytes: Vec<u8> = standalone::download(gpu, q8).expect("read back quantized x");
    let row_bytes = wick_shaders::q8_row_bytes(k as u64) as usize;
    bytes
        .chunks_exact(row_bytes)
        .take(rows)
        .flat_map(|row| wick_shaders::q8_row_values(row, k))
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let gpu = Gpu::new().expect("gpu");
    let watch = Stopwatch::new(&gpu);
    eprintln!("adapter {} timestamps {}", gpu.caps, watch.gpu_timestamps());
    let env = |k: &str, d: &str| std::env::var(k).unwrap_or_else(|_| d.to_string());
    let sizes: Vec<(usize, usize)> = env("LAB_SIZES", "4096x4096,14336x4096,4096x14336,1024x4096")
        .split(',')
        .map(|s| {
            let (m, k) = s.split_once('x').unwrap();
            (m.parse().unwrap(), k.parse().unwrap())
        })
        .collect();
    let rows_list: Vec<usize> = env("LAB_ROWS", "1,4")
        .split(',')
        .map(|s| s.parse().unwrap())
        .collect();
    let cold: u64 = env("LAB_COLD_MIB", "256").parse::<u64>().unwrap() << 20;
    let reps: usize = env("LAB_REPS", "15").parse().unwrap();
    let specs: Vec<Spec> = args.iter().map(|a| parse(a, &gpu)).collect();
    let kernels: Vec<Option<Kernel>> = specs
        .iter()
        .map(|spec| {
            let kern = build(&gpu, &spec.name, &spec.source);
            match gpu.wait() {
                Ok(()) => Some(kern),
                Err(e) => {
                    println!("{}: build error {e}", spec.name);
                    None
                }
            }
        })
        .collect();
    let mut types: Vec<GgmlType> = Vec::new();
    for s in &specs {
        if !types.contains(&s.ty) {
            types.push(s.ty);
        }
    }
    // Warm the GPU up (clocks) with a second of the first size's reads.
    if let (Some(&(m, k)), Some(Some(kern))) = (sizes.first(), kernels.first()) {
        let d = data(specs[0].ty, m, k);
        let w = standalone::storage(&gpu, &d.bytes);
        let xb = standalone::storage(&gpu, bytemuck::cast_slice(&vec![0f32; 4 * k]));
        let yb = standalone::storage(&gpu, bytemuck::cast_slice(&vec![0f32; 4 * m]));
        let params = [
            k as u32,
            m as u32,
            (d.bytes.len() / m) as u32,
            0,
            1,
            k as u32,
            m as u32,
            0,
        ];
        let ds: Vec<Dispatch> = (0..64)
            .map(|_| {
                Dispatch::new(
                    &gpu,
                    kern,
                    0,
                    params,
                    &[&w, &xb, &yb],
                    match specs[0].tile {
                        Some((t, _)) => ((m as u32).div_ceil(t), 1),
                        None => fold(m as u64, u64::from(specs[0].rpw)),
                    },
                )
            })
            .collect();
        let refs: Vec<&Dispatch> = ds.iter().collect();
        let start = std::time::Instant::now();
        while start.elapsed().as_secs_f64() < 1.5 {
            let _ = watch.time(&gpu, &refs);
        }
    }
    for &(m, k) in &sizes {
        for &ty in &types {
            let d = data(ty, m, k);
            let rb = d.bytes.len() / m;
            let copies = cold.div_ceil(d.bytes.len() as u64).max(1) as usize;
            let bufs: Vec<wgpu::Buffer> = (0..copies)
                .map(|_| standalone::storage(&gpu, &d.bytes))
                .collect();
            for (spec, kern) in specs.iter().zip(&kernels) {
                let Some(kern) = kern else { continue };
                if spec.ty != ty {
                    continue;
                }
                for &rows in &rows_list {
                    let mut rng = Rng(99 + rows as u64);
                    let mut x: Vec<f32> = (0..rows * k).map(|_| rng.next()).collect();
                    let mut xb = standalone::storage(&gpu, bytemuck::cast_slice(&x));
                    if spec.q8 {
                        xb = standalone::quantize_q8(&gpu, &xb, rows, k, k);
                        x = q8_values(&gpu, &xb, rows, k);
                    }
                    let yb = standalone::storage(&gpu, bytemuck::cast_slice(&vec![0f32; rows * m]));
                    let params = [
                        k as u32,
                        m as u32,
                        rb as u32,
                        0,
                        rows as u32,
                        k as u32,
                        m as u32,
                        0,
                    ];
                    let groups = match spec.tile {
                        Some((t, rt)) => ((m as u32).div_ceil(t), (rows as u32).div_ceil(rt)),
                        None => fold(m as u64, u64::from(spec.rpw)),
                    };
                    let ds: Vec<Dispatch> = bufs
                        .iter()
                        .map(|w| Dispatch::new(&gpu, kern, 0, params, &[w, &xb, &yb], groups))
                        .collect();
                    // Correctness: one dispatch.
                    standalone::submit(&gpu, &[&ds[0]]);
                    let got: Vec<f32> = match standalone::download(&gpu, &yb) {
                        Ok(v) => v,
                        Err(e) => {
                            println!("{}: run error {e}", spec.name);
                            continue;
                        }
                    };
                    let (mut err2, mut ref2, mut worst) = (0f64, 0f64, 0f64);
                    let check_rows = m.min(512);
                    // Cooperative matrices take f16 operands: so does their reference.
                    let operand = |v: f32| match spec.tile {
                        Some(_) => f64::from(half::f16::from_f32(v).to_f32()),
                        None => f64::from(v),
                    };
                    for r in (0..rows).step_by(rows.div_ceil(16)) {
                        for i in (0..m).step_by(m / check_rows) {
                            let (mut dot, mut mag, mut most) = (0f64, 0f64, 0f64);
                            for j in 0..k {
                                let t = operand(d.deq[i * k + j]) * operand(x[r * k + j]);
                                dot += t;
                                mag += t.abs();
                                most = most.max(t.abs());
                            }
                            let e = f64::from(got[r * m + i]) - dot;
                            err2 += e * e;
                            ref2 += dot * dot;
                            // A weight whose f32 value is a tie to f16 may round either way.
                            let tie = if spec.tile.is_some() {
                                most / 2048.0
                            } else {
                                0.0
                            };
                            let bound = 2.0 * k as f64 * (f32::EPSILON as f64 / 2.0) * mag + tie;
                            worst = worst.max(e.abs() / bound);
                        }
                    }
                    let nmse = err2 / ref2.max(1e-300);
                    // Against f16 operands, weights that tie between two halves may round either
                    // way: at k = 14336 that alone reaches NMSE 3e-10.
                    let nmse_limit = if spec.tile.is_some() { 1e-8 } else { 1e-10 };
                    // Timing.
                    let refs: Vec<&Dispatch> = ds.iter().collect();
                    let _ = watch.time(&gpu, &refs);
                    let mut times: Vec<f64> = (0..reps)
                        .map(|_| watch.time(&gpu, &refs).unwrap().as_secs_f64())
                        .collect();
                    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
                    let t = times[reps / 2] / copies as f64;
                    let gbs = d.bytes.len() as f64 / t / 1e9;
                    let tflops = 2.0 * (m * k * rows) as f64 / t / 1e12;
                    println!(
                        "{:<44} {:>5}x{:<5} rows {} {:>8.2} us {:>7.0} GB/s {:>6.1} TFLOP/s  nmse {:.1e} worst/bound {:.3}{}",
                        spec.name,
                        m,
                        k,
                        rows,
                        t * 1e6,
                        gbs,
                        tflops,
                        nmse,
                        worst,
                        if nmse > nmse_limit || worst > 1.0 {
                            "  WRONG"
                        } else {
                            ""
                        }
                    );
                }
            }
        }
    }
}
