/* Dense law backend "dense-distributed" (SPEC §2, "Useful facts": inpainting needs dense d×d
 * covariances). Works for any operator: A and Aᵀ are only applied (gds_operator_apply /
 * _adjoint); every other matrix of SPEC §2 is a Fourier multiplier applied with FFTW.
 *
 * Two routes, both exact:
 *  - operator route (dps, pigdm): K_t is d×d, distributed by column blocks over the group
 *    (rank r owns full columns [c0[r], c0[r] + nc[r]); this is also the ScaLAPACK layout of
 *    a 1×p grid with block size ⌈d/p⌉), held in real orthonormal Fourier coordinates where
 *    Σ_t⁻¹ and J_t are diagonal. A step K ← P K Pᵀ + σ_t² I uses the symmetry of K:
 *    X = P K (P applied to the local columns: 2 FFTs each, to pixels for A and back),
 *    Xᵀ = K Pᵀ by one all-to-all, K ← P Xᵀ: O(d² log d) per step, no d³ product. For W2,
 *    K is brought to pixels, redistributed (pdgemr2d) to a 2-D block-cyclic layout and
 *    compared with the reference in the eigenbasis of Σ_post (pdgemm, pdsyevd, pdsyrk).
 *  - spectral route (none, cgdm): the guided score is the exact score of a Gaussian path
 *    N(√ᾱ_t μ_ref, ᾱ_t Σ_ref + (1 − ᾱ_t) I) — the prior for `none`; the posterior for
 *    `cgdm`, whose C_t is the exact Cov(v | x_t), so that by Bayes
 *    Σ_t⁻¹ + J_t Aᵀ C_t⁻¹ A J_t = (ᾱ_t Σ_post + (1 − ᾱ_t) I)⁻¹ and
 *    b_t = β_t √ᾱ_{t−1} H_t μ_post. Then P_t, K_T = I and K*_t are all diagonal in an
 *    eigenbasis Q of Σ_ref (Σ_post: pdsyevd; Σ: the real Fourier basis), so the recursion
 *    runs per eigenvalue and W2 is in closed form.
 * Means are replicated and tracked as y_t = m_t − √ᾱ_t μ (operator route) or
 * Qᵀ(m_t − √ᾱ_t μ_ref) (spectral route), which keeps the large constant μ out of the
 * differences. The posterior uses S = A Σ Aᵀ + σ² I (m×m, pdpotrf, kept factored). */
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

/* One evaluation: what to run and what to record (any output may be NULL). */
typedef struct dn_run {
  gds_algorithm alg;
  double alpha_dps;
  int ns;
  const double *r;     /* ns×m residuals v − A μ */
  const double *delta; /* ns×d posterior shifts μ_post − μ (NULL for none) */
  int t_stop;
  const unsigned char *mask;
  double *w2_cov, **w2_mean; /* [T+1] curves */
  double *mean;              /* ns×d m_{t_stop} */
  double *var;               /* d: diag K_{t_stop} */
  double *cov;               /* d×d row-major K_{t_stop} */
} dn_run;

/* P_t of the operator route: P x = (x − β(Σ_t⁻¹ x + J Aᵀ C_t⁻¹ (A J x − r)))/√α (r = 0 for
 * the columns of K, the measurement residual for the means). */
typedef struct dn_step {
  double beta, isa;
  double *ist, *jm;   /* d: Σ_t⁻¹ and J_t per Fourier coordinate */
  double *cinv;       /* m: C_t⁻¹ when diagonal */
  double *cfac;       /* m×m Cholesky factor of C_t otherwise */
  int dense;          /* C_t applied through cfac */
} dn_step;

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
  if (MPI_Allreduce(MPI_IN_PLACE, out, (int)n, MPI_DOUBLE, MPI_SUM, dd->comm) != MPI_SUCCESS)
    GDS_ERROR(GDS_ERR_RUNTIME, "MPI_Allreduce failed");
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
  if (ns > 0 && MPI_Allreduce(MPI_IN_PLACE, y, ns * d, MPI_DOUBLE, MPI_SUM, dd->comm) != MPI_SUCCESS)
    GDS_ERROR(GDS_ERR_RUNTIME, "MPI_Allreduce failed");
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
    if (MPI_Allreduce(MPI_IN_PLACE, diag, d, MPI_DOUBLE, MPI_SUM, dd->comm) != MPI_SUCCESS)
      GDS_ERROR(GDS_ERR_RUNTIME, "MPI_Allreduce failed");
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
  if (MPI_Allreduce(MPI_IN_PLACE, dd->postvar, d, MPI_DOUBLE, MPI_SUM, dd->comm) != MPI_SUCCESS) {
    ierr = gds_error_raise(GDS_ERR_RUNTIME, __FILE__, __LINE__, __func__, "MPI_Allreduce failed");
    goto out;
  }
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
  MPI_Comm_rank(dd->comm, &dd->rank);
  MPI_Comm_size(dd->comm, &dd->np);
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

  GDS_CALL(dn_setup_aat(law));
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

