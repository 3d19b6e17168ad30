//! The question before a destructive action, asked in place.

use leptos::prelude::*;

/// Asks before a destructive action where it was started (an
/// `alertdialog` the page shows while it asks): the question, the button
/// that does it and Cancel. The page decides when it shows.
#[component]
pub fn ConfirmDialog(
    /// The dialog's accessible name, such as "Confirm removing Visa ending in 4242".
    #[prop(into)]
    label: String,
    #[prop(into)] question: String,
    /// The confirming button's text, such as "Remove card".
    #[prop(into)]
    action: String,
    on_confirm: Callback<()>,
    on_cancel: Callback<()>,
) -> impl IntoView {
    view! {
        <div role="alertdialog" aria-label=label>
            <p>{question}</p>
            <button class="button" type="button" on:click=move |_| on_confirm.run(())>{action}</button>
            " "
            <button class="button button-secondary" type="button" on:click=move |_| on_cancel.run(())>"Cancel"</button>
        </div>
    }
}

/// A button that asks before it acts, for each row of a list: a click opens
/// the row's [`ConfirmDialog`] beside it, and `asking` holds which row's is
/// open, so a list shows one question at a time.
#[component]
pub fn AskFirst(
    asking: RwSignal<Option<String>>,
    /// The row's id, as `asking` holds it.
    #[prop(into)]
    id: String,
    /// The button's text, such as "Remove".
    text: &'static str,
    /// The button's accessible name, such as "Remove Visa ending in 4242".
    #[prop(into)]
    name: String,
    #[prop(into)] label: String,
    #[prop(into)] question: String,
    #[prop(into)] action: String,
    /// Called once the question is answered yes.
    on_confirm: Callback<()>,
) -> impl IntoView {
    let open = {
        let id = id.clone();
        move || asking.with(|open| open.as_deref() == Some(id.as_str()))
    };
    view! {
        <button class="button button-secondary" type="button" aria-label=name
            on:click=move |_| asking.set(Some(id.clone()))>{text}</button>
        {move || open().then(|| view! {
            <ConfirmDialog label=label.clone() question=question.clone() action=action.clone()
                on_confirm=Callback::new(move |()| { asking.set(None); on_confirm.run(()); })
                on_cancel=Callback::new(move |()| asking.set(None)) />
        })}
    }
}
