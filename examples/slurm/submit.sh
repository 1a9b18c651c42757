#!/bin/bash
# Queue N shards as a job array and the merge as a job that waits for all of them.
# Usage: SCENARIO=plan.toml ./submit.sh N
set -euo pipefail
N=${1:?usage: SCENARIO=plan.toml $0 SHARDS}
here=$(cd "$(dirname "$0")" && pwd)
array=$(sbatch --parsable --export=ALL --array="0-$((N - 1))" "$here/sweep-array.sh")
sbatch --export=ALL --dependency="afterok:${array%%;*}" "$here/merge.sh"
