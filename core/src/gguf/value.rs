//! Metadata values and their wire format.

use super::GgufError;
use super::cursor::Cursor;

/// A metadata value as the file stores it.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    U8(u8),
    I8(i8),
    U16(u16),
    I16(i16),
    U32(u32),
    I32(i32),
    U64(u64),
    I64(i64),
    F32(f32),
    F64(f64),
    Bool(bool),
    String(String),
    Array(Vec<Value>),
}

impl Value {
    /// The GGUF name of the value's type, as errors report it.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::U8(_) => "u8",
            Value::I8(_) => "i8",
            Value::U16(_) => "u16",
            Value::I16(_) => "i16",
            Value::U32(_) => "u32",
            Value::I32(_) => "i32",
            Value::U64(_) => "u64",
            Value::I64(_) => "i64",
            Value::F32(_) => "f32",
            Value::F64(_) => "f64",
            Value::Bool(_) => "bool",
            Value::String(_) => "string",
            Value::Array(_) => "array",
        }
    }

    /// Any integer value, widened so that every GGUF integer type fits.
    pub fn as_integer(&self) -> Option<i128> {
        Some(match *self {
            Value::U8(v) => v.into(),
            Value::I8(v) => v.into(),
            Value::U16(v) => v.into(),
            Value::I16(v) => v.into(),
            Value::U32(v) => v.into(),
            Value::I32(v) => v.into(),
            Value::U64(v) => v.into(),
            Value::I64(v) => v.into(),
            _ => return None,
        })
    }

    /// A float or integer value as f32, rounding where f32 cannot hold it exactly.
    pub fn as_f32(&self) -> Option<f32> {
        match *self {
            Value::F32(v) => Some(v),
            Value::F64(v) => Some(v as f32),
            _ => self.as_integer().map(|v| v as f32),
        }
    }

    /// The text of a string value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }
}

/// Arrays nest at most this deep; real files use one level. The bound keeps a file of nested
/// array headers from overflowing the stack.
const MAX_ARRAY_DEPTH: u32 = 16;

/// Arrays reserve at most this many elements up front; longer ones grow as elements are read,
/// so memory follows the bytes actually present rather than the count the file claims.
const MAX_RESERVE: u64 = 1 << 20;

/// The type ids of the GGUF wire format.
#[derive(Clone, Copy)]
enum ValueType {
    U8,
    I8,
    U16,
    I16,
    U32,
    I32,
    F32,
    Bool,
    String,
    Array,
    U64,
    I64,
    F64,
}

impl ValueType {
    fn from_id(id: u32) -> Option<Self> {
        use ValueType::*;
        // Indexed by id, as the GGUF specification numbers them.
        const BY_ID: [ValueType; 13] = [
            U8, I8, U16, I16, U32, I32, F32, Bool, String, Array, U64, I64, F64,
        ];
        BY_ID.get(usize::try_from(id).ok()?).copied()
    }

    /// The fewest bytes one value of the type takes: a string is at least its length field, an
    /// array at least its element type and count.
    fn min_bytes(self) -> u64 {
        match self {
            ValueType::U8 | ValueType::I8 | ValueType::Bool => 1,
            ValueType::U16 | ValueType::I16 => 2,
            ValueType::U32 | ValueType::I32 | ValueType::F32 => 4,
            ValueType::U64 | ValueType::I64 | ValueType::F64 | ValueType::String => 8,
            ValueType::Array => 12,
        }
    }
}

/// Reads a value type id, then the value; `key` names the entry in errors.
pub(super) fn read_typed_value(cur: &mut Cursor<'_>, key: &str) -> Result<Value, GgufError> {
    let ty = read_type(cur, key)?;
    read_value(cur, ty, key, 0)
}

fn read_type(cur: &mut Cursor<'_>, key: &str) -> Result<ValueType, GgufError> {
    let offset = cur.pos();
    let id = cur.u32(|| format!("value type of metadata key {key:?}"))?;
    ValueType::from_id(id).ok_or_else(|| GgufError::UnknownValueType {
        key: key.to_owned(),
        offset,
        id,
    })
}

fn read_value(
    cur: &mut Cursor<'_>,
    ty: ValueType,
    key: &str,
    depth: u32,
) -> Result<Value, GgufError> {
    let what = || format!("value of metadata key {key:?}");
    Ok(match ty {
        ValueType::U8 => Value::U8(cur.u8(what)?),
        ValueType::I8 => Value::I8(cur.u8(what)? as i8),
        ValueType::U16 => Value::U16(cur.u16(what)?),
        ValueType::I16 => Value::I16(cur.u16(what)? as i16),
        ValueType::U32 => Value::U32(cur.u32(what)?),
        ValueType::I32 => Value::I32(cur.u32(what)? as i32),
        ValueType::U64 => Value::U64(cur.u64(what)?),
        ValueType::I64 => Value::I64(cur.u64(what)? as i64),
        ValueType::F32 => Value::F32(f32::from_bits(cur.u32(what)?)),
        ValueType::F64 => Value::F64(f64::from_bits(cur.u64(what)?)),
        ValueType::Bool => {
            let offset = cur.pos();
            match cur.u8(what)? {
                0 => Value::Bool(false),
                1 => Value::Bool(true),
                value => {
                    return Err(GgufError::InvalidBool {
                        key: key.to_owned(),
                        offset,
                        value,
                    });
                }
            }
        }
        ValueType::String => Value::String(cur.string(what)?.to_owned()),
        ValueType::Array => read_array(cur, key, depth)?,
    })
}

fn read_array(cur: &mut Cursor<'_>, key: &str, depth: u32) -> Result<Value, GgufError> {
    let offset = cur.pos();
    if depth >= MAX_ARRAY_DEPTH {
        return Err(GgufError::ArrayTooDeep {
            key: key.to_owned(),
            offset,
            max: MAX_ARRAY_DEPTH,
        });
    }
    let elem = read_type(cur, key)?;
    let count = cur.count(elem.min_bytes(), || {
        format!("array length of metadata key {key:?}")
    })?;
    // count is bounded by the file size, so it fits in usize wherever the file was mapped.
    let mut items = Vec::with_capacity(count.min(MAX_RESERVE) as usize);
    for _ in 0..count {
        items.push(read_value(cur, elem, key, depth + 1)?);
    }
    Ok(Value::Array(items))
}
