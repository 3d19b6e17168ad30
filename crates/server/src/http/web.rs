//! Serves the built web app: files from dist/ (the build's brotli or gzip
//! copy when the browser accepts it), and index.html for any other path so
//! the app's own router can handle deep links.

use std::path::Path;
use std::sync::Arc;

use base64::Engine;
use sha2::{Digest, Sha256};

use super::preload;
use crate::stripe::StripeConfig;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower_http::services::{ServeDir, ServeFile};

/// The Content-Security-Policy of our pages: scripts from us (the app's
/// inline loader by its hash, wasm) and from the configured Stripe.js
/// origin only; frames from Stripe only; connections to us and Stripe; and
/// who may frame the page (`frame_ancestors`).
pub fn content_security_policy(
    index_html: &[u8],
    stripe: &StripeConfig,
    frame_ancestors: &str,
) -> String {
    let script_origin = origin(&stripe.js_url);
    let api_origin = origin(&stripe.api_base);
    let mut frames = vec![script_origin.clone()];
    if script_origin == "https://js.stripe.com" {
        // Stripe.js's 3-D Secure pages.
        frames.push("https://hooks.stripe.com".into());
    }
    let mut connect = vec!["'self'".to_owned(), script_origin.clone()];
    if api_origin != script_origin {
        connect.push(api_origin);
    }
    let inline = inline_script_hashes(index_html).join(" ");
    format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval' {inline} {script_origin}; \
         frame-src {}; connect-src {}; object-src 'none'; base-uri 'none'; form-action 'self'; \
         {frame_ancestors}",
        frames.join(" "),
        connect.join(" ")
    )
}

/// `scheme://host[:port]` of a URL.
fn origin(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return String::new();
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    format!("{scheme}://{host}")
}

/// `'sha256-…'` of each inline `<script>` of the page (Trunk's loader).
fn inline_script_hashes(html: &[u8]) -> Vec<String> {
    let html = String::from_utf8_lossy(html);
    let mut hashes = Vec::new();
    let mut rest = html.as_ref();
    while let Some(start) = rest.find("<script") {
        let tag = &rest[start..];
        let Some(open_end) = tag.find('>') else { break };
        let Some(close) = tag.find("</script>") else {
            break;
        };
        let attributes = &tag[..open_end];
        let body = &tag[open_end + 1..close];
        if !attributes.contains("src=") {
            let digest = Sha256::digest(body.as_bytes());
            hashes.push(format!(
                "'sha256-{}'",
                base64::engine::general_purpose::STANDARD.encode(digest)
            ));
        }
        rest = &tag[close + "</script>".len()..];
    }
    hashes
}

pub fn router(dist_dir: &Path) -> Router {
    let index = ServeFile::new(dist_dir.join("index.html"))
        .precompressed_br()
        .precompressed_gzip();
    let files = ServeDir::new(dist_dir)
        .precompressed_br()
        .precompressed_gzip()
        .fallback(index);
    let root = Arc::new(
        dist_dir
            .canonicalize()
            .unwrap_or_else(|_| dist_dir.to_path_buf()),
    );
    Router::new()
        .fallback_service(files)
        .layer(middleware::from_fn(cache_headers))
        .layer(middleware::from_fn(preload::hints))
        .layer(middleware::from_fn(move |request: Request, next: Next| {
            let root = Arc::clone(&root);
            async move { inside_dist(&root, request, next).await }
        }))
}

/// Only the built app's own files: no dotfiles, and nothing a symbolic link
/// in dist/ points to outside it.
async fn inside_dist(root: &Path, request: Request, next: Next) -> Response {
    let path = percent_encoding::percent_decode_str(request.uri().path())
        .decode_utf8_lossy()
        .into_owned();
    let hidden = path.split('/').any(|segment| segment.starts_with('.'));
    let target = root.join(path.trim_start_matches('/'));
    let escapes = target
        .canonicalize()
        .is_ok_and(|real| !real.starts_with(root));
    if hidden || escapes {
        return axum::http::StatusCode::NOT_FOUND.into_response();
    }
    next.run(request).await
}

