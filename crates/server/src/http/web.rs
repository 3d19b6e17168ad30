//! Serves the built web app: files from dist/ (gzip-precompressed copies when
//! the build made them), and index.html for any other path so the app's own
//! router can handle deep links.

use std::path::Path;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use tower_http::services::{ServeDir, ServeFile};

pub fn router(dist_dir: &Path) -> Router {
    let index = ServeFile::new(dist_dir.join("index.html")).precompressed_gzip();
    let files = ServeDir::new(dist_dir).precompressed_gzip().fallback(index);
    Router::new()
        .fallback_service(files)
        .layer(middleware::from_fn(cache_headers))
}

async fn cache_headers(request: Request, next: Next) -> Response {
    let policy = cache_policy(request.uri().path());
    let mut response = next.run(request).await;
    if response.status().is_success() {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    }
    response
}

/// Trunk names assets `name-<16 hex digits>.ext`: a new build gets new names,
/// so those can be cached for good. Everything else (index.html, deep links,
/// unhashed files) must be revalidated so a deploy is picked up at once.
fn cache_policy(path: &str) -> &'static str {
    let file = path.rsplit('/').next().unwrap_or_default();
    let stem = file.split('.').next().unwrap_or_default();
    // wasm-bindgen appends `_bg` to the module's name after Trunk's hash.
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    let hashed = stem
        .rsplit_once('-')
        .is_some_and(|(_, hash)| hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()));
    if hashed {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    }
}

#[cfg(test)]
mod tests {
    use super::cache_policy;

    #[test]
    fn only_hashed_assets_are_cached_for_good() {
        assert_eq!(
            cache_policy("/sparecloud-web-3f9a0c1d2e4b5a69_bg.wasm"),
            "public, max-age=31536000, immutable"
        );
        assert_eq!(
            cache_policy("/sparecloud-web-3f9a0c1d2e4b5a69.js"),
            "public, max-age=31536000, immutable"
        );
        assert_eq!(
            cache_policy("/main-0123456789abcdef.css"),
            "public, max-age=31536000, immutable"
        );
        assert_eq!(cache_policy("/"), "no-cache");
        assert_eq!(cache_policy("/marketplace"), "no-cache");
        assert_eq!(cache_policy("/stylers.css"), "no-cache");
        assert_eq!(cache_policy("/public/embed.js"), "no-cache");
        assert_eq!(cache_policy("/offers/abc-def"), "no-cache");
    }
}
