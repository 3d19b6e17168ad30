//! The buyer's choices so far, kept in sessionStorage per offer (never card
//! data), and which step they allow.

use serde::{Deserialize, Serialize};
use sparecloud_api::checkout::Placement;
use sparecloud_api::validate;

use super::{MAX_COUNT, REVIEW};

/// The buyer's choices so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Draft {
    pub image_id: Option<String>,
    pub sla_tier: Option<String>,
    pub flavor_id: Option<String>,
    pub count: u32,
    #[serde(default)]
    pub placement: Placement,
    #[serde(default)]
    pub auto_recover: bool,
    /// A saved card's id: the card itself never reaches this struct.
    pub payment_method_id: Option<String>,
    pub ssh_public_key: String,
}

impl Default for Draft {
    fn default() -> Self {
        Draft {
            image_id: None,
            sla_tier: None,
            flavor_id: None,
            count: 1,
            placement: Placement::Any,
            auto_recover: false,
            payment_method_id: None,
            ssh_public_key: String::new(),
        }
    }
}

impl Draft {
    /// What is missing before leaving `step` (1-based), if anything.
    pub fn missing(&self, step: usize) -> Option<&'static str> {
        match step {
            1 if self.image_id.is_none() => Some("Choose an image to continue."),
            2 if self.sla_tier.is_none() => Some("Choose a service level to continue."),
            3 if self.flavor_id.is_none() => Some("Choose a size to continue."),
            3 if !(1..=MAX_COUNT).contains(&self.count) => Some("Choose 1 to 20 instances."),
            4 if self.payment_method_id.is_none() => Some("Choose or add a card to continue."),
            4 if validate::ssh_public_key(&self.ssh_public_key).is_err() => {
                Some("Add a valid SSH public key to continue.")
            }
            _ => None,
        }
    }

    /// The furthest step the buyer may be on: the first with something
    /// missing, or `wanted` when everything before it is complete.
    pub fn reachable(&self, wanted: usize) -> usize {
        (1..wanted.clamp(1, REVIEW))
            .find(|&step| self.missing(step).is_some())
            .unwrap_or(wanted.clamp(1, REVIEW))
    }

    fn storage_key(offer_id: &str) -> String {
        format!("sparecloud.checkout.{offer_id}")
    }

    pub fn load(offer_id: &str) -> Draft {
        session_storage()
            .and_then(|s| s.get_item(&Draft::storage_key(offer_id)).ok().flatten())
            .and_then(|json| serde_json::from_str(&json).ok())
            .unwrap_or_default()
    }

    pub fn save(&self, offer_id: &str) {
        if let (Some(storage), Ok(json)) = (session_storage(), serde_json::to_string(self)) {
            let _ = storage.set_item(&Draft::storage_key(offer_id), &json);
        }
    }

    pub fn forget(offer_id: &str) {
        if let Some(storage) = session_storage() {
            let _ = storage.remove_item(&Draft::storage_key(offer_id));
        }
    }
}

fn session_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl ada@laptop";

    #[test]
    fn each_step_says_what_is_missing() {
        let mut draft = Draft::default();
        assert!(draft.missing(1).is_some());
        draft.image_id = Some("debian-12".into());
        assert_eq!(draft.missing(1), None);
        assert!(draft.missing(2).is_some());
        draft.sla_tier = Some("gold".into());
        draft.flavor_id = Some("s1.small".into());
        draft.count = 0;
        assert!(draft.missing(3).is_some(), "zero instances");
        draft.count = 3;
        assert_eq!(draft.missing(3), None);
        draft.payment_method_id = Some("pm_1".into());
        assert!(draft.missing(4).is_some(), "no SSH key yet");
        draft.ssh_public_key = KEY.into();
        assert_eq!(draft.missing(4), None);
    }

    #[test]
    fn a_step_cannot_be_skipped_to() {
        let mut draft = Draft::default();
        assert_eq!(draft.reachable(5), 1);
        assert_eq!(draft.reachable(0), 1);
        draft.image_id = Some("debian-12".into());
        draft.sla_tier = Some("gold".into());
        assert_eq!(draft.reachable(5), 3);
        assert_eq!(draft.reachable(2), 2, "going back is always allowed");
        draft.flavor_id = Some("s1.small".into());
        assert_eq!(draft.reachable(4), 4);
        assert_eq!(draft.reachable(9), 4, "payment is still missing");
    }

    #[test]
    fn drafts_hold_no_card_data() {
        let json = serde_json::to_string(&Draft::default()).unwrap();
        for word in ["number", "cvc", "expiry", "card"] {
            assert!(!json.contains(word), "{json}");
        }
    }
}
