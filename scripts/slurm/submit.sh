#!/bin/bash
# Submit a sweep as a Slurm job array of N shards plus a merge job that
# runs when every shard succeeded.
#
#   scripts/slurm/submit.sh SWEEP.yaml OUTDIR N [OUT.h5]
#
# Prints the two job ids. MARKETSIM (the binary) and any sbatch options in
# SBATCH_* environment variables are passed through.
set -euo pipefail
SWEEP=${1:?usage: submit.sh SWEEP.yaml OUTDIR N [OUT.h5]}
OUTDIR=${2:?usage: submit.sh SWEEP.yaml OUTDIR N [OUT.h5]}
N=${3:?usage: submit.sh SWEEP.yaml OUTDIR N [OUT.h5]}
OUT=${4:-$OUTDIR/sweep.h5}
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$OUTDIR"
array=$(sbatch --parsable --chdir="$OUTDIR" --array=0-$((N - 1)) \
        --export=ALL "$HERE/sweep-array.sbatch" "$(realpath "$SWEEP")" "$(realpath "$OUTDIR")")
merge=$(sbatch --parsable --chdir="$OUTDIR" --dependency=afterok:"$array" \
        --export=ALL "$HERE/merge.sbatch" "$(realpath "$OUTDIR")" "$N" "$(realpath -m "$OUT")")
echo "array job $array ($N shards), merge job $merge -> $OUT"
