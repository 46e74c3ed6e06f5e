//! Compute pipelines by kernel variant, built on first use with explicit bind-group layouts.

use std::collections::HashMap;
use std::num::NonZeroU64;

use wick_shaders::{Binding, Family, Variant};

use crate::Gpu;

/// Bytes of every kernel's uniform parameter block (8 words).
pub const PARAMS_BYTES: u64 = 32;

pub struct Kernel {
    /// The variant's label, e.g. `matvec.q4_K.sg`.
    pub label: String,
    pub layout: wgpu::BindGroupLayout,
    /// How each binding of group 0 is bound, by binding index.
    pub bindings: Vec<Binding>,
    /// One pipeline per entry point, in [`Family::entry_points`] order.
    pub pipelines: Vec<wgpu::ComputePipeline>,
}

#[derive(Default)]
pub struct Pipelines {
    kernels: HashMap<Variant, Kernel>,
}

impl Pipelines {
    /// The kernel of `family` in the variant this adapter runs (reading x as matvec_add_norm
    /// left it with `normed_x`).
    pub fn get(&mut self, gpu: &Gpu, family: Family, normed_x: bool) -> &Kernel {
        let variant = Variant::new(family, gpu.caps.subgroups).with_normed_x(normed_x);
        self.kernels
            .entry(variant)
            .or_insert_with(|| Kernel::build(gpu, &variant))
    }
}

impl Kernel {
    /// Compiles `variant` with an explicit bind-group layout from its family's bindings.
    pub fn build(gpu: &Gpu, variant: &Variant) -> Kernel {
        Kernel::build_source(gpu, variant, &variant.source())
    }

    /// Compiles `source` in place of `variant`'s own module (a candidate kernel in the labs),
    /// bound and dispatched as the variant.
    pub fn build_source(gpu: &Gpu, variant: &Variant, source: &str) -> Kernel {
        let label = variant.to_string();
        let bindings = variant.bindings();
        let entries: Vec<wgpu::BindGroupLayoutEntry> = bindings
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
                    // Storage sizes depend on the bucket; wgpu checks them against the shader at dispatch.
                    min_binding_size: match b {
                        Binding::Uniform => NonZeroU64::new(PARAMS_BYTES),
                        _ => None,
                    },
                },
                count: None,
            })
            .collect();
        let device = &gpu.device;
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some(&label),
            entries: &entries,
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some(&label),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        // SAFETY: wick's kernels guard every index against their parameters and the buffers a
        // plan binds are sized for them (the kernel tests check both on odd sizes), and every
        // loop is bounded. Without the runtime checks, naga neither clamps array indices nor
        // adds a counter to each loop, which keeps drivers from unrolling them.
        let module = unsafe {
            device.create_shader_module_trusted(
                wgpu::ShaderModuleDescriptor {
                    label: Some(&label),
                    source: wgpu::ShaderSource::Wgsl(source.into()),
                },
                wgpu::ShaderRuntimeChecks::unchecked(),
            )
        };
        let pipelines = variant
            .family
            .entry_points()
            .iter()
            .map(|ep| {
                device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                    label: Some(&format!("{label}.{ep}")),
                    layout: Some(&pipeline_layout),
                    module: &module,
                    entry_point: Some(ep),
                    compilation_options: Default::default(),
                    cache: None,
                })
            })
            .collect();
        Kernel {
            label,
            layout,
            bindings,
            pipelines,
        }
    }
}
