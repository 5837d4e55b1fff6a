/* The sweep's HDF5 output file, format 2 (SPEC §5, §7.8); see include/gdsweep/io.h for the
 * contract.
 *
 * Design. Every dataset the run writes, and how it is laid out, is declared once in
 * gds_io_fields_ (path, type, dimensions, fill, description, units), as SWIFT declares its
 * output fields; creation, verification on open and writing loop over that table, and the
 * dimension scales over gds_io_dims_. Rank 0 builds the complete file with the serial (sec2)
 * driver under a temporary name, publishes it with a rename and closes it; then every rank
 * opens it with the MPI-IO driver. Building serially keeps the structure a pure function of
 * rank 0's arguments (parallel HDF5 corrupts a file or hangs when ranks issue different
 * metadata operations), allows variable-length string datasets (parallel HDF5 cannot write
 * them, and netCDF-C cannot read fixed-length string arrays), and reports input errors once.
 * After the open nothing but raw data changes until mark_complete/close.
 *
 * Creation cost is independent of the grid size: datasets are allocated (contiguous, so a
 * block of seeds is one contiguous byte range, and no allocation — a metadata change — can
 * happen during the run) but never pre-filled; only /results/done (1 byte per point) is
 * written with zeros. /results/done is the truth about every other entry. */
#define _GNU_SOURCE /* F_OFD_SETLK: a lock owned by our descriptor, not by the process */
#include "gdsweep/io.h"
#include "gdsweep/law.h"

#include <errno.h>
#include <fcntl.h>
#include <fftw3.h>
#include <hdf5.h>
#include <hdf5_hl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "gdsweep/error.h"
#include "gdsweep/rng.h"
#include "gdsweep/sampler.h"
#include "gdsweep/writeback.h"
#include "gdsweep_config.h"

#define GDS_IO_TCONV_BYTES 65536 /* type-conversion buffers per transfer (gds_io_make_dxpl) */
#define GDS_IO_FORMAT 2    /* root attribute gdsweep_format: bump on incompatible layouts */
#define GDS_IO_MAXRANK 13  /* /results/trajectories: 9 grid axes, sample, checkpoint, row, col */
#define GDS_IO_TIMELEN 32  /* fixed size of the start_time/end_time attributes */
/* The writer lock is one byte far beyond any data, so it never meets a byte-range lock that an
 * MPI-IO implementation may take on the data itself. */
#define GDS_IO_LOCK_OFFSET ((off_t)1 << 62)
/* Datasets of at least 1 MiB start on a 1 MiB boundary (a common parallel file system stripe),
 * so the big result arrays never share a stripe with metadata. */
#define GDS_IO_ALIGN ((hsize_t)1 << 20)

/* ------------------------------------------------------------------------------------ */
/* The layout, declared once                                                            */

/* Dimensions: the nine grid axes (same values as gds_io_axis), then the others. */
enum {
  GDS_IO_D_TIME = GDS_IO_NAXES, /* t (ddpm) or k (vp_sde) */
  GDS_IO_D_CKPT,
  GDS_IO_D_SAMPLE,
  GDS_IO_D_ROW,
  GDS_IO_D_COL,
  GDS_IO_NDIMS,
  GDS_IO_D_END = -1, /* terminates a dimension list */
  GDS_IO_D_NONE = -2 /* an unlabelled dimension */
};
#define GDS_IO_D_GRID                                                                              \
  GDS_IO_AXIS_OPERATOR, GDS_IO_AXIS_SIGMA, GDS_IO_AXIS_ALPHA, GDS_IO_AXIS_ALGORITHM,               \
      GDS_IO_AXIS_SCHEME, GDS_IO_AXIS_STEPS, GDS_IO_AXIS_EPS, GDS_IO_AXIS_INIT, GDS_IO_AXIS_SEED

typedef enum { GDS_IO_TY_F64, GDS_IO_TY_F32, GDS_IO_TY_U8, GDS_IO_TY_I32, GDS_IO_TY_I64, GDS_IO_TY_STR } gds_io_ty;

/* Dimension scales /grid/<name>. The time dimension's name depends on the process. */
typedef struct gds_io_dim_def {
  const char *name;
  gds_io_ty type;
  const char *description, *units;
} gds_io_dim_def;

static const gds_io_dim_def gds_io_dims_[GDS_IO_NDIMS] = {
    [GDS_IO_AXIS_OPERATOR] = {"operator", GDS_IO_TY_STR, "operator axis: canonical operator names", NULL},
    [GDS_IO_AXIS_SIGMA] = {"sigma", GDS_IO_TY_F64, "sigma axis: standard deviation of the measurement noise",
                           "pixel intensity"},
    [GDS_IO_AXIS_ALPHA] = {"alpha_dps", GDS_IO_TY_F64,
                           "alpha_dps axis: DPS step weight, C_t = sigma^2/alpha_dps (only algorithm dps "
                           "depends on it)", "1"},
    [GDS_IO_AXIS_ALGORITHM] = {"algorithm", GDS_IO_TY_STR,
                               "algorithm axis: guidance algorithm, canonical name with parameters "
                               "(e.g. ddrm(eta=0.85,eta_b=1))", NULL},
    [GDS_IO_AXIS_SCHEME] = {"scheme", GDS_IO_TY_STR,
                            "scheme axis: sampling scheme, canonical name with parameters (e.g. "
                            "ddim(eta=0)); ddrm ignores it", NULL},
    [GDS_IO_AXIS_STEPS] = {"sampler_steps", GDS_IO_TY_I32,
                           "sampler_steps axis: number of sampler steps (ddpm: S, the T training steps "
                           "respaced; vp_sde: K)", "steps"},
    [GDS_IO_AXIS_EPS] = {"eps", GDS_IO_TY_F64,
                         "eps axis: truncation time of the vp_sde sampler (the discrete process ignores "
                         "it)", "1"},
    [GDS_IO_AXIS_INIT] = {"init", GDS_IO_TY_STR,
                          "init axis: initialisation (normal: N(0, I); exact: the reference law at the "
                          "first time)", NULL},
    [GDS_IO_AXIS_SEED] = {"seed", GDS_IO_TY_I64,
                          "seed axis: random seed of the ground truth x0 and of the measurement noise", NULL},
    [GDS_IO_D_TIME] = {"t", GDS_IO_TY_I32,
                       "diffusion time step t (0 = clean image, T = pure noise): index of the W2 curves "
                       "and of /schedule; times a respaced sampler does not visit are NaN in the curves",
                       "diffusion step"},
    [GDS_IO_D_CKPT] = {"checkpoint", GDS_IO_TY_I32,
                       "checkpoint axis: times at which trajectories are stored (in the order of "
                       "output.checkpoints)", "diffusion step"},
    [GDS_IO_D_SAMPLE] = {"sample", GDS_IO_TY_I32,
                         "sample axis: index of a sampled trajectory (its noise is keyed by (seed, sample))",
                         NULL},
    [GDS_IO_D_ROW] = {"row", GDS_IO_TY_I32,
                      "image row index (frequency index in numpy fft2 order for /prior/spectrum)", "pixel"},
    [GDS_IO_D_COL] = {"col", GDS_IO_TY_I32,
                      "image column index (frequency index in numpy fft2 order for /prior/spectrum)", "pixel"},
};
static const gds_io_dim_def gds_io_dim_k_ = {
    "k", GDS_IO_TY_I32,
    "vp_sde step index k = 0..max K in sampling order (k = 0: u = 1, k = K: u = eps; see /results/time): "
    "index of the W2 curves; NaN in the curves past a point's own K", "step"};

/* The datasets written during the run (and the two small ones written at creation). */
typedef enum {
  GDS_IO_F_COMPUTED = 0,
  GDS_IO_F_X0,
  GDS_IO_F_PMEAN,
  GDS_IO_F_PVAR,
  GDS_IO_F_W2,
  GDS_IO_F_W2_MEAN,
  GDS_IO_F_W2_COV,
  GDS_IO_F_W2_FINAL,
  GDS_IO_F_W2_FINAL_MEAN,
  GDS_IO_F_W2_FINAL_COV,
  GDS_IO_F_DONE,
  GDS_IO_F_SMEAN,
  GDS_IO_F_SVAR,
  GDS_IO_F_TRAJ,
  GDS_IO_F_TIME,
  GDS_IO_F_WALL,
  GDS_IO_NFIELDS
} gds_io_field_id;

enum {
  GDS_IO_FL_ZERO = 1,   /* zero-filled at creation (done flags: the one dataset read where unwritten) */
  GDS_IO_FL_STATIC = 2, /* written at creation by rank 0 (not per point) */
  GDS_IO_FL_VP_SDE = 4, /* exists only for the vp_sde process */
};

typedef struct gds_io_field {
  const char *path;
  gds_io_ty type;
  int dims[GDS_IO_MAXRANK + 1]; /* GDS_IO_D_END-terminated */
  int flags;
  const char *description, *units;
} gds_io_field;

static const gds_io_field gds_io_fields_[GDS_IO_NFIELDS] = {
    [GDS_IO_F_COMPUTED] = {"/grid/w2_computed", GDS_IO_TY_U8, {GDS_IO_D_TIME, GDS_IO_D_END}, GDS_IO_FL_STATIC,
                           "1 where the W2 curves were computed at that time (output.w2_times); elsewhere "
                           "they are NaN by design", NULL},
    [GDS_IO_F_X0] = {"/problem/x0", GDS_IO_TY_F64, {GDS_IO_AXIS_SEED, GDS_IO_D_ROW, GDS_IO_D_COL, GDS_IO_D_END}, 0,
                     "ground truth x0 drawn from the prior, per seed (valid where a point of the seed is done)",
                     "pixel intensity"},
    [GDS_IO_F_PMEAN] = {"/problem/posterior_mean", GDS_IO_TY_F64,
                        {GDS_IO_AXIS_OPERATOR, GDS_IO_AXIS_SIGMA, GDS_IO_AXIS_SEED, GDS_IO_D_ROW, GDS_IO_D_COL,
                         GDS_IO_D_END}, 0,
                        "mean mu_post of the exact posterior p(x0 | v) (valid where a point of the operator, "
                        "sigma and seed is done)", "pixel intensity"},
    [GDS_IO_F_PVAR] = {"/problem/posterior_variance", GDS_IO_TY_F64,
                       {GDS_IO_AXIS_OPERATOR, GDS_IO_AXIS_SIGMA, GDS_IO_D_ROW, GDS_IO_D_COL, GDS_IO_D_END}, 0,
                       "diagonal of the exact posterior covariance Sigma_post (independent of the seed; valid "
                       "where a point of the operator and sigma is done)", "pixel intensity^2"},
    [GDS_IO_F_W2] = {"/results/w2", GDS_IO_TY_F64, {GDS_IO_D_GRID, GDS_IO_D_TIME, GDS_IO_D_END}, 0,
                     "2-Wasserstein distance between the exact law of the sampler at each time and the "
                     "reference law (posterior path; prior path for algorithm none); NaN where not computed "
                     "(see /grid/w2_computed) or not visited; inf where the law diverges", "pixel intensity"},
    [GDS_IO_F_W2_MEAN] = {"/results/w2_mean", GDS_IO_TY_F64, {GDS_IO_D_GRID, GDS_IO_D_TIME, GDS_IO_D_END}, 0,
                          "mean part of w2: ||m - m*||", "pixel intensity"},
    [GDS_IO_F_W2_COV] = {"/results/w2_cov", GDS_IO_TY_F64, {GDS_IO_D_GRID, GDS_IO_D_TIME, GDS_IO_D_END}, 0,
                         "covariance part of w2 (Bures distance of K and K*); w2 = sqrt(w2_mean^2 + "
                         "w2_cov^2)", "pixel intensity"},
    [GDS_IO_F_W2_FINAL] = {"/results/w2_final", GDS_IO_TY_F64, {GDS_IO_D_GRID, GDS_IO_D_END}, 0,
                           "W2 between the law of the sampler's output and the target itself (posterior; "
                           "prior for algorithm none); for eps > 0 it includes the truncation error",
                           "pixel intensity"},
    [GDS_IO_F_W2_FINAL_MEAN] = {"/results/w2_final_mean", GDS_IO_TY_F64, {GDS_IO_D_GRID, GDS_IO_D_END}, 0,
                                "mean part of w2_final", "pixel intensity"},
    [GDS_IO_F_W2_FINAL_COV] = {"/results/w2_final_cov", GDS_IO_TY_F64, {GDS_IO_D_GRID, GDS_IO_D_END}, 0,
                               "covariance part of w2_final; w2_final = sqrt(w2_final_mean^2 + "
                               "w2_final_cov^2)", "pixel intensity"},
    [GDS_IO_F_DONE] = {"/results/done", GDS_IO_TY_U8, {GDS_IO_D_GRID, GDS_IO_D_END}, GDS_IO_FL_ZERO,
                       "1 once every result of the point and its problem data are written (written last); "
                       "nothing else of the point is meaningful where it is 0", NULL},
    [GDS_IO_F_SMEAN] = {"/results/sampler_mean", GDS_IO_TY_F64,
                        {GDS_IO_D_GRID, GDS_IO_D_ROW, GDS_IO_D_COL, GDS_IO_D_END}, 0,
                        "mean m_0 of the exact law of the sampler output", "pixel intensity"},
    [GDS_IO_F_SVAR] = {"/results/sampler_variance", GDS_IO_TY_F64,
                       {GDS_IO_D_GRID, GDS_IO_D_ROW, GDS_IO_D_COL, GDS_IO_D_END}, 0,
                       "diagonal of the covariance K_0 of the exact law of the sampler output",
                       "pixel intensity^2"},
    [GDS_IO_F_TRAJ] = {"/results/trajectories", GDS_IO_TY_F32,
                       {GDS_IO_D_GRID, GDS_IO_D_SAMPLE, GDS_IO_D_CKPT, GDS_IO_D_ROW, GDS_IO_D_COL, GDS_IO_D_END}, 0,
                       "sampled trajectories at the checkpoint times", "pixel intensity"},
    [GDS_IO_F_TIME] = {"/results/time", GDS_IO_TY_F64,
                       {GDS_IO_AXIS_STEPS, GDS_IO_AXIS_EPS, GDS_IO_D_TIME, GDS_IO_D_END},
                       GDS_IO_FL_STATIC | GDS_IO_FL_VP_SDE,
                       "diffusion time u_k = 1 - k (1 - eps)/K of step index k, per sampler_steps K and eps "
                       "(NaN past K)", "1"},
    [GDS_IO_F_WALL] = {"/provenance/wall_time", GDS_IO_TY_F64, {GDS_IO_D_GRID, GDS_IO_D_END}, 0,
                       "wall-clock time spent computing the point (its work unit's time divided by the points "
                       "the unit stands for)", "s"},
};

