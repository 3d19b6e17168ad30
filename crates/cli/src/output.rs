//! What people read: aligned tables, money, problems as sentences.

use sparecloud_api::Problem;

/// "Card declined: Try another card. (amount: too high)".
pub fn problem_text(problem: &Problem) -> String {
    let mut text = problem.title.trim_end_matches('.').to_owned();
    if let Some(detail) = &problem.detail {
        text.push_str(": ");
        text.push_str(detail);
    }
    for error in &problem.errors {
        text.push_str(&format!("\n  {}: {}", error.field, error.message));
    }
    text
}

/// Cents as euros: 1234 → "€12.34".
pub fn money(cents: u64) -> String {
    format!("€{}.{:02}", cents / 100, cents % 100)
}

/// Prints rows under a header, each column as wide as its widest cell.
pub fn table(header: &[&str], rows: &[Vec<String>]) {
    print!("{}", table_text(header, rows));
}

fn table_text(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    let mut text = line(header.to_vec());
    for row in rows {
        text.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    text
}

/// Prints `value` as pretty JSON (the `--json` output).
pub fn json<T: serde::Serialize>(value: &T) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).expect("API types serialise")
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_and_money_reads_as_euros() {
        let text = table_text(
            &["ID", "PRICE"],
            &[
                vec!["off_1".into(), money(5)],
                vec!["o".into(), money(123_456)],
            ],
        );
        assert_eq!(text, "ID     PRICE\noff_1  €0.05\no      €1234.56\n");
    }

    #[test]
    fn problems_read_as_one_message_with_their_fields() {
        let mut problem =
            Problem::new("k", "Invalid request.", 422).with_detail("2 fields are invalid.");
        problem.errors.push(sparecloud_api::FieldError {
            field: "count".into(),
            message: "Use 1 to 20.".into(),
        });
        assert_eq!(
            problem_text(&problem),
            "Invalid request: 2 fields are invalid.\n  count: Use 1 to 20."
        );
    }
}
