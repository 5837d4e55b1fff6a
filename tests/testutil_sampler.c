/* Dense brute-force law of the samplers of SPEC §7 and a Monte Carlo check (testutil_sampler.h).
 * Plain row-major d×d matrices, long double accumulation, LAPACKE for inverses and the SVD. */
#include "testutil_sampler.h"

#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static double *dz(size_t n) { return calloc(n ? n : 1, sizeof(double)); }

/* C = op(A) op(B), op = transpose when t; sizes M×K times K×N. */
static void mm(int M, int N, int K, const double *A, int ta, const double *B, int tb, double *C) {
  for (int i = 0; i < M; i++)
    for (int j = 0; j < N; j++) {
      long double acc = 0;
      for (int k = 0; k < K; k++) acc += (long double)(ta ? A[k * M + i] : A[i * K + k]) * (tb ? B[j * K + k] : B[k * N + j]);
      C[i * N + j] = (double)acc;
    }
}

static void mv(int M, int N, const double *A, int ta, const double *x, double *y) {
  for (int i = 0; i < M; i++) {
    long double acc = 0;
    for (int k = 0; k < N; k++) acc += (long double)(ta ? A[k * M + i] : A[i * N + k]) * x[k];
    y[i] = (double)acc;
  }
}

static void inverse(int n, double *A) {
  lapack_int *piv = malloc(sizeof(lapack_int) * (size_t)n);
  assert_int_equal(LAPACKE_dgetrf(LAPACK_ROW_MAJOR, n, n, A, n, piv), 0);
  assert_int_equal(LAPACKE_dgetri(LAPACK_ROW_MAJOR, n, A, n, piv), 0);
  free(piv);
}

void gds_ts_problem_make(const gds_prior *prior, gds_operator *op, double sigma, const double *v,
                         const gds_schedule *sched, gds_ts_problem *pb) {
  const int H = prior->H, W = prior->W, d = H * W, m = op->m;
  *pb = (gds_ts_problem){.H = H, .W = W, .d = d, .m = m, .sigma = sigma, .sched = sched};
  pb->mu = dz((size_t)d);
  pb->Sigma = dz((size_t)d * d);
  pb->A = dz((size_t)m * d);
  pb->v = dz((size_t)m);
  memcpy(pb->v, v, sizeof(double) * (size_t)m);
  for (int i = 0; i < d; i++) pb->mu[i] = prior->mean;
  /* Σ[i, j] = g(i − j), g(p) = (1/d) Σ_ξ λ(ξ) e^{2πi ξ·p} (λ real and even: a cosine sum) */
  double *g = dz((size_t)d);
  for (int pr = 0; pr < H; pr++)
    for (int pc = 0; pc < W; pc++) {
      long double acc = 0;
      for (int q = 0; q < H; q++)
        for (int r = 0; r < W; r++)
          acc += prior->spectrum[q * W + r] * cosl(2.0L * 3.14159265358979323846264338327950288L *
                                                    ((long double)q * pr / H + (long double)r * pc / W));
      g[pr * W + pc] = (double)(acc / d);
    }
  for (int i = 0; i < d; i++)
    for (int j = 0; j < d; j++) {
      int dr = ((i / W - j / W) % H + H) % H, dc = ((i % W - j % W) % W + W) % W;
      pb->Sigma[i * d + j] = g[dr * W + dc];
    }
  free(g);
  double *e = dz((size_t)d), *col = dz((size_t)m);
  for (int j = 0; j < d; j++) {
    memset(e, 0, sizeof(double) * (size_t)d);
    e[j] = 1;
    assert_int_equal(gds_operator_apply(op, e, col), 0);
    for (int i = 0; i < m; i++) pb->A[i * d + j] = col[i];
  }
  free(e);
  free(col);
}

void gds_ts_problem_free(gds_ts_problem *pb) {
  free(pb->mu);
  free(pb->Sigma);
  free(pb->A);
  free(pb->v);
}

/* ---- the dense law --------------------------------------------------------------------- */

typedef struct dense_ctx {
  const gds_ts_problem *pb;
  const gds_sampler_config *cfg;
  int d, m;
  /* SVD for DDRM: A = U S Vᵀ; V d×d (columns = right singular vectors), s[d] (0 past rank),
   * ybar[d] = (Uᵀ v)_i / s_i where s_i > 0 */
  double *V, *s, *ybar;
} dense_ctx;

