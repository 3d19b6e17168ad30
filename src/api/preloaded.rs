//! The API answers that the server preloaded with the page, read before
//! the app mounts and given to the first requests for them.

use std::cell::RefCell;

use futures::future::join_all;
use gloo_net::http::Request;
use sparecloud_api::API_PREFIX;
use wasm_bindgen::JsCast;

use super::{Answer, exchange};

thread_local! {
    /// By URL, each given out once: a later visit to the same page asks
    /// the server again. (A few entries: a Vec, not a HashMap, whose
    /// hasher would add 1.2 KiB to the main wasm.)
    static PRELOADED: RefCell<Vec<(String, Answer)>> = const { RefCell::new(Vec::new()) };
}

/// The preloaded answer for `url`, if there is one still to give.
pub(super) fn take(url: &str) -> Option<Answer> {
    PRELOADED.with_borrow_mut(|preloaded| {
        let index = preloaded
            .iter()
            .position(|(preloaded_url, _)| preloaded_url == url)?;
        Some(preloaded.swap_remove(index).1)
    })
}

/// Reads the API answers that the server preloaded with the page (its
/// `Link: rel=preload` headers, the server's `http/preload.rs`) and that
/// have arrived, before the app mounts. The first view then renders with
/// its data at once, in the same frame as the site's chrome; otherwise the
/// browser lays out and paints a skeleton first and the data a task later
/// (25–40 ms of a fresh marketplace load, measured in a trace). Reading them
/// costs no request: the browser answers from the preload. A preload still
/// on its way is left to the page's own request, which it also answers.
pub async fn read() {
    let Some(window) = web_sys::window() else {
        return;
    };
    let (Some(performance), Ok(origin)) = (window.performance(), window.location().origin()) else {
        return;
    };
    let urls: Vec<String> = performance
        .get_entries_by_type("resource")
        .iter()
        .filter_map(|entry| entry.dyn_into::<web_sys::PerformanceResourceTiming>().ok())
        .filter(|entry| entry.initiator_type() == "link")
        .filter_map(|entry| Some(entry.name().strip_prefix(&origin)?.to_owned()))
        .filter(|path| path.starts_with(API_PREFIX))
        .collect();
    // Together: each answer costs the main thread a task to receive.
    let answers = join_all(urls.into_iter().map(|url| async move {
        let answer = exchange(Request::get(&url), None, None).await.ok()?;
        Some((url, answer))
    }))
    .await;
    PRELOADED.with_borrow_mut(|preloaded| preloaded.extend(answers.into_iter().flatten()));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(body: &str) -> Answer {
        Answer {
            status: 200,
            body: body.to_owned(),
        }
    }

    #[test]
    fn each_preloaded_answer_is_given_once_and_only_for_its_url() {
        PRELOADED.with_borrow_mut(|preloaded| {
            preloaded.push(("/api/v1/offers".into(), answer("offers")));
            preloaded.push(("/api/v1/sla-tiers".into(), answer("tiers")));
        });
        assert_eq!(take("/api/v1/images"), None);
        assert_eq!(take("/api/v1/offers"), Some(answer("offers")));
        assert_eq!(take("/api/v1/offers"), None, "the next visit asks again");
        assert_eq!(take("/api/v1/sla-tiers"), Some(answer("tiers")));
    }
}
