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

void gds_test_mc_check(gds_law *law, gds_sampler *smp, int alg, double alpha, const double *v, int H,
                       int W, int t_mid, int ntraj) {
  const int D = H * W, ck[2] = {t_mid, 0};
  float *traj = malloc(sizeof(float) * 2 * D);
  double *sum = calloc(2 * (size_t)D, sizeof(double)), *sq = calloc(2 * (size_t)D, sizeof(double));
  double *pw = calloc(2 * (size_t)D, sizeof(double)), *cen = malloc(sizeof(double) * D);
  double *mean = malloc(sizeof(double) * 2 * D), *cov = malloc(sizeof(double) * 2 * D * D);
  for (int c = 0; c < 2; c++)
    assert_int_equal(gds_law_moments(law, (gds_algorithm)alg, alpha, v, ck[c], mean + c * D, cov + (size_t)c * D * D,
                                     NULL, NULL),
                     0);
  for (int n = 0; n < ntraj; n++) {
    assert_int_equal(gds_sampler_run(smp, &(gds_sampler_config){.alg = {.kind = (gds_algorithm)alg}, .alpha_dps = alpha}, v, 11, n, 2, ck, traj, NULL, NULL), 0);
    for (int c = 0; c < 2; c++) {
      for (int i = 0; i < D; i++) {
        cen[i] = traj[c * D + i] - mean[c * D + i];
        sum[c * D + i] += traj[c * D + i];
        sq[c * D + i] += cen[i] * cen[i];
      }
      for (int q = 0; q < H; q++)
        for (int r = 0; r < W; r++) {
          double re, im;
          gds_test_dft_coef(H, W, cen, q, r, &re, &im);
          pw[c * D + q * W + r] += re * re + im * im;
        }
    }
  }
  for (int c = 0; c < 2; c++) {
    const double *K = cov + (size_t)c * D * D;
    for (int i = 0; i < D; i++) {
      double kii = K[(size_t)i * D + i], se = sqrt(kii / ntraj) + 1e-6; /* float32 trajectories */
      GDS_ASSERT_CLOSE(sum[c * D + i] / ntraj, mean[c * D + i], 0, 5 * se);
      GDS_ASSERT_CLOSE(sq[c * D + i] / ntraj, kii, 5 * sqrt(2.0 / ntraj), 1e-12);
    }
    for (int q = 0; q < H; q++)
      for (int r = 0; r < W; r++) {
        double ex = 0;
        for (int i = 0; i < D; i++)
          for (int j = 0; j < D; j++) {
            double ph = -2 * M_PI * ((double)q * (i / W - j / W) / H + (double)r * (i % W - j % W) / W);
            ex += K[(size_t)i * D + j] * cos(ph);
          }
        GDS_ASSERT_CLOSE(pw[c * D + q * W + r] / ntraj, ex, 5 * sqrt(2.0 / ntraj), 1e-12);
      }
  }
  free(traj);
  free(sum);
  free(sq);
  free(pw);
  free(cen);
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
  assert_int_equal(gds_law_moments(law, (gds_algorithm)alg, alpha, v, ts, mm, K, refm, Kr), 0);
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
