/* DDPM schedule (SPEC §1): β_t linear, ᾱ_t products, σ_t² choices, σ_1 = 0, validation. */
#include <math.h>

#include "gdsweep/error.h"
#include "gdsweep/schedule.h"
#include "testutil.h"

static void test_values(void **st) {
  (void)st;
  gds_schedule *s;
  assert_int_equal(gds_schedule_create(5, 0.1, 0.5, GDS_VARIANCE_BETA, &s), 0);
  const double beta[] = {0, 0.1, 0.2, 0.3, 0.4, 0.5};
  double ab = 1;
  for (int t = 0; t <= 5; t++) {
    GDS_ASSERT_CLOSE(s->beta[t], beta[t], 1e-15, 1e-17);
    if (t) ab *= 1 - beta[t];
    GDS_ASSERT_CLOSE(s->alpha_bar[t], ab, 1e-15, 0);
    GDS_ASSERT_CLOSE(s->sigma2[t], t >= 2 ? beta[t] : 0.0, 1e-15, 0);
  }
  gds_schedule_destroy(&s);
  assert_null(s);
  assert_int_equal(gds_schedule_create(5, 0.1, 0.5, GDS_VARIANCE_BETA_TILDE, &s), 0);
  /* β̃_t = β_t (1 − ᾱ_{t−1})/(1 − ᾱ_t); β̃_1 = 0 anyway (ᾱ_0 = 1) */
  ab = 1;
  for (int t = 1; t <= 5; t++) {
    double abm = ab;
    ab *= 1 - beta[t];
    GDS_ASSERT_CLOSE(s->sigma2[t], beta[t] * (1 - abm) / (1 - ab), 1e-14, 1e-17);
  }
  gds_schedule_destroy(&s);
}

static void test_defaults(void **st) {
  (void)st;
  double b0, b1;
  gds_schedule_default_betas(1000, &b0, &b1);
  GDS_ASSERT_CLOSE(b0, 1e-4, 1e-15, 0);
  GDS_ASSERT_CLOSE(b1, 0.02, 1e-15, 0);
  gds_schedule *s;
  assert_int_equal(gds_schedule_create(1, 0.3, 0.3, GDS_VARIANCE_BETA, &s), 0);
  GDS_ASSERT_CLOSE(s->beta[1], 0.3, 0, 0);
  GDS_ASSERT_CLOSE(s->sigma2[1], 0, 0, 0);
  gds_schedule_destroy(&s);
}

static void test_invalid(void **st) {
  (void)st;
  gds_schedule *s = NULL;
  int q = gds_error_set_quiet(1);
  assert_int_equal(gds_schedule_create(0, 0.1, 0.2, GDS_VARIANCE_BETA, &s), GDS_ERR_INPUT);
  assert_int_equal(gds_schedule_create(10, 0.0, 0.2, GDS_VARIANCE_BETA, &s), GDS_ERR_INPUT);
  assert_int_equal(gds_schedule_create(10, 0.1, 1.0, GDS_VARIANCE_BETA, &s), GDS_ERR_INPUT);
  double b0, b1;
  gds_schedule_default_betas(20, &b0, &b1); /* β_end = 1: must be given explicitly */
  assert_int_equal(gds_schedule_create(20, b0, b1, GDS_VARIANCE_BETA, &s), GDS_ERR_INPUT);
  gds_error_set_quiet(q);
  assert_null(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_values), cmocka_unit_test(test_defaults),
                                     cmocka_unit_test(test_invalid)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
