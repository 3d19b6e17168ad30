//! One published state of the offer index: per sort order a sorted array
//! of compact keys (split per zone too) and per offer its JSON, built from
//! the listed offers and patched with the ones changed since.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;

use serde_json::value::RawValue;
use sparecloud_api::offers::OfferSort;

use super::current_revision;
use crate::db::Pool;
use crate::domain::offers::{self, ListedOffer, Selection};

#[derive(Debug, Clone, Copy)]
struct Key {
    from_price_cents: u32,
    fit_disk_gib: u32,
    fit_vcpu: u16,
    fit_ram_gib: u16,
    zone: u16,
    tier: u8,
    slot: u32,
}

/// One listed offer.
#[derive(Clone)]
struct Entry {
    id: Arc<str>,
    json: Arc<RawValue>,
    created_at_ms: i64,
    uptime_bp: u32,
    key: Key,
}

/// A search, resolved against the index's catalog.
#[derive(Debug, Clone, Copy, Default)]
pub struct Filter {
    zone: Option<u16>,
    /// Matches when `key.tier & tier_mask == tier`: a mask of 0 matches all.
    tier: u8,
    tier_mask: u8,
    min_vcpu: u32,
    min_ram_gib: u32,
    min_disk_gib: u32,
    max_price_cents: u32,
}

impl Filter {
    /// Without branches (`&`, not `&&`), so that counting matches is a
    /// straight pass. The zone is not looked at: a zone's search passes over
    /// its own keys.
    #[inline]
    fn matches(&self, key: &Key) -> bool {
        (key.from_price_cents <= self.max_price_cents)
            & (u32::from(key.fit_vcpu) >= self.min_vcpu)
            & (u32::from(key.fit_ram_gib) >= self.min_ram_gib)
            & (key.fit_disk_gib >= self.min_disk_gib)
            & (key.tier & self.tier_mask == self.tier)
    }
}

/// The search parameters, as the API takes them.
#[derive(Debug, Default)]
pub struct Search<'a> {
    pub zone: Option<&'a str>,
    pub tier: Option<&'a str>,
    pub min_vcpu: Option<u32>,
    pub min_ram_gib: Option<u32>,
    pub max_price_cents: Option<u64>,
    pub image: Option<&'a str>,
}

/// What the catalog does not know, by query parameter.
#[derive(Debug, PartialEq, Eq)]
pub enum Unknown {
    Tier,
    Image,
}

/// The listed offers at one revision. Immutable: an update builds a new one
/// from the old, so searches never wait for it.
pub struct Snapshot {
    revision: i64,
    entries: Vec<Option<Entry>>,
    slots: HashMap<Arc<str>, u32>,
    zones: HashMap<String, u16>,
    tiers: HashMap<String, u8>,
    image_min_disk_gib: HashMap<String, u32>,
    by_price: View,
    by_newest: View,
    by_uptime: View,
}

/// The keys of the listed offers in one sort order, also split by zone: a
/// search in one zone passes over that zone's offers only.
#[derive(Default)]
struct View {
    all: Vec<Key>,
    by_zone: Vec<Vec<Key>>,
}

impl View {
    fn new(all: Vec<Key>, zones: usize) -> View {
        let mut by_zone = vec![Vec::new(); zones];
        for key in &all {
            by_zone[usize::from(key.zone)].push(*key);
        }
        View { all, by_zone }
    }
}

fn saturate<T: TryFrom<i64> + Copy>(value: i64, max: T) -> T {
    T::try_from(value.max(0)).unwrap_or(max)
}

impl Snapshot {
    pub(super) async fn load(db: &Pool) -> Result<Snapshot, sqlx::Error> {
        let revision = current_revision(db).await?;
        let tiers: Vec<(String,)> = sqlx::query_as("SELECT id FROM sla_tiers ORDER BY id")
            .fetch_all(db)
            .await?;
        let images: Vec<(String, i64)> = sqlx::query_as("SELECT id, min_disk_gib FROM images")
            .fetch_all(db)
            .await?;
        let listed = offers::load_listed(db, Selection::ListedChangedSince(i64::MIN)).await?;
        Ok(Snapshot::build(
            revision,
            tiers.into_iter().map(|(id,)| id).collect(),
            images,
            listed,
        ))
    }