static void ctx_svd(dense_ctx *c) {
  const int d = c->d, m = c->m;
  double *A = dz((size_t)m * d), *U = dz((size_t)m * m), *Vt = dz((size_t)d * d), *sv = dz((size_t)(m < d ? m : d));
  double *sup = dz((size_t)(m < d ? m : d));
  memcpy(A, c->pb->A, sizeof(double) * (size_t)m * d);
  assert_int_equal(LAPACKE_dgesvd(LAPACK_ROW_MAJOR, 'A', 'A', m, d, A, d, sv, U, m, Vt, d, sup), 0);
  c->V = dz((size_t)d * d);
  c->s = dz((size_t)d);
  c->ybar = dz((size_t)d);
  for (int i = 0; i < d; i++)
    for (int j = 0; j < d; j++) c->V[i * d + j] = Vt[j * d + i];
  int r = m < d ? m : d;
  double smax = r > 0 ? sv[0] : 0;
  for (int i = 0; i < r; i++) {
    c->s[i] = sv[i] < 1e-12 * smax ? 0 : sv[i];
    if (c->s[i] > 0) {
      long double acc = 0;
      for (int k = 0; k < m; k++) acc += (long double)U[k * m + i] * c->pb->v[k];
      c->ybar[i] = (double)(acc / c->s[i]);
    }
  }
  free(A);
  free(U);
  free(Vt);
  free(sv);
  free(sup);
}

/* SPEC §7.2 rules, written again here: coefficients of (ȳ, x̄θ, ε̄, z̄) for singular value s. */
static void ddrm_rule(double s, double vs, double sg, double eta, double eta_b, int init, double c[4]) {
  if (init) {
    if (s > 0 && s * vs > sg) c[0] = 1, c[1] = c[2] = 0, c[3] = sqrt(vs * vs - sg * sg / (s * s));
    else c[0] = c[1] = c[2] = 0, c[3] = vs;
  } else if (s > 0 && s * vs > sg) {
    c[0] = eta_b, c[1] = 1 - eta_b, c[2] = 0, c[3] = sqrt(vs * vs - eta_b * eta_b * sg * sg / (s * s));
  } else if (s > 0) {
    c[0] = sqrt(1 - eta * eta) * vs * s / sg, c[1] = 1 - c[0], c[2] = 0, c[3] = eta * vs;
  } else {
    c[0] = 0, c[1] = 1, c[2] = sqrt(1 - eta * eta) * vs, c[3] = eta * vs;
  }
}

/* Σ_ᾱ⁻¹ (d×d) and J = √ᾱ Σ Σ_ᾱ⁻¹ at level ab. */
static void prior_mats(const dense_ctx *c, double ab, double *Sinv, double *J) {
  const int d = c->d;
  for (int i = 0; i < d * d; i++) Sinv[i] = ab * c->pb->Sigma[i];
  for (int i = 0; i < d; i++) Sinv[i * d + i] += 1 - ab;
  inverse(d, Sinv);
  mm(d, d, d, c->pb->Sigma, 0, Sinv, 0, J);
  for (int i = 0; i < d * d; i++) J[i] *= sqrt(ab);
}

