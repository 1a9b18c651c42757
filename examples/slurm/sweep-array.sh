#!/bin/bash
# One shard of a clustersweep sweep per task of a Slurm job array.
# Submit with submit.sh (which also queues the merge); the array's size is the shard count.
#SBATCH --job-name=clustersweep-shard
#SBATCH --array=0-3
#SBATCH --gres=gpu:1
#SBATCH --cpus-per-task=8
#SBATCH --time=04:00:00
#SBATCH --output=clustersweep-shard-%A_%a.log
set -euo pipefail

CLUSTERSWEEP=${CLUSTERSWEEP:-clustersweep}
SCENARIO=${SCENARIO:?set SCENARIO to the scenario file}
PARTS=${PARTS:-parts}
# Extra sweep arguments, e.g. "--backend gpu" or "--catalog my-hardware.toml".
read -r -a EXTRA <<< "${SWEEP_ARGS:-}"

mkdir -p "$PARTS"
# --shard auto reads SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_COUNT and SLURM_ARRAY_TASK_MIN.
exec "$CLUSTERSWEEP" sweep "$SCENARIO" --shard auto \
    --partial "$PARTS/part-${SLURM_ARRAY_TASK_ID:?not in a Slurm job array}.json" "${EXTRA[@]}"
