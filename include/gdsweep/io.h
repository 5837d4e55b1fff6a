/* The sweep's HDF5 output file (SPEC §5).
 *
 * Life cycle. gds_io_create builds the whole file (every group, every dataset at full size,
 * the /grid, /schedule, /prior datasets, kernels/masks and the root attributes) and then
 * opens it on every rank with the MPI-IO driver. From then on the only file operations are
 * raw-data writes to disjoint hyperslabs with independent I/O, from whichever rank computed
 * the data: no metadata changes until gds_io_mark_complete / gds_io_close, which are
 * collective. A killed job therefore leaves a file whose metadata is complete and whose
 * `done` points are complete (see gds_io_write_point).
 *
 * Layout (all datasets contiguous and allocated at create; unwritten float results read as
 * NaN, unwritten `done` flags as 0, unwritten trajectories as 0 — trust them only where
 * done = 1). The /grid datasets are dimension scales attached to (and naming the labels of)
 * every dimension they label; a measurement whose shape is not H×W has scales v_row/v_col in
 * its /problem/op<i> group. Root soft links /operator -> /grid/operator, ... exist because
 * netCDF tools (ncdump) only resolve dimensions defined in a variable's own or an ancestor
 * group. Strings in datasets are variable-length ASCII (netCDF-C cannot read arrays of
 * fixed-length strings); attributes are fixed-length ASCII. Every dataset has a
 * `description` attribute, and `units` where meaningful. File format of HDF5 1.8. Root
 * attributes: gdsweep_format, name, config, fingerprint, version, git_revision, compiler,
 * mpi_library_version, hdf5_version, fftw_version, host, ranks, start_time, end_time (empty
 * while running or if killed), complete, resume_count.
 *
 * Every function returns a gdsweep error code. Messages name the path and the dataset.
 * HDF5's automatic error printing is switched off (process-wide) by the open functions. */
#ifndef GDSWEEP_IO_H
#define GDSWEEP_IO_H

#include <mpi.h>
#include <stddef.h>
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

/* The five grid axes, in file order. */
typedef enum {
  GDS_IO_AXIS_OPERATOR = 0,
  GDS_IO_AXIS_SIGMA,
  GDS_IO_AXIS_ALPHA,
  GDS_IO_AXIS_ALGORITHM,
  GDS_IO_AXIS_SEED,
  GDS_IO_NAXES
} gds_io_axis;

/* Shape of an opened file, read from the file itself. */
typedef struct gds_io_info {
  int n[GDS_IO_NAXES]; /* axis sizes */
  int64_t npoints;     /* product of n[] */
  int T, H, W;         /* time steps (curves have T+1 entries), image shape */
  int samples, n_ckpt; /* trajectories per point, checkpoints per trajectory */
  int complete;        /* root attribute `complete` (1 once every point was done) */
} gds_io_info;

/* Create OUT (collective on comm). Rank 0 decides and reports errors; every rank returns
 * the same code. Refuses an existing path unless force (GDS_ERR_INPUT), and a directory it
 * cannot write to (GDS_ERR_INPUT). `fingerprint` (e.g. the sweep's config hash) is stored as
 * the root attribute `fingerprint`; gds_io_open_resume compares against it. ops[i] are the
 * created operators of sweep->op[i] (their kernel/mask and measurement shape are stored).
 * Only rank 0's arguments are used for the file contents; other ranks may pass NULL for
 * sweep, sched, prior and ops. */
int gds_io_create(const char *path, MPI_Comm comm, const gds_sweep *sweep,
                  const gds_schedule *sched, const gds_prior *prior, gds_operator *const *ops,
                  const char *fingerprint, int force, gds_io **out);
/* Reopen an existing sweep file for writing (collective). GDS_ERR_INPUT if it does not
 * exist, is not a gdsweep file, or its fingerprint differs (both are named). */
int gds_io_open_resume(const char *path, MPI_Comm comm, const char *fingerprint, gds_io **out);
/* Open read-only without MPI (default sec2 driver, no file locking, works while a job is
 * writing the file): for `gdsweep status`. GDS_ERR_INPUT if missing or not a gdsweep file. */
int gds_io_open_readonly(const char *path, gds_io **out);

/* Problem data (each written by one rank; independent I/O). */
int gds_io_write_x0(gds_io *io, int seed, const double *x0);
/* v has op's measurement shape (mh·mw values). */
int gds_io_write_measurement(gds_io *io, int op, int sigma, int seed, const double *v);
int gds_io_write_posterior(gds_io *io, int op, int sigma, int seed, const double *mean,
                           const double *var /* may be NULL if already written */);
/* All results of one point (w2 curves, sampler mean/variance, trajectories, wall time),
 * then its done flag. Not flushed: H5Fflush is collective in parallel HDF5. The MPI-IO
 * driver keeps no raw-data cache, so when this returns the bytes are in the OS (they
 * survive the process being killed, not a node crash), and the done flag is written after
 * the data it vouches for. */
int gds_io_write_point(gds_io *io, const gds_point *p, const gds_point_result *r);

/* done[npoints] (row-major op, σ, α, alg, seed) from /results/done. Any rank, any mode. */
int gds_io_read_done(gds_io *io, unsigned char *done);
/* Set the root attribute `complete` to 1 and flush (collective). */
int gds_io_mark_complete(gds_io *io);

int gds_io_get_info(const gds_io *io, gds_io_info *info);
/* Name of an axis ("operator", "sigma", "alpha_dps", "algorithm", "seed"); NULL if invalid. */
const char *gds_io_axis_name(int axis);
/* Label of entry i of an axis as text, e.g. "gaussian_blur(std=2)", "0.05", "dps", "7". */
int gds_io_axis_label(const gds_io *io, int axis, int i, char *buf, size_t len);
/* The root attribute `fingerprint` of the opened file. */
const char *gds_io_fingerprint(const gds_io *io);

/* Close (collective when opened with create/resume), writing the end-time attribute.
 * *io becomes NULL; NULL is accepted. */
int gds_io_close(gds_io **io);

#endif