/* Sizes of every dimension. */
typedef struct gds_io_shape {
  hsize_t n[GDS_IO_NDIMS];
  gds_process process;
} gds_io_shape;

/* An open dataset with its file dataspace, whose selection is reset by every write. */
typedef struct gds_io_dset {
  hid_t id, space;
  int rank;
  hsize_t dims[GDS_IO_MAXRANK];
  char name[64];
} gds_io_dset;

struct gds_io {
  char *path;
  MPI_Comm comm;  /* duplicate of the caller's; MPI_COMM_NULL when read-only */
  int rank;
  int writable;
  int lock_fd;    /* rank 0 of a writer: descriptor holding the writer lock; -1 otherwise */
  hid_t file, dxpl;
  gds_writeback *wb; /* a writer's write-behind (NULL when read-only) */
  gds_io_shape sh;
  int64_t npoints;
  int complete;
  char *fingerprint;
  gds_io_dset f[GDS_IO_NFIELDS];
  gds_io_dset *v; /* [n_op] /problem/op<i>/v */
  /* axis labels: strings (operator, algorithm, scheme, init), reals (sigma, alpha, eps) or
   * integers (sampler_steps, seed) */
  char **str[GDS_IO_NAXES];
  double *num[GDS_IO_NAXES];
  int64_t *inum[GDS_IO_NAXES];
};

static const gds_io_dim_def *gds_io_dim(const gds_io_shape *sh, int d) {
  return d == GDS_IO_D_TIME && sh->process == GDS_PROCESS_VP_SDE ? &gds_io_dim_k_ : &gds_io_dims_[d];
}

static int gds_io_field_present(const gds_io_shape *sh, int f) {
  return !(gds_io_fields_[f].flags & GDS_IO_FL_VP_SDE) || sh->process == GDS_PROCESS_VP_SDE;
}

/* Rank and sizes of field f. */
static int gds_io_field_dims(const gds_io_shape *sh, int f, hsize_t *dims) {
  int r = 0;
  for (const int *d = gds_io_fields_[f].dims; *d != GDS_IO_D_END; d++) dims[r++] = sh->n[*d];
  return r;
}

static hid_t gds_io_ftype(gds_io_ty t) {
  switch (t) {
  case GDS_IO_TY_F64: return H5T_IEEE_F64LE;
  case GDS_IO_TY_F32: return H5T_IEEE_F32LE;
  case GDS_IO_TY_U8: return H5T_STD_U8LE;
  case GDS_IO_TY_I32: return H5T_STD_I32LE;
  case GDS_IO_TY_I64: return H5T_STD_I64LE;
  default: return H5I_INVALID_HID;
  }
}
static hid_t gds_io_mtype(gds_io_ty t) {
  switch (t) {
  case GDS_IO_TY_F64: return H5T_NATIVE_DOUBLE;
  case GDS_IO_TY_F32: return H5T_NATIVE_FLOAT;
  case GDS_IO_TY_U8: return H5T_NATIVE_UCHAR;
  case GDS_IO_TY_I32: return H5T_NATIVE_INT;
  case GDS_IO_TY_I64: return H5T_NATIVE_INT64;
  default: return H5I_INVALID_HID;
  }
}

int64_t gds_io_point_index(const int n[GDS_IO_NAXES], const int idx[GDS_IO_NAXES]) {
  int64_t p = 0;
  for (int a = 0; a < GDS_IO_NAXES; a++) p = p * n[a] + idx[a];
  return p;
}

int gds_io_ntime(const gds_sweep *s) {
  if (s->process != GDS_PROCESS_VP_SDE) return s->T + 1;
  int kmax = 0;
  for (int i = 0; i < s->n_steps; i++)
    if (s->steps[i] > kmax) kmax = s->steps[i];
  return kmax + 1;
}

/* ------------------------------------------------------------------------------------ */
/* Errors                                                                               */

static herr_t gds_io_h5_walk(unsigned n, const H5E_error2_t *e, void *data) {
  /* Walking upward, entry 0 is where HDF5 first detected the problem: it carries the
   * errno text ("Permission denied", "No space left on device"). */
  if (n == 0 && e->desc) snprintf((char *)data, 512, "%s", e->desc);
  return 0;
}

/* Raise GDS_ERR_RUNTIME for a failed HDF5 call, appending HDF5's innermost reason. */
static int gds_io_h5fail(const char *file, int line, const char *func, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int gds_io_h5fail(const char *file, int line, const char *func, const char *fmt, ...) {
  char msg[1024], why[512] = "";
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, gds_io_h5_walk, why);
  H5Eclear2(H5E_DEFAULT);
  return gds_error_raise(GDS_ERR_RUNTIME, file, line, func, "%s%s%s", msg, why[0] ? ": HDF5: " : "",
                         why);
}
#define GDS_IO_H5FAIL(...) gds_io_h5fail(__FILE__, __LINE__, __func__, __VA_ARGS__)
/* Check an HDF5 return value (negative = failure); on failure raise and jump to `label`. */
#define GDS_H5_GOTO(ierr, label, expr, ...)                                                  \
  do {                                                                                     \
    if ((expr) < 0) {                                                                      \
      (ierr) = GDS_IO_H5FAIL(__VA_ARGS__);                                                 \
      goto label;                                                                          \
    }                                                                                      \
  } while (0)
#define GDS_H5(expr, ...)                                                                    \
  do {                                                                                     \
    if ((expr) < 0) return GDS_IO_H5FAIL(__VA_ARGS__);                                     \
  } while (0)

static void gds_io_h5_quiet(void) {
  /* HDF5 would print its whole error stack on every failed call, including the probes we
   * expect to fail; our messages carry the relevant part. */
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

static void gds_io_close_id(hid_t *id, herr_t (*closer)(hid_t)) {
  if (*id > 0) closer(*id);
  *id = H5I_INVALID_HID;
}

/* Rank 0's decision to every rank. The others may wait for a while (rank 0 builds or checks the
 * file alone): they wait asleep (gds_mpi_wait) instead of spinning in a blocking broadcast,
 * which would take the cores rank 0 needs when ranks share them. */
static int gds_io_bcast_decision(MPI_Comm comm, int *ierr) {
  MPI_Request rq;
  int e = MPI_Ibcast(ierr, 1, MPI_INT, 0, comm, &rq);
  if (e != MPI_SUCCESS) return gds_error_mpi(e, __FILE__, __LINE__, __func__, "MPI_Ibcast");
  return gds_mpi_wait(&rq, NULL, NULL);
}

/* Every rank returns the worst code of all ranks (messages were printed where raised). */
static int gds_io_agree(MPI_Comm comm, int ierr) {
  int worst = ierr;
  MPI_Request rq;
  if (MPI_Iallreduce(&ierr, &worst, 1, MPI_INT, MPI_MAX, comm, &rq) != MPI_SUCCESS)
    return gds_error_raise(GDS_ERR_RUNTIME, __FILE__, __LINE__, __func__, "MPI_Iallreduce failed");
  int e = gds_mpi_wait(&rq, NULL, NULL);
  return e ? e : worst;
}

/* ------------------------------------------------------------------------------------ */
/* Small helpers                                                                        */

static void gds_io_now_iso(char buf[GDS_IO_TIMELEN]) {
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  strftime(buf, GDS_IO_TIMELEN, "%Y-%m-%dT%H:%M:%SZ", &tm);
}


/* Directory part of a path ("." when it has none). Caller frees. */
static char *gds_io_dirname(const char *path) {
  const char *slash = strrchr(path, '/');
  if (!slash) return gds_strdup(".");
  if (slash == path) return gds_strdup("/");
  char *d = gds_strdup(path);
  if (d) d[slash - path] = '\0';
  return d;
}

/* ------------------------------------------------------------------------------------ */
/* Attributes                                                                           */

/* Fixed-length, null-terminated ASCII: h5py returns bytes, netCDF shows text. */
static int gds_io_attr_str(hid_t obj, const char *where, const char *name, const char *value,
                           size_t size) {
  int ierr = GDS_SUCCESS;
  hid_t type = H5I_INVALID_HID, space = H5I_INVALID_HID, attr = H5I_INVALID_HID;
  if (!value) value = "";
  if (!size) size = strlen(value) + 1;
  char *buf = calloc(size, 1); /* padded copy: the attribute may be longer than the value */
  if (!buf) return gds_error_raise(GDS_ERR_RUNTIME, __FILE__, __LINE__, __func__, "out of memory");
  strncpy(buf, value, size - 1);
  GDS_H5_GOTO(ierr, done, type = H5Tcopy(H5T_C_S1), "cannot create string type");
  GDS_H5_GOTO(ierr, done, H5Tset_size(type, size), "cannot size string type");
  GDS_H5_GOTO(ierr, done, H5Tset_strpad(type, H5T_STR_NULLTERM), "cannot set string padding");
  GDS_H5_GOTO(ierr, done, space = H5Screate(H5S_SCALAR), "cannot create dataspace");
  GDS_H5_GOTO(ierr, done, attr = H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT),
              "cannot create attribute '%s' of %s", name, where);
  GDS_H5_GOTO(ierr, done, H5Awrite(attr, type, buf), "cannot write attribute '%s' of %s", name,
              where);
done:
  free(buf);
  gds_io_close_id(&attr, H5Aclose);
  gds_io_close_id(&space, H5Sclose);
  gds_io_close_id(&type, H5Tclose);
  return ierr;
}

static int gds_io_attr_num(hid_t obj, const char *where, const char *name, hid_t ftype,
                           hid_t mtype, const void *value) {
  int ierr = GDS_SUCCESS;
  hid_t space = H5I_INVALID_HID, attr = H5I_INVALID_HID;
  GDS_H5_GOTO(ierr, done, space = H5Screate(H5S_SCALAR), "cannot create dataspace");
  GDS_H5_GOTO(ierr, done, attr = H5Acreate2(obj, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT),
              "cannot create attribute '%s' of %s", name, where);
  GDS_H5_GOTO(ierr, done, H5Awrite(attr, mtype, value), "cannot write attribute '%s' of %s", name,
              where);
done:
  gds_io_close_id(&attr, H5Aclose);
  gds_io_close_id(&space, H5Sclose);
  return ierr;
}
static int gds_io_attr_int(hid_t obj, const char *where, const char *name, int value) {
  return gds_io_attr_num(obj, where, name, H5T_STD_I32LE, H5T_NATIVE_INT, &value);
}
static int gds_io_attr_double(hid_t obj, const char *where, const char *name, double value) {
  return gds_io_attr_num(obj, where, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &value);
}

/* Overwrite an existing attribute (collective in parallel: every rank passes the same). */
static int gds_io_attr_update(gds_io *io, const char *name, hid_t mtype, const void *value) {
  hid_t attr = H5Aopen(io->file, name, H5P_DEFAULT);
  if (attr < 0) return GDS_IO_H5FAIL("cannot open attribute '%s' of '%s'", name, io->path);
  int ierr = H5Awrite(attr, mtype, value) < 0 ? GDS_IO_H5FAIL("cannot write attribute '%s' of '%s'", name, io->path)
                                              : GDS_SUCCESS;
  H5Aclose(attr);
  return ierr;
}

/* Read a string attribute (fixed or variable length) into a malloc'ed C string. */
static int gds_io_attr_read_str(hid_t obj, const char *path, const char *name, char **out) {
  int ierr = GDS_SUCCESS;
  hid_t attr = H5I_INVALID_HID, ftype = H5I_INVALID_HID, mtype = H5I_INVALID_HID;
  *out = NULL;
  GDS_H5_GOTO(ierr, done, attr = H5Aopen(obj, name, H5P_DEFAULT),
              "cannot open attribute '%s' of '%s'", name, path);
  GDS_H5_GOTO(ierr, done, ftype = H5Aget_type(attr), "cannot get type of attribute '%s' of '%s'",
              name, path);
  if (H5Tget_class(ftype) != H5T_STRING) {
    ierr = gds_error_raise(GDS_ERR_INPUT, __FILE__, __LINE__, __func__,
                           "attribute '%s' of '%s' is not a string", name, path);
    goto done;
  }
  GDS_H5_GOTO(ierr, done, mtype = H5Tcopy(H5T_C_S1), "cannot create string type");
  if (H5Tis_variable_str(ftype) > 0) {
    char *s = NULL;
    GDS_H5_GOTO(ierr, done, H5Tset_size(mtype, H5T_VARIABLE), "cannot size string type");
    GDS_H5_GOTO(ierr, done, H5Aread(attr, mtype, &s), "cannot read attribute '%s' of '%s'", name,
                path);
    *out = gds_strdup(s ? s : "");
    H5free_memory(s);
  } else {
    size_t size = H5Tget_size(ftype);
    GDS_H5_GOTO(ierr, done, H5Tset_size(mtype, size + 1), "cannot size string type");
    GDS_CALL_GOTO(ierr, done, gds_calloc(size + 1, 1, out));
    GDS_H5_GOTO(ierr, done, H5Aread(attr, mtype, *out), "cannot read attribute '%s' of '%s'",
                name, path);
  }
  if (!*out) ierr = gds_error_raise(GDS_ERR_RUNTIME, __FILE__, __LINE__, __func__, "out of memory");
done:
  if (ierr) {
    free(*out);
    *out = NULL;
  }
  gds_io_close_id(&mtype, H5Tclose);
  gds_io_close_id(&ftype, H5Tclose);
  gds_io_close_id(&attr, H5Aclose);
  return ierr;
}


/* ------------------------------------------------------------------------------------ */
/* The output path, its temporary twin and the writer lock (rank 0)                       */

/* Follow symbolic links of the last component, so that OUT given through a link publishes
 * (and locks) the file the link names. Caller frees. */
static char *gds_io_resolve(const char *path) {
  char *cur = gds_strdup(path);
  for (int hop = 0; cur && hop < 40; hop++) {
    struct stat st;
    char target[4096];
    if (lstat(cur, &st) != 0 || !S_ISLNK(st.st_mode)) return cur;
    ssize_t n = readlink(cur, target, sizeof target - 1);
    if (n <= 0) return cur;
    target[n] = '\0';
    char *next;
    if (target[0] == '/') next = gds_strdup(target);
    else {
      char *dir = gds_io_dirname(cur);
      size_t len = (dir ? strlen(dir) : 0) + strlen(target) + 2;
      next = dir ? malloc(len) : NULL;
      if (next) snprintf(next, len, "%s/%s", dir, target);
      free(dir);
    }
    free(cur);
    cur = next;
  }
  return cur; /* a loop: open() reports ELOOP */
}

/* DIR/.BASE.gdsweep-tmp: where rank 0 builds OUT before publishing it. Caller frees. */
static char *gds_io_tmp_path(const char *rpath) {
  const char *slash = strrchr(rpath, '/');
  const char *base = slash ? slash + 1 : rpath;
  size_t dlen = slash ? (size_t)(slash - rpath + 1) : 0, len = strlen(rpath) + 16;
  char *t = malloc(len);
  if (t) snprintf(t, len, "%.*s.%s.gdsweep-tmp", (int)dlen, rpath, base);
  return t;
}

