#!/usr/bin/env bash
# One prepared run on a machine with a real GPU (an NVIDIA H100/H200, say): the adapters,
# `clustersweep bench` on the GPU and on the CPU, and the 10^12-configuration sweep.
# Results go to $OUT (default ./device-out); the exit status is non-zero if any step failed.
# Uses ./target/release/clustersweep as it is when present (build it with
# `cargo build --release` on an x86-64 machine and copy it over with the tree; a stale
# binary is not rebuilt), else builds. wgpu needs a Vulkan loader (libvulkan1) and the
# NVIDIA driver's ICD on that machine.
#
#   OUT=/tmp/out bash benches/device_check.sh
#   SCENARIO=benches/scenarios/memory-1e6.toml bash benches/device_check.sh   # a quick try
# ADAPTER (default: none, i.e. wgpu's choice, discrete first) picks the adapter by name;
# SWEEP_TIMEOUT (default 540 s) stops the sweep if the adapter is far slower than hoped.
set -uo pipefail
OUT=${OUT:-device-out}
SCENARIO=${SCENARIO:-benches/scenarios/gpu-1e12.toml}
ADAPTER_ARGS=(${ADAPTER:+--adapter "$ADAPTER"})
failed=0
mkdir -p "$OUT"
BIN=./target/release/clustersweep
if [ ! -x "$BIN" ]; then
    cargo build --release || exit 1
fi
{
    date -u +%FT%TZ
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>/dev/null
    "$BIN" adapters
} 2>&1 | tee "$OUT/adapters.txt"
# GPU kernel: median of 5, kernel time from timestamp queries; then this machine's CPU.
"$BIN" bench --backend gpu "${ADAPTER_ARGS[@]}" --json "$OUT/gpu.json" 2>&1 | tee "$OUT/bench-gpu.txt" || failed=1
"$BIN" bench --backend cpu --json "$OUT/cpu.json" 2>&1 | tee "$OUT/bench-cpu.txt" || failed=1
# 10^12 configurations on the GPU (issue 3: under two minutes), wall time included.
timeout "${SWEEP_TIMEOUT:-540}" /usr/bin/time -v "$BIN" sweep "$SCENARIO" --backend gpu \
    "${ADAPTER_ARGS[@]}" --json >"$OUT/sweep.json" 2>"$OUT/sweep.time" || failed=1
grep -E "Elapsed|Maximum resident|Command exited" "$OUT/sweep.time"
grep -A3 '"elapsed_s"' "$OUT/sweep.json"
exit $failed
