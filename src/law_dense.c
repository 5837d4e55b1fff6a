/* Dense law backend "dense-distributed" (docs/maths.md §5.3; SPEC §2 "Useful facts":
 * inpainting needs dense d×d covariances). Works for any operator: A and Aᵀ are only applied
 * (gds_operator_apply / _adjoint); every other matrix of a step is a Fourier multiplier
 * applied with FFTW.
 *
 * Two routes, both exact:
 *  - operator route (dps, pigdm, ddrm, any algorithm without the exact score): K is d×d,
 *    distributed by column blocks over the group (rank r owns full columns [c0[r], c0[r] +
 *    nc[r]); this is also the ScaLAPACK layout of a 1×p grid with block size ⌈d/p⌉), held in
 *    real orthonormal Fourier coordinates where Σ_ᾱ⁻¹ and J_ᾱ are diagonal. A step
 *    K ← P K Pᵀ + N uses the symmetry of K: X = P K (P applied to the local columns: the
 *    step program interpreted with the guided score as its stages, 2 FFTs per column and
 *    stage; DDRM: 3 FFTs per column), Xᵀ = K Pᵀ by one all-to-all, K ← P Xᵀ: O(d² log d) per
 *    step, no d³ product. DDRM uses the SVD of A when A Aᵀ is diagonal (inpainting: V = I on
 *    the observed pixels; super-resolution; identity): v_k = Aᵀe_k/s_k, s_k² = (A Aᵀ)_kk.
 *    For W2, K is brought to pixels, redistributed (pdgemr2d) to a 2-D block-cyclic layout
 *    and compared with the reference in the eigenbasis of Σ_post (pdgemm, pdsyevd, pdsyrk).
 *  - spectral route (none, cgdm: the exact score of the reference path N(√ᾱ μ_ref,
 *    ᾱ Σ_ref + (1 − ᾱ) I) — the prior for `none`; the posterior for cgdm, whose C is the
 *    exact Cov(v | x_ᾱ)): every step of every scheme, K and K* are diagonal in an eigenbasis
 *    Q of Σ_ref (Σ_post: pdsyevd; Σ: the real Fourier basis), so the recursion runs per
 *    eigenvalue (the step program on scalars) and W2 is in closed form.
 * Means are replicated (Fourier coordinates, or Qᵀ m). The posterior uses
 * S = A Σ Aᵀ + σ² I (m×m, pdpotrf, kept factored). Every MPI call is checked; W2 of a law
 * that is not finite is +inf (the eigen-solvers never see inf/NaN); the stop poll is reduced
 * over the group by src/law.c between steps. */
#include <fftw3.h>
#include <float.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gdsweep/error.h"
#include "gdsweep/w2.h"
#include "law_impl.h"
#include "scalapack.h"

enum { DN_BLK = 32 }; /* columns per batch of the P application (C_t⁻¹ is applied per batch) */

static const int dn_one = 1, dn_zero = 0;

/* A matrix in the 2-D block-cyclic layout of the law's process grid. */
typedef struct dn_mat {
  int desc[GDS_DLEN];
  int rows, cols, lr, lc; /* global and local sizes; lld = max(1, lr) */
  double *a;
} dn_mat;

typedef struct dn_data {
  MPI_Comm comm;
  int rank, np;
  int sys, ctx2, ctx1, have2, have1; /* BLACS system handle; pr×pc grid; 1×np grid */
  int pr, pc, myr, myc, nb;
  int H, W, d, m, nf;      /* image, measurement and half-spectrum sizes */
  int nb1, *c0, *nc;       /* column blocks of the operator route */
  int ld;                  /* their leading dimension: d padded so that a power-of-two d does
                              not alias cache sets in the transposition */
  double *lam;             /* nf: λ(ξ) on the half spectrum */
  /* Real orthonormal Fourier coordinates c = Q_Fᵀ x of the operator route: half-spectrum
   * entry f is a self-conjugate mode (fkind 0, one coordinate fci[f]), a cos/sin pair
   * (fkind 1, coordinates fci[f], fci[f] + 1) or the stored conjugate of entry fci[f]
   * (fkind 2). lamc: λ per coordinate (every Fourier multiplier is diagonal in c). */
  int *fkind, *fci;
  double *lamc;
  double *csig;            /* d: kernel of Σ (Σ x = csig ⊛ x) */
  double *aat;             /* m: diag A Aᵀ, or NULL when A Aᵀ is not diagonal */
  double *aat_full;        /* m×m A Aᵀ (column-major) when it is not diagonal */
  double *sv;              /* m: DDRM singular values √(A Aᵀ)_kk when A Aᵀ is diagonal (0 below
                              GDS_DDRM_SV_RTOL·max), else NULL */
  int mu_coord;            /* Fourier coordinate of the constant image (ξ = 0) */
  int *ridx;               /* m: A x = x[ridx] when A is a restriction (inpainting), else NULL */
  dn_mat S;                /* Cholesky factor (lower) of A Σ Aᵀ + σ² I */
  dn_mat Qpost;            /* eigenvectors of Σ_post */
  double *Dpost, *postvar; /* eigenvalues of Σ_post (clipped, see dn_clip); diag Σ_post */
  double *rbuf;            /* d, FFT real buffer */
  fftw_complex *cbuf;      /* nf, FFT complex buffer */
  fftw_plan fwd, bwd;
} dn_data;

/* Reference path N(√ᾱ μ_ref, ᾱ Σ_ref + (1 − ᾱ) I) in an eigenbasis Σ_ref = Q diag(D) Qᵀ. */
typedef struct dn_ref {
  dn_mat *Q;
  const double *D;
  dn_mat own; /* storage when Q is built for this evaluation (prior basis) */
  double *Down;
} dn_ref;

/* Coefficients of one score stage at ᾱ in Fourier coordinates (SPEC §1): Σ_ᾱ⁻¹ and J_ᾱ per
 * coordinate, and C_ᾱ⁻¹ = (c0 I + c1 A Aᵀ)⁻¹: diagonal when A Aᵀ is (inpainting, super-
 * resolution) or c1 = 0 (dps), else a Cholesky factor (blurs through this backend). */
typedef struct dn_stage {
  double *ist, *jm; /* d */
  double *cinv;     /* m: C⁻¹ when diagonal */
  double *cfac;     /* m×m Cholesky factor of C otherwise (allocated on first use) */
  int dense;
} dn_stage;

