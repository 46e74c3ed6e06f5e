//! The adapter, the device opened with the adapter's real limits, and what it can do.

use std::sync::{Arc, Mutex};

use wick_core::quant::GgmlType;
use wick_shaders::{CoopSize, Family};

use crate::BackendError;

/// What the adapter offers, read once when the device opens.
#[derive(Clone, Debug)]
pub struct Capabilities {
    pub adapter: String,
    pub backend: String,
    pub subgroups: bool,
    /// The cooperative matrices prefill matmuls run on, if the adapter has usable ones.
    pub coop: Option<CoopSize>,
    /// Timestamp queries inside compute passes (profiling).
    pub timestamps: bool,
    pub max_binding: u64,
    pub max_buffer: u64,
    pub uniform_align: u64,
}

impl std::fmt::Display for Capabilities {
    /// The adapter, its backend and the optional features wick uses, e.g. `NVIDIA H200
    /// (Vulkan, subgroups, 16x16 cooperative matrices)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}", self.adapter, self.backend)?;
        if self.subgroups {
            f.write_str(", subgroups")?;
        }
        if let Some(size) = self.coop {
            let n = size.side();
            write!(f, ", {n}x{n} cooperative matrices")?;
        }
        f.write_str(")")
    }
}

pub struct Gpu {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub caps: Capabilities,
    /// The first wgpu error not yet reported; wgpu's default handler would panic instead.
    error: Arc<Mutex<Option<String>>>,
}

impl Gpu {
    /// Opens the first high-performance adapter with the features wick can use and its full limits.
    /// `WICK_NO_SUBGROUPS=1` forces the fallback kernels; `WICK_NO_COOP=1` keeps prefill off
    /// cooperative matrices.
    pub fn new() -> Result<Gpu, BackendError> {
        let instance =
            wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        let adapter = pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::HighPerformance,
            ..Default::default()
        }))
        .map_err(|_| BackendError::NoAdapter)?;
        let offered = adapter.features();
        let off = |var: &str| std::env::var(var).is_ok_and(|v| v == "1");
        let mut features = wgpu::Features::empty();
        if offered.contains(wgpu::Features::SUBGROUP) && !off("WICK_NO_SUBGROUPS") {
            features |= wgpu::Features::SUBGROUP;
        }
        // Timestamps around each dispatch, for profiles.
        let timestamps =
            wgpu::Features::TIMESTAMP_QUERY | wgpu::Features::TIMESTAMP_QUERY_INSIDE_PASSES;
        if offered.contains(timestamps) {
            features |= timestamps;
        }
        let limits = adapter.limits();
        let open = |features: wgpu::Features, experimental: wgpu::ExperimentalFeatures| {
            pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
                label: Some("wick"),
                required_features: features,
                required_limits: limits.clone(),
                experimental_features: experimental,
                ..Default::default()
            }))
        };
        let mut coop = coop_size(&adapter, features).filter(|_| !off("WICK_NO_COOP"));
        let with_coop =
            features | wgpu::Features::EXPERIMENTAL_COOPERATIVE_MATRIX | wgpu::Features::SHADER_F16;
        let opened = if coop.is_some() {
            // SAFETY: wick uses the experimental feature only for cooperative-matrix loads,
            // stores and multiply-adds of the one shape `coop_size` found the adapter lists;
            // the matmul kernel tests check its results against the CPU.
            let experimental = unsafe { wgpu::ExperimentalFeatures::enabled() };
            open(with_coop, experimental).ok()
        } else {
            None
        };
        // An experimental feature may fail where the rest works: then open without it.
        let (device, queue) = match opened {
            Some(opened) => {
                features = with_coop;
                opened
            }
            None => {
                coop = None;
                open(features, wgpu::ExperimentalFeatures::disabled())
                    .map_err(|e| BackendError::Device(e.to_string()))?
            }
        };
        let info = adapter.get_info();
        let caps = Capabilities {
            adapter: info.name,
            backend: format!("{:?}", info.backend),
            subgroups: features.contains(wgpu::Features::SUBGROUP),
            coop,
            timestamps: features.contains(timestamps),
            max_binding: limits.max_storage_buffer_binding_size,
            max_buffer: limits.max_buffer_size,
            uniform_align: u64::from(limits.min_uniform_buffer_offset_alignment),
        };
        let error = Arc::new(Mutex::new(None));
        let slot = Arc::clone(&error);
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            if let Ok(mut slot) = slot.lock() {
                slot.get_or_insert_with(|| e.to_string().replace('\n', " "));
            }
        }));
        Ok(Gpu {
            device,
            queue,
            caps,
            error,
        })
    }

    /// Largest buffer one binding may see, rounded down to a multiple of 4 bytes.
    pub fn max_part_bytes(&self) -> u64 {
        self.caps.max_binding.min(self.caps.max_buffer) & !3
    }

    /// Maps the first `bytes` of a MAP_READ buffer once the GPU is idle and copies them out.
    pub fn read<T: bytemuck::Pod>(
        &self,
        buffer: &wgpu::Buffer,
        bytes: u64,
    ) -> Result<Vec<T>, BackendError> {
        self.read_after(buffer, bytes, None)
    }

    /// Maps the first `bytes` of a MAP_READ buffer once `submission` (the latest one if `None`)
    /// has finished, and copies them out; later submissions go on running.
    pub fn read_after<T: bytemuck::Pod>(
        &self,
        buffer: &wgpu::Buffer,
        bytes: u64,
        submission: Option<wgpu::SubmissionIndex>,
    ) -> Result<Vec<T>, BackendError> {
        let gpu_err = |e: &dyn std::fmt::Display| BackendError::Gpu(e.to_string());
        let slice = buffer.slice(0..bytes);
        let (tx, rx) = std::sync::mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        self.wait_for(submission)?;
        rx.recv()
            .map_err(|e| gpu_err(&e))?
            .map_err(|e| gpu_err(&e))?;
        let out = bytemuck::pod_collect_to_vec(&slice.get_mapped_range().map_err(|e| gpu_err(&e))?);
        buffer.unmap();
        Ok(out)
    }

    /// Blocks until the queue is idle, then reports the first wgpu error since the last call.
    pub fn wait(&self) -> Result<(), BackendError> {
        self.wait_for(None)
    }

    /// Blocks until `submission` (the latest one if `None`) has finished, then reports the first
    /// wgpu error since the last call (before the poll's own: a submission that failed
    /// validation makes waiting for it fail too).
    fn wait_for(&self, submission: Option<wgpu::SubmissionIndex>) -> Result<(), BackendError> {
        let polled = self.device.poll(wgpu::PollType::Wait {
            submission_index: submission,
            timeout: None,
        });
        match self.error.lock().map(|mut e| e.take()) {
            Ok(None) => polled
                .map(|_| ())
                .map_err(|e| BackendError::Gpu(e.to_string())),
            Ok(Some(e)) => Err(BackendError::Gpu(e)),
            Err(_) => Err(BackendError::Gpu("a wgpu error handler panicked".into())),
        }
    }
}

