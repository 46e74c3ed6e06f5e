//! Kernels run on their own, outside a plan: the kernel tests (`tests/kernels.rs`) and the
//! criterion benches (`benches/`) drive one kernel at a time through the runtime's own pipelines
//! and bind-group layouts ([`Kernel::build`]), with buffers and parameter words of their choosing.
//!
//! ```no_run
//! # use wick_backends::{Gpu, Kernel, standalone::{self, Dispatch, Stopwatch}};
//! # use wick_shaders::{Family, Variant};
//! # fn main() -> Result<(), wick_backends::BackendError> {
//! let gpu = Gpu::new()?;
//! let kernel = Kernel::build(&gpu, &Variant::new(Family::Add, gpu.caps.subgroups));
//! let a = standalone::storage(&gpu, bytemuck::cast_slice(&[1.0f32; 64]));
//! let b = standalone::storage(&gpu, bytemuck::cast_slice(&[2.0f32; 64]));
//! let y = standalone::storage(&gpu, &[0; 256]);
//! let add = Dispatch::new(&gpu, &kernel, 0, [64, 64, 0, 0, 0, 0, 0, 0], &[&a, &b, &y], (1, 1));
//! let gpu_time = Stopwatch::new(&gpu).time(&gpu, &[&add])?;
//! # Ok(())
//! # }
//! ```

use std::time::{Duration, Instant};

use wgpu::util::DeviceExt;

use wick_shaders::{Family, Variant};

use crate::{BackendError, Gpu, Kernel};

/// A storage buffer holding `bytes`, zero-padded to whole words as weight uploads are; it can
/// also be copied from (for readback) and written to.
pub fn storage(gpu: &Gpu, bytes: &[u8]) -> wgpu::Buffer {
    let mut padded = bytes.to_vec();
    padded.resize(bytes.len().div_ceil(4) * 4, 0);
    gpu.device
        .create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: None,
            contents: &padded,
            usage: wgpu::BufferUsages::STORAGE
                | wgpu::BufferUsages::COPY_SRC
                | wgpu::BufferUsages::COPY_DST,
        })
}

/// The contents of a storage buffer, copied back once the GPU is done with it.
pub fn download<T: bytemuck::Pod>(gpu: &Gpu, buf: &wgpu::Buffer) -> Result<Vec<T>, BackendError> {
    let staging = gpu.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("readback"),
        size: buf.size(),
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let mut encoder = gpu.device.create_command_encoder(&Default::default());
    encoder.copy_buffer_to_buffer(buf, 0, &staging, 0, buf.size());
    gpu.queue.submit([encoder.finish()]);
    gpu.read(&staging, buf.size())
}

/// The step buffer kernels read the batch from (`Step` in `common.wgsl`): the header
/// `(n_rows, n_out, 0, 0)`, then `(token, pos, slot, out_row)` for each row.
pub fn step(gpu: &Gpu, n_rows: usize, n_out: usize, rows: &[[u32; 4]]) -> wgpu::Buffer {
    let mut words = vec![n_rows as u32, n_out as u32, 0, 0];
    words.extend(rows.iter().flatten());
    storage(gpu, bytemuck::cast_slice(&words))
}

/// `rows` rows of `k` elements of x, `x_stride` apart in `x`, quantized to 8 bits by the
/// quantize_q8 kernel into a new buffer, as the matvec kernels of
/// [`matvec_takes_q8`](wick_shaders::matvec_takes_q8) formats take their input. Does not wait.
pub fn quantize_q8(
    gpu: &Gpu,
    x: &wgpu::Buffer,
    rows: usize,
    k: usize,
    x_stride: usize,
) -> wgpu::Buffer {
    let bytes = rows as u64 * wick_shaders::q8_row_bytes(k as u64);
    let q8 = storage(gpu, &vec![0; bytes as usize]);
    let kernel = Kernel::build(gpu, &Variant::new(Family::QuantizeQ8, false));
    let params = [k as u32, rows as u32, x_stride as u32, 0, 0, 0, 0, 0];
    let groups = crate::fold((rows * k / 32) as u64, u64::from(wick_shaders::WG));
    submit(
        gpu,
        &[&Dispatch::new(gpu, &kernel, 0, params, &[x, &q8], groups)],
    );
    q8
}

/// One dispatch of a kernel entry point with its own parameter block, ready to record.
pub struct Dispatch {
    pipeline: wgpu::ComputePipeline,
    bind_group: wgpu::BindGroup,
    groups: (u32, u32),
}