/* Checked MPI call inside a function with a cleanup label. */
#define DN_MPI(ierr, label, expr)                                                                  \
  do {                                                                                             \
    int dn_e_ = (expr);                                                                            \
    if (dn_e_ != MPI_SUCCESS) {                                                                    \
      (ierr) = gds_error_mpi(dn_e_, __FILE__, __LINE__, __func__, #expr);                          \
      goto label;                                                                                  \
    }                                                                                              \
  } while (0)

/* ---------------------------------------------------------------------------------------- */
/* Block-cyclic helpers                                                                       */
/* ---------------------------------------------------------------------------------------- */

/* Global index of local index l (ScaLAPACK INDXL2G with source process 0). */
static inline int dn_l2g(int l, int nb, int ip, int np) { return (l / nb * np + ip) * nb + l % nb; }

static int dn_mat_init(dn_data *dd, dn_mat *M, int rows, int cols) {
  int info;
  M->rows = rows;
  M->cols = cols;
  M->lr = numroc_(&rows, &dd->nb, &dd->myr, &dn_zero, &dd->pr);
  M->lc = numroc_(&cols, &dd->nb, &dd->myc, &dn_zero, &dd->pc);
  int lld = M->lr > 1 ? M->lr : 1;
  descinit_(M->desc, &rows, &cols, &dd->nb, &dd->nb, &dn_zero, &dn_zero, &dd->ctx2, &lld, &info);
  if (info) GDS_ERROR(GDS_ERR_RUNTIME, "descinit failed (info %d) for a %dx%d matrix", info, rows, cols);
  GDS_CALL(gds_malloc_aligned(sizeof(double) * (size_t)lld * (M->lc > 0 ? M->lc : 1), &M->a));
  return GDS_SUCCESS;
}

static void dn_mat_free(dn_mat *M) {
  free(M->a);
  M->a = NULL;
}

static inline size_t dn_lld(const dn_mat *M) { return (size_t)(M->lr > 1 ? M->lr : 1); }

/* Whole matrix on every rank: out[i + rows·j] (col_major) or out[i·cols + j]. */
static int dn_gather(dn_data *dd, const dn_mat *M, int col_major, double *out) {
  size_t n = (size_t)M->rows * M->cols;
  memset(out, 0, sizeof(double) * n);
  for (int lc = 0; lc < M->lc; lc++) {
    int j = dn_l2g(lc, dd->nb, dd->myc, dd->pc);
    for (int lr = 0; lr < M->lr; lr++) {
      int i = dn_l2g(lr, dd->nb, dd->myr, dd->pr);
      out[col_major ? i + (size_t)M->rows * j : (size_t)i * M->cols + j] = M->a[lr + dn_lld(M) * lc];
    }
  }
  GDS_MPI_CALL(MPI_Allreduce(MPI_IN_PLACE, out, (int)n, MPI_DOUBLE, MPI_SUM, dd->comm));
  return GDS_SUCCESS;
}

/* y_s = Q x_s (trans = 0) or Qᵀ x_s (trans = 1) for ns replicated d-vectors (ns×d). */
static int dn_qvec(dn_data *dd, const dn_mat *Q, int trans, int ns, const double *x, double *y) {
  int d = dd->d;
  memset(y, 0, sizeof(double) * (size_t)ns * d);
  for (int lc = 0; lc < Q->lc; lc++) {
    int j = dn_l2g(lc, dd->nb, dd->myc, dd->pc);
    const double *q = Q->a + dn_lld(Q) * lc;
    for (int s = 0; s < ns; s++) {
      const double *xs = x + (size_t)s * d;
      double *ys = y + (size_t)s * d;
      if (trans) {
        double acc = 0;
        for (int lr = 0; lr < Q->lr; lr++) acc += q[lr] * xs[dn_l2g(lr, dd->nb, dd->myr, dd->pr)];
        ys[j] += acc;
      } else {
        for (int lr = 0; lr < Q->lr; lr++) ys[dn_l2g(lr, dd->nb, dd->myr, dd->pr)] += q[lr] * xs[j];
      }
    }
  }
  if (ns > 0) GDS_MPI_CALL(MPI_Allreduce(MPI_IN_PLACE, y, ns * d, MPI_DOUBLE, MPI_SUM, dd->comm));
  return GDS_SUCCESS;
}

/* Q diag(k) Qᵀ: its diagonal (diag, may be NULL) and the whole matrix (full, row-major, may
 * be NULL). */
static int dn_qkq(dn_data *dd, const dn_mat *Q, const double *k, double *diag, double *full) {
  int d = dd->d, ierr = GDS_SUCCESS;
  if (diag) {
    memset(diag, 0, sizeof(double) * (size_t)d);
    for (int lc = 0; lc < Q->lc; lc++) {
      double kj = k[dn_l2g(lc, dd->nb, dd->myc, dd->pc)];
      const double *q = Q->a + dn_lld(Q) * lc;
      for (int lr = 0; lr < Q->lr; lr++) diag[dn_l2g(lr, dd->nb, dd->myr, dd->pr)] += q[lr] * q[lr] * kj;
    }
    GDS_MPI_CALL(MPI_Allreduce(MPI_IN_PLACE, diag, d, MPI_DOUBLE, MPI_SUM, dd->comm));
  }
  if (full) {
    dn_mat QK = {0}, K = {0};
    GDS_CALL_GOTO(ierr, out, dn_mat_init(dd, &QK, d, d));
    GDS_CALL_GOTO(ierr, out, dn_mat_init(dd, &K, d, d));
    for (int lc = 0; lc < Q->lc; lc++) {
      double kj = k[dn_l2g(lc, dd->nb, dd->myc, dd->pc)];
      for (int lr = 0; lr < Q->lr; lr++) QK.a[lr + dn_lld(&QK) * lc] = Q->a[lr + dn_lld(Q) * lc] * kj;
    }
    double one = 1.0, zero = 0.0;
    pdgemm_("N", "T", &d, &d, &d, &one, QK.a, &dn_one, &dn_one, QK.desc, Q->a, &dn_one, &dn_one, Q->desc,
            &zero, K.a, &dn_one, &dn_one, K.desc, 1, 1);
    GDS_CALL_GOTO(ierr, out, dn_gather(dd, &K, 0, full));
  out:
    dn_mat_free(&QK);
    dn_mat_free(&K);
  }
  return ierr;
}

/* Eigenvalues below the resolution of the eigen-solver (d·ε·max D) are exact zeros of Σ_ref
 * (λ(0) = 0): set them to 0 so that √ of rounding noise does not enter W2 at t = 0 (it
 * would make results depend on the process grid). */
static void dn_clip(int d, double *D) {
  double mx = 0;
  for (int i = 0; i < d; i++) mx = fmax(mx, fabs(D[i]));
  double thr = d * DBL_EPSILON * mx;
  for (int i = 0; i < d; i++)
    if (D[i] <= thr) D[i] = 0.0;
}

/* ---------------------------------------------------------------------------------------- */
/* Fourier multipliers and the operator                                                       */
/* ---------------------------------------------------------------------------------------- */

/* y = g(ξ) ⊙ x in the DFT basis (g real on the half spectrum); y may alias x. */
static void dn_mult(dn_data *dd, const double *g, const double *x, double *y) {
  memcpy(dd->rbuf, x, sizeof(double) * (size_t)dd->d);
  fftw_execute_dft_r2c(dd->fwd, dd->rbuf, dd->cbuf);
  double s = 1.0 / dd->d;
  for (int f = 0; f < dd->nf; f++) {
    dd->cbuf[f][0] *= g[f] * s;
    dd->cbuf[f][1] *= g[f] * s;
  }
  fftw_execute_dft_c2r(dd->bwd, dd->cbuf, dd->rbuf);
  memcpy(y, dd->rbuf, sizeof(double) * (size_t)dd->d);
}

/* Σ_ij = csig(p_i − p_j), periodic offset. */
static inline double dn_sigma_entry(const dn_data *dd, int i, int j) {
  int dr = (i / dd->W - j / dd->W + dd->H) % dd->H, dc = (i % dd->W - j % dd->W + dd->W) % dd->W;
  return dd->csig[dr * dd->W + dc];
}

/* ns residuals r_s = v_s − A μ (ns×m). */
static int dn_residuals(gds_law *law, int ns, const double *const *v, double *r) {
  dn_data *dd = law->data;
  double *mu, *amu;
  GDS_CALL(GDS_ALLOC(mu, dd->d));
  int ierr = GDS_ALLOC(amu, dd->m);
  if (!ierr) {
    for (int i = 0; i < dd->d; i++) mu[i] = law->prior->mean;
    ierr = gds_operator_apply(law->op, mu, amu);
    for (int s = 0; s < ns && !ierr; s++)
      for (int k = 0; k < dd->m; k++) r[(size_t)s * dd->m + k] = v[s][k] - amu[k];
  }
  free(mu);
  free(amu);
  GDS_CALL(ierr);
  return GDS_SUCCESS;
}

/* A Aᵀ by columns A Aᵀ e_k: kept as a diagonal when it is one (inpainting: I; super-resolution:
 * I/s²), else as a dense m×m matrix (blurs), so pigdm's C_t is exact for any operator. */
static int dn_setup_aat(gds_law *law) {
  dn_data *dd = law->data;
  int m = dd->m, d = dd->d, ierr = GDS_SUCCESS, diagonal = 1, restriction = 1;
  double *e, *x, *col;
  GDS_CALL(GDS_ALLOC(dd->aat, m));
  GDS_CALL(GDS_ALLOC(dd->ridx, m));
  GDS_CALL(GDS_ALLOC(e, m));
  GDS_CALL_GOTO(ierr, out, GDS_ALLOC(x, d));
  GDS_CALL_GOTO(ierr, out, GDS_ALLOC(col, m));
  for (int pass = 0; pass < 2; pass++) {
    if (pass == 1) {
      if (diagonal) break;
      GDS_CALL_GOTO(ierr, out, GDS_ALLOC(dd->aat_full, (size_t)m * m));
    }
    for (int k = 0; k < m; k++) {
      e[k] = 1.0;
      GDS_CALL_GOTO(ierr, out, gds_operator_apply_adjoint(law->op, e, x));
      GDS_CALL_GOTO(ierr, out, gds_operator_apply(law->op, x, col));
      e[k] = 0.0;
      dd->aat[k] = col[k];
      if (pass == 0 && restriction) { /* Aᵀ e_k = e_i for one pixel i: A picks pixel i */
        int nz = 0;
        for (int i = 0; i < d; i++)
          if (x[i] != 0.0) {
            nz++;
            dd->ridx[k] = i;
          }
        restriction = nz == 1 && x[dd->ridx[k]] == 1.0;
      }
      if (pass == 1) memcpy(dd->aat_full + (size_t)k * m, col, sizeof(double) * m);
      else
        for (int l = 0; l < m && diagonal; l++) diagonal = l == k || col[l] == 0.0;
    }
  }
  if (dd->aat_full) {
    free(dd->aat);
    dd->aat = NULL;
  }
  if (!restriction || !diagonal) {
    free(dd->ridx);
    dd->ridx = NULL;
  }
out:
  free(e);
  free(x);
  free(col);
  return ierr;
}

/* Posterior (SPEC §2 "Target"), distributed: S = A Σ Aᵀ + σ² I = L Lᵀ (pdpotrf),
 * W = L⁻¹ A Σ (pdtrsm), Σ_post = Σ − Wᵀ W (pdsyrk, lower), then Σ_post = Q D Qᵀ (pdsyevd). */
static int dn_setup_posterior(gds_law *law) {
  dn_data *dd = law->data;
  int d = dd->d, m = dd->m, ierr = GDS_SUCCESS, info = 0;
  double s2 = law->sigma * law->sigma, one = 1.0, mone = -1.0;
  dn_mat B = {0}, P = {0};
  double *e = NULL, *x = NULL, *col = NULL, *work = NULL;
  int *iwork = NULL;
  GDS_CALL_GOTO(ierr, out, GDS_ALLOC(e, m));
  GDS_CALL_GOTO(ierr, out, GDS_ALLOC(x, d));
  GDS_CALL_GOTO(ierr, out, GDS_ALLOC(col, m > d ? m : d));
  /* S column l = A Σ Aᵀ e_l (+ σ² e_l); each process column builds its own columns. */
  GDS_CALL_GOTO(ierr, out, dn_mat_init(dd, &dd->S, m, m));
  for (int lc = 0; lc < dd->S.lc; lc++) {
    int l = dn_l2g(lc, dd->nb, dd->myc, dd->pc);
    e[l] = 1.0;
    GDS_CALL_GOTO(ierr, out, gds_operator_apply_adjoint(law->op, e, x));
    e[l] = 0.0;
    dn_mult(dd, dd->lam, x, x);
    GDS_CALL_GOTO(ierr, out, gds_operator_apply(law->op, x, col));
    for (int lr = 0; lr < dd->S.lr; lr++) {
      int k = dn_l2g(lr, dd->nb, dd->myr, dd->pr);
      dd->S.a[lr + dn_lld(&dd->S) * lc] = col[k] + (k == l ? s2 : 0.0);
    }
  }
  /* B = A Σ: column j = A (Σ e_j), Σ e_j read off the kernel. */
  GDS_CALL_GOTO(ierr, out, dn_mat_init(dd, &B, m, d));
  for (int lc = 0; lc < B.lc; lc++) {
    int j = dn_l2g(lc, dd->nb, dd->myc, dd->pc);
    for (int i = 0; i < d; i++) x[i] = dn_sigma_entry(dd, i, j);
    GDS_CALL_GOTO(ierr, out, gds_operator_apply(law->op, x, col));
    for (int lr = 0; lr < B.lr; lr++) B.a[lr + dn_lld(&B) * lc] = col[dn_l2g(lr, dd->nb, dd->myr, dd->pr)];
  }
  pdpotrf_("L", &m, dd->S.a, &dn_one, &dn_one, dd->S.desc, &info, 1);
  if (info) {
    ierr = gds_error_raise(GDS_ERR_RUNTIME, __FILE__, __LINE__, __func__, "pdpotrf of A Sigma A^T + sigma^2 I failed (info %d)", info);
    goto out;
  }
  pdtrsm_("L", "L", "N", "N", &m, &d, &one, dd->S.a, &dn_one, &dn_one, dd->S.desc, B.a, &dn_one, &dn_one,
          B.desc, 1, 1, 1, 1);
  GDS_CALL_GOTO(ierr, out, dn_mat_init(dd, &P, d, d));
  for (int lc = 0; lc < P.lc; lc++) {
    int j = dn_l2g(lc, dd->nb, dd->myc, dd->pc);
    for (int lr = 0; lr < P.lr; lr++) P.a[lr + dn_lld(&P) * lc] = dn_sigma_entry(dd, dn_l2g(lr, dd->nb, dd->myr, dd->pr), j);
  }
  pdsyrk_("L", "T", &d, &m, &mone, B.a, &dn_one, &dn_one, B.desc, &one, P.a, &dn_one, &dn_one, P.desc, 1, 1);
  dn_mat_free(&B);
  /* diag Σ_post */
  GDS_CALL_GOTO(ierr, out, GDS_ALLOC(dd->postvar, d));
  for (int lc = 0; lc < P.lc; lc++) {
    int j = dn_l2g(lc, dd->nb, dd->myc, dd->pc);
    for (int lr = 0; lr < P.lr; lr++)
      if (dn_l2g(lr, dd->nb, dd->myr, dd->pr) == j) dd->postvar[j] = P.a[lr + dn_lld(&P) * lc];
  }
  DN_MPI(ierr, out, MPI_Allreduce(MPI_IN_PLACE, dd->postvar, d, MPI_DOUBLE, MPI_SUM, dd->comm));
  /* Σ_post = Q D Qᵀ */
  GDS_CALL_GOTO(ierr, out, GDS_ALLOC(dd->Dpost, d));
  GDS_CALL_GOTO(ierr, out, dn_mat_init(dd, &dd->Qpost, d, d));
  double wq;
  int lwork = -1, liwork = -1, iwq;
  pdsyevd_("V", "L", &d, P.a, &dn_one, &dn_one, P.desc, dd->Dpost, dd->Qpost.a, &dn_one, &dn_one,
           dd->Qpost.desc, &wq, &lwork, &iwq, &liwork, &info, 1, 1);
  lwork = (int)wq + 1;
  liwork = iwq > 1 ? iwq : 1;
  GDS_CALL_GOTO(ierr, out, gds_malloc_aligned(sizeof(double) * (size_t)lwork, &work));
  GDS_CALL_GOTO(ierr, out, GDS_ALLOC(iwork, liwork));
  pdsyevd_("V", "L", &d, P.a, &dn_one, &dn_one, P.desc, dd->Dpost, dd->Qpost.a, &dn_one, &dn_one,
           dd->Qpost.desc, work, &lwork, iwork, &liwork, &info, 1, 1);
  if (info) {
    ierr = gds_error_raise(GDS_ERR_RUNTIME, __FILE__, __LINE__, __func__, "pdsyevd of Sigma_post failed (info %d)", info);
    goto out;
  }
  dn_clip(d, dd->Dpost);
out:
  dn_mat_free(&B);
  dn_mat_free(&P);
  free(e);
  free(x);
  free(col);
  free(work);
  free(iwork);
  return ierr;
}

/* μ_post − μ = Σ Aᵀ S⁻¹ r_s for ns residuals (ns×m) → delta (ns×d), S⁻¹ by pdpotrs. */
static int dn_post_shift(dn_data *dd, gds_operator *op, int ns, const double *r, double *delta) {
  int m = dd->m, d = dd->d, info = 0, ierr = GDS_SUCCESS;
  if (ns <= 0) return GDS_SUCCESS;
  dn_mat R = {0};
  double *z = NULL;
  GDS_CALL_GOTO(ierr, out, dn_mat_init(dd, &R, m, ns));
  for (int lc = 0; lc < R.lc; lc++) {
    int s = dn_l2g(lc, dd->nb, dd->myc, dd->pc);
    for (int lr = 0; lr < R.lr; lr++) R.a[lr + dn_lld(&R) * lc] = r[(size_t)s * m + dn_l2g(lr, dd->nb, dd->myr, dd->pr)];
  }
  pdpotrs_("L", &m, &ns, dd->S.a, &dn_one, &dn_one, dd->S.desc, R.a, &dn_one, &dn_one, R.desc, &info, 1);
  if (info) {
    ierr = gds_error_raise(GDS_ERR_RUNTIME, __FILE__, __LINE__, __func__, "pdpotrs failed (info %d)", info);
    goto out;
  }
  GDS_CALL_GOTO(ierr, out, GDS_ALLOC(z, (size_t)m * ns));
  GDS_CALL_GOTO(ierr, out, dn_gather(dd, &R, 1, z));
  for (int s = 0; s < ns; s++) {
    GDS_CALL_GOTO(ierr, out, gds_operator_apply_adjoint(op, z + (size_t)s * m, delta + (size_t)s * d));
    dn_mult(dd, dd->lam, delta + (size_t)s * d, delta + (size_t)s * d);
  }
out:
  dn_mat_free(&R);
  free(z);
  return ierr;
}

/* ---------------------------------------------------------------------------------------- */
/* Setup / destroy                                                                            */
/* ---------------------------------------------------------------------------------------- */

static void dn_destroy(gds_law *law) {
  dn_data *dd = law->data;
  if (!dd) return;
  dn_mat_free(&dd->S);
  dn_mat_free(&dd->Qpost);
  free(dd->Dpost);
  free(dd->postvar);
  free(dd->aat);
  free(dd->aat_full);
  free(dd->sv);
  free(dd->ridx);
  free(dd->lam);
  free(dd->fkind);
  free(dd->fci);
  free(dd->lamc);
  free(dd->csig);
  free(dd->c0);
  free(dd->nc);
  if (dd->fwd) fftw_destroy_plan(dd->fwd);
  if (dd->bwd) fftw_destroy_plan(dd->bwd);
  fftw_free(dd->rbuf);
  fftw_free(dd->cbuf);
  if (dd->have2) Cblacs_gridexit(dd->ctx2);
  if (dd->have1) Cblacs_gridexit(dd->ctx1);
  if (dd->have1 || dd->have2) Cfree_blacs_system_handle(dd->sys);
  free(dd);
  law->data = NULL;
}

/* Process grid pr × pc, pr ≤ pc, as square as the group size allows. */
static void dn_grid_shape(int np, int *pr, int *pc) {
  int r = (int)sqrt((double)np);
  while (r > 1 && np % r) r--;
  *pr = r;
  *pc = np / r;
}

static int dn_setup(gds_law *law) {
  const gds_prior *pr = law->prior;
  dn_data *dd;
  GDS_CALL(GDS_ALLOC(dd, 1));
  law->data = dd;
  dd->comm = law->group;
  GDS_MPI_CALL(MPI_Comm_rank(dd->comm, &dd->rank));
  GDS_MPI_CALL(MPI_Comm_size(dd->comm, &dd->np));
  dd->H = pr->H;
  dd->W = pr->W;
  dd->d = pr->H * pr->W;
  dd->m = law->op->m;
  dd->nf = dd->H * (dd->W / 2 + 1);
  int d = dd->d, np = dd->np;
  if (d < np) GDS_ERROR(GDS_ERR_INPUT, "image of %d pixels is too small for a group of %d ranks", d, np);

  /* BLACS grids from the group: pr × pc for ScaLAPACK, 1 × np for the column blocks. */
  dn_grid_shape(np, &dd->pr, &dd->pc);
  dd->sys = Csys2blacs_handle(dd->comm);
  dd->ctx2 = dd->sys;
  Cblacs_gridinit(&dd->ctx2, "R", dd->pr, dd->pc);
  dd->have2 = 1;
  dd->ctx1 = dd->sys;
  Cblacs_gridinit(&dd->ctx1, "R", 1, np);
  dd->have1 = 1;
  int a, b, r1, c1;
  Cblacs_gridinfo(dd->ctx2, &a, &b, &dd->myr, &dd->myc);
  Cblacs_gridinfo(dd->ctx1, &a, &b, &r1, &c1);
  if (dd->myr < 0 || c1 != dd->rank)
    GDS_ERROR(GDS_ERR_RUNTIME, "BLACS grid does not follow the group ranks (rank %d at column %d)", dd->rank, c1);
  /* 2-D block size: 64, smaller for small images so that every process holds several blocks. */
  int mx = dd->pr > dd->pc ? dd->pr : dd->pc, nb = (d + 2 * mx - 1) / (2 * mx);
  dd->nb = nb < 2 ? 2 : nb > 64 ? 64 : nb;
  dd->nb1 = (d + np - 1) / np;
  dd->ld = (d + 8 + 7) / 8 * 8;
  GDS_CALL(GDS_ALLOC(dd->c0, np));
  GDS_CALL(GDS_ALLOC(dd->nc, np));
  for (int r = 0; r < np; r++) {
    dd->c0[r] = r * dd->nb1 < d ? r * dd->nb1 : d;
    dd->nc[r] = numroc_(&d, &dd->nb1, &r, &dn_zero, &np);
  }

  dd->rbuf = fftw_alloc_real((size_t)d);
  dd->cbuf = fftw_alloc_complex((size_t)dd->nf);
  if (!dd->rbuf || !dd->cbuf) GDS_ERROR(GDS_ERR_RUNTIME, "out of memory (FFT buffers)");
  /* FFTW_ESTIMATE: plans, hence roundings, independent of timing (and of the group size). */
  dd->fwd = fftw_plan_dft_r2c_2d(dd->H, dd->W, dd->rbuf, dd->cbuf, FFTW_ESTIMATE);
  dd->bwd = fftw_plan_dft_c2r_2d(dd->H, dd->W, dd->cbuf, dd->rbuf, FFTW_ESTIMATE);
  if (!dd->fwd || !dd->bwd) GDS_ERROR(GDS_ERR_RUNTIME, "FFTW planning failed");
  GDS_CALL(GDS_ALLOC(dd->lam, dd->nf));
  GDS_CALL(GDS_ALLOC(dd->csig, d));
  int Wh = dd->W / 2 + 1;
  for (int q = 0; q < dd->H; q++)
    for (int r = 0; r < Wh; r++) dd->lam[q * Wh + r] = pr->spectrum[q * dd->W + r];
  GDS_CALL(GDS_ALLOC(dd->fkind, dd->nf));
  GDS_CALL(GDS_ALLOC(dd->fci, dd->nf));
  GDS_CALL(GDS_ALLOC(dd->lamc, d));
  for (int q = 0, k = 0; q < dd->H; q++)
    for (int r = 0; r < Wh; r++) {
      int f = q * Wh + r, cq = (dd->H - q) % dd->H, cr = (dd->W - r) % dd->W, fc = cr < Wh ? cq * Wh + cr : -1;
      if (fc == f) {
        dd->fkind[f] = 0;
        dd->fci[f] = k;
        dd->lamc[k++] = dd->lam[f];
      } else if (fc >= 0 && fc < f) {
        dd->fkind[f] = 2;
        dd->fci[f] = fc;
      } else {
        dd->fkind[f] = 1;
        dd->fci[f] = k;
        dd->lamc[k++] = dd->lam[f];
        dd->lamc[k++] = dd->lam[f];
      }
    }
  dd->csig[0] = 1.0; /* csig = Σ δ_0 */
  dn_mult(dd, dd->lam, dd->csig, dd->csig);

  dd->mu_coord = dd->fci[0];
  GDS_CALL(dn_setup_aat(law));
  if (dd->aat) { /* A Aᵀ diagonal: A = S V_rᵀ with v_k = Aᵀ e_k / s_k (U = I) */
    double smax = 0;
    GDS_CALL(GDS_ALLOC(dd->sv, dd->m));
    for (int k = 0; k < dd->m; k++) smax = fmax(smax, dd->sv[k] = sqrt(fmax(0.0, dd->aat[k])));
    for (int k = 0; k < dd->m; k++)
      if (dd->sv[k] < GDS_DDRM_SV_RTOL * smax) dd->sv[k] = 0.0;
  }
  GDS_CALL(dn_setup_posterior(law));
  return GDS_SUCCESS;
}

/* ---------------------------------------------------------------------------------------- */
/* Spectral route (none, cgdm)                                                                */
/* ---------------------------------------------------------------------------------------- */

/* Real orthonormal Fourier basis of the periodic H×W grid, an eigenbasis of every
 * circulant matrix: per pair {ξ, −ξ} the modes √(2/d) cos(2π ξ·p), √(2/d) sin(2π ξ·p);
 * self-conjugate ξ gives the single mode cos(2π ξ·p)/√d. D = λ(ξ) of the prior. */
static int dn_prior_basis(gds_law *law, dn_ref *ref) {
  dn_data *dd = law->data;
  int H = dd->H, W = dd->W, d = dd->d, ierr = GDS_SUCCESS;
  int *mq = NULL, *mr = NULL, *kind = NULL;
  GDS_CALL(GDS_ALLOC(ref->Down, d));
  GDS_CALL_GOTO(ierr, out, GDS_ALLOC(mq, d));
  GDS_CALL_GOTO(ierr, out, GDS_ALLOC(mr, d));
  GDS_CALL_GOTO(ierr, out, GDS_ALLOC(kind, d));
  int n = 0;
  for (int q = 0; q < H; q++)
    for (int r = 0; r < W; r++) {
      int cq = (H - q) % H, cr = (W - r) % W, self = cq == q && cr == r;
      if (!self && cq * W + cr < q * W + r) continue; /* the pair was listed at its conjugate */
      for (int k = self ? 0 : 1; k <= (self ? 0 : 2); k++) {
        mq[n] = q;
        mr[n] = r;
        kind[n] = k;
        ref->Down[n++] = law->prior->spectrum[q * W + r];
      }
    }
  GDS_CALL_GOTO(ierr, out, dn_mat_init(dd, &ref->own, d, d));
  double c1 = 1.0 / sqrt((double)d), c2 = sqrt(2.0 / d);
  for (int lc = 0; lc < ref->own.lc; lc++) {
    int j = dn_l2g(lc, dd->nb, dd->myc, dd->pc);
    for (int lr = 0; lr < ref->own.lr; lr++) {
      int i = dn_l2g(lr, dd->nb, dd->myr, dd->pr), pa = i / W, pb = i % W;
      /* phase reduced exactly in integers before scaling by 2π */
      double th = 2 * M_PI * ((double)((mq[j] * pa) % H) / H + (double)((mr[j] * pb) % W) / W);
      ref->own.a[lr + dn_lld(&ref->own) * lc] =
          kind[j] == 0 ? c1 * cos(th) : kind[j] == 1 ? c2 * cos(th) : c2 * sin(th);
    }
  }
  ref->Q = &ref->own;
  ref->D = ref->Down;
out:
  free(mq);
  free(mr);
  free(kind);
  return ierr;
}

/* The recursion runs in the real orthonormal Fourier coordinates c = Q_Fᵀ x: Σ_t⁻¹ and J_t
 * are diagonal there, so P_t costs 2 FFTs per vector (to pixels for A, back for Aᵀ) instead
 * of 4; K̃ = Q_Fᵀ K Q_F, and K = Q_F K̃ Q_Fᵀ is formed only where W2 or K itself is wanted. */

/* In each row q of the half spectrum, the entries 0 < r < W/2 are cos/sin pairs whose two
 * coordinates follow each other in the order of the entries (dn_setup numbers them so): that
 * run is a contiguous scaled copy of the interleaved complex array. Only the columns r = 0
 * and r = W/2 need the per-entry kinds. */
static inline void dn_run_bounds(const dn_data *dd, int *r1, int *r2) {
  int Wh = dd->W / 2 + 1;
  *r1 = 1;
  *r2 = dd->W % 2 ? Wh : Wh - 1; /* interior r in [r1, r2) */
}

/* Half spectrum of x → c (r2c output in sp). */
static void dn_pack(const dn_data *dd, const fftw_complex *restrict sp, double *restrict c) {
  const double s1 = 1.0 / sqrt((double)dd->d), s2 = sqrt(2.0 / dd->d);
  const double *restrict spd = (const double *)sp;
  int Wh = dd->W / 2 + 1, r1, r2;
  dn_run_bounds(dd, &r1, &r2);
  for (int q = 0; q < dd->H; q++) {
    int f0 = q * Wh;
    if (r2 > r1) {
      const double *restrict src = spd + 2 * (size_t)(f0 + r1);
      double *restrict dst = c + dd->fci[f0 + r1];
      for (int i = 0; i < 2 * (r2 - r1); i++) dst[i] = src[i] * s2;
    }
    for (int r = 0; r < Wh; r += (r == 0 && r2 > 1) ? r2 : 1) {
      if (r >= r1 && r < r2) continue;
      int f = f0 + r, k = dd->fci[f];
      if (dd->fkind[f] == 1) {
        c[k] = sp[f][0] * s2;
        c[k + 1] = sp[f][1] * s2;
      } else if (dd->fkind[f] == 0) {
        c[k] = sp[f][0] * s1;
      }
    }
  }
}

/* g ⊙ c (g per coordinate, NULL = 1) → half spectrum sp with c2r(sp) = Q_F (g ⊙ c) (the 1/d
 * of the inverse DFT included; stored conjugates filled, as c2r reads them). */
static void dn_unpack(const dn_data *dd, const double *restrict g, const double *restrict c, fftw_complex *restrict sp) {
  const double u1 = 1.0 / sqrt((double)dd->d), u2 = 1.0 / sqrt(2.0 * dd->d);
  double *restrict spd = (double *)sp;
  int Wh = dd->W / 2 + 1, r1, r2;
  dn_run_bounds(dd, &r1, &r2);
  for (int q = 0; q < dd->H; q++) {
    int f0 = q * Wh;
    if (r2 > r1) {
      int k0 = dd->fci[f0 + r1], n = 2 * (r2 - r1);
      double *restrict dst = spd + 2 * (size_t)(f0 + r1);
      const double *restrict src = c + k0;
      if (g) {
        const double *restrict gg = g + k0;
        for (int i = 0; i < n; i++) dst[i] = src[i] * gg[i] * u2;
      } else {
        for (int i = 0; i < n; i++) dst[i] = src[i] * u2;
      }
    }
  }
  /* edge columns after the runs: a conjugate may refer to any row */
  for (int q = 0; q < dd->H; q++)
    for (int r = 0; r < Wh; r += (r == 0 && r2 > 1) ? r2 : 1) {
      if (r >= r1 && r < r2) continue;
      int f = q * Wh + r, k = dd->fci[f];
      if (dd->fkind[f] == 1) {
        sp[f][0] = c[k] * u2 * (g ? g[k] : 1.0);
        sp[f][1] = c[k + 1] * u2 * (g ? g[k] : 1.0);
      } else if (dd->fkind[f] == 0) {
        sp[f][0] = c[k] * u1 * (g ? g[k] : 1.0);
        sp[f][1] = 0.0;
      }
    }
  for (int q = 0; q < dd->H; q++)
    for (int r = 0; r < Wh; r += (r == 0 && r2 > 1) ? r2 : 1) {
      int f = q * Wh + r;
      if (r >= r1 && r < r2) continue;
      if (dd->fkind[f] == 2) { /* conjugate of an entry filled above */
        sp[f][0] = sp[dd->fci[f]][0];
        sp[f][1] = -sp[dd->fci[f]][1];
      }
    }
}

/* c = Q_Fᵀ x; x may be dd->rbuf. */
static void dn_to_coef(dn_data *dd, const double *x, double *c) {
  if (x != dd->rbuf) memcpy(dd->rbuf, x, sizeof(double) * (size_t)dd->d);
  fftw_execute_dft_r2c(dd->fwd, dd->rbuf, dd->cbuf);
  dn_pack(dd, dd->cbuf, c);
}

/* x = Q_F (g ⊙ c); x may be dd->rbuf. */
static void dn_from_coef(dn_data *dd, const double *g, const double *c, double *x) {
  dn_unpack(dd, g, c, dd->cbuf);
  fftw_execute_dft_c2r(dd->bwd, dd->cbuf, dd->rbuf);
  if (x != dd->rbuf) memcpy(x, dd->rbuf, sizeof(double) * (size_t)dd->d);
}

/* Work space of the operator route. */
typedef struct dn_work {
  dn_stage st[GDS_STAGE_MAX];
  double *yb;  /* m × DN_BLK measurement-space batch */
  double *tmp; /* ld × DN_BLK output batch */
  double *xs;  /* ld × DN_BLK stage inputs shifted by the prior mean; DDRM's x̂0 */
  double *es;  /* ld × DN_BLK DDRM's ε̂ */
  double *pw;  /* (GDS_STAGE_MAX + 1) · ld · DN_BLK program work */
  double *zc;  /* d */
  double *zm;  /* 2m measurement-space work */
} dn_work;

static void dn_work_free(dn_work *w) {
  for (int j = 0; j < GDS_STAGE_MAX; j++) {
    free(w->st[j].ist);
    free(w->st[j].jm);
    free(w->st[j].cinv);
    free(w->st[j].cfac);
  }
  free(w->yb);
  free(w->tmp);
  free(w->xs);
  free(w->es);
  free(w->pw);
  free(w->zc);
  free(w->zm);
  memset(w, 0, sizeof *w);
}

static int dn_work_alloc(dn_data *dd, dn_work *w) {
  size_t lb = (size_t)dd->ld * DN_BLK;
  for (int j = 0; j < GDS_STAGE_MAX; j++) {
    GDS_CALL(GDS_ALLOC(w->st[j].ist, dd->d));
    GDS_CALL(GDS_ALLOC(w->st[j].jm, dd->d));
    GDS_CALL(GDS_ALLOC(w->st[j].cinv, dd->m));
  }
  GDS_CALL(GDS_ALLOC(w->yb, (size_t)dd->m * DN_BLK));
  GDS_CALL(GDS_ALLOC(w->zm, 2 * (size_t)dd->m));
  /* zero-filled: the padding rows d..ld of a batch are carried along by the interpreter */
  GDS_CALL(GDS_ALLOC(w->tmp, lb));
  GDS_CALL(GDS_ALLOC(w->xs, lb));
  GDS_CALL(GDS_ALLOC(w->es, lb));
  GDS_CALL(GDS_ALLOC(w->pw, (GDS_STAGE_MAX + 1) * lb));
  GDS_CALL(GDS_ALLOC(w->zc, dd->d));
  return GDS_SUCCESS;
}

/* Coefficients of a score stage at ᾱ (SPEC §1; docs/maths.md §5.3): Σ_ᾱ⁻¹ = 1/(ᾱλ + 1 − ᾱ),
 * J_ᾱ = √ᾱ λ Σ_ᾱ⁻¹ per Fourier coordinate; C = c0 I + c1 A Aᵀ inverted exactly (diagonal, or
 * Cholesky when A Aᵀ is not diagonal and c1 ≠ 0). c2 ≠ 0 only reaches this route through
 * algorithms with the exact score, which take the spectral route (dn_supports). */
static int dn_stage_coef(gds_law *law, dn_work *w, int j, double ab, gds_guidance g) {
  dn_data *dd = law->data;
  double sab = sqrt(ab);
  const int m = dd->m;
  dn_stage *st = &w->st[j];
  for (int k = 0; k < dd->d; k++) {
    st->ist[k] = 1.0 / (ab * dd->lamc[k] + 1.0 - ab);
    st->jm[k] = sab * dd->lamc[k] * st->ist[k];
  }
  st->dense = 0;
  if (g.on == 0 || g.c1 == 0 || dd->aat) {
    for (int k = 0; k < m; k++) st->cinv[k] = g.on / (g.c0 + (g.c1 != 0 ? g.c1 * dd->aat[k] : 0.0));
    return GDS_SUCCESS;
  }
  st->dense = 1;
  if (!st->cfac) GDS_CALL(GDS_ALLOC(st->cfac, (size_t)m * m));
  for (size_t i = 0; i < (size_t)m * m; i++) st->cfac[i] = g.c1 * dd->aat_full[i];
  for (int k = 0; k < m; k++) st->cfac[(size_t)k * m + k] += g.c0;
  int info = LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'L', m, st->cfac, m);
  if (info) GDS_ERROR(GDS_ERR_RUNTIME, "Cholesky of C failed at alpha_bar = %.17g (info %d)", ab, info);
  return GDS_SUCCESS;
}

