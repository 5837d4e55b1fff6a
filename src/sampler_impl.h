/* Private: guidance backends of the sampler. The DDPM loop (sampler.c) is the same for every
 * operator; what differs is how y + β_t s̃_t(y) is evaluated: as pure Fourier multipliers
 * (identity, blurs) or generically, with the operator applied in pixel space and C_t⁻¹
 * applied by conjugate gradients (inpainting, super-resolution, or any operator). */
#ifndef GDSWEEP_SAMPLER_IMPL_H
#define GDSWEEP_SAMPLER_IMPL_H

#include <fftw3.h>

#include "gdsweep/sampler.h"

typedef struct gds_guidance_backend {
  const char *name;
  int (*setup)(gds_sampler *s);
  /* New measurement v (m values) for the following steps. */
  int (*set_measurement)(gds_sampler *s, const double *v);
  /* y ← (y + β_t s̃_t(y)) / sqrt(α_t), in place; y is s->y (d values, planned for fwd/bwd). */
  int (*drift)(gds_sampler *s, gds_algorithm alg, double alpha_dps, int t, double *y);
  void (*destroy)(gds_sampler *s);
} gds_guidance_backend;

struct gds_sampler {
  const gds_guidance_backend *backend;
  const gds_prior *prior;
  const gds_schedule *sched;
  gds_operator *op;
  double sigma;
  int H, W, Wh, nf, d;
  double *lam;       /* λ(ξ) on the half spectrum */
  double *y, *z;     /* d: state, noise (FFTW-aligned) */
  fftw_complex *yh;  /* half spectrum work */
  fftw_plan fwd, bwd; /* y → yh, yh → y */
  int *ck_slot;      /* [T+1]: checkpoint slot of each t, −1 if none */
  void *data;        /* backend state */
};

extern const gds_guidance_backend gds_guidance_fourier;
extern const gds_guidance_backend gds_guidance_generic;

#endif
