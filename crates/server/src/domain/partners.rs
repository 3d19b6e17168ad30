//! Partner portals: creating one (`partner add`), its public embed
//! configuration, its API key (stored hashed), the framing rule of its
//! embed, the signed embed sessions that attribute orders to it, and its
//! share of the commission.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use sparecloud_api::FieldError;
use sparecloud_api::partners::{EmbedConfig, PartnerLedger, PartnerLedgerEntry, origin};

use crate::auth::{new_token, token_hash};
use crate::clock::{Millis, rfc3339};
use crate::db::Pool;
use crate::error::{AppError, AppResult, field, inserted};

/// The partner share when none is given: 20 % of the platform commission.
pub const DEFAULT_SHARE_BP: u32 = 2_000;

/// A partner to create (`sparecloud-server partner add`).
#[derive(Debug, Clone)]
pub struct NewPartner {
    pub id: String,
    pub name: String,
    pub origins: Vec<String>,
    pub share_bp: u32,
    pub accent_color: String,
    pub logo_url: Option<String>,
}

/// What is wrong with a new partner, by `partner add` flag.
pub fn check(partner: &NewPartner) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let mut error = |name: &str, message: &str| errors.push(field(name, message));
    let id_ok = (2..=40).contains(&partner.id.len())
        && partner
            .id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !id_ok {
        error("id", "Use 2 to 40 lowercase letters, digits and dashes.");
    }
    if partner.name.trim().is_empty() || partner.name.len() > 80 {
        error("name", "Give the partner's name (up to 80 characters).");
    }
    if partner.origins.is_empty() || partner.origins.iter().any(|o| origin(o).is_none()) {
        error(
            "origin",
            "Give at least one origin, each as scheme://host[:port], such as https://portal.example.",
        );
    }
    if partner.share_bp > 10_000 {
        error(
            "share-percent",
            "The share is a percentage of the commission: 0 to 100.",
        );
    }
    let accent = partner.accent_color.as_bytes();
    if !(accent.len() == 7 && accent[0] == b'#' && accent[1..].iter().all(u8::is_ascii_hexdigit)) {
        error("accent", "Give the accent colour as #rrggbb.");
    }
    if let Some(logo) = &partner.logo_url
        && !(logo.starts_with("https://") || logo.starts_with("http://"))
    {
        error(
            "logo-url",
            "The logo URL must start with https:// or http://.",
        );
    }
    errors
}

/// Creates a partner and returns its API key, which is stored hashed and
/// cannot be shown again.
pub async fn add(db: &Pool, partner: &NewPartner, now: Millis) -> Result<String, AppError> {
    let errors = check(partner);
    if !errors.is_empty() {
        return Err(AppError::validation(errors));
    }
    let origins: Vec<String> = partner.origins.iter().filter_map(|o| origin(o)).collect();
    let key = new_token("sc_pk");
    let insert = sqlx::query(
        "INSERT INTO partners (id, name, allowed_origins, share_bp, accent_color, logo_url, api_key_hash, created_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&partner.id)
    .bind(partner.name.trim())
    .bind(origins.join(" "))
    .bind(i64::from(partner.share_bp))
    .bind(partner.accent_color.to_ascii_lowercase())
    .bind(&partner.logo_url)
    .bind(token_hash(&key))
    .bind(now)
    .execute(db)
    .await;
    if !inserted(insert)? {
        return Err(AppError::validation(vec![field(
            "id",
            format!("There is already a partner {:?}.", partner.id),
        )]));
    }
    Ok(key)
}

type PartnerRow = (String, String, String, i64, String, Option<String>);

async fn load(db: &Pool, id: &str) -> Result<Option<PartnerRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, name, allowed_origins, share_bp, accent_color, logo_url FROM partners WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(db)
    .await
}

/// A partner's share of the commission, if the partner exists.
pub async fn share_bp(db: &Pool, id: &str) -> Result<Option<i64>, sqlx::Error> {
    Ok(load(db, id).await?.map(|row| row.3))
}

/// The public part of a partner's configuration, for its embed.
pub async fn embed_config(db: &Pool, id: &str) -> AppResult<EmbedConfig> {
    let (id, name, origins, _, accent_color, logo_url) = load(db, id)
        .await?
        .ok_or_else(|| AppError::not_found("partner"))?;
    Ok(EmbedConfig {
        id,
        name,
        accent_color,
        logo_url,
        allowed_origins: origins.split_whitespace().map(str::to_owned).collect(),
    })
}

/// The partner an API key belongs to, with its share of the commission.
pub async fn by_api_key(db: &Pool, key: &str) -> AppResult<Option<(String, i64)>> {
    Ok(
        sqlx::query_as("SELECT id, share_bp FROM partners WHERE api_key_hash = $1")
            .bind(token_hash(key))
            .fetch_optional(db)
            .await?,
    )
}

/// The `frame-ancestors` policy for a partner's embed page: its origins
/// only, or none at all for an unknown partner.
pub async fn embed_frame_ancestors(db: &Pool, partner_id: &str) -> AppResult<String> {
    let origins = load(db, partner_id).await?.map(|row| row.2);
    Ok(frame_ancestors(origins.as_deref()))
}

