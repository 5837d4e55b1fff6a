/* The sweep's HDF5 output file (SPEC §5); see include/gdsweep/io.h for the contract.
 *
 * Design. Rank 0 builds the complete file with the serial (sec2) driver and closes it; then
 * every rank opens it with the MPI-IO driver. Building serially keeps the structure a pure
 * function of rank 0's arguments (parallel HDF5 corrupts a file or hangs when ranks issue
 * different metadata operations), allows variable-length string datasets (parallel HDF5
 * cannot write them, and netCDF-C cannot read fixed-length string arrays), and reports input
 * errors once. After the open nothing but raw data changes until mark_complete/close. */
#include "gdsweep/io.h"
#include "gdsweep/law.h"

#include <errno.h>
#include <fftw3.h>
#include <hdf5.h>
#include <hdf5_hl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "gdsweep/error.h"
#include "gdsweep_config.h"

#define GDS_IO_FORMAT 1    /* root attribute gdsweep_format: bump on incompatible layouts */
#define GDS_IO_MAXRANK 9   /* /results/trajectories */
#define GDS_IO_TIMELEN 32  /* fixed size of the start_time/end_time attributes */

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
  hid_t file, dxpl;
  int n[GDS_IO_NAXES];
  int64_t npoints;
  int T, H, W, samples, n_ckpt;
  int complete;
  char *fingerprint;
  gds_io_dset w2, w2_mean, w2_cov, done, wall, smean, svar, traj, x0, pmean, pvar;
  gds_io_dset *v; /* [n_op] /problem/op<i>/v */
  char **op_name, **alg_name;
  double *sigma, *alpha;
  int64_t *seed;
};

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

