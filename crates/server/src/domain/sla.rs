//! SLA accounting: each instance's availability over a UTC month (its
//! hosts' outages while it was on them), the credit its tier gives for it,
//! and at month end the credits recorded once and split between the
//! sellers whose hosts were down.

use sparecloud_api::instances::{InstanceSla, InstanceStatus};

use crate::clock::Millis;
use crate::db;
use crate::domain::catalog;
use crate::domain::uptime::{availability_bp, credit_percent, down_ms, month_of, split_credit};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// The instance's availability this month so far (its host's, while the
/// instance existed) and the credit its tier gives for it.
pub async fn instance_sla(state: &AppState, id: &str, now: Millis) -> AppResult<InstanceSla> {
    let (month_start, _, month) = month_of(now);
    instance_sla_between(state, id, month_start, now, month).await
}

/// The instance's availability over `[window_start, window_end)` (clipped
/// to its life) and the credit for it on the charges billed in the window.
pub async fn instance_sla_between(
    state: &AppState,
    id: &str,
    window_start: Millis,
    window_end: Millis,
    month: String,
) -> AppResult<InstanceSla> {
    Ok(measure_sla(state, id, window_start, window_end, month)
        .await?
        .0)
}

/// `instance_sla_between`, with the downtime each seller's hosts caused
/// while the instance was on them (ms), which decides who pays the credit.
pub async fn measure_sla(
    state: &AppState,
    id: &str,
    window_start: Millis,
    window_end: Millis,
    month: String,
) -> AppResult<(InstanceSla, Vec<(String, Millis)>)> {
    let (tier, created, status, updated): (String, i64, String, i64) = sqlx::query_as(
        "SELECT sla_tier, created_at_ms, status, updated_at_ms FROM instances WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&state.db)
    .await?;
    let from = created.max(window_start);
    let ended = InstanceStatus::parse(&status).is_some_and(InstanceStatus::is_final);
    let to = if ended {
        updated.min(window_end)
    } else {
        window_end
    };
    // The outages of each host the instance was on, while it was there.
    // (outage start, end, on the host from, until, the host's seller)
    type OutageRow = (i64, Option<i64>, i64, Option<i64>, String);
    let outages: Vec<OutageRow> = sqlx::query_as(
        "SELECT o.started_at_ms, o.ended_at_ms, p.from_ms, p.to_ms, h.seller_id
         FROM instance_placements p JOIN host_outages o ON o.host_id = p.host_id JOIN hosts h ON h.id = p.host_id
         WHERE p.instance_id = $1 AND o.started_at_ms < $3 AND (o.ended_at_ms IS NULL OR o.ended_at_ms > $2)
           AND o.started_at_ms < COALESCE(p.to_ms, $3) AND (o.ended_at_ms IS NULL OR o.ended_at_ms > p.from_ms)",
    )
    .bind(id)
    .bind(from)
    .bind(to)
    .fetch_all(&state.db)
    .await?;
    let outages: Vec<(String, (i64, Option<i64>))> = outages
        .into_iter()
        .map(|(start, end, placed, left, seller)| {
            let end = match (end, left) {
                (Some(end), Some(left)) => Some(end.min(left)),
                (end, left) => end.or(left),
            };
            (seller, (start.max(placed), end))
        })
        .collect();
    let all: Vec<(i64, Option<i64>)> = outages.iter().map(|(_, o)| *o).collect();
    let availability_bp = availability_bp(from, to, &all);
    let mut by_seller: std::collections::BTreeMap<String, Vec<(i64, Option<i64>)>> =
        Default::default();
    for (seller, outage) in outages {
        by_seller.entry(seller).or_default().push(outage);
    }
    let down_by_seller: Vec<(String, Millis)> = by_seller
        .into_iter()
        .map(|(seller, theirs)| {
            let down = down_ms(from, to, &theirs);
            (seller, down)
        })
        .collect();
    let tier = catalog::sla_tiers(state)
        .await?
        .into_iter()
        .find(|t| t.id == tier)
        .ok_or_else(|| AppError::internal(format!("instance {id} has unknown tier {tier}")))?;
    let credit_percent = credit_percent(availability_bp, &tier.credits);
    let (charged,): (i64,) = sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(buyer_charge_cents), 0) AS BIGINT) FROM ledger_entries
         WHERE instance_id = $1 AND period_end_ms > $2 AND period_end_ms <= $3",
    )
    .bind(id)
    .bind(window_start)
    .bind(window_end)
    .fetch_one(&state.db)
    .await?;
    let sla = InstanceSla {
        month,
        target_bp: tier.availability_bp,
        availability_bp,
        credit_percent,
        credit_cents: (charged.max(0) as u64) * u64::from(credit_percent) / 100,
    };
    Ok((sla, down_by_seller))
}

