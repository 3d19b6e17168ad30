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

use std::time::Duration;

use crate::domain::{
    accounts, agents, charges, cleanups, ha, invoices, ledger, order_recovery, quotes, refunds, sla,
};
use crate::error::AppResult;
use crate::state::AppState;

/// One pass of every job.
pub async fn run_once(state: &AppState) -> AppResult<()> {
    agents::mark_silent_hosts_offline(state).await?;
    ha::fail_lost_hosts(state).await?;
    ha::recover_waiting(state).await?;
    ha::retry_drains(state).await?;
    cleanups::mark_overdue(state).await?;
    quotes::release_expired_quotes(state).await?;
    // A month's time is billed up to its end before its credits and
    // invoices are made.
    invoices::settle_month_end(state).await?;
    sla::apply_last_month_credits(state).await?;
    ledger::accrue_running(
        &state.db,
        state.clock.now(),
        state.settings.billing_interval_ms,
    )
    .await?;
    invoices::close_monthly(state).await?;
    invoices::close_finals(state).await?;
    charges::charge_due(state).await?;
    order_recovery::recover_stranded(state).await?;
    refunds::release_unstarted_orders(state).await?;
    accounts::purge_expired(state).await?;
    Ok(())
}

/// Runs the jobs every second until the task is aborted.
pub async fn run(state: AppState) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(error) = run_once(&state).await {
            tracing::error!(%error, "background jobs failed");
        }
    }
}