/* Every rank returns the worst code of all ranks (messages were printed where raised). */
static int gds_io_agree(MPI_Comm comm, int ierr) {
  int worst = ierr;
  if (MPI_Allreduce(&ierr, &worst, 1, MPI_INT, MPI_MAX, comm) != MPI_SUCCESS)
    return gds_error_raise(GDS_ERR_RUNTIME, __FILE__, __LINE__, __func__, "MPI_Allreduce failed");
  return worst;
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
  herr_t st = H5Awrite(attr, mtype, value);
  H5Aclose(attr);
  if (st < 0) return GDS_IO_H5FAIL("cannot write attribute '%s' of '%s'", name, io->path);
  return GDS_SUCCESS;
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
/* Building the file (rank 0, serial driver)                                            */

enum { GDS_IO_S_OP, GDS_IO_S_SIGMA, GDS_IO_S_ALPHA, GDS_IO_S_ALG, GDS_IO_S_SEED, GDS_IO_S_T,
       GDS_IO_S_CKPT, GDS_IO_S_SAMPLE, GDS_IO_S_ROW, GDS_IO_S_COL, GDS_IO_NSCALES,
       GDS_IO_S_NONE = -1 };

/* Dimension names: the /grid dataset names, and the labels of the dimensions they scale. */
static const char *const gds_io_scale_names[GDS_IO_NSCALES] = {
    "operator", "sigma", "alpha_dps", "algorithm", "seed", "t", "checkpoint", "sample", "row", "col"};

typedef struct gds_io_builder {
  const char *path;
  hid_t file;
  hid_t dcpl_nan;    /* float results/problem data: NaN where never written */
  hid_t dcpl_zero;   /* done flags: 0 where never written */
  hid_t dcpl_nofill; /* trajectories: too big to pre-fill, never read where not done */
  hid_t dcpl_data;   /* written at create (no fill value: VL strings need a fill time) */
  hid_t scale[GDS_IO_NSCALES];
} gds_io_builder;

static int gds_io_make_dcpl(hid_t ftype_fill, const void *fill, H5D_fill_time_t when, hid_t *out) {
  hid_t p = H5Pcreate(H5P_DATASET_CREATE);
  if (p < 0) return GDS_IO_H5FAIL("cannot create dataset property list");
  /* Contiguous and allocated now: a point's block is one contiguous byte range in the file
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

static int gds_io_group(gds_io_builder *b, const char *name, const char *description,
                        hid_t *out) {
  int ierr = GDS_SUCCESS;
  hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE), g = H5I_INVALID_HID;
  if (gcpl < 0) return GDS_IO_H5FAIL("cannot create group property list");
  /* Creation order: h5dump/ncdump list members in the order they were written. */
  GDS_H5_GOTO(ierr, done,
              H5Pset_link_creation_order(gcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED),
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

/* Create dataset `name` [rank dims] of file type ftype; attach scale[k] (GDS_IO_S_NONE =
 * unlabelled) to each dimension; describe it. Writes `data` (memory type mtype) if given.
 * Returns the open dataset in *out if out, else closes it. */
static int gds_io_dataset(gds_io_builder *b, const char *name, hid_t ftype, int rank,
                          const hsize_t *dims, hid_t dcpl, const int *scales,
                          const char *description, const char *units, hid_t mtype,
                          const void *data, hid_t *out) {
  int ierr = GDS_SUCCESS;
  hid_t space = H5I_INVALID_HID, d = H5I_INVALID_HID;
  GDS_H5_GOTO(ierr, done, space = H5Screate_simple(rank, dims, NULL),
              "cannot create dataspace of '%s' in '%s'", name, b->path);
  GDS_H5_GOTO(ierr, done, d = H5Dcreate2(b->file, name, ftype, space, H5P_DEFAULT, dcpl, H5P_DEFAULT),
              "cannot create dataset '%s' in '%s'", name, b->path);
  if (data)
    GDS_H5_GOTO(ierr, done, H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data),
                "cannot write dataset '%s' in '%s'", name, b->path);
  for (int k = 0; scales && k < rank; k++)
    if (scales[k] != GDS_IO_S_NONE) {
      GDS_H5_GOTO(ierr, done, H5DSattach_scale(d, b->scale[scales[k]], (unsigned)k),
                  "cannot attach a dimension scale to dimension %d of '%s' in '%s'", k, name,
                  b->path);
      /* h5py shows labels as dims[k].label */
      GDS_H5_GOTO(ierr, done, H5DSset_label(d, (unsigned)k, gds_io_scale_names[scales[k]]),
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

/* A /grid axis dataset made a dimension scale, also hard-linked under the root group. */
static int gds_io_scale(gds_io_builder *b, int which, hid_t ftype, hsize_t n, hid_t mtype,
                        const void *data, const char *description, const char *units) {
  const char *axis = gds_io_scale_names[which];
  char path[64], alias[64];
  snprintf(path, sizeof path, "/grid/%s", axis);
  snprintf(alias, sizeof alias, "/%s", axis);
  GDS_CALL(gds_io_dataset(b, path, ftype, 1, &n, b->dcpl_data, NULL, description, units, mtype,
                          n ? data : NULL, &b->scale[which]));
  GDS_H5(H5DSset_scale(b->scale[which], axis), "cannot make '%s' a dimension scale in '%s'", path,
         b->path);
  /* netCDF resolves a dimension only in the variable's group and its ancestors: the root
   * alias makes /grid's scales visible from /results, /problem, ... A soft link keeps
   * /grid/<axis> the object's only real name (h5py/h5ls report that one). */
  GDS_H5(H5Lcreate_soft(path, b->file, alias, H5P_DEFAULT, H5P_DEFAULT),
         "cannot link '%s' as '%s' in '%s'", path, alias, b->path);
  return GDS_SUCCESS;
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

/* Consistency of the caller's structures (programming errors: runtime). */
static int gds_io_check_inputs(const gds_sweep *s, const gds_schedule *sched,
                               const gds_prior *prior, gds_operator *const *ops) {
  if (!s || !sched || !prior || !ops)
    GDS_ERROR(GDS_ERR_RUNTIME, "gds_io_create: sweep, schedule, prior and operators are required on rank 0");
  int H = prior->H, W = prior->W;
  if (s->n_op < 1 || s->n_sigma < 1 || s->n_alpha < 1 || s->n_alg < 1 || s->n_seed < 1 ||
      s->T < 1 || s->samples < 0 || s->n_ckpt < 0 || H < 1 || W < 1)
    GDS_ERROR(GDS_ERR_RUNTIME, "gds_io_create: empty grid axis or image (ops %d, sigmas %d, "
              "alphas %d, algorithms %d, seeds %d, T %d, samples %d, checkpoints %d, %dx%d)",
              s->n_op, s->n_sigma, s->n_alpha, s->n_alg, s->n_seed, s->T, s->samples, s->n_ckpt, H, W);
  if (sched->T != s->T)
    GDS_ERROR(GDS_ERR_RUNTIME, "gds_io_create: schedule has T = %d, sweep T = %d", sched->T, s->T);
  for (int i = 0; i < s->n_op; i++) {
    const gds_operator *op = ops[i];
    if (!op || op->H != H || op->W != W || op->mh < 1 || op->mw < 1)
      GDS_ERROR(GDS_ERR_RUNTIME, "gds_io_create: operator %d missing or of the wrong shape", i);
  }
  for (int k = 0; k < s->n_ckpt; k++)
    if (s->ckpt[k] < 0 || s->ckpt[k] > s->T)
      GDS_ERROR(GDS_ERR_RUNTIME, "gds_io_create: checkpoint %d outside 0..T", s->ckpt[k]);
  for (int k = 0; k < s->n_w2t; k++)
    if (s->w2_times[k] < 0 || s->w2_times[k] > s->T)
      GDS_ERROR(GDS_ERR_RUNTIME, "gds_io_create: w2 time %d outside 0..T", s->w2_times[k]);
  return GDS_SUCCESS;
}

/* Rank 0: refuse what the user must fix, before touching anything. */
static int gds_io_check_target(const char *path, int force) {
  struct stat st;
  if (stat(path, &st) == 0) {
    if (S_ISDIR(st.st_mode)) GDS_ERROR(GDS_ERR_INPUT, "cannot create '%s': it is a directory", path);
    if (!force)
      GDS_ERROR(GDS_ERR_INPUT, "'%s' already exists: use --force to overwrite it, or --resume "
                "to continue the sweep it holds", path);
  } else if (errno != ENOENT) {
    GDS_ERROR(GDS_ERR_INPUT, "cannot create '%s': %s", path, strerror(errno));
  }
  char *dir = gds_io_dirname(path);
  if (!dir) GDS_ERROR(GDS_ERR_RUNTIME, "out of memory");
  int ok = access(dir, W_OK | X_OK) == 0, err = errno;
  if (!ok) {
    int ierr = gds_error_raise(GDS_ERR_INPUT, __FILE__, __LINE__, __func__,
                               err == ENOENT ? "cannot create '%s': directory '%s' does not exist (%s)"
                                             : "cannot create '%s': directory '%s' is not writable (%s)",
                               path, dir, strerror(err));
    free(dir);
    return ierr;
  }
  free(dir);
  return GDS_SUCCESS;
}

static int gds_io_write_root_attrs(gds_io_builder *b, const gds_sweep *s, const char *fingerprint,
                                   int nranks) {
  hid_t f = b->file;
  char buf[MPI_MAX_LIBRARY_VERSION_STRING + 1] = "", now[GDS_IO_TIMELEN];
  int len = 0;
  GDS_CALL(gds_io_attr_str(f, "/", "description",
                           "gdsweep results: exact 2-Wasserstein distances between diffusion "
                           "posterior samplers and the Gaussian posterior. Grid axes (operator, "
                           "sigma, alpha_dps, algorithm, seed) are dimension scales in /grid; "
                           "/results/done says which points are complete.", 0));
  GDS_CALL(gds_io_attr_int(f, "/", "gdsweep_format", GDS_IO_FORMAT));
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

/* Scale index lists of the datasets' dimensions. */
static const int gds_io_dims_curve[] = {GDS_IO_S_OP, GDS_IO_S_SIGMA, GDS_IO_S_ALPHA, GDS_IO_S_ALG,
                                        GDS_IO_S_SEED, GDS_IO_S_T};
static const int gds_io_dims_image[] = {GDS_IO_S_OP, GDS_IO_S_SIGMA, GDS_IO_S_ALPHA, GDS_IO_S_ALG,
                                        GDS_IO_S_SEED, GDS_IO_S_ROW, GDS_IO_S_COL};
static const int gds_io_dims_traj[] = {GDS_IO_S_OP, GDS_IO_S_SIGMA, GDS_IO_S_ALPHA, GDS_IO_S_ALG,
                                       GDS_IO_S_SEED, GDS_IO_S_SAMPLE, GDS_IO_S_CKPT, GDS_IO_S_ROW,
                                       GDS_IO_S_COL};

static int gds_io_build_grid(gds_io_builder *b, const gds_sweep *s, gds_operator *const *ops,
                             int H, int W) {
  int ierr = GDS_SUCCESS;
  hid_t str = H5I_INVALID_HID;
  const char **names = NULL;
  int *ints = NULL;
  unsigned char *computed = NULL;
  int nmax = s->T + 1;
  if (nmax < s->n_op) nmax = s->n_op;
  if (nmax < s->n_alg) nmax = s->n_alg;
  if (nmax < s->samples) nmax = s->samples;
  if (nmax < H) nmax = H;
  if (nmax < W) nmax = W;
  GDS_CALL_GOTO(ierr, done, GDS_ALLOC(names, nmax));
  GDS_CALL_GOTO(ierr, done, GDS_ALLOC(ints, nmax));
  GDS_CALL_GOTO(ierr, done, GDS_ALLOC(computed, s->T + 1));
  GDS_CALL_GOTO(ierr, done, gds_io_vlstr_type(&str));
  GDS_CALL_GOTO(ierr, done, gds_io_group(b, "/grid", "axes of the sweep; each dataset is a "
                                         "dimension scale attached to the dimensions it labels", NULL));

  for (int i = 0; i < s->n_op; i++) names[i] = ops[i]->name;
  GDS_CALL_GOTO(ierr, done, gds_io_scale(b, GDS_IO_S_OP, str, s->n_op, str, names,
                                         "operator axis: canonical operator names", NULL));
  GDS_CALL_GOTO(ierr, done, gds_io_scale(b, GDS_IO_S_SIGMA, H5T_IEEE_F64LE, s->n_sigma,
                                         H5T_NATIVE_DOUBLE, s->sigma,
                                         "sigma axis: standard deviation of the measurement noise",
                                         "pixel intensity"));
  GDS_CALL_GOTO(ierr, done, gds_io_scale(b, GDS_IO_S_ALPHA, H5T_IEEE_F64LE, s->n_alpha,
                                         H5T_NATIVE_DOUBLE, s->alpha_dps,
                                         "alpha_dps axis: DPS step weight, C_t = sigma^2/alpha_dps "
                                         "(only algorithm dps depends on it)", "1"));
  for (int i = 0; i < s->n_alg; i++) names[i] = gds_algorithm_name(s->alg[i].kind);
  GDS_CALL_GOTO(ierr, done, gds_io_scale(b, GDS_IO_S_ALG, str, s->n_alg, str, names,
                                         "algorithm axis: guidance algorithm", NULL));
  GDS_CALL_GOTO(ierr, done, gds_io_scale(b, GDS_IO_S_SEED, H5T_STD_I64LE, s->n_seed,
                                         H5T_NATIVE_INT64, s->seed,
                                         "seed axis: random seed of the ground truth x0 and of the "
                                         "measurement noise", NULL));
  for (int t = 0; t <= s->T; t++) ints[t] = t;
  GDS_CALL_GOTO(ierr, done, gds_io_scale(b, GDS_IO_S_T, H5T_STD_I32LE, s->T + 1, H5T_NATIVE_INT,
                                         ints, "diffusion time step t (0 = clean image, T = pure "
                                         "noise): index of the W2 curves and of /schedule",
                                         "diffusion step"));
  GDS_CALL_GOTO(ierr, done, gds_io_scale(b, GDS_IO_S_CKPT, H5T_STD_I32LE, s->n_ckpt,
                                         H5T_NATIVE_INT, s->ckpt,
                                         "checkpoint axis: diffusion times t at which trajectories "
                                         "are stored (in the order of output.checkpoints)",
                                         "diffusion step"));
  for (int k = 0; k < s->samples; k++) ints[k] = k;
  GDS_CALL_GOTO(ierr, done, gds_io_scale(b, GDS_IO_S_SAMPLE, H5T_STD_I32LE, s->samples,
                                         H5T_NATIVE_INT, ints,
                                         "sample axis: index of a sampled trajectory (its noise "
                                         "is keyed by (seed, sample))", NULL));
  for (int k = 0; k < H; k++) ints[k] = k;
  GDS_CALL_GOTO(ierr, done, gds_io_scale(b, GDS_IO_S_ROW, H5T_STD_I32LE, H, H5T_NATIVE_INT,
                                         ints, "image row index (frequency index in numpy fft2 "
                                         "order for /prior/spectrum)", "pixel"));
  for (int k = 0; k < W; k++) ints[k] = k;
  GDS_CALL_GOTO(ierr, done, gds_io_scale(b, GDS_IO_S_COL, H5T_STD_I32LE, W, H5T_NATIVE_INT,
                                         ints, "image column index (frequency index in numpy fft2 "
                                         "order for /prior/spectrum)", "pixel"));

  if (s->w2_times)
    for (int k = 0; k < s->n_w2t; k++) computed[s->w2_times[k]] = 1;
  else /* no list at all (hand-built sweeps): output.w2_times defaults to all */
    memset(computed, 1, (size_t)s->T + 1);
  hsize_t nt = (hsize_t)s->T + 1;
  const int tdim[] = {GDS_IO_S_T};
  GDS_CALL_GOTO(ierr, done, gds_io_dataset(b, "/grid/w2_computed", H5T_STD_U8LE, 1, &nt,
                                           b->dcpl_data, tdim,
                                           "1 where the W2 curves were computed at time t "
                                           "(output.w2_times); elsewhere they are NaN by design",
                                           NULL, H5T_NATIVE_UCHAR, computed, NULL));
done:
  gds_io_close_id(&str, H5Tclose);
  free(names);
  free(ints);
  free(computed);
  return ierr;
}

static int gds_io_build_schedule_prior(gds_io_builder *b, const gds_schedule *sc,
                                       const gds_prior *pr) {
  hid_t g = H5I_INVALID_HID, d = H5I_INVALID_HID;
  int ierr = GDS_SUCCESS;
  hsize_t nt = (hsize_t)sc->T + 1, hw[2] = {(hsize_t)pr->H, (hsize_t)pr->W};
  const int tdim[] = {GDS_IO_S_T}, imdim[] = {GDS_IO_S_ROW, GDS_IO_S_COL};
  if (!sc->beta || !sc->alpha_bar || !pr->texture || !pr->spectrum)
    GDS_ERROR(GDS_ERR_RUNTIME, "gds_io_create: schedule or prior arrays missing");

  GDS_CALL_GOTO(ierr, done, gds_io_group(b, "/schedule", "discrete DDPM noise schedule "
                                         "(index t = 0..T)", &g));
  GDS_CALL_GOTO(ierr, done, gds_io_attr_int(g, "/schedule", "T", sc->T));
  GDS_CALL_GOTO(ierr, done, gds_io_attr_double(g, "/schedule", "beta_start", sc->beta_start));
  GDS_CALL_GOTO(ierr, done, gds_io_attr_double(g, "/schedule", "beta_end", sc->beta_end));
  GDS_CALL_GOTO(ierr, done, gds_io_attr_str(g, "/schedule", "variance",
                                            sc->variance == GDS_VARIANCE_BETA_TILDE ? "beta_tilde" : "beta", 0));
  gds_io_close_id(&g, H5Gclose);
  GDS_CALL_GOTO(ierr, done, gds_io_dataset(b, "/schedule/beta", H5T_IEEE_F64LE, 1, &nt,
                                           b->dcpl_data, tdim, "beta_t (beta[0] = 0)", "1",
                                           H5T_NATIVE_DOUBLE, sc->beta, NULL));
  GDS_CALL_GOTO(ierr, done, gds_io_dataset(b, "/schedule/alpha_bar", H5T_IEEE_F64LE, 1, &nt,
                                           b->dcpl_data, tdim,
                                           "alpha_bar_t = prod_{s<=t} (1 - beta_s) (alpha_bar[0] = 1)",
                                           "1", H5T_NATIVE_DOUBLE, sc->alpha_bar, NULL));
  if (sc->sigma2)
    GDS_CALL_GOTO(ierr, done, gds_io_dataset(b, "/schedule/sigma2", H5T_IEEE_F64LE, 1, &nt,
                                             b->dcpl_data, tdim,
                                             "variance sigma_t^2 of the noise added by the backward "
                                             "step t -> t-1 (sigma2[1] = 0)", "1",
                                             H5T_NATIVE_DOUBLE, sc->sigma2, NULL));

  GDS_CALL_GOTO(ierr, done, gds_io_group(b, "/prior", "Gaussian image prior x0 ~ N(m 1, Sigma)", &g));
  GDS_CALL_GOTO(ierr, done, gds_io_attr_str(g, "/prior", "name", pr->name, 0));
  GDS_CALL_GOTO(ierr, done, gds_io_attr_double(g, "/prior", "mean", pr->mean));
  GDS_CALL_GOTO(ierr, done, gds_io_attr_int(g, "/prior", "white", pr->white));
  gds_io_close_id(&g, H5Gclose);
  GDS_CALL_GOTO(ierr, done, gds_io_dataset(b, "/prior/texture", H5T_IEEE_F64LE, 2, hw,
                                           b->dcpl_data, imdim,
                                           "texture u the prior is built from (after cropping and "
                                           "periodic component); prior mean m = its mean",
                                           "pixel intensity", H5T_NATIVE_DOUBLE, pr->texture, &d));
  GDS_CALL_GOTO(ierr, done, gds_io_attr_double(d, "/prior/texture", "mean", pr->mean));
  GDS_CALL_GOTO(ierr, done, gds_io_attr_str(d, "/prior/texture", "name", pr->name, 0));
  gds_io_close_id(&d, H5Dclose);
  GDS_CALL_GOTO(ierr, done, gds_io_dataset(b, "/prior/spectrum", H5T_IEEE_F64LE, 2, hw,
                                           b->dcpl_data, imdim,
                                           "eigenvalues lambda(xi) = |DFT(t)(xi)|^2 of the prior "
                                           "covariance, unnormalised DFT, numpy fft2 order",
                                           "pixel intensity^2", H5T_NATIVE_DOUBLE, pr->spectrum, &d));
  GDS_CALL_GOTO(ierr, done, gds_io_attr_double(d, "/prior/spectrum", "mean", pr->mean));
  GDS_CALL_GOTO(ierr, done, gds_io_attr_str(d, "/prior/spectrum", "name", pr->name, 0));
done:
  gds_io_close_id(&d, H5Dclose);
  gds_io_close_id(&g, H5Gclose);
  return ierr;
}

static int gds_io_build_problem(gds_io_builder *b, const gds_sweep *s, gds_operator *const *ops,
                                int H, int W) {
  hid_t g = H5I_INVALID_HID;
  int ierr = GDS_SUCCESS;
  hsize_t hw[2] = {(hsize_t)H, (hsize_t)W};
  hsize_t x0d[3] = {(hsize_t)s->n_seed, hw[0], hw[1]};
  hsize_t pmd[5] = {(hsize_t)s->n_op, (hsize_t)s->n_sigma, (hsize_t)s->n_seed, hw[0], hw[1]};
  hsize_t pvd[4] = {(hsize_t)s->n_op, (hsize_t)s->n_sigma, hw[0], hw[1]};
  const int x0s[] = {GDS_IO_S_SEED, GDS_IO_S_ROW, GDS_IO_S_COL};
  const int pms[] = {GDS_IO_S_OP, GDS_IO_S_SIGMA, GDS_IO_S_SEED, GDS_IO_S_ROW, GDS_IO_S_COL};
  const int pvs[] = {GDS_IO_S_OP, GDS_IO_S_SIGMA, GDS_IO_S_ROW, GDS_IO_S_COL};
  const int ims[] = {GDS_IO_S_ROW, GDS_IO_S_COL};

  GDS_CALL_GOTO(ierr, done, gds_io_group(b, "/problem", "inverse problems: ground truths, "
                                         "measurements, exact posteriors", NULL));
  GDS_CALL_GOTO(ierr, done, gds_io_dataset(b, "/problem/x0", H5T_IEEE_F64LE, 3, x0d, b->dcpl_nan,
                                           x0s, "ground truth x0 drawn from the prior, per seed",
                                           "pixel intensity", 0, NULL, NULL));
  GDS_CALL_GOTO(ierr, done, gds_io_dataset(b, "/problem/posterior_mean", H5T_IEEE_F64LE, 5, pmd,
                                           b->dcpl_nan, pms,
                                           "mean mu_post of the exact posterior p(x0 | v)",
                                           "pixel intensity", 0, NULL, NULL));
  GDS_CALL_GOTO(ierr, done, gds_io_dataset(b, "/problem/posterior_variance", H5T_IEEE_F64LE, 4,
                                           pvd, b->dcpl_nan, pvs,
                                           "diagonal of the exact posterior covariance Sigma_post "
                                           "(independent of the seed)", "pixel intensity^2", 0,
                                           NULL, NULL));
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
    GDS_CALL_GOTO(ierr, done, gds_io_attr_str(g, name, "law_backend", gds_law_backend_for(op), 0));
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
                              k ? "column index of the measurement v" : "row index of the measurement v",
                              NULL, H5T_NATIVE_INT, idx, &sd);
        free(idx);
        if (!ierr && H5DSset_scale(sd, which[k]) < 0)
          ierr = GDS_IO_H5FAIL("cannot make '%s' a dimension scale in '%s'", where, b->path);
        if (sd >= 0) H5Dclose(sd);
        if (ierr) goto done;
      }
    }
    const int vs[] = {GDS_IO_S_SIGMA, GDS_IO_S_SEED, same ? GDS_IO_S_ROW : GDS_IO_S_NONE,
                      same ? GDS_IO_S_COL : GDS_IO_S_NONE};
    snprintf(where, sizeof where, "%s/v", name);
    hid_t vd_id = H5I_INVALID_HID;
    GDS_CALL_GOTO(ierr, done, gds_io_dataset(b, where, H5T_IEEE_F64LE, 4, vd, b->dcpl_nan, vs,
                                             "measurement v = A x0 + sigma n, per sigma and seed "
                                             "(measurement shape of the operator)",
                                             "pixel intensity", 0, NULL, &vd_id));
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
                                               "periodic convolution kernel of A (origin at [0,0])",
                                               "1", H5T_NATIVE_DOUBLE, op->kernel, NULL));
    }
    if (op->mask) {
      snprintf(where, sizeof where, "%s/mask", name);
      GDS_CALL_GOTO(ierr, done, gds_io_dataset(b, where, H5T_STD_U8LE, 2, hw, b->dcpl_data, ims,
                                               "inpainting mask: 1 = observed pixel (A keeps the "
                                               "observed pixels in row-major order)", NULL,
                                               H5T_NATIVE_UCHAR, op->mask, NULL));
    }
  }
done:
  gds_io_close_id(&g, H5Gclose);
  return ierr;
}

