//! `/agent/register` and `/agent/heartbeat`: the agent protocol; and
//! `/agent/instances/{id}/disk`, a moving instance's disk (cold migration).

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use sparecloud_api::Problem;
use sparecloud_api::agent::{
    DISK_SHA256_HEADER, HeartbeatRequest, HeartbeatResponse, RegisterRequest, RegisterResponse,
    TRANSFER_TOKEN_HEADER, is_sha256_hex,
};
use sparecloud_api::problem::kinds;
use tower::ServiceExt;
use tower_http::services::ServeFile;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::{agents, transfers};
use crate::error::{AppError, AppResult, field};
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
        // A disk is as large as its flavor says: its own limit, checked as
        // it streams to disk (never held in memory).
        .routes(routes!(upload_disk, download_disk))
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

/// Uploads the disk of an instance moving off this host (asked by
/// `upload_disk`), with its SHA-256 in `X-Disk-Sha256`; completes the move.
#[utoipa::path(put, path = "/agent/instances/{id}/disk", tag = "agent", security(("bearer" = [])),
    params(("id" = String, Path, description = "The moving instance")),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses(
        (status = 204, description = "Stored; the instance moves"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The instance is not moving off this host", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Larger than the instance's disk", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The checksum is missing or does not match", body = Problem, content_type = "application/problem+json"),
    ))]
async fn upload_disk(
    State(state): State<AppState>,
    host: HostAuth,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> AppResult<StatusCode> {
    let sha256 = headers
        .get(DISK_SHA256_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| is_sha256_hex(v))
        .ok_or_else(|| {
            AppError::validation(vec![field(
                DISK_SHA256_HEADER,
                "Send the disk's SHA-256 (64 lowercase hex digits).",
            )])
        })?
        .to_owned();
    let max_bytes = transfers::check_upload(&state, &host.host_id, &id).await?;
    let staged = transfers::staged_file(&state.settings.transfers_dir, &id);
    let size = receive_file(body, &staged, &sha256, max_bytes).await?;
    transfers::uploaded(&state, &host.host_id, &id, &sha256, size).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The disk of an instance moved to this host, for the transfer token of
/// the latest heartbeat (`X-Transfer-Token`).
#[utoipa::path(get, path = "/agent/instances/{id}/disk", tag = "agent", security(("bearer" = [])),
    params(("id" = String, Path, description = "The moved instance")),
    responses(
        (status = 200, description = "The disk (qcow2)", content_type = "application/octet-stream"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn download_disk(
    State(state): State<AppState>,
    host: HostAuth,
    Path(id): Path<String>,
    request: Request,
) -> AppResult<Response> {
    let token = request
        .headers()
        .get(TRANSFER_TOKEN_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let file = transfers::authorize_download(&state, &host.host_id, &id, &token).await?;
    let response = ServeFile::new(file)
        .oneshot(request)
        .await
        .map_err(|e| AppError::internal_from("serving a disk", e))?;
    Ok(response.into_response())
}

/// Streams `body` into `path` (written aside, moved into place whole),
/// refusing more than `max_bytes` or a SHA-256 other than `sha256`.
/// Returns its size.
async fn receive_file(
    body: Body,
    path: &std::path::Path,
    sha256: &str,
    max_bytes: u64,
) -> AppResult<u64> {
    use futures_util::StreamExt;
    use sha2::Digest;
    use tokio::io::AsyncWriteExt;
    let internal = |e: std::io::Error| AppError::internal_from("storing an uploaded disk", e);
    if let Some(dir) = path.parent() {
        tokio::fs::create_dir_all(dir).await.map_err(internal)?;
    }
    let part = path.with_extension("part");
    let mut file = tokio::fs::File::create(&part).await.map_err(internal)?;
    let mut hasher = sha2::Sha256::new();
    let mut size = 0u64;
    let mut stream = body.into_data_stream();
    let outcome = async {
        while let Some(chunk) = stream.next().await {
            let chunk =
                chunk.map_err(|e| AppError::internal_from("reading an uploaded disk", e))?;
            size += chunk.len() as u64;
            if size > max_bytes {
                return Err(AppError::problem(
                    kinds::PAYLOAD_TOO_LARGE,
                    "Disk too large",
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "This is larger than the instance's disk can be.",
                ));
            }
            hasher.update(&chunk);
            file.write_all(&chunk).await.map_err(internal)?;
        }
        file.sync_all().await.map_err(internal)?;
        if format!("{:x}", hasher.finalize()) != sha256 {
            return Err(AppError::validation(vec![field(
                DISK_SHA256_HEADER,
                "The disk received does not have this SHA-256: upload it again.",
            )]));
        }
        tokio::fs::rename(&part, path).await.map_err(internal)
    }
    .await;
    if outcome.is_err() {
        let _ = tokio::fs::remove_file(&part).await;
    }
    outcome.map(|()| size)
}
