/* Counter-based normals (SPEC §3): Random123 Philox4x64-10, Box–Muller. One Philox call
 * with counter (j, block) gives normals 4j..4j+3 of a block, so any entry is a pure function
 * of (key, block, position). */
#include "gdsweep/rng.h"

#include <math.h>
#include <Random123/philox.h>
#include <Random123/u01fixedpt.h>

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

void gds_rng_normal(gds_rng_key key, uint64_t block, size_t n, double *out) {
  const double two_pi = 6.283185307179586476925286766559;
  for (size_t j = 0; 4 * j < n; j++) {
    philox4x64_ctr_t r = gds_rng_block4(key, block, j);
    double z[4];
    for (int p = 0; p < 2; p++) {
      double u1 = u01fixedpt_open_open_64_double(r.v[2 * p]);     /* (0,1): log finite */
      double u2 = u01fixedpt_closed_open_64_double(r.v[2 * p + 1]);
      double rad = sqrt(-2.0 * log(u1)), th = two_pi * u2;
      z[2 * p] = rad * cos(th);
      z[2 * p + 1] = rad * sin(th);
    }
    size_t left = n - 4 * j < 4 ? n - 4 * j : 4;
    for (size_t q = 0; q < left; q++) out[4 * j + q] = z[q];
  }
}

void gds_rng_uniform(gds_rng_key key, uint64_t block, size_t n, double *out) {
  for (size_t j = 0; 4 * j < n; j++) {
    philox4x64_ctr_t r = gds_rng_block4(key, block, j);
    size_t left = n - 4 * j < 4 ? n - 4 * j : 4;
    for (size_t q = 0; q < left; q++) out[4 * j + q] = u01fixedpt_open_open_64_double(r.v[q]);
  }
}