/* Records W2 of the spectral state at time t (SPEC §2 "W2 curves"): K = Q diag(k) Qᵀ and
 * K* = Q diag(ᾱD + 1 − ᾱ) Qᵀ commute; m − m* = Q ỹ_s. */
static void dn_spectral_record(gds_law *law, const dn_ref *ref, dn_run *rn, int t, const double *k,
                               const double *yt, double *kstar) {
  int d = law->op->d;
  int want = !rn->mask || rn->mask[t];
  double ab = law->sched->alpha_bar[t];
  if (rn->w2_cov) {
    for (int i = 0; i < d && want; i++) kstar[i] = ab * ref->D[i] + 1 - ab;
    rn->w2_cov[t] = want ? gds_w2_cov_commuting(d, k, kstar, NULL) : NAN;
  }
  for (int s = 0; s < rn->ns && rn->w2_mean; s++) {
    if (!rn->w2_mean[s]) continue;
    double acc = 0;
    for (int i = 0; i < d && want; i++) acc += yt[(size_t)s * d + i] * yt[(size_t)s * d + i];
    rn->w2_mean[s][t] = want ? sqrt(acc) : NAN;
  }
}

/* K_t = Q diag(k) Qᵀ with k_T = 1, k ← p² k + σ_t², p = (1 − β_t/(ᾱ_t D + 1 − ᾱ_t))/√α_t;
 * ỹ = Qᵀ(m_t − √ᾱ_t μ_ref) with ỹ_T = −√ᾱ_T Qᵀ μ_ref, ỹ ← p ỹ (the b_t of the exact score
 * exactly compensates the shift of √ᾱ_t μ_ref). */
static int dn_run_spectral(gds_law *law, const dn_ref *ref, dn_run *rn) {
  dn_data *dd = law->data;
  const gds_schedule *sc = law->sched;
  int d = dd->d, ns = rn->ns, T = sc->T, ierr = GDS_SUCCESS;
  double *k = NULL, *kstar = NULL, *muref = NULL, *yt = NULL;
  GDS_CALL_GOTO(ierr, out, GDS_ALLOC(k, d));
  GDS_CALL_GOTO(ierr, out, GDS_ALLOC(kstar, d));
  GDS_CALL_GOTO(ierr, out, GDS_ALLOC(muref, (size_t)d * (ns > 0 ? ns : 1)));
  GDS_CALL_GOTO(ierr, out, GDS_ALLOC(yt, (size_t)d * (ns > 0 ? ns : 1)));
  for (int s = 0; s < ns; s++)
    for (int i = 0; i < d; i++) muref[(size_t)s * d + i] = law->prior->mean + (rn->delta ? rn->delta[(size_t)s * d + i] : 0.0);
  GDS_CALL_GOTO(ierr, out, dn_qvec(dd, ref->Q, 1, ns, muref, yt));
  double sabT = sqrt(sc->alpha_bar[T]);
  for (size_t i = 0; i < (size_t)ns * d; i++) yt[i] *= -sabT;
  for (int i = 0; i < d; i++) k[i] = 1.0;
  dn_spectral_record(law, ref, rn, T, k, yt, kstar);
  for (int t = T; t > rn->t_stop; t--) {
    double ab = sc->alpha_bar[t], beta = sc->beta[t], isa = 1.0 / sqrt(sc->alpha[t]), sig2 = sc->sigma2[t];
    for (int i = 0; i < d; i++) {
      double p = (1.0 - beta / (ab * ref->D[i] + 1.0 - ab)) * isa;
      k[i] = p * p * k[i] + sig2;
      for (int s = 0; s < ns; s++) yt[(size_t)s * d + i] *= p;
    }
    dn_spectral_record(law, ref, rn, t - 1, k, yt, kstar);
  }
  if (rn->mean) {
    double sab = sqrt(sc->alpha_bar[rn->t_stop]);
    GDS_CALL_GOTO(ierr, out, dn_qvec(dd, ref->Q, 0, ns, yt, rn->mean));
    for (size_t i = 0; i < (size_t)ns * d; i++) rn->mean[i] += sab * muref[i];
  }
  if (rn->var || rn->cov) GDS_CALL_GOTO(ierr, out, dn_qkq(dd, ref->Q, k, rn->var, rn->cov));
out:
  free(k);
  free(kstar);
  free(muref);
  free(yt);
  return ierr;
}

