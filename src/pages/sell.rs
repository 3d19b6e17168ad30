//! `/sell`: what selling spare capacity on Sparecloud means, with the
//! commission and service levels as the API states them.

use leptos::prelude::*;
use leptos_router::components::A;
use stylers_macro::style;

use crate::api;
use crate::components::loaded::loaded_or_else;
use crate::format;
use crate::resource::ApiResource;

/// "Sell capacity": the deal for sellers, and the way in.
#[component]
pub fn Sell() -> impl IntoView {
    let class = style! {
        .grid {
            display: grid;
            grid-template-columns: repeat(auto-fit, minmax(16rem, 1fr));
            gap: var(--space-4);
            margin-block: var(--space-5);
            padding: 0;
            list-style: none;
        }
        .card {
            padding: var(--space-4);
            background: var(--color-surface);
            border: 1px solid var(--color-border);
            border-radius: var(--radius-lg);
        }
        h2 {
            font-size: var(--text-lg);
            margin-bottom: var(--space-2);
        }
        .actions {
            display: flex;
            flex-wrap: wrap;
            gap: var(--space-3);
        }
    };
    let market = ApiResource::new(|| api::market("", ""));
    let tiers = ApiResource::new(api::sla_tiers);
    view! {
        <div class="container page">
            <h1>"Sell your spare capacity"</h1>
            <p class="lead">
                "Install our agent on servers you are not using, choose the service level you commit to and set your prices. Buyers rent your capacity by the hour; you are paid for every second it runs."
            </p>
            {loaded_or_else(
                (market, tiers),
                "Loading the terms…",
                |_| view! { <p class="alert alert-error" role="alert">"The terms could not be loaded. Reload the page to try again."</p> }.into_any(),
                move |(market, tiers)| {
                    let commission = format::percent_bp(market.commission_bp);
                    view! {
                        <ul class=format!("grid {class}")>
                            <li class=format!("card {class}")>
                                <h2 class=class>{format!("{commission} commission")}</h2>
                                <p>{format!("We keep {commission} of what buyers pay and charge nothing else: no listing fees, no monthly fees.")}</p>
                            </li>
                            <li class=format!("card {class}")>
                                <h2 class=class>"Monthly payouts"</h2>
                                <p>"Earnings accrue per second while instances run and are paid out monthly to the account you give, net of commission and any service credits."</p>
                            </li>
                            <li class=format!("card {class}")>
                                <h2 class=class>"Service levels"</h2>
                                <ul>
                                    {tiers.into_iter().map(|t| {
                                        let credits = t.credits.iter()
                                            .map(|c| format!("{} % below {}", c.credit_percent, format::percent_bp(c.below_bp)))
                                            .collect::<Vec<_>>().join(", ");
                                        view! { <li>{format!("{} · {} availability; credits {credits}", t.name, format::percent_bp(t.availability_bp))}</li> }
                                    }).collect_view()}
                                </ul>
                            </li>
                        </ul>
                    }.into_any()
                },
            )}
            <div class=format!("actions {class}")>
                <A href="/sell/start" attr:class="button">"Start selling"</A>
                <A href="/seller" attr:class="button button-secondary">"Seller dashboard"</A>
            </div>
        </div>
    }
}
