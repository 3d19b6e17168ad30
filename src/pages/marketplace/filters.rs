//! The marketplace's filters ⇄ the URL query: pure, so the round trip is
//! tested without a browser.

use leptos_router::params::ParamsMap;

use crate::api;

/// The marketplace's filters, sort and page: what the URL query holds, so a
/// copied link shows the same offers and Back/Forward walk the history.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    pub zone: Option<String>,
    pub sla: Option<String>,
    pub min_vcpu: Option<u32>,
    pub min_ram_gib: Option<u32>,
    /// Cents per hour.
    pub max_price: Option<u64>,
    pub image: Option<String>,
    pub sort: Option<String>,
    pub page: u32,
}

pub const SORTS: [(&str, &str); 4] = [
    ("price_asc", "Price: low to high"),
    ("price_desc", "Price: high to low"),
    ("newest", "Newest"),
    ("uptime", "Measured uptime"),
];

impl Filters {
    /// Reads what it knows from a query, ignoring what it cannot read.
    pub fn from_pairs<'a>(get: impl Fn(&str) -> Option<&'a str>) -> Filters {
        let text = |k: &str| {
            get(k)
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let number = |k: &str| get(k).and_then(|v| v.trim().parse().ok());
        Filters {
            zone: text("zone"),
            sla: text("sla"),
            min_vcpu: number("min_vcpu").filter(|&n: &u32| n > 0),
            min_ram_gib: number("min_ram_gib").filter(|&n: &u32| n > 0),
            max_price: get("max_price").and_then(|v| v.trim().parse().ok()),
            image: text("image"),
            sort: text("sort").filter(|s| SORTS.iter().any(|(id, _)| id == s)),
            page: number("page").filter(|&p: &u32| p > 0).unwrap_or(1),
        }
    }

    pub fn from_params(params: &ParamsMap) -> Filters {
        Filters::from_pairs(|k| params.get_str(k))
    }

    /// The query string, in a fixed order, without defaults.
    pub fn to_query(&self) -> String {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        let mut push = |k, v: Option<String>| {
            if let Some(v) = v {
                pairs.push((k, v));
            }
        };
        push("zone", self.zone.clone());
        push("sla", self.sla.clone());
        push("min_vcpu", self.min_vcpu.map(|n| n.to_string()));
        push("min_ram_gib", self.min_ram_gib.map(|n| n.to_string()));
        push("max_price", self.max_price.map(|n| n.to_string()));
        push("image", self.image.clone());
        push("sort", self.sort.clone());
        push("page", (self.page > 1).then(|| self.page.to_string()));
        pairs
            .into_iter()
            .map(|(k, v)| format!("{k}={}", api::encode(&v)))
            .collect::<Vec<_>>()
            .join("&")
    }

    /// This view's link; `prefix` is the embed's (see `embed::prefix`).
    pub fn href(&self, prefix: &str) -> String {
        match self.to_query() {
            q if q.is_empty() => format!("{prefix}/marketplace"),
            q => format!("{prefix}/marketplace?{q}"),
        }
    }

    /// How many filters narrow the offers (sort and page aside).
    pub fn active_count(&self) -> usize {
        [
            self.zone.is_some(),
            self.sla.is_some(),
            self.min_vcpu.is_some(),
            self.min_ram_gib.is_some(),
            self.max_price.is_some(),
            self.image.is_some(),
        ]
        .into_iter()
        .filter(|on| *on)
        .count()
    }

    pub fn is_filtered(&self) -> bool {
        Filters {
            sort: None,
            page: 1,
            ..self.clone()
        } != Filters {
            page: 1,
            ..Filters::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(query: &str) -> Filters {
        let pairs: Vec<(&str, &str)> = query.split('&').filter_map(|p| p.split_once('=')).collect();
        Filters::from_pairs(|k| pairs.iter().find(|(key, _)| *key == k).map(|(_, v)| *v))
    }

    #[test]
    fn filters_round_trip_through_the_url() {
        let query = "zone=eu-west-1a&sla=gold&min_vcpu=4&min_ram_gib=8&max_price=25&image=lamp&sort=newest&page=3";
        let filters = parse(query);
        assert_eq!(filters.min_vcpu, Some(4));
        assert_eq!(filters.max_price, Some(25));
        assert_eq!(filters.to_query(), query);
        assert!(filters.is_filtered());
    }

    #[test]
    fn unreadable_values_and_defaults_are_dropped() {
        let filters = parse("min_vcpu=lots&page=0&sort=cheapest&zone=&max_price=-1");
        assert_eq!(
            filters,
            Filters {
                page: 1,
                ..Filters::default()
            }
        );
        assert_eq!(filters.href(""), "/marketplace");
        assert_eq!(filters.href("/embed/acme"), "/embed/acme/marketplace");
        assert!(!parse("sort=newest&page=2").is_filtered());
    }
}
