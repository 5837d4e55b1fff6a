/* Fourier-block law backend (super-resolution) against the independent dense reference
 * (SPEC §2 "Accuracy"): A is built densely here from the SPEC definition
 * (A x)(i,j) = s⁻² Σ_{a,b<s} x(is+a, js+b); every algorithm × variance on non-square images
 * (12×8 with s = 2 and 4, 8×12), W2 curves at every t, m_0 and diag K_0, posterior mean and
 * variance, (m_t, K_t) and the reference at a middle time — relative 1e-6, absolute 2e-7.
 * Monte Carlo: real trajectories of the sampler (generic guidance, CG) against (m_t, K_t).
 * Bad input: a factor not dividing the size. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gdsweep/error.h"
#include "gdsweep/law.h"
#include "gdsweep/operator.h"
#include "gdsweep/sampler.h"
#include "gdsweep/schedule.h"
#include "gdsweep/scheme.h"
#include "reference/dense_ref.h"
#include "testutil.h"

#define RTOL 1e-6
#define ATOL 2e-7
enum { DMAX = 144 };

typedef struct {
  int H, W, s, d, m;
  gds_prior *prior;
  gds_schedule *sc;
  gds_operator *op;
  double *Sigma, *A, mu[DMAX], v[DMAX];
} fixture;

/* Dense A of SPEC §1 (super_resolution row): row (i, j) averages the s×s block at (is, js). */
static void dense_sr(int H, int W, int s, double *A) {
  int w = W / s, d = H * W;
  for (int i = 0; i < H / s; i++)
    for (int j = 0; j < w; j++)
      for (int a = 0; a < s; a++)
        for (int b = 0; b < s; b++) A[(size_t)(i * w + j) * d + (i * s + a) * W + j * s + b] = 1.0 / (s * s);
}

static void fixture_make(fixture *fx, int H, int W, int s, int T, gds_variance var, double sigma, int white) {
  fx->H = H;
  fx->W = W;
  fx->s = s;
  fx->d = H * W;
  fx->m = fx->d / (s * s);
  int d = fx->d;
  fx->prior = gds_test_prior_random(H, W, 0.4, 17);
  if (white) { /* Σ = 0.09 I: λ(0) ≠ 0, so the prior mean enters the guidance */
    memset(fx->prior->texton, 0, sizeof(double) * d);
    fx->prior->texton[0] = 0.3;
    for (int i = 0; i < d; i++) fx->prior->spectrum[i] = 0.09;
  }
  assert_int_equal(gds_schedule_create(T, 2e-3, 0.35, var, &fx->sc), 0);
  gds_operator_spec spec = {.type = GDS_OP_SUPER_RESOLUTION, .factor = s};
  assert_int_equal(gds_operator_create(&spec, H, W, &fx->op), 0);
  fx->Sigma = malloc(sizeof(double) * d * d);
  fx->A = calloc((size_t)fx->m * d, sizeof(double));
  assert_int_equal(dref_adsn_covariance(H, W, fx->prior->texton, fx->Sigma), 0);
  dense_sr(H, W, s, fx->A);
  double x0[DMAX];
  for (int i = 0; i < d; i++) fx->mu[i] = fx->prior->mean;
  gds_test_fill_uniform(5, d, 0.1, 0.9, x0);
  assert_int_equal(gds_operator_measure(fx->op, 0, x0, sigma, 3, fx->v), 0);
  /* the operator agrees with the dense SPEC matrix */
  double y[DMAX];
  assert_int_equal(gds_operator_apply(fx->op, x0, y), 0);
  for (int i = 0; i < fx->m; i++) {
    double acc = 0;
    for (int j = 0; j < d; j++) acc += fx->A[(size_t)i * d + j] * x0[j];
    GDS_ASSERT_CLOSE(y[i], acc, 1e-14, 1e-15);
  }
}

static void fixture_free(fixture *fx) {
  gds_operator_destroy(&fx->op);
  gds_schedule_destroy(&fx->sc);
  gds_test_prior_free(fx->prior);
  free(fx->Sigma);
  free(fx->A);
}

