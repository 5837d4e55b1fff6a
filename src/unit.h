/* Private: work units of a sweep (src/unit.c), the decomposition of the grid that the run
 * driver (src/run.c) hands out to rank groups.
 *
 * A unit is one computation: (operator, σ, algorithm, sampler_steps, init) and a block of
 * consecutive seeds, plus α_dps, scheme and eps where the result depends on them. Axis values
 * that the computation ignores are computed once (SPEC §7.8): only dps uses α_dps, ddrm
 * ignores the scheme, only vp_sde uses eps; such a unit has −1 on the ignored axis and its
 * results are written to every point it stands for (its "tuples"). The covariance recursion
 * is shared by the seeds of a unit (docs/scaling.md); seeds are split into blocks so that
 * there are enough units for the rank groups (≥ 16 per group when the grid allows and the
 * split does not cost more than it gains), a unit's memory stays bounded, and its per-seed
 * buffers stay within a working set of a few MiB when that costs little. The seed block
 * of dense-backend units depends on the sweep only (their per-seed results may depend on the
 * bundle; see gds_unit_dense), so results never depend on the rank count. */
#ifndef GDSWEEP_UNIT_H
#define GDSWEEP_UNIT_H

#include <stdint.h>

#include "gdsweep/io.h"
#include "gdsweep/operator.h"
#include "gdsweep/scheme.h"
#include "gdsweep/sweep.h"

typedef struct gds_unit {
  int op, sigma, alpha, alg, scheme, steps, eps, init; /* grid indices; −1 = every value */
  int seed0, nseed; /* the seed block */
  int block;        /* its index (seed0 / block size) */
  int problem;      /* this unit writes the problem data (x0, v, posterior) of (op, σ, block) */
  int dep;          /* index of the unit that writes this unit's problem data (itself if problem) */
  double cost;      /* estimated core-seconds */
  int64_t order;    /* deterministic tie-break: seed block, then grid order */
} gds_unit;

/* Cost and memory model of one unit of a sweep, per seed block of n seeds:
 *   core-seconds = shared + n·per_seed,  bytes per rank = mem_shared + n·mem_per_seed. */
typedef struct gds_unit_model {
  double shared, per_seed;
  double mem_shared, mem_per_seed;
} gds_unit_model;

typedef struct gds_unit_plan {
  gds_unit *u;      /* largest estimated cost first, ties in grid order */
  int n;
  int block;        /* seeds per block (the last one may be shorter) */
  int block_dense;  /* the same for units of the dense backend: a function of the sweep only */
  int nblocks;
  int nbase;        /* units before the seed split */
  double core_seconds;   /* estimated total work */
  double max_unit_bytes; /* largest estimated memory of a unit on one rank */
} gds_unit_plan;

/* Model of the unit (op, alg, steps) of sweep s for a group of gsize ranks (the dense backend
 * distributes its matrices over the group). */
gds_unit_model gds_unit_model_of(const gds_sweep *s, const gds_operator_spec *op, const gds_algorithm_spec *alg,
                                 int steps, int gsize);

/* Plan the units of a sweep for `ngroups` rank groups of `gsize` ranks. block > 0 forces the
 * seed block size of the units that may be split (not the dense ones); 0 chooses it (see
 * above). mem_block_bytes bounds the per-seed memory of a unit (0: 256 MiB). */
int gds_unit_plan_make(const gds_sweep *s, int ngroups, int gsize, int block, double mem_block_bytes,
                       gds_unit_plan *plan);
void gds_unit_plan_free(gds_unit_plan *plan);

/* Number of index tuples (α, scheme, eps combinations) the unit stands for, and the k-th one:
 * idx[] on the nine axes with idx[SEED] = the block's first seed. */
int gds_unit_ntuples(const gds_sweep *s, const gds_unit *u);
void gds_unit_tuple(const gds_sweep *s, const gds_unit *u, int k, int idx[GDS_IO_NAXES]);
/* Points the unit stands for: ntuples · nseed. */
int64_t gds_unit_npoints(const gds_sweep *s, const gds_unit *u);
/* The sampler configuration the unit computes (ignored axes get a representative value). */
gds_sampler_config gds_unit_config(const gds_sweep *s, const gds_unit *u);
/* Axis sizes of the sweep in file order. */
void gds_unit_axis_sizes(const gds_sweep *s, int n[GDS_IO_NAXES]);

#endif
