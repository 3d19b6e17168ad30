//! Partner portals over HTTP: `/partners/{id}/embed-config`,
//! `/partner/ledger` (with the partner's API key) and the embed page
//! `/embed/{partner}/…` with its framing rule.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sparecloud_api::Problem;
use sparecloud_api::partners::{EmbedConfig, PartnerLedger};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::partners;
use crate::error::AppResult;
use crate::http::extract::{Json, PartnerAuth};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(embed_config))
        .routes(routes!(partner_ledger))
}

/// The public part of a partner's configuration, for its embed.
#[utoipa::path(get, path = "/partners/{id}/embed-config", tag = "partners",
    params(("id" = String, Path, description = "Partner id")),
    responses(
        (status = 200, body = EmbedConfig),
        (status = 404, description = "No such partner", body = Problem, content_type = "application/problem+json"),
    ))]
async fn embed_config(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> AppResult<Json<EmbedConfig>> {
    Ok(Json(partners::embed_config(&state.db, &id).await?))
}

/// What the partner has earned: its share of the commission on every
/// billed period of the instances sold through its embed.
#[utoipa::path(get, path = "/partner/ledger", tag = "partners", security(("bearer" = [])),
    responses(
        (status = 200, body = PartnerLedger),
        (status = 401, description = "Missing or unknown partner API key", body = Problem, content_type = "application/problem+json"),
    ))]
async fn partner_ledger(
    State(state): State<AppState>,
    partner: PartnerAuth,
) -> AppResult<Json<PartnerLedger>> {
    Ok(Json(
        partners::ledger(&state.db, &partner.partner_id, partner.share_bp).await?,
    ))
}

/// The page with `<meta name="sparecloud-embed-session">` in its head,
/// before the title (Trunk's minified page has no `<head>` tag). The
/// session holds only digits, a partner id, dots and hex.
fn with_embed_session(html: &[u8], session: &str) -> Vec<u8> {
    let page = String::from_utf8_lossy(html);
    let meta = format!(r#"<meta name="sparecloud-embed-session" content="{session}">"#);
    let at = page.find("<title").unwrap_or(0);
    format!("{}{meta}{}", &page[..at], &page[at..]).into_bytes()
}

/// `/embed/{partner}/…`: the app's page, framable by that partner's origins
/// only (every other page refuses to be framed).
pub async fn embed_page(
    State(state): State<AppState>,
    Path(params): Path<Vec<(String, String)>>,
) -> Response {
    let partner = params
        .iter()
        .find(|(k, _)| k == "partner")
        .map(|(_, v)| v.as_str())
        .unwrap_or_default();
    let ancestors = match partners::embed_frame_ancestors(&state.db, partner).await {
        Ok(ancestors) => ancestors,
        Err(error) => return error.into_response(),
    };
    let index = state.settings.dist_dir.join("index.html");
    let Ok(html) = tokio::fs::read(&index).await else {
        return (StatusCode::NOT_FOUND, "The web app is not built.").into_response();
    };
    let policy = super::web::content_security_policy(&html, &state.settings.stripe, &ancestors);
    // The signed embed session the app sends with an order, so that only
    // orders placed through this embed credit the partner.
    let session = match partners::issue_embed_session(&state.db, partner, state.clock.now()).await {
        Ok(session) => session,
        Err(error) => return error.into_response(),
    };
    let html = match session {
        Some(session) => with_embed_session(&html, &session),
        None => html,
    };
    let mut response = (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        html,
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&policy) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, value);
    }
    response
}
