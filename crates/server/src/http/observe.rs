//! What every request leaves behind: a request id (the caller's
//! `X-Request-Id` when it is a sane one, else a new one, echoed either
//! way), one log line with the route template, status, latency and the
//! account or host that made it, and the HTTP metrics. Never a header
//! value, query string or body: those may hold tokens, passwords or cards.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Inside the API router, after routing: hands the matched route template
/// (`/api/v1/orders/{id}`) out to [`observe`] on the response.
pub async fn keep_route(path: Option<MatchedPath>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    if let Some(path) = path {
        response.extensions_mut().insert(path);
    }
    response
}

/// A new request id: this process's random prefix and a counter, unique
/// across processes without a random draw per request.
fn new_request_id() -> String {
    static PREFIX: OnceLock<String> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let prefix = PREFIX.get_or_init(|| uuid::Uuid::now_v7().simple().to_string()[16..].to_owned());
    format!("{prefix}-{:x}", COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// Around everything: the request's span, its log line and its metrics.
pub async fn observe(mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let request_id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .filter(|id| is_sane_request_id(id))
        .map(str::to_owned)
        .unwrap_or_else(new_request_id);
    // Handlers see the same id as the caller does on the answer.
    let id_header = HeaderValue::from_str(&request_id).ok();
    if let Some(value) = &id_header {
        request.headers_mut().insert(REQUEST_ID, value.clone());
    }
    let method = request.method().clone();
    let is_api = request.uri().path().starts_with("/api/");
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        method = %method,
        route = tracing::field::Empty,
        user_id = tracing::field::Empty,
        host_id = tracing::field::Empty,
    );
    let mut response = next.run(request).instrument(span.clone()).await;
    let latency = started.elapsed();

    // Unmatched paths are not labelled one by one: a scan of random paths
    // would make a metric series of each.
    let route = match response.extensions().get::<MatchedPath>() {
        Some(path) => path.as_str(),
        None if is_api => "/api/unmatched",
        None => "/web",
    };
    let status = response.status().as_u16();
    span.record("route", route);
    span.in_scope(|| {
        tracing::info!(
            status,
            latency_ms = latency.as_secs_f64() * 1000.0,
            "request"
        )
    });
    crate::metrics::http_request(method.as_str(), route, status, latency);

    if let Some(value) = id_header {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

/// At most 64 characters of letters, digits, `-`, `_`, `.` and `:`: what
/// proxies and tracing systems send, and nothing a log reader could be
/// fooled by.
fn is_sane_request_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

#[cfg(test)]
mod tests {
    use super::is_sane_request_id;

    #[test]
    fn request_ids_from_callers_are_kept_only_when_plain() {
        assert!(is_sane_request_id("3f2c9a1e-7b7d-4d2e-9c1f-0a8b6c4d2e10"));
        assert!(is_sane_request_id("lb.frontend-01:12345"));
        assert!(!is_sane_request_id(""));
        assert!(!is_sane_request_id(&"a".repeat(65)));
        assert!(!is_sane_request_id("id\nforged log line"));
        assert!(!is_sane_request_id("id with spaces"));
        assert!(!is_sane_request_id("<script>"));
    }
}
