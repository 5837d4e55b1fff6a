/* Generic backend of the sampler algebra (any operator; sampler_impl.h): the operator is
 * applied in pixel space (gds_operator_apply / _adjoint), exactly what one does around a
 * real network, and the state is moved to pixels and back with one FFT pair per operation.
 *   gls:  x = pixels of X, r = v + shift − A x, w = M⁻¹ r (closed form when M is a multiple
 *         of I, conjugate gradients otherwise: M is symmetric positive definite), Aᵀw → state;
 *   ddrm: for A Aᵀ = c I (identity, inpainting, super-resolution) the rows of A/√c are
 *         orthonormal: V = [Aᵀ/√c, any orthonormal complement], s = √c on the range and 0 on
 *         the kernel, ȳ = v/√c. The rule has one coefficient set per part, so
 *         V x̄' = w_ker + P (w_range − w_ker) + c_y(√c) Aᵀv/c with P = AᵀA/c and w_part the
 *         part's combination of x, e, z — no explicit basis (the law does not depend on it). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gdsweep/error.h"
#include "sampler_impl.h"

enum { GG_MAX_ITER_FACTOR = 20 };
#define GG_RTOL 1e-13

typedef struct gg_data {
  double aat;                      /* A Aᵀ = aat·I when > 0 */
  double *v;                       /* m: measurement */
  double *b, *w, *p, *q, *res, *mt; /* m: right-hand side, solution, CG vectors, scratch */
  double *x, *atw, *tmp;           /* d: pixel vectors */
  double *st;                      /* 2nf: state scratch */
  double *vbar;                    /* 2nf: state of Aᵀv/aat (ddrm) */
} gg_data;

double gds_sampler_generic_aat(const gds_operator *op) {
  switch (op->spec.type) {
  case GDS_OP_IDENTITY:
  case GDS_OP_INPAINTING: return 1.0;
  case GDS_OP_SUPER_RESOLUTION: return 1.0 / ((double)op->spec.factor * op->spec.factor);
  default: return 0.0;
  }
}

static void gg_destroy(gds_sampler *s) {
  gg_data *g = s->data;
  if (!g) return;
  free(g->v);
  free(g->x);
  free(g);
  s->data = NULL;
}

static int gg_setup(gds_sampler *s) {
  gg_data *g;
  if (s->B != s->nf) GDS_ERROR(GDS_ERR_RUNTIME, "sampler: the generic backend needs the state in one block");
  const size_t m = (size_t)s->op->m, d = (size_t)s->d, n2 = 2 * (size_t)s->nf;
  GDS_CALL(GDS_ALLOC(g, 1));
  s->data = g;
  g->aat = gds_sampler_generic_aat(s->op);
  GDS_CALL(GDS_ALLOC(g->v, 7 * m));
  g->b = g->v + m;
  g->w = g->v + 2 * m;
  g->p = g->v + 3 * m;
  g->q = g->v + 4 * m;
  g->res = g->v + 5 * m;
  g->mt = g->v + 6 * m;
  GDS_CALL(GDS_ALLOC(g->x, 3 * d + 2 * n2));
  g->atw = g->x + d;
  g->tmp = g->x + 2 * d;
  g->st = g->x + 3 * d;
  g->vbar = g->st + n2;
  return GDS_SUCCESS;
}

static int gg_set_measurement(gds_sampler *s, const double *v) {
  gg_data *g = s->data;
  memcpy(g->v, v, sizeof(double) * (size_t)s->op->m);
  if (g->aat > 0) {
    GDS_CALL(gds_operator_apply_adjoint(s->op, v, g->atw));
    for (int i = 0; i < s->d; i++) g->atw[i] /= g->aat;
    gds_sampler_to_state(s, g->atw, g->vbar);
  }
  return GDS_SUCCESS;
}

/* q = M p = c0 p + c1 A Aᵀ p + c2 A Σ (dp Σ + dq I)⁻¹ Aᵀ p (m values; the prior part is a
 * Fourier multiplier). Uses atw, tmp, mt, st. */
static int gg_m_times(gds_sampler *s, const gds_gls *M, const double *p, double *q) {
  gg_data *g = s->data;
  const int m = s->op->m;
  GDS_CALL(gds_operator_apply_adjoint(s->op, p, g->atw));
  for (int i = 0; i < m; i++) q[i] = M->c0 * p[i];
  if (M->c1 != 0) {
    GDS_CALL(gds_operator_apply(s->op, g->atw, g->mt));
    for (int i = 0; i < m; i++) q[i] += M->c1 * g->mt[i];
  }
  if (M->c2 != 0) {
    gds_sampler_to_state(s, g->atw, g->st); /* one block: re[0..nf), im[nf..2nf) */
    for (int f = 0; f < s->nf; f++) {
      double k = s->lam[f] / (M->dp * s->lam[f] + M->dq);
      g->st[f] *= k;
      g->st[s->nf + f] *= k;
    }
    gds_sampler_to_pixels(s, g->st, g->tmp);
    GDS_CALL(gds_operator_apply(s->op, g->tmp, g->mt));
    for (int i = 0; i < m; i++) q[i] += M->c2 * g->mt[i];
  }
  return GDS_SUCCESS;
}

