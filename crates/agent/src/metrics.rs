//! The agent's Prometheus metrics, served on `--metrics-bind` by the
//! exporter's own listener: its machines by state, how long reconciling
//! takes, and failed heartbeats. Without the flag every call is a no-op.

use std::net::SocketAddr;
use std::time::Duration;

use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
use sparecloud_api::agent::{ObservedInstance, ObservedState};

use crate::error::AgentError;

const STATES: [(ObservedState, &str); 6] = [
    (ObservedState::Provisioning, "provisioning"),
    (ObservedState::Running, "running"),
    (ObservedState::Stopping, "stopping"),
    (ObservedState::Stopped, "stopped"),
    (ObservedState::Terminated, "terminated"),
    (ObservedState::Failed, "failed"),
];

/// Serves `GET /metrics` on `bind` from now on.
pub fn install(bind: SocketAddr) -> Result<(), AgentError> {
    let refused = |error: metrics_exporter_prometheus::BuildError| {
        AgentError::Metrics(bind, error.to_string())
    };
    PrometheusBuilder::new()
        .with_http_listener(bind)
        .set_buckets_for_metric(
            Matcher::Suffix("_seconds".into()),
            &[0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0],
        )
        .map_err(refused)?
        .install()
        .map_err(refused)?;
    describe_gauge!("sparecloud_agent_vms", "Machines on this host, by state.");
    describe_histogram!(
        "sparecloud_agent_reconcile_duration_seconds",
        metrics::Unit::Seconds,
        "Time to bring the machines to what the marketplace asked."
    );
    describe_counter!(
        "sparecloud_agent_heartbeat_failures_total",
        "Heartbeats that did not reach the API (retried)."
    );
    Ok(())
}

pub fn vms(observed: &[ObservedInstance]) {
    for (state, label) in STATES {
        let count = observed.iter().filter(|vm| vm.state == state).count();
        gauge!("sparecloud_agent_vms", "state" => label).set(count as f64);
    }
}

pub fn reconciled(took: Duration) {
    histogram!("sparecloud_agent_reconcile_duration_seconds").record(took.as_secs_f64());
}

pub fn heartbeat_failed() {
    counter!("sparecloud_agent_heartbeat_failures_total").increment(1);
}
