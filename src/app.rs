use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

use crate::components::site_footer::SiteFooter;
use crate::components::site_header::SiteHeader;
use crate::pages::home::Home;
use crate::pages::not_found::NotFound;

/// The application: the site chrome around the routed page.
#[component]
pub fn App() -> impl IntoView {
    view! {
        <Router>
            <a class="skip-link" href="#main">"Skip to content"</a>
            <SiteHeader />
            <main id="main" tabindex="-1">
                <Routes fallback=NotFound>
                    <Route path=path!("/") view=Home />
                </Routes>
            </main>
            <SiteFooter />
        </Router>
    }
}
