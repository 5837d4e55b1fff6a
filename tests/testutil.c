#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void gds_test_assert_close(double a, double b, double rtol, double atol, const char *what,
                           const char *file, int line) {
  double tol = fmax(rtol * fabs(b), atol);
  if (!(fabs(a - b) <= tol)) {
    print_error("%s:%d: %s = %.17g, expected %.17g (|diff| %.3g > tol %.3g)\n", file, line, what,
                a, b, fabs(a - b), tol);
    _fail(file, line);
  }
}

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

void gds_test_fill_uniform(uint64_t seed, size_t n, double lo, double hi, double *out) {
  uint64_t s = seed * 2654435761u + 12345;
  for (size_t i = 0; i < n; i++) out[i] = lo + (hi - lo) * ((splitmix64(&s) >> 11) * 0x1.0p-53);
}

void gds_test_fill_normal(uint64_t seed, size_t n, double *out) {
  uint64_t s = seed * 0x2545F4914F6CDD1Dull + 99;
  for (size_t i = 0; i < n; i += 2) {
    double u1 = ((splitmix64(&s) >> 11) + 1) * 0x1.0p-53, u2 = (splitmix64(&s) >> 11) * 0x1.0p-53;
    double r = sqrt(-2 * log(u1));
    out[i] = r * cos(2 * M_PI * u2);
    if (i + 1 < n) out[i + 1] = r * sin(2 * M_PI * u2);
  }
}

char *gds_test_write_temp(const char *suffix, const char *text) {
  char tmpl[256];
  snprintf(tmpl, sizeof tmpl, "/tmp/gdstestXXXXXX%s", suffix ? suffix : "");
  int fd = mkstemps(tmpl, suffix ? (int)strlen(suffix) : 0);
  if (fd < 0) return NULL;
  size_t n = strlen(text);
  if (write(fd, text, n) != (ssize_t)n) { close(fd); return NULL; }
  close(fd);
  return strdup(tmpl);
}

#include "gdsweep/prior.h"

void gds_test_dft_coef(int H, int W, const double *x, int q, int r, double *re, double *im) {
  long double sr = 0, si = 0;
  for (int i = 0; i < H; i++)
    for (int j = 0; j < W; j++) {
      long double ph = -2.0L * 3.14159265358979323846264338327950288L * ((long double)q * i / H + (long double)r * j / W);
      sr += x[i * W + j] * cosl(ph);
      si += x[i * W + j] * sinl(ph);
    }
  *re = (double)sr;
  *im = (double)si;
}

struct gds_prior *gds_test_prior_random(int H, int W, double mean, uint64_t seed) {
  int d = H * W;
  gds_prior *p = calloc(1, sizeof *p);
  p->H = H;
  p->W = W;
  p->mean = mean;
  p->texton = calloc((size_t)d, sizeof(double));
  p->texture = calloc((size_t)d, sizeof(double));
  p->spectrum = calloc((size_t)d, sizeof(double));
  gds_test_fill_normal(seed, (size_t)d, p->texton);
  double avg = 0;
  for (int i = 0; i < d; i++) avg += p->texton[i] / d;
  for (int i = 0; i < d; i++) {
    p->texton[i] = 0.15 * (p->texton[i] - avg); /* zero mean: λ(0) = 0 as for ADSN */
    p->texture[i] = mean + sqrt((double)d) * p->texton[i];
  }
  for (int q = 0; q < H; q++)
    for (int r = 0; r < W; r++) {
      double re, im;
      gds_test_dft_coef(H, W, p->texton, q, r, &re, &im);
      p->spectrum[q * W + r] = re * re + im * im;
    }
  p->spectrum[0] = 0.0;
  snprintf(p->name, sizeof p->name, "test-random-%llu", (unsigned long long)seed);
  return p;
}

void gds_test_prior_free(struct gds_prior *p) {
  if (!p) return;
  free(p->texton);
  free(p->texture);
  free(p->spectrum);
  free(p);
}

#include "gdsweep/law.h"
#include "gdsweep/sampler.h"
#include "testutil_sampler.h"

