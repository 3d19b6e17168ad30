use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use sparecloud_api::Health;

use crate::AppState;
use crate::error::AppResult;

pub fn router() -> Router<AppState> {
    Router::new().route("/health", get(health))
}

/// Answers "ok" only when the database answers too.
async fn health(State(state): State<AppState>) -> AppResult<Json<Health>> {
    sqlx::query("SELECT 1").execute(&state.db).await?;
    Ok(Json(Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
    }))
}
