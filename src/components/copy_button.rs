//! A button that copies a text (a command, a token) to the clipboard and
//! says so.

use leptos::prelude::*;

/// Copies `text` to the clipboard and says so.
#[component]
pub fn CopyButton(text: String, #[prop(into)] label: String) -> impl IntoView {
    let copied = RwSignal::new(false);
    let copy = move |_| {
        if let Some(clipboard) = web_sys::window().map(|w| w.navigator().clipboard()) {
            let _ = clipboard.write_text(&text);
            copied.set(true);
        }
    };
    view! {
        <button class="button button-secondary" type="button" on:click=copy aria-label=label>
            {move || if copied.get() { "Copied" } else { "Copy" }}
        </button>
    }
}
