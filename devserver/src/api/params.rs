//! Strict request-parameter checking in the manner of keygen-sh/typed_params: unknown keys,
//! wrong types, blanks and nulls are 400s with a JSON pointer, before any model validation.

use crate::api::errors::{upper_snake, ApiError, ApiResult};
use serde_json::{Map, Value};

#[derive(Clone, Copy)]
pub enum T {
    /// Non-blank string.
    Str,
    /// String that may be blank.
    Text,
    Int,
    Bool,
    /// Integer that must be at least the bound (a model validation: 422 `<ATTR>_INVALID`).
    Min(i64, &'static str),
    /// String that must be one of the values (a model validation: 422 `<ATTR>_NOT_ALLOWED`).
    Enum(&'static [&'static str], &'static str),
    /// Free-form object (metadata).
    Hash,
    Obj(&'static [F]),
    Arr(&'static T),
    /// Any value (checked or coerced by the endpoint itself).
    Any,
}

#[derive(Clone, Copy)]
pub struct F {
    pub name: &'static str,
    pub ty: T,
    pub required: bool,
    pub nullable: bool,
}

pub const fn f(name: &'static str, ty: T) -> F {
    F {
        name,
        ty,
        required: false,
        nullable: false,
    }
}

impl F {
    pub const fn req(self) -> F {
        F {
            required: true,
            ..self
        }
    }
    pub const fn null(self) -> F {
        F {
            nullable: true,
            ..self
        }
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "float",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn expected(t: &T) -> &'static str {
    match t {
        T::Str | T::Text | T::Enum(..) => "string",
        T::Int | T::Min(..) => "integer",
        T::Bool => "boolean",
        T::Hash | T::Obj(_) => "object",
        T::Arr(_) => "array",
        T::Any => "any",
    }
}

fn bad(detail: &str, pointer: &str) -> ApiError {
    ApiError::bad_request(detail).pointer(pointer)
}

/// Pass 1: shape and types (400s).
pub fn check(value: &Value, fields: &[F], pointer: &str) -> ApiResult<()> {
    let obj = value.as_object().ok_or_else(|| {
        bad(
            &format!(
                "type mismatch (received {} expected object)",
                type_name(value)
            ),
            pointer,
        )
    })?;
    check_obj(obj, fields, pointer)
}

/// Attributes stored as 64-bit integers; every other integer is a 32-bit column in Keygen,
/// which answers larger values with 400 "integer is too large".
const BIG_INTS: [&str; 6] = ["memory", "disk", "maxMemory", "maxDisk", "nonce", "ttl"];

fn check_obj(obj: &Map<String, Value>, fields: &[F], pointer: &str) -> ApiResult<()> {
    for key in obj.keys() {
        if !fields.iter().any(|f| f.name == key) {
            return Err(bad("unpermitted parameter", &format!("{pointer}/{key}")));
        }
    }
    for field in fields {
        let p = format!("{pointer}/{}", field.name);
        match obj.get(field.name) {
            None if field.required => return Err(bad("is missing", &p)),
            None => {}
            Some(Value::Null) if field.nullable => {}
            Some(Value::Null) => return Err(bad("cannot be null", &p)),
            Some(Value::Number(n))
                if !BIG_INTS.contains(&field.name)
                    && n.as_i64().is_some_and(|n| n.abs() > i32::MAX as i64) =>
            {
                return Err(bad("integer is too large", &p))
            }
            Some(v) => check_value(v, &field.ty, &p)?,
        }
    }
    Ok(())
}

fn check_value(v: &Value, t: &T, p: &str) -> ApiResult<()> {
    let mismatch = || {
        bad(
            &format!(
                "type mismatch (received {} expected {})",
                type_name(v),
                expected(t)
            ),
            p,
        )
    };
    match (t, v) {
        (T::Str | T::Enum(..), Value::String(s)) if s.is_empty() => Err(bad("cannot be blank", p)),
        (T::Str | T::Text | T::Enum(..), Value::String(_)) => Ok(()),
        (T::Int | T::Min(..), Value::Number(n)) if n.is_i64() => Ok(()),
        (T::Bool, Value::Bool(_)) => Ok(()),
        (T::Hash, Value::Object(_)) | (T::Any, _) => Ok(()),
        (T::Obj(fields), Value::Object(o)) => check_obj(o, fields, p),
        (T::Arr(item), Value::Array(items)) => {
            items.iter().enumerate().try_for_each(|(i, it)| match it {
                Value::Null => Err(bad("cannot be null", &format!("{p}/{i}"))),
                it => check_value(it, item, &format!("{p}/{i}")),
            })
        }
        _ => Err(mismatch()),
    }
}

/// Pass 2: model validations of flat attributes (422s), after `check` succeeded.
pub fn validate_attrs(obj: &Map<String, Value>, fields: &[F], pointer: &str) -> ApiResult<()> {
    for field in fields {
        let p = format!("{pointer}/{}", field.name);
        match (&field.ty, obj.get(field.name)) {
            (T::Min(min, what), Some(Value::Number(n))) if n.as_i64().is_some_and(|n| n < *min) => {
                return Err(ApiError::invalid(
                    &format!("must be greater than or equal to {min}{what}"),
                    &format!("{}_INVALID", upper_snake(field.name)),
                    &p,
                ))
            }
            (T::Enum(allowed, what), Some(Value::String(s))) if !allowed.contains(&s.as_str()) => {
                return Err(ApiError::invalid(
                    &format!("unsupported {what}"),
                    &format!("{}_NOT_ALLOWED", upper_snake(field.name)),
                    &p,
                ))
            }
            _ => {}
        }
    }
    Ok(())
}

/// A JSON:API request document `{"data": {type, id, attributes, relationships}}` schema, for
/// `const` items: `doc!(ATTRS, attributes_required, RELS, relationships_required)`.
#[macro_export]
macro_rules! doc {
    ($attrs:expr, $attrs_required:expr, $rels:expr, $rels_required:expr) => {
        &[$crate::api::params::f(
            "data",
            $crate::api::params::T::Obj(&[
                $crate::api::params::f("type", $crate::api::params::T::Str).req(),
                $crate::api::params::f("id", $crate::api::params::T::Str),
                $crate::api::params::F {
                    required: $attrs_required,
                    ..$crate::api::params::f("attributes", $crate::api::params::T::Obj($attrs))
                },
                $crate::api::params::F {
                    required: $rels_required,
                    ..$crate::api::params::f("relationships", $crate::api::params::T::Obj($rels))
                },
            ]),
        )
        .req()]
    };
}

/// A to-one relationship `{"data": {"type", "id"}}`.
pub const REL: &[F] = &[f(
    "data",
    T::Obj(&[f("type", T::Str).req(), f("id", T::Str).req()]),
)
.req()];