/* ---------------------------------------------------------------------------------------- */
/* Operator route (dps, pigdm)                                                                */
/* ---------------------------------------------------------------------------------------- */

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
  dn_step st;
  double *yb;  /* m × DN_BLK measurement-space batch */
  double *tmp; /* ld × DN_BLK output batch */
  double *zc;  /* d */
} dn_work;

static void dn_work_free(dn_work *w) {
  free(w->st.ist);
  free(w->st.jm);
  free(w->st.cinv);
  free(w->st.cfac);
  free(w->yb);
  free(w->tmp);
  free(w->zc);
}

static int dn_work_alloc(dn_data *dd, dn_work *w) {
  GDS_CALL(GDS_ALLOC(w->st.ist, dd->d));
  GDS_CALL(GDS_ALLOC(w->st.jm, dd->d));
  GDS_CALL(GDS_ALLOC(w->st.cinv, dd->m));
  if (dd->aat_full) GDS_CALL(GDS_ALLOC(w->st.cfac, (size_t)dd->m * dd->m));
  GDS_CALL(GDS_ALLOC(w->yb, (size_t)dd->m * DN_BLK));
  GDS_CALL(gds_malloc_aligned(sizeof(double) * (size_t)dd->ld * DN_BLK, &w->tmp));
  GDS_CALL(GDS_ALLOC(w->zc, dd->d));
  return GDS_SUCCESS;
}

/* Coefficients of P_t (SPEC §2): Σ_t⁻¹ = 1/(ᾱλ + 1 − ᾱ), J_t = √ᾱ λ Σ_t⁻¹ per Fourier
 * coordinate; C_t = σ²/α_dps I (dps) or (1 − ᾱ) A Aᵀ + σ² I (pigdm), inverted exactly
 * (diagonal, or Cholesky when A Aᵀ is not diagonal; dps's C_t is always diagonal). */
static int dn_step_coef(gds_law *law, dn_work *w, gds_algorithm alg, double alpha_dps, int t) {
  dn_data *dd = law->data;
  const gds_schedule *sc = law->sched;
  double ab = sc->alpha_bar[t], sab = sqrt(ab), s2 = law->sigma * law->sigma;
  int m = dd->m;
  dn_step *st = &w->st;
  st->beta = sc->beta[t];
  st->isa = 1.0 / sqrt(sc->alpha[t]);
  for (int k = 0; k < dd->d; k++) {
    st->ist[k] = 1.0 / (ab * dd->lamc[k] + 1.0 - ab);
    st->jm[k] = sab * dd->lamc[k] * st->ist[k];
  }
  st->dense = 0;
  if (alg == GDS_ALG_DPS || dd->aat) {
    for (int k = 0; k < m; k++) st->cinv[k] = alg == GDS_ALG_DPS ? alpha_dps / s2 : 1.0 / ((1.0 - ab) * dd->aat[k] + s2);
    return GDS_SUCCESS;
  }
  st->dense = 1;
  for (size_t i = 0; i < (size_t)m * m; i++) st->cfac[i] = (1.0 - ab) * dd->aat_full[i];
  for (int k = 0; k < m; k++) st->cfac[(size_t)k * m + k] += s2;
  int info = LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'L', m, st->cfac, m);
  if (info) GDS_ERROR(GDS_ERR_RUNTIME, "Cholesky of C_t failed at t = %d (info %d)", t, info);
  return GDS_SUCCESS;
}

