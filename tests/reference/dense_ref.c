/* Independent dense brute-force reference of SPEC §1–§2 (see dense_ref.h).
 *
 * Everything is a plain row-major array. Matrix products are triple loops accumulated in
 * long double; linear systems go through LAPACKE (Cholesky dposv, LU dgesv as a fallback);
 * symmetric square roots through LAPACKE_dsyevd. Matrices that are symmetric in exact
 * arithmetic (Σ_t⁻¹, Σ Σ_t⁻¹, C_t, H_t, K_t, Σ_post) are symmetrised, (X + Xᵀ)/2, after they
 * are formed, so rounding cannot build up an antisymmetric part over T steps. */
#include "reference/dense_ref.h"

#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------- */
/* Small dense helpers                                                                        */
/* ---------------------------------------------------------------------------------------- */

static double *dalloc(size_t n) { return calloc(n ? n : 1, sizeof(double)); }

/* C[M×N] = op(A) · op(B), op(A) M×K, op(B) K×N; ta/tb = 1 means the stored array is the
 * transpose (A stored K×M, B stored N×K). Both operands are first packed so that the inner
 * product runs over contiguous memory: Ap[i·K + k] = op(A)(i, k), Bp[j·K + k] = op(B)(k, j).
 * C may not alias A or B. */
static int matmul(int M, int N, int K, const double *A, int ta, const double *B, int tb,
                  double *C) {
  double *Ap = dalloc((size_t)M * K), *Bp = dalloc((size_t)N * K);
  if (!Ap || !Bp) {
    free(Ap);
    free(Bp);
    return DREF_ENOMEM;
  }
  for (int i = 0; i < M; i++)
    for (int k = 0; k < K; k++) Ap[(size_t)i * K + k] = ta ? A[(size_t)k * M + i] : A[(size_t)i * K + k];
  for (int j = 0; j < N; j++)
    for (int k = 0; k < K; k++) Bp[(size_t)j * K + k] = tb ? B[(size_t)j * K + k] : B[(size_t)k * N + j];
  for (int i = 0; i < M; i++) {
    const double *a = Ap + (size_t)i * K;
    for (int j = 0; j < N; j++) {
      const double *b = Bp + (size_t)j * K;
      long double acc = 0;
      for (int k = 0; k < K; k++) acc += (long double)a[k] * b[k];
      C[(size_t)i * N + j] = (double)acc;
    }
  }
  free(Ap);
  free(Bp);
  return DREF_OK;
}

/* y[M] = A[M×N] x[N] (long double accumulation). */
static void matvec(int M, int N, const double *A, const double *x, double *y) {
  for (int i = 0; i < M; i++) {
    long double acc = 0;
    for (int j = 0; j < N; j++) acc += (long double)A[(size_t)i * N + j] * x[j];
    y[i] = (double)acc;
  }
}

/* y[N] = Aᵀ x with A[M×N], x[M]. */
static void matvec_t(int M, int N, const double *A, const double *x, double *y) {
  for (int j = 0; j < N; j++) {
    long double acc = 0;
    for (int i = 0; i < M; i++) acc += (long double)A[(size_t)i * N + j] * x[i];
    y[j] = (double)acc;
  }
}

static void symmetrise(int n, double *X) {
  for (int i = 0; i < n; i++)
    for (int j = 0; j < i; j++) {
      double s = 0.5 * (X[(size_t)i * n + j] + X[(size_t)j * n + i]);
      X[(size_t)i * n + j] = s;
      X[(size_t)j * n + i] = s;
    }
}

/* Solve S X = B for symmetric positive definite S[n×n] (not modified), B[n×nrhs] overwritten
 * by X. Cholesky (dposv); if S is numerically not positive definite, LU (dgesv). */
