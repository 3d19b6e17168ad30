//! The seller dashboard: hosts (with drain), offers (reprice, pause),
//! install tokens and earnings. A file per part.

mod dashboard;
mod hosts;
mod offers;
mod tokens;

use leptos::prelude::*;
use leptos_router::components::A;
use sparecloud_api::accounts::Role;
use stylers_macro::style;

use crate::session::use_session;
use dashboard::Dashboard;

/// The seller's hosts, offers, install tokens and earnings.
#[component]
pub fn SellerDashboard() -> impl IntoView {
    let session = use_session();
    view! {
        <div class="container page">
            <h1>"Seller dashboard"</h1>
            <Show when=move || session.has_role(Role::Seller) fallback=|| view! {
                <p class="lead">"Sign in with a seller account to see your hosts, offers and earnings."</p>
                <p><A href="/sign-in?next=/seller">"Sign in"</A>" · "<A href="/sell">"Start selling"</A></p>
            }>
                <Dashboard />
            </Show>
        </div>
    }
}

pub(super) fn dash_class() -> &'static str {
    #[allow(clippy::let_and_return)]
    let class = style! {
        section {
            margin-top: var(--space-6);
            overflow-x: auto;
        }
        th {
            white-space: nowrap;
        }
        td.migration {
            color: var(--color-text-muted);
            background: var(--color-surface-muted);
        }
        .totals {
            display: flex;
            flex-wrap: wrap;
            gap: var(--space-5);
            margin-block: var(--space-3);
        }
        .totals strong {
            display: block;
            font-size: var(--text-xl);
        }
        input {
            width: 6rem;
            padding: var(--space-1) var(--space-2);
            border: 1px solid var(--color-border);
            border-radius: var(--radius-sm);
        }
    };
    class
}
