//! Partner portals: `GET /partners/{id}/embed-config` (public) and
//! `GET /partner/ledger` (with the partner's API key).

use serde::{Deserialize, Serialize};

/// What the embedded app needs to theme itself and to talk to its host page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EmbedConfig {
    pub id: String,
    /// Shown in the embed ("Cloud servers by …").
    pub name: String,
    /// A CSS colour, `#rrggbb`.
    pub accent_color: String,
    #[serde(default)]
    pub logo_url: Option<String>,
    /// The only origins that may frame the embed and receive its events.
    pub allowed_origins: Vec<String>,
}

/// One billed period of an instance sold through the partner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PartnerLedgerEntry {
    pub instance_id: String,
    /// RFC 3339, UTC.
    pub period_start: String,
    pub period_end: String,
    pub buyer_charge_cents: u64,
    /// The platform's whole commission on the period; the partner's share is
    /// taken out of it.
    pub commission_cents: u64,
    pub partner_share_cents: u64,
}

/// `GET /partner/ledger`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PartnerLedger {
    pub partner_id: String,
    pub currency: String,
    /// The partner's share of the platform commission, basis points.
    pub share_bp: u32,
    pub total_share_cents: u64,
    /// Newest first.
    pub entries: Vec<PartnerLedgerEntry>,
}

/// Parses an origin as a browser sends it (`scheme://host[:port]`, no path),
/// lowercased; `None` when it is not one.
pub fn origin(value: &str) -> Option<String> {
    let value = value.trim().trim_end_matches('/').to_ascii_lowercase();
    let (scheme, rest) = value.split_once("://")?;
    let valid_host = !rest.is_empty()
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    (matches!(scheme, "http" | "https") && valid_host).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::origin;

    #[test]
    fn origins_are_scheme_host_and_port_only() {
        assert_eq!(
            origin("https://Portal.Example/").as_deref(),
            Some("https://portal.example")
        );
        assert_eq!(
            origin("http://127.0.0.1:8081").as_deref(),
            Some("http://127.0.0.1:8081")
        );
        assert_eq!(origin("https://portal.example/shop"), None);
        assert_eq!(origin("ftp://portal.example"), None);
        assert_eq!(origin("portal.example"), None);
        assert_eq!(origin("https://"), None);
    }
}