/* Try to take the writer lock on fd: 0 taken (or locks unsupported: warned), 1 held by another
 * process, -1 other error (errno). A write lock needs fd open for writing, else a read lock
 * (which still conflicts with a writer's lock). */
static int gds_io_try_lock(int fd, int for_write, const char *what) {
  struct flock fl;
  memset(&fl, 0, sizeof fl);
  fl.l_type = for_write ? F_WRLCK : F_RDLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = GDS_IO_LOCK_OFFSET;
  fl.l_len = 1;
  if (fcntl(fd, F_OFD_SETLK, &fl) == 0) return 0;
  if (errno == EAGAIN || errno == EACCES) return 1;
  if (errno == ENOLCK || errno == EINVAL || errno == EOPNOTSUPP || errno == ENOSYS) {
    fprintf(stderr, "gdsweep: warning: %s: file locks are not supported here (%s); make sure no other "
            "job writes it\n", what, strerror(errno));
    return 0;
  }
  return -1;
}

/* Open `path` and take its writer lock; *fd_out = -1 when it does not exist (ENOENT). */
static int gds_io_lock_existing(const char *path, const char *shown, int *fd_out) {
  *fd_out = -1;
  int wr = 1, fd = open(path, O_RDWR | O_CLOEXEC);
  if (fd < 0 && (errno == EACCES || errno == EROFS)) {
    wr = 0;
    fd = open(path, O_RDONLY | O_CLOEXEC);
  }
  if (fd < 0) {
    if (errno == ENOENT) return GDS_SUCCESS;
    GDS_ERROR(GDS_ERR_INPUT, "cannot open '%s': %s", shown, strerror(errno));
  }
  int held = gds_io_try_lock(fd, wr, shown);
  if (held) {
    int err = errno;
    close(fd);
    if (held > 0)
      GDS_ERROR(GDS_ERR_INPUT, "'%s' is held by another gdsweep run (it holds the file's writer lock, "
                "whatever path it was given): wait for that run to finish or stop it first", shown);
    GDS_ERROR(GDS_ERR_RUNTIME, "cannot lock '%s': %s", shown, strerror(err));
  }
  *fd_out = fd;
  return GDS_SUCCESS;
}

/* Create the temporary file exclusively and lock it. A leftover of a killed creation (not
 * locked) is removed; one being built by a live run is refused. */
static int gds_io_tmp_create(const char *tmp, const char *shown, int *fd_out) {
  for (int attempt = 0; attempt < 2; attempt++) {
    int fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd >= 0) {
      int held = gds_io_try_lock(fd, 1, tmp);
      if (held) {
        int err = errno;
        close(fd);
        unlink(tmp);
        GDS_ERROR(GDS_ERR_RUNTIME, "cannot lock '%s': %s", tmp, held > 0 ? "held by another process" : strerror(err));
      }
      *fd_out = fd;
      return GDS_SUCCESS;
    }
    if (errno != EEXIST) GDS_ERROR(GDS_ERR_INPUT, "cannot create '%s' (temporary file for '%s'): %s", tmp, shown, strerror(errno));
    int old = -1;
    GDS_CALL(gds_io_lock_existing(tmp, tmp, &old));
    if (old < 0) continue; /* vanished meanwhile */
    close(old);            /* not locked: left by a killed creation */
    unlink(tmp);
  }
  GDS_ERROR(GDS_ERR_RUNTIME, "cannot create '%s': it keeps reappearing", tmp);
}

/* ------------------------------------------------------------------------------------ */
/* Building the file (rank 0, serial driver)                                            */

typedef struct gds_io_builder {
  const char *path; /* the temporary file */
  hid_t file;
  gds_io_shape sh;
  hid_t dcpl_zero;   /* done flags: zeros written at allocation */
  hid_t dcpl_nofill; /* written during the run: allocated, never pre-filled */
  hid_t dcpl_data;   /* written at create (no fill value: VL strings need a fill time) */
  hid_t dxpl;        /* gds_io_make_dxpl */
  hid_t scale[GDS_IO_NDIMS];
} gds_io_builder;

/* A transfer property list whose type-conversion buffers are small. Only variable-length
 * strings (axis labels) are converted; HDF5's default of 1 MiB each for the conversion and
 * background buffers, freshly zeroed per H5Dwrite/H5Dread, made page faults (~12 us per 4 KiB
 * page on a virtual machine) the larger part of creating a small sweep's file. */
static int gds_io_make_dxpl(hid_t *out) {
  hid_t p = H5Pcreate(H5P_DATASET_XFER);
  if (p < 0) return GDS_IO_H5FAIL("cannot create transfer list");
  if (H5Pset_buffer(p, GDS_IO_TCONV_BYTES, NULL, NULL) < 0) {
    H5Pclose(p);
    return GDS_IO_H5FAIL("cannot set the type-conversion buffer size");
  }
  *out = p;
  return GDS_SUCCESS;
}

static int gds_io_make_dcpl(hid_t ftype_fill, const void *fill, H5D_fill_time_t when, hid_t *out) {
  hid_t p = H5Pcreate(H5P_DATASET_CREATE);
  if (p < 0) return GDS_IO_H5FAIL("cannot create dataset property list");
  /* Contiguous and allocated now: a block of seeds is one contiguous byte range in the file
   * (one MPI-IO write), and no allocation (a metadata change) can happen during the run. */
  if (H5Pset_layout(p, H5D_CONTIGUOUS) < 0 || H5Pset_alloc_time(p, H5D_ALLOC_TIME_EARLY) < 0 ||
      H5Pset_fill_time(p, when) < 0 || H5Pset_obj_track_times(p, 0) < 0 ||
      H5Pset_attr_creation_order(p, H5P_CRT_ORDER_TRACKED) < 0 ||
      (fill && H5Pset_fill_value(p, ftype_fill, fill) < 0)) {
    H5Pclose(p);
    return GDS_IO_H5FAIL("cannot set dataset creation properties");
  }
  *out = p;
  return GDS_SUCCESS;
}

static int gds_io_group(gds_io_builder *b, const char *name, const char *description, hid_t *out) {
  int ierr = GDS_SUCCESS;
  hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE), g = H5I_INVALID_HID;
  if (gcpl < 0) return GDS_IO_H5FAIL("cannot create group property list");
  /* Creation order: h5dump/ncdump list members in the order they were written. */
  GDS_H5_GOTO(ierr, done, H5Pset_link_creation_order(gcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED),
              "cannot set group properties");
  GDS_H5_GOTO(ierr, done, g = H5Gcreate2(b->file, name, H5P_DEFAULT, gcpl, H5P_DEFAULT),
              "cannot create group '%s' in '%s'", name, b->path);
  if (description) GDS_CALL_GOTO(ierr, done, gds_io_attr_str(g, name, "description", description, 0));
done:
  H5Pclose(gcpl);
  if (ierr || !out) gds_io_close_id(&g, H5Gclose);
  if (out) *out = g;
  return ierr;
}

/* Create dataset `name` [rank dims] of file type ftype; attach the scale of dimension
 * scales[k] (GDS_IO_D_NONE = unlabelled; scales NULL = none) to each dimension; describe it.
 * Writes `data` (memory type mtype) if given. Returns the open dataset in *out if out. */
static int gds_io_dataset(gds_io_builder *b, const char *name, hid_t ftype, int rank, const hsize_t *dims,
                          hid_t dcpl, const int *scales, const char *description, const char *units,
                          hid_t mtype, const void *data, hid_t *out) {
  int ierr = GDS_SUCCESS;
  hid_t space = H5I_INVALID_HID, d = H5I_INVALID_HID;
  GDS_H5_GOTO(ierr, done, space = H5Screate_simple(rank, dims, NULL), "cannot create dataspace of '%s' in '%s'",
              name, b->path);
  GDS_H5_GOTO(ierr, done, d = H5Dcreate2(b->file, name, ftype, space, H5P_DEFAULT, dcpl, H5P_DEFAULT),
              "cannot create dataset '%s' in '%s'", name, b->path);
  if (data)
    GDS_H5_GOTO(ierr, done, H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, b->dxpl, data),
                "cannot write dataset '%s' in '%s'", name, b->path);
  for (int k = 0; scales && k < rank; k++)
    if (scales[k] >= 0) {
      GDS_H5_GOTO(ierr, done, H5DSattach_scale(d, b->scale[scales[k]], (unsigned)k),
                  "cannot attach a dimension scale to dimension %d of '%s' in '%s'", k, name, b->path);
      /* h5py shows labels as dims[k].label */
      GDS_H5_GOTO(ierr, done, H5DSset_label(d, (unsigned)k, gds_io_dim(&b->sh, scales[k])->name),
                  "cannot label dimension %d of '%s' in '%s'", k, name, b->path);
    }
  if (description) GDS_CALL_GOTO(ierr, done, gds_io_attr_str(d, name, "description", description, 0));
  if (units) GDS_CALL_GOTO(ierr, done, gds_io_attr_str(d, name, "units", units, 0));
done:
  gds_io_close_id(&space, H5Sclose);
  if (ierr || !out) gds_io_close_id(&d, H5Dclose);
  if (out) *out = d;
  return ierr;
}

/* Variable-length ASCII string type (caller closes). */
static int gds_io_vlstr_type(hid_t *out) {
  hid_t t = H5Tcopy(H5T_C_S1);
  if (t < 0 || H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, H5T_CSET_ASCII) < 0) {
    if (t >= 0) H5Tclose(t);
    return GDS_IO_H5FAIL("cannot create string type");
  }
  *out = t;
  return GDS_SUCCESS;
}

/* Dimension scale /grid/<name> of dimension d with its n values (strings for string
 * dimensions), also soft-linked as /<name>. */
static int gds_io_scale(gds_io_builder *b, int d, const void *data) {
  const gds_io_dim_def *def = gds_io_dim(&b->sh, d);
  char path[64], alias[64];
  hsize_t n = b->sh.n[d];
  hid_t str = H5I_INVALID_HID;
  int ierr = GDS_SUCCESS;
  snprintf(path, sizeof path, "/grid/%s", def->name);
  snprintf(alias, sizeof alias, "/%s", def->name);
  if (def->type == GDS_IO_TY_STR) GDS_CALL(gds_io_vlstr_type(&str));
  hid_t ft = def->type == GDS_IO_TY_STR ? str : gds_io_ftype(def->type);
  hid_t mt = def->type == GDS_IO_TY_STR ? str : gds_io_mtype(def->type);
  ierr = gds_io_dataset(b, path, ft, 1, &n, b->dcpl_data, NULL, def->description, def->units, mt,
                        n ? data : NULL, &b->scale[d]);
  gds_io_close_id(&str, H5Tclose);
  GDS_CALL(ierr);
  GDS_H5(H5DSset_scale(b->scale[d], def->name), "cannot make '%s' a dimension scale in '%s'", path, b->path);
  /* netCDF resolves a dimension only in the variable's group and its ancestors: the root alias
   * makes /grid's scales visible from /results, /problem, ... A soft link keeps /grid/<axis>
   * the object's only real name (h5py/h5ls report that one). */
  GDS_H5(H5Lcreate_soft(path, b->file, alias, H5P_DEFAULT, H5P_DEFAULT), "cannot link '%s' as '%s' in '%s'", path,
         alias, b->path);
  return GDS_SUCCESS;
}

/* Field f of the table, with `data` for static fields (NULL otherwise). */
static int gds_io_build_field(gds_io_builder *b, int f, const void *data) {
  const gds_io_field *fd = &gds_io_fields_[f];
  hsize_t dims[GDS_IO_MAXRANK];
  int rank = gds_io_field_dims(&b->sh, f, dims);
  hid_t dcpl = (fd->flags & GDS_IO_FL_STATIC) ? b->dcpl_data : (fd->flags & GDS_IO_FL_ZERO) ? b->dcpl_zero : b->dcpl_nofill;
  GDS_CALL(gds_io_dataset(b, fd->path, gds_io_ftype(fd->type), rank, dims, dcpl, fd->dims, fd->description, fd->units,
                          gds_io_mtype(fd->type), data, NULL));
  return GDS_SUCCESS;
}

/* Every present field whose path starts with `group` (table order). */
static int gds_io_build_fields(gds_io_builder *b, const char *group, const void *const *data) {
  size_t len = strlen(group);
  for (int f = 0; f < GDS_IO_NFIELDS; f++)
    if (!strncmp(gds_io_fields_[f].path, group, len) && gds_io_field_present(&b->sh, f))
      GDS_CALL(gds_io_build_field(b, f, data ? data[f] : NULL));
  return GDS_SUCCESS;
}

/* Consistency of the caller's structures (programming errors: runtime). */
static int gds_io_check_inputs(const gds_sweep *s, const gds_schedule *sched, const gds_prior *prior,
                               gds_operator *const *ops) {
  if (!s || !prior || !ops || (s->process != GDS_PROCESS_VP_SDE && !sched))
    GDS_ERROR(GDS_ERR_RUNTIME, "gds_io_create: sweep, schedule, prior and operators are required on rank 0");
  int H = prior->H, W = prior->W;
  const int n[GDS_IO_NAXES] = {s->n_op, s->n_sigma, s->n_alpha, s->n_alg, s->n_scheme, s->n_steps, s->n_eps,
                               s->n_init, s->n_seed};
  for (int a = 0; a < GDS_IO_NAXES; a++)
    if (n[a] < 1) GDS_ERROR(GDS_ERR_RUNTIME, "gds_io_create: grid axis %s is empty", gds_io_dims_[a].name);
  if (!s->sigma || !s->alpha_dps || !s->alg || !s->scheme || !s->steps || !s->eps || !s->init || !s->seed)
    GDS_ERROR(GDS_ERR_RUNTIME, "gds_io_create: a grid axis has no values");
  if ((s->process != GDS_PROCESS_VP_SDE && s->T < 1) || s->samples < 0 || s->n_ckpt < 0 || H < 1 || W < 1 ||
      gds_io_ntime(s) < 2)
    GDS_ERROR(GDS_ERR_RUNTIME, "gds_io_create: bad shape (T %d, samples %d, checkpoints %d, %dx%d)", s->T,
              s->samples, s->n_ckpt, H, W);
  if (sched && s->process != GDS_PROCESS_VP_SDE && sched->T != s->T)
    GDS_ERROR(GDS_ERR_RUNTIME, "gds_io_create: schedule has T = %d, sweep T = %d", sched->T, s->T);
  for (int i = 0; i < s->n_op; i++) {
    const gds_operator *op = ops[i];
    if (!op || op->H != H || op->W != W || op->mh < 1 || op->mw < 1)
      GDS_ERROR(GDS_ERR_RUNTIME, "gds_io_create: operator %d missing or of the wrong shape", i);
  }
  int nt = gds_io_ntime(s);
  for (int k = 0; k < s->n_w2t; k++)
    if (s->w2_times[k] < 0 || s->w2_times[k] >= nt)
      GDS_ERROR(GDS_ERR_RUNTIME, "gds_io_create: w2 time %d outside 0..%d", s->w2_times[k], nt - 1);
  return GDS_SUCCESS;
}

