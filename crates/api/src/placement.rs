//! Placement: how an order's instances are kept apart (shared by quotes,
//! orders and instances).

use serde::{Deserialize, Serialize};

/// How an order's instances are spread over physical infrastructure. A
/// spread may use other sellers' offers of the same or a higher service
/// level when the chosen offer alone cannot meet it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Placement {
    /// Anywhere the chosen offer has room.
    #[default]
    Any,
    /// Each instance on a different host.
    DistinctHosts,
    /// Each instance in a different zone.
    DistinctZones,
}

impl Placement {
    pub fn as_str(self) -> &'static str {
        match self {
            Placement::Any => "any",
            Placement::DistinctHosts => "distinct_hosts",
            Placement::DistinctZones => "distinct_zones",
        }
    }

    pub fn parse(value: &str) -> Option<Placement> {
        [
            Placement::Any,
            Placement::DistinctHosts,
            Placement::DistinctZones,
        ]
        .into_iter()
        .find(|p| p.as_str() == value)
    }

    /// Whether instances must be kept apart.
    pub fn is_spread(self) -> bool {
        self != Placement::Any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placements_round_trip_through_their_names_and_json() {
        for placement in [
            Placement::Any,
            Placement::DistinctHosts,
            Placement::DistinctZones,
        ] {
            assert_eq!(Placement::parse(placement.as_str()), Some(placement));
            let json = serde_json::to_string(&placement).unwrap();
            assert_eq!(json, format!("\"{}\"", placement.as_str()));
        }
        assert_eq!(Placement::parse("spread"), None);
    }
}
