//! The account page's "API keys" section: make a key for a script or the
//! command line (name, access, expiry), see its secret once, list the keys
//! with their last use, and revoke one after a question.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use sparecloud_api::Problem;
use sparecloud_api::api_keys::{ApiKey, ApiKeyScope, CreateApiKeyRequest, CreatedApiKey};
use sparecloud_api::validate;

use crate::api;
use crate::components::confirm_dialog::AskFirst;
use crate::components::copy_button::CopyButton;
use crate::components::form::{FormAlert, TextField, alert_message, field_error, problem_message};
use crate::components::loaded::loaded;
use crate::resource::{ApiAction, ApiResource};
use crate::session::use_session;

/// "Read only" or "Full access".
fn scope_text(scope: ApiKeyScope) -> &'static str {
    match scope {
        ApiKeyScope::Read => "Read only",
        ApiKeyScope::Full => "Full access",
    }
}

/// The date part of an RFC 3339 time: "2027-02-16".
fn day(time: &str) -> String {
    time.get(..10).unwrap_or(time).to_owned()
}

#[component]
pub fn ApiKeys() -> impl IntoView {
    let session = use_session();
    let token = move || session.token().unwrap_or_default();
    let name = RwSignal::new(String::new());
    let scope = RwSignal::new(ApiKeyScope::Read);
    let days = RwSignal::new(90u32);
    let submitted = RwSignal::new(false);
    // The key just made: its secret is in that answer only.
    let created = RwSignal::new(None::<CreatedApiKey>);
    let create = ApiAction::new(move |request: &CreateApiKeyRequest| {
        let request = request.clone();
        let token = token();
        async move {
            let made = api::create_api_key(&token, &request).await;
            if let Ok(made) = &made {
                created.set(Some(made.clone()));
            }
            made
        }
    });
    let revoke = ApiAction::new(move |id: &String| {
        let id = id.clone();
        let token = token();
        async move { api::revoke_api_key(&token, &id).await }
    });
    let keys = ApiResource::new(move || {
        create.version().get();
        revoke.version().get();
        let token = token();
        async move { api::api_keys(&token).await }
    });
    let problem = move || create.value().and_then(Result::err);
    let name_error = field_error(problem, "name", submitted, name, |v| {
        validate::short_text(v, 64, "a name for this key")
    });
    let on_create = move |ev: SubmitEvent| {
        ev.prevent_default();
        submitted.set(true);
        if validate::short_text(&name.get_untracked(), 64, "a name").is_err() {
            return;
        }
        create.dispatch(CreateApiKeyRequest {
            name: name.get_untracked().trim().to_owned(),
            scope: scope.get_untracked(),
            expires_in_days: Some(days.get_untracked()),
        });
    };
    let revoke_problem = move || {
        revoke
            .value()
            .and_then(Result::err)
            .map(|p| problem_message(&p))
    };
    let confirming = RwSignal::new(None::<String>);
    view! {
        <section aria-labelledby="api-keys-heading" class="stack">
            <h2 id="api-keys-heading">"API keys"</h2>
            <p>"For scripts, CI and the sparecloud command line: send a key as "<code>"Authorization: Bearer sck_…"</code>". A read-only key can list and look, never order or change anything."</p>
            <form class="stack" on:submit=on_create novalidate aria-label="New API key">
                <FormAlert message=alert_message(problem) />
                <TextField id="api-key-name" label="Key name" value=name error=name_error hint="What it is for, such as CI deploys." />
                <div class="field">
                    <label for="api-key-scope">"Access"</label>
                    <select id="api-key-scope" on:change=move |ev| scope.set(
                        if event_target_value(&ev) == "full" { ApiKeyScope::Full } else { ApiKeyScope::Read })>
                        <option value="read" selected>"Read only"</option>
                        <option value="full">"Full access"</option>
                    </select>
                </div>
                <div class="field">
                    <label for="api-key-expiry">"Expires in"</label>
                    <select id="api-key-expiry" on:change=move |ev| days.set(event_target_value(&ev).parse().unwrap_or(90))>
                        <option value="30">"30 days"</option>
                        <option value="90" selected>"90 days"</option>
                        <option value="365">"1 year"</option>
                    </select>
                </div>
                <button class="button" type="submit" disabled=move || create.pending().get()>"Create API key"</button>
            </form>
            {move || created.get().map(|made| view! {
                <div class="alert alert-success stack" role="status">
                    <p><strong>{format!("Your new key \u{201c}{}\u{201d}.", made.key.name)}</strong>" Copy it now: it is shown only once."</p>
                    <pre><code aria-label="New API key secret">{made.secret.clone()}</code></pre>
                    <div class="actions-row">
                        <CopyButton text=made.secret.clone() label="Copy the API key" />
                    </div>
                </div>
            })}
            {move || revoke_problem().map(|m| view! { <p class="alert alert-error" role="alert">{m}</p> })}
            {loaded(keys, "Loading keys…", move |list| {
                if list.is_empty() {
                    view! { <p>"No API keys yet."</p> }.into_any()
                } else {
                    view! { <KeyTable list confirming revoke /> }.into_any()
                }
            })}
        </section>
    }
}

#[component]
fn KeyTable(
    list: Vec<ApiKey>,
    confirming: RwSignal<Option<String>>,
    revoke: ApiAction<String, Result<(), Problem>>,
) -> impl IntoView {
    view! {
        <div class="table-scroll">
            <table>
                <caption class="visually-hidden">"Your API keys"</caption>
                <thead><tr>
                    <th scope="col">"Name"</th><th scope="col">"Key"</th><th scope="col">"Access"</th>
                    <th scope="col">"Last used"</th><th scope="col">"Expires"</th>
                    <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                </tr></thead>
                <tbody>
                    {list.into_iter().map(|key| {
                        let id = key.id.clone();
                        let name = key.name.clone();
                        view! {
                            <tr>
                                <td>{key.name}</td>
                                <td><code>{format!("{}…", key.prefix)}</code></td>
                                <td>{scope_text(key.scope)}</td>
                                <td>{key.last_used_at.as_deref().map_or_else(|| "Never".to_owned(), day)}</td>
                                <td>{day(&key.expires_at)}</td>
                                <td>
                                    <AskFirst asking=confirming id=id.clone() text="Revoke" name=format!("Revoke {name}")
                                        label=format!("Confirm revoking {name}")
                                        question=format!("Revoke \u{201c}{name}\u{201d}? Scripts using it are refused from their next request.")
                                        action="Revoke key"
                                        on_confirm=Callback::new(move |()| { revoke.dispatch(id.clone()); }) />
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_read_with_their_access_and_dates() {
        assert_eq!(scope_text(ApiKeyScope::Read), "Read only");
        assert_eq!(scope_text(ApiKeyScope::Full), "Full access");
        assert_eq!(day("2027-02-16T11:06:40Z"), "2027-02-16");
    }
}
