/* Fourier-diagonal law backend against the independent dense reference (SPEC §2
 * "Accuracy"): every algorithm × operator × variance on a non-square 12×10 image (a
 * row/column mix-up shows), W2 curves at every t, m_0 and diag K_0, (m_t, K_t) at a middle
 * time, posterior mean/variance — within relative 1e-6 (absolute 2e-7 near zero).
 * Also limits: σ → ∞ gives the prior, `none` follows the prior path, cgdm converges ~1/T. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gdsweep/law.h"
#include "gdsweep/operator.h"
#include "gdsweep/schedule.h"
#include "gdsweep/scheme.h"
#include "reference/dense_ref.h"
#include "testutil.h"

enum { H = 12, W = 10, D = H * W };
#define RTOL 1e-6
#define ATOL 2e-7

typedef struct {
  gds_prior *prior;
  gds_schedule *sc;
  gds_operator *op;
  double *Sigma, *A, mu[D], v[D];
} fixture;

static void fixture_make(fixture *fx, gds_operator_type type, int T, gds_variance var, double sigma,
                         int white) {
  fx->prior = gds_test_prior_random(H, W, 0.4, 17);
  if (white) { /* Σ = s² I: λ = s² everywhere, texton s·δ */
    memset(fx->prior->texton, 0, sizeof(double) * D);
    fx->prior->texton[0] = 0.3;
    for (int i = 0; i < D; i++) fx->prior->spectrum[i] = 0.09;
  }
  assert_int_equal(gds_schedule_create(T, 2e-3, 0.35, var, &fx->sc), 0);
  gds_operator_spec spec = {.type = type, .std = 1.3, .length = 4.5, .angle = 35};
  assert_int_equal(gds_operator_create(&spec, H, W, &fx->op), 0);
  fx->Sigma = malloc(sizeof(double) * D * D);
  fx->A = calloc(D * D, sizeof(double));
  assert_int_equal(dref_adsn_covariance(H, W, fx->prior->texton, fx->Sigma), 0);
  double k[D] = {0};
  if (type == GDS_OP_GAUSSIAN_BLUR) assert_int_equal(dref_gaussian_blur_kernel(H, W, spec.std, k), 0);
  else if (type == GDS_OP_MOTION_BLUR) assert_int_equal(dref_motion_blur_kernel(H, W, spec.length, spec.angle, k), 0);
  else k[0] = 1;
  assert_int_equal(dref_circulant(H, W, k, fx->A), 0);
  double x0[D];
  for (int i = 0; i < D; i++) fx->mu[i] = fx->prior->mean;
  gds_test_fill_uniform(5, D, 0.1, 0.9, x0);
  assert_int_equal(gds_operator_measure(fx->op, 0, x0, sigma, 3, fx->v), 0);
}

static void fixture_free(fixture *fx) {
  gds_operator_destroy(&fx->op);
  gds_schedule_destroy(&fx->sc);
  gds_test_prior_free(fx->prior);
  free(fx->Sigma);
  free(fx->A);
}

static void compare_case(gds_algorithm alg, gds_operator_type type, gds_variance var, int white) {
  const int T = 25;
  const double sigma = 0.15, alpha = 0.4;
  fixture fx;
  fixture_make(&fx, type, T, var, sigma, white);
  gds_law *law;
  assert_int_equal(gds_law_create(fx.prior, fx.sc, fx.op, sigma, &law), 0);
  gds_test_law_vs_reference(law, D, D, fx.mu, fx.Sigma, fx.A, sigma, fx.v, alg, alpha, fx.sc, RTOL, ATOL);
  gds_law_destroy(&law);
  fixture_free(&fx);
}

static void test_dense_all(void **st) {
  (void)st;
  const gds_operator_type ops[] = {GDS_OP_IDENTITY, GDS_OP_GAUSSIAN_BLUR, GDS_OP_MOTION_BLUR};
  for (int a = 0; a <= GDS_ALG_CGDM; a++)
    for (int o = 0; o < 3; o++)
      for (int v = 0; v < 2; v++) compare_case((gds_algorithm)a, ops[o], (gds_variance)v, 0);
}

static void test_dense_white_prior(void **st) {
  (void)st;
  for (int a = 0; a <= GDS_ALG_CGDM; a++) compare_case((gds_algorithm)a, GDS_OP_GAUSSIAN_BLUR, GDS_VARIANCE_BETA, 1);
}

