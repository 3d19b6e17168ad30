//! Labelled form fields with inline errors.

use leptos::prelude::*;

/// A labelled input. The error (when there is one) is announced and tied to
/// the input with `aria-describedby`.
#[component]
pub fn TextField(
    /// Unique on the page; also the input's name.
    id: &'static str,
    label: &'static str,
    value: RwSignal<String>,
    #[prop(into)] error: Signal<Option<String>>,
    #[prop(default = "text")] input_type: &'static str,
    #[prop(default = "off")] autocomplete: &'static str,
    #[prop(optional)] hint: Option<&'static str>,
    #[prop(optional)] inputmode: Option<&'static str>,
    #[prop(optional)] placeholder: Option<&'static str>,
    /// Called with the new text after each edit (the value is set first).
    #[prop(optional)]
    on_input: Option<Callback<String>>,
) -> impl IntoView {
    let error_id = format!("{id}-error");
    let hint_id = format!("{id}-hint");
    let described_by = {
        let error_id = error_id.clone();
        let hint_id = hint_id.clone();
        move || {
            let mut ids = Vec::new();
            if hint.is_some() {
                ids.push(hint_id.clone());
            }
            if error.with(Option::is_some) {
                ids.push(error_id.clone());
            }
            (!ids.is_empty()).then(|| ids.join(" "))
        }
    };
    view! {
        <div class="field">
            <label for=id>{label}</label>
            {hint.map(|hint| view! { <p class="field-hint" id=hint_id.clone()>{hint}</p> })}
            <input
                id=id
                name=id
                type=input_type
                autocomplete=autocomplete
                inputmode=inputmode
                placeholder=placeholder
                aria-invalid=move || error.with(Option::is_some).then_some("true")
                aria-describedby=described_by
                prop:value=move || value.get()
                on:input=move |ev| {
                    let text = event_target_value(&ev);
                    value.set(text.clone());
                    if let Some(on_input) = on_input {
                        on_input.run(text);
                    }
                }
            />
            {move || {
                error
                    .get()
                    .map(|message| {
                        view! {
                            <p class="field-error" id=error_id.clone()>
                                {message}
                            </p>
                        }
                    })
            }}
        </div>
    }
}

/// The email field of the sign-in and sign-up forms.
#[component]
pub fn EmailField(
    value: RwSignal<String>,
    #[prop(into)] error: Signal<Option<String>>,
) -> impl IntoView {
    view! {
        <TextField id="email" label="Email" value=value error=error input_type="email" autocomplete="email" />
    }
}

/// A problem from the API shown above a form.
#[component]
pub fn FormAlert(#[prop(into)] message: Signal<Option<String>>) -> impl IntoView {
    move || {
        message
            .get()
            .map(|message| view! { <div class="alert alert-error" role="alert">{message}</div> })
    }
}

/// The message the API gave for one field, if any.
pub fn field_message(problem: &sparecloud_api::Problem, field: &str) -> Option<String> {
    problem
        .errors
        .iter()
        .find(|e| e.field == field)
        .map(|e| e.message.clone())
}

/// A field's error: what the API said of `field` on the last attempt, or
/// else, once the form has been submitted, what `check` says of `value`.
pub fn field_error(
    problem: impl Fn() -> Option<sparecloud_api::Problem> + Send + Sync + 'static,
    field: &'static str,
    submitted: RwSignal<bool>,
    value: RwSignal<String>,
    check: impl Fn(&str) -> Result<(), String> + Send + Sync + 'static,
) -> Signal<Option<String>> {
    Signal::derive(move || {
        problem()
            .and_then(|p| field_message(&p, field))
            .or_else(|| {
                submitted
                    .get()
                    .then(|| value.with(|v| check(v)).err())
                    .flatten()
            })
    })
}

/// The form's alert for a problem that is not about one field (those show
/// next to their fields).
pub fn alert_message(
    problem: impl Fn() -> Option<sparecloud_api::Problem> + Send + Sync + 'static,
) -> Signal<Option<String>> {
    Signal::derive(move || {
        problem()
            .filter(|p| p.errors.is_empty())
            .map(|p| problem_message(&p))
    })
}

/// A problem as one sentence for an alert.
pub fn problem_message(problem: &sparecloud_api::Problem) -> String {
    match &problem.detail {
        Some(detail) => format!("{}. {detail}", problem.title.trim_end_matches('.')),
        None => problem.title.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sparecloud_api::{FieldError, Problem};

    #[test]
    fn problems_read_as_sentences_and_map_to_fields() {
        let mut problem = Problem::new("k", "Card declined", 402).with_detail("Try another card.");
        assert_eq!(
            problem_message(&problem),
            "Card declined. Try another card."
        );
        problem.detail = None;
        assert_eq!(problem_message(&problem), "Card declined");
        problem.errors.push(FieldError {
            field: "email".into(),
            message: "Taken.".into(),
        });
        assert_eq!(field_message(&problem, "email").as_deref(), Some("Taken."));
        assert_eq!(field_message(&problem, "password"), None);
    }
}
