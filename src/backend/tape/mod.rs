//! The tape: the model's one definition (`model::formulas`) traced for one plan into a list
//! of steps, with constants folded and each step tagged with the axes it depends on. The
//! CPU kernel (`backend::staged`) runs it over windows; the GPU backend emits WGSL from it
//! (`backend::gpu::emit`). This module owns the step operations ([`TapeOp`]), where values
//! live ([`Slot`], [`Val`]), the [`Tracer`] that appends and folds steps, dead-step removal,
//! and a plain interpreter ([`Tracer::eval_point`]) for host-side tables and tests.

pub mod bounds;
pub mod trace;

use crate::model::Op;

/// Where a traced value lives: a scalar slot or a column slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Slot {
    Scalar(u32),
    Column(u32),
}

/// A traced value: its slot and the axes it depends on (bit `k` for axis `k`). A scalar
/// with no axis is a constant, known while tracing.
#[derive(Clone, Copy, Debug)]
pub struct Val {
    pub slot: Slot,
    pub deps: u64,
}

/// What a step computes from its operands `a`, `b`, `c`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TapeOp {
    /// A model operation on `a` and `b`.
    Arith(Op),
    /// `b` where the mask `a` is non-zero, else `c`.
    Select,
    /// `tables[table][a * stride + b]` (accelerator values by code, peaks by code and
    /// precision).
    Lookup { table: u32, stride: u32 },
    /// The column of inner axis `ax` over the window: its values, or its validity mask.
    Fill { ax: u32, ok: bool },
    /// Draw `b` of uncertain parameter `param` (its index) on the accelerator with code `a`:
    /// the drawn value, or the value it has on an accelerator it is not drawn for. Only in
    /// Monte Carlo tapes (`trace::trace_draws`): the CPU kernel turns it into a lookup of
    /// the host's f64 draws, the GPU kernel generates the draw on the device.
    Draw { param: u32 },
}

/// One step of the tape: `out = op(a, b, c)`.
#[derive(Clone, Copy, Debug)]
pub struct Step {
    pub op: TapeOp,
    pub a: Slot,
    pub b: Slot,
    pub c: Slot,
    pub out: Slot,
    pub deps: u64,
}

/// A 0/1 mask as a product of scalar tests (the gate) and column tests.
#[derive(Clone, Copy, Debug)]
pub struct Mask {
    pub gate: Val,
    pub col: Option<Val>,
}

/// Builds the tape: each operation either folds (constant operands) or appends a step.
#[derive(Clone, Debug)]
pub struct Tracer {
    /// Scalar slots: constants, and room for the scalar steps' results.
    pub scalars: Vec<f64>,
    pub columns: u32,
    pub steps: Vec<Step>,
    pub tables: Vec<Vec<f64>>,
    /// Axes at or after this one are inner (their values are columns).
    pub inner: usize,
}

/// The constant 0 in scalar slot 0 (also the unused operand of steps).
pub const ZERO: Val = Val {
    slot: Slot::Scalar(0),
    deps: 0,
};

impl Tracer {
    pub fn new(inner: usize) -> Tracer {
        Tracer {
            scalars: vec![0.0],
            columns: 0,
            steps: Vec::new(),
            tables: Vec::new(),
            inner,
        }
    }

    pub fn konst(&mut self, x: f64) -> Val {
        self.scalars.push(x);
        Val {
            slot: Slot::Scalar(self.scalars.len() as u32 - 1),
            deps: 0,
        }
    }

    /// The value of a constant (None for anything that depends on an axis).
    pub fn known(&self, v: Val) -> Option<f64> {
        match v.slot {
            Slot::Scalar(i) if v.deps == 0 => Some(self.scalars[i as usize]),
            _ => None,
        }
    }

    pub fn out_slot(&mut self, column: bool) -> Slot {
        if column {
            self.columns += 1;
            Slot::Column(self.columns - 1)
        } else {
            self.scalars.push(f64::NAN);
            Slot::Scalar(self.scalars.len() as u32 - 1)
        }
    }