/* A x for x in pixels (restriction: a gather), Aᵀ y (a scatter). */
static int dn_A(gds_law *law, const double *x, double *y) {
  dn_data *dd = law->data;
  if (dd->ridx) {
    for (int k = 0; k < dd->m; k++) y[k] = x[dd->ridx[k]];
    return GDS_SUCCESS;
  }
  GDS_CALL(gds_operator_apply(law->op, x, y));
  return GDS_SUCCESS;
}

static int dn_At(gds_law *law, const double *y, double *x) {
  dn_data *dd = law->data;
  if (dd->ridx) {
    memset(x, 0, sizeof(double) * (size_t)dd->d);
    for (int k = 0; k < dd->m; k++) x[dd->ridx[k]] = y[k];
    return GDS_SUCCESS;
  }
  GDS_CALL(gds_operator_apply_adjoint(law->op, y, x));
  return GDS_SUCCESS;
}

/* The guided score of stage j on a batch of n columns (leading dimension ld) in Fourier
 * coordinates: k = −(Σ_ᾱ⁻¹ x' + J Q_Fᵀ Aᵀ C⁻¹ (A Q_F J x' − R)), x' = x − √ᾱ μ̃ (μ̃: the prior
 * mean, at the constant coordinate). Covariance columns: R = NULL, no μ̃ (the linear part);
 * means: R = the residuals v − Aμ. 2 real FFTs per column; C⁻¹ on the whole batch. */
