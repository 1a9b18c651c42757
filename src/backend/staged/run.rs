//! Running one step of the tape over a window: a scalar step on the window's scalars, or a
//! column step over its columns (one loop per operand shape, so each vectorises).

use super::{StagedKernel, State, W};
use crate::backend::tape::{Slot, Step, TapeOp};
use crate::model::Op;
use crate::plan::SweepPlan;
use std::ops::Range;

/// `match $op`: each arithmetic op binds `$f` to a closure `(x, y) -> f64` specialised to
/// it and evaluates `$body` (one jump, then straight-line or vectorised code); any other
/// op is bound to `$other` for `$rest`.
macro_rules! with_arith {
    ($op:expr, |$f:ident| $body:expr, $other:ident => $rest:expr) => {
        match $op {
            TapeOp::Arith(Op::Add) => with_arith!(@one Op::Add, $f, $body),
            TapeOp::Arith(Op::Sub) => with_arith!(@one Op::Sub, $f, $body),
            TapeOp::Arith(Op::Mul) => with_arith!(@one Op::Mul, $f, $body),
            TapeOp::Arith(Op::Div) => with_arith!(@one Op::Div, $f, $body),
            TapeOp::Arith(Op::DivOrInf) => with_arith!(@one Op::DivOrInf, $f, $body),
            TapeOp::Arith(Op::JobSize) => with_arith!(@one Op::JobSize, $f, $body),
            TapeOp::Arith(Op::Eq) => with_arith!(@one Op::Eq, $f, $body),
            TapeOp::Arith(Op::Gt) => with_arith!(@one Op::Gt, $f, $body),
            TapeOp::Arith(Op::Ge) => with_arith!(@one Op::Ge, $f, $body),
            TapeOp::Arith(Op::Le) => with_arith!(@one Op::Le, $f, $body),
            TapeOp::Arith(Op::Lt) => with_arith!(@one Op::Lt, $f, $body),
            TapeOp::Arith(Op::IsWhole) => with_arith!(@one Op::IsWhole, $f, $body),
            TapeOp::Arith(Op::IsFinite) => with_arith!(@one Op::IsFinite, $f, $body),
            TapeOp::Arith(Op::MulIsFinite) => with_arith!(@one Op::MulIsFinite, $f, $body),
            TapeOp::Arith(Op::DivIsFinite) => with_arith!(@one Op::DivIsFinite, $f, $body),
            TapeOp::Arith(Op::DivOrInfIsFinite) => {
                with_arith!(@one Op::DivOrInfIsFinite, $f, $body)
            }
            TapeOp::Arith(Op::Sqrt) => with_arith!(@one Op::Sqrt, $f, $body),
            TapeOp::Arith(Op::Pow) => with_arith!(@one Op::Pow, $f, $body),
            TapeOp::Arith(Op::Clamp01) => with_arith!(@one Op::Clamp01, $f, $body),
            TapeOp::Arith(Op::ExpNeg) => with_arith!(@one Op::ExpNeg, $f, $body),
            TapeOp::Arith(Op::Ln1p) => with_arith!(@one Op::Ln1p, $f, $body),
            TapeOp::Arith(Op::MeanExpNeg) => with_arith!(@one Op::MeanExpNeg, $f, $body),
            TapeOp::Arith(Op::RampMeanExpNeg) => {
                with_arith!(@one Op::RampMeanExpNeg, $f, $body)
            }
            $other => $rest,
        }
    };
    (@one $v:expr, $f:ident, $body:expr) => {{
        let $f = |x: f64, y: f64| $v.apply(x, y);
        $body
    }};
}

/// A step with scalar operands and result, by scalar slot.
#[derive(Clone, Copy, Debug)]
pub(super) struct ScalarStep {
    pub(super) op: TapeOp,
    pub(super) a: u32,
    pub(super) b: u32,
    pub(super) c: u32,
    pub(super) out: u32,
}

impl ScalarStep {
    pub(super) fn of(step: &Step) -> Option<ScalarStep> {
        let index = |s: Slot| match s {
            Slot::Scalar(i) => Some(i),
            Slot::Column(_) => None,
        };
        if matches!(step.op, TapeOp::Fill { .. }) {
            return None;
        }
        Some(ScalarStep {
            op: step.op,
            a: index(step.a)?,
            b: index(step.b)?,
            c: index(step.c)?,
            out: index(step.out)?,
        })
    }
}

/// An operand of a column loop.
#[derive(Clone, Copy)]
pub(super) enum Src<'a> {
    Scalar(f64),
    Column(&'a [f64]),
}

impl Src<'_> {
    #[inline(always)]
    pub(super) fn at(self, j: usize) -> f64 {
        match self {
            Src::Scalar(x) => x,
            Src::Column(v) => v[j],
        }
    }
}

