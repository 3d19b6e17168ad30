//! Test helpers: the real router on a fresh SQLite file per test.
#![allow(dead_code)] // each test binary uses a different subset

pub mod process;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::Value;
use sparecloud_server::stripe::StripeConfig;
use sparecloud_server::{AppState, Clock, Settings, app, db};

/// The webhook signing secret of every test app.
pub const WEBHOOK_SECRET: &str = "whsec_sparecloud_test";

/// The localstripe that `make test` starts for the suite
/// (`scripts/localstripe.sh run cargo test …`).
pub fn stripe_api_base() -> String {
    std::env::var("STRIPE_API_BASE").unwrap_or_else(|_| {
        panic!("STRIPE_API_BASE is not set: run the tests through `scripts/localstripe.sh run cargo test`, as `make test` does")
    })
}
use tower::ServiceExt;

/// Cheap to clone, for concurrent requests.
#[derive(Clone)]
pub struct TestApp {
    pub router: Router,
    pub state: AppState,
    /// Holds the database file and the dist/ directory until the test ends.
    pub dir: std::sync::Arc<tempfile::TempDir>,
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

/// A new, empty database on the PostgreSQL server of `admin_url` (a
/// throwaway cluster): each test gets its own, as with SQLite files.
pub async fn fresh_postgres_database(admin_url: &str) -> String {
    use sqlx::Connection;
    let name = format!("t_{}", uuid::Uuid::now_v7().simple());
    let mut admin = sqlx::PgConnection::connect(admin_url)
        .await
        .expect("connect to the PostgreSQL test cluster");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .expect("create a test database");
    let (base, _) = admin_url.rsplit_once('/').expect("a database URL");
    format!("{base}/{name}")
}

impl TestApp {
    pub async fn new() -> Self {
        Self::with_settings(|_| {}).await
    }

