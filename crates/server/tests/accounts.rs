//! Sign-up, sign-in, sessions and the login rate limit.

mod common;

use axum::http::StatusCode;
use common::TestApp;
use serde_json::json;

#[tokio::test]
async fn sign_up_returns_a_session_for_the_new_account() {
    let app = TestApp::new().await;
    let res = app
        .post(
            "/api/v1/accounts",
            None,
            json!({"email": " Ada@Example.com ", "password": "correct horse battery",
                   "display_name": "Ada", "roles": ["buyer", "seller"]}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let body = res.json();
    assert_eq!(body["account"]["email"], "ada@example.com");
    assert_eq!(body["account"]["roles"], json!(["buyer", "seller"]));
    let token = body["token"].as_str().unwrap();

    let me = app.send("GET", "/api/v1/me", Some(token), None).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.json()["display_name"], "Ada");
}

#[tokio::test]
async fn passwords_and_tokens_are_stored_hashed() {
    let app = TestApp::new().await;
    let token = app.sign_up("ada@example.com", &["buyer"]).await;
    let (hash,): (String,) = sqlx::query_as("SELECT password_hash FROM accounts")
        .fetch_one(&app.state.db)
        .await
        .unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!hash.contains("correct horse battery"));
    let (token_hash,): (String,) = sqlx::query_as("SELECT token_hash FROM sessions")
        .fetch_one(&app.state.db)
        .await
        .unwrap();
    assert_ne!(token_hash, token);
    assert!(!token_hash.contains(&token[5..]));
}

