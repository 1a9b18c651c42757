//! Interval bounds over a traced tape: for every slot a range `[lo, hi]` (in f64) that holds
//! its value at every configuration of the plan (and every draw of a Monte Carlo tape),
//! computed once at plan time from the axes' values, the tables and the distributions'
//! supports. Where an operation's range is not known (a NaN, a power of a negative base) it
//! is `[-inf, inf]`. `backend::gpu::f32_range` uses the bounds to find plans whose
//! intermediate values can overflow f32 although every input fits; the CPU kernel
//! (`backend::staged`) uses them to skip the finiteness tests of metrics they prove finite
//! ([`proven_finite`]).

use super::trace::Traced;
use super::{Slot, TapeOp, Tracer};
use crate::model::Op;
use crate::plan::SweepPlan;
use crate::scenario::Scenario;

/// A closed range of values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Interval {
    pub lo: f64,
    pub hi: f64,
}

impl Interval {
    /// Nothing known.
    pub const ANY: Interval = Interval {
        lo: f64::NEG_INFINITY,
        hi: f64::INFINITY,
    };
    /// A 0/1 test.
    pub const TEST: Interval = Interval { lo: 0.0, hi: 1.0 };

    pub fn point(x: f64) -> Interval {
        if x.is_nan() {
            Interval::ANY
        } else {
            Interval { lo: x, hi: x }
        }
    }

    /// The smallest interval holding `values` (ANY when one is NaN or there are none).
    pub fn hull_of(values: impl IntoIterator<Item = f64>) -> Interval {
        let mut out: Option<Interval> = None;
        for x in values {
            if x.is_nan() {
                return Interval::ANY;
            }
            out = Some(match out {
                None => Interval { lo: x, hi: x },
                Some(i) => Interval {
                    lo: i.lo.min(x),
                    hi: i.hi.max(x),
                },
            });
        }
        out.unwrap_or(Interval::ANY)
    }

    pub fn hull(self, other: Interval) -> Interval {
        Interval {
            lo: self.lo.min(other.lo),
            hi: self.hi.max(other.hi),
        }
    }

    fn contains_zero(self) -> bool {
        self.lo <= 0.0 && self.hi >= 0.0
    }

    /// The largest finite magnitude of its ends (None when both are infinite).
    pub fn finite_magnitude(self) -> Option<f64> {
        [self.lo, self.hi]
            .into_iter()
            .filter(|x| x.is_finite())
            .map(f64::abs)
            .reduce(f64::max)
    }
}

/// `f` at the corners of the box `x` times `y`: the range of an operation that is monotone
/// in each operand over the box.
fn corners(x: Interval, y: Interval, f: impl Fn(f64, f64) -> f64) -> Interval {
    Interval::hull_of([f(x.lo, y.lo), f(x.lo, y.hi), f(x.hi, y.lo), f(x.hi, y.hi)])
}

/// `f` at the ends of `x`: the range of a monotone one-operand operation.
fn ends(x: Interval, f: impl Fn(f64) -> f64) -> Interval {
    Interval::hull_of([f(x.lo), f(x.hi)])
}

/// The range of `op` over `x` and `y`.
pub fn apply(op: Op, x: Interval, y: Interval) -> Interval {
    if op.is_test() {
        return Interval::TEST;
    }
    match op {
        Op::Add | Op::Sub | Op::Mul => corners(x, y, |a, b| op.apply(a, b)),
        Op::Div | Op::DivOrInf if y.contains_zero() => {
            // A division by a range through 0 can give anything (or +inf where y is 0).
            Interval::ANY
        }
        Op::Div | Op::DivOrInf => corners(x, y, |a, b| a / b),
        Op::JobSize => y.hull(corners(x, y, f64::min)),
        Op::Pow if x.lo >= 0.0 => corners(x, y, f64::powf),
        Op::Pow => Interval::ANY,
        Op::Sqrt if x.lo >= 0.0 => ends(x, f64::sqrt),
        Op::Sqrt => Interval::ANY,
        Op::Clamp01 => ends(x, |a| a.clamp(0.0, 1.0)),
        Op::ExpNeg | Op::Ln1p | Op::MeanExpNeg | Op::RampMeanExpNeg => {
            ends(x, |a| op.apply(a, 0.0))
        }
        _ => Interval::ANY,
    }
}

/// Every slot's interval (indexed as [`Tracer::point_index`]) over the configurations of
/// `plan` and, for a Monte Carlo tape, its draws.
pub fn intervals(plan: &SweepPlan, traced: &Traced) -> Vec<Interval> {
    let t: &Tracer = &traced.tracer;
    let s = &plan.scenario;
    let mut v: Vec<Interval> = t.scalars.iter().map(|&x| Interval::point(x)).collect();
    v.resize(t.scalars.len() + t.columns as usize, Interval::ANY);
    for (ax, &(value, ok)) in traced.axis_slots.iter().enumerate() {
        v[value as usize] = Interval::hull_of(s.axes[ax].values.iter().copied());
        v[ok as usize] = Interval::TEST;
    }
    for st in &t.steps {
        let at = |slot: Slot| v[t.point_index(slot)];
        let (a, b, c) = (at(st.a), at(st.b), at(st.c));
        let out = match st.op {
            TapeOp::Arith(op) => apply(op, a, b),
            TapeOp::Select if a.lo > 0.0 || a.hi < 0.0 => b,
            TapeOp::Select if a.lo == 0.0 && a.hi == 0.0 => c,
            TapeOp::Select => b.hull(c),
            TapeOp::Lookup { table, stride } => {
                let table = &t.tables[table as usize];
                let stride = stride as usize;
                let rows = index_range(a, table.len().div_ceil(stride.max(1)));
                let cols = index_range(b, stride);
                Interval::hull_of(
                    rows.flat_map(|r| cols.clone().map(move |c| r * stride + c))
                        .filter_map(|i| table.get(i).copied()),
                )
            }
            TapeOp::Fill { ax, ok: true } if (ax as usize) < s.axes.len() => Interval::TEST,
            TapeOp::Fill { ax, .. } => match s.axes.get(ax as usize) {
                Some(axis) => Interval::hull_of(axis.values.iter().copied()),
                // The draw index of a Monte Carlo tape.
                None => Interval {
                    lo: 0.0,
                    hi: s.samples().saturating_sub(1) as f64,
                },
            },
            TapeOp::Draw { param } => draws(s, param as usize, a),
        };
        v[t.point_index(st.out)] = out;
    }
    v
}

