//! The DynamoDB item of a reading: `SensorId` (S, hash key), `Timestamp` (S, range key, the
//! normalised text form) and `Value` (N, a number, where the 2015 functions stored text).

use crate::reading::Reading;
use crate::timestamp::Timestamp;
use serde::{Deserialize, Serialize};

/// The hash key attribute.
pub const SENSOR_ID: &str = "SensorId";
/// The range key attribute.
pub const TIMESTAMP: &str = "Timestamp";
/// The value attribute.
pub const VALUE: &str = "Value";

/// A reading as the table holds it, and as the query API answers it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SensorItem {
    #[serde(rename = "SensorId")]
    pub sensor_id: String,
    #[serde(rename = "Timestamp")]
    pub timestamp: Timestamp,
    #[serde(rename = "Value")]
    pub value: f64,
}

impl From<Reading> for SensorItem {
    fn from(reading: Reading) -> Self {
        Self {
            sensor_id: reading.sensor_id,
            timestamp: reading.timestamp,
            value: reading.value,
        }
    }
}

impl From<SensorItem> for Reading {
    fn from(item: SensorItem) -> Self {
        Self {
            sensor_id: item.sensor_id,
            timestamp: item.timestamp,
            value: item.value,
        }
    }
}