static void compare_case(gds_algorithm alg, int H, int W, int s, gds_variance var, int white) {
  enum { T = 25 };
  const double sigma = 0.15, alpha = 0.3;
  fixture fx;
  fixture_make(&fx, H, W, s, T, var, sigma, white);
  int D = fx.d, M = fx.m;
  gds_law *law;
  assert_int_equal(gds_law_create(fx.prior, fx.sc, fx.op, sigma, &law), 0);
  assert_string_equal(gds_law_backend_name(law), "fourier-block");
  gds_test_law_vs_reference(law, D, M, fx.mu, fx.Sigma, fx.A, sigma, fx.v, alg, alpha, fx.sc, RTOL, ATOL);
  gds_law_destroy(&law);
  fixture_free(&fx);
}

static void test_dense_12x8_s2(void **st) {
  (void)st;
  for (int a = 0; a <= GDS_ALG_CGDM; a++)
    for (int v = 0; v < 2; v++) compare_case((gds_algorithm)a, 12, 8, 2, (gds_variance)v, 0);
}

static void test_dense_12x8_s4(void **st) {
  (void)st;
  for (int a = 0; a <= GDS_ALG_CGDM; a++)
    for (int v = 0; v < 2; v++) compare_case((gds_algorithm)a, 12, 8, 4, (gds_variance)v, 0);
}

static void test_dense_8x12_s2_s4(void **st) {
  (void)st;
  for (int a = 0; a <= GDS_ALG_CGDM; a++)
    for (int v = 0; v < 2; v++) {
      compare_case((gds_algorithm)a, 8, 12, 2, (gds_variance)v, 0);
      compare_case((gds_algorithm)a, 8, 12, 4, (gds_variance)v, 0);
    }
}

/* Odd low-res sizes (no Nyquist class) and s = 3; factor 1 (n = 1 blocks, A = I). */
static void test_dense_odd_and_trivial(void **st) {
  (void)st;
  for (int a = 0; a <= GDS_ALG_CGDM; a++) {
    compare_case((gds_algorithm)a, 9, 12, 3, GDS_VARIANCE_BETA, 0);
    compare_case((gds_algorithm)a, 10, 6, 2, GDS_VARIANCE_BETA_TILDE, 0);
    compare_case((gds_algorithm)a, 6, 4, 1, GDS_VARIANCE_BETA, 0);
  }
}

static void test_dense_white_prior(void **st) {
  (void)st;
  for (int a = 0; a <= GDS_ALG_CGDM; a++) compare_case((gds_algorithm)a, 12, 8, 2, GDS_VARIANCE_BETA, 1);
}

/* var0 and the posterior variance are s-periodic but not constant (K is not stationary). */
static void test_variance_periodic(void **st) {
  (void)st;
  fixture fx;
  fixture_make(&fx, 12, 8, 2, 20, GDS_VARIANCE_BETA, 0.1, 0);
  gds_law *law;
  assert_int_equal(gds_law_create(fx.prior, fx.sc, fx.op, 0.1, &law), 0);
  double var0[96], pv[96];
  const double *vp[1] = {fx.v};
  gds_law_request rq = {.cfg = {.alg = {.kind = GDS_ALG_CGDM}, .alpha_dps = 1}, .nseeds = 1, .v = vp};
  gds_law_result rs = {.var0 = var0};
  assert_int_equal(gds_law_evaluate(law, &rq, &rs), 0);
  assert_int_equal(gds_law_posterior(law, fx.v, NULL, pv), 0);
  double lo = 1e300, hi = -1e300;
  for (int i = 0; i < 12; i++)
    for (int j = 0; j < 8; j++) {
      assert_true(var0[i * 8 + j] == var0[(i % 2) * 8 + j % 2]);
      assert_true(pv[i * 8 + j] == pv[(i % 2) * 8 + j % 2]);
      lo = fmin(lo, pv[i * 8 + j]);
      hi = fmax(hi, pv[i * 8 + j]);
    }
  assert_true(hi - lo > 1e-6 * hi);
  gds_law_destroy(&law);
  fixture_free(&fx);
}

/* w2_times: values at times not asked are NaN, the others unchanged; a bundle of seeds gives
 * each seed the result it would get alone. */