void gds_test_mc_check(gds_law *law, gds_sampler *smp, int alg, double alpha, const double *v, int H,
                       int W, int t_mid, int ntraj) {
  const int D = H * W, ck[2] = {t_mid, 0};
  double *mean = malloc(sizeof(double) * 2 * D), *cov = malloc(sizeof(double) * 2 * D * D);
  gds_sampler_config cfg = {.alg = {.kind = (gds_algorithm)alg}, .alpha_dps = alpha};
  for (int c = 0; c < 2; c++)
    assert_int_equal(gds_law_moments(law, &cfg, v, ck[c], mean + c * D, cov + (size_t)c * D * D, NULL, NULL), 0);
  gds_ts_mc_compare(smp, &cfg, v, H, W, ck, mean, cov, ntraj);
  free(mean);
  free(cov);
}

#include "gdsweep/schedule.h"
#include "reference/dense_ref.h"

void gds_test_law_vs_reference(gds_law *law, int d, int m, const double *mu, const double *Sigma, const double *A,
                               double sigma, const double *v, int alg, double alpha, const gds_schedule *sc,
                               double rtol, double atol) {
  const int T = sc->T, ts = T / 2;
  const size_t dd = (size_t)d * d;
  dref_schedule ds = {T, sc->beta, sc->variance == GDS_VARIANCE_BETA_TILDE};
  /* reference: curves, m_0, K_0, posterior; then (m_t, K_t) and the reference law at T/2 */
  double *curves = malloc(sizeof(double) * 6 * (T + 1)), *vec = malloc(sizeof(double) * 10 * d);
  double *mat = malloc(sizeof(double) * 6 * dd);
  double *rw2 = curves, *rwm = rw2 + T + 1, *rwc = rwm + T + 1, *w2 = rwc + T + 1, *wm = w2 + T + 1, *wc = wm + T + 1;
  double *rm0 = vec, *rpm = vec + d, *rmm = vec + 2 * d, *rrefm = vec + 3 * d, *m0 = vec + 4 * d, *var0 = vec + 5 * d;
  double *pm = vec + 6 * d, *pv = vec + 7 * d, *mm = vec + 8 * d, *refm = vec + 9 * d;
  double *rK0 = mat, *rpc = mat + dd, *rK = mat + 2 * dd, *rKr = mat + 3 * dd, *K = mat + 4 * dd, *Kr = mat + 5 * dd;
  assert_int_equal(dref_law(d, m, mu, Sigma, A, sigma, v, (dref_alg)alg, alpha, &ds, rw2, rwm, rwc, 0, rm0, rK0,
                            NULL, NULL, rpm, rpc),
                   0);
  assert_int_equal(dref_law(d, m, mu, Sigma, A, sigma, v, (dref_alg)alg, alpha, &ds, NULL, NULL, NULL, ts, rmm, rK,
                            rrefm, rKr, NULL, NULL),
                   0);
  double *w2p[1] = {w2}, *wmp[1] = {wm}, *m0p[1] = {m0};
  const double *vp[1] = {v};
  gds_law_request rq = {.cfg = {.alg = {.kind = (gds_algorithm)alg}, .alpha_dps = alpha}, .nseeds = 1, .v = vp};
  gds_law_result rs = {.w2_cov = wc, .var0 = var0, .w2_mean = wmp, .w2 = w2p, .mean0 = m0p};
  assert_int_equal(gds_law_evaluate(law, &rq, &rs), 0);
  assert_int_equal(gds_law_posterior(law, v, pm, pv), 0);
  assert_int_equal(gds_law_moments(law, &rq.cfg, v, ts, mm, K, refm, Kr), 0);
  for (int t = 0; t <= T; t++) {
    GDS_ASSERT_CLOSE(w2[t], rw2[t], rtol, atol);
    GDS_ASSERT_CLOSE(wm[t], rwm[t], rtol, atol);
    GDS_ASSERT_CLOSE(wc[t], rwc[t], rtol, atol);
  }
  for (int i = 0; i < d; i++) {
    GDS_ASSERT_CLOSE(m0[i], rm0[i], rtol, atol);
    GDS_ASSERT_CLOSE(var0[i], rK0[(size_t)i * d + i], rtol, atol);
    GDS_ASSERT_CLOSE(pm[i], rpm[i], rtol, atol);
    GDS_ASSERT_CLOSE(pv[i], rpc[(size_t)i * d + i], rtol, atol);
    GDS_ASSERT_CLOSE(mm[i], rmm[i], rtol, atol);
    GDS_ASSERT_CLOSE(refm[i], rrefm[i], rtol, atol);
  }
  for (size_t k = 0; k < dd; k++) {
    GDS_ASSERT_CLOSE(K[k], rK[k], rtol, atol);
    GDS_ASSERT_CLOSE(Kr[k], rKr[k], rtol, atol);
  }
  free(curves);
  free(vec);
  free(mat);
}