static void gds_io_shape_from_sweep(const gds_sweep *s, int H, int W, gds_io_shape *sh) {
  memset(sh, 0, sizeof *sh);
  const int n[GDS_IO_NAXES] = {s->n_op, s->n_sigma, s->n_alpha, s->n_alg, s->n_scheme, s->n_steps, s->n_eps,
                               s->n_init, s->n_seed};
  for (int a = 0; a < GDS_IO_NAXES; a++) sh->n[a] = (hsize_t)n[a];
  sh->n[GDS_IO_D_TIME] = (hsize_t)gds_io_ntime(s);
  sh->n[GDS_IO_D_CKPT] = (hsize_t)s->n_ckpt;
  sh->n[GDS_IO_D_SAMPLE] = (hsize_t)s->samples;
  sh->n[GDS_IO_D_ROW] = (hsize_t)H;
  sh->n[GDS_IO_D_COL] = (hsize_t)W;
  sh->process = s->process;
}

/* Rank 0: refuse what the user must fix, before touching anything. */
static int gds_io_check_target(const char *shown, const char *rpath, int force, int *exists) {
  struct stat st;
  *exists = 0;
  if (stat(rpath, &st) == 0) {
    if (S_ISDIR(st.st_mode))
      GDS_ERROR(GDS_ERR_INPUT, "cannot create '%s': it is a directory (give a file name, e.g. %s/out.h5)", shown,
                shown);
    if (!force)
      GDS_ERROR(GDS_ERR_INPUT, "'%s' already exists: use --force to overwrite it, or --resume to continue the "
                "sweep it holds", shown);
    *exists = 1;
  } else if (errno != ENOENT) {
    GDS_ERROR(GDS_ERR_INPUT, "cannot create '%s': %s", shown, strerror(errno));
  }
  char *dir = gds_io_dirname(rpath);
  if (!dir) GDS_ERROR(GDS_ERR_RUNTIME, "out of memory");
  int ok = access(dir, W_OK | X_OK) == 0, err = errno;
  if (!ok) {
    int ierr = gds_error_raise(GDS_ERR_INPUT, __FILE__, __LINE__, __func__,
                               err == ENOENT ? "cannot create '%s': directory '%s' does not exist (%s)"
                                             : "cannot create '%s': directory '%s' is not writable (%s)",
                               shown, dir, strerror(err));
    free(dir);
    return ierr;
  }
  free(dir);
  return GDS_SUCCESS;
}

static int gds_io_write_root_attrs(gds_io_builder *b, const gds_sweep *s, const char *fingerprint, int nranks) {
  hid_t f = b->file;
  char buf[MPI_MAX_LIBRARY_VERSION_STRING + 1] = "", now[GDS_IO_TIMELEN];
  int len = 0;
  GDS_CALL(gds_io_attr_str(f, "/", "description",
                           "gdsweep results: exact 2-Wasserstein distances between diffusion posterior "
                           "samplers and the Gaussian posterior. Grid axes (operator, sigma, alpha_dps, "
                           "algorithm, scheme, sampler_steps, eps, init, seed) are dimension scales in /grid; "
                           "/results/done says which points are complete.", 0));
  GDS_CALL(gds_io_attr_int(f, "/", "gdsweep_format", GDS_IO_FORMAT));
  GDS_CALL(gds_io_attr_str(f, "/", "process", gds_process_name(s->process), 0));
  GDS_CALL(gds_io_attr_str(f, "/", "name", s->name, 0));
  GDS_CALL(gds_io_attr_str(f, "/", "config", s->text ? s->text : "", s->text ? s->text_len + 1 : 1));
  GDS_CALL(gds_io_attr_str(f, "/", "fingerprint", fingerprint, 0));
  { /* input files and their SHA-256, so that a refused --resume can name a changed file */
    char *inputs = NULL;
    GDS_CALL(gds_sweep_inputs(s, &inputs));
    int ierr_inputs = gds_io_attr_str(f, "/", "inputs", inputs, 0);
    free(inputs);
    GDS_CALL(ierr_inputs);
  }
  /* What the random numbers are (x0, measurement noise, trajectories): results of another
   * generator or noise basis are not comparable, and a resume must not mix them. */
  GDS_CALL(gds_io_attr_str(f, "/", "rng", gds_rng_description(), 0));
  GDS_CALL(gds_io_attr_str(f, "/", "sampler_noise", gds_sampler_noise_description(), 0));
  GDS_CALL(gds_io_attr_str(f, "/", "version", GDS_VERSION, 0));
  GDS_CALL(gds_io_attr_str(f, "/", "git_revision", GDS_GIT_REVISION, 0));
  GDS_CALL(gds_io_attr_str(f, "/", "compiler", GDS_COMPILER, 0));
  if (MPI_Get_library_version(buf, &len) != MPI_SUCCESS) snprintf(buf, sizeof buf, "unknown");
  buf[len < (int)sizeof buf ? len : (int)sizeof buf - 1] = '\0';
  for (int i = (int)strlen(buf) - 1; i >= 0 && (buf[i] == '\n' || buf[i] == ' ' || buf[i] == '\0'); i--)
    buf[i] = '\0'; /* Open MPI ends the string with a newline */
  GDS_CALL(gds_io_attr_str(f, "/", "mpi_library_version", buf, 0));
  unsigned maj = 0, min = 0, rel = 0;
  H5get_libversion(&maj, &min, &rel);
  snprintf(buf, sizeof buf, "%u.%u.%u", maj, min, rel);
  GDS_CALL(gds_io_attr_str(f, "/", "hdf5_version", buf, 0));
  GDS_CALL(gds_io_attr_str(f, "/", "fftw_version", fftw_version, 0));
  if (gethostname(buf, sizeof buf - 1) != 0) snprintf(buf, sizeof buf, "unknown");
  GDS_CALL(gds_io_attr_str(f, "/", "host", buf, 0));
  GDS_CALL(gds_io_attr_int(f, "/", "ranks", nranks));
  gds_io_now_iso(now);
  GDS_CALL(gds_io_attr_str(f, "/", "start_time", now, GDS_IO_TIMELEN));
  /* Created now, written by close: attributes cannot be created once ranks write. */
  GDS_CALL(gds_io_attr_str(f, "/", "end_time", "", GDS_IO_TIMELEN));
  GDS_CALL(gds_io_attr_int(f, "/", "complete", 0));
  GDS_CALL(gds_io_attr_int(f, "/", "resume_count", 0));
  return GDS_SUCCESS;
}

static int gds_io_build_grid(gds_io_builder *b, const gds_sweep *s, gds_operator *const *ops) {
  int ierr = GDS_SUCCESS;
  const gds_io_shape *sh = &b->sh;
  char **names = NULL, *text = NULL;
  int *ints = NULL;
  unsigned char *computed = NULL;
  const int ntime = (int)sh->n[GDS_IO_D_TIME];
  hsize_t nmax = 0;
  for (int d = 0; d < GDS_IO_NDIMS; d++)
    if (sh->n[d] > nmax) nmax = sh->n[d];
  GDS_CALL_GOTO(ierr, done, GDS_ALLOC(names, nmax));
  GDS_CALL_GOTO(ierr, done, GDS_ALLOC(text, (size_t)nmax * 256));
  GDS_CALL_GOTO(ierr, done, GDS_ALLOC(ints, nmax));
  GDS_CALL_GOTO(ierr, done, GDS_ALLOC(computed, ntime));
  GDS_CALL_GOTO(ierr, done, gds_io_group(b, "/grid", "axes of the sweep; each dataset is a dimension scale "
                                         "attached to the dimensions it labels", NULL));
  for (int d = 0; d < GDS_IO_NDIMS; d++) {
    const void *data = ints;
    int n = (int)sh->n[d];
    switch (d) {
    case GDS_IO_AXIS_OPERATOR:
      for (int i = 0; i < n; i++) names[i] = ops[i]->name;
      data = names;
      break;
    case GDS_IO_AXIS_SIGMA: data = s->sigma; break;
    case GDS_IO_AXIS_ALPHA: data = s->alpha_dps; break;
    case GDS_IO_AXIS_ALGORITHM:
    case GDS_IO_AXIS_SCHEME:
    case GDS_IO_AXIS_INIT:
      for (int i = 0; i < n; i++) {
        names[i] = text + (size_t)i * 256;
        if (d == GDS_IO_AXIS_ALGORITHM) gds_algorithm_spec_name(&s->alg[i], names[i], 256);
        else if (d == GDS_IO_AXIS_SCHEME) gds_scheme_spec_name(&s->scheme[i], names[i], 256);
        else snprintf(names[i], 256, "%s", gds_init_name(s->init[i]));
      }
      data = names;
      break;
    case GDS_IO_AXIS_STEPS:
      for (int i = 0; i < n; i++) ints[i] = s->steps[i] > 0 ? s->steps[i] : s->T;
      break;
    case GDS_IO_AXIS_EPS: data = s->eps; break;
    case GDS_IO_AXIS_SEED: data = s->seed; break;
    case GDS_IO_D_CKPT: data = s->ckpt; break;
    default: /* t / k, sample, row, col: 0..n-1 */
      for (int i = 0; i < n; i++) ints[i] = i;
      break;
    }
    GDS_CALL_GOTO(ierr, done, gds_io_scale(b, d, data));
  }
  if (s->w2_times)
    for (int k = 0; k < s->n_w2t; k++) computed[s->w2_times[k]] = 1;
  else /* no list at all (hand-built sweeps): output.w2_times defaults to all */
    memset(computed, 1, (size_t)ntime);
  const void *data[GDS_IO_NFIELDS] = {[GDS_IO_F_COMPUTED] = computed};
  GDS_CALL_GOTO(ierr, done, gds_io_build_fields(b, "/grid/", data));
done:
  free(names);
  free(text);
  free(ints);
  free(computed);
  return ierr;
}

static int gds_io_build_schedule_prior(gds_io_builder *b, const gds_sweep *s, const gds_schedule *sc,
                                       const gds_prior *pr) {
  hid_t g = H5I_INVALID_HID, d = H5I_INVALID_HID;
  int ierr = GDS_SUCCESS;
  hsize_t hw[2] = {(hsize_t)pr->H, (hsize_t)pr->W};
  const int tdim[] = {GDS_IO_D_TIME}, imdim[] = {GDS_IO_D_ROW, GDS_IO_D_COL};
  const int vp = s->process == GDS_PROCESS_VP_SDE;
  if ((!vp && (!sc->beta || !sc->alpha_bar)) || !pr->texture || !pr->spectrum)
    GDS_ERROR(GDS_ERR_RUNTIME, "gds_io_create: schedule or prior arrays missing");

  GDS_CALL_GOTO(ierr, done, gds_io_group(b, "/schedule", vp ? "continuous VP SDE: beta(u) = beta_min + u "
                                         "(beta_max - beta_min), u in [0, 1]" : "discrete DDPM noise schedule "
                                         "(index t = 0..T)", &g));
  GDS_CALL_GOTO(ierr, done, gds_io_attr_str(g, "/schedule", "process", gds_process_name(s->process), 0));
  if (vp) {
    GDS_CALL_GOTO(ierr, done, gds_io_attr_double(g, "/schedule", "beta_min", s->beta_min));
    GDS_CALL_GOTO(ierr, done, gds_io_attr_double(g, "/schedule", "beta_max", s->beta_max));
  } else {
    GDS_CALL_GOTO(ierr, done, gds_io_attr_int(g, "/schedule", "T", sc->T));
    GDS_CALL_GOTO(ierr, done, gds_io_attr_double(g, "/schedule", "beta_start", sc->beta_start));
    GDS_CALL_GOTO(ierr, done, gds_io_attr_double(g, "/schedule", "beta_end", sc->beta_end));
    GDS_CALL_GOTO(ierr, done, gds_io_attr_str(g, "/schedule", "variance",
                                              sc->variance == GDS_VARIANCE_BETA_TILDE ? "beta_tilde" : "beta", 0));
  }
  gds_io_close_id(&g, H5Gclose);
  if (!vp) {
    hsize_t nt = (hsize_t)sc->T + 1;
    GDS_CALL_GOTO(ierr, done, gds_io_dataset(b, "/schedule/beta", H5T_IEEE_F64LE, 1, &nt, b->dcpl_data, tdim,
                                             "beta_t (beta[0] = 0)", "1", H5T_NATIVE_DOUBLE, sc->beta, NULL));
    GDS_CALL_GOTO(ierr, done, gds_io_dataset(b, "/schedule/alpha_bar", H5T_IEEE_F64LE, 1, &nt, b->dcpl_data, tdim,
                                             "alpha_bar_t = prod_{s<=t} (1 - beta_s) (alpha_bar[0] = 1)", "1",
                                             H5T_NATIVE_DOUBLE, sc->alpha_bar, NULL));
    if (sc->sigma2)
      GDS_CALL_GOTO(ierr, done, gds_io_dataset(b, "/schedule/sigma2", H5T_IEEE_F64LE, 1, &nt, b->dcpl_data, tdim,
                                               "variance sigma_t^2 of the noise added by the backward step t -> "
                                               "t-1 of the full (S = T) ddpm sampler (sigma2[1] = 0)", "1",
                                               H5T_NATIVE_DOUBLE, sc->sigma2, NULL));
  }

  GDS_CALL_GOTO(ierr, done, gds_io_group(b, "/prior", "Gaussian image prior x0 ~ N(m 1, Sigma)", &g));
  GDS_CALL_GOTO(ierr, done, gds_io_attr_str(g, "/prior", "name", pr->name, 0));
  GDS_CALL_GOTO(ierr, done, gds_io_attr_double(g, "/prior", "mean", pr->mean));
  GDS_CALL_GOTO(ierr, done, gds_io_attr_int(g, "/prior", "white", pr->white));
  gds_io_close_id(&g, H5Gclose);
  GDS_CALL_GOTO(ierr, done, gds_io_dataset(b, "/prior/texture", H5T_IEEE_F64LE, 2, hw, b->dcpl_data, imdim,
                                           "texture u the prior is built from (after cropping and periodic "
                                           "component); prior mean m = its mean",
                                           "pixel intensity", H5T_NATIVE_DOUBLE, pr->texture, &d));
  GDS_CALL_GOTO(ierr, done, gds_io_attr_double(d, "/prior/texture", "mean", pr->mean));
  GDS_CALL_GOTO(ierr, done, gds_io_attr_str(d, "/prior/texture", "name", pr->name, 0));
  gds_io_close_id(&d, H5Dclose);
  GDS_CALL_GOTO(ierr, done, gds_io_dataset(b, "/prior/spectrum", H5T_IEEE_F64LE, 2, hw, b->dcpl_data, imdim,
                                           "eigenvalues lambda(xi) = |DFT(t)(xi)|^2 of the prior covariance, "
                                           "unnormalised DFT, numpy fft2 order",
                                           "pixel intensity^2", H5T_NATIVE_DOUBLE, pr->spectrum, &d));
  GDS_CALL_GOTO(ierr, done, gds_io_attr_double(d, "/prior/spectrum", "mean", pr->mean));
  GDS_CALL_GOTO(ierr, done, gds_io_attr_str(d, "/prior/spectrum", "name", pr->name, 0));
done:
  gds_io_close_id(&d, H5Dclose);
  gds_io_close_id(&g, H5Gclose);
  return ierr;
}

