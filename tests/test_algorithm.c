/* Guidance algorithms (docs/maths.md §2; SPEC §1 "Algorithms", §7.2):
 *  - the table: names, families, what results depend on, the reference path;
 *  - C_ᾱ coefficients of dps, pigdm, cgdm, none against the SPEC table;
 *  - DDRM's per-coordinate rule: its three cases (equality falls in the last, as in the
 *    authors' code), the start, non-negative noise, and two special values;
 *  - spec validation and canonical names. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gdsweep/algorithm.h"
#include "gdsweep/error.h"
#include "testutil.h"

static void test_table(void **st) {
  (void)st;
  const char *names[] = {"none", "dps", "pigdm", "cgdm", "ddrm"};
  for (int a = 0; a < GDS_ALG_COUNT; a++) {
    const gds_algorithm_info *in = gds_algorithm_get((gds_algorithm)a);
    assert_non_null(in);
    assert_string_equal(in->name, names[a]);
    gds_algorithm b;
    assert_int_equal(gds_algorithm_from_name(names[a], &b), 0);
    assert_int_equal(b, a);
    assert_int_equal(in->uses_alpha, a == GDS_ALG_DPS);
    assert_int_equal(gds_algorithm_uses_alpha((gds_algorithm)a), a == GDS_ALG_DPS);
    assert_int_equal(in->uses_scheme, a != GDS_ALG_DDRM);
    assert_int_equal(in->target_posterior, a != GDS_ALG_NONE);
    assert_int_equal(in->exact_score, a == GDS_ALG_NONE || a == GDS_ALG_CGDM);
    assert_int_equal(in->family, a == GDS_ALG_DDRM ? GDS_FAMILY_DDRM : GDS_FAMILY_SCORE);
    assert_true((in->guidance != NULL) == (in->family == GDS_FAMILY_SCORE));
  }
  assert_null(gds_algorithm_get(GDS_ALG_COUNT));
  assert_null(gds_algorithm_get((gds_algorithm)-1));
  int q = gds_error_set_quiet(1);
  gds_algorithm b;
  assert_int_equal(gds_algorithm_from_name("reddiff", &b), GDS_ERR_INPUT);
  gds_error_set_quiet(q);
}

/* C = c0 I + c1 A Aᵀ + c2 A Σ Σ_ᾱ⁻¹ Aᵀ evaluated on a scalar mode (a² = |â|², λ) against the
 * SPEC table. */
static void test_guidance(void **st) {
  (void)st;
  const double ab = 0.37, s2 = 0.0064, alpha = 0.3, lam = 2.5, a2 = 0.8;
  const double sig = ab * lam + 1 - ab;
  const double expect[4] = {INFINITY, s2 / alpha, (1 - ab) * a2 + s2, (1 - ab) * a2 * lam / sig + s2};
  for (int a = 0; a < 4; a++) {
    gds_guidance g = gds_algorithm_get((gds_algorithm)a)->guidance(ab, s2, alpha);
    double C = g.c0 + g.c1 * a2 + g.c2 * a2 * lam / sig;
    if (a == GDS_ALG_NONE) assert_true(g.on == 0.0);
    else {
      assert_true(g.on == 1.0);
      GDS_ASSERT_CLOSE(C, expect[a], 1e-15, 0);
    }
  }
}

/* SPEC §7.2 cases for a coordinate with singular value s at ς_s = vs:
 *  s vs > σ: η_b ȳ + (1 − η_b) x̄θ + √(vs² − η_b² σ²/s²) z
 *  s vs < σ: x̄θ + √(1 − η²) vs s (ȳ − x̄θ)/σ + η vs z
 *  else (kernel, s = 0, or s vs = σ): x̄θ + √(1 − η²) vs ε̄ + η vs z */
