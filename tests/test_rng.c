/* Counter-based random numbers (SPEC §3, gdsweep/rng.h):
 * - Philox4x32-10 known-answer vectors (Random123's kat_vectors) on every code path;
 * - the portable and AVX2 paths give the same bits (words and normals, many keys and blocks,
 *   partial groups, large positions and blocks), each path tested explicitly;
 * - values are pure functions of (key, block, position): a prefix of a longer draw is the
 *   shorter draw; streams, seeds, indices and blocks differ;
 * - the ziggurat tables equal an independent construction with libm;
 * - normals: moments, a chi-square of the histogram (equiprobable bins, tails included),
 *   independence of adjacent blocks, positions and samples (correlations and a 2-D
 *   chi-square); uniforms lie in (0, 1) with the right mean.
 * The draws are deterministic, so each test either always passes or always fails; the
 * thresholds are at p ≈ 1e-6 for the true distribution. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../src/rng_impl.h"
#include "../src/rng_ziggurat_tables.h"
#include "gdsweep/rng.h"
#include "testutil.h"

/* The paths available on this machine (the portable one always; AVX2 if the CPU has it). */
static int paths(gds_rng_path out[GDS_RNG_PATH_COUNT]) {
  int n = 0;
  for (int p = GDS_RNG_PATH_SCALAR; p < GDS_RNG_PATH_COUNT; p++)
    if (gds_rng_path_available((gds_rng_path)p)) out[n++] = (gds_rng_path)p;
  return n;
}

/* Words of group g (call 8g + c: words c and 8 + c) on a path. */
static void group_words(gds_rng_path p, const gds_rng_key *k, uint32_t block, uint32_t g, uint64_t w[16]) {
  if (p == GDS_RNG_PATH_AVX512) { /* its kernel computes groups in pairs: take g as the second one too */
    uint64_t two[32];
    gds_rng_avx512_word_groups(k, block, g, 2, two);
    memcpy(w, two, sizeof(uint64_t) * 16);
    gds_rng_avx512_word_groups(k, block, g - 1, 2, two);
    assert_memory_equal(w, two + 16, sizeof(uint64_t) * 16);
  } else if (p == GDS_RNG_PATH_AVX2) gds_rng_avx2_word_groups(k, block, g, 1, w);
  else gds_rng_scalar_word_groups(k, block, g, 1, w);
}

