/* The sweep's HDF5 output file, format 2 (SPEC §5, §7.8).
 *
 * Life cycle. gds_io_create builds the whole file on rank 0 (every group, every dataset at
 * full size, the /grid, /schedule, /prior datasets, kernels/masks, /results/time and the root
 * attributes) under a temporary name beside OUT, then publishes it under OUT with one rename
 * (so OUT is never half-created, and `--force` never destroys the old file before the new one
 * is in place), and opens it on every rank with the MPI-IO driver. From then on the only file
 * operations are raw-data writes to disjoint hyperslabs with independent I/O, from whichever
 * rank computed the data: no metadata changes until gds_io_mark_complete / gds_io_close, which
 * are collective. A killed job therefore leaves a file whose metadata is complete and whose
 * `done` points are complete.
 *
 * One writer per file: rank 0 holds an advisory (open-file-description) lock on the output
 * file itself from before it is touched until it is closed, so a second job writing the same
 * file — through any path, symlink or hard link — is refused. The kernel drops the lock when
 * the process dies, so a killed job never blocks its --resume.
 *
 * Layout (format 2). The grid has nine axes, in this order (the point index is row-major in
 * it, seed last): operator, sigma, alpha_dps, algorithm, scheme, sampler_steps, eps, init,
 * seed. Every axis is a dimension scale /grid/<axis> (length 1 when not swept). The curves end
 * with a time dimension: /grid/t = 0..T for the discrete process, /grid/k = 0..max K (step
 * index in sampling order) for vp_sde, where /results/time [sampler_steps, eps, k] holds u_k
 * (NaN past a point's own K). Datasets are contiguous and allocated at creation, and are NOT
 * pre-filled (creation is O(metadata) whatever the grid size): an entry is meaningful only where
 * /results/done = 1 (unwritten entries read as 0). done = 1 also vouches for the problem data of
 * the point (x0 of its seed, v and the posterior of its operator, σ and seed). Every dataset has
 * a `description` attribute, and `units` where meaningful; its dimensions are labelled with
 * their scale names. Root soft links /<axis> -> /grid/<axis> exist because netCDF tools only
 * resolve dimensions defined in a variable's own or an ancestor group. Strings in datasets are
 * variable-length ASCII; attributes are fixed-length ASCII. File format of HDF5 1.8. Root
 * attributes: gdsweep_format (2), process, name, config, fingerprint, inputs, rng (the generator,
 * gds_rng_description), sampler_noise (the trajectories' noise: generator, basis, keying,
 * gds_sampler_noise_description; a resume refuses a file whose rng or sampler_noise differs
 * from the running build's), version, git_revision,
 * compiler, mpi_library_version, hdf5_version, fftw_version, host, ranks, start_time,
 * end_time (empty while running or if killed), complete, resume_count.
 *
 * Every dataset the run writes is declared once, in the field table of src/io.c; creation,
 * verification on open and writing loop over that table.
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
#include "gdsweep/scheme.h"
#include "gdsweep/sweep.h"

typedef struct gds_io gds_io;

/* The nine grid axes, in file order (SPEC §7.8). */
typedef enum {
  GDS_IO_AXIS_OPERATOR = 0,
  GDS_IO_AXIS_SIGMA,
  GDS_IO_AXIS_ALPHA,
  GDS_IO_AXIS_ALGORITHM,
  GDS_IO_AXIS_SCHEME,
  GDS_IO_AXIS_STEPS,
  GDS_IO_AXIS_EPS,
  GDS_IO_AXIS_INIT,
  GDS_IO_AXIS_SEED,
  GDS_IO_NAXES
} gds_io_axis;

/* Shape of an opened file, read from the file itself. */
typedef struct gds_io_info {
  int n[GDS_IO_NAXES]; /* axis sizes */
  int64_t npoints;     /* product of n[] */
  gds_process process; /* root attribute `process` */
  int ntime;           /* length of the curves' time dimension: T+1 (ddpm) or max K + 1 (vp_sde) */
  int T;               /* ddpm: diffusion steps (ntime − 1); vp_sde: max K */
  int H, W;            /* image shape */
  int samples, n_ckpt; /* trajectories per point, checkpoints per trajectory */
  int complete;        /* root attribute `complete` (1 once every point was done) */
} gds_io_info;

/* Row-major index of a grid point (seed last): Σ idx[a]·stride[a]. */
int64_t gds_io_point_index(const int n[GDS_IO_NAXES], const int idx[GDS_IO_NAXES]);

/* Length of the curves' time dimension for a sweep: T+1 (ddpm), max sampler_steps + 1 (vp_sde). */
int gds_io_ntime(const gds_sweep *s);

/* Options of gds_io_create (rank 0's are used). */
typedef struct gds_io_create_options {
  int force; /* replace an existing OUT (atomically, once the new file is complete) */
  /* Test-only: called on rank 0 after the new file is built under its temporary name and
   * before it is published as OUT (tests kill the job there). NULL: none. */
  void (*before_publish)(void *ctx, const char *tmp_path);
  void *ctx;
} gds_io_create_options;

