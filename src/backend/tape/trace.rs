//! The model traced into a tape: `model::formulas` run on a [`Numeric`] whose values are
//! tape slots. Fixed values and defaults become constants and fold; axis values become
//! inputs (scalars for outer axes, columns for inner ones); per-accelerator values and
//! figures become lookups by accelerator code; validity and feasibility become masks.

use super::{Mask, Slot, Step, TapeOp, Tracer, Val, ZERO};
use crate::model::formulas::range_test;
use crate::model::Accelerator;
use crate::model::{formulas, Metric, Numeric, Op, Workload, METRIC_COUNT};
use crate::params::{Figure, Param, PARAM_COUNT};
use crate::plan::SweepPlan;
use crate::scenario::Source;

/// The traced model of one plan: the tape and where its results are.
pub struct Traced {
    pub tracer: Tracer,
    /// Per outer axis: the scalar slots of its value and of its validity (written per
    /// window, not by steps).
    pub axis_slots: Vec<(u32, u32)>,
    pub valid: Mask,
    pub feasible: Mask,
    /// [`Traced::feasible`] without the finiteness tests: its gate is the product of the
    /// same tests as `feasible`'s but those of scalars' finiteness (a product of its own),
    /// and `feasible`'s column is this mask's times the product of the column finiteness
    /// tests. The CPU kernel
    /// reduces over this mask, reads the finiteness of scalar metrics from their values,
    /// and runs the column finiteness tests only in the windows where a metric's
    /// statistics over it are not finite (`backend::staged::reduce`); the GPU and Monte
    /// Carlo kernels use `feasible`, whose steps are those they had before this mask.
    pub feasible_unless_finite: Mask,
    /// Per metric (None where it does not apply).
    pub metrics: [Option<Val>; METRIC_COUNT],
    /// The constant slot of each constraint's bound, and whether it is an upper bound.
    pub bounds: Vec<(Slot, bool)>,
}

/// The tracing context of [`formulas`].
struct Tracing<'p> {
    t: Tracer,
    plan: &'p SweepPlan,
    /// Per parameter: its axis's value and validity mask, for axes.
    axis: [Option<(Val, Val)>; PARAM_COUNT],
    acc: Val,
    /// The draw index column of a Monte Carlo trace ([`trace_draws`]).
    draw: Option<Val>,
    /// Per drawn parameter: its draw step, pushed once however many formulas read it.
    drawn: [Option<Val>; PARAM_COUNT],
}

impl Tracing<'_> {
    /// `values(a)[b]` of the configuration's accelerator `a`: a lookup by accelerator code
    /// (a constant when the accelerator is, or when every entry is the same).
    fn per_accelerator<const N: usize>(
        &mut self,
        values: impl Fn(&Accelerator) -> [f64; N],
        b: Val,
    ) -> Val {
        let table = self
            .plan
            .scenario
            .accelerators
            .iter()
            .flat_map(values)
            .collect();
        self.t.lookup(table, N, self.acc, b)
    }

    /// The value `p` has on each accelerator when nothing else sets it.
    fn base(&mut self, p: Param) -> Val {
        self.per_accelerator(|a| [a.base(p)], ZERO)
    }
}

