/* The conditional DDPM sampler run for real (SPEC §1, "Sampler"): y_T ~ N(0, I) and
 * y_{t−1} = (y_t + β_t s̃_t(y_t))/√α_t + σ_t z_t with z_t from the Philox stream
 * (seed, sample), block t (y_T: block 0), σ_1 = 0. The guided score is evaluated by a
 * guidance backend (sampler_fourier.c, sampler_generic.c) the way a DPS user computes it:
 * Tweedie denoiser, residual v − A x̂0, C_t⁻¹, Aᵀ, J_t. It deliberately does not reuse the
 * law backends' P_t/b_t closed forms, so Monte Carlo moments of trajectories test them. */
#include "gdsweep/sampler.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gdsweep/error.h"
#include "gdsweep/rng.h"
#include "sampler_impl.h"

static const gds_guidance_backend *const gds_guidance_by_structure_[GDS_STRUCTURE_COUNT] = {
    [GDS_STRUCTURE_FOURIER_DIAGONAL] = &gds_guidance_fourier,
    [GDS_STRUCTURE_FOURIER_BLOCK] = &gds_guidance_generic,
    [GDS_STRUCTURE_DENSE] = &gds_guidance_generic,
};

void gds_sampler_destroy(gds_sampler **sp) {
  if (!sp || !*sp) return;
  gds_sampler *s = *sp;
  if (s->backend && s->backend->destroy) s->backend->destroy(s);
  if (s->fwd) fftw_destroy_plan(s->fwd);
  if (s->bwd) fftw_destroy_plan(s->bwd);
  fftw_free(s->y);
  fftw_free(s->z);
  fftw_free(s->yh);
  free(s->lam);
  free(s->ck_slot);
  free(s);
  *sp = NULL;
}

int gds_sampler_create_with(const gds_prior *prior, const gds_schedule *sched, gds_operator *op,
                            double sigma, const char *backend, gds_sampler **out) {
  const gds_guidance_backend *be = gds_guidance_by_structure_[op->structure];
  if (backend) {
    if (!strcmp(backend, gds_guidance_generic.name)) be = &gds_guidance_generic;
    else if (!strcmp(backend, gds_guidance_fourier.name) && op->structure == GDS_STRUCTURE_FOURIER_DIAGONAL)
      be = &gds_guidance_fourier;
    else GDS_ERROR(GDS_ERR_INPUT, "sampler backend '%s' cannot handle operator %s", backend, op->name);
  }
  gds_sampler *s;
  int ierr;
  GDS_CALL(GDS_ALLOC(s, 1));
  s->backend = be;
  s->prior = prior;
  s->sched = sched;
  s->op = op;
  s->sigma = sigma;
  s->H = prior->H;
  s->W = prior->W;
  s->Wh = s->W / 2 + 1;
  s->nf = s->H * s->Wh;
  s->d = s->H * s->W;
  s->y = fftw_alloc_real((size_t)s->d);
  s->z = fftw_alloc_real((size_t)s->d);
  s->yh = fftw_alloc_complex((size_t)s->nf);
  GDS_CALL_GOTO(ierr, fail, GDS_ALLOC(s->lam, s->nf));
  GDS_CALL_GOTO(ierr, fail, GDS_ALLOC(s->ck_slot, sched->T + 1));
  if (!s->y || !s->z || !s->yh) {
    ierr = gds_error_raise(GDS_ERR_RUNTIME, __FILE__, __LINE__, __func__, "out of memory (sampler buffers)");
    goto fail;
  }
  /* FFTW_ESTIMATE: plans (hence rounding) must not depend on timing, for bitwise determinism. */
  s->fwd = fftw_plan_dft_r2c_2d(s->H, s->W, s->y, s->yh, FFTW_ESTIMATE);
  s->bwd = fftw_plan_dft_c2r_2d(s->H, s->W, s->yh, s->y, FFTW_ESTIMATE);
  if (!s->fwd || !s->bwd) {
    ierr = gds_error_raise(GDS_ERR_RUNTIME, __FILE__, __LINE__, __func__, "FFTW planning failed");
    goto fail;
  }
  for (int q = 0; q < s->H; q++)
    for (int r = 0; r < s->Wh; r++) s->lam[q * s->Wh + r] = prior->spectrum[q * s->W + r];
  GDS_CALL_GOTO(ierr, fail, be->setup(s));
  *out = s;
  return GDS_SUCCESS;
fail:
  gds_sampler_destroy(&s);
  return ierr;
}

