/* End-to-end acceptance of issues 9 and 10: real sweeps run by gds_run (the `gdsweep run`
 * driver: units, ignored axes written to every tuple, the law backends the operators pick,
 * writes), then their OUTPUT FILE, read back with plain HDF5, compared with the independent
 * dense reference of SPEC §1, §2 and §7 (tests/reference/dense_ref.h).
 *
 * Nothing the reference uses comes from the code under test except the data that defines the
 * problem and that gdsweep draws from its own generator: the texture's periodic component (the
 * prior module's job, tested in test_prior), the random inpainting mask and the measurements v.
 * Everything else is rebuilt here from the sweep's parameters: the mean, texton and ADSN
 * covariance of the stored texture (and its spectrum checked against a brute-force DFT), the
 * β schedule, the blur kernels (dref's own), the super-resolution and box-inpainting matrices,
 * and the sampler of every grid point from this file's own tables (the file's axis names are
 * checked against them). Compared, for every grid point: the W2 curves (and NaN at times the
 * sampler does not visit, or past its own K), w2_final and its parts, m_0 and diag K_0, and the
 * posterior mean and variance; SPEC tolerance: relative 1e-6, absolute 2e-7 (normwise for
 * images); a law without finite value must be +inf where the reference says so.
 *
 * Sweeps: (1) discrete process, 6x4 image, every operator kind (identity, gaussian_blur,
 * motion_blur, super_resolution, inpainting random and box) x every algorithm (none, dps at two
 * α, pigdm, cgdm, ddrm at two (η, η_b)) x ddpm and ddim at two η x respaced and full steps x
 * normal and exact init x two seeds; (2) vp_sde, blur, inpainting and super-resolution x none,
 * dps, pigdm, cgdm x em, ei, ddpm, euler, heun, rk4 x K ∈ {6, 25} (ddpm at K = 6 has no real
 * value: +inf) x ε ∈ {0, 1e-3} (heun, rk4 at ε = 0: +inf) x both inits; (3) the same vp_sde
 * samplers on a prior given by a 1-D spectrum (eigen-diagonal backend). */
#include <hdf5.h>
#include <math.h>
#include <mpi.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gdsweep/error.h"
#include "gdsweep/run.h"
#include "reference/dense_ref.h"
#include "testutil.h"

#define RTOL 1e-6 /* SPEC §2 "Accuracy" */
#define ATOL 2e-7

/* ---- what a sweep is made of (the YAML is generated from these tables) ------------------- */

typedef enum { OPK_IDENTITY, OPK_GBLUR, OPK_MBLUR, OPK_SR, OPK_INPAINT_RANDOM, OPK_INPAINT_BOX } opkind;
typedef struct {
  opkind kind;
  double a, b;  /* std; length, angle; factor; keep, mask_seed */
  int box[4];   /* row, col, height, width (missing) */
} op_desc;
typedef struct {
  dref_alg alg;
  double eta, eta_b;
  const char *name; /* canonical name in /grid/algorithm */
} alg_desc;
typedef struct {
  dref_scheme scheme;
  double eta;
  const char *yaml, *name;
} scheme_desc;

typedef struct {
  const char *name;
  int vp, eigen; /* vp_sde process; 1-D spectrum prior */
  int H, W;
  int T;                       /* discrete: diffusion steps (default β) */
  double beta_min, beta_max;   /* vp_sde */
  int neig;                    /* eigen: the spectrum */
  const double *eig;
  double eig_mean;
  int nop;
  const op_desc *op;
  int nsigma;
  const double *sigma;
  int nalpha;
  const double *alpha;
  int nalg;
  const alg_desc *alg;
  int nsch;
  const scheme_desc *sch;
  int nsteps;
  const int *steps;
  int neps;
  const double *eps;
  int nseed;
  const int *seed;
} sweep_desc;

static const char *const opnames[] = {"identity", "gaussian_blur", "motion_blur", "super_resolution", "inpainting",
                                      "inpainting"};

static void *xmalloc(size_t n) {
  void *p = calloc(n ? n : 1, 1);
  assert_non_null(p);
  return p;
}

