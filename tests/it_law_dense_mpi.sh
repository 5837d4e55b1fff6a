#!/usr/bin/env bash
# Dense law backend across ranks (SPEC §2; law groups): test_law_dense --groups splits
# MPI_COMM_WORLD into groups of 1, 2 (and 4) ranks, every group evaluates the same problems
# (inpainting, super-resolution, blur; every algorithm) and each rank checks that its
# multi-rank results equal its single-rank ones to 1e-10. Run by ctest from the build dir.
set -euo pipefail
exe=${GDS_TEST_LAW_DENSE:-tests/test_law_dense}
[ -x "$exe" ] || { echo "it_law_dense_mpi: $exe not built" >&2; exit 1; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
# Waiting ranks yield the core instead of busy-polling (4 ranks share 2 cores), and are not bound
# to a core that other work may hold (tests/CMakeLists.txt).
export OMPI_MCA_mpi_yield_when_idle=1 OMPI_MCA_hwloc_base_binding_policy=none
mpirun -n 2 "$exe" --groups
# 4 ranks: the 2 x 2 process grid against one rank on fewer problems. On 2 cores every message
# of an oversubscribed group waits for a scheduler slice once other work is running (the full
# set took > 10 min with two busy loops; --quick 1.8 s idle, 96 s with two busy loops).
mpirun -n 4 --oversubscribe "$exe" --groups --quick
