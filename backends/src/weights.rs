//! Weight upload: GGUF bytes copied unchanged (weights stay quantized), matrices split by rows
//! into parts no larger than the adapter's binding limit; stacked experts split between whole
//! experts, so each expert's matrix (its gate and up rows where those are stacked) lies in one
//! part.

use std::borrow::Cow;

use wgpu::util::DeviceExt;
use wick_core::gguf::TensorInfo;
use wick_core::graph::WeightDesc;
use wick_core::quant::GgmlType;

use crate::{BackendError, Gpu};

pub struct WeightPart {
    pub buffer: wgpu::Buffer,
    /// Rows counted through the stacked experts' matrices.
    pub first_row: u64,
    pub rows: u64,
}

/// A weight on the GPU. Vectors (norms, biases) are stored as f32; matrices as their GGUF bytes.
pub struct GpuWeight {
    pub ty: GgmlType,
    /// Rows of one expert's matrix (of the matrix, without experts).
    pub rows: u64,
    pub cols: u64,
    pub experts: u64,
    pub parts: Vec<WeightPart>,
}

impl GpuWeight {
    /// Uploads the weight `desc` from its tensors `infos` (one per name), whose bytes `data`
    /// returns.
    pub fn upload<'a>(
        gpu: &Gpu,
        desc: &WeightDesc,
        infos: &[&TensorInfo],
        data: impl Fn(&TensorInfo) -> &'a [u8],
    ) -> Result<GpuWeight, BackendError> {
        let name = desc.names.join("+");
        let info = infos[0];
        if desc.rows == 1 {
            return Self::upload_vector(gpu, &name, infos, data);
        }
        if let Some(other) = infos.iter().find(|t| t.ty != info.ty) {
            return Err(BackendError::Unsupported(format!(
                "tensors {} ({}) and {} ({}) cannot be stacked: their types differ",
                info.name, info.ty, other.name, other.ty
            )));
        }
        if !wick_shaders::WEIGHT_FORMATS.contains(&info.ty) {
            return Err(BackendError::Unsupported(format!(
                "tensor {name} has type {}, which wick cannot compute with yet",
                info.ty
            )));
        }
        if !desc.cols.is_multiple_of(32) {
            return Err(BackendError::Unsupported(format!(
                "tensor {name} has {} columns; wick needs a multiple of 32",
                desc.cols
            )));
        }
        let row_bytes = wick_shaders::row_bytes(info.ty, desc.cols);
        // Stacked tensors' rows follow one another within each expert (a plain weight is one
        // expert): stacked experts' matrices hold an expert's gate rows, then its up rows.
        let bytes: Cow<[u8]> = match infos {
            [one] => Cow::Borrowed(data(one)),
            _ => {
                let mut all = Vec::new();
                for e in 0..desc.experts {
                    for t in infos {
                        let per_expert = data(t).len() as u64 / desc.experts;
                        all.extend_from_slice(
                            &data(t)[(e * per_expert) as usize..((e + 1) * per_expert) as usize],
                        );
                    }
                }
                Cow::Owned(all)
            }
        };
        // A part holds whole units: rows, or whole experts' matrices.
        let (unit_rows, unit) = if desc.experts > 1 {
            (desc.rows, "an expert's matrix")
        } else {
            (1, "a row")
        };
        let unit_bytes = row_bytes * unit_rows;
        if unit_bytes > gpu.max_part_bytes() {
            return Err(BackendError::TooLarge {
                what: format!("{unit} of {name}"),
                bytes: unit_bytes,
                limit: gpu.max_part_bytes(),
            });
        }
        let rows_per_part = gpu.max_part_bytes() / unit_bytes * unit_rows;
        let total_rows = desc.rows * desc.experts;
        let mut parts = Vec::new();
        let mut first_row = 0;
        while first_row < total_rows {
            let rows = rows_per_part.min(total_rows - first_row);
            let start = (first_row * row_bytes) as usize;
            let end = start + (rows * row_bytes) as usize;
            let buffer =
                storage_from_bytes(gpu, &format!("{name}[{first_row}..]"), &bytes[start..end]);
            parts.push(WeightPart {
                buffer,
                first_row,
                rows,
            });
            first_row += rows;
        }
        Ok(GpuWeight {
            ty: info.ty,
            rows: desc.rows,
            cols: desc.cols,
            experts: desc.experts,
            parts,
        })
    }

    /// Vectors (norms, biases) as f32, stacked ones one after another.
    fn upload_vector<'a>(
        gpu: &Gpu,
        name: &str,
        infos: &[&TensorInfo],
        data: impl Fn(&TensorInfo) -> &'a [u8],
    ) -> Result<GpuWeight, BackendError> {
        let mut values = Vec::new();
        for t in infos {
            values.extend(
                t.ty.dequantize_to_vec(data(t), t.n_elems() as usize)
                    .map_err(|e| BackendError::Unsupported(format!("tensor {}: {e}", t.name)))?,
            );
        }
        let buffer = storage_from_bytes(gpu, name, bytemuck::cast_slice(&values));
        Ok(GpuWeight {
            ty: GgmlType::F32,
            rows: 1,
            cols: values.len() as u64,
            experts: 1,
            parts: vec![WeightPart {
                buffer,
                first_row: 0,
                rows: 1,
            }],
        })
    }
}

/// A read-only storage buffer holding `bytes`, padded to a multiple of 4 (kernels read u32 words).
pub fn storage_from_bytes(gpu: &Gpu, label: &str, bytes: &[u8]) -> wgpu::Buffer {
    let usage = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST;
    if bytes.len().is_multiple_of(4) {
        return gpu
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents: bytes,
                usage,
            });
    }
    let mut padded = bytes.to_vec();
    padded.resize(bytes.len().div_ceil(4) * 4, 0);
    gpu.device
        .create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(label),
            contents: &padded,
            usage,
        })
}
