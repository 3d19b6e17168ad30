//! What every request leaves behind: a request id (the caller's
//! `X-Request-Id` when it is a sane one, else a new one, echoed either
//! way), one log line with the route template, status, latency and the
//! account or host that made it, and the HTTP metrics. Never a header
//! value, query string or body: those may hold tokens, passwords or cards.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The route template that matched (`/api/v1/orders/{id}`), carried from the
/// router (which knows it) out to [`observe`] on the response.
#[derive(Debug, Clone)]
struct RouteTemplate(String);

/// Inside the API router, after routing: hands the matched template out.
pub async fn keep_route(path: Option<MatchedPath>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    if let Some(path) = path {
        response
            .extensions_mut()
            .insert(RouteTemplate(path.as_str().to_owned()));
    }
    response
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
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    // Handlers and the proxy behind us see the same id.
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        request.headers_mut().insert(REQUEST_ID, value);
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
    let route = match response.extensions().get::<RouteTemplate>() {
        Some(RouteTemplate(route)) => route.clone(),
        None if is_api => "/api/unmatched".to_owned(),
        None => "/web".to_owned(),
    };
    let status = response.status().as_u16();
    span.record("route", route.as_str());
    span.in_scope(|| {
        tracing::info!(
            status,
            latency_ms = latency.as_secs_f64() * 1000.0,
            "request"
        )
    });
    crate::metrics::http_request(method.as_str(), &route, status, latency);

    if let Ok(value) = HeaderValue::from_str(&request_id) {
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