typedef struct dn_score_ctx {
  gds_law *law;
  dn_work *w;
  const gds_step *st;
  int n, ld;
  const double *R; /* m × n, or NULL */
  double mu;       /* μ̃ value at the constant coordinate (0: none) */
} dn_score_ctx;

static int dn_score(void *ctx, int j, const double *X, double *Kout) {
  dn_score_ctx *sc = ctx;
  gds_law *law = sc->law;
  dn_data *dd = law->data;
  dn_work *w = sc->w;
  const dn_stage *st = &w->st[j];
  const int d = dd->d, m = dd->m, n = sc->n, ld = sc->ld;
  const double shift = sc->mu != 0 ? sqrt(sc->st->stage[j].abar) * sc->mu : 0.0;
  double *restrict rb = dd->rbuf;
  for (int c = 0; c < n; c++) {
    const double *x = X + (size_t)ld * c;
    if (shift != 0) { /* x' = x − √ᾱ μ̃ */
      double *xs = w->xs + (size_t)ld * c;
      memcpy(xs, x, sizeof(double) * d);
      xs[dd->mu_coord] -= shift;
      x = xs;
    }
    dn_from_coef(dd, st->jm, x, rb); /* J x' in pixels */
    double *restrict yb = w->yb + (size_t)m * c;
    GDS_CALL(dn_A(law, rb, yb));
    if (sc->R)
      for (int k = 0; k < m; k++) yb[k] -= sc->R[(size_t)m * c + k];
  }
  if (st->dense) {
    int info = LAPACKE_dpotrs(LAPACK_COL_MAJOR, 'L', m, n, st->cfac, m, w->yb, m);
    if (info) GDS_ERROR(GDS_ERR_RUNTIME, "dpotrs failed (info %d)", info);
  } else {
    for (int c = 0; c < n; c++)
      for (int k = 0; k < m; k++) w->yb[(size_t)m * c + k] *= st->cinv[k];
  }
  for (int c = 0; c < n; c++) {
    GDS_CALL(dn_At(law, w->yb + (size_t)m * c, rb));
    double *restrict zc = w->zc;
    dn_to_coef(dd, rb, zc);
    const double *x = shift != 0 ? w->xs + (size_t)ld * c : X + (size_t)ld * c;
    double *k = Kout + (size_t)ld * c;
    for (int i = 0; i < d; i++) k[i] = -(st->ist[i] * x[i] + st->jm[i] * zc[i]);
  }
  return GDS_SUCCESS;
}

