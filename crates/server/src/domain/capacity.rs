//! Host capacity: allocation without overbooking, measured uptime, and the
//! offers' derived search columns.
//!
//! Capacity is only ever taken by a conditional UPDATE that adds to a host's
//! allocation where the result still fits. The check and the write are one
//! statement, atomic on SQLite (one writer at a time) and on PostgreSQL
//! (the row lock re-checks the condition), so no interleaving of requests or
//! server processes can overbook a host.

use sparecloud_api::catalog::Capacity;

use crate::clock::Millis;
use crate::db::Conn;
use crate::domain::catalog;
use crate::domain::offer_index;
use crate::domain::uptime::{UPTIME_WINDOW_MS, uptime_bp};

/// Takes `need` on a host if it is online, not draining, and still fits it.
/// Returns whether it did.
pub async fn allocate(conn: &mut Conn, host_id: &str, need: Capacity) -> Result<bool, sqlx::Error> {
    let taken = change_allocation(
        "UPDATE hosts SET
           alloc_vcpu = alloc_vcpu + $2,
           alloc_ram_gib = alloc_ram_gib + $3,
           alloc_disk_gib = alloc_disk_gib + $4
         WHERE id = $1 AND status = 'online' AND draining = 0
           AND alloc_vcpu + $2 <= vcpu
           AND alloc_ram_gib + $3 <= ram_gib
           AND alloc_disk_gib + $4 <= disk_gib",
        conn,
        host_id,
        need,
    )
    .await?;
    Ok(taken == 1)
}

/// Gives capacity back (never below zero).
pub async fn release(conn: &mut Conn, host_id: &str, need: Capacity) -> Result<(), sqlx::Error> {
    change_allocation(
        "UPDATE hosts SET
           alloc_vcpu = CASE WHEN alloc_vcpu >= $2 THEN alloc_vcpu - $2 ELSE 0 END,
           alloc_ram_gib = CASE WHEN alloc_ram_gib >= $3 THEN alloc_ram_gib - $3 ELSE 0 END,
           alloc_disk_gib = CASE WHEN alloc_disk_gib >= $4 THEN alloc_disk_gib - $4 ELSE 0 END
         WHERE id = $1",
        conn,
        host_id,
        need,
    )
    .await?;
    Ok(())
}

/// Runs an UPDATE of a host's allocation with `$1` the host and `$2`..`$4`
/// the size; how many rows it changed.
async fn change_allocation(
    sql: &str,
    conn: &mut Conn,
    host_id: &str,
    need: Capacity,
) -> Result<u64, sqlx::Error> {
    let result = sqlx::query(sql)
        .bind(host_id)
        .bind(i64::from(need.vcpu))
        .bind(i64::from(need.ram_gib))
        .bind(i64::from(need.disk_gib))
        .execute(&mut *conn)
        .await?;
    Ok(result.rows_affected())
}

/// Uptime of one host over the last 30 days, from its recorded outages.
pub async fn host_uptime_bp(
    conn: &mut Conn,
    host_id: &str,
    registered_at: Millis,
    now: Millis,
) -> Result<u32, sqlx::Error> {
    let outages = host_outages(conn, host_id, now - UPTIME_WINDOW_MS).await?;
    Ok(uptime_bp(registered_at, &outages, now))
}

/// A host's recorded outages that ended after `since` or still go on, as
/// (start, end) with `None` for one still going on.
pub async fn host_outages(
    conn: &mut Conn,
    host_id: &str,
    since: Millis,
) -> Result<Vec<(Millis, Option<Millis>)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT started_at_ms, ended_at_ms FROM host_outages
         WHERE host_id = $1 AND (ended_at_ms IS NULL OR ended_at_ms > $2)",
    )
    .bind(host_id)
    .bind(since)
    .fetch_all(&mut *conn)
    .await
}

/// Gives capacity back to a host and refreshes its seller's offers in its
/// zone (for a host other than the one whose offers the caller refreshes).
pub async fn give_back(
    conn: &mut Conn,
    host_id: &str,
    need: Capacity,
    now: Millis,
) -> Result<(), sqlx::Error> {
    release(conn, host_id, need).await?;
    let (seller_id, zone): (String, String) =
        sqlx::query_as("SELECT seller_id, zone FROM hosts WHERE id = $1")
            .bind(host_id)
            .fetch_one(&mut *conn)
            .await?;
    refresh_offers(conn, &seller_id, &zone, now).await
}

