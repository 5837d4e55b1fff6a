/* Running a sweep (SPEC §6): `run`, `check` and `status`.
 *
 * The grid is cut into work units that share work: a unit is (operator, σ, algorithm,
 * α_dps) with every seed bundled (the covariance recursion does not depend on the seed), and
 * algorithms other than dps do not depend on α_dps, so their unit covers every α at once.
 * Rank 0 hands units out dynamically and computes units itself between servicing requests
 * (workers prefetch their next unit, so the coordinator wastes no core). Every rank writes
 * its own results into the one HDF5 file (gds_io). Results depend only on the sweep file and
 * the grid point, never on the number of ranks or on the order units are done in. */
#ifndef GDSWEEP_RUN_H
#define GDSWEEP_RUN_H

#include <mpi.h>
#include <stdint.h>
#include <stdio.h>

#include "gdsweep/sweep.h"

typedef struct gds_run_options {
  const char *sweep_path; /* SWEEP.yaml */
  const char *out_path;   /* OUT.h5 */
  int resume, force;      /* --resume, --force (exclusive) */
  int quiet;              /* --quiet: no progress lines */
  int group_size;         /* --group-size G: ranks per dense-backend group (divides the ranks; 0 = 1) */
  /* Test-only: every work unit lasts at least this many wall-clock seconds (the remainder is
   * slept, interruptibly, before its points are written). main() sets it from the environment
   * variable GDSWEEP_TEST_UNIT_SECONDS. Lets tests build sweeps that are guaranteed to outlast a
   * time limit however fast or busy the machine is, instead of calibrating on its speed. */
  double test_unit_seconds;
} gds_run_options;

/* Collective on comm. Returns GDS_SUCCESS, GDS_ERR_INPUT (nothing written),
 * GDS_ERR_RUNTIME, or GDS_ERR_INTERRUPTED (stopped by a signal; resumable). */
int gds_run(MPI_Comm comm, const gds_run_options *opt);
/* Validate a sweep (including textures and operators) and print its size and cost. */
int gds_check(const char *sweep_path, FILE *out);
/* Print done/missing points of an output file, in total and per axis. Returns GDS_SUCCESS
 * when the sweep is complete, GDS_ERR_INTERRUPTED (exit 3, "resumable") when points are
 * missing, GDS_ERR_INPUT when the file is missing or not a gdsweep file. */
int gds_status(const char *out_path, FILE *out);

/* Estimated output bytes and compute cost (core-seconds) of a validated sweep. */
typedef struct gds_run_estimate {
  int64_t npoints, nunits;
  double bytes;
  double core_seconds;
} gds_run_estimate;
int gds_run_estimate_sweep(const gds_sweep *s, gds_run_estimate *est);

/* Install SIGTERM/SIGINT/SIGUSR1 handlers that ask running sweeps to stop cleanly. */
int gds_run_install_signal_handlers(void);

#endif
