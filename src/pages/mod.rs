//! One module per page (route).

pub mod home;
pub mod marketplace;
pub mod not_found;
pub mod offer_detail;
pub mod sign_in;
pub mod sign_up;