    fn build(
        revision: i64,
        tiers: Vec<String>,
        images: Vec<(String, i64)>,
        listed: Vec<ListedOffer>,
    ) -> Snapshot {
        let mut snapshot = Snapshot {
            revision,
            entries: Vec::with_capacity(listed.len()),
            slots: HashMap::with_capacity(listed.len()),
            zones: HashMap::new(),
            tiers: tiers
                .into_iter()
                .enumerate()
                .map(|(i, id)| (id, i as u8))
                .collect(),
            image_min_disk_gib: images
                .into_iter()
                .map(|(id, disk)| (id, saturate(disk, u32::MAX)))
                .collect(),
            by_price: View::default(),
            by_newest: View::default(),
            by_uptime: View::default(),
        };
        let keys = snapshot.insert(listed);
        snapshot.sort_views(keys);
        snapshot
    }

    /// This snapshot with the offers stamped since it was taken reloaded.
    pub(super) async fn updated(self: &Arc<Self>, db: &Pool) -> Result<Arc<Snapshot>, sqlx::Error> {
        // Read the counter first: whatever is stamped up to it has committed,
        // and what commits after is reloaded again next time.
        let revision = current_revision(db).await?;
        if revision == self.revision {
            return Ok(self.clone());
        }
        let changed: Vec<(String,)> = sqlx::query_as("SELECT id FROM offers WHERE revision > $1")
            .bind(self.revision)
            .fetch_all(db)
            .await?;
        let listed = offers::load_listed(db, Selection::ListedChangedSince(self.revision)).await?;

        Ok(Arc::new(self.patched(revision, &changed, listed)))
    }

    /// A copy at `revision` where the offers `changed` are replaced by
    /// those of them still `listed`.
    fn patched(&self, revision: i64, changed: &[(String,)], listed: Vec<ListedOffer>) -> Snapshot {
        let mut next = Snapshot {
            revision,
            entries: self.entries.clone(),
            slots: self.slots.clone(),
            zones: self.zones.clone(),
            tiers: self.tiers.clone(),
            image_min_disk_gib: self.image_min_disk_gib.clone(),
            by_price: View::default(),
            by_newest: View::default(),
            by_uptime: View::default(),
        };
        let mut removed = 0;
        for (id,) in changed {
            if let Some(slot) = next.slots.remove(id.as_str()) {
                next.entries[slot as usize] = None;
                removed += 1;
            }
        }
        let added = next.insert(listed);
        let holes = next.entries.iter().filter(|e| e.is_none()).count();
        if holes > next.entries.len() / 2 {
            // Mostly holes: start again from the live entries.
            let live: Vec<Entry> = next.entries.drain(..).flatten().collect();
            next.slots.clear();
            let mut keys = Vec::with_capacity(live.len());
            for mut entry in live {
                entry.key.slot = next.entries.len() as u32;
                keys.push(entry.key);
                next.slots.insert(entry.id.clone(), entry.key.slot);
                next.entries.push(Some(entry));
            }
            next.sort_views(keys);
        } else {
            let zones = next.zones.len();
            let by_price = next.merged(&self.by_price.all, added.clone(), Snapshot::price_order);
            let by_newest = next.merged(&self.by_newest.all, added.clone(), Snapshot::newest_order);
            let by_uptime = next.merged(&self.by_uptime.all, added, Snapshot::uptime_order);
            next.by_price = View::new(by_price, zones);
            next.by_newest = View::new(by_newest, zones);
            next.by_uptime = View::new(by_uptime, zones);
        }
        tracing::debug!(
            revision,
            changed = changed.len(),
            removed,
            listed = next.slots.len(),
            "offer index updated"
        );
        next
    }

    /// Adds offers at new slots; returns their keys, unsorted.
    fn insert(&mut self, listed: Vec<ListedOffer>) -> Vec<Key> {
        let mut keys = Vec::with_capacity(listed.len());
        for offer in listed {
            let Some(&tier) = self.tiers.get(&offer.sla_tier) else {
                continue;
            };
            let next_zone = self.zones.len() as u16;
            let zone = *self.zones.entry(offer.zone.clone()).or_insert(next_zone);
            let slot = self.entries.len() as u32;
            let id: Arc<str> = offer.id.into();
            let key = Key {
                from_price_cents: saturate(offer.from_price_cents, u32::MAX),
                fit_disk_gib: saturate(offer.fit_disk_gib, u32::MAX),
                fit_vcpu: saturate(offer.fit_vcpu, u16::MAX),
                fit_ram_gib: saturate(offer.fit_ram_gib, u16::MAX),
                zone,
                tier,
                slot,
            };
            keys.push(key);
            self.slots.insert(id.clone(), slot);
            self.entries.push(Some(Entry {
                id,
                json: offer.json.into(),
                created_at_ms: offer.created_at_ms,
                uptime_bp: offer.uptime_bp,
                key,
            }));
        }
        keys
    }

