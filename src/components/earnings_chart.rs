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

/// A day's net earnings: a day with use that has not yet added up to a
/// cent says so instead of "€0.00".
pub fn day_amount(net_cents: u64, gross_cents: u64) -> String {
    match (net_cents, gross_cents) {
        (0, 0) => "less than €0.01 (a few seconds of use)".into(),
        (0, _) => "less than €0.01".into(),
        (cents, _) => format::eur(cents),
    }
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
        .map(|d| format!("{}: {}", d.date, day_amount(d.net_cents, d.gross_cents)))
        .collect::<Vec<_>>()
        .join("; ");
    let gross: std::collections::HashMap<String, u64> = days
        .iter()
        .map(|d| (d.date.clone(), d.gross_cents))
        .collect();
    let top = days.iter().map(|d| d.net_cents).max().unwrap_or(0);
    let scale = if top == 0 {
        "Scale: every day so far is under €0.01".to_owned()
    } else {
        format!("Scale: the tallest bar is {}", format::eur(top))
    };
    let bars = bars(&days, WIDTH, HEIGHT - LABELS);
    let label_every = days.len().div_ceil(7);
    view! {
        <p class="field-hint">{scale.clone()}</p>
        <svg class=class viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img"
            aria-label=format!("Net earnings per day. {scale}. {summary}")>
            {bars.into_iter().enumerate().map(|(i, bar)| {
                let label = (i % label_every == 0).then(|| view! {
                    <text class=class x=bar.x + bar.width / 2.0 y=HEIGHT - 4.0 text-anchor="middle">{bar.date.get(5..).unwrap_or_default().to_owned()}</text>
                });
                view! {
                    <rect class=class x=bar.x y=bar.y width=bar.width height=bar.height>
                        <title>{format!("{}: {}", bar.date, day_amount(bar.net_cents, gross.get(&bar.date).copied().unwrap_or_default()))}</title>
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
