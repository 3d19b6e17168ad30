//! `/seller/install-tokens`.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use sparecloud_api::Problem;
use sparecloud_api::seller::{CreatedInstallToken, InstallToken, InstallTokenRequest};

use crate::domain::install_tokens;
use crate::error::AppResult;
use crate::http::extract::{Json, Seller};
use crate::state::AppState;

/// Issues an install token for one host. The secret is in this answer only.
#[utoipa::path(post, path = "/seller/install-tokens", tag = "seller", security(("bearer" = [])),
    request_body = InstallTokenRequest,
    responses(
        (status = 201, body = CreatedInstallToken),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn create_install_token(
    State(state): State<AppState>,
    seller: Seller,
    headers: HeaderMap,
    Json(request): Json<InstallTokenRequest>,
) -> AppResult<(StatusCode, Json<CreatedInstallToken>)> {
    let api = public_url(&state, &headers);
    let created = install_tokens::create(&state, &seller.account_id, &request, &api).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// The URL agents reach the API at: the configured public URL, or the one
/// this request came in on.
fn public_url(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(url) = &state.settings.public_url {
        return url.trim_end_matches('/').to_owned();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            h.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        })
        .unwrap_or("127.0.0.1:8080");
    format!("http://{host}")
}

/// Every install token of the seller, newest first.
#[utoipa::path(get, path = "/seller/install-tokens", tag = "seller", security(("bearer" = [])),
    responses((status = 200, body = Vec<InstallToken>)))]
pub(super) async fn list_install_tokens(
    State(state): State<AppState>,
    seller: Seller,
) -> AppResult<Json<Vec<InstallToken>>> {
    Ok(Json(
        install_tokens::load_tokens(&state, &seller.account_id, None).await?,
    ))
}

/// Revokes an unused token: an agent can no longer register with it.
#[utoipa::path(delete, path = "/seller/install-tokens/{id}", tag = "seller", security(("bearer" = [])),
    params(("id" = String, Path, description = "Install token id")),
    responses(
        (status = 200, body = InstallToken),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn revoke_install_token(
    State(state): State<AppState>,
    seller: Seller,
    Path(id): Path<String>,
) -> AppResult<Json<InstallToken>> {
    Ok(Json(
        install_tokens::revoke(&state, &seller.account_id, &id).await?,
    ))
}
