/* Private: pieces of the counter-based generator shared by its code paths (rng.c portable C,
 * rng_avx2.c AVX2). Layout of a block (see gdsweep/rng.h): word n = 16g + 8h + c comes from
 * Philox call 8g + c, output words 2h (low half) and 2h + 1 (high half). */
#ifndef GDSWEEP_RNG_IMPL_H
#define GDSWEEP_RNG_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "gdsweep/rng.h"

enum { GDS_RNG_GROUP_CALLS = 8, GDS_RNG_GROUP_WORDS = 16 };

/* Fallback counter space of the ziggurat's slow path: top bit of counter word 3. */
#define GDS_RNG_FALLBACK_BIT 0x80000000u

/* Ziggurat word → normal: bits 0-9 layer index (1024 layers), bit 10 sign, bits 11-62 the
 * 52-bit magnitude (NumPy's layout, with a wider index). */
#define GDS_ZIG_IDX_MASK 0x3ffu
#define GDS_ZIG_SIGN_SHIFT 10
#define GDS_ZIG_MAG_SHIFT 11
#define GDS_ZIG_MASK52 ((UINT64_C(1) << 52) - 1)

/* Normal n of a block whose word n = r failed the fast test (rabs ≥ ki[layer]): the exact
 * tail / wedge rejection of Marsaglia–Tsang with fresh words from the fallback space of n.
 * Every path calls this one function, so every path gives the same bits. */
double gds_rng_zig_slow(const gds_rng_key *key, uint32_t block, uint32_t n, uint64_t r);

/* Philox4x32 constants (Salmon et al. 2011; Random123's PHILOX_M4x32_*, PHILOX_W32_*). */
#define GDS_PHILOX_M0 0xD2511F53u
#define GDS_PHILOX_M1 0xCD9E8D57u
#define GDS_PHILOX_W0 0x9E3779B9u
#define GDS_PHILOX_W1 0xBB67AE85u

/* Words of groups g0 .. g0+ng−1 of a block (16 per group) into out[16·(g − g0) ..]:
 * portable C (Random123's philox4x32), AVX2, AVX-512F (call only when the CPU has it). */
void gds_rng_scalar_word_groups(const gds_rng_key *key, uint32_t block, uint32_t g0, size_t ng, uint64_t *out);
void gds_rng_avx2_word_groups(const gds_rng_key *key, uint32_t block, uint32_t g0, size_t ng, uint64_t *out);
void gds_rng_avx512_word_groups(const gds_rng_key *key, uint32_t block, uint32_t g0, size_t ng, uint64_t *out);

/* The ziggurat's fast region on words w[0..n): out[i] is the normal of w[i] when w[i] passes
 * the fast test; the positions i that fail it are written to slow[] (returns their count)
 * and their out[i] is to be replaced by gds_rng_zig_slow. n a multiple of 16 (a group). */
size_t gds_rng_scalar_zig_fast(const uint64_t *w, size_t n, double *out, uint32_t *slow);
size_t gds_rng_avx2_zig_fast(const uint64_t *w, size_t n, double *out, uint32_t *slow);
size_t gds_rng_avx512_zig_fast(const uint64_t *w, size_t n, double *out, uint32_t *slow);

#endif