/* Append to a growing text. */
static void put(char **buf, size_t *len, const char *fmt, ...) {
  char tmp[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  assert_true(n >= 0 && n < (int)sizeof tmp);
  *buf = realloc(*buf, *len + (size_t)n + 1);
  assert_non_null(*buf);
  memcpy(*buf + *len, tmp, (size_t)n + 1);
  *len += (size_t)n;
}

/* The YAML of a sweep; a spectrum prior refers to spec_path. */
static char *sweep_yaml(const sweep_desc *s, const char *spec_path) {
  char *y = NULL;
  size_t n = 0;
  put(&y, &n, "name: %s\n", s->name);
  if (s->eigen) put(&y, &n, "prior: {spectrum: %s, mean: %.17g}\n", spec_path, s->eig_mean);
  else put(&y, &n, "prior: {texture: builtin:fabric, size: [%d, %d], periodic: true}\n", s->H, s->W);
  if (s->vp) put(&y, &n, "diffusion: {process: vp_sde, beta_min: %.17g, beta_max: %.17g}\n", s->beta_min, s->beta_max);
  else put(&y, &n, "diffusion: {steps: %d}\n", s->T);
  put(&y, &n, "grid:\n  operator:\n");
  for (int i = 0; i < s->nop; i++) {
    const op_desc *o = &s->op[i];
    switch (o->kind) {
    case OPK_IDENTITY: put(&y, &n, "    - identity: {}\n"); break;
    case OPK_GBLUR: put(&y, &n, "    - gaussian_blur: {std: %.17g}\n", o->a); break;
    case OPK_MBLUR: put(&y, &n, "    - motion_blur: {length: %.17g, angle: %.17g}\n", o->a, o->b); break;
    case OPK_SR: put(&y, &n, "    - super_resolution: {factor: %d}\n", (int)o->a); break;
    case OPK_INPAINT_RANDOM:
      put(&y, &n, "    - inpainting: {mask: random, keep: %.17g, mask_seed: %d}\n", o->a, (int)o->b);
      break;
    case OPK_INPAINT_BOX:
      put(&y, &n, "    - inpainting: {mask: box, box: [%d, %d, %d, %d]}\n", o->box[0], o->box[1], o->box[2], o->box[3]);
      break;
    }
  }
  put(&y, &n, "  sigma: [");
  for (int i = 0; i < s->nsigma; i++) put(&y, &n, "%s%.17g", i ? ", " : "", s->sigma[i]);
  put(&y, &n, "]\n  alpha_dps: [");
  for (int i = 0; i < s->nalpha; i++) put(&y, &n, "%s%.17g", i ? ", " : "", s->alpha[i]);
  put(&y, &n, "]\n  algorithm:\n");
  for (int i = 0; i < s->nalg; i++) {
    if (s->alg[i].alg == DREF_DDRM) put(&y, &n, "    - ddrm: {eta: %.17g, eta_b: %.17g}\n", s->alg[i].eta, s->alg[i].eta_b);
    else put(&y, &n, "    - %s\n", s->alg[i].name);
  }
  put(&y, &n, "  scheme:\n");
  for (int i = 0; i < s->nsch; i++) put(&y, &n, "    - %s\n", s->sch[i].yaml);
  put(&y, &n, "  sampler_steps: [");
  for (int i = 0; i < s->nsteps; i++) put(&y, &n, "%s%d", i ? ", " : "", s->steps[i]);
  put(&y, &n, "]\n");
  if (s->vp) {
    put(&y, &n, "  eps: [");
    for (int i = 0; i < s->neps; i++) put(&y, &n, "%s%.17g", i ? ", " : "", s->eps[i]);
    put(&y, &n, "]\n");
  }
  put(&y, &n, "  init: [normal, exact]\n  seed: [");
  for (int i = 0; i < s->nseed; i++) put(&y, &n, "%s%d", i ? ", " : "", s->seed[i]);
  put(&y, &n, "]\noutput: {samples: 0, checkpoints: [0], w2_times: all}\n");
  return y;
}

/* ---- reading the output with plain HDF5 ------------------------------------------------- */

/* A whole dataset as doubles; its element count must be n. */
static double *rd(hid_t f, const char *path, size_t n) {
  hid_t d = H5Dopen2(f, path, H5P_DEFAULT);
  if (d < 0) fail_msg("dataset %s missing", path);
  hid_t sp = H5Dget_space(d);
  if ((size_t)H5Sget_simple_extent_npoints(sp) != n)
    fail_msg("%s has %lld elements, expected %zu", path, (long long)H5Sget_simple_extent_npoints(sp), n);
  double *x = xmalloc(sizeof(double) * n);
  assert_true(H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, x) >= 0);
  H5Sclose(sp);
  H5Dclose(d);
  return x;
}

