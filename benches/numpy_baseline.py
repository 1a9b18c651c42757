#!/usr/bin/env python3
"""numpy baseline for clustersweep: the same cluster model over the same grid, in numpy.

Purpose
-------
This is the honest peer for the CPU-kernel benchmark in docs/benchmarks.md: the cluster
model of spec `model.md` (as implemented in src/model.rs) evaluated over a scenario's whole
grid the way a capable Python user would write it: vectorised numpy over chunks of the
flat index (so memory stays bounded whatever the grid size), reducing each chunk to the
counts (evaluated, invalid, feasible) and the best feasible configuration (ties: lowest flat
index). It must agree with `clustersweep sweep --backend cpu --json` on `counts.*` and
`best.index`.

What it does the way the Rust CPU backend does: per-axis validity is decided once per axis
value, and everything that depends only on (accelerator, power) (the power in W, its
validity and the clock factor) is tabulated once and gathered. What it leaves out: the
Rust backend also reduces every metric's min/max/mean, `best_by` groups and the Pareto bins;
this script computes only the metrics that validity, the constraints and the objective need
(which favours numpy). Every formula keeps the operation order of src/model.rs (conversions
as products, `inv_m = j / (mtbf_hours * 3600)`, ...) so values agree bit for bit.
numpy's elementwise ufuncs run on one thread (BLAS thread settings do not matter here).

How to run
----------
    python3 benches/numpy_baseline.py                       # default scenario, whole grid
    python3 benches/numpy_baseline.py --configs 16777216    # flat indices 0 .. 2^24 only
    python3 benches/numpy_baseline.py --scenario FILE --catalog configs/hardware.toml --json

and, side by side, the Rust CPU backend on the same grid:

    ./target/release/clustersweep sweep --backend cpu --json | jq '.counts, .best.index'

Flat index: axes in the order the scenario lists them, the last axis varying fastest
(row-major), exactly as in the spec.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import json
import math
import sys
import time
import tomllib
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

# --- Constants of the model (src/model.rs) ------------------------------------------------

HOURS_PER_YEAR = 8766.0
SECONDS_PER_YEAR = 31_557_600.0
HOME_KWH_PER_YEAR = 10_500.0
KWH_PER_W_YEAR = HOURS_PER_YEAR / 1000.0
HOMES_PER_W = KWH_PER_W_YEAR / HOME_KWH_PER_YEAR
DAYS_PER_SECOND = 1.0 / 86400.0

PRECISIONS = ("fp4", "fp8", "bf16")  # codes 0, 1, 2
COST_MODELS = ("own", "rent")  # codes 0, 1
CATEGORICAL = ("accelerator", "precision", "cost_model")
INTEGER = ("gpu_count", "job_gpus")

# Spec defaults; None = required, or taken from the accelerator, or unset (power_frac).
SPEC_DEFAULTS = {
    "accelerator": None,
    "precision": float(PRECISIONS.index("bf16")),
    "cost_model": float(COST_MODELS.index("own")),
    "gpu_count": None,
    "power_w": None,
    "power_frac": None,
    "utilization": 0.4,
    "load_frac": 0.8,
    "pue": 1.2,
    "host_w": None,
    "job_gpus": 0.0,
    "mtbf_hours": None,
    "checkpoint_s": 30.0,
    "restart_s": 300.0,
    "years": 5.0,
    "electricity_usd_per_kwh": 0.08,
    "gpu_price_usd": None,
    "host_capex_usd": None,
    "facility_usd_per_w": 12.0,
    "gpu_hour_usd": 0.0,
    "carbon_kg_per_kwh": 0.4,
}
PARAMS = tuple(SPEC_DEFAULTS)

# Parameters whose default is the accelerator's figure (power_w is handled with power_frac).
ACCELERATOR_DEFAULTS = {
    "host_w": "host_w",
    "mtbf_hours": "mtbf_hours",
    "gpu_price_usd": "price_usd",
    "host_capex_usd": "host_capex_usd",
}

ACCELERATOR_NUMBERS = (
    "tdp_w", "idle_w", "min_power_w", "dvfs_exponent", "host_w", "mtbf_hours",
    "price_usd", "host_capex_usd", "hbm_gb",
)

# Constraint name -> (metric, is upper bound); bounds are inclusive.
CONSTRAINTS = {
    "max_facility_mw": ("facility_mw", True),
    "max_tco_usd": ("tco_usd", True),
    "max_capex_usd": ("capex_usd", True),
    "max_train_days": ("train_days", True),
    "min_throughput_pflops": ("throughput_pflops", False),
}

OBJECTIVE_SENSES = {
    "throughput_pflops": "max",
    "usd_per_eflop": "min",
    "train_days": "min",
    "gflops_per_w": "max",
    "tco_usd": "min",
}

# Configurations per chunk. Memory is a few dozen arrays of this length whatever the grid
# size; 2^16 keeps them in cache (on a 2-core Xeon: faster than 2^18 and much faster than
# 2^22, where every temporary goes through main memory).
DEFAULT_CHUNK = 1 << 16


# --- Parameter validity (spec "Parameters", valid column) ---------------------------------

def value_in_range(param: str, x: np.ndarray) -> np.ndarray:
    """Whether raw values of one parameter are inside its valid range (NaN is not).

    Checks that need the accelerator (precision has a peak, power within its limits) are
    made per configuration in `power_table` and `ChunkModel.valid`."""
    x = np.asarray(x, dtype=np.float64)
    if param in ("accelerator", "precision", "cost_model", "power_w"):
        return np.ones(x.shape, dtype=bool)
    if param == "gpu_count":
        return (x >= 1.0) & (x <= 1e8) & (np.trunc(x) == x)
    if param in ("power_frac", "utilization"):
        return (x > 0.0) & (x <= 1.0)
    if param == "load_frac":
        return (x >= 0.0) & (x <= 1.0)
    if param == "pue":
        return (x >= 1.0) & (x <= 3.0)
    if param == "job_gpus":
        return (x >= 0.0) & (np.trunc(x) == x)
    if param in ("mtbf_hours", "years"):
        return x > 0.0
    return x >= 0.0


# --- Reading the catalog and the scenario -------------------------------------------------

def round_half_away(x: float) -> float:
    """Round to the nearest integer, halves away from zero (Rust's f64::round), as float."""
    t = math.trunc(x)
    if abs(x - t) >= 0.5:
        t += 1 if x > 0 else -1
    return float(t) + 0.0  # + 0.0: -0 and 0 are one value


def range_values(spec: dict) -> list[float]:
    """Values of a range `{ from, to, steps, scale }`, both ends included, each rounded to
    15 significant digits (spec v2: 0.4, not 0.39999999999999997)."""
    lo, hi, steps = float(spec["from"]), float(spec["to"]), int(spec["steps"])
    log = spec.get("scale", "linear") == "log"
    if steps < 1:
        raise ValueError(f"a range needs at least 1 step, got {steps}")
    if steps == 1:
        return [round15(lo)]
    last = float(steps - 1)
    if log:
        ratio = hi / lo
        return [round15(lo * ratio ** (k / last)) for k in range(steps)]
    return [round15(lo + (hi - lo) * k / last) for k in range(steps)]


def round15(x: float) -> float:
    """`x` rounded to 15 significant decimal digits."""
    return x if x == 0.0 else float(f"{x:.14e}")


def load_accelerators(catalog: dict, scenario: dict) -> list[dict]:
    """The accelerator table: the catalog (with the scenario's overrides), then the
    scenario's own definitions, in that order (codes index this list)."""
    table: dict[str, dict] = {}
    for source in (catalog.get("accelerators", {}), scenario.get("accelerators", {})):
        for acc_id, fields in source.items():
            acc = dict(table.get(acc_id, {"id": acc_id, "dvfs_exponent": 3.0, "peak_tflops": {}}))
            for name in ACCELERATOR_NUMBERS:
                if name in fields:
                    acc[name] = float(fields[name])
            if "peak_tflops" in fields:
                acc["peak_tflops"] = {**acc["peak_tflops"], **fields["peak_tflops"]}
            missing = [n for n in ACCELERATOR_NUMBERS if n not in acc]
            if missing:
                raise ValueError(f"accelerator {acc_id}: missing {', '.join(missing)}")
            table[acc_id] = acc
    return list(table.values())


def accelerator_code(name: str, accelerators: list[dict]) -> float:
    ids = [a["id"] for a in accelerators]
    if name in ids:
        return float(ids.index(name))
    lowered = [i.lower() for i in ids]
    if name.lower() in lowered:
        return float(lowered.index(name.lower()))
    raise ValueError(f"unknown accelerator {name!r}; known: {', '.join(ids)}")


def parse_value(param: str, raw, accelerators: list[dict]) -> float:
    """One fixed value (or list element) as its raw code or number."""
    if param == "accelerator":
        return accelerator_code(raw, accelerators)
    if param == "precision":
        return float(PRECISIONS.index(raw))
    if param == "cost_model":
        return float(COST_MODELS.index(raw))
    x = float(raw)
    if not math.isfinite(x):
        raise ValueError(f"{param}: must be finite, got {x}")
    return round_half_away(x) if param in INTEGER else x


def parse_axis(param: str, raw, accelerators: list[dict]) -> np.ndarray:
    """An axis: a list of values or a range; integer axes rounded and de-duplicated."""
    if isinstance(raw, dict):
        if param in CATEGORICAL:
            raise ValueError(f"axes.{param}: a categorical parameter takes a list of names")
        values = range_values(raw)
    else:
        values = [parse_value(param, v, accelerators) for v in raw]
    if param in INTEGER:
        seen, kept = set(), []
        for v in (round_half_away(x) for x in values):
            if v not in seen:
                seen.add(v)
                kept.append(v)
        values = kept
    if not values:
        raise ValueError(f"axes.{param}: an axis needs at least one value")
    return np.asarray(values, dtype=np.float64)


@dataclass
class Sweep:
    """A scenario resolved into what the chunk evaluator needs."""

    name: str
    accelerators: list[dict]
    axis_params: list[str]
    axis_values: list[np.ndarray]
    fixed: dict[str, float]
    constraints: list[tuple[str, float, bool]]
    objective: str
    sense: str
    train_flop: float | None
    model_params: float | None
    axis_of: dict[str, int] = field(init=False)
    lens: list[int] = field(init=False)
    size: int = field(init=False)
    axis_ok: list[np.ndarray] = field(init=False)
    fixed_ok: bool = field(init=False)
    acc_columns: dict[str, np.ndarray] = field(init=False)
    peak_table: np.ndarray = field(init=False)
    power: dict[str, np.ndarray] = field(init=False)

    def __post_init__(self) -> None:
        self.axis_of = {p: k for k, p in enumerate(self.axis_params)}
        self.lens = [len(v) for v in self.axis_values]
        self.size = math.prod(self.lens)
        self.axis_ok = [value_in_range(p, v) for p, v in zip(self.axis_params, self.axis_values)]
        self.fixed_ok = all(bool(value_in_range(p, x)) for p, x in self.fixed.items())
        self.acc_columns = {
            n: np.array([a[n] for a in self.accelerators]) for n in ACCELERATOR_NUMBERS
        }
        # Dense peak TFLOP/s per (accelerator, precision code); 0 where there is none.
        self.peak_table = np.array(
            [[float(a["peak_tflops"].get(p, 0.0)) for p in PRECISIONS] for a in self.accelerators]
        )
        self.power = self._power_table()

    def power_axis(self) -> tuple[str | None, np.ndarray]:
        """Which of power_frac / power_w sets the power, and its values (fixed = 1 value)."""
        for p in ("power_frac", "power_w"):
            if p in self.axis_of:
                return p, self.axis_values[self.axis_of[p]]
            if p in self.fixed:
                return p, np.array([self.fixed[p]])
        return None, np.array([np.nan])

    def _power_table(self) -> dict[str, np.ndarray]:
        """Power in W, its validity for the accelerator, and the clock factor, for every
        (accelerator code, power value): flat position `acc * n_power + power_digit`.

        The clock factor uses math.pow, the C library's pow, as Rust's f64::powf does
        (numpy's vectorised power may differ in the last bit on some CPUs); the table is
        small (accelerators x power values)."""
        kind, values = self.power_axis()
        n_acc, n_pow = len(self.accelerators), len(values)
        watts = np.empty(n_acc * n_pow)
        clock = np.empty(n_acc * n_pow)
        ok = np.empty(n_acc * n_pow, dtype=bool)
        for a, acc in enumerate(self.accelerators):
            tdp, idle = acc["tdp_w"], acc["idle_w"]
            exponent = 1.0 / acc["dvfs_exponent"]
            for d, v in enumerate(values.tolist()):
                p = v * tdp if kind == "power_frac" else (v if kind == "power_w" else tdp)
                base = (p - idle) / (tdp - idle)
                i = a * n_pow + d
                watts[i] = p
                clock[i] = math.pow(base, exponent) if base >= 0.0 else math.nan
                ok[i] = acc["min_power_w"] <= p <= tdp
        return {"watts": watts, "clock": clock, "ok": ok, "n_power": n_pow}


def load_sweep(scenario_path: str, catalog_path: str) -> Sweep:
    with open(catalog_path, "rb") as f:
        catalog = tomllib.load(f)
    with open(scenario_path, "rb") as f:
        scenario = tomllib.load(f)
    accelerators = load_accelerators(catalog, scenario)

    axis_params, axis_values, fixed = [], [], {}
    for param, raw in scenario.get("axes", {}).items():
        if param not in SPEC_DEFAULTS:
            raise ValueError(f"axes.{param}: unknown parameter")
        axis_params.append(param)
        axis_values.append(parse_axis(param, raw, accelerators))
    for param, raw in scenario.get("fixed", {}).items():
        if param not in SPEC_DEFAULTS or param in axis_params:
            raise ValueError(f"fixed.{param}: unknown parameter, or already an axis")
        fixed[param] = parse_value(param, raw, accelerators)
    set_params = set(axis_params) | set(fixed)
    if {"power_w", "power_frac"} <= set_params:
        raise ValueError("set either power_w or power_frac, not both")
    for required in ("accelerator", "gpu_count"):
        if required not in set_params:
            raise ValueError(f"{required}: required: set it in [fixed] or [axes]")

    workload = scenario.get("workload", {})
    constraints = []
    for name, bound in scenario.get("constraints", {}).items():
        metric, upper = CONSTRAINTS[name]
        constraints.append((metric, float(bound), upper))
    objective = scenario.get("objective", {})
    metric = objective.get("metric", "throughput_pflops")
    sense = objective.get("sense", OBJECTIVE_SENSES.get(metric))
    if sense not in ("max", "min"):
        raise ValueError(f"objective {metric}: add sense = \"max\" or \"min\"")
    return Sweep(
        name=scenario.get("name", scenario_path),
        accelerators=accelerators,
        axis_params=axis_params,
        axis_values=axis_values,
        fixed=fixed,
        constraints=constraints,
        objective=metric,
        sense=sense,
        train_flop=workload.get("train_flop"),
        model_params=workload.get("model_params"),
    )


# --- The model over one chunk -------------------------------------------------------------

class ChunkModel:
    """The model of src/model.rs over one chunk of configurations, given by their
    per-axis positions `digits`.

    Every quantity is a numpy array over the chunk (or a scalar when it does not vary) and
    is computed on first use, so a sweep pays only for what validity, the constraints and
    the objective need. Operation order follows src/model.rs."""

    def __init__(self, sweep: Sweep, digits: list[np.ndarray]):
        self.sweep = sweep
        self.digits = digits
        self._params: dict[str, object] = {}

    def param(self, name: str):
        """A parameter's value per configuration: axis value, fixed value or default."""
        if name not in self._params:
            s = self.sweep
            if name in s.axis_of:
                k = s.axis_of[name]
                value = s.axis_values[k][self.digits[k]]
            elif name in s.fixed:
                value = s.fixed[name]
            elif name in ACCELERATOR_DEFAULTS:
                value = s.acc_columns[ACCELERATOR_DEFAULTS[name]][self.acc]
            else:
                value = SPEC_DEFAULTS[name]
            self._params[name] = value
        return self._params[name]

    def digit(self, name: str):
        """The axis position of a parameter per configuration (0 if it is not an axis)."""
        k = self.sweep.axis_of.get(name)
        return 0 if k is None else self.digits[k]

    @cached_property
    def acc(self):
        """Accelerator code per configuration (integer)."""
        a = self.param("accelerator")
        return a.astype(np.intp) if isinstance(a, np.ndarray) else int(a)

    @cached_property
    def power_key(self):
        """Position in the sweep's (accelerator, power) table."""
        s = self.sweep
        kind, _ = s.power_axis()
        return self.acc * s.power["n_power"] + (self.digit(kind) if kind else 0)

    @cached_property
    def n(self):
        return self.param("gpu_count")

    @cached_property
    def p(self):
        return self.sweep.power["watts"][self.power_key]

    @cached_property
    def idle(self):
        return self.sweep.acc_columns["idle_w"][self.acc]

    @cached_property
    def valid(self):
        """Every parameter in its valid range (spec "Validity")."""
        s = self.sweep
        ok = s.fixed_ok & s.power["ok"][self.power_key]
        ok = ok & (s.peak_table[self.acc, self.precision_code] > 0.0)
        for k, axis_ok in enumerate(s.axis_ok):
            if not axis_ok.all():
                ok = ok & axis_ok[self.digits[k]]
        return ok

    @cached_property
    def precision_code(self):
        x = self.param("precision")
        return x.astype(np.intp) if isinstance(x, np.ndarray) else int(x)

    @cached_property
    def flops(self):
        """F = N * f * g, useful FLOP/s of the cluster."""
        s = self.sweep
        peak = s.peak_table[self.acc, self.precision_code]
        clock = s.power["clock"][self.power_key]
        f = peak * 1e12 * self.param("utilization") * clock
        return self.n * f * self.goodput

    @cached_property
    def goodput(self):
        n, job = self.n, self.param("job_gpus")
        j = np.where(job == 0.0, n, np.minimum(job, n))
        inv_m = j / (self.param("mtbf_hours") * 3600.0)
        lost = np.sqrt(2.0 * self.param("checkpoint_s") * inv_m) + self.param("restart_s") * inv_m
        return np.clip(1.0 - lost, 0.0, 1.0)

    @cached_property
    def it_w(self):
        return self.n * (self.p + self.param("host_w"))

    @cached_property
    def avg_w(self):
        draw_w = self.idle + (self.p - self.idle) * self.param("load_frac")
        return self.n * (draw_w + self.param("host_w")) * self.param("pue")

    @cached_property
    def energy_kwh(self):
        return self.avg_w * KWH_PER_W_YEAR * self.param("years")

    @cached_property
    def own(self):
        return self.param("cost_model") == 0.0

    @cached_property
    def own_capex(self):
        n, host, pue = self.n, self.param("host_w"), self.param("pue")
        tdp = self.sweep.acc_columns["tdp_w"][self.acc]
        return n * (self.param("gpu_price_usd") + self.param("host_capex_usd")) + n * (
            tdp + host
        ) * pue * self.param("facility_usd_per_w")

    @cached_property
    def capex_usd(self):
        if not np.any(self.own):
            return 0.0
        return np.where(self.own, self.own_capex, 0.0)

    @cached_property
    def tco_usd(self):
        """own: capex + energy cost; rent: accelerator-hours (only the branches used)."""
        own = self.own
        if np.all(own):
            return self.own_capex + self.energy_kwh * self.param("electricity_usd_per_kwh")
        rent_tco = self.n * HOURS_PER_YEAR * self.param("years") * self.param("gpu_hour_usd")
        if not np.any(own):
            return rent_tco
        own_tco = self.own_capex + self.energy_kwh * self.param("electricity_usd_per_kwh")
        return np.where(own, own_tco, rent_tco)

    @cached_property
    def total_flop(self):
        return self.flops * SECONDS_PER_YEAR * self.param("years")

    @cached_property
    def train_days(self):
        return np.where(self.flops == 0.0, np.inf,
                        self.sweep.train_flop / self.flops * DAYS_PER_SECOND)

    def metric(self, name: str):
        """A reported metric by its contract name."""
        if name == "throughput_pflops":
            return self.flops * 1e-15
        if name == "facility_mw":
            return self.it_w * self.param("pue") * 1e-6
        if name == "tco_usd":
            return self.tco_usd
        if name == "capex_usd":
            return self.capex_usd
        if name == "train_days":
            return self.train_days
        if name == "usd_per_eflop":
            return np.where(self.total_flop == 0.0, np.inf, self.tco_usd * 1e18 / self.total_flop)
        if name == "gflops_per_w":
            return self.flops / self.avg_w * 1e-9
        if name == "clock_factor":
            return self.sweep.power["clock"][self.power_key]
        if name == "goodput":
            return self.goodput
        if name == "it_mw":
            return self.it_w * 1e-6
        if name == "avg_facility_mw":
            return self.avg_w * 1e-6
        if name == "energy_gwh":
            return self.energy_kwh * 1e-6
        if name == "total_eflop":
            return self.total_flop * 1e-18
        if name == "homes":
            return self.avg_w * HOMES_PER_W
        if name == "co2_t":
            return self.energy_kwh * self.param("carbon_kg_per_kwh") * 1e-3
        if name == "tokens_per_s":
            return self.flops * (1.0 / (6.0 * self.sweep.model_params))
        raise ValueError(f"metric {name!r} is not supported by this baseline")


class FlatIndexDecoder:
    """Per-axis positions of contiguous ranges of the flat index (row-major, the last axis
    fastest): position on axis k = (index // stride_k) % len_k.

    Over consecutive indices the position on axis k repeats with period len_k * stride_k.
    For the (fast, inner) axes whose period is short the positions of one period plus one
    chunk are computed once, and a chunk's positions are a slice of them; the slow outer
    axes use integer division on the chunk's indices."""

    MAX_PATTERN = 1 << 22

    def __init__(self, lens: list[int], chunk: int):
        self.lens = lens
        self.strides = [math.prod(lens[k + 1:]) for k in range(len(lens))]
        self.patterns = []
        for n, stride in zip(lens, self.strides):
            period = n * stride
            if period + chunk <= self.MAX_PATTERN:
                self.patterns.append((np.arange(period + chunk) // stride) % n)
            else:
                self.patterns.append(None)

    def digits(self, start: int, stop: int) -> list[np.ndarray]:
        index = None
        out = []
        for n, stride, pattern in zip(self.lens, self.strides, self.patterns):
            if pattern is not None:
                offset = start % (n * stride)
                out.append(pattern[offset:offset + stop - start])
            else:
                if index is None:
                    index = np.arange(start, stop, dtype=np.int64)
                out.append(index // stride % n)
        return out


def evaluate_chunk(sweep: Sweep, decoder: FlatIndexDecoder, start: int, stop: int):
    """Counts and best feasible configuration of flat indices `start .. stop`.

    Returns (invalid, feasible, best_index or None, best_objective or None)."""
    size = stop - start
    m = ChunkModel(sweep, decoder.digits(start, stop))
    valid = np.broadcast_to(m.valid, (size,))
    feasible = valid & (m.metric("throughput_pflops") > 0.0)
    for metric, bound, upper in sweep.constraints:
        value = m.metric(metric)
        feasible &= (value <= bound) if upper else (value >= bound)
    invalid = size - int(np.count_nonzero(valid))
    n_feasible = int(np.count_nonzero(feasible))
    if n_feasible == 0:
        return invalid, 0, None, None
    objective = np.broadcast_to(m.metric(sweep.objective), (size,))
    if sweep.sense == "max":
        i = int(np.argmax(np.where(feasible, objective, -np.inf)))
    else:
        i = int(np.argmin(np.where(feasible, objective, np.inf)))
    return invalid, n_feasible, start + i, float(objective[i])


def sweep_grid(sweep: Sweep, configs: int, chunk: int = DEFAULT_CHUNK) -> dict:
    """Evaluate flat indices 0 .. configs in chunks; keep the counts and the best."""
    invalid = feasible = 0
    best_index, best_value = None, None
    better = (lambda a, b: a > b) if sweep.sense == "max" else (lambda a, b: a < b)
    decoder = FlatIndexDecoder(sweep.lens, chunk)
    start_time = time.perf_counter()
    with np.errstate(all="ignore"):
        for start in range(0, configs, chunk):
            stop = min(start + chunk, configs)
            c_invalid, c_feasible, c_index, c_value = evaluate_chunk(sweep, decoder, start, stop)
            invalid += c_invalid
            feasible += c_feasible
            # Chunks come in index order, so a strict comparison keeps the lowest index on ties.
            if c_index is not None and (best_index is None or better(c_value, best_value)):
                best_index, best_value = c_index, c_value
    elapsed = time.perf_counter() - start_time
    return {
        "evaluated": configs,
        "invalid": invalid,
        "feasible": feasible,
        "best_index": best_index,
        "best_objective": best_value,
        "elapsed_s": elapsed,
        "configs_per_s": configs / elapsed if elapsed > 0 else None,
    }


def keep_freed_memory() -> None:
    """Ask glibc's malloc to reuse freed chunk arrays instead of returning them to the OS.

    Every numpy temporary of a chunk (512 KiB at 2^16 configurations) is above glibc's
    default mmap threshold, so each one is mmapped and unmapped again: on the 2-core Xeon
    this doubled the run time in page faults (sys time). Same as running with
    MALLOC_MMAP_THRESHOLD_ and MALLOC_TRIM_THRESHOLD_ set; does nothing off glibc."""
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return
    try:
        libc = ctypes.CDLL(libc_name)
        m_trim_threshold, m_mmap_threshold = -1, -3
        libc.mallopt(m_mmap_threshold, 1 << 28)
        libc.mallopt(m_trim_threshold, 1 << 30)
    except (OSError, AttributeError):
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", default="configs/scenarios/openai-aws-2025.toml")
    parser.add_argument("--catalog", default="configs/hardware.toml")
    parser.add_argument("--configs", type=int, default=None,
                        help="evaluate flat indices 0 .. N only (default: the whole grid)")
    parser.add_argument("--chunk", type=int, default=DEFAULT_CHUNK,
                        help=f"configurations per chunk (default {DEFAULT_CHUNK})")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    keep_freed_memory()

    sweep = load_sweep(args.scenario, args.catalog)
    configs = sweep.size if args.configs is None else max(0, min(args.configs, sweep.size))
    result = sweep_grid(sweep, configs, args.chunk)
    if args.json:
        print(json.dumps(result))
        return 0
    lens = " x ".join(str(n) for n in sweep.lens) or "1"
    print(f"scenario     {sweep.name} (grid {lens} = {sweep.size} configurations)")
    print(f"numpy        {np.__version__}, chunks of {args.chunk}")
    print(f"evaluated    {result['evaluated']}")
    print(f"invalid      {result['invalid']}")
    print(f"feasible     {result['feasible']}")
    print(f"best         index {result['best_index']}, "
          f"{sweep.objective} ({sweep.sense}) = {result['best_objective']}")
    print(f"elapsed      {result['elapsed_s']:.3f} s")
    rate = result["configs_per_s"]
    print(f"throughput   {rate:.3e} configurations/s" if rate else "throughput   n/a")
    return 0


if __name__ == "__main__":
    sys.exit(main())
