/* Counter-based normals (SPEC §3): Random123 Philox4x64-10, Box–Muller. One Philox call
 * with counter (j, block) gives normals 4j..4j+3 of a block, so any entry is a pure function
 * of (key, block, position).
 * Speed: the trajectories draw d normals per step, so this is a hot path. Uniforms are made
 * in chunks, then Box–Muller runs as a separate loop that the compiler vectorises with
 * glibc's vector math (this file is built with -ffast-math; see CMakeLists.txt). The values
 * then depend on the build (vector log/sin/cos round differently from scalar ones), never on
 * ranks or scheduling: a given binary is bitwise reproducible. */
#include "gdsweep/rng.h"

#include <math.h>
#include <Random123/philox.h>
#include <Random123/u01fixedpt.h>

enum { GDS_RNG_CHUNK = 512 }; /* Philox calls per chunk: 2048 normals */

gds_rng_key gds_rng_key_make(gds_stream stream, uint64_t seed, uint64_t index) {
  gds_rng_key k;
  k.k[0] = seed;
  k.k[1] = ((uint64_t)stream << 56) ^ index; /* index < 2^56 in practice */
  return k;
}

static inline philox4x64_ctr_t gds_rng_block4(gds_rng_key key, uint64_t block, uint64_t j) {
  philox4x64_ctr_t c = {{j, block, 0, 0}};
  philox4x64_key_t k = {{key.k[0], key.k[1]}};
  return philox4x64(c, k);
}

/* z[2i], z[2i+1] from the uniform pair (u1[i] in (0,1), u2[i] in [0,1)). */
static void gds_box_muller(int n, const double *restrict u1, const double *restrict u2, double *restrict r,
                           double *restrict th) {
  const double two_pi = 6.283185307179586476925286766559;
#pragma omp simd
  for (int i = 0; i < n; i++) {
    r[i] = sqrt(-2.0 * log(u1[i]));
    th[i] = two_pi * u2[i];
  }
}

void gds_rng_normal(gds_rng_key key, uint64_t block, size_t n, double *out) {
  double u1[2 * GDS_RNG_CHUNK], u2[2 * GDS_RNG_CHUNK], r[2 * GDS_RNG_CHUNK], th[2 * GDS_RNG_CHUNK];
  double c[2 * GDS_RNG_CHUNK], s[2 * GDS_RNG_CHUNK];
  size_t ncalls = (n + 3) / 4;
  for (size_t j0 = 0; j0 < ncalls; j0 += GDS_RNG_CHUNK) {
    /* Always a full chunk: a constant trip count keeps every value on the vector code path
     * (a scalar remainder loop rounds differently and would make values depend on n). */
    const int nc = GDS_RNG_CHUNK;
    for (int j = 0; j < nc; j++) {
      philox4x64_ctr_t x = gds_rng_block4(key, block, j0 + (size_t)j);
      u1[2 * j] = u01fixedpt_open_open_64_double(x.v[0]); /* (0,1): log finite */
      u2[2 * j] = u01fixedpt_closed_open_64_double(x.v[1]);
      u1[2 * j + 1] = u01fixedpt_open_open_64_double(x.v[2]);
      u2[2 * j + 1] = u01fixedpt_closed_open_64_double(x.v[3]);
    }
    int np = 2 * nc;
    gds_box_muller(np, u1, u2, r, th);
    /* Separate loops: a fused sin/cos becomes a scalar sincos call that does not vectorise. */
#pragma omp simd
    for (int i = 0; i < np; i++) c[i] = r[i] * cos(th[i]);
#pragma omp simd
    for (int i = 0; i < np; i++) s[i] = r[i] * sin(th[i]);
    size_t base = 4 * j0;
    if (base + 2 * (size_t)np <= n) {
      for (int i = 0; i < np; i++) {
        out[base + 2 * i] = c[i];
        out[base + 2 * i + 1] = s[i];
      }
    } else {
      for (int i = 0; i < np; i++) {
        if (base + 2 * i < n) out[base + 2 * i] = c[i];
        if (base + 2 * i + 1 < n) out[base + 2 * i + 1] = s[i];
      }
    }
  }
}

void gds_rng_uniform(gds_rng_key key, uint64_t block, size_t n, double *out) {
  for (size_t j = 0; 4 * j < n; j++) {
    philox4x64_ctr_t r = gds_rng_block4(key, block, j);
    size_t left = n - 4 * j < 4 ? n - 4 * j : 4;
    for (size_t q = 0; q < left; q++) out[4 * j + q] = u01fixedpt_open_open_64_double(r.v[q]);
  }
}
