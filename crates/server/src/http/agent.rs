//! `/agent/register` and `/agent/heartbeat`: the agent protocol.

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use sparecloud_api::Problem;
use sparecloud_api::agent::{
    HeartbeatRequest, HeartbeatResponse, RegisterRequest, RegisterResponse,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::agents;
use crate::error::AppResult;
use crate::http::extract::{HostAuth, Json};
use crate::state::AppState;

/// Heartbeats may carry the end of several instances' consoles (64 KiB
/// each), so the agent's routes take more than other API bodies.
const AGENT_BODY_BYTES: usize = 4 * 1024 * 1024;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(heartbeat))
        .layer(DefaultBodyLimit::max(AGENT_BODY_BYTES))
}

/// Trades an install token (single use) for a long-lived host credential.
#[utoipa::path(post, path = "/agent/register", tag = "agent",
    request_body = RegisterRequest,
    responses(
        (status = 201, body = RegisterResponse),
        (status = 401, description = "The token is unknown, used, expired or revoked (each its own type)", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn register(
    State(state): State<AppState>,
    Json(request): Json<RegisterRequest>,
) -> AppResult<(StatusCode, Json<RegisterResponse>)> {
    let registered = agents::register(&state, &request).await?;
    Ok((StatusCode::CREATED, Json(registered)))
}

/// Reports capacity and observed instances; answers the desired instances.
#[utoipa::path(post, path = "/agent/heartbeat", tag = "agent", security(("bearer" = [])),
    request_body = HeartbeatRequest,
    responses(
        (status = 200, body = HeartbeatResponse),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ))]
async fn heartbeat(
    State(state): State<AppState>,
    host: HostAuth,
    Json(request): Json<HeartbeatRequest>,
) -> AppResult<Json<HeartbeatResponse>> {
    Ok(Json(
        agents::heartbeat(&state, &host.host_id, &request).await?,
    ))
}
