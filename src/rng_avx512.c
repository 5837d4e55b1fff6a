/* AVX-512 path of the counter-based generator (layout: gdsweep/rng.h, rng_impl.h): Philox4x32-10
 * on two groups (16 calls) per register set, vpternlogd for the three-way xor; the ziggurat's
 * fast test on 8 words per register with one 16-byte (wi, ki) load per lane, like the AVX2
 * path. Compiled for AVX-512F by function attributes; called only after a run-time CPU check. */
#include <immintrin.h>

#include "rng_impl.h"
#include "rng_ziggurat_tables.h"

#define GDS_AVX512 __attribute__((target("avx512f")))

static inline GDS_AVX512 void mulhilo16(__m512i a, __m512i m, __m512i *hi, __m512i *lo) {
  __m512i pe = _mm512_mul_epu32(a, m);
  __m512i po = _mm512_mul_epu32(_mm512_srli_epi64(a, 32), m);
  *lo = _mm512_mask_blend_epi32(0xAAAA, pe, _mm512_slli_epi64(po, 32));
  *hi = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(pe, 32), po);
}

/* Philox4x32-10 rounds on n independent register sets (n = 1 or 2: two sets interleave, which
 * hides the multiplier latency). */
#define PHILOX_ROUNDS(N, X0, X1, X2, X3)                                                              \
  do {                                                                                          \
    uint32_t k0 = key->key[0], k1 = key->key[1];                                                \
    for (int round = 0; round < 10; round++) {                                                  \
      const __m512i K0 = _mm512_set1_epi32((int)k0), K1 = _mm512_set1_epi32((int)k1);           \
      for (int u = 0; u < (N); u++) {                                                           \
        __m512i hi0, lo0, hi1, lo1;                                                             \
        mulhilo16(X0[u], m0, &hi0, &lo0);                                                       \
        mulhilo16(X2[u], m1, &hi1, &lo1);                                                       \
        X0[u] = _mm512_ternarylogic_epi32(hi1, X1[u], K0, 0x96); /* a ^ b ^ c */                \
        X2[u] = _mm512_ternarylogic_epi32(hi0, X3[u], K1, 0x96);                                \
        X1[u] = lo1;                                                                            \
        X3[u] = lo0;                                                                            \
      }                                                                                         \
      k0 += GDS_PHILOX_W0;                                                                      \
      k1 += GDS_PHILOX_W1;                                                                      \
    }                                                                                           \
  } while (0)

/* Lanes compute calls 8g + perm[L] (perm = 0 1 8 9 2 3 10 11 4 5 12 13 6 7 14 15, i.e. group
 * g in the lanes unpacklo reads and group g + 1 in those unpackhi reads): the unpacked 64-bit
 * words come out in word order. Four groups per iteration (two register sets), then pairs;
 * an odd last group goes through the AVX2 kernel. */