impl Numeric for Tracing<'_> {
    type V = Val;

    fn konst(&mut self, x: f64) -> Val {
        self.t.konst(x)
    }

    fn param(&mut self, p: Param) -> Val {
        let s = &self.plan.scenario;
        if let (Some(k), Some(u)) = (self.draw, &s.uncertainty) {
            if u.draws(p) {
                // A distribution with one value on every accelerator (lo = hi) is that
                // value: a per-accelerator lookup, independent of the draw.
                let single = (0..s.accelerators.len()).all(|a| {
                    s.input_for(p, a).is_none_or(|i| {
                        let (lo, hi) = i.dist.support();
                        lo == hi
                    })
                });
                if single {
                    let table = (0..s.accelerators.len())
                        .map(|a| {
                            s.drawn_value(p, a, 0)
                                .unwrap_or_else(|| s.accelerators[a].base(p))
                        })
                        .collect();
                    return self.t.lookup(table, 1, self.acc, ZERO);
                }
                if let Some(v) = self.drawn[p.index()] {
                    return v;
                }
                let v = self.t.push(
                    TapeOp::Draw {
                        param: p.index() as u32,
                    },
                    [self.acc, k, self.acc],
                );
                self.drawn[p.index()] = Some(v);
                return v;
            }
        }
        match s.sources[p.index()] {
            Source::Fixed(x) => self.t.konst(x),
            Source::Axis(k) if !s.axes[k].times => self.axis[p.index()].expect("axis traced").0,
            Source::Axis(_) => {
                let m = self.axis[p.index()].expect("axis traced").0;
                let b = self.base(p);
                self.t.mul(m, b)
            }
            Source::FixedTimes(x) => {
                let m = self.t.konst(x);
                let b = self.base(p);
                self.t.mul(m, b)
            }
            Source::Default => self.base(p),
        }
    }

    fn figure(&mut self, f: Figure) -> Val {
        self.per_accelerator(|a| [a.figure(f)], ZERO)
    }

    fn peak_tflops(&mut self, precision: Val) -> Val {
        self.per_accelerator(|a| a.peak_tflops.map(|p| p.unwrap_or(0.0)), precision)
    }

    fn op(&mut self, op: Op, x: Val, y: Val) -> Val {
        self.t.bin(op, x, y)
    }

    fn select(&mut self, mask: Val, a: Val, b: Val) -> Val {
        self.t.select(mask, a, b)
    }

    fn power_from_frac(&self) -> bool {
        self.plan.scenario.power_from_frac()
    }

    fn workload(&self) -> Workload {
        self.plan.scenario.workload
    }

    /// A plain axis value's range test is its axis's validity mask, decided in f64 once
    /// per axis value; anything else is traced as comparisons.
    fn in_range(&mut self, p: Param, x: Val) -> Val {
        if let (Some((value, ok)), false) = (self.axis[p.index()], self.plan.scenario.is_times(p)) {
            if value.slot == x.slot {
                return ok;
            }
        }
        range_test(self, p.info().valid, x)
    }
}

/// Trace the model for `plan`; axes `inner..` are inner (columns over a window), and
/// `value_ok[k][d]` is 1.0 where value `d` of axis `k` is inside its parameter's range
/// ([`value_ok`]).
pub fn trace(plan: &SweepPlan, inner: usize, value_ok: &[Vec<f64>]) -> Traced {
    trace_with(plan, inner, value_ok, false)
}

/// Trace the model for a Monte Carlo sweep of `plan`: every axis is outer (a scalar per
/// configuration) and the one column is the draw: its index `k` fills a column over a block
/// of draws (a `Fill` of axis `axes.len()`), and each uncertain parameter is a
/// [`TapeOp::Draw`] by accelerator and `k` (a per-accelerator constant where its
/// distributions have one value). Steps that depend on no uncertain parameter stay scalars,
/// computed once per configuration.
pub fn trace_draws(plan: &SweepPlan) -> Traced {
    let n = plan.scenario.axes.len();
    trace_with(plan, n, &value_ok(plan), true)
}