/// The largest magnitude [`proven_finite`] accepts: far enough below `f64::MAX` that the
/// last-place wobble of the library's exponentials, logarithms and powers (not monotone to
/// the last bit) cannot carry a value past its interval into overflow.
pub const FINITE_MARGIN: f64 = 1e300;

/// Whether `slot` is finite at every point `v` (the [`intervals`] of `t`'s plan) bounds:
/// the slot and every operand and result of every step it is computed from lie within
/// `[-FINITE_MARGIN, FINITE_MARGIN]`. Then no step sees an infinity, and none makes a NaN
/// (a division by a range through 0, a root, logarithm or power outside its domain, a NaN
/// in a table or among an axis's values all give a range beyond the margin). Every step is
/// checked, not only the slot: a clamp or a select can hide a NaN behind a finite range.
pub fn proven_finite(t: &Tracer, v: &[Interval], slot: Slot) -> bool {
    let within = |s: Slot| {
        let i = v[t.point_index(s)];
        i.lo >= -FINITE_MARGIN && i.hi <= FINITE_MARGIN
    };
    within(slot)
        && t.reached(&[slot]).into_iter().all(|i| {
            let st = &t.steps[i];
            [st.a, st.b, st.c, st.out].into_iter().all(within)
        })
}

/// The whole numbers in `x` below `len` (a table's rows or columns); all of them when `x`
/// is not a finite range.
fn index_range(x: Interval, len: usize) -> std::ops::Range<usize> {
    if !(x.lo.is_finite() && x.hi.is_finite()) || x.hi < 0.0 {
        return 0..len;
    }
    let lo = x.lo.max(0.0).floor() as usize;
    let hi = (x.hi.ceil() as usize).saturating_add(1);
    lo.min(len)..hi.min(len)
}

/// The values parameter `param` (its index) takes on the accelerators whose codes are in
/// `acc`: each one's drawn values (the support, times the value it scales for a `times`
/// input), or its value where it is not drawn.
fn draws(s: &Scenario, param: usize, acc: Interval) -> Interval {
    let p = crate::params::PARAMS[param].param;
    let mut out: Option<Interval> = None;
    for code in index_range(acc, s.accelerators.len()) {
        let base = s.accelerators[code].base(p);
        let here = match s.input_for(p, code) {
            Some(i) => {
                let (lo, hi) = i.dist.support();
                let scale = if i.times { base } else { 1.0 };
                Interval::hull_of([lo * scale, hi * scale])
            }
            None => Interval::point(base),
        };
        out = Some(out.map_or(here, |o| o.hull(here)));
    }
    out.unwrap_or(Interval::ANY)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iv(lo: f64, hi: f64) -> Interval {
        Interval { lo, hi }
    }

    #[test]
    fn operations_hold_every_value_of_their_operands() {
        let cases = [
            (Op::Mul, iv(-2.0, 3.0), iv(4.0, 5.0)),
            (Op::Sub, iv(1.0, 2.0), iv(-1.0, 7.0)),
            (Op::Div, iv(1.0, 2.0), iv(0.5, 4.0)),
            (Op::DivOrInf, iv(-1.0, 2.0), iv(-4.0, -0.5)),
            (Op::Pow, iv(0.2, 3.0), iv(-0.5, 2.0)),
            (Op::JobSize, iv(0.0, 8.0), iv(4.0, 100.0)),
            (Op::ExpNeg, iv(-1.0, 3.0), iv(0.0, 0.0)),
            (Op::MeanExpNeg, iv(0.0, 3.0), iv(0.0, 0.0)),
            (Op::RampMeanExpNeg, iv(-2.0, 3.0), iv(0.0, 0.0)),
            (Op::Clamp01, iv(-2.0, 0.5), iv(0.0, 0.0)),
            (Op::Sqrt, iv(0.0, 9.0), iv(0.0, 0.0)),
            (Op::Ln1p, iv(0.0, 9.0), iv(0.0, 0.0)),
        ];
        for (op, x, y) in cases {
            let r = apply(op, x, y);
            for i in 0..=20 {
                for j in 0..=20 {
                    let a = x.lo + (x.hi - x.lo) * i as f64 / 20.0;
                    let b = y.lo + (y.hi - y.lo) * j as f64 / 20.0;
                    let z = op.apply(a, b);
                    assert!(r.lo <= z && z <= r.hi, "{op:?} {a} {b}: {z} not in {r:?}");
                }
            }
        }
    }

    #[test]
    fn division_by_a_range_through_zero_is_anything() {
        assert_eq!(apply(Op::Div, iv(1.0, 2.0), iv(0.0, 1.0)), Interval::ANY);
        assert_eq!(apply(Op::Pow, iv(-1.0, 2.0), iv(0.5, 0.5)), Interval::ANY);
        assert_eq!(Interval::point(f64::NAN), Interval::ANY);
        assert_eq!(iv(-1e39, f64::INFINITY).finite_magnitude(), Some(1e39));
        assert_eq!(Interval::ANY.finite_magnitude(), None);
    }
}