void GDS_AVX512 gds_rng_avx512_word_groups(const gds_rng_key *key, uint32_t block, uint32_t g0, size_t ng,
                                           uint64_t *out) {
  const __m512i perm = _mm512_setr_epi32(0, 1, 8, 9, 2, 3, 10, 11, 4, 5, 12, 13, 6, 7, 14, 15);
  const __m512i m0 = _mm512_set1_epi32((int)GDS_PHILOX_M0), m1 = _mm512_set1_epi32((int)GDS_PHILOX_M1);
  const __m512i c1 = _mm512_set1_epi32((int)block), c2 = _mm512_set1_epi32((int)key->ctr2),
                c3 = _mm512_set1_epi32((int)key->ctr3);
  size_t i = 0;
  for (; i + 4 <= ng; i += 4) {
    uint32_t g = g0 + (uint32_t)i;
    __m512i x0[2], x1[2] = {c1, c1}, x2[2] = {c2, c2}, x3[2] = {c3, c3};
    for (int u = 0; u < 2; u++)
      x0[u] = _mm512_add_epi32(_mm512_set1_epi32((int)((g + 2 * (uint32_t)u) * GDS_RNG_GROUP_CALLS)), perm);
    PHILOX_ROUNDS(2, x0, x1, x2, x3);
    for (int u = 0; u < 2; u++) {
      __m512i *o = (__m512i *)(out + GDS_RNG_GROUP_WORDS * (i + 2 * (size_t)u));
      _mm512_storeu_si512(o + 0, _mm512_unpacklo_epi32(x0[u], x1[u])); /* group g, words 0..7 */
      _mm512_storeu_si512(o + 1, _mm512_unpacklo_epi32(x2[u], x3[u])); /* group g, words 8..15 */
      _mm512_storeu_si512(o + 2, _mm512_unpackhi_epi32(x0[u], x1[u])); /* group g + 1, words 0..7 */
      _mm512_storeu_si512(o + 3, _mm512_unpackhi_epi32(x2[u], x3[u])); /* group g + 1, words 8..15 */
    }
  }
  for (; i + 2 <= ng; i += 2) {
    uint32_t g = g0 + (uint32_t)i;
    __m512i x0[1] = {_mm512_add_epi32(_mm512_set1_epi32((int)(g * GDS_RNG_GROUP_CALLS)), perm)};
    __m512i x1[1] = {c1}, x2[1] = {c2}, x3[1] = {c3};
    PHILOX_ROUNDS(1, x0, x1, x2, x3);
    __m512i *o = (__m512i *)(out + GDS_RNG_GROUP_WORDS * i);
    _mm512_storeu_si512(o + 0, _mm512_unpacklo_epi32(x0[0], x1[0]));
    _mm512_storeu_si512(o + 1, _mm512_unpacklo_epi32(x2[0], x3[0]));
    _mm512_storeu_si512(o + 2, _mm512_unpackhi_epi32(x0[0], x1[0]));
    _mm512_storeu_si512(o + 3, _mm512_unpackhi_epi32(x2[0], x3[0]));
  }
  if (i < ng) gds_rng_avx2_word_groups(key, block, g0 + (uint32_t)i, 1, out + GDS_RNG_GROUP_WORDS * i);
}

static inline GDS_AVX512 __m512d pair4(const uint64_t *w) {
  __m512 a = _mm512_castps128_ps512(_mm_load_ps((const float *)(gds_zig_wk + 2 * (w[0] & GDS_ZIG_IDX_MASK))));
  a = _mm512_insertf32x4(a, _mm_load_ps((const float *)(gds_zig_wk + 2 * (w[2] & GDS_ZIG_IDX_MASK))), 1);
  a = _mm512_insertf32x4(a, _mm_load_ps((const float *)(gds_zig_wk + 2 * (w[4] & GDS_ZIG_IDX_MASK))), 2);
  a = _mm512_insertf32x4(a, _mm_load_ps((const float *)(gds_zig_wk + 2 * (w[6] & GDS_ZIG_IDX_MASK))), 3);
  return _mm512_castps_pd(a);
}

size_t GDS_AVX512 gds_rng_avx512_zig_fast(const uint64_t *w, size_t n, double *out, uint32_t *slow) {
  const __m512i mask52 = _mm512_set1_epi64((long long)GDS_ZIG_MASK52);
  const __m512i exp52 = _mm512_set1_epi64(0x4330000000000000LL); /* bits of 2^52 */
  const __m512d two52 = _mm512_set1_pd(0x1p52);
  size_t ns = 0;
  for (size_t i = 0; i < n; i += 8) {
    __m512i r = _mm512_loadu_si512(w + i);
    __m512i sign = _mm512_slli_epi64(_mm512_srli_epi64(r, GDS_ZIG_SIGN_SHIFT), 63);
    __m512i rabs = _mm512_and_si512(_mm512_srli_epi64(r, GDS_ZIG_MAG_SHIFT), mask52);
    /* (wi, ki) of lanes 0, 2, 4, 6 and 1, 3, 5, 7, transposed into a wi and a ki register */
    __m512d a = pair4(w + i), b = pair4(w + i + 1);
    __m512d wi = _mm512_unpacklo_pd(a, b), ki = _mm512_unpackhi_pd(a, b);
    __m512d ra = _mm512_sub_pd(_mm512_castsi512_pd(_mm512_or_si512(rabs, exp52)), two52);
    __m512i x = _mm512_xor_si512(_mm512_castpd_si512(_mm512_mul_pd(ra, wi)), sign);
    _mm512_storeu_pd(out + i, _mm512_castsi512_pd(x));
    __mmask8 fast = _mm512_cmp_pd_mask(ra, ki, _CMP_LT_OQ);
    if (__builtin_expect(fast != 0xff, 0))
      for (int l = 0; l < 8; l++)
        if (!(fast >> l & 1)) slow[ns++] = (uint32_t)(i + (size_t)l);
  }
  return ns;
}