/* Guided score s̃(y) = Ps y + cs at level ab (SPEC §1): −Σ_ᾱ⁻¹ (y − √ᾱ μ) + J Aᵀ C⁻¹ (v − A x̂0). */
static void score_affine(const dense_ctx *c, double ab, double *Ps, double *cs) {
  const gds_ts_problem *pb = c->pb;
  const int d = c->d, m = c->m;
  const double s2 = pb->sigma * pb->sigma;
  double *Sinv = dz((size_t)d * d), *J = dz((size_t)d * d), *u0 = dz((size_t)d);
  prior_mats(c, ab, Sinv, J);
  for (int i = 0; i < d * d; i++) Ps[i] = -Sinv[i];
  for (int i = 0; i < d; i++) u0[i] = sqrt(ab) * pb->mu[i]; /* s̃ = Ps (y − √ᾱμ) + ...: offset below */
  gds_algorithm a = c->cfg->alg.kind;
  memset(cs, 0, sizeof(double) * (size_t)d);
  if (a == GDS_ALG_DPS || a == GDS_ALG_PIGDM || a == GDS_ALG_CGDM) {
    double *C = dz((size_t)m * m), *AJ = dz((size_t)m * d), *T = dz((size_t)d * m), *AS = dz((size_t)m * d);
    double *r = dz((size_t)m), *w = dz((size_t)m);
    if (a == GDS_ALG_DPS) {
      for (int i = 0; i < m; i++) C[i * m + i] = s2 / c->cfg->alpha_dps;
    } else {
      double *M = dz((size_t)d * d); /* pigdm: I; cgdm: Σ Σ_ᾱ⁻¹ */
      if (a == GDS_ALG_PIGDM)
        for (int i = 0; i < d; i++) M[i * d + i] = 1;
      else mm(d, d, d, pb->Sigma, 0, Sinv, 0, M);
      mm(m, d, d, pb->A, 0, M, 0, AS);
      mm(m, m, d, AS, 0, pb->A, 1, C);
      for (int i = 0; i < m * m; i++) C[i] *= 1 - ab;
      for (int i = 0; i < m; i++) C[i * m + i] += s2;
      free(M);
    }
    inverse(m, C);
    /* s̃ = −Σ_ᾱ⁻¹ u + J Aᵀ C⁻¹ (v − A μ − A J u), u = y − √ᾱ μ */
    mm(m, d, d, pb->A, 0, J, 0, AJ);
    mm(d, m, m, AJ, 1, C, 0, T); /* (AJ)ᵀ C⁻¹ = J Aᵀ C⁻¹ (J symmetric) */
    double *TAJ = dz((size_t)d * d);
    mm(d, d, m, T, 0, AJ, 0, TAJ);
    for (int i = 0; i < d * d; i++) Ps[i] -= TAJ[i];
    mv(m, d, pb->A, 0, pb->mu, r);
    for (int i = 0; i < m; i++) r[i] = pb->v[i] - r[i];
    mv(d, m, T, 0, r, cs);
    free(TAJ);
    free(C);
    free(AJ);
    free(T);
    free(AS);
    free(r);
    free(w);
  }
  /* offset of the u-affine form: Ps (y − u0) + cs = Ps y + (cs − Ps u0) */
  double *pu = dz((size_t)d);
  mv(d, d, Ps, 0, u0, pu);
  for (int i = 0; i < d; i++) cs[i] -= pu[i];
  free(pu);
  free(Sinv);
  free(J);
  free(u0);
}

