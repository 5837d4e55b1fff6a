/* Operators (SPEC §1 "Operators"): kernels against the independent reference kernels of
 * tests/reference, sum 1; A and Aᵀ adjoint; inpainting and super-resolution definitions;
 * canonical names; the measurement noise keyed (seed, operator index). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gdsweep/error.h"
#include "gdsweep/operator.h"
#include "reference/dense_ref.h"
#include "testutil.h"

enum { H = 12, W = 10, D = H * W };

static gds_operator *make(gds_operator_spec spec) {
  gds_operator *op = NULL;
  assert_int_equal(gds_operator_create(&spec, H, W, &op), 0);
  return op;
}

static void test_kernels_match_reference(void **st) {
  (void)st;
  const double stds[] = {0.4, 1.0, 2.5, 7.0};
  for (int i = 0; i < 4; i++) {
    gds_operator *op = make((gds_operator_spec){.type = GDS_OP_GAUSSIAN_BLUR, .std = stds[i]});
    double ref[D], sum = 0;
    assert_int_equal(dref_gaussian_blur_kernel(H, W, stds[i], ref), 0);
    for (int p = 0; p < D; p++) {
      GDS_ASSERT_CLOSE(op->kernel[p], ref[p], 1e-12, 1e-15);
      sum += op->kernel[p];
    }
    GDS_ASSERT_CLOSE(sum, 1.0, 1e-14, 0);
    gds_operator_destroy(&op);
  }
  const double len[] = {1, 4.5, 9, 15}, ang[] = {0, 30, 90, 137.5};
  for (int i = 0; i < 4; i++) {
    gds_operator *op = make((gds_operator_spec){.type = GDS_OP_MOTION_BLUR, .length = len[i], .angle = ang[i]});
    double ref[D], sum = 0;
    assert_int_equal(dref_motion_blur_kernel(H, W, len[i], ang[i], ref), 0);
    for (int p = 0; p < D; p++) {
      GDS_ASSERT_CLOSE(op->kernel[p], ref[p], 1e-12, 1e-15);
      sum += op->kernel[p];
    }
    GDS_ASSERT_CLOSE(sum, 1.0, 1e-14, 0);
    gds_operator_destroy(&op);
  }
}

/* ⟨A x, y⟩ = ⟨x, Aᵀ y⟩ on random vectors, for every operator kind. */
static void test_adjoint(void **st) {
  (void)st;
  gds_operator_spec specs[] = {
      {.type = GDS_OP_IDENTITY},
      {.type = GDS_OP_GAUSSIAN_BLUR, .std = 1.7},
      {.type = GDS_OP_MOTION_BLUR, .length = 5, .angle = 20},
      {.type = GDS_OP_INPAINTING, .mask = GDS_MASK_RANDOM, .keep = 0.5, .mask_seed = 3},
      {.type = GDS_OP_INPAINTING, .mask = GDS_MASK_BOX, .box = {2, 3, 4, 5}},
      {.type = GDS_OP_SUPER_RESOLUTION, .factor = 2},
  };
  for (size_t k = 0; k < sizeof specs / sizeof *specs; k++) {
    gds_operator *op = make(specs[k]);
    double x[D], y[D], ax[D], aty[D];
    gds_test_fill_normal(10 + k, D, x);
    gds_test_fill_normal(20 + k, (size_t)op->m, y);
    assert_int_equal(gds_operator_apply(op, x, ax), 0);
    assert_int_equal(gds_operator_apply_adjoint(op, y, aty), 0);
    double l = 0, r = 0;
    for (int i = 0; i < op->m; i++) l += ax[i] * y[i];
    for (int i = 0; i < D; i++) r += x[i] * aty[i];
    GDS_ASSERT_CLOSE(l, r, 1e-12, 1e-12);
    gds_operator_destroy(&op);
  }
}

