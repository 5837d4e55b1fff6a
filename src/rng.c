/* Counter-based normals (SPEC §3; layout in gdsweep/rng.h): Random123 Philox4x32-10 words,
 * 1024-layer ziggurat (Marsaglia & Tsang 2000, NumPy's 52-bit word layout with a 10-bit index), and the code
 * path chosen at run time from the CPU. The fast path of the ziggurat is integer compares and
 * one exact-rounded multiplication, so the portable and the AVX2 paths give the same bits by
 * construction (tests/test_rng.c checks it); only the rare slow path calls libm (exp, log),
 * and every path calls the same function for it. */
#include "gdsweep/rng.h"

#include <math.h>
#include <string.h>
#include <Random123/philox.h>

#include "rng_impl.h"
#include "rng_ziggurat_tables.h"

gds_rng_key gds_rng_key_make(gds_stream stream, uint64_t seed, uint64_t index) {
  gds_rng_key k;
  k.key[0] = (uint32_t)seed;
  k.key[1] = (uint32_t)(seed >> 32);
  k.ctr2 = (uint32_t)index;
  k.ctr3 = ((uint32_t)stream & 0x7fu) << 24 | (uint32_t)(index >> 32 & 0xffu);
  return k;
}

static inline philox4x32_ctr_t gds_rng_call(const gds_rng_key *key, uint32_t c0, uint32_t block, uint32_t c3) {
  philox4x32_ctr_t c = {{c0, block, key->ctr2, c3}};
  philox4x32_key_t k = {{key->key[0], key->key[1]}};
  return philox4x32(c, k);
}

void gds_rng_scalar_word_groups(const gds_rng_key *key, uint32_t block, uint32_t g0, size_t ng, uint64_t *out) {
  for (size_t i = 0; i < ng; i++) {
    uint64_t *w = out + GDS_RNG_GROUP_WORDS * i;
    for (uint32_t c = 0; c < GDS_RNG_GROUP_CALLS; c++) {
      philox4x32_ctr_t x = gds_rng_call(key, GDS_RNG_GROUP_CALLS * (g0 + (uint32_t)i) + c, block, key->ctr3);
      w[c] = (uint64_t)x.v[0] | (uint64_t)x.v[1] << 32;
      w[8 + c] = (uint64_t)x.v[2] | (uint64_t)x.v[3] << 32;
    }
  }
}

size_t gds_rng_scalar_zig_fast(const uint64_t *w, size_t n, double *out, uint32_t *slow) {
  size_t ns = 0;
  for (size_t i = 0; i < n; i++) {
    int idx = (int)(w[i] & GDS_ZIG_IDX_MASK);
    int64_t rabs = (int64_t)(w[i] >> GDS_ZIG_MAG_SHIFT & GDS_ZIG_MASK52);
    double x = (double)rabs * gds_zig_wi[idx];
    out[i] = w[i] >> GDS_ZIG_SIGN_SHIFT & 1 ? -x : x;
    if (rabs >= gds_zig_ki[idx]) slow[ns++] = (uint32_t)i;
  }
  return ns;
}

static inline double gds_rng_u53(uint64_t w) { return ((double)(w >> 11) + 0.5) * 0x1p-53; }

static inline philox4x32_ctr_t gds_rng_fallback(const gds_rng_key *key, uint32_t block, uint32_t n, uint32_t a) {
  return gds_rng_call(key, n, block, GDS_RNG_FALLBACK_BIT | (key->ctr3 & 0x7f0000ffu) | (a & 0xffffu) << 8);
}

