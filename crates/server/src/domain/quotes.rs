//! Quotes: a binding price for an order with its capacity held for ten
//! minutes. A spread places each instance on its own host or zone, on
//! other offers of the tier or better (each at its price) where the chosen
//! one alone cannot.

use std::net::IpAddr;

use http::StatusCode;
use sparecloud_api::catalog::Capacity;
use sparecloud_api::checkout::{Placement, Quote, QuotePlacement, QuoteRequest};
use sparecloud_api::problem::kinds;

use crate::auth::new_id;
use crate::clock::{Millis, rfc3339};
use crate::db::{self, Conn};
use crate::domain::capacity;
use crate::domain::catalog;
use crate::domain::placement::{self, Candidate};
use crate::error::{AppError, AppResult, field};
use crate::state::AppState;

/// How long a quote holds its capacity.
pub const QUOTE_HOLD_MS: Millis = 10 * 60 * 1000;
/// The month in "estimated month".
const HOURS_PER_MONTH: u64 = 730;
const MAX_INSTANCES_PER_ORDER: u32 = 20;

/// Open quotes (each holding capacity) one account may have at once.
pub const MAX_OPEN_QUOTES_PER_ACCOUNT: i64 = 5;
/// Open quotes one address may have at once, over all its accounts.
pub const MAX_OPEN_QUOTES_PER_ADDRESS: i64 = 20;

/// Prices `request` for the buyer and holds its capacity. The buyer's
/// older quote for the same offer is released first (a buyer going back
/// and forth in checkout holds one), and a buyer or address already
/// holding the most open quotes allowed is refused: quotes are free, and
/// capacity held by one is capacity others cannot buy.
pub async fn create(
    state: &AppState,
    buyer_id: &str,
    address: Option<IpAddr>,
    request: &QuoteRequest,
) -> AppResult<Quote> {
    let priced = check(state, request).await?;
    let now = state.clock.now();
    let address = address.filter(is_public).map(|ip| ip.to_string());
    let mut tx = db::begin_write(&state.db).await?;
    // One buyer's quotes are made one at a time (a row lock on PostgreSQL;
    // SQLite's write transaction is exclusive), so parallel requests cannot
    // all pass the count.
    sqlx::query("UPDATE accounts SET id = id WHERE id = $1")
        .bind(buyer_id)
        .execute(&mut *tx)
        .await?;
    release_superseded(&mut tx, buyer_id, &request.offer_id, now).await?;
    check_open_quotes(&mut tx, buyer_id, address.as_deref(), now).await?;
    let chosen = hold_capacity(&mut tx, request, &priced).await?;
    let quote = quote_for(state, request, &priced, &chosen, now);
    record(
        &mut tx,
        buyer_id,
        address.as_deref(),
        &quote,
        &priced,
        &chosen,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(quote)
}

/// Whether an address is one client's. Loopback and private addresses are
/// this machine's or a proxy's in front of us, shared by every client
/// behind it: only the per-account limit applies to them.
fn is_public(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => !(v4.is_loopback() || v4.is_private() || v4.is_link_local()),
        IpAddr::V6(v6) => {
            !(v6.is_loopback()
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || v6.is_unicast_link_local())
        }
    }
}

/// Releases the buyer's held quotes for this offer: the new one replaces them.
async fn release_superseded(
    tx: &mut Conn,
    buyer_id: &str,
    offer_id: &str,
    now: Millis,
) -> AppResult<()> {
    let older: Vec<(String,)> = sqlx::query_as(
        "UPDATE quotes SET status = 'released' WHERE buyer_id = $1 AND offer_id = $2 AND status = 'held'
         RETURNING id",
    )
    .bind(buyer_id)
    .bind(offer_id)
    .fetch_all(&mut *tx)
    .await?;
    for (quote_id,) in older {
        release_holds(tx, &quote_id, now).await?;
    }
    Ok(())
}

/// Refuses a new quote to a buyer, or an address, holding the most open
/// quotes allowed.
async fn check_open_quotes(
    tx: &mut Conn,
    buyer_id: &str,
    address: Option<&str>,
    now: Millis,
) -> AppResult<()> {
    let (by_buyer,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM quotes WHERE buyer_id = $1 AND status = 'held' AND expires_at_ms > $2",
    )
    .bind(buyer_id)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    let by_address = match address {
        Some(address) => {
            let (count,): (i64,) = sqlx::query_as(
                "SELECT COUNT(*) FROM quotes WHERE client_address = $1 AND status = 'held' AND expires_at_ms > $2",
            )
            .bind(address)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            count
        }
        None => 0,
    };
    if by_buyer >= MAX_OPEN_QUOTES_PER_ACCOUNT || by_address >= MAX_OPEN_QUOTES_PER_ADDRESS {
        return Err(AppError::problem(
            kinds::TOO_MANY_REQUESTS,
            "Too many open quotes",
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "You hold {MAX_OPEN_QUOTES_PER_ACCOUNT} quotes, each keeping capacity from other buyers: order one of them, or wait until they expire ({} minutes after they were made).",
                QUOTE_HOLD_MS / 60_000
            ),
        ));
    }
    Ok(())
}

