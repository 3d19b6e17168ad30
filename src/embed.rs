//! Partner embeds: the marketplace and checkout inside a partner's page
//! (`/embed/{partner}/…`), without the site chrome, themed from the
//! partner's config, telling the host page what happens with `postMessage`
//! sent only to the partner's allowed origins.

use std::cell::RefCell;

use leptos::prelude::*;
use serde_json::{Value, json};
use sparecloud_api::partners::EmbedConfig;
use stylers_macro::style;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;

use crate::api;
use crate::resource::ApiResource;

/// Shared through context by the app's shell.
#[derive(Clone, Copy)]
pub struct Embed {
    /// The partner, when the page is an embed.
    pub partner: Memo<Option<String>>,
}

thread_local! {
    /// Where events may go: the partner's allowed origins, once known.
    static ORIGINS: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// The partner of an embed path (`/embed/{partner}/…`).
pub fn partner_from_path(path: &str) -> Option<String> {
    let rest = path.strip_prefix("/embed/")?;
    let partner = rest.split('/').next().unwrap_or_default();
    (!partner.is_empty()).then(|| partner.to_owned())
}

/// The partner of the current page, if it is an embed.
pub fn partner() -> Option<String> {
    use_context::<Embed>().and_then(|e| e.partner.get_untracked())
}

/// The signed embed session the server put in an embed page's head: sent
/// with an order, it credits the partner.
pub fn session() -> Option<String> {
    partner()?;
    web_sys::window()?
        .document()?
        .query_selector(r#"meta[name="sparecloud-embed-session"]"#)
        .ok()??
        .get_attribute("content")
}

/// What app paths start with on this page: `/embed/{partner}` inside an
/// embed, nothing otherwise. Read it when a component is created.
pub fn prefix() -> String {
    partner()
        .map(|p| format!("/embed/{}", api::encode(&p)))
        .unwrap_or_default()
}

/// Sends `sparecloud:{kind}` to the host page, to each allowed origin (the
/// browser drops it unless the host page is at that origin).
pub fn post_event(kind: &str, detail: Value) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let Ok(Some(parent)) = window.parent() else {
        return;
    };
    if parent == window {
        return; // not framed
    }
    let mut message = json!({ "type": format!("sparecloud:{kind}") });
    if let (Some(message), Value::Object(detail)) = (message.as_object_mut(), detail) {
        message.extend(detail);
    }
    let Ok(message) = js_sys::JSON::parse(&message.to_string()) else {
        return;
    };
    ORIGINS.with(|origins| {
        for origin in origins.borrow().iter() {
            let _ = parent.post_message(&message, origin);
        }
    });
}

/// Tells the host page the content's height whenever it changes, so that
/// the loader sizes the iframe to it.
fn report_height() {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let Some(body) = document.body() else {
        return;
    };
    let last = std::rc::Rc::new(std::cell::Cell::new(-1.0_f64));
    let measured = body.clone();
    let on_resize = Closure::<dyn FnMut(js_sys::Array)>::new(move |_| {
        let height = measured.get_bounding_client_rect().height().ceil();
        if height != last.get() {
            last.set(height);
            post_event("resize", json!({ "height": height }));
        }
    });
    if let Ok(observer) = web_sys::ResizeObserver::new(on_resize.as_ref().unchecked_ref()) {
        observer.observe(&body);
    }
    // The observer lives as long as the page.
    on_resize.forget();
}

/// Applies the partner's theme: its accent colour for every component.
fn apply_theme(config: &EmbedConfig) {
    let Some(root) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
    else {
        return;
    };
    let _ = root.class_list().add_1("embedded");
    if let Some(root) = root.dyn_ref::<web_sys::HtmlElement>() {
        let _ = root
            .style()
            .set_property("--color-accent", &config.accent_color);
        let _ = root
            .style()
            .set_property("--color-accent-hover", &config.accent_color);
    }
}

/// The embed's slim header, in place of the site's, and its wiring.
#[component]
pub fn EmbedChrome() -> impl IntoView {
    let class = style! {
        header {
            display: flex;
            flex-wrap: wrap;
            justify-content: space-between;
            align-items: center;
            gap: var(--space-2);
            padding: var(--space-2) var(--space-4);
            border-bottom: 1px solid var(--color-border);
            font-size: var(--text-sm);
            color: var(--color-text-muted);
        }
        .brand {
            display: flex;
            align-items: center;
            gap: var(--space-2);
            color: var(--color-text);
            font-weight: 600;
        }
        img {
            height: 1.5rem;
        }
    };
    let partner = partner().unwrap_or_default();
    let config = ApiResource::new(move || {
        let partner = partner.clone();
        async move { api::embed_config(&partner).await }
    });
    Effect::new(move |done: Option<bool>| {
        if done == Some(true) {
            return true;
        }
        match config.get() {
            Some(Ok(config)) => {
                ORIGINS.with(|o| *o.borrow_mut() = config.allowed_origins.clone());
                apply_theme(&config);
                post_event("ready", json!({ "partner": config.id }));
                report_height();
                true
            }
            _ => false,
        }
    });
    view! {
        <header class=class>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match config.await {
                        Ok(c) => view! {
                            <span class=format!("brand {class}")>
                                {c.logo_url.map(|src| view! { <img class=class src=src alt="" /> })}
                                {format!("Cloud servers by {}", c.name)}
                            </span>
                        }.into_any(),
                        Err(_) => view! {
                            <span role="alert">"This partner is not set up with Sparecloud."</span>
                        }.into_any(),
                    }
                })}
            </Transition>
            <span>"Powered by Sparecloud"</span>
        </header>
    }
}

#[cfg(test)]
mod tests {
    use super::partner_from_path;

    #[test]
    fn embed_paths_name_their_partner() {
        assert_eq!(
            partner_from_path("/embed/acme/marketplace").as_deref(),
            Some("acme")
        );
        assert_eq!(partner_from_path("/embed/acme").as_deref(), Some("acme"));
        assert_eq!(partner_from_path("/embed/"), None);
        assert_eq!(partner_from_path("/marketplace"), None);
    }
}
