//! The seller's earnings: gross charges, platform commission and net, in
//! total and per day, less the SLA credits the seller's hosts caused.

use sparecloud_api::seller::{Earnings, EarningsDay};

use crate::clock::{DAY_MS, rfc3339};
use crate::error::AppResult;
use crate::state::AppState;

pub async fn earnings(state: &AppState, seller_id: &str) -> AppResult<Earnings> {
    // Days since the epoch, in UTC: $2 is DAY_MS.
    let rows: Vec<(i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT period_end_ms / $2 AS day,
                CAST(SUM(buyer_charge_cents) AS BIGINT), CAST(SUM(commission_cents) AS BIGINT),
                CAST(SUM(seller_earnings_cents) AS BIGINT)
         FROM ledger_entries WHERE seller_id = $1 GROUP BY period_end_ms / $2 ORDER BY day",
    )
    .bind(seller_id)
    .bind(DAY_MS)
    .fetch_all(&state.db)
    .await?;
    let days: Vec<EarningsDay> = rows
        .into_iter()
        .map(|(day, gross, commission, net)| EarningsDay {
            date: rfc3339(day * DAY_MS)[..10].to_owned(),
            gross_cents: gross as u64,
            commission_cents: commission as u64,
            net_cents: net as u64,
        })
        .collect();
    let (credits,): (i64,) = sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(credit_cents), 0) AS BIGINT) FROM sla_credit_shares WHERE seller_id = $1",
    )
    .bind(seller_id)
    .fetch_one(&state.db)
    .await?;
    let credits = credits.max(0) as u64;
    Ok(Earnings {
        currency: "EUR".into(),
        gross_cents: days.iter().map(|d| d.gross_cents).sum(),
        commission_cents: days.iter().map(|d| d.commission_cents).sum(),
        sla_credits_cents: credits,
        net_cents: days
            .iter()
            .map(|d| d.net_cents)
            .sum::<u64>()
            .saturating_sub(credits),
        days,
    })
}
