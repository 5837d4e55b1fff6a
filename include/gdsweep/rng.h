/* Counter-based random numbers (Random123 Philox4x64-10), keyed as SPEC §3 requires so that
 * every value is a pure function of (stream, seed, index, block, position): never of the
 * number of ranks or of scheduling order. */
#ifndef GDSWEEP_RNG_H
#define GDSWEEP_RNG_H

#include <stddef.h>
#include <stdint.h>

/* What a stream is used for; part of the key so that streams never overlap. */
typedef enum {
  GDS_STREAM_X0 = 1,      /* ground truth x0: key (seed) */
  GDS_STREAM_NOISE = 2,   /* measurement noise n: key (seed, operator index) */
  GDS_STREAM_SAMPLER = 3, /* y_T and z_t: key (seed, sample), block = t */
  GDS_STREAM_MASK = 4,    /* random inpainting masks: key (mask_seed) */
} gds_stream;

typedef struct gds_rng_key {
  uint64_t k[2];
} gds_rng_key;

gds_rng_key gds_rng_key_make(gds_stream stream, uint64_t seed, uint64_t index);
/* out[i], i < n: i.i.d. N(0,1), the i-th normal of block `block` of the keyed stream. */
void gds_rng_normal(gds_rng_key key, uint64_t block, size_t n, double *out);
/* out[i], i < n: i.i.d. uniform in (0,1). */
void gds_rng_uniform(gds_rng_key key, uint64_t block, size_t n, double *out);

#endif
