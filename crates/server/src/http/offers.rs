//! `/offers`, `/offers/{id}`, `/market`: the marketplace.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use sparecloud_api::Problem;
use sparecloud_api::offers::{Market, MarketQuery, Offer, OfferPage, OfferQuery};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::{offers, search};
use crate::error::AppResult;
use crate::http::extract::{Json, Query};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(search))
        .routes(routes!(get_offer))
        .routes(routes!(market))
}

/// The platform's commission and the going price of every flavor among
/// active offers (in a zone and service level when given), for sellers
/// pricing an offer.
#[utoipa::path(get, path = "/market", tag = "marketplace",
    params(MarketQuery),
    responses((status = 200, body = Market)))]
async fn market(
    State(state): State<AppState>,
    Query(query): Query<MarketQuery>,
) -> AppResult<Json<Market>> {
    Ok(Json(offers::market(&state, query).await?))
}

/// Listed offers: active, with at least one priced flavor that fits on one
/// of the seller's online hosts in the zone.
#[utoipa::path(get, path = "/offers", tag = "marketplace",
    params(OfferQuery),
    responses(
        (status = 200, body = OfferPage),
        (status = 400, description = "Malformed query", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown service level or image", body = Problem, content_type = "application/problem+json"),
    ))]
async fn search(
    State(state): State<AppState>,
    Query(query): Query<OfferQuery>,
) -> AppResult<Response> {
    let body = search::offers(&state, &query).await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// One offer, as listed.
#[utoipa::path(get, path = "/offers/{id}", tag = "marketplace",
    params(("id" = String, Path, description = "Offer id")),
    responses(
        (status = 200, body = Offer),
        (status = 404, description = "No such offer, or no longer offered", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_offer(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> AppResult<Json<Offer>> {
    Ok(Json(offers::active_offer(&state, &id).await?))
}