/* Largest |a − b| / max(rtol·scale, atol) (NaN only where both are NaN); scale = |b_i|
 * (pointwise) or max |b| (normwise: images and matrices). */
static double gds_test_viol(int n, const double *a, const double *b, int normwise, double rtol, double atol,
                            const char *what, const char *tag) {
  double worst = 0, bmax = 0;
  int at = -1;
  for (int i = 0; i < n; i++) if (isfinite(b[i])) bmax = fmax(bmax, fabs(b[i]));
  for (int i = 0; i < n; i++) {
    if ((isnan(a[i]) && isnan(b[i])) || (isinf(a[i]) && a[i] == b[i])) continue;
    double tol = fmax(rtol * (normwise ? bmax : fabs(b[i])), atol), r = fabs(a[i] - b[i]) / tol;
    if (!(r <= worst)) {
      worst = isnan(r) ? INFINITY : r;
      at = i;
    }
  }
  if (worst > (getenv("GDS_TEST_VERBOSE") ? 0.5 : 1)) print_error("  %s %s[%d]: %.17g vs reference %.17g (%.3g x tol)\n", tag, what, at, a[at], b[at], worst);
  return worst;
}

double gds_test_law_vs_reference_cfg(gds_law *law, int d, int m, const double *mu, const double *Sigma, const double *A,
                                     double sigma, const double *v, const gds_sampler_config *cfg,
                                     const gds_schedule *sc, double rtol, double atol, unsigned long ddrm_basis_seed,
                                     const char *tag) {
  const int vp = sc->process == GDS_PROCESS_VP_SDE;
  const int T = vp ? cfg->steps : sc->T, S = cfg->steps <= 0 ? T : cfg->steps, skip = vp ? 1 : T / S;
  const int nc = T + 1, out = vp ? T : 0; /* curve length; curve index of the output */
  const size_t dd = (size_t)d * d;
  /* the visited point nearest the middle of the curve */
  int ts = out;
  for (int k = 1; k <= S; k++) {
    int tau = vp ? k : 1 + (k - 1) * skip;
    if (abs(tau - T / 2) < abs(ts - T / 2)) ts = tau;
  }
  static const dref_scheme schemes[GDS_SCHEME_COUNT] = {
      [GDS_SCHEME_DDPM] = DREF_SCHEME_DDPM, [GDS_SCHEME_DDIM] = DREF_SCHEME_DDIM, [GDS_SCHEME_EM] = DREF_SCHEME_EM,
      [GDS_SCHEME_EI] = DREF_SCHEME_EI,     [GDS_SCHEME_EULER] = DREF_SCHEME_EULER, [GDS_SCHEME_HEUN] = DREF_SCHEME_HEUN,
      [GDS_SCHEME_RK4] = DREF_SCHEME_RK4};
  dref_schedule ds = {sc->T, sc->beta, sc->variance == GDS_VARIANCE_BETA_TILDE};
  dref_sampler rc = {.alg = (dref_alg)cfg->alg.kind, .alpha_dps = cfg->alpha_dps, .eta = cfg->alg.eta,
                     .eta_b = cfg->alg.eta_b, .scheme = schemes[cfg->scheme.kind], .scheme_eta = cfg->scheme.eta,
                     .steps = cfg->steps, .init_exact = cfg->init == GDS_INIT_EXACT, .basis_seed = ddrm_basis_seed,
                     .vp_sde = vp, .beta_min = sc->beta_min, .beta_max = sc->beta_max, .eps = cfg->eps};
  assert_int_equal(gds_law_curve_length(law, cfg), nc);
  double *cur = malloc(sizeof(double) * 6 * nc), *vec = malloc(sizeof(double) * 8 * d), *mat = malloc(sizeof(double) * 6 * dd);
  double *rw2 = cur, *rwm = rw2 + nc, *rwc = rwm + nc, *w2 = rwc + nc, *wm = w2 + nc, *wc = wm + nc;
  double *rm0 = vec, *rmm = vec + d, *rrefm = vec + 2 * d, *m0 = vec + 3 * d, *var0 = vec + 4 * d, *mm = vec + 5 * d;
  double *refm = vec + 6 * d, *rvar0 = vec + 7 * d;
  double *rK0 = mat, *rK = mat + dd, *rKr = mat + 2 * dd, *K = mat + 3 * dd, *Kr = mat + 4 * dd;
  double rfin[3], fin[3], fcov, fmean;
  assert_int_equal(dref_sampler_law(d, m, mu, Sigma, A, sigma, v, &rc, &ds, rw2, rwm, rwc, rfin, out, rm0, rK0, NULL, NULL), 0);
  assert_int_equal(dref_sampler_law(d, m, mu, Sigma, A, sigma, v, &rc, &ds, NULL, NULL, NULL, NULL, ts, rmm, rK, rrefm, rKr), 0);
  for (int i = 0; i < d; i++) rvar0[i] = rK0[(size_t)i * d + i];
  double *w2p[1] = {w2}, *wmp[1] = {wm}, *m0p[1] = {m0};
  const double *vp1[1] = {v};
  gds_law_request rq = {.cfg = *cfg, .nseeds = 1, .v = vp1};
  gds_law_result rs = {.w2_cov = wc, .var0 = var0, .w2_mean = wmp, .w2 = w2p, .mean0 = m0p,
                       .w2_final_cov = &fcov, .w2_final_mean = &fmean, .w2_final = &fin[0]};
  assert_int_equal(gds_law_evaluate(law, &rq, &rs), 0);
  fin[1] = fmean;
  fin[2] = fcov;
  double w = 0;
  w = fmax(w, gds_test_viol(nc, w2, rw2, 0, rtol, atol, "w2", tag));
  w = fmax(w, gds_test_viol(nc, wm, rwm, 0, rtol, atol, "w2_mean", tag));
  w = fmax(w, gds_test_viol(nc, wc, rwc, 0, rtol, atol, "w2_cov", tag));
  for (int q = 0; q < 3; q++) /* inf where the reference says inf (no finite law) */
    if (isinf(rfin[q]) || isinf(fin[q])) w = fmax(w, isinf(rfin[q]) && isinf(fin[q]) && fin[q] > 0 ? 0.0 : INFINITY);
  for (int t = 0; t < nc; t++)
    if (isinf(rw2[t]) != isinf(w2[t])) w = INFINITY;
  if (isinf(rfin[0])) { /* the output law is not finite: +inf entries, no comparison of values */
    for (int i = 0; i < d; i++)
      if (!(isinf(var0[i]) && var0[i] > 0 && !isnan(m0[i]))) w = INFINITY;
    if (w > 1) print_error("  %s: a law without finite value is not reported as +inf\n", tag);
  } else {
    w = fmax(w, gds_test_viol(3, fin, rfin, 0, rtol, atol, "w2_final", tag));
    w = fmax(w, gds_test_viol(d, m0, rm0, 1, rtol, atol, "mean0", tag));
    w = fmax(w, gds_test_viol(d, var0, rvar0, 1, rtol, atol, "var0", tag));
  }
  if (!isinf(rw2[ts])) {
    assert_int_equal(gds_law_moments(law, cfg, v, ts, mm, K, refm, Kr), 0);
    w = fmax(w, gds_test_viol(d, mm, rmm, 1, rtol, atol, "mean_t", tag));
    w = fmax(w, gds_test_viol(d, refm, rrefm, 1, rtol, atol, "ref_mean_t", tag));
    w = fmax(w, gds_test_viol((int)dd, K, rK, 1, rtol, atol, "K_t", tag));
    w = fmax(w, gds_test_viol((int)dd, Kr, rKr, 1, rtol, atol, "Kref_t", tag));
  }
  free(cur);
  free(vec);
  free(mat);
  return w;
}

