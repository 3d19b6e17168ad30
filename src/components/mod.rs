//! Small reusable parts of the pages.

pub mod site_footer;
pub mod site_header;
