//! Simulated devices (to be written).
