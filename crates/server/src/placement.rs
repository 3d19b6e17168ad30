//! Where instances go: the hosts of offers that meet a service level, and a
//! plan that keeps an order's instances apart when it asked for a spread.
//!
//! Plans are made from a snapshot of free capacity and then taken with
//! `capacity::allocate` in host-id order (a fixed lock order on
//! PostgreSQL); an allocation that lost a race fails the whole plan.

use sparecloud_api::catalog::Capacity;
use sparecloud_api::checkout::Placement;

use crate::capacity::{self, Conn};

/// A host that could take an instance, through one of its seller's offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub host_id: String,
    pub seller_id: String,
    pub seller_name: String,
    pub zone: String,
    pub offer_id: String,
    /// The offer's price for the flavor.
    pub hourly_cents: i64,
    pub free: Capacity,
}

/// Online, non-draining hosts with room for one `flavor_id` and an active
/// offer (`only_offer`, or any) that prices it at a service level of at
/// least `min_availability_bp`. A host appears once per such offer;
/// `prefer` then keeps the first of each.
pub async fn candidates(
    conn: &mut Conn,
    flavor_id: &str,
    min_availability_bp: i64,
    only_offer: Option<&str>,
) -> Result<Vec<Candidate>, sqlx::Error> {
    type Row = (String, String, String, String, String, i64, i64, i64, i64);
    // Two statements rather than `($3 = '' OR o.id = $3)`: the planner then
    // reads one offer's hosts by index instead of every host.
    let offer_filter = match only_offer {
        Some(_) => "o.id = $3",
        None => "$3 = ''",
    };
    let sql = format!(
        "SELECT h.id, h.seller_id, s.company_name, h.zone, o.id, p.hourly_cents,
                h.vcpu - h.alloc_vcpu, h.ram_gib - h.alloc_ram_gib, h.disk_gib - h.alloc_disk_gib
         FROM offers o
         JOIN hosts h ON h.seller_id = o.seller_id AND h.zone = o.zone
         JOIN sellers s ON s.account_id = h.seller_id
         JOIN sla_tiers t ON t.id = o.sla_tier
         JOIN offer_prices p ON p.offer_id = o.id AND p.flavor_id = $1
         JOIN flavors f ON f.id = p.flavor_id
         WHERE {offer_filter} AND o.status = 'active' AND h.status = 'online' AND h.draining = 0
           AND t.availability_bp >= $2 AND h.alloc_vcpu + f.vcpu <= h.vcpu
           AND h.alloc_ram_gib + f.ram_gib <= h.ram_gib AND h.alloc_disk_gib + f.disk_gib <= h.disk_gib"
    );
    let rows: Vec<Row> = sqlx::query_as(&sql)
        .bind(flavor_id)
        .bind(min_availability_bp)
        .bind(only_offer.unwrap_or(""))
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(
            |(host_id, seller_id, seller_name, zone, offer_id, hourly_cents, vcpu, ram, disk)| {
                Candidate {
                    host_id,
                    seller_id,
                    seller_name,
                    zone,
                    offer_id,
                    hourly_cents,
                    free: Capacity {
                        vcpu: vcpu.max(0) as u32,
                        ram_gib: ram.max(0) as u32,
                        disk_gib: disk.max(0) as u32,
                    },
                }
            },
        )
        .collect())
}

/// Orders candidates by `key` (smallest first, host id last so the order
/// is total) and keeps each host's first.
pub fn prefer<K: Ord>(
    mut candidates: Vec<Candidate>,
    key: impl Fn(&Candidate) -> K,
) -> Vec<Candidate> {
    candidates.sort_by(|a, b| key(a).cmp(&key(b)).then_with(|| a.host_id.cmp(&b.host_id)));
    let mut seen = std::collections::HashSet::new();
    candidates.retain(|c| seen.insert(c.host_id.clone()));
    candidates
}

/// Places `count` instances of size `need`, trying candidates in order.
/// A spread also keeps apart from `apart_from`, the (host, zone) of the
/// order's instances already running elsewhere. Returns the candidate
/// index of each instance, or how many could be placed.
pub fn plan(
    candidates: &[Candidate],
    need: Capacity,
    count: usize,
    placement: Placement,
    apart_from: &[(String, String)],
) -> Result<Vec<usize>, usize> {
    let mut free: Vec<Capacity> = candidates.iter().map(|c| c.free).collect();
    let mut hosts: Vec<&str> = apart_from.iter().map(|(h, _)| h.as_str()).collect();
    let mut zones: Vec<&str> = apart_from.iter().map(|(_, z)| z.as_str()).collect();
    let mut chosen = Vec::with_capacity(count);
    for _ in 0..count {
        let slot = candidates.iter().enumerate().position(|(i, c)| {
            free[i].fits(&need)
                && match placement {
                    Placement::Any => true,
                    Placement::DistinctHosts => !hosts.contains(&c.host_id.as_str()),
                    Placement::DistinctZones => !zones.contains(&c.zone.as_str()),
                }
        });
        let Some(i) = slot else {
            return Err(chosen.len());
        };
        free[i] = Capacity {
            vcpu: free[i].vcpu - need.vcpu,
            ram_gib: free[i].ram_gib - need.ram_gib,
            disk_gib: free[i].disk_gib - need.disk_gib,
        };
        hosts.push(&candidates[i].host_id);
        zones.push(&candidates[i].zone);
        chosen.push(i);
    }
    Ok(chosen)
}