/* One step t → s as y_s = P y + b + noise N(0, N). */
static void step_affine(const dense_ctx *c, int t, int s_, double *P, double *b, double *N) {
  const gds_schedule *sc = c->pb->sched;
  const int d = c->d;
  const double ab = sc->alpha_bar[t], abs_ = sc->alpha_bar[s_];
  memset(N, 0, sizeof(double) * (size_t)d * d);
  if (c->cfg->alg.kind == GDS_ALG_DDRM) {
    double *Sinv = dz((size_t)d * d), *J = dz((size_t)d * d), *Px = dz((size_t)d * d), *Pe = dz((size_t)d * d);
    double *bx = dz((size_t)d), *be = dz((size_t)d), *tmp = dz((size_t)d * d), *ttv = dz((size_t)d);
    prior_mats(c, ab, Sinv, J);
    /* x̂0 = J y + (μ − √ᾱ J μ); ε̂ = (y − √ᾱ x̂0)/√(1 − ᾱ) */
    memcpy(Px, J, sizeof(double) * (size_t)d * d);
    mv(d, d, J, 0, c->pb->mu, bx);
    for (int i = 0; i < d; i++) bx[i] = c->pb->mu[i] - sqrt(ab) * bx[i];
    for (int i = 0; i < d * d; i++) Pe[i] = ((i / d == i % d) - sqrt(ab) * Px[i]) / sqrt(1 - ab);
    for (int i = 0; i < d; i++) be[i] = -sqrt(ab) * bx[i] / sqrt(1 - ab);
    double vs = sqrt((1 - abs_) / abs_), a = sqrt(abs_);
    /* x̄' = diag(c0) ȳ + diag(c1) Vᵀ x̂0 + diag(c2) Vᵀ ε̂ + diag(c3) z̄; y_s = √ᾱ_s V x̄' */
    double *D1 = dz((size_t)d * d), *D2 = dz((size_t)d * d), *cb = dz((size_t)d), *nv = dz((size_t)d);
    for (int i = 0; i < d; i++) {
      double k[4];
      ddrm_rule(c->s[i], vs, c->pb->sigma, c->cfg->alg.eta, c->cfg->alg.eta_b, 0, k);
      for (int j = 0; j < d; j++) {
        D1[i * d + j] = k[1] * c->V[j * d + i]; /* diag(c1) Vᵀ */
        D2[i * d + j] = k[2] * c->V[j * d + i];
      }
      cb[i] = k[0] * c->ybar[i];
      nv[i] = k[3] * k[3];
    }
    mm(d, d, d, D1, 0, Px, 0, tmp);
    double *t2 = dz((size_t)d * d);
    mm(d, d, d, D2, 0, Pe, 0, t2);
    for (int i = 0; i < d * d; i++) tmp[i] += t2[i];
    mm(d, d, d, c->V, 0, tmp, 0, P);
    for (int i = 0; i < d * d; i++) P[i] *= a;
    mv(d, d, D1, 0, bx, ttv);
    for (int i = 0; i < d; i++) cb[i] += ttv[i];
    mv(d, d, D2, 0, be, ttv);
    for (int i = 0; i < d; i++) cb[i] += ttv[i];
    mv(d, d, c->V, 0, cb, b);
    for (int i = 0; i < d; i++) b[i] *= a;
    for (int i = 0; i < d; i++)
      for (int j = 0; j < d; j++) {
        long double acc = 0;
        for (int k = 0; k < d; k++) acc += (long double)c->V[i * d + k] * nv[k] * c->V[j * d + k];
        N[i * d + j] = (double)(acc * abs_);
      }
    free(Sinv), free(J), free(Px), free(Pe), free(bx), free(be), free(tmp), free(ttv), free(D1), free(D2), free(cb),
        free(nv), free(t2);
    return;
  }
  double *Ps = dz((size_t)d * d), *cs = dz((size_t)d);
  score_affine(c, ab, Ps, cs);
  if (c->cfg->scheme.kind == GDS_SCHEME_DDPM) {
    double a1 = ab / abs_, b1 = 1 - a1;
    if (s_ == t - 1) a1 = sc->alpha[t], b1 = sc->beta[t];
    double var = s_ == 0 ? 0 : sc->variance == GDS_VARIANCE_BETA ? b1 : b1 * (1 - abs_) / (1 - ab);
    for (int i = 0; i < d * d; i++) P[i] = ((i / d == i % d) + b1 * Ps[i]) / sqrt(a1);
    for (int i = 0; i < d; i++) b[i] = b1 * cs[i] / sqrt(a1);
    for (int i = 0; i < d; i++) N[i * d + i] = var;
  } else { /* DDIM */
    double eta = c->cfg->scheme.eta, cc = eta * sqrt((1 - abs_) / (1 - ab)) * sqrt(1 - ab / abs_);
    double ke = sqrt(fmax(0, 1 - abs_ - cc * cc)), se = sqrt(1 - ab);
    for (int i = 0; i < d * d; i++) {
      double px = ((i / d == i % d) + (1 - ab) * Ps[i]) / sqrt(ab), pe = -se * Ps[i];
      P[i] = sqrt(abs_) * px + ke * pe;
    }
    for (int i = 0; i < d; i++) b[i] = sqrt(abs_) * (1 - ab) * cs[i] / sqrt(ab) - ke * se * cs[i];
    for (int i = 0; i < d; i++) N[i * d + i] = cc * cc;
  }
  free(Ps);
  free(cs);
}

/* ---- the VP SDE (SPEC §7.3), written again here ---- */

static double vp_beta(const gds_ts_problem *pb, double u) { return pb->beta_min + u * (pb->beta_max - pb->beta_min); }
static double vp_B(const gds_ts_problem *pb, double u) { return pb->beta_min * u + 0.5 * (pb->beta_max - pb->beta_min) * u * u; }
static double vp_u(const gds_ts_problem *pb, const gds_sampler_config *cfg, int k) {
  (void)pb;
  return k == cfg->steps ? cfg->eps : 1 - k * (1 - cfg->eps) / cfg->steps;
}

