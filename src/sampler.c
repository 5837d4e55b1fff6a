/* The conditional DDPM sampler run for real (SPEC §1, "Sampler"), as a DPS user would run it:
 * at each step the Tweedie denoiser x̂0(y), the residual v − A x̂0, and the guided score
 * s̃ = s_t + J_t Aᵀ C_t⁻¹ (v − A x̂0) are evaluated, all as convolutions (FFTW multipliers),
 * then y_{t−1} = (y_t + β_t s̃)/√α_t + σ_t z_t with z_t from the Philox stream
 * (seed, sample), block t (y_T: block 0).
 * This path deliberately does not reuse the law backend's P_t/b_t closed forms: it is the
 * algorithm itself, so Monte Carlo moments of its trajectories test the exact law. */
#include "gdsweep/sampler.h"

#include <fftw3.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gdsweep/error.h"
#include "gdsweep/rng.h"

struct gds_sampler {
  const gds_prior *prior;
  const gds_schedule *sched;
  gds_operator *op;
  double sigma;
  int H, W, Wh, nf, d;
  double *lam, *are, *aim; /* λ(ξ), â(ξ) on the half spectrum */
  double *y, *z, *v;       /* d: state, noise, measurement work */
  fftw_complex *yh, *vh;   /* half spectra */
  int *ck_slot;            /* [T+1]: checkpoint slot of each t, −1 if none */
  fftw_plan fwd, bwd, fwd_v;
};

void gds_sampler_destroy(gds_sampler **sp) {
  if (!sp || !*sp) return;
  gds_sampler *s = *sp;
  if (s->fwd) fftw_destroy_plan(s->fwd);
  if (s->bwd) fftw_destroy_plan(s->bwd);
  if (s->fwd_v) fftw_destroy_plan(s->fwd_v);
  fftw_free(s->y);
  fftw_free(s->z);
  fftw_free(s->v);
  fftw_free(s->yh);
  fftw_free(s->vh);
  free(s->lam);
  free(s->ck_slot);
  free(s);
  *sp = NULL;
}

int gds_sampler_create(const gds_prior *prior, const gds_schedule *sched, gds_operator *op,
                       double sigma, gds_sampler **out) {
  if (op->structure != GDS_STRUCTURE_FOURIER_DIAGONAL || !op->kernel)
    GDS_ERROR(GDS_ERR_INPUT, "the sampler does not support operator %s yet", op->name);
  gds_sampler *s;
  int ierr;
  GDS_CALL(GDS_ALLOC(s, 1));
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
  s->v = fftw_alloc_real((size_t)s->d);
  s->yh = fftw_alloc_complex((size_t)s->nf);
  s->vh = fftw_alloc_complex((size_t)s->nf);
  GDS_CALL_GOTO(ierr, fail, GDS_ALLOC(s->lam, 3 * (size_t)s->nf));
  GDS_CALL_GOTO(ierr, fail, GDS_ALLOC(s->ck_slot, sched->T + 1));
  if (!s->y || !s->z || !s->v || !s->yh || !s->vh) {
    ierr = gds_error_raise(GDS_ERR_RUNTIME, __FILE__, __LINE__, __func__, "out of memory (sampler buffers)");
    goto fail;
  }
  s->are = s->lam + s->nf;
  s->aim = s->lam + 2 * s->nf;
  /* FFTW_ESTIMATE: plans (hence rounding) must not depend on timing, for bitwise determinism. */
  s->fwd = fftw_plan_dft_r2c_2d(s->H, s->W, s->y, s->yh, FFTW_ESTIMATE);
  s->bwd = fftw_plan_dft_c2r_2d(s->H, s->W, s->yh, s->y, FFTW_ESTIMATE);
  s->fwd_v = fftw_plan_dft_r2c_2d(s->H, s->W, s->v, s->vh, FFTW_ESTIMATE);
  if (!s->fwd || !s->bwd || !s->fwd_v) {
    ierr = gds_error_raise(GDS_ERR_RUNTIME, __FILE__, __LINE__, __func__, "FFTW planning failed");
    goto fail;
  }
  memcpy(s->v, op->kernel, sizeof(double) * (size_t)s->d);
  fftw_execute(s->fwd_v);
  for (int q = 0; q < s->H; q++)
    for (int r = 0; r < s->Wh; r++) {
      int f = q * s->Wh + r;
      s->lam[f] = prior->spectrum[q * s->W + r];
      s->are[f] = s->vh[f][0];
      s->aim[f] = s->vh[f][1];
    }
  *out = s;
  return GDS_SUCCESS;
fail:
  gds_sampler_destroy(&s);
  return ierr;
}