int gds_sampler_create(const gds_prior *prior, const gds_schedule *sched, gds_operator *op,
                       double sigma, gds_sampler **out) {
  GDS_CALL(gds_sampler_create_with(prior, sched, op, sigma, NULL, out));
  return GDS_SUCCESS;
}

const char *gds_sampler_backend_name(const gds_sampler *s) { return s->backend->name; }

static void gds_sampler_store(const gds_sampler *s, int t, const double *y, float *traj, double *y0) {
  int k = s->ck_slot[t];
  if (traj && k >= 0)
    for (int i = 0; i < s->d; i++) traj[(size_t)k * s->d + i] = (float)y[i];
  if (y0 && t == 0) memcpy(y0, y, sizeof(double) * (size_t)s->d);
}

int gds_sampler_run(gds_sampler *s, const gds_sampler_config *cfg, const double *v, int64_t seed,
                    int64_t sample, int n_ckpt, const int *ckpt, float *traj, double *y0,
                    const gds_poll *poll) {
  const gds_schedule *sc = s->sched;
  gds_algorithm alg = cfg->alg.kind;
  double alpha_dps = cfg->alpha_dps;
  if (cfg->scheme.kind != GDS_SCHEME_DDPM || (cfg->steps > 0 && cfg->steps != sc->T) || cfg->init != GDS_INIT_NORMAL)
    GDS_ERROR(GDS_ERR_INPUT, "sampler: only the DDPM scheme with T steps and normal init is implemented yet");
  int T = sc->T, d = s->d;
  for (int t = 0; t <= T; t++) s->ck_slot[t] = -1;
  for (int k = 0; k < n_ckpt; k++) {
    if (ckpt[k] < 0 || ckpt[k] > T) GDS_ERROR(GDS_ERR_INPUT, "checkpoint %d outside 0..%d", ckpt[k], T);
    s->ck_slot[ckpt[k]] = k;
  }
  if (alg < 0 || alg >= GDS_ALG_COUNT) GDS_ERROR(GDS_ERR_INPUT, "invalid algorithm index %d", (int)alg);
  if (alg == GDS_ALG_DDRM) GDS_ERROR(GDS_ERR_INPUT, "algorithm ddrm is not implemented yet");
  if (alg == GDS_ALG_DPS && !(alpha_dps > 0)) GDS_ERROR(GDS_ERR_INPUT, "alpha_dps must be > 0, got %g", alpha_dps);
  GDS_CALL(s->backend->set_measurement(s, v));

  double *y = s->y; /* the state lives in the FFTW-planned array */
  gds_rng_key key = gds_rng_key_make(GDS_STREAM_SAMPLER, (uint64_t)seed, (uint64_t)sample);
  gds_rng_normal(key, 0, (size_t)d, y); /* y_T ~ N(0, I) */
  gds_sampler_store(s, T, y, traj, y0);
  for (int t = T; t >= 1; t--) {
    GDS_POLL(poll);
    GDS_CALL(s->backend->drift(s, alg, alpha_dps, t, y));
    if (sc->sigma2[t] > 0) {
      double sd = sqrt(sc->sigma2[t]);
      gds_rng_normal(key, (uint64_t)t, (size_t)d, s->z);
      for (int i = 0; i < d; i++) y[i] += sd * s->z[i];
    }
    gds_sampler_store(s, t - 1, y, traj, y0);
  }
  return GDS_SUCCESS;
}
