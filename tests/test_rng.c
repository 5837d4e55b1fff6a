/* Counter-based random numbers (SPEC §3): values are pure functions of (key, block,
 * position) — a prefix of a longer draw is the shorter draw; streams and keys differ;
 * normals have the right moments; uniforms lie in (0, 1). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gdsweep/rng.h"
#include "testutil.h"

static void test_position_purity(void **st) {
  (void)st;
  gds_rng_key k = gds_rng_key_make(GDS_STREAM_SAMPLER, 42, 3);
  enum { N = 5003 };
  double *a = malloc(sizeof(double) * N), *b = malloc(sizeof(double) * N);
  gds_rng_normal(k, 7, N, a);
  for (size_t n = 1; n < N; n = n * 3 + 1) { /* any length, chunk boundaries included */
    gds_rng_normal(k, 7, n, b);
    assert_memory_equal(a, b, n * sizeof(double));
  }
  gds_rng_normal(k, 8, N, b);
  assert_memory_not_equal(a, b, N * sizeof(double));
  gds_rng_normal(gds_rng_key_make(GDS_STREAM_NOISE, 42, 3), 7, N, b);
  assert_memory_not_equal(a, b, N * sizeof(double));
  gds_rng_normal(gds_rng_key_make(GDS_STREAM_SAMPLER, 43, 3), 7, N, b);
  assert_memory_not_equal(a, b, N * sizeof(double));
  gds_rng_normal(gds_rng_key_make(GDS_STREAM_SAMPLER, 42, 4), 7, N, b);
  assert_memory_not_equal(a, b, N * sizeof(double));
  free(a);
  free(b);
}

/* Mean, variance, skewness-free fourth moment and lag-1 correlation within 5 standard errors. */
static void test_normal_moments(void **st) {
  (void)st;
  enum { N = 400000 };
  double *z = malloc(sizeof(double) * N);
  gds_rng_normal(gds_rng_key_make(GDS_STREAM_X0, 1, 0), 0, N, z);
  double m1 = 0, m2 = 0, m4 = 0, c1 = 0;
  for (int i = 0; i < N; i++) {
    m1 += z[i];
    m2 += z[i] * z[i];
    m4 += z[i] * z[i] * z[i] * z[i];
    if (i) c1 += z[i] * z[i - 1];
  }
  m1 /= N, m2 /= N, m4 /= N, c1 /= N - 1;
  double se = 1 / sqrt((double)N);
  GDS_ASSERT_CLOSE(m1, 0, 0, 5 * se);
  GDS_ASSERT_CLOSE(m2, 1, 0, 5 * sqrt(2.0) * se);
  GDS_ASSERT_CLOSE(m4, 3, 0, 5 * sqrt(96.0) * se);
  GDS_ASSERT_CLOSE(c1, 0, 0, 5 * se);
  free(z);
}

static void test_uniform(void **st) {
  (void)st;
  enum { N = 100000 };
  double *u = malloc(sizeof(double) * N), m = 0;
  gds_rng_uniform(gds_rng_key_make(GDS_STREAM_MASK, 0, 0), 0, N, u);
  for (int i = 0; i < N; i++) {
    assert_true(u[i] > 0 && u[i] < 1);
    m += u[i] / N;
  }
  GDS_ASSERT_CLOSE(m, 0.5, 0, 5 * sqrt(1.0 / 12 / N));
  free(u);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_position_purity), cmocka_unit_test(test_normal_moments),
                                     cmocka_unit_test(test_uniform)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
