/* gds_bench: single-core timings of the hot paths of gdsweep (see bench/README.md).
 *
 * Cases (each timed as median/min/max of --reps runs after --warmup untimed runs):
 *   law_<alg>          gds_law_create + gds_law_posterior + gds_law_evaluate (one seed, every
 *                      output: w2, w2_mean, w2_cov, mean0, var0, W2 at all T+1 times) + destroy
 *   law_<alg>.create / .posterior / .evaluate   the same runs split by phase
 *   traj_<alg>         one gds_sampler_run of T steps with 6 checkpoints
 *   rng                T calls of gds_rng_normal(d) (the sampler's noise: d normals per step)
 *   fft                T pairs r2c + c2r at H×W, FFTW_ESTIMATE (the sampler's transforms)
 *   vptable            the VP SDE table of the ICML-2025 paper (issue 10): `none`, identity,
 *                      a prior given by a 1-D spectrum (--spectrum FILE.npy, eigen-diagonal
 *                      law), 6 schemes × steps {9,19,49,99,199,499,999} × ε {0,1e-5,1e-4,1e-3}
 *                      × {normal, exact}; W2 at every step and w2_final; one timing for the
 *                      whole table (--dump writes vptable.npy [scheme, steps, eps, init])
 * One machine-readable line per case:  BENCH name median_s min_s max_s reps
 *
 * --dump DIR writes the problem (prior spectrum, kernel, v, schedule) and the C results as
 * .npy files plus meta.json, so bench/numpy_ref.py solves the very same problem and checks
 * that it does the same work (w2 curves equal to 1e-8, a few trajectory steps with the same
 * noise equal to float32 precision). */
#include <errno.h>
#include <fftw3.h>
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "gdsweep/algorithm.h"
#include "gdsweep/error.h"
#include <mpi.h>

#include "gdsweep/law.h"
#include "gdsweep/operator.h"
#include "gdsweep/prior.h"
#include "gdsweep/rng.h"
#include "gdsweep/sampler.h"
#include "gdsweep/schedule.h"
#include "gdsweep/scheme.h"
#include "gdsweep_config.h"

enum { MAX_REPS = 1000, N_CKPT = 6 };

typedef struct bench_opts {
  int H, W, T, reps, warmup, check_steps;
  int sr;       /* > 1: super_resolution(factor=sr) instead of the Gaussian blur */
  int w2_times; /* > 0: W2 at that many equally spaced times (T..0) instead of every t */
  double std, sigma, alpha;
  long seed;
  const char *texture, *cases, *algs, *traj_algs, *dump, *spectrum;
  /* law sampler (SPEC §7): scheme, sampler_steps (0: T), init; ddrm's (η, η_b) */
  gds_scheme_spec scheme;
  int sampler_steps;
  gds_init init;
  double ddrm_eta, ddrm_eta_b;
} bench_opts;

/* Everything the cases share: built once, outside any timing. */
typedef struct bench_problem {
  gds_prior *prior;
  gds_schedule *sched;
  gds_operator *op;
  double *x0, *v;
  unsigned char *w2_mask; /* NULL: W2 at every t */
  int d;
} bench_problem;

static double clock_s(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
static double now_s(void) { return clock_s(CLOCK_MONOTONIC); }
/* Process CPU time: on a shared machine wall time includes time slices lost to other jobs,
 * CPU time does not (it is reported next to the wall-clock statistics). */
static double cpu_s(void) { return clock_s(CLOCK_PROCESS_CPUTIME_ID); }

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median_sorted(int n, const double *t) { return n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]); }

/* Wall-clock median (mean of the two middle values for an even count), min, max, then the
 * CPU-time median; sorts both arrays. */
static void report(const char *name, int n, double *wall, double *cpu) {
  qsort(wall, (size_t)n, sizeof *wall, cmp_double);
  qsort(cpu, (size_t)n, sizeof *cpu, cmp_double);
  printf("BENCH %-22s %.6f %.6f %.6f %d %.6f\n", name, median_sorted(n, wall), wall[0], wall[n - 1], n,
         median_sorted(n, cpu));
  fflush(stdout);
}

/* Whether `item` is in the comma-separated `list`. */
static int in_list(const char *list, const char *item) {
  size_t n = strlen(item);
  for (const char *p = list; p && *p;) {
    const char *e = strchr(p, ',');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    if (len == n && !strncmp(p, item, n)) return 1;
    p = e ? e + 1 : NULL;
  }
  return 0;
}