static int gds_io_build_results(gds_io_builder *b, const gds_sweep *s, int H, int W) {
  hsize_t d[GDS_IO_MAXRANK] = {(hsize_t)s->n_op, (hsize_t)s->n_sigma, (hsize_t)s->n_alpha,
                               (hsize_t)s->n_alg, (hsize_t)s->n_seed};
  GDS_CALL(gds_io_group(b, "/results", "results per grid point (operator, sigma, alpha_dps, "
                        "algorithm, seed); valid where /results/done = 1", NULL));
  d[5] = (hsize_t)s->T + 1;
  GDS_CALL(gds_io_dataset(b, "/results/w2", H5T_IEEE_F64LE, 6, d, b->dcpl_nan, gds_io_dims_curve,
                          "2-Wasserstein distance between the exact law of the sampler at time t "
                          "and the reference law (posterior path; prior path for algorithm none); "
                          "NaN where not computed (see /grid/w2_computed)",
                          "pixel intensity", 0, NULL, NULL));
  GDS_CALL(gds_io_dataset(b, "/results/w2_mean", H5T_IEEE_F64LE, 6, d, b->dcpl_nan,
                          gds_io_dims_curve, "mean part of w2: ||m_t - m*_t||", "pixel intensity",
                          0, NULL, NULL));
  GDS_CALL(gds_io_dataset(b, "/results/w2_cov", H5T_IEEE_F64LE, 6, d, b->dcpl_nan,
                          gds_io_dims_curve,
                          "covariance part of w2 (Bures distance of K_t and K*_t); "
                          "w2 = sqrt(w2_mean^2 + w2_cov^2)", "pixel intensity", 0, NULL, NULL));
  GDS_CALL(gds_io_dataset(b, "/results/done", H5T_STD_U8LE, 5, d, b->dcpl_zero, gds_io_dims_curve,
                          "1 once every result of the point is written (written last)", NULL, 0,
                          NULL, NULL));
  /* Timing is not a result: /results stays a pure function of the sweep file (bitwise
   * comparable across runs and rank counts), run-dependent data lives in /provenance. */
  GDS_CALL(gds_io_group(b, "/provenance", "run-dependent data (timings); not part of the results", NULL));
  GDS_CALL(gds_io_dataset(b, "/provenance/wall_time", H5T_IEEE_F64LE, 5, d, b->dcpl_nan,
                          gds_io_dims_curve, "wall-clock time spent computing the point", "s", 0,
                          NULL, NULL));
  d[5] = (hsize_t)H;
  d[6] = (hsize_t)W;
  GDS_CALL(gds_io_dataset(b, "/results/sampler_mean", H5T_IEEE_F64LE, 7, d, b->dcpl_nan,
                          gds_io_dims_image, "mean m_0 of the exact law of the sampler output",
                          "pixel intensity", 0, NULL, NULL));
  GDS_CALL(gds_io_dataset(b, "/results/sampler_variance", H5T_IEEE_F64LE, 7, d, b->dcpl_nan,
                          gds_io_dims_image,
                          "diagonal of the covariance K_0 of the exact law of the sampler output",
                          "pixel intensity^2", 0, NULL, NULL));
  d[5] = (hsize_t)s->samples;
  d[6] = (hsize_t)s->n_ckpt;
  d[7] = (hsize_t)H;
  d[8] = (hsize_t)W;
  GDS_CALL(gds_io_dataset(b, "/results/trajectories", H5T_IEEE_F32LE, 9, d, b->dcpl_nofill,
                          gds_io_dims_traj,
                          "sampled trajectories y_t at the checkpoint times (not pre-filled: "
                          "meaningful only where /results/done = 1)", "pixel intensity", 0, NULL,
                          NULL));
  return GDS_SUCCESS;
}

