#!/usr/bin/env bash
# One prepared run on a machine with a real GPU (e.g. the `device` tool's H100/H200): the
# adapters, `clustersweep bench` on the GPU and on the CPU, and the 10^12-configuration
# sweep. Results go to $OUT (default ./device-out). Uses ./target/release/clustersweep when
# it is there (build it with `cargo build --release` on an x86-64 machine and carry it),
# else builds. Where the machine has no Vulkan loader, unpack one first (the device tool's
# README says how).
#
#   OUT=/tmp/out bash benches/device_check.sh
#   SCENARIO=benches/scenarios/memory-1e6.toml bash benches/device_check.sh   # a quick try
set -uo pipefail
OUT=${OUT:-device-out}
SCENARIO=${SCENARIO:-benches/scenarios/gpu-1e12.toml}
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
"$BIN" bench --backend gpu --json "$OUT/gpu.json" 2>&1 | tee "$OUT/bench-gpu.txt"
"$BIN" bench --backend cpu --json "$OUT/cpu.json" 2>&1 | tee "$OUT/bench-cpu.txt"
# 10^12 configurations on the GPU (issue 3: under two minutes), wall time included.
/usr/bin/time -v "$BIN" sweep "$SCENARIO" --backend gpu --json \
    >"$OUT/sweep.json" 2>"$OUT/sweep.time"
grep -E "Elapsed|Maximum resident" "$OUT/sweep.time"
grep -A3 '"timing"' "$OUT/sweep.json"