/* ---- .npy output (format 1.0), so numpy_ref.py reads the problem without parsing code ---- */
static int write_npy(const char *dir, const char *name, const char *descr, size_t elsize, int ndim,
                     const int *shape, const void *data) {
  char path[4096], hdr[256], shp[96] = "";
  size_t count = 1;
  for (int i = 0; i < ndim; i++) {
    char b[24];
    snprintf(b, sizeof b, "%d,%s", shape[i], ndim == 1 ? "" : " ");
    strncat(shp, b, sizeof shp - strlen(shp) - 1);
    count *= (size_t)shape[i];
  }
  int n = snprintf(hdr, sizeof hdr, "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr, shp);
  int total = 10 + n + 1; /* magic+version+len, dict, '\n'; padded to a multiple of 64 */
  int pad = (64 - total % 64) % 64;
  snprintf(path, sizeof path, "%s/%s.npy", dir, name);
  FILE *f = fopen(path, "wb");
  if (!f) GDS_ERROR(GDS_ERR_RUNTIME, "cannot write %s: %s", path, strerror(errno));
  uint16_t hlen = (uint16_t)(n + pad + 1);
  unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hlen & 0xff), (unsigned char)(hlen >> 8)};
  int ok = fwrite(pre, 1, 10, f) == 10 && fwrite(hdr, 1, (size_t)n, f) == (size_t)n;
  for (int i = 0; i < pad && ok; i++) ok = fputc(' ', f) != EOF;
  ok = ok && fputc('\n', f) != EOF && fwrite(data, elsize, count, f) == count;
  if (fclose(f) || !ok) GDS_ERROR(GDS_ERR_RUNTIME, "write error on %s", path);
  return GDS_SUCCESS;
}

static int dump_f64(const bench_opts *o, const char *name, int ndim, const int *shape, const double *x) {
  if (!o->dump) return GDS_SUCCESS;
  GDS_CALL(write_npy(o->dump, name, "<f8", sizeof(double), ndim, shape, x));
  return GDS_SUCCESS;
}

/* ---- problem ---- */
static int problem_create(const bench_opts *o, bench_problem *pb) {
  gds_prior_options po = {.texture = o->texture, .H = o->H, .W = o->W, .periodic = 1};
  double b0, b1;
  gds_schedule_default_betas(o->T, &b0, &b1);
  GDS_CALL(gds_prior_create(&po, &pb->prior));
  GDS_CALL(gds_schedule_create(o->T, b0, b1, GDS_VARIANCE_BETA, &pb->sched));
  gds_operator_spec spec = {.type = GDS_OP_GAUSSIAN_BLUR, .std = o->std};
  if (o->sr > 1) spec = (gds_operator_spec){.type = GDS_OP_SUPER_RESOLUTION, .factor = o->sr};
  GDS_CALL(gds_operator_create(&spec, o->H, o->W, &pb->op));
  pb->d = o->H * o->W;
  GDS_CALL(GDS_ALLOC(pb->x0, pb->d));
  GDS_CALL(GDS_ALLOC(pb->v, pb->op->m));
  GDS_CALL(gds_prior_sample(pb->prior, o->seed, pb->x0));
  GDS_CALL(gds_operator_measure(pb->op, 0, pb->x0, o->sigma, o->seed, pb->v));
  if (o->w2_times > 0) {
    GDS_CALL(GDS_ALLOC(pb->w2_mask, o->T + 1));
    for (int k = 0; k < o->w2_times; k++) pb->w2_mask[(int)((double)o->T * k / (o->w2_times - 1) + 0.5)] = 1;
  }
  return GDS_SUCCESS;
}

static void problem_destroy(bench_problem *pb) {
  free(pb->w2_mask);
  free(pb->x0);
  free(pb->v);
  gds_operator_destroy(&pb->op);
  gds_schedule_destroy(&pb->sched);
  gds_prior_destroy(&pb->prior);
}

static int dump_problem(const bench_opts *o, const bench_problem *pb) {
  if (!o->dump) return GDS_SUCCESS;
  if (mkdir(o->dump, 0777) && errno != EEXIST) GDS_ERROR(GDS_ERR_RUNTIME, "cannot create %s: %s", o->dump, strerror(errno));
  int img[2] = {o->H, o->W}, tt[1] = {o->T + 1};
  GDS_CALL(dump_f64(o, "spectrum", 2, img, pb->prior->spectrum));
  GDS_CALL(dump_f64(o, "kernel", 2, img, pb->op->kernel));
  GDS_CALL(dump_f64(o, "v", 2, img, pb->v));
  GDS_CALL(dump_f64(o, "x0", 2, img, pb->x0));
  GDS_CALL(dump_f64(o, "beta", 1, tt, pb->sched->beta));
  GDS_CALL(dump_f64(o, "alpha", 1, tt, pb->sched->alpha));
  GDS_CALL(dump_f64(o, "alpha_bar", 1, tt, pb->sched->alpha_bar));
  GDS_CALL(dump_f64(o, "sigma2", 1, tt, pb->sched->sigma2));
  char path[4096];
  snprintf(path, sizeof path, "%s/meta.json", o->dump);
  FILE *f = fopen(path, "w");
  if (!f) GDS_ERROR(GDS_ERR_RUNTIME, "cannot write %s: %s", path, strerror(errno));
  /* %.17g: doubles read back exactly. */
  fprintf(f,
          "{\"H\": %d, \"W\": %d, \"T\": %d, \"sigma\": %.17g, \"alpha_dps\": %.17g, \"std\": %.17g,\n"
          " \"prior_mean\": %.17g, \"texture\": \"%s\", \"seed\": %ld, \"reps\": %d, \"warmup\": %d,\n"
          " \"algs\": \"%s\", \"traj_algs\": \"%s\", \"check_steps\": %d, \"revision\": \"%s\"}\n",
          o->H, o->W, o->T, o->sigma, o->alpha, o->std, pb->prior->mean, o->texture, o->seed, o->reps,
          o->warmup, o->algs, o->traj_algs, o->check_steps, GDS_GIT_REVISION);
  if (fclose(f)) GDS_ERROR(GDS_ERR_RUNTIME, "write error on %s", path);
  return GDS_SUCCESS;
}