static int gds_io_build_problem(gds_io_builder *b, const gds_sweep *s, const gds_prior *pr, gds_operator *const *ops) {
  hid_t g = H5I_INVALID_HID;
  int ierr = GDS_SUCCESS;
  const int H = (int)b->sh.n[GDS_IO_D_ROW], W = (int)b->sh.n[GDS_IO_D_COL];
  hsize_t hw[2] = {(hsize_t)H, (hsize_t)W};
  const int ims[] = {GDS_IO_D_ROW, GDS_IO_D_COL};

  GDS_CALL_GOTO(ierr, done, gds_io_group(b, "/problem", "inverse problems: ground truths, measurements, exact "
                                         "posteriors (valid where a point using them is done)", NULL));
  GDS_CALL_GOTO(ierr, done, gds_io_build_fields(b, "/problem/", NULL));
  for (int i = 0; i < s->n_op; i++) {
    const gds_operator *op = ops[i];
    char name[64], where[96], type[256], params[256] = "";
    snprintf(name, sizeof name, "/problem/op%d", i);
    /* The canonical name is type(parameters): split it rather than re-format the spec. */
    snprintf(type, sizeof type, "%s", op->name);
    char *paren = strchr(type, '(');
    if (paren) {
      snprintf(params, sizeof params, "%s", paren + 1);
      char *close = strrchr(params, ')');
      if (close) *close = '\0';
      *paren = '\0';
    }
    GDS_CALL_GOTO(ierr, done, gds_io_group(b, name, "measurement operator i of the operator axis", &g));
    GDS_CALL_GOTO(ierr, done, gds_io_attr_str(g, name, "name", op->name, 0));
    GDS_CALL_GOTO(ierr, done, gds_io_attr_str(g, name, "type", type, 0));
    GDS_CALL_GOTO(ierr, done, gds_io_attr_str(g, name, "parameters", params, 0));
    GDS_CALL_GOTO(ierr, done, gds_io_attr_str(g, name, "law_backend", gds_law_backend_for_prior(pr, op), 0));
    gds_io_close_id(&g, H5Gclose);
    hsize_t vd[4] = {(hsize_t)s->n_sigma, (hsize_t)s->n_seed, (hsize_t)op->mh, (hsize_t)op->mw};
    /* Measurement rows/columns: the image's row/col scales when v is an image of the same
     * shape, else scales of its own in the operator's group (netCDF cannot read a variable
     * mixing labelled and unlabelled dimensions). */
    int same = op->mh == H && op->mw == W;
    if (!same) {
      static const char *const which[2] = {"v_row", "v_col"};
      for (int k = 0; k < 2; k++) {
        int n = k ? op->mw : op->mh;
        int *idx = NULL;
        hid_t sd = H5I_INVALID_HID;
        hsize_t hn = (hsize_t)n;
        snprintf(where, sizeof where, "%s/%s", name, which[k]);
        GDS_CALL_GOTO(ierr, done, GDS_ALLOC(idx, n));
        for (int j = 0; j < n; j++) idx[j] = j;
        ierr = gds_io_dataset(b, where, H5T_STD_I32LE, 1, &hn, b->dcpl_data, NULL,
                              k ? "column index of the measurement v" : "row index of the measurement v", NULL,
                              H5T_NATIVE_INT, idx, &sd);
        free(idx);
        if (!ierr && H5DSset_scale(sd, which[k]) < 0)
          ierr = GDS_IO_H5FAIL("cannot make '%s' a dimension scale in '%s'", where, b->path);
        if (sd >= 0) H5Dclose(sd);
        if (ierr) goto done;
      }
    }
    const int vs[] = {GDS_IO_AXIS_SIGMA, GDS_IO_AXIS_SEED, same ? GDS_IO_D_ROW : GDS_IO_D_NONE,
                      same ? GDS_IO_D_COL : GDS_IO_D_NONE};
    snprintf(where, sizeof where, "%s/v", name);
    hid_t vd_id = H5I_INVALID_HID;
    GDS_CALL_GOTO(ierr, done, gds_io_dataset(b, where, H5T_IEEE_F64LE, 4, vd, b->dcpl_nofill, vs,
                                             "measurement v = A x0 + sigma n, per sigma and seed (measurement "
                                             "shape of the operator)", "pixel intensity", 0, NULL, &vd_id));
    for (int k = 0; !same && k < 2; k++) {
      char sp[96];
      snprintf(sp, sizeof sp, "%s/%s", name, k ? "v_col" : "v_row");
      hid_t sd = H5Dopen2(b->file, sp, H5P_DEFAULT);
      if (sd < 0 || H5DSattach_scale(vd_id, sd, (unsigned)(2 + k)) < 0 ||
          H5DSset_label(vd_id, (unsigned)(2 + k), k ? "v_col" : "v_row") < 0)
        ierr = GDS_IO_H5FAIL("cannot attach '%s' to '%s' in '%s'", sp, where, b->path);
      if (sd >= 0) H5Dclose(sd);
      if (ierr) break;
    }
    H5Dclose(vd_id);
    if (ierr) goto done;
    if (op->kernel) {
      snprintf(where, sizeof where, "%s/kernel", name);
      GDS_CALL_GOTO(ierr, done, gds_io_dataset(b, where, H5T_IEEE_F64LE, 2, hw, b->dcpl_data, ims,
                                               "periodic convolution kernel of A (origin at [0,0])", "1",
                                               H5T_NATIVE_DOUBLE, op->kernel, NULL));
    }
    if (op->mask) {
      snprintf(where, sizeof where, "%s/mask", name);
      GDS_CALL_GOTO(ierr, done, gds_io_dataset(b, where, H5T_STD_U8LE, 2, hw, b->dcpl_data, ims,
                                               "inpainting mask: 1 = observed pixel (A keeps the observed pixels "
                                               "in row-major order)", NULL, H5T_NATIVE_UCHAR, op->mask, NULL));
    }
  }
done:
  gds_io_close_id(&g, H5Gclose);
  return ierr;
}

static int gds_io_build_results(gds_io_builder *b, const gds_sweep *s) {
  int ierr = GDS_SUCCESS;
  double *u = NULL;
  GDS_CALL(gds_io_group(b, "/results", "results per grid point (operator, sigma, alpha_dps, algorithm, scheme, "
                        "sampler_steps, eps, init, seed); valid where /results/done = 1", NULL));
  const void *data[GDS_IO_NFIELDS] = {0};
  if (b->sh.process == GDS_PROCESS_VP_SDE) {
    /* u_k = 1 − k Δt, Δt = (1 − ε)/K (SPEC §7.3), u_K = ε exactly (as the plans have it,
     * gds_plan_create), NaN past K. */
    const int ns = s->n_steps, ne = s->n_eps, nt = (int)b->sh.n[GDS_IO_D_TIME];
    GDS_CALL(GDS_ALLOC(u, (size_t)ns * ne * nt));
    for (int i = 0; i < ns; i++)
      for (int e = 0; e < ne; e++)
        for (int k = 0; k < nt; k++) {
          int K = s->steps[i];
          u[((size_t)i * ne + e) * nt + k] = k < K ? 1.0 - k * ((1.0 - s->eps[e]) / K) : k == K ? s->eps[e] : NAN;
        }
    data[GDS_IO_F_TIME] = u;
  }
  ierr = gds_io_build_fields(b, "/results/", data);
  free(u);
  GDS_CALL(ierr);
  /* Timing is not a result: /results stays a pure function of the sweep file (bitwise
   * comparable across runs and rank counts); run-dependent data lives in /provenance. */
  GDS_CALL(gds_io_group(b, "/provenance", "run-dependent data (timings); not part of the results", NULL));
  GDS_CALL(gds_io_build_fields(b, "/provenance/", NULL));
  return GDS_SUCCESS;
}

/* Rank 0: the whole file, serially, into `path` (the temporary file, created and locked by
 * the caller), then closed. */
static int gds_io_build(const char *path, int nranks, const gds_sweep *s, const gds_schedule *sc,
                        const gds_prior *pr, gds_operator *const *ops, const char *fingerprint) {
  int ierr = GDS_SUCCESS;
  hid_t fapl = H5I_INVALID_HID, fcpl = H5I_INVALID_HID;
  gds_io_builder b;
  memset(&b, 0, sizeof b);
  b.path = path;
  b.file = b.dcpl_zero = b.dcpl_nofill = b.dcpl_data = b.dxpl = H5I_INVALID_HID;
  for (int k = 0; k < GDS_IO_NDIMS; k++) b.scale[k] = H5I_INVALID_HID;
  gds_io_shape_from_sweep(s, pr->H, pr->W, &b.sh);

  const unsigned char zero = 0;
  GDS_CALL_GOTO(ierr, done, gds_io_make_dcpl(H5T_NATIVE_UCHAR, &zero, H5D_FILL_TIME_IFSET, &b.dcpl_zero));
  GDS_CALL_GOTO(ierr, done, gds_io_make_dcpl(0, NULL, H5D_FILL_TIME_NEVER, &b.dcpl_nofill));
  GDS_CALL_GOTO(ierr, done, gds_io_make_dcpl(0, NULL, H5D_FILL_TIME_IFSET, &b.dcpl_data));
  GDS_CALL_GOTO(ierr, done, gds_io_make_dxpl(&b.dxpl));
  GDS_H5_GOTO(ierr, done, fapl = H5Pcreate(H5P_FILE_ACCESS), "cannot create file access list");
  GDS_H5_GOTO(ierr, done, H5Pset_fapl_sec2(fapl), "cannot select the sec2 driver");
  /* Format of HDF5 1.8: readable by every current tool, and its superblock has no "open
   * for writing" flag that a killed job would leave set. */
  GDS_H5_GOTO(ierr, done, H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_V18),
              "cannot set library version bounds");
  GDS_H5_GOTO(ierr, done, H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG), "cannot set close degree");
  /* Our own lock on the file is the writer lock (HDF5's flock would be per path's inode too,
   * but is dropped at close and meaningless for the MPI-IO driver). */
  GDS_H5_GOTO(ierr, done, H5Pset_file_locking(fapl, 0, 1), "cannot set file locking");
  GDS_H5_GOTO(ierr, done, H5Pset_alignment(fapl, GDS_IO_ALIGN, GDS_IO_ALIGN), "cannot set alignment");
  GDS_H5_GOTO(ierr, done, fcpl = H5Pcreate(H5P_FILE_CREATE), "cannot create file creation list");
  GDS_H5_GOTO(ierr, done, H5Pset_link_creation_order(fcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED),
              "cannot set file creation properties");
  GDS_H5_GOTO(ierr, done, b.file = H5Fcreate(path, H5F_ACC_TRUNC, fcpl, fapl), "cannot create '%s'", path);

  GDS_CALL_GOTO(ierr, done, gds_io_write_root_attrs(&b, s, fingerprint, nranks));
  GDS_CALL_GOTO(ierr, done, gds_io_build_grid(&b, s, ops));
  GDS_CALL_GOTO(ierr, done, gds_io_build_schedule_prior(&b, s, sc, pr));
  GDS_CALL_GOTO(ierr, done, gds_io_build_problem(&b, s, pr, ops));
  GDS_CALL_GOTO(ierr, done, gds_io_build_results(&b, s));

done:
  for (int k = 0; k < GDS_IO_NDIMS; k++) gds_io_close_id(&b.scale[k], H5Dclose);
  if (b.file > 0 && H5Fclose(b.file) < 0 && !ierr) ierr = GDS_IO_H5FAIL("cannot close '%s' after creating it", path);
  gds_io_close_id(&fcpl, H5Pclose);
  gds_io_close_id(&fapl, H5Pclose);
  gds_io_close_id(&b.dcpl_zero, H5Pclose);
  gds_io_close_id(&b.dcpl_nofill, H5Pclose);
  gds_io_close_id(&b.dcpl_data, H5Pclose);
  gds_io_close_id(&b.dxpl, H5Pclose);
  return ierr;
}

/* Rank 0 of gds_io_create: lock, build beside, publish. On success *lock_fd holds the lock on
 * the published file. */
static int gds_io_create_rank0(const char *path, int nranks, const gds_sweep *s, const gds_schedule *sc,
                               const gds_prior *pr, gds_operator *const *ops, const char *fingerprint,
                               const gds_io_create_options *opt, int *lock_fd) {
  int ierr = GDS_SUCCESS, exists = 0, old_fd = -1, tmp_fd = -1, force = opt && opt->force;
  char *rpath = NULL, *tmp = NULL;
  *lock_fd = -1;
  GDS_CALL(gds_io_check_inputs(s, sc, pr, ops));
  if (s->prior.H && (s->prior.H != pr->H || s->prior.W != pr->W))
    GDS_ERROR(GDS_ERR_RUNTIME, "gds_io_create: prior is %dx%d, sweep says %dx%d", pr->H, pr->W, s->prior.H, s->prior.W);
  rpath = gds_io_resolve(path);
  tmp = rpath ? gds_io_tmp_path(rpath) : NULL;
  if (!rpath || !tmp) {
    ierr = gds_error_raise(GDS_ERR_RUNTIME, __FILE__, __LINE__, __func__, "out of memory");
    goto done;
  }
  GDS_CALL_GOTO(ierr, done, gds_io_check_target(path, rpath, force, &exists));
  /* --force: the old file stays untouched (and readable by whoever has it open) until the new
   * one replaces it in one rename; a run still writing it is refused before anything happens. */
  if (exists) GDS_CALL_GOTO(ierr, done, gds_io_lock_existing(rpath, path, &old_fd));
  GDS_CALL_GOTO(ierr, done, gds_io_tmp_create(tmp, path, &tmp_fd));
  ierr = gds_io_build(tmp, nranks, s, sc, pr, ops, fingerprint);
  if (!ierr && fsync(tmp_fd) != 0)
    ierr = gds_error_raise(GDS_ERR_RUNTIME, __FILE__, __LINE__, __func__, "cannot write '%s': %s", tmp, strerror(errno));
  if (ierr) goto unlink_tmp;
  if (opt && opt->before_publish) opt->before_publish(opt->ctx, tmp);
  if (old_fd >= 0) {
    if (rename(tmp, rpath) != 0) {
      ierr = gds_error_raise(GDS_ERR_RUNTIME, __FILE__, __LINE__, __func__, "cannot replace '%s' by '%s': %s", path,
                             tmp, strerror(errno));
      goto unlink_tmp;
    }
  } else if (link(tmp, rpath) == 0) { /* publish without clobbering what appeared meanwhile */
    unlink(tmp);
  } else if (errno == EEXIST) {
    ierr = gds_error_raise(GDS_ERR_INPUT, __FILE__, __LINE__, __func__,
                           "'%s' already exists (created while this run was starting): use --force to "
                           "overwrite it, or --resume to continue the sweep it holds", path);
    goto unlink_tmp;
  } else if (rename(tmp, rpath) != 0) { /* a file system without hard links */
    ierr = gds_error_raise(GDS_ERR_RUNTIME, __FILE__, __LINE__, __func__, "cannot create '%s': %s", path,
                           strerror(errno));
    goto unlink_tmp;
  }
  *lock_fd = tmp_fd; /* the same inode, now named OUT: the lock stays ours */
  tmp_fd = -1;
  goto done;
unlink_tmp:
  unlink(tmp);
done:
  if (tmp_fd >= 0) close(tmp_fd);
  if (old_fd >= 0) close(old_fd);
  free(rpath);
  free(tmp);
  return ierr;
}

