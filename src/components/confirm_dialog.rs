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
