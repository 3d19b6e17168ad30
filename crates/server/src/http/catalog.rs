//! `/images`, `/flavors`, `/sla-tiers`, `/zones`: the catalog.

use axum::extract::State;
use sparecloud_api::catalog::{Flavor, Image, SlaTier, Zone};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::catalog;
use crate::error::AppResult;
use crate::http::extract::Json;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_images))
        .routes(routes!(list_flavors))
        .routes(routes!(list_sla_tiers))
        .routes(routes!(list_zones))
}

/// The VM images buyers can boot.
#[utoipa::path(get, path = "/images", tag = "catalog",
    responses((status = 200, description = "The image catalog", body = Vec<Image>)))]
async fn list_images(State(state): State<AppState>) -> AppResult<Json<Vec<Image>>> {
    Ok(Json(catalog::images(&state).await?))
}

/// The instance sizes.
#[utoipa::path(get, path = "/flavors", tag = "catalog",
    responses((status = 200, description = "The instance sizes, smallest first", body = Vec<Flavor>)))]
async fn list_flavors(State(state): State<AppState>) -> AppResult<Json<Vec<Flavor>>> {
    Ok(Json(catalog::flavors(&state).await?))
}

/// The service levels with their availability targets and credit schedules.
#[utoipa::path(get, path = "/sla-tiers", tag = "catalog",
    responses((status = 200, description = "Bronze, silver and gold", body = Vec<SlaTier>)))]
async fn list_sla_tiers(State(state): State<AppState>) -> AppResult<Json<Vec<SlaTier>>> {
    Ok(Json(catalog::sla_tiers(&state).await?))
}

/// Zones with at least one online host.
#[utoipa::path(get, path = "/zones", tag = "catalog",
    responses((status = 200, description = "Zones with online capacity", body = Vec<Zone>)))]
async fn list_zones(State(state): State<AppState>) -> AppResult<Json<Vec<Zone>>> {
    Ok(Json(catalog::zones(&state).await?))
}