/* ------------------------------------------------------------------------------------ */
/* Opening                                                                              */

static int gds_io_dset_open(gds_io *io, gds_io_dset *ds, const char *name, int rank) {
  snprintf(ds->name, sizeof ds->name, "%s", name);
  ds->id = H5Dopen2(io->file, name, H5P_DEFAULT);
  if (ds->id < 0)
    return gds_error_raise(GDS_ERR_INPUT, __FILE__, __LINE__, __func__,
                           "'%s' is not a complete gdsweep file: dataset '%s' is missing", io->path, name);
  GDS_H5(ds->space = H5Dget_space(ds->id), "cannot get the dataspace of '%s' in '%s'", name, io->path);
  int r = H5Sget_simple_extent_ndims(ds->space);
  if (r != rank || r > GDS_IO_MAXRANK)
    GDS_ERROR(GDS_ERR_INPUT, "'%s': dataset '%s' has %d dimensions, expected %d", io->path, name, r, rank);
  ds->rank = r;
  GDS_H5(H5Sget_simple_extent_dims(ds->space, ds->dims, NULL), "cannot get the shape of '%s' in '%s'", name, io->path);
  return GDS_SUCCESS;
}

static void gds_io_dset_close(gds_io_dset *ds) {
  gds_io_close_id(&ds->space, H5Sclose);
  gds_io_close_id(&ds->id, H5Dclose);
}

/* Shape check: dims[0..n) of ds must equal want[0..n). */
static int gds_io_dset_expect(const gds_io *io, const gds_io_dset *ds, int n, const hsize_t *want) {
  for (int k = 0; k < n; k++)
    if (ds->dims[k] != want[k])
      GDS_ERROR(GDS_ERR_INPUT, "'%s': dataset '%s' has %llu entries along dimension %d, expected %llu", io->path,
                ds->name, (unsigned long long)ds->dims[k], k, (unsigned long long)want[k]);
  return GDS_SUCCESS;
}

/* Sizes of every dimension from the /grid scales; the axis labels (read-only opens). */
static int gds_io_read_grid(gds_io *io) {
  int ierr = GDS_SUCCESS;
  hid_t str = H5I_INVALID_HID;
  gds_io_dset d = {H5I_INVALID_HID, H5I_INVALID_HID, 0, {0}, ""};
  char **tmp = NULL;
  GDS_CALL(gds_io_vlstr_type(&str));
  for (int k = 0; k < GDS_IO_NDIMS; k++) {
    const gds_io_dim_def *def = gds_io_dim(&io->sh, k);
    char name[64];
    snprintf(name, sizeof name, "/grid/%s", def->name);
    GDS_CALL_GOTO(ierr, done, gds_io_dset_open(io, &d, name, 1));
    const int n = (int)d.dims[0];
    io->sh.n[k] = d.dims[0];
    /* Labels only for readers (status): a writer needs the sizes, and 10^3 ranks reading a
     * 10^6-value seed axis would read gigabytes for nothing. */
    if (k < GDS_IO_NAXES && n > 0 && !io->writable) {
      if (def->type == GDS_IO_TY_STR) {
        GDS_CALL_GOTO(ierr, done, GDS_ALLOC(io->str[k], n));
        GDS_CALL_GOTO(ierr, done, GDS_ALLOC(tmp, n));
        GDS_H5_GOTO(ierr, done, H5Dread(d.id, str, H5S_ALL, H5S_ALL, io->dxpl, tmp), "cannot read '%s' in '%s'",
                    name, io->path);
        for (int i = 0; i < n; i++) io->str[k][i] = gds_strdup(tmp[i] ? tmp[i] : "");
        H5Dvlen_reclaim(str, d.space, H5P_DEFAULT, tmp);
        free(tmp);
        tmp = NULL;
        for (int i = 0; i < n; i++)
          if (!io->str[k][i]) {
            ierr = gds_error_raise(GDS_ERR_RUNTIME, __FILE__, __LINE__, __func__, "out of memory");
            goto done;
          }
      } else if (def->type == GDS_IO_TY_F64) {
        GDS_CALL_GOTO(ierr, done, GDS_ALLOC(io->num[k], n));
        GDS_H5_GOTO(ierr, done, H5Dread(d.id, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, io->dxpl, io->num[k]),
                    "cannot read '%s' in '%s'", name, io->path);
      } else {
        GDS_CALL_GOTO(ierr, done, GDS_ALLOC(io->inum[k], n));
        GDS_H5_GOTO(ierr, done, H5Dread(d.id, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, io->dxpl, io->inum[k]),
                    "cannot read '%s' in '%s'", name, io->path);
      }
    }
    gds_io_dset_close(&d);
  }
done:
  free(tmp);
  gds_io_dset_close(&d);
  gds_io_close_id(&str, H5Tclose);
  return ierr;
}

static void gds_io_free(gds_io *io) {
  if (!io) return;
  (void)gds_writeback_destroy(&io->wb); /* failure paths: the error that brought us here wins */
  for (int f = 0; f < GDS_IO_NFIELDS; f++) gds_io_dset_close(&io->f[f]);
  if (io->v)
    for (hsize_t i = 0; i < io->sh.n[GDS_IO_AXIS_OPERATOR]; i++) gds_io_dset_close(&io->v[i]);
  gds_io_close_id(&io->dxpl, H5Pclose);
  gds_io_close_id(&io->file, H5Fclose);
  if (io->comm != MPI_COMM_NULL) MPI_Comm_free(&io->comm);
  for (int a = 0; a < GDS_IO_NAXES; a++) {
    for (hsize_t i = 0; io->str[a] && i < io->sh.n[a]; i++) free(io->str[a][i]);
    free(io->str[a]);
    free(io->num[a]);
    free(io->inum[a]);
  }
  if (io->lock_fd >= 0) close(io->lock_fd); /* releases the writer lock */
  free(io->v);
  free(io->fingerprint);
  free(io->path);
  free(io);
}

static int gds_io_read_int_attr(gds_io *io, const char *name, int *value) {
  hid_t a = H5Aopen(io->file, name, H5P_DEFAULT);
  if (a < 0) return GDS_IO_H5FAIL("'%s' is not a complete gdsweep file: cannot open its attribute %s", io->path, name);
  int ierr = H5Aread(a, H5T_NATIVE_INT, value) < 0 ? GDS_IO_H5FAIL("cannot read attribute %s of '%s'", name, io->path)
                                                   : GDS_SUCCESS;
  H5Aclose(a);
  return ierr;
}

/* Open an existing gdsweep file: in parallel read-write on comm (comm != MPI_COMM_NULL), or
 * serially read-only. Reads the shape from the file and opens (and checks the shape of) every
 * field of the table. On failure *out may still hold a partly opened io for the caller to free:
 * in parallel the file close is collective, so it must wait until every rank knows the outcome. */
static int gds_io_open_file(const char *path, MPI_Comm comm, gds_io **out) {
  int ierr = GDS_SUCCESS;
  hid_t fapl = H5I_INVALID_HID;
  MPI_Info info = MPI_INFO_NULL;
  gds_io *io = NULL;
  *out = NULL;
  GDS_CALL(GDS_ALLOC(io, 1));
  *out = io;
  io->comm = MPI_COMM_NULL;
  io->lock_fd = -1;
  io->file = io->dxpl = H5I_INVALID_HID;
  for (int f = 0; f < GDS_IO_NFIELDS; f++) io->f[f].id = io->f[f].space = H5I_INVALID_HID;
  io->path = gds_strdup(path);
  if (!io->path) {
    ierr = gds_error_raise(GDS_ERR_RUNTIME, __FILE__, __LINE__, __func__, "out of memory");
    goto done;
  }
  io->writable = comm != MPI_COMM_NULL;
  int e;
  if (io->writable) {
    e = MPI_Comm_dup(comm, &io->comm);
    if (e != MPI_SUCCESS) {
      io->comm = MPI_COMM_NULL;
      ierr = gds_error_mpi(e, __FILE__, __LINE__, __func__, "MPI_Comm_dup");
      goto done;
    }
    if ((e = MPI_Comm_rank(io->comm, &io->rank)) != MPI_SUCCESS) {
      ierr = gds_error_mpi(e, __FILE__, __LINE__, __func__, "MPI_Comm_rank");
      goto done;
    }
  }

  GDS_H5_GOTO(ierr, done, fapl = H5Pcreate(H5P_FILE_ACCESS), "cannot create file access list");
  if (io->writable) {
    /* MPI-IO hints, chosen for this access pattern: every write is one contiguous range
     * written by one rank (independent I/O), so collective buffering never applies and data
     * sieving (read-modify-write of a covering range, under a lock) must not happen. Lustre
     * striping is decided when a file is created; rank 0 creates it serially, so the output
     * directory's default striping applies (docs/scaling.md: lfs setstripe). */
    static const char *const hints[][2] = {{"romio_cb_write", "disable"}, {"romio_cb_read", "disable"},
                                            {"romio_ds_write", "disable"}, {"romio_ds_read", "disable"}};
    if ((e = MPI_Info_create(&info)) != MPI_SUCCESS) {
      info = MPI_INFO_NULL;
      ierr = gds_error_mpi(e, __FILE__, __LINE__, __func__, "MPI_Info_create");
      goto done;
    }
    for (size_t k = 0; k < sizeof hints / sizeof hints[0]; k++)
      if ((e = MPI_Info_set(info, hints[k][0], hints[k][1])) != MPI_SUCCESS) {
        ierr = gds_error_mpi(e, __FILE__, __LINE__, __func__, "MPI_Info_set");
        goto done;
      }
    GDS_H5_GOTO(ierr, done, H5Pset_fapl_mpio(fapl, io->comm, info), "cannot select the MPI-IO driver");
    /* Metadata is read once by rank 0 and broadcast, instead of by every rank (10^3 ranks
     * opening the file would otherwise hit the file system 10^3 times per object). */
    GDS_H5_GOTO(ierr, done, H5Pset_all_coll_metadata_ops(fapl, 1), "cannot set collective metadata reads");
    GDS_H5_GOTO(ierr, done, H5Pset_coll_metadata_write(fapl, 1), "cannot set collective metadata writes");
  } else {
    GDS_H5_GOTO(ierr, done, H5Pset_fapl_sec2(fapl), "cannot select the sec2 driver");
  }
  /* Readers (status) must not fail on file systems without locks nor wait for a writer; the
   * writer's lock is our own (gds_io_try_lock). */
  GDS_H5_GOTO(ierr, done, H5Pset_file_locking(fapl, 0, 1), "cannot set file locking");
  GDS_H5_GOTO(ierr, done, H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_V18), "cannot set library version bounds");
  GDS_H5_GOTO(ierr, done, io->file = H5Fopen(path, io->writable ? H5F_ACC_RDWR : H5F_ACC_RDONLY, fapl),
              "cannot open '%s'", path);
  GDS_CALL_GOTO(ierr, done, gds_io_make_dxpl(&io->dxpl));
  if (io->writable)
    /* Each block is written by the rank that computed it, whenever it is ready. */
    GDS_H5_GOTO(ierr, done, H5Pset_dxpl_mpio(io->dxpl, H5FD_MPIO_INDEPENDENT), "cannot select independent I/O");

  if (H5Aexists(io->file, "gdsweep_format") <= 0) {
    H5Eclear2(H5E_DEFAULT);
    ierr = gds_error_raise(GDS_ERR_INPUT, __FILE__, __LINE__, __func__,
                           "'%s' is not a gdsweep output file (no gdsweep_format attribute)", path);
    goto done;
  }
  int format = 0;
  GDS_CALL_GOTO(ierr, done, gds_io_read_int_attr(io, "gdsweep_format", &format));
  if (format != GDS_IO_FORMAT) {
    ierr = gds_error_raise(GDS_ERR_INPUT, __FILE__, __LINE__, __func__,
                           "'%s' has gdsweep file format %d; this gdsweep reads and resumes format %d (the "
                           "analysis package reads both)", path, format, GDS_IO_FORMAT);
    goto done;
  }
  {
    char *proc = NULL;
    GDS_CALL_GOTO(ierr, done, gds_io_attr_read_str(io->file, path, "process", &proc));
    io->sh.process = strcmp(proc, "vp_sde") ? GDS_PROCESS_DDPM : GDS_PROCESS_VP_SDE;
    free(proc);
  }
  GDS_CALL_GOTO(ierr, done, gds_io_attr_read_str(io->file, path, "fingerprint", &io->fingerprint));
  GDS_CALL_GOTO(ierr, done, gds_io_read_int_attr(io, "complete", &io->complete));
  GDS_CALL_GOTO(ierr, done, gds_io_read_grid(io));
  io->npoints = 1;
  for (int a = 0; a < GDS_IO_NAXES; a++) io->npoints *= (int64_t)io->sh.n[a];
  for (int f = 0; f < GDS_IO_NFIELDS; f++) {
    if (!gds_io_field_present(&io->sh, f)) continue;
    hsize_t want[GDS_IO_MAXRANK];
    int rank = gds_io_field_dims(&io->sh, f, want);
    GDS_CALL_GOTO(ierr, done, gds_io_dset_open(io, &io->f[f], gds_io_fields_[f].path, rank));
    GDS_CALL_GOTO(ierr, done, gds_io_dset_expect(io, &io->f[f], rank, want));
  }
  const int nop = (int)io->sh.n[GDS_IO_AXIS_OPERATOR];
  GDS_CALL_GOTO(ierr, done, GDS_ALLOC(io->v, nop ? nop : 1));
  for (int i = 0; i < nop; i++) io->v[i].id = io->v[i].space = H5I_INVALID_HID;
  for (int i = 0; i < nop; i++) {
    char name[64];
    snprintf(name, sizeof name, "/problem/op%d/v", i);
    GDS_CALL_GOTO(ierr, done, gds_io_dset_open(io, &io->v[i], name, 4));
    const hsize_t want[2] = {io->sh.n[GDS_IO_AXIS_SIGMA], io->sh.n[GDS_IO_AXIS_SEED]};
    GDS_CALL_GOTO(ierr, done, gds_io_dset_expect(io, &io->v[i], 2, want));
  }

