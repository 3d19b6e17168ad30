//! The Sparecloud web app (Leptos, client-side rendered, built by Trunk).

pub mod api;
pub mod app;
pub mod components;
pub mod embed;
pub mod format;
pub mod pages;
pub mod resource;
pub mod session;
pub mod stripe_js;

/// Mounts the app on the page's body. Called by the binary's `main`.
pub fn start() {
    console_error_panic_hook::set_once();
    // A lazy page's code starts downloading first (`app::preload_section`);
    // the app mounts after the page's preloaded API answers are read, so
    // the first view renders with them (`api::read_preloaded`).
    if let Some(path) = web_sys::window().and_then(|w| w.location().pathname().ok()) {
        app::preload_section(&path);
    }
    wasm_bindgen_futures::spawn_local(async {
        api::read_preloaded().await;
        leptos::mount::mount_to_body(app::App);
    });
}