    /// A fresh app whose settings `adjust` changes first.
    pub async fn with_settings(adjust: impl FnOnce(&mut Settings)) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let dist = dir.path().join("dist");
        std::fs::create_dir_all(&dist).unwrap();
        std::fs::write(
            dist.join("index.html"),
            "<!doctype html><title>Sparecloud</title><body>app shell</body>",
        )
        .unwrap();
        std::fs::write(dist.join("app.css"), "body{}").unwrap();
        let url = match std::env::var("SPARECLOUD_TEST_POSTGRES_URL") {
            // `make test` runs the suite a second time on PostgreSQL.
            Ok(admin) => fresh_postgres_database(&admin).await,
            Err(_) => format!("sqlite://{}", dir.path().join("test.db").display()),
        };
        let pool = db::connect(&url).await.expect("connect");
        db::migrate(&pool).await.expect("migrate");
        // A manual clock at a fixed instant: tests move time explicitly.
        let mut settings = Settings::new(dist);
        settings.stripe = StripeConfig::stand_in(&stripe_api_base(), WEBHOOK_SECRET);
        adjust(&mut settings);
        let state = AppState::new(pool, settings).with_clock(Clock::manual(1_795_000_000_000));
        Self {
            router: app(state.clone()),
            state,
            dir: std::sync::Arc::new(dir),
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

/// The kinds of an instance detail's events, oldest first.
pub fn event_kinds(detail: &Value) -> Vec<String> {
    detail["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect()
}

/// The fields a validation problem names, in order.
pub fn error_fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect()
}

/// A host with room for four s1.small instances: (vCPU, RAM GiB, disk GiB).
pub const SMALL_HOST: (u32, u32, u32) = (4, 8, 80);

pub const ED25519_KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl ada@laptop";

/// A seller with a profile and one registered host.
pub struct Seller {
    pub token: String,
    pub host_id: String,
    pub host_credential: String,
}

impl TestApp {
    pub async fn patch(&self, path: &str, token: Option<&str>, body: Value) -> TestResponse {
        self.send("PATCH", path, token, Some(body)).await
    }

    /// Signs up a seller, completes the profile and returns its token.
    pub async fn seller_account(&self, email: &str) -> String {
        let token = self.sign_up(email, &["seller"]).await;
        let res = self
            .post(
                "/api/v1/seller/profile",
                Some(&token),
                serde_json::json!({"company_name": "Test Hosting", "country": "DE",
                                   "payout_reference": "DE89370400440532013000", "default_sla_tier": "gold"}),
            )
            .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text());
        token
    }

    /// Issues an install token and returns its secret.
    pub async fn install_token(&self, seller_token: &str, zone: &str) -> String {
        let res = self
            .post(
                "/api/v1/seller/install-tokens",
                Some(seller_token),
                serde_json::json!({"label": "rack 1", "zone": zone}),
            )
            .await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
        res.json()["secret"].as_str().unwrap().to_owned()
    }

    /// Registers a host with `capacity` (vCPU, RAM GiB, disk GiB) through the
    /// agent protocol; returns (host id, credential).
    pub async fn register_host(
        &self,
        install_token: &str,
        name: &str,
        capacity: (u32, u32, u32),
    ) -> (String, String) {
        let res = self.register_raw(install_token, name, capacity).await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
        let body = res.json();
        (
            body["host_id"].as_str().unwrap().to_owned(),
            body["credential"].as_str().unwrap().to_owned(),
        )
    }

    pub async fn register_raw(
        &self,
        install_token: &str,
        name: &str,
        capacity: (u32, u32, u32),
    ) -> TestResponse {
        self.post(
            "/api/v1/agent/register",
            None,
            serde_json::json!({"token": install_token, "name": name, "agent_version": "test",
                               "capacity": {"vcpu": capacity.0, "ram_gib": capacity.1, "disk_gib": capacity.2}}),
        )
        .await
    }

    pub async fn seller_with_host(
        &self,
        email: &str,
        zone: &str,
        capacity: (u32, u32, u32),
    ) -> Seller {
        let token = self.seller_account(email).await;
        let install = self.install_token(&token, zone).await;
        let (host_id, host_credential) = self
            .register_host(&install, &format!("{email}-host"), capacity)
            .await;
        Seller {
            token,
            host_id,
            host_credential,
        }
    }

    /// Publishes an offer; returns its id.
    pub async fn offer(
        &self,
        seller_token: &str,
        zone: &str,
        tier: &str,
        prices: &[(&str, u64)],
    ) -> String {
        let prices: Vec<Value> = prices
            .iter()
            .map(|(flavor, cents)| serde_json::json!({"flavor_id": flavor, "hourly_cents": cents}))
            .collect();
        let res = self
            .post(
                "/api/v1/seller/offers",
                Some(seller_token),
                serde_json::json!({"zone": zone, "sla_tier": tier, "prices": prices}),
            )
            .await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
        res.json()["id"].as_str().unwrap().to_owned()
    }

    /// A seller's `host` in eu-west-1a with a gold offer of s1.small at
    /// `hourly_cents`, and a buyer with a card: (seller, offer id, buyer's
    /// token, card id).
    pub async fn shop(
        &self,
        host: (u32, u32, u32),
        hourly_cents: u64,
    ) -> (Seller, String, String, String) {
        let (seller, offer) = self.gold_offer(host, hourly_cents).await;
        let buyer = self.sign_up("b@example.com", &["buyer"]).await;
        let card = self.card(&buyer, "4242 4242 4242 4242").await;
        (seller, offer, buyer, card)
    }

    /// A seller with a small host in eu-west-1a and a gold offer of
    /// s1.small at €1.20 an hour: the seller and the offer's id.
    pub async fn small_gold_offer(&self) -> (Seller, String) {
        self.gold_offer(SMALL_HOST, 120).await
    }

    /// A seller (s@example.com) with `host` in eu-west-1a and a gold offer
    /// of s1.small at `hourly_cents`: the seller and the offer's id.
    pub async fn gold_offer(&self, host: (u32, u32, u32), hourly_cents: u64) -> (Seller, String) {
        let seller = self
            .seller_with_host("s@example.com", "eu-west-1a", host)
            .await;
        let offer = self
            .offer(
                &seller.token,
                "eu-west-1a",
                "gold",
                &[("s1.small", hourly_cents)],
            )
            .await;
        (seller, offer)
    }

    /// `POST /instances/{id}/{verb}`: stop, start or terminate.
    pub async fn instance_action(&self, buyer_token: &str, id: &str, verb: &str) -> TestResponse {
        self.send(
            "POST",
            &format!("/api/v1/instances/{id}/{verb}"),
            Some(buyer_token),
            None,
        )
        .await
    }

    /// The buyer's view of one instance (`GET /instances/{id}`).
    pub async fn instance_detail(&self, buyer_token: &str, id: &str) -> Value {
        self.send(
            "GET",
            &format!("/api/v1/instances/{id}"),
            Some(buyer_token),
            None,
        )
        .await
        .json()
    }

    /// Saves a card for the buyer as the web app does: a SetupIntent from
    /// our API, confirmed with the card at Stripe (localstripe) as Stripe.js
    /// does, then saved by its id. Returns the payment method id.
    pub async fn card(&self, buyer_token: &str, number: &str) -> String {
        let confirmed = self.confirm_card(buyer_token, number).await;
        assert_eq!(confirmed.0, 200, "Stripe refused the card: {}", confirmed.2);
        self.save_card(buyer_token, &confirmed.1).await
    }

    /// A SetupIntent confirmed at Stripe with `number`, as Stripe.js does:
    /// Stripe's status, the SetupIntent's id and Stripe's answer.
    pub async fn confirm_card(&self, buyer_token: &str, number: &str) -> (u16, String, Value) {
        let intent = self
            .send(
                "POST",
                "/api/v1/payment-methods/setup-intents",
                Some(buyer_token),
                None,
            )
            .await;
        assert_eq!(intent.status, StatusCode::CREATED, "{}", intent.text());
        let intent = intent.json();
        let id = intent["id"].as_str().unwrap().to_owned();
        let digits: String = number.chars().filter(char::is_ascii_digit).collect();
        let config = self.state.stripe.config();
        let answer = reqwest::Client::new()
            .post(format!("{}/v1/setup_intents/{id}/confirm", config.api_base))
            .json(&serde_json::json!({
                "key": config.publishable_key,
                "client_secret": intent["client_secret"],
                "payment_method_data": {"type": "card", "card": {
                    "number": digits, "exp_month": 12, "exp_year": 2030, "cvc": "123"}},
            }))
            .send()
            .await
            .expect("localstripe answers");
        let status = answer.status().as_u16();
        (status, id, answer.json().await.unwrap_or(Value::Null))
    }

    /// `POST /payment-methods` for a confirmed SetupIntent.
    pub async fn save_card(&self, buyer_token: &str, setup_intent_id: &str) -> String {
        let res = self
            .post(
                "/api/v1/payment-methods",
                Some(buyer_token),
                serde_json::json!({"holder_name": "Ada Lovelace", "setup_intent_id": setup_intent_id}),
            )
            .await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.text());
        res.json()["id"].as_str().unwrap().to_owned()
    }

