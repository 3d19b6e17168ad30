//! The marketplace's rules and their SQL. Never imports axum or `http`:
//! functions take the state (or a connection inside the caller's
//! transaction) and plain ids, and return `AppResult`.
//!
//! Layers, lowest first (a module imports only from those before it):
//! `uptime` (pure) · `api_keys` `catalog` `image_sources` `ledger` `payments` `partners` `offers` ·
//! `offer_index` · `search` `capacity` · `placement` `instance` · `ha` · `transfers` ·
//! `observe` `cleanups` `sla` `instances` `ssh_keys` · `consoles` · `quotes` · `order_view` `order_instances` ·
//! `orders` · `order_recovery` `invoices` · `charges` `refunds` · `webhooks` · `accounts`
//! `sellers` `install_tokens` `hosts` `seller_offers` `earnings` `agents`.
//! `tests/layout.rs` (at the workspace root) fails on a cycle.

pub mod accounts;
pub mod agents;
pub mod api_keys;
pub mod capacity;
pub mod catalog;
pub mod charges;
pub mod cleanups;
pub mod consoles;
pub mod earnings;
pub mod ha;
pub mod hosts;
pub mod image_sources;
pub mod install_tokens;
pub mod instance;
pub mod instances;
pub mod invoices;
pub mod ledger;
pub mod observe;
pub mod offer_index;
pub mod offers;
pub mod order_instances;
pub mod order_recovery;
pub mod order_view;
pub mod orders;
pub mod partners;
pub mod payments;
pub mod placement;
pub mod quotes;
pub mod refunds;
pub mod search;
pub mod seller_offers;
pub mod sellers;
pub mod sla;
pub mod ssh_keys;
pub mod transfers;
pub mod uptime;
pub mod webhooks;
