//! The seller's earnings per day as an inline SVG bar chart.

use leptos::prelude::*;
use sparecloud_api::seller::EarningsDay;
use stylers_macro::style;

use crate::format;

const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 160.0;
/// Room under the bars for the dates.
const LABELS: f64 = 20.0;

/// One day's bar, in the chart's coordinates.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub x: f64,
    pub width: f64,
    pub y: f64,
    pub height: f64,
    pub date: String,
    pub net_cents: u64,
}

/// Bars for `days` (oldest first) scaled to the largest net amount; a day
/// with nothing still gets a hairline so that it shows.
pub fn bars(days: &[EarningsDay], width: f64, height: f64) -> Vec<Bar> {
    let max = days.iter().map(|d| d.net_cents).max().unwrap_or(0).max(1) as f64;
    let slot = width / days.len().max(1) as f64;
    days.iter()
        .enumerate()
        .map(|(i, day)| {
            let h = (day.net_cents as f64 / max * height).max(1.0);
            // Bars stay slim when there are few days.
            let w = (slot * 0.7).min(48.0);
            Bar {
                x: i as f64 * slot + (slot - w) / 2.0,
                width: w,
                y: height - h,
                height: h,
                date: day.date.clone(),
                net_cents: day.net_cents,
            }
        })
        .collect()
}

/// Net earnings per day as an inline SVG bar chart, with a table-like text
/// alternative for screen readers.
#[component]
pub fn EarningsChart(days: Vec<EarningsDay>) -> impl IntoView {
    let class = style! {
        svg {
            width: 100%;
            height: auto;
            max-height: 14rem;
        }
        rect {
            fill: var(--color-accent);
        }
        text {
            fill: var(--color-text-muted);
            font-size: 11px;
        }
    };
    if days.is_empty() {
        return view! { <p>"No earnings yet: they appear here once buyers run instances on your hosts."</p> }.into_any();
    }
    let summary = days
        .iter()
        .map(|d| format!("{}: {}", d.date, format::eur(d.net_cents)))
        .collect::<Vec<_>>()
        .join("; ");
    let bars = bars(&days, WIDTH, HEIGHT - LABELS);
    let label_every = days.len().div_ceil(7);
    view! {
        <svg class=class viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img"
            aria-label=format!("Net earnings per day. {summary}")>
            {bars.into_iter().enumerate().map(|(i, bar)| {
                let label = (i % label_every == 0).then(|| view! {
                    <text class=class x=bar.x + bar.width / 2.0 y=HEIGHT - 4.0 text-anchor="middle">{bar.date.get(5..).unwrap_or_default().to_owned()}</text>
                });
                view! {
                    <rect class=class x=bar.x y=bar.y width=bar.width height=bar.height>
                        <title>{format!("{}: {}", bar.date, format::eur(bar.net_cents))}</title>
                    </rect>
                    {label}
                }
            }).collect_view()}
        </svg>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(date: &str, net: u64) -> EarningsDay {
        EarningsDay {
            date: date.into(),
            gross_cents: net,
            commission_cents: 0,
            net_cents: net,
        }
    }

    #[test]
    fn bars_scale_to_the_best_day_and_share_the_width() {
        let bars = bars(
            &[
                day("2026-11-01", 50),
                day("2026-11-02", 200),
                day("2026-11-03", 0),
            ],
            300.0,
            100.0,
        );
        assert_eq!(bars.len(), 3);
        assert_eq!(bars[1].height, 100.0);
        assert_eq!(bars[1].y, 0.0);
        assert_eq!(bars[0].height, 25.0);
        assert_eq!(bars[2].height, 1.0, "an empty day is a hairline");
        assert_eq!(bars[1].x, 126.0);
        assert_eq!(bars[1].width, 48.0);
        assert!(bars.iter().all(|b| b.x + b.width <= 300.0));
    }
}