done:
  if (info != MPI_INFO_NULL) MPI_Info_free(&info);
  gds_io_close_id(&fapl, H5Pclose);
  if (ierr) H5Eclear2(H5E_DEFAULT);
  *out = io;
  return ierr;
}

/* Collective parallel open; every rank gets the worst code. */
static int gds_io_open_parallel(const char *path, MPI_Comm comm, int lock_fd, gds_io **out) {
  gds_io *io = NULL;
  int ierr = gds_io_open_file(path, comm, &io);
  ierr = gds_io_agree(comm, ierr);
  if (ierr) {
    gds_io_free(io); /* collective H5Fclose, now on every rank that opened */
    if (lock_fd >= 0) close(lock_fd);
    return ierr;
  }
  io->lock_fd = lock_fd;
  /* Flushing each rank's writes to disk as they come (each rank flushes its own node's page
   * cache on a cluster file system) keeps the final sync before `complete = 1` short. */
  ierr = gds_writeback_create(io->path, &io->wb);
  ierr = gds_io_agree(comm, ierr);
  if (ierr) {
    gds_io_free(io);
    return ierr;
  }
  *out = io;
  return GDS_SUCCESS;
}

/* ------------------------------------------------------------------------------------ */
/* Public: create / open / close                                                        */

int gds_io_create(const char *path, MPI_Comm comm, const gds_sweep *sweep, const gds_schedule *sched,
                  const gds_prior *prior, gds_operator *const *ops, const char *fingerprint,
                  const gds_io_create_options *opt, gds_io **out) {
  int rank = 0, size = 1, ierr = GDS_SUCCESS, lock_fd = -1;
  if (!out || !path) GDS_ERROR(GDS_ERR_RUNTIME, "gds_io_create: path and out are required");
  *out = NULL;
  gds_io_h5_quiet();
  GDS_MPI_CALL(MPI_Comm_rank(comm, &rank));
  GDS_MPI_CALL(MPI_Comm_size(comm, &size));
  if (rank == 0) ierr = gds_io_create_rank0(path, size, sweep, sched, prior, ops, fingerprint, opt, &lock_fd);
  /* Rank 0 decided (and printed why); the other ranks follow silently. */
  int e = gds_io_bcast_decision(comm, &ierr);
  if (e) {
    if (lock_fd >= 0) close(lock_fd);
    return e;
  }
  if (ierr) return ierr;
  GDS_CALL(gds_io_open_parallel(path, comm, lock_fd, out));
  return GDS_SUCCESS;
}

/* Why `path` does not exist, for messages: a creation that was killed leaves its temporary. */
static const char *gds_io_missing_hint(const char *path) {
  char *rpath = gds_io_resolve(path), *tmp = rpath ? gds_io_tmp_path(rpath) : NULL;
  struct stat st;
  int left = tmp && stat(tmp, &st) == 0;
  free(rpath);
  free(tmp);
  return left ? " (a run creating it was interrupted before the file was complete, leaving a hidden "
                ".<name>.gdsweep-tmp beside it that the next run removes): start the sweep again without "
                "--resume"
              : "";
}

int gds_io_open_readonly(const char *path, gds_io **out) {
  struct stat st;
  if (!out || !path) GDS_ERROR(GDS_ERR_RUNTIME, "gds_io_open_readonly: path and out are required");
  *out = NULL;
  gds_io_h5_quiet();
  if (stat(path, &st) != 0) {
    int err = errno;
    GDS_ERROR(GDS_ERR_INPUT, "cannot open '%s': %s%s", path, strerror(err), err == ENOENT ? gds_io_missing_hint(path) : "");
  }
  if (S_ISDIR(st.st_mode)) GDS_ERROR(GDS_ERR_INPUT, "cannot open '%s': it is a directory", path);
  htri_t is = H5Fis_hdf5(path);
  H5Eclear2(H5E_DEFAULT);
  if (is <= 0)
    GDS_ERROR(GDS_ERR_INPUT, "'%s' is not an HDF5 file (not a gdsweep output%s)", path,
              st.st_size == 0 ? "; it is empty: a run that crashed while creating it with an older gdsweep "
                                "may have left it: delete it or use --force" : "");
  gds_io *io = NULL;
  int ierr = gds_io_open_file(path, MPI_COMM_NULL, &io);
  if (ierr) {
    gds_io_free(io);
    return ierr;
  }
  *out = io;
  return GDS_SUCCESS;
}

int gds_io_open_resume(const char *path, MPI_Comm comm, const char *fingerprint, gds_io **out) {
  int rank = 0, ierr = GDS_SUCCESS, lock_fd = -1;
  if (!out || !path) GDS_ERROR(GDS_ERR_RUNTIME, "gds_io_open_resume: path and out are required");
  *out = NULL;
  gds_io_h5_quiet();
  GDS_MPI_CALL(MPI_Comm_rank(comm, &rank));
  if (rank == 0) {
    /* Decide on rank 0 with a serial open: one message, and no rank opens a wrong file. The
     * lock first: a file another run is writing is not even read. */
    gds_io *ro = NULL;
    struct stat st;
    if (stat(path, &st) != 0 && errno == ENOENT)
      ierr = gds_error_raise(GDS_ERR_INPUT, __FILE__, __LINE__, __func__,
                             "'%s' does not exist: nothing to resume%s", path,
                             *gds_io_missing_hint(path) ? gds_io_missing_hint(path) : " (run without --resume)");
    else
      ierr = gds_io_lock_existing(path, path, &lock_fd);
    if (!ierr) ierr = gds_io_open_readonly(path, &ro);
    if (!ierr && strcmp(ro->fingerprint, fingerprint ? fingerprint : "") != 0) {
      /* Name an input file whose content changed (the fingerprint covers it), if any. */
      char changed[4096] = "", *inputs = NULL;
      if (H5Aexists(ro->file, "inputs") > 0 && !gds_io_attr_read_str(ro->file, path, "inputs", &inputs))
        gds_sweep_inputs_changed(inputs, changed, sizeof changed);
      free(inputs);
      ierr = gds_error_raise(GDS_ERR_INPUT, __FILE__, __LINE__, __func__,
                             "cannot resume '%s': it holds a different sweep (file fingerprint %s, "
                             "this sweep's fingerprint %s)%s%s; use --force to start it over",
                             path, ro->fingerprint, fingerprint ? fingerprint : "(none)",
                             changed[0] ? ": " : "", changed);
    }
    /* The same random numbers (files that predate these attributes are not checked). */
    const char *const attr[2] = {"rng", "sampler_noise"}, *const mine[2] = {gds_rng_description(),
                                                                           gds_sampler_noise_description()};
    for (int k = 0; k < 2 && !ierr; k++) {
      char *theirs = NULL;
      if (H5Aexists(ro->file, attr[k]) <= 0) continue;
      ierr = gds_io_attr_read_str(ro->file, path, attr[k], &theirs);
      if (!ierr && strcmp(theirs, mine[k]))
        ierr = gds_error_raise(GDS_ERR_INPUT, __FILE__, __LINE__, __func__,
                               "cannot resume '%s': it was written by a gdsweep whose random numbers differ from "
                               "this build's (root attribute %s: file '%s', this build '%s'), so its points and "
                               "new ones would not be comparable; use --force to start it over, or resume with "
                               "the gdsweep that created it", path, attr[k], theirs, mine[k]);
      free(theirs);
    }
    if (ro) gds_io_free(ro);
    if (ierr && lock_fd >= 0) {
      close(lock_fd);
      lock_fd = -1;
    }
  }
  int e = gds_io_bcast_decision(comm, &ierr);
  if (e) {
    if (lock_fd >= 0) close(lock_fd);
    return e;
  }
  if (ierr) return ierr;
  gds_io *io = NULL;
  GDS_CALL(gds_io_open_parallel(path, comm, lock_fd, &io));

  /* Provenance of the restart (collective metadata writes, flushed at once so that the file
   * on disk is consistent again before any rank starts writing points). */
  int count = 0;
  char empty[GDS_IO_TIMELEN] = "";
  hid_t tstr = H5I_INVALID_HID;
  ierr = gds_io_read_int_attr(io, "resume_count", &count);
  count++;
  if (!ierr) ierr = gds_io_attr_update(io, "resume_count", H5T_NATIVE_INT, &count);
  if (!ierr && ((tstr = H5Tcopy(H5T_C_S1)) < 0 || H5Tset_size(tstr, GDS_IO_TIMELEN) < 0))
    ierr = GDS_IO_H5FAIL("cannot create string type");
  if (!ierr) ierr = gds_io_attr_update(io, "end_time", tstr, empty);
  if (tstr >= 0) H5Tclose(tstr);
  if (!ierr && H5Fflush(io->file, H5F_SCOPE_GLOBAL) < 0) ierr = GDS_IO_H5FAIL("cannot flush '%s'", path);
  ierr = gds_io_agree(io->comm, ierr);
  if (ierr) {
    gds_io_free(io);
    return ierr;
  }
  *out = io;
  return GDS_SUCCESS;
}

int gds_io_close(gds_io **pio) {
  int ierr = GDS_SUCCESS;
  if (!pio || !*pio) return GDS_SUCCESS;
  gds_io *io = *pio;
  *pio = NULL;
  if (io->writable) {
    ierr = gds_writeback_destroy(&io->wb);
    char now[GDS_IO_TIMELEN] = "";
    if (io->rank == 0) gds_io_now_iso(now);
    /* Attribute writes are collective: every rank must write the same bytes. */
    int e = MPI_Bcast(now, GDS_IO_TIMELEN, MPI_CHAR, 0, io->comm);
    if (e != MPI_SUCCESS) ierr = gds_error_mpi(e, __FILE__, __LINE__, __func__, "MPI_Bcast");
    hid_t tstr = H5Tcopy(H5T_C_S1);
    if (!ierr && (tstr < 0 || H5Tset_size(tstr, GDS_IO_TIMELEN) < 0)) ierr = GDS_IO_H5FAIL("cannot create string type");
    if (!ierr) ierr = gds_io_attr_update(io, "end_time", tstr, now);
    if (tstr >= 0) H5Tclose(tstr);
    ierr = gds_io_agree(io->comm, ierr);
  }
  /* Close datasets first: with the MPI-IO driver the file refuses to close while objects
   * are open (close degree "semi"). */
  hid_t file = io->file;
  io->file = H5I_INVALID_HID;
  MPI_Comm comm = io->comm;
  io->comm = MPI_COMM_NULL;
  int lock_fd = io->lock_fd;
  io->lock_fd = -1;
  gds_io_free(io); /* everything but the file, the communicator and the lock */
  if (file >= 0 && H5Fclose(file) < 0 && !ierr) ierr = GDS_IO_H5FAIL("cannot close the output file");
  if (comm != MPI_COMM_NULL) {
    ierr = gds_io_agree(comm, ierr);
    MPI_Comm_free(&comm);
  }
  if (lock_fd >= 0) close(lock_fd); /* after the last write */
  return ierr;
}

/* ------------------------------------------------------------------------------------ */
/* Raw data                                                                             */

/* A failed raw-data write: HDF5's MPI-IO driver only says "file write failed" (a short write),
 * so name the likely cause from errno and the free space of the file's device. */
static int gds_io_write_failed(gds_io *io, const char *what, size_t bytes) {
  const int err = errno;
  char cause[256] = "";
  char *dir = gds_io_dirname(io->path);
  struct statvfs vf;
  if (err == ENOSPC || err == EDQUOT)
    snprintf(cause, sizeof cause, " (%s)", strerror(err));
  else if (dir && statvfs(dir, &vf) == 0 && (double)vf.f_bavail * vf.f_frsize < (double)bytes + 65536)
    snprintf(cause, sizeof cause, " (no space left on the device of %s: %.3g MB free)", dir,
             (double)vf.f_bavail * vf.f_frsize / 1e6);
  free(dir);
  return GDS_IO_H5FAIL("cannot write %zu bytes of '%s' in '%s'%s", bytes, what, io->path, cause);
}

/* Write buf into ds at the block whose first nlead indices are lead[], with n consecutive
 * entries along dimension nlead−1 (the remaining dimensions whole): one hyperslab, one
 * contiguous range of the file. */
static int gds_io_write_slab(gds_io *io, gds_io_dset *ds, int nlead, const hsize_t *lead, hsize_t n, hid_t mtype,
                             const void *buf) {
  hsize_t start[GDS_IO_MAXRANK], count[GDS_IO_MAXRANK], nelem = 1;
  if (!io->writable) GDS_ERROR(GDS_ERR_RUNTIME, "'%s' is open read-only: cannot write '%s'", io->path, ds->name);
  if (!buf) GDS_ERROR(GDS_ERR_RUNTIME, "no data given for '%s' in '%s'", ds->name, io->path);
  if (ds->id < 0) GDS_ERROR(GDS_ERR_RUNTIME, "'%s' has no dataset '%s'", io->path, ds->name);
  for (int k = 0; k < ds->rank; k++) {
    if (k < nlead) {
      hsize_t c = k == nlead - 1 ? n : 1;
      if (lead[k] >= ds->dims[k] || c > ds->dims[k] - lead[k])
        GDS_ERROR(GDS_ERR_RUNTIME, "indices %lld..%lld out of range 0..%lld along dimension %d of '%s' in '%s'",
                  (long long)lead[k], (long long)(lead[k] + c) - 1, (long long)ds->dims[k] - 1, k, ds->name, io->path);
      start[k] = lead[k];
      count[k] = c;
    } else {
      start[k] = 0;
      count[k] = ds->dims[k];
    }
    nelem *= count[k];
  }
  if (nelem == 0) return GDS_SUCCESS;
  GDS_H5(H5Sselect_hyperslab(ds->space, H5S_SELECT_SET, start, NULL, count, NULL),
         "cannot select a block of '%s' in '%s'", ds->name, io->path);
  hid_t mem = H5Screate_simple(1, &nelem, NULL);
  if (mem < 0) return GDS_IO_H5FAIL("cannot create a memory dataspace for '%s'", ds->name);
  /* The reason is read from HDF5's error stack, which the next HDF5 call (a close) clears. */
  const size_t bytes = (size_t)nelem * H5Tget_size(mtype);
  errno = 0;
  int ierr = H5Dwrite(ds->id, mtype, mem, ds->space, io->dxpl, buf) < 0 ? gds_io_write_failed(io, ds->name, bytes)
                                                                         : GDS_SUCCESS;
  H5Sclose(mem);
  return ierr;
}