/* F(x, u) = ½β(u)(x + s̃(x, u)) = Fy x + Fc. */
static void vp_flow(const dense_ctx *c, double u, double *Fy, double *Fc) {
  const int d = c->d;
  double h = 0.5 * vp_beta(c->pb, u);
  score_affine(c, exp(-vp_B(c->pb, u)), Fy, Fc);
  for (int i = 0; i < d * d; i++) Fy[i] = h * (Fy[i] + (i / d == i % d));
  for (int i = 0; i < d; i++) Fc[i] *= h;
}

/* (P, b) ← the affine map x ↦ P_x x + b_x composed with F: F(P_x y + b_x) = Fy P_x y + Fy b_x + Fc. */
static void compose(int d, const double *Fy, const double *Fc, const double *Px, const double *bx, double *P, double *b) {
  mm(d, d, d, Fy, 0, Px, 0, P);
  mv(d, d, Fy, 0, bx, b);
  for (int i = 0; i < d; i++) b[i] += Fc[i];
}

static void step_vp(const dense_ctx *c, int k, double *P, double *b, double *N) {
  const gds_ts_problem *pb = c->pb;
  const int d = c->d;
  const double u0 = vp_u(pb, c->cfg, k), u1 = vp_u(pb, c->cfg, k + 1), dt = u0 - u1, b0 = vp_beta(pb, u0);
  double *Ps = dz((size_t)d * d), *cs = dz((size_t)d);
  memset(N, 0, sizeof(double) * (size_t)d * d);
  gds_scheme sch = c->cfg->scheme.kind;
  if (sch == GDS_SCHEME_EM || sch == GDS_SCHEME_EI || sch == GDS_SCHEME_DDPM) {
    score_affine(c, exp(-vp_B(pb, u0)), Ps, cs);
    double a, kk, var; /* y' = a y + kk s̃ + √var z */
    if (sch == GDS_SCHEME_EM) a = 1 + 0.5 * dt * b0, kk = dt * b0, var = dt * b0;
    else if (sch == GDS_SCHEME_EI) {
      double del = 0.5 * (vp_B(pb, u0) - vp_B(pb, u1));
      a = exp(del), kk = 2 * (exp(del) - 1), var = exp(2 * del) - 1;
    } else {
      double bb = dt * b0;
      a = 1 / sqrt(1 - bb), kk = bb / sqrt(1 - bb), var = bb;
    }
    for (int i = 0; i < d * d; i++) P[i] = a * (i / d == i % d) + kk * Ps[i];
    for (int i = 0; i < d; i++) b[i] = kk * cs[i], N[i * d + i] = var;
    free(Ps), free(cs);
    return;
  }
  /* ODE schemes as compositions of affine maps: stage x_j = X_j y + x_j, k_j = K_j y + k_j */
  double *Fy = Ps, *Fc = cs, *Id = dz((size_t)d * d), *zero = dz((size_t)d);
  double *K1 = dz((size_t)d * d), *k1 = dz((size_t)d), *K2 = dz((size_t)d * d), *k2 = dz((size_t)d);
  double *K3 = dz((size_t)d * d), *k3 = dz((size_t)d), *K4 = dz((size_t)d * d), *k4 = dz((size_t)d);
  double *X = dz((size_t)d * d), *x = dz((size_t)d);
  for (int i = 0; i < d; i++) Id[i * d + i] = 1;
  vp_flow(c, u0, Fy, Fc);
  compose(d, Fy, Fc, Id, zero, K1, k1);
  if (sch == GDS_SCHEME_EULER) {
    for (int i = 0; i < d * d; i++) P[i] = Id[i] + dt * K1[i];
    for (int i = 0; i < d; i++) b[i] = dt * k1[i];
  } else if (sch == GDS_SCHEME_HEUN) {
    for (int i = 0; i < d * d; i++) X[i] = Id[i] + dt * K1[i];
    for (int i = 0; i < d; i++) x[i] = dt * k1[i];
    vp_flow(c, u1, Fy, Fc);
    compose(d, Fy, Fc, X, x, K2, k2);
    for (int i = 0; i < d * d; i++) P[i] = Id[i] + 0.5 * dt * (K1[i] + K2[i]);
    for (int i = 0; i < d; i++) b[i] = 0.5 * dt * (k1[i] + k2[i]);
  } else { /* RK4 */
    double um = u0 - 0.5 * dt;
    for (int i = 0; i < d * d; i++) X[i] = Id[i] + 0.5 * dt * K1[i];
    for (int i = 0; i < d; i++) x[i] = 0.5 * dt * k1[i];
    vp_flow(c, um, Fy, Fc);
    compose(d, Fy, Fc, X, x, K2, k2);
    for (int i = 0; i < d * d; i++) X[i] = Id[i] + 0.5 * dt * K2[i];
    for (int i = 0; i < d; i++) x[i] = 0.5 * dt * k2[i];
    compose(d, Fy, Fc, X, x, K3, k3);
    for (int i = 0; i < d * d; i++) X[i] = Id[i] + dt * K3[i];
    for (int i = 0; i < d; i++) x[i] = dt * k3[i];
    vp_flow(c, u1, Fy, Fc);
    compose(d, Fy, Fc, X, x, K4, k4);
    for (int i = 0; i < d * d; i++) P[i] = Id[i] + dt / 6 * (K1[i] + 2 * K2[i] + 2 * K3[i] + K4[i]);
    for (int i = 0; i < d; i++) b[i] = dt / 6 * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]);
  }
  free(Ps), free(cs), free(Id), free(zero), free(K1), free(k1), free(K2), free(k2), free(K3), free(k3), free(K4), free(k4),
      free(X), free(x);
}

