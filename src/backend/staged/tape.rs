//! The tape of the CPU kernel: the operations ([`Op`]), where a value lives ([`Slot`],
//! [`Val`]), the [`Tracer`] that appends steps and folds constants, and running one step
//! over a window's scalars and columns.

use super::{StagedKernel, State, W};
use crate::model::clock_factor;
use crate::plan::SweepPlan;

/// Where a traced value lives: a scalar slot or a column slot.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Slot {
    Scalar(u32),
    Column(u32),
}

/// A traced value: its slot and the axes it depends on (bit `k` for axis `k`). A scalar
/// with no axis is a constant, known while tracing.
#[derive(Clone, Copy, Debug)]
pub(super) struct Val {
    pub(super) slot: Slot,
    pub(super) deps: u64,
}

/// What a step computes from its operands `a`, `b`, `c`. The arithmetic ones (`Add` ..
/// `Goodput`) are [`Op::arith`] of `x = a`, `y = b`; one-operand ones ignore `y`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Op {
    Add,
    Sub,
    Mul,
    Div,
    /// `x / y`, or +inf where `y` is 0.
    DivOrInf,
    /// `J = N if job_gpus == 0 else min(job_gpus, N)` with `x = job_gpus`, `y = N`.
    JobSize,
    /// 1.0 where `x == y`, else 0.0.
    Eq,
    Gt,
    Ge,
    Le,
    Sqrt,
    /// Goodput from the lost fraction: `clamp(1 - x, 0, 1)`.
    Goodput,
    /// `b` where the mask `a` is non-zero, else `c`.
    Select,
    /// `tables[table][a * stride + b]` (accelerator figures by code, peaks by code and
    /// precision).
    Lookup {
        table: u32,
        stride: u32,
    },
    /// The clock factor of accelerator code `a` at power `b` (`pow` once per distinct pair).
    Clock,
    /// The column of inner axis `ax` over the window: its values, or its validity mask.
    Fill {
        ax: u32,
        ok: bool,
    },
}

impl Op {
    /// The arithmetic operations (the others are evaluated where they are run).
    #[inline(always)]
    pub(super) fn arith(self, x: f64, y: f64) -> f64 {
        let test = |t: bool| if t { 1.0 } else { 0.0 };
        match self {
            Op::Add => x + y,
            Op::Sub => x - y,
            Op::Mul => x * y,
            Op::Div => x / y,
            Op::DivOrInf => {
                // Divide first, then select: no branch in a column loop.
                let q = x / y;
                if y == 0.0 {
                    f64::INFINITY
                } else {
                    q
                }
            }
            Op::JobSize => {
                let m = if x < y { x } else { y };
                if x == 0.0 {
                    y
                } else {
                    m
                }
            }
            Op::Eq => test(x == y),
            Op::Gt => test(x > y),
            Op::Ge => test(x >= y),
            Op::Le => test(x <= y),
            Op::Sqrt => x.sqrt(),
            Op::Goodput => (1.0 - x).clamp(0.0, 1.0),
            Op::Select | Op::Lookup { .. } | Op::Clock | Op::Fill { .. } => {
                unreachable!("not arithmetic: {self:?}")
            }
        }
    }
}

/// `match $op`: each arithmetic op binds `$f` to a closure `(x, y) -> f64` specialised to
/// it and evaluates `$body` (one jump, then straight-line or vectorised code); any other
/// op is bound to `$other` for `$rest`.
macro_rules! with_arith {
    ($op:expr, |$f:ident| $body:expr, $other:ident => $rest:expr) => {
        match $op {
            Op::Add => with_arith!(@one Op::Add, $f, $body),
            Op::Sub => with_arith!(@one Op::Sub, $f, $body),
            Op::Mul => with_arith!(@one Op::Mul, $f, $body),
            Op::Div => with_arith!(@one Op::Div, $f, $body),
            Op::DivOrInf => with_arith!(@one Op::DivOrInf, $f, $body),
            Op::JobSize => with_arith!(@one Op::JobSize, $f, $body),
            Op::Eq => with_arith!(@one Op::Eq, $f, $body),
            Op::Gt => with_arith!(@one Op::Gt, $f, $body),
            Op::Ge => with_arith!(@one Op::Ge, $f, $body),
            Op::Le => with_arith!(@one Op::Le, $f, $body),
            Op::Sqrt => with_arith!(@one Op::Sqrt, $f, $body),
            Op::Goodput => with_arith!(@one Op::Goodput, $f, $body),
            $other => $rest,
        }
    };
    (@one $v:expr, $f:ident, $body:expr) => {{
        let $f = |x: f64, y: f64| $v.arith(x, y);
        $body
    }};
}

