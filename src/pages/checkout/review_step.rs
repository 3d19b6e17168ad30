//! Step 5: the binding quote (capacity held for ten minutes) and placing
//! the order under one `Idempotency-Key` per attempt.

use leptos::prelude::*;
use leptos_router::hooks::use_navigate;
use sparecloud_api::catalog::{Image, SlaTier};
use sparecloud_api::checkout::{Order, OrderRequest, Placement, Quote, QuoteRequest};
use sparecloud_api::offers::Offer;
use sparecloud_api::problem::kinds;
use stylers_macro::style;

use super::{Draft, credits_text};
use crate::api;
use crate::components::error_view::ErrorView;
use crate::components::form::{FormAlert, problem_message};
use crate::components::loaded::loaded_or_else;
use crate::embed;
use crate::format;
use crate::resource::{ApiAction, ApiResource};
use crate::session::use_session;

/// A fresh key per order attempt: retries of one attempt reuse it, so the
/// server never charges twice.
fn new_idempotency_key() -> String {
    web_sys::window()
        .and_then(|w| w.crypto().ok())
        .map(|c| c.random_uuid())
        .unwrap_or_else(|| format!("attempt-{}", js_sys::Date::now()))
}

/// The platform's fee as a buyer can weigh it: its share and what it
/// comes to in a month, never a per-hour amount rounded to nothing.
pub(super) fn fee_text(quote: &Quote) -> String {
    if quote.commission_bp == 0 {
        return "no platform fee".into();
    }
    let percent = format!("{:.2}", f64::from(quote.commission_bp) / 100.0);
    let percent = percent.trim_end_matches('0').trim_end_matches('.');
    let month = quote.estimated_month_cents * u64::from(quote.commission_bp) / 10_000;
    if month == 0 {
        format!("{percent} % platform fee included")
    } else {
        format!(
            "{percent} % platform fee included, about {} a month",
            format::eur(month)
        )
    }
}

/// Places the order; when the card's bank wants the buyer to confirm
/// (3-D Secure), Stripe.js asks them, and the same attempt (same key) is
/// sent again, which completes it.
async fn place_confirming(token: &str, key: &str, request: &OrderRequest) -> api::ApiResult<Order> {
    match api::place_order(token, key, request).await {
        Err(problem) if problem.is(kinds::PAYMENT_ACTION_REQUIRED) => {
            crate::stripe_js::confirm_asked_payment(&problem).await?;
            api::place_order(token, key, request).await
        }
        other => other,
    }
}