static void gds_sampler_store(const gds_sampler *s, int t, float *traj, double *y0) {
  int k = s->ck_slot[t];
  if (traj && k >= 0)
    for (int i = 0; i < s->d; i++) traj[(size_t)k * s->d + i] = (float)s->y[i];
  if (y0 && t == 0) memcpy(y0, s->y, sizeof(double) * (size_t)s->d);
}

int gds_sampler_run(gds_sampler *s, gds_algorithm alg, double alpha_dps, const double *v,
                    int64_t seed, int64_t sample, int n_ckpt, const int *ckpt, float *traj,
                    double *y0) {
  const gds_schedule *sc = s->sched;
  int T = sc->T, nf = s->nf, d = s->d;
  double s2 = s->sigma * s->sigma, mu0 = s->prior->mean * d; /* μ̂ is m·d at ξ = 0 only */
  for (int t = 0; t <= T; t++) s->ck_slot[t] = -1;
  for (int k = 0; k < n_ckpt; k++) {
    if (ckpt[k] < 0 || ckpt[k] > T) GDS_ERROR(GDS_ERR_INPUT, "checkpoint %d outside 0..%d", ckpt[k], T);
    s->ck_slot[ckpt[k]] = k;
  }
  if (alg == GDS_ALG_DPS && !(alpha_dps > 0)) GDS_ERROR(GDS_ERR_INPUT, "alpha_dps must be > 0, got %g", alpha_dps);

  memcpy(s->v, v, sizeof(double) * (size_t)d);
  fftw_execute(s->fwd_v);
  gds_rng_key key = gds_rng_key_make(GDS_STREAM_SAMPLER, (uint64_t)seed, (uint64_t)sample);
  gds_rng_normal(key, 0, (size_t)d, s->y); /* y_T ~ N(0, I) */
  gds_sampler_store(s, T, traj, y0);

  const double inv_d = 1.0 / d;
  for (int t = T; t >= 1; t--) {
    double ab = sc->alpha_bar[t], sab = sqrt(ab), beta = sc->beta[t], isa = 1.0 / sqrt(sc->alpha[t]);
    fftw_execute(s->fwd); /* ŷ */
    for (int f = 0; f < nf; f++) {
      double lam = s->lam[f], st = ab * lam + 1 - ab; /* Σ_t(ξ) */
      double ur = s->yh[f][0] - (f == 0 ? sab * mu0 : 0.0), ui = s->yh[f][1];
      double sr = -ur / st, si = -ui / st;          /* s_t(y) = −Σ_t⁻¹ (y − √ᾱ μ) */
      double J = sab * lam / st;                    /* J_t = √ᾱ Σ Σ_t⁻¹ */
      double xr = (f == 0 ? mu0 : 0.0) + J * ur, xi = J * ui; /* x̂0 = μ + J_t (y − √ᾱ μ) */
      if (alg != GDS_ALG_NONE) {
        double ar = s->are[f], ai = s->aim[f], a2 = ar * ar + ai * ai, c;
        switch (alg) { /* C_t(ξ) of SPEC §1 "Algorithms" */
        case GDS_ALG_DPS: c = s2 / alpha_dps; break;
        case GDS_ALG_PIGDM: c = (1 - ab) * a2 + s2; break;
        default: c = (1 - ab) * a2 * lam / st + s2; break;
        }
        double rr = s->vh[f][0] - (ar * xr - ai * xi), ri = s->vh[f][1] - (ar * xi + ai * xr); /* v − A x̂0 */
        double gr = (ar * rr + ai * ri) / c, gi = (ar * ri - ai * rr) / c; /* C⁻¹ then Aᵀ */
        sr += J * gr;                                                   /* then J_t */
        si += J * gi;
      }
      s->yh[f][0] = (s->yh[f][0] + beta * sr) * isa * inv_d;
      s->yh[f][1] = (s->yh[f][1] + beta * si) * isa * inv_d;
    }
    fftw_execute(s->bwd);
    if (sc->sigma2[t] > 0) {
      double sd = sqrt(sc->sigma2[t]);
      gds_rng_normal(key, (uint64_t)t, (size_t)d, s->z);
      for (int i = 0; i < d; i++) s->y[i] += sd * s->z[i];
    }
    gds_sampler_store(s, t - 1, traj, y0);
  }
  return GDS_SUCCESS;
}
