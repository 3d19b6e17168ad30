//! Accounts and sessions: `POST /accounts`, `POST /sessions`,
//! `DELETE /sessions/current`, `GET /me`.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Buyer,
    Seller,
}

/// `POST /accounts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignUpRequest {
    #[cfg_attr(feature = "openapi", schema(min_length = 3))]
    pub email: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 10))]
    pub password: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub display_name: String,
    /// At least one of buyer and seller.
    #[cfg_attr(feature = "openapi", schema(min_items = 1))]
    pub roles: Vec<Role>,
}

/// `POST /sessions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignInRequest {
    pub email: String,
    pub password: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Account {
    pub id: String,
    pub email: String,
    pub display_name: String,
    pub roles: Vec<Role>,
    /// RFC 3339, UTC.
    pub created_at: String,
}

impl Account {
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

/// The answer to sign-up and sign-in: a bearer token for `Authorization`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Session {
    pub token: String,
    /// RFC 3339, UTC.
    pub expires_at: String,
    pub account: Account,
}
