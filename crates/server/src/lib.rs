//! The Sparecloud server: the marketplace API under `/api/v1` and the built
//! web app for every other path.

mod accounts;
pub mod auth;
pub mod clock;
pub mod config;
pub mod db;
pub mod error;
pub mod extract;
mod health;
mod openapi;
mod web;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::Response;
use axum::routing::get;
use sparecloud_api::Problem;
use sparecloud_api::problem::kinds;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

pub use clock::Clock;
pub use config::Config;
use error::problem_response;

/// What every handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub db: db::Pool,
    pub clock: Clock,
    pub settings: Arc<Settings>,
}

/// Settings fixed at start-up.
#[derive(Debug)]
pub struct Settings {
    /// The built web app (Trunk's dist/).
    pub dist_dir: PathBuf,
}

impl AppState {
    pub fn new(db: db::Pool, dist_dir: PathBuf) -> Self {
        Self {
            db,
            clock: Clock::System,
            settings: Arc::new(Settings { dist_dir }),
        }
    }

    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }
}

/// API request bodies are small JSON documents.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// The whole application: the API under `/api/v1`, problem+json for unknown
/// API paths, and the web app (with SPA fallback) for everything else.
pub fn app(state: AppState) -> Router {
    let (v1, openapi) = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .merge(health::router())
        .merge(accounts::router())
        .split_for_parts();
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
        .method_not_allowed_fallback(method_not_allowed);
    let api = Router::new().nest("/v1", v1).fallback(api_not_found);

    Router::new()
        .nest("/api", api)
        .fallback_service(web::router(&state.settings.dist_dir))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        // No page may be framed by another site (partner embeds opt in per route).
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("frame-ancestors 'none'"),
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
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

/// Serves `app` until SIGTERM or Ctrl-C, then lets in-flight requests finish.
pub async fn serve(listener: tokio::net::TcpListener, app: Router) -> std::io::Result<()> {
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        tokio::signal::ctrl_c().await.ok();
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
