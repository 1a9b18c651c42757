#!/usr/bin/env python3
"""Compare clustersweep release binaries by user CPU seconds, on a shared machine.

Runs each binary's `bench --backend cpu --threads 1 --configs 100000000 --repeats 3` and
default-scenario `sweep --backend cpu --threads 1 --quiet --format json` back to back,
alternating (the order reversed every round), and prints each one's minimum, median and
every run. User CPU is read with getrusage of the child (as `/usr/bin/time -f %U`), which
other processes' load disturbs far less than wall time. A binary whose `bench` has
`--warmup` runs with `--warmup 0`, so every binary times the same three runs (older builds
have no warm-up run).

    python3 benches/alternate_user_cpu.py ROUNDS BINARY...
"""
import os
import resource
import statistics
import subprocess
import sys

WORKLOADS = {
    "bench": ["bench", "--backend", "cpu", "--threads", "1", "--configs", "100000000",
              "--repeats", "3"],
    "sweep": ["sweep", "--backend", "cpu", "--threads", "1", "--quiet", "--format", "json"],
}


def user_seconds(cmd):
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime - before


def main():
    rounds, binaries = int(sys.argv[1]), sys.argv[2:]
    has_warmup = {
        b: "--warmup" in subprocess.run([b, "bench", "--help"], capture_output=True,
                                        text=True).stdout
        for b in binaries
    }

    def command(b, workload):
        args = [b] + WORKLOADS[workload]
        return args + ["--warmup", "0"] if workload == "bench" and has_warmup[b] else args

    runs = {(b, w): [] for b in binaries for w in WORKLOADS}
    for r in range(rounds):
        for w in WORKLOADS:
            for b in binaries if r % 2 == 0 else binaries[::-1]:
                runs[(b, w)].append(user_seconds(command(b, w)))
        print(f"round {r + 1}, load average {os.getloadavg()[0]:.1f}", flush=True)
    for w in WORKLOADS:
        for b in binaries:
            v = runs[(b, w)]
            print(f"{w:6} {os.path.basename(b):24} min {min(v):.3f} median "
                  f"{statistics.median(v):.3f} all {' '.join(f'{x:.2f}' for x in v)}")


if __name__ == "__main__":
    main()