/* Rank 0: the whole file, serially, then closed. Removes a partial file on failure. */
static int gds_io_build(const char *path, int nranks, const gds_sweep *s, const gds_schedule *sc,
                        const gds_prior *pr, gds_operator *const *ops, const char *fingerprint,
                        int force) {
  int ierr = GDS_SUCCESS, created = 0;
  hid_t fapl = H5I_INVALID_HID, fcpl = H5I_INVALID_HID;
  gds_io_builder b;
  memset(&b, 0, sizeof b);
  b.path = path;
  b.file = b.dcpl_nan = b.dcpl_zero = b.dcpl_nofill = b.dcpl_data = H5I_INVALID_HID;
  for (int k = 0; k < GDS_IO_NSCALES; k++) b.scale[k] = H5I_INVALID_HID;

  GDS_CALL(gds_io_check_inputs(s, sc, pr, ops));
  if (s->prior.H && (s->prior.H != pr->H || s->prior.W != pr->W))
    GDS_ERROR(GDS_ERR_RUNTIME, "gds_io_create: prior is %dx%d, sweep says %dx%d", pr->H, pr->W,
              s->prior.H, s->prior.W);
  GDS_CALL(gds_io_check_target(path, force));

  const double nan = NAN;
  const unsigned char zero = 0;
  GDS_CALL_GOTO(ierr, done, gds_io_make_dcpl(H5T_NATIVE_DOUBLE, &nan, H5D_FILL_TIME_IFSET, &b.dcpl_nan));
  GDS_CALL_GOTO(ierr, done, gds_io_make_dcpl(H5T_NATIVE_UCHAR, &zero, H5D_FILL_TIME_IFSET, &b.dcpl_zero));
  GDS_CALL_GOTO(ierr, done, gds_io_make_dcpl(0, NULL, H5D_FILL_TIME_NEVER, &b.dcpl_nofill));
  GDS_CALL_GOTO(ierr, done, gds_io_make_dcpl(0, NULL, H5D_FILL_TIME_IFSET, &b.dcpl_data));
  GDS_H5_GOTO(ierr, done, fapl = H5Pcreate(H5P_FILE_ACCESS), "cannot create file access list");
  GDS_H5_GOTO(ierr, done, H5Pset_fapl_sec2(fapl), "cannot select the sec2 driver");
  /* Format of HDF5 1.8: readable by every current tool, and its superblock has no "open
   * for writing" flag that a killed job would leave set. */
  GDS_H5_GOTO(ierr, done, H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_V18),
              "cannot set library version bounds");
  GDS_H5_GOTO(ierr, done, H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG), "cannot set close degree");
  GDS_H5_GOTO(ierr, done, H5Pset_file_locking(fapl, 1, 1), "cannot set file locking");
  GDS_H5_GOTO(ierr, done, fcpl = H5Pcreate(H5P_FILE_CREATE), "cannot create file creation list");
  GDS_H5_GOTO(ierr, done,
              H5Pset_link_creation_order(fcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED),
              "cannot set file creation properties");
  GDS_H5_GOTO(ierr, done, b.file = H5Fcreate(path, force ? H5F_ACC_TRUNC : H5F_ACC_EXCL, fcpl, fapl),
              "cannot create '%s'", path);
  created = 1;

  int H = pr->H, W = pr->W;
  GDS_CALL_GOTO(ierr, done, gds_io_write_root_attrs(&b, s, fingerprint, nranks));
  GDS_CALL_GOTO(ierr, done, gds_io_build_grid(&b, s, ops, H, W));
  GDS_CALL_GOTO(ierr, done, gds_io_build_schedule_prior(&b, sc, pr));
  GDS_CALL_GOTO(ierr, done, gds_io_build_problem(&b, s, ops, H, W));
  GDS_CALL_GOTO(ierr, done, gds_io_build_results(&b, s, H, W));