static hsize_t gds_io_idx(int i) { return i < 0 ? (hsize_t)-1 : (hsize_t)i; }

int gds_io_write_x0(gds_io *io, int seed0, int nseed, const double *x0) {
  const hsize_t lead[1] = {gds_io_idx(seed0)};
  GDS_CALL(gds_io_write_slab(io, &io->f[GDS_IO_F_X0], 1, lead, (hsize_t)nseed, H5T_NATIVE_DOUBLE, x0));
  return GDS_SUCCESS;
}

int gds_io_write_measurement(gds_io *io, int op, int sigma, int seed0, int nseed, const double *v) {
  if (op < 0 || (hsize_t)op >= io->sh.n[GDS_IO_AXIS_OPERATOR])
    GDS_ERROR(GDS_ERR_RUNTIME, "operator index %d out of range writing a measurement in '%s'", op, io->path);
  const hsize_t lead[2] = {gds_io_idx(sigma), gds_io_idx(seed0)};
  GDS_CALL(gds_io_write_slab(io, &io->v[op], 2, lead, (hsize_t)nseed, H5T_NATIVE_DOUBLE, v));
  return GDS_SUCCESS;
}

int gds_io_write_posterior(gds_io *io, int op, int sigma, int seed0, int nseed, const double *pmean,
                           const double *pvar) {
  const hsize_t lm[3] = {gds_io_idx(op), gds_io_idx(sigma), gds_io_idx(seed0)};
  GDS_CALL(gds_io_write_slab(io, &io->f[GDS_IO_F_PMEAN], 3, lm, (hsize_t)nseed, H5T_NATIVE_DOUBLE, pmean));
  if (pvar) GDS_CALL(gds_io_write_slab(io, &io->f[GDS_IO_F_PVAR], 2, lm, 1, H5T_NATIVE_DOUBLE, pvar));
  return GDS_SUCCESS;
}

int gds_io_write_block(gds_io *io, const gds_io_block *b, const gds_io_block_result *r) {
  if (!b || !r) GDS_ERROR(GDS_ERR_RUNTIME, "gds_io_write_block: block and result are required");
  hsize_t lead[GDS_IO_NAXES];
  for (int a = 0; a < GDS_IO_NAXES; a++) lead[a] = gds_io_idx(b->idx[a]);
  /* Refuse an incomplete result before writing any of it. */
  int has_traj = io->sh.n[GDS_IO_D_SAMPLE] > 0 && io->sh.n[GDS_IO_D_CKPT] > 0;
  if (!r->w2 || !r->w2_mean || !r->w2_cov || !r->w2_final || !r->w2_final_mean || !r->w2_final_cov ||
      !r->sampler_mean || !r->sampler_variance || (has_traj && !r->trajectories))
    GDS_ERROR(GDS_ERR_RUNTIME, "incomplete block result for '%s' (a curve, w2_final, an image or the trajectories, "
              "with samples = %d, is missing)", io->path, (int)io->sh.n[GDS_IO_D_SAMPLE]);
  const struct { int f; const void *buf; } w[] = {
      {GDS_IO_F_W2, r->w2},
      {GDS_IO_F_W2_MEAN, r->w2_mean},
      {GDS_IO_F_W2_COV, r->w2_cov},
      {GDS_IO_F_W2_FINAL, r->w2_final},
      {GDS_IO_F_W2_FINAL_MEAN, r->w2_final_mean},
      {GDS_IO_F_W2_FINAL_COV, r->w2_final_cov},
      {GDS_IO_F_SMEAN, r->sampler_mean},
      {GDS_IO_F_SVAR, r->sampler_variance},
      {GDS_IO_F_TRAJ, has_traj ? r->trajectories : NULL},
  };
  for (size_t k = 0; k < sizeof w / sizeof w[0]; k++)
    if (w[k].buf)
      GDS_CALL(gds_io_write_slab(io, &io->f[w[k].f], GDS_IO_NAXES, lead, (hsize_t)b->nseed,
                                 gds_io_mtype(gds_io_fields_[w[k].f].type), w[k].buf));
  gds_writeback_kick(io->wb);
  return GDS_SUCCESS;
}

/* Select the flat range [first, first+count) of ds's GDS_IO_NAXES dimensions (the grid; ds has
 * exactly those), added to the current selection unless `reset`: a union of at most 2·9
 * boxes, the largest first at each step. */
static int gds_io_select_range(gds_io *io, gds_io_dset *ds, int64_t first, int64_t count, int reset) {
  const int r = GDS_IO_NAXES;
  hsize_t stride[GDS_IO_NAXES];
  stride[r - 1] = 1;
  for (int k = r - 2; k >= 0; k--) stride[k] = stride[k + 1] * ds->dims[k + 1];
  hsize_t a = (hsize_t)first, b = (hsize_t)(first + count);
  H5S_seloper_t op = reset ? H5S_SELECT_SET : H5S_SELECT_OR;
  while (a < b) {
    int j = 0; /* the coarsest dimension whose slabs start at a and fit */
    while (j < r - 1 && (a % stride[j] != 0 || stride[j] > b - a)) j++;
    hsize_t start[GDS_IO_NAXES], cnt[GDS_IO_NAXES], rem = a;
    for (int k = 0; k < r; k++) {
      start[k] = rem / stride[k];
      rem %= stride[k];
    }
    hsize_t c = (b - a) / stride[j];
    if (c > ds->dims[j] - start[j]) c = ds->dims[j] - start[j];
    for (int k = 0; k < r; k++) cnt[k] = k < j ? 1 : k == j ? c : ds->dims[k];
    GDS_H5(H5Sselect_hyperslab(ds->space, op, start, NULL, cnt, NULL), "cannot select points of '%s' in '%s'",
           ds->name, io->path);
    op = H5S_SELECT_OR;
    a += c * stride[j];
  }
  return GDS_SUCCESS;
}

int gds_io_write_done(gds_io *io, int nrun, const int64_t *first, const int64_t *count, const unsigned char *done,
                      const double *wall) {
  if (!io->writable) GDS_ERROR(GDS_ERR_RUNTIME, "'%s' is open read-only: cannot write done flags", io->path);
  if (!done || nrun < 0 || (nrun && (!first || !count)))
    GDS_ERROR(GDS_ERR_RUNTIME, "gds_io_write_done: runs and done flags are required");
  hsize_t n = 0;
  for (int k = 0; k < nrun; k++) {
    if (first[k] < 0 || count[k] < 0 || first[k] + count[k] > io->npoints || (k && first[k] < first[k - 1] + count[k - 1]))
      GDS_ERROR(GDS_ERR_RUNTIME, "points %lld..%lld out of range 0..%lld or out of order in '%s'", (long long)first[k],
                (long long)(first[k] + count[k]) - 1, (long long)io->npoints - 1, io->path);
    n += (hsize_t)count[k];
  }
  if (n == 0) return GDS_SUCCESS;
  hid_t mem = H5Screate_simple(1, &n, NULL);
  if (mem < 0) return GDS_IO_H5FAIL("cannot create a memory dataspace");
  int ierr = GDS_SUCCESS;
  /* wall first: done vouches for it too. HDF5 transfers a union of hyperslabs in increasing
   * file order, which is the order of the (sorted, disjoint) runs in memory. */
  const struct { int f; hid_t mtype; const void *buf; } w[2] = {{GDS_IO_F_WALL, H5T_NATIVE_DOUBLE, wall},
                                                              {GDS_IO_F_DONE, H5T_NATIVE_UCHAR, done}};
  for (int k = 0; k < 2 && !ierr; k++) {
    if (!w[k].buf) continue;
    gds_io_dset *ds = &io->f[w[k].f];
    int first_sel = 1;
    for (int r = 0; r < nrun && !ierr; r++) {
      if (!count[r]) continue;
      ierr = gds_io_select_range(io, ds, first[r], count[r], first_sel);
      first_sel = 0;
    }
    const size_t bytes = (size_t)n * H5Tget_size(w[k].mtype);
    errno = 0;
    if (!ierr && H5Dwrite(ds->id, w[k].mtype, mem, ds->space, io->dxpl, w[k].buf) < 0)
      ierr = gds_io_write_failed(io, ds->name, bytes);
  }
  H5Sclose(mem);
  return ierr;
}

int gds_io_write_point(gds_io *io, const int idx[GDS_IO_NAXES], const gds_io_block_result *r, double wall) {
  gds_io_block b;
  memcpy(b.idx, idx, sizeof b.idx);
  b.nseed = 1;
  for (int a = 0; a < GDS_IO_NAXES; a++)
    if (idx[a] < 0 || (hsize_t)idx[a] >= io->sh.n[a])
      GDS_ERROR(GDS_ERR_RUNTIME, "index %d out of range 0..%d along axis %s of '%s'", idx[a], (int)io->sh.n[a] - 1,
                gds_io_axis_name(a), io->path);
  GDS_CALL(gds_io_write_block(io, &b, r));
  int n[GDS_IO_NAXES];
  for (int a = 0; a < GDS_IO_NAXES; a++) n[a] = (int)io->sh.n[a];
  const unsigned char one = 1;
  const int64_t first = gds_io_point_index(n, idx), count = 1;
  GDS_CALL(gds_io_write_done(io, 1, &first, &count, &one, &wall));
  return GDS_SUCCESS;
}

int gds_io_read_done(gds_io *io, unsigned char *done) {
  if (!io || !done) GDS_ERROR(GDS_ERR_RUNTIME, "gds_io_read_done: io and done are required");
  if (io->npoints == 0) return GDS_SUCCESS;
  gds_io_dset *ds = &io->f[GDS_IO_F_DONE];
  GDS_H5(H5Sselect_all(ds->space), "cannot select '/results/done' in '%s'", io->path);
  GDS_H5(H5Dread(ds->id, H5T_NATIVE_UCHAR, H5S_ALL, H5S_ALL, io->dxpl, done), "cannot read '/results/done' in '%s'",
         io->path);
  return GDS_SUCCESS;
}

int gds_io_mark_complete(gds_io *io) {
  int ierr = GDS_SUCCESS;
  int64_t missing = 0;
  unsigned char *done = NULL;
  if (!io->writable) GDS_ERROR(GDS_ERR_RUNTIME, "'%s' is open read-only: cannot mark it complete", io->path);
  /* This rank's writes are over: its write-behind has done what it could (the sync below
   * waits for the rest), and a flush failure stops the run here. */
  ierr = gds_writeback_destroy(&io->wb);
  /* Rank 0 reads the done flags once every rank is here (has finished its writes; the
   * agreement is the barrier). In a run it wrote them itself; done flags of other ranks are
   * visible after it on POSIX-consistent file systems (no MPI_File_sync needed: no fsync of the
   * whole file here). */
  ierr = gds_io_agree(io->comm, ierr);
  if (!ierr && io->rank == 0) {
    ierr = GDS_ALLOC(done, io->npoints);
    if (!ierr) ierr = gds_io_read_done(io, done);
    for (int64_t i = 0; !ierr && i < io->npoints; i++) missing += !done[i];
    if (!ierr && missing)
      ierr = gds_error_raise(GDS_ERR_RUNTIME, __FILE__, __LINE__, __func__,
                             "cannot mark '%s' complete: %lld of %lld points are not done", io->path,
                             (long long)missing, (long long)io->npoints);
    free(done);
  }
  ierr = gds_io_agree(io->comm, ierr);
  if (ierr) return ierr;
  const int one = 1;
  ierr = gds_io_attr_update(io, "complete", H5T_NATIVE_INT, &one);
  /* One sync of data and metadata: `complete` = 1 vouches for results on disk. */
  if (!ierr && H5Fflush(io->file, H5F_SCOPE_GLOBAL) < 0) ierr = GDS_IO_H5FAIL("cannot flush '%s'", io->path);
  ierr = gds_io_agree(io->comm, ierr);
  if (!ierr) io->complete = 1;
  return ierr;
}

/* ------------------------------------------------------------------------------------ */
/* Getters                                                                              */

int gds_io_get_info(const gds_io *io, gds_io_info *info) {
  if (!io || !info) GDS_ERROR(GDS_ERR_RUNTIME, "gds_io_get_info: io and info are required");
  memset(info, 0, sizeof *info);
  for (int k = 0; k < GDS_IO_NAXES; k++) info->n[k] = (int)io->sh.n[k];
  info->npoints = io->npoints;
  info->process = io->sh.process;
  info->ntime = (int)io->sh.n[GDS_IO_D_TIME];
  info->T = info->ntime - 1;
  info->H = (int)io->sh.n[GDS_IO_D_ROW];
  info->W = (int)io->sh.n[GDS_IO_D_COL];
  info->samples = (int)io->sh.n[GDS_IO_D_SAMPLE];
  info->n_ckpt = (int)io->sh.n[GDS_IO_D_CKPT];
  info->complete = io->complete;
  return GDS_SUCCESS;
}

const char *gds_io_axis_name(int axis) { return (axis >= 0 && axis < GDS_IO_NAXES) ? gds_io_dims_[axis].name : NULL; }

int gds_io_axis_label(const gds_io *io, int axis, int i, char *buf, size_t len) {
  if (!io || !buf || !len) GDS_ERROR(GDS_ERR_RUNTIME, "gds_io_axis_label: io and buf are required");
  if (axis < 0 || axis >= GDS_IO_NAXES || i < 0 || (hsize_t)i >= io->sh.n[axis])
    GDS_ERROR(GDS_ERR_RUNTIME, "gds_io_axis_label: no entry %d on axis %d of '%s'", i, axis, io->path);
  if (io->str[axis]) snprintf(buf, len, "%s", io->str[axis][i]);
  else if (io->num[axis]) gds_format_double(io->num[axis][i], buf, (int)len);
  else if (io->inum[axis]) snprintf(buf, len, "%lld", (long long)io->inum[axis][i]);
  else GDS_ERROR(GDS_ERR_RUNTIME, "gds_io_axis_label: no labels for axis %d of '%s' (labels are read by "
                 "gds_io_open_readonly)", axis, io->path);
  return GDS_SUCCESS;
}

const char *gds_io_fingerprint(const gds_io *io) { return io ? io->fingerprint : NULL; }
