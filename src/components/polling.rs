//! Live updates by polling: a ticker that resources read.

use std::time::Duration;

use leptos::prelude::*;

/// A counter that ticks every `every` while the calling component lives:
/// resources that read it reload on each tick (live updates by polling).
pub fn use_ticker(every: Duration) -> ReadSignal<u64> {
    let (tick, set_tick) = signal(0u64);
    if let Ok(handle) = set_interval_with_handle(move || set_tick.update(|t| *t += 1), every) {
        on_cleanup(move || handle.clear());
    }
    tick
}
