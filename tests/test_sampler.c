/* Monte Carlo test of the real sampler against the exact law (SPEC §2 "Accuracy"):
 * ≥ 2000 trajectories per algorithm; empirical mean and variance per pixel and power per
 * frequency at t = 0 and at a middle checkpoint agree with N(m_t, K_t) within 5 standard
 * errors (gds_test_mc_check, tests/testutil.c: brute force over the dense K_t). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gdsweep/law.h"
#include "gdsweep/operator.h"
#include "gdsweep/sampler.h"
#include "gdsweep/schedule.h"
#include "testutil.h"

enum { H = 6, W = 5, D = H * W, T = 40, NTRAJ = 2400 };

static void check_alg(gds_algorithm alg, gds_operator_type optype, gds_variance var) {
  gds_prior *prior = gds_test_prior_random(H, W, 0.45, 7);
  gds_schedule *sc;
  assert_int_equal(gds_schedule_create(T, 1e-3, 0.25, var, &sc), 0);
  gds_operator_spec spec = {.type = optype, .std = 1.2, .length = 3, .angle = 30};
  gds_operator *op;
  assert_int_equal(gds_operator_create(&spec, H, W, &op), 0);
  double sigma = 0.08, alpha = 0.7, x0[D], v[D];
  gds_test_fill_uniform(3, D, 0.2, 0.8, x0);
  assert_int_equal(gds_operator_measure(op, 0, x0, sigma, 5, v), 0);

  gds_law *law;
  gds_sampler *smp;
  assert_int_equal(gds_law_create(prior, sc, op, sigma, &law), 0);
  assert_int_equal(gds_sampler_create(prior, sc, op, sigma, &smp), 0);
  gds_test_mc_check(law, smp, alg, alpha, v, H, W, T / 2, NTRAJ);
  gds_sampler_destroy(&smp);
  gds_law_destroy(&law);
  gds_operator_destroy(&op);
  gds_schedule_destroy(&sc);
  gds_test_prior_free(prior);
}

static void test_mc_dps_gaussian(void **st) { (void)st; check_alg(GDS_ALG_DPS, GDS_OP_GAUSSIAN_BLUR, GDS_VARIANCE_BETA); }
static void test_mc_pigdm_motion(void **st) { (void)st; check_alg(GDS_ALG_PIGDM, GDS_OP_MOTION_BLUR, GDS_VARIANCE_BETA); }
static void test_mc_cgdm_gaussian_tilde(void **st) { (void)st; check_alg(GDS_ALG_CGDM, GDS_OP_GAUSSIAN_BLUR, GDS_VARIANCE_BETA_TILDE); }
static void test_mc_none_identity(void **st) { (void)st; check_alg(GDS_ALG_NONE, GDS_OP_IDENTITY, GDS_VARIANCE_BETA); }
static void test_mc_cgdm_identity(void **st) { (void)st; check_alg(GDS_ALG_CGDM, GDS_OP_IDENTITY, GDS_VARIANCE_BETA); }

/* The noise path depends only on (seed, sample): two algorithms see the same y_T. */
static void test_common_noise(void **st) {
  (void)st;
  gds_prior *prior = gds_test_prior_random(H, W, 0.5, 2);
  gds_schedule *sc;
  gds_operator_spec spec = {.type = GDS_OP_GAUSSIAN_BLUR, .std = 1.0};
  gds_operator *op;
  gds_sampler *smp;
  assert_int_equal(gds_schedule_create(T, 1e-3, 0.25, GDS_VARIANCE_BETA, &sc), 0);
  assert_int_equal(gds_operator_create(&spec, H, W, &op), 0);
  assert_int_equal(gds_sampler_create(prior, sc, op, 0.1, &smp), 0);
  double v[D];
  gds_test_fill_uniform(1, D, 0, 1, v);
  float a[D], b[D], c[D];
  int ckT = T;
  assert_int_equal(gds_sampler_run(smp, &(gds_sampler_config){.alg = {.kind = GDS_ALG_DPS}, .alpha_dps = 1.0}, v, 3, 1, 1, &ckT, a, NULL, NULL), 0);
  assert_int_equal(gds_sampler_run(smp, &(gds_sampler_config){.alg = {.kind = GDS_ALG_CGDM}, .alpha_dps = 1.0}, v, 3, 1, 1, &ckT, b, NULL, NULL), 0);
  assert_int_equal(gds_sampler_run(smp, &(gds_sampler_config){.alg = {.kind = GDS_ALG_CGDM}, .alpha_dps = 1.0}, v, 3, 2, 1, &ckT, c, NULL, NULL), 0);
  assert_memory_equal(a, b, sizeof a);
  assert_memory_not_equal(a, c, sizeof a);
  gds_sampler_destroy(&smp);
  gds_operator_destroy(&op);
  gds_schedule_destroy(&sc);
  gds_test_prior_free(prior);
}

/* The generic guidance (operator in pixel space, C_t⁻¹ by CG) and the Fourier guidance are
 * two evaluations of the same guided score: with the same noise they give the same path. */
static void test_generic_equals_fourier(void **st) {
  (void)st;
  gds_prior *prior = gds_test_prior_random(H, W, 0.45, 9);
  gds_schedule *sc;
  assert_int_equal(gds_schedule_create(T, 1e-3, 0.25, GDS_VARIANCE_BETA, &sc), 0);
  const gds_operator_type types[] = {GDS_OP_IDENTITY, GDS_OP_GAUSSIAN_BLUR, GDS_OP_MOTION_BLUR};
  for (int o = 0; o < 3; o++) {
    gds_operator_spec spec = {.type = types[o], .std = 1.1, .length = 3.5, .angle = 60};
    gds_operator *op;
    assert_int_equal(gds_operator_create(&spec, H, W, &op), 0);
    gds_sampler *sf, *sg;
    assert_int_equal(gds_sampler_create_with(prior, sc, op, 0.07, "fourier", &sf), 0);
    assert_int_equal(gds_sampler_create_with(prior, sc, op, 0.07, "generic", &sg), 0);
    assert_string_equal(gds_sampler_backend_name(sg), "generic");
    double v[D], yf[D], yg[D];
    gds_test_fill_uniform(4, D, 0.1, 0.9, v);
    for (int a = 0; a <= GDS_ALG_CGDM; a++) {
      assert_int_equal(gds_sampler_run(sf, &(gds_sampler_config){.alg = {.kind = (gds_algorithm)a}, .alpha_dps = 0.6}, v, 2, 5, 0, NULL, NULL, yf, NULL), 0);
      assert_int_equal(gds_sampler_run(sg, &(gds_sampler_config){.alg = {.kind = (gds_algorithm)a}, .alpha_dps = 0.6}, v, 2, 5, 0, NULL, NULL, yg, NULL), 0);
      for (int i = 0; i < D; i++) GDS_ASSERT_CLOSE(yg[i], yf[i], 1e-9, 1e-10);
    }
    gds_sampler_destroy(&sf);
    gds_sampler_destroy(&sg);
    gds_operator_destroy(&op);
  }
  gds_schedule_destroy(&sc);
  gds_test_prior_free(prior);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_mc_dps_gaussian),        cmocka_unit_test(test_mc_pigdm_motion),
      cmocka_unit_test(test_mc_cgdm_gaussian_tilde), cmocka_unit_test(test_mc_none_identity),
      cmocka_unit_test(test_mc_cgdm_identity),       cmocka_unit_test(test_common_noise),
      cmocka_unit_test(test_generic_equals_fourier),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
