//! Instances' console output: the end of the serial log that each host's
//! agent sends when it changed, cleaned before it is stored (it is shown
//! to the buyer), and read back by the instance's buyer only.

use sparecloud_api::agent::{CONSOLE_TAIL_BYTES, ObservedInstance};
use sparecloud_api::instances::InstanceConsole;

use crate::clock::{Millis, rfc3339};
use crate::domain::instances;
use crate::error::AppResult;
use crate::state::AppState;

/// What may be stored of what an agent sent: control characters (terminal
/// escapes, carriage returns) but newlines and tabs dropped, and only the
/// last `CONSOLE_TAIL_BYTES`, cut at a character boundary.
pub fn clean(output: &str) -> String {
    let text: String = output
        .chars()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .collect();
    if text.len() <= CONSOLE_TAIL_BYTES {
        return text;
    }
    let mut start = text.len() - CONSOLE_TAIL_BYTES;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    text[start..].to_owned()
}

/// Stores the consoles a heartbeat carried, for instances on that host.
pub async fn record(
    state: &AppState,
    host_id: &str,
    observed: &[ObservedInstance],
    now: Millis,
) -> AppResult<()> {
    for seen in observed {
        let Some(output) = &seen.console else {
            continue;
        };
        let (on_host,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM instances WHERE id = $1 AND host_id = $2")
                .bind(&seen.id)
                .bind(host_id)
                .fetch_one(&state.db)
                .await?;
        if on_host == 0 {
            continue;
        }
        sqlx::query(
            "INSERT INTO instance_consoles (instance_id, output, updated_at_ms) VALUES ($1, $2, $3)
             ON CONFLICT (instance_id) DO UPDATE SET output = $2, updated_at_ms = $3",
        )
        .bind(&seen.id)
        .bind(clean(output))
        .bind(now)
        .execute(&state.db)
        .await?;
    }
    Ok(())
}

/// The console output of one of the buyer's instances (empty until its
/// host has sent some).
pub async fn read(state: &AppState, buyer_id: &str, id: &str) -> AppResult<InstanceConsole> {
    instances::load_owned(state, buyer_id, id).await?;
    let row: Option<(String, i64)> = sqlx::query_as(
        "SELECT output, updated_at_ms FROM instance_consoles WHERE instance_id = $1",
    )
    .bind(id)
    .fetch_optional(&state.db)
    .await?;
    Ok(match row {
        Some((output, at)) => InstanceConsole {
            output,
            updated_at: Some(rfc3339(at)),
        },
        None => InstanceConsole {
            output: String::new(),
            updated_at: None,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_clean_text_of_bounded_size_is_kept() {
        assert_eq!(
            clean("\x1b[31mred\x1b[0m\r\nnext\tline\n"),
            "[31mred[0m\nnext\tline\n"
        );
        let long = format!("{}é{}", "a".repeat(CONSOLE_TAIL_BYTES), "b".repeat(10));
        let kept = clean(&long);
        assert!(kept.len() <= CONSOLE_TAIL_BYTES);
        assert!(kept.ends_with("bbbbbbbbbb"));
    }
}
