#!/bin/bash
# Submit a marketsim sweep to Slurm: a job array with one task per shard,
# plus a merge job that runs after the array whatever happened to it
# (docs/CLUSTER.md, "Clusters with Slurm job arrays").
#
#   submit.sh [OPTIONS] SWEEP.yaml OUTDIR K [OUT.h5]
#
# Array task I (1..K) runs shard I of K into OUTDIR/shard-I-of-K.h5; I and
# K are fixed when the job is submitted, so a task resubmitted alone
# (--only I) reruns exactly that shard, continuing its file (--resume).
# The merge job writes OUT.h5 (default OUTDIR/sweep.h5) when every shard
# is complete; otherwise it lists the shards that are not and prints the
# submit.sh command that resubmits them (and a new merge job).
#
# Options (each also settable in the environment, e.g. MS_MEM=4G):
#   --cpus N          cores per task, all used by marketsim (MS_CPUS; 1)
#   --mem SIZE        memory per task, sbatch --mem (MS_MEM; e.g. 4G)
#   --time T          time limit per task, sbatch --time (MS_TIME)
#   --partition P     sbatch --partition (MS_PARTITION)
#   --account A       sbatch --account (MS_ACCOUNT)
#   --modules LIST    `module load LIST` in every job, for a marketsim
#                     built against environment modules (MS_MODULES)
#   --only LIST       submit only these array indices (e.g. 3 or 2,5-7)
#   --sbatch ARG      pass ARG to both sbatch calls (repeatable)
#
# The binary: $MARKETSIM if set, else the marketsim installed next to this
# script (PREFIX/bin when it is PREFIX/share/marketsim/slurm), else
# `marketsim` on PATH, else the build/ folder of a source tree. Its
# absolute path is passed to the jobs.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)

usage() {
    sed -n '2,/^set -euo/p' "$0" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//'
    exit "${1:-2}"
}
die() { echo "submit.sh: error: $*" >&2; exit 2; }

CPUS=${MS_CPUS:-1}
MEM=${MS_MEM:-}
TIME=${MS_TIME:-}
PARTITION=${MS_PARTITION:-}
ACCOUNT=${MS_ACCOUNT:-}
MODULES=${MS_MODULES:-}
ONLY=""
EXTRA=()
pos=()
while [ $# -gt 0 ]; do
    case "$1" in
        -h|--help) usage 0 ;;
        --cpus|--mem|--time|--partition|--account|--modules|--only|--sbatch)
            [ $# -ge 2 ] || die "$1 needs a value (submit.sh --help)"
            case "$1" in
                --cpus) CPUS=$2 ;;
                --mem) MEM=$2 ;;
                --time) TIME=$2 ;;
                --partition) PARTITION=$2 ;;
                --account) ACCOUNT=$2 ;;
                --modules) MODULES=$2 ;;
                --only) ONLY=$2 ;;
                --sbatch) EXTRA+=("$2") ;;
            esac
            shift 2 ;;
        --*=*) set -- "${1%%=*}" "${1#*=}" "${@:2}" ;;
        -*) die "unknown option $1 (submit.sh --help)" ;;
        *) pos+=("$1"); shift ;;
    esac
done
[ ${#pos[@]} -ge 3 ] && [ ${#pos[@]} -le 4 ] || usage 2
SWEEP=${pos[0]}
OUTDIR=${pos[1]}
K=${pos[2]}
case "$K" in ''|*[!0-9]*|0*) die "K (the number of shards) must be a whole number >= 1, got '$K'" ;; esac
case "$CPUS" in ''|*[!0-9]*|0*) die "--cpus must be a whole number >= 1, got '$CPUS'" ;; esac
[ -f "$SWEEP" ] || die "$SWEEP: no such sweep file"
if [ -n "$ONLY" ]; then
    case "$ONLY" in *[!0-9,-]*) die "--only takes indices like 3 or 2,5-7, got '$ONLY'" ;; esac
    for part in ${ONLY//,/ }; do
        for x in ${part//-/ }; do
            [ "$x" -ge 1 ] && [ "$x" -le "$K" ] ||
                die "--only $ONLY: index $x is not between 1 and $K"
        done
    done
fi

if [ -z "${MARKETSIM:-}" ]; then
    for c in "$HERE/../../../bin/marketsim" "$(command -v marketsim || true)" \
             "$HERE/../../build/marketsim"; do
        if [ -n "$c" ] && [ -x "$c" ]; then MARKETSIM=$c; break; fi
    done
fi
[ -n "${MARKETSIM:-}" ] ||
    die "marketsim not found: install it (cmake --install, docs/CLUSTER.md), put it on PATH or set MARKETSIM=/path/to/marketsim"
if [ "${MARKETSIM#*/}" = "$MARKETSIM" ]; then
    MARKETSIM=$(command -v "$MARKETSIM") || die "MARKETSIM=$MARKETSIM: not found on PATH"
fi
MARKETSIM=$(realpath "$MARKETSIM")
[ -x "$MARKETSIM" ] || die "MARKETSIM=$MARKETSIM is not an executable"

SWEEP=$(realpath "$SWEEP")
mkdir -p "$OUTDIR"
OUTDIR=$(realpath "$OUTDIR")
OUT=$(realpath -m "${pos[3]:-$OUTDIR/sweep.h5}")
# Catch a bad sweep file here rather than in K jobs.
"$MARKETSIM" sweep "$SWEEP" --shard "1/$K" --dry-run >/dev/null ||
    die "$SWEEP does not pass marketsim sweep --dry-run (above)"

common=(--parsable --chdir="$OUTDIR" --export=ALL)
[ -n "$MEM" ] && common+=(--mem="$MEM")
[ -n "$PARTITION" ] && common+=(--partition="$PARTITION")
[ -n "$ACCOUNT" ] && common+=(--account="$ACCOUNT")
common+=("${EXTRA[@]+"${EXTRA[@]}"}")
task=(--array="${ONLY:-1-$K}" --cpus-per-task="$CPUS")
[ -n "$TIME" ] && task+=(--time="$TIME")

# What the merge job prints to resubmit shards: this script with the same
# options (the indices are added there).
resubmit=$(printf '%q ' "$HERE/submit.sh" --cpus "$CPUS")
[ -n "$MEM" ] && resubmit+=$(printf '%q ' --mem "$MEM")
[ -n "$TIME" ] && resubmit+=$(printf '%q ' --time "$TIME")
[ -n "$PARTITION" ] && resubmit+=$(printf '%q ' --partition "$PARTITION")
[ -n "$ACCOUNT" ] && resubmit+=$(printf '%q ' --account "$ACCOUNT")
[ -n "$MODULES" ] && resubmit+=$(printf '%q ' --modules "$MODULES")
for e in "${EXTRA[@]+"${EXTRA[@]}"}"; do resubmit+=$(printf '%q ' --sbatch "$e"); done

export MARKETSIM MS_MODULES="$MODULES" MS_SUBMIT="$resubmit"
array=$(sbatch "${common[@]}" "${task[@]}" "$HERE/sweep-array.sbatch" \
        "$SWEEP" "$OUTDIR" "$K")
array=${array%%;*}
merge=$(sbatch "${common[@]}" --dependency=afterany:"$array" \
        "$HERE/merge.sbatch" "$SWEEP" "$OUTDIR" "$K" "$OUT")
merge=${merge%%;*}
echo "array job $array (shards ${ONLY:-1-$K} of $K, $CPUS core(s) each), merge job $merge -> $OUT"