done:
  for (int k = 0; k < GDS_IO_NSCALES; k++) gds_io_close_id(&b.scale[k], H5Dclose);
  if (b.file > 0 && H5Fclose(b.file) < 0 && !ierr)
    ierr = GDS_IO_H5FAIL("cannot close '%s' after creating it", path);
  if (ierr && created) unlink(path); /* a partial file would block the rerun */
  gds_io_close_id(&fcpl, H5Pclose);
  gds_io_close_id(&fapl, H5Pclose);
  gds_io_close_id(&b.dcpl_nan, H5Pclose);
  gds_io_close_id(&b.dcpl_zero, H5Pclose);
  gds_io_close_id(&b.dcpl_nofill, H5Pclose);
  gds_io_close_id(&b.dcpl_data, H5Pclose);
  return ierr;
}

/* ------------------------------------------------------------------------------------ */
/* Opening                                                                              */

static int gds_io_dset_open(gds_io *io, gds_io_dset *ds, const char *name, int rank) {
  snprintf(ds->name, sizeof ds->name, "%s", name);
  ds->id = H5Dopen2(io->file, name, H5P_DEFAULT);
  if (ds->id < 0)
    return gds_error_raise(GDS_ERR_INPUT, __FILE__, __LINE__, __func__,
                           "'%s' is not a complete gdsweep file: dataset '%s' is missing", io->path,
                           name);
  GDS_H5(ds->space = H5Dget_space(ds->id), "cannot get the dataspace of '%s' in '%s'", name, io->path);
  int r = H5Sget_simple_extent_ndims(ds->space);
  if (r != rank || r > GDS_IO_MAXRANK)
    GDS_ERROR(GDS_ERR_INPUT, "'%s': dataset '%s' has %d dimensions, expected %d", io->path, name, r, rank);
  ds->rank = r;
  GDS_H5(H5Sget_simple_extent_dims(ds->space, ds->dims, NULL), "cannot get the shape of '%s' in '%s'",
         name, io->path);
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
      GDS_ERROR(GDS_ERR_INPUT, "'%s': dataset '%s' has %llu entries along dimension %d, expected %llu",
                io->path, ds->name, (unsigned long long)ds->dims[k], k, (unsigned long long)want[k]);
  return GDS_SUCCESS;
}

static int gds_io_read_labels(gds_io *io) {
  int ierr = GDS_SUCCESS;
  hid_t str = H5I_INVALID_HID;
  gds_io_dset d = {H5I_INVALID_HID, H5I_INVALID_HID, 0, {0}, ""};
  char **tmp = NULL;
  const int n_op = io->n[GDS_IO_AXIS_OPERATOR], n_alg = io->n[GDS_IO_AXIS_ALGORITHM];
  GDS_CALL_GOTO(ierr, done, GDS_ALLOC(io->op_name, n_op));
  GDS_CALL_GOTO(ierr, done, GDS_ALLOC(io->alg_name, n_alg));
  GDS_CALL_GOTO(ierr, done, GDS_ALLOC(io->sigma, io->n[GDS_IO_AXIS_SIGMA]));
  GDS_CALL_GOTO(ierr, done, GDS_ALLOC(io->alpha, io->n[GDS_IO_AXIS_ALPHA]));
  GDS_CALL_GOTO(ierr, done, GDS_ALLOC(io->seed, io->n[GDS_IO_AXIS_SEED]));
  GDS_CALL_GOTO(ierr, done, GDS_ALLOC(tmp, n_op > n_alg ? n_op : n_alg));
  GDS_CALL_GOTO(ierr, done, gds_io_vlstr_type(&str));

  static const char *const strnames[2] = {"/grid/operator", "/grid/algorithm"};
  for (int which = 0; which < 2; which++) {
    int n = which ? n_alg : n_op;
    char **dst = which ? io->alg_name : io->op_name;
    hsize_t want = (hsize_t)n;
    GDS_CALL_GOTO(ierr, done, gds_io_dset_open(io, &d, strnames[which], 1));
    GDS_CALL_GOTO(ierr, done, gds_io_dset_expect(io, &d, 1, &want));
    GDS_H5_GOTO(ierr, done, H5Dread(d.id, str, H5S_ALL, H5S_ALL, io->dxpl, tmp),
                "cannot read '%s' in '%s'", strnames[which], io->path);
    for (int i = 0; i < n; i++) dst[i] = gds_strdup(tmp[i] ? tmp[i] : "");
    H5Dvlen_reclaim(str, d.space, H5P_DEFAULT, tmp);
    gds_io_dset_close(&d);
    for (int i = 0; i < n; i++)
      if (!dst[i]) {
        ierr = gds_error_raise(GDS_ERR_RUNTIME, __FILE__, __LINE__, __func__, "out of memory");
        goto done;
      }
  }
  struct { const char *name; int axis; hid_t mtype; void *buf; } num[3] = {
      {"/grid/sigma", GDS_IO_AXIS_SIGMA, H5T_NATIVE_DOUBLE, io->sigma},
      {"/grid/alpha_dps", GDS_IO_AXIS_ALPHA, H5T_NATIVE_DOUBLE, io->alpha},
      {"/grid/seed", GDS_IO_AXIS_SEED, H5T_NATIVE_INT64, io->seed}};
  for (int k = 0; k < 3; k++) {
    hsize_t want = (hsize_t)io->n[num[k].axis];
    GDS_CALL_GOTO(ierr, done, gds_io_dset_open(io, &d, num[k].name, 1));
    GDS_CALL_GOTO(ierr, done, gds_io_dset_expect(io, &d, 1, &want));
    GDS_H5_GOTO(ierr, done, H5Dread(d.id, num[k].mtype, H5S_ALL, H5S_ALL, io->dxpl, num[k].buf),
                "cannot read '%s' in '%s'", num[k].name, io->path);
    gds_io_dset_close(&d);
  }
done:
  gds_io_dset_close(&d);
  gds_io_close_id(&str, H5Tclose);
  free(tmp);
  return ierr;
}

static void gds_io_free(gds_io *io) {
  if (!io) return;
  gds_io_dset *all[] = {&io->w2, &io->w2_mean, &io->w2_cov, &io->done, &io->wall, &io->smean,
                        &io->svar, &io->traj, &io->x0, &io->pmean, &io->pvar};
  for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) gds_io_dset_close(all[k]);
  if (io->v)
    for (int i = 0; i < io->n[GDS_IO_AXIS_OPERATOR]; i++) gds_io_dset_close(&io->v[i]);
  gds_io_close_id(&io->dxpl, H5Pclose);
  gds_io_close_id(&io->file, H5Fclose);
  if (io->comm != MPI_COMM_NULL) MPI_Comm_free(&io->comm);
  for (int i = 0; io->op_name && i < io->n[GDS_IO_AXIS_OPERATOR]; i++) free(io->op_name[i]);
  for (int i = 0; io->alg_name && i < io->n[GDS_IO_AXIS_ALGORITHM]; i++) free(io->alg_name[i]);
  free(io->op_name);
  free(io->alg_name);
  free(io->sigma);
  free(io->alpha);
  free(io->seed);
  free(io->v);
  free(io->fingerprint);
  free(io->path);
  free(io);
}

