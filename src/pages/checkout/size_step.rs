//! Step 3: the size, how many, how they are spread, and auto-recovery,
//! with the live price.

use leptos::prelude::*;
use sparecloud_api::catalog::Image;
use sparecloud_api::checkout::Placement;
use sparecloud_api::offers::Offer;

use super::{Draft, MAX_COUNT, choice_class};
use crate::components::form::TextField;
use crate::format;

/// The placement choices, as the buyer reads them.
const PLACEMENTS: [(Placement, &str); 3] = [
    (Placement::Any, "Anywhere this offer has room"),
    (Placement::DistinctHosts, "Each instance on its own host"),
    (Placement::DistinctZones, "Each instance in its own zone"),
];

#[component]
pub(super) fn SizeStep(draft: RwSignal<Draft>, offer: Offer, images: Vec<Image>) -> impl IntoView {
    let class = choice_class();
    let min_disk = draft.with_untracked(|d| {
        images
            .iter()
            .find(|i| Some(&i.id) == d.image_id.as_ref())
            .map_or(0, |i| i.min_disk_gib)
    });
    let prices: Vec<_> = offer
        .prices
        .iter()
        .filter(|p| p.flavor.disk_gib >= min_disk)
        .cloned()
        .collect();
    let unit = {
        let prices = prices.clone();
        move || {
            draft.with(|d| {
                prices
                    .iter()
                    .find(|p| Some(&p.flavor.id) == d.flavor_id.as_ref())
                    .map(|p| p.hourly_cents)
            })
        }
    };
    // A size chosen, as EC2 does: the buyer's own if it still fits the
    // image, else the cheapest that does (prices come cheapest first).
    let fits =
        |flavor: &Option<String>| prices.iter().any(|p| Some(&p.flavor.id) == flavor.as_ref());
    if !draft.with_untracked(|d| fits(&d.flavor_id))
        && let Some(cheapest) = prices.first()
    {
        draft.update(|d| d.flavor_id = Some(cheapest.flavor.id.clone()));
    }
    let no_sizes = prices.is_empty();
    let count_text = RwSignal::new(draft.with_untracked(|d| d.count.to_string()));
    let count_error = Signal::derive(move || {
        count_text.with(|t| match t.trim().parse::<u32>() {
            Ok(n) if (1..=MAX_COUNT).contains(&n) => None,
            _ => Some(format!("Choose 1 to {MAX_COUNT} instances.")),
        })
    });
    // What is typed goes into the draft as it is typed (0 until it parses).
    let on_count = Callback::new(move |text: String| {
        draft.update(|d| d.count = text.trim().parse::<u32>().unwrap_or(0));
    });
    view! {
        {no_sizes.then(|| view! {
            <p class="alert alert-error" role="alert">
                "No size of this offer is big enough for the chosen image. Go back and choose another image."
            </p>
        })}
        <fieldset class=format!("choices {class}")>
            <legend class="visually-hidden">"Size"</legend>
            {prices
                .into_iter()
                .map(|price| {
                    let id = price.flavor.id.clone();
                    let checked = {
                        let id = id.clone();
                        move || draft.with(|d| d.flavor_id.as_deref() == Some(id.as_str()))
                    };
                    let f = &price.flavor;
                    let detail = format::size(f.vcpu, f.ram_gib, f.disk_gib);
                    view! {
                        <label class=format!("choice {class}")>
                            <input type="radio" name="flavor" value=id.clone() prop:checked=checked
                                on:change=move |_| draft.update(|d| d.flavor_id = Some(id.clone())) />
                            <span class=format!("title {class}")>
                                {format!("{} · {} / hour", price.flavor.id, format::eur(price.hourly_cents))}
                            </span>
                            <span class=format!("detail {class}")>{detail}</span>
                        </label>
                    }
                })
                .collect_view()}
        </fieldset>
        <div class="spaced-above stack">
            <TextField id="count" label="Number of instances" value=count_text error=count_error
                input_type="number" inputmode="numeric" on_input=on_count />
            <fieldset class="stack">
                <legend>"Placement"</legend>
                {PLACEMENTS
                    .into_iter()
                    .map(|(placement, label)| view! {
                        <label class="check">
                            <input type="radio" name="placement" value=placement.as_str()
                                prop:checked=move || draft.with(|d| d.placement == placement)
                                on:change=move |_| draft.update(|d| d.placement = placement) />
                            {label}
                        </label>
                    })
                    .collect_view()}
                <p class="field-hint">
                    {format!(
                        "A spread keeps your instances on separate hardware (this offer is in {}). When this offer alone cannot meet it, other offers at this service level or better take the rest; the review shows where each instance goes and at what price, and says so before any charge if it cannot be met.",
                        offer.zone
                    )}
                </p>
            </fieldset>
            <label class="check">
                <input type="checkbox" prop:checked=move || draft.with(|d| d.auto_recover)
                    on:change=move |ev| draft.update(|d| d.auto_recover = event_target_checked(&ev)) />
                "Auto-recover: start an instance again on another host if its host fails"
            </label>
            <p aria-live="polite" class="price-line">
                {move || match (unit(), draft.with(|d| d.count)) {
                    (Some(unit), count) if count > 0 => {
                        let price = format!(
                            "{count} × {} = {} / hour · about {} / month",
                            format::eur(unit),
                            format::eur(unit * u64::from(count)),
                            format::eur(unit * u64::from(count) * 730)
                        );
                        if draft.with(|d| d.placement.is_spread()) && count > 1 {
                            format!("{price} here; other offers that take part of a spread charge their own price, shown in Review.")
                        } else {
                            price
                        }
                    }
                    _ => "Choose a size to see the price.".to_owned(),
                }}
            </p>
        </div>
    }
}