/* ---- law ---- */
/* The sampler configuration of a law case: the options' scheme, steps and init. */
static gds_sampler_config law_config(const bench_opts *o, gds_algorithm alg) {
  gds_sampler_config c = {.alg = {.kind = alg}, .alpha_dps = o->alpha, .scheme = o->scheme, .steps = o->sampler_steps,
                          .init = o->init};
  if (alg == GDS_ALG_DDRM) {
    c.alg.eta = o->ddrm_eta;
    c.alg.eta_b = o->ddrm_eta_b;
  }
  return c;
}

/* law_<alg>, with the sampler appended when it is not the default one: law_ddrm(eta=0.85,eta_b=1)@S=20. */
static void law_case_name(const bench_opts *o, gds_algorithm alg, char *buf, size_t len) {
  gds_sampler_config c = law_config(o, alg);
  char an[64], sn[64];
  gds_algorithm_spec_name(&c.alg, an, sizeof an);
  gds_scheme_spec_name(&c.scheme, sn, sizeof sn);
  int uses = gds_algorithm_uses_scheme(alg), dflt = (!uses || c.scheme.kind == GDS_SCHEME_DDPM) &&
                                                 (c.steps <= 0 || c.steps == o->T) && c.init == GDS_INIT_NORMAL;
  if (dflt) snprintf(buf, len, "law_%s", an);
  else snprintf(buf, len, "law_%s@%s%sS=%d,%s", an, uses ? sn : "", uses ? "," : "", c.steps > 0 ? c.steps : o->T,
                gds_init_name(c.init));
}

typedef struct law_out {
  double *w2, *w2_mean, *w2_cov, *mean0, *var0, *post_mean, *post_var;
} law_out;

/* One full exact-law evaluation, timed by phase: wall[k], cpu[k] for k = create, posterior,
 * evaluate, and the whole (k = 3). */
static int law_once(const bench_opts *o, bench_problem *pb, gds_algorithm alg, law_out *out, double wall[4],
                    double cpu[4]) {
  gds_law *law;
  double t0 = now_s(), c0 = cpu_s();
  GDS_CALL(gds_law_create(pb->prior, pb->sched, pb->op, o->sigma, &law));
  double t1 = now_s(), c1 = cpu_s();
  int ierr = gds_law_posterior(law, pb->v, out->post_mean, out->post_var);
  double t2 = now_s(), c2 = cpu_s();
  const double *vv[1] = {pb->v};
  gds_law_request req = {.cfg = law_config(o, alg), .nseeds = 1, .v = vv, .w2_mask = pb->w2_mask};
  gds_law_result res = {.w2_cov = out->w2_cov, .var0 = out->var0, .w2_mean = &out->w2_mean, .w2 = &out->w2, .mean0 = &out->mean0};
  if (!ierr) ierr = gds_law_evaluate(law, &req, &res);
  gds_law_destroy(&law);
  double t3 = now_s(), c3 = cpu_s();
  GDS_CALL(ierr);
  double tw[4] = {t1 - t0, t2 - t1, t3 - t2, t3 - t0}, tc[4] = {c1 - c0, c2 - c1, c3 - c2, c3 - c0};
  memcpy(wall, tw, sizeof tw); /* evaluate includes gds_law_destroy (frees only) */
  memcpy(cpu, tc, sizeof tc);
  return GDS_SUCCESS;
}

static int bench_law(const bench_opts *o, bench_problem *pb, gds_algorithm alg) {
  int T1 = o->T + 1, d = pb->d, ierr = 0;
  double *blk, *tw, *tc; /* tw/tc[k·reps + r]: wall/CPU time of phase k in run r */
  GDS_CALL(GDS_ALLOC(blk, 3 * (size_t)T1 + 4 * (size_t)d));
  GDS_CALL(GDS_ALLOC(tw, 8 * (size_t)o->reps));
  tc = tw + 4 * (size_t)o->reps;
  law_out out = {blk, blk + T1, blk + 2 * T1, blk + 3 * T1, blk + 3 * T1 + d, blk + 3 * T1 + 2 * d, blk + 3 * T1 + 3 * d};
  for (int r = -o->warmup; r < o->reps && !ierr; r++) {
    double w[4] = {0}, c[4] = {0};
    ierr = law_once(o, pb, alg, &out, w, c);
    for (int k = 0; k < 4 && r >= 0; k++) {
      tw[(size_t)k * o->reps + r] = w[k];
      tc[(size_t)k * o->reps + r] = c[k];
    }
  }
  if (!ierr && o->reps > 0) {
    const char *an = gds_algorithm_name(alg), *phase[3] = {"create", "posterior", "evaluate"};
    char name[192], base[160];
    law_case_name(o, alg, base, sizeof base);
    report(base, o->reps, tw + 3 * (size_t)o->reps, tc + 3 * (size_t)o->reps);
    for (int k = 0; k < 3; k++) {
      snprintf(name, sizeof name, "%s.%s", base, phase[k]);
      report(name, o->reps, tw + (size_t)k * o->reps, tc + (size_t)k * o->reps);
    }
    /* Reference results for numpy_ref.py (from the last run; every run computes the same). */
    int img[2] = {o->H, o->W}, tt[1] = {T1};
    struct { const char *what; int ndim; const int *shape; const double *x; } arr[] = {
        {"w2", 1, tt, out.w2}, {"w2_mean", 1, tt, out.w2_mean}, {"w2_cov", 1, tt, out.w2_cov},
        {"mean0", 2, img, out.mean0}, {"var0", 2, img, out.var0},
        {"post_mean", 2, img, out.post_mean}, {"post_var", 2, img, out.post_var}};
    for (size_t i = 0; i < sizeof arr / sizeof *arr && !ierr; i++) {
      snprintf(name, sizeof name, "%s_%s", arr[i].what, an);
      ierr = dump_f64(o, name, arr[i].ndim, arr[i].shape, arr[i].x);
    }
  }
  free(tw);
  free(blk);
  GDS_CALL(ierr);
  return GDS_SUCCESS;
}

