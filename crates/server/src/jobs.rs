//! Background work: hosts that stopped heartbeating go offline (and past
//! the grace period fail their instances, which auto-recovery places
//! again), moves off draining hosts are retried, stops and terminations a
//! host did not carry out in time are marked for cleanup, expired quotes give their
//! capacity back, last month's service credits are
//! applied, running instances are billed, invoices are made and charged,
//! orders a crash left half-done are failed and their authorisations voided,
//! orders no host started are refunded, and expired sessions and old
//! sign-in counts are purged.
//!
//! Each job claims its rows with a conditional UPDATE, so several server
//! processes may run them at once without doing anything twice.

use std::future::Future;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::domain::{
    accounts, agents, charges, cleanups, ha, invoices, ledger, order_recovery, quotes, refunds, sla,
};
use crate::error::AppResult;
use crate::state::AppState;

/// One pass of every job, each timed and counted by name.
pub async fn run_once(state: &AppState) -> AppResult<()> {
    timed("hosts_offline", agents::mark_silent_hosts_offline(state)).await?;
    timed("ha_fail_lost_hosts", ha::fail_lost_hosts(state)).await?;
    timed("ha_recover", ha::recover_waiting(state)).await?;
    timed("ha_retry_drains", ha::retry_drains(state)).await?;
    timed("cleanups", cleanups::mark_overdue(state)).await?;
    timed("quote_release", quotes::release_expired_quotes(state)).await?;
    // A month's time is billed up to its end before its credits and
    // invoices are made.
    timed("month_end", invoices::settle_month_end(state)).await?;
    timed("sla_credits", sla::apply_last_month_credits(state)).await?;
    timed(
        "billing",
        ledger::accrue_running(
            &state.db,
            state.clock.now(),
            state.settings.billing_interval_ms,
        ),
    )
    .await?;
    timed("invoices_monthly", invoices::close_monthly(state)).await?;
    timed("invoices_final", invoices::close_finals(state)).await?;
    timed("charges", charges::charge_due(state)).await?;
    timed("order_recovery", order_recovery::recover_stranded(state)).await?;
    timed("refunds", refunds::release_unstarted_orders(state)).await?;
    timed("purge", accounts::purge_expired(state)).await?;
    Ok(())
}

async fn timed<T, E>(job: &'static str, work: impl Future<Output = Result<T, E>>) -> Result<T, E> {
    let started = Instant::now();
    let result = work.await;
    crate::metrics::job_run(job, result.is_ok(), started.elapsed());
    result
}

/// Runs the jobs every second until `stop` turns true; a pass under way
/// when it does is finished first.
pub async fn run(state: AppState, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => break,
        }
        if *stop.borrow() {
            break;
        }
        if let Err(error) = run_once(&state).await {
            tracing::error!(%error, "background jobs failed");
        }
    }
}
