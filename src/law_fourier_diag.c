/* Fourier-diagonal law backend (SPEC §2, "Useful facts"): for identity and the blurs every
 * matrix of SPEC §2 is a Fourier multiplier, so the recursions m_{t−1} = P_t m_t + b_t,
 * K_{t−1} = P_t K_t P_tᵀ + σ_t² I run per frequency, and W2 is in closed form.
 * Real-FFT symmetry: only the H×(W/2+1) half spectrum is stored; a frequency whose
 * conjugate is not stored counts twice in traces and norms (weight wgt). */
#include <fftw3.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gdsweep/error.h"
#include "gdsweep/w2.h"
#include "law_impl.h"

typedef struct fd_data {
  int H, W, Wh, nf, d;
  double *lam;     /* λ(ξ) */
  double *a2;      /* |â(ξ)|² */
  double *are, *aim; /* â(ξ) */
  double *wgt;     /* 1 or 2 (conjugate pair) */
  double *postvar; /* Σ_post(ξ) = λσ²/(λ|â|² + σ²) */
  double mu0;      /* μ̂(0) = m·d; μ̂(ξ) = 0 elsewhere */
  double *k, *p, *cr; /* state K_t(ξ); per-step P_t(ξ) and guidance gain of b_t */
  double *real;    /* d, FFT work */
  fftw_complex *spec;
  fftw_plan fwd, bwd;
} fd_data;

/* Per-seed spectra of one measurement: r̂ = conj(â)(v̂ − â μ̂), the reference mean q̂
 * (μ_post or μ), and the state m̂_t. Split real/imaginary arrays so the loops vectorise. */
typedef struct fd_seed {
  double *rre, *rim, *qre, *qim, *mre, *mim;
} fd_seed;

static void fd_destroy(gds_law *law) {
  fd_data *fd = law->data;
  if (!fd) return;
  if (fd->fwd) fftw_destroy_plan(fd->fwd);
  if (fd->bwd) fftw_destroy_plan(fd->bwd);
  fftw_free(fd->real);
  fftw_free(fd->spec);
  free(fd->lam); /* one block holds every per-frequency array */
  free(fd);
  law->data = NULL;
}

static int fd_setup(gds_law *law) {
  const gds_prior *pr = law->prior;
  gds_operator *op = law->op;
  fd_data *fd;
  GDS_CALL(GDS_ALLOC(fd, 1));
  law->data = fd;
  fd->H = pr->H;
  fd->W = pr->W;
  fd->Wh = pr->W / 2 + 1;
  fd->nf = fd->H * fd->Wh;
  fd->d = fd->H * fd->W;
  int nf = fd->nf;
  double *blk;
  GDS_CALL(gds_malloc_aligned(sizeof(double) * 10 * (size_t)nf, &blk));
  double **arrs[] = {&fd->lam, &fd->a2, &fd->are, &fd->aim, &fd->wgt, &fd->postvar, &fd->k, &fd->p, &fd->cr};
  for (size_t i = 0; i < sizeof arrs / sizeof *arrs; i++) *arrs[i] = blk + i * (size_t)nf;
  fd->real = fftw_alloc_real((size_t)fd->d);
  fd->spec = fftw_alloc_complex((size_t)nf);
  if (!fd->real || !fd->spec) GDS_ERROR(GDS_ERR_RUNTIME, "out of memory (FFT buffers)");
  fd->fwd = fftw_plan_dft_r2c_2d(fd->H, fd->W, fd->real, fd->spec, FFTW_ESTIMATE);
  fd->bwd = fftw_plan_dft_c2r_2d(fd->H, fd->W, fd->spec, fd->real, FFTW_ESTIMATE);
  if (!fd->fwd || !fd->bwd) GDS_ERROR(GDS_ERR_RUNTIME, "FFTW planning failed");

  memcpy(fd->real, op->kernel, sizeof(double) * (size_t)fd->d);
  fftw_execute(fd->fwd);
  double s2 = law->sigma * law->sigma;
  for (int q = 0; q < fd->H; q++)
    for (int r = 0; r < fd->Wh; r++) {
      int f = q * fd->Wh + r;
      fd->are[f] = fd->spec[f][0];
      fd->aim[f] = fd->spec[f][1];
      fd->a2[f] = fd->are[f] * fd->are[f] + fd->aim[f] * fd->aim[f];
      fd->lam[f] = pr->spectrum[q * fd->W + r];
      fd->wgt[f] = (r == 0 || 2 * r == fd->W) ? 1.0 : 2.0;
      fd->postvar[f] = fd->lam[f] * s2 / (fd->lam[f] * fd->a2[f] + s2);
    }
  fd->mu0 = pr->mean * fd->d;
  return GDS_SUCCESS;
}

