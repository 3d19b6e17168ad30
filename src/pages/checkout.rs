//! The checkout wizard: Image → Service level → Size & placement → Payment
//! → Review. The choices (never card data) are kept in sessionStorage per
//! offer and the step is in the URL, so a buyer who signs in mid-way comes
//! back to the same step with everything kept.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};
use serde::{Deserialize, Serialize};
use sparecloud_api::catalog::{Image, SlaTier};
use sparecloud_api::checkout::{
    CardRequest, OrderRequest, PaymentMethod, Placement, Quote, QuoteRequest,
};
use sparecloud_api::offers::Offer;
use sparecloud_api::{Problem, validate};
use stylers_macro::style;

use crate::api;
use crate::components::form::{
    FormAlert, TextField, alert_message, field_message, problem_message,
};
use crate::components::steps::StepIndicator;
use crate::embed;
use crate::format;
use crate::session::use_session;

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

/// The buyer's choices so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Draft {
    pub image_id: Option<String>,
    pub sla_tier: Option<String>,
    pub flavor_id: Option<String>,
    pub count: u32,
    #[serde(default)]
    pub placement: Placement,
    #[serde(default)]
    pub auto_recover: bool,
    /// A saved card's id: the card itself never reaches this struct.
    pub payment_method_id: Option<String>,
    pub ssh_public_key: String,
}

impl Default for Draft {
    fn default() -> Self {
        Draft {
            image_id: None,
            sla_tier: None,
            flavor_id: None,
            count: 1,
            placement: Placement::Any,
            auto_recover: false,
            payment_method_id: None,
            ssh_public_key: String::new(),
        }
    }
}

impl Draft {
    /// What is missing before leaving `step` (1-based), if anything.
    pub fn missing(&self, step: usize) -> Option<&'static str> {
        match step {
            1 if self.image_id.is_none() => Some("Choose an image to continue."),
            2 if self.sla_tier.is_none() => Some("Choose a service level to continue."),
            3 if self.flavor_id.is_none() => Some("Choose a size to continue."),
            3 if !(1..=MAX_COUNT).contains(&self.count) => Some("Choose 1 to 20 instances."),
            4 if self.payment_method_id.is_none() => Some("Choose or add a card to continue."),
            4 if validate::ssh_public_key(&self.ssh_public_key).is_err() => {
                Some("Add a valid SSH public key to continue.")
            }
            _ => None,
        }
    }

    /// The furthest step the buyer may be on: the first with something
    /// missing, or `wanted` when everything before it is complete.
    pub fn reachable(&self, wanted: usize) -> usize {
        (1..wanted.clamp(1, REVIEW))
            .find(|&step| self.missing(step).is_some())
            .unwrap_or(wanted.clamp(1, REVIEW))
    }

    fn storage_key(offer_id: &str) -> String {
        format!("sparecloud.checkout.{offer_id}")
    }

    fn load(offer_id: &str) -> Draft {
        session_storage()
            .and_then(|s| s.get_item(&Draft::storage_key(offer_id)).ok().flatten())
            .and_then(|json| serde_json::from_str(&json).ok())
            .unwrap_or_default()
    }

    fn save(&self, offer_id: &str) {
        if let (Some(storage), Ok(json)) = (session_storage(), serde_json::to_string(self)) {
            let _ = storage.set_item(&Draft::storage_key(offer_id), &json);
        }
    }

    fn forget(offer_id: &str) {
        if let Some(storage) = session_storage() {
            let _ = storage.remove_item(&Draft::storage_key(offer_id));
        }
    }
}

fn session_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok().flatten()
}

/// A fresh key per order attempt: retries of one attempt reuse it, so the
/// server never charges twice.
fn new_idempotency_key() -> String {
    web_sys::window()
        .and_then(|w| w.crypto().ok())
        .map(|c| c.random_uuid())
        .unwrap_or_else(|| format!("attempt-{}", js_sys::Date::now()))
}

/// The year and month today, for card expiry checks.
fn this_month() -> (u32, u32) {
    let now = js_sys::Date::new_0();
    (now.get_full_year(), now.get_month() + 1)
}