/* ---- trajectory ---- */
/* Same noise, few steps: the sampler's y_{T−k} and the normals it used (blocks 0, T..T−k+1,
 * SPEC §3), so numpy_ref.py can replay the steps and compare. */
static int dump_traj_check(const bench_opts *o, bench_problem *pb, gds_sampler *smp, gds_algorithm alg) {
  int k = o->check_steps < o->T ? o->check_steps : o->T, d = pb->d, ck[2] = {o->T, o->T - k};
  double *noise;
  float *y;
  GDS_CALL(GDS_ALLOC(noise, (size_t)(k + 1) * d));
  GDS_CALL(GDS_ALLOC(y, 2 * (size_t)d));
  int ierr = gds_sampler_run(smp, &(gds_sampler_config){.alg = {.kind = alg}, .alpha_dps = o->alpha}, pb->v, o->seed, 0, 2, ck, y, NULL, NULL);
  /* the pixel noise the sampler used (white Fourier coefficients, inverse-transformed) */
  if (!ierr) ierr = gds_sampler_noise_pixels(smp, o->seed, 0, 0, noise); /* y_T */
  for (int j = 1; j <= k && !ierr; j++) ierr = gds_sampler_noise_pixels(smp, o->seed, 0, (uint64_t)(o->T - j + 1), noise + (size_t)j * d);
  char name[64];
  int shp[3] = {k + 1, o->H, o->W}, yshp[2] = {o->H, o->W};
  snprintf(name, sizeof name, "trajcheck_noise_%s", gds_algorithm_name(alg));
  if (!ierr) ierr = dump_f64(o, name, 3, shp, noise);
  snprintf(name, sizeof name, "trajcheck_y_%s", gds_algorithm_name(alg));
  if (!ierr) ierr = write_npy(o->dump, name, "<f4", sizeof(float), 2, yshp, y + d);
  free(noise);
  free(y);
  GDS_CALL(ierr);
  return GDS_SUCCESS;
}

static int bench_traj(const bench_opts *o, bench_problem *pb, gds_algorithm alg) {
  gds_sampler *smp;
  int T = o->T, d = pb->d, ierr = 0;
  int ck[N_CKPT] = {T, 4 * T / 5, 3 * T / 5, 2 * T / 5, T / 5, 0};
  float *traj;
  double *y0, *tm;
  GDS_CALL(gds_sampler_create(pb->prior, pb->sched, pb->op, o->sigma, &smp));
  GDS_CALL(GDS_ALLOC(traj, (size_t)N_CKPT * d));
  GDS_CALL(GDS_ALLOC(y0, d));
  GDS_CALL(GDS_ALLOC(tm, 2 * (size_t)o->reps)); /* wall, then CPU */
  for (int r = -o->warmup; r < o->reps && !ierr; r++) {
    double t0 = now_s(), c0 = cpu_s();
    ierr = gds_sampler_run(smp, &(gds_sampler_config){.alg = {.kind = alg}, .alpha_dps = o->alpha}, pb->v, o->seed, r < 0 ? 0 : r, N_CKPT, ck, traj, y0, NULL);
    if (r >= 0) {
      tm[r] = now_s() - t0;
      tm[o->reps + r] = cpu_s() - c0;
    }
  }
  if (!ierr && o->reps > 0) {
    char name[64];
    snprintf(name, sizeof name, "traj_%s", gds_algorithm_name(alg));
    report(name, o->reps, tm, tm + o->reps);
    if (o->dump) ierr = dump_traj_check(o, pb, smp, alg);
  }
  gds_sampler_destroy(&smp);
  free(tm);
  free(y0);
  free(traj);
  GDS_CALL(ierr);
  return GDS_SUCCESS;
}

