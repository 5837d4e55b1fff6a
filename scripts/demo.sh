#!/usr/bin/env bash
# One command for the gdsweep demo on Debian 12 (as root):
#   1. install missing Debian packages (scripts/install-deps.sh)
#   2. Release build in build/ (CMake stops with a clear message if parallel HDF5 is missing)
#   3. run sweeps/demo.yaml (960 grid points: 2 blurs x 2 sigma x 3 alpha_dps x 4 algorithms
#      (dps, pigdm, cgdm, ddrm) x 2 schemes (ddpm, ddim) x 5 step counts (10 .. 1000)
#      x 2 seeds; 64x64, T = 1000) with mpirun -n 2 into out/demo.h5 (--force: rerunning
#      starts over), and print `gdsweep status`
#   4. if analysis/report.py exists, write the report (figures, tables) to out/demo-report/,
#      among them w2_final_vs_nfe.png: W2 of the output against the number of steps (NFE)
# Environment: NP (MPI ranks, default 2), JOBS (build parallelism, default: number of cores).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

NP=${NP:-2}
JOBS=${JOBS:-$(nproc)}
sweep=sweeps/demo.yaml
out=out/demo.h5
report=out/demo-report
step() { printf '\n==== demo.sh: %s\n' "$*"; }

step "installing dependencies"
bash scripts/install-deps.sh

step "Release build (build/)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j "$JOBS" --target gdsweep
gdsweep=$root/build/gdsweep

step "checking $sweep"
"$gdsweep" check "$sweep"

step "running $sweep on $NP MPI ranks -> $out"
# Open MPI refuses root without these; --oversubscribe allows more ranks than cores.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
mkdir -p out
t=$SECONDS
mpirun -n "$NP" --oversubscribe "$gdsweep" run "$sweep" -o "$out" --force
echo "demo.sh: sweep took $((SECONDS - t)) s"

step "gdsweep status $out"
"$gdsweep" status "$out"

if [ -f analysis/report.py ]; then
  step "analysis report -> $report/"
  MPLBACKEND=Agg /usr/bin/python3 analysis/report.py "$out" -o "$report"
fi

step "done"
echo "Results: $root/$out (HDF5; layout in README.md, 'Output file')"
echo "  inspect: h5ls -r $out    status: build/gdsweep status $out"
if [ -d "$report" ]; then
  echo "Figures and tables: $root/$report/"
  find "$report" -maxdepth 2 -type f | sort | sed 's/^/  /'
  if [ -f "$report/w2_final_vs_nfe.png" ]; then
    echo "Accuracy against the number of steps (NFE): $root/$report/w2_final_vs_nfe.png"
  fi
  if [ -f "$report/index.html" ]; then echo "Open $root/$report/index.html in a browser."; fi
else
  echo "No analysis report: analysis/report.py is not in this checkout yet."
fi
