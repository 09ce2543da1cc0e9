//! Where the readings go and how many, checked before the first call.

use std::time::Duration;

use aws_sdk_kinesis::config::Credentials;

/// The stream and the device key to sign with.
#[derive(Clone, Debug)]
pub struct Target {
    /// `None` for AWS' own endpoint; the local target's URL otherwise.
    pub endpoint_url: Option<String>,
    pub region: String,
    pub stream_name: String,
    /// The device key; its `Debug` redacts the secret, so no log line or error shows it.
    pub credentials: Credentials,
}

/// When to stop sending.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// Send the readings due within this time.
    After(Duration),
    /// Send exactly this many readings.
    Count(u64),
}

/// What to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    pub sensors: u32,
    /// Readings per second, all sensors together.
    pub rate: u32,
    pub stop: Stop,
    /// Readings per `PutRecords` call.
    pub batch_size: u32,
    /// `PutRecords` calls awaiting their answer at once.
    pub max_in_flight: usize,
}

/// Calls in flight by default: enough to reach thousands of readings a second over a
/// round trip of tens of milliseconds.
pub const DEFAULT_IN_FLIGHT: usize = 16;

/// Kinesis' `PutRecords` limit.
pub const MAX_BATCH: u32 = 500;

/// A sensor's readings each need their own millisecond.
pub const MAX_RATE_PER_SENSOR: u32 = 1000;

/// Why a plan cannot run.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("there must be at least one sensor")]
    NoSensors,
    #[error("the rate must be at least one reading per second")]
    NoRate,
    #[error("the batch size must be 1 to {MAX_BATCH} readings (PutRecords' limit), not {0}")]
    BatchSize(u32),
    #[error("the duration must be more than zero")]
    NoDuration,
    #[error("the count must be at least one reading")]
    NoCount,
    #[error("at least one call must be allowed in flight")]
    NoInFlight,
    #[error(
        "{rate} readings/s over {sensors} sensors is more than {MAX_RATE_PER_SENSOR} per sensor \
         and second, and a sensor's readings each need their own millisecond (the table key is \
         sensor id + timestamp): use at least {needed} sensors or a lower rate"
    )]
    TooFastPerSensor {
        rate: u32,
        sensors: u32,
        needed: u32,
    },
}

impl Plan {
    /// A checked plan with [`DEFAULT_IN_FLIGHT`] calls in flight.
    pub fn new(sensors: u32, rate: u32, stop: Stop, batch_size: u32) -> Result<Self, PlanError> {
        let plan = Self {
            sensors,
            rate,
            stop,
            batch_size,
            max_in_flight: DEFAULT_IN_FLIGHT,
        };
        plan.check()?;
        Ok(plan)
    }

    /// The same plan with at most `calls` in flight.
    pub fn with_max_in_flight(self, calls: usize) -> Result<Self, PlanError> {
        let plan = Self {
            max_in_flight: calls,
            ..self
        };
        plan.check()?;
        Ok(plan)
    }

    fn check(&self) -> Result<(), PlanError> {
        if self.sensors == 0 {
            return Err(PlanError::NoSensors);
        }
        if self.rate == 0 {
            return Err(PlanError::NoRate);
        }
        if !(1..=MAX_BATCH).contains(&self.batch_size) {
            return Err(PlanError::BatchSize(self.batch_size));
        }
        match self.stop {
            Stop::After(duration) if duration.is_zero() => return Err(PlanError::NoDuration),
            Stop::Count(0) => return Err(PlanError::NoCount),
            _ => {}
        }
        if self.max_in_flight == 0 {
            return Err(PlanError::NoInFlight);
        }
        let needed = self.rate.div_ceil(MAX_RATE_PER_SENSOR);
        if self.sensors < needed {
            return Err(PlanError::TooFastPerSensor {
                rate: self.rate,
                sensors: self.sensors,
                needed,
            });
        }
        Ok(())
    }

    /// Readings due `elapsed` into the run, capped by the stop condition.
    pub(crate) fn due(&self, elapsed: Duration) -> u64 {
        let by_rate = (elapsed.as_secs_f64() * f64::from(self.rate)).floor() as u64;
        match self.stop {
            Stop::Count(count) => by_rate.min(count),
            Stop::After(duration) => {
                let total = (duration.as_secs_f64() * f64::from(self.rate)).floor() as u64;
                by_rate.min(total)
            }
        }
    }

    /// All readings the run will send.
    pub(crate) fn total(&self) -> u64 {
        match self.stop {
            Stop::Count(count) => count,
            Stop::After(duration) => (duration.as_secs_f64() * f64::from(self.rate)).floor() as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn each_bad_plan_is_named() {
        let count = Stop::Count(10);
        assert_eq!(Plan::new(0, 1, count, 1), Err(PlanError::NoSensors));
        assert_eq!(Plan::new(1, 0, count, 1), Err(PlanError::NoRate));
        assert_eq!(Plan::new(1, 1, count, 0), Err(PlanError::BatchSize(0)));
        assert_eq!(Plan::new(1, 1, count, 501), Err(PlanError::BatchSize(501)));
        assert_eq!(Plan::new(1, 1, Stop::Count(0), 1), Err(PlanError::NoCount));
        assert_eq!(
            Plan::new(1, 1, Stop::After(Duration::ZERO), 1),
            Err(PlanError::NoDuration)
        );
        assert_eq!(
            Plan::new(1, 1, count, 1).unwrap().with_max_in_flight(0),
            Err(PlanError::NoInFlight)
        );
        let error = Plan::new(2, 2001, count, 1).unwrap_err();
        assert_eq!(
            error,
            PlanError::TooFastPerSensor {
                rate: 2001,
                sensors: 2,
                needed: 3
            }
        );
        assert!(error.to_string().contains("at least 3 sensors"), "{error}");
        assert!(Plan::new(3, 2001, count, 500).is_ok());
    }

    #[test]
    fn readings_fall_due_at_the_rate_up_to_the_stop() {
        let plan = Plan::new(10, 100, Stop::Count(150), 10).unwrap();
        assert_eq!(plan.due(Duration::ZERO), 0);
        assert_eq!(plan.due(Duration::from_millis(505)), 50);
        assert_eq!(plan.due(Duration::from_secs(3)), 150);
        assert_eq!(plan.total(), 150);
        let plan = Plan::new(10, 100, Stop::After(Duration::from_millis(1500)), 10).unwrap();
        assert_eq!(plan.due(Duration::from_secs(60)), 150);
        assert_eq!(plan.total(), 150);
    }

    #[test]
    fn the_secret_is_not_in_debug_output() {
        let target = Target {
            endpoint_url: None,
            region: "us-east-1".into(),
            stream_name: "s".into(),
            credentials: Credentials::new("AKIA", "very-secret", None, None, "test"),
        };
        assert!(!format!("{target:?}").contains("very-secret"));
    }
}