/* ---- the VP SDE table (issue 10) ---- */
/* A 1-D .npy array of float32 or float64 (little-endian, C order, version 1 or 2 header). */
static int read_npy_1d(const char *path, double **out, int *n) {
  FILE *f = fopen(path, "rb");
  if (!f) GDS_ERROR(GDS_ERR_INPUT, "cannot open %s: %s", path, strerror(errno));
  unsigned char pre[12];
  char hdr[4096];
  int ierr = GDS_SUCCESS;
  size_t hl = 0, got = fread(pre, 1, 10, f);
  if (got == 10 && pre[6] >= 2) got += fread(pre + 10, 1, 2, f);
  if (got < 10 || memcmp(pre, "\x93NUMPY", 6)) {
    fclose(f);
    GDS_ERROR(GDS_ERR_INPUT, "%s: not a .npy file", path);
  }
  hl = pre[6] >= 2 ? pre[8] | pre[9] << 8 | pre[10] << 16 | (size_t)pre[11] << 24 : (size_t)(pre[8] | pre[9] << 8);
  if (hl >= sizeof hdr || fread(hdr, 1, hl, f) != hl) {
    fclose(f);
    GDS_ERROR(GDS_ERR_INPUT, "%s: bad .npy header", path);
  }
  hdr[hl] = 0;
  int f4 = strstr(hdr, "'<f4'") != NULL, f8 = strstr(hdr, "'<f8'") != NULL;
  char *sh = strstr(hdr, "'shape': (");
  long len = sh ? strtol(sh + 10, NULL, 10) : -1;
  if ((!f4 && !f8) || strstr(hdr, "True") || len < 1 || (sh && strchr(sh + 10, ',') && strchr(sh + 10, ',')[1] != ')')) {
    fclose(f);
    GDS_ERROR(GDS_ERR_INPUT, "%s: expected a 1-D float32/float64 C-order array (header %s)", path, hdr);
  }
  double *x = malloc(sizeof(double) * (size_t)len);
  float *y = f4 ? malloc(sizeof(float) * (size_t)len) : NULL;
  if (!x || (f4 && !y)) ierr = gds_error_raise(GDS_ERR_RUNTIME, __FILE__, __LINE__, __func__, "out of memory");
  else if (f4 ? fread(y, sizeof(float), (size_t)len, f) != (size_t)len : fread(x, sizeof(double), (size_t)len, f) != (size_t)len)
    ierr = gds_error_raise(GDS_ERR_INPUT, __FILE__, __LINE__, __func__, "%s: short file", path);
  for (long i = 0; f4 && !ierr && i < len; i++) x[i] = y[i] == 0 ? 0.0 : y[i]; /* −0 is 0 */
  free(y);
  fclose(f);
  if (ierr) {
    free(x);
    return ierr;
  }
  *out = x;
  *n = (int)len;
  return GDS_SUCCESS;
}

static int bench_vptable(const bench_opts *o) {
  if (!o->spectrum) GDS_ERROR(GDS_ERR_INPUT, "case vptable needs --spectrum FILE.npy (a 1-D eigenvalue list)");
  double *lam = NULL;
  int n = 0, ierr = GDS_SUCCESS;
  GDS_CALL(read_npy_1d(o->spectrum, &lam, &n));
  const gds_scheme kinds[6] = {GDS_SCHEME_EM, GDS_SCHEME_EI, GDS_SCHEME_DDPM, GDS_SCHEME_EULER, GDS_SCHEME_HEUN, GDS_SCHEME_RK4};
  const int steps[7] = {9, 19, 49, 99, 199, 499, 999};
  const double eps[4] = {0, 1e-5, 1e-4, 1e-3};
  gds_prior pr = {.H = 1, .W = n, .basis = GDS_PRIOR_BASIS_EIGEN, .mean = 0, .spectrum = lam};
  snprintf(pr.name, sizeof pr.name, "%s", o->spectrum);
  gds_operator_spec ispec = {.type = GDS_OP_IDENTITY};
  gds_operator *op = NULL;
  gds_schedule *vp = NULL;
  gds_law *law = NULL;
  double *v = NULL, *w2 = NULL, *table = NULL, *tm = NULL;
  GDS_CALL_GOTO(ierr, out, gds_operator_create(&ispec, 1, n, &op));
  GDS_CALL_GOTO(ierr, out, gds_schedule_create_vp_sde(0.1, 20, &vp));
  GDS_CALL_GOTO(ierr, out, GDS_ALLOC(v, n));
  GDS_CALL_GOTO(ierr, out, GDS_ALLOC(w2, 1000));
  GDS_CALL_GOTO(ierr, out, GDS_ALLOC(table, 6 * 7 * 4 * 2));
  GDS_CALL_GOTO(ierr, out, GDS_ALLOC(tm, 2 * (size_t)o->reps));
  for (int r = -o->warmup; r < o->reps && !ierr; r++) {
    double t0 = now_s(), c0 = cpu_s();
    GDS_CALL_GOTO(ierr, out, gds_law_create_backend(MPI_COMM_SELF, "eigen", &pr, vp, op, 1.0, &law));
    for (int a = 0; a < 6; a++)
      for (int b = 0; b < 7; b++)
        for (int c = 0; c < 4; c++)
          for (int i = 0; i < 2; i++) {
            double *w2p[1] = {w2}, fin;
            const double *vv[1] = {v};
            gds_law_request rq = {.cfg = {.alg = {GDS_ALG_NONE}, .scheme = {kinds[a], 0}, .steps = steps[b], .eps = eps[c],
                                          .init = (gds_init)i},
                                  .nseeds = 1, .v = vv};
            gds_law_result rs = {.w2 = w2p, .w2_final = &fin};
            GDS_CALL_GOTO(ierr, out, gds_law_evaluate(law, &rq, &rs));
            table[((a * 7 + b) * 4 + c) * 2 + i] = fin;
          }
    gds_law_destroy(&law);
    if (r >= 0) {
      tm[r] = now_s() - t0;
      tm[o->reps + r] = cpu_s() - c0;
    }
  }
  report("vptable", o->reps, tm, tm + o->reps);
  int shp[4] = {6, 7, 4, 2};
  ierr = dump_f64(o, "vptable", 4, shp, table);
out:
  gds_law_destroy(&law);
  gds_operator_destroy(&op);
  gds_schedule_destroy(&vp);
  free(lam);
  free(v);
  free(w2);
  free(table);
  free(tm);
  return ierr;
}