/* w2 at t = 0 for one algorithm and T, with the default SPEC schedule. */
static double w2_at0(gds_algorithm alg, int T, double sigma, double *cov_part) {
  gds_prior *prior = gds_test_prior_random(H, W, 0.4, 23);
  gds_schedule *sc;
  double b0, b1;
  gds_schedule_default_betas(T, &b0, &b1);
  assert_int_equal(gds_schedule_create(T, b0, b1, GDS_VARIANCE_BETA, &sc), 0);
  gds_operator_spec spec = {.type = GDS_OP_GAUSSIAN_BLUR, .std = 1.5};
  gds_operator *op;
  assert_int_equal(gds_operator_create(&spec, H, W, &op), 0);
  double x0[D], v[D], *w2 = malloc(sizeof(double) * (T + 1)), *wc = malloc(sizeof(double) * (T + 1));
  gds_test_fill_uniform(9, D, 0.1, 0.9, x0);
  assert_int_equal(gds_operator_measure(op, 0, x0, sigma, 1, v), 0);
  gds_law *law;
  assert_int_equal(gds_law_create(prior, sc, op, sigma, &law), 0);
  double *w2p[1] = {w2}, *wm = malloc(sizeof(double) * (T + 1)), *wmp[1] = {wm};
  const double *vp[1] = {v};
  gds_law_request rq = {.cfg = {.alg = {.kind = alg}, .alpha_dps = 1.0}, .nseeds = 1, .v = vp};
  gds_law_result rs = {.w2_cov = wc, .w2 = w2p, .w2_mean = wmp};
  assert_int_equal(gds_law_evaluate(law, &rq, &rs), 0);
  double r = w2[0];
  if (cov_part) *cov_part = wc[0];
  free(w2); free(wc); free(wm);
  gds_law_destroy(&law);
  gds_operator_destroy(&op);
  gds_schedule_destroy(&sc);
  gds_test_prior_free(prior);
  return r;
}

/* cgdm is exact in continuous time: its discretisation error at t = 0 shrinks like 1/T. */
static void test_cgdm_converges_like_1_over_T(void **st) {
  (void)st;
  double e100 = w2_at0(GDS_ALG_CGDM, 100, 0.05, NULL);
  double e1000 = w2_at0(GDS_ALG_CGDM, 1000, 0.05, NULL);
  double e10000 = w2_at0(GDS_ALG_CGDM, 10000, 0.05, NULL);
  print_message("cgdm W2(t=0): T=100 %.3e, T=1000 %.3e, T=10000 %.3e\n", e100, e1000, e10000);
  assert_true(e1000 < e100 && e10000 < e1000);
  assert_in_range((long)(100 * e100 / e1000), 5 * 100 / 2, 20 * 100); /* ratio in [5, 20] */
  assert_in_range((long)(100 * e1000 / e10000), 5 * 100 / 2, 20 * 100);
}

/* `none` against the prior path: same law whatever σ or v, and W2 → 0 as T grows. */
static void test_none_is_unconditional(void **st) {
  (void)st;
  double c1, c2;
  double a = w2_at0(GDS_ALG_NONE, 200, 0.05, &c1), b = w2_at0(GDS_ALG_NONE, 200, 3.0, &c2);
  GDS_ASSERT_CLOSE(a, b, 1e-12, 0);
  assert_true(w2_at0(GDS_ALG_NONE, 2000, 0.05, NULL) < 0.2 * a);
}

/* σ → ∞: the measurement carries no information; posterior = prior, and every guided
 * algorithm reduces to the unconditional sampler (its W2 curve equals `none`'s). */
