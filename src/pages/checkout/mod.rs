//! The checkout wizard: Image → Service level → Size & placement → Payment
//! → Review, a file per step. The choices (never card data) are kept in
//! sessionStorage per offer and the step is in the URL, so a buyer who
//! signs in mid-way comes back to the same step with everything kept.

mod card;
mod draft;
mod image_step;
mod payment_step;
mod review_step;
mod size_step;
mod tier_step;

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_query_map};
use sparecloud_api::catalog::{Image, SlaTier};
use sparecloud_api::offers::Offer;
use stylers_macro::style;

use crate::api;
use crate::app::use_id;
use crate::components::error_view::ErrorView;
use crate::components::form::FormAlert;
use crate::components::loaded::loaded_or_else;
use crate::components::steps::StepIndicator;
use crate::embed;
use crate::format;
use crate::resource::ApiResource;
pub use draft::Draft;
use image_step::ImageStep;
use payment_step::{Payment, PaymentStep};
use review_step::ReviewStep;
use size_step::SizeStep;
use tier_step::TierStep;

pub const STEPS: [&str; 5] = [
    "Image",
    "Service level",
    "Size & placement",
    "Payment",
    "Review",
];
const PAYMENT: usize = 4;
const REVIEW: usize = 5;
/// The most instances one order may ask for in the UI.
const MAX_COUNT: u32 = 20;

#[component]
pub fn Checkout() -> impl IntoView {
    let offer_id = use_id().get_untracked();
    let offer = {
        let offer_id = offer_id.clone();
        ApiResource::new(move || {
            let offer_id = offer_id.clone();
            async move { api::offer(&offer_id).await }
        })
    };
    let images = ApiResource::new(api::images);
    let tiers = ApiResource::new(api::sla_tiers);
    view! {
        <div class="container page">
            {loaded_or_else(
                (offer, images, tiers),
                "Loading checkout…",
                |errors| view! {
                    <ErrorView errors title="This offer cannot be rented now" page_title=true>
                        <p><A href=format!("{}/marketplace", embed::prefix())>"Back to the marketplace"</A></p>
                    </ErrorView>
                }.into_any(),
                |(offer, images, tiers)| view! { <Wizard offer=offer images=images tiers=tiers /> }.into_any(),
            )}
        </div>
    }
}

