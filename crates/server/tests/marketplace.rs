//! The catalog and offer search.

mod common;

use axum::http::StatusCode;
use common::TestApp;
use serde_json::{Value, json};

#[tokio::test]
async fn the_catalog_lists_images_flavors_and_tiers_with_credits() {
    let app = TestApp::new().await;
    let images = app.get("/api/v1/images").await.json();
    let names: Vec<&str> = images
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    for name in [
        "Debian 12",
        "Ubuntu 24.04 LTS",
        "LAMP stack",
        "LEMP stack",
        "Docker host",
        "PostgreSQL server",
    ] {
        assert!(names.contains(&name), "{name}");
    }
    let flavors = app.get("/api/v1/flavors").await.json();
    assert_eq!(
        flavors[0],
        json!({"id": "s1.small", "vcpu": 1, "ram_gib": 2, "disk_gib": 20})
    );
    let tiers = app.get("/api/v1/sla-tiers").await.json();
    let availability: Vec<(String, u64)> = tiers
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["id"].as_str().unwrap().to_owned(),
                t["availability_bp"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        availability,
        [
            ("bronze".into(), 9900),
            ("silver".into(), 9950),
            ("gold".into(), 9990)
        ]
    );
    assert_eq!(
        tiers[2]["credits"][0],
        json!({"below_bp": 9990, "credit_percent": 10})
    );
    assert_eq!(app.get("/api/v1/zones").await.json(), json!([]));
}

/// Three sellers: cheap bronze in us-central-1a (one big host), mid silver
/// in eu-west-1a (small host), pricey gold in eu-central-1a.
async fn market() -> (TestApp, [String; 3]) {
    let app = TestApp::new().await;
    let a = app
        .seller_with_host("a@example.com", "us-central-1a", (64, 256, 4000))
        .await;
    let b = app
        .seller_with_host("b@example.com", "eu-west-1a", (2, 4, 40))
        .await;
    let c = app
        .seller_with_host("c@example.com", "eu-central-1a", (16, 64, 1000))
        .await;
    let cheap = app
        .offer(
            &a.token,
            "us-central-1a",
            "bronze",
            &[("s1.small", 5), ("c1.xlarge", 90)],
        )
        .await;
    let mid = app
        .offer(
            &b.token,
            "eu-west-1a",
            "silver",
            &[("s1.small", 8), ("s1.large", 30)],
        )
        .await;
    let gold = app
        .offer(
            &c.token,
            "eu-central-1a",
            "gold",
            &[("s1.medium", 20), ("m1.large", 60)],
        )
        .await;
    (app, [cheap, mid, gold])
}