/* Create OUT (collective on comm). Rank 0 decides and reports errors; every rank returns the
 * same code. Refuses (GDS_ERR_INPUT, nothing touched): an existing OUT unless opt->force, a
 * directory, a directory it cannot write to, an OUT (or its temporary) held by another gdsweep
 * run. `fingerprint` is stored as the root attribute `fingerprint`; gds_io_open_resume compares
 * against it. ops[i] are the created operators of sweep->op[i] (their kernel/mask and
 * measurement shape are stored); sched may be NULL for vp_sde. Only rank 0's arguments are used
 * for the file contents; other ranks may pass NULL for sweep, sched, prior, ops and opt. */
int gds_io_create(const char *path, MPI_Comm comm, const gds_sweep *sweep,
                  const gds_schedule *sched, const gds_prior *prior, gds_operator *const *ops,
                  const char *fingerprint, const gds_io_create_options *opt, gds_io **out);
/* Reopen an existing sweep file for writing (collective), taking its writer lock.
 * GDS_ERR_INPUT if it does not exist (saying so if its creation was interrupted), is not a
 * complete gdsweep file, its fingerprint differs, or another run holds it (each named). */
int gds_io_open_resume(const char *path, MPI_Comm comm, const char *fingerprint, gds_io **out);
/* Open read-only without MPI (default sec2 driver, no file locking, works while a job is
 * writing the file): for `gdsweep status`. GDS_ERR_INPUT if missing or not a gdsweep file. */
int gds_io_open_readonly(const char *path, gds_io **out);

/* Problem data of a block of nseed consecutive seeds starting at seed index seed0, one write
 * each (independent I/O). x0 [nseed][H·W]; v [nseed][m] in op's measurement shape; pmean
 * [nseed][H·W]; pvar [H·W] (diag Σ_post, seed-independent; may be NULL). */
int gds_io_write_x0(gds_io *io, int seed0, int nseed, const double *x0);
int gds_io_write_measurement(gds_io *io, int op, int sigma, int seed0, int nseed, const double *v);
int gds_io_write_posterior(gds_io *io, int op, int sigma, int seed0, int nseed, const double *pmean,
                           const double *pvar);

/* A block of grid points along the seed axis: idx[] on the nine axes (idx[SEED] = first
 * seed), nseed consecutive seeds. Contiguous in every per-point dataset (seed is the last
 * axis), so each dataset is written with one contiguous write. */
typedef struct gds_io_block {
  int idx[GDS_IO_NAXES];
  int nseed;
} gds_io_block;

/* Results of a block, arrays sized as in SPEC §7.8, seed-major. */
typedef struct gds_io_block_result {
  const double *w2, *w2_mean, *w2_cov;                   /* [nseed][ntime] */
  const double *w2_final, *w2_final_mean, *w2_final_cov; /* [nseed] */
  const double *sampler_mean, *sampler_variance;         /* [nseed][H·W] m_0, diag K_0 */
  const float *trajectories; /* [nseed][samples][n_ckpt][H·W] (NULL if samples = 0) */
} gds_io_block_result;

/* All results of a block (not its done flags): one independent write per dataset. Not
 * flushed (H5Fflush is collective in parallel HDF5); the MPI-IO driver keeps no raw-data
 * cache, so when this returns the bytes are in the OS (they survive the process being
 * killed, not a node crash). */
int gds_io_write_block(gds_io *io, const gds_io_block *b, const gds_io_block_result *r);
/* done flags (and wall times, may be NULL) of the points with flat indices in the nrun runs
 * [first[k], first[k]+count[k]) (ascending, disjoint); done and wall_time hold the runs' values
 * one after the other. One write per dataset whatever the number of runs (a union of
 * hyperslabs). Write them only after the data they vouch for. */
int gds_io_write_done(gds_io *io, int nrun, const int64_t *first, const int64_t *count,
                      const unsigned char *done, const double *wall_time);
/* Convenience (tests): one point's results (1-seed block), then its done flag and wall time. */
int gds_io_write_point(gds_io *io, const int idx[GDS_IO_NAXES], const gds_io_block_result *r,
                       double wall_time);

/* done[npoints] (row-major, seed last) from /results/done. Any rank, any mode. */
int gds_io_read_done(gds_io *io, unsigned char *done);
/* Set the root attribute `complete` to 1 and flush (collective). Refuses if points are
 * missing (rank 0 checks /results/done). */
int gds_io_mark_complete(gds_io *io);

int gds_io_get_info(const gds_io *io, gds_io_info *info);
/* Name of an axis ("operator", "sigma", "alpha_dps", "algorithm", "scheme", "sampler_steps",
 * "eps", "init", "seed"); NULL if invalid. */
const char *gds_io_axis_name(int axis);
/* Label of entry i of an axis as text, e.g. "gaussian_blur(std=2)", "0.05", "ddim(eta=0)", "7"
 * (files opened with gds_io_open_readonly: writers do not read the labels). */
int gds_io_axis_label(const gds_io *io, int axis, int i, char *buf, size_t len);
/* The root attribute `fingerprint` of the opened file. */
const char *gds_io_fingerprint(const gds_io *io);

/* Close (collective when opened with create/resume), writing the end-time attribute and
 * releasing the writer lock. *io becomes NULL; NULL is accepted. */
int gds_io_close(gds_io **io);

#endif
