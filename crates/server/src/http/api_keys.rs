//! `/api-keys`: an account's keys for scripts and the command line, made,
//! listed and revoked by the account holder signed in (never with a key).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use sparecloud_api::Problem;
use sparecloud_api::api_keys::{ApiKey, CreateApiKeyRequest, CreatedApiKey};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::api_keys;
use crate::error::AppResult;
use crate::http::extract::{AuthUser, Json};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_api_keys, create_api_key))
        .routes(routes!(revoke_api_key))
}

/// The account's keys that still work (never their secrets).
#[utoipa::path(get, path = "/api-keys", tag = "accounts", security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<ApiKey>),
    ))]
async fn list_api_keys(
    State(state): State<AppState>,
    user: AuthUser,
) -> AppResult<Json<Vec<ApiKey>>> {
    user.require_session()?;
    Ok(Json(api_keys::list(&state, &user.account_id).await?))
}

/// Makes a key: its secret is in this answer and nowhere else.
#[utoipa::path(post, path = "/api-keys", tag = "accounts", security(("bearer" = [])),
    request_body = CreateApiKeyRequest,
    responses(
        (status = 201, description = "Made; the secret is shown this once", body = CreatedApiKey),
    ))]
async fn create_api_key(
    State(state): State<AppState>,
    user: AuthUser,
    Json(request): Json<CreateApiKeyRequest>,
) -> AppResult<(StatusCode, Json<CreatedApiKey>)> {
    user.require_session()?;
    let created = api_keys::create(&state, &user.account_id, &request).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Revokes a key: the next request that sends it is refused.
#[utoipa::path(delete, path = "/api-keys/{id}", tag = "accounts", security(("bearer" = [])),
    params(("id" = String, Path, description = "API key id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "No such key of yours", body = Problem, content_type = "application/problem+json"),
    ))]
async fn revoke_api_key(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> AppResult<StatusCode> {
    user.require_session()?;
    api_keys::revoke(&state, &user.account_id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
