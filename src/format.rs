//! Formatting for people: money in EUR for the user's locale, percentages,
//! sizes. Plain functions, tested natively; the locale-aware part uses the
//! browser's `Intl.NumberFormat`.

/// Cents as euros for the browser's locale ("€0.05", "0,05 €"). Prices per
/// hour are often below a cent's tenths, so up to 4 decimals are kept. (The
/// page's loader has made a formatter already, so the locale's data is
/// loaded: see scripts/trunk-post-build.sh.)
pub fn eur(cents: u64) -> String {
    #[cfg(target_arch = "wasm32")]
    {
        intl::eur(cents as f64 / 100.0).unwrap_or_else(|| eur_plain(cents))
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        eur_plain(cents)
    }
}

/// The locale-independent form: "€1,234.50".
pub fn eur_plain(cents: u64) -> String {
    let euros = cents / 100;
    let rest = cents % 100;
    let digits = euros.to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("€{grouped}.{rest:02}")
}

/// "2 vCPU · 4 GiB RAM · 40 GiB disk".
pub fn size(vcpu: u32, ram_gib: u32, disk_gib: u32) -> String {
    format!("{vcpu} vCPU · {ram_gib} GiB RAM · {disk_gib} GiB disk")
}

/// Basis points as a percentage: 9990 → "99.9 %", 10000 → "100 %".
/// Bytes on disk as people read them: "640 MiB", "1.5 GiB".
pub fn bytes(bytes: u64) -> String {
    const MIB: u64 = 1 << 20;
    const GIB: u64 = 1 << 30;
    if bytes >= GIB {
        format!("{:.1} GiB", bytes as f64 / GIB as f64)
    } else {
        format!("{} MiB", bytes.div_ceil(MIB))
    }
}

pub fn percent_bp(bp: u32) -> String {
    let whole = bp / 100;
    let frac = bp % 100;
    match frac {
        0 => format!("{whole} %"),
        f if f.is_multiple_of(10) => format!("{whole}.{} %", f / 10),
        f => format!("{whole}.{f:02} %"),
    }
}

/// Euros typed by a person ("0.25", "0,25", "€1") as cents.
pub fn parse_eur(value: &str) -> Option<u64> {
    let value = value
        .trim()
        .trim_start_matches('€')
        .trim()
        .replace(',', ".");
    if value.is_empty() {
        return None;
    }
    let (whole, frac) = value.split_once('.').unwrap_or((&value, ""));
    if frac.len() > 2
        || !whole
            .chars()
            .chain(frac.chars())
            .all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let frac: u64 = format!("{frac:0<2}").parse().ok()?;
    whole.checked_mul(100)?.checked_add(frac)
}

/// Cents as a plain decimal for an input field: 25 → "0.25".
pub fn cents_as_decimal(cents: u64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

#[cfg(target_arch = "wasm32")]
mod intl {
    use js_sys::{Array, Intl, Object, Reflect};
    use wasm_bindgen::JsValue;

    thread_local! {
        static FORMAT: Option<Intl::NumberFormat> = {
            let options = Object::new();
            let set = |k: &str, v: JsValue| Reflect::set(&options, &k.into(), &v).is_ok();
            let ok = set("style", "currency".into())
                && set("currency", "EUR".into())
                && set("minimumFractionDigits", 2.into())
                && set("maximumFractionDigits", 4.into());
            ok.then(|| Intl::NumberFormat::new(&Array::new(), &options))
        };
    }

    pub fn eur(euros: f64) -> Option<String> {
        FORMAT.with(|format| {
            let format = format.as_ref()?;
            format
                .format()
                .call1(format, &JsValue::from_f64(euros))
                .ok()?
                .as_string()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disk_use_reads_in_mib_then_gib() {
        assert_eq!(bytes(0), "0 MiB");
        assert_eq!(bytes(1), "1 MiB", "a little is not nothing");
        assert_eq!(bytes(640 << 20), "640 MiB");
        assert_eq!(bytes(3 << 29), "1.5 GiB");
    }

    #[test]
    fn euros_are_grouped_with_two_decimals() {
        assert_eq!(eur_plain(5), "€0.05");
        assert_eq!(eur_plain(123_456_789), "€1,234,567.89");
        assert_eq!(eur_plain(100_000), "€1,000.00");
    }

    #[test]
    fn sizes_read_in_one_line() {
        assert_eq!(size(2, 4, 40), "2 vCPU · 4 GiB RAM · 40 GiB disk");
    }

    #[test]
    fn percentages_drop_needless_zeros() {
        assert_eq!(percent_bp(9990), "99.9 %");
        assert_eq!(percent_bp(9995), "99.95 %");
        assert_eq!(percent_bp(10_000), "100 %");
        assert_eq!(percent_bp(9901), "99.01 %");
    }

    #[test]
    fn typed_euros_become_cents() {
        assert_eq!(parse_eur("0.25"), Some(25));
        assert_eq!(parse_eur("0,5"), Some(50));
        assert_eq!(parse_eur("€ 2"), Some(200));
        assert_eq!(parse_eur(".05"), Some(5));
        assert_eq!(parse_eur("1.234"), None);
        assert_eq!(parse_eur("abc"), None);
        assert_eq!(parse_eur(""), None);
        assert_eq!(cents_as_decimal(25), "0.25");
    }
}
