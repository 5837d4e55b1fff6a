/* Fourier guidance (identity and blurs): Σ_t⁻¹, J_t, A, Aᵀ and C_t⁻¹ are all Fourier
 * multipliers, so one r2c/c2r pair per step evaluates the DPS-style guided score. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gdsweep/error.h"
#include "sampler_impl.h"

typedef struct fg_data {
  double *are, *aim; /* â(ξ) */
  double *vre, *vim; /* v̂(ξ) */
} fg_data;

static int fg_setup(gds_sampler *s) {
  fg_data *g;
  GDS_CALL(GDS_ALLOC(g, 1));
  s->data = g;
  GDS_CALL(GDS_ALLOC(g->are, 4 * (size_t)s->nf));
  g->aim = g->are + s->nf;
  g->vre = g->are + 2 * s->nf;
  g->vim = g->are + 3 * s->nf;
  memcpy(s->y, s->op->kernel, sizeof(double) * (size_t)s->d);
  fftw_execute(s->fwd);
  for (int f = 0; f < s->nf; f++) {
    g->are[f] = s->yh[f][0];
    g->aim[f] = s->yh[f][1];
  }
  return GDS_SUCCESS;
}

static int fg_set_measurement(gds_sampler *s, const double *v) {
  fg_data *g = s->data;
  memcpy(s->y, v, sizeof(double) * (size_t)s->d);
  fftw_execute(s->fwd);
  for (int f = 0; f < s->nf; f++) {
    g->vre[f] = s->yh[f][0];
    g->vim[f] = s->yh[f][1];
  }
  return GDS_SUCCESS;
}

/* Per frequency: u = ŷ − √ᾱ μ̂, s_t = −u/Σ_t, x̂0 = μ̂ + J u, residual v̂ − â x̂0,
 * guidance J conj(â) C_t⁻¹ (v̂ − â x̂0) (SPEC §1 "Score and Tweedie", "Algorithms"). */
static int fg_drift(gds_sampler *s, gds_algorithm alg, double alpha_dps, int t, double *y) {
  (void)y;
  const fg_data *g = s->data;
  const gds_schedule *sc = s->sched;
  const int nf = s->nf;
  double ab = sc->alpha_bar[t], sab = sqrt(ab), beta = sc->beta[t], isa = 1.0 / sqrt(sc->alpha[t]);
  double s2 = s->sigma * s->sigma, mu0 = s->prior->mean * s->d, scale = isa / s->d;
  /* C_t(ξ) = c0 + c1|â|² + c2|â|²λ/Σ_t; on = 0 for `none` (branch-free frequency loop). */
  double c0 = s2, c1 = 0, c2 = 0, on = 1;
  switch (alg) {
  case GDS_ALG_DPS: c0 = s2 / alpha_dps; break;
  case GDS_ALG_PIGDM: c1 = 1 - ab; break;
  case GDS_ALG_CGDM: c2 = 1 - ab; break;
  default: c0 = 1; on = 0; break;
  }
  fftw_execute(s->fwd);
  s->yh[0][0] -= sab * mu0; /* u = y − √ᾱ μ: μ̂ lives at ξ = 0 only */
  fftw_complex *restrict yh = s->yh;
  const double *restrict lam = s->lam, *restrict are = g->are, *restrict aim = g->aim;
  const double *restrict vre = g->vre, *restrict vim = g->vim;
#pragma omp simd
  for (int f = 0; f < nf; f++) {
    double ur = yh[f][0], ui = yh[f][1];
    double ist = 1.0 / (ab * lam[f] + 1 - ab);
    double J = sab * lam[f] * ist;
    double xr = J * ur + (f == 0 ? mu0 : 0.0), xi = J * ui;
    double ar = are[f], ai = aim[f], a2 = ar * ar + ai * ai;
    double ic = on / (c0 + a2 * (c1 + c2 * lam[f] * ist));
    double rr = vre[f] - (ar * xr - ai * xi), ri = vim[f] - (ar * xi + ai * xr);
    double gr = J * ic * (ar * rr + ai * ri), gi = J * ic * (ar * ri - ai * rr);
    /* y + β(s_t + guidance), with y = u + √ᾱ μ restored below for ξ = 0 */
    yh[f][0] = (ur + beta * (-ur * ist + gr)) * scale;
    yh[f][1] = (ui + beta * (-ui * ist + gi)) * scale;
  }
  yh[0][0] += sab * mu0 * scale;
  fftw_execute(s->bwd);
  return GDS_SUCCESS;
}

static void fg_destroy(gds_sampler *s) {
  fg_data *g = s->data;
  if (!g) return;
  free(g->are);
  free(g);
  s->data = NULL;
}

const gds_guidance_backend gds_guidance_fourier = {
    .name = "fourier",
    .setup = fg_setup,
    .set_measurement = fg_set_measurement,
    .drift = fg_drift,
    .destroy = fg_destroy,
};
