//! Test-only fault injection: a test sets [`FAULT_ENV`] on the function to prove that a
//! handler that panics or hangs right after it created a mapping is still answered for. The
//! stack never sets it. Read once, at start; an unknown value stops the function at init
//! rather than being ignored.

use std::time::Duration;

/// The variable's name.
pub const FAULT_ENV: &str = "MAPPING_PROVIDER_TEST_FAULT";

/// A deliberate failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Panic right after a mapping is created: the worst moment, a resource exists and no
    /// answer has been made.
    PanicAfterCreate,
    /// Block the handler's thread after a mapping is created, so that no timeout inside it
    /// can fire; only the guard's own deadline ends the wait.
    HangAfterCreate,
}

#[derive(Debug, thiserror::Error)]
#[error("{FAULT_ENV}={0:?} is not a known test fault (panic-after-create, hang-after-create)")]
pub struct UnknownFault(String);

impl Fault {
    pub fn from_env() -> Result<Option<Self>, UnknownFault> {
        match std::env::var(FAULT_ENV) {
            Err(_) => Ok(None),
            Ok(value) => match value.as_str() {
                "" => Ok(None),
                "panic-after-create" => Ok(Some(Self::PanicAfterCreate)),
                "hang-after-create" => Ok(Some(Self::HangAfterCreate)),
                _ => Err(UnknownFault(value)),
            },
        }
    }

    /// Fails as configured, right after mapping `uuid` was created.
    pub fn inject(fault: Option<Self>, uuid: &str) {
        match fault {
            None => {}
            Some(Self::PanicAfterCreate) => {
                panic!(
                    "forced panic after creating mapping {uuid} ({FAULT_ENV}=panic-after-create)"
                )
            }
            Some(Self::HangAfterCreate) => loop {
                std::thread::sleep(Duration::from_secs(3600));
            },
        }
    }
}