static double gg_dot(int n, const double *a, const double *b) {
  double acc = 0;
  for (int i = 0; i < n; i++) acc += a[i] * b[i];
  return acc;
}

/* w = M⁻¹ b: closed form when M = (c0 + c1 aat) I, conjugate gradients otherwise (M ⪰ c0 I). */
static int gg_solve(gds_sampler *s, const gds_gls *M) {
  gg_data *g = s->data;
  const int m = s->op->m;
  if (M->c2 == 0 && (M->c1 == 0 || g->aat > 0)) {
    double c = M->c0 + M->c1 * g->aat;
    for (int i = 0; i < m; i++) g->w[i] = g->b[i] / c;
    return GDS_SUCCESS;
  }
  double rn0 = sqrt(gg_dot(m, g->b, g->b));
  memset(g->w, 0, sizeof(double) * (size_t)m);
  if (rn0 == 0) return GDS_SUCCESS;
  memcpy(g->res, g->b, sizeof(double) * (size_t)m);
  memcpy(g->p, g->b, sizeof(double) * (size_t)m);
  double rr = rn0 * rn0;
  for (int it = 0; it < GG_MAX_ITER_FACTOR * m + 50; it++) {
    GDS_CALL(gg_m_times(s, M, g->p, g->q));
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
  GDS_ERROR(GDS_ERR_RUNTIME, "sampler: conjugate gradients (operator %s) did not converge", s->op->name);
}

static int gg_gls(gds_sampler *s, const gds_gls *M, const double *X, const double *shift, const double *J, double *out,
                  int f0, int f1) {
  gg_data *g = s->data;
  const int m = s->op->m;
  if (f0 != 0 || f1 != s->nf) GDS_ERROR(GDS_ERR_RUNTIME, "sampler: the generic backend works on whole spectra");
  memcpy(g->st, X, sizeof(double) * 2 * (size_t)s->nf);
  gds_sampler_to_pixels(s, g->st, g->x);
  GDS_CALL(gds_operator_apply(s->op, g->x, g->b));
  for (int i = 0; i < m; i++) g->b[i] = g->v[i] + (shift ? shift[i] : 0.0) - g->b[i];
  GDS_CALL(gg_solve(s, M));
  GDS_CALL(gds_operator_apply_adjoint(s->op, g->w, g->atw));
  if (!J) {
    gds_sampler_to_state(s, g->atw, out);
    return GDS_SUCCESS;
  }
  gds_sampler_to_state(s, g->atw, g->st); /* one block: re[0..nf), im[nf..2nf) */
  for (int f = 0; f < s->nf; f++) {
    out[f] += J[f] * g->st[f];
    out[s->nf + f] += J[f] * g->st[s->nf + f];
  }
  return GDS_SUCCESS;
}

static int gg_ddrm(gds_sampler *s, const gds_ddrm_rule *rule, const double *x, const double *e, const double *z,
                   double *out, int f0, int f1) {
  gg_data *g = s->data;
  const int n2 = 2 * s->nf;
  if (!(g->aat > 0)) GDS_ERROR(GDS_ERR_INPUT, "sampler: no SVD of operator %s for ddrm in the generic backend", s->op->name);
  if (f0 != 0 || f1 != s->nf) GDS_ERROR(GDS_ERR_RUNTIME, "sampler: the generic backend works on whole spectra");
  double ck[4], cr[4];
  gds_ddrm_coefs(rule, 0.0, ck);
  gds_ddrm_coefs(rule, sqrt(g->aat), cr);
  for (int i = 0; i < n2; i++) {
    double wk = ck[1] * x[i] + ck[2] * e[i] + ck[3] * z[i], wr = cr[1] * x[i] + cr[2] * e[i] + cr[3] * z[i];
    out[i] = wk;
    g->st[i] = wr - wk;
  }
  gds_sampler_to_pixels(s, g->st, g->x); /* P (w_range − w_ker), P = AᵀA/aat */
  GDS_CALL(gds_operator_apply(s->op, g->x, g->mt));
  GDS_CALL(gds_operator_apply_adjoint(s->op, g->mt, g->atw));
  for (int i = 0; i < s->d; i++) g->atw[i] /= g->aat;
  gds_sampler_to_state(s, g->atw, g->st);
  for (int i = 0; i < n2; i++) out[i] += g->st[i] + cr[0] * g->vbar[i];
  return GDS_SUCCESS;
}

const gds_sampler_backend gds_sampler_generic = {
    .name = "generic",
    .diagonal = 0,
    .setup = gg_setup,
    .set_measurement = gg_set_measurement,
    .gls = gg_gls,
    .ddrm = gg_ddrm,
    .destroy = gg_destroy,
};
