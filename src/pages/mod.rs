//! One module per page (route).

pub mod account;
pub mod checkout;
pub mod home;
pub mod instance_detail;
pub mod instances;
pub mod invoices;
pub mod marketplace;
pub mod not_found;
pub mod offer_detail;
pub mod order;
pub mod sell;
pub mod seller_dashboard;
pub mod seller_onboarding;
pub mod sign_in;
pub mod sign_up;