/* A x for blurs equals the periodic convolution sum written out here. */
static void test_blur_is_periodic_convolution(void **st) {
  (void)st;
  gds_operator *op = make((gds_operator_spec){.type = GDS_OP_MOTION_BLUR, .length = 6, .angle = 45});
  double x[D], y[D];
  gds_test_fill_uniform(1, D, 0, 1, x);
  assert_int_equal(gds_operator_apply(op, x, y), 0);
  for (int i = 0; i < H; i++)
    for (int j = 0; j < W; j++) {
      double acc = 0;
      for (int a = 0; a < H; a++)
        for (int b = 0; b < W; b++) acc += op->kernel[a * W + b] * x[((i - a + H) % H) * W + (j - b + W) % W];
      GDS_ASSERT_CLOSE(y[i * W + j], acc, 1e-12, 1e-14);
    }
  gds_operator_destroy(&op);
}

static void test_inpainting_and_sr(void **st) {
  (void)st;
  gds_operator *box = make((gds_operator_spec){.type = GDS_OP_INPAINTING, .mask = GDS_MASK_BOX, .box = {2, 3, 4, 5}});
  assert_int_equal(box->m, D - 20);
  for (int r = 0; r < H; r++)
    for (int c = 0; c < W; c++)
      assert_int_equal(box->mask[r * W + c], !(r >= 2 && r < 6 && c >= 3 && c < 8));
  double x[D], y[D], back[D];
  for (int i = 0; i < D; i++) x[i] = i;
  assert_int_equal(gds_operator_apply(box, x, y), 0);
  for (int i = 0, k = 0; i < D; i++)
    if (box->mask[i]) assert_true(y[k++] == i); /* row-major order of observed pixels */
  assert_int_equal(gds_operator_apply_adjoint(box, y, back), 0); /* A Aᵀ = I_m */
  assert_int_equal(gds_operator_apply(box, back, x), 0);
  assert_memory_equal(x, y, sizeof(double) * box->m);
  gds_operator_destroy(&box);

  gds_operator *rnd = make((gds_operator_spec){.type = GDS_OP_INPAINTING, .mask = GDS_MASK_RANDOM, .keep = 0.3, .mask_seed = 9});
  assert_in_range(rnd->m, 15, 60); /* ~36 of 120 */
  gds_operator *rnd2 = make((gds_operator_spec){.type = GDS_OP_INPAINTING, .mask = GDS_MASK_RANDOM, .keep = 0.3, .mask_seed = 9});
  assert_memory_equal(rnd->mask, rnd2->mask, D);
  gds_operator_destroy(&rnd);
  gds_operator_destroy(&rnd2);

  gds_operator *sr = make((gds_operator_spec){.type = GDS_OP_SUPER_RESOLUTION, .factor = 2});
  assert_int_equal(sr->mh, 6);
  assert_int_equal(sr->mw, 5);
  for (int i = 0; i < D; i++) x[i] = (i / W) * 100 + i % W;
  assert_int_equal(gds_operator_apply(sr, x, y), 0);
  /* mean of rows 2i, 2i+1 and columns 2j, 2j+1 */
  for (int i = 0; i < 6; i++)
    for (int j = 0; j < 5; j++) GDS_ASSERT_CLOSE(y[i * 5 + j], (2 * i + 0.5) * 100 + 2 * j + 0.5, 1e-14, 0);
  gds_operator_destroy(&sr);

  gds_operator *bad = NULL;
  int q = gds_error_set_quiet(1);
  gds_operator_spec s3 = {.type = GDS_OP_SUPER_RESOLUTION, .factor = 3};
  assert_int_equal(gds_operator_create(&s3, H, W, &bad), GDS_ERR_INPUT);
  gds_operator_spec empty = {.type = GDS_OP_INPAINTING, .mask = GDS_MASK_BOX, .box = {0, 0, H, W}};
  assert_int_equal(gds_operator_create(&empty, H, W, &bad), GDS_ERR_INPUT);
  gds_error_set_quiet(q);
  assert_null(bad);
}

