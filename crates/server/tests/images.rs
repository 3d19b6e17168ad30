//! Where images come from: sources set by the operator or published by
//! this server, sent to agents with every heartbeat, the published disk
//! served (with ranges), instances logging in as their image's user, and
//! the real disk use hosts report.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::TestApp;
use sparecloud_api::agent::{ImageFormat, ImageSource};
use sparecloud_server::domain::image_sources;
use sparecloud_server::error::AppError;

const HOST: (u32, u32, u32) = (8, 16, 200);
/// The bytes of a published disk file.
const DISK: &[u8] = b"a tiny test disk";

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("{:x}", sha2::Sha256::digest(bytes))
}

async fn sources_sent_to(app: &TestApp, credential: &str) -> Vec<serde_json::Value> {
    // Sources go to hosts that fetch images (real ones, which move disks).
    let res = app
        .heartbeat_with(credential, HOST, serde_json::json!({"moves_disks": true}))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    res.json()["images"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_published_image_is_served_and_its_source_goes_to_every_host() {
    let files = tempfile::tempdir().unwrap();
    let disk = files.path().join("tiny.qcow2");
    std::fs::write(&disk, DISK).unwrap();
    let published = disk.clone();
    let app = TestApp::with_settings(move |settings| {
        settings.published_images = vec![("sparecloud-test".into(), published)];
    })
    .await;
    let seller = app
        .seller_with_host("s@example.com", "eu-west-1a", HOST)
        .await;
    // No image has a source yet: a real host can run none.
    assert!(
        sources_sent_to(&app, &seller.host_credential)
            .await
            .is_empty()
    );

    image_sources::publish(&app.state.db, "sparecloud-test", &disk)
        .await
        .unwrap();
    // A simulated host is not sent them.
    let simulated = app
        .heartbeat_with(&seller.host_credential, HOST, serde_json::json!({}))
        .await;
    assert_eq!(simulated.json()["images"], serde_json::json!([]));
    let sources = sources_sent_to(&app, &seller.host_credential).await;
    assert_eq!(
        sources,
        [serde_json::json!({
            "image_id": "sparecloud-test",
            "url": "/api/v1/images/sparecloud-test/disk",
            "sha256": sha256_hex(DISK),
            "format": "qcow2",
            "login_user": "root",
        })]
    );

    let whole = app.get("/api/v1/images/sparecloud-test/disk").await;
    assert_eq!(whole.status, StatusCode::OK);
    assert_eq!(whole.body, DISK);
    // An interrupted fetch resumes with a range.
    let request = Request::get("/api/v1/images/sparecloud-test/disk")
        .header(header::RANGE, "bytes=2-5")
        .body(Body::empty())
        .unwrap();
    let part = app.request(request).await;
    assert_eq!(part.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.body, b"tiny");

    // Only what the server publishes is served: no other image, no path.
    for path in [
        "/api/v1/images/debian-12/disk",
        "/api/v1/images/..%2F..%2Fetc%2Fpasswd/disk",
    ] {
        let res = app.get(path).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(res.content_type, "application/problem+json");
    }
}

#[tokio::test]
async fn an_operator_sets_a_cloud_image_source_and_bad_ones_are_refused() {
    let app = TestApp::new().await;
    let seller = app
        .seller_with_host("s@example.com", "eu-west-1a", HOST)
        .await;
    let source = ImageSource {
        image_id: "debian-12".into(),
        url: "https://cloud.debian.org/images/cloud/bookworm/latest/debian-12-genericcloud-amd64.qcow2".into(),
        sha256: "ab".repeat(32),
        format: ImageFormat::Qcow2,
        login_user: String::new(),
    };
    image_sources::set(&app.state.db, &source).await.unwrap();
    let sent = sources_sent_to(&app, &seller.host_credential).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["url"], source.url.as_str());
    assert_eq!(
        sent[0]["login_user"], "debian",
        "the catalog's user, not the caller's"
    );

    let refused = |source: ImageSource| {
        let app = app.clone();
        async move {
            match image_sources::set(&app.state.db, &source).await {
                Err(AppError::Client(problem)) => problem,
                other => panic!("accepted: {other:?}"),
            }
        }
    };
    let bad_url = refused(ImageSource {
        url: "file:///etc/shadow".into(),
        ..source.clone()
    })
    .await;
    assert_eq!(bad_url.errors[0].field, "url");
    let bad_sum = refused(ImageSource {
        sha256: "not-a-checksum".into(),
        ..source.clone()
    })
    .await;
    assert_eq!(bad_sum.errors[0].field, "sha256");
    let unknown = refused(ImageSource {
        image_id: "windows-11".into(),
        ..source.clone()
    })
    .await;
    assert_eq!(unknown.status, 404);
    // Nothing refused changed the source.
    let sent = sources_sent_to(&app, &seller.host_credential).await;
    assert_eq!(sent[0]["url"], source.url.as_str());
}

#[tokio::test]
async fn an_instance_logs_in_as_its_image_s_user() {
    let app = TestApp::new().await;
    let (_seller, offer, buyer, card) = app.shop(HOST, 100).await;
    let order = app.buy(&buyer, &card, &offer, "s1.small", 1).await;
    assert_eq!(order.status, StatusCode::CREATED, "{}", order.text());
    let instances = app
        .send("GET", "/api/v1/instances", Some(&buyer), None)
        .await
        .json();
    assert_eq!(instances[0]["image_id"], "debian-12");
    assert_eq!(instances[0]["ssh_user"], "debian");
}

#[tokio::test]
async fn a_host_s_real_disk_use_reaches_its_seller_and_nonsense_is_refused() {
    let app = TestApp::new().await;
    let seller = app
        .seller_with_host("s@example.com", "eu-west-1a", HOST)
        .await;
    let disk_used = || {
        let app = app.clone();
        let token = seller.token.clone();
        async move {
            app.send("GET", "/api/v1/seller/hosts", Some(&token), None)
                .await
                .json()[0]
                .get("disk_used_bytes")
                .cloned()
        }
    };
    // A simulation (or an older agent) does not say.
    assert_eq!(disk_used().await, None);
    let res = app
        .heartbeat_with(
            &seller.host_credential,
            HOST,
            serde_json::json!({"disk_used_bytes": 734_003_200u64}),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(disk_used().await, Some(serde_json::json!(734_003_200u64)));

    let res = app
        .heartbeat_with(
            &seller.host_credential,
            HOST,
            serde_json::json!({"disk_used_bytes": u64::MAX}),
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(common::error_fields(&res.json()), ["disk_used_bytes"]);
    assert_eq!(disk_used().await, Some(serde_json::json!(734_003_200u64)));
}

#[tokio::test]
async fn an_offer_says_which_images_its_hosts_can_run() {
    let app = TestApp::new().await;
    let (seller, offer) = app.gold_offer(HOST, 100).await;
    let images = || {
        let app = app.clone();
        let offer = offer.clone();
        async move {
            app.get(&format!("/api/v1/offers/{offer}"))
                .await
                .json()
                .get("images")
                .cloned()
        }
    };
    // A host that says nothing runs any image: the offer names none.
    assert_eq!(images().await, None);
    let res = app
        .heartbeat_with(
            &seller.host_credential,
            HOST,
            serde_json::json!({"images": ["sparecloud-test"]}),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(images().await, Some(serde_json::json!(["sparecloud-test"])));
    // Searches do not carry it (their entries are shared by every search).
    let page = app.get("/api/v1/offers").await.json();
    assert!(page["items"][0].get("images").is_none());
}
