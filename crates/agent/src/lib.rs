//! The Sparecloud seller agent as a library: what `sparecloud-agent` (the
//! binary in `main.rs`) is made of, so that tests can drive its parts.

pub mod capacity;
pub mod client;
pub mod driver;
pub mod error;
pub mod metrics;
pub mod state;
