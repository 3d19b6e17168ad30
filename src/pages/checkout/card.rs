//! The new-card form: "Name on card" is ours; the card number, expiry and
//! CVC are typed into Stripe's card element, so they go from the browser
//! to Stripe and never through our code or our API.

use leptos::prelude::*;
use sparecloud_api::checkout::{PaymentMethod, SavePaymentMethod};
use sparecloud_api::problem::kinds;
use sparecloud_api::{FieldError, Problem, validate};

use crate::api::{self, ApiResult};
use crate::stripe_js::{self, CardElement, StripeJs};

/// The new card's state: the holder's name and the mounted card element.
#[derive(Clone, Copy)]
pub struct CardForm {
    pub holder: RwSignal<String>,
    element: StoredValue<Option<(StripeJs, CardElement)>, LocalStorage>,
}

impl CardForm {
    pub fn new() -> Self {
        CardForm {
            holder: RwSignal::new(String::new()),
            element: StoredValue::new_local(None),
        }
    }

    pub fn clear(&self) {
        self.holder.set(String::new());
    }

    pub fn holder_error(&self) -> Option<String> {
        validate::short_text(&self.holder.get_untracked(), 100, "the name on the card").err()
    }

    /// Sets the card up with Stripe (a SetupIntent from our API, confirmed
    /// by Stripe.js with what the buyer typed) and saves it.
    pub async fn save(&self, token: &str) -> ApiResult<PaymentMethod> {
        let Some((stripe, element)) = self.element.get_value() else {
            return Err(card_problem(
                "The card form has not loaded yet: wait a moment and try again.",
            ));
        };
        let holder_name = self.holder.get_untracked().trim().to_owned();
        let intent = api::create_setup_intent(token).await?;
        let setup_intent_id = stripe
            .confirm_card_setup(&intent.client_secret, &element, &holder_name)
            .await
            .map_err(|message| card_problem(&message))?;
        api::save_card(
            token,
            &SavePaymentMethod {
                setup_intent_id,
                holder_name,
            },
        )
        .await
    }
}

/// What Stripe said of the card, as a problem on the `card` field.
fn card_problem(message: &str) -> Problem {
    let mut problem =
        Problem::new(kinds::CARD_DECLINED, "Card not accepted", 402).with_detail(message);
    problem.errors = vec![FieldError {
        field: "card".into(),
        message: message.into(),
    }];
    problem
}

/// "Card": Stripe's card element, mounted when Stripe.js has loaded and
/// destroyed with the form.
#[component]
pub fn CardElementField(
    card: CardForm,
    #[prop(into)] error: Signal<Option<String>>,
) -> impl IntoView {
    let container = NodeRef::<leptos::html::Div>::new();
    // Loaded into signals by a task, not a resource: a resource read here
    // would suspend the checkout's <Transition> around it.
    let loading = RwSignal::new(true);
    let load_error = RwSignal::new(None::<String>);
    leptos::task::spawn_local(async move {
        let stripe = match api::payments_config().await {
            Ok(config) => stripe_js::load(&config).await,
            Err(problem) => Err(api_message(&problem)),
        };
        loading.try_set(false);
        let mounted = stripe.and_then(|stripe| {
            let div = container
                .get_untracked()
                .ok_or_else(|| "The card form is gone.".to_owned())?;
            let element = stripe.mount_card(&div)?;
            card.element.set_value(Some((stripe, element)));
            Ok(())
        });
        if let Err(message) = mounted {
            load_error.try_set(Some(message));
        }
    });
    on_cleanup(move || {
        if let Some((_, element)) = card.element.get_value() {
            element.destroy();
        }
        card.element.set_value(None);
    });
    view! {
        <div class="field">
            <span class="label" id="card-label">"Card"</span>
            <div id="card-element" class="card-element" role="group" aria-labelledby="card-label"
                aria-describedby="card-element-error" node_ref=container></div>
            {move || loading.get().then(|| view! { <p class="field-hint" role="status">"Loading the secure card form…"</p> })}
            {move || load_error.get().map(|m| view! { <p class="field-error" role="alert">{m}</p> })}
            {move || error.get().map(|m| view! { <p class="field-error" id="card-element-error">{m}</p> })}
        </div>
    }
}

fn api_message(problem: &Problem) -> String {
    crate::components::form::problem_message(problem)
}
