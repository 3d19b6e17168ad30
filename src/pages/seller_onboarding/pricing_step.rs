//! Step 5: prices per size, suggested from the market, with the monthly
//! earnings after commission; publishing the offer.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos_router::components::A;
use sparecloud_api::Problem;
use sparecloud_api::offers::{MarketPrice, PriceSource};
use sparecloud_api::seller::{CreateOfferRequest, FlavorPrice};
use stylers_macro::style;

use super::monthly_net_cents;
use crate::api;
use crate::components::form::problem_message;
use crate::components::loaded::loaded;
use crate::format;
use crate::resource::{ApiAction, ApiResource};
use crate::session::use_session;

/// Where a size's suggested price comes from, for the seller.
fn suggestion_hint(price: &MarketPrice, tier: &str) -> String {
    let amount = format::eur(price.suggested_hourly_cents);
    match price.suggested_from {
        PriceSource::Here => format!("Median of {} offers here: {amount}", price.offers),
        PriceSource::SameTierElsewhere => {
            format!(
                "No one sells this here yet: {amount} is the median of {tier} offers in other zones."
            )
        }
        PriceSource::WholeMarket => {
            format!("No {tier} offers of this size yet: {amount} is the median of all offers.")
        }
        PriceSource::ListPrice => {
            format!("No one sells this size yet: {amount} is our list price for it.")
        }
    }
}

#[component]
pub(super) fn PricingStep() -> impl IntoView {
    let class = style! {
        table {
            width: 100%;
            border-collapse: collapse;
        }
        th, td {
            padding: var(--space-2);
            text-align: left;
            border-bottom: 1px solid var(--color-border);
            vertical-align: top;
        }
        input {
            width: 7rem;
            min-height: 2.5rem;
            padding: var(--space-1) var(--space-2);
            border: 1px solid var(--color-border);
            border-radius: var(--radius);
        }
    };
    let session = use_session();
    let token = session.token().unwrap_or_default();
    // Priced for the zone of the seller's first host and the profile's tier.
    let context = {
        let token = token.clone();
        ApiResource::new(move || {
            let token = token.clone();
            async move {
                let profile = api::seller_profile(&token).await?;
                let hosts = api::hosts(&token).await?;
                let zone = hosts
                    .first()
                    .map(|h| h.zone.clone())
                    .unwrap_or_else(|| "eu-west-1a".into());
                let market = api::market(&zone, &profile.default_sla_tier).await?;
                Ok::<_, Problem>((zone, profile.default_sla_tier, market))
            }
        })
    };
    let publish = ApiAction::new(move |request: &CreateOfferRequest| {
        let request = request.clone();
        let token = token.clone();
        async move { api::create_offer(&token, &request).await }
    });
    let pending = publish.pending();
    view! {
        {loaded(context, "Loading current prices…", move |(zone, tier, market)| {
            let commission = market.commission_bp;
            let rows: Vec<(String, String, RwSignal<String>)> = market.prices.iter().map(|p| {
                let f = &p.flavor;
                (f.id.clone(), format::size(f.vcpu, f.ram_gib, f.disk_gib),
                 RwSignal::new(format::cents_as_decimal(p.suggested_hourly_cents)))
            }).collect();
            let hints: Vec<String> = market.prices.iter().map(|p| suggestion_hint(p, &tier)).collect();
            let error = RwSignal::new(None::<String>);
            let rows_for_submit = rows.clone();
            let zone_for_submit = zone.clone();
            let tier_for_submit = tier.clone();
            let on_publish = move |ev: SubmitEvent| {
                ev.prevent_default();
                let mut prices = Vec::new();
                for (flavor, _, value) in &rows_for_submit {
                    let text = value.get_untracked();
                    if text.trim().is_empty() { continue; }
                    match format::parse_eur(&text).filter(|c| *c > 0) {
                        Some(cents) => prices.push(FlavorPrice { flavor_id: flavor.clone(), hourly_cents: cents }),
                        None => { error.set(Some(format!("The price for {flavor} is not an amount in euros, such as 0.12."))); return; }
                    }
                }
                if prices.is_empty() {
                    error.set(Some("Set a price for at least one size.".into()));
                    return;
                }
                error.set(None);
                publish.dispatch(CreateOfferRequest { zone: zone_for_submit.clone(), sla_tier: tier_for_submit.clone(), prices });
            };
            let published = move || publish.value().and_then(Result::ok);
            let problem = move || publish.value().and_then(Result::err).map(|p| problem_message(&p));
            let zone_link = zone.clone();
            view! {
                <p>{format!("Prices per hour for {zone}, {tier} service level. Prefilled with suggested prices (each says where it comes from); leave a size empty not to sell it. You keep {} after our {} commission.",
                    format::percent_bp(10_000 - commission), format::percent_bp(commission))}</p>
                <form on:submit=on_publish novalidate>
                    <table class=class>
                        <thead><tr>
                            <th class=class scope="col">"Size"</th>
                            <th class=class scope="col">"Price per hour (EUR)"</th>
                            <th class=class scope="col">"You earn per month"</th>
                        </tr></thead>
                        <tbody>
                            {rows.into_iter().zip(hints).map(|((flavor, detail, value), hint)| {
                                let id = format!("price-{}", flavor.replace('.', "-"));
                                let earn = move || value.with(|v| format::parse_eur(v))
                                    .map(|c| format::eur(monthly_net_cents(c, commission)))
                                    .unwrap_or_else(|| "—".into());
                                view! {
                                    <tr>
                                        <th class=class scope="row"><label for=id.clone()>{format!("{flavor} price per hour")}</label><br/><small>{detail}</small></th>
                                        <td class=class>
                                            <input class=class id=id inputmode="decimal" prop:value=move || value.get()
                                                on:input=move |ev| value.set(event_target_value(&ev)) />
                                            <br/><small>{hint}</small>
                                        </td>
                                        <td class=class>{earn}</td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                    {move || error.get().map(|m| view! { <p class="field-error" role="alert">{m}</p> })}
                    {move || problem().map(|m| view! { <p class="alert alert-error" role="alert">{m}</p> })}
                    <p class="actions-row">
                        <button class="button" type="submit" disabled=move || pending.get() || published().is_some()>"Publish offer"</button>
                    </p>
                </form>
                {move || published().map(|offer| view! {
                    <div class="alert alert-success" role="status">
                        <p><strong>"Your offer is live."</strong>
                            {if offer.listed { " Buyers can rent it now." } else { " It will be listed as soon as a host has room for one of its sizes." }}
                        </p>
                        <p>
                            <A href=format!("/marketplace?zone={}", api::encode(&zone_link))>"See it in the marketplace"</A>
                            " · "
                            <A href="/seller">"Go to your dashboard"</A>
                        </p>
                    </div>
                })}
            }.into_any()
        })}
    }
}