static void test_philox_kat(void **st) {
  (void)st;
  /* Random123 kat_vectors, philox4x32 10 rounds: counter, key → output. */
  static const uint32_t kat[3][10] = {
      {0, 0, 0, 0, 0, 0, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
      {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd},
      {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, 0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1},
  };
  gds_rng_path ps[GDS_RNG_PATH_COUNT];
  int np = paths(ps);
  for (int p = 0; p < np; p++)
    for (int v = 0; v < 3; v++) {
      gds_rng_key k = {.key = {kat[v][4], kat[v][5]}, .ctr2 = kat[v][2], .ctr3 = kat[v][3]};
      uint64_t w[16];
      uint32_t c = kat[v][0] % 8;
      group_words(ps[p], &k, kat[v][1], kat[v][0] / 8, w);
      assert_int_equal(w[c], (uint64_t)kat[v][6] | (uint64_t)kat[v][7] << 32);
      assert_int_equal(w[8 + c], (uint64_t)kat[v][8] | (uint64_t)kat[v][9] << 32);
    }
}

static void test_paths_bitwise(void **st) {
  (void)st;
  gds_rng_path ps[GDS_RNG_PATH_COUNT];
  int np = paths(ps);
  if (np < 2) print_message("only the portable path is available on this CPU: nothing to compare\n");
  enum { N = 200003 };
  double *a = malloc(sizeof(double) * N), *b = malloc(sizeof(double) * N);
  uint64_t *wa = malloc(sizeof(uint64_t) * N), *wb = malloc(sizeof(uint64_t) * N);
  const uint64_t seeds[] = {0, 1, 42, 0xffffffffffffffffULL, 0x123456789abcdefULL};
  const uint64_t blocks[] = {0, 1, 999, 0xfffffffeULL, 0xffffffffULL};
  for (int p = 1; p < np; p++)
    for (int s = 0; s < 5; s++) {
      gds_rng_key k = gds_rng_key_make((gds_stream)(1 + s % 5), seeds[s], (uint64_t)s * 0x10000000ULL + 3);
      size_t n = (size_t)N - 7 * (size_t)s; /* partial last groups */
      gds_rng_normal_path(GDS_RNG_PATH_SCALAR, k, blocks[s], n, a);
      gds_rng_normal_path(ps[p], k, blocks[s], n, b);
      assert_memory_equal(a, b, n * sizeof(double));
      gds_rng_words_path(GDS_RNG_PATH_SCALAR, k, blocks[s], n, wa);
      gds_rng_words_path(ps[p], k, blocks[s], n, wb);
      assert_memory_equal(wa, wb, n * sizeof(uint64_t));
    }
  /* Positions near 2^32 calls (the counter's lane offsets must not carry). */
  for (int p = 1; p < np; p++) {
    gds_rng_key k = gds_rng_key_make(GDS_STREAM_SAMPLER, 7, 1);
    uint64_t w1[16], w2[16];
    for (uint32_t g = 0x1ffffff0u; g <= 0x1fffffffu; g++) {
      group_words(GDS_RNG_PATH_SCALAR, &k, 5, g, w1);
      group_words(ps[p], &k, 5, g, w2);
      assert_memory_equal(w1, w2, sizeof w1);
    }
  }
  /* AUTO is one of them. */
  gds_rng_key k = gds_rng_key_make(GDS_STREAM_X0, 3, 0);
  gds_rng_normal(k, 2, 1000, a);
  gds_rng_normal_path(GDS_RNG_PATH_SCALAR, k, 2, 1000, b);
  assert_memory_equal(a, b, 1000 * sizeof(double));
  free(a);
  free(b);
  free(wa);
  free(wb);
}

static void test_position_purity(void **st) {
  (void)st;
  gds_rng_path ps[GDS_RNG_PATH_COUNT];
  int np = paths(ps);
  gds_rng_key k = gds_rng_key_make(GDS_STREAM_SAMPLER, 42, 3);
  enum { N = 5003 };
  double *a = malloc(sizeof(double) * N), *b = malloc(sizeof(double) * N);
  for (int p = 0; p < np; p++) {
    gds_rng_normal_path(ps[p], k, 7, N, a);
    for (size_t n = 1; n < N; n = n * 3 + 1) { /* any length, group boundaries included */
      gds_rng_normal_path(ps[p], k, 7, n, b);
      assert_memory_equal(a, b, n * sizeof(double));
    }
  }
  gds_rng_normal(k, 7, N, a);
  for (size_t first = 0; first < N; first = first * 5 + 3) /* any window of the block */
    for (size_t n = 1; first + n <= N; n = n * 7 + 2) {
      gds_rng_normal_range(k, 7, first, n, b);
      assert_memory_equal(a + first, b, n * sizeof(double));
    }
  gds_rng_normal(k, 8, N, b);
  assert_memory_not_equal(a, b, N * sizeof(double));
  gds_rng_normal(gds_rng_key_make(GDS_STREAM_NOISE, 42, 3), 7, N, b);
  assert_memory_not_equal(a, b, N * sizeof(double));
  gds_rng_normal(gds_rng_key_make(GDS_STREAM_SAMPLER, 43, 3), 7, N, b);
  assert_memory_not_equal(a, b, N * sizeof(double));
  gds_rng_normal(gds_rng_key_make(GDS_STREAM_SAMPLER, 42, 4), 7, N, b);
  assert_memory_not_equal(a, b, N * sizeof(double));
  gds_rng_normal(gds_rng_key_make(GDS_STREAM_SAMPLER, 42 + (1ULL << 32), 3), 7, N, b); /* high seed bits */
  assert_memory_not_equal(a, b, N * sizeof(double));
  gds_rng_normal(gds_rng_key_make(GDS_STREAM_SAMPLER, 42, 3 + (1ULL << 32)), 7, N, b); /* high index bits */
  assert_memory_not_equal(a, b, N * sizeof(double));
  free(a);
  free(b);
}

/* The tables against an independent construction (closure by bisection on r, libm). */
static void test_ziggurat_tables(void **st) {
  (void)st;
  enum { NL = GDS_ZIG_LAYERS };
  double lo = 3.0, hi = 4.5, x[NL], v = 0;
  for (int it = 0; it < 200; it++) {
    double r = 0.5 * (lo + hi), fr = exp(-0.5 * r * r);
    v = r * fr + sqrt(M_PI / 2) * erfc(r / sqrt(2.0));
    x[NL - 1] = r;
    int broke = 0;
    for (int i = NL - 2; i >= 1 && !broke; i--) {
      double arg = v / x[i + 1] + exp(-0.5 * x[i + 1] * x[i + 1]);
      if (arg >= 1) broke = 1;
      else x[i] = sqrt(-2 * log(arg));
    }
    if (broke || v / x[1] + exp(-0.5 * x[1] * x[1]) > 1) lo = r;
    else hi = r;
  }
  GDS_ASSERT_CLOSE(GDS_ZIG_R, hi, 1e-14, 0);
  GDS_ASSERT_CLOSE(GDS_ZIG_V, v, 1e-13, 0);
  for (int i = 1; i < NL; i++) {
    GDS_ASSERT_CLOSE(gds_zig_wi[i] * 0x1p52, x[i], 1e-12, 0);
    GDS_ASSERT_CLOSE(gds_zig_fi[i], exp(-0.5 * x[i] * x[i]), 1e-12, 0);
    /* equal areas: layer i spans [f(x_i), f(x_{i−1})] with width x_i */
    GDS_ASSERT_CLOSE(gds_zig_wi[i] * 0x1p52 * (gds_zig_fi[i - 1] - gds_zig_fi[i]), v, 1e-11, 0);
    if (i >= 2) GDS_ASSERT_CLOSE((double)gds_zig_ki[i], 0x1p52 * x[i - 1] / x[i], 1e-12, 2);
  }
  assert_int_equal(gds_zig_ki[1], 0);
  GDS_ASSERT_CLOSE((double)gds_zig_ki[0], 0x1p52 * GDS_ZIG_R * exp(-0.5 * GDS_ZIG_R * GDS_ZIG_R) / v, 1e-12, 2);
}

static double phi_cdf(double x) { return 0.5 * erfc(-x / sqrt(2.0)); }

/* Moments and a chi-square of the histogram on each path: K equiprobable bins (by Φ) plus
 * the counts beyond the ziggurat's base edge r (the tail path) and in (2.5, r) (wedges). */
static void test_normal_distribution(void **st) {
  (void)st;
  enum { N = 8000000, K = 200 };
  gds_rng_path ps[GDS_RNG_PATH_COUNT];
  int np = paths(ps);
  double *z = malloc(sizeof(double) * N);
  long *cnt = malloc(sizeof(long) * K);
  for (int p = 0; p < np; p++) {
    gds_rng_normal_path(ps[p], gds_rng_key_make(GDS_STREAM_X0, 1, 0), 5, N, z);
    double m1 = 0, m2 = 0, m3 = 0, m4 = 0;
    long tail = 0, mid = 0;
    double tail_excess = 0; /* Σ (|x| − r) over the tail: E[|x| − r | |x| > r] = φ(r)/Q(r) − r */
    memset(cnt, 0, sizeof(long) * K);
    for (int i = 0; i < N; i++) {
      double x = z[i], x2 = x * x;
      m1 += x, m2 += x2, m3 += x2 * x, m4 += x2 * x2;
      int b = (int)(phi_cdf(x) * K);
      cnt[b < K ? b : K - 1]++;
      tail += fabs(x) > GDS_ZIG_R;
      if (fabs(x) > GDS_ZIG_R) tail_excess += fabs(x) - GDS_ZIG_R;
      mid += fabs(x) > 2.5 && fabs(x) <= GDS_ZIG_R;
    }
    m1 /= N, m2 /= N, m3 /= N, m4 /= N;
    double se = 1 / sqrt((double)N);
    GDS_ASSERT_CLOSE(m1, 0, 0, 5 * se);
    GDS_ASSERT_CLOSE(m2, 1, 0, 5 * sqrt(2.0) * se);
    GDS_ASSERT_CLOSE(m3, 0, 0, 5 * sqrt(15.0) * se);
    GDS_ASSERT_CLOSE(m4, 3, 0, 5 * sqrt(96.0) * se);
    double chi2 = 0, e = (double)N / K;
    for (int b = 0; b < K; b++) chi2 += (cnt[b] - e) * (cnt[b] - e) / e;
    /* chi-square with 199 degrees of freedom: mean 199, sd 19.9; P(> 199 + 5 sd) ≈ 1e-6 */
    assert_true(chi2 < K - 1 + 5 * sqrt(2.0 * (K - 1)));
    double pt = 2 * phi_cdf(-GDS_ZIG_R), pm = 2 * (phi_cdf(-2.5) - phi_cdf(-GDS_ZIG_R));
    GDS_ASSERT_CLOSE((double)tail, N * pt, 0, 5 * sqrt(N * pt) + 1);
    GDS_ASSERT_CLOSE((double)mid, N * pm, 0, 5 * sqrt(N * pm));
    /* the tail's shape: mean excess over r (the excess has sd < its mean 1/r here) */
    double q = phi_cdf(-GDS_ZIG_R), ex = exp(-0.5 * GDS_ZIG_R * GDS_ZIG_R) / sqrt(2 * M_PI) / q - GDS_ZIG_R;
    GDS_ASSERT_CLOSE(tail_excess / tail, ex, 0, 5 * ex / sqrt((double)tail));
  }
  free(cnt);
  free(z);
}

/* 10×10 equiprobable-bin chi-square of the pairs (a_i, b_i) plus their correlation. */
static void check_independent(const double *a, const double *b, int n, const char *what) {
  long c[10][10] = {{0}};
  double r = 0;
  for (int i = 0; i < n; i++) {
    int p = (int)(phi_cdf(a[i]) * 10), q = (int)(phi_cdf(b[i]) * 10);
    c[p < 10 ? p : 9][q < 10 ? q : 9]++;
    r += a[i] * b[i];
  }
  double chi2 = 0, e = n / 100.0;
  for (int p = 0; p < 10; p++)
    for (int q = 0; q < 10; q++) chi2 += (c[p][q] - e) * (c[p][q] - e) / e;
  if (!(chi2 < 99 + 5 * sqrt(198.0))) fail_msg("%s: 2-D chi-square %g with 99 degrees of freedom", what, chi2);
  GDS_ASSERT_CLOSE(r / n, 0, 0, 5 / sqrt((double)n));
}

static void test_independence(void **st) {
  (void)st;
  enum { N = 1000000 };
  double *a = malloc(sizeof(double) * (N + 1)), *b = malloc(sizeof(double) * N);
  gds_rng_key k = gds_rng_key_make(GDS_STREAM_SAMPLER, 11, 0);
  gds_rng_normal(k, 1000, N + 1, a);
  gds_rng_normal(k, 999, N, b); /* adjacent blocks (consecutive sampler steps) */
  check_independent(a, b, N, "adjacent blocks");
  check_independent(a, a + 1, N, "adjacent positions");
  gds_rng_normal(gds_rng_key_make(GDS_STREAM_SAMPLER, 11, 1), 1000, N, b); /* adjacent samples */
  check_independent(a, b, N, "adjacent samples");
  gds_rng_normal(gds_rng_key_make(GDS_STREAM_SAMPLER, 12, 0), 1000, N, b); /* adjacent seeds */
  check_independent(a, b, N, "adjacent seeds");
  free(a);
  free(b);
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
  /* uniform n is word n, scaled */
  uint64_t w[37];
  gds_rng_words_path(GDS_RNG_PATH_SCALAR, gds_rng_key_make(GDS_STREAM_MASK, 0, 0), 0, 37, w);
  for (int i = 0; i < 37; i++) assert_true(u[i] == ((double)(w[i] >> 11) + 0.5) * 0x1p-53);
  free(u);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_philox_kat),      cmocka_unit_test(test_paths_bitwise),
      cmocka_unit_test(test_position_purity), cmocka_unit_test(test_ziggurat_tables),
      cmocka_unit_test(test_normal_distribution), cmocka_unit_test(test_independence),
      cmocka_unit_test(test_uniform),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
