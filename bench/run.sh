#!/usr/bin/env bash
# Single-core benchmark: gds_bench (C) and bench/numpy_ref.py (NumPy) on the same problem, one
# after the other, pinned to core 0, then a comparison table (bench/compare.py).
# Builds nothing: configure and build first (see bench/README.md).
#
# usage: bench/run.sh [BUILD_DIR] [gds_bench options...]
#   BUILD_DIR defaults to ./build of the repository; options go to gds_bench (e.g. -r 7, -s 128,
#   --cases law); numpy_ref.py takes the size, T, reps and cases from gds_bench's dump.
# env: KEEP=DIR keeps the dump and raw outputs in DIR; PYTHON (default /usr/bin/python3);
#      CORE (default 0) the core to pin to; WAIT_IDLE=S waits up to S s for an idle machine
#      before each program (bench/idle.sh; IDLE_PCT, default 90).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
. "$here/idle.sh"
build=$root/build
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then build=$1; shift; fi
exe=$build/bench/gds_bench
py=${PYTHON:-/usr/bin/python3}
[ -x "$exe" ] || { echo "run.sh: $exe not found: build first (cmake --build $build -j2)" >&2; exit 1; }
"$py" -c 'import numpy' 2>/dev/null || { echo "run.sh: $py has no numpy (apt-get install python3-numpy)" >&2; exit 1; }

# Pin to one core where taskset works (containers may forbid it).
pin=()
if command -v taskset >/dev/null && taskset -c "${CORE:-0}" true 2>/dev/null; then pin=(taskset -c "${CORE:-0}"); fi
# One thread everywhere: NumPy's BLAS, OpenMP, FFTW (gdsweep uses no threads anyway).
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1

work=${KEEP:-$(mktemp -d)}
mkdir -p "$work"
[ -n "${KEEP:-}" ] || trap 'rm -rf "$work"' EXIT

echo "# gdsweep single-core benchmark"
echo "date:     $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "revision: $(git -C "$root" describe --always --dirty --abbrev=12 2>/dev/null || echo unknown)" \
     "($(git -C "$root" rev-parse --abbrev-ref HEAD 2>/dev/null || echo '?'))"
echo "machine:  $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(getconf _NPROCESSORS_ONLN) cores" \
     "($(lscpu | sed -n 's/^Thread(s) per core: *//p') thread/core)," \
     "$(free -g | awk '/^Mem:/ {print $2}') GiB RAM, $(uname -r)"
echo "software: $(gcc --version | head -1); FFTW $(pkg-config --modversion fftw3 2>/dev/null || echo '?');" \
     "$("$py" -c 'import numpy, sys; print("numpy", numpy.__version__, "python", sys.version.split()[0])')"
echo "pinning:  ${pin[*]:-none (taskset unavailable)}; OPENBLAS_NUM_THREADS=1"
echo "load:     $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min) before"
echo

wait_idle "before gds_bench"
"${pin[@]}" "$exe" --dump "$work/problem" "$@" | tee "$work/c.txt"
echo
wait_idle "before numpy_ref.py"
"${pin[@]}" "$py" "$here/numpy_ref.py" "$work/problem" | tee "$work/numpy.txt"
rc=${PIPESTATUS[0]}
echo
echo "load:     $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min) after"
echo
"$py" "$here/compare.py" "$work/c.txt" "$work/numpy.txt"
[ -z "${KEEP:-}" ] || echo "raw outputs and the dumped problem kept in $work"
exit "$rc"
