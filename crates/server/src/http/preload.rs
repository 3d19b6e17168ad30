//! `Link: rel=preload` on the app's pages for the API answers their first
//! view reads: the browser fetches them while it fetches and compiles the
//! wasm, and the app's own requests are then answered from them. A preload
//! the app does not request exactly so is fetched twice, so
//! `e2e/buyer.test.mjs` checks each is used once.
//!
//! Not preloaded, measured: a lazy page's section and shared chunks (seven
//! requests with the checkout's API answers) delayed the main wasm and its
//! glue on HTTP/1.1's six connections more than they saved.

use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

/// The middleware: adds the page's preloads to a successful HTML answer.
pub async fn hints(request: Request, next: Next) -> Response {
    let urls = api_preloads(request.uri().path(), request.uri().query());
    let mut response = next.run(request).await;
    let is_page = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes().starts_with(b"text/html"));
    if response.status().is_success() && is_page && !urls.is_empty() {
        let link = urls
            .iter()
            .map(|url| format!("<{url}>; rel=preload; as=fetch; crossorigin"))
            .collect::<Vec<_>>()
            .join(", ");
        if let Ok(link) = HeaderValue::from_str(&link) {
            response.headers_mut().insert(header::LINK, link);
        }
    }
    response
}

/// The API URLs the app requests first on these pages, exactly as it
/// spells them (`src/api.rs`). Only where the page's URL alone decides
/// them: the marketplace without filters, an offer's page and the checkout
/// (not an embed's, whose requests depend on the partner).
fn api_preloads(path: &str, query: Option<&str>) -> Vec<String> {
    // An id the app sends as it is (`api::encode` changes nothing).
    let plain = |id: &str| {
        !id.is_empty()
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~'))
    };
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        ["marketplace"] if query.is_none_or(str::is_empty) => vec!["/api/v1/offers".into()],
        ["offers", id] if plain(id) => {
            vec![format!("/api/v1/offers/{id}"), "/api/v1/sla-tiers".into()]
        }
        ["checkout", id] if plain(id) => vec![
            format!("/api/v1/offers/{id}"),
            "/api/v1/images".into(),
            "/api/v1/sla-tiers".into(),
        ],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_whose_first_requests_are_certain_preload_them() {
        assert_eq!(api_preloads("/marketplace", None), ["/api/v1/offers"]);
        assert_eq!(api_preloads("/marketplace", Some("")), ["/api/v1/offers"]);
        assert!(api_preloads("/marketplace", Some("zone=eu-west-1a")).is_empty());
        assert_eq!(
            api_preloads("/offers/off_1a", None),
            ["/api/v1/offers/off_1a", "/api/v1/sla-tiers"]
        );
        assert_eq!(
            api_preloads("/checkout/off_1a", Some("step=2")),
            [
                "/api/v1/offers/off_1a",
                "/api/v1/images",
                "/api/v1/sla-tiers"
            ]
        );
        // What the app would percent-encode, or what could break the header.
        assert!(api_preloads("/offers/a%20b", None).is_empty());
        assert!(api_preloads("/offers/a>;rel=x", None).is_empty());
        assert!(api_preloads("/offers/", None).is_empty());
        assert!(api_preloads("/embed/acme/marketplace", None).is_empty());
        assert!(api_preloads("/", None).is_empty());
        assert!(api_preloads("/sell", None).is_empty());
    }
}
