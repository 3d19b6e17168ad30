//! `/health`: liveness, with the database asked too; `/ready`: whether
//! this process should get traffic yet.

use axum::extract::State;
use axum::http::StatusCode;
use sparecloud_api::problem::kinds;
use sparecloud_api::{Health, Problem};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::db;
use crate::error::{AppError, AppResult};
use crate::http::extract::Json;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(ready))
}

/// Liveness: "ok" when the process and its database answer.
#[utoipa::path(get, path = "/health", tag = "health",
    responses(
        (status = 200, description = "The server and its database are up", body = Health),
        (status = 500, description = "The database does not answer", body = Problem, content_type = "application/problem+json"),
    ))]
async fn health(State(state): State<AppState>) -> AppResult<Json<Health>> {
    db::ping(&state.db).await?;
    Ok(Json(Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
    }))
}

/// Readiness: 503 until the offer index is built (at start-up, before the
/// first search would have to wait for it), then as `/health`. A load
/// balancer sends traffic on this, and restarts on `/health`.
#[utoipa::path(get, path = "/ready", tag = "health",
    responses(
        (status = 200, description = "Ready for traffic", body = Health),
        (status = 503, description = "Still starting", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "The database does not answer", body = Problem, content_type = "application/problem+json"),
    ))]
async fn ready(State(state): State<AppState>) -> AppResult<Json<Health>> {
    if !state.offer_index.is_built() {
        return Err(AppError::problem(
            kinds::NOT_READY,
            "Starting",
            StatusCode::SERVICE_UNAVAILABLE,
            "The server is building its offer index: try again in a few seconds.",
        ));
    }
    db::ping(&state.db).await?;
    Ok(Json(Health {
        status: "ready".into(),
        version: env!("CARGO_PKG_VERSION").into(),
    }))
}