    /// GET on localstripe with the secret key (what Stripe holds).
    pub async fn stripe_get(&self, path: &str) -> Value {
        let config = self.state.stripe.config();
        reqwest::Client::new()
            .get(format!("{}{path}", config.api_base))
            .bearer_auth(&config.secret_key)
            .send()
            .await
            .expect("localstripe answers")
            .json()
            .await
            .unwrap()
    }

    /// Every PaymentIntent of the buyer's Stripe customer, oldest first.
    pub async fn payment_intents(&self, account_email: &str) -> Vec<Value> {
        let (customer,): (Option<String>,) =
            sqlx::query_as("SELECT stripe_customer_id FROM accounts WHERE email = $1")
                .bind(account_email)
                .fetch_one(&self.state.db)
                .await
                .unwrap();
        let Some(customer) = customer else {
            return Vec::new();
        };
        let mut found = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = self
                .stripe_get(&format!(
                    "/v1/payment_intents?limit=100{}",
                    after
                        .as_deref()
                        .map(|a| format!("&starting_after={a}"))
                        .unwrap_or_default()
                ))
                .await;
            let data = page["data"].as_array().cloned().unwrap_or_default();
            after = data
                .last()
                .and_then(|pi| pi["id"].as_str())
                .map(str::to_owned);
            found.extend(
                data.into_iter()
                    .filter(|pi| pi["customer"] == customer.as_str()),
            );
            if page["has_more"] != true || after.is_none() {
                break;
            }
        }
        found.sort_by_key(|pi| pi["created"].as_i64());
        found
    }