/// Takes the capacity of a plan, in host-id order. `false` when a host no
/// longer has room (another request got there first): the caller rolls
/// its transaction back.
pub async fn allocate(
    conn: &mut Conn,
    hosts: &[&str],
    need: Capacity,
) -> Result<bool, sqlx::Error> {
    let mut ordered = hosts.to_vec();
    ordered.sort_unstable();
    for host_id in ordered {
        if !capacity::allocate(conn, host_id, need).await? {
            return Ok(false);
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(id: &str, zone: &str, price: i64, vcpu: u32) -> Candidate {
        Candidate {
            host_id: id.into(),
            seller_id: format!("seller-of-{id}"),
            seller_name: String::new(),
            zone: zone.into(),
            offer_id: format!("offer-{zone}"),
            hourly_cents: price,
            free: Capacity {
                vcpu,
                ram_gib: 64,
                disk_gib: 1000,
            },
        }
    }

    const ONE: Capacity = Capacity {
        vcpu: 1,
        ram_gib: 2,
        disk_gib: 20,
    };

    #[test]
    fn any_fills_the_first_host_before_the_next() {
        let hosts = [host("a", "z1", 10, 2), host("b", "z1", 10, 2)];
        assert_eq!(plan(&hosts, ONE, 3, Placement::Any, &[]), Ok(vec![0, 0, 1]));
        assert_eq!(plan(&hosts, ONE, 5, Placement::Any, &[]), Err(4));
    }

    #[test]
    fn distinct_hosts_uses_each_host_once() {
        let hosts = [host("a", "z1", 10, 8), host("b", "z1", 10, 8)];
        assert_eq!(
            plan(&hosts, ONE, 2, Placement::DistinctHosts, &[]),
            Ok(vec![0, 1])
        );
        assert_eq!(plan(&hosts, ONE, 3, Placement::DistinctHosts, &[]), Err(2));
    }

    #[test]
    fn distinct_zones_skips_hosts_in_a_zone_already_used() {
        let hosts = [
            host("a", "z1", 10, 8),
            host("b", "z1", 10, 8),
            host("c", "z2", 12, 8),
            host("d", "z3", 15, 0),
        ];
        assert_eq!(
            plan(&hosts, ONE, 2, Placement::DistinctZones, &[]),
            Ok(vec![0, 2])
        );
        // z3's host is full: only two zones have room.
        assert_eq!(plan(&hosts, ONE, 3, Placement::DistinctZones, &[]), Err(2));
    }

    #[test]
    fn a_move_keeps_apart_from_the_siblings() {
        let hosts = [
            host("a", "z1", 10, 8),
            host("b", "z2", 10, 8),
            host("c", "z3", 10, 8),
        ];
        let siblings = [
            ("x".to_string(), "z1".to_string()),
            ("y".to_string(), "z2".to_string()),
        ];
        assert_eq!(
            plan(&hosts, ONE, 1, Placement::DistinctZones, &siblings),
            Ok(vec![2])
        );
        assert_eq!(plan(&hosts, ONE, 1, Placement::Any, &siblings), Ok(vec![0]));
        let hosts_only = [("a".to_string(), "z9".to_string())];
        assert_eq!(
            plan(&hosts, ONE, 1, Placement::DistinctHosts, &hosts_only),
            Ok(vec![1])
        );
    }

    #[test]
    fn prefer_orders_by_key_and_keeps_a_host_once() {
        let mut cheap = host("b", "z1", 5, 8);
        cheap.offer_id = "other".into();
        let list = vec![
            host("c", "z2", 9, 8),
            host("b", "z1", 10, 8),
            cheap,
            host("a", "z1", 10, 8),
        ];
        let ordered = prefer(list, |c| c.hourly_cents);
        let ids: Vec<(&str, i64)> = ordered
            .iter()
            .map(|c| (c.host_id.as_str(), c.hourly_cents))
            .collect();
        assert_eq!(ids, [("b", 5), ("c", 9), ("a", 10)]);
    }
}