/// One step of the tape: `out = op(a, b, c)`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Step {
    pub(super) op: Op,
    pub(super) a: Slot,
    pub(super) b: Slot,
    pub(super) c: Slot,
    pub(super) out: Slot,
    pub(super) deps: u64,
}

/// A 0/1 mask as a product of scalar tests (the gate) and column tests.
#[derive(Clone, Copy, Debug)]
pub(super) struct Mask {
    pub(super) gate: Val,
    pub(super) col: Option<Val>,
}

/// Builds the tape: each operation either folds (constant operands) or appends a step.
pub(super) struct Tracer {
    pub(super) scalars: Vec<f64>,
    pub(super) columns: u32,
    pub(super) steps: Vec<Step>,
    pub(super) tables: Vec<Vec<f64>>,
}

impl Tracer {
    pub(super) fn konst(&mut self, x: f64) -> Val {
        self.scalars.push(x);
        Val {
            slot: Slot::Scalar(self.scalars.len() as u32 - 1),
            deps: 0,
        }
    }

    /// The value of a constant (None for anything that depends on an axis).
    pub(super) fn known(&self, v: Val) -> Option<f64> {
        match v.slot {
            Slot::Scalar(i) if v.deps == 0 => Some(self.scalars[i as usize]),
            _ => None,
        }
    }

    pub(super) fn out_slot(&mut self, column: bool) -> Slot {
        if column {
            self.columns += 1;
            Slot::Column(self.columns - 1)
        } else {
            self.scalars.push(f64::NAN);
            Slot::Scalar(self.scalars.len() as u32 - 1)
        }
    }

    pub(super) fn push(&mut self, op: Op, ops: [Val; 3]) -> Val {
        let deps = ops[0].deps | ops[1].deps | ops[2].deps;
        let column = ops.iter().any(|v| matches!(v.slot, Slot::Column(_)));
        let out = self.out_slot(column);
        self.steps.push(Step {
            op,
            a: ops[0].slot,
            b: ops[1].slot,
            c: ops[2].slot,
            out,
            deps,
        });
        Val { slot: out, deps }
    }

    /// An arithmetic op of two operands.
    pub(super) fn bin(&mut self, op: Op, a: Val, b: Val) -> Val {
        if let (Some(x), Some(y)) = (self.known(a), self.known(b)) {
            return self.konst(op.arith(x, y));
        }
        self.push(op, [a, b, a])
    }

    /// An arithmetic op of one operand (the constant 0 as the unused second).
    pub(super) fn un(&mut self, op: Op, a: Val) -> Val {
        let zero = Val {
            slot: Slot::Scalar(0),
            deps: 0,
        };
        self.bin(op, a, zero)
    }

    pub(super) fn add(&mut self, a: Val, b: Val) -> Val {
        self.bin(Op::Add, a, b)
    }
    pub(super) fn sub(&mut self, a: Val, b: Val) -> Val {
        self.bin(Op::Sub, a, b)
    }
    pub(super) fn mul(&mut self, a: Val, b: Val) -> Val {
        self.bin(Op::Mul, a, b)
    }
    pub(super) fn scale(&mut self, a: Val, k: f64) -> Val {
        let k = self.konst(k);
        self.mul(a, k)
    }

    pub(super) fn select(&mut self, m: Val, a: Val, b: Val) -> Val {
        if let Some(x) = self.known(m) {
            return if x != 0.0 { a } else { b };
        }
        self.push(Op::Select, [m, a, b])
    }

