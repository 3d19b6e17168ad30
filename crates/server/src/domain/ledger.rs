//! The ledger: running time billed per second. Each accrual charges the
//! buyer, credits the seller and takes the platform's commission for the
//! time since the last one.
//!
//! Amounts are whole cents. Rather than rounding each period on its own
//! (which would lose up to a cent every time), every instance keeps its
//! cumulative billed time and charges; a period's amount is the difference
//! between the rounded-down cumulative totals after and before it.

use crate::auth::new_id;
use crate::clock::Millis;
use crate::db::{self, Conn, Pool};

const MS_PER_HOUR: i128 = 3_600_000;

/// Cumulative charges for `billed_ms` of running time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    pub charge_cents: i64,
    pub commission_cents: i64,
}

pub fn totals(hourly_cents: i64, commission_bp: i64, billed_ms: i64) -> Totals {
    let charge = (i128::from(hourly_cents) * i128::from(billed_ms) / MS_PER_HOUR) as i64;
    let commission = (i128::from(charge) * i128::from(commission_bp) / 10_000) as i64;
    Totals {
        charge_cents: charge,
        commission_cents: commission,
    }
}

/// A partner's cumulative share of a cumulative commission, rounded down.
pub fn partner_share(commission_cents: i64, share_bp: i64) -> i64 {
    (i128::from(commission_cents) * i128::from(share_bp) / 10_000) as i64
}

/// What billing an instance reads of it.
#[derive(sqlx::FromRow)]
struct Billable {
    running_since_ms: Option<i64>,
    billed_ms: i64,
    charged_cents: i64,
    commission_cents: i64,
    hourly_cents: i64,
    commission_bp: i64,
    buyer_id: String,
    seller_id: String,
    partner_id: Option<String>,
    partner_share_bp: i64,
    partner_cents: i64,
}

/// Bills an instance's running time up to `until` and, if `still_running`,
/// keeps it running from there; otherwise its running segment ends.
pub async fn accrue(
    conn: &mut Conn,
    instance_id: &str,
    until: Millis,
    still_running: bool,
) -> Result<(), sqlx::Error> {
    let row: Option<Billable> = sqlx::query_as(
        "SELECT running_since_ms, billed_ms, charged_cents, commission_cents, hourly_cents, commission_bp, buyer_id, seller_id,
                partner_id, partner_share_bp, partner_cents
         FROM instances WHERE id = $1",
    )
    .bind(instance_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(Billable {
        running_since_ms: Some(since),
        billed_ms,
        charged_cents: charged,
        commission_cents: commission,
        hourly_cents: hourly,
        commission_bp,
        buyer_id,
        seller_id,
        partner_id,
        partner_share_bp,
        partner_cents,
    }) = row
    else {
        return Ok(()); // not running: nothing to bill
    };
    let elapsed = (until - since).max(0);
    let new_billed = billed_ms + elapsed;
    let after = totals(hourly, commission_bp, new_billed);
    let charge_delta = after.charge_cents - charged;
    let commission_delta = after.commission_cents - commission;
    // The partner's share comes out of the platform's commission.
    let partner_after = partner_share(after.commission_cents, partner_share_bp);
    let partner_delta = partner_after - partner_cents;
    // Claim this period first: the UPDATE only applies while the instance is
    // as read (on PostgreSQL a concurrent biller waits for the row lock and
    // then finds it changed), so two server processes never bill it twice.
    let claimed = sqlx::query(
        "UPDATE instances SET billed_ms = $2, charged_cents = $3, commission_cents = $4, running_since_ms = $5,
           partner_cents = $6
         WHERE id = $1 AND billed_ms = $7 AND running_since_ms = $8",
    )
    .bind(instance_id)
    .bind(new_billed)
    .bind(after.charge_cents)
    .bind(after.commission_cents)
    .bind(still_running.then_some(until.max(since)))
    .bind(partner_after)
    .bind(billed_ms)
    .bind(since)
    .execute(&mut *conn)
    .await?;
    if claimed.rows_affected() == 1 && elapsed > 0 {
        sqlx::query(
            "INSERT INTO ledger_entries (id, instance_id, buyer_id, seller_id, partner_id, period_start_ms, period_end_ms,
               buyer_charge_cents, commission_cents, seller_earnings_cents, partner_share_cents, currency, created_at_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'EUR', $7)",
        )
        .bind(new_id("led"))
        .bind(instance_id)
        .bind(&buyer_id)
        .bind(&seller_id)
        .bind(&partner_id)
        .bind(since)
        .bind(until)
        .bind(charge_delta)
        .bind(commission_delta)
        .bind(charge_delta - commission_delta)
        .bind(partner_delta)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Bills every instance that has run for at least `min_elapsed_ms` since it
/// was last billed, each in a short write transaction of its own (finding
/// them is a read, so a pass with nothing due takes no write lock). Returns
/// how many were billed.
pub async fn accrue_running(
    pool: &Pool,
    now: Millis,
    min_elapsed_ms: Millis,
) -> Result<usize, sqlx::Error> {
    let due: Vec<(String,)> = sqlx::query_as(
        "SELECT i.id FROM instances i JOIN hosts h ON h.id = i.host_id
         WHERE i.running_since_ms IS NOT NULL AND i.running_since_ms <= $1 AND h.status = 'online'",
    )
    .bind(now - min_elapsed_ms)
    .fetch_all(pool)
    .await?;
    for (id,) in &due {
        // `accrue` reads the instance again inside the transaction, so a stop
        // that landed meanwhile is billed once, by whoever came first.
        let mut tx = db::begin_write(pool).await?;
        accrue(&mut tx, id, now, true).await?;
        tx.commit().await?;
    }
    Ok(due.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cumulative_totals_lose_nothing_to_rounding() {
        // 1 cent an hour, billed every second for an hour: each second alone
        // rounds to 0, the cumulative total comes to exactly 1 cent.
        let mut charged = 0;
        for second in 1..=3600 {
            let after = totals(1, 1500, second * 1000);
            assert!(after.charge_cents >= charged);
            charged = after.charge_cents;
        }
        assert_eq!(charged, 1);
    }

    #[test]
    fn commission_is_a_share_of_the_charge() {
        // €1.20 an hour for 10 hours at 15 %: €12.00 charged, €1.80 commission.
        assert_eq!(
            totals(120, 1500, 10 * 3_600_000),
            Totals {
                charge_cents: 1200,
                commission_cents: 180
            }
        );
        // Half an hour of a 3-cent instance: 1.5 cents rounds down to 1.
        assert_eq!(totals(3, 1500, 1_800_000).charge_cents, 1);
    }
}