    /// Append the step `op(ops)`, or, when the tape already has that step (same operation,
    /// same operand slots), its value: every step is a pure function of its operands, so a
    /// formula that recurs in the model (e.g. the same sum in two costs) is computed once.
    pub fn push(&mut self, op: TapeOp, ops: [Val; 3]) -> Val {
        let [a, b, c] = ops.map(|v| v.slot);
        if let Some(st) = self
            .steps
            .iter()
            .find(|st| st.op == op && st.a == a && st.b == b && st.c == c)
        {
            return Val {
                slot: st.out,
                deps: st.deps,
            };
        }
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

    /// A model operation; folded when both operands are constants, and dropped where it
    /// is exactly the identity (`x - 0`, `x * 1`, `1 * x`, `x / 1`: the v2 parameters at
    /// their defaults then leave the v1 tape as it was).
    pub fn bin(&mut self, op: Op, a: Val, b: Val) -> Val {
        let (ka, kb) = (self.known(a), self.known(b));
        if let (Some(x), Some(y)) = (ka, kb) {
            return self.konst(op.apply(x, y));
        }
        match (op, ka, kb) {
            (Op::Sub, _, Some(y)) if y == 0.0 && y.is_sign_positive() => return a,
            (Op::Mul | Op::Div, _, Some(1.0)) => return a,
            (Op::Mul, Some(1.0), _) => return b,
            _ => {}
        }
        self.push(TapeOp::Arith(op), [a, b, a])
    }

    pub fn mul(&mut self, a: Val, b: Val) -> Val {
        self.bin(Op::Mul, a, b)
    }

    pub fn select(&mut self, m: Val, a: Val, b: Val) -> Val {
        if let Some(x) = self.known(m) {
            return if x != 0.0 { a } else { b };
        }
        self.push(TapeOp::Select, [m, a, b])
    }

    /// `table[a * stride + b]`; a constant when the indices are, or when every entry is
    /// the same.
    pub fn lookup(&mut self, table: Vec<f64>, stride: usize, a: Val, b: Val) -> Val {
        if let (Some(x), Some(y)) = (self.known(a), self.known(b)) {
            return self.konst(table[x as usize * stride + y as usize]);
        }
        if table.windows(2).all(|w| w[0].to_bits() == w[1].to_bits()) && !table.is_empty() {
            return self.konst(table[0]);
        }
        self.tables.push(table);
        let table = self.tables.len() as u32 - 1;
        self.push(
            TapeOp::Lookup {
                table,
                stride: stride as u32,
            },
            [a, b, a],
        )
    }

    /// The product of 0/1 tests, split into the scalar gate and the column mask.
    pub fn all(&mut self, tests: &[Val]) -> Mask {
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

    /// The product of two optional mask columns (absent: all ones).
    pub fn both(&mut self, a: Option<Val>, b: Option<Val>) -> Option<Val> {
        match (a, b) {
            (Some(a), Some(b)) => Some(self.mul(a, b)),
            (a, b) => a.or(b),
        }
    }

    /// The indices of the steps that the roots read, directly or through other steps.
    pub fn reached(&self, roots: &[Slot]) -> std::collections::HashSet<usize> {
        use std::collections::{HashMap, HashSet};
        let by_out: HashMap<Slot, usize> = self
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| (s.out, i))
            .collect();
        let mut live = HashSet::new();
        let mut stack: Vec<Slot> = roots.to_vec();
        while let Some(slot) = stack.pop() {
            if let Some(&i) = by_out.get(&slot) {
                if live.insert(i) {
                    let s = &self.steps[i];
                    stack.extend([s.a, s.b, s.c]);
                }
            }
        }
        live
    }

    /// Drop the steps that no root reads, directly or through other steps.
    pub fn keep_only(&mut self, roots: &[Slot]) {
        let live = self.reached(roots);
        let mut i = 0;
        self.steps.retain(|_| {
            i += 1;
            live.contains(&(i - 1))
        });
    }

    /// Where `slot` is in [`Tracer::eval_point`]'s values: the scalar slots, then the
    /// columns.
    pub fn point_index(&self, slot: Slot) -> usize {
        match slot {
            Slot::Scalar(i) => i as usize,
            Slot::Column(i) => self.scalars.len() + i as usize,
        }
    }

    /// Every slot's value at one point of the grid, all in f64: the tape as a plain
    /// interpreter, for tables decided on the host. On entry `v` holds the scalar slots
    /// (constants, and the outer axes' values and flags); `axis_value(ax, ok)` gives an
    /// inner axis's value or flag. On return the columns follow (see
    /// [`Tracer::point_index`]).
    pub fn eval_point(&self, axis_value: &dyn Fn(u32, bool) -> f64, v: &mut Vec<f64>) {
        v.resize(self.scalars.len() + self.columns as usize, f64::NAN);
        for st in &self.steps {
            let (a, b, c) = (
                v[self.point_index(st.a)],
                v[self.point_index(st.b)],
                v[self.point_index(st.c)],
            );
            v[self.point_index(st.out)] = match st.op {
                TapeOp::Arith(op) => op.apply(a, b),
                TapeOp::Select => {
                    if a != 0.0 {
                        b
                    } else {
                        c
                    }
                }
                TapeOp::Lookup { table, stride } => {
                    self.tables[table as usize][a as usize * stride as usize + b as usize]
                }
                TapeOp::Fill { ax, ok } => axis_value(ax, ok),
                TapeOp::Draw { .. } => unreachable!("a Monte Carlo tape is run over draws"),
            };
        }
    }
}