/* In Fourier coordinates, for n ≤ DN_BLK columns (leading dimensions ldx, ldy; Y may alias
 * X; R is m×n or NULL):
 *   Y[:, c] = (x − β(Σ_t⁻¹ x + J Q_Fᵀ Aᵀ C_t⁻¹ (A Q_F J x − R[:, c])))/√α,  x = X[:, c].
 * 2 real FFTs per column; C_t⁻¹ is applied to the whole batch (BLAS-3 when dense). */
static int dn_apply(gds_law *law, dn_work *w, int n, const double *X, int ldx, double *Y, int ldy, const double *R) {
  dn_data *dd = law->data;
  const dn_step *st = &w->st;
  const int d = dd->d, m = dd->m, *ridx = dd->ridx;
  double *restrict rb = dd->rbuf;
  for (int c = 0; c < n; c++) {
    dn_from_coef(dd, st->jm, X + (size_t)ldx * c, rb); /* J x in pixels */
    double *restrict yb = w->yb + (size_t)m * c;
    if (ridx)
      for (int k = 0; k < m; k++) yb[k] = rb[ridx[k]];
    else GDS_CALL(gds_operator_apply(law->op, rb, yb));
    if (R)
      for (int k = 0; k < m; k++) yb[k] -= R[(size_t)m * c + k];
  }
  if (st->dense) {
    int info = LAPACKE_dpotrs(LAPACK_COL_MAJOR, 'L', m, n, st->cfac, m, w->yb, m);
    if (info) GDS_ERROR(GDS_ERR_RUNTIME, "dpotrs failed (info %d)", info);
  } else {
    for (int c = 0; c < n; c++)
      for (int k = 0; k < m; k++) w->yb[(size_t)m * c + k] *= st->cinv[k];
  }
  for (int c = 0; c < n; c++) {
    const double *restrict yb = w->yb + (size_t)m * c;
    if (ridx) {
      memset(rb, 0, sizeof(double) * d);
      for (int k = 0; k < m; k++) rb[ridx[k]] = yb[k];
    } else GDS_CALL(gds_operator_apply_adjoint(law->op, yb, rb));
    double *restrict zc = w->zc;
    dn_to_coef(dd, rb, zc);
    const double *x = X + (size_t)ldx * c;
    double *y = Y + (size_t)ldy * c;
    for (int k = 0; k < d; k++) y[k] = (x[k] - st->beta * (st->ist[k] * x[k] + st->jm[k] * zc[k])) * st->isa;
  }
  return GDS_SUCCESS;
}

/* Y[:, c] = Q_F X[:, c] (Fourier coordinates → pixels); Y may alias X. */
static void dn_apply_basis(dn_data *dd, int n, const double *X, int ldx, double *Y, int ldy) {
  for (int c = 0; c < n; c++) dn_from_coef(dd, NULL, X + (size_t)ldx * c, Y + (size_t)ldy * c);
}

/* out = M K Mᵀ on the column blocks (K, out: d × nc[rank], leading dimension ld; K symmetric)
 * for M = P_t (basis = 0; out may be K; then + σ_t² I) or M = Q_F (basis = 1). M K is
 * written straight into per-destination blocks of xbuf (block for rank q: the rows of q's
 * columns); one in-place all-to-all turns xbuf into the n × d row block of M K, whose
 * transpose is K Mᵀ's local columns; M is applied to those. */
static int dn_sandwich(gds_law *law, dn_work *w, int basis, const double *K, double *xbuf, double *out, double sig2) {
  dn_data *dd = law->data;
  int d = dd->d, me = dd->rank, n = dd->nc[me], np = dd->np, ld = dd->ld;
  for (int c = 0; c < n; c += DN_BLK) {
    int nb = n - c < DN_BLK ? n - c : DN_BLK;
    if (basis) dn_apply_basis(dd, nb, K + (size_t)ld * c, ld, w->tmp, ld);
    else GDS_CALL(dn_apply(law, w, nb, K + (size_t)ld * c, ld, w->tmp, ld, NULL));
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
    if (MPI_Alltoallv(MPI_IN_PLACE, cnt, dsp, MPI_DOUBLE, xbuf, cnt, dsp, MPI_DOUBLE, dd->comm) != MPI_SUCCESS)
      ierr = gds_error_raise(GDS_ERR_RUNTIME, __FILE__, __LINE__, __func__, "MPI_Alltoallv failed");
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
    if (basis) dn_apply_basis(dd, nb, out + (size_t)ld * c, ld, out + (size_t)ld * c, ld);
    else GDS_CALL(dn_apply(law, w, nb, out + (size_t)ld * c, ld, out + (size_t)ld * c, ld, NULL));
  }
  if (!basis)
    for (int j = 0; j < n; j++) out[(size_t)ld * j + dd->c0[me] + j] += sig2;
  return GDS_SUCCESS;
}

