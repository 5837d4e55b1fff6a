/* Tests of the HDF5 output file, format 2 (src/io.c, SPEC §5, §7.8). Files are written through
 * the io API and read back with plain HDF5 calls (not the io read API), so layout mistakes
 * cannot cancel out. The sweep is built by hand with several values on every one of the nine
 * axes (the sweep parser may still give the new axes one default value). Multi-rank behaviour
 * (independent writes from two ranks, a job killed in the middle) is exercised by re-running
 * this binary under `mpirun -n 2` before MPI_Init; those tests are skipped when mpirun is not
 * available. Under the ASan build run with ASAN_OPTIONS=detect_leaks=0: Open MPI's own
 * allocations at exit are reported as leaks (none of the reports point into gdsweep code). */
#define _GNU_SOURCE /* F_OFD_SETLK */
#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <hdf5_hl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mpi.h>

#include "gdsweep/error.h"
#include "gdsweep/io.h"
#include "gdsweep/rng.h"
#include "gdsweep/sampler.h"
#include "testutil.h"

/* axis sizes: operator, sigma, alpha, algorithm, scheme, sampler_steps, eps, init, seed */
enum { NOP = 2, NS = 2, NA = 2, NG = 2, NSC = 2, NST = 2, NEP = 1, NIN = 2, NE = 3 };
enum { T = 5, H = 3, W = 4, D = H * W, NCK = 2, NT = T + 1 };
#define NROWS (NOP * NS * NA * NG * NSC * NST * NEP * NIN) /* points of all but the seed axis */
#define NPTS (NROWS * NE)
#define FP "fp-0123456789abcdef"
/* seed blocks [0, 2) and [2, 3) */
static const int blk0[2] = {0, 2}, blkn[2] = {2, 1};

/* ------------------------------------------------------------------------------------ */
/* A tiny sweep built by hand (the sweep/prior/operator modules are not needed).           */

typedef struct fixture {
  gds_sweep s;
  gds_schedule sc;
  gds_prior pr;
  gds_operator op[NOP];
  gds_operator *ops[NOP];
  double sigma[NS], alpha[NA];
  gds_algorithm_spec alg[NG];
  gds_scheme_spec scheme[NSC];
  int steps[3];
  double eps[2];
  gds_init init[NIN];
  int64_t seed[NE];
  int ckpt[NCK], w2t[3];
  double beta[T + 1], alph[T + 1], abar[T + 1], sigma2[T + 1];
  double texture[D], spectrum[D], kernel[D];
  unsigned char mask[D];
} fixture;

static const char *config_text = "name: io-test\nprior: {texture: builtin:checker, size: [3, 4]}\n"
                                 "diffusion: {steps: 5, beta_start: 0.1, beta_end: 0.5}\n";

static void fixture_init(fixture *f, int samples, const char *text) {
  memset(f, 0, sizeof *f);
  gds_sweep *s = &f->s;
  s->path = "io-test.yaml";
  s->text = (char *)text;
  s->text_len = strlen(text);
  snprintf(s->name, sizeof s->name, "io-test");
  s->prior.H = H;
  s->prior.W = W;
  s->process = GDS_PROCESS_DDPM;
  s->T = T;
  s->beta_start = 0.1;
  s->beta_end = 0.5;
  s->n_op = NOP, s->n_sigma = NS, s->n_alpha = NA, s->n_alg = NG, s->n_scheme = NSC, s->n_steps = NST;
  s->n_eps = NEP, s->n_init = NIN, s->n_seed = NE;
  f->sigma[0] = 0.01, f->sigma[1] = 0.05;
  f->alpha[0] = 0.5, f->alpha[1] = 1.0;
  f->alg[0] = (gds_algorithm_spec){.kind = GDS_ALG_DPS};
  f->alg[1] = (gds_algorithm_spec){.kind = GDS_ALG_DDRM, .eta = 0.85, .eta_b = 1};
  f->scheme[0] = (gds_scheme_spec){GDS_SCHEME_DDPM, 0};
  f->scheme[1] = (gds_scheme_spec){GDS_SCHEME_DDIM, 0.5};
  f->steps[0] = T, f->steps[1] = 2;
  f->eps[0] = 0;
  f->init[0] = GDS_INIT_NORMAL, f->init[1] = GDS_INIT_EXACT;
  f->seed[0] = 0, f->seed[1] = 7, f->seed[2] = 9;
  s->sigma = f->sigma, s->alpha_dps = f->alpha, s->alg = f->alg, s->scheme = f->scheme;
  s->steps = f->steps, s->eps = f->eps, s->init = f->init, s->seed = f->seed;
  s->samples = samples;
  f->ckpt[0] = T, f->ckpt[1] = 0;
  s->n_ckpt = NCK;
  s->ckpt = f->ckpt;
  f->w2t[0] = 0, f->w2t[1] = 2, f->w2t[2] = 5;
  s->n_w2t = 3;
  s->w2_times = f->w2t;

  gds_schedule *sc = &f->sc;
  sc->T = T;
  sc->beta_start = 0.1;
  sc->beta_end = 0.5;
  sc->beta = f->beta, sc->alpha = f->alph, sc->alpha_bar = f->abar, sc->sigma2 = f->sigma2;
  f->alph[0] = f->abar[0] = 1;
  for (int t = 1; t <= T; t++) {
    f->beta[t] = 0.1 + 0.1 * (t - 1);
    f->alph[t] = 1 - f->beta[t];
    f->abar[t] = f->abar[t - 1] * f->alph[t];
    f->sigma2[t] = t == 1 ? 0 : f->beta[t];
  }

  gds_prior *pr = &f->pr;
  pr->H = H, pr->W = W, pr->mean = 0.4;
  pr->texture = f->texture, pr->spectrum = f->spectrum;
  snprintf(pr->name, sizeof pr->name, "builtin:checker");
  for (int i = 0; i < D; i++) {
    f->texture[i] = 0.4 + 0.01 * i;
    f->spectrum[i] = i == 0 ? 0 : 1.0 / i;
    f->kernel[i] = (i + 1) / 78.0;
    f->mask[i] = i % W != 0;
  }

  /* op0: a convolution (kernel), op1: inpainting (mask, 9 measurements as a 1x9 row) */
  gds_operator *o = &f->op[0];
  o->spec.type = GDS_OP_GAUSSIAN_BLUR, o->spec.std = 0.8;
  o->H = H, o->W = W, o->d = D, o->mh = H, o->mw = W, o->m = D;
  o->kernel = f->kernel;
  snprintf(o->name, sizeof o->name, "gaussian_blur(std=0.8)");
  o = &f->op[1];
  o->spec.type = GDS_OP_INPAINTING, o->spec.mask = GDS_MASK_BOX;
  o->H = H, o->W = W, o->d = D, o->mh = 1, o->mw = 9, o->m = 9;
  o->mask = f->mask;
  snprintf(o->name, sizeof o->name, "inpainting(mask=box,box=[0,0,3,1])");
  for (int i = 0; i < NOP; i++) f->ops[i] = &f->op[i];
  s->op = NULL; /* io uses the created operators only */
}

static int fixture_create(fixture *f, const char *path, const char *fp, int force, gds_io **io) {
  gds_io_create_options o = {.force = force};
  return gds_io_create(path, MPI_COMM_WORLD, &f->s, &f->sc, &f->pr, f->ops, fp, &o, io);
}

/* ------------------------------------------------------------------------------------ */
/* Known values and which of them a scenario writes                                      */

static double val_w2(int64_t i, int t) { return (double)i + 0.01 * t; }
static double val_w2m(int64_t i, int t) { return -(double)i - 0.01 * t; }
static double val_w2c(int64_t i, int t) { return 2.0 * i + t; }
static double val_fin(int64_t i, int k) { return 1e4 * k + 0.25 * i; }
static double val_smean(int64_t i, int k) { return 100.0 * i + k; }
static double val_svar(int64_t i, int k) { return 100.0 * i - k; }
static float val_traj(int64_t i, int k) { return (float)(1000 * i + k); }
static double val_wall(int64_t i) { return (double)i + 0.5; }
static double val_x0(int e, int k) { return 100.0 * e + k + 0.5; }
static double val_v(int op, int s, int e, int j) { return 1000.0 * op + 100 * s + 10 * e + 0.01 * j; }
static double val_pm(int op, int s, int e, int k) { return 2000 + op * 100 + s * 10 + e + 0.001 * k; }
static double val_pv(int op, int s, int k) { return 3000 + op * 10 + s + 0.001 * k; }

typedef enum { PLAN_PARTIAL = 0, PLAN_ALL, PLAN_HALF } plan_t;
/* row = flat index over the first eight axes; b = seed block */
static int plan_block(plan_t p, int row, int b) {
  return p == PLAN_ALL || (p == PLAN_PARTIAL && (row + b) % 3 != 1) || (p == PLAN_HALF && row < NROWS / 2);
}
static int plan_point(plan_t p, int64_t i) { return plan_block(p, (int)(i / NE), i % NE >= 2); }
static int plan_problem(plan_t p, int op, int s, int b) { return p != PLAN_PARTIAL || !(op == 1 && s == 1 && b == 1); }

