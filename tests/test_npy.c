/* NumPy .npy reader (src/npy.c): files written byte by byte here from the format's definition
 * (magic, version, little-endian header length, dict header padded with spaces to a multiple
 * of 64 bytes, data), and the CIFAR-10 eigenvalues that numpy wrote (tests/data). */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gdsweep/error.h"
#include "gdsweep/npy.h"

/* A .npy file in memory: version major.0, the header dict text, `n` items of `item` bytes. */
static size_t make_npy(unsigned char *buf, int major, const char *dict, const void *data, size_t databytes) {
  const size_t pre = major == 1 ? 10 : 12;
  size_t hl = strlen(dict) + 1; /* + '\n' */
  size_t pad = (64 - (pre + hl) % 64) % 64;
  hl += pad;
  memcpy(buf, "\x93NUMPY", 6);
  buf[6] = (unsigned char)major;
  buf[7] = 0;
  if (major == 1) {
    buf[8] = (unsigned char)(hl & 0xff);
    buf[9] = (unsigned char)(hl >> 8);
  } else {
    for (int i = 0; i < 4; i++) buf[8 + i] = (unsigned char)(hl >> (8 * i));
  }
  memcpy(buf + pre, dict, strlen(dict));
  memset(buf + pre + strlen(dict), ' ', pad);
  buf[pre + hl - 1] = '\n';
  memcpy(buf + pre + hl, data, databytes);
  return pre + hl + databytes;
}

static unsigned char buf[1 << 16];

static void test_valid(void **st) {
  (void)st;
  const double d[5] = {0.0, 1.5, -0.0, 1e-300, 3.25};
  gds_npy a;
  char why[512];
  size_t n = make_npy(buf, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (5,), }", d, sizeof d);
  assert_int_equal(gds_npy_parse(buf, n, &a, why, sizeof why), 0);
  assert_int_equal(a.ndim, 1);
  assert_true(a.shape[0] == 5 && a.n == 5 && a.itemsize == 8);
  assert_memory_equal(a.data, d, sizeof d);
  gds_npy_free(&a);

  const float f[6] = {1.0f, 2.5f, 0.1f, 3.0f, 1e-30f, 7.0f};
  n = make_npy(buf, 2, "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (2, 3)}", f, sizeof f);
  assert_int_equal(gds_npy_parse(buf, n, &a, why, sizeof why), 0);
  assert_true(a.ndim == 2 && a.shape[0] == 2 && a.shape[1] == 3 && a.itemsize == 4);
  for (int i = 0; i < 6; i++) assert_true(a.data[i] == (double)f[i]); /* float32 exactly */
  gds_npy_free(&a);

  /* a 1-D array in "Fortran order" has the same bytes: accepted */
  n = make_npy(buf, 1, "{'descr': '<f8', 'fortran_order': True, 'shape': (5,), }", d, sizeof d);
  assert_int_equal(gds_npy_parse(buf, n, &a, why, sizeof why), 0);
  gds_npy_free(&a);
}

static void expect_bad(const unsigned char *b, size_t n, const char *part) {
  gds_npy a;
  char why[512];
  assert_int_equal(gds_npy_parse(b, n, &a, why, sizeof why), GDS_ERR_INPUT);
  assert_null(a.data);
  if (!strstr(why, part)) {
    print_error("reason '%s' lacks '%s'\n", why, part);
    fail();
  }
}

static void test_errors(void **st) {
  (void)st;
  const double d[6] = {1, 2, 3, 4, 5, 6};
  size_t n;
  n = make_npy(buf, 1, "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }", d, sizeof d);
  expect_bad(buf, n, "Fortran order");
  n = make_npy(buf, 1, "{'descr': '>f8', 'fortran_order': False, 'shape': (6,), }", d, sizeof d);
  expect_bad(buf, n, "big-endian");
  n = make_npy(buf, 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (6,), }", d, sizeof d);
  expect_bad(buf, n, "unsupported dtype '<i8'");
  n = make_npy(buf, 1, "{'descr': '<c16', 'fortran_order': False, 'shape': (3,), }", d, sizeof d);
  expect_bad(buf, n, "unsupported dtype '<c16'");
  n = make_npy(buf, 1, "{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (6,), }", d, sizeof d);
  expect_bad(buf, n, "structured");
  n = make_npy(buf, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (0,), }", d, 0);
  expect_bad(buf, n, "empty");
  n = make_npy(buf, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 0), }", d, 0);
  expect_bad(buf, n, "empty");
  n = make_npy(buf, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (), }", d, 8);
  expect_bad(buf, n, "0-d");
  n = make_npy(buf, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (7,), }", d, sizeof d);
  expect_bad(buf, n, "truncated");
  n = make_npy(buf, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (5,), }", d, sizeof d);
  expect_bad(buf, n, "8 bytes after the data");
  n = make_npy(buf, 1, "{'descr': '<f8', 'shape': (6,), }", d, sizeof d);
  expect_bad(buf, n, "missing 'fortran_order'");
  n = make_npy(buf, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (6,), 'extra': 1}", d, sizeof d);
  expect_bad(buf, n, "unknown key 'extra'");
  n = make_npy(buf, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (6, }", d, sizeof d);
  expect_bad(buf, n, "malformed header");
  n = make_npy(buf, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999,), }", d, sizeof d);
  expect_bad(buf, n, "overflows");
  n = make_npy(buf, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (65536, 65536), }", d, sizeof d);
  expect_bad(buf, n, "too large");
  n = make_npy(buf, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (6,), }", d, sizeof d);
  buf[6] = 3; /* version 3.0 */
  expect_bad(buf, n, "version 3.0");
  buf[0] = 'x';
  expect_bad(buf, n, "magic");
  expect_bad(buf, 5, "magic");
  n = make_npy(buf, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (6,), }", d, sizeof d);
  buf[8] = 0xff, buf[9] = 0xff; /* header length past the end */
  expect_bad(buf, n, "truncated");
  gds_npy a;
  char why[512];
  assert_int_equal(gds_npy_read("/nonexistent/x.npy", &a, why, sizeof why), GDS_ERR_INPUT);
  assert_non_null(strstr(why, "No such file"));
  assert_int_equal(gds_npy_read("/tmp", &a, why, sizeof why), GDS_ERR_INPUT);
  assert_non_null(strstr(why, "is a directory"));
}

/* tests/data/cifar10_spectrum.npy (numpy, float32 [3072], version 1): 9 values are exactly 0
 * (some stored as -0), the largest is 221.4533 (the data's README). */
static void test_cifar(void **st) {
  (void)st;
  char path[4096];
  const char *root = getenv("GDS_SOURCE_DIR");
  snprintf(path, sizeof path, "%s/tests/data/cifar10_spectrum.npy", root ? root : "..");
  gds_npy a;
  char why[512];
  assert_int_equal(gds_npy_read(path, &a, why, sizeof why), 0);
  assert_true(a.ndim == 1 && a.n == 3072 && a.itemsize == 4);
  int zeros = 0;
  double mx = 0;
  for (int64_t i = 0; i < a.n; i++) {
    zeros += a.data[i] == 0;
    mx = fmax(mx, a.data[i]);
    assert_true(a.data[i] >= 0 && isfinite(a.data[i]));
  }
  assert_int_equal(zeros, 9);
  assert_true(mx == (double)221.4533f);
  gds_npy_free(&a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_valid),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_cifar),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