async fn cache_headers(request: Request, next: Next) -> Response {
    let policy = cache_policy(request.uri().path());
    let mut response = next.run(request).await;
    if response.status().is_success() {
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
        // The body depends on Accept-Encoding (a precompressed copy or not):
        // a shared cache must not give a br copy to a browser without br.
        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    response
}

/// Trunk names assets `name-<hash>.ext`, the hash a u64 in hex without
/// leading zeros (so sometimes fewer than 16 digits), and the wasm chunks
/// live under `wasm-<hash>/` (scripts/trunk-post-build.sh): a new build gets
/// new names, so those can be cached for good. Everything else (index.html,
/// deep links, unhashed files) must be revalidated so a deploy is picked up
/// at once.
fn cache_policy(path: &str) -> &'static str {
    let mut segments = path.trim_start_matches('/').split('/');
    let first = segments.next().unwrap_or_default();
    let in_wasm_dir = segments.next().is_some() && hashed(first);
    let file = path.rsplit('/').next().unwrap_or_default();
    let stem = file.split('.').next().unwrap_or_default();
    // wasm-bindgen appends `_bg` to the module's name after Trunk's hash.
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    if in_wasm_dir || hashed(stem) {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    }
}

/// `name-<hash>`: at least 10 hex digits, since `offers/abc-def` is no
/// asset, and a hash below 16^10 has odds of one in 16^6.
fn hashed(stem: &str) -> bool {
    stem.rsplit_once('-').is_some_and(|(_, hash)| {
        (10..=16).contains(&hash.len()) && hash.bytes().all(|b| b.is_ascii_hexdigit())
    })
}

#[cfg(test)]
mod tests {
    use super::{cache_policy, content_security_policy, inline_script_hashes};
    use crate::stripe::StripeConfig;

    #[test]
    fn the_policy_allows_the_configured_stripe_and_the_apps_own_inline_loader() {
        let html =
            b"<script type=module>import init from '/a.js';</script><script src=/x.js></script>";
        let hashes = inline_script_hashes(html);
        assert_eq!(hashes.len(), 1);
        let real = content_security_policy(
            html,
            &StripeConfig::unconfigured(),
            "frame-ancestors 'none'",
        );
        assert!(
            real.contains(&format!(
                "script-src 'self' 'wasm-unsafe-eval' {} https://js.stripe.com;",
                hashes[0]
            )),
            "{real}"
        );
        assert!(
            real.contains("frame-src https://js.stripe.com https://hooks.stripe.com;"),
            "{real}"
        );
        assert!(
            real.contains("connect-src 'self' https://js.stripe.com https://api.stripe.com;"),
            "{real}"
        );
        assert!(real.ends_with("frame-ancestors 'none'"));
        assert!(real.starts_with("default-src 'self'; "), "{real}");
        assert!(real.contains("base-uri 'none';"), "{real}");
        assert!(!real.contains("unsafe-inline"), "{real}");
        let stand_in = content_security_policy(
            html,
            &StripeConfig::stand_in("http://127.0.0.1:4242", "s"),
            "frame-ancestors https://p.example",
        );
        assert!(
            stand_in.contains("frame-src http://127.0.0.1:4242;"),
            "{stand_in}"
        );
        assert!(
            stand_in.contains("connect-src 'self' http://127.0.0.1:4242;"),
            "{stand_in}"
        );
        assert!(!stand_in.contains("stripe.com"), "{stand_in}");
    }

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
        // A hash with a leading zero digit dropped, as Trunk wrote one.
        assert_eq!(
            cache_policy("/sparecloud-web-a7604dfe68a37d2.js"),
            "public, max-age=31536000, immutable"
        );
        // The split wasm: every file of a build's own directory.
        assert_eq!(
            cache_policy("/wasm-0123456789abcdef/__wasm_split.js"),
            "public, max-age=31536000, immutable"
        );
        assert_eq!(
            cache_policy("/wasm-0123456789abcdef/chunk_3.wasm"),
            "public, max-age=31536000, immutable"
        );
        assert_eq!(cache_policy("/"), "no-cache");
        assert_eq!(cache_policy("/marketplace"), "no-cache");
        assert_eq!(cache_policy("/stylers.css"), "no-cache");
        assert_eq!(cache_policy("/public/embed.js"), "no-cache");
        assert_eq!(cache_policy("/offers/abc-def"), "no-cache");
    }
}
