/* Generic guidance (any operator, SPEC §1 "Algorithms"): the prior's Σ_t⁻¹ and J_t are
 * Fourier multipliers (a stationary prior), the operator is applied in pixel space
 * (gds_operator_apply / _adjoint), and C_t w = r is solved by conjugate gradients
 * (C_t is symmetric positive definite) — exactly what one does around a real network. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gdsweep/error.h"
#include "sampler_impl.h"

enum { GG_MAX_ITER_FACTOR = 20 };
#define GG_RTOL 1e-13

typedef struct gg_data {
  double *v;                    /* m: measurement */
  double *x0, *atw, *pix;       /* d: Tweedie estimate, Aᵀw, scratch */
  double *r, *w, *p, *q, *res;  /* m: residual and CG vectors */
  fftw_complex *acc, *spec;     /* nf: y + β s_t accumulated in Fourier; scratch */
  double aat;                   /* A Aᵀ = aat·I when > 0 (inpainting 1, SR s⁻²) */
} gg_data;

static void gg_destroy(gds_sampler *s) {
  gg_data *g = s->data;
  if (!g) return;
  fftw_free(g->x0);
  fftw_free(g->acc);
  free(g->v);
  free(g);
  s->data = NULL;
}

static int gg_setup(gds_sampler *s) {
  gg_data *g;
  int m = s->op->m, d = s->d;
  GDS_CALL(GDS_ALLOC(g, 1));
  s->data = g;
  g->x0 = fftw_alloc_real(3 * (size_t)d);
  g->acc = fftw_alloc_complex(2 * (size_t)s->nf);
  if (!g->x0 || !g->acc) GDS_ERROR(GDS_ERR_RUNTIME, "out of memory (sampler buffers)");
  g->atw = g->x0 + d;
  g->pix = g->x0 + 2 * d;
  g->spec = g->acc + s->nf;
  GDS_CALL(GDS_ALLOC(g->v, 6 * (size_t)m));
  g->r = g->v + m;
  g->w = g->v + 2 * m;
  g->p = g->v + 3 * m;
  g->q = g->v + 4 * m;
  g->res = g->v + 5 * m;
  switch (s->op->spec.type) {
  case GDS_OP_INPAINTING: g->aat = 1.0; break;
  case GDS_OP_SUPER_RESOLUTION: g->aat = 1.0 / ((double)s->op->spec.factor * s->op->spec.factor); break;
  case GDS_OP_IDENTITY: g->aat = 1.0; break;
  default: g->aat = 0.0; break;
  }
  return GDS_SUCCESS;
}

static int gg_set_measurement(gds_sampler *s, const double *v) {
  gg_data *g = s->data;
  memcpy(g->v, v, sizeof(double) * (size_t)s->op->m);
  return GDS_SUCCESS;
}

/* out = M x for a real Fourier multiplier M(ξ) = mult(ξ) (d values, in place allowed). */
static void gg_multiply(gds_sampler *s, const double *x, double *out, double ab, int kind) {
  gg_data *g = s->data;
  memcpy(g->pix, x, sizeof(double) * (size_t)s->d);
  fftw_execute_dft_r2c(s->fwd, g->pix, g->spec);
  double sab = sqrt(ab);
  for (int f = 0; f < s->nf; f++) {
    double ist = 1.0 / (ab * s->lam[f] + 1 - ab);
    double mlt = (kind ? sab : 1.0) * s->lam[f] * ist / s->d; /* kind 1: J_t, 0: Σ Σ_t⁻¹ */
    g->spec[f][0] *= mlt;
    g->spec[f][1] *= mlt;
  }
  fftw_execute_dft_c2r(s->bwd, g->spec, out);
}

/* q = C_t p (m values). */
static int gg_apply_c(gds_sampler *s, gds_algorithm alg, double c0, double ab, const double *p, double *q) {
  gg_data *g = s->data;
  int m = s->op->m;
  GDS_CALL(gds_operator_apply_adjoint(s->op, p, g->atw));
  if (alg == GDS_ALG_CGDM) gg_multiply(s, g->atw, g->atw, ab, 0); /* Σ Σ_t⁻¹ Aᵀ p */
  GDS_CALL(gds_operator_apply(s->op, g->atw, q));
  for (int i = 0; i < m; i++) q[i] = (1 - ab) * q[i] + c0 * p[i];
  return GDS_SUCCESS;
}

static double gg_dot(int n, const double *a, const double *b) {
  double acc = 0;
  for (int i = 0; i < n; i++) acc += a[i] * b[i];
  return acc;
}