/* Real image (d) → half spectrum split into re/im. */
static void fd_forward(fd_data *fd, const double *x, double *re, double *im) {
  memcpy(fd->real, x, sizeof(double) * (size_t)fd->d);
  fftw_execute(fd->fwd);
  for (int f = 0; f < fd->nf; f++) {
    re[f] = fd->spec[f][0];
    im[f] = fd->spec[f][1];
  }
}

/* Half spectrum → real image (d), including the 1/d of the un-normalised inverse DFT. */
static void fd_inverse(fd_data *fd, const double *re, const double *im, double *x) {
  for (int f = 0; f < fd->nf; f++) {
    fd->spec[f][0] = re[f];
    fd->spec[f][1] = im ? im[f] : 0.0;
  }
  fftw_execute(fd->bwd);
  for (int i = 0; i < fd->d; i++) x[i] = fd->real[i] / fd->d;
}

/* μ_post = μ + Σ Aᵀ (AΣAᵀ + σ²I)⁻¹ (v − Aμ): per frequency μ̂ + λ r̂/(λ|â|² + σ²). */
static void fd_measure(gds_law *law, const double *v, fd_seed *sd, int posterior_ref) {
  fd_data *fd = law->data;
  double s2 = law->sigma * law->sigma;
  fd_forward(fd, v, sd->rre, sd->rim);
  sd->rre[0] -= fd->are[0] * fd->mu0;
  sd->rim[0] -= fd->aim[0] * fd->mu0;
  for (int f = 0; f < fd->nf; f++) {
    double vr = sd->rre[f], vi = sd->rim[f];
    sd->rre[f] = fd->are[f] * vr + fd->aim[f] * vi; /* conj(â)·(v̂ − âμ̂) */
    sd->rim[f] = fd->are[f] * vi - fd->aim[f] * vr;
    double g = posterior_ref ? fd->lam[f] / (fd->lam[f] * fd->a2[f] + s2) : 0.0;
    sd->qre[f] = g * sd->rre[f];
    sd->qim[f] = g * sd->rim[f];
    sd->mre[f] = sd->mim[f] = 0.0; /* m_T = 0 */
  }
  sd->qre[0] += fd->mu0;
}

static int fd_posterior(gds_law *law, const double *v, double *mean, double *var) {
  fd_data *fd = law->data;
  if (mean) {
    double *buf;
    GDS_CALL(gds_malloc_aligned(sizeof(double) * 6 * (size_t)fd->nf, &buf));
    fd_seed sd = {buf, buf + fd->nf, buf + 2 * fd->nf, buf + 3 * fd->nf, buf + 4 * fd->nf, buf + 5 * fd->nf};
    fd_measure(law, v, &sd, 1);
    fd_inverse(fd, sd.qre, sd.qim, mean);
    free(buf);
  }
  if (var) { /* a stationary covariance has a constant diagonal: (1/d) tr Σ_post */
    double tr = 0;
    for (int f = 0; f < fd->nf; f++) tr += fd->wgt[f] * fd->postvar[f];
    for (int i = 0; i < fd->d; i++) var[i] = tr / fd->d;
  }
  return GDS_SUCCESS;
}

/* Coefficients making C_t⁻¹ branch-free in the frequency loop:
 * C_t(ξ) = c0 + c1·|â|² + c2·|â|²·λ/Σ_t(ξ); on = 0 switches guidance off (`none`). */
typedef struct fd_ccoef {
  double c0, c1, c2, on;
} fd_ccoef;

static fd_ccoef fd_ccoef_at(gds_algorithm alg, double alpha_dps, double abar, double s2) {
  fd_ccoef c = {s2, 0, 0, 1};
  switch (alg) {
  case GDS_ALG_DPS: c.c0 = s2 / alpha_dps; break;
  case GDS_ALG_PIGDM: c.c1 = 1 - abar; break;
  case GDS_ALG_CGDM: c.c2 = 1 - abar; break;
  default: c.c0 = 1; c.on = 0; break;
  }
  return c;
}