static void row_index(int row, int idx[GDS_IO_NAXES]) {
  const int n[8] = {NOP, NS, NA, NG, NSC, NST, NEP, NIN};
  for (int a = 7; a >= 0; a--) {
    idx[a] = row % n[a];
    row /= n[a];
  }
}

/* Write what the plan says; item k goes to rank k % size, and each rank writes the done
 * flags of its own blocks (in one call). Returns the first error. */
static int write_plan(gds_io *io, plan_t plan, int rank, int size, int samples) {
  int ierr, k = 0;
  double x0[2 * D], v[2 * D], pm[2 * D], pv[D];
  for (int op = 0; op < NOP; op++)
    for (int s = 0; s < NS; s++)
      for (int b = 0; b < 2; b++, k++) {
        if (!plan_problem(plan, op, s, b) || k % size != rank) continue;
        int m = op == 0 ? D : 9;
        for (int e = 0; e < blkn[b]; e++) {
          int se = blk0[b] + e;
          for (int j = 0; j < D; j++) x0[e * D + j] = val_x0(se, j), pm[e * D + j] = val_pm(op, s, se, j);
          for (int j = 0; j < m; j++) v[e * m + j] = val_v(op, s, se, j);
        }
        for (int j = 0; j < D; j++) pv[j] = val_pv(op, s, j);
        if ((ierr = gds_io_write_x0(io, blk0[b], blkn[b], x0))) return ierr;
        if ((ierr = gds_io_write_measurement(io, op, s, blk0[b], blkn[b], v))) return ierr;
        if ((ierr = gds_io_write_posterior(io, op, s, blk0[b], blkn[b], pm, b == 0 ? pv : NULL))) return ierr;
      }
  static double w2[2 * NT], w2m[2 * NT], w2c[2 * NT], f0[2], f1[2], f2[2], sm[2 * D], sv[2 * D];
  static float tr[2 * 2 * NCK * D];
  static int64_t first[2 * NROWS], count[2 * NROWS];
  static unsigned char done[NPTS];
  static double wall[NPTS];
  int nrun = 0, nd = 0;
  for (int row = 0; row < NROWS; row++)
    for (int b = 0; b < 2; b++, k++) {
      if (!plan_block(plan, row, b) || k % size != rank) continue;
      gds_io_block blk = {.nseed = blkn[b]};
      row_index(row, blk.idx);
      blk.idx[GDS_IO_AXIS_SEED] = blk0[b];
      const int64_t p0 = (int64_t)row * NE + blk0[b];
      for (int e = 0; e < blkn[b]; e++) {
        const int64_t i = p0 + e;
        for (int t = 0; t < NT; t++) w2[e * NT + t] = val_w2(i, t), w2m[e * NT + t] = val_w2m(i, t), w2c[e * NT + t] = val_w2c(i, t);
        f0[e] = val_fin(i, 0), f1[e] = val_fin(i, 1), f2[e] = val_fin(i, 2);
        for (int j = 0; j < D; j++) sm[e * D + j] = val_smean(i, j), sv[e * D + j] = val_svar(i, j);
        for (int j = 0; j < samples * NCK * D; j++) tr[e * samples * NCK * D + j] = val_traj(i, j);
        done[nd] = 1;
        wall[nd++] = val_wall(i);
      }
      gds_io_block_result r = {w2, w2m, w2c, f0, f1, f2, sm, sv, samples ? tr : NULL};
      if ((ierr = gds_io_write_block(io, &blk, &r))) return ierr;
      if (nrun && first[nrun - 1] + count[nrun - 1] == p0) count[nrun - 1] += blkn[b];
      else first[nrun] = p0, count[nrun++] = blkn[b];
    }
  return gds_io_write_done(io, nrun, first, count, done, wall);
}

/* ------------------------------------------------------------------------------------ */
/* Plain-HDF5 readers                                                                    */

/* Read a whole dataset as mtype after checking its file type and shape. */
static void *read_dset(hid_t f, const char *name, hid_t ftype, int rank, const hsize_t *dims, hid_t mtype) {
  hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
  if (d < 0) fail_msg("dataset %s missing", name);
  hid_t t = H5Dget_type(d), sp = H5Dget_space(d);
  if (H5Tequal(t, ftype) <= 0) fail_msg("dataset %s has the wrong type", name);
  hsize_t got[16];
  int r = H5Sget_simple_extent_dims(sp, got, NULL);
  if (r != rank) fail_msg("dataset %s has rank %d, expected %d", name, r, rank);
  size_t n = 1;
  for (int k = 0; k < r; k++) {
    if (got[k] != dims[k])
      fail_msg("dataset %s dim %d is %llu, expected %llu", name, k, (unsigned long long)got[k], (unsigned long long)dims[k]);
    n *= dims[k];
  }
  void *buf = calloc(n ? n : 1, H5Tget_size(mtype));
  assert_non_null(buf);
  if (n) assert_true(H5Dread(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0);
  H5Tclose(t);
  H5Sclose(sp);
  H5Dclose(d);
  return buf;
}
static double *read_f64(hid_t f, const char *name, int rank, const hsize_t *dims) {
  return read_dset(f, name, H5T_IEEE_F64LE, rank, dims, H5T_NATIVE_DOUBLE);
}

static void check_value(double got, double want, int written, const char *what, long long i) {
  /* Unwritten entries are not pre-filled: nothing is promised about them. */
  if (written && !(got == want || (isnan(got) && isnan(want))))
    fail_msg("%s[%lld] = %.17g, expected %.17g", what, i, got, want);
}

/* Every dimension of `name` labelled by the given /grid scale (NULL = unlabelled). */
static void check_scales(hid_t f, const char *name, int rank, const char *const *scales) {
  hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
  if (d < 0) fail_msg("dataset %s missing", name);
  for (int k = 0; k < rank; k++) {
    if (!scales[k]) continue;
    hid_t s = H5Dopen2(f, scales[k], H5P_DEFAULT);
    if (s < 0) fail_msg("scale %s missing", scales[k]);
    assert_true(H5DSis_scale(s) > 0);
    if (H5DSis_attached(d, s, (unsigned)k) <= 0) fail_msg("scale %s not attached to dimension %d of %s", scales[k], k, name);
    char label[64] = "";
    H5DSget_label(d, (unsigned)k, label, sizeof label);
    if (strcmp(label, strrchr(scales[k], '/') + 1))
      fail_msg("dimension %d of %s is labelled '%s', expected the scale's name", k, name, label);
    H5Dclose(s);
  }
  assert_true(H5Aexists(d, "description") > 0);
  H5Dclose(d);
}

static char *read_str_attr(hid_t obj, const char *name) {
  hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
  if (a < 0) fail_msg("attribute %s missing", name);
  hid_t t = H5Aget_type(a);
  assert_int_equal(H5Tget_class(t), H5T_STRING);
  assert_false(H5Tis_variable_str(t) > 0); /* attributes are fixed-length */
  size_t n = H5Tget_size(t);
  char *buf = calloc(n + 1, 1);
  assert_true(H5Aread(a, t, buf) >= 0);
  H5Tclose(t);
  H5Aclose(a);
  return buf;
}
/* Replace a root string attribute of a closed file (what another build would have written). */
static void set_str_attr(const char *path, const char *name, const char *value) {
  hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
  if (f < 0) fail_msg("cannot open %s", path);
  if (H5Aexists(f, name) > 0) assert_true(H5Adelete(f, name) >= 0);
  hid_t t = H5Tcopy(H5T_C_S1), sp = H5Screate(H5S_SCALAR);
  H5Tset_size(t, strlen(value) + 1);
  hid_t a = H5Acreate2(f, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
  assert_true(a >= 0 && H5Awrite(a, t, value) >= 0);
  H5Aclose(a);
  H5Sclose(sp);
  H5Tclose(t);
  H5Fclose(f);
}
static int read_int_attr(hid_t obj, const char *name) {
  int v = -1;
  hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
  if (a < 0) fail_msg("attribute %s missing", name);
  assert_true(H5Aread(a, H5T_NATIVE_INT, &v) >= 0);
  H5Aclose(a);
  return v;
}

static void check_vlstrings(hid_t f, const char *name, int n, const char *const *want) {
  hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
  if (d < 0) fail_msg("dataset %s missing", name);
  hid_t ft = H5Dget_type(d), sp = H5Dget_space(d);
  assert_int_equal(H5Tget_class(ft), H5T_STRING);
  assert_true(H5Tis_variable_str(ft) > 0);
  assert_int_equal(H5Sget_simple_extent_npoints(sp), n);
  hid_t mt = H5Tcopy(H5T_C_S1);
  H5Tset_size(mt, H5T_VARIABLE);
  char *got[8] = {0};
  assert_true(H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, got) >= 0);
  for (int i = 0; i < n; i++)
    if (strcmp(got[i], want[i])) fail_msg("%s[%d] = '%s', expected '%s'", name, i, got[i], want[i]);
  H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, got);
  H5Tclose(mt);
  H5Tclose(ft);
  H5Sclose(sp);
  H5Dclose(d);
}