/// What a valid request costs and needs.
struct Priced {
    /// The chosen offer's price for the flavor.
    unit_cents: i64,
    tier_bp: i64,
    need: Capacity,
}

/// Checks the offer, image, service level, size and count.
async fn check(state: &AppState, request: &QuoteRequest) -> AppResult<Priced> {
    let offer: Option<(i64,)> = sqlx::query_as(
        "SELECT t.availability_bp FROM offers o JOIN sla_tiers t ON t.id = o.sla_tier
         WHERE o.id = $1 AND o.status = 'active'",
    )
    .bind(&request.offer_id)
    .fetch_optional(&state.db)
    .await?;
    let (offer_bp,) = offer.ok_or_else(|| AppError::not_found("offer"))?;

    let mut errors = Vec::new();
    let image: Option<(i64, String)> =
        sqlx::query_as("SELECT min_disk_gib, name FROM images WHERE id = $1")
            .bind(&request.image_id)
            .fetch_optional(&state.db)
            .await?;
    match &image {
        None => errors.push(field("image_id", "Choose an image from the catalog.")),
        Some((_, name)) if !offer_runs_image(state, request).await? => errors.push(field(
            "image_id",
            format!(
                "This seller's hosts cannot run {name}: choose another image or another offer."
            ),
        )),
        Some(_) => {}
    }
    let tier: Option<(i64,)> =
        sqlx::query_as("SELECT availability_bp FROM sla_tiers WHERE id = $1")
            .bind(&request.sla_tier)
            .fetch_optional(&state.db)
            .await?;
    match tier {
        None => errors.push(field("sla_tier", "Choose bronze, silver or gold.")),
        Some((bp,)) if bp > offer_bp => errors.push(field(
            "sla_tier",
            "This offer does not commit to that service level.",
        )),
        _ => {}
    }
    let flavor: Option<(i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT f.vcpu, f.ram_gib, f.disk_gib, p.hourly_cents FROM offer_prices p JOIN flavors f ON f.id = p.flavor_id
         WHERE p.offer_id = $1 AND p.flavor_id = $2",
    )
    .bind(&request.offer_id)
    .bind(&request.flavor_id)
    .fetch_optional(&state.db)
    .await?;
    match (&flavor, &image) {
        (None, _) => errors.push(field("flavor_id", "This offer does not sell that size.")),
        (Some((_, _, disk, _)), Some((min_disk, _))) if disk < min_disk => errors.push(field(
            "flavor_id",
            format!("This image needs at least {min_disk} GiB of disk: choose a bigger size."),
        )),
        _ => {}
    }
    if !(1..=MAX_INSTANCES_PER_ORDER).contains(&request.count) {
        errors.push(field(
            "count",
            format!("Order 1 to {MAX_INSTANCES_PER_ORDER} instances at a time."),
        ));
    }
    if !errors.is_empty() {
        return Err(AppError::validation(errors));
    }
    let (vcpu, ram, disk, unit_cents) = flavor.expect("validated");
    let (tier_bp,) = tier.expect("validated");
    Ok(Priced {
        unit_cents,
        tier_bp,
        need: catalog::capacity_from_row(vcpu, ram, disk),
    })
}

/// Whether the offer has a host that can run the image (hosts that say
/// nothing of their images run any).
async fn offer_runs_image(state: &AppState, request: &QuoteRequest) -> AppResult<bool> {
    let sql = format!(
        "SELECT COUNT(*), CAST(COALESCE(SUM(CASE WHEN {} THEN 1 ELSE 0 END), 0) AS BIGINT)
         FROM offers o JOIN hosts h ON h.seller_id = o.seller_id AND h.zone = o.zone WHERE o.id = $1",
        placement::runs_image("$2")
    );
    let (hosts, running): (i64, i64) = sqlx::query_as(&sql)
        .bind(&request.offer_id)
        .bind(placement::image_pattern(&request.image_id))
        .fetch_one(&state.db)
        .await?;
    Ok(hosts == 0 || running > 0)
}

