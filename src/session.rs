//! The signed-in account. The session (token and account) is kept in
//! localStorage so that it survives reloads; sign-out revokes the token on
//! the server and forgets it here.

use std::future::Future;

use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_query_map};
use serde::{Deserialize, Serialize};
use sparecloud_api::accounts::{Account, Role, Session};

use crate::api::ApiResult;
use crate::resource::ApiAction;

const STORAGE_KEY: &str = "sparecloud.session";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredSession {
    pub token: String,
    pub account: Account,
}

/// Shared through context: `provide_context(SessionState::load())`.
#[derive(Debug, Clone, Copy)]
pub struct SessionState(RwSignal<Option<StoredSession>>);

impl SessionState {
    /// The session saved by an earlier visit, if any.
    pub fn load() -> Self {
        let stored = storage()
            .and_then(|s| s.get_item(STORAGE_KEY).ok().flatten())
            .and_then(|json| serde_json::from_str(&json).ok());
        SessionState(RwSignal::new(stored))
    }

    pub fn token(&self) -> Option<String> {
        self.0.with(|s| s.as_ref().map(|s| s.token.clone()))
    }

    pub fn account(&self) -> Option<Account> {
        self.0.with(|s| s.as_ref().map(|s| s.account.clone()))
    }

    pub fn signed_in(&self) -> bool {
        self.0.with(Option::is_some)
    }

    pub fn has_role(&self, role: Role) -> bool {
        self.0
            .with(|s| s.as_ref().is_some_and(|s| s.account.has_role(role)))
    }

    pub fn set(&self, session: Session) {
        let stored = StoredSession {
            token: session.token,
            account: session.account,
        };
        if let (Some(storage), Ok(json)) = (storage(), serde_json::to_string(&stored)) {
            let _ = storage.set_item(STORAGE_KEY, &json);
        }
        self.0.set(Some(stored));
    }

    pub fn clear(&self) {
        if let Some(storage) = storage() {
            let _ = storage.remove_item(STORAGE_KEY);
        }
        self.0.set(None);
    }
}

pub fn use_session() -> SessionState {
    expect_context::<SessionState>()
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// Where signing in leads: `?next=` when it is a path on this site, else
/// the marketplace (the embed's, inside one).
pub fn use_next() -> Memo<String> {
    let query = use_query_map();
    let home = format!("{}/marketplace", crate::embed::prefix());
    Memo::new(move |_| safe_next(query.with(|q| q.get("next")).as_deref(), &home))
}

/// The action of the sign-in and sign-up forms: `start` asks the API for a
/// session. Once the action has stored the answer (leaving unmounts the
/// page that owns it), a new session is kept and the visitor goes on to
/// `use_next()`.
pub fn start_session_action<R, F, Fut>(start: F) -> ApiAction<R, ApiResult<Session>>
where
    R: Clone + Send + Sync + 'static,
    F: Fn(R) -> Fut + 'static,
    Fut: Future<Output = ApiResult<Session>> + 'static,
{
    let session = use_session();
    let next = use_next();
    let navigate = StoredValue::new_local(use_navigate());
    ApiAction::new(move |request: &R| {
        let answer = start(request.clone());
        async move {
            let answer = answer.await;
            if let Ok(started) = &answer {
                let started = started.clone();
                queue_microtask(move || {
                    session.set(started);
                    navigate.with_value(|go| go(&next.get_untracked(), Default::default()));
                });
            }
            answer
        }
    })
}

/// Where to go after signing in: a path on this site, never another site;
/// `home` otherwise. `next` is resolved as the browser would resolve it
/// (which drops tabs and newlines and reads `\\` as `/`), and only kept
/// when the result is still on this origin.
pub fn safe_next(next: Option<&str>, home: &str) -> String {
    next.filter(|n| n.starts_with('/'))
        .and_then(path_on_this_site)
        .unwrap_or_else(|| home.to_owned())
}

/// An origin no link can name, to resolve `next` against.
const HERE: &str = "https://sparecloud.invalid/";

/// `next`'s path, query and fragment, if resolving it against this site
/// stays on this site. In the browser, by the browser's own URL parser: what
/// it checks is what it will navigate to (and the `url` crate's IDNA tables
/// stay out of the wasm: 164 KB of the buy flow's chunk).
#[cfg(target_arch = "wasm32")]
fn path_on_this_site(next: &str) -> Option<String> {
    let base = web_sys::Url::new(HERE).ok()?;
    let target = web_sys::Url::new_with_base(next, HERE).ok()?;
    (target.origin() == base.origin())
        .then(|| format!("{}{}{}", target.pathname(), target.search(), target.hash()))
}

/// Natively (the unit tests): the same WHATWG URL standard, as the `url`
/// crate implements it.
#[cfg(not(target_arch = "wasm32"))]
fn path_on_this_site(next: &str) -> Option<String> {
    let base = url::Url::parse(HERE).ok()?;
    let target = base.join(next).ok()?;
    (target.origin() == base.origin()).then(|| target[url::Position::BeforePath..].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(
            safe_next(Some("/checkout/off_1?step=4"), "/marketplace"),
            "/checkout/off_1?step=4"
        );
        assert_eq!(
            safe_next(Some("//evil.example"), "/marketplace"),
            "/marketplace"
        );
        assert_eq!(
            safe_next(Some("https://evil.example"), "/marketplace"),
            "/marketplace"
        );
        assert_eq!(
            safe_next(Some("/\\evil.example"), "/marketplace"),
            "/marketplace"
        );
        // A tab or newline is dropped by URL parsing: `/\t/evil` is `//evil`.
        for sneaky in [
            "/\t/evil.example",
            "/\n/evil.example",
            "/%09/evil.example",
            "/ /evil.example",
        ] {
            let decoded = sneaky.replace("%09", "\t");
            assert!(
                !safe_next(Some(&decoded), "/marketplace").starts_with("//"),
                "{sneaky:?}"
            );
        }
        assert_eq!(
            safe_next(Some("/\t/evil.example"), "/marketplace"),
            "/marketplace"
        );
        assert_eq!(safe_next(Some("javascript:alert(1)"), "/m"), "/m");
        assert_eq!(safe_next(None, "/marketplace"), "/marketplace");
    }
}