/* w = C_t⁻¹ r: closed form when C_t is a multiple of I, conjugate gradients otherwise. */
static int gg_solve_c(gds_sampler *s, gds_algorithm alg, double alpha_dps, double ab, int t) {
  gg_data *g = s->data;
  int m = s->op->m;
  double s2 = s->sigma * s->sigma;
  if (alg == GDS_ALG_DPS || (alg == GDS_ALG_PIGDM && g->aat > 0)) {
    double c = alg == GDS_ALG_DPS ? s2 / alpha_dps : (1 - ab) * g->aat + s2;
    for (int i = 0; i < m; i++) g->w[i] = g->r[i] / c;
    return GDS_SUCCESS;
  }
  /* CG from w = r/σ² scaled guess; C_t ⪰ σ² I so it converges. */
  double rn0 = sqrt(gg_dot(m, g->r, g->r));
  memset(g->w, 0, sizeof(double) * (size_t)m);
  memcpy(g->res, g->r, sizeof(double) * (size_t)m);
  memcpy(g->p, g->r, sizeof(double) * (size_t)m);
  double rr = rn0 * rn0;
  if (rn0 == 0) return GDS_SUCCESS;
  for (int it = 0; it < GG_MAX_ITER_FACTOR * m + 50; it++) {
    GDS_CALL(gg_apply_c(s, alg, s2, ab, g->p, g->q));
    double a = rr / gg_dot(m, g->p, g->q);
    for (int i = 0; i < m; i++) {
      g->w[i] += a * g->p[i];
      g->res[i] -= a * g->q[i];
    }
    double rr1 = gg_dot(m, g->res, g->res);
    if (sqrt(rr1) <= GG_RTOL * rn0) return GDS_SUCCESS;
    for (int i = 0; i < m; i++) g->p[i] = g->res[i] + rr1 / rr * g->p[i];
    rr = rr1;
  }
  GDS_ERROR(GDS_ERR_RUNTIME, "conjugate gradients for C_t (t = %d, operator %s) did not converge", t, s->op->name);
}

static int gg_drift(gds_sampler *s, gds_algorithm alg, double alpha_dps, int t, double *y) {
  gg_data *g = s->data;
  const gds_schedule *sc = s->sched;
  int nf = s->nf, d = s->d, m = s->op->m;
  double ab = sc->alpha_bar[t], sab = sqrt(ab), beta = sc->beta[t], isa = 1.0 / sqrt(sc->alpha[t]);
  double mu = s->prior->mean, mu0 = mu * d;
  fftw_execute(s->fwd);    /* ŷ */
  s->yh[0][0] -= sab * mu0; /* û = ŷ − √ᾱ μ̂ */
  for (int f = 0; f < nf; f++) {
    double ist = 1.0 / (ab * s->lam[f] + 1 - ab), J = sab * s->lam[f] * ist;
    double ur = s->yh[f][0], ui = s->yh[f][1];
    g->acc[f][0] = ur - beta * ur * ist; /* y + β s_t(y), without √ᾱ μ (added at the end) */
    g->acc[f][1] = ui - beta * ui * ist;
    g->spec[f][0] = J * ur / d; /* J_t (y − √ᾱ μ) */
    g->spec[f][1] = J * ui / d;
  }
  g->acc[0][0] += sab * mu0;
  if (alg != GDS_ALG_NONE) {
    fftw_execute_dft_c2r(s->bwd, g->spec, g->x0);
    for (int i = 0; i < d; i++) g->x0[i] += mu;          /* x̂0 = μ + J_t (y − √ᾱ μ) */
    GDS_CALL(gds_operator_apply(s->op, g->x0, g->r));   /* A x̂0 */
    for (int i = 0; i < m; i++) g->r[i] = g->v[i] - g->r[i];
    GDS_CALL(gg_solve_c(s, alg, alpha_dps, ab, t));     /* C_t⁻¹ (v − A x̂0) */
    GDS_CALL(gds_operator_apply_adjoint(s->op, g->w, g->atw));
    fftw_execute_dft_r2c(s->fwd, g->atw, g->spec);
    for (int f = 0; f < nf; f++) {                      /* + β J_t Aᵀ C_t⁻¹ (v − A x̂0) */
      double J = sab * s->lam[f] / (ab * s->lam[f] + 1 - ab);
      g->acc[f][0] += beta * J * g->spec[f][0];
      g->acc[f][1] += beta * J * g->spec[f][1];
    }
  }
  for (int f = 0; f < nf; f++) {
    s->yh[f][0] = g->acc[f][0] * isa / d;
    s->yh[f][1] = g->acc[f][1] * isa / d;
  }
  fftw_execute_dft_c2r(s->bwd, s->yh, y);
  return GDS_SUCCESS;
}

const gds_guidance_backend gds_guidance_generic = {
    .name = "generic",
    .setup = gg_setup,
    .set_measurement = gg_set_measurement,
    .drift = gg_drift,
    .destroy = gg_destroy,
};
