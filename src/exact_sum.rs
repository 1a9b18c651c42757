//! Exact sums of `f64` values: [`ExactSum`] holds a sum with no rounding at all (a fixed-point
//! number wide enough for every finite `f64` and every product of two), so adding the same
//! values in any order, in any grouping, and merging partial sums gives the same value bit
//! for bit; [`ExactSum::value`] rounds it once, to nearest (ties to even). Metric sums are
//! kept this way so that a sweep's statistics do not depend on how the grid was split
//! (threads, pieces, shards, checkpoint segments).
//!
//! [`window_sum`] is the fast path for a column of values (a CPU kernel window): the
//! values are split without error into a few levels of parts that each add up exactly in
//! plain `f64` arithmetic (Rump, Ogita and Oishi, "Accurate floating-point summation part
//! I", SIAM J. Sci. Comput. 31(1), 2008, ExtractScalar), so a window costs a few `f64`
//! operations per value and one [`ExactSum::add`] per level.

use serde::{Deserialize, Serialize};

/// Bits per digit.
const DIGIT: u32 = 32;
/// Digits: from 2^BASE (below the smallest product of two subnormals, 2^-2148) to 2^2272
/// (the largest product of two finite values is below 2^2048; a sum beyond 2^2200 counts as
/// infinite).
const DIGITS: usize = 140;
/// The exponent of digit 0's lowest bit.
const BASE: i32 = -2208;
/// Additions between carry propagations (each adds less than 2^32 to a digit: the digits,
/// below 2^33 in magnitude after a propagation, stay below 2^63).
const ADDS_BEFORE_CARRY: u32 = 1 << 29;

/// An exact sum of finite `f64` values (and exact products of two), with the non-finite
/// values added tracked apart (they make the sum `NaN` or an infinity, as IEEE addition
/// would in any order).
#[derive(Clone)]
pub struct ExactSum {
    /// Digit `i` weighs 2^(BASE + 32 i); digits are signed and unnormalised between carry
    /// propagations.
    digits: Box<[i64; DIGITS]>,
    /// Additions since the last carry propagation.
    adds: u32,
    nan: bool,
    pos_inf: bool,
    neg_inf: bool,
}

impl Default for ExactSum {
    fn default() -> Self {
        ExactSum {
            digits: Box::new([0; DIGITS]),
            adds: 0,
            nan: false,
            pos_inf: false,
            neg_inf: false,
        }
    }
}

/// A finite value as `(negative, integer mantissa, exponent)`: `±m · 2^e`.
#[inline]
fn decompose(x: f64) -> (bool, u64, i32) {
    let bits = x.to_bits();
    let neg = bits >> 63 != 0;
    let field = ((bits >> 52) & 0x7ff) as i32;
    let frac = bits & ((1u64 << 52) - 1);
    if field == 0 {
        (neg, frac, -1074)
    } else {
        (neg, frac | (1u64 << 52), field - 1075)
    }
}

/// 2^k as an `f64`, for -1022 <= k <= 1023.
#[inline]
fn pow2(k: i32) -> f64 {
    debug_assert!((-1022..=1023).contains(&k));
    f64::from_bits(((k + 1023) as u64) << 52)
}

impl ExactSum {
    /// Add `x`.
    #[inline]
    pub fn add(&mut self, x: f64) {
        if x == 0.0 {
            return;
        }
        if !x.is_finite() {
            self.non_finite(x);
            return;
        }
        let (neg, m, e) = decompose(x);
        self.add_int(neg, m as u128, e);
    }

    /// Add `x · n` exactly.
    #[inline]
    pub fn add_times(&mut self, x: f64, n: u64) {
        if n == 0 || x == 0.0 {
            return;
        }
        if !x.is_finite() {
            self.non_finite(x);
            return;
        }
        let (neg, m, e) = decompose(x);
        self.add_int(neg, m as u128 * n as u128, e);
    }

    /// Add the exact product `a · b` (not rounded).
    #[inline]
    pub fn add_product(&mut self, a: f64, b: f64) {
        if !(a.is_finite() && b.is_finite()) {
            self.non_finite(a * b);
            return;
        }
        if a == 0.0 || b == 0.0 {
            return;
        }
        let (na, ma, ea) = decompose(a);
        let (nb, mb, eb) = decompose(b);
        self.add_int(na != nb, ma as u128 * mb as u128, ea + eb);
    }