fn ids(page: &serde_json::Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn search_filters_sorts_and_pages() {
    let (app, [cheap, mid, gold]) = market().await;
    let all = app.get("/api/v1/offers").await.json();
    assert_eq!(all["total"], 3);
    assert_eq!(
        ids(&all),
        [cheap.clone(), mid.clone(), gold.clone()],
        "cheapest first by default"
    );
    let first = &all["items"][0];
    assert_eq!(first["seller_name"], "Test Hosting");
    assert_eq!(first["zone"], "us-central-1a");
    assert_eq!(first["availability_bp"], 9900);
    assert_eq!(first["from_hourly_cents"], 5);
    assert_eq!(
        first["free"],
        json!({"vcpu": 64, "ram_gib": 256, "disk_gib": 4000})
    );

    // The small host fits s1.small but not s1.large: only what fits is priced.
    let mid_offer = &all["items"][1];
    let priced: Vec<&str> = mid_offer["prices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["flavor"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(priced, ["s1.small"]);

    let q = |query: &str| {
        let app = app.clone();
        let path = format!("/api/v1/offers?{query}");
        async move { app.get(&path).await.json() }
    };
    assert_eq!(
        ids(&q("sort=price_desc").await),
        [gold.clone(), mid.clone(), cheap.clone()]
    );
    assert_eq!(
        ids(&q("sort=newest").await),
        [gold.clone(), mid.clone(), cheap.clone()]
    );
    assert_eq!(ids(&q("zone=eu-west-1a").await), std::slice::from_ref(&mid));
    assert_eq!(ids(&q("sla=gold").await), std::slice::from_ref(&gold));
    assert_eq!(
        ids(&q("min_vcpu=4").await),
        [cheap.clone(), gold.clone()],
        "mid cannot fit 4 vCPU"
    );
    assert_eq!(
        ids(&q("min_ram_gib=32").await),
        [cheap.clone(), gold.clone()]
    );
    assert_eq!(ids(&q("max_price=10").await), [cheap.clone(), mid.clone()]);
    assert_eq!(
        ids(&q("image=postgresql-16").await),
        [cheap.clone(), gold.clone()],
        "needs 40 GiB of disk"
    );
    assert_eq!(
        ids(&q("zone=eu-west-1a&max_price=7").await),
        Vec::<String>::new()
    );

    let page = q("per_page=2&page=2").await;
    assert_eq!(page["total"], 3);
    assert_eq!(page["page"], 2);
    assert_eq!(ids(&page), std::slice::from_ref(&gold));

    let zones = app.get("/api/v1/zones").await.json();
    assert_eq!(zones.as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn bad_queries_are_clear_4xx_problems() {
    let (app, _) = market().await;
    for (query, status) in [
        ("min_vcpu=lots", StatusCode::BAD_REQUEST),
        ("sort=random", StatusCode::BAD_REQUEST),
        ("per_page=1000", StatusCode::UNPROCESSABLE_ENTITY),
        ("page=0", StatusCode::UNPROCESSABLE_ENTITY),
        ("page=1000001", StatusCode::UNPROCESSABLE_ENTITY),
        (
            "max_price=9223372036854775808",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        ("sla=platinum", StatusCode::UNPROCESSABLE_ENTITY),
        ("image=windows-95", StatusCode::UNPROCESSABLE_ENTITY),
        ("max_price=-5", StatusCode::BAD_REQUEST),
    ] {
        let res = app.get(&format!("/api/v1/offers?{query}")).await;
        assert_eq!(res.status, status, "{query}: {}", res.text());
        assert_eq!(res.content_type, "application/problem+json", "{query}");
    }
}

#[tokio::test]
async fn paused_and_full_offers_are_not_listed() {
    let (app, [cheap, mid, _gold]) = market().await;
    // Fill the small eu-west host (2 vCPU) with two s1.small.
    let buyer = app.sign_up("buyer@example.com", &["buyer"]).await;
    let card = app.card(&buyer, "4242 4242 4242 4242").await;
    assert_eq!(
        app.buy(&buyer, &card, &mid, "s1.small", 2).await.status,
        StatusCode::CREATED
    );
    let listed = ids(&app.get("/api/v1/offers").await.json());
    assert!(!listed.contains(&mid), "a full host's offer is not listed");

    let seller_a = app
        .post(
            "/api/v1/sessions",
            None,
            json!({"email": "a@example.com", "password": "correct horse battery"}),
        )
        .await
        .json();
    let token = seller_a["token"].as_str().unwrap();
    let res = app
        .patch(
            &format!("/api/v1/seller/offers/{cheap}"),
            Some(token),
            json!({"status": "paused"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.json()["listed"], false);
    assert!(!ids(&app.get("/api/v1/offers").await.json()).contains(&cheap));
    assert_eq!(
        app.get(&format!("/api/v1/offers/{cheap}")).await.status,
        StatusCode::NOT_FOUND
    );
    let res = app
        .patch(
            &format!("/api/v1/seller/offers/{cheap}"),
            Some(token),
            json!({"status": "active", "prices": [{"flavor_id": "s1.small", "hourly_cents": 4}]}),
        )
        .await;
    assert_eq!(res.json()["listed"], true);
    assert_eq!(
        app.get(&format!("/api/v1/offers/{cheap}")).await.json()["from_hourly_cents"],
        4
    );

    // Search answers from its in-memory index: every change shows at once.
    let search = app.get("/api/v1/offers?sort=price_asc").await.json();
    assert_eq!(search["items"][0]["id"], cheap.as_str());
    assert_eq!(search["items"][0]["from_hourly_cents"], 4);
    let res = app
        .post(
            "/api/v1/seller/profile",
            Some(token),
            json!({"company_name": "Renamed Racks", "country": "DE",
                   "payout_reference": "DE89 3704", "default_sla_tier": "bronze"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let search = app.get("/api/v1/offers?sort=price_asc").await.json();
    assert_eq!(search["items"][0]["seller_name"], "Renamed Racks");
}

#[tokio::test]
async fn the_market_gives_median_prices_and_the_commission() {
    let (app, _) = market().await;
    let all = app.get("/api/v1/market").await.json();
    assert_eq!(all["commission_bp"], 1500);
    let small = |market: &Value| {
        market["prices"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["flavor"]["id"] == "s1.small")
            .cloned()
            .unwrap()
    };
    // s1.small sells at 5 (bronze) and 8 (silver); the gold offer has none.
    assert_eq!(small(&all)["offers"], 2);
    assert_eq!(small(&all)["median_hourly_cents"], 6);
    let bronze = app
        .get("/api/v1/market?zone=us-central-1a&sla=bronze")
        .await
        .json();
    assert_eq!(small(&bronze)["median_hourly_cents"], 5);
    assert_eq!(small(&bronze)["offers"], 1);
    let nobody = app.get("/api/v1/market?zone=mars-1a").await.json();
    assert_eq!(small(&nobody)["median_hourly_cents"], Value::Null);
    assert_eq!(small(&nobody)["offers"], 0);
}

#[tokio::test]
async fn a_new_seller_gets_a_suggested_price_for_every_size_from_the_nearest_data() {
    let (app, _) = market().await;
    let price = |market: &Value, flavor: &str| {
        market["prices"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["flavor"]["id"] == flavor)
            .cloned()
            .unwrap()
    };
    // There: the median where the seller sells.
    let here = app
        .get("/api/v1/market?zone=us-central-1a&sla=bronze")
        .await
        .json();
    assert_eq!(price(&here, "s1.small")["suggested_hourly_cents"], 5);
    assert_eq!(price(&here, "s1.small")["suggested_from"], "here");
    // Nobody in the zone: the same service level in other zones.
    let new_zone = app
        .get("/api/v1/market?zone=mars-1a&sla=bronze")
        .await
        .json();
    assert_eq!(
        price(&new_zone, "s1.small")["median_hourly_cents"],
        Value::Null
    );
    assert_eq!(price(&new_zone, "s1.small")["suggested_hourly_cents"], 5);
    assert_eq!(
        price(&new_zone, "s1.small")["suggested_from"],
        "same_tier_elsewhere"
    );
    // Nobody at the service level: the whole market (5 and 8).
    let new_tier = app.get("/api/v1/market?zone=mars-1a&sla=gold").await.json();
    assert_eq!(price(&new_tier, "s1.small")["suggested_hourly_cents"], 6);
    assert_eq!(
        price(&new_tier, "s1.small")["suggested_from"],
        "whole_market"
    );
    // A size nobody sells: a list price from its cores and memory. Every
    // size has a price to start from.
    let all = app.get("/api/v1/market").await.json();
    for p in new_tier["prices"].as_array().unwrap() {
        assert!(p["suggested_hourly_cents"].as_u64().unwrap() > 0, "{p}");
        if price(&all, p["flavor"]["id"].as_str().unwrap())["offers"] == 0 {
            let flavor = &p["flavor"];
            let list = 2 * flavor["vcpu"].as_u64().unwrap() + flavor["ram_gib"].as_u64().unwrap();
            assert_eq!(p["suggested_from"], "list_price", "{p}");
            assert_eq!(p["suggested_hourly_cents"], list, "{p}");
        }
    }
}