static void test_names(void **st) {
  (void)st;
  char buf[256];
  gds_operator_spec s1 = {.type = GDS_OP_GAUSSIAN_BLUR, .std = 2.0};
  gds_operator_spec_name(&s1, buf, sizeof buf);
  assert_string_equal(buf, "gaussian_blur(std=2)");
  gds_operator_spec s2 = {.type = GDS_OP_MOTION_BLUR, .length = 9, .angle = 30};
  gds_operator_spec_name(&s2, buf, sizeof buf);
  assert_string_equal(buf, "motion_blur(length=9,angle=30)");
  gds_operator_spec s3 = {.type = GDS_OP_GAUSSIAN_BLUR, .std = 0.1};
  gds_operator_spec_name(&s3, buf, sizeof buf);
  assert_string_equal(buf, "gaussian_blur(std=0.1)");
  gds_operator_spec s4 = {.type = GDS_OP_SUPER_RESOLUTION, .factor = 4};
  gds_operator_spec_name(&s4, buf, sizeof buf);
  assert_string_equal(buf, "super_resolution(factor=4)");
  gds_operator_type t;
  assert_int_equal(gds_operator_type_from_name("motion_blur", &t), 0);
  assert_int_equal(t, GDS_OP_MOTION_BLUR);
}

/* v = A x0 + σ n: n depends on (seed, operator index) only, shared by all σ (SPEC §3). */
static void test_measurement_noise_keys(void **st) {
  (void)st;
  gds_operator *op = make((gds_operator_spec){.type = GDS_OP_IDENTITY});
  double x0[D] = {0}, a[D], b[D], c[D], e[D];
  assert_int_equal(gds_operator_measure(op, 0, x0, 0.1, 5, a), 0);
  assert_int_equal(gds_operator_measure(op, 0, x0, 0.3, 5, b), 0);
  for (int i = 0; i < D; i++) GDS_ASSERT_CLOSE(b[i], 3 * a[i], 1e-14, 1e-15); /* same n */
  assert_int_equal(gds_operator_measure(op, 1, x0, 0.1, 5, c), 0);
  assert_int_equal(gds_operator_measure(op, 0, x0, 0.1, 6, e), 0);
  assert_memory_not_equal(a, c, sizeof a);
  assert_memory_not_equal(a, e, sizeof a);
  gds_operator_destroy(&op);
}

/* Specs whose arithmetic cannot be represented are refused with the reason (issue 8); specs at
 * the edge of what is allowed build finite kernels. */
static void expect_refused(gds_operator_spec spec, const char *why_part) {
  char why[768];
  assert_int_equal(gds_operator_spec_check(&spec, H, W, why, sizeof why), GDS_ERR_INPUT);
  if (!strstr(why, why_part)) {
    print_error("reason '%s' lacks '%s'\n", why, why_part);
    fail();
  }
  gds_operator *op = (gds_operator *)&op;
  int q = gds_error_set_quiet(1);
  assert_int_equal(gds_operator_create(&spec, H, W, &op), GDS_ERR_INPUT);
  gds_error_set_quiet(q);
  assert_null(op);
}

static void assert_kernel_finite(gds_operator *op) {
  double sum = 0;
  for (int p = 0; p < D; p++) {
    assert_true(isfinite(op->kernel[p]) && op->kernel[p] >= 0);
    sum += op->kernel[p];
  }
  GDS_ASSERT_CLOSE(sum, 1.0, 1e-14, 0);
}