/// Finds a host for every instance and allocates them: the chosen offer's
/// hosts first; a spread that needs more goes on to other offers of the
/// tier or better, cheapest first. A 409 when that cannot be done.
async fn hold_capacity(
    tx: &mut Conn,
    request: &QuoteRequest,
    priced: &Priced,
) -> AppResult<Vec<Candidate>> {
    let search = placement::Search {
        flavor_id: &request.flavor_id,
        image_id: &request.image_id,
        min_availability_bp: priced.tier_bp,
        need: priced.need,
        count: request.count as usize,
        placement: request.placement,
        apart_from: &[],
        first: placement::First::Offer(&request.offer_id),
        others_up_to: request.placement.is_spread().then_some(i64::MAX),
        exclude_host: None,
        page_size: placement::PAGE,
    };
    let chosen: Vec<Candidate> = placement::find(tx, &search)
        .await?
        .map_err(|placed| not_placeable(request, placed))?;
    let hosts: Vec<&str> = chosen.iter().map(|c| c.host_id.as_str()).collect();
    if !placement::allocate(tx, &hosts, priced.need).await? {
        // Dropping the transaction rolls back every allocation made.
        return Err(AppError::problem(
            kinds::CAPACITY_UNAVAILABLE,
            "Capacity just changed",
            StatusCode::CONFLICT,
            "Another order took some of this capacity a moment ago: review your order again.",
        ));
    }
    Ok(chosen)
}

/// The quote the buyer sees: where each instance goes, at what price.
fn quote_for(
    state: &AppState,
    request: &QuoteRequest,
    priced: &Priced,
    chosen: &[Candidate],
    now: Millis,
) -> Quote {
    let hourly_total: i64 = chosen.iter().map(|c| c.hourly_cents).sum();
    let placements = summarize(chosen.iter().map(|c| {
        (
            c.offer_id.clone(),
            c.seller_name.clone(),
            c.zone.clone(),
            c.hourly_cents,
        )
    }));
    Quote {
        id: new_id("quo"),
        offer_id: request.offer_id.clone(),
        image_id: request.image_id.clone(),
        sla_tier: request.sla_tier.clone(),
        flavor_id: request.flavor_id.clone(),
        count: request.count,
        placement: request.placement,
        auto_recover: request.auto_recover,
        hosts: distinct(chosen.iter().map(|c| c.host_id.clone())).len() as u32,
        zones: distinct(chosen.iter().map(|c| c.zone.clone())),
        placements,
        currency: "EUR".into(),
        unit_hourly_cents: priced.unit_cents as u64,
        hourly_total_cents: hourly_total as u64,
        commission_hourly_cents: (hourly_total * state.settings.commission_bp / 10_000) as u64,
        commission_bp: state.settings.commission_bp as u32,
        estimated_month_cents: hourly_total as u64 * HOURS_PER_MONTH,
        expires_at: rfc3339(now + QUOTE_HOLD_MS),
    }
}

/// Stores the quote and its holds, and refreshes the offers whose free
/// capacity the holds took.
async fn record(
    tx: &mut Conn,
    buyer_id: &str,
    address: Option<&str>,
    quote: &Quote,
    priced: &Priced,
    chosen: &[Candidate],
    now: Millis,
) -> AppResult<()> {
    sqlx::query(
        "INSERT INTO quotes (id, buyer_id, offer_id, image_id, sla_tier, flavor_id, instance_count, spread,
           unit_hourly_cents, hourly_total_cents, commission_hourly_cents, estimated_month_cents, currency,
           status, created_at_ms, expires_at_ms, placement, auto_recover, client_address)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'EUR', 'held', $13, $14, $15, $16, $17)",
    )
    .bind(&quote.id)
    .bind(buyer_id)
    .bind(&quote.offer_id)
    .bind(&quote.image_id)
    .bind(&quote.sla_tier)
    .bind(&quote.flavor_id)
    .bind(i64::from(quote.count))
    .bind(i64::from(quote.placement.is_spread()))
    .bind(priced.unit_cents)
    .bind(quote.hourly_total_cents as i64)
    .bind(quote.commission_hourly_cents as i64)
    .bind(quote.estimated_month_cents as i64)
    .bind(now)
    .bind(now + QUOTE_HOLD_MS)
    .bind(quote.placement.as_str())
    .bind(i64::from(quote.auto_recover))
    .bind(address)
    .execute(&mut *tx)
    .await?;
    for (slot, candidate) in chosen.iter().enumerate() {
        sqlx::query(
            "INSERT INTO quote_holds (quote_id, slot, host_id, offer_id, hourly_cents) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&quote.id)
        .bind(slot as i64)
        .bind(&candidate.host_id)
        .bind(&candidate.offer_id)
        .bind(candidate.hourly_cents)
        .execute(&mut *tx)
        .await?;
    }
    for (seller_id, zone) in distinct(chosen.iter().map(|c| (c.seller_id.clone(), c.zone.clone())))
    {
        capacity::refresh_offers(tx, &seller_id, &zone, now).await?;
    }
    Ok(())
}

