//! The seller's side: profile, install tokens, hosts, offers and earnings.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use sparecloud_api::accounts::Role;
use sparecloud_api::catalog::Capacity;
use sparecloud_api::problem::kinds;
use sparecloud_api::seller::{
    CreateOfferRequest, CreatedInstallToken, DrainProgress, Earnings, EarningsDay, FlavorPrice,
    Host, HostStatus, InstallToken, InstallTokenRequest, InstallTokenStatus, OfferStatus,
    SellerOffer, SellerProfile, SellerProfileRequest, UpdateOfferRequest,
};
use sparecloud_api::{FieldError, Problem, validate};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::{self, AuthUser};
use crate::capacity;
use crate::catalog::{self, CatalogTable};
use crate::clock::{Millis, rfc3339};
use crate::error::{AppError, AppResult, field_errors};
use crate::extract::Json;

const DEFAULT_TOKEN_HOURS: u32 = 24;
const MAX_TOKEN_HOURS: u32 = 7 * 24;
/// Prices are per instance-hour in cents: at most €10,000 an hour.
const MAX_HOURLY_CENTS: u64 = 1_000_000;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_profile, put_profile))
        .routes(routes!(create_install_token, list_install_tokens))
        .routes(routes!(revoke_install_token))
        .routes(routes!(list_hosts))
        .routes(routes!(drain_host))
        .routes(routes!(resume_host))
        .routes(routes!(create_offer, list_offers))
        .routes(routes!(update_offer))
        .routes(routes!(earnings))
}

/// The signed-in seller, who has completed a profile.
async fn seller(state: &AppState, user: &AuthUser) -> AppResult<()> {
    user.require(Role::Seller)?;
    let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM sellers WHERE account_id = $1")
        .bind(&user.account_id)
        .fetch_one(&state.db)
        .await?;
    if count == 0 {
        return Err(AppError::problem(
            kinds::CONFLICT,
            "Seller profile missing",
            StatusCode::CONFLICT,
            "Complete your seller profile (company and country) first.",
        ));
    }
    Ok(())
}

// ---- profile ------------------------------------------------------------