/* ---- components of a trajectory ---- */
/* T blocks of d normals (what a trajectory draws), on one generator path; "rng" is the path
 * the sampler uses (AUTO), "rng.<path>" each path explicitly. */
static int bench_rng_path(const bench_opts *o, int d, gds_rng_path path) {
  double *z, *tm, sink = 0;
  GDS_CALL(gds_malloc_aligned(sizeof(double) * (size_t)d, &z));
  GDS_CALL(GDS_ALLOC(tm, 2 * (size_t)o->reps));
  gds_rng_key key = gds_rng_key_make(GDS_STREAM_SAMPLER, 12345, 0);
  for (int r = -o->warmup; r < o->reps; r++) {
    double t0 = now_s(), c0 = cpu_s();
    for (int t = 1; t <= o->T; t++) {
      gds_rng_normal_path(path, key, (uint64_t)t, (size_t)d, z);
      sink += z[t % d]; /* keeps the calls observable */
    }
    if (r >= 0) {
      tm[r] = now_s() - t0;
      tm[o->reps + r] = cpu_s() - c0;
    }
  }
  char name[64];
  if (path == GDS_RNG_PATH_AUTO) snprintf(name, sizeof name, "rng");
  else snprintf(name, sizeof name, "rng.%s", gds_rng_path_name(path));
  report(name, o->reps, tm, tm + o->reps);
  if (!isfinite(sink)) fprintf(stderr, "gds_bench: rng produced a non-finite value\n");
  free(tm);
  free(z);
  return GDS_SUCCESS;
}

static int bench_rng(const bench_opts *o, int d) {
  GDS_CALL(bench_rng_path(o, d, GDS_RNG_PATH_AUTO));
  for (int p = GDS_RNG_PATH_SCALAR; p < GDS_RNG_PATH_COUNT; p++)
    if (gds_rng_path_available((gds_rng_path)p)) GDS_CALL(bench_rng_path(o, d, (gds_rng_path)p));
  return GDS_SUCCESS;
}

static int bench_fft(const bench_opts *o) {
  int H = o->H, W = o->W, d = H * W, nf = H * (W / 2 + 1);
  double *x = fftw_alloc_real((size_t)d), *y = fftw_alloc_real((size_t)d), *tm;
  fftw_complex *xh = fftw_alloc_complex((size_t)nf);
  if (!x || !y || !xh) GDS_ERROR(GDS_ERR_RUNTIME, "out of memory (FFT buffers)");
  /* Same plans as the sampler: out of place, FFTW_ESTIMATE (deterministic rounding). */
  fftw_plan fwd = fftw_plan_dft_r2c_2d(H, W, x, xh, FFTW_ESTIMATE);
  fftw_plan bwd = fftw_plan_dft_c2r_2d(H, W, xh, y, FFTW_ESTIMATE); /* y: x stays the input */
  if (!fwd || !bwd) GDS_ERROR(GDS_ERR_RUNTIME, "FFTW planning failed");
  GDS_CALL(GDS_ALLOC(tm, 2 * (size_t)o->reps));
  for (int i = 0; i < d; i++) x[i] = sin(0.1 * i);
  for (int r = -o->warmup; r < o->reps; r++) {
    double t0 = now_s(), c0 = cpu_s();
    for (int t = 0; t < o->T; t++) {
      fftw_execute(fwd);
      fftw_execute(bwd);
    }
    if (r >= 0) {
      tm[r] = now_s() - t0;
      tm[o->reps + r] = cpu_s() - c0;
    }
  }
  report("fft", o->reps, tm, tm + o->reps);
  fftw_destroy_plan(fwd);
  fftw_destroy_plan(bwd);
  fftw_free(x);
  fftw_free(y);
  fftw_free(xh);
  free(tm);
  return GDS_SUCCESS;
}

