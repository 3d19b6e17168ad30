//! Where instances go: the hosts of offers that meet a service level, and a
//! plan that keeps an order's instances apart when it asked for a spread.
//!
//! Plans are made from a snapshot of free capacity and then taken with
//! `capacity::allocate` in host-id order (a fixed lock order on
//! PostgreSQL); an allocation that lost a race fails the whole plan.

use sparecloud_api::catalog::Capacity;
use sparecloud_api::checkout::Placement;

use crate::db::Conn;
use crate::domain::capacity;
use crate::domain::catalog;

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

/// Where a search looks first: all of these candidates come before any
/// other offer's.
#[derive(Debug, Clone, Copy)]
pub enum First<'a> {
    /// The offer the buyer chose.
    Offer(&'a str),
    /// An instance's own seller (its zone first).
    Seller { seller_id: &'a str, zone: &'a str },
}

/// A placement search: `count` instances of `need` (a flavor) at a service
/// level of at least `min_availability_bp`, kept apart as `placement` asks
/// (also from `apart_from`, the order's instances elsewhere).
pub struct Search<'a> {
    pub flavor_id: &'a str,
    /// Only hosts that can run this image (or say nothing of their images).
    pub image_id: &'a str,
    pub min_availability_bp: i64,
    pub need: Capacity,
    pub count: usize,
    pub placement: Placement,
    pub apart_from: &'a [(String, String)],
    pub first: First<'a>,
    /// Whether other offers may be used too, and at what hourly price at
    /// most; they are tried cheapest first.
    pub others_up_to: Option<i64>,
    /// A host not to use (the one an instance leaves).
    pub exclude_host: Option<&'a str>,
    /// How many other offers' hosts one query reads (`PAGE`).
    pub page_size: i64,
}

/// Other offers' hosts are read a page at a time along the flavor's price
/// index, so a search stops as soon as it has enough.
pub const PAGE: i64 = 128;

/// Finds hosts for a search: the chosen candidate per instance, or how many
/// instances could be placed.
pub async fn find(
    conn: &mut Conn,
    search: &Search<'_>,
) -> Result<Result<Vec<Candidate>, usize>, sqlx::Error> {
    let mut list = query(conn, search, Scope::First, None, &[]).await?;
    if let First::Seller { zone, .. } = search.first {
        list = prefer(list, |c| (c.zone != zone, c.hourly_cents));
    } else {
        list = prefer(list, |c| c.hourly_cents);
    }
    let mut placed = match plan(
        &list,
        search.need,
        search.count,
        search.placement,
        search.apart_from,
    ) {
        Ok(chosen) => return Ok(Ok(pick(&list, &chosen))),
        Err(placed) => placed,
    };
    let Some(max_price) = search.others_up_to else {
        return Ok(Err(placed));
    };
    let mut seen: std::collections::HashSet<String> =
        list.iter().map(|c| c.host_id.clone()).collect();
    let mut after: Option<(i64, String)> = None;
    loop {
        // A zone spread gains nothing from more hosts in a zone it has.
        let zones_had: Vec<String> = if search.placement == Placement::DistinctZones {
            let mut zones: Vec<String> = list.iter().map(|c| c.zone.clone()).collect();
            zones.sort();
            zones.dedup();
            zones
        } else {
            Vec::new()
        };
        let page = query(
            conn,
            search,
            Scope::Others { max_price },
            after.as_ref(),
            &zones_had,
        )
        .await?;
        let mut offers: Vec<&str> = page.iter().map(|c| c.offer_id.as_str()).collect();
        offers.dedup();
        let full = offers.len() as i64 == search.page_size;
        after = page.last().map(|c| (c.hourly_cents, c.offer_id.clone()));
        list.extend(page.into_iter().filter(|c| seen.insert(c.host_id.clone())));
        match plan(
            &list,
            search.need,
            search.count,
            search.placement,
            search.apart_from,
        ) {
            Ok(chosen) => return Ok(Ok(pick(&list, &chosen))),
            Err(n) => placed = n,
        }
        if !full {
            return Ok(Err(placed));
        }
    }
}

fn pick(list: &[Candidate], chosen: &[usize]) -> Vec<Candidate> {
    chosen.iter().map(|&i| list[i].clone()).collect()
}

enum Scope {
    First,
    Others { max_price: i64 },
}

enum Bind {
    Text(String),
    Int(i64),
}

