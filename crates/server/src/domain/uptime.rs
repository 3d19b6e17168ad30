//! Availability arithmetic, pure: UTC calendar months, the share of a
//! window not covered by outages, a host's 30-day uptime, credits from a
//! tier's schedule and how a credit is split between sellers.

use sparecloud_api::catalog::SlaCredit;
use time::{Date, Month, OffsetDateTime, Time};

use crate::clock::{DAY_MS, Millis};

/// The window measured uptime is computed over.
pub const UPTIME_WINDOW_MS: Millis = 30 * DAY_MS;

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

/// Measured availability in basis points over the window ending at `now`,
/// counted from the host's registration when that is more recent.
/// `outages` are (start, end) with `None` for one still going on.
pub fn uptime_bp(registered_at: Millis, outages: &[(Millis, Option<Millis>)], now: Millis) -> u32 {
    availability_bp(registered_at.max(now - UPTIME_WINDOW_MS), now, outages)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::rfc3339;

    const DAY: Millis = DAY_MS;

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
        assert_eq!(rfc3339(start), "2026-11-01T00:00:00Z");
        assert_eq!(rfc3339(end), "2026-12-01T00:00:00Z");
        let (_, end, name) = month_of(end - 1 + 31 * DAY_MS);
        assert_eq!(name, "2026-12");
        assert_eq!(rfc3339(end), "2027-01-01T00:00:00Z");
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
    #[test]
    fn uptime_counts_outages_inside_the_window_only() {
        let now = 100 * DAY;
        assert_eq!(uptime_bp(0, &[], now), 10_000);
        // 3 days down in a 30-day window: 90 %.
        assert_eq!(uptime_bp(0, &[(80 * DAY, Some(83 * DAY))], now), 9_000);
        // An outage that began before the window counts from its start.
        assert_eq!(uptime_bp(0, &[(60 * DAY, Some(73 * DAY))], now), 9_000);
        // One still going on counts up to now.
        assert_eq!(uptime_bp(0, &[(97 * DAY, None)], now), 9_000);
        // A host registered 10 days ago, down 1 day: 90 %.
        assert_eq!(
            uptime_bp(90 * DAY, &[(95 * DAY, Some(96 * DAY))], now),
            9_000
        );
        assert_eq!(uptime_bp(now, &[], now), 10_000);
    }
}