/* Curve index of each point (t, or k for the VP SDE) and ᾱ there. */
static int plan_times(const gds_ts_problem *pb, const gds_sampler_config *cfg, int *t, double *ab) {
  if (!pb->sched) {
    for (int k = 0; k <= cfg->steps; k++) t[k] = k, ab[k] = exp(-vp_B(pb, vp_u(pb, cfg, k)));
    return cfg->steps;
  }
  int T = pb->sched->T, S = cfg->steps <= 0 ? T : cfg->steps, skip = T / S;
  for (int k = 0; k <= S; k++) t[k] = (S - k) == 0 ? 0 : 1 + (S - k - 1) * skip, ab[k] = pb->sched->alpha_bar[t[k]];
  return S;
}

/* Start law N(mean, cov) at ᾱ = ab. */
static void start_law(const dense_ctx *c, double ab, double *mean, double *cov) {
  const gds_ts_problem *pb = c->pb;
  const int d = c->d, m = c->m;
  memset(mean, 0, sizeof(double) * (size_t)d);
  memset(cov, 0, sizeof(double) * (size_t)d * d);
  if (c->cfg->init == GDS_INIT_EXACT) {
    /* reference law: posterior path (prior path for none) */
    double *mref = dz((size_t)d), *Kref = dz((size_t)d * d);
    memcpy(mref, pb->mu, sizeof(double) * (size_t)d);
    memcpy(Kref, pb->Sigma, sizeof(double) * (size_t)d * d);
    if (c->cfg->alg.kind != GDS_ALG_NONE) {
      double *SA = dz((size_t)d * m), *S = dz((size_t)m * m), *G = dz((size_t)d * m), *r = dz((size_t)m);
      mm(d, m, d, pb->Sigma, 0, pb->A, 1, SA);
      mm(m, m, d, pb->A, 0, SA, 0, S);
      for (int i = 0; i < m; i++) S[i * m + i] += pb->sigma * pb->sigma;
      inverse(m, S);
      mm(d, m, m, SA, 0, S, 0, G);
      mv(m, d, pb->A, 0, pb->mu, r);
      for (int i = 0; i < m; i++) r[i] = pb->v[i] - r[i];
      double *gr = dz((size_t)d), *GAS = dz((size_t)d * d);
      mv(d, m, G, 0, r, gr);
      for (int i = 0; i < d; i++) mref[i] += gr[i];
      mm(d, d, m, G, 0, SA, 1, GAS);
      for (int i = 0; i < d * d; i++) Kref[i] -= GAS[i];
      free(SA), free(S), free(G), free(r), free(gr), free(GAS);
    }
    for (int i = 0; i < d; i++) mean[i] = sqrt(ab) * mref[i];
    for (int i = 0; i < d * d; i++) cov[i] = ab * Kref[i] + (i / d == i % d) * (1 - ab);
    free(mref);
    free(Kref);
  } else if (c->cfg->alg.kind == GDS_ALG_DDRM) {
    double vs = sqrt((1 - ab) / ab), *xm = dz((size_t)d), *xv = dz((size_t)d);
    for (int i = 0; i < d; i++) {
      double k[4];
      ddrm_rule(c->s[i], vs, pb->sigma, 0, 0, 1, k);
      xm[i] = k[0] * c->ybar[i] / vs;
      xv[i] = k[3] * k[3] / (vs * vs);
    }
    mv(d, d, c->V, 0, xm, mean);
    for (int i = 0; i < d; i++)
      for (int j = 0; j < d; j++) {
        long double acc = 0;
        for (int k = 0; k < d; k++) acc += (long double)c->V[i * d + k] * xv[k] * c->V[j * d + k];
        cov[i * d + j] = (double)acc;
      }
    free(xm);
    free(xv);
  } else
    for (int i = 0; i < d; i++) cov[i * d + i] = 1;
}