/* Covariance part of W2 at time t (SPEC §2), in the eigenbasis Q of K* = Q S² Qᵀ,
 * S² = ᾱ D + 1 − ᾱ: K̃ = Qᵀ K Q, M = S K̃ S (= K*^{1/2} K K*^{1/2} in that basis) and
 * F = M^{1/2} − S². Expanding tr K̃ = tr S⁻¹ (S² + F)² S⁻¹ turns the trace formula into
 *   tr K + tr K* − 2 tr M^{1/2} = ‖S⁻¹ F‖²_F,
 * a sum of squares: no cancellation between the O(d) traces when W2 is small (same idea as
 * gds_w2_cov_commuting). Where s_i = 0 (t = 0, null space of Σ_post) row and column i of M
 * vanish and contribute K̃_ii instead. Steps: K (column blocks) → 2-D block-cyclic
 * (pdgemr2d); 2 pdgemm; M = U Λ Uᵀ (pdsyevd, negatives clipped); M^{1/2} = V Vᵀ with
 * V = U Λ^{1/4} (pdsyrk, lower triangle). */
static int dn_w2_cov_dense(gds_law *law, const dn_ref *ref, const double *K, dn_mat *K2, dn_mat *T1, double *evals,
                           int t, double *out) {
  dn_data *dd = law->data;
  int d = dd->d, info = 0, ierr = GDS_SUCCESS, desc1[GDS_DLEN], ld1 = dd->ld, lwork = -1, liwork = -1, iwq;
  double ab = law->sched->alpha_bar[t], one = 1.0, zero = 0.0, wq, *work = NULL, *s = NULL;
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
    ierr = gds_error_raise(GDS_ERR_RUNTIME, __FILE__, __LINE__, __func__, "pdsyevd failed at t = %d (info %d)", t, info);
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
  if (MPI_Allreduce(MPI_IN_PLACE, &acc, 1, MPI_DOUBLE, MPI_SUM, dd->comm) != MPI_SUCCESS) {
    ierr = gds_error_raise(GDS_ERR_RUNTIME, __FILE__, __LINE__, __func__, "MPI_Allreduce failed");
    goto out;
  }
  *out = sqrt(acc > 0 ? acc : 0.0);
out:
  free(work);
  free(iwork);
  free(s);
  return ierr;
}

/* Buffers of the operator route: K̃ (column blocks), the exchange buffer (also the 2-D copy
 * of K for W2) and kp (pixel-space K, then the second 2-D matrix of W2). */
typedef struct dn_obufs {
  double *K, *xbuf, *kp, *evals;
  dn_mat T1; /* descriptor of a d×d 2-D matrix; storage kp */
} dn_obufs;

/* Records W2 at time t of the operator route: K = Q_F K̃ Q_Fᵀ into kp, then
 * dn_w2_cov_dense; m − m* = Q_F (ỹ − √ᾱ δ̃). */
static int dn_operator_record(gds_law *law, dn_work *w, const dn_ref *ref, dn_run *rn, int t, dn_obufs *b,
                              const double *yc, const double *dc) {
  int d = law->op->d, want = !rn->mask || rn->mask[t];
  if (rn->w2_cov) {
    if (want) {
      dn_mat K2 = b->T1; /* same shape and descriptor, storage in xbuf */
      K2.a = b->xbuf;
      GDS_CALL(dn_sandwich(law, w, 1, b->K, b->xbuf, b->kp, 0.0));
      GDS_CALL(dn_w2_cov_dense(law, ref, b->kp, &K2, &b->T1, b->evals, t, &rn->w2_cov[t]));
    } else rn->w2_cov[t] = NAN;
  }
  double sab = sqrt(law->sched->alpha_bar[t]);
  for (int s = 0; s < rn->ns && rn->w2_mean; s++) {
    if (!rn->w2_mean[s]) continue;
    double acc = 0;
    for (int i = 0; i < d && want; i++) {
      double e = yc[(size_t)s * d + i] - sab * dc[(size_t)s * d + i];
      acc += e * e;
    }
    rn->w2_mean[s][t] = want ? sqrt(acc) : NAN;
  }
  return GDS_SUCCESS;
}