static void test_mask_and_bundle(void **st) {
  (void)st;
  fixture fx;
  fixture_make(&fx, 12, 8, 4, 20, GDS_VARIANCE_BETA, 0.1, 0);
  gds_law *law;
  assert_int_equal(gds_law_create(fx.prior, fx.sc, fx.op, 0.1, &law), 0);
  unsigned char mask[21] = {0};
  mask[0] = mask[7] = mask[20] = 1;
  double v2[6], all[21], part[21], other[21], *ap[2] = {all, other}, *pp[1] = {part};
  gds_test_fill_uniform(77, 6, 0, 1, v2);
  const double *vs[2] = {fx.v, v2}, *v1[1] = {fx.v};
  gds_law_request rq = {.cfg = {.alg = {.kind = GDS_ALG_PIGDM}, .alpha_dps = 1}, .nseeds = 2, .v = vs};
  gds_law_result rs = {.w2 = ap};
  assert_int_equal(gds_law_evaluate(law, &rq, &rs), 0);
  rq.nseeds = 1;
  rq.v = v1;
  rq.w2_mask = mask;
  rs.w2 = pp;
  assert_int_equal(gds_law_evaluate(law, &rq, &rs), 0);
  for (int t = 0; t <= 20; t++) {
    if (mask[t]) assert_true(part[t] == all[t]);
    else assert_true(isnan(part[t]));
  }
  assert_memory_not_equal(all, other, sizeof all);
  gds_law_destroy(&law);
  fixture_free(&fx);
}

/* σ → ∞: the measurement carries no information; the posterior is the prior (mean m,
 * variance (1/d) tr Σ everywhere) and every guided algorithm follows `none`. */
static void test_huge_sigma_gives_prior(void **st) {
  (void)st;
  fixture fx;
  const double sigma = 1e7;
  fixture_make(&fx, 12, 8, 2, 30, GDS_VARIANCE_BETA, sigma, 0);
  gds_law *law;
  assert_int_equal(gds_law_create(fx.prior, fx.sc, fx.op, sigma, &law), 0);
  double pm[96], pv[96], prior_var = 0;
  assert_int_equal(gds_law_posterior(law, fx.v, pm, pv), 0);
  for (int i = 0; i < 96; i++) prior_var += fx.Sigma[i * 96 + i] / 96;
  for (int i = 0; i < 96; i++) {
    GDS_ASSERT_CLOSE(pm[i], fx.prior->mean, 1e-6, 1e-6);
    GDS_ASSERT_CLOSE(pv[i], prior_var, 1e-6, 1e-9);
  }
  double none[31], *np[1] = {none};
  const double *vp[1] = {fx.v};
  gds_law_request rq = {.cfg = {.alg = {.kind = GDS_ALG_NONE}, .alpha_dps = 1}, .nseeds = 1, .v = vp};
  gds_law_result rs = {.w2 = np};
  assert_int_equal(gds_law_evaluate(law, &rq, &rs), 0);
  for (int a = GDS_ALG_DPS; a <= GDS_ALG_CGDM; a++) {
    double w[31], *wp[1] = {w};
    rq.cfg.alg.kind = (gds_algorithm)a;
    rs.w2 = wp;
    assert_int_equal(gds_law_evaluate(law, &rq, &rs), 0);
    for (int t = 0; t <= 30; t++) GDS_ASSERT_CLOSE(w[t], none[t], 1e-6, 1e-9);
  }
  gds_law_destroy(&law);
  fixture_free(&fx);
}

/* Monte Carlo: the real sampler (generic guidance: A in pixel space, C_t⁻¹ by CG) against
 * the exact law at t = 0 and a middle checkpoint: mean per pixel, variance per pixel and
 * power per frequency E|DFT(y − m)(ξ)|² = Σ_ij K_ij e^{−2πi ξ·(p_i − p_j)} within 5 standard
 * errors (|ŷ|² of a complex Gaussian, circular or not, has std ≤ √2 E|ŷ|²). */
enum { MH = 6, MW = 4, MD = MH * MW, MS = 2, MT = 40, NTRAJ = 2400 };