    /// `table[a * stride + b]`, one table per call.
    pub(super) fn lookup(&mut self, table: Vec<f64>, stride: usize, a: Val, b: Val) -> Val {
        if let (Some(x), Some(y)) = (self.known(a), self.known(b)) {
            return self.konst(table[x as usize * stride + y as usize]);
        }
        self.tables.push(table);
        let table = self.tables.len() as u32 - 1;
        self.push(
            Op::Lookup {
                table,
                stride: stride as u32,
            },
            [a, b, a],
        )
    }

    /// The product of 0/1 tests, split into the scalar gate and the column mask.
    pub(super) fn all(&mut self, tests: &[Val]) -> Mask {
        let mut gate = self.konst(1.0);
        let mut col: Option<Val> = None;
        for &t in tests {
            if matches!(t.slot, Slot::Column(_)) {
                col = Some(match col {
                    Some(c) => self.mul(c, t),
                    None => t,
                });
            } else {
                gate = self.mul(gate, t);
            }
        }
        Mask { gate, col }
    }
}

/// A step with scalar operands and result, by scalar slot.
#[derive(Clone, Copy, Debug)]
pub(super) struct ScalarStep {
    pub(super) op: Op,
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
        if matches!(step.op, Op::Fill { .. }) {
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
    pub(super) fn run_scalar(&self, plan: &SweepPlan, st: &mut State, step: &ScalarStep) {
        let x = |i: u32| st.scalars[i as usize];
        let (a, b) = (x(step.a), x(step.b));
        st.scalars[step.out as usize] = with_arith!(step.op, |f| f(a, b), other => match other {
            Op::Select => {
                if a != 0.0 {
                    b
                } else {
                    x(step.c)
                }
            }
            Op::Lookup { table, stride } => {
                self.traced.tracer.tables[table as usize][a as usize * stride as usize + b as usize]
            }
            Op::Clock => {
                let key = (a as usize, b.to_bits());
                if (st.clock_memo.0, st.clock_memo.1) != key {
                    let v = clock_factor(b, &plan.scenario.accelerators[key.0]);
                    st.clock_memo = (key.0, key.1, v);
                }
                st.clock_memo.2
            }
            _ => unreachable!("a scalar step of a column op: {other:?}"),
        });
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
        let Slot::Column(o) = step.out else {
            unreachable!("a column step makes a column")
        };
        let o = o as usize;
        let mut out = std::mem::take(&mut st.cols[o]);
        {
            let (scalars, cols) = (&st.scalars, &st.cols);
            let src = |s: Slot| match s {
                Slot::Scalar(i) => Src::Scalar(scalars[i as usize]),
                Slot::Column(i) => Src::Column(&cols[i as usize][..n]),
            };
            let out = &mut out[..n];
            with_arith!(step.op, |f| zip2(src(step.a), src(step.b), out, f), other => match other {
                Op::Select => {
                    let (m, a, b) = (src(step.a), src(step.b), src(step.c));
                    for (j, o) in out.iter_mut().enumerate() {
                        *o = if m.at(j) != 0.0 { a.at(j) } else { b.at(j) };
                    }
                }
                Op::Lookup { table, stride } => {
                    let table = &self.traced.tracer.tables[table as usize];
                    let (a, b) = (src(step.a), src(step.b));
                    for (j, o) in out.iter_mut().enumerate() {
                        *o = table[a.at(j) as usize * stride as usize + b.at(j) as usize];
                    }
                }
                Op::Clock => {
                    let (a, p) = (src(step.a), src(step.b));
                    let mut memo = (usize::MAX, 0u64, 0.0);
                    for (j, o) in out.iter_mut().enumerate() {
                        let key = (a.at(j) as usize, p.at(j).to_bits());
                        if (memo.0, memo.1) != key {
                            let v = clock_factor(p.at(j), &plan.scenario.accelerators[key.0]);
                            memo = (key.0, key.1, v);
                        }
                        *o = memo.2;
                    }
                }
                Op::Fill { ax, ok } => {
                    let ax = ax as usize;
                    let values = if ok {
                        &self.layout.value_ok[ax]
                    } else {
                        &plan.scenario.axes[ax].values
                    };
                    fill_inner(out, values, plan.grid.strides[ax], j0);
                }
                _ => unreachable!("arithmetic handled above: {other:?}"),
            });
        }
        st.cols[o] = out;
    }
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
