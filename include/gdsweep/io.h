/* The sweep's HDF5 output file (SPEC §5). Every dataset is created at full size when the
 * file is created; afterwards only disjoint hyperslabs of raw data are written, and a
 * point's `done` flag is written and flushed after its data. */
#ifndef GDSWEEP_IO_H
#define GDSWEEP_IO_H

#include <mpi.h>
#include <stdint.h>

#include "gdsweep/operator.h"
#include "gdsweep/prior.h"
#include "gdsweep/schedule.h"
#include "gdsweep/sweep.h"

typedef struct gds_io gds_io;

/* Index of a grid point along the five axes (SPEC §5 order). */
typedef struct gds_point {
  int op, sigma, alpha, alg, seed;
} gds_point;

/* Results of one grid point; arrays sized as in SPEC §5. */
typedef struct gds_point_result {
  const double *w2, *w2_mean, *w2_cov; /* [T+1] */
  const double *sampler_mean;          /* [H·W] m_0 */
  const double *sampler_variance;      /* [H·W] diag K_0 */
  const float *trajectories;           /* [samples][n_ckpt][H·W] (NULL if samples = 0) */
  double wall_time;                    /* seconds spent on the point */
} gds_point_result;

/* Create OUT (collective on comm): all groups, datasets at full size, grid/schedule/prior
 * datasets and root attributes. Fails with GDS_ERR_INPUT if it exists and !force. */
int gds_io_create(const char *path, MPI_Comm comm, const gds_sweep *sweep,
                  const gds_schedule *sched, const gds_prior *prior, gds_operator *const *ops,
                  int force, gds_io **out);
/* Problem data (each written by one rank; independent I/O). */
int gds_io_write_x0(gds_io *io, int seed, const double *x0);
int gds_io_write_measurement(gds_io *io, int op, int sigma, int seed, const double *v);
int gds_io_write_posterior(gds_io *io, int op, int sigma, int seed, const double *mean,
                           const double *var /* may be NULL if already written */);
/* All results of one point, then its done flag, then a flush. */
int gds_io_write_point(gds_io *io, const gds_point *p, const gds_point_result *r);
/* Close (collective), writing the end-time attribute. */
int gds_io_close(gds_io **io);

#endif