/* The per-frequency body of a backward step (see fd_step_cov). */
static inline void fd_step_freq(int f, double ab, double sab, double beta, double isa, double sig2,
                                fd_ccoef c, const double *restrict lam, const double *restrict a2,
                                double *restrict k, double *restrict p, double *restrict cr) {
  double ist = 1.0 / (ab * lam[f] + 1 - ab);
  double J = sab * lam[f] * ist;
  double ic = c.on / (c.c0 + a2[f] * (c.c1 + c.c2 * lam[f] * ist));
  double pf = (1 - beta * (ist + J * J * a2[f] * ic)) * isa;
  p[f] = pf;
  cr[f] = beta * isa * J * ic;
  k[f] = pf * pf * k[f] + sig2;
}

/* One backward step t → t−1 (SPEC §2) for every frequency:
 * Σ_t = ᾱλ + 1 − ᾱ, J = √ᾱ λ/Σ_t, H = 1/Σ_t + J²|â|²/C_t, P = (1 − βH)/√α,
 * K ← P²K + σ_t², and the gains of b_t: β/√α·J/C_t on r̂ (and β/√α·√ᾱ·H on μ̂(0)).
 * Fused with the covariance part of W2 at t−1 against ᾱ_{t−1} Σ_ref + (1 − ᾱ_{t−1}) I
 * (returned squared in *w2c2 when want_w2) so the arrays are streamed once per step. */
static double fd_step_cov(fd_data *fd, const gds_schedule *sc, int t, gds_algorithm alg,
                          double alpha_dps, double s2, const double *restrict refvar,
                          int want_w2, double *w2c2) {
  double ab = sc->alpha_bar[t], sab = sqrt(ab), beta = sc->beta[t];
  double isa = 1.0 / sqrt(sc->alpha[t]), sig2 = sc->sigma2[t], abm = sc->alpha_bar[t - 1];
  fd_ccoef c = fd_ccoef_at(alg, alpha_dps, ab, s2);
  const double *restrict lam = fd->lam, *restrict a2 = fd->a2, *restrict wgt = fd->wgt;
  double *restrict k = fd->k, *restrict p = fd->p, *restrict cr = fd->cr;
  double acc = 0;
  const int nf = fd->nf;
  /* Two copies of one loop body (fd_step_freq, inlined) so that the W2-free variant, used at
   * times w2_times leaves out, pays no square roots. */
  if (want_w2) {
#pragma omp simd reduction(+ : acc)
    for (int f = 0; f < nf; f++) {
      fd_step_freq(f, ab, sab, beta, isa, sig2, c, lam, a2, k, p, cr);
      double dl = sqrt(k[f]) - sqrt(abm * refvar[f] + 1 - abm);
      acc += wgt[f] * dl * dl;
    }
  } else {
#pragma omp simd
    for (int f = 0; f < nf; f++) fd_step_freq(f, ab, sab, beta, isa, sig2, c, lam, a2, k, p, cr);
  }
  *w2c2 = acc;
  /* H_t at ξ = 0 (the only frequency where μ̂ ≠ 0), recomputed outside the vector loop. */
  double ist0 = 1.0 / (ab * lam[0] + 1 - ab), J0 = sab * lam[0] * ist0;
  double h0 = ist0 + J0 * J0 * a2[0] * c.on / (c.c0 + a2[0] * (c.c1 + c.c2 * lam[0] * ist0));
  return beta * isa * sab * h0; /* gain of μ̂(0) in b_t */
}

