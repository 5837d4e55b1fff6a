/* AVX2 path of the counter-based generator (layout: gdsweep/rng.h, rng_impl.h).
 * - Philox4x32-10 on the 8 calls of a group at once: structure of arrays (one register per
 *   counter word), 32×32→64-bit products with vpmuludq on even and odd lanes.
 * - The ziggurat's fast test on 4 words per register; each lane's (wi, ki) pair is one 16-byte
 *   load (cheaper than two gathers). Words that fail the test are listed for the caller, who
 *   passes them to gds_rng_zig_slow like the portable path does: the same bits on every path.
 * Compiled for AVX2 by function attributes, whatever the build flags; called only after a
 * run-time CPU check (gds_rng_path_available). */
#include <immintrin.h>

#include "rng_impl.h"
#include "rng_ziggurat_tables.h"

#define GDS_AVX2 __attribute__((target("avx2")))

/* hi, lo of a·m per 32-bit lane. */
static inline GDS_AVX2 void mulhilo8(__m256i a, __m256i m, __m256i *hi, __m256i *lo) {
  __m256i pe = _mm256_mul_epu32(a, m);                        /* lanes 0, 2, 4, 6 */
  __m256i po = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), m); /* lanes 1, 3, 5, 7 */
  *lo = _mm256_blend_epi32(pe, _mm256_slli_epi64(po, 32), 0xAA);
  *hi = _mm256_blend_epi32(_mm256_srli_epi64(pe, 32), po, 0xAA);
}

/* Lane L computes call 8g + perm[L] (perm = 0 1 4 5 2 3 6 7), so that unpacking the 32-bit
 * outputs into 64-bit words (within 128-bit halves) puts them in word order. Two groups per
 * iteration when possible (independent register sets hide the multiplier latency). */
void GDS_AVX2 gds_rng_avx2_word_groups(const gds_rng_key *key, uint32_t block, uint32_t g0, size_t ng,
                                       uint64_t *out) {
  const __m256i perm = _mm256_setr_epi32(0, 1, 4, 5, 2, 3, 6, 7);
  const __m256i m0 = _mm256_set1_epi32((int)GDS_PHILOX_M0), m1 = _mm256_set1_epi32((int)GDS_PHILOX_M1);
  const __m256i c1 = _mm256_set1_epi32((int)block), c2 = _mm256_set1_epi32((int)key->ctr2),
                c3 = _mm256_set1_epi32((int)key->ctr3);
  for (size_t i = 0; i < ng;) {
    const int nu = i + 2 <= ng ? 2 : 1;
    __m256i x0[2], x1[2] = {c1, c1}, x2[2] = {c2, c2}, x3[2] = {c3, c3};
    for (int u = 0; u < nu; u++)
      x0[u] = _mm256_add_epi32(_mm256_set1_epi32((int)((g0 + (uint32_t)i + (uint32_t)u) * GDS_RNG_GROUP_CALLS)), perm);
    uint32_t k0 = key->key[0], k1 = key->key[1];
    for (int round = 0; round < 10; round++) {
      const __m256i K0 = _mm256_set1_epi32((int)k0), K1 = _mm256_set1_epi32((int)k1);
      for (int u = 0; u < nu; u++) {
        __m256i hi0, lo0, hi1, lo1;
        mulhilo8(x0[u], m0, &hi0, &lo0);
        mulhilo8(x2[u], m1, &hi1, &lo1);
        x0[u] = _mm256_xor_si256(_mm256_xor_si256(hi1, x1[u]), K0);
        x2[u] = _mm256_xor_si256(_mm256_xor_si256(hi0, x3[u]), K1);
        x1[u] = lo1;
        x3[u] = lo0;
      }
      k0 += GDS_PHILOX_W0;
      k1 += GDS_PHILOX_W1;
    }
    for (int u = 0; u < nu; u++, i++) {
      __m256i *o = (__m256i *)(out + GDS_RNG_GROUP_WORDS * i);
      _mm256_storeu_si256(o + 0, _mm256_unpacklo_epi32(x0[u], x1[u])); /* calls 0 1 | 2 3, words (0,1) */
      _mm256_storeu_si256(o + 1, _mm256_unpackhi_epi32(x0[u], x1[u])); /* calls 4 5 | 6 7 */
      _mm256_storeu_si256(o + 2, _mm256_unpacklo_epi32(x2[u], x3[u])); /* calls 0 1 | 2 3, words (2,3) */
      _mm256_storeu_si256(o + 3, _mm256_unpackhi_epi32(x2[u], x3[u])); /* calls 4 5 | 6 7 */
    }
  }
}

size_t GDS_AVX2 gds_rng_avx2_zig_fast(const uint64_t *w, size_t n, double *out, uint32_t *slow) {
  const __m256i mask52 = _mm256_set1_epi64x((long long)GDS_ZIG_MASK52);
  const __m256i exp52 = _mm256_set1_epi64x(0x4330000000000000LL); /* bits of 2^52 */
  const __m256d two52 = _mm256_set1_pd(0x1p52);
  size_t ns = 0;
  for (size_t i = 0; i < n; i += 4) {
    __m256i r = _mm256_loadu_si256((const __m256i *)(w + i));
    __m256i sign = _mm256_slli_epi64(_mm256_srli_epi64(r, GDS_ZIG_SIGN_SHIFT), 63);
    __m256i rabs = _mm256_and_si256(_mm256_srli_epi64(r, GDS_ZIG_MAG_SHIFT), mask52);
    /* (wi, ki) of lanes 0..3, transposed into a wi and a ki register */
    __m128d p0 = _mm_load_pd(gds_zig_wk + 2 * (w[i] & GDS_ZIG_IDX_MASK)), p1 = _mm_load_pd(gds_zig_wk + 2 * (w[i + 1] & GDS_ZIG_IDX_MASK));
    __m128d p2 = _mm_load_pd(gds_zig_wk + 2 * (w[i + 2] & GDS_ZIG_IDX_MASK)), p3 = _mm_load_pd(gds_zig_wk + 2 * (w[i + 3] & GDS_ZIG_IDX_MASK));
    __m256d a = _mm256_insertf128_pd(_mm256_castpd128_pd256(p0), p2, 1);
    __m256d b = _mm256_insertf128_pd(_mm256_castpd128_pd256(p1), p3, 1);
    __m256d wi = _mm256_unpacklo_pd(a, b), ki = _mm256_unpackhi_pd(a, b);
    /* rabs < 2^52 → double exactly: the bits of 2^52 + rabs, minus 2^52 */
    __m256d ra = _mm256_sub_pd(_mm256_castsi256_pd(_mm256_or_si256(rabs, exp52)), two52);
    _mm256_storeu_pd(out + i, _mm256_xor_pd(_mm256_mul_pd(ra, wi), _mm256_castsi256_pd(sign)));
    int fast = _mm256_movemask_pd(_mm256_cmp_pd(ra, ki, _CMP_LT_OQ));
    if (__builtin_expect(fast != 0xf, 0))
      for (int l = 0; l < 4; l++)
        if (!(fast >> l & 1)) slow[ns++] = (uint32_t)(i + (size_t)l);
  }
  return ns;
}
