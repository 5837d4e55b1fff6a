/* Real trajectories of the samplers of SPEC §1 and §7 (docs/sampler.md): respaced DDPM, DDIM(η)
 * and DDRM(η, η_b) with normal or exact start, the guided score of dps / pigdm / cgdm
 * evaluated the way a user evaluates it around a network (Tweedie, residual, C_t⁻¹, Aᵀ, J_t),
 * run in the real-FFT half spectrum with noise drawn as white Fourier coefficients from the
 * Philox stream (seed, sample) (SPEC §3; gds_sampler_noise_description) — or, for a prior given
 * in its own eigenbasis (SPEC §7.6), in its n coordinates with white noise drawn per coordinate. */
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
/* Same with an explicit backend: "fourier" (identity and blurs: every operator a multiplier),
 * "fourier-block" (super-resolution: s²×s² blocks of aliased frequencies) or "generic" (any
 * operator, applied in pixel space, C_t⁻¹ by conjugate gradients; ddrm when A Aᵀ = c I:
 * identity, inpainting, super-resolution); NULL picks by structure. A prior given in its own
 * eigenbasis (SPEC §7.6; identity only) runs in its coordinates with "eigen-diagonal", the only
 * backend for it (NULL picks it). */
int gds_sampler_create_with(const gds_prior *prior, const gds_schedule *sched, gds_operator *op,
                            double sigma, const char *backend, gds_sampler **out);
/* The continuous VP SDE of SPEC §7.3 (β(u) = β_min + u (β_max − β_min)): schemes em, ei, ddpm
 * (stochastic: noise on every step) and euler, heun, rk4 (probability-flow ODE: noise only in
 * the start), K = cfg->steps, truncation ε = cfg->eps; a trajectory's checkpoints name step
 * indices k = 0..K (u_k = 1 − k(1 − ε)/K). backend as for gds_sampler_create_with (NULL: by
 * structure). */
int gds_sampler_create_vp_sde(const gds_prior *prior, double beta_min, double beta_max, gds_operator *op,
                              double sigma, const char *backend, gds_sampler **out);
const char *gds_sampler_backend_name(const gds_sampler *s);
void gds_sampler_destroy(gds_sampler **s);
/* One trajectory of the sampler `cfg` (algorithm, α_dps, scheme, steps (≤ 0: T), ε, init)
 * guided by v (m values). y_t is stored at each checkpoint time ckpt[k] (any order; each must
 * be a time the sampler visits, GDS_ERR_INPUT otherwise) into traj[k·d ..] (may be NULL); the
 * output y_0 into y0 (may be NULL). `poll` (may be NULL) is checked every few hundred
 * microseconds of work: GDS_ERR_INTERRUPTED when it says stop. */
int gds_sampler_run(gds_sampler *s, const gds_sampler_config *cfg, const double *v, int64_t seed,
                    int64_t sample, int n_ckpt, const int *ckpt, float *traj, double *y0,
                    const gds_poll *poll);

/* GDS_ERR_INPUT with a message unless the sampler gds_sampler_create builds for op runs cfg
 * (parameters in range, a scheme of the process, steps ≤ T, ddrm only with an SVD of op and
 * on the discrete process). sched NULL: the VP SDE. */
int gds_sampler_check(const gds_operator *op, const gds_schedule *sched, const gds_sampler_config *cfg);
/* z (d pixels): the white noise N(0, I) of block `block` of the stream (seed, sample), i.e. what
 * the step that starts at training time `block` adds before its scale (block 0: y_T ~ N(0, I)).
 * For replays (bench/numpy_ref.py) and tests. */
int gds_sampler_noise_pixels(gds_sampler *s, int64_t seed, int64_t sample, uint64_t block, double *z);
/* What the noise of a trajectory is: generator, basis, keying (a root attribute of outputs). */
const char *gds_sampler_noise_description(void);

#endif
