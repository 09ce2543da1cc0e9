//! The loopback HTTP endpoint (to be written).
