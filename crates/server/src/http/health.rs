//! `/health`: liveness, with the database asked too.

use axum::extract::State;
use sparecloud_api::{Health, Problem};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::db;
use crate::error::AppResult;
use crate::http::extract::Json;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(health))
}

/// Liveness and readiness: "ok" only when the database answers too.
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
