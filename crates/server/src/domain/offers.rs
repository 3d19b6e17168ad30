//! Offers as the marketplace lists them, loaded from SQL: by id, the
//! listed ones changed since a revision (for the search index), and the
//! going prices for sellers. Searching is `search` over `offer_index`.

use std::collections::HashMap;

use sparecloud_api::catalog::Capacity;
use sparecloud_api::offers::{
    Market, MarketPrice, MarketQuery, Offer, OfferFlavorPrice, PriceSource, list_price_cents,
    median,
};

use crate::clock::rfc3339;
use crate::db::Pool;
use crate::domain::catalog::{self, flavor_from_row};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// The platform's commission and the going price of every flavor among
/// active offers (in a zone and service level when given), with a
/// suggested price for each from the nearest data: there, the same service
/// level elsewhere, the whole market, or a list price.
pub async fn market(state: &AppState, query: MarketQuery) -> AppResult<Market> {
    let zone = query.zone.filter(|z| !z.is_empty());
    let sla = query.sla.filter(|s| !s.is_empty());
    let mut here = prices_by_flavor(state, zone.clone(), sla.clone()).await?;
    let mut same_tier = match (&zone, &sla) {
        (Some(_), Some(_)) => prices_by_flavor(state, None, sla.clone()).await?,
        _ => HashMap::new(),
    };
    let mut everywhere = if zone.is_some() || sla.is_some() {
        prices_by_flavor(state, None, None).await?
    } else {
        HashMap::new()
    };
    let prices = catalog::flavors(state)
        .await?
        .into_iter()
        .map(|flavor| {
            let mut cents = here.remove(&flavor.id).unwrap_or_default();
            let median_here = median(&mut cents);
            let (suggested_hourly_cents, suggested_from) = match median_here {
                Some(m) => (m, PriceSource::Here),
                None => {
                    let mut elsewhere = same_tier.remove(&flavor.id).unwrap_or_default();
                    let mut all = everywhere.remove(&flavor.id).unwrap_or_default();
                    match (median(&mut elsewhere), median(&mut all)) {
                        (Some(m), _) => (m, PriceSource::SameTierElsewhere),
                        (None, Some(m)) => (m, PriceSource::WholeMarket),
                        (None, None) => (list_price_cents(&flavor), PriceSource::ListPrice),
                    }
                }
            };
            MarketPrice {
                offers: cents.len() as u32,
                median_hourly_cents: median_here,
                suggested_hourly_cents,
                suggested_from,
                flavor,
            }
        })
        .collect();
    Ok(Market {
        commission_bp: state.settings.commission_bp as u32,
        currency: "EUR".into(),
        prices,
    })
}

/// Active offers' hourly prices by flavor, in a zone and service level
/// when given.
async fn prices_by_flavor(
    state: &AppState,
    zone: Option<String>,
    sla: Option<String>,
) -> AppResult<HashMap<String, Vec<u64>>> {
    let mut conditions = vec!["o.status = 'active'".to_owned()];
    let mut params = Vec::new();
    if let Some(zone) = zone {
        params.push(Param::Text(zone));
        conditions.push(format!("o.zone = ${}", params.len()));
    }
    if let Some(sla) = sla {
        params.push(Param::Text(sla));
        conditions.push(format!("o.sla_tier = ${}", params.len()));
    }
    let sql = format!(
        "SELECT p.flavor_id, p.hourly_cents FROM offer_prices p JOIN offers o ON o.id = p.offer_id WHERE {}",
        conditions.join(" AND ")
    );
    let mut by_flavor: HashMap<String, Vec<u64>> = HashMap::new();
    for (flavor, cents) in bind_all(sqlx::query_as::<_, (String, i64)>(&sql), &params)
        .fetch_all(&state.db)
        .await?
    {
        by_flavor
            .entry(flavor)
            .or_default()
            .push(cents.max(0) as u64);
    }
    Ok(by_flavor)
}

/// A bind value for SQL assembled at run time.
enum Param {
    Text(String),
    Int(i64),
}

/// Binds `params` in order, as `$1`, `$2`, ...
fn bind_all<'q, O>(
    mut query: sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>>,
    params: &'q [Param],
) -> sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>> {
    for param in params {
        query = match param {
            Param::Text(v) => query.bind(v.as_str()),
            Param::Int(v) => query.bind(*v),
        };
    }
    query
}

