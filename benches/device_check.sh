#!/usr/bin/env bash
# One prepared run on a machine with a real GPU (an NVIDIA H100/H200, say), to be run once
# and its results committed: the adapters; `clustersweep bench` (clustersweep.bench/2:
# --warmup, --repeats, every repetition kept) on the GPU and on the CPU, each over both
# named workloads (`default`: the default scenario's whole grid, the same on every backend;
# `synthetic`: sized for about 1 s per repetition on each backend); `bench collect` over
# the results (one markdown table, CSV and SVG chart); and the 10^12-configuration sweep.
#
# Everything goes to docs/bench/$MACHINE/ (DEST overrides the folder), MACHINE being named
# by the machine: the first GPU's name from nvidia-smi (else wgpu's first adapter, else the
# host name) and the CPU thread count, lower-cased, e.g. `nvidia-h100-80gb-hbm3-cpu16`.
# The exit status is non-zero if any step failed; the other steps still run.
#
# Uses ./target/release/clustersweep as it is when present (build it with
# `cargo build --release` and copy it over with the tree; a stale binary is not rebuilt),
# else builds. wgpu needs a Vulkan loader (libvulkan1) and the NVIDIA driver's ICD there.
#
#   bash benches/device_check.sh                       # docs/bench/<machine>/
#   DEST=/tmp/out REPEATS=3 SCENARIO=benches/scenarios/memory-1e6.toml \
#     bash benches/device_check.sh                     # a quick try
#
# ADAPTER (default: none, i.e. wgpu's choice, discrete first) picks the adapter by name;
# WARMUP (default 2) and REPEATS (default 10) are passed to every bench; BENCH_TIMEOUT
# (default 300 s) bounds each bench; SWEEP_TIMEOUT (default 540 s) stops the sweep if the
# adapter is far slower than hoped.
set -uo pipefail
BIN=./target/release/clustersweep
if [ ! -x "$BIN" ]; then
    cargo build --release || exit 1
fi
SCENARIO=${SCENARIO:-benches/scenarios/gpu-1e12.toml}
WARMUP=${WARMUP:-2}
REPEATS=${REPEATS:-10}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-300}
ADAPTER_ARGS=()
if [ -n "${ADAPTER:-}" ]; then
    ADAPTER_ARGS=(--adapter "$ADAPTER")
fi

# The machine's name: GPU model and CPU threads, as a folder name.
gpu_name=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n 1)
if [ -z "$gpu_name" ]; then
    gpu_name=$("$BIN" adapters --json 2>/dev/null |
        sed -n 's/^ *"name": *"\(.*\)",*$/\1/p' | head -n 1)
fi
if [ -z "$gpu_name" ]; then
    gpu_name=$(hostname)
fi
MACHINE=${MACHINE:-$(printf '%s-cpu%s' "$gpu_name" "$(nproc)" |
    tr '[:upper:]' '[:lower:]' | tr -cs 'a-z0-9.' '-' | sed 's/^-*//; s/-*$//')}
DEST=${DEST:-docs/bench/$MACHINE}
mkdir -p "$DEST" || exit 1
echo "device_check: results go to $DEST"
failed=0

{
    date -u +%FT%TZ
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>/dev/null
    "$BIN" adapters
} 2>&1 | tee "$DEST/adapters.txt"

# The kernel on each backend over each workload: every repetition kept, with statistics.
for backend in gpu cpu; do
    extra=()
    if [ "$backend" = gpu ]; then
        extra=("${ADAPTER_ARGS[@]}")
    fi
    for workload in default synthetic; do
        name="$backend-$workload"
        echo "device_check: bench $name"
        timeout "$BENCH_TIMEOUT" "$BIN" bench --backend "$backend" "${extra[@]}" \
            --workload "$workload" --warmup "$WARMUP" --repeats "$REPEATS" \
            --json "$DEST/$name.json" --markdown "$DEST/$name.md" \
            2>&1 | tee "$DEST/$name.txt" || failed=1
    done
done

# One table of the results (the skipped files are named on stderr).
"$BIN" bench collect "$DEST" --markdown "$DEST/collect.md" --csv "$DEST/collect.csv" \
    --svg "$DEST/collect.svg" 2>&1 | tee "$DEST/collect.txt" || failed=1

# 10^12 configurations on the GPU (issue 3: under two minutes), wall time included.
timeout "${SWEEP_TIMEOUT:-540}" /usr/bin/time -v "$BIN" sweep "$SCENARIO" --backend gpu \
    "${ADAPTER_ARGS[@]}" --json >"$DEST/sweep.json" 2>"$DEST/sweep.time" || failed=1
grep -E "Elapsed|Maximum resident|Command exited" "$DEST/sweep.time"
grep -A3 '"elapsed_s"' "$DEST/sweep.json"
exit $failed