    pub async fn quote(
        &self,
        buyer_token: &str,
        offer_id: &str,
        flavor: &str,
        count: u32,
    ) -> TestResponse {
        self.quote_placed(buyer_token, offer_id, flavor, count, "any", false)
            .await
    }

    /// A quote with a placement ("any", "distinct_hosts", "distinct_zones")
    /// and the auto-recovery choice.
    pub async fn quote_placed(
        &self,
        buyer_token: &str,
        offer_id: &str,
        flavor: &str,
        count: u32,
        placement: &str,
        auto_recover: bool,
    ) -> TestResponse {
        self.post(
            "/api/v1/quotes",
            Some(buyer_token),
            serde_json::json!({"offer_id": offer_id, "image_id": "debian-12", "sla_tier": "bronze",
                               "flavor_id": flavor, "count": count, "placement": placement,
                               "auto_recover": auto_recover}),
        )
        .await
    }

    pub async fn order(
        &self,
        buyer_token: &str,
        quote_id: &str,
        payment_method_id: &str,
        key: &str,
    ) -> TestResponse {
        let request = Request::post("/api/v1/orders")
            .header(header::AUTHORIZATION, format!("Bearer {buyer_token}"))
            .header(header::CONTENT_TYPE, "application/json")
            .header("Idempotency-Key", key)
            .body(Body::from(
                serde_json::json!({"quote_id": quote_id, "payment_method_id": payment_method_id,
                                   "ssh_public_key": ED25519_KEY})
                .to_string(),
            ))
            .unwrap();
        self.request(request).await
    }

    /// Quote then order with a card; returns the order response.
    pub async fn buy(
        &self,
        buyer_token: &str,
        payment_method_id: &str,
        offer_id: &str,
        flavor: &str,
        count: u32,
    ) -> TestResponse {
        let quote = self.quote(buyer_token, offer_id, flavor, count).await;
        if quote.status != StatusCode::CREATED {
            return quote;
        }
        let quote_id = quote.json()["id"].as_str().unwrap().to_owned();
        self.order(
            buyer_token,
            &quote_id,
            payment_method_id,
            &format!("key-{quote_id}"),
        )
        .await
    }

    /// One agent heartbeat; `observed` is a list of (instance id, state).
    pub async fn heartbeat(
        &self,
        credential: &str,
        capacity: (u32, u32, u32),
        observed: &[(&str, &str)],
    ) -> TestResponse {
        let instances: Vec<Value> = observed
            .iter()
            .map(|(id, state)| serde_json::json!({"id": id, "state": state, "address": "198.51.100.7"}))
            .collect();
        self.heartbeat_with(
            credential,
            capacity,
            serde_json::json!({"instances": instances}),
        )
        .await
    }

    /// A heartbeat with no instances, and `fields` (an object) added to or
    /// replacing those of the body.
    pub async fn heartbeat_with(
        &self,
        credential: &str,
        capacity: (u32, u32, u32),
        fields: Value,
    ) -> TestResponse {
        let mut body = serde_json::json!({
            "capacity": {"vcpu": capacity.0, "ram_gib": capacity.1, "disk_gib": capacity.2},
            "instances": [], "agent_version": "test"});
        for (name, value) in fields.as_object().expect("an object of fields") {
            body[name] = value.clone();
        }
        self.post("/api/v1/agent/heartbeat", Some(credential), body)
            .await
    }

    /// Every background job, eight passes at once (as from eight server
    /// processes).
    pub async fn all_jobs_at_once(&self) {
        let passes: Vec<_> = (0..8)
            .map(|_| {
                let state = self.state.clone();
                tokio::spawn(async move { sparecloud_server::jobs::run_once(&state).await })
            })
            .collect();
        for pass in passes {
            pass.await.unwrap().unwrap();
        }
    }

    /// A host's (allocated vCPU, RAM, disk).
    pub async fn allocated(&self, host_id: &str) -> (i64, i64, i64) {
        sqlx::query_as("SELECT alloc_vcpu, alloc_ram_gib, alloc_disk_gib FROM hosts WHERE id = $1")
            .bind(host_id)
            .fetch_one(&self.state.db)
            .await
            .unwrap()
    }
}