static void mc_check(gds_algorithm alg, gds_variance var) {
  gds_prior *prior = gds_test_prior_random(MH, MW, 0.45, 7);
  gds_schedule *sc;
  assert_int_equal(gds_schedule_create(MT, 1e-3, 0.25, var, &sc), 0);
  gds_operator_spec spec = {.type = GDS_OP_SUPER_RESOLUTION, .factor = MS};
  gds_operator *op;
  assert_int_equal(gds_operator_create(&spec, MH, MW, &op), 0);
  double sigma = 0.08, alpha = 0.3, x0[MD], v[MD];
  gds_test_fill_uniform(3, MD, 0.2, 0.8, x0);
  assert_int_equal(gds_operator_measure(op, 0, x0, sigma, 5, v), 0);
  gds_law *law;
  gds_sampler *smp;
  assert_int_equal(gds_law_create(prior, sc, op, sigma, &law), 0);
  assert_int_equal(gds_sampler_create(prior, sc, op, sigma, &smp), 0);
  gds_test_mc_check(law, smp, alg, alpha, v, MH, MW, MT / 2, NTRAJ);
  gds_sampler_destroy(&smp);
  gds_law_destroy(&law);
  gds_operator_destroy(&op);
  gds_schedule_destroy(&sc);
  gds_test_prior_free(prior);
}

static void test_mc_dps(void **st) { (void)st; mc_check(GDS_ALG_DPS, GDS_VARIANCE_BETA); }
static void test_mc_pigdm(void **st) { (void)st; mc_check(GDS_ALG_PIGDM, GDS_VARIANCE_BETA); }
static void test_mc_cgdm(void **st) { (void)st; mc_check(GDS_ALG_CGDM, GDS_VARIANCE_BETA); }
static void test_mc_cgdm_tilde(void **st) { (void)st; mc_check(GDS_ALG_CGDM, GDS_VARIANCE_BETA_TILDE); }

/* A factor that does not divide the image size is an input error. */
static void test_bad_factor(void **st) {
  (void)st;
  int old = gds_error_set_quiet(1);
  gds_operator *op = NULL;
  gds_operator_spec spec = {.type = GDS_OP_SUPER_RESOLUTION, .factor = 3};
  assert_int_equal(gds_operator_create(&spec, 8, 12, &op), GDS_ERR_INPUT);
  assert_null(op);
  spec.factor = 5;
  assert_int_equal(gds_operator_create(&spec, 10, 12, &op), GDS_ERR_INPUT);
  spec.factor = 0;
  assert_int_equal(gds_operator_create(&spec, 8, 8, &op), GDS_ERR_INPUT);
  gds_error_set_quiet(old);
}

/* Every sampler of SPEC §7.1–7.4 (gds_test_sampler_configs) on super-resolution (4×6 and
 * 6×4, factor 2) against the independent dense reference: W2 curves (NaN where the sampler
 * does not pass), w2_final, the output law, and the law at a middle time. */
static void test_samplers_vs_reference(void **st) {
  (void)st;
  enum { ST = 16 };
  const int sizes[2][2] = {{4, 6}, {6, 4}};
  const double sigma = 0.12, alpha = 0.5;
  gds_sampler_config cfgs[64];
  int nc = gds_test_sampler_configs(ST, alpha, cfgs, 64);
  double worst = 0;
  for (int z = 0; z < 2; z++)
    for (int var = 0; var < 2; var++) {
      fixture fx;
      fixture_make(&fx, sizes[z][0], sizes[z][1], 2, ST, (gds_variance)var, sigma, 0);
      gds_law *law;
      assert_int_equal(gds_law_create(fx.prior, fx.sc, fx.op, sigma, &law), 0);
      for (int c = 0; c < nc; c++) {
        char tag[160], an[64], sn[64];
        gds_algorithm_spec_name(&cfgs[c].alg, an, sizeof an);
        gds_scheme_spec_name(&cfgs[c].scheme, sn, sizeof sn);
        snprintf(tag, sizeof tag, "sr2 %dx%d %s %s S=%d %s %s", fx.H, fx.W, an, sn, cfgs[c].steps, gds_init_name(cfgs[c].init),
                 gds_variance_name((gds_variance)var));
        double w = gds_test_law_vs_reference_cfg(law, fx.d, fx.m, fx.mu, fx.Sigma, fx.A, sigma, fx.v, &cfgs[c], fx.sc, RTOL,
                                                 ATOL, 0, tag);
        if (w > 1) print_error("FAILED %s (%.3g x tol)\n", tag, w);
        worst = fmax(worst, w);
      }
      gds_law_destroy(&law);
      fixture_free(&fx);
    }
  print_message("samplers vs reference: worst %.3f of tolerance over %d configurations\n", worst, 4 * nc);
  assert_true(worst <= 1.0);
}