static void test_huge_sigma_gives_prior(void **st) {
  (void)st;
  fixture fx;
  const double sigma = 1e7;
  fixture_make(&fx, GDS_OP_GAUSSIAN_BLUR, 50, GDS_VARIANCE_BETA, sigma, 0);
  gds_law *law;
  assert_int_equal(gds_law_create(fx.prior, fx.sc, fx.op, sigma, &law), 0);
  double pm[D], pv[D];
  assert_int_equal(gds_law_posterior(law, fx.v, pm, pv), 0);
  double prior_var = 0;
  for (int i = 0; i < D; i++) prior_var += fx.Sigma[i * D + i] / D;
  for (int i = 0; i < D; i++) {
    GDS_ASSERT_CLOSE(pm[i], fx.prior->mean, 1e-6, 1e-6);
    GDS_ASSERT_CLOSE(pv[i], prior_var, 1e-6, 1e-9);
  }
  double none[51], *np[1] = {none}, g[51], *gp[1] = {g};
  const double *vp[1] = {fx.v};
  gds_law_request rq = {.cfg = {.alg = {.kind = GDS_ALG_NONE}, .alpha_dps = 1}, .nseeds = 1, .v = vp};
  gds_law_result rs = {.w2 = np, .w2_mean = gp};
  assert_int_equal(gds_law_evaluate(law, &rq, &rs), 0);
  for (int a = GDS_ALG_PIGDM; a <= GDS_ALG_CGDM; a++) {
    double w[51], *wp[1] = {w};
    rq.cfg.alg.kind = (gds_algorithm)a;
    rs.w2 = wp;
    assert_int_equal(gds_law_evaluate(law, &rq, &rs), 0);
    for (int t = 0; t <= 50; t++) GDS_ASSERT_CLOSE(w[t], none[t], 1e-6, 1e-9);
  }
  gds_law_destroy(&law);
  fixture_free(&fx);
}

/* w2_times: values at times not asked are NaN, the others unchanged. */
static void test_w2_mask(void **st) {
  (void)st;
  fixture fx;
  fixture_make(&fx, GDS_OP_MOTION_BLUR, 20, GDS_VARIANCE_BETA, 0.1, 0);
  gds_law *law;
  assert_int_equal(gds_law_create(fx.prior, fx.sc, fx.op, 0.1, &law), 0);
  unsigned char mask[21] = {0};
  mask[0] = mask[7] = mask[20] = 1;
  double all[21], part[21], *ap[1] = {all}, *pp[1] = {part}, m1[21], m2[21], *m1p[1] = {m1}, *m2p[1] = {m2};
  const double *vp[1] = {fx.v};
  gds_law_request rq = {.cfg = {.alg = {.kind = GDS_ALG_PIGDM}, .alpha_dps = 1}, .nseeds = 1, .v = vp};
  gds_law_result rs = {.w2 = ap, .w2_mean = m1p};
  assert_int_equal(gds_law_evaluate(law, &rq, &rs), 0);
  rq.w2_mask = mask;
  rs.w2 = pp;
  rs.w2_mean = m2p;
  assert_int_equal(gds_law_evaluate(law, &rq, &rs), 0);
  for (int t = 0; t <= 20; t++) {
    if (mask[t]) assert_true(part[t] == all[t]);
    else assert_true(isnan(part[t]));
  }
  gds_law_destroy(&law);
  fixture_free(&fx);
}

/* A bundle of seeds gives each seed the result it would get alone. */
static void test_bundle_equals_single(void **st) {
  (void)st;
  fixture fx;
  fixture_make(&fx, GDS_OP_GAUSSIAN_BLUR, 20, GDS_VARIANCE_BETA, 0.1, 0);
  gds_law *law;
  assert_int_equal(gds_law_create(fx.prior, fx.sc, fx.op, 0.1, &law), 0);
  double v2[D], a[21], b[21], c[21], *ab[2] = {a, b}, *cp[1] = {c};
  gds_test_fill_uniform(77, D, 0, 1, v2);
  const double *vs[2] = {fx.v, v2}, *v1[1] = {v2};
  gds_law_request rq = {.cfg = {.alg = {.kind = GDS_ALG_DPS}, .alpha_dps = 0.5}, .nseeds = 2, .v = vs};
  gds_law_result rs = {.w2 = ab};
  assert_int_equal(gds_law_evaluate(law, &rq, &rs), 0);
  rq.nseeds = 1;
  rq.v = v1;
  rs.w2 = cp;
  assert_int_equal(gds_law_evaluate(law, &rq, &rs), 0);
  assert_memory_equal(b, c, sizeof c);
  assert_memory_not_equal(a, c, sizeof c);
  gds_law_destroy(&law);
  fixture_free(&fx);
}

/* Every sampler of SPEC §7.1–7.4 (gds_test_sampler_configs) on every Fourier-diagonal operator
 * against the independent dense reference, on a non-square 4×6 image: W2 curves (NaN where
 * the sampler does not pass), w2_final, the output law, and the law at a middle time. */