    fn non_finite(&mut self, x: f64) {
        if x.is_nan() {
            self.nan = true;
        } else if x > 0.0 {
            self.pos_inf = true;
        } else {
            self.neg_inf = true;
        }
    }

    /// Add `±m · 2^e` (`m` < 2^117, `e` >= -2148).
    #[inline(always)]
    fn add_int(&mut self, neg: bool, m: u128, e: i32) {
        let p = (e - BASE) as u32;
        let (k, sh) = ((p / DIGIT) as usize, p % DIGIT);
        if k + 5 > DIGITS {
            // Beyond 2^2200: no f64 sum comes back from there.
            self.non_finite(if neg {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            });
            return;
        }
        let d = &mut self.digits[k..k + 5];
        let sign = if neg { -1i64 } else { 1 };
        if m >> 64 == 0 {
            // The common case (a value, or a value times a count: m < 2^64): shifted by
            // less than 32, three digits.
            let v = m << sh;
            d[0] += sign * (v as u32) as i64;
            d[1] += sign * ((v >> 32) as u32) as i64;
            d[2] += sign * ((v >> 64) as u32) as i64;
        } else {
            // A product: m < 2^117 shifted by less than 32 spans five digits.
            let lo = m << sh;
            let hi = (m >> 64) >> (64 - sh);
            d[0] += sign * (lo as u32) as i64;
            d[1] += sign * ((lo >> 32) as u32) as i64;
            d[2] += sign * ((lo >> 64) as u32) as i64;
            d[3] += sign * ((lo >> 96) as u32) as i64;
            d[4] += sign * (hi as u32) as i64;
        }
        self.adds += 1;
        if self.adds >= ADDS_BEFORE_CARRY {
            self.carry();
        }
    }

    /// Whether the sum is negative, and its absolute value carried (every digit
    /// non-negative, all but the top one below 2^32).
    fn magnitude(&self) -> (bool, ExactSum) {
        let mut s = self.clone();
        s.carry();
        let negative = s.digits[DIGITS - 1] < 0;
        if negative {
            s.digits.iter_mut().for_each(|d| *d = -*d);
            s.carry();
        }
        (negative, s)
    }

    /// Propagate carries: every digit but the top one in 0 .. 2^32, the top one signed.
    fn carry(&mut self) {
        let d = &mut self.digits;
        for i in 0..DIGITS - 1 {
            let c = d[i] >> DIGIT;
            d[i] -= c << DIGIT;
            d[i + 1] += c;
        }
        self.adds = 0;
    }

    /// Add `o · c` exactly (`c` finite; a non-finite `o` times `c` as IEEE multiplies).
    pub fn add_scaled(&mut self, o: &ExactSum, c: f64) {
        for (flag, x) in [
            (o.nan, f64::NAN),
            (o.pos_inf, f64::INFINITY),
            (o.neg_inf, f64::NEG_INFINITY),
        ] {
            if flag {
                self.non_finite(x * c);
            }
        }
        if c == 0.0 {
            return;
        }
        let (nc, mc, ec) = decompose(c);
        // Scale the magnitude: a negative sum's carried digits are non-negative below a
        // negative top digit, whose product with `c` would reach past the last digit and
        // be cut; every digit of |o| is non-negative.
        let (negative, magnitude) = o.magnitude();
        for (i, &d) in magnitude.digits.iter().enumerate() {
            if d != 0 {
                let e = BASE + i as i32 * DIGIT as i32 + ec;
                self.add_int(negative != nc, d.unsigned_abs() as u128 * mc as u128, e);
            }
        }
    }

    /// Add another exact sum.
    pub fn merge(&mut self, o: &ExactSum) {
        // After a carry propagation the digits are below 2^32 (the top one aside), and
        // `o`'s below 2^62: the sum stays within i64 for as many more additions as `o` had
        // left before its next propagation.
        self.carry();
        for (a, b) in self.digits.iter_mut().zip(o.digits.iter()) {
            *a += b;
        }
        self.adds = o.adds + 1;
        if self.adds >= ADDS_BEFORE_CARRY {
            self.carry();
        }
        self.nan |= o.nan;
        self.pos_inf |= o.pos_inf;
        self.neg_inf |= o.neg_inf;
    }