static hsize_t dim_of(hid_t f, const char *path, int k) {
  hid_t d = H5Dopen2(f, path, H5P_DEFAULT);
  if (d < 0) fail_msg("dataset %s missing", path);
  hid_t sp = H5Dget_space(d);
  hsize_t dims[16];
  int r = H5Sget_simple_extent_ndims(sp);
  assert_true(r > 0 && r <= 16 && k < r);
  H5Sget_simple_extent_dims(sp, dims, NULL);
  H5Sclose(sp);
  H5Dclose(d);
  return dims[k];
}

static double attr_double(hid_t f, const char *obj, const char *name) {
  double x = NAN;
  hid_t a = H5Aopen_by_name(f, obj, name, H5P_DEFAULT, H5P_DEFAULT);
  if (a < 0) fail_msg("attribute %s of %s missing", name, obj);
  assert_true(H5Aread(a, H5T_NATIVE_DOUBLE, &x) >= 0);
  H5Aclose(a);
  return x;
}

/* Entry i of a string axis /grid/<axis> equals want. */
static void check_label(hid_t f, const char *path, int n, int i, const char *want, size_t prefix) {
  hid_t d = H5Dopen2(f, path, H5P_DEFAULT);
  if (d < 0) fail_msg("dataset %s missing", path);
  hid_t sp = H5Dget_space(d), mt = H5Tcopy(H5T_C_S1);
  assert_int_equal(H5Sget_simple_extent_npoints(sp), n);
  H5Tset_size(mt, H5T_VARIABLE);
  char **got = xmalloc(sizeof(char *) * (size_t)n);
  assert_true(H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, got) >= 0);
  if (prefix ? strncmp(got[i], want, prefix) : strcmp(got[i], want))
    fail_msg("%s[%d] = '%s', expected '%s'", path, i, got[i], want);
  H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, got);
  free(got);
  H5Tclose(mt);
  H5Sclose(sp);
  H5Dclose(d);
}

/* ---- the reference problem ---------------------------------------------------------------- */

typedef struct {
  int m;
  double *A; /* m×d */
} ref_op;

/* A of operator o (d = H·W), built here; the file's kernel or mask is checked against it (the
 * random mask is taken from the file: it is drawn by gdsweep's generator). */
static ref_op build_op(hid_t f, int i, const op_desc *o, int H, int W) {
  const int d = H * W;
  ref_op r = {0, NULL};
  char path[128];
  double *k = xmalloc(sizeof(double) * (size_t)d);
  switch (o->kind) {
  case OPK_IDENTITY:
    r.m = d;
    r.A = xmalloc(sizeof(double) * (size_t)d * d);
    for (int p = 0; p < d; p++) r.A[(size_t)p * d + p] = 1;
    break;
  case OPK_GBLUR:
  case OPK_MBLUR: {
    if (o->kind == OPK_GBLUR) assert_int_equal(dref_gaussian_blur_kernel(H, W, o->a, k), DREF_OK);
    else assert_int_equal(dref_motion_blur_kernel(H, W, o->a, o->b, k), DREF_OK);
    snprintf(path, sizeof path, "/problem/op%d/kernel", i);
    double *fk = rd(f, path, (size_t)d);
    for (int p = 0; p < d; p++) GDS_ASSERT_CLOSE(fk[p], k[p], 1e-12, 1e-15);
    free(fk);
    r.m = d;
    r.A = xmalloc(sizeof(double) * (size_t)d * d);
    assert_int_equal(dref_circulant(H, W, k, r.A), DREF_OK);
    break;
  }
  case OPK_SR: {
    const int s = (int)o->a, h = H / s, w = W / s;
    r.m = h * w;
    r.A = xmalloc(sizeof(double) * (size_t)r.m * d);
    for (int a = 0; a < h; a++)
      for (int b = 0; b < w; b++)
        for (int p = 0; p < s; p++)
          for (int q = 0; q < s; q++) r.A[(size_t)(a * w + b) * d + (a * s + p) * W + (b * s + q)] = 1.0 / (s * s);
    break;
  }
  case OPK_INPAINT_RANDOM:
  case OPK_INPAINT_BOX: {
    snprintf(path, sizeof path, "/problem/op%d/mask", i);
    double *mask = rd(f, path, (size_t)d);
    if (o->kind == OPK_INPAINT_BOX)
      for (int p = 0; p < d; p++) {
        const int row = p / W, col = p % W;
        const int missing = row >= o->box[0] && row < o->box[0] + o->box[2] && col >= o->box[1] && col < o->box[1] + o->box[3];
        if ((mask[p] != 0) == missing) fail_msg("box mask: pixel (%d, %d) is %s in the file", row, col, missing ? "observed" : "missing");
      }
    for (int p = 0; p < d; p++) r.m += mask[p] != 0;
    assert_true(r.m >= 1 && r.m < d);
    r.A = xmalloc(sizeof(double) * (size_t)r.m * d);
    for (int p = 0, row = 0; p < d; p++)
      if (mask[p] != 0) r.A[(size_t)row++ * d + p] = 1; /* observed pixels, row-major */
    free(mask);
    break;
  }
  }
  free(k);
  return r;
}