/* m_{t−1} = P_t m_t + b_t, K_{t−1} = P_t K_t P_tᵀ + σ_t² I (SPEC §2) with y = m − √ᾱ μ:
 * y_{t−1} = (y − β(Σ_t⁻¹ y + J Aᵀ C_t⁻¹ (A J y − r)))/√α_t, y_T = −√ᾱ_T μ, K_T = I; both
 * carried in Fourier coordinates (ỹ = Q_Fᵀ y, K̃ = Q_Fᵀ K Q_F; K̃_T = I). */
static int dn_run_operator(gds_law *law, const dn_ref *ref, dn_run *rn) {
  dn_data *dd = law->data;
  const gds_schedule *sc = law->sched;
  int d = dd->d, ns = rn->ns, T = sc->T, n = dd->nc[dd->rank], ld = dd->ld, ierr = GDS_SUCCESS;
  dn_work w = {0};
  dn_obufs b = {0};
  double *yc = NULL, *dc = NULL, *full = NULL;
  int *cnt = NULL;
  GDS_CALL_GOTO(ierr, out, dn_work_alloc(dd, &w));
  GDS_CALL_GOTO(ierr, out, dn_mat_init(dd, &b.T1, d, d)); /* descriptor only; its storage is replaced */
  dn_mat_free(&b.T1);
  size_t n1 = (size_t)ld * (n > 0 ? n : 1), n2 = dn_lld(&b.T1) * (size_t)(b.T1.lc > 0 ? b.T1.lc : 1);
  size_t nx = (size_t)d * (n > 0 ? n : 1);
  GDS_CALL_GOTO(ierr, out, gds_malloc_aligned(sizeof(double) * n1, &b.K));
  GDS_CALL_GOTO(ierr, out, gds_malloc_aligned(sizeof(double) * (nx > n2 ? nx : n2), &b.xbuf));
  GDS_CALL_GOTO(ierr, out, gds_malloc_aligned(sizeof(double) * (n1 > n2 ? n1 : n2), &b.kp));
  b.T1.a = b.kp;
  GDS_CALL_GOTO(ierr, out, GDS_ALLOC(b.evals, d));
  GDS_CALL_GOTO(ierr, out, GDS_ALLOC(yc, (size_t)d * (ns > 0 ? ns : 1)));
  GDS_CALL_GOTO(ierr, out, GDS_ALLOC(dc, (size_t)d * (ns > 0 ? ns : 1)));
  for (int j = 0; j < n; j++) b.K[(size_t)ld * j + dd->c0[dd->rank] + j] = 1.0;
  double sabT = sqrt(sc->alpha_bar[T]);
  for (int s = 0; s < ns; s++) {
    for (int i = 0; i < d; i++) dd->rbuf[i] = -sabT * law->prior->mean;
    dn_to_coef(dd, dd->rbuf, yc + (size_t)d * s);
    dn_to_coef(dd, rn->delta + (size_t)d * s, dc + (size_t)d * s);
  }
  GDS_CALL_GOTO(ierr, out, dn_operator_record(law, &w, ref, rn, T, &b, yc, dc));
  for (int t = T; t > rn->t_stop; t--) {
    GDS_CALL_GOTO(ierr, out, dn_step_coef(law, &w, rn->alg, rn->alpha_dps, t));
    GDS_CALL_GOTO(ierr, out, dn_sandwich(law, &w, 0, b.K, b.xbuf, b.K, sc->sigma2[t]));
    for (int s = 0; s < ns; s += DN_BLK) {
      int nb = ns - s < DN_BLK ? ns - s : DN_BLK;
      GDS_CALL_GOTO(ierr, out, dn_apply(law, &w, nb, yc + (size_t)d * s, d, yc + (size_t)d * s, d, rn->r + (size_t)dd->m * s));
    }
    GDS_CALL_GOTO(ierr, out, dn_operator_record(law, &w, ref, rn, t - 1, &b, yc, dc));
  }
  if (rn->mean) {
    double sab = sqrt(sc->alpha_bar[rn->t_stop]);
    for (int s = 0; s < ns; s++) {
      double *ms = rn->mean + (size_t)d * s;
      dn_from_coef(dd, NULL, yc + (size_t)d * s, ms);
      for (int i = 0; i < d; i++) ms[i] += sab * law->prior->mean;
    }
  }
  if (rn->var || rn->cov) { /* K = Q_F K̃ Q_Fᵀ; every rank gets diag K (and K) */
    GDS_CALL_GOTO(ierr, out, dn_sandwich(law, &w, 1, b.K, b.xbuf, b.kp, 0.0));
    GDS_CALL_GOTO(ierr, out, GDS_ALLOC(cnt, 2 * dd->np));
    int me = dd->rank, np = dd->np;
    if (rn->var) {
      for (int q = 0; q < np; q++) {
        cnt[q] = dd->nc[q];
        cnt[np + q] = dd->c0[q];
      }
      for (int j = 0; j < n; j++) b.xbuf[j] = b.kp[(size_t)ld * j + dd->c0[me] + j];
      if (MPI_Allgatherv(b.xbuf, n, MPI_DOUBLE, rn->var, cnt, cnt + np, MPI_DOUBLE, dd->comm) != MPI_SUCCESS) {
        ierr = gds_error_raise(GDS_ERR_RUNTIME, __FILE__, __LINE__, __func__, "MPI_Allgatherv failed");
        goto out;
      }
    }
    if (rn->cov) { /* tests only: d×d on every rank */
      GDS_CALL_GOTO(ierr, out, GDS_ALLOC(full, (size_t)d * d));
      for (int q = 0; q < np; q++) {
        cnt[q] = d * dd->nc[q];
        cnt[np + q] = d * dd->c0[q];
      }
      for (int j = 0; j < n; j++) memcpy(b.xbuf + (size_t)d * j, b.kp + (size_t)ld * j, sizeof(double) * d);
      if (MPI_Allgatherv(b.xbuf, d * n, MPI_DOUBLE, full, cnt, cnt + np, MPI_DOUBLE, dd->comm) != MPI_SUCCESS) {
        ierr = gds_error_raise(GDS_ERR_RUNTIME, __FILE__, __LINE__, __func__, "MPI_Allgatherv failed");
        goto out;
      }
      for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++) rn->cov[(size_t)d * i + j] = full[(size_t)d * j + i];
    }
  }
