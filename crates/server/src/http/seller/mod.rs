//! `/seller/…`: the seller's profile, install tokens, hosts, offers and
//! earnings. Every route but the profile's takes the `Seller` extractor
//! (a seller account with a completed profile).

mod earnings;
mod hosts;
mod install_tokens;
mod offers;
mod profile;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(profile::get_profile, profile::put_profile))
        .routes(routes!(
            install_tokens::create_install_token,
            install_tokens::list_install_tokens
        ))
        .routes(routes!(install_tokens::revoke_install_token))
        .routes(routes!(hosts::list_hosts))
        .routes(routes!(hosts::drain_host))
        .routes(routes!(hosts::resume_host))
        .routes(routes!(hosts::revoke_host_credential))
        .routes(routes!(offers::create_offer, offers::list_offers))
        .routes(routes!(offers::update_offer))
        .routes(routes!(earnings::earnings))
}
