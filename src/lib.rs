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
    // After the page's preloaded API answers are read, so the first view
    // renders with them (see `api::read_preloaded`).
    wasm_bindgen_futures::spawn_local(async {
        api::read_preloaded().await;
        leptos::mount::mount_to_body(app::App);
    });
}
