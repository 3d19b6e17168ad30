//! Small reusable parts of the pages.

pub mod confirm_dialog;
pub mod copy_button;
pub mod earnings_chart;
pub mod error_view;
pub mod form;
pub mod loaded;
pub mod offer_card;
pub mod past_due_banner;
pub mod polling;
pub mod site_footer;
pub mod site_header;
pub mod status_badge;
pub mod steps;
