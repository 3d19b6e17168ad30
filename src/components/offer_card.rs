//! One offer in the marketplace list.

use leptos::prelude::*;
use sparecloud_api::offers::Offer;
use stylers_macro::style;

use crate::format;

/// One offer in the marketplace list.
#[component]
pub fn OfferCard(offer: Offer) -> impl IntoView {
    let class = style! {
        article {
            display: grid;
            gap: var(--space-3);
            height: 100%;
            padding: var(--space-4);
            background: var(--color-surface);
            border: 1px solid var(--color-border);
            border-radius: var(--radius-lg);
            box-shadow: var(--shadow-sm);
        }
        .head {
            display: flex;
            justify-content: space-between;
            gap: var(--space-2);
            align-items: baseline;
        }
        h2 {
            font-size: var(--text-lg);
        }
        .tier {
            padding: 0 var(--space-2);
            border-radius: var(--radius-sm);
            background: var(--color-surface-muted);
            font-size: var(--text-sm);
            font-weight: 600;
            text-transform: capitalize;
            white-space: nowrap;
        }
        dl {
            display: grid;
            grid-template-columns: auto 1fr;
            gap: var(--space-1) var(--space-3);
            font-size: var(--text-sm);
        }
        dt {
            color: var(--color-text-muted);
        }
        .price {
            font-size: var(--text-xl);
            font-weight: 700;
        }
        .per {
            font-size: var(--text-sm);
            font-weight: 400;
            color: var(--color-text-muted);
        }
    };
    let href = format!(
        "{}/offers/{}",
        crate::embed::prefix(),
        crate::api::encode(&offer.id)
    );
    let flavors = offer
        .prices
        .iter()
        .map(|p| p.flavor.id.clone())
        .collect::<Vec<_>>()
        .join(", ");
    let label = format!("{} in {}", offer.seller_name, offer.zone);
    // "View offer", described by the card's heading (the seller). Plain
    // links: the router follows any same-origin `<a>`, and `<A>`'s reactive
    // `aria-current` (never true here) cost three computations per link on
    // a page of twenty cards.
    let title_id = format!("offer-title-{}", offer.id);
    view! {
        <article class=format!("offer-card {class}") aria-label=label>
            <div class=format!("head {class}")>
                <h2 class=class id=title_id.clone()>
                    <a href=href.clone() class="above-stretched">{offer.seller_name.clone()}</a>
                </h2>
                <span class=format!("tier {class}")>{offer.sla_tier.clone()}</span>
            </div>
            <p class=format!("price {class}")>
                "from " {format::eur(offer.from_hourly_cents)}
                <span class=format!("per {class}")>" / hour"</span>
            </p>
            <dl class=class>
                <dt class=class>"Zone"</dt>
                <dd>{offer.zone.clone()}</dd>
                <dt class=class>"Uptime (30 days)"</dt>
                <dd>{format::percent_bp(offer.uptime_bp)}</dd>
                <dt class=class>"Free"</dt>
                <dd>{format::size(offer.free.vcpu, offer.free.ram_gib, offer.free.disk_gib)}</dd>
                <dt class=class>"Sizes"</dt>
                <dd>{flavors}</dd>
            </dl>
            // Stretched over the card (CSS), so a click anywhere opens it.
            <a href=href class="button stretched-link" aria-describedby=title_id>"View offer"</a>
        </article>
    }
}
