//! Numbers for people: the one way the human-readable outputs (tables, listings, parameter
//! values) write an `f64`.

/// A number for people: integers as integers, large and small values in scientific form.
pub fn fmt_num(x: f64) -> String {
    if !x.is_finite() {
        return if x.is_nan() {
            "n/a".into()
        } else if x > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        };
    }
    let a = x.abs();
    if x.fract() == 0.0 && a < 1e15 {
        format!("{x:.0}")
    } else if a != 0.0 && !(1e-3..1e9).contains(&a) {
        format!("{x:.4e}")
    } else if a >= 1000.0 {
        format!("{x:.1}")
    } else {
        let s = format!("{x:.6}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}