#[component]
pub(super) fn ReviewStep(
    draft: RwSignal<Draft>,
    offer: Offer,
    images: Vec<Image>,
    tiers: Vec<SlaTier>,
    back_to_payment: Callback<()>,
) -> impl IntoView {
    let class = style! {
        dl {
            display: grid;
            grid-template-columns: minmax(9rem, auto) 1fr;
            gap: var(--space-2) var(--space-4);
        }
        dt {
            color: var(--color-text-muted);
        }
        .total {
            font-size: var(--text-lg);
            font-weight: 700;
        }
        .place {
            margin-top: var(--space-5);
        }
    };
    let session = use_session();
    let token = session.token().unwrap_or_default();
    let d = draft.get_untracked();
    let request = QuoteRequest {
        offer_id: offer.id.clone(),
        image_id: d.image_id.clone().unwrap_or_default(),
        sla_tier: d.sla_tier.clone().unwrap_or_default(),
        flavor_id: d.flavor_id.clone().unwrap_or_default(),
        count: d.count,
        placement: d.placement,
        auto_recover: d.auto_recover,
    };
    let quote = {
        let token = token.clone();
        ApiResource::new(move || {
            let token = token.clone();
            let request = request.clone();
            async move { api::quote(&token, &request).await }
        })
    };
    // Orders placed in a partner's embed earn the partner its share: the
    // page's signed embed session says which.
    let embed_session = StoredValue::new(embed::session());
    // One key per attempt: a new quote is a new attempt.
    let attempt_key = RwSignal::new(new_idempotency_key());
    let navigate = StoredValue::new_local(use_navigate());
    let offer_id = StoredValue::new(offer.id.clone());
    let prefix = StoredValue::new(embed::prefix());
    let place = ApiAction::new(move |(key, request): &(String, OrderRequest)| {
        let key = key.clone();
        let request = request.clone();
        let token = token.clone();
        async move {
            let placed = place_confirming(&token, &key, &request).await;
            let outcome = placed.clone();
            // After the action has stored the result: what follows may
            // unmount this step, and the action with it.
            queue_microtask(move || match &outcome {
                Ok(order) => {
                    Draft::forget(&offer_id.get_value());
                    // The host page learns of the sale: ids and amounts, no card data.
                    embed::post_event(
                        "order-completed",
                        serde_json::json!({
                            "order_id": order.id,
                            "hourly_total_cents": order.quote.hourly_total_cents,
                            "estimated_month_cents": order.quote.estimated_month_cents,
                            "currency": order.quote.currency,
                        }),
                    );
                    let to = format!("{}/orders/{}", prefix.get_value(), api::encode(&order.id));
                    navigate.with_value(|navigate| navigate(&to, Default::default()));
                }
                // Another card may do: back to payment, everything else kept.
                Err(problem) if problem.is_card_refused() => {
                    draft.update(|d| d.payment_method_id = None);
                    back_to_payment.run(());
                }
                Err(problem) if problem.is(kinds::QUOTE_EXPIRED) => {
                    attempt_key.set(new_idempotency_key());
                    quote.refetch();
                }
                Err(_) => {}
            });
            placed
        }
    });
    let place_problem = move || {
        place
            .value()
            .and_then(Result::err)
            .filter(|p| !p.is_card_refused())
            .map(|p| problem_message(&p))
    };
    let pending = place.pending();
    let image_name = images
        .iter()
        .find(|i| Some(&i.id) == d.image_id.as_ref())
        .map_or_else(String::new, |i| i.name.clone());
    let tier = tiers
        .into_iter()
        .find(|t| Some(&t.id) == d.sla_tier.as_ref());
    loaded_or_else(
        quote,
        "Getting your binding price…",
        move |errors| {
            view! {
                <ErrorView errors retry=Callback::new(move |()| quote.refetch())>
                    <p>"Go back to change the size or count, or try again."</p>
                </ErrorView>
            }
            .into_any()
        },
        move |quote: Quote| {
            let key = attempt_key.get_untracked();
            let order = OrderRequest {
                quote_id: quote.id.clone(),
                payment_method_id: draft
                    .with_untracked(|d| d.payment_method_id.clone().unwrap_or_default()),
                ssh_public_key: draft.with_untracked(|d| d.ssh_public_key.trim().to_owned()),
                embed_session: embed_session.get_value(),
            };
            let tier_text = tier.as_ref().map_or(quote.sla_tier.clone(), |t| {
                format!(
                    "{} · {} availability · {}",
                    t.name,
                    format::percent_bp(t.availability_bp),
                    credits_text(t)
                )
            });
            view! {
                <dl class=class>
                    <dt class=class>"Image"</dt><dd>{image_name.clone()}</dd>
                    <dt class=class>"Service level"</dt><dd>{tier_text}</dd>
                    <dt class=class>"Size"</dt><dd>{quote.flavor_id.clone()}</dd>
                    <dt class=class>"Instances"</dt><dd>{quote.count}</dd>
                    <dt class=class>"Placement"</dt>
                    <dd>{placement_text(&quote)}</dd>
                    <dt class=class>"Where"</dt>
                    <dd>
                        <ul class="plain">
                            {quote.placements.iter().map(|p| view! {
                                <li>{format!("{} × in {} by {} at {} / hour", p.count, p.zone, p.seller_name, format::eur(p.unit_hourly_cents))}</li>
                            }).collect_view()}
                        </ul>
                    </dd>
                    <dt class=class>"Price per hour"</dt>
                    <dd>{format::eur(quote.hourly_total_cents)}</dd>
                    <dt class=class>"Estimated month"</dt>
                    <dd class=format!("total {class}")>{format!("{} ({})", format::eur(quote.estimated_month_cents), fee_text(&quote))}</dd>
                </dl>
                <p class="field-hint">"Billed by the second while instances run. This price is held for 10 minutes."</p>
                <FormAlert message=Signal::derive(place_problem) />
                <button class=format!("button place {class}") type="button"
                    disabled=move || pending.get()
                    on:click=move |_| { place.dispatch((key.clone(), order.clone())); }>
                    {move || if pending.get() { "Placing your order…" } else { "Place order" }}
                </button>
            }.into_any()
        },
    )
}

/// What the quote promises about placement and recovery.
fn placement_text(quote: &Quote) -> String {
    let spread = match quote.placement {
        Placement::Any => format!("{} host(s) in {}", quote.hosts, quote.zones.join(", ")),
        Placement::DistinctHosts => format!(
            "Spread over {} distinct hosts in {}",
            quote.hosts,
            quote.zones.join(", ")
        ),
        Placement::DistinctZones => format!(
            "Spread over {} distinct zones: {}",
            quote.zones.len(),
            quote.zones.join(", ")
        ),
    };
    if quote.auto_recover {
        format!("{spread} · auto-recovery on")
    } else {
        spread
    }
}