/* Largest |a − b| / max(rtol·scale, atol), scale |b_i| or max |b| (normwise); NaN must meet NaN
 * and +inf must meet +inf. Prints the worst entry when it fails. */
static double viol(int n, const double *a, const double *b, int normwise, double rtol, double atol, const char *what,
                   const char *tag) {
  double worst = 0, bmax = 0;
  int at = -1;
  for (int i = 0; i < n; i++)
    if (isfinite(b[i])) bmax = fmax(bmax, fabs(b[i]));
  for (int i = 0; i < n; i++) {
    if ((isnan(a[i]) && isnan(b[i])) || (isinf(a[i]) && a[i] == b[i])) continue;
    double tol = fmax(rtol * (normwise ? bmax : fabs(b[i])), atol), r = fabs(a[i] - b[i]) / tol;
    if (!(r <= worst)) {
      worst = isnan(r) ? INFINITY : r;
      at = i;
    }
  }
  if (worst > (getenv("GDS_TEST_VERBOSE") ? 0.3 : 1)) print_error("  %s %s[%d]: file %.17g, reference %.17g (%.3g x tol)\n", tag, what, at, a[at], b[at], worst);
  return worst;
}

/* One computed reference point (cached: points that differ only on axes their sampler
 * ignores share it, and the file must hold the same values for each). */
typedef struct {
  int key[9];
  double *curve; /* 3 × nc: w2, w2_mean, w2_cov */
  int nc;
  double fin[3];
  double *m0, *var0; /* d */
} ref_point;

static int run_sweep(const char *yaml_path, const char *out) {
  gds_run_options opt;
  memset(&opt, 0, sizeof opt);
  opt.sweep_path = yaml_path;
  opt.out_path = out;
  opt.quiet = 1;
  return gds_run(MPI_COMM_WORLD, &opt);
}