static int solve_spd(int n, const double *S, int nrhs, double *B) {
  size_t nn = (size_t)n * n, nb = (size_t)n * nrhs;
  double *Sc = dalloc(nn), *Bc = dalloc(nb);
  lapack_int *ipiv = malloc((size_t)n * sizeof *ipiv);
  int rc = DREF_OK;
  if (!Sc || !Bc || !ipiv) {
    rc = DREF_ENOMEM;
    goto done;
  }
  memcpy(Sc, S, nn * sizeof *Sc);
  memcpy(Bc, B, nb * sizeof *Bc);
  lapack_int info = LAPACKE_dposv(LAPACK_ROW_MAJOR, 'L', n, nrhs, Sc, n, B, nrhs);
  if (info > 0) { /* not positive definite in floating point: general LU on fresh copies */
    memcpy(Sc, S, nn * sizeof *Sc);
    memcpy(B, Bc, nb * sizeof *Bc);
    info = LAPACKE_dgesv(LAPACK_ROW_MAJOR, n, nrhs, Sc, n, ipiv, B, nrhs);
  }
  if (info != 0) rc = DREF_ELAPACK;
done:
  free(Sc);
  free(Bc);
  free(ipiv);
  return rc;
}

/* Symmetric square root R = V diag(sqrt(max(λ, 0))) Vᵀ of symmetric K[n×n]. */
static int sqrtm_sym(int n, const double *K, double *R) {
  size_t nn = (size_t)n * n;
  double *V = dalloc(nn), *w = dalloc((size_t)n);
  int rc = DREF_OK;
  if (!V || !w) {
    rc = DREF_ENOMEM;
    goto done;
  }
  memcpy(V, K, nn * sizeof *V);
  symmetrise(n, V);
  /* Row-major, jobz = 'V': on exit column k of V is the eigenvector of w[k]. */
  if (LAPACKE_dsyevd(LAPACK_ROW_MAJOR, 'V', 'L', n, V, n, w) != 0) {
    rc = DREF_ELAPACK;
    goto done;
  }
  for (int k = 0; k < n; k++) w[k] = w[k] > 0 ? sqrt(w[k]) : 0.0; /* clip rounding negatives */
  for (int i = 0; i < n; i++)
    for (int j = 0; j <= i; j++) {
      long double acc = 0;
      for (int k = 0; k < n; k++) acc += (long double)V[(size_t)i * n + k] * w[k] * V[(size_t)j * n + k];
      R[(size_t)i * n + j] = R[(size_t)j * n + i] = (double)acc;
    }
done:
  free(V);
  free(w);
  return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* W2 between Gaussians (SPEC §2, "W2 curves")                                                */
/* ---------------------------------------------------------------------------------------- */

double dref_w2_gaussian(int d, const double *m1, const double *K1, const double *m2,
                        const double *K2, double *mean_part, double *cov_part) {
  if (mean_part) *mean_part = NAN;
  if (cov_part) *cov_part = NAN;
  if (d < 1 || !m1 || !K1 || !m2 || !K2) return NAN;
  size_t dd = (size_t)d * d;
  double *R = dalloc(dd), *T1 = dalloc(dd), *M = dalloc(dd), *mu = dalloc((size_t)d);
  double result = NAN;
  if (!R || !T1 || !M || !mu) goto done;

  /* mean part ‖m1 − m2‖₂ */
  long double s2 = 0;
  for (int i = 0; i < d; i++) {
    long double e = (long double)m1[i] - m2[i];
    s2 += e * e;
  }
  double wm = (double)sqrtl(s2);

  /* covariance part: R = K2^{1/2}, M = R K1 R, tr M^{1/2} = Σ sqrt(eig(M)) */
  if (sqrtm_sym(d, K2, R)) goto done;
  if (matmul(d, d, d, R, 0, K1, 0, T1)) goto done;
  if (matmul(d, d, d, T1, 0, R, 0, M)) goto done;
  symmetrise(d, M);
  if (LAPACKE_dsyevd(LAPACK_ROW_MAJOR, 'N', 'L', d, M, d, mu) != 0) goto done;
  long double tr1 = 0, tr2 = 0, trs = 0;
  for (int i = 0; i < d; i++) {
    tr1 += K1[(size_t)i * d + i];
    tr2 += K2[(size_t)i * d + i];
    trs += mu[i] > 0 ? sqrtl(mu[i]) : 0.0L;
  }
  long double c2 = tr1 + tr2 - 2 * trs;
  double wc = c2 > 0 ? (double)sqrtl(c2) : 0.0;

  if (mean_part) *mean_part = wm;
  if (cov_part) *cov_part = wc;
  result = sqrt(wm * wm + wc * wc);
done:
  free(R);
  free(T1);
  free(M);
  free(mu);
  return result;
}

/* ---------------------------------------------------------------------------------------- */
/* Posterior (SPEC §2, "Target")                                                              */
/* ---------------------------------------------------------------------------------------- */

int dref_posterior(int d, int m, const double *mu, const double *Sigma, const double *A,
                   double sigma, const double *v, double *post_mean, double *post_cov) {
  if (d < 1 || m < 1 || !mu || !Sigma || !A || !v || !(sigma > 0)) return DREF_EINPUT;
  size_t md = (size_t)m * d;
  double *AS = dalloc(md), *S = dalloc((size_t)m * m), *Y = dalloc(md + m), *r = dalloc((size_t)m);
  int rc = DREF_ENOMEM;
  if (!AS || !S || !Y || !r) goto done;

  /* AS = A Σ (m×d); S = A Σ Aᵀ + σ² I_m */
  if ((rc = matmul(m, d, d, A, 0, Sigma, 0, AS))) goto done;
  if ((rc = matmul(m, m, d, AS, 0, A, 1, S))) goto done;
  symmetrise(m, S);
  for (int i = 0; i < m; i++) S[(size_t)i * m + i] += sigma * sigma;

  /* r = v − A μ; right-hand side [A Σ | r], m×(d+1) */
  matvec(m, d, A, mu, r);
  for (int i = 0; i < m; i++) r[i] = v[i] - r[i];
  for (int i = 0; i < m; i++) {
    memcpy(Y + (size_t)i * (d + 1), AS + (size_t)i * d, (size_t)d * sizeof *Y);
    Y[(size_t)i * (d + 1) + d] = r[i];
  }
  if ((rc = solve_spd(m, S, d + 1, Y))) goto done; /* Y = S⁻¹ [A Σ | r] */

  /* μ_post = μ + (A Σ)ᵀ S⁻¹ r   (Σ Aᵀ = (A Σ)ᵀ, Σ symmetric) */
  if (post_mean) {
    for (int j = 0; j < d; j++) {
      long double acc = 0;
      for (int i = 0; i < m; i++) acc += (long double)AS[(size_t)i * d + j] * Y[(size_t)i * (d + 1) + d];
      post_mean[j] = (double)((long double)mu[j] + acc);
    }
  }
  /* Σ_post = Σ − (A Σ)ᵀ S⁻¹ A Σ */
  if (post_cov) {
    for (int a = 0; a < d; a++)
      for (int b = 0; b < d; b++) {
        long double acc = 0;
        for (int i = 0; i < m; i++)
          acc += (long double)AS[(size_t)i * d + a] * Y[(size_t)i * (d + 1) + b];
        post_cov[(size_t)a * d + b] = (double)((long double)Sigma[(size_t)a * d + b] - acc);
      }
    symmetrise(d, post_cov);
  }
  rc = DREF_OK;
done:
  free(AS);
  free(S);
  free(Y);
  free(r);
  return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* Sampler law (SPEC §2)                                                                      */
/* ---------------------------------------------------------------------------------------- */

int dref_law(int d, int m, const double *mu, const double *Sigma, const double *A, double sigma,
             const double *v, dref_alg alg, double alpha_dps, const dref_schedule *s, double *w2,
             double *w2_mean, double *w2_cov, int t_snap, double *mean_snap, double *cov_snap,
             double *ref_mean_snap, double *ref_cov_snap, double *post_mean, double *post_cov) {
  if (d < 1 || m < 1 || !mu || !Sigma || !A || !v || !s || !s->beta || s->T < 1 || !(sigma > 0))
    return DREF_EINPUT;
  if (alg != DREF_NONE && alg != DREF_DPS && alg != DREF_PIGDM && alg != DREF_CGDM) return DREF_EINPUT;
  if (alg == DREF_DPS && !(alpha_dps > 0)) return DREF_EINPUT;
  const int T = s->T;
  for (int t = 1; t <= T; t++)
    if (!(s->beta[t] > 0 && s->beta[t] < 1)) return DREF_EINPUT;
  const int want_snap = mean_snap || cov_snap || ref_mean_snap || ref_cov_snap;
  if (want_snap && (t_snap < 0 || t_snap > T)) return DREF_EINPUT;

  const size_t dd = (size_t)d * d, md = (size_t)m * d;
  int rc = DREF_ENOMEM;
  double *abar = dalloc((size_t)T + 1), *pmean = dalloc((size_t)d), *pcov = dalloc(dd);
  double *St = dalloc(dd), *RHS = dalloc(2 * dd), *Sinv = dalloc(dd), *SSinv = dalloc(dd);
  double *J = dalloc(dd), *G = dalloc(md), *AM = dalloc(md), *C = dalloc((size_t)m * m);
  double *XY = dalloc((size_t)m * (d + 1)), *X = dalloc(md), *y = dalloc((size_t)m);
  double *Hm = dalloc(dd), *P = dalloc(dd), *K = dalloc(dd), *PK = dalloc(dd);
  double *mt = dalloc((size_t)d), *mnew = dalloc((size_t)d), *bt = dalloc((size_t)d);
  double *gt = dalloc((size_t)d), *Hmu = dalloc((size_t)d), *r = dalloc((size_t)m);
  double *refm = dalloc((size_t)d), *refK = dalloc(dd);
  if (!abar || !pmean || !pcov || !St || !RHS || !Sinv || !SSinv || !J || !G || !AM || !C || !XY ||
      !X || !y || !Hm || !P || !K || !PK || !mt || !mnew || !bt || !gt || !Hmu || !r || !refm || !refK)
    goto done;

  /* ᾱ_t = ∏_{s≤t} (1 − β_s), ᾱ_0 = 1 (product accumulated in long double) */
  {
    long double ab = 1;
    abar[0] = 1;
    for (int t = 1; t <= T; t++) {
      ab *= 1.0L - s->beta[t];
      abar[t] = (double)ab;
    }
  }
  /* posterior N(μ_post, Σ_post) */
  if ((rc = dref_posterior(d, m, mu, Sigma, A, sigma, v, pmean, pcov))) goto done;
  if (post_mean) memcpy(post_mean, pmean, (size_t)d * sizeof *pmean);
  if (post_cov) memcpy(post_cov, pcov, dd * sizeof *pcov);

  /* r = v − A μ (fixed) */
  matvec(m, d, A, mu, r);
  for (int i = 0; i < m; i++) r[i] = v[i] - r[i];

  /* m_T = 0, K_T = I */
  for (int i = 0; i < d; i++) K[(size_t)i * d + i] = 1.0;

  for (int t = T;; t--) {
    /* ---- record the law at t: reference N(refm, refK), W2 curves, snapshots ---- */
    const double a = abar[t], sa = sqrt(a);
    const double *rm_src = (alg == DREF_NONE) ? mu : pmean;      /* prior path / posterior path */
    const double *rK_src = (alg == DREF_NONE) ? Sigma : pcov;
    for (int i = 0; i < d; i++) refm[i] = sa * rm_src[i];         /* sqrt(ᾱ_t) μ(_post) */
    for (size_t k = 0; k < dd; k++) refK[k] = a * rK_src[k];     /* ᾱ_t Σ(_post) + (1 − ᾱ_t) I */
    for (int i = 0; i < d; i++) refK[(size_t)i * d + i] += 1.0 - a;
    if (w2 || w2_mean || w2_cov) {
      double wm, wc, w = dref_w2_gaussian(d, mt, K, refm, refK, &wm, &wc);
      if (isnan(w)) {
        rc = DREF_ELAPACK;
        goto done;
      }
      if (w2) w2[t] = w;
      if (w2_mean) w2_mean[t] = wm;
      if (w2_cov) w2_cov[t] = wc;
    }
    if (t == t_snap) {
      if (mean_snap) memcpy(mean_snap, mt, (size_t)d * sizeof *mt);
      if (cov_snap) memcpy(cov_snap, K, dd * sizeof *K);
      if (ref_mean_snap) memcpy(ref_mean_snap, refm, (size_t)d * sizeof *refm);
      if (ref_cov_snap) memcpy(ref_cov_snap, refK, dd * sizeof *refK);
    }
    if (t == 0) break;

    /* ---- backward step t → t−1 ---- */
    const double beta = s->beta[t], alpha = 1.0 - beta;
    double sig2; /* σ_t² */
    if (t == 1)
      sig2 = 0.0; /* Ho et al. Algorithm 2: no noise on the last step */
    else if (s->variance_tilde)
      sig2 = beta * (1.0 - abar[t - 1]) / (1.0 - a); /* β̃_t */
    else
      sig2 = beta;

    /* Σ_t = ᾱ_t Σ + (1 − ᾱ_t) I (positive definite for t ≥ 1 since ᾱ_t < 1) */
    for (size_t k = 0; k < dd; k++) St[k] = a * Sigma[k];
    for (int i = 0; i < d; i++) St[(size_t)i * d + i] += 1.0 - a;
    symmetrise(d, St);
    /* Solve Σ_t [Sinv | SSinv] = [I | Σ]: Sinv = Σ_t⁻¹, SSinv = Σ_t⁻¹ Σ = Σ Σ_t⁻¹ (Σ_t is a
     * polynomial in Σ, so they commute; the product is symmetric in exact arithmetic). */
    memset(RHS, 0, 2 * dd * sizeof *RHS);
    for (int i = 0; i < d; i++) {
      RHS[(size_t)i * 2 * d + i] = 1.0;
      memcpy(RHS + (size_t)i * 2 * d + d, Sigma + (size_t)i * d, (size_t)d * sizeof *RHS);
    }
    if ((rc = solve_spd(d, St, 2 * d, RHS))) goto done;
    for (int i = 0; i < d; i++) {
      memcpy(Sinv + (size_t)i * d, RHS + (size_t)i * 2 * d, (size_t)d * sizeof *Sinv);
      memcpy(SSinv + (size_t)i * d, RHS + (size_t)i * 2 * d + d, (size_t)d * sizeof *SSinv);
    }
    symmetrise(d, Sinv);
    symmetrise(d, SSinv);
    /* J_t = sqrt(ᾱ_t) Σ Σ_t⁻¹ (symmetric) */
    for (size_t k = 0; k < dd; k++) J[k] = sa * SSinv[k];

    /* H_t and the guidance term g_t = J_t Aᵀ C_t⁻¹ (v − A μ) */
    memcpy(Hm, Sinv, dd * sizeof *Hm);
    memset(gt, 0, (size_t)d * sizeof *gt);
    if (alg != DREF_NONE) {
      /* C_t */
      memset(C, 0, (size_t)m * m * sizeof *C);
      if (alg == DREF_PIGDM) { /* (1 − ᾱ_t) A Aᵀ */
        if ((rc = matmul(m, m, d, A, 0, A, 1, C))) goto done;
        for (size_t k = 0; k < (size_t)m * m; k++) C[k] *= 1.0 - a;
      } else if (alg == DREF_CGDM) { /* (1 − ᾱ_t) A Σ Σ_t⁻¹ Aᵀ */
        if ((rc = matmul(m, d, d, A, 0, SSinv, 0, AM))) goto done;
        if ((rc = matmul(m, m, d, AM, 0, A, 1, C))) goto done;
        for (size_t k = 0; k < (size_t)m * m; k++) C[k] *= 1.0 - a;
      }
      /* + σ² I_m  (dps: C_t = σ²/α_dps I_m) */
      const double diag = (alg == DREF_DPS) ? sigma * sigma / alpha_dps : sigma * sigma;
      for (int i = 0; i < m; i++) C[(size_t)i * m + i] += diag;
      symmetrise(m, C);

      /* G = A J_t (m×d); [X | y] = C_t⁻¹ [G | r] */
      if ((rc = matmul(m, d, d, A, 0, J, 0, G))) goto done;
      for (int i = 0; i < m; i++) {
        memcpy(XY + (size_t)i * (d + 1), G + (size_t)i * d, (size_t)d * sizeof *XY);
        XY[(size_t)i * (d + 1) + d] = r[i];
      }
      if ((rc = solve_spd(m, C, d + 1, XY))) goto done;
      for (int i = 0; i < m; i++) {
        memcpy(X + (size_t)i * d, XY + (size_t)i * (d + 1), (size_t)d * sizeof *X);
        y[i] = XY[(size_t)i * (d + 1) + d];
      }
      /* H_t = Σ_t⁻¹ + Gᵀ X = Σ_t⁻¹ + J_t Aᵀ C_t⁻¹ A J_t   (Gᵀ = J_tᵀ Aᵀ = J_t Aᵀ) */
      if ((rc = matmul(d, d, m, G, 1, X, 0, PK))) goto done;
      for (size_t k = 0; k < dd; k++) Hm[k] += PK[k];
      symmetrise(d, Hm);
      /* g_t = Gᵀ y = J_t Aᵀ C_t⁻¹ (v − A μ) */
      matvec_t(m, d, G, y, gt);
    }

    /* P_t = (I − β_t H_t)/sqrt(α_t) */
    const double isa = 1.0 / sqrt(alpha);
    for (size_t k = 0; k < dd; k++) P[k] = -beta * Hm[k] * isa;
    for (int i = 0; i < d; i++) P[(size_t)i * d + i] += isa;
    /* b_t = β_t/sqrt(α_t) [sqrt(ᾱ_t) H_t μ + g_t] */
    matvec(d, d, Hm, mu, Hmu);
    for (int i = 0; i < d; i++) bt[i] = beta * isa * (sa * Hmu[i] + gt[i]);
    /* m_{t−1} = P_t m_t + b_t */
    matvec(d, d, P, mt, mnew);
    for (int i = 0; i < d; i++) mt[i] = mnew[i] + bt[i];
    /* K_{t−1} = P_t K_t P_tᵀ + σ_t² I */
    if ((rc = matmul(d, d, d, P, 0, K, 0, PK))) goto done;
    if ((rc = matmul(d, d, d, PK, 0, P, 1, K))) goto done;
    for (int i = 0; i < d; i++) K[(size_t)i * d + i] += sig2;
    symmetrise(d, K);
  }
  rc = DREF_OK;
done:
  free(abar); free(pmean); free(pcov); free(St); free(RHS); free(Sinv); free(SSinv);
  free(J); free(G); free(AM); free(C); free(XY); free(X); free(y); free(Hm); free(P);
  free(K); free(PK); free(mt); free(mnew); free(bt); free(gt); free(Hmu); free(r);
  free(refm); free(refK);
  return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* Dense builders: circulant, ADSN covariance, operator kernels (SPEC §1)                     */
/* ---------------------------------------------------------------------------------------- */

static int pmod(int a, int n) { return ((a % n) + n) % n; }

/* Signed periodic offset of index r ∈ [0, n): the representative of r mod n in [−n/2, n/2),
 * i.e. r − n when r ≥ n/2 (2r ≥ n), r otherwise. (n = 8: 0..3, −4..−1; n = 7: 0..3, −3..−1.) */
static int signed_offset(int r, int n) { return (2 * r >= n) ? r - n : r; }

int dref_circulant(int H, int W, const double *kernel, double *C) {
  if (H < 1 || W < 1 || !kernel || !C) return DREF_EINPUT;
  const int d = H * W;
  for (int i1 = 0; i1 < H; i1++)
    for (int i2 = 0; i2 < W; i2++)
      for (int j1 = 0; j1 < H; j1++)
        for (int j2 = 0; j2 < W; j2++)
          C[(size_t)(i1 * W + i2) * d + (j1 * W + j2)] =
              kernel[pmod(i1 - j1, H) * W + pmod(i2 - j2, W)];
  return DREF_OK;
}

int dref_adsn_covariance(int H, int W, const double *texton, double *Sigma) {
  if (H < 1 || W < 1 || !texton || !Sigma) return DREF_EINPUT;
  const int d = H * W;
  double *g = dalloc((size_t)d);
  if (!g) return DREF_ENOMEM;
  /* g(p) = Σ_q t(q) t(q − p): the kernel of t ⊛ ť, ť(p) = t(−p) */
  for (int p1 = 0; p1 < H; p1++)
    for (int p2 = 0; p2 < W; p2++) {
      long double acc = 0;
      for (int q1 = 0; q1 < H; q1++)
        for (int q2 = 0; q2 < W; q2++)
          acc += (long double)texton[q1 * W + q2] * texton[pmod(q1 - p1, H) * W + pmod(q2 - p2, W)];
      g[p1 * W + p2] = (double)acc;
    }
  int rc = dref_circulant(H, W, g, Sigma); /* Σ[i, j] = g(i − j); g(−p) = g(p) so Σ = Σᵀ */
  free(g);
  return rc;
}

int dref_gaussian_blur_kernel(int H, int W, double std, double *k) {
  if (H < 1 || W < 1 || !(std > 0) || !k) return DREF_EINPUT;
  long double sum = 0;
  for (int r = 0; r < H; r++)
    for (int c = 0; c < W; c++) {
      const double pr = signed_offset(r, H), pc = signed_offset(c, W);
      k[r * W + c] = exp(-(pr * pr + pc * pc) / (2.0 * std * std));
      sum += k[r * W + c];
    }
  for (int i = 0; i < H * W; i++) k[i] = (double)(k[i] / sum);
  return DREF_OK;
}

/* Interpretation of SPEC §1 `motion_blur`:
 *  - N = 10·ceil(length) + 1 points at arc positions s_i = length·(2i − (N−1)) / (2(N−1)),
 *    i = 0..N−1, i.e. equally spaced from −length/2 to +length/2 (written so that the set is
 *    exactly symmetric, s_{N−1−i} = −s_i);
 *  - direction θ = angle_deg·π/180 counter-clockwise from the column axis; rows grow downwards,
 *    so the point at s has offset (row, col) = (−s·sin θ, s·cos θ);
 *  - each point has weight 1 and is splatted bilinearly: with r0 = floor(row), fr = row − r0
 *    (same for columns), weights (1−fr)(1−fc), (1−fr)fc, fr(1−fc), fr·fc go to the pixels
 *    (r0, c0), (r0, c0+1), (r0+1, c0), (r0+1, c0+1), all taken modulo (H, W);
 *  - finally the kernel is normalised to sum 1. */
int dref_motion_blur_kernel(int H, int W, double length, double angle_deg, double *k) {
  if (H < 1 || W < 1 || !(length > 0) || !isfinite(length) || !isfinite(angle_deg) || !k)
    return DREF_EINPUT;
  const int N = 10 * (int)ceil(length) + 1;
  const double th = angle_deg * M_PI / 180.0, sn = sin(th), cs = cos(th);
  long double *acc = calloc((size_t)H * W, sizeof *acc);
  if (!acc) return DREF_ENOMEM;
  for (int i = 0; i < N; i++) {
    const double sp = length * (double)(2 * i - (N - 1)) / (2.0 * (N - 1));
    const double row = -sp * sn, col = sp * cs;
    const double r0 = floor(row), c0 = floor(col);
    const double fr = row - r0, fc = col - c0;
    const int ir = pmod((int)r0, H), ir1 = pmod((int)r0 + 1, H);
    const int ic = pmod((int)c0, W), ic1 = pmod((int)c0 + 1, W);
    acc[ir * W + ic] += (1.0 - fr) * (1.0 - fc);
    acc[ir * W + ic1] += (1.0 - fr) * fc;
    acc[ir1 * W + ic] += fr * (1.0 - fc);
    acc[ir1 * W + ic1] += fr * fc;
  }
  long double sum = 0;
  for (int i = 0; i < H * W; i++) sum += acc[i];
  for (int i = 0; i < H * W; i++) k[i] = (double)(acc[i] / sum);
  free(acc);
  return DREF_OK;
}