/* DDRM (SPEC §7.2; docs/maths.md §5.3) with v_k = Aᵀe_k/s_k, ȳ_k = v_k/s_k (A Aᵀ diagonal):
 * per column, X = J_t x + (1 − √ᾱ_t J_t) μ̃, E = (x − √ᾱ_t X)/√(1 − ᾱ_t) and
 *   out = √ᾱ_s [X + ce_K E + Q_Fᵀ Aᵀ z],  z_k = ((cx_k − 1)(A X)_k + (ce_k − ce_K)(A E)_k + cy_k v_k)/s_k²
 * (the kernel's coefficients cx_K = 1, ce_K, cy_K = 0 apply to every coordinate, the row
 * space corrects them). Covariance columns: V = NULL, no μ̃. 3 FFTs per column. */
typedef struct dn_ddrm_ctx {
  const gds_step *st;
  gds_ddrm_coef ck;
  const double *gx, *ge, *gy; /* m: (cx_k − 1)/s_k², (ce_k − ce_K)/s_k², cy_k/s_k² (0 where s_k = 0) */
  const double *V;            /* m × n measurements, or NULL */
  double mu;
} dn_ddrm_ctx;

static int dn_ddrm_apply(gds_law *law, dn_work *w, const dn_ddrm_ctx *dc, int n, const double *X, int ldx, double *Y,
                         int ldy) {
  dn_data *dd = law->data;
  const int d = dd->d, m = dd->m;
  const double at = dc->st->abar_t, sat = sqrt(at), isq = 1.0 / sqrt(1 - at), sas = sqrt(dc->st->abar_s);
  const double *jm = w->st[0].jm; /* J at ᾱ_t (dn_stage_coef slot 0) */
  double *rb = dd->rbuf, *ax = w->zm, *ae = w->zm + m;
  for (int c = 0; c < n; c++) {
    const double *x = X + (size_t)ldx * c;
    double *Xc = w->xs, *Ec = w->es;
    for (int i = 0; i < d; i++) {
      Xc[i] = jm[i] * x[i];
      if (i == dd->mu_coord && dc->mu != 0) Xc[i] += (1 - sat * jm[i]) * dc->mu;
      Ec[i] = (x[i] - sat * Xc[i]) * isq;
    }
    dn_from_coef(dd, NULL, Xc, rb);
    GDS_CALL(dn_A(law, rb, ax));
    dn_from_coef(dd, NULL, Ec, rb);
    GDS_CALL(dn_A(law, rb, ae));
    for (int k = 0; k < m; k++) ax[k] = dc->gx[k] * ax[k] + dc->ge[k] * ae[k] + (dc->V ? dc->gy[k] * dc->V[(size_t)m * c + k] : 0.0);
    GDS_CALL(dn_At(law, ax, rb));
    dn_to_coef(dd, rb, w->zc);
    double *y = Y + (size_t)ldy * c;
    for (int i = 0; i < d; i++) y[i] = sas * (Xc[i] + dc->ck.ce * Ec[i] + w->zc[i]);
  }
  return GDS_SUCCESS;
}

/* The linear map M of a step applied to a batch of n columns (X → Y; Y may alias X). */
typedef int (*dn_apply_fn)(gds_law *law, dn_work *w, void *ctx, int n, const double *X, int ldx, double *Y, int ldy);

static int dn_apply_program(gds_law *law, dn_work *w, void *ctx, int n, const double *X, int ldx, double *Y, int ldy) {
  dn_data *dd = law->data;
  const gds_step *st = ctx;
  (void)ldy;
  dn_score_ctx sc = {law, w, st, n, ldx, NULL, 0.0};
  if (ldx != dd->ld || ldy != dd->ld) GDS_ERROR(GDS_ERR_RUNTIME, "dn_apply_program: unexpected layout");
  GDS_CALL(gds_step_apply(st, (size_t)ldx * n, X, Y, w->pw, dn_score, &sc));
  return GDS_SUCCESS;
}

static int dn_apply_ddrm(gds_law *law, dn_work *w, void *ctx, int n, const double *X, int ldx, double *Y, int ldy) {
  GDS_CALL(dn_ddrm_apply(law, w, ctx, n, X, ldx, Y, ldy));
  return GDS_SUCCESS;
}

/* Q_F (coefficients → pixels) and Q_Fᵀ (pixels → coefficients) on columns. */
static int dn_apply_to_pixels(gds_law *law, dn_work *w, void *ctx, int n, const double *X, int ldx, double *Y,
                              int ldy) {
  (void)w, (void)ctx;
  for (int c = 0; c < n; c++) dn_from_coef(law->data, NULL, X + (size_t)ldx * c, Y + (size_t)ldy * c);
  return GDS_SUCCESS;
}

static int dn_apply_to_coef(gds_law *law, dn_work *w, void *ctx, int n, const double *X, int ldx, double *Y,
                            int ldy) {
  (void)w, (void)ctx;
  for (int c = 0; c < n; c++) dn_to_coef(law->data, X + (size_t)ldx * c, Y + (size_t)ldy * c);
  return GDS_SUCCESS;
}

/* out = M K Mᵀ on the column blocks (K, out: d × nc[rank], leading dimension ld; K symmetric;
 * out may be K). M K is written straight into per-destination blocks of xbuf (block for
 * rank q: the rows of q's columns); one in-place all-to-all turns xbuf into the n × d row
 * block of M K, whose transpose is K Mᵀ's local columns; M is applied to those. */
static int dn_sandwich(gds_law *law, dn_work *w, dn_apply_fn M, void *ctx, const double *K, double *xbuf, double *out) {
  dn_data *dd = law->data;
  int d = dd->d, me = dd->rank, n = dd->nc[me], np = dd->np, ld = dd->ld;
  for (int c = 0; c < n; c += DN_BLK) {
    int nb = n - c < DN_BLK ? n - c : DN_BLK;
    GDS_CALL(M(law, w, ctx, nb, K + (size_t)ld * c, ld, w->tmp, ld));
    for (int cc = 0; cc < nb; cc++)
      for (int q = 0; q < np; q++)
        memcpy(xbuf + (size_t)dd->c0[q] * n + (size_t)dd->nc[q] * (c + cc), w->tmp + (size_t)ld * cc + dd->c0[q],
               sizeof(double) * dd->nc[q]);
  }
  if (np > 1) {
    int *cnt, *dsp, ierr = GDS_SUCCESS;
    GDS_CALL(GDS_ALLOC(cnt, 2 * np));
    dsp = cnt + np;
    for (int q = 0; q < np; q++) {
      cnt[q] = dd->nc[q] * n; /* symmetric: what me sends to q = what q sends to me */
      dsp[q] = dd->c0[q] * n;
    }
    DN_MPI(ierr, a2a, MPI_Alltoallv(MPI_IN_PLACE, cnt, dsp, MPI_DOUBLE, xbuf, cnt, dsp, MPI_DOUBLE, dd->comm));
  a2a:
    free(cnt);
    GDS_CALL(ierr);
  }
  /* out[:, j] = row c0[me] + j of M K: transpose the n × d block (leading dimension n) */
  enum { TB = 32 };
  for (int i0 = 0; i0 < d; i0 += TB)
    for (int j0 = 0; j0 < n; j0 += TB)
      for (int i = i0; i < i0 + TB && i < d; i++)
        for (int j = j0; j < j0 + TB && j < n; j++) out[(size_t)ld * j + i] = xbuf[(size_t)n * i + j];
  for (int c = 0; c < n; c += DN_BLK) {
    int nb = n - c < DN_BLK ? n - c : DN_BLK;
    GDS_CALL(M(law, w, ctx, nb, out + (size_t)ld * c, ld, out + (size_t)ld * c, ld));
  }
  return GDS_SUCCESS;
}