int gds_test_vp_configs(int K, double alpha, gds_sampler_config *out, int max) {
  const gds_scheme kinds[] = {GDS_SCHEME_EM, GDS_SCHEME_EI, GDS_SCHEME_DDPM, GDS_SCHEME_EULER, GDS_SCHEME_HEUN, GDS_SCHEME_RK4};
  const double eps[] = {0.0, 1e-3};
  int n = 0;
  for (int a = GDS_ALG_NONE; a <= GDS_ALG_CGDM; a++)
    for (int s = 0; s < 6; s++)
      for (int i = 0; i < 2; i++)
        for (int e = 0; e < 2; e++)
          if (n < max) /* ddpm needs Δt β(u) < 1: 4K steps (β_max = 20, K ≥ 6) */
            out[n++] = (gds_sampler_config){.alg = {.kind = (gds_algorithm)a}, .alpha_dps = alpha,
                                            .scheme = {kinds[s], 0}, .steps = kinds[s] == GDS_SCHEME_DDPM ? 4 * K : K,
                                            .eps = eps[e], .init = (gds_init)i};
  for (int i = 0; i < 2 && n < max; i++) /* ddpm with Δt β ≥ 1 at the start: no law, +inf */
    out[n++] = (gds_sampler_config){.alg = {.kind = GDS_ALG_PIGDM}, .scheme = {GDS_SCHEME_DDPM, 0}, .steps = K, .init = (gds_init)i};
  return n;
}

