#!/usr/bin/env bash
# Dense distributed backend (inpainting) against a dense-matrix NumPy evaluation, in one
# invocation: `test_law_dense --bench H W T NW2` on NP ranks (default 2), then
# bench/dense_numpy.py on one core; prints both and the ratio for dps and pigdm.
# usage: bench/dense.sh [BUILD_DIR] [H W T NW2]   (default 32 32 1000 11); env NP
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=${1:-$here/../build}
H=${2:-32} W=${3:-32} T=${4:-1000} NW2=${5:-11} NP=${NP:-2}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
echo "date: $(date -u '+%F %T UTC')  machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores"
c_out=$(mpirun -n "$NP" --bind-to core "$build/tests/test_law_dense" --bench "$H" "$W" "$T" "$NW2" dps pigdm)
echo "$c_out"
py_out=$(/usr/bin/python3 "$here/dense_numpy.py" "$H" "$W" "$T" "$NW2")
echo "$py_out"
np_total=$(sed -n 's/^NUMPY_DENSE total_s \([0-9.]*\).*/\1/p' <<<"$py_out")
for alg in dps pigdm; do
  c=$(sed -n "s/^bench: $alg *evaluate \([0-9.]*\) s.*/\1/p" <<<"$c_out")
  /usr/bin/python3 -c 'import sys
alg, c, n, np_ = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
r = n / c
verdict = "PASS" if r >= 10 else "FAIL"
print(f"{alg:6s} dense backend {c:.2f} s on {np_} ranks, NumPy dense {n:.1f} s on 1 core: {r:.1f}x (target >= 10x: {verdict})")' "$alg" "$c" "$np_total" "$NP"
done
