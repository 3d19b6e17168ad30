//! `/images`, `/flavors`, `/sla-tiers`, `/zones`: the catalog, and the
//! disks of the images this server publishes (`/images/{id}/disk`).

use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse, Response};
use sparecloud_api::catalog::{Flavor, Image, SlaTier, Zone};
use tower::ServiceExt;
use tower_http::services::ServeFile;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::{catalog, image_sources};
use crate::error::{AppError, AppResult};
use crate::http::extract::Json;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_images))
        .routes(routes!(image_disk))
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

/// The disk of an image this server publishes, for agents to fetch (they
/// check its SHA-256 against the catalog's). Ranges are served, so an
/// interrupted fetch can resume.
#[utoipa::path(get, path = "/images/{id}/disk", tag = "catalog",
    params(("id" = String, Path, description = "The image")),
    responses(
        (status = 200, description = "The disk file", content_type = "application/octet-stream"),
        (status = 404, description = "This server does not publish that image", body = sparecloud_api::Problem, content_type = "application/problem+json")))]
async fn image_disk(
    State(state): State<AppState>,
    Path(id): Path<String>,
    request: Request,
) -> AppResult<Response> {
    let file = image_sources::published_file(&state.settings.published_images, &id)
        .ok_or_else(|| AppError::not_found("published image"))?;
    let response = ServeFile::new(file)
        .oneshot(request)
        .await
        .map_err(|e| AppError::internal_from("serving an image", e))?;
    Ok(response.into_response())
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
