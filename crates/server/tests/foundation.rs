//! The server skeleton: health, problem+json for unknown API paths, and the
//! web app served with an SPA fallback.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::TestApp;

#[tokio::test]
async fn health_reports_ok_with_version() {
    let app = TestApp::new().await;
    let res = app.get("/api/v1/health").await;
    assert_eq!(res.status, StatusCode::OK);
    let body = res.json();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
}

#[tokio::test]
async fn health_fails_cleanly_when_the_database_is_gone() {
    let app = TestApp::new().await;
    app.state.db.close().await;
    let res = app.get("/api/v1/health").await;
    assert_eq!(res.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(res.content_type, "application/problem+json");
    // The internal error text is logged, never sent.
    assert!(
        !res.text().to_lowercase().contains("pool"),
        "{}",
        res.text()
    );
}

#[tokio::test]
async fn unknown_api_paths_are_problem_json_404s() {
    let app = TestApp::new().await;
    for path in ["/api/v1/nope", "/api/v2/health", "/api/nothing", "/api"] {
        let res = app.get(path).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(res.content_type, "application/problem+json", "{path}");
        let body = res.json();
        assert_eq!(body["type"], "https://sparecloud.dev/problems/not-found");
        assert_eq!(body["status"], 404);
    }
}

#[tokio::test]
async fn wrong_method_on_an_api_route_is_a_problem_json_405() {
    let app = TestApp::new().await;
    let res = app
        .request(
            Request::delete("/api/v1/health")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(res.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(res.content_type, "application/problem+json");
}

#[tokio::test]
async fn app_paths_fall_back_to_index_html() {
    let app = TestApp::new().await;
    for path in ["/", "/marketplace", "/offers/abc/checkout", "/no/such/page"] {
        let res = app.get(path).await;
        assert_eq!(res.status, StatusCode::OK, "{path}");
        assert!(res.content_type.starts_with("text/html"), "{path}");
        assert!(res.text().contains("app shell"), "{path}");
        assert_eq!(res.headers[header::CACHE_CONTROL], "no-cache");
    }
    let css = app.get("/app.css").await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(css.content_type.starts_with("text/css"));
}

#[tokio::test]
async fn pages_preload_the_api_requests_their_first_view_makes() {
    let app = TestApp::new().await;
    let link = |path: &'static str| {
        let app = &app;
        async move {
            let res = app.get(path).await;
            assert_eq!(res.status, StatusCode::OK, "{path}");
            res.headers
                .get(header::LINK)
                .map(|l| l.to_str().unwrap().to_owned())
        }
    };
    assert_eq!(
        link("/marketplace").await.as_deref(),
        Some("</api/v1/offers>; rel=preload; as=fetch; crossorigin")
    );
    assert_eq!(
        link("/checkout/off_1?step=2").await.as_deref(),
        Some(
            "</api/v1/offers/off_1>; rel=preload; as=fetch; crossorigin, \
             </api/v1/images>; rel=preload; as=fetch; crossorigin, \
             </api/v1/sla-tiers>; rel=preload; as=fetch; crossorigin"
        )
    );
    // Filters change the request; assets and other pages have none.
    assert_eq!(link("/marketplace?zone=eu-west-1a").await, None);
    assert_eq!(link("/app.css").await, None);
    assert_eq!(link("/sell").await, None);
}

#[tokio::test]
async fn pages_refuse_to_be_framed_and_take_scripts_and_frames_from_us_and_stripe_only() {
    let app = TestApp::new().await;
    let res = app.get("/").await;
    let policy = res.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    let stripe = common::stripe_api_base();
    let directive = |name: &str| {
        policy
            .split(';')
            .map(str::trim)
            .find_map(|d| d.strip_prefix(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no {name} in {policy}"))
            .split_whitespace()
            .collect::<Vec<_>>()
    };
    assert_eq!(directive("frame-ancestors"), ["'none'"]);
    assert_eq!(
        directive("script-src"),
        ["'self'", "'wasm-unsafe-eval'", stripe.as_str()]
    );
    assert_eq!(directive("frame-src"), [stripe.as_str()]);
    assert_eq!(directive("connect-src"), ["'self'", stripe.as_str()]);
    assert_eq!(directive("object-src"), ["'none'"]);
    // Everything else (styles, images, fonts) from us only, and no <base>.
    assert_eq!(directive("default-src"), ["'self'"]);
    assert_eq!(directive("base-uri"), ["'none'"]);
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    assert_eq!(res.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(
        res.headers[header::REFERRER_POLICY],
        "strict-origin-when-cross-origin"
    );
    let features = res.headers["permissions-policy"].to_str().unwrap();
    for feature in ["camera=()", "microphone=()", "geolocation=()", "usb=()"] {
        assert!(features.contains(feature), "{features}");
    }
    // Served over plain http (tests, `make run`), HSTS would be a lie.
    assert!(!res.headers.contains_key(header::STRICT_TRANSPORT_SECURITY));
    let api = app.get("/api/v1/health").await;
    assert_eq!(
        api.headers[header::REFERRER_POLICY],
        "strict-origin-when-cross-origin"
    );
}

#[tokio::test]
async fn a_deployment_on_https_pins_browsers_to_https() {
    let app = TestApp::with_settings(|s| {
        s.public_url = Some("https://market.example".into());
    })
    .await;
    for path in ["/", "/api/v1/health"] {
        let res = app.get(path).await;
        assert_eq!(
            res.headers[header::STRICT_TRANSPORT_SECURITY],
            "max-age=31536000; includeSubDomains",
            "{path}"
        );
    }
}

/// dist/ serves the app's files only: not dotfiles, and not what a
/// symbolic link inside it points to elsewhere.
#[tokio::test]
async fn the_app_server_serves_neither_dotfiles_nor_links_out_of_dist() {
    let app = TestApp::new().await;
    let dist = app.dir.path().join("dist");
    std::fs::write(dist.join(".env"), "STRIPE_SECRET_KEY=sk_live_secret").unwrap();
    std::fs::create_dir_all(dist.join(".git")).unwrap();
    std::fs::write(dist.join(".git/config"), "secret remote").unwrap();
    std::fs::write(app.dir.path().join("outside.txt"), "outside dist").unwrap();
    std::os::unix::fs::symlink(app.dir.path().join("outside.txt"), dist.join("leak.txt")).unwrap();
    std::fs::write(dist.join("inside.txt"), "inside dist").unwrap();
    std::os::unix::fs::symlink(dist.join("inside.txt"), dist.join("alias.txt")).unwrap();
    for path in ["/.env", "/%2eenv", "/.git/config", "/leak.txt"] {
        let res = app.get(path).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{path}");
        assert!(
            !res.text().contains("secret") && !res.text().contains("outside"),
            "{path}"
        );
    }
    assert_eq!(app.get("/inside.txt").await.text(), "inside dist");
    assert_eq!(
        app.get("/alias.txt").await.text(),
        "inside dist",
        "links within dist/ are fine"
    );
}

/// The build's precompressed copies go by Accept-Encoding: brotli when the
/// browser takes it, else gzip, else the file itself; each answer says which
/// and that it varies by that header. Hashed assets are cached for good.
#[tokio::test]
async fn assets_are_sent_precompressed_by_accept_encoding() {
    let app = TestApp::new().await;
    let dist = app.dir.path().join("dist");
    let asset = "sparecloud-web-a7604dfe68a37d2_bg.wasm";
    std::fs::write(dist.join(asset), b"identity bytes").unwrap();
    std::fs::write(dist.join(format!("{asset}.gz")), b"gzip bytes").unwrap();
    std::fs::write(dist.join(format!("{asset}.br")), b"brotli bytes").unwrap();
    for (accept, encoding, body) in [
        (Some("gzip, deflate, br, zstd"), Some("br"), "brotli bytes"),
        (Some("br;q=0.5, gzip"), Some("gzip"), "gzip bytes"),
        (Some("gzip, deflate"), Some("gzip"), "gzip bytes"),
        (Some("identity"), None, "identity bytes"),
        (None, None, "identity bytes"),
    ] {
        let mut request = Request::get(format!("/{asset}"));
        if let Some(accept) = accept {
            request = request.header(header::ACCEPT_ENCODING, accept);
        }
        let res = app.request(request.body(Body::empty()).unwrap()).await;
        assert_eq!(res.status, StatusCode::OK, "{accept:?}");
        assert_eq!(res.text(), body, "{accept:?}");
        assert_eq!(
            res.headers
                .get(header::CONTENT_ENCODING)
                .map(|v| v.to_str().unwrap()),
            encoding,
            "{accept:?}"
        );
        assert_eq!(res.content_type, "application/wasm", "{accept:?}");
        assert_eq!(res.headers[header::VARY], "accept-encoding", "{accept:?}");
        assert_eq!(
            res.headers[header::CACHE_CONTROL],
            "public, max-age=31536000, immutable"
        );
    }
    // The page itself (and any deep link to it) is revalidated every time.
    std::fs::write(dist.join("index.html.br"), b"brotli page").unwrap();
    for path in ["/", "/marketplace"] {
        let request = Request::get(path)
            .header(header::ACCEPT_ENCODING, "gzip, br")
            .body(Body::empty())
            .unwrap();
        let res = app.request(request).await;
        assert_eq!(res.text(), "brotli page", "{path}");
        assert_eq!(res.headers[header::CONTENT_ENCODING], "br", "{path}");
        assert_eq!(res.headers[header::CACHE_CONTROL], "no-cache", "{path}");
    }
}

/// Ready only once the offer index is built: until then a search would
/// wait for the whole build. Health stays a liveness check meanwhile.
#[tokio::test]
async fn ready_only_once_the_offer_index_is_built() {
    let app = TestApp::new().await;
    let starting = app.get("/api/v1/ready").await;
    assert_eq!(starting.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        starting.json()["type"],
        "https://sparecloud.dev/problems/not-ready"
    );
    assert_eq!(app.get("/api/v1/health").await.status, StatusCode::OK);

    app.state.offer_index.snapshot(&app.state.db).await.unwrap();
    let ready = app.get("/api/v1/ready").await;
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.text());
    assert_eq!(ready.json()["status"], "ready");
}

/// A database migrated by a newer version is refused with a clear message,
/// and left as it was.
#[tokio::test]
async fn a_database_from_a_newer_version_is_refused() {
    let app = TestApp::new().await;
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
         SELECT 99999, 'from the future', success, checksum, execution_time
         FROM _sqlx_migrations WHERE version = 1",
    )
    .execute(&app.state.db)
    .await
    .unwrap();
    let refused = sparecloud_server::db::migrate(&app.state.db)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains("migrated by a newer Sparecloud (migration 99999"),
        "{refused}"
    );
    // Migrating an up-to-date database again is fine.
    sqlx::query("DELETE FROM _sqlx_migrations WHERE version = 99999")
        .execute(&app.state.db)
        .await
        .unwrap();
    sparecloud_server::db::migrate(&app.state.db).await.unwrap();
}