/// The 409 for a quote that cannot be placed, saying what would work.
fn not_placeable(request: &QuoteRequest, placed: usize) -> AppError {
    let flavor = &request.flavor_id;
    let detail = match request.placement {
        Placement::Any => format!(
            "This offer has room for {placed} more {flavor} now. Lower the count or pick a smaller size."
        ),
        Placement::DistinctHosts => format!(
            "Only {placed} distinct hosts (of this offer and other offers at this service level or better) can take a {flavor} now, so {} instances cannot each have their own host. Lower the count or choose another placement.",
            request.count
        ),
        Placement::DistinctZones => format!(
            "Only {placed} zones have a host (of this offer or another at this service level or better) that can take a {flavor} now, so {} instances cannot each be in their own zone. Lower the count or spread over distinct hosts instead.",
            request.count
        ),
    };
    let (kind, title) = if request.placement.is_spread() {
        (kinds::SPREAD_UNAVAILABLE, "Spread not possible")
    } else {
        (kinds::CAPACITY_UNAVAILABLE, "Not enough capacity")
    };
    AppError::problem(kind, title, StatusCode::CONFLICT, detail)
}

/// The items, sorted, each once.
pub fn distinct<T: Ord>(items: impl Iterator<Item = T>) -> Vec<T> {
    let mut all: Vec<T> = items.collect();
    all.sort();
    all.dedup();
    all
}

/// Groups placed instances `(offer, seller name, zone, price)` by offer, in
/// the order first placed.
pub fn summarize(
    placed: impl Iterator<Item = (String, String, String, i64)>,
) -> Vec<QuotePlacement> {
    let mut out: Vec<QuotePlacement> = Vec::new();
    for (offer_id, seller_name, zone, cents) in placed {
        match out.iter_mut().find(|p| p.offer_id == offer_id) {
            Some(p) => p.count += 1,
            None => out.push(QuotePlacement {
                offer_id,
                seller_name,
                zone,
                count: 1,
                unit_hourly_cents: cents.max(0) as u64,
            }),
        }
    }
    out
}

/// Frees the capacity of quotes past their expiry that no order took.
/// Returns how many it released.
pub async fn release_expired_quotes(state: &AppState) -> AppResult<usize> {
    let now = state.clock.now();
    let expired: Vec<(String,)> =
        sqlx::query_as("SELECT id FROM quotes WHERE status = 'held' AND expires_at_ms <= $1")
            .bind(now)
            .fetch_all(&state.db)
            .await?;
    let mut released = 0;
    for (quote_id,) in expired {
        let mut tx = db::begin_write(&state.db).await?;
        // Only the process whose UPDATE flips the status releases the holds.
        let claimed = sqlx::query("UPDATE quotes SET status = 'released' WHERE id = $1 AND status = 'held' AND expires_at_ms <= $2")
            .bind(&quote_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        if claimed.rows_affected() == 1 {
            release_holds(&mut tx, &quote_id, now).await?;
            released += 1;
        }
        tx.commit().await?;
    }
    Ok(released)
}

async fn release_holds(conn: &mut Conn, quote_id: &str, now: Millis) -> AppResult<()> {
    let holds: Vec<(String, i64, i64, i64, String, String)> = sqlx::query_as(
        "SELECT h.host_id, f.vcpu, f.ram_gib, f.disk_gib, hs.seller_id, hs.zone
         FROM quote_holds h JOIN quotes q ON q.id = h.quote_id JOIN flavors f ON f.id = q.flavor_id
         JOIN hosts hs ON hs.id = h.host_id WHERE h.quote_id = $1",
    )
    .bind(quote_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut refreshed = Vec::new();
    for (host_id, vcpu, ram, disk, seller_id, zone) in holds {
        capacity::release(conn, &host_id, catalog::capacity_from_row(vcpu, ram, disk)).await?;
        if !refreshed.contains(&(seller_id.clone(), zone.clone())) {
            refreshed.push((seller_id, zone));
        }
    }
    for (seller_id, zone) in refreshed {
        capacity::refresh_offers(conn, &seller_id, &zone, now).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placements_are_grouped_by_offer_in_the_order_first_placed() {
        let placed = [
            ("o2", "B", "z2", 7),
            ("o1", "A", "z1", 5),
            ("o2", "B", "z2", 7),
        ]
        .map(|(o, s, z, c)| (o.to_owned(), s.to_owned(), z.to_owned(), c));
        let summary = summarize(placed.into_iter());
        let rows: Vec<(&str, u32, u64)> = summary
            .iter()
            .map(|p| (p.offer_id.as_str(), p.count, p.unit_hourly_cents))
            .collect();
        assert_eq!(rows, [("o2", 2, 7), ("o1", 1, 5)]);
        assert_eq!(distinct([3, 1, 3, 2].into_iter()), [1, 2, 3]);
    }
}
