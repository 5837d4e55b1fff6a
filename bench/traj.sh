#!/usr/bin/env bash
# One trajectory against NumPy's generator (issue 11): gds_bench's traj_<alg> (default: one
# 256x256, T = 1000 cgdm trajectory under a Gaussian blur) and rng (the normals alone), then
# bench/numpy_normals.py drawing as many normals with numpy.random.default_rng() — in one
# invocation, both pinned to the same core; medians, ratio, target ratio <= 1/4.
# Builds nothing (see bench/README.md).
#
# usage: bench/traj.sh [BUILD_DIR] [-s N] [-T T] [-r REPS] [--traj-algs LIST]
# env: PYTHON (default /usr/bin/python3), CORE (default 0), WAIT_IDLE=S (bench/idle.sh).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
. "$here/idle.sh"
build=$root/build
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then build=$1; shift; fi
exe=$build/bench/gds_bench
py=${PYTHON:-/usr/bin/python3}
[ -x "$exe" ] || { echo "traj.sh: $exe not found: build first (cmake --build $build -j2)" >&2; exit 1; }
size=256 steps=1000 reps=7 algs=cgdm
while [ $# -gt 0 ]; do
  case $1 in
    -s) size=$2; shift 2 ;;
    -T) steps=$2; shift 2 ;;
    -r) reps=$2; shift 2 ;;
    --traj-algs) algs=$2; shift 2 ;;
    *) echo "traj.sh: unknown option $1" >&2; exit 1 ;;
  esac
done
pin=()
if command -v taskset >/dev/null && taskset -c "${CORE:-0}" true 2>/dev/null; then pin=(taskset -c "${CORE:-0}"); fi
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "# gdsweep trajectory vs NumPy normals"
echo "date:     $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "revision: $(git -C "$root" describe --always --dirty --abbrev=12 2>/dev/null || echo unknown)"
echo "machine:  $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(getconf _NPROCESSORS_ONLN) cores;" \
     "flags: $(grep -o -w 'avx2\|avx512f' /proc/cpuinfo | sort -u | tr '\n' ' ')"
echo "build:    $(grep -o 'GDS_NATIVE:BOOL=[A-Z]*' "$build/CMakeCache.txt" 2>/dev/null || echo '?')"
echo "pinning:  ${pin[*]:-none}; load: $(cut -d' ' -f1-3 /proc/loadavg) before"
wait_idle "before gds_bench"
"${pin[@]}" "$exe" -s "$size" -T "$steps" -r "$reps" --cases traj,rng --traj-algs "$algs" | tee "$work/c.txt"
wait_idle "before numpy_normals.py"
"${pin[@]}" "$py" "$here/numpy_normals.py" -s "$size" -T "$steps" -r "$reps" | tee "$work/np.txt"
echo "load:     $(cut -d' ' -f1-3 /proc/loadavg) after"
echo
awk -v n="$(grep '^BENCH numpy_normals' "$work/np.txt" | awk '{print $3, $7}')" '
  BEGIN { split(n, a, " "); nw = a[1]; nc = a[2];
          printf "| case | C median s | C cpu s | NumPy normals median s | NumPy cpu s | C/NumPy | C/NumPy cpu | target | result |\n";
          printf "|---|---|---|---|---|---|---|---|---|\n" }
  $1 == "BENCH" && ($2 ~ /^traj_/ || $2 ~ /^rng/) {
    r = $3 / nw; rc = $7 / nc; tgt = ($2 ~ /^traj_/) ? "<= 0.25" : "-";
    res = ($2 ~ /^traj_/) ? (r <= 0.25 ? "PASS" : "FAIL") : "-";
    printf "| %s | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %s | %s |\n", $2, $3, $7, nw, nc, r, rc, tgt, res }' "$work/c.txt"