static void test_samplers_vs_reference(void **st) {
  (void)st;
  enum { SH = 4, SW = 6, SD = SH * SW, ST = 16 };
  const gds_operator_type ops[] = {GDS_OP_IDENTITY, GDS_OP_GAUSSIAN_BLUR, GDS_OP_MOTION_BLUR};
  const double sigma = 0.12, alpha = 0.5;
  gds_sampler_config cfgs[64];
  int nc = gds_test_sampler_configs(ST, alpha, cfgs, 64);
  gds_prior *prior = gds_test_prior_random(SH, SW, 0.4, 29);
  double *Sigma = malloc(sizeof(double) * SD * SD), *A = malloc(sizeof(double) * SD * SD), mu[SD], x0[SD], v[SD];
  assert_int_equal(dref_adsn_covariance(SH, SW, prior->texton, Sigma), 0);
  for (int i = 0; i < SD; i++) mu[i] = prior->mean;
  gds_test_fill_uniform(6, SD, 0.1, 0.9, x0);
  double worst = 0;
  for (int var = 0; var < 2; var++) {
    gds_schedule *sc;
    assert_int_equal(gds_schedule_create(ST, 4e-3, 0.3, (gds_variance)var, &sc), 0);
    for (int o = 0; o < 3; o++) {
      gds_operator_spec spec = {.type = ops[o], .std = 1.1, .length = 3.5, .angle = 60};
      gds_operator *op;
      assert_int_equal(gds_operator_create(&spec, SH, SW, &op), 0);
      double k[SD] = {0};
      if (ops[o] == GDS_OP_GAUSSIAN_BLUR) assert_int_equal(dref_gaussian_blur_kernel(SH, SW, spec.std, k), 0);
      else if (ops[o] == GDS_OP_MOTION_BLUR) assert_int_equal(dref_motion_blur_kernel(SH, SW, spec.length, spec.angle, k), 0);
      else k[0] = 1;
      assert_int_equal(dref_circulant(SH, SW, k, A), 0);
      assert_int_equal(gds_operator_measure(op, 0, x0, sigma, 4, v), 0);
      gds_law *law;
      assert_int_equal(gds_law_create(prior, sc, op, sigma, &law), 0);
      for (int c = 0; c < nc; c++) {
        char tag[160], an[64], sn[64];
        gds_algorithm_spec_name(&cfgs[c].alg, an, sizeof an);
        gds_scheme_spec_name(&cfgs[c].scheme, sn, sizeof sn);
        snprintf(tag, sizeof tag, "%s %s %s S=%d %s %s", gds_operator_type_name(ops[o]), an, sn, cfgs[c].steps,
                 gds_init_name(cfgs[c].init), gds_variance_name((gds_variance)var));
        double w = gds_test_law_vs_reference_cfg(law, SD, SD, mu, Sigma, A, sigma, v, &cfgs[c], sc, RTOL, ATOL, 0, tag);
        if (w > 1) print_error("FAILED %s (%.3g x tol)\n", tag, w);
        worst = fmax(worst, w);
      }
      gds_law_destroy(&law);
      gds_operator_destroy(&op);
    }
    gds_schedule_destroy(&sc);
  }
  print_message("samplers vs reference: worst %.3f of tolerance over %d configurations\n", worst, 2 * 3 * nc);
  assert_true(worst <= 1.0);
  free(Sigma);
  free(A);
  gds_test_prior_free(prior);
}

/* Divergence and stop requests on the Fourier-diagonal backend (issue 8): a diverging dps is
 * +inf from its divergence on, never NaN; a stop poll ends the evaluation between steps. */
static void test_divergence_and_poll(void **st) {
  (void)st;
  fixture fx;
  fixture_make(&fx, GDS_OP_GAUSSIAN_BLUR, 60, GDS_VARIANCE_BETA, 0.01, 0);
  gds_law *law;
  assert_int_equal(gds_law_create(fx.prior, fx.sc, fx.op, 0.01, &law), 0);
  gds_test_divergence(law, fx.v, D, 60);
  gds_test_poll(law, fx.v, 60);
  gds_law_destroy(&law);
  fixture_free(&fx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_samplers_vs_reference),
      cmocka_unit_test(test_divergence_and_poll),
      cmocka_unit_test(test_dense_all),
      cmocka_unit_test(test_dense_white_prior),
      cmocka_unit_test(test_cgdm_converges_like_1_over_T),
      cmocka_unit_test(test_none_is_unconditional),
      cmocka_unit_test(test_huge_sigma_gives_prior),
      cmocka_unit_test(test_w2_mask),
      cmocka_unit_test(test_bundle_equals_single),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
