//! `/seller/offers`: publish, list, reprice, pause and resume offers.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use sparecloud_api::Problem;
use sparecloud_api::seller::{CreateOfferRequest, SellerOffer, UpdateOfferRequest};

use crate::domain::seller_offers;
use crate::error::AppResult;
use crate::http::extract::{Json, Seller};
use crate::state::AppState;

/// Publishes an offer: it is listed as soon as one of its flavors fits on
/// one of the seller's online hosts in the zone.
#[utoipa::path(post, path = "/seller/offers", tag = "seller", security(("bearer" = [])),
    request_body = CreateOfferRequest,
    responses(
        (status = 201, body = SellerOffer),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn create_offer(
    State(state): State<AppState>,
    seller: Seller,
    Json(request): Json<CreateOfferRequest>,
) -> AppResult<(StatusCode, Json<SellerOffer>)> {
    let offer = seller_offers::create(&state, &seller.account_id, &request).await?;
    Ok((StatusCode::CREATED, Json(offer)))
}

/// The seller's offers, newest first.
#[utoipa::path(get, path = "/seller/offers", tag = "seller", security(("bearer" = [])),
    responses((status = 200, body = Vec<SellerOffer>)))]
pub(super) async fn list_offers(
    State(state): State<AppState>,
    seller: Seller,
) -> AppResult<Json<Vec<SellerOffer>>> {
    Ok(Json(
        seller_offers::load_offers(&state, &seller.account_id, None).await?,
    ))
}

/// Changes an offer's prices or service level, or pauses and resumes it.
#[utoipa::path(patch, path = "/seller/offers/{id}", tag = "seller", security(("bearer" = [])),
    params(("id" = String, Path, description = "Offer id")),
    request_body = UpdateOfferRequest,
    responses(
        (status = 200, body = SellerOffer),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn update_offer(
    State(state): State<AppState>,
    seller: Seller,
    Path(id): Path<String>,
    Json(request): Json<UpdateOfferRequest>,
) -> AppResult<Json<SellerOffer>> {
    Ok(Json(
        seller_offers::update(&state, &seller.account_id, &id, &request).await?,
    ))
}