/// Credits applied to the instance for past months.
pub async fn applied_credits(state: &AppState, id: &str) -> AppResult<Vec<InstanceSla>> {
    let rows: Vec<(String, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT month, target_bp, availability_bp, credit_percent, credit_cents FROM sla_month_credits
         WHERE instance_id = $1 AND credit_percent > 0 ORDER BY month DESC",
    )
    .bind(id)
    .fetch_all(&state.db)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(month, target, availability, percent, cents)| InstanceSla {
                month,
                target_bp: target as u32,
                availability_bp: availability as u32,
                credit_percent: percent as u32,
                credit_cents: cents.max(0) as u64,
            },
        )
        .collect())
}

/// When a month has ended: for every instance billed in it, its
/// availability over the month and, when that missed the tier, the credit,
/// recorded once per instance and month (the key makes a concurrent second
/// attempt, from another server process, a no-op). Returns how many
/// instances were credited.
pub async fn apply_last_month_credits(state: &AppState) -> AppResult<usize> {
    let now = state.clock.now();
    let (this_month, _, _) = month_of(now);
    let (start, end, month) = month_of(this_month - 1);
    // A read first: once the month is done, passes find nothing to do.
    let due: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT DISTINCT l.instance_id, l.buyer_id, i.seller_id FROM ledger_entries l
         JOIN instances i ON i.id = l.instance_id
         WHERE l.period_end_ms > $1 AND l.period_end_ms <= $2
           AND NOT EXISTS (SELECT 1 FROM sla_month_credits c WHERE c.instance_id = l.instance_id AND c.month = $3)",
    )
    .bind(start)
    .bind(end)
    .bind(&month)
    .fetch_all(&state.db)
    .await?;
    let mut credited = 0;
    for (instance_id, buyer_id, seller_id) in due {
        let (sla, down_by_seller) =
            measure_sla(state, &instance_id, start, end, month.clone()).await?;
        let mut tx = db::begin_write(&state.db).await?;
        let recorded = sqlx::query(
            "INSERT INTO sla_month_credits (instance_id, month, buyer_id, seller_id, target_bp, availability_bp,
               credit_percent, credit_cents, created_at_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (instance_id, month) DO NOTHING",
        )
        .bind(&instance_id)
        .bind(&month)
        .bind(&buyer_id)
        .bind(&seller_id)
        .bind(i64::from(sla.target_bp))
        .bind(i64::from(sla.availability_bp))
        .bind(i64::from(sla.credit_percent))
        .bind(sla.credit_cents as i64)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if recorded.rows_affected() == 1 {
            for (seller, cents) in
                split_credit(sla.credit_cents as i64, &down_by_seller, &seller_id)
            {
                sqlx::query(
                    "INSERT INTO sla_credit_shares (instance_id, month, seller_id, credit_cents) VALUES ($1, $2, $3, $4)",
                )
                .bind(&instance_id)
                .bind(&month)
                .bind(&seller)
                .bind(cents)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        if recorded.rows_affected() == 1 && sla.credit_cents > 0 {
            tracing::info!(%instance_id, %month, availability_bp = sla.availability_bp,
                credit_cents = sla.credit_cents, "service credit applied");
            credited += 1;
        }
    }
    Ok(credited)
}
