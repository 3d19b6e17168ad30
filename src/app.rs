//! The router: the site's routes, the buy flow's routes once (under `/` and
//! again under `/embed/:partner` for partner portals), and the typed
//! parameters pages read.

use leptos::prelude::*;
use leptos_router::components::{Outlet, ParentRoute, Route, Router, Routes};
use leptos_router::hooks::{use_location, use_params};
use leptos_router::params::Params;
use leptos_router::path;
use sparecloud_api::problem::kinds;

use crate::components::site_footer::SiteFooter;
use crate::components::site_header::SiteHeader;
use crate::embed::{self, Embed, EmbedChrome};
use crate::pages::account::AccountPage;
use crate::pages::checkout::Checkout;
use crate::pages::home::Home;
use crate::pages::instance_detail::InstanceDetailPage;
use crate::pages::instances::Instances;
use crate::pages::invoices::{InvoicePage, Invoices, PastDueBanner};
use crate::pages::marketplace::Marketplace;
use crate::pages::not_found::NotFound;
use crate::pages::offer_detail::OfferDetail;
use crate::pages::order::OrderProgress;
use crate::pages::sell::Sell;
use crate::pages::seller_dashboard::SellerDashboard;
use crate::pages::seller_onboarding::SellerOnboarding;
use crate::pages::sign_in::SignIn;
use crate::pages::sign_up::SignUp;
use crate::session::SessionState;

/// The `:id` of `/offers/:id`, `/checkout/:id`, `/orders/:id`,
/// `/instances/:id` and `/invoices/:id`.
#[derive(Params, Debug, Clone, PartialEq, Eq)]
pub struct IdParams {
    pub id: Option<String>,
}

/// The current route's `:id` (empty when it has none), reactively.
pub fn use_id() -> Memo<String> {
    let params = use_params::<IdParams>();
    Memo::new(move |_| params.get().ok().and_then(|p| p.id).unwrap_or_default())
}

/// The application: the site chrome around the routed page.
#[component]
pub fn App() -> impl IntoView {
    let session = SessionState::load();
    provide_context(session);
    // A session saved by an earlier visit may have expired or been revoked.
    if let Some(token) = session.token() {
        leptos::task::spawn_local(async move {
            if let Err(problem) = crate::api::me(&token).await
                && problem.is(kinds::UNAUTHORIZED)
            {
                session.clear();
            }
        });
    }
    view! {
        <Router>
            <Shell />
        </Router>
    }
}

/// The site chrome around the routed page, or the embed's own inside a
/// partner's page (`/embed/{partner}/…`).
#[component]
fn Shell() -> impl IntoView {
    let location = use_location();
    let partner = Memo::new(move |_| location.pathname.with(|p| embed::partner_from_path(p)));
    provide_context(Embed { partner });
    let embedded = move || partner.with(Option::is_some);
    view! {
            <Show when=move || !embedded() fallback=|| view! { <EmbedChrome /> }>
                <a class="skip-link" href="#main">"Skip to content"</a>
                <SiteHeader />
                <PastDueBanner />
            </Show>
            <main id="main" tabindex="-1">
                <Routes fallback=NotFound>
                    <Route path=path!("/") view=Home />
                    <BuyRoutes />
                    <Route path=path!("/instances") view=Instances />
                    <Route path=path!("/instances/:id") view=InstanceDetailPage />
                    <Route path=path!("/account") view=AccountPage />
                    <Route path=path!("/invoices") view=Invoices />
                    <Route path=path!("/invoices/:id") view=InvoicePage />
                    <Route path=path!("/sell") view=Sell />
                    <Route path=path!("/sell/start") view={leptos_router::Lazy::<SellerOnboardingRoute>::new()} />
                    <Route path=path!("/seller") view={leptos_router::Lazy::<SellerDashboardRoute>::new()} />
                    // A partner's embed: the buy flow without the site chrome.
                    <ParentRoute path=path!("/embed/:partner") view=Outlet>
                        <Route path=path!("") view=Marketplace />
                        <BuyRoutes />
                    </ParentRoute>
                </Routes>
            </main>
            <Show when=move || !embedded()>
                <SiteFooter />
            </Show>
    }
}

/// The buy flow, from the marketplace to the order: the routes an embed
/// serves too.
#[component(transparent)]
fn BuyRoutes() -> impl leptos_router::MatchNestedRoutes + Clone {
    view! {
        <ParentRoute path=path!("") view=Outlet>
            <Route path=path!("/marketplace") view=Marketplace />
            <Route path=path!("/offers/:id") view=OfferDetail />
            <Route path=path!("/checkout/:id") view=Checkout />
            <Route path=path!("/orders/:id") view=OrderProgress />
            <Route path=path!("/sign-in") view=SignIn />
            <Route path=path!("/sign-up") view=SignUp />
        </ParentRoute>
    }
    .into_inner()
}

/// The seller's pages, loaded as their own wasm chunk on first visit.
struct SellerOnboardingRoute;

#[leptos_router::lazy_route]
impl leptos_router::LazyRoute for SellerOnboardingRoute {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <SellerOnboarding /> }.into_any()
    }
}

struct SellerDashboardRoute;

#[leptos_router::lazy_route]
impl leptos_router::LazyRoute for SellerDashboardRoute {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <SellerDashboard /> }.into_any()
    }
}