fn trace_with(plan: &SweepPlan, inner: usize, value_ok: &[Vec<f64>], draws: bool) -> Traced {
    let s = &plan.scenario;
    let mut t = Tracer::new(inner);
    let mut axis: [Option<(Val, Val)>; PARAM_COUNT] = [None; PARAM_COUNT];
    let mut axis_slots = Vec::new();
    for (ax, a) in s.axes.iter().enumerate() {
        let all_ok = value_ok[ax].iter().all(|&m| m != 0.0);
        let deps = 1u64 << ax;
        let (value, ok) = if ax < inner {
            let (value, ok) = (t.out_slot(false), t.out_slot(false));
            let (Slot::Scalar(vi), Slot::Scalar(oi)) = (value, ok) else {
                unreachable!("out_slot(false) gives scalar slots")
            };
            axis_slots.push((vi, oi));
            (Val { slot: value, deps }, Val { slot: ok, deps })
        } else {
            let fill = |t: &mut Tracer, ok: bool| {
                let out = t.out_slot(true);
                t.steps.push(Step {
                    op: TapeOp::Fill { ax: ax as u32, ok },
                    a: ZERO.slot,
                    b: ZERO.slot,
                    c: ZERO.slot,
                    out,
                    deps,
                });
                Val { slot: out, deps }
            };
            let value = fill(&mut t, false);
            let ok = if all_ok { ZERO } else { fill(&mut t, true) };
            (value, ok)
        };
        // Every value in range: the test is the constant 1 (an outer axis's flag slot is
        // still written per window, and read by nothing).
        let ok = if all_ok { t.konst(1.0) } else { ok };
        axis[a.param.index()] = Some((value, ok));
    }
    let acc = match axis[Param::Accelerator.index()] {
        Some((v, _)) => v,
        None => match s.sources[Param::Accelerator.index()] {
            Source::Fixed(x) => t.konst(x),
            _ => t.konst(0.0),
        },
    };
    let draw = draws.then(|| {
        let ax = s.axes.len();
        let out = t.out_slot(true);
        let deps = 1u64 << ax;
        t.steps.push(Step {
            op: TapeOp::Fill {
                ax: ax as u32,
                ok: false,
            },
            a: ZERO.slot,
            b: ZERO.slot,
            c: ZERO.slot,
            out,
            deps,
        });
        Val { slot: out, deps }
    });
    let mut tracing = Tracing {
        t,
        plan,
        axis,
        acc,
        draw,
        drawn: [None; PARAM_COUNT],
    };
    let out = formulas(&mut tracing);
    let mut t = tracing.t;
    let mut tests = out.validity;
    let mut valid = t.all(&tests);

    // Feasibility: valid, positive throughput, every metric that applies finite (as
    // `model::evaluate`'s `finite`), every constraint (a metric that does not apply is NaN
    // and fails every bound).
    let nan = t.konst(f64::NAN);
    let metric = |m: Metric| out.metrics[m as usize].unwrap_or(nan);
    let mut finite_of: Vec<Val> = Vec::new();
    for v in out.metrics.iter().flatten() {
        let v = finite_root(&t, *v);
        if !finite_of.iter().any(|w| w.slot == v.slot) {
            finite_of.push(v);
        }
    }
    // Under uncertainty every metric's column is computed anyway (for its sums): the test
    // reads it rather than repeat its product or quotient (`finite_test`).
    let finite: Vec<Val> = finite_of
        .into_iter()
        .map(|v| {
            if draws {
                t.bin(Op::IsFinite, v, v)
            } else {
                finite_test(&mut t, v)
            }
        })
        .collect();
    if draws {
        // Under uncertainty the draws that enter the metric statistics are the valid ones
        // whose every metric is finite (`draws::over_draws`): the mask of "valid" draws
        // includes the finiteness tests. Their product is the same steps as in `feasible`
        // below (computed once); products of 0/1 tests are exact in any order.
        let all_finite = t.all(&finite);
        valid = Mask {
            gate: t.mul(valid.gate, all_finite.gate),
            col: t.both(valid.col, all_finite.col),
        };
    }
    tests.push(t.bin(Op::Gt, metric(Metric::ThroughputPflops), ZERO));
    // The tests of scalars join the gate; those of columns form `finite_col`.
    let mut finite_cols = Vec::new();
    let mut finite_scalars = Vec::new();
    for test in finite {
        if matches!(test.slot, Slot::Column(_)) {
            finite_cols.push(test);
        } else {
            tests.push(test);
            finite_scalars.push(test.slot);
        }
    }
    let mut bounds = Vec::new();
    for (m, bound, upper) in s.constraints.bounds() {
        let b = t.konst(bound);
        bounds.push((b.slot, upper));
        let op = if upper { Op::Le } else { Op::Ge };
        tests.push(t.bin(op, metric(m), b));
    }
    let with_scalar_tests = t.all(&tests);
    let finite_col = t.all(&finite_cols).col;
    let feasible = Mask {
        gate: with_scalar_tests.gate,
        col: t.both(with_scalar_tests.col, finite_col),
    };
    // The gate again without the scalars' finiteness tests: a product of its own, so that
    // `feasible`'s steps stay those of the tape before (the GPU's code, the CPU kernel's
    // walking order), and its column (column tests only: no column step twice).
    let scalar_tests: Vec<Val> = tests
        .iter()
        .filter(|v| matches!(v.slot, Slot::Scalar(_)) && !finite_scalars.contains(&v.slot))
        .copied()
        .collect();
    let feasible_unless_finite = Mask {
        gate: t.all(&scalar_tests).gate,
        col: with_scalar_tests.col,
    };

    let mut roots: Vec<Slot> = out.metrics.iter().flatten().map(|v| v.slot).collect();
    for m in [valid, feasible, feasible_unless_finite] {
        roots.push(m.gate.slot);
        roots.extend(m.col.map(|c| c.slot));
    }
    t.keep_only(&roots);
    Traced {
        tracer: t,
        axis_slots,
        valid,
        feasible,
        feasible_unless_finite,
        metrics: out.metrics,
        bounds,
    }
}

