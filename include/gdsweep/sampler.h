/* The conditional DDPM sampler run for real (SPEC §1, "Sampler"): trajectories in pixel
 * space, the score and the guidance applied as convolutions with FFTW, noise from Philox
 * streams keyed (seed, sample) as in SPEC §3. */
#ifndef GDSWEEP_SAMPLER_H
#define GDSWEEP_SAMPLER_H

#include <stdint.h>

#include "gdsweep/algorithm.h"
#include "gdsweep/operator.h"
#include "gdsweep/prior.h"
#include "gdsweep/schedule.h"
#include "gdsweep/scheme.h"
#include "gdsweep/error.h"

typedef struct gds_sampler gds_sampler;

int gds_sampler_create(const gds_prior *prior, const gds_schedule *sched, gds_operator *op,
                       double sigma, gds_sampler **out);
/* Same with an explicit guidance backend: "fourier" (identity and blurs only) or "generic"
 * (any operator; C_t⁻¹ by conjugate gradients); NULL picks by operator structure. */
int gds_sampler_create_with(const gds_prior *prior, const gds_schedule *sched, gds_operator *op,
                            double sigma, const char *backend, gds_sampler **out);
const char *gds_sampler_backend_name(const gds_sampler *s);
void gds_sampler_destroy(gds_sampler **s);
/* One trajectory of the sampler `cfg` (algorithm, α_dps, scheme, steps (≤ 0: T), ε, init)
 * guided by v (m values). y_t is stored at each checkpoint time ckpt[k] (any order, 0..T)
 * into traj[k·d ..] (may be NULL); the output y_0 into y0 (may be NULL). `poll` (may be
 * NULL) is checked between steps: GDS_ERR_INTERRUPTED when it says stop. */
int gds_sampler_run(gds_sampler *s, const gds_sampler_config *cfg, const double *v, int64_t seed,
                    int64_t sample, int n_ckpt, const int *ckpt, float *traj, double *y0,
                    const gds_poll *poll);

#endif
