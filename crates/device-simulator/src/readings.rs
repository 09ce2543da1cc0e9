//! The simulated sensors and their readings.
//!
//! A reading is `{"sensorid": "sim-0001", "value": 21.37, "timestamp":
//! "2026-11-28T10:00:00.123Z"}`. The table keys a reading by sensor id and timestamp in whole
//! milliseconds, so each sensor's timestamps strictly increase: a reading due in the same
//! millisecond as the sensor's previous one takes the next millisecond.

use chrono::{DateTime, Utc};

/// One reading, ready to put.
#[derive(Clone, Debug, PartialEq)]
pub struct Reading {
    pub sensor_id: String,
    pub value: f64,
    /// Milliseconds since the Unix epoch.
    pub timestamp_ms: i64,
}

impl Reading {
    /// The record's data.
    pub fn to_json(&self) -> Vec<u8> {
        let timestamp = DateTime::<Utc>::from_timestamp_millis(self.timestamp_ms)
            .unwrap_or_default()
            .format("%Y-%m-%dT%H:%M:%S%.3fZ")
            .to_string();
        serde_json::json!({
            "sensorid": self.sensor_id,
            "value": self.value,
            "timestamp": timestamp,
        })
        .to_string()
        .into_bytes()
    }
}

struct Sensor {
    id: String,
    value: f64,
    last_ms: i64,
}

/// The sensors, taking turns.
pub struct Sensors {
    sensors: Vec<Sensor>,
    next: usize,
}

impl std::fmt::Debug for Sensors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sensors")
            .field("count", &self.sensors.len())
            .finish()
    }
}

impl Sensors {
    /// `count` sensors, `sim-0001` onwards (wider numbers when there are more than 9,999).
    pub fn new(count: u32) -> Self {
        let width = count.to_string().len().max(4);
        let sensors = (1..=count)
            .map(|n| Sensor {
                id: format!("sim-{n:0width$}"),
                // Room temperatures, each sensor its own.
                value: 18.0 + fastrand::f64() * 6.0,
                last_ms: i64::MIN,
            })
            .collect();
        Self { sensors, next: 0 }
    }

    /// The next sensor's reading at `now_ms`, or a millisecond after its previous one.
    pub fn next_reading(&mut self, now_ms: i64) -> Reading {
        let count = self.sensors.len();
        let sensor = &mut self.sensors[self.next];
        self.next = (self.next + 1) % count;
        sensor.last_ms = now_ms.max(sensor.last_ms.saturating_add(1));
        // A small random walk, rounded to hundredths as a thermometer reports.
        sensor.value += (fastrand::f64() - 0.5) * 0.2;
        Reading {
            sensor_id: sensor.id.clone(),
            value: (sensor.value * 100.0).round() / 100.0,
            timestamp_ms: sensor.last_ms,
        }
    }
}

/// The wall clock in milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use std::collections::HashMap;

    #[test]
    fn sensors_take_turns_and_are_numbered_from_one() {
        let mut sensors = Sensors::new(3);
        let ids: Vec<String> = (0..4).map(|_| sensors.next_reading(0).sensor_id).collect();
        assert_eq!(ids, ["sim-0001", "sim-0002", "sim-0003", "sim-0001"]);
        assert_eq!(Sensors::new(12_345).next_reading(0).sensor_id, "sim-00001");
    }

    #[test]
    fn a_sensor_never_repeats_a_millisecond() {
        let mut sensors = Sensors::new(2);
        let mut last: HashMap<String, i64> = HashMap::new();
        // Many readings in the same wall-clock millisecond, then the clock going back.
        for now in [1000, 1000, 1000, 1000, 1000, 1000, 999, 999, 5000, 5000] {
            let reading = sensors.next_reading(now);
            if let Some(previous) = last.insert(reading.sensor_id.clone(), reading.timestamp_ms) {
                assert!(
                    reading.timestamp_ms > previous,
                    "{reading:?} after {previous}"
                );
            }
        }
        assert_eq!(last["sim-0001"], 5000);
    }

    #[test]
    fn a_reading_is_the_device_json() {
        let reading = Reading {
            sensor_id: "sim-0001".into(),
            value: 21.5,
            timestamp_ms: 1_764_288_000_123,
        };
        let json: serde_json::Value = serde_json::from_slice(&reading.to_json()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "sensorid": "sim-0001",
                "value": 21.5,
                "timestamp": "2025-11-28T00:00:00.123Z",
            })
        );
    }
}