/* m̂ ← P m̂ + b̂ for one seed, fused with ‖m_{t−1} − √ᾱ_{t−1} q‖² (returned). */
static double fd_step_mean(fd_data *fd, fd_seed *sd, double gain_mu0, double sabm, int want_w2) {
  const double *restrict p = fd->p, *restrict cr = fd->cr, *restrict wgt = fd->wgt;
  double *restrict mre = sd->mre, *restrict mim = sd->mim;
  const double *restrict rre = sd->rre, *restrict rim = sd->rim;
  const double *restrict qre = sd->qre, *restrict qim = sd->qim;
  const int nf = fd->nf;
  double acc = 0;
#pragma omp simd
  for (int f = 0; f < nf; f++) {
    mre[f] = p[f] * mre[f] + cr[f] * rre[f];
    mim[f] = p[f] * mim[f] + cr[f] * rim[f];
  }
  mre[0] += gain_mu0 * fd->mu0;
  if (want_w2) {
#pragma omp simd reduction(+ : acc)
    for (int f = 0; f < nf; f++) {
      double dr = mre[f] - sabm * qre[f], di = mim[f] - sabm * qim[f];
      acc += wgt[f] * (dr * dr + di * di);
    }
  }
  return acc;
}

/* W2 parts at t = T (m_T = 0, K_T = I), before any step. */
static void fd_w2_initial(const fd_data *fd, const double *refvar, double ab, double *cov2) {
  double acc = 0;
  for (int f = 0; f < fd->nf; f++) {
    double dl = 1.0 - sqrt(ab * refvar[f] + 1 - ab);
    acc += fd->wgt[f] * dl * dl;
  }
  *cov2 = acc;
}

static double fd_mean2_initial(const fd_data *fd, const fd_seed *sd, double sab) {
  double acc = 0;
  for (int f = 0; f < fd->nf; f++) acc += fd->wgt[f] * sab * sab * (sd->qre[f] * sd->qre[f] + sd->qim[f] * sd->qim[f]);
  return acc;
}

/* Runs the recursion from T down to t_stop, recording W2 at the times the mask selects. */
static void fd_run(gds_law *law, gds_algorithm alg, double alpha_dps, int ns, fd_seed *sd,
                   int t_stop, const unsigned char *mask, double *w2_cov, double **w2_mean) {
  fd_data *fd = law->data;
  const gds_schedule *sc = law->sched;
  const double *refvar = alg == GDS_ALG_NONE ? fd->lam : fd->postvar;
  double s2 = law->sigma * law->sigma, cov2;
  int T = sc->T, rec = w2_cov || w2_mean;
  for (int f = 0; f < fd->nf; f++) fd->k[f] = 1.0; /* K_T = I */
  int want = rec && (!mask || mask[T]);
  fd_w2_initial(fd, refvar, sc->alpha_bar[T], &cov2);
  if (w2_cov) w2_cov[T] = want ? sqrt(cov2) : NAN;
  for (int s = 0; s < ns && w2_mean; s++)
    if (w2_mean[s]) w2_mean[s][T] = want ? sqrt(fd_mean2_initial(fd, &sd[s], sqrt(sc->alpha_bar[T])) / fd->d) : NAN;
  for (int t = T; t > t_stop; t--) {
    want = rec && (!mask || mask[t - 1]);
    double sabm = sqrt(sc->alpha_bar[t - 1]);
    double g0 = fd_step_cov(fd, sc, t, alg, alpha_dps, s2, refvar, want, &cov2);
    if (w2_cov) w2_cov[t - 1] = want ? sqrt(cov2) : NAN;
    for (int s = 0; s < ns; s++) {
      double m2 = fd_step_mean(fd, &sd[s], g0, sabm, want);
      if (w2_mean && w2_mean[s]) w2_mean[s][t - 1] = want ? sqrt(m2 / fd->d) : NAN;
    }
  }
}

static int fd_alloc_seeds(const fd_data *fd, int ns, fd_seed **out, double **buf) {
  GDS_CALL(GDS_ALLOC(*out, ns > 0 ? ns : 1));
  GDS_CALL(gds_malloc_aligned(sizeof(double) * 6 * (size_t)fd->nf * (ns > 0 ? ns : 1), buf));
  for (int s = 0; s < ns; s++) {
    double *b = *buf + 6 * (size_t)fd->nf * s;
    (*out)[s] = (fd_seed){b, b + fd->nf, b + 2 * fd->nf, b + 3 * fd->nf, b + 4 * fd->nf, b + 5 * fd->nf};
  }
  return GDS_SUCCESS;
}

