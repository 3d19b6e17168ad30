use axum::extract::State;
use sparecloud_api::{Health, Problem};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::AppResult;
use crate::extract::Json;

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
    sqlx::query("SELECT 1").execute(&state.db).await?;
    Ok(Json(Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
    }))
}