/// Online, non-draining hosts with room for one instance and an active
/// offer that prices the flavor at the service level or better: those of
/// the search's first scope, or those of a page of the other offers,
/// cheapest first after `after` (price, offer).
async fn query(
    conn: &mut Conn,
    search: &Search<'_>,
    scope: Scope,
    after: Option<&(i64, String)>,
    zones_had: &[String],
) -> Result<Vec<Candidate>, sqlx::Error> {
    let mut binds = vec![
        Bind::Text(search.flavor_id.to_owned()),
        Bind::Int(search.min_availability_bp),
    ];
    let next = |binds: &mut Vec<Bind>, value: Bind| {
        binds.push(value);
        format!("${}", binds.len())
    };
    let (first_column, first_value) = match search.first {
        First::Offer(id) => ("o.id", id),
        First::Seller { seller_id, .. } => ("o.seller_id", seller_id),
    };
    let first = next(&mut binds, Bind::Text(first_value.to_owned()));
    // Hosts with room for one instance (and not the one being left).
    let vcpu = next(&mut binds, Bind::Int(i64::from(search.need.vcpu)));
    let ram = next(&mut binds, Bind::Int(i64::from(search.need.ram_gib)));
    let disk = next(&mut binds, Bind::Int(i64::from(search.need.disk_gib)));
    let mut room = format!(
        "h.status = 'online' AND h.draining = 0 AND h.alloc_vcpu + {vcpu} <= h.vcpu
         AND h.alloc_ram_gib + {ram} <= h.ram_gib AND h.alloc_disk_gib + {disk} <= h.disk_gib"
    );
    if let Some(host) = search.exclude_host {
        let p = next(&mut binds, Bind::Text(host.to_owned()));
        room.push_str(&format!(" AND h.id <> {p}"));
    }
    let image = next(&mut binds, Bind::Text(image_pattern(search.image_id)));
    room.push_str(&format!(" AND {}", runs_image(&image)));
    // The offers: the first scope's (found by their key), or a page of the
    // others' walked along the flavor's price index (the CROSS JOIN keeps
    // SQLite from starting anywhere else). Only offers with a host that has
    // room count towards a page.
    let offers = match scope {
        Scope::First => format!(
            "SELECT p.offer_id, p.hourly_cents, o.seller_id, o.zone
             FROM offers o JOIN offer_prices p ON p.offer_id = o.id AND p.flavor_id = $1
             JOIN sla_tiers t ON t.id = o.sla_tier
             WHERE {first_column} = {first} AND t.availability_bp >= $2 AND o.status = 'active'"
        ),
        Scope::Others { max_price } => {
            let max = next(&mut binds, Bind::Int(max_price));
            let mut page = vec![format!("p.hourly_cents <= {max}")];
            if let Some((price, offer)) = after {
                let price = next(&mut binds, Bind::Int(*price));
                let offer = next(&mut binds, Bind::Text(offer.clone()));
                page.push(format!(
                    "(p.hourly_cents > {price} OR (p.hourly_cents = {price} AND p.offer_id > {offer}))"
                ));
            }
            if !zones_had.is_empty() {
                let list: Vec<String> = zones_had
                    .iter()
                    .map(|z| next(&mut binds, Bind::Text(z.clone())))
                    .collect();
                page.push(format!("o.zone NOT IN ({})", list.join(", ")));
            }
            format!(
                "SELECT p.offer_id, p.hourly_cents, o.seller_id, o.zone
                 FROM offer_prices p CROSS JOIN offers o
                 JOIN sla_tiers t ON t.id = o.sla_tier
                 WHERE o.id = p.offer_id AND p.flavor_id = $1 AND t.availability_bp >= $2
                   AND o.status = 'active' AND {first_column} <> {first} AND {}
                   AND EXISTS (SELECT 1 FROM hosts h WHERE h.seller_id = o.seller_id AND h.zone = o.zone AND {room})
                 ORDER BY p.hourly_cents, p.offer_id LIMIT {}",
                page.join(" AND "),
                search.page_size.max(1)
            )
        }
    };
    let sql = format!(
        "WITH c AS ({offers})
         SELECT h.id, h.seller_id, s.company_name, h.zone, c.offer_id, c.hourly_cents,
                h.vcpu - h.alloc_vcpu, h.ram_gib - h.alloc_ram_gib, h.disk_gib - h.alloc_disk_gib
         FROM c
         JOIN hosts h ON h.seller_id = c.seller_id AND h.zone = c.zone
         JOIN sellers s ON s.account_id = h.seller_id
         WHERE {room}
         ORDER BY c.hourly_cents, c.offer_id, h.id"
    );
    type Row = (String, String, String, String, String, i64, i64, i64, i64);
    let mut query = sqlx::query_as::<_, Row>(&sql);
    for bind in binds {
        query = match bind {
            Bind::Text(text) => query.bind(text),
            Bind::Int(int) => query.bind(int),
        };
    }
    let rows = query.fetch_all(&mut *conn).await?;
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
                    free: catalog::capacity_from_row(vcpu, ram, disk),
                }
            },
        )
        .collect())
}

/// What `hosts.images` (space-separated ids) is matched against for
/// `image_id`: the id between spaces.
pub fn image_pattern(image_id: &str) -> String {
    format!("% {image_id} %")
}

/// The SQL condition that host `h` can run the image whose
/// `image_pattern` is bound at `placeholder` (a host that says nothing of
/// its images runs any).
pub fn runs_image(placeholder: &str) -> String {
    format!("(h.images IS NULL OR (' ' || h.images || ' ') LIKE {placeholder})")
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
