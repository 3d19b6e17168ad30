//! Offer search: a query checked field by field, answered from this
//! process's `offer_index` as the JSON of an `OfferPage`.

use serde_json::value::RawValue;
use sparecloud_api::FieldError;
use sparecloud_api::offers::OfferQuery;

use crate::domain::offer_index::{Search, Unknown};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

const DEFAULT_PER_PAGE: u32 = 20;
const MAX_PER_PAGE: u32 = 100;
/// Far past the last page of any marketplace, and an offset that fits.
const MAX_PAGE: u32 = 1_000_000;

/// A page of listed offers matching `query`, serialized.
pub async fn offers(state: &AppState, query: &OfferQuery) -> AppResult<Vec<u8>> {
    let index = state.offer_index.snapshot(&state.db).await?;
    let search = Search {
        zone: query.zone.as_deref(),
        tier: query.sla.as_deref(),
        min_vcpu: query.min_vcpu,
        min_ram_gib: query.min_ram_gib,
        max_price_cents: query.max_price,
        image: query.image.as_deref(),
    };
    let mut errors = Vec::new();
    let filter = match index.filter(&search) {
        Ok(filter) => filter,
        Err(unknown) => {
            for what in unknown {
                errors.push(match what {
                    Unknown::Tier => FieldError {
                        field: "sla".into(),
                        message: format!(
                            "There is no service level called {:?}.",
                            search.tier.unwrap_or_default()
                        ),
                    },
                    Unknown::Image => FieldError {
                        field: "image".into(),
                        message: format!(
                            "There is no image called {:?}.",
                            search.image.unwrap_or_default()
                        ),
                    },
                });
            }
            None
        }
    };
    let per_page = query.per_page.unwrap_or(DEFAULT_PER_PAGE);
    if !(1..=MAX_PER_PAGE).contains(&per_page) {
        errors.push(FieldError {
            field: "per_page".into(),
            message: format!("Use 1 to {MAX_PER_PAGE} per page."),
        });
    }
    // Money is stored as i64 cents: a bound beyond that is no number of ours.
    if query
        .max_price
        .is_some_and(|cents| i64::try_from(cents).is_err())
    {
        errors.push(FieldError {
            field: "max_price".into(),
            message: "Enter a price in cents, at most 9223372036854775807.".into(),
        });
    }
    let page = query.page.unwrap_or(1);
    if !(1..=MAX_PAGE).contains(&page) {
        errors.push(FieldError {
            field: "page".into(),
            message: format!("Pages go from 1 to {MAX_PAGE}."),
        });
    }
    if !errors.is_empty() {
        return Err(AppError::validation(errors));
    }

    let (total, items) = match filter {
        Some(filter) => index.search(
            &filter,
            query.sort.unwrap_or_default(),
            u64::from(page - 1) * u64::from(per_page),
            per_page as usize,
        ),
        None => (0, Vec::new()),
    };
    // The offers' JSON is kept serialized in the index: the page is spliced
    // together, not serialized again. Same shape as `OfferPage`.
    #[derive(serde::Serialize)]
    struct PageJson<'a> {
        items: Vec<&'a RawValue>,
        total: u64,
        page: u32,
        per_page: u32,
    }
    let body = serde_json::to_vec(&PageJson {
        items: items.iter().map(AsRef::as_ref).collect(),
        total,
        page,
        per_page,
    })
    .map_err(|e| AppError::internal_from("serializing a page of offers", e))?;
    Ok(body)
}
