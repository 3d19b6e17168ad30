//! The Sparecloud server: the marketplace API under `/api/v1` and the built
//! web app for every other path.
//!
//! `http` (all axum code) calls into `domain` (the rules and their SQL),
//! which stands on the core: `db`, `error`, `auth`, `clock`, `config`,
//! `state`, `stripe` (the payment processor's API), `metrics` (recorded
//! anywhere, exported by `main`). `jobs`, `demo` and `cli` use `domain` too.

pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod db;
pub mod demo;
pub mod domain;
pub mod error;
pub mod http;
pub mod jobs;
pub mod metrics;
pub mod state;
pub mod stripe;

pub use clock::Clock;
pub use config::Config;
pub use http::{ConnectionLimits, app, serve};
pub use state::{AppState, Settings};