static void test_unrepresentable_specs(void **st) {
  (void)st;
  expect_refused((gds_operator_spec){.type = GDS_OP_GAUSSIAN_BLUR, .std = 1e-200}, "underflows");
  expect_refused((gds_operator_spec){.type = GDS_OP_GAUSSIAN_BLUR, .std = 1e160}, "overflows");
  expect_refused((gds_operator_spec){.type = GDS_OP_GAUSSIAN_BLUR, .std = -1}, "> 0");
  expect_refused((gds_operator_spec){.type = GDS_OP_GAUSSIAN_BLUR, .std = NAN}, "> 0");
  expect_refused((gds_operator_spec){.type = GDS_OP_MOTION_BLUR, .length = 3e8}, "overflows");
  expect_refused((gds_operator_spec){.type = GDS_OP_MOTION_BLUR, .length = 2e7}, "too long");
  expect_refused((gds_operator_spec){.type = GDS_OP_MOTION_BLUR, .length = 3, .angle = INFINITY}, "angle");
  expect_refused((gds_operator_spec){.type = GDS_OP_INPAINTING, .mask = GDS_MASK_RANDOM, .keep = 1e-9},
                 "the mask is empty");
  expect_refused((gds_operator_spec){.type = GDS_OP_INPAINTING, .mask = GDS_MASK_BOX, .box = {INT32_MAX, 0, 2, 2}},
                 "not inside");
  expect_refused((gds_operator_spec){.type = GDS_OP_INPAINTING, .mask = GDS_MASK_FILE,
                                     .mask_path = "/nonexistent/mask.png"}, "not a readable");
  expect_refused((gds_operator_spec){.type = GDS_OP_SUPER_RESOLUTION, .factor = 0}, "must divide");

  /* the smallest std allowed: the identity kernel; a huge angle is reduced modulo 360 */
  gds_operator *op = make((gds_operator_spec){.type = GDS_OP_GAUSSIAN_BLUR, .std = 1.1e-154});
  assert_kernel_finite(op);
  assert_true(op->kernel[0] == 1.0);
  gds_operator_destroy(&op);
  op = make((gds_operator_spec){.type = GDS_OP_GAUSSIAN_BLUR, .std = 1e150}); /* uniform */
  assert_kernel_finite(op);
  GDS_ASSERT_CLOSE(op->kernel[D - 1], 1.0 / D, 1e-14, 0);
  gds_operator_destroy(&op);
  const double big = 1e300, reduced = fmod(big, 360.0);
  gds_operator *a = make((gds_operator_spec){.type = GDS_OP_MOTION_BLUR, .length = 4, .angle = big});
  gds_operator *b = make((gds_operator_spec){.type = GDS_OP_MOTION_BLUR, .length = 4, .angle = reduced});
  assert_kernel_finite(a);
  assert_memory_equal(a->kernel, b->kernel, sizeof(double) * D);
  gds_operator_destroy(&a);
  gds_operator_destroy(&b);
}

/* gds_operator_describe: what gds_operator_create would build, without building it. */
static void test_describe(void **st) {
  (void)st;
  gds_operator_spec specs[] = {
      {.type = GDS_OP_IDENTITY},
      {.type = GDS_OP_GAUSSIAN_BLUR, .std = 1.7, .dense = 1},
      {.type = GDS_OP_MOTION_BLUR, .length = 5, .angle = 20},
      {.type = GDS_OP_INPAINTING, .mask = GDS_MASK_RANDOM, .keep = 0.5, .mask_seed = 3},
      {.type = GDS_OP_SUPER_RESOLUTION, .factor = 2},
  };
  for (size_t k = 0; k < sizeof specs / sizeof *specs; k++) {
    gds_operator *op = make(specs[k]), light;
    gds_operator_describe(&specs[k], H, W, &light);
    assert_int_equal(light.structure, op->structure);
    assert_string_equal(light.name, op->name);
    assert_true(light.H == H && light.W == W && light.d == D && light.mh == (specs[k].type == GDS_OP_INPAINTING ? H : op->mh));
    assert_int_equal(light.m, specs[k].type == GDS_OP_INPAINTING ? -1 : op->m);
    assert_null(light.kernel);
    assert_null(light.mask);
    gds_operator_destroy(&op);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_kernels_match_reference), cmocka_unit_test(test_adjoint),
      cmocka_unit_test(test_blur_is_periodic_convolution), cmocka_unit_test(test_inpainting_and_sr),
      cmocka_unit_test(test_names), cmocka_unit_test(test_measurement_noise_keys),
      cmocka_unit_test(test_unrepresentable_specs), cmocka_unit_test(test_describe),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