int gds_test_sampler_configs(int T, double alpha, gds_sampler_config *out, int max) {
  const gds_scheme_spec schemes[] = {{GDS_SCHEME_DDPM, 0}, {GDS_SCHEME_DDIM, 0}, {GDS_SCHEME_DDIM, 0.6}};
  const gds_algorithm_spec ddrm[] = {{GDS_ALG_DDRM, 0.85, 1.0}, {GDS_ALG_DDRM, 0.3, 0.5}};
  const int steps[] = {T, 5};
  int n = 0;
  for (int a = GDS_ALG_NONE; a <= GDS_ALG_CGDM; a++)
    for (int s = 0; s < 3; s++)
      for (int i = 0; i < 2; i++)
        for (int k = 0; k < 2; k++)
          if (n < max)
            out[n++] = (gds_sampler_config){.alg = {.kind = (gds_algorithm)a}, .alpha_dps = alpha, .scheme = schemes[s],
                                            .steps = steps[k], .init = (gds_init)i};
  for (int a = 0; a < 2; a++)
    for (int i = 0; i < 2; i++)
      for (int k = 0; k < 2; k++)
        if (n < max)
          out[n++] = (gds_sampler_config){.alg = ddrm[a], .alpha_dps = alpha, .steps = steps[k], .init = (gds_init)i};
  return n;
}