double gds_rng_zig_slow(const gds_rng_key *key, uint32_t block, uint32_t n, uint64_t r) {
  uint32_t a = 0; /* attempt: the fallback words used so far */
  for (;;) {
    int idx = (int)(r & GDS_ZIG_IDX_MASK);
    int neg = (int)(r >> GDS_ZIG_SIGN_SHIFT & 1);
    int64_t rabs = (int64_t)(r >> GDS_ZIG_MAG_SHIFT & GDS_ZIG_MASK52);
    double x = (double)rabs * gds_zig_wi[idx];
    if (neg) x = -x;
    if (rabs < gds_zig_ki[idx]) return x; /* a fresh candidate in the fast region */
    if (idx == 0) {
      /* Tail beyond r (Marsaglia 1964): r + ξ with ξ ~ Exp(r), accepted with prob. e^{−ξ²/2}. */
      for (;; a++) {
        philox4x32_ctr_t f = gds_rng_fallback(key, block, n, a);
        double xx = -log(gds_rng_u53((uint64_t)f.v[0] | (uint64_t)f.v[1] << 32)) / GDS_ZIG_R;
        double yy = -log(gds_rng_u53((uint64_t)f.v[2] | (uint64_t)f.v[3] << 32));
        if (yy + yy > xx * xx) return neg ? -(GDS_ZIG_R + xx) : GDS_ZIG_R + xx;
      }
    }
    /* Wedge of layer idx: y uniform between f(x_idx) and f(x_{idx−1}), accepted under f;
     * rejected: the second fallback word is a fresh candidate. */
    philox4x32_ctr_t f = gds_rng_fallback(key, block, n, a++);
    double y = gds_zig_fi[idx] + (gds_zig_fi[idx - 1] - gds_zig_fi[idx]) * gds_rng_u53((uint64_t)f.v[0] | (uint64_t)f.v[1] << 32);
    if (y < exp(-0.5 * x * x)) return x;
    r = (uint64_t)f.v[2] | (uint64_t)f.v[3] << 32;
  }
}

/* A code path: how to make words, and the ziggurat's fast test. */
typedef struct gds_rng_kernels {
  const char *name;
  void (*words)(const gds_rng_key *key, uint32_t block, uint32_t g0, size_t ng, uint64_t *out);
  size_t (*zig_fast)(const uint64_t *w, size_t n, double *out, uint32_t *slow);
} gds_rng_kernels;

static const gds_rng_kernels gds_rng_kernels_[GDS_RNG_PATH_COUNT] = {
    [GDS_RNG_PATH_SCALAR] = {"scalar", gds_rng_scalar_word_groups, gds_rng_scalar_zig_fast},
    [GDS_RNG_PATH_AVX2] = {"avx2", gds_rng_avx2_word_groups, gds_rng_avx2_zig_fast},
    [GDS_RNG_PATH_AVX512] = {"avx512", gds_rng_avx512_word_groups, gds_rng_avx512_zig_fast},
};

int gds_rng_path_available(gds_rng_path path) {
  switch (path) {
  case GDS_RNG_PATH_AUTO:
  case GDS_RNG_PATH_SCALAR: return 1;
  case GDS_RNG_PATH_AVX2: return __builtin_cpu_supports("avx2");
  case GDS_RNG_PATH_AVX512: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("avx512f");
  default: return 0;
  }
}

const char *gds_rng_path_name(gds_rng_path path) {
  if (path == GDS_RNG_PATH_AUTO) return "auto";
  return path > 0 && path < GDS_RNG_PATH_COUNT ? gds_rng_kernels_[path].name : "?";
}

gds_rng_path gds_rng_path_best(void) {
  for (int p = GDS_RNG_PATH_COUNT - 1; p > GDS_RNG_PATH_SCALAR; p--)
    if (gds_rng_path_available((gds_rng_path)p)) return (gds_rng_path)p;
  return GDS_RNG_PATH_SCALAR;
}

enum { GDS_RNG_CHUNK_GROUPS = 64 }; /* 1024 words (8 KiB) per pass: stays in L1 */

/* Words first .. first+n−1 of a block into out (and the normals made of them into z when z is
 * not NULL), a chunk of groups at a time: the path's word kernel, its ziggurat fast test, the
 * slow path for the few words that need it, then the chunk's window is copied out. */
