//! Building blocks of the dataset records: flexible ids and a record deserializer that keeps unknown keys.
//!
//! Why by hand: `#[serde(flatten)]` (the derive way to keep unknown keys) buffers every record into an
//! intermediate tree before deserializing it, which made RxR-size files several times slower to load. The
//! macro below matches known keys directly and moves only unknown ones into the `extra` map.

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Unknown keys of a record, kept so that a rewrite loses nothing.
pub type Extra = serde_json::Map<String, serde_json::Value>;

/// Position `[x, y, z]`, metres, Y-up.
pub type Vec3 = [f64; 3];

/// Rotation quaternion `[x, y, z, w]` (Habitat order).
pub type Quat = [f64; 4];

/// An id that the official files write as a number (R2R `episode_id`) or a string (other datasets).
/// Habitat casts ids to strings, so equality and lookups go through [`Id::key`]; the original JSON type is
/// kept for rewriting.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Id {
    Int(i64),
    Str(String),
}

impl Id {
    /// The string Habitat uses for this id (gt files are keyed by it).
    pub fn key(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Id::Int(i) => write!(f, "{i}"),
            Id::Str(s) => f.write_str(s),
        }
    }
}

impl From<i64> for Id {
    fn from(i: i64) -> Self {
        Id::Int(i)
    }
}

impl From<&str> for Id {
    fn from(s: &str) -> Self {
        Id::Str(s.to_owned())
    }
}

impl Serialize for Id {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Id::Int(i) => s.serialize_i64(*i),
            Id::Str(v) => s.serialize_str(v),
        }
    }
}

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct IdVisitor;
        impl Visitor<'_> for IdVisitor {
            type Value = Id;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an integer or string id")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Id, E> {
                Ok(Id::Int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Id, E> {
                i64::try_from(v)
                    .map(Id::Int)
                    .map_err(|_| E::custom(format!("id {v} is too large")))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Id, E> {
                Ok(Id::Str(v.to_owned()))
            }
        }
        d.deserialize_any(IdVisitor)
    }
}

/// Implements `Deserialize` for a record struct whose fields are named exactly like their JSON keys and that
/// has an `extra: Extra` field. `required` fields must be present; `optional` fields are `Option<T>` and
/// accept absence or `null`. Duplicate keys are an error (serde's `duplicate_field`).
macro_rules! deserialize_record {
    ($ty:ident, $expecting:literal, { $($kind:ident $field:ident),* $(,)? }) => {
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                #[allow(non_camel_case_types)]
                enum Key {
                    $($field,)*
                    Other(String),
                }
                struct KeyVisitor;
                impl serde::de::Visitor<'_> for KeyVisitor {
                    type Value = Key;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str("a field name")
                    }
                    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Key, E> {
                        Ok(match v {
                            $(stringify!($field) => Key::$field,)*
                            other => Key::Other(other.to_owned()),
                        })
                    }
                }
                impl<'de> serde::Deserialize<'de> for Key {
                    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                        d.deserialize_identifier(KeyVisitor)
                    }
                }
                struct RecordVisitor;
                impl<'de> serde::de::Visitor<'de> for RecordVisitor {
                    type Value = $ty;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<$ty, A::Error> {
                        $(let mut $field = None;)*
                        let mut extra = $crate::record::Extra::new();
                        while let Some(key) = map.next_key::<Key>()? {
                            match key {
                                $(Key::$field => {
                                    if $field.is_some() {
                                        return Err(serde::de::Error::duplicate_field(stringify!($field)));
                                    }
                                    $field = Some(map.next_value()?);
                                })*
                                Key::Other(k) => {
                                    let v: serde_json::Value = map.next_value()?;
                                    if extra.insert(k.clone(), v).is_some() {
                                        return Err(serde::de::Error::custom(format!("duplicate field `{k}`")));
                                    }
                                }
                            }
                        }
                        Ok($ty {
                            $($field: deserialize_record!(@finish $kind $field),)*
                            extra,
                        })
                    }
                }
                d.deserialize_map(RecordVisitor)
            }
        }
    };
    (@finish required $field:ident) => {
        $crate::record::required::<_, A::Error>($field, stringify!($field))?
    };
    (@finish optional $field:ident) => {
        $crate::record::optional($field)
    };
}

pub(crate) fn required<T, E: de::Error>(value: Option<T>, name: &'static str) -> Result<T, E> {
    value.ok_or_else(|| E::missing_field(name))
}

/// Absent and `null` both read as `None`.
pub(crate) fn optional<T>(value: Option<Option<T>>) -> Option<T> {
    value.flatten()
}

pub(crate) use deserialize_record;