/// The cooperative matrix side the matmul kernel can use on `adapter`: f16 inputs with f32 sums
/// in 16x16x16 (preferred) or 8x8x8 steps, with SHADER_F16, subgroups of exactly 32 (the
/// kernel's subgroups split its tile) and room for its workgroup and its shared memory. wgpu
/// reports Metal's subgroup size as 4 to 64, which keeps the 8x8 (simdgroup matrix) variant off
/// there until it has run on Apple hardware.
fn coop_size(adapter: &wgpu::Adapter, features: wgpu::Features) -> Option<CoopSize> {
    let needed = wgpu::Features::EXPERIMENTAL_COOPERATIVE_MATRIX | wgpu::Features::SHADER_F16;
    let info = adapter.get_info();
    if !adapter.features().contains(needed)
        || !features.contains(wgpu::Features::SUBGROUP)
        || info.subgroup_min_size != 32
        || info.subgroup_max_size != 32
    {
        return None;
    }
    let shapes = adapter.cooperative_matrix_properties();
    let has = |n: u32| {
        shapes.iter().any(|s| {
            (s.m_size, s.n_size, s.k_size) == (n, n, n)
                && s.ab_type == wgpu::CooperativeScalarType::F16
                && s.cr_type == wgpu::CooperativeScalarType::F32
        })
    };
    let limits = adapter.limits();
    let fits = |size: CoopSize| {
        // The workgroup does not depend on the weights' format.
        let wg = Family::MatmulCoop(GgmlType::Q4_K, size).workgroup_size();
        wg <= limits.max_compute_invocations_per_workgroup
            && wg <= limits.max_compute_workgroup_size_x
            && size.workgroup_storage() <= limits.max_compute_workgroup_storage_size
    };
    [CoopSize::Sixteen, CoopSize::Eight]
        .into_iter()
        .find(|&size| has(size.side()) && fits(size))
}