#define GRID9 "/grid/operator", "/grid/sigma", "/grid/alpha_dps", "/grid/algorithm", "/grid/scheme", \
              "/grid/sampler_steps", "/grid/eps", "/grid/init", "/grid/seed"

/* The whole file against the fixture and the plan. */
static void verify_file(const char *path, const fixture *fx, plan_t plan, int complete) {
  const gds_sweep *s = &fx->s;
  int S = s->samples;
  hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f < 0) fail_msg("cannot open %s with plain HDF5", path);

  /* root attributes */
  static const char *const str_attrs[] = {"description", "process", "name", "config", "fingerprint", "version",
                                          "git_revision", "compiler", "mpi_library_version", "hdf5_version",
                                          "fftw_version", "host", "start_time", "end_time", "rng", "sampler_noise"};
  for (size_t k = 0; k < sizeof str_attrs / sizeof *str_attrs; k++) {
    char *v = read_str_attr(f, str_attrs[k]);
    if (strcmp(str_attrs[k], "end_time") && strcmp(str_attrs[k], "host"))
      if (!v[0]) fail_msg("root attribute %s is empty", str_attrs[k]);
    if (!strcmp(str_attrs[k], "config")) assert_string_equal(v, s->text);
    if (!strcmp(str_attrs[k], "fingerprint")) assert_string_equal(v, FP);
    if (!strcmp(str_attrs[k], "process")) assert_string_equal(v, "ddpm");
    /* the generator and the trajectories' noise basis (issue 11): the running build's */
    if (!strcmp(str_attrs[k], "rng")) assert_string_equal(v, gds_rng_description());
    if (!strcmp(str_attrs[k], "sampler_noise")) assert_string_equal(v, gds_sampler_noise_description());
    if (!strcmp(str_attrs[k], "start_time")) assert_int_equal(strlen(v), 20); /* ...Z */
    /* end_time is written by close: empty in a file whose job was killed (complete < 0) */
    if (!strcmp(str_attrs[k], "end_time")) assert_int_equal(strlen(v), complete >= 0 ? 20 : 0);
    free(v);
  }
  assert_int_equal(read_int_attr(f, "gdsweep_format"), 2);
  assert_true(read_int_attr(f, "ranks") >= 1);
  assert_int_equal(read_int_attr(f, "complete"), complete > 0);

  /* grid: nine axes and the others, dimension scales, root aliases of the same objects */
  const char *const opn[] = {fx->op[0].name, fx->op[1].name}, *const algn[] = {"dps", "ddrm(eta=0.85,eta_b=1)"};
  const char *const schn[] = {"ddpm", "ddim(eta=0.5)"}, *const initn[] = {"normal", "exact"};
  check_vlstrings(f, "/grid/operator", NOP, opn);
  check_vlstrings(f, "/grid/algorithm", NG, algn);
  check_vlstrings(f, "/grid/scheme", NSC, schn);
  check_vlstrings(f, "/grid/init", NIN, initn);
  static const char *const axes[] = {"operator", "sigma", "alpha_dps", "algorithm", "scheme", "sampler_steps", "eps",
                                     "init", "seed", "t", "checkpoint", "sample", "row", "col"};
  for (size_t k = 0; k < sizeof axes / sizeof *axes; k++) {
    char p[64], alias[64];
    snprintf(p, sizeof p, "/grid/%s", axes[k]);
    snprintf(alias, sizeof alias, "/%s", axes[k]);
    hid_t d = H5Dopen2(f, p, H5P_DEFAULT), a = H5Dopen2(f, alias, H5P_DEFAULT);
    if (d < 0 || a < 0) fail_msg("%s or its alias %s missing", p, alias);
    assert_true(H5DSis_scale(d) > 0);
    char label[64] = "";
    assert_true(H5DSget_scale_name(d, label, sizeof label) > 0);
    assert_string_equal(label, axes[k]);
    H5O_info_t i1, i2;
    H5Oget_info2(d, &i1, H5O_INFO_BASIC);
    H5Oget_info2(a, &i2, H5O_INFO_BASIC);
    assert_true(i1.addr == i2.addr); /* the same object */
    assert_true(H5Aexists(d, "description") > 0);
    H5Dclose(d);
    H5Dclose(a);
  }
  assert_false(H5Lexists(f, "/grid/k", H5P_DEFAULT) > 0); /* discrete process: t, not k */
  assert_false(H5Lexists(f, "/results/time", H5P_DEFAULT) > 0);
  hsize_t n1;
  n1 = NS;
  double *g = read_f64(f, "/grid/sigma", 1, &n1);
  assert_true(g[0] == 0.01 && g[1] == 0.05);
  free(g);
  n1 = NA;
  g = read_f64(f, "/grid/alpha_dps", 1, &n1);
  assert_true(g[0] == 0.5 && g[1] == 1.0);
  free(g);
  n1 = NEP;
  g = read_f64(f, "/grid/eps", 1, &n1);
  assert_true(g[0] == 0);
  free(g);
  n1 = NST;
  int *ints = read_dset(f, "/grid/sampler_steps", H5T_STD_I32LE, 1, &n1, H5T_NATIVE_INT);
  assert_true(ints[0] == T && ints[1] == 2);
  free(ints);
  n1 = NE;
  int64_t *seeds = read_dset(f, "/grid/seed", H5T_STD_I64LE, 1, &n1, H5T_NATIVE_INT64);
  assert_true(seeds[0] == 0 && seeds[1] == 7 && seeds[2] == 9);
  free(seeds);
  n1 = NT;
  ints = read_dset(f, "/grid/t", H5T_STD_I32LE, 1, &n1, H5T_NATIVE_INT);
  for (int t = 0; t <= T; t++) assert_int_equal(ints[t], t);
  free(ints);
  unsigned char *comp = read_dset(f, "/grid/w2_computed", H5T_STD_U8LE, 1, &n1, H5T_NATIVE_UCHAR);
  for (int t = 0; t <= T; t++) assert_int_equal(comp[t], t == 0 || t == 2 || t == 5);
  free(comp);
  n1 = NCK;
  ints = read_dset(f, "/grid/checkpoint", H5T_STD_I32LE, 1, &n1, H5T_NATIVE_INT);
  assert_true(ints[0] == T && ints[1] == 0);
  free(ints);
  n1 = (hsize_t)S;
  ints = read_dset(f, "/grid/sample", H5T_STD_I32LE, 1, &n1, H5T_NATIVE_INT);
  for (int k = 0; k < S; k++) assert_int_equal(ints[k], k);
  free(ints);
  n1 = W;
  ints = read_dset(f, "/grid/col", H5T_STD_I32LE, 1, &n1, H5T_NATIVE_INT);
  for (int k = 0; k < W; k++) assert_int_equal(ints[k], k);
  free(ints);
  const char *const tsc[] = {"/grid/t"};
  check_scales(f, "/grid/w2_computed", 1, tsc);

  /* schedule, prior */
  n1 = NT;
  g = read_f64(f, "/schedule/beta", 1, &n1);
  for (int t = 0; t <= T; t++) assert_true(g[t] == fx->beta[t]);
  free(g);
  g = read_f64(f, "/schedule/alpha_bar", 1, &n1);
  for (int t = 0; t <= T; t++) assert_true(g[t] == fx->abar[t]);
  free(g);
  check_scales(f, "/schedule/beta", 1, tsc);
  check_scales(f, "/schedule/alpha_bar", 1, tsc);
  hsize_t hw[2] = {H, W};
  const char *const rc[] = {"/grid/row", "/grid/col"};
  g = read_f64(f, "/prior/texture", 2, hw);
  for (int k = 0; k < D; k++) assert_true(g[k] == fx->texture[k]);
  free(g);
  g = read_f64(f, "/prior/spectrum", 2, hw);
  for (int k = 0; k < D; k++) assert_true(g[k] == fx->spectrum[k]);
  free(g);
  check_scales(f, "/prior/texture", 2, rc);
  check_scales(f, "/prior/spectrum", 2, rc);
  hid_t d = H5Dopen2(f, "/prior/spectrum", H5P_DEFAULT);
  double mean = 0;
  hid_t a = H5Aopen(d, "mean", H5P_DEFAULT);
  assert_true(a >= 0 && H5Aread(a, H5T_NATIVE_DOUBLE, &mean) >= 0);
  assert_true(mean == 0.4);
  H5Aclose(a);
  char *str = read_str_attr(d, "name");
  assert_string_equal(str, "builtin:checker");
  free(str);
  H5Dclose(d);

  /* problem */
  hsize_t x0d[3] = {NE, H, W};
  g = read_f64(f, "/problem/x0", 3, x0d);
  for (int e = 0; e < NE; e++) {
    int b = e >= 2, any = 0;
    for (int op = 0; op < NOP; op++)
      for (int s2 = 0; s2 < NS; s2++) any |= plan_problem(plan, op, s2, b);
    for (int k = 0; k < D; k++) check_value(g[e * D + k], val_x0(e, k), any, "x0", e * D + k);
  }
  free(g);
  const char *const x0s[] = {"/grid/seed", "/grid/row", "/grid/col"};
  check_scales(f, "/problem/x0", 3, x0s);
  hsize_t pmd[5] = {NOP, NS, NE, H, W}, pvd[4] = {NOP, NS, H, W};
  double *pm = read_f64(f, "/problem/posterior_mean", 5, pmd);
  double *pv = read_f64(f, "/problem/posterior_variance", 4, pvd);
  for (int op = 0; op < NOP; op++) {
    char name[64];
    snprintf(name, sizeof name, "/problem/op%d", op);
    hid_t grp = H5Gopen2(f, name, H5P_DEFAULT);
    assert_true(grp >= 0);
    str = read_str_attr(grp, "name");
    assert_string_equal(str, fx->op[op].name);
    free(str);
    str = read_str_attr(grp, "parameters");
    assert_string_equal(str, op == 0 ? "std=0.8" : "mask=box,box=[0,0,3,1]");
    free(str);
    str = read_str_attr(grp, "type");
    assert_string_equal(str, op == 0 ? "gaussian_blur" : "inpainting");
    free(str);
    H5Gclose(grp);
    int m = op == 0 ? D : 9;
    hsize_t vd[4] = {NS, NE, (hsize_t)fx->op[op].mh, (hsize_t)fx->op[op].mw};
    snprintf(name, sizeof name, "/problem/op%d/v", op);
    g = read_f64(f, name, 4, vd);
    for (int sg = 0; sg < NS; sg++)
      for (int e = 0; e < NE; e++)
        for (int j = 0; j < m; j++)
          check_value(g[(sg * NE + e) * m + j], val_v(op, sg, e, j), plan_problem(plan, op, sg, e >= 2), name, j);
    free(g);
    /* op1's 1x9 measurement has scales of its own */
    const char *const vs[] = {"/grid/sigma", "/grid/seed", op == 0 ? "/grid/row" : "/problem/op1/v_row",
                              op == 0 ? "/grid/col" : "/problem/op1/v_col"};
    check_scales(f, name, 4, vs);
    snprintf(name, sizeof name, "/problem/op%d/kernel", op);
    assert_int_equal(H5Lexists(f, name, H5P_DEFAULT) > 0, op == 0);
    snprintf(name, sizeof name, "/problem/op%d/mask", op);
    assert_int_equal(H5Lexists(f, name, H5P_DEFAULT) > 0, op == 1);
    for (int sg = 0; sg < NS; sg++) {
      for (int e = 0; e < NE; e++)
        for (int k = 0; k < D; k++)
          check_value(pm[((op * NS + sg) * NE + e) * D + k], val_pm(op, sg, e, k), plan_problem(plan, op, sg, e >= 2),
                      "posterior_mean", k);
      for (int k = 0; k < D; k++)
        check_value(pv[(op * NS + sg) * D + k], val_pv(op, sg, k), plan_problem(plan, op, sg, 0), "posterior_variance", k);
    }
  }
  free(pm);
  free(pv);
  g = read_f64(f, "/problem/op0/kernel", 2, hw);
  for (int k = 0; k < D; k++) assert_true(g[k] == fx->kernel[k]);
  free(g);
  unsigned char *mask = read_dset(f, "/problem/op1/mask", H5T_STD_U8LE, 2, hw, H5T_NATIVE_UCHAR);
  assert_memory_equal(mask, fx->mask, D);
  free(mask);
  check_scales(f, "/problem/op0/kernel", 2, rc);
  check_scales(f, "/problem/op1/mask", 2, rc);
  const char *const pms[] = {"/grid/operator", "/grid/sigma", "/grid/seed", "/grid/row", "/grid/col"};
  check_scales(f, "/problem/posterior_mean", 5, pms);
  const char *const pvs[] = {"/grid/operator", "/grid/sigma", "/grid/row", "/grid/col"};
  check_scales(f, "/problem/posterior_variance", 4, pvs);

  /* results: every per-point dataset over the nine axes */
  hsize_t cd[10] = {NOP, NS, NA, NG, NSC, NST, NEP, NIN, NE, NT};
  double *w2 = read_f64(f, "/results/w2", 10, cd), *w2m = read_f64(f, "/results/w2_mean", 10, cd),
         *w2c = read_f64(f, "/results/w2_cov", 10, cd), *wall = read_f64(f, "/provenance/wall_time", 9, cd);
  double *fin[3] = {read_f64(f, "/results/w2_final", 9, cd), read_f64(f, "/results/w2_final_mean", 9, cd),
                    read_f64(f, "/results/w2_final_cov", 9, cd)};
  unsigned char *done = read_dset(f, "/results/done", H5T_STD_U8LE, 9, cd, H5T_NATIVE_UCHAR);
  hsize_t id[11] = {NOP, NS, NA, NG, NSC, NST, NEP, NIN, NE, H, W};
  double *sm = read_f64(f, "/results/sampler_mean", 11, id), *sv = read_f64(f, "/results/sampler_variance", 11, id);
  hsize_t td[13] = {NOP, NS, NA, NG, NSC, NST, NEP, NIN, NE, (hsize_t)S, NCK, H, W};
  float *tr = read_dset(f, "/results/trajectories", H5T_IEEE_F32LE, 13, td, H5T_NATIVE_FLOAT);
  int per = S * NCK * D;
  for (int64_t i = 0; i < NPTS; i++) {
    int wr = plan_point(plan, i);
    if (done[i] != wr) fail_msg("done[%lld] = %d, expected %d", (long long)i, done[i], wr);
    for (int t = 0; t <= T; t++) {
      check_value(w2[i * NT + t], val_w2(i, t), wr, "w2", i);
      check_value(w2m[i * NT + t], val_w2m(i, t), wr, "w2_mean", i);
      check_value(w2c[i * NT + t], val_w2c(i, t), wr, "w2_cov", i);
    }
    for (int k = 0; k < 3; k++) check_value(fin[k][i], val_fin(i, k), wr, "w2_final*", i);
    for (int k = 0; k < D; k++) {
      check_value(sm[i * D + k], val_smean(i, k), wr, "sampler_mean", i);
      check_value(sv[i * D + k], val_svar(i, k), wr, "sampler_variance", i);
    }
    check_value(wall[i], val_wall(i), wr, "wall_time", i);
    for (int k = 0; wr && k < per; k++)
      if (tr[i * per + k] != val_traj(i, k)) fail_msg("trajectories[%lld][%d] wrong", (long long)i, k);
  }
  free(w2), free(w2m), free(w2c), free(wall), free(done), free(sm), free(sv), free(tr);
  for (int k = 0; k < 3; k++) free(fin[k]);
  const char *const cs[] = {GRID9, "/grid/t"};
  for (int k = 0; k < 3; k++) {
    static const char *const names[3] = {"/results/w2", "/results/w2_mean", "/results/w2_cov"};
    check_scales(f, names[k], 10, cs);
  }
  static const char *const pointwise[] = {"/results/done", "/results/w2_final", "/results/w2_final_mean",
                                          "/results/w2_final_cov", "/provenance/wall_time"};
  for (size_t k = 0; k < sizeof pointwise / sizeof *pointwise; k++) check_scales(f, pointwise[k], 9, cs);
  const char *const is[] = {GRID9, "/grid/row", "/grid/col"};
  check_scales(f, "/results/sampler_mean", 11, is);
  check_scales(f, "/results/sampler_variance", 11, is);
  const char *const ts[] = {GRID9, "/grid/sample", "/grid/checkpoint", "/grid/row", "/grid/col"};
  check_scales(f, "/results/trajectories", 13, ts);

  /* creation properties: contiguous, allocated, not pre-filled (done only: zeros) */
  d = H5Dopen2(f, "/results/w2", H5P_DEFAULT);
  hid_t dcpl = H5Dget_create_plist(d);
  H5D_fill_time_t ft;
  assert_true(H5Pget_fill_time(dcpl, &ft) >= 0);
  assert_int_equal(ft, H5D_FILL_TIME_NEVER);
  assert_int_equal(H5Pget_layout(dcpl), H5D_CONTIGUOUS);
  H5Pclose(dcpl);
  H5Dclose(d);
  assert_true(H5Fclose(f) >= 0);
}