    /// The sum rounded to the nearest `f64` (ties to even); `NaN` or an infinity when a
    /// non-finite value was added (as IEEE addition gives in any order), an infinity when
    /// the exact sum is beyond the `f64` range.
    pub fn value(&self) -> f64 {
        if self.nan || (self.pos_inf && self.neg_inf) {
            return f64::NAN;
        }
        if self.pos_inf {
            return f64::INFINITY;
        }
        if self.neg_inf {
            return f64::NEG_INFINITY;
        }
        let (neg, s) = self.magnitude();
        let d = &s.digits;
        let Some(h) = (0..DIGITS).rev().find(|&i| d[i] != 0) else {
            return 0.0;
        };
        // The top three digits (at least 64 bits when h >= 2) and whether anything below
        // them is non-zero.
        let lo = h.saturating_sub(2);
        let mut top: u128 = 0;
        for i in (lo..=h).rev() {
            top = (top << DIGIT) | d[i] as u128;
        }
        let sticky = d[..lo].iter().any(|&x| x != 0);
        let lsb = BASE + (lo as i32) * DIGIT as i32;
        let bits = 128 - top.leading_zeros() as i32;
        // Keep 53 bits, or fewer where the result is subnormal (lowest bit 2^-1074);
        // round to nearest, ties to even. (With h >= 2, `top` has more than 64 bits, so
        // `drop` > 0 whenever `sticky` is set.)
        let drop = (bits - 53).max(-1074 - lsb).max(0);
        let mut exp = lsb + drop;
        let mut m = if drop >= 128 { 0 } else { top >> drop };
        if drop > 0 && drop <= 128 {
            let rem = if drop == 128 {
                top
            } else {
                top & ((1u128 << drop) - 1)
            };
            let half = 1u128 << (drop - 1);
            if rem > half || (rem == half && (sticky || m & 1 == 1)) {
                m += 1;
            }
        }
        if m == 1u128 << 53 {
            m >>= 1;
            exp += 1;
        }
        if exp + 52 > 1023 {
            return if neg {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            };
        }
        // m < 2^53 and m · 2^exp is an f64: scale in two exact steps.
        let mut x = m as f64;
        let (a, b) = if exp < -900 {
            (exp + 600, -600)
        } else if exp > 900 {
            (exp - 600, 600)
        } else {
            (exp, 0)
        };
        x *= pow2(a);
        if b != 0 {
            x *= pow2(b);
        }
        if neg {
            -x
        } else {
            x
        }
    }

    /// The normalised digits as `(position, value)` for the non-zero ones: one text for one
    /// value, whatever the order of the additions.
    fn normalised(&self) -> Vec<(usize, i64)> {
        let mut s = self.clone();
        s.carry();
        s.digits
            .iter()
            .enumerate()
            .filter(|(_, &d)| d != 0)
            .map(|(i, &d)| (i, d))
            .collect()
    }
}

impl std::fmt::Debug for ExactSum {
    /// The rounded value and the normalised digits (the same for one value, however it was
    /// summed).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ExactSum({:?}, {:?}", self.value(), self.normalised())?;
        for (flag, name) in [
            (self.nan, "NaN"),
            (self.pos_inf, "+inf"),
            (self.neg_inf, "-inf"),
        ] {
            if flag {
                write!(f, ", {name}")?;
            }
        }
        write!(f, ")")
    }
}

impl PartialEq for ExactSum {
    /// The same value (and the same non-finite values added), however it was summed.
    fn eq(&self, o: &ExactSum) -> bool {
        (self.nan, self.pos_inf, self.neg_inf) == (o.nan, o.pos_inf, o.neg_inf)
            && self.normalised() == o.normalised()
    }
}

/// How an [`ExactSum`] is written in partials and checkpoints: the rounded value (for
/// people) and the exact digits (`[position, value]`, digit `i` weighing 2^(-2208 + 32 i)).
#[derive(Serialize, Deserialize)]
struct Written {
    #[serde(with = "crate::json_float")]
    value: f64,
    digits: Vec<(usize, i64)>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    nan: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pos_inf: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    neg_inf: bool,
}