/* ---- driver ---- */
static void usage(FILE *f) {
  fprintf(f,
          "usage: gds_bench [options]\n"
          "  -s, --size N        image N x N (default 256); or --height/--width\n"
          "  -T, --steps T       diffusion steps (default 1000; default betas 0.1/T..20/T)\n"
          "  -r, --reps R        timed repetitions per case (default 5; median, min, max)\n"
          "      --warmup W      untimed runs first (default 1)\n"
          "      --cases LIST    of law,traj,rng,fft (default all)\n"
          "      --algs LIST     law algorithms (default none,dps,pigdm,cgdm)\n"
          "      --traj-algs L   trajectory algorithms (default cgdm)\n"
          "      --std S         gaussian_blur std (default 2)\n"
          "      --sigma S       measurement noise (default 0.05)\n"
          "      --alpha A       alpha_dps (default 1)\n"
          "      --texture T     prior texture (default builtin:fabric, periodic component)\n"
          "      --seed N        seed of x0, n and the sampler noise (default 0)\n"
          "      --dump DIR      write problem + C results as .npy for bench/numpy_ref.py\n"
          "      --check-steps K trajectory steps replayed by numpy_ref.py (default 3)\n"
          "      --sr S          super_resolution(factor=S) instead of the blur (Fourier-block law)\n"
          "      --w2-times N    W2 at N equally spaced times only (default: every t)\n"
          "      --scheme S      law sampler scheme: ddpm (default) or ddim:ETA\n"
          "      --sampler-steps S  respaced law sampler with S steps (default T)\n"
          "      --init I        normal (default) or exact\n"
          "      --ddrm E,EB     eta and eta_b of the algorithm ddrm in --algs (default 0.85,1)\n"
          "      --spectrum F    1-D eigenvalues (.npy) for the case vptable\n"
          "output: one line 'BENCH name median_s min_s max_s reps cpu_median_s' per case\n");
}

static int parse_int(const char *s, int lo, const char *what, int *out) {
  char *e;
  long x = strtol(s, &e, 10);
  if (*e || e == s || x < lo || x > 1 << 20) GDS_ERROR(GDS_ERR_INPUT, "bad %s '%s' (integer >= %d)", what, s, lo);
  *out = (int)x;
  return GDS_SUCCESS;
}

static int parse_pos(const char *s, const char *what, double *out) {
  char *e;
  double x = strtod(s, &e);
  if (*e || e == s || !(x > 0) || !isfinite(x)) GDS_ERROR(GDS_ERR_INPUT, "bad %s '%s' (number > 0)", what, s);
  *out = x;
  return GDS_SUCCESS;
}

static int parse_args(int argc, char **argv, bench_opts *o) {
  enum { O_WARM = 256, O_CASES, O_ALGS, O_TALGS, O_STD, O_SIGMA, O_ALPHA, O_TEX, O_SEED, O_DUMP, O_CHECK, O_H, O_W,
         O_SR, O_W2T, O_SCHEME, O_SSTEPS, O_INIT, O_DDRM, O_SPEC };
  static const struct option lo[] = {
      {"size", required_argument, 0, 's'},     {"steps", required_argument, 0, 'T'},
      {"reps", required_argument, 0, 'r'},     {"warmup", required_argument, 0, O_WARM},
      {"cases", required_argument, 0, O_CASES}, {"algs", required_argument, 0, O_ALGS},
      {"traj-algs", required_argument, 0, O_TALGS}, {"std", required_argument, 0, O_STD},
      {"sigma", required_argument, 0, O_SIGMA}, {"alpha", required_argument, 0, O_ALPHA},
      {"texture", required_argument, 0, O_TEX}, {"seed", required_argument, 0, O_SEED},
      {"dump", required_argument, 0, O_DUMP},   {"check-steps", required_argument, 0, O_CHECK},
      {"height", required_argument, 0, O_H},    {"width", required_argument, 0, O_W},
      {"sr", required_argument, 0, O_SR},       {"w2-times", required_argument, 0, O_W2T},
      {"scheme", required_argument, 0, O_SCHEME}, {"sampler-steps", required_argument, 0, O_SSTEPS},
      {"init", required_argument, 0, O_INIT},   {"ddrm", required_argument, 0, O_DDRM},
      {"spectrum", required_argument, 0, O_SPEC},
      {"help", no_argument, 0, 'h'},            {0, 0, 0, 0}};
  int c, n;
  while ((c = getopt_long(argc, argv, "s:T:r:h", lo, NULL)) != -1) {
    switch (c) {
    case 's': GDS_CALL(parse_int(optarg, 2, "size", &n)); o->H = o->W = n; break;
    case O_H: GDS_CALL(parse_int(optarg, 2, "height", &o->H)); break;
    case O_W: GDS_CALL(parse_int(optarg, 2, "width", &o->W)); break;
    case 'T': GDS_CALL(parse_int(optarg, 2, "steps", &o->T)); break;
    case 'r': GDS_CALL(parse_int(optarg, 1, "reps", &o->reps)); break;
    case O_WARM: GDS_CALL(parse_int(optarg, 0, "warmup", &o->warmup)); break;
    case O_CASES: o->cases = optarg; break;
    case O_ALGS: o->algs = optarg; break;
    case O_TALGS: o->traj_algs = optarg; break;
    case O_STD: GDS_CALL(parse_pos(optarg, "std", &o->std)); break;
    case O_SIGMA: GDS_CALL(parse_pos(optarg, "sigma", &o->sigma)); break;
    case O_ALPHA: GDS_CALL(parse_pos(optarg, "alpha", &o->alpha)); break;
    case O_TEX: o->texture = optarg; break;
    case O_SEED: GDS_CALL(parse_int(optarg, 0, "seed", &n)); o->seed = n; break;
    case O_DUMP: o->dump = optarg; break;
    case O_CHECK: GDS_CALL(parse_int(optarg, 1, "check-steps", &o->check_steps)); break;
    case O_SR: GDS_CALL(parse_int(optarg, 2, "sr", &o->sr)); break;
    case O_W2T: GDS_CALL(parse_int(optarg, 2, "w2-times", &o->w2_times)); break;
    case O_SCHEME: {
      char *colon = strchr(optarg, ':');
      if (!strncmp(optarg, "ddpm", 4) && !optarg[4]) o->scheme = (gds_scheme_spec){GDS_SCHEME_DDPM, 0};
      else if (!strncmp(optarg, "ddim", 4) && colon && colon == optarg + 4) {
        char *e;
        o->scheme = (gds_scheme_spec){GDS_SCHEME_DDIM, strtod(colon + 1, &e)};
        if (*e || !(o->scheme.eta >= 0 && o->scheme.eta <= 1)) GDS_ERROR(GDS_ERR_INPUT, "bad scheme '%s' (ddim:ETA, ETA in [0, 1])", optarg);
      } else GDS_ERROR(GDS_ERR_INPUT, "bad scheme '%s' (ddpm or ddim:ETA)", optarg);
      break;
    }
    case O_SSTEPS: GDS_CALL(parse_int(optarg, 1, "sampler-steps", &o->sampler_steps)); break;
    case O_INIT:
      if (!strcmp(optarg, "normal")) o->init = GDS_INIT_NORMAL;
      else if (!strcmp(optarg, "exact")) o->init = GDS_INIT_EXACT;
      else GDS_ERROR(GDS_ERR_INPUT, "bad init '%s' (normal or exact)", optarg);
      break;
    case O_SPEC: o->spectrum = optarg; break;
    case O_DDRM:
      if (sscanf(optarg, "%lf,%lf", &o->ddrm_eta, &o->ddrm_eta_b) != 2) GDS_ERROR(GDS_ERR_INPUT, "bad --ddrm '%s' (E,EB)", optarg);
      break;
    case 'h': usage(stdout); exit(0);
    default: usage(stderr); GDS_ERROR(GDS_ERR_INPUT, "bad command line");
    }
  }
  if (optind < argc) GDS_ERROR(GDS_ERR_INPUT, "unexpected argument '%s'", argv[optind]);
  if (o->reps > MAX_REPS) GDS_ERROR(GDS_ERR_INPUT, "at most %d reps", MAX_REPS);
  /* Every name must be known: a typo would silently drop a case from the comparison. */
  const char *known[] = {"law", "traj", "rng", "fft", "vptable"};
  for (const char *lists[3] = {o->cases, o->algs, o->traj_algs}, **l = lists; l < lists + 3; l++) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s", *l);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
      gds_algorithm a;
      int ok = l == lists ? 0 : !gds_algorithm_from_name(tok, &a);
      for (size_t i = 0; l == lists && i < sizeof known / sizeof *known; i++) ok |= !strcmp(tok, known[i]);
      if (!ok) GDS_ERROR(GDS_ERR_INPUT, "unknown %s '%s'", l == lists ? "case" : "algorithm", tok);
    }
  }
  return GDS_SUCCESS;
}