static int have_tool(const char *path) { return access(path, X_OK) == 0; }

/* A user must be able to inspect the file with the standard tools. */
static void check_tools(const char *path) {
  char cmd[1024];
  if (have_tool("/usr/bin/ncdump")) {
    snprintf(cmd, sizeof cmd, "ncdump -h '%s' > /dev/null", path);
    assert_int_equal(system(cmd), 0);
    /* the data too: string coordinates are variable-length for netCDF's sake */
    snprintf(cmd, sizeof cmd, "ncdump '%s' > /dev/null", path);
    assert_int_equal(system(cmd), 0);
  }
  if (have_tool("/usr/bin/h5dump")) {
    snprintf(cmd, sizeof cmd, "h5dump -H '%s' > /dev/null", path);
    assert_int_equal(system(cmd), 0);
  }
}

static char *temp_path(const char *tag) {
  char *p = malloc(256);
  snprintf(p, 256, "/tmp/gds_test_io_%d_%s.h5", (int)getpid(), tag);
  unlink(p);
  return p;
}
static char *tmp_twin(const char *path) { /* DIR/.BASE.gdsweep-tmp */
  char *t = malloc(512);
  const char *slash = strrchr(path, '/');
  snprintf(t, 512, "%.*s.%s.gdsweep-tmp", (int)(slash - path + 1), path, slash + 1);
  return t;
}

