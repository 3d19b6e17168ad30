//! `/offers/:id`: one offer with its service level, credits, measured
//! uptime, free capacity and the price of each size that fits now.

use leptos::prelude::*;
use leptos_router::components::A;
use sparecloud_api::catalog::SlaTier;
use sparecloud_api::offers::Offer;
use stylers_macro::style;

use crate::api;
use crate::app::use_id;
use crate::components::error_view::ErrorView;
use crate::components::loaded::loaded_or_else;
use crate::format;
use crate::resource::ApiResource;

/// One offer: seller, zone, service level with its credits, measured uptime,
/// free capacity and the price of every size that fits now.
#[component]
pub fn OfferDetail() -> impl IntoView {
    let id = use_id();
    let offer = ApiResource::new(move || {
        let id = id.get();
        async move { api::offer(&id).await }
    });
    // The offer shows without its tier's name and credits if they fail.
    let tiers = ApiResource::new(|| async { Ok(api::sla_tiers().await.unwrap_or_default()) });
    view! {
        <div class="container page">
            <p><A href=format!("{}/marketplace", crate::embed::prefix())>"← Marketplace"</A></p>
            {loaded_or_else(
                (offer, tiers),
                "Loading the offer…",
                |errors| view! { <ErrorView errors title="This offer is not available" page_title=true /> }.into_any(),
                |(offer, tiers)| {
                    let tier = tiers.into_iter().find(|t| t.id == offer.sla_tier);
                    view! { <OfferView offer=offer tier=tier /> }.into_any()
                },
            )}
        </div>
    }
}

#[component]
fn OfferView(offer: Offer, tier: Option<SlaTier>) -> impl IntoView {
    let class = style! {
        dt {
            color: var(--color-text-muted);
            font-size: var(--text-sm);
        }
        dd {
            font-size: var(--text-lg);
            font-weight: 600;
        }
        .num {
            text-align: right;
            font-variant-numeric: tabular-nums;
        }
        section {
            margin-top: var(--space-6);
            overflow-x: auto;
        }
    };
    let tier_name = tier
        .as_ref()
        .map_or(offer.sla_tier.clone(), |t| t.name.clone());
    let credits = tier.map(|t| t.credits).unwrap_or_default();
    view! {
        <h1>{offer.seller_name.clone()}</h1>
        <p class="lead">{format!("{} · {} service level", offer.zone, tier_name)}</p>
        <p class="actions-row">
            <A href=format!("{}/checkout/{}", crate::embed::prefix(), crate::api::encode(&offer.id)) attr:class="button">"Rent"</A>
        </p>
        <dl class=format!("facts {class}")>
            <div class=format!("fact {class}")>
                <dt class=class>"Committed availability"</dt>
                <dd class=class>{format::percent_bp(offer.availability_bp)}</dd>
            </div>
            <div class=format!("fact {class}")>
                <dt class=class>"Measured uptime (30 days)"</dt>
                <dd class=class>{format::percent_bp(offer.uptime_bp)}</dd>
            </div>
            <div class=format!("fact {class}")>
                <dt class=class>"Free capacity"</dt>
                <dd class=class>{format::size(offer.free.vcpu, offer.free.ram_gib, offer.free.disk_gib)}</dd>
            </div>
            <div class=format!("fact {class}")>
                <dt class=class>"From"</dt>
                <dd class=class>{format!("{} / hour", format::eur(offer.from_hourly_cents))}</dd>
            </div>
        </dl>
        <section class=class aria-labelledby="sizes-heading">
            <h2 id="sizes-heading">"Sizes and prices"</h2>
            <table class=format!("data-table {class}")>
                <thead>
                    <tr>
                        <th class=class scope="col">"Size"</th>
                        <th class=format!("num {class}") scope="col">"vCPU"</th>
                        <th class=format!("num {class}") scope="col">"RAM"</th>
                        <th class=format!("num {class}") scope="col">"Disk"</th>
                        <th class=format!("num {class}") scope="col">"Per hour"</th>
                        <th class=format!("num {class}") scope="col">"Per month (730 h)"</th>
                    </tr>
                </thead>
                <tbody>
                    {offer.prices.into_iter().map(|p| view! {
                        <tr>
                            <th class=class scope="row">{p.flavor.id}</th>
                            <td class=format!("num {class}")>{p.flavor.vcpu}</td>
                            <td class=format!("num {class}")>{format!("{} GiB", p.flavor.ram_gib)}</td>
                            <td class=format!("num {class}")>{format!("{} GiB", p.flavor.disk_gib)}</td>
                            <td class=format!("num {class}")>{format::eur(p.hourly_cents)}</td>
                            <td class=format!("num {class}")>{format::eur(p.hourly_cents * 730)}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </section>
        <section class=class aria-labelledby="credits-heading">
            <h2 id="credits-heading">"Service credits"</h2>
            <p>"If measured availability in a month falls below the commitment, you are credited automatically:"</p>
            <table class=format!("data-table {class}")>
                <thead>
                    <tr>
                        <th class=class scope="col">"Monthly availability below"</th>
                        <th class=format!("num {class}") scope="col">"Credit"</th>
                    </tr>
                </thead>
                <tbody>
                    {credits.into_iter().map(|c| view! {
                        <tr>
                            <td class=class>{format::percent_bp(c.below_bp)}</td>
                            <td class=format!("num {class}")>{format!("{} %", c.credit_percent)}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </section>
    }
}