/* K̃ += c0 I + Q_Fᵀ Aᵀ diag(wt) A Q_F on the local columns (DDRM's start and noise). */
static int dn_add_atwa(gds_law *law, dn_work *w, double c0, const double *wt, double *K) {
  dn_data *dd = law->data;
  const int d = dd->d, m = dd->m, n = dd->nc[dd->rank], ld = dd->ld;
  double *e = w->xs, *rb = dd->rbuf, *y = w->zm;
  memset(e, 0, sizeof(double) * d);
  for (int j = 0; j < n; j++) {
    int g = dd->c0[dd->rank] + j;
    double *col = K + (size_t)ld * j;
    col[g] += c0;
    e[g] = 1.0;
    dn_from_coef(dd, NULL, e, rb);
    e[g] = 0.0;
    GDS_CALL(dn_A(law, rb, y));
    for (int k = 0; k < m; k++) y[k] *= wt[k];
    GDS_CALL(dn_At(law, y, rb));
    dn_to_coef(dd, rb, w->zc);
    for (int i = 0; i < d; i++) col[i] += w->zc[i];
  }
  return GDS_SUCCESS;
}

/* Covariance part of W2 against the reference at ᾱ (SPEC §2), in the eigenbasis Q of K* = Q S² Qᵀ,
 * S² = ᾱ D + 1 − ᾱ: K̃ = Qᵀ K Q, M = S K̃ S (= K*^{1/2} K K*^{1/2} in that basis) and
 * F = M^{1/2} − S². Expanding tr K̃ = tr S⁻¹ (S² + F)² S⁻¹ turns the trace formula into
 *   tr K + tr K* − 2 tr M^{1/2} = ‖S⁻¹ F‖²_F,
 * a sum of squares: no cancellation between the O(d) traces when W2 is small (same idea as
 * gds_w2_cov_commuting). Where s_i = 0 (t = 0, null space of Σ_post) row and column i of M
 * vanish and contribute K̃_ii instead. Steps: K (column blocks) → 2-D block-cyclic
 * (pdgemr2d); 2 pdgemm; M = U Λ Uᵀ (pdsyevd, negatives clipped); M^{1/2} = V Vᵀ with
 * V = U Λ^{1/4} (pdsyrk, lower triangle). */
static int dn_w2_cov_dense(gds_law *law, const dn_ref *ref, const double *K, dn_mat *K2, dn_mat *T1, double *evals,
                           double ab, double *out) {
  dn_data *dd = law->data;
  int d = dd->d, info = 0, ierr = GDS_SUCCESS, desc1[GDS_DLEN], ld1 = dd->ld, lwork = -1, liwork = -1, iwq;
  double one = 1.0, zero = 0.0, wq, *work = NULL, *s = NULL;
  int *iwork = NULL;
  descinit_(desc1, &d, &d, &d, &dd->nb1, &dn_zero, &dn_zero, &dd->ctx1, &ld1, &info);
  if (info) GDS_ERROR(GDS_ERR_RUNTIME, "descinit failed (info %d)", info);
  GDS_CALL(GDS_ALLOC(s, d));
  for (int i = 0; i < d; i++) s[i] = sqrt(ab * ref->D[i] + 1 - ab);
  size_t l2 = dn_lld(K2);
  pdgemr2d_(&d, &d, K, &dn_one, &dn_one, desc1, K2->a, &dn_one, &dn_one, K2->desc, &dd->ctx1);
  pdgemm_("N", "N", &d, &d, &d, &one, K2->a, &dn_one, &dn_one, K2->desc, ref->Q->a, &dn_one, &dn_one, ref->Q->desc,
          &zero, T1->a, &dn_one, &dn_one, T1->desc, 1, 1);
  pdgemm_("T", "N", &d, &d, &d, &one, ref->Q->a, &dn_one, &dn_one, ref->Q->desc, T1->a, &dn_one, &dn_one, T1->desc,
          &zero, K2->a, &dn_one, &dn_one, K2->desc, 1, 1);
  double acc = 0; /* this rank's share of w2_cov² */
  for (int lc = 0; lc < K2->lc; lc++) {
    int j = dn_l2g(lc, dd->nb, dd->myc, dd->pc);
    for (int lr = 0; lr < K2->lr; lr++) {
      int i = dn_l2g(lr, dd->nb, dd->myr, dd->pr);
      if (i == j && s[i] == 0.0) acc += K2->a[lr + l2 * lc];
      K2->a[lr + l2 * lc] *= s[i] * s[j];
    }
  }
  pdsyevd_("V", "L", &d, K2->a, &dn_one, &dn_one, K2->desc, evals, T1->a, &dn_one, &dn_one, T1->desc, &wq, &lwork,
           &iwq, &liwork, &info, 1, 1);
  lwork = (int)wq + 1;
  liwork = iwq > 1 ? iwq : 1;
  GDS_CALL_GOTO(ierr, out, gds_malloc_aligned(sizeof(double) * (size_t)lwork, &work));
  GDS_CALL_GOTO(ierr, out, GDS_ALLOC(iwork, liwork));
  pdsyevd_("V", "L", &d, K2->a, &dn_one, &dn_one, K2->desc, evals, T1->a, &dn_one, &dn_one, T1->desc, work, &lwork,
           iwork, &liwork, &info, 1, 1);
  free(work);
  work = NULL;
  if (info) {
    ierr = gds_error_raise(GDS_ERR_RUNTIME, __FILE__, __LINE__, __func__, "pdsyevd failed at alpha_bar = %.17g (info %d)", ab, info);
    goto out;
  }
  size_t l1 = dn_lld(T1);
  for (int lc = 0; lc < T1->lc; lc++) {
    double e = evals[dn_l2g(lc, dd->nb, dd->myc, dd->pc)], q = e > 0 ? sqrt(sqrt(e)) : 0.0;
    for (int lr = 0; lr < T1->lr; lr++) T1->a[lr + l1 * lc] *= q;
  }
  pdsyrk_("L", "N", &d, &d, &one, T1->a, &dn_one, &dn_one, T1->desc, &zero, K2->a, &dn_one, &dn_one, K2->desc, 1, 1);
  for (int lc = 0; lc < K2->lc; lc++) {
    int j = dn_l2g(lc, dd->nb, dd->myc, dd->pc);
    if (s[j] == 0.0) continue;
    for (int lr = 0; lr < K2->lr; lr++) {
      int i = dn_l2g(lr, dd->nb, dd->myr, dd->pr);
      if (i < j || s[i] == 0.0) continue;
      double f = K2->a[lr + l2 * lc] - (i == j ? s[i] * s[i] : 0.0);
      acc += i == j ? f * f / (s[i] * s[i]) : f * f * (1.0 / (s[i] * s[i]) + 1.0 / (s[j] * s[j]));
    }
  }
  DN_MPI(ierr, out, MPI_Allreduce(MPI_IN_PLACE, &acc, 1, MPI_DOUBLE, MPI_SUM, dd->comm));
  *out = sqrt(acc > 0 ? acc : 0.0);
out:
  free(work);
  free(iwork);
  free(s);
  return ierr;
}

/* ---------------------------------------------------------------------------------------- */
/* Evaluation                                                                                 */
/* ---------------------------------------------------------------------------------------- */

typedef struct dn_eval {
  int spectral; /* exact-score algorithm: the eigenbasis route */
  dn_ref ref;   /* eigenbasis of Σ_ref */
  double *r;    /* ns × m residuals v − Aμ */
  double *V;    /* ns × m measurements */
  double *mu;   /* ns × d μ_ref in pixels */
  /* spectral route */
  double *k;   /* d: eigenvalues of K */
  double *yt;  /* ns × d: Qᵀ (m − √ᾱ μ_ref) at the current point (ᾱ = abar_cur): relative to
                  the reference path, so that no large constant enters the differences */
  double *mut; /* ns × d: Qᵀ μ_ref */
  double *kstar, abar_cur;
  /* operator route (Fourier coordinates) */
  dn_work w;
  double *K, *xbuf, *kp, *evals; /* K̃ column blocks; exchange buffer; pixel-space K; W2 work */
  dn_mat T1;                     /* descriptor of a d×d 2-D matrix; storage kp */
  double *yc, *dc;               /* ns × d: m, μ_ref */
  double *ddm;                   /* 3m: DDRM gx, ge, gy of the current step */
} dn_eval;

static void dn_end(gds_law *law, gds_law_eval *ev) {
  (void)law;
  dn_eval *de = ev->st;
  if (!de) return;
  dn_mat_free(&de->ref.own);
  free(de->ref.Down);
  free(de->r);
  free(de->V);
  free(de->mu);
  free(de->k);
  free(de->yt);
  free(de->mut);
  free(de->kstar);
  dn_work_free(&de->w);
  free(de->K);
  free(de->xbuf);
  free(de->kp);
  free(de->evals);
  free(de->yc);
  free(de->dc);
  free(de->ddm);
  free(de);
  ev->st = NULL;
}

/* DDRM coefficients per measurement for a step to VE level vs (docs/maths.md §5.3). */
static void dn_ddrm_coefs(gds_law *law, const gds_algorithm_spec *alg, double vs, gds_ddrm_coef *ck, double *gx,
                          double *ge, double *gy) {
  dn_data *dd = law->data;
  *ck = gds_ddrm_component(alg, 0.0, vs, law->sigma);
  for (int k = 0; k < dd->m; k++) {
    double s = dd->sv[k];
    if (!(s > 0)) {
      gx[k] = ge[k] = gy[k] = 0.0;
      continue;
    }
    gds_ddrm_coef c = gds_ddrm_component(alg, s, vs, law->sigma);
    gx[k] = (c.cx - 1) / (s * s);
    ge[k] = (c.ce - ck->ce) / (s * s);
    gy[k] = c.cy / (s * s);
  }
}

/* Start of the operator route (SPEC §7.4, §7.2): K̃ = I; the reference law at ᾱ,
 * Q_Fᵀ(ᾱ Σ_ref + (1 − ᾱ) I) Q_F (built in pixels in the 2-D layout from Σ_ref = Q D Qᵀ,
 * redistributed to column blocks and transformed on both sides); or DDRM's start
 * K̃ = I + Q_Fᵀ Aᵀ diag((nu_k − 1)/s_k²) A Q_F, m = Q_Fᵀ Aᵀ diag(cy_k/s_k²) v. */