#[component]
fn Wizard(offer: Offer, images: Vec<Image>, tiers: Vec<SlaTier>) -> impl IntoView {
    let class = style! {
        .panel {
            padding: var(--space-5);
            background: var(--color-surface);
            border: 1px solid var(--color-border);
            border-radius: var(--radius-lg);
        }
        .nav {
            display: flex;
            justify-content: space-between;
            gap: var(--space-3);
            margin-top: var(--space-5);
        }
    };
    let offer_id = offer.id.clone();
    let mut restored = Draft::load(&offer_id);
    // A kept choice the hosts can no longer run is no choice.
    if let (Some(image), Some(runs)) = (&restored.image_id, &offer.images)
        && !runs.contains(image)
    {
        restored.image_id = None;
    }
    let draft = RwSignal::new(restored);
    {
        let offer_id = offer_id.clone();
        Effect::new(move |_| draft.with(|d| d.save(&offer_id)));
    }
    let query = use_query_map();
    let wanted = Memo::new(move |_| {
        query.with(|q| {
            q.get("step")
                .and_then(|s| s.parse::<usize>().ok())
                .unwrap_or(1)
        })
    });
    let step = Memo::new(move |_| draft.with(|d| d.reachable(wanted.get())));
    let step_error = RwSignal::new(None::<String>);
    let navigate = use_navigate();
    let prefix = embed::prefix();
    let go = {
        let offer_id = offer_id.clone();
        let prefix = prefix.clone();
        // `declined` tells the payment step why the buyer is back.
        move |to: usize, declined: bool| {
            step_error.set(None);
            let flag = if declined { "&declined=1" } else { "" };
            navigate(
                &format!(
                    "{prefix}/checkout/{}?step={to}{flag}",
                    api::encode(&offer_id)
                ),
                Default::default(),
            );
        }
    };
    let go = StoredValue::new_local(go);
    // Payment needs a card first: its step saves one, then moves on.
    let payment = Payment::new(
        draft,
        Callback::new(move |()| go.with_value(|go| go(REVIEW, false))),
    );
    let on_continue = move |ev: SubmitEvent| {
        ev.prevent_default();
        let current = step.get_untracked();
        if current == PAYMENT {
            payment.submit();
            return;
        }
        match draft.with_untracked(|d| d.missing(current)) {
            Some(message) => step_error.set(Some(message.to_owned())),
            None => go.with_value(|go| go(current + 1, false)),
        }
    };

    let seller = offer.seller_name.clone();
    let offer = StoredValue::new(offer);
    let images = StoredValue::new(images);
    let tiers = StoredValue::new(tiers);
    view! {
        <p><A href=format!("{prefix}/offers/{}", api::encode(&offer_id))>"← Offer details"</A></p>
        <h1>{format!("Rent from {seller}")}</h1>
        <StepIndicator steps=&STEPS current=step label="Checkout steps" />
        <form class=format!("panel {class}") on:submit=on_continue novalidate aria-labelledby="step-heading">
            <h2 id="step-heading">{move || STEPS[step.get() - 1]}</h2>
            <FormAlert message=step_error />
            {move || match step.get() {
                1 => view! { <ImageStep draft=draft images=images.get_value() runnable=offer.with_value(|o| o.images.clone()) /> }.into_any(),
                2 => view! { <TierStep draft=draft tiers=tiers.get_value() offer=offer.get_value() /> }.into_any(),
                3 => view! { <SizeStep draft=draft offer=offer.get_value() images=images.get_value() /> }.into_any(),
                4 => view! { <PaymentStep draft=draft payment=payment /> }.into_any(),
                _ => view! {
                    <ReviewStep
                        draft=draft
                        offer=offer.get_value()
                        images=images.get_value()
                        tiers=tiers.get_value()
                        back_to_payment=Callback::new(move |()| go.with_value(|go| go(PAYMENT, true)))
                    />
                }.into_any(),
            }}
            <div class=format!("nav {class}")>
                {move || (step.get() > 1).then(|| view! {
                    <button class="button button-secondary" type="button"
                        on:click=move |_| go.with_value(|go| go(step.get_untracked() - 1, false))>
                        "Back"
                    </button>
                })}
                <span></span>
                {move || (step.get() < REVIEW).then(|| view! {
                    <button class="button" type="submit">"Continue"</button>
                })}
            </div>
        </form>
    }
}

/// Cards to pick one of, as radio buttons. The `let` is how stylers finds
/// the block to extract its CSS.
#[allow(clippy::let_and_return)]
pub(super) fn choice_class() -> &'static str {
    let class = style! {
        .choices {
            display: grid;
            grid-template-columns: repeat(auto-fill, minmax(14rem, 1fr));
            gap: var(--space-3);
            border: 0;
            padding: 0;
            margin-top: var(--space-3);
        }
        .choice {
            display: grid;
            grid-template-columns: auto 1fr;
            gap: var(--space-1) var(--space-3);
            align-items: start;
            padding: var(--space-3) var(--space-4);
            border: 2px solid var(--color-border);
            border-radius: var(--radius-lg);
            cursor: pointer;
        }
        .choice:has(input:checked) {
            border-color: var(--color-accent);
            background: var(--color-surface-muted);
        }
        .choice:has(input:disabled) {
            opacity: 0.55;
            cursor: not-allowed;
        }
        .choice input {
            margin-top: 0.3rem;
        }
        .title {
            font-weight: 600;
        }
        .detail {
            grid-column: 2;
            font-size: var(--text-sm);
            color: var(--color-text-muted);
        }
    };
    class
}

pub(super) fn credits_text(tier: &SlaTier) -> String {
    tier.credits
        .iter()
        .map(|c| {
            format!(
                "{} % credit below {}",
                c.credit_percent,
                format::percent_bp(c.below_bp)
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}