/// The seller profile of the signed-in account.
#[utoipa::path(get, path = "/seller/profile", tag = "seller", security(("bearer" = [])),
    responses(
        (status = 200, body = SellerProfile),
        (status = 404, description = "No profile yet", body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_profile(
    State(state): State<AppState>,
    user: AuthUser,
) -> AppResult<Json<SellerProfile>> {
    user.require(Role::Seller)?;
    Ok(Json(load_profile(&state, &user.account_id).await?))
}

/// Creates or replaces the seller profile.
#[utoipa::path(post, path = "/seller/profile", tag = "seller", security(("bearer" = [])),
    request_body = SellerProfileRequest,
    responses(
        (status = 200, body = SellerProfile),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn put_profile(
    State(state): State<AppState>,
    user: AuthUser,
    Json(request): Json<SellerProfileRequest>,
) -> AppResult<Json<SellerProfile>> {
    user.require(Role::Seller)?;
    let tier_ok =
        catalog::exists(&state, CatalogTable::SlaTiers, &request.default_sla_tier).await?;
    let errors = field_errors(vec![
        (
            "company_name",
            validate::short_text(&request.company_name, 120, "your company's name"),
        ),
        ("country", validate::country(&request.country)),
        (
            "payout_reference",
            validate::short_text(&request.payout_reference, 64, "where payouts go"),
        ),
        (
            "default_sla_tier",
            if tier_ok {
                Ok(())
            } else {
                Err("Choose bronze, silver or gold.".into())
            },
        ),
    ]);
    if !errors.is_empty() {
        return Err(AppError::validation(errors));
    }
    let now = state.clock.now();
    let mut tx = crate::db::begin_write(&state.db).await?;
    sqlx::query(
        "INSERT INTO sellers (account_id, company_name, country, payout_reference, default_sla_tier, created_at_ms, updated_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $6)
         ON CONFLICT (account_id) DO UPDATE SET company_name = $2, country = $3,
           payout_reference = $4, default_sla_tier = $5, updated_at_ms = $6",
    )
    .bind(&user.account_id)
    .bind(request.company_name.trim())
    .bind(&request.country)
    .bind(request.payout_reference.trim())
    .bind(&request.default_sla_tier)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    // Listings show the company's name.
    capacity::stamp_seller_offers(&mut tx, &user.account_id).await?;
    tx.commit().await?;
    Ok(Json(load_profile(&state, &user.account_id).await?))
}

async fn load_profile(state: &AppState, account_id: &str) -> AppResult<SellerProfile> {
    let row: Option<(String, String, String, String, i64)> = sqlx::query_as(
        "SELECT company_name, country, payout_reference, default_sla_tier, created_at_ms FROM sellers WHERE account_id = $1",
    )
    .bind(account_id)
    .fetch_optional(&state.db)
    .await?;
    let (company_name, country, payout_reference, default_sla_tier, created) =
        row.ok_or_else(|| AppError::not_found("seller profile"))?;
    Ok(SellerProfile {
        account_id: account_id.to_owned(),
        company_name,
        country,
        payout_reference,
        default_sla_tier,
        created_at: rfc3339(created),
    })
}

// ---- install tokens -----------------------------------------------------

/// Issues an install token for one host. The secret is in this answer only.
#[utoipa::path(post, path = "/seller/install-tokens", tag = "seller", security(("bearer" = [])),
    request_body = InstallTokenRequest,
    responses(
        (status = 201, body = CreatedInstallToken),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_install_token(
    State(state): State<AppState>,
    user: AuthUser,
    headers: HeaderMap,
    Json(request): Json<InstallTokenRequest>,
) -> AppResult<(StatusCode, Json<CreatedInstallToken>)> {
    seller(&state, &user).await?;
    let hours = request.expires_in_hours.unwrap_or(DEFAULT_TOKEN_HOURS);
    let errors = field_errors(vec![
        (
            "label",
            validate::short_text(&request.label, 64, "a label for this host"),
        ),
        ("zone", validate::zone(&request.zone)),
        (
            "expires_in_hours",
            if (1..=MAX_TOKEN_HOURS).contains(&hours) {
                Ok(())
            } else {
                Err(format!("Choose between 1 and {MAX_TOKEN_HOURS} hours."))
            },
        ),
    ]);
    if !errors.is_empty() {
        return Err(AppError::validation(errors));
    }
    let secret = auth::new_token("sc_it");
    let id = auth::new_id("itk");
    let now = state.clock.now();
    sqlx::query(
        "INSERT INTO install_tokens (id, seller_id, label, zone, token_hash, created_at_ms, expires_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&id)
    .bind(&user.account_id)
    .bind(request.label.trim())
    .bind(&request.zone)
    .bind(auth::token_hash(&secret))
    .bind(now)
    .bind(now + Millis::from(hours) * 3_600_000)
    .execute(&state.db)
    .await?;
    let api = public_url(&state, &headers);
    let install_command = format!(
        "sparecloud-agent register --api {api} --token {secret} --zone {} && sparecloud-agent run",
        request.zone
    );
    let token = load_tokens(&state, &user.account_id, Some(&id))
        .await?
        .remove(0);
    Ok((
        StatusCode::CREATED,
        Json(CreatedInstallToken {
            install_token: token,
            secret,
            install_command,
        }),
    ))
}

/// The URL agents reach the API at: the configured public URL, or the one
/// this request came in on.
fn public_url(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(url) = &state.settings.public_url {
        return url.trim_end_matches('/').to_owned();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            h.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        })
        .unwrap_or("127.0.0.1:8080");
    format!("http://{host}")
}

/// Every install token of the seller, newest first.
#[utoipa::path(get, path = "/seller/install-tokens", tag = "seller", security(("bearer" = [])),
    responses((status = 200, body = Vec<InstallToken>)))]
async fn list_install_tokens(
    State(state): State<AppState>,
    user: AuthUser,
) -> AppResult<Json<Vec<InstallToken>>> {
    seller(&state, &user).await?;
    Ok(Json(load_tokens(&state, &user.account_id, None).await?))
}

/// Revokes an unused token: an agent can no longer register with it.
#[utoipa::path(delete, path = "/seller/install-tokens/{id}", tag = "seller", security(("bearer" = [])),
    params(("id" = String, Path, description = "Install token id")),
    responses(
        (status = 200, body = InstallToken),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn revoke_install_token(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> AppResult<Json<InstallToken>> {
    seller(&state, &user).await?;
    sqlx::query(
        "UPDATE install_tokens SET revoked_at_ms = $3
         WHERE id = $1 AND seller_id = $2 AND revoked_at_ms IS NULL AND used_at_ms IS NULL",
    )
    .bind(&id)
    .bind(&user.account_id)
    .bind(state.clock.now())
    .execute(&state.db)
    .await?;
    let mut tokens = load_tokens(&state, &user.account_id, Some(&id)).await?;
    tokens
        .pop()
        .map(Json)
        .ok_or_else(|| AppError::not_found("install token"))
}

async fn load_tokens(
    state: &AppState,
    seller_id: &str,
    only: Option<&str>,
) -> AppResult<Vec<InstallToken>> {
    type Row = (
        String,
        String,
        String,
        i64,
        i64,
        Option<i64>,
        Option<i64>,
        Option<String>,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, label, zone, created_at_ms, expires_at_ms, used_at_ms, revoked_at_ms, host_id
         FROM install_tokens WHERE seller_id = $1 AND ($2 = '' OR id = $2)
         ORDER BY created_at_ms DESC, id DESC",
    )
    .bind(seller_id)
    .bind(only.unwrap_or(""))
    .fetch_all(&state.db)
    .await?;
    let now = state.clock.now();
    Ok(rows
        .into_iter()
        .map(
            |(id, label, zone, created, expires, used, revoked, host_id)| InstallToken {
                status: token_status(used, revoked, expires, now),
                id,
                label,
                zone,
                created_at: rfc3339(created),
                expires_at: rfc3339(expires),
                used_at: used.map(rfc3339),
                revoked_at: revoked.map(rfc3339),
                host_id,
            },
        )
        .collect())
}

pub fn token_status(
    used: Option<Millis>,
    revoked: Option<Millis>,
    expires: Millis,
    now: Millis,
) -> InstallTokenStatus {
    if used.is_some() {
        InstallTokenStatus::Used
    } else if revoked.is_some() {
        InstallTokenStatus::Revoked
    } else if expires <= now {
        InstallTokenStatus::Expired
    } else {
        InstallTokenStatus::Unused
    }
}

// ---- hosts --------------------------------------------------------------

/// The seller's hosts with their capacity and status.
#[utoipa::path(get, path = "/seller/hosts", tag = "seller", security(("bearer" = [])),
    responses((status = 200, body = Vec<Host>)))]
async fn list_hosts(State(state): State<AppState>, user: AuthUser) -> AppResult<Json<Vec<Host>>> {
    seller(&state, &user).await?;
    Ok(Json(load_hosts(&state, &user.account_id, None).await?))
}

/// Stops new placements on a host for maintenance and cold-migrates its
/// instances to other hosts that keep their service level and spread (the
/// host's `drain` shows the progress).
#[utoipa::path(post, path = "/seller/hosts/{id}/drain", tag = "seller", security(("bearer" = [])),
    params(("id" = String, Path, description = "Host id")),
    responses(
        (status = 200, body = Host),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn drain_host(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> AppResult<Json<Host>> {
    set_draining(state, user, id, true).await
}

/// Takes new placements on a drained host again; moves still waiting for
/// their instances to stop are called off.
#[utoipa::path(post, path = "/seller/hosts/{id}/resume", tag = "seller", security(("bearer" = [])),
    params(("id" = String, Path, description = "Host id")),
    responses(
        (status = 200, body = Host),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn resume_host(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> AppResult<Json<Host>> {
    set_draining(state, user, id, false).await
}

async fn set_draining(
    state: AppState,
    user: AuthUser,
    id: String,
    draining: bool,
) -> AppResult<Json<Host>> {
    seller(&state, &user).await?;
    let mut tx = crate::db::begin_write(&state.db).await?;
    let now = state.clock.now();
    let zone: Option<(String,)> = sqlx::query_as(
        "UPDATE hosts SET draining = $3,
           drain_started_ms = CASE WHEN $3 = 0 THEN NULL WHEN draining = 0 THEN $4 ELSE drain_started_ms END
         WHERE id = $1 AND seller_id = $2 RETURNING zone",
    )
    .bind(&id)
    .bind(&user.account_id)
    .bind(i64::from(draining))
    .bind(now)
    .fetch_optional(&mut *tx)
    .await?;
    let (zone,) = zone.ok_or_else(|| AppError::not_found("host"))?;
    capacity::refresh_offers(&mut tx, &user.account_id, &zone, now).await?;
    tx.commit().await?;
    if draining {
        crate::ha::migrate_off(&state, &id, true).await?;
    } else {
        crate::ha::cancel_moves(&state, &id).await?;
    }
    let mut hosts = load_hosts(&state, &user.account_id, Some(&id)).await?;
    hosts
        .pop()
        .map(Json)
        .ok_or_else(|| AppError::not_found("host"))
}

pub async fn load_hosts(
    state: &AppState,
    seller_id: &str,
    only: Option<&str>,
) -> AppResult<Vec<Host>> {
    type Row = (
        String,
        String,
        String,
        i64,
        i64,
        i64,
        i64,
        i64,
        i64,
        String,
        i64,
        i64,
        i64,
        i64,
        i64,
        i64,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT h.id, h.name, h.zone, h.vcpu, h.ram_gib, h.disk_gib, h.alloc_vcpu, h.alloc_ram_gib, h.alloc_disk_gib,
                h.status, h.draining, h.last_heartbeat_ms, h.registered_at_ms,
                (SELECT COUNT(*) FROM instances i WHERE i.host_id = h.id AND i.status NOT IN ('terminated', 'failed')),
                (SELECT COUNT(*) FROM instances i WHERE i.host_id = h.id AND i.status NOT IN ('terminated', 'failed')
                   AND i.move_to_host_id IS NOT NULL),
                (SELECT COUNT(*) FROM instance_placements p WHERE p.host_id = h.id AND p.left_because = 'migrated'
                   AND p.to_ms >= COALESCE(h.drain_started_ms, 0))
         FROM hosts h WHERE h.seller_id = $1 AND ($2 = '' OR h.id = $2)
         ORDER BY h.zone, h.name, h.id",
    )
    .bind(seller_id)
    .bind(only.unwrap_or(""))
    .fetch_all(&state.db)
    .await?;
    let now = state.clock.now();
    let mut conn = state.db.acquire().await?;
    let mut hosts = Vec::with_capacity(rows.len());
    for (
        id,
        name,
        zone,
        vcpu,
        ram,
        disk,
        avcpu,
        aram,
        adisk,
        status,
        draining,
        heartbeat,
        registered,
        instances,
        migrating,
        moved,
    ) in rows
    {
        let capacity = Capacity {
            vcpu: vcpu as u32,
            ram_gib: ram as u32,
            disk_gib: disk as u32,
        };
        let allocated = Capacity {
            vcpu: avcpu as u32,
            ram_gib: aram as u32,
            disk_gib: adisk as u32,
        };
        // One read of the outages serves both windows.
        let (month_start, ..) = crate::sla::month_of(now);
        let outages = capacity::host_outages(
            &mut conn,
            &id,
            month_start.min(now - capacity::UPTIME_WINDOW_MS),
        )
        .await?;
        let uptime_bp = capacity::uptime_bp(registered, &outages, now);
        let month_availability_bp =
            crate::sla::availability_bp(registered.max(month_start), now, &outages);
        hosts.push(Host {
            status: if status != "online" {
                HostStatus::Offline
            } else if draining != 0 {
                HostStatus::Draining
            } else {
                HostStatus::Online
            },
            free: Capacity {
                vcpu: capacity.vcpu.saturating_sub(allocated.vcpu),
                ram_gib: capacity.ram_gib.saturating_sub(allocated.ram_gib),
                disk_gib: capacity.disk_gib.saturating_sub(allocated.disk_gib),
            },
            id,
            name,
            zone,
            capacity,
            allocated,
            instances: instances as u32,
            last_heartbeat_at: rfc3339(heartbeat),
            uptime_bp,
            month_availability_bp,
            registered_at: rfc3339(registered),
            drain: (draining != 0).then_some(DrainProgress {
                moved: moved as u32,
                migrating: migrating as u32,
                waiting: (instances - migrating).max(0) as u32,
            }),
        });
    }
    Ok(hosts)
}

// ---- offers -------------------------------------------------------------

/// Publishes an offer: it is listed as soon as one of its flavors fits on
/// one of the seller's online hosts in the zone.
#[utoipa::path(post, path = "/seller/offers", tag = "seller", security(("bearer" = [])),
    request_body = CreateOfferRequest,
    responses(
        (status = 201, body = SellerOffer),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_offer(
    State(state): State<AppState>,
    user: AuthUser,
    Json(request): Json<CreateOfferRequest>,
) -> AppResult<(StatusCode, Json<SellerOffer>)> {
    seller(&state, &user).await?;
    let mut errors = field_errors(vec![("zone", validate::zone(&request.zone))]);
    errors.extend(check_tier(&state, &request.sla_tier).await?);
    errors.extend(check_prices(&state, &request.prices).await?);
    if !errors.is_empty() {
        return Err(AppError::validation(errors));
    }
    let id = auth::new_id("off");
    let now = state.clock.now();
    let mut tx = crate::db::begin_write(&state.db).await?;
    sqlx::query(
        "INSERT INTO offers (id, seller_id, zone, sla_tier, status, created_at_ms, updated_at_ms)
         VALUES ($1, $2, $3, $4, 'active', $5, $5)",
    )
    .bind(&id)
    .bind(&user.account_id)
    .bind(&request.zone)
    .bind(&request.sla_tier)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    write_prices(&mut tx, &id, &request.prices).await?;
    capacity::refresh_offers(&mut tx, &user.account_id, &request.zone, now).await?;
    tx.commit().await?;
    let offer = load_offers(&state, &user.account_id, Some(&id))
        .await?
        .remove(0);
    Ok((StatusCode::CREATED, Json(offer)))
}

/// The seller's offers, newest first.
#[utoipa::path(get, path = "/seller/offers", tag = "seller", security(("bearer" = [])),
    responses((status = 200, body = Vec<SellerOffer>)))]
async fn list_offers(
    State(state): State<AppState>,
    user: AuthUser,
) -> AppResult<Json<Vec<SellerOffer>>> {
    seller(&state, &user).await?;
    Ok(Json(load_offers(&state, &user.account_id, None).await?))
}

/// Changes an offer's prices or service level, or pauses and resumes it.
#[utoipa::path(patch, path = "/seller/offers/{id}", tag = "seller", security(("bearer" = [])),
    params(("id" = String, Path, description = "Offer id")),
    request_body = UpdateOfferRequest,
    responses(
        (status = 200, body = SellerOffer),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn update_offer(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    Json(request): Json<UpdateOfferRequest>,
) -> AppResult<Json<SellerOffer>> {
    seller(&state, &user).await?;
    let mut errors = Vec::new();
    if let Some(tier) = &request.sla_tier {
        errors.extend(check_tier(&state, tier).await?);
    }
    if let Some(prices) = &request.prices {
        errors.extend(check_prices(&state, prices).await?);
    }
    if !errors.is_empty() {
        return Err(AppError::validation(errors));
    }
    let now = state.clock.now();
    let mut tx = crate::db::begin_write(&state.db).await?;
    let status = request.status.map(|s| match s {
        OfferStatus::Active => "active",
        OfferStatus::Paused => "paused",
    });
    let zone: Option<(String,)> = sqlx::query_as(
        "UPDATE offers SET sla_tier = COALESCE($3, sla_tier), status = COALESCE($4, status), updated_at_ms = $5
         WHERE id = $1 AND seller_id = $2 RETURNING zone",
    )
    .bind(&id)
    .bind(&user.account_id)
    .bind(request.sla_tier.as_deref())
    .bind(status)
    .bind(now)
    .fetch_optional(&mut *tx)
    .await?;
    let (zone,) = zone.ok_or_else(|| AppError::not_found("offer"))?;
    if let Some(prices) = &request.prices {
        sqlx::query("DELETE FROM offer_prices WHERE offer_id = $1")
            .bind(&id)
            .execute(&mut *tx)
            .await?;
        write_prices(&mut tx, &id, prices).await?;
    }
    capacity::refresh_offers(&mut tx, &user.account_id, &zone, now).await?;
    tx.commit().await?;
    Ok(Json(
        load_offers(&state, &user.account_id, Some(&id))
            .await?
            .remove(0),
    ))
}

async fn check_tier(state: &AppState, tier: &str) -> AppResult<Vec<FieldError>> {
    Ok(
        if catalog::exists(state, CatalogTable::SlaTiers, tier).await? {
            Vec::new()
        } else {
            vec![FieldError {
                field: "sla_tier".into(),
                message: "Choose bronze, silver or gold.".into(),
            }]
        },
    )
}

async fn check_prices(state: &AppState, prices: &[FlavorPrice]) -> AppResult<Vec<FieldError>> {
    let mut errors = Vec::new();
    if prices.is_empty() {
        errors.push(FieldError {
            field: "prices".into(),
            message: "Price at least one size.".into(),
        });
    }
    let mut seen = std::collections::HashSet::new();
    for (i, price) in prices.iter().enumerate() {
        let field = format!("prices[{i}]");
        if !catalog::exists(state, CatalogTable::Flavors, &price.flavor_id).await? {
            errors.push(FieldError {
                field,
                message: format!("There is no size called {:?}.", price.flavor_id),
            });
        } else if !seen.insert(price.flavor_id.as_str()) {
            errors.push(FieldError {
                field,
                message: format!("{} is priced twice.", price.flavor_id),
            });
        } else if price.hourly_cents == 0 || price.hourly_cents > MAX_HOURLY_CENTS {
            errors.push(FieldError {
                field,
                message: "Set an hourly price between €0.01 and €10,000.".into(),
            });
        }
    }
    Ok(errors)
}

async fn write_prices(
    conn: &mut capacity::Conn,
    offer_id: &str,
    prices: &[FlavorPrice],
) -> AppResult<()> {
    for price in prices {
        sqlx::query(
            "INSERT INTO offer_prices (offer_id, flavor_id, hourly_cents) VALUES ($1, $2, $3)",
        )
        .bind(offer_id)
        .bind(&price.flavor_id)
        .bind(price.hourly_cents as i64)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

async fn load_offers(
    state: &AppState,
    seller_id: &str,
    only: Option<&str>,
) -> AppResult<Vec<SellerOffer>> {
    type Row = (
        String,
        String,
        String,
        String,
        Option<i64>,
        i64,
        i64,
        i64,
        i64,
        i64,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, zone, sla_tier, status, from_price_cents, free_vcpu, free_ram_gib, free_disk_gib, created_at_ms, updated_at_ms
         FROM offers WHERE seller_id = $1 AND ($2 = '' OR id = $2) ORDER BY created_at_ms DESC, id DESC",
    )
    .bind(seller_id)
    .bind(only.unwrap_or(""))
    .fetch_all(&state.db)
    .await?;
    let mut offers = Vec::with_capacity(rows.len());
    for (id, zone, sla_tier, status, from_price, fvcpu, fram, fdisk, created, updated) in rows {
        let prices: Vec<(String, i64)> = sqlx::query_as(
            "SELECT p.flavor_id, p.hourly_cents FROM offer_prices p JOIN flavors f ON f.id = p.flavor_id
             WHERE p.offer_id = $1 ORDER BY f.sort_order",
        )
        .bind(&id)
        .fetch_all(&state.db)
        .await?;
        let status = if status == "paused" {
            OfferStatus::Paused
        } else {
            OfferStatus::Active
        };
        offers.push(SellerOffer {
            listed: status == OfferStatus::Active && from_price.is_some(),
            status,
            prices: prices
                .into_iter()
                .map(|(flavor_id, cents)| FlavorPrice {
                    flavor_id,
                    hourly_cents: cents as u64,
                })
                .collect(),
            free: Capacity {
                vcpu: fvcpu as u32,
                ram_gib: fram as u32,
                disk_gib: fdisk as u32,
            },
            id,
            zone,
            sla_tier,
            created_at: rfc3339(created),
            updated_at: rfc3339(updated),
        });
    }
    Ok(offers)
}

// ---- earnings -----------------------------------------------------------

/// Gross charges, platform commission and net earnings, in total and per day.
#[utoipa::path(get, path = "/seller/earnings", tag = "seller", security(("bearer" = [])),
    responses((status = 200, body = Earnings)))]
async fn earnings(State(state): State<AppState>, user: AuthUser) -> AppResult<Json<Earnings>> {
    seller(&state, &user).await?;
    let rows: Vec<(i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT period_end_ms / 86400000 AS day,
                CAST(SUM(buyer_charge_cents) AS BIGINT), CAST(SUM(commission_cents) AS BIGINT),
                CAST(SUM(seller_earnings_cents) AS BIGINT)
         FROM ledger_entries WHERE seller_id = $1 GROUP BY period_end_ms / 86400000 ORDER BY day",
    )
    .bind(&user.account_id)
    .fetch_all(&state.db)
    .await?;
    let days: Vec<EarningsDay> = rows
        .into_iter()
        .map(|(day, gross, commission, net)| EarningsDay {
            date: rfc3339(day * 86_400_000)[..10].to_owned(),
            gross_cents: gross as u64,
            commission_cents: commission as u64,
            net_cents: net as u64,
        })
        .collect();
    let (credits,): (i64,) = sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(credit_cents), 0) AS BIGINT) FROM sla_credit_shares WHERE seller_id = $1",
    )
    .bind(&user.account_id)
    .fetch_one(&state.db)
    .await?;
    let credits = credits.max(0) as u64;
    Ok(Json(Earnings {
        currency: "EUR".into(),
        gross_cents: days.iter().map(|d| d.gross_cents).sum(),
        commission_cents: days.iter().map(|d| d.commission_cents).sum(),
        sla_credits_cents: credits,
        net_cents: days
            .iter()
            .map(|d| d.net_cents)
            .sum::<u64>()
            .saturating_sub(credits),
        days,
    }))
}
