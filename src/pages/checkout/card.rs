//! The card form: its fields, checked as the buyer types, and the request
//! that tokenises it. Cleared as soon as the card is saved.

use leptos::prelude::*;
use sparecloud_api::checkout::CardRequest;
use sparecloud_api::validate;

/// The year and month today, for card expiry checks.
fn this_month() -> (u32, u32) {
    let now = js_sys::Date::new_0();
    (now.get_full_year(), now.get_month() + 1)
}

/// The card form's fields; cleared as soon as the card is tokenised.
#[derive(Clone, Copy)]
pub struct CardForm {
    pub holder: RwSignal<String>,
    pub number: RwSignal<String>,
    pub expiry: RwSignal<String>,
    pub cvc: RwSignal<String>,
}

impl CardForm {
    pub fn new() -> Self {
        CardForm {
            holder: RwSignal::new(String::new()),
            number: RwSignal::new(String::new()),
            expiry: RwSignal::new(String::new()),
            cvc: RwSignal::new(String::new()),
        }
    }

    pub fn clear(&self) {
        for field in [self.holder, self.number, self.expiry, self.cvc] {
            field.set(String::new());
        }
    }

    pub fn brand(&self) -> Option<validate::CardBrand> {
        self.number
            .with(|n| validate::card_digits(n).and_then(|d| validate::card_brand(&d)))
    }

    pub fn errors(&self) -> CardErrors {
        let brand = self.brand();
        let (year, month) = this_month();
        CardErrors {
            holder: validate::short_text(&self.holder.get_untracked(), 100, "the name on the card")
                .err(),
            number: validate::card_number(&self.number.get_untracked()).err(),
            expiry: validate::parse_expiry(&self.expiry.get_untracked())
                .and_then(|(m, y)| validate::card_expiry(m, y, year, month))
                .err(),
            cvc: validate::cvc(&self.cvc.get_untracked(), brand).err(),
        }
    }

    pub fn request(&self) -> Option<CardRequest> {
        let (exp_month, exp_year) = validate::parse_expiry(&self.expiry.get_untracked()).ok()?;
        Some(CardRequest {
            holder_name: self.holder.get_untracked().trim().to_owned(),
            number: self.number.get_untracked(),
            exp_month,
            exp_year,
            cvc: self.cvc.get_untracked(),
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct CardErrors {
    pub holder: Option<String>,
    pub number: Option<String>,
    pub expiry: Option<String>,
    pub cvc: Option<String>,
}

impl CardErrors {
    pub fn any(&self) -> bool {
        self.holder.is_some()
            || self.number.is_some()
            || self.expiry.is_some()
            || self.cvc.is_some()
    }
}
