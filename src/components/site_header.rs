use leptos::prelude::*;
use leptos_router::components::A;
use stylers_macro::style;

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
        .nav-link[aria-current] {
            color: var(--color-accent);
            background: var(--color-surface-muted);
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
                        <NavLink href="/sign-in" label="Sign in" class=class />
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
