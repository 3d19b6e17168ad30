//! `/`: the landing page.

use leptos::prelude::*;
use leptos_router::components::A;
use stylers_macro::style;

/// The landing page: what Sparecloud is, for buyers and for sellers.
#[component]
pub fn Home() -> impl IntoView {
    let class = style! {
        .hero {
            padding-block: var(--space-7) var(--space-6);
        }
        h1 {
            max-width: 40rem;
        }
        .lead {
            max-width: 40rem;
            margin-top: var(--space-4);
            font-size: var(--text-lg);
            color: var(--color-text-muted);
        }
        .actions {
            display: flex;
            flex-wrap: wrap;
            gap: var(--space-3);
            margin-top: var(--space-5);
        }
        ul {
            display: grid;
            grid-template-columns: repeat(auto-fit, minmax(15rem, 1fr));
            gap: var(--space-4);
            padding: 0;
            list-style: none;
        }
        li {
            padding: var(--space-5);
            background: var(--color-surface);
            border: 1px solid var(--color-border);
            border-radius: var(--radius-lg);
            box-shadow: var(--shadow-sm);
        }
        h2 {
            font-size: var(--text-lg);
        }
        p {
            margin-top: var(--space-2);
            color: var(--color-text-muted);
        }
    };

    view! {
        <div class="container page">
            <section class=format!("hero {class}") aria-labelledby="home-title">
                <h1 class=class id="home-title">"Spare servers, rented by the hour, with a service level you can count on"</h1>
                <p class=format!("lead {class}")>
                    "Buy virtual machines on capacity that companies are not using, at a fraction of the big clouds' price. "
                    "Every offer commits to an availability target and pays credits when it misses it."
                </p>
                <div class=format!("actions {class}")>
                    <A href="/marketplace" attr:class="button">"Browse offers"</A>
                    <A href="/sell" attr:class="button button-secondary">"Sell your spare capacity"</A>
                </div>
            </section>
            <ul class=class aria-label="How it works">
                <li class=class>
                    <h2 class=class>"Pick an image"</h2>
                    <p class=class>"Debian, Ubuntu, a LAMP or LEMP stack, a Docker host or PostgreSQL, ready to boot."</p>
                </li>
                <li class=class>
                    <h2 class=class>"Choose a service level"</h2>
                    <p class=class>"Bronze 99.0 %, Silver 99.5 % or Gold 99.9 % monthly availability, with published credits."</p>
                </li>
                <li class=class>
                    <h2 class=class>"Pay by the second"</h2>
                    <p class=class>"Pay by card, get running instances in moments, stop paying when you terminate."</p>
                </li>
            </ul>
        </div>
    }
}
