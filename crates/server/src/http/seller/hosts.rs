//! `/seller/hosts`: the seller's hosts, drain and resume, revoking one's
//! credential.

use axum::extract::{Path, State};
use sparecloud_api::Problem;
use sparecloud_api::seller::Host;

use crate::domain::hosts;
use crate::error::AppResult;
use crate::http::extract::{Json, Seller};
use crate::state::AppState;

/// The seller's hosts with their capacity and status.
#[utoipa::path(get, path = "/seller/hosts", tag = "seller", security(("bearer" = [])),
    responses((status = 200, body = Vec<Host>)))]
pub(super) async fn list_hosts(
    State(state): State<AppState>,
    seller: Seller,
) -> AppResult<Json<Vec<Host>>> {
    Ok(Json(
        hosts::load_hosts(&state, &seller.account_id, None).await?,
    ))
}

/// Stops new placements on a host for maintenance and cold-migrates its
/// instances to other hosts that keep their service level and spread (the
/// host's `drain` shows the progress).
#[utoipa::path(post, path = "/seller/hosts/{id}/drain", tag = "seller", security(("bearer" = [])),
    params(("id" = String, Path, description = "Host id")),
    responses(
        (status = 200, body = Host),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn drain_host(
    State(state): State<AppState>,
    seller: Seller,
    Path(id): Path<String>,
) -> AppResult<Json<Host>> {
    Ok(Json(
        hosts::set_draining(&state, &seller.account_id, &id, true).await?,
    ))
}

/// Takes new placements on a drained host again; moves still waiting for
/// their instances to stop are called off.
#[utoipa::path(post, path = "/seller/hosts/{id}/resume", tag = "seller", security(("bearer" = [])),
    params(("id" = String, Path, description = "Host id")),
    responses(
        (status = 200, body = Host),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn resume_host(
    State(state): State<AppState>,
    seller: Seller,
    Path(id): Path<String>,
) -> AppResult<Json<Host>> {
    Ok(Json(
        hosts::set_draining(&state, &seller.account_id, &id, false).await?,
    ))
}

/// Revokes the host's credential: its agent is refused from now on, told
/// why, and the host goes offline at its next missed heartbeats (its
/// instances are handled as on a failed host). Registering the machine
/// again takes a new install token.
#[utoipa::path(post, path = "/seller/hosts/{id}/revoke-credential", tag = "seller", security(("bearer" = [])),
    params(("id" = String, Path, description = "Host id")),
    responses(
        (status = 200, body = Host),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn revoke_host_credential(
    State(state): State<AppState>,
    seller: Seller,
    Path(id): Path<String>,
) -> AppResult<Json<Host>> {
    Ok(Json(
        hosts::revoke_credential(&state, &seller.account_id, &id).await?,
    ))
}