/* Run sweep s and compare its whole output with the reference. */
static void check_sweep(const sweep_desc *s) {
  char dir[] = "/tmp/gds_e2e_XXXXXX", spec[256] = "", yaml_path[256], out[256];
  assert_non_null(mkdtemp(dir));
  const int H = s->eigen ? 1 : s->H, W = s->eigen ? s->neig : s->W, d = H * W;
  if (s->eigen) {
    snprintf(spec, sizeof spec, "%s/spectrum.npy", dir);
    char dict[96];
    snprintf(dict, sizeof dict, "{'descr': '<f8', 'fortran_order': False, 'shape': (%d,), }", s->neig);
    assert_int_equal(gds_test_write_npy(spec, dict, s->eig, (size_t)s->neig), 0);
  }
  char *yaml = sweep_yaml(s, spec);
  snprintf(yaml_path, sizeof yaml_path, "%s/sweep.yaml", dir);
  snprintf(out, sizeof out, "%s/out.h5", dir);
  FILE *fp = fopen(yaml_path, "w");
  assert_non_null(fp);
  fputs(yaml, fp);
  fclose(fp);
  double t0 = MPI_Wtime();
  int ierr = run_sweep(yaml_path, out);
  if (ierr) fail_msg("gds_run failed (%d) on the sweep:\n%s", ierr, yaml);
  const double t_run = MPI_Wtime() - t0;

  hid_t f = H5Fopen(out, H5F_ACC_RDONLY, H5P_DEFAULT);
  assert_true(f >= 0);
  const int n[9] = {s->nop, s->nsigma, s->nalpha, s->nalg, s->nsch, s->nsteps, s->vp ? s->neps : 1, 2, s->nseed};
  int maxK = 0;
  for (int i = 0; i < s->nsteps; i++) maxK = s->steps[i] > maxK ? s->steps[i] : maxK;
  const int ntime = s->vp ? maxK + 1 : s->T + 1;
  size_t np = 1;
  for (int a = 0; a < 9; a++) np *= (size_t)n[a];
  assert_int_equal((int)dim_of(f, "/results/w2", 9), ntime);

  /* the axes as this test means them */
  for (int i = 0; i < s->nop; i++) check_label(f, "/grid/operator", s->nop, i, opnames[s->op[i].kind], strlen(opnames[s->op[i].kind]));
  for (int i = 0; i < s->nalg; i++) check_label(f, "/grid/algorithm", s->nalg, i, s->alg[i].name, 0);
  for (int i = 0; i < s->nsch; i++) check_label(f, "/grid/scheme", s->nsch, i, s->sch[i].name, 0);
  check_label(f, "/grid/init", 2, 0, "normal", 0);
  check_label(f, "/grid/init", 2, 1, "exact", 0);

  /* prior: N(m 1, Σ) */
  double *mu = xmalloc(sizeof(double) * (size_t)d), *Sigma = xmalloc(sizeof(double) * (size_t)d * d);
  if (s->eigen) {
    for (int i = 0; i < d; i++) {
      mu[i] = s->eig_mean;
      Sigma[(size_t)i * d + i] = s->eig[i];
    }
    double *fs = rd(f, "/prior/spectrum", (size_t)d);
    for (int i = 0; i < d; i++) assert_true(fs[i] == s->eig[i]);
    free(fs);
  } else {
    double *u = rd(f, "/prior/texture", (size_t)d), *t = xmalloc(sizeof(double) * (size_t)d);
    long double sum = 0;
    for (int i = 0; i < d; i++) sum += u[i];
    const double m = (double)(sum / d);
    GDS_ASSERT_CLOSE(attr_double(f, "/prior", "mean"), m, 1e-14, 1e-15);
    for (int i = 0; i < d; i++) {
      mu[i] = m;
      t[i] = (u[i] - m) / sqrt((double)d);
    }
    assert_int_equal(dref_adsn_covariance(H, W, t, Sigma), DREF_OK);
    double *fs = rd(f, "/prior/spectrum", (size_t)d), lmax = 0;
    for (int i = 0; i < d; i++) lmax = fmax(lmax, fs[i]);
    for (int q = 0; q < H; q++)
      for (int r = 0; r < W; r++) { /* λ(ξ) = |DFT t|² (fft2 order) */
        double re, im;
        gds_test_dft_coef(H, W, t, q, r, &re, &im);
        GDS_ASSERT_CLOSE(fs[q * W + r], re * re + im * im, 0, 1e-12 * lmax);
      }
    free(fs);
    free(u);
    free(t);
  }
  /* schedule: SPEC §1 defaults β_start = 0.1/T, β_end = 20/T */
  double *beta = NULL;
  if (!s->vp) {
    beta = xmalloc(sizeof(double) * (size_t)(s->T + 1));
    const double b0 = 0.1 / s->T, b1 = 20.0 / s->T;
    for (int t = 1; t <= s->T; t++) beta[t] = b0 + (b1 - b0) * (t - 1) / (s->T - 1);
    double *fb = rd(f, "/schedule/beta", (size_t)s->T + 1);
    for (int t = 1; t <= s->T; t++) GDS_ASSERT_CLOSE(fb[t], beta[t], 1e-15, 0);
    free(fb);
  } else { /* /results/time: u_k = 1 − k(1 − ε)/K, NaN past K */
    double *ut = rd(f, "/results/time", (size_t)s->nsteps * s->neps * ntime);
    for (int i = 0; i < s->nsteps; i++)
      for (int e = 0; e < s->neps; e++)
        for (int k = 0; k < ntime; k++) {
          const double got = ut[((size_t)i * s->neps + e) * ntime + k], K = s->steps[i];
          if (k > K) assert_true(isnan(got));
          else GDS_ASSERT_CLOSE(got, k == K ? s->eps[e] : 1 - k * (1 - s->eps[e]) / K, 0, 1e-15);
        }
    free(ut);
  }

  /* results */
  double *w2 = rd(f, "/results/w2", np * ntime), *wm = rd(f, "/results/w2_mean", np * ntime);
  double *wc = rd(f, "/results/w2_cov", np * ntime), *wf = rd(f, "/results/w2_final", np);
  double *wfm = rd(f, "/results/w2_final_mean", np), *wfc = rd(f, "/results/w2_final_cov", np);
  double *sm = rd(f, "/results/sampler_mean", np * d), *sv = rd(f, "/results/sampler_variance", np * d);
  double *done = rd(f, "/results/done", np);
  double *pm = rd(f, "/problem/posterior_mean", (size_t)s->nop * s->nsigma * s->nseed * d);
  double *pv = rd(f, "/problem/posterior_variance", (size_t)s->nop * s->nsigma * d);
  for (size_t p = 0; p < np; p++) assert_true(done[p] == 1);

  ref_point *cache = xmalloc(sizeof(ref_point) * np);
  int ncache = 0, nref = 0;
  double worst = 0, *post_m = xmalloc(sizeof(double) * (size_t)d), *post_c = xmalloc(sizeof(double) * (size_t)d * d);
  double *cov = xmalloc(sizeof(double) * (size_t)d * d), *pc = xmalloc(sizeof(double) * (size_t)d);
  double *fcurve = xmalloc(sizeof(double) * 3 * (size_t)ntime), *diag = xmalloc(sizeof(double) * (size_t)d);
  const double tr0 = MPI_Wtime();
  for (int io = 0; io < s->nop; io++) {
    ref_op A = build_op(f, io, &s->op[io], H, W);
    char vpath[64];
    snprintf(vpath, sizeof vpath, "/problem/op%d/v", io);
    double *v = rd(f, vpath, (size_t)s->nsigma * s->nseed * A.m); /* [σ][seed][m] */
    for (int ig = 0; ig < s->nsigma; ig++)
      for (int ie = 0; ie < s->nseed; ie++) {
        const double *vv = v + ((size_t)ig * s->nseed + ie) * A.m;
        char tag[512];
        snprintf(tag, sizeof tag, "%s: op %d sigma %g seed %d posterior", s->name, io, s->sigma[ig], s->seed[ie]);
        assert_int_equal(dref_posterior(d, A.m, mu, Sigma, A.A, s->sigma[ig], vv, post_m, post_c), DREF_OK);
        for (int i = 0; i < d; i++) pc[i] = post_c[(size_t)i * d + i];
        worst = fmax(worst, viol(d, pm + (((size_t)io * s->nsigma + ig) * s->nseed + ie) * d, post_m, 1, RTOL, ATOL,
                                 "posterior_mean", tag));
        worst = fmax(worst, viol(d, pv + ((size_t)io * s->nsigma + ig) * d, pc, 1, RTOL, ATOL, "posterior_variance", tag));
      }
    /* every grid point of this operator, in file order */
    const size_t per_op = np / (size_t)s->nop;
    for (size_t q = 0; q < per_op; q++) {
      const size_t p = (size_t)io * per_op + q;
      int idx[9];
      size_t r = p;
      for (int a = 8; a >= 0; a--) {
        idx[a] = (int)(r % (size_t)n[a]);
        r /= (size_t)n[a];
      }
      const alg_desc *al = &s->alg[idx[3]];
      /* the axes the sampler uses: α for dps only, the scheme unless ddrm */
      int key[9];
      memcpy(key, idx, sizeof key);
      if (al->alg != DREF_DPS) key[2] = -1;
      if (al->alg == DREF_DDRM) key[4] = -1;
      ref_point *rp = NULL;
      for (int c = 0; c < ncache && !rp; c++)
        if (!memcmp(cache[c].key, key, sizeof key)) rp = &cache[c];
      const int K = s->steps[idx[5]], nc = s->vp ? K + 1 : s->T + 1;
      if (!rp) {
        rp = &cache[ncache++];
        memcpy(rp->key, key, sizeof key);
        rp->nc = nc;
        rp->curve = xmalloc(sizeof(double) * 3 * (size_t)nc);
        rp->m0 = xmalloc(sizeof(double) * (size_t)d);
        rp->var0 = xmalloc(sizeof(double) * (size_t)d);
        const scheme_desc *sc = &s->sch[idx[4]];
        dref_sampler rc = {.alg = al->alg, .alpha_dps = s->alpha[idx[2]], .eta = al->eta, .eta_b = al->eta_b,
                           .scheme = sc->scheme, .scheme_eta = sc->eta, .steps = K, .init_exact = idx[7] == 1,
                           .vp_sde = s->vp, .beta_min = s->beta_min, .beta_max = s->beta_max,
                           .eps = s->vp ? s->eps[idx[6]] : 0};
        dref_schedule ds = {s->T, beta, 0};
        const double *vv = v + ((size_t)idx[1] * s->nseed + idx[8]) * A.m;
        assert_int_equal(dref_sampler_law(d, A.m, mu, Sigma, A.A, s->sigma[idx[1]], vv, &rc, &ds, rp->curve,
                                          rp->curve + nc, rp->curve + 2 * nc, rp->fin, s->vp ? K : 0, rp->m0, cov,
                                          NULL, NULL),
                         DREF_OK);
        for (int i = 0; i < d; i++) rp->var0[i] = cov[(size_t)i * d + i];
        nref++;
      }
      char tag[512];
      snprintf(tag, sizeof tag, "%s: op %d sigma %g alpha %g %s %s steps %d eps %g init %s seed %d", s->name, io,
               s->sigma[idx[1]], s->alpha[idx[2]], al->name, s->sch[idx[4]].name, K, s->vp ? s->eps[idx[6]] : 0,
               idx[7] ? "exact" : "normal", s->seed[idx[8]]);
      /* curves: the reference's values (NaN where not visited), then NaN past K */
      for (int c = 0; c < 3; c++) {
        const double *fc = (c == 0 ? w2 : c == 1 ? wm : wc) + p * ntime;
        static const char *const cn[3] = {"w2", "w2_mean", "w2_cov"};
        worst = fmax(worst, viol(nc, fc, rp->curve + (size_t)c * nc, 0, RTOL, ATOL, cn[c], tag));
        for (int t = nc; t < ntime; t++)
          if (!isnan(fc[t])) {
            print_error("  %s %s[%d] = %g past the sampler's last step %d (NaN expected)\n", tag, cn[c], t, fc[t], K);
            worst = INFINITY;
          }
      }
      const double fin[3] = {wf[p], wfm[p], wfc[p]};
      worst = fmax(worst, viol(3, fin, rp->fin, 0, RTOL, ATOL, "w2_final", tag));
      if (isinf(rp->fin[0])) { /* no finite output law: +inf, never NaN */
        for (int i = 0; i < d; i++)
          if (!(isinf(sv[p * d + i]) && sv[p * d + i] > 0 && !isnan(sm[p * d + i]))) {
            print_error("  %s: an output law without finite value is not stored as +inf\n", tag);
            worst = INFINITY;
            break;
          }
      } else {
        worst = fmax(worst, viol(d, sm + p * d, rp->m0, 1, RTOL, ATOL, "sampler_mean", tag));
        worst = fmax(worst, viol(d, sv + p * d, rp->var0, 1, RTOL, ATOL, "sampler_variance", tag));
      }
    }
    for (int c = 0; c < ncache; c++) { /* the cache is per operator */
      free(cache[c].curve);
      free(cache[c].m0);
      free(cache[c].var0);
    }
    ncache = 0;
    free(v);
    free(A.A);
  }
  print_message("%s: %zu points (%d reference laws) on %dx%d: gds_run %.2f s, reference %.2f s, worst %.3g of the "
                "tolerance\n", s->name, np, nref, H, W, t_run, MPI_Wtime() - tr0, worst);
  assert_true(worst <= 1);
  free(cache);
  free(post_m);
  free(post_c);
  free(cov);
  free(pc);
  free(fcurve);
  free(diag);
  free(w2);
  free(wm);
  free(wc);
  free(wf);
  free(wfm);
  free(wfc);
  free(sm);
  free(sv);
  free(done);
  free(pm);
  free(pv);
  free(beta);
  free(mu);
  free(Sigma);
  H5Fclose(f);
  free(yaml);
  unlink(out);
  unlink(yaml_path);
  if (s->eigen) unlink(spec);
  rmdir(dir);
}

