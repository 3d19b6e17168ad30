//! The banner every page shows while one of the buyer's invoices is past
//! due, with a link to pay it.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::api;
use crate::components::loaded::loaded_or_default;
use crate::resource::ApiResource;
use crate::session::use_session;

/// A banner on every page while an invoice is past due. It reads the
/// buyer's balance (a count and a total), not their invoices, so the main
/// bundle carries no invoice decoder and a page change costs one small query.
#[component]
pub fn PastDueBanner() -> impl IntoView {
    let session = use_session();
    let location = leptos_router::hooks::use_location();
    // Read again on every page change: paying makes it go away.
    let balance = ApiResource::new(move || {
        location.pathname.track();
        let token = session.token();
        async move {
            match token {
                Some(token) => api::balance(&token).await.map(Some),
                None => Ok(None),
            }
        }
    });
    loaded_or_default(balance, "", |balance| {
        let (count, cents) = match balance {
            Some(b) if b.past_due_invoices > 0 => (b.past_due_invoices, b.past_due_cents),
            _ => return ().into_any(),
        };
        let owed = if count == 1 {
            format!("An invoice is past due ({}). ", crate::format::eur(cents))
        } else {
            format!(
                "{count} invoices are past due ({}). ",
                crate::format::eur(cents)
            )
        };
        view! {
            <div class="banner banner-danger" role="alert">
                <div class="container">
                    {owed}
                    <A href="/invoices">"Pay now"</A>
                    " to keep your instances running."
                </div>
            </div>
        }
        .into_any()
    })
}
