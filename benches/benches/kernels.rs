//! GPU time of the hot kernels, 16 dispatches per iteration in one submit, waited for: the
//! quantized matvec of decode for every weight format, and the prefill matmul.
//!
//!     cargo bench -p wick-benches                      # 4096 x 4096 weights, 512-row matmul
//!     WICK_BENCH_K=1024 WICK_BENCH_M=1024 WICK_BENCH_ROWS=64 cargo bench -p wick-benches
//!
//! Throughput is the weight bytes the dispatches read, so criterion prints GB/s. On a software
//! driver (lavapipe) use the smaller sizes; `cargo test` runs each bench once as a smoke test
//! (about 20 s on lavapipe at the default sizes).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use wgpu::util::DeviceExt;
use wick_backends::{Gpu, Kernel, fold};
use wick_core::quant::GgmlType;
use wick_shaders::{Family, MATMUL_TILE_ROWS, MATVEC_ROWS_PER_WG, Variant, WEIGHT_FORMATS, WG};

/// A size from the environment, or the default.
fn size(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn storage(gpu: &Gpu, bytes: &[u8], usage: wgpu::BufferUsages) -> wgpu::Buffer {
    let mut padded = bytes.to_vec();
    padded.resize(bytes.len().div_ceil(4) * 4, 0);
    gpu.device
        .create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: None,
            contents: &padded,
            usage: wgpu::BufferUsages::STORAGE | usage,
        })
}

/// Weights of `ty`, m x k, quantized from a smooth pattern by the reference quantizer.
fn weights(ty: GgmlType, m: usize, k: usize) -> Vec<u8> {
    let values: Vec<f32> = (0..m * k)
        .map(|i| ((i * 7919 % 1013) as f32 / 1013.0 - 0.5) * 0.1)
        .collect();
    ty.quantize(&values)
        .expect("every weight format has a reference quantizer")
}

/// A matrix product ready to dispatch: the kernel, its bind group and workgroup counts.
struct Product {
    kernel: Kernel,
    bind_group: wgpu::BindGroup,
    groups: (u32, u32),
}

fn product(gpu: &Gpu, family: Family, ty: GgmlType, m: usize, k: usize, rows: usize) -> Product {
    let kernel = Kernel::build(gpu, &Variant::new(family, gpu.caps.subgroups, gpu.caps.f16));
    let w = storage(gpu, &weights(ty, m, k), wgpu::BufferUsages::empty());
    let x: Vec<f32> = (0..rows * k).map(|i| (i % 97) as f32 / 97.0).collect();
    let x = storage(gpu, bytemuck::cast_slice(&x), wgpu::BufferUsages::empty());
    let y = storage(gpu, &vec![0; rows * m * 4], wgpu::BufferUsages::empty());
    let row_bytes = wick_shaders::row_bytes(ty, k as u64) as u32;
    let params: [u32; 8] = [
        k as u32,
        m as u32,
        row_bytes,
        0,
        rows as u32,
        k as u32,
        m as u32,
        0,
    ];
    let uniform = gpu
        .device
        .create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("params"),
            contents: bytemuck::cast_slice(&params),
            usage: wgpu::BufferUsages::UNIFORM,
        });
    let entries: Vec<wgpu::BindGroupEntry> = [&uniform, &w, &x, &y]
        .iter()
        .enumerate()
        .map(|(i, b)| wgpu::BindGroupEntry {
            binding: i as u32,
            resource: b.as_entire_binding(),
        })
        .collect();
    let bind_group = gpu.device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: None,
        layout: &kernel.layout,
        entries: &entries,
    });
    let groups = match family {
        Family::Matvec(_) => fold(m as u64, u64::from(MATVEC_ROWS_PER_WG)),
        _ => (
            (m as u32).div_ceil(WG),
            (rows as u32).div_ceil(MATMUL_TILE_ROWS),
        ),
    };
    Product {
        kernel,
        bind_group,
        groups,
    }
}

/// Dispatches per iteration, in one pass and one submit: a single dispatch would mostly time
/// the submit-and-wait round trip (about 80 us on an H100 through Vulkan), not the kernel.
const REPEAT: u32 = 16;

/// Dispatches REPEAT times and waits for the GPU.
fn run(gpu: &Gpu, p: &Product) {
    let mut encoder = gpu.device.create_command_encoder(&Default::default());
    {
        let mut pass = encoder.begin_compute_pass(&Default::default());
        pass.set_pipeline(&p.kernel.pipelines[0]);
        pass.set_bind_group(0, &p.bind_group, &[]);
        for _ in 0..REPEAT {
            pass.dispatch_workgroups(p.groups.0, p.groups.1, 1);
        }
    }
    gpu.queue.submit([encoder.finish()]);
    gpu.wait().expect("the dispatch ran");
}

fn products(c: &mut Criterion) {
    let gpu = Gpu::new().expect("no GPU adapter; install a Vulkan driver such as lavapipe");
    let (k, m) = (size("WICK_BENCH_K", 4096), size("WICK_BENCH_M", 4096));
    let rows = size("WICK_BENCH_ROWS", 512);
    let bytes = |ty: GgmlType| wick_shaders::row_bytes(ty, k as u64) * m as u64 * u64::from(REPEAT);

    let mut g = c.benchmark_group(format!("matvec {m}x{k}"));
    g.sample_size(10);
    for ty in WEIGHT_FORMATS {
        let p = product(&gpu, Family::Matvec(ty), ty, m, k, 1);
        g.throughput(Throughput::Bytes(bytes(ty)));
        g.bench_function(BenchmarkId::from_parameter(ty), |b| {
            b.iter(|| run(&gpu, &p))
        });
    }
    g.finish();

    let mut g = c.benchmark_group(format!("matmul {m}x{k}, {rows} rows"));
    g.sample_size(10);
    for ty in [GgmlType::Q4_K, GgmlType::Q6_K, GgmlType::Q8_0] {
        let p = product(&gpu, Family::Matmul(ty), ty, m, k, rows);
        g.throughput(Throughput::Bytes(bytes(ty)));
        g.bench_function(BenchmarkId::from_parameter(ty), |b| {
            b.iter(|| run(&gpu, &p))
        });
    }
    g.finish();
}

criterion_group!(benches, products);
criterion_main!(benches);
