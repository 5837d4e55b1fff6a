#!/usr/bin/env bash
# Whole-sweep wall time of two gdsweep binaries (e.g. before and after a change) on the same sweep
# file, alternating, REPS runs each; medians and their ratio. Each run writes a fresh output and
# must exit 0. Builds nothing: build the "before" revision in its own tree, e.g.
#   git worktree add /tmp/gds-before <rev> && cmake -S /tmp/gds-before -B /tmp/gds-before/build \
#     -DCMAKE_BUILD_TYPE=Release && cmake --build /tmp/gds-before/build -j2 --target gdsweep
#
# usage: bench/sweep_before_after.sh BEFORE_GDSWEEP AFTER_GDSWEEP [SWEEP.yaml] [NP] [REPS]
#   defaults: bench/sweep_samples.yaml, 1 rank, 3 runs each.
# env: WAIT_IDLE=S (bench/idle.sh).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/idle.sh"
before=$1 after=$2 sweep=${3:-$here/sweep_samples.yaml} np=${4:-1} reps=${5:-3}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "# whole sweep, before vs after: $(basename "$sweep"), mpirun -n $np, $reps runs each"
echo "date:     $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "machine:  $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(getconf _NPROCESSORS_ONLN) cores"
for which in before after; do echo "$which:  $("${!which}" --version 2>&1 | head -1) ($(readlink -f "${!which}"))"; done
echo "load:     $(cut -d' ' -f1-3 /proc/loadavg) before"
declare -A times
for r in $(seq "$reps"); do
  for which in before after; do
    wait_idle "$which run $r"
    t0=$(date +%s%N)
    mpirun -n "$np" "${!which}" run "$sweep" -o "$work/$which.h5" --force --quiet
    t=$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN {printf "%.3f", (b - a) / 1e9}')
    times[$which]+="$t "
    echo "run $r $which: $t s"
  done
done
echo "load:     $(cut -d' ' -f1-3 /proc/loadavg) after"
med() { tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
mb=$(echo "${times[before]}" | med) ma=$(echo "${times[after]}" | med)
awk -v b="$mb" -v a="$ma" 'BEGIN {printf "median before %.2f s, after %.2f s: %.2fx faster\n", b, a, b / a}'