static int run(int argc, char **argv) {
  bench_opts o = {.H = 256, .W = 256, .T = 1000, .reps = 5, .warmup = 1, .check_steps = 3,
                  .std = 2.0, .sigma = 0.05, .alpha = 1.0, .seed = 0, .texture = "builtin:fabric",
                  .cases = "law,traj,rng,fft", .algs = "none,dps,pigdm,cgdm", .traj_algs = "cgdm", .dump = NULL,
                  .ddrm_eta = 0.85, .ddrm_eta_b = 1.0};
  GDS_CALL(parse_args(argc, argv, &o));
  bench_problem pb = {0};
  int ierr = problem_create(&o, &pb);
  printf("# gds_bench %s (%s, %s): %dx%d T=%d reps=%d warmup=%d gaussian_blur(std=%g) sigma=%g alpha_dps=%g "
         "prior=%s periodic seed=%ld\n",
         GDS_VERSION, GDS_GIT_REVISION, GDS_COMPILER, o.H, o.W, o.T, o.reps, o.warmup, o.std, o.sigma, o.alpha,
         o.texture, o.seed);
  if (!ierr) ierr = dump_problem(&o, &pb);
  const gds_algorithm algs[] = {GDS_ALG_NONE, GDS_ALG_DPS, GDS_ALG_PIGDM, GDS_ALG_CGDM, GDS_ALG_DDRM};
  for (size_t i = 0; i < 5 && !ierr; i++)
    if (in_list(o.cases, "law") && in_list(o.algs, gds_algorithm_name(algs[i]))) ierr = bench_law(&o, &pb, algs[i]);
  for (size_t i = 0; i < 4 && !ierr; i++)
    if (in_list(o.cases, "traj") && in_list(o.traj_algs, gds_algorithm_name(algs[i]))) ierr = bench_traj(&o, &pb, algs[i]);
  if (!ierr && in_list(o.cases, "rng")) ierr = bench_rng(&o, pb.d);
  if (!ierr && in_list(o.cases, "fft")) ierr = bench_fft(&o);
  if (!ierr && in_list(o.cases, "vptable")) ierr = bench_vptable(&o);
  problem_destroy(&pb);
  GDS_CALL(ierr);
  return GDS_SUCCESS;
}

int main(int argc, char **argv) { return run(argc, argv); }
