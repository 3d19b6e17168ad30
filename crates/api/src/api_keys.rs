//! `/api-keys`: long-lived credentials for scripts, CI and the `sparecloud`
//! command line, sent as `Authorization: Bearer sck_…`.

use serde::{Deserialize, Serialize};

/// Every API key starts with this, so a leaked one is easy to recognise.
pub const API_KEY_PREFIX: &str = "sck_";

/// How long a new key lives when the request names no expiry, in days.
pub const DEFAULT_API_KEY_DAYS: u32 = 90;
/// The longest a key may live, in days.
pub const MAX_API_KEY_DAYS: u32 = 365;

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ApiKeyScope {
    /// Reads only (GET): offers, instances, orders, invoices, hosts.
    Read,
    /// Everything the account may do, but managing keys and sessions.
    Full,
}

impl ApiKeyScope {
    pub fn as_str(self) -> &'static str {
        match self {
            ApiKeyScope::Read => "read",
            ApiKeyScope::Full => "full",
        }
    }
}

/// `POST /api-keys`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateApiKeyRequest {
    /// What the key is for ("CI deploys"), 1 to 64 characters.
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub name: String,
    pub scope: ApiKeyScope,
    /// Days until the key stops working: 1 to 365, 90 when absent.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 365))]
    pub expires_in_days: Option<u32>,
}

/// A key as listed: never its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiKey {
    pub id: String,
    pub name: String,
    pub scope: ApiKeyScope,
    /// The key's first characters (`sck_1a2b…`), to tell keys apart.
    pub prefix: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub expires_at: String,
    /// When a request last used it (to the minute), if ever.
    pub last_used_at: Option<String>,
}

/// The answer to `POST /api-keys`: the only time the secret is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedApiKey {
    pub key: ApiKey,
    pub secret: String,
}
