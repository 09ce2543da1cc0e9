//! Decoding the device payload: `{"sensorid": "...", "value": 21.5 | "21.5", "timestamp": "..."}`.
//!
//! The JSON is read in one pass into borrowed fields that remember their JSON type, so that a
//! wrong type gets a precise [`Rejection`] rather than a serde message, and a valid payload costs
//! no allocation beyond the sensor id. Unknown fields are ignored, as the 2015 functions did.

use crate::reading::{self, MAX_CLOCK_SKEW_MS, Reading, Rejection};
use crate::timestamp::Timestamp;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::fmt;

/// Decodes and validates one record's data. `arrival` is when the stream accepted the record: it
/// stands in for a missing timestamp and bounds how far ahead a timestamp may be.
pub fn decode(data: &[u8], arrival: Timestamp) -> Result<Reading, Rejection> {
    let text = std::str::from_utf8(data).map_err(|_| Rejection::NotUtf8)?;
    let fields = match serde_json::from_str::<Payload<'_>>(text) {
        Ok(Payload::Object(fields)) => fields,
        Ok(Payload::Other(found)) => return Err(Rejection::NotAnObject { found }),
        Err(err) => return Err(Rejection::NotJson(err.to_string())),
    };

    let sensor_id = match fields.sensorid {
        None | Some(Field::Null) => return Err(Rejection::MissingField("sensorid")),
        Some(Field::Str(id)) => id,
        Some(other) => return Err(wrong_type("sensorid", "a string", &other)),
    };
    reading::validate_sensor_id(&sensor_id)?;

    let value = match fields.value {
        None | Some(Field::Null) => return Err(Rejection::MissingField("value")),
        Some(Field::Num(number)) => reading::validate_value(number)?,
        Some(Field::Str(text)) => reading::parse_value_text(&text)?,
        Some(other) => return Err(wrong_type("value", "a number or numeric string", &other)),
    };

    let timestamp = match fields.timestamp {
        None | Some(Field::Null) => arrival,
        Some(Field::Str(text)) => {
            let timestamp = Timestamp::parse(&text).map_err(|err| Rejection::BadTimestamp {
                text: text.clone().into_owned(),
                reason: err.to_string(),
            })?;
            if timestamp.millis() > arrival.millis().saturating_add(MAX_CLOCK_SKEW_MS) {
                return Err(Rejection::TimestampInFuture { timestamp, arrival });
            }
            timestamp
        }
        Some(other) => return Err(wrong_type("timestamp", "an RFC 3339 string", &other)),
    };

    Ok(Reading {
        sensor_id: sensor_id.into_owned(),
        timestamp,
        value,
    })
}

fn wrong_type(field: &'static str, expected: &'static str, found: &Field<'_>) -> Rejection {
    Rejection::WrongType {
        field,
        expected,
        found: found.kind(),
    }
}

/// The top level of a payload: an object's fields, or the kind of JSON it was instead.
enum Payload<'a> {
    Object(Fields<'a>),
    Other(&'static str),
}

#[derive(Default)]
struct Fields<'a> {
    sensorid: Option<Field<'a>>,
    value: Option<Field<'a>>,
    timestamp: Option<Field<'a>>,
}

/// One field's value, keeping its JSON type.
enum Field<'a> {
    Str(Cow<'a, str>),
    Num(f64),
    Null,
    Other(&'static str),
}

impl Field<'_> {
    fn kind(&self) -> &'static str {
        match self {
            Self::Str(_) => "a string",
            Self::Num(_) => "a number",
            Self::Null => "null",
            Self::Other(kind) => kind,
        }
    }
}

/// Accepts any JSON value and records its kind, so that only syntax errors are serde errors.
struct KindVisitor;

impl<'de> Visitor<'de> for KindVisitor {
    type Value = Field<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Field::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Field::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Field::Str(Cow::Owned(v)))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Field::Num(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Field::Num(v as f64))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Field::Num(v as f64))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Field::Null)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Field::Other("a boolean"))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Field::Other("an array"))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Field::Other("an object"))
    }
}

impl<'de> de::Deserialize<'de> for Field<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(KindVisitor)
    }
}

/// A field name, recognised without allocating it.
enum Key {
    SensorId,
    Value,
    Timestamp,
    Other,
}

impl<'de> de::Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
                Ok(match v {
                    "sensorid" => Key::SensorId,
                    "value" => Key::Value,
                    "timestamp" => Key::Timestamp,
                    _ => Key::Other,
                })
            }
        }
        deserializer.deserialize_identifier(KeyVisitor)
    }
}

struct PayloadVisitor;

impl<'de> Visitor<'de> for PayloadVisitor {
    type Value = Payload<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut fields = Fields::default();
        while let Some(key) = map.next_key::<Key>()? {
            let slot = match key {
                Key::SensorId => &mut fields.sensorid,
                Key::Value => &mut fields.value,
                Key::Timestamp => &mut fields.timestamp,
                Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            *slot = Some(map.next_value::<Field<'de>>()?);
        }
        Ok(Payload::Object(fields))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Payload::Other("a string"))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Payload::Other("a number"))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Payload::Other("a number"))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Payload::Other("a number"))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Payload::Other("a boolean"))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Payload::Other("null"))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Payload::Other("an array"))
    }
}

impl<'de> de::Deserialize<'de> for Payload<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(PayloadVisitor)
    }
}
