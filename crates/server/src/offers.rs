//! The marketplace: searching and reading offers.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::value::RawValue;
use sparecloud_api::catalog::Capacity;
use sparecloud_api::offers::{
    Market, MarketPrice, MarketQuery, Offer, OfferFlavorPrice, OfferPage, OfferQuery, median,
};
use sparecloud_api::{FieldError, Problem};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::catalog::flavor_from_row;
use crate::clock::rfc3339;
use crate::error::{AppError, AppResult};
use crate::extract::{Json, Query};
use crate::offer_index::{Search, Unknown};

const DEFAULT_PER_PAGE: u32 = 20;
const MAX_PER_PAGE: u32 = 100;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(search))
        .routes(routes!(get_offer))
        .routes(routes!(market))
}

/// The platform's commission and the going price of every flavor among
/// active offers (in a zone and service level when given), for sellers
/// pricing an offer.
#[utoipa::path(get, path = "/market", tag = "marketplace",
    params(MarketQuery),
    responses((status = 200, body = Market)))]
async fn market(
    State(state): State<AppState>,
    Query(query): Query<MarketQuery>,
) -> AppResult<Json<Market>> {
    let mut conditions = vec!["o.status = 'active'".to_owned()];
    let mut params = Vec::new();
    if let Some(zone) = query.zone.filter(|z| !z.is_empty()) {
        params.push(Param::Text(zone));
        conditions.push(format!("o.zone = ${}", params.len()));
    }
    if let Some(sla) = query.sla.filter(|s| !s.is_empty()) {
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
    let prices = crate::catalog::flavors(&state)
        .await?
        .into_iter()
        .map(|flavor| {
            let mut cents = by_flavor.remove(&flavor.id).unwrap_or_default();
            MarketPrice {
                offers: cents.len() as u32,
                median_hourly_cents: median(&mut cents),
                flavor,
            }
        })
        .collect();
    Ok(Json(Market {
        commission_bp: state.settings.commission_bp as u32,
        currency: "EUR".into(),
        prices,
    }))
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

/// Listed offers: active, with at least one priced flavor that fits on one
/// of the seller's online hosts in the zone.
#[utoipa::path(get, path = "/offers", tag = "marketplace",
    params(OfferQuery),
    responses(
        (status = 200, body = OfferPage),
        (status = 400, description = "Malformed query", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown service level or image", body = Problem, content_type = "application/problem+json"),
    ))]
async fn search(
    State(state): State<AppState>,
    Query(query): Query<OfferQuery>,
) -> AppResult<Response> {
    let index = state.offer_index.snapshot(&state.db).await?;
    let search = Search {
        zone: query.zone.as_deref(),
        tier: query.sla.as_deref(),
        min_vcpu: query.min_vcpu,
        min_ram_gib: query.min_ram_gib,
        max_price_cents: query.max_price,
        image: query.image.as_deref(),
    };
    let mut errors = Vec::new();
    let filter = match index.filter(&search) {
        Ok(filter) => filter,
        Err(unknown) => {
            for what in unknown {
                errors.push(match what {
                    Unknown::Tier => FieldError {
                        field: "sla".into(),
                        message: format!(
                            "There is no service level called {:?}.",
                            search.tier.unwrap_or_default()
                        ),
                    },
                    Unknown::Image => FieldError {
                        field: "image".into(),
                        message: format!(
                            "There is no image called {:?}.",
                            search.image.unwrap_or_default()
                        ),
                    },
                });
            }
            None
        }
    };
    let per_page = query.per_page.unwrap_or(DEFAULT_PER_PAGE);
    if !(1..=MAX_PER_PAGE).contains(&per_page) {
        errors.push(FieldError {
            field: "per_page".into(),
            message: format!("Use 1 to {MAX_PER_PAGE} per page."),
        });
    }
    let page = query.page.unwrap_or(1);
    if page == 0 {
        errors.push(FieldError {
            field: "page".into(),
            message: "Pages start at 1.".into(),
        });
    }
    if !errors.is_empty() {
        return Err(AppError::validation(errors));
    }

    let (total, items) = match filter {
        Some(filter) => index.search(
            &filter,
            query.sort.unwrap_or_default(),
            u64::from(page - 1) * u64::from(per_page),
            per_page as usize,
        ),
        None => (0, Vec::new()),
    };
    // The offers' JSON is kept serialized in the index: the page is spliced
    // together, not serialized again. Same shape as `OfferPage`.
    #[derive(serde::Serialize)]
    struct PageJson<'a> {
        items: Vec<&'a RawValue>,
        total: u64,
        page: u32,
        per_page: u32,
    }
    let body = serde_json::to_vec(&PageJson {
        items: items.iter().map(AsRef::as_ref).collect(),
        total,
        page,
        per_page,
    })
    .map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// One offer, as listed.
#[utoipa::path(get, path = "/offers/{id}", tag = "marketplace",
    params(("id" = String, Path, description = "Offer id")),
    responses(
        (status = 200, body = Offer),
        (status = 404, description = "No such offer, or no longer offered", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_offer(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> AppResult<Json<Offer>> {
    let (active,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM offers WHERE id = $1 AND status = 'active'")
            .bind(&id)
            .fetch_one(&state.db)
            .await?;
    if active == 0 {
        return Err(AppError::not_found("offer"));
    }
    load_offers(&state, std::slice::from_ref(&id))
        .await?
        .pop()
        .map(Json)
        .ok_or_else(|| AppError::not_found("offer"))
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
    db: &crate::db::Pool,
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

/// An offer's derived search columns that its JSON does not carry.
struct Derived {
    created_at_ms: i64,
    fit_vcpu: i64,
    fit_ram_gib: i64,
    fit_disk_gib: i64,
}

/// Three queries whatever the number of offers.
async fn load(
    db: &crate::db::Pool,
    selection: &Selection<'_>,
) -> Result<Vec<(Offer, Derived)>, sqlx::Error> {
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

    type OfferRow = (
        String,
        String,
        String,
        String,
        i64,
        i64,
        i64,
        i64,
        i64,
        Option<i64>,
        i64,
        String,
        i64,
        i64,
        i64,
    );
    let sql = format!(
        "SELECT o.id, o.seller_id, s.company_name, o.zone, o.uptime_bp, t.availability_bp,
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
        free.entry((seller, zone)).or_default().push(Capacity {
            vcpu: vcpu.max(0) as u32,
            ram_gib: ram.max(0) as u32,
            disk_gib: disk.max(0) as u32,
        });
    }

    let mut loaded = Vec::with_capacity(rows.len());
    for (
        id,
        seller_id,
        seller_name,
        zone,
        uptime,
        availability,
        fvcpu,
        fram,
        fdisk,
        from_price,
        created,
        sla_tier,
        fit_vcpu,
        fit_ram_gib,
        fit_disk_gib,
    ) in rows
    {
        let hosts = free
            .get(&(seller_id, zone.clone()))
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
                availability_bp: availability as u32,
                uptime_bp: uptime as u32,
                free: Capacity {
                    vcpu: fvcpu as u32,
                    ram_gib: fram as u32,
                    disk_gib: fdisk as u32,
                },
                from_hourly_cents: fitting
                    .first()
                    .map_or(from_price.unwrap_or(0) as u64, |p| p.hourly_cents),
                prices: fitting,
                currency: "EUR".into(),
                created_at: rfc3339(created),
            },
            Derived {
                created_at_ms: created,
                fit_vcpu,
                fit_ram_gib,
                fit_disk_gib,
            },
        ));
    }
    Ok(loaded)
}