static void ctx_make(dense_ctx *c, const gds_ts_problem *pb, const gds_sampler_config *cfg) {
  *c = (dense_ctx){.pb = pb, .cfg = cfg, .d = pb->d, .m = pb->m};
  if (cfg->alg.kind == GDS_ALG_DDRM) ctx_svd(c);
}

static void ctx_free(dense_ctx *c) {
  free(c->V);
  free(c->s);
  free(c->ybar);
}

void gds_ts_law(const gds_ts_problem *pb, const gds_sampler_config *cfg, int t_snap, double *mean, double *cov) {
  const int d = pb->d;
  dense_ctx c;
  ctx_make(&c, pb, cfg);
  int npt = (pb->sched ? pb->sched->T : cfg->steps) + 1;
  int *t = malloc(sizeof(int) * (size_t)npt);
  double *ab = dz((size_t)npt);
  int S = plan_times(pb, cfg, t, ab);
  double *m = dz((size_t)d), *K = dz((size_t)d * d), *P = dz((size_t)d * d), *b = dz((size_t)d), *N = dz((size_t)d * d);
  double *PK = dz((size_t)d * d), *m2 = dz((size_t)d);
  start_law(&c, ab[0], m, K);
  int found = t[0] == t_snap;
  for (int k = 0; k < S && !found; k++) {
    if (pb->sched) step_affine(&c, t[k], t[k + 1], P, b, N);
    else step_vp(&c, k, P, b, N);
    mv(d, d, P, 0, m, m2);
    for (int i = 0; i < d; i++) m[i] = m2[i] + b[i];
    mm(d, d, d, P, 0, K, 0, PK);
    mm(d, d, d, PK, 0, P, 1, K);
    for (int i = 0; i < d * d; i++) K[i] += N[i];
    found = t[k + 1] == t_snap;
  }
  assert_true(found);
  memcpy(mean, m, sizeof(double) * (size_t)d);
  memcpy(cov, K, sizeof(double) * (size_t)d * d);
  free(t), free(ab), free(m), free(K), free(P), free(b), free(N), free(PK), free(m2);
  ctx_free(&c);
}

void gds_ts_flow(const gds_ts_problem *pb, const gds_sampler_config *cfg, double *Pt, double *ct) {
  const int d = pb->d;
  dense_ctx c;
  ctx_make(&c, pb, cfg);
  int npt = (pb->sched ? pb->sched->T : cfg->steps) + 1;
  int *t = malloc(sizeof(int) * (size_t)npt);
  double *ab = dz((size_t)npt);
  int S = plan_times(pb, cfg, t, ab);
  double *P = dz((size_t)d * d), *b = dz((size_t)d), *N = dz((size_t)d * d), *tmp = dz((size_t)d * d), *c2 = dz((size_t)d);
  memset(Pt, 0, sizeof(double) * (size_t)d * d);
  for (int i = 0; i < d; i++) Pt[i * d + i] = 1;
  memset(ct, 0, sizeof(double) * (size_t)d);
  for (int k = 0; k < S; k++) {
    if (pb->sched) step_affine(&c, t[k], t[k + 1], P, b, N);
    else step_vp(&c, k, P, b, N);
    for (int i = 0; i < d * d; i++) assert_true(N[i] == 0);
    mm(d, d, d, P, 0, Pt, 0, tmp);
    memcpy(Pt, tmp, sizeof(double) * (size_t)d * d);
    mv(d, d, P, 0, ct, c2);
    for (int i = 0; i < d; i++) ct[i] = c2[i] + b[i];
  }
  free(t), free(ab), free(P), free(b), free(N), free(tmp), free(c2);
  ctx_free(&c);
}

