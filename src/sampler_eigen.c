/* Eigen backend of the sampler algebra (sampler_impl.h): a prior given in its own eigenbasis
 * (SPEC §7.6) with the identity operator, on the eigen state space (the n coordinates, one real
 * each). Every matrix is diagonal there (Σ = diag λ, A = I), so per coordinate j
 *   gls:  Aᵀ M⁻¹ (v + shift − A x) = (v_j + shift_j − x_j) / (c0 + c1 + c2 λ_j/(dp λ_j + dq)),
 *   ddrm: the SVD of I is V = I with every s_j = 1 and ȳ = v (SPEC §7.2): x̄'_j = the rule's
 *         combination at s = 1 of v_j, x_j, e_j, z_j.
 * Like the Fourier backend without the half spectrum: diagonal, no transform. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gdsweep/error.h"
#include "sampler_impl.h"
#include "simd.h"

typedef struct ge_data {
  double *v;  /* n: the measurement (coordinates) */
  double *sh; /* n: scratch (v + shift) */
} ge_data;

static void ge_destroy(gds_sampler *s) {
  ge_data *g = s->data;
  if (!g) return;
  free(g->v);
  free(g);
  s->data = NULL;
}

static int ge_setup(gds_sampler *s) {
  ge_data *g;
  if (s->nr != 1 || s->op->spec.type != GDS_OP_IDENTITY || s->op->m != s->d)
    GDS_ERROR(GDS_ERR_INPUT, "sampler: the eigen backend handles a prior given in its own eigenbasis with the "
              "identity operator, not %s", s->op->name);
  GDS_CALL(GDS_ALLOC(g, 1));
  s->data = g;
  GDS_CALL(GDS_ALLOC(g->v, 2 * (size_t)s->d));
  g->sh = g->v + s->d;
  return GDS_SUCCESS;
}

static int ge_set_measurement(gds_sampler *s, const double *v) {
  ge_data *g = s->data;
  memcpy(g->v, v, sizeof(double) * (size_t)s->d);
  return GDS_SUCCESS;
}

/* out = (v − x)/M per coordinate, 1/M = k/(k (c0 + c1) + c2 λ), k = dp λ + dq (k = 1 when
 * c2 = 0); out += J ⊙ that when J. */
GDS_SIMD_CLONES static void ge_gls_block(int n, const gds_gls *M, const double *restrict lam, const double *restrict v,
                                         const double *restrict x, const double *restrict J, double *restrict out) {
  const double c01 = M->c0 + M->c1, c2 = M->c2, dp = c2 != 0 ? M->dp : 0.0, dq = c2 != 0 ? M->dq : 1.0;
  for (int j = 0; j < n; j++) {
    double k = dp * lam[j] + dq, im = k / (k * c01 + c2 * lam[j]), r = im * (v[j] - x[j]);
    out[j] = J ? out[j] + J[j] * r : r;
  }
}

static int ge_gls(gds_sampler *s, const gds_gls *M, const double *x, const double *shift, const double *J, double *out,
                  int f0, int f1) {
  ge_data *g = s->data;
  const double *v = g->v;
  if (shift) {
    for (int i = 0; i < s->d; i++) g->sh[i] = g->v[i] + shift[i];
    v = g->sh;
  }
  ge_gls_block(f1 - f0, M, s->lam + f0, v + f0, x, J, out);
  return GDS_SUCCESS;
}

static int ge_ddrm(gds_sampler *s, const gds_ddrm_rule *rule, const double *x, const double *e, const double *z,
                   double *out, int f0, int f1) {
  ge_data *g = s->data;
  double c[4];
  gds_ddrm_coefs(rule, 1.0, c); /* identity: every singular value 1 */
  const double *v = g->v + f0;
  for (int j = 0; j < f1 - f0; j++) out[j] = c[0] * v[j] + c[1] * x[j] + c[2] * e[j] + c[3] * z[j];
  return GDS_SUCCESS;
}

const gds_sampler_backend gds_sampler_eigen = {
    .name = "eigen-diagonal",
    .diagonal = 1,
    .setup = ge_setup,
    .set_measurement = ge_set_measurement,
    .gls = ge_gls,
    .ddrm = ge_ddrm,
    .destroy = ge_destroy,
};