static int dn_start_operator(gds_law *law, gds_law_eval *ev, dn_eval *de) {
  dn_data *dd = law->data;
  const gds_plan *pl = ev->plan;
  const int d = dd->d, n = dd->nc[dd->rank], ld = dd->ld, ns = ev->ns, m = dd->m;
  int ierr = GDS_SUCCESS, info = 0;
  double ab = pl->abar[0], sab = sqrt(ab);
  memset(de->K, 0, sizeof(double) * (size_t)ld * (n > 0 ? n : 1));
  for (int s = 0; s < ns; s++) memset(de->yc + (size_t)d * s, 0, sizeof(double) * d);
  if (pl->start == GDS_START_EXACT) {
    dn_mat M = {0}, QK = {0};
    int desc1[GDS_DLEN], ld1 = ld;
    double one = 1.0, zero = 0.0;
    GDS_CALL_GOTO(ierr, ex, dn_mat_init(dd, &M, d, d));
    GDS_CALL_GOTO(ierr, ex, dn_mat_init(dd, &QK, d, d));
    const dn_mat *Q = de->ref.Q;
    for (int lc = 0; lc < Q->lc; lc++) {
      double kj = ab * de->ref.D[dn_l2g(lc, dd->nb, dd->myc, dd->pc)] + 1 - ab;
      for (int lr = 0; lr < Q->lr; lr++) QK.a[lr + dn_lld(&QK) * lc] = Q->a[lr + dn_lld(Q) * lc] * kj;
    }
    pdgemm_("N", "T", &d, &d, &d, &one, QK.a, &dn_one, &dn_one, QK.desc, Q->a, &dn_one, &dn_one, Q->desc, &zero, M.a,
            &dn_one, &dn_one, M.desc, 1, 1);
    descinit_(desc1, &d, &d, &d, &dd->nb1, &dn_zero, &dn_zero, &dd->ctx1, &ld1, &info);
    if (info) {
      ierr = gds_error_raise(GDS_ERR_RUNTIME, __FILE__, __LINE__, __func__, "descinit failed (info %d)", info);
      goto ex;
    }
    pdgemr2d_(&d, &d, M.a, &dn_one, &dn_one, M.desc, de->K, &dn_one, &dn_one, desc1, &dd->ctx1);
    GDS_CALL_GOTO(ierr, ex, dn_sandwich(law, &de->w, dn_apply_to_coef, NULL, de->K, de->xbuf, de->K));
    for (int s = 0; s < ns; s++)
      for (int i = 0; i < d; i++) de->yc[(size_t)d * s + i] = sab * de->dc[(size_t)d * s + i];
  ex:
    dn_mat_free(&M);
    dn_mat_free(&QK);
    return ierr;
  }
  for (int j = 0; j < n; j++) de->K[(size_t)ld * j + dd->c0[dd->rank] + j] = 1.0;
  if (pl->start != GDS_START_DDRM) return GDS_SUCCESS;
  double *wt, *gy;
  GDS_CALL(GDS_ALLOC(wt, 2 * (size_t)m));
  gy = wt + m;
  for (int k = 0; k < m; k++) {
    double s = dd->sv[k];
    gds_ddrm_coef c = gds_ddrm_start_component(s, pl->start_vs, law->sigma);
    wt[k] = s > 0 ? (c.nu - 1) / (s * s) : 0.0;
    gy[k] = s > 0 ? c.cy / (s * s) : 0.0;
  }
  ierr = dn_add_atwa(law, &de->w, 0.0, wt, de->K);
  for (int s = 0; s < ns && !ierr; s++) {
    for (int k = 0; k < m; k++) de->w.zm[k] = gy[k] * de->V[(size_t)m * s + k];
    ierr = dn_At(law, de->w.zm, dd->rbuf);
    if (!ierr) dn_to_coef(dd, dd->rbuf, de->yc + (size_t)d * s);
  }
  free(wt);
  GDS_CALL(ierr);
  return GDS_SUCCESS;
}

static int dn_begin(gds_law *law, gds_law_eval *ev) {
  dn_data *dd = law->data;
  dn_eval *de;
  GDS_CALL(GDS_ALLOC(de, 1));
  ev->st = de;
  const int d = dd->d, m = dd->m, ns = ev->ns, nb = ns > 0 ? ns : 1, post = ev->alg->target_posterior;
  const gds_plan *pl = ev->plan;
  de->spectral = ev->alg->exact_score;
  if (ev->alg->family == GDS_FAMILY_DDRM && !dd->sv)
    GDS_ERROR(GDS_ERR_INPUT, "operator %s: ddrm needs the SVD of A, which the dense backend has only when A A^T is diagonal",
              law->op->name);
  GDS_CALL(GDS_ALLOC(de->r, (size_t)m * nb));
  GDS_CALL(GDS_ALLOC(de->V, (size_t)m * nb));
  GDS_CALL(GDS_ALLOC(de->mu, (size_t)d * nb));
  GDS_CALL(dn_residuals(law, ns, ev->v, de->r));
  for (int s = 0; s < ns; s++) memcpy(de->V + (size_t)m * s, ev->v[s], sizeof(double) * m);
  if (post) {
    GDS_CALL(dn_post_shift(dd, law->op, ns, de->r, de->mu));
    de->ref.Q = &dd->Qpost;
    de->ref.D = dd->Dpost;
  } else GDS_CALL(dn_prior_basis(law, &de->ref));
  for (size_t i = 0; i < (size_t)d * ns; i++) de->mu[i] += law->prior->mean;
  double ab = pl->abar[0], sab = sqrt(ab);
  if (de->spectral) {
    GDS_CALL(GDS_ALLOC(de->k, d));
    GDS_CALL(GDS_ALLOC(de->kstar, d));
    GDS_CALL(GDS_ALLOC(de->yt, (size_t)d * nb));
    GDS_CALL(GDS_ALLOC(de->mut, (size_t)d * nb));
    GDS_CALL(dn_qvec(dd, de->ref.Q, 1, ns, de->mu, de->mut));
    int exact = pl->start == GDS_START_EXACT;
    for (int i = 0; i < d; i++) de->k[i] = exact ? ab * de->ref.D[i] + 1 - ab : 1.0;
    for (size_t i = 0; i < (size_t)d * ns; i++) de->yt[i] = exact ? 0.0 : -sab * de->mut[i];
    de->abar_cur = ab;
    return GDS_SUCCESS;
  }
  GDS_CALL(dn_work_alloc(dd, &de->w));
  GDS_CALL(dn_mat_init(dd, &de->T1, d, d)); /* descriptor only; its storage is replaced */
  dn_mat_free(&de->T1);
  int n = dd->nc[dd->rank];
  size_t n1 = (size_t)dd->ld * (n > 0 ? n : 1), n2 = dn_lld(&de->T1) * (size_t)(de->T1.lc > 0 ? de->T1.lc : 1);
  size_t nx = (size_t)d * (n > 0 ? n : 1);
  GDS_CALL(gds_calloc(n1, sizeof(double), &de->K));
  GDS_CALL(gds_calloc(nx > n2 ? nx : n2, sizeof(double), &de->xbuf));
  GDS_CALL(gds_calloc(n1 > n2 ? n1 : n2, sizeof(double), &de->kp));
  de->T1.a = de->kp;
  GDS_CALL(GDS_ALLOC(de->evals, d));
  GDS_CALL(GDS_ALLOC(de->yc, (size_t)d * nb));
  GDS_CALL(GDS_ALLOC(de->dc, (size_t)d * nb));
  GDS_CALL(GDS_ALLOC(de->ddm, 3 * (size_t)m));
  for (int s = 0; s < ns; s++) dn_to_coef(dd, de->mu + (size_t)d * s, de->dc + (size_t)d * s);
  GDS_CALL(dn_start_operator(law, ev, de));
  return GDS_SUCCESS;
}

/* Whether the local columns of K̃ are finite, agreed over the group. */
static int dn_K_finite(dn_data *dd, const double *K, int *finite) {
  const int n = dd->nc[dd->rank];
  int bad = 0;
  for (int j = 0; j < n && !bad; j++) {
    double acc = 0;
    for (int i = 0; i < dd->d; i++) acc += K[(size_t)dd->ld * j + i] * 0.0;
    bad = acc != 0.0;
  }
  GDS_MPI_CALL(MPI_Allreduce(MPI_IN_PLACE, &bad, 1, MPI_INT, MPI_MAX, dd->comm));
  *finite = !bad;
  return GDS_SUCCESS;
}

/* W2 at ᾱ (SPEC §2): spectral route in closed form, K = Q diag(k) Qᵀ and K* = Q diag(ᾱD +
 * 1 − ᾱ) Qᵀ commute; operator route K = Q_F K̃ Q_Fᵀ into kp, then dn_w2_cov_dense. Mean part
 * ‖m − √ᾱ μ_ref‖ in whichever orthonormal coordinates the route holds. */
static int dn_record(gds_law *law, gds_law_eval *ev, gds_law_rec *rec) {
  dn_data *dd = law->data;
  dn_eval *de = ev->st;
  const int d = dd->d;
  double ab = rec->abar, sab = sqrt(ab);
  const double *m = de->spectral ? de->yt : de->yc, *q = de->spectral ? de->mut : de->dc;
  if (de->spectral) sab -= sqrt(de->abar_cur); /* yt is relative to √ᾱ_cur μ_ref */
  if (de->spectral) {
    for (int i = 0; i < d; i++) de->kstar[i] = ab * de->ref.D[i] + 1 - ab;
    rec->cov = gds_w2_cov_commuting(d, de->k, de->kstar, NULL);
  } else {
    int finite = 0;
    GDS_CALL(dn_K_finite(dd, de->K, &finite));
    if (!finite) rec->cov = INFINITY;
    else {
      dn_mat K2 = de->T1; /* same shape and descriptor, storage in xbuf */
      K2.a = de->xbuf;
      GDS_CALL(dn_sandwich(law, &de->w, dn_apply_to_pixels, NULL, de->K, de->xbuf, de->kp));
      GDS_CALL(dn_w2_cov_dense(law, &de->ref, de->kp, &K2, &de->T1, de->evals, ab, &rec->cov));
    }
  }
  for (int s = 0; s < ev->ns; s++) {
    double acc = 0;
    for (int i = 0; i < d; i++) {
      double e = m[(size_t)s * d + i] - sab * q[(size_t)s * d + i];
      acc += e * e;
    }
    rec->mean[s] = sqrt(acc);
  }
  return GDS_SUCCESS;
}

/* Spectral route step: per eigenvalue D_i, the program on scalars along the reference path
 * (gds_step_path_offsets): stage j's score is −h_j (x̃_j) with h_j = 1/(ᾱ_j D_i + 1 − ᾱ_j) and
 * x̃_j carrying δ_j μ̃_i, so ỹ ← p ỹ + (g + δ_out) μ̃, k ← p² k + noise. One stage at y:
 * p = scale (b_y − b₁ h), and δ = 0 for the discrete schemes. */
