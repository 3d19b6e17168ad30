//! Step 2: the service level, up to what the seller commits to.

use leptos::prelude::*;
use sparecloud_api::catalog::SlaTier;
use sparecloud_api::offers::Offer;

use super::{Draft, choice_class, credits_text};
use crate::format;

#[component]
pub(super) fn TierStep(draft: RwSignal<Draft>, tiers: Vec<SlaTier>, offer: Offer) -> impl IntoView {
    let class = choice_class();
    view! {
        <p>{format!(
            "This seller commits to {} availability. You can choose that level or a lower one.",
            format::percent_bp(offer.availability_bp)
        )}</p>
        <fieldset class=format!("choices {class}")>
            <legend class="visually-hidden">"Service level"</legend>
            {tiers
                .into_iter()
                .map(|tier| {
                    let id = tier.id.clone();
                    let offered = tier.availability_bp <= offer.availability_bp;
                    let checked = {
                        let id = id.clone();
                        move || draft.with(|d| d.sla_tier.as_deref() == Some(id.as_str()))
                    };
                    let detail = if offered {
                        credits_text(&tier)
                    } else {
                        "Not offered by this seller.".to_owned()
                    };
                    view! {
                        <label class=format!("choice {class}")>
                            <input type="radio" name="sla" value=id.clone() disabled=!offered prop:checked=checked
                                on:change=move |_| draft.update(|d| d.sla_tier = Some(id.clone())) />
                            <span class=format!("title {class}")>
                                {format!("{} · {}", tier.name, format::percent_bp(tier.availability_bp))}
                            </span>
                            <span class=format!("detail {class}")>{detail}</span>
                        </label>
                    }
                })
                .collect_view()}
        </fieldset>
    }
}