    fn entry(&self, key: &Key) -> &Entry {
        self.entries[key.slot as usize]
            .as_ref()
            .expect("keys point at live entries")
    }

    /// Cheapest first; ties by id.
    fn price_order(&self, a: &Key, b: &Key) -> Ordering {
        let (ea, eb) = (self.entry(a), self.entry(b));
        a.from_price_cents
            .cmp(&b.from_price_cents)
            .then_with(|| ea.id.cmp(&eb.id))
    }

    /// Newest first; ties by id, descending.
    fn newest_order(&self, a: &Key, b: &Key) -> Ordering {
        let (ea, eb) = (self.entry(a), self.entry(b));
        eb.created_at_ms
            .cmp(&ea.created_at_ms)
            .then_with(|| eb.id.cmp(&ea.id))
    }

    /// Best measured uptime first, then cheapest, then by id.
    fn uptime_order(&self, a: &Key, b: &Key) -> Ordering {
        let (ea, eb) = (self.entry(a), self.entry(b));
        eb.uptime_bp
            .cmp(&ea.uptime_bp)
            .then_with(|| a.from_price_cents.cmp(&b.from_price_cents))
            .then_with(|| ea.id.cmp(&eb.id))
    }

    fn sort_views(&mut self, keys: Vec<Key>) {
        let zones = self.zones.len();
        self.by_price = View::new(self.sorted(keys.clone(), Snapshot::price_order), zones);
        self.by_newest = View::new(self.sorted(keys.clone(), Snapshot::newest_order), zones);
        self.by_uptime = View::new(self.sorted(keys, Snapshot::uptime_order), zones);
    }

    fn sorted(&self, mut keys: Vec<Key>, order: fn(&Self, &Key, &Key) -> Ordering) -> Vec<Key> {
        keys.sort_by(|a, b| order(self, a, b));
        keys
    }

    /// `old` without the keys of removed entries, merged with `added`.
    fn merged(
        &self,
        old: &[Key],
        added: Vec<Key>,
        order: fn(&Self, &Key, &Key) -> Ordering,
    ) -> Vec<Key> {
        let added = self.sorted(added, order);
        let mut out = Vec::with_capacity(old.len() + added.len());
        let mut added = added.into_iter().peekable();
        for key in old {
            if self.entries[key.slot as usize].is_none() {
                continue;
            }
            while let Some(new) = added.next_if(|new| order(self, new, key) == Ordering::Less) {
                out.push(new);
            }
            out.push(*key);
        }
        out.extend(added);
        out
    }

    /// The filter for `search`, or what in it the catalog does not know.
    /// `None` when nothing can match (a zone no offer is in).
    pub fn filter(&self, search: &Search) -> Result<Option<Filter>, Vec<Unknown>> {
        let mut unknown = Vec::new();
        let tier = match search.tier {
            Some(tier) => match self.tiers.get(tier) {
                Some(&tier) => Some(tier),
                None => {
                    unknown.push(Unknown::Tier);
                    None
                }
            },
            None => None,
        };
        let min_disk_gib = match search.image {
            Some(image) => match self.image_min_disk_gib.get(image) {
                Some(&disk) => disk,
                None => {
                    unknown.push(Unknown::Image);
                    0
                }
            },
            None => 0,
        };
        if !unknown.is_empty() {
            return Err(unknown);
        }
        let zone = match search.zone {
            Some(zone) => match self.zones.get(zone) {
                Some(&zone) => Some(zone),
                None => return Ok(None),
            },
            None => None,
        };
        Ok(Some(Filter {
            zone,
            tier: tier.unwrap_or(0),
            tier_mask: if tier.is_some() { u8::MAX } else { 0 },
            min_vcpu: search.min_vcpu.unwrap_or(0),
            min_ram_gib: search.min_ram_gib.unwrap_or(0),
            min_disk_gib,
            max_price_cents: search
                .max_price_cents
                .map_or(u32::MAX, |p| p.min(u64::from(u32::MAX)) as u32),
        }))
    }