/// The card form's fields; cleared as soon as the card is tokenised.
#[derive(Clone, Copy)]
struct CardForm {
    holder: RwSignal<String>,
    number: RwSignal<String>,
    expiry: RwSignal<String>,
    cvc: RwSignal<String>,
}

impl CardForm {
    fn new() -> Self {
        CardForm {
            holder: RwSignal::new(String::new()),
            number: RwSignal::new(String::new()),
            expiry: RwSignal::new(String::new()),
            cvc: RwSignal::new(String::new()),
        }
    }

    fn clear(&self) {
        for field in [self.holder, self.number, self.expiry, self.cvc] {
            field.set(String::new());
        }
    }

    fn brand(&self) -> Option<validate::CardBrand> {
        self.number
            .with(|n| validate::card_digits(n).and_then(|d| validate::card_brand(&d)))
    }

    fn errors(&self) -> CardErrors {
        let brand = self.brand();
        let (year, month) = this_month();
        CardErrors {
            holder: validate::short_text(&self.holder.get_untracked(), 100, "the name on the card")
                .err(),
            number: validate::card_number(&self.number.get_untracked()).err(),
            expiry: validate::parse_expiry(&self.expiry.get_untracked())
                .and_then(|(m, y)| validate::card_expiry(m, y, year, month))
                .err(),
            cvc: validate::cvc(&self.cvc.get_untracked(), brand).err(),
        }
    }