static unsigned char *slurp(const char *path, size_t *n) {
  FILE *fp = fopen(path, "rb");
  if (!fp) return NULL;
  fseek(fp, 0, SEEK_END);
  long len = ftell(fp);
  fseek(fp, 0, SEEK_SET);
  unsigned char *buf = malloc(len > 0 ? (size_t)len : 1);
  *n = fread(buf, 1, (size_t)len, fp);
  fclose(fp);
  return buf;
}

/* ------------------------------------------------------------------------------------ */
/* Tests                                                                                 */

static void test_create_write_verify(void **state) {
  (void)state;
  fixture fx;
  fixture_init(&fx, 2, config_text);
  char *path = temp_path("layout");
  gds_io *io = NULL;
  assert_int_equal(fixture_create(&fx, path, FP, 0, &io), 0);
  char *tmp = tmp_twin(path);
  assert_int_not_equal(access(tmp, F_OK), 0); /* published: no temporary left */
  free(tmp);
  assert_int_equal(write_plan(io, PLAN_PARTIAL, 0, 1, 2), 0);
  static unsigned char done[NPTS];
  assert_int_equal(gds_io_read_done(io, done), 0);
  for (int64_t i = 0; i < NPTS; i++) assert_int_equal(done[i], plan_point(PLAN_PARTIAL, i));
  gds_io_info info;
  assert_int_equal(gds_io_get_info(io, &info), 0);
  const int want[GDS_IO_NAXES] = {NOP, NS, NA, NG, NSC, NST, NEP, NIN, NE};
  for (int a = 0; a < GDS_IO_NAXES; a++) assert_int_equal(info.n[a], want[a]);
  assert_int_equal(info.npoints, NPTS);
  assert_int_equal(info.ntime, NT);
  assert_int_equal(info.process, GDS_PROCESS_DDPM);
  assert_int_equal(gds_io_close(&io), 0);
  assert_null(io);
  verify_file(path, &fx, PLAN_PARTIAL, 0);
  check_tools(path);
  unlink(path);
  free(path);
}

/* gds_io_point_index and the done runs: any flat range, across rows, one call. */
static void test_done_ranges(void **state) {
  (void)state;
  fixture fx;
  fixture_init(&fx, 0, config_text);
  char *path = temp_path("ranges");
  gds_io *io = NULL;
  assert_int_equal(fixture_create(&fx, path, FP, 0, &io), 0);
  const int n[GDS_IO_NAXES] = {NOP, NS, NA, NG, NSC, NST, NEP, NIN, NE};
  int idx[GDS_IO_NAXES] = {1, 0, 1, 1, 0, 1, 0, 1, 2};
  assert_int_equal(gds_io_point_index(n, idx), ((((((((1 * NS + 0) * NA + 1) * NG + 1) * NSC + 0) * NST + 1) * NEP + 0) * NIN + 1) * NE + 2));
  /* runs that start and end mid-row, span several rows of several axes, and a single point */
  const int64_t first[4] = {1, 40, 100, NPTS - 1}, count[4] = {5, 37, 211, 1};
  static unsigned char ones[NPTS], want[NPTS], got[NPTS];
  static double wall[NPTS];
  int64_t tot = 0;
  for (int r = 0; r < 4; r++)
    for (int64_t i = first[r]; i < first[r] + count[r]; i++) want[i] = 1, wall[tot] = (double)i, ones[tot++] = 1;
  assert_int_equal(gds_io_write_done(io, 4, first, count, ones, wall), 0);
  assert_int_equal(gds_io_read_done(io, got), 0);
  for (int64_t i = 0; i < NPTS; i++)
    if (got[i] != want[i]) fail_msg("done[%lld] = %d, expected %d", (long long)i, got[i], want[i]);
  int quiet = gds_error_set_quiet(1);
  const int64_t bad_first[2] = {10, 5}, bad_count[2] = {3, 1}; /* out of order */
  assert_int_equal(gds_io_write_done(io, 2, bad_first, bad_count, ones, NULL), GDS_ERR_RUNTIME);
  const int64_t over = NPTS, one = 1;
  assert_int_equal(gds_io_write_done(io, 1, &over, &one, ones, NULL), GDS_ERR_RUNTIME);
  gds_error_set_quiet(quiet);
  assert_int_equal(gds_io_close(&io), 0);
  hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  hsize_t cd[9] = {NOP, NS, NA, NG, NSC, NST, NEP, NIN, NE};
  double *w = read_f64(f, "/provenance/wall_time", 9, cd);
  for (int64_t i = 0; i < NPTS; i++)
    if (want[i] && w[i] != (double)i) fail_msg("wall_time[%lld] = %g", (long long)i, w[i]);
  free(w);
  H5Fclose(f);
  unlink(path);
  free(path);
}

static void test_zero_samples(void **state) {
  (void)state;
  fixture fx;
  fixture_init(&fx, 0, config_text);
  char *path = temp_path("nosamples");
  gds_io *io = NULL;
  assert_int_equal(fixture_create(&fx, path, FP, 0, &io), 0);
  gds_io_info info;
  assert_int_equal(gds_io_get_info(io, &info), 0);
  assert_int_equal(info.samples, 0);
  double c[NT] = {0}, img[D] = {0}, x = 0;
  const int last[GDS_IO_NAXES] = {NOP - 1, NS - 1, NA - 1, NG - 1, NSC - 1, NST - 1, NEP - 1, NIN - 1, NE - 1};
  gds_io_block_result r = {c, c, c, &x, &x, &x, img, img, NULL};
  assert_int_equal(gds_io_write_point(io, last, &r, 1.0), 0);
  assert_int_equal(gds_io_close(&io), 0);
  hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  hsize_t td[13] = {NOP, NS, NA, NG, NSC, NST, NEP, NIN, NE, 0, NCK, H, W};
  free(read_dset(f, "/results/trajectories", H5T_IEEE_F32LE, 13, td, H5T_NATIVE_FLOAT));
  hsize_t cd[9] = {NOP, NS, NA, NG, NSC, NST, NEP, NIN, NE};
  unsigned char *done = read_dset(f, "/results/done", H5T_STD_U8LE, 9, cd, H5T_NATIVE_UCHAR);
  assert_int_equal(done[NPTS - 1], 1);
  assert_int_equal(done[0], 0);
  free(done);
  H5Fclose(f);
  check_tools(path);
  unlink(path);
  free(path);
}

/* vp_sde: the curves' time dimension is the step index k = 0..max K (/grid/k), and
 * /results/time [sampler_steps, eps, k] holds u_k = 1 − k(1 − ε)/K, NaN past K (SPEC §7.8). */