/// One active offer, as listed.
pub async fn active_offer(state: &AppState, id: &str) -> AppResult<Offer> {
    let (active,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM offers WHERE id = $1 AND status = 'active'")
            .bind(id)
            .fetch_one(&state.db)
            .await?;
    if active == 0 {
        return Err(AppError::not_found("offer"));
    }
    let mut offer = load_offers(state, &[id.to_owned()])
        .await?
        .pop()
        .ok_or_else(|| AppError::not_found("offer"))?;
    offer.images = runnable_images(state, id).await?;
    Ok(offer)
}

/// The images the offer's online hosts can run, sorted; `None` when one
/// of them runs any (a simulation, an older agent).
async fn runnable_images(state: &AppState, offer_id: &str) -> AppResult<Option<Vec<String>>> {
    let hosts: Vec<(Option<String>,)> = sqlx::query_as(
        "SELECT h.images FROM hosts h JOIN offers o ON o.seller_id = h.seller_id AND o.zone = h.zone
         WHERE o.id = $1 AND h.status = 'online' AND h.draining = 0",
    )
    .bind(offer_id)
    .fetch_all(&state.db)
    .await?;
    let mut images = std::collections::BTreeSet::new();
    for (list,) in hosts {
        let Some(list) = list else {
            return Ok(None);
        };
        images.extend(list.split_whitespace().map(str::to_owned));
    }
    Ok(Some(images.into_iter().collect()))
}

/// Which offers to load.
pub enum Selection<'a> {
    Ids(&'a [String]),
    /// Listed offers stamped after this revision (see `offer_index`).
    ListedChangedSince(i64),
}

/// A listed offer with what the search index needs besides its JSON.
pub struct ListedOffer {
    pub id: String,
    pub zone: String,
    pub sla_tier: String,
    pub created_at_ms: i64,
    pub uptime_bp: u32,
    pub from_price_cents: i64,
    pub fit_vcpu: i64,
    pub fit_ram_gib: i64,
    pub fit_disk_gib: i64,
    pub json: Box<serde_json::value::RawValue>,
}

/// Offers by id, in that order, each with the prices of the flavors that
/// fit on one of its hosts now.
pub async fn load_offers(state: &AppState, ids: &[String]) -> AppResult<Vec<Offer>> {
    let mut loaded: HashMap<String, Offer> = load(&state.db, &Selection::Ids(ids))
        .await?
        .into_iter()
        .map(|(offer, _)| (offer.id.clone(), offer))
        .collect();
    Ok(ids.iter().filter_map(|id| loaded.remove(id)).collect())
}

/// Listed offers for the search index.
pub async fn load_listed(
    db: &Pool,
    selection: Selection<'_>,
) -> Result<Vec<ListedOffer>, sqlx::Error> {
    let loaded = load(db, &selection).await?;
    let mut listed = Vec::with_capacity(loaded.len());
    for (offer, derived) in loaded {
        listed.push(ListedOffer {
            json: serde_json::value::to_raw_value(&offer)
                .map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
            id: offer.id,
            zone: offer.zone,
            sla_tier: offer.sla_tier,
            created_at_ms: derived.created_at_ms,
            uptime_bp: offer.uptime_bp,
            from_price_cents: offer.from_hourly_cents.min(i64::MAX as u64) as i64,
            fit_vcpu: derived.fit_vcpu,
            fit_ram_gib: derived.fit_ram_gib,
            fit_disk_gib: derived.fit_disk_gib,
        });
    }
    Ok(listed)
}

/// An offer as `load` reads it.
#[derive(sqlx::FromRow)]
struct OfferRow {
    id: String,
    seller_id: String,
    seller_name: String,
    zone: String,
    uptime_bp: i64,
    availability_bp: i64,
    free_vcpu: i64,
    free_ram_gib: i64,
    free_disk_gib: i64,
    from_price_cents: Option<i64>,
    created_at_ms: i64,
    sla_tier: String,
    fit_vcpu: i64,
    fit_ram_gib: i64,
    fit_disk_gib: i64,
}

/// An offer's derived search columns that its JSON does not carry.
struct Derived {
    created_at_ms: i64,
    fit_vcpu: i64,
    fit_ram_gib: i64,
    fit_disk_gib: i64,
}

/// Three queries whatever the number of offers.
async fn load(db: &Pool, selection: &Selection<'_>) -> Result<Vec<(Offer, Derived)>, sqlx::Error> {
    let (condition, params) = match selection {
        Selection::Ids([]) => return Ok(Vec::new()),
        Selection::Ids(ids) => {
            let placeholders = (1..=ids.len())
                .map(|i| format!("${i}"))
                .collect::<Vec<_>>()
                .join(", ");
            (
                format!("o.id IN ({placeholders})"),
                ids.iter().map(|id| Param::Text(id.clone())).collect(),
            )
        }
        Selection::ListedChangedSince(revision) => (
            "o.revision > $1 AND o.status = 'active' AND o.from_price_cents IS NOT NULL".to_owned(),
            vec![Param::Int(*revision)],
        ),
    };

    let sql = format!(
        "SELECT o.id, o.seller_id, s.company_name AS seller_name, o.zone, o.uptime_bp, t.availability_bp,
                o.free_vcpu, o.free_ram_gib, o.free_disk_gib, o.from_price_cents, o.created_at_ms, o.sla_tier,
                o.fit_vcpu, o.fit_ram_gib, o.fit_disk_gib
         FROM offers o JOIN sellers s ON s.account_id = o.seller_id JOIN sla_tiers t ON t.id = o.sla_tier
         WHERE {condition}"
    );
    let rows: Vec<OfferRow> = bind_all(sqlx::query_as::<_, OfferRow>(&sql), &params)
        .fetch_all(db)
        .await?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }

    let sql = format!(
        "SELECT p.offer_id, p.hourly_cents, f.id, f.vcpu, f.ram_gib, f.disk_gib
         FROM offer_prices p JOIN flavors f ON f.id = p.flavor_id
         WHERE p.offer_id IN (SELECT o.id FROM offers o WHERE {condition})
         ORDER BY p.hourly_cents, f.sort_order"
    );
    type FlavorRow = (String, i64, i64, i64);
    let mut prices: HashMap<String, Vec<(i64, FlavorRow)>> = HashMap::new();
    for (offer_id, cents, flavor_id, vcpu, ram, disk) in bind_all(
        sqlx::query_as::<_, (String, i64, String, i64, i64, i64)>(&sql),
        &params,
    )
    .fetch_all(db)
    .await?
    {
        prices
            .entry(offer_id)
            .or_default()
            .push((cents, (flavor_id, vcpu, ram, disk)));
    }

    // The hosts of these offers' sellers, looked up by seller (indexed).
    let sql = format!(
        "SELECT h.seller_id, h.zone, h.vcpu - h.alloc_vcpu, h.ram_gib - h.alloc_ram_gib, h.disk_gib - h.alloc_disk_gib
         FROM hosts h
         WHERE h.seller_id IN (SELECT o.seller_id FROM offers o WHERE {condition})
           AND h.status = 'online' AND h.draining = 0"
    );
    let mut free: HashMap<(String, String), Vec<Capacity>> = HashMap::new();
    for (seller, zone, vcpu, ram, disk) in bind_all(
        sqlx::query_as::<_, (String, String, i64, i64, i64)>(&sql),
        &params,
    )
    .fetch_all(db)
    .await?
    {
        free.entry((seller, zone))
            .or_default()
            .push(catalog::capacity_from_row(vcpu, ram, disk));
    }

    let mut loaded = Vec::with_capacity(rows.len());
    for row in rows {
        let OfferRow {
            id,
            seller_name,
            zone,
            sla_tier,
            created_at_ms: created,
            ..
        } = row;
        let hosts = free
            .get(&(row.seller_id, zone.clone()))
            .map(Vec::as_slice)
            .unwrap_or_default();
        let fitting: Vec<OfferFlavorPrice> = prices
            .remove(&id)
            .unwrap_or_default()
            .into_iter()
            .map(|(cents, flavor)| OfferFlavorPrice {
                flavor: flavor_from_row(flavor),
                hourly_cents: cents as u64,
            })
            .filter(|p| {
                let need = Capacity {
                    vcpu: p.flavor.vcpu,
                    ram_gib: p.flavor.ram_gib,
                    disk_gib: p.flavor.disk_gib,
                };
                hosts.iter().any(|h| h.fits(&need))
            })
            .collect();
        loaded.push((
            Offer {
                id,
                seller_name,
                zone,
                sla_tier,
                availability_bp: row.availability_bp as u32,
                uptime_bp: row.uptime_bp as u32,
                free: catalog::capacity_from_row(
                    row.free_vcpu,
                    row.free_ram_gib,
                    row.free_disk_gib,
                ),
                from_hourly_cents: fitting
                    .first()
                    .map_or(row.from_price_cents.unwrap_or(0) as u64, |p| p.hourly_cents),
                prices: fitting,
                currency: "EUR".into(),
                created_at: rfc3339(created),
                images: None,
            },
            Derived {
                created_at_ms: created,
                fit_vcpu: row.fit_vcpu,
                fit_ram_gib: row.fit_ram_gib,
                fit_disk_gib: row.fit_disk_gib,
            },
        ));
    }
    Ok(loaded)
}
