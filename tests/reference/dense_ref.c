/* Independent dense brute-force reference of SPEC §1–§2 (see dense_ref.h).
 *
 * Everything is a plain row-major array. Matrix products go through BLAS dgemm, matrix-vector
 * products and traces are accumulated in long double; linear systems go through LAPACKE (Cholesky dposv, LU dgesv as a fallback);
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

/* BLAS (OpenBLAS, through the Fortran interface: no header needed). */
void dgemm_(const char *ta, const char *tb, const int *m, const int *n, const int *k, const double *alpha,
            const double *a, const int *lda, const double *b, const int *ldb, const double *beta, double *c,
            const int *ldc, size_t, size_t);

/* C[M×N] = op(A) · op(B), op(A) M×K, op(B) K×N; ta/tb = 1 means the stored array is the
 * transpose (A stored K×M, B stored N×K). Row-major C = op(A) op(B) is column-major
 * Cᵀ = op(B)ᵀ op(A)ᵀ: one dgemm with the operands swapped (double accumulation: d·ε ≈ 1e-14
 * relative, far below the 1e-6 the comparisons need). C may not alias A or B. */
static int matmul(int M, int N, int K, const double *A, int ta, const double *B, int tb,
                  double *C) {
  const double one = 1.0, zero = 0.0;
  int lda = ta ? M : K, ldb = tb ? K : N, ldc = N;
  if (M < 1 || N < 1 || K < 1) return DREF_EINPUT;
  dgemm_(tb ? "T" : "N", ta ? "T" : "N", &N, &M, &K, &one, B, &ldb, A, &lda, &zero, C, &ldc, 1, 1);
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

  /* covariance part: R = K2^{1/2}, M = R K1 R, tr M^{1/2} = Σ sqrt(eig(M)). Identical
   * covariances give exactly 0 (the trace formula would return the √ of its rounding,
   * ~1e-7, the SPEC's absolute floor). */
  if (!memcmp(K1, K2, dd * sizeof *K1)) {
    if (mean_part) *mean_part = wm;
    if (cov_part) *cov_part = 0.0;
    result = wm;
    goto done;
  }
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

static int guided_score(int d, int m, const double *mu, const double *Sigma, const double *A, double sigma,
                        const double *r, dref_alg alg, double alpha_dps, double a, double *Hm, double *h);

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

  const size_t dd = (size_t)d * d;
  int rc = DREF_ENOMEM;
  double *abar = dalloc((size_t)T + 1), *pmean = dalloc((size_t)d), *pcov = dalloc(dd);
  double *Hm = dalloc(dd), *P = dalloc(dd), *K = dalloc(dd), *PK = dalloc(dd);
  double *mt = dalloc((size_t)d), *mnew = dalloc((size_t)d), *bt = dalloc((size_t)d);
  double *h = dalloc((size_t)d), *r = dalloc((size_t)m);
  double *refm = dalloc((size_t)d), *refK = dalloc(dd);
  if (!abar || !pmean || !pcov || !Hm || !P || !K || !PK || !mt || !mnew || !bt || !h || !r || !refm || !refK)
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

    /* the guided score at ᾱ_t: s̃(y) = −H_t y + h_t, h_t = sqrt(ᾱ_t) H_t μ + g_t */
    if ((rc = guided_score(d, m, mu, Sigma, A, sigma, r, alg, alpha_dps, a, Hm, h))) goto done;

    /* P_t = (I − β_t H_t)/sqrt(α_t) */
    const double isa = 1.0 / sqrt(alpha);
    for (size_t k = 0; k < dd; k++) P[k] = -beta * Hm[k] * isa;
    for (int i = 0; i < d; i++) P[(size_t)i * d + i] += isa;
    /* b_t = β_t/sqrt(α_t) [sqrt(ᾱ_t) H_t μ + g_t] = β_t/sqrt(α_t) h_t */
    for (int i = 0; i < d; i++) bt[i] = beta * isa * h[i];
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
  free(abar); free(pmean); free(pcov); free(Hm); free(P); free(K); free(PK); free(mt); free(mnew);
  free(bt); free(h); free(r); free(refm); free(refK);
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

/* ---------------------------------------------------------------------------------------- */
/* Samplers of SPEC §7.1–7.5 (see dense_ref.h)                                                */
/* ---------------------------------------------------------------------------------------- */

/* H and h of the guided score s̃(y) = −H y + h at ᾱ = a (SPEC §1; dref_law and every sampler):
 * H = Σ_a⁻¹ + J Aᵀ C⁻¹ A J, h = √a H μ + J Aᵀ C⁻¹ r, r = v − A μ; none: H = Σ_a⁻¹, h = √a H μ. */
static int guided_score(int d, int m, const double *mu, const double *Sigma, const double *A, double sigma,
                        const double *r, dref_alg alg, double alpha_dps, double a, double *Hm, double *h) {
  size_t dd = (size_t)d * d, md = (size_t)m * d;
  double *St = dalloc(dd), *RHS = dalloc(2 * dd), *SSinv = dalloc(dd), *J = dalloc(dd), *G = dalloc(md);
  double *AM = dalloc(md), *C = dalloc((size_t)m * m), *XY = dalloc((size_t)m * (d + 1)), *X = dalloc(md);
  double *y = dalloc((size_t)m), *GX = dalloc(dd), *g = dalloc((size_t)d);
  int rc = DREF_ENOMEM;
  if (!St || !RHS || !SSinv || !J || !G || !AM || !C || !XY || !X || !y || !GX || !g) goto done;
  for (size_t k = 0; k < dd; k++) St[k] = a * Sigma[k];
  for (int i = 0; i < d; i++) St[(size_t)i * d + i] += 1.0 - a;
  symmetrise(d, St);
  for (int i = 0; i < d; i++) {
    RHS[(size_t)i * 2 * d + i] = 1.0;
    memcpy(RHS + (size_t)i * 2 * d + d, Sigma + (size_t)i * d, (size_t)d * sizeof *RHS);
  }
  if ((rc = solve_spd(d, St, 2 * d, RHS))) goto done;
  for (int i = 0; i < d; i++) {
    memcpy(Hm + (size_t)i * d, RHS + (size_t)i * 2 * d, (size_t)d * sizeof *Hm);
    memcpy(SSinv + (size_t)i * d, RHS + (size_t)i * 2 * d + d, (size_t)d * sizeof *SSinv);
  }
  symmetrise(d, Hm);
  symmetrise(d, SSinv);
  for (size_t k = 0; k < dd; k++) J[k] = sqrt(a) * SSinv[k];
  if (alg == DREF_DPS || alg == DREF_PIGDM || alg == DREF_CGDM) {
    if (alg == DREF_PIGDM) {
      if ((rc = matmul(m, m, d, A, 0, A, 1, C))) goto done;
      for (size_t k = 0; k < (size_t)m * m; k++) C[k] *= 1.0 - a;
    } else if (alg == DREF_CGDM) {
      if ((rc = matmul(m, d, d, A, 0, SSinv, 0, AM))) goto done;
      if ((rc = matmul(m, m, d, AM, 0, A, 1, C))) goto done;
      for (size_t k = 0; k < (size_t)m * m; k++) C[k] *= 1.0 - a;
    }
    const double diag = alg == DREF_DPS ? sigma * sigma / alpha_dps : sigma * sigma;
    for (int i = 0; i < m; i++) C[(size_t)i * m + i] += diag;
    symmetrise(m, C);
    if ((rc = matmul(m, d, d, A, 0, J, 0, G))) goto done; /* G = A J */
    for (int i = 0; i < m; i++) {
      memcpy(XY + (size_t)i * (d + 1), G + (size_t)i * d, (size_t)d * sizeof *XY);
      XY[(size_t)i * (d + 1) + d] = r[i];
    }
    if ((rc = solve_spd(m, C, d + 1, XY))) goto done;
    for (int i = 0; i < m; i++) {
      memcpy(X + (size_t)i * d, XY + (size_t)i * (d + 1), (size_t)d * sizeof *X);
      y[i] = XY[(size_t)i * (d + 1) + d];
    }
    if ((rc = matmul(d, d, m, G, 1, X, 0, GX))) goto done;
    for (size_t k = 0; k < dd; k++) Hm[k] += GX[k];
    symmetrise(d, Hm);
    matvec_t(m, d, G, y, g);
  }
  matvec(d, d, Hm, mu, h);
  for (int i = 0; i < d; i++) h[i] = sqrt(a) * h[i] + g[i];
  rc = DREF_OK;
done:
  free(St); free(RHS); free(SSinv); free(J); free(G); free(AM); free(C); free(XY); free(X); free(y); free(GX);
  free(g);
  return rc;
}

/* Unguided Tweedie x̂0 = μ + J (y − √a μ), J = √a Σ Σ_a⁻¹ (DDRM's denoiser). */
static int tweedie_J(int d, const double *Sigma, double a, double *J) {
  size_t dd = (size_t)d * d;
  double *St = dalloc(dd), *RHS = dalloc(dd);
  int rc = DREF_ENOMEM;
  if (!St || !RHS) goto done;
  for (size_t k = 0; k < dd; k++) St[k] = a * Sigma[k];
  for (int i = 0; i < d; i++) St[(size_t)i * d + i] += 1.0 - a;
  memcpy(RHS, Sigma, dd * sizeof *RHS);
  if ((rc = solve_spd(d, St, d, RHS))) goto done; /* Σ_a⁻¹ Σ = Σ Σ_a⁻¹ */
  symmetrise(d, RHS);
  for (size_t k = 0; k < dd; k++) J[k] = sqrt(a) * RHS[k];
  rc = DREF_OK;
done:
  free(St);
  free(RHS);
  return rc;
}

/* A deterministic stream of normals for the basis rotations. */
static double ref_normal(unsigned long long *st) {
  double u[2];
  for (int k = 0; k < 2; k++) {
    *st = *st * 6364136223846793005ULL + 1442695040888963407ULL;
    u[k] = ((*st >> 11) + 0.5) * 0x1.0p-53;
  }
  return sqrt(-2 * log(u[0])) * cos(2 * M_PI * u[1]);
}

/* Right-multiplies the columns cols[0..g) of X (rows × ld, row-major) by a random orthogonal
 * g×g matrix (Q of the QR of a Gaussian matrix). */
static int rotate_columns(int rows, int ld, double *X, int g, const int *cols, const double *R) {
  double *tmp = dalloc((size_t)g);
  if (!tmp) return DREF_ENOMEM;
  for (int i = 0; i < rows; i++) {
    for (int b = 0; b < g; b++) {
      long double acc = 0;
      for (int a = 0; a < g; a++) acc += (long double)X[(size_t)i * ld + cols[a]] * R[(size_t)a * g + b];
      tmp[b] = (double)acc;
    }
    for (int b = 0; b < g; b++) X[(size_t)i * ld + cols[b]] = tmp[b];
  }
  free(tmp);
  return DREF_OK;
}

static int random_orthogonal(int g, unsigned long long *st, double *R) {
  double *tau = dalloc((size_t)g);
  if (!tau) return DREF_ENOMEM;
  for (int k = 0; k < g * g; k++) R[k] = ref_normal(st);
  int rc = LAPACKE_dgeqrf(LAPACK_ROW_MAJOR, g, g, R, g, tau) || LAPACKE_dorgqr(LAPACK_ROW_MAJOR, g, g, g, R, g, tau)
               ? DREF_ELAPACK
               : DREF_OK;
  free(tau);
  return rc;
}

/* SVD A = U S Vᵀ (full U m×m, V d×d, both row-major with singular vectors as columns);
 * sv[d] singular values (0 past min(m, d) and below 1e-12·max). With seed ≠ 0, every group
 * of equal singular values (the zero group included) gets a random rotation. */
static int ddrm_svd(int d, int m, const double *A, unsigned long seed, double *U, double *V, double *sv) {
  int k = m < d ? m : d, rc = DREF_OK;
  double *Ac = dalloc((size_t)m * d), *S = dalloc((size_t)k), *Vt = dalloc((size_t)d * d), *sup = dalloc((size_t)k);
  int *cols = malloc(sizeof(int) * (size_t)d), *used = calloc((size_t)d, sizeof(int));
  double *R = dalloc((size_t)d * d);
  if (!Ac || !S || !Vt || !sup || !cols || !used || !R) {
    rc = DREF_ENOMEM;
    goto done;
  }
  memcpy(Ac, A, sizeof(double) * (size_t)m * d);
  if (LAPACKE_dgesvd(LAPACK_ROW_MAJOR, 'A', 'A', m, d, Ac, d, S, U, m, Vt, d, sup)) {
    rc = DREF_ELAPACK;
    goto done;
  }
  double smax = 0;
  for (int i = 0; i < k; i++) smax = fmax(smax, S[i]);
  for (int i = 0; i < d; i++) sv[i] = i < k && S[i] >= 1e-12 * smax ? S[i] : 0.0;
  for (int i = 0; i < d; i++)
    for (int j = 0; j < d; j++) V[(size_t)i * d + j] = Vt[(size_t)j * d + i];
  if (!seed) goto done;
  unsigned long long st = seed * 0x9E3779B97F4A7C15ULL + 7;
  for (int i = 0; i < d; i++) {
    if (used[i]) continue;
    int g = 0;
    for (int j = i; j < d; j++)
      if (!used[j] && fabs(sv[j] - sv[i]) <= 1e-10 * (smax > 0 ? smax : 1)) {
        used[j] = 1;
        cols[g++] = j;
      }
    if (g < 2) continue;
    if ((rc = random_orthogonal(g, &st, R))) goto done;
    if ((rc = rotate_columns(d, d, V, g, cols, R))) goto done;
    if (sv[i] > 0 && (rc = rotate_columns(m, m, U, g, cols, R))) goto done; /* cols < k ≤ m here */
  }
done:
  free(Ac); free(S); free(Vt); free(sup); free(cols); free(used); free(R);
  return rc;
}

/* ---- VP SDE (SPEC §7.3) ---- */

static double vp_beta(const dref_sampler *c, double u) { return c->beta_min + u * (c->beta_max - c->beta_min); }
static double vp_B(const dref_sampler *c, double u) { return c->beta_min * u + 0.5 * u * u * (c->beta_max - c->beta_min); }

/* The affine drift F(y, u) = ½β(u)(y + s̃(y, u)) = Fl y + fc (Fl = ½β(I − H), fc = ½β h). */
static int vp_flow(int d, int m, const double *mu, const double *Sigma, const double *A, double sigma, const double *r,
                   const dref_sampler *c, double u, double *Fl, double *fc) {
  size_t dd = (size_t)d * d;
  int rc = guided_score(d, m, mu, Sigma, A, sigma, r, c->alg, c->alpha_dps, exp(-vp_B(c, u)), Fl, fc);
  if (rc) return rc;
  double hb = 0.5 * vp_beta(c, u);
  for (size_t q = 0; q < dd; q++) Fl[q] *= -hb;
  for (int i = 0; i < d; i++) Fl[(size_t)i * d + i] += hb;
  for (int i = 0; i < d; i++) fc[i] *= hb;
  return DREF_OK;
}

/* One VP SDE step u → un (Δt = u − un) as y' = P y + c + N(0, noise·I). */
static int vp_step(int d, int m, const double *mu, const double *Sigma, const double *A, double sigma, const double *r,
                   const dref_sampler *c, double u, double un, double dt, double *P, double *cv, double *noise) {
  size_t dd = (size_t)d * d;
  int rc = DREF_ENOMEM;
  double *Fl = dalloc(4 * dd), *fc = dalloc(4 * (size_t)d), *X = dalloc(dd), *xc = dalloc((size_t)d), *T1 = dalloc(dd);
  double *Al = dalloc(4 * dd), *al = dalloc(4 * (size_t)d);
  if (!Fl || !fc || !X || !xc || !T1 || !Al || !al) goto done;
  *noise = 0;
  const double bk = vp_beta(c, u);
  if (c->scheme == DREF_SCHEME_EM || c->scheme == DREF_SCHEME_EI || c->scheme == DREF_SCHEME_DDPM) {
    /* s̃(y, u_k) = −H y + h */
    if ((rc = guided_score(d, m, mu, Sigma, A, sigma, r, c->alg, c->alpha_dps, exp(-vp_B(c, u)), Fl, fc))) goto done;
    double a, b, sc = 1;
    if (c->scheme == DREF_SCHEME_EM) { /* y + Δt(½β y + β s̃) + √(Δt β) z */
      a = 1 + 0.5 * dt * bk;
      b = dt * bk;
      *noise = dt * bk;
    } else if (c->scheme == DREF_SCHEME_EI) { /* e^δ y + 2(e^δ − 1) s̃ + √(e^{2δ} − 1) z */
      double dl = 0.5 * (vp_B(c, u) - vp_B(c, un));
      a = exp(dl);
      b = 2 * (exp(dl) - 1);
      *noise = exp(2 * dl) - 1;
    } else { /* (y + b s̃)/√(1 − b) + √b z, b = Δt β (the caller makes b ≥ 1 infinite) */
      b = dt * bk;
      a = 1;
      sc = 1 / sqrt(1 - b);
      *noise = b;
    }
    for (size_t q = 0; q < dd; q++) P[q] = -sc * b * Fl[q];
    for (int i = 0; i < d; i++) P[(size_t)i * d + i] += sc * a;
    for (int i = 0; i < d; i++) cv[i] = sc * b * fc[i];
    rc = DREF_OK;
    goto done;
  }
  /* ODE schemes: affine maps k_j = Al_j y + al_j built stage by stage */
  if (c->scheme == DREF_SCHEME_EULER) { /* y + Δt F(y, u) */
    if ((rc = vp_flow(d, m, mu, Sigma, A, sigma, r, c, u, Fl, fc))) goto done;
    for (size_t q = 0; q < dd; q++) P[q] = dt * Fl[q];
    for (int i = 0; i < d; i++) P[(size_t)i * d + i] += 1;
    for (int i = 0; i < d; i++) cv[i] = dt * fc[i];
  } else if (c->scheme == DREF_SCHEME_HEUN) { /* ỹ = y + Δt F(y, u); y + Δt/2 (F(y, u) + F(ỹ, un)) */
    double *F1 = Fl, *F2 = Fl + dd, *f1 = fc, *f2 = fc + d;
    if ((rc = vp_flow(d, m, mu, Sigma, A, sigma, r, c, u, F1, f1))) goto done;
    if ((rc = vp_flow(d, m, mu, Sigma, A, sigma, r, c, un, F2, f2))) goto done;
    for (size_t q = 0; q < dd; q++) X[q] = dt * F1[q]; /* ỹ = X y + xc */
    for (int i = 0; i < d; i++) X[(size_t)i * d + i] += 1;
    for (int i = 0; i < d; i++) xc[i] = dt * f1[i];
    if ((rc = matmul(d, d, d, F2, 0, X, 0, T1))) goto done; /* F(ỹ) = F2 X y + F2 xc + f2 */
    matvec(d, d, F2, xc, cv);
    for (size_t q = 0; q < dd; q++) P[q] = 0.5 * dt * (F1[q] + T1[q]);
    for (int i = 0; i < d; i++) P[(size_t)i * d + i] += 1;
    for (int i = 0; i < d; i++) cv[i] = 0.5 * dt * (f1[i] + cv[i] + f2[i]);
  } else if (c->scheme == DREF_SCHEME_RK4) {
    const double um = u - 0.5 * dt, w[4] = {1, 2, 2, 1}, hstep[4] = {0, 0.5 * dt, 0.5 * dt, dt};
    const double us[4] = {u, um, um, un};
    memset(P, 0, dd * sizeof *P);
    memset(cv, 0, (size_t)d * sizeof *cv);
    for (int j = 0; j < 4; j++) {
      /* x_j = y + hstep_j k_{j−1} (k_{−1} = 0): X = I + hstep Al_{j−1}, xc = hstep al_{j−1} */
      for (size_t q = 0; q < dd; q++) X[q] = j ? hstep[j] * Al[(size_t)(j - 1) * dd + q] : 0.0;
      for (int i = 0; i < d; i++) X[(size_t)i * d + i] += 1;
      for (int i = 0; i < d; i++) xc[i] = j ? hstep[j] * al[(size_t)(j - 1) * d + i] : 0.0;
      if ((rc = vp_flow(d, m, mu, Sigma, A, sigma, r, c, us[j], Fl, fc))) goto done;
      if ((rc = matmul(d, d, d, Fl, 0, X, 0, Al + (size_t)j * dd))) goto done; /* k_j = Fl x_j + fc */
      matvec(d, d, Fl, xc, al + (size_t)j * d);
      for (int i = 0; i < d; i++) al[(size_t)j * d + i] += fc[i];
      for (size_t q = 0; q < dd; q++) P[q] += dt / 6 * w[j] * Al[(size_t)j * dd + q];
      for (int i = 0; i < d; i++) cv[i] += dt / 6 * w[j] * al[(size_t)j * d + i];
    }
    for (int i = 0; i < d; i++) P[(size_t)i * d + i] += 1;
  } else
    rc = DREF_EINPUT;
done:
  free(Fl); free(fc); free(X); free(xc); free(T1); free(Al); free(al);
  return rc;
}

/* Whether Σ has a zero eigenvalue (below 1e-12 of the largest). */
static int sigma_singular(int d, const double *Sigma) {
  double *S = dalloc((size_t)d * d), *w = dalloc((size_t)d);
  int sing = 1;
  if (S && w) {
    memcpy(S, Sigma, sizeof(double) * (size_t)d * d);
    if (!LAPACKE_dsyevd(LAPACK_ROW_MAJOR, 'N', 'L', d, S, d, w)) sing = w[0] <= 1e-12 * fabs(w[d - 1]);
  }
  free(S);
  free(w);
  return sing;
}

static int dref_vp_law(int d, int m, const double *mu, const double *Sigma, const double *A, double sigma,
                       const double *v, const dref_sampler *cfg, double *w2, double *w2_mean, double *w2_cov,
                       double *w2_final, int t_snap, double *mean_snap, double *cov_snap, double *ref_mean_snap,
                       double *ref_cov_snap) {
  const int K = cfg->steps;
  if (K < 1 || !(cfg->eps >= 0 && cfg->eps < 1) || !(cfg->beta_min > 0 && cfg->beta_max > cfg->beta_min) ||
      cfg->alg == DREF_DDRM || cfg->scheme == DREF_SCHEME_DDIM)
    return DREF_EINPUT;
  const size_t dd = (size_t)d * d;
  int rc = DREF_ENOMEM, inf = 0;
  double *pmean = dalloc((size_t)d), *pcov = dalloc(dd), *r = dalloc((size_t)m), *P = dalloc(dd), *c = dalloc((size_t)d);
  double *K0 = dalloc(dd), *PK = dalloc(dd), *mt = dalloc((size_t)d), *tmp = dalloc((size_t)d), *refm = dalloc((size_t)d);
  double *refK = dalloc(dd);
  if (!pmean || !pcov || !r || !P || !c || !K0 || !PK || !mt || !tmp || !refm || !refK) goto done;
  if ((rc = dref_posterior(d, m, mu, Sigma, A, sigma, v, pmean, pcov))) goto done;
  const double *mref = cfg->alg == DREF_NONE ? mu : pmean, *Kref = cfg->alg == DREF_NONE ? Sigma : pcov;
  matvec(m, d, A, mu, r);
  for (int i = 0; i < m; i++) r[i] = v[i] - r[i];
  const int singular = sigma_singular(d, Sigma);
  const double dt = (1 - cfg->eps) / K;
  if ((mean_snap || cov_snap || ref_mean_snap || ref_cov_snap) && (t_snap < 0 || t_snap > K)) {
    rc = DREF_EINPUT;
    goto done;
  }
  { /* start at u_0 = 1 */
    double a = exp(-vp_B(cfg, 1.0));
    for (int i = 0; i < d; i++) mt[i] = cfg->init_exact ? sqrt(a) * mref[i] : 0.0;
    for (size_t q = 0; q < dd; q++) K0[q] = cfg->init_exact ? a * Kref[q] : 0.0;
    for (int i = 0; i < d; i++) K0[(size_t)i * d + i] += cfg->init_exact ? 1.0 - a : 1.0;
  }
  for (int k = 0;; k++) {
    double u = k == K ? cfg->eps : 1 - k * dt, a = exp(-vp_B(cfg, u));
    for (int i = 0; i < d; i++) refm[i] = sqrt(a) * mref[i];
    for (size_t q = 0; q < dd; q++) refK[q] = a * Kref[q];
    for (int i = 0; i < d; i++) refK[(size_t)i * d + i] += 1.0 - a;
    if (w2 || w2_mean || w2_cov) {
      double wm = INFINITY, wc = INFINITY, w = INFINITY;
      if (!inf && isnan(w = dref_w2_gaussian(d, mt, K0, refm, refK, &wm, &wc))) {
        rc = DREF_ELAPACK;
        goto done;
      }
      if (w2) w2[k] = w;
      if (w2_mean) w2_mean[k] = wm;
      if (w2_cov) w2_cov[k] = wc;
    }
    if (k == t_snap) {
      if (mean_snap) memcpy(mean_snap, mt, (size_t)d * sizeof *mt);
      if (cov_snap) memcpy(cov_snap, K0, dd * sizeof *K0);
      if (ref_mean_snap) memcpy(ref_mean_snap, refm, (size_t)d * sizeof *refm);
      if (ref_cov_snap) memcpy(ref_cov_snap, refK, dd * sizeof *refK);
    }
    if (k == K) break;
    double un = k + 1 == K ? cfg->eps : 1 - (k + 1) * dt, noise;
    /* a score at u = 0 (heun's and rk4's last stage when ε = 0) with a singular Σ: no finite law */
    if (singular && un == 0.0 && (cfg->scheme == DREF_SCHEME_HEUN || cfg->scheme == DREF_SCHEME_RK4)) inf = 1;
    /* ddpm with Δt β(u) ≥ 1: 1/√(1 − Δt β) is not real, no law */
    if (cfg->scheme == DREF_SCHEME_DDPM && !((u - un) * vp_beta(cfg, u) < 1)) inf = 1;
    if (inf) continue;
    if ((rc = vp_step(d, m, mu, Sigma, A, sigma, r, cfg, u, un, u - un, P, c, &noise))) goto done;
    matvec(d, d, P, mt, tmp);
    for (int i = 0; i < d; i++) mt[i] = tmp[i] + c[i];
    if ((rc = matmul(d, d, d, P, 0, K0, 0, PK))) goto done;
    if ((rc = matmul(d, d, d, PK, 0, P, 1, K0))) goto done;
    for (int i = 0; i < d; i++) K0[(size_t)i * d + i] += noise;
    symmetrise(d, K0);
  }
  if (w2_final) {
    double wm = INFINITY, wc = INFINITY, w = INFINITY;
    if (!inf && isnan(w = dref_w2_gaussian(d, mt, K0, mref, Kref, &wm, &wc))) {
      rc = DREF_ELAPACK;
      goto done;
    }
    w2_final[0] = w;
    w2_final[1] = wm;
    w2_final[2] = wc;
  }
  rc = DREF_OK;
done:
  free(pmean); free(pcov); free(r); free(P); free(c); free(K0); free(PK); free(mt); free(tmp); free(refm); free(refK);
  return rc;
}

int dref_sampler_law(int d, int m, const double *mu, const double *Sigma, const double *A, double sigma,
                     const double *v, const dref_sampler *cfg, const dref_schedule *s, double *w2,
                     double *w2_mean, double *w2_cov, double *w2_final, int t_snap, double *mean_snap,
                     double *cov_snap, double *ref_mean_snap, double *ref_cov_snap) {
  if (cfg && cfg->vp_sde && d >= 1 && m >= 1 && mu && Sigma && A && v && sigma > 0)
    return dref_vp_law(d, m, mu, Sigma, A, sigma, v, cfg, w2, w2_mean, w2_cov, w2_final, t_snap, mean_snap, cov_snap,
                       ref_mean_snap, ref_cov_snap);
  if (d < 1 || m < 1 || !mu || !Sigma || !A || !v || !cfg || !s || !s->beta || s->T < 1 || !(sigma > 0))
    return DREF_EINPUT;
  const int T = s->T, S = cfg->steps <= 0 ? T : cfg->steps, ddrm = cfg->alg == DREF_DDRM;
  if (S > T) return DREF_EINPUT;
  if (cfg->alg == DREF_DPS && !(cfg->alpha_dps > 0)) return DREF_EINPUT;
  for (int t = 1; t <= T; t++)
    if (!(s->beta[t] > 0 && s->beta[t] < 1)) return DREF_EINPUT;
  const size_t dd = (size_t)d * d;
  int rc = DREF_ENOMEM, *tau = malloc(sizeof(int) * (size_t)(S + 1));
  double *abar = dalloc((size_t)T + 1), *pmean = dalloc((size_t)d), *pcov = dalloc(dd), *r = dalloc((size_t)m);
  double *Hm = dalloc(dd), *h = dalloc((size_t)d), *P = dalloc(dd), *c = dalloc((size_t)d), *N = dalloc(dd);
  double *K = dalloc(dd), *PK = dalloc(dd), *mt = dalloc((size_t)d), *tmp = dalloc((size_t)d);
  double *refm = dalloc((size_t)d), *refK = dalloc(dd), *U = dalloc((size_t)m * m), *V = dalloc(dd);
  double *sv = dalloc((size_t)d), *ybar = dalloc((size_t)d), *J = dalloc(dd), *M1 = dalloc(dd), *M2 = dalloc(dd);
  double *ca = dalloc((size_t)d), *cb = dalloc((size_t)d), *cc = dalloc((size_t)d), *cn = dalloc((size_t)d);
  if (!tau || !abar || !pmean || !pcov || !r || !Hm || !h || !P || !c || !N || !K || !PK || !mt || !tmp || !refm ||
      !refK || !U || !V || !sv || !ybar || !J || !M1 || !M2 || !ca || !cb || !cc || !cn)
    goto done;
  {
    long double ab = 1;
    abar[0] = 1;
    for (int t = 1; t <= T; t++) {
      ab *= 1.0L - s->beta[t];
      abar[t] = (double)ab;
    }
  }
  if ((rc = dref_posterior(d, m, mu, Sigma, A, sigma, v, pmean, pcov))) goto done;
  const double *mref = cfg->alg == DREF_NONE ? mu : pmean, *Kref = cfg->alg == DREF_NONE ? Sigma : pcov;
  matvec(m, d, A, mu, r);
  for (int i = 0; i < m; i++) r[i] = v[i] - r[i];
  /* times τ_0 = 0, τ_k = 1 + (k − 1)·⌊T/S⌋ */
  tau[0] = 0;
  for (int k = 1; k <= S; k++) tau[k] = 1 + (k - 1) * (T / S);
  const int want_snap = mean_snap || cov_snap || ref_mean_snap || ref_cov_snap;
  if (want_snap) {
    int ok = 0;
    for (int k = 0; k <= S; k++) ok |= tau[k] == t_snap;
    if (!ok) {
      rc = DREF_EINPUT;
      goto done;
    }
  }
  for (int t = 0; t <= T; t++) {
    if (w2) w2[t] = NAN;
    if (w2_mean) w2_mean[t] = NAN;
    if (w2_cov) w2_cov[t] = NAN;
  }
  if (ddrm) { /* SVD and ȳ_i = (Uᵀ v)_i / s_i */
    if ((rc = ddrm_svd(d, m, A, cfg->basis_seed, U, V, sv))) goto done;
    for (int i = 0; i < d; i++) {
      ybar[i] = 0;
      if (sv[i] > 0) {
        long double acc = 0;
        for (int k = 0; k < m; k++) acc += (long double)U[(size_t)k * m + i] * v[k];
        ybar[i] = (double)(acc / sv[i]);
      }
    }
  }

  /* start at τ_S */
  {
    const double a = abar[tau[S]];
    memset(K, 0, dd * sizeof *K);
    memset(mt, 0, (size_t)d * sizeof *mt);
    if (cfg->init_exact) {
      for (int i = 0; i < d; i++) mt[i] = sqrt(a) * mref[i];
      for (size_t k = 0; k < dd; k++) K[k] = a * Kref[k];
      for (int i = 0; i < d; i++) K[(size_t)i * d + i] += 1.0 - a;
    } else if (ddrm) {
      /* x̄_i = ȳ_i + √(ς² − σ²/s_i²) w̄_i if s_i ς > σ, else ς w̄_i; y = V x̄ / ς */
      const double vs = sqrt((1 - a) / a);
      for (int i = 0; i < d; i++) {
        int big = sv[i] > 0 && sv[i] * vs > sigma;
        tmp[i] = big ? ybar[i] / vs : 0.0;
        cn[i] = big ? (vs * vs - sigma * sigma / (sv[i] * sv[i])) / (vs * vs) : 1.0;
      }
      matvec(d, d, V, tmp, mt);
      for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++) {
          long double acc = 0;
          for (int k = 0; k < d; k++) acc += (long double)V[(size_t)i * d + k] * cn[k] * V[(size_t)j * d + k];
          K[(size_t)i * d + j] = (double)acc;
        }
    } else
      for (int i = 0; i < d; i++) K[(size_t)i * d + i] = 1.0;
  }

  for (int k = S;; k--) {
    /* record at τ_k */
    const int t = tau[k];
    const double a = abar[t];
    for (int i = 0; i < d; i++) refm[i] = sqrt(a) * mref[i];
    for (size_t q = 0; q < dd; q++) refK[q] = a * Kref[q];
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
    if (want_snap && t == t_snap) {
      if (mean_snap) memcpy(mean_snap, mt, (size_t)d * sizeof *mt);
      if (cov_snap) memcpy(cov_snap, K, dd * sizeof *K);
      if (ref_mean_snap) memcpy(ref_mean_snap, refm, (size_t)d * sizeof *refm);
      if (ref_cov_snap) memcpy(ref_cov_snap, refK, dd * sizeof *refK);
    }
    if (k == 0) break;

    /* step τ_k = t → τ_{k−1} = s: y_s = P y + c + N(0, N) */
    const int sn = tau[k - 1];
    const double at = abar[t], as = abar[sn];
    memset(N, 0, dd * sizeof *N);
    if (!ddrm) {
      if ((rc = guided_score(d, m, mu, Sigma, A, sigma, r, cfg->alg, cfg->alpha_dps, at, Hm, h))) goto done;
      if (cfg->scheme == DREF_SCHEME_DDPM) {
        const double al = at / as, be = 1 - al, isa = 1 / sqrt(al);
        double sig2 = sn == 0 ? 0.0 : s->variance_tilde ? be * (1 - as) / (1 - at) : be;
        for (size_t q = 0; q < dd; q++) P[q] = -be * Hm[q] * isa;
        for (int i = 0; i < d; i++) P[(size_t)i * d + i] += isa;
        for (int i = 0; i < d; i++) c[i] = be * isa * h[i];
        for (int i = 0; i < d; i++) N[(size_t)i * d + i] = sig2;
      } else {
        /* s̃ = −H y + h; x̂0 = (y + (1 − ᾱ_t) s̃)/√ᾱ_t; ε̂ = −√(1 − ᾱ_t) s̃ */
        const double eta = cfg->scheme_eta;
        const double cz = eta * sqrt((1 - as) / (1 - at)) * sqrt(1 - at / as);
        const double ce = sqrt(fmax(0.0, 1 - as - cz * cz));
        for (int i = 0; i < d; i++)
          for (int j = 0; j < d; j++) {
            double sl = -Hm[(size_t)i * d + j];
            double xl = ((i == j ? 1.0 : 0.0) + (1 - at) * sl) / sqrt(at), el = -sqrt(1 - at) * sl;
            P[(size_t)i * d + j] = sqrt(as) * xl + ce * el;
          }
        for (int i = 0; i < d; i++) c[i] = sqrt(as) * (1 - at) * h[i] / sqrt(at) - ce * sqrt(1 - at) * h[i];
        for (int i = 0; i < d; i++) N[(size_t)i * d + i] = cz * cz;
      }
    } else {
      /* x̂0 = X y + xc, X = J_t, xc = μ − √ᾱ_t J_t μ; ε̂ = (y − √ᾱ_t x̂0)/√(1 − ᾱ_t) */
      if ((rc = tweedie_J(d, Sigma, at, J))) goto done;
      matvec(d, d, J, mu, tmp);
      double *xc = refm; /* reuse as scratch until the next record */
      for (int i = 0; i < d; i++) xc[i] = mu[i] - sqrt(at) * tmp[i];
      const double vsn = sqrt((1 - as) / as), eta = cfg->eta, etab = cfg->eta_b;
      for (int i = 0; i < d; i++) { /* coefficients of x̄θ_i, ε̄_i, ȳ_i and the noise variance */
        if (sv[i] > 0 && sv[i] * vsn > sigma) {
          ca[i] = 1 - etab; cb[i] = 0; cc[i] = etab;
          cn[i] = vsn * vsn - etab * etab * sigma * sigma / (sv[i] * sv[i]);
        } else if (sv[i] > 0 && sv[i] * vsn < sigma) {
          double q = sqrt(1 - eta * eta) * vsn * sv[i] / sigma;
          ca[i] = 1 - q; cb[i] = 0; cc[i] = q;
          cn[i] = eta * eta * vsn * vsn;
        } else {
          ca[i] = 1; cb[i] = sqrt(1 - eta * eta) * vsn; cc[i] = 0;
          cn[i] = eta * eta * vsn * vsn;
        }
      }
      /* E = (I − √ᾱ_t J)/√(1 − ᾱ_t), ec = −√ᾱ_t xc/√(1 − ᾱ_t);
       * P = √ᾱ_s V (diag(ca) Vᵀ X + diag(cb) Vᵀ E); c = √ᾱ_s V (ca∘Vᵀxc + cb∘Vᵀec + cc∘ȳ) */
      for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++) {
          double e = ((i == j ? 1.0 : 0.0) - sqrt(at) * J[(size_t)i * d + j]) / sqrt(1 - at);
          M1[(size_t)i * d + j] = 0;
          PK[(size_t)i * d + j] = e;
        }
      if ((rc = matmul(d, d, d, V, 1, J, 0, M1))) goto done;  /* Vᵀ X */
      if ((rc = matmul(d, d, d, V, 1, PK, 0, M2))) goto done; /* Vᵀ E */
      for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++) M1[(size_t)i * d + j] = ca[i] * M1[(size_t)i * d + j] + cb[i] * M2[(size_t)i * d + j];
      if ((rc = matmul(d, d, d, V, 0, M1, 0, P))) goto done;
      for (size_t q = 0; q < dd; q++) P[q] *= sqrt(as);
      double *vx = tmp, *ve = c;
      matvec_t(d, d, V, xc, vx); /* Vᵀ xc */
      for (int i = 0; i < d; i++) xc[i] = -sqrt(at) * xc[i] / sqrt(1 - at);
      matvec_t(d, d, V, xc, ve); /* Vᵀ ec */
      for (int i = 0; i < d; i++) M2[i] = ca[i] * vx[i] + cb[i] * ve[i] + cc[i] * ybar[i];
      matvec(d, d, V, M2, c);
      for (int i = 0; i < d; i++) c[i] *= sqrt(as);
      for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++) {
          long double acc = 0;
          for (int q = 0; q < d; q++) acc += (long double)V[(size_t)i * d + q] * cn[q] * V[(size_t)j * d + q];
          N[(size_t)i * d + j] = as * (double)acc;
        }
    }
    matvec(d, d, P, mt, tmp);
    for (int i = 0; i < d; i++) mt[i] = tmp[i] + c[i];
    if ((rc = matmul(d, d, d, P, 0, K, 0, PK))) goto done;
    if ((rc = matmul(d, d, d, PK, 0, P, 1, K))) goto done;
    for (size_t q = 0; q < dd; q++) K[q] += N[q];
    symmetrise(d, K);
  }
  if (w2_final) {
    double wm, wc, w = dref_w2_gaussian(d, mt, K, mref, Kref, &wm, &wc);
    if (isnan(w)) {
      rc = DREF_ELAPACK;
      goto done;
    }
    w2_final[0] = w;
    w2_final[1] = wm;
    w2_final[2] = wc;
  }
  rc = DREF_OK;
done:
  free(tau); free(abar); free(pmean); free(pcov); free(r); free(Hm); free(h); free(P); free(c); free(N);
  free(K); free(PK); free(mt); free(tmp); free(refm); free(refK); free(U); free(V); free(sv); free(ybar);
  free(J); free(M1); free(M2); free(ca); free(cb); free(cc); free(cn);
  return rc;
}
