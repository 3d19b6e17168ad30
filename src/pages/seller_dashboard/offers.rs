//! One offer's row: its prices edited in place, pause and resume.

use leptos::prelude::*;
use sparecloud_api::seller::{FlavorPrice, OfferStatus, SellerOffer, UpdateOfferRequest};

use super::dash_class;
use crate::api::ApiResult;
use crate::components::form::problem_message;
use crate::format;
use crate::resource::ApiAction;

#[component]
pub(super) fn OfferRow(
    offer: SellerOffer,
    /// Updates an offer by id; answers with the id it was for.
    update: ApiAction<(String, UpdateOfferRequest), (String, ApiResult<SellerOffer>)>,
) -> impl IntoView {
    let class = dash_class();
    let id = StoredValue::new(offer.id.clone());
    // This row's last failed update, if the last update was this row's.
    let problem = move || match update.value() {
        Some((for_id, Err(p))) if id.with_value(|id| *id == for_id) => Some(problem_message(&p)),
        _ => None,
    };
    let prices: Vec<(String, RwSignal<String>)> = offer
        .prices
        .iter()
        .map(|p| {
            (
                p.flavor_id.clone(),
                RwSignal::new(format::cents_as_decimal(p.hourly_cents)),
            )
        })
        .collect();
    let error = RwSignal::new(None::<String>);
    let prices_for_save = prices.clone();
    let save = move |_| {
        let mut out = Vec::new();
        for (flavor, value) in &prices_for_save {
            match format::parse_eur(&value.get_untracked()).filter(|c| *c > 0) {
                Some(cents) => out.push(FlavorPrice {
                    flavor_id: flavor.clone(),
                    hourly_cents: cents,
                }),
                None => {
                    error.set(Some(format!(
                        "The price for {flavor} is not an amount in euros."
                    )));
                    return;
                }
            }
        }
        error.set(None);
        update.dispatch((
            id.get_value(),
            UpdateOfferRequest {
                sla_tier: None,
                prices: Some(out),
                status: None,
            },
        ));
    };
    let paused = offer.status == OfferStatus::Paused;
    let title = format!(
        "{} · {} · {}",
        offer.zone,
        offer.sla_tier,
        if paused {
            "paused"
        } else if offer.listed {
            "listed"
        } else {
            "not listed (no room)"
        }
    );
    view! {
        <article aria-label=format!("Offer in {}", offer.zone)>
            <h3>{title}</h3>
            {move || problem().map(|m| view! { <p class="alert alert-error" role="alert">{m}</p> })}
            {move || error.get().map(|m| view! { <p class="field-error" role="alert">{m}</p> })}
            <table class=format!("data-table {class}")>
                <thead><tr><th class=class scope="col">"Size"</th><th class=class scope="col">"Price per hour (EUR)"</th></tr></thead>
                <tbody>
                    {prices.into_iter().map(|(flavor, value)| {
                        let id = format!("{}-{}", offer.id, flavor.replace('.', "-"));
                        view! {
                            <tr>
                                <th class=class scope="row"><label for=id.clone()>{format!("{flavor} price")}</label></th>
                                <td class=class><input class=class id=id inputmode="decimal" prop:value=move || value.get()
                                    on:input=move |ev| value.set(event_target_value(&ev)) /></td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
            <p class="actions-row">
                <button class="button" type="button" on:click=save disabled=move || update.pending().get()>"Save prices"</button>
                " "
                <button class="button button-secondary" type="button"
                    on:click=move |_| { update.dispatch((id.get_value(), UpdateOfferRequest { sla_tier: None, prices: None, status: Some(if paused { OfferStatus::Active } else { OfferStatus::Paused }) })); }>
                    {if paused { "Resume" } else { "Pause" }}
                </button>
            </p>
        </article>
    }
}