static void test_ddrm_component(void **st) {
  (void)st;
  const gds_algorithm_spec a = {GDS_ALG_DDRM, 0.6, 0.8};
  const double sigma = 0.1;
  gds_ddrm_coef c = gds_ddrm_component(&a, 0.5, 0.4, sigma); /* 0.2 > 0.1 */
  GDS_ASSERT_CLOSE(c.cx, 0.2, 1e-15, 0);
  assert_true(c.ce == 0.0);
  GDS_ASSERT_CLOSE(c.cy, 0.8, 1e-15, 0);
  GDS_ASSERT_CLOSE(c.nu, 0.16 - 0.64 * 0.01 / 0.25, 1e-14, 0);
  c = gds_ddrm_component(&a, 0.5, 0.1, sigma); /* 0.05 < 0.1 */
  double k = 0.8 * 0.1 * 0.5 / sigma;
  GDS_ASSERT_CLOSE(c.cx, 1 - k, 1e-15, 0);
  GDS_ASSERT_CLOSE(c.cy, k, 1e-15, 0);
  assert_true(c.ce == 0.0);
  GDS_ASSERT_CLOSE(c.nu, 0.36 * 0.01, 1e-14, 0);
  for (int q = 0; q < 2; q++) {
    c = q ? gds_ddrm_component(&a, 0.0, 0.3, sigma) : gds_ddrm_component(&a, 0.25, 0.4, sigma); /* kernel; s vs = σ */
    assert_true(c.cx == 1.0 && c.cy == 0.0);
    GDS_ASSERT_CLOSE(c.ce, 0.8 * (q ? 0.3 : 0.4), 1e-15, 0);
    GDS_ASSERT_CLOSE(c.nu, 0.36 * (q ? 0.09 : 0.16), 1e-14, 0);
  }
  /* the last step (ς_0 = 0) returns x̂0 in every coordinate, without noise */
  c = gds_ddrm_component(&a, 0.7, 0.0, sigma);
  assert_true(c.cx == 1.0 && c.ce == 0.0 && c.cy == 0.0 && c.nu == 0.0);
  /* start: x̄ = ȳ + √(ς² − σ²/s²) w̄ (s ς > σ), ς w̄ otherwise; divided by ς */
  c = gds_ddrm_start_component(0.5, 2.0, sigma);
  GDS_ASSERT_CLOSE(c.cy, 0.5, 1e-15, 0);
  GDS_ASSERT_CLOSE(c.nu, (4.0 - 0.04) / 4.0, 1e-15, 0);
  c = gds_ddrm_start_component(0.0, 2.0, sigma);
  assert_true(c.cy == 0.0 && c.nu == 1.0);
  GDS_ASSERT_CLOSE(gds_ddrm_vs(0.2), 2.0, 1e-15, 0);
  assert_true(gds_ddrm_vs(1.0) == 0.0);
}

static void test_spec(void **st) {
  (void)st;
  char b[64];
  gds_algorithm_spec_name(&(gds_algorithm_spec){GDS_ALG_DDRM, 0.85, 1}, b, sizeof b);
  assert_string_equal(b, "ddrm(eta=0.85,eta_b=1)");
  gds_algorithm_spec_name(&(gds_algorithm_spec){GDS_ALG_PIGDM, 0.3, 0.2}, b, sizeof b);
  assert_string_equal(b, "pigdm");
  assert_true(gds_algorithm_spec_same(&(gds_algorithm_spec){GDS_ALG_DPS, 1, 2}, &(gds_algorithm_spec){GDS_ALG_DPS, 3, 4}));
  assert_false(gds_algorithm_spec_same(&(gds_algorithm_spec){GDS_ALG_DDRM, 1, 0.5}, &(gds_algorithm_spec){GDS_ALG_DDRM, 1, 0.4}));
  int q = gds_error_set_quiet(1);
  assert_int_equal(gds_algorithm_spec_check(&(gds_algorithm_spec){GDS_ALG_DDRM, 1.01, 0}, 1), GDS_ERR_INPUT);
  assert_int_equal(gds_algorithm_spec_check(&(gds_algorithm_spec){GDS_ALG_DDRM, 0, NAN}, 1), GDS_ERR_INPUT);
  assert_int_equal(gds_algorithm_spec_check(&(gds_algorithm_spec){GDS_ALG_DPS, 0, 0}, -1), GDS_ERR_INPUT);
  gds_error_set_quiet(q);
  assert_int_equal(gds_algorithm_spec_check(&(gds_algorithm_spec){GDS_ALG_DDRM, 1, 0}, -1), 0); /* α ignored */
  assert_int_equal(gds_algorithm_spec_check(&(gds_algorithm_spec){GDS_ALG_CGDM, 0, 0}, 0), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_table),
      cmocka_unit_test(test_guidance),
      cmocka_unit_test(test_ddrm_component),
      cmocka_unit_test(test_spec),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