impl Dispatch {
    /// Binds the 8 parameter words at binding 0 and `buffers` from binding 1 on, in the order
    /// of the family's [`bindings`](wick_shaders::Family::bindings); `entry` indexes
    /// [`Kernel::pipelines`] and `groups` is the (x, y) workgroup count.
    pub fn new(
        gpu: &Gpu,
        kernel: &Kernel,
        entry: usize,
        params: [u32; 8],
        buffers: &[&wgpu::Buffer],
        groups: (u32, u32),
    ) -> Dispatch {
        let uniform = gpu
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("params"),
                contents: bytemuck::cast_slice(&params),
                usage: wgpu::BufferUsages::UNIFORM,
            });
        let entries: Vec<wgpu::BindGroupEntry> = std::iter::once(&uniform)
            .chain(buffers.iter().copied())
            .enumerate()
            .map(|(i, b)| wgpu::BindGroupEntry {
                binding: i as u32,
                resource: b.as_entire_binding(),
            })
            .collect();
        let bind_group = gpu.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(&kernel.label),
            layout: &kernel.layout,
            entries: &entries,
        });
        Dispatch {
            pipeline: kernel.pipelines[entry].clone(),
            bind_group,
            groups,
        }
    }
}

/// Records `dispatches` in order in one compute pass and submits it; the GPU runs them in order,
/// each seeing the previous one's writes. Does not wait.
pub fn submit(gpu: &Gpu, dispatches: &[&Dispatch]) {
    gpu.queue.submit([encode(gpu, dispatches, None)]);
}

fn encode(
    gpu: &Gpu,
    dispatches: &[&Dispatch],
    timestamps: Option<&wgpu::QuerySet>,
) -> wgpu::CommandBuffer {
    let mut encoder = gpu.device.create_command_encoder(&Default::default());
    {
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: None,
            timestamp_writes: timestamps.map(|query_set| wgpu::ComputePassTimestampWrites {
                query_set,
                beginning_of_pass_write_index: Some(0),
                end_of_pass_write_index: Some(1),
            }),
        });
        for d in dispatches {
            pass.set_pipeline(&d.pipeline);
            pass.set_bind_group(0, &d.bind_group, &[]);
            pass.dispatch_workgroups(d.groups.0, d.groups.1, 1);
        }
    }
    encoder.finish()
}

/// Times submissions on the GPU: with timestamp queries (when the adapter has them), the GPU
/// time between the start and the end of the compute pass; otherwise the wall-clock time from
/// submit until the GPU is idle, which adds the submission's latency (tens of microseconds on
/// a discrete GPU).
pub struct Stopwatch {
    timestamps: Option<Timestamps>,
}

struct Timestamps {
    queries: wgpu::QuerySet,
    resolve: wgpu::Buffer,
    readback: wgpu::Buffer,
    period_ns: f64,
}

impl Stopwatch {
    pub fn new(gpu: &Gpu) -> Stopwatch {
        let timestamps = gpu.caps.timestamps.then(|| {
            let buffer = |usage| {
                gpu.device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("stopwatch"),
                    size: 16,
                    usage,
                    mapped_at_creation: false,
                })
            };
            Timestamps {
                queries: gpu.device.create_query_set(&wgpu::QuerySetDescriptor {
                    label: Some("stopwatch"),
                    ty: wgpu::QueryType::Timestamp,
                    count: 2,
                }),
                resolve: buffer(wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC),
                readback: buffer(wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST),
                period_ns: f64::from(gpu.queue.get_timestamp_period()),
            }
        });
        Stopwatch { timestamps }
    }

    /// Whether times come from GPU timestamps rather than the wall clock.
    pub fn gpu_timestamps(&self) -> bool {
        self.timestamps.is_some()
    }

    /// Submits `dispatches` in one compute pass (as [`submit`] does), waits for the GPU, and
    /// returns how long they ran; reports a wgpu error raised on the way.
    pub fn time(&self, gpu: &Gpu, dispatches: &[&Dispatch]) -> Result<Duration, BackendError> {
        let Some(t) = &self.timestamps else {
            let start = Instant::now();
            submit(gpu, dispatches);
            gpu.wait()?;
            return Ok(start.elapsed());
        };
        let pass = encode(gpu, dispatches, Some(&t.queries));
        let mut encoder = gpu.device.create_command_encoder(&Default::default());
        encoder.resolve_query_set(&t.queries, 0..2, &t.resolve, 0);
        encoder.copy_buffer_to_buffer(&t.resolve, 0, &t.readback, 0, 16);
        gpu.queue.submit([pass, encoder.finish()]);
        let stamps: Vec<u64> = gpu.read(&t.readback, 16)?;
        let ns = stamps[1].saturating_sub(stamps[0]) as f64 * t.period_ns;
        Ok(Duration::from_nanos(ns.round() as u64))
    }
}
