//! The marketplace: searching and reading offers.

use std::collections::HashMap;

use axum::extract::{Path, State};
use sparecloud_api::catalog::Capacity;
use sparecloud_api::offers::{Offer, OfferFlavorPrice, OfferPage, OfferQuery, OfferSort};
use sparecloud_api::{FieldError, Problem};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::catalog::{self, CatalogTable, flavor_from_row};
use crate::clock::rfc3339;
use crate::error::{AppError, AppResult};
use crate::extract::{Json, Query};

const DEFAULT_PER_PAGE: u32 = 20;
const MAX_PER_PAGE: u32 = 100;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(search))
        .routes(routes!(get_offer))
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
) -> AppResult<Json<OfferPage>> {
    let mut errors = Vec::new();
    if let Some(sla) = &query.sla
        && !catalog::exists(&state, CatalogTable::SlaTiers, sla).await?
    {
        errors.push(FieldError {
            field: "sla".into(),
            message: format!("There is no service level called {sla:?}."),
        });
    }
    if let Some(image) = &query.image
        && !catalog::exists(&state, CatalogTable::Images, image).await?
    {
        errors.push(FieldError {
            field: "image".into(),
            message: format!("There is no image called {image:?}."),
        });
    }
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

    let mut conditions = vec![
        "o.status = 'active'".to_owned(),
        "o.from_price_cents IS NOT NULL".to_owned(),
    ];
    let mut params = Vec::new();
    let mut bind = |condition: &str, param: Param| {
        params.push(param);
        conditions.push(condition.replace('?', &format!("${}", params.len())));
    };
    if let Some(zone) = &query.zone {
        bind("o.zone = ?", Param::Text(zone.clone()));
    }
    if let Some(sla) = &query.sla {
        bind("o.sla_tier = ?", Param::Text(sla.clone()));
    }
    if let Some(min_vcpu) = query.min_vcpu {
        bind("o.fit_vcpu >= ?", Param::Int(min_vcpu.into()));
    }
    if let Some(min_ram) = query.min_ram_gib {
        bind("o.fit_ram_gib >= ?", Param::Int(min_ram.into()));
    }
    if let Some(max_price) = query.max_price {
        bind(
            "o.from_price_cents <= ?",
            Param::Int(max_price.min(i64::MAX as u64) as i64),
        );
    }
    if let Some(image) = &query.image {
        bind(
            "o.fit_disk_gib >= (SELECT min_disk_gib FROM images WHERE id = ?)",
            Param::Text(image.clone()),
        );
    }
    let filter = conditions.join(" AND ");
    let sort = query.sort.unwrap_or_default();
    let order = match sort {
        OfferSort::PriceAsc => "o.from_price_cents ASC, o.id ASC",
        OfferSort::PriceDesc => "o.from_price_cents DESC, o.id DESC",
        OfferSort::Newest => "o.created_at_ms DESC, o.id DESC",
        OfferSort::Uptime => "o.uptime_bp DESC, o.from_price_cents ASC, o.id ASC",
    };
    // For the sorts that have their own index, the unary plus keeps the
    // price conditions off the price index (in SQLite and PostgreSQL alike):
    // walking the sort's index and stopping at the page beats collecting
    // every offer in a price range and sorting them all.
    let page_filter = match sort {
        OfferSort::Newest | OfferSort::Uptime => {
            filter.replace("o.from_price_cents", "+o.from_price_cents")
        }
        OfferSort::PriceAsc | OfferSort::PriceDesc => filter.clone(),
    };

    let count_sql = format!("SELECT COUNT(*) FROM offers o WHERE {filter}");
    let cache_key = params.iter().fold(count_sql.clone(), |mut key, param| {
        key.push('\u{1f}');
        match param {
            Param::Text(v) => key.push_str(v),
            Param::Int(v) => key.push_str(&v.to_string()),
        }
        key
    });
    let now = state.clock.now();
    let total = match state.search_cache.total(&cache_key, now) {
        Some(total) => total,
        None => {
            let generation = crate::search_cache::generation();
            let (total,) = bind_all(sqlx::query_as::<_, (i64,)>(&count_sql), &params)
                .fetch_one(&state.db)
                .await?;
            state.search_cache.store(cache_key, generation, now, total);
            total
        }
    };

    let page_sql = format!(
        "SELECT o.id FROM offers o WHERE {page_filter} ORDER BY {order} LIMIT {per_page} OFFSET {}",
        u64::from(page - 1) * u64::from(per_page)
    );
    let ids: Vec<String> = bind_all(sqlx::query_as::<_, (String,)>(&page_sql), &params)
        .fetch_all(&state.db)
        .await?
        .into_iter()
        .map(|(id,)| id)
        .collect();
    let items = load_offers(&state, &ids).await?;
    Ok(Json(OfferPage {
        items,
        total: total as u64,
        page,
        per_page,
    }))
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

/// Offers by id, in that order, each with the prices of the flavors that
/// fit on one of its hosts now. Three queries whatever the page size.
pub async fn load_offers(state: &AppState, ids: &[String]) -> AppResult<Vec<Offer>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders = (1..=ids.len())
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ");

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
    );
    let sql = format!(
        "SELECT o.id, o.seller_id, s.company_name, o.zone, o.uptime_bp, t.availability_bp,
                o.free_vcpu, o.free_ram_gib, o.free_disk_gib, o.from_price_cents, o.created_at_ms, o.sla_tier
         FROM offers o JOIN sellers s ON s.account_id = o.seller_id JOIN sla_tiers t ON t.id = o.sla_tier
         WHERE o.id IN ({placeholders})"
    );
    let mut query = sqlx::query_as::<_, OfferRow>(&sql);
    for id in ids {
        query = query.bind(id);
    }
    let rows = query.fetch_all(&state.db).await?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }

    let sql = format!(
        "SELECT p.offer_id, p.hourly_cents, f.id, f.vcpu, f.ram_gib, f.disk_gib
         FROM offer_prices p JOIN flavors f ON f.id = p.flavor_id
         WHERE p.offer_id IN ({placeholders}) ORDER BY p.hourly_cents, f.sort_order"
    );
    let mut query = sqlx::query_as::<_, (String, i64, String, i64, i64, i64)>(&sql);
    for id in ids {
        query = query.bind(id);
    }
    type FlavorRow = (String, i64, i64, i64);
    let mut prices: HashMap<String, Vec<(i64, FlavorRow)>> = HashMap::new();
    for (offer_id, cents, flavor_id, vcpu, ram, disk) in query.fetch_all(&state.db).await? {
        prices
            .entry(offer_id)
            .or_default()
            .push((cents, (flavor_id, vcpu, ram, disk)));
    }

    // The hosts of these offers' sellers, looked up by seller (indexed).
    let mut sellers: Vec<&str> = rows.iter().map(|row| row.1.as_str()).collect();
    sellers.sort_unstable();
    sellers.dedup();
    let seller_placeholders = (1..=sellers.len())
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT h.seller_id, h.zone, h.vcpu - h.alloc_vcpu, h.ram_gib - h.alloc_ram_gib, h.disk_gib - h.alloc_disk_gib
         FROM hosts h WHERE h.seller_id IN ({seller_placeholders}) AND h.status = 'online' AND h.draining = 0"
    );
    let mut query = sqlx::query_as::<_, (String, String, i64, i64, i64)>(&sql);
    for seller in &sellers {
        query = query.bind(*seller);
    }
    let mut free: HashMap<(String, String), Vec<Capacity>> = HashMap::new();
    for (seller, zone, vcpu, ram, disk) in query.fetch_all(&state.db).await? {
        free.entry((seller, zone)).or_default().push(Capacity {
            vcpu: vcpu.max(0) as u32,
            ram_gib: ram.max(0) as u32,
            disk_gib: disk.max(0) as u32,
        });
    }

    let mut by_id: HashMap<String, Offer> = HashMap::new();
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
        by_id.insert(
            id.clone(),
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
        );
    }
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}
