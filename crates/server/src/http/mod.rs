//! All of the server's axum code: the router of every resource under
//! `/api/v1`, problem+json fallbacks, CORS, security headers, request
//! logs and metrics, the embed
//! pages and the built web app. Handlers here read as a list of calls into
//! `domain`, which never imports this module.

mod accounts;
mod agent;
mod api_keys;
mod catalog;
mod checkout;
mod client_ip;
pub mod extract;
mod health;
mod instances;
mod invoices;
mod listen;
mod observe;
mod offers;
mod openapi;
mod partners;
mod payments;
mod preload;
pub mod problem;
mod seller;
mod web;
mod webhooks;

pub use listen::{ConnectionLimits, serve};

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, StatusCode, Uri, header};
use axum::response::Response;
use axum::routing::get;
use sparecloud_api::Problem;
use sparecloud_api::problem::kinds;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::RequestBodyTimeoutLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;
use problem::problem_response;

/// Browser features no page of ours uses (`payment` is left to Stripe's
/// card frame).
const PERMISSIONS_POLICY: &str = "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), usb=()";

/// API request bodies are small JSON documents.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// The whole application: the API under `/api/v1`, problem+json for unknown
/// API paths, and the web app (with SPA fallback) for everything else.
pub fn app(state: AppState) -> Router {
    let (v1, openapi) = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .merge(health::router())
        .merge(accounts::router())
        .merge(api_keys::router())
        .merge(catalog::router())
        .merge(offers::router())
        .merge(payments::router())
        .merge(checkout::router())
        .merge(instances::router())
        .merge(invoices::router())
        .merge(webhooks::router())
        .merge(seller::router())
        .merge(agent::router())
        .merge(partners::router())
        .split_for_parts();
    let mut openapi = openapi;
    openapi::add_common_responses(&mut openapi);
    let openapi = Arc::new(openapi);
    let v1 = v1
        .route(
            "/openapi.json",
            get(move || {
                let openapi = Arc::clone(&openapi);
                async move { axum::Json(openapi) }
            }),
        )
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        // A body that stops arriving ends the request (slow uploads that
        // keep sending, such as a disk transfer, go on).
        .layer(RequestBodyTimeoutLayer::new(
            state.settings.body_idle_timeout,
        ))
        .method_not_allowed_fallback(method_not_allowed)
        .route_layer(axum::middleware::from_fn(observe::keep_route));
    let mut api = Router::new().nest("/v1", v1).fallback(api_not_found);
    if !state.settings.cors_origins.is_empty() {
        api = api.layer(cors(&state.settings.cors_origins));
    }

    let index = std::fs::read(state.settings.dist_dir.join("index.html")).unwrap_or_default();
    let page_policy = HeaderValue::from_str(&web::content_security_policy(
        &index,
        &state.settings.stripe,
        "frame-ancestors 'none'",
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("frame-ancestors 'none'"));
    let https = state
        .settings
        .public_url
        .as_deref()
        .is_some_and(|url| url.starts_with("https://"));
    Router::new()
        .nest("/api", api)
        .route("/embed/{partner}", get(partners::embed_page))
        .route("/embed/{partner}/{*rest}", get(partners::embed_page))
        .fallback_service(web::router(&state.settings.dist_dir))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        // Another site learns our origin from a link, never a path (which
        // may hold an order or instance id).
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("strict-origin-when-cross-origin"),
        ))
        // Nothing here uses these devices or features; a script that got in
        // cannot ask for them either.
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("permissions-policy"),
            HeaderValue::from_static(PERMISSIONS_POLICY),
        ))
        // Only a deployment served over https may pin browsers to https.
        .layer(tower::util::option_layer(https.then(|| {
            SetResponseHeaderLayer::if_not_present(
                header::STRICT_TRANSPORT_SECURITY,
                HeaderValue::from_static("max-age=31536000; includeSubDomains"),
            )
        })))
        // No page may be framed by another site (partner embeds opt in per
        // route), and scripts and frames come from us and Stripe only.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            page_policy,
        ))
        .layer(axum::middleware::from_fn(observe::observe))
        .with_state(state)
}

/// Lets the configured origins (partner portals) call the API from a browser.
fn cors(origins: &[String]) -> tower_http::cors::CorsLayer {
    use axum::http::Method;
    let origins: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o.trim()).ok())
        .collect();
    tower_http::cors::CorsLayer::new()
        .allow_origin(origins)
        .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static("idempotency-key"),
        ])
        .max_age(std::time::Duration::from_secs(600))
}

async fn api_not_found(uri: Uri) -> Response {
    problem_response(
        Problem::new(
            kinds::NOT_FOUND,
            "Not found",
            StatusCode::NOT_FOUND.as_u16(),
        )
        .with_detail(format!("There is no API endpoint at {}.", uri.path())),
    )
}

async fn method_not_allowed(uri: Uri) -> Response {
    problem_response(
        Problem::new(
            kinds::METHOD_NOT_ALLOWED,
            "Method not allowed",
            StatusCode::METHOD_NOT_ALLOWED.as_u16(),
        )
        .with_detail(format!("{} does not accept this method.", uri.path())),
    )
}
