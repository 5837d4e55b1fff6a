#!/usr/bin/env bash
# A/B timing of the exact law between two builds in one invocation (issue 9: the default sampler
# must stay within 1.2x of the previous code). Runs `gds_bench --cases law` of BASE and NEW
# alternately, ROUNDS times, pinned to one core, and prints per case the median over rounds of
# each run's CPU-time median (wall time includes slices lost to other jobs on a shared machine)
# and the ratio NEW/BASE.
#   bench/law_ab.sh BASE_BUILD NEW_BUILD [ROUNDS] [gds_bench options...]
# e.g. bench/law_ab.sh /tmp/base/build build 5 -r 5            # 256x256, T = 1000, blur
#      bench/law_ab.sh /tmp/base/build build 3 -r 3 --sr 4 --w2-times 11
set -euo pipefail
base=${1:?BASE_BUILD}; new=${2:?NEW_BUILD}; rounds=${3:-5}; shift 3 || shift $#
cpu=${CPU:-0}
for b in "$base" "$new"; do [ -x "$b/bench/gds_bench" ] || { echo "law_ab: $b/bench/gds_bench not built" >&2; exit 1; }; done
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "# law A/B on $(hostname) $(date -u '+%Y-%m-%d %H:%M UTC'), core $cpu, $rounds rounds: gds_bench --cases law $*"
echo "# base $(git -C "$base/.." describe --always --dirty 2>/dev/null || echo "$base"), new $(git -C "$new/.." describe --always --dirty 2>/dev/null || echo "$new")"
for ((r = 0; r < rounds; r++)); do
  taskset -c "$cpu" "$base/bench/gds_bench" --cases law "$@" | grep '^BENCH' | sed 's/^/base /' >> "$out/all"
  taskset -c "$cpu" "$new/bench/gds_bench" --cases law "$@" | grep '^BENCH' | sed 's/^/new /' >> "$out/all"
done
/usr/bin/python3 - "$out/all" <<'PY'
import sys, statistics as st
rows = {}
for line in open(sys.argv[1]):
    who, _, name, med, lo, hi, reps, cpu = line.split()
    if '.' in name.split('@')[-1].split(')')[-1]:   # skip the .create/.posterior/.evaluate phases
        continue
    rows.setdefault(name, {}).setdefault(who, []).append((float(cpu), float(med)))
print(f"{'case':44s} {'base cpu s':>10s} {'new cpu s':>10s} {'new/base':>9s} {'base wall':>10s} {'new wall':>10s}")
for name, d in rows.items():
    if 'base' not in d or 'new' not in d:
        print(f"{name:44s} {'-':>10s} {st.median(c for c, _ in d.get('new', [(0, 0)])):10.4f}")
        continue
    bc, nc = st.median(c for c, _ in d['base']), st.median(c for c, _ in d['new'])
    bw, nw = st.median(w for _, w in d['base']), st.median(w for _, w in d['new'])
    print(f"{name:44s} {bc:10.4f} {nc:10.4f} {nc / bc:8.2f}x {bw:10.4f} {nw:10.4f}")
PY
