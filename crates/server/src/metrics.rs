//! Prometheus metrics, through the `metrics` facade: the exporter is
//! installed by `main` when `--metrics-bind` is set and serves them on that
//! address only; without it every call here is a no-op. Counters and
//! histograms are recorded where things happen; the gauges of the whole
//! marketplace (hosts, instances, the database pool) are read from the
//! database every 2 s by a task `install` starts.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder};

use sparecloud_api::instances::InstanceStatus;

use crate::state::AppState;

const INSTANCE_STATUSES: [InstanceStatus; 7] = [
    InstanceStatus::Pending,
    InstanceStatus::Provisioning,
    InstanceStatus::Running,
    InstanceStatus::Stopping,
    InstanceStatus::Stopped,
    InstanceStatus::Terminated,
    InstanceStatus::Failed,
];

/// Latency buckets, seconds: from a cached read to a slow card charge.
const SECONDS_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Whether an exporter is installed: without one, requests skip building
/// their labels.
static ENABLED: AtomicBool = AtomicBool::new(false);

/// Serves `GET /metrics` on `bind` from now on, with the marketplace's
/// gauges kept fresh.
pub fn install(bind: SocketAddr, state: AppState) -> Result<(), BuildError> {
    PrometheusBuilder::new()
        .with_http_listener(bind)
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)?
        .install()?;
    ENABLED.store(true, Ordering::Relaxed);
    tokio::spawn(refresh_gauges(state));
    describe_counter!(
        "sparecloud_http_requests_total",
        "HTTP requests answered, by method, route template and status."
    );
    describe_histogram!(
        "sparecloud_http_request_duration_seconds",
        metrics::Unit::Seconds,
        "Time to answer an HTTP request, by method and route template."
    );
    describe_counter!(
        "sparecloud_job_runs_total",
        "Background job runs, by job and outcome."
    );
    describe_histogram!(
        "sparecloud_job_duration_seconds",
        metrics::Unit::Seconds,
        "Duration of a background job's run, by job."
    );
    describe_gauge!(
        "sparecloud_db_pool_connections",
        "Database connections open, by state (idle, in_use)."
    );
    describe_gauge!(
        "sparecloud_hosts",
        "Sellers' hosts, by status (online, offline)."
    );
    describe_gauge!(
        "sparecloud_agent_heartbeat_lag_seconds",
        "Longest time since an online host's last heartbeat."
    );
    describe_gauge!("sparecloud_instances", "Instances, by status.");
    describe_counter!(
        "sparecloud_orders_total",
        "Orders placed, by outcome (completed, requires_action, failed, error)."
    );
    describe_counter!(
        "sparecloud_revenue_cents_total",
        "Invoice amounts collected from buyers, in cents."
    );
    Ok(())
}

pub fn http_request(method: &str, route: &str, status: u16, latency: Duration) {
    if !ENABLED.load(Ordering::Relaxed) {
        return;
    }
    let labels = [
        ("method", method.to_owned()),
        ("route", route.to_owned()),
        ("status", status.to_string()),
    ];
    counter!("sparecloud_http_requests_total", &labels).increment(1);
    histogram!(
        "sparecloud_http_request_duration_seconds",
        "method" => method.to_owned(),
        "route" => route.to_owned()
    )
    .record(latency.as_secs_f64());
}

pub fn job_run(job: &'static str, ok: bool, took: Duration) {
    let outcome = if ok { "ok" } else { "error" };
    counter!("sparecloud_job_runs_total", "job" => job, "outcome" => outcome).increment(1);
    histogram!("sparecloud_job_duration_seconds", "job" => job).record(took.as_secs_f64());
}

pub fn order_placed(outcome: &str) {
    counter!("sparecloud_orders_total", "outcome" => outcome.to_owned()).increment(1);
}

pub fn revenue_collected(cents: i64) {
    counter!("sparecloud_revenue_cents_total").increment(u64::try_from(cents).unwrap_or(0));
}

async fn refresh_gauges(state: AppState) {
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    loop {
        tick.tick().await;
        if let Err(error) = refresh(&state).await {
            tracing::warn!(%error, "cannot read the marketplace gauges");
        }
    }
}

/// The marketplace's gauges, read from the database.
async fn refresh(state: &AppState) -> Result<(), sqlx::Error> {
    let idle = state.db.num_idle() as f64;
    let open = f64::from(state.db.size());
    gauge!("sparecloud_db_pool_connections", "state" => "idle").set(idle);
    gauge!("sparecloud_db_pool_connections", "state" => "in_use").set((open - idle).max(0.0));

    let hosts: Vec<(String, i64)> =
        sqlx::query_as("SELECT status, COUNT(*) FROM hosts GROUP BY status")
            .fetch_all(&state.db)
            .await?;
    for status in ["online", "offline"] {
        let count = hosts
            .iter()
            .find(|(s, _)| s == status)
            .map_or(0, |(_, n)| *n);
        gauge!("sparecloud_hosts", "status" => status).set(count as f64);
    }
    let (oldest,): (Option<i64>,) =
        sqlx::query_as("SELECT MIN(last_heartbeat_ms) FROM hosts WHERE status = 'online'")
            .fetch_one(&state.db)
            .await?;
    let lag_ms = oldest.map_or(0, |at| (state.clock.now() - at).max(0));
    gauge!("sparecloud_agent_heartbeat_lag_seconds").set(lag_ms as f64 / 1000.0);

    let instances: Vec<(String, i64)> =
        sqlx::query_as("SELECT status, COUNT(*) FROM instances GROUP BY status")
            .fetch_all(&state.db)
            .await?;
    for status in INSTANCE_STATUSES.map(InstanceStatus::as_str) {
        let count = instances
            .iter()
            .find(|(s, _)| s == status)
            .map_or(0, |(_, n)| *n);
        gauge!("sparecloud_instances", "status" => status).set(count as f64);
    }
    Ok(())
}
