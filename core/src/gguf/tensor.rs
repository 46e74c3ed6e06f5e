//! Tensor infos: name, shape, type and where the data lies.

use super::GgufError;
use super::cursor::Cursor;
use crate::quant::GgmlType;

/// One tensor of a GGUF file, checked to lie wholly inside the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorInfo {
    pub name: String,
    /// In GGUF order: `dims[0]` is the contiguous dimension.
    pub dims: Vec<u64>,
    pub ty: GgmlType,
    /// Absolute byte offset of the data in the file.
    pub offset: u64,
    pub n_bytes: u64,
}

impl TensorInfo {
    /// The number of elements. The reader has checked that it fits in u64; it saturates for a
    /// hand-built info whose dims overflow.
    pub fn n_elems(&self) -> u64 {
        self.dims
            .iter()
            .fold(1, |acc: u64, &d| acc.saturating_mul(d))
    }
}

/// ggml tensors have at most four dimensions.
const MAX_DIMS: u32 = 4;

/// The smallest tensor info: an empty name's length, the dimension count, one dimension, the
/// type id and the offset.
pub(super) const MIN_INFO_BYTES: u64 = 8 + 4 + 8 + 4 + 8;

/// Reads the info of tensor number `index`. Its `offset` is still relative to the data
/// section; [`place`] makes it absolute.
pub(super) fn read_info(cur: &mut Cursor<'_>, index: u64) -> Result<TensorInfo, GgufError> {
    let at = cur.pos();
    let name = cur
        .string(|| format!("name of tensor #{index}"))?
        .to_owned();
    let n_dims = cur.u32(field_of("dimension count", &name))?;
    if !(1..=MAX_DIMS).contains(&n_dims) {
        return Err(GgufError::InvalidDimCount {
            tensor: name,
            offset: at,
            n_dims,
        });
    }
    let dims = (0..n_dims)
        .map(|_| cur.u64(field_of("dimension", &name)))
        .collect::<Result<Vec<u64>, _>>()?;

    let type_at = cur.pos();
    let id = cur.u32(field_of("type id", &name))?;
    let offset = cur.u64(field_of("data offset", &name))?;

    let ty = GgmlType::from_id(id).map_err(|_| GgufError::UnknownTensorType {
        tensor: name.clone(),
        offset: type_at,
        id,
    })?;
    let Some(n_elems) = dims.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d)) else {
        return Err(GgufError::ElementCountOverflow {
            tensor: name,
            offset: at,
            dims,
        });
    };
    let n_bytes = ty
        .bytes_for(n_elems)
        .map_err(|error| GgufError::TensorSize {
            tensor: name.clone(),
            offset: at,
            ty,
            error,
        })?;

    Ok(TensorInfo {
        name,
        dims,
        ty,
        offset,
        n_bytes,
    })
}

/// Describes a field of a tensor info for read errors.
fn field_of<'a>(field: &'a str, tensor: &'a str) -> impl Fn() -> String + 'a {
    move || format!("{field} of tensor {tensor:?}")
}

/// Turns the info's offset, relative to the data section at `data_offset`, into an absolute
/// one, after checking that it is aligned and that the data ends inside the file.
pub(super) fn place(
    info: &mut TensorInfo,
    data_offset: u64,
    alignment: u64,
    file_size: u64,
) -> Result<(), GgufError> {
    let relative = info.offset;
    if !relative.is_multiple_of(alignment) {
        return Err(GgufError::MisalignedTensor {
            tensor: info.name.clone(),
            offset: relative,
            alignment,
        });
    }
    match data_offset.checked_add(relative) {
        Some(start)
            if start
                .checked_add(info.n_bytes)
                .is_some_and(|end| end <= file_size) =>
        {
            info.offset = start;
            Ok(())
        }
        _ => Err(GgufError::TensorOutOfBounds {
            tensor: info.name.clone(),
            offset: relative,
            n_bytes: info.n_bytes,
            data_offset,
            file_size,
        }),
    }
}