/* Open an existing gdsweep file: in parallel read-write on comm (comm != MPI_COMM_NULL), or
 * serially read-only. Reads the shape from the file and caches every dataset it writes.
 * On failure *out may still hold a partly opened io for the caller to free: in parallel the
 * file close is collective, so it must wait until every rank knows the outcome. */
static int gds_io_open_file(const char *path, MPI_Comm comm, gds_io **out) {
  int ierr = GDS_SUCCESS;
  hid_t fapl = H5I_INVALID_HID;
  gds_io *io = NULL;
  *out = NULL;
  GDS_CALL(GDS_ALLOC(io, 1));
  *out = io;
  io->comm = MPI_COMM_NULL;
  io->file = io->dxpl = H5I_INVALID_HID;
  gds_io_dset *all[] = {&io->w2, &io->w2_mean, &io->w2_cov, &io->done, &io->wall, &io->smean,
                        &io->svar, &io->traj, &io->x0, &io->pmean, &io->pvar};
  for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) all[k]->id = all[k]->space = H5I_INVALID_HID;
  io->path = gds_strdup(path);
  if (!io->path) {
    ierr = gds_error_raise(GDS_ERR_RUNTIME, __FILE__, __LINE__, __func__, "out of memory");
    goto done;
  }
  io->writable = comm != MPI_COMM_NULL;
  if (io->writable) {
    if (MPI_Comm_dup(comm, &io->comm) != MPI_SUCCESS) {
      io->comm = MPI_COMM_NULL;
      ierr = gds_error_raise(GDS_ERR_RUNTIME, __FILE__, __LINE__, __func__, "MPI_Comm_dup failed");
      goto done;
    }
    MPI_Comm_rank(io->comm, &io->rank);
  }

  GDS_H5_GOTO(ierr, done, fapl = H5Pcreate(H5P_FILE_ACCESS), "cannot create file access list");
  if (io->writable) {
    GDS_H5_GOTO(ierr, done, H5Pset_fapl_mpio(fapl, io->comm, MPI_INFO_NULL),
                "cannot select the MPI-IO driver");
  } else {
    GDS_H5_GOTO(ierr, done, H5Pset_fapl_sec2(fapl), "cannot select the sec2 driver");
    /* Read-only users (status) need no lock, and must not fail on file systems without one. */
    GDS_H5_GOTO(ierr, done, H5Pset_file_locking(fapl, 0, 1), "cannot set file locking");
  }
  GDS_H5_GOTO(ierr, done, H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_V18),
              "cannot set library version bounds");
  GDS_H5_GOTO(ierr, done, io->file = H5Fopen(path, io->writable ? H5F_ACC_RDWR : H5F_ACC_RDONLY, fapl),
              "cannot open '%s'", path);
  GDS_H5_GOTO(ierr, done, io->dxpl = H5Pcreate(H5P_DATASET_XFER), "cannot create transfer list");
  if (io->writable)
    /* Each point is written by the rank that computed it, whenever it is ready. */
    GDS_H5_GOTO(ierr, done, H5Pset_dxpl_mpio(io->dxpl, H5FD_MPIO_INDEPENDENT),
                "cannot select independent I/O");

  if (H5Aexists(io->file, "gdsweep_format") <= 0) {
    H5Eclear2(H5E_DEFAULT);
    ierr = gds_error_raise(GDS_ERR_INPUT, __FILE__, __LINE__, __func__,
                           "'%s' is not a gdsweep output file (no gdsweep_format attribute)", path);
    goto done;
  }
  int format = 0;
  hid_t a;
  GDS_H5_GOTO(ierr, done, a = H5Aopen(io->file, "gdsweep_format", H5P_DEFAULT),
              "cannot open attribute gdsweep_format of '%s'", path);
  herr_t st = H5Aread(a, H5T_NATIVE_INT, &format);
  H5Aclose(a);
  GDS_H5_GOTO(ierr, done, st, "cannot read attribute gdsweep_format of '%s'", path);
  if (format != GDS_IO_FORMAT) {
    ierr = gds_error_raise(GDS_ERR_INPUT, __FILE__, __LINE__, __func__,
                           "'%s' has gdsweep file format %d; this gdsweep reads format %d", path,
                           format, GDS_IO_FORMAT);
    goto done;
  }
  GDS_CALL_GOTO(ierr, done, gds_io_attr_read_str(io->file, path, "fingerprint", &io->fingerprint));
  GDS_H5_GOTO(ierr, done, a = H5Aopen(io->file, "complete", H5P_DEFAULT),
              "cannot open attribute complete of '%s'", path);
  st = H5Aread(a, H5T_NATIVE_INT, &io->complete);
  H5Aclose(a);
  GDS_H5_GOTO(ierr, done, st, "cannot read attribute complete of '%s'", path);

  /* Shape from /results/w2 [op, sigma, alpha, alg, seed, T+1]; the rest must agree. */
  GDS_CALL_GOTO(ierr, done, gds_io_dset_open(io, &io->w2, "/results/w2", 6));
  for (int k = 0; k < GDS_IO_NAXES; k++) io->n[k] = (int)io->w2.dims[k];
  io->T = (int)io->w2.dims[5] - 1;
  io->npoints = 1;
  for (int k = 0; k < GDS_IO_NAXES; k++) io->npoints *= io->n[k];
  GDS_CALL_GOTO(ierr, done, gds_io_dset_open(io, &io->smean, "/results/sampler_mean", 7));
  io->H = (int)io->smean.dims[5];
  io->W = (int)io->smean.dims[6];
  GDS_CALL_GOTO(ierr, done, gds_io_dset_open(io, &io->traj, "/results/trajectories", 9));
  io->samples = (int)io->traj.dims[5];
  io->n_ckpt = (int)io->traj.dims[6];
  GDS_CALL_GOTO(ierr, done, gds_io_dset_open(io, &io->w2_mean, "/results/w2_mean", 6));
  GDS_CALL_GOTO(ierr, done, gds_io_dset_open(io, &io->w2_cov, "/results/w2_cov", 6));
  GDS_CALL_GOTO(ierr, done, gds_io_dset_open(io, &io->done, "/results/done", 5));
  GDS_CALL_GOTO(ierr, done, gds_io_dset_open(io, &io->wall, "/provenance/wall_time", 5));
  GDS_CALL_GOTO(ierr, done, gds_io_dset_open(io, &io->svar, "/results/sampler_variance", 7));
  GDS_CALL_GOTO(ierr, done, gds_io_dset_open(io, &io->x0, "/problem/x0", 3));
  GDS_CALL_GOTO(ierr, done, gds_io_dset_open(io, &io->pmean, "/problem/posterior_mean", 5));
  GDS_CALL_GOTO(ierr, done, gds_io_dset_open(io, &io->pvar, "/problem/posterior_variance", 4));
  {
    const hsize_t *p = io->w2.dims, HW[2] = {(hsize_t)io->H, (hsize_t)io->W};
    const hsize_t img[7] = {p[0], p[1], p[2], p[3], p[4], HW[0], HW[1]};
    const hsize_t traj[9] = {p[0], p[1], p[2], p[3], p[4], io->traj.dims[5], io->traj.dims[6], HW[0], HW[1]};
    const hsize_t x0[3] = {p[4], HW[0], HW[1]};
    const hsize_t pm[5] = {p[0], p[1], p[4], HW[0], HW[1]};
    const hsize_t pv[4] = {p[0], p[1], HW[0], HW[1]};
    GDS_CALL_GOTO(ierr, done, gds_io_dset_expect(io, &io->w2_mean, 6, p));
    GDS_CALL_GOTO(ierr, done, gds_io_dset_expect(io, &io->w2_cov, 6, p));
    GDS_CALL_GOTO(ierr, done, gds_io_dset_expect(io, &io->done, 5, p));
    GDS_CALL_GOTO(ierr, done, gds_io_dset_expect(io, &io->wall, 5, p));
    GDS_CALL_GOTO(ierr, done, gds_io_dset_expect(io, &io->svar, 7, img));
    GDS_CALL_GOTO(ierr, done, gds_io_dset_expect(io, &io->traj, 9, traj));
    GDS_CALL_GOTO(ierr, done, gds_io_dset_expect(io, &io->x0, 3, x0));
    GDS_CALL_GOTO(ierr, done, gds_io_dset_expect(io, &io->pmean, 5, pm));
    GDS_CALL_GOTO(ierr, done, gds_io_dset_expect(io, &io->pvar, 4, pv));
  }
  GDS_CALL_GOTO(ierr, done, GDS_ALLOC(io->v, io->n[GDS_IO_AXIS_OPERATOR]));
  for (int i = 0; i < io->n[GDS_IO_AXIS_OPERATOR]; i++) io->v[i].id = io->v[i].space = H5I_INVALID_HID;
  for (int i = 0; i < io->n[GDS_IO_AXIS_OPERATOR]; i++) {
    char name[64];
    snprintf(name, sizeof name, "/problem/op%d/v", i);
    GDS_CALL_GOTO(ierr, done, gds_io_dset_open(io, &io->v[i], name, 4));
    const hsize_t want[2] = {io->w2.dims[1], io->w2.dims[4]};
    GDS_CALL_GOTO(ierr, done, gds_io_dset_expect(io, &io->v[i], 2, want));
  }
  GDS_CALL_GOTO(ierr, done, gds_io_read_labels(io));