    /// The total number of matches, and the JSON of those at
    /// `offset..offset + limit` in `sort` order.
    pub fn search(
        &self,
        filter: &Filter,
        sort: OfferSort,
        offset: u64,
        limit: usize,
    ) -> (u64, Vec<Arc<RawValue>>) {
        let view = match sort {
            OfferSort::PriceAsc | OfferSort::PriceDesc => &self.by_price,
            OfferSort::Newest => &self.by_newest,
            OfferSort::Uptime => &self.by_uptime,
        };
        let keys = match filter.zone {
            Some(zone) => &view.by_zone[usize::from(zone)],
            None => &view.all,
        };
        if sort == OfferSort::PriceDesc {
            self.scan(keys.iter().rev(), filter, offset, limit)
        } else {
            self.scan(keys.iter(), filter, offset, limit)
        }
    }

    /// Collects the page, then only counts the rest.
    fn scan<'k>(
        &self,
        mut keys: impl Iterator<Item = &'k Key>,
        filter: &Filter,
        offset: u64,
        limit: usize,
    ) -> (u64, Vec<Arc<RawValue>>) {
        let mut total = 0u64;
        let mut page = Vec::with_capacity(limit);
        for key in keys.by_ref() {
            if filter.matches(key) {
                if total >= offset {
                    page.push(self.entry(key).json.clone());
                }
                total += 1;
                if page.len() == limit {
                    break;
                }
            }
        }
        total += keys.filter(|key| filter.matches(key)).count() as u64;
        (total, page)
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator, so failures reproduce.
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self, below: u64) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (self.0 >> 33) % below
        }
    }

    fn offer(id: u64, rng: &mut Lcg) -> ListedOffer {
        let price = 5 + rng.next(40) as i64;
        ListedOffer {
            id: format!("off_{id:05}"),
            zone: format!("zone-{}", rng.next(3)),
            sla_tier: ["bronze", "silver", "gold"][rng.next(3) as usize].into(),
            created_at_ms: 1_000 + rng.next(50) as i64,
            uptime_bp: 9_900 + rng.next(3) as u32 * 50,
            from_price_cents: price,
            fit_vcpu: 1 << rng.next(5),
            fit_ram_gib: 2 << rng.next(5),
            fit_disk_gib: 20 << rng.next(4),
            json: RawValue::from_string(format!("{{\"id\":\"off_{id:05}\",\"p\":{price}}}"))
                .unwrap(),
        }
    }

    fn tiers() -> Vec<String> {
        vec!["bronze".into(), "gold".into(), "silver".into()]
    }

    fn images() -> Vec<(String, i64)> {
        vec![("debian-12".into(), 20), ("postgresql-16".into(), 80)]
    }

    fn copy(offer: &ListedOffer) -> ListedOffer {
        ListedOffer {
            id: offer.id.clone(),
            zone: offer.zone.clone(),
            sla_tier: offer.sla_tier.clone(),
            json: offer.json.clone(),
            ..*offer
        }
    }

    fn ids(snapshot: &Snapshot, search: &Search, sort: OfferSort) -> (u64, Vec<String>) {
        let Some(filter) = snapshot.filter(search).unwrap() else {
            return (0, Vec::new());
        };
        let (total, page) = snapshot.search(&filter, sort, 0, 1_000);
        let ids = page
            .iter()
            .map(|json| {
                let value: serde_json::Value = serde_json::from_str(json.get()).unwrap();
                value["id"].as_str().unwrap().to_owned()
            })
            .collect();
        (total, ids)
    }

    const SORTS: [OfferSort; 4] = [
        OfferSort::PriceAsc,
        OfferSort::PriceDesc,
        OfferSort::Newest,
        OfferSort::Uptime,
    ];

    #[test]
    fn filters_sorts_and_pages() {
        let mut rng = Lcg(7);
        let listed: Vec<ListedOffer> = (0..200).map(|i| offer(i, &mut rng)).collect();
        let expected: Vec<&ListedOffer> = listed
            .iter()
            .filter(|o| o.zone == "zone-1" && o.fit_vcpu >= 4 && o.from_price_cents <= 30)
            .collect();
        let snapshot = Snapshot::build(1, tiers(), images(), listed.iter().map(copy).collect());
        let search = Search {
            zone: Some("zone-1"),
            min_vcpu: Some(4),
            max_price_cents: Some(30),
            ..Search::default()
        };

        let (total, by_price) = ids(&snapshot, &search, OfferSort::PriceAsc);
        assert_eq!(total as usize, expected.len());
        let mut want = expected.clone();
        want.sort_by(|a, b| (a.from_price_cents, &a.id).cmp(&(b.from_price_cents, &b.id)));
        let want: Vec<String> = want.iter().map(|o| o.id.clone()).collect();
        assert_eq!(by_price, want);
        let (_, descending) = ids(&snapshot, &search, OfferSort::PriceDesc);
        assert_eq!(descending, want.iter().rev().cloned().collect::<Vec<_>>());

        // A page is a window of the whole order, with the same total.
        let filter = snapshot.filter(&search).unwrap().unwrap();
        let (page_total, page) = snapshot.search(&filter, OfferSort::PriceAsc, 2, 3);
        assert_eq!(page_total, total);
        assert_eq!(page.len(), 3.min(want.len().saturating_sub(2)));
        assert!(page[0].get().contains(&want[2]));

        // The image's minimum disk is a filter; unknown names are errors; an
        // unknown zone simply has nothing.
        let big = Search {
            image: Some("postgresql-16"),
            ..Search::default()
        };
        let (total, _) = ids(&snapshot, &big, OfferSort::Newest);
        assert_eq!(
            total as usize,
            listed.iter().filter(|o| o.fit_disk_gib >= 80).count()
        );
        let unknown = Search {
            tier: Some("platinum"),
            image: Some("windows"),
            ..Search::default()
        };
        assert_eq!(
            snapshot.filter(&unknown).unwrap_err(),
            [Unknown::Tier, Unknown::Image]
        );
        let nowhere = Search {
            zone: Some("mars-1a"),
            ..Search::default()
        };
        assert!(snapshot.filter(&nowhere).unwrap().is_none());
    }

    /// Updates patch the sorted arrays in place of rebuilding them: after
    /// any sequence of changes, every search answers as a fresh build would.
    #[test]
    fn patched_snapshots_answer_like_fresh_ones() {
        let mut rng = Lcg(42);
        let mut live: HashMap<u64, ListedOffer> =
            (0..300).map(|i| (i, offer(i, &mut rng))).collect();
        let mut snapshot = Snapshot::build(0, tiers(), images(), live.values().map(copy).collect());
        let mut next_id = 300;
        for round in 1..=40 {
            // Change a few offers, delist some, add new ones; every few
            // rounds change most of them, so that compaction runs too.
            let changes = if round % 10 == 0 { 250 } else { 12 };
            let mut changed = Vec::new();
            let mut listed = Vec::new();
            for _ in 0..changes {
                let id = rng.next(next_id + 5);
                let key = if id >= next_id {
                    next_id += 1;
                    next_id - 1
                } else {
                    id
                };
                let id = format!("off_{key:05}");
                // What the database holds last is what a reload sees.
                listed.retain(|o: &ListedOffer| o.id != id);
                changed.push((id,));
                if rng.next(4) == 0 {
                    live.remove(&key);
                } else {
                    let fresh = offer(key, &mut rng);
                    listed.push(copy(&fresh));
                    live.insert(key, fresh);
                }
            }
            snapshot = snapshot.patched(round, &changed, listed);
            let fresh =
                Snapshot::build(round, tiers(), images(), live.values().map(copy).collect());
            assert_eq!(snapshot.len(), live.len());
            for sort in SORTS {
                for search in [
                    Search::default(),
                    Search {
                        zone: Some("zone-2"),
                        tier: Some("gold"),
                        ..Search::default()
                    },
                    Search {
                        min_ram_gib: Some(8),
                        max_price_cents: Some(20),
                        ..Search::default()
                    },
                ] {
                    assert_eq!(
                        ids(&snapshot, &search, sort),
                        ids(&fresh, &search, sort),
                        "round {round}, {sort:?}, {search:?}"
                    );
                }
            }
        }
    }
}
