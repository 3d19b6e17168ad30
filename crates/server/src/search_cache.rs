//! Totals of offer searches, cached briefly. Counting the matches of a
//! filter scans every matching index entry (100,000 offers: milliseconds),
//! while the page itself is read straight off an index. So a total may lag
//! by up to `TTL_MS` behind another server process's changes; this
//! process's own changes to offers invalidate it at once.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::clock::Millis;

const TTL_MS: Millis = 2_000;
/// Distinct filter combinations kept; the cache is emptied when full.
const MAX_ENTRIES: usize = 4_096;

/// Bumped whenever offers' derived columns change (see
/// `capacity::refresh_offers`), which makes every cached total stale.
static GENERATION: AtomicU64 = AtomicU64::new(0);

pub fn invalidate() {
    GENERATION.fetch_add(1, Ordering::SeqCst);
}

#[derive(Default)]
pub struct SearchCache {
    totals: Mutex<HashMap<String, (Millis, u64, i64)>>,
}

impl SearchCache {
    pub fn total(&self, key: &str, now: Millis) -> Option<i64> {
        let generation = GENERATION.load(Ordering::SeqCst);
        let totals = self.totals.lock().ok()?;
        totals
            .get(key)
            .filter(|(at, seen_generation, _)| *seen_generation == generation && now - at < TTL_MS)
            .map(|(_, _, total)| *total)
    }

    /// Stores a total counted at `now` under the generation read before
    /// counting, so a change that lands meanwhile is not hidden.
    pub fn store(&self, key: String, generation: u64, now: Millis, total: i64) {
        if let Ok(mut totals) = self.totals.lock() {
            if totals.len() >= MAX_ENTRIES {
                totals.clear();
            }
            totals.insert(key, (now, generation, total));
        }
    }
}

pub fn generation() -> u64 {
    GENERATION.load(Ordering::SeqCst)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_expire_and_are_invalidated_by_changes() {
        let cache = SearchCache::default();
        cache.store("q".into(), generation(), 1_000, 42);
        assert_eq!(cache.total("q", 1_500), Some(42));
        assert_eq!(cache.total("q", 1_000 + TTL_MS), None, "expired");
        cache.store("q".into(), generation(), 5_000, 7);
        invalidate();
        assert_eq!(cache.total("q", 5_001), None, "an offer changed");
        assert_eq!(cache.total("other", 5_001), None);
    }
}
