#!/usr/bin/env bash
# The VP SDE table of the ICML-2025 paper (issue 10 item 6): the whole CIFAR-10 table (6 schemes
# x 7 step counts up to 999 x 4 eps x 2 inits, 3072 eigenvalues, W2 at every step and w2_final)
# by gds_bench (exact law, eigen-diagonal backend) and by a NumPy per-eigenvalue evaluation, in
# one invocation, pinned to one core; prints both timings (median of R runs; CPU time), the
# ratio, and the check that both give the same w2_final (relative 1e-9, inf at the same places).
#   bench/vp_table.sh BUILD [SPECTRUM.npy] [REPS]
set -euo pipefail
build=${1:?BUILD}; spec=${2:-$(dirname "$0")/../../shared/data/cifar10_spectrum.npy}; reps=${3:-5}
[ -r "$spec" ] || spec=/work/shared/data/cifar10_spectrum.npy
cpu=${CPU:-0}
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
echo "# vp table on $(hostname) $(date -u '+%Y-%m-%d %H:%M UTC'), core $cpu, $reps runs, spectrum $spec"
c=$(taskset -c "$cpu" "$build/bench/gds_bench" --cases vptable --spectrum "$spec" -r "$reps" -s 8 --dump "$dir" | grep '^BENCH vptable')
n=$(taskset -c "$cpu" /usr/bin/python3 "$(dirname "$0")/numpy_vptable.py" "$spec" "$dir" --reps "$reps")
echo "$c"
echo "$n"
/usr/bin/python3 - "$c" "$n" <<'PY'
import sys
c = sys.argv[1].split(); n = sys.argv[2].splitlines()[0].split()
print(f"C {float(c[6]):.3f} s CPU (wall {float(c[2]):.3f} s), NumPy {float(n[6]):.3f} s CPU (wall {float(n[2]):.3f} s): "
      f"NumPy/C {float(n[6]) / float(c[6]):.1f}x CPU, {float(n[2]) / float(c[2]):.1f}x wall")
PY