/* Every VP SDE sampler of SPEC §7.3 (gds_test_vp_configs) on super-resolution (4×6, factor 2)
 * against the independent dense reference. */
static void test_vp_sde_vs_reference(void **st) {
  (void)st;
  enum { K = 7 };
  const double sigma = 0.12, alpha = 0.5;
  gds_sampler_config cfgs[128];
  int nc = gds_test_vp_configs(K, alpha, cfgs, 128);
  double worst = 0;
  fixture fx;
  fixture_make(&fx, 4, 6, 2, 10, GDS_VARIANCE_BETA, sigma, 0);
  gds_schedule *vp;
  assert_int_equal(gds_schedule_create_vp_sde(0.1, 20, &vp), 0);
  gds_law *law;
  assert_int_equal(gds_law_create(fx.prior, vp, fx.op, sigma, &law), 0);
  for (int c = 0; c < nc; c++) {
    char tag[160], an[64];
    gds_algorithm_spec_name(&cfgs[c].alg, an, sizeof an);
    snprintf(tag, sizeof tag, "vp_sde sr2 %s %s K=%d eps=%g %s", an, gds_scheme_name(cfgs[c].scheme.kind), cfgs[c].steps,
             cfgs[c].eps, gds_init_name(cfgs[c].init));
    double w = gds_test_law_vs_reference_cfg(law, fx.d, fx.m, fx.mu, fx.Sigma, fx.A, sigma, fx.v, &cfgs[c], vp, RTOL, ATOL, 0, tag);
    if (w > 1) print_error("FAILED %s (%.3g x tol)\n", tag, w);
    worst = fmax(worst, w);
  }
  print_message("vp_sde vs reference: worst %.3f of tolerance over %d configurations\n", worst, nc);
  assert_true(worst <= 1.0);
  gds_law_destroy(&law);
  gds_schedule_destroy(&vp);
  fixture_free(&fx);
}

/* Divergence and stop requests on the Fourier-block backend (issue 8: a diverging dps gave NaN
 * on super-resolution). */
static void test_divergence_and_poll(void **st) {
  (void)st;
  fixture fx;
  fixture_make(&fx, 12, 8, 2, 60, GDS_VARIANCE_BETA, 0.01, 0);
  gds_law *law;
  assert_int_equal(gds_law_create(fx.prior, fx.sc, fx.op, 0.01, &law), 0);
  gds_test_divergence(law, fx.v, fx.d, 60);
  gds_test_poll(law, fx.v, 60);
  gds_law_destroy(&law);
  fixture_free(&fx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_samplers_vs_reference),
      cmocka_unit_test(test_vp_sde_vs_reference),
      cmocka_unit_test(test_divergence_and_poll),
      cmocka_unit_test(test_dense_12x8_s2),     cmocka_unit_test(test_dense_12x8_s4),
      cmocka_unit_test(test_dense_8x12_s2_s4),  cmocka_unit_test(test_dense_odd_and_trivial),
      cmocka_unit_test(test_dense_white_prior), cmocka_unit_test(test_variance_periodic),
      cmocka_unit_test(test_mask_and_bundle),   cmocka_unit_test(test_huge_sigma_gives_prior),
      cmocka_unit_test(test_mc_dps),
      cmocka_unit_test(test_mc_pigdm),          cmocka_unit_test(test_mc_cgdm),
      cmocka_unit_test(test_mc_cgdm_tilde),     cmocka_unit_test(test_bad_factor),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