static void test_vp_sde_layout(void **state) {
  (void)state;
  fixture fx;
  fixture_init(&fx, 0, config_text);
  fx.s.process = GDS_PROCESS_VP_SDE;
  fx.s.beta_min = 0.1, fx.s.beta_max = 20;
  fx.steps[0] = 3, fx.steps[1] = 7;
  fx.eps[0] = 0, fx.eps[1] = 0.01;
  fx.s.n_eps = 2;
  fx.w2t[0] = 0, fx.w2t[1] = 3, fx.w2t[2] = 7;
  char *path = temp_path("vpsde");
  gds_io *io = NULL;
  gds_io_create_options o = {0};
  assert_int_equal(gds_io_create(path, MPI_COMM_WORLD, &fx.s, NULL, &fx.pr, fx.ops, FP, &o, &io), 0);
  gds_io_info info;
  assert_int_equal(gds_io_get_info(io, &info), 0);
  assert_int_equal(info.process, GDS_PROCESS_VP_SDE);
  assert_int_equal(info.ntime, 8);
  assert_int_equal(info.n[GDS_IO_AXIS_EPS], 2);
  assert_int_equal(gds_io_close(&io), 0);
  assert_int_equal(gds_io_open_readonly(path, &io), 0);
  assert_int_equal(gds_io_get_info(io, &info), 0);
  assert_int_equal(info.ntime, 8);
  char label[64];
  assert_int_equal(gds_io_axis_label(io, GDS_IO_AXIS_EPS, 1, label, sizeof label), 0);
  assert_string_equal(label, "0.01");
  assert_int_equal(gds_io_axis_label(io, GDS_IO_AXIS_STEPS, 1, label, sizeof label), 0);
  assert_string_equal(label, "7");
  assert_int_equal(gds_io_close(&io), 0);

  hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  char *proc = read_str_attr(f, "process");
  assert_string_equal(proc, "vp_sde");
  free(proc);
  assert_false(H5Lexists(f, "/grid/t", H5P_DEFAULT) > 0);
  assert_false(H5Lexists(f, "/schedule/beta", H5P_DEFAULT) > 0);
  hid_t sg = H5Gopen2(f, "/schedule", H5P_DEFAULT);
  double bmax = 0;
  hid_t a = H5Aopen(sg, "beta_max", H5P_DEFAULT);
  assert_true(a >= 0 && H5Aread(a, H5T_NATIVE_DOUBLE, &bmax) >= 0 && bmax == 20);
  H5Aclose(a);
  H5Gclose(sg);
  hsize_t nk = 8;
  int *k = read_dset(f, "/grid/k", H5T_STD_I32LE, 1, &nk, H5T_NATIVE_INT);
  for (int i = 0; i < 8; i++) assert_int_equal(k[i], i);
  free(k);
  hsize_t td[3] = {NST, 2, 8};
  double *u = read_f64(f, "/results/time", 3, td);
  for (int s = 0; s < NST; s++)
    for (int e = 0; e < 2; e++)
      for (int i = 0; i < 8; i++) {
        double got = u[(s * 2 + e) * 8 + i], K = fx.steps[s], eps = fx.eps[e];
        if (i > K) assert_true(isnan(got));
        else GDS_ASSERT_CLOSE(got, 1 - i * (1 - eps) / K, 1e-15, 1e-15);
      }
  free(u);
  const char *const ts[] = {"/grid/sampler_steps", "/grid/eps", "/grid/k"};
  check_scales(f, "/results/time", 3, ts);
  const char *const cs[] = {GRID9, "/grid/k"};
  check_scales(f, "/results/w2", 10, cs);
  H5Fclose(f);
  check_tools(path);
  unlink(path);
  free(path);
}

/* --force never destroys the old file before the new one is complete: the new file is built
 * beside it and replaces it in one rename; a reader holding the old file keeps reading it. */
static int g_force_checked;
static char g_force_path[256];
static unsigned char *g_force_old;
static size_t g_force_n;
static void force_hook(void *ctx, const char *tmp) {
  (void)ctx;
  size_t n = 0;
  unsigned char *now = slurp(g_force_path, &n);
  char *twin = tmp_twin(g_force_path);
  /* while the new file is being finished, OUT is still the old one, byte for byte */
  g_force_checked = now && n == g_force_n && !memcmp(now, g_force_old, n) && !strcmp(tmp, twin) && access(tmp, F_OK) == 0;
  free(now);
  free(twin);
}

static void test_existing_file_refused_then_forced(void **state) {
  (void)state;
  fixture fx;
  fixture_init(&fx, 2, config_text);
  char *path = temp_path("exists");
  gds_io *io = NULL;
  assert_int_equal(fixture_create(&fx, path, FP, 0, &io), 0);
  assert_int_equal(write_plan(io, PLAN_ALL, 0, 1, 2), 0);
  assert_int_equal(gds_io_close(&io), 0);
  size_t n0, n1;
  unsigned char *before = slurp(path, &n0);
  assert_non_null(before);

  int quiet = gds_error_set_quiet(1);
  assert_int_equal(fixture_create(&fx, path, FP, 0, &io), GDS_ERR_INPUT);
  gds_error_set_quiet(quiet);
  assert_null(io);
  unsigned char *after = slurp(path, &n1);
  assert_int_equal(n0, n1);
  assert_memory_equal(before, after, n0);
  free(after);

  /* a reader (h5py, a notebook) holds the old file open during --force */
  hid_t reader = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  assert_true(reader >= 0);
  snprintf(g_force_path, sizeof g_force_path, "%s", path);
  g_force_old = before;
  g_force_n = n0;
  g_force_checked = 0;
  gds_io_create_options o = {.force = 1, .before_publish = force_hook};
  assert_int_equal(gds_io_create(path, MPI_COMM_WORLD, &fx.s, &fx.sc, &fx.pr, fx.ops, FP, &o, &io), 0);
  assert_true(g_force_checked);
  static unsigned char done[NPTS];
  assert_int_equal(gds_io_read_done(io, done), 0);
  for (int i = 0; i < NPTS; i++) assert_int_equal(done[i], 0); /* a fresh file */
  assert_int_equal(gds_io_close(&io), 0);
  /* the reader still sees the old, complete results */
  hsize_t cd[9] = {NOP, NS, NA, NG, NSC, NST, NEP, NIN, NE};
  unsigned char *old = read_dset(reader, "/results/done", H5T_STD_U8LE, 9, cd, H5T_NATIVE_UCHAR);
  for (int i = 0; i < NPTS; i++) assert_int_equal(old[i], 1);
  free(old);
  H5Fclose(reader);
  free(before);
  unlink(path);
  free(path);
}

static void test_unwritable_directory(void **state) {
  (void)state;
  fixture fx;
  fixture_init(&fx, 2, config_text);
  gds_io *io = NULL;
  int quiet = gds_error_set_quiet(1);
  assert_int_equal(fixture_create(&fx, "/nonexistent-gds-dir/sub/out.h5", FP, 0, &io), GDS_ERR_INPUT);
  /* a path component that is a regular file */
  char *file = temp_path("notadir");
  FILE *fp = fopen(file, "w");
  fclose(fp);
  char bad[300];
  snprintf(bad, sizeof bad, "%s/out.h5", file);
  assert_int_equal(fixture_create(&fx, bad, FP, 1, &io), GDS_ERR_INPUT);
  unlink(file);
  free(file);
  /* a directory as the output */
  assert_int_equal(fixture_create(&fx, "/tmp", FP, 1, &io), GDS_ERR_INPUT);
  /* permissions do not stop root, so only check them as an ordinary user */
  if (geteuid() != 0) {
    char dir[] = "/tmp/gds_test_io_roXXXXXX";
    assert_non_null(mkdtemp(dir));
    chmod(dir, 0555);
    snprintf(bad, sizeof bad, "%s/out.h5", dir);
    assert_int_equal(fixture_create(&fx, bad, FP, 0, &io), GDS_ERR_INPUT);
    rmdir(dir);
  }
  gds_error_set_quiet(quiet);
  assert_null(io);
}

/* One writer per file, whatever path names it: the lock is on the file itself. */
static void test_writer_lock(void **state) {
  (void)state;
  fixture fx;
  fixture_init(&fx, 0, config_text);
  char *path = temp_path("lock");
  char sym[300], hard[300];
  snprintf(sym, sizeof sym, "%s.symlink", path);
  snprintf(hard, sizeof hard, "%s.hardlink", path);
  unlink(sym);
  unlink(hard);
  gds_io *io = NULL, *io2 = NULL;
  assert_int_equal(fixture_create(&fx, path, FP, 0, &io), 0);
  assert_int_equal(symlink(path, sym), 0);
  assert_int_equal(link(path, hard), 0);
  int quiet = gds_error_set_quiet(1);
  assert_int_equal(gds_io_open_resume(path, MPI_COMM_WORLD, FP, &io2), GDS_ERR_INPUT);
  assert_int_equal(gds_io_open_resume(sym, MPI_COMM_WORLD, FP, &io2), GDS_ERR_INPUT);
  assert_int_equal(gds_io_open_resume(hard, MPI_COMM_WORLD, FP, &io2), GDS_ERR_INPUT);
  assert_int_equal(fixture_create(&fx, sym, FP, 1, &io2), GDS_ERR_INPUT); /* --force through a link */
  assert_null(io2);
  gds_error_set_quiet(quiet);
  /* readers are never refused */
  assert_int_equal(gds_io_open_readonly(sym, &io2), 0);
  assert_int_equal(gds_io_close(&io2), 0);
  assert_int_equal(gds_io_close(&io), 0);
  /* released at close */
  assert_int_equal(gds_io_open_resume(sym, MPI_COMM_WORLD, FP, &io2), 0);
  assert_int_equal(gds_io_close(&io2), 0);
  /* --force through the symlink replaces the file it names and keeps the link */
  assert_int_equal(fixture_create(&fx, sym, FP, 1, &io2), 0);
  assert_int_equal(gds_io_close(&io2), 0);
  struct stat st;
  assert_int_equal(lstat(sym, &st), 0);
  assert_true(S_ISLNK(st.st_mode));
  unlink(sym);
  unlink(hard);
  unlink(path);
  free(path);
}

/* A creation killed before it published leaves only the temporary: OUT does not exist,
 * messages say so, and the next run removes the leftover. One being built by a live process
 * (locked) is refused. */