static void gds_rng_run(gds_rng_path path, const gds_rng_key *key, uint64_t block, size_t first, size_t n,
                        uint64_t *out, double *z) {
  if (path == GDS_RNG_PATH_AUTO) path = gds_rng_path_best();
  const gds_rng_kernels *k = &gds_rng_kernels_[path];
  const uint32_t b = (uint32_t)block;
  enum { CW = GDS_RNG_CHUNK_GROUPS * GDS_RNG_GROUP_WORDS };
  uint64_t wbuf[CW] __attribute__((aligned(64)));
  double zbuf[CW] __attribute__((aligned(64)));
  uint32_t slow[CW];
  size_t end = first + n;
  for (size_t g = first / GDS_RNG_GROUP_WORDS; g * GDS_RNG_GROUP_WORDS < end; g += GDS_RNG_CHUNK_GROUPS) {
    size_t w0 = g * GDS_RNG_GROUP_WORDS; /* first word of the chunk */
    size_t ng = (end - w0 + GDS_RNG_GROUP_WORDS - 1) / GDS_RNG_GROUP_WORDS;
    if (ng > GDS_RNG_CHUNK_GROUPS) ng = GDS_RNG_CHUNK_GROUPS;
    size_t lo = first > w0 ? first - w0 : 0, hi = end - w0 < ng * GDS_RNG_GROUP_WORDS ? end - w0 : ng * GDS_RNG_GROUP_WORDS;
    k->words(key, b, (uint32_t)g, ng, wbuf);
    if (out) memcpy(out + (w0 + lo - first), wbuf + lo, (hi - lo) * sizeof(uint64_t));
    if (!z) continue;
    /* the whole chunk inside the window (the usual case): straight into z */
    double *zc = lo == 0 && hi == ng * GDS_RNG_GROUP_WORDS ? z + (w0 - first) : zbuf;
    size_t ns = k->zig_fast(wbuf, ng * GDS_RNG_GROUP_WORDS, zc, slow);
    for (size_t i = 0; i < ns; i++)
      if (slow[i] >= lo && slow[i] < hi) zc[slow[i]] = gds_rng_zig_slow(key, b, (uint32_t)(w0 + slow[i]), wbuf[slow[i]]);
    if (zc == zbuf) memcpy(z + (w0 + lo - first), zbuf + lo, (hi - lo) * sizeof(double));
  }
}

void gds_rng_normal_path(gds_rng_path path, gds_rng_key key, uint64_t block, size_t n, double *out) {
  gds_rng_run(path, &key, block, 0, n, NULL, out);
}

void gds_rng_normal_range(gds_rng_key key, uint64_t block, size_t first, size_t n, double *out) {
  gds_rng_run(GDS_RNG_PATH_AUTO, &key, block, first, n, NULL, out);
}

void gds_rng_words_path(gds_rng_path path, gds_rng_key key, uint64_t block, size_t n, uint64_t *out) {
  gds_rng_run(path, &key, block, 0, n, out, NULL);
}

void gds_rng_normal(gds_rng_key key, uint64_t block, size_t n, double *out) {
  gds_rng_run(GDS_RNG_PATH_AUTO, &key, block, 0, n, NULL, out);
}

void gds_rng_uniform(gds_rng_key key, uint64_t block, size_t n, double *out) {
  uint64_t w[GDS_RNG_GROUP_WORDS];
  for (size_t g = 0; g * GDS_RNG_GROUP_WORDS < n; g++) {
    gds_rng_scalar_word_groups(&key, (uint32_t)block, (uint32_t)g, 1, w);
    size_t left = n - g * GDS_RNG_GROUP_WORDS < GDS_RNG_GROUP_WORDS ? n - g * GDS_RNG_GROUP_WORDS : GDS_RNG_GROUP_WORDS;
    for (size_t p = 0; p < left; p++) out[g * GDS_RNG_GROUP_WORDS + p] = gds_rng_u53(w[p]);
  }
}

const char *gds_rng_description(void) {
  return "Philox4x32-10 (Random123), key = seed, counter = (position, block, index, stream); "
         "normals: 1024-layer ziggurat on 64-bit words (52-bit magnitude, exact tail and wedges "
         "from a per-position fallback counter space); uniforms: (word >> 11 + 1/2) 2^-53";
}