/* ---- the sweeps --------------------------------------------------------------------------- */

static const double SIGMA[] = {0.05};
static const double ALPHA[] = {0.5, 2.0};
static const int SEEDS2[] = {0, 5}, SEED1[] = {3};

/* Issue 9: discrete process. */
static void test_e2e_discrete(void **state) {
  (void)state;
  static const op_desc ops[] = {{OPK_IDENTITY, 0, 0, {0}},     {OPK_GBLUR, 1.0, 0, {0}},
                                {OPK_MBLUR, 3.0, 30.0, {0}},   {OPK_SR, 2, 0, {0}},
                                {OPK_INPAINT_RANDOM, 0.6, 4, {0}}, {OPK_INPAINT_BOX, 0, 0, {1, 1, 3, 2}}};
  static const alg_desc algs[] = {{DREF_NONE, 0, 0, "none"},   {DREF_DPS, 0, 0, "dps"},
                                  {DREF_PIGDM, 0, 0, "pigdm"}, {DREF_CGDM, 0, 0, "cgdm"},
                                  {DREF_DDRM, 0.85, 1.0, "ddrm(eta=0.85,eta_b=1)"},
                                  {DREF_DDRM, 0.3, 0.5, "ddrm(eta=0.3,eta_b=0.5)"}};
  static const scheme_desc sch[] = {{DREF_SCHEME_DDPM, 0, "ddpm", "ddpm"},
                                    {DREF_SCHEME_DDIM, 0, "ddim: {eta: 0}", "ddim(eta=0)"},
                                    {DREF_SCHEME_DDIM, 1, "ddim: {eta: 1}", "ddim(eta=1)"}};
  static const int steps[] = {7, 30};
  const sweep_desc s = {.name = "e2e-discrete", .H = 6, .W = 4, .T = 30, .nop = 6, .op = ops, .nsigma = 1,
                        .sigma = SIGMA, .nalpha = 2, .alpha = ALPHA, .nalg = 6, .alg = algs, .nsch = 3, .sch = sch,
                        .nsteps = 2, .steps = steps, .neps = 1, .eps = (const double[]){0}, .nseed = 2, .seed = SEEDS2};
  check_sweep(&s);
}

