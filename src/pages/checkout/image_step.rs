//! Step 1: the VM image. Images the offer's hosts cannot run are shown
//! but cannot be chosen, and say why.

use leptos::prelude::*;
use sparecloud_api::catalog::Image;

use super::Draft;
use super::choice_class;

#[component]
pub(super) fn ImageStep(
    draft: RwSignal<Draft>,
    images: Vec<Image>,
    /// What the offer's hosts can run (`None`: any).
    runnable: Option<Vec<String>>,
) -> impl IntoView {
    let class = choice_class();
    view! {
        <fieldset class=format!("choices {class}")>
            <legend class="visually-hidden">"Image"</legend>
            {images
                .into_iter()
                .map(|image| {
                    let id = image.id.clone();
                    let runs = runnable.as_ref().is_none_or(|r| r.contains(&id));
                    let checked = {
                        let id = id.clone();
                        move || draft.with(|d| d.image_id.as_deref() == Some(id.as_str()))
                    };
                    view! {
                        <label class=format!("choice {class}")>
                            <input type="radio" name="image" value=id.clone() prop:checked=checked disabled=!runs
                                on:change=move |_| draft.update(|d| d.image_id = Some(id.clone())) />
                            <span class=format!("title {class}")>{image.name}</span>
                            <span class=format!("detail {class}")>
                                {if runs {
                                    format!("{} · needs {} GiB disk", image.description, image.min_disk_gib)
                                } else {
                                    "This seller's hosts cannot run this image.".to_owned()
                                }}
                            </span>
                        </label>
                    }
                })
                .collect_view()}
        </fieldset>
    }
}