/// `out[j] = f(a[j], b[j])`, one loop per operand shape so each vectorises.
#[inline(always)]
pub(super) fn zip2(a: Src, b: Src, out: &mut [f64], f: impl Fn(f64, f64) -> f64) {
    match (a, b) {
        (Src::Column(xs), Src::Scalar(y)) => {
            for (o, &x) in out.iter_mut().zip(xs) {
                *o = f(x, y);
            }
        }
        (Src::Scalar(x), Src::Column(ys)) => {
            for (o, &y) in out.iter_mut().zip(ys) {
                *o = f(x, y);
            }
        }
        (Src::Column(xs), Src::Column(ys)) => {
            for ((o, &x), &y) in out.iter_mut().zip(xs).zip(ys) {
                *o = f(x, y);
            }
        }
        (Src::Scalar(x), Src::Scalar(y)) => out.fill(f(x, y)),
    }
}

impl StagedKernel {
    #[inline(always)]
    pub(super) fn run_scalar(&self, st: &mut State, step: &ScalarStep) {
        scalar_step(&self.traced.tracer.tables, &mut st.scalars, step);
    }

    #[inline(always)]
    pub(super) fn run_column(
        &self,
        plan: &SweepPlan,
        st: &mut State,
        step: &Step,
        j0: u64,
        n: usize,
    ) {
        let layout = &self.layout;
        column_step(
            &self.traced.tracer.tables,
            &st.scalars,
            &mut st.cols,
            step,
            0..n,
            |ax, ok, out| {
                let ax = ax as usize;
                let values = if ok {
                    &layout.value_ok[ax]
                } else {
                    &plan.scenario.axes[ax].values
                };
                fill_inner(out, values, plan.grid.strides[ax], j0);
            },
        );
    }
}

/// Run a scalar step on `scalars`.
#[inline(always)]
pub(super) fn scalar_step(tables: &[Vec<f64>], scalars: &mut [f64], step: &ScalarStep) {
    let x = |i: u32| scalars[i as usize];
    let (a, b) = (x(step.a), x(step.b));
    scalars[step.out as usize] = with_arith!(step.op, |f| f(a, b), other => match other {
        TapeOp::Select => {
            if a != 0.0 {
                b
            } else {
                x(step.c)
            }
        }
        TapeOp::Lookup { table, stride } => {
            tables[table as usize][a as usize * stride as usize + b as usize]
        }
        _ => unreachable!("a scalar step of a column op: {other:?}"),
    });
}

/// Run a column step over the entries `at` of its output column (reading the same entries of
/// its operand columns); `fill(ax, ok, out)` writes a `Fill` step's entries.
#[inline(always)]
pub(super) fn column_step(
    tables: &[Vec<f64>],
    scalars: &[f64],
    cols: &mut [Vec<f64>],
    step: &Step,
    at: Range<usize>,
    fill: impl Fn(u32, bool, &mut [f64]),
) {
    let Slot::Column(o) = step.out else {
        unreachable!("a column step makes a column")
    };
    let o = o as usize;
    let mut out = std::mem::take(&mut cols[o]);
    {
        let cols = &*cols;
        let src = |s: Slot| match s {
            Slot::Scalar(i) => Src::Scalar(scalars[i as usize]),
            Slot::Column(i) => Src::Column(&cols[i as usize][at.clone()]),
        };
        let out = &mut out[at.clone()];
        with_arith!(step.op, |f| zip2(src(step.a), src(step.b), out, f), other => match other {
            TapeOp::Select => {
                let (m, a, b) = (src(step.a), src(step.b), src(step.c));
                for (j, o) in out.iter_mut().enumerate() {
                    *o = if m.at(j) != 0.0 { a.at(j) } else { b.at(j) };
                }
            }
            TapeOp::Lookup { table, stride } => {
                let table = &tables[table as usize];
                let (a, b) = (src(step.a), src(step.b));
                for (j, o) in out.iter_mut().enumerate() {
                    *o = table[a.at(j) as usize * stride as usize + b.at(j) as usize];
                }
            }
            TapeOp::Fill { ax, ok } => fill(ax, ok, out),
            _ => unreachable!("arithmetic handled above: {other:?}"),
        });
    }
    cols[o] = out;
}

/// The column of an inner axis over inner-block positions `j0 .. j0 + out.len()` (each
/// value repeats for `stride` positions, so it is filled run by run).
#[inline(always)]
pub(super) fn fill_inner(out: &mut [f64], values: &[f64], stride: u64, j0: u64) {
    let n = out.len();
    let len = values.len() as u64;
    let mut d = ((j0 / stride) % len) as usize;
    let mut t = 0usize;
    if stride == 1 {
        // Consecutive values, wrapping around the axis.
        while t < n {
            let m = (values.len() - d).min(n - t);
            out[t..t + m].copy_from_slice(&values[d..d + m]);
            t += m;
            d = 0;
        }
        return;
    }
    let mut run = (stride - j0 % stride) as usize;
    while t < n {
        let m = run.min(n - t);
        out[t..t + m].fill(values[d]);
        t += m;
        d += 1;
        if d == values.len() {
            d = 0;
        }
        run = stride.min(W as u64) as usize;
    }
}
