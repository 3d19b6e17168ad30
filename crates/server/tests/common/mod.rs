//! Test helpers: the real router on a fresh SQLite file per test.
#![allow(dead_code)] // each test binary uses a different subset

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::Value;
use sparecloud_server::{AppState, Clock, app, db};
use tower::ServiceExt;

pub struct TestApp {
    pub router: Router,
    pub state: AppState,
    /// Holds the database file and the dist/ directory until the test ends.
    pub dir: tempfile::TempDir,
}

pub struct TestResponse {
    pub status: StatusCode,
    pub content_type: String,
    pub headers: axum::http::HeaderMap,
    pub body: Vec<u8>,
}

impl TestResponse {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl TestApp {
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let dist = dir.path().join("dist");
        std::fs::create_dir_all(&dist).unwrap();
        std::fs::write(
            dist.join("index.html"),
            "<!doctype html><title>Sparecloud</title><body>app shell</body>",
        )
        .unwrap();
        std::fs::write(dist.join("app.css"), "body{}").unwrap();
        let url = format!("sqlite://{}", dir.path().join("test.db").display());
        let pool = db::connect(&url).await.expect("connect");
        db::migrate(&pool).await.expect("migrate");
        // A manual clock at a fixed instant: tests move time explicitly.
        let state = AppState::new(pool, dist).with_clock(Clock::manual(1_795_000_000_000));
        Self {
            router: app(state.clone()),
            state,
            dir,
        }
    }

    pub async fn request(&self, request: Request<Body>) -> TestResponse {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let body = response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        TestResponse {
            status,
            content_type,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> TestResponse {
        self.send("GET", path, None, None).await
    }

    /// Sends a request with an optional bearer token and JSON body.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> TestResponse {
        let mut builder = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = match body {
            Some(body) => builder
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string())),
            None => builder.body(Body::empty()),
        };
        self.request(request.unwrap()).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> TestResponse {
        self.send("POST", path, token, Some(body)).await
    }

    /// Signs up an account with the given roles and returns its token.
    pub async fn sign_up(&self, email: &str, roles: &[&str]) -> String {
        let res = self
            .post(
                "/api/v1/accounts",
                None,
                serde_json::json!({
                    "email": email,
                    "password": "correct horse battery",
                    "display_name": "Test User",
                    "roles": roles,
                }),
            )
            .await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
        res.json()["token"].as_str().unwrap().to_owned()
    }
}
