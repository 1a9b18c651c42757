//! Numbers for people: the one way the human-readable outputs (tables, markdown, the report
//! page, listings) write an `f64`. JSON and CSV never go through here: they keep every digit.
//!
//! The rule (one threshold everywhere, 10^12):
//!
//! - **Money** ([`fmt_usd`], units starting with `$`): below $1 four significant digits
//!   (`$0.5614`); below $1,000 with cents (`$2.50`, `$12.00`); below $10^12 whole
//!   dollars with thousands separators (`$37,905,301,665`); from $10^12 three significant
//!   digits and `T` for trillion (`$1.23T`); from $10^15 scientific (`$1.23e15`).
//! - **Counts** ([`fmt_count`]: configurations, accelerators, homes, accelerator-hours):
//!   whole numbers with thousands separators below 10^12 (`183,600,000`); from 10^12 three
//!   significant digits and an SI prefix with a space (`1.23 T`, `45.6 P`, `7.89 E`); from
//!   10^21 scientific (`1.23e21`).
//! - **Other quantities** ([`fmt_num`]): whole numbers as whole numbers, others rounded to
//!   whole from 10^6, one decimal from 1,000 and up to six decimals below, all with thousands
//!   separators below 10^12 (`67,521,172,567`, `305,659.5`, `0.899653`); from 10^12, and
//!   below 10^-3, scientific (`6.7521e13`).
//!
//! [`fmt_value`] picks the rule from a unit (the parameter and metric tables' units) and
//! writes the unit after the number: `$2.50/h`, `247,093 accelerators`, `498.213616 MW`.

/// Units whose values are counts (whole things), written by [`fmt_count`].
pub const COUNT_UNITS: [&str; 5] = [
    "accelerators",
    "US homes",
    "accelerator-hours",
    "configurations",
    "configurations/s",
];

/// Non-finite values: `n/a`, `inf`, `-inf`.
fn non_finite(x: f64) -> Option<String> {
    if x.is_finite() {
        None
    } else if x.is_nan() {
        Some("n/a".into())
    } else if x > 0.0 {
        Some("inf".into())
    } else {
        Some("-inf".into())
    }
}

/// Thousands separators in the integer part of a plain decimal number (`-1234.5` →
/// `-1,234.5`).
pub fn group_thousands(plain: &str) -> String {
    let (sign, rest) = match plain.strip_prefix('-') {
        Some(r) => ("-", r),
        None => ("", plain),
    };
    let (int, frac) = match rest.find('.') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let mut out = String::with_capacity(plain.len() + int.len() / 3);
    out.push_str(sign);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out.push_str(frac);
    out
}

/// `x` with three significant digits (`1.23`, `45.6`, `789`), for values in [1, 1000).
fn three_digits(x: f64) -> String {
    let a = x.abs();
    if a >= 99.95 {
        format!("{x:.0}")
    } else if a >= 9.995 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

/// Scientific with three significant digits (`1.23e21`).
fn sci3(x: f64) -> String {
    format!("{x:.2e}")
}

/// A count for people: `183,600,000`, `1.23 T` (see the module rule).
pub fn fmt_count(x: f64) -> String {
    if let Some(s) = non_finite(x) {
        return s;
    }
    let r = x.round();
    let a = r.abs();
    if a < 1e12 {
        return group_thousands(&format!("{r:.0}"));
    }
    for (scale, prefix) in [(1e12, "T"), (1e15, "P"), (1e18, "E")] {
        if a < scale * 999.5 {
            return format!("{} {prefix}", three_digits(x / scale));
        }
    }
    sci3(x)
}

/// An amount of US dollars for people: `$0.5614`, `$12.00`, `$37,905,301,665`, `$1.23T`
/// (see the module rule).
pub fn fmt_usd(x: f64) -> String {
    if let Some(s) = non_finite(x) {
        return s;
    }
    let sign = if x < 0.0 { "-" } else { "" };
    let a = x.abs();
    let body = if a == 0.0 {
        "0".to_string()
    } else if a < 1.0 {
        let s = format!("{:.*}", sig_decimals(a, 4), a);
        trim_zeros(&s)
    } else if a < 1000.0 {
        let s = format!("{a:.2}");
        // 999.999 rounds to 1000.00: show it as the next band would.
        if s.starts_with("1000") {
            "1,000".into()
        } else {
            s
        }
    } else if a < 1e12 - 0.5 {
        group_thousands(&format!("{a:.0}"))
    } else if a < 999.5e12 {
        format!("{}T", three_digits(a / 1e12))
    } else {
        sci3(a)
    };
    format!("{sign}${body}")
}

/// Decimals that show `digits` significant digits of `a` (0 < a < 1).
fn sig_decimals(a: f64, digits: i32) -> usize {
    let lead = a.log10().floor() as i32; // -1 for 0.5, -3 for 0.001
    (digits - 1 - lead).clamp(0, 17) as usize
}

fn trim_zeros(s: &str) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s.to_string()
    }
}

