//! SLA accounting: availability over calendar months (UTC) from the outages
//! recorded when a host's heartbeats stop, and the credit a tier's schedule
//! gives when availability falls below its thresholds.

use sparecloud_api::catalog::SlaCredit;
use time::{Date, Month, OffsetDateTime, Time};

use crate::AppState;
use crate::clock::Millis;
use crate::error::AppResult;

/// The UTC calendar month containing `at`: (first millisecond, first
/// millisecond of the next month, "YYYY-MM").
pub fn month_of(at: Millis) -> (Millis, Millis, String) {
    let t = OffsetDateTime::from_unix_timestamp_nanos(i128::from(at) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let start = Date::from_calendar_date(t.year(), t.month(), 1).expect("day 1 exists");
    let (next_year, next_month) = match t.month() {
        Month::December => (t.year() + 1, Month::January),
        m => (t.year(), m.next()),
    };
    let next = Date::from_calendar_date(next_year, next_month, 1).expect("day 1 exists");
    let ms = |d: Date| {
        (d.with_time(Time::MIDNIGHT)
            .assume_utc()
            .unix_timestamp_nanos()
            / 1_000_000) as Millis
    };
    (
        ms(start),
        ms(next),
        format!("{:04}-{:02}", t.year(), u8::from(t.month())),
    )
}

/// The share of `[from, to)` not covered by `outages` (start, end or `None`
/// while still going on), in basis points; 10,000 for an empty window.
pub fn availability_bp(from: Millis, to: Millis, outages: &[(Millis, Option<Millis>)]) -> u32 {
    if to <= from {
        return 10_000;
    }
    let down = down_ms(from, to, outages);
    let total = i128::from(to - from);
    ((total - i128::from(down)) * 10_000 / total) as u32
}

/// How much of `[from, to)` `outages` cover, each moment counted once.
pub fn down_ms(from: Millis, to: Millis, outages: &[(Millis, Option<Millis>)]) -> Millis {
    let mut spans: Vec<(Millis, Millis)> = outages
        .iter()
        .map(|&(start, end)| (start.max(from), end.unwrap_or(to).min(to)))
        .filter(|(start, end)| end > start)
        .collect();
    spans.sort_unstable();
    // Overlapping outages count once.
    let mut down = 0;
    let mut covered_to = from;
    for (start, end) in spans {
        let start = start.max(covered_to);
        if end > start {
            down += end - start;
            covered_to = end;
        }
    }
    down
}

/// Splits a credit between sellers in proportion to the downtime their
/// hosts caused (`down_by_seller`, ms), rounding down and giving the cents
/// left to the seller with the most downtime. With no downtime recorded,
/// `fallback` pays it all.
pub fn split_credit(
    credit_cents: i64,
    down_by_seller: &[(String, Millis)],
    fallback: &str,
) -> Vec<(String, i64)> {
    let total: i128 = down_by_seller.iter().map(|(_, d)| i128::from(*d)).sum();
    if credit_cents <= 0 {
        return Vec::new();
    }
    if total <= 0 {
        return vec![(fallback.to_owned(), credit_cents)];
    }
    let mut shares: Vec<(String, i64)> = down_by_seller
        .iter()
        .filter(|(_, d)| *d > 0)
        .map(|(seller, d)| {
            let share = i128::from(credit_cents) * i128::from(*d) / total;
            (seller.clone(), share as i64)
        })
        .collect();
    let left = credit_cents - shares.iter().map(|(_, c)| c).sum::<i64>();
    let most = down_by_seller
        .iter()
        .max_by_key(|(_, d)| *d)
        .map(|(seller, _)| seller.clone());
    if let Some(share) = shares.iter_mut().find(|(s, _)| Some(s) == most.as_ref()) {
        share.1 += left;
    }
    shares
}

/// The credit for an availability: the largest of the schedule's percents
/// whose threshold (`below_bp`) it falls below; 0 when it meets them all.
pub fn credit_percent(availability_bp: u32, schedule: &[SlaCredit]) -> u32 {
    schedule
        .iter()
        .filter(|c| availability_bp < c.below_bp)
        .map(|c| c.credit_percent)
        .max()
        .unwrap_or(0)
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
            crate::instances::measure_sla(state, &instance_id, start, end, month.clone()).await?;
        let mut tx = crate::db::begin_write(&state.db).await?;
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

#[cfg(test)]
mod tests {
    use super::*;

    const GOLD: [SlaCredit; 3] = [
        SlaCredit {
            below_bp: 9990,
            credit_percent: 10,
        },
        SlaCredit {
            below_bp: 9900,
            credit_percent: 30,
        },
        SlaCredit {
            below_bp: 9500,
            credit_percent: 100,
        },
    ];

    #[test]
    fn months_are_utc_calendar_months() {
        // 2026-11-18T11:06:40Z
        let (start, end, name) = month_of(1_795_000_000_123);
        assert_eq!(name, "2026-11");
        assert_eq!(crate::clock::rfc3339(start), "2026-11-01T00:00:00Z");
        assert_eq!(crate::clock::rfc3339(end), "2026-12-01T00:00:00Z");
        let (_, end, name) = month_of(end - 1 + 31 * 86_400_000);
        assert_eq!(name, "2026-12");
        assert_eq!(crate::clock::rfc3339(end), "2027-01-01T00:00:00Z");
    }

    #[test]
    fn availability_counts_each_moment_down_once() {
        let hour = 3_600_000;
        // A 100-hour window, down 1 hour, then 2 hours overlapping by one,
        // and an outage still going on for the last half hour.
        let outages = [
            (10 * hour, Some(11 * hour)),
            (20 * hour, Some(22 * hour)),
            (21 * hour, Some(23 * hour)),
            (100 * hour - hour / 2, None),
            (200 * hour, Some(201 * hour)), // after the window
        ];
        assert_eq!(availability_bp(0, 100 * hour, &outages), 9550);
        assert_eq!(availability_bp(0, 100 * hour, &[]), 10_000);
        assert_eq!(availability_bp(5, 5, &outages), 10_000);
    }

    #[test]
    fn a_credit_is_split_by_the_downtime_each_seller_caused() {
        let down = [
            ("a".to_string(), 3_000),
            ("b".to_string(), 1_000),
            ("c".to_string(), 0),
        ];
        assert_eq!(
            split_credit(101, &down, "z"),
            [("a".to_string(), 76), ("b".to_string(), 25)],
            "75.75 and 25.25: the cent left goes to the seller down longest"
        );
        assert_eq!(split_credit(50, &[], "z"), [("z".to_string(), 50)]);
        assert!(split_credit(0, &down, "z").is_empty());
    }

    #[test]
    fn credits_follow_the_schedule() {
        assert_eq!(credit_percent(9995, &GOLD), 0);
        assert_eq!(credit_percent(9990, &GOLD), 0, "meeting the target exactly");
        assert_eq!(credit_percent(9989, &GOLD), 10);
        assert_eq!(credit_percent(9550, &GOLD), 30);
        assert_eq!(credit_percent(9000, &GOLD), 100);
    }
}
