//! The key-value metadata of a GGUF file, with typed accessors whose errors name the key.

use std::collections::HashMap;

use super::{GgufError, Value};

/// Metadata entries in file order, indexed by key.
#[derive(Clone, Debug, Default)]
pub struct Metadata {
    entries: Vec<(String, Value)>,
    index: HashMap<String, usize>,
}

impl Metadata {
    pub(super) fn with_capacity(n: usize) -> Self {
        Metadata {
            entries: Vec::with_capacity(n),
            index: HashMap::with_capacity(n),
        }
    }

    /// Appends an entry, or gives the key back if it is already present.
    pub(super) fn insert(&mut self, key: String, value: Value) -> Result<(), String> {
        if self.index.contains_key(&key) {
            return Err(key);
        }
        self.index.insert(key.clone(), self.entries.len());
        self.entries.push((key, value));
        Ok(())
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.index.get(key).map(|&i| &self.entries[i].1)
    }

    /// Entries in the order the file stores them.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Succeeds only if every key is present; otherwise one error lists all missing keys.
    pub fn require(&self, keys: &[&str]) -> Result<(), GgufError> {
        let missing: Vec<String> = keys
            .iter()
            .filter(|k| self.get(k).is_none())
            .map(|k| (*k).to_owned())
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(GgufError::MissingKeys { keys: missing })
        }
    }

    pub fn get_str(&self, key: &str) -> Result<&str, GgufError> {
        self.convert(key, to_str)
    }

    /// Any integer type is accepted if the value fits in u32.
    pub fn get_u32(&self, key: &str) -> Result<u32, GgufError> {
        self.convert(key, to_u32)
    }

    /// Floats and integers are accepted, rounded to the nearest f32.
    pub fn get_f32(&self, key: &str) -> Result<f32, GgufError> {
        self.convert(key, to_f32)
    }

    pub fn get_bool(&self, key: &str) -> Result<bool, GgufError> {
        self.convert(key, to_bool)
    }

    pub fn opt_str(&self, key: &str) -> Result<Option<&str>, GgufError> {
        self.opt(key, to_str)
    }

    pub fn opt_u32(&self, key: &str) -> Result<Option<u32>, GgufError> {
        self.opt(key, to_u32)
    }

    pub fn opt_f32(&self, key: &str) -> Result<Option<f32>, GgufError> {
        self.opt(key, to_f32)
    }

    pub fn opt_bool(&self, key: &str) -> Result<Option<bool>, GgufError> {
        self.opt(key, to_bool)
    }

    pub fn get_array(&self, key: &str) -> Result<&[Value], GgufError> {
        self.convert(key, |v| match v {
            Value::Array(items) => Ok(items.as_slice()),
            other => Err(Mismatch::type_of("array", other)),
        })
    }

    /// Errors about an element name it as `key[index]`.
    pub fn get_str_array(&self, key: &str) -> Result<Vec<&str>, GgufError> {
        self.convert_array(key, to_str)
    }

    /// Errors about an element name it as `key[index]`.
    pub fn get_f32_array(&self, key: &str) -> Result<Vec<f32>, GgufError> {
        self.convert_array(key, to_f32)
    }

    /// Any integer element type is accepted if every element fits in i32. Errors about an
    /// element name it as `key[index]`.
    pub fn get_i32_array(&self, key: &str) -> Result<Vec<i32>, GgufError> {
        self.convert_array(key, |v| {
            let i = v
                .as_integer()
                .ok_or_else(|| Mismatch::type_of("integer", v))?;
            i32::try_from(i).map_err(|_| Mismatch::Range {
                value: i,
                target: "i32",
            })
        })
    }

    fn convert<'a, T>(
        &'a self,
        key: &str,
        f: impl FnOnce(&'a Value) -> Result<T, Mismatch>,
    ) -> Result<T, GgufError> {
        let value = self.get(key).ok_or_else(|| GgufError::MissingKey {
            key: key.to_owned(),
        })?;
        f(value).map_err(|m| m.at(key.to_owned()))
    }

    fn opt<'a, T>(
        &'a self,
        key: &str,
        f: impl FnOnce(&'a Value) -> Result<T, Mismatch>,
    ) -> Result<Option<T>, GgufError> {
        match self.get(key) {
            None => Ok(None),
            Some(_) => self.convert(key, f).map(Some),
        }
    }

    fn convert_array<'a, T>(
        &'a self,
        key: &str,
        f: impl Fn(&'a Value) -> Result<T, Mismatch>,
    ) -> Result<Vec<T>, GgufError> {
        self.get_array(key)?
            .iter()
            .enumerate()
            .map(|(i, item)| f(item).map_err(|m| m.at(format!("{key}[{i}]"))))
            .collect()
    }
}

/// Why a value could not be converted, before the key it belongs to is known.
enum Mismatch {
    Type {
        expected: &'static str,
        found: &'static str,
    },
    Range {
        value: i128,
        target: &'static str,
    },
}

impl Mismatch {
    fn type_of(expected: &'static str, found: &Value) -> Self {
        Mismatch::Type {
            expected,
            found: found.type_name(),
        }
    }

    fn at(self, key: String) -> GgufError {
        match self {
            Mismatch::Type { expected, found } => GgufError::WrongType {
                key,
                expected,
                found,
            },
            Mismatch::Range { value, target } => GgufError::OutOfRange {
                key,
                value: value.to_string(),
                target,
            },
        }
    }
}

fn to_str(v: &Value) -> Result<&str, Mismatch> {
    v.as_str().ok_or_else(|| Mismatch::type_of("string", v))
}

fn to_u32(v: &Value) -> Result<u32, Mismatch> {
    let i = v
        .as_integer()
        .ok_or_else(|| Mismatch::type_of("integer", v))?;
    u32::try_from(i).map_err(|_| Mismatch::Range {
        value: i,
        target: "u32",
    })
}

fn to_f32(v: &Value) -> Result<f32, Mismatch> {
    v.as_f32().ok_or_else(|| Mismatch::type_of("number", v))
}

fn to_bool(v: &Value) -> Result<bool, Mismatch> {
    match v {
        Value::Bool(b) => Ok(*b),
        other => Err(Mismatch::type_of("bool", other)),
    }
}
