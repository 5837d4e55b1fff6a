/* Running a sweep (SPEC §6): `run`, `check` and `status`.
 *
 * The grid is cut into work units (src/unit.h): one computation of (operator, σ, algorithm,
 * sampler_steps, init, and α_dps / scheme / eps where the algorithm or process uses them) for a
 * block of consecutive seeds, whose results are written to every grid point it stands for. Rank
 * 0 hands units out dynamically and, below a number of groups, computes units itself, servicing
 * requests between and inside its computations (workers prefetch their next unit); results of a
 * unit are written by its rank, one write per dataset, and rank 0 writes the done flags in
 * batches once the data they vouch for is written. Nothing waits by spinning. Results depend
 * only on the sweep file and the grid point, never on the number of ranks or the order units are
 * done in. docs/scaling.md has the cost model and what to choose. */
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
  int seed_block;         /* --seed-block B: seeds per work unit (0: chosen from the grid and ranks) */
  int timing;             /* --timing: per-phase times (max and sum over ranks) at the end */
  /* Test-only: every work unit lasts at least this many wall-clock seconds (the remainder is
   * slept, interruptibly, before its points are written). main() sets it from the environment
   * variable GDSWEEP_TEST_UNIT_SECONDS. Lets tests build sweeps that are guaranteed to outlast a
   * time limit however fast or busy the machine is, instead of calibrating on its speed. */
  double test_unit_seconds;
  /* Test-only fault injection (GDSWEEP_TEST_FAIL=RANK:UNIT, UNIT a unit's position in the
   * dispatch order or `*` (test_fail_unit = −1) for any): when test_fail is set, that rank fails
   * an allocation inside that unit. */
  int test_fail, test_fail_rank, test_fail_unit;
  /* Test-only (GDSWEEP_TEST_PAUSE=create): rank 0 stops, waiting to be killed, once the new
   * file is built under its temporary name and before it is published; it prints
   * "gdsweep: test: paused" first. */
  int test_pause_create;
  /* Test-only (GDSWEEP_TEST_TRACE=1): each unit's start is printed ("gdsweep: trace: rank R:
   * unit U started"), so tests can signal a run while a unit is computing. */
  int test_trace;
} gds_run_options;

/* Collective on comm. Returns GDS_SUCCESS, GDS_ERR_INPUT (nothing written),
 * GDS_ERR_RUNTIME, or GDS_ERR_INTERRUPTED (stopped by a signal; resumable). */
int gds_run(MPI_Comm comm, const gds_run_options *opt);
/* Options of `check`: what `run` would be given (all optional). */
typedef struct gds_check_options {
  const char *out_path; /* -o OUT.h5: also check the free space where it would be written */
  int ranks;            /* --ranks N: plan the work units for N ranks (0 = 1) */
  int group_size;       /* --group-size G (0 = 1) */
  int seed_block;       /* --seed-block B */
} gds_check_options;
/* Validate a sweep (including textures and operators) and print its size, cost, the memory a
 * unit needs per rank and the file size; refuse (GDS_ERR_INPUT) what `run` would refuse for
 * lack of memory or disk. opt may be NULL. */
int gds_check(const char *sweep_path, const gds_check_options *opt, FILE *out);
/* Print done/missing points of an output file, in total and per axis (one pass over the done
 * flags). Returns GDS_SUCCESS
 * when the sweep is complete, GDS_ERR_INTERRUPTED (exit 3, "resumable") when points are
 * missing, GDS_ERR_INPUT when the file is missing or not a gdsweep file. */
int gds_status(const char *out_path, FILE *out);

/* Estimated output bytes, work units, compute cost (core-seconds) and memory of a validated
 * sweep run on `ngroups` groups of `gsize` ranks (seed_block as --seed-block). */
typedef struct gds_run_estimate {
  int64_t npoints, nunits;
  int seed_block;     /* seeds per unit */
  double bytes;
  double core_seconds;
  double unit_bytes;  /* memory of the largest unit on one rank */
} gds_run_estimate;
int gds_run_estimate_sweep(const gds_sweep *s, int ngroups, int gsize, int seed_block, gds_run_estimate *est);

/* Install SIGTERM/SIGINT/SIGUSR1 handlers that ask running sweeps to stop cleanly. */
int gds_run_install_signal_handlers(void);

#endif
