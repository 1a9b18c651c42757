#!/usr/bin/env python3
"""clustersweep's CPU backend and the numpy peer on the same scenario, in one run.

Runs `clustersweep sweep SCENARIO --backend cpu --json` and `benches/numpy_baseline.py
--scenario SCENARIO --json` alternately (so both see the same machine state), checks that
they agree on the counts and the best configuration's index, and prints every run's time,
each side's median and the ratio of the medians. Times are those each program reports for
the sweep itself (no process start-up, parsing or output).

    cargo build --release
    python3 benches/side_by_side.py                          # default scenario, 3 runs each
    python3 benches/side_by_side.py --scenario FILE --runs 5 --json result.json

`--scenario` and `--bin` are relative to the repository root (both programs run there);
`--json` is relative to the current directory.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def numpy_version() -> str | None:
    try:
        import numpy
    except ImportError:
        return None
    return numpy.__version__


def run_json(cmd: list[str]) -> dict:
    out = subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", default="configs/scenarios/openai-aws-2025.toml")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None,
                        help="clustersweep CPU threads (default: one per core)")
    parser.add_argument("--bin", default="target/release/clustersweep")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if not (ROOT / args.bin).exists():
        print(f"{args.bin} not found: run `cargo build --release` first", file=sys.stderr)
        return 2

    sweep = [args.bin, "sweep", args.scenario, "--backend", "cpu", "--json"]
    if args.threads is not None:
        sweep += ["--threads", str(args.threads)]
    numpy = [sys.executable, "benches/numpy_baseline.py", "--scenario", args.scenario, "--json"]
    rust_s, numpy_s = [], []
    for i in range(args.runs):
        rust = run_json(sweep)
        peer = run_json(numpy)
        counts = rust["counts"]
        same = (
            (counts["evaluated"], counts["invalid"], counts["feasible"], rust["best"]["index"])
            == (peer["evaluated"], peer["invalid"], peer["feasible"], peer["best_index"])
        )
        if not same:
            print(f"run {i + 1}: the two disagree:\n{counts} best {rust['best']['index']}\n"
                  f"{peer}", file=sys.stderr)
            return 1
        rust_s.append(rust["run"]["elapsed_s"])
        numpy_s.append(peer["elapsed_s"])
        print(f"run {i + 1}: clustersweep {rust_s[-1]:.3f} s, numpy {numpy_s[-1]:.3f} s")

    configs = counts["evaluated"]
    rust_m, numpy_m = statistics.median(rust_s), statistics.median(numpy_s)
    print(f"\n{args.scenario}: {configs:,} configurations, counts and best index agree")
    print(f"{'':14}{'median s':>10}{'configurations/s':>18}")
    print(f"{'clustersweep':14}{rust_m:>10.3f}{configs / rust_m:>18.3e}")
    print(f"{'numpy':14}{numpy_m:>10.3f}{configs / numpy_m:>18.3e}")
    print(f"clustersweep / numpy: {numpy_m / rust_m:.1f}x")
    if args.json:
        doc = {
            "scenario": args.scenario,
            "configs": configs,
            "date": datetime.date.today().isoformat(),
            "host": {"machine": platform.machine(), "cpus": os.cpu_count(),
                     "python": platform.python_version(), "numpy": numpy_version()},
            "clustersweep_backend": rust["run"]["backend"],
            "clustersweep_s": rust_s,
            "numpy_s": numpy_s,
            "ratio_of_medians": numpy_m / rust_m,
        }
        Path(args.json).write_text(json.dumps(doc, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