done:
  gds_io_close_id(&fapl, H5Pclose);
  if (ierr) H5Eclear2(H5E_DEFAULT);
  *out = io;
  return ierr;
}

/* Collective parallel open; every rank gets the worst code. */
static int gds_io_open_parallel(const char *path, MPI_Comm comm, gds_io **out) {
  gds_io *io = NULL;
  int ierr = gds_io_open_file(path, comm, &io);
  ierr = gds_io_agree(comm, ierr);
  if (ierr) {
    gds_io_free(io); /* collective H5Fclose, now on every rank that opened */
    return ierr;
  }
  *out = io;
  return GDS_SUCCESS;
}

/* ------------------------------------------------------------------------------------ */
/* Public: create / open / close                                                        */

int gds_io_create(const char *path, MPI_Comm comm, const gds_sweep *sweep,
                  const gds_schedule *sched, const gds_prior *prior, gds_operator *const *ops,
                  const char *fingerprint, int force, gds_io **out) {
  int rank = 0, size = 1, ierr = GDS_SUCCESS;
  if (!out || !path) GDS_ERROR(GDS_ERR_RUNTIME, "gds_io_create: path and out are required");
  *out = NULL;
  gds_io_h5_quiet();
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  if (rank == 0) ierr = gds_io_build(path, size, sweep, sched, prior, ops, fingerprint, force);
  /* Rank 0 decided (and printed why); the other ranks follow silently. */
  if (MPI_Bcast(&ierr, 1, MPI_INT, 0, comm) != MPI_SUCCESS)
    GDS_ERROR(GDS_ERR_RUNTIME, "MPI_Bcast failed creating '%s'", path);
  if (ierr) return ierr;
  GDS_CALL(gds_io_open_parallel(path, comm, out));
  return GDS_SUCCESS;
}

int gds_io_open_readonly(const char *path, gds_io **out) {
  struct stat st;
  if (!out || !path) GDS_ERROR(GDS_ERR_RUNTIME, "gds_io_open_readonly: path and out are required");
  *out = NULL;
  gds_io_h5_quiet();
  if (stat(path, &st) != 0) GDS_ERROR(GDS_ERR_INPUT, "cannot open '%s': %s", path, strerror(errno));
  if (S_ISDIR(st.st_mode)) GDS_ERROR(GDS_ERR_INPUT, "cannot open '%s': it is a directory", path);
  htri_t is = H5Fis_hdf5(path);
  H5Eclear2(H5E_DEFAULT);
  if (is <= 0) GDS_ERROR(GDS_ERR_INPUT, "'%s' is not an HDF5 file (not a gdsweep output)", path);
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
  int rank = 0, ierr = GDS_SUCCESS;
  if (!out || !path) GDS_ERROR(GDS_ERR_RUNTIME, "gds_io_open_resume: path and out are required");
  *out = NULL;
  gds_io_h5_quiet();
  MPI_Comm_rank(comm, &rank);
  if (rank == 0) {
    /* Decide on rank 0 with a serial open: one message, and no rank opens a wrong file. */
    gds_io *ro = NULL;
    struct stat st;
    if (stat(path, &st) != 0 && errno == ENOENT)
      ierr = gds_error_raise(GDS_ERR_INPUT, __FILE__, __LINE__, __func__,
                             "'%s' does not exist: nothing to resume (run without --resume)", path);
    else
      ierr = gds_io_open_readonly(path, &ro);
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
    if (ro) gds_io_free(ro);
  }
  if (MPI_Bcast(&ierr, 1, MPI_INT, 0, comm) != MPI_SUCCESS)
    GDS_ERROR(GDS_ERR_RUNTIME, "MPI_Bcast failed opening '%s'", path);
  if (ierr) return ierr;
  gds_io *io = NULL;
  GDS_CALL(gds_io_open_parallel(path, comm, &io));

  /* Provenance of the restart (collective metadata writes, flushed at once so that the file
   * on disk is consistent again before any rank starts writing points). */
  int count = 0;
  char empty[GDS_IO_TIMELEN] = "";
  hid_t a = H5Aopen(io->file, "resume_count", H5P_DEFAULT), tstr = H5I_INVALID_HID;
  if (a < 0 || H5Aread(a, H5T_NATIVE_INT, &count) < 0) ierr = GDS_IO_H5FAIL("cannot read attribute resume_count of '%s'", path);
  if (a >= 0) H5Aclose(a);
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
    char now[GDS_IO_TIMELEN] = "";
    if (io->rank == 0) gds_io_now_iso(now);
    /* Attribute writes are collective: every rank must write the same bytes. */
    MPI_Bcast(now, GDS_IO_TIMELEN, MPI_CHAR, 0, io->comm);
    hid_t tstr = H5Tcopy(H5T_C_S1);
    if (tstr < 0 || H5Tset_size(tstr, GDS_IO_TIMELEN) < 0) ierr = GDS_IO_H5FAIL("cannot create string type");
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
  gds_io_free(io); /* everything but the file and the communicator */
  if (file >= 0 && H5Fclose(file) < 0 && !ierr) ierr = GDS_IO_H5FAIL("cannot close the output file");
  if (comm != MPI_COMM_NULL) {
    ierr = gds_io_agree(comm, ierr);
    MPI_Comm_free(&comm);
  }
  return ierr;
}

/* ------------------------------------------------------------------------------------ */
/* Raw data                                                                             */

/* Write buf into ds at the block whose first nlead indices are lead[] (the remaining
 * dimensions whole): one hyperslab, one contiguous range of the file. */
static int gds_io_write_block(gds_io *io, gds_io_dset *ds, int nlead, const hsize_t *lead,
                              hid_t mtype, const void *buf) {
  hsize_t start[GDS_IO_MAXRANK], count[GDS_IO_MAXRANK], nelem = 1;
  if (!io->writable) GDS_ERROR(GDS_ERR_RUNTIME, "'%s' is open read-only: cannot write '%s'", io->path, ds->name);
  if (!buf) GDS_ERROR(GDS_ERR_RUNTIME, "no data given for '%s' in '%s'", ds->name, io->path);
  for (int k = 0; k < ds->rank; k++) {
    if (k < nlead) {
      if (lead[k] >= ds->dims[k])
        GDS_ERROR(GDS_ERR_RUNTIME, "index %lld out of range 0..%lld along dimension %d of '%s' in '%s'",
                  (long long)lead[k], (long long)ds->dims[k] - 1, k, ds->name, io->path);
      start[k] = lead[k];
      count[k] = 1;
    } else {
      start[k] = 0;
      count[k] = ds->dims[k];
      nelem *= ds->dims[k];
    }
  }
  if (nelem == 0) return GDS_SUCCESS;
  GDS_H5(H5Sselect_hyperslab(ds->space, H5S_SELECT_SET, start, NULL, count, NULL),
         "cannot select a block of '%s' in '%s'", ds->name, io->path);
  hid_t mem = H5Screate_simple(1, &nelem, NULL);
  if (mem < 0) return GDS_IO_H5FAIL("cannot create a memory dataspace for '%s'", ds->name);
  herr_t st = H5Dwrite(ds->id, mtype, mem, ds->space, io->dxpl, buf);
  H5Sclose(mem);
  if (st < 0) return GDS_IO_H5FAIL("cannot write '%s' in '%s'", ds->name, io->path);
  return GDS_SUCCESS;
}