static const alg_desc VP_ALGS[] = {{DREF_NONE, 0, 0, "none"},
                                   {DREF_DPS, 0, 0, "dps"},
                                   {DREF_PIGDM, 0, 0, "pigdm"},
                                   {DREF_CGDM, 0, 0, "cgdm"}};
static const scheme_desc VP_SCH[] = {{DREF_SCHEME_EM, 0, "em", "em"},          {DREF_SCHEME_EI, 0, "ei", "ei"},
                                     {DREF_SCHEME_DDPM, 0, "ddpm", "ddpm"},    {DREF_SCHEME_EULER, 0, "euler", "euler"},
                                     {DREF_SCHEME_HEUN, 0, "heun", "heun"},    {DREF_SCHEME_RK4, 0, "rk4", "rk4"}};
/* K = 6: Δt β(1) = 20/6 ≥ 1, the ddpm scheme has no real value (+inf); K = 25: every scheme. */
static const int VP_STEPS[] = {6, 25};
static const double VP_EPS[] = {0, 1e-3};

/* Issue 10: vp_sde on blur (Fourier-diagonal), inpainting (dense) and super-resolution
 * (Fourier-block). */
static void test_e2e_vp_sde(void **state) {
  (void)state;
  static const op_desc ops[] = {{OPK_GBLUR, 1.0, 0, {0}}, {OPK_INPAINT_RANDOM, 0.6, 4, {0}}, {OPK_SR, 2, 0, {0}}};
  const sweep_desc s = {.name = "e2e-vp-sde", .vp = 1, .H = 6, .W = 4, .beta_min = 0.1, .beta_max = 20, .nop = 3,
                        .op = ops, .nsigma = 1, .sigma = SIGMA, .nalpha = 1, .alpha = ALPHA + 1, .nalg = 4,
                        .alg = VP_ALGS, .nsch = 6, .sch = VP_SCH, .nsteps = 2, .steps = VP_STEPS, .neps = 2,
                        .eps = VP_EPS, .nseed = 1, .seed = SEED1};
  check_sweep(&s);
}