#[tokio::test]
async fn sign_up_validates_every_field() {
    let app = TestApp::new().await;
    let res = app
        .post(
            "/api/v1/accounts",
            None,
            json!({"email": "not-an-email", "password": "short", "display_name": " ", "roles": []}),
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(res.content_type, "application/problem+json");
    let body = res.json();
    let fields = common::error_fields(&body);
    assert_eq!(fields, ["email", "password", "display_name", "roles"]);
}

#[tokio::test]
async fn common_blank_and_invisible_passwords_and_names_are_refused() {
    let app = TestApp::new().await;
    let sign_up = |password: &str, name: &str| {
        app.post(
            "/api/v1/accounts",
            None,
            json!({"email": "ada@example.com", "password": password, "display_name": name, "roles": ["buyer"]}),
        )
    };
    // Among the most common passwords, in any case; and spaces only.
    for password in ["qwertyuiop", "1234567890", "Password123", "            "] {
        let res = sign_up(password, "Ada").await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{password:?}");
        assert_eq!(common::error_fields(&res.json()), ["password"]);
    }
    // A right-to-left override, and a name of zero-width characters only.
    for name in ["Ada\u{202E}kcab", "\u{200B}\u{200D}"] {
        let res = sign_up("a long enough password", name).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{name:?}");
        assert_eq!(common::error_fields(&res.json()), ["display_name"]);
    }
    assert_eq!(
        sign_up("a long enough password", "Ada").await.status,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn an_email_registers_once_whatever_its_case() {
    let app = TestApp::new().await;
    app.sign_up("ada@example.com", &["buyer"]).await;
    let res = app
        .post(
            "/api/v1/accounts",
            None,
            json!({"email": "ADA@example.com", "password": "another password", "display_name": "A", "roles": ["seller"]}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert_eq!(res.json()["errors"][0]["field"], "email");
}

#[tokio::test]
async fn malformed_bodies_are_problem_json_not_500s() {
    let app = TestApp::new().await;
    let cases = [
        ("{not json", StatusCode::BAD_REQUEST),
        (r#"{"email": 5}"#, StatusCode::UNPROCESSABLE_ENTITY),
        (r#"{"email": "a@b.co"}"#, StatusCode::UNPROCESSABLE_ENTITY),
    ];
    for (body, status) in cases {
        let res = app
            .request(
                axum::http::Request::post("/api/v1/accounts")
                    .header("content-type", "application/json")
                    .body(axum::body::Body::from(body))
                    .unwrap(),
            )
            .await;
        assert_eq!(res.status, status, "{body}");
        assert_eq!(res.content_type, "application/problem+json", "{body}");
        assert_eq!(
            res.json()["type"],
            "https://sparecloud.dev/problems/malformed-body"
        );
    }
    let no_type = app
        .request(
            axum::http::Request::post("/api/v1/accounts")
                .body(axum::body::Body::from("{}"))
                .unwrap(),
        )
        .await;
    assert_eq!(no_type.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(no_type.content_type, "application/problem+json");

    let huge = json!({"email": "a".repeat(100_000)});
    let res = app.post("/api/v1/accounts", None, huge).await;
    assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(res.content_type, "application/problem+json");
}

#[tokio::test]
async fn sign_in_and_sign_out() {
    let app = TestApp::new().await;
    app.sign_up("ada@example.com", &["buyer"]).await;
    let res = app
        .post(
            "/api/v1/sessions",
            None,
            json!({"email": "ADA@example.com", "password": "correct horse battery"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
    let token = res.json()["token"].as_str().unwrap().to_owned();
    assert_eq!(
        app.send("GET", "/api/v1/me", Some(&token), None)
            .await
            .status,
        StatusCode::OK
    );

    let out = app
        .send("DELETE", "/api/v1/sessions/current", Some(&token), None)
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    let me = app.send("GET", "/api/v1/me", Some(&token), None).await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);
    assert_eq!(me.content_type, "application/problem+json");
}

#[tokio::test]
async fn wrong_credentials_get_one_message_whether_or_not_the_email_exists() {
    let app = TestApp::new().await;
    app.sign_up("ada@example.com", &["buyer"]).await;
    let wrong_password = app
        .post(
            "/api/v1/sessions",
            None,
            json!({"email": "ada@example.com", "password": "wrong password!"}),
        )
        .await;
    let unknown = app
        .post(
            "/api/v1/sessions",
            None,
            json!({"email": "nobody@example.com", "password": "wrong password!"}),
        )
        .await;
    assert_eq!(wrong_password.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong_password.json(), unknown.json());
}

/// Sign out everywhere ends every session of the account, and only its.
#[tokio::test]
async fn sign_out_everywhere_ends_every_session_of_the_account() {
    let app = TestApp::new().await;
    let first = app.sign_up("ada@example.com", &["buyer"]).await;
    let sign_in = || async {
        app.post(
            "/api/v1/sessions",
            None,
            json!({"email": "ada@example.com", "password": "correct horse battery"}),
        )
        .await
        .json()["token"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let second = sign_in().await;
    let third = sign_in().await;
    let someone_else = app.sign_up("grace@example.com", &["buyer"]).await;

    let res = app
        .send("DELETE", "/api/v1/sessions", Some(&second), None)
        .await;
    assert_eq!(res.status, StatusCode::NO_CONTENT);
    for token in [&first, &second, &third] {
        assert_eq!(
            app.send("GET", "/api/v1/me", Some(token), None)
                .await
                .status,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        app.send("GET", "/api/v1/me", Some(&someone_else), None)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.send("DELETE", "/api/v1/sessions", None, None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn sessions_expire() {
    let app = TestApp::new().await;
    let token = app.sign_up("ada@example.com", &["buyer"]).await;
    app.state.clock.advance(7 * 24 * 3600 * 1000 + 1);
    let me = app.send("GET", "/api/v1/me", Some(&token), None).await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);
    let garbage = app.send("GET", "/api/v1/me", Some("sc_s_nope"), None).await;
    assert_eq!(garbage.status, StatusCode::UNAUTHORIZED);
    let none = app.get("/api/v1/me").await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
}

/// Wrong passwords slow an account down, never lock it: anyone could lock
/// anyone's account otherwise. Each attempt past the fifth waits twice as
/// long as the one before; the owner gets in once the wait is over.
#[tokio::test]
async fn repeated_failures_slow_the_account_down_without_locking_it() {
    let app = TestApp::new().await;
    app.sign_up("ada@example.com", &["buyer"]).await;
    let attempt = |password: &'static str| {
        app.post(
            "/api/v1/sessions",
            None,
            json!({"email": "ada@example.com", "password": password}),
        )
    };
    for _ in 0..5 {
        assert_eq!(
            attempt("wrong password!").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    // Right after, even the right password waits (1 s)...
    let slowed = attempt("correct horse battery").await;
    assert_eq!(slowed.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        slowed.json()["type"],
        "https://sparecloud.dev/problems/too-many-requests"
    );
    assert!(
        slowed.json()["detail"]
            .as_str()
            .unwrap()
            .contains("1 second"),
        "{}",
        slowed.text()
    );
    // ... and an attacker guessing on gets 1 s, 2 s, 4 s... between guesses.
    let mut waits = Vec::new();
    for _ in 0..4 {
        let mut waited = 0;
        while attempt("wrong password!").await.status == StatusCode::TOO_MANY_REQUESTS {
            app.state.clock.advance(500);
            waited += 500;
        }
        waits.push(waited);
    }
    assert_eq!(waits, [1000, 2000, 4000, 8000]);

    // The owner is let in once the current wait (16 s) is over, from any
    // address, and the count starts again.
    app.state.clock.advance(16_000);
    assert_eq!(
        attempt("correct horse battery").await.status,
        StatusCode::CREATED
    );
    assert_eq!(
        attempt("wrong password!").await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn openapi_documents_the_endpoints() {
    let app = TestApp::new().await;
    let res = app.get("/api/v1/openapi.json").await;
    assert_eq!(res.status, StatusCode::OK);
    let doc = res.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/health",
        "/accounts",
        "/sessions",
        "/sessions/current",
        "/me",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} is documented");
    }
    let schemas = &doc["components"]["schemas"];
    for schema in ["SignUpRequest", "Session", "Account", "Problem"] {
        assert!(schemas.get(schema).is_some(), "{schema} schema");
    }
    // Every operation documents the problems any request may meet: a
    // malformed one; with a body, too large, not JSON or invalid; with a
    // credential, a missing one or the wrong account; on seller routes, an
    // incomplete profile.
    let codes = |path: &str, method: &str| -> Vec<String> {
        doc["paths"][path][method]["responses"]
            .as_object()
            .unwrap_or_else(|| panic!("{method} {path}"))
            .keys()
            .cloned()
            .collect()
    };
    let has = |path: &str, method: &str, wanted: &[&str]| {
        let codes = codes(path, method);
        for code in wanted {
            assert!(
                codes.iter().any(|c| c == code),
                "{method} {path}: {codes:?}"
            );
        }
    };
    has("/accounts", "post", &["201", "400", "413", "415", "422"]);
    has("/instances", "get", &["200", "400", "401", "403"]);
    has("/seller/hosts", "get", &["200", "401", "409"]);
    assert_eq!(
        doc["paths"]["/instances"]["get"]["responses"]["401"]["content"]["application/problem+json"]
            ["schema"]["$ref"],
        "#/components/schemas/Problem"
    );
}
