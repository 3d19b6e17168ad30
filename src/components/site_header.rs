//! The site header: navigation and the signed-in account.

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_navigate;
use stylers_macro::style;

use crate::session::use_session;

/// The site header: the brand and the main navigation.
#[component]
pub fn SiteHeader() -> impl IntoView {
    let class = style! {
        header {
            background: var(--color-surface);
            border-bottom: 1px solid var(--color-border);
        }
        div {
            display: flex;
            flex-wrap: wrap;
            align-items: center;
            justify-content: space-between;
            gap: var(--space-2) var(--space-5);
            padding-block: var(--space-3);
        }
        .brand {
            display: inline-flex;
            align-items: center;
            gap: var(--space-2);
            font-size: var(--text-lg);
            font-weight: 700;
            color: var(--color-text);
            text-decoration: none;
        }
        img {
            width: 1.75rem;
            height: 1.75rem;
        }
        ul {
            display: flex;
            flex-wrap: wrap;
            gap: var(--space-1) var(--space-2);
            padding: 0;
            list-style: none;
        }
        .nav-link {
            display: inline-block;
            padding: var(--space-2) var(--space-3);
            border-radius: var(--radius);
            color: var(--color-text-muted);
            font-weight: 500;
            text-decoration: none;
        }
        .nav-link:hover {
            background: var(--color-surface-muted);
            color: var(--color-text);
        }
        .account {
            display: flex;
            align-items: center;
            gap: var(--space-2);
            padding-left: var(--space-2);
            color: var(--color-text);
        }
        button {
            border: 0;
            background: none;
            cursor: pointer;
        }
        .nav-link[aria-current] {
            color: var(--color-accent);
            background: var(--color-surface-muted);
        }
    };

    let session = use_session();
    let navigate = use_navigate();
    let sign_out = move |_| {
        let token = session.token();
        session.clear();
        navigate("/", Default::default());
        if let Some(token) = token {
            // Revoke it on the server too; the page does not wait for that.
            leptos::task::spawn_local(async move {
                let _ = crate::api::sign_out(&token).await;
            });
        }
    };

    view! {
        <header class=class>
            <div class=format!("container {class}")>
                <A href="/" attr:class=format!("brand {class}")>
                    <img class=class src="/public/favicon.svg" alt="" />
                    "Sparecloud"
                </A>
                <nav aria-label="Main">
                    <ul class=class>
                        <NavLink href="/marketplace" label="Marketplace" class=class />
                        <NavLink href="/sell" label="Sell capacity" class=class />
                        <NavLink href="/instances" label="Instances" class=class />
                        <Show when=move || session.signed_in()>
                            <NavLink href="/invoices" label="Invoices" class=class />
                        </Show>
                        <Show
                            when=move || session.signed_in()
                            fallback=move || view! { <NavLink href="/sign-in" label="Sign in" class=class /> }
                        >
                            <li class=format!("account {class}")>
                                <A href="/account" attr:class=format!("nav-link {class}")>
                                    {move || session.account().map(|a| a.display_name).unwrap_or_default()}
                                </A>
                                <button class=format!("nav-link {class}") type="button" on:click=sign_out.clone()>
                                    "Sign out"
                                </button>
                            </li>
                        </Show>
                    </ul>
                </nav>
            </div>
        </header>
    }
}

/// One entry of the main navigation; `A` marks the current page with
/// `aria-current="page"`.
#[component]
fn NavLink(href: &'static str, label: &'static str, class: &'static str) -> impl IntoView {
    view! {
        <li>
            <A href=href attr:class=format!("nav-link {class}")>
                {label}
            </A>
        </li>
    }
}