impl Serialize for ExactSum {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Written {
            value: self.value(),
            digits: self.normalised(),
            nan: self.nan,
            pos_inf: self.pos_inf,
            neg_inf: self.neg_inf,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for ExactSum {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let w = Written::deserialize(d)?;
        let mut s = ExactSum {
            nan: w.nan,
            pos_inf: w.pos_inf,
            neg_inf: w.neg_inf,
            ..ExactSum::default()
        };
        let mut last = None;
        for (i, v) in w.digits {
            if i >= DIGITS || last.is_some_and(|l| l >= i) {
                return Err(D::Error::custom(format!(
                    "an exact sum's digit {i} is out of order or range"
                )));
            }
            // Normalised digits are in 0 .. 2^32, the top one (signed) too in magnitude: any
            // number of parts can then be merged without overflow.
            let top = i == DIGITS - 1;
            if !top && !(0..1i64 << DIGIT).contains(&v) || top && v.unsigned_abs() >> DIGIT != 0 {
                return Err(D::Error::custom(format!(
                    "an exact sum's digit {i} is out of range ({v})"
                )));
            }
            s.digits[i] = v;
            last = Some(i);
        }
        Ok(s)
    }
}

/// The exact sum of a window of values as a few `f64` parts (levels) that add up to it with
/// no rounding, or, where the values span too wide a range (or are not all finite), an
/// [`ExactSum`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WindowSum {
    levels: [f64; LEVELS],
    spill: Option<ExactSum>,
}

/// Levels a window's sum is split into before it spills into an [`ExactSum`].
const LEVELS: usize = 4;

impl WindowSum {
    /// Add the window's sum to `total`.
    #[inline]
    pub fn add_to(&self, total: &mut ExactSum) {
        for &l in &self.levels {
            total.add(l);
        }
        if let Some(s) = &self.spill {
            total.merge(s);
        }
    }

    /// Add the window's sum times `c` (exactly) to `total`.
    #[inline]
    pub fn add_times_to(&self, c: f64, total: &mut ExactSum) {
        for &l in &self.levels {
            if l != 0.0 {
                total.add_product(l, c);
            }
        }
        if let Some(s) = &self.spill {
            total.add_scaled(s, c);
        }
    }
}

/// The extraction constant of a level whose `n` parts (`n` < 2^m) are below `bound`: the
/// parts are multiples of 2^(k - 52) and add up below 2^(k - 1), in any order, exactly.
/// `None` near the top of the range.
#[inline(always)]
fn sigma_for(bound: f64, m: i32) -> Option<f64> {
    let (_, _, be) = decompose(bound);
    // bound < 2^(be + 53).
    let k = (be + 53 + m + 1).max(-1022);
    (k <= 1022).then(|| 1.5 * pow2(k))
}

/// One value of the two-level pass of [`window_sum`]: its parts on the grids of `s1` and
/// `s2` added to the lane's sums, the magnitude of what is left kept when it is larger.
#[inline(always)]
fn extract2(x: f64, s1: f64, s2: f64, sum1: &mut f64, sum2: &mut f64, left: &mut f64) {
    let q1 = (s1 + x) - s1;
    let r1 = x - q1;
    let q2 = (s2 + r1) - s2;
    let r2 = r1 - q2;
    *sum1 += q1;
    *sum2 += q2;
    *left = if r2.abs() > *left { r2.abs() } else { *left };
}

/// The exact sum of `xs` (every value finite, each at most `absmax` in magnitude), with
/// `rem` (at least as long as `xs`) as scratch.
pub fn window_sum(xs: &[f64], absmax: f64, rem: &mut [f64]) -> WindowSum {
    let n = xs.len();
    let mut out = WindowSum::default();
    if n == 0 || absmax == 0.0 {
        return out;
    }
    // n < 2^m.
    let m = 64 - (n as u64).leading_zeros() as i32;
    // The usual case in one pass and no stores: two levels, the second's bound known in
    // advance (a first-level remainder is at most half the first level's unit).
    if let Some(s1) = sigma_for(absmax, m) {
        // s1 = 1.5 * 2^k: the first-level remainders are at most 2^(k - 53) (zero when
        // that is below the smallest subnormal: the first level's unit is then 2^-1074).
        if let Some(s2) = sigma_for(s1 / 1.5 * pow2(-53), m) {
            let mut sum1 = [0.0f64; 4];
            let mut sum2 = [0.0f64; 4];
            let mut left = [0.0f64; 4];
            let mut x4s = xs.chunks_exact(4);
            for x4 in &mut x4s {
                for l in 0..4 {
                    extract2(x4[l], s1, s2, &mut sum1[l], &mut sum2[l], &mut left[l]);
                }
            }
            for (l, &x) in x4s.remainder().iter().enumerate() {
                extract2(x, s1, s2, &mut sum1[l], &mut sum2[l], &mut left[l]);
            }
            if left.iter().all(|&r| r == 0.0) {
                out.levels[0] = (sum1[0] + sum1[1]) + (sum1[2] + sum1[3]);
                out.levels[1] = (sum2[0] + sum2[1]) + (sum2[2] + sum2[3]);
                return out;
            }
        }
    }
    // A wider range of values: level by level, the remainders kept.
    let rem = &mut rem[..n];
    rem.copy_from_slice(xs);
    let mut bound = absmax;
    for level in out.levels.iter_mut() {
        let Some(sigma) = sigma_for(bound, m) else {
            break;
        };
        let mut sum = [0.0f64; 4];
        let mut big = [0.0f64; 4];
        for (i, v) in rem.iter_mut().enumerate() {
            let x = *v;
            let q = (sigma + x) - sigma;
            let r = x - q;
            sum[i % 4] += q;
            *v = r;
            big[i % 4] = big[i % 4].max(r.abs());
        }
        *level = (sum[0] + sum[1]) + (sum[2] + sum[3]);
        bound = big[0].max(big[1]).max(big[2]).max(big[3]);
        if bound == 0.0 {
            return out;
        }
    }
    // Not done in LEVELS levels (or near the top of the range): the rest value by value.
    let mut spill = ExactSum::default();
    for &x in rem.iter() {
        spill.add(x);
    }
    out.spill = Some(spill);
    out
}