static void dn_step_spectral(dn_eval *de, const gds_step *st, int d, int ns) {
  const double *D = de->ref.D;
  double h[GDS_STAGE_MAX], c[GDS_STAGE_MAX], delta[GDS_STAGE_MAX], dout, p, g;
  gds_step_path_offsets(st, delta, &dout);
  int fast = st->nstage == 1 && st->stage[0].a_y == 1.0 && delta[0] == 0.0;
  for (int i = 0; i < d; i++) {
    if (fast) {
      double ab = st->stage[0].abar;
      p = (st->b_y - st->b[0] / (ab * D[i] + 1.0 - ab)) * st->scale;
      g = 0.0;
    } else {
      for (int j = 0; j < st->nstage; j++) {
        double ab = st->stage[j].abar;
        h[j] = 1.0 / (ab * D[i] + 1.0 - ab);
        c[j] = -h[j] * delta[j];
      }
      gds_step_scalar(st, h, c, &p, &g);
    }
    de->k[i] = p * p * de->k[i] + st->noise;
    g += dout;
    for (int s = 0; s < ns; s++) {
      double *y = de->yt + (size_t)s * d + i;
      *y = g != 0 ? p * *y + g * de->mut[(size_t)s * d + i] : p * *y;
    }
  }
  de->abar_cur = st->abar_to;
}

static int dn_step(gds_law *law, gds_law_eval *ev, int j, gds_law_rec *rec) {
  dn_data *dd = law->data;
  dn_eval *de = ev->st;
  const gds_step *st = &ev->plan->step[j];
  const int d = dd->d, m = dd->m, ns = ev->ns, n = dd->nc[dd->rank], ld = dd->ld;
  const double s2 = law->sigma * law->sigma, mu = law->prior->mean * sqrt((double)d); /* μ̃ at the constant coordinate */
  if (de->spectral) {
    dn_step_spectral(de, st, d, ns);
  } else if (st->kind == GDS_STEP_SCORE) {
    for (int k = 0; k < st->nstage; k++)
      GDS_CALL(dn_stage_coef(law, &de->w, k, st->stage[k].abar, ev->alg->guidance(st->stage[k].abar, s2, ev->cfg->alpha_dps)));
    GDS_CALL(dn_sandwich(law, &de->w, dn_apply_program, (void *)st, de->K, de->xbuf, de->K));
    for (int c = 0; c < n; c++) de->K[(size_t)ld * c + dd->c0[dd->rank] + c] += st->noise;
    for (int s = 0; s < ns; s += DN_BLK) {
      int nb = ns - s < DN_BLK ? ns - s : DN_BLK;
      dn_score_ctx sc = {law, &de->w, st, nb, d, de->r + (size_t)m * s, mu};
      GDS_CALL(gds_step_apply(st, (size_t)d * nb, de->yc + (size_t)d * s, de->yc + (size_t)d * s, de->w.pw, dn_score, &sc));
    }
  } else { /* DDRM */
    double vs = gds_ddrm_vs(st->abar_s), *gx = de->ddm, *ge = gx + m, *gy = ge + m;
    dn_ddrm_ctx dc = {.st = st, .gx = gx, .ge = ge, .gy = gy};
    GDS_CALL(dn_stage_coef(law, &de->w, 0, st->abar_t, (gds_guidance){.c0 = 1, .on = 0}));
    dn_ddrm_coefs(law, &ev->cfg->alg, vs, &dc.ck, gx, ge, gy);
    GDS_CALL(dn_sandwich(law, &de->w, dn_apply_ddrm, &dc, de->K, de->xbuf, de->K));
    /* noise ᾱ_s (nu_K I + Σ_k (nu_k − nu_K) v_k v_kᵀ) */
    double *wt;
    GDS_CALL(GDS_ALLOC(wt, m));
    for (int k = 0; k < m; k++) {
      double sk = dd->sv[k];
      wt[k] = sk > 0 ? st->abar_s * (gds_ddrm_component(&ev->cfg->alg, sk, vs, law->sigma).nu - dc.ck.nu) / (sk * sk) : 0.0;
    }
    int ierr = dn_add_atwa(law, &de->w, st->abar_s * dc.ck.nu, wt, de->K);
    free(wt);
    GDS_CALL(ierr);
    for (int s = 0; s < ns; s += DN_BLK) {
      int nb = ns - s < DN_BLK ? ns - s : DN_BLK;
      dn_ddrm_ctx dm = dc;
      dm.V = de->V + (size_t)m * s;
      dm.mu = mu;
      GDS_CALL(dn_ddrm_apply(law, &de->w, &dm, nb, de->yc + (size_t)d * s, d, de->yc + (size_t)d * s, d));
    }
  }
  if (rec->want) GDS_CALL(dn_record(law, ev, rec));
  else {
    rec->cov = NAN;
    for (int s = 0; s < ns; s++) rec->mean[s] = NAN;
  }
  return GDS_SUCCESS;
}

/* m (pixels) of every seed and diag K; every rank of the group gets them. */
static int dn_output_full(gds_law *law, gds_law_eval *ev, double **mean, double *var, double *cov) {
  dn_data *dd = law->data;
  dn_eval *de = ev->st;
  const int d = dd->d, ns = ev->ns;
  if (de->spectral) {
    if (mean) { /* m = Q ỹ + √ᾱ μ_ref */
      double *buf, sab = sqrt(de->abar_cur);
      GDS_CALL(GDS_ALLOC(buf, (size_t)d * (ns > 0 ? ns : 1)));
      int ierr = dn_qvec(dd, de->ref.Q, 0, ns, de->yt, buf);
      for (int s = 0; s < ns && !ierr; s++)
        if (mean[s])
          for (int i = 0; i < d; i++) mean[s][i] = buf[(size_t)d * s + i] + sab * de->mu[(size_t)d * s + i];
      free(buf);
      GDS_CALL(ierr);
    }
    if (var || cov) GDS_CALL(dn_qkq(dd, de->ref.Q, de->k, var, cov));
    return GDS_SUCCESS;
  }
  for (int s = 0; s < ns && mean; s++)
    if (mean[s]) dn_from_coef(dd, NULL, de->yc + (size_t)d * s, mean[s]);
  if (!var && !cov) return GDS_SUCCESS;
  int ierr = GDS_SUCCESS, me = dd->rank, np = dd->np, n = dd->nc[me], ld = dd->ld, *cnt = NULL;
  double *full = NULL;
  GDS_CALL(dn_sandwich(law, &de->w, dn_apply_to_pixels, NULL, de->K, de->xbuf, de->kp)); /* K = Q_F K̃ Q_Fᵀ */
  GDS_CALL_GOTO(ierr, out, GDS_ALLOC(cnt, 2 * np));
  if (var) {
    for (int q = 0; q < np; q++) {
      cnt[q] = dd->nc[q];
      cnt[np + q] = dd->c0[q];
    }
    for (int j = 0; j < n; j++) de->xbuf[j] = de->kp[(size_t)ld * j + dd->c0[me] + j];
    DN_MPI(ierr, out, MPI_Allgatherv(de->xbuf, n, MPI_DOUBLE, var, cnt, cnt + np, MPI_DOUBLE, dd->comm));
  }
  if (cov) { /* tests only: d×d on every rank */
    GDS_CALL_GOTO(ierr, out, GDS_ALLOC(full, (size_t)d * d));
    for (int q = 0; q < np; q++) {
      cnt[q] = d * dd->nc[q];
      cnt[np + q] = d * dd->c0[q];
    }
    for (int j = 0; j < n; j++) memcpy(de->xbuf + (size_t)d * j, de->kp + (size_t)ld * j, sizeof(double) * d);
    DN_MPI(ierr, out, MPI_Allgatherv(de->xbuf, d * n, MPI_DOUBLE, full, cnt, cnt + np, MPI_DOUBLE, dd->comm));
    for (int i = 0; i < d; i++)
      for (int j = 0; j < d; j++) cov[(size_t)d * i + j] = full[(size_t)d * j + i];
  }
out:
  free(cnt);
  free(full);
  return ierr;
}

static int dn_output(gds_law *law, gds_law_eval *ev, double **mean, double *var) {
  GDS_CALL(dn_output_full(law, ev, mean, var, NULL));
  return GDS_SUCCESS;
}

static int dn_moments(gds_law *law, gds_law_eval *ev, double abar, double *mean, double *cov, double *ref_mean,
                      double *ref_cov) {
  dn_data *dd = law->data;
  dn_eval *de = ev->st;
  const int d = dd->d;
  double *mp[1] = {mean};
  GDS_CALL(dn_output_full(law, ev, mean ? mp : NULL, NULL, cov));
  if (ref_mean)
    for (int i = 0; i < d; i++) ref_mean[i] = sqrt(abar) * de->mu[i];
  if (ref_cov) { /* ᾱ Σ_ref + (1 − ᾱ) I = Q diag(ᾱ D + 1 − ᾱ) Qᵀ */
    double *kref;
    GDS_CALL(GDS_ALLOC(kref, d));
    for (int i = 0; i < d; i++) kref[i] = abar * de->ref.D[i] + 1 - abar;
    int ierr = dn_qkq(dd, de->ref.Q, kref, NULL, ref_cov);
    free(kref);
    GDS_CALL(ierr);
  }
  return GDS_SUCCESS;
}

static int dn_posterior(gds_law *law, const double *v, double *mean, double *var) {
  dn_data *dd = law->data;
  int ierr = GDS_SUCCESS;
  if (mean) {
    double *r;
    GDS_CALL(GDS_ALLOC(r, dd->m));
    ierr = dn_residuals(law, 1, &v, r);
    if (!ierr) ierr = dn_post_shift(dd, law->op, 1, r, mean);
    free(r);
    GDS_CALL(ierr);
    for (int i = 0; i < dd->d; i++) mean[i] += law->prior->mean;
  }
  if (var) memcpy(var, dd->postvar, sizeof(double) * (size_t)dd->d);
  return GDS_SUCCESS;
}

/* What the dense backend cannot do (static, from the operator type): DDRM needs the SVD of A,
 * available when A Aᵀ is diagonal (restrictions, block averages, identity), not for blurs;
 * a C with the A Σ Σ_ᾱ⁻¹ Aᵀ term is applied only for algorithms with the exact score. */
static int dn_supports(const gds_operator *op, const gds_algorithm_spec *alg) {
  const gds_algorithm_info *in = gds_algorithm_get(alg->kind);
  int blur = op->spec.type == GDS_OP_GAUSSIAN_BLUR || op->spec.type == GDS_OP_MOTION_BLUR;
  if (in->family == GDS_FAMILY_DDRM && blur)
    GDS_ERROR(GDS_ERR_INPUT,
              "operator %s with backend: dense: %s needs the SVD of A, which the dense backend has only when A A^T is "
              "diagonal (inpainting, super_resolution, identity); drop `backend: dense` to use the Fourier backend",
              op->name, in->name);
  if (in->family == GDS_FAMILY_SCORE && !in->exact_score && in->guidance(0.5, 1.0, 1.0).c2 != 0)
    GDS_ERROR(GDS_ERR_INPUT, "operator %s: the dense backend cannot apply the C of %s (A Sigma Sigma_t^-1 A^T term)",
              op->name, in->name);
  return GDS_SUCCESS;
}

const gds_law_backend gds_law_backend_dense = {
    .name = "dense-distributed",
    .supports = dn_supports,
    .setup = dn_setup,
    .destroy = dn_destroy,
    .posterior = dn_posterior,
    .begin = dn_begin,
    .step = dn_step,
    .record = dn_record,
    .output = dn_output,
    .moments = dn_moments,
    .end = dn_end,
};