/// What the partner has earned: its share of the commission on every
/// billed period of the instances sold through its embed.
pub async fn ledger(db: &Pool, partner_id: &str, share_bp: i64) -> AppResult<PartnerLedger> {
    let rows: Vec<(String, i64, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT instance_id, period_start_ms, period_end_ms, buyer_charge_cents, commission_cents, partner_share_cents
         FROM ledger_entries WHERE partner_id = $1 ORDER BY period_end_ms DESC, id DESC",
    )
    .bind(partner_id)
    .fetch_all(db)
    .await?;
    let entries: Vec<PartnerLedgerEntry> = rows
        .into_iter()
        .map(
            |(instance_id, start, end, charge, commission, share)| PartnerLedgerEntry {
                instance_id,
                period_start: rfc3339(start),
                period_end: rfc3339(end),
                buyer_charge_cents: charge.max(0) as u64,
                commission_cents: commission.max(0) as u64,
                partner_share_cents: share.max(0) as u64,
            },
        )
        .collect();
    Ok(PartnerLedger {
        total_share_cents: entries.iter().map(|e| e.partner_share_cents).sum(),
        partner_id: partner_id.to_owned(),
        currency: "EUR".into(),
        share_bp: share_bp as u32,
        entries,
    })
}

/// The `frame-ancestors` policy for a partner's embed: its origins only,
/// or none at all for an unknown partner.
pub fn frame_ancestors(origins: Option<&str>) -> String {
    match origins.map(|o| o.split_whitespace().collect::<Vec<_>>()) {
        Some(origins) if !origins.is_empty() => format!("frame-ancestors {}", origins.join(" ")),
        _ => "frame-ancestors 'none'".to_owned(),
    }
}

/// How long an embed session lasts: a buyer's visit to the partner's page.
const EMBED_SESSION_TTL_MS: Millis = 12 * 3600 * 1000;

/// The key that signs embed sessions, shared by every server process
/// through the database (made by the first that needs it).
async fn embed_signing_key(db: &Pool, now: Millis) -> Result<String, sqlx::Error> {
    sqlx::query(
        "INSERT INTO server_keys (name, secret, created_at_ms) VALUES ('embed-sessions', $1, $2)
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(new_token("esk"))
    .bind(now)
    .execute(db)
    .await?;
    let (secret,): (String,) =
        sqlx::query_as("SELECT secret FROM server_keys WHERE name = 'embed-sessions'")
            .fetch_one(db)
            .await?;
    Ok(secret)
}

fn embed_signature(key: &str, partner_id: &str, expires_ms: Millis) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("any key length");
    mac.update(format!("embed-session\n{partner_id}\n{expires_ms}").as_bytes());
    mac
}

/// A signed embed session for the partner's embed page: the proof, sent
/// with an order, that the buyer came through that partner's embed
/// (`v1.{expires}.{partner}.{signature}`). `None` for an unknown partner.
pub async fn issue_embed_session(
    db: &Pool,
    partner_id: &str,
    now: Millis,
) -> AppResult<Option<String>> {
    if share_bp(db, partner_id).await?.is_none() {
        return Ok(None);
    }
    let key = embed_signing_key(db, now).await?;
    let expires_ms = now + EMBED_SESSION_TTL_MS;
    let signature = embed_signature(&key, partner_id, expires_ms)
        .finalize()
        .into_bytes();
    Ok(Some(format!(
        "v1.{expires_ms}.{partner_id}.{}",
        hex::encode(signature)
    )))
}

/// The partner an embed session was issued for, if it is genuine, unexpired
/// and the partner still exists.
pub async fn partner_of_embed_session(
    db: &Pool,
    session: &str,
    now: Millis,
) -> AppResult<Option<String>> {
    let Some((signed, signature)) = session.rsplit_once('.') else {
        return Ok(None);
    };
    let mut parts = signed.splitn(3, '.');
    let (Some("v1"), Some(expires), Some(partner_id)) = (parts.next(), parts.next(), parts.next())
    else {
        return Ok(None);
    };
    let (Ok(expires_ms), Ok(signature)) = (expires.parse::<Millis>(), hex::decode(signature))
    else {
        return Ok(None);
    };
    if expires_ms <= now {
        return Ok(None);
    }
    let key = embed_signing_key(db, now).await?;
    if embed_signature(&key, partner_id, expires_ms)
        .verify_slice(&signature)
        .is_err()
    {
        return Ok(None);
    }
    Ok(share_bp(db, partner_id)
        .await?
        .map(|_| partner_id.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn partner() -> NewPartner {
        NewPartner {
            id: "acme-hosting".into(),
            name: "Acme Hosting".into(),
            origins: vec!["https://portal.acme.example".into()],
            share_bp: DEFAULT_SHARE_BP,
            accent_color: "#AA3300".into(),
            logo_url: None,
        }
    }

    #[test]
    fn partners_are_checked_field_by_field() {
        assert!(check(&partner()).is_empty());
        let bad = NewPartner {
            id: "Acme!".into(),
            name: " ".into(),
            origins: vec!["https://portal.acme.example/shop".into()],
            share_bp: 10_001,
            accent_color: "red".into(),
            logo_url: Some("javascript:alert(1)".into()),
        };
        let fields: Vec<String> = check(&bad).into_iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            [
                "id",
                "name",
                "origin",
                "share-percent",
                "accent",
                "logo-url"
            ]
        );
    }

    #[test]
    fn only_the_partners_origins_may_frame_its_embed() {
        assert_eq!(
            frame_ancestors(Some("https://a.example http://127.0.0.1:8081")),
            "frame-ancestors https://a.example http://127.0.0.1:8081"
        );
        assert_eq!(frame_ancestors(None), "frame-ancestors 'none'");
        assert_eq!(frame_ancestors(Some(" ")), "frame-ancestors 'none'");
    }
}