/* ---- Monte Carlo ------------------------------------------------------------------------- */

void gds_ts_mc_check(gds_sampler *smp, const gds_ts_problem *pb, const gds_sampler_config *cfg, int t_mid, int ntraj) {
  const int D = pb->d, ck[2] = {t_mid, pb->sched ? 0 : cfg->steps}; /* middle, end */
  double *mean = malloc(sizeof(double) * 2 * D), *cov = malloc(sizeof(double) * 2 * D * D);
  for (int c = 0; c < 2; c++) gds_ts_law(pb, cfg, ck[c], mean + c * D, cov + (size_t)c * D * D);
  gds_ts_mc_compare(smp, cfg, pb->v, pb->H, pb->W, ck, mean, cov, ntraj);
  free(mean);
  free(cov);
}

void gds_ts_mc_compare(gds_sampler *smp, const gds_sampler_config *cfg, const double *v, int H, int W, const int ck[2],
                       const double *mean, const double *cov, int ntraj) {
  const int D = H * W;
  float *traj = malloc(sizeof(float) * 2 * D);
  double *sum = calloc(2 * (size_t)D, sizeof(double)), *sq = calloc(2 * (size_t)D, sizeof(double));
  double *pw = calloc(2 * (size_t)D, sizeof(double)), *cen = malloc(sizeof(double) * D);
  for (int n = 0; n < ntraj; n++) {
    assert_int_equal(gds_sampler_run(smp, cfg, v, 11, n, 2, ck, traj, NULL, NULL), 0);
    for (int c = 0; c < 2; c++) {
      for (int i = 0; i < D; i++) {
        cen[i] = traj[c * D + i] - mean[c * D + i];
        sum[c * D + i] += traj[c * D + i];
        sq[c * D + i] += cen[i] * cen[i];
      }
      for (int q = 0; q < H; q++)
        for (int r = 0; r < W; r++) {
          double re, im;
          gds_test_dft_coef(H, W, cen, q, r, &re, &im);
          pw[c * D + q * W + r] += re * re + im * im;
        }
    }
  }
  for (int c = 0; c < 2; c++) {
    const double *K = cov + (size_t)c * D * D;
    for (int i = 0; i < D; i++) {
      double kii = K[(size_t)i * D + i], se = sqrt(kii / ntraj) + 1e-6; /* float32 trajectories */
      GDS_ASSERT_CLOSE(sum[c * D + i] / ntraj, mean[c * D + i], 0, 5 * se);
      GDS_ASSERT_CLOSE(sq[c * D + i] / ntraj, kii, 5 * sqrt(2.0 / ntraj), 1e-12);
    }
    for (int q = 0; q < H; q++)
      for (int r = 0; r < W; r++) {
        double ex = 0;
        for (int i = 0; i < D; i++)
          for (int j = 0; j < D; j++) {
            double ph = -2 * M_PI * ((double)q * (i / W - j / W) / H + (double)r * (i % W - j % W) / W);
            ex += K[(size_t)i * D + j] * cos(ph);
          }
        if (!(fabs(pw[c * D + q * W + r] / ntraj - ex) <= fmax(5 * sqrt(2.0 / ntraj) * fabs(ex), 1e-12))) print_error("ckpt %d (t = %d), frequency (%d, %d)\n", c, ck[c], q, r);
        GDS_ASSERT_CLOSE(pw[c * D + q * W + r] / ntraj, ex, 5 * sqrt(2.0 / ntraj), 1e-12);
      }
  }
  free(traj);
  free(sum);
  free(sq);
  free(pw);
  free(cen);
}