/// Recomputes the derived search columns of a seller's offers in a zone from
/// its hosts there and the offers' prices. Call it after anything that
/// changes either: allocations, host status or capacity, draining, prices.
pub async fn refresh_offers(
    conn: &mut Conn,
    seller_id: &str,
    zone: &str,
    now: Millis,
) -> Result<(), sqlx::Error> {
    type HostRow = (String, i64, i64, i64, i64, i64, i64, String, i64, i64);
    let hosts: Vec<HostRow> = sqlx::query_as(
        "SELECT id, vcpu, ram_gib, disk_gib, alloc_vcpu, alloc_ram_gib, alloc_disk_gib, status, draining, registered_at_ms
         FROM hosts WHERE seller_id = $1 AND zone = $2",
    )
    .bind(seller_id)
    .bind(zone)
    .fetch_all(&mut *conn)
    .await?;

    let mut free_per_host = Vec::new();
    let mut uptimes = Vec::new();
    for (id, vcpu, ram, disk, avcpu, aram, adisk, status, draining, registered_at) in &hosts {
        uptimes.push(host_uptime_bp(conn, id, *registered_at, now).await?);
        if status == "online" && *draining == 0 {
            free_per_host.push(catalog::capacity_from_row(
                vcpu - avcpu,
                ram - aram,
                disk - adisk,
            ));
        }
    }
    let free_total = free_per_host
        .iter()
        // Saturating: many hosts' free room never wraps around.
        .fold(Capacity::default(), |sum, f| Capacity {
            vcpu: sum.vcpu.saturating_add(f.vcpu),
            ram_gib: sum.ram_gib.saturating_add(f.ram_gib),
            disk_gib: sum.disk_gib.saturating_add(f.disk_gib),
        });
    let uptime = if uptimes.is_empty() {
        10_000
    } else {
        uptimes.iter().map(|u| u64::from(*u)).sum::<u64>() / uptimes.len() as u64
    };

    let revision = next_revision(conn).await?;
    let offers: Vec<(String,)> =
        sqlx::query_as("SELECT id FROM offers WHERE seller_id = $1 AND zone = $2")
            .bind(seller_id)
            .bind(zone)
            .fetch_all(&mut *conn)
            .await?;
    for (offer_id,) in offers {
        let prices: Vec<(i64, i64, i64, i64)> = sqlx::query_as(
            "SELECT f.vcpu, f.ram_gib, f.disk_gib, p.hourly_cents
             FROM offer_prices p JOIN flavors f ON f.id = p.flavor_id WHERE p.offer_id = $1",
        )
        .bind(&offer_id)
        .fetch_all(&mut *conn)
        .await?;
        let fit = fitting(&free_per_host, &prices);
        sqlx::query(
            "UPDATE offers SET fit_vcpu = $2, fit_ram_gib = $3, fit_disk_gib = $4, from_price_cents = $5,
               free_vcpu = $6, free_ram_gib = $7, free_disk_gib = $8, uptime_bp = $9, revision = $10
             WHERE id = $1",
        )
        .bind(&offer_id)
        .bind(fit.vcpu)
        .bind(fit.ram_gib)
        .bind(fit.disk_gib)
        .bind(fit.from_price_cents)
        .bind(i64::from(free_total.vcpu))
        .bind(i64::from(free_total.ram_gib))
        .bind(i64::from(free_total.disk_gib))
        .bind(uptime as i64)
        .bind(revision)
        .execute(&mut *conn)
        .await?;
    }
    offer_index::offers_changed();
    Ok(())
}

/// The next value of the offer revision counter, which stamps changed
/// offers for the search index. Taking it locks the counter until commit,
/// so stamps commit in order.
async fn next_revision(conn: &mut Conn) -> Result<i64, sqlx::Error> {
    let (revision,): (i64,) =
        sqlx::query_as("UPDATE offer_revisions SET n = n + 1 WHERE id = 1 RETURNING n")
            .fetch_one(&mut *conn)
            .await?;
    Ok(revision)
}

/// Stamps a seller's offers as changed, for what `refresh_offers` does not
/// derive (the seller's name).
pub async fn stamp_seller_offers(conn: &mut Conn, seller_id: &str) -> Result<(), sqlx::Error> {
    let revision = next_revision(conn).await?;
    sqlx::query("UPDATE offers SET revision = $2 WHERE seller_id = $1")
        .bind(seller_id)
        .bind(revision)
        .execute(&mut *conn)
        .await?;
    offer_index::offers_changed();
    Ok(())
}

#[derive(Debug, PartialEq, Eq)]
struct Fit {
    vcpu: i64,
    ram_gib: i64,
    disk_gib: i64,
    from_price_cents: Option<i64>,
}

/// The largest dimensions among priced flavors that fit on some host, and
/// the cheapest such flavor's price.
fn fitting(free_per_host: &[Capacity], prices: &[(i64, i64, i64, i64)]) -> Fit {
    let mut fit = Fit {
        vcpu: 0,
        ram_gib: 0,
        disk_gib: 0,
        from_price_cents: None,
    };
    for &(vcpu, ram, disk, price) in prices {
        let need = catalog::capacity_from_row(vcpu, ram, disk);
        if free_per_host.iter().any(|free| free.fits(&need)) {
            fit.vcpu = fit.vcpu.max(vcpu);
            fit.ram_gib = fit.ram_gib.max(ram);
            fit.disk_gib = fit.disk_gib.max(disk);
            fit.from_price_cents = Some(fit.from_price_cents.map_or(price, |p: i64| p.min(price)));
        }
    }
    fit
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flavor_fits_only_on_one_host_not_across_hosts() {
        let hosts = [
            Capacity {
                vcpu: 2,
                ram_gib: 4,
                disk_gib: 40,
            },
            Capacity {
                vcpu: 2,
                ram_gib: 4,
                disk_gib: 40,
            },
        ];
        let prices = [(1, 2, 20, 500), (2, 4, 40, 900), (4, 8, 80, 1500)];
        assert_eq!(
            fitting(&hosts, &prices),
            Fit {
                vcpu: 2,
                ram_gib: 4,
                disk_gib: 40,
                from_price_cents: Some(500)
            }
        );
        assert_eq!(
            fitting(&[], &prices),
            Fit {
                vcpu: 0,
                ram_gib: 0,
                disk_gib: 0,
                from_price_cents: None
            }
        );
    }
}