static void test_interrupted_creation(void **state) {
  (void)state;
  fixture fx;
  fixture_init(&fx, 0, config_text);
  char *path = temp_path("halfmade");
  char *tmp = tmp_twin(path);
  FILE *fp = fopen(tmp, "w"); /* what a SIGKILL during creation leaves */
  fputs("partial", fp);
  fclose(fp);
  gds_io *io = NULL;
  int quiet = gds_error_set_quiet(1);
  assert_int_equal(gds_io_open_resume(path, MPI_COMM_WORLD, FP, &io), GDS_ERR_INPUT);
  assert_int_equal(gds_io_open_readonly(path, &io), GDS_ERR_INPUT);
  /* locked by a live creator: refused, left alone */
  int fd = open(tmp, O_RDWR);
  struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = (off_t)1 << 62, .l_len = 1};
  assert_int_equal(fcntl(fd, F_OFD_SETLK, &fl), 0);
  assert_int_equal(fixture_create(&fx, path, FP, 0, &io), GDS_ERR_INPUT);
  assert_int_equal(access(tmp, F_OK), 0);
  close(fd);
  gds_error_set_quiet(quiet);
  /* stale: removed, and the creation goes through */
  assert_int_equal(fixture_create(&fx, path, FP, 0, &io), 0);
  assert_int_not_equal(access(tmp, F_OK), 0);
  assert_int_equal(gds_io_close(&io), 0);
  unlink(path);
  free(tmp);
  free(path);
}

