//! Step 4: the card (a saved one, or a new one set up with Stripe)
//! and the buyer's SSH key. Its state lives in [`Payment`], which the
//! wizard owns so that its Continue button submits this step.

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;
use sparecloud_api::checkout::PaymentMethod;
use sparecloud_api::validate;

use super::card::{CardElementField, CardForm};
use super::{Draft, choice_class};
use crate::api::{self, ApiResult};
use crate::components::form::{FormAlert, TextField, alert_message, field_message};
use crate::components::loaded::loaded_or_default;
use crate::embed;
use crate::resource::{ApiAction, ApiResource};
use crate::session::use_session;

/// The payment step's form state and the action that saves a new card.
#[derive(Clone, Copy)]
pub(super) struct Payment {
    draft: RwSignal<Draft>,
    card: CardForm,
    use_new_card: RwSignal<bool>,
    /// Errors show once the buyer has tried to continue.
    submitted: RwSignal<bool>,
    add_card: ApiAction<(), ApiResult<PaymentMethod>>,
    on_done: Callback<()>,
}

impl Payment {
    /// `on_done` moves on once a card is chosen or saved.
    pub(super) fn new(draft: RwSignal<Draft>, on_done: Callback<()>) -> Self {
        let card = CardForm::new();
        let use_new_card = RwSignal::new(draft.with_untracked(|d| d.payment_method_id.is_none()));
        let session = use_session();
        let add_card = ApiAction::new(move |_: &()| {
            let token = session.token().unwrap_or_default();
            async move {
                let saved = card.save(&token).await;
                if let Ok(method) = &saved {
                    let id = method.id.clone();
                    // Once the action has stored the result: moving on
                    // unmounts the step.
                    queue_microtask(move || {
                        card.clear();
                        use_new_card.set(false);
                        draft.update(|d| d.payment_method_id = Some(id));
                        on_done.run(());
                    });
                }
                saved
            }
        });
        Payment {
            draft,
            card,
            use_new_card,
            submitted: RwSignal::new(false),
            add_card,
            on_done,
        }
    }

    /// The step is shown (again): a new card is asked for unless one is
    /// chosen (a declined card was dropped from the draft), and errors wait
    /// for the next Continue.
    fn enter(&self) {
        let has_card = self.draft.with_untracked(|d| d.payment_method_id.is_some());
        self.use_new_card.set(!has_card);
        self.submitted.set(false);
    }

    /// Continue: saves the new card (when one is being added) or goes on
    /// with the chosen one, once everything checks out.
    pub(super) fn submit(&self) {
        self.submitted.set(true);
        let ssh_ok = self
            .draft
            .with_untracked(|d| validate::ssh_public_key(&d.ssh_public_key).is_ok());
        if self.use_new_card.get_untracked() {
            if self.card.holder_error().is_some() || !ssh_ok {
                return;
            }
            self.add_card.dispatch(());
        } else if ssh_ok && self.draft.with_untracked(|d| d.payment_method_id.is_some()) {
            self.on_done.run(());
        }
    }
}

#[component]
pub(super) fn PaymentStep(draft: RwSignal<Draft>, payment: Payment) -> impl IntoView {
    let session = use_session();
    let signed_in = move || session.signed_in();
    view! {
        <Show when=signed_in fallback=move || view! { <SignInToPay /> }>
            <PaymentForm draft=draft payment=payment />
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
fn PaymentForm(draft: RwSignal<Draft>, payment: Payment) -> impl IntoView {
    let class = choice_class();
    let session = use_session();
    payment.enter();
    let Payment {
        card,
        use_new_card,
        submitted,
        add_card,
        ..
    } = payment;
    // Saved cards, reloaded whenever a card is added.
    let methods = ApiResource::new(move || {
        add_card.version().get();
        let token = session.token().unwrap_or_default();
        async move { api::payment_methods(&token).await }
    });
    let card_problem = move || add_card.value().and_then(Result::err);
    let holder_error = Signal::derive(move || {
        card_problem()
            .and_then(|p| field_message(&p, "holder_name"))
            .or_else(|| {
                submitted
                    .get()
                    .then(|| {
                        card.holder.track();
                        card.holder_error()
                    })
                    .flatten()
            })
    });
    let card_error = Signal::derive(move || card_problem().and_then(|p| field_message(&p, "card")));
    let ssh_error = Signal::derive(move || {
        submitted
            .get()
            .then(|| draft.with(|d| validate::ssh_public_key(&d.ssh_public_key).err()))
            .flatten()
    });
    let query = use_query_map();
    let declined = Memo::new(move |_| query.with(|q| q.get("declined")).is_some());

    let pending = add_card.pending();
    view! {
        {move || declined.get().then(|| view! {
            <div class="alert alert-error" role="alert">
                "Your card was declined and nothing was charged. Use another card; everything else is kept."
            </div>
        })}
        <FormAlert message=alert_message(card_problem) />
        {loaded_or_default(methods, "Loading your cards…", move |saved| {
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
            }).into_any()
        })}
        <Show when=move || use_new_card.get()>
            <div class="spaced-above stack card-form">
                <TextField id="card-holder" label="Name on card" value=card.holder
                    error=holder_error autocomplete="cc-name" />
                <CardElementField card=card error=card_error />
                <p class="field-hint">"Your card goes straight to our payment provider; we keep only its brand, last 4 digits and expiry."</p>
            </div>
        </Show>
        <div class="spaced-above field">
            <label for="ssh-key">"SSH public key"</label>
            <p class="field-hint" id="ssh-key-hint">"The contents of ~/.ssh/id_ed25519.pub (or an ECDSA or RSA public key)."</p>
            <textarea id="ssh-key" name="ssh-key" rows="3" spellcheck="false"
                aria-describedby=move || if ssh_error.with(Option::is_some) { "ssh-key-hint ssh-key-error" } else { "ssh-key-hint" }
                aria-invalid=move || ssh_error.with(Option::is_some).then_some("true")
                prop:value=move || draft.with(|d| d.ssh_public_key.clone())
                on:input=move |ev| draft.update(|d| d.ssh_public_key = event_target_value(&ev))></textarea>
            {move || ssh_error.get().map(|m| view! { <p class="field-error" id="ssh-key-error">{m}</p> })}
        </div>
        {move || pending.get().then(|| view! { <p role="status">"Checking your card…"</p> })}
    }
}
