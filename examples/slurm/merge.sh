#!/bin/bash
# Merge the parts of a finished job array into the summary of the whole grid.
# Queued by submit.sh with --dependency=afterok on the array, so it runs only when every
# shard succeeded.
#SBATCH --job-name=clustersweep-merge
#SBATCH --cpus-per-task=1
#SBATCH --time=00:10:00
#SBATCH --output=clustersweep-merge-%j.log
set -euo pipefail

CLUSTERSWEEP=${CLUSTERSWEEP:-clustersweep}
PARTS=${PARTS:-parts}
OUT=${OUT:-results}

exec "$CLUSTERSWEEP" merge "$PARTS"/part-*.json --out "$OUT"