out:
  dn_work_free(&w);
  free(b.K);
  free(b.xbuf);
  free(b.kp);
  free(b.evals);
  free(yc);
  free(dc);
  free(full);
  free(cnt);
  return ierr;
}

/* ---------------------------------------------------------------------------------------- */
/* Backend entry points                                                                       */
/* ---------------------------------------------------------------------------------------- */

/* Runs one evaluation: residuals, posterior shifts, reference basis, route. */
static int dn_run_any(gds_law *law, dn_run *rn, const double *const *v) {
  dn_data *dd = law->data;
  int ns = rn->ns, ierr = GDS_SUCCESS;
  double *r = NULL, *delta = NULL;
  dn_ref ref = {0};
  GDS_CALL_GOTO(ierr, out, GDS_ALLOC(r, (size_t)dd->m * (ns > 0 ? ns : 1)));
  GDS_CALL_GOTO(ierr, out, dn_residuals(law, ns, v, r));
  rn->r = r;
  if (rn->alg == GDS_ALG_NONE) {
    GDS_CALL_GOTO(ierr, out, dn_prior_basis(law, &ref));
    rn->delta = NULL;
  } else {
    GDS_CALL_GOTO(ierr, out, GDS_ALLOC(delta, (size_t)dd->d * (ns > 0 ? ns : 1)));
    GDS_CALL_GOTO(ierr, out, dn_post_shift(dd, law->op, ns, r, delta));
    rn->delta = delta;
    ref.Q = &dd->Qpost;
    ref.D = dd->Dpost;
  }
  if (rn->alg == GDS_ALG_NONE || rn->alg == GDS_ALG_CGDM) GDS_CALL_GOTO(ierr, out, dn_run_spectral(law, &ref, rn));
  else GDS_CALL_GOTO(ierr, out, dn_run_operator(law, &ref, rn));
out:
  dn_mat_free(&ref.own);
  free(ref.Down);
  free(r);
  free(delta);
  return ierr;
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

static int dn_evaluate(gds_law *law, const gds_law_request *req, gds_law_result *res) {
  dn_data *dd = law->data;
  int ns = req->nseeds, T = law->sched->T, d = dd->d, ierr = GDS_SUCCESS;
  double *cov = NULL, **wm = NULL, *mean = NULL;
  /* w2 needs both parts even when the caller wants only w2 */
  GDS_CALL_GOTO(ierr, out, GDS_ALLOC(cov, (size_t)(T + 1) * (ns + 1)));
  GDS_CALL_GOTO(ierr, out, GDS_ALLOC(wm, ns > 0 ? ns : 1));
  for (int s = 0; s < ns; s++) wm[s] = cov + (size_t)(T + 1) * (s + 1);
  if (res->mean0) GDS_CALL_GOTO(ierr, out, GDS_ALLOC(mean, (size_t)d * (ns > 0 ? ns : 1)));
  int want_cov = res->w2_cov || res->w2, want_mean = res->w2_mean || res->w2;
  dn_run rn = {.alg = req->cfg.alg.kind, .alpha_dps = req->cfg.alpha_dps, .ns = ns, .t_stop = 0, .mask = req->w2_mask,
               .w2_cov = want_cov ? cov : NULL, .w2_mean = want_mean ? wm : NULL, .mean = mean, .var = res->var0};
  GDS_CALL_GOTO(ierr, out, dn_run_any(law, &rn, req->v));
  if (!want_cov)
    for (int t = 0; t <= T; t++) cov[t] = NAN;
  for (int s = 0; s < ns; s++) {
    if (res->w2_mean) memcpy(res->w2_mean[s], wm[s], sizeof(double) * (size_t)(T + 1));
    if (res->w2)
      for (int t = 0; t <= T; t++) res->w2[s][t] = gds_w2_combine(wm[s][t], cov[t]);
    if (res->mean0) memcpy(res->mean0[s], mean + (size_t)d * s, sizeof(double) * (size_t)d);
  }
  if (res->w2_cov) memcpy(res->w2_cov, cov, sizeof(double) * (size_t)(T + 1));
out:
  free(cov);
  free(wm);
  free(mean);
  return ierr;
}

static int dn_moments(gds_law *law, gds_algorithm alg, double alpha_dps, const double *v, int t, double *mean,
                      double *cov, double *ref_mean, double *ref_cov) {
  dn_data *dd = law->data;
  int d = dd->d, ierr = GDS_SUCCESS;
  double *m = NULL, *kref = NULL;
  GDS_CALL_GOTO(ierr, out, GDS_ALLOC(m, d));
  dn_run rn = {.alg = alg, .alpha_dps = alpha_dps, .ns = 1, .t_stop = t, .mean = m, .cov = cov};
  GDS_CALL_GOTO(ierr, out, dn_run_any(law, &rn, &v));
  if (mean) memcpy(mean, m, sizeof(double) * (size_t)d);
  double ab = law->sched->alpha_bar[t];
  if (ref_mean) { /* √ᾱ μ_ref */
    if (alg == GDS_ALG_NONE)
      for (int i = 0; i < d; i++) ref_mean[i] = sqrt(ab) * law->prior->mean;
    else {
      GDS_CALL_GOTO(ierr, out, dn_posterior(law, v, ref_mean, NULL));
      for (int i = 0; i < d; i++) ref_mean[i] *= sqrt(ab);
    }
  }
  if (ref_cov) { /* ᾱ Σ_ref + (1 − ᾱ) I = Q diag(ᾱ D + 1 − ᾱ) Qᵀ */
    dn_ref ref = {.Q = &dd->Qpost, .D = dd->Dpost};
    if (alg == GDS_ALG_NONE) ierr = dn_prior_basis(law, &ref);
    if (!ierr) ierr = GDS_ALLOC(kref, d);
    for (int i = 0; i < d && !ierr; i++) kref[i] = ab * ref.D[i] + 1 - ab;
    if (!ierr) ierr = dn_qkq(dd, ref.Q, kref, NULL, ref_cov);
    dn_mat_free(&ref.own);
    free(ref.Down);
    GDS_CALL_GOTO(ierr, out, ierr);
  }
out:
  free(m);
  free(kref);
  return ierr;
}

const gds_law_backend gds_law_backend_dense = {
    .name = "dense-distributed",
    .setup = dn_setup,
    .posterior = dn_posterior,
    .evaluate = dn_evaluate,
    .moments = dn_moments,
    .destroy = dn_destroy,
};
