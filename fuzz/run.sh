#!/usr/bin/env bash
# Run every fuzz target for SECONDS each (default 300) from its seeds, on nightly
# with cargo-fuzz (`cargo install cargo-fuzz`). Findings land in fuzz/artifacts/TARGET/;
# the growing corpus in fuzz/corpus/TARGET/ (neither is committed). Each input gets at most
# 10 s and 2 GiB: a hang or runaway memory is a finding like a panic.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-300}"
# Seeds: the shipped scenarios, the shipped catalog (libFuzzer reads folders recursively),
# and two committed shard partials.
declare -A seeds=([scenario]=configs/scenarios [catalog]=configs [partial]=fuzz/seeds/partial)
for target in scenario catalog partial; do
    mkdir -p "fuzz/corpus/$target"
    cargo +nightly fuzz run "$target" "fuzz/corpus/$target" "${seeds[$target]}" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
        -print_final_stats=1
done
