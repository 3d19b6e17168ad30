//! The Sparecloud API contract (prefix `/api/v1`).
//!
//! Serde types only: the server, the agent and the web app all depend on this
//! crate, so it must stay free of server (axum, sqlx) and UI (leptos) code.

pub mod accounts;
pub mod agent;
pub mod api_keys;
pub mod catalog;
pub mod checkout;
pub mod instances;
pub mod invoices;
pub mod offers;
pub mod partners;
pub mod placement;
pub mod problem;
pub mod seller;
pub mod validate;

pub use problem::{FieldError, Problem};

use serde::{Deserialize, Serialize};

/// The path prefix every API route lives under.
pub const API_PREFIX: &str = "/api/v1";

/// `GET /api/v1/health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    /// `"ok"` when the server can reach its database.
    pub status: String,
    /// The server's version (its crate version).
    pub version: String,
}