    fn request(&self) -> Option<CardRequest> {
        let (exp_month, exp_year) = validate::parse_expiry(&self.expiry.get_untracked()).ok()?;
        Some(CardRequest {
            holder_name: self.holder.get_untracked().trim().to_owned(),
            number: self.number.get_untracked(),
            exp_month,
            exp_year,
            cvc: self.cvc.get_untracked(),
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
struct CardErrors {
    holder: Option<String>,
    number: Option<String>,
    expiry: Option<String>,
    cvc: Option<String>,
}

impl CardErrors {
    fn any(&self) -> bool {
        self.holder.is_some()
            || self.number.is_some()
            || self.expiry.is_some()
            || self.cvc.is_some()
    }
}

#[component]
pub fn Checkout() -> impl IntoView {
    let params = use_params_map();
    let offer_id = params.with_untracked(|p| p.get("id").unwrap_or_default());
    let offer = {
        let offer_id = offer_id.clone();
        LocalResource::new(move || {
            let offer_id = offer_id.clone();
            async move { api::offer(&offer_id).await }
        })
    };
    let images = LocalResource::new(api::images);
    let tiers = LocalResource::new(api::sla_tiers);
    view! {
        <div class="container page">
            <Transition fallback=|| view! { <p aria-busy="true">"Loading checkout…"</p> }>
                <ErrorBoundary fallback=move |errors| view! {
                    <div role="alert" class="alert alert-error">
                        <h1>"This offer cannot be rented now"</h1>
                        <p>{move || errors.with(|e| e.iter().next().map(|(_, e)| e.to_string()).unwrap_or_default())}</p>
                        <p><A href=format!("{}/marketplace", embed::prefix())>"Back to the marketplace"</A></p>
                    </div>
                }>
                    {move || Suspend::new(async move {
                        let offer = offer.await?;
                        let images = images.await?;
                        let tiers = tiers.await?;
                        Ok::<_, Problem>(view! { <Wizard offer=offer images=images tiers=tiers /> })
                    })}
                </ErrorBoundary>
            </Transition>
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
    let draft = RwSignal::new(Draft::load(&offer_id));
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
    // Payment needs a card first, which the payment step's own form handles.
    let payment_submit = Trigger::new();
    let on_continue = move |ev: SubmitEvent| {
        ev.prevent_default();
        let current = step.get_untracked();
        if current == PAYMENT {
            payment_submit.notify();
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
                1 => view! { <ImageStep draft=draft images=images.get_value() /> }.into_any(),
                2 => view! { <TierStep draft=draft tiers=tiers.get_value() offer=offer.get_value() /> }.into_any(),
                3 => view! { <SizeStep draft=draft offer=offer.get_value() images=images.get_value() /> }.into_any(),
                4 => view! {
                    <PaymentStep
                        draft=draft
                        submit=payment_submit
                        on_done=Callback::new(move |()| go.with_value(|go| go(REVIEW, false)))
                    />
                }.into_any(),
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
fn choice_class() -> &'static str {
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

#[component]
fn ImageStep(draft: RwSignal<Draft>, images: Vec<Image>) -> impl IntoView {
    let class = choice_class();
    view! {
        <fieldset class=format!("choices {class}")>
            <legend class="visually-hidden">"Image"</legend>
            {images
                .into_iter()
                .map(|image| {
                    let id = image.id.clone();
                    let checked = {
                        let id = id.clone();
                        move || draft.with(|d| d.image_id.as_deref() == Some(id.as_str()))
                    };
                    view! {
                        <label class=format!("choice {class}")>
                            <input type="radio" name="image" value=id.clone() prop:checked=checked
                                on:change=move |_| draft.update(|d| d.image_id = Some(id.clone())) />
                            <span class=format!("title {class}")>{image.name}</span>
                            <span class=format!("detail {class}")>
                                {format!("{} · needs {} GiB disk", image.description, image.min_disk_gib)}
                            </span>
                        </label>
                    }
                })
                .collect_view()}
        </fieldset>
    }
}

fn credits_text(tier: &SlaTier) -> String {
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

#[component]
fn TierStep(draft: RwSignal<Draft>, tiers: Vec<SlaTier>, offer: Offer) -> impl IntoView {
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

#[component]
fn SizeStep(draft: RwSignal<Draft>, offer: Offer, images: Vec<Image>) -> impl IntoView {
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
    let no_sizes = prices.is_empty();
    let count_text = RwSignal::new(draft.with_untracked(|d| d.count.to_string()));
    let count_error = Signal::derive(move || {
        count_text.with(|t| match t.trim().parse::<u32>() {
            Ok(n) if (1..=MAX_COUNT).contains(&n) => None,
            _ => Some(format!("Choose 1 to {MAX_COUNT} instances.")),
        })
    });
    Effect::new(move |_| {
        let n = count_text.with(|t| t.trim().parse::<u32>().unwrap_or(0));
        draft.update(|d| d.count = n);
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
        <div class="stack" style="margin-top: var(--space-4)">
            <TextField id="count" label="Number of instances" value=count_text error=count_error
                input_type="number" inputmode="numeric" />
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

#[component]
fn PaymentStep(draft: RwSignal<Draft>, submit: Trigger, on_done: Callback<()>) -> impl IntoView {
    let session = use_session();
    let signed_in = move || session.signed_in();
    view! {
        <Show when=signed_in fallback=move || view! { <SignInToPay /> }>
            <PaymentForm draft=draft submit=submit on_done=on_done />
        </Show>
    }
}

/// Shown on the payment step to a visitor: signing in comes back here.
#[component]
fn SignInToPay() -> impl IntoView {
    let prefix = StoredValue::new(embed::prefix());
    let here = move || {
        web_sys::window()
            .and_then(|w| {
                let l = w.location();
                Some(format!("{}{}", l.pathname().ok()?, l.search().ok()?))
            })
            .unwrap_or_else(|| "/marketplace".into())
    };
    view! {
        <div class="alert" role="status">
            <p>"Sign in to pay. Your choices are kept and you will come back to this step."</p>
            <p>
                <A href=move || format!("{}/sign-in?next={}", prefix.get_value(), api::encode(&here()))>"Sign in to continue"</A>
                " or "
                <A href=move || format!("{}/sign-up?next={}", prefix.get_value(), api::encode(&here()))>"create an account"</A>
            </p>
        </div>
    }
}

#[component]
fn PaymentForm(draft: RwSignal<Draft>, submit: Trigger, on_done: Callback<()>) -> impl IntoView {
    let class = choice_class();
    let session = use_session();
    let token = session.token().unwrap_or_default();
    let methods = {
        let token = token.clone();
        LocalResource::new(move || {
            let token = token.clone();
            async move { api::payment_methods(&token).await }
        })
    };
    let card = CardForm::new();
    let use_new_card = RwSignal::new(draft.with_untracked(|d| d.payment_method_id.is_none()));
    let submitted = RwSignal::new(false);
    let ssh_key = RwSignal::new(draft.with_untracked(|d| d.ssh_public_key.clone()));
    Effect::new(move |_| {
        let key = ssh_key.get();
        draft.update(|d| d.ssh_public_key = key);
    });
    let add_card = Action::new_local(move |request: &CardRequest| {
        let request = request.clone();
        let token = token.clone();
        async move { api::add_card(&token, &request).await }
    });
    let card_problem = move || add_card.value().get().and_then(Result::err);
    let local_errors = Memo::new(move |_| {
        // Re-checked as the buyer types, once they have tried to continue.
        submitted.get().then(|| {
            card.holder.track();
            card.number.track();
            card.expiry.track();
            card.cvc.track();
            card.errors()
        })
    });
    let field_error = move |field: &'static str, local: fn(&CardErrors) -> Option<String>| {
        Signal::derive(move || {
            card_problem()
                .and_then(|p| field_message(&p, field))
                .or_else(|| local_errors.get().and_then(|e| local(&e)))
        })
    };
    let ssh_error = Signal::derive(move || {
        submitted
            .get()
            .then(|| ssh_key.with(|k| validate::ssh_public_key(k).err()))
            .flatten()
    });
    let query = use_query_map();
    let declined = Memo::new(move |_| query.with(|q| q.get("declined")).is_some());

    Effect::new(move |_| {
        if let Some(Ok(method)) = add_card.value().get() {
            card.clear();
            use_new_card.set(false);
            draft.update(|d| d.payment_method_id = Some(method.id.clone()));
            methods.refetch();
            on_done.run(());
        }
    });
    Effect::new(move |previous: Option<()>| {
        submit.track();
        if previous.is_none() {
            return;
        }
        submitted.set(true);
        let ssh_ok = ssh_key.with_untracked(|k| validate::ssh_public_key(k).is_ok());
        if use_new_card.get_untracked() {
            if card.errors().any() || !ssh_ok {
                return;
            }
            if let Some(request) = card.request() {
                add_card.dispatch(request);
            }
        } else if ssh_ok && draft.with_untracked(|d| d.payment_method_id.is_some()) {
            on_done.run(());
        }
    });

    let brand = move || card.brand().map(|b| b.name()).unwrap_or("");
    let holder_error = field_error("holder_name", |e| e.holder.clone());
    let number_error = field_error("number", |e| e.number.clone());
    let expiry_error = field_error("expiry", |e| e.expiry.clone());
    let cvc_error = field_error("cvc", |e| e.cvc.clone());
    let pending = add_card.pending();
    view! {
        {move || declined.get().then(|| view! {
            <div class="alert alert-error" role="alert">
                "Your card was declined and nothing was charged. Use another card; everything else is kept."
            </div>
        })}
        <FormAlert message=alert_message(card_problem) />
        <Transition fallback=|| view! { <p>"Loading your cards…"</p> }>
            {move || Suspend::new(async move {
                let saved: Vec<PaymentMethod> = methods.await.unwrap_or_default();
                (!saved.is_empty()).then(|| view! {
                    <fieldset class=format!("choices {class}")>
                        <legend>"Saved cards"</legend>
                        {saved.into_iter().map(|m| {
                            let id = m.id.clone();
                            let checked = {
                                let id = id.clone();
                                move || !use_new_card.get() && draft.with(|d| d.payment_method_id.as_deref() == Some(id.as_str()))
                            };
                            view! {
                                <label class=format!("choice {class}")>
                                    <input type="radio" name="card" prop:checked=checked
                                        on:change=move |_| {
                                            use_new_card.set(false);
                                            draft.update(|d| d.payment_method_id = Some(id.clone()));
                                        } />
                                    <span class=format!("title {class}")>{format!("{} ending in {}", m.brand, m.last4)}</span>
                                    <span class=format!("detail {class}")>{format!("Expires {:02}/{}", m.exp_month, m.exp_year % 100)}</span>
                                </label>
                            }
                        }).collect_view()}
                        <label class=format!("choice {class}")>
                            <input type="radio" name="card" prop:checked=move || use_new_card.get()
                                on:change=move |_| use_new_card.set(true) />
                            <span class=format!("title {class}")>"A new card"</span>
                        </label>
                    </fieldset>
                })
            })}
        </Transition>
        <Show when=move || use_new_card.get()>
            <div class="stack card-form" style="margin-top: var(--space-4)">
                <TextField id="card-holder" label="Name on card" value=card.holder
                    error=holder_error autocomplete="cc-name" />
                <div class="field">
                    <label for="card-number">"Card number"</label>
                    <input id="card-number" name="card-number" inputmode="numeric" autocomplete="cc-number"
                        aria-describedby="card-brand card-number-error"
                        aria-invalid=move || number_error.with(Option::is_some).then_some("true")
                        prop:value=move || card.number.get()
                        on:input=move |ev| card.number.set(validate::format_card_number(&event_target_value(&ev))) />
                    <p class="field-hint" id="card-brand" aria-live="polite">{brand}</p>
                    {move || number_error.get().map(|m| view! {
                        <p class="field-error" id="card-number-error">{m}</p>
                    })}
                </div>
                <TextField id="card-expiry" label="Expiry (MM/YY)" value=card.expiry
                    error=expiry_error autocomplete="cc-exp" placeholder="MM/YY" />
                <TextField id="card-cvc" label="CVC" value=card.cvc
                    error=cvc_error autocomplete="cc-csc" inputmode="numeric" />
                <p class="field-hint">"Your card goes straight to our payment provider; we keep only its brand, last 4 digits and expiry."</p>
            </div>
        </Show>
        <div class="field" style="margin-top: var(--space-4)">
            <label for="ssh-key">"SSH public key"</label>
            <p class="field-hint" id="ssh-key-hint">"The contents of ~/.ssh/id_ed25519.pub (or an ECDSA or RSA public key)."</p>
            <textarea id="ssh-key" name="ssh-key" rows="3" spellcheck="false"
                aria-describedby=move || if ssh_error.with(Option::is_some) { "ssh-key-hint ssh-key-error" } else { "ssh-key-hint" }
                aria-invalid=move || ssh_error.with(Option::is_some).then_some("true")
                prop:value=move || ssh_key.get()
                on:input=move |ev| ssh_key.set(event_target_value(&ev))></textarea>
            {move || ssh_error.get().map(|m| view! { <p class="field-error" id="ssh-key-error">{m}</p> })}
        </div>
        {move || pending.get().then(|| view! { <p role="status">"Checking your card…"</p> })}
    }
}

#[component]
fn ReviewStep(
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
        LocalResource::new(move || {
            let token = token.clone();
            let request = request.clone();
            async move { api::quote(&token, &request).await }
        })
    };
    // Orders placed in a partner's embed earn the partner its share.
    let partner = StoredValue::new(embed::partner());
    // One key per attempt: a new quote is a new attempt.
    let attempt_key = RwSignal::new(new_idempotency_key());
    let place = Action::new_local(move |(key, request): &(String, OrderRequest)| {
        let key = key.clone();
        let request = request.clone();
        let token = token.clone();
        async move { api::place_order(&token, &key, &request).await }
    });
    let navigate = use_navigate();
    let offer_id = offer.id.clone();
    let prefix = embed::prefix();
    Effect::new(move |_| match place.value().get() {
        Some(Ok(order)) => {
            Draft::forget(&offer_id);
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
            navigate(
                &format!("{prefix}/orders/{}", api::encode(&order.id)),
                Default::default(),
            );
        }
        Some(Err(problem)) if problem.status == 402 => {
            draft.update(|d| d.payment_method_id = None);
            back_to_payment.run(());
        }
        Some(Err(problem)) if problem.status == 410 => {
            attempt_key.set(new_idempotency_key());
            quote.refetch();
        }
        _ => {}
    });
    let place_problem = move || {
        place
            .value()
            .get()
            .and_then(Result::err)
            .filter(|p| p.status != 402)
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
    view! {
        <Transition fallback=|| view! { <p aria-busy="true">"Getting your binding price…"</p> }>
            <ErrorBoundary fallback=move |errors| view! {
                <div class="alert alert-error" role="alert">
                    <p>{move || errors.with(|e| e.iter().next().map(|(_, e)| e.to_string()).unwrap_or_default())}</p>
                    <p>"Go back to change the size or count, or try again."</p>
                    <button class="button button-secondary" type="button" on:click=move |_| quote.refetch()>"Try again"</button>
                </div>
            }>
                {
                    let image_name = image_name.clone();
                    let tier = tier.clone();
                    move || {
                        let image_name = image_name.clone();
                        let tier = tier.clone();
                        Suspend::new(async move {
                            let quote: Quote = quote.await?;
                            let key = attempt_key.get_untracked();
                            let order = OrderRequest {
                                quote_id: quote.id.clone(),
                                payment_method_id: draft.with_untracked(|d| d.payment_method_id.clone().unwrap_or_default()),
                                ssh_public_key: draft.with_untracked(|d| d.ssh_public_key.trim().to_owned()),
                                partner_id: partner.get_value(),
                            };
                            let tier_text = tier.as_ref().map_or(quote.sla_tier.clone(), |t| {
                                format!("{} · {} availability · {}", t.name, format::percent_bp(t.availability_bp), credits_text(t))
                            });
                            Ok::<_, Problem>(view! {
                                <dl class=class>
                                    <dt class=class>"Image"</dt><dd>{image_name}</dd>
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
                                    <dd class=format!("total {class}")>{format!("{} (platform fee of {} / hour included)", format::eur(quote.estimated_month_cents), format::eur(quote.commission_hourly_cents))}</dd>
                                </dl>
                                <p class="field-hint">"Billed by the second while instances run. This price is held for 10 minutes."</p>
                                <FormAlert message=Signal::derive(place_problem) />
                                <button class=format!("button place {class}") type="button"
                                    disabled=move || pending.get()
                                    on:click=move |_| { place.dispatch((key.clone(), order.clone())); }>
                                    {move || if pending.get() { "Placing your order…" } else { "Place order" }}
                                </button>
                            })
                        })
                    }
                }
            </ErrorBoundary>
        </Transition>
    }
}

/// The placement choices, as the buyer reads them.
const PLACEMENTS: [(Placement, &str); 3] = [
    (Placement::Any, "Anywhere this offer has room"),
    (Placement::DistinctHosts, "Each instance on its own host"),
    (Placement::DistinctZones, "Each instance in its own zone"),
];

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

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl ada@laptop";

    #[test]
    fn each_step_says_what_is_missing() {
        let mut draft = Draft::default();
        assert!(draft.missing(1).is_some());
        draft.image_id = Some("debian-12".into());
        assert_eq!(draft.missing(1), None);
        assert!(draft.missing(2).is_some());
        draft.sla_tier = Some("gold".into());
        draft.flavor_id = Some("s1.small".into());
        draft.count = 0;
        assert!(draft.missing(3).is_some(), "zero instances");
        draft.count = 3;
        assert_eq!(draft.missing(3), None);
        draft.payment_method_id = Some("pm_1".into());
        assert!(draft.missing(4).is_some(), "no SSH key yet");
        draft.ssh_public_key = KEY.into();
        assert_eq!(draft.missing(4), None);
    }

    #[test]
    fn a_step_cannot_be_skipped_to() {
        let mut draft = Draft::default();
        assert_eq!(draft.reachable(5), 1);
        assert_eq!(draft.reachable(0), 1);
        draft.image_id = Some("debian-12".into());
        draft.sla_tier = Some("gold".into());
        assert_eq!(draft.reachable(5), 3);
        assert_eq!(draft.reachable(2), 2, "going back is always allowed");
        draft.flavor_id = Some("s1.small".into());
        assert_eq!(draft.reachable(4), 4);
        assert_eq!(draft.reachable(9), 4, "payment is still missing");
    }

    #[test]
    fn drafts_hold_no_card_data() {
        let json = serde_json::to_string(&Draft::default()).unwrap();
        for word in ["number", "cvc", "expiry", "card"] {
            assert!(!json.contains(word), "{json}");
        }
    }
}