static hsize_t gds_io_idx(int i) { return i < 0 ? (hsize_t)-1 : (hsize_t)i; }

int gds_io_write_x0(gds_io *io, int seed, const double *x0) {
  const hsize_t lead[1] = {gds_io_idx(seed)};
  GDS_CALL(gds_io_write_block(io, &io->x0, 1, lead, H5T_NATIVE_DOUBLE, x0));
  return GDS_SUCCESS;
}

int gds_io_write_measurement(gds_io *io, int op, int sigma, int seed, const double *v) {
  if (op < 0 || op >= io->n[GDS_IO_AXIS_OPERATOR])
    GDS_ERROR(GDS_ERR_RUNTIME, "operator index %d out of range writing a measurement in '%s'", op, io->path);
  const hsize_t lead[2] = {gds_io_idx(sigma), gds_io_idx(seed)};
  GDS_CALL(gds_io_write_block(io, &io->v[op], 2, lead, H5T_NATIVE_DOUBLE, v));
  return GDS_SUCCESS;
}

int gds_io_write_posterior(gds_io *io, int op, int sigma, int seed, const double *mean,
                           const double *var) {
  const hsize_t lm[3] = {gds_io_idx(op), gds_io_idx(sigma), gds_io_idx(seed)};
  GDS_CALL(gds_io_write_block(io, &io->pmean, 3, lm, H5T_NATIVE_DOUBLE, mean));
  if (var) GDS_CALL(gds_io_write_block(io, &io->pvar, 2, lm, H5T_NATIVE_DOUBLE, var));
  return GDS_SUCCESS;
}

int gds_io_write_point(gds_io *io, const gds_point *p, const gds_point_result *r) {
  if (!p || !r) GDS_ERROR(GDS_ERR_RUNTIME, "gds_io_write_point: point and result are required");
  const hsize_t lead[5] = {gds_io_idx(p->op), gds_io_idx(p->sigma), gds_io_idx(p->alpha),
                           gds_io_idx(p->alg), gds_io_idx(p->seed)};
  /* Refuse an incomplete result before writing any of it. */
  int has_traj = io->samples > 0 && io->n_ckpt > 0;
  if (!r->w2 || !r->w2_mean || !r->w2_cov || !r->sampler_mean || !r->sampler_variance ||
      (has_traj && !r->trajectories))
    GDS_ERROR(GDS_ERR_RUNTIME, "incomplete point result for '%s' (a curve, image or the "
              "trajectories, with samples = %d, is missing)", io->path, io->samples);
  GDS_CALL(gds_io_write_block(io, &io->w2, 5, lead, H5T_NATIVE_DOUBLE, r->w2));
  GDS_CALL(gds_io_write_block(io, &io->w2_mean, 5, lead, H5T_NATIVE_DOUBLE, r->w2_mean));
  GDS_CALL(gds_io_write_block(io, &io->w2_cov, 5, lead, H5T_NATIVE_DOUBLE, r->w2_cov));
  GDS_CALL(gds_io_write_block(io, &io->smean, 5, lead, H5T_NATIVE_DOUBLE, r->sampler_mean));
  GDS_CALL(gds_io_write_block(io, &io->svar, 5, lead, H5T_NATIVE_DOUBLE, r->sampler_variance));
  if (has_traj)
    GDS_CALL(gds_io_write_block(io, &io->traj, 5, lead, H5T_NATIVE_FLOAT, r->trajectories));
  GDS_CALL(gds_io_write_block(io, &io->wall, 5, lead, H5T_NATIVE_DOUBLE, &r->wall_time));
  /* Last: the flag vouches for everything above (see io.h on why there is no flush). */
  const unsigned char one = 1;
  GDS_CALL(gds_io_write_block(io, &io->done, 5, lead, H5T_NATIVE_UCHAR, &one));
  return GDS_SUCCESS;
}

int gds_io_read_done(gds_io *io, unsigned char *done) {
  if (!io || !done) GDS_ERROR(GDS_ERR_RUNTIME, "gds_io_read_done: io and done are required");
  if (io->npoints == 0) return GDS_SUCCESS;
  GDS_H5(H5Dread(io->done.id, H5T_NATIVE_UCHAR, H5S_ALL, H5S_ALL, io->dxpl, done),
         "cannot read '/results/done' in '%s'", io->path);
  return GDS_SUCCESS;
}

int gds_io_mark_complete(gds_io *io) {
  int ierr = GDS_SUCCESS, missing = 0;
  unsigned char *done = NULL;
  if (!io->writable) GDS_ERROR(GDS_ERR_RUNTIME, "'%s' is open read-only: cannot mark it complete", io->path);
  /* MPI-IO makes other ranks' writes visible after sync + barrier (+ sync by the reader). */
  if (H5Fflush(io->file, H5F_SCOPE_GLOBAL) < 0) ierr = GDS_IO_H5FAIL("cannot flush '%s'", io->path);
  MPI_Barrier(io->comm);
  if (!ierr && H5Fflush(io->file, H5F_SCOPE_GLOBAL) < 0) ierr = GDS_IO_H5FAIL("cannot flush '%s'", io->path);
  if (!ierr && io->rank == 0) {
    ierr = GDS_ALLOC(done, io->npoints);
    if (!ierr) ierr = gds_io_read_done(io, done);
    for (int64_t i = 0; !ierr && i < io->npoints; i++) missing += !done[i];
    if (!ierr && missing)
      ierr = gds_error_raise(GDS_ERR_RUNTIME, __FILE__, __LINE__, __func__,
                             "cannot mark '%s' complete: %d of %lld points are not done", io->path,
                             missing, (long long)io->npoints);
    free(done);
  }
  ierr = gds_io_agree(io->comm, ierr);
  if (ierr) return ierr;
  const int one = 1;
  ierr = gds_io_attr_update(io, "complete", H5T_NATIVE_INT, &one);
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
  for (int k = 0; k < GDS_IO_NAXES; k++) info->n[k] = io->n[k];
  info->npoints = io->npoints;
  info->T = io->T;
  info->H = io->H;
  info->W = io->W;
  info->samples = io->samples;
  info->n_ckpt = io->n_ckpt;
  info->complete = io->complete;
  return GDS_SUCCESS;
}

const char *gds_io_axis_name(int axis) {
  static const char *const names[GDS_IO_NAXES] = {"operator", "sigma", "alpha_dps", "algorithm", "seed"};
  return (axis >= 0 && axis < GDS_IO_NAXES) ? names[axis] : NULL;
}

int gds_io_axis_label(const gds_io *io, int axis, int i, char *buf, size_t len) {
  if (!io || !buf || !len) GDS_ERROR(GDS_ERR_RUNTIME, "gds_io_axis_label: io and buf are required");
  if (axis < 0 || axis >= GDS_IO_NAXES || i < 0 || i >= io->n[axis])
    GDS_ERROR(GDS_ERR_RUNTIME, "gds_io_axis_label: no entry %d on axis %d of '%s'", i, axis, io->path);
  switch (axis) {
  case GDS_IO_AXIS_OPERATOR: snprintf(buf, len, "%s", io->op_name[i]); break;
  case GDS_IO_AXIS_SIGMA: gds_format_double(io->sigma[i], buf, (int)len); break;
  case GDS_IO_AXIS_ALPHA: gds_format_double(io->alpha[i], buf, (int)len); break;
  case GDS_IO_AXIS_ALGORITHM: snprintf(buf, len, "%s", io->alg_name[i]); break;
  default: snprintf(buf, len, "%lld", (long long)io->seed[i]); break;
  }
  return GDS_SUCCESS;
}

const char *gds_io_fingerprint(const gds_io *io) { return io ? io->fingerprint : NULL; }