/// The value whose finiteness decides `v`'s: `v = x * k` with a constant `0 < |k| <= 1` is
/// finite exactly where `x` is (no overflow, and `k` keeps infinities and NaN), so the
/// test reads `x` (shared by several metrics, and a metric column the CPU kernel derives
/// from `x` need not be computed).
fn finite_root(t: &Tracer, v: Val) -> Val {
    let Some(st) = t.steps.iter().find(|st| st.out == v.slot) else {
        return v;
    };
    if st.op != TapeOp::Arith(Op::Mul) {
        return v;
    }
    let known = |s: Slot| t.known(Val { slot: s, deps: 0 });
    let shrinks = |k: Option<f64>| k.is_some_and(|k| k != 0.0 && k.abs() <= 1.0);
    let operand = |s: Slot| {
        let deps = t
            .steps
            .iter()
            .find(|p| p.out == s)
            .map_or(v.deps, |p| p.deps);
        Val { slot: s, deps }
    };
    if shrinks(known(st.b)) && !matches!(st.b, Slot::Column(_)) {
        finite_root(t, operand(st.a))
    } else if shrinks(known(st.a)) && !matches!(st.a, Slot::Column(_)) {
        finite_root(t, operand(st.b))
    } else {
        v
    }
}

/// The test that `v` is finite. A column times or over a scalar (the form whose statistics
/// the CPU kernel derives from the column's, `backend::staged::reduce::derivable`) is
/// tested from its operands, so the test does not read, and force the computation of, `v`.
fn finite_test(t: &mut Tracer, v: Val) -> Val {
    let derived_form = t.steps.iter().find(|st| st.out == v.slot).and_then(|st| {
        let op = match st.op {
            TapeOp::Arith(Op::Mul) => Op::MulIsFinite,
            TapeOp::Arith(Op::Div) => Op::DivIsFinite,
            TapeOp::Arith(Op::DivOrInf) => Op::DivOrInfIsFinite,
            _ => return None,
        };
        let column = |s: Slot| matches!(s, Slot::Column(_));
        (column(st.a) != column(st.b)).then_some((op, st.a, st.b))
    });
    match derived_form {
        Some((op, a, b)) => {
            let operand = |s: Slot| Val {
                slot: s,
                deps: v.deps,
            };
            t.bin(op, operand(a), operand(b))
        }
        None => t.bin(Op::IsFinite, v, v),
    }
}

/// Per axis, 1.0 where the value is inside its parameter's own valid range, else 0.0,
/// decided in f64 once per value. Multipliers (`times` axes) are checked when parsing and
/// their products by the traced range tests, so they are all 1.0 here.
pub fn value_ok(plan: &SweepPlan) -> Vec<Vec<f64>> {
    plan.scenario
        .axes
        .iter()
        .map(|a| {
            a.values
                .iter()
                .map(|&x| {
                    if a.times || crate::model::value_in_range(a.param, x) {
                        1.0
                    } else {
                        0.0
                    }
                })
                .collect()
        })
        .collect()
}