/* Issue 10: vp_sde on a prior given by a 1-D spectrum (eigen-diagonal backend, identity), two
 * zero eigenvalues (singular Σ). */
static void test_e2e_vp_sde_eigen(void **state) {
  (void)state;
  static double eig[20];
  for (int i = 0; i < 20; i++) eig[i] = i < 2 ? 0.0 : 0.02 * (1 + i) * (1 + (i % 3));
  static const op_desc ops[] = {{OPK_IDENTITY, 0, 0, {0}}};
  const sweep_desc s = {.name = "e2e-vp-sde-eigen", .vp = 1, .eigen = 1, .neig = 20, .eig = eig, .eig_mean = 0.3,
                        .beta_min = 0.1, .beta_max = 20, .nop = 1, .op = ops, .nsigma = 1, .sigma = SIGMA,
                        .nalpha = 1, .alpha = ALPHA, .nalg = 4, .alg = VP_ALGS, .nsch = 6, .sch = VP_SCH,
                        .nsteps = 2, .steps = VP_STEPS, .neps = 2, .eps = VP_EPS, .nseed = 2, .seed = SEEDS2};
  check_sweep(&s);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_e2e_discrete),
      cmocka_unit_test(test_e2e_vp_sde),
      cmocka_unit_test(test_e2e_vp_sde_eigen),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  MPI_Finalize();
  return rc;
}