static int fd_evaluate(gds_law *law, const gds_law_request *req, gds_law_result *res) {
  fd_data *fd = law->data;
  int ns = req->nseeds, T = law->sched->T;
  fd_seed *sd;
  double *buf, *cov;
  GDS_CALL(fd_alloc_seeds(fd, ns, &sd, &buf));
  for (int s = 0; s < ns; s++) fd_measure(law, req->v[s], &sd[s], req->cfg.alg.kind != GDS_ALG_NONE);
  /* cov[T+1] then one mean curve per seed: w2 needs both even when the caller wants only w2. */
  double **wm = NULL;
  int ierr = GDS_ALLOC(cov, (size_t)(T + 1) * (ns + 1));
  if (!ierr) ierr = GDS_ALLOC(wm, ns > 0 ? ns : 1);
  if (!ierr) {
    for (int s = 0; s < ns; s++) wm[s] = cov + (size_t)(T + 1) * (s + 1);
    fd_run(law, req->cfg.alg.kind, req->cfg.alpha_dps, ns, sd, 0, req->w2_mask, cov, wm);
    for (int s = 0; s < ns; s++) {
      if (res->w2_mean) memcpy(res->w2_mean[s], wm[s], sizeof(double) * (size_t)(T + 1));
      if (res->w2)
        for (int t = 0; t <= T; t++) res->w2[s][t] = gds_w2_combine(wm[s][t], cov[t]);
      if (res->mean0) fd_inverse(fd, sd[s].mre, sd[s].mim, res->mean0[s]);
    }
    if (res->w2_cov) memcpy(res->w2_cov, cov, sizeof(double) * (size_t)(T + 1));
    if (res->var0) {
      double tr = 0;
      for (int f = 0; f < fd->nf; f++) tr += fd->wgt[f] * fd->k[f];
      for (int i = 0; i < fd->d; i++) res->var0[i] = tr / fd->d;
    }
  }
  free(cov);
  free(wm);
  free(buf);
  free(sd);
  GDS_CALL(ierr);
  return GDS_SUCCESS;
}

/* Dense covariance of a stationary law with spectrum k: K[i][j] = c(p_i − p_j), c = IDFT(k). */
static void fd_dense_cov(fd_data *fd, const double *k, double *K) {
  double *c = malloc(sizeof(double) * (size_t)fd->d);
  if (!c) return;
  fd_inverse(fd, k, NULL, c);
  int H = fd->H, W = fd->W;
  for (int i = 0; i < fd->d; i++)
    for (int j = 0; j < fd->d; j++) {
      int dr = ((i / W - j / W) % H + H) % H, dc = ((i % W - j % W) % W + W) % W;
      K[(size_t)i * fd->d + j] = c[dr * W + dc];
    }
  free(c);
}

static int fd_moments(gds_law *law, gds_algorithm alg, double alpha_dps, const double *v, int t,
                      double *mean, double *cov, double *ref_mean, double *ref_cov) {
  fd_data *fd = law->data;
  fd_seed *sd;
  double *buf, *kref;
  GDS_CALL(fd_alloc_seeds(fd, 1, &sd, &buf));
  fd_measure(law, v, sd, alg != GDS_ALG_NONE);
  fd_run(law, alg, alpha_dps, 1, sd, t, NULL, NULL, NULL);
  double ab = law->sched->alpha_bar[t], sab = sqrt(ab);
  if (mean) fd_inverse(fd, sd->mre, sd->mim, mean);
  if (ref_mean) {
    for (int f = 0; f < fd->nf; f++) {
      sd->qre[f] *= sab;
      sd->qim[f] *= sab;
    }
    fd_inverse(fd, sd->qre, sd->qim, ref_mean);
  }
  if (cov) fd_dense_cov(fd, fd->k, cov);
  if (ref_cov && !GDS_ALLOC(kref, fd->nf)) {
    const double *refvar = alg == GDS_ALG_NONE ? fd->lam : fd->postvar;
    for (int f = 0; f < fd->nf; f++) kref[f] = ab * refvar[f] + 1 - ab;
    fd_dense_cov(fd, kref, ref_cov);
    free(kref);
  }
  free(buf);
  free(sd);
  return GDS_SUCCESS;
}

const gds_law_backend gds_law_backend_fourier_diag = {
    .name = "fourier-diagonal",
    .setup = fd_setup,
    .posterior = fd_posterior,
    .evaluate = fd_evaluate,
    .moments = fd_moments,
    .destroy = fd_destroy,
};