/// A quantity for people: integers (and values from 10^6) as whole numbers, one decimal from
/// 1,000, up to six decimals below, thousands separators below 10^12, scientific from 10^12
/// and below 10^-3.
pub fn fmt_num(x: f64) -> String {
    if let Some(s) = non_finite(x) {
        return s;
    }
    let a = x.abs();
    if a != 0.0 && !(1e-3..1e12).contains(&a) {
        format!("{x:.4e}")
    } else if x.fract() == 0.0 || a >= 1e6 {
        group_thousands(&format!("{x:.0}"))
    } else if a >= 1000.0 {
        group_thousands(&format!("{x:.1}"))
    } else {
        trim_zeros(&format!("{x:.6}"))
    }
}

/// A value with its unit, by the unit's rule: money for units starting with `$` (`$2.50/h`,
/// `$37,905,301,665`), counts for [`COUNT_UNITS`] (`247,093 accelerators`), otherwise
/// [`fmt_num`] and the unit (`498.213616 MW`; no unit, no trailing space).
pub fn fmt_value(x: f64, unit: &str) -> String {
    if let Some(per) = unit.strip_prefix('$') {
        if x.is_finite() {
            return format!("{}{per}", fmt_usd(x));
        }
        return format!("{} {unit}", fmt_num(x));
    }
    let number = if COUNT_UNITS.contains(&unit) {
        fmt_count(x)
    } else {
        fmt_num(x)
    };
    if unit.is_empty() {
        number
    } else {
        format!("{number} {unit}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_use_separators_below_a_trillion_then_prefixes() {
        assert_eq!(fmt_count(0.0), "0");
        assert_eq!(fmt_count(999.0), "999");
        assert_eq!(fmt_count(1000.0), "1,000");
        assert_eq!(fmt_count(183_600_000.0), "183,600,000");
        assert_eq!(fmt_count(366_923.3), "366,923");
        assert_eq!(fmt_count(-1234.0), "-1,234");
        assert_eq!(fmt_count(999_999_999_999.0), "999,999,999,999");
        assert_eq!(fmt_count(1e12), "1.00 T");
        assert_eq!(fmt_count(1.234e12), "1.23 T");
        assert_eq!(fmt_count(45.6e15), "45.6 P");
        assert_eq!(fmt_count(999e15), "999 P");
        assert_eq!(fmt_count(999.7e15), "1.00 E");
        assert_eq!(fmt_count(u64::MAX as f64), "18.4 E");
        assert_eq!(fmt_count(1.234e21), "1.23e21");
        assert_eq!(fmt_count(f64::NAN), "n/a");
    }

    #[test]
    fn money_reads_the_same_way_at_every_size() {
        assert_eq!(fmt_usd(0.0), "$0");
        assert_eq!(fmt_usd(0.561384), "$0.5614");
        assert_eq!(fmt_usd(0.001234567), "$0.001235");
        assert_eq!(fmt_usd(2.5), "$2.50");
        assert_eq!(fmt_usd(12.0), "$12.00");
        assert_eq!(fmt_usd(999.999), "$1,000");
        assert_eq!(fmt_usd(40_000.0), "$40,000");
        // The two budgets of issue 11, side by side.
        assert_eq!(fmt_usd(3.8e10), "$38,000,000,000");
        assert_eq!(fmt_usd(37_999_952_550.0), "$37,999,952,550");
        assert_eq!(fmt_usd(37_905_301_665.4), "$37,905,301,665");
        assert_eq!(fmt_usd(-1234.4), "-$1,234");
        assert_eq!(fmt_usd(1.234e12), "$1.23T");
        assert_eq!(fmt_usd(47e12), "$47.0T");
        assert_eq!(fmt_usd(1.5e15), "$1.50e15");
        assert_eq!(fmt_usd(f64::INFINITY), "inf");
    }

    #[test]
    fn quantities_keep_their_decimals_and_gain_separators() {
        assert_eq!(fmt_num(0.0), "0");
        assert_eq!(fmt_num(0.4), "0.4");
        assert_eq!(fmt_num(0.899653), "0.899653");
        assert_eq!(fmt_num(498.2136164), "498.213616");
        assert_eq!(fmt_num(1200.0), "1,200");
        assert_eq!(fmt_num(305_659.54), "305,659.5");
        assert_eq!(fmt_num(-26_968.94), "-26,968.9");
        assert_eq!(fmt_num(6.7521e10), "67,521,000,000");
        assert_eq!(fmt_num(67_521_172_567.04), "67,521,172,567");
        assert_eq!(fmt_num(10_787_545.6), "10,787,546");
        assert_eq!(fmt_num(6.7521e13), "6.7521e13");
        assert_eq!(fmt_num(1e12), "1.0000e12");
        assert_eq!(fmt_num(0.0001234), "1.2340e-4");
        assert_eq!(fmt_num(f64::NEG_INFINITY), "-inf");
    }

    #[test]
    fn values_take_the_rule_of_their_unit() {
        assert_eq!(fmt_value(2.5, "$/h"), "$2.50/h");
        assert_eq!(fmt_value(37_905_301_665.0, "$"), "$37,905,301,665");
        assert_eq!(fmt_value(0.561384, "$/EFLOP"), "$0.5614/EFLOP");
        assert_eq!(fmt_value(247_093.0, "accelerators"), "247,093 accelerators");
        assert_eq!(fmt_value(366_923.3, "US homes"), "366,923 US homes");
        assert_eq!(fmt_value(498.2136164, "MW"), "498.213616 MW");
        assert_eq!(fmt_value(0.55, ""), "0.55");
        assert_eq!(fmt_value(f64::NAN, "$"), "n/a $");
    }

    #[test]
    fn separators_group_the_integer_part_only() {
        assert_eq!(group_thousands("1234567.891"), "1,234,567.891");
        assert_eq!(group_thousands("-123456"), "-123,456");
        assert_eq!(group_thousands("123"), "123");
        assert_eq!(group_thousands("100000"), "100,000");
    }
}

/// `text` with every control character but line feed and tab escaped (`\u{1b}`): human
/// output as a whole, so an escape sequence in a name (scenario, accelerator id, group
/// value) cannot drive the terminal. JSON never holds raw control characters, so this
/// leaves it as it is.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    escape_controls(text, |c| c != '\n' && c != '\t')
}

/// A one-line name with every control character escaped, line feeds and tabs included.
pub fn printable_name(name: &str) -> std::borrow::Cow<'_, str> {
    escape_controls(name, |_| true)
}

fn escape_controls(text: &str, escape: impl Fn(char) -> bool) -> std::borrow::Cow<'_, str> {
    let hit = |c: char| c.is_control() && escape(c);
    if !text.chars().any(hit) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if hit(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod control_tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(
            printable("a\x1b[2Jb\nc\td\u{9b}"),
            "a\\u{1b}[2Jb\nc\td\\u{9b}"
        );
        assert_eq!(printable_name("x\ny\r"), "x\\u{a}y\\u{d}");
        assert!(matches!(printable("plain"), std::borrow::Cow::Borrowed(_)));
    }
}