void gds_test_divergence(gds_law *law, const double *v, int d, int T) {
  double *buf = malloc(sizeof(double) * (4 * (size_t)(T + 1) + 2 * (size_t)d));
  double *w2 = buf, *wm = w2 + T + 1, *wc = wm + T + 1, *m0 = wc + T + 1, *var0 = m0 + d;
  unsigned char *mask = calloc((size_t)T + 1, 1);
  for (int t = 0; t <= T; t += 3) mask[t] = 1;
  for (int pass = 0; pass < 2; pass++) {
    double fin, fm, fc, *w2p[1] = {w2}, *wmp[1] = {wm}, *m0p[1] = {m0};
    const double *vp[1] = {v};
    gds_law_request rq = {.cfg = {.alg = {.kind = GDS_ALG_DPS}, .alpha_dps = 1e6}, .nseeds = 1, .v = vp,
                          .w2_mask = pass ? mask : NULL};
    gds_law_result rs = {.w2_cov = wc, .var0 = var0, .w2_mean = wmp, .w2 = w2p, .mean0 = m0p,
                         .w2_final = &fin, .w2_final_mean = &fm, .w2_final_cov = &fc};
    assert_int_equal(gds_law_evaluate(law, &rq, &rs), 0);
    /* each part, in sampling order: finite, then +inf at every later wanted time (a covariance
     * that overflowed must not come back as a finite number, e.g. 0) */
    int inf_c = 0, inf_m = 0, tstar = -1;
    for (int t = T; t >= 0; t--) {
      if (pass && !mask[t]) {
        assert_true(isnan(w2[t]) && isnan(wm[t]) && isnan(wc[t]));
        continue;
      }
      assert_false(isnan(w2[t]) || isnan(wm[t]) || isnan(wc[t]));
      if (inf_c) assert_true(isinf(wc[t]) && wc[t] > 0);
      if (inf_m) assert_true(isinf(wm[t]) && wm[t] > 0);
      inf_c |= isinf(wc[t]);
      inf_m |= isinf(wm[t]);
      if (tstar < 0 && (inf_c || inf_m)) tstar = t;
      if (inf_c || inf_m) assert_true(isinf(w2[t]) && w2[t] > 0);
    }
    assert_true(tstar > 0 && tstar < T); /* finite at T, diverged before t = 0 */
    assert_true(isfinite(w2[T]));
    assert_true(inf_c && inf_m); /* both the covariance and the mean overflow */
    assert_true(isinf(fin) && fin > 0);
    assert_true(isinf(fc) && isinf(fm));
    assert_false(isnan(fc) || isnan(fm));
    for (int i = 0; i < d; i++) {
      assert_false(isnan(m0[i]));
      assert_true(isinf(var0[i]) && var0[i] > 0);
    }
  }
  free(buf);
  free(mask);
}

typedef struct {
  int calls, stop_at;
} gds_test_poll_ctx;

static int gds_test_poll_stop(void *ctx) {
  gds_test_poll_ctx *p = ctx;
  return ++p->calls >= p->stop_at;
}

void gds_test_poll(gds_law *law, const double *v, int T) {
  const double *vp[1] = {v};
  double w2[T + 1], *w2p[1] = {w2};
  const gds_sampler_config cfgs[] = {
      {.alg = {.kind = GDS_ALG_PIGDM}, .alpha_dps = 1},
      {.alg = {.kind = GDS_ALG_CGDM}, .alpha_dps = 1, .scheme = {GDS_SCHEME_DDIM, 0.5}, .steps = 5},
      {.alg = {.kind = GDS_ALG_DDRM, .eta = 0.85, .eta_b = 1}, .steps = 7},
  };
  for (size_t c = 0; c < sizeof cfgs / sizeof *cfgs; c++) {
    int S = cfgs[c].steps > 0 ? cfgs[c].steps : T;
    for (int k = 1; k <= S + 1; k += S / 2 > 0 ? S / 2 : 1) {
      gds_test_poll_ctx pc = {0, k};
      gds_poll poll = {gds_test_poll_stop, &pc};
      gds_law_request rq = {.cfg = cfgs[c], .nseeds = 1, .v = vp, .poll = &poll};
      gds_law_result rs = {.w2 = w2p};
      int e = gds_law_evaluate(law, &rq, &rs);
      assert_int_equal(e, k <= S ? GDS_ERR_INTERRUPTED : GDS_SUCCESS);
      assert_int_equal(pc.calls, k <= S ? k : S); /* asked once per step, stopped at once */
    }
  }
}

int gds_test_write_npy(const char *path, const char *dict, const double *data, size_t n) {
  FILE *f = fopen(path, "wb");
  if (!f) return 1;
  size_t hl = strlen(dict) + 1, pad = (64 - (10 + hl) % 64) % 64;
  hl += pad;
  unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hl & 0xff), (unsigned char)(hl >> 8)};
  fwrite(pre, 1, 10, f);
  fputs(dict, f);
  for (size_t i = 0; i < pad; i++) fputc(' ', f);
  fputc('\n', f);
  for (size_t i = 0; i < n; i++) { /* little-endian bytes whatever the host */
    uint64_t u;
    memcpy(&u, &data[i], 8);
    for (int k = 0; k < 8; k++) fputc((int)(u >> (8 * k)) & 0xff, f);
  }
  return fclose(f) != 0;
}
