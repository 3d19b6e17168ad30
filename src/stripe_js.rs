//! Stripe.js, loaded from the URL our API names (`GET /payments/config`):
//! the card element, where the buyer types the card number, expiry and
//! CVC, and the confirmations that send them from the browser to Stripe.
//! None of it passes through our code: we hold the element, not its value.
//!
//! Called through `js_sys::Reflect` rather than typed bindings: the script
//! comes from another origin at run time, so there is nothing to link.

use js_sys::{Function, Object, Promise, Reflect};
use sparecloud_api::Problem;
use sparecloud_api::checkout::PaymentsConfig;
use sparecloud_api::problem::kinds;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// `Stripe(publishable_key)`, ready to make card elements.
#[derive(Clone)]
pub struct StripeJs {
    stripe: JsValue,
}

/// A mounted card element.
#[derive(Clone)]
pub struct CardElement {
    element: JsValue,
}

fn get(target: &JsValue, name: &str) -> Result<JsValue, String> {
    Reflect::get(target, &JsValue::from_str(name)).map_err(describe)
}

fn call(target: &JsValue, name: &str, args: &[JsValue]) -> Result<JsValue, String> {
    let function: Function = get(target, name)?
        .dyn_into()
        .map_err(|_| format!("Stripe.js has no {name}()"))?;
    let args: js_sys::Array = args.iter().collect();
    function.apply(target, &args).map_err(describe)
}

fn describe(error: JsValue) -> String {
    error
        .as_string()
        .or_else(|| {
            Reflect::get(&error, &JsValue::from_str("message"))
                .ok()
                .and_then(|m| m.as_string())
        })
        .unwrap_or_else(|| "Stripe.js failed".into())
}

fn set(target: &Object, name: &str, value: &JsValue) {
    let _ = Reflect::set(target, &JsValue::from_str(name), value);
}

/// Loads Stripe.js once per page and makes a `Stripe` for `config`.
pub async fn load(config: &PaymentsConfig) -> Result<StripeJs, String> {
    let window = web_sys::window().ok_or("no window")?;
    let global: JsValue = window.clone().into();
    if !get(&global, "Stripe")?.is_function() {
        let document = window.document().ok_or("no document")?;
        let script = document.create_element("script").map_err(describe)?;
        script
            .set_attribute("src", &config.js_url)
            .map_err(describe)?;
        let loaded = Promise::new(&mut |resolve, reject| {
            set(script.unchecked_ref(), "onload", &resolve);
            set(script.unchecked_ref(), "onerror", &reject);
        });
        document
            .head()
            .ok_or("no head")?
            .append_child(&script)
            .map_err(describe)?;
        JsFuture::from(loaded).await.map_err(|_| {
            "The payment form could not be loaded. Check your connection and reload the page."
                .to_owned()
        })?;
    }
    let stripe = call(
        &global,
        "Stripe",
        &[JsValue::from_str(&config.publishable_key)],
    )?;
    Ok(StripeJs { stripe })
}

/// What Stripe said when it refused: its message, for the buyer.
pub type StripeMessage = String;

impl StripeJs {
    /// Mounts a new card element in `container`.
    pub fn mount_card(&self, container: &web_sys::Element) -> Result<CardElement, String> {
        let elements = call(&self.stripe, "elements", &[])?;
        let options = Object::new();
        set(&options, "hidePostalCode", &JsValue::TRUE);
        let element = call(
            &elements,
            "create",
            &[JsValue::from_str("card"), options.into()],
        )?;
        call(&element, "mount", &[container.clone().into()])?;
        Ok(CardElement { element })
    }

    /// Confirms a SetupIntent with the card in `card` (Stripe asks the bank,
    /// with 3-D Secure if it wants): the SetupIntent's id, or Stripe's
    /// message.
    pub async fn confirm_card_setup(
        &self,
        client_secret: &str,
        card: &CardElement,
        holder_name: &str,
    ) -> Result<String, StripeMessage> {
        let billing = Object::new();
        set(&billing, "name", &JsValue::from_str(holder_name));
        let method = Object::new();
        set(&method, "card", &card.element);
        set(&method, "billing_details", &billing.into());
        let data = Object::new();
        set(&data, "payment_method", &method.into());
        let promise: Promise = call(
            &self.stripe,
            "confirmCardSetup",
            &[JsValue::from_str(client_secret), data.into()],
        )?
        .dyn_into()
        .map_err(|_| "Stripe.js answered oddly".to_owned())?;
        let result = JsFuture::from(promise).await.map_err(describe)?;
        refused(&result)?;
        get(&get(&result, "setupIntent")?, "id")?
            .as_string()
            .ok_or_else(|| "Stripe did not confirm the card".to_owned())
    }

    /// Lets the buyer's bank authenticate a payment (3-D Secure) that
    /// Stripe said needs it.
    pub async fn confirm_card_payment(&self, client_secret: &str) -> Result<(), StripeMessage> {
        let promise: Promise = call(
            &self.stripe,
            "confirmCardPayment",
            &[JsValue::from_str(client_secret)],
        )?
        .dyn_into()
        .map_err(|_| "Stripe.js answered oddly".to_owned())?;
        let result = JsFuture::from(promise).await.map_err(describe)?;
        refused(&result)
    }
}

/// When our API answered `payment-action-required` (3-D Secure), lets the
/// buyer's bank confirm the payment through Stripe.js; the caller then asks
/// our API again. A refusal comes back as a card problem.
pub async fn confirm_asked_payment(problem: &Problem) -> Result<(), Problem> {
    let refused = |message: String| {
        Problem::new(kinds::CARD_DECLINED, "Card not confirmed", 402).with_detail(message)
    };
    let config = crate::api::payments_config().await?;
    let stripe = load(&config).await.map_err(refused)?;
    let secret = problem.client_secret.as_deref().unwrap_or_default();
    stripe.confirm_card_payment(secret).await.map_err(refused)
}

/// Stripe.js answers `{error}` when the card or the bank refused.
fn refused(result: &JsValue) -> Result<(), StripeMessage> {
    let error = get(result, "error")?;
    if error.is_null() || error.is_undefined() {
        return Ok(());
    }
    Err(get(&error, "message")
        .ok()
        .and_then(|m| m.as_string())
        .unwrap_or_else(|| "Your card was declined.".into()))
}

impl CardElement {
    /// Removes the element (and whatever was typed into it).
    pub fn destroy(&self) {
        let _ = call(&self.element, "destroy", &[]);
    }
}
