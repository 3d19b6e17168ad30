//! The router: the site's routes, the buy flow's routes once (under `/` and
//! again under `/embed/:partner` for partner portals), and the typed
//! parameters pages read.

use leptos::prelude::*;
use leptos_router::components::{Outlet, ParentRoute, Route, Router, Routes};
use leptos_router::hooks::{use_location, use_params};
use leptos_router::params::Params;
use leptos_router::{Lazy, LazyRoute, path};
use sparecloud_api::problem::kinds;

use crate::components::past_due_banner::PastDueBanner;
use crate::components::site_footer::SiteFooter;
use crate::components::site_header::SiteHeader;
use crate::embed::{self, Embed, EmbedChrome};
use crate::pages::account::AccountPage;
use crate::pages::checkout::Checkout;
use crate::pages::home::Home;
use crate::pages::instance_detail::InstanceDetailPage;
use crate::pages::instances::Instances;
use crate::pages::invoices::{InvoicePage, Invoices};
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
                    <Route path=path!("/instances") view={Lazy::<InstancesRoute>::new()} />
                    <Route path=path!("/instances/:id") view={Lazy::<InstanceDetailRoute>::new()} />
                    <Route path=path!("/account") view={Lazy::<AccountRoute>::new()} />
                    <Route path=path!("/invoices") view={Lazy::<InvoicesRoute>::new()} />
                    <Route path=path!("/invoices/:id") view={Lazy::<InvoiceRoute>::new()} />
                    <Route path=path!("/sell") view={Lazy::<SellRoute>::new()} />
                    <Route path=path!("/sell/start") view={Lazy::<SellerOnboardingRoute>::new()} />
                    <Route path=path!("/seller") view={Lazy::<SellerDashboardRoute>::new()} />
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
            <Route path=path!("/offers/:id") view={Lazy::<OfferDetailRoute>::new()} />
            <Route path=path!("/checkout/:id") view={Lazy::<CheckoutRoute>::new()} />
            <Route path=path!("/orders/:id") view={Lazy::<OrderProgressRoute>::new()} />
            <Route path=path!("/sign-in") view={Lazy::<SignInRoute>::new()} />
            <Route path=path!("/sign-up") view={Lazy::<SignUpRoute>::new()} />
        </ParentRoute>
    }
    .into_inner()
}

/// Pages in wasm chunks of their own, fetched on the first visit to one of
/// their routes, so that the marketplace starts without them. A section
/// (one `wasm_split` function) per kind of visitor: a chunk per page made
/// dozens of tiny shared chunks, which a page then waited for in turn.
macro_rules! lazy_section {
    ($section:ident($page_kind:ident), $preload:ident { $($route:ident => $page:ident),* $(,)? }) => {
        #[derive(Clone, Copy)]
        enum $page_kind {
            $($page),*
        }

        // `fallible`: a chunk that cannot be fetched is an `Err` here, not a
        // panic, which would abort the whole app (leptos' `#[lazy]` panics).
        // `preload`: `$preload()` fetches and instantiates the section
        // without building a page (see `preload_section`).
        #[leptos::wasm_split::wasm_split($section, wasm_split_path = ::leptos::wasm_split, fallible, preload($preload))]
        fn $section(page: $page_kind) -> Result<AnyView, leptos::wasm_split::SplitLoaderError> {
            Ok(match page {
                $($page_kind::$page => view! { <$page /> }.into_any()),*
            })
        }

        $(
            struct $route;

            impl LazyRoute for $route {
                fn data() -> Self {
                    Self
                }

                async fn view(_this: Self) -> AnyView {
                    $section($page_kind::$page).await.unwrap_or_else(|_| page_not_loaded())
                }
            }
        )*
    };
}

/// A lazy page whose chunk could not be fetched: the network failed, or a
/// deploy replaced the build this tab started from (its chunks are gone).
/// Reloading fetches the current build.
fn page_not_loaded() -> AnyView {
    view! {
        <div class="container page">
            <div class="alert alert-error" role="alert">
                <h1>"This page could not be loaded"</h1>
                <p>"Check your connection and reload. Sparecloud may also have been updated since you opened it."</p>
                <button class="button" type="button" on:click=|_| {
                    let _ = window().location().reload();
                }>"Reload"</button>
            </div>
        </div>
    }
    .into_any()
}

// What a buyer goes through from an offer to its order (an embed too).
lazy_section!(buy_section(BuyPage), preload_buy_section {
    OfferDetailRoute => OfferDetail,
    CheckoutRoute => Checkout,
    OrderProgressRoute => OrderProgress,
    SignInRoute => SignIn,
    SignUpRoute => SignUp,
});

// What a signed-in buyer owns.
lazy_section!(account_section(AccountPageKind), preload_account_section {
    InstancesRoute => Instances,
    InstanceDetailRoute => InstanceDetailPage,
    AccountRoute => AccountPage,
    InvoicesRoute => Invoices,
    InvoiceRoute => InvoicePage,
});

// The seller's side.
lazy_section!(sell_section(SellPage), preload_sell_section {
    SellRoute => Sell,
    SellerOnboardingRoute => SellerOnboarding,
    SellerDashboardRoute => SellerDashboard,
});

/// The lazy section a path's page is in, by its first segment (after an
/// embed's `/embed/{partner}`), as the routes above place them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    Buy,
    Account,
    Sell,
}

fn section_of(path: &str) -> Option<Section> {
    let mut segments = path.trim_start_matches('/').split('/');
    let mut first = segments.next()?;
    if first == "embed" {
        segments.next()?;
        first = segments.next()?;
    }
    match first {
        "offers" | "checkout" | "orders" | "sign-in" | "sign-up" => Some(Section::Buy),
        "instances" | "account" | "invoices" => Some(Section::Account),
        "sell" | "seller" => Some(Section::Sell),
        _ => None,
    }
}

/// Starts fetching the section of the page at `path`, if it is a lazy one,
/// before the app mounts: its chunks then download and compile while the
/// app renders its chrome, instead of after (the router asks for them only
/// at the end of its first render, 50–130 ms later on a fresh checkout).
/// A wrong guess costs a fetch, never a wrong page: the router loads what
/// the route needs either way, and a section is fetched once.
pub fn preload_section(path: &str) {
    let Some(section) = section_of(path) else {
        return;
    };
    wasm_bindgen_futures::spawn_local(async move {
        // A failure shows when the route asks for the section itself.
        let _ = match section {
            Section::Buy => preload_buy_section().await,
            Section::Account => preload_account_section().await,
            Section::Sell => preload_sell_section().await,
        };
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_lazy_route_names_its_section() {
        for path in [
            "/offers/off_1",
            "/checkout/off_1",
            "/orders/ord_1",
            "/sign-in",
            "/sign-up",
        ] {
            assert_eq!(section_of(path), Some(Section::Buy), "{path}");
        }
        assert_eq!(section_of("/embed/acme/checkout/off_1"), Some(Section::Buy));
        for path in [
            "/instances",
            "/instances/i_1",
            "/account",
            "/invoices",
            "/invoices/inv_1",
        ] {
            assert_eq!(section_of(path), Some(Section::Account), "{path}");
        }
        for path in ["/sell", "/sell/start", "/seller"] {
            assert_eq!(section_of(path), Some(Section::Sell), "{path}");
        }
        for path in [
            "/",
            "/marketplace",
            "/embed/acme",
            "/embed/acme/marketplace",
            "/nowhere",
        ] {
            assert_eq!(section_of(path), None, "{path}");
        }
    }
}