/// The exact sum of `xs` whatever they are (non-finite values included), by [`window_sum`]
/// where it applies.
pub fn window_sum_any(xs: &[f64], rem: &mut [f64]) -> WindowSum {
    let mut absmax = 0.0f64;
    let mut finite = true;
    for &x in xs {
        finite &= x.is_finite();
        absmax = absmax.max(x.abs());
    }
    if finite {
        return window_sum(xs, absmax, rem);
    }
    let mut spill = ExactSum::default();
    for &x in xs {
        spill.add(x);
    }
    WindowSum {
        levels: [0.0; LEVELS],
        spill: Some(spill),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sum_of(xs: &[f64]) -> f64 {
        let mut s = ExactSum::default();
        for &x in xs {
            s.add(x);
        }
        s.value()
    }

    /// SplitMix64.
    fn next(state: &mut u64) -> u64 {
        *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Values of mixed sign over `span` binary orders of magnitude around 2^`centre`.
    fn values(seed: u64, n: usize, centre: i32, span: i32) -> Vec<f64> {
        let mut st = seed;
        (0..n)
            .map(|_| {
                let u = next(&mut st);
                let mant = 1.0 + (u >> 12) as f64 / (1u64 << 52) as f64;
                let e = centre + (next(&mut st) % (span as u64 + 1)) as i32 - span / 2;
                let x = mant * 2f64.powi(e);
                if u & 1 == 1 {
                    -x
                } else {
                    x
                }
            })
            .collect()
    }

    #[test]
    fn sums_are_exact_then_rounded_once() {
        assert_eq!(sum_of(&[1e308, 1e308, -1e308]), 1e308);
        assert_eq!(sum_of(&[1.0, 1e-30, -1.0]), 1e-30);
        assert_eq!(sum_of(&[1e-30, 1.0, -1.0]), 1e-30);
        // 0.1 is 0.1000000000000000055511151231257827...: ten of them are
        // 1.000000000000000055511151231257827, which rounds to 1.
        assert_eq!(sum_of(&[0.1; 10]), 1.0);
        assert_ne!([0.1; 10].iter().sum::<f64>(), 1.0);
        // Ties to even: 2^53 + 1 is halfway between 2^53 and 2^53 + 2.
        let big = 2f64.powi(53);
        assert_eq!(sum_of(&[big, 1.0]), big);
        assert_eq!(sum_of(&[big, 1.0, 1e-300]), big + 2.0);
        assert_eq!(sum_of(&[big, 3.0]), big + 4.0);
        // Subnormals and the smallest one.
        let tiny = f64::from_bits(1);
        assert_eq!(sum_of(&[tiny, tiny, tiny]), f64::from_bits(3));
        assert_eq!(
            sum_of(&[f64::MIN_POSITIVE, -tiny]),
            f64::from_bits((1 << 52) - 1)
        );
        assert_eq!(sum_of(&[]), 0.0);
        assert_eq!(sum_of(&[2.5, -2.5]), 0.0);
        // Beyond the range: infinity; back inside it: the value.
        assert_eq!(sum_of(&[f64::MAX, f64::MAX]), f64::INFINITY);
        assert_eq!(sum_of(&[-f64::MAX, -f64::MAX]), f64::NEG_INFINITY);
        assert_eq!(sum_of(&[f64::MAX, f64::MAX, -f64::MAX]), f64::MAX);
        assert!(sum_of(&[1.0, f64::NAN]).is_nan());
        assert!(sum_of(&[f64::INFINITY, f64::NEG_INFINITY]).is_nan());
        assert_eq!(sum_of(&[f64::INFINITY, 1.0, -3.0]), f64::INFINITY);
        // Exact products and multiples.
        let mut s = ExactSum::default();
        s.add_product(0.1, 0.1);
        s.add(-0.010000000000000002);
        let err = 0.1f64.mul_add(0.1, -(0.1 * 0.1));
        assert_eq!(s.value(), err);
        let mut s = ExactSum::default();
        s.add_times(0.1, 10);
        assert_eq!(s.value(), 1.0);
        let mut s = ExactSum::default();
        s.add_product(f64::MAX, f64::MAX);
        s.add_product(-f64::MAX, f64::MAX);
        s.add_product(tiny, tiny);
        s.add(tiny);
        assert_eq!(s.value(), tiny);
    }

    #[test]
    fn any_order_and_any_grouping_give_the_same_bits() {
        for (seed, centre, span) in [(1, 0, 10), (2, 30, 120), (3, -1000, 60), (4, 1000, 40)] {
            let mut xs = values(seed, 2000, centre, span);
            let reference = sum_of(&xs);
            // Correctly rounded: within half an ulp of a wider (f64 pairs) estimate, and
            // the same after any permutation and grouping.
            let mut st = seed;
            for round in 0..5 {
                for i in (1..xs.len()).rev() {
                    xs.swap(i, (next(&mut st) % (i as u64 + 1)) as usize);
                }
                assert_eq!(sum_of(&xs).to_bits(), reference.to_bits(), "{seed}/{round}");
                let cut = (next(&mut st) % xs.len() as u64) as usize;
                let (mut a, mut b) = (ExactSum::default(), ExactSum::default());
                xs[..cut].iter().for_each(|&x| a.add(x));
                xs[cut..].iter().for_each(|&x| b.add(x));
                b.merge(&a);
                assert_eq!(b.value().to_bits(), reference.to_bits());
                // Through the text a partial carries.
                let text = serde_json::to_string(&b).unwrap();
                let back: ExactSum = serde_json::from_str(&text).unwrap();
                assert_eq!(back.value().to_bits(), reference.to_bits());
                assert_eq!(serde_json::to_string(&back).unwrap(), text);
            }
        }
    }

    #[test]
    fn window_sums_equal_value_by_value_sums() {
        let mut rem = vec![0.0; 600];
        for (seed, centre, span, n) in [
            (5, 0, 4, 512),
            (6, 20, 60, 512),
            (7, -1030, 40, 100),
            (8, 1015, 6, 300),
            (9, 0, 300, 511),
            (10, 3, 0, 1),
            (11, 0, 2000, 512),
        ] {
            let xs = values(seed, n, centre, span);
            let absmax = xs.iter().fold(0.0f64, |m, x| m.max(x.abs()));
            let w = window_sum(&xs, absmax, &mut rem);
            let mut a = ExactSum::default();
            w.add_to(&mut a);
            let mut b = ExactSum::default();
            xs.iter().for_each(|&x| b.add(x));
            assert_eq!(a.normalised(), b.normalised(), "{seed}");
            // Times a constant, exactly.
            let mut a = ExactSum::default();
            w.add_times_to(0.3, &mut a);
            let mut b = ExactSum::default();
            xs.iter().for_each(|&x| b.add_product(x, 0.3));
            assert_eq!(a.normalised(), b.normalised(), "{seed}");
        }
        let w = window_sum_any(&[1.0, f64::INFINITY, 2.0], &mut rem);
        let mut a = ExactSum::default();
        w.add_to(&mut a);
        assert_eq!(a.value(), f64::INFINITY);
        // Integers: one level.
        let xs: Vec<f64> = (0..512).map(|i| i as f64).collect();
        let w = window_sum(&xs, 511.0, &mut rem);
        assert_eq!(w.levels, [130816.0, 0.0, 0.0, 0.0]);
    }
}