static void test_resume(void **state) {
  (void)state;
  fixture fx;
  fixture_init(&fx, 2, config_text);
  char *path = temp_path("resume");
  gds_io *io = NULL;
  assert_int_equal(fixture_create(&fx, path, FP, 0, &io), 0);
  assert_int_equal(write_plan(io, PLAN_PARTIAL, 0, 1, 2), 0);
  int quiet = gds_error_set_quiet(1);
  assert_int_equal(gds_io_mark_complete(io), GDS_ERR_RUNTIME); /* points are missing */
  gds_error_set_quiet(quiet);
  assert_int_equal(gds_io_close(&io), 0);

  assert_int_equal(gds_io_open_resume(path, MPI_COMM_WORLD, FP, &io), 0);
  static unsigned char done[NPTS];
  assert_int_equal(gds_io_read_done(io, done), 0);
  for (int64_t i = 0; i < NPTS; i++) assert_int_equal(done[i], plan_point(PLAN_PARTIAL, i));
  assert_string_equal(gds_io_fingerprint(io), FP);
  /* finish the missing points as a resumed run would */
  assert_int_equal(write_plan(io, PLAN_ALL, 0, 1, 2), 0);
  assert_int_equal(gds_io_mark_complete(io), 0);
  assert_int_equal(gds_io_close(&io), 0);
  verify_file(path, &fx, PLAN_ALL, 1);
  hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  assert_int_equal(read_int_attr(f, "resume_count"), 1);
  H5Fclose(f);

  quiet = gds_error_set_quiet(1);
  assert_int_equal(gds_io_open_resume(path, MPI_COMM_WORLD, "fp-other", &io), GDS_ERR_INPUT);
  assert_null(io);
  /* a file written with other random numbers (another generator or noise basis) is refused,
   * and resumes again once the attribute is the build's */
  for (int k = 0; k < 2; k++) {
    const char *name = k ? "sampler_noise" : "rng", *mine = k ? gds_sampler_noise_description() : gds_rng_description();
    set_str_attr(path, name, "gdsweep-noise-1: another generator");
    assert_int_equal(gds_io_open_resume(path, MPI_COMM_WORLD, FP, &io), GDS_ERR_INPUT);
    assert_null(io);
    set_str_attr(path, name, mine);
  }
  assert_int_equal(gds_io_open_resume(path, MPI_COMM_WORLD, FP, &io), 0);
  assert_int_equal(gds_io_close(&io), 0);
  char *missing = temp_path("missing");
  assert_int_equal(gds_io_open_resume(missing, MPI_COMM_WORLD, FP, &io), GDS_ERR_INPUT);
  /* an HDF5 file that is not ours, a file that is not HDF5, an empty file */
  hid_t other = H5Fcreate(missing, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  H5Fclose(other);
  assert_int_equal(gds_io_open_resume(missing, MPI_COMM_WORLD, FP, &io), GDS_ERR_INPUT);
  FILE *fp = fopen(missing, "w");
  fputs("name: not hdf5\n", fp);
  fclose(fp);
  assert_int_equal(gds_io_open_resume(missing, MPI_COMM_WORLD, FP, &io), GDS_ERR_INPUT);
  assert_int_equal(gds_io_open_readonly(missing, &io), GDS_ERR_INPUT);
  fp = fopen(missing, "w");
  fclose(fp);
  assert_int_equal(gds_io_open_readonly(missing, &io), GDS_ERR_INPUT);
  gds_error_set_quiet(quiet);
  assert_null(io);
  unlink(missing);
  free(missing);
  unlink(path);
  free(path);
}

static void test_readonly_status_api(void **state) {
  (void)state;
  fixture fx;
  fixture_init(&fx, 2, config_text);
  char *path = temp_path("status");
  gds_io *io = NULL;
  assert_int_equal(fixture_create(&fx, path, FP, 0, &io), 0);
  assert_int_equal(write_plan(io, PLAN_PARTIAL, 0, 1, 2), 0);
  /* status reads while the writer still has the file open */
  gds_io *ro = NULL;
  assert_int_equal(gds_io_open_readonly(path, &ro), 0);
  gds_io_info info;
  assert_int_equal(gds_io_get_info(ro, &info), 0);
  const int want[GDS_IO_NAXES] = {NOP, NS, NA, NG, NSC, NST, NEP, NIN, NE};
  for (int a = 0; a < GDS_IO_NAXES; a++) assert_int_equal(info.n[a], want[a]);
  assert_int_equal(info.npoints, NPTS);
  assert_int_equal(info.T, T);
  assert_int_equal(info.ntime, NT);
  assert_int_equal(info.H, H);
  assert_int_equal(info.W, W);
  assert_int_equal(info.samples, 2);
  assert_int_equal(info.n_ckpt, NCK);
  assert_int_equal(info.complete, 0);
  static unsigned char done[NPTS];
  assert_int_equal(gds_io_read_done(ro, done), 0);
  for (int64_t i = 0; i < NPTS; i++) assert_int_equal(done[i], plan_point(PLAN_PARTIAL, i));
  static const struct { int axis, i; const char *label; } labels[] = {
      {GDS_IO_AXIS_OPERATOR, 0, "gaussian_blur(std=0.8)"}, {GDS_IO_AXIS_SIGMA, 1, "0.05"},
      {GDS_IO_AXIS_ALPHA, 0, "0.5"}, {GDS_IO_AXIS_ALGORITHM, 1, "ddrm(eta=0.85,eta_b=1)"},
      {GDS_IO_AXIS_SCHEME, 1, "ddim(eta=0.5)"}, {GDS_IO_AXIS_STEPS, 1, "2"}, {GDS_IO_AXIS_EPS, 0, "0"},
      {GDS_IO_AXIS_INIT, 1, "exact"}, {GDS_IO_AXIS_SEED, 1, "7"}};
  for (size_t k = 0; k < sizeof labels / sizeof *labels; k++) {
    char label[128];
    assert_int_equal(gds_io_axis_label(ro, labels[k].axis, labels[k].i, label, sizeof label), 0);
    assert_string_equal(label, labels[k].label);
  }
  static const char *const names[GDS_IO_NAXES] = {"operator", "sigma", "alpha_dps", "algorithm", "scheme",
                                                  "sampler_steps", "eps", "init", "seed"};
  for (int a = 0; a < GDS_IO_NAXES; a++) assert_string_equal(gds_io_axis_name(a), names[a]);
  assert_null(gds_io_axis_name(GDS_IO_NAXES));
  assert_string_equal(gds_io_fingerprint(ro), FP);
  int quiet = gds_error_set_quiet(1);
  double x0[2 * D] = {0};
  char label[128];
  assert_int_equal(gds_io_write_x0(ro, 0, 1, x0), GDS_ERR_RUNTIME); /* read-only */
  assert_int_equal(gds_io_axis_label(ro, GDS_IO_AXIS_SEED, NE, label, sizeof label), GDS_ERR_RUNTIME);
  /* out-of-range indices and blocks are refused, not written elsewhere */
  assert_int_equal(gds_io_write_x0(io, NE, 1, x0), GDS_ERR_RUNTIME);
  assert_int_equal(gds_io_write_x0(io, 2, 2, x0), GDS_ERR_RUNTIME); /* seeds 2..3 of 0..2 */
  assert_int_equal(gds_io_write_measurement(io, NOP, 0, 0, 1, x0), GDS_ERR_RUNTIME);
  assert_int_equal(gds_io_write_posterior(io, 0, -1, 0, 1, x0, NULL), GDS_ERR_RUNTIME);
  /* a result without trajectories (samples = 2) writes nothing, not even part of it */
  double c[NT] = {0}, z = 0;
  const int p1[GDS_IO_NAXES] = {0, 0, 0, 0, 0, 0, 0, 0, 1};
  gds_io_block_result r1 = {c, c, c, &z, &z, &z, x0, x0, NULL};
  assert_int_equal(gds_io_write_point(io, p1, &r1, 1.0), GDS_ERR_RUNTIME);
  const int bad[GDS_IO_NAXES] = {0, 0, 0, 0, NSC, 0, 0, 0, 0};
  float tr[2 * NCK * D] = {0};
  r1.trajectories = tr;
  assert_int_equal(gds_io_write_point(io, bad, &r1, 1.0), GDS_ERR_RUNTIME);
  gds_error_set_quiet(quiet);
  assert_int_equal(gds_io_close(&ro), 0);
  assert_int_equal(gds_io_close(&io), 0);
  assert_int_equal(gds_io_close(&io), 0); /* NULL is fine */
  verify_file(path, &fx, PLAN_PARTIAL, 0); /* the refused writes left no trace */
  unlink(path);
  free(path);
}

static void test_large_config(void **state) {
  (void)state;
  /* Attributes above 64 KiB need the 1.8 format's dense storage. */
  size_t n = 200 * 1024;
  char *text = malloc(n + 1);
  for (size_t i = 0; i < n; i++) text[i] = i % 64 == 63 ? '\n' : (char)('a' + i % 26);
  text[n] = '\0';
  fixture fx;
  fixture_init(&fx, 1, text);
  char *path = temp_path("bigconfig");
  gds_io *io = NULL;
  assert_int_equal(fixture_create(&fx, path, FP, 0, &io), 0);
  assert_int_equal(gds_io_close(&io), 0);
  hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  char *got = read_str_attr(f, "config");
  assert_string_equal(got, text);
  free(got);
  H5Fclose(f);
  check_tools(path);
  unlink(path);
  free(path);
  free(text);
}

/* ------------------------------------------------------------------------------------ */
/* Multi-rank children (run before this process initialises MPI)                          */

typedef struct child_run {
  int ran;    /* mpirun was found and started */
  int status; /* waitpid status */
  char path[256];
  char log[256];
} child_run;

static int child_main(const char *mode, const char *path) {
  int rank, size, ierr = 0;
  MPI_Init(NULL, NULL);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  fixture fx;
  fixture_init(&fx, 2, config_text);
  gds_io *io = NULL;
  int crash = !strcmp(mode, "crash");
  /* only rank 0's structures matter: the others pass none */
  ierr = rank == 0 ? fixture_create(&fx, path, FP, 0, &io)
                   : gds_io_create(path, MPI_COMM_WORLD, NULL, NULL, NULL, NULL, NULL, NULL, &io);
  if (ierr) goto out;
  ierr = write_plan(io, crash ? PLAN_HALF : PLAN_ALL, rank, size, 2);
  if (ierr) goto out;
  if (crash) {
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank == size - 1) raise(SIGKILL); /* mpirun then kills the other ranks */
    MPI_Barrier(MPI_COMM_WORLD);
    return 99; /* not reached */
  }
  if ((ierr = gds_io_mark_complete(io)) || (ierr = gds_io_close(&io))) goto out;
  /* resume on every rank: done flags written by both ranks are visible */
  if ((ierr = gds_io_open_resume(path, MPI_COMM_WORLD, FP, &io))) goto out;
  static unsigned char done[NPTS];
  if ((ierr = gds_io_read_done(io, done))) goto out;
  for (int i = 0; i < NPTS; i++)
    if (!done[i]) ierr = 10;
  gds_io_info info;
  gds_io_get_info(io, &info);
  if (!info.complete) ierr = 11;
  int e2 = gds_io_close(&io);
  if (!ierr) ierr = e2;
  if (!ierr) {
    gds_error_set_quiet(rank != 0);
    if (gds_io_open_resume(path, MPI_COMM_WORLD, "fp-wrong", &io) != GDS_ERR_INPUT || io) ierr = 12;
  }
out:
  if (io) gds_io_close(&io);
  int worst = ierr;
  MPI_Allreduce(&ierr, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  MPI_Finalize();
  return worst;
}

static void child_start(child_run *c, const char *mode, const char *self) {
  memset(c, 0, sizeof *c);
  snprintf(c->path, sizeof c->path, "/tmp/gds_test_io_%d_%s.h5", (int)getpid(), mode);
  snprintf(c->log, sizeof c->log, "/tmp/gds_test_io_%d_%s.log", (int)getpid(), mode);
  unlink(c->path);
  if (getenv("OMPI_COMM_WORLD_SIZE")) return; /* already under mpirun: no nesting */
  pid_t pid = fork();
  if (pid < 0) return;
  if (pid == 0) {
    int fd = open(c->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) dup2(fd, 1), dup2(fd, 2);
    const char *argv[16];
    int k = 0;
    argv[k++] = "timeout", argv[k++] = "300", argv[k++] = "mpirun", argv[k++] = "-n";
    argv[k++] = "2", argv[k++] = "--oversubscribe";
    if (geteuid() == 0) argv[k++] = "--allow-run-as-root";
    argv[k++] = self, argv[k++] = "--child", argv[k++] = mode, argv[k++] = c->path;
    argv[k] = NULL;
    execvp("timeout", (char *const *)argv);
    _exit(127);
  }
  if (waitpid(pid, &c->status, 0) == pid) c->ran = !(WIFEXITED(c->status) && WEXITSTATUS(c->status) == 127);
}

static void child_log(const child_run *c) {
  size_t n = 0;
  unsigned char *log = slurp(c->log, &n);
  if (log) fprintf(stderr, "---- %s ----\n%.*s\n----\n", c->log, (int)n, log);
  free(log);
}

static void test_two_ranks(void **state) {
  child_run *c = *state;
  if (!c->ran) skip();
  if (!WIFEXITED(c->status) || WEXITSTATUS(c->status) != 0) {
    child_log(c);
    fail_msg("2-rank run failed (status %d)", c->status);
  }
  fixture fx;
  fixture_init(&fx, 2, config_text);
  verify_file(c->path, &fx, PLAN_ALL, 1);
  hid_t f = H5Fopen(c->path, H5F_ACC_RDONLY, H5P_DEFAULT);
  assert_int_equal(read_int_attr(f, "ranks"), 2);
  assert_int_equal(read_int_attr(f, "resume_count"), 1);
  H5Fclose(f);
  check_tools(c->path);
  unlink(c->path);
  unlink(c->log);
}

static void test_killed_job_leaves_done_points(void **state) {
  child_run *c = *state;
  if (!c->ran) skip();
  if (WIFEXITED(c->status) && WEXITSTATUS(c->status) == 0) {
    child_log(c);
    fail_msg("the crashing run exited normally");
  }
  struct stat st;
  if (stat(c->path, &st) != 0) {
    child_log(c);
    fail_msg("the killed run left no file");
  }
  /* Never closed: still a valid HDF5 file whose done points are complete. */
  fixture fx;
  fixture_init(&fx, 2, config_text);
  verify_file(c->path, &fx, PLAN_HALF, -1);
  check_tools(c->path);
  /* and it can be resumed (the killed job's lock died with it) */
  gds_io *io = NULL;
  assert_int_equal(gds_io_open_resume(c->path, MPI_COMM_WORLD, FP, &io), 0);
  static unsigned char done[NPTS];
  assert_int_equal(gds_io_read_done(io, done), 0);
  for (int64_t i = 0; i < NPTS; i++) assert_int_equal(done[i], plan_point(PLAN_HALF, i));
  assert_int_equal(write_plan(io, PLAN_ALL, 0, 1, 2), 0);
  assert_int_equal(gds_io_mark_complete(io), 0);
  assert_int_equal(gds_io_close(&io), 0);
  verify_file(c->path, &fx, PLAN_ALL, 1);
  unlink(c->path);
  unlink(c->log);
}

int main(int argc, char **argv) {
  if (argc == 4 && !strcmp(argv[1], "--child")) return child_main(argv[2], argv[3]);
  /* Children first: a process that has initialised MPI should not launch mpirun. */
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  self[n > 0 ? n : 0] = '\0';
  child_run par, crash;
  child_start(&par, "parallel", n > 0 ? self : argv[0]);
  child_start(&crash, "crash", n > 0 ? self : argv[0]);

  MPI_Init(&argc, &argv);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_create_write_verify),
      cmocka_unit_test(test_done_ranges),
      cmocka_unit_test(test_zero_samples),
      cmocka_unit_test(test_vp_sde_layout),
      cmocka_unit_test(test_existing_file_refused_then_forced),
      cmocka_unit_test(test_unwritable_directory),
      cmocka_unit_test(test_writer_lock),
      cmocka_unit_test(test_interrupted_creation),
      cmocka_unit_test(test_resume),
      cmocka_unit_test(test_readonly_status_api),
      cmocka_unit_test(test_large_config),
      cmocka_unit_test_prestate(test_two_ranks, &par),
      cmocka_unit_test_prestate(test_killed_job_leaves_done_points, &crash),
  };
  int failed = cmocka_run_group_tests(tests, NULL, NULL);
  MPI_Finalize();
  return failed;
}
