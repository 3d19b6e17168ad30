//! `/seller/profile`.

use axum::extract::State;
use sparecloud_api::Problem;
use sparecloud_api::accounts::Role;
use sparecloud_api::seller::{SellerProfile, SellerProfileRequest};

use crate::domain::sellers;
use crate::error::AppResult;
use crate::http::extract::{AuthUser, Json};
use crate::state::AppState;

/// The seller profile of the signed-in account.
#[utoipa::path(get, path = "/seller/profile", tag = "seller", security(("bearer" = [])),
    responses(
        (status = 200, body = SellerProfile),
        (status = 404, description = "No profile yet", body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn get_profile(
    State(state): State<AppState>,
    user: AuthUser,
) -> AppResult<Json<SellerProfile>> {
    user.require(Role::Seller)?;
    Ok(Json(sellers::load_profile(&state, &user.account_id).await?))
}

/// Creates or replaces the seller profile.
#[utoipa::path(post, path = "/seller/profile", tag = "seller", security(("bearer" = [])),
    request_body = SellerProfileRequest,
    responses(
        (status = 200, body = SellerProfile),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn put_profile(
    State(state): State<AppState>,
    user: AuthUser,
    Json(request): Json<SellerProfileRequest>,
) -> AppResult<Json<SellerProfile>> {
    user.require(Role::Seller)?;
    Ok(Json(
        sellers::save_profile(&state, &user.account_id, &request).await?,
    ))
}
